// The per-ISA micro-kernel table. Each ISA's translation unit (ukernels_avx512.cc,
// ukernels_avx2.cc, ukernels_neon.cc, ukernels_portable.cc) fills one table with its
// instantiations of the templates in *_impl.h; the op kernels (conv.cc, matmul.cc, ...) pick a
// table once from the CPU features and call through it. Portable header: no intrinsics.
#pragma once

#include <cstdint>

#include "core/cpu_features.h"
#include "kernels/cpu/activation.h"

namespace edgeai::kernels::cpu {

struct ConvDirectArgs;   // conv_direct.h
struct SparseGemmArgs;   // sparse_gemm.h

// One block of C = A * B, run as MR x NR register tiles.
//   A: packed in panels of MR rows, panel p at a + p * a_panel_stride, element (i, k) of a
//      panel at [k * MR + i] (rows past the matrix are zero).
//   B: panels of NR columns, panel q at b + q * b_panel_stride, element (k, j) at
//      [k * ldb + j]. Packed panels (ldb == NR) are zero-padded to NR columns; unpacked ones
//      (a row-major matrix read in place) are read with masked loads past nc.
//   C: (i, j) at c[i * ldc + j].
// accumulate: C += A * B instead of C = A * B. last: then C = act(C + bias + res), bias(i, j) at
// bias[i * bias_rs + j * bias_cs] with bias_cs 0 or 1 (bias may be null), res(i, j) at
// res[i * ld_res + j] (a residual input; may be null).
struct GemmBlock {
  int64_t kc = 0, mc = 0, nc = 0;
  const float* a = nullptr;
  int64_t a_panel_stride = 0;
  const float* b = nullptr;
  int64_t b_panel_stride = 0, ldb = 0;
  bool b_packed = true;
  float* c = nullptr;
  int64_t ldc = 0;
  bool accumulate = false, last = true;
  const float* bias = nullptr;
  int64_t bias_rs = 0, bias_cs = 0;
  const float* res = nullptr;
  int64_t ld_res = 0;
  Activation act;
};

// A 2-D convolution's geometry, for im2col packing and the depthwise kernel.
struct ConvGeom {
  int64_t c = 0, h = 0, w = 0;     // input channels (per group), height, width
  int64_t oh = 0, ow = 0;          // output height, width
  int64_t kh = 1, kw = 1;          // kernel
  int64_t sh = 1, sw = 1;          // strides
  int64_t dh = 1, dw = 1;          // dilations
  int64_t ph = 0, pw = 0;          // top and left pads
};

// Depthwise conv of channels [c0, c1): y[c] = act(conv(x[c], w[c]) + bias[c]), every channel
// with one kh x kw filter (w[c * kh * kw ...]). `scratch` holds dwconv_scratch_floats(geom).
struct DwConvArgs {
  const ConvGeom* g = nullptr;
  const float* x = nullptr;  // [C][h][w]
  const float* w = nullptr;  // [C][kh][kw]
  const float* bias = nullptr;
  float* y = nullptr;        // [C][oh][ow]
  int64_t c0 = 0, c1 = 0;
  // Output rows [oy0, oy1) only (oy1 < 0: all); taken where dwconv_block_channels(g) > 0.
  int64_t oy0 = 0, oy1 = -1;
  // Optional (channel blocks only): the call's first top_rows output rows go to y_top and its
  // last bottom_rows to y_bottom instead of y (channel c's row oy at y_top + ((c - c0) * top_rows
  // + oy - oy0) * ow, at y_bottom + ((c - c0) * bottom_rows + oy - (oy1 - bottom_rows)) * ow).
  // Calls that split a block's rows while writing over its input leave there the rows whose
  // input the neighbouring call's window reads (conv.cc copies them into y afterwards).
  float* y_top = nullptr;
  float* y_bottom = nullptr;
  int64_t top_rows = 0, bottom_rows = 0;
  Activation act;
  float* scratch = nullptr;
  // Optional: w again in blocks of `lanes` channels, [C / lanes][kh * kw][lanes] (zero past C),
  // which the channel-block kernels read as they are instead of gathering them per call.
  const float* w_blocks = nullptr;
  // Optional (only where dwconv_block_channels(geom) > 0): the depthwise input is the output of
  // a 1x1 conv computed here, a channel block at a time, straight into the blocks' scratch, so
  // that it never goes to memory. Its input X [pw_c][h][w] comes in tiles of pw_tile positions
  // (dwconv_pw_tile(h * w)), pw_x: [ceil(h w / pw_tile)][pw_c][pw_tile], tile j holding
  // positions j pw_tile, ... of every channel (zero past h w); x is not read. Depthwise input
  // channel c is pw_act(pw_bias[c] + sum over k of pw_w(c, k) X[k]), pw_w in blocks of `lanes`
  // channels: [C / lanes][pw_c][lanes] (zero past C).
  const float* pw_x = nullptr;
  int64_t pw_tile = 0;
  const float* pw_w = nullptr;
  const float* pw_bias = nullptr;  // [C rounded up to lanes] (zero past C) or null
  int64_t pw_c = 0;
  Activation pw_act;
};

// Winograd F(2x2, 3x3) transforms over flat tile indices f = ty * wq + tx (winograd_impl.h).
struct WinogradIn {
  const float* planes = nullptr;  // stride-2 phase planes of every channel (window geometry)
  int64_t plane_stride = 0;       // floats between channels
  int64_t plane_size = 0;         // floats between the 4 phase planes of a channel
  int64_t wq = 0;                 // phase plane pitch
  int64_t c = 0;                  // channels
  int64_t f0 = 0, nb = 0;         // tiles [f0, f0 + nb), nb a multiple of the vector lanes
  float* v = nullptr;             // 16 packed B operands [ceil(nb / NR)][c][NR], xi apart by v_stride
  int64_t v_stride = 0;
};
struct WinogradOut {
  const float* mbuf = nullptr;  // 16 products [m][ldm], xi apart by m_stride
  int64_t m_stride = 0, ldm = 0;
  int64_t m = 0;                // output channels
  int64_t f0 = 0, nb = 0;
  const float* bias = nullptr;
  Activation act;
  float* y0 = nullptr;          // even / odd output rows, channel ch at + ch * y_stride, pitch 2 wq
  float* y1 = nullptr;
  int64_t y_stride = 0;
};

// The largest stride the depthwise and pooling kernels take (their phase planes); larger ones
// take the GEMM path or the reference.
inline constexpr int64_t kMaxWindowStride = 8;

// im2col over the phase planes (window_impl.h) of every input channel: the input of tap t of
// channel c at output (oy, ox) is planes[c * plane_stride + tap_off[t] + oy * wq + ox].
struct Im2colPlanes {
  const float* planes = nullptr;
  int64_t plane_stride = 0, wq = 0;
  int64_t ow = 0;
  int64_t kh = 1, kw = 1;
  const int64_t* tap_off = nullptr;  // kh * kw offsets
};

// The attention of one query row over one KV head's cache, for the n_q query heads that share
// it: per query head h (q + h * hd_k), over the positions j in [lo, hi),
//   s_j = (q . k_j) * scale, soft-capped to cap * tanh(s_j / cap) when cap > 0,
//   out + h * hd_v = sum_j softmax(s)_j v_j.
// Keys are stored transposed: dimension d of position j at kt[d * ld_kt + j]. Values are
// row-major: v[j * hd_v + d]. scores: scratch of n_q * (hi - lo) floats.
struct AttentionArgs {
  const float* q = nullptr;
  int64_t n_q = 1;
  int64_t hd_k = 0, hd_v = 0;
  const float* kt = nullptr;
  int64_t ld_kt = 0;
  const float* v = nullptr;
  int64_t lo = 0, hi = 0;
  float scale = 1.0f, cap = 0.0f;
  float* scores = nullptr;
  float* out = nullptr;
};

struct UKernels {
  const char* name;
  int lanes;   // floats per vector register
  int mr, nr;  // GEMM register tile

