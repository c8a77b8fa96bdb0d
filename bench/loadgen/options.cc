#include "bench/loadgen/options.h"

#include <cstdlib>
#include <string_view>

#include "bench/loadgen/chat_plan.h"

namespace herald::bench {
namespace {

bool ToInt(std::string_view v, int64_t* out) {
  if (v.empty()) return false;
  std::string s(v);
  char* end = nullptr;
  long long x = std::strtoll(s.c_str(), &end, 10);
  if (*end != '\0') return false;
  *out = x;
  return true;
}

bool ToDouble(std::string_view v, double* out) {
  if (v.empty()) return false;
  std::string s(v);
  char* end = nullptr;
  double x = std::strtod(s.c_str(), &end);
  if (*end != '\0' || x < 0) return false;
  *out = x;
  return true;
}

bool ToBool(std::string_view v, bool* out) {
  if (v == "1" || v == "true") {
    *out = true;
  } else if (v == "0" || v == "false") {
    *out = false;
  } else {
    return false;
  }
  return true;
}

std::vector<std::string> SplitComma(std::string_view v);

bool ToRates(std::string_view v, std::vector<double>* out) {
  out->clear();
  for (const std::string& r : SplitComma(v)) {
    double x = 0;
    if (!ToDouble(r, &x)) return false;
    out->push_back(x);
  }
  return !out->empty() && out->size() <= 16;
}

std::vector<std::string> SplitComma(std::string_view v) {
  std::vector<std::string> out;
  while (!v.empty()) {
    size_t c = v.find(',');
    std::string_view part = v.substr(0, c);
    if (!part.empty()) out.emplace_back(part);
    if (c == std::string_view::npos) break;
    v.remove_prefix(c + 1);
  }
  return out;
}

// --mode=chat's defaults and checks.
bool FinishChat(Options* o, bool have_servers, bool have_memberships,
                std::string* error) {
  if (have_memberships) {
    *error =
        "--memberships does not apply to --mode=chat (the plan draws them)";
    return false;
  }
  if (o->population == 0) o->population = o->connections;
  if (o->user_offset + o->connections > o->population) {
    *error = "--user_offset + --connections exceed --population";
    return false;
  }
  if (!have_servers) o->servers = ChatPlan::DefaultServers(o->population);
  if (o->rates.empty()) o->rates = {o->rate};
  if (!o->publisher) {
    *error = "--mode=chat runs in one publishing process (--publisher=1)";
    return false;
  }
  return true;
}

// --slice_*: a paired run's publisher, in fanout or servers mode.
bool CheckSlices(const Options& o, std::string* error) {
  if (o.barrier_dir.empty()) {
    *error =
        "--slice_ms needs --barrier_dir (the pair agrees on its epoch there)";
  } else if (o.slice_phase >= o.slice_phases) {
    *error = "--slice_phase must be below --slice_phases";
  } else if (o.slice_settle_ms + o.slice_tail_ms >= o.slice_ms) {
    *error = "--slice_settle_ms + --slice_tail_ms must be below --slice_ms";
  } else if (!o.publisher ||
             (o.mode != Mode::kFanout && o.mode != Mode::kServers)) {
    *error = "--slice_ms applies to a publishing fanout or servers run";
  } else {
    return true;
  }
  return false;
}

}  // namespace

const char* Options::Usage() {
  return "usage: herald-loadgen --mode=fanout|idle|servers|chat "
         "--target=herald|http\n"
         "  --url=wss://127.0.0.1:PORT/?token={token}  ({token} {user} "
         "{server} {servers})\n"
         "    (repeat --url to spread the connections round-robin over "
         "several servers)\n"
         "  [--grpc=127.0.0.1:50051] [--publish_url=http://127.0.0.1:P/pub/"
         "{server}]\n"
         "  [--grpc_ca=FILE] [--grpc_cert=FILE --grpc_key=FILE] "
         "[--grpc_token_file=FILE]\n"
         "  [--publish_connections=1] [--connections=1000] [--user_offset=0]\n"
         "  [--sources=127.0.0.1,127.0.0.2] [--threads=1] [--connect_rate=0]\n"
         "  [--max_handshakes=512] [--handshake_timeout_s=15] [--rate=0]\n"
         "  [--window=8] [--duration_s=10] [--warmup_s=2] [--publisher=1]\n"
         "  [--wait_s=120] [--event_timeout_s=2] [--servers=2000]\n"
         "  [--memberships=10] [--seed=1] [--json=FILE] [--progress=1]\n"
         "  [--setup=1] [--delayed_ack=0] [--barrier_dir=DIR "
         "--barrier_count=P]\n"
         "  [--never_read=0] [--rcvbuf=0] [--text_bytes=0] [--own_records=1]\n"
         "  [--slice_ms=0 --slice_phase=0 --slice_phases=2 "
         "--slice_settle_ms=200\n"
         "   --slice_tail_ms=0] [--publish_stall_us=0]\n"
         "  chat: [--population=CONNECTIONS] [--rates=100,200,0] "
         "[--step_s=4]\n"
         "    [--step_warmup_s=1]\n";
}

bool Options::Parse(int argc, char** argv, std::string* error) {
  bool have_servers = false;
  bool have_memberships = false;
  for (int i = 1; i < argc; ++i) {
    std::string_view arg = argv[i];
    if (arg == "--help" || arg == "-h") {
      *error = "help";
      return false;
    }
    if (arg.substr(0, 2) != "--" || arg.find('=') == std::string_view::npos) {
      *error = "bad argument " + std::string(arg);
      return false;
    }
    size_t eq = arg.find('=');
    std::string_view name = arg.substr(2, eq - 2);
    std::string_view v = arg.substr(eq + 1);
    int64_t n = 0;
    bool ok = true;
    if (name == "mode") {
      if (v == "fanout") {
        mode = Mode::kFanout;
      } else if (v == "idle") {
        mode = Mode::kIdle;
      } else if (v == "servers") {
        mode = Mode::kServers;
      } else if (v == "chat") {
        mode = Mode::kChat;
      } else {
        ok = false;
      }
    } else if (name == "target") {
      if (v == "herald") {
        target = Target::kHerald;
      } else if (v == "http") {
        target = Target::kHttp;
      } else {
        ok = false;
      }
    } else if (name == "grpc") {
      grpc = v;
    } else if (name == "grpc_ca") {
      grpc_auth.ca_file = v;
    } else if (name == "grpc_cert") {
      grpc_auth.cert_file = v;
    } else if (name == "grpc_key") {
      grpc_auth.key_file = v;
    } else if (name == "grpc_token_file") {
      grpc_auth.token_file = v;
    } else if (name == "publish_url") {
      publish_url = v;
    } else if (name == "publish_connections") {
      ok = ToInt(v, &n) && n >= 1 && n <= 64;
      publish_connections = static_cast<int>(n);
    } else if (name == "url") {
      urls.emplace_back(v);
    } else if (name == "connections") {
      ok = ToInt(v, &n) && n >= 0 && n <= 10000000;
      connections = static_cast<int>(n);
    } else if (name == "user_offset") {
      ok = ToInt(v, &n) && n >= 0;
      user_offset = n;
    } else if (name == "sources") {
      sources = SplitComma(v);
    } else if (name == "threads") {
      ok = ToInt(v, &n) && n >= 1 && n <= 256;
      threads = static_cast<int>(n);
    } else if (name == "connect_rate") {
      ok = ToDouble(v, &connect_rate);
    } else if (name == "max_handshakes") {
      ok = ToInt(v, &n) && n >= 1;
      max_handshakes = static_cast<int>(n);
    } else if (name == "handshake_timeout_s") {
      ok = ToDouble(v, &handshake_timeout_s) && handshake_timeout_s > 0;
    } else if (name == "rate") {
      ok = ToDouble(v, &rate);
    } else if (name == "window") {
      ok = ToInt(v, &n) && n >= 1 && n <= 16384;
      window = static_cast<int>(n);
    } else if (name == "duration_s") {
      ok = ToDouble(v, &duration_s);
    } else if (name == "warmup_s") {
      ok = ToDouble(v, &warmup_s);
    } else if (name == "publisher") {
      ok = ToBool(v, &publisher);
    } else if (name == "wait_s") {
      ok = ToDouble(v, &wait_s);
    } else if (name == "event_timeout_s") {
      ok = ToDouble(v, &event_timeout_s) && event_timeout_s > 0;
    } else if (name == "servers") {
      ok = ToInt(v, &n) && n >= 1 && n <= 10000000;
      servers = static_cast<int>(n);
      have_servers = true;
    } else if (name == "memberships") {
      ok = ToInt(v, &n) && n >= 1 && n <= 1000;
      memberships = static_cast<int>(n);
      have_memberships = true;
    } else if (name == "seed") {
      ok = ToInt(v, &n);
      seed = static_cast<uint64_t>(n);
    } else if (name == "json") {
      json = v;
    } else if (name == "progress") {
      ok = ToBool(v, &progress);
    } else if (name == "barrier_dir") {
      barrier_dir = v;
    } else if (name == "barrier_count") {
      ok = ToInt(v, &n) && n >= 0 && n <= 10000;
      barrier_count = static_cast<int>(n);
    } else if (name == "slice_ms") {
      ok = ToInt(v, &n) && n >= 0 && n <= 600000;
      slice_ms = static_cast<int>(n);
    } else if (name == "slice_phase") {
      ok = ToInt(v, &n) && n >= 0 && n < 64;
      slice_phase = static_cast<int>(n);
    } else if (name == "slice_phases") {
      ok = ToInt(v, &n) && n >= 1 && n <= 64;
      slice_phases = static_cast<int>(n);
    } else if (name == "slice_settle_ms") {
      ok = ToInt(v, &n) && n >= 0 && n <= 600000;
      slice_settle_ms = static_cast<int>(n);
    } else if (name == "slice_tail_ms") {
      ok = ToInt(v, &n) && n >= 0 && n <= 600000;
      slice_tail_ms = static_cast<int>(n);
    } else if (name == "publish_stall_us") {
      ok = ToInt(v, &n) && n >= 0 && n <= 1000000;
      publish_stall_us = static_cast<int>(n);
    } else if (name == "delayed_ack") {
      ok = ToBool(v, &delayed_ack);
    } else if (name == "never_read") {
      ok = ToBool(v, &never_read);
    } else if (name == "own_records") {
      ok = ToBool(v, &own_records);
    } else if (name == "rcvbuf") {
      ok = ToInt(v, &n) && n >= 0 && n <= (1 << 30);
      rcvbuf = static_cast<int>(n);
    } else if (name == "text_bytes") {
      ok = ToInt(v, &n) && n >= 0 && n <= (1 << 20);
      text_bytes = static_cast<int>(n);
    } else if (name == "population") {
      ok = ToInt(v, &n) && n >= 1 && n <= 10000000;
      population = n;
    } else if (name == "rates") {
      ok = ToRates(v, &rates);
    } else if (name == "step_s") {
      ok = ToDouble(v, &step_s) && step_s > 0;
    } else if (name == "step_warmup_s") {
      ok = ToDouble(v, &step_warmup_s);
    } else if (name == "setup") {
      ok = ToBool(v, &setup);
    } else {
      *error = "unknown flag --" + std::string(name);
      return false;
    }
    if (!ok) {
      *error = "bad value for --" + std::string(name) + ": " + std::string(v);
      return false;
    }
  }
  if (urls.empty()) {
    *error = "--url is required";
    return false;
  }
  if (mode == Mode::kChat) {
    if (!FinishChat(this, have_servers, have_memberships, error)) return false;
  } else if (mode != Mode::kServers) {
    // fanout and idle: every user is a member of server 1 only.
    if (have_servers || have_memberships) {
      *error = "--servers/--memberships apply to --mode=servers only";
      return false;
    }
    servers = 1;
    memberships = 1;
  } else if (memberships > servers) {
    *error = "--memberships must not exceed --servers";
    return false;
  }
  if (mode != Mode::kIdle && publisher && target == Target::kHttp &&
      publish_url.empty()) {
    *error = "--target=http needs --publish_url";
    return false;
  }
  if (barrier_count > 0 && barrier_dir.empty()) {
    *error = "--barrier_count needs --barrier_dir";
    return false;
  }
  if (slice_ms > 0 && !CheckSlices(*this, error)) return false;
  if (auto st = grpc_auth.Check(); !st.ok()) {
    *error = std::string(st.message());
    return false;
  }
  if (sources.empty()) sources.push_back("127.0.0.1");
  return true;
}

}  // namespace herald::bench
