// glibc's expf bit for bit, 8 lanes in double (AVX-512): see libm_expf.h.
#include <immintrin.h>

#include <cmath>

#include "kernels/cpu/libm_expf.h"
#include "kernels/cpu/libm_expf_impl.h"

// GCC 12's AVX-512 headers trip -Wmaybe-uninitialized on their own _mm512_undefined_* idiom.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
#endif

namespace edgeai::kernels::cpu {
namespace {

struct ExpVecAvx512 {
  using F = __m256;
  using D = __m512d;
  using Mask = __mmask8;
  static constexpr int kLanes = 8;
  static Mask all() { return 0xff; }
  static Mask first(int64_t k) { return (Mask)((1u << k) - 1); }
  static F load(const float* p, Mask m) { return _mm256_maskz_loadu_ps(m, p); }
  static void store(float* p, F v, Mask m) { _mm256_mask_storeu_ps(p, m, v); }
  static F set1(float v) { return _mm256_set1_ps(v); }
  static F zero() { return _mm256_setzero_ps(); }
  static F sub(F a, F b) { return _mm256_sub_ps(a, b); }
  static F div(F a, F b) { return _mm256_div_ps(a, b); }
  static Mask lt(F a, F b) { return _mm256_cmp_ps_mask(a, b, _CMP_LT_OQ); }
  static Mask not_lt(F a, F b) { return _mm256_cmp_ps_mask(a, b, _CMP_NLT_UQ); }  // NaN too
  static Mask is_inf(F a) {
    const F abs = _mm256_and_ps(a, _mm256_castsi256_ps(_mm256_set1_epi32(0x7fffffff)));
    return _mm256_cmp_ps_mask(abs, _mm256_set1_ps(INFINITY), _CMP_EQ_OQ);
  }
  static F select(Mask m, F a, F b) { return _mm256_mask_blend_ps(m, b, a); }
  static uint32_t bits(Mask m) { return m; }
  static D to_double(F a) { return _mm512_cvtps_pd(a); }
  static F to_float(D a) { return _mm512_cvtpd_ps(a); }
  static D dset1(double v) { return _mm512_set1_pd(v); }
  static D dsub(D a, D b) { return _mm512_sub_pd(a, b); }
  static D dmul(D a, D b) { return _mm512_mul_pd(a, b); }
  static D fmadd(D a, D b, D c) { return _mm512_fmadd_pd(a, b, c); }
  static D fmsub(D a, D b, D c) { return _mm512_fmsub_pd(a, b, c); }
  // 2^(k / 32) from z = k + 1.5 * 2^52: table entry k % 32 (two 16-entry permutes) + k << 47.
  static D scale_of(D z) {
    const uint64_t* t = glibc_expf::kTable;
    const __m512i k = _mm512_castpd_si512(z);
    const __m512i lo = _mm512_permutex2var_epi64(_mm512_load_si512(t), k, _mm512_load_si512(t + 8));
    const __m512i hi = _mm512_permutex2var_epi64(_mm512_load_si512(t + 16), k, _mm512_load_si512(t + 24));
    const __m512i e = _mm512_mask_blend_epi64(_mm512_test_epi64_mask(k, _mm512_set1_epi64(16)), lo, hi);
    return _mm512_castsi512_pd(_mm512_add_epi64(e, _mm512_slli_epi64(k, 47)));
  }
};

}  // namespace

void scaled_exp_glibc_avx512(const float* x, int64_t n, float mx, float temp, float* y) {
  glibc_expf::scaled_exp<ExpVecAvx512>(x, n, mx, temp, y);
}

}  // namespace edgeai::kernels::cpu
