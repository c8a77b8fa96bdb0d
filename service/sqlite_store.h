#pragma once

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <thread>
#include <variant>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/functional/any_invocable.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "push/histogram.h"
#include "service/token_hasher.h"

struct sqlite3;
struct sqlite3_stmt;

namespace herald::service {

// The durable half of the registry: one SQLite file (WAL mode,
// synchronous=NORMAL) holding sessions, memberships and voice grants.
//
// Privacy: the file and its -wal/-shm are created (or made) 0600, and
// sessions are stored by TokenHasher hash, never by token. The hash key is
// generated on first start and kept in the file's `secrets` table: it is as
// private as the hashes it keys (a second file could be lost or restored
// apart from the database, silently ending every session), and it still
// keeps tokens out of anything that copies the sessions table alone. A
// version 1 file (clear tokens) is migrated on open: tokens are hashed, the
// file is rebuilt (VACUUM) and its WAL truncated so no clear token remains
// in either.
//
// Threading: thread-safe. The sqlite3 connection is used by Open() and
// Load() on the caller's thread and otherwise only by the store's single
// writer thread (db_mu_ serializes the two). Submit*() may be called from any
// thread, including from a completion callback. The writer drains the queue
// in batches, commits each batch in one transaction (group commit) and then
// runs the batch's completion callbacks, in submission order, on the writer
// thread with no lock of the store held.
// Bounds (seconds) of the commit latency histogram.
inline constexpr std::array<double, 11> kCommitLatencyBounds = {
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 1};

class SqliteStore {
 public:
  using Done = absl::AnyInvocable<void(absl::Status) &&>;

  static constexpr size_t kDefaultMaxQueuedOps = 1'000'000;
  static constexpr int64_t kSchemaVersion = 2;

  // Typed mutations. Parameters are bound to prepared statements; no SQL is
  // ever built from them.
  struct PutSession {        // insert or replace
    std::string token_hash;  // TokenHasher::Hash of the token
    int64_t user_id = 0;
    int64_t expires_at_us = 0;
  };
  struct DeleteSessions {
    std::vector<std::string> token_hashes;
  };
  struct ChangeMemberships {  // of one user
    int64_t user_id = 0;
    std::vector<int64_t> add_server_ids;
    std::vector<int64_t> remove_server_ids;
  };
  struct DropServer {  // every membership of the server
    int64_t server_id = 0;
  };
  struct PutGrant {  // insert or replace
    int64_t user_id = 0;
    int64_t server_id = 0;
    int64_t channel_id = 0;
  };
  struct DeleteGrants {
    std::vector<int64_t> user_ids;
  };
  // Changes nothing; its callback runs once everything queued before it is
  // committed.
  struct Noop {};
  using Op = std::variant<Noop, PutSession, DeleteSessions, ChangeMemberships,
                          DropServer, PutGrant, DeleteGrants>;

  // Everything in the file, as read by Load().
  struct StoredSession {
    std::string token_hash;
    int64_t user_id = 0;
    int64_t expires_at_us = 0;
  };
  struct StoredMembership {
    int64_t user_id = 0;
    int64_t server_id = 0;
  };
  struct StoredGrant {
    int64_t user_id = 0;
    int64_t server_id = 0;
    int64_t channel_id = 0;
  };
  struct Snapshot {
    std::vector<StoredSession> sessions;
    std::vector<StoredMembership> memberships;
    std::vector<StoredGrant> grants;
  };

  // Opens (creating it and its schema if missing) the state file at `path`
  // and starts the writer thread. FAILED_PRECONDITION with "cannot open state
  // file <path>: ..." or "<path> is not a herald state database..." when the
  // file is unusable.
  static absl::StatusOr<std::unique_ptr<SqliteStore>> Open(
      const std::string& path, size_t max_queued_ops = kDefaultMaxQueuedOps);

  SqliteStore(const SqliteStore&) = delete;
  SqliteStore& operator=(const SqliteStore&) = delete;

  // Flushes everything queued, then stops and joins the writer thread.
  ~SqliteStore();

  // Reads the whole file. Meant for start-up, before anything is submitted
  // (it would otherwise see only what is committed so far).
  absl::StatusOr<Snapshot> Load();

  // Queues `op`; `done` (may be null) runs on the writer thread with the
  // status of the commit that contains it. RESOURCE_EXHAUSTED, without
  // queuing (and `done` is destroyed uncalled), when max_queued_ops are
  // already waiting.
  absl::Status Submit(Op op, Done done);

  // Like Submit(), but ignores the bound: for changes that are already
  // visible in memory and cannot be refused any more (dropping them would
  // make the file disagree with memory; blocking could deadlock a caller
  // whose locks a completion callback needs).
  void SubmitUnbounded(Op op, Done done);

