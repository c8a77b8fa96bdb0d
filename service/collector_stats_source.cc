#include "service/collector_stats_source.h"

#include "google/protobuf/util/json_util.h"
#include "push/log.h"
#include "service/stats_render.h"

namespace herald::service {

void CollectorStatsSource::Read(v1::GetStatsResponse* out) const {
  const std::string json = RenderStatsJson(collector_.Collect());
  google::protobuf::util::JsonParseOptions options;
  options.ignore_unknown_fields = false;  // a schema drift is a bug: log it
  const auto status =
      google::protobuf::util::JsonStringToMessage(json, out, options);
  if (!status.ok()) {
    LogError("GetStats: /stats.json does not fit GetStatsResponse: ",
             std::string(status.message()));
  }
}

}  // namespace herald::service
