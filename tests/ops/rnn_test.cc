// Tests of the reference recurrent kernels (src/kernels/reference/rnn.cc): RNN, GRU, LSTM.
// Expected values come from a direct numpy implementation of the ONNX formulas (named per test);
// hostile inputs must give a non-OK Status, never a crash.
#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <string>
#include <vector>

#include "../kernel_test_util.h"

namespace edgeai {
namespace {

using testing::TestContext;

// TestContext has no string-list attributes (activations); this adds them and forwards the rest.
class StringAttrContext final : public kernels::KernelContext {
 public:
  explicit StringAttrContext(TestContext& base, std::string domain = "")
      : b_(base), domain_(std::move(domain)) {}
  StringAttrContext& set_strings(const std::string& k, std::vector<std::string> v) {
    lists_[k] = std::move(v);
    return *this;
  }
  Status run(int opset = 17) {
    opset_ = opset;
    ir::OpRegistry reg;
    kernels::KernelFn fn = reg.find(domain_, b_.op_type());
    if (!fn) return unsupported("no kernel for " + std::string(b_.op_type()));
    return fn(*this);
  }

  int num_inputs() const override { return b_.num_inputs(); }
  bool has_input(int i) const override { return b_.has_input(i); }
  const Tensor& input(int i) const override { return b_.input(i); }
  const kernels::Value& input_value(int i) const override { return b_.input_value(i); }
  int num_outputs() const override { return b_.num_outputs(); }
  bool is_output_used(int i) const override { return b_.is_output_used(i); }
  Result<Tensor*> allocate_output(int i, DType dtype, const Shape& shape) override {
    return b_.allocate_output(i, dtype, shape);
  }
  void set_output(int i, Tensor t) override { b_.set_output(i, std::move(t)); }
  void set_output_value(int i, kernels::Value v) override { b_.set_output_value(i, std::move(v)); }
  bool has_attr(std::string_view n) const override {
    return lists_.count(std::string(n)) || b_.has_attr(n);
  }
  int64_t attr_int(std::string_view n, int64_t def) const override { return b_.attr_int(n, def); }
  float attr_float(std::string_view n, float def) const override { return b_.attr_float(n, def); }
  std::string attr_string(std::string_view n, std::string_view def) const override {
    return b_.attr_string(n, def);
  }
  std::vector<int64_t> attr_ints(std::string_view n) const override { return b_.attr_ints(n); }
  std::vector<float> attr_floats(std::string_view n) const override { return b_.attr_floats(n); }
  std::vector<std::string> attr_strings(std::string_view n) const override {
    auto it = lists_.find(std::string(n));
    return it == lists_.end() ? std::vector<std::string>{} : it->second;
  }
  const Tensor* attr_tensor(std::string_view n) const override { return b_.attr_tensor(n); }
  std::string_view op_type() const override { return b_.op_type(); }
  std::string_view node_name() const override { return b_.node_name(); }
  int opset() const override { return opset_; }
  ThreadPool& pool() override { return b_.pool(); }
  const CpuFeatures& cpu() const override { return b_.cpu(); }

