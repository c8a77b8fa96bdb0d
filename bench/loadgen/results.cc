#include "bench/loadgen/results.h"

#include <cstdio>

#include "bench/loadgen/mono_clock.h"

namespace herald::bench {
namespace {

void Escape(const std::string& s, std::string* out) {
  out->push_back('"');
  for (char ch : s) {
    auto c = static_cast<unsigned char>(ch);
    if (c == '"' || c == '\\') {
      out->push_back('\\');
      out->push_back(ch);
    } else if (c < 0x20) {
      char buf[8];
      snprintf(buf, sizeof buf, "\\u%04x", c);
      out->append(buf);
    } else {
      out->push_back(ch);
    }
  }
  out->push_back('"');
}

class JsonObject {
 public:
  explicit JsonObject(std::string* out) : out_(out) { out_->push_back('{'); }
  void Key(const char* k) {
    if (!first_) out_->push_back(',');
    first_ = false;
    out_->push_back('"');
    out_->append(k);
    out_->append("\":");
  }
  void Add(const char* k, uint64_t v) {
    Key(k);
    out_->append(std::to_string(v));
  }
  void AddInt(const char* k, int64_t v) {
    Key(k);
    out_->append(std::to_string(v));
  }
  void Add(const char* k, double v) {
    Key(k);
    char buf[32];
    snprintf(buf, sizeof buf, "%.3f", v);
    out_->append(buf);
  }
  void Add(const char* k, const std::string& v) {
    Key(k);
    Escape(v, out_);
  }
  void Add(const char* k, bool v) {
    Key(k);
    out_->append(v ? "true" : "false");
  }
  void Close() { out_->push_back('}'); }
  void Raw(const char* k, const std::string& json) {
    Key(k);
    out_->append(json);
  }

