// The u8 x s8 integer GEMM behind the int8 convolution (QLinearConv): Y = requant(W X), with W the
// s8 weights (rows = output channels, prepacked once) and X the u8 activations (packed per call).
// Per-ISA micro-kernels (qgemm_avx512.cc: AVX-512 VNNI vpdpbusd; qgemm_avx2.cc: AVX2 vpmaddwd on
// widened operands; qgemm_neon.cc: NEON widening multiply-accumulate or dotprod sdot;
// qgemm_portable.cc: plain C++)
// share one packed layout, so a prepared weight serves whichever kernel the CPU runs.
//
// Layout (K rounded up to a multiple of 4, kq = K / 4 "quads"):
//   A (weights): panels of kQMR rows, panel p at a + p * kq * kQMR * 4; within a panel, quad q of
//     row i at [(q * kQMR + i) * 4 .. + 4). Rows past M and depth past K are zero.
//   B (activations): blocks of 16 columns, block j at b + j * kq * 64; quad q of column c at
//     [(q * 16 + c) * 4 .. + 4). Depth past K is zero (any value: A is zero there); columns past N
//     are zero.
// Requantization, per row i, exactly as the reference QLinearConv (src/kernels/reference/quant.cc):
//   y = saturate(round_half_even(float(acc + corr[i]) * mult[i]) + zy) to [qmin, qmax]
// with the float multiplier mult[i] = float(double(x_scale) * w_scale[i] / y_scale) and one float
// rounding of the product
// where acc = sum_k x * w (int32, exact: callers bound K so that it cannot overflow) and corr[i]
// folds the bias and the zero-point term (bias[i] - zx * sum_k w[i][k]). Portable header.
#pragma once

#include <cstdint>

#include "core/cpu_features.h"

