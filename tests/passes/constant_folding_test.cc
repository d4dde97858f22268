// Constant -> initializer, constant folding, Identity/Dropout removal and dead-node removal:
// outputs equal to the unoptimized graph (reference kernels), fewer nodes.
#include "pass_test_util.h"
#include "passes/passes.h"

namespace edgeai::testing {
namespace {

TEST(ConstantFolding, FoldsConstantChainsIntoInitializers) {
  GraphBuilder b;
  b.input("x", {2, 3});
  auto& c1 = b.node("Constant", {}, {"c1"});
  GraphBuilder::set_tensor(c1, "value", random_tensor({2, 3}, 1));
  auto& c2 = b.node("Constant", {}, {"c2"});
  GraphBuilder::set_float(c2, "value_float", 2.5f);
  b.node("Mul", {"c1", "c2"}, {"c3"});
  b.node("Exp", {"c3"}, {"c4"});
  b.node("Add", {"x", "c4"}, {"y"});
  b.output("y");
  ir::Graph opt = expect_same_outputs(b.g, b.random_feeds());
  ASSERT_EQ(opt.nodes.size(), 1u);
  EXPECT_EQ(opt.nodes[0].op_type, "Add");
  EXPECT_EQ(count_op(opt, "Constant"), 0);
  // Only the folded value remains as an initializer; c1 and the intermediate ones are dropped.
  EXPECT_EQ(opt.initializers.size(), 1u);
  EXPECT_TRUE(opt.initializers.count("c4"));
}

TEST(ConstantFolding, FoldsShapeArithmeticOnInitializers) {
  GraphBuilder b;
  b.input("x", {4, 6});
  b.init("shape_src", random_tensor({6, 4}, 2));
  b.node("Shape", {"shape_src"}, {"s"});
  b.init("idx", ints({1, 0}));
  b.node("Gather", {"s", "idx"}, {"s2"});
  b.node("Reshape", {"x", "s2"}, {"r"});
  b.node("Transpose", {"r"}, {"y"});
  b.output("y");
  ir::Graph opt = expect_same_outputs(b.g, b.random_feeds());
  EXPECT_EQ(opt.nodes.size(), 2u);  // Reshape (now with a constant shape) and Transpose
}

TEST(ConstantFolding, KeepsRandomOpsAndOverridableInitializers) {
  GraphBuilder b;
  b.input("x", {3});
  b.input("w", {3});  // a graph input with a default: the caller may override it
  b.init("w", random_tensor({3}, 3));
  b.node("Neg", {"w"}, {"nw"});
  auto& r = b.node("RandomNormal", {}, {"noise"});
  GraphBuilder::set_ints(r, "shape", {3});
  GraphBuilder::set_float(r, "seed", 1.0f);
  b.node("Add", {"x", "nw"}, {"y"});
  b.node("Add", {"y", "noise"}, {"z"});
  b.output("y").output("z");
  ir::Graph opt = optimized(b.g);
  EXPECT_EQ(count_op(opt, "Neg"), 1);
  EXPECT_EQ(count_op(opt, "RandomNormal"), 1);
}

TEST(ConstantFolding, SkipsOutputsMuchLargerThanInputs) {
  GraphBuilder b;
  b.input("x", {1});
  b.init("one", scalar_f32(1.0f));
  b.init("big_shape", ints({1024, 1024}));  // 4 MiB of f32 from 20 bytes
  b.node("Expand", {"one", "big_shape"}, {"e"});
  b.node("ReduceSum", {"e"}, {"s"});
  b.node("Add", {"x", "s"}, {"y"});
  b.output("y");
  ir::Graph opt = optimized(b.g);
  EXPECT_EQ(count_op(opt, "Expand"), 1);
}

TEST(ConstantFolding, LeavesFailingNodesForTheRuntimeToReport) {
  GraphBuilder b;
  b.input("x", {2});
  b.init("a", random_tensor({2, 3}, 4));
  b.init("bad_shape", ints({5, 5}));
  b.node("Reshape", {"a", "bad_shape"}, {"r"});
  b.node("Add", {"x", "r"}, {"y"});
  b.output("y");
  ir::Graph opt = optimized(b.g);
  EXPECT_EQ(count_op(opt, "Reshape"), 1);
  auto env = Env::create(1);
  auto s = runtime::Session::create(std::make_shared<const ir::Graph>(b.g), *env);
  ASSERT_TRUE(s.ok()) << s.status().message();
  auto out = (*s)->run(b.random_feeds());
  ASSERT_FALSE(out.ok());
  EXPECT_NE(out.status().message().find("Reshape"), std::string::npos) << out.status().message();
}

TEST(EliminateIdentity, RemovesIdentityAndInferenceDropout) {
  GraphBuilder b(13);
  b.input("x", {2, 5});
  b.node("Identity", {"x"}, {"i1"});
  b.node("Relu", {"i1"}, {"r"});
  b.node("Identity", {"r"}, {"i2"});
  b.node("Dropout", {"i2"}, {"d", ""});
  b.node("Sigmoid", {"d"}, {"s"});
  b.node("Identity", {"s"}, {"y"});  // graph output: the Sigmoid writes "y" directly
  b.output("y");
  ir::Graph opt = expect_same_outputs(b.g, b.random_feeds());
  EXPECT_EQ(count_op(opt, "Identity"), 0);
  EXPECT_EQ(count_op(opt, "Dropout"), 0);
  EXPECT_EQ(opt.nodes.size(), 2u);
}

TEST(EliminateIdentity, KeepsIdentityBetweenGraphInputAndOutput) {
  GraphBuilder b;
  b.input("x", {3});
  b.node("Identity", {"x"}, {"y"});
  b.node("Identity", {"x"}, {"z"});
  b.node("Neg", {"z"}, {"w"});
  b.output("y").output("w");
  ir::Graph opt = expect_same_outputs(b.g, b.random_feeds());
  EXPECT_EQ(count_op(opt, "Identity"), 1);  // x -> y must stay; x -> z goes
}

TEST(EliminateIdentity, KeepsDropoutWithUsedMaskOrTrainingMode) {
  GraphBuilder b(13);
  b.input("x", {4});
  b.node("Dropout", {"x"}, {"d", "mask"});
  b.output("d").output("mask");
  ir::Graph opt = optimized(b.g);
  EXPECT_EQ(count_op(opt, "Dropout"), 1);
}

TEST(DeadNodes, RemovesNodesThatReachNoOutput) {
  GraphBuilder b;
  b.input("x", {3});
  b.init("unused_w", random_tensor({100}, 5));
  b.node("Relu", {"x"}, {"y"});
  b.node("Neg", {"x"}, {"dead1"});
  b.node("Mul", {"dead1", "unused_w"}, {"dead2"});
  b.output("y");
  ir::Graph g = b.g;
  auto r = passes::remove_dead_nodes(g);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, 2);
  EXPECT_EQ(g.nodes.size(), 1u);
  EXPECT_TRUE(g.initializers.empty());
}

TEST(Optimize, DisabledLeavesTheGraphAlone) {
  GraphBuilder b;
  b.input("x", {3});
  b.node("Identity", {"x"}, {"i"});
  b.node("Relu", {"i"}, {"y"});
  b.output("y");
  ir::Graph g = b.g;
  ASSERT_TRUE(passes::optimize_graph(g, {.enabled = false}).ok());
  EXPECT_EQ(g.nodes.size(), 2u);
  std::vector<passes::PassReport> report;
  ASSERT_TRUE(passes::optimize_graph(g, {.enabled = true, .report = &report}).ok());
  EXPECT_EQ(g.nodes.size(), 1u);
  ASSERT_FALSE(report.empty());
  EXPECT_EQ(report[1].pass, "eliminate_identity");
  EXPECT_EQ(report[1].rewrites, 1);
}

}  // namespace
}  // namespace edgeai::testing

