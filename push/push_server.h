#pragma once

#include <memory>
#include <vector>

#include "absl/status/statusor.h"
#include "push/connection_directory.h"
#include "push/gate.h"
#include "push/listener.h"
#include "push/memory_trimmer.h"
#include "push/push_options.h"
#include "push/push_stats.h"
#include "push/router.h"
#include "push/tls_context_store.h"
#include "push/tls_ticket_keys.h"
#include "push/worker.h"

namespace herald::push {

// The WebSocket data plane: the I/O workers, the main and voice listeners,
// the Router the control plane publishes through, and the
// ConnectionDirectory operators inspect connections through.
//
// Thread: Create, Start, ReloadTls and Shutdown from one controlling
// thread; the Router and ConnectionDirectory methods from any thread.
class PushServer final : public Router, public ConnectionDirectory {
 public:
  // Loads the TLS material and binds both ports; nothing runs yet.
  static absl::StatusOr<std::unique_ptr<PushServer>> Create(
      PushOptions options);
  ~PushServer() override;

  uint16_t main_port() const { return main_->port(); }
  uint16_t voice_port() const { return voice_->port(); }
  size_t admitted_connections() const { return counters_.admitted.load(); }
  // Open sockets, admissions and refusal counts (for metrics).
  const SharedCounters& counters() const { return counters_; }
  const PushOptions& options() const { return options_; }

  // Sums every worker's counters (any thread, never waits). With `walk`,
  // also asks each worker for its queue bytes and handshakes and waits up
  // to `timeout` for the answers (PushStats::walked says if all came).
  PushStats CollectStats(bool walk, std::chrono::milliseconds timeout) const;

  // Starts the I/O threads and accepting; `gate` decides admissions.
  void Start(Gate* gate);
  // Stops accepting, closes every connection with 1001, waits up to
  // `grace` for the close handshakes, then stops the threads.
  void Shutdown(std::chrono::milliseconds grace);

  // Loads --tls_cert/--tls_key again for new handshakes on both ports
  // (controlling thread; connections already open are untouched). Returns
  // the certificate now served, or the error, naming the file, with the
  // previous certificate kept.
  absl::StatusOr<std::string> ReloadTls();
  // The certificate new handshakes get ("subject ..., not after ...").
  std::string TlsDescription() const;

  // Router.
  void Route(Delivery delivery, RoutedCallback done) override;
  void CloseUser(int64_t user_id, std::string token, uint16_t code,
                 std::string reason) override;
  void CloseConnection(ConnectionId id, uint16_t code,
                       std::string reason) override;

  // ConnectionDirectory.
  void ListConnections(int64_t user_id, size_t max, ListCallback done) override;
  void Disconnect(int64_t user_id, ConnectionId id, uint16_t code,
                  std::string reason, CountCallback done) override;

 private:
  explicit PushServer(PushOptions options);

  PushOptions options_;
  SharedCounters counters_;
  // Outlives tls_ and every handshake: the ticket callback uses it.
  std::unique_ptr<TlsTicketKeys> ticket_keys_;
  std::unique_ptr<TlsContextStore> tls_;  // null with --plain
  std::vector<std::unique_ptr<Worker>> workers_;
  std::unique_ptr<Listener> main_;
  std::unique_ptr<Listener> voice_;
  std::unique_ptr<MemoryTrimmer> trimmer_;
  bool started_ = false;
  bool stopped_ = false;
  // Set when shutdown begins: nothing more is routed (the voice sockets
  // closing with 1001 must not fan out user_left_vc to closing clients).
  std::atomic<bool> stopping_{false};
  // Set once the workers run (CollectStats may then ask them).
  std::atomic<bool> running_{false};
};

}  // namespace herald::push
