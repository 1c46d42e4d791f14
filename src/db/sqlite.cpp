#include "db/sqlite.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "db/database.h"

namespace lockhound::db {

// Version 1. Any change to these tables is a new kSchemaVersion and a section in
// docs/database.md; Connection::check_schema refuses every other version.
const char kSchemaSql[] = R"sql(
CREATE TABLE runs(
  id INTEGER PRIMARY KEY,
  source TEXT NOT NULL,
  program TEXT NOT NULL,
  arguments TEXT NOT NULL,
  pid INTEGER NOT NULL,
  time TEXT NOT NULL,
  cwd TEXT NOT NULL,
  git_commit TEXT NOT NULL,
  host TEXT NOT NULL
);
CREATE TABLE classes(
  id INTEGER PRIMARY KEY,
  key TEXT NOT NULL UNIQUE,
  name TEXT NOT NULL,
  kind TEXT NOT NULL,
  run INTEGER REFERENCES runs(id)
);
CREATE TABLE usage(
  class INTEGER NOT NULL REFERENCES classes(id),
  run INTEGER NOT NULL REFERENCES runs(id),
  bits INTEGER NOT NULL,
  PRIMARY KEY(class, run)
) WITHOUT ROWID;
CREATE TABLE edges(
  id INTEGER PRIMARY KEY,
  from_class INTEGER NOT NULL REFERENCES classes(id),
  to_class INTEGER NOT NULL REFERENCES classes(id),
  UNIQUE(from_class, to_class)
);
CREATE TABLE edge_runs(
  edge INTEGER NOT NULL REFERENCES edges(id),
  run INTEGER NOT NULL REFERENCES runs(id),
  from_mode INTEGER NOT NULL,
  to_mode INTEGER NOT NULL,
  irq INTEGER NOT NULL,
  gates TEXT NOT NULL,
  evidence TEXT NOT NULL,
  UNIQUE(edge, run)
);
CREATE INDEX edge_runs_by_run ON edge_runs(run);
CREATE TABLE findings(
  id INTEGER PRIMARY KEY,
  run INTEGER NOT NULL REFERENCES runs(id),
  signature TEXT NOT NULL,
  type TEXT NOT NULL,
  count INTEGER NOT NULL,
  finding TEXT NOT NULL
);
CREATE INDEX findings_by_signature ON findings(signature);
CREATE INDEX findings_by_run ON findings(run);
)sql";

Statement::Statement(sqlite3* db, std::string_view sql) {
  if (sqlite3_prepare_v2(db, sql.data(), int(sql.size()), &st_, nullptr) != SQLITE_OK) st_ = nullptr;
}
Statement::~Statement() { sqlite3_finalize(st_); }
Statement& Statement::bind(int i, int64_t v) {
  sqlite3_bind_int64(st_, i, v);
  return *this;
}
Statement& Statement::bind(int i, std::string_view v) {
  sqlite3_bind_text(st_, i, v.data(), int(v.size()), SQLITE_TRANSIENT);
  return *this;
}
int Statement::step() { return st_ ? sqlite3_step(st_) : SQLITE_MISUSE; }
void Statement::reset() {
  sqlite3_reset(st_);
  sqlite3_clear_bindings(st_);
}
std::string Statement::text(int col) const { return std::string(view(col)); }
std::string_view Statement::view(int col) const {
  const unsigned char* p = sqlite3_column_text(st_, col);
  return p ? std::string_view(reinterpret_cast<const char*>(p), size_t(sqlite3_column_bytes(st_, col)))
           : std::string_view();
}

Connection::~Connection() { sqlite3_close_v2(db_); }

std::string Connection::open_write(const std::string& path, int busy_timeout_ms) {
  path_ = path;
  struct stat st {};
  if (::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) return path + ": is a directory, not a database file";
  if (sqlite3_open_v2(path.c_str(), &db_, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                      nullptr) != SQLITE_OK)
    return path + ": cannot open: " + error();
  sqlite3_busy_timeout(db_, busy_timeout_ms);
  sqlite3_extended_result_codes(db_, 1);
  return "";
}

std::string Connection::open_read(const std::string& path) {
  path_ = path;
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return path + ": cannot open: " + std::strerror(errno);
  if (S_ISDIR(st.st_mode)) return path + ": is a directory, not a database file";
  // Read-write, not read-only: a reader of a WAL database may have to replay the journal of a
  // writer that died, and nothing here writes.
  int flags = (::access(path.c_str(), W_OK) == 0 ? SQLITE_OPEN_READWRITE : SQLITE_OPEN_READONLY) | SQLITE_OPEN_NOMUTEX;
  if (sqlite3_open_v2(path.c_str(), &db_, flags, nullptr) != SQLITE_OK) return path + ": cannot open: " + error();
  sqlite3_busy_timeout(db_, 30000);
  bool fresh = false;
  std::string why = check_schema(fresh);
  if (!why.empty()) return why;
  if (fresh)
    return path + ": not a lockhound database (an empty file); expected a lock-order database of schema version " +
           std::to_string(kSchemaVersion) + " (docs/database.md), written by LOCKHOUND_DB=FILE or --db FILE";
  return "";
}

bool Connection::exec(const char* sql) { return sqlite3_exec(db_, sql, nullptr, nullptr, nullptr) == SQLITE_OK; }

std::string Connection::check_schema(bool& fresh) {
  fresh = false;
  const std::string expected = "; expected a lockhound lock-order database of schema version " +
                               std::to_string(kSchemaVersion) + " (docs/database.md)";
  // One statement, so one snapshot: read apart, a writer creating the schema in between would
  // make a half-made database of another program.
  int64_t app = 0, version = 0, objects = 0;
  Statement s(db_, "SELECT (SELECT application_id FROM pragma_application_id), "
                   "(SELECT user_version FROM pragma_user_version), (SELECT count(*) FROM sqlite_master)");
  if (s.step() == SQLITE_ROW) {
    app = s.i64(0);
    version = s.i64(1);
    objects = s.i64(2);
  } else {
    int code = error_code() & 0xff;
    if (code == SQLITE_NOTADB) return path_ + ": not a lockhound database (not an SQLite file)" + expected;
    if (code == SQLITE_BUSY || code == SQLITE_LOCKED) return path_ + ": busy: other processes held it too long";
    return path_ + ": cannot read: " + error();
  }
  if (app == 0 && version == 0 && objects == 0) {
    fresh = true;
    return "";
  }
  if (app != kApplicationId) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "application_id 0x%08llx", static_cast<unsigned long long>(uint32_t(app)));
    return path_ + ": not a lockhound database (an SQLite database of another program: " + buf + ", " +
           std::to_string(objects) + " schema objects)" + expected;
  }
  if (version > kSchemaVersion)
    return path_ + ": written by a newer lockhound (schema version " + std::to_string(version) +
           "; this lockhound reads version " + std::to_string(kSchemaVersion) + "): use that lockhound or a newer one";
  if (version < kSchemaVersion)
    return path_ + ": schema version " + std::to_string(version) + " is older than this lockhound reads (version " +
           std::to_string(kSchemaVersion) + ") and has no migration: record the runs again into a new file";
  return "";
}

}  // namespace lockhound::db
