// Optimized com.edgeai FusedPwDwConv (kernels/cpu/conv.cc: a 1x1 conv computed in the depthwise
// kernel's channel blocks, or by a GEMM into a buffer where the depthwise conv does not run in
// blocks) against the two nodes it replaces, a pointwise FusedConv then a depthwise FusedConv,
// through the reference kernels; on every ISA table and 1-3 threads.
#include "kernels/cpu_test_util.h"

namespace edgeai::testing {
namespace {

struct PwDwSpec {
  int64_t n, cin, c, h, w, k;
  int64_t s = 1, pad = 1, dil = 1;
  std::string pw_act = "Clip", dw_act = "Clip";
  bool pw_bias = true, dw_bias = true;
};

std::vector<float> act_params(const std::string& act) {
  if (act == "Clip") return {0.0f, 6.0f};
  if (act == "LeakyRelu") return {0.1f};
  return {};
}

void set_act(ir::Node& n, const std::string& key, const std::string& act) {
  set_attr_s(n, key, act);
  const std::vector<float> p = act_params(act);
  if (!p.empty()) set_attr_floats(n, key + "_params", p);
}

// The fused node and the reference pair (the same inputs, named alike).
std::pair<OpCase, OpCase> pwdw_cases(const PwDwSpec& s, uint32_t seed) {
  OpCase fused = OpCase::single("FusedPwDwConv", "com.edgeai");
  fused.input(random_tensor({s.n, s.cin, s.h, s.w}, seed));
  fused.constant(random_tensor({s.c, s.cin, 1, 1}, seed + 1, -0.5f, 0.5f));
  if (s.pw_bias) fused.constant(random_tensor({s.c}, seed + 2));
  else fused.absent();
  fused.constant(random_tensor({s.c, 1, s.k, s.k}, seed + 3));
  if (s.dw_bias) fused.constant(random_tensor({s.c}, seed + 4));
  else fused.absent();
  fused.attr_ints("strides", {s.s, s.s});
  fused.attr_ints("pads", {s.pad, s.pad, s.pad, s.pad});
  fused.attr_ints("dilations", {s.dil, s.dil});
  fused.attr_i("group", s.c);
  set_act(fused.node(), "activation", s.dw_act);
  set_act(fused.node(), "pw_activation", s.pw_act);

  OpCase ref = fused;
  ir::Node pw, dw = fused.node();
  pw.name = "pw";
  pw.op_type = "FusedConv";
  pw.domain = "com.edgeai";
  pw.inputs = {dw.inputs[0], dw.inputs[1], dw.inputs[2]};
  pw.outputs = {"e"};
  set_act(pw, "activation", s.pw_act);
  dw.op_type = "FusedConv";
  dw.inputs = {"e", dw.inputs[3], dw.inputs[4]};
  dw.attributes.erase("pw_activation");
  dw.attributes.erase("pw_activation_params");
  ref.nodes = {pw, dw};
  return {fused, ref};
}

TEST(CpuPwDwConv, MatchesPointwiseThenDepthwise) {
  const std::vector<PwDwSpec> specs = {
      {1, 24, 144, 56, 56, 3},                  // mobilenet_v2's features.3: whole-plane channel blocks
      {1, 24, 144, 56, 56, 3, 2},               // stride 2 from 56x56
      {1, 32, 40, 28, 28, 3, 1, 1, 1, "Relu"},  // a partial channel block (40 = 2.5 x 16)
      {1, 96, 37, 14, 14, 3},                   // 37 channels, 14x14
      {1, 160, 50, 7, 7, 3},                    // 7x7: 49 positions per block
      {2, 16, 20, 7, 9, 5, 1, 2},               // 5x5, batch 2, odd width
      {1, 40, 24, 14, 14, 5, 2, 2, 1, "SiLU", "SiLU"},  // efficientnet-like, stride 2
      {1, 8, 16, 3, 5, 3, 1, 1, 1, "", ""},     // 15 positions, no activations
      {1, 8, 16, 2, 2, 3, 1, 1, 1, "HardSwish", "Relu", false, false},  // 4 positions, no biases
      {1, 12, 18, 11, 13, 3, 1, 2, 2},          // dilation 2 (generic taps)
      {1, 16, 96, 112, 112, 3, 2},              // mobilenet_v2's features.2: no channel blocks (GEMM first)
      {1, 6, 20, 70, 75, 3},                    // 70x75 planes (bands on AVX-512, the GEMM first elsewhere)
  };
  uint32_t seed = 5;
  for (const PwDwSpec& s : specs) {
    SCOPED_TRACE("cin " + std::to_string(s.cin) + " c " + std::to_string(s.c) + " " + std::to_string(s.h) + "x" +
                 std::to_string(s.w) + " k " + std::to_string(s.k) + " s " + std::to_string(s.s) + " " + s.pw_act +
                 "/" + s.dw_act);
    auto [fused, ref] = pwdw_cases(s, seed += 7);
    expect_matches_reference(fused, 1e-4, 1e-5, &ref);
  }
}

// X that does not fit the prepared weights (channels, rank) at run time: the kernel hands the
// node to the reference, which reports a Status (no read past X).
TEST(CpuPwDwConv, BadXIsAStatus) {
  auto [fused, ref] = pwdw_cases({1, 24, 144, 14, 14, 3}, 3);
  ASSERT_TRUE(fast_kernel_takes(fused));
  for (const Shape& x : {Shape{1, 16, 14, 14}, Shape{1, 32, 14, 14}, Shape{24, 14, 14}, Shape{1, 24, 14, 14, 1}}) {
    SCOPED_TRACE(shape_str(x));
    fused.feeds[0].second = random_tensor(x, 9);
    EXPECT_FALSE(fast_session_runs(fused));
  }
}

}  // namespace
}  // namespace edgeai::testing
