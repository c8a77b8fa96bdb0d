#pragma once

#include <cstdint>
#include <vector>

namespace herald::bench {

// Who connects and which servers each user belongs to, computed the same way
// by every load generator process (no coordination). Connections are
// numbered 0.. over the whole population (a process's connection i is
// population connection user_offset + i). Implementations are immutable
// after construction and safe to share between threads.
class MembershipPlan {
 public:
  virtual ~MembershipPlan() = default;

  virtual int servers() const = 0;
  // Fills *out (cleared first) with the user's servers, ascending.
  virtual void ServersOf(int64_t user, std::vector<int32_t>* out) const = 0;
  // The user who owns population connection `index`: by default one
  // connection per user, user = index + 1.
  virtual int64_t UserOfConnection(int64_t index) const { return index + 1; }
};

}  // namespace herald::bench