  void (*gemm_block)(const GemmBlock& blk);
  // A (m x k, element (i, kk) at a[i * rs + kk * cs]) rows [0, m) and depth [k0, k0 + kc) into
  // panels of MR rows (panel stride kc * MR), rows past m zero.
  void (*pack_a)(const float* a, int64_t rs, int64_t cs, int64_t m, int64_t k0, int64_t kc, float* dst);
  // B (k x n, element (kk, j) at b[kk * rs + j * cs]) depth [k0, k0 + kc) and columns [0, n)
  // into panels of NR columns (panel stride kc * NR), columns past n zero.
  void (*pack_b)(const float* b, int64_t rs, int64_t cs, int64_t k0, int64_t kc, int64_t n, float* dst);
  // The im2col matrix of one image (rows (c, ky, kx), columns output positions) at depth
  // [k0, k0 + kc) and columns [n0, n0 + n), packed like pack_b.
  void (*pack_b_im2col)(const Im2colPlanes& p, int64_t k0, int64_t kc, int64_t n0, int64_t n, float* dst);
  void (*dwconv)(const DwConvArgs& a);
  int64_t (*dwconv_scratch_floats)(const ConvGeom& g);
  // The channels dwconv computes together for this geometry (its channel blocks, which also
  // take a range of output rows), or 0 (channel by channel, whole planes).
  int64_t (*dwconv_block_channels)(const ConvGeom& g);
  // Whether dwconv, in channel blocks, has read every input row a block's output replaces before
  // writing it (one band of rows; or bands that keep the rows the band before replaced), with the
  // output the input's shape: calls over whole blocks may then write y over x.
  bool (*dwconv_in_place)(const ConvGeom& g);
  // The positions per tile of DwConvArgs::pw_x for a plane of `positions`.
  int64_t (*dwconv_pw_tile)(int64_t positions);

