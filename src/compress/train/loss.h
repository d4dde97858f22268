// Losses on a classifier's logits [N, C], with their gradients.
#pragma once

#include <cstdint>
#include <span>

#include "core/tensor.h"
#include "edgeai/status.h"

namespace edgeai::compress::train {

// Mean over the batch of -log softmax(logits)[label]. `dlogits` (same shape, may be null) is set
// to d(loss)/d(logits) times `weight` (added to, when `accumulate`). Errors: labels count or a
// label outside [0, C).
Result<double> cross_entropy(const Tensor& logits, std::span<const int64_t> labels, Tensor* dlogits,
                             float weight = 1.0f, bool accumulate = false);

// Distillation loss: T^2 * mean over the batch of KL(softmax(teacher / T) || softmax(student / T)),
// and its gradient with respect to the student's logits (times `weight`, added when accumulate).
Result<double> distill_kl(const Tensor& student, const Tensor& teacher, float temperature, Tensor* dstudent,
                          float weight = 1.0f, bool accumulate = false);

// Number of rows whose arg-max equals the label.
int64_t count_correct(const Tensor& logits, std::span<const int64_t> labels);

}  // namespace edgeai::compress::train
