// QLinearConv (u8 activations, s8 weights with zero points of 0, int32 bias) on NCHW 2-D inputs,
// bit-exact with the reference kernel (src/kernels/reference/quant.cc):
//   - depthwise (one input and one output channel per group): a direct kernel (qgemm.h QDwArgs)
//     that reads each plane in place, positions outside it counting as the input zero point;
//   - otherwise one integer GEMM (qgemm.h) per (image, group): weights prepacked at preparation,
//     the input read in place (1x1, stride 1, no pads) or through an im2col copy (padding holds
//     the input zero point, so it adds nothing), packed 16 columns at a time; a 1x1 of 1x1 planes
//     (a Gemm of rows) is one GEMM over the images as rows (qmatmul.h).
// Nodes outside this (other dtypes, non-zero weight zero points, SAME padding, 1-D or 3-D, sums that
// could overflow int32) run the reference kernel.
#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstring>
#include <string>

#include "kernels/cpu/gemm.h"
#include "kernels/cpu/op_common.h"
#include "kernels/cpu/ops.h"
#include "kernels/cpu/qgemm.h"
#include "kernels/cpu/qmatmul.h"

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace edgeai::kernels::cpu {
namespace {

struct QConvState final : FastState {
  const QGemmKernels* qk = nullptr;
  int64_t m = 0, c = 0, group = 1, cpg = 0, mpg = 0, kh = 1, kw = 1;
  int64_t stride[2] = {1, 1}, dil[2] = {1, 1}, pad_b[2] = {0, 0}, pad_e[2] = {0, 0};
  bool depthwise = false;
  int32_t zx = 0, zy = 0, qmin = 0, qmax = 255;
  DType y_type = DType::kU8;
  std::vector<std::vector<int8_t>> wpacked;  // per group (GEMM path)
  std::vector<int8_t> wdw;                    // depthwise: [C][kh * kw]
  std::vector<int32_t> corr;                  // [M]: bias - zx * sum(w)
  std::vector<float> mult;                    // [M]: x_scale * w_scale / y_scale (qgemm.h)
  bool mult_below_one = true;
};

// A positive finite float scalar (or one element) constant.
bool scalar_scale(const Tensor* t, float* v) {
  if (!t || t->dtype() != DType::kF32 || t->numel() != 1 || t->rank() > 1) return false;
  *v = t->data<float>()[0];
  return std::isfinite(*v) && *v > 0.f;
}

// A scalar (or one element) 8-bit zero point constant of dtype `want`.
bool scalar_zp(const Tensor* t, DType want, int32_t* v) {
  if (!t || t->dtype() != want || t->numel() != 1 || t->rank() > 1) return false;
  *v = static_cast<int32_t>(t->get_int(0));
  return true;
}

bool read_ints(const PrepareContext& ctx, const char* name, size_t n, int64_t def, int64_t lo, int64_t hi,
               int64_t* out) {
  std::vector<int64_t> v = ctx.attr_ints(name);
  if (!ctx.has_attr(name)) v.assign(n, def);
  if (v.size() != n) return false;
  for (size_t i = 0; i < n; ++i) {
    if (v[i] < lo || v[i] > hi) return false;
    out[i] = v[i];
  }
  return true;
}

}  // namespace

Result<std::unique_ptr<KernelState>> prepare_qlinear_conv(PrepareContext& ctx) {
  std::unique_ptr<KernelState> none;
  if (ctx.num_inputs() < 8 || ctx.num_inputs() > 9) return none;
  for (int i = 0; i < 8; ++i) {
    if (!ctx.has_input(i)) return none;
  }
  auto s = std::make_unique<QConvState>();
  init_fast_state(ctx, "", s.get());
  s->qk = &qgemm_for(ctx.cpu());
  float sx = 0.f, sy = 0.f;
  const Tensor* w = ctx.constant_input(3);
  const Tensor* ws = ctx.constant_input(4);
  const Tensor* wz = ctx.constant_input(5);
  const Tensor* yz = ctx.constant_input(7);
  if (!scalar_scale(ctx.constant_input(1), &sx) || !scalar_zp(ctx.constant_input(2), DType::kU8, &s->zx) ||
      !scalar_scale(ctx.constant_input(6), &sy) || !yz || (yz->dtype() != DType::kU8 && yz->dtype() != DType::kI8) ||
      !scalar_zp(yz, yz->dtype(), &s->zy)) {
    return none;
  }
  DType xt;
  std::vector<int64_t> xshape;
  if (ctx.declared_type(0, &xt, &xshape) && xt != DType::kU8 && xt != DType::kUndefined) return none;
  s->y_type = yz->dtype();
  s->qmin = s->y_type == DType::kU8 ? 0 : -128;
  s->qmax = s->y_type == DType::kU8 ? 255 : 127;
  if (!w || w->dtype() != DType::kI8 || w->rank() != 4) return none;
  s->m = w->dim(0);
  s->cpg = w->dim(1);
  s->kh = w->dim(2);
  s->kw = w->dim(3);
  s->group = ctx.attr_int("group", 1);
  if (s->group < 1 || s->m == 0 || s->m % s->group != 0 || s->cpg == 0 || s->kh < 1 || s->kw < 1) return none;
  s->mpg = s->m / s->group;
  s->c = s->cpg * s->group;
  if (ctx.has_attr("kernel_shape") && ctx.attr_ints("kernel_shape") != std::vector<int64_t>{s->kh, s->kw}) return none;
  const std::string ap = ctx.attr_string("auto_pad", "NOTSET");
  int64_t pads[4] = {0, 0, 0, 0};
  if (!read_ints(ctx, "strides", 2, 1, 1, 1 << 16, s->stride) || !read_ints(ctx, "dilations", 2, 1, 1, 1 << 16, s->dil) ||
      !read_ints(ctx, "pads", 4, 0, 0, 1 << 16, pads) || !(ap == "NOTSET" || ap.empty() || ap == "VALID")) {
    return none;
  }
  if (ap != "VALID") {
    s->pad_b[0] = pads[0];
    s->pad_b[1] = pads[1];
    s->pad_e[0] = pads[2];
    s->pad_e[1] = pads[3];
  }
  // Weight scales (scalar or per output channel), zero points all 0.
  if (!ws || ws->dtype() != DType::kF32 || !(ws->numel() == 1 || (ws->rank() == 1 && ws->dim(0) == s->m))) return none;
  if (!wz || wz->dtype() != DType::kI8 || !(wz->numel() == 1 || (wz->rank() == 1 && wz->dim(0) == s->m))) return none;
  for (int64_t i = 0; i < wz->numel(); ++i) {
    if (wz->get_int(i) != 0) return none;
  }
  const int64_t taps = s->kh * s->kw, k = s->cpg * taps;
  const int32_t* bias = nullptr;
  if (ctx.num_inputs() == 9 && ctx.has_input(8)) {
    const Tensor* b = ctx.constant_input(8);
    if (!b || b->dtype() != DType::kI32 || b->rank() != 1 || b->dim(0) != s->m) return none;
    bias = b->data<int32_t>();
  }
  s->depthwise = s->cpg == 1 && s->mpg == 1;
  s->mult.resize(s->m);
  s->corr.resize(s->m);
  const int8_t* wd = w->data<int8_t>();
  for (int64_t i = 0; i < s->m; ++i) {
    const float swi = ws->data<float>()[ws->numel() == 1 ? 0 : i];
    if (!std::isfinite(swi) || swi <= 0.f) return none;
    s->mult[i] = static_cast<float>(static_cast<double>(sx) * swi / sy);  // as the reference computes it
    if (!std::isfinite(s->mult[i])) return none;
    s->mult_below_one = s->mult_below_one && s->mult[i] < 1.f;
    int64_t wsum = 0;
    for (int64_t kk = 0; kk < k; ++kk) wsum += wd[i * k + kk];
    const int64_t b = bias ? bias[i] : 0;
    // |acc| <= k * 255 * 128; acc + corr must stay in int32.
    const int64_t corr = b - int64_t(s->zx) * wsum;
    if (2 * k * 255 * 128 + std::abs(b) >= (int64_t(1) << 31)) return none;
    s->corr[i] = static_cast<int32_t>(corr);
  }
  if (s->depthwise) {
    s->wdw.assign(wd, wd + s->m * taps);
  } else {
    for (int64_t g = 0; g < s->group; ++g) {
      s->wpacked.emplace_back(static_cast<size_t>(qgemm_a_bytes(s->mpg, k)));
      qgemm_pack_a(wd + g * s->mpg * k, s->mpg, k, s->wpacked.back().data());
    }
  }
  return std::unique_ptr<KernelState>(std::move(s));
}

namespace {

// out[c] = xr[x0 + c * s] for c in [0, n) where that is inside the row [0, w), else zx.
void gather_row(const uint8_t* xr, int64_t w, int64_t x0, int64_t s, int64_t n, uint8_t zx, uint8_t* out) {
  const int64_t lo = std::min(n, x0 >= 0 ? 0 : (-x0 + s - 1) / s);
  const int64_t hi = std::max(lo, std::min(n, w - x0 > 0 ? (w - x0 + s - 1) / s : 0));
  std::memset(out, zx, static_cast<size_t>(lo));
  if (s == 1) {
    std::memcpy(out + lo, xr + x0 + lo, static_cast<size_t>(hi - lo));
  } else {
    int64_t c = lo;
#if defined(__SSE2__)
    if (s == 2) {  // the even bytes of 32, 16 at a time, while the 32 stay inside the row
      const __m128i even = _mm_set1_epi16(0xff);
      for (; c + 16 <= hi && x0 + 2 * c + 32 <= w; c += 16) {
        const uint8_t* p = xr + x0 + 2 * c;
        const __m128i a = _mm_and_si128(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)), even);
        const __m128i b = _mm_and_si128(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p + 16)), even);
        _mm_storeu_si128(reinterpret_cast<__m128i*>(out + c), _mm_packus_epi16(a, b));
      }
    }
