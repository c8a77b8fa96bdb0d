#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/container/btree_set.h"
#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/functional/any_invocable.h"
#include "push/delivery.h"

namespace herald::service::cluster {

// A node's cache of its connected users' servers, and the channels it
// implies: herald:u:<user> while the user is referenced (a main connection,
// or an admission in progress), herald:s:<server> while one referenced user
// is a member. Channel changes are reported through the hooks, once per
// transition (first reference: subscribe; last one gone: unsubscribe).
//
// Threading: bus thread only.
class NodeCache {
 public:
  struct Hooks {
    absl::AnyInvocable<void(const std::string& channel)> subscribe;
    absl::AnyInvocable<void(const std::string& channel)> unsubscribe;
  };
  explicit NodeCache(Hooks hooks);

  // One more reference to `user_id` (subscribes its channel on the first).
  void AddRef(int64_t user_id);
  // One reference fewer; at the last the user and its servers are dropped
  // (channels nobody else needs are unsubscribed). False if unknown.
  bool Release(int64_t user_id);
  bool Has(int64_t user_id) const { return users_.contains(user_id); }
  int refs(int64_t user_id) const;

  // Ascending; empty for an unknown user.
  std::vector<int64_t> ServersOf(int64_t user_id) const;
  std::vector<int64_t> Users() const;

  // Applies one change to the cached users it names (unknown users are
  // ignored). Servers newly joined by a cached user are appended to
  // `joined` (their channel may still await its confirmation).
  void Apply(const push::MembershipChange& change,
             std::vector<int64_t>* joined);
  // The user's servers become exactly `server_ids`; returns the difference
  // as changes (removals, then additions, ascending) to apply to the
  // user's connections, and appends the joined servers to `joined`.
  std::vector<push::MembershipChange> Replace(
      int64_t user_id, const std::vector<int64_t>& server_ids,
      std::vector<int64_t>* joined);

  size_t user_channels() const { return users_.size(); }
  size_t server_channels() const { return members_.size(); }

 private:
  struct User {
    int refs = 0;
    absl::btree_set<int64_t> servers;
  };
  void Join(int64_t user_id, User& user, int64_t server_id);
  void Part(int64_t user_id, User& user, int64_t server_id);

  Hooks hooks_;
  absl::flat_hash_map<int64_t, User> users_;
  // server -> its cached members.
  absl::flat_hash_map<int64_t, absl::flat_hash_set<int64_t>> members_;
};

}  // namespace herald::service::cluster
