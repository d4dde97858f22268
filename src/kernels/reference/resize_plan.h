// What a Resize (opsets 10-19) or Upsample (7-9) node computes for one input, decided once from
// its attributes, scales / sizes / roi and the input's shape: the output shape and, per axis,
// which input elements each output index reads. The reference kernel (resize.cc) runs the plan in
// double; the CPU kernel (kernels/cpu/resize.cc) runs the same plan in f32, so both accept and
// reject the same nodes and sample the same points.
#pragma once

#include <cstdint>
#include <vector>

#include "core/shape.h"
#include "edgeai/status.h"
#include "kernels/kernel.h"

namespace edgeai::kernels::ref {

// Interpolation taps of one axis, a list per output index (CSR): output x reads
// index[begin[x] .. begin[x + 1]) with those weights (edge-padded: indices are in range).
struct ResizeTaps {
  std::vector<int64_t> begin;  // out_len + 1
  std::vector<int64_t> index;
  std::vector<double> weight;
  std::vector<uint8_t> outside;  // tf_crop_and_resize: the output is the extrapolation value
  bool identity = false;         // output x reads input x with weight 1, for every x
};

struct ResizePlan {
  bool nearest = false;
  Shape out_shape;
  double extrapolation = 0.0;
  // nearest: per axis, the input index each output index reads (-1: the extrapolation value).
  std::vector<std::vector<int64_t>> maps;
  // linear / cubic: per axis.
  std::vector<ResizeTaps> taps;
};

// The node's plan for its input 0 (Resize or Upsample, by op type); errors name what is wrong.
Result<ResizePlan> resize_plan(KernelContext& ctx);

}  // namespace edgeai::kernels::ref
