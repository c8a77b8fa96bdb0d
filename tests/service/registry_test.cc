#include "service/registry.h"

#include <sqlite3.h>
#include <stdlib.h>

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <initializer_list>
#include <limits>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/notification.h"
#include "gtest/gtest.h"
#include "service/sqlite_store.h"

namespace herald::service {
namespace {

std::vector<int64_t> Ids(std::initializer_list<int64_t> ids) { return ids; }

bool Contains(absl::string_view haystack, absl::string_view needle) {
  return haystack.find(needle) != absl::string_view::npos;
}

// Counts callback runs and remembers the last non-OK status.
class Calls {
 public:
  Registry::Done Make() {
    return [this](absl::Status status) {
      if (!status.ok()) {
        absl::MutexLock lock(&mu_);
        last_error_ = status;
      }
      count_.fetch_add(1);
    };
  }
  int count() const { return count_.load(); }
  absl::Status last_error() const {
    absl::MutexLock lock(&mu_);
    return last_error_;
  }

 private:
  std::atomic<int> count_{0};
  mutable absl::Mutex mu_;
  absl::Status last_error_ ABSL_GUARDED_BY(mu_);
};

// Reads one integer with a separate connection (as a second process would).
std::optional<int64_t> QueryInt(const std::string& path, const char* sql) {
  sqlite3* db = nullptr;
  std::optional<int64_t> result;
  if (sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) ==
      SQLITE_OK) {
    sqlite3_stmt* stmt = nullptr;
    if (sqlite3_prepare_v2(db, sql, -1, &stmt, nullptr) == SQLITE_OK &&
        sqlite3_step(stmt) == SQLITE_ROW) {
      result = sqlite3_column_int64(stmt, 0);
    }
    sqlite3_finalize(stmt);
  }
  sqlite3_close_v2(db);
  return result;
}

class RegistryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern =
        (std::filesystem::temp_directory_path() / "registry_test.XXXXXX")
            .string();
    ASSERT_NE(mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
    path_ = (std::filesystem::path(dir_) / "state.db").string();
  }
  void TearDown() override {
    registry_.reset();
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
  }

  Registry& Open(RegistryLimits limits = {}) {
    registry_.reset();
    absl::StatusOr<std::unique_ptr<Registry>> registry =
        Registry::Open(path_, limits);
    EXPECT_TRUE(registry.ok()) << registry.status();
    registry_ = *std::move(registry);
    return *registry_;
  }

  std::string dir_;
  std::string path_;
  std::unique_ptr<Registry> registry_;
};

TEST_F(RegistryTest, CreatesTheSchemaInWalMode) {
  Registry& registry = Open();
  registry.Flush();
  EXPECT_EQ(QueryInt(path_, "PRAGMA user_version"),
            SqliteStore::kSchemaVersion);
  EXPECT_EQ(QueryInt(path_,
                     "SELECT count(*) FROM sqlite_master WHERE type = 'table' "
                     "AND name IN ('sessions', 'memberships', 'voice_grants')"),
            3);
  EXPECT_EQ(QueryInt(path_,
                     "SELECT count(*) FROM pragma_journal_mode "
                     "WHERE journal_mode = 'wal'"),
            1);
}

TEST_F(RegistryTest, OpenSessionAndLookup) {
  Registry& registry = Open();
  Calls calls;
  EXPECT_FALSE(registry.LookupToken("tok", 0).has_value());
  ASSERT_TRUE(registry.OpenSession("tok", 7, 0, calls.Make()).ok());
  std::optional<SessionInfo> info = registry.LookupToken("tok", 0);
  ASSERT_TRUE(info.has_value());
  EXPECT_EQ(info->user_id, 7);
  EXPECT_EQ(info->expires_at_us, 0);
  EXPECT_EQ(registry.session_count(), 1u);

  // Replaces the entry.
  ASSERT_TRUE(registry.OpenSession("tok", 8, 500, calls.Make()).ok());
  info = registry.LookupToken("tok", 0);
  ASSERT_TRUE(info.has_value());
  EXPECT_EQ(info->user_id, 8);
  EXPECT_EQ(info->expires_at_us, 500);
  EXPECT_EQ(registry.session_count(), 1u);

  // Tokens are opaque bytes.
  const std::string binary("a\0b", 3);
  ASSERT_TRUE(registry.OpenSession(binary, 9, 0, nullptr).ok());
  EXPECT_EQ(registry.LookupToken(binary, 0)->user_id, 9);
  EXPECT_FALSE(registry.LookupToken("a", 0).has_value());

  registry.Flush();
  EXPECT_EQ(calls.count(), 2);
  EXPECT_TRUE(calls.last_error().ok());
}

