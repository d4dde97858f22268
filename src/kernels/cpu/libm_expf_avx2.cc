// glibc's expf bit for bit, 4 lanes in double (AVX2 + FMA): see libm_expf.h.
#include <immintrin.h>

#include <cmath>

#include "kernels/cpu/libm_expf.h"
#include "kernels/cpu/libm_expf_impl.h"

namespace edgeai::kernels::cpu {
namespace {

struct ExpVecAvx2 {
  using F = __m128;
  using D = __m256d;
  using Mask = __m128;  // all ones in the chosen lanes
  static constexpr int kLanes = 4;
  static Mask all() { return _mm_castsi128_ps(_mm_set1_epi32(-1)); }
  static Mask first(int64_t k) {
    return _mm_castsi128_ps(_mm_cmpgt_epi32(_mm_set1_epi32((int)k), _mm_setr_epi32(0, 1, 2, 3)));
  }
  static F load(const float* p, Mask m) { return _mm_maskload_ps(p, _mm_castps_si128(m)); }
  static void store(float* p, F v, Mask m) { _mm_maskstore_ps(p, _mm_castps_si128(m), v); }
  static F set1(float v) { return _mm_set1_ps(v); }
  static F zero() { return _mm_setzero_ps(); }
  static F sub(F a, F b) { return _mm_sub_ps(a, b); }
  static F div(F a, F b) { return _mm_div_ps(a, b); }
  static Mask lt(F a, F b) { return _mm_cmp_ps(a, b, _CMP_LT_OQ); }
  static Mask not_lt(F a, F b) { return _mm_cmp_ps(a, b, _CMP_NLT_UQ); }  // NaN too
  static Mask is_inf(F a) {
    const F abs = _mm_and_ps(a, _mm_castsi128_ps(_mm_set1_epi32(0x7fffffff)));
    return _mm_cmp_ps(abs, _mm_set1_ps(INFINITY), _CMP_EQ_OQ);
  }
  static F select(Mask m, F a, F b) { return _mm_blendv_ps(b, a, m); }
  static uint32_t bits(Mask m) { return (uint32_t)_mm_movemask_ps(m); }
  static D to_double(F a) { return _mm256_cvtps_pd(a); }
  static F to_float(D a) { return _mm256_cvtpd_ps(a); }
  static D dset1(double v) { return _mm256_set1_pd(v); }
  static D dsub(D a, D b) { return _mm256_sub_pd(a, b); }
  static D dmul(D a, D b) { return _mm256_mul_pd(a, b); }
  static D fmadd(D a, D b, D c) { return _mm256_fmadd_pd(a, b, c); }
  static D fmsub(D a, D b, D c) { return _mm256_fmsub_pd(a, b, c); }
  // 2^(k / 32) from z = k + 1.5 * 2^52: table entry k % 32 (a gather) + k << 47.
  static D scale_of(D z) {
    const __m256i k = _mm256_castpd_si256(z);
    const __m256i idx = _mm256_and_si256(k, _mm256_set1_epi64x(31));
    const __m256i e = _mm256_i64gather_epi64(reinterpret_cast<const long long*>(glibc_expf::kTable), idx, 8);
    return _mm256_castsi256_pd(_mm256_add_epi64(e, _mm256_slli_epi64(k, 47)));
  }
};

}  // namespace

void scaled_exp_glibc_avx2(const float* x, int64_t n, float mx, float temp, float* y) {
  glibc_expf::scaled_exp<ExpVecAvx2>(x, n, mx, temp, y);
}

}  // namespace edgeai::kernels::cpu
