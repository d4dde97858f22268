// QLinearMatMul with a constant weight B [K, N] (s8, zero points 0, per-tensor or per-column
// scales) and a per-tensor u8 or s8 A [..., K] (any rank, the leading dims flattened into rows),
// and MatMulInteger with such a B (the int32 sums; A's zero point may come at run time, as
// DynamicQuantizeLinear makes it: `edgeai quantize --mode dynamic`),
// bit-exact with the reference kernel (src/kernels/reference/quant.cc): the weights transposed and
// prepacked once at preparation (qgemm.h's A, output feature n is row n), the rows of A packed
// per call straight into B's layout and multiplied on the integer GEMM tables (qmatmul.h). s8
// activations are read as u8 (x + 128, zero point + 128: the same differences). Other nodes
// (activation x activation products, per-row scales, weight zero points, sums that could
// overflow int32) run the reference kernel, which also reports malformed inputs.
#include "kernels/cpu/qmatmul.h"

#include <algorithm>
#include <atomic>
#include <bit>
#include <cmath>
#include <cstring>

#include "kernels/cpu/gemm.h"
#include "kernels/cpu/op_common.h"
#include "kernels/cpu/ops.h"

#if defined(__SSE2__)
#include <xmmintrin.h>
#include <emmintrin.h>
#endif

namespace edgeai::kernels::cpu {

void qpack_rows(const uint8_t* x, int64_t ldx, int64_t n, int64_t k, int64_t kq, uint8_t flip, uint8_t* dst) {
  const int64_t full = k / 4, tail = k % 4;
  const uint32_t flip4 = uint32_t(flip) * 0x01010101u;
  for (int64_t j0 = 0; j0 < n; j0 += 16) {
    uint8_t* blk = dst + (j0 / 16) * kq * 64;
    const int64_t cols = std::min<int64_t>(16, n - j0);
    for (int64_t c = 0; c < cols; ++c) {
      const uint8_t* row = x + (j0 + c) * ldx;
      uint8_t* out = blk + c * 4;
      for (int64_t q = 0; q < full; ++q) {
        uint32_t v;
        std::memcpy(&v, row + 4 * q, 4);
        v ^= flip4;
        std::memcpy(out + q * 64, &v, 4);
      }
      for (int64_t q = full; q < kq; ++q) {
        uint8_t t[4] = {0, 0, 0, 0};
        if (q == full) {
          for (int64_t i = 0; i < tail; ++i) t[i] = row[4 * q + i] ^ flip;
        }
        std::memcpy(out + q * 64, t, 4);
      }
    }
    for (int64_t c = cols; c < 16; ++c) {
      for (int64_t q = 0; q < kq; ++q) std::memset(blk + q * 64 + c * 4, 0, 4);
    }
  }
}

namespace {

static_assert(std::endian::native == std::endian::little, "qtranspose_bytes reads rows as little-endian words");

// Transposes the 8x8 bytes held as 8 little-endian words (byte j of v[i] is element (i, j)).
inline void transpose8x8(uint64_t v[8]) {
  for (int i = 0; i < 8; i += 2) {
    const uint64_t t = ((v[i] >> 8) ^ v[i + 1]) & 0x00FF00FF00FF00FFull;
    v[i + 1] ^= t;
    v[i] ^= t << 8;
  }
  for (int i : {0, 1, 4, 5}) {
    const uint64_t t = ((v[i] >> 16) ^ v[i + 2]) & 0x0000FFFF0000FFFFull;
    v[i + 2] ^= t;
    v[i] ^= t << 16;
  }
  for (int i = 0; i < 4; ++i) {
    const uint64_t t = ((v[i] >> 32) ^ v[i + 4]) & 0x00000000FFFFFFFFull;
    v[i + 4] ^= t;
    v[i] ^= t << 32;
  }
}

}  // namespace

// Both transposes walk the destination row by row (blocks of its rows outermost): with the rows
// of Y a feature count apart (4 KB for 1024 int32 features), stepping across them in the inner
// loop hit one cache set each time and missed on every block (half the time of a MatMulInteger).
void qtranspose_bytes(const uint8_t* src, int64_t lds, int64_t rows, int64_t cols, uint8_t* dst, int64_t ldd) {
  int64_t c = 0;
  for (; c + 8 <= cols; c += 8) {
    int64_t r = 0;
    for (; r + 8 <= rows; r += 8) {
      uint64_t v[8];
      for (int i = 0; i < 8; ++i) std::memcpy(&v[i], src + (r + i) * lds + c, 8);
      transpose8x8(v);
      for (int j = 0; j < 8; ++j) std::memcpy(dst + (c + j) * ldd + r, &v[j], 8);
    }
    for (; r < rows; ++r) {
      for (int64_t j = 0; j < 8; ++j) dst[(c + j) * ldd + r] = src[r * lds + c + j];
    }
  }
  for (; c < cols; ++c) {
    for (int64_t r = 0; r < rows; ++r) dst[c * ldd + r] = src[r * lds + c];
  }
}

void qtranspose_words(const int32_t* src, int64_t lds, int64_t rows, int64_t cols, int32_t* dst, int64_t ldd) {
  int64_t c = 0;
#if defined(__SSE2__)
  for (; c + 4 <= cols; c += 4) {
    int64_t r = 0;
    for (; r + 4 <= rows; r += 4) {
      __m128 v0 = _mm_castsi128_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(src + r * lds + c)));
      __m128 v1 = _mm_castsi128_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(src + (r + 1) * lds + c)));
      __m128 v2 = _mm_castsi128_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(src + (r + 2) * lds + c)));
      __m128 v3 = _mm_castsi128_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(src + (r + 3) * lds + c)));
      _MM_TRANSPOSE4_PS(v0, v1, v2, v3);
      _mm_storeu_si128(reinterpret_cast<__m128i*>(dst + c * ldd + r), _mm_castps_si128(v0));
      _mm_storeu_si128(reinterpret_cast<__m128i*>(dst + (c + 1) * ldd + r), _mm_castps_si128(v1));
      _mm_storeu_si128(reinterpret_cast<__m128i*>(dst + (c + 2) * ldd + r), _mm_castps_si128(v2));
      _mm_storeu_si128(reinterpret_cast<__m128i*>(dst + (c + 3) * ldd + r), _mm_castps_si128(v3));
    }
    for (; r < rows; ++r) {
      for (int64_t j = 0; j < 4; ++j) dst[(c + j) * ldd + r] = src[r * lds + c + j];
    }
  }