TEST_F(RegistryTest, ExpiredSessionsAreInvisible) {
  Registry& registry = Open();
  ASSERT_TRUE(registry.OpenSession("forever", 1, 0, nullptr).ok());
  ASSERT_TRUE(registry.OpenSession("short", 2, 100, nullptr).ok());
  EXPECT_TRUE(registry.LookupToken("short", 99).has_value());
  EXPECT_FALSE(registry.LookupToken("short", 100).has_value());
  EXPECT_FALSE(registry.LookupToken("short", 101).has_value());
  EXPECT_TRUE(
      registry.LookupToken("forever", std::numeric_limits<int64_t>::max())
          .has_value());
  // Still counted until taken.
  EXPECT_EQ(registry.session_count(), 2u);
}

TEST_F(RegistryTest, TakeExpired) {
  Registry& registry = Open();
  ASSERT_TRUE(registry.OpenSession("c", 3, 300, nullptr).ok());
  ASSERT_TRUE(registry.OpenSession("a", 1, 100, nullptr).ok());
  ASSERT_TRUE(registry.OpenSession("b", 2, 200, nullptr).ok());
  ASSERT_TRUE(registry.OpenSession("b2", 5, 200, nullptr).ok());
  ASSERT_TRUE(registry.OpenSession("never", 4, 0, nullptr).ok());
  // Reopening "c" with a later expiry forgets the earlier one.
  ASSERT_TRUE(registry.OpenSession("c", 3, 1000, nullptr).ok());

  EXPECT_TRUE((registry.TakeExpired(99)).empty());
  std::vector<Registry::ExpiredSession> expired = registry.TakeExpired(300);
  ASSERT_EQ(expired.size(), 3u);
  // By expiry; sessions are held by key, so equal expiries come in key order.
  EXPECT_EQ(expired[0].session_key, registry.SessionKey("a"));
  EXPECT_EQ(expired[0].user_id, 1);
  std::map<std::string, int64_t> at_200 = {
      {expired[1].session_key, expired[1].user_id},
      {expired[2].session_key, expired[2].user_id}};
  EXPECT_EQ(at_200,
            (std::map<std::string, int64_t>{{registry.SessionKey("b"), 2},
                                            {registry.SessionKey("b2"), 5}}));
  EXPECT_EQ(registry.session_count(), 2u);
  EXPECT_TRUE((registry.TakeExpired(300)).empty());
  EXPECT_TRUE(registry.LookupToken("c", 300).has_value());

  // A closed session does not come back as expired.
  EXPECT_TRUE(registry.CloseSession("c", nullptr).has_value());
  EXPECT_TRUE(
      (registry.TakeExpired(std::numeric_limits<int64_t>::max())).empty());
  EXPECT_EQ(registry.session_count(), 1u);

  // The removals are persisted.
  registry.Flush();
  EXPECT_EQ(QueryInt(path_, "SELECT count(*) FROM sessions"), 1);
  Registry& reopened = Open();
  EXPECT_EQ(reopened.session_count(), 1u);
  EXPECT_TRUE(reopened.LookupToken("never", 5000).has_value());
}

TEST_F(RegistryTest, CloseSession) {
  Registry& registry = Open();
  Calls calls;
  ASSERT_TRUE(registry.OpenSession("tok", 7, 50, nullptr).ok());
  std::optional<SessionInfo> closed =
      registry.CloseSession("tok", calls.Make());
  ASSERT_TRUE(closed.has_value());
  EXPECT_EQ(closed->user_id, 7);
  EXPECT_EQ(closed->expires_at_us, 50);
  EXPECT_FALSE(registry.LookupToken("tok", 0).has_value());
  EXPECT_EQ(registry.session_count(), 0u);
  // Absent: nullopt, and done still runs.
  EXPECT_FALSE(registry.CloseSession("tok", calls.Make()).has_value());
  registry.Flush();
  EXPECT_EQ(calls.count(), 2);
  EXPECT_TRUE(calls.last_error().ok());
  EXPECT_EQ(QueryInt(path_, "SELECT count(*) FROM sessions"), 0);
}

