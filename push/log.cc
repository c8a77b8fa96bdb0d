#include "push/log.h"

#include <openssl/sha.h>

#include <atomic>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <string>

#include "push/log_rate_limiter.h"

namespace herald {
namespace {

std::atomic<int> min_level{static_cast<int>(LogLevel::kInfo)};
std::atomic<int> log_format{static_cast<int>(LogFormat::kText)};
std::atomic<size_t> refusals_per_sec{10};

// A string value longer than this is cut (and marked): one record stays
// one bounded line whatever it is given.
constexpr size_t kMaxValueBytes = 1024;
constexpr std::string_view kTruncated = "...[truncated]";

constexpr char kHex[] = "0123456789abcdef";

// Decodes the UTF-8 sequence at s[i]: its code point and length, or
// length 0 when it is not valid (Unicode Table 3-7).
struct Decoded {
  uint32_t cp = 0;
  size_t len = 0;
};
Decoded DecodeUtf8(std::string_view s, size_t i) {
  const auto byte = [&](size_t k) { return static_cast<uint8_t>(s[k]); };
  const uint8_t c = byte(i);
  if (c < 0x80) return {c, 1};
  uint8_t lo = 0x80, hi = 0xBF;
  size_t len;
  uint32_t cp;
  if (c >= 0xC2 && c <= 0xDF) {
    len = 2;
    cp = c & 0x1F;
  } else if (c >= 0xE0 && c <= 0xEF) {
    len = 3;
    cp = c & 0x0F;
    if (c == 0xE0) lo = 0xA0;
    if (c == 0xED) hi = 0x9F;
  } else if (c >= 0xF0 && c <= 0xF4) {
    len = 4;
    cp = c & 0x07;
    if (c == 0xF0) lo = 0x90;
    if (c == 0xF4) hi = 0x8F;
  } else {
    return {};
  }
  if (s.size() - i < len) return {};
  if (byte(i + 1) < lo || byte(i + 1) > hi) return {};
  for (size_t k = 1; k < len; ++k) {
    if (k > 1 && (byte(i + k) < 0x80 || byte(i + k) > 0xBF)) return {};
    cp = (cp << 6) | (byte(i + k) & 0x3F);
  }
  return {cp, len};
}

// Code points written escaped even though valid: C1 controls (terminals
// act on some), line and paragraph separators, bidirectional overrides
// (they reorder what a reader sees), the BOM.
bool InvisibleOrControl(uint32_t cp) {
  return (cp >= 0x80 && cp <= 0x9F) || cp == 0x2028 || cp == 0x2029 ||
         (cp >= 0x202A && cp <= 0x202E) || (cp >= 0x2066 && cp <= 0x2069) ||
         cp == 0xFEFF;
}

void AppendU16Escape(std::string& out, uint32_t cp) {
  out += "\\u";
  for (int shift = 12; shift >= 0; shift -= 4) out += kHex[(cp >> shift) & 0xF];
}

// Appends `s` escaped: the JSON escapes (both formats), other controls as
// \u00XX, invalid bytes as \ufffd (JSON) or \xNN (text).
void AppendEscaped(std::string& out, std::string_view s, bool json) {
  for (size_t i = 0; i < s.size();) {
    const uint8_t c = static_cast<uint8_t>(s[i]);
    if (c >= 0x20 && c < 0x7F) {
      if (c == '"' || c == '\\') out += '\\';
      out += static_cast<char>(c);
      ++i;
      continue;
    }
    if (c < 0x80) {
      switch (c) {
        case '\n':
          out += "\\n";
          break;
        case '\r':
          out += "\\r";
          break;
        case '\t':
          out += "\\t";
          break;
        case '\b':
          out += "\\b";
          break;
        case '\f':
          out += "\\f";
          break;
        default:
          AppendU16Escape(out, c);
      }
      ++i;
      continue;
    }
    const Decoded d = DecodeUtf8(s, i);
    if (d.len == 0) {
      if (json) {
        out += "\\ufffd";
      } else {
        out += "\\x";
        out += kHex[c >> 4];
        out += kHex[c & 0xF];
      }
      ++i;
      continue;
    }
    if (InvisibleOrControl(d.cp)) {
      AppendU16Escape(out, d.cp);
    } else {
      out.append(s.substr(i, d.len));
    }
    i += d.len;
  }
}

// Keys and event names come from the code; anything else in them is
// replaced all the same, so they never need quoting.
void AppendName(std::string& out, std::string_view name) {
  if (name.empty()) {
    out += '_';
    return;
  }
  for (char c : name) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                    (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '-';
    out += ok ? c : '_';
  }
}

bool BareTextValue(std::string_view s) {
  if (s.empty()) return false;
  for (char ch : s) {
    const uint8_t c = static_cast<uint8_t>(ch);
    if (c <= 0x20 || c >= 0x7F || c == '"' || c == '\\' || c == '=') {
      return false;
    }
  }
  return true;
}

void AppendNumber(std::string& out, const LogField& f, bool json) {
  switch (f.type) {
    case LogField::Type::kInt:
      absl::StrAppend(&out, f.i);
      return;
    case LogField::Type::kUint:
      absl::StrAppend(&out, f.u);
      return;
    case LogField::Type::kDouble:
      if (std::isfinite(f.d)) {
        absl::StrAppend(&out, f.d);
      } else {
        out += json ? "null" : "nan";
      }
      return;
    case LogField::Type::kBool:
      out += f.b ? "true" : "false";
      return;
    case LogField::Type::kString:
      return;
  }
}

void AppendValue(std::string& out, const LogField& f, bool json) {
  if (f.type != LogField::Type::kString) {
    AppendNumber(out, f, json);
    return;
  }
  std::string_view s = f.str;
  const bool cut = s.size() > kMaxValueBytes;
  if (cut) s = s.substr(0, kMaxValueBytes);
  if (!json && !cut && BareTextValue(s)) {
    out.append(s);
    return;
  }
  out += '"';
  AppendEscaped(out, s, json);
  if (cut) out.append(kTruncated);
  out += '"';
}

void AppendTimestamp(std::string& out, const timespec& ts) {
  tm utc;
  gmtime_r(&ts.tv_sec, &utc);
  char buf[40];
  const int n =
      snprintf(buf, sizeof(buf), "%04d-%02d-%02dT%02d:%02d:%02d.%06ldZ",
               utc.tm_year + 1900, utc.tm_mon + 1, utc.tm_mday, utc.tm_hour,
               utc.tm_min, utc.tm_sec, static_cast<long>(ts.tv_nsec / 1000));
  out.append(buf, n > 0 ? static_cast<size_t>(n) : 0);
}

// The text format's level column: five characters.
const char* TextLevel(LogLevel level) {
  switch (level) {
    case LogLevel::kDebug:
      return "debug";
    case LogLevel::kInfo:
      return "info ";
    case LogLevel::kWarning:
      return "warn ";
    case LogLevel::kError:
      return "error";
  }
  return "?????";
}

void Write(std::string_view line) {
  // stderr is unbuffered: one fwrite is one locked write of the line.
  fwrite(line.data(), 1, line.size(), stderr);
}

int64_t MonotonicSecond() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
  return ts.tv_sec;
}

LogRateLimiter& ThreadLimiter() {
  thread_local LogRateLimiter limiter;
  return limiter;
}

void ReportSuppressed(int64_t now_s) {
  for (const auto& s : ThreadLimiter().TakeSuppressed(now_s)) {
    Log(LogLevel::kWarning, "log_suppressed",
        {{"kind", LogKindName(s.kind)},
         {"suppressed", s.count},
         {"limit_per_sec", GetLogRefusalsPerSec()}});
  }
}

}  // namespace

