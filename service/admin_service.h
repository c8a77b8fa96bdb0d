#pragma once

#include <string>

#include "herald/v1/admin.grpc.pb.h"
#include "push/connection_directory.h"
#include "service/control_executor.h"
#include "service/stats_source.h"

namespace herald::service {

// Disconnect carries a string (the reason): it is taken as raw bytes and
// parsed by ParseRequest, so invalid UTF-8 is reported by field name.
using AdminServiceBase = v1::HeraldAdmin::WithRawCallbackMethod_Disconnect<
    v1::HeraldAdmin::CallbackService>;

// The herald.v1.HeraldAdmin gRPC API, for operators: lists and closes a
// user's connections (gathered from every push worker, which are never
// blocked), and reads the statistics from a StatsSource. It shares the
// gRPC port, and so the credentials, of herald.v1.Herald.
//
// Thread-safe: gRPC calls it on its own threads, concurrently. Replies
// that wait for the push workers are sent from `executor`.
class AdminService final : public AdminServiceBase {
 public:
  struct Settings {
    std::string node;          // --node_name
    size_t max_listed = 1000;  // --max_listed_connections
  };

  AdminService(push::ConnectionDirectory& directory, const StatsSource& stats,
               ControlExecutor& executor, Settings settings);

  grpc::ServerUnaryReactor* ListConnections(
      grpc::CallbackServerContext* context,
      const v1::ListConnectionsRequest* request,
      v1::ListConnectionsResponse* response) override;
  grpc::ServerUnaryReactor* Disconnect(grpc::CallbackServerContext* context,
                                       const grpc::ByteBuffer* request,
                                       grpc::ByteBuffer* response) override;
  grpc::ServerUnaryReactor* GetStats(grpc::CallbackServerContext* context,
                                     const v1::GetStatsRequest* request,
                                     v1::GetStatsResponse* response) override;

 private:
  void Fill(const push::ConnectionSnapshot& snap,
            v1::ConnectionInfo* out) const;

  push::ConnectionDirectory& directory_;
  const StatsSource& stats_;
  ControlExecutor& executor_;
  const Settings settings_;
};

}  // namespace herald::service
