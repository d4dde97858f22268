// The int8 QLinearConv kernel (kernels/cpu/qconv.cc, qgemm_*.cc) against the reference
// QLinearConv (the oracle, src/kernels/reference/quant.cc): bit-exact on every ISA table this
// machine runs (AVX-512 VNNI, portable) and 1-3 threads, over odd shapes, tails, strides, pads,
// dilations, groups and depthwise; hostile parameters are declined (the reference runs them).
#include "kernels/cpu_test_util.h"

namespace edgeai::testing {
namespace {

struct QSpec {
  int64_t n, c, h, w, m, kh, kw;
  int64_t sh = 1, sw = 1, ph = 0, pw = 0, dh = 1, dw = 1, group = 1;
  bool bias = true, per_channel = true, i8_out = false;
  float y_scale = 0.f;  // 0: one that leaves most values unsaturated
};

template <typename T>
constexpr DType dtype_of() {
  if constexpr (std::is_same_v<T, uint8_t>) return DType::kU8;
  else if constexpr (std::is_same_v<T, int8_t>) return DType::kI8;
  else return DType::kI32;
}

template <typename T>
Tensor random_ints(Shape shape, uint32_t seed, int lo, int hi) {
  Tensor t = Tensor::create(dtype_of<T>(), std::move(shape)).value();
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int> d(lo, hi);
  for (int64_t i = 0; i < t.numel(); ++i) t.data<T>()[i] = static_cast<T>(d(rng));
  return t;
}

Tensor scalar_f32(float v) {
  Tensor t = Tensor::create(DType::kF32, {}).value();
  t.data<float>()[0] = v;
  return t;
}

template <typename T>
Tensor scalar_of(int v) {
  Tensor t = Tensor::create(dtype_of<T>(), {}).value();
  t.data<T>()[0] = static_cast<T>(v);
  return t;
}

OpCase qconv_case(const QSpec& s, uint32_t seed) {
  OpCase c = OpCase::single("QLinearConv");
  const int64_t cpg = s.c / s.group;
  c.input(random_ints<uint8_t>({s.n, s.c, s.h, s.w}, seed, 0, 255));
  c.constant(scalar_f32(0.02f));
  c.constant(scalar_of<uint8_t>(static_cast<int>(seed % 200)));
  c.constant(random_ints<int8_t>({s.m, cpg, s.kh, s.kw}, seed + 1, -127, 127));
  if (s.per_channel) {
    Tensor ws = random_tensor({s.m}, seed + 2, 0.001f, 0.01f);
    c.constant(ws);
    c.constant(Tensor::create(DType::kI8, {s.m}).value());
  } else {
    c.constant(scalar_f32(0.004f));
    c.constant(scalar_of<int8_t>(0));
  }
  // y_scale small enough that many values saturate, large enough that many do not.
  c.constant(scalar_f32(s.y_scale > 0.f ? s.y_scale
                                         : 0.05f * static_cast<float>(std::sqrt(static_cast<double>(cpg * s.kh * s.kw)))));
  if (s.i8_out) c.constant(scalar_of<int8_t>(-3));
  else c.constant(scalar_of<uint8_t>(117));
  if (s.bias) c.constant(random_ints<int32_t>({s.m}, seed + 3, -20000, 20000));
  c.attr_ints("strides", {s.sh, s.sw});
  c.attr_ints("pads", {s.ph, s.pw, s.ph, s.pw});
  c.attr_ints("dilations", {s.dh, s.dw});
  c.attr_i("group", s.group);
  return c;
}

TEST(Int8QConv, MatchesReferenceBitExact) {
  const std::vector<QSpec> specs = {
      {1, 64, 14, 14, 64, 1, 1},                          // pointwise, read in place
      {1, 24, 9, 11, 17, 1, 1},                           // odd M, N; K not a multiple of 4? (24 is)
      {1, 21, 7, 7, 19, 1, 1},                            // K = 21 (quad tail), N = 49
      {2, 3, 17, 19, 7, 1, 1},                            // batch 2, K = 3
      {1, 1280, 1, 1, 50, 1, 1},                          // a classifier Gemm (fuse_qdq): one column
      {3, 300, 1, 1, 21, 1, 1},                           // the same, batch 3
      {1, 16, 15, 15, 33, 1, 1, 2, 2},                    // 1x1 stride 2 (im2col)
      {1, 16, 15, 13, 24, 3, 3, 1, 1, 1, 1},              // 3x3 pad 1
      {1, 8, 16, 16, 65, 3, 3, 2, 2, 1, 1},               // 3x3 stride 2
      {1, 3, 33, 29, 16, 7, 7, 2, 2, 3, 3},               // 7x7 stride 2 (stem)
      {1, 6, 13, 13, 8, 3, 3, 1, 1, 2, 2, 2, 2},          // dilation 2
      {1, 8, 11, 9, 12, 3, 3, 1, 1, 1, 1, 1, 1, 2},       // grouped (2)
      {2, 12, 10, 10, 12, 3, 3, 1, 1, 1, 1, 1, 1, 4, false},  // grouped (4), no bias
      {1, 300, 5, 5, 20, 3, 3, 1, 1, 1, 1},               // K = 2700
      {1, 40, 20, 30, 24, 1, 1, 1, 1, 0, 0, 1, 1, 1, true, false},       // per-tensor weights
      {1, 16, 9, 9, 8, 3, 3, 1, 1, 1, 1, 1, 1, 1, true, true, true},     // int8 output
      {1, 32, 20, 20, 32, 3, 3, 1, 1, 1, 1, 1, 1, 32},    // depthwise
      {1, 16, 15, 17, 16, 3, 3, 2, 2, 1, 1, 1, 1, 16},    // depthwise stride 2
      {2, 5, 9, 20, 5, 5, 5, 1, 1, 2, 2, 1, 1, 5, false}, // depthwise 5x5, no bias
      {1, 7, 14, 14, 7, 3, 3, 1, 1, 2, 2, 2, 2, 7, true, false, true},  // depthwise dilated, i8 out
      {1, 9, 8, 8, 10, 3, 3, 1, 1, 1, 1, 1, 1, 1, true, true, false, 1e-7f},  // multipliers >> 1: saturation
      {1, 9, 8, 8, 9, 3, 3, 1, 1, 1, 1, 1, 1, 9, true, true, false, 1e-7f},   // the same, depthwise
      // Depthwise rows wider than one vector (column tails, the masked row loads at both edges),
      // row strides unlike column strides, windows of 2 and 3 loads, pads past the plane.
      {1, 6, 21, 70, 6, 3, 3, 1, 1, 1, 1, 1, 1, 6},       // 70 columns: 4 vectors + 6
      {1, 5, 19, 57, 5, 3, 3, 2, 2, 1, 1, 1, 1, 5},       // stride 2, 29 columns out
      {1, 4, 23, 37, 4, 5, 5, 2, 2, 2, 2, 1, 1, 4},       // 5x5 stride 2
      {1, 4, 9, 21, 4, 3, 3, 1, 2, 1, 1, 1, 1, 4},        // stride 1 x 2
      {1, 4, 21, 9, 4, 3, 3, 2, 1, 0, 0, 1, 1, 4},        // stride 2 x 1, no pads
      {1, 3, 16, 17, 3, 7, 7, 3, 3, 3, 3, 1, 1, 3},       // stride 3 (other kernel path)
      {1, 3, 6, 5, 3, 9, 9, 1, 1, 4, 4, 1, 1, 3},         // 9x9: three loads per kernel row
      {1, 3, 4, 4, 3, 3, 3, 1, 1, 3, 3, 1, 1, 3},         // pads past the kernel: rows of padding only
      {1, 2, 7, 7, 2, 3, 3, 1, 1, 1, 1, 1, 1, 2, true, true, false, 3e-5f},  // mostly saturated
  };
  uint32_t seed = 5;
  for (const auto& s : specs) {
    SCOPED_TRACE("qconv c=" + std::to_string(s.c) + " m=" + std::to_string(s.m) + " k=" + std::to_string(s.kh) +
                 " s=" + std::to_string(s.sh) + " g=" + std::to_string(s.group));
    expect_matches_reference(qconv_case(s, seed += 7), 0.0, 0.0);
  }
}

// Planes large enough for the threaded GEMM paths (qconv.cc): column chunks packed per task (N
// not a multiple of 16 and chunk edges inside output rows), the weight rows split over the threads
// (columns packed by each thread, or packed once per chunk: one and two chunks), B packed straight from the input (3x3, 7x7,
// dilated, stride 2) or through im2col rows of the chunk (stride 3; every conv on the portable
// table), batch and groups.
TEST(Int8QConv, LargePlanesThreadSplitsBitExact) {
  const std::vector<QSpec> specs = {
      {1, 64, 40, 37, 16, 3, 3, 1, 1, 1, 1},               // 1480 columns: two chunks, direct pack
      {1, 64, 60, 75, 16, 3, 3, 2, 2, 1, 1},               // stride 2: blocks across output rows
      {1, 64, 40, 41, 16, 3, 3, 3, 3, 1, 1},               // stride 3: im2col rows per chunk
      {1, 3, 64, 66, 16, 7, 7, 2, 2, 3, 3},                // the stem: 7x7 stride 2, 32 columns a row
      {1, 64, 40, 2, 16, 3, 3, 2, 2, 1, 1},                // stride 2, one output column: a run per lane
      {1, 32, 30, 40, 16, 3, 3, 1, 1, 0, 0},               // stride 1 without pads: 38 of 40 columns
      {1, 128, 25, 25, 24, 3, 3, 1, 1, 1, 1},              // 625 columns, K = 1152: rows split, two chunks
      {1, 64, 7, 7, 40, 3, 3, 1, 1, 1, 1},                 // 49 columns: rows split, each thread packs
      {1, 128, 14, 14, 32, 3, 3, 1, 1, 1, 1},              // 196 columns, 240 KB packed: rows split, one chunk
      {1, 5, 20, 23, 9, 7, 7, 1, 1, 3, 3},                 // 7x7 stride 1: 49 taps packed directly
      {1, 24, 30, 31, 16, 3, 3, 1, 1, 2, 2, 2, 2},         // dilation 2, direct
      {2, 32, 20, 20, 32, 3, 3, 1, 1, 1, 1, 1, 1, 2},      // batch 2, 2 groups
      {1, 48, 33, 35, 20, 1, 1},                           // pointwise, 1155 columns
      // 1-4 columns past the last whole block (weight rows as lanes), multipliers >> 1, int8 out.
      {1, 40, 7, 7, 27, 3, 3, 1, 1, 1, 1, 1, 1, 1, true, true, false, 1e-9f},  // 49 columns, past int32
      {1, 40, 14, 14, 21, 3, 3, 1, 1, 1, 1, 1, 1, 1, true, true, true},        // 196 columns
      {1, 64, 5, 7, 11, 1, 1},                                                 // 35 columns
      {1, 24, 3, 6, 10, 1, 1},                                                 // 18: 2, K = 24 (6 quads)
      {1, 44, 7, 7, 9, 1, 1},                                                  // 49: 1, 11 quads
      // The tail's quads copied together for all panels, or read in place: one panel (M = 8), or
      // more quads than the copy holds (3 columns x 1368 quads).
      {1, 40, 7, 7, 8, 3, 3, 1, 1, 1, 1},
      {1, 608, 1, 19, 9, 3, 3, 1, 1, 1, 1},
      // Depthwise rows of at most 8 outputs: two output rows per vector.
      {1, 320, 7, 7, 320, 3, 3, 1, 1, 1, 1, 1, 1, 320},    // 7x7, threaded
      {1, 96, 14, 13, 96, 3, 3, 2, 2, 1, 1, 1, 1, 96},     // stride 2 to 7x7
      {1, 8, 9, 1, 8, 3, 3, 1, 1, 1, 1, 1, 1, 8},          // one column
      {1, 8, 1, 6, 8, 3, 3, 1, 1, 1, 1, 1, 1, 8},          // one row: the pair's second row unused
      {1, 12, 8, 8, 12, 3, 3, 1, 1, 1, 1, 1, 1, 12},       // 8x8: four pairs in one pass, all rows used
      {1, 12, 10, 5, 12, 5, 5, 1, 1, 1, 1, 1, 1, 12},      // 5x5 kernel, 8 rows out: four pairs in one pass
      {1, 6, 11, 7, 6, 3, 3, 1, 1, 1, 1, 1, 1, 6},         // 11 rows: six pairs (two passes of 2, two of 1)
  };
  uint32_t seed = 300;
  for (const auto& s : specs) {
    SCOPED_TRACE("qconv c=" + std::to_string(s.c) + " h=" + std::to_string(s.h) + " w=" + std::to_string(s.w) +
                 " m=" + std::to_string(s.m) + " k=" + std::to_string(s.kh) + " s=" + std::to_string(s.sh));
    expect_matches_reference(qconv_case(s, seed += 11), 0.0, 0.0);
  }
}

// Pads that differ per side (begin / end, rows / columns) on the depthwise and GEMM paths.
TEST(Int8QConv, AsymmetricPadsBitExact) {
  const std::vector<std::vector<int64_t>> pads = {{0, 1, 1, 0}, {1, 0, 0, 1}, {2, 0, 0, 2}, {0, 2, 1, 1}};
  uint32_t seed = 90;
  for (const auto& p : pads) {
    for (int64_t group : {1, 12}) {
      for (int64_t st : {1, 2}) {
        const QSpec s{1, 12, 11, 35, 12, 3, 3, st, st, 0, 0, 1, 1, group};
        OpCase c = qconv_case(s, seed += 3);
        c.attr_ints("pads", p);
        SCOPED_TRACE("pads " + std::to_string(p[0]) + std::to_string(p[1]) + std::to_string(p[2]) + std::to_string(p[3]) +
                     " g=" + std::to_string(group) + " s=" + std::to_string(st));
        expect_matches_reference(c, 0.0, 0.0);
      }
    }
  }
}

// Parameters the fast kernel does not take are left to the reference kernel, which runs them or
// reports them; nothing crashes.
TEST(Int8QConv, HostileParametersDeclined) {
  const QSpec s{1, 8, 6, 6, 8, 3, 3, 1, 1, 1, 1};
  {
    OpCase c = qconv_case(s, 1);
    c.constants[4].second.data<int8_t>()[0] = 1;  // non-zero weight zero point
    expect_declined_and_run_by_reference(c);
  }
  for (float bad : {0.0f, -1.0f, std::nanf(""), INFINITY}) {
    OpCase c = qconv_case(s, 2);
    c.constants[0].second.data<float>()[0] = bad;  // x_scale
    EXPECT_FALSE(fast_kernel_takes(c)) << bad;
  }
  {
    OpCase c = qconv_case(s, 3);
    c.constants[4].second = Tensor::create(DType::kU8, {8}).value();  // w zero point of the wrong dtype
    EXPECT_FALSE(fast_kernel_takes(c));
    EXPECT_FALSE(fast_session_runs(c));  // the reference names the mismatched zero point
  }
  {
    OpCase c = qconv_case(s, 4);
    c.feeds[0].second = random_tensor({1, 8, 6, 6}, 3);  // f32 input at run time: reference rejects it
    EXPECT_FALSE(fast_session_runs(c));
  }
}

}  // namespace
}  // namespace edgeai::testing
