#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "tools/heraldctl/grpc_client_auth.h"

namespace herald::bench {

enum class Mode { kFanout, kIdle, kServers, kChat };
enum class Target { kHerald, kHttp };

// The parsed command line. Built once by the main thread before any other
// thread starts, then only read.
struct Options {
  Mode mode = Mode::kFanout;
  Target target = Target::kHerald;
  std::string grpc = "127.0.0.1:50051";
  // --grpc_ca, --grpc_cert, --grpc_key, --grpc_token_file (as heraldctl).
  herald::tools::GrpcClientAuth grpc_auth;
  std::string publish_url;  // http target: http://HOST:PORT/path[{server}]
  int publish_connections = 1;
  // Subscriber URL templates (--url, repeatable): connection i of this
  // process (user user_offset+1+i) uses urls[i % urls.size()], e.g. one URL
  // per cluster node. All of them ws:// or all wss://.
  std::vector<std::string> urls;
  int connections = 1000;
  int64_t user_offset = 0;
  std::vector<std::string> sources;  // local source addresses
  int threads = 1;
  double connect_rate = 0;  // connections/s, 0 = unlimited
  int max_handshakes = 512;
  double handshake_timeout_s = 15;
  double rate = 0;  // events/s, 0 = closed-loop saturation
  int window = 8;
  double duration_s = 10;
  double warmup_s = 2;
  bool publisher = true;
  double wait_s = 120;  // non-publisher: max wait for the first event
  double event_timeout_s = 2;
  int servers = 2000;
  int memberships = 10;
  uint64_t seed = 1;
  std::string json;
  bool progress = true;
  // Keep subscriber sockets in TCP's delayed-ACK ("pingpong") mode, so a
  // receiver ACKs every ~2 small segments instead of every read.
  bool delayed_ack = false;
  bool setup = true;  // herald target: open sessions and set memberships
  // Slow-consumer runs: subscribers that never read after the upgrade (and
  // are not counted as recipients), with this SO_RCVBUF (0: the kernel's).
  bool never_read = false;
  // wss: once the WebSocket is open, open the server's TLS 1.3 records with
  // push::Tls13Records instead of SSL_read (the load generator's own cost
  // per record, which on one core bounds what it can receive).
  bool own_records = true;
  int rcvbuf = 0;
  // herald target: pad each event's text to this many bytes ("T<ns> xxx…").
  int text_bytes = 0;
  // Multi-process start barrier: after its connections are set up, each
  // process creates barrier_dir/<user_offset>.ready and waits (at most
  // wait_s) until barrier_count such files exist; then traffic starts.
  std::string barrier_dir;
  int barrier_count = 0;
  // Paired runs (SliceSchedule): after the barrier, publish only in slice
  // slice_phase of every slice_phases slices of slice_ms, stopping
  // slice_tail_ms before its end, and count only after slice_settle_ms of
  // each. 0: off. Needs --barrier_dir (where the pair agrees on the first
  // period's start).
  int slice_ms = 0;
  int slice_phase = 0;
  int slice_phases = 2;
  int slice_settle_ms = 200;
  int slice_tail_ms = 0;
  // Tests: sleep this long (us) before each publish's timestamp, as a
  // publisher thread preempted there would (a slice's publish decision must
  // hold for the timestamp it is recorded with).
  int publish_stall_us = 0;
  // --mode=chat (bench/README.md "chat"): the whole population's connection
  // count (default: --connections), the sweep's offered rates in events/s
  // (0: closed loop, --window events in flight), each step's warm-up and
  // measured seconds. --servers defaults to ChatPlan::DefaultServers.
  int64_t population = 0;
  std::vector<double> rates;
  double step_s = 4;
  double step_warmup_s = 1;

  // Parses `--name=value` flags. On failure returns false and sets *error.
  bool Parse(int argc, char** argv, std::string* error);
  static const char* Usage();
};

}  // namespace herald::bench
