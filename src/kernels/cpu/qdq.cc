// QuantizeLinear (f32 -> u8 / s8) and DequantizeLinear (u8 / s8 -> f32) per tensor, with constant
// scale and zero point, and DynamicQuantizeLinear (the range of x, then QuantizeLinear to u8),
// vectorized (qgemm.h) and bit-exact with the reference kernels; tensors of more than 2^15 elements
// in chunks over the threads. Per-axis, int32 and other forms run the reference.
#include <algorithm>
#include <cmath>
#include <vector>

#if defined(__SSE2__)
#include <xmmintrin.h>
#endif

#include "kernels/cpu/op_common.h"
#include "kernels/cpu/ops.h"
#include "kernels/cpu/qgemm.h"

namespace edgeai::kernels::cpu {
namespace {

struct QdqState final : FastState {
  const QGemmKernels* qk = nullptr;
  float scale = 1.f;
  int32_t zp = 0;
  DType qtype = DType::kU8;  // the quantized side's dtype
};

Result<std::unique_ptr<KernelState>> prepare_qdq(PrepareContext& ctx, bool quantize) {
  std::unique_ptr<KernelState> none;
  if (ctx.num_inputs() < 2 || ctx.num_inputs() > 3 || !ctx.has_input(0)) return none;
  for (const char* a : {"block_size", "output_dtype"}) {
    if (ctx.has_attr(a) && ctx.attr_int(a, 0) != 0) return none;
  }
  const Tensor* s = ctx.constant_input(1);
  if (!s || s->dtype() != DType::kF32 || s->numel() != 1 || s->rank() > 1) return none;
  auto st = std::make_unique<QdqState>();
  init_fast_state(ctx, "", st.get());
  st->qk = &qgemm_for(ctx.cpu());
  st->scale = s->data<float>()[0];
  if (!std::isfinite(st->scale) || st->scale <= 0.f) return none;
  if (ctx.has_input(2)) {
    const Tensor* z = ctx.constant_input(2);
    if (!z || (z->dtype() != DType::kU8 && z->dtype() != DType::kI8) || z->numel() != 1 || z->rank() > 1) return none;
    st->qtype = z->dtype();
    st->zp = static_cast<int32_t>(z->get_int(0));
  } else if (!quantize) {
    return none;  // the input's dtype decides; rare
  }
  return std::unique_ptr<KernelState>(std::move(st));
}

// f(i0, n) over [0, total) in chunks of 2^15 elements, spread over the pool where there are
// several (a model's input: 150528 floats for 224 x 224 x 3).
template <typename F>
void over_chunks(KernelContext& ctx, int64_t total, F&& f) {
  constexpr int64_t kChunk = int64_t(1) << 15;
  const int64_t chunks = (total + kChunk - 1) / kChunk;
  auto body = [&](int64_t lo, int64_t hi) {
    for (int64_t c = lo; c < hi; ++c) f(c * kChunk, std::min(kChunk, total - c * kChunk));
  };
  if (chunks <= 1 || ctx.pool().num_threads() <= 1) body(0, chunks);
  else ctx.pool().parallel_for(chunks, 1, body);
}

}  // namespace

PrepareResult prepare_quantize_linear(PrepareContext& ctx) { return prepare_qdq(ctx, true); }
PrepareResult prepare_dequantize_linear(PrepareContext& ctx) { return prepare_qdq(ctx, false); }

Status run_quantize_linear(KernelContext& ctx) {
  const QdqState* s = state_of<QdqState>(ctx);
  if (!is_f32_tensor(ctx, 0)) return s->fall_back(ctx);
  const Tensor& x = ctx.input(0);
  if (!ctx.is_output_used(0)) return ok_status();
  ASSIGN_OR_RETURN(Tensor * y, ctx.allocate_output_uninitialized(0, s->qtype, x.shape()));
  const bool u8 = s->qtype == DType::kU8;
  over_chunks(ctx, x.numel(), [&](int64_t i0, int64_t n) {
    s->qk->quantize(x.data<float>() + i0, n, s->scale, s->zp, u8 ? 0 : -128, u8 ? 255 : 127, y->data<uint8_t>() + i0);
  });
  return ok_status();
}

Status run_dequantize_linear(KernelContext& ctx) {
  const QdqState* s = state_of<QdqState>(ctx);
  if (!ctx.input_value(0).is_tensor() || ctx.input(0).dtype() != s->qtype) return s->fall_back(ctx);
  const Tensor& x = ctx.input(0);
  if (!ctx.is_output_used(0)) return ok_status();
  ASSIGN_OR_RETURN(Tensor * y, ctx.allocate_output_uninitialized(0, DType::kF32, x.shape()));
  over_chunks(ctx, x.numel(), [&](int64_t i0, int64_t n) {
    s->qk->dequantize(x.data<uint8_t>() + i0, n, s->qtype == DType::kI8, s->zp, s->scale, y->data<float>() + i0);
  });
  return ok_status();
}

namespace {

// min(0, x...) and max(0, x...) over n floats, NaNs skipped: the reference's loop (a value replaces
// the bound only when strictly beyond it; minps / maxps return their second operand, the bound, when
// the value is NaN), so the same floats whatever the order.
void range_of(const float* x, int64_t n, float* lo, float* hi) {
  float l = 0.f, h = 0.f;
  int64_t i = 0;
#if defined(__SSE2__)
  __m128 l4[2] = {_mm_setzero_ps(), _mm_setzero_ps()}, h4[2] = {_mm_setzero_ps(), _mm_setzero_ps()};
  for (; i + 8 <= n; i += 8) {
    for (int u = 0; u < 2; ++u) {
      const __m128 v = _mm_loadu_ps(x + i + 4 * u);
      l4[u] = _mm_min_ps(v, l4[u]);
      h4[u] = _mm_max_ps(v, h4[u]);
    }
  }
  alignas(16) float lv[8], hv[8];
  for (int u = 0; u < 2; ++u) {
    _mm_store_ps(lv + 4 * u, l4[u]);
    _mm_store_ps(hv + 4 * u, h4[u]);
  }
  for (int u = 0; u < 8; ++u) {
    l = std::min(l, lv[u]);
    h = std::max(h, hv[u]);
  }
#endif
  for (; i < n; ++i) {
    if (std::isnan(x[i])) continue;
    l = std::min(l, x[i]);
    h = std::max(h, x[i]);
  }
  *lo = l;
  *hi = h;
}

}  // namespace

PrepareResult prepare_dynamic_quantize_linear(PrepareContext& ctx) {
  std::unique_ptr<KernelState> none;
  if (ctx.num_inputs() != 1 || !ctx.has_input(0) || declared_not_f32(ctx, 0)) return none;
  auto st = std::make_unique<QdqState>();
  init_fast_state(ctx, "", st.get());
  st->qk = &qgemm_for(ctx.cpu());
  return std::unique_ptr<KernelState>(std::move(st));
}

Status run_dynamic_quantize_linear(KernelContext& ctx) {
  const QdqState* s = state_of<QdqState>(ctx);
  if (!is_f32_tensor(ctx, 0)) return s->fall_back(ctx);
  const Tensor& x = ctx.input(0);
  const int64_t total = x.numel();
  constexpr int64_t kChunk = int64_t(1) << 15;
  std::vector<float> los(static_cast<size_t>((total + kChunk - 1) / kChunk)), his(los.size());
  over_chunks(ctx, total, [&](int64_t i0, int64_t n) { range_of(x.data<float>() + i0, n, &los[i0 / kChunk], &his[i0 / kChunk]); });
  float lo = 0.f, hi = 0.f;
  for (size_t c = 0; c < los.size(); ++c) {
    lo = std::min(lo, los[c]);
    hi = std::max(hi, his[c]);
  }
  if (std::isinf(lo) || std::isinf(hi)) return s->fall_back(ctx);  // the reference reports it
  // As the reference: scale = range / 255, zero point round_half_even(-lo / scale) in [0, 255].
  const float scale = (hi - lo) / 255.f;
  int32_t zp = 0;
  if (scale > 0.f) zp = static_cast<int32_t>(std::clamp(std::nearbyint(0.0 - static_cast<double>(lo / scale)), 0.0, 255.0));
  if (ctx.is_output_used(0)) {
    ASSIGN_OR_RETURN(Tensor * y, ctx.allocate_output_uninitialized(0, DType::kU8, x.shape()));
    uint8_t* yd = y->data<uint8_t>();
    over_chunks(ctx, total, [&](int64_t i0, int64_t n) {
      if (scale > 0.f) s->qk->quantize(x.data<float>() + i0, n, scale, zp, 0, 255, yd + i0);
      else std::fill(yd + i0, yd + i0 + n, static_cast<uint8_t>(zp));
    });
  }
  if (ctx.is_output_used(1)) {
    ASSIGN_OR_RETURN(Tensor * t, ctx.allocate_output(1, DType::kF32, {}));
    t->data<float>()[0] = scale;
  }
  if (ctx.is_output_used(2)) {
    ASSIGN_OR_RETURN(Tensor * t, ctx.allocate_output(2, DType::kU8, {}));
    t->data<uint8_t>()[0] = static_cast<uint8_t>(zp);
  }
  return ok_status();
}

}  // namespace edgeai::kernels::cpu