namespace edgeai::testing {
namespace {

TEST(FoldShapes, ShapeOfAStaticValueBecomesAConstant) {
  GraphBuilder b;
  b.input("x", {2, 3, 4});
  b.init("w", random_tensor({4, 6}, 9));
  b.node("MatMul", {"x", "w"}, {"m"});          // [2,3,6]
  b.node("Shape", {"m"}, {"s"});
  b.init("last", ints({-1}));
  b.node("Gather", {"s", "last"}, {"n"});       // [6]
  b.init("three", ints({3}));
  b.node("Div", {"n", "three"}, {"third"});     // [2]
  b.init("zero", ints({0}));
  b.node("Slice", {"m", "zero", "third", "last"}, {"y"});
  b.node("Size", {"m"}, {"count"});
  b.output("y").output("count");
  ir::Graph opt = expect_same_outputs(b.g, b.random_feeds());
  EXPECT_EQ(count_op(opt, "Shape"), 0);
  EXPECT_EQ(count_op(opt, "Size"), 0);
  EXPECT_EQ(count_op(opt, "Gather"), 0);
  EXPECT_EQ(count_op(opt, "Div"), 0);
  EXPECT_EQ(opt.nodes.size(), 2u);  // MatMul, Slice
}

TEST(FoldShapes, NotWithADynamicDim) {
  GraphBuilder b;
  b.input("x", {2, 3});
  b.g.inputs[0].type.shape->at(0) = ir::Dim{-1, "batch"};
  b.node("Shape", {"x"}, {"s"});
  b.output("s");
  EXPECT_EQ(count_op(optimized(b.g), "Shape"), 1);
}

}  // namespace
}  // namespace edgeai::testing

