// The direct convolution for few input channels (kernels/cpu/conv_direct.*) against the
// reference Conv: through the Conv / FusedConv kernel (conv.cc routes group-1 convs there
// where conv_direct_takes says so: C_in <= 4, or small planes) on every ISA table and 1-3 threads, and the
// driver called on each table directly, so that each ISA's kernel is checked on every shape.
#include "kernels/cpu/conv_direct.h"
#include "kernels/cpu_test_util.h"

namespace edgeai::testing {
namespace {

struct DirectSpec {
  int64_t n, c, h, w, m, kh, kw;
  int64_t sh = 1, sw = 1, ph = 0, pw = 0, ph_end = -1, pw_end = -1, dh = 1, dw = 1;
  bool bias = true;

  int64_t pad_h_end() const { return ph_end < 0 ? ph : ph_end; }
  int64_t pad_w_end() const { return pw_end < 0 ? pw : pw_end; }
  int64_t oh() const { return (h + ph + pad_h_end() - dh * (kh - 1) - 1) / sh + 1; }
  int64_t ow() const { return (w + pw + pad_w_end() - dw * (kw - 1) - 1) / sw + 1; }
};

OpCase direct_case(const DirectSpec& s, uint32_t seed, const std::string& act = "") {
  OpCase c = act.empty() ? OpCase::single("Conv") : OpCase::single("FusedConv", "com.edgeai");
  c.input(random_tensor({s.n, s.c, s.h, s.w}, seed));
  c.constant(random_tensor({s.m, s.c, s.kh, s.kw}, seed + 1));
  if (s.bias) c.constant(random_tensor({s.m}, seed + 2));
  c.attr_ints("strides", {s.sh, s.sw});
  c.attr_ints("pads", {s.ph, s.pw, s.pad_h_end(), s.pad_w_end()});
  c.attr_ints("dilations", {s.dh, s.dw});
  if (act == "Relu6") {
    c.attr_s("activation", "Clip");
    c.attr_floats("activation_params", {0.0f, 6.0f});
  } else if (!act.empty()) {
    c.attr_s("activation", act);
  }
  return c;
}

// Digits, LeNet (and pruned), the mobilenet stem, then odd shapes: every channel-block tail
// (M = 1..17: blocks of 8 / 4, 2, 1), row and flattened modes, strides 1-3, dilation,
// asymmetric pads, batches, no bias.
const std::vector<DirectSpec>& specs() {
  static const std::vector<DirectSpec> v = {
      {1, 1, 8, 8, 16, 3, 3, 1, 1, 1, 1},                 // digits conv1 (flattened rows)
      {1, 1, 28, 28, 6, 5, 5, 1, 1, 2, 2},                // LeNet conv1, pad 2
      {1, 1, 28, 28, 4, 5, 5},                            // pruned LeNet conv1, no pad
      {1, 4, 14, 14, 8, 5, 5},                            // pruned LeNet conv2 (C = 4)
      {1, 3, 224, 224, 32, 3, 3, 2, 2, 1, 1},             // mobilenet_v2 / efficientnet_b0 stem
      {2, 3, 17, 19, 7, 3, 3, 1, 1, 1, 1},                // batch 2, M = 4 + 2 + 1
      {1, 2, 31, 45, 13, 3, 3, 2, 1, 1, 0, 0, 2},         // mixed strides, asymmetric pads
      {1, 4, 23, 70, 5, 3, 3, 1, 1, 2, 2, -1, -1, 2, 2},  // dilation 2, wide rows
      {1, 1, 9, 100, 3, 1, 7, 1, 3, 0, 3},                // 1x7, column stride 3
      {1, 3, 5, 5, 9, 5, 5},                              // 1x1 output, M = 8 + 1
      {1, 2, 40, 133, 17, 3, 3, 1, 1, 1, 1},              // wide rows with tails, split over threads
      {3, 1, 6, 7, 2, 2, 2, 2, 2},                        // even kernel, batch 3
      {1, 4, 12, 12, 1, 3, 3, 3, 3, 1, 1, -1, -1, 1, 1, false},  // stride 3, M = 1, no bias
      {1, 2, 1, 37, 11, 1, 5, 1, 1, 0, 2},                // one row
      {1, 1, 3, 3, 5, 3, 3, 1, 1, 2, 2},                  // pads wider than the plane
      // Small planes with more input channels.
      {1, 16, 8, 8, 32, 3, 3, 1, 1, 1, 1},                // digits conv2
      {1, 32, 4, 4, 32, 3, 3, 1, 1, 1, 1},                // digits conv3
      {1, 6, 14, 14, 16, 5, 5},                           // LeNet conv2
      {2, 7, 9, 11, 13, 3, 3, 2, 1, 1, 1},                // odd everything, batch 2
  };
  return v;
}

std::string name(const DirectSpec& s) {
  return "c=" + std::to_string(s.c) + " " + std::to_string(s.h) + "x" + std::to_string(s.w) + " m=" +
         std::to_string(s.m) + " k=" + std::to_string(s.kh) + "x" + std::to_string(s.kw) + " s=" +
         std::to_string(s.sh) + "," + std::to_string(s.sw);
}

TEST(CpuConvDirect, MatchesReference) {
  uint32_t seed = 300;
  for (const auto& s : specs()) {
    SCOPED_TRACE(name(s));
    expect_matches_reference(direct_case(s, seed += 3), 1e-5, 1e-5);
  }
}

// Conv + activation (FusedConv) against Conv then the activation's reference op(s).
TEST(CpuConvDirect, FusedActivationsMatchReference) {
  const DirectSpec stem{1, 3, 41, 39, 32, 3, 3, 2, 2, 1, 1};
  const DirectSpec digits{1, 1, 8, 8, 16, 3, 3, 1, 1, 1, 1};
  for (const DirectSpec& s : {stem, digits}) {
    for (const std::string act : {"Relu", "Relu6", "SiLU"}) {
      SCOPED_TRACE(name(s) + " " + act);
      OpCase ref = direct_case(s, 51);
      ref.opset = 20;
      ref.node().outputs = {"conv"};
      auto add = [&](const char* op, std::vector<std::string> in, const char* out) {
        ir::Node n;
        n.name = std::string(op) + "_" + out;
        n.op_type = op;
        n.inputs = std::move(in);
        n.outputs = {out};
        ref.nodes.push_back(n);
      };
      if (act == "Relu") {
        add("Relu", {"conv"}, "out");
      } else if (act == "Relu6") {
        ref.constants.push_back({"lo", Tensor::from_vector<float>(DType::kF32, {}, {0.0f})});
        ref.constants.push_back({"hi", Tensor::from_vector<float>(DType::kF32, {}, {6.0f})});
        add("Clip", {"conv", "lo", "hi"}, "out");
      } else {
        add("Sigmoid", {"conv"}, "sig");
        add("Mul", {"conv", "sig"}, "out");
      }
      expect_matches_reference(direct_case(s, 51, act), 1e-5, 1e-5, &ref);
    }
  }
}

// 1-D Conv (rank-3 input) takes the same kernel with one row.
TEST(CpuConvDirect, OneDimensionalMatchesReference) {
  OpCase c = OpCase::single("Conv");
  c.input(random_tensor({2, 3, 53}, 71));
  c.constant(random_tensor({10, 3, 5}, 72));
  c.constant(random_tensor({10}, 73));
  c.attr_ints("strides", {2});
  c.attr_ints("pads", {2, 1});
  expect_matches_reference(c, 1e-5, 1e-5);
}

// The driver on each ISA's table, 1-3 threads, against the reference Conv.
TEST(CpuConvDirect, EachIsaKernelMatchesReference) {
  using namespace kernels::cpu;
  uint32_t seed = 500;
  for (const auto& s : specs()) {
    SCOPED_TRACE(name(s));
    const OpCase c = direct_case(s, seed += 3);
    const auto want = run_case(c.graph(), c, detect_cpu_features(), 1, true);
    ASSERT_EQ(want.size(), 1u);
    const Tensor& x = c.feeds[0].second;
    const Tensor& w = c.constants[0].second;
    const float* bias = s.bias ? c.constants[1].second.data<float>() : nullptr;
    const ConvGeom g{s.c, s.h, s.w, s.oh(), s.ow(), s.kh, s.kw, s.sh, s.sw, s.dh, s.dw, s.ph, s.pw};
    for (const CpuFeatures& cpu : isa_variants()) {
      const UKernels& uk = ukernels_for(cpu);
      const ConvDirect d = prepare_conv_direct(uk, w.data<float>(), s.m, s.c, s.kh, s.kw);
      ASSERT_TRUE(d.ready());
      for (int threads = 1; threads <= 3; ++threads) {
        ThreadPool pool(threads);
        Tensor y = Tensor::create(DType::kF32, want[0].shape()).value();
        ASSERT_TRUE(conv_direct(d, uk, pool, g, x.data<float>(), s.n, bias, Activation{}, y.data<float>()).ok());
        EXPECT_TRUE(close(y, want[0], 1e-5, 1e-5)) << uk.name << ", " << threads << " threads";
      }
    }
  }
}

// More input channels: taken only with few weights and a kernel larger than 1x1.
TEST(CpuConvDirect, DeclinesManyWeightsAndPointwise) {
  const auto& uk = kernels::cpu::ukernels_portable();
  std::vector<float> w(64 * 64 * 9, 0.5f);
  EXPECT_TRUE(kernels::cpu::prepare_conv_direct(uk, w.data(), 64, 4, 1, 1).ready());
  EXPECT_TRUE(kernels::cpu::prepare_conv_direct(uk, w.data(), 32, 32, 3, 3).ready());
  EXPECT_FALSE(kernels::cpu::prepare_conv_direct(uk, w.data(), 64, 64, 3, 3).ready());
  EXPECT_FALSE(kernels::cpu::prepare_conv_direct(uk, w.data(), 8, 8, 1, 1).ready());
}

}  // namespace
}  // namespace edgeai::testing
