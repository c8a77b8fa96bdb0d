#include "service/sqlite_store.h"

#include <fcntl.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <utility>

#include "absl/strings/str_cat.h"
#include "push/log.h"

namespace herald::service {
namespace {

// PRAGMA application_id of a herald state file: "HRLD".
constexpr int64_t kApplicationId = 0x48524C44;
constexpr int kBusyTimeoutMs = 5000;
// Ops per transaction. Large enough to amortize the commit, small enough
// that callbacks (and Flush) make progress during a long burst.
constexpr size_t kMaxBatchOps = 8192;

// The name of the token hash key in the secrets table.
constexpr char kTokenKeyName[] = "token_hmac_sha256_key";

// Tables whose layout is the same in every schema version.
constexpr char kCreateSchema[] = R"sql(
CREATE TABLE IF NOT EXISTS memberships(
  user_id INTEGER NOT NULL,
  server_id INTEGER NOT NULL,
  PRIMARY KEY(user_id, server_id)) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS memberships_by_server
  ON memberships(server_id, user_id);
CREATE TABLE IF NOT EXISTS voice_grants(
  user_id INTEGER PRIMARY KEY,
  server_id INTEGER NOT NULL,
  channel_id INTEGER NOT NULL);
)sql";

// Added by schema version 2: sessions by token hash, and the hash key.
constexpr char kCreateV2Tables[] = R"sql(
CREATE TABLE sessions(
  token_hash BLOB PRIMARY KEY NOT NULL,
  user_id INTEGER NOT NULL,
  expires_at_us INTEGER NOT NULL DEFAULT 0) WITHOUT ROWID;
CREATE TABLE secrets(
  name TEXT PRIMARY KEY NOT NULL,
  value BLOB NOT NULL);
)sql";

absl::Status CannotOpen(const std::string& path, const std::string& why) {
  return absl::FailedPreconditionError(
      absl::StrCat("cannot open state file ", path, ": ", why));
}

absl::Status NotHerald(const std::string& path, const std::string& why) {
  return absl::FailedPreconditionError(
      absl::StrCat(path, " is not a herald state database: ", why));
}

absl::StatusCode CodeFor(int rc) {
  switch (rc & 0xff) {
    case SQLITE_FULL:
    case SQLITE_NOMEM:
      return absl::StatusCode::kResourceExhausted;
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      return absl::StatusCode::kUnavailable;
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
      return absl::StatusCode::kDataLoss;
    case SQLITE_READONLY:
    case SQLITE_PERM:
    case SQLITE_CANTOPEN:
      return absl::StatusCode::kFailedPrecondition;
    default:
      return absl::StatusCode::kInternal;
  }
}

int BindBlob(sqlite3_stmt* stmt, int index, const std::string& bytes) {
  return sqlite3_bind_blob(stmt, index, bytes.data(),
                           static_cast<int>(bytes.size()), SQLITE_STATIC);
}

std::string ColumnBytes(sqlite3_stmt* stmt, int column) {
  const void* data = sqlite3_column_blob(stmt, column);
  const int size = sqlite3_column_bytes(stmt, column);
  if (data == nullptr || size <= 0) return {};
  return std::string(static_cast<const char*>(data), static_cast<size_t>(size));
}

// Creates `path` 0600 if missing, and takes group and other access away
// from it and its -wal/-shm if they have it (files of an older herald).
// SQLite gives the -wal and -shm it creates the database file's mode. A
// file that cannot be opened for writing is left to SQLite to report.
absl::Status MakePrivate(const std::string& path) {
  const int fd = open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) return absl::OkStatus();
  struct stat st;
  int failed = 0;
  if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && (st.st_mode & 077) != 0) {
    failed = fchmod(fd, 0600) == 0 ? 0 : errno;
  }
  close(fd);
  for (const char* suffix : {"-wal", "-shm"}) {
    const std::string side = path + suffix;
    if (failed == 0 && stat(side.c_str(), &st) == 0 &&
        (st.st_mode & 077) != 0 && chmod(side.c_str(), 0600) != 0) {
      failed = errno;
    }
  }
  if (failed != 0) {
    return CannotOpen(path, absl::StrCat("cannot make it private (mode 0600): ",
                                         std::strerror(failed)));
  }
  return absl::OkStatus();
}

}  // namespace

