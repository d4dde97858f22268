#include "compress/train/train_math.h"

#include <algorithm>
#include <cstring>
#include <vector>

#include "kernels/cpu/gemm.h"

namespace edgeai::compress::train {

Status sgemm(const CpuFeatures& cpu, ThreadPool* pool, bool ta, bool tb, int64_t m, int64_t n, int64_t k,
             const float* a, int64_t lda, const float* b, int64_t ldb, float* c, int64_t ldc,
             bool accumulate) {
  if (m <= 0 || n <= 0) return ok_status();
  std::vector<float> tmp;
  float* out = c;
  int64_t ldo = ldc;
  if (accumulate) {
    tmp.assign(static_cast<size_t>(m * n), 0.0f);
    out = tmp.data();
    ldo = n;
  }
  if (k <= 0) {
    if (!accumulate) {
      for (int64_t i = 0; i < m; ++i) std::fill(c + i * ldc, c + i * ldc + n, 0.0f);
    }
    return ok_status();
  }
  const auto& uk = kernels::cpu::ukernels_for(cpu);
  kernels::cpu::GemmArgs g;
  g.m = m;
  g.n = n;
  g.k = k;
  g.a = a;
  g.a_rs = ta ? 1 : lda;
  g.a_cs = ta ? lda : 1;
  if (!tb) {
    g.b_kind = kernels::cpu::GemmArgs::BKind::kRowMajor;
    g.b = b;
    g.b_rs = ldb;
    g.b_cs = 1;
  } else {
    g.b_kind = kernels::cpu::GemmArgs::BKind::kStrided;
    g.b = b;
    g.b_rs = 1;
    g.b_cs = ldb;
  }
  g.c = out;
  g.ldc = ldo;
  RETURN_IF_ERROR(kernels::cpu::gemm(uk, pool, g));
  if (accumulate) {
    for (int64_t i = 0; i < m; ++i) {
      float* ci = c + i * ldc;
      const float* ti = out + i * n;
      for (int64_t j = 0; j < n; ++j) ci[j] += ti[j];
    }
  }
  return ok_status();
}

void im2col(const Geom2d& g, const float* x, float* cols) {
  const int64_t plane = g.oh * g.ow;
  for (int64_t ci = 0; ci < g.c; ++ci) {
    for (int64_t i = 0; i < g.kh; ++i) {
      for (int64_t j = 0; j < g.kw; ++j) {
        float* row = cols + ((ci * g.kh + i) * g.kw + j) * plane;
        for (int64_t oy = 0; oy < g.oh; ++oy) {
          const int64_t iy = oy * g.sh - g.ph + i * g.dh;
          float* r = row + oy * g.ow;
          if (iy < 0 || iy >= g.h) {
            std::fill(r, r + g.ow, 0.0f);
            continue;
          }
          const float* xr = x + (ci * g.h + iy) * g.w;
          for (int64_t ox = 0; ox < g.ow; ++ox) {
            const int64_t ix = ox * g.sw - g.pw + j * g.dw;
            r[ox] = (ix >= 0 && ix < g.w) ? xr[ix] : 0.0f;
          }
        }
      }
    }
  }
}

void col2im_add(const Geom2d& g, const float* cols, float* x) {
  const int64_t plane = g.oh * g.ow;
  for (int64_t ci = 0; ci < g.c; ++ci) {
    for (int64_t i = 0; i < g.kh; ++i) {
      for (int64_t j = 0; j < g.kw; ++j) {
        const float* row = cols + ((ci * g.kh + i) * g.kw + j) * plane;
        for (int64_t oy = 0; oy < g.oh; ++oy) {
          const int64_t iy = oy * g.sh - g.ph + i * g.dh;
          if (iy < 0 || iy >= g.h) continue;
          const float* r = row + oy * g.ow;
          float* xr = x + (ci * g.h + iy) * g.w;
          for (int64_t ox = 0; ox < g.ow; ++ox) {
            const int64_t ix = ox * g.sw - g.pw + j * g.dw;
            if (ix >= 0 && ix < g.w) xr[ix] += r[ox];
          }
        }
      }
    }
  }
}

Result<Tensor> reduce_to_shape(const Tensor& grad, const Shape& to) {
  if (grad.shape() == to) return grad;
  ASSIGN_OR_RETURN(Tensor out, Tensor::create(DType::kF32, to));
  const Shape& from = grad.shape();
  if (to.size() > from.size()) return invalid_argument("gradient of shape " + shape_str(from) + " cannot reduce to " + shape_str(to));
  // Align `to` on the right; output stride 0 on broadcast axes.
  const size_t r = from.size();
  std::vector<int64_t> ostr(r, 0);
  std::vector<int64_t> tstr = shape_strides(to);
  for (size_t d = 0; d < r; ++d) {
    const int64_t td = static_cast<int64_t>(d) - static_cast<int64_t>(r - to.size());
    if (td < 0) continue;
    if (to[td] == from[d]) {
      ostr[d] = tstr[td];
    } else if (to[td] != 1) {
      return invalid_argument("gradient of shape " + shape_str(from) + " cannot reduce to " + shape_str(to));
    }
  }
  const float* g = grad.data<float>();
  float* o = out.data<float>();
  std::vector<int64_t> idx(r, 0);
  int64_t off = 0;
  for (int64_t i = 0; i < grad.numel(); ++i) {
    o[off] += g[i];
    for (int d = static_cast<int>(r) - 1; d >= 0; --d) {
      ++idx[d];
      off += ostr[d];
      if (idx[d] < from[d]) break;
      off -= ostr[d] * idx[d];
      idx[d] = 0;
    }
  }
  return out;
}

void add_into(Tensor& a, const Tensor& b) {
  float* p = a.data<float>();
  const float* q = b.data<float>();
  const int64_t n = std::min(a.numel(), b.numel());
  for (int64_t i = 0; i < n; ++i) p[i] += q[i];
}

}  // namespace edgeai::compress::train
