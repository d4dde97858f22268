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
  for (const std::string& op : {"Mul", "Add", "Sub", "Div"}) {
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
  for (const std::string& op : {"Sigmoid", "Tanh", "Exp", "Erf", "Relu"}) {
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

}  // namespace
}  // namespace edgeai::testing
