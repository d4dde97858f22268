// QLinearConv (u8 activations, s8 weights with zero points of 0, int32 bias) on NCHW 2-D inputs,
// bit-exact with the reference kernel (src/kernels/reference/quant.cc):
//   - depthwise (one input and one output channel per group): a direct kernel (qgemm.h QDwArgs)
//     that reads each plane in place, positions outside it counting as the input zero point;
//   - otherwise one integer GEMM (qgemm.h) per (image, group): weights prepacked at preparation,
//     the input read in place (1x1, stride 1, no pads) or through an im2col copy (padding holds
//     the input zero point, so it adds nothing), packed 16 columns at a time.
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

// Rows (c, ky, kx) x output positions of one image's group, as bytes; padding holds zx.
void im2col_u8(const QConvState& s, const ConvGeom& g, const uint8_t* x, uint8_t* out) {
  const int64_t n = g.oh * g.ow;
  for (int64_t c = 0; c < s.cpg; ++c) {
    const uint8_t* xc = x + c * g.h * g.w;
    for (int64_t ky = 0; ky < g.kh; ++ky) {
      for (int64_t kx = 0; kx < g.kw; ++kx) {
        uint8_t* row = out + ((c * g.kh + ky) * g.kw + kx) * n;
        const int64_t d = kx * g.dw - g.pw;  // column shift
        if (g.sh == 1 && g.sw == 1 && g.ow == g.w && d > -g.w && d < g.w) {
          // Output rows [y0, y1) read input rows y0 + ky * dh - ph ...: one copy of the run of
          // rows shifted by d, then the d columns at each row's edge that fall in the padding.
          const int64_t oy_off = ky * g.dh - g.ph;
          const int64_t y0 = std::clamp<int64_t>(-oy_off, 0, g.oh), y1 = std::clamp<int64_t>(g.h - oy_off, y0, g.oh);
          std::memset(row, s.zx, static_cast<size_t>(y0 * g.ow));
          std::memset(row + y1 * g.ow, s.zx, static_cast<size_t>((g.oh - y1) * g.ow));
          if (y1 > y0) {
            // out[oy][ox] = x[oy + oy_off][ox + d]: flat offset (oy + oy_off) * w + d, clipped to the plane.
            const int64_t src0 = (y0 + oy_off) * g.w + d, len = (y1 - y0) * g.ow;
            const int64_t lo = std::max<int64_t>(0, -src0), hi = std::min<int64_t>(len, g.h * g.w - src0);
            std::memcpy(row + y0 * g.ow + lo, xc + src0 + lo, static_cast<size_t>(hi - lo));
            // The edge columns: one byte per row for 3x3 kernels (a store, not a memset call).
            const uint8_t zx = static_cast<uint8_t>(s.zx);
            for (int64_t oy = y0; oy < y1; ++oy) {
              uint8_t* r = row + oy * g.ow;
              if (d == -1) r[0] = zx;
              else if (d == 1) r[g.ow - 1] = zx;
              else if (d < 0) std::memset(r, zx, static_cast<size_t>(-d));
              else if (d > 0) std::memset(r + g.ow - d, zx, static_cast<size_t>(d));
            }
            if (lo > 0) std::memset(row + y0 * g.ow, s.zx, static_cast<size_t>(lo));
            if (hi < len) std::memset(row + y0 * g.ow + hi, s.zx, static_cast<size_t>(len - hi));
          }
          continue;
        }
        for (int64_t oy = 0; oy < g.oh; ++oy) {
          uint8_t* r = row + oy * g.ow;
          const int64_t iy = oy * g.sh - g.ph + ky * g.dh;
          if (iy < 0 || iy >= g.h) {
            std::memset(r, s.zx, static_cast<size_t>(g.ow));
            continue;
          }
          gather_row(xc + iy * g.w, g.w, kx * g.dw - g.pw, g.sw, g.ow, static_cast<uint8_t>(s.zx), r);
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
  const int64_t scratch_cap = 8 * (x.numel() + y->numel()) + (int64_t(1) << 24);

  if (s->depthwise) {
    const int64_t planes = n_img * s->c;
    auto body = [&](int64_t b, int64_t e) {
      for (int64_t p = b; p < e; ++p) {
        const int64_t ch = p % s->c;
        QDwArgs a;
        a.x = xd + p * in_sp;
        a.h = g.h;
        a.w = g.w;
        a.pt = g.ph;
        a.pl = g.pw;
        a.wt = s->wdw.data() + ch * g.kh * g.kw;
        a.kh = g.kh;
        a.kw = g.kw;
        a.sh = g.sh;
        a.sw = g.sw;
        a.dh = g.dh;
        a.dw = g.dw;
        a.oh = g.oh;
        a.ow = g.ow;
        a.zx = s->zx;
        a.corr = s->corr[ch];
        a.mult = s->mult[ch];
        a.mult_below_one = s->mult[ch] < 1.f;
        a.zy = s->zy;
        a.qmin = s->qmin;
        a.qmax = s->qmax;
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
  const int64_t k = s->cpg * g.kh * g.kw, kq = (k + 3) / 4;
  // Columns per packed chunk: a multiple of 48 whose packed bytes stay near 256 KB.
  const int64_t nc = std::clamp<int64_t>((int64_t(256) << 10) / (kq * 4 * 48), 1, 8) * 48;
  const int64_t chunks = (out_sp + nc - 1) / nc;
  const int64_t products = n_img * s->group;
  const int threads = pool.num_threads();
  const int64_t panels = (s->mpg + kQMR - 1) / kQMR;
  const int64_t msplit = (products * chunks >= 2 * threads) ? 1 : std::min<int64_t>(threads, panels);
  // im2col of every (image, group) first (bytes), when the input is not read in place.
  AlignedFloats cols;
  if (!pointwise) {
    const int64_t bytes = products * k * out_sp;
    if (bytes > scratch_cap) return s->fall_back(ctx);
    cols = AlignedFloats((bytes + 3) / 4);
    if (!cols.ok()) return out_of_memory((bytes + 3) / 4);
    uint8_t* cd = reinterpret_cast<uint8_t*>(cols.data());
    auto body = [&](int64_t b, int64_t e) {
      for (int64_t i = b; i < e; ++i) {
        const int64_t n = i / s->group, gi = i % s->group;
        im2col_u8(*s, g, xd + (n * s->c + gi * s->cpg) * in_sp, cd + i * k * out_sp);
      }
    };
    if (products * k * out_sp < (int64_t(1) << 18)) body(0, products);
    else pool.parallel_for(products, 1, body);
  }
  const uint8_t* colsd = reinterpret_cast<const uint8_t*>(cols.data());
  const int64_t tasks = products * chunks * msplit;
  const int64_t pack_bytes = kq * 4 * nc;
  std::atomic<bool> failed{false};
  auto body = [&](int64_t b, int64_t e) {
    AlignedFloats buf((pack_bytes + 3) / 4);
    if (!buf.ok()) {
      failed = true;
      return;
    }
    uint8_t* packed = reinterpret_cast<uint8_t*>(buf.data());
    int64_t packed_for = -1;
    for (int64_t t = b; t < e; ++t) {
      const int64_t part = t % msplit, pc = t / msplit;  // (product, chunk)
      const int64_t i = pc / chunks, ch = pc % chunks;
      const int64_t n = i / s->group, gi = i % s->group;
      const int64_t j0 = ch * nc, ncols = std::min(nc, out_sp - j0);
      if (packed_for != pc) {
        const uint8_t* src = pointwise ? xd + (n * s->c + gi * s->cpg) * in_sp + j0 : colsd + i * k * out_sp + j0;
        qk.pack_b(src, out_sp, k, ncols, kq, packed);
        packed_for = pc;
      }
      const int64_t p0 = panels * part / msplit, p1 = panels * (part + 1) / msplit;
      if (p0 == p1) continue;
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
    }
  };
  const int64_t work = products * s->mpg * k * out_sp;
  if (work < (int64_t(1) << 20) || threads <= 1) body(0, tasks);
  else pool.parallel_for(tasks, 1, body);
  return failed ? out_of_memory(pack_bytes / 4) : ok_status();
}

}  // namespace edgeai::kernels::cpu
