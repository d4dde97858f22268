// fuse_pointwise_depthwise (src/passes/fuse_pointwise_depthwise.cc): a 1x1 conv read only by a
// depthwise conv becomes one com.edgeai FusedPwDwConv. The pass is called directly on the graph
// the other passes made (optimize_graph runs it only when
// OptimizeOptions::fuse_pointwise_depthwise is set). Oracle: the unoptimized graph (ONNX Conv,
// Clip / Sigmoid / Mul nodes) through the reference kernels; the fused graph runs with the
// reference kernels only and with the CPU kernels (conv.cc's FusedPwDwConv), 1-3 threads.
#include "passes/passes.h"
#include "pass_test_util.h"

namespace edgeai::testing {
namespace {

// The graph after optimize_graph and then fuse_pointwise_depthwise.
ir::Graph fused(const ir::Graph& g) {
  ir::Graph out = optimized(g);
  auto r = passes::fuse_pointwise_depthwise(out);
  EXPECT_TRUE(r.ok()) << r.status().message();
  return out;
}

std::vector<Tensor> run(const ir::Graph& g, const std::vector<runtime::NamedValue>& feeds, bool reference_only,
                        int threads) {
  auto env = Env::create(threads);
  auto s = runtime::Session::create(std::make_shared<const ir::Graph>(g), *env,
                                    {.optimize = false, .reference_only = reference_only});
  EXPECT_TRUE(s.ok()) << s.status().message();
  if (!s.ok()) return {};
  auto out = (*s)->run(feeds);
  EXPECT_TRUE(out.ok()) << out.status().message();
  std::vector<Tensor> v;
  if (out.ok()) {
    for (auto& x : *out) v.push_back(x.tensor);
  }
  return v;
}

// The fused graph's outputs equal the unoptimized graph's (reference kernels) within rtol 1e-5
// of the largest output magnitude.
void expect_fused_matches(const ir::Graph& original, const ir::Graph& fused_graph,
                          const std::vector<runtime::NamedValue>& feeds) {
  const std::vector<Tensor> want = run(original, feeds, true, 1);
  for (bool reference_only : {true, false}) {
    for (int threads = 1; threads <= (reference_only ? 1 : 3); ++threads) {
      SCOPED_TRACE(std::string(reference_only ? "reference" : "cpu") + " kernels, " + std::to_string(threads) +
                   " threads");
      const std::vector<Tensor> got = run(fused_graph, feeds, reference_only, threads);
      ASSERT_EQ(got.size(), want.size());
      for (size_t i = 0; i < want.size(); ++i) {
        double mag = 1e-6;
        for (int64_t k = 0; k < want[i].numel(); ++k) mag = std::max(mag, std::abs(want[i].get_double(k)));
        CompareResult c = compare_tensors(got[i], want[i], 1e-5, 1e-5 * mag);
        EXPECT_TRUE(c.equal) << "output " << i << ": " << c.message;
      }
    }
  }
}

enum class Act { kNone, kClip, kSiLU };

// y = act(v) as ONNX nodes.
void add_act(GraphBuilder& b, Act act, const std::string& v, const std::string& y) {
  if (act == Act::kNone) {
    b.node("Identity", {v}, {y});
  } else if (act == Act::kClip) {
    b.init(y + "_lo", scalar_f32(0.f)).init(y + "_hi", scalar_f32(6.f));
    b.node("Clip", {v, y + "_lo", y + "_hi"}, {y});
  } else {
    b.node("Sigmoid", {v}, {y + "_s"});
    b.node("Mul", {v, y + "_s"}, {y});
  }
}

struct Block {
  int64_t cin = 8, c = 24, h = 9, w = 11, k = 3;
  std::vector<int64_t> dw_strides{2, 2}, dw_pads{1, 1, 1, 1};
  Act pw_act = Act::kClip, dw_act = Act::kClip;
  bool b1 = true, b2 = true;
  // Variations that must stop the fusion.
  std::vector<int64_t> pw_strides{1, 1};
  int64_t pw_k = 1;
  int64_t dw_group = 0;          // 0: c (depthwise)
  bool e_read_twice = false;     // E also goes to a Relu whose output is a graph output
  bool e_graph_output = false;   // E is a graph output too
  bool dw_residual = false;      // the depthwise output + a graph input (FusedConv's Z)
};

// x -> Conv 1x1 (W1, B1) -> act -> E -> Conv depthwise (W2, B2) -> act -> y.
GraphBuilder block(const Block& p) {
  GraphBuilder b;
  b.input("x", {1, p.cin, p.h, p.w});
  b.init("w1", random_tensor({p.c, p.cin, p.pw_k, p.pw_k}, 3));
  std::vector<std::string> in1 = {"x", "w1"};
  if (p.b1) {
    b.init("b1", random_tensor({p.c}, 4));
    in1.push_back("b1");
  }
  auto& pw = b.node("Conv", in1, {"pw"});
  GraphBuilder::set_ints(pw, "strides", p.pw_strides);
  if (p.pw_k != 1) GraphBuilder::set_ints(pw, "pads", {1, 1, 1, 1});
  add_act(b, p.pw_act, "pw", "e");
  const int64_t group = p.dw_group ? p.dw_group : p.c;
  b.init("w2", random_tensor({p.c, p.c / group, p.k, p.k}, 5));
  std::vector<std::string> in2 = {"e", "w2"};
  if (p.b2) {
    b.init("b2", random_tensor({p.c}, 6));
    in2.push_back("b2");
  }
  auto& dw = b.node("Conv", in2, {"dw"});
  GraphBuilder::set_int(dw, "group", group);
  GraphBuilder::set_ints(dw, "kernel_shape", {p.k, p.k});
  GraphBuilder::set_ints(dw, "strides", p.dw_strides);
  GraphBuilder::set_ints(dw, "pads", p.dw_pads);
  std::string dw_out = "dw";
  if (p.dw_residual) {
    const auto out = [](int64_t n, int64_t s, int64_t pads, int64_t k) { return (n + pads - k) / s + 1; };
    b.input("z", {1, p.c, out(p.h, p.dw_strides[0], p.dw_pads[0] + p.dw_pads[2], p.k),
                  out(p.w, p.dw_strides[1], p.dw_pads[1] + p.dw_pads[3], p.k)});
    b.node("Add", {"dw", "z"}, {"dwz"});
    dw_out = "dwz";
  }
  add_act(b, p.dw_act, dw_out, "y");
  b.output("y");
  if (p.e_read_twice) {
    b.node("Relu", {"e"}, {"r"});
    b.output("r");
  }
  if (p.e_graph_output) b.output("e");
  return b;
}

TEST(FusePointwiseDepthwise, ClipBlockBecomesOneNode) {
  GraphBuilder b = block({});
  ir::Graph g = fused(b.g);
  ASSERT_EQ(g.nodes.size(), 1u);
  const ir::Node& n = g.nodes[0];
  EXPECT_EQ(n.op_type, "FusedPwDwConv");
  EXPECT_EQ(n.domain, "com.edgeai");
  EXPECT_EQ(n.inputs, (std::vector<std::string>{"x", "w1", "b1", "w2", "b2"}));
  EXPECT_EQ(n.outputs, std::vector<std::string>{"y"});
  ASSERT_NE(n.attr("pw_activation"), nullptr);
  EXPECT_EQ(n.attr("pw_activation")->s, "Clip");
  EXPECT_EQ(n.attr("pw_activation_params")->floats, (std::vector<float>{0.f, 6.f}));
  EXPECT_EQ(n.attr("activation")->s, "Clip");
  EXPECT_EQ(n.attr("group")->i, 24);
  EXPECT_EQ(n.attr("strides")->ints, (std::vector<int64_t>{2, 2}));
  EXPECT_EQ(g.opsets.count("com.edgeai"), 1u);
  expect_fused_matches(b.g, g, b.random_feeds());
}

// optimize_graph runs the pass only when asked (OptimizeOptions::fuse_pointwise_depthwise).
TEST(FusePointwiseDepthwise, OptimizeGraphRunsItWhenAsked) {
  GraphBuilder b = block({});
  ir::Graph by_default = b.g, asked = b.g;
  ASSERT_TRUE(passes::optimize_graph(by_default, {}).ok());
  ASSERT_TRUE(passes::optimize_graph(asked, {.fuse_pointwise_depthwise = true}).ok());
  EXPECT_EQ(count_op(by_default, "FusedPwDwConv"), 0);
  EXPECT_EQ(count_op(by_default, "FusedConv"), 2);
  ASSERT_EQ(asked.nodes.size(), 1u);
  EXPECT_EQ(asked.nodes[0].op_type, "FusedPwDwConv");
  expect_fused_matches(b.g, asked, b.random_feeds());
}

TEST(FusePointwiseDepthwise, SiLUAndPlainBlocks) {
  Block silu;
  silu.pw_act = silu.dw_act = Act::kSiLU;
  silu.cin = 5, silu.c = 7, silu.h = 6, silu.w = 13, silu.k = 5;
  silu.dw_strides = {1, 1}, silu.dw_pads = {2, 2, 2, 2};
  silu.b1 = false;
  Block plain;  // no activations, no depthwise bias, asymmetric pads
  plain.pw_act = plain.dw_act = Act::kNone;
  plain.b2 = false;
  plain.c = 17, plain.dw_strides = {1, 2}, plain.dw_pads = {0, 1, 2, 0};
  Block mixed;  // Clip on the pointwise conv only
  mixed.dw_act = Act::kNone;
  for (const Block& p : {silu, plain, mixed}) {
    GraphBuilder b = block(p);
    ir::Graph g = fused(b.g);
    ASSERT_EQ(count_op(g, "FusedPwDwConv"), 1);
    ASSERT_EQ(g.nodes.size(), 1u);
    const ir::Node& n = g.nodes[0];
    const ir::Attribute* pw = n.attr("pw_activation");
    const ir::Attribute* act = n.attr("activation");
    EXPECT_EQ(pw ? pw->s : "", p.pw_act == Act::kSiLU ? "SiLU" : p.pw_act == Act::kClip ? "Clip" : "");
    EXPECT_EQ(act ? act->s : "", p.dw_act == Act::kSiLU ? "SiLU" : p.dw_act == Act::kClip ? "Clip" : "");
    EXPECT_EQ(n.inputs[2], p.b1 ? "b1" : "");
    EXPECT_EQ(n.inputs.size(), p.b2 ? 5u : 4u);
    expect_fused_matches(b.g, g, b.random_feeds());
  }
}

// Two blocks in a row (the second's pointwise conv reads the first's depthwise output), and a
// Relu between them: both fuse, in a valid order.
TEST(FusePointwiseDepthwise, ChainOfBlocks) {
  GraphBuilder b = block({});
  b.g.outputs.clear();
  b.init("w3", random_tensor({16, 24, 1, 1}, 7));
  b.node("Conv", {"y", "w3"}, {"p2"});
  b.node("Relu", {"p2"}, {"e2"});
  b.init("w4", random_tensor({16, 1, 3, 3}, 8));
  auto& dw = b.node("Conv", {"e2", "w4"}, {"y2"});
  GraphBuilder::set_int(dw, "group", 16);
  GraphBuilder::set_ints(dw, "pads", {1, 1, 1, 1});
  b.output("y2");
  ir::Graph g = fused(b.g);
  EXPECT_EQ(count_op(g, "FusedPwDwConv"), 2);
  EXPECT_EQ(g.nodes.size(), 2u);
  expect_fused_matches(b.g, g, b.random_feeds());
}

TEST(FusePointwiseDepthwise, NotFused) {
  struct Case {
    const char* name;
    Block p;
  };
  std::vector<Case> cases;
  Block p;
  p.e_read_twice = true;
  cases.push_back({"E read twice", p});
  p = {};
  p.e_graph_output = true;
  cases.push_back({"E a graph output", p});
  p = {};
  p.pw_k = 3;
  cases.push_back({"W1 3x3", p});
  p = {};
  p.pw_strides = {2, 2};
  p.h = 17, p.w = 21;
  cases.push_back({"pointwise stride 2", p});
  p = {};
  p.dw_group = 12;
  cases.push_back({"group != C", p});
  p = {};
  p.dw_residual = true;
  cases.push_back({"depthwise conv with a residual Z", p});
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    GraphBuilder b = block(c.p);
    ir::Graph g = optimized(b.g);
    ir::Graph before = g;
    auto r = passes::fuse_pointwise_depthwise(g);
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(*r, 0);
    EXPECT_EQ(count_op(g, "FusedPwDwConv"), 0);
    EXPECT_EQ(g.nodes.size(), before.nodes.size());
  }
}

}  // namespace
}  // namespace edgeai::testing
