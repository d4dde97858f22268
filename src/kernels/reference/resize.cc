// Reference kernels for Resize (opsets 10, 11, 13, 18, 19) and Upsample (7-9). The numerical
// oracle is the ONNX backend tests' numpy implementation (onnx/backend/test/case/node/resize.py):
// each output coordinate is mapped back to the input by the coordinate transformation mode and
// interpolated from edge-padded neighbours. Interpolation is separable, so linear and cubic modes
// run one pass per resized axis (in double); nearest gathers directly.
#include <algorithm>
#include <cmath>
#include <numeric>

#include "kernels/reference/resize_plan.h"
#include "kernels/reference/tensor_internal.h"

namespace edgeai::kernels::ref {

using namespace tensor_ops;

namespace {

enum class Mode { kNearest, kLinear, kCubic };
enum class Coord {
  kHalfPixel,
  kHalfPixelSymmetric,
  kPytorchHalfPixel,
  kAlignCorners,
  kAsymmetric,
  kTfHalfPixelForNN,
  kTfCropAndResize,
};
// kSimple: the opset-10 Resize / Upsample rule (floor when upsampling, ceil when downsampling).
enum class NearestMode { kRoundPreferFloor, kRoundPreferCeil, kFloor, kCeil, kSimple };

struct Params {
  Mode mode = Mode::kNearest;
  Coord coord = Coord::kAsymmetric;
  NearestMode nearest = NearestMode::kSimple;
  double cubic_a = -0.75;
  bool exclude_outside = false;
  double extrapolation = 0.0;
  bool antialias = false;
  std::vector<double> scales;  // per axis of the input
  std::vector<double> roi_start, roi_end;
  Shape out_shape;
};

double original_coord(const Params& p, int axis, int64_t x, int64_t in_len, int64_t out_len) {
  const double scale = p.scales[axis];
  const double xr = static_cast<double>(x);
  const double in = static_cast<double>(in_len);
  // The length after resizing as the reference computes it: fractional when scales are given.
  const double out_w = scale * in;
  switch (p.coord) {
    case Coord::kHalfPixel:
      return (xr + 0.5) / scale - 0.5;
    case Coord::kHalfPixelSymmetric: {
      const double adjustment = static_cast<double>(out_len) / (scale * in);
      const double center = in / 2.0;
      const double offset = center * (1.0 - adjustment);
      return offset + (xr + 0.5) / scale - 0.5;
    }
    case Coord::kPytorchHalfPixel:
      return out_len > 1 ? (xr + 0.5) / scale - 0.5 : 0.0;
    case Coord::kAlignCorners:
      return out_len == 1 || out_w <= 1.0 ? 0.0 : xr * (in - 1.0) / (out_w - 1.0);
    case Coord::kAsymmetric:
      return xr / scale;
    case Coord::kTfHalfPixelForNN:
      return (xr + 0.5) / scale;
    case Coord::kTfCropAndResize: {
      const double s = p.roi_start[axis], e = p.roi_end[axis];
      if (out_len == 1 || out_w <= 1.0) return 0.5 * (s + e) * (in - 1.0);
      return xr * (e - s) * (in - 1.0) / (out_w - 1.0) + s * (in - 1.0);
    }
  }
  return 0.0;
}

bool outside_roi(const Params& p, double xo, int64_t in_len) {
  return p.coord == Coord::kTfCropAndResize && (xo < 0.0 || xo > static_cast<double>(in_len - 1));
}

int64_t nearest_index(const Params& p, double xo, double scale, int64_t in_len) {
  double f = std::floor(xo);
  if (xo != f) {
    const double frac = xo - f;
    switch (p.nearest) {
      case NearestMode::kRoundPreferFloor: f = frac <= 0.5 ? f : f + 1; break;
      case NearestMode::kRoundPreferCeil: f = frac < 0.5 ? f : f + 1; break;
      case NearestMode::kFloor: break;
      case NearestMode::kCeil: f = f + 1; break;
      case NearestMode::kSimple: f = scale < 1.0 ? f + 1 : f; break;
    }
  }
  if (!(f >= 0.0)) return 0;  // also NaN
  if (f > static_cast<double>(in_len - 1)) return in_len - 1;
  return static_cast<int64_t>(f);
}

double cubic_kernel(double t, double a) {
  t = std::abs(t);
  if (t <= 1.0) return ((a + 2.0) * t - (a + 3.0)) * t * t + 1.0;
  if (t < 2.0) return ((a * t - 5.0 * a) * t + 8.0 * a) * t - 4.0 * a;
  return 0.0;
}

ResizeTaps build_taps(const Params& p, int axis, int64_t in_len, int64_t out_len) {
  ResizeTaps t;
  t.begin.assign(1, 0);
  t.outside.assign(out_len, 0);
  const double scale = p.scales[axis];
  // Antialiasing widens the kernel by 1/scale. A legitimate scale is at least ~0.5/in_len (the
  // output is not empty), so the bound only guards the tap count against degenerate input.
  const double s = (p.antialias && scale < 1.0)
                       ? std::max(scale, 1.0 / (4.0 * static_cast<double>(in_len + 1)))
                       : 1.0;
  const double support = p.mode == Mode::kLinear ? 1.0 : 2.0;
  const int64_t first = static_cast<int64_t>(std::floor(-support / s)) + 1;
  const int64_t count = 2 - 2 * first;
  std::vector<int64_t> idx(count);
  std::vector<double> w(count);
  for (int64_t x = 0; x < out_len; ++x) {
    const double xo = original_coord(p, axis, x, in_len, out_len);
    if (outside_roi(p, xo, in_len) || !std::isfinite(xo)) {
      t.outside[x] = 1;
      t.begin.push_back(static_cast<int64_t>(t.index.size()));
      continue;
    }
    const double x0 = std::floor(xo);
    const double ratio = xo - x0;
    const int64_t base = static_cast<int64_t>(x0);
    double sum = 0.0;
    for (int64_t i = 0; i < count; ++i) {
      const double arg = s * (static_cast<double>(first + i) - ratio);
      w[i] = p.mode == Mode::kLinear ? std::max(0.0, 1.0 - std::abs(arg)) : cubic_kernel(arg, p.cubic_a);
      idx[i] = base + first + i;
      sum += w[i];
    }
    if (p.antialias && sum != 0.0) {
      for (double& v : w) v /= sum;
    }
    if (p.exclude_outside) {
      double kept = 0.0;
      for (int64_t i = 0; i < count; ++i) {
        if (idx[i] < 0 || idx[i] >= in_len) w[i] = 0.0;
        kept += w[i];
      }
      if (kept != 0.0) {
        for (double& v : w) v /= kept;
      }
    }
    // Edge padding: out-of-range taps read the border element; merge taps on the same element.
    const int64_t start = static_cast<int64_t>(t.index.size());
    for (int64_t i = 0; i < count; ++i) {
      if (w[i] == 0.0) continue;
      const int64_t j = std::clamp<int64_t>(idx[i], 0, in_len - 1);
      // idx ascends, so taps clamped onto the same element are adjacent.
      if (static_cast<int64_t>(t.index.size()) > start && t.index.back() == j) {
        t.weight.back() += w[i];
      } else {
        t.index.push_back(j);
        t.weight.push_back(w[i]);
      }
    }
    t.begin.push_back(static_cast<int64_t>(t.index.size()));
  }
  return t;
}

bool taps_are_identity(const ResizeTaps& t, int64_t in_len, int64_t out_len) {
  if (in_len != out_len) return false;
  for (int64_t x = 0; x < out_len; ++x) {
    if (t.outside[x] || t.begin[x + 1] - t.begin[x] != 1) return false;
    if (t.index[t.begin[x]] != x || t.weight[t.begin[x]] != 1.0) return false;
  }
  return true;
}

// One separable pass along `axis`: cur (f64) -> next (f64).
Status interpolate_axis(const ResizePlan& p, const Tensor& cur, int axis, const ResizeTaps& t, int64_t out_len,
                        Tensor* next) {
  Shape ns = cur.shape();
  ns[axis] = out_len;
  ASSIGN_OR_RETURN(*next, Tensor::create(DType::kF64, ns));
  const int64_t in_len = cur.dim(axis);
  int64_t outer = 1, inner = 1;
  for (int k = 0; k < axis; ++k) outer *= cur.dim(k);
  for (int k = axis + 1; k < cur.rank(); ++k) inner *= cur.dim(k);
  const double* src = cur.data<double>();
  double* dst = next->data<double>();
  for (int64_t o = 0; o < outer; ++o) {
    for (int64_t x = 0; x < out_len; ++x) {
      double* d = dst + (o * out_len + x) * inner;
      if (t.outside[x]) {
        std::fill(d, d + inner, p.extrapolation);
        continue;
      }
      for (int64_t q = t.begin[x]; q < t.begin[x + 1]; ++q) {
        const double w = t.weight[q];
        const double* s = src + (o * in_len + t.index[q]) * inner;
        for (int64_t i = 0; i < inner; ++i) d[i] += w * s[i];
      }
    }
  }
  return ok_status();
}

Status run_interpolate(KernelContext& ctx, const ResizePlan& p, const Tensor& x) {
  if (x.dtype() == DType::kString || x.dtype() == DType::kBool) {
    return ctx.error("linear and cubic modes need a numeric input, got " + std::string(dtype_name(x.dtype())));
  }
  ASSIGN_OR_RETURN(Tensor * out, ctx.allocate_output(0, x.dtype(), p.out_shape));
  if (out->numel() == 0) return ok_status();
  const int r = x.rank();
  // Shrinking axes first keeps the intermediate buffers small.
  std::vector<int> order(r);
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](int a, int b) {
    return static_cast<double>(p.out_shape[a]) / std::max<int64_t>(x.dim(a), 1) <
           static_cast<double>(p.out_shape[b]) / std::max<int64_t>(x.dim(b), 1);
  });
  ASSIGN_OR_RETURN(Tensor cur, Tensor::create(DType::kF64, x.shape()));
  RETURN_IF_ERROR(visit_numeric(x.dtype(), [&]<typename T>() {
    const T* s = x.data<T>();
    double* d = cur.data<double>();
    for (int64_t i = 0; i < x.numel(); ++i) d[i] = to_f64(s[i]);
    return ok_status();
  }));
  for (int a : order) {
    const ResizeTaps& t = p.taps[a];
    if (t.identity) continue;
    Tensor next;
    RETURN_IF_ERROR(interpolate_axis(p, cur, a, t, p.out_shape[a], &next));
    cur = std::move(next);
  }
  return visit_numeric(x.dtype(), [&]<typename T>() {
    const double* s = cur.data<double>();
    T* d = out->data<T>();
    for (int64_t i = 0; i < out->numel(); ++i) d[i] = cast_double<T>(s[i]);
    return ok_status();
  });
}

