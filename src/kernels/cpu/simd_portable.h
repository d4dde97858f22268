// The vector-ops abstraction, portable version: 4 floats in a GCC/Clang vector extension, which
// the compiler maps to SSE2 on x86-64 and NEON/ASIMD elsewhere. Every ISA's vector type
// (simd_avx512.h, simd_avx2.h, simd_neon.h) offers the same static functions:
//   F, Mask, kLanes          register type, tail-mask type, floats per register
//   Half                     a narrower vector type (zero set1 load store fmadd) whose lanes
//                            divide the GEMM tile's rows (the narrow-column tail)
//   zero, set1, load, store  (unaligned) loads and stores
//   mask(n), load(p, m), store(p, v, m)   the first n lanes only; other lanes load as 0
//   keep(v, m)               v with the lanes past the mask zeroed
//   load_strided(p, s, n)    p[0], p[s], ... p[(n-1)s], then zeros
//   load_window(row, col, n) lane i: row[col + i] where 0 <= col + i < n, else 0 (a row's
//                            borders; the row is read only inside [0, n))
//   add sub mul div fmadd(a,b,c)=a*b+c max min sqrt abs neg copysign(a,s) round (to nearest even)
//   pow2i(n)                 2^n for integral n in [-126, 127]
//   rcp(a)                   1 / a to about 1 ulp, for finite nonzero a
//   scalef(a, n)             a * 2^n for integral n in [-300, 300]
//   shift<k>(lo, hi)         lanes [k, k + kLanes) of lo:hi; kFastShift when cheaper than an
//                            unaligned load
//   select_lt(a, b, x, y)    a < b ? x : y per lane
//   deinterleave2(a, b, &e, &o) the even and the odd lanes of the 2 * kLanes floats a, b
//   interleave2(e, o, &lo, &hi)  its inverse
//   transpose(r)             r[0..kLanes) as a square matrix (row i in r[i]), in place
//   load_transposed(p, s, r) r[c] lane j = p[j * s + c] (c, j < kLanes): rows loaded and
//                            transposed
//   reduce_add, reduce_max   horizontal
#pragma once

#include <cmath>
#include <cstdint>

namespace edgeai::kernels::cpu {

struct VecPortable {
  using Half = VecPortable;
  typedef float F __attribute__((vector_size(16)));
  typedef int32_t I __attribute__((vector_size(16)));
  using Mask = int;
  static constexpr int kLanes = 4;

  static F zero() { return F{0, 0, 0, 0}; }
  static F set1(float v) { return F{v, v, v, v}; }
  static F load(const float* p) {
    F v;
    __builtin_memcpy(&v, p, sizeof v);
    return v;
  }
  static void store(float* p, F v) { __builtin_memcpy(p, &v, sizeof v); }
  static Mask mask(int n) { return n; }
  static F load(const float* p, Mask n) {
    F v = zero();
    for (int i = 0; i < n; ++i) v[i] = p[i];
    return v;
  }
  static void store(float* p, F v, Mask n) {
    for (int i = 0; i < n; ++i) p[i] = v[i];
  }
  static F keep(F v, Mask n) {
    for (int i = n; i < kLanes; ++i) v[i] = 0.0f;
    return v;
  }
  static F load_window(const float* row, int64_t col, int64_t n) {
    F v = zero();
    for (int i = 0; i < kLanes; ++i) {
      if (col + i >= 0 && col + i < n) v[i] = row[col + i];
    }
    return v;
  }
  static F load_strided(const float* p, int64_t stride, int n) {
    F v = zero();
    for (int i = 0; i < n; ++i) v[i] = p[i * stride];
    return v;
  }

  static void deinterleave2(F a, F b, F* even, F* odd) {
    *even = F{a[0], a[2], b[0], b[2]};
    *odd = F{a[1], a[3], b[1], b[3]};
  }

  static void transpose(F* r) {  // 4 x 4, row i in r[i], in place
    for (int i = 0; i < 4; ++i) {
      for (int j = i + 1; j < 4; ++j) {
        const float t = r[i][j];
        r[i][j] = r[j][i];
        r[j][i] = t;
      }
    }
  }
  static void load_transposed(const float* p, int64_t stride, F* r) {
    for (int j = 0; j < 4; ++j) r[j] = load(p + j * stride);
    transpose(r);
  }
  static void interleave2(F e, F o, F* lo, F* hi) {
    *lo = F{e[0], o[0], e[1], o[1]};
    *hi = F{e[2], o[2], e[3], o[3]};
  }

  static F add(F a, F b) { return a + b; }
  static F sub(F a, F b) { return a - b; }
  static F mul(F a, F b) { return a * b; }
  static F div(F a, F b) { return a / b; }
  static F rcp(F a) { return 1.0f / a; }
  static F fmadd(F a, F b, F c) { return a * b + c; }
  static F max(F a, F b) { return a > b ? a : b; }
  static F min(F a, F b) { return a < b ? a : b; }
  static F sqrt(F a) { return F{std::sqrt(a[0]), std::sqrt(a[1]), std::sqrt(a[2]), std::sqrt(a[3])}; }
  static F abs(F a) { return a < 0 ? -a : a; }
  static F neg(F a) { return -a; }
  static F copysign(F a, F s) {
    return F{std::copysign(a[0], s[0]), std::copysign(a[1], s[1]), std::copysign(a[2], s[2]), std::copysign(a[3], s[3])};
  }
  static F round(F a) {
    return F{std::nearbyint(a[0]), std::nearbyint(a[1]), std::nearbyint(a[2]), std::nearbyint(a[3])};
  }
  static F pow2i(F n) {
    I e = (__builtin_convertvector(n, I) + 127) << 23;
    F r;
    __builtin_memcpy(&r, &e, sizeof r);
    return r;
  }
  static constexpr bool kFastShift = false;  // unaligned loads instead
  template <int k>
  static F shift(F lo, F hi) {
    alignas(64) float t[2 * kLanes];
    store(t, lo);
    store(t + kLanes, hi);
    return load(t + k);
  }
  static F scalef(F a, F n) {  // in two steps, so that 2^n need not be representable
    const F h = round(mul(n, set1(0.5f)));
    return mul(mul(a, pow2i(h)), pow2i(sub(n, h)));
  }
  static F select_lt(F a, F b, F x, F y) { return a < b ? x : y; }
  static float reduce_add(F a) { return (a[0] + a[1]) + (a[2] + a[3]); }
  static float reduce_max(F a) {
    float m01 = a[0] > a[1] ? a[0] : a[1], m23 = a[2] > a[3] ? a[2] : a[3];
    return m01 > m23 ? m01 : m23;
  }
};

}  // namespace edgeai::kernels::cpu
