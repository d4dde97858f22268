// Every backward rule against central finite differences (the oracle), on odd shapes: strides,
// pads, dilations, groups, broadcasting, transposed operands, non-last softmax axes.
#include <gtest/gtest.h>

#include "compress/train/loss.h"
#include "compress/train_test_util.h"

namespace edgeai::compress::train {
namespace {

using namespace testing;

TEST(TrainGrad, GemmAllTransposes) {
  for (int ta = 0; ta < 2; ++ta) {
    for (int tb = 0; tb < 2; ++tb) {
      Shape as = ta ? Shape{5, 3} : Shape{3, 5};
      Shape bs = tb ? Shape{7, 5} : Shape{5, 7};
      auto g = make_graph({node("Gemm", {"a", "b", "c"}, {"y"},
                                {attr_i("transA", ta), attr_i("transB", tb), attr_f("alpha", 0.7f), attr_f("beta", 1.3f)})},
                          {{"a", random_tensor(as, 1)}, {"b", random_tensor(bs, 2)}, {"c", random_tensor({7}, 3)}});
      expect_gradients_match(std::move(g), {"a", "b", "c"});
    }
  }
}

TEST(TrainGrad, MatMulBatchedBroadcastAndVector) {
  auto g = make_graph({node("MatMul", {"a", "b"}, {"y"})},
                      {{"a", random_tensor({2, 1, 3, 4}, 1)}, {"b", random_tensor({3, 4, 5}, 2)}});
  expect_gradients_match(std::move(g), {"a", "b"});
  auto v = make_graph({node("MatMul", {"a", "b"}, {"y"})}, {{"a", random_tensor({4}, 3)}, {"b", random_tensor({2, 4, 3}, 4)}});
  expect_gradients_match(std::move(v), {"a", "b"});
}

TEST(TrainGrad, ConvStridePadDilation) {
  auto g = make_graph({node("Conv", {"x", "w", "b"}, {"y"},
                            {attr_is("strides", {2, 1}), attr_is("pads", {1, 0, 2, 1}), attr_is("dilations", {1, 2})})},
                      {{"x", random_tensor({2, 3, 7, 6}, 1)}, {"w", random_tensor({4, 3, 3, 2}, 2)}, {"b", random_tensor({4}, 3)}});
  expect_gradients_match(std::move(g), {"x", "w", "b"});
}

TEST(TrainGrad, ConvGroupedAndDepthwise) {
  auto g = make_graph({node("Conv", {"x", "w"}, {"y"}, {attr_i("group", 2), attr_is("pads", {1, 1, 1, 1})})},
                      {{"x", random_tensor({1, 4, 5, 5}, 1)}, {"w", random_tensor({6, 2, 3, 3}, 2)}});
  expect_gradients_match(std::move(g), {"x", "w"});
  auto d = make_graph({node("Conv", {"x", "w", "b"}, {"y"}, {attr_i("group", 3), attr_is("strides", {2, 2}), attr_s("auto_pad", "SAME_UPPER")})},
                      {{"x", random_tensor({2, 3, 6, 5}, 4)}, {"w", random_tensor({3, 1, 3, 3}, 5)}, {"b", random_tensor({3}, 6)}});
  expect_gradients_match(std::move(d), {"x", "w", "b"});
}

TEST(TrainGrad, Conv1d) {
  auto g = make_graph({node("Conv", {"x", "w", "b"}, {"y"}, {attr_is("pads", {2, 1}), attr_is("strides", {2})})},
                      {{"x", random_tensor({2, 3, 9}, 1)}, {"w", random_tensor({5, 3, 4}, 2)}, {"b", random_tensor({5}, 3)}});
  expect_gradients_match(std::move(g), {"x", "w", "b"});
}

TEST(TrainGrad, Pools) {
  auto mp = make_graph({node("MaxPool", {"x"}, {"y"}, {attr_is("kernel_shape", {3, 2}), attr_is("strides", {2, 2}), attr_is("pads", {1, 0, 1, 1})})},
                       {{"x", random_tensor({2, 3, 7, 5}, 1)}});
  expect_gradients_match(std::move(mp), {"x"});
  for (int cip = 0; cip < 2; ++cip) {
    auto ap = make_graph({node("AveragePool", {"x"}, {"y"},
                               {attr_is("kernel_shape", {3, 3}), attr_is("strides", {2, 1}), attr_is("pads", {1, 1, 1, 1}),
                                attr_i("count_include_pad", cip)})},
                         {{"x", random_tensor({1, 2, 6, 5}, 2)}});
    expect_gradients_match(std::move(ap), {"x"});
  }
  auto gp = make_graph({node("GlobalAveragePool", {"x"}, {"y"})}, {{"x", random_tensor({2, 3, 4, 5}, 3)}});
  expect_gradients_match(std::move(gp), {"x"});
}

TEST(TrainGrad, BatchNormTrainingMode) {
  auto g = make_graph({node("BatchNormalization", {"x", "s", "b", "m", "v"}, {"y"}, {attr_f("epsilon", 1e-3f)})},
                      {{"x", random_tensor({3, 4, 2, 3}, 1, -2, 2)}, {"s", random_tensor({4}, 2, 0.5, 1.5)},
                       {"b", random_tensor({4}, 3)}, {"m", random_tensor({4}, 4)}, {"v", random_tensor({4}, 5, 0.5, 1.0)}});
  expect_gradients_match(std::move(g), {"x", "s", "b"}, 1e-3, 2e-2);
}

TEST(TrainGrad, Activations) {
  const std::vector<std::pair<std::string, std::vector<ir::Attribute>>> ops = {
      {"Relu", {}}, {"Sigmoid", {}}, {"Tanh", {}}, {"LeakyRelu", {attr_f("alpha", 0.2f)}}};
  for (const auto& [op, attrs] : ops) {
    auto g = make_graph({node(op, {"x"}, {"y"}, attrs)}, {{"x", random_tensor({3, 7}, 1, -2, 2, 0.05f)}});
    SCOPED_TRACE(op);
    expect_gradients_match(std::move(g), {"x"});
  }
  auto gelu = make_graph({node("Gelu", {"x"}, {"y"}, {}, "com.edgeai")}, {{"x", random_tensor({3, 7}, 2, -3, 3)}});
  expect_gradients_match(std::move(gelu), {"x"});
  auto clip = make_graph({node("Clip", {"x", "lo", "hi"}, {"y"})},
                         {{"x", random_tensor({4, 5}, 3, -3, 3)}, {"lo", Tensor::from_vector<float>(DType::kF32, {}, {-1.0f})},
                          {"hi", Tensor::from_vector<float>(DType::kF32, {}, {1.5f})}});
  expect_gradients_match(std::move(clip), {"x"});
}

TEST(TrainGrad, BinaryBroadcast) {
  for (const char* op : {"Add", "Sub", "Mul", "Div"}) {
    SCOPED_TRACE(op);
    auto g = make_graph({node(op, {"a", "b"}, {"y"})},
                        {{"a", random_tensor({2, 3, 4}, 1)}, {"b", random_tensor({3, 1}, 2, 0.5, 2.0)}});
    expect_gradients_match(std::move(g), {"a", "b"});
  }
}

TEST(TrainGrad, ShapeOps) {
  auto g = make_graph({node("Reshape", {"x", "shape"}, {"r"}), node("Transpose", {"r"}, {"t"}, {attr_is("perm", {2, 0, 1})}),
                       node("Concat", {"t", "z"}, {"c"}, {attr_i("axis", 1)}), node("Flatten", {"c"}, {"f"}, {attr_i("axis", 1)}),
                       node("Mul", {"f", "f"}, {"y"})},
                      {{"x", random_tensor({2, 12}, 1)}, {"shape", Tensor::from_vector<int64_t>(DType::kI64, {3}, {2, 3, 4})},
                       {"z", random_tensor({4, 5, 3}, 2)}});
  expect_gradients_match(std::move(g), {"x", "z"});
}

TEST(TrainGrad, SoftmaxAndLogSoftmax) {
  for (const char* op : {"Softmax", "LogSoftmax"}) {
    SCOPED_TRACE(op);
    for (int axis : {1, -1}) {
      auto g = make_graph({node(op, {"x"}, {"y"}, {attr_i("axis", axis)})}, {{"x", random_tensor({2, 3, 4}, 1, -2, 2)}});
      expect_gradients_match(std::move(g), {"x"});
      auto old = make_graph({node(op, {"x"}, {"y"}, {attr_i("axis", axis)})}, {{"x", random_tensor({2, 3, 4}, 2, -2, 2)}}, 11);
      expect_gradients_match(std::move(old), {"x"});
    }
  }
}

TEST(TrainGrad, SmallCnnChain) {
  auto g = make_graph(
      {node("Conv", {"x", "w1", "b1"}, {"c1"}, {attr_is("pads", {1, 1, 1, 1})}),
       node("BatchNormalization", {"c1", "s", "bb", "m", "v"}, {"n1"}), node("Relu", {"n1"}, {"r1"}),
       node("MaxPool", {"r1"}, {"p1"}, {attr_is("kernel_shape", {2, 2}), attr_is("strides", {2, 2})}),
       node("Flatten", {"p1"}, {"f"}), node("Gemm", {"f", "w2", "b2"}, {"y"}, {attr_i("transB", 1)})},
      {{"x", random_tensor({3, 2, 4, 4}, 1)}, {"w1", random_tensor({3, 2, 3, 3}, 2)}, {"b1", random_tensor({3}, 3)},
       {"s", random_tensor({3}, 4, 0.5, 1.5)}, {"bb", random_tensor({3}, 5)}, {"m", random_tensor({3}, 6)},
       {"v", random_tensor({3}, 7, 0.5, 1)}, {"w2", random_tensor({4, 12}, 8)}, {"b2", random_tensor({4}, 9)}});
  expect_gradients_match(std::move(g), {"w1", "b1", "s", "bb", "w2", "b2"}, 1e-3, 3e-2);
}

// Losses: analytic gradients against finite differences, and known values.
TEST(TrainGrad, CrossEntropyAndKl) {
  Tensor logits = random_tensor({3, 5}, 1, -2, 2);
  Tensor teacher = random_tensor({3, 5}, 2, -2, 2);
  std::vector<int64_t> labels{4, 0, 2};
  Tensor d = Tensor::create(DType::kF32, {3, 5}).value();
  Tensor dk = Tensor::create(DType::kF32, {3, 5}).value();
  ASSERT_TRUE(cross_entropy(logits, labels, &d).ok());
  ASSERT_TRUE(distill_kl(logits, teacher, 3.0f, &dk).ok());
  for (int64_t i = 0; i < 15; ++i) {
    float* v = logits.data<float>() + i;
    const float o = *v;
    *v = o + 1e-3f;
    double cp = *cross_entropy(logits, labels, nullptr), kp = *distill_kl(logits, teacher, 3.0f, nullptr);
    *v = o - 1e-3f;
    double cm = *cross_entropy(logits, labels, nullptr), km = *distill_kl(logits, teacher, 3.0f, nullptr);
    *v = o;
    EXPECT_NEAR(d.data<float>()[i], (cp - cm) / 2e-3, 2e-3);
    EXPECT_NEAR(dk.data<float>()[i], (kp - km) / 2e-3, 2e-3);
  }
  // Uniform logits: CE = log(C); identical teacher and student: KL = 0.
  Tensor zero = Tensor::create(DType::kF32, {2, 10}).value();
  EXPECT_NEAR(*cross_entropy(zero, std::vector<int64_t>{3, 7}, nullptr), std::log(10.0), 1e-6);
  EXPECT_NEAR(*distill_kl(logits, logits, 2.0f, nullptr), 0.0, 1e-9);
}

TEST(TrainGrad, FakeQuantStraightThrough) {
  // Inside the range the gradient passes unchanged, clamped values get none.
  auto g = make_graph({node("FakeQuant", {"x", "s", "z"}, {"y"}, {attr_f("qmin", 0), attr_f("qmax", 255)}, "com.edgeai.train")},
                      {{"x", Tensor::from_vector<float>(DType::kF32, {4}, {-1.0f, 0.1f, 0.5f, 9.0f})},
                       {"s", Tensor::from_vector<float>(DType::kF32, {1}, {0.01f})},
                       {"z", Tensor::from_vector<float>(DType::kF32, {1}, {10.0f})}});
  TrainableOptions o;
  o.params = {"x"};
  auto t = Trainable::create(std::move(g), o);
  ASSERT_TRUE(t.ok()) << t.status().message();
  Tensor feed = Tensor::create(DType::kF32, {1}).value();
  auto y = (*t)->forward(feed, true);
  ASSERT_TRUE(y.ok());
  EXPECT_FLOAT_EQ(y->data<float>()[0], -0.1f);  // clamped to q = 0
  EXPECT_FLOAT_EQ(y->data<float>()[1], 0.1f);
  EXPECT_FLOAT_EQ(y->data<float>()[3], 2.45f);  // clamped to q = 255
  (*t)->zero_grad();
  ASSERT_TRUE((*t)->backward(Tensor::from_vector<float>(DType::kF32, {4}, {1, 1, 1, 1})).ok());
  const float* gr = (*t)->grads()[0].data<float>();
  EXPECT_EQ(gr[0], 0.0f);
  EXPECT_EQ(gr[1], 1.0f);
  EXPECT_EQ(gr[2], 1.0f);
  EXPECT_EQ(gr[3], 0.0f);
}

}  // namespace
}  // namespace edgeai::compress::train
