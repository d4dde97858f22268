// Backward rules of the NN ops: Gemm, MatMul, Conv (grouped and depthwise), the pools and
// BatchNormalization.
#include <algorithm>
#include <cmath>
#include <limits>

#include "compress/train/grad_ops.h"
#include "compress/train/train_math.h"

namespace edgeai::compress::train {
namespace {

Result<Tensor> zeros(const Shape& s) { return Tensor::create(DType::kF32, s); }

bool is_f32(const Tensor& t) { return t.defined() && t.dtype() == DType::kF32; }

// Window geometry of a Conv or pool node over 1-D or 2-D spatial dims. Pads come from the
// attribute, or for auto_pad from the output size the forward pass produced.
Status window_geom(const GradContext& c, const Shape& x, const Shape& y, std::vector<int64_t> kernel,
                   Geom2d* g) {
  const int nd = static_cast<int>(x.size()) - 2;
  if (nd < 1 || nd > 2 || y.size() != x.size() || static_cast<int>(kernel.size()) != nd) {
    return c.error("training supports 1-D and 2-D windows only (input " + shape_str(x) + ")");
  }
  std::vector<int64_t> strides = node_ints(c.node, "strides"), dil = node_ints(c.node, "dilations"),
                       pads = node_ints(c.node, "pads");
  strides.resize(nd, 1);
  dil.resize(nd, 1);
  std::string ap = node_string(c.node, "auto_pad", "NOTSET");
  std::vector<int64_t> begin(nd, 0);
  for (int d = 0; d < nd; ++d) {
    if (ap == "SAME_UPPER" || ap == "SAME_LOWER") {
      int64_t total = std::max<int64_t>(0, (y[2 + d] - 1) * strides[d] + (kernel[d] - 1) * dil[d] + 1 - x[2 + d]);
      begin[d] = ap == "SAME_UPPER" ? total / 2 : total - total / 2;
    } else if (ap == "VALID") {
      begin[d] = 0;
    } else if (static_cast<int>(pads.size()) == 2 * nd) {
      begin[d] = pads[d];
    }
  }
  g->c = x[1];
  if (nd == 1) {
    g->h = g->oh = g->kh = 1;
    g->w = x[2];
    g->ow = y[2];
    g->kw = kernel[0];
    g->sw = strides[0];
    g->dw = dil[0];
    g->pw = begin[0];
  } else {
    g->h = x[2];
    g->w = x[3];
    g->oh = y[2];
    g->ow = y[3];
    g->kh = kernel[0];
    g->kw = kernel[1];
    g->sh = strides[0];
    g->sw = strides[1];
    g->dh = dil[0];
    g->dw = dil[1];
    g->ph = begin[0];
    g->pw = begin[1];
  }
  return ok_status();
}

std::vector<int64_t> kernel_of(const ir::Node& n, const Shape& w_or_none, int nd) {
  std::vector<int64_t> k = node_ints(n, "kernel_shape");
  if (k.empty() && !w_or_none.empty()) k.assign(w_or_none.begin() + 2, w_or_none.end());
  if (static_cast<int>(k.size()) != nd) k.resize(nd, 1);
  return k;
}

}  // namespace

Status grad_gemm(GradContext& c) {
  const Tensor& a = c.in[0];
  const Tensor& b = c.in[1];
  const Tensor& dy = c.dout[0];
  if (!dy.defined()) return ok_status();
  if (!is_f32(a) || !is_f32(b) || a.rank() != 2 || b.rank() != 2) return c.error("training needs f32 2-D inputs");
  const bool ta = node_int(c.node, "transA", 0) != 0, tb = node_int(c.node, "transB", 0) != 0;
  const float alpha = node_float(c.node, "alpha", 1.0f), beta = node_float(c.node, "beta", 1.0f);
  const int64_t M = ta ? a.dim(1) : a.dim(0), K = ta ? a.dim(0) : a.dim(1);
  const int64_t N = tb ? b.dim(0) : b.dim(1);
  const float* dyp = dy.data<float>();
  if (c.need[0]) {
    ASSIGN_OR_RETURN(Tensor da, zeros(a.shape()));
    if (!ta) {
      RETURN_IF_ERROR(sgemm(c.cpu, c.pool, false, !tb, M, K, N, dyp, N, b.data<float>(), tb ? K : N,
                            da.data<float>(), K, false));
    } else {
      RETURN_IF_ERROR(sgemm(c.cpu, c.pool, tb, true, K, M, N, b.data<float>(), tb ? K : N, dyp, N,
                            da.data<float>(), M, false));
    }
    if (alpha != 1.0f) for (int64_t i = 0; i < da.numel(); ++i) da.data<float>()[i] *= alpha;
    c.din[0] = da;
  }
  if (c.need[1]) {
    ASSIGN_OR_RETURN(Tensor db, zeros(b.shape()));
    if (!tb) {
      RETURN_IF_ERROR(sgemm(c.cpu, c.pool, !ta, false, K, N, M, a.data<float>(), ta ? M : K, dyp, N,
                            db.data<float>(), N, false));
    } else {
      RETURN_IF_ERROR(sgemm(c.cpu, c.pool, true, ta, N, K, M, dyp, N, a.data<float>(), ta ? M : K,
                            db.data<float>(), K, false));
    }
    if (alpha != 1.0f) for (int64_t i = 0; i < db.numel(); ++i) db.data<float>()[i] *= alpha;
    c.din[1] = db;
  }
  if (c.in.size() > 2 && c.in[2].defined() && c.need[2]) {
    ASSIGN_OR_RETURN(Tensor dc, reduce_to_shape(dy, c.in[2].shape()));
    if (dc.raw() == dy.raw()) dc = dc.clone();
    if (beta != 1.0f) for (int64_t i = 0; i < dc.numel(); ++i) dc.data<float>()[i] *= beta;
    c.din[2] = dc;
  }
  return ok_status();
}

Status grad_matmul(GradContext& c) {
  const Tensor& a = c.in[0];
  const Tensor& b = c.in[1];
  const Tensor& dy = c.dout[0];
  if (!dy.defined()) return ok_status();
  if (!is_f32(a) || !is_f32(b) || a.rank() < 1 || b.rank() < 1) return c.error("training needs f32 inputs");
  Shape as = a.shape(), bs = b.shape();
  if (as.size() == 1) as.insert(as.begin(), 1);
  if (bs.size() == 1) bs.push_back(1);
  const int64_t M = as[as.size() - 2], K = as.back(), N = bs.back();
  Shape abatch(as.begin(), as.end() - 2), bbatch(bs.begin(), bs.end() - 2);
  ASSIGN_OR_RETURN(Shape batch, broadcast_shapes(abatch, bbatch));
  const int64_t nb = shape_numel(batch);
  if (dy.numel() != nb * M * N) return c.error("output gradient has the wrong size");
  Shape da_full = batch, db_full = batch;
  da_full.insert(da_full.end(), {M, K});
  db_full.insert(db_full.end(), {K, N});
  BroadcastIndexer bi(batch, {abatch, bbatch});
  Tensor da, db;
  if (c.need[0]) { ASSIGN_OR_RETURN(da, zeros(da_full)); }
  if (c.need[1]) { ASSIGN_OR_RETURN(db, zeros(db_full)); }
  for (int64_t i = 0; i < nb; ++i) {
    const float* ap = a.data<float>() + bi.offset(0, i) * M * K;
    const float* bp = b.data<float>() + bi.offset(1, i) * K * N;
    const float* dyp = dy.data<float>() + i * M * N;
    if (da.defined()) RETURN_IF_ERROR(sgemm(c.cpu, c.pool, false, true, M, K, N, dyp, N, bp, N, da.data<float>() + i * M * K, K, false));
    if (db.defined()) RETURN_IF_ERROR(sgemm(c.cpu, c.pool, true, false, K, N, M, ap, K, dyp, N, db.data<float>() + i * K * N, N, false));
  }
  if (da.defined()) {
    ASSIGN_OR_RETURN(Tensor r, reduce_to_shape(da, as));
    ASSIGN_OR_RETURN(c.din[0], r.reshaped(a.shape()));
  }
  if (db.defined()) {
    ASSIGN_OR_RETURN(Tensor r, reduce_to_shape(db, bs));
    ASSIGN_OR_RETURN(c.din[1], r.reshaped(b.shape()));
  }
  return ok_status();
}

Status grad_conv(GradContext& c) {
  const Tensor& x = c.in[0];
  const Tensor& w = c.in[1];
  const Tensor& dy = c.dout[0];
  if (!dy.defined()) return ok_status();
  if (!is_f32(x) || !is_f32(w)) return c.error("training needs f32 inputs");
  const int nd = x.rank() - 2;
  Geom2d g;
  RETURN_IF_ERROR(window_geom(c, x.shape(), dy.shape(), kernel_of(c.node, w.shape(), nd), &g));
  const int64_t group = node_int(c.node, "group", 1);
  const int64_t N = x.dim(0), C = x.dim(1), M = w.dim(0);
  if (group < 1 || C % group || M % group || w.dim(1) != C / group) return c.error("bad group / channel counts");
  const int64_t Cg = C / group, Mg = M / group;
  g.c = Cg;
  const int64_t P = g.oh * g.ow, CK = Cg * g.kh * g.kw;
  const int64_t xplane = g.h * g.w;
  Tensor dx, dw;
  if (c.need[0]) { ASSIGN_OR_RETURN(dx, zeros(x.shape())); }
  if (c.need[1]) { ASSIGN_OR_RETURN(dw, zeros(w.shape())); }
  std::vector<float> cols(static_cast<size_t>(CK * P)), dcols(static_cast<size_t>(CK * P));
  for (int64_t n = 0; n < N; ++n) {
    for (int64_t gi = 0; gi < group; ++gi) {
      const float* xp = x.data<float>() + (n * C + gi * Cg) * xplane;
      const float* dyp = dy.data<float>() + (n * M + gi * Mg) * P;
      const float* wp = w.data<float>() + gi * Mg * CK;
      if (dw.defined()) {
        im2col(g, xp, cols.data());
        RETURN_IF_ERROR(sgemm(c.cpu, c.pool, false, true, Mg, CK, P, dyp, P, cols.data(), P,
                              dw.data<float>() + gi * Mg * CK, CK, true));
      }
      if (dx.defined()) {
        RETURN_IF_ERROR(sgemm(c.cpu, c.pool, true, false, CK, P, Mg, wp, CK, dyp, P, dcols.data(), P, false));
        col2im_add(g, dcols.data(), dx.data<float>() + (n * C + gi * Cg) * xplane);
      }
    }
  }
  if (dx.defined()) c.din[0] = dx;
  if (dw.defined()) c.din[1] = dw;
  if (c.in.size() > 2 && c.in[2].defined() && c.need[2]) {
    ASSIGN_OR_RETURN(Tensor db, zeros(c.in[2].shape()));
    float* d = db.data<float>();
    for (int64_t n = 0; n < N; ++n) {
      for (int64_t m = 0; m < M; ++m) {
        const float* p = dy.data<float>() + (n * M + m) * P;
        float s = 0;
        for (int64_t i = 0; i < P; ++i) s += p[i];
        d[m] += s;
      }
    }
    c.din[2] = db;
  }
  return ok_status();
}

Status grad_max_pool(GradContext& c) {
  const Tensor& x = c.in[0];
  const Tensor& dy = c.dout[0];
  if (!dy.defined() || !c.need[0]) return ok_status();
  if (!is_f32(x)) return c.error("training needs f32 input");
  Geom2d g;
  RETURN_IF_ERROR(window_geom(c, x.shape(), dy.shape(), kernel_of(c.node, {}, x.rank() - 2), &g));
  ASSIGN_OR_RETURN(Tensor dx, zeros(x.shape()));
  const int64_t planes = x.dim(0) * x.dim(1);
  for (int64_t p = 0; p < planes; ++p) {
    const float* xp = x.data<float>() + p * g.h * g.w;
    float* dxp = dx.data<float>() + p * g.h * g.w;
    const float* dyp = dy.data<float>() + p * g.oh * g.ow;
    for (int64_t oy = 0; oy < g.oh; ++oy) {
      for (int64_t ox = 0; ox < g.ow; ++ox) {
        int64_t best = -1;
        float bv = -std::numeric_limits<float>::infinity();
        for (int64_t i = 0; i < g.kh; ++i) {
          const int64_t iy = oy * g.sh - g.ph + i * g.dh;
          if (iy < 0 || iy >= g.h) continue;
          for (int64_t j = 0; j < g.kw; ++j) {
            const int64_t ix = ox * g.sw - g.pw + j * g.dw;
            if (ix < 0 || ix >= g.w) continue;
            const float v = xp[iy * g.w + ix];
            if (best < 0 || v > bv) {
              bv = v;
              best = iy * g.w + ix;
            }
          }
        }
        if (best >= 0) dxp[best] += dyp[oy * g.ow + ox];
      }
    }
  }
  c.din[0] = dx;
  return ok_status();
}

Status grad_average_pool(GradContext& c) {
  const Tensor& x = c.in[0];
  const Tensor& dy = c.dout[0];
  if (!dy.defined() || !c.need[0]) return ok_status();
  if (!is_f32(x)) return c.error("training needs f32 input");
  Geom2d g;
  RETURN_IF_ERROR(window_geom(c, x.shape(), dy.shape(), kernel_of(c.node, {}, x.rank() - 2), &g));
  const bool count_pad = node_int(c.node, "count_include_pad", 0) != 0;
  std::vector<int64_t> pads = node_ints(c.node, "pads");
  const int nd = x.rank() - 2;
  // The padded extent (for count_include_pad): [-begin, size + end).
  int64_t end_h = 0, end_w = 0;
  if (static_cast<int>(pads.size()) == 2 * nd) {
    end_w = pads[2 * nd - 1];
    end_h = nd == 2 ? pads[2] : 0;
  }
  ASSIGN_OR_RETURN(Tensor dx, zeros(x.shape()));
  const int64_t planes = x.dim(0) * x.dim(1);
  for (int64_t p = 0; p < planes; ++p) {
    float* dxp = dx.data<float>() + p * g.h * g.w;
    const float* dyp = dy.data<float>() + p * g.oh * g.ow;
    for (int64_t oy = 0; oy < g.oh; ++oy) {
      for (int64_t ox = 0; ox < g.ow; ++ox) {
        int64_t count = 0;
        for (int64_t i = 0; i < g.kh; ++i) {
          const int64_t iy = oy * g.sh - g.ph + i * g.dh;
          for (int64_t j = 0; j < g.kw; ++j) {
            const int64_t ix = ox * g.sw - g.pw + j * g.dw;
            const bool inside = iy >= 0 && iy < g.h && ix >= 0 && ix < g.w;
            const bool in_pad = iy >= -g.ph && iy < g.h + end_h && ix >= -g.pw && ix < g.w + end_w;
            count += count_pad ? in_pad : inside;
          }
        }
        if (count == 0) continue;
        const float v = dyp[oy * g.ow + ox] / static_cast<float>(count);
        for (int64_t i = 0; i < g.kh; ++i) {
          const int64_t iy = oy * g.sh - g.ph + i * g.dh;
          if (iy < 0 || iy >= g.h) continue;
          for (int64_t j = 0; j < g.kw; ++j) {
            const int64_t ix = ox * g.sw - g.pw + j * g.dw;
            if (ix >= 0 && ix < g.w) dxp[iy * g.w + ix] += v;
          }
        }
      }
    }
  }
  c.din[0] = dx;
  return ok_status();
}

Status grad_global_average_pool(GradContext& c) {
  const Tensor& x = c.in[0];
  const Tensor& dy = c.dout[0];
  if (!dy.defined() || !c.need[0]) return ok_status();
  if (!is_f32(x) || x.rank() < 2) return c.error("training needs f32 input of rank >= 2");
  ASSIGN_OR_RETURN(Tensor dx, zeros(x.shape()));
  const int64_t planes = x.dim(0) * x.dim(1);
  const int64_t n = planes ? x.numel() / planes : 0;
  for (int64_t p = 0; p < planes; ++p) {
    const float v = n ? dy.data<float>()[p] / static_cast<float>(n) : 0.0f;
    std::fill(dx.data<float>() + p * n, dx.data<float>() + (p + 1) * n, v);
  }
  c.din[0] = dx;
  return ok_status();
}

Status grad_batch_norm(GradContext& c) {
  const Tensor& x = c.in[0];
  const Tensor& scale = c.in[1];
  const Tensor& dy = c.dout[0];
  if (!dy.defined()) return ok_status();
  if (!is_f32(x) || x.rank() < 2 || !is_f32(scale)) return c.error("training needs f32 input");
  const int64_t N = x.dim(0), C = x.dim(1), S = x.numel() / std::max<int64_t>(1, N * C);
  const float eps = node_float(c.node, "epsilon", 1e-5f);
  std::vector<float> mean(C), istd(C);
  const bool training = c.aux && c.aux->training;
  for (int64_t ch = 0; ch < C; ++ch) {
    if (training) {
      mean[ch] = c.aux->mean[ch];
      istd[ch] = c.aux->inv_std[ch];
    } else {
      mean[ch] = c.in[3].data<float>()[ch];
      istd[ch] = 1.0f / std::sqrt(c.in[4].data<float>()[ch] + eps);
    }
  }
  std::vector<double> dbeta(C, 0.0), dgamma(C, 0.0);
  for (int64_t n = 0; n < N; ++n) {
    for (int64_t ch = 0; ch < C; ++ch) {
      const float* xp = x.data<float>() + (n * C + ch) * S;
      const float* dp = dy.data<float>() + (n * C + ch) * S;
      for (int64_t i = 0; i < S; ++i) {
        dbeta[ch] += dp[i];
        dgamma[ch] += dp[i] * (xp[i] - mean[ch]) * istd[ch];
      }
    }
  }
  if (c.need[0]) {
    ASSIGN_OR_RETURN(Tensor dx, zeros(x.shape()));
    const double cnt = static_cast<double>(N * S);
    for (int64_t n = 0; n < N; ++n) {
      for (int64_t ch = 0; ch < C; ++ch) {
        const float* xp = x.data<float>() + (n * C + ch) * S;
        const float* dp = dy.data<float>() + (n * C + ch) * S;
        float* o = dx.data<float>() + (n * C + ch) * S;
        const float gs = scale.data<float>()[ch] * istd[ch];
        for (int64_t i = 0; i < S; ++i) {
          if (training) {
            const double xh = (xp[i] - mean[ch]) * istd[ch];
            o[i] = static_cast<float>(gs * (dp[i] - dbeta[ch] / cnt - xh * dgamma[ch] / cnt));
          } else {
            o[i] = gs * dp[i];
          }
        }
      }
    }
    c.din[0] = dx;
  }
  if (c.need[1]) {
    ASSIGN_OR_RETURN(Tensor d, zeros(scale.shape()));
    for (int64_t ch = 0; ch < C; ++ch) d.data<float>()[ch] = static_cast<float>(dgamma[ch]);
    c.din[1] = d;
  }
  if (c.need[2]) {
    ASSIGN_OR_RETURN(Tensor d, zeros(c.in[2].shape()));
    for (int64_t ch = 0; ch < C; ++ch) d.data<float>()[ch] = static_cast<float>(dbeta[ch]);
    c.din[2] = d;
  }
  return ok_status();
}

}  // namespace edgeai::compress::train
