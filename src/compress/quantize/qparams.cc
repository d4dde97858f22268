#include "compress/quantize/qparams.h"

#include <algorithm>
#include <limits>

namespace edgeai::compress {

namespace {
constexpr float kTinyScale = 1e-8f;
}

QParams activation_qparams(float lo, float hi, bool symmetric) {
  lo = std::min(lo, 0.0f);
  hi = std::max(hi, 0.0f);
  QParams q;
  if (symmetric) {
    q.is_signed = true;
    q.qmin = -128;
    q.qmax = 127;
    q.scale = std::max(std::max(-lo, hi) / 127.0f, kTinyScale);
    q.zero_point = 0;
    return q;
  }
  q.scale = std::max((hi - lo) / 255.0f, kTinyScale);
  q.zero_point = static_cast<int32_t>(std::clamp(std::nearbyint(-lo / q.scale), 0.0f, 255.0f));
  return q;
}

Tensor scalar_f32(float v) { return Tensor::from_vector<float>(DType::kF32, {}, {v}); }

Tensor scalar_zero_point(int32_t v, bool is_signed) {
  if (is_signed) return Tensor::from_vector<int8_t>(DType::kI8, {}, {static_cast<int8_t>(v)});
  return Tensor::from_vector<uint8_t>(DType::kU8, {}, {static_cast<uint8_t>(v)});
}

Result<QuantizedWeight> quantize_weight(const Tensor& w, int axis) {
  if (w.dtype() != DType::kF32) return unsupported("weight is " + std::string(dtype_name(w.dtype())) + ", not f32");
  if (axis >= w.rank()) return invalid_argument("channel axis " + std::to_string(axis) + " outside rank " + std::to_string(w.rank()));
  const int64_t channels = axis >= 0 ? w.dim(axis) : 1;
  int64_t inner = 1;
  for (int i = axis + 1; i < w.rank() && axis >= 0; ++i) inner *= w.dim(i);
  if (axis < 0) inner = w.numel();
  const int64_t outer = channels > 0 ? w.numel() / (channels * std::max<int64_t>(inner, 1)) : 0;
  QuantizedWeight q;
  q.axis = axis;
  ASSIGN_OR_RETURN(q.values, Tensor::create(DType::kI8, w.shape()));
  Shape sshape = axis >= 0 ? Shape{channels} : Shape{};
  ASSIGN_OR_RETURN(q.scale, Tensor::create(DType::kF32, sshape));
  ASSIGN_OR_RETURN(q.zero_point, Tensor::create(DType::kI8, sshape));
  const float* src = w.data<float>();
  std::vector<float> amax(static_cast<size_t>(std::max<int64_t>(channels, 1)), 0.0f);
  for (int64_t o = 0; o < outer; ++o) {
    for (int64_t c = 0; c < channels; ++c) {
      const float* p = src + (o * channels + c) * inner;
      for (int64_t i = 0; i < inner; ++i) {
        if (std::isfinite(p[i])) amax[c] = std::max(amax[c], std::fabs(p[i]));
      }
    }
  }
  // Per channel, the clipping threshold (max|w| down to half of it) with the least squared
  // rounding error: one outlier would otherwise coarsen the step for the whole channel.
  float* scale = q.scale.data<float>();
  auto channel_error = [&](int64_t c, float s) {
    double err = 0;
    for (int64_t o = 0; o < outer; ++o) {
      const float* p = src + (o * channels + c) * inner;
      for (int64_t i = 0; i < inner; ++i) {
        if (!std::isfinite(p[i])) continue;
        double d = p[i] - std::clamp(std::nearbyint(p[i] / s), -127.0f, 127.0f) * s;
        err += d * d;
      }
    }
    return err;
  };
  for (int64_t c = 0; c < channels; ++c) {
    scale[c] = std::max(amax[c] / 127.0f, kTinyScale);
    if (amax[c] <= 0) continue;
    double best = channel_error(c, scale[c]);
    for (int k = 1; k <= 25; ++k) {
      const float s = std::max(amax[c] * (1.0f - 0.02f * k) / 127.0f, kTinyScale);
      const double e = channel_error(c, s);
      if (e < best) {
        best = e;
        scale[c] = s;
      }
    }
  }
  int8_t* dst = q.values.data<int8_t>();
  for (int64_t o = 0; o < outer; ++o) {
    for (int64_t c = 0; c < channels; ++c) {
      const int64_t base = (o * channels + c) * inner;
      for (int64_t i = 0; i < inner; ++i) {
        float v = std::nearbyint(src[base + i] / scale[c]);
        dst[base + i] = static_cast<int8_t>(std::isnan(v) ? 0.0f : std::clamp(v, -127.0f, 127.0f));
      }
    }
  }
  return q;
}

Result<QuantizedWeight> quantize_bias(const Tensor& b, float x_scale, const Tensor& w_scale) {
  if (b.dtype() != DType::kF32 || b.rank() != 1) return unsupported("bias is not a 1-D f32 tensor");
  const bool per_channel = w_scale.numel() != 1;
  if (per_channel && w_scale.numel() != b.numel()) {
    return invalid_argument("bias has " + std::to_string(b.numel()) + " values but the weight " +
                            std::to_string(w_scale.numel()) + " channels");
  }
  QuantizedWeight q;
  q.axis = per_channel ? 0 : -1;
  Shape sshape = per_channel ? Shape{b.numel()} : Shape{};
  ASSIGN_OR_RETURN(q.values, Tensor::create(DType::kI32, b.shape()));
  ASSIGN_OR_RETURN(q.scale, Tensor::create(DType::kF32, sshape));
  ASSIGN_OR_RETURN(q.zero_point, Tensor::create(DType::kI32, sshape));
  for (int64_t i = 0; i < q.scale.numel(); ++i) {
    q.scale.data<float>()[i] = std::max(x_scale * w_scale.data<float>()[i], kTinyScale * kTinyScale);
  }
  for (int64_t i = 0; i < b.numel(); ++i) {
    double s = q.scale.data<float>()[per_channel ? i : 0];
    double v = std::nearbyint(static_cast<double>(b.data<float>()[i]) / s);
    if (std::isnan(v)) v = 0;
    v = std::clamp(v, static_cast<double>(std::numeric_limits<int32_t>::min()),
                   static_cast<double>(std::numeric_limits<int32_t>::max()));
    q.values.data<int32_t>()[i] = static_cast<int32_t>(v);
  }
  return q;
}

}  // namespace edgeai::compress
