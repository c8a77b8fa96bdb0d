#include "tools/heraldctl/time_parse.h"

#include <chrono>
#include <cstdint>

#include "absl/strings/str_cat.h"

namespace herald::tools {
namespace {

// Reads exactly `digits` decimal digits at `*pos`, advancing it.
bool ReadNumber(std::string_view s, size_t* pos, int digits, int* out) {
  if (s.size() - *pos < static_cast<size_t>(digits)) return false;
  int n = 0;
  for (int i = 0; i < digits; ++i) {
    const char c = s[*pos + i];
    if (c < '0' || c > '9') return false;
    n = n * 10 + (c - '0');
  }
  *pos += digits;
  *out = n;
  return true;
}

bool ReadChar(std::string_view s, size_t* pos, char c) {
  if (*pos >= s.size() || s[*pos] != c) return false;
  ++*pos;
  return true;
}

// Reads the UTC offset at `*pos` to the end of `s`, in seconds east of UTC.
bool ReadOffset(std::string_view s, size_t* pos, int64_t* offset) {
  *offset = 0;
  if (*pos == s.size()) return true;  // none: UTC
  const char sign = s[*pos];
  if (sign == 'Z' || sign == 'z') {
    ++*pos;
    return true;
  }
  if (sign != '+' && sign != '-') return false;
  ++*pos;
  int hours = 0;
  int minutes = 0;
  if (!ReadNumber(s, pos, 2, &hours)) return false;
  if (*pos < s.size()) {
    ReadChar(s, pos, ':');
    if (!ReadNumber(s, pos, 2, &minutes)) return false;
  }
  if (hours > 23 || minutes > 59) return false;
  *offset = (sign == '-' ? -1 : 1) * (hours * 3600 + minutes * 60);
  return true;
}

}  // namespace

absl::StatusOr<google::protobuf::Timestamp> ParseTime(
    std::string_view text, const google::protobuf::Timestamp& now) {
  if (text == "now") return now;
  const auto bad = [&text](std::string_view why) {
    return absl::InvalidArgumentError(absl::StrCat(
        "invalid time '", std::string(text), "': ", std::string(why),
        " (expected 2024-12-04T18:36:14.045681Z or "
        "'2024-12-04 18:36:14.045681+00')"));
  };

  size_t pos = 0;
  int year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0;
  if (!ReadNumber(text, &pos, 4, &year) || !ReadChar(text, &pos, '-') ||
      !ReadNumber(text, &pos, 2, &month) || !ReadChar(text, &pos, '-') ||
      !ReadNumber(text, &pos, 2, &day)) {
    return bad("malformed date");
  }
  if (!ReadChar(text, &pos, 'T') && !ReadChar(text, &pos, 't') &&
      !ReadChar(text, &pos, ' ')) {
    return bad("date and time must be separated by 'T' or a space");
  }
  if (!ReadNumber(text, &pos, 2, &hour) || !ReadChar(text, &pos, ':') ||
      !ReadNumber(text, &pos, 2, &minute) || !ReadChar(text, &pos, ':') ||
      !ReadNumber(text, &pos, 2, &second)) {
    return bad("malformed time of day");
  }
  int32_t nanos = 0;
  if (ReadChar(text, &pos, '.')) {
    int digits = 0;
    while (pos < text.size() && text[pos] >= '0' && text[pos] <= '9') {
      if (++digits > 9) return bad("more than 9 fractional digits");
      nanos = nanos * 10 + (text[pos++] - '0');
    }
    if (digits == 0) return bad("no digits after '.'");
    for (int i = digits; i < 9; ++i) nanos *= 10;
  }
  int64_t offset = 0;
  if (!ReadOffset(text, &pos, &offset) || pos != text.size()) {
    return bad("malformed UTC offset");
  }

  const std::chrono::year_month_day date{std::chrono::year(year),
                                         std::chrono::month(month),
                                         std::chrono::day(day)};
  if (year < 1 || !date.ok()) return bad("no such date");
  if (hour > 23 || minute > 59 || second > 59) return bad("no such time");
  const int64_t days = std::chrono::sys_days(date).time_since_epoch().count();
  google::protobuf::Timestamp ts;
  ts.set_seconds(days * 86400 + hour * 3600 + minute * 60 + second - offset);
  ts.set_nanos(nanos);
  return ts;
}

google::protobuf::Timestamp NowTimestamp() {
  const auto since_epoch = std::chrono::duration_cast<std::chrono::nanoseconds>(
      std::chrono::system_clock::now().time_since_epoch());
  const int64_t ns = since_epoch.count();
  google::protobuf::Timestamp ts;
  ts.set_seconds(ns / 1000000000);
  ts.set_nanos(static_cast<int32_t>(ns % 1000000000));
  return ts;
}

}  // namespace herald::tools
