#pragma once

#include <cstdio>
#include <string_view>

#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"

namespace herald {

// Debian's Abseil has its own string_view type; this bridges std's.
inline absl::string_view AsAbsl(std::string_view s) {
  return absl::string_view(s.data(), s.size());
}

// Minimal leveled logging to stderr, one line per call. Thread-safe: one
// fwrite per line.
enum class LogLevel { kInfo, kWarning, kError };

void SetLogVerbose(bool verbose);
bool LogVerbose();
void LogLine(LogLevel level, std::string_view line);

template <typename... Args>
void LogInfo(const Args&... args) {
  LogLine(LogLevel::kInfo, absl::StrCat(args...));
}
template <typename... Args>
void LogWarning(const Args&... args) {
  LogLine(LogLevel::kWarning, absl::StrCat(args...));
}
template <typename... Args>
void LogError(const Args&... args) {
  LogLine(LogLevel::kError, absl::StrCat(args...));
}
// Per-connection detail, only with --verbose.
template <typename... Args>
void LogDebug(const Args&... args) {
  if (LogVerbose()) LogLine(LogLevel::kInfo, absl::StrCat(args...));
}

}  // namespace herald
