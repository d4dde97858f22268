#include "compress/train/optimizer.h"

#include <cmath>

namespace edgeai::compress::train {

Result<OptimizerKind> parse_optimizer(const std::string& name) {
  if (name == "sgd") return OptimizerKind::kSgd;
  if (name == "adam") return OptimizerKind::kAdam;
  if (name == "adamw") return OptimizerKind::kAdamW;
  return invalid_argument("unknown optimizer '" + name + "' (sgd, adam, adamw)");
}

Result<ScheduleKind> parse_schedule(const std::string& name) {
  if (name == "constant") return ScheduleKind::kConstant;
  if (name == "step") return ScheduleKind::kStep;
  if (name == "cosine") return ScheduleKind::kCosine;
  if (name == "linear") return ScheduleKind::kLinear;
  return invalid_argument("unknown learning-rate schedule '" + name + "' (constant, step, cosine, linear)");
}

Status Optimizer::step(std::vector<Tensor>& params, const std::vector<Tensor>& grads, float lr) {
  if (params.size() != grads.size()) return internal_error("optimizer: parameters and gradients differ in count");
  if (m_.empty()) {
    m_.resize(params.size());
    v_.resize(params.size());
    for (size_t i = 0; i < params.size(); ++i) {
      m_[i].assign(static_cast<size_t>(params[i].numel()), 0.0f);
      if (o_.kind != OptimizerKind::kSgd) v_[i].assign(static_cast<size_t>(params[i].numel()), 0.0f);
    }
  }
  ++t_;
  const float bc1 = 1.0f - std::pow(o_.beta1, static_cast<float>(t_));
  const float bc2 = 1.0f - std::pow(o_.beta2, static_cast<float>(t_));
  for (size_t i = 0; i < params.size(); ++i) {
    float* p = params[i].data<float>();
    const float* g = grads[i].data<float>();
    float* m = m_[i].data();
    const int64_t n = params[i].numel();
    if (o_.kind == OptimizerKind::kSgd) {
      for (int64_t k = 0; k < n; ++k) {
        const float gk = g[k] + o_.weight_decay * p[k];
        m[k] = o_.momentum * m[k] + gk;
        p[k] -= lr * (o_.nesterov ? gk + o_.momentum * m[k] : m[k]);
      }
      continue;
    }
    float* v = v_[i].data();
    const bool decoupled = o_.kind == OptimizerKind::kAdamW;
    for (int64_t k = 0; k < n; ++k) {
      const float gk = decoupled ? g[k] : g[k] + o_.weight_decay * p[k];
      m[k] = o_.beta1 * m[k] + (1 - o_.beta1) * gk;
      v[k] = o_.beta2 * v[k] + (1 - o_.beta2) * gk * gk;
      const float upd = (m[k] / bc1) / (std::sqrt(v[k] / bc2) + o_.eps);
      if (decoupled) p[k] -= lr * o_.weight_decay * p[k];
      p[k] -= lr * upd;
    }
  }
  return ok_status();
}

float LrSchedule::at(int64_t step) const {
  if (warmup_steps > 0 && step < warmup_steps) return base_lr * static_cast<float>(step + 1) / static_cast<float>(warmup_steps);
  const int64_t s = step - warmup_steps;
  const int64_t total = std::max<int64_t>(1, total_steps - warmup_steps);
  const double frac = std::min(1.0, static_cast<double>(s) / static_cast<double>(total));
  switch (kind) {
    case ScheduleKind::kConstant: return base_lr;
    case ScheduleKind::kStep: return base_lr * std::pow(gamma, static_cast<float>(s / std::max<int64_t>(1, step_size)));
    case ScheduleKind::kCosine: return static_cast<float>(min_lr + (base_lr - min_lr) * 0.5 * (1 + std::cos(M_PI * frac)));
    case ScheduleKind::kLinear: return static_cast<float>(base_lr + (min_lr - base_lr) * frac);
  }
  return base_lr;
}

}  // namespace edgeai::compress::train