#endif
  for (; c < cols; ++c) {
    for (int64_t r = 0; r < rows; ++r) dst[c * ldd + r] = src[r * lds + c];
  }
}

Status qgemm_rows(const QRowsGemm& p, const uint8_t* x, int64_t ldx, int64_t rows, void* y, ThreadPool& pool) {
  if (rows <= 0 || p.m <= 0) return ok_status();
  const int64_t kq = (p.k + 3) / 4, block_bytes = kq * 64, blocks = (rows + 15) / 16;
  const int64_t panels = (p.m + kQMR - 1) / kQMR;
  const int threads = rows * p.m * p.k < (int64_t(1) << 20) ? 1 : pool.num_threads();
  // Columns (rows of X) in chunks of whole 48-column units (the widest tile) where there are enough
  // for the threads, else of 16; at most ~256 KB packed per chunk. With fewer chunks than threads,
  // the weight rows are split too (each task packs its chunk itself).
  const int64_t unit = blocks >= 6 * int64_t(threads) ? 3 : 1;
  const int64_t units = (blocks + unit - 1) / unit;
  const int64_t chunk_units = std::max<int64_t>(1, (int64_t(256) << 10) / (block_bytes * unit));
  const int64_t chunks = std::max((units + chunk_units - 1) / chunk_units, std::min<int64_t>(units, threads));
  const int64_t splits = chunks >= threads ? 1 : std::min(panels, (threads + chunks - 1) / chunks);
  const int64_t max_cols = (units + chunks - 1) / chunks * unit * 16;
  const int64_t max_rows = (panels + splits - 1) / splits * kQMR;
  const QGemmKernels& qk = *p.qk;
  std::atomic<bool> failed{false};
  auto body = [&](int64_t b, int64_t e) {
    const int64_t out_bytes = p.int32_out ? 4 : 1;
    AlignedFloats packed((max_cols / 16 * block_bytes + 3) / 4), tmp((max_rows * max_cols * out_bytes + 3) / 4);
    if (!packed.ok() || !tmp.ok()) {
      failed = true;
      return;
    }
    uint8_t* pb = reinterpret_cast<uint8_t*>(packed.data());
    uint8_t* tb = reinterpret_cast<uint8_t*>(tmp.data());
    for (int64_t t = b; t < e; ++t) {
      const int64_t ch = t / splits, sp = t % splits;
      const int64_t j0 = units * ch / chunks * unit * 16;
      const int64_t ncols = std::min(units * (ch + 1) / chunks * unit * 16, rows) - j0;
      const int64_t p0 = panels * sp / splits, p1 = panels * (sp + 1) / splits;
      if (ncols <= 0 || p1 <= p0) continue;
      qpack_rows(x + j0 * ldx, ldx, ncols, p.k, kq, p.x_flip, pb);
      QGemmBlock blk;
      blk.m = std::min(p.m, p1 * kQMR) - p0 * kQMR;
      blk.n = ncols;
      blk.kq = kq;
      blk.a = p.a + p0 * kq * kQMR * 4;
      blk.b = pb;
      blk.y = tb;
      blk.ldy = ncols;
      blk.corr = p.corr + p0 * kQMR;
      blk.mult = p.mult + p0 * kQMR;
      blk.zy = p.zy;
      blk.qmin = p.qmin;
      blk.qmax = p.qmax;
      blk.mult_below_one = p.mult_below_one;
      if (p.int32_out) {
        blk.y32 = reinterpret_cast<int32_t*>(tb);
        qk.gemm(blk);
        qtranspose_words(blk.y32, ncols, blk.m, ncols, static_cast<int32_t*>(y) + j0 * p.m + p0 * kQMR, p.m);
      } else {
        qk.gemm(blk);
        qtranspose_bytes(tb, ncols, blk.m, ncols, static_cast<uint8_t*>(y) + j0 * p.m + p0 * kQMR, p.m);
      }
    }
  };
  const int64_t tasks = chunks * splits;
  if (threads <= 1) body(0, tasks);
  else pool.parallel_for(tasks, 1, body);
  return failed ? out_of_memory(max_cols / 16 * block_bytes / 4) : ok_status();
}

