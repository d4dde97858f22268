// The int8 QLinearMatMul kernel with a constant weight (kernels/cpu/qmatmul.cc, the integer GEMM on
// activation rows) and the classifier Gemm that fuse_qdq makes a 1x1 QLinearConv of rows, against
// the reference kernels (the oracle, src/kernels/reference/quant.cc): bit-exact on every ISA table
// this machine runs (AVX-512 VNNI, AVX2, portable) and 1-3 threads, over odd rows / K / N, quad
// tails, rank 1-4 activations, u8 and s8 activations and outputs, per-tensor and per-column weight
// scales. Nodes the kernel does not take (weight zero points, per-row scales, activation x
// activation products) run the reference; a mismatched K is reported, not crashed on.
#include "kernels/cpu/qmatmul.h"
#include "kernels/cpu_test_util.h"

namespace edgeai::testing {
namespace {

struct MSpec {
  Shape x;  // [..., K]
  int64_t n;
  bool per_column = true, s8_x = false, s8_y = false;
  float y_scale = 0.f;  // 0: one that leaves most values unsaturated
};

Tensor scalar_f32(float v) {
  Tensor t = Tensor::create(DType::kF32, {}).value();
  t.data<float>()[0] = v;
  return t;
}

Tensor scalar_q8(DType t, int v) {
  Tensor s = Tensor::create(t, {}).value();
  s.data<uint8_t>()[0] = static_cast<uint8_t>(v);
  return s;
}

Tensor weights(int64_t k, int64_t n, uint32_t seed) {
  Tensor w = Tensor::create(DType::kI8, {k, n}).value();
  std::mt19937 rng(seed);
  for (int64_t i = 0; i < w.numel(); ++i) w.data<int8_t>()[i] = static_cast<int8_t>(int(rng() % 255) - 127);
  return w;
}

OpCase qmatmul_case(const MSpec& s, uint32_t seed) {
  OpCase c = OpCase::single("QLinearMatMul");
  const int64_t k = s.x.back();
  const DType xt = s.s8_x ? DType::kI8 : DType::kU8;
  c.input(random_bytes(xt, s.x, seed));
  c.constant(scalar_f32(0.02f));
  c.constant(scalar_q8(xt, s.s8_x ? -(static_cast<int>(seed % 100)) : static_cast<int>(seed % 200)));
  c.constant(weights(k, s.n, seed + 1));
  if (s.per_column) {
    c.constant(random_tensor({s.n}, seed + 2, 0.001f, 0.01f));
    c.constant(Tensor::create(DType::kI8, {s.n}).value());
  } else {
    c.constant(scalar_f32(0.004f));
    c.constant(scalar_q8(DType::kI8, 0));
  }
  c.constant(scalar_f32(s.y_scale > 0.f ? s.y_scale : 0.05f * static_cast<float>(std::sqrt(static_cast<double>(k)))));
  c.constant(s.s8_y ? scalar_q8(DType::kI8, -3) : scalar_q8(DType::kU8, 117));
  c.opset = 13;
  return c;
}

std::string shape_name(const MSpec& s) { return "x " + shape_str(s.x) + " n=" + std::to_string(s.n); }

TEST(Int8QMatMul, MatchesReferenceBitExact) {
  const std::vector<MSpec> specs = {
      {{4, 16}, 8},                        // one block of rows, one panel
      {{1, 7}, 3},                         // one row, K = 7 (quad tail), N below a panel
      {{17, 21}, 19},                      // odd everything: 1 row past a block, 3 past a panel
      {{33, 64}, 40},                      // 33 rows: a 48-column unit and a tail
      {{3, 5, 30}, 13},                    // rank 3: 15 rows
      {{2, 3, 4, 10}, 9},                  // rank 4: 24 rows
      {{10}, 6},                           // rank 1: a vector, output [N]
      {{50, 101}, 17, false},              // per-tensor weight scale, K = 101
      {{20, 24}, 12, true, true},          // s8 activations
      {{20, 24}, 12, true, false, true},   // s8 output
      {{9, 36}, 10, true, true, true},     // s8 in and out
      {{12, 40}, 11, true, false, false, 1e-7f},  // multipliers >> 1: saturation
      {{7, 2700}, 5},                      // long K
      {{0, 8}, 4},                         // no rows
  };
  uint32_t seed = 7;
  for (const auto& s : specs) {
    SCOPED_TRACE(shape_name(s));
    expect_matches_reference(qmatmul_case(s, seed += 13), 0.0, 0.0);
  }
}

// Products large enough for the threads (qmatmul.cc qgemm_rows): rows split into chunks of
// 48-column units or of 16, the weight rows split where rows are few, chunks past ~256 KB packed.
TEST(Int8QMatMul, ThreadSplitsBitExact) {
  const std::vector<MSpec> specs = {
      {{1, 128, 256}, 256},        // the transformer's projections: 128 rows
      {{128, 256}, 768, false},    // in_proj: N = 768, per tensor
      {{1, 128, 1024}, 256},       // a long K (the feed-forward's second product)
      {{5, 1024}, 515},            // 5 rows: the weight rows split over the threads
      {{300, 211}, 37, true, true},  // 300 rows, odd K and N, s8 activations
      {{1, 2000}, 1100},           // one row (a decoder step), many features
      {{520, 600}, 24},            // 33 blocks of rows, 2 chunks past 256 KB
  };
  uint32_t seed = 400;
  for (const auto& s : specs) {
    SCOPED_TRACE(shape_name(s));
    expect_matches_reference(qmatmul_case(s, seed += 17), 0.0, 0.0);
  }
}

// com.edgeai QLinearMatMul (fuse_qdq's MatMul -> Add(bias) -> Q): the int32 bias added to each
// column's sum before the requantization, bit-exact with the reference on every table.
TEST(Int8QMatMul, WithBiasMatchesReferenceBitExact) {
  uint32_t seed = 700;
  for (const MSpec& s : {MSpec{{17, 21}, 19}, MSpec{{3, 5, 30}, 13, false}, MSpec{{1, 128, 256}, 256},
                         MSpec{{20, 24}, 12, true, true, true}}) {
    SCOPED_TRACE(shape_name(s));
    OpCase c = qmatmul_case(s, seed += 9);
    c.node().domain = "com.edgeai";
    Tensor bias = Tensor::create(DType::kI32, {s.n}).value();
    std::mt19937 rng(seed);
    for (int64_t i = 0; i < s.n; ++i) bias.data<int32_t>()[i] = static_cast<int32_t>(rng() % 40001) - 20000;
    c.constant(bias);
    expect_matches_reference(c, 0.0, 0.0);
  }
}

// MatMulInteger with a constant s8 B (the dynamic mode's: DynamicQuantizeLinear -> MatMulInteger):
// the int32 sums, A's zero point a constant, fed at run time or absent, u8 or s8 A, B's zero point
// absent or zeros; the reference's int32 bit for bit on every table, 1-3 threads.
TEST(Int8QMatMul, MatMulIntegerMatchesReferenceBitExact) {
  struct I {
    Shape x;
    int64_t n;
    int zp = 0;  // 0: a constant zero point, 1: fed at run time, 2: none
    bool s8 = false, b_zp = false;
  };
  const std::vector<I> specs = {
      {{4, 16}, 8},           {{17, 21}, 19, 1},     {{1, 7}, 3, 2},       {{3, 5, 30}, 13, 1, false, true},
      {{20, 24}, 12, 0, true}, {{9, 36}, 10, 1, true}, {{10}, 6},          {{0, 8}, 4, 1},
      {{1, 128, 256}, 768, 1}, {{5, 1024}, 515, 1},  {{300, 211}, 37, 0, true}, {{1, 2000}, 1100, 2},
      {{7, 2700}, 5, 1, false, true},
  };
  uint32_t seed = 1200;
  for (const I& s : specs) {
    SCOPED_TRACE("MatMulInteger x " + shape_str(s.x) + " n=" + std::to_string(s.n) + " zp " + std::to_string(s.zp) +
                 (s.s8 ? " s8" : " u8"));
    const DType xt = s.s8 ? DType::kI8 : DType::kU8;
    OpCase c = OpCase::single("MatMulInteger");
    c.input(random_bytes(xt, s.x, seed += 3));
    c.constant(weights(s.x.back(), s.n, seed + 1));
    const Tensor zp = scalar_q8(xt, s.s8 ? -17 : 131);
    if (s.zp == 0) c.constant(zp);
    else if (s.zp == 1) c.input(zp);
    else if (s.b_zp) c.absent();
    if (s.b_zp) c.constant(Tensor::create(DType::kI8, {s.n}).value());
    expect_matches_reference(c, 0.0, 0.0);
  }
}

// MatMulInteger nodes outside the kernel: B's zero point other than 0, B fed at run time, a
// per-row zero point of A: the reference runs them.
TEST(Int8QMatMul, MatMulIntegerOtherNodesRunByReference) {
  auto base = [](uint32_t seed) {
    OpCase c = OpCase::single("MatMulInteger");
    c.input(random_bytes(DType::kU8, {6, 20}, seed));
    c.constant(weights(20, 9, seed + 1));
    return c;
  };
  {
    OpCase c = base(1);
    c.input(scalar_q8(DType::kU8, 3));
    c.constant(scalar_q8(DType::kI8, 1));
    expect_declined_and_run_by_reference(c);
  }
  {
    OpCase c = base(2);
    Tensor w = c.constants[0].second;
    c.constants.clear();
    c.feeds.push_back({"in1", w});
    expect_declined_and_run_by_reference(c);
  }
  {
    OpCase c = base(3);
    c.input(random_bytes(DType::kU8, {6}, 3));  // per-row zero points: taken at preparation, run by the reference
    EXPECT_TRUE(fast_kernel_takes(c));
    const auto a = run_case(c.graph(), c, detect_cpu_features(), 1, false);
    const auto b = run_case(c.graph(), c, detect_cpu_features(), 1, true);
    ASSERT_EQ(a.size(), 1u);
    EXPECT_TRUE(bitwise_equal(a[0], b[0]));
  }
  {
    OpCase c = base(4);
    c.feeds[0].second = random_bytes(DType::kU8, {6, 21}, 4);  // K 21 against B's 20: reported
    EXPECT_FALSE(fast_session_runs(c));
  }
}

// The classifier Gemm of rows (fuse_qdq: QLinearConv on [N, K, 1, 1]) now runs as one GEMM over
// the images as rows.
TEST(Int8QMatMul, GemmOfRowsAsQLinearConvBitExact) {
  struct G {
    int64_t n, k, m;
  };
  uint32_t seed = 900;
  for (const G& s : {G{1, 1280, 50}, G{3, 300, 21}, G{37, 70, 19}, G{128, 256, 256}, G{200, 33, 1000}}) {
    SCOPED_TRACE("gemm n=" + std::to_string(s.n) + " k=" + std::to_string(s.k) + " m=" + std::to_string(s.m));
    OpCase c = OpCase::single("QLinearConv");
    c.input(random_bytes(DType::kU8, {s.n, s.k, 1, 1}, seed += 5));
    c.constant(scalar_f32(0.02f));
    c.constant(scalar_q8(DType::kU8, 90));
    Tensor w = weights(s.m, s.k, seed + 1);
    c.constant(w.reshaped({s.m, s.k, 1, 1}).value());
    c.constant(random_tensor({s.m}, seed + 2, 0.001f, 0.01f));
    c.constant(Tensor::create(DType::kI8, {s.m}).value());
    c.constant(scalar_f32(0.05f * static_cast<float>(std::sqrt(static_cast<double>(s.k)))));
    c.constant(scalar_q8(DType::kU8, 100));
    Tensor bias = Tensor::create(DType::kI32, {s.m}).value();
    std::mt19937 rng(seed);
    for (int64_t i = 0; i < s.m; ++i) bias.data<int32_t>()[i] = static_cast<int32_t>(rng() % 40001) - 20000;
    c.constant(bias);
    expect_matches_reference(c, 0.0, 0.0);
  }
}

// The row packing and the byte transpose on their own, against plain loops.
TEST(Int8QMatMul, PackRowsAndTransposeMatchLoops) {
  using kernels::cpu::qpack_rows;
  using kernels::cpu::qtranspose_bytes;
  using kernels::cpu::qtranspose_words;
  for (int64_t n : {1, 15, 16, 17, 40}) {
    for (int64_t k : {1, 4, 7, 33}) {
      const int64_t kq = (k + 3) / 4 + 1, ldx = k + 3;  // one quad more than needed: zero too
      const Tensor x = random_bytes(DType::kU8, {n, ldx}, static_cast<uint32_t>(n * 100 + k));
      for (uint8_t flip : {uint8_t(0), uint8_t(0x80)}) {
        std::vector<uint8_t> got(static_cast<size_t>((n + 15) / 16 * kq * 64), 0xcd);
        qpack_rows(x.data<uint8_t>(), ldx, n, k, kq, flip, got.data());
        for (int64_t j = 0; j < (n + 15) / 16 * 16; ++j) {
          for (int64_t d = 0; d < kq * 4; ++d) {
            const uint8_t want = j < n && d < k ? x.data<uint8_t>()[j * ldx + d] ^ flip : 0;
            const uint8_t v = got[(j / 16) * kq * 64 + ((d / 4) * 16 + j % 16) * 4 + d % 4];
            ASSERT_EQ(v, want) << "n=" << n << " k=" << k << " column " << j << " depth " << d;
          }
        }
      }
    }
  }
  for (int64_t rows : {1, 3, 4, 7, 8, 9, 24}) {
    for (int64_t cols : {1, 4, 8, 13, 48}) {
      const Tensor src = random_bytes(DType::kU8, {rows, cols + 2}, static_cast<uint32_t>(rows * 7 + cols));
      const int64_t ldd = rows + 5;
      std::vector<uint8_t> dst(static_cast<size_t>(cols * ldd), 0xcd);
      qtranspose_bytes(src.data<uint8_t>(), cols + 2, rows, cols, dst.data(), ldd);
      for (int64_t c = 0; c < cols; ++c) {
        for (int64_t r = 0; r < ldd; ++r) {
          const uint8_t want = r < rows ? src.data<uint8_t>()[r * (cols + 2) + c] : 0xcd;
          ASSERT_EQ(dst[c * ldd + r], want) << rows << "x" << cols << " at " << r << "," << c;
        }
      }
      std::vector<int32_t> wsrc(static_cast<size_t>(rows * (cols + 2))), wdst(static_cast<size_t>(cols * ldd), -7);
      for (size_t i = 0; i < wsrc.size(); ++i) wsrc[i] = static_cast<int32_t>(i * 2654435761u);
      qtranspose_words(wsrc.data(), cols + 2, rows, cols, wdst.data(), ldd);
      for (int64_t c = 0; c < cols; ++c) {
        for (int64_t r = 0; r < ldd; ++r) {
          ASSERT_EQ(wdst[c * ldd + r], r < rows ? wsrc[r * (cols + 2) + c] : -7) << rows << "x" << cols << " words";
        }
      }
    }
  }
}

// Nodes outside the kernel go to the reference kernel, which runs them or reports them.
TEST(Int8QMatMul, OtherNodesDeclinedOrReported) {
  const MSpec s{{6, 20}, 9};
  {
    OpCase c = qmatmul_case(s, 1);
    c.constants[4].second.data<int8_t>()[2] = 1;  // a non-zero weight zero point: the reference runs it
    expect_declined_and_run_by_reference(c);
  }
  for (float bad : {0.0f, -1.0f, std::nanf(""), INFINITY}) {
    OpCase c = qmatmul_case(s, 2);
    c.constants[0].second.data<float>()[0] = bad;  // a_scale
    EXPECT_FALSE(fast_kernel_takes(c)) << bad;
  }
  {
    OpCase c = qmatmul_case(s, 3);  // the weight fed at run time (an activation x activation product)
    Tensor w = c.constants[2].second;
    c.constants.erase(c.constants.begin() + 2);
    c.feeds.push_back({"in3", w});
    EXPECT_FALSE(fast_kernel_takes(c));
    EXPECT_TRUE(fast_session_runs(c));
  }
  {
    OpCase c = qmatmul_case(s, 7);  // y_scale fed at run time, not a constant: the reference runs it
    Tensor ys = c.constants[5].second;
    c.constants.erase(c.constants.begin() + 5);
    c.feeds.push_back({"in6", ys});
    expect_declined_and_run_by_reference(c);
  }
  {
    OpCase c = qmatmul_case(s, 4);  // per-row activation scales: the reference's
    c.constants[0].second = random_tensor({6}, 4, 0.01f, 0.02f);
    EXPECT_FALSE(fast_kernel_takes(c));
    EXPECT_TRUE(fast_session_runs(c));
  }
  {
    OpCase c = qmatmul_case(s, 5);
    c.feeds[0].second = random_bytes(DType::kU8, {6, 21}, 5);  // K 21 against the weight's 20
    EXPECT_FALSE(fast_session_runs(c));                                   // reported by the reference
  }
  {
    OpCase c = qmatmul_case(s, 6);
    c.feeds[0].second = random_bytes(DType::kI8, {6, 20}, 6);  // s8 where the zero point is u8
    EXPECT_FALSE(fast_session_runs(c));
  }
}

}  // namespace
}  // namespace edgeai::testing
