// Sparse-weight GEMM (sparse_gemm.h): CSR packing, the ISA's kernel chosen with the micro-kernel
// table, the portable instantiation, and the driver (row split over the pool, activation).
#include "kernels/cpu/sparse_gemm.h"

#include <algorithm>
#include <limits>

#include "kernels/cpu/gemm.h"
#include "kernels/cpu/simd_portable.h"
#include "kernels/cpu/sparse_gemm_impl.h"

namespace edgeai::kernels::cpu {
namespace {

struct GatherPortable {
  static VecPortable::F gather(const float* b, const int32_t* idx) {
    return VecPortable::F{b[idx[0]], b[idx[1]], b[idx[2]], b[idx[3]]};
  }
};

// Below this many multiply-adds the rows run on the calling thread (the pool's hand-off costs
// about a microsecond).
constexpr int64_t kMinParallelMacs = int64_t(1) << 19;

}  // namespace

void f32_sparse_gemm_portable(const SparseGemmArgs& a) { SparseGemmImpl<VecPortable, GatherPortable>::run(a); }

double zero_fraction(const float* w, int64_t rs, int64_t cs, int64_t rows, int64_t cols) {
  if (rows <= 0 || cols <= 0) return 0.0;
  int64_t zeros = 0;
  for (int64_t r = 0; r < rows; ++r) {
    for (int64_t k = 0; k < cols; ++k) zeros += w[r * rs + k * cs] == 0.0f;
  }
  return static_cast<double>(zeros) / static_cast<double>(rows * cols);
}

SparseWeights sparse_pack(const float* w, int64_t rs, int64_t cs, int64_t rows, int64_t cols, float scale) {
  SparseWeights s;
  if (rows <= 0 || cols < 0 || cols > std::numeric_limits<int32_t>::max()) return s;
  s.rows = rows;
  s.cols = cols;
  s.row_ptr.reserve(static_cast<size_t>(rows + 1));
  s.row_ptr.push_back(0);
  for (int64_t r = 0; r < rows; ++r) {
    for (int64_t k = 0; k < cols; ++k) {
      const float v = w[r * rs + k * cs];
      if (v == 0.0f) continue;
      s.col.push_back(static_cast<int32_t>(k));
      s.val.push_back(v * scale);
    }
    s.row_ptr.push_back(s.nnz());
  }
  return s;
}

void sparse_gemm(const UKernels& uk, SparseGemmFn fn, ThreadPool* pool, const SparseGemmArgs& a) {
  const int64_t rows = a.w->rows;
  if (rows <= 0 || a.n <= 0) return;
  auto body = [&](int64_t r0, int64_t r1) {
    SparseGemmArgs c = a;
    c.r0 = r0;
    c.r1 = r1;
    fn(c);
    if (a.act.kind == ActKind::kNone) return;
    if (a.n == 1 && a.ldo == 1) {
      uk.activation(a.out + r0, a.out + r0, r1 - r0, a.act);
    } else {
      for (int64_t r = r0; r < r1; ++r) uk.activation(a.out + r * a.ldo, a.out + r * a.ldo, a.n, a.act);
    }
  };
  if (!pool || pool->num_threads() <= 1 || a.w->nnz() * a.n < kMinParallelMacs) {
    body(0, rows);
    return;
  }
  pool->parallel_for(rows, 1, body);
}

SparseChoice prepare_sparse(const UKernels& uk, const float* w, int64_t rs, int64_t cs, int64_t rows, int64_t cols,
                            float scale, double min_zeros) {
  SparseChoice c;
  c.zeros = zero_fraction(w, rs, cs, rows, cols);
  if (c.zeros < min_zeros) return c;
  c.w = sparse_pack(w, rs, cs, rows, cols, scale);
  if (c.w.rows != rows) return c;
  c.fn = uk.sparse_gemm;
  return c;
}

Status sparse_matmul(const UKernels& uk, const SparseChoice& w, ThreadPool* pool, const SparseMatMulArgs& a) {
  const int64_t m = a.m, n = w.w.rows, k = w.w.cols;
  if (m <= 0 || n <= 0) return ok_status();
  SparseGemmArgs g;
  g.w = &w.w;
  g.bias = a.bias;
  g.act = a.act;
  if (m == 1) {  // y^T = W^T x^T: the rows of W^T times the vector x, written in place
    g.b = a.x;
    g.ldb = 1;
    g.n = 1;
    g.out = a.y;
    g.ldo = 1;
    sparse_gemm(uk, w.fn, pool, g);
    return ok_status();
  }
  AlignedFloats xt(a.trans_x ? 0 : k * m), yt(n * m);
  if (!xt.ok() || !yt.ok()) return out_of_memory(k * m + n * m);
  if (!a.trans_x) {
    for (int64_t i = 0; i < m; ++i) {
      for (int64_t kk = 0; kk < k; ++kk) xt.data()[kk * m + i] = a.x[i * k + kk];
    }
  }
  g.b = a.trans_x ? a.x : xt.data();
  g.ldb = m;
  g.n = m;
  g.out = yt.data();
  g.ldo = m;
  sparse_gemm(uk, w.fn, pool, g);
  for (int64_t i = 0; i < m; ++i) {
    for (int64_t j = 0; j < n; ++j) a.y[i * n + j] = yt.data()[j * m + i];
  }
  return ok_status();
}

namespace {

bool pointwise(const ConvGeom& g) {
  return g.kh == 1 && g.kw == 1 && g.sh == 1 && g.sw == 1 && g.ph == 0 && g.pw == 0 && g.oh == g.h && g.ow == g.w;
}

ConvGeom one_plane(const ConvGeom& g) {
  ConvGeom pg = g;
  pg.c = 1;
  return pg;
}

// Floats of one image's phase planes (all channels) and of its im2col matrix.
void conv_scratch(const UKernels& uk, const ConvGeom& g, int64_t* plane_stride, int64_t* planes, int64_t* cols) {
  int64_t wq, hq, psize;
  uk.phase_geometry(one_plane(g), &wq, &hq, &psize);
  *plane_stride = g.sh * g.sw * psize;
  *planes = g.c * *plane_stride;
  *cols = g.c * g.kh * g.kw * g.oh * g.ow;
}

}  // namespace

bool sparse_conv_takes(const UKernels& uk, const SparseChoice& w, const ConvGeom& g, int64_t cap) {
  const int64_t out_sp = g.oh * g.ow;
  if (w.zeros < (out_sp >= 128 ? kSparseMinZeroFractionWide : out_sp >= 64 ? 0.8 : 0.9)) return false;
  if (pointwise(g)) return true;
  int64_t stride, planes, cols;
  conv_scratch(uk, g, &stride, &planes, &cols);
  return planes + cols <= cap;
}

Status sparse_conv(const UKernels& uk, const SparseChoice& w, ThreadPool* pool, const ConvGeom& g, const float* x,
                   int64_t n_img, const float* bias, const Activation& act, float* y) {
  const int64_t in_sp = g.h * g.w, out_sp = g.oh * g.ow, taps = g.kh * g.kw;
  SparseGemmArgs a;
  a.w = &w.w;
  a.n = out_sp;
  a.ldo = out_sp;
  a.bias = bias;
  a.act = act;
  if (pointwise(g)) {
    for (int64_t i = 0; i < n_img; ++i) {
      a.b = x + i * g.c * in_sp;
      a.ldb = in_sp;
      a.out = y + i * w.w.rows * out_sp;
      sparse_gemm(uk, w.fn, pool, a);
    }
    return ok_status();
  }
  int64_t stride, nplanes, ncols;
  conv_scratch(uk, g, &stride, &nplanes, &ncols);
  AlignedFloats planes(nplanes), cols(ncols);
  if (!planes.ok() || !cols.ok()) return out_of_memory(nplanes + ncols);
  std::vector<int64_t> tap_off(static_cast<size_t>(taps));
  const ConvGeom pg = one_plane(g);
  uk.phase_tap_offsets(pg, tap_off.data());
  int64_t wq, hq, psize;
  uk.phase_geometry(pg, &wq, &hq, &psize);
  for (int64_t i = 0; i < n_img; ++i) {
    uk.phase_planes(pg, x + i * g.c * in_sp, g.c, planes.data(), stride);
    // Row (c, t) of the im2col matrix: output row oy of it is a run of ow floats of the planes.
    for (int64_t k = 0; k < g.c * taps; ++k) {
      const float* src = planes.data() + (k / taps) * stride + tap_off[k % taps];
      float* dst = cols.data() + k * out_sp;
      for (int64_t oy = 0; oy < g.oh; ++oy) std::copy_n(src + oy * wq, g.ow, dst + oy * g.ow);
    }
    a.b = cols.data();
    a.ldb = out_sp;
    a.out = y + i * w.w.rows * out_sp;
    sparse_gemm(uk, w.fn, pool, a);
  }
  return ok_status();
}

}  // namespace edgeai::kernels::cpu
