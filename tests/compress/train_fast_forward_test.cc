// The training engine's forward pass on the optimized CPU kernels against the same pass on the
// reference kernels (the oracle, TrainableOptions::fast_kernels = false): every tape value, the
// loss and every parameter gradient agree within a float-reassociation tolerance, on the digits
// CNN and a small MLP of odd sizes, for each ISA table this machine runs and 1-2 threads. After an
// optimizer step changes the weights, the next fast forward must match the reference run with
// the NEW weights (packed weights kept from the step before would not).
#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "compress/train/data.h"
#include "compress/train/fake_quant.h"
#include "compress/train/loss.h"
#include "compress/train/optimizer.h"
#include "compress/train_test_util.h"
#include "formats/onnx/onnx_import.h"
#include "kernels/cpu_test_util.h"

namespace edgeai::compress::train {
namespace {

using namespace testing;

const std::string kDigits = std::string(EDGEAI_SOURCE_DIR) + "/models/digits/";

// rtol, and atol relative to the largest |value| of the tensor: the fast kernels reassociate
// sums (GEMM tiles, Winograd) but compute the same function.
constexpr double kTapeTol = 1e-4;
constexpr double kGradTol = 1e-3;

struct Pass {
  double loss = 0;
  Tensor logits;
};

Pass forward_backward(Trainable& m, const Tensor& x, const std::vector<int64_t>& labels) {
  Pass p;
  auto y = m.forward(x, true);
  EXPECT_TRUE(y.ok()) << y.status().message();
  if (!y.ok()) return p;
  p.logits = *y;
  Tensor d = Tensor::create(DType::kF32, y->shape()).value();
  auto loss = cross_entropy(*y, labels, &d);
  EXPECT_TRUE(loss.ok()) << loss.status().message();
  p.loss = loss.ok() ? *loss : 0;
  m.zero_grad();
  Status st = m.backward(d);
  EXPECT_TRUE(st.ok()) << st.message();
  return p;
}

// Every node output of the last forward pass, and the gradients, of `fast` against `ref`.
void expect_same_pass(Trainable& fast, Trainable& ref, const Pass& pf, const Pass& pr, const std::string& what) {
  int values = 0;
  for (const ir::Node& n : ref.graph().nodes) {
    for (const std::string& o : n.outputs) {
      const Tensor* want = ref.value(o);
      if (o.empty() || !want || want->dtype() != DType::kF32) continue;
      const Tensor* got = fast.value(o);
      ASSERT_NE(got, nullptr) << what << ": " << o;
      EXPECT_TRUE(edgeai::testing::close(*got, *want, kTapeTol, kTapeTol)) << what << ": tape value " << o;
      ++values;
    }
  }
  EXPECT_GT(values, 3) << what;
  EXPECT_NEAR(pf.loss, pr.loss, kTapeTol * std::max(1.0, std::fabs(pr.loss))) << what;
  ASSERT_EQ(fast.grads().size(), ref.grads().size());
  for (size_t i = 0; i < ref.grads().size(); ++i) {
    EXPECT_TRUE(edgeai::testing::close(fast.grads()[i], ref.grads()[i], kGradTol, kGradTol))
        << what << ": gradient of " << ref.param_names()[i];
  }
}

// Largest |a - b| relative to max |b|.
double rel_diff(const Tensor& a, const Tensor& b) {
  double d = 0, m = 0;
  for (int64_t i = 0; i < b.numel(); ++i) {
    d = std::max(d, std::fabs(static_cast<double>(a.data<float>()[i]) - b.data<float>()[i]));
    m = std::max(m, std::fabs(static_cast<double>(b.data<float>()[i])));
  }
  return d / std::max(m, 1e-30);
}

// For each ISA table and 1-2 threads: one pass on both paths, a large SGD step on the fast
// model's gradients, the new weights copied into the reference model, and a second pass on both.
void check_model(const ir::Graph& g, const Tensor& x, const std::vector<int64_t>& labels, int min_fast_nodes,
                 float lr = 0.5f) {
  for (const CpuFeatures& cpu : edgeai::testing::isa_variants()) {
    for (int threads : {1, 2}) {
      const std::string what = std::string(kernels::cpu::ukernels_for(cpu).name) + ", " + std::to_string(threads) + " threads";
      TrainableOptions fo, ro;
      fo.cpu = ro.cpu = cpu;
      fo.threads = ro.threads = threads;
      ro.fast_kernels = false;
      auto fast = Trainable::create(g, fo);
      auto ref = Trainable::create(g, ro);
      ASSERT_TRUE(fast.ok() && ref.ok()) << what;
      Pass pf = forward_backward(**fast, x, labels);
      Pass pr = forward_backward(**ref, x, labels);
      EXPECT_GE((*fast)->fast_node_count(), min_fast_nodes) << what;
      EXPECT_EQ((*ref)->fast_node_count(), 0) << what;
      expect_same_pass(**fast, **ref, pf, pr, what + ", first pass");

      OptimizerOptions oo;
      oo.kind = OptimizerKind::kSgd;
      oo.momentum = 0;
      Optimizer opt(oo);
      ASSERT_TRUE(opt.step((*fast)->params(), (*fast)->grads(), lr).ok());
      for (size_t i = 0; i < (*ref)->params().size(); ++i) {
        const Tensor& src = (*fast)->params()[i];
        std::copy_n(src.data<float>(), src.numel(), (*ref)->params()[i].data<float>());
      }
      Pass qf = forward_backward(**fast, x, labels);
      Pass qr = forward_backward(**ref, x, labels);
      // The step must move the logits far past the tolerance, or stale weights would pass.
      EXPECT_GT(rel_diff(qr.logits, pr.logits), 100 * kTapeTol) << what;
      expect_same_pass(**fast, **ref, qf, qr, what + ", after a step");
    }
  }
}

// 37 training images (an odd batch: partial tiles) and their labels.
void digits_batch(Tensor* x, std::vector<int64_t>* labels) {
  auto d = load_npy_pair(kDigits + "train_images.npy", kDigits + "train_labels.npy");
  ASSERT_TRUE(d.ok()) << d.status().message();
  std::vector<int64_t> idx;
  for (int64_t i = 0; i < 37; ++i) {
    idx.push_back(i * 7);
    labels->push_back(d->y[i * 7]);
  }
  auto g = gather_rows(d->x, idx);
  ASSERT_TRUE(g.ok());
  *x = *g;
}

int fast_nodes(const ir::Graph& g, const Tensor& x) {
  auto t = Trainable::create(g);
  EXPECT_TRUE(t.ok());
  if (!t.ok()) return -1;
  EXPECT_TRUE((*t)->forward(x, true).ok());
  return (*t)->fast_node_count();
}

TEST(TrainFastForward, DigitsCnnMatchesReference) {
  auto m = formats::load_onnx(kDigits + "digits_cnn.onnx");
  ASSERT_TRUE(m.ok()) << m.status().message();
  Tensor x;
  std::vector<int64_t> labels;
  digits_batch(&x, &labels);
  check_model(*m->graph, x, labels, 5);  // at least the 3 Conv and 2 Gemm
}

// QAT's fake-quantized weights are computed in the pass but do not depend on the feed: the Conv
// and Gemm nodes behind them still take the optimized kernels, packed from this pass's values.
TEST(TrainFastForward, QatWeightsOnDigitsCnnMatchReference) {
  auto m = formats::load_onnx(kDigits + "digits_cnn.onnx");
  ASSERT_TRUE(m.ok()) << m.status().message();
  auto q = insert_fake_quant(*m->graph, {});  // weights only: activations stay float
  ASSERT_TRUE(q.ok()) << q.status().message();
  ASSERT_EQ(q->weights.size(), 5u);
  Tensor x;
  std::vector<int64_t> labels;
  digits_batch(&x, &labels);
  const int plain = fast_nodes(*m->graph, x);
  EXPECT_GE(plain, 5);
  check_model(q->graph, x, labels, plain, 5.0f);  // a step that crosses the weights' int8 steps
}

// Gemm (transB, bias) -> Relu -> MatMul -> Add -> Tanh -> Gemm -> Sigmoid -> Gemm, odd sizes.
TEST(TrainFastForward, SmallMlpMatchesReference) {
  ir::Graph g = make_graph(
      {node("Gemm", {"feed", "w1", "b1"}, {"h1"}, {attr_i("transB", 1)}), node("Relu", {"h1"}, {"r1"}),
       node("MatMul", {"r1", "w2"}, {"m2"}), node("Add", {"m2", "b2"}, {"a2"}), node("Tanh", {"a2"}, {"t2"}),
       node("Gemm", {"t2", "w3", "b3"}, {"h3"}), node("Sigmoid", {"h3"}, {"s3"}),
       node("Gemm", {"s3", "w4", "b4"}, {"y"})},
      {{"w1", random_tensor({19, 13}, 1)},
       {"b1", random_tensor({19}, 2)},
       {"w2", random_tensor({19, 11}, 3)},
       {"b2", random_tensor({11}, 4)},
       {"w3", random_tensor({11, 17}, 5)},
       {"b3", random_tensor({17}, 6)},
       {"w4", random_tensor({17, 5}, 7)},
       {"b4", random_tensor({5}, 8)}});
  Tensor x = random_tensor({9, 13}, 9);
  check_model(g, x, {0, 1, 2, 3, 4, 0, 1, 2, 3}, 6);
}

// The finite-difference oracle holds on the reference path too (the TrainGrad tests check the
// default, optimized one), and that path runs no optimized kernel.
TEST(TrainFastForward, ReferencePathGradientsMatchFiniteDifferences) {
  ir::Graph g = make_graph({node("Conv", {"x", "w", "b"}, {"c"}, {attr_is("pads", {1, 1, 1, 1})}),
                            node("Relu", {"c"}, {"r"}), node("Flatten", {"r"}, {"f"}),
                            node("Gemm", {"f", "v"}, {"y"}, {attr_i("transB", 1)})},
                           {{"x", random_tensor({2, 3, 5, 6}, 1)}, {"w", random_tensor({4, 3, 3, 3}, 2)},
                            {"b", random_tensor({4}, 3)}, {"v", random_tensor({3, 120}, 4)}});
  expect_gradients_match(g, {"w", "b", "v"}, 1e-3, 1e-2, 60, false);
  TrainableOptions o;
  o.params = {"w"};
  o.fast_kernels = false;
  auto t = Trainable::create(g, o);
  ASSERT_TRUE(t.ok());
  ASSERT_TRUE((*t)->forward(Tensor::create(DType::kF32, {1}).value(), true).ok());
  EXPECT_EQ((*t)->fast_node_count(), 0);
  o.fast_kernels = true;
  auto f = Trainable::create(g, o);
  ASSERT_TRUE(f.ok());
  ASSERT_TRUE((*f)->forward(Tensor::create(DType::kF32, {1}).value(), true).ok());
  EXPECT_EQ((*f)->fast_node_count(), 3);  // Conv, Relu, Gemm
}

}  // namespace
}  // namespace edgeai::compress::train