Status run_nearest(KernelContext& ctx, const ResizePlan& p, const Tensor& x) {
  ASSIGN_OR_RETURN(Tensor * out, ctx.allocate_output(0, x.dtype(), p.out_shape));
  if (out->numel() == 0) return ok_status();
  const int r = x.rank();
  if (r == 0) return copy_tensor(x, *out);
  const std::vector<std::vector<int64_t>>& maps = p.maps;
  const std::vector<int64_t> in_strides = shape_strides(x.shape());
  return visit_all(x.dtype(), [&]<typename T>() {
    const T ext = cast_double<T>(p.extrapolation);
    const T* src = x.data<T>();
    T* dst = out->data<T>();
    const int64_t inner = p.out_shape[r - 1];
    const std::vector<int64_t>& last = maps[r - 1];
    const int64_t rows = out->numel() / inner;
    std::vector<int64_t> idx(r, 0);
    for (int64_t o = 0; o < rows; ++o) {
      int64_t off = 0;
      bool ext_row = false;
      for (int k = 0; k + 1 < r; ++k) {
        const int64_t m = maps[k][idx[k]];
        if (m < 0) ext_row = true;
        off += m * in_strides[k];
      }
      if (ext_row) {
        std::fill(dst, dst + inner, ext);
      } else {
        const T* row = src + off;
        for (int64_t j = 0; j < inner; ++j) dst[j] = last[j] < 0 ? ext : row[last[j]];
      }
      dst += inner;
      for (int k = r - 2; k >= 0; --k) {
        if (++idx[k] < p.out_shape[k]) break;
        idx[k] = 0;
      }
    }
    return ok_status();
  });
}

