// Tests of the reference kernels in src/kernels/reference/misc.cc: NonMaxSuppression, the signal
// ops, the text ops, Dropout and the random ops, and the training optimizers. Expected values are
// hand-computed or numpy-computed (named per test); hostile inputs must give a non-OK Status,
// never a crash.
#include <gtest/gtest.h>

#include <cmath>
#include <complex>
#include <map>
#include <numbers>
#include <string>
#include <vector>

#include "../kernel_test_util.h"

namespace edgeai {
namespace {

using testing::TestContext;

// TestContext has no string-list attributes (stopwords, pool_strings); this adds them and
// forwards the rest.
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
Tensor f64(Shape s, std::vector<double> v) { return Tensor::from_vector<double>(DType::kF64, std::move(s), v); }
Tensor i32(Shape s, std::vector<int32_t> v) { return Tensor::from_vector<int32_t>(DType::kI32, std::move(s), v); }
Tensor i64(Shape s, std::vector<int64_t> v) { return Tensor::from_vector<int64_t>(DType::kI64, std::move(s), v); }
Tensor boolean(Shape s, std::vector<bool> v) {
  Tensor t = Tensor::create(DType::kBool, std::move(s)).value();
  for (size_t i = 0; i < v.size(); ++i) t.data<bool>()[i] = v[i];
  return t;
}
Tensor str(Shape s, std::vector<std::string> v) { return Tensor::from_vector<std::string>(DType::kString, std::move(s), v); }

std::vector<int64_t> ints(const Tensor& t) { return t.to_int64_vector(); }
std::vector<std::string> strings(const Tensor& t) {
  return std::vector<std::string>(t.data<std::string>(), t.data<std::string>() + t.numel());
}

void expect_near(const Tensor& got, const std::vector<double>& want, double tol = 1e-5) {
  ASSERT_EQ(got.numel(), static_cast<int64_t>(want.size()));
  for (size_t i = 0; i < want.size(); ++i) {
    EXPECT_NEAR(got.get_double(i), want[i], tol * std::max(1.0, std::fabs(want[i]))) << "at " << i;
  }
}

// ---- NonMaxSuppression ----

TEST(MiscNms, SelectsByScoreAndIou) {
  // Oracle: hand computation. Box 1 (score .95) is picked first; box 0 overlaps it with IOU
  // 0.9 / 1.1 > 0.5 and is dropped; box 2 does not overlap.
  auto run = [](std::vector<float> boxes, int64_t center, int64_t max_out, float score_thr, bool with_thr) {
    TestContext ctx("NonMaxSuppression");
    ctx.add_input(f32({1, 3, 4}, boxes)).add_input(f32({1, 1, 3}, {0.9f, 0.95f, 0.5f}))
        .add_input(i64({1}, {max_out})).add_input(f32({1}, {0.5f}));
    if (with_thr) ctx.add_input(f32({1}, {score_thr}));
    ctx.set_int("center_point_box", center);
    EXPECT_TRUE(ctx.run(11).ok());
    return ctx.output(0);
  };
  const std::vector<float> corners = {0, 0, 1, 1, 0, 0.1f, 1, 1.1f, 0, 2, 1, 3};
  Tensor y = run(corners, 0, 3, 0, false);
  EXPECT_EQ(y.shape(), (Shape{2, 3}));
  EXPECT_EQ(ints(y), (std::vector<int64_t>{0, 0, 1, 0, 0, 2}));
  EXPECT_EQ(ints(run(corners, 0, 3, 0.6f, true)), (std::vector<int64_t>{0, 0, 1}));
  EXPECT_EQ(run(corners, 0, 0, 0, false).shape(), (Shape{0, 3}));
  EXPECT_EQ(ints(run(corners, 0, 1, 0, false)), (std::vector<int64_t>{0, 0, 1}));
  // The same boxes as [x_center, y_center, width, height], with flipped corner order too.
  const std::vector<float> centers = {0.5f, 0.5f, 1, 1, 0.6f, 0.5f, 1, 1, 2.5f, 0.5f, 1, 1};
  EXPECT_EQ(ints(run(centers, 1, 3, 0, false)), (std::vector<int64_t>{0, 0, 1, 0, 0, 2}));
  const std::vector<float> flipped = {1, 1, 0, 0, 1, 1.1f, 0, 0.1f, 1, 3, 0, 2};
  EXPECT_EQ(ints(run(flipped, 0, 3, 0, false)), (std::vector<int64_t>{0, 0, 1, 0, 0, 2}));
}

TEST(MiscNms, HostileInputs) {
  auto run = [](Tensor boxes, Tensor scores, auto&& more) {
    TestContext ctx("NonMaxSuppression");
    ctx.add_input(boxes).add_input(scores);
    more(ctx);
    return ctx.run(11);
  };
  auto none = [](TestContext&) {};
  const Tensor b = f32({1, 2, 4}, {0, 0, 1, 1, 0, 0, 1, 1});
  const Tensor s = f32({1, 1, 2}, {0.5f, 0.6f});
  EXPECT_TRUE(run(b, s, none).ok());
  EXPECT_FALSE(run(f32({2, 4}, {0, 0, 1, 1, 0, 0, 1, 1}), s, none).ok());
  EXPECT_FALSE(run(f32({1, 2, 3}, {0, 0, 1, 1, 0, 0}), s, none).ok());
  EXPECT_FALSE(run(b, f32({1, 1, 3}, {1, 1, 1}), none).ok());
  EXPECT_FALSE(run(b, f32({2, 1, 2}, {1, 1, 1, 1}), none).ok());
  EXPECT_FALSE(run(b, f64({1, 1, 2}, {1, 1}), none).ok());
  EXPECT_FALSE(run(b, s, [](TestContext& c) { c.add_input(i32({1}, {3})); }).ok());
  EXPECT_FALSE(run(b, s, [](TestContext& c) { c.add_input(i64({2}, {3, 3})); }).ok());
  EXPECT_FALSE(run(b, s, [](TestContext& c) { c.add_input(i64({1}, {3})).add_input(f32({1}, {1.5f})); }).ok());
  EXPECT_FALSE(run(b, s, [](TestContext& c) { c.add_input(i64({1}, {3})).add_input(f32({1}, {NAN})); }).ok());
  EXPECT_FALSE(run(b, s, [](TestContext& c) { c.set_int("center_point_box", 2); }).ok());
}

// ---- DFT, STFT ----

// Direct DFT in long double: the oracle for every transform length.
std::vector<std::complex<long double>> direct_dft(const std::vector<std::complex<long double>>& x, bool inverse) {
  const size_t n = x.size();
  std::vector<std::complex<long double>> y(n);
  const long double sign = inverse ? 1.0L : -1.0L;
  for (size_t k = 0; k < n; ++k) {
    std::complex<long double> s = 0;
    for (size_t j = 0; j < n; ++j) {
      const long double a = sign * 2.0L * std::numbers::pi_v<long double> * static_cast<long double>((j * k) % n) / n;
      s += x[j] * std::complex<long double>(std::cos(a), std::sin(a));
    }
    y[k] = inverse ? s / static_cast<long double>(n) : s;
  }
  return y;
}

TEST(MiscDft, AllLengthPathsMatchDirectSum) {
  // n = 5 (direct), 8 (radix 2), 100 (Bluestein), 97 (prime, Bluestein); complex input, both
  // directions, f64 to check the algorithm tightly.
  for (int64_t n : {5, 8, 100, 97}) {
    for (int inverse = 0; inverse < 2; ++inverse) {
      std::vector<double> v(static_cast<size_t>(2 * n));
      std::vector<std::complex<long double>> x(static_cast<size_t>(n));
      for (int64_t j = 0; j < n; ++j) {
        v[2 * j] = std::sin(0.3 * j) + 0.1 * j;
        v[2 * j + 1] = std::cos(1.7 * j);
        x[j] = {v[2 * j], v[2 * j + 1]};
      }
      TestContext ctx("DFT");
      ctx.add_input(f64({1, n, 2}, v)).set_int("inverse", inverse);
      ASSERT_TRUE(ctx.run(17).ok());
      auto want = direct_dft(x, inverse);
      std::vector<double> flat;
      for (auto c : want) {
        flat.push_back(static_cast<double>(c.real()));
        flat.push_back(static_cast<double>(c.imag()));
      }
      expect_near(ctx.output(0), flat, 1e-9);
    }
  }
}

TEST(MiscDft, PaddingOnesidedAndAxis) {
  // Oracle: numpy.fft.fft([1, 2, 3, 0]) = [6, -2-2j, 2, -2+2j]; onesided keeps 4 / 2 + 1 bins.
  TestContext ctx("DFT");
  ctx.add_input(f32({1, 3, 1}, {1, 2, 3})).add_input(i64({}, {4})).set_int("onesided", 1);
  ASSERT_TRUE(ctx.run(17).ok());
  EXPECT_EQ(ctx.output(0).shape(), (Shape{1, 3, 2}));
  expect_near(ctx.output(0), {6, 0, -2, -2, 2, 0});
  // Truncation, and a transform along axis 2 of [1, 2, 2, 1]: rows [1, 2] and [3, 4].
  TestContext c2("DFT");
  c2.add_input(f32({1, 2, 2, 1}, {1, 2, 3, 4})).set_int("axis", 2);
  ASSERT_TRUE(c2.run(17).ok());
  expect_near(c2.output(0), {3, 0, -1, 0, 7, 0, -1, 0});
  TestContext c3("DFT");
  c3.add_input(f32({1, 3, 1}, {1, 2, 3})).add_input(i32({}, {1}));
  ASSERT_TRUE(c3.run(17).ok());
  expect_near(c3.output(0), {1, 0});
}

TEST(MiscStft, FramesWithAndWithoutWindow) {
  // Oracle: numpy.fft.rfft of frames [2f .. 2f+3] of arange(8): [8f+6, -2+2j, -2]; with window
  // [0, 1, 1, 0] frames 0 and 1 are [0, 1, 2, 0] and [0, 5, 6, 0]: [3, -2-1j, 1], [11, -6-5j, 1].
  TestContext ctx("STFT");
  std::vector<float> sig = {0, 1, 2, 3, 4, 5, 6, 7};
  ctx.add_input(f32({1, 8, 1}, sig)).add_input(i64({}, {2})).add_absent_input().add_input(i64({}, {4}));
  ASSERT_TRUE(ctx.run(17).ok());
  EXPECT_EQ(ctx.output(0).shape(), (Shape{1, 3, 3, 2}));
  expect_near(ctx.output(0), {6, 0, -2, 2, -2, 0, 14, 0, -2, 2, -2, 0, 22, 0, -2, 2, -2, 0});
  TestContext c2("STFT");
  c2.add_input(f32({1, 8, 1}, sig)).add_input(i64({}, {4})).add_input(f32({4}, {0, 1, 1, 0}));
  ASSERT_TRUE(c2.run(17).ok());
  EXPECT_EQ(c2.output(0).shape(), (Shape{1, 2, 3, 2}));
  expect_near(c2.output(0), {3, 0, -2, -1, 1, 0, 11, 0, -6, -5, 1, 0});
}

TEST(MiscSignal, HostileInputs) {
  auto dft = [](Tensor x, auto&& more) {
    TestContext ctx("DFT");
    ctx.add_input(x);
    more(ctx);
    return ctx.run(17);
  };
  auto none = [](TestContext&) {};
  EXPECT_FALSE(dft(f32({1, 3}, {1, 2, 3}), none).ok());                 // rank 2
  EXPECT_FALSE(dft(f32({1, 1, 3}, {1, 2, 3}), none).ok());              // last dim 3
  EXPECT_FALSE(dft(i32({1, 3, 1}, {1, 2, 3}), none).ok());              // integer
  EXPECT_FALSE(dft(f32({1, 3, 1}, {1, 2, 3}), [](TestContext& c) { c.set_int("axis", 2); }).ok());
  EXPECT_FALSE(dft(f32({1, 3, 1}, {1, 2, 3}), [](TestContext& c) { c.set_int("axis", -1); }).ok());
  EXPECT_FALSE(dft(f32({1, 3, 1}, {1, 2, 3}), [](TestContext& c) { c.add_input(i64({}, {0})); }).ok());
  EXPECT_FALSE(dft(f32({1, 3, 1}, {1, 2, 3}), [](TestContext& c) { c.add_input(i64({}, {-4})); }).ok());
  EXPECT_FALSE(dft(f32({1, 3, 1}, {1, 2, 3}), [](TestContext& c) { c.add_input(i64({}, {int64_t(1) << 40})); }).ok());
  EXPECT_FALSE(dft(f32({1, 3, 1}, {1, 2, 3}), [](TestContext& c) { c.add_input(f32({}, {4})); }).ok());
  EXPECT_FALSE(dft(f32({1, 0, 1}, {}), none).ok());                     // empty signal
  auto stft = [](Tensor x, auto&& more) {
    TestContext ctx("STFT");
    ctx.add_input(x);
    more(ctx);
    return ctx.run(17);
  };
  const Tensor sig = f32({1, 8, 1}, {0, 1, 2, 3, 4, 5, 6, 7});
  EXPECT_FALSE(stft(sig, [](TestContext& c) { c.add_input(i64({}, {2})); }).ok());  // no frame length
  EXPECT_FALSE(stft(sig, [](TestContext& c) { c.add_input(i64({}, {0})).add_absent_input().add_input(i64({}, {4})); }).ok());
  EXPECT_FALSE(stft(sig, [](TestContext& c) { c.add_input(i64({}, {2})).add_absent_input().add_input(i64({}, {9})); }).ok());
  EXPECT_FALSE(stft(sig, [](TestContext& c) { c.add_input(i64({}, {2})).add_input(f32({3}, {1, 1, 1})).add_input(i64({}, {4})); }).ok());
  EXPECT_FALSE(stft(sig, [](TestContext& c) { c.add_input(i64({}, {2})).add_input(f64({4}, {1, 1, 1, 1})); }).ok());
  EXPECT_FALSE(stft(f32({8, 1}, {0, 1, 2, 3, 4, 5, 6, 7}), [](TestContext& c) { c.add_input(i64({}, {2})).add_absent_input().add_input(i64({}, {4})); }).ok());
}

TEST(MiscWindows, Values) {
  // Oracle: hand computation of the ONNX formulas (N = size when periodic, size - 1 otherwise).
  auto run = [](const char* op, int64_t size, int64_t periodic, int64_t dtype = 1) {
    TestContext ctx(op);
    ctx.add_input(i64({}, {size})).set_int("periodic", periodic).set_int("output_datatype", dtype);
    EXPECT_TRUE(ctx.run(17).ok());
    return ctx.output(0);
  };
  expect_near(run("HannWindow", 4, 1), {0, 0.5, 1, 0.5});
  expect_near(run("HannWindow", 3, 0), {0, 1, 0});
  expect_near(run("HammingWindow", 2, 1), {4.0 / 46.0, 1.0});
  expect_near(run("BlackmanWindow", 3, 0), {0, 1, 0}, 1e-6);
  expect_near(run("HannWindow", 1, 0), {1});
  EXPECT_EQ(run("HannWindow", 0, 1).numel(), 0);
  Tensor d = run("HammingWindow", 2, 1, 11);
  EXPECT_EQ(d.dtype(), DType::kF64);
  EXPECT_DOUBLE_EQ(d.data<double>()[0], 4.0 / 46.0);
  for (const char* op : {"HannWindow", "HammingWindow", "BlackmanWindow"}) {
    TestContext neg(op);
    neg.add_input(i64({}, {-1}));
    EXPECT_FALSE(neg.run(17).ok());
    TestContext huge(op);
    huge.add_input(i64({}, {int64_t(1) << 50}));
    EXPECT_FALSE(huge.run(17).ok());
    TestContext fl(op);
    fl.add_input(f32({}, {4}));
    EXPECT_FALSE(fl.run(17).ok());
    TestContext bad_type(op);
    bad_type.add_input(i64({}, {4})).set_int("output_datatype", 8);  // string
    EXPECT_FALSE(bad_type.run(17).ok());
  }
}

TEST(MiscMelWeightMatrix, ValuesAndHostile) {
  // Oracle: the ONNX reference implementation (numpy) of MelWeightMatrix.
  auto run = [](int64_t mel, int64_t dft, int64_t sr, float lo, float hi) {
    TestContext ctx("MelWeightMatrix");
    ctx.add_input(i64({}, {mel})).add_input(i64({}, {dft})).add_input(i64({}, {sr}))
        .add_input(f32({}, {lo})).add_input(f32({}, {hi}));
    Status st = ctx.run(17);
    return std::make_pair(st.ok(), st.ok() ? ctx.output(0) : Tensor());
  };
  auto [ok1, m1] = run(1, 8, 8000, 0, 4000);
  ASSERT_TRUE(ok1);
  EXPECT_EQ(m1.shape(), (Shape{5, 1}));
  expect_near(m1, {1, 0.5, 0, 0, 0});
  auto [ok2, m2] = run(3, 16, 16000, 100, 8000);
  ASSERT_TRUE(ok2);
  expect_near(m2, {1, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0.5, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0});
  EXPECT_FALSE(run(0, 8, 8000, 0, 4000).first);
  EXPECT_FALSE(run(1, 0, 8000, 0, 4000).first);
  EXPECT_FALSE(run(1, 8, 0, 0, 4000).first);
  EXPECT_FALSE(run(1, 8, 8000, -5, 4000).first);
  EXPECT_FALSE(run(1, 8, 8000, 4000, 100).first);
  EXPECT_FALSE(run(1, 8, 8000, 0, INFINITY).first);
  EXPECT_FALSE(run(int64_t(1) << 20, int64_t(1) << 20, 8000, 0, 4000).first);  // too large
  // Edges beyond the spectrum (upper edge above Nyquist) are dropped, not written out of bounds.
  EXPECT_TRUE(run(4, 7, 8000, 0, 100000).first);
}

// ---- Text ----

TEST(MiscStringNormalizer, StopwordsAndCase) {
  // Oracle: hand computation per the ONNX spec.
  TestContext base("StringNormalizer");
  base.add_input(str({5}, {"Monday", "tuesday", "MONDAY", "Wed", "x"}))
      .set_string("case_change_action", "LOWER");
  StringAttrContext ctx(base);
  ctx.set_strings("stopwords", {"monday", "X"});
  ASSERT_TRUE(ctx.run(10).ok());
  EXPECT_EQ(strings(base.output(0)), (std::vector<std::string>{"tuesday", "wed"}));
  // Case-sensitive: only exact matches are stopwords.
  base.set_int("is_case_sensitive", 1).set_string("case_change_action", "UPPER");
  ASSERT_TRUE(ctx.run(10).ok());
  EXPECT_EQ(strings(base.output(0)), (std::vector<std::string>{"MONDAY", "TUESDAY", "MONDAY", "WED", "X"}));
  // Everything removed from a [1, C] input: one empty string of shape [1, 1].
  TestContext b2("StringNormalizer");
  b2.add_input(str({1, 2}, {"a", "A"}));
  StringAttrContext c2(b2);
  c2.set_strings("stopwords", {"a"});
  ASSERT_TRUE(c2.run(10).ok());
  EXPECT_EQ(b2.output(0).shape(), (Shape{1, 1}));
  EXPECT_EQ(strings(b2.output(0)), (std::vector<std::string>{""}));
}

TEST(MiscStringNormalizer, HostileInputs) {
  auto run = [](Tensor x, std::string action) {
    TestContext ctx("StringNormalizer");
    ctx.add_input(x).set_string("case_change_action", action);
    return ctx.run(10);
  };
  EXPECT_FALSE(run(str({2, 2}, {"a", "b", "c", "d"}), "NONE").ok());
  EXPECT_FALSE(run(str({1, 1, 1}, {"a"}), "NONE").ok());
  EXPECT_FALSE(run(i32({2}, {1, 2}), "NONE").ok());
  EXPECT_FALSE(run(str({2}, {"a", "b"}), "TITLE").ok());
}

TEST(MiscTfIdfVectorizer, ModesAndStrings) {
  // Oracle: hand counts. X = [1, 1, 2, 2, 3]; pool unigrams 1, 2, 3 and bigram (1, 2):
  // counts 2, 2, 1, 1.
  auto run = [](const char* mode, std::vector<float> weights) {
    TestContext ctx("TfIdfVectorizer");
    ctx.add_input(i64({5}, {1, 1, 2, 2, 3})).set_int("min_gram_length", 1).set_int("max_gram_length", 2)
        .set_int("max_skip_count", 0).set_string("mode", mode).set_ints("ngram_counts", {0, 3})
        .set_ints("ngram_indexes", {0, 1, 2, 3}).set_ints("pool_int64s", {1, 2, 3, 1, 2});
    if (!weights.empty()) ctx.set_floats("weights", weights);
    EXPECT_TRUE(ctx.run(9).ok());
    return ctx.output(0);
  };
  expect_near(run("TF", {}), {2, 2, 1, 1});
  expect_near(run("IDF", {1, 2, 3, 4}), {1, 2, 3, 4});
  expect_near(run("TFIDF", {1, 2, 3, 4}), {2, 4, 3, 4});
  // Strings, [N, C] input, bigrams only with skips: row 0 "a x b" has (a, b) at skip 1.
  TestContext base("TfIdfVectorizer");
  base.add_input(str({2, 3}, {"a", "x", "b", "b", "a", "b"})).set_int("min_gram_length", 2)
      .set_int("max_gram_length", 2).set_int("max_skip_count", 1).set_string("mode", "TF")
      .set_ints("ngram_counts", {0, 0}).set_ints("ngram_indexes", {1, 0});
  StringAttrContext ctx(base);
  ctx.set_strings("pool_strings", {"a", "b", "b", "a"});
  ASSERT_TRUE(ctx.run(9).ok());
  EXPECT_EQ(base.output(0).shape(), (Shape{2, 2}));
  expect_near(base.output(0), {0, 1, 1, 1});
}

TEST(MiscTfIdfVectorizer, HostileInputs) {
  auto run = [](Tensor x, auto&& edit) {
    TestContext ctx("TfIdfVectorizer");
    ctx.add_input(x).set_int("min_gram_length", 1).set_int("max_gram_length", 2).set_int("max_skip_count", 0)
        .set_string("mode", "TF").set_ints("ngram_counts", {0, 3}).set_ints("ngram_indexes", {0, 1, 2, 3})
        .set_ints("pool_int64s", {1, 2, 3, 1, 2});
    edit(ctx);
    return ctx.run(9);
  };
  const Tensor x = i64({5}, {1, 1, 2, 2, 3});
  EXPECT_TRUE(run(x, [](TestContext&) {}).ok());
  EXPECT_FALSE(run(f32({2}, {1, 2}), [](TestContext&) {}).ok());
  EXPECT_FALSE(run(i64({1, 1, 1}, {1}), [](TestContext&) {}).ok());
  EXPECT_FALSE(run(x, [](TestContext& c) { c.set_int("min_gram_length", 3); }).ok());
  EXPECT_FALSE(run(x, [](TestContext& c) { c.set_int("min_gram_length", 0); }).ok());
  EXPECT_FALSE(run(x, [](TestContext& c) { c.set_int("max_skip_count", -1); }).ok());
  EXPECT_FALSE(run(x, [](TestContext& c) { c.set_string("mode", "BM25"); }).ok());
  EXPECT_FALSE(run(x, [](TestContext& c) { c.set_ints("ngram_indexes", {0, 1, 2}); }).ok());
  EXPECT_FALSE(run(x, [](TestContext& c) { c.set_ints("ngram_indexes", {0, 1, 2, -3}); }).ok());
  EXPECT_FALSE(run(x, [](TestContext& c) { c.set_ints("ngram_counts", {0, 4}); }).ok());  // odd bigram pool
  EXPECT_FALSE(run(x, [](TestContext& c) { c.set_ints("ngram_counts", {3, 0}); }).ok());
  EXPECT_FALSE(run(x, [](TestContext& c) { c.set_ints("ngram_counts", {0, 9}); }).ok());
  EXPECT_FALSE(run(x, [](TestContext& c) { c.set_floats("weights", {1, 2}); }).ok());
  EXPECT_FALSE(run(str({1}, {"a"}), [](TestContext&) {}).ok());  // strings with an int pool
  // A huge skip count is bounded by the row length.
  EXPECT_TRUE(run(x, [](TestContext& c) { c.set_int("max_skip_count", int64_t(1) << 60); }).ok());
}

// ---- Dropout and random ----

TEST(MiscDropout, InferenceIsIdentity) {
  // Oracle: the ONNX spec: without training mode, output = input and mask = ones.
  TestContext ctx("Dropout");
  ctx.add_input(f32({3}, {-1, 0, 1})).add_input(f32({}, {0.5f})).set_num_outputs(2);
  ASSERT_TRUE(ctx.run(13).ok());
  EXPECT_EQ(ctx.output(0).to_float_vector(), (std::vector<float>{-1, 0, 1}));
  EXPECT_EQ(ctx.output(1).dtype(), DType::kBool);
  EXPECT_EQ(ints(ctx.output(1)), (std::vector<int64_t>{1, 1, 1}));
  // Opset 7: the mask has the data's type.
  TestContext c7("Dropout");
  c7.add_input(f32({2}, {3, 4})).set_float("ratio", 0.3f).set_num_outputs(2);
  ASSERT_TRUE(c7.run(7).ok());
  EXPECT_EQ(c7.output(1).dtype(), DType::kF32);
  EXPECT_EQ(c7.output(1).to_float_vector(), (std::vector<float>{1, 1}));
}

TEST(MiscDropout, TrainingMatchesNumpy) {
  // Oracle: numpy: np.random.seed(0); np.random.uniform(size=5) >= 0.5 -> [T, T, T, T, F],
  // output = x * mask / (1 - 0.5).
  TestContext ctx("Dropout");
  ctx.add_input(f32({5}, {1, 2, 3, 4, 5})).add_input(f32({}, {0.5f})).add_input(boolean({}, {true}))
      .set_int("seed", 0).set_num_outputs(2);
  ASSERT_TRUE(ctx.run(13).ok());
  EXPECT_EQ(ctx.output(0).to_float_vector(), (std::vector<float>{2, 4, 6, 8, 0}));
  EXPECT_EQ(ints(ctx.output(1)), (std::vector<int64_t>{1, 1, 1, 1, 0}));
  // Hostile: ratio 1 or above, a non-bool training_mode, a non-scalar ratio, integer data.
  for (float r : {1.f, 1.5f, -0.1f, NAN}) {
    TestContext bad("Dropout");
    bad.add_input(f32({2}, {1, 2})).add_input(f32({}, {r})).add_input(boolean({}, {true}));
    EXPECT_FALSE(bad.run(13).ok()) << r;
  }
  TestContext b2("Dropout");
  b2.add_input(f32({2}, {1, 2})).add_input(f32({}, {0.5f})).add_input(i64({}, {1}));
  EXPECT_FALSE(b2.run(13).ok());
  TestContext b3("Dropout");
  b3.add_input(f32({2}, {1, 2})).add_input(f32({2}, {0.5f, 0.5f}));
  EXPECT_FALSE(b3.run(13).ok());
  TestContext b4("Dropout");
  b4.add_input(i32({2}, {1, 2}));
  EXPECT_FALSE(b4.run(13).ok());
}

TEST(MiscRandom, MatchesNumpyLegacyGenerator) {
  // Oracle: numpy: np.random.seed(0); np.random.normal(size=3) and 1 + 2 * np.random.uniform(size=2).
  TestContext n("RandomNormal");
  n.set_ints("shape", {3}).set_float("seed", 0.f);
  ASSERT_TRUE(n.run(1).ok());
  expect_near(n.output(0), {1.76405235, 0.40015721, 0.97873798}, 1e-6);
  TestContext u("RandomUniform");
  u.set_ints("shape", {2}).set_float("seed", 0.f).set_float("low", 1.f).set_float("high", 3.f).set_int("dtype", 11);
  ASSERT_TRUE(u.run(1).ok());
  EXPECT_EQ(u.output(0).dtype(), DType::kF64);
  expect_near(u.output(0), {2.09762701, 2.43037873}, 1e-8);
  // Like: shape from the input; dtype from the attribute, else from the input.
  TestContext ul("RandomUniformLike");
  ul.add_input(i32({2, 2}, {0, 0, 0, 0})).set_int("dtype", 1);
  ASSERT_TRUE(ul.run(1).ok());
  EXPECT_EQ(ul.output(0).shape(), (Shape{2, 2}));
  for (float v : ul.output(0).to_float_vector()) {
    EXPECT_GE(v, 0.f);
    EXPECT_LT(v, 1.f);
  }
  TestContext nl("RandomNormalLike");
  nl.add_input(f64({4}, {0, 0, 0, 0}));
  ASSERT_TRUE(nl.run(1).ok());
  EXPECT_EQ(nl.output(0).dtype(), DType::kF64);
}

TEST(MiscRandom, HostileInputs) {
  TestContext a("RandomUniform");  // no shape
  EXPECT_FALSE(a.run(1).ok());
  TestContext b("RandomUniform");
  b.set_ints("shape", {-1, 2});
  EXPECT_FALSE(b.run(1).ok());
  TestContext c("RandomNormal");
  c.set_ints("shape", {int64_t(1) << 40});
  EXPECT_FALSE(c.run(1).ok());
  TestContext d("RandomNormal");
  d.set_ints("shape", {2}).set_int("dtype", 6);  // int32 is not allowed
  EXPECT_FALSE(d.run(1).ok());
  TestContext e("RandomUniform");
  e.set_ints("shape", {2}).set_float("seed", INFINITY);
  EXPECT_FALSE(e.run(1).ok());
  TestContext f("RandomNormalLike");
  f.add_input(i32({2}, {0, 0}));  // integer input without dtype
  EXPECT_FALSE(f.run(1).ok());
  TestContext g("RandomUniform");
  g.set_ints("shape", {2}).set_int("dtype", 12345);
  EXPECT_FALSE(g.run(1).ok());
}

TEST(MiscBernoulli, ValuesAndHostile) {
  // Oracle: the spec: p = 0 never fires, p = 1 always does.
  TestContext ctx("Bernoulli");
  ctx.add_input(f32({4}, {0, 1, 0, 1})).set_int("dtype", 9).set_float("seed", 3.f);
  ASSERT_TRUE(ctx.run(15).ok());
  EXPECT_EQ(ctx.output(0).dtype(), DType::kBool);
  EXPECT_EQ(ints(ctx.output(0)), (std::vector<int64_t>{0, 1, 0, 1}));
  TestContext d("Bernoulli");
  d.add_input(f64({3}, {1, 0, 1}));
  ASSERT_TRUE(d.run(15).ok());
  EXPECT_EQ(d.output(0).dtype(), DType::kF64);
  expect_near(d.output(0), {1, 0, 1});
  for (float p : {1.5f, -0.5f, NAN}) {
    TestContext bad("Bernoulli");
    bad.add_input(f32({1}, {p}));
    EXPECT_FALSE(bad.run(15).ok());
  }
  TestContext i("Bernoulli");
  i.add_input(i32({1}, {1}));
  EXPECT_FALSE(i.run(15).ok());
  TestContext s("Bernoulli");
  s.add_input(f32({1}, {0.5f})).set_int("dtype", 8);  // string
  EXPECT_FALSE(s.run(15).ok());
}

TEST(MiscMultinomial, ValuesAndHostile) {
  // Oracle: the spec: a class with all the probability mass is always drawn.
  TestContext ctx("Multinomial");
  ctx.add_input(f32({2, 2}, {0, -1000, -1000, 0})).set_int("sample_size", 4).set_int("dtype", 7);
  ASSERT_TRUE(ctx.run(7).ok());
  EXPECT_EQ(ctx.output(0).dtype(), DType::kI64);
  EXPECT_EQ(ints(ctx.output(0)), (std::vector<int64_t>{0, 0, 0, 0, 1, 1, 1, 1}));
  auto bad = [](Tensor x, auto&& edit) {
    TestContext c("Multinomial");
    c.add_input(x);
    edit(c);
    return c.run(7);
  };
  const Tensor x = f32({1, 2}, {0, 0});
  EXPECT_FALSE(bad(f32({2}, {0, 0}), [](TestContext&) {}).ok());
  EXPECT_FALSE(bad(x, [](TestContext& c) { c.set_int("dtype", 1); }).ok());
  EXPECT_FALSE(bad(x, [](TestContext& c) { c.set_int("sample_size", 0); }).ok());
  EXPECT_FALSE(bad(f32({1, 2}, {NAN, 0}), [](TestContext&) {}).ok());
  EXPECT_FALSE(bad(f32({1, 2}, {-INFINITY, -INFINITY}), [](TestContext&) {}).ok());
  EXPECT_FALSE(bad(f32({1, 0}, {}), [](TestContext&) {}).ok());
  EXPECT_FALSE(bad(i32({1, 2}, {0, 0}), [](TestContext&) {}).ok());
}

// ---- Training optimizers ----

TEST(MiscTraining, AdamBiasCorrection) {
  // Oracle: hand computation. T = 1: v = 0.1 * 0.5 = 0.05, h = 0.001 * 0.25, the learning rate
  // becomes 0.1 * sqrt(0.001) / 0.1, and x = 1 - 0.0316228 * 0.05 / 0.0158114 = 0.9.
  TestContext ctx("Adam", "ai.onnx.preview.training");
  ctx.add_input(f32({}, {0.1f})).add_input(i64({}, {1})).add_input(f32({1}, {1.f})).add_input(f32({1}, {0.5f}))
      .add_input(f32({1}, {0.f})).add_input(f32({1}, {0.f})).set_float("epsilon", 0.f).set_num_outputs(3);
  ASSERT_TRUE(ctx.run(1).ok());
  expect_near(ctx.output(0), {0.9});
  expect_near(ctx.output(1), {0.05});
  expect_near(ctx.output(2), {0.00025});
}

TEST(MiscTraining, AdagradAndMomentum) {
  // Oracle: the ONNX backend tests test_adagrad and test_nesterov_momentum (numpy).
  TestContext a("Adagrad", "ai.onnx.preview.training");
  a.add_input(f32({}, {0.1f})).add_input(i64({}, {0})).add_input(f32({1}, {1.f})).add_input(f32({1}, {-1.f}))
      .add_input(f32({1}, {2.f})).set_float("decay_factor", 0.1f).set_float("epsilon", 1e-5f)
      .set_float("norm_coefficient", 0.001f).set_num_outputs(2);
  ASSERT_TRUE(a.run(1).ok());
  expect_near(a.output(0), {1.0576962});
  expect_near(a.output(1), {2.998001});
  TestContext m("Momentum", "ai.onnx.preview.training");
  m.add_input(f32({}, {0.1f})).add_input(i64({}, {0})).add_input(f32({2}, {1.2f, 2.8f}))
      .add_input(f32({2}, {-0.94f, -2.5f})).add_input(f32({2}, {1.7f, 3.6f})).set_float("alpha", 0.95f)
      .set_float("beta", 1.f).set_string("mode", "nesterov").set_float("norm_coefficient", 0.01f).set_num_outputs(2);
  ASSERT_TRUE(m.run(1).ok());
  expect_near(m.output(0), {1.227535, 2.95714});
  expect_near(m.output(1), {0.687, 0.948});
}

TEST(MiscTraining, HostileInputs) {
  auto run = [](const char* op, auto&& fill) {
    TestContext c(op, "ai.onnx.preview.training");
    c.set_float("alpha", 0.9f).set_float("beta", 0.9f).set_string("mode", "standard").set_float("norm_coefficient", 0.f);
    fill(c);
    return c.run(1);
  };
  // Input counts that do not split into equal lists.
  EXPECT_FALSE(run("Adagrad", [](TestContext& c) { c.add_input(f32({}, {0.1f})).add_input(i64({}, {0})).add_input(f32({1}, {1})); }).ok());
  EXPECT_FALSE(run("Adam", [](TestContext& c) {
    c.add_input(f32({}, {0.1f})).add_input(i64({}, {0})).add_input(f32({1}, {1})).add_input(f32({1}, {1})).add_input(f32({1}, {1}));
  }).ok());
  EXPECT_FALSE(run("Momentum", [](TestContext& c) { c.add_input(f32({}, {0.1f})); }).ok());
  // Mismatched shapes and dtypes; T not int64; R not a scalar; an integer X.
  EXPECT_FALSE(run("Momentum", [](TestContext& c) {
    c.add_input(f32({}, {0.1f})).add_input(i64({}, {0})).add_input(f32({2}, {1, 1})).add_input(f32({1}, {1})).add_input(f32({2}, {1, 1}));
  }).ok());
  EXPECT_FALSE(run("Momentum", [](TestContext& c) {
    c.add_input(f32({}, {0.1f})).add_input(i64({}, {0})).add_input(f32({1}, {1})).add_input(f64({1}, {1})).add_input(f32({1}, {1}));
  }).ok());
  EXPECT_FALSE(run("Momentum", [](TestContext& c) {
    c.add_input(f32({}, {0.1f})).add_input(i32({}, {0})).add_input(f32({1}, {1})).add_input(f32({1}, {1})).add_input(f32({1}, {1}));
  }).ok());
  EXPECT_FALSE(run("Momentum", [](TestContext& c) {
    c.add_input(f32({2}, {0.1f, 0.1f})).add_input(i64({}, {0})).add_input(f32({1}, {1})).add_input(f32({1}, {1})).add_input(f32({1}, {1}));
  }).ok());
  EXPECT_FALSE(run("Adagrad", [](TestContext& c) {
    c.add_input(f32({}, {0.1f})).add_input(i64({}, {0})).add_input(i32({1}, {1})).add_input(i32({1}, {1})).add_input(i32({1}, {1}));
  }).ok());
  // Momentum needs its mode, and a known one.
  TestContext m("Momentum", "ai.onnx.preview.training");
  m.add_input(f32({}, {0.1f})).add_input(i64({}, {0})).add_input(f32({1}, {1})).add_input(f32({1}, {1})).add_input(f32({1}, {1}))
      .set_float("alpha", 0.9f).set_float("beta", 0.9f).set_float("norm_coefficient", 0.f);
  EXPECT_FALSE(m.run(1).ok());
  m.set_string("mode", "heavy");
  EXPECT_FALSE(m.run(1).ok());
}

TEST(MiscEmpty, EmptyTensors) {
  // Oracle: shapes per the spec.
  TestContext nms("NonMaxSuppression");
  nms.add_input(f32({1, 0, 4}, {})).add_input(f32({1, 3, 0}, {})).add_input(i64({1}, {5}));
  ASSERT_TRUE(nms.run(11).ok());
  EXPECT_EQ(nms.output(0).shape(), (Shape{0, 3}));
  TestContext dft("DFT");
  dft.add_input(f32({0, 4, 1}, {}));
  ASSERT_TRUE(dft.run(17).ok());
  EXPECT_EQ(dft.output(0).shape(), (Shape{0, 4, 2}));
  TestContext tf("TfIdfVectorizer");
  tf.add_input(i64({2, 0}, {})).set_int("min_gram_length", 1).set_int("max_gram_length", 1).set_string("mode", "TF")
      .set_ints("ngram_counts", {0}).set_ints("ngram_indexes", {0}).set_ints("pool_int64s", {7});
  ASSERT_TRUE(tf.run(9).ok());
  EXPECT_EQ(tf.output(0).shape(), (Shape{2, 1}));
  TestContext dr("Dropout");
  dr.add_input(f32({0}, {})).add_input(f32({}, {0.5f})).add_input(boolean({}, {true})).set_num_outputs(2);
  ASSERT_TRUE(dr.run(13).ok());
  EXPECT_EQ(dr.output(1).shape(), (Shape{0}));
}

}  // namespace
}  // namespace edgeai
