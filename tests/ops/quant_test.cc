// Tests of the reference quantization kernels (src/kernels/reference/quant.cc): QuantizeLinear,
// DequantizeLinear, DynamicQuantizeLinear, MatMulInteger, QLinearMatMul, ConvInteger, QLinearConv.
// Expected values are hand-computed or numpy-computed (named per test); hostile inputs must give
// a non-OK Status, never a crash.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "../kernel_test_util.h"

namespace edgeai {
namespace {

using testing::TestContext;

Tensor f32(Shape s, std::vector<float> v) { return Tensor::from_vector<float>(DType::kF32, std::move(s), v); }
Tensor i32(Shape s, std::vector<int32_t> v) { return Tensor::from_vector<int32_t>(DType::kI32, std::move(s), v); }
Tensor u8(Shape s, std::vector<uint8_t> v) { return Tensor::from_vector<uint8_t>(DType::kU8, std::move(s), v); }
Tensor i8(Shape s, std::vector<int8_t> v) { return Tensor::from_vector<int8_t>(DType::kI8, std::move(s), v); }

std::vector<int64_t> ints(const Tensor& t) { return t.to_int64_vector(); }

TEST(QuantQuantizeLinear, RoundsHalfToEvenAndSaturates) {
  // Oracle: hand computation of saturate(rint(x / scale) + zero_point), rint = half to even.
  {
    TestContext ctx("QuantizeLinear");
    ctx.add_input(f32({9}, {0.5f, 1.5f, 2.5f, -0.5f, -1.5f, -2.5f, 300.f, -300.f, NAN}))
        .add_input(f32({}, {1.f})).add_input(i8({}, {0}));
    ASSERT_TRUE(ctx.run(13).ok());
    EXPECT_EQ(ctx.output(0).dtype(), DType::kI8);
    EXPECT_EQ(ints(ctx.output(0)), (std::vector<int64_t>{0, 2, 2, 0, -2, -2, 127, -128, 0}));
  }
  {
    TestContext ctx("QuantizeLinear");
    ctx.add_input(f32({5}, {1.f, 3.f, 5.f, -255.f, 1000.f})).add_input(f32({}, {2.f})).add_input(u8({}, {128}));
    ASSERT_TRUE(ctx.run(10).ok());
    EXPECT_EQ(ints(ctx.output(0)), (std::vector<int64_t>{128, 130, 130, 0, 255}));
  }
  {
    // No zero point: uint8 with zero point 0. int32 input.
    TestContext ctx("QuantizeLinear");
    ctx.add_input(i32({3}, {-4, 7, 600})).add_input(f32({1}, {2.f}));
    ASSERT_TRUE(ctx.run(13).ok());
    EXPECT_EQ(ctx.output(0).dtype(), DType::kU8);
    EXPECT_EQ(ints(ctx.output(0)), (std::vector<int64_t>{0, 4, 255}));
  }
}

TEST(QuantQuantizeLinear, PerAxis) {
  // Oracle: hand computation; row 1 uses scale 2, zero point 10: rint([2, 2.5, 3]) + 10.
  TestContext ctx("QuantizeLinear");
  ctx.add_input(f32({2, 3}, {1, 2, 3, 4, 5, 6})).add_input(f32({2}, {1.f, 2.f})).add_input(u8({2}, {0, 10}))
      .set_int("axis", 0);
  ASSERT_TRUE(ctx.run(13).ok());
  EXPECT_EQ(ints(ctx.output(0)), (std::vector<int64_t>{1, 2, 3, 12, 12, 13}));
  // Per-axis parameters need opset 13.
  EXPECT_FALSE(ctx.run(10).ok());
  // Negative axis: the last one, with three scales.
  TestContext c2("QuantizeLinear");
  c2.add_input(f32({2, 3}, {1, 2, 3, 4, 5, 6})).add_input(f32({3}, {1.f, 2.f, 4.f})).set_int("axis", -1);
  ASSERT_TRUE(c2.run(13).ok());
  EXPECT_EQ(ints(c2.output(0)), (std::vector<int64_t>{1, 1, 1, 4, 2, 2}));
}

TEST(QuantDequantizeLinear, Values) {
  // Oracle: hand computation of (x - zero_point) * scale.
  TestContext ctx("DequantizeLinear");
  ctx.add_input(i8({3}, {-128, 0, 127})).add_input(f32({}, {0.5f})).add_input(i8({}, {-1}));
  ASSERT_TRUE(ctx.run(10).ok());
  EXPECT_EQ(ctx.output(0).to_float_vector(), (std::vector<float>{-63.5f, 0.5f, 64.f}));
  // Per axis (opset 13), axis 1 of [1, 2, 2].
  TestContext c2("DequantizeLinear");
  c2.add_input(u8({1, 2, 2}, {10, 20, 10, 20})).add_input(f32({2}, {1.f, 0.25f})).add_input(u8({2}, {10, 12}));
  ASSERT_TRUE(c2.run(13).ok());
  EXPECT_EQ(c2.output(0).to_float_vector(), (std::vector<float>{0.f, 10.f, -0.5f, 2.f}));
  // int32 input takes no zero point other than 0.
  TestContext c3("DequantizeLinear");
  c3.add_input(i32({2}, {-5, 6})).add_input(f32({}, {2.f})).add_input(i32({}, {0}));
  ASSERT_TRUE(c3.run(13).ok());
  EXPECT_EQ(c3.output(0).to_float_vector(), (std::vector<float>{-10.f, 12.f}));
}

TEST(QuantDynamicQuantizeLinear, Values) {
  // Oracle: the ONNX backend test test_dynamicquantizelinear (numpy): scale = 5 / 255, zp 153.
  TestContext ctx("DynamicQuantizeLinear");
  ctx.add_input(f32({6}, {0.f, 2.f, -3.f, -2.5f, 1.34f, 0.5f})).set_num_outputs(3);
  ASSERT_TRUE(ctx.run(11).ok());
  EXPECT_EQ(ints(ctx.output(0)), (std::vector<int64_t>{153, 255, 0, 26, 221, 179}));
  EXPECT_NEAR(ctx.output(1).get_double(0), 5.0 / 255.0, 1e-7);
  EXPECT_EQ(ctx.output(2).get_int(0), 153);
  // All zeros: scale 0, zero point 0, no division by zero.
  TestContext c2("DynamicQuantizeLinear");
  c2.add_input(f32({2}, {0.f, 0.f})).set_num_outputs(3);
  ASSERT_TRUE(c2.run(11).ok());
  EXPECT_EQ(ints(c2.output(0)), (std::vector<int64_t>{0, 0}));
  EXPECT_EQ(c2.output(1).get_double(0), 0.0);
}

TEST(QuantMatMulInteger, ZeroPointsPerRowAndColumn) {
  // Oracle: hand computation. A - za = [[0,1,2],[7,0,5]], B - zb = [[1,-2],[2,-1],[-3,3]].
  TestContext ctx("MatMulInteger");
  ctx.add_input(u8({2, 3}, {1, 2, 3, 7, 0, 5})).add_input(i8({3, 2}, {1, -1, 2, 0, -3, 4}))
      .add_input(u8({2}, {1, 0})).add_input(i8({2}, {0, 1}));
  ASSERT_TRUE(ctx.run(10).ok());
  EXPECT_EQ(ctx.output(0).dtype(), DType::kI32);
  EXPECT_EQ(ints(ctx.output(0)), (std::vector<int64_t>{-4, 5, -8, 1}));
}

TEST(QuantMatMulInteger, VectorAndBroadcastShapes) {
  // Oracle: numpy matmul shape rules; 1-D A drops its row dimension.
  TestContext ctx("MatMulInteger");
  ctx.add_input(u8({3}, {1, 2, 3})).add_input(u8({3, 2}, {1, 0, 2, 1, 0, 4}));
  ASSERT_TRUE(ctx.run(10).ok());
  EXPECT_EQ(ctx.output(0).shape(), (Shape{2}));
  EXPECT_EQ(ints(ctx.output(0)), (std::vector<int64_t>{5, 14}));
  TestContext c2("MatMulInteger");
  c2.add_input(u8({2, 1, 3}, {1, 2, 3, 4, 5, 6})).add_input(u8({3, 1}, {1, 1, 1}));
  ASSERT_TRUE(c2.run(10).ok());
  EXPECT_EQ(c2.output(0).shape(), (Shape{2, 1, 1}));
  EXPECT_EQ(ints(c2.output(0)), (std::vector<int64_t>{6, 15}));
}

TEST(QuantQLinearMatMul, RequantizesHalfToEven) {
  // Oracle: hand computation. acc = (20 - 10) * (5 - 1) = 40; real = 40 * 0.5 * 2 = 40.
  auto run = [](float y_scale, Tensor y_zp) {
    TestContext ctx("QLinearMatMul");
    ctx.add_input(u8({1, 2}, {10, 20})).add_input(f32({}, {0.5f})).add_input(u8({}, {10}))
        .add_input(u8({2, 1}, {3, 5})).add_input(f32({}, {2.f})).add_input(u8({}, {1}))
        .add_input(f32({}, {y_scale})).add_input(y_zp);
    EXPECT_TRUE(ctx.run(10).ok());
    return ctx.output(0).get_int(0);
  };
  EXPECT_EQ(run(1.f, u8({}, {100})), 140);
  EXPECT_EQ(run(16.f, u8({}, {100})), 102);  // 2.5 rounds to 2
  EXPECT_EQ(run(80.f / 3.f, u8({}, {100})), 102);  // 1.5 rounds to 2
  EXPECT_EQ(run(0.1f, i8({}, {0})), 127);    // 400 saturates
}

// ConvInteger / QLinearConv case: x u8 [1,4,3,3] = (arange(36) * 7) % 11, w u8 [2,2,2,2] =
// (arange(16) * 5) % 7, group 2, strides 2, SAME_UPPER (pads end by 1), x_zp 3, w_zp [1, 2].
std::vector<uint8_t> conv_x() {
  std::vector<uint8_t> v(36);
  for (int i = 0; i < 36; ++i) v[i] = static_cast<uint8_t>(i * 7 % 11);
  return v;
}
std::vector<uint8_t> conv_w() {
  std::vector<uint8_t> v(16);
  for (int i = 0; i < 16; ++i) v[i] = static_cast<uint8_t>(i * 5 % 7);
  return v;
}

TEST(QuantConvInteger, GroupedStridedSamePadding) {
  // Oracle: numpy, a direct loop over the padded input (padding holds the zero point).
  TestContext ctx("ConvInteger");
  ctx.add_input(u8({1, 4, 3, 3}, conv_x())).add_input(u8({2, 2, 2, 2}, conv_w()))
      .add_input(u8({}, {3})).add_input(u8({2}, {1, 2}))
      .set_int("group", 2).set_ints("strides", {2, 2}).set_string("auto_pad", "SAME_UPPER");
  ASSERT_TRUE(ctx.run(10).ok());
  EXPECT_EQ(ctx.output(0).shape(), (Shape{1, 2, 2, 2}));
  EXPECT_EQ(ints(ctx.output(0)), (std::vector<int64_t>{65, -10, 14, 32, 8, 13, 1, 9}));
  // The same with explicit pads.
  TestContext c2("ConvInteger");
  c2.add_input(u8({1, 4, 3, 3}, conv_x())).add_input(u8({2, 2, 2, 2}, conv_w()))
      .add_input(u8({}, {3})).add_input(u8({2}, {1, 2}))
      .set_int("group", 2).set_ints("strides", {2, 2}).set_ints("pads", {0, 0, 1, 1});
  ASSERT_TRUE(c2.run(10).ok());
  EXPECT_EQ(ints(c2.output(0)), (std::vector<int64_t>{65, -10, 14, 32, 8, 13, 1, 9}));
}

TEST(QuantQLinearConv, PerChannelScalesAndBias) {
  // Oracle: numpy: rint((acc + [5, -7]) * 0.5 * [0.1, 0.2] / 0.25) + 10, acc from the ConvInteger
  // case; the real values are [14, -1, 3.8, 7.4, 0.4, 2.4, -2.4, 0.8].
  TestContext ctx("QLinearConv");
  ctx.add_input(u8({1, 4, 3, 3}, conv_x())).add_input(f32({}, {0.5f})).add_input(u8({}, {3}))
      .add_input(u8({2, 2, 2, 2}, conv_w())).add_input(f32({2}, {0.1f, 0.2f})).add_input(u8({2}, {1, 2}))
      .add_input(f32({}, {0.25f})).add_input(u8({}, {10})).add_input(i32({2}, {5, -7}))
      .set_int("group", 2).set_ints("strides", {2, 2}).set_string("auto_pad", "SAME_UPPER");
  ASSERT_TRUE(ctx.run(10).ok());
  EXPECT_EQ(ctx.output(0).dtype(), DType::kU8);
  EXPECT_EQ(ints(ctx.output(0)), (std::vector<int64_t>{24, 9, 14, 17, 10, 12, 8, 11}));
}

TEST(QuantHostile, BadInputsAreErrors) {
  auto q = [](Tensor x, Tensor s, int opset, int64_t axis = 1) {
    TestContext ctx("QuantizeLinear");
    ctx.add_input(x).add_input(s).set_int("axis", axis);
    return ctx.run(opset);
  };
  EXPECT_FALSE(q(i8({2}, {1, 2}), f32({}, {1.f}), 13).ok());               // x dtype
  EXPECT_FALSE(q(f32({2}, {1, 2}), i32({}, {1}), 13).ok());                // scale dtype
  EXPECT_FALSE(q(f32({2, 2}, {1, 2, 3, 4}), f32({2, 2}, {1, 1, 1, 1}), 13).ok());  // scale rank
  EXPECT_FALSE(q(f32({2, 2}, {1, 2, 3, 4}), f32({3}, {1, 1, 1}), 13).ok());        // scale length
  EXPECT_FALSE(q(f32({2, 2}, {1, 2, 3, 4}), f32({2}, {1, 1}), 13, 5).ok());        // axis range
  EXPECT_FALSE(q(f32({}, {1}), f32({2}, {1, 1}), 13).ok());                        // per-axis scalar
  {
    TestContext ctx("QuantizeLinear");
    ctx.add_input(f32({2}, {1, 2})).add_input(f32({}, {1.f})).add_input(f32({}, {0.f}));
    EXPECT_FALSE(ctx.run(13).ok());  // zero point dtype
  }
  {
    TestContext ctx("QuantizeLinear");
    ctx.add_input(f32({2}, {1, 2})).add_input(f32({2}, {1.f, 1.f})).add_input(u8({3}, {0, 0, 0})).set_int("axis", 0);
    EXPECT_FALSE(ctx.run(13).ok());  // zero point shape
  }
  {
    TestContext ctx("QuantizeLinear");
    ctx.add_input(f32({2}, {1, 2}));
    EXPECT_FALSE(ctx.run(13).ok());  // missing scale
  }
  {
    TestContext ctx("DequantizeLinear");
    ctx.add_input(u8({2}, {1, 2})).add_input(f32({}, {1.f})).add_input(i8({}, {0}));
    EXPECT_FALSE(ctx.run(13).ok());  // zero point dtype differs from x
  }
  {
    TestContext ctx("DequantizeLinear");
    ctx.add_input(i32({2}, {1, 2})).add_input(f32({}, {1.f})).add_input(i32({}, {3}));
    EXPECT_FALSE(ctx.run(13).ok());  // int32 with a non-zero zero point
  }
  {
    TestContext ctx("DequantizeLinear");
    ctx.add_input(f32({2}, {1, 2})).add_input(f32({}, {1.f}));
    EXPECT_FALSE(ctx.run(13).ok());  // float x
  }
  {
    TestContext ctx("DynamicQuantizeLinear");
    ctx.add_input(f32({2}, {INFINITY, 1.f})).set_num_outputs(3);
    EXPECT_FALSE(ctx.run(11).ok());
    TestContext c2("DynamicQuantizeLinear");
    c2.add_input(u8({2}, {1, 2})).set_num_outputs(3);
    EXPECT_FALSE(c2.run(11).ok());
  }
  // MatMulInteger: inner dims, dtypes, zero point dtype and length, scalar inputs.
  auto mm = [](Tensor a, Tensor b) {
    TestContext ctx("MatMulInteger");
    ctx.add_input(a).add_input(b);
    return ctx.run(10);
  };
  EXPECT_FALSE(mm(u8({2, 3}, {1, 2, 3, 4, 5, 6}), u8({2, 2}, {1, 2, 3, 4})).ok());
  EXPECT_FALSE(mm(f32({1, 1}, {1}), u8({1, 1}, {1})).ok());
  EXPECT_FALSE(mm(u8({}, {1}), u8({1, 1}, {1})).ok());
  EXPECT_FALSE(mm(u8({2, 1, 1}, {1, 1}), u8({3, 1, 1}, {1, 1, 1})).ok());  // batch not broadcastable
  {
    TestContext ctx("MatMulInteger");
    ctx.add_input(u8({2, 2}, {1, 2, 3, 4})).add_input(u8({2, 2}, {1, 2, 3, 4})).add_input(u8({3}, {0, 0, 0}));
    EXPECT_FALSE(ctx.run(10).ok());
    TestContext c2("MatMulInteger");
    c2.add_input(u8({2, 2}, {1, 2, 3, 4})).add_input(u8({2, 2}, {1, 2, 3, 4})).add_input(i8({}, {0}));
    EXPECT_FALSE(c2.run(10).ok());
  }
  // QLinearMatMul: a missing input, a bad y_scale.
  {
    TestContext ctx("QLinearMatMul");
    ctx.add_input(u8({1, 1}, {1})).add_input(f32({}, {1.f})).add_input(u8({}, {0})).add_input(u8({1, 1}, {1}))
        .add_input(f32({}, {1.f})).add_input(u8({}, {0})).add_input(f32({}, {1.f}));
    EXPECT_FALSE(ctx.run(10).ok());
    TestContext c2("QLinearMatMul");
    c2.add_input(u8({1, 1}, {1})).add_input(f32({}, {1.f})).add_input(u8({}, {0})).add_input(u8({1, 1}, {1}))
        .add_input(f32({}, {1.f})).add_input(u8({}, {0})).add_input(u8({}, {1})).add_input(u8({}, {0}));
    EXPECT_FALSE(c2.run(10).ok());
  }
  // ConvInteger geometry.
  auto conv = [](Tensor x, Tensor w, auto&& attrs) {
    TestContext ctx("ConvInteger");
    ctx.add_input(x).add_input(w);
    attrs(ctx);
    return ctx.run(10);
  };
  const Tensor x = u8({1, 2, 3, 3}, std::vector<uint8_t>(18, 1));
  const Tensor w = u8({2, 2, 2, 2}, std::vector<uint8_t>(16, 1));
  EXPECT_TRUE(conv(x, w, [](TestContext&) {}).ok());
  EXPECT_FALSE(conv(u8({2, 3}, {1, 1, 1, 1, 1, 1}), w, [](TestContext&) {}).ok());  // rank
  EXPECT_FALSE(conv(x, u8({2, 2, 2}, std::vector<uint8_t>(8, 1)), [](TestContext&) {}).ok());
  EXPECT_FALSE(conv(x, w, [](TestContext& c) { c.set_int("group", 0); }).ok());
  EXPECT_FALSE(conv(x, w, [](TestContext& c) { c.set_int("group", 3); }).ok());
  EXPECT_FALSE(conv(x, w, [](TestContext& c) { c.set_ints("strides", {0, 1}); }).ok());
  EXPECT_FALSE(conv(x, w, [](TestContext& c) { c.set_ints("dilations", {-1, 1}); }).ok());
  EXPECT_FALSE(conv(x, w, [](TestContext& c) { c.set_ints("dilations", {5, 1}); }).ok());  // kernel too big
  EXPECT_FALSE(conv(x, w, [](TestContext& c) { c.set_ints("pads", {-1, 0, 0, 0}); }).ok());
  EXPECT_FALSE(conv(x, w, [](TestContext& c) { c.set_ints("pads", {1, 1}); }).ok());
  EXPECT_FALSE(conv(x, w, [](TestContext& c) { c.set_ints("kernel_shape", {3, 3}); }).ok());
  EXPECT_FALSE(conv(x, w, [](TestContext& c) { c.set_string("auto_pad", "SAME"); }).ok());
  EXPECT_FALSE(conv(x, u8({2, 2, 4, 4}, std::vector<uint8_t>(64, 1)), [](TestContext&) {}).ok());
  EXPECT_FALSE(conv(x, w, [](TestContext& c) { c.add_input(u8({2}, {1, 1})); }).ok());  // x_zp not scalar
  // QLinearConv: bias shape, y zero point per channel.
  {
    TestContext ctx("QLinearConv");
    ctx.add_input(x).add_input(f32({}, {1.f})).add_input(u8({}, {0})).add_input(w).add_input(f32({}, {1.f}))
        .add_input(u8({}, {0})).add_input(f32({}, {1.f})).add_input(u8({}, {0})).add_input(i32({3}, {1, 1, 1}));
    EXPECT_FALSE(ctx.run(10).ok());
    TestContext c2("QLinearConv");
    c2.add_input(x).add_input(f32({}, {1.f})).add_input(u8({}, {0})).add_input(w).add_input(f32({}, {1.f}))
        .add_input(u8({}, {0})).add_input(f32({}, {1.f})).add_input(u8({2}, {0, 0}));
    EXPECT_FALSE(c2.run(10).ok());
    TestContext c3("QLinearConv");
    c3.add_input(x).add_input(f32({}, {1.f})).add_input(u8({}, {0})).add_input(w).add_input(f32({3}, {1.f, 1.f, 1.f}))
        .add_input(u8({}, {0})).add_input(f32({}, {1.f})).add_input(u8({}, {0}));
    EXPECT_FALSE(c3.run(10).ok());  // w_scale length
  }
}

TEST(QuantEmpty, EmptyTensors) {
  // Oracle: shapes per the spec; an empty sum is 0.
  TestContext q("QuantizeLinear");
  q.add_input(f32({0, 2}, {})).add_input(f32({2}, {1.f, 2.f}));
  ASSERT_TRUE(q.run(13).ok());
  EXPECT_EQ(q.output(0).shape(), (Shape{0, 2}));
  TestContext mm("MatMulInteger");
  mm.add_input(u8({2, 0}, {})).add_input(u8({0, 3}, {}));
  ASSERT_TRUE(mm.run(10).ok());
  EXPECT_EQ(ints(mm.output(0)), (std::vector<int64_t>(6, 0)));
  TestContext cv("ConvInteger");
  cv.add_input(u8({0, 1, 2, 2}, {})).add_input(u8({1, 1, 1, 1}, {1}));
  ASSERT_TRUE(cv.run(10).ok());
  EXPECT_EQ(cv.output(0).shape(), (Shape{0, 1, 2, 2}));
  TestContext dq("DynamicQuantizeLinear");
  dq.add_input(f32({0}, {})).set_num_outputs(3);
  ASSERT_TRUE(dq.run(11).ok());
  EXPECT_EQ(dq.output(2).get_int(0), 0);
}

}  // namespace
}  // namespace edgeai