namespace {

// W [K, N] (s8, row-major) transposed (feature i is row i) and packed as qgemm.h's A into `packed`;
// `wsum` gets each feature's sum of weights (for the zero point's correction).
void pack_weight_rows(const int8_t* wd, int64_t k, int64_t n, std::vector<int8_t>* packed,
                      std::vector<int64_t>* wsum) {
  std::vector<int8_t> wt(static_cast<size_t>(n * k));
  wsum->assign(static_cast<size_t>(n), 0);
  for (int64_t i = 0; i < n; ++i) {
    for (int64_t kk = 0; kk < k; ++kk) {
      wt[i * k + kk] = wd[kk * n + i];
      (*wsum)[i] += wd[kk * n + i];
    }
  }
  packed->resize(static_cast<size_t>(qgemm_a_bytes(n, k)));
  qgemm_pack_a(wt.data(), n, k, packed->data());
}

struct QMatMulState final : FastState {
  QRowsGemm g;
  int64_t n = 0;
  DType x_type = DType::kU8, y_type = DType::kU8;
  std::vector<int8_t> wpacked;
  std::vector<int32_t> corr;
  std::vector<float> mult;
};

// A positive finite f32 scalar (or one element) constant.
bool scalar_scale(const Tensor* t, float* v) {
  if (!t || t->dtype() != DType::kF32 || t->numel() != 1 || t->rank() > 1) return false;
  *v = t->data<float>()[0];
  return std::isfinite(*v) && *v > 0.f;
}

// A scalar (or one element) 8-bit zero point constant: its dtype and value.
bool scalar_q8_zp(const Tensor* t, DType* type, int32_t* v) {
  if (!t || (t->dtype() != DType::kU8 && t->dtype() != DType::kI8) || t->numel() != 1 || t->rank() > 1) return false;
  *type = t->dtype();
  *v = static_cast<int32_t>(t->get_int(0));
  return true;
}

}  // namespace

