#include "service/pg_timestamp.h"

#include <cstddef>

namespace herald::service {
namespace {

constexpr int64_t kSecondsPerDay = 86400;

struct CivilDate {
  int64_t year;
  unsigned month;  // 1..12
  unsigned day;    // 1..31
};

// Howard Hinnant's civil_from_days: proleptic Gregorian date of the day
// `days` after 1970-01-01.
CivilDate CivilFromDays(int64_t days) {
  days += 719468;
  const int64_t era = (days >= 0 ? days : days - 146096) / 146097;
  const unsigned doe = static_cast<unsigned>(days - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  const unsigned day = doy - (153 * mp + 2) / 5 + 1;
  const unsigned month = mp < 10 ? mp + 3 : mp - 9;
  const int64_t year = static_cast<int64_t>(yoe) + era * 400 + (month <= 2);
  return {year, month, day};
}

// Writes `value` as exactly `width` decimal digits ending before `end`.
void PutDigits(char* end, unsigned value, int width) {
  for (int i = 0; i < width; ++i) {
    *--end = static_cast<char>('0' + value % 10);
    value /= 10;
  }
}

}  // namespace

bool PgTimestampInRange(const google::protobuf::Timestamp& ts) {
  return ts.seconds() >= kMinPgTimestampSeconds &&
         ts.seconds() <= kMaxPgTimestampSeconds && ts.nanos() >= 0 &&
         ts.nanos() <= 999999999;
}

bool AppendPgTimestamp(std::string& out,
                       const google::protobuf::Timestamp& ts) {
  if (!PgTimestampInRange(ts)) return false;

  const int64_t seconds = ts.seconds();
  // Floor division: times before 1970 belong to the previous day.
  int64_t days = seconds / kSecondsPerDay;
  int64_t second_of_day = seconds % kSecondsPerDay;
  if (second_of_day < 0) {
    second_of_day += kSecondsPerDay;
    --days;
  }
  const CivilDate date = CivilFromDays(days);
  const unsigned sod = static_cast<unsigned>(second_of_day);

  // "YYYY-MM-DD HH:MM:SS.ffffff+00" is 29 bytes.
  char buf[32];
  PutDigits(buf + 4, static_cast<unsigned>(date.year), 4);
  buf[4] = '-';
  PutDigits(buf + 7, date.month, 2);
  buf[7] = '-';
  PutDigits(buf + 10, date.day, 2);
  buf[10] = ' ';
  PutDigits(buf + 13, sod / 3600, 2);
  buf[13] = ':';
  PutDigits(buf + 16, sod / 60 % 60, 2);
  buf[16] = ':';
  PutDigits(buf + 19, sod % 60, 2);
  size_t len = 19;

  unsigned micros = static_cast<unsigned>(ts.nanos()) / 1000;
  if (micros != 0) {
    int digits = 6;
    while (micros % 10 == 0) {
      micros /= 10;
      --digits;
    }
    buf[len++] = '.';
    PutDigits(buf + len + digits, micros, digits);
    len += static_cast<size_t>(digits);
  }
  buf[len++] = '+';
  buf[len++] = '0';
  buf[len++] = '0';
  out.append(buf, len);
  return true;
}

}  // namespace herald::service