namespace edgeai::kernels::cpu {

inline constexpr int kQMR = 8;  // rows per weight panel

struct QGemmBlock {
  int64_t m = 0, n = 0, kq = 0;  // rows, columns, depth quads
  const int8_t* a = nullptr;     // packed weight panels (from row 0)
  const uint8_t* b = nullptr;    // packed activation blocks (from column 0)
  uint8_t* y = nullptr;          // y[i * ldy + j]
  int64_t ldy = 0;
  const int32_t* corr = nullptr;  // [m]
  const float* mult = nullptr;    // [m]
  int32_t zy = 0, qmin = 0, qmax = 255;
  bool mult_below_one = false;  // every mult[i] < 1: |acc * mult| < 2^31, no clamp before rounding
  // When set, the sums are written as they are: y32[i * ldy + j] = acc + corr[i] (int32; y, zy,
  // qmin, qmax unused; mult read but unused), for MatMulInteger.
  int32_t* y32 = nullptr;
};

// Depthwise int8 convolution of one channel, read straight from its h x w plane: output (oy, ox)
// sums tap (ky, kx) at padded(oy * sh + ky * dh, ox * sw + kx * dw) times w[ky * kw + kx], where
// padded(r, c) = x[(r - pt) * w + (c - pl)] inside the plane and zx outside (the zero point adds
// nothing once corr = bias - zx * sum(w) is added); then requantized as the GEMM.
struct QDwArgs {
  const uint8_t* x = nullptr;
  int64_t h = 0, w = 0, pt = 0, pl = 0;
  const int8_t* wt = nullptr;  // [kh * kw]
  int64_t kh = 1, kw = 1, sh = 1, sw = 1, dh = 1, dw = 1, oh = 0, ow = 0;
  int32_t zx = 0, corr = 0, zy = 0, qmin = 0, qmax = 255;
  float mult = 1.f;
  bool mult_below_one = false;  // as QGemmBlock's
  uint8_t* y = nullptr;  // [oh][ow]
};

// com.edgeai QLinearAdd on u8 inputs of one shape (see src/kernels/reference/quant.cc):
// y = saturate(round_half_even((float(a - za) * sa + float(b - zb) * sb) / sc) + zc) to [qmin, qmax],
// each float step rounded as the reference rounds it (no fused multiply-add).
struct QAddArgs {
  float sa = 1.f, sb = 1.f, sc = 1.f;
  int32_t za = 0, zb = 0, zc = 0, qmin = 0, qmax = 255;
  // (255 sa + 255 sb) / sc < 2^19: every value before rounding is finite and far inside int32, so
  // a kernel may skip the NaN and range checks (qadd_bounded).
  bool bounded = false;
};

// Whether QAddArgs `p`'s scales bound every value before rounding as QAddArgs::bounded says.
bool qadd_bounded(const QAddArgs& p);

// Columns [j0, j0 + n) of the im2col matrix of a convolution (column j = oy * ow + ox), packed
// straight from the input planes (h x w) into B's layout (blocks of 16 columns from dst; j0 need not
// be a multiple of 16). Row r is channel r / taps at tap t = r % taps: it reads
// x[c * h * w + iy * w + ix] with iy = oy * sh + dy[t], ix = ox * sw + dx[t] where that lies in the
// plane, and zx elsewhere (padding). Column strides sw of 1 and 2; planes under 2^15 a side.
inline constexpr int kQPackMaxTaps = 64;
struct QPackConvArgs {
  const uint8_t* x = nullptr;  // the group's first channel
  int64_t h = 0, w = 0, ow = 0, sh = 1, sw = 1, k = 0, kq = 0, j0 = 0, n = 0;
  int taps = 1;                 // <= kQPackMaxTaps
  const int32_t* dy = nullptr;  // [taps]
  const int32_t* dx = nullptr;  // [taps]
  uint8_t zx = 0;
};

struct QGemmKernels {
  const char* name;
  // Runs a whole block (every panel of rows, every block of columns).
  void (*gemm)(const QGemmBlock& blk);
  // Packs rows [0, k) (row r at src + r * ld, columns [0, n)) into B's layout with kq quads.
  void (*pack_b)(const uint8_t* src, int64_t ld, int64_t k, int64_t n, int64_t kq, uint8_t* dst);
  // QuantizeLinear per tensor, as the reference: y = saturate(round_half_even(x / scale) + zp) to
  // [qmin, qmax], NaN -> zp (bytes; signed outputs are their two's complement bytes).
  void (*quantize)(const float* x, int64_t n, float scale, int32_t zp, int32_t qmin, int32_t qmax, uint8_t* y);
  // DequantizeLinear per tensor, as the reference: y = float(x - zp) * scale, x u8 or (is_signed) s8.
  void (*dequantize)(const uint8_t* x, int64_t n, bool is_signed, int32_t zp, float scale, float* y);
  void (*dwconv)(const QDwArgs& a);
  // QLut: y[i] = table[x[i]] over n bytes, a table of 256 bytes or (lut_f32) 256 floats.
  void (*lut_u8)(const uint8_t* x, int64_t n, const uint8_t* table, uint8_t* y);
  void (*lut_f32)(const uint8_t* x, int64_t n, const float* table, float* y);
  void (*add)(const uint8_t* a, const uint8_t* b, int64_t n, const QAddArgs& p, uint8_t* y);
  // QPackConvArgs into dst; null where the table has none (callers then write im2col rows and pack_b them).
  void (*pack_b_conv)(const QPackConvArgs& p, uint8_t* dst);
};

const QGemmKernels& qgemm_portable();
#if defined(__x86_64__) || defined(_M_X64)
const QGemmKernels& qgemm_avx512vnni();
const QGemmKernels& qgemm_avx512vnni_vbmi();  // the same with VBMI byte lookups (lut_u8)
const QGemmKernels& qgemm_avx2();             // AVX2 + FMA (no VNNI): exact widening vpmaddwd
#endif
#if defined(__aarch64__)
const QGemmKernels& qgemm_neon();          // every aarch64: widening multiply-accumulate (smlal)
const QGemmKernels& qgemm_neon_dotprod();  // ARMv8.2 dotprod (sdot)
#endif
// The best kernels the CPU runs.
const QGemmKernels& qgemm_for(const CpuFeatures& cpu);
// Whether qgemm_for(cpu) multiplies with int8 dot-product instructions (AVX-512 VNNI, ARM dotprod),
// the kernels that make int8 faster than float; AVX2's widening vpmaddwd and NEON's smlal do not.
bool qgemm_has_int8_dot(const CpuFeatures& cpu);

// Packs weights W (m x k, row i at w + i * k) into A's layout; dst holds qgemm_a_bytes(m, k).
int64_t qgemm_a_bytes(int64_t m, int64_t k);
void qgemm_pack_a(const int8_t* w, int64_t m, int64_t k, int8_t* dst);

// Requantizes one value exactly as the block epilogue does.
uint8_t qgemm_requant(int32_t acc, int32_t corr, float mult, int32_t zy, int32_t qmin, int32_t qmax);

}  // namespace edgeai::kernels::cpu