namespace {

PrepareResult prepare_qlinear_matmul_in(PrepareContext& ctx, std::string_view domain) {
  std::unique_ptr<KernelState> none;
  if (ctx.num_inputs() != 8 && !(ctx.num_inputs() == 9 && !domain.empty())) return none;
  for (int i = 0; i < ctx.num_inputs(); ++i) {
    if (!ctx.has_input(i)) return none;
  }
  const int32_t* bias = nullptr;
  if (ctx.num_inputs() == 9) {
    const Tensor* b = ctx.constant_input(8);
    if (!b || b->dtype() != DType::kI32 || b->rank() != 1) return none;
    bias = b->data<int32_t>();
  }
  auto s = std::make_unique<QMatMulState>();
  init_fast_state(ctx, domain, s.get());
  QRowsGemm& g = s->g;
  g.qk = &qgemm_for(ctx.cpu());
  float sx = 0.f, sy = 0.f;
  int32_t zx = 0;
  if (!scalar_scale(ctx.constant_input(1), &sx) || !scalar_q8_zp(ctx.constant_input(2), &s->x_type, &zx) ||
      !scalar_scale(ctx.constant_input(6), &sy) || !scalar_q8_zp(ctx.constant_input(7), &s->y_type, &g.zy)) {
    return none;
  }
  DType xt;
  std::vector<int64_t> xshape;
  if (ctx.declared_type(0, &xt, &xshape) && xt != s->x_type && xt != DType::kUndefined) return none;
  const Tensor* w = ctx.constant_input(3);
  const Tensor* ws = ctx.constant_input(4);
  const Tensor* wz = ctx.constant_input(5);
  if (!w || w->dtype() != DType::kI8 || w->rank() != 2 || w->dim(0) == 0 || w->dim(1) == 0) return none;
  const int64_t k = w->dim(0), n = w->dim(1);
  if (bias && ctx.constant_input(8)->dim(0) != n) return none;
  // Per tensor or per column; zero points all 0.
  if (!ws || ws->dtype() != DType::kF32 || !(ws->numel() == 1 ? ws->rank() <= 1 : ws->rank() == 1 && ws->dim(0) == n)) {
    return none;
  }
  if (!wz || wz->dtype() != DType::kI8 || wz->shape() != ws->shape()) return none;
  for (int64_t i = 0; i < wz->numel(); ++i) {
    if (wz->get_int(i) != 0) return none;
  }
  if (2 * k * 255 * 128 >= (int64_t(1) << 31)) return none;  // |acc| and |corr| stay in int32
  g.qmin = s->y_type == DType::kU8 ? 0 : -128;
  g.qmax = s->y_type == DType::kU8 ? 255 : 127;
  g.x_flip = s->x_type == DType::kI8 ? 0x80 : 0;
  const int32_t zx_u8 = zx + (s->x_type == DType::kI8 ? 128 : 0);
  s->n = n;
  s->mult.resize(n);
  s->corr.resize(n);
  g.mult_below_one = true;
  for (int64_t i = 0; i < n; ++i) {
    const float swi = ws->data<float>()[ws->numel() == 1 ? 0 : i];
    if (!std::isfinite(swi) || swi <= 0.f) return none;
    s->mult[i] = static_cast<float>(static_cast<double>(sx) * swi / sy);  // as the reference computes it
    if (!std::isfinite(s->mult[i])) return none;
    g.mult_below_one = g.mult_below_one && s->mult[i] < 1.f;
    if (bias && 2 * k * 255 * 128 + std::abs(int64_t(bias[i])) >= (int64_t(1) << 31)) return none;  // acc + corr in int32
  }
  std::vector<int64_t> wsum;
  pack_weight_rows(w->data<int8_t>(), k, n, &s->wpacked, &wsum);
  for (int64_t i = 0; i < n; ++i) s->corr[i] = static_cast<int32_t>((bias ? bias[i] : 0) - int64_t(zx_u8) * wsum[i]);
  g.a = s->wpacked.data();
  g.m = n;
  g.k = k;
  g.corr = s->corr.data();
  g.mult = s->mult.data();
  return std::unique_ptr<KernelState>(std::move(s));
}

}  // namespace

PrepareResult prepare_qlinear_matmul(PrepareContext& ctx) { return prepare_qlinear_matmul_in(ctx, ""); }
PrepareResult prepare_edgeai_qlinear_matmul(PrepareContext& ctx) {
  return prepare_qlinear_matmul_in(ctx, "com.edgeai");
}

Status run_qlinear_matmul(KernelContext& ctx) {
  const QMatMulState* s = state_of<QMatMulState>(ctx);
  if (!ctx.has_input(0) || !ctx.input_value(0).is_tensor()) return s->fall_back(ctx);
  const Tensor& x = ctx.input(0);
  if (x.dtype() != s->x_type || x.rank() < 1 || x.dim(x.rank() - 1) != s->g.k) return s->fall_back(ctx);
  if (!ctx.is_output_used(0)) return ok_status();
  Shape out_shape(x.shape().begin(), x.shape().end() - 1);
  out_shape.push_back(s->n);
  ASSIGN_OR_RETURN(Tensor * y, ctx.allocate_output_uninitialized(0, s->y_type, out_shape));
  const int64_t rows = x.numel() / s->g.k;
  return qgemm_rows(s->g, x.data<uint8_t>(), s->g.k, rows, y->data<uint8_t>(), ctx.pool());
}


