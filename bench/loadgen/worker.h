#pragma once

#include <netinet/in.h>
#include <openssl/ssl.h>

#include <cstdint>
#include <string>
#include <thread>
#include <vector>

#include "bench/loadgen/connection.h"
#include "bench/loadgen/membership_plan.h"
#include "bench/loadgen/run_state.h"
#include "bench/loadgen/slice_schedule.h"
#include "bench/loadgen/split_mix.h"
#include "bench/loadgen/url_template.h"
#include "bench/loadgen/worker_stats.h"

namespace herald::bench {

// What a Worker needs to know; filled by the main thread.
struct WorkerConfig {
  int index = 0;        // this worker's number, 0..threads-1
  int threads = 1;      // connection i belongs to worker i % threads
  int connections = 0;  // of the whole process
  int64_t user_offset = 0;
  std::vector<sockaddr_in> sources;
  // Connection i of the process (population connection user_offset+i, its
  // user plan->UserOfConnection(user_offset+i)) uses
  // (*urls)[i % urls->size()]; never empty.
  const std::vector<UrlTemplate>* urls = nullptr;
  const MembershipPlan* plan = nullptr;
  bool chat = false;           // --mode=chat: ChatEvent envelopes, sweep steps
  SSL_CTX* ssl_ctx = nullptr;  // null for ws://
  double connect_rate = 0;     // this worker's share, connections/s
  int max_in_flight = 512;     // this worker's share of handshakes
  int64_t handshake_timeout_ns = 15'000'000'000;
  bool delayed_ack = false;
  bool never_read = false;   // stop reading once upgraded; not a recipient
  bool own_records = false;  // open TLS 1.3 records ourselves once open
  int rcvbuf = 0;            // SO_RCVBUF before connect; 0: the kernel's
};

// One epoll loop over a share of the subscriber connections: it opens them
// (rate-limited, bounded handshakes in flight), completes TLS and the
// WebSocket upgrade, then parses every frame received, answers pings and
// counts deliveries and their latency. A 64 KiB read buffer per worker, not
// per connection; nothing allocated per frame; no locks.
//
// Thread ownership: Start() spawns the worker's own thread, which alone
// touches the connections and the histogram until Join() returns. Other
// threads may read the OwnedCounters of stats() at any time.
class Worker {
 public:
  Worker(WorkerConfig config, RunState* state);
  ~Worker();
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;

  void Start();
  void Join();  // after RunState::Stop()

  WorkerStats& stats() { return stats_; }
  // Connections of this worker that are finished with their setup
  // (open, closed or failed).
  uint64_t settled() const;

 private:
  static constexpr size_t kReadBuffer = 64 * 1024;
  static constexpr size_t kPlainBuffer = 64 * 1024;

  // The URL template of connection c (see WorkerConfig::urls).
  const UrlTemplate& UrlOf(const Connection& c) const;
  void Loop();
  void LaunchConnects(int64_t now);
  void StartConnect(uint32_t j, int64_t now);
  void OnEvent(uint32_t j, uint32_t events);
  void OnTcpConnected(Connection& c);
  void DriveTls(Connection& c);
  void SendUpgrade(Connection& c);
  void ReadAll(Connection& c);
  // Hands ciphertext to OpenSSL (or, once taken over, to c.records) and
  // processes the plaintext it yields.
  void OnCipher(Connection& c, const char* p, size_t n);
  // Once the WebSocket is open and OpenSSL holds no unread bytes: reads
  // the rest of the stream with push::Tls13Records (OpenSSL still writes).
  void TakeOverRecords(Connection& c);
  void OpenOwnRecords(Connection& c, const char* p, size_t n);
  static void OnSslMessage(int write_p, int version, int content_type,
                           const void* buf, size_t len, SSL* ssl, void* arg);
  void Process(Connection& c, const char* p, size_t n);
  void OnHandshakeBytes(Connection& c, const char* p, size_t n);
  size_t ParseFrames(Connection& c, const char* p, size_t n);
  void OnFrame(Connection& c, uint8_t b0, const char* payload, size_t n);
  void Deliver(const char* p, size_t n);
  void DeliverChat(const char* p, size_t n);
  void SendControl(Connection& c, uint8_t opcode, const char* p, size_t n);
  void Send(Connection& c, const char* p, size_t n);
  void Flush(Connection& c);
  void Established(Connection& c);
  void Fail(Connection& c, OwnedCounter& reason);
  void Close(Connection& c, bool by_server);
  void Release(Connection& c);
  void CheckTimeouts(int64_t now);
  void CloseAll();

  // Plain or TLS writes: >0 bytes, 0 end of stream, kAgain, kError.
  static constexpr ssize_t kAgain = -1;
  static constexpr ssize_t kError = -2;
  ssize_t RawWrite(Connection& c, const char* p, size_t n);

  WorkerConfig config_;
  RunState* state_;
  WorkerStats stats_;
  std::thread thread_;
  int epoll_fd_ = -1;
  std::vector<Connection> conns_;
  uint32_t next_ = 0;  // next connection to start
  int in_flight_ = 0;  // handshakes under way
  int64_t next_connect_ns_ = 0;
  int64_t last_timeout_scan_ns_ = 0;
  int64_t now_ns_ = 0;  // receive time of the bytes being parsed
  int64_t window_start_ = 0;
  int64_t window_end_ = 0;
  // A paired run's slices, copied once the window is set (RunState).
  SliceSchedule slices_;
  bool slices_seen_ = false;
  SplitMix rng_;
  std::vector<int32_t> servers_scratch_;
  std::string request_scratch_;
  std::unique_ptr<char[]> buf_;    // what read() returns
  std::unique_ptr<char[]> plain_;  // what SSL_read returns
  std::string opened_;             // what c.records opens
};

}  // namespace herald::bench
