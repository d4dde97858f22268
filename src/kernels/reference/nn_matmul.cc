// Reference MatMul (numpy batch broadcasting, 1-D operands), Gemm and Det. The product runs in
// cache-friendly i-k-j order (dot products when B is transposed), parallel over output tiles;
// each output element sums over k in order, so results do not depend on the thread count.
// Floats accumulate in float (double for f64); integers wrap through uint64.
#include <algorithm>
#include <cmath>
#include <limits>

#include "kernels/reference/nn_internal.h"

namespace edgeai::kernels::ref::nn {

namespace {

// Compute type of the product: floats in Acc<T>, integers wrapping in uint64.
template <typename T>
using MAcc = std::conditional_t<kIsFloat<T>, Acc<T>, uint64_t>;

// A strided matrix view: element (r, c) at p[r * rs + c * cs].
template <typename A>
struct Mat {
  const A* p;
  int64_t rs, cs;
  A at(int64_t r, int64_t c) const { return p[r * rs + c * cs]; }
};

// c[i, j] (row stride ldc) += sum_k a(i, k) * b(k, j) for i in [i0, i1), j in [j0, j1).
template <typename A>
void gemm_tile(Mat<A> a, Mat<A> b, int64_t K, A* c, int64_t ldc, int64_t i0, int64_t i1, int64_t j0,
               int64_t j1, std::vector<A>& scratch) {
  if (b.cs == 1 || b.rs != 1) {
    // i-k-j over k blocks, so the block of B rows stays in cache across the rows i.
    constexpr int64_t kKB = 128;
    for (int64_t kb = 0; kb < K; kb += kKB) {
      const int64_t ke = std::min(K, kb + kKB);
      for (int64_t i = i0; i < i1; ++i) {
        A* cr = c + i * ldc;
        for (int64_t k = kb; k < ke; ++k) {
          const A av = a.at(i, k);
          const A* br = b.p + k * b.rs;
          if (b.cs == 1) {
            for (int64_t j = j0; j < j1; ++j) cr[j] += av * br[j];
          } else {
            for (int64_t j = j0; j < j1; ++j) cr[j] += av * br[j * b.cs];
          }
        }
      }
    }
    return;
  }
  // B transposed (column j contiguous): dot products with a contiguous copy of row i of A.
  scratch.resize(static_cast<size_t>(K));
  for (int64_t i = i0; i < i1; ++i) {
    const A* ar = a.p + i * a.rs;
    if (a.cs != 1) {
      for (int64_t k = 0; k < K; ++k) scratch[k] = a.at(i, k);
      ar = scratch.data();
    }
    A* cr = c + i * ldc;
    for (int64_t j = j0; j < j1; ++j) {
      const A* bc = b.p + j * b.cs;
      A s = cr[j];
      for (int64_t k = 0; k < K; ++k) s += ar[k] * bc[k];
      cr[j] = s;
    }
  }
}

// One (M x K) * (K x N) product of a batch: operands and the zeroed output block.
template <typename A>
struct GemmJob {
  Mat<A> a, b;
  A* c;
};

// Runs jobs (all M x N x K) in parallel over (job, row block, column block) tiles.
template <typename A>
void run_gemms(KernelContext& ctx, const std::vector<GemmJob<A>>& jobs, int64_t M, int64_t N, int64_t K) {
  if (jobs.empty() || M == 0 || N == 0 || K == 0) return;
  const int64_t bm = 16, bn = 256;
  const int64_t nib = (M + bm - 1) / bm, njb = (N + bn - 1) / bn;
  const int64_t tasks = static_cast<int64_t>(jobs.size()) * nib * njb;
  ctx.pool().parallel_for(tasks, 1, [&](int64_t t0, int64_t t1) {
    std::vector<A> scratch;
    for (int64_t t = t0; t < t1; ++t) {
      const int64_t job = t / (nib * njb), rem = t % (nib * njb);
      const int64_t ib = rem / njb, jb = rem % njb;
      const GemmJob<A>& g = jobs[job];
      gemm_tile(g.a, g.b, K, g.c, N, ib * bm, std::min(M, (ib + 1) * bm), jb * bn, std::min(N, (jb + 1) * bn),
                scratch);
    }
  });
}

// Elements of `t` (dtype T) in the compute type A (a view when they are the same).
template <typename A, typename T>
const A* load_matrix(const Tensor& t, std::vector<A>& buf) {
  return as_acc<A, T>(t, buf);
}

// A double converted to T without undefined behaviour (integers saturate, NaN gives 0).
template <typename T>
T from_double(double v) {
  if constexpr (kIsFloat<T>) {
    return store<T>(v);
  } else {
    if (std::isnan(v)) return T(0);
    const double lo = static_cast<double>(std::numeric_limits<T>::lowest());
    const double hi = static_cast<double>(std::numeric_limits<T>::max());
    if (v <= lo) return std::numeric_limits<T>::lowest();
    if (v >= hi) return std::numeric_limits<T>::max();
    return static_cast<T>(v);
  }
}

Status check_matmul_dtype(const KernelContext& ctx, int i) {
  DType t = ctx.input(i).dtype();
  if (t == DType::kBool || t == DType::kString || t == DType::kUndefined) {
    return ctx.error("input " + std::to_string(i) + " has dtype " + dtype_str(t) + ", expected a numeric type");
  }
  return ok_status();
}

}  // namespace

Status matmul(KernelContext& ctx) {
  RETURN_IF_ERROR(check_inputs(ctx, 2, 2, 2));
  RETURN_IF_ERROR(check_matmul_dtype(ctx, 0));
  RETURN_IF_ERROR(check_same_dtype(ctx, 0, 1));
  const Tensor& a = ctx.input(0);
  const Tensor& b = ctx.input(1);
  if (a.rank() < 1 || b.rank() < 1) {
    return ctx.error("operands must have rank >= 1, got " + shape_str(a.shape()) + " and " + shape_str(b.shape()));
  }
  // numpy promotion of 1-D operands: A [K] -> [1, K], B [K] -> [K, 1]; the added dim is dropped.
  Shape as = a.shape(), bs = b.shape();
  if (a.rank() == 1) as.insert(as.begin(), 1);
  if (b.rank() == 1) bs.push_back(1);
  const int64_t M = as[as.size() - 2], K = as.back(), K2 = bs[bs.size() - 2], N = bs.back();
  if (K != K2) {
    return ctx.error("inner dims differ: A " + shape_str(a.shape()) + " has " + std::to_string(K) + ", B " +
                     shape_str(b.shape()) + " has " + std::to_string(K2));
  }
  Shape a_batch(as.begin(), as.end() - 2), b_batch(bs.begin(), bs.end() - 2);
  auto batch_r = broadcast_shapes(a_batch, b_batch);
  if (!batch_r.ok()) {
    return ctx.error("batch dims of A " + shape_str(a.shape()) + " and B " + shape_str(b.shape()) +
                     " do not broadcast");
  }
  const Shape batch = *batch_r;
  Shape out_shape = batch;
  if (a.rank() > 1) out_shape.push_back(M);
  if (b.rank() > 1) out_shape.push_back(N);
  if (!ctx.is_output_used(0)) return ok_status();
  ASSIGN_OR_RETURN(Tensor * y, ctx.allocate_output(0, a.dtype(), out_shape));
  if (y->numel() == 0 || K == 0) return ok_status();  // empty, or all zeros
  return visit_numeric(a.dtype(), [&]<typename T>() {
    using A = MAcc<T>;
    std::vector<A> ab, bb, yb;
    const A* ap = load_matrix<A, T>(a, ab);
    const A* bp = load_matrix<A, T>(b, bb);
    A* yp;
    if constexpr (std::is_same_v<A, T>) {
      yp = y->data<T>();
    } else {
      yb.assign(static_cast<size_t>(y->numel()), A(0));
      yp = yb.data();
    }
    const int64_t nb = shape_numel(batch);
    BroadcastIndexer bi(batch, {a_batch, b_batch});
    std::vector<GemmJob<A>> jobs(static_cast<size_t>(nb));
    for (int64_t t = 0; t < nb; ++t) {
      jobs[t].a = {ap + bi.offset(0, t) * M * K, K, 1};
      jobs[t].b = {bp + bi.offset(1, t) * K * N, N, 1};
      jobs[t].c = yp + t * M * N;
    }
    run_gemms(ctx, jobs, M, N, K);
    if constexpr (!std::is_same_v<A, T>) store_all(yp, y->numel(), y->data<T>());
    return ok_status();
  });
}

Status gemm(KernelContext& ctx) {
  RETURN_IF_ERROR(check_inputs(ctx, 2, 3, ctx.opset() < 11 ? 3 : 2));
  RETURN_IF_ERROR(check_matmul_dtype(ctx, 0));
  RETURN_IF_ERROR(check_same_dtype(ctx, 0, 1));
  const Tensor& a = ctx.input(0);
  const Tensor& b = ctx.input(1);
  const Tensor* c = ctx.has_input(2) ? &ctx.input(2) : nullptr;
  if (c) RETURN_IF_ERROR(check_same_dtype(ctx, 0, 2));
  if (a.rank() != 2 || b.rank() != 2) {
    return ctx.error("A and B must be 2-D, got " + shape_str(a.shape()) + " and " + shape_str(b.shape()));
  }
  const int64_t trans_a = ctx.attr_int("transA", 0), trans_b = ctx.attr_int("transB", 0);
  if ((trans_a != 0 && trans_a != 1) || (trans_b != 0 && trans_b != 1)) {
    return ctx.error("transA and transB must be 0 or 1");
  }
  const double alpha = ctx.attr_float("alpha", 1.0f), beta = ctx.attr_float("beta", 1.0f);
  const int64_t M = trans_a ? a.dim(1) : a.dim(0), K = trans_a ? a.dim(0) : a.dim(1);
  const int64_t K2 = trans_b ? b.dim(1) : b.dim(0), N = trans_b ? b.dim(0) : b.dim(1);
  if (K != K2) {
    return ctx.error("inner dims differ: op(A) is " + std::to_string(M) + "x" + std::to_string(K) + ", op(B) is " +
                     std::to_string(K2) + "x" + std::to_string(N));
  }
  // C broadcasts unidirectionally to [M, N].
  int64_t c_rs = 0, c_cs = 0;
  if (c) {
    const Shape& cs = c->shape();
    bool ok = c->rank() <= 2;
    if (ok && c->rank() >= 1) {
      const int64_t cn = cs.back();
      ok = cn == 1 || cn == N;
      c_cs = cn == 1 ? 0 : 1;
    }
    if (ok && c->rank() == 2) {
      ok = cs[0] == 1 || cs[0] == M;
      c_rs = cs[0] == 1 ? 0 : cs[1];
    }
    if (!ok) {
      return ctx.error("C of shape " + shape_str(cs) + " does not broadcast to [" + std::to_string(M) + "," +
                       std::to_string(N) + "]");
    }
  }
  if (!ctx.is_output_used(0)) return ok_status();
  ASSIGN_OR_RETURN(Tensor * y, ctx.allocate_output(0, a.dtype(), Shape{M, N}));
  return visit_numeric(a.dtype(), [&]<typename T>() {
    using A = MAcc<T>;
    std::vector<A> ab, bb, yb(static_cast<size_t>(M * N), A(0));
    const A* ap = load_matrix<A, T>(a, ab);
    const A* bp = load_matrix<A, T>(b, bb);
    std::vector<GemmJob<A>> jobs(1);
    jobs[0].a = trans_a ? Mat<A>{ap, 1, M} : Mat<A>{ap, K, 1};
    jobs[0].b = trans_b ? Mat<A>{bp, 1, K} : Mat<A>{bp, N, 1};
    jobs[0].c = yb.data();
    run_gemms(ctx, jobs, M, N, K);
    T* yd = y->data<T>();
    const T* cd = c ? c->data<T>() : nullptr;
    for (int64_t i = 0; i < M; ++i) {
      for (int64_t j = 0; j < N; ++j) {
        const A acc = yb[i * N + j];
        if constexpr (kIsFloat<T>) {
          A v = static_cast<A>(alpha) * acc;
          if (cd && beta != 0) v += static_cast<A>(beta) * load<A>(cd[i * c_rs + j * c_cs]);
          yd[i * N + j] = store<T>(v);
        } else if (alpha == 1.0 && (beta == 1.0 || !cd)) {
          const A cv = cd ? static_cast<A>(cd[i * c_rs + j * c_cs]) : A(0);
          yd[i * N + j] = static_cast<T>(acc + cv);
        } else {
          double v = alpha * static_cast<double>(static_cast<T>(acc));
          if (cd) v += beta * static_cast<double>(cd[i * c_rs + j * c_cs]);
          yd[i * N + j] = from_double<T>(v);
        }
      }
    }
    return ok_status();
  });
}

Status det(KernelContext& ctx) {
  RETURN_IF_ERROR(check_inputs(ctx, 1, 1, 1));
  RETURN_IF_ERROR(check_float(ctx, 0));
  const Tensor& x = ctx.input(0);
  if (x.rank() < 2 || x.dim(x.rank() - 1) != x.dim(x.rank() - 2)) {
    return ctx.error("X must have shape [*, M, M], got " + shape_str(x.shape()));
  }
  const int64_t n = x.dim(x.rank() - 1);
  Shape out_shape(x.shape().begin(), x.shape().end() - 2);
  if (!ctx.is_output_used(0)) return ok_status();
  ASSIGN_OR_RETURN(Tensor * y, ctx.allocate_output(0, x.dtype(), out_shape));
  const int64_t batch = shape_numel(out_shape);
  return visit_float(x.dtype(), [&]<typename T>() {
    const T* xd = x.data<T>();
    T* yd = y->data<T>();
    std::vector<double> m(static_cast<size_t>(n * n));
    for (int64_t bt = 0; bt < batch; ++bt) {
      const T* xp = xd + bt * n * n;
      for (int64_t i = 0; i < n * n; ++i) m[i] = load<double>(xp[i]);
      // LU decomposition with partial pivoting.
      double d = 1.0;
      for (int64_t col = 0; col < n && d != 0.0; ++col) {
        int64_t piv = col;
        for (int64_t r = col + 1; r < n; ++r) {
          if (std::abs(m[r * n + col]) > std::abs(m[piv * n + col])) piv = r;
        }
        if (m[piv * n + col] == 0.0) {
          d = 0.0;
          break;
        }
        if (piv != col) {
          for (int64_t k = 0; k < n; ++k) std::swap(m[piv * n + k], m[col * n + k]);
          d = -d;
        }
        const double pv = m[col * n + col];
        d *= pv;
        for (int64_t r = col + 1; r < n; ++r) {
          const double f = m[r * n + col] / pv;
          if (f == 0.0) continue;
          for (int64_t k = col; k < n; ++k) m[r * n + k] -= f * m[col * n + k];
        }
      }
      yd[bt] = store<T>(d);
    }
    return ok_status();
  });
}

}  // namespace edgeai::kernels::ref::nn
