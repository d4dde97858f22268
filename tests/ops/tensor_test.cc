// Tests of the tensor kernel family (src/kernels/reference/tensor.cc, indexing.cc, resize.cc).
// Expected values are numpy's results for the same call (computed by hand or with numpy, noted per
// test); hostile inputs must give a non-OK Status naming the problem, never a crash.
#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

#include "../kernel_test_util.h"

namespace edgeai {
namespace {

using testing::TestContext;

Tensor f32(Shape s, std::vector<float> v) { return Tensor::from_vector(DType::kF32, std::move(s), v); }
Tensor i64(Shape s, std::vector<int64_t> v) { return Tensor::from_vector(DType::kI64, std::move(s), v); }
Tensor i32(Shape s, std::vector<int32_t> v) { return Tensor::from_vector(DType::kI32, std::move(s), v); }
Tensor i64v(std::vector<int64_t> v) {
  const int64_t n = static_cast<int64_t>(v.size());
  return i64({n}, std::move(v));
}

std::vector<float> floats(const Tensor& t) { return t.to_float_vector(); }
std::vector<int64_t> ints(const Tensor& t) { return t.to_int64_vector(); }

void expect_error(TestContext& ctx, const std::string& needle, int opset = 17) {
  Status st = ctx.run(opset);
  ASSERT_FALSE(st.ok()) << "expected an error mentioning '" << needle << "'";
  EXPECT_NE(st.message().find(needle), std::string::npos) << st.message();
}

// ---- shape ops ----

TEST(TensorKernels, ReshapeInfersAndCopies) {
  TestContext ctx("Reshape");  // numpy: np.zeros((2,3,4)).reshape(2,-1) with ONNX 0 = copy dim
  ctx.add_input(f32({2, 3, 4}, std::vector<float>(24, 1.f))).add_input(i64v({0, -1}));
  ASSERT_TRUE(ctx.run(14).ok());
  EXPECT_EQ(ctx.output(0).shape(), (Shape{2, 12}));
}

TEST(TensorKernels, ReshapeHostile) {
  {
    TestContext ctx("Reshape");
    ctx.add_input(f32({2, 3}, std::vector<float>(6))).add_input(i64v({4, 2}));
    expect_error(ctx, "cannot reshape");
  }
  {
    TestContext ctx("Reshape");
    ctx.add_input(f32({2, 3}, std::vector<float>(6))).add_input(i64v({-1, -1}));
    expect_error(ctx, "more than one -1");
  }
  {
    TestContext ctx("Reshape");
    ctx.add_input(f32({2, 3}, std::vector<float>(6))).add_input(i64v({0, -1})).set_int("allowzero", 1);
    expect_error(ctx, "allowzero", 14);
  }
  {
    TestContext ctx("Reshape");
    ctx.add_input(f32({2, 3}, std::vector<float>(6))).add_input(i64v({1, 1, 0}));
    expect_error(ctx, "has only 2 dims");
  }
  {
    TestContext ctx("Reshape");  // product overflows int64
    ctx.add_input(f32({2, 3}, std::vector<float>(6))).add_input(i64v({int64_t(1) << 40, int64_t(1) << 40, -1}));
    EXPECT_FALSE(ctx.run(14).ok());
  }
  {
    TestContext ctx("Reshape");
    ctx.add_input(f32({2, 3}, std::vector<float>(6))).add_input(f32({2}, {2, 3}));
    expect_error(ctx, "integer tensor");
  }
}

TEST(TensorKernels, ShapeStartEnd) {
  TestContext ctx("Shape");  // ONNX spec example: shape [3,4,5], start=-1 -> [5]
  ctx.add_input(f32({3, 4, 5}, std::vector<float>(60))).set_int("start", -1);
  ASSERT_TRUE(ctx.run(15).ok());
  EXPECT_EQ(ints(ctx.output(0)), (std::vector<int64_t>{5}));
}

TEST(TensorKernels, SqueezeUnsqueezeHostile) {
  {
    TestContext ctx("Squeeze");
    ctx.add_input(f32({1, 3}, std::vector<float>(3))).add_input(i64v({1}));
    expect_error(ctx, "expected 1", 13);
  }
  {
    TestContext ctx("Squeeze");
    ctx.add_input(f32({1, 3}, std::vector<float>(3))).add_input(i64v({5}));
    expect_error(ctx, "out of range", 13);
  }
  {
    TestContext ctx("Unsqueeze");
    ctx.add_input(f32({3}, std::vector<float>(3))).add_input(i64v({0, 0}));
    expect_error(ctx, "repeat", 13);
  }
  {
    TestContext ctx("Unsqueeze");  // opset 11 takes axes as an attribute: [3] -> [1,3,1]
    ctx.add_input(f32({3}, std::vector<float>(3))).set_ints("axes", {0, -1});
    ASSERT_TRUE(ctx.run(11).ok());
    EXPECT_EQ(ctx.output(0).shape(), (Shape{1, 3, 1}));
  }
}

TEST(TensorKernels, TransposeValuesAndBadPerm) {
  {
    TestContext ctx("Transpose");  // numpy: np.arange(6).reshape(2,3).T
    ctx.add_input(f32({2, 3}, {0, 1, 2, 3, 4, 5}));
    ASSERT_TRUE(ctx.run().ok());
    EXPECT_EQ(ctx.output(0).shape(), (Shape{3, 2}));
    EXPECT_EQ(floats(ctx.output(0)), (std::vector<float>{0, 3, 1, 4, 2, 5}));
  }
  {
    TestContext ctx("Transpose");
    ctx.add_input(f32({2, 3}, std::vector<float>(6))).set_ints("perm", {0, 0});
    expect_error(ctx, "repeats axis");
  }
  {
    TestContext ctx("Transpose");  // bool data moves like any other type
    ctx.add_input(Tensor::from_vector<bool>(DType::kBool, {2, 2}, {true, false, false, true}));
    ctx.set_ints("perm", {1, 0});
    ASSERT_TRUE(ctx.run().ok());
    EXPECT_EQ(ints(ctx.output(0)), (std::vector<int64_t>{1, 0, 0, 1}));
  }
}

TEST(TensorKernels, ConcatEmptyInputAndMismatch) {
  {
    TestContext ctx("Concat");  // numpy: np.concatenate([a(2x0), b(2x2)], axis=1)
    ctx.add_input(f32({2, 0}, {})).add_input(f32({2, 2}, {1, 2, 3, 4})).set_int("axis", 1);
    ASSERT_TRUE(ctx.run().ok());
    EXPECT_EQ(ctx.output(0).shape(), (Shape{2, 2}));
    EXPECT_EQ(floats(ctx.output(0)), (std::vector<float>{1, 2, 3, 4}));
  }
  {
    TestContext ctx("Concat");
    ctx.add_input(f32({2, 3}, std::vector<float>(6))).add_input(f32({3, 3}, std::vector<float>(9)));
    ctx.set_int("axis", 1);
    expect_error(ctx, "differs");
  }
  {
    TestContext ctx("Concat");
    ctx.add_input(f32({2}, {1, 2})).add_input(i64v({1, 2})).set_int("axis", 0);
    expect_error(ctx, "dtype");
  }
}

TEST(TensorKernels, SplitSizes) {
  {
    TestContext ctx("Split");  // numpy: np.split([1..5], [2]) -> [1,2], [3,4,5]
    ctx.add_input(f32({5}, {1, 2, 3, 4, 5})).add_input(i64v({2, 3})).set_num_outputs(2);
    ASSERT_TRUE(ctx.run(13).ok());
    EXPECT_EQ(floats(ctx.output(0)), (std::vector<float>{1, 2}));
    EXPECT_EQ(floats(ctx.output(1)), (std::vector<float>{3, 4, 5}));
  }
  {
    TestContext ctx("Split");
    ctx.add_input(f32({5}, {1, 2, 3, 4, 5})).add_input(i64v({2, 2})).set_num_outputs(2);
    expect_error(ctx, "sums to 4", 13);
  }
  {
    TestContext ctx("Split");
    ctx.add_input(f32({5}, {1, 2, 3, 4, 5})).set_num_outputs(2);
    expect_error(ctx, "equal parts", 13);
  }
  {
    TestContext ctx("Split");
    ctx.add_input(f32({5}, {1, 2, 3, 4, 5})).add_input(i64v({-1, 6})).set_num_outputs(2);
    expect_error(ctx, "invalid size", 13);
  }
}

TEST(TensorKernels, SliceNegativeStepAndClamping) {
  {
    TestContext ctx("Slice");  // numpy: np.arange(10)[8:-100:-3] -> [8,5,2]
    std::vector<float> v(10);
    for (int i = 0; i < 10; ++i) v[i] = static_cast<float>(i);
    ctx.add_input(f32({10}, v)).add_input(i64v({8})).add_input(i64v({-100})).add_input(i64v({0}));
    ctx.add_input(i64v({-3}));
    ASSERT_TRUE(ctx.run(13).ok());
    EXPECT_EQ(floats(ctx.output(0)), (std::vector<float>{8, 5, 2}));
  }
  {
    TestContext ctx("Slice");  // numpy: a[1:1000] on 3 elements, i64 extremes
    ctx.add_input(f32({3}, {1, 2, 3})).add_input(i64v({INT64_MIN})).add_input(i64v({INT64_MAX}));
    ctx.add_absent_input().add_input(i64v({INT64_MAX}));
    ASSERT_TRUE(ctx.run(13).ok());
    EXPECT_EQ(floats(ctx.output(0)), (std::vector<float>{1}));
  }
  {
    TestContext ctx("Slice");
    ctx.add_input(f32({3}, {1, 2, 3})).add_input(i64v({0})).add_input(i64v({3})).add_input(i64v({0}));
    ctx.add_input(i64v({0}));
    expect_error(ctx, "steps[0] is 0", 13);
  }
  {
    TestContext ctx("Slice");  // opset 1-9: attributes
    ctx.add_input(f32({2, 3}, {1, 2, 3, 4, 5, 6})).set_ints("starts", {1}).set_ints("ends", {3});
    ctx.set_ints("axes", {1});
    ASSERT_TRUE(ctx.run(9).ok());
    EXPECT_EQ(floats(ctx.output(0)), (std::vector<float>{2, 3, 5, 6}));
  }
}

TEST(TensorKernels, ExpandTileHugeOutputsFail) {
  {
    TestContext ctx("Expand");
    ctx.add_input(f32({1}, {1})).add_input(i64v({int64_t(1) << 30, int64_t(1) << 30, int64_t(1) << 30}));
    EXPECT_FALSE(ctx.run().ok());
  }
  {
    TestContext ctx("Expand");
    ctx.add_input(f32({2}, {1, 2})).add_input(i64v({3}));
    expect_error(ctx, "broadcast");
  }
  {
    TestContext ctx("Tile");
    ctx.add_input(f32({2}, {1, 2})).add_input(i64v({INT64_MAX}));
    EXPECT_FALSE(ctx.run().ok());
  }
  {
    TestContext ctx("Tile");
    ctx.add_input(f32({2}, {1, 2})).add_input(i64v({-1}));
    expect_error(ctx, "negative");
  }
  {
    TestContext ctx("ConstantOfShape");
    ctx.add_input(i64v({int64_t(1) << 35, int64_t(1) << 35}));
    EXPECT_FALSE(ctx.run().ok());
  }
  {
    TestContext ctx("Range");
    ctx.add_input(f32({}, {0})).add_input(f32({}, {1e30f})).add_input(f32({}, {1e-30f}));
    expect_error(ctx, "too many");
  }
  {
    TestContext ctx("Range");
    ctx.add_input(i64({}, {0})).add_input(i64({}, {10})).add_input(i64({}, {0}));
    expect_error(ctx, "delta is 0");
  }
}

TEST(TensorKernels, ExpandAndTileValues) {
  {
    TestContext ctx("Expand");  // numpy: np.broadcast_to([[1],[2]], (2,3))
    ctx.add_input(f32({2, 1}, {1, 2})).add_input(i64v({2, 3}));
    ASSERT_TRUE(ctx.run().ok());
    EXPECT_EQ(floats(ctx.output(0)), (std::vector<float>{1, 1, 1, 2, 2, 2}));
  }
  {
    TestContext ctx("Tile");  // numpy: np.tile([[1,2],[3,4]], (2,2))
    ctx.add_input(f32({2, 2}, {1, 2, 3, 4})).add_input(i64v({2, 2}));
    ASSERT_TRUE(ctx.run().ok());
    EXPECT_EQ(floats(ctx.output(0)),
              (std::vector<float>{1, 2, 1, 2, 3, 4, 3, 4, 1, 2, 1, 2, 3, 4, 3, 4}));
  }
  {
    TestContext ctx("Range");  // numpy: np.arange(10, 4, -3) -> [10, 7]
    ctx.add_input(i32({}, {10})).add_input(i32({}, {4})).add_input(i32({}, {-3}));
    ASSERT_TRUE(ctx.run().ok());
    EXPECT_EQ(ints(ctx.output(0)), (std::vector<int64_t>{10, 7}));
  }
}

TEST(TensorKernels, PadModes) {
  {
    TestContext ctx("Pad");  // numpy: np.pad([1,2,3], 2, 'reflect') -> [3,2,1,2,3,2,1]
    ctx.add_input(f32({3}, {1, 2, 3})).add_input(i64v({2, 2})).set_string("mode", "reflect");
    ASSERT_TRUE(ctx.run(13).ok());
    EXPECT_EQ(floats(ctx.output(0)), (std::vector<float>{3, 2, 1, 2, 3, 2, 1}));
  }
  {
    TestContext ctx("Pad");  // numpy: np.pad([1,2,3], (1,2), 'edge')
    ctx.add_input(f32({3}, {1, 2, 3})).add_input(i64v({1, 2})).set_string("mode", "edge");
    ASSERT_TRUE(ctx.run(13).ok());
    EXPECT_EQ(floats(ctx.output(0)), (std::vector<float>{1, 1, 2, 3, 3, 3}));
  }
  {
    TestContext ctx("Pad");  // constant 9, negative pad crops: [1,2,3] pads (-1, 1) -> [2,3,9]
    ctx.add_input(f32({3}, {1, 2, 3})).add_input(i64v({-1, 1})).add_input(f32({}, {9}));
    ASSERT_TRUE(ctx.run(13).ok());
    EXPECT_EQ(floats(ctx.output(0)), (std::vector<float>{2, 3, 9}));
  }
  {
    TestContext ctx("Pad");  // opset 2 attributes
    ctx.add_input(f32({2}, {1, 2})).set_ints("pads", {1, 0}).set_float("value", 5.f);
    ASSERT_TRUE(ctx.run(7).ok());
    EXPECT_EQ(floats(ctx.output(0)), (std::vector<float>{5, 1, 2}));
  }
  {
    TestContext ctx("Pad");
    ctx.add_input(f32({3}, {1, 2, 3})).add_input(i64v({-5, 0}));
    expect_error(ctx, "remove more", 13);
  }
  {
    TestContext ctx("Pad");
    ctx.add_input(f32({3}, {1, 2, 3})).add_input(i64v({INT64_MIN, 0}));
    expect_error(ctx, "too large", 13);
  }
  {
    TestContext ctx("Pad");
    ctx.add_input(f32({3}, {1, 2, 3})).add_input(i64v({1, 1, 1, 1}));
    expect_error(ctx, "expected 2", 13);
  }
}

// ---- indexing ops ----

TEST(TensorKernels, GatherValuesAndNegativeIndex) {
  TestContext ctx("Gather");  // numpy: np.take([[1,2],[3,4],[5,6]], [-1, 0], axis=0)
  ctx.add_input(f32({3, 2}, {1, 2, 3, 4, 5, 6})).add_input(i64v({-1, 0}));
  ASSERT_TRUE(ctx.run().ok());
  EXPECT_EQ(ctx.output(0).shape(), (Shape{2, 2}));
  EXPECT_EQ(floats(ctx.output(0)), (std::vector<float>{5, 6, 1, 2}));
}

TEST(TensorKernels, GatherOutOfRangeNamesIndexAndBound) {
  TestContext ctx("Gather");
  ctx.add_input(f32({3, 2}, std::vector<float>(6))).add_input(i64v({0, 3})).set_int("axis", 0);
  Status st = ctx.run();
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find("= 3"), std::string::npos) << st.message();
  EXPECT_NE(st.message().find("size 3"), std::string::npos) << st.message();
  TestContext neg("Gather");
  neg.add_input(f32({3}, std::vector<float>(3))).add_input(i32({1}, {-4}));
  EXPECT_FALSE(neg.run().ok());
  TestContext bad_axis("Gather");
  bad_axis.add_input(f32({3}, std::vector<float>(3))).add_input(i64v({0})).set_int("axis", 1);
  expect_error(bad_axis, "axis");
}

TEST(TensorKernels, GatherStrings) {
  TestContext ctx("Gather");
  ctx.add_input(Tensor::from_vector<std::string>(DType::kString, {3}, {"a", "bb", "ccc"})).add_input(i64v({2, 0}));
  ASSERT_TRUE(ctx.run().ok());
  EXPECT_EQ(ctx.output(0).data<std::string>()[0], "ccc");
  EXPECT_EQ(ctx.output(0).data<std::string>()[1], "a");
}

TEST(TensorKernels, GatherElementsAndNDHostile) {
  {
    TestContext ctx("GatherElements");
    ctx.add_input(f32({2, 2}, {1, 2, 3, 4})).add_input(i64({2, 2}, {0, 1, 2, 0})).set_int("axis", 1);
    expect_error(ctx, "out of range");
  }
  {
    TestContext ctx("GatherElements");  // indices larger than data off the axis would read past it
    ctx.add_input(f32({2, 2}, {1, 2, 3, 4})).add_input(i64({3, 1}, {0, 0, 0})).set_int("axis", 1);
    expect_error(ctx, "exceeds");
  }
  {
    TestContext ctx("GatherND");
    ctx.add_input(f32({2, 2}, {1, 2, 3, 4})).add_input(i64({1, 2}, {1, 2}));
    expect_error(ctx, "out of range");
  }
  {
    TestContext ctx("GatherND");
    ctx.add_input(f32({2, 2}, {1, 2, 3, 4})).add_input(i64({1, 3}, {0, 0, 0}));
    expect_error(ctx, "exceeds");
  }
  {
    TestContext ctx("GatherND");  // ONNX spec example 5 (batch_dims=1): [[2,3],[4,5]]... -> [[2,3],[4,5]]
    ctx.add_input(f32({2, 2, 2}, {0, 1, 2, 3, 4, 5, 6, 7})).add_input(i64({2, 1}, {1, 0}));
    ctx.set_int("batch_dims", 1);
    ASSERT_TRUE(ctx.run().ok());
    EXPECT_EQ(floats(ctx.output(0)), (std::vector<float>{2, 3, 4, 5}));
  }
}

TEST(TensorKernels, ScatterElementsReductionAndHostile) {
  {
    TestContext ctx("ScatterElements");  // ONNX spec: duplicate indices with reduction add
    ctx.add_input(f32({1, 5}, {1, 2, 3, 4, 5})).add_input(i64({1, 2}, {1, 1})).add_input(f32({1, 2}, {1.1f, 2.1f}));
    ctx.set_int("axis", 1).set_string("reduction", "add");
    ASSERT_TRUE(ctx.run(16).ok());
    std::vector<float> got = floats(ctx.output(0));
    EXPECT_FLOAT_EQ(got[1], 5.2f);
    EXPECT_FLOAT_EQ(got[0], 1.f);
  }
  {
    TestContext ctx("ScatterElements");
    ctx.add_input(f32({1, 5}, std::vector<float>(5))).add_input(i64({1, 1}, {5})).add_input(f32({1, 1}, {1}));
    ctx.set_int("axis", 1);
    expect_error(ctx, "out of range");
  }
  {
    TestContext ctx("ScatterElements");
    ctx.add_input(f32({1, 5}, std::vector<float>(5))).add_input(i64({1, 2}, {0, 1})).add_input(f32({1, 1}, {1}));
    expect_error(ctx, "differs");
  }
  {
    TestContext ctx("ScatterElements");
    ctx.add_input(f32({1, 5}, std::vector<float>(5))).add_input(i64({1, 1}, {0})).add_input(f32({1, 1}, {1}));
    ctx.set_string("reduction", "xor");
    expect_error(ctx, "reduction");
  }
}

TEST(TensorKernels, ScatterNDValuesAndHostile) {
  {
    TestContext ctx("ScatterND");  // ONNX spec example 1: data [1..8], indices [[4],[3],[1],[7]]
    ctx.add_input(f32({8}, {1, 2, 3, 4, 5, 6, 7, 8})).add_input(i64({4, 1}, {4, 3, 1, 7}));
    ctx.add_input(f32({4}, {9, 10, 11, 12}));
    ASSERT_TRUE(ctx.run().ok());
    EXPECT_EQ(floats(ctx.output(0)), (std::vector<float>{1, 11, 3, 10, 9, 6, 7, 12}));
  }
  {
    TestContext ctx("ScatterND");
    ctx.add_input(f32({8}, std::vector<float>(8))).add_input(i64({1, 1}, {8})).add_input(f32({1}, {1}));
    expect_error(ctx, "out of range");
  }
  {
    TestContext ctx("ScatterND");
    ctx.add_input(f32({8}, std::vector<float>(8))).add_input(i64({1, 1}, {0})).add_input(f32({2}, {1, 2}));
    expect_error(ctx, "expected");
  }
}

TEST(TensorKernels, UniqueNotSorted) {
  TestContext ctx("Unique");  // ONNX spec example 1 (numpy unique, first-occurrence order)
  ctx.add_input(f32({6}, {2, 1, 1, 3, 4, 3})).set_int("sorted", 0).set_num_outputs(4);
  ASSERT_TRUE(ctx.run().ok());
  EXPECT_EQ(floats(ctx.output(0)), (std::vector<float>{2, 1, 3, 4}));
  EXPECT_EQ(ints(ctx.output(1)), (std::vector<int64_t>{0, 1, 3, 4}));
  EXPECT_EQ(ints(ctx.output(2)), (std::vector<int64_t>{0, 1, 1, 2, 3, 2}));
  EXPECT_EQ(ints(ctx.output(3)), (std::vector<int64_t>{1, 2, 2, 1}));
}

TEST(TensorKernels, OneHotNonZeroCompressTrilu) {
  {
    TestContext ctx("OneHot");  // numpy: np.eye(3)[[0,-1,5]] with -1 -> 2 and 5 dropped (all off)
    ctx.add_input(i64v({0, -1, 5})).add_input(i64({}, {3})).add_input(f32({2}, {0, 1}));
    ASSERT_TRUE(ctx.run().ok());
    EXPECT_EQ(floats(ctx.output(0)), (std::vector<float>{1, 0, 0, 0, 0, 1, 0, 0, 0}));
  }
  {
    TestContext ctx("OneHot");
    ctx.add_input(i64v({0})).add_input(i64({}, {0})).add_input(f32({2}, {0, 1}));
    expect_error(ctx, "depth");
  }
  {
    TestContext ctx("NonZero");  // numpy: np.nonzero([[1,0],[1,1]])
    ctx.add_input(f32({2, 2}, {1, 0, 1, 1}));
    ASSERT_TRUE(ctx.run().ok());
    EXPECT_EQ(ctx.output(0).shape(), (Shape{2, 3}));
    EXPECT_EQ(ints(ctx.output(0)), (std::vector<int64_t>{0, 1, 1, 0, 0, 1}));
  }
  {
    TestContext ctx("Compress");
    ctx.add_input(f32({2}, {1, 2})).add_input(Tensor::from_vector<bool>(DType::kBool, {3}, {false, false, true}));
    expect_error(ctx, "condition[2]");
  }
  {
    TestContext ctx("Trilu");  // numpy: np.tril(np.arange(1,10).reshape(3,3), -1)
    ctx.add_input(f32({3, 3}, {1, 2, 3, 4, 5, 6, 7, 8, 9})).add_input(i64({}, {-1})).set_int("upper", 0);
    ASSERT_TRUE(ctx.run().ok());
    EXPECT_EQ(floats(ctx.output(0)), (std::vector<float>{0, 0, 0, 4, 0, 0, 7, 8, 0}));
  }
}

TEST(TensorKernels, DepthToSpaceAndReverseSequenceHostile) {
  {
    TestContext ctx("DepthToSpace");
    ctx.add_input(f32({1, 3, 1, 1}, {1, 2, 3})).set_int("blocksize", 2);
    expect_error(ctx, "divisible");
  }
  {
    TestContext ctx("DepthToSpace");
    ctx.add_input(f32({1, 4, 1, 1}, {1, 2, 3, 4})).set_int("blocksize", 0);
    expect_error(ctx, "blocksize");
  }
  {
    TestContext ctx("ReverseSequence");
    ctx.add_input(f32({2, 2}, {1, 2, 3, 4})).add_input(i64v({3, 1}));
    expect_error(ctx, "out of range");
  }
}

// ---- Resize ----

TEST(TensorKernels, ResizeLinearHalfPixel) {
  // ONNX backend reference (resize.py, test_resize_upsample_scales_linear): [[1,2],[3,4]] x2.
  TestContext ctx("Resize");
  ctx.add_input(f32({1, 1, 2, 2}, {1, 2, 3, 4})).add_absent_input().add_input(f32({4}, {1, 1, 2, 2}));
  ctx.set_string("mode", "linear");
  ASSERT_TRUE(ctx.run(13).ok());
  const std::vector<float> want = {1, 1.25, 1.75, 2, 1.5, 1.75, 2.25, 2.5, 2.5, 2.75, 3.25, 3.5, 3, 3.25, 3.75, 4};
  std::vector<float> got = floats(ctx.output(0));
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < want.size(); ++i) EXPECT_NEAR(got[i], want[i], 1e-6) << i;
}

