// Tests of the reference elementwise kernels (src/kernels/reference/elementwise*.cc, cast.cc).
// Expected values are hand-computed or numpy-computed (named per test); hostile inputs must give a
// non-OK Status, never a crash.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

#include "../kernel_test_util.h"

namespace edgeai {
namespace {

using testing::TestContext;

Tensor f32(Shape s, std::vector<float> v) { return Tensor::from_vector<float>(DType::kF32, std::move(s), v); }
Tensor i32(Shape s, std::vector<int32_t> v) { return Tensor::from_vector<int32_t>(DType::kI32, std::move(s), v); }
Tensor i64(Shape s, std::vector<int64_t> v) { return Tensor::from_vector<int64_t>(DType::kI64, std::move(s), v); }
Tensor u8(Shape s, std::vector<uint8_t> v) { return Tensor::from_vector<uint8_t>(DType::kU8, std::move(s), v); }
Tensor boolean(Shape s, std::vector<uint8_t> v) { return Tensor::from_vector<uint8_t>(DType::kBool, std::move(s), v); }
Tensor str(Shape s, std::vector<std::string> v) { return Tensor::from_vector<std::string>(DType::kString, std::move(s), v); }

std::vector<float> floats(const Tensor& t) { return t.to_float_vector(); }
std::vector<int64_t> ints(const Tensor& t) { return t.to_int64_vector(); }

void expect_near(const std::vector<float>& got, const std::vector<float>& want, float tol = 1e-5f) {
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < got.size(); ++i) {
    if (std::isnan(want[i])) {
      EXPECT_TRUE(std::isnan(got[i])) << "at " << i;
    } else {
      EXPECT_NEAR(got[i], want[i], tol * std::max(1.0f, std::fabs(want[i]))) << "at " << i;
    }
  }
}

// --- unary ----------------------------------------------------------------------------------

TEST(ElementwiseUnary, MathValues) {
  // Oracle: numpy (np.abs, np.sign, np.round (half to even), np.floor, np.ceil).
  Tensor x = f32({6}, {-2.5f, -0.5f, 0.5f, 1.5f, 2.5f, 0.0f});
  struct Case { const char* op; std::vector<float> want; };
  std::vector<Case> cases = {
      {"Abs", {2.5f, 0.5f, 0.5f, 1.5f, 2.5f, 0.0f}},
      {"Neg", {2.5f, 0.5f, -0.5f, -1.5f, -2.5f, 0.0f}},
      {"Sign", {-1, -1, 1, 1, 1, 0}},
      {"Round", {-2, -0.0f, 0, 2, 2, 0}},
      {"Floor", {-3, -1, 0, 1, 2, 0}},
      {"Ceil", {-2, -0.0f, 1, 2, 3, 0}},
      {"Relu", {0, 0, 0.5f, 1.5f, 2.5f, 0}},
  };
  for (const auto& c : cases) {
    TestContext ctx(c.op);
    ctx.add_input(x);
    ASSERT_TRUE(ctx.run().ok()) << c.op;
    expect_near(floats(ctx.output(0)), c.want);
  }
}

TEST(ElementwiseUnary, Activations) {
  // Oracle: hand-computed from the ONNX operator definitions.
  Tensor x = f32({3}, {-1.0f, 0.0f, 2.0f});
  {
    TestContext ctx("LeakyRelu");
    ctx.add_input(x).set_float("alpha", 0.1f);
    ASSERT_TRUE(ctx.run().ok());
    expect_near(floats(ctx.output(0)), {-0.1f, 0.0f, 2.0f});
  }
  {
    TestContext ctx("Sigmoid");
    ctx.add_input(x);
    ASSERT_TRUE(ctx.run().ok());
    expect_near(floats(ctx.output(0)), {0.26894142f, 0.5f, 0.88079708f});
  }
  {
    TestContext ctx("HardSwish");
    ctx.add_input(x);
    ASSERT_TRUE(ctx.run().ok());
    expect_near(floats(ctx.output(0)), {-1.0f / 3.0f, 0.0f, 2.0f * (2.0f / 6.0f + 0.5f)});
  }
  {
    TestContext ctx("Shrink");
    ctx.add_input(x).set_float("lambd", 1.5f).set_float("bias", 0.5f);
    ASSERT_TRUE(ctx.run().ok());
    expect_near(floats(ctx.output(0)), {0.0f, 0.0f, 1.5f});
  }
  {
    TestContext ctx("Gelu");  // 0.5 x (1 + erf(x / sqrt 2))
    ctx.add_input(x);
    ASSERT_TRUE(ctx.run(20).ok());
    expect_near(floats(ctx.output(0)), {-0.15865525f, 0.0f, 1.9544997f});
  }
  {
    TestContext ctx("Mish");  // x tanh(ln(1 + e^x))
    ctx.add_input(x);
    ASSERT_TRUE(ctx.run().ok());
    expect_near(floats(ctx.output(0)), {-0.30340147f, 0.0f, 1.9439589f});
  }
}

TEST(ElementwiseUnary, IntegerEdgeCases) {
  // Abs/Neg of INT_MIN wrap (two's complement) instead of overflowing.
  Tensor x = i32({2}, {std::numeric_limits<int32_t>::min(), -7});
  TestContext abs("Abs");
  abs.add_input(x);
  ASSERT_TRUE(abs.run().ok());
  EXPECT_EQ(ints(abs.output(0)), (std::vector<int64_t>{std::numeric_limits<int32_t>::min(), 7}));
  TestContext neg("Neg");
  neg.add_input(u8({1}, {3}));
  EXPECT_FALSE(neg.run().ok());  // Neg has no unsigned types
}

TEST(ElementwiseUnary, BadInput) {
  TestContext no_input("Exp");
  EXPECT_FALSE(no_input.run().ok());
  TestContext int_exp("Exp");
  int_exp.add_input(i32({2}, {1, 2}));
  EXPECT_FALSE(int_exp.run().ok());
  TestContext two("Sqrt");
  two.add_input(f32({1}, {1})).add_input(f32({1}, {1}));
  EXPECT_FALSE(two.run().ok());
  TestContext not_float("Not");
  not_float.add_input(f32({1}, {1}));
  EXPECT_FALSE(not_float.run().ok());
  TestContext gelu("Gelu");
  gelu.add_input(f32({1}, {1})).set_string("approximate", "bogus");
  EXPECT_FALSE(gelu.run(20).ok());
  TestContext celu("Celu");
  celu.add_input(f32({1}, {1})).set_float("alpha", 0.0f);
  EXPECT_FALSE(celu.run().ok());
  TestContext relu13("Relu");
  relu13.add_input(i32({1}, {1}));
  EXPECT_FALSE(relu13.run(13).ok());  // integers from opset 14
  TestContext absent("Abs");
  absent.add_absent_input();
  EXPECT_FALSE(absent.run().ok());
}

TEST(ElementwiseUnary, EmptyTensor) {
  TestContext ctx("Tanh");
  ctx.add_input(f32({0, 3}, {}));
  ASSERT_TRUE(ctx.run().ok());
  EXPECT_EQ(ctx.output(0).shape(), (Shape{0, 3}));
}

TEST(ElementwiseUnary, IsInfAttributes) {
  const float inf = std::numeric_limits<float>::infinity();
  TestContext ctx("IsInf");
  ctx.add_input(f32({4}, {inf, -inf, 1.0f, std::nanf("")})).set_int("detect_positive", 0);
  ASSERT_TRUE(ctx.run().ok());
  EXPECT_EQ(ints(ctx.output(0)), (std::vector<int64_t>{0, 1, 0, 0}));
}

TEST(ElementwiseUnary, Clip) {
  // Opset 6: attributes; opset 13: inputs (numpy.clip).
  TestContext old("Clip");
  old.add_input(f32({3}, {-5, 0, 5})).set_float("min", -1).set_float("max", 1);
  ASSERT_TRUE(old.run(6).ok());
  expect_near(floats(old.output(0)), {-1, 0, 1});
  TestContext cur("Clip");
  cur.add_input(i32({3}, {-5, 0, 5})).add_absent_input().add_input(i32({}, {2}));
  ASSERT_TRUE(cur.run(13).ok());
  EXPECT_EQ(ints(cur.output(0)), (std::vector<int64_t>{-5, 0, 2}));
  TestContext bad("Clip");
  bad.add_input(f32({3}, {-5, 0, 5})).add_input(f32({2}, {0, 1}));
  EXPECT_FALSE(bad.run(13).ok());  // min must be a scalar
  TestContext mixed("Clip");
  mixed.add_input(f32({3}, {-5, 0, 5})).add_input(i32({}, {0}));
  EXPECT_FALSE(mixed.run(13).ok());  // dtype mismatch
}

// --- binary ---------------------------------------------------------------------------------

TEST(ElementwiseBinary, BroadcastAdd) {
  // Oracle: numpy, np.arange(6).reshape(2,3) + np.array([[10],[20]]).
  TestContext ctx("Add");
  ctx.add_input(f32({2, 3}, {0, 1, 2, 3, 4, 5})).add_input(f32({2, 1}, {10, 20}));
  ASSERT_TRUE(ctx.run().ok());
  EXPECT_EQ(ctx.output(0).shape(), (Shape{2, 3}));
  expect_near(floats(ctx.output(0)), {10, 11, 12, 23, 24, 25});
}

TEST(ElementwiseBinary, BroadcastBothSides) {
  // Oracle: numpy, np.array([[1],[2]]) * np.array([1, 10, 100]) (both sides broadcast).
  TestContext ctx("Mul");
  ctx.add_input(i64({2, 1}, {1, 2})).add_input(i64({3}, {1, 10, 100}));
  ASSERT_TRUE(ctx.run().ok());
  EXPECT_EQ(ctx.output(0).shape(), (Shape{2, 3}));
  EXPECT_EQ(ints(ctx.output(0)), (std::vector<int64_t>{1, 10, 100, 2, 20, 200}));
}

TEST(ElementwiseBinary, IntegerDivisionAndMod) {
  // Oracle: numpy: np.mod([-7, 7, -7, 7], [2, -2, -2, 2]) = [1, -1, -1, 1];
  // np.fmod(...) = [-1, 1, -1, 1]; C++/ONNX integer Div truncates.
  Tensor a = i32({4}, {-7, 7, -7, 7});
  Tensor b = i32({4}, {2, -2, -2, 2});
  TestContext mod("Mod");
  mod.add_input(a).add_input(b);
  ASSERT_TRUE(mod.run().ok());
  EXPECT_EQ(ints(mod.output(0)), (std::vector<int64_t>{1, -1, -1, 1}));
  TestContext fmod("Mod");
  fmod.add_input(a).add_input(b).set_int("fmod", 1);
  ASSERT_TRUE(fmod.run().ok());
  EXPECT_EQ(ints(fmod.output(0)), (std::vector<int64_t>{-1, 1, -1, 1}));
  TestContext div("Div");
  div.add_input(a).add_input(b);
  ASSERT_TRUE(div.run().ok());
  EXPECT_EQ(ints(div.output(0)), (std::vector<int64_t>{-3, -3, 3, 3}));
  // INT_MIN / -1 wraps instead of trapping.
  TestContext ovf("Div");
  ovf.add_input(i32({1}, {std::numeric_limits<int32_t>::min()})).add_input(i32({1}, {-1}));
  ASSERT_TRUE(ovf.run().ok());
  EXPECT_EQ(ints(ovf.output(0))[0], std::numeric_limits<int32_t>::min());
}

TEST(ElementwiseBinary, DivisionByZeroIsAnError) {
  TestContext div("Div");
  div.add_input(i32({2}, {1, 2})).add_input(i32({2}, {1, 0}));
  EXPECT_FALSE(div.run().ok());
  TestContext mod("Mod");
  mod.add_input(i64({2}, {1, 2})).add_input(i64({}, {0}));
  EXPECT_FALSE(mod.run().ok());
  TestContext fmod0("Mod");
  fmod0.add_input(f32({1}, {1})).add_input(f32({1}, {2}));
  EXPECT_FALSE(fmod0.run().ok());  // float Mod needs fmod=1
  TestContext pow0("Pow");
  pow0.add_input(i32({1}, {0})).add_input(i32({1}, {-1}));
  EXPECT_FALSE(pow0.run().ok());
}

TEST(ElementwiseBinary, BadInput) {
  TestContext shapes("Add");
  shapes.add_input(f32({2, 3}, {})).add_input(f32({2}, {}));
  EXPECT_FALSE(shapes.run().ok());
  TestContext types("Sub");
  types.add_input(f32({1}, {1})).add_input(i32({1}, {1}));
  EXPECT_FALSE(types.run().ok());
  TestContext one("Mul");
  one.add_input(f32({1}, {1}));
  EXPECT_FALSE(one.run().ok());
  TestContext strs("Add");
  strs.add_input(str({1}, {"a"})).add_input(str({1}, {"b"}));
  EXPECT_FALSE(strs.run().ok());
  TestContext and_f("And");
  and_f.add_input(f32({1}, {1})).add_input(f32({1}, {1}));
  EXPECT_FALSE(and_f.run().ok());
  TestContext shift("BitShift");
  shift.add_input(u8({1}, {1})).add_input(u8({1}, {1})).set_string("direction", "UP");
  EXPECT_FALSE(shift.run().ok());
  TestContext shift_signed("BitShift");
  shift_signed.add_input(i32({1}, {1})).add_input(i32({1}, {1})).set_string("direction", "LEFT");
  EXPECT_FALSE(shift_signed.run().ok());
  TestContext where("Where");
  where.add_input(f32({1}, {1})).add_input(f32({1}, {1})).add_input(f32({1}, {1}));
  EXPECT_FALSE(where.run().ok());  // condition must be bool
  TestContext prelu("PRelu");
  prelu.add_input(f32({2}, {1, 2})).add_input(f32({2, 2}, {1, 2, 3, 4}));
  EXPECT_FALSE(prelu.run().ok());  // slope must broadcast to X, not widen it
  TestContext huge("Add");  // [2^21,1] + [1,2^21] would be 2^42 elements: refused, not allocated
  huge.add_input(f32({1 << 21, 1}, {})).add_input(f32({1, 1 << 21}, {}));
  EXPECT_FALSE(huge.run().ok());
}

TEST(ElementwiseBinary, PowMixedTypes) {
  // Oracle: numpy: np.power(np.int64([2, 3, -2]), np.int64([10, 0, 3])) = [1024, 1, -8];
  // (np.float32([4]) ** np.int32([-1])) = [0.25].
  TestContext ip("Pow");
  ip.add_input(i64({3}, {2, 3, -2})).add_input(i64({3}, {10, 0, 3}));
  ASSERT_TRUE(ip.run().ok());
  EXPECT_EQ(ints(ip.output(0)), (std::vector<int64_t>{1024, 1, -8}));
  TestContext fp("Pow");
  fp.add_input(f32({1}, {4})).add_input(i32({1}, {-1}));
  ASSERT_TRUE(fp.run().ok());
  EXPECT_EQ(fp.output(0).dtype(), DType::kF32);
  expect_near(floats(fp.output(0)), {0.25f});
}

TEST(ElementwiseBinary, BitShift) {
  // Hand-computed: 1 << 7 = 128; a shift by >= the bit width gives 0.
  TestContext ctx("BitShift");
  ctx.add_input(u8({3}, {1, 255, 16})).add_input(u8({3}, {7, 8, 2})).set_string("direction", "LEFT");
  ASSERT_TRUE(ctx.run().ok());
  EXPECT_EQ(ints(ctx.output(0)), (std::vector<int64_t>{128, 0, 64}));
}

TEST(ElementwiseBinary, CompareAndLogic) {
  TestContext eq("Equal");
  eq.add_input(str({2}, {"a", "b"})).add_input(str({}, {"b"}));
  ASSERT_TRUE(eq.run(19).ok());
  EXPECT_EQ(ints(eq.output(0)), (std::vector<int64_t>{0, 1}));
  TestContext less("Less");
  less.add_input(f32({3}, {1, 2, 3})).add_input(f32({1}, {2}));
  ASSERT_TRUE(less.run().ok());
  EXPECT_EQ(less.output(0).dtype(), DType::kBool);
  EXPECT_EQ(ints(less.output(0)), (std::vector<int64_t>{1, 0, 0}));
  TestContext x("Xor");
  x.add_input(boolean({2, 2}, {0, 1, 0, 1})).add_input(boolean({2, 1}, {0, 1}));
  ASSERT_TRUE(x.run().ok());
  EXPECT_EQ(ints(x.output(0)), (std::vector<int64_t>{0, 1, 1, 0}));
}

TEST(ElementwiseBinary, Where) {
  // Oracle: numpy, np.where([[True], [False]], ["x1", "x2"], "y").
  TestContext ctx("Where");
  ctx.add_input(boolean({2, 1}, {1, 0})).add_input(str({2}, {"x1", "x2"})).add_input(str({}, {"y"}));
  ASSERT_TRUE(ctx.run().ok());
  ASSERT_EQ(ctx.output(0).shape(), (Shape{2, 2}));
  const std::string* s = ctx.output(0).data<std::string>();
  EXPECT_EQ(s[0], "x1");
  EXPECT_EQ(s[1], "x2");
  EXPECT_EQ(s[2], "y");
  EXPECT_EQ(s[3], "y");
}

TEST(ElementwiseVariadic, MaxMinSumMean) {
  // Oracle: numpy, np.maximum.reduce / np.mean over broadcast inputs; NaN propagates.
  Tensor a = f32({2, 2}, {1, 5, 3, std::nanf("")});
  Tensor b = f32({2}, {4, 2});
  Tensor c = f32({}, {3});
  TestContext mx("Max");
  mx.add_input(a).add_input(b).add_input(c);
  ASSERT_TRUE(mx.run().ok());
  expect_near(floats(mx.output(0)), {4, 5, 4, std::nanf("")});
  TestContext mean("Mean");
  mean.add_input(a).add_input(b).add_input(c);
  ASSERT_TRUE(mean.run().ok());
  expect_near(floats(mean.output(0)), {8.0f / 3, 10.0f / 3, 10.0f / 3, std::nanf("")});
  TestContext one("Sum");
  one.add_input(b);
  ASSERT_TRUE(one.run().ok());
  expect_near(floats(one.output(0)), {4, 2});
  TestContext none("Min");
  EXPECT_FALSE(none.run().ok());
  TestContext mixed("Min");
  mixed.add_input(a).add_input(i32({1}, {1}));
  EXPECT_FALSE(mixed.run().ok());
  TestContext int_sum("Sum");
  int_sum.add_input(i32({1}, {1}));
  EXPECT_FALSE(int_sum.run().ok());
}

// --- cast -----------------------------------------------------------------------------------

TEST(Cast, NumberConversions) {
  // float -> int32 truncates toward zero; NaN -> 0 and out-of-range saturate (our choice where
  // the spec says undefined); int -> u8 wraps like numpy astype.
  TestContext f2i("Cast");
  f2i.add_input(f32({5}, {-1.7f, 2.9f, std::nanf(""), 1e20f, -1e20f})).set_int("to", 6);
  ASSERT_TRUE(f2i.run().ok());
  ASSERT_EQ(f2i.output(0).dtype(), DType::kI32);
  EXPECT_EQ(ints(f2i.output(0)), (std::vector<int64_t>{-1, 2, 0, std::numeric_limits<int32_t>::max(),
                                                       std::numeric_limits<int32_t>::min()}));
  TestContext i2u("Cast");
  i2u.add_input(i32({2}, {257, -1})).set_int("to", 2);
  ASSERT_TRUE(i2u.run().ok());
  EXPECT_EQ(ints(i2u.output(0)), (std::vector<int64_t>{1, 255}));
  TestContext f2b("Cast");
  f2b.add_input(f32({3}, {0.0f, -2.0f, std::nanf("")})).set_int("to", 9);
  ASSERT_TRUE(f2b.run().ok());
  EXPECT_EQ(ints(f2b.output(0)), (std::vector<int64_t>{0, 1, 1}));
  TestContext f2h("Cast");  // 1/3 in f16 is 0.333251953125 (round to nearest even)
  f2h.add_input(f32({1}, {1.0f / 3.0f})).set_int("to", 10);
  ASSERT_TRUE(f2h.run().ok());
  EXPECT_EQ(f2h.output(0).data<uint16_t>()[0], 0x3555);
}

TEST(Cast, Strings) {
  // Oracle: numpy str(np.float32(v)) for the text; ONNX Cast spec for "INF"/"NaN" spellings.
  TestContext f2s("Cast");
  f2s.add_input(f32({4}, {0.1f, 1e-5f, -std::numeric_limits<float>::infinity(), 42.0f})).set_int("to", 8);
  ASSERT_TRUE(f2s.run().ok());
  const std::string* s = f2s.output(0).data<std::string>();
  EXPECT_EQ(s[0], "0.1");
  EXPECT_EQ(s[1], "1e-05");
  EXPECT_EQ(s[2], "-INF");
  EXPECT_EQ(s[3], "42");
  TestContext s2f("Cast");
  s2f.add_input(str({5}, {"1.5", "-inf", "+INF", "NaN", " 1e3 "})).set_int("to", 1);
  ASSERT_TRUE(s2f.run().ok());
  std::vector<float> f = floats(s2f.output(0));
  EXPECT_EQ(f[0], 1.5f);
  EXPECT_TRUE(std::isinf(f[1]) && f[1] < 0);
  EXPECT_TRUE(std::isinf(f[2]) && f[2] > 0);
  EXPECT_TRUE(std::isnan(f[3]));
  EXPECT_EQ(f[4], 1000.0f);
  TestContext s2i("Cast");
  s2i.add_input(str({3}, {"100.5", "-7", "9223372036854775807"})).set_int("to", 7);
  ASSERT_TRUE(s2i.run().ok());
  EXPECT_EQ(ints(s2i.output(0)), (std::vector<int64_t>{100, -7, std::numeric_limits<int64_t>::max()}));
  TestContext bad("Cast");
  bad.add_input(str({2}, {"1", "hello"})).set_int("to", 1);
  EXPECT_FALSE(bad.run().ok());
}

TEST(Cast, BadAttributes) {
  TestContext no_to("Cast");
  no_to.add_input(f32({1}, {1}));
  EXPECT_FALSE(no_to.run().ok());
  TestContext bad_to("Cast");
  bad_to.add_input(f32({1}, {1})).set_int("to", 12345678901);
  EXPECT_FALSE(bad_to.run().ok());
  TestContext complex_to("Cast");
  complex_to.add_input(f32({1}, {1})).set_int("to", 14);
  EXPECT_FALSE(complex_to.run().ok());
  TestContext like("CastLike");
  like.add_input(f32({2}, {1.5f, -2.5f})).add_input(i64({0}, {}));
  ASSERT_TRUE(like.run().ok());
  EXPECT_EQ(ints(like.output(0)), (std::vector<int64_t>{1, -2}));
}

// --- robustness -----------------------------------------------------------------------------

// A tensor of any dtype with nonzero contents: every byte 0x02 for numbers (so bools hold the
// hostile byte 2), "2" for strings.
Tensor filled(DType dt, Shape s) {
  Tensor t = Tensor::create(dt, std::move(s)).value();
  if (dt == DType::kString) {
    for (int64_t i = 0; i < t.numel(); ++i) t.data<std::string>()[i] = "2";
  } else {
    std::memset(t.raw(), 2, t.nbytes());
  }
  return t;
}

TEST(ElementwiseRobustness, EveryOpEveryDtypeNoCrash) {
  // Each op, for every dtype, input count 0..4 and mixed shapes, must return a Status (OK or
  // not) without crashing; run under EDGEAI_SANITIZE to catch undefined behaviour too.
  const char* ops[] = {"Abs", "Neg", "Reciprocal", "Floor", "Ceil", "Round", "Sign", "Sqrt", "Exp",
                       "Log", "Erf", "Sin", "Cos", "Tan", "Asin", "Acos", "Atan", "Sinh", "Cosh",
                       "Tanh", "Asinh", "Acosh", "Atanh", "IsNaN", "IsInf", "Not", "Relu",
                       "LeakyRelu", "Elu", "Selu", "Celu", "Sigmoid", "HardSigmoid", "HardSwish",
                       "Softplus", "Softsign", "ThresholdedRelu", "Shrink", "PRelu", "Mish", "Gelu",
                       "Add", "Sub", "Mul", "Div", "Pow", "Mod", "And", "Or", "Xor", "Equal",
                       "Greater", "GreaterOrEqual", "Less", "LessOrEqual", "BitShift", "BitwiseAnd",
                       "BitwiseOr", "BitwiseXor", "BitwiseNot", "Where", "Max", "Min", "Sum", "Mean",
                       "Clip", "Cast", "CastLike"};
  const DType dtypes[] = {DType::kF32, DType::kF16, DType::kBF16, DType::kF64, DType::kI8,
                          DType::kU8,  DType::kI16, DType::kU16,  DType::kI32, DType::kU32,
                          DType::kI64, DType::kU64, DType::kBool, DType::kString};
  const Shape shapes[] = {{2, 3}, {3}, {}, {0, 3}, {2, 1}, {4}};
  int runs = 0;
  for (const char* op : ops) {
    for (DType dt : dtypes) {
      for (int n = 0; n <= 4; ++n) {
        for (int opset : {6, 11, 13, 17}) {
          TestContext ctx(op);
          for (int i = 0; i < n; ++i) {
            // Mix dtypes on the later inputs (bool condition first for Where-like shapes).
            DType di = (i == 1 && n == 3) ? dt : (i == 0 && n == 3 ? DType::kBool : dt);
            ctx.add_input(filled(di, shapes[(i + n) % 6]));
          }
          ctx.set_int("to", 1).set_int("fmod", dt == DType::kF32 ? 1 : 0).set_string("direction", "RIGHT");
          Status st = ctx.run(opset);
          (void)st;
          ++runs;
        }
      }
    }
  }
  EXPECT_GT(runs, 0);
}

TEST(ElementwiseRobustness, CastEveryPair) {
  // Every (from, to) dtype pair converts without crashing; numbers -> string -> same type
  // round-trips for the values used here (2 in every byte, 0.5).
  const DType dtypes[] = {DType::kF32, DType::kF16, DType::kBF16, DType::kF64, DType::kI8,
                          DType::kU8,  DType::kI16, DType::kU16,  DType::kI32, DType::kU32,
                          DType::kI64, DType::kU64, DType::kBool, DType::kString};
  for (DType from : dtypes) {
    for (DType to : dtypes) {
      TestContext ctx("Cast");
      ctx.add_input(filled(from, {5})).set_int("to", dtype_to_onnx(to));
      Status st = ctx.run(13);
      EXPECT_TRUE(st.ok()) << dtype_name(from) << " -> " << dtype_name(to) << ": " << st.message();
      if (!st.ok() || to != DType::kString || from == DType::kString || from == DType::kBool) continue;
      TestContext back("Cast");
      back.add_input(ctx.output(0)).set_int("to", dtype_to_onnx(from));
      ASSERT_TRUE(back.run(13).ok()) << dtype_name(from);
      Tensor orig = filled(from, {5});
      EXPECT_EQ(std::memcmp(orig.raw(), back.output(0).raw(), orig.nbytes()), 0) << dtype_name(from);
    }
  }
}

}  // namespace
}  // namespace edgeai
