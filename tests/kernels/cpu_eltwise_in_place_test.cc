// Elementwise kernels write their output over an operand that dies at them
// (KernelContext::allocate_output_over_input, eltwise.cc): the binary ops over the operand of the
// output's shape (either one, the other broadcast as squeeze-excitation's gate is), unary ops over
// their input; and not where the operand is read again later. Against the reference kernels,
// every ISA table and 1-3 threads.
#include "kernels/cpu_test_util.h"

namespace edgeai::testing {
namespace {

// Relu(x) -> r, so that r is a value of the graph's own (the caller holds x).
OpCase with_relu(const Shape& shape, uint32_t seed) {
  OpCase k;
  k.feeds.push_back({"x", random_tensor(shape, seed)});
  k.nodes.push_back(graph_node("relu", "Relu", {"x"}, {"r"}));
  return k;
}

TEST(CpuEltwiseInPlace, BinaryOverTheOperandThatDies) {
  for (const std::string op : {"Mul", "Add", "Sub", "Div"}) {
    for (bool r_first : {true, false}) {
      if (op == "Div" && !r_first) continue;  // r is zero where Relu cut it
      SCOPED_TRACE(op + (r_first ? " (r, g)" : " (g, r)"));
      OpCase k = with_relu({1, 40, 14, 14}, 3);
      k.feeds.push_back({"g", random_tensor({1, 40, 1, 1}, 4, 0.5f, 1.5f)});  // a gate per channel
      k.nodes.push_back(graph_node("op", op, r_first ? std::vector<std::string>{"r", "g"}
                                                     : std::vector<std::string>{"g", "r"},
                                   {"y"}));
      k.outputs = {"y"};
      expect_matches_reference(k, 1e-5, 1e-5);
    }
  }
}

TEST(CpuEltwiseInPlace, BothOperandsDie) {
  OpCase k = with_relu({2, 3, 50, 70}, 7);
  k.feeds.push_back({"x2", random_tensor({2, 3, 50, 70}, 8)});
  k.nodes.push_back(graph_node("relu2", "Relu", {"x2"}, {"r2"}));
  k.nodes.push_back(graph_node("add", "Add", {"r", "r2"}, {"y"}));
  k.outputs = {"y"};
  expect_matches_reference(k, 1e-5, 1e-5);
}

TEST(CpuEltwiseInPlace, UnaryOverItsInput) {
  for (const std::string op : {"Sigmoid", "Tanh", "Exp", "Erf", "Relu"}) {
    SCOPED_TRACE(op);
    OpCase k = with_relu({1, 8, 33, 35}, 9);
    k.nodes.push_back(graph_node("u", op, {"r"}, {"y"}));
    k.outputs = {"y"};
    expect_matches_reference(k, 1e-5, 1e-5);
  }
}

// r is read again after the Mul: the Mul may not write over it (the Add, which r's last reader
// is, may write over the Mul's output).
TEST(CpuEltwiseInPlace, OperandReadAgainAfter) {
  OpCase k = with_relu({1, 40, 14, 14}, 11);
  k.feeds.push_back({"g", random_tensor({1, 40, 1, 1}, 12)});
  k.nodes.push_back(graph_node("mul", "Mul", {"r", "g"}, {"m"}));
  k.nodes.push_back(graph_node("sig", "Sigmoid", {"r"}, {"s"}));
  k.nodes.push_back(graph_node("add", "Add", {"m", "s"}, {"y"}));
  k.outputs = {"y", "r"};
  expect_matches_reference(k, 1e-5, 1e-5);
}

// A view of r (Reshape, Identity: its storage shared) is a graph output: the unary op that r
// dies at must not write over the storage the view still holds.
TEST(CpuEltwiseInPlace, ViewOfTheOperandIsNotOverwritten) {
  for (const std::string view : {"Reshape", "Identity", "Flatten"}) {
    SCOPED_TRACE(view);
    OpCase k = with_relu({1, 40, 14, 14}, 13);
    std::vector<std::string> in = {"r"};
    if (view == "Reshape") {
      k.constants.push_back({"shape", Tensor::from_vector<int64_t>(DType::kI64, {2}, {40, -1})});
      in.push_back("shape");
    }
    k.nodes.push_back(graph_node("view", view, in, {"v"}));
    k.nodes.push_back(graph_node("sig", "Sigmoid", {"r"}, {"y"}));
    k.outputs = {"y", "v"};
    expect_matches_reference(k, 1e-5, 1e-5);
  }
}

// The output of an op writing over its input goes into a Concat in place (the Concat's buffer,
// from the second run on): every run matches the reference.
TEST(CpuEltwiseInPlace, OutputOfAConcatInPlace) {
  OpCase k = with_relu({1, 24, 10, 10}, 15);
  k.feeds.push_back({"x2", random_tensor({1, 8, 10, 10}, 16)});
  k.nodes.push_back(graph_node("sig", "Sigmoid", {"r"}, {"a"}));
  k.nodes.push_back(graph_node("relu2", "Relu", {"x2"}, {"b"}));
  ir::Node cat = graph_node("cat", "Concat", {"a", "b"}, {"y"});
  set_attr_i(cat, "axis", 1);
  k.nodes.push_back(cat);
  k.outputs = {"y"};
  const auto want = run_case(k.graph(), k, detect_cpu_features(), 1, true);
  ASSERT_EQ(want.size(), 1u);
  for (int threads = 1; threads <= 2; ++threads) {
    CaseSession s(k.graph(), detect_cpu_features(), threads, false);
    std::vector<runtime::NamedValue> feeds;
    for (const auto& [name, t] : k.feeds) feeds.push_back({name, runtime::Value::of(t)});
    for (int run = 0; run < 3; ++run) {
      const auto got = s.run(feeds);
      ASSERT_EQ(got.size(), 1u);
      EXPECT_TRUE(close(got[0], want[0], 1e-5, 1e-5)) << threads << " threads, run " << run;
    }
  }
}

// A branch of an If reads r from the enclosing graph and r dies there (in the branch's plan);
// the enclosing graph still holds r and reads it after the If: r must come through unchanged.
TEST(CpuEltwiseInPlace, OuterValueReadInASubgraph) {
  auto branch = [](const std::string& op) {
    auto g = std::make_shared<ir::Graph>();
    g->name = op;
    g->opsets[""] = 17;
    g->nodes.push_back(graph_node("b", op, {"r"}, {"t"}));
    ir::ValueInfo vi;
    vi.name = "t";
    vi.type.kind = ir::ValueKind::kUnknown;
    g->outputs.push_back(vi);
    return g;
  };
  for (bool cond : {true, false}) {
    SCOPED_TRACE(cond ? "then" : "else");
    OpCase k = with_relu({1, 40, 14, 14}, 17);
    k.feeds.push_back({"cond", Tensor::from_vector<uint8_t>(DType::kBool, {}, {uint8_t(cond ? 1 : 0)})});
    ir::Node n = graph_node("if", "If", {"cond"}, {"i"});
    using Branch = std::pair<std::string, std::string>;
    for (const auto& [name, op] : {Branch{"then_branch", "Sigmoid"}, Branch{"else_branch", "Exp"}}) {
      n.attributes[name].name = name;
      n.attributes[name].type = ir::AttrType::kGraph;
      n.attributes[name].g = branch(op);
    }
    k.nodes.push_back(n);
    k.nodes.push_back(graph_node("add", "Add", {"i", "r"}, {"y"}));  // r read after the If
    k.outputs = {"y"};
    expect_matches_reference(k, 1e-5, 1e-5);
  }
}

}  // namespace
}  // namespace edgeai::testing