TEST_F(RegistryTest, SessionLimit) {
  Registry& registry = Open({.max_sessions = 2});
  Calls calls;
  ASSERT_TRUE(registry.OpenSession("a", 1, 0, nullptr).ok());
  ASSERT_TRUE(registry.OpenSession("b", 2, 0, nullptr).ok());
  absl::Status status = registry.OpenSession("c", 3, 0, calls.Make());
  EXPECT_EQ(status.code(), absl::StatusCode::kResourceExhausted) << status;
  EXPECT_FALSE(registry.LookupToken("c", 0).has_value());
  EXPECT_EQ(registry.session_count(), 2u);
  // Replacing an existing token is not a new session.
  EXPECT_TRUE(registry.OpenSession("b", 20, 0, nullptr).ok());
  EXPECT_EQ(registry.LookupToken("b", 0)->user_id, 20);
  registry.Flush();
  EXPECT_EQ(calls.count(), 0);  // not called on RESOURCE_EXHAUSTED
  EXPECT_EQ(QueryInt(path_, "SELECT count(*) FROM sessions"), 2);
  // Room again after a close.
  registry.CloseSession("a", nullptr);
  EXPECT_TRUE(registry.OpenSession("c", 3, 0, nullptr).ok());
}

TEST_F(RegistryTest, SetMemberships) {
  Registry& registry = Open();
  Calls calls;
  absl::StatusOr<MembershipDiff> diff =
      registry.SetMemberships(1, {30, 10, 20, 10}, calls.Make());
  ASSERT_TRUE(diff.ok()) << diff.status();
  EXPECT_EQ(diff->added, Ids({10, 20, 30}));
  EXPECT_TRUE((diff->removed).empty());
  EXPECT_EQ(registry.ServersOf(1), Ids({10, 20, 30}));
  EXPECT_EQ(registry.MembersOf(20), Ids({1}));

  ASSERT_TRUE(registry.SetMemberships(2, {20}, nullptr).ok());
  EXPECT_EQ(registry.MembersOf(20), Ids({1, 2}));

  diff = registry.SetMemberships(1, {40, 20, 5}, calls.Make());
  ASSERT_TRUE(diff.ok());
  EXPECT_EQ(diff->added, Ids({5, 40}));
  EXPECT_EQ(diff->removed, Ids({10, 30}));
  EXPECT_EQ(registry.ServersOf(1), Ids({5, 20, 40}));
  EXPECT_TRUE((registry.MembersOf(10)).empty());
  EXPECT_TRUE((registry.MembersOf(30)).empty());
  EXPECT_TRUE(registry.IsMember(1, 40));
  EXPECT_FALSE(registry.IsMember(1, 10));

  // No change: empty diff, done still runs.
  diff = registry.SetMemberships(1, {5, 20, 40}, calls.Make());
  ASSERT_TRUE(diff.ok());
  EXPECT_TRUE((diff->added).empty());
  EXPECT_TRUE((diff->removed).empty());

  // Empty: removes everything.
  diff = registry.SetMemberships(1, {}, calls.Make());
  ASSERT_TRUE(diff.ok());
  EXPECT_EQ(diff->removed, Ids({5, 20, 40}));
  EXPECT_TRUE((registry.ServersOf(1)).empty());
  EXPECT_EQ(registry.MembersOf(20), Ids({2}));

  registry.Flush();
  EXPECT_EQ(calls.count(), 4);
  EXPECT_TRUE(calls.last_error().ok());
  EXPECT_EQ(QueryInt(path_, "SELECT count(*) FROM memberships"), 1);
}