// The plan of `p` for input `x`: nearest indices, or taps, per axis.
ResizePlan make_plan(const Params& p, const Tensor& x) {
  ResizePlan plan;
  plan.nearest = p.mode == Mode::kNearest;
  plan.out_shape = p.out_shape;
  plan.extrapolation = p.extrapolation;
  const int r = x.rank();
  if (plan.nearest) {
    plan.maps.resize(r);
    for (int a = 0; a < r; ++a) {
      plan.maps[a].resize(p.out_shape[a]);
      for (int64_t o = 0; o < p.out_shape[a]; ++o) {
        const double xo = original_coord(p, a, o, x.dim(a), p.out_shape[a]);
        plan.maps[a][o] = outside_roi(p, xo, x.dim(a)) ? -1 : nearest_index(p, xo, p.scales[a], x.dim(a));
      }
    }
    return plan;
  }
  plan.taps.resize(r);
  for (int a = 0; a < r; ++a) {
    // Empty outputs have nothing to interpolate (and an empty input axis no taps to read).
    if (p.out_shape[a] == 0 || x.dim(a) == 0) {
      plan.taps[a].identity = p.out_shape[a] == x.dim(a);
      plan.taps[a].begin.assign(p.out_shape[a] + 1, 0);
      plan.taps[a].outside.assign(p.out_shape[a], 1);
      continue;
    }
    plan.taps[a] = build_taps(p, a, x.dim(a), p.out_shape[a]);
    plan.taps[a].identity = taps_are_identity(plan.taps[a], x.dim(a), p.out_shape[a]);
  }
  return plan;
}