 private:
  std::string* out_;
  bool first_ = true;
};

void ChatStepJson(const ChatStep& st, std::string* out) {
  JsonObject c(out);
  c.Add("rate", st.rate);
  c.Add("skipped", st.skipped);
  c.Add("duration_s", st.duration_s);
  c.Add("wall_start", st.wall_start);
  c.Add("wall_end", st.wall_end);
  c.Add("events", st.events);
  c.Add("events_window", st.events_window);
  c.Add("expected", st.expected);
  c.Add("received", st.received);
  c.AddInt("lost", static_cast<int64_t>(st.expected) -
                       static_cast<int64_t>(st.received));
  c.Add("duplicates", st.duplicates);
  c.Add("abandoned", st.abandoned);
  c.Add("deliveries", st.deliveries);
  c.Add("events_per_s", st.events_per_s);
  c.Add("deliveries_per_s", st.deliveries_per_s);
  c.Add("loadgen_cpu_percent", st.loadgen_cpu_percent);
  c.Key("latency_us");
  {
    JsonObject l(out);
    l.Add("count", st.latency_count);
    l.Add("p50", st.p50_us);
    l.Add("p99", st.p99_us);
    l.Add("p999", st.p999_us);
    l.Add("max", st.max_us);
    l.Close();
  }
  c.Close();
}

}  // namespace

std::string Results::ToJson() const {
  std::string out;
  JsonObject o(&out);
  o.Add("mode", mode);
  o.Add("target", target);
  o.Add("publisher", publisher);
  o.AddInt("threads", threads);
  o.AddInt("user_offset", user_offset);
  o.Add("rate", rate);
  o.AddInt("window", window);
  o.AddInt("urls", urls);
  o.AddInt("connections", connections);
  o.Add("established", established);
  o.Add("connect_errors", connect_errors);
  o.Key("connect_error_kinds");
  {
    JsonObject k(&out);
    k.Add("tcp", tcp_errors);
    k.Add("tls", tls_errors);
    k.Add("http", http_errors);
    k.Add("timeout", handshake_timeouts);
    k.Close();
  }
  o.Add("setup_s", setup_s);
  o.Add("setup_rate_per_s", setup_rate_per_s);
  o.Add("setup_cpu_percent", setup_cpu_percent);
  o.Add("setup_cores_busy_percent", setup_cores_busy_percent);
  o.Add("open_at_end", open_at_end);
  o.Add("closed_by_server", closed_by_server);
  o.Key("close_codes");
  {
    JsonObject c(&out);
    for (const auto& [code, count] : close_codes) {
      std::string key = std::to_string(code);
      c.Add(key.c_str(), count);
    }
    c.Close();
  }
  o.Add("events_published", events_published);
  o.Add("events_published_total", events_published_total);
  o.Add("events_per_s", events_per_s);
  o.Add("events_complete", events_complete);
  o.Add("events_incomplete", events_incomplete);
  o.Add("publish_errors", publish_errors);
  o.Add("publish_last_error", publish_last_error);
  o.Add("deliveries_expected_total", deliveries_expected_total);
  o.Add("server_recipients", server_recipients);
  o.Add("deliveries", deliveries);
  o.Add("deliveries_total", deliveries_total);
  o.Add("deliveries_per_s", deliveries_per_s);
  o.Key("latency_us");
  {
    JsonObject l(&out);
    l.Add("count", latency_count);
    l.Add("p50", p50_us);
    l.Add("p90", p90_us);
    l.Add("p99", p99_us);
    l.Add("p999", p999_us);
    l.Add("max", max_us);
    l.Close();
  }
  o.Add("duration_s", duration_s);
  o.AddInt("slice_ms", slice_ms);
  o.AddInt("slice_phase", slice_phase);
  o.AddInt("slice_phases", slice_phases);
  o.AddInt("slice_settle_ms", slice_settle_ms);
  o.AddInt("slice_tail_ms", slice_tail_ms);
  o.Add("slice_by_publish", slice_by_publish);
  o.AddInt("slice_epoch_ns", slice_epoch_ns);
  o.Add("slice_publish_offset_min_ms", slice_publish_offset_min_ms);
  o.Add("slice_publish_offset_max_ms", slice_publish_offset_max_ms);
  o.AddInt("window_start_ns", window_start_ns);
  o.AddInt("window_end_ns", window_end_ns);
  // CLOCK_REALTIME - CLOCK_MONOTONIC now: puts the window on the wall clock
  // of bench/sampler.py's samples.
  o.AddInt("realtime_minus_monotonic_ns", RealtimeMinusMonotonicNs());
  o.Add("bytes_received", bytes_received);
  o.Add("reads", reads);
  o.Add("parse_errors", parse_errors);
  o.Add("own_records", own_records);
  o.Add("pings", pings);
  o.Add("frame_payload_bytes", frame_payload_bytes);
  o.Add("shape_mismatches", shape_mismatches);
  o.Add("cpu_percent", cpu_percent);
  o.Key("loadgen_cpus");
  out.push_back('[');
  for (size_t i = 0; i < affinity.size(); ++i) {
    if (i > 0) out.push_back(',');
    out.append(std::to_string(affinity[i]));
  }
  out.push_back(']');
  o.Add("loadgen_cores_busy_percent", loadgen_cores_busy_percent);
  o.Key("cores");
  out.push_back('[');
  for (size_t i = 0; i < cores.size(); ++i) {
    if (i > 0) out.push_back(',');
    JsonObject c(&out);
    c.AddInt("cpu", cores[i].cpu);
    c.Add("busy", cores[i].busy);
    c.Add("softirq", cores[i].softirq);
    c.Add("steal", cores[i].steal);
    c.Close();
  }
  out.push_back(']');
  o.Add("note", note);
  if (!chat_plan_json.empty()) {
    o.Raw("chat_plan", chat_plan_json);
    o.Add("chat_late", chat_late);
    o.Key("chat_steps");
    out.push_back('[');
    for (size_t i = 0; i < chat_steps.size(); ++i) {
      if (i > 0) out.push_back(',');
      ChatStepJson(chat_steps[i], &out);
    }
    out.push_back(']');
  }
  o.Close();
  out.push_back('\n');
  return out;
}

std::string Results::ChatSummary() const {
  std::string out;
  for (const ChatStep& st : chat_steps) {
    char buf[384];
    snprintf(buf, sizeof buf,
             "chat step rate=%.0f: %.0f events/s, %.0f deliveries/s; latency "
             "us p50=%llu p99=%llu p99.9=%llu; expected=%llu received=%llu "
             "duplicates=%llu; loadgen cpu %.0f%%\n",
             st.rate, st.events_per_s, st.deliveries_per_s,
             static_cast<unsigned long long>(st.p50_us),
             static_cast<unsigned long long>(st.p99_us),
             static_cast<unsigned long long>(st.p999_us),
             static_cast<unsigned long long>(st.expected),
             static_cast<unsigned long long>(st.received),
             static_cast<unsigned long long>(st.duplicates),
             st.loadgen_cpu_percent);
    out += buf;
  }
  return out;
}

std::string Results::Summary() const {
  char buf[768];
  if (mode == "idle") {
    snprintf(buf, sizeof buf,
             "idle %s: %llu/%d established (%llu errors) in %.2fs = %.0f/s; "
             "%llu open after %.1fs, %llu closed by server; setup cpu %.0f%% "
             "(cores %.0f%% busy)",
             target.c_str(), static_cast<unsigned long long>(established),
             connections, static_cast<unsigned long long>(connect_errors),
             setup_s, setup_rate_per_s,
             static_cast<unsigned long long>(open_at_end), duration_s,
             static_cast<unsigned long long>(closed_by_server),
             setup_cpu_percent, setup_cores_busy_percent);
  } else {
    snprintf(buf, sizeof buf,
             "%s %s%s: %llu/%d conns (%llu err, %.0f/s setup); %.0f events/s, "
             "%.0f deliveries/s over %.1fs; latency us p50=%llu p99=%llu "
             "p99.9=%llu max=%llu; incomplete=%llu parse_err=%llu "
             "closed=%llu; cpu %.0f%% (cores %.0f%% busy)",
             mode.c_str(), target.c_str(), publisher ? "" : " (subscriber)",
             static_cast<unsigned long long>(established), connections,
             static_cast<unsigned long long>(connect_errors), setup_rate_per_s,
             events_per_s, deliveries_per_s, duration_s,
             static_cast<unsigned long long>(p50_us),
             static_cast<unsigned long long>(p99_us),
             static_cast<unsigned long long>(p999_us),
             static_cast<unsigned long long>(max_us),
             static_cast<unsigned long long>(events_incomplete),
             static_cast<unsigned long long>(parse_errors),
             static_cast<unsigned long long>(closed_by_server), cpu_percent,
             loadgen_cores_busy_percent);
  }
  return buf;
}

}  // namespace herald::bench