void SqliteStore::DbCloser::operator()(sqlite3* db) const {
  sqlite3_close_v2(db);
}

void SqliteStore::StmtFinalizer::operator()(sqlite3_stmt* stmt) const {
  sqlite3_finalize(stmt);
}

SqliteStore::SqliteStore(std::string path, size_t max_queued_ops)
    : path_(std::move(path)), max_queued_ops_(max_queued_ops) {}

absl::StatusOr<std::unique_ptr<SqliteStore>> SqliteStore::Open(
    const std::string& path, size_t max_queued_ops) {
  if (absl::Status status = MakePrivate(path); !status.ok()) return status;
  std::unique_ptr<SqliteStore> store(new SqliteStore(path, max_queued_ops));
  {
    absl::MutexLock lock(&store->db_mu_);
    sqlite3* db = nullptr;
    const int rc = sqlite3_open_v2(
        path.c_str(), &db,
        SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
        nullptr);
    store->db_.reset(db);  // closed on every path, even a failed open
    if (rc != SQLITE_OK) {
      return CannotOpen(
          path, db != nullptr ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
    }
    if (absl::Status status = store->Init(); !status.ok()) return status;
  }
  SqliteStore* raw = store.get();
  store->writer_ = std::thread([raw] { raw->WriterLoop(); });
  return store;
}

SqliteStore::~SqliteStore() {
  if (!writer_.joinable()) return;  // Open() failed before starting it
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;  // the writer drains the queue before it exits
  }
  writer_.join();
}

absl::Status SqliteStore::Init() {
  sqlite3* db = db_.get();
  sqlite3_extended_result_codes(db, 1);
  sqlite3_busy_timeout(db, kBusyTimeoutMs);

  // The first reads tell an unusable file apart from a herald one.
  int64_t application_id = 0;
  int64_t user_version = 0;
  int64_t objects = 0;
  absl::Status status = QueryInt("PRAGMA application_id", &application_id);
  if (status.ok()) status = QueryInt("PRAGMA user_version", &user_version);
  if (status.ok()) {
    status = QueryInt("SELECT count(*) FROM sqlite_master", &objects);
  }
  if (!status.ok()) {
    if ((sqlite3_errcode(db) & 0xff) == SQLITE_NOTADB) {
      return NotHerald(path_, sqlite3_errmsg(db));
    }
    return CannotOpen(path_, sqlite3_errmsg(db));
  }
  if (sqlite3_db_readonly(db, "main") == 1) {
    return CannotOpen(path_, "the file is read-only");
  }

  const bool fresh = application_id == 0 && user_version == 0 && objects == 0;
  if (!fresh) {
    if (application_id != kApplicationId) {
      return NotHerald(path_, "it holds other data");
    }
    if (user_version > kSchemaVersion) {
      return absl::FailedPreconditionError(
          absl::StrCat(path_, " has schema version ", user_version,
                       "; this herald understands up to ", kSchemaVersion));
    }
    if (user_version < 1) return NotHerald(path_, "it has no schema version");
  }

  // WAL must be chosen outside a transaction. Some file systems cannot do
  // WAL; SQLite then keeps a rollback journal, which is slower but safe.
  status = Exec("PRAGMA journal_mode=WAL");
  if (status.ok()) status = Exec("PRAGMA synchronous=NORMAL");
  if (!status.ok()) return CannotOpen(path_, sqlite3_errmsg(db));

  if (fresh) {
    status = InTransaction(&SqliteStore::CreateSchema);
  } else if (user_version == 1) {
    status = MigrateFromV1();
  }
  if (status.ok()) status = LoadKey();
  if (!status.ok()) return status;

  struct {
    const char* sql;
    Stmt* stmt;
  } const statements[] = {
      {"BEGIN IMMEDIATE", &begin_},
      {"COMMIT", &commit_},
      {"ROLLBACK", &rollback_},
      {"INSERT OR REPLACE INTO sessions(token_hash, user_id, expires_at_us) "
       "VALUES(?1, ?2, ?3)",
       &put_session_},
      {"DELETE FROM sessions WHERE token_hash = ?1", &delete_session_},
      {"INSERT OR IGNORE INTO memberships(user_id, server_id) VALUES(?1, ?2)",
       &add_membership_},
      {"DELETE FROM memberships WHERE user_id = ?1 AND server_id = ?2",
       &remove_membership_},
      {"DELETE FROM memberships WHERE server_id = ?1", &drop_server_},
      {"INSERT OR REPLACE INTO voice_grants(user_id, server_id, channel_id) "
       "VALUES(?1, ?2, ?3)",
       &put_grant_},
      {"DELETE FROM voice_grants WHERE user_id = ?1", &delete_grant_},
  };
  for (const auto& [sql, stmt] : statements) {
    status = Prepare(sql, stmt);
    if (!status.ok()) return NotHerald(path_, sqlite3_errmsg(db));
  }
  return absl::OkStatus();
}