namespace {

// MatMulInteger with a constant s8 B: the per-feature weight sums for the run-time zero point.
struct QMatMulIntegerState final : FastState {
  QRowsGemm g;
  std::vector<int8_t> wpacked;
  std::vector<int64_t> wsum;  // [N]
  std::vector<float> ones;    // the GEMM's multipliers, unused for int32 sums
};

}  // namespace

PrepareResult prepare_matmul_integer(PrepareContext& ctx) {
  std::unique_ptr<KernelState> none;
  if (ctx.num_inputs() < 2 || ctx.num_inputs() > 4 || !ctx.has_input(0) || !ctx.has_input(1)) return none;
  auto s = std::make_unique<QMatMulIntegerState>();
  init_fast_state(ctx, "", s.get());
  const Tensor* w = ctx.constant_input(1);
  if (!w || w->dtype() != DType::kI8 || w->rank() != 2 || w->dim(0) == 0 || w->dim(1) == 0) return none;
  const int64_t k = w->dim(0), n = w->dim(1);
  if (2 * k * 255 * 128 >= (int64_t(1) << 31)) return none;  // |acc| and |corr| stay in int32
  if (ctx.num_inputs() == 4 && ctx.has_input(3)) {  // b_zero_point: zeros only
    const Tensor* bz = ctx.constant_input(3);
    if (!bz || bz->dtype() != DType::kI8 || !(bz->numel() == 1 || (bz->rank() == 1 && bz->dim(0) == n))) return none;
    for (int64_t i = 0; i < bz->numel(); ++i) {
      if (bz->get_int(i) != 0) return none;
    }
  }
  DType xt;
  std::vector<int64_t> xshape;
  if (ctx.declared_type(0, &xt, &xshape) && xt != DType::kU8 && xt != DType::kI8 && xt != DType::kUndefined) {
    return none;
  }
  pack_weight_rows(w->data<int8_t>(), k, n, &s->wpacked, &s->wsum);
  s->ones.assign(static_cast<size_t>(n), 1.f);
  QRowsGemm& g = s->g;
  g.qk = &qgemm_for(ctx.cpu());
  g.a = s->wpacked.data();
  g.m = n;
  g.k = k;
  g.mult = s->ones.data();
  g.int32_out = true;
  return std::unique_ptr<KernelState>(std::move(s));
}

Status run_matmul_integer(KernelContext& ctx) {
  const QMatMulIntegerState* s = state_of<QMatMulIntegerState>(ctx);
  if (!ctx.has_input(0) || !ctx.input_value(0).is_tensor()) return s->fall_back(ctx);
  const Tensor& x = ctx.input(0);
  const bool s8 = x.dtype() == DType::kI8;
  if ((x.dtype() != DType::kU8 && !s8) || x.rank() < 1 || x.dim(x.rank() - 1) != s->g.k) return s->fall_back(ctx);
  int32_t zx = 0;
  if (ctx.num_inputs() > 2 && ctx.has_input(2)) {  // a per-tensor zero point of x's dtype (per row: the reference)
    if (!ctx.input_value(2).is_tensor()) return s->fall_back(ctx);
    const Tensor& z = ctx.input(2);
    if (z.dtype() != x.dtype() || z.numel() != 1 || z.rank() > 1) return s->fall_back(ctx);
    zx = static_cast<int32_t>(z.get_int(0));
  }
  if (!ctx.is_output_used(0)) return ok_status();
  Shape out_shape(x.shape().begin(), x.shape().end() - 1);
  out_shape.push_back(s->g.m);
  ASSIGN_OR_RETURN(Tensor * y, ctx.allocate_output_uninitialized(0, DType::kI32, out_shape));
  // corr = -(zx as read) * sum(w): |zx| <= 255, |sum(w)| <= 128 k, inside int32 by prepare's bound.
  const int64_t zx_u8 = zx + (s8 ? 128 : 0);
  std::vector<int32_t> corr(static_cast<size_t>(s->g.m));
  for (int64_t i = 0; i < s->g.m; ++i) corr[i] = static_cast<int32_t>(-zx_u8 * s->wsum[i]);
  QRowsGemm g = s->g;
  g.corr = corr.data();
  g.x_flip = s8 ? 0x80 : 0;
  return qgemm_rows(g, x.data<uint8_t>(), g.k, x.numel() / g.k, y->data<int32_t>(), ctx.pool());
}

}  // namespace edgeai::kernels::cpu
