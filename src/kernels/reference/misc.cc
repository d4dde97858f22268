// Reference kernels that fit no other family: NonMaxSuppression; the signal ops (DFT, STFT, the
// window functions, MelWeightMatrix); the text ops (StringNormalizer, TfIdfVectorizer); Dropout
// and the random generators; and the training optimizers of ai.onnx.preview.training (Adagrad,
// Adam, Momentum).
//
// Random numbers: every random op runs its own generator, seeded from its `seed` attribute, or
// from 0 when the attribute is absent, so a node gives the same output on every run. The
// generator is numpy's legacy one (MT19937 with init_genrand seeding, 53-bit doubles, polar
// Gaussians), so Dropout's training mask matches numpy's `np.random.seed(seed);
// np.random.uniform(size=shape) >= ratio` bit for bit.
#include <algorithm>
#include <cmath>
#include <complex>
#include <cstdint>
#include <map>
#include <numbers>
#include <string>
#include <string_view>
#include <vector>

#include "kernels/reference/dispatch.h"
#include "kernels/reference/registry.h"

namespace edgeai::kernels::ref {
namespace {

// Sizes that an input's value (not a shape) decides are capped here, so a hostile value cannot
// ask for an absurd allocation.
constexpr int64_t kMaxValueSized = int64_t(1) << 28;

std::string dt(DType t) { return std::string(dtype_name(t)); }
std::string num(int64_t v) { return std::to_string(v); }

// A scalar (or one-element) integer input.
Status read_int_scalar(KernelContext& ctx, int index, const char* what, int64_t& v) {
  if (!ctx.has_input(index)) return ctx.error(std::string(what) + " is required");
  const Tensor& t = ctx.input(index);
  if (t.dtype() != DType::kI32 && t.dtype() != DType::kI64) {
    return ctx.error(std::string(what) + " must be int32 or int64, got " + dt(t.dtype()));
  }
  if (t.numel() != 1 || t.rank() > 1) {
    return ctx.error(std::string(what) + " must be a scalar, got shape " + shape_str(t.shape()));
  }
  v = t.get_int(0);
  return ok_status();
}

// A scalar (or one-element) float input.
Status read_float_scalar(KernelContext& ctx, int index, const char* what, double& v) {
  if (!ctx.has_input(index)) return ctx.error(std::string(what) + " is required");
  const Tensor& t = ctx.input(index);
  if (!dtype_is_float(t.dtype())) {
    return ctx.error(std::string(what) + " must be a float tensor, got " + dt(t.dtype()));
  }
  if (t.numel() != 1 || t.rank() > 1) {
    return ctx.error(std::string(what) + " must be a scalar, got shape " + shape_str(t.shape()));
  }
  v = t.get_double(0);
  return ok_status();
}

// ================================ Random numbers ================================

// numpy's legacy RandomState generator.
class NumpyRandom {
 public:
  explicit NumpyRandom(uint32_t seed) {
    mt_[0] = seed;
    for (int i = 1; i < kN; ++i) mt_[i] = 1812433253u * (mt_[i - 1] ^ (mt_[i - 1] >> 30)) + static_cast<uint32_t>(i);
    pos_ = kN;
  }
  uint32_t next_u32() {
    if (pos_ >= kN) twist();
    uint32_t y = mt_[pos_++];
    y ^= y >> 11;
    y ^= (y << 7) & 0x9d2c5680u;
    y ^= (y << 15) & 0xefc60000u;
    y ^= y >> 18;
    return y;
  }
  // Uniform in [0, 1) with 53 random bits.
  double next_double() {
    const uint32_t a = next_u32() >> 5, b = next_u32() >> 6;
    return (a * 67108864.0 + b) / 9007199254740992.0;
  }
  // Standard normal (Marsaglia's polar method, one value cached).
  double next_gauss() {
    if (has_gauss_) {
      has_gauss_ = false;
      return gauss_;
    }
    double x1, x2, r2;
    do {
      x1 = 2.0 * next_double() - 1.0;
      x2 = 2.0 * next_double() - 1.0;
      r2 = x1 * x1 + x2 * x2;
    } while (r2 >= 1.0 || r2 == 0.0);
    const double f = std::sqrt(-2.0 * std::log(r2) / r2);
    gauss_ = f * x1;
    has_gauss_ = true;
    return f * x2;
  }

