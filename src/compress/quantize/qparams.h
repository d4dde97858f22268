// Quantization parameters: activations (uint8 asymmetric or int8 symmetric, per tensor) and
// weights (int8 symmetric, per channel or per tensor), as ONNX QuantizeLinear computes them
// (round half to even, saturate).
#pragma once

#include <cmath>
#include <cstdint>
#include <string>

#include "core/tensor.h"
#include "edgeai/status.h"

namespace edgeai::compress {

struct QParams {
  float scale = 1.0f;
  int32_t zero_point = 0;
  int32_t qmin = 0, qmax = 255;
  bool is_signed = false;
  int32_t quantize(float x) const {
    float v = std::nearbyint(x / scale) + static_cast<float>(zero_point);
    if (!(v >= qmin)) return qmin;
    return v > qmax ? qmax : static_cast<int32_t>(v);
  }
  float dequantize(int32_t q) const { return static_cast<float>(q - zero_point) * scale; }
};

// Activation parameters for the range [lo, hi] (widened to hold zero).
QParams activation_qparams(float lo, float hi, bool symmetric);

struct QuantizedWeight {
  Tensor values;      // int8, the weight's shape
  Tensor scale;       // f32: scalar, or [C] along `axis`
  Tensor zero_point;  // int8 zeros, the scale's shape
  int axis = -1;      // -1: per tensor
};

// int8 symmetric (|q| <= 127); per channel along `axis` when axis >= 0.
Result<QuantizedWeight> quantize_weight(const Tensor& w, int axis);
// An int32 bias with scale x_scale * w_scale (per channel when w_scale has C values), zero point 0.
Result<QuantizedWeight> quantize_bias(const Tensor& b, float x_scale, const Tensor& w_scale);
// Scalar tensors.
Tensor scalar_f32(float v);
Tensor scalar_zero_point(int32_t v, bool is_signed);

}  // namespace edgeai::compress
