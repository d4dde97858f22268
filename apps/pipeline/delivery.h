// Delivery: reads outbox rows in order, per action, and attempts them. A row is deleted only once
// its action succeeded. A failure (an error, a lost connection, an acknowledgement that does not
// come within ack_timeout) backs that action off — initial_backoff * 2^(failures-1), at most
// max_backoff — and then retries from its oldest undelivered row, so order is kept and nothing is
// skipped; other actions go on meanwhile. Retried rows keep their event id.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "pipeline/actions.h"
#include "pipeline/outbox.h"

namespace edgeai::pipeline {

struct DeliveryOptions {
  double initial_backoff_s = 0.2;
  double max_backoff_s = 10.0;
  double ack_timeout_s = 10.0;
  int batch = 512;  // rows read per action per step
  // Delivered rows are deleted in one transaction per flush_interval (or every flush_rows rows),
  // not per step: fewer commits at high rates, at the cost of a few more duplicates after a crash.
  double flush_interval_s = 0.005;
  size_t flush_rows = 1024;
};

struct ActionStatus {
  int64_t cursor = 0;        // last row id handed to the action
  double gate_until = 0;     // no attempts before this time (backoff)
  int64_t failures = 0;      // consecutive
  int64_t delivered = 0;
  int64_t retries = 0;       // failed attempts in all
  std::string last_error;
  bool waiting = false;      // not ready (e.g. not connected); last_error says why
  std::map<int64_t, double> inflight;  // row id -> time sent
};

class Dispatcher {
 public:
  using OnDelivered = std::function<void(const std::string& action, const OutboxRow& row)>;
  Dispatcher(Outbox& outbox, std::vector<Action*> actions, DeliveryOptions options, OnDelivered on_delivered = nullptr);

  // One pass over the actions at time `now` (monotonic seconds); *work counts rows attempted or
  // acknowledged (0: nothing to do now).
  Status step(double now, int64_t* work);
  const ActionStatus& status(size_t i) const { return states_[i]; }
  size_t size() const { return actions_.size(); }
  // Rows handed over and not yet acknowledged, all actions.
  int64_t inflight() const;

 private:
  void fail(size_t i, double now, const std::string& error, int64_t from_id);
  Outbox& outbox_;
  std::vector<Action*> actions_;
  DeliveryOptions opt_;
  OnDelivered on_delivered_;
  std::vector<ActionStatus> states_;
  std::map<int64_t, OutboxRow> pending_rows_;  // rows in flight, for on_delivered
  std::vector<int64_t> done_;                   // delivered, not yet deleted
  std::vector<OutboxRow> done_rows_;
  double last_flush_ = -1e18;
};

}  // namespace edgeai::pipeline