TEST_F(RegistryTest, MembershipLimit) {
  Registry& registry = Open({.max_memberships_per_user = 3});
  Calls calls;
  ASSERT_TRUE(registry.SetMemberships(1, {1, 2}, nullptr).ok());
  absl::StatusOr<MembershipDiff> diff =
      registry.SetMemberships(1, {1, 2, 3, 4}, calls.Make());
  EXPECT_EQ(diff.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(registry.ServersOf(1), Ids({1, 2}));
  EXPECT_TRUE((registry.MembersOf(3)).empty());
  // Duplicates do not count.
  EXPECT_TRUE(registry.SetMemberships(1, {1, 2, 3, 3, 1}, nullptr).ok());
  EXPECT_EQ(registry.ServersOf(1), Ids({1, 2, 3}));
  registry.Flush();
  EXPECT_EQ(calls.count(), 0);
}

// user_joined goes through AddMembership: the per-user limit holds there too,
// and the refusal names the flag and changes nothing (memory or file).
TEST_F(RegistryTest, AddMembershipHonoursThePerUserLimit) {
  Registry& registry = Open({.max_memberships_per_user = 2});
  Calls calls;
  ASSERT_TRUE(registry.SetMemberships(1, {1, 2}, nullptr).ok());
  absl::StatusOr<bool> added = registry.AddMembership(1, 3, calls.Make());
  EXPECT_EQ(added.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(added.status().message(),
            "user 1 would be a member of 3 servers (the limit is "
            "--max_memberships_per_user=2)");
  EXPECT_EQ(registry.ServersOf(1), Ids({1, 2}));
  EXPECT_TRUE(registry.MembersOf(3).empty());
  EXPECT_EQ(registry.membership_count(), 2u);
  // Already a member: not a new membership, so not refused.
  EXPECT_FALSE(*registry.AddMembership(1, 2, nullptr));
  // Other users are not affected.
  EXPECT_TRUE(*registry.AddMembership(2, 3, nullptr));
  registry.Flush();
  EXPECT_EQ(calls.count(), 0);  // not called when refused
  EXPECT_EQ(QueryInt(path_, "SELECT count(*) FROM memberships"), 3);
}

TEST_F(RegistryTest, GlobalMembershipLimit) {
  Registry& registry = Open({.max_memberships = 4});
  Calls calls;
  ASSERT_TRUE(registry.SetMemberships(1, {1, 2, 3}, nullptr).ok());
  EXPECT_TRUE(*registry.AddMembership(2, 1, nullptr));
  EXPECT_EQ(registry.membership_count(), 4u);
  absl::StatusOr<bool> added = registry.AddMembership(3, 1, calls.Make());
  EXPECT_EQ(added.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(added.status().message(),
            "herald would hold 5 memberships (the limit is "
            "--max_memberships=4)");
  absl::StatusOr<MembershipDiff> diff =
      registry.SetMemberships(2, {1, 2}, calls.Make());
  EXPECT_EQ(diff.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(diff.status().message(),
            "herald would hold 5 memberships (the limit is "
            "--max_memberships=4)");
  EXPECT_EQ(registry.ServersOf(2), Ids({1}));
  EXPECT_TRUE(registry.ServersOf(3).empty());
  // Replacing one server with another does not grow the registry.
  ASSERT_TRUE(registry.SetMemberships(2, {9}, nullptr).ok());
  EXPECT_EQ(registry.membership_count(), 4u);
  // Room again after memberships go (user_left, server_deleted).
  EXPECT_TRUE(registry.RemoveMembership(1, 3, nullptr));
  EXPECT_EQ(registry.membership_count(), 3u);
  EXPECT_TRUE(*registry.AddMembership(3, 1, nullptr));
  EXPECT_EQ(registry.DropServer(1, nullptr), Ids({1, 3}));
  EXPECT_EQ(registry.membership_count(), 2u);  // 1 in 2, 2 in 9
  registry.Flush();
  EXPECT_EQ(calls.count(), 0);
  EXPECT_EQ(QueryInt(path_, "SELECT count(*) FROM memberships"),
            static_cast<int64_t>(registry.membership_count()));
}

// The count is rebuilt from the file: the limit holds across a restart.
TEST_F(RegistryTest, GlobalMembershipLimitSurvivesAReopen) {
  {
    Registry& registry = Open({.max_memberships = 2});
    ASSERT_TRUE(registry.SetMemberships(1, {1, 2}, nullptr).ok());
  }
  Registry& registry = Open({.max_memberships = 2});
  EXPECT_EQ(registry.membership_count(), 2u);
  EXPECT_EQ(registry.AddMembership(2, 1, nullptr).status().code(),
            absl::StatusCode::kResourceExhausted);
}

TEST_F(RegistryTest, AddAndRemoveMembership) {
  Registry& registry = Open();
  Calls calls;
  EXPECT_TRUE(*registry.AddMembership(1, 10, calls.Make()));
  EXPECT_FALSE(*registry.AddMembership(1, 10, calls.Make()));
  EXPECT_TRUE(*registry.AddMembership(2, 10, calls.Make()));
  EXPECT_TRUE(*registry.AddMembership(1, 5, calls.Make()));
  EXPECT_EQ(registry.ServersOf(1), Ids({5, 10}));
  EXPECT_EQ(registry.MembersOf(10), Ids({1, 2}));
  EXPECT_TRUE(registry.IsMember(2, 10));

  EXPECT_TRUE(registry.RemoveMembership(1, 10, calls.Make()));
  EXPECT_FALSE(registry.RemoveMembership(1, 10, calls.Make()));
  EXPECT_FALSE(registry.RemoveMembership(3, 10, calls.Make()));
  EXPECT_EQ(registry.ServersOf(1), Ids({5}));
  EXPECT_EQ(registry.MembersOf(10), Ids({2}));
  EXPECT_FALSE(registry.IsMember(1, 10));

  registry.Flush();
  EXPECT_EQ(calls.count(), 7);
  EXPECT_TRUE(calls.last_error().ok());
  EXPECT_EQ(QueryInt(path_, "SELECT count(*) FROM memberships"), 2);
}

TEST_F(RegistryTest, DropServer) {
  Registry& registry = Open();
  Calls calls;
  EXPECT_TRUE(registry.AddMembership(3, 10, nullptr).ok());
  EXPECT_TRUE(registry.AddMembership(1, 10, nullptr).ok());
  EXPECT_TRUE(registry.AddMembership(2, 10, nullptr).ok());
  EXPECT_TRUE(registry.AddMembership(1, 20, nullptr).ok());
  EXPECT_EQ(registry.DropServer(10, calls.Make()), Ids({1, 2, 3}));
  EXPECT_TRUE((registry.MembersOf(10)).empty());
  EXPECT_EQ(registry.ServersOf(1), Ids({20}));
  EXPECT_TRUE((registry.ServersOf(2)).empty());
  EXPECT_TRUE((registry.DropServer(10, calls.Make())).empty());
  registry.Flush();
  EXPECT_EQ(calls.count(), 2);
  EXPECT_EQ(QueryInt(path_, "SELECT count(*) FROM memberships"), 1);
}

TEST_F(RegistryTest, VoiceGrants) {
  Registry& registry = Open();
  Calls calls;
  EXPECT_FALSE(registry.GrantOf(1).has_value());
  registry.SetGrant(1, {10, 100}, calls.Make());
  registry.SetGrant(2, {10, 100}, calls.Make());
  registry.SetGrant(3, {10, 101}, calls.Make());
  registry.SetGrant(4, {20, 200}, calls.Make());
  std::optional<VoiceGrant> grant = registry.GrantOf(1);
  ASSERT_TRUE(grant.has_value());
  EXPECT_EQ(grant->server_id, 10);
  EXPECT_EQ(grant->channel_id, 100);

  // One per user: a new grant replaces the old one, in another server too.
  registry.SetGrant(4, {10, 100}, calls.Make());
  registry.SetGrant(4, {10, 100}, calls.Make());  // no change
  EXPECT_EQ(registry.GrantOf(4)->server_id, 10);
  EXPECT_TRUE((registry.RemoveGrantsForServer(20, calls.Make())).empty());

  EXPECT_EQ(registry.RemoveGrantsForChannel(10, 100, calls.Make()),
            Ids({1, 2, 4}));
  EXPECT_FALSE(registry.GrantOf(1).has_value());
  EXPECT_TRUE(registry.GrantOf(3).has_value());
  EXPECT_TRUE((registry.RemoveGrantsForChannel(10, 100, calls.Make())).empty());

  registry.SetGrant(5, {10, 102}, calls.Make());
  registry.SetGrant(6, {30, 300}, calls.Make());
  EXPECT_EQ(registry.RemoveGrantsForServer(10, calls.Make()), Ids({3, 5}));
  EXPECT_TRUE(registry.GrantOf(6).has_value());

  grant = registry.RemoveGrant(6, calls.Make());
  ASSERT_TRUE(grant.has_value());
  EXPECT_EQ(grant->server_id, 30);
  EXPECT_EQ(grant->channel_id, 300);
  EXPECT_FALSE(registry.RemoveGrant(6, calls.Make()).has_value());
  EXPECT_FALSE(registry.GrantOf(6).has_value());

  registry.Flush();
  EXPECT_EQ(calls.count(), 14);
  EXPECT_TRUE(calls.last_error().ok());
  EXPECT_EQ(QueryInt(path_, "SELECT count(*) FROM voice_grants"), 0);
}

TEST_F(RegistryTest, EverythingSurvivesAReopen) {
  {
    Registry& registry = Open();
    ASSERT_TRUE(registry.OpenSession("forever", 1, 0, nullptr).ok());
    ASSERT_TRUE(registry.OpenSession("later", 2, 5'000'000, nullptr).ok());
    ASSERT_TRUE(registry.OpenSession("past", 3, 10, nullptr).ok());
    ASSERT_TRUE(registry.OpenSession("closed", 4, 0, nullptr).ok());
    registry.CloseSession("closed", nullptr);
    ASSERT_TRUE(registry.SetMemberships(1, {10, 20, 30}, nullptr).ok());
    ASSERT_TRUE(registry.SetMemberships(2, {20}, nullptr).ok());
    EXPECT_TRUE(registry.AddMembership(3, 20, nullptr).ok());
    registry.RemoveMembership(1, 30, nullptr);
    EXPECT_TRUE(registry.AddMembership(4, 40, nullptr).ok());
    registry.DropServer(40, nullptr);
    registry.SetGrant(1, {10, 100}, nullptr);
    registry.SetGrant(2, {20, 200}, nullptr);
    registry.SetGrant(2, {20, 201}, nullptr);
    registry.SetGrant(3, {20, 202}, nullptr);
    registry.RemoveGrant(3, nullptr);
  }  // No Flush: destruction commits everything.
  registry_.reset();

  Registry& registry = Open();
  EXPECT_EQ(registry.session_count(), 3u);
  std::optional<SessionInfo> info = registry.LookupToken("forever", 0);
  ASSERT_TRUE(info.has_value());
  EXPECT_EQ(info->user_id, 1);
  EXPECT_EQ(info->expires_at_us, 0);
  info = registry.LookupToken("later", 4'999'999);
  ASSERT_TRUE(info.has_value());
  EXPECT_EQ(info->user_id, 2);
  EXPECT_EQ(info->expires_at_us, 5'000'000);
  EXPECT_FALSE(registry.LookupToken("later", 5'000'000).has_value());
  EXPECT_FALSE(registry.LookupToken("past", 11).has_value());
  EXPECT_FALSE(registry.LookupToken("closed", 0).has_value());
  // The expiry index is rebuilt too.
  std::vector<Registry::ExpiredSession> expired = registry.TakeExpired(11);
  ASSERT_EQ(expired.size(), 1u);
  EXPECT_EQ(expired[0].session_key, registry.SessionKey("past"));
  EXPECT_EQ(expired[0].user_id, 3);

  EXPECT_EQ(registry.ServersOf(1), Ids({10, 20}));
  EXPECT_EQ(registry.ServersOf(2), Ids({20}));
  EXPECT_EQ(registry.ServersOf(3), Ids({20}));
  EXPECT_TRUE((registry.ServersOf(4)).empty());
  EXPECT_EQ(registry.MembersOf(10), Ids({1}));
  EXPECT_EQ(registry.MembersOf(20), Ids({1, 2, 3}));
  EXPECT_TRUE((registry.MembersOf(30)).empty());
  EXPECT_TRUE((registry.MembersOf(40)).empty());

  ASSERT_TRUE(registry.GrantOf(1).has_value());
  EXPECT_EQ(registry.GrantOf(1)->channel_id, 100);
  ASSERT_TRUE(registry.GrantOf(2).has_value());
  EXPECT_EQ(registry.GrantOf(2)->server_id, 20);
  EXPECT_EQ(registry.GrantOf(2)->channel_id, 201);
  EXPECT_FALSE(registry.GrantOf(3).has_value());
  // The grant index is rebuilt too.
  EXPECT_EQ(registry.RemoveGrantsForServer(20, nullptr), Ids({2}));
}

TEST_F(RegistryTest, RejectsADirectory) {
  absl::StatusOr<std::unique_ptr<Registry>> registry = Registry::Open(dir_);
  ASSERT_FALSE(registry.ok());
  EXPECT_TRUE(
      Contains(registry.status().message(), "cannot open state file " + dir_))
      << registry.status().message();
}

TEST_F(RegistryTest, RejectsAMissingDirectory) {
  absl::StatusOr<std::unique_ptr<Registry>> registry =
      Registry::Open(dir_ + "/no/such/dir/state.db");
  ASSERT_FALSE(registry.ok());
  EXPECT_TRUE(Contains(registry.status().message(), "cannot open state file"))
      << registry.status().message();
}

TEST_F(RegistryTest, RejectsANonDatabaseFile) {
  {
    std::ofstream out(path_);
    for (int i = 0; i < 200; ++i) out << "this is not an SQLite database\n";
  }
  absl::StatusOr<std::unique_ptr<Registry>> registry = Registry::Open(path_);
  ASSERT_FALSE(registry.ok());
  EXPECT_TRUE(Contains(registry.status().message(),
                       path_ + " is not a herald state database"))
      << registry.status().message();
}

TEST_F(RegistryTest, RejectsAnotherApplicationsDatabase) {
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path_.c_str(), &db), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(db, "CREATE TABLE t(x)", nullptr, nullptr, nullptr),
            SQLITE_OK);
  sqlite3_close(db);
  absl::StatusOr<std::unique_ptr<Registry>> registry = Registry::Open(path_);
  ASSERT_FALSE(registry.ok());
  EXPECT_TRUE(Contains(registry.status().message(),
                       path_ + " is not a herald state database"))
      << registry.status().message();
}

TEST_F(RegistryTest, RejectsANewerSchema) {
  Open();
  registry_.reset();
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path_.c_str(), &db), SQLITE_OK);
  ASSERT_EQ(
      sqlite3_exec(db, "PRAGMA user_version=99", nullptr, nullptr, nullptr),
      SQLITE_OK);
  sqlite3_close(db);
  absl::StatusOr<std::unique_ptr<Registry>> registry = Registry::Open(path_);
  ASSERT_FALSE(registry.ok());
  EXPECT_TRUE(Contains(registry.status().message(), "schema version 99"))
      << registry.status().message();
}