absl::Status SqliteStore::InTransaction(absl::Status (SqliteStore::*body)()) {
  absl::Status status = Exec("BEGIN IMMEDIATE");
  if (status.ok()) status = (this->*body)();
  if (status.ok()) {
    status = Exec(absl::StrCat("PRAGMA user_version=", kSchemaVersion).c_str());
  }
  if (status.ok()) status = Exec("COMMIT");
  if (!status.ok()) {
    const std::string why =
        absl::StrCat("writing the schema: ", sqlite3_errmsg(db_.get()));
    if (sqlite3_get_autocommit(db_.get()) == 0) Exec("ROLLBACK").IgnoreError();
    return CannotOpen(path_, why);
  }
  return absl::OkStatus();
}

absl::Status SqliteStore::CreateSchema() {
  absl::Status status = Exec(kCreateSchema);
  if (status.ok()) status = CreateV2Tables();
  if (status.ok()) {
    status =
        Exec(absl::StrCat("PRAGMA application_id=", kApplicationId).c_str());
  }
  return status;
}

absl::Status SqliteStore::CreateV2Tables() {
  new_key_ = TokenHasher::NewKey();
  if (new_key_.empty()) {
    return absl::InternalError("the random generator failed");
  }
  absl::Status status = Exec(kCreateV2Tables);
  Stmt insert;
  if (status.ok()) {
    status =
        Prepare("INSERT INTO secrets(name, value) VALUES(?1, ?2)", &insert);
  }
  if (!status.ok()) return status;
  if (const int rc =
          sqlite3_bind_text(insert.get(), 1, kTokenKeyName, -1, SQLITE_STATIC);
      rc != SQLITE_OK) {
    return Error(rc, "binding the token key");
  }
  if (const int rc = BindBlob(insert.get(), 2, new_key_); rc != SQLITE_OK) {
    return Error(rc, "binding the token key");
  }
  return Step(insert.get(), "storing the token key");
}

absl::Status SqliteStore::HashV1Sessions() {
  absl::Status status = Exec("ALTER TABLE sessions RENAME TO sessions_v1");
  if (status.ok()) status = CreateV2Tables();
  if (!status.ok()) return status;
  const TokenHasher hasher(new_key_);
  Stmt read, write;
  status =
      Prepare("SELECT token, user_id, expires_at_us FROM sessions_v1", &read);
  if (status.ok()) {
    status = Prepare(
        "INSERT OR REPLACE INTO sessions(token_hash, user_id, expires_at_us) "
        "VALUES(?1, ?2, ?3)",
        &write);
  }
  if (!status.ok()) return status;
  int rc;
  while ((rc = sqlite3_step(read.get())) == SQLITE_ROW) {
    const std::string hash = hasher.Hash(ColumnBytes(read.get(), 0));
    if ((rc = BindBlob(write.get(), 1, hash)) != SQLITE_OK ||
        (rc = sqlite3_bind_int64(write.get(), 2,
                                 sqlite3_column_int64(read.get(), 1))) !=
            SQLITE_OK ||
        (rc = sqlite3_bind_int64(write.get(), 3,
                                 sqlite3_column_int64(read.get(), 2))) !=
            SQLITE_OK) {
      return Error(rc, "binding a migrated session");
    }
    status = Step(write.get(), "writing a migrated session");
    if (!status.ok()) return status;
  }
  if (rc != SQLITE_DONE) return Error(rc, "reading version 1 sessions");
  read.reset();
  return Exec("DROP TABLE sessions_v1");
}

