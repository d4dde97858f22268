// BatchNorm folding, Conv bias, MatMul+Add -> Gemm and activation fusion (FusedConv/FusedGemm):
// outputs equal to the unoptimized graph within rtol 1e-5, and the expected nodes remain.
#include <chrono>
#include <limits>

#include "pass_test_util.h"

namespace edgeai::testing {
namespace {

// Conv(x[1,4,9,9], W[6,4/group,3,3], B?) with pads 1.
void add_conv(GraphBuilder& b, const std::string& x, const std::string& y, bool bias, int group = 1,
              const std::string& prefix = "c") {
  b.init(prefix + "_w", random_tensor({6, 4 / group, 3, 3}, 11));
  std::vector<std::string> in = {x, prefix + "_w"};
  if (bias) {
    b.init(prefix + "_b", random_tensor({6}, 12));
    in.push_back(prefix + "_b");
  }
  auto& c = b.node("Conv", in, {y});
  GraphBuilder::set_ints(c, "pads", {1, 1, 1, 1});
  GraphBuilder::set_ints(c, "kernel_shape", {3, 3});
  if (group > 1) GraphBuilder::set_int(c, "group", group);
}

void add_bn(GraphBuilder& b, const std::string& x, const std::string& y, int64_t c, uint32_t seed) {
  b.init("bn_s", random_tensor({c}, seed, 0.5f, 1.5f));
  b.init("bn_b", random_tensor({c}, seed + 1));
  b.init("bn_m", random_tensor({c}, seed + 2));
  b.init("bn_v", random_tensor({c}, seed + 3, 0.5f, 2.0f));
  auto& n = b.node("BatchNormalization", {x, "bn_s", "bn_b", "bn_m", "bn_v"}, {y});
  GraphBuilder::set_float(n, "epsilon", 1e-3f);
}

TEST(FoldBatchNorm, IntoConvWithAndWithoutBias) {
  for (bool bias : {false, true}) {
    for (int group : {1, 2}) {
      GraphBuilder b;
      b.input("x", {1, 4, 9, 9});
      add_conv(b, "x", "c", bias, group);
      add_bn(b, "c", "y", 6, 20);
      b.output("y");
      ir::Graph opt = expect_same_outputs(b.g, b.random_feeds());
      EXPECT_EQ(count_op(opt, "BatchNormalization"), 0);
      EXPECT_EQ(opt.nodes.size(), 1u);
      EXPECT_EQ(opt.nodes[0].inputs.size(), 3u);  // the folded bias
      // The old weights are gone: only the folded W and B remain.
      EXPECT_EQ(opt.initializers.size(), 2u);
    }
  }
}

TEST(FoldBatchNorm, IntoGemm) {
  for (int trans_b : {0, 1}) {
    for (int c_kind : {0, 1, 2}) {  // no C, C of shape [N], scalar C
      GraphBuilder b;
      b.input("a", {3, 5});
      b.init("w", random_tensor(trans_b ? Shape{7, 5} : Shape{5, 7}, 30));
      std::vector<std::string> in = {"a", "w"};
      if (c_kind == 1) b.init("c", random_tensor({7}, 31));
      if (c_kind == 2) b.init("c", scalar_f32(0.25f));
      if (c_kind) in.push_back("c");
      auto& gemm = b.node("Gemm", in, {"g"});
      GraphBuilder::set_int(gemm, "transB", trans_b);
      GraphBuilder::set_float(gemm, "beta", 0.5f);
      GraphBuilder::set_float(gemm, "alpha", 1.5f);
      add_bn(b, "g", "y", 7, 40);
      b.output("y");
      ir::Graph opt = expect_same_outputs(b.g, b.random_feeds());
      EXPECT_EQ(count_op(opt, "BatchNormalization"), 0) << trans_b << " " << c_kind;
    }
  }
}

TEST(FoldBatchNorm, KeepsTrainingModeAndSharedConvOutput) {
  GraphBuilder b(15);
  b.input("x", {1, 4, 9, 9});
  add_conv(b, "x", "c", true);
  add_bn(b, "c", "y", 6, 20);
  GraphBuilder::set_int(b.g.nodes.back(), "training_mode", 1);
  b.output("y");
  EXPECT_EQ(count_op(optimized(b.g), "BatchNormalization"), 1);

  GraphBuilder b2;
  b2.input("x", {1, 4, 9, 9});
  add_conv(b2, "x", "c", true);
  add_bn(b2, "c", "y", 6, 20);
  b2.output("y").output("c");  // the Conv output itself is needed: the BatchNormalization stays
  ir::Graph opt = expect_same_outputs(b2.g, b2.random_feeds());
  // ... as a node of its own: the 1x1 depthwise Conv equal to it.
  EXPECT_EQ(count_op(opt, "BatchNormalization"), 0);
  EXPECT_EQ(count_op(opt, "Conv"), 2);
}

// A BatchNormalization after no Conv (densenet's Concat -> BN -> ReLU) becomes a 1x1 depthwise
// Conv, into which fuse_activation then fuses the ReLU; outputs equal the reference kernels' on
// the unoptimized graph. Not on a rank-2 input (no Conv has no spatial axis), nor in training mode.
TEST(FoldBatchNorm, AfterConcatBecomesDepthwiseConv) {
  for (const Shape& x : {Shape{1, 3, 7, 9}, Shape{2, 5, 4, 6, 3}, Shape{1, 6, 11}}) {
    SCOPED_TRACE(shape_str(x));
    GraphBuilder b;
    b.input("x", x);
    Shape half = x;
    half[1] = 3;
    b.input("z", half);
    auto& cat = b.node("Concat", {"x", "z"}, {"cat"});
    GraphBuilder::set_int(cat, "axis", 1);
    add_bn(b, "cat", "bn", x[1] + 3, 50);
    b.node("Relu", {"bn"}, {"y"});
    b.output("y");
    ir::Graph opt = expect_same_outputs(b.g, b.random_feeds());
    EXPECT_EQ(count_op(opt, "BatchNormalization"), 0);
    EXPECT_EQ(count_op(opt, "FusedConv"), 1);
    EXPECT_EQ(count_op(opt, "Relu"), 0);
  }
  GraphBuilder b;
  b.input("x", {4, 6});
  add_bn(b, "x", "y", 6, 60);
  b.output("y");
  EXPECT_EQ(count_op(expect_same_outputs(b.g, b.random_feeds()), "BatchNormalization"), 1);
  GraphBuilder t(15);
  t.input("x", {1, 6, 5, 5});
  add_bn(t, "x", "y", 6, 70);
  GraphBuilder::set_int(t.g.nodes.back(), "training_mode", 1);
  t.output("y");
  EXPECT_EQ(count_op(optimized(t.g), "BatchNormalization"), 1);
}

// Pad by zero on every side is an identity (torch exports one before each AvgPool2d); a Pad
// with any non-zero pad stays.
TEST(EliminateIdentity, ZeroPadGoes) {
  for (int64_t p : {0, 1}) {
    GraphBuilder b;
    b.input("x", {1, 2, 6, 6});
    b.init("pads", ints({0, 0, 0, p, 0, 0, 0, 0}));
    b.node("Pad", {"x", "pads"}, {"p"});
    auto& pool = b.node("AveragePool", {"p"}, {"y"});
    GraphBuilder::set_ints(pool, "kernel_shape", {2, 2});
    GraphBuilder::set_ints(pool, "strides", {2, 2});
    b.output("y");
    ir::Graph opt = expect_same_outputs(b.g, b.random_feeds());
    EXPECT_EQ(count_op(opt, "Pad"), p == 0 ? 0 : 1);
  }
}

TEST(FuseConvBias, PerChannelAddBecomesBias) {
  for (bool bias : {false, true}) {
    GraphBuilder b;
    b.input("x", {1, 4, 9, 9});
    add_conv(b, "x", "c", bias);
    b.init("add", random_tensor({6, 1, 1}, 50));
    b.node("Add", {"add", "c"}, {"y"});
    b.output("y");
    ir::Graph opt = expect_same_outputs(b.g, b.random_feeds());
    EXPECT_EQ(opt.nodes.size(), 1u);
  }
  // A full-size Add is not a bias (it becomes FusedConv's residual input Z: fuse_conv_add).
  GraphBuilder b;
  b.input("x", {1, 4, 9, 9});
  add_conv(b, "x", "c", true);
  b.init("add", random_tensor({1, 6, 9, 9}, 51));
  b.node("Add", {"c", "add"}, {"y"});
  b.output("y");
  ir::Graph opt = expect_same_outputs(b.g, b.random_feeds());
  ASSERT_EQ(opt.nodes.size(), 1u);
  EXPECT_EQ(opt.nodes[0].op_type, "FusedConv");
  ASSERT_EQ(opt.nodes[0].inputs.size(), 4u);
  EXPECT_EQ(opt.nodes[0].inputs[3], "add");
}

// Conv -> Add (a residual) becomes FusedConv with Z; an activation after the Add fuses next.
TEST(FuseConvAdd, ResidualBecomesFusedConvInputZ) {
  for (const std::string act : {"", "Relu"}) {
    for (bool bias : {false, true}) {
      SCOPED_TRACE("activation '" + act + "' bias " + std::to_string(bias));
      GraphBuilder b;
      b.input("x", {1, 4, 9, 9}).input("r", {1, 6, 9, 9});
      add_conv(b, "x", "c", bias);
      b.node("Add", {"r", "c"}, {act.empty() ? "y" : "s"});
      if (!act.empty()) b.node(act, {"s"}, {"y"});
      b.output("y");
      ir::Graph opt = expect_same_outputs(b.g, b.random_feeds());
      ASSERT_EQ(opt.nodes.size(), 1u);
      EXPECT_EQ(opt.nodes[0].op_type, "FusedConv");
      ASSERT_EQ(opt.nodes[0].inputs.size(), 4u);
      EXPECT_EQ(opt.nodes[0].inputs[2], bias ? "c_b" : "");
      EXPECT_EQ(opt.nodes[0].inputs[3], "r");
      const ir::Attribute* a = opt.nodes[0].attr("activation");
      EXPECT_EQ(a ? a->s : "", act);
    }
  }
}

// Two Convs added (resnet's downsample branch): the Conv that runs second takes the first's
// output as Z (the first's runs before it); the first stays a Conv.
TEST(FuseConvAdd, TheLaterOfTwoConvsTakesTheResidual) {
  GraphBuilder b;
  b.input("x", {1, 4, 9, 9});
  add_conv(b, "x", "c1", true, 1, "a");
  add_conv(b, "x", "c2", true, 2, "b");
  b.node("Add", {"c1", "c2"}, {"s"});
  b.node("Relu", {"s"}, {"y"});
  b.output("y");
  ir::Graph opt = expect_same_outputs(b.g, b.random_feeds());
  ASSERT_EQ(opt.nodes.size(), 2u);
  EXPECT_EQ(opt.nodes[0].op_type, "Conv");
  EXPECT_EQ(opt.nodes[1].op_type, "FusedConv");
  ASSERT_EQ(opt.nodes[1].inputs.size(), 4u);
  EXPECT_EQ(opt.nodes[1].inputs[3], "c1");
}

// Z that broadcasts (to the Conv's shape, or past it: a larger batch) is added as the Add added
// it (the fast kernel leaves it to the reference); a Conv output read elsewhere is not fused.
TEST(FuseConvAdd, BroadcastingResidualAndOtherReaders) {
  for (const Shape& zs : {Shape{1, 1, 9, 9}, Shape{6, 1, 1}, Shape{2, 6, 9, 9}}) {
    SCOPED_TRACE("Z " + shape_str(zs));
    GraphBuilder b;
    b.input("x", {1, 4, 9, 9}).input("r", zs);
    add_conv(b, "x", "c", true);
    b.node("Add", {"c", "r"}, {"y"});
    b.output("y");
    ir::Graph opt = expect_same_outputs(b.g, b.random_feeds());
    ASSERT_EQ(opt.nodes.size(), 1u);
    EXPECT_EQ(opt.nodes[0].op_type, "FusedConv");
  }
  GraphBuilder b;
  b.input("x", {1, 4, 9, 9}).input("r", {1, 6, 9, 9});
  add_conv(b, "x", "c", true);
  b.node("Add", {"c", "r"}, {"y"});
  b.node("Neg", {"c"}, {"z"});
  b.output("y").output("z");
  ir::Graph opt = expect_same_outputs(b.g, b.random_feeds());
  EXPECT_EQ(count_op(opt, "FusedConv"), 0);
  EXPECT_EQ(count_op(opt, "Add"), 1);
}

struct ActCase {
  std::string op;
  std::string expect;  // FusedConv activation
};

// Appends activation `op` reading "c" and writing "y".
void add_activation(GraphBuilder& b, const std::string& op, int opset) {
  if (op == "SiLU") {
    b.node("Sigmoid", {"c"}, {"s"});
    b.node("Mul", {"c", "s"}, {"y"});
  } else if (op == "HardSwishAsMul") {  // torch's opset-13 hardswish: x * HardSigmoid(x; 1/6, 1/2)
    auto& n = b.node("HardSigmoid", {"c"}, {"s"});
    GraphBuilder::set_float(n, "alpha", 1.0f / 6.0f);
    b.node("Mul", {"s", "c"}, {"y"});
  } else if (op == "Clip") {
    if (opset >= 11) {
      b.init("lo", scalar_f32(0.0f));
      b.init("hi", scalar_f32(6.0f));
      b.node("Clip", {"c", "lo", "hi"}, {"y"});
    } else {
      auto& n = b.node("Clip", {"c"}, {"y"});
      GraphBuilder::set_float(n, "min", -0.5f);
      GraphBuilder::set_float(n, "max", 0.5f);
    }
  } else if (op == "ClipMax") {
    b.init("hi", scalar_f32(0.3f));
    b.node("Clip", {"c", "", "hi"}, {"y"});
  } else if (op == "HardSigmoid") {
    auto& n = b.node("HardSigmoid", {"c"}, {"y"});
    GraphBuilder::set_float(n, "alpha", 0.3f);
  } else if (op == "GeluTanh") {
    auto& n = b.node("Gelu", {"c"}, {"y"}, "com.edgeai");
    GraphBuilder::set_string(n, "approximate", "tanh");
  } else if (op == "LeakyRelu") {
    auto& n = b.node("LeakyRelu", {"c"}, {"y"});
    GraphBuilder::set_float(n, "alpha", 0.2f);
  } else if (op == "GeluErf") {
    b.init("sqrt2", scalar_f32(1.4142135f));
    b.init("one", scalar_f32(1.0f));
    b.init("half", scalar_f32(0.5f));
    b.node("Div", {"c", "sqrt2"}, {"g1"});
    b.node("Erf", {"g1"}, {"g2"});
    b.node("Add", {"g2", "one"}, {"g3"});
    b.node("Mul", {"c", "g3"}, {"g4"});
    b.node("Mul", {"g4", "half"}, {"y"});
  } else {
    b.node(op, {"c"}, {"y"});
  }
}

TEST(FuseActivation, ConvWithEachActivation) {
  const std::vector<ActCase> cases = {{"Relu", "Relu"},           {"Sigmoid", "Sigmoid"},
                                      {"HardSwish", "HardSwish"}, {"SiLU", "SiLU"},
                                      {"Clip", "Clip"},           {"ClipMax", "Clip"},
                                      {"LeakyRelu", "LeakyRelu"}, {"GeluErf", "GELU"},
                                      {"Tanh", "Tanh"},           {"HardSigmoid", "HardSigmoid"},
                                      {"GeluTanh", "GELUTanh"},   {"HardSwishAsMul", "HardSwish"}};
  for (const auto& c : cases) {
    for (int opset : {13, 6}) {
      if (opset == 6 && c.op != "Clip") continue;
      GraphBuilder b(opset == 6 ? 10 : opset);
      b.input("x", {1, 4, 9, 9});
      add_conv(b, "x", "c", true);
      add_activation(b, c.op, opset == 6 ? 10 : opset);
      b.output("y");
      ir::Graph opt = expect_same_outputs(b.g, b.random_feeds());
      ASSERT_EQ(opt.nodes.size(), 1u) << c.op;
      EXPECT_EQ(opt.nodes[0].op_type, "FusedConv");
      EXPECT_EQ(opt.nodes[0].domain, "com.edgeai");
      const ir::Attribute* a = opt.nodes[0].attr("activation");
      ASSERT_NE(a, nullptr);
      EXPECT_EQ(a->s, c.expect);
      EXPECT_EQ(opt.opset("com.edgeai"), 1);
      if (c.op == "ClipMax") {
        const ir::Attribute* p = opt.nodes[0].attr("activation_params");
        ASSERT_NE(p, nullptr);
        ASSERT_EQ(p->floats.size(), 2u);
        EXPECT_EQ(p->floats[0], -std::numeric_limits<float>::infinity());
        EXPECT_FLOAT_EQ(p->floats[1], 0.3f);
      }
    }
  }
}

// x * HardSigmoid(x) with other coefficients than 1/6 and 1/2 is not a HardSwish: not fused.
TEST(FuseActivation, HardSigmoidMulOnlyWithHardSwishCoefficients) {
  GraphBuilder b;
  b.input("x", {1, 4, 9, 9});
  add_conv(b, "x", "c", true);
  auto& n = b.node("HardSigmoid", {"c"}, {"s"});
  GraphBuilder::set_float(n, "alpha", 0.2f);
  b.node("Mul", {"c", "s"}, {"y"});
  b.output("y");
  ir::Graph opt = expect_same_outputs(b.g, b.random_feeds());
  EXPECT_EQ(count_op(opt, "Mul"), 1);
  EXPECT_EQ(count_op(opt, "HardSigmoid"), 1);
}

TEST(FuseActivation, GemmWithActivation) {
  for (const std::string op : {"Relu", "Sigmoid", "SiLU", "GeluErf"}) {
    GraphBuilder b;
    b.input("a", {3, 5});
    b.init("w", random_tensor({7, 5}, 60));
    b.init("bias", random_tensor({7}, 61));
    auto& gemm = b.node("Gemm", {"a", "w", "bias"}, {"c"});
    GraphBuilder::set_int(gemm, "transB", 1);
    add_activation(b, op, 13);
    b.output("y");
    ir::Graph opt = expect_same_outputs(b.g, b.random_feeds());
    ASSERT_EQ(opt.nodes.size(), 1u) << op;
    EXPECT_EQ(opt.nodes[0].op_type, "FusedGemm");
  }
}

TEST(FuseActivation, NotWhenTheConvOutputHasOtherReaders) {
  GraphBuilder b;
  b.input("x", {1, 4, 9, 9});
  add_conv(b, "x", "c", true);
  b.node("Relu", {"c"}, {"y"});
  b.node("Neg", {"c"}, {"z"});
  b.output("y").output("z");
  ir::Graph opt = expect_same_outputs(b.g, b.random_feeds());
  EXPECT_EQ(count_op(opt, "Conv"), 1);
  EXPECT_EQ(count_op(opt, "FusedConv"), 0);
}

TEST(FuseMatMulAdd, TwoDimensionalBecomesGemm) {
  GraphBuilder b;
  b.input("a", {4, 8});
  b.init("w", random_tensor({8, 16}, 70));
  b.init("bias", random_tensor({16}, 71));
  b.node("MatMul", {"a", "w"}, {"m"});
  b.node("Add", {"bias", "m"}, {"c"});
  b.node("Relu", {"c"}, {"y"});
  b.output("y");
  ir::Graph opt = expect_same_outputs(b.g, b.random_feeds());
  ASSERT_EQ(opt.nodes.size(), 1u);
  EXPECT_EQ(opt.nodes[0].op_type, "FusedGemm");
}

TEST(FuseMatMulAdd, ThreeDimensionalOfStaticShapeBecomesReshapedGemm) {
  for (bool relu : {false, true}) {
    GraphBuilder b;
    b.input("a", {2, 4, 8});
    b.init("w", random_tensor({8, 16}, 70));
    b.init("bias", random_tensor({16}, 71));
    b.node("MatMul", {"a", "w"}, {"m"});
    b.node("Add", {"m", "bias"}, {relu ? "c" : "y"});
    if (relu) b.node("Relu", {"c"}, {"y"});
    b.output("y");
    ir::Graph opt = expect_same_outputs(b.g, b.random_feeds());
    EXPECT_EQ(count_op(opt, "MatMul"), 0);
    EXPECT_EQ(count_op(opt, relu ? "FusedGemm" : "Gemm"), 1);
    EXPECT_EQ(count_op(opt, "Reshape"), 2);
    EXPECT_EQ(opt.nodes.size(), 3u);
  }
}

TEST(FuseMatMulAdd, DynamicShapeStaysMatMul) {
  GraphBuilder b;
  b.input("a", {2, 4, 8});
  b.g.inputs[0].type.shape->at(0) = ir::Dim{-1, "batch"};
  b.init("w", random_tensor({8, 16}, 70));
  b.init("bias", random_tensor({16}, 71));
  b.node("MatMul", {"a", "w"}, {"m"});
  b.node("Add", {"m", "bias"}, {"y"});
  b.output("y");
  EXPECT_EQ(count_op(optimized(b.g), "MatMul"), 1);
}

TEST(MergeReshapes, ChainBecomesOneReshape) {
  GraphBuilder b;
  b.input("x", {2, 3, 4});
  b.init("s1", ints({6, 4}));
  b.init("s2", ints({4, -1}));
  b.node("Reshape", {"x", "s1"}, {"r1"});
  b.node("Reshape", {"r1", "s2"}, {"y"});
  b.output("y");
  ir::Graph opt = expect_same_outputs(b.g, b.random_feeds());
  EXPECT_EQ(opt.nodes.size(), 1u);
}

}  // namespace
}  // namespace edgeai::testing

