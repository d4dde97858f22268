// com.edgeai QMaxPool (the MaxPool of an int8 QDQ graph, fused by passes/fuse_qdq.cc) on u8 NCHW
// 2-D planes: per output row, the byte max of the window's input rows over the padded row (padding
// and columns past the end as 0, which no byte is below: it changes no max, and a window of
// padding alone gives 0 as the reference's does), then the max over each window's columns. The
// same bytes as the reference MaxPool; s8, other ranks and a wanted Indices output run the reference.
#include <algorithm>
#include <atomic>
#include <cstring>

#include "kernels/cpu/gemm.h"
#include "kernels/cpu/op_common.h"
#include "kernels/cpu/ops.h"
#include "kernels/reference/nn_internal.h"

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace edgeai::kernels::cpu {
namespace {

struct QPoolState final : FastState {};

constexpr int64_t kRowSlack = 16;  // readable bytes past the padded row (the 32-byte loads)

// The plane's geometry: input h x w, and the reference's window (output size, kernel, strides,
// dilations, pads).
struct PoolGeom {
  int64_t h = 0, w = 0;
  const ref::nn::Window* win = nullptr;
  int64_t oh() const { return win->out[0]; }
  int64_t ow() const { return win->out[1]; }
  // The padded row's bytes, and those of its buffer: kRowSlack more, and at least one block of 16
  // stride-2 outputs (a row narrower than that is pooled as one block, its first ow kept).
  int64_t width() const { return (ow() - 1) * win->strides[1] + win->extent(1); }
  int64_t row_bytes() const {
    return std::max(width() + kRowSlack, 32 + (win->kernel[1] - 1) * win->dilations[1]);
  }
};

// yr[ox] = max over kx of row[ox * sw + kx * dw]; kSw > 0: that column stride as a constant (the
// loops then vectorize), else the window's. Column stride 2 on SSE2 takes 16 outputs at a time, the even
// bytes of 32, and a last block of 16 that overlaps the one before it for the rest of the row.
template <int kSw>
void max_columns(const PoolGeom& g, const uint8_t* row, uint8_t* yr) {
  const ref::nn::Window& wn = *g.win;
  const int64_t sw = kSw > 0 ? kSw : wn.strides[1], kw = wn.kernel[1], dw = wn.dilations[1], ow = g.ow();
  int64_t ox0 = 0;
#if defined(__SSE2__)
  if constexpr (kSw == 2) {
    const __m128i even = _mm_set1_epi16(0xff);
    auto block_to = [&](int64_t ox, uint8_t* out) {
      __m128i m = _mm_setzero_si128();
      for (int64_t kx = 0; kx < kw; ++kx) {
        const uint8_t* p = row + 2 * ox + kx * dw;
        const __m128i a = _mm_and_si128(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)), even);
        const __m128i b = _mm_and_si128(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p + 16)), even);
        m = _mm_max_epu8(m, _mm_packus_epi16(a, b));
      }
      _mm_storeu_si128(reinterpret_cast<__m128i*>(out), m);
    };
    auto block = [&](int64_t ox) { block_to(ox, yr + ox); };
    for (; ox0 + 16 <= ow; ox0 += 16) block(ox0);
    if (ox0 > 0 && ox0 < ow) {  // its last load ends at the row's last byte + 1, inside kRowSlack
      block(ow - 16);
      ox0 = ow;
    } else if (ox0 == 0 && ow > 1) {  // inside row_bytes(); the 16 outputs through a copy
      alignas(16) uint8_t out[16];
      block_to(0, out);
      std::memcpy(yr, out, static_cast<size_t>(ow));
      ox0 = ow;
    }
  }
#endif
  for (int64_t ox = ox0; ox < ow; ++ox) yr[ox] = row[ox * sw];
  for (int64_t kx = 1; kx < kw; ++kx) {
    const uint8_t* r = row + kx * dw;
    for (int64_t ox = ox0; ox < ow; ++ox) yr[ox] = std::max(yr[ox], r[ox * sw]);
  }
}

#if defined(__SSE2__)
// max_rows of kRows rows, n >= 16.
template <int kRows>
void max_rows_sse2(const uint8_t* const* rows, int64_t n, uint8_t* out) {
  auto at = [&](int64_t c) {
    __m128i m = _mm_loadu_si128(reinterpret_cast<const __m128i*>(rows[0] + c));
    for (int r = 1; r < kRows; ++r) m = _mm_max_epu8(m, _mm_loadu_si128(reinterpret_cast<const __m128i*>(rows[r] + c)));
    return m;
  };
  const __m128i last = at(n - 16);  // before the loop's stores: out may be rows[0]
  int64_t c = 0;
  for (; c + 16 <= n; c += 16) _mm_storeu_si128(reinterpret_cast<__m128i*>(out + c), at(c));
  if (c < n) _mm_storeu_si128(reinterpret_cast<__m128i*>(out + n - 16), last);
}
#endif

// out[c] = the max of rows[0 .. nr)[c] for c in [0, n); nr >= 1. Two and three rows in one pass;
// on SSE2 rows of 16 bytes or more 16 at a time, the last 16 overlapping the ones before (out may
// be rows[0], read before it is written at each position).
void max_rows(const uint8_t* const* rows, int64_t nr, int64_t n, uint8_t* out) {
#if defined(__SSE2__)
  if (n >= 16 && nr <= 3) {
    if (nr == 3) max_rows_sse2<3>(rows, n, out);
    else if (nr == 2) max_rows_sse2<2>(rows, n, out);
    else max_rows_sse2<1>(rows, n, out);
    return;
  }
#endif
  const uint8_t* a = rows[0];
  if (nr == 1) {
    std::memcpy(out, a, static_cast<size_t>(n));
    return;
  }
  const uint8_t* b = rows[1];
  if (nr == 3) {
    const uint8_t* c3 = rows[2];
    for (int64_t c = 0; c < n; ++c) out[c] = std::max(std::max(a[c], b[c]), c3[c]);
    return;
  }
  for (int64_t c = 0; c < n; ++c) out[c] = std::max(a[c], b[c]);
  for (int64_t r = 2; r < nr; ++r) {
    const uint8_t* x = rows[r];
    for (int64_t c = 0; c < n; ++c) out[c] = std::max(out[c], x[c]);
  }
}