#endif
    for (; c < hi; ++c) out[c] = xr[x0 + c * s];
  }
  std::memset(out + hi, zx, static_cast<size_t>(n - hi));
}

// Rows (c, ky, kx) of columns [j0, j0 + n) (output positions) of one image's group, row r at
// out + r * n, as bytes; padding holds zx.
void im2col_cols(const QConvState& s, const ConvGeom& g, const uint8_t* x, int64_t j0, int64_t n, uint8_t* out) {
  const uint8_t zx = static_cast<uint8_t>(s.zx);
  const int64_t j1 = j0 + n;
  for (int64_t c = 0; c < s.cpg; ++c) {
    const uint8_t* xc = x + c * g.h * g.w;
    for (int64_t ky = 0; ky < g.kh; ++ky) {
      for (int64_t kx = 0; kx < g.kw; ++kx) {
        uint8_t* row = out + ((c * g.kh + ky) * g.kw + kx) * n;
        for (int64_t oy = j0 / g.ow; oy * g.ow < j1; ++oy) {  // the part of each output row in [j0, j1)
          const int64_t a = std::max(j0, oy * g.ow), b = std::min(j1, (oy + 1) * g.ow);
          const int64_t iy = oy * g.sh - g.ph + ky * g.dh;
          if (iy < 0 || iy >= g.h) std::memset(row + a - j0, zx, static_cast<size_t>(b - a));
          else gather_row(xc + iy * g.w, g.w, (a - oy * g.ow) * g.sw + kx * g.dw - g.pw, g.sw, b - a, zx, row + a - j0);
        }
      }
    }
  }
}

}  // namespace