TEST_F(RegistryTest, DoneRunsAfterTheCommit) {
  Registry& registry = Open();
  const std::string path = path_;
  std::optional<int64_t> sessions_seen;
  std::optional<int64_t> memberships_seen;
  std::optional<int64_t> grants_seen;
  ASSERT_TRUE(registry
                  .OpenSession("tok", 7, 0,
                               [&](absl::Status status) {
                                 EXPECT_TRUE(status.ok());
                                 sessions_seen = QueryInt(
                                     path, "SELECT user_id FROM sessions");
                               })
                  .ok());
  EXPECT_TRUE(registry
                  .AddMembership(7, 70,
                                 [&](absl::Status status) {
                                   memberships_seen = QueryInt(
                                       path,
                                       "SELECT count(*) FROM memberships "
                                       "WHERE server_id = 70");
                                 })
                  .ok());
  registry.SetGrant(7, {70, 700}, [&](absl::Status status) {
    grants_seen =
        QueryInt(path, "SELECT channel_id FROM voice_grants WHERE user_id = 7");
  });
  registry.Flush();
  EXPECT_EQ(sessions_seen, 7);
  EXPECT_EQ(memberships_seen, 1);
  EXPECT_EQ(grants_seen, 700);
}

TEST_F(RegistryTest, DoneRunsInOrderAndMayCallBack) {
  Registry& registry = Open();
  std::vector<int> order;  // only touched on the writer thread
  absl::Notification fourth_submitted;
  bool member_seen = false;
  ASSERT_TRUE(
      registry
          .OpenSession("tok", 1, 0, [&](absl::Status) { order.push_back(1); })
          .ok());
  // A change that changes nothing still waits for the ones before it.
  registry.CloseSession("absent", [&](absl::Status) { order.push_back(2); });
  auto third = registry.AddMembership(1, 10, [&](absl::Status) {
    order.push_back(3);
    fourth_submitted.WaitForNotification();  // keep 5 after 4
    // The registry's mutex is not held here, and Flush() does not deadlock.
    member_seen = registry_->IsMember(1, 10);
    EXPECT_TRUE(
        registry_
            ->AddMembership(1, 11, [&](absl::Status) { order.push_back(5); })
            .ok());
    registry_->Flush();
  });
  EXPECT_TRUE(third.ok());
  EXPECT_TRUE(
      registry.AddMembership(1, 10, [&](absl::Status) { order.push_back(4); })
          .ok());
  fourth_submitted.Notify();
  registry.Flush();
  registry.Flush();  // the change made by the callback
  EXPECT_EQ(order, (std::vector<int>{1, 2, 3, 4, 5}));
  EXPECT_TRUE(member_seen);
  EXPECT_TRUE(registry.IsMember(1, 11));
}