absl::Status SqliteStore::MigrateFromV1() {
  absl::Status status = InTransaction(&SqliteStore::HashV1Sessions);
  if (!status.ok()) return status;
  // The clear tokens are still in the file's free pages and maybe in the
  // WAL: rebuild the file, then move everything out of the WAL and empty it.
  status = Exec("VACUUM");
  if (status.ok()) status = Exec("PRAGMA wal_checkpoint(TRUNCATE)");
  if (!status.ok()) {
    return CannotOpen(path_, absl::StrCat("erasing the clear tokens: ",
                                          sqlite3_errmsg(db_.get())));
  }
  return absl::OkStatus();
}

absl::Status SqliteStore::LoadKey() {
  Stmt stmt;
  absl::Status status =
      Prepare("SELECT value FROM secrets WHERE name = ?1", &stmt);
  if (!status.ok()) return NotHerald(path_, sqlite3_errmsg(db_.get()));
  sqlite3_bind_text(stmt.get(), 1, kTokenKeyName, -1, SQLITE_STATIC);
  std::string key;
  if (sqlite3_step(stmt.get()) == SQLITE_ROW) key = ColumnBytes(stmt.get(), 0);
  if (key.size() != TokenHasher::kKeyBytes) {
    return NotHerald(path_, "its token key is missing or malformed");
  }
  hasher_ = std::make_unique<TokenHasher>(std::move(key));
  new_key_.clear();
  return absl::OkStatus();
}

absl::Status SqliteStore::Prepare(const char* sql, Stmt* stmt) {
  sqlite3_stmt* raw = nullptr;
  const int rc = sqlite3_prepare_v3(db_.get(), sql, -1,
                                    SQLITE_PREPARE_PERSISTENT, &raw, nullptr);
  stmt->reset(raw);
  if (rc != SQLITE_OK) return Error(rc, absl::StrCat("preparing ", sql));
  return absl::OkStatus();
}

absl::Status SqliteStore::Exec(const char* sql) {
  const int rc = sqlite3_exec(db_.get(), sql, nullptr, nullptr, nullptr);
  if (rc != SQLITE_OK) return Error(rc, "executing a statement");
  return absl::OkStatus();
}

absl::Status SqliteStore::QueryInt(const char* sql, int64_t* value) {
  Stmt stmt;
  if (absl::Status status = Prepare(sql, &stmt); !status.ok()) return status;
  const int rc = sqlite3_step(stmt.get());
  if (rc != SQLITE_ROW) return Error(rc, sql);
  *value = sqlite3_column_int64(stmt.get(), 0);
  return absl::OkStatus();
}

absl::Status SqliteStore::Step(sqlite3_stmt* stmt, const char* what) {
  const int rc = sqlite3_step(stmt);
  absl::Status status = absl::OkStatus();
  if (rc != SQLITE_DONE && rc != SQLITE_ROW) status = Error(rc, what);
  sqlite3_reset(stmt);
  return status;
}

absl::Status SqliteStore::Error(int rc, const std::string& what) {
  return absl::Status(CodeFor(rc),
                      absl::StrCat("state file ", path_, ": ", what, ": ",
                                   sqlite3_errmsg(db_.get()), " (", rc, ")"));
}

absl::StatusOr<SqliteStore::Snapshot> SqliteStore::Load() {
  absl::MutexLock lock(&db_mu_);
  Snapshot snapshot;
  Stmt stmt;
  absl::Status status =
      Prepare("SELECT token_hash, user_id, expires_at_us FROM sessions", &stmt);
  if (!status.ok()) return status;
  int rc;
  while ((rc = sqlite3_step(stmt.get())) == SQLITE_ROW) {
    snapshot.sessions.push_back({ColumnBytes(stmt.get(), 0),
                                 sqlite3_column_int64(stmt.get(), 1),
                                 sqlite3_column_int64(stmt.get(), 2)});
  }
  if (rc != SQLITE_DONE) return Error(rc, "reading sessions");

  status = Prepare("SELECT user_id, server_id FROM memberships", &stmt);
  if (!status.ok()) return status;
  while ((rc = sqlite3_step(stmt.get())) == SQLITE_ROW) {
    snapshot.memberships.push_back({sqlite3_column_int64(stmt.get(), 0),
                                    sqlite3_column_int64(stmt.get(), 1)});
  }
  if (rc != SQLITE_DONE) return Error(rc, "reading memberships");

  status =
      Prepare("SELECT user_id, server_id, channel_id FROM voice_grants", &stmt);
  if (!status.ok()) return status;
  while ((rc = sqlite3_step(stmt.get())) == SQLITE_ROW) {
    snapshot.grants.push_back({sqlite3_column_int64(stmt.get(), 0),
                               sqlite3_column_int64(stmt.get(), 1),
                               sqlite3_column_int64(stmt.get(), 2)});
  }
  if (rc != SQLITE_DONE) return Error(rc, "reading voice grants");
  return snapshot;
}

