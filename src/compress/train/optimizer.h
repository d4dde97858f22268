// Optimizers (SGD with momentum, Adam, AdamW) and learning-rate schedules.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/tensor.h"
#include "edgeai/status.h"

namespace edgeai::compress::train {

enum class OptimizerKind { kSgd, kAdam, kAdamW };

struct OptimizerOptions {
  OptimizerKind kind = OptimizerKind::kAdam;
  float momentum = 0.9f;      // SGD
  bool nesterov = false;      // SGD
  float beta1 = 0.9f, beta2 = 0.999f, eps = 1e-8f;  // Adam
  float weight_decay = 0.0f;  // L2 added to the gradient (SGD, Adam) or decoupled (AdamW)
};

Result<OptimizerKind> parse_optimizer(const std::string& name);  // "sgd", "adam", "adamw"

class Optimizer {
 public:
  explicit Optimizer(const OptimizerOptions& o) : o_(o) {}
  // One update of every parameter from its gradient at learning rate `lr`.
  Status step(std::vector<Tensor>& params, const std::vector<Tensor>& grads, float lr);

 private:
  OptimizerOptions o_;
  std::vector<std::vector<float>> m_, v_;
  int64_t t_ = 0;
};

enum class ScheduleKind { kConstant, kStep, kCosine, kLinear };

struct LrSchedule {
  ScheduleKind kind = ScheduleKind::kCosine;
  float base_lr = 1e-3f;
  float min_lr = 0.0f;        // cosine and linear end here
  int64_t total_steps = 1;    // cosine, linear
  int64_t warmup_steps = 0;   // linear warm-up from 0 before the schedule
  int64_t step_size = 1000;   // step: multiply by gamma every step_size steps
  float gamma = 0.1f;

  float at(int64_t step) const;
};

Result<ScheduleKind> parse_schedule(const std::string& name);  // "constant", "step", "cosine", "linear"

}  // namespace edgeai::compress::train
