// SessionOptions::prepack: where every input's shape is fixed, Session::create runs the graph once
// on zeros, so the kernels pack their weights for the paths those shapes take before the first
// inference. Observed through the environment's arena (the zero run's intermediate tensors leave
// blocks there) and the outputs (oracle: the same graph in a session created without prepack).
#include <gtest/gtest.h>

#include "../passes/pass_test_util.h"

namespace edgeai::testing {
namespace {

// x [1, 8, 12, 12] -> 3x3 conv (8 -> 16) -> Relu -> 1x1 conv (16 -> 4): intermediates in the arena.
GraphBuilder conv_chain(std::vector<int64_t> x_shape) {
  GraphBuilder b;
  b.input("x", x_shape);
  b.init("w1", random_tensor({16, 8, 3, 3}, 1)).init("w2", random_tensor({4, 16, 1, 1}, 2));
  ir::Node& c1 = b.node("Conv", {"x", "w1"}, {"c1"});
  GraphBuilder::set_ints(c1, "pads", {1, 1, 1, 1});
  b.node("Relu", {"c1"}, {"r"});
  b.node("Conv", {"r", "w2"}, {"y"});
  b.output("y");
  return b;
}

std::vector<runtime::NamedValue> feeds_for(const Shape& shape) {
  return {{"x", runtime::Value::of(random_tensor(shape, 9))}};
}

TEST(SessionPrepack, FixedShapesRunOnceAtCreation) {
  GraphBuilder b = conv_chain({1, 8, 12, 12});
  auto g = std::make_shared<const ir::Graph>(b.g);
  auto with = Env::create(1), without = Env::create(1);
  auto s1 = runtime::Session::create(g, *with);
  runtime::SessionOptions no;
  no.prepack = false;
  auto s2 = runtime::Session::create(g, *without, no);
  ASSERT_TRUE(s1.ok() && s2.ok());
  EXPECT_GT(with->arena->bytes_reserved(), 0u);  // the zero run's intermediates
  EXPECT_EQ(without->arena->bytes_reserved(), 0u);
  auto a = (*s1)->run(feeds_for({1, 8, 12, 12}));
  auto r = (*s2)->run(feeds_for({1, 8, 12, 12}));
  ASSERT_TRUE(a.ok() && r.ok());
  EXPECT_TRUE(compare_tensors((*a)[0].tensor, (*r)[0].tensor, 0, 0).equal);  // the same kernels
}

// A dimension without a size (a symbolic batch): nothing runs at creation.
TEST(SessionPrepack, DynamicShapeWaitsForTheFirstRun) {
  GraphBuilder b = conv_chain({1, 8, 12, 12});
  b.g.inputs[0].type.shape->at(0) = ir::Dim{-1, "batch"};
  auto env = Env::create(1);
  auto s = runtime::Session::create(std::make_shared<const ir::Graph>(b.g), *env);
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(env->arena->bytes_reserved(), 0u);
  auto y = (*s)->run(feeds_for({2, 8, 12, 12}));
  ASSERT_TRUE(y.ok()) << y.status().message();
  EXPECT_EQ((*y)[0].tensor.shape(), (Shape{2, 4, 12, 12}));
}

// The zero run fails (integer division by the input): creation still succeeds, a real input runs,
// and zeros give the kernel's error at run time as without prepack.
TEST(SessionPrepack, FailingZeroRunIsNotAnError) {
  GraphBuilder b;
  b.input("d", {3}, DType::kI64);
  b.init("n", ints({10, 20, 30}));
  b.node("Div", {"n", "d"}, {"q"});
  b.output("q");
  auto env = Env::create(1);
  auto s = runtime::Session::create(std::make_shared<const ir::Graph>(b.g), *env);
  ASSERT_TRUE(s.ok()) << s.status().message();
  auto q = (*s)->run({{"d", runtime::Value::of(ints({2, 4, 5}))}});
  ASSERT_TRUE(q.ok()) << q.status().message();
  EXPECT_TRUE(compare_tensors((*q)[0].tensor, ints({5, 5, 6}), 0, 0).equal);
  auto z = (*s)->run({{"d", runtime::Value::of(ints({0, 1, 1}))}});
  ASSERT_FALSE(z.ok());
  EXPECT_NE(z.status().message().find("division by zero"), std::string::npos) << z.status().message();
}

}  // namespace
}  // namespace edgeai::testing