 private:
  static constexpr int kN = 624, kM = 397;
  void twist() {
    for (int i = 0; i < kN; ++i) {
      const uint32_t y = (mt_[i] & 0x80000000u) | (mt_[(i + 1) % kN] & 0x7fffffffu);
      mt_[i] = mt_[(i + kM) % kN] ^ (y >> 1) ^ ((y & 1u) ? 0x9908b0dfu : 0u);
    }
    pos_ = 0;
  }
  uint32_t mt_[kN];
  int pos_ = kN;
  bool has_gauss_ = false;
  double gauss_ = 0.0;
};

// The float `seed` attribute of the random ops as a generator seed (its integer part, modulo
// 2^32); 0 when absent.
Status float_seed(KernelContext& ctx, uint32_t& seed) {
  seed = 0;
  if (!ctx.has_attr("seed")) return ok_status();
  const double s = ctx.attr_float("seed", 0.f);
  if (!std::isfinite(s) || std::abs(s) > 9.0e18) return ctx.error("seed must be a finite number, got " + std::to_string(s));
  seed = static_cast<uint32_t>(static_cast<uint64_t>(static_cast<int64_t>(s)));
  return ok_status();
}

// The dtype attribute (an ONNX TensorProto data type number) of the random ops.
Status random_dtype(KernelContext& ctx, DType def, DType& out) {
  out = def;
  if (ctx.has_attr("dtype")) {
    const int64_t code = ctx.attr_int("dtype", 1);
    out = code < 0 || code > 1000 ? DType::kUndefined : dtype_from_onnx(static_cast<int>(code));
    if (out == DType::kUndefined) return ctx.error("unknown dtype " + num(code));
  }
  if (!dtype_is_float(out)) return ctx.error("output dtype must be a float type, got " + dt(out));
  return ok_status();
}

enum class Dist { kUniform, kNormal };

Status random_fill(KernelContext& ctx, Dist dist, const Shape& shape, DType dtype) {
  const double a = ctx.attr_float(dist == Dist::kUniform ? "low" : "mean", 0.f);
  const double b = ctx.attr_float(dist == Dist::kUniform ? "high" : "scale", 1.f);
  if (!std::isfinite(a) || !std::isfinite(b)) return ctx.error("distribution parameters must be finite");
  uint32_t seed;
  RETURN_IF_ERROR(float_seed(ctx, seed));
  if (!ctx.is_output_used(0)) return ok_status();
  ASSIGN_OR_RETURN(Tensor * y, ctx.allocate_output(0, dtype, shape));
  NumpyRandom rng(seed);
  return visit_float(dtype, [&]<typename T>() {
    T* out = y->data<T>();
    for (int64_t i = 0; i < y->numel(); ++i) {
      const double v = dist == Dist::kUniform ? a + (b - a) * rng.next_double() : a + b * rng.next_gauss();
      out[i] = from_f64<T>(v);
    }
    return ok_status();
  });
}

Status random_from_attr_shape(KernelContext& ctx, Dist dist) {
  if (!ctx.has_attr("shape")) return ctx.error("the shape attribute is required");
  Shape shape = ctx.attr_ints("shape");
  ASSIGN_OR_RETURN(int64_t n, checked_numel(shape, kMaxValueSized));
  (void)n;
  DType dtype;
  RETURN_IF_ERROR(random_dtype(ctx, DType::kF32, dtype));
  return random_fill(ctx, dist, shape, dtype);
}

Status random_like(KernelContext& ctx, Dist dist) {
  if (!ctx.has_input(0)) return ctx.error("input is required");
  const Tensor& x = ctx.input(0);
  DType dtype;
  if (!ctx.has_attr("dtype") && !dtype_is_float(x.dtype())) {
    return ctx.error("the dtype attribute is required when the input is not float, got input " + dt(x.dtype()));
  }
  RETURN_IF_ERROR(random_dtype(ctx, x.dtype(), dtype));
  return random_fill(ctx, dist, x.shape(), dtype);
}

Status random_uniform(KernelContext& ctx) { return random_from_attr_shape(ctx, Dist::kUniform); }
Status random_normal(KernelContext& ctx) { return random_from_attr_shape(ctx, Dist::kNormal); }
Status random_uniform_like(KernelContext& ctx) { return random_like(ctx, Dist::kUniform); }
Status random_normal_like(KernelContext& ctx) { return random_like(ctx, Dist::kNormal); }

Status bernoulli(KernelContext& ctx) {
  if (!ctx.has_input(0)) return ctx.error("input is required");
  const Tensor& x = ctx.input(0);
  if (!dtype_is_float(x.dtype())) return ctx.error("input must be a float tensor, got " + dt(x.dtype()));
  DType out_type = x.dtype();
  if (ctx.has_attr("dtype")) {
    const int64_t code = ctx.attr_int("dtype", 1);
    out_type = code < 0 || code > 1000 ? DType::kUndefined : dtype_from_onnx(static_cast<int>(code));
    if (out_type == DType::kUndefined || out_type == DType::kString) {
      return ctx.error("dtype " + num(code) + " is not a numeric or bool type");
    }
  }
  for (int64_t i = 0; i < x.numel(); ++i) {
    const double p = x.get_double(i);
    if (!(p >= 0.0 && p <= 1.0)) {
      return ctx.error("probabilities must be in [0, 1], got " + std::to_string(p) + " at " + num(i));
    }
  }
  uint32_t seed;
  RETURN_IF_ERROR(float_seed(ctx, seed));
  if (!ctx.is_output_used(0)) return ok_status();
  ASSIGN_OR_RETURN(Tensor * y, ctx.allocate_output(0, out_type, x.shape()));
  NumpyRandom rng(seed);
  return visit_all(out_type, [&]<typename T>() {
    if constexpr (std::is_same_v<T, std::string>) {
      return dtype_not_supported(out_type);
    } else {
      T* out = y->data<T>();
      for (int64_t i = 0; i < x.numel(); ++i) out[i] = from_f64<T>(rng.next_double() < x.get_double(i) ? 1.0 : 0.0);
      return ok_status();
    }
  });
}

Status multinomial(KernelContext& ctx) {
  if (!ctx.has_input(0)) return ctx.error("input is required");
  const Tensor& x = ctx.input(0);
  if (!dtype_is_float(x.dtype())) return ctx.error("input must be a float tensor, got " + dt(x.dtype()));
  if (x.rank() != 2) return ctx.error("input must have shape [batch_size, class_size], got " + shape_str(x.shape()));
  const int64_t sample_size = ctx.attr_int("sample_size", 1);
  if (sample_size <= 0 || sample_size > kMaxValueSized) return ctx.error("sample_size must be in [1, 2^28], got " + num(sample_size));
  const int64_t code = ctx.attr_int("dtype", 6);
  const DType out_type = code == 6 ? DType::kI32 : code == 7 ? DType::kI64 : DType::kUndefined;
  if (out_type == DType::kUndefined) return ctx.error("dtype must be 6 (int32) or 7 (int64), got " + num(code));
  const int64_t batch = x.dim(0), classes = x.dim(1);
  ASSIGN_OR_RETURN(int64_t n, checked_numel(Shape{batch, sample_size}, kMaxValueSized));
  (void)n;
  if (batch > 0 && classes == 0) return ctx.error("class_size must be positive");
  uint32_t seed;
  RETURN_IF_ERROR(float_seed(ctx, seed));
  if (!ctx.is_output_used(0)) return ok_status();
  ASSIGN_OR_RETURN(Tensor * y, ctx.allocate_output(0, out_type, {batch, sample_size}));
  NumpyRandom rng(seed);
  std::vector<double> cdf(static_cast<size_t>(classes));
  for (int64_t b = 0; b < batch; ++b) {
    // Logits are unnormalized log probabilities: weights exp(x - max).
    double mx = -INFINITY;
    for (int64_t c = 0; c < classes; ++c) {
      const double v = x.get_double(b * classes + c);
      if (std::isnan(v) || v == INFINITY) return ctx.error("logits must not be NaN or +inf");
      mx = std::max(mx, v);
    }
    if (mx == -INFINITY) return ctx.error("row " + num(b) + " has no class with positive probability");
    double total = 0;
    for (int64_t c = 0; c < classes; ++c) {
      total += std::exp(x.get_double(b * classes + c) - mx);
      cdf[c] = total;
    }
    for (int64_t s = 0; s < sample_size; ++s) {
      const double u = rng.next_double() * total;
      int64_t k = std::upper_bound(cdf.begin(), cdf.end(), u) - cdf.begin();
      if (k >= classes) k = classes - 1;
      if (out_type == DType::kI32) {
        y->data<int32_t>()[b * sample_size + s] = static_cast<int32_t>(k);
      } else {
        y->data<int64_t>()[b * sample_size + s] = k;
      }
    }
  }
  return ok_status();
}

// ================================ Dropout ================================

Status dropout(KernelContext& ctx) {
  if (!ctx.has_input(0)) return ctx.error("input data is required");
  const Tensor& x = ctx.input(0);
  if (!dtype_is_float(x.dtype())) return ctx.error("data must be a float tensor, got " + dt(x.dtype()));
  const int opset = ctx.opset();
  double ratio = 0.5;
  bool training = false;
  if (opset >= 12) {
    if (ctx.has_input(1)) RETURN_IF_ERROR(read_float_scalar(ctx, 1, "ratio", ratio));
    if (ctx.has_input(2)) {
      const Tensor& t = ctx.input(2);
      if (t.dtype() != DType::kBool || t.numel() != 1 || t.rank() > 1) {
        return ctx.error("training_mode must be a bool scalar, got " + dt(t.dtype()) + " " + shape_str(t.shape()));
      }
      training = t.data<bool>()[0];
    }
  } else {
    ratio = ctx.attr_float("ratio", 0.5f);
  }
  if (training && !(ratio >= 0.0 && ratio < 1.0)) {
    return ctx.error("ratio must be in [0, 1), got " + std::to_string(ratio));
  }
  const DType mask_type = opset >= 10 ? DType::kBool : x.dtype();
  if (!training || ratio == 0.0) {
    // Inference: the identity, and a mask of ones.
    if (ctx.is_output_used(0)) ctx.set_output(0, x);
    if (ctx.is_output_used(1)) {
      ASSIGN_OR_RETURN(Tensor * m, ctx.allocate_output(1, mask_type, x.shape()));
      return visit_all(mask_type, [&]<typename T>() {
        if constexpr (std::is_same_v<T, std::string>) {
          return dtype_not_supported(mask_type);
        } else {
          T* md = m->data<T>();
          for (int64_t i = 0; i < m->numel(); ++i) md[i] = from_f64<T>(1.0);
          return ok_status();
        }
      });
    }
    return ok_status();
  }
  const int64_t seed_attr = ctx.attr_int("seed", 0);
  NumpyRandom rng(static_cast<uint32_t>(static_cast<uint64_t>(seed_attr)));
  Tensor* y = nullptr;
  bool* mask = nullptr;
  if (ctx.is_output_used(0)) {
    ASSIGN_OR_RETURN(y, ctx.allocate_output(0, x.dtype(), x.shape()));
  }
  if (ctx.is_output_used(1)) {
    ASSIGN_OR_RETURN(Tensor * m, ctx.allocate_output(1, DType::kBool, x.shape()));
    mask = m->data<bool>();
  }
  const float scale = 1.0f / (1.0f - static_cast<float>(ratio));
  return visit_float(x.dtype(), [&]<typename T>() {
    const T* xd = x.data<T>();
    for (int64_t i = 0; i < x.numel(); ++i) {
      const bool keep = rng.next_double() >= ratio;
      if (mask) mask[i] = keep;
      if (y) y->data<T>()[i] = keep ? from_f64<T>(static_cast<float>(to_f64(xd[i])) * scale) : from_f64<T>(0.0);
    }
    return ok_status();
  });
}

// ================================ NonMaxSuppression ================================

struct Box {
  float x1, y1, x2, y2;  // x1 <= x2, y1 <= y2
};

inline Box make_box(const float* b, bool center) {
  if (center) {
    const float hw = b[2] / 2, hh = b[3] / 2;
    return {b[0] - hw, b[1] - hh, b[0] + hw, b[1] + hh};
  }
  return {std::min(b[1], b[3]), std::min(b[0], b[2]), std::max(b[1], b[3]), std::max(b[0], b[2])};
}

// Whether the IOU of a and b exceeds the threshold (boxes of no area never suppress).
inline bool suppresses(const Box& a, const Box& b, float threshold) {
  const float ix1 = std::max(a.x1, b.x1), ix2 = std::min(a.x2, b.x2);
  const float iy1 = std::max(a.y1, b.y1), iy2 = std::min(a.y2, b.y2);
  if (!(ix2 > ix1) || !(iy2 > iy1)) return false;
  const float inter = (ix2 - ix1) * (iy2 - iy1);
  const float area_a = (a.x2 - a.x1) * (a.y2 - a.y1), area_b = (b.x2 - b.x1) * (b.y2 - b.y1);
  const float uni = area_a + area_b - inter;
  if (!(area_a > 0) || !(area_b > 0) || !(uni > 0)) return false;
  return inter / uni > threshold;
}

Status non_max_suppression(KernelContext& ctx) {
  if (!ctx.has_input(0) || !ctx.has_input(1)) return ctx.error("inputs boxes and scores are required");
  const Tensor& boxes = ctx.input(0);
  const Tensor& scores = ctx.input(1);
  if (boxes.dtype() != DType::kF32 || scores.dtype() != DType::kF32) {
    return ctx.error("boxes and scores must be float32, got " + dt(boxes.dtype()) + " and " + dt(scores.dtype()));
  }
  if (boxes.rank() != 3 || boxes.dim(2) != 4) {
    return ctx.error("boxes must have shape [num_batches, spatial_dimension, 4], got " + shape_str(boxes.shape()));
  }
  if (scores.rank() != 3 || scores.dim(0) != boxes.dim(0) || scores.dim(2) != boxes.dim(1)) {
    return ctx.error("scores must have shape [" + num(boxes.dim(0)) + ", num_classes, " + num(boxes.dim(1)) +
                     "], got " + shape_str(scores.shape()));
  }
  int64_t max_out = 0;
  if (ctx.has_input(2)) {
    const Tensor& t = ctx.input(2);
    if (t.dtype() != DType::kI64 || t.numel() != 1 || t.rank() > 1) {
      return ctx.error("max_output_boxes_per_class must be an int64 scalar, got " + dt(t.dtype()) + " " + shape_str(t.shape()));
    }
    max_out = std::max<int64_t>(0, t.data<int64_t>()[0]);
  }
  float iou_threshold = 0.f, score_threshold = 0.f;
  bool has_score_threshold = false;
  for (int i : {3, 4}) {
    if (!ctx.has_input(i)) continue;
    const Tensor& t = ctx.input(i);
    if (t.dtype() != DType::kF32 || t.numel() != 1 || t.rank() > 1) {
      return ctx.error(std::string(i == 3 ? "iou_threshold" : "score_threshold") + " must be a float32 scalar, got " +
                       dt(t.dtype()) + " " + shape_str(t.shape()));
    }
    if (i == 3) iou_threshold = t.data<float>()[0];
    if (i == 4) {
      score_threshold = t.data<float>()[0];
      has_score_threshold = true;
    }
  }
  if (!(iou_threshold >= 0.f && iou_threshold <= 1.f)) {
    return ctx.error("iou_threshold must be in [0, 1], got " + std::to_string(iou_threshold));
  }
  const int64_t center = ctx.attr_int("center_point_box", 0);
  if (center != 0 && center != 1) return ctx.error("center_point_box must be 0 or 1, got " + num(center));

  const int64_t nb = boxes.dim(0), nc = scores.dim(1), ns = boxes.dim(1);
  max_out = std::min(max_out, ns);
  std::vector<int64_t> selected;  // triples
  std::vector<Box> bx(static_cast<size_t>(ns));
  std::vector<int64_t> cand, picked;
  for (int64_t b = 0; b < nb; ++b) {
    for (int64_t s = 0; s < ns; ++s) bx[s] = make_box(boxes.data<float>() + (b * ns + s) * 4, center == 1);
    for (int64_t c = 0; c < nc; ++c) {
      const float* sc = scores.data<float>() + (b * nc + c) * ns;
      cand.clear();
      for (int64_t s = 0; s < ns; ++s) {
        if (std::isnan(sc[s])) continue;
        if (!has_score_threshold || sc[s] > score_threshold) cand.push_back(s);
      }
      // Highest score first; equal scores in index order.
      std::stable_sort(cand.begin(), cand.end(), [&](int64_t l, int64_t r) { return sc[l] > sc[r]; });
      picked.clear();
      for (int64_t s : cand) {
        if (static_cast<int64_t>(picked.size()) >= max_out) break;
        bool keep = true;
        for (int64_t p : picked) {
          if (suppresses(bx[p], bx[s], iou_threshold)) {
            keep = false;
            break;
          }
        }
        if (!keep) continue;
        picked.push_back(s);
        selected.insert(selected.end(), {b, c, s});
      }
    }
  }
  if (!ctx.is_output_used(0)) return ok_status();
  const int64_t count = static_cast<int64_t>(selected.size() / 3);
  ASSIGN_OR_RETURN(Tensor * y, ctx.allocate_output(0, DType::kI64, {count, 3}));
  std::copy(selected.begin(), selected.end(), y->data<int64_t>());
  return ok_status();
}

// ================================ Signal ================================

// A discrete Fourier transform of one length, reused for many signals: radix 2 when the length
// is a power of two, Bluestein's chirp-z (over a power-of-two FFT) for long other lengths, and
// the direct sum for short ones.
class Dft {
 public:
  using C = std::complex<double>;
  Dft(int64_t n, bool inverse) : n_(n), inverse_(inverse) {
    pow2_ = n > 0 && (n & (n - 1)) == 0;
    if (pow2_) {
      init_fft(n_, inverse_, tw_);
    } else if (n_ <= 64) {
      tw_.resize(static_cast<size_t>(n_));
      const double sign = inverse_ ? 1.0 : -1.0;
      for (int64_t k = 0; k < n_; ++k) tw_[k] = std::polar(1.0, sign * 2.0 * std::numbers::pi * k / n_);
    } else {
      // Bluestein: X_k = w_k * sum_j (x_j w_j) conj(w_{k-j}), with w_k = exp(sign i pi k^2 / n).
      m_ = 1;
      while (m_ < 2 * n_ - 1) m_ *= 2;
      init_fft(m_, false, tw_);
      init_fft(m_, true, itw_);
      chirp_.resize(static_cast<size_t>(n_));
      const double sign = inverse_ ? 1.0 : -1.0;
      for (int64_t k = 0; k < n_; ++k) {
        const int64_t k2 = (k * k) % (2 * n_);
        chirp_[k] = std::polar(1.0, sign * std::numbers::pi * static_cast<double>(k2) / n_);
      }
      kernel_.assign(static_cast<size_t>(m_), C(0, 0));
      kernel_[0] = std::conj(chirp_[0]);
      for (int64_t k = 1; k < n_; ++k) kernel_[k] = kernel_[m_ - k] = std::conj(chirp_[k]);
      fft(kernel_, tw_);
      work_.resize(static_cast<size_t>(m_));
    }
  }

