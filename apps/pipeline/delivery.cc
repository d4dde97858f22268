#include "pipeline/delivery.h"

#include <algorithm>

namespace edgeai::pipeline {

Dispatcher::Dispatcher(Outbox& outbox, std::vector<Action*> actions, DeliveryOptions options, OnDelivered on_delivered)
    : outbox_(outbox), actions_(std::move(actions)), opt_(options), on_delivered_(std::move(on_delivered)),
      states_(actions_.size()) {}

int64_t Dispatcher::inflight() const {
  int64_t n = 0;
  for (const auto& s : states_) n += (int64_t)s.inflight.size();
  return n;
}

void Dispatcher::fail(size_t i, double now, const std::string& error, int64_t from_id) {
  ActionStatus& s = states_[i];
  ++s.failures;
  ++s.retries;
  s.last_error = error;
  s.gate_until = now + backoff_delay(s.failures, opt_.initial_backoff_s, opt_.max_backoff_s);
  // Start again from the oldest row not known to be delivered.
  int64_t from = from_id;
  if (!s.inflight.empty()) from = std::min(from, s.inflight.begin()->first);
  s.cursor = std::min(s.cursor, from - 1);
  for (const auto& kv : s.inflight) pending_rows_.erase(kv.first);
  s.inflight.clear();
  actions_[i]->forget();
}

Status Dispatcher::step(double now, int64_t* work) {
  *work = 0;
  std::vector<int64_t>& done = done_;
  std::vector<OutboxRow>& done_rows = done_rows_;
  for (size_t i = 0; i < actions_.size(); ++i) {
    Action& a = *actions_[i];
    ActionStatus& s = states_[i];
    std::vector<int64_t> acked;
    bool lost = false;
    a.poll(acked, &lost);
    for (int64_t id : acked) {
      s.inflight.erase(id);
      done.push_back(id);
      auto it = pending_rows_.find(id);
      if (it != pending_rows_.end()) {
        done_rows.push_back(std::move(it->second));
        pending_rows_.erase(it);
      }
      ++s.delivered;
      s.failures = 0;
    }
    *work += (int64_t)acked.size();
    if (lost && !s.inflight.empty()) fail(i, now, "connection lost with rows in flight", INT64_MAX);
    if (!s.inflight.empty() && now - s.inflight.begin()->second > opt_.ack_timeout_s) {
      // inflight is ordered by row id, and rows are sent in id order: the first is the oldest.
      fail(i, now, "no acknowledgement within " + std::to_string(opt_.ack_timeout_s) + " s", INT64_MAX);
    }
    if (now < s.gate_until) continue;
    std::string why;
    if (!a.ready(&why)) {
      s.waiting = true;
      s.last_error = why;
      continue;
    }
    s.waiting = false;
    auto rows = outbox_.pending(a.name(), s.cursor, opt_.batch);
    if (!rows.ok()) return rows.status();
    for (OutboxRow& row : *rows) {
      if (s.inflight.count(row.id)) {
        s.cursor = row.id;
        continue;
      }
      if (!a.ready(&why)) break;
      std::string error;
      Attempt r = a.attempt(row, &error);
      ++*work;
      if (r == Attempt::kFailed) {
        (void)outbox_.count_attempt(row.id);
        fail(i, now, error, row.id);
        break;
      }
      s.cursor = row.id;
      if (r == Attempt::kDone) {
        ++s.delivered;
        s.failures = 0;
        done.push_back(row.id);
        done_rows.push_back(std::move(row));
      } else {
        s.inflight[row.id] = now;
        pending_rows_[row.id] = std::move(row);
      }
    }
  }
  if (done.empty() || (done.size() < opt_.flush_rows && now - last_flush_ < opt_.flush_interval_s)) return ok_status();
  last_flush_ = now;
  RETURN_IF_ERROR(outbox_.remove(done));
  if (on_delivered_) {
    for (const OutboxRow& r : done_rows) on_delivered_(r.action, r);
  }
  done.clear();
  done_rows.clear();
  return ok_status();
}

}  // namespace edgeai::pipeline