  // Blocks until everything submitted before the call is committed and its
  // callbacks have run. Called on the writer thread (from a callback) it
  // returns at once: it cannot wait for itself.
  void Flush();

  // Ops queued and not yet handed to the writer.
  size_t queued() const;
  // Seconds each transaction took (BEGIN .. COMMIT of one batch).
  push::HistogramSnapshot commit_latency() const {
    return commit_latency_.Read();
  }

  // False while the latest transaction failed (a full disk, a file gone
  // read-only) or the write queue is full: what /readyz reports.
  bool writable() const {
    return last_commit_ok_.load(std::memory_order_relaxed) &&
           queued() < max_queued_ops_;
  }

  // Hashes tokens with this file's key.
  const TokenHasher& hasher() const { return *hasher_; }

 private:
  struct DbCloser {
    void operator()(sqlite3* db) const;
  };
  struct StmtFinalizer {
    void operator()(sqlite3_stmt* stmt) const;
  };
  using Stmt = std::unique_ptr<sqlite3_stmt, StmtFinalizer>;

  struct Pending {
    Op op;
    Done done;
  };

  SqliteStore(std::string path, size_t max_queued_ops);

  absl::Status Init() ABSL_EXCLUSIVE_LOCKS_REQUIRED(db_mu_);
  // Creates the current schema and a fresh key in an empty file.
  absl::Status CreateSchema() ABSL_EXCLUSIVE_LOCKS_REQUIRED(db_mu_);
  // Version 1 -> 2: hashes the clear tokens, then rebuilds the file.
  absl::Status MigrateFromV1() ABSL_EXCLUSIVE_LOCKS_REQUIRED(db_mu_);
  absl::Status InTransaction(absl::Status (SqliteStore::*body)())
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(db_mu_);
  absl::Status CreateV2Tables() ABSL_EXCLUSIVE_LOCKS_REQUIRED(db_mu_);
  absl::Status HashV1Sessions() ABSL_EXCLUSIVE_LOCKS_REQUIRED(db_mu_);
  absl::Status LoadKey() ABSL_EXCLUSIVE_LOCKS_REQUIRED(db_mu_);
  absl::Status Prepare(const char* sql, Stmt* stmt)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(db_mu_);
  absl::Status Exec(const char* sql) ABSL_EXCLUSIVE_LOCKS_REQUIRED(db_mu_);
  absl::Status Step(sqlite3_stmt* stmt, const char* what)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(db_mu_);
  absl::Status QueryInt(const char* sql, int64_t* value)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(db_mu_);
  absl::Status Apply(const Op& op) ABSL_EXCLUSIVE_LOCKS_REQUIRED(db_mu_);
  absl::Status ApplyInTransaction(const Pending* first, const Pending* last)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(db_mu_);
  absl::Status Error(int rc, const std::string& what)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(db_mu_);

  void Enqueue(Op op, Done done) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void WriterLoop();
  void WriteBatch(std::vector<Pending>& batch);
  // A failed commit: one registry_error record (rate-limited).
  void LogWriteError(const absl::Status& status, size_t ops);

  const std::string path_;
  const size_t max_queued_ops_;
  std::unique_ptr<TokenHasher> hasher_;  // set by Init(), then immutable
  std::string new_key_ ABSL_GUARDED_BY(db_mu_);  // being stored by Init()

  mutable absl::Mutex db_mu_ ABSL_ACQUIRED_AFTER(mu_);
  std::unique_ptr<sqlite3, DbCloser> db_ ABSL_GUARDED_BY(db_mu_);
  Stmt begin_ ABSL_GUARDED_BY(db_mu_);
  Stmt commit_ ABSL_GUARDED_BY(db_mu_);
  Stmt rollback_ ABSL_GUARDED_BY(db_mu_);
  Stmt put_session_ ABSL_GUARDED_BY(db_mu_);
  Stmt delete_session_ ABSL_GUARDED_BY(db_mu_);
  Stmt add_membership_ ABSL_GUARDED_BY(db_mu_);
  Stmt remove_membership_ ABSL_GUARDED_BY(db_mu_);
  Stmt drop_server_ ABSL_GUARDED_BY(db_mu_);
  Stmt put_grant_ ABSL_GUARDED_BY(db_mu_);
  Stmt delete_grant_ ABSL_GUARDED_BY(db_mu_);

  mutable absl::Mutex mu_;
  std::deque<Pending> queue_ ABSL_GUARDED_BY(mu_);
  uint64_t submitted_ ABSL_GUARDED_BY(mu_) = 0;  // ops ever queued
  uint64_t completed_ ABSL_GUARDED_BY(mu_) = 0;  // committed, callbacks run
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;

  push::Histogram commit_latency_{kCommitLatencyBounds};  // writer thread
  std::atomic<bool> last_commit_ok_{true};
  std::thread writer_;  // set in Open(), before anything is submitted
};

}  // namespace herald::service
