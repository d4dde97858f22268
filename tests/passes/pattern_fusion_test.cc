// LayerNorm and GELU patterns (as PyTorch exports them) become single ops with the same outputs.
#include "pass_test_util.h"

namespace edgeai::testing {
namespace {

// PyTorch's LayerNorm export at opset 13/14: ReduceMean/Sub/Pow/ReduceMean/Add/Sqrt/Div/Mul/Add.
void add_layer_norm(GraphBuilder& b, const std::string& x, const std::string& y, int64_t d, bool with_beta,
                    bool square_by_mul = false) {
  auto& r1 = b.node("ReduceMean", {x}, {"ln_mean"});
  GraphBuilder::set_ints(r1, "axes", {-1});
  b.node("Sub", {x, "ln_mean"}, {"ln_d"});
  if (square_by_mul) {
    b.node("Mul", {"ln_d", "ln_d"}, {"ln_sq"});
  } else {
    b.init("ln_two", scalar_f32(2.0f));
    b.node("Pow", {"ln_d", "ln_two"}, {"ln_sq"});
  }
  auto& r2 = b.node("ReduceMean", {"ln_sq"}, {"ln_var"});
  GraphBuilder::set_ints(r2, "axes", {-1});
  b.init("ln_eps", scalar_f32(1e-5f));
  b.node("Add", {"ln_var", "ln_eps"}, {"ln_ve"});
  b.node("Sqrt", {"ln_ve"}, {"ln_std"});
  b.node("Div", {"ln_d", "ln_std"}, {"ln_n"});
  b.init("ln_gamma", random_tensor({d}, 80, 0.5f, 1.5f));
  b.node("Mul", {"ln_n", "ln_gamma"}, {with_beta ? std::string("ln_scaled") : y});
  if (with_beta) {
    b.init("ln_beta", random_tensor({d}, 81));
    b.node("Add", {"ln_scaled", "ln_beta"}, {y});
  }
}

TEST(FuseLayerNorm, PyTorchPattern) {
  for (bool beta : {true, false}) {
    for (bool by_mul : {false, true}) {
      GraphBuilder b(14);
      b.input("x", {2, 5, 16});
      add_layer_norm(b, "x", "y", 16, beta, by_mul);
      b.output("y");
      ir::Graph opt = expect_same_outputs(b.g, b.random_feeds());
      ASSERT_EQ(opt.nodes.size(), 1u);
      EXPECT_EQ(opt.nodes[0].op_type, "LayerNormalization");
      EXPECT_EQ(opt.nodes[0].inputs.size(), beta ? 3u : 2u);
    }
  }
}

TEST(FuseLayerNorm, NotOverAnotherAxisOrWithSharedIntermediates) {
  GraphBuilder b(14);
  b.input("x", {2, 5, 16});
  add_layer_norm(b, "x", "y", 16, true);
  GraphBuilder::set_ints(b.g.nodes[0], "axes", {1});  // the first ReduceMean over axis 1
  b.output("y");
  ir::Graph opt = expect_same_outputs(b.g, b.random_feeds());
  EXPECT_EQ(count_op(opt, "LayerNormalization"), 0);

  GraphBuilder b2(14);
  b2.input("x", {2, 5, 16});
  add_layer_norm(b2, "x", "y", 16, true);
  b2.output("y").output("ln_var");  // the variance is needed too
  opt = expect_same_outputs(b2.g, b2.random_feeds());
  EXPECT_EQ(count_op(opt, "LayerNormalization"), 0);
}

TEST(FuseGelu, ErfForms) {
  // 0: (x * a) * 0.5 with Div by sqrt 2; 1: x * (a * 0.5) with Mul by 1/sqrt 2; 2: (x * 0.5) * a
  for (int form = 0; form < 3; ++form) {
    GraphBuilder b;
    b.input("x", {3, 10});
    b.init("one", scalar_f32(1.0f));
    b.init("half", scalar_f32(0.5f));
    if (form == 1) {
      b.init("inv_sqrt2", scalar_f32(0.70710678f));
      b.node("Mul", {"inv_sqrt2", "x"}, {"t"});
    } else {
      b.init("sqrt2", scalar_f32(1.4142135f));
      b.node("Div", {"x", "sqrt2"}, {"t"});
    }
    b.node("Erf", {"t"}, {"e"});
    b.node("Add", {"one", "e"}, {"a"});
    if (form == 0) {
      b.node("Mul", {"x", "a"}, {"m"});
      b.node("Mul", {"m", "half"}, {"y"});
    } else if (form == 1) {
      b.node("Mul", {"a", "half"}, {"m"});
      b.node("Mul", {"x", "m"}, {"y"});
    } else {
      b.node("Mul", {"x", "half"}, {"h"});
      b.node("Mul", {"h", "a"}, {"y"});
    }
    b.node("Neg", {"y"}, {"z"});
    b.output("z");
    ir::Graph opt = expect_same_outputs(b.g, b.random_feeds());
    ASSERT_EQ(opt.nodes.size(), 2u) << form;
    EXPECT_EQ(count_op(opt, "Gelu"), 1);
  }
}

TEST(FuseGelu, TanhForm) {
  for (bool pow : {true, false}) {
    GraphBuilder b;
    b.input("x", {3, 10});
    b.init("one", scalar_f32(1.0f));
    b.init("half", scalar_f32(0.5f));
    b.init("k", scalar_f32(0.044715f));
    b.init("s", scalar_f32(0.7978845608f));
    if (pow) {
      b.init("three", scalar_f32(3.0f));
      b.node("Pow", {"x", "three"}, {"cube"});
    } else {
      b.node("Mul", {"x", "x"}, {"sq"});
      b.node("Mul", {"sq", "x"}, {"cube"});
    }
    b.node("Mul", {"k", "cube"}, {"q"});
    b.node("Add", {"x", "q"}, {"w"});
    b.node("Mul", {"w", "s"}, {"u"});
    b.node("Tanh", {"u"}, {"t"});
    b.node("Add", {"t", "one"}, {"a"});
    b.node("Mul", {"x", "a"}, {"m"});
    b.node("Mul", {"m", "half"}, {"y"});
    b.output("y");
    ir::Graph opt = expect_same_outputs(b.g, b.random_feeds());
    ASSERT_EQ(opt.nodes.size(), 1u);
    EXPECT_EQ(opt.nodes[0].op_type, "Gelu");
    ASSERT_NE(opt.nodes[0].attr("approximate"), nullptr);
    EXPECT_EQ(opt.nodes[0].attr("approximate")->s, "tanh");
  }
}

TEST(FuseGelu, NotWithAWrongConstant) {
  GraphBuilder b;
  b.input("x", {3, 10});
  b.init("one", scalar_f32(1.0f));
  b.init("half", scalar_f32(0.5f));
  b.init("two", scalar_f32(2.0f));
  b.node("Div", {"x", "two"}, {"t"});
  b.node("Erf", {"t"}, {"e"});
  b.node("Add", {"one", "e"}, {"a"});
  b.node("Mul", {"x", "a"}, {"m"});
  b.node("Mul", {"m", "half"}, {"y"});
  b.output("y");
  ir::Graph opt = expect_same_outputs(b.g, b.random_feeds());
  EXPECT_EQ(count_op(opt, "Gelu"), 0);
}

}  // namespace
}  // namespace edgeai::testing