Status run_qlinear_conv(KernelContext& ctx) {
  const QConvState* s = state_of<QConvState>(ctx);
  if (!ctx.has_input(0) || !ctx.input_value(0).is_tensor() || ctx.input(0).dtype() != DType::kU8 ||
      ctx.input(0).rank() != 4 || ctx.input(0).dim(1) != s->c) {
    return s->fall_back(ctx);
  }
  const Tensor& x = ctx.input(0);
  ConvGeom g;
  g.c = s->cpg;
  g.kh = s->kh;
  g.kw = s->kw;
  g.h = x.dim(2);
  g.w = x.dim(3);
  g.sh = s->stride[0];
  g.sw = s->stride[1];
  g.dh = s->dil[0];
  g.dw = s->dil[1];
  g.ph = s->pad_b[0];
  g.pw = s->pad_b[1];
  const int64_t ext_h = g.dh * (g.kh - 1) + 1, ext_w = g.dw * (g.kw - 1) + 1;
  const int64_t padded_h = g.h + s->pad_b[0] + s->pad_e[0], padded_w = g.w + s->pad_b[1] + s->pad_e[1];
  if (padded_h < ext_h || padded_w < ext_w) return s->fall_back(ctx);
  g.oh = (padded_h - ext_h) / g.sh + 1;
  g.ow = (padded_w - ext_w) / g.sw + 1;
  if (!ctx.is_output_used(0)) return ok_status();
  ASSIGN_OR_RETURN(Tensor * y, ctx.allocate_output_uninitialized(0, s->y_type, Shape{x.dim(0), s->m, g.oh, g.ow}));
  const int64_t n_img = x.dim(0), in_sp = g.h * g.w, out_sp = g.oh * g.ow;
  if (n_img == 0 || out_sp == 0) return ok_status();
  const uint8_t* xd = x.data<uint8_t>();
  uint8_t* yd = y->data<uint8_t>();
  const QGemmKernels& qk = *s->qk;
  ThreadPool& pool = ctx.pool();

  if (s->depthwise) {
    const int64_t planes = n_img * s->c;
    const QDwArgs plane{.h = g.h, .w = g.w, .pt = g.ph, .pl = g.pw, .kh = g.kh, .kw = g.kw, .sh = g.sh, .sw = g.sw,
                        .dh = g.dh, .dw = g.dw, .oh = g.oh, .ow = g.ow, .zx = s->zx, .zy = s->zy, .qmin = s->qmin,
                        .qmax = s->qmax};  // what every plane shares
    auto body = [&](int64_t b, int64_t e) {
      QDwArgs a = plane;
      for (int64_t p = b; p < e; ++p) {
        const int64_t ch = p % s->c;
        a.x = xd + p * in_sp;
        a.wt = s->wdw.data() + ch * g.kh * g.kw;
        a.corr = s->corr[ch];
        a.mult = s->mult[ch];
        a.mult_below_one = s->mult[ch] < 1.f;
        a.y = yd + p * out_sp;
        qk.dwconv(a);
      }
    };
    if (planes * out_sp * g.kh * g.kw < (int64_t(1) << 17)) body(0, planes);
    else pool.parallel_for(planes, 1, body);
    return ok_status();
  }

  const bool pointwise = g.kh == 1 && g.kw == 1 && g.sh == 1 && g.sw == 1 && g.ph == 0 && g.pw == 0 &&
                         g.oh == g.h && g.ow == g.w;
  if (pointwise && out_sp == 1 && s->group == 1) {
    // One position per image (a classifier Gemm of rows, fuse_qdq.cc): the images are the rows of
    // one GEMM rather than one-column products.
    QRowsGemm rg{.qk = &qk, .a = s->wpacked[0].data(), .m = s->m, .k = s->c, .corr = s->corr.data(),
                 .mult = s->mult.data(), .zy = s->zy, .qmin = s->qmin, .qmax = s->qmax,
                 .mult_below_one = s->mult_below_one};
    return qgemm_rows(rg, xd, s->c, n_img, yd, pool);
  }
  const int64_t k = s->cpg * g.kh * g.kw, kq = (k + 3) / 4, taps = g.kh * g.kw;
  // B packed straight from the input where the table can (no im2col rows).
  const bool direct = !pointwise && qk.pack_b_conv && (g.sw == 1 || g.sw == 2) && taps <= kQPackMaxTaps &&
                      g.h < (1 << 15) && g.w < (1 << 15) && g.oh * g.sh < (1 << 15) && g.ph < (1 << 15) &&
                      g.pw < (1 << 15) && (g.kh - 1) * g.dh < (1 << 15) && (g.kw - 1) * g.dw < (1 << 15);
  int32_t dys[kQPackMaxTaps], dxs[kQPackMaxTaps];
  if (direct) {
    for (int64_t t = 0; t < taps; ++t) {
      dys[t] = static_cast<int32_t>((t / g.kw) * g.dh - g.ph);
      dxs[t] = static_cast<int32_t>((t % g.kw) * g.dw - g.pw);
    }
  }
  const bool via_cols = !pointwise && !direct;  // im2col rows of the chunk, then pack_b
  const int64_t block_bytes = kq * 64, blocks = (out_sp + 15) / 16;
  // Packed chunks of at most ~512 KB (half an L2), whole 48-column units (the widest tile).
  const int64_t unit_blocks = 3, units = (blocks + unit_blocks - 1) / unit_blocks;
  const int64_t chunk_units = std::max<int64_t>(1, (int64_t(512) << 10) / (block_bytes * unit_blocks));
  const int64_t products = n_img * s->group;
  const int64_t panels = (s->mpg + kQMR - 1) / kQMR;
  const int threads = (products * s->mpg * k * out_sp < (int64_t(1) << 20)) ? 1 : pool.num_threads();

  // Columns [j0, j0 + ncols) of product (image, group) i into dst; colbuf: k * ncols bytes when via_cols.
  auto pack = [&](int64_t i, int64_t j0, int64_t ncols, uint8_t* dst, uint8_t* colbuf) {
    const int64_t n = i / s->group, gi = i % s->group;
    const uint8_t* xg = xd + (n * s->c + gi * s->cpg) * in_sp;
    if (pointwise) {
      qk.pack_b(xg + j0, out_sp, k, ncols, kq, dst);
    } else if (direct) {
      QPackConvArgs p;
      p.x = xg;
      p.h = g.h;
      p.w = g.w;
      p.ow = g.ow;
      p.sh = g.sh;
      p.sw = g.sw;
      p.k = k;
      p.kq = kq;
      p.j0 = j0;
      p.n = ncols;
      p.taps = static_cast<int>(taps);
      p.dy = dys;
      p.dx = dxs;
      p.zx = static_cast<uint8_t>(s->zx);
      qk.pack_b_conv(p, dst);
    } else {
      im2col_cols(*s, g, xg, j0, ncols, colbuf);
      qk.pack_b(colbuf, ncols, k, ncols, kq, dst);
    }
  };
  // Rows of panels [p0, p1) of product i times the packed columns [j0, j0 + ncols).
  auto gemm = [&](int64_t i, int64_t j0, int64_t ncols, int64_t p0, int64_t p1, const uint8_t* packed) {
    const int64_t n = i / s->group, gi = i % s->group;
    QGemmBlock blk;
    blk.m = std::min(s->mpg, p1 * kQMR) - p0 * kQMR;
    blk.n = ncols;
    blk.kq = kq;
    blk.a = s->wpacked[gi].data() + p0 * kq * kQMR * 4;
    blk.b = packed;
    blk.y = yd + (n * s->m + gi * s->mpg + p0 * kQMR) * out_sp + j0;
    blk.ldy = out_sp;
    blk.corr = s->corr.data() + gi * s->mpg + p0 * kQMR;
    blk.mult = s->mult.data() + gi * s->mpg + p0 * kQMR;
    blk.zy = s->zy;
    blk.qmin = s->qmin;
    blk.qmax = s->qmax;
    blk.mult_below_one = s->mult_below_one;
    qk.gemm(blk);
  };
  auto alloc = [](int64_t bytes) { return AlignedFloats((bytes + 3) / 4); };
  auto bytes_of = [](AlignedFloats& f) { return reinterpret_cast<uint8_t*>(f.data()); };

  if (threads > 1 && products < threads && units < 8 * int64_t(threads) && panels >= threads) {
    // Few columns per thread: every thread multiplies its share of the weight rows by all columns.
    // Up to 128 KB packed, each thread packs them itself (one hand-off, the packing repeated);
    // else each chunk is packed once, its blocks split over the threads, before the multiplying.
    if (products == 1 && blocks * block_bytes <= (int64_t(128) << 10)) {
      std::atomic<bool> failed{false};
      pool.parallel_for(threads, 1, [&](int64_t b, int64_t e) {
        AlignedFloats buf = alloc(blocks * block_bytes), colbuf = alloc(via_cols ? k * blocks * 16 : 0);
        if (!buf.ok() || !colbuf.ok()) {
          failed = true;
          return;
        }
        pack(0, 0, out_sp, bytes_of(buf), bytes_of(colbuf));
        for (int64_t t = b; t < e; ++t) {
          const int64_t p0 = panels * t / threads, p1 = panels * (t + 1) / threads;
          if (p1 > p0) gemm(0, 0, out_sp, p0, p1, bytes_of(buf));
        }
      });
      return failed ? out_of_memory(blocks * block_bytes / 4) : ok_status();
    }
    const int64_t chunk_blocks = std::min(blocks, chunk_units * unit_blocks);
    AlignedFloats shared = alloc(chunk_blocks * block_bytes);
    if (!shared.ok()) return out_of_memory(shared.size());
    uint8_t* packed = bytes_of(shared);
    std::atomic<bool> failed{false};
    for (int64_t i = 0; i < products; ++i) {
      for (int64_t jb0 = 0; jb0 < blocks; jb0 += chunk_blocks) {
        const int64_t nblk = std::min(chunk_blocks, blocks - jb0), j0 = jb0 * 16;
        const int64_t ncols = std::min(nblk * 16, out_sp - j0);
        pool.parallel_for(nblk, 1, [&](int64_t b, int64_t e) {
          const int64_t c0 = b * 16, nc = std::min(e * 16, ncols) - c0;
          AlignedFloats colbuf = alloc(via_cols ? k * nc : 0);
          if (!colbuf.ok()) {
            failed = true;
            return;
          }
          pack(i, j0 + c0, nc, packed + b * block_bytes, bytes_of(colbuf));
        });
        if (failed) return out_of_memory(k * ncols / 4);
        pool.parallel_for(threads, 1, [&](int64_t b, int64_t e) {
          for (int64_t t = b; t < e; ++t) {
            const int64_t p0 = panels * t / threads, p1 = panels * (t + 1) / threads;
            if (p1 > p0) gemm(i, j0, ncols, p0, p1, packed);
          }
        });
      }
    }
    return ok_status();
  }

  // Otherwise tasks of (product, chunk of columns), each packed by the thread that multiplies it;
  // chunks as even as whole units allow, their count a multiple of the threads where it can be.
  int64_t chunks = std::min(units, (units + chunk_units - 1) / chunk_units);
  while (threads > 1 && (products * chunks) % threads != 0 && chunks < units) ++chunks;
  const int64_t max_cols = (units + chunks - 1) / chunks * unit_blocks * 16;
  std::atomic<bool> failed{false};
  auto body = [&](int64_t b, int64_t e) {
    AlignedFloats buf = alloc(max_cols / 16 * block_bytes), colbuf = alloc(via_cols ? k * max_cols : 0);
    if (!buf.ok() || !colbuf.ok()) {
      failed = true;
      return;
    }
    for (int64_t t = b; t < e; ++t) {
      const int64_t i = t / chunks, ch = t % chunks;
      const int64_t j0 = units * ch / chunks * unit_blocks * 16;
      const int64_t ncols = std::min(units * (ch + 1) / chunks * unit_blocks * 16, out_sp) - j0;
      pack(i, j0, ncols, bytes_of(buf), bytes_of(colbuf));
      gemm(i, j0, ncols, 0, panels, bytes_of(buf));
    }
  };
  const int64_t tasks = products * chunks;
  if (threads <= 1) body(0, tasks);
  else pool.parallel_for(tasks, 1, body);
  return failed ? out_of_memory(max_cols / 16 * block_bytes / 4) : ok_status();
}

}  // namespace edgeai::kernels::cpu