absl::Status SqliteStore::Submit(Op op, Done done) {
  {
    absl::MutexLock lock(&mu_);
    if (queue_.size() < max_queued_ops_) {
      Enqueue(std::move(op), std::move(done));
      return absl::OkStatus();
    }
  }
  // `op` and `done` are destroyed here, outside the lock.
  return absl::ResourceExhaustedError(absl::StrCat(
      "state file write queue is full (", max_queued_ops_, " changes)"));
}

void SqliteStore::SubmitUnbounded(Op op, Done done) {
  absl::MutexLock lock(&mu_);
  Enqueue(std::move(op), std::move(done));
}

void SqliteStore::Enqueue(Op op, Done done) {
  queue_.push_back(Pending{std::move(op), std::move(done)});
  ++submitted_;
}

void SqliteStore::Flush() {
  if (std::this_thread::get_id() == writer_.get_id()) return;
  absl::MutexLock lock(&mu_);
  const uint64_t target = submitted_;
  auto reached = [this, target]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return completed_ >= target;
  };
  mu_.Await(absl::Condition(&reached));
}

size_t SqliteStore::queued() const {
  absl::MutexLock lock(&mu_);
  return queue_.size();
}

void SqliteStore::WriterLoop() {
  std::vector<Pending> batch;
  for (;;) {
    {
      absl::MutexLock lock(&mu_);
      auto ready = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
        return !queue_.empty() || stopping_;
      };
      mu_.Await(absl::Condition(&ready));
      if (queue_.empty()) return;  // stopping, and everything is written
      const size_t n = std::min(queue_.size(), kMaxBatchOps);
      batch.reserve(n);
      for (size_t i = 0; i < n; ++i) {
        batch.push_back(std::move(queue_.front()));
        queue_.pop_front();
      }
    }
    WriteBatch(batch);
    {
      absl::MutexLock lock(&mu_);
      completed_ += batch.size();
    }
    batch.clear();
  }
}

void SqliteStore::LogWriteError(const absl::Status& status, size_t ops) {
  if (!LogAllowed(LogKind::kRegistryError)) return;
  Log(LogLevel::kError, "registry_error",
      {{"state", path_},
       {"error", status.message()},
       {"ops", ops},
       {"note", "the batch is retried one change at a time"}});
}

void SqliteStore::WriteBatch(std::vector<Pending>& batch) {
  FlushSuppressedLogs();  // this writer thread's, once a second
  std::vector<absl::Status> statuses(batch.size());
  {
    absl::MutexLock lock(&db_mu_);
    const bool writes =
        std::any_of(batch.begin(), batch.end(), [](const Pending& pending) {
          return !std::holds_alternative<Noop>(pending.op);
        });
    if (writes) {
      const auto start = std::chrono::steady_clock::now();
      const Pending* first = batch.data();
      const absl::Status status =
          ApplyInTransaction(first, first + batch.size());
      last_commit_ok_.store(status.ok(), std::memory_order_relaxed);
      if (!status.ok()) {
        LogWriteError(status, batch.size());
        if (batch.size() == 1) {
          statuses[0] = status;
        } else {
          // Retry one op per transaction so that one failing change does not
          // take its whole batch down with it.
          for (size_t i = 0; i < batch.size(); ++i) {
            statuses[i] = ApplyInTransaction(first + i, first + i + 1);
          }
        }
      }
      commit_latency_.Observe(std::chrono::duration<double>(
                                  std::chrono::steady_clock::now() - start)
                                  .count());
    }
  }
  for (size_t i = 0; i < batch.size(); ++i) {
    if (batch[i].done) std::move(batch[i].done)(std::move(statuses[i]));
  }
}