namespace edgeai::testing {
namespace {

TEST(ReduceMeanToPool, SpatialMeanBecomesGlobalAveragePool) {
  for (int keep : {0, 1}) {
    for (bool negative_axes : {false, true}) {
      GraphBuilder b;
      b.input("x", {1, 4, 9, 9});
      add_conv(b, "x", "c", true);
      auto& r = b.node("ReduceMean", {"c"}, {"y"});
      GraphBuilder::set_ints(r, "axes", negative_axes ? std::vector<int64_t>{-1, -2} : std::vector<int64_t>{2, 3});
      GraphBuilder::set_int(r, "keepdims", keep);
      b.output("y");
      ir::Graph opt = expect_same_outputs(b.g, b.random_feeds());
      EXPECT_EQ(count_op(opt, "ReduceMean"), 0);
      EXPECT_EQ(count_op(opt, "GlobalAveragePool"), 1);
      EXPECT_EQ(count_op(opt, "Flatten"), keep ? 0 : 1);
    }
  }
}

TEST(ReduceMeanToPool, NotOverChannelsNorOnIntegers) {
  GraphBuilder b;
  b.input("x", {1, 4, 9, 9});
  add_conv(b, "x", "c", true);
  auto& r = b.node("ReduceMean", {"c"}, {"y"});
  GraphBuilder::set_ints(r, "axes", {1, 2, 3});
  b.output("y");
  EXPECT_EQ(count_op(expect_same_outputs(b.g, b.random_feeds()), "ReduceMean"), 1);

  GraphBuilder b2;
  b2.input("x", {1, 4, 3, 3}, DType::kI32);
  auto& r2 = b2.node("ReduceMean", {"x"}, {"y"});
  GraphBuilder::set_ints(r2, "axes", {2, 3});
  b2.output("y");
  EXPECT_EQ(count_op(optimized(b2.g), "ReduceMean"), 1);
}

}  // namespace
}  // namespace edgeai::testing

