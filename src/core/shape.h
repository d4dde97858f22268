// Shapes are plain vectors of dimensions; these helpers do the arithmetic on them.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "edgeai/status.h"

namespace edgeai {

using Shape = std::vector<int64_t>;

// Product of dims (1 for a scalar). Assumes a validated shape (no negatives, no overflow).
int64_t shape_numel(std::span<const int64_t> shape);
// Product with checks: negative dims or a total above `limit` elements give an error.
Result<int64_t> checked_numel(std::span<const int64_t> shape, int64_t limit = int64_t(1) << 40);
std::string shape_str(std::span<const int64_t> shape);  // "[1,3,224,224]"
// Row-major strides in elements.
std::vector<int64_t> shape_strides(std::span<const int64_t> shape);
// Numpy-style multidirectional broadcasting of two or more shapes.
Result<Shape> broadcast_shapes(std::span<const int64_t> a, std::span<const int64_t> b);
// Normalizes a possibly negative axis into [0, rank); error when out of range.
Result<int> normalize_axis(int64_t axis, int64_t rank);

// Walks the element offsets of inputs broadcast to `out_shape`: for each output element in
// row-major order, gives the offset into each input. Used by reference elementwise kernels.
class BroadcastIndexer {
 public:
  // in_shapes: shapes of the inputs (each broadcastable to out_shape).
  BroadcastIndexer(const Shape& out_shape, const std::vector<Shape>& in_shapes);
  // Offsets into input `i` for output element `flat` (row-major). O(rank).
  int64_t offset(size_t input, int64_t flat) const;

 private:
  Shape out_shape_;
  std::vector<std::vector<int64_t>> in_strides_;  // per input, per output axis (0 when broadcast)
};

}  // namespace edgeai