const char* LogKindName(LogKind kind) {
  switch (kind) {
    case LogKind::kRefused:
      return "refused";
    case LogKind::kSlowConsumer:
      return "slow_consumer";
    case LogKind::kPingTimeout:
      return "ping_timeout";
    case LogKind::kRegistryError:
      return "registry_error";
  }
  return "unknown";
}

const char* LogLevelName(LogLevel level) {
  switch (level) {
    case LogLevel::kDebug:
      return "debug";
    case LogLevel::kInfo:
      return "info";
    case LogLevel::kWarning:
      return "warning";
    case LogLevel::kError:
      return "error";
  }
  return "unknown";
}

void SetLogLevel(LogLevel level) {
  min_level.store(static_cast<int>(level), std::memory_order_relaxed);
}
LogLevel GetLogLevel() {
  return static_cast<LogLevel>(min_level.load(std::memory_order_relaxed));
}
void SetLogFormat(LogFormat format) {
  log_format.store(static_cast<int>(format), std::memory_order_relaxed);
}
LogFormat GetLogFormat() {
  return static_cast<LogFormat>(log_format.load(std::memory_order_relaxed));
}
void SetLogRefusalsPerSec(size_t per_sec) {
  refusals_per_sec.store(per_sec, std::memory_order_relaxed);
}
size_t GetLogRefusalsPerSec() {
  return refusals_per_sec.load(std::memory_order_relaxed);
}

