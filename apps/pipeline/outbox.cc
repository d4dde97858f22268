#include "pipeline/outbox.h"

#include <sqlite3.h>

#include <cmath>

namespace edgeai::pipeline {

double backoff_delay(int64_t attempt, double initial_s, double max_s) {
  if (attempt < 1) attempt = 1;
  double d = initial_s * std::pow(2.0, static_cast<double>(std::min<int64_t>(attempt - 1, 60)));
  return std::min(d, max_s);
}

Status Outbox::error(const std::string& what) {
  return io_error(opt_.path + ": " + what + ": " + (db_ ? sqlite3_errmsg(db_) : "cannot open"));
}

Status Outbox::exec(const char* sql) {
  char* msg = nullptr;
  if (sqlite3_exec(db_, sql, nullptr, nullptr, &msg) != SQLITE_OK) {
    std::string m = msg ? msg : "error";
    sqlite3_free(msg);
    return io_error(opt_.path + ": " + m + " (in: " + sql + ")");
  }
  return ok_status();
}

Status Outbox::prepare(sqlite3_stmt** st, const char* sql) {
  if (sqlite3_prepare_v2(db_, sql, -1, st, nullptr) != SQLITE_OK) return error(std::string("prepare ") + sql);
  return ok_status();
}

Result<std::unique_ptr<Outbox>> Outbox::open(const OutboxOptions& options) {
  if (options.max_rows <= 0) return invalid_argument("outbox max_rows must be positive");
  std::unique_ptr<Outbox> o(new Outbox(options));
  if (sqlite3_open_v2(options.path.c_str(), &o->db_, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                      nullptr) != SQLITE_OK) {
    return o->error("cannot open the outbox database");
  }
  sqlite3_busy_timeout(o->db_, 5000);
  RETURN_IF_ERROR(o->exec("PRAGMA journal_mode=WAL"));
  RETURN_IF_ERROR(o->exec(options.sync_full ? "PRAGMA synchronous=FULL" : "PRAGMA synchronous=NORMAL"));
  RETURN_IF_ERROR(o->exec(
      "CREATE TABLE IF NOT EXISTS outbox(id INTEGER PRIMARY KEY AUTOINCREMENT, action TEXT NOT NULL, "
      "event_id TEXT NOT NULL, payload TEXT NOT NULL, created_us INTEGER NOT NULL, attempts INTEGER NOT NULL DEFAULT 0);"
      "CREATE INDEX IF NOT EXISTS outbox_action ON outbox(action, id);"
      "CREATE TABLE IF NOT EXISTS progress(source TEXT PRIMARY KEY, offset INTEGER NOT NULL, seq INTEGER NOT NULL);"
      "CREATE TABLE IF NOT EXISTS counters(name TEXT PRIMARY KEY, value INTEGER NOT NULL);"));
  RETURN_IF_ERROR(o->prepare(&o->insert_,
                             "INSERT INTO outbox(action, event_id, payload, created_us) VALUES(?1, ?2, ?3, ?4)"));
  RETURN_IF_ERROR(o->prepare(&o->delete_, "DELETE FROM outbox WHERE id = ?1"));
  RETURN_IF_ERROR(o->prepare(&o->select_,
                             "SELECT id, event_id, payload, created_us, attempts FROM outbox WHERE action = ?1 AND "
                             "id > ?2 ORDER BY id LIMIT ?3"));
  RETURN_IF_ERROR(o->prepare(&o->progress_set_,
                             "INSERT INTO progress(source, offset, seq) VALUES(?1, ?2, ?3) ON CONFLICT(source) DO "
                             "UPDATE SET offset = excluded.offset, seq = excluded.seq"));
  RETURN_IF_ERROR(o->prepare(&o->progress_get_, "SELECT offset, seq FROM progress WHERE source = ?1"));
  RETURN_IF_ERROR(o->prepare(&o->oldest_, "DELETE FROM outbox WHERE id = (SELECT MIN(id) FROM outbox)"));
  RETURN_IF_ERROR(o->prepare(&o->attempt_, "UPDATE outbox SET attempts = attempts + 1 WHERE id = ?1"));
  RETURN_IF_ERROR(o->prepare(&o->counter_set_,
                             "INSERT INTO counters(name, value) VALUES(?1, ?2) ON CONFLICT(name) DO UPDATE SET "
                             "value = excluded.value"));
  sqlite3_stmt* q = nullptr;
  RETURN_IF_ERROR(o->prepare(&q, "SELECT COUNT(*) FROM outbox"));
  if (sqlite3_step(q) == SQLITE_ROW) o->depth_ = sqlite3_column_int64(q, 0);
  sqlite3_finalize(q);
  RETURN_IF_ERROR(o->prepare(&q, "SELECT value FROM counters WHERE name = 'dropped'"));
  if (sqlite3_step(q) == SQLITE_ROW) o->dropped_ = sqlite3_column_int64(q, 0);
  sqlite3_finalize(q);
  return o;
}

Outbox::~Outbox() {
  if (in_txn_) (void)rollback();
  for (sqlite3_stmt* s : {insert_, delete_, select_, progress_set_, progress_get_, oldest_, attempt_, counter_set_}) {
    sqlite3_finalize(s);
  }
  sqlite3_close(db_);
}

Status Outbox::begin() {
  if (in_txn_) return ok_status();
  RETURN_IF_ERROR(exec("BEGIN IMMEDIATE"));
  in_txn_ = true;
  return ok_status();
}

Status Outbox::commit() {
  if (!in_txn_) return ok_status();
  in_txn_ = false;
  return exec("COMMIT");
}

Status Outbox::rollback() {
  if (!in_txn_) return ok_status();
  in_txn_ = false;
  Status st = exec("ROLLBACK");
  // Recount: the rolled-back rows are gone.
  sqlite3_stmt* q = nullptr;
  if (sqlite3_prepare_v2(db_, "SELECT COUNT(*) FROM outbox", -1, &q, nullptr) == SQLITE_OK &&
      sqlite3_step(q) == SQLITE_ROW) {
    depth_ = sqlite3_column_int64(q, 0);
  }
  sqlite3_finalize(q);
  return st;
}

Status Outbox::add(const std::string& action, const std::string& event_id, const std::string& payload,
                   int64_t created_us) {
  if (depth_ >= opt_.max_rows && opt_.policy == FullPolicy::kDropOldest) {
    sqlite3_reset(oldest_);
    if (sqlite3_step(oldest_) != SQLITE_DONE) return error("drop the oldest row");
    if (sqlite3_changes(db_) > 0) {
      --depth_;
      ++dropped_;
      sqlite3_reset(counter_set_);
      sqlite3_bind_text(counter_set_, 1, "dropped", -1, SQLITE_STATIC);
      sqlite3_bind_int64(counter_set_, 2, dropped_);
      if (sqlite3_step(counter_set_) != SQLITE_DONE) return error("count a dropped row");
    }
  }
  sqlite3_reset(insert_);
  sqlite3_bind_text(insert_, 1, action.data(), (int)action.size(), SQLITE_STATIC);
  sqlite3_bind_text(insert_, 2, event_id.data(), (int)event_id.size(), SQLITE_STATIC);
  sqlite3_bind_text(insert_, 3, payload.data(), (int)payload.size(), SQLITE_STATIC);
  sqlite3_bind_int64(insert_, 4, created_us);
  if (sqlite3_step(insert_) != SQLITE_DONE) return error("insert into the outbox");
  ++depth_;
  return ok_status();
}

Status Outbox::set_progress(const std::string& source, const SourceProgress& p) {
  sqlite3_reset(progress_set_);
  sqlite3_bind_text(progress_set_, 1, source.data(), (int)source.size(), SQLITE_STATIC);
  sqlite3_bind_int64(progress_set_, 2, p.offset);
  sqlite3_bind_int64(progress_set_, 3, p.seq);
  if (sqlite3_step(progress_set_) != SQLITE_DONE) return error("record the progress of source '" + source + "'");
  return ok_status();
}

std::optional<SourceProgress> Outbox::progress(const std::string& source) {
  sqlite3_reset(progress_get_);
  sqlite3_bind_text(progress_get_, 1, source.data(), (int)source.size(), SQLITE_TRANSIENT);
  if (sqlite3_step(progress_get_) != SQLITE_ROW) return std::nullopt;
  SourceProgress p{sqlite3_column_int64(progress_get_, 0), sqlite3_column_int64(progress_get_, 1)};
  sqlite3_reset(progress_get_);
  return p;
}

Result<std::vector<OutboxRow>> Outbox::pending(const std::string& action, int64_t after_id, int limit) {
  std::vector<OutboxRow> rows;
  sqlite3_reset(select_);
  sqlite3_bind_text(select_, 1, action.data(), (int)action.size(), SQLITE_TRANSIENT);
  sqlite3_bind_int64(select_, 2, after_id);
  sqlite3_bind_int(select_, 3, limit);
  int rc;
  while ((rc = sqlite3_step(select_)) == SQLITE_ROW) {
    OutboxRow r;
    r.id = sqlite3_column_int64(select_, 0);
    r.action = action;
    r.event_id = reinterpret_cast<const char*>(sqlite3_column_text(select_, 1));
    r.payload.assign(reinterpret_cast<const char*>(sqlite3_column_text(select_, 2)), sqlite3_column_bytes(select_, 2));
    r.created_us = sqlite3_column_int64(select_, 3);
    r.attempts = sqlite3_column_int64(select_, 4);
    rows.push_back(std::move(r));
  }
  sqlite3_reset(select_);
  if (rc != SQLITE_DONE) return error("read the outbox");
  return rows;
}

Status Outbox::remove(std::span<const int64_t> ids) {
  if (ids.empty()) return ok_status();
  bool own = !in_txn_;
  if (own) RETURN_IF_ERROR(begin());
  for (int64_t id : ids) {
    sqlite3_reset(delete_);
    sqlite3_bind_int64(delete_, 1, id);
    if (sqlite3_step(delete_) != SQLITE_DONE) {
      Status st = error("delete a delivered row");
      if (own) (void)rollback();
      return st;
    }
    depth_ -= sqlite3_changes(db_);
  }
  return own ? commit() : ok_status();
}

Status Outbox::count_attempt(int64_t id) {
  sqlite3_reset(attempt_);
  sqlite3_bind_int64(attempt_, 1, id);
  if (sqlite3_step(attempt_) != SQLITE_DONE) return error("count an attempt");
  return ok_status();
}

std::vector<std::string> Outbox::actions_with_rows() {
  std::vector<std::string> out;
  sqlite3_stmt* q = nullptr;
  if (sqlite3_prepare_v2(db_, "SELECT DISTINCT action FROM outbox", -1, &q, nullptr) != SQLITE_OK) return out;
  while (sqlite3_step(q) == SQLITE_ROW) out.emplace_back(reinterpret_cast<const char*>(sqlite3_column_text(q, 0)));
  sqlite3_finalize(q);
  return out;
}

}  // namespace edgeai::pipeline