Result<Mode> mode_arg(const KernelContext& ctx) {
  const std::string m = ctx.attr_string("mode", "nearest");
  if (m == "nearest") return Mode::kNearest;
  if (m == "linear" || m == "bilinear") return Mode::kLinear;
  if (m == "cubic" && ctx.op_type() == "Resize" && ctx.opset() >= 11) return Mode::kCubic;
  return ctx.error("mode '" + m + "' is not supported (nearest, linear" +
                   std::string(ctx.op_type() == "Resize" && ctx.opset() >= 11 ? ", cubic)" : ")"));
}

constexpr double kMaxDim = static_cast<double>(int64_t(1) << 40);

// Output sizes from per-axis scales: floor(in * scale), as the reference does.
Status sizes_from_scales(const KernelContext& ctx, const Tensor& x, Params& p) {
  p.out_shape.resize(x.rank());
  for (int a = 0; a < x.rank(); ++a) {
    const double s = p.scales[a];
    if (!(s > 0.0) || !std::isfinite(s)) {
      return ctx.error("scale " + std::to_string(s) + " for axis " + std::to_string(a) + " must be positive");
    }
    const double o = std::floor(static_cast<double>(x.dim(a)) * s);
    if (o > kMaxDim) {
      return ctx.error("scale " + std::to_string(s) + " makes axis " + std::to_string(a) + " of size " +
                       std::to_string(x.dim(a)) + " too large");
    }
    p.out_shape[a] = static_cast<int64_t>(o);
  }
  return ok_status();
}

Result<std::vector<double>> read_floats(const KernelContext& ctx, const Tensor& t, std::string_view what) {
  if (!dtype_is_float(t.dtype())) {
    return ctx.error(std::string(what) + " must be a float tensor, got " + std::string(dtype_name(t.dtype())));
  }
  std::vector<double> v(static_cast<size_t>(t.numel()));
  for (int64_t i = 0; i < t.numel(); ++i) v[i] = t.get_double(i);
  return v;
}