TEST(SqliteStoreTest, BoundedQueue) {
  std::string pattern =
      (std::filesystem::temp_directory_path() / "sqlite_store_test.XXXXXX")
          .string();
  ASSERT_NE(mkdtemp(pattern.data()), nullptr);
  const std::string path = pattern + "/state.db";
  {
    absl::StatusOr<std::unique_ptr<SqliteStore>> store =
        SqliteStore::Open(path, /*max_queued_ops=*/3);
    ASSERT_TRUE(store.ok()) << store.status();
    // Hold the writer inside a callback so that the queue fills up.
    absl::Notification entered;
    absl::Notification release;
    ASSERT_TRUE((*store)
                    ->Submit(SqliteStore::Noop{},
                             [&](absl::Status) {
                               entered.Notify();
                               release.WaitForNotification();
                             })
                    .ok());
    entered.WaitForNotification();
    std::atomic<int> done{0};
    auto count = [&](absl::Status status) {
      EXPECT_TRUE(status.ok()) << status;
      done.fetch_add(1);
    };
    for (int i = 0; i < 3; ++i) {
      EXPECT_TRUE(
          (*store)
              ->Submit(SqliteStore::PutSession{"t" + std::to_string(i), i, 0},
                       count)
              .ok());
    }
    bool called = false;
    absl::Status full = (*store)->Submit(SqliteStore::PutSession{"t3", 3, 0},
                                         [&](absl::Status) { called = true; });
    EXPECT_EQ(full.code(), absl::StatusCode::kResourceExhausted) << full;
    EXPECT_EQ((*store)->queued(), 3u);
    // Unbounded submissions are still accepted.
    (*store)->SubmitUnbounded(SqliteStore::PutSession{"t4", 4, 0}, count);
    release.Notify();
    (*store)->Flush();
    EXPECT_EQ(done.load(), 4);
    EXPECT_FALSE(called);
    absl::StatusOr<SqliteStore::Snapshot> snapshot = (*store)->Load();
    ASSERT_TRUE(snapshot.ok());
    EXPECT_EQ(snapshot->sessions.size(), 4u);
  }
  std::filesystem::remove_all(pattern);
}