namespace edgeai::testing {
namespace {

TEST(TransposeToReshape, OnlySizeOneDimsMove) {
  GraphBuilder b;
  b.input("x", {1, 6, 5});
  auto& t = b.node("Transpose", {"x"}, {"t"});
  GraphBuilder::set_ints(t, "perm", {1, 0, 2});  // [6,1,5]: same element order
  b.init("shape", ints({6, 5, 1}));
  b.node("Reshape", {"t", "shape"}, {"r"});
  auto& t2 = b.node("Transpose", {"r"}, {"y"});  // [6,5,1] -> [1,5,6]: a real transpose
  GraphBuilder::set_ints(t2, "perm", {2, 1, 0});
  auto& t3 = b.node("Transpose", {"r"}, {"z"});  // [6,5,1] -> [6,1,5]: size-1 dim moves
  GraphBuilder::set_ints(t3, "perm", {0, 2, 1});
  b.output("y").output("z");
  ir::Graph opt = expect_same_outputs(b.g, b.random_feeds());
  EXPECT_EQ(count_op(opt, "Transpose"), 1);
  EXPECT_EQ(count_op(opt, "Reshape"), 2);  // the first two merged
}

TEST(TransposeToReshape, NotWithoutAKnownShape) {
  GraphBuilder b;
  b.input("x", {1, 6, 5});
  b.g.inputs[0].type.shape->at(0) = ir::Dim{-1, "batch"};
  auto& t = b.node("Transpose", {"x"}, {"y"});
  GraphBuilder::set_ints(t, "perm", {1, 0, 2});
  b.output("y");
  EXPECT_EQ(count_op(optimized(b.g), "Transpose"), 1);
}

}  // namespace
}  // namespace edgeai::testing

