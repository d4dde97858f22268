// Tests of the reference NN kernels (src/kernels/reference/nn*.cc): Conv, ConvTranspose, Col2Im,
// pools, MaxUnpool, MaxRoiPool, RoiAlign, MatMul, Gemm, Det, Einsum and GridSample.
//
// Oracles: expected values marked "numpy" were computed with numpy 1.24 (np.einsum, np.matmul,
// np.linalg.det, or straightforward numpy loop implementations of the ONNX operator definitions;
// RoiAlign and GridSample loops follow onnx/reference/ops/op_roi_align.py and op_grid_sample.py).
// Inputs use the formulas seq_x / seq_w below so the values can be regenerated. Conv and
// ConvTranspose are also checked against a naive direct loop in this file over many shapes.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "../kernel_test_util.h"

namespace edgeai {
namespace {

using testing::TestContext;

// x[i] = ((7i + 3) mod 11 - 5) / 4  (numpy: ((i*7+3)%11-5)*0.25)
std::vector<float> seq_x_values(int64_t n) {
  std::vector<float> v(n);
  for (int64_t i = 0; i < n; ++i) v[i] = static_cast<float>(((i * 7 + 3) % 11 - 5) * 0.25);
  return v;
}
// w[i] = ((5i + 1) mod 7 - 3) / 2
std::vector<float> seq_w_values(int64_t n) {
  std::vector<float> v(n);
  for (int64_t i = 0; i < n; ++i) v[i] = static_cast<float>(((i * 5 + 1) % 7 - 3) * 0.5);
  return v;
}
Tensor f32(const Shape& s, const std::vector<float>& v) { return Tensor::from_vector<float>(DType::kF32, s, v); }
Tensor seq_x(const Shape& s) { return f32(s, seq_x_values(shape_numel(s))); }
Tensor seq_w(const Shape& s) { return f32(s, seq_w_values(shape_numel(s))); }
Tensor bias(int64_t n) {
  std::vector<float> v(n);
  for (int64_t i = 0; i < n; ++i) v[i] = static_cast<float>(i * 0.1 - 0.2);
  return f32({n}, v);
}
Tensor i64(const Shape& s, const std::vector<int64_t>& v) { return Tensor::from_vector<int64_t>(DType::kI64, s, v); }

void expect_values(const Tensor& t, const Shape& shape, const std::vector<float>& want, double tol = 1e-5) {
  ASSERT_EQ(t.shape(), shape);
  ASSERT_EQ(t.numel(), static_cast<int64_t>(want.size()));
  std::vector<float> got = t.to_float_vector();
  for (size_t i = 0; i < want.size(); ++i) {
    EXPECT_NEAR(got[i], want[i], tol + 1e-4 * std::abs(want[i])) << "at " << i;
  }
}

// Runs op and expects a non-OK status (no crash, no exception).
void expect_error(TestContext& ctx, int opset = 17) {
  Status st = ctx.run(opset);
  EXPECT_FALSE(st.ok()) << "expected an error from " << ctx.op_type();
}

// ---------------------------------------------------------------------------------------------
// Naive oracles for Conv and ConvTranspose (direct loops over the ONNX definitions).

struct ConvCase {
  Shape x, w;
  int64_t group;
  std::vector<int64_t> strides, dilations, pads;
  bool with_bias;
};

std::vector<float> naive_conv(const ConvCase& c, Shape* out_shape) {
  const int nd = static_cast<int>(c.x.size()) - 2;
  std::vector<float> x = seq_x_values(shape_numel(c.x)), w = seq_w_values(shape_numel(c.w));
  const int64_t n_img = c.x[0], ch = c.x[1], m = c.w[0], cg = ch / c.group, mg = m / c.group;
  Shape out{n_img, m};
  for (int d = 0; d < nd; ++d) {
    int64_t ext = c.dilations[d] * (c.w[d + 2] - 1) + 1;
    out.push_back((c.x[d + 2] + c.pads[d] + c.pads[d + nd] - ext) / c.strides[d] + 1);
  }
  *out_shape = out;
  std::vector<float> y(shape_numel(out));
  Shape osp(out.begin() + 2, out.end()), ksp(c.w.begin() + 2, c.w.end()), isp(c.x.begin() + 2, c.x.end());
  const int64_t on = shape_numel(osp), kn = shape_numel(ksp), in_n = shape_numel(isp);
  std::vector<int64_t> ist = shape_strides(isp);
  for (int64_t n = 0; n < n_img; ++n) {
    for (int64_t mo = 0; mo < m; ++mo) {
      const int64_t g = mo / mg;
      for (int64_t o = 0; o < on; ++o) {
        double s = c.with_bias ? mo * 0.1 - 0.2 : 0.0;
        for (int64_t ci = 0; ci < cg; ++ci) {
          for (int64_t k = 0; k < kn; ++k) {
            int64_t off = 0;
            bool ok = true;
            int64_t orem = o, krem = k;
            for (int d = nd - 1; d >= 0; --d) {
              int64_t od = orem % osp[d], kd = krem % ksp[d];
              orem /= osp[d];
              krem /= ksp[d];
              int64_t pos = od * c.strides[d] - c.pads[d] + kd * c.dilations[d];
              if (pos < 0 || pos >= isp[d]) ok = false;
              off += pos * ist[d];
            }
            if (!ok) continue;
            s += static_cast<double>(w[(mo * cg + ci) * kn + k]) * x[(n * ch + g * cg + ci) * in_n + off];
          }
        }
        y[(n * m + mo) * on + o] = static_cast<float>(s);
      }
    }
  }
  return y;
}

void set_window(TestContext& ctx, const ConvCase& c) {
  ctx.set_ints("strides", c.strides).set_ints("dilations", c.dilations).set_ints("pads", c.pads);
  ctx.set_int("group", c.group);
}

TEST(NnConv, MatchesNaiveLoopOverShapes) {
  const std::vector<ConvCase> cases = {
      {{1, 3, 7, 6}, {4, 3, 3, 3}, 1, {1, 1}, {1, 1}, {1, 1, 1, 1}, true},      // im2col
      {{2, 4, 5, 6}, {6, 2, 3, 2}, 2, {2, 1}, {1, 2}, {1, 0, 1, 1}, true},      // grouped
      {{1, 8, 4, 5}, {5, 8, 1, 1}, 1, {1, 1}, {1, 1}, {0, 0, 0, 0}, false},     // pointwise
      {{1, 8, 4, 5}, {4, 8, 1, 1}, 1, {2, 2}, {1, 1}, {0, 0, 0, 0}, true},      // strided 1x1
      {{2, 3, 6, 5}, {3, 1, 3, 3}, 3, {2, 2}, {1, 1}, {1, 1, 1, 1}, true},      // depthwise
      {{1, 2, 6, 6}, {6, 1, 3, 2}, 2, {1, 3}, {2, 1}, {2, 0, 0, 2}, false},     // depthwise x3
      {{1, 3, 9}, {2, 3, 4}, 1, {3}, {2}, {4, 0}, true},                        // 1-D
      {{1, 1, 12}, {2, 1, 3}, 1, {1}, {1}, {1, 1}, true},                       // 1-D, C = 1
      {{1, 2, 3, 4, 5}, {2, 2, 2, 2, 3}, 1, {1, 1, 2}, {1, 1, 1}, {0, 1, 1, 0, 0, 1}, false},  // 3-D
      {{1, 4, 3, 3}, {4, 1, 5, 5}, 4, {1, 1}, {1, 1}, {3, 3, 3, 3}, false},     // pads > kernel/2
      {{1, 6, 3, 40}, {9, 2, 2, 3}, 3, {1, 1}, {1, 1}, {0, 0, 0, 0}, true},     // tiles over columns
  };
  for (size_t i = 0; i < cases.size(); ++i) {
    const ConvCase& c = cases[i];
    TestContext ctx("Conv");
    ctx.add_input(seq_x(c.x)).add_input(seq_w(c.w));
    if (c.with_bias) ctx.add_input(bias(c.w[0]));
    set_window(ctx, c);
    ASSERT_TRUE(ctx.run(11).ok()) << "case " << i;
    Shape want_shape;
    std::vector<float> want = naive_conv(c, &want_shape);
    SCOPED_TRACE("case " + std::to_string(i));
    expect_values(ctx.output(0), want_shape, want);
  }
}

TEST(NnConv, GroupedStridedDilatedMatchesNumpy) {
  // numpy loop conv, X[1,4,5,6] W[6,2,3,2] group 2, strides [2,1], dilations [1,2], pads [1,0,1,1].
  TestContext ctx("Conv");
  ctx.add_input(seq_x({1, 4, 5, 6})).add_input(seq_w({6, 2, 3, 2})).add_input(bias(6));
  ctx.set_int("group", 2).set_ints("strides", {2, 1}).set_ints("dilations", {1, 2}).set_ints("pads", {1, 0, 1, 1});
  ASSERT_TRUE(ctx.run(11).ok());
  const std::vector<float> want = {
      0.925f, -2.7f, 0.55f, 1.05f, 1.05f, -2.075f, -1.075f, 1.3f, 5.05f, 0.55f, -0.825f, -0.95f, 3.05f, 2.925f, -1.325f,
      -1.225f, 0.025f, -0.1f, -1.6f, 0.275f, 0.15f, -1.85f, -1.1f, -1.725f, -1.35f, -1.85f, 0.9f, -1.85f, -1.85f,
      0.775f, 1.f, 1.f, 1.f, 1.f, -1.375f, 1.5f, 3.5f, 0.f, 2.f, 0.25f, 3.25f, -0.75f, -0.625f, -0.5f, 0.25f, -1.025f,
      3.225f, 3.35f, -0.65f, -0.65f, 3.6f, 5.35f, 1.6f, -0.775f, 0.1f, 4.6f, 1.35f, 0.85f, -2.4f, -0.025f, 1.325f,
      -0.55f, -3.8f, 1.2f, -0.55f, -1.05f, -4.3f, 0.7f, 0.2f, 1.575f, -2.3f, 0.7f, -1.8f, 1.2f, -0.05f, 0.175f, 1.8f,
      4.8f, -0.45f, -0.45f, 2.175f, 3.55f, -1.95f, -0.575f, -1.325f, 1.3f, -1.7f, 0.8f, -2.2f, -0.075f};
  expect_values(ctx.output(0), {1, 6, 3, 5}, want);
}

TEST(NnConv, AutoPadAndDtypes) {
  // SAME_UPPER with stride 2 on 5: out 3, total pad 2 -> [1, 1]; equals explicit pads (naive).
  ConvCase c{{1, 2, 5, 5}, {3, 2, 3, 3}, 1, {2, 2}, {1, 1}, {1, 1, 1, 1}, false};
  Shape want_shape;
  std::vector<float> want = naive_conv(c, &want_shape);
  TestContext ctx("Conv");
  ctx.add_input(seq_x(c.x)).add_input(seq_w(c.w)).set_string("auto_pad", "SAME_UPPER").set_ints("strides", {2, 2});
  ASSERT_TRUE(ctx.run(11).ok());
  expect_values(ctx.output(0), want_shape, want);

  // f64 and f16 give the same values (f16 within its precision).
  std::vector<float> xv = seq_x_values(50), wv = seq_w_values(54);
  std::vector<double> xd(xv.begin(), xv.end()), wd(wv.begin(), wv.end());
  TestContext c64("Conv");
  c64.add_input(Tensor::from_vector<double>(DType::kF64, {1, 2, 5, 5}, xd))
      .add_input(Tensor::from_vector<double>(DType::kF64, {3, 2, 3, 3}, wd))
      .set_ints("pads", {1, 1, 1, 1})
      .set_ints("strides", {2, 2});
  ASSERT_TRUE(c64.run(11).ok());
  EXPECT_EQ(c64.output(0).dtype(), DType::kF64);
  expect_values(c64.output(0), want_shape, want);

  std::vector<Half> xh, wh;
  for (float v : xv) xh.push_back(Half{float_to_half(v)});
  for (float v : wv) wh.push_back(Half{float_to_half(v)});
  TestContext c16("Conv");
  c16.add_input(Tensor::from_vector<Half>(DType::kF16, {1, 2, 5, 5}, xh))
      .add_input(Tensor::from_vector<Half>(DType::kF16, {3, 2, 3, 3}, wh))
      .set_ints("pads", {1, 1, 1, 1})
      .set_ints("strides", {2, 2});
  ASSERT_TRUE(c16.run(11).ok());
  EXPECT_EQ(c16.output(0).dtype(), DType::kF16);
  expect_values(c16.output(0), want_shape, want, 1e-2);
}

TEST(NnConv, RejectsBadInput) {
  auto base = [](Shape x, Shape w) {
    auto ctx = std::make_unique<TestContext>("Conv");
    ctx->add_input(seq_x(x)).add_input(seq_w(w));
    return ctx;
  };
  { auto c = base({1, 3, 5, 5}, {2, 2, 3, 3}); expect_error(*c); }                          // channels
  { auto c = base({1, 4, 5, 5}, {3, 2, 3, 3}); c->set_int("group", 2); expect_error(*c); }  // M % group
  { auto c = base({1, 4, 5, 5}, {4, 2, 3, 3}); c->set_int("group", 0); expect_error(*c); }
  { auto c = base({1, 4, 5, 5}, {4, 2, 3, 3}); c->set_int("group", -2); expect_error(*c); }
  { auto c = base({1, 3, 5, 5}, {2, 3, 3, 3}); c->set_ints("strides", {0, 1}); expect_error(*c); }
  { auto c = base({1, 3, 5, 5}, {2, 3, 3, 3}); c->set_ints("strides", {-1, 1}); expect_error(*c); }
  { auto c = base({1, 3, 5, 5}, {2, 3, 3, 3}); c->set_ints("strides", {1}); expect_error(*c); }
  { auto c = base({1, 3, 5, 5}, {2, 3, 3, 3}); c->set_ints("dilations", {0, 1}); expect_error(*c); }
  { auto c = base({1, 3, 5, 5}, {2, 3, 3, 3}); c->set_ints("pads", {1, 1}); expect_error(*c); }
  { auto c = base({1, 3, 5, 5}, {2, 3, 3, 3}); c->set_ints("pads", {-1, 0, 0, 0}); expect_error(*c); }
  { auto c = base({1, 3, 5, 5}, {2, 3, 3, 3}); c->set_ints("pads", {int64_t(1) << 62, 0, 0, 0}); expect_error(*c); }
  { auto c = base({1, 3, 2, 2}, {2, 3, 3, 3}); expect_error(*c); }                          // kernel > input
  { auto c = base({1, 3, 5, 5}, {2, 3, 3, 3}); c->set_ints("dilations", {int64_t(1) << 40, 1}); expect_error(*c); }
  { auto c = base({1, 3, 5, 5}, {2, 3, 3}); expect_error(*c); }                             // W rank
  { auto c = base({3, 5}, {2, 3}); expect_error(*c); }                                      // X rank 2
  { auto c = base({1, 3, 5, 5}, {2, 3, 0, 3}); expect_error(*c); }                          // empty kernel
  { auto c = base({1, 3, 5, 5}, {2, 3, 3, 3}); c->set_ints("kernel_shape", {2, 2}); expect_error(*c); }
  { auto c = base({1, 3, 5, 5}, {2, 3, 3, 3}); c->set_string("auto_pad", "SAME"); expect_error(*c); }
  { auto c = base({1, 3, 5, 5}, {2, 3, 3, 3}); c->add_input(bias(3)); expect_error(*c); }   // B shape
  {
    TestContext c("Conv");
    c.add_input(Tensor::from_vector<int32_t>(DType::kI32, {1, 1, 3, 3}, std::vector<int32_t>(9, 1)))
        .add_input(Tensor::from_vector<int32_t>(DType::kI32, {1, 1, 1, 1}, {1}));
    expect_error(c);
  }
  {
    TestContext c("Conv");  // dtype mismatch X f32, W f64
    c.add_input(seq_x({1, 1, 3, 3})).add_input(Tensor::from_vector<double>(DType::kF64, {1, 1, 1, 1}, {1.0}));
    expect_error(c);
  }
  { TestContext c("Conv"); c.add_input(seq_x({1, 1, 3, 3})); expect_error(c); }  // W missing
}

// ---------------------------------------------------------------------------------------------
// ConvTranspose

std::vector<float> naive_conv_transpose(const Shape& xs, const Shape& ws, int64_t group, const std::vector<int64_t>& s,
                                        const std::vector<int64_t>& dil, const std::vector<int64_t>& pads,
                                        const std::vector<int64_t>& opad, bool with_bias, Shape* out_shape) {
  const int nd = static_cast<int>(xs.size()) - 2;
  std::vector<float> x = seq_x_values(shape_numel(xs)), w = seq_w_values(shape_numel(ws));
  const int64_t n_img = xs[0], c = xs[1], mg = ws[1], m = mg * group, cg = c / group;
  Shape full, isp(xs.begin() + 2, xs.end()), ksp(ws.begin() + 2, ws.end());
  for (int d = 0; d < nd; ++d) full.push_back(s[d] * (isp[d] - 1) + opad[d] + dil[d] * (ksp[d] - 1) + 1);
  Shape out{n_img, m};
  for (int d = 0; d < nd; ++d) out.push_back(full[d] - pads[d] - pads[d + nd]);
  *out_shape = out;
  Shape osp(out.begin() + 2, out.end());
  std::vector<double> y(shape_numel(out), 0.0);
  const int64_t in_n = shape_numel(isp), kn = shape_numel(ksp), on = shape_numel(osp);
  std::vector<int64_t> ost = shape_strides(osp);
  for (int64_t n = 0; n < n_img; ++n) {
    for (int64_t ci = 0; ci < c; ++ci) {
      const int64_t g = ci / cg;
      for (int64_t i = 0; i < in_n; ++i) {
        for (int64_t ml = 0; ml < mg; ++ml) {
          for (int64_t k = 0; k < kn; ++k) {
            int64_t irem = i, krem = k, off = 0;
            bool ok = true;
            for (int d = nd - 1; d >= 0; --d) {
              int64_t id = irem % isp[d], kd = krem % ksp[d];
              irem /= isp[d];
              krem /= ksp[d];
              int64_t pos = id * s[d] + kd * dil[d] - pads[d];
              if (pos < 0 || pos >= osp[d]) ok = false;
              off += pos * ost[d];
            }
            if (!ok) continue;
            y[(n * m + g * mg + ml) * on + off] +=
                static_cast<double>(x[(n * c + ci) * in_n + i]) * w[(ci * mg + ml) * kn + k];
          }
        }
      }
    }
  }
  std::vector<float> r(y.size());
  for (size_t i = 0; i < y.size(); ++i) r[i] = static_cast<float>(y[i] + (with_bias ? (i / on % m) * 0.1 - 0.2 : 0.0));
  return r;
}

TEST(NnConvTranspose, GroupedStridedDilatedMatchesNumpy) {
  // numpy loop conv-transpose: X[1,4,3,2] W[4,3,2,3] group 2, strides [2,3], dilations [1,2],
  // pads [1,0,0,2], output_padding [1,1]; first 12 of the 6x6x7 outputs.
  TestContext ctx("ConvTranspose");
  ctx.add_input(seq_x({1, 4, 3, 2})).add_input(seq_w({4, 3, 2, 3})).add_input(bias(6));
  ctx.set_int("group", 2).set_ints("strides", {2, 3}).set_ints("dilations", {1, 2});
  ctx.set_ints("pads", {1, 0, 0, 2}).set_ints("output_padding", {1, 1});
  ASSERT_TRUE(ctx.run(11).ok());
  ASSERT_EQ(ctx.output(0).shape(), (Shape{1, 6, 6, 7}));
  const std::vector<float> head = {1.05f, -0.2f, -0.95f, -1.575f, -1.2f, -0.95f, -0.2f, -0.075f, -0.2f, -0.075f, 2.425f, -0.075f};
  std::vector<float> got = ctx.output(0).to_float_vector();
  for (size_t i = 0; i < head.size(); ++i) EXPECT_NEAR(got[i], head[i], 1e-5) << i;
  // The whole output against the naive loop (which the numpy values above pin down).
  Shape ws;
  std::vector<float> want = naive_conv_transpose({1, 4, 3, 2}, {4, 3, 2, 3}, 2, {2, 3}, {1, 2}, {1, 0, 0, 2}, {1, 1}, true, &ws);
  expect_values(ctx.output(0), ws, want);
}

TEST(NnConvTranspose, ShapesAndAutoPad) {
  {  // 1-D and 3-D against the naive loop.
    Shape ws;
    std::vector<float> want = naive_conv_transpose({2, 2, 5}, {2, 3, 3}, 1, {2}, {1}, {1, 0}, {0}, false, &ws);
    TestContext ctx("ConvTranspose");
    ctx.add_input(seq_x({2, 2, 5})).add_input(seq_w({2, 3, 3})).set_ints("strides", {2}).set_ints("pads", {1, 0});
    ASSERT_TRUE(ctx.run(11).ok());
    expect_values(ctx.output(0), ws, want);
  }
  {
    Shape ws;
    std::vector<float> want =
        naive_conv_transpose({1, 2, 2, 3, 2}, {2, 1, 2, 2, 3}, 2, {1, 2, 1}, {2, 1, 1}, {0, 0, 0, 0, 0, 0}, {0, 0, 0}, true, &ws);
    TestContext ctx("ConvTranspose");
    ctx.add_input(seq_x({1, 2, 2, 3, 2})).add_input(seq_w({2, 1, 2, 2, 3})).add_input(bias(2));
    ctx.set_int("group", 2).set_ints("strides", {1, 2, 1}).set_ints("dilations", {2, 1, 1});
    ASSERT_TRUE(ctx.run(11).ok());
    expect_values(ctx.output(0), ws, want);
  }
  {  // SAME_UPPER: output = input * stride, the odd pad goes to the end (ONNX conformance case).
    TestContext ctx("ConvTranspose");
    ctx.add_input(seq_x({1, 1, 3, 3})).add_input(seq_w({1, 2, 3, 3})).set_string("auto_pad", "SAME_UPPER");
    ctx.set_ints("strides", {2, 2});
    ASSERT_TRUE(ctx.run(11).ok());
    EXPECT_EQ(ctx.output(0).shape(), (Shape{1, 2, 6, 6}));
  }
  {  // output_shape larger than the natural size pads with zeros at the end.
    TestContext ctx("ConvTranspose");
    ctx.add_input(seq_x({1, 1, 2})).add_input(f32({1, 1, 1}, {1.f})).set_ints("output_shape", {4});
    ASSERT_TRUE(ctx.run(11).ok());
    expect_values(ctx.output(0), {1, 1, 4}, {seq_x_values(2)[0], seq_x_values(2)[1], 0.f, 0.f});
  }
}

TEST(NnConvTranspose, RejectsBadInput) {
  { TestContext c("ConvTranspose"); c.add_input(seq_x({1, 2, 3, 3})).add_input(seq_w({3, 1, 2, 2})); expect_error(c); }
  {
    TestContext c("ConvTranspose");
    c.add_input(seq_x({1, 2, 3, 3})).add_input(seq_w({2, 1, 2, 2})).set_ints("pads", {5, 5, 5, 5});
    expect_error(c);  // negative output size
  }
  {
    TestContext c("ConvTranspose");
    c.add_input(seq_x({1, 2, 3, 3})).add_input(seq_w({2, 1, 2, 2})).set_ints("output_shape", {1, 2, 3});
    expect_error(c);
  }
  {
    TestContext c("ConvTranspose");
    c.add_input(seq_x({1, 2, 3, 3})).add_input(seq_w({2, 1, 2, 2})).set_ints("output_padding", {-1, 0});
    expect_error(c);
  }
  {
    TestContext c("ConvTranspose");
    c.add_input(seq_x({1, 3, 3, 3})).add_input(seq_w({3, 1, 2, 2})).set_int("group", 2);
    expect_error(c);
  }
  {
    TestContext c("ConvTranspose");
    c.add_input(seq_x({1, 2, 3, 3})).add_input(seq_w({2, 1, 2, 2})).add_input(bias(2));
    expect_error(c);  // B has 2 values, M = 1
  }
}

// ---------------------------------------------------------------------------------------------
// Col2Im

TEST(NnCol2Im, MatchesNumpy) {
  {  // numpy loop: input [1,8,6], image [3,4], block [2,2], strides [1,2], pads [0,1,1,0]
    TestContext ctx("Col2Im");
    ctx.add_input(seq_x({1, 8, 6})).add_input(i64({2}, {3, 4})).add_input(i64({2}, {2, 2}));
    ctx.set_ints("strides", {1, 2}).set_ints("pads", {0, 1, 1, 0});
    ASSERT_TRUE(ctx.run(18).ok());
    expect_values(ctx.output(0), {1, 2, 3, 4},
                  {-1.f, 1.25f, 0.75f, 0.f, 0.5f, -0.5f, -1.5f, 0.f, -0.75f, 1.f, 0.f, 0.f, -0.25f, -0.75f, -1.25f, 0.f,
                   -0.75f, 1.f, 0.f, 0.f, 0.75f, -0.25f, 1.5f, 0.f});
  }
  {  // numpy loop: input [1,2,4], image [6], block [2], dilations [2]
    TestContext ctx("Col2Im");
    ctx.add_input(seq_x({1, 2, 4})).add_input(i64({1}, {6})).add_input(i64({1}, {2})).set_ints("dilations", {2});
    ASSERT_TRUE(ctx.run(18).ok());
    expect_values(ctx.output(0), {1, 1, 6}, {-0.5f, 1.25f, 1.25f, -0.75f, -1.f, 0.75f});
  }
}

TEST(NnCol2Im, RejectsBadInput) {
  { TestContext c("Col2Im"); c.add_input(seq_x({1, 8, 5})).add_input(i64({2}, {3, 4})).add_input(i64({2}, {2, 2})); expect_error(c, 18); }
  { TestContext c("Col2Im"); c.add_input(seq_x({1, 8, 6})).add_input(i64({2}, {3, 4})).add_input(i64({2}, {0, 2})); expect_error(c, 18); }
  { TestContext c("Col2Im"); c.add_input(seq_x({1, 7, 6})).add_input(i64({2}, {3, 4})).add_input(i64({2}, {2, 2})); expect_error(c, 18); }
  { TestContext c("Col2Im"); c.add_input(seq_x({1, 8, 6})).add_input(i64({1}, {3})).add_input(i64({2}, {2, 2})); expect_error(c, 18); }
  { TestContext c("Col2Im"); c.add_input(seq_x({8, 6})).add_input(i64({2}, {3, 4})).add_input(i64({2}, {2, 2})); expect_error(c, 18); }
  { TestContext c("Col2Im"); c.add_input(seq_x({1, 8, 6})).add_input(i64({2}, {-3, 4})).add_input(i64({2}, {2, 2})); expect_error(c, 18); }
}

// ---------------------------------------------------------------------------------------------
// Pools

TEST(NnPool, MaxPoolCeilStorageOrderIndices) {
  // numpy loop: X[1,2,5,4], kernel [2,3], strides [2,2], pads [1,0,0,1], ceil_mode, storage_order 1.
  TestContext ctx("MaxPool");
  ctx.add_input(seq_x({1, 2, 5, 4})).set_ints("kernel_shape", {2, 3}).set_ints("strides", {2, 2});
  ctx.set_ints("pads", {1, 0, 0, 1}).set_int("ceil_mode", 1).set_int("storage_order", 1).set_num_outputs(2);
  ASSERT_TRUE(ctx.run(12).ok());
  expect_values(ctx.output(0), {1, 2, 3, 2}, {1.25f, 0.25f, 1.f, 0.75f, 1.25f, 1.f, 0.5f, 1.25f, 1.f, 1.f, 1.25f, 1.25f});
  std::vector<int64_t> want_i = {5, 10, 1, 16, 3, 18, 25, 35, 31, 31, 33, 33};
  EXPECT_EQ(ctx.output(1).to_int64_vector(), want_i);
}

TEST(NnPool, MaxPoolDilated) {
  // numpy loop: X[1,1,5,5], kernel [2,2], strides [1,2], pads [0,1,1,0], dilations [2,1].
  TestContext ctx("MaxPool");
  ctx.add_input(seq_x({1, 1, 5, 5})).set_ints("kernel_shape", {2, 2}).set_ints("strides", {1, 2});
  ctx.set_ints("pads", {0, 1, 1, 0}).set_ints("dilations", {2, 1}).set_num_outputs(2);
  ASSERT_TRUE(ctx.run(12).ok());
  expect_values(ctx.output(0), {1, 1, 4, 3}, {0.5f, 1.25f, 1.f, 1.f, 0.75f, 0.75f, 0.5f, 1.25f, 1.25f, 1.f, 0.f, 0.75f});
  std::vector<int64_t> want_i = {10, 1, 4, 15, 7, 18, 10, 12, 23, 15, 16, 18};
  EXPECT_EQ(ctx.output(1).to_int64_vector(), want_i);
}

TEST(NnPool, MaxPoolInt8) {
  TestContext ctx("MaxPool");
  ctx.add_input(Tensor::from_vector<int8_t>(DType::kI8, {1, 1, 4}, {-5, -7, 3, -128})).set_ints("kernel_shape", {2});
  ASSERT_TRUE(ctx.run(12).ok());
  EXPECT_EQ(ctx.output(0).dtype(), DType::kI8);
  EXPECT_EQ(ctx.output(0).to_int64_vector(), (std::vector<int64_t>{-5, 3, 3}));
}

TEST(NnPool, AveragePoolCountIncludePadCeil) {
  // numpy loop: X[1,2,5,4], kernel [3,2], strides [2,2], pads [1,1,1,0], ceil_mode; the divisor
  // counts window positions inside the padded input (include) or inside the input (exclude).
  for (int include : {1, 0}) {
    TestContext ctx("AveragePool");
    ctx.add_input(seq_x({1, 2, 5, 4})).set_ints("kernel_shape", {3, 2}).set_ints("strides", {2, 2});
    ctx.set_ints("pads", {1, 1, 1, 0}).set_int("ceil_mode", 1).set_int("count_include_pad", include);
    ASSERT_TRUE(ctx.run(11).ok());
    if (include) {
      expect_values(ctx.output(0), {1, 2, 3, 3},
                    {0.0833333358f, 0.0833333358f, 0.f, 0.333333343f, -0.375f, 0.416666657f, 0.208333328f, -0.125f,
                     0.25f, -0.166666672f, 0.0416666679f, 0.416666657f, -0.0416666679f, 0.25f, -0.333333343f,
                     -0.0416666679f, 0.291666657f, -0.25f});
    } else {
      expect_values(ctx.output(0), {1, 2, 3, 3},
                    {0.25f, 0.125f, 0.f, 0.666666687f, -0.375f, 0.416666657f, 0.625f, -0.1875f, 0.375f, -0.5f,
                     0.0625f, 0.625f, -0.0833333358f, 0.25f, -0.333333343f, -0.125f, 0.4375f, -0.375f});
    }
  }
}

TEST(NnPool, LpPoolAndGlobal) {
  {  // numpy loop: X[1,1,6], kernel 3, stride 2, pads [1,1], p = 3.
    TestContext ctx("LpPool");
    ctx.add_input(seq_x({1, 1, 6})).set_ints("kernel_shape", {3}).set_ints("strides", {2}).set_ints("pads", {1, 1});
    ctx.set_int("p", 3);
    ASSERT_TRUE(ctx.run(11).ok());
    expect_values(ctx.output(0), {1, 1, 3}, {1.27611721f, 1.33712029f, 1.12448537f});
  }
  {  // numpy: sqrt(sum(x^2)) over the spatial dims.
    TestContext ctx("GlobalLpPool");
    ctx.add_input(seq_x({1, 2, 2, 3}));
    ASSERT_TRUE(ctx.run(11).ok());
    expect_values(ctx.output(0), {1, 2, 1, 1}, {1.85404956f, 1.92028642f});
  }
  {  // hand: mean and max of [-1.25, 0.5, -1, 0.75] / [1.25, -1.25, 0.25, ...]
    TestContext avg("GlobalAveragePool"), mx("GlobalMaxPool");
    avg.add_input(f32({1, 1, 2, 2}, {-1.25f, 0.5f, -1.f, 0.75f}));
    mx.add_input(f32({1, 1, 2, 2}, {-1.25f, 0.5f, -1.f, 0.75f}));
    ASSERT_TRUE(avg.run(11).ok());
    ASSERT_TRUE(mx.run(11).ok());
    expect_values(avg.output(0), {1, 1, 1, 1}, {-0.25f});
    expect_values(mx.output(0), {1, 1, 1, 1}, {0.75f});
  }
}

TEST(NnPool, RejectsBadInput) {
  { TestContext c("MaxPool"); c.add_input(seq_x({1, 1, 4, 4})); expect_error(c); }  // no kernel_shape
  { TestContext c("MaxPool"); c.add_input(seq_x({1, 1, 4, 4})).set_ints("kernel_shape", {2}); expect_error(c); }
  { TestContext c("MaxPool"); c.add_input(seq_x({1, 1, 4, 4})).set_ints("kernel_shape", {0, 2}); expect_error(c); }
  { TestContext c("MaxPool"); c.add_input(seq_x({1, 1, 4, 4})).set_ints("kernel_shape", {5, 5}); expect_error(c); }
  {
    TestContext c("MaxPool");
    c.add_input(seq_x({1, 1, 4, 4})).set_ints("kernel_shape", {2, 2}).set_ints("pads", {2, 0, 0, 0});
    expect_error(c);  // pad not smaller than the kernel
  }
  { TestContext c("MaxPool"); c.add_input(seq_x({1, 1, 4, 4})).set_ints("kernel_shape", {2, 2}).set_int("storage_order", 2); expect_error(c); }
  { TestContext c("MaxPool"); c.add_input(seq_x({1, 1, 4, 4})).set_ints("kernel_shape", {2, 2}).set_int("ceil_mode", 5); expect_error(c); }
  { TestContext c("MaxPool"); c.add_input(seq_x({4, 4})).set_ints("kernel_shape", {2}); expect_error(c); }
  { TestContext c("AveragePool"); c.add_input(seq_x({1, 1, 4, 4})).set_ints("kernel_shape", {2, 2}).set_ints("strides", {0, 1}); expect_error(c); }
  {
    TestContext c("AveragePool");
    c.add_input(Tensor::from_vector<int32_t>(DType::kI32, {1, 1, 2, 2}, {1, 2, 3, 4})).set_ints("kernel_shape", {2, 2});
    expect_error(c);
  }
  { TestContext c("LpPool"); c.add_input(seq_x({1, 1, 4, 4})).set_ints("kernel_shape", {2, 2}).set_int("p", 0); expect_error(c); }
  { TestContext c("GlobalAveragePool"); c.add_input(seq_x({4})); expect_error(c); }
}

TEST(NnMaxUnpool, ScattersAndPads) {
  // Conformance semantics: indices address the inferred 4x4 output; output_shape 5x5 places it at
  // the origin.
  TestContext ctx("MaxUnpool");
  ctx.add_input(f32({1, 1, 2, 2}, {5, 6, 7, 8})).add_input(i64({1, 1, 2, 2}, {5, 7, 13, 15}));
  ctx.add_input(i64({4}, {1, 1, 5, 5})).set_ints("kernel_shape", {2, 2}).set_ints("strides", {2, 2});
  ASSERT_TRUE(ctx.run(11).ok());
  std::vector<float> want(25, 0.f);
  want[1 * 5 + 1] = 5;
  want[1 * 5 + 3] = 6;
  want[3 * 5 + 1] = 7;
  want[3 * 5 + 3] = 8;
  expect_values(ctx.output(0), {1, 1, 5, 5}, want);
}

TEST(NnMaxUnpool, RejectsBadInput) {
  auto make = [](std::vector<int64_t> idx) {
    auto c = std::make_unique<TestContext>("MaxUnpool");
    c->add_input(f32({1, 1, 2, 2}, {5, 6, 7, 8})).add_input(i64({1, 1, 2, 2}, idx));
    c->set_ints("kernel_shape", {2, 2}).set_ints("strides", {2, 2});
    return c;
  };
  { auto c = make({0, 1, 2, 16}); expect_error(*c); }   // past the 4x4 output
  { auto c = make({0, 1, 2, -1}); expect_error(*c); }   // negative
  {
    TestContext c("MaxUnpool");
    c.add_input(f32({1, 1, 2, 2}, {5, 6, 7, 8})).add_input(i64({1, 1, 4}, {0, 1, 2, 3})).set_ints("kernel_shape", {2, 2});
    expect_error(c);  // I shape
  }
  { auto c = make({0, 1, 2, 3}); c->add_input(i64({2}, {4, 4})); expect_error(*c); }  // output_shape rank
  { TestContext c("MaxUnpool"); c.add_input(f32({1, 1, 2, 2}, {5, 6, 7, 8})).add_input(i64({1, 1, 2, 2}, {0, 1, 2, 3})); expect_error(c); }
}

// ---------------------------------------------------------------------------------------------
// MaxRoiPool, RoiAlign

TEST(NnRoi, MaxRoiPoolMatchesNumpy) {
  // numpy loop of Caffe's ROI max pooling; the third ROI lies outside the image (zeros).
  TestContext ctx("MaxRoiPool");
  ctx.add_input(seq_x({2, 2, 4, 5}));
  ctx.add_input(f32({3, 5}, {1, 0, 0, 3, 2, 0, 1.4f, 0.6f, 4.6f, 3.5f, 1, -3, -3, -1, -1}));
  ctx.set_ints("pooled_shape", {2, 2});
  ASSERT_TRUE(ctx.run(11).ok());
  expect_values(ctx.output(0), {3, 2, 2, 2},
                {1.25f, 1.f, 1.25f, 1.f, 0.5f, 1.25f, 1.f, 1.25f, 1.25f, 0.25f, 0.75f, 0.75f, 1.f, 1.25f, 1.f, 0.f,
                 0.f, 0.f, 0.f, 0.f, 0.f, 0.f, 0.f, 0.f});
}

TEST(NnRoi, RoiAlignMaxAndOutputHalfPixel) {
  const std::vector<float> rois = {0.5f, 0.2f, 3.7f, 2.9f, 1.0f, 1.0f, 4.5f, 3.5f, -2.0f, -1.0f, 1.0f, 6.0f};
  {  // port of onnx/reference/ops/op_roi_align.py: max mode, half_pixel, adaptive sampling.
    TestContext ctx("RoiAlign");
    ctx.add_input(seq_x({2, 2, 4, 5})).add_input(f32({3, 4}, rois)).add_input(i64({3}, {1, 0, 1}));
    ctx.set_string("mode", "max").set_int("output_height", 2).set_int("output_width", 2);
    ASSERT_TRUE(ctx.run(16).ok());
    expect_values(ctx.output(0), {3, 2, 2, 2},
                  {0.534375012f, 0.569999993f, 0.5625f, 0.49000001f, 0.213750005f, 0.890625f, 0.5625f, 0.765625f,
                   0.495117188f, 0.190429688f, 0.952148438f, 0.366210938f, 0.76171875f, 0.342773438f, 0.55859375f,
                   0.659179688f, 0.f, 0.859375f, 0.f, 0.15625f, 0.f, 0.5625f, 0.f, 0.5625f});
  }
  {  // same port: avg, opset 10 (output_half_pixel), sampling_ratio 2, spatial_scale 0.5, 2x3 bins.
    TestContext ctx("RoiAlign");
    ctx.add_input(seq_x({2, 2, 4, 5})).add_input(f32({3, 4}, rois)).add_input(i64({3}, {1, 0, 1}));
    ctx.set_int("output_height", 2).set_int("output_width", 3).set_int("sampling_ratio", 2).set_float("spatial_scale", 0.5f);
    ASSERT_TRUE(ctx.run(10).ok());
    expect_values(ctx.output(0), {3, 2, 2, 3},
                  {0.452083319f, -0.081249997f, -0.614583313f, 0.602669299f, 0.240136713f, -0.277083337f,
                   -0.297916681f, -0.579166651f, 0.239583328f, 0.0395833328f, -0.277115881f, 0.351497382f,
                   -0.477213532f, -0.115234375f, 0.488444f, -0.572916687f, -0.125f, 0.752604187f, 0.541666687f,
                   0.53125f, -0.0252278652f, -0.0983072892f, 0.091796875f, 0.147623703f, 0.953125f, 0.953125f,
                   0.703125f, -0.5078125f, -0.5078125f, -0.177734375f, 0.203125f, 0.203125f, -0.046875f, 0.2890625f,
                   0.2890625f, 0.232421875f});
  }
}

TEST(NnRoi, RejectsBadInput) {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  { TestContext c("RoiAlign"); c.add_input(seq_x({1, 1, 4, 4})).add_input(f32({1, 4}, {0, 0, 2, 2})).add_input(i64({1}, {1})); expect_error(c, 16); }
  { TestContext c("RoiAlign"); c.add_input(seq_x({1, 1, 4, 4})).add_input(f32({1, 4}, {0, nan, 2, 2})).add_input(i64({1}, {0})); expect_error(c, 16); }
  { TestContext c("RoiAlign"); c.add_input(seq_x({1, 1, 4, 4})).add_input(f32({1, 3}, {0, 0, 2})).add_input(i64({1}, {0})); expect_error(c, 16); }
  { TestContext c("RoiAlign"); c.add_input(seq_x({1, 1, 4, 4})).add_input(f32({1, 4}, {0, 0, 2, 2})).add_input(i64({2}, {0, 0})); expect_error(c, 16); }
  { TestContext c("RoiAlign"); c.add_input(seq_x({1, 1, 4, 4})).add_input(f32({1, 4}, {0, 0, 1e30f, 1e30f})).add_input(i64({1}, {0})); expect_error(c, 16); }
  {
    TestContext c("RoiAlign");
    c.add_input(seq_x({1, 1, 4, 4})).add_input(f32({1, 4}, {0, 0, 2, 2})).add_input(i64({1}, {0})).set_string("mode", "min");
    expect_error(c, 16);
  }
  { TestContext c("MaxRoiPool"); c.add_input(seq_x({1, 1, 4, 4})).add_input(f32({1, 5}, {1, 0, 0, 2, 2})).set_ints("pooled_shape", {2, 2}); expect_error(c); }
  { TestContext c("MaxRoiPool"); c.add_input(seq_x({1, 1, 4, 4})).add_input(f32({1, 5}, {0, 0, 0, 2, 2})); expect_error(c); }
  { TestContext c("MaxRoiPool"); c.add_input(seq_x({1, 1, 4, 4})).add_input(f32({1, 5}, {0, nan, 0, 2, 2})).set_ints("pooled_shape", {2, 2}); expect_error(c); }
  { TestContext c("MaxRoiPool"); c.add_input(seq_x({1, 1, 4, 4})).add_input(f32({1, 5}, {0, 0, 0, 2, 2})).set_ints("pooled_shape", {0, 2}); expect_error(c); }
}

// ---------------------------------------------------------------------------------------------
// MatMul, Gemm, Det

TEST(NnMatMul, BroadcastAndVectors) {
  {  // numpy: np.matmul(X[2,1,3,4], W[3,4,2])
    TestContext ctx("MatMul");
    ctx.add_input(seq_x({2, 1, 3, 4})).add_input(seq_w({3, 4, 2}));
    ASSERT_TRUE(ctx.run(13).ok());
    expect_values(ctx.output(0), {2, 3, 3, 2},
                  {0.75f, -0.375f, 0.5f, -0.25f, -1.125f, 1.25f, -0.375f, -3.25f, -0.25f, 1.625f, 1.25f, 1.f,
                   -3.25f, 0.875f, 1.625f, 0.875f, 1.f, -1.875f, 0.f, 0.f, -1.625f, 1.5f, 2.25f, -3.875f,
                   0.f, 1.75f, 1.5f, 1.125f, -3.875f, 0.5f, 1.75f, 0.875f, 1.125f, -1.875f, 0.5f, 2.25f});
  }
  {  // numpy: X[4] @ W[2,4,3] -> [2,3]; X[2,3,4] @ W[4] -> [2,3]
    TestContext a("MatMul"), b("MatMul");
    a.add_input(seq_x({4})).add_input(seq_w({2, 4, 3}));
    b.add_input(seq_x({2, 3, 4})).add_input(seq_w({4}));
    ASSERT_TRUE(a.run(13).ok());
    ASSERT_TRUE(b.run(13).ok());
    expect_values(a.output(0), {2, 3}, {-0.5f, -2.5f, 2.5f, 1.75f, -0.25f, -0.5f});
    expect_values(b.output(0), {2, 3}, {2.875f, -1.875f, -1.125f, -1.75f, -1.f, 1.125f});
  }
  {  // 1-D @ 1-D is a scalar; int32 wraps: 65536 * 65536 = 2^32 = 0 (mod 2^32), + 3*4.
    TestContext ctx("MatMul");
    ctx.add_input(Tensor::from_vector<int32_t>(DType::kI32, {2}, {65536, 3}));
    ctx.add_input(Tensor::from_vector<int32_t>(DType::kI32, {2}, {65536, 4}));
    ASSERT_TRUE(ctx.run(13).ok());
    EXPECT_EQ(ctx.output(0).shape(), Shape{});
    EXPECT_EQ(ctx.output(0).to_int64_vector(), (std::vector<int64_t>{12}));
  }
  {  // an empty batch with a huge broadcast partner allocates nothing large
    TestContext ctx("MatMul");
    ctx.add_input(f32({0, 1, 2}, {})).add_input(f32({1, 2, 3}, std::vector<float>(6, 1.f)));
    ASSERT_TRUE(ctx.run(13).ok());
    EXPECT_EQ(ctx.output(0).shape(), (Shape{0, 1, 3}));
  }
  {  // empty K gives zeros
    TestContext ctx("MatMul");
    ctx.add_input(f32({2, 0}, {})).add_input(f32({0, 3}, {}));
    ASSERT_TRUE(ctx.run(13).ok());
    expect_values(ctx.output(0), {2, 3}, std::vector<float>(6, 0.f));
  }
}

TEST(NnMatMul, RejectsBadInput) {
  { TestContext c("MatMul"); c.add_input(seq_x({2, 3})).add_input(seq_w({4, 2})); expect_error(c); }
  { TestContext c("MatMul"); c.add_input(seq_x({2, 2, 3})).add_input(seq_w({3, 3, 2})); expect_error(c); }
  { TestContext c("MatMul"); c.add_input(seq_x({})).add_input(seq_w({3})); expect_error(c); }
  { TestContext c("MatMul"); c.add_input(seq_x({2, 3})).add_input(Tensor::from_vector<double>(DType::kF64, {3}, {1, 2, 3})); expect_error(c); }
  {
    TestContext c("MatMul");
    c.add_input(Tensor::from_vector<bool>(DType::kBool, {1}, {true})).add_input(Tensor::from_vector<bool>(DType::kBool, {1}, {true}));
    expect_error(c);
  }
  { TestContext c("MatMul"); c.add_input(seq_x({2, 3})); expect_error(c); }
}

TEST(NnGemm, TransposesAlphaBetaBroadcast) {
  // numpy: 0.5 * X[4,3].T @ W[5,4].T + 2 * C[3,1]
  TestContext ctx("Gemm");
  ctx.add_input(seq_x({4, 3})).add_input(seq_w({5, 4})).add_input(f32({3, 1}, {0.5f, 1.f, -1.f}));
  ctx.set_int("transA", 1).set_int("transB", 1).set_float("alpha", 0.5f).set_float("beta", 2.f);
  ASSERT_TRUE(ctx.run(13).ok());
  expect_values(ctx.output(0), {3, 5},
                {0.75f, 1.625f, 1.625f, 0.3125f, 1.1875f, 2.1875f, 1.3125f, 2.625f, 2.625f, 1.75f, -2.0625f, -1.9375f,
                 -1.375f, -2.125f, -2.f});
  // Without C (opset 11+), transB only: equals the MatMul of the transposed operand.
  TestContext g("Gemm"), m("MatMul");
  g.add_input(seq_x({3, 4})).add_input(seq_w({2, 4})).set_int("transB", 1);
  std::vector<float> w = seq_w_values(8), wt(8);
  for (int i = 0; i < 2; ++i)
    for (int k = 0; k < 4; ++k) wt[k * 2 + i] = w[i * 4 + k];
  m.add_input(seq_x({3, 4})).add_input(f32({4, 2}, wt));
  ASSERT_TRUE(g.run(13).ok());
  ASSERT_TRUE(m.run(13).ok());
  expect_values(g.output(0), {3, 2}, m.output(0).to_float_vector());
}

TEST(NnGemm, RejectsBadInput) {
  { TestContext c("Gemm"); c.add_input(seq_x({2, 3, 1})).add_input(seq_w({3, 2})); expect_error(c); }
  { TestContext c("Gemm"); c.add_input(seq_x({2, 3})).add_input(seq_w({2, 2})); expect_error(c); }
  { TestContext c("Gemm"); c.add_input(seq_x({2, 3})).add_input(seq_w({3, 2})).add_input(seq_x({3})); expect_error(c); }
  { TestContext c("Gemm"); c.add_input(seq_x({2, 3})).add_input(seq_w({3, 2})).add_input(seq_x({2, 2, 1})); expect_error(c); }
  { TestContext c("Gemm"); c.add_input(seq_x({2, 3})).add_input(seq_w({3, 2})); expect_error(c, 9); }  // C required < 11
  { TestContext c("Gemm"); c.add_input(seq_x({2, 3})).add_input(seq_w({3, 2})).set_int("transA", 2); expect_error(c); }
}

TEST(NnDet, MatchesNumpy) {
  std::vector<float> a = seq_x_values(9);
  a[0] = 2.f;
  TestContext ctx("Det"), nd("Det");
  ctx.add_input(f32({3, 3}, a));
  nd.add_input(seq_x({2, 2, 2}));
  ASSERT_TRUE(ctx.run(11).ok());
  ASSERT_TRUE(nd.run(11).ok());
  expect_values(ctx.output(0), {}, {-0.625f});              // numpy: np.linalg.det
  expect_values(nd.output(0), {2}, {0.0625f, 0.75f});       // numpy: np.linalg.det
  TestContext bad("Det"), bad2("Det");
  bad.add_input(seq_x({2, 3}));
  bad2.add_input(seq_x({3}));
  expect_error(bad, 11);
  expect_error(bad2, 11);
}

// ---------------------------------------------------------------------------------------------
// Einsum

struct EinsumCase {
  std::string eq;
  std::vector<Shape> shapes;
  Shape out;
  std::vector<float> want;  // numpy: np.einsum(eq, X, W, X, ...)
};

TEST(NnEinsum, MatchesNumpy) {
  const std::vector<EinsumCase> cases = {
      {"bij,bjk->bik", {{2, 2, 3}, {2, 3, 2}}, {2, 2, 2}, {0.75f, -1.125f, 1.25f, -1.625f, 1.25f, 1.75f, 1.f, 2.25f}},
      {"ii->i", {{3, 3}}, {3}, {-0.5f, 1.f, -0.25f}},
      {"ii", {{3, 3}}, {}, {0.25f}},
      {"...ij,...jk", {{2, 1, 2, 3}, {3, 3, 2}}, {2, 3, 2, 2},
       {0.75f, -1.125f, 1.25f, -1.625f, 1.75f, 0.75f, 1.5f, 1.25f, -1.625f, 1.75f, -1.75f, 1.5f,
        1.75f, -2.125f, 2.25f, -2.625f, 1.25f, 1.75f, 1.f, 2.25f, -1.875f, 1.25f, -2.f, 1.f}},
      {"i,j", {{2}, {3}}, {2, 3}, {0.5f, -0.75f, -0.25f, -1.25f, 1.875f, 0.625f}},
      {"ij,jk,kl->il", {{2, 3}, {3, 2}, {2, 2}}, {2, 2}, {-0.65625f, 1.78125f, -1.03125f, 2.78125f}},
      {"bii->b", {{2, 3, 3}}, {2}, {0.25f, -2.f}},
      {"iij->ji", {{2, 2, 3}}, {3, 2}, {-0.5f, -1.25f, 1.25f, 0.5f, 0.25f, -0.5f}},
      {"ij->", {{2, 3}}, {}, {1.25f}},
      {"ab,b->", {{2, 3}, {3}}, {}, {4.75f}},
  };
  for (const EinsumCase& c : cases) {
    SCOPED_TRACE(c.eq);
    TestContext ctx("Einsum");
    for (size_t i = 0; i < c.shapes.size(); ++i) ctx.add_input(i % 2 == 0 ? seq_x(c.shapes[i]) : seq_w(c.shapes[i]));
    ctx.set_string("equation", c.eq);
    ASSERT_TRUE(ctx.run(12).ok());
    expect_values(ctx.output(0), c.out, c.want);
  }
}

TEST(NnEinsum, IntegersAndSpaces) {
  TestContext ctx("Einsum");
  ctx.add_input(Tensor::from_vector<int64_t>(DType::kI64, {2, 2}, {1, 2, 3, 4}));
  ctx.add_input(Tensor::from_vector<int64_t>(DType::kI64, {2, 2}, {5, 6, 7, 8}));
  ctx.set_string("equation", " ij , jk -> ik ");
  ASSERT_TRUE(ctx.run(12).ok());
  EXPECT_EQ(ctx.output(0).to_int64_vector(), (std::vector<int64_t>{19, 22, 43, 50}));  // hand
}

TEST(NnEinsum, RejectsBadInput) {
  auto run = [](const std::string& eq, std::vector<Shape> shapes) {
    TestContext ctx("Einsum");
    for (const Shape& s : shapes) ctx.add_input(seq_x(s));
    ctx.set_string("equation", eq);
    expect_error(ctx, 12);
  };
  run("ij,jk", {{2, 3}});                 // term count
  run("ij", {{2, 3, 4}});                 // rank
  run("ij,jk", {{2, 3}, {4, 2}});         // size mismatch
  run("ii", {{2, 3}});                    // diagonal of unequal dims
  run("ij->k", {{2, 3}});                 // output label not in inputs
  run("ij->ii", {{2, 3}});                // repeated output label
  run("i$j", {{2, 3}});                   // bad character
  run("i..j", {{2, 3}});                  // bad ellipsis
  run("...i...", {{2, 3}});               // two ellipses
  run("ij->j->i", {{2, 3}});              // two arrows
  run("", {{2, 3}});                      // empty
  run("i,j,ik,jk->", {{1 << 17}, {1 << 17}, {1 << 17, 1}, {1 << 17, 1}});  // 2^34-element intermediate
}

// ---------------------------------------------------------------------------------------------
// GridSample

TEST(NnGridSample, AllModesMatchReferencePort) {
  // numpy port of onnx/reference/ops/op_grid_sample.py (2-D): X[1,2,3,4], grid [1,2,3,2] with
  // points outside [-1, 1].
  const std::vector<float> grid = {-1.3f, 0.2f, 0.9f, -1.7f, 2.6f, 0.4f, 0.1f, 0.1f, -0.55f, 1.2f, 0.33f, -3.1f};
  struct Want {
    const char* mode;
    const char* pad;
    int align;
    std::vector<float> y;
  };
  const std::vector<Want> wants = {
      {"bilinear", "zeros", 0, {0, 0, 0, -0.598750055f, -0.130000025f, 0, 0, 0, 0, 0.16125007f, -0.110000022f, 0}},
      {"bilinear", "zeros", 1, {0.412499964f, -0.179999977f, 0, -0.596249998f, -0.73999995f, 0, -0.137500033f, 0.221249953f, 0, 0.108749956f, -0.0549999811f, 0}},
      {"bilinear", "border", 0, {0.62500006f, -0.75f, 0, -0.598750055f, -0.649999976f, 0.0899999142f, -0.37499994f, 1.f, 0.650000036f, 0.16125007f, -0.550000012f, -0.46999985f}},
      {"bilinear", "reflection", 1, {0.299999952f, 0.161249906f, -0.0999998748f, -0.596249998f, -0.674999952f, 0.342625141f, -0.452499986f, 0.15125002f, -0.440000027f, 0.108749956f, -0.190000013f, -0.371375114f}},
      {"nearest", "reflection", 0, {1, 0.75f, -0.25f, -1, -0.25f, 0.5f, 0, -0.25f, -1.25f, 0.75f, -1.25f, -0.5f}},
      {"nearest", "border", 1, {1, -0.75f, 0.75f, -1, -1.25f, 0.25f, 0, 1, -0.25f, 0.75f, 0.5f, -0.75f}},
      {"bicubic", "zeros", 0, {-0.0488923714f, 0.0543788522f, 0, -0.964645565f, -0.177208051f, 0, 0.0331467204f, -0.0763423517f, 0, 0.320438027f, -0.11446403f, 0}},
      {"bicubic", "border", 1, {0.923999965f, -0.636656165f, 0.427000046f, -0.952377737f, -1.1385479f, 0.257513911f, -0.340000063f, 0.762202978f, 0.196999952f, 0.233613357f, 0.0759004131f, -0.752746999f}},
      {"bicubic", "reflection", 0, {0.711334705f, 0.339516371f, -0.0235140659f, -0.965717733f, -0.937760055f, 0.74233681f, -0.514328003f, 0.142132044f, -0.676964104f, 0.325189382f, -0.497199982f, -0.5333125f}},
  };
  for (const Want& w : wants) {
    SCOPED_TRACE(std::string(w.mode) + " " + w.pad + " " + std::to_string(w.align));
    TestContext ctx("GridSample");
    ctx.add_input(seq_x({1, 2, 3, 4})).add_input(f32({1, 2, 3, 2}, grid));
    ctx.set_string("mode", w.mode).set_string("padding_mode", w.pad).set_int("align_corners", w.align);
    ASSERT_TRUE(ctx.run(16).ok());
    expect_values(ctx.output(0), {1, 2, 2, 3}, w.y);
  }
}

TEST(NnGridSample, HostileInput) {
  const float inf = std::numeric_limits<float>::infinity(), nan = std::numeric_limits<float>::quiet_NaN();
  for (const char* pad : {"zeros", "border", "reflection"}) {
    for (const char* mode : {"bilinear", "nearest", "bicubic"}) {
      TestContext ctx("GridSample");  // non-finite and huge coordinates: defined output, no crash
      ctx.add_input(seq_x({1, 1, 3, 4})).add_input(f32({1, 1, 4, 2}, {inf, 0, -inf, 1e30f, nan, 0, 3e38f, -3e38f}));
      ctx.set_string("mode", mode).set_string("padding_mode", pad);
      ASSERT_TRUE(ctx.run(16).ok());
    }
  }
  { TestContext c("GridSample"); c.add_input(seq_x({1, 1, 3, 4})).add_input(seq_x({2, 1, 4, 2})); expect_error(c, 16); }
  { TestContext c("GridSample"); c.add_input(seq_x({1, 1, 3, 4})).add_input(seq_x({1, 1, 4, 3})); expect_error(c, 16); }
  { TestContext c("GridSample"); c.add_input(seq_x({1, 1, 3, 4})).add_input(seq_x({1, 1, 4, 2})).set_string("mode", "area"); expect_error(c, 16); }
  { TestContext c("GridSample"); c.add_input(seq_x({1, 1, 3, 4})).add_input(seq_x({1, 1, 4, 2})).set_string("padding_mode", "wrap"); expect_error(c, 16); }
  { TestContext c("GridSample"); c.add_input(seq_x({1, 3, 4})).add_input(seq_x({1, 4, 2})); expect_error(c, 16); }
}

}  // namespace
}  // namespace edgeai
