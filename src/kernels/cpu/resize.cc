// Resize and Upsample on f32 tensors. The plan (output shape, and which input elements each
// output index reads with which weights, per axis) is the reference's (ref::resize_plan), so both
// kernels accept the same nodes and sample the same points; this one runs the plan in f32:
// - nearest: one gather per output row (a copy where the last axis is not resized), rows split
//   over the thread pool;
// - linear and cubic where only the last two axes are resized (images, NCHW): per plane and band
//   of output rows, either the input rows an output row reads are interpolated along the last
//   axis once into scratch and each output row is then a weighted sum of 1-4 of them (the ISA's
//   blend_rows), or (shrinking) the input rows are blended first and the one row interpolated;
// - anything else (other axes resized, other dtypes) runs the reference kernel.
#include <algorithm>
#include <atomic>

#include "kernels/cpu/gemm.h"
#include "kernels/cpu/op_common.h"
#include "kernels/cpu/ops.h"
#include "kernels/reference/resize_plan.h"

namespace edgeai::kernels::cpu {
namespace {

// Below this many output elements one thread does all (the pool's wake-up costs more).
constexpr int64_t kParallelMin = int64_t(1) << 14;
// Taps per output index at most (cubic has 4; antialiased shrinking more); past it the reference runs.
constexpr int kMaxTaps = 16;

Status run_nearest(KernelContext& ctx, const FastState& s, const ref::ResizePlan& p, const Tensor& x) {
  const int r = x.rank();
  if (r == 0) return s.fall_back(ctx);
  ASSIGN_OR_RETURN(Tensor * y, ctx.allocate_output_uninitialized(0, DType::kF32, p.out_shape));
  if (y->numel() == 0) return ok_status();
  const std::vector<int64_t> in_strides = shape_strides(x.shape());
  const int64_t inner = p.out_shape[r - 1];
  const int64_t rows = y->numel() / inner;
  const std::vector<int64_t>& last = p.maps[r - 1];
  bool last_identity = x.dim(r - 1) == inner;
  for (int64_t j = 0; j < inner && last_identity; ++j) last_identity = last[j] == j;
  const float ext = static_cast<float>(p.extrapolation);
  const float* xd = x.data<float>();
  float* yd = y->data<float>();
  auto body = [&](int64_t r0, int64_t r1) {
    int64_t prev_off = -1;  // the input row the previous output row read (-1: none yet)
    for (int64_t row = r0; row < r1; ++row) {
      // The input row of output row `row`: its index along each outer axis, mapped.
      int64_t off = 0, rest = row;
      bool outside = false;
      for (int k = r - 2; k >= 0; --k) {
        const int64_t m = p.maps[k][rest % p.out_shape[k]];
        rest /= p.out_shape[k];
        if (m < 0) outside = true;
        off += m * in_strides[k];
      }
      float* dst = yd + row * inner;
      if (outside) {
        std::fill(dst, dst + inner, ext);
        prev_off = -1;
        continue;
      }
      if (off == prev_off) {  // upsampled rows: the row above read the same input row
        std::copy(dst - inner, dst, dst);
        continue;
      }
      prev_off = off;
      if (last_identity) {
        std::copy(xd + off, xd + off + inner, dst);
      } else {
        const float* src = xd + off;
        for (int64_t j = 0; j < inner; ++j) dst[j] = last[j] < 0 ? ext : src[last[j]];
      }
    }
  };
  if (y->numel() < kParallelMin || ctx.pool().num_threads() <= 1) body(0, rows);
  else ctx.pool().parallel_for(rows, std::max<int64_t>(1, kParallelMin / 4 / inner), body);
  return ok_status();
}

// One axis's taps with a fixed count k per output index (padded with weight 0 on the first tap's
// element), as f32, struct-of-arrays: index[t * n + x], weight[t * n + x].
struct FixedTaps {
  int k = 1;
  int64_t n = 0;
  std::vector<int32_t> index;  // input axes are below 2^31 where this runs (checked by the caller)
  std::vector<float> weight;
  std::vector<uint8_t> outside;
};

FixedTaps fixed_taps(const ref::ResizeTaps& t, int64_t out_len) {
  FixedTaps f;
  f.n = out_len;
  for (int64_t x = 0; x < out_len; ++x) f.k = std::max<int>(f.k, static_cast<int>(t.begin[x + 1] - t.begin[x]));
  f.index.assign(static_cast<size_t>(f.k * out_len), 0);
  f.weight.assign(static_cast<size_t>(f.k * out_len), 0.0f);
  f.outside = t.outside;
  for (int64_t x = 0; x < out_len; ++x) {
    const int64_t b = t.begin[x], e = t.begin[x + 1];
    if (b == e) {
      f.outside[x] = 1;  // no taps: only an extrapolated point has none
      continue;
    }
    for (int j = 0; j < f.k; ++j) {
      const bool real = b + j < e;
      f.index[j * out_len + x] = static_cast<int32_t>(t.index[real ? b + j : b]);
      f.weight[j * out_len + x] = real ? static_cast<float>(t.weight[b + j]) : 0.0f;
    }
  }
  return f;
}

FixedTaps identity_taps(int64_t n) {
  FixedTaps f;
  f.n = n;
  f.index.resize(n);
  for (int64_t i = 0; i < n; ++i) f.index[i] = static_cast<int32_t>(i);
  f.weight.assign(n, 1.0f);
  f.outside.assign(n, 0);
  return f;
}

// dst[x] = the taps of output x over src, or the extrapolation value outside; K taps (0: tw.k).
template <int K>
void interpolate_row(const FixedTaps& tw, const float* src, float* dst, float ext) {
  const int k = K > 0 ? K : tw.k;
  const int64_t n = tw.n;
  const int32_t* idx = tw.index.data();
  const float* w = tw.weight.data();
  for (int64_t x = 0; x < n; ++x) {
    float acc = w[x] * src[idx[x]];
    for (int j = 1; j < k; ++j) acc += w[j * n + x] * src[idx[j * n + x]];
    dst[x] = tw.outside[x] ? ext : acc;
  }
}

void interpolate_row_any(const FixedTaps& tw, const float* src, float* dst, float ext) {
  switch (tw.k) {
    case 1: return interpolate_row<1>(tw, src, dst, ext);
    case 2: return interpolate_row<2>(tw, src, dst, ext);
    case 4: return interpolate_row<4>(tw, src, dst, ext);
    default: return interpolate_row<0>(tw, src, dst, ext);
  }
}

Status run_interpolate(KernelContext& ctx, const FastState& s, const ref::ResizePlan& p, const Tensor& x) {
  const int r = x.rank();
  for (int a = 0; a + 2 < r; ++a) {
    if (!p.taps[a].identity) return s.fall_back(ctx);  // batch or channel resized: rare
  }
  if (r == 0) return s.fall_back(ctx);
  const int64_t in_h = r >= 2 ? x.dim(r - 2) : 1, in_w = x.dim(r - 1);
  const int64_t out_h = r >= 2 ? p.out_shape[r - 2] : 1, out_w = p.out_shape[r - 1];
  constexpr int64_t kMaxAxis = INT32_MAX;
  if (in_h > kMaxAxis || in_w > kMaxAxis || out_h > kMaxAxis || out_w > kMaxAxis) return s.fall_back(ctx);
  const FixedTaps th = r >= 2 && !p.taps[r - 2].identity ? fixed_taps(p.taps[r - 2], out_h) : identity_taps(out_h);
  const bool w_identity = p.taps[r - 1].identity;
  const FixedTaps tw = w_identity ? identity_taps(out_w) : fixed_taps(p.taps[r - 1], out_w);
  if (th.k > kMaxTaps || tw.k > kMaxTaps) return s.fall_back(ctx);
  ASSIGN_OR_RETURN(Tensor * y, ctx.allocate_output_uninitialized(0, DType::kF32, p.out_shape));
  if (y->numel() == 0) return ok_status();
  const int64_t planes = y->numel() / (out_h * out_w);
  const float ext = static_cast<float>(p.extrapolation);
  const float* xd = x.data<float>();
  float* yd = y->data<float>();
  const UKernels& uk = *s.uk;

  // Two orders. Rows first: interpolate each input row an output row reads along the last axis
  // (a scalar gather, kept in scratch), then blend those rows per output row (vector). Columns
  // first: blend input rows per output row at the input's width, then gather that one row. The
  // gather costs about 8 blended elements; the cheaper order runs (rows first for upsampling,
  // columns first when shrinking the rows).
  const double gather = 8.0;
  const double rows_first = gather * static_cast<double>(std::min(in_h, out_h * th.k)) * out_w * tw.k +
                            static_cast<double>(out_h) * out_w * th.k;
  const double cols_first = static_cast<double>(out_h) * in_w * th.k + gather * static_cast<double>(out_h) * out_w * tw.k;
  const bool by_rows = w_identity || rows_first <= cols_first;

  // Work units: a band of output rows of one plane. Few large planes split into bands so every
  // thread has work; a band interpolates only the input rows its output rows read.
  const int threads = ctx.pool().num_threads();
  const int64_t bands = planes >= 2 * threads ? 1 : std::min<int64_t>(out_h, (2 * threads + planes - 1) / planes);
  const int64_t band_rows = (out_h + bands - 1) / bands;
  const int64_t scratch = w_identity ? 0 : by_rows ? in_h * out_w : in_w;
  std::atomic<bool> failed{false};
  auto body = [&](int64_t u0, int64_t u1) {
    AlignedFloats buf(scratch);
    if (scratch && !buf.ok()) {
      failed = true;
      return;
    }
    std::vector<int64_t> done(by_rows ? static_cast<size_t>(in_h) : 0, -1);  // the unit that filled each scratch row
    const float* srcs[kMaxTaps];
    float ws[kMaxTaps];
    for (int64_t u = u0; u < u1; ++u) {
      const int64_t plane = u / bands, oy0 = (u % bands) * band_rows, oy1 = std::min(out_h, oy0 + band_rows);
      const float* xp = xd + plane * in_h * in_w;
      float* yp = yd + plane * out_h * out_w;
      // Input row `iy`, interpolated along the last axis (rows first) or as it is.
      auto row = [&](int64_t iy) -> const float* {
        const float* src = xp + iy * in_w;
        if (!by_rows || w_identity) return src;
        float* dst = buf.data() + iy * out_w;
        if (done[iy] != u) {
          done[iy] = u;
          interpolate_row_any(tw, src, dst, ext);
        }
        return dst;
      };
      for (int64_t oy = oy0; oy < oy1; ++oy) {
        float* dst = yp + oy * out_w;
        if (th.outside[oy]) {
          std::fill(dst, dst + out_w, ext);
          continue;
        }
        int k = 0;
        for (int j = 0; j < th.k; ++j) {
          const float w = th.weight[j * out_h + oy];
          if (w == 0.0f && k > 0) continue;
          srcs[k] = row(th.index[j * out_h + oy]);
          ws[k++] = w;
        }
        if (by_rows) {
          if (k == 1 && ws[0] == 1.0f) std::copy(srcs[0], srcs[0] + out_w, dst);
          else uk.blend_rows(srcs, ws, k, dst, out_w);
        } else {
          const float* blended = srcs[0];
          if (!(k == 1 && ws[0] == 1.0f)) {
            uk.blend_rows(srcs, ws, k, buf.data(), in_w);
            blended = buf.data();
          }
          interpolate_row_any(tw, blended, dst, ext);
        }
      }
    }
  };
  const int64_t units = planes * bands;
  if (y->numel() < kParallelMin || threads <= 1) body(0, units);
  else ctx.pool().parallel_for(units, 1, body);
  return failed ? out_of_memory(scratch) : ok_status();
}

}  // namespace

PrepareResult prepare_resize(PrepareContext& ctx) {
  std::unique_ptr<KernelState> none;
  if (!ctx.has_input(0) || declared_not_f32(ctx, 0)) return none;
  auto s = std::make_unique<FastState>();
  init_fast_state(ctx, "", s.get());
  return std::unique_ptr<KernelState>(std::move(s));
}

Status run_resize(KernelContext& ctx) {
  const FastState* s = state_of<FastState>(ctx);
  if (!is_f32_tensor(ctx, 0)) return s->fall_back(ctx);
  ASSIGN_OR_RETURN(ref::ResizePlan p, ref::resize_plan(ctx));
  if (!ctx.is_output_used(0)) return ok_status();
  const Tensor& x = ctx.input(0);
  return p.nearest ? run_nearest(ctx, *s, p, x) : run_interpolate(ctx, *s, p, x);
}

}  // namespace edgeai::kernels::cpu