namespace edgeai::testing {
namespace {

// Residual chains make the static-shape queries revisit each value along many paths; the passes
// must stay linear (memoized), not exponential, in the depth.
TEST(PassesScale, DeepResidualChainOptimizesQuickly) {
  for (int layers : {40, 1500}) {
    GraphBuilder b;
    b.input("x0", {1, 4, 8});
    std::string x = "x0";
    for (int l = 0; l < layers; ++l) {
      const std::string s = std::to_string(l);
      auto& t = b.node("Transpose", {x}, {"t" + s});
      GraphBuilder::set_ints(t, "perm", {1, 0, 2});
      auto& u = b.node("Transpose", {"t" + s}, {"u" + s});
      GraphBuilder::set_ints(u, "perm", {1, 0, 2});
      b.node("Add", {x, "u" + s}, {"x" + std::to_string(l + 1)});
      x = "x" + std::to_string(l + 1);
    }
    b.output(x);
    auto t0 = std::chrono::steady_clock::now();
    ir::Graph opt = optimized(b.g);
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    EXPECT_LT(s, 5.0) << layers << " layers";
    EXPECT_EQ(count_op(opt, "Transpose"), 0);  // all became (merged) Reshapes
    if (layers <= 40) expect_same_outputs(b.g, b.random_feeds());
  }
}

}  // namespace
}  // namespace edgeai::testing
