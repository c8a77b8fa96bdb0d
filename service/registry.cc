#include "service/registry.h"

#include <algorithm>
#include <iterator>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"

namespace herald::service {
namespace {

bool Expired(const SessionInfo& info, int64_t now_us) {
  return info.expires_at_us != 0 && info.expires_at_us <= now_us;
}

std::vector<int64_t> Sorted(const absl::flat_hash_set<int64_t>& ids) {
  std::vector<int64_t> out(ids.begin(), ids.end());
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace

absl::StatusOr<std::unique_ptr<Registry>> Registry::Open(
    const std::string& path, RegistryLimits limits) {
  absl::StatusOr<std::unique_ptr<SqliteStore>> store = SqliteStore::Open(path);
  if (!store.ok()) return store.status();
  absl::StatusOr<SqliteStore::Snapshot> snapshot = (*store)->Load();
  if (!snapshot.ok()) return snapshot.status();
  std::unique_ptr<Registry> registry(new Registry(limits, *std::move(store)));
  registry->Load(*snapshot);
  return registry;
}

Registry::Registry(RegistryLimits limits, std::unique_ptr<SqliteStore> store)
    : limits_(limits), store_(std::move(store)) {}

Registry::~Registry() { store_->Flush(); }

void Registry::Load(const SqliteStore::Snapshot& snapshot) {
  absl::MutexLock lock(&mu_);
  sessions_.reserve(snapshot.sessions.size());
  for (const SqliteStore::StoredSession& session : snapshot.sessions) {
    PutSessionLocked(session.token_hash,
                     {session.user_id, session.expires_at_us});
  }
  for (const SqliteStore::StoredMembership& membership : snapshot.memberships) {
    LinkLocked(membership.user_id, membership.server_id);
  }
  for (const SqliteStore::StoredGrant& grant : snapshot.grants) {
    PutGrantLocked(grant.user_id, {grant.server_id, grant.channel_id});
  }
}

// Sessions.

void Registry::PutSessionLocked(const std::string& key, SessionInfo info) {
  auto [it, inserted] = sessions_.try_emplace(key, info);
  if (!inserted) {
    if (it->second.expires_at_us != 0) {
      expiry_.erase({it->second.expires_at_us, key});
    }
    it->second = info;
  }
  if (info.expires_at_us != 0) expiry_.emplace(info.expires_at_us, key);
}

std::string Registry::SessionKey(std::string_view token) const {
  return store_->hasher().Hash(token);
}

absl::Status Registry::OpenSession(const std::string& token, int64_t user_id,
                                   int64_t expires_at_us, Done done) {
  std::string key = SessionKey(token);
  absl::MutexLock lock(&mu_);
  if (!sessions_.contains(key) && sessions_.size() >= limits_.max_sessions) {
    return absl::ResourceExhaustedError(absl::StrCat(
        "too many sessions (the limit is --max_sessions=", limits_.max_sessions,
        ")"));
  }
  absl::Status status = store_->Submit(
      SqliteStore::PutSession{key, user_id, expires_at_us}, std::move(done));
  if (!status.ok()) return status;
  PutSessionLocked(key, {user_id, expires_at_us});
  return absl::OkStatus();
}

std::optional<SessionInfo> Registry::CloseSession(const std::string& token,
                                                  Done done) {
  std::string key = SessionKey(token);
  absl::MutexLock lock(&mu_);
  auto it = sessions_.find(key);
  if (it == sessions_.end()) {
    store_->SubmitUnbounded(SqliteStore::Noop{}, std::move(done));
    return std::nullopt;
  }
  const SessionInfo info = it->second;
  if (info.expires_at_us != 0) expiry_.erase({info.expires_at_us, key});
  sessions_.erase(it);
  store_->SubmitUnbounded(SqliteStore::DeleteSessions{{std::move(key)}},
                          std::move(done));
  return info;
}

std::optional<SessionInfo> Registry::LookupToken(std::string_view token,
                                                 int64_t now_us) const {
  return LookupSession(SessionKey(token), now_us);
}

std::optional<SessionInfo> Registry::LookupSession(
    const std::string& session_key, int64_t now_us) const {
  absl::MutexLock lock(&mu_);
  auto it = sessions_.find(session_key);
  if (it == sessions_.end() || Expired(it->second, now_us)) return std::nullopt;
  return it->second;
}

std::vector<Registry::ExpiredSession> Registry::TakeExpired(int64_t now_us) {
  std::vector<ExpiredSession> expired;
  absl::MutexLock lock(&mu_);
  if (expiry_.empty() || expiry_.begin()->first > now_us) return expired;
  std::vector<std::string> keys;
  auto end = expiry_.begin();
  for (; end != expiry_.end() && end->first <= now_us; ++end) {
    auto session = sessions_.find(end->second);
    expired.push_back({end->second, session->second.user_id});
    keys.push_back(end->second);
    sessions_.erase(session);
  }
  expiry_.erase(expiry_.begin(), end);
  store_->SubmitUnbounded(SqliteStore::DeleteSessions{std::move(keys)},
                          nullptr);
  return expired;
}

size_t Registry::session_count() const {
  absl::MutexLock lock(&mu_);
  return sessions_.size();
}

// Memberships.

void Registry::LinkLocked(int64_t user_id, int64_t server_id) {
  if (servers_of_[user_id].insert(server_id).second) ++memberships_;
  members_of_[server_id].insert(user_id);
}

void Registry::UnlinkLocked(int64_t user_id, int64_t server_id) {
  if (auto it = servers_of_.find(user_id); it != servers_of_.end()) {
    memberships_ -= it->second.erase(server_id);
    if (it->second.empty()) servers_of_.erase(it);
  }
  if (auto it = members_of_.find(server_id); it != members_of_.end()) {
    it->second.erase(user_id);
    if (it->second.empty()) members_of_.erase(it);
  }
}

absl::Status Registry::CheckMembershipLimitsLocked(int64_t user_id,
                                                   size_t user_total,
                                                   size_t total) const {
  if (user_total > limits_.max_memberships_per_user) {
    return absl::ResourceExhaustedError(
        absl::StrCat("user ", user_id, " would be a member of ", user_total,
                     " servers (the limit is --max_memberships_per_user=",
                     limits_.max_memberships_per_user, ")"));
  }
  if (total > limits_.max_memberships) {
    return absl::ResourceExhaustedError(
        absl::StrCat("herald would hold ", total,
                     " memberships (the limit is --max_memberships=",
                     limits_.max_memberships, ")"));
  }
  return absl::OkStatus();
}

absl::StatusOr<MembershipDiff> Registry::SetMemberships(
    int64_t user_id, std::vector<int64_t> server_ids, Done done) {
  std::sort(server_ids.begin(), server_ids.end());
  server_ids.erase(std::unique(server_ids.begin(), server_ids.end()),
                   server_ids.end());
  MembershipDiff diff;
  absl::MutexLock lock(&mu_);
  std::vector<int64_t> current;
  if (auto it = servers_of_.find(user_id); it != servers_of_.end()) {
    current = Sorted(it->second);
  }
  std::set_difference(server_ids.begin(), server_ids.end(), current.begin(),
                      current.end(), std::back_inserter(diff.added));
  std::set_difference(current.begin(), current.end(), server_ids.begin(),
                      server_ids.end(), std::back_inserter(diff.removed));
  // The global limit refuses growth only: a registry loaded above a
  // lowered limit may still shrink.
  const size_t total = memberships_ - diff.removed.size() + diff.added.size();
  if (absl::Status limit = CheckMembershipLimitsLocked(
          user_id, server_ids.size(),
          diff.added.size() > diff.removed.size() ? total : 0);
      !limit.ok()) {
    return limit;
  }
  SqliteStore::Op op = SqliteStore::Noop{};
  if (!diff.added.empty() || !diff.removed.empty()) {
    op = SqliteStore::ChangeMemberships{user_id, diff.added, diff.removed};
  }
  absl::Status status = store_->Submit(std::move(op), std::move(done));
  if (!status.ok()) return status;
  for (int64_t server_id : diff.removed) UnlinkLocked(user_id, server_id);
  for (int64_t server_id : diff.added) LinkLocked(user_id, server_id);
  return diff;
}

absl::StatusOr<bool> Registry::AddMembership(int64_t user_id, int64_t server_id,
                                             Done done) {
  absl::MutexLock lock(&mu_);
  auto it = servers_of_.find(user_id);
  if (it != servers_of_.end() && it->second.contains(server_id)) {
    store_->SubmitUnbounded(SqliteStore::Noop{}, std::move(done));
    return false;
  }
  const size_t user_total = (it == servers_of_.end() ? 0 : it->second.size());
  if (absl::Status limit = CheckMembershipLimitsLocked(user_id, user_total + 1,
                                                       memberships_ + 1);
      !limit.ok()) {
    return limit;
  }
  LinkLocked(user_id, server_id);
  store_->SubmitUnbounded(
      SqliteStore::ChangeMemberships{user_id, {server_id}, {}},
      std::move(done));
  return true;
}

bool Registry::RemoveMembership(int64_t user_id, int64_t server_id, Done done) {
  absl::MutexLock lock(&mu_);
  auto it = servers_of_.find(user_id);
  if (it == servers_of_.end() || !it->second.contains(server_id)) {
    store_->SubmitUnbounded(SqliteStore::Noop{}, std::move(done));
    return false;
  }
  UnlinkLocked(user_id, server_id);
  store_->SubmitUnbounded(
      SqliteStore::ChangeMemberships{user_id, {}, {server_id}},
      std::move(done));
  return true;
}

std::vector<int64_t> Registry::DropServer(int64_t server_id, Done done) {
  absl::MutexLock lock(&mu_);
  auto it = members_of_.find(server_id);
  if (it == members_of_.end()) {
    store_->SubmitUnbounded(SqliteStore::Noop{}, std::move(done));
    return {};
  }
  std::vector<int64_t> members = Sorted(it->second);
  members_of_.erase(it);
  memberships_ -= members.size();
  for (int64_t user_id : members) {
    auto servers = servers_of_.find(user_id);
    servers->second.erase(server_id);
    if (servers->second.empty()) servers_of_.erase(servers);
  }
  store_->SubmitUnbounded(SqliteStore::DropServer{server_id}, std::move(done));
  return members;
}

std::vector<int64_t> Registry::ServersOf(int64_t user_id) const {
  absl::MutexLock lock(&mu_);
  auto it = servers_of_.find(user_id);
  if (it == servers_of_.end()) return {};
  return Sorted(it->second);
}

std::vector<int64_t> Registry::MembersOf(int64_t server_id) const {
  absl::MutexLock lock(&mu_);
  auto it = members_of_.find(server_id);
  if (it == members_of_.end()) return {};
  return Sorted(it->second);
}

size_t Registry::grant_count() const {
  absl::MutexLock lock(&mu_);
  return grants_.size();
}

size_t Registry::membership_count() const {
  absl::MutexLock lock(&mu_);
  return memberships_;
}

bool Registry::IsMember(int64_t user_id, int64_t server_id) const {
  absl::MutexLock lock(&mu_);
  auto it = servers_of_.find(user_id);
  return it != servers_of_.end() && it->second.contains(server_id);
}

// Voice grants.

void Registry::PutGrantLocked(int64_t user_id, VoiceGrant grant) {
  EraseGrantLocked(user_id);
  grants_[user_id] = grant;
  grantees_of_[grant.server_id].insert(user_id);
}

void Registry::EraseGrantLocked(int64_t user_id) {
  auto it = grants_.find(user_id);
  if (it == grants_.end()) return;
  auto grantees = grantees_of_.find(it->second.server_id);
  grantees->second.erase(user_id);
  if (grantees->second.empty()) grantees_of_.erase(grantees);
  grants_.erase(it);
}

void Registry::EraseGrantsLocked(const std::vector<int64_t>& user_ids,
                                 Done done) {
  if (user_ids.empty()) {
    store_->SubmitUnbounded(SqliteStore::Noop{}, std::move(done));
    return;
  }
  for (int64_t user_id : user_ids) EraseGrantLocked(user_id);
  store_->SubmitUnbounded(SqliteStore::DeleteGrants{user_ids}, std::move(done));
}

void Registry::SetGrant(int64_t user_id, VoiceGrant grant, Done done) {
  absl::MutexLock lock(&mu_);
  auto it = grants_.find(user_id);
  if (it != grants_.end() && it->second.server_id == grant.server_id &&
      it->second.channel_id == grant.channel_id) {
    store_->SubmitUnbounded(SqliteStore::Noop{}, std::move(done));
    return;
  }
  PutGrantLocked(user_id, grant);
  store_->SubmitUnbounded(
      SqliteStore::PutGrant{user_id, grant.server_id, grant.channel_id},
      std::move(done));
}

std::optional<VoiceGrant> Registry::GrantOf(int64_t user_id) const {
  absl::MutexLock lock(&mu_);
  auto it = grants_.find(user_id);
  if (it == grants_.end()) return std::nullopt;
  return it->second;
}

std::optional<VoiceGrant> Registry::RemoveGrant(int64_t user_id, Done done) {
  absl::MutexLock lock(&mu_);
  auto it = grants_.find(user_id);
  if (it == grants_.end()) {
    store_->SubmitUnbounded(SqliteStore::Noop{}, std::move(done));
    return std::nullopt;
  }
  const VoiceGrant grant = it->second;
  EraseGrantsLocked({user_id}, std::move(done));
  return grant;
}

std::vector<int64_t> Registry::RemoveGrantsForChannel(int64_t server_id,
                                                      int64_t channel_id,
                                                      Done done) {
  absl::MutexLock lock(&mu_);
  std::vector<int64_t> users;
  if (auto it = grantees_of_.find(server_id); it != grantees_of_.end()) {
    for (int64_t user_id : it->second) {
      if (grants_.find(user_id)->second.channel_id == channel_id) {
        users.push_back(user_id);
      }
    }
  }
  std::sort(users.begin(), users.end());
  EraseGrantsLocked(users, std::move(done));
  return users;
}

std::vector<int64_t> Registry::RemoveGrantsForServer(int64_t server_id,
                                                     Done done) {
  absl::MutexLock lock(&mu_);
  std::vector<int64_t> users;
  if (auto it = grantees_of_.find(server_id); it != grantees_of_.end()) {
    users = Sorted(it->second);
  }
  EraseGrantsLocked(users, std::move(done));
  return users;
}

void Registry::Flush() { store_->Flush(); }

}  // namespace herald::service
