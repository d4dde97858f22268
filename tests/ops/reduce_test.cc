// Tests for the reduce family's reference kernels (reduce.cc, normalization.cc, loss.cc).
// Expected values are hand-computed or computed with numpy (named per test); the conformance
// suite (edgeai onnx-test) covers the rest.
#include <cmath>
#include <limits>
#include <vector>

#include <gtest/gtest.h>

#include "../kernel_test_util.h"

namespace edgeai {
namespace {

using testing::TestContext;

Tensor f32(Shape s, std::vector<float> v) { return Tensor::from_vector<float>(DType::kF32, s, v); }
Tensor i64(Shape s, std::vector<int64_t> v) { return Tensor::from_vector<int64_t>(DType::kI64, s, v); }

void expect_floats(const Tensor& t, Shape shape, std::vector<float> want, float tol = 1e-5f) {
  ASSERT_EQ(t.dtype(), DType::kF32);
  ASSERT_EQ(t.shape(), shape);
  std::vector<float> got = t.to_float_vector();
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < want.size(); ++i) {
    if (std::isnan(want[i])) {
      EXPECT_TRUE(std::isnan(got[i])) << "at " << i;
    } else if (std::isinf(want[i])) {
      EXPECT_EQ(got[i], want[i]) << "at " << i;
    } else {
      EXPECT_NEAR(got[i], want[i], tol) << "at " << i;
    }
  }
}

// ---- Reduce* ----

TEST(ReduceTest, SumAxesInputOpset13) {  // hand-computed
  TestContext ctx("ReduceSum");
  ctx.add_input(f32({2, 2}, {1, 2, 3, 4})).add_input(i64({1}, {1})).set_int("keepdims", 0);
  ASSERT_TRUE(ctx.run(13).ok());
  expect_floats(ctx.output(0), {2}, {3, 7});
}

TEST(ReduceTest, SumAxesAttrOpset11AndDefaultAll) {
  TestContext ctx("ReduceSum");
  ctx.add_input(f32({2, 2}, {1, 2, 3, 4})).set_ints("axes", {-2});
  ASSERT_TRUE(ctx.run(11).ok());
  expect_floats(ctx.output(0), {1, 2}, {4, 6});
  TestContext all("ReduceSum");
  all.add_input(f32({2, 2}, {1, 2, 3, 4}));
  ASSERT_TRUE(all.run(13).ok());
  expect_floats(all.output(0), {1, 1}, {10});
}

TEST(ReduceTest, SumNoopWithEmptyAxes) {
  TestContext ctx("ReduceSum");
  ctx.add_input(f32({2, 2}, {1, 2, 3, 4})).add_input(i64({0}, {})).set_int("noop_with_empty_axes", 1);
  ASSERT_TRUE(ctx.run(13).ok());
  expect_floats(ctx.output(0), {2, 2}, {1, 2, 3, 4});
}

TEST(ReduceTest, EmptySetReductions) {  // numpy: sum([])=0, prod=1, max=-inf, mean=nan
  struct Case { const char* op; float want; };
  for (Case c : {Case{"ReduceSum", 0.f}, Case{"ReduceProd", 1.f},
                 Case{"ReduceMax", -std::numeric_limits<float>::infinity()},
                 Case{"ReduceMin", std::numeric_limits<float>::infinity()},
                 Case{"ReduceMean", std::nanf("")}, Case{"ReduceL2", 0.f},
                 Case{"ReduceLogSumExp", -std::numeric_limits<float>::infinity()}}) {
    TestContext ctx(c.op);
    ctx.add_input(f32({2, 0}, {})).set_ints("axes", {1}).set_int("keepdims", 0);
    ASSERT_TRUE(ctx.run(11).ok()) << c.op;
    expect_floats(ctx.output(0), {2}, {c.want, c.want});
  }
}

TEST(ReduceTest, MeanL2LogSumExp) {  // numpy: mean, sqrt(sum(x^2)), log(sum(exp(x)))
  TestContext mean("ReduceMean");
  mean.add_input(f32({2, 3}, {1, 2, 3, 4, 5, 6})).set_ints("axes", {1});
  ASSERT_TRUE(mean.run(13).ok());
  expect_floats(mean.output(0), {2, 1}, {2, 5});
  TestContext l2("ReduceL2");
  l2.add_input(f32({2}, {3, 4})).set_int("keepdims", 0);
  ASSERT_TRUE(l2.run(13).ok());
  expect_floats(l2.output(0), {}, {5});
  TestContext lse("ReduceLogSumExp");  // stable for large inputs: 1000 + ln 2
  lse.add_input(f32({2}, {1000, 1000})).set_int("keepdims", 0);
  ASSERT_TRUE(lse.run(13).ok());
  expect_floats(lse.output(0), {}, {1000.f + std::log(2.f)}, 1e-3f);
}

TEST(ReduceTest, Opset18AxesInput) {
  TestContext ctx("ReduceMax");
  ctx.add_input(f32({2, 2}, {1, 5, 3, 4})).add_input(i64({1}, {0})).set_int("keepdims", 0);
  ASSERT_TRUE(ctx.run(18).ok());
  expect_floats(ctx.output(0), {2}, {3, 5});
}

TEST(ReduceTest, IntegerProdIsExact) {  // 3^39 fits in int64 but not in a double's mantissa
  std::vector<int64_t> v(39, 3);
  TestContext ctx("ReduceProd");
  ctx.add_input(i64({39}, v)).set_int("keepdims", 0);
  ASSERT_TRUE(ctx.run(13).ok());
  int64_t want = 1;
  for (int i = 0; i < 39; ++i) want *= 3;
  EXPECT_EQ(ctx.output(0).data<int64_t>()[0], want);
}

TEST(ReduceTest, HostileInputs) {
  {  // axis out of range
    TestContext ctx("ReduceMean");
    ctx.add_input(f32({2, 2}, {1, 2, 3, 4})).set_ints("axes", {2});
    EXPECT_FALSE(ctx.run(13).ok());
  }
  {  // duplicate axes
    TestContext ctx("ReduceMean");
    ctx.add_input(f32({2, 2}, {1, 2, 3, 4})).set_ints("axes", {1, -1});
    EXPECT_FALSE(ctx.run(13).ok());
  }
  {  // float axes input
    TestContext ctx("ReduceSum");
    ctx.add_input(f32({2, 2}, {1, 2, 3, 4})).add_input(f32({1}, {1}));
    EXPECT_FALSE(ctx.run(13).ok());
  }
  {  // 2-D axes input
    TestContext ctx("ReduceSum");
    ctx.add_input(f32({2, 2}, {1, 2, 3, 4})).add_input(i64({1, 1}, {1}));
    EXPECT_FALSE(ctx.run(13).ok());
  }
  {  // bool data
    TestContext ctx("ReduceSum");
    ctx.add_input(Tensor::from_vector<bool>(DType::kBool, {2}, {true, false}));
    EXPECT_FALSE(ctx.run(13).ok());
  }
  {  // missing data
    TestContext ctx("ReduceL1");
    ctx.add_absent_input();
    EXPECT_FALSE(ctx.run(13).ok());
  }
  {  // axes on a scalar
    TestContext ctx("ReduceSum");
    ctx.add_input(f32({}, {1})).set_ints("axes", {0});
    EXPECT_FALSE(ctx.run(11).ok());
  }
}

// ---- ArgMax / ArgMin ----

TEST(ReduceTest, ArgMaxSelectLastIndex) {  // hand-computed
  TestContext first("ArgMax");
  first.add_input(f32({2, 3}, {1, 3, 3, 2, 2, 0})).set_int("axis", 1);
  ASSERT_TRUE(first.run(13).ok());
  EXPECT_EQ(first.output(0).shape(), (Shape{2, 1}));
  EXPECT_EQ(first.output(0).to_int64_vector(), (std::vector<int64_t>{1, 0}));
  TestContext last("ArgMax");
  last.add_input(f32({2, 3}, {1, 3, 3, 2, 2, 0})).set_int("axis", 1).set_int("select_last_index", 1)
      .set_int("keepdims", 0);
  ASSERT_TRUE(last.run(13).ok());
  EXPECT_EQ(last.output(0).shape(), (Shape{2}));
  EXPECT_EQ(last.output(0).to_int64_vector(), (std::vector<int64_t>{2, 1}));
  TestContext amin("ArgMin");
  amin.add_input(f32({2, 3}, {1, 3, 3, 2, 2, 0})).set_int("axis", 0);
  ASSERT_TRUE(amin.run(13).ok());
  EXPECT_EQ(amin.output(0).to_int64_vector(), (std::vector<int64_t>{0, 1, 1}));
}

TEST(ReduceTest, ArgMaxHostile) {
  TestContext empty("ArgMax");
  empty.add_input(f32({2, 0}, {})).set_int("axis", 1);
  EXPECT_FALSE(empty.run(13).ok());
  TestContext axis("ArgMin");
  axis.add_input(f32({2, 2}, {1, 2, 3, 4})).set_int("axis", -3);
  EXPECT_FALSE(axis.run(13).ok());
  TestContext scalar("ArgMax");
  scalar.add_input(f32({}, {1}));
  EXPECT_FALSE(scalar.run(13).ok());
}

// ---- CumSum ----

TEST(ReduceTest, CumSumExclusiveReverse) {  // hand-computed on [1, 2, 3]
  TestContext ctx("CumSum");
  ctx.add_input(f32({3}, {1, 2, 3})).add_input(i64({}, {0})).set_int("exclusive", 1)
      .set_int("reverse", 1);
  ASSERT_TRUE(ctx.run(14).ok());
  expect_floats(ctx.output(0), {3}, {5, 3, 0});
  TestContext ax1("CumSum");
  ax1.add_input(f32({2, 2}, {1, 2, 3, 4})).add_input(Tensor::from_vector<int32_t>(DType::kI32, {}, {-1}));
  ASSERT_TRUE(ax1.run(14).ok());
  expect_floats(ax1.output(0), {2, 2}, {1, 3, 3, 7});
}

TEST(ReduceTest, CumSumHostile) {
  TestContext bad_axis("CumSum");
  bad_axis.add_input(f32({3}, {1, 2, 3})).add_input(i64({}, {1}));
  EXPECT_FALSE(bad_axis.run(14).ok());
  TestContext two("CumSum");
  two.add_input(f32({3}, {1, 2, 3})).add_input(i64({2}, {0, 0}));
  EXPECT_FALSE(two.run(14).ok());
  TestContext float_axis("CumSum");
  float_axis.add_input(f32({3}, {1, 2, 3})).add_input(f32({}, {0}));
  EXPECT_FALSE(float_axis.run(14).ok());
  TestContext missing("CumSum");
  missing.add_input(f32({3}, {1, 2, 3}));
  EXPECT_FALSE(missing.run(14).ok());
}

// ---- TopK ----

TEST(ReduceTest, TopKTiesPickLowerIndex) {  // hand-computed
  TestContext ctx("TopK");
  ctx.add_input(f32({1, 5}, {2, 7, 2, 7, 1})).add_input(i64({1}, {3})).set_num_outputs(2);
  ASSERT_TRUE(ctx.run(11).ok());
  expect_floats(ctx.output(0), {1, 3}, {7, 7, 2});
  EXPECT_EQ(ctx.output(1).to_int64_vector(), (std::vector<int64_t>{1, 3, 0}));
  TestContext small("TopK");
  small.add_input(f32({1, 5}, {2, 7, 2, 7, 1})).add_input(i64({1}, {2})).set_int("largest", 0)
      .set_num_outputs(2);
  ASSERT_TRUE(small.run(11).ok());
  expect_floats(small.output(0), {1, 2}, {1, 2});
  EXPECT_EQ(small.output(1).to_int64_vector(), (std::vector<int64_t>{4, 0}));
}

TEST(ReduceTest, TopKWithNaNAndOpset1Attr) {
  const float nan = std::nanf("");
  TestContext ctx("TopK");
  ctx.add_input(f32({4}, {1, nan, 3, nan})).set_int("k", 2).set_num_outputs(2);
  ASSERT_TRUE(ctx.run(1).ok());
  EXPECT_EQ(ctx.output(1).to_int64_vector(), (std::vector<int64_t>{1, 3}));
}

TEST(ReduceTest, TopKHostile) {
  for (int64_t k : {-1, 6}) {
    TestContext ctx("TopK");
    ctx.add_input(f32({5}, {1, 2, 3, 4, 5})).add_input(i64({1}, {k})).set_num_outputs(2);
    EXPECT_FALSE(ctx.run(11).ok()) << k;
  }
  TestContext no_k("TopK");
  no_k.add_input(f32({5}, {1, 2, 3, 4, 5})).set_num_outputs(2);
  EXPECT_FALSE(no_k.run(11).ok());
  TestContext k_2d("TopK");
  k_2d.add_input(f32({5}, {1, 2, 3, 4, 5})).add_input(i64({1, 1}, {1})).set_num_outputs(2);
  EXPECT_FALSE(k_2d.run(11).ok());
}

// ---- Softmax family ----

TEST(ReduceTest, SoftmaxOpsetSemantics) {
  // Opset 11: [1,2,2] coerced to [1,4] at axis 1 -> softmax over all four values.
  // Opset 13: along the last axis. numpy: exp(x) / sum(exp(x)).
  const float e0 = 1 / (1 + std::exp(1.f));
  TestContext v11("Softmax");
  v11.add_input(f32({1, 2, 2}, {0, 0, 0, 0}));
  ASSERT_TRUE(v11.run(11).ok());
  expect_floats(v11.output(0), {1, 2, 2}, {0.25f, 0.25f, 0.25f, 0.25f});
  TestContext v13("Softmax");
  v13.add_input(f32({1, 2, 2}, {0, 1, 0, 1}));
  ASSERT_TRUE(v13.run(13).ok());
  expect_floats(v13.output(0), {1, 2, 2}, {e0, 1 - e0, e0, 1 - e0});
  TestContext lsm("LogSoftmax");
  lsm.add_input(f32({2}, {0, 0}));
  ASSERT_TRUE(lsm.run(13).ok());
  expect_floats(lsm.output(0), {2}, {-std::log(2.f), -std::log(2.f)});
}

TEST(ReduceTest, HardmaxFirstMax) {
  TestContext ctx("Hardmax");
  ctx.add_input(f32({2, 3}, {1, 3, 3, 0, 0, 0}));
  ASSERT_TRUE(ctx.run(13).ok());
  expect_floats(ctx.output(0), {2, 3}, {0, 1, 0, 1, 0, 0});
}

TEST(ReduceTest, SoftmaxHostile) {
  TestContext axis("Softmax");
  axis.add_input(f32({2, 2}, {1, 2, 3, 4})).set_int("axis", 2);
  EXPECT_FALSE(axis.run(13).ok());
  TestContext ints("LogSoftmax");
  ints.add_input(i64({2}, {1, 2}));
  EXPECT_FALSE(ints.run(13).ok());
  TestContext old_axis("Hardmax");
  old_axis.add_input(f32({2, 2}, {1, 2, 3, 4})).set_int("axis", 3);
  EXPECT_FALSE(old_axis.run(11).ok());
}

// ---- Normalizations ----

TEST(ReduceTest, BatchNormInferenceAndTraining) {
  // x[N=2,C=1] = {1, 3}: batch mean 2, var 1. Inference with mean 0, var 1: y = x * 2 + 1.
  auto bn = [](TestContext& ctx) {
    ctx.add_input(f32({2, 1}, {1, 3})).add_input(f32({1}, {2})).add_input(f32({1}, {1}))
        .add_input(f32({1}, {0})).add_input(f32({1}, {1})).set_float("epsilon", 0);
  };
  TestContext inf("BatchNormalization");
  bn(inf);
  ASSERT_TRUE(inf.run(15).ok());
  expect_floats(inf.output(0), {2, 1}, {3, 7});
  TestContext tr("BatchNormalization");
  bn(tr);
  tr.set_int("training_mode", 1).set_num_outputs(3);
  ASSERT_TRUE(tr.run(15).ok());
  expect_floats(tr.output(0), {2, 1}, {-1, 3});        // (x - 2) / 1 * 2 + 1
  expect_floats(tr.output(1), {1}, {0.2f});            // 0 * 0.9 + 2 * 0.1
  expect_floats(tr.output(2), {1}, {1.0f});            // 1 * 0.9 + 1 * 0.1
}

TEST(ReduceTest, BatchNormHostile) {
  TestContext ctx("BatchNormalization");
  ctx.add_input(f32({2, 2}, {1, 3, 1, 1})).add_input(f32({1}, {2})).add_input(f32({2}, {1, 1}))
      .add_input(f32({2}, {0, 0})).add_input(f32({2}, {1, 1}));
  EXPECT_FALSE(ctx.run(15).ok());  // scale has 1 value for 2 channels
  TestContext missing("BatchNormalization");
  missing.add_input(f32({2, 1}, {1, 3})).add_input(f32({1}, {2}));
  EXPECT_FALSE(missing.run(15).ok());
  TestContext rank1("BatchNormalization");
  rank1.add_input(f32({2}, {1, 3})).add_input(f32({1}, {2})).add_input(f32({1}, {1}))
      .add_input(f32({1}, {0})).add_input(f32({1}, {1}));
  EXPECT_FALSE(rank1.run(15).ok());
}

TEST(ReduceTest, InstanceAndGroupNorm) {
  // One channel {1, 3}: mean 2, var 1 -> {-1, 1} (eps 0).
  TestContext in("InstanceNormalization");
  in.add_input(f32({1, 1, 2}, {1, 3})).add_input(f32({1}, {1})).add_input(f32({1}, {0}))
      .set_float("epsilon", 0);
  ASSERT_TRUE(in.run(6).ok());
  expect_floats(in.output(0), {1, 1, 2}, {-1, 1});
  // Two channels in one group {1},{3}: the same statistics; per-channel scale 1, 2.
  TestContext gn("GroupNormalization");
  gn.add_input(f32({1, 2, 1}, {1, 3})).add_input(f32({2}, {1, 2})).add_input(f32({2}, {0, 0}))
      .set_int("num_groups", 1).set_float("epsilon", 0);
  ASSERT_TRUE(gn.run(18).ok());
  expect_floats(gn.output(0), {1, 2, 1}, {-1, 2});
  TestContext bad("GroupNormalization");
  bad.add_input(f32({1, 2, 1}, {1, 3})).add_input(f32({2}, {1, 2})).add_input(f32({2}, {0, 0}))
      .set_int("num_groups", 3);
  EXPECT_FALSE(bad.run(18).ok());
  TestContext zero("GroupNormalization");
  zero.add_input(f32({1, 2, 1}, {1, 3})).add_input(f32({2}, {1, 2})).add_input(f32({2}, {0, 0}))
      .set_int("num_groups", 0);
  EXPECT_FALSE(zero.run(18).ok());
}

TEST(ReduceTest, LayerNormWithStats) {
  // Rows {1, 3} and {2, 2}: means 2, 2; vars 1, 0; eps 0 for row 0 -> {-1, 1} * W + B.
  TestContext ctx("LayerNormalization");
  ctx.add_input(f32({2, 2}, {1, 3, 2, 2})).add_input(f32({2}, {1, 2})).add_input(f32({2}, {0, 1}))
      .set_float("epsilon", 1e-12f).set_num_outputs(3);
  ASSERT_TRUE(ctx.run(17).ok());
  expect_floats(ctx.output(0), {2, 2}, {-1, 3, 0, 1});
  expect_floats(ctx.output(1), {2, 1}, {2, 2});
  EXPECT_NEAR(ctx.output(2).to_float_vector()[0], 1.f, 1e-5f);
  TestContext bad("LayerNormalization");
  bad.add_input(f32({2, 2}, {1, 3, 2, 2})).add_input(f32({3}, {1, 2, 3}));
  EXPECT_FALSE(bad.run(17).ok());
  TestContext axis("LayerNormalization");
  axis.add_input(f32({2, 2}, {1, 3, 2, 2})).add_input(f32({2}, {1, 2})).set_int("axis", 2);
  EXPECT_FALSE(axis.run(17).ok());
}

TEST(ReduceTest, LpNormAndMvn) {
  TestContext l2("LpNormalization");
  l2.add_input(f32({2, 2}, {3, 4, 0, 0}));
  ASSERT_TRUE(l2.run(13).ok());
  expect_floats(l2.output(0), {2, 2}, {0.6f, 0.8f, 0, 0});
  TestContext l1("LpNormalization");
  l1.add_input(f32({2}, {1, 3})).set_int("p", 1);
  ASSERT_TRUE(l1.run(13).ok());
  expect_floats(l1.output(0), {2}, {0.25f, 0.75f});
  TestContext p3("LpNormalization");
  p3.add_input(f32({2}, {1, 3})).set_int("p", 3);
  EXPECT_FALSE(p3.run(13).ok());
  // MVN over axis 0 of {1, 3}: (x - 2) / 1.
  TestContext mvn("MeanVarianceNormalization");
  mvn.add_input(f32({2}, {1, 3})).set_ints("axes", {0});
  ASSERT_TRUE(mvn.run(13).ok());
  expect_floats(mvn.output(0), {2}, {-1, 1});
  TestContext mvn_rank("MeanVarianceNormalization");  // default axes {0,2,3} need rank 4
  mvn_rank.add_input(f32({2}, {1, 3}));
  EXPECT_FALSE(mvn_rank.run(13).ok());
}

TEST(ReduceTest, LrnWindowAndHostileSize) {
  // C=2, size=3: each channel sums both squares (1 + 4 = 5). y = x / (1 + 1/3 * 5)^1.
  TestContext ctx("LRN");
  ctx.add_input(f32({1, 2, 1, 1}, {1, 2})).set_int("size", 3).set_float("alpha", 1)
      .set_float("beta", 1).set_float("bias", 1);
  ASSERT_TRUE(ctx.run(13).ok());
  const float d = 1 + 5.f / 3;
  expect_floats(ctx.output(0), {1, 2, 1, 1}, {1 / d, 2 / d});
  TestContext huge("LRN");  // must not loop over the window
  huge.add_input(f32({1, 2, 1, 1}, {1, 2})).set_int("size", std::numeric_limits<int64_t>::max());
  EXPECT_TRUE(huge.run(13).ok());
  TestContext zero("LRN");
  zero.add_input(f32({1, 2, 1, 1}, {1, 2})).set_int("size", 0);
  EXPECT_FALSE(zero.run(13).ok());
  TestContext none("LRN");
  none.add_input(f32({1, 2, 1, 1}, {1, 2}));
  EXPECT_FALSE(none.run(13).ok());
}

// ---- Losses ----

TEST(ReduceTest, NllLossReductions) {
  // input [N=2, C=2] log-probs; targets {0, 1}; weights {1, 3}.
  // none: {-(-1)*1, -(-2)*3} = {1, 6}; sum 7; mean 7 / (1 + 3).
  auto setup = [](TestContext& ctx, const char* red) {
    ctx.add_input(f32({2, 2}, {-1, -5, -7, -2})).add_input(i64({2}, {0, 1}))
        .add_input(f32({2}, {1, 3})).set_string("reduction", red);
  };
  TestContext none("NegativeLogLikelihoodLoss"), sum("NegativeLogLikelihoodLoss"),
      mean("NegativeLogLikelihoodLoss");
  setup(none, "none");
  setup(sum, "sum");
  setup(mean, "mean");
  ASSERT_TRUE(none.run(13).ok());
  ASSERT_TRUE(sum.run(13).ok());
  ASSERT_TRUE(mean.run(13).ok());
  expect_floats(none.output(0), {2}, {1, 6});
  expect_floats(sum.output(0), {}, {7});
  expect_floats(mean.output(0), {}, {1.75f});
  TestContext ii("NegativeLogLikelihoodLoss");  // target 1 ignored: mean = 1 / 1
  ii.add_input(f32({2, 2}, {-1, -5, -7, -2})).add_input(i64({2}, {0, 1})).set_int("ignore_index", 1);
  ASSERT_TRUE(ii.run(13).ok());
  expect_floats(ii.output(0), {}, {1});
}

TEST(ReduceTest, LossHostile) {
  TestContext range("NegativeLogLikelihoodLoss");
  range.add_input(f32({2, 2}, {-1, -5, -7, -2})).add_input(i64({2}, {0, 2}));
  EXPECT_FALSE(range.run(13).ok());
  TestContext neg("SoftmaxCrossEntropyLoss");
  neg.add_input(f32({2, 2}, {1, 2, 3, 4})).add_input(i64({2}, {-1, 0})).set_int("ignore_index", -2);
  EXPECT_FALSE(neg.run(13).ok());
  TestContext shape("NegativeLogLikelihoodLoss");
  shape.add_input(f32({2, 2}, {-1, -5, -7, -2})).add_input(i64({3}, {0, 0, 0}));
  EXPECT_FALSE(shape.run(13).ok());
  TestContext weight("SoftmaxCrossEntropyLoss");
  weight.add_input(f32({2, 2}, {1, 2, 3, 4})).add_input(i64({2}, {0, 1})).add_input(f32({3}, {1, 1, 1}));
  EXPECT_FALSE(weight.run(13).ok());
  TestContext red("SoftmaxCrossEntropyLoss");
  red.add_input(f32({2, 2}, {1, 2, 3, 4})).add_input(i64({2}, {0, 1})).set_string("reduction", "max");
  EXPECT_FALSE(red.run(13).ok());
  TestContext ftarget("NegativeLogLikelihoodLoss");
  ftarget.add_input(f32({2, 2}, {1, 2, 3, 4})).add_input(f32({2}, {0, 1}));
  EXPECT_FALSE(ftarget.run(13).ok());
  TestContext rank1("SoftmaxCrossEntropyLoss");
  rank1.add_input(f32({2}, {1, 2})).add_input(i64({}, {0}));
  EXPECT_FALSE(rank1.run(13).ok());
}

TEST(ReduceTest, SoftmaxCrossEntropyWithLogProb) {
  // scores {0, 0} per row: log_prob = -ln 2 everywhere; loss mean = ln 2.
  TestContext ctx("SoftmaxCrossEntropyLoss");
  ctx.add_input(f32({2, 2}, {0, 0, 0, 0})).add_input(i64({2}, {1, 0})).set_num_outputs(2);
  ASSERT_TRUE(ctx.run(13).ok());
  expect_floats(ctx.output(0), {}, {std::log(2.f)});
  const float l = -std::log(2.f);
  expect_floats(ctx.output(1), {2, 2}, {l, l, l, l});
}

// ---- Other dtypes ----

TEST(ReduceTest, IntegerAndHalfDtypes) {
  // int32 sum with negatives (wrapping 64-bit path) and mean truncating toward zero like numpy's
  // mean(...).astype(int32): (-3 + -4) / 2 = -3.5 -> -3.
  TestContext sum("ReduceSum");
  sum.add_input(Tensor::from_vector<int32_t>(DType::kI32, {2}, {-3, -4})).set_int("keepdims", 0);
  ASSERT_TRUE(sum.run(11).ok());
  EXPECT_EQ(sum.output(0).dtype(), DType::kI32);
  EXPECT_EQ(sum.output(0).data<int32_t>()[0], -7);
  TestContext mean("ReduceMean");
  mean.add_input(Tensor::from_vector<int32_t>(DType::kI32, {2}, {-3, -4})).set_int("keepdims", 0);
  ASSERT_TRUE(mean.run(11).ok());
  EXPECT_EQ(mean.output(0).data<int32_t>()[0], -3);
  TestContext cs("CumSum");  // int64 cumsum: hand-computed
  cs.add_input(i64({3}, {5, -2, 7})).add_input(i64({}, {0}));
  ASSERT_TRUE(cs.run(11).ok());
  EXPECT_EQ(cs.output(0).to_int64_vector(), (std::vector<int64_t>{5, 3, 10}));
  // f16 softmax of {0, 0}: {0.5, 0.5}; f16 ArgMin.
  std::vector<Half> h{Half{float_to_half(0.f)}, Half{float_to_half(0.f)}};
  TestContext sm("Softmax");
  sm.add_input(Tensor::from_vector<Half>(DType::kF16, {2}, h));
  ASSERT_TRUE(sm.run(13).ok());
  ASSERT_EQ(sm.output(0).dtype(), DType::kF16);
  EXPECT_EQ(sm.output(0).to_float_vector(), (std::vector<float>{0.5f, 0.5f}));
  std::vector<Half> h2{Half{float_to_half(2.f)}, Half{float_to_half(-1.f)}, Half{float_to_half(3.f)}};
  TestContext am("ArgMin");
  am.add_input(Tensor::from_vector<Half>(DType::kF16, {3}, h2));
  ASSERT_TRUE(am.run(13).ok());
  EXPECT_EQ(am.output(0).to_int64_vector(), (std::vector<int64_t>{1}));
  // bf16 LayerNormalization of {1, 3}: {-1, 1} (exact in bf16); Mean as f32 (stash_type 1).
  std::vector<BFloat16> b{BFloat16{float_to_bf16(1.f)}, BFloat16{float_to_bf16(3.f)}};
  std::vector<BFloat16> one{BFloat16{float_to_bf16(1.f)}, BFloat16{float_to_bf16(1.f)}};
  TestContext ln("LayerNormalization");
  ln.add_input(Tensor::from_vector<BFloat16>(DType::kBF16, {1, 2}, b))
      .add_input(Tensor::from_vector<BFloat16>(DType::kBF16, {2}, one))
      .set_float("epsilon", 0).set_num_outputs(2);
  ASSERT_TRUE(ln.run(17).ok());
  EXPECT_EQ(ln.output(0).to_float_vector(), (std::vector<float>{-1.f, 1.f}));
  EXPECT_EQ(ln.output(1).dtype(), DType::kF32);
}

}  // namespace
}  // namespace edgeai