Result<ResizePlan> resize_impl(KernelContext& ctx) {
  RETURN_IF_ERROR(require_input(ctx, 0, "X"));
  const Tensor& x = ctx.input(0);
  const int r = x.rank();
  const int opset = ctx.opset();
  Params p;
  ASSIGN_OR_RETURN(p.mode, mode_arg(ctx));
  p.scales.assign(r, 1.0);
  p.roi_start.assign(r, 0.0);
  p.roi_end.assign(r, 1.0);

  if (opset < 11) {
    RETURN_IF_ERROR(require_input(ctx, 1, "scales"));
    ASSIGN_OR_RETURN(std::vector<double> sc, read_floats(ctx, ctx.input(1), "scales"));
    if (static_cast<int>(sc.size()) != r) {
      return ctx.error("scales has " + std::to_string(sc.size()) + " entries, expected the input rank " +
                       std::to_string(r));
    }
    p.scales = sc;
    RETURN_IF_ERROR(sizes_from_scales(ctx, x, p));
    return make_plan(p, x);
  }

  const std::string coord = ctx.attr_string("coordinate_transformation_mode", "half_pixel");
  if (coord == "half_pixel") p.coord = Coord::kHalfPixel;
  else if (coord == "half_pixel_symmetric") p.coord = Coord::kHalfPixelSymmetric;
  else if (coord == "pytorch_half_pixel") p.coord = Coord::kPytorchHalfPixel;
  else if (coord == "align_corners") p.coord = Coord::kAlignCorners;
  else if (coord == "asymmetric") p.coord = Coord::kAsymmetric;
  else if (coord == "tf_half_pixel_for_nn") p.coord = Coord::kTfHalfPixelForNN;
  else if (coord == "tf_crop_and_resize") p.coord = Coord::kTfCropAndResize;
  else return ctx.error("coordinate_transformation_mode '" + coord + "' is not supported");
  const std::string nm = ctx.attr_string("nearest_mode", "round_prefer_floor");
  if (nm == "round_prefer_floor") p.nearest = NearestMode::kRoundPreferFloor;
  else if (nm == "round_prefer_ceil") p.nearest = NearestMode::kRoundPreferCeil;
  else if (nm == "floor") p.nearest = NearestMode::kFloor;
  else if (nm == "ceil") p.nearest = NearestMode::kCeil;
  else return ctx.error("nearest_mode '" + nm + "' is not supported");
  p.cubic_a = ctx.attr_float("cubic_coeff_a", -0.75f);
  p.exclude_outside = ctx.attr_int("exclude_outside", 0) != 0;
  p.extrapolation = ctx.attr_float("extrapolation_value", 0.f);
  p.antialias = ctx.attr_int("antialias", 0) != 0;
  const std::string policy = ctx.attr_string("keep_aspect_ratio_policy", "stretch");
  if (policy != "stretch" && policy != "not_larger" && policy != "not_smaller") {
    return ctx.error("keep_aspect_ratio_policy '" + policy + "' is not stretch, not_larger or not_smaller");
  }

  // The axes that roi, scales and sizes describe (opset 18); all axes by default.
  std::vector<int> axes;
  for (int64_t a : ctx.attr_ints("axes")) {
    if (a < -r || a >= r) return ctx.error("axis " + std::to_string(a) + " is out of range for rank " + std::to_string(r));
    const int ax = static_cast<int>(a < 0 ? a + r : a);
    if (std::find(axes.begin(), axes.end(), ax) != axes.end()) {
      return ctx.error("axes repeat axis " + std::to_string(ax));
    }
    axes.push_back(ax);
  }
  if (axes.empty()) {
    axes.resize(r);
    std::iota(axes.begin(), axes.end(), 0);
  }
  const size_t na = axes.size();

  std::vector<double> scales;
  std::vector<int64_t> sizes;
  if (ctx.has_input(2) && ctx.input(2).numel() > 0) {
    ASSIGN_OR_RETURN(scales, read_floats(ctx, ctx.input(2), "scales"));
  }
  if (ctx.has_input(3) && ctx.input(3).numel() > 0) {
    ASSIGN_OR_RETURN(sizes, read_ints(ctx, ctx.input(3), "sizes"));
  }
  if (!scales.empty() && !sizes.empty()) return ctx.error("only one of scales and sizes may be given");
  if (scales.empty() && sizes.empty()) return ctx.error("one of scales and sizes must be given");
  if (p.coord == Coord::kTfCropAndResize && ctx.has_input(1) && ctx.input(1).numel() > 0) {
    ASSIGN_OR_RETURN(std::vector<double> roi, read_floats(ctx, ctx.input(1), "roi"));
    if (roi.size() != 2 * na) {
      return ctx.error("roi has " + std::to_string(roi.size()) + " entries, expected " + std::to_string(2 * na));
    }
    for (size_t i = 0; i < na; ++i) {
      p.roi_start[axes[i]] = roi[i];
      p.roi_end[axes[i]] = roi[i + na];
    }
  }
  if (!scales.empty()) {
    if (scales.size() != na) {
      return ctx.error("scales has " + std::to_string(scales.size()) + " entries, expected " + std::to_string(na));
    }
    for (size_t i = 0; i < na; ++i) p.scales[axes[i]] = scales[i];
    RETURN_IF_ERROR(sizes_from_scales(ctx, x, p));
    return make_plan(p, x);
  }
  if (sizes.size() != na) {
    return ctx.error("sizes has " + std::to_string(sizes.size()) + " entries, expected " + std::to_string(na));
  }
  p.out_shape = x.shape();
  for (size_t i = 0; i < na; ++i) {
    const int a = axes[i];
    if (sizes[i] < 0 || sizes[i] > static_cast<int64_t>(kMaxDim)) {
      return ctx.error("sizes[" + std::to_string(i) + "] = " + std::to_string(sizes[i]) + " is invalid");
    }
    if (x.dim(a) == 0 && sizes[i] != 0) {
      return ctx.error("cannot resize the empty axis " + std::to_string(a) + " to " + std::to_string(sizes[i]));
    }
  }
  if (policy == "stretch") {
    for (size_t i = 0; i < na; ++i) {
      const int a = axes[i];
      p.out_shape[a] = sizes[i];
      p.scales[a] = x.dim(a) == 0 ? 1.0 : static_cast<double>(sizes[i]) / static_cast<double>(x.dim(a));
    }
  } else {
    double scale = policy == "not_larger" ? std::numeric_limits<double>::infinity() : 0.0;
    for (size_t i = 0; i < na; ++i) {
      const int a = axes[i];
      if (x.dim(a) == 0) continue;
      const double s = static_cast<double>(sizes[i]) / static_cast<double>(x.dim(a));
      scale = policy == "not_larger" ? std::min(scale, s) : std::max(scale, s);
    }
    if (!std::isfinite(scale)) scale = 1.0;
    for (size_t i = 0; i < na; ++i) {
      const int a = axes[i];
      p.scales[a] = scale;
      p.out_shape[a] = static_cast<int64_t>(std::floor(scale * static_cast<double>(x.dim(a)) + 0.5));
    }
  }
  for (int a = 0; a < r; ++a) {
    if (p.out_shape[a] > 0 && !(p.scales[a] > 0.0)) {
      return ctx.error("axis " + std::to_string(a) + " has a zero scale but a non-empty output");
    }
  }
  return make_plan(p, x);
}

