// Element-wise comparison of tensors, numpy.allclose-style: |a - b| <= atol + rtol * |b|, with
// NaN equal to NaN. Used by tests, `edgeai onnx-test` and `edgeai eval`.
#pragma once

#include <string>

#include "core/tensor.h"

namespace edgeai {

struct CompareResult {
  bool equal = true;
  std::string message;  // first difference, when not equal
  double max_abs_error = 0;
  int64_t mismatches = 0;
};

CompareResult compare_tensors(const Tensor& got, const Tensor& expected, double rtol, double atol);

}  // namespace edgeai