absl::Status SqliteStore::ApplyInTransaction(const Pending* first,
                                             const Pending* last) {
  if (std::all_of(first, last, [](const Pending& pending) {
        return std::holds_alternative<Noop>(pending.op);
      })) {
    return absl::OkStatus();
  }
  absl::Status status = Step(begin_.get(), "beginning a transaction");
  for (const Pending* pending = first; status.ok() && pending != last;
       ++pending) {
    status = Apply(pending->op);
  }
  if (status.ok()) status = Step(commit_.get(), "committing");
  if (!status.ok() && sqlite3_get_autocommit(db_.get()) == 0) {
    Step(rollback_.get(), "rolling back").IgnoreError();
  }
  return status;
}

absl::Status SqliteStore::Apply(const Op& op) {
  int rc = SQLITE_OK;
  if (const auto* put = std::get_if<PutSession>(&op)) {
    sqlite3_stmt* stmt = put_session_.get();
    if ((rc = BindBlob(stmt, 1, put->token_hash)) != SQLITE_OK ||
        (rc = sqlite3_bind_int64(stmt, 2, put->user_id)) != SQLITE_OK ||
        (rc = sqlite3_bind_int64(stmt, 3, put->expires_at_us)) != SQLITE_OK) {
      return Error(rc, "binding a session");
    }
    return Step(stmt, "writing a session");
  }
  if (const auto* del = std::get_if<DeleteSessions>(&op)) {
    sqlite3_stmt* stmt = delete_session_.get();
    for (const std::string& hash : del->token_hashes) {
      if ((rc = BindBlob(stmt, 1, hash)) != SQLITE_OK) {
        return Error(rc, "binding a session");
      }
      if (absl::Status status = Step(stmt, "deleting a session");
          !status.ok()) {
        return status;
      }
    }
    return absl::OkStatus();
  }
  if (const auto* change = std::get_if<ChangeMemberships>(&op)) {
    for (const auto& [stmt, server_ids] :
         {std::pair(remove_membership_.get(), &change->remove_server_ids),
          std::pair(add_membership_.get(), &change->add_server_ids)}) {
      for (int64_t server_id : *server_ids) {
        if ((rc = sqlite3_bind_int64(stmt, 1, change->user_id)) != SQLITE_OK ||
            (rc = sqlite3_bind_int64(stmt, 2, server_id)) != SQLITE_OK) {
          return Error(rc, "binding a membership");
        }
        if (absl::Status status = Step(stmt, "writing a membership");
            !status.ok()) {
          return status;
        }
      }
    }
    return absl::OkStatus();
  }
  if (const auto* drop = std::get_if<DropServer>(&op)) {
    sqlite3_stmt* stmt = drop_server_.get();
    if ((rc = sqlite3_bind_int64(stmt, 1, drop->server_id)) != SQLITE_OK) {
      return Error(rc, "binding a server");
    }
    return Step(stmt, "dropping a server's memberships");
  }
  if (const auto* put = std::get_if<PutGrant>(&op)) {
    sqlite3_stmt* stmt = put_grant_.get();
    if ((rc = sqlite3_bind_int64(stmt, 1, put->user_id)) != SQLITE_OK ||
        (rc = sqlite3_bind_int64(stmt, 2, put->server_id)) != SQLITE_OK ||
        (rc = sqlite3_bind_int64(stmt, 3, put->channel_id)) != SQLITE_OK) {
      return Error(rc, "binding a voice grant");
    }
    return Step(stmt, "writing a voice grant");
  }
  if (const auto* del = std::get_if<DeleteGrants>(&op)) {
    sqlite3_stmt* stmt = delete_grant_.get();
    for (int64_t user_id : del->user_ids) {
      if ((rc = sqlite3_bind_int64(stmt, 1, user_id)) != SQLITE_OK) {
        return Error(rc, "binding a voice grant");
      }
      if (absl::Status status = Step(stmt, "deleting a voice grant");
          !status.ok()) {
        return status;
      }
    }
    return absl::OkStatus();
  }
  return absl::OkStatus();  // Noop
}

}  // namespace herald::service
