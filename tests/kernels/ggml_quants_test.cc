// Tests of the GGML block formats (src/kernels/reference/ggml_quants_ref.cc) and their SIMD dot
// products (src/kernels/cpu/ggml_quants_{avx2,avx512,neon}.cc, driven by ggml_matmul.cc).
// Oracles: byte vectors derived by hand from llama.cpp's block layouts and rounding rules; error
// bounds that follow from each format's scale; the reference kernels (every SIMD kernel is run on
// the same quantized activations and must agree exactly when all scales are powers of two, within
// f32 summation error otherwise); and, when EDGEAI_GGML_BASE_LIB names llama.cpp's libggml-base.so
// (as shipped by npm node-llama-cpp), llama.cpp's own quantizers byte for byte.
#include <dlfcn.h>
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "core/cpu_features.h"
#include "core/dtype.h"
#include "core/ggml_type.h"
#include "core/thread_pool.h"
#include "kernels/ggml_quants.h"
#include "kernels/ggml_quants_impl.h"

namespace edgeai {
namespace {

using namespace kernels;
using namespace kernels::ggml;

constexpr uint32_t T(GgmlType t) { return static_cast<uint32_t>(t); }

const std::vector<uint32_t> kQuantTypes = {T(GgmlType::kQ4_0), T(GgmlType::kQ4_1), T(GgmlType::kQ5_0),
                                           T(GgmlType::kQ5_1), T(GgmlType::kQ8_0), T(GgmlType::kQ2_K),
                                           T(GgmlType::kQ3_K), T(GgmlType::kQ4_K), T(GgmlType::kQ5_K),
                                           T(GgmlType::kQ6_K)};
const std::vector<uint32_t> kMatmulTypes = {T(GgmlType::kF32),  T(GgmlType::kF16),  T(GgmlType::kBF16),
                                            T(GgmlType::kQ4_0), T(GgmlType::kQ4_1), T(GgmlType::kQ5_0),
                                            T(GgmlType::kQ5_1), T(GgmlType::kQ8_0), T(GgmlType::kQ2_K),
                                            T(GgmlType::kQ3_K), T(GgmlType::kQ4_K), T(GgmlType::kQ5_K),
                                            T(GgmlType::kQ6_K)};

std::string tname(uint32_t t) { return ggml_type_info(t)->name; }

std::vector<float> random_floats(int64_t n, uint32_t seed, float scale = 1.0f) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> nd(0.0f, scale);
  std::vector<float> v(n);
  for (auto& x : v) x = nd(rng);
  return v;
}

// The ISAs this CPU can run, besides the reference.
std::vector<const KernelTable*> isa_tables() {
  std::vector<const KernelTable*> out;
  CpuFeatures c = detect_cpu_features();
#if defined(__x86_64__)
  if (c.avx2 && c.fma && c.f16c) out.push_back(&avx2_kernels());
  if (c.avx512f && c.avx512bw && c.avx512vl && c.avx512_vnni && c.avx2 && c.fma && c.f16c) {
    out.push_back(&avx512_kernels());
  }
#elif defined(__aarch64__)
  if (c.arm_dotprod) out.push_back(&neon_kernels());
#endif
  return out;
}

// ---- Type table ----------------------------------------------------------------------------------------

TEST(GgmlTypes, BlockSizesMatchLayouts) {
  struct E {
    GgmlType t;
    int64_t block, bytes;
  };
  // Bytes from ggml-common.h's block structs (static_asserts in ggml_quants_impl.h).
  for (E e : {E{GgmlType::kQ4_0, 32, sizeof(BlockQ4_0)}, E{GgmlType::kQ4_1, 32, sizeof(BlockQ4_1)},
              E{GgmlType::kQ5_0, 32, sizeof(BlockQ5_0)}, E{GgmlType::kQ5_1, 32, sizeof(BlockQ5_1)},
              E{GgmlType::kQ8_0, 32, sizeof(BlockQ8_0)}, E{GgmlType::kQ8_1, 32, sizeof(BlockQ8_1)},
              E{GgmlType::kQ2_K, 256, sizeof(BlockQ2_K)}, E{GgmlType::kQ3_K, 256, sizeof(BlockQ3_K)},
              E{GgmlType::kQ4_K, 256, sizeof(BlockQ4_K)}, E{GgmlType::kQ5_K, 256, sizeof(BlockQ5_K)},
              E{GgmlType::kQ6_K, 256, sizeof(BlockQ6_K)}, E{GgmlType::kQ8_K, 256, sizeof(BlockQ8_K)},
              E{GgmlType::kF16, 1, 2}, E{GgmlType::kBF16, 1, 2}, E{GgmlType::kF32, 1, 4}}) {
    const GgmlTypeInfo* info = ggml_type_info(T(e.t));
    ASSERT_NE(info, nullptr);
    EXPECT_EQ(info->block_size, e.block) << info->name;
    EXPECT_EQ(info->block_bytes, e.bytes) << info->name;
  }
  EXPECT_EQ(ggml_row_bytes(T(GgmlType::kQ4_K), 512), 288);
  EXPECT_EQ(ggml_row_bytes(T(GgmlType::kQ4_0), 33), -1);
}

// ---- Known bytes ---------------------------------------------------------------------------------------

// n bytes of `fill` that start with `head`.
std::vector<uint8_t> bytes(std::initializer_list<int> head, size_t n, uint8_t fill) {
  std::vector<uint8_t> v(n, fill);
  size_t i = 0;
  for (int b : head) v[i++] = (uint8_t)b;
  return v;
}

std::vector<uint8_t> quantize(uint32_t type, const std::vector<float>& x) {
  std::vector<uint8_t> out(ggml_row_bytes(type, (int64_t)x.size()));
  Status st = ggml_quantize_rows(type, x.data(), out.data(), 1, (int64_t)x.size());
  EXPECT_TRUE(st.ok()) << st.message();
  return out;
}

TEST(GgmlQuantize, Q8_0KnownBytes) {
  // amax = 127 gives d = 1 (f16 0x3c00) and q = roundf(x): halves round away from zero.
  std::vector<float> x = {-127.f, -1.5f, -0.5f, 0.5f, 1.5f, 2.5f, 100.4f, 100.6f, 0.f, -0.49f, 3.f, -3.5f};
  x.resize(32, 7.f);
  std::vector<uint8_t> expect = bytes({0x00, 0x3c, 0x81, 0xfe, 0xff, 0x01, 0x02, 0x03, 0x64, 0x65, 0x00, 0x00, 0x03, 0xfc}, 34, 0x07);
  EXPECT_EQ(quantize(T(GgmlType::kQ8_0), x), expect);
  // All zeros: d = 0, q = 0.
  EXPECT_EQ(quantize(T(GgmlType::kQ8_0), std::vector<float>(32, 0.f)), std::vector<uint8_t>(34, 0));
  // amax = 254: d = 2 (0x4000), x / 2 rounded.
  std::vector<float> y(32, 3.f);
  y[5] = -254.f;
  std::vector<uint8_t> expect_y = bytes({0x00, 0x40, 0x02, 0x02, 0x02, 0x02, 0x02, 0x81}, 34, 0x02);  // 1.5 -> 2
  EXPECT_EQ(quantize(T(GgmlType::kQ8_0), y), expect_y);
}

TEST(GgmlQuantize, Q4_0KnownBytes) {
  // The element of largest magnitude is -8: d = max / -8 = 1 (0x3c00), q = min(15, trunc(x + 8.5)),
  // qs[j] = q[j] | q[j + 16] << 4.
  std::vector<float> x(32, 0.f);
  x[0] = -8.f;   // q 0
  x[1] = 7.f;    // q 15
  x[2] = 7.6f;   // 16.1 -> clamped to 15
  x[3] = -0.5f;  // 8.0 -> 8
  x[4] = 0.49f;  // 8.99 -> 8
  x[5] = 0.5f;   // 9
  x[16] = -7.4f;  // 1.1 -> 1
  x[17] = 3.f;    // 11
  std::vector<uint8_t> expect = bytes({0x00, 0x3c, 0x10, 0xbf, 0x8f, 0x88, 0x88, 0x89}, 18, 0x88);
  EXPECT_EQ(quantize(T(GgmlType::kQ4_0), x), expect);
  // Largest magnitude positive (+4): d = -0.5 (0xb800), id = -2, so q = trunc(8.5 - 2x).
  std::vector<float> y(32, 0.f);
  y[0] = 4.f;    // 0.5 -> 0
  y[1] = -3.f;   // 14.5 -> 14
  y[2] = 1.f;    // 6.5 -> 6
  y[31] = -4.f;  // 16.5 -> 15
  std::vector<uint8_t> expect_y = bytes({0x00, 0xb8, 0x80, 0x8e, 0x86}, 18, 0x88);
  expect_y[2 + 15] = 0xf8;
  EXPECT_EQ(quantize(T(GgmlType::kQ4_0), y), expect_y);
}

TEST(GgmlQuantize, Q4_1AndQ5_0KnownBytes) {
  // q4_1: min -1, max 14 -> d = 1, m = -1 (0xbc00), q = min(15, trunc(x + 1 + 0.5)).
  std::vector<float> x(32, 2.f);  // 3.5 -> 3
  x[0] = -1.f;                    // 0
  x[16] = 14.f;                   // 15
  x[1] = 0.4f;                    // 1.9 -> 1
  std::vector<uint8_t> expect = bytes({0x00, 0x3c, 0x00, 0xbc, 0xf0, 0x31}, 20, 0x33);
  EXPECT_EQ(quantize(T(GgmlType::kQ4_1), x), expect);
  // q5_0: largest magnitude -16 -> d = 1, q = min(31, trunc(x + 16.5)); bit 4 of q goes to qh bit j.
  std::vector<float> y(32, 0.f);  // 16 = 0x10: low nibble 0, high bit set
  y[0] = -16.f;                   // 0
  y[1] = 15.f;                    // 31
  y[17] = -1.f;                   // 15
  // qh: every element has bit 4 set except 0 and 17.
  uint32_t qh = 0xffffffffu & ~1u & ~(1u << 17);
  std::vector<uint8_t> expect_y = bytes({0x00, 0x3c, (uint8_t)qh, (uint8_t)(qh >> 8), (uint8_t)(qh >> 16),
                                   (uint8_t)(qh >> 24), 0x00, 0xff}, 22, 0x00);
  EXPECT_EQ(quantize(T(GgmlType::kQ5_0), y), expect_y);
}

TEST(GgmlQuantize, FloatTypesRoundToNearestEven) {
  std::vector<float> x = {1.0f, 1.0f + 1.0f / 2048, 1.0f + 3.0f / 2048, 65520.f, -0.0f};
  auto h = quantize(T(GgmlType::kF16), x);
  std::vector<uint8_t> expect_h = {0x00, 0x3c, 0x00, 0x3c, 0x02, 0x3c, 0x00, 0x7c, 0x00, 0x80};
  EXPECT_EQ(h, expect_h);
  std::vector<float> y = {1.0f, 1.0f + 1.0f / 256, 1.0f + 3.0f / 256};
  auto b = quantize(T(GgmlType::kBF16), y);
  std::vector<uint8_t> expect_b = {0x80, 0x3f, 0x80, 0x3f, 0x82, 0x3f};
  EXPECT_EQ(b, expect_b);
}

TEST(GgmlQuantize, BadInputIsAnError) {
  std::vector<float> x(300, 1.f);
  std::vector<uint8_t> out(4096);
  EXPECT_EQ(ggml_quantize_rows(T(GgmlType::kQ4_0), x.data(), out.data(), 1, 33).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(ggml_quantize_rows(T(GgmlType::kQ4_K), x.data(), out.data(), 1, 288).code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(ggml_quantize_rows(T(GgmlType::kQ4_0), x.data(), out.data(), -1, 32).code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(ggml_quantize_rows(99, x.data(), out.data(), 1, 32).code(), StatusCode::kUnsupported);
  EXPECT_EQ(ggml_quantize_rows(T(GgmlType::kI8), x.data(), out.data(), 1, 32).code(), StatusCode::kUnsupported);
  Status st = ggml_quantize_rows(T(GgmlType::kQ6_K), x.data(), out.data(), 1, 100);
  EXPECT_NE(st.message().find("q6_k"), std::string::npos) << st.message();

  ThreadPool pool(1);
  CpuFeatures cpu = detect_cpu_features();
  std::vector<float> y(8);
  EXPECT_EQ(ggml_matmul(cpu, pool, T(GgmlType::kQ4_0), out.data(), 1, 48, x.data(), 1, y.data()).code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(ggml_matmul(cpu, pool, T(GgmlType::kQ8_K), out.data(), 1, 256, x.data(), 1, y.data()).code(),
            StatusCode::kUnsupported);
  EXPECT_EQ(ggml_matmul(cpu, pool, 77, out.data(), 1, 256, x.data(), 1, y.data()).code(), StatusCode::kUnsupported);
  EXPECT_EQ(ggml_matmul(cpu, pool, T(GgmlType::kQ8_0), out.data(), -2, 32, x.data(), 1, y.data()).code(),
            StatusCode::kInvalidArgument);
  EXPECT_TRUE(ggml_matmul(cpu, pool, T(GgmlType::kQ8_0), out.data(), 0, 32, x.data(), 1, y.data()).ok());
  EXPECT_FALSE(ggml_type_supported(T(GgmlType::kQ8_K)));
  EXPECT_TRUE(ggml_type_supported(T(GgmlType::kQ6_K)));
  EXPECT_FALSE(ggml_type_supported(1000));
}

// ---- Round trips -------------------------------------------------------------------------------------

TEST(GgmlQuantize, Q8_0AndQ4_0ErrorWithinHalfAStep) {
  const int64_t n = 32 * 40;
  std::vector<float> x = random_floats(n, 1);
  for (uint32_t type : {T(GgmlType::kQ8_0), T(GgmlType::kQ4_0), T(GgmlType::kQ5_0)}) {
    auto q = quantize(type, x);
    std::vector<float> back(n);
    ggml_dequantize_row(type, q.data(), back.data(), n);
    const int64_t bb = ggml_type_info(type)->block_bytes;
    for (int64_t b = 0; b < n / 32; ++b) {
      uint16_t dh;
      std::memcpy(&dh, q.data() + b * bb, 2);
      const float d = std::fabs(half_to_float(dh));
      // Half a step, plus the f16 rounding of d over up to 127 steps; q4_0/q5_0 clamp the largest
      // value of the opposite sign to the last level (one step).
      const float bound = type == T(GgmlType::kQ8_0) ? d * (0.5f + 127.f / 2048.f) : d * 1.01f;
      for (int j = 0; j < 32; ++j) {
        ASSERT_LE(std::fabs(back[b * 32 + j] - x[b * 32 + j]), bound) << tname(type) << " block " << b;
      }
    }
  }
}

TEST(GgmlQuantize, RoundTripErrorPerType) {
  // RMS error relative to the RMS of gaussian data, bounded a little above what each format gets
  // (the bytes are llama.cpp's, so these are llama.cpp's figures too).
  const int64_t n = 256 * 16;
  std::vector<float> x = random_floats(n, 2);
  struct E {
    GgmlType t;
    double max_rel_rmse;
  };
  // Measured: q8_0 .0054, q4_0 .087, q4_1 .079, q5_0 .043, q5_1 .038, q2_K .30, q3_K .153, q4_K .073,
  // q5_K .036, q6_K .0178, q8_K .0069, f16 .00021, bf16 .0017.
  for (E e : {E{GgmlType::kQ8_0, 0.0063}, E{GgmlType::kQ4_0, 0.10}, E{GgmlType::kQ4_1, 0.09},
              E{GgmlType::kQ5_0, 0.05}, E{GgmlType::kQ5_1, 0.045}, E{GgmlType::kQ2_K, 0.34},
              E{GgmlType::kQ3_K, 0.175}, E{GgmlType::kQ4_K, 0.085}, E{GgmlType::kQ5_K, 0.042},
              E{GgmlType::kQ6_K, 0.021}, E{GgmlType::kQ8_K, 0.008}, E{GgmlType::kF16, 0.0003},
              E{GgmlType::kBF16, 0.002}, E{GgmlType::kF32, 0.0}}) {
    auto q = quantize(T(e.t), x);
    std::vector<float> back(n);
    ggml_dequantize_row(T(e.t), q.data(), back.data(), n);
    double se = 0, sx = 0;
    for (int64_t i = 0; i < n; ++i) {
      se += (back[i] - x[i]) * (back[i] - x[i]);
      sx += x[i] * x[i];
    }
    double rel = std::sqrt(se / sx);
    EXPECT_LE(rel, e.max_rel_rmse) << tname(T(e.t));
    if (e.t != GgmlType::kF32) {
      EXPECT_GT(rel, 0.0) << tname(T(e.t));
    }
  }
}

TEST(GgmlQuantize, ThreadedRowsAreTheSameBytes) {
  const int64_t rows = 7, n = 512;
  std::vector<float> x = random_floats(rows * n, 3);
  ThreadPool pool(2);
  for (uint32_t type : kQuantTypes) {
    const int64_t rb = ggml_row_bytes(type, n);
    std::vector<uint8_t> a(rows * rb), b(rows * rb);
    ASSERT_TRUE(ggml_quantize_rows(type, x.data(), a.data(), rows, n).ok());
    ASSERT_TRUE(ggml_quantize_rows(pool, type, x.data(), b.data(), rows, n).ok());
    EXPECT_EQ(a, b) << tname(type);
    // Each row is quantized on its own.
    std::vector<uint8_t> row = quantize(type, std::vector<float>(x.begin() + 3 * n, x.begin() + 4 * n));
    EXPECT_TRUE(std::equal(row.begin(), row.end(), a.begin() + 3 * rb)) << tname(type);
  }
}

TEST(GgmlQuantize, AllZeroAndConstantBlocks) {
  for (uint32_t type : kQuantTypes) {
    for (float v : {0.0f, 0.25f, -3.0f}) {
      std::vector<float> x(512, v);
      auto q = quantize(type, x);
      std::vector<float> back(512);
      ggml_dequantize_row(type, q.data(), back.data(), 512);
      for (float b : back) {
        ASSERT_TRUE(std::isfinite(b)) << tname(type);
        ASSERT_NEAR(b, v, std::fabs(v) * 0.1f + 1e-6f) << tname(type) << " v=" << v;
      }
    }
  }
}

// ---- Matmul: every ISA against the reference -----------------------------------------------------------

// Weights for `rows` rows of k. Realistic: quantized from gaussian floats. Hostile: random quant
// bytes everywhere (every value a format can hold, q8_0's -128 and q6_K's scale -128 included)
// with sane f16 scale fields.
std::vector<uint8_t> make_weights(uint32_t type, int64_t rows, int64_t k, uint32_t seed, bool hostile) {
  const int64_t rb = ggml_row_bytes(type, k);
  std::vector<uint8_t> w(rows * rb);
  std::mt19937 rng(seed);
  if (!hostile || type == T(GgmlType::kF32) || type == T(GgmlType::kF16) || type == T(GgmlType::kBF16)) {
    std::vector<float> x = random_floats(rows * k, seed);
    EXPECT_TRUE(ggml_quantize_rows(type, x.data(), w.data(), rows, k).ok());
    return w;
  }
  for (auto& b : w) b = (uint8_t)rng();
  std::uniform_real_distribution<float> ud(0.002f, 0.05f);
  auto put = [&](uint8_t* p, float v) {
    uint16_t h = float_to_half(v);
    std::memcpy(p, &h, 2);
  };
  const int64_t bb = ggml_type_info(type)->block_bytes;
  for (int64_t i = 0; i < rows * rb; i += bb) {
    uint8_t* blk = w.data() + i;
    switch (static_cast<GgmlType>(type)) {
      case GgmlType::kQ4_0: case GgmlType::kQ5_0: case GgmlType::kQ8_0: put(blk, ud(rng) * (rng() & 1 ? 1 : -1)); break;
      case GgmlType::kQ4_1: case GgmlType::kQ5_1: put(blk, ud(rng)); put(blk + 2, -ud(rng) * 8); break;
      case GgmlType::kQ2_K: put(blk + 80, ud(rng)); put(blk + 82, ud(rng)); break;
      case GgmlType::kQ3_K: put(blk + 108, ud(rng)); break;
      case GgmlType::kQ4_K: case GgmlType::kQ5_K: put(blk, ud(rng)); put(blk + 2, ud(rng)); break;
      case GgmlType::kQ6_K: put(blk + 208, ud(rng)); break;
      default: break;
    }
  }
  return w;
}

// sum_i |w_i x_i| of a row with a token: the scale of f32 rounding in a dot product.
double abs_dot(uint32_t type, const uint8_t* w, const float* x, int64_t k) {
  std::vector<float> wf(k);
  ggml_dequantize_row(type, w, wf.data(), k);
  double s = 0;
  for (int64_t i = 0; i < k; ++i) s += std::fabs((double)wf[i] * x[i]);
  return s;
}

TEST(GgmlMatmul, ReferenceMatchesDequantizedProduct) {
  // The reference through quantized activations is close to the f32 product of the dequantized
  // weights (activation quantization error only); f32 weights are exact up to rounding.
  ThreadPool pool(1);
  const int64_t rows = 5, k = 512, nt = 3;
  std::vector<float> x = random_floats(nt * k, 11);
  for (uint32_t type : kMatmulTypes) {
    auto w = make_weights(type, rows, k, 12, false);
    std::vector<float> y(nt * rows);
    ASSERT_TRUE(matmul_with(ref_kernels(), pool, type, w.data(), rows, k, x.data(), nt, y.data()).ok());
    const int64_t rb = ggml_row_bytes(type, k);
    for (int64_t t = 0; t < nt; ++t) {
      for (int64_t r = 0; r < rows; ++r) {
        std::vector<float> wf(k);
        ggml_dequantize_row(type, w.data() + r * rb, wf.data(), k);
        double exact = 0;
        for (int64_t i = 0; i < k; ++i) exact += (double)wf[i] * x[t * k + i];
        const double mag = abs_dot(type, w.data() + r * rb, x.data() + t * k, k);
        // f16 activations: each value within 2^-11 of its own size.
        const double tol = act_kind(type) == ActKind::kF32   ? 1e-5 * mag
                           : act_kind(type) == ActKind::kF16 ? 6e-4 * mag
                                                             : 0.02 * mag;
        EXPECT_NEAR(y[t * rows + r], exact, tol) << tname(type) << " t=" << t << " r=" << r;
      }
    }
  }
}

TEST(GgmlMatmul, EveryIsaMatchesReference) {
  auto tables = isa_tables();
  if (tables.empty()) GTEST_SKIP() << "no SIMD kernels for this CPU";
  std::string names;
  for (const KernelTable* kt : tables) names += std::string(" ") + kt->isa;
  RecordProperty("isas", names);
  std::printf("[          ] SIMD kernels under test:%s\n", names.c_str());
  ThreadPool pool(2);
  for (const KernelTable* kt : tables) {
    for (uint32_t type : kMatmulTypes) {
      const int64_t bs = ggml_type_info(type)->block_size;
      // Block counts 1..13 around the 4-block groups of the x86 kernels; float rows of any length.
      const std::vector<int64_t> ks = bs == 256 ? std::vector<int64_t>{256, 512, 768, 1280}
                                      : bs == 32 ? std::vector<int64_t>{32, 64, 96, 160, 224, 288, 416}
                                                 : std::vector<int64_t>{1, 7, 32, 33, 65, 100, 288};
      for (int64_t k : ks) {
        for (bool hostile : {false, true}) {
          const int64_t rows = 7 + (k % 5);
          const int64_t max_nt = 9;
          auto w = make_weights(type, rows, k, (uint32_t)(k * 31 + hostile), hostile);
          std::vector<float> x = random_floats(max_nt * k, (uint32_t)k + 5);
          for (int64_t nt : {1, 2, 3, 4, 5, 8, 9}) {
            std::vector<float> y_ref(nt * rows), y(nt * rows);
            ASSERT_TRUE(matmul_with(ref_kernels(), pool, type, w.data(), rows, k, x.data(), nt, y_ref.data()).ok());
            ASSERT_TRUE(matmul_with(*kt, pool, type, w.data(), rows, k, x.data(), nt, y.data()).ok());
            const int64_t rb = ggml_row_bytes(type, k);
            for (int64_t t = 0; t < nt; ++t) {
              for (int64_t r = 0; r < rows; ++r) {
                const double mag = abs_dot(type, w.data() + r * rb, x.data() + t * k, k);
                ASSERT_NEAR(y[t * rows + r], y_ref[t * rows + r], 2e-5 * mag + 1e-6)
                    << kt->isa << " " << tname(type) << " k=" << k << " hostile=" << hostile << " nt=" << nt
                    << " t=" << t << " r=" << r;
              }
            }
          }
        }
      }
    }
  }
}

// Integer parts bit for bit: with every scale 1 (and small activations) each kernel's result is an
// integer that f32 holds exactly, whatever the order of the additions.
TEST(GgmlMatmul, EveryIsaIntegerExact) {
  auto tables = isa_tables();
  if (tables.empty()) GTEST_SKIP() << "no SIMD kernels for this CPU";
  std::mt19937 rng(7);
  for (uint32_t type : kMatmulTypes) {
    const int64_t bs = ggml_type_info(type)->block_size;
    for (int64_t k : bs == 256 ? std::vector<int64_t>{256, 512, 768} : std::vector<int64_t>{32, 96, 160, 288}) {
      const int64_t rows = 3;
      std::vector<uint8_t> w = make_weights(type, rows, k, (uint32_t)k, true);
      const int64_t bb = ggml_type_info(type)->block_bytes;
      const uint16_t one = float_to_half(1.0f);
      const uint16_t bf_one = float_to_bf16(1.0f);
      for (size_t i = 0; i < w.size(); i += bb) {
        uint8_t* blk = w.data() + i;
        switch (static_cast<GgmlType>(type)) {
          case GgmlType::kF32: {
            float v = (float)((int)(rng() % 33) - 16);
            std::memcpy(blk, &v, 4);
            break;
          }
          case GgmlType::kF16: {
            uint16_t h = float_to_half((float)((int)(rng() % 33) - 16));
            std::memcpy(blk, &h, 2);
            break;
          }
          case GgmlType::kBF16: {
            uint16_t h = float_to_bf16((float)((int)(rng() % 33) - 16));
            std::memcpy(blk, &h, 2);
            break;
          }
          case GgmlType::kQ4_0: case GgmlType::kQ5_0: case GgmlType::kQ8_0: std::memcpy(blk, &one, 2); break;
          case GgmlType::kQ4_1: case GgmlType::kQ5_1:
            std::memcpy(blk, &one, 2);
            std::memcpy(blk + 2, &one, 2);
            break;
          case GgmlType::kQ2_K: std::memcpy(blk + 80, &one, 2); std::memcpy(blk + 82, &one, 2); break;
          case GgmlType::kQ3_K: std::memcpy(blk + 108, &one, 2); break;
          case GgmlType::kQ4_K: case GgmlType::kQ5_K: std::memcpy(blk, &one, 2); std::memcpy(blk + 2, &one, 2); break;
          case GgmlType::kQ6_K: std::memcpy(blk + 208, &one, 2); break;
          default: break;
        }
      }
      (void)bf_one;
      const int nt = kMaxTileTokens;
      for (const KernelTable* kt : tables) {
        if (!kt->tile[type]) continue;
        // The table's activation order; the reference reads any order.
        const ActLayout layout = act_layout_for(*kt, type, k);
        std::vector<uint8_t> slab_store(layout.stride * nt + 64);
        uint8_t* slab = slab_store.data() + (64 - (uintptr_t)slab_store.data() % 64) % 64;
        for (int t = 0; t < nt; ++t) {
          uint8_t* s = slab + t * layout.stride;
          if (layout.kind == ActKind::kF32) {
            float* xf = reinterpret_cast<float*>(s);
            for (int64_t i = 0; i < k; ++i) xf[i] = (float)((int)(rng() % 33) - 16);
            continue;
          }
          if (layout.kind == ActKind::kF16) {
            uint16_t* xh = reinterpret_cast<uint16_t*>(s + layout.off_qs);
            for (int64_t i = 0; i < k; ++i) xh[i] = float_to_half((float)((int)(rng() % 33) - 16));
            continue;
          }
          int8_t* qs = reinterpret_cast<int8_t*>(s + layout.off_qs);
          for (int64_t i = 0; i < k; ++i) qs[i] = (int8_t)((int)(rng() % 33) - 16);
          if (t == 0) qs[0] = 127, qs[k - 1] = -127;  // the extremes a quantizer makes
          float* d = reinterpret_cast<float*>(s + layout.off_d);
          const int64_t nb = layout.kind == ActKind::kQ8_K ? k / 256 : k / 32;
          for (int64_t b = 0; b < nb; ++b) d[b] = 1.0f;
          finish_acts(type, layout, k, s);
        }
        Acts acts{slab, layout.stride, &layout};
        const int64_t rb = ggml_row_bytes(type, k);
        for (int64_t r = 0; r < rows; ++r) {
          std::vector<float> y_ref(nt), y(nt);
          ref_kernels().tile[type](k, w.data() + r * rb, acts, nt, y_ref.data(), 1);
          for (float v : y_ref) ASSERT_EQ(v, std::round(v)) << tname(type);
          for (int n = 1; n <= nt; ++n) {
            std::fill(y.begin(), y.end(), -1.0f);
            kt->tile[type](k, w.data() + r * rb, acts, n, y.data(), 1);
            for (int t = 0; t < n; ++t) {
              ASSERT_EQ(y[t], y_ref[t]) << kt->isa << " " << tname(type) << " k=" << k << " r=" << r << " nt=" << n
                                        << " t=" << t;
            }
            for (int t = n; t < nt; ++t) ASSERT_EQ(y[t], -1.0f) << "wrote past nt";
          }
        }
      }
    }
  }
}

// f16 activations (f16 weights): an ISA's vector conversion gives float_to_half's bits (round to
// nearest even) for every value, halfway cases, half subnormals, overflow to inf and vector tails
// included.
TEST(GgmlMatmul, F16ActivationsRoundAsReferenceOnEveryIsa) {
  const uint32_t f16 = T(GgmlType::kF16);
  std::vector<float> x = random_floats(300, 41, 3.0f);
  std::mt19937 rng(42);
  for (int i = 0; i < 100; ++i) {  // exact halfway points between f16 values, both parities
    const float h = half_to_float((uint16_t)(rng() % 0x7bff));
    const float next = half_to_float((uint16_t)(float_to_half(h) + 1));
    x.push_back(h + (next - h) / 2);
  }
  for (float v : {0.0f, -0.0f, 65504.0f, 65519.0f, 65520.0f, -70000.0f, 1e-7f, 3e-8f, 2.9802322e-8f, -6.1e-5f, 5.96e-8f,
                  1e30f, std::numeric_limits<float>::infinity(), 1e-40f}) {
    x.push_back(v);
  }
  int checked = 0;
  for (const KernelTable* kt : isa_tables()) {
    if (!kt->to_f16) continue;
    for (int64_t n : {int64_t{1}, int64_t{7}, int64_t{15}, int64_t{16}, int64_t{17}, int64_t{33}, (int64_t)x.size()}) {
      const int64_t off = (int64_t)x.size() - n;  // the tail holds the special values
      const ActLayout l = act_layout(f16, n);
      ASSERT_EQ(l.kind, ActKind::kF16);
      std::vector<uint8_t> ref(l.stride);
      quantize_acts(f16, l, x.data() + off, n, ref.data());
      std::vector<uint16_t> ours(n, 0xdead);
      kt->to_f16(x.data() + off, n, ours.data());
      for (int64_t i = 0; i < n; ++i) {
        uint16_t want;
        std::memcpy(&want, ref.data() + l.off_qs + 2 * i, 2);
        ASSERT_EQ(ours[i], want) << kt->isa << " n=" << n << " x=" << x[off + i];
        ASSERT_EQ(want, float_to_half(x[off + i]));
      }
      ++checked;
    }
  }
  if (checked == 0) GTEST_SKIP() << "no vector f16 conversion for this CPU";
}

// Multi-row kernels: each row bit for bit what the single-row kernel gives (ggml_matmul mixes the
// two depending on where a thread's rows end), for every tail length and token count.
TEST(GgmlMatmul, MultiRowKernelsMatchSingleRowBitForBit) {
  int checked = 0;
  for (const KernelTable* kt : isa_tables()) {
    for (uint32_t type = 0; type < 32; ++type) {
      if (!kt->tile_rows[type] || !kt->tile[type]) continue;
      const int64_t nr = kt->rows[type];
      ASSERT_GT(nr, 1) << kt->isa << " " << tname(type);
      const int64_t bs = ggml_type_info(type)->block_size;
      const std::vector<int64_t> ks = bs == 32 ? std::vector<int64_t>{32, 64, 96, 128, 160, 224, 416}
                                               : std::vector<int64_t>{1, 7, 16, 33, 65, 100, 288};
      for (int64_t k : ks) {
        for (bool hostile : {false, true}) {
          auto w = make_weights(type, nr, k, (uint32_t)(k * 7 + hostile), hostile);
          std::vector<float> x = random_floats(kMaxTileTokens * k, (uint32_t)k + 11);
          const ActLayout layout = act_layout_for(*kt, type, k);
          std::vector<uint8_t> slab_store(layout.stride * kMaxTileTokens + 64);
          uint8_t* slab = slab_store.data() + (64 - (uintptr_t)slab_store.data() % 64) % 64;
          Acts acts{slab, layout.stride, &layout};
          if (layout.kind == ActKind::kF32) {
            acts = Acts{reinterpret_cast<const uint8_t*>(x.data()), k * 4, &layout};
          } else {
            for (int t = 0; t < kMaxTileTokens; ++t) quantize_acts(type, layout, x.data() + t * k, k, slab + t * layout.stride);
          }
          const int64_t rb = ggml_row_bytes(type, k);
          for (int nt = 1; nt <= kMaxTileTokens; ++nt) {
            std::vector<float> y(nt * nr, -1.0f), y1(nt * nr, -2.0f);
            kt->tile_rows[type](k, w.data(), rb, acts, nt, y.data(), nr);
            for (int64_t r = 0; r < nr; ++r) kt->tile[type](k, w.data() + r * rb, acts, nt, y1.data() + r, nr);
            for (int64_t i = 0; i < nt * nr; ++i) {
              ASSERT_EQ(y[i], y1[i]) << kt->isa << " " << tname(type) << " k=" << k << " nt=" << nt << " i=" << i;
            }
            ++checked;
          }
        }
      }
    }
  }
  if (checked == 0) GTEST_SKIP() << "no multi-row kernels for this CPU";
}

// Packed prompt kernels (long prompts: ggml_matmul packs groups of rows per row block). Oracle: the
// reference kernel, within f32 rounding on random and hostile weights, and exactly where every
// scale is 1 (integer results); odd block counts (partial 4-block activation groups), rows that
// leave a tail for the single-row kernel, token counts that leave a partial tile, 1-3 threads
// giving the same bits.
TEST(GgmlMatmul, PackedKernelsMatchReference) {
  int checked = 0;
  ThreadPool one(1), two(2), three(3);
  for (const KernelTable* kt : isa_tables()) {
    for (uint32_t type = 0; type < 32; ++type) {
      if (!kt->pack_rows[type]) continue;
      ASSERT_TRUE(kt->tile_packed[type] && kt->tile[type]) << kt->isa << " " << tname(type);
      const int64_t nr = kt->packed_rows[type];
      const int64_t rows = 2 * nr + 3;
      for (int64_t k : {32, 64, 96, 128, 160, 224, 416}) {
        for (int mode = 0; mode < 3; ++mode) {  // random, hostile, hostile with scales 1
          auto w = make_weights(type, rows, k, (uint32_t)(k * 13 + mode), mode > 0);
          const int64_t rb = ggml_row_bytes(type, k);
          std::vector<float> x = random_floats(33 * k, (uint32_t)k + 17);
          if (mode == 2) {
            const uint16_t one_h = float_to_half(1.0f);
            for (int64_t i = 0; i < rows * rb; i += ggml_type_info(type)->block_bytes) std::memcpy(&w[i], &one_h, 2);
            std::mt19937 rng((uint32_t)k);
            for (int64_t i = 0; i < 33 * k; ++i) x[i] = (float)((int)(rng() % 255) - 127);
            for (int64_t b = 0; b < 33 * k / 32; ++b) x[b * 32] = 127.0f;  // every block's scale 1
          }
          for (int64_t nt : {kPackMinTokens, kPackMinTokens + 1, int64_t{27}, int64_t{33}}) {
            std::vector<float> y_ref(nt * rows), y(nt * rows), y2(nt * rows), y3(nt * rows);
            ASSERT_TRUE(matmul_with(ref_kernels(), one, type, w.data(), rows, k, x.data(), nt, y_ref.data()).ok());
            ASSERT_TRUE(matmul_with(*kt, one, type, w.data(), rows, k, x.data(), nt, y.data()).ok());
            ASSERT_TRUE(matmul_with(*kt, two, type, w.data(), rows, k, x.data(), nt, y2.data()).ok());
            ASSERT_TRUE(matmul_with(*kt, three, type, w.data(), rows, k, x.data(), nt, y3.data()).ok());
            EXPECT_EQ(std::memcmp(y.data(), y2.data(), y.size() * 4), 0) << kt->isa << " " << tname(type);
            EXPECT_EQ(std::memcmp(y.data(), y3.data(), y.size() * 4), 0) << kt->isa << " " << tname(type);
            for (int64_t t = 0; t < nt; ++t) {
              for (int64_t r = 0; r < rows; ++r) {
                const float got = y[t * rows + r], want = y_ref[t * rows + r];
                if (mode == 2) {
                  ASSERT_EQ(want, std::round(want));
                  ASSERT_EQ(got, want) << kt->isa << " " << tname(type) << " k=" << k << " nt=" << nt << " t=" << t
                                       << " r=" << r;
                } else {
                  const double mag = abs_dot(type, w.data() + r * rb, x.data() + t * k, k);
                  ASSERT_NEAR(got, want, 2e-5 * mag + 1e-6) << kt->isa << " " << tname(type) << " k=" << k
                                                            << " mode=" << mode << " nt=" << nt << " t=" << t
                                                            << " r=" << r;
                }
              }
            }
            ++checked;
          }
        }
      }
    }
  }
  if (checked == 0) GTEST_SKIP() << "no packed kernels for this CPU";
}

TEST(GgmlMatmul, SameResultForAnyThreadCount) {
  CpuFeatures cpu = detect_cpu_features();
  ThreadPool one(1), two(2), three(3);
  const int64_t rows = 301, k = 1024;
  std::vector<float> x = random_floats(11 * k, 21);
  for (uint32_t type : kMatmulTypes) {
    auto w = make_weights(type, rows, k, 22, false);
    for (int64_t nt : {1, 11}) {
      std::vector<float> a(nt * rows), b(nt * rows), c(nt * rows);
      ASSERT_TRUE(ggml_matmul(cpu, one, type, w.data(), rows, k, x.data(), nt, a.data()).ok());
      ASSERT_TRUE(ggml_matmul(cpu, two, type, w.data(), rows, k, x.data(), nt, b.data()).ok());
      ASSERT_TRUE(ggml_matmul(cpu, three, type, w.data(), rows, k, x.data(), nt, c.data()).ok());
      EXPECT_EQ(std::memcmp(a.data(), b.data(), a.size() * 4), 0) << tname(type);
      EXPECT_EQ(std::memcmp(a.data(), c.data(), a.size() * 4), 0) << tname(type);
    }
  }
}

// Several matrices on one input (Q/K/V, gate/up) through one call: activations shared between
// operands of a type, rows of all operands split together. Oracle: matmul_with on each matrix alone,
// bit for bit, for every ISA, any thread count, odd row counts (tails of the multi-row groups),
// repeated and mixed types.
TEST(GgmlMatmul, ManyMatchesOneAtATimeBitForBit) {
  auto tables = isa_tables();
  tables.push_back(&ref_kernels());
  ThreadPool one(1), two(2), three(3);
  const int64_t k = 512;
  std::vector<float> x = random_floats(9 * k, 31);
  std::vector<uint32_t> types(std::begin(kMatmulTypes), std::end(kMatmulTypes));
  for (uint32_t type : kMatmulTypes) types.push_back(type);  // every type twice: shared activations
  std::vector<std::vector<uint8_t>> ws;
  std::vector<int64_t> rows;
  for (size_t i = 0; i < types.size(); ++i) {
    rows.push_back(i % 4 == 3 ? 1 : 5 + (int64_t)(i * 7 % 13));
    ws.push_back(make_weights(types[i], rows[i], k, (uint32_t)(40 + i), i % 2 == 1));
  }
  for (const KernelTable* kt : tables) {
    for (ThreadPool* pool : {&one, &two, &three}) {
      for (int64_t nt : {1, 3, 9}) {
        std::vector<std::vector<float>> ys(types.size()), refs(types.size());
        std::vector<MatmulOperand> ops;
        for (size_t i = 0; i < types.size(); ++i) {
          ys[i].assign(nt * rows[i], -1.0f);
          refs[i].assign(nt * rows[i], -2.0f);
          ASSERT_TRUE(matmul_with(*kt, one, types[i], ws[i].data(), rows[i], k, x.data(), nt, refs[i].data()).ok());
          ops.push_back({types[i], ws[i].data(), rows[i], ys[i].data()});
        }
        ASSERT_TRUE(matmul_many_with(*kt, *pool, ops, k, x.data(), nt).ok());
        for (size_t i = 0; i < types.size(); ++i) {
          EXPECT_EQ(std::memcmp(ys[i].data(), refs[i].data(), ys[i].size() * 4), 0)
              << kt->isa << " " << tname(types[i]) << " operand " << i << " threads " << pool->num_threads()
              << " nt=" << nt;
        }
      }
    }
  }
  // Errors name the bad operand's problem; k must suit every type.
  std::vector<float> y(32);
  std::vector<MatmulOperand> bad = {{T(GgmlType::kQ4_0), ws[0].data(), 1, y.data()}, {99, ws[0].data(), 1, y.data()}};
  EXPECT_EQ(matmul_many_with(ref_kernels(), one, bad, k, x.data(), 1).code(), StatusCode::kUnsupported);
  bad[1] = {T(GgmlType::kQ4_K), ws[0].data(), 1, y.data()};
  EXPECT_EQ(matmul_many_with(ref_kernels(), one, bad, 32, x.data(), 1).code(), StatusCode::kInvalidArgument);
}

// ---- llama.cpp itself, when its library is at hand -----------------------------------------------------

TEST(GgmlQuantize, SameBytesAsLlamaCpp) {
  const char* lib = std::getenv("EDGEAI_GGML_BASE_LIB");
  if (!lib || !*lib) GTEST_SKIP() << "set EDGEAI_GGML_BASE_LIB to llama.cpp's libggml-base.so to compare";
  void* h = dlopen(lib, RTLD_NOW | RTLD_LOCAL);
  ASSERT_NE(h, nullptr) << dlerror();
  using QFn = void (*)(const float*, void*, int64_t);
  struct E {
    GgmlType t;
    const char* sym;
  };
  const int64_t n = 256 * 12;
  for (uint32_t seed : {1u, 2u, 3u}) {
    std::vector<float> x = random_floats(n, seed, seed == 3 ? 0.02f : 1.0f);
    if (seed == 2) {  // heavy tails, exact zeros and a constant block
      for (int64_t i = 0; i < n; i += 7) x[i] *= 30.f;
      for (int64_t i = 0; i < n; i += 11) x[i] = 0.f;
      for (int64_t i = 512; i < 768; ++i) x[i] = 0.5f;
    }
    for (E e : {E{GgmlType::kQ4_0, "quantize_row_q4_0_ref"}, E{GgmlType::kQ4_1, "quantize_row_q4_1_ref"},
                E{GgmlType::kQ5_0, "quantize_row_q5_0_ref"}, E{GgmlType::kQ5_1, "quantize_row_q5_1_ref"},
                E{GgmlType::kQ8_0, "quantize_row_q8_0_ref"}, E{GgmlType::kQ8_1, "quantize_row_q8_1_ref"},
                E{GgmlType::kQ2_K, "quantize_row_q2_K_ref"}, E{GgmlType::kQ3_K, "quantize_row_q3_K_ref"},
                E{GgmlType::kQ4_K, "quantize_row_q4_K_ref"}, E{GgmlType::kQ5_K, "quantize_row_q5_K_ref"},
                E{GgmlType::kQ6_K, "quantize_row_q6_K_ref"}, E{GgmlType::kQ8_K, "quantize_row_q8_K_ref"}}) {
      auto fn = reinterpret_cast<QFn>(dlsym(h, e.sym));
      ASSERT_NE(fn, nullptr) << e.sym;
      std::vector<uint8_t> theirs(ggml_row_bytes(T(e.t), n), 0), ours = quantize(T(e.t), x);
      fn(x.data(), theirs.data(), n);
#if !defined(__x86_64__)
      // llama.cpp's aarch64 builds let the compiler fuse a*b+c in the k-quant searches, which moves
      // near-tie decisions; our reference never fuses, and equals llama.cpp's x86-64 builds.
      if (ggml_type_info(T(e.t))->block_size == 256 && e.t != GgmlType::kQ8_K) continue;
#endif
      EXPECT_EQ(ours, theirs) << e.sym << " seed " << seed;
      // And back: dequantize_row_* of the same bytes, bit for bit.
      std::string dsym = std::string("de") + std::string(e.sym).substr(0, std::string(e.sym).size() - 4);
      auto dfn = reinterpret_cast<void (*)(const void*, float*, int64_t)>(dlsym(h, dsym.c_str()));
      if (!dfn) continue;  // llama.cpp exports no dequantize_row_q8_1
      std::vector<float> back_ours(n), back_theirs(n);
      ggml_dequantize_row(T(e.t), ours.data(), back_ours.data(), n);
      dfn(ours.data(), back_theirs.data(), n);
      EXPECT_EQ(std::memcmp(back_ours.data(), back_theirs.data(), n * sizeof(float)), 0) << dsym;
    }
  }
  dlclose(h);
}

// Activations: on x86 llama.cpp's matrix products quantize them with its SIMD quantize_row_q8_0 and
// quantize_row_q8_K (in libggml-cpu-<arch>.so); ours must give the same int8 values and scales.
TEST(GgmlMatmul, ActivationsAsLlamaCpp) {
  const char* lib = std::getenv("EDGEAI_GGML_CPU_LIB");
  const char* base = std::getenv("EDGEAI_GGML_BASE_LIB");
  if (!lib || !*lib || !base || !*base) {
    GTEST_SKIP() << "set EDGEAI_GGML_BASE_LIB and EDGEAI_GGML_CPU_LIB (llama.cpp's libggml-base.so, libggml-cpu-*.so)";
  }
  void* hb = dlopen(base, RTLD_NOW | RTLD_GLOBAL);
  ASSERT_NE(hb, nullptr) << dlerror();
  void* h = dlopen(lib, RTLD_NOW | RTLD_LOCAL);
  ASSERT_NE(h, nullptr) << dlerror();
  using QFn = void (*)(const float*, void*, int64_t);
  auto q8_0 = reinterpret_cast<QFn>(dlsym(h, "quantize_row_q8_0"));
  auto q8_K = reinterpret_cast<QFn>(dlsym(h, "quantize_row_q8_K"));
  ASSERT_TRUE(q8_0 && q8_K);
  const int64_t k = 4096;
  for (uint32_t seed = 0; seed < 20; ++seed) {
    std::vector<float> x = random_floats(k, 100 + seed, seed % 2 ? 0.3f : 2.0f);
    if (seed % 4 == 0) {
      for (float& v : x) v = std::round(v * 8) / 8;  // many exact halves after scaling
    }
    std::vector<uint8_t> theirs(k / 32 * 34), theirs_k(k / 256 * 292);
    q8_0(x.data(), theirs.data(), k);
    q8_K(x.data(), theirs_k.data(), k);
    for (uint32_t wtype : {T(GgmlType::kQ8_0), T(GgmlType::kQ4_K)}) {
      const ActLayout l = act_layout(wtype, k);
      std::vector<uint8_t> store(l.stride + 64);
      uint8_t* s = store.data() + (64 - (uintptr_t)store.data() % 64) % 64;
      quantize_acts(wtype, l, x.data(), k, s);
      const int8_t* qs = reinterpret_cast<const int8_t*>(s + l.off_qs);
      const float* d = reinterpret_cast<const float*>(s + l.off_d);
      if (wtype == T(GgmlType::kQ8_0)) {
        for (int64_t b = 0; b < k / 32; ++b) {
          uint16_t dh;
          std::memcpy(&dh, theirs.data() + b * 34, 2);
          ASSERT_EQ(d[b], half_to_float(dh)) << "block " << b;
          ASSERT_EQ(std::memcmp(qs + b * 32, theirs.data() + b * 34 + 2, 32), 0) << "seed " << seed << " block " << b;
        }
      } else {
        for (int64_t b = 0; b < k / 256; ++b) {
          float dk;
          std::memcpy(&dk, theirs_k.data() + b * 292, 4);
          ASSERT_EQ(d[b], dk);
          ASSERT_EQ(std::memcmp(qs + b * 256, theirs_k.data() + b * 292 + 4, 256), 0) << "seed " << seed;
          ASSERT_EQ(std::memcmp(s + l.off_bsums + b * 32, theirs_k.data() + b * 292 + 260, 32), 0);
        }
      }
    }
  }
  dlclose(h);
  dlclose(hb);
}

}  // namespace
}  // namespace edgeai