  // In place on n values; the inverse includes the 1/n factor.
  void run(std::vector<C>& v) {
    if (pow2_) {
      fft(v, tw_);
    } else if (n_ <= 64) {
      work_.assign(v.begin(), v.end());
      for (int64_t k = 0; k < n_; ++k) {
        C s(0, 0);
        for (int64_t j = 0; j < n_; ++j) s += work_[j] * tw_[(j * k) % n_];
        v[k] = s;
      }
    } else {
      std::fill(work_.begin(), work_.end(), C(0, 0));
      for (int64_t j = 0; j < n_; ++j) work_[j] = v[j] * chirp_[j];
      fft(work_, tw_);
      for (int64_t j = 0; j < m_; ++j) work_[j] *= kernel_[j];
      fft(work_, itw_);
      for (int64_t k = 0; k < n_; ++k) v[k] = work_[k] / static_cast<double>(m_) * chirp_[k];
    }
    if (inverse_) {
      for (int64_t k = 0; k < n_; ++k) v[k] /= static_cast<double>(n_);
    }
  }

 private:
  static void init_fft(int64_t n, bool inverse, std::vector<C>& tw) {
    tw.resize(static_cast<size_t>(n / 2 + 1));
    const double sign = inverse ? 1.0 : -1.0;
    for (int64_t k = 0; k <= n / 2; ++k) tw[k] = std::polar(1.0, sign * 2.0 * std::numbers::pi * k / n);
  }
  // Iterative radix-2 FFT (no scaling) of v.size() values with twiddles tw.
  static void fft(std::vector<C>& v, const std::vector<C>& tw) {
    const int64_t n = static_cast<int64_t>(v.size());
    for (int64_t i = 1, j = 0; i < n; ++i) {
      int64_t bit = n >> 1;
      for (; j & bit; bit >>= 1) j ^= bit;
      j ^= bit;
      if (i < j) std::swap(v[i], v[j]);
    }
    for (int64_t len = 2; len <= n; len <<= 1) {
      const int64_t step = n / len;
      for (int64_t i = 0; i < n; i += len) {
        for (int64_t k = 0; k < len / 2; ++k) {
          const C t = v[i + k + len / 2] * tw[k * step];
          v[i + k + len / 2] = v[i + k] - t;
          v[i + k] += t;
        }
      }
    }
  }

