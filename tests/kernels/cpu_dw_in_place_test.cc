// A depthwise conv whose input dies at it writes its output over the input
// (KernelContext::allocate_output_over_input, conv.cc): the input made by another node (Relu) and
// read by nothing after the conv; and the cases where it must not (the input read again later, a
// graph output, a graph input the caller holds). Against the reference kernels, every ISA table
// and 1-3 threads: with row stride 1, a block split between two threads goes in place too (each
// half leaving the rows the other's window reads to a side buffer, conv.cc); where the window
// reaches past half the plane, only whole blocks that split evenly over the threads do.
#include <thread>

#include "kernels/cpu_test_util.h"

namespace edgeai::testing {
namespace {

// Relu(x) -> r; depthwise 3x3 pad 1 of r -> y (FusedConv with Clip, and a residual z when asked).
OpCase relu_then_dw(int64_t n, int64_t c, int64_t h, int64_t w, bool residual, uint32_t seed) {
  OpCase k;
  k.feeds.push_back({"x", random_tensor({n, c, h, w}, seed)});
  k.constants.push_back({"w", random_tensor({c, 1, 3, 3}, seed + 1)});
  k.constants.push_back({"b", random_tensor({c}, seed + 2)});
  k.nodes.push_back(graph_node("relu", "Relu", {"x"}, {"r"}));
  std::vector<std::string> in = {"r", "w", "b"};
  if (residual) {
    k.feeds.push_back({"z", random_tensor({n, c, h, w}, seed + 3)});
    in.push_back("z");
  }
  ir::Node dw = graph_node("dw", "FusedConv", in, {"y"}, "com.edgeai");
  set_attr_ints(dw, "pads", {1, 1, 1, 1});
  set_attr_i(dw, "group", c);
  set_attr_s(dw, "activation", "Clip");
  set_attr_floats(dw, "activation_params", {0.0f, 6.0f});
  k.nodes.push_back(dw);
  k.outputs = {"y"};
  return k;
}

struct Plane {
  int64_t n, c, h, w;
};
const Plane kPlanes[] = {
    {1, 384, 14, 14},  // 24 blocks of 16: whole blocks on 1, 2 and 3 threads
    {1, 960, 7, 7},    // 60 blocks
    {1, 40, 14, 14},   // 3 blocks (the last partial): the middle one split on 2 threads
    {1, 144, 20, 20},  // 9 blocks: 4.5 + 4.5 on 2 threads, 3 + 3 + 3 on 3
    {1, 48, 1, 9},     // one row: no split (the window reaches past half); whole blocks on 3 threads only
    {1, 32, 28, 28},   // 2 blocks
    {2, 48, 9, 11},    // batch 2, odd plane
    {1, 32, 112, 112}, // bands of rows (AVX-512): each band keeps the input rows the one before replaced
    {1, 144, 56, 56},  // mobilenet_v2's 9 blocks: 4.5 + 4.5 on 2 threads, 3 + 3 + 3 on 3
    {1, 20, 70, 75},   // bands, a partial block
};

TEST(CpuDwInPlace, InputDyingAtTheConv) {
  uint32_t seed = 11;
  for (const Plane& p : kPlanes) {
    for (bool residual : {false, true}) {
      SCOPED_TRACE("c " + std::to_string(p.c) + " " + std::to_string(p.h) + "x" + std::to_string(p.w) +
                   (residual ? " residual" : ""));
      expect_matches_reference(relu_then_dw(p.n, p.c, p.h, p.w, residual, seed += 5), 1e-5, 1e-5);
    }
  }
}

TEST(CpuDwInPlace, InputReadAgainAfterTheConv) {
  uint32_t seed = 71;
  for (const Plane& p : kPlanes) {
    SCOPED_TRACE("c " + std::to_string(p.c));
    OpCase k = relu_then_dw(p.n, p.c, p.h, p.w, false, seed += 5);
    k.nodes.push_back(graph_node("add", "Add", {"r", "y"}, {"s"}));  // r read after the conv
    k.outputs = {"s"};
    expect_matches_reference(k, 1e-5, 1e-5);
  }
}

TEST(CpuDwInPlace, InputIsAGraphOutput) {
  uint32_t seed = 131;
  for (const Plane& p : kPlanes) {
    SCOPED_TRACE("c " + std::to_string(p.c));
    OpCase k = relu_then_dw(p.n, p.c, p.h, p.w, false, seed += 5);
    k.outputs = {"y", "r"};
    expect_matches_reference(k, 1e-5, 1e-5);
  }
}

// The conv reads a graph input directly: the caller's tensor must come back unchanged.
TEST(CpuDwInPlace, GraphInputIsNotOverwritten) {
  OpCase k = relu_then_dw(1, 384, 14, 14, false, 201);
  k.nodes.erase(k.nodes.begin());
  k.nodes[0].inputs[0] = "x";
  const Tensor before = k.feeds[0].second.clone();
  expect_matches_reference(k, 1e-5, 1e-5);
  EXPECT_TRUE(bitwise_equal(k.feeds[0].second, before));
}

// Other windows whose output has the input's shape (so in place): 5x5, 7x7 (the generic taps),
// dilation 2, 1x1, 3x1, asymmetric pads (all top, all bottom), on planes that run in one band
// and in bands (112 x 112 on AVX-512).
struct Window {
  int64_t kh, kw, dil;
  std::vector<int64_t> pads;
};
TEST(CpuDwInPlace, OtherWindows) {
  const Window kWindows[] = {
      {5, 5, 1, {2, 2, 2, 2}}, {7, 7, 1, {3, 3, 3, 3}}, {3, 3, 2, {2, 2, 2, 2}}, {1, 1, 1, {0, 0, 0, 0}},
      {3, 1, 1, {1, 0, 1, 0}}, {3, 3, 1, {2, 0, 0, 2}}, {3, 3, 1, {0, 2, 2, 0}}, {5, 5, 1, {4, 2, 0, 2}},
      {5, 5, 1, {0, 1, 4, 3}},
  };
  const Plane kShapes[] = {{1, 48, 14, 14}, {1, 20, 56, 56}, {1, 16, 112, 112}, {2, 24, 30, 33}};
  uint32_t seed = 301;
  for (const Window& win : kWindows) {
    for (const Plane& p : kShapes) {
      SCOPED_TRACE(std::to_string(win.kh) + "x" + std::to_string(win.kw) + " d" + std::to_string(win.dil) +
                   " pads " + std::to_string(win.pads[0]) + "," + std::to_string(win.pads[1]) + "," +
                   std::to_string(win.pads[2]) + "," + std::to_string(win.pads[3]) + " c " + std::to_string(p.c) +
                   " " + std::to_string(p.h) + "x" + std::to_string(p.w));
      OpCase k = relu_then_dw(p.n, p.c, p.h, p.w, false, seed += 5);
      k.constants[0].second = random_tensor({p.c, 1, win.kh, win.kw}, seed + 1);
      set_attr_ints(k.nodes[1], "pads", win.pads);
      set_attr_ints(k.nodes[1], "dilations", {win.dil, win.dil});
      expect_matches_reference(k, 1e-5, 1e-5);
    }
  }
}

// Two sessions over one graph run at once from two threads, fed the same caller tensor, which
// the first node (the conv, reading it directly) must not write over; the second conv writes
// over the first one's output (each run's own).
TEST(CpuDwInPlace, SessionsRunningAtOnceShareTheCallersInput) {
  OpCase k = relu_then_dw(1, 64, 14, 14, false, 401);
  k.nodes.erase(k.nodes.begin());
  k.nodes[0].inputs[0] = "x";
  k.nodes[0].outputs = {"d"};
  ir::Node second = k.nodes[0];
  second.name = "dw2";
  second.inputs[0] = "d";
  second.outputs = {"y"};
  k.nodes.push_back(second);
  const Tensor before = k.feeds[0].second.clone();
  const auto want = run_case(k.graph(), k, detect_cpu_features(), 1, true);
  ASSERT_EQ(want.size(), 1u);
  const std::vector<runtime::NamedValue> feeds = {{"x", runtime::Value::of(k.feeds[0].second)}};
  std::vector<std::unique_ptr<CaseSession>> sessions;
  for (int i = 0; i < 2; ++i) {
    sessions.push_back(std::make_unique<CaseSession>(k.graph(), detect_cpu_features(), 1, false));
  }
  std::vector<int> mismatches(2, 0);
  std::vector<std::thread> threads;
  for (int i = 0; i < 2; ++i) {
    threads.emplace_back([&, i] {
      for (int run = 0; run < 50; ++run) {
        const auto got = sessions[i]->run(feeds);
        if (got.size() != 1 || !close(got[0], want[0], 1e-5, 1e-5)) ++mismatches[i];
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(mismatches[0] + mismatches[1], 0);
  EXPECT_TRUE(bitwise_equal(k.feeds[0].second, before));
}

}  // namespace
}  // namespace edgeai::testing