TEST(TensorKernels, ResizeHostile) {
  {
    TestContext ctx("Resize");
    ctx.add_input(f32({1, 1, 2, 2}, {1, 2, 3, 4})).add_absent_input().add_input(f32({4}, {1, 1, 1e20f, 1e20f}));
    expect_error(ctx, "too large", 13);
  }
  {
    TestContext ctx("Resize");
    ctx.add_input(f32({1, 1, 2, 2}, {1, 2, 3, 4})).add_absent_input().add_input(f32({4}, {1, 1, 1e6f, 1e6f}));
    EXPECT_FALSE(ctx.run(13).ok());  // 4e12 elements: refused by the allocator's size check
  }
  {
    TestContext ctx("Resize");
    ctx.add_input(f32({1, 1, 2, 2}, {1, 2, 3, 4})).add_absent_input().add_input(f32({4}, {1, 1, 0, 2}));
    expect_error(ctx, "positive", 13);
  }
  {
    TestContext ctx("Resize");
    ctx.add_input(f32({1, 1, 2, 2}, {1, 2, 3, 4})).add_absent_input().add_input(f32({4}, {1, 1, 2, 2}));
    ctx.add_input(i64v({1, 1, 4, 4}));
    expect_error(ctx, "only one", 13);
  }
  {
    TestContext ctx("Resize");
    ctx.add_input(f32({1, 1, 2, 2}, {1, 2, 3, 4})).add_absent_input().add_absent_input().add_input(i64v({1, 4}));
    expect_error(ctx, "expected 4", 13);
  }
  {
    TestContext ctx("Resize");
    ctx.add_input(f32({1, 1, 2, 2}, {1, 2, 3, 4})).add_absent_input().add_input(f32({4}, {1, 1, 2, 2}));
    ctx.set_string("coordinate_transformation_mode", "bogus");
    expect_error(ctx, "bogus", 13);
  }
}

