// Reference kernels for linear quantization: QuantizeLinear, DequantizeLinear (per-tensor and,
// from opset 13, per-axis), DynamicQuantizeLinear, MatMulInteger, ConvInteger, QLinearMatMul,
// QLinearConv and com.edgeai QLinearAdd, QMaxPool. Integer products accumulate exactly (int64, stored as int32 as the spec says);
// requantization rounds half to even and saturates to the output type.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "kernels/reference/dispatch.h"
#include "kernels/reference/elementwise_common.h"
#include "kernels/reference/nn_internal.h"
#include "kernels/reference/registry.h"

namespace edgeai::kernels::ref {
namespace {

std::string dt(DType t) { return std::string(dtype_name(t)); }

// Round half to even (the default IEEE rounding, independent of the FP environment).
inline double round_half_even(double v) {
  double f = std::floor(v);
  double diff = v - f;
  if (diff > 0.5) return f + 1.0;
  if (diff < 0.5) return f;
  return std::fmod(f, 2.0) == 0.0 ? f : f + 1.0;
}

// v (already rounded) + zero point, saturated to Q's range. NaN maps to the zero point.
template <typename Q>
inline Q saturate_q(double rounded, int32_t zp) {
  constexpr double lo = std::numeric_limits<Q>::min();
  constexpr double hi = std::numeric_limits<Q>::max();
  if (std::isnan(rounded)) return static_cast<Q>(zp);
  double v = rounded + zp;
  if (v < lo) v = lo;
  if (v > hi) v = hi;
  return static_cast<Q>(v);
}

bool is_q8(DType t) { return t == DType::kU8 || t == DType::kI8; }

// visit over the two 8-bit quantized types.
template <typename F>
Status visit_q8(DType t, F&& f) {
  switch (t) {
    case DType::kU8: return f.template operator()<uint8_t>();
    case DType::kI8: return f.template operator()<int8_t>();
    default: return dtype_not_supported(t);
  }
}

// Scale and zero point parameters, per tensor or per slice along an axis.
struct QParams {
  std::vector<float> scale;
  std::vector<int32_t> zp;
  int64_t channels = 1;  // 1 when per tensor
  int64_t block = 1;     // elements per channel slice (product of dims after the axis)
};

// Reads scale (input si) and zero point (input zi, optional) for tensor `x` of Quantize- and
// DequantizeLinear: per tensor (one element), or per slice along `axis` (opset 13, 1-D).
Status read_qparams(KernelContext& ctx, const Tensor& x, int si, int zi, QParams& q) {
  const Tensor& s = ctx.input(si);
  if (s.dtype() != DType::kF32) return ctx.error("scale must be float32, got " + dt(s.dtype()));
  if (s.rank() > 1) return ctx.error("scale must be a scalar or 1-D, got shape " + shape_str(s.shape()));
  const bool per_axis = s.rank() == 1 && s.numel() != 1;
  if (per_axis && ctx.opset() < 13) {
    return ctx.error("per-axis scale needs opset 13, model has opset " + std::to_string(ctx.opset()));
  }
  q.channels = 1;
  q.block = 1;
  if (per_axis) {
    ASSIGN_OR_RETURN(int axis, normalize_axis(ctx.attr_int("axis", 1), x.rank()));
    if (x.dim(axis) != s.dim(0)) {
      return ctx.error("scale has " + std::to_string(s.dim(0)) + " elements but input dim " +
                       std::to_string(axis) + " is " + std::to_string(x.dim(axis)));
    }
    q.channels = s.dim(0);
    for (int i = axis + 1; i < x.rank(); ++i) q.block *= x.dim(i);
  }
  q.scale.resize(static_cast<size_t>(s.numel()));
  for (int64_t i = 0; i < s.numel(); ++i) q.scale[i] = s.data<float>()[i];
  q.zp.assign(q.scale.size(), 0);
  if (ctx.has_input(zi)) {
    const Tensor& z = ctx.input(zi);
    if (z.shape() != s.shape() && !(z.numel() == 1 && s.numel() == 1 && z.rank() <= 1)) {
      return ctx.error("zero point shape " + shape_str(z.shape()) + " must match scale shape " +
                       shape_str(s.shape()));
    }
    for (int64_t i = 0; i < z.numel(); ++i) q.zp[i] = static_cast<int32_t>(z.get_int(i));
  }
  return ok_status();
}

// ---- QuantizeLinear ----

Status quantize_linear(KernelContext& ctx) {
  if (!ctx.has_input(0) || !ctx.has_input(1)) return ctx.error("inputs x and y_scale are required");
  const Tensor& x = ctx.input(0);
  if (x.dtype() != DType::kF32 && x.dtype() != DType::kI32) {
    return ctx.error("x must be float32 or int32, got " + dt(x.dtype()));
  }
  DType out_type = DType::kU8;
  if (ctx.has_input(2)) {
    out_type = ctx.input(2).dtype();
    if (!is_q8(out_type)) return ctx.error("y_zero_point must be uint8 or int8, got " + dt(out_type));
  }
  QParams q;
  RETURN_IF_ERROR(read_qparams(ctx, x, 1, 2, q));
  if (!ctx.is_output_used(0)) return ok_status();
  ASSIGN_OR_RETURN(Tensor * y, ctx.allocate_output(0, out_type, x.shape()));
  return visit_q8(out_type, [&]<typename Q>() {
    Q* out = y->data<Q>();
    for (int64_t i = 0; i < x.numel(); ++i) {
      const int64_t c = q.channels == 1 ? 0 : (i / q.block) % q.channels;
      const float xv = x.dtype() == DType::kF32 ? x.data<float>()[i]
                                                : static_cast<float>(x.data<int32_t>()[i]);
      out[i] = saturate_q<Q>(round_half_even(xv / q.scale[c]), q.zp[c]);
    }
    return ok_status();
  });
}

// ---- DequantizeLinear ----

Status dequantize_linear(KernelContext& ctx) {
  if (!ctx.has_input(0) || !ctx.has_input(1)) return ctx.error("inputs x and x_scale are required");
  const Tensor& x = ctx.input(0);
  if (!is_q8(x.dtype()) && x.dtype() != DType::kI32) {
    return ctx.error("x must be uint8, int8 or int32, got " + dt(x.dtype()));
  }
  if (ctx.has_input(2) && ctx.input(2).dtype() != x.dtype()) {
    return ctx.error("x_zero_point must have x's dtype " + dt(x.dtype()) + ", got " +
                     dt(ctx.input(2).dtype()));
  }
  QParams q;
  RETURN_IF_ERROR(read_qparams(ctx, x, 1, 2, q));
  if (x.dtype() == DType::kI32) {
    for (int32_t z : q.zp) {
      if (z != 0) return ctx.error("int32 input must have zero points of 0, got " + std::to_string(z));
    }
  }
  if (!ctx.is_output_used(0)) return ok_status();
  ASSIGN_OR_RETURN(Tensor * y, ctx.allocate_output(0, DType::kF32, x.shape()));
  float* out = y->data<float>();
  for (int64_t i = 0; i < x.numel(); ++i) {
    const int64_t c = q.channels == 1 ? 0 : (i / q.block) % q.channels;
    const int64_t v = x.get_int(i) - q.zp[c];
    out[i] = static_cast<float>(v) * q.scale[c];
  }
  return ok_status();
}

// ---- DynamicQuantizeLinear ----

Status dynamic_quantize_linear(KernelContext& ctx) {
  if (!ctx.has_input(0)) return ctx.error("input x is required");
  const Tensor& x = ctx.input(0);
  if (x.dtype() != DType::kF32) return ctx.error("x must be float32, got " + dt(x.dtype()));
  const float* xd = x.data<float>();
  float lo = 0.f, hi = 0.f;  // the range always includes 0
  for (int64_t i = 0; i < x.numel(); ++i) {
    if (std::isnan(xd[i])) continue;
    lo = std::min(lo, xd[i]);
    hi = std::max(hi, xd[i]);
  }
  if (std::isinf(lo) || std::isinf(hi)) return ctx.error("x contains an infinity; no scale fits it");
  const float scale = (hi - lo) / 255.f;
  int32_t zp = 0;
  if (scale > 0.f) {
    const double izp = round_half_even(0.0 - static_cast<double>(lo / scale));
    zp = static_cast<int32_t>(std::clamp(izp, 0.0, 255.0));
  }
  if (ctx.is_output_used(0)) {
    ASSIGN_OR_RETURN(Tensor * y, ctx.allocate_output(0, DType::kU8, x.shape()));
    uint8_t* out = y->data<uint8_t>();
    for (int64_t i = 0; i < x.numel(); ++i) {
      out[i] = scale > 0.f ? saturate_q<uint8_t>(round_half_even(xd[i] / scale), zp)
                           : static_cast<uint8_t>(zp);
    }
  }
  if (ctx.is_output_used(1)) {
    ASSIGN_OR_RETURN(Tensor * s, ctx.allocate_output(1, DType::kF32, {}));
    s->data<float>()[0] = scale;
  }
  if (ctx.is_output_used(2)) {
    ASSIGN_OR_RETURN(Tensor * z, ctx.allocate_output(2, DType::kU8, {}));
    z->data<uint8_t>()[0] = static_cast<uint8_t>(zp);
  }
  return ok_status();
}

// ---- Integer matrix multiplication (numpy matmul semantics) ----

struct MatMulGeom {
  int64_t M = 0, K = 0, N = 0;
  Shape out_shape;
  int64_t batch = 1;
  std::vector<int64_t> a_off, b_off;  // per batch entry, element offsets of the A and B matrices
};

Status matmul_geometry(KernelContext& ctx, const Shape& as, const Shape& bs, MatMulGeom& g) {
  if (as.empty() || bs.empty()) return ctx.error("matmul inputs must have rank >= 1");
  Shape a = as, b = bs;
  const bool a_vec = a.size() == 1, b_vec = b.size() == 1;
  if (a_vec) a.insert(a.begin(), 1);
  if (b_vec) b.push_back(1);
  g.M = a[a.size() - 2];
  g.K = a[a.size() - 1];
  g.N = b[b.size() - 1];
  if (b[b.size() - 2] != g.K) {
    return ctx.error("matmul inner dimensions differ: A " + shape_str(as) + ", B " + shape_str(bs));
  }
  Shape ab(a.begin(), a.end() - 2), bb(b.begin(), b.end() - 2);
  ASSIGN_OR_RETURN(Shape batch, broadcast_shapes(ab, bb));
  g.out_shape = batch;
  if (!a_vec) g.out_shape.push_back(g.M);
  if (!b_vec) g.out_shape.push_back(g.N);
  ASSIGN_OR_RETURN(int64_t out_n, checked_numel(g.out_shape));
  (void)out_n;
  ASSIGN_OR_RETURN(int64_t work, checked_numel(Shape{shape_numel(batch), g.M, g.N, g.K}, int64_t(1) << 42));
  (void)work;
  g.batch = shape_numel(batch);
  g.a_off.resize(g.batch);
  g.b_off.resize(g.batch);
  // Pad the batch shapes to the broadcast rank, then index.
  Shape ap(batch.size() - ab.size(), 1), bp(batch.size() - bb.size(), 1);
  ap.insert(ap.end(), ab.begin(), ab.end());
  bp.insert(bp.end(), bb.begin(), bb.end());
  if (batch.empty()) {
    g.a_off[0] = 0;
    g.b_off[0] = 0;
  } else {
    BroadcastIndexer idx(batch, {ap, bp});
    for (int64_t i = 0; i < g.batch; ++i) {
      g.a_off[i] = idx.offset(0, i) * g.M * g.K;
      g.b_off[i] = idx.offset(1, i) * g.K * g.N;
    }
  }
  return ok_status();
}

// Zero points for A (per tensor or per row, [M]) and B (per tensor or per column, [N]).
Status read_zero_points(KernelContext& ctx, int index, DType want, int64_t count, const char* what,
                        std::vector<int32_t>& zp) {
  zp.assign(static_cast<size_t>(count), 0);
  if (!ctx.has_input(index)) return ok_status();
  const Tensor& z = ctx.input(index);
  if (z.dtype() != want) {
    return ctx.error(std::string(what) + " must have dtype " + dt(want) + ", got " + dt(z.dtype()));
  }
  if (z.numel() == 1 && z.rank() <= 1) {
    std::fill(zp.begin(), zp.end(), static_cast<int32_t>(z.get_int(0)));
    return ok_status();
  }
  if (z.rank() == 1 && z.dim(0) == count) {
    for (int64_t i = 0; i < count; ++i) zp[i] = static_cast<int32_t>(z.get_int(i));
    return ok_status();
  }
  return ctx.error(std::string(what) + " must be a scalar or have " + std::to_string(count) +
                   " elements, got shape " + shape_str(z.shape()));
}

// acc[batch][M][N] = sum_k (A - za[m]) * (B - zb[n]), exact in int64.
template <typename TA, typename TB>
void int_matmul(const MatMulGeom& g, const TA* a, const TB* b, const std::vector<int32_t>& za,
                const std::vector<int32_t>& zb, std::vector<int64_t>& acc) {
  acc.assign(static_cast<size_t>(g.batch * g.M * g.N), 0);
  for (int64_t bi = 0; bi < g.batch; ++bi) {
    const TA* ab = a + g.a_off[bi];
    const TB* bb = b + g.b_off[bi];
    int64_t* out = acc.data() + bi * g.M * g.N;
    for (int64_t m = 0; m < g.M; ++m) {
      for (int64_t k = 0; k < g.K; ++k) {
        const int64_t av = static_cast<int64_t>(ab[m * g.K + k]) - za[m];
        if (av == 0) continue;
        const TB* brow = bb + k * g.N;
        int64_t* orow = out + m * g.N;
        for (int64_t n = 0; n < g.N; ++n) orow[n] += av * (static_cast<int64_t>(brow[n]) - zb[n]);
      }
    }
  }
}

Status matmul_integer(KernelContext& ctx) {
  if (!ctx.has_input(0) || !ctx.has_input(1)) return ctx.error("inputs A and B are required");
  const Tensor& a = ctx.input(0);
  const Tensor& b = ctx.input(1);
  if (!is_q8(a.dtype()) || !is_q8(b.dtype())) {
    return ctx.error("A and B must be uint8 or int8, got " + dt(a.dtype()) + " and " + dt(b.dtype()));
  }
  MatMulGeom g;
  RETURN_IF_ERROR(matmul_geometry(ctx, a.shape(), b.shape(), g));
  std::vector<int32_t> za, zb;
  RETURN_IF_ERROR(read_zero_points(ctx, 2, a.dtype(), g.M, "a_zero_point", za));
  RETURN_IF_ERROR(read_zero_points(ctx, 3, b.dtype(), g.N, "b_zero_point", zb));
  if (!ctx.is_output_used(0)) return ok_status();
  ASSIGN_OR_RETURN(Tensor * y, ctx.allocate_output(0, DType::kI32, g.out_shape));
  std::vector<int64_t> acc;
  RETURN_IF_ERROR(visit_q8(a.dtype(), [&]<typename TA>() {
    return visit_q8(b.dtype(), [&]<typename TB>() {
      int_matmul<TA, TB>(g, a.data<TA>(), b.data<TB>(), za, zb, acc);
      return ok_status();
    });
  }));
  int32_t* out = y->data<int32_t>();
  for (size_t i = 0; i < acc.size(); ++i) out[i] = static_cast<int32_t>(acc[i]);  // wraps like int32
  return ok_status();
}

// A float scale input: a scalar, or 1-D with `count` elements (per row / column / channel).
Status read_scales(KernelContext& ctx, int index, int64_t count, const char* what,
                   std::vector<float>& s) {
  if (!ctx.has_input(index)) return ctx.error(std::string(what) + " is required");
  const Tensor& t = ctx.input(index);
  if (t.dtype() != DType::kF32) {
    return ctx.error(std::string(what) + " must be float32, got " + dt(t.dtype()));
  }
  s.assign(static_cast<size_t>(count), 0.f);
  if (t.numel() == 1 && t.rank() <= 1) {
    std::fill(s.begin(), s.end(), t.data<float>()[0]);
  } else if (t.rank() == 1 && t.dim(0) == count) {
    for (int64_t i = 0; i < count; ++i) s[i] = t.data<float>()[i];
  } else {
    return ctx.error(std::string(what) + " must be a scalar or have " + std::to_string(count) +
                     " elements, got shape " + shape_str(t.shape()));
  }
  return ok_status();
}

// ONNX QLinearMatMul; com.edgeai QLinearMatMul (the int8 QDQ fusion's MatMul -> Add(bias) -> Q)
// takes a 9th input, an int32 bias [N] added to each column's sum before the requantization.
Status qlinear_matmul(KernelContext& ctx) {
  for (int i = 0; i < 8; ++i) {
    if (!ctx.has_input(i)) return ctx.error("all 8 inputs are required; input " + std::to_string(i) + " is missing");
  }
  const Tensor& a = ctx.input(0);
  const Tensor& b = ctx.input(3);
  const DType yt = ctx.input(7).dtype();
  if (!is_q8(a.dtype()) || !is_q8(b.dtype()) || !is_q8(yt)) {
    return ctx.error("a, b and y_zero_point must be uint8 or int8, got " + dt(a.dtype()) + ", " +
                     dt(b.dtype()) + ", " + dt(yt));
  }
  MatMulGeom g;
  RETURN_IF_ERROR(matmul_geometry(ctx, a.shape(), b.shape(), g));
  std::vector<int32_t> za, zb, zy;
  std::vector<float> sa, sb, sy;
  RETURN_IF_ERROR(read_scales(ctx, 1, g.M, "a_scale", sa));
  RETURN_IF_ERROR(read_zero_points(ctx, 2, a.dtype(), g.M, "a_zero_point", za));
  RETURN_IF_ERROR(read_scales(ctx, 4, g.N, "b_scale", sb));
  RETURN_IF_ERROR(read_zero_points(ctx, 5, b.dtype(), g.N, "b_zero_point", zb));
  RETURN_IF_ERROR(read_scales(ctx, 6, g.M, "y_scale", sy));
  RETURN_IF_ERROR(read_zero_points(ctx, 7, yt, g.M, "y_zero_point", zy));
  const int32_t* bias = nullptr;  // com.edgeai QLinearMatMul's input 8
  if (ctx.num_inputs() > 8 && ctx.has_input(8)) {
    const Tensor& bt = ctx.input(8);
    if (bt.dtype() != DType::kI32 || bt.rank() != 1 || bt.dim(0) != g.N) {
      return ctx.error("bias must be int32 with shape [" + std::to_string(g.N) + "], got " + dt(bt.dtype()) + " " +
                       shape_str(bt.shape()));
    }
    bias = bt.data<int32_t>();
  }
  if (!ctx.is_output_used(0)) return ok_status();
  ASSIGN_OR_RETURN(Tensor * y, ctx.allocate_output(0, yt, g.out_shape));
  std::vector<int64_t> acc;
  RETURN_IF_ERROR(visit_q8(a.dtype(), [&]<typename TA>() {
    return visit_q8(b.dtype(), [&]<typename TB>() {
      int_matmul<TA, TB>(g, a.data<TA>(), b.data<TB>(), za, zb, acc);
      return ok_status();
    });
  }));
  return visit_q8(yt, [&]<typename Q>() {
    Q* out = y->data<Q>();
    for (int64_t bi = 0; bi < g.batch; ++bi) {
      for (int64_t m = 0; m < g.M; ++m) {
        for (int64_t n = 0; n < g.N; ++n) {
          // The multiplier and the product in float (one rounding each), as QLinearConv's and
          // the fast kernels' epilogues (and onnxruntime's) compute them; then rounded half to even.
          const int64_t i = (bi * g.M + m) * g.N + n;
          const float mult = static_cast<float>(static_cast<double>(sa[m]) * sb[n] / sy[m]);
          const float scaled = static_cast<float>(acc[i] + (bias ? bias[n] : 0)) * mult;
          out[i] = saturate_q<Q>(round_half_even(static_cast<double>(scaled)), zy[m]);
        }
      }
    }
    return ok_status();
  });
}

// ---- Integer convolution ----

struct ConvGeom {
  int64_t N = 0, C = 0, M = 0, group = 1, cpg = 0;  // cpg: input channels per group
  Shape in_sp, k_sp, out_sp, strides, dil, pad_begin;
  int64_t in_size = 1, k_size = 1, out_size = 1;
};

Status conv_geometry(KernelContext& ctx, const Tensor& x, const Tensor& w, ConvGeom& g) {
  if (x.rank() < 3) return ctx.error("x must have rank >= 3 (N, C, spatial...), got shape " + shape_str(x.shape()));
  if (w.rank() != x.rank()) {
    return ctx.error("w must have x's rank " + std::to_string(x.rank()) + ", got shape " + shape_str(w.shape()));
  }
  const int r = x.rank() - 2;
  g.N = x.dim(0);
  g.C = x.dim(1);
  g.M = w.dim(0);
  g.group = ctx.attr_int("group", 1);
  if (g.group <= 0) return ctx.error("group must be positive, got " + std::to_string(g.group));
  if (g.C % g.group != 0 || g.M % g.group != 0 || w.dim(1) * g.group != g.C) {
    return ctx.error("channels do not match: x has " + std::to_string(g.C) + ", w has shape " +
                     shape_str(w.shape()) + ", group " + std::to_string(g.group));
  }
  g.cpg = w.dim(1);
  g.in_sp.assign(x.shape().begin() + 2, x.shape().end());
  g.k_sp.assign(w.shape().begin() + 2, w.shape().end());
  std::vector<int64_t> ks = ctx.attr_ints("kernel_shape");
  if (!ks.empty() && ks != g.k_sp) {
    return ctx.error("kernel_shape " + shape_str(ks) + " does not match w's spatial shape " + shape_str(g.k_sp));
  }
  g.strides = ctx.attr_ints("strides");
  if (g.strides.empty()) g.strides.assign(r, 1);
  g.dil = ctx.attr_ints("dilations");
  if (g.dil.empty()) g.dil.assign(r, 1);
  std::vector<int64_t> pads = ctx.attr_ints("pads");
  if (pads.empty()) pads.assign(2 * r, 0);
  if (static_cast<int>(g.strides.size()) != r || static_cast<int>(g.dil.size()) != r ||
      static_cast<int>(pads.size()) != 2 * r) {
    return ctx.error("strides, dilations and pads must have " + std::to_string(r) + ", " +
                     std::to_string(r) + " and " + std::to_string(2 * r) + " values");
  }
  const std::string auto_pad = ctx.attr_string("auto_pad", "NOTSET");
  g.pad_begin.assign(r, 0);
  g.out_sp.assign(r, 0);
  for (int i = 0; i < r; ++i) {
    const int64_t s = g.strides[i], d = g.dil[i], k = g.k_sp[i], in = g.in_sp[i];
    if (s <= 0 || d <= 0 || s > (int64_t(1) << 30) || d > (int64_t(1) << 30)) {
      return ctx.error("strides and dilations must be in [1, 2^30], got " + std::to_string(s) + " and " + std::to_string(d));
    }
    if (k <= 0 || k > (int64_t(1) << 30)) return ctx.error("kernel dims must be positive, got " + shape_str(g.k_sp));
    const int64_t dk = (k - 1) * d + 1;
    int64_t pb = pads[i], pe = pads[i + r];
    if (auto_pad == "NOTSET") {
      if (pb < 0 || pe < 0 || pb > (int64_t(1) << 30) || pe > (int64_t(1) << 30)) {
        return ctx.error("pads must be in [0, 2^30], got " + shape_str(pads));
      }
    } else if (auto_pad == "VALID") {
      pb = pe = 0;
    } else if (auto_pad == "SAME_UPPER" || auto_pad == "SAME_LOWER") {
      const int64_t out = (in + s - 1) / s;
      const int64_t total = std::max<int64_t>(0, (out - 1) * s + dk - in);
      pb = auto_pad == "SAME_UPPER" ? total / 2 : total - total / 2;
      pe = total - pb;
    } else {
      return ctx.error("auto_pad must be NOTSET, SAME_UPPER, SAME_LOWER or VALID, got '" + auto_pad + "'");
    }
    const int64_t span = in + pb + pe - dk;
    if (span < 0) {
      return ctx.error("kernel (dilated size " + std::to_string(dk) + ") is larger than the padded input (" +
                       std::to_string(in + pb + pe) + ") on spatial axis " + std::to_string(i));
    }
    g.out_sp[i] = span / s + 1;
    g.pad_begin[i] = pb;
  }
  g.in_size = shape_numel(g.in_sp);
  g.k_size = shape_numel(g.k_sp);
  Shape out_shape{g.N, g.M};
  out_shape.insert(out_shape.end(), g.out_sp.begin(), g.out_sp.end());
  ASSIGN_OR_RETURN(int64_t out_n, checked_numel(out_shape));
  ASSIGN_OR_RETURN(int64_t work, checked_numel(Shape{out_n, g.cpg, g.k_size}, int64_t(1) << 42));
  (void)work;
  g.out_size = shape_numel(g.out_sp);
  return ok_status();
}

// acc[n][m][out] = sum (x - zx) * (w - zw[m]) over the receptive field; padding contributes 0.
template <typename TX, typename TW>
void int_conv(const ConvGeom& g, const TX* x, const TW* w, int32_t zx, const std::vector<int32_t>& zw,
              std::vector<int64_t>& acc) {
  const int r = static_cast<int>(g.in_sp.size());
  acc.assign(static_cast<size_t>(g.N * g.M * g.out_size), 0);
  // Kernel positions as coordinates, and the input strides.
  std::vector<int64_t> kcoord(static_cast<size_t>(g.k_size * r));
  for (int64_t kk = 0; kk < g.k_size; ++kk) {
    int64_t rem = kk;
    for (int i = r - 1; i >= 0; --i) {
      kcoord[kk * r + i] = rem % g.k_sp[i];
      rem /= g.k_sp[i];
    }
  }
  const std::vector<int64_t> istr = shape_strides(g.in_sp);
  std::vector<int64_t> ocoord(r, 0), offs(static_cast<size_t>(g.k_size));
  const int64_t mpg = g.M / g.group;
  for (int64_t o = 0; o < g.out_size; ++o) {
    int64_t rem = o;
    for (int i = r - 1; i >= 0; --i) {
      ocoord[i] = rem % g.out_sp[i];
      rem /= g.out_sp[i];
    }
    // Input offset of each kernel tap, or -1 where it falls in the padding.
    for (int64_t kk = 0; kk < g.k_size; ++kk) {
      int64_t off = 0;
      for (int i = 0; i < r; ++i) {
        const int64_t c = ocoord[i] * g.strides[i] - g.pad_begin[i] + kcoord[kk * r + i] * g.dil[i];
        if (c < 0 || c >= g.in_sp[i]) {
          off = -1;
          break;
        }
        off += c * istr[i];
      }
      offs[kk] = off;
    }
    for (int64_t n = 0; n < g.N; ++n) {
      for (int64_t m = 0; m < g.M; ++m) {
        const int64_t grp = m / mpg;
        int64_t sum = 0;
        for (int64_t c = 0; c < g.cpg; ++c) {
          const TX* xc = x + (n * g.C + grp * g.cpg + c) * g.in_size;
          const TW* wc = w + (m * g.cpg + c) * g.k_size;
          for (int64_t kk = 0; kk < g.k_size; ++kk) {
            if (offs[kk] < 0) continue;
            sum += (static_cast<int64_t>(xc[offs[kk]]) - zx) * (static_cast<int64_t>(wc[kk]) - zw[m]);
          }
        }
        acc[(n * g.M + m) * g.out_size + o] = sum;
      }
    }
  }
}

Shape conv_out_shape(const ConvGeom& g) {
  Shape s{g.N, g.M};
  s.insert(s.end(), g.out_sp.begin(), g.out_sp.end());
  return s;
}

// A per-tensor zero point (scalar or one element) of dtype `want`; 0 when absent.
Status read_scalar_zp(KernelContext& ctx, int index, DType want, const char* what, int32_t& zp) {
  zp = 0;
  if (!ctx.has_input(index)) return ok_status();
  const Tensor& z = ctx.input(index);
  if (z.dtype() != want) {
    return ctx.error(std::string(what) + " must have dtype " + dt(want) + ", got " + dt(z.dtype()));
  }
  if (z.numel() != 1 || z.rank() > 1) {
    return ctx.error(std::string(what) + " must be a scalar, got shape " + shape_str(z.shape()));
  }
  zp = static_cast<int32_t>(z.get_int(0));
  return ok_status();
}

Status conv_integer(KernelContext& ctx) {
  if (!ctx.has_input(0) || !ctx.has_input(1)) return ctx.error("inputs x and w are required");
  const Tensor& x = ctx.input(0);
  const Tensor& w = ctx.input(1);
  if (!is_q8(x.dtype()) || !is_q8(w.dtype())) {
    return ctx.error("x and w must be uint8 or int8, got " + dt(x.dtype()) + " and " + dt(w.dtype()));
  }
  ConvGeom g;
  RETURN_IF_ERROR(conv_geometry(ctx, x, w, g));
  int32_t zx = 0;
  std::vector<int32_t> zw;
  RETURN_IF_ERROR(read_scalar_zp(ctx, 2, x.dtype(), "x_zero_point", zx));
  RETURN_IF_ERROR(read_zero_points(ctx, 3, w.dtype(), g.M, "w_zero_point", zw));
  if (!ctx.is_output_used(0)) return ok_status();
  ASSIGN_OR_RETURN(Tensor * y, ctx.allocate_output(0, DType::kI32, conv_out_shape(g)));
  std::vector<int64_t> acc;
  RETURN_IF_ERROR(visit_q8(x.dtype(), [&]<typename TX>() {
    return visit_q8(w.dtype(), [&]<typename TW>() {
      int_conv<TX, TW>(g, x.data<TX>(), w.data<TW>(), zx, zw, acc);
      return ok_status();
    });
  }));
  int32_t* out = y->data<int32_t>();
  for (size_t i = 0; i < acc.size(); ++i) out[i] = static_cast<int32_t>(acc[i]);
  return ok_status();
}

Status qlinear_conv(KernelContext& ctx) {
  for (int i = 0; i < 8; ++i) {
    if (!ctx.has_input(i)) return ctx.error("inputs 0 to 7 are required; input " + std::to_string(i) + " is missing");
  }
  const Tensor& x = ctx.input(0);
  const Tensor& w = ctx.input(3);
  const DType yt = ctx.input(7).dtype();
  if (!is_q8(x.dtype()) || !is_q8(w.dtype()) || !is_q8(yt)) {
    return ctx.error("x, w and y_zero_point must be uint8 or int8, got " + dt(x.dtype()) + ", " +
                     dt(w.dtype()) + ", " + dt(yt));
  }
  ConvGeom g;
  RETURN_IF_ERROR(conv_geometry(ctx, x, w, g));
  std::vector<float> sx, sw, sy;
  RETURN_IF_ERROR(read_scales(ctx, 1, 1, "x_scale", sx));
  RETURN_IF_ERROR(read_scales(ctx, 4, g.M, "w_scale", sw));
  RETURN_IF_ERROR(read_scales(ctx, 6, 1, "y_scale", sy));
  int32_t zx = 0, zy = 0;
  std::vector<int32_t> zw;
  RETURN_IF_ERROR(read_scalar_zp(ctx, 2, x.dtype(), "x_zero_point", zx));
  RETURN_IF_ERROR(read_zero_points(ctx, 5, w.dtype(), g.M, "w_zero_point", zw));
  RETURN_IF_ERROR(read_scalar_zp(ctx, 7, yt, "y_zero_point", zy));
  const int32_t* bias = nullptr;
  if (ctx.has_input(8)) {
    const Tensor& b = ctx.input(8);
    if (b.dtype() != DType::kI32 || b.rank() != 1 || b.dim(0) != g.M) {
      return ctx.error("B must be int32 with shape [" + std::to_string(g.M) + "], got " +
                       dt(b.dtype()) + " " + shape_str(b.shape()));
    }
    bias = b.data<int32_t>();
  }
  if (!ctx.is_output_used(0)) return ok_status();
  ASSIGN_OR_RETURN(Tensor * y, ctx.allocate_output(0, yt, conv_out_shape(g)));
  std::vector<int64_t> acc;
  RETURN_IF_ERROR(visit_q8(x.dtype(), [&]<typename TX>() {
    return visit_q8(w.dtype(), [&]<typename TW>() {
      int_conv<TX, TW>(g, x.data<TX>(), w.data<TW>(), zx, zw, acc);
      return ok_status();
    });
  }));
  return visit_q8(yt, [&]<typename Q>() {
    Q* out = y->data<Q>();
    for (int64_t n = 0; n < g.N; ++n) {
      for (int64_t m = 0; m < g.M; ++m) {
        // The multiplier and the product in float (one rounding each), as the fast kernels'
        // vector epilogues compute them; then rounded half to even.
        const float mult = static_cast<float>(static_cast<double>(sx[0]) * sw[m] / sy[0]);
        const int64_t base = (n * g.M + m) * g.out_size;
        for (int64_t o = 0; o < g.out_size; ++o) {
          const int64_t v = acc[base + o] + (bias ? bias[m] : 0);
          const float scaled = static_cast<float>(v) * mult;
          out[base + o] = saturate_q<Q>(round_half_even(static_cast<double>(scaled)), zy);
        }
      }
    }
    return ok_status();
  });
}

// ---- com.edgeai QLinearAdd ----
// QLinearAdd(A, A_scale, A_zp, B, B_scale, B_zp, C_scale, C_zp) (the inputs of onnxruntime's
// com.microsoft QLinearAdd; scalar scales and zero points, A and B of one 8-bit type, C of
// C_zp's), numpy broadcasting: C = QuantizeLinear(DequantizeLinear(A) + DequantizeLinear(B)), each
// step in float32 as those reference kernels compute it (so the fused graph gives the same bytes
// as the unfused one). The int8 QDQ fusion makes it from DQ, DQ -> Add -> Q. Attribute relu = 1
// (DQ, DQ -> Add -> Relu -> Q): C = Q(Relu(DQ(A) + DQ(B))), which is max(Q(sum), C_zp) since
// QuantizeLinear does not decrease and maps 0 to C_zp.
Status qlinear_add(KernelContext& ctx) {
  if (ctx.num_inputs() != 8) return ctx.error("needs 8 inputs, got " + std::to_string(ctx.num_inputs()));
  for (int i = 0; i < 8; ++i) {
    if (!ctx.has_input(i)) return ctx.error("input " + std::to_string(i) + " is required");
  }
  const Tensor& a = ctx.input(0);
  const Tensor& b = ctx.input(3);
  float scale[3];
  int32_t zp[3];
  for (int k = 0; k < 3; ++k) {
    const Tensor& s = ctx.input(k < 2 ? 3 * k + 1 : 6);
    const Tensor& z = ctx.input(k < 2 ? 3 * k + 2 : 7);
    if (s.dtype() != DType::kF32 || s.numel() != 1 || s.rank() > 1) {
      return ctx.error("scale " + std::to_string(k) + " must be one float32, got " + dt(s.dtype()) + " " +
                       shape_str(s.shape()));
    }
    if (!is_q8(z.dtype()) || z.numel() != 1 || z.rank() > 1) {
      return ctx.error("zero point " + std::to_string(k) + " must be one uint8 or int8, got " + dt(z.dtype()) + " " +
                       shape_str(z.shape()));
    }
    if (k < 2 && z.dtype() != ctx.input(3 * k).dtype()) {
      return ctx.error("zero point " + std::to_string(k) + " must have its input's dtype " +
                       dt(ctx.input(3 * k).dtype()) + ", got " + dt(z.dtype()));
    }
    scale[k] = s.data<float>()[0];
    zp[k] = static_cast<int32_t>(z.get_int(0));
  }
  ASSIGN_OR_RETURN(Shape out_shape, broadcast_shapes(a.shape(), b.shape()));
  if (!ctx.is_output_used(0)) return ok_status();
  const DType out_type = ctx.input(7).dtype();
  const bool relu = ctx.attr_int("relu", 0) != 0;
  ASSIGN_OR_RETURN(Tensor * y, ctx.allocate_output(0, out_type, out_shape));
  return visit_q8(out_type, [&]<typename Q>() {
    Q* out = y->data<Q>();
    ew::for_each_broadcast<2>(out_shape, {&a.shape(), &b.shape()}, [&](int64_t i, int64_t ia, int64_t ib) {
      volatile float fa = static_cast<float>(a.get_int(ia) - zp[0]) * scale[0];  // both products rounded:
      volatile float fb = static_cast<float>(b.get_int(ib) - zp[1]) * scale[1];  // no fused multiply-add
      const float sum = fa + fb;
      const Q q = saturate_q<Q>(round_half_even(sum / scale[2]), zp[2]);
      out[i] = relu ? std::max(q, static_cast<Q>(zp[2])) : q;
    });
    return ok_status();
  });
}

// ---- com.edgeai QMaxPool ----
// ONNX MaxPool (its attributes, one output) on 8-bit values, the reference MaxPool's kernel. The
// int8 QDQ fusion makes it from DQ -> MaxPool -> Q: the max commutes with the non-decreasing
// Q(DQ(.)), so the bytes (after the requantization table where the scales differ) are the unfused
// graph's; the op of its own is there so that the fast byte kernel (kernels/cpu/qpool.cc) can run it.
Status qmax_pool(KernelContext& ctx) {
  if (ctx.num_inputs() != 1 || !ctx.has_input(0)) return ctx.error("needs 1 input");
  if (ctx.num_outputs() != 1) return ctx.error("has 1 output, got " + std::to_string(ctx.num_outputs()));
  if (!is_q8(ctx.input(0).dtype())) return ctx.error("X must be uint8 or int8, got " + dt(ctx.input(0).dtype()));
  return nn::max_pool(ctx);
}

}  // namespace

std::span<const KernelEntry> quant_kernels() {
  static const KernelEntry kTable[] = {
      {"", "QuantizeLinear", quantize_linear},
      {"", "DequantizeLinear", dequantize_linear},
      {"", "DynamicQuantizeLinear", dynamic_quantize_linear},
      {"", "MatMulInteger", matmul_integer},
      {"", "QLinearMatMul", qlinear_matmul},
      {"", "ConvInteger", conv_integer},
      {"", "QLinearConv", qlinear_conv},
      {"com.edgeai", "QLinearAdd", qlinear_add},
      {"com.edgeai", "QLinearMatMul", qlinear_matmul},
      {"com.edgeai", "QMaxPool", qmax_pool},
  };
  return kTable;
}

}  // namespace edgeai::kernels::ref