bool ParseLogLevel(std::string_view name, LogLevel* level) {
  for (LogLevel l : {LogLevel::kDebug, LogLevel::kInfo, LogLevel::kWarning,
                     LogLevel::kError}) {
    if (name == LogLevelName(l)) {
      *level = l;
      return true;
    }
  }
  return false;
}

bool ParseLogFormat(std::string_view name, LogFormat* format) {
  if (name == "text") {
    *format = LogFormat::kText;
  } else if (name == "json") {
    *format = LogFormat::kJson;
  } else {
    return false;
  }
  return true;
}

std::string FormatLogRecord(LogFormat format, const timespec& ts,
                            LogLevel level, std::string_view event,
                            std::span<const LogField> fields) {
  std::string out;
  out.reserve(96 + 32 * fields.size());
  if (format == LogFormat::kJson) {
    out += "{\"ts\":\"";
    AppendTimestamp(out, ts);
    absl::StrAppend(&out, "\",\"level\":\"", LogLevelName(level),
                    "\",\"event\":\"");
    AppendName(out, event);
    out += '"';
    for (const LogField& f : fields) {
      out += ",\"";
      AppendName(out, f.key);
      out += "\":";
      AppendValue(out, f, true);
    }
    out += "}\n";
    return out;
  }
  AppendTimestamp(out, ts);
  absl::StrAppend(&out, " ", TextLevel(level), " ");
  AppendName(out, event);
  for (const LogField& f : fields) {
    out += ' ';
    AppendName(out, f.key);
    out += '=';
    AppendValue(out, f, false);
  }
  out += '\n';
  return out;
}

void Log(LogLevel level, std::string_view event,
         std::span<const LogField> fields) {
  if (!LogEnabled(level)) return;
  timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  Write(FormatLogRecord(GetLogFormat(), ts, level, event, fields));
}

void Log(LogLevel level, std::string_view event, LogFields fields) {
  Log(level, event, std::span<const LogField>(fields.begin(), fields.size()));
}

bool LogAllowed(LogKind kind) {
  const int64_t now_s = MonotonicSecond();
  LogRateLimiter& limiter = ThreadLimiter();
  if (limiter.pending()) ReportSuppressed(now_s);
  return limiter.Allow(kind, now_s, GetLogRefusalsPerSec());
}

void FlushSuppressedLogs() {
  if (ThreadLimiter().pending()) ReportSuppressed(MonotonicSecond());
}

std::string TokenHash(std::string_view token) {
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(token.data()), token.size(),
         digest);
  std::string out;
  for (int i = 0; i < 6; ++i) {
    out += kHex[digest[i] >> 4];
    out += kHex[digest[i] & 0xF];
  }
  return out;
}

void SetLogVerbose(bool verbose) {
  SetLogLevel(verbose ? LogLevel::kDebug : LogLevel::kInfo);
}
bool LogVerbose() { return LogEnabled(LogLevel::kDebug); }

void LogLine(LogLevel level, std::string_view line) {
  Log(level, "message", {{"msg", line}});
}

}  // namespace herald
