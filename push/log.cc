#include "push/log.h"

#include <atomic>
#include <ctime>
#include <string>

namespace herald {
namespace {
std::atomic<bool> verbose{false};
}  // namespace

void SetLogVerbose(bool v) { verbose.store(v, std::memory_order_relaxed); }
bool LogVerbose() { return verbose.load(std::memory_order_relaxed); }

void LogLine(LogLevel level, std::string_view line) {
  timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  tm utc;
  gmtime_r(&ts.tv_sec, &utc);
  char prefix[64];
  const char tag = level == LogLevel::kInfo      ? 'I'
                   : level == LogLevel::kWarning ? 'W'
                                                 : 'E';
  int n = snprintf(prefix, sizeof(prefix), "%c%02d%02d %02d:%02d:%02d.%06ld ",
                   tag, utc.tm_mon + 1, utc.tm_mday, utc.tm_hour, utc.tm_min,
                   utc.tm_sec, ts.tv_nsec / 1000);
  std::string out;
  out.reserve(n + line.size() + 1);
  out.append(prefix, n);
  out.append(line);
  out.push_back('\n');
  fwrite(out.data(), 1, out.size(), stderr);
}

}  // namespace herald