// Several threads mutate at once; afterwards memory, and the file reopened,
// must agree.
TEST_F(RegistryTest, ConcurrentMutationsSurviveAReopen) {
  constexpr int kThreads = 6;
  constexpr int kOpsPerThread = 3000;
  constexpr int kUsers = 40;
  constexpr int kServers = 15;
  constexpr int kTokens = 120;
  Registry& registry = Open();
  std::atomic<int> callbacks{0};
  std::atomic<int> expected_callbacks{0};
  std::atomic<bool> errors{false};
  auto done = [&]() -> Registry::Done {
    expected_callbacks.fetch_add(1);
    return [&](absl::Status status) {
      if (!status.ok()) errors = true;
      callbacks.fetch_add(1);
    };
  };
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      std::mt19937 rng(1234 + t);
      auto pick = [&](int n) {
        return std::uniform_int_distribution<int>(0, n - 1)(rng);
      };
      for (int i = 0; i < kOpsPerThread; ++i) {
        const int64_t user = pick(kUsers);
        const int64_t server = pick(kServers);
        switch (pick(11)) {
          case 0:
            EXPECT_TRUE(registry
                            .OpenSession("t" + std::to_string(pick(kTokens)),
                                         user, pick(3) * 1000, done())
                            .ok());
            break;
          case 1:
            registry.CloseSession("t" + std::to_string(pick(kTokens)), done());
            break;
          case 2: {
            std::vector<int64_t> servers;
            for (int n = pick(5); n > 0; --n) servers.push_back(pick(kServers));
            EXPECT_TRUE(registry.SetMemberships(user, servers, done()).ok());
            break;
          }
          case 3:
          case 4:
            EXPECT_TRUE(registry.AddMembership(user, server, done()).ok());
            break;
          case 5:
            registry.RemoveMembership(user, server, done());
            break;
          case 6:
            if (pick(10) == 0) registry.DropServer(server, done());
            break;
          case 7:
            registry.SetGrant(user, {server, pick(3)}, done());
            break;
          case 8:
            registry.RemoveGrant(user, done());
            break;
          case 9:
            registry.RemoveGrantsForChannel(server, pick(3), done());
            break;
          case 10:
            if (pick(4) == 0)
              registry.RemoveGrantsForServer(server, done());
            else
              registry.TakeExpired(pick(2) * 1000);
            break;
        }
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  registry.Flush();
  EXPECT_EQ(callbacks.load(), expected_callbacks.load());
  EXPECT_FALSE(errors.load());

  // Internal consistency of both directions.
  for (int64_t user = 0; user < kUsers; ++user) {
    for (int64_t server : registry.ServersOf(user)) {
      std::vector<int64_t> members = registry.MembersOf(server);
      EXPECT_TRUE(std::binary_search(members.begin(), members.end(), user));
    }
  }

  struct State {
    size_t sessions = 0;
    std::map<std::string, std::pair<int64_t, int64_t>> tokens;
    std::map<int64_t, std::vector<int64_t>> servers_of, members_of;
    std::map<int64_t, std::pair<int64_t, int64_t>> grants;
    bool operator==(const State&) const = default;
  };
  auto capture = [&](Registry& r) {
    State state;
    state.sessions = r.session_count();
    for (int i = 0; i < kTokens; ++i) {
      const std::string token = "t" + std::to_string(i);
      if (auto info =
              r.LookupToken(token, std::numeric_limits<int64_t>::min())) {
        state.tokens[token] = {info->user_id, info->expires_at_us};
      }
    }
    for (int64_t user = 0; user < kUsers; ++user) {
      state.servers_of[user] = r.ServersOf(user);
      if (auto grant = r.GrantOf(user)) {
        state.grants[user] = {grant->server_id, grant->channel_id};
      }
    }
    for (int64_t server = 0; server < kServers; ++server) {
      state.members_of[server] = r.MembersOf(server);
    }
    return state;
  };
  const State before = capture(registry);
  EXPECT_EQ(before.tokens.size(), before.sessions);
  registry_.reset();
  const State after = capture(Open());
  EXPECT_TRUE(before == after);
  EXPECT_EQ(after.tokens.size(), before.tokens.size());
  EXPECT_EQ(after.grants.size(), before.grants.size());
}

}  // namespace
}  // namespace herald::service