  void (*winograd_input)(const WinogradIn& a);
  void (*winograd_output)(const WinogradOut& a);
  // Phase planes (window_impl.h) of `planes` input planes for a window geometry: the planes'
  // pitch, rows and floats per phase plane (slack included), and the fill of channel c's planes
  // at out + c * stride.
  void (*phase_planes)(const ConvGeom& g, const float* x, int64_t planes, float* out, int64_t stride);
  // Rows [r0, r1) of the phase planes (phase_geometry's hq rows each) of one plane x at out,
  // padding included (and the planes' slack when r1 is hq): threads may build ranges of a plane.
  void (*phase_plane_rows)(const ConvGeom& g, const float* x, float* out, int64_t r0, int64_t r1);
  void (*phase_geometry)(const ConvGeom& g, int64_t* wq, int64_t* hq, int64_t* size);
  // The kh * kw tap offsets within one channel's phase planes.
  void (*phase_tap_offsets)(const ConvGeom& g, int64_t* off);

  // Elementwise. y may alias x.
  void (*activation)(const float* x, float* y, int64_t n, const Activation& act);
  // y[i] = act(x[i] + b) (per-channel bias of a plane), used after depthwise and pools.
  void (*bias_activation)(float* y, int64_t n, float b, const Activation& act);
  // y[i] = act(x[i] * s + b) (a 1x1 depthwise conv's plane: BatchNormalization as a conv). y may be x.
  void (*scale_bias_activation)(const float* x, float* y, int64_t n, float s, float b, const Activation& act);
  // z = x op y over n elements, with x or y a scalar when its stride is 0.
  void (*binary)(int op, const float* x, int64_t xs, const float* y, int64_t ys, float* z, int64_t n);
  void (*erf)(const float* x, float* y, int64_t n);
  void (*exp)(const float* x, float* y, int64_t n);
  // y[i] = sum over j < k of w[j] * rows[j][i] (k >= 1): a resize's interpolation across rows.
  void (*blend_rows)(const float* const* rows, const float* w, int k, float* y, int64_t n);

  // Rows: softmax (or log-softmax) over the last dim of `rows` rows of length n.
  void (*softmax)(const float* x, float* y, int64_t rows, int64_t n, bool log);
  // LayerNorm over rows of length n: y = (x - mean) / sqrt(var + eps) * scale + bias (bias may
  // be null).
  void (*layer_norm)(const float* x, float* y, int64_t rows, int64_t n, const float* scale, const float* bias,
                     float eps);

  // Max or average (counting pads or not) 2-D pooling of `planes` planes (g.c ignored);
  // scratch holds pool_scratch_floats(g).
  void (*pool2d)(const ConvGeom& g, const float* x, float* y, int64_t planes, bool max, bool count_pad,
                 float* scratch);
  int64_t (*pool_scratch_floats)(const ConvGeom& g);
  // y[p] = mean over plane p (n values).
  void (*global_avg)(const float* x, float* y, int64_t planes, int64_t n);

  // The direct convolution for few input channels (conv_direct.h) and the sparse-weight GEMM
  // (sparse_gemm.h) of this ISA.
  void (*conv_direct)(const ConvDirectArgs& a);
  void (*sparse_gemm)(const SparseGemmArgs& a);

  // Language-model attention (AttentionArgs).
  void (*attention)(const AttentionArgs& a);
};

enum BinaryOp { kBinAdd = 0, kBinSub = 1, kBinMul = 2, kBinDiv = 3, kBinMax = 4, kBinMin = 5 };

const UKernels& ukernels_portable();
#if defined(__x86_64__) || defined(_M_X64)
const UKernels& ukernels_avx2();
const UKernels& ukernels_avx512();
#endif
#if defined(__aarch64__)
const UKernels& ukernels_neon();
#endif

// The best table the CPU runs.
const UKernels& ukernels_for(const CpuFeatures& cpu);

}  // namespace edgeai::kernels::cpu