TEST(TensorKernels, UpsampleNearestOpset7) {
  TestContext ctx("Upsample");  // numpy: np.repeat(np.repeat([[1,2],[3,4]], 2, 0), 3, 1)
  ctx.add_input(f32({2, 2}, {1, 2, 3, 4})).set_floats("scales", {2.f, 3.f});
  ASSERT_TRUE(ctx.run(7).ok());
  EXPECT_EQ(ctx.output(0).shape(), (Shape{4, 6}));
  EXPECT_EQ(floats(ctx.output(0)), (std::vector<float>{1, 1, 1, 2, 2, 2, 1, 1, 1, 2, 2, 2,
                                                       3, 3, 3, 4, 4, 4, 3, 3, 3, 4, 4, 4}));
}

TEST(TensorKernels, MissingRequiredInputs) {
  for (const char* op : {"Gather", "Reshape", "Expand", "Tile", "ScatterND", "Range", "OneHot", "Slice"}) {
    TestContext ctx(op);
    ctx.add_input(f32({2}, {1, 2}));
    EXPECT_FALSE(ctx.run().ok()) << op;
  }
}

}  // namespace
}  // namespace edgeai

namespace edgeai {
namespace {

// Random small shapes and hostile parameters (extremes, negatives, mismatched lengths) against
// every op of the family: each call must return a Status (either way) without crashing or
// reading out of bounds. Deterministic (fixed seed); run under ASan/UBSan to make it bite.
TEST(TensorKernels, RandomHostileInputsNeverCrash) {
  std::mt19937 rng(1234);
  const std::vector<int64_t> extremes = {0, 1, -1, 2, -2, 3, 7, INT64_MAX, INT64_MIN, int64_t(1) << 40, -(int64_t(1) << 40)};
  auto pick = [&](int64_t lo, int64_t hi) { return std::uniform_int_distribution<int64_t>(lo, hi)(rng); };
  auto some_int = [&]() { return pick(0, 3) == 0 ? extremes[pick(0, extremes.size() - 1)] : pick(-4, 4); };
  auto rand_shape = [&](int max_rank) {
    Shape s(pick(0, max_rank));
    for (auto& d : s) d = pick(0, 3);
    return s;
  };
  auto rand_f32 = [&](const Shape& s) {
    std::vector<float> v(shape_numel(s));
    for (auto& x : v) x = static_cast<float>(pick(-3, 3));
    return f32(s, v);
  };
  auto rand_ints = [&](int max_len) {
    std::vector<int64_t> v(pick(0, max_len));
    for (auto& x : v) x = some_int();
    return v;
  };
  auto ints_tensor = [&](const Shape& s) {
    std::vector<int64_t> v(shape_numel(s));
    for (auto& x : v) x = some_int();
    return i64(s, v);
  };
  const std::vector<std::string> ops = {
      "Reshape", "Flatten", "Squeeze", "Unsqueeze", "Transpose", "Concat", "Split", "Slice", "Expand",
      "Tile", "Pad", "ConstantOfShape", "Range", "EyeLike", "Trilu", "DepthToSpace", "SpaceToDepth",
      "Gather", "GatherElements", "GatherND", "ScatterElements", "ScatterND", "NonZero", "OneHot",
      "Compress", "Unique", "ReverseSequence", "Resize", "Upsample", "Shape", "Size"};
  int ok = 0;
  for (int iter = 0; iter < 4000; ++iter) {
    const std::string& op = ops[iter % ops.size()];
    TestContext ctx(op);
    Shape s = rand_shape(4);
    ctx.add_input(rand_f32(s));
    const int extra = static_cast<int>(pick(0, 4));
    for (int i = 0; i < extra; ++i) {
      switch (pick(0, 3)) {
        case 0: ctx.add_input(i64v(rand_ints(5))); break;
        case 1: ctx.add_input(ints_tensor(rand_shape(3))); break;
        case 2: ctx.add_input(rand_f32(rand_shape(2))); break;
        default: ctx.add_absent_input(); break;
      }
    }
    if (pick(0, 1)) ctx.set_int("axis", some_int());
    if (pick(0, 2) == 0) ctx.set_ints("axes", rand_ints(3));
    if (pick(0, 2) == 0) ctx.set_ints("perm", rand_ints(4));
    if (pick(0, 2) == 0) ctx.set_int("blocksize", some_int());
    if (pick(0, 2) == 0) ctx.set_int("batch_dims", some_int());
    if (pick(0, 2) == 0) ctx.set_int("k", some_int());
    if (pick(0, 2) == 0) ctx.set_ints("starts", rand_ints(3)).set_ints("ends", rand_ints(3));
    if (pick(0, 2) == 0) ctx.set_ints("split", rand_ints(3));
    if (pick(0, 3) == 0) ctx.set_string("mode", pick(0, 1) ? "reflect" : "edge");
    if (op == "Resize" && pick(0, 1)) ctx.set_string("mode", pick(0, 1) ? "cubic" : "linear");
    if (op == "Resize" && pick(0, 1)) ctx.set_int("antialias", 1).set_int("exclude_outside", pick(0, 1));
    if (op == "Resize" && pick(0, 1)) ctx.set_string("coordinate_transformation_mode", "tf_crop_and_resize");
    if (op == "ReverseSequence" && pick(0, 1)) ctx.set_int("time_axis", 1).set_int("batch_axis", 0);
    ctx.set_num_outputs(static_cast<int>(pick(1, 4)));
    Status st = ctx.run(static_cast<int>(pick(7, 18)));
    ok += st.ok();
  }
  EXPECT_GT(ok, 100);  // a fair share of the random calls are valid
}

}  // namespace
}  // namespace edgeai
