// The portable int8 GEMM kernels (plain C++ over the packed layout of qgemm.h; the activation
// packing uses SSE2 byte interleaves on x86-64), the weight packing and the choice of kernels.
#include <algorithm>
#include <cmath>
#include <cstring>

#include "kernels/cpu/qgemm.h"

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace edgeai::kernels::cpu {

int64_t qgemm_a_bytes(int64_t m, int64_t k) {
  const int64_t kq = (k + 3) / 4;
  return (m + kQMR - 1) / kQMR * kq * kQMR * 4;
}

void qgemm_pack_a(const int8_t* w, int64_t m, int64_t k, int8_t* dst) {
  const int64_t kq = (k + 3) / 4;
  std::memset(dst, 0, static_cast<size_t>(qgemm_a_bytes(m, k)));
  for (int64_t i = 0; i < m; ++i) {
    int8_t* panel = dst + (i / kQMR) * kq * kQMR * 4;
    const int64_t r = i % kQMR;
    for (int64_t kk = 0; kk < k; ++kk) panel[((kk / 4) * kQMR + r) * 4 + kk % 4] = w[i * k + kk];
  }
}

uint8_t qgemm_requant(int32_t acc, int32_t corr, float mult, int32_t zy, int32_t qmin, int32_t qmax) {
  float v = static_cast<float>(acc + corr) * mult;
  v = std::min(std::max(v, -1e9f), 1e9f);  // beyond the range saturates anyway
  const int64_t r = static_cast<int64_t>(std::nearbyint(v)) + zy;  // round half to even
  return static_cast<uint8_t>(static_cast<int32_t>(std::clamp<int64_t>(r, qmin, qmax)));
}

namespace {

void gemm_portable(const QGemmBlock& g) {
  const int64_t bstride = g.kq * 64;
  for (int64_t i = 0; i < g.m; ++i) {
    const int8_t* panel = g.a + (i / kQMR) * g.kq * kQMR * 4;
    const int64_t r = i % kQMR;
    for (int64_t j = 0; j < g.n; ++j) {
      const uint8_t* blk = g.b + (j / 16) * bstride;
      const int64_t c = j % 16;
      int32_t acc = 0;
      for (int64_t q = 0; q < g.kq; ++q) {
        const int8_t* a = panel + (q * kQMR + r) * 4;
        const uint8_t* b = blk + (q * 16 + c) * 4;
        acc += a[0] * b[0] + a[1] * b[1] + a[2] * b[2] + a[3] * b[3];
      }
      if (g.y32) g.y32[i * g.ldy + j] = acc + g.corr[i];
      else g.y[i * g.ldy + j] = qgemm_requant(acc, g.corr[i], g.mult[i], g.zy, g.qmin, g.qmax);
    }
  }
}

void pack_b_portable(const uint8_t* src, int64_t ld, int64_t k, int64_t n, int64_t kq, uint8_t* dst) {
  const int64_t blocks = (n + 15) / 16;
  for (int64_t q = 0; q < kq; ++q) {
    const uint8_t* rows[4];
    static const uint8_t kZeros[16] = {};
    for (int t = 0; t < 4; ++t) rows[t] = 4 * q + t < k ? src + (4 * q + t) * ld : nullptr;
    for (int64_t jb = 0; jb < blocks; ++jb) {
      uint8_t* d = dst + jb * kq * 64 + q * 64;
      const int64_t j0 = jb * 16, cols = std::min<int64_t>(16, n - j0);
#if defined(__SSE2__)
      if (cols == 16) {
        __m128i r[4];
        for (int t = 0; t < 4; ++t) {
          r[t] = rows[t] ? _mm_loadu_si128(reinterpret_cast<const __m128i*>(rows[t] + j0))
                         : _mm_loadu_si128(reinterpret_cast<const __m128i*>(kZeros));
        }
        const __m128i a = _mm_unpacklo_epi8(r[0], r[1]), b = _mm_unpackhi_epi8(r[0], r[1]);
        const __m128i c = _mm_unpacklo_epi8(r[2], r[3]), e = _mm_unpackhi_epi8(r[2], r[3]);
        _mm_storeu_si128(reinterpret_cast<__m128i*>(d), _mm_unpacklo_epi16(a, c));
        _mm_storeu_si128(reinterpret_cast<__m128i*>(d + 16), _mm_unpackhi_epi16(a, c));
        _mm_storeu_si128(reinterpret_cast<__m128i*>(d + 32), _mm_unpacklo_epi16(b, e));
        _mm_storeu_si128(reinterpret_cast<__m128i*>(d + 48), _mm_unpackhi_epi16(b, e));
        continue;
      }
#endif
      (void)kZeros;
      for (int64_t c = 0; c < 16; ++c) {
        for (int t = 0; t < 4; ++t) d[c * 4 + t] = (c < cols && rows[t]) ? rows[t][j0 + c] : 0;
      }
    }
  }
}

void quantize_portable(const float* x, int64_t n, float scale, int32_t zp, int32_t qmin, int32_t qmax, uint8_t* y) {
  for (int64_t i = 0; i < n; ++i) {
    const float v = x[i] / scale;
    if (std::isnan(v)) {
      y[i] = static_cast<uint8_t>(zp);
      continue;
    }
    const float r = std::nearbyint(std::min(std::max(v, -1e6f), 1e6f));  // round half to even
    y[i] = static_cast<uint8_t>(std::clamp(static_cast<int32_t>(r) + zp, qmin, qmax));
  }
}

void dequantize_portable(const uint8_t* x, int64_t n, bool is_signed, int32_t zp, float scale, float* y) {
  for (int64_t i = 0; i < n; ++i) {
    const int32_t v = is_signed ? static_cast<int8_t>(x[i]) : x[i];
    y[i] = static_cast<float>(v - zp) * scale;
  }
}

void dwconv_portable(const QDwArgs& a) {
  for (int64_t oy = 0; oy < a.oh; ++oy) {
    for (int64_t ox = 0; ox < a.ow; ++ox) {
      int32_t acc = 0;
      for (int64_t ky = 0; ky < a.kh; ++ky) {
        const int64_t iy = oy * a.sh - a.pt + ky * a.dh;
        for (int64_t kx = 0; kx < a.kw; ++kx) {
          const int64_t ix = ox * a.sw - a.pl + kx * a.dw;
          const int32_t v = (iy >= 0 && iy < a.h && ix >= 0 && ix < a.w) ? a.x[iy * a.w + ix] : a.zx;
          acc += v * a.wt[ky * a.kw + kx];
        }
      }
      a.y[oy * a.ow + ox] = qgemm_requant(acc, a.corr, a.mult, a.zy, a.qmin, a.qmax);
    }
  }
}

void lut_u8_portable(const uint8_t* x, int64_t n, const uint8_t* table, uint8_t* y) {
  for (int64_t i = 0; i < n; ++i) y[i] = table[x[i]];
}

void lut_f32_portable(const uint8_t* x, int64_t n, const float* table, float* y) {
  for (int64_t i = 0; i < n; ++i) y[i] = table[x[i]];
}

void add_portable(const uint8_t* a, const uint8_t* b, int64_t n, const QAddArgs& p, uint8_t* y) {
  for (int64_t i = 0; i < n; ++i) {
    volatile float fa = static_cast<float>(static_cast<int32_t>(a[i]) - p.za) * p.sa;  // both products rounded:
    volatile float fb = static_cast<float>(static_cast<int32_t>(b[i]) - p.zb) * p.sb;  // no fused multiply-add
    const float v = (fa + fb) / p.sc;
    if (std::isnan(v)) {
      y[i] = static_cast<uint8_t>(p.zc);
      continue;
    }
    const float r = std::nearbyint(std::min(std::max(v, -1e6f), 1e6f));  // round half to even
    y[i] = static_cast<uint8_t>(std::clamp(static_cast<int32_t>(r) + p.zc, p.qmin, p.qmax));
  }
}

}  // namespace

const QGemmKernels& qgemm_portable() {
  static const QGemmKernels k{"portable",        &gemm_portable,   &pack_b_portable,
                              &quantize_portable, &dequantize_portable, &dwconv_portable,
                              &lut_u8_portable,  &lut_f32_portable, &add_portable,
                              nullptr};
  return k;
}

namespace {
bool avx512_vnni_kernels(const CpuFeatures& cpu) {
  return cpu.avx512f && cpu.avx512bw && cpu.avx512vl && cpu.avx512_vnni;
}
}  // namespace

bool qgemm_has_int8_dot(const CpuFeatures& cpu) {
#if defined(__x86_64__) || defined(_M_X64)
  return avx512_vnni_kernels(cpu);
#elif defined(__aarch64__)
  return cpu.neon && cpu.arm_dotprod;
#else
  return false;
#endif
}

const QGemmKernels& qgemm_for(const CpuFeatures& cpu) {
#if defined(__x86_64__) || defined(_M_X64)
  if (avx512_vnni_kernels(cpu)) {
    return cpu.avx512_vbmi ? qgemm_avx512vnni_vbmi() : qgemm_avx512vnni();
  }
  if (cpu.avx2 && cpu.fma && cpu.f16c) return qgemm_avx2();
#endif
#if defined(__aarch64__)
  if (cpu.neon) return cpu.arm_dotprod ? qgemm_neon_dotprod() : qgemm_neon();
#endif
  return qgemm_portable();
}

}  // namespace edgeai::kernels::cpu
