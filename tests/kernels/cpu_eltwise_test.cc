// Optimized elementwise, normalization and pooling kernels (kernels/cpu/eltwise.cc, norm.cc,
// pool.cc) against the reference kernels, on every ISA table and 1-3 threads; lengths with
// vector tails; values spanning the activations' ranges (the vector exp / erf / tanh are
// polynomial approximations, within a few ulp).
#include "kernels/cpu_test_util.h"

namespace edgeai::testing {
namespace {

TEST(CpuEltwise, Activations) {
  struct U {
    std::string op;
    float alpha = 0, beta = 0;
    bool has_alpha = false, has_beta = false;
    std::string approx;
  };
  const std::vector<U> ops = {
      {"Relu"}, {"Sigmoid"}, {"Tanh"}, {"Erf"}, {"Exp"}, {"HardSwish"}, {"Gelu"},
      {"Gelu", 0, 0, false, false, "tanh"}, {"LeakyRelu", 0.3f, 0, true}, {"HardSigmoid", 0.25f, 0.4f, true, true},
  };
  for (const int64_t n : {1, 7, 17, 63, 65, 1000, 70000}) {
    for (const U& u : ops) {
      SCOPED_TRACE(u.op + " n=" + std::to_string(n));
      OpCase c = OpCase::single(u.op);
      c.opset = 20;
      const float range = u.op == "Exp" ? 80.0f : 12.0f;
      c.input(random_tensor({n}, static_cast<uint32_t>(n), -range, range));
      if (u.has_alpha) c.attr_f("alpha", u.alpha);
      if (u.has_beta) c.attr_f("beta", u.beta);
      if (!u.approx.empty()) c.attr_s("approximate", u.approx);
      expect_matches_reference(c, 2e-6, u.op == "Gelu" ? 1e-7 : 1e-9);
    }
  }
}

// Sigmoid's e^-x is 2^t with t = -x log2(e) rounded once: its relative error grows with |t| and
// reaches the result where the result is small (5e-6 at x = -87); the clamps keep the far ends
// finite (0 and 1, no NaN or infinity).
TEST(CpuEltwise, SigmoidFarRange) {
  OpCase c = OpCase::single("Sigmoid");
  c.input(random_tensor({4099}, 17, -100.0f, 100.0f));
  expect_matches_reference(c, 1e-5, 1e-9);
}

TEST(CpuEltwise, Clip) {
  OpCase c = OpCase::single("Clip");
  c.input(random_tensor({3, 50}, 1, -10, 10));
  c.input(Tensor::from_vector<float>(DType::kF32, {}, {-1.5f})).input(Tensor::from_vector<float>(DType::kF32, {}, {2.0f}));
  expect_matches_reference(c);
  OpCase only_max = OpCase::single("Clip");
  only_max.input(random_tensor({33}, 2, -10, 10)).absent().input(Tensor::from_vector<float>(DType::kF32, {}, {0.5f}));
  expect_matches_reference(only_max);
  OpCase old = OpCase::single("Clip");
  old.opset = 6;
  old.input(random_tensor({40}, 3, -10, 10)).attr_f("min", 0.0f).attr_f("max", 6.0f);
  expect_matches_reference(old);
}

TEST(CpuEltwise, BinaryBroadcasting) {
  const std::vector<std::pair<Shape, Shape>> shapes = {
      {{2, 3, 4, 5}, {2, 3, 4, 5}}, {{1000}, {}},          {{}, {37}},          {{1, 16, 7, 7}, {1, 16, 1, 1}},
      {{2, 3, 40}, {40}},          {{3, 1}, {1, 4}},       {{1}, {2, 3}},       {{2, 1, 5}, {1, 3, 1}},
      {{1, 128, 768}, {768}},      {{64, 300}, {64, 1}},   {{5, 0, 3}, {3}},    {{300, 300}, {300, 300}},
  };
  uint32_t seed = 5;
  for (const std::string op : {"Add", "Sub", "Mul", "Div"}) {
    for (const auto& [a, b] : shapes) {
      SCOPED_TRACE(op + " " + shape_str(a) + " " + shape_str(b));
      OpCase c = OpCase::single(op);
      c.input(random_tensor(a, seed++, 0.5f, 2.0f)).input(random_tensor(b, seed++, 0.5f, 2.0f));
      expect_matches_reference(c, 1e-6, 0);
    }
  }
}

TEST(CpuNorm, Softmax) {
  for (const int64_t n : {1, 7, 17, 128, 1000}) {
    for (const std::string op : {"Softmax", "LogSoftmax"}) {
      SCOPED_TRACE(op + " n=" + std::to_string(n));
      OpCase c = OpCase::single(op);
      c.input(random_tensor({3, 5, n}, static_cast<uint32_t>(n), -20, 20));
      expect_matches_reference(c, 1e-5, 1e-7);
    }
  }
  OpCase old = OpCase::single("Softmax");  // opset 11: coerced to 2-D at axis 1
  old.opset = 11;
  old.input(random_tensor({2, 3, 7}, 9, -5, 5)).attr_i("axis", 1);
  expect_matches_reference(old, 1e-5, 1e-7);
}

TEST(CpuNorm, LayerNormalization) {
  for (const int64_t n : {1, 7, 256, 1000}) {
    for (const bool bias : {false, true}) {
      SCOPED_TRACE("n=" + std::to_string(n));
      OpCase c = OpCase::single("LayerNormalization");
      c.input(random_tensor({2, 9, n}, static_cast<uint32_t>(n), -3, 5)).constant(random_tensor({n}, 4));
      if (bias) c.constant(random_tensor({n}, 5));
      c.attr_f("epsilon", 1e-5f);
      expect_matches_reference(c, 1e-5, 1e-6);
    }
  }
  OpCase two_axes = OpCase::single("LayerNormalization");
  two_axes.input(random_tensor({3, 4, 5}, 1)).constant(random_tensor({4, 5}, 2)).attr_i("axis", 1);
  expect_matches_reference(two_axes, 1e-5, 1e-6);
}

TEST(CpuPool, MaxAndAverage) {
  struct P {
    std::string op;
    Shape x;
    std::vector<int64_t> k, s, pads, dil;
    int64_t ceil = 0, count_pad = 0;
  };
  const std::vector<P> ps = {
      {"MaxPool", {1, 64, 112, 112}, {3, 3}, {2, 2}, {1, 1, 1, 1}, {}},
      {"MaxPool", {2, 3, 13, 15}, {2, 2}, {2, 2}, {0, 0, 0, 0}, {}},
      {"MaxPool", {1, 4, 13, 13}, {3, 3}, {2, 2}, {0, 0, 0, 0}, {}, 1},       // ceil_mode
      {"MaxPool", {1, 2, 12, 11}, {3, 3}, {1, 1}, {2, 2, 2, 2}, {2, 2}},    // dilation
      {"MaxPool", {1, 3, 9, 40}, {1, 5}, {1, 3}, {0, 2, 0, 1}, {}},
      {"AveragePool", {1, 5, 14, 14}, {3, 3}, {1, 1}, {1, 1, 1, 1}, {}, 0, 0},
      {"AveragePool", {1, 5, 14, 14}, {3, 3}, {2, 2}, {1, 1, 1, 1}, {}, 0, 1},
      {"AveragePool", {2, 3, 8, 9}, {2, 2}, {2, 2}, {0, 0, 0, 0}, {}},
  };
  uint32_t seed = 3;
  for (const P& p : ps) {
    SCOPED_TRACE(p.op + " " + shape_str(p.x));
    OpCase c = OpCase::single(p.op);
    c.input(random_tensor(p.x, seed++));
    c.attr_ints("kernel_shape", p.k).attr_ints("strides", p.s).attr_ints("pads", p.pads);
    if (!p.dil.empty()) c.attr_ints("dilations", p.dil);
    if (p.ceil) c.attr_i("ceil_mode", 1);
    if (p.op == "AveragePool") c.attr_i("count_include_pad", p.count_pad);
    expect_matches_reference(c, 1e-6, 1e-7);
  }
}

TEST(CpuPool, GlobalAverage) {
  for (const Shape& s : {Shape{1, 512, 7, 7}, Shape{2, 3, 5}, Shape{1, 17, 1, 1}, Shape{2, 4, 3, 3, 3}}) {
    SCOPED_TRACE(shape_str(s));
    OpCase c = OpCase::single("GlobalAveragePool");
    c.input(random_tensor(s, 8));
    expect_matches_reference(c, 1e-5, 1e-7);
  }
}

}  // namespace
}  // namespace edgeai::testing