// One plane; `row` holds g.row_bytes() bytes. Its padding columns
// and slack are 0 for every output row; the columns over the input take the max of the window's
// rows inside the plane (0 where there is none).
template <int kSw>
void max_pool_plane_u8(const PoolGeom& g, const uint8_t* x, uint8_t* y, uint8_t* row) {
  const ref::nn::Window& wn = *g.win;
  const int64_t pw = wn.pad_begin[1], width = g.width();
  const int64_t c0 = std::min(width, pw), c1 = std::clamp<int64_t>(pw + g.w, c0, width);  // row[c] = x[c - pw]
  std::memset(row, 0, static_cast<size_t>(c0));
  std::memset(row + c1, 0, static_cast<size_t>(g.row_bytes() - c1));
  constexpr int64_t kMaxRows = 16;
  const uint8_t* rows[kMaxRows];
  for (int64_t oy = 0; oy < g.oh(); ++oy) {
    int64_t nr = 0;
    uint8_t* rr = row + c0;
    for (int64_t ky = 0; ky < wn.kernel[0]; ++ky) {
      const int64_t iy = oy * wn.strides[0] - wn.pad_begin[0] + ky * wn.dilations[0];
      if (iy < 0 || iy >= g.h) continue;
      rows[nr++] = x + iy * g.w + (c0 - pw);
      if (nr == kMaxRows) {  // tall windows: fold what there is into rr, carry it as the first row
        max_rows(rows, nr, c1 - c0, rr);
        rows[0] = rr;
        nr = 1;
      }
    }
    if (nr == 0) std::memset(rr, 0, static_cast<size_t>(c1 - c0));
    else if (!(nr == 1 && rows[0] == rr)) max_rows(rows, nr, c1 - c0, rr);
    max_columns<kSw>(g, row, y + oy * g.ow());
  }
}

}  // namespace

PrepareResult prepare_qmax_pool(PrepareContext& ctx) {
  std::unique_ptr<KernelState> none;
  if (ctx.num_inputs() != 1 || !ctx.has_input(0)) return none;
  if (!ctx.has_attr("kernel_shape") || ctx.attr_ints("kernel_shape").size() != 2) return none;
  auto s = std::make_unique<QPoolState>();
  init_fast_state(ctx, "com.edgeai", s.get());
  return std::unique_ptr<KernelState>(std::move(s));
}

Status run_qmax_pool(KernelContext& ctx) {
  const QPoolState* s = state_of<QPoolState>(ctx);
  if (ctx.num_outputs() != 1 || !ctx.input_value(0).is_tensor() || ctx.input(0).dtype() != DType::kU8 ||
      ctx.input(0).rank() != 4) {
    return s->fall_back(ctx);
  }
  const Tensor& x = ctx.input(0);
  const int64_t ceil_mode = ctx.attr_int("ceil_mode", 0);
  if (ceil_mode != 0 && ceil_mode != 1) return s->fall_back(ctx);
  const Shape in{x.dim(2), x.dim(3)};
  auto win = ref::nn::make_window(ctx, in, Shape(ctx.attr_ints("kernel_shape")), true, ceil_mode == 1, true);
  if (!win.ok()) return s->fall_back(ctx);
  PoolGeom g;
  g.h = in[0];
  g.w = in[1];
  g.win = &*win;
  if (!ctx.is_output_used(0)) return ok_status();
  ASSIGN_OR_RETURN(Tensor * y, ctx.allocate_output_uninitialized(0, DType::kU8, Shape{x.dim(0), x.dim(1), g.oh(), g.ow()}));
  const int64_t planes = x.dim(0) * x.dim(1), in_sp = g.h * g.w, out_sp = g.oh() * g.ow();
  if (planes == 0 || out_sp == 0) return ok_status();
  const int64_t sw = win->strides[1], row_floats = (g.row_bytes() + 3) / 4;
  const uint8_t* xd = x.data<uint8_t>();
  uint8_t* yd = y->data<uint8_t>();
  std::atomic<bool> failed{false};
  auto body = [&](int64_t p0, int64_t p1) {
    AlignedFloats row(row_floats);
    if (!row.ok()) {
      failed = true;
      return;
    }
    uint8_t* r = reinterpret_cast<uint8_t*>(row.data());
    for (int64_t p = p0; p < p1; ++p) {
      if (sw == 1) max_pool_plane_u8<1>(g, xd + p * in_sp, yd + p * out_sp, r);
      else if (sw == 2) max_pool_plane_u8<2>(g, xd + p * in_sp, yd + p * out_sp, r);
      else max_pool_plane_u8<0>(g, xd + p * in_sp, yd + p * out_sp, r);
    }
  };
  if (planes * out_sp * shape_numel(win->kernel) < (int64_t(1) << 16) || ctx.pool().num_threads() <= 1) body(0, planes);
  else ctx.pool().parallel_for(planes, 1, body);
  return failed ? out_of_memory(row_floats) : ok_status();
}

}  // namespace edgeai::kernels::cpu
