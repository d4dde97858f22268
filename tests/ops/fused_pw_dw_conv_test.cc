// The reference kernel of com.edgeai FusedPwDwConv (src/kernels/reference/fused.cc): its output
// against the ops it stands for, run one after the other through their reference kernels (ONNX
// Conv 1x1, the pointwise activation as its ONNX op, depthwise Conv, the depthwise activation),
// and a clear error for each kind of bad input.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "../kernel_test_util.h"
#include "core/compare.h"

namespace edgeai {
namespace {

using testing::TestContext;

Tensor rand_f32(const Shape& shape, uint32_t seed) {
  Tensor t = Tensor::create(DType::kF32, shape).value();
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> d(-1.5f, 1.5f);
  for (int64_t i = 0; i < t.numel(); ++i) t.data<float>()[i] = d(rng);
  return t;
}

struct DwAttrs {
  std::vector<int64_t> strides{1, 1}, pads{0, 0, 0, 0}, dilations{1, 1};
};

// Conv with the given attributes (none for the pointwise conv) through the reference kernel.
Tensor ref_conv(const Tensor& x, const Tensor& w, const Tensor* b, int64_t group, const DwAttrs* a) {
  TestContext c("Conv");
  c.add_input(x).add_input(w);
  if (b) c.add_input(*b);
  if (a) {
    c.set_int("group", group).set_ints("strides", a->strides).set_ints("pads", a->pads);
    c.set_ints("dilations", a->dilations);
  }
  Status st = c.run(13);
  EXPECT_TRUE(st.ok()) << st.message();
  return c.output(0);
}

Tensor ref_unary(const std::string& op, const Tensor& x, std::vector<Tensor> extra = {}) {
  TestContext c(op);
  c.add_input(x);
  for (auto& t : extra) c.add_input(t);
  Status st = c.run(13);
  EXPECT_TRUE(st.ok()) << st.message();
  return c.output(0);
}

Tensor scalar(float v) { return Tensor::from_vector<float>(DType::kF32, {}, {v}); }

TEST(FusedPwDwConvRef, MatchesConvActivationConvActivation) {
  struct Case {
    int64_t n, cin, c, h, w, k;
    DwAttrs dw;
    bool b1, b2;
  };
  const Case cases[] = {
      {1, 8, 24, 9, 11, 3, {{2, 2}, {1, 1, 1, 1}, {1, 1}}, true, true},
      {2, 5, 7, 6, 5, 3, {{1, 1}, {1, 1, 1, 1}, {1, 1}}, false, true},
      {1, 3, 16, 13, 7, 5, {{2, 1}, {2, 2, 2, 2}, {1, 1}}, true, false},
      {1, 4, 6, 10, 10, 3, {{1, 1}, {2, 0, 1, 2}, {2, 2}}, false, false},
  };
  uint32_t seed = 1;
  for (const Case& k : cases) {
    SCOPED_TRACE("cin " + std::to_string(k.cin) + " c " + std::to_string(k.c) + " k " + std::to_string(k.k));
    Tensor x = rand_f32({k.n, k.cin, k.h, k.w}, seed++);
    Tensor w1 = rand_f32({k.c, k.cin, 1, 1}, seed++);
    Tensor b1 = rand_f32({k.c}, seed++);
    Tensor w2 = rand_f32({k.c, 1, k.k, k.k}, seed++);
    Tensor b2 = rand_f32({k.c}, seed++);

    // Oracle: Conv -> Relu -> depthwise Conv -> Clip(-0.5, 0.75).
    Tensor e = ref_unary("Relu", ref_conv(x, w1, k.b1 ? &b1 : nullptr, 1, nullptr));
    Tensor d = ref_conv(e, w2, k.b2 ? &b2 : nullptr, k.c, &k.dw);
    Tensor want = ref_unary("Clip", d, {scalar(-0.5f), scalar(0.75f)});

    TestContext f("FusedPwDwConv", "com.edgeai");
    f.add_input(x).add_input(w1);
    if (k.b1) f.add_input(b1);
    else f.add_absent_input();
    f.add_input(w2);
    if (k.b2) f.add_input(b2);
    f.set_int("group", k.c).set_ints("strides", k.dw.strides).set_ints("pads", k.dw.pads);
    f.set_ints("dilations", k.dw.dilations).set_ints("kernel_shape", {k.k, k.k});
    f.set_string("pw_activation", "Relu");
    f.set_string("activation", "Clip").set_floats("activation_params", {-0.5f, 0.75f});
    Status st = f.run(13);
    ASSERT_TRUE(st.ok()) << st.message();
    CompareResult r = compare_tensors(f.output(0), want, 0, 0);  // the same arithmetic, bit for bit
    EXPECT_TRUE(r.equal) << r.message;
  }
}

// pw_activation with parameters (Clip) and the SiLU/none combinations read the same encoding.
TEST(FusedPwDwConvRef, PointwiseActivationParams) {
  Tensor x = rand_f32({1, 4, 5, 6}, 11), w1 = rand_f32({8, 4, 1, 1}, 12), w2 = rand_f32({8, 1, 3, 3}, 13);
  Tensor e = ref_unary("Clip", ref_conv(x, w1, nullptr, 1, nullptr), {scalar(0.f), scalar(0.5f)});
  DwAttrs none;
  Tensor d = ref_conv(e, w2, nullptr, 8, &none);
  Tensor want = ref_unary("Mul", d, {ref_unary("Sigmoid", d)});
  TestContext f("FusedPwDwConv", "com.edgeai");
  f.add_input(x).add_input(w1).add_absent_input().add_input(w2).set_int("group", 8);
  f.set_string("pw_activation", "Clip").set_floats("pw_activation_params", {0.f, 0.5f});
  f.set_string("activation", "SiLU");
  Status st = f.run(13);
  ASSERT_TRUE(st.ok()) << st.message();
  CompareResult r = compare_tensors(f.output(0), want, 1e-6, 1e-6);
  EXPECT_TRUE(r.equal) << r.message;
}

// Builds a FusedPwDwConv context from the given tensors (B1, B2 absent) with group = `group`.
Status run_fused(const Tensor& x, const Tensor& w1, const Tensor& w2, int64_t group,
                 const std::string& pw_act = "", std::vector<float> pw_params = {}) {
  TestContext f("FusedPwDwConv", "com.edgeai");
  f.add_input(x).add_input(w1).add_absent_input().add_input(w2).set_int("group", group);
  if (!pw_act.empty()) f.set_string("pw_activation", pw_act);
  if (!pw_params.empty()) f.set_floats("pw_activation_params", pw_params);
  return f.run(13);
}

void expect_error(const Status& st, const std::string& part) {
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find(part), std::string::npos) << st.message();
  EXPECT_NE(st.message().find("FusedPwDwConv"), std::string::npos) << st.message();
}

const Tensor kX = rand_f32({1, 4, 5, 5}, 21);
const Tensor kW1 = rand_f32({8, 4, 1, 1}, 22);
const Tensor kW2 = rand_f32({8, 1, 3, 3}, 23);

TEST(FusedPwDwConvRef, RejectsPointwiseWeightNotOneByOne) {
  expect_error(run_fused(kX, rand_f32({8, 4, 3, 3}, 1), kW2, 8), "W1 must have shape [C, 4, 1, 1]");
}

TEST(FusedPwDwConvRef, RejectsPointwiseWeightOfOtherInputChannels) {
  expect_error(run_fused(kX, rand_f32({8, 3, 1, 1}, 1), kW2, 8), "W1 must have shape");
}

TEST(FusedPwDwConvRef, RejectsDepthwiseWeightNotDepthwise) {
  expect_error(run_fused(kX, kW1, rand_f32({8, 2, 3, 3}, 1), 8), "W2 must have shape [8, 1, kh, kw]");
}

TEST(FusedPwDwConvRef, RejectsChannelMismatch) {
  expect_error(run_fused(kX, kW1, rand_f32({6, 1, 3, 3}, 1), 6), "W2 must have shape [8, 1, kh, kw]");
}

TEST(FusedPwDwConvRef, RejectsGroupOtherThanChannels) {
  expect_error(run_fused(kX, kW1, kW2, 4), "group must be 8");
}

TEST(FusedPwDwConvRef, RejectsWrongRanks) {
  expect_error(run_fused(rand_f32({1, 4, 5}, 1), kW1, kW2, 8), "X must have shape [N, Cin, H, W]");
  expect_error(run_fused(kX, rand_f32({8, 4}, 1), kW2, 8), "W1 must have shape");
  expect_error(run_fused(kX, kW1, rand_f32({8, 1, 3}, 1), 8), "W2 must have shape");
}

TEST(FusedPwDwConvRef, RejectsWrongDtypes) {
  Tensor xi = Tensor::create(DType::kI32, {1, 4, 5, 5}).value();
  expect_error(run_fused(xi, kW1, kW2, 8), "expected a float type");
  Tensor w2d = Tensor::create(DType::kF64, {8, 1, 3, 3}).value();
  expect_error(run_fused(kX, kW1, w2d, 8), "W2 must have X's dtype");
}

TEST(FusedPwDwConvRef, RejectsMissingInputs) {
  TestContext f("FusedPwDwConv", "com.edgeai");
  f.add_input(kX).add_input(kW1).add_absent_input().add_absent_input().set_int("group", 8);
  expect_error(f.run(13), "W2");
  TestContext g("FusedPwDwConv", "com.edgeai");
  g.add_input(kX).add_input(kW1).add_input(kW2);
  expect_error(g.run(13), "expected 4..5 inputs");
}

TEST(FusedPwDwConvRef, RejectsBadBias) {
  TestContext f("FusedPwDwConv", "com.edgeai");
  f.add_input(kX).add_input(kW1).add_input(rand_f32({7}, 1)).add_input(kW2).set_int("group", 8);
  expect_error(f.run(13), "B must have shape [8]");
}

TEST(FusedPwDwConvRef, RejectsBadActivation) {
  expect_error(run_fused(kX, kW1, kW2, 8, "Swish"), "unknown activation 'Swish'");
  expect_error(run_fused(kX, kW1, kW2, 8, "Clip", {1.f}), "Clip takes activation_params [min, max]");
}

}  // namespace
}  // namespace edgeai
