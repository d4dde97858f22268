// Pipeline stages: each takes one event and gives zero or more. The computations here are small
// (framing, normalization, moving average, hysteresis, a rolling z-score); model inference goes
// through runtime::Session and text generation through the llm API (model_stages.cc).
//
// Which number a scalar stage reads: `input: value` (the default) is the event's first value;
// any other name is a numeric field set by an earlier stage (score, prob, mean, ...).
#pragma once

#include <deque>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "core/env.h"
#include "edgeai/status.h"
#include "pipeline/config.h"
#include "pipeline/event.h"

namespace edgeai::pipeline {

class Stage {
 public:
  explicit Stage(std::string name) : name_(std::move(name)) {}
  virtual ~Stage() = default;
  Stage(const Stage&) = delete;
  Stage& operator=(const Stage&) = delete;
  // Appends what `e` gives to `out`. An error drops this event only (the pipeline counts it).
  virtual Status process(Event e, std::vector<Event>& out) = 0;
  const std::string& name() const { return name_; }

 private:
  std::string name_;
};

// Reads the stage's `type` and builds it; errors carry the config line.
Result<std::unique_ptr<Stage>> make_stage(const Config& cfg, const YAML::Node& node, int index, Env& env);

// The scalar a stage reads: values[0] for "value", else the numeric field.
Result<double> event_scalar(const Event& e, const std::string& input);

// --- the stages themselves, exposed for tests ---

// Frames of `size` records (each record is one frame of values; audio chunks of n samples are n
// frames of one value), one window every `hop` frames. Windows are kept per source.
class WindowStage : public Stage {
 public:
  WindowStage(std::string name, int64_t size, int64_t hop) : Stage(std::move(name)), size_(size), hop_(hop) {}
  Status process(Event e, std::vector<Event>& out) override;

 private:
  struct Buffer {
    std::deque<float> data;
    int64_t frame_len = -1;
    int64_t skip = 0;  // frames still to drop when hop > size
    int64_t emitted = 0;
  };
  int64_t size_, hop_;
  std::map<std::string, Buffer> buffers_;
};

// zscore: (x - mean) / std; minmax: (x - min) / (max - min); scale: x * scale + offset. The
// per-channel lists apply along the last dimension (element i uses entry i % list size).
class NormalizeStage : public Stage {
 public:
  NormalizeStage(std::string name, std::vector<double> mul, std::vector<double> add)
      : Stage(std::move(name)), mul_(std::move(mul)), add_(std::move(add)) {}
  Status process(Event e, std::vector<Event>& out) override;

 private:
  std::vector<double> mul_, add_;  // y = x * mul + add
};

// Element-wise mean of the last n events' values (fewer at the start); sets field `mean` to the
// average of the first value.
class MovingAverageStage : public Stage {
 public:
  MovingAverageStage(std::string name, int64_t n) : Stage(std::move(name)), n_(n) {}
  Status process(Event e, std::vector<Event>& out) override;

 private:
  int64_t n_;
  std::deque<std::vector<float>> history_;
  std::vector<double> sum_;
};

// Switches on after `min_on` consecutive inputs >= on, off after `min_off` consecutive inputs
// < off (on >= off gives the dead band). Emits only the changes (or every event with emit: all),
// with fields state (bool) and event (on_event / off_event text).
class HysteresisStage : public Stage {
 public:
  struct Params {
    std::string input = "value";
    double on = 0.5, off = 0.35;
    int64_t min_on = 1, min_off = 1;
    bool emit_all = false;
    std::string on_event = "on", off_event = "off";
  };
  HysteresisStage(std::string name, Params p) : Stage(std::move(name)), p_(std::move(p)) {}
  Status process(Event e, std::vector<Event>& out) override;
  bool state() const { return on_; }

 private:
  Params p_;
  bool on_ = false;
  int64_t run_ = 0;
};

// Rolling z-score: score = |x - mean| / std over the previous n inputs (population std, at least
// 1e-9); anomaly = score > threshold once min_history inputs have been seen (score 0 before).
class AnomalyStage : public Stage {
 public:
  AnomalyStage(std::string name, std::string input, int64_t n, double threshold, int64_t min_history)
      : Stage(std::move(name)), input_(std::move(input)), n_(n), threshold_(threshold), min_history_(min_history) {}
  Status process(Event e, std::vector<Event>& out) override;

 private:
  std::string input_;
  int64_t n_;
  double threshold_;
  int64_t min_history_;
  std::deque<double> history_;
};

// Sets field `above` (input >= value); with drop: true, events below are dropped.
class ThresholdStage : public Stage {
 public:
  ThresholdStage(std::string name, std::string input, double value, bool drop)
      : Stage(std::move(name)), input_(std::move(input)), value_(value), drop_(drop) {}
  Status process(Event e, std::vector<Event>& out) override;

 private:
  std::string input_;
  double value_;
  bool drop_;
};

// index, label (labels[index] when given) and score (softmax probability with softmax: true).
class ArgmaxStage : public Stage {
 public:
  ArgmaxStage(std::string name, std::vector<std::string> labels, bool softmax)
      : Stage(std::move(name)), labels_(std::move(labels)), softmax_(softmax) {}
  Status process(Event e, std::vector<Event>& out) override;

 private:
  std::vector<std::string> labels_;
  bool softmax_;
};

// Keeps events whose field is true (or equal to `equals`).
class FilterStage : public Stage {
 public:
  FilterStage(std::string name, std::string field, nlohmann::json equals)
      : Stage(std::move(name)), field_(std::move(field)), equals_(std::move(equals)) {}
  Status process(Event e, std::vector<Event>& out) override;

 private:
  std::string field_;
  nlohmann::json equals_;
};

// Defined in model_stages.cc.
Result<std::unique_ptr<Stage>> make_model_stage(const Config& cfg, const YAML::Node& node, const std::string& name,
                                                Env& env);
Result<std::unique_ptr<Stage>> make_llm_stage(const Config& cfg, const YAML::Node& node, const std::string& name);

}  // namespace edgeai::pipeline