Result<ResizePlan> upsample_impl(KernelContext& ctx) {
  RETURN_IF_ERROR(require_input(ctx, 0, "X"));
  const Tensor& x = ctx.input(0);
  Params p;
  ASSIGN_OR_RETURN(p.mode, mode_arg(ctx));
  std::vector<double> sc;
  if (ctx.has_input(1)) {
    ASSIGN_OR_RETURN(sc, read_floats(ctx, ctx.input(1), "scales"));
  } else if (ctx.has_attr("scales")) {
    for (float f : ctx.attr_floats("scales")) sc.push_back(f);
  } else {
    return ctx.error("scales is required");
  }
  if (static_cast<int>(sc.size()) != x.rank()) {
    return ctx.error("scales has " + std::to_string(sc.size()) + " entries, expected the input rank " +
                     std::to_string(x.rank()));
  }
  p.scales = sc;
  p.roi_start.assign(x.rank(), 0.0);
  p.roi_end.assign(x.rank(), 1.0);
  RETURN_IF_ERROR(sizes_from_scales(ctx, x, p));
  return make_plan(p, x);
}

}  // namespace

Result<ResizePlan> resize_plan(KernelContext& ctx) {
  return ctx.op_type() == "Upsample" ? upsample_impl(ctx) : resize_impl(ctx);
}

namespace {
Status run_plan(KernelContext& ctx) {
  ASSIGN_OR_RETURN(ResizePlan p, resize_plan(ctx));
  const Tensor& x = ctx.input(0);
  return p.nearest ? run_nearest(ctx, p, x) : run_interpolate(ctx, p, x);
}
}  // namespace

Status resize(KernelContext& ctx) { return run_plan(ctx); }
Status upsample(KernelContext& ctx) { return run_plan(ctx); }

}  // namespace edgeai::kernels::ref
