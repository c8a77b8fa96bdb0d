#include "bench/loadgen/event_body.h"

#include <cstdio>
#include <cstring>
#include <string_view>

namespace herald::bench {
namespace {

// Parses the unsigned decimal right after `key` in [p, p+n); the number
// must end with `end`. Returns false when absent.
bool FindNumber(const char* p, size_t n, const char* key, size_t key_len,
                char end, uint64_t* out) {
  const char* k = static_cast<const char*>(memmem(p, n, key, key_len));
  if (k == nullptr) return false;
  const char* q = k + key_len;
  const char* e = p + n;
  uint64_t v = 0;
  const char* digits = q;
  while (q < e && *q >= '0' && *q <= '9') v = v * 10 + (*q++ - '0');
  if (q == digits || q - digits > 19 || q >= e || *q != end) return false;
  *out = v;
  return true;
}

// Parses the decimal number at the front of *v and removes it.
bool TakeNumber(std::string_view* v, uint64_t* out) {
  size_t i = 0;
  uint64_t x = 0;
  while (i < v->size() && i < 19 && (*v)[i] >= '0' && (*v)[i] <= '9') {
    x = x * 10 + static_cast<uint64_t>((*v)[i] - '0');
    ++i;
  }
  if (i == 0) return false;
  v->remove_prefix(i);
  *out = x;
  return true;
}

}  // namespace

size_t EventBody::Write(uint64_t seq, int64_t server, int64_t ns, char* buf) {
  int n = snprintf(buf, kMaxSize,
                   "{\"data\":{\"author_id\":1,\"channel_id\":1,\"edited\":"
                   "\"2024-12-04 18:36:14.04568+00\",\"id\":%llu,\"sent\":"
                   "\"2024-12-04 18:36:14.04568+00\",\"server_id\":%lld,"
                   "\"text\":\"T%lld\"},\"name\":\"message_created\"}",
                   static_cast<unsigned long long>(seq),
                   static_cast<long long>(server), static_cast<long long>(ns));
  return static_cast<size_t>(n);
}

std::string EventBody::Make(uint64_t seq, int64_t server, int64_t ns) {
  char buf[kMaxSize];
  return std::string(buf, Write(seq, server, ns, buf));
}

bool EventBody::Parse(const char* p, size_t n, uint64_t* seq, int64_t* ns,
                      int64_t* server, bool* exact) {
  // Fast path: the exact envelope, checked byte for byte around the three
  // numbers.
  static constexpr std::string_view kHead =
      "{\"data\":{\"author_id\":1,\"channel_id\":1,\"edited\":"
      "\"2024-12-04 18:36:14.04568+00\",\"id\":";
  static constexpr std::string_view kMid =
      ",\"sent\":\"2024-12-04 18:36:14.04568+00\",\"server_id\":";
  static constexpr std::string_view kText = ",\"text\":\"T";
  static constexpr std::string_view kTail = "\"},\"name\":\"message_created\"}";
  std::string_view v(p, n);
  uint64_t id = 0;
  uint64_t s = 0;
  uint64_t t = 0;
  if (v.starts_with(kHead) && v.ends_with(kTail)) {
    std::string_view rest =
        v.substr(kHead.size(), n - kHead.size() - kTail.size());
    if (TakeNumber(&rest, &id) && rest.starts_with(kMid)) {
      rest.remove_prefix(kMid.size());
      if (TakeNumber(&rest, &s) && rest.starts_with(kText)) {
        rest.remove_prefix(kText.size());
        if (TakeNumber(&rest, &t) && rest.empty()) {
          *seq = id;
          *ns = static_cast<int64_t>(t);
          *server = static_cast<int64_t>(s);
          *exact = true;
          return true;
        }
      }
    }
  }
  // Any other shape: find the three keys wherever they are.
  *exact = false;
  // A padded text (--text_bytes) ends its number with a space.
  if (!FindNumber(p, n, "\"text\":\"T", 9, '"', &t) &&
      !FindNumber(p, n, "\"text\":\"T", 9, ' ', &t)) {
    return false;
  }
  if (!FindNumber(p, n, "\"id\":", 5, ',', &id)) return false;
  if (!FindNumber(p, n, "\"server_id\":", 12, ',', &s)) return false;
  *seq = id;
  *ns = static_cast<int64_t>(t);
  *server = static_cast<int64_t>(s);
  return true;
}

}  // namespace herald::bench
