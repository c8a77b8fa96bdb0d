#include "service/cluster/node_cache.h"

#include <algorithm>
#include <utility>

#include "service/cluster/cluster_bus.h"

namespace herald::service::cluster {

NodeCache::NodeCache(Hooks hooks) : hooks_(std::move(hooks)) {}

void NodeCache::AddRef(int64_t user_id) {
  auto [it, inserted] = users_.try_emplace(user_id);
  ++it->second.refs;
  if (inserted) hooks_.subscribe(ClusterBus::UserChannel(user_id));
}

bool NodeCache::Release(int64_t user_id) {
  auto it = users_.find(user_id);
  if (it == users_.end()) return false;
  if (--it->second.refs > 0) return true;
  User user = std::move(it->second);
  users_.erase(it);
  for (int64_t server_id : absl::btree_set<int64_t>(user.servers)) {
    Part(user_id, user, server_id);
  }
  hooks_.unsubscribe(ClusterBus::UserChannel(user_id));
  return true;
}

int NodeCache::refs(int64_t user_id) const {
  auto it = users_.find(user_id);
  return it == users_.end() ? 0 : it->second.refs;
}

std::vector<int64_t> NodeCache::ServersOf(int64_t user_id) const {
  auto it = users_.find(user_id);
  if (it == users_.end()) return {};
  return {it->second.servers.begin(), it->second.servers.end()};
}

std::vector<int64_t> NodeCache::Users() const {
  std::vector<int64_t> users;
  users.reserve(users_.size());
  for (const auto& [user_id, user] : users_) users.push_back(user_id);
  std::sort(users.begin(), users.end());
  return users;
}

void NodeCache::Join(int64_t user_id, User& user, int64_t server_id) {
  if (!user.servers.insert(server_id).second) return;
  auto [it, inserted] = members_.try_emplace(server_id);
  it->second.insert(user_id);
  if (inserted) hooks_.subscribe(ClusterBus::ServerChannel(server_id));
}

void NodeCache::Part(int64_t user_id, User& user, int64_t server_id) {
  if (user.servers.erase(server_id) == 0) return;
  auto it = members_.find(server_id);
  if (it == members_.end()) return;
  it->second.erase(user_id);
  if (!it->second.empty()) return;
  members_.erase(it);
  hooks_.unsubscribe(ClusterBus::ServerChannel(server_id));
}

void NodeCache::Apply(const push::MembershipChange& change,
                      std::vector<int64_t>* joined) {
  using Kind = push::MembershipChange::Kind;
  if (change.kind == Kind::kDropServer) {
    auto it = members_.find(change.server_id);
    if (it == members_.end()) return;
    std::vector<int64_t> members(it->second.begin(), it->second.end());
    for (int64_t user_id : members) {
      Part(user_id, users_[user_id], change.server_id);
    }
    return;
  }
  auto it = users_.find(change.user_id);
  if (it == users_.end()) return;
  if (change.kind == Kind::kRemove) {
    Part(change.user_id, it->second, change.server_id);
    return;
  }
  if (!it->second.servers.contains(change.server_id)) {
    Join(change.user_id, it->second, change.server_id);
    if (joined) joined->push_back(change.server_id);
  }
}

std::vector<push::MembershipChange> NodeCache::Replace(
    int64_t user_id, const std::vector<int64_t>& server_ids,
    std::vector<int64_t>* joined) {
  using Kind = push::MembershipChange::Kind;
  std::vector<push::MembershipChange> diff;
  auto it = users_.find(user_id);
  if (it == users_.end()) return diff;
  User& user = it->second;
  const absl::btree_set<int64_t> target(server_ids.begin(), server_ids.end());
  for (int64_t server_id : absl::btree_set<int64_t>(user.servers)) {
    if (target.contains(server_id)) continue;
    Part(user_id, user, server_id);
    diff.push_back({Kind::kRemove, user_id, server_id});
  }
  for (int64_t server_id : target) {
    if (user.servers.contains(server_id)) continue;
    Join(user_id, user, server_id);
    diff.push_back({Kind::kAdd, user_id, server_id});
    if (joined) joined->push_back(server_id);
  }
  return diff;
}

}  // namespace herald::service::cluster
