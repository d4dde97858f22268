// Actions: what a pipeline does with each event that leaves its last stage. Each attempt reads one
// outbox row (the event as JSON); an action says whether it is done now, pending (an MQTT publish
// waits for its PUBACK), or failed (then the dispatcher backs off and tries again).
//
//   mqtt    — publish with QoS 1 (topic may hold {{field}}); done when the broker acknowledges
//   file    — append one JSON line (flushed; fsync: true also syncs)
//   command — run `sh -c COMMAND` with the event JSON on stdin; done when it exits 0 in time
//   http    — POST the event JSON to a loopback URL (127.0.0.1, ::1, localhost); done on 2xx
//   log     — one line on stdout (format: a {{field}} template; default the JSON)
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "edgeai/status.h"
#include "pipeline/config.h"
#include "pipeline/mqtt.h"
#include "pipeline/outbox.h"

namespace edgeai::pipeline {

enum class Attempt { kDone, kPending, kFailed };

class Action {
 public:
  explicit Action(std::string name) : name_(std::move(name)) {}
  virtual ~Action() = default;
  Action(const Action&) = delete;
  Action& operator=(const Action&) = delete;

  virtual Attempt attempt(const OutboxRow& row, std::string* error) = 0;
  // Rows acknowledged since the last call (for kPending attempts); *lost is set when attempts in
  // flight may never be acknowledged (the connection dropped).
  virtual void poll(std::vector<int64_t>& acked, bool* lost) {}
  // Whether it can take another attempt now (connected, room in its in-flight window).
  virtual bool ready(std::string* why) { return true; }
  // The dispatcher gave up on what is in flight (it will send those rows again).
  virtual void forget() {}
  const std::string& name() const { return name_; }

 private:
  std::string name_;
};

Result<std::unique_ptr<Action>> make_action(const Config& cfg, const YAML::Node& node, int index,
                                            const std::string& pipeline_name);

}  // namespace edgeai::pipeline