  int64_t n_;
  bool inverse_;
  bool pow2_ = false;
  int64_t m_ = 0;
  std::vector<C> tw_, itw_, chirp_, kernel_, work_;
};

Status dft(KernelContext& ctx) {
  if (!ctx.has_input(0)) return ctx.error("input is required");
  const Tensor& x = ctx.input(0);
  if (!dtype_is_float(x.dtype())) return ctx.error("input must be a float tensor, got " + dt(x.dtype()));
  const int rank = x.rank();
  if (rank < 3 || (x.dim(rank - 1) != 1 && x.dim(rank - 1) != 2)) {
    return ctx.error("input must have shape [batch, signal dims..., 1 or 2], got " + shape_str(x.shape()));
  }
  int64_t axis = ctx.attr_int("axis", 1);
  if (axis < 0) axis += rank;
  if (axis < 0 || axis > rank - 2) {
    return ctx.error("axis " + num(ctx.attr_int("axis", 1)) + " is outside the signal dimensions of shape " + shape_str(x.shape()));
  }
  const bool inverse = ctx.attr_int("inverse", 0) != 0;
  const bool onesided = ctx.attr_int("onesided", 0) != 0;
  int64_t n = x.dim(axis);
  if (ctx.has_input(1)) {
    RETURN_IF_ERROR(read_int_scalar(ctx, 1, "dft_length", n));
    if (n <= 0 || n > kMaxValueSized) return ctx.error("dft_length must be in [1, 2^28], got " + num(n));
  }
  if (n <= 0) return ctx.error("the signal on axis " + num(axis) + " is empty");
  const int64_t nout = onesided ? n / 2 + 1 : n;
  Shape out_shape = x.shape();
  out_shape[axis] = nout;
  out_shape[rank - 1] = 2;
  ASSIGN_OR_RETURN(int64_t total, checked_numel(out_shape, kMaxValueSized));
  (void)total;
  if (!ctx.is_output_used(0)) return ok_status();
  ASSIGN_OR_RETURN(Tensor * y, ctx.allocate_output(0, x.dtype(), out_shape));
  const int64_t comps = x.dim(rank - 1), len = x.dim(axis);
  int64_t outer = 1, inner = 1;
  for (int i = 0; i < axis; ++i) outer *= x.dim(i);
  for (int i = static_cast<int>(axis) + 1; i < rank - 1; ++i) inner *= x.dim(i);
  Dft plan(n, inverse);
  std::vector<Dft::C> v(static_cast<size_t>(n));
  return visit_float(x.dtype(), [&]<typename T>() {
    const T* xd = x.data<T>();
    T* yd = y->data<T>();
    for (int64_t o = 0; o < outer; ++o) {
      for (int64_t i = 0; i < inner; ++i) {
        for (int64_t j = 0; j < n; ++j) {
          if (j < len) {
            const T* p = xd + ((o * len + j) * inner + i) * comps;
            v[j] = Dft::C(to_f64(p[0]), comps == 2 ? to_f64(p[1]) : 0.0);
          } else {
            v[j] = Dft::C(0, 0);
          }
        }
        plan.run(v);
        for (int64_t k = 0; k < nout; ++k) {
          T* q = yd + ((o * nout + k) * inner + i) * 2;
          q[0] = from_f64<T>(v[k].real());
          q[1] = from_f64<T>(v[k].imag());
        }
      }
    }
    return ok_status();
  });
}

Status stft(KernelContext& ctx) {
  if (!ctx.has_input(0)) return ctx.error("signal is required");
  const Tensor& x = ctx.input(0);
  if (!dtype_is_float(x.dtype())) return ctx.error("signal must be a float tensor, got " + dt(x.dtype()));
  if (x.rank() != 3 || (x.dim(2) != 1 && x.dim(2) != 2)) {
    return ctx.error("signal must have shape [batch, signal_length, 1 or 2], got " + shape_str(x.shape()));
  }
  int64_t step = 0;
  RETURN_IF_ERROR(read_int_scalar(ctx, 1, "frame_step", step));
  if (step <= 0) return ctx.error("frame_step must be positive, got " + num(step));
  const Tensor* window = ctx.has_input(2) ? &ctx.input(2) : nullptr;
  if (window) {
    if (window->rank() != 1) return ctx.error("window must be 1-D, got shape " + shape_str(window->shape()));
    if (window->dtype() != x.dtype()) {
      return ctx.error("window must have the signal's dtype " + dt(x.dtype()) + ", got " + dt(window->dtype()));
    }
  }
  int64_t frame_length = window ? window->dim(0) : 0;
  if (ctx.has_input(3)) {
    RETURN_IF_ERROR(read_int_scalar(ctx, 3, "frame_length", frame_length));
    if (window && window->dim(0) != frame_length) {
      return ctx.error("window has " + num(window->dim(0)) + " values but frame_length is " + num(frame_length));
    }
  } else if (!window) {
    return ctx.error("one of window and frame_length is required");
  }
  const int64_t sig_len = x.dim(1), comps = x.dim(2), batch = x.dim(0);
  if (frame_length <= 0 || frame_length > sig_len) {
    return ctx.error("frame_length must be in [1, signal_length " + num(sig_len) + "], got " + num(frame_length));
  }
  const bool onesided = ctx.attr_int("onesided", 1) != 0;
  const int64_t frames = (sig_len - frame_length) / step + 1;
  const int64_t bins = onesided ? frame_length / 2 + 1 : frame_length;
  const Shape out_shape{batch, frames, bins, 2};
  ASSIGN_OR_RETURN(int64_t total, checked_numel(out_shape, kMaxValueSized));
  (void)total;
  if (!ctx.is_output_used(0)) return ok_status();
  ASSIGN_OR_RETURN(Tensor * y, ctx.allocate_output(0, x.dtype(), out_shape));
  Dft plan(frame_length, false);
  std::vector<Dft::C> v(static_cast<size_t>(frame_length));
  return visit_float(x.dtype(), [&]<typename T>() {
    const T* xd = x.data<T>();
    const T* wd = window ? window->data<T>() : nullptr;
    T* yd = y->data<T>();
    for (int64_t b = 0; b < batch; ++b) {
      for (int64_t f = 0; f < frames; ++f) {
        for (int64_t j = 0; j < frame_length; ++j) {
          const T* p = xd + (b * sig_len + f * step + j) * comps;
          const double w = wd ? to_f64(wd[j]) : 1.0;
          v[j] = Dft::C(to_f64(p[0]) * w, comps == 2 ? to_f64(p[1]) * w : 0.0);
        }
        plan.run(v);
        T* q = yd + (b * frames + f) * bins * 2;
        for (int64_t k = 0; k < bins; ++k) {
          q[2 * k] = from_f64<T>(v[k].real());
          q[2 * k + 1] = from_f64<T>(v[k].imag());
        }
      }
    }
    return ok_status();
  });
}

// The output_datatype attribute of the signal generators (default float).
Status output_datatype(KernelContext& ctx, DType& out) {
  const int64_t code = ctx.attr_int("output_datatype", 1);
  out = code < 0 || code > 1000 ? DType::kUndefined : dtype_from_onnx(static_cast<int>(code));
  if (out == DType::kUndefined || out == DType::kString || out == DType::kBool) {
    return ctx.error("output_datatype " + num(code) + " is not a numeric type");
  }
  return ok_status();
}

// Writes values from f(i) (double) into a new output of the requested type.
template <typename F>
Status write_generated(KernelContext& ctx, DType dtype, const Shape& shape, F&& f) {
  ASSIGN_OR_RETURN(Tensor * y, ctx.allocate_output(0, dtype, shape));
  return visit_numeric(dtype, [&]<typename T>() {
    T* out = y->data<T>();
    for (int64_t i = 0; i < y->numel(); ++i) out[i] = from_f64<T>(f(i));
    return ok_status();
  });
}

enum class WindowKind { kHann, kHamming, kBlackman };

Status window_fn(KernelContext& ctx, WindowKind kind) {
  int64_t size = 0;
  RETURN_IF_ERROR(read_int_scalar(ctx, 0, "size", size));
  if (size < 0 || size > kMaxValueSized) return ctx.error("size must be in [0, 2^28], got " + num(size));
  DType dtype;
  RETURN_IF_ERROR(output_datatype(ctx, dtype));
  if (!ctx.is_output_used(0)) return ok_status();
  const bool periodic = ctx.attr_int("periodic", 1) != 0;
  const double n = static_cast<double>(periodic ? size : size - 1);
  const double two_pi = 2.0 * std::numbers::pi;
  return write_generated(ctx, dtype, {size}, [&](int64_t i) -> double {
    if (n <= 0) return 1.0;  // a window of one sample
    const double a = two_pi * static_cast<double>(i) / n;
    switch (kind) {
      case WindowKind::kHann: return 0.5 - 0.5 * std::cos(a);
      case WindowKind::kHamming: return 25.0 / 46.0 - (21.0 / 46.0) * std::cos(a);
      case WindowKind::kBlackman: return 0.42 - 0.5 * std::cos(a) + 0.08 * std::cos(2.0 * a);
    }
    return 0.0;
  });
}

Status hann_window(KernelContext& ctx) { return window_fn(ctx, WindowKind::kHann); }
Status hamming_window(KernelContext& ctx) { return window_fn(ctx, WindowKind::kHamming); }
Status blackman_window(KernelContext& ctx) { return window_fn(ctx, WindowKind::kBlackman); }

Status mel_weight_matrix(KernelContext& ctx) {
  int64_t num_mel = 0, dft_length = 0, sample_rate = 0;
  double lower = 0, upper = 0;
  RETURN_IF_ERROR(read_int_scalar(ctx, 0, "num_mel_bins", num_mel));
  RETURN_IF_ERROR(read_int_scalar(ctx, 1, "dft_length", dft_length));
  RETURN_IF_ERROR(read_int_scalar(ctx, 2, "sample_rate", sample_rate));
  RETURN_IF_ERROR(read_float_scalar(ctx, 3, "lower_edge_hertz", lower));
  RETURN_IF_ERROR(read_float_scalar(ctx, 4, "upper_edge_hertz", upper));
  if (num_mel <= 0 || dft_length <= 0 || sample_rate <= 0) {
    return ctx.error("num_mel_bins, dft_length and sample_rate must be positive, got " + num(num_mel) + ", " +
                     num(dft_length) + ", " + num(sample_rate));
  }
  if (!std::isfinite(lower) || !std::isfinite(upper) || lower < 0 || upper < lower) {
    return ctx.error("need 0 <= lower_edge_hertz <= upper_edge_hertz, got " + std::to_string(lower) + " and " +
                     std::to_string(upper));
  }
  const int64_t spec_bins = dft_length / 2 + 1;
  ASSIGN_OR_RETURN(int64_t total, checked_numel(Shape{spec_bins, num_mel}, kMaxValueSized));
  (void)total;
  DType dtype;
  RETURN_IF_ERROR(output_datatype(ctx, dtype));
  if (!ctx.is_output_used(0)) return ok_status();
  // Bin edges: num_mel + 2 points evenly spaced on the mel scale (the step divides by the number
  // of points, as the ONNX reference does), mapped to DFT bins.
  auto hz_to_mel = [](double hz) { return 2595.0 * std::log10(1.0 + hz / 700.0); };
  const double lo_mel = hz_to_mel(lower), hi_mel = hz_to_mel(upper);
  const double step = (hi_mel - lo_mel) / static_cast<double>(num_mel + 2);
  std::vector<int64_t> edges(static_cast<size_t>(num_mel + 2));
  for (int64_t i = 0; i < num_mel + 2; ++i) {
    const double hz = 700.0 * (std::pow(10.0, (i * step + lo_mel) / 2595.0) - 1.0);
    const double bin = std::floor(static_cast<double>(dft_length + 1) * hz / static_cast<double>(sample_rate));
    edges[i] = static_cast<int64_t>(std::clamp(bin, -1.0, static_cast<double>(spec_bins) + 1.0));
  }
  ASSIGN_OR_RETURN(Tensor * y, ctx.allocate_output(0, dtype, {spec_bins, num_mel}));
  return visit_numeric(dtype, [&]<typename T>() {
    T* w = y->data<T>();  // zeroed
    auto set = [&](int64_t row, int64_t col, double v) {
      if (row >= 0 && row < spec_bins) w[row * num_mel + col] = from_f64<T>(v);
    };
    for (int64_t i = 0; i < num_mel; ++i) {
      const int64_t left = edges[i], center = edges[i + 1], right = edges[i + 2];
      const int64_t up = center - left;
      if (up == 0) {
        set(center, i, 1.0);
      } else {
        for (int64_t j = left; j <= center; ++j) set(j, i, static_cast<double>(j - left) / static_cast<double>(up));
      }
      const int64_t down = right - center;
      if (down > 0) {
        for (int64_t j = center; j < right; ++j) set(j, i, static_cast<double>(right - j) / static_cast<double>(down));
      }
    }
    return ok_status();
  });
}

// ================================ Text ================================

std::string ascii_lower(std::string_view s) {
  std::string r(s);
  for (char& c : r) c = (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
  return r;
}
std::string ascii_upper(std::string_view s) {
  std::string r(s);
  for (char& c : r) c = (c >= 'a' && c <= 'z') ? static_cast<char>(c - 'a' + 'A') : c;
  return r;
}

// Case changes and case-insensitive matching are ASCII-only; other bytes (UTF-8) pass unchanged.
Status string_normalizer(KernelContext& ctx) {
  if (!ctx.has_input(0)) return ctx.error("input X is required");
  const Tensor& x = ctx.input(0);
  if (x.dtype() != DType::kString) return ctx.error("X must be a string tensor, got " + dt(x.dtype()));
  const bool two_d = x.rank() == 2;
  if (!(x.rank() == 1 || (two_d && x.dim(0) == 1))) {
    return ctx.error("X must have shape [C] or [1, C], got " + shape_str(x.shape()));
  }
  const std::string action = ctx.attr_string("case_change_action", "NONE");
  if (action != "NONE" && action != "LOWER" && action != "UPPER") {
    return ctx.error("case_change_action must be NONE, LOWER or UPPER, got '" + action + "'");
  }
  const bool case_sensitive = ctx.attr_int("is_case_sensitive", 0) != 0;
  std::vector<std::string> stop = ctx.attr_strings("stopwords");
  if (!case_sensitive) {
    for (std::string& s : stop) s = ascii_lower(s);
  }
  std::sort(stop.begin(), stop.end());
  const std::string* xs = x.data<std::string>();
  std::vector<std::string> kept;
  for (int64_t i = 0; i < x.numel(); ++i) {
    const std::string key = case_sensitive ? xs[i] : ascii_lower(xs[i]);
    if (std::binary_search(stop.begin(), stop.end(), key)) continue;
    kept.push_back(action == "LOWER" ? ascii_lower(xs[i]) : action == "UPPER" ? ascii_upper(xs[i]) : xs[i]);
  }
  if (!ctx.is_output_used(0)) return ok_status();
  // When every word is a stopword the output holds one empty string.
  const int64_t n = kept.empty() ? 1 : static_cast<int64_t>(kept.size());
  ASSIGN_OR_RETURN(Tensor * y, ctx.allocate_output(0, DType::kString, two_d ? Shape{1, n} : Shape{n}));
  for (size_t i = 0; i < kept.size(); ++i) y->data<std::string>()[i] = std::move(kept[i]);
  return ok_status();
}

// Counts the pool's n-grams in each row of X. Tok is int64_t or std::string_view.
template <typename Tok>
struct NgramPool {
  // For each n (1..max_n), the n-grams of that length and their pool index.
  std::vector<std::map<std::vector<Tok>, int64_t>> by_len;
};

Status tfidf_vectorizer(KernelContext& ctx) {
  if (!ctx.has_input(0)) return ctx.error("input X is required");
  const Tensor& x = ctx.input(0);
  const bool is_str = x.dtype() == DType::kString;
  if (!is_str && x.dtype() != DType::kI32 && x.dtype() != DType::kI64) {
    return ctx.error("X must be string, int32 or int64, got " + dt(x.dtype()));
  }
  if (x.rank() != 1 && x.rank() != 2) return ctx.error("X must have shape [C] or [N, C], got " + shape_str(x.shape()));
  const int64_t min_n = ctx.attr_int("min_gram_length", 0), max_n = ctx.attr_int("max_gram_length", 0);
  const int64_t max_skip = ctx.attr_int("max_skip_count", 0);
  if (min_n < 1 || max_n < min_n || max_n > 1024) {
    return ctx.error("need 1 <= min_gram_length <= max_gram_length <= 1024, got " + num(min_n) + " and " + num(max_n));
  }
  if (max_skip < 0) return ctx.error("max_skip_count must be >= 0, got " + num(max_skip));
  const std::string mode = ctx.attr_string("mode", "");
  if (mode != "TF" && mode != "IDF" && mode != "TFIDF") return ctx.error("mode must be TF, IDF or TFIDF, got '" + mode + "'");
  const std::vector<int64_t> counts = ctx.attr_ints("ngram_counts");
  const std::vector<int64_t> indexes = ctx.attr_ints("ngram_indexes");
  const std::vector<float> weights = ctx.attr_floats("weights");
  const std::vector<int64_t> pool_i = ctx.attr_ints("pool_int64s");
  const std::vector<std::string> pool_s = ctx.attr_strings("pool_strings");
  if (is_str && !pool_i.empty()) return ctx.error("string input needs pool_strings, not pool_int64s");
  if (!is_str && !pool_s.empty()) return ctx.error("integer input needs pool_int64s, not pool_strings");
  const int64_t pool_size = static_cast<int64_t>(is_str ? pool_s.size() : pool_i.size());

  // Split the pool into levels: level l holds (l+1)-grams from counts[l] to counts[l+1].
  const int64_t levels = static_cast<int64_t>(counts.size());
  std::vector<int64_t> level_start(counts), level_end(static_cast<size_t>(levels));
  int64_t total_ngrams = 0;
  for (int64_t l = 0; l < levels; ++l) {
    level_end[l] = l + 1 < levels ? counts[l + 1] : pool_size;
    if (counts[l] < 0 || counts[l] > level_end[l] || level_end[l] > pool_size) {
      return ctx.error("ngram_counts must be non-decreasing offsets into the pool of " + num(pool_size) + ", got " + shape_str(counts));
    }
    if ((level_end[l] - level_start[l]) % (l + 1) != 0) {
      return ctx.error("pool entries for " + num(l + 1) + "-grams are not a multiple of " + num(l + 1));
    }
    total_ngrams += (level_end[l] - level_start[l]) / (l + 1);
  }
  if (static_cast<int64_t>(indexes.size()) != total_ngrams) {
    return ctx.error("ngram_indexes has " + num(indexes.size()) + " entries but the pool holds " + num(total_ngrams) + " n-grams");
  }
  if (!weights.empty() && weights.size() != indexes.size()) {
    return ctx.error("weights has " + num(weights.size()) + " entries, expected " + num(indexes.size()));
  }
  int64_t out_dim = 0;
  for (int64_t v : indexes) {
    if (v < 0 || v >= kMaxValueSized) return ctx.error("ngram_indexes must be in [0, 2^28), got " + num(v));
    out_dim = std::max(out_dim, v + 1);
  }
  const int64_t rows = x.rank() == 2 ? x.dim(0) : 1;
  const int64_t cols = x.rank() == 2 ? x.dim(1) : x.dim(0);
  const Shape out_shape = x.rank() == 2 ? Shape{rows, out_dim} : Shape{out_dim};
  ASSIGN_OR_RETURN(int64_t out_total, checked_numel(out_shape, kMaxValueSized));
  (void)out_total;

  std::vector<int64_t> freq(static_cast<size_t>(total_ngrams));
  auto run = [&]<typename Tok>(auto&& pool_tok, auto&& x_tok) -> Status {
    NgramPool<Tok> pool;
    pool.by_len.resize(static_cast<size_t>(max_n + 1));
    int64_t id = 0;
    for (int64_t l = 0; l < levels; ++l) {
      const int64_t n = l + 1;
      for (int64_t s = level_start[l]; s < level_end[l]; s += n, ++id) {
        if (n > max_n) continue;
        std::vector<Tok> key;
        for (int64_t k = 0; k < n; ++k) key.push_back(pool_tok(s + k));
        pool.by_len[n].emplace(std::move(key), id);
      }
    }
    if (!ctx.is_output_used(0)) return ok_status();
    ASSIGN_OR_RETURN(Tensor * y, ctx.allocate_output(0, DType::kF32, out_shape));
    std::vector<Tok> key;
    key.reserve(static_cast<size_t>(max_n));
    for (int64_t r = 0; r < rows; ++r) {
      std::fill(freq.begin(), freq.end(), 0);
      for (int64_t start = 0; start < cols; ++start) {
        for (int64_t skip = 0; skip <= max_skip; ++skip) {
          const int64_t stride = skip + 1;
          // Unigrams do not depend on the skip; count them once.
          for (int64_t n = (skip == 0 ? min_n : std::max<int64_t>(min_n, 2)); n <= max_n; ++n) {
            if (pool.by_len[n].empty()) continue;
            if (start + (n - 1) * stride >= cols) break;
            key.clear();
            for (int64_t k = 0; k < n; ++k) key.push_back(x_tok(r * cols + start + k * stride));
            auto it = pool.by_len[n].find(key);
            if (it != pool.by_len[n].end()) ++freq[it->second];
          }
          if (start + stride >= cols && skip > 0) break;  // larger skips reach nothing more
        }
      }
      float* out = y->data<float>() + r * out_dim;
      for (int64_t g = 0; g < total_ngrams; ++g) {
        if (freq[g] == 0) continue;
        const float w = weights.empty() ? 1.f : weights[g];
        const float v = mode == "TF" ? static_cast<float>(freq[g]) : mode == "IDF" ? w : static_cast<float>(freq[g]) * w;
        out[indexes[g]] += v;
      }
    }
    return ok_status();
  };
  if (is_str) {
    const std::string* xs = x.data<std::string>();
    return run.template operator()<std::string_view>([&](int64_t i) { return std::string_view(pool_s[i]); },
                                                     [&](int64_t i) { return std::string_view(xs[i]); });
  }
  return run.template operator()<int64_t>([&](int64_t i) { return pool_i[i]; },
                                          [&](int64_t i) { return x.get_int(i); });
}

// ================================ Training optimizers ================================

// Inputs R, T, then `groups` lists of n tensors (X..., G..., and the optimizer's state lists).
struct OptimizerIo {
  int64_t n = 0;
  double r = 0;
  int64_t t = 0;
};

Status optimizer_inputs(KernelContext& ctx, int lists, OptimizerIo& io) {
  const int count = ctx.num_inputs() - 2;
  if (count <= 0 || count % lists != 0) {
    return ctx.error("expected R, T and " + num(lists) + " lists of equal length, got " + num(ctx.num_inputs()) + " inputs");
  }
  io.n = count / lists;
  if (ctx.num_outputs() > (lists - 1) * io.n) {
    return ctx.error("expected at most " + num((lists - 1) * io.n) + " outputs, got " + num(ctx.num_outputs()));
  }
  RETURN_IF_ERROR(read_float_scalar(ctx, 0, "R", io.r));
  if (!ctx.has_input(1)) return ctx.error("T is required");
  const Tensor& t = ctx.input(1);
  if (t.dtype() != DType::kI64 || t.numel() != 1 || t.rank() > 1) {
    return ctx.error("T must be an int64 scalar, got " + dt(t.dtype()) + " " + shape_str(t.shape()));
  }
  io.t = t.data<int64_t>()[0];
  for (int64_t i = 0; i < io.n; ++i) {
    if (!ctx.has_input(2 + static_cast<int>(i))) return ctx.error("input X" + num(i + 1) + " is missing");
    const Tensor& x = ctx.input(2 + static_cast<int>(i));
    if (x.dtype() != DType::kF32 && x.dtype() != DType::kF64) {
      return ctx.error("X" + num(i + 1) + " must be float or double, got " + dt(x.dtype()));
    }
    for (int l = 1; l < lists; ++l) {
      const int k = 2 + static_cast<int>(l * io.n + i);
      if (!ctx.has_input(k)) return ctx.error("input " + num(k) + " is missing");
      const Tensor& o = ctx.input(k);
      if (o.dtype() != x.dtype() || o.shape() != x.shape()) {
        return ctx.error("input " + num(k) + " must match X" + num(i + 1) + " (" + dt(x.dtype()) + " " + shape_str(x.shape()) +
                         "), got " + dt(o.dtype()) + " " + shape_str(o.shape()));
      }
    }
  }
  return ok_status();
}

// Runs `step(e, in[lists], out[lists-1])` for every element of every tensor group, in double.
template <typename Step>
Status optimizer_apply(KernelContext& ctx, int lists, const OptimizerIo& io, Step&& step) {
  for (int64_t i = 0; i < io.n; ++i) {
    const Tensor& x = ctx.input(2 + static_cast<int>(i));
    std::vector<const Tensor*> ins;
    for (int l = 0; l < lists; ++l) ins.push_back(&ctx.input(2 + static_cast<int>(l * io.n + i)));
    std::vector<Tensor*> outs(static_cast<size_t>(lists - 1), nullptr);
    for (int l = 0; l < lists - 1; ++l) {
      const int o = static_cast<int>(l * io.n + i);
      if (!ctx.is_output_used(o)) continue;
      ASSIGN_OR_RETURN(outs[l], ctx.allocate_output(o, x.dtype(), x.shape()));
    }
    double in[4] = {0, 0, 0, 0}, out[3] = {0, 0, 0};
    for (int64_t e = 0; e < x.numel(); ++e) {
      for (int l = 0; l < lists; ++l) in[l] = ins[l]->get_double(e);
      step(in, out);
      for (int l = 0; l < lists - 1; ++l) {
        if (!outs[l]) continue;
        if (x.dtype() == DType::kF32) {
          outs[l]->data<float>()[e] = static_cast<float>(out[l]);
        } else {
          outs[l]->data<double>()[e] = out[l];
        }
      }
    }
  }
  return ok_status();
}

Status adagrad(KernelContext& ctx) {
  OptimizerIo io;
  RETURN_IF_ERROR(optimizer_inputs(ctx, 3, io));
  const double decay = ctx.attr_float("decay_factor", 0.f);
  const double eps = ctx.attr_float("epsilon", 1e-6f);
  const double norm = ctx.attr_float("norm_coefficient", 0.f);
  const double r = io.r / (1.0 + static_cast<double>(io.t) * decay);
  return optimizer_apply(ctx, 3, io, [&](const double* in, double* out) {
    const double g = norm * in[0] + in[1];
    const double h = in[2] + g * g;
    out[0] = in[0] - r * g / (std::sqrt(h) + eps);
    out[1] = h;
  });
}

Status adam(KernelContext& ctx) {
  OptimizerIo io;
  RETURN_IF_ERROR(optimizer_inputs(ctx, 4, io));
  const double alpha = ctx.attr_float("alpha", 0.9f);
  const double beta = ctx.attr_float("beta", 0.999f);
  const double eps = ctx.attr_float("epsilon", 1e-6f);
  const double norm = ctx.attr_float("norm_coefficient", 0.f);
  const double norm_post = ctx.attr_float("norm_coefficient_post", 0.f);
  double r = io.r;
  if (io.t > 0) {
    const double t = static_cast<double>(io.t);
    r = io.r * std::sqrt(1.0 - std::pow(beta, t)) / (1.0 - std::pow(alpha, t));
  }
  return optimizer_apply(ctx, 4, io, [&](const double* in, double* out) {
    const double g = norm * in[0] + in[1];
    const double v = alpha * in[2] + (1.0 - alpha) * g;
    const double h = beta * in[3] + (1.0 - beta) * g * g;
    const double x = in[0] - r * v / (std::sqrt(h) + eps);
    out[0] = (1.0 - norm_post) * x;
    out[1] = v;
    out[2] = h;
  });
}

Status momentum(KernelContext& ctx) {
  OptimizerIo io;
  RETURN_IF_ERROR(optimizer_inputs(ctx, 3, io));
  for (const char* a : {"alpha", "beta", "mode", "norm_coefficient"}) {
    if (!ctx.has_attr(a)) return ctx.error(std::string("attribute ") + a + " is required");
  }
  const double alpha = ctx.attr_float("alpha", 0.f);
  const double beta = io.t > 0 ? ctx.attr_float("beta", 0.f) : 1.0;
  const double norm = ctx.attr_float("norm_coefficient", 0.f);
  const std::string mode = ctx.attr_string("mode", "");
  if (mode != "standard" && mode != "nesterov") return ctx.error("mode must be standard or nesterov, got '" + mode + "'");
  const bool nesterov = mode == "nesterov";
  return optimizer_apply(ctx, 3, io, [&](const double* in, double* out) {
    const double g = norm * in[0] + in[1];
    const double v = alpha * in[2] + beta * g;
    out[0] = nesterov ? in[0] - io.r * (g + alpha * v) : in[0] - io.r * v;
    out[1] = v;
  });
}

}  // namespace

std::span<const KernelEntry> misc_kernels() {
  static const KernelEntry kTable[] = {
      {"", "NonMaxSuppression", non_max_suppression},
      {"", "DFT", dft},
      {"", "STFT", stft},
      {"", "HannWindow", hann_window},
      {"", "HammingWindow", hamming_window},
      {"", "BlackmanWindow", blackman_window},
      {"", "MelWeightMatrix", mel_weight_matrix},
      {"", "StringNormalizer", string_normalizer},
      {"", "TfIdfVectorizer", tfidf_vectorizer},
      {"", "Dropout", dropout},
      {"", "Bernoulli", bernoulli},
      {"", "RandomUniform", random_uniform},
      {"", "RandomNormal", random_normal},
      {"", "RandomUniformLike", random_uniform_like},
      {"", "RandomNormalLike", random_normal_like},
      {"", "Multinomial", multinomial},
      {"ai.onnx.preview.training", "Adagrad", adagrad},
      {"ai.onnx.preview.training", "Adam", adam},
      {"ai.onnx.preview.training", "Momentum", momentum},
  };
  return kTable;
}

}  // namespace edgeai::kernels::ref
