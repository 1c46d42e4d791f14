// A thin RAII layer over SQLite's C API for the database code (internal to src/db): a connection
// that checks the file is a lockhound database of this schema, and statements that bind and step.
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <string>
#include <string_view>

namespace lockhound::db {

class Statement {
 public:
  Statement(sqlite3* db, std::string_view sql);
  ~Statement();
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;
  bool ok() const { return st_ != nullptr; }
  Statement& bind(int i, int64_t v);
  Statement& bind(int i, std::string_view v);
  // SQLITE_ROW, SQLITE_DONE or an error code.
  int step();
  void reset();
  int64_t i64(int col) const { return sqlite3_column_int64(st_, col); }
  bool null(int col) const { return sqlite3_column_type(st_, col) == SQLITE_NULL; }
  std::string text(int col) const;
  std::string_view view(int col) const;

 private:
  sqlite3_stmt* st_ = nullptr;
};

class Connection {
 public:
  Connection() = default;
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;
  // Opens `path` for writing (created when missing) or reading; "" or the reason, prefixed with
  // the file's name.
  std::string open_write(const std::string& path, int busy_timeout_ms);
  std::string open_read(const std::string& path);
  sqlite3* get() const { return db_; }
  // Runs SQL that returns no rows; false and error() on failure.
  bool exec(const char* sql);
  std::string error() const { return db_ ? sqlite3_errmsg(db_) : "out of memory"; }
  int error_code() const { return db_ ? sqlite3_errcode(db_) : SQLITE_NOMEM; }
  // "" when the file is a lockhound database of this schema (fresh: no schema yet, and so empty),
  // else why not, naming the file and what was expected.
  std::string check_schema(bool& fresh);
  const std::string& path() const { return path_; }

 private:
  sqlite3* db_ = nullptr;
  std::string path_;
};

// The schema (docs/database.md): tables and indexes, created in one transaction.
extern const char kSchemaSql[];

}  // namespace lockhound::db
