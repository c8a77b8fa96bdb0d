#pragma once

#include <cstddef>
#include <cstdint>
#include <ctime>
#include <initializer_list>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>

#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"

namespace herald {

// Debian's Abseil has its own string_view type; this bridges std's.
inline absl::string_view AsAbsl(std::string_view s) {
  return absl::string_view(s.data(), s.size());
}

// Structured logging to stderr: one record per line, each an event name and
// typed fields, as text
//   2026-12-01T23:40:00.123456Z info  refused peer=1.2.3.4:5678 code=4001
// or as one JSON object per line (--log_format=json). Values are escaped so
// that no byte of a client's (or any other) string can end a line or forge
// a field: text values are quoted when they hold anything but printable
// ASCII, JSON strings are escaped and invalid UTF-8 becomes U+FFFD.
//
// Thread-safe: the settings are atomics set at start-up; each record is
// formatted on the calling thread and written with one fwrite.
enum class LogLevel { kDebug, kInfo, kWarning, kError };
enum class LogFormat { kText, kJson };

// Kinds of record anyone on the internet can trigger; each is limited per
// thread (LogRateLimiter) to --log_refusals_per_sec.
enum class LogKind { kRefused, kSlowConsumer, kPingTimeout, kRegistryError };
inline constexpr size_t kLogKinds = 4;
const char* LogKindName(LogKind kind);

// One field of a record: a key (a code literal) and a string, integer,
// floating-point or boolean value. String values are views: a field lives
// only for the statement that logs it.
struct LogField {
  enum class Type { kString, kInt, kUint, kDouble, kBool };

  LogField(std::string_view k, std::string_view v)
      : key(k), type(Type::kString), str(v) {}
  LogField(std::string_view k, const char* v)
      : key(k), type(Type::kString), str(v) {}
  LogField(std::string_view k, const std::string& v)
      : key(k), type(Type::kString), str(v) {}
  LogField(std::string_view k, absl::string_view v)
      : key(k), type(Type::kString), str(v.data(), v.size()) {}
  LogField(std::string_view k, double v) : key(k), type(Type::kDouble), d(v) {}
  template <typename T>
  requires std::is_integral_v<T> LogField(std::string_view k, T v) : key(k) {
    if constexpr (std::is_same_v<T, bool>) {
      type = Type::kBool;
      b = v;
    } else if constexpr (std::is_signed_v<T>) {
      type = Type::kInt;
      i = v;
    } else {
      type = Type::kUint;
      u = v;
    }
  }

  std::string_view key;
  Type type = Type::kString;
  std::string_view str;
  int64_t i = 0;
  uint64_t u = 0;
  double d = 0;
  bool b = false;
};
using LogFields = std::initializer_list<LogField>;

// Settings, normally from the flags at start-up. Default: info, text, 10.
void SetLogLevel(LogLevel level);
LogLevel GetLogLevel();
void SetLogFormat(LogFormat format);
LogFormat GetLogFormat();
// Records of each LogKind per second per thread; 0: no limit.
void SetLogRefusalsPerSec(size_t per_sec);
size_t GetLogRefusalsPerSec();
bool ParseLogLevel(std::string_view name, LogLevel* level);
bool ParseLogFormat(std::string_view name, LogFormat* format);
const char* LogLevelName(LogLevel level);

inline bool LogEnabled(LogLevel level) {
  return static_cast<int>(level) >= static_cast<int>(GetLogLevel());
}

// Writes one record if `level` is enabled.
void Log(LogLevel level, std::string_view event, LogFields fields = {});
void Log(LogLevel level, std::string_view event,
         std::span<const LogField> fields);

// Whether a record of `kind` may be written now on this thread: false once
// this thread wrote --log_refusals_per_sec of them this second (the record
// is counted as suppressed). Check it before building costly fields.
// Suppressed counts are reported by a log_suppressed record at most once a
// second, from the next LogAllowed or FlushSuppressedLogs of the thread.
bool LogAllowed(LogKind kind);
// Reports this thread's suppressed records if a second has passed since
// its last report. Each worker calls it once a second.
void FlushSuppressedLogs();

// The record's line, newline included. `ts`: CLOCK_REALTIME.
std::string FormatLogRecord(LogFormat format, const timespec& ts,
                            LogLevel level, std::string_view event,
                            std::span<const LogField> fields);
// A token's label for the logs: the first 12 hex digits of its SHA-256.
std::string TokenHash(std::string_view token);

// The printf-style API: records with event "message" and the text in "msg".
void SetLogVerbose(bool verbose);  // debug (true) or info (false)
bool LogVerbose();                 // debug records are written
void LogLine(LogLevel level, std::string_view line);

template <typename... Args>
void LogInfo(const Args&... args) {
  if (LogEnabled(LogLevel::kInfo)) {
    LogLine(LogLevel::kInfo, absl::StrCat(args...));
  }
}
template <typename... Args>
void LogWarning(const Args&... args) {
  if (LogEnabled(LogLevel::kWarning)) {
    LogLine(LogLevel::kWarning, absl::StrCat(args...));
  }
}
template <typename... Args>
void LogError(const Args&... args) {
  LogLine(LogLevel::kError, absl::StrCat(args...));
}
// Per-connection detail, only at --log_level=debug (--verbose).
template <typename... Args>
void LogDebug(const Args&... args) {
  if (LogEnabled(LogLevel::kDebug)) {
    LogLine(LogLevel::kDebug, absl::StrCat(args...));
  }
}

}  // namespace herald
