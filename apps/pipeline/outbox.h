// The durable outbox: every action an event calls for is a row in an SQLite database (WAL mode)
// before anything is attempted, and is deleted only once the action succeeded. Source progress
// (a file's read offset, a record count) is written in the same transaction as the rows those
// records produced, so after a kill -9 the pipeline resumes exactly after the last committed
// record: nothing is lost, and what was delivered but not yet deleted is delivered again with the
// same event id (at-least-once).
//
// Bound: at most max_rows rows. When full, the policy says what gives:
//   drop_oldest — the oldest row is deleted for each new one, and counter 'dropped' (kept in the
//                 database) counts them;
//   block       — the sources stop reading until delivery makes room (MQTT messages then wait in
//                 the broker's session queue, files on disk).
//
// synchronous=NORMAL (the default here) survives the process being killed at any point; FULL
// (sync: full) also survives power loss, at one fsync per commit.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "edgeai/status.h"

struct sqlite3;
struct sqlite3_stmt;

namespace edgeai::pipeline {

enum class FullPolicy { kDropOldest, kBlock };

struct OutboxOptions {
  std::string path;
  int64_t max_rows = 100000;
  FullPolicy policy = FullPolicy::kDropOldest;
  bool sync_full = false;
};

struct OutboxRow {
  int64_t id = 0;
  std::string action;
  std::string event_id;
  std::string payload;
  int64_t created_us = 0;  // wall clock when the event was read
  int64_t attempts = 0;
};

struct SourceProgress {
  int64_t offset = 0;  // bytes, rows or samples, as the source counts
  int64_t seq = 0;     // records read so far
};

class Outbox {
 public:
  static Result<std::unique_ptr<Outbox>> open(const OutboxOptions& options);
  ~Outbox();
  Outbox(const Outbox&) = delete;
  Outbox& operator=(const Outbox&) = delete;

  // One transaction: add rows and progress, then commit (or nothing of it is kept).
  Status begin();
  Status add(const std::string& action, const std::string& event_id, const std::string& payload, int64_t created_us);
  Status set_progress(const std::string& source, const SourceProgress& p);
  Status commit();
  Status rollback();

  std::optional<SourceProgress> progress(const std::string& source);
  // Up to `limit` rows of one action with id > after_id, oldest first.
  Result<std::vector<OutboxRow>> pending(const std::string& action, int64_t after_id, int limit);
  // Delivered rows (one transaction).
  Status remove(std::span<const int64_t> ids);
  Status count_attempt(int64_t id);
  // The actions that have rows (to warn about rows of actions no longer configured).
  std::vector<std::string> actions_with_rows();

  int64_t depth() const { return depth_; }
  int64_t dropped() const { return dropped_; }
  bool full() const { return depth_ >= opt_.max_rows; }
  const OutboxOptions& options() const { return opt_; }

 private:
  explicit Outbox(OutboxOptions o) : opt_(std::move(o)) {}
  Status exec(const char* sql);
  Status prepare(sqlite3_stmt** st, const char* sql);
  Status error(const std::string& what);
  OutboxOptions opt_;
  sqlite3* db_ = nullptr;
  sqlite3_stmt *insert_ = nullptr, *delete_ = nullptr, *select_ = nullptr, *progress_set_ = nullptr,
               *progress_get_ = nullptr, *oldest_ = nullptr, *attempt_ = nullptr, *counter_set_ = nullptr;
  int64_t depth_ = 0, dropped_ = 0;
  bool in_txn_ = false;
};

// Delay before retry `attempt` (1-based): initial * 2^(attempt-1), at most max_s.
double backoff_delay(int64_t attempt, double initial_s, double max_s);

}  // namespace edgeai::pipeline