 private:
  TestContext& b_;
  std::string domain_;
  int opset_ = 17;
  std::map<std::string, std::vector<std::string>> lists_;
};


Tensor f32(Shape s, std::vector<float> v) { return Tensor::from_vector<float>(DType::kF32, std::move(s), v); }
Tensor i32(Shape s, std::vector<int32_t> v) { return Tensor::from_vector<int32_t>(DType::kI32, std::move(s), v); }

void expect_near(const Tensor& got, const std::vector<double>& want, double tol = 1e-5) {
  std::vector<float> g = got.to_float_vector();
  ASSERT_EQ(g.size(), want.size());
  for (size_t i = 0; i < g.size(); ++i) EXPECT_NEAR(g[i], want[i], tol) << "at " << i;
}

// Inputs of the LSTM case (numpy RandomState(42) uniform(-1, 1), rounded to 2 decimals):
// seq 3, batch 2, input 2, hidden 2, bidirectional.
const std::vector<float> kX = {-0.25, 0.9, 0.46, 0.2, -0.69, -0.69, -0.88, 0.73, 0.2, 0.42, -0.96, 0.94};
const std::vector<float> kW = {0.66, -0.58, -0.64, -0.63, -0.39, 0.05, -0.14, -0.42, 0.22, -0.72, -0.42,
                               -0.27, -0.09, 0.57, -0.6, 0.03, 0.18, -0.91, 0.22, -0.66, -0.87, 0.9,
                               0.93, 0.62, -0.39, -0.8, 0.37, -0.12, -0.76, -0.01, -0.93, 0.82};
const std::vector<float> kR = {-0.48, 0.33, -0.38, 0.04, 0.09, -0.63, 0.94, 0.55, 0.88, 0.79, 0.2,
                               0.84, -0.82, -0.61, -0.91, -0.35, -0.22, -0.46, 0.66, -0.29, -0.44, 0.09,
                               -0.72, 0.6, -0.85, 0.97, 0.54, -0.6, -0.99, 0.63, 0.41, 0.46};
const std::vector<float> kB = {0.54, -0.85, -0.28, -0.77, 0.73, 0.25, -0.34, -0.87, -0.38, -0.35, 0.46,
                               0.28, 0.77, -0.06, -0.76, 0.43, 0.52, 0.12, 0.54, -0.01, 0.05, -0.14,
                               -0.95, -0.78, -0.94, 0.27, -0.37, 0.02, 0.82, -0.5, -0.18, 0.51};
const std::vector<float> kP = {-0.54, -0.85, -0.42, -0.68, 0.86, 0.62, 0.27, 0.74, 0.61, -0.63, 0.79, 0.08};
const std::vector<float> kH0 = {0.61, 0.79, -0.36, -0.78, -0.54, -0.15, 0.64, 0.72};
const std::vector<float> kC0 = {-0.99, 0.02, -0.17, -0.56, -0.76, -0.32, 0.89, -0.35};

// Fills an LSTM context (TestContext is not movable).
void lstm_case(TestContext& ctx) {
  ctx.add_input(f32({3, 2, 2}, kX))
      .add_input(f32({2, 8, 2}, kW))
      .add_input(f32({2, 8, 2}, kR))
      .add_input(f32({2, 16}, kB))
      .add_input(i32({2}, {3, 2}))
      .add_input(f32({2, 2, 2}, kH0))
      .add_input(f32({2, 2, 2}, kC0))
      .add_input(f32({2, 6}, kP))
      .set_int("hidden_size", 2)
      .set_string("direction", "bidirectional")
      .set_num_outputs(3);
}

TEST(RnnLstm, BidirectionalPeepholesSequenceLens) {
  // Oracle: numpy LSTM per the ONNX formulas (gates i,o,f,c; peepholes i,o,f), batch 1 has
  // length 2, so its Y at t=2 is zero and the reverse direction starts at t=1.
  TestContext ctx("LSTM");
  lstm_case(ctx);
  ASSERT_TRUE(ctx.run(14).ok());
  EXPECT_EQ(ctx.output(0).shape(), (Shape{3, 2, 2, 2}));
  expect_near(ctx.output(0), {-0.4944911259, -0.0541041832, -0.1556828773, -0.0352070709, -0.3090236193,
                              0.0541950974, 0.0260301480, -0.0385255682, -0.6075626583, 0.0446395809,
                              -0.1913203358, -0.0048942685, -0.2763026753, -0.0920549067, 0.4695386110,
                              0.1078537305, -0.3962516404, 0.0140724795, 0.0, 0.0, -0.3081737511,
                              -0.1748076743, 0.0, 0.0});
  expect_near(ctx.output(1), {-0.3962516404, 0.0140724795, -0.1913203358, -0.0048942685, -0.3090236193,
                              0.0541950974, 0.0260301480, -0.0385255682});
  expect_near(ctx.output(2), {-0.8063039047, 0.0650407838, -0.2953989316, -0.0160991255, -0.4457137847,
                              0.0899555902, 0.0582586818, -0.0663134018});
}

TEST(RnnLstm, F64AndF16MatchF32) {
  // Oracle: the f32 run of the same kernel (f64 computes in double, f16 rounds its inputs).
  TestContext ref("LSTM");
  lstm_case(ref);
  ASSERT_TRUE(ref.run(14).ok());
  for (DType t : {DType::kF64, DType::kF16}) {
    TestContext ctx("LSTM");
    auto conv = [&](const std::vector<float>& v, Shape s) {
      Tensor out = Tensor::create(t, s).value();
      for (size_t i = 0; i < v.size(); ++i) {
        if (t == DType::kF64) out.data<double>()[i] = v[i];
        else out.data<Half>()[i] = Half{float_to_half(v[i])};
      }
      return out;
    };
    ctx.add_input(conv(kX, {3, 2, 2})).add_input(conv(kW, {2, 8, 2})).add_input(conv(kR, {2, 8, 2}))
        .add_input(conv(kB, {2, 16})).add_input(i32({2}, {3, 2})).add_input(conv(kH0, {2, 2, 2}))
        .add_input(conv(kC0, {2, 2, 2})).add_input(conv(kP, {2, 6}))
        .set_string("direction", "bidirectional").set_num_outputs(3);
    ASSERT_TRUE(ctx.run(14).ok());
    EXPECT_EQ(ctx.output(0).dtype(), t);
    std::vector<float> want = ref.output(1).to_float_vector();
    expect_near(ctx.output(1), std::vector<double>(want.begin(), want.end()), t == DType::kF16 ? 5e-3 : 1e-6);
  }
}

TEST(RnnLstm, InputForgetCouplesGates) {
  // Oracle: hand computation. hidden 1, input 1, all weights 0 and biases such that the input
  // gate pre-activation is 0 (i = 0.5, so f = 1 - i = 0.5), c~ = tanh(0) = 0, o = sigmoid(0):
  // C1 = 0.5 * C0 = 0.5 * 2 = 1, H1 = 0.5 * tanh(1).
  TestContext ctx("LSTM");
  ctx.add_input(f32({1, 1, 1}, {3.f}))
      .add_input(f32({1, 4, 1}, {0, 0, 100.f, 0}))  // a large forget weight that input_forget ignores
      .add_input(f32({1, 4, 1}, {0, 0, 0, 0}))
      .add_absent_input().add_absent_input().add_absent_input()
      .add_input(f32({1, 1, 1}, {2.f}))
      .set_int("input_forget", 1)
      .set_num_outputs(3);
  ASSERT_TRUE(ctx.run(14).ok());
  expect_near(ctx.output(2), {1.0});
  expect_near(ctx.output(1), {0.5 * std::tanh(1.0)});
}

TEST(RnnGru, ReverseBothResetModes) {
  // Oracle: numpy GRU per the ONNX formulas (gates z,r,h), direction reverse, X from the LSTM case.
  const std::vector<float> w = {0.04, 0.41, -0.27, 0.94, 0.92, -0.5, -0.01, -0.4, -0.43, -0.93, 0.22, 0.01};
  const std::vector<float> r = {-0.9, -0.44, 0.82, -0.52, -0.71, -0.02, 0.97, -0.52, 0.34, 0.52, -0.52, 0.46};
  const std::vector<float> b = {-0.26, 0.26, 0.27, 0.07, -0.82, 0.67, -0.36, -0.63, -0.92, 0.18, 0.36, -0.97};
  const std::vector<float> h0 = {0.02, -0.55, 0.29, -0.65};
  const std::vector<std::vector<double>> want_y = {
      {-0.4520616329, -0.4582608898, -0.6383505521, -0.3599335287, -0.0235455451, -0.4719972847,
       -0.5096263892, -0.6054829645, -0.4352426565, -0.4786858043, -0.3269067084, -0.6410149059},
      {-0.5328885826, 0.0305857158, -0.6873592258, 0.0871048752, -0.1119065818, -0.0687225593,
       -0.5565148415, -0.3930276146, -0.4637703695, -0.3191983409, -0.3523506458, -0.5972400850}};
  for (int lbr = 0; lbr < 2; ++lbr) {
    TestContext ctx("GRU");
    ctx.add_input(f32({3, 2, 2}, kX)).add_input(f32({1, 6, 2}, w)).add_input(f32({1, 6, 2}, r))
        .add_input(f32({1, 12}, b)).add_absent_input().add_input(f32({1, 2, 2}, h0))
        .set_int("hidden_size", 2).set_string("direction", "reverse")
        .set_int("linear_before_reset", lbr).set_num_outputs(2);
    ASSERT_TRUE(ctx.run(7).ok());
    expect_near(ctx.output(0), want_y[lbr]);
    expect_near(ctx.output(1), std::vector<double>(want_y[lbr].begin(), want_y[lbr].begin() + 4));
  }
}

TEST(RnnRnn, LeakyReluClipLayout1) {
  // Oracle: numpy, H_t = LeakyRelu_0.1(clip(X_t W^T + H_{t-1} R^T, -0.5, 0.5)), batch-major layout.
  TestContext base("RNN");
  base.add_input(f32({2, 3, 2}, {-0.25, 0.9, -0.69, -0.69, 0.2, 0.42, 0.46, 0.2, -0.88, 0.73, -0.96, 0.94}))
      .add_input(f32({1, 2, 2}, {0.38, -0.23, 0.87, -0.72}))
      .add_input(f32({1, 2, 2}, {-0.32, -0.77, 0.85, 0.75}))
      .set_int("layout", 1).set_float("clip", 0.5f).set_floats("activation_alpha", {0.1f})
      .set_num_outputs(2);
  StringAttrContext ctx(base);
  ctx.set_strings("activations", {"LeakyRelu"});
  ASSERT_TRUE(ctx.run(14).ok());
  EXPECT_EQ(base.output(0).shape(), (Shape{2, 3, 1, 2}));
  EXPECT_EQ(base.output(1).shape(), (Shape{2, 1, 2}));
  expect_near(base.output(0), {-0.0302, -0.05, -0.0055336, -0.016667, -0.00059957, -0.01456038, 0.1288,
                               0.2562, -0.05, -0.05, -0.05, -0.05});
  expect_near(base.output(1), {-0.00059957, -0.01456038, -0.05, -0.05});
}

TEST(RnnRnn, ZeroLengthSequenceGivesZeros) {
  // Oracle: ONNX Runtime's convention: a batch entry of length 0 has zero Y and Y_h.
  TestContext ctx("RNN");
  ctx.add_input(f32({1, 2, 1}, {1, 1})).add_input(f32({1, 1, 1}, {1})).add_input(f32({1, 1, 1}, {1}))
      .add_absent_input().add_input(i32({2}, {1, 0})).add_input(f32({1, 2, 1}, {0.5, 0.5}))
      .set_num_outputs(2);
  ASSERT_TRUE(ctx.run(14).ok());
  expect_near(ctx.output(0), {std::tanh(1.5), 0.0});
  expect_near(ctx.output(1), {std::tanh(1.5), 0.0});
}

TEST(RnnHostile, BadInputsAreErrors) {
  auto lstm = [](auto&& edit) {
    TestContext ctx("LSTM");
    lstm_case(ctx);
    edit(ctx);
    return ctx.run(14);
  };
  // Wrong W shape (hidden_size mismatch).
  {
    TestContext ctx("LSTM");
    ctx.add_input(f32({3, 2, 2}, kX)).add_input(f32({2, 6, 2}, kW)).add_input(f32({2, 8, 2}, kR))
        .set_string("direction", "bidirectional");
    EXPECT_FALSE(ctx.run(14).ok());
  }
  // direction says forward but W has two directions.
  EXPECT_FALSE(lstm([](TestContext& c) { c.set_string("direction", "forward"); }).ok());
  EXPECT_FALSE(lstm([](TestContext& c) { c.set_string("direction", "sideways"); }).ok());
  EXPECT_FALSE(lstm([](TestContext& c) { c.set_int("hidden_size", 3); }).ok());
  EXPECT_FALSE(lstm([](TestContext& c) { c.set_float("clip", -1.f); }).ok());
  EXPECT_FALSE(lstm([](TestContext& c) { c.set_int("layout", 2); }).ok());
  // layout 1 reinterprets X and initial_h: the state shape no longer matches.
  EXPECT_FALSE(lstm([](TestContext& c) { c.set_int("layout", 1); }).ok());
  // sequence_lens out of range, wrong dtype, wrong length.
  for (auto sl : {i32({2}, {4, 1}), i32({2}, {-1, 1}), i32({3}, {1, 1, 1}), f32({2}, {1, 1})}) {
    TestContext ctx("LSTM");
    ctx.add_input(f32({3, 2, 2}, kX)).add_input(f32({2, 8, 2}, kW)).add_input(f32({2, 8, 2}, kR))
        .add_input(f32({2, 16}, kB)).add_input(sl).set_string("direction", "bidirectional");
    EXPECT_FALSE(ctx.run(14).ok());
  }
  // Integer X, mixed dtypes, bad ranks, missing R.
  {
    TestContext ctx("RNN");
    ctx.add_input(i32({1, 1, 1}, {1})).add_input(f32({1, 1, 1}, {1})).add_input(f32({1, 1, 1}, {1}));
    EXPECT_FALSE(ctx.run().ok());
  }
  {
    TestContext ctx("RNN");
    ctx.add_input(f32({1, 1, 1}, {1})).add_input(i32({1, 1, 1}, {1})).add_input(f32({1, 1, 1}, {1}));
    EXPECT_FALSE(ctx.run().ok());
  }
  {
    TestContext ctx("GRU");
    ctx.add_input(f32({1, 1}, {1})).add_input(f32({1, 3, 1}, {1, 1, 1})).add_input(f32({1, 3, 1}, {1, 1, 1}));
    EXPECT_FALSE(ctx.run().ok());
  }
  {
    TestContext ctx("GRU");
    ctx.add_input(f32({1, 1, 1}, {1})).add_input(f32({1, 3, 1}, {1, 1, 1}));
    EXPECT_FALSE(ctx.run().ok());
  }
  // Bad B, initial_h and P shapes.
  {
    TestContext ctx("GRU");
    ctx.add_input(f32({1, 1, 1}, {1})).add_input(f32({1, 3, 1}, {1, 1, 1})).add_input(f32({1, 3, 1}, {1, 1, 1}))
        .add_input(f32({1, 5}, {1, 1, 1, 1, 1}));
    EXPECT_FALSE(ctx.run().ok());
  }
  EXPECT_TRUE(lstm([](TestContext&) {}).ok());  // the unmodified case runs
  {
    TestContext ctx("LSTM");
    ctx.add_input(f32({1, 1, 1}, {1})).add_input(f32({1, 4, 1}, {1, 1, 1, 1})).add_input(f32({1, 4, 1}, {1, 1, 1, 1}))
        .add_absent_input().add_absent_input().add_absent_input().add_absent_input()
        .add_input(f32({1, 2}, {1, 1}));
    EXPECT_FALSE(ctx.run().ok());
  }
  // Unknown activation, and the wrong number of activations.
  {
    TestContext base("RNN");
    base.add_input(f32({1, 1, 1}, {1})).add_input(f32({1, 1, 1}, {1})).add_input(f32({1, 1, 1}, {1}));
    StringAttrContext ctx(base);
    ctx.set_strings("activations", {"Swish"});
    EXPECT_FALSE(ctx.run().ok());
    ctx.set_strings("activations", {"Tanh", "Tanh", "Tanh"});
    EXPECT_FALSE(ctx.run().ok());
  }
}

TEST(RnnEmpty, ZeroBatchAndZeroSteps) {
  // Oracle: shapes per the spec; nothing to compute.
  TestContext ctx("GRU");
  ctx.add_input(f32({3, 0, 1}, {})).add_input(f32({1, 3, 1}, {1, 1, 1})).add_input(f32({1, 3, 1}, {1, 1, 1}))
      .set_num_outputs(2);
  ASSERT_TRUE(ctx.run(14).ok());
  EXPECT_EQ(ctx.output(0).shape(), (Shape{3, 1, 0, 1}));
  EXPECT_EQ(ctx.output(1).shape(), (Shape{1, 0, 1}));
  TestContext c2("LSTM");
  c2.add_input(f32({0, 2, 1}, {})).add_input(f32({1, 4, 1}, {1, 1, 1, 1})).add_input(f32({1, 4, 1}, {1, 1, 1, 1}))
      .set_num_outputs(3);
  ASSERT_TRUE(c2.run(14).ok());
  EXPECT_EQ(c2.output(0).shape(), (Shape{0, 1, 2, 1}));
  EXPECT_EQ(c2.output(2).to_float_vector(), (std::vector<float>{0, 0}));
}

}  // namespace
}  // namespace edgeai
