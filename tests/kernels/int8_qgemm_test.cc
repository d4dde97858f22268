// Every int8 kernel table this CPU runs (portable; x86: AVX2, AVX-512 VNNI with and without VBMI;
// aarch64: NEON and NEON dotprod) against plain loops over the spec of qgemm.h (the oracle: the
// integer sum, then qgemm_requant, which is the reference QLinearConv's requantization), bit-exact:
// the GEMM at odd m, n and k (tails of every tile and quad, depth past the kernels' slices), both
// multiplier paths and u8 / s8 outputs; depthwise with strides, dilations and pads (also past the
// plane); QuantizeLinear, DequantizeLinear and the float lookup over tails.
// Threads and whole convolutions: int8_qconv_test.cc (every table through the session).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <string>
#include <vector>

#include "core/cpu_features.h"
#include "kernels/cpu/qgemm.h"

namespace edgeai::testing {
namespace {

using namespace kernels::cpu;

std::vector<const QGemmKernels*> runnable_tables() {
  std::vector<const QGemmKernels*> t = {&qgemm_portable()};
  [[maybe_unused]] const CpuFeatures cpu = detect_cpu_features();
#if defined(__x86_64__)
  if (cpu.avx2 && cpu.fma && cpu.f16c) t.push_back(&qgemm_avx2());
  if (cpu.avx512f && cpu.avx512bw && cpu.avx512vl && cpu.avx512_vnni) {
    t.push_back(&qgemm_avx512vnni());
    if (cpu.avx512_vbmi) t.push_back(&qgemm_avx512vnni_vbmi());
  }
#elif defined(__aarch64__)
  if (cpu.neon) t.push_back(&qgemm_neon());
  if (cpu.neon && cpu.arm_dotprod) t.push_back(&qgemm_neon_dotprod());
#endif
  return t;
}

TEST(Int8QGemm, ChoiceIsAmongTheRunnableTables) {
  const auto tables = runnable_tables();
  const QGemmKernels& best = qgemm_for(detect_cpu_features());
  EXPECT_EQ(&best, tables.back()) << best.name;  // the last one listed is the fastest
}

struct GemmSpec {
  int64_t m, n, k;
  bool big_mult = false, i8_out = false;
};

TEST(Int8QGemm, EveryTableMatchesTheSpecBitExact) {
  const std::vector<GemmSpec> specs = {
      {1, 1, 1},        {8, 16, 4},       {7, 5, 3},       {9, 17, 13},         {17, 33, 29},
      {13, 3, 300},     {5, 50, 77},      {23, 49, 2700},  {3, 7, 4500, true},  {16, 21, 4101},
      {31, 64, 64, false, true},          {12, 19, 35, true, true},             {40, 47, 1153},
      {2, 130, 9},      {64, 200, 144},
  };
  uint32_t seed = 11;
  for (const auto& s : specs) {
    std::mt19937 rng(seed++);
    std::uniform_int_distribution<int> u8(0, 255), s8(-128, 127), bias(-30000, 30000);
    std::vector<int8_t> w(static_cast<size_t>(s.m * s.k));
    std::vector<uint8_t> x(static_cast<size_t>(s.k * s.n));
    for (auto& v : w) v = static_cast<int8_t>(s8(rng));
    for (auto& v : x) v = static_cast<uint8_t>(u8(rng));
    std::vector<int32_t> corr(static_cast<size_t>(s.m));
    std::vector<float> mult(static_cast<size_t>(s.m));
    std::uniform_real_distribution<float> mu(0.2f, 2.0f);
    for (int64_t i = 0; i < s.m; ++i) {
      corr[i] = bias(rng);
      // Enough to saturate some values and leave most inside the range; >= 1 on the big_mult path.
      mult[i] = s.big_mult ? 1.f + mu(rng) : mu(rng) / (64.f * std::sqrt(static_cast<float>(s.k)));
    }
    const int32_t zy = s.i8_out ? -5 : 121, qmin = s.i8_out ? -128 : 0, qmax = s.i8_out ? 127 : 255;
    std::vector<uint8_t> want(static_cast<size_t>(s.m * s.n));
    for (int64_t i = 0; i < s.m; ++i) {
      for (int64_t j = 0; j < s.n; ++j) {
        int32_t acc = 0;
        for (int64_t kk = 0; kk < s.k; ++kk) acc += int32_t(w[i * s.k + kk]) * x[kk * s.n + j];
        want[i * s.n + j] = qgemm_requant(acc, corr[i], mult[i], zy, qmin, qmax);
      }
    }
    const int64_t kq = (s.k + 3) / 4;
    std::vector<int8_t> a(static_cast<size_t>(qgemm_a_bytes(s.m, s.k)));
    qgemm_pack_a(w.data(), s.m, s.k, a.data());
    for (const QGemmKernels* t : runnable_tables()) {
      std::vector<uint8_t> b(static_cast<size_t>((s.n + 15) / 16 * kq * 64));
      t->pack_b(x.data(), s.n, s.k, s.n, kq, b.data());
      const int64_t ldy = s.n + 3;  // a stride past the row: nothing written beyond n
      std::vector<uint8_t> y(static_cast<size_t>(s.m * ldy), 0xa5);
      QGemmBlock blk;
      blk.m = s.m;
      blk.n = s.n;
      blk.kq = kq;
      blk.a = a.data();
      blk.b = b.data();
      blk.y = y.data();
      blk.ldy = ldy;
      blk.corr = corr.data();
      blk.mult = mult.data();
      blk.zy = zy;
      blk.qmin = qmin;
      blk.qmax = qmax;
      blk.mult_below_one = !s.big_mult;
      t->gemm(blk);
      int bad = 0;
      for (int64_t i = 0; i < s.m && bad < 5; ++i) {
        for (int64_t j = 0; j < ldy; ++j) {
          const uint8_t expect = j < s.n ? want[i * s.n + j] : 0xa5;
          if (y[i * ldy + j] != expect) {
            ADD_FAILURE() << t->name << " m=" << s.m << " n=" << s.n << " k=" << s.k << ": y[" << i << "][" << j
                          << "] = " << int(y[i * ldy + j]) << ", want " << int(expect);
            if (++bad == 5) break;
          }
        }
      }
    }
  }
}

struct DwSpec {
  int64_t h, w, kh, kw, sh, sw, dh, dw, pt, pl, pb, pr;
};

TEST(Int8QGemm, EveryDepthwiseMatchesTheSpecBitExact) {
  const std::vector<DwSpec> specs = {
      {14, 14, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1},  {15, 17, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1},
      {7, 7, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1},    {9, 31, 5, 5, 1, 1, 1, 1, 2, 2, 2, 2},
      {23, 37, 5, 5, 2, 2, 2, 2, 4, 4, 4, 4},  {13, 13, 3, 3, 1, 1, 2, 2, 2, 2, 2, 2},
      {10, 21, 3, 3, 1, 2, 1, 1, 0, 1, 1, 0},  {21, 9, 3, 3, 2, 1, 1, 3, 0, 0, 0, 0},
      {16, 17, 7, 7, 3, 3, 1, 1, 3, 3, 3, 3},  {4, 4, 3, 3, 1, 1, 1, 1, 3, 3, 3, 3},
      {6, 5, 9, 9, 1, 1, 1, 1, 4, 4, 4, 4},    {1, 6, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1},
      {9, 1, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1},    {300, 300, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1},
      {5, 40, 1, 4, 1, 1, 1, 5, 0, 2, 0, 1},   {3, 3, 2, 2, 1, 1, 1, 1, 0, 0, 1, 1},
  };
  uint32_t seed = 70;
  for (const auto& s : specs) {
    for (bool big : {false, true}) {
      for (bool i8 : {false, true}) {
        std::mt19937 rng(seed++);
        std::uniform_int_distribution<int> u8(0, 255), s8(-128, 127);
        std::vector<uint8_t> x(static_cast<size_t>(s.h * s.w));
        std::vector<int8_t> wt(static_cast<size_t>(s.kh * s.kw));
        for (auto& v : x) v = static_cast<uint8_t>(u8(rng));
        for (auto& v : wt) v = static_cast<int8_t>(s8(rng));
        QDwArgs a;
        a.x = x.data();
        a.h = s.h;
        a.w = s.w;
        a.pt = s.pt;
        a.pl = s.pl;
        a.wt = wt.data();
        a.kh = s.kh;
        a.kw = s.kw;
        a.sh = s.sh;
        a.sw = s.sw;
        a.dh = s.dh;
        a.dw = s.dw;
        a.oh = (s.h + s.pt + s.pb - (s.kh - 1) * s.dh - 1) / s.sh + 1;
        a.ow = (s.w + s.pl + s.pr - (s.kw - 1) * s.dw - 1) / s.sw + 1;
        a.zx = u8(rng);
        a.corr = 1234 - a.zx * 17;
        a.zy = i8 ? 3 : 100;
        a.qmin = i8 ? -128 : 0;
        a.qmax = i8 ? 127 : 255;
        a.mult = big ? 1.5f : 1.f / (40.f * s.kh * s.kw);
        a.mult_below_one = !big;
        std::vector<uint8_t> want(static_cast<size_t>(a.oh * a.ow));
        for (int64_t oy = 0; oy < a.oh; ++oy) {
          for (int64_t ox = 0; ox < a.ow; ++ox) {
            int32_t acc = 0;
            for (int64_t ky = 0; ky < s.kh; ++ky) {
              for (int64_t kx = 0; kx < s.kw; ++kx) {
                const int64_t iy = oy * s.sh + ky * s.dh - s.pt, ix = ox * s.sw + kx * s.dw - s.pl;
                const int32_t v = (iy >= 0 && iy < s.h && ix >= 0 && ix < s.w) ? x[iy * s.w + ix] : a.zx;
                acc += v * wt[ky * s.kw + kx];
              }
            }
            want[oy * a.ow + ox] = qgemm_requant(acc, a.corr, a.mult, a.zy, a.qmin, a.qmax);
          }
        }
        for (const QGemmKernels* t : runnable_tables()) {
          std::vector<uint8_t> y(want.size() + 1, 0xa5);
          a.y = y.data();
          t->dwconv(a);
          const std::string what = std::string(t->name) + " " + std::to_string(s.h) + "x" + std::to_string(s.w) +
                                   " k" + std::to_string(s.kh) + "x" + std::to_string(s.kw) + " s" +
                                   std::to_string(s.sh) + std::to_string(s.sw) + " d" + std::to_string(s.dh) +
                                   std::to_string(s.dw) + (big ? " big" : "") + (i8 ? " i8" : "");
          int bad = 0;
          for (size_t i = 0; i < want.size() && bad < 5; ++i) {
            if (y[i] != want[i]) {
              ADD_FAILURE() << what << ": y[" << i << "] = " << int(y[i]) << ", want " << int(want[i]);
              ++bad;
            }
          }
          EXPECT_EQ(y[want.size()], 0xa5) << what << ": wrote past the plane";
        }
      }
    }
  }
}

TEST(Int8QGemm, EveryQuantizeAndDequantizeMatchesTheSpec) {
  for (int64_t n : {1, 7, 8, 9, 31, 64, 1001}) {
    std::vector<float> x(static_cast<size_t>(n));
    std::mt19937 rng(static_cast<uint32_t>(n));
    std::uniform_real_distribution<float> d(-300.f, 300.f);
    for (auto& v : x) v = d(rng);
    if (n > 3) {
      x[1] = std::nanf("");
      x[2] = 2.5f * 0.5f;  // exact halves: round to even
      x[3] = -1e30f;
    }
    for (bool is_signed : {false, true}) {
      const int32_t zp = is_signed ? -7 : 130, qmin = is_signed ? -128 : 0, qmax = is_signed ? 127 : 255;
      const float scale = 0.5f;
      std::vector<uint8_t> want(static_cast<size_t>(n));
      for (int64_t i = 0; i < n; ++i) {
        const float v = x[i] / scale;
        if (std::isnan(v)) {
          want[i] = static_cast<uint8_t>(zp);
          continue;
        }
        const int32_t r = static_cast<int32_t>(std::nearbyint(std::clamp(v, -1e6f, 1e6f)));  // half to even
        want[i] = static_cast<uint8_t>(std::clamp(r + zp, qmin, qmax));
      }
      for (const QGemmKernels* t : runnable_tables()) {
        std::vector<uint8_t> y(static_cast<size_t>(n) + 1, 0xa5);
        t->quantize(x.data(), n, scale, zp, qmin, qmax, y.data());
        for (int64_t i = 0; i < n; ++i) ASSERT_EQ(y[i], want[i]) << t->name << " quantize n=" << n << " i=" << i;
        EXPECT_EQ(y[n], 0xa5) << t->name;
        std::vector<float> f(static_cast<size_t>(n) + 1, -1.f);
        t->dequantize(y.data(), n, is_signed, zp, 0.37f, f.data());
        for (int64_t i = 0; i < n; ++i) {
          const int32_t v = is_signed ? static_cast<int8_t>(y[i]) : y[i];
          ASSERT_EQ(f[i], static_cast<float>(v - zp) * 0.37f) << t->name << " dequantize n=" << n << " i=" << i;
        }
        EXPECT_EQ(f[n], -1.f) << t->name;
        std::vector<float> table(256);
        for (int i = 0; i < 256; ++i) table[i] = std::sin(static_cast<float>(i));
        t->lut_f32(y.data(), n, table.data(), f.data());
        for (int64_t i = 0; i < n; ++i) ASSERT_EQ(f[i], table[y[i]]) << t->name << " lut_f32 n=" << n;
        EXPECT_EQ(f[n], -1.f) << t->name;
      }
    }
  }
}

}  // namespace
}  // namespace edgeai::testing