namespace edgeai::testing {
namespace {

// Malformed graphs in the shapes the passes match: the passes must leave them alone (no crash, no
// out-of-bounds read) and the session report them or run them as the unoptimized graph would.
TEST(PassesOnHostileGraphs, NoCrashAndSameBehaviour) {
  std::vector<GraphBuilder> cases;
  {  // Conv without weights, Relu with two inputs, a Mul with no outputs reading the Conv
    GraphBuilder b;
    b.input("x", {1, 2, 4, 4});
    b.node("Conv", {"x"}, {"c"});
    b.node("Relu", {"c", "c"}, {"y"});
    b.node("Mul", {"c", "c"}, {});
    b.output("y");
    cases.push_back(b);
  }
  {  // BatchNormalization whose parameters do not match the Conv's channels
    GraphBuilder b;
    b.input("x", {1, 2, 4, 4});
    b.init("w", random_tensor({3, 2, 1, 1}, 1));
    b.node("Conv", {"x", "w"}, {"c"});
    for (const char* p : {"s", "bb", "m", "v"}) b.init(p, random_tensor({5}, 2, 0.5f, 1.0f));
    b.node("BatchNormalization", {"c", "s", "bb", "m", "v"}, {"y"});
    b.output("y");
    cases.push_back(b);
  }
  {  // LayerNorm-like chain with a three-input Sub and a Pow without exponent
    GraphBuilder b(14);
    b.input("x", {2, 8});
    auto& r = b.node("ReduceMean", {"x"}, {"m"});
    GraphBuilder::set_ints(r, "axes", {-1});
    b.node("Sub", {"x", "m", "x"}, {"d"});
    b.node("Pow", {"d"}, {"p"});
    b.node("Div", {"d", "p"}, {"y"});
    b.output("y");
    cases.push_back(b);
  }
  {  // GELU-like chain with a two-input Erf and a one-input Mul
    GraphBuilder b;
    b.input("x", {4});
    b.init("s2", scalar_f32(1.4142135f));
    b.init("one", scalar_f32(1.0f));
    b.node("Div", {"x", "s2"}, {"t"});
    b.node("Erf", {"t", "t"}, {"e"});
    b.node("Add", {"e", "one"}, {"a"});
    b.node("Mul", {"a"}, {"y"});
    b.output("y");
    cases.push_back(b);
  }
  {  // Clip with a non-scalar bound after a Conv; Dropout with a non-constant training_mode
    GraphBuilder b;
    b.input("x", {1, 2, 4, 4});
    b.input("train", {}, DType::kBool);
    b.init("w", random_tensor({3, 2, 1, 1}, 3));
    b.init("lo", random_tensor({3}, 4));
    b.node("Conv", {"x", "w"}, {"c"});
    b.node("Clip", {"c", "lo"}, {"k"});
    b.node("Dropout", {"k", "", "train"}, {"y"});
    b.output("y");
    cases.push_back(b);
  }
  {  // Transpose with a bad perm and a Shape of it; Reshape to an impossible constant shape
    GraphBuilder b;
    b.input("x", {1, 6});
    auto& t = b.node("Transpose", {"x"}, {"t"});
    GraphBuilder::set_ints(t, "perm", {0, 0});
    b.node("Shape", {"t"}, {"s"});
    b.init("bad", ints({5, 5}));
    b.node("Reshape", {"x", "bad"}, {"r"});
    b.node("Shape", {"r"}, {"y"});
    b.output("y").output("s");
    cases.push_back(b);
  }
  for (size_t k = 0; k < cases.size(); ++k) {
    SCOPED_TRACE("case " + std::to_string(k));
    ir::Graph g = cases[k].g;
    ASSERT_TRUE(passes::optimize_graph(g, {}).ok());
    auto env = Env::create(1);
    auto shared = std::make_shared<const ir::Graph>(cases[k].g);
    auto feeds = cases[k].random_feeds();
    for (auto& f : feeds) {
      if (f.name == "train") f.value = runtime::Value::of(Tensor::from_vector<bool>(DType::kBool, {}, {false}));
    }
    std::string results[2];
    for (int opt = 0; opt < 2; ++opt) {
      auto s = runtime::Session::create(shared, *env, {.optimize = opt == 1});
      if (!s.ok()) {
        results[opt] = "create: " + std::to_string(static_cast<int>(s.status().code()));
        continue;
      }
      auto r = (*s)->run(feeds);
      results[opt] = r.ok() ? "ok" : "run: " + std::to_string(static_cast<int>(r.status().code()));
    }
    EXPECT_EQ(results[0], results[1]);
  }
}

}  // namespace
}  // namespace edgeai::testing
