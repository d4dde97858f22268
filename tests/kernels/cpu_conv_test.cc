// Optimized Conv / FusedConv (kernels/cpu/conv.cc) against the reference Conv (+ the reference
// activation ops for the fused epilogue), on every ISA table and 1-3 threads.
#include "kernels/cpu_test_util.h"

namespace edgeai::testing {
namespace {

struct ConvSpec {
  int64_t n, c, h, w, m, kh, kw;
  int64_t sh = 1, sw = 1, ph = 0, pw = 0, ph_end = -1, pw_end = -1, dh = 1, dw = 1, group = 1;
  bool bias = true;
};

OpCase conv_case(const ConvSpec& s, uint32_t seed, const std::string& op = "Conv", const std::string& domain = "") {
  OpCase c = OpCase::single(op, domain);
  c.input(random_tensor({s.n, s.c, s.h, s.w}, seed));
  c.constant(random_tensor({s.m, s.c / s.group, s.kh, s.kw}, seed + 1));
  if (s.bias) c.constant(random_tensor({s.m}, seed + 2));
  c.attr_ints("strides", {s.sh, s.sw});
  c.attr_ints("pads", {s.ph, s.pw, s.ph_end < 0 ? s.ph : s.ph_end, s.pw_end < 0 ? s.pw : s.pw_end});
  c.attr_ints("dilations", {s.dh, s.dw});
  c.attr_i("group", s.group);
  return c;
}

TEST(CpuConv, MatchesReference) {
  const std::vector<ConvSpec> specs = {
      {1, 64, 14, 14, 64, 1, 1},                            // pointwise, B read in place
      {1, 24, 9, 11, 17, 1, 1},                             // pointwise, odd M and N tails
      {2, 3, 17, 19, 7, 1, 1},                              // pointwise, batch 2
      {1, 16, 15, 15, 33, 1, 1, 2, 2},                      // 1x1 stride 2 (im2col)
      {1, 16, 15, 13, 24, 3, 3, 1, 1, 1, 1},                // 3x3 pad 1
      {1, 8, 16, 16, 65, 3, 3, 2, 2, 1, 1},                 // 3x3 stride 2
      {1, 3, 33, 29, 16, 7, 7, 2, 2, 3, 3},                 // 7x7 stride 2 (stem)
      {1, 5, 12, 10, 9, 3, 3, 1, 1, 2, 0, 0, 1},            // asymmetric pads
      {1, 6, 13, 13, 8, 3, 3, 1, 1, 2, 2, -1, -1, 2, 2},    // dilation 2
      {1, 8, 11, 9, 12, 3, 3, 1, 1, 1, 1, -1, -1, 1, 1, 2}, // grouped (2)
      {2, 12, 10, 10, 12, 3, 3, 1, 1, 1, 1, -1, -1, 1, 1, 4, false},  // grouped (4), no bias
      {1, 130, 7, 7, 70, 3, 3, 1, 1, 1, 1},                 // deep K (several K blocks)
      {1, 600, 5, 5, 20, 3, 3, 1, 1, 1, 1},                 // K = 5400 (many K blocks)
      {1, 7, 1, 63, 5, 1, 5, 1, 1, 0, 2},                   // one row, wide
      {1, 400, 7, 7, 70, 1, 1},                             // 7x7 pointwise: n = 49, lone column, K blocks
      {1, 16, 7, 14, 9, 1, 1},                              // n = 98: two tiles + a lone column (avx512)
      // 1x1 planes (squeeze-excitation): each image a row times the weights packed as B.
      {1, 48, 1, 1, 1152, 1, 1},                            // SE expand: M 1152 (24 NR tiles)
      {1, 1152, 1, 1, 48, 1, 1},                            // SE reduce: K 1152 (K blocks)
      {3, 20, 1, 1, 37, 1, 1},                              // batch 3 (3 rows), odd M
      {2, 7, 1, 1, 5, 1, 1, 2, 2, 0, 0, -1, -1, 1, 1, 1, false},  // stride 2, no bias, M < lanes
      {1, 6, 1, 1, 4, 1, 1, 1, 1, 1, 1},                    // pads: a 3x3 output (the GEMM path)
  };
  uint32_t seed = 1;
  for (const auto& s : specs) {
    SCOPED_TRACE("conv c=" + std::to_string(s.c) + " m=" + std::to_string(s.m) + " k=" + std::to_string(s.kh) +
                 " s=" + std::to_string(s.sh) + " g=" + std::to_string(s.group));
    expect_matches_reference(conv_case(s, seed += 3), 1e-5, 1e-5);
  }
}

TEST(CpuConv, DepthwiseMatchesReference) {
  const std::vector<ConvSpec> specs = {
      {1, 32, 112, 112, 32, 3, 3, 1, 1, 1, 1, -1, -1, 1, 1, 32},
      {1, 16, 15, 17, 16, 3, 3, 2, 2, 1, 1, -1, -1, 1, 1, 16},
      {2, 5, 9, 20, 5, 5, 5, 1, 1, 2, 2, -1, -1, 1, 1, 5},
      {1, 7, 14, 14, 7, 5, 5, 2, 2, 2, 2, -1, -1, 1, 1, 7},
      {1, 4, 10, 33, 4, 3, 3, 1, 2, 0, 1, 2, 0, 1, 1, 4},       // mixed strides, asymmetric pads
      {1, 3, 12, 12, 3, 3, 3, 1, 1, 2, 2, -1, -1, 2, 2, 3},     // dilation 2
      {1, 3, 9, 9, 3, 7, 7, 1, 1, 3, 3, -1, -1, 1, 1, 3, false},// 7x7 (generic taps)
      {1, 2, 6, 6, 2, 1, 1, 1, 1, 0, 0, -1, -1, 1, 1, 2},       // 1x1 depthwise: a channel affine
      {2, 40, 28, 29, 40, 1, 1, 1, 1, 0, 0, -1, -1, 1, 1, 40},  // idem, planes over threads
      {1, 3, 9, 7, 3, 1, 1, 2, 2, 0, 0, -1, -1, 1, 1, 3},       // 1x1 depthwise at stride 2
      {1, 3, 5, 5, 3, 1, 1, 1, 1, 1, 1, -1, -1, 1, 1, 3},       // 1x1 depthwise with pads
      {1, 3, 3, 3, 3, 3, 3, 3, 3, 1, 1, -1, -1, 1, 1, 3},       // stride 3, 1x1 output
      {1, 3, 140, 141, 3, 3, 3, 2, 2, 1, 1, -1, -1, 1, 1, 3},   // stride 2, rows of >= 4 vectors
      {1, 2, 70, 75, 2, 5, 5, 1, 1, 2, 2, -1, -1, 1, 1, 2},     // 5x5, rows of >= 4 vectors
      {1, 2, 131, 133, 2, 5, 5, 2, 2, 2, 2, -1, -1, 1, 1, 2},   // 5x5 stride 2, wide rows
      {1, 2, 40, 150, 2, 3, 3, 1, 1, 1, 1, -1, -1, 1, 2, 2},    // dilated columns, wide rows
      // Column stride 2 from the input rows (dw_direct_s2): rows of 2 or 4 vectors, several
      // groups, pads 0-2 and asymmetric, odd widths, row stride 1 with row dilation.
      {1, 3, 61, 23, 3, 3, 3, 2, 2, 1, 1, -1, -1, 1, 1, 3},     // ow 12 (2-vector groups)
      {1, 2, 64, 64, 2, 3, 3, 2, 2, 0, 0, 1, 1, 1, 1, 2},       // pads only at the end
      {1, 2, 40, 50, 2, 3, 3, 2, 2, 2, 2, -1, -1, 1, 1, 2},     // pad 2 (> kernel / 2)
      {1, 2, 30, 90, 2, 3, 3, 1, 2, 2, 1, -1, -1, 2, 1, 2},     // row stride 1, row dilation 2
      {1, 2, 45, 97, 2, 5, 5, 2, 2, 1, 1, 2, 2, 1, 1, 2},       // 5x5, asymmetric pads, ow 48
      {1, 2, 20, 300, 2, 3, 3, 2, 2, 1, 1, -1, -1, 1, 1, 2},    // ow 150: 64 + 64 + 22
      {1, 2, 33, 35, 2, 5, 5, 2, 2, 0, 0, -1, -1, 1, 1, 2},     // 5x5 no pad, odd width
      // Channel blocks (<= 256 outputs) by output rows (channel_rows): a block and a partial
      // one, rows of 14 (the last group of 4 overlaps), rows narrower than a group.
      {1, 20, 14, 14, 20, 3, 3, 1, 1, 1, 1, -1, -1, 1, 1, 20},
      {1, 18, 7, 7, 18, 5, 5, 1, 1, 2, 2, -1, -1, 1, 1, 18},
      {1, 17, 27, 28, 17, 3, 3, 2, 2, 1, 1, -1, -1, 1, 1, 17},
      {1, 3, 3, 3, 3, 3, 3, 1, 1, 1, 1, -1, -1, 1, 1, 3},
      {1, 18, 28, 29, 18, 3, 3, 1, 1, 1, 1, -1, -1, 1, 1, 18},   // larger planes in blocks (avx512)
      {1, 17, 57, 55, 17, 5, 5, 2, 2, 2, 2, -1, -1, 1, 1, 17},
      {1, 17, 101, 90, 17, 3, 3, 1, 1, 1, 1, 0, 1, 1, 1, 17},   // bands of 26 rows (26, 26, 26, 23)
      // Threads take equal shares of half blocks (top or bottom rows): 9 blocks are 4.5 + 4.5
      // at 2 threads, 3 blocks 1.5 + 1.5, bands within a half (48 x 101 x 90).
      {1, 144, 12, 13, 144, 3, 3, 1, 1, 1, 1, -1, -1, 1, 1, 144},
      {1, 40, 20, 22, 40, 3, 3, 2, 2, 1, 1, -1, -1, 1, 1, 40},
      {1, 48, 101, 90, 48, 3, 3, 1, 1, 1, 1, 0, 1, 1, 1, 48},
      {2, 24, 7, 7, 24, 5, 5, 1, 1, 2, 2, -1, -1, 1, 1, 24},      // batch 2: halves across images
      // Whole blocks of whole column vectors only (the transposing loads, no tail): AVX-512
      // (32 columns), AVX2 (16 x 16 outputs).
      {1, 32, 16, 32, 32, 3, 3, 1, 1, 1, 1, -1, -1, 1, 1, 32},
      {1, 16, 16, 16, 16, 3, 3, 1, 1, 1, 1, -1, -1, 1, 1, 16},
      // The columns past a whole block's last whole vector, also read by the transposing loads
      // (on into the plane's next rows) except in the rows where they would leave the plane:
      // 21 = 16 + 5 columns, and the 5 rows of the tensor's only block end its allocation.
      {1, 16, 5, 21, 16, 3, 3, 1, 1, 1, 1, -1, -1, 1, 1, 16},
      {1, 32, 9, 9, 32, 5, 5, 2, 2, 2, 2, -1, -1, 1, 1, 32},
  };
  uint32_t seed = 100;
  for (const auto& s : specs) {
    SCOPED_TRACE("dwconv c=" + std::to_string(s.c) + " k=" + std::to_string(s.kh) + " s=" + std::to_string(s.sh));
    expect_matches_reference(conv_case(s, seed += 3), 1e-5, 1e-6);
  }
}

// 3x3 stride-1 convolutions large enough for Winograd F(2x2, 3x3) (odd sizes, pads, batch).
TEST(CpuConv, WinogradMatchesReference) {
  const std::vector<ConvSpec> specs = {
      {1, 16, 56, 56, 64, 3, 3, 1, 1, 1, 1},
      {2, 8, 33, 47, 17, 3, 3, 1, 1, 1, 1},
      {1, 32, 30, 28, 40, 3, 3, 1, 1, 0, 0},
      {1, 12, 31, 29, 24, 3, 3, 1, 1, 2, 0, 1, 2},
      {1, 300, 20, 20, 9, 3, 3, 1, 1, 1, 1, -1, -1, 1, 1, 1, false},
      // Tile ranges per thread in whole vectors: 64 tiles (13x13: 16 + 16 + 32 at 3 threads),
      // and ranges of several blocks each (420 tiles, blocks of at most 96).
      {1, 48, 13, 13, 40, 3, 3, 1, 1, 1, 1},
      {1, 64, 40, 39, 96, 3, 3, 1, 1, 1, 1},
      // Filters made, but too few tiles for Winograd to pay: the GEMM path, its weights packed
      // on this first run.
      {1, 16, 3, 4, 24, 3, 3, 1, 1, 1, 1},
      {2, 40, 5, 5, 12, 3, 3, 1, 1, 1, 1},
  };
  uint32_t seed = 300;
  for (const auto& s : specs) {
    SCOPED_TRACE("winograd c=" + std::to_string(s.c) + " m=" + std::to_string(s.m) + " h=" + std::to_string(s.h));
    expect_matches_reference(conv_case(s, seed += 3), 1e-5, 2e-5);
  }
  for (const std::string act : {"Relu", "SiLU"}) {
    OpCase fused = conv_case({1, 16, 24, 24, 16, 3, 3, 1, 1, 1, 1}, 7, "FusedConv", "com.edgeai");
    fused.attr_s("activation", act);
    OpCase ref = conv_case({1, 16, 24, 24, 16, 3, 3, 1, 1, 1, 1}, 7);
    ref.node().outputs = {"conv"};
    ir::Node a;
    a.name = "act";
    a.op_type = act == "Relu" ? "Relu" : "Sigmoid";
    a.inputs = {"conv"};
    a.outputs = {act == "Relu" ? "out" : "sig"};
    ref.nodes.push_back(a);
    if (act == "SiLU") {
      ir::Node mul;
      mul.name = "mul";
      mul.op_type = "Mul";
      mul.inputs = {"conv", "sig"};
      mul.outputs = {"out"};
      ref.nodes.push_back(mul);
    }
    expect_matches_reference(fused, 1e-5, 2e-5, &ref);
  }
}

TEST(CpuConv, Conv1d) {
  OpCase c = OpCase::single("Conv");
  c.input(random_tensor({2, 6, 37}, 7)).constant(random_tensor({9, 6, 3}, 8)).constant(random_tensor({9}, 9));
  c.attr_ints("pads", {1, 1}).attr_ints("strides", {2});
  expect_matches_reference(c);
}

TEST(CpuConv, AutoPadSameUpper) {
  OpCase c = OpCase::single("Conv");
  c.input(random_tensor({1, 4, 10, 9}, 11)).constant(random_tensor({6, 4, 3, 3}, 12));
  c.attr_s("auto_pad", "SAME_UPPER").attr_ints("strides", {2, 2});
  expect_matches_reference(c);
}

// FusedConv with each activation against Conv followed by the activation's reference op(s).
TEST(CpuConv, FusedActivationsMatchReference) {
  struct Act {
    std::string name;
    std::vector<float> params;
    std::vector<std::string> ops;  // reference ops after Conv ("SiLU" = Sigmoid then Mul)
  };
  const std::vector<Act> acts = {
      {"", {}, {}},
      {"Relu", {}, {"Relu"}},
      {"Clip", {0.0f, 6.0f}, {"Clip"}},
      {"LeakyRelu", {0.1f}, {"LeakyRelu"}},
      {"HardSwish", {}, {"HardSwish"}},
      {"Sigmoid", {}, {"Sigmoid"}},
      {"SiLU", {}, {"SiLU"}},
      {"GELU", {}, {"Gelu"}},
  };
  for (const ConvSpec& s : {ConvSpec{1, 8, 9, 9, 13, 3, 3, 1, 1, 1, 1},
                            ConvSpec{1, 6, 9, 9, 6, 3, 3, 2, 2, 1, 1, -1, -1, 1, 1, 6},
                            ConvSpec{1, 3, 40, 41, 3, 3, 3, 2, 2, 1, 1, -1, -1, 1, 1, 3},  // stride 2, rows
                            ConvSpec{1, 40, 6, 7, 24, 1, 1},
                            ConvSpec{1, 40, 7, 7, 24, 1, 1},    // n = 49: the lone column's epilogue
                            ConvSpec{2, 40, 1, 1, 70, 1, 1},    // 1x1 planes: rows times B
                            ConvSpec{1, 48, 30, 30, 48, 1, 1, 1, 1, 0, 0, -1, -1, 1, 1, 48}}) {  // channel affine
    for (const Act& a : acts) {
      SCOPED_TRACE("activation " + a.name + " group " + std::to_string(s.group));
      OpCase fused = conv_case(s, 21, "FusedConv", "com.edgeai");
      fused.attr_s("activation", a.name);
      if (!a.params.empty()) fused.attr_floats("activation_params", a.params);
      OpCase ref = conv_case(s, 21);
      ref.opset = 20;
      ref.node().outputs = {"conv"};
      std::string prev = "conv";
      for (const std::string& op : a.ops) {
        ir::Node n;
        n.name = "act";
        n.inputs = {prev};
        n.outputs = {"act_out"};
        if (op == "SiLU") {
          n.op_type = "Sigmoid";
          n.outputs = {"sig"};
          ref.nodes.push_back(n);
          ir::Node mul;
          mul.name = "mul";
          mul.op_type = "Mul";
          mul.inputs = {prev, "sig"};
          mul.outputs = {"act_out"};
          ref.nodes.push_back(mul);
        } else {
          n.op_type = op;
          if (op == "Clip") {
            ref.constants.push_back({"clip_min", Tensor::from_vector<float>(DType::kF32, {}, {a.params[0]})});
            ref.constants.push_back({"clip_max", Tensor::from_vector<float>(DType::kF32, {}, {a.params[1]})});
            n.inputs = {prev, "clip_min", "clip_max"};
          }
          if (op == "LeakyRelu") {
            ir::Attribute at;
            at.name = "alpha";
            at.type = ir::AttrType::kFloat;
            at.f = a.params[0];
            n.attributes["alpha"] = at;
          }
          ref.nodes.push_back(n);
        }
        prev = "act_out";
      }
      ref.nodes.back().outputs.back() = "out";
      if (a.ops.empty()) ref.node().outputs = {"out"};
      expect_matches_reference(fused, 1e-5, 1e-5, &ref);
    }
  }
}

// FusedConv with a residual input Z (Conv -> Add -> activation fused): in the GEMM's epilogue
// (pointwise, im2col, K blocks, lone column, column tail, groups, batch) and after the other
// paths (depthwise, Winograd, few input channels), against Conv, Add and the activation's op.
TEST(CpuConv, FusedResidualMatchesConvAddActivation) {
  const std::vector<ConvSpec> specs = {
      {1, 40, 7, 7, 24, 1, 1},                                // n = 49: the lone column
      {1, 64, 14, 14, 64, 1, 1},                              // pointwise, B in place
      {1, 24, 9, 11, 17, 1, 1},                               // odd M, 3-column tail
      {2, 3, 17, 19, 7, 1, 1},                                // batch 2
      {1, 8, 16, 16, 65, 3, 3, 2, 2, 1, 1},                   // im2col, stride 2
      {1, 600, 5, 5, 20, 3, 3, 1, 1, 1, 1},                   // K blocks: Z at the last
      {1, 8, 11, 9, 12, 3, 3, 1, 1, 1, 1, -1, -1, 1, 1, 2},   // grouped (2)
      {1, 6, 9, 9, 6, 3, 3, 2, 2, 1, 1, -1, -1, 1, 1, 6},     // depthwise
      {1, 20, 14, 14, 20, 3, 3, 1, 1, 1, 1, -1, -1, 1, 1, 20}, // depthwise, channel blocks
      {1, 48, 30, 30, 48, 1, 1, 1, 1, 0, 0, -1, -1, 1, 1, 48}, // 1x1 depthwise (channel affine)
      {1, 16, 24, 24, 16, 3, 3, 1, 1, 1, 1},                  // Winograd
      {1, 3, 12, 12, 8, 3, 3, 1, 1, 1, 1},                    // few input channels (direct)
      {2, 96, 1, 1, 40, 1, 1},                                // 1x1 planes (rows times B), batch 2
  };
  uint32_t seed = 500;
  for (const ConvSpec& s : specs) {
    for (const std::string act : {"", "Relu", "Clip"}) {
      SCOPED_TRACE("residual c=" + std::to_string(s.c) + " m=" + std::to_string(s.m) + " k=" + std::to_string(s.kh) +
                   " g=" + std::to_string(s.group) + " activation " + act);
      seed += 4;
      const int64_t oh = (s.h + 2 * s.ph - s.kh) / s.sh + 1, ow = (s.w + 2 * s.pw - s.kw) / s.sw + 1;
      const Tensor z = random_tensor({s.n, s.m, oh, ow}, seed + 3);
      OpCase fused = conv_case(s, seed, "FusedConv", "com.edgeai");
      fused.input(z);
      if (!act.empty()) fused.attr_s("activation", act);
      if (act == "Clip") fused.attr_floats("activation_params", {-0.5f, 0.75f});
      OpCase ref = conv_case(s, seed);
      ref.opset = 20;
      ref.node().outputs = {"conv"};
      ref.feeds.push_back({"in3", z});
      ir::Node add;
      add.name = "add";
      add.op_type = "Add";
      add.inputs = {"conv", "in3"};
      add.outputs = {act.empty() ? "out" : "sum"};
      ref.nodes.push_back(add);
      if (!act.empty()) {
        ir::Node a;
        a.name = "act";
        a.op_type = act;
        a.inputs = {"sum"};
        a.outputs = {"out"};
        if (act == "Clip") {
          ref.constants.push_back({"lo", Tensor::from_vector<float>(DType::kF32, {}, {-0.5f})});
          ref.constants.push_back({"hi", Tensor::from_vector<float>(DType::kF32, {}, {0.75f})});
          a.inputs = {"sum", "lo", "hi"};
        }
        ref.nodes.push_back(a);
      }
      // Clip's bounds make max |want| small against the conv's own rounding (K = 5400).
      expect_matches_reference(fused, 1e-5, act == "Clip" ? 1e-4 : 1e-5, &ref);
    }
  }
}

// Absurd dilations and pads (planes far larger than the tensors) go to the reference kernel
// instead of allocating gigabytes.
TEST(CpuConv, HugeDilationAndPadsMatchReference) {
  for (const int64_t group : {int64_t(1), int64_t(2)}) {
    OpCase c = OpCase::single("Conv");
    c.input(random_tensor({1, 2, 3, 3}, 5)).constant(random_tensor({2, 2 / group, 3, 3}, 6));
    c.attr_ints("dilations", {100000, 100000}).attr_ints("pads", {100000, 100000, 100000, 100000});
    c.attr_i("group", group);
    expect_matches_reference(c);
  }
}

// A malformed input shape at run time gets the reference kernel's error, not a crash.
TEST(CpuConv, WrongChannelsFallsBackToReferenceError) {
  OpCase c = conv_case({1, 4, 5, 5, 8, 3, 3, 1, 1, 1, 1}, 3);
  c.feeds[0].second = random_tensor({1, 5, 5, 5}, 4);
  Env env;
  env.cpu = detect_cpu_features();
  env.pool = std::make_unique<ThreadPool>(1);
  env.arena = std::make_shared<Arena>();
  runtime::SessionOptions so;
  so.optimize = false;
  auto s = runtime::Session::create(c.graph(), env, so);
  ASSERT_TRUE(s.ok());
  auto out = (*s)->run({{"in0", runtime::Value::of(c.feeds[0].second)}});
  ASSERT_FALSE(out.ok());
  EXPECT_NE(out.status().message().find("n0"), std::string::npos) << out.status().message();
}

}  // namespace
}  // namespace edgeai::testing
