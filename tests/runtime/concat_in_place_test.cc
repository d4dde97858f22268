// Concat in place (runtime/graph_plan.h): producers write straight into the Concat's output once
// a run has shown the layout. Oracle: the same branches run as graph outputs of a graph without
// the Concat, concatenated here. Each session runs several times (the first learns the layout,
// later ones go in place), with changing input shapes, at 1 and 2 threads, fast and reference.
#include "compress/quantize/graph_edit.h"
#include "kernels/cpu_test_util.h"

namespace edgeai::testing {
namespace {

using compress::make_node;

// A squeezenet fire module's tail: x -> Conv 1x1 -> Relu (a), x -> Conv 3x3 pad 1 (b), and a third
// branch c picked by `third`: "relu" (Relu of x), "identity" (x forwarded by Identity: not
// allocated by its producer), "shared" (Relu whose output also feeds an Add that is a graph
// output: read twice, so never in place). Concat(a, b, c) on `axis` is the output "y"; with
// `concat` false, a, b and c are the outputs instead.
OpCase fire(int64_t c, int64_t m1, int64_t m3, int64_t axis, const std::string& third, bool concat) {
  OpCase o;
  o.feeds.push_back({"x", Tensor()});  // declares the input; each run feeds its own
  o.constants.push_back({"w1", random_tensor({m1, c, 1, 1}, 11)});
  o.constants.push_back({"b1", random_tensor({m1}, 12)});
  o.constants.push_back({"w3", random_tensor({m3, c, 3, 3}, 13)});
  o.constants.push_back({"b3", random_tensor({m3}, 14)});
  o.nodes.push_back(make_node("conv1", "Conv", {"x", "w1", "b1"}, {"a0"}));
  o.nodes.push_back(make_node("relu1", "Relu", {"a0"}, {"a"}));
  ir::Node conv3 = make_node("conv3", "Conv", {"x", "w3", "b3"}, {"b"});
  conv3.attributes["pads"].name = "pads";
  conv3.attributes["pads"].type = ir::AttrType::kInts;
  conv3.attributes["pads"].ints = {1, 1, 1, 1};
  o.nodes.push_back(conv3);
  if (third == "identity") {
    o.nodes.push_back(make_node("third", "Identity", {"x"}, {"c"}));
  } else {
    o.nodes.push_back(make_node("third", "Relu", {"x"}, {"c"}));
  }
  if (concat) {
    ir::Node cat = make_node("cat", "Concat", {"a", "b", "c"}, {"y"});
    compress::set_int_attr(cat, "axis", axis);
    o.nodes.push_back(cat);
    o.outputs = {"y"};
  } else {
    o.outputs = {"a", "b", "c"};
  }
  if (third == "shared") {
    o.nodes.push_back(make_node("add", "Add", {"c", "c"}, {"z"}));
    o.outputs.push_back("z");
  }
  return o;
}

// Concatenation of `parts` on `axis` (the oracle).
Tensor concat(const std::vector<Tensor>& parts, int64_t axis) {
  Shape s = parts[0].shape();
  if (axis < 0) axis += static_cast<int64_t>(s.size());
  s[axis] = 0;
  for (const Tensor& p : parts) s[axis] += p.dim(static_cast<int>(axis));
  Tensor y = Tensor::create(DType::kF32, s).value();
  int64_t outer = 1, inner_y = 1;
  for (int64_t d = 0; d < axis; ++d) outer *= s[d];
  for (size_t d = axis; d < s.size(); ++d) inner_y *= s[d];
  int64_t at = 0;
  for (const Tensor& p : parts) {
    const int64_t inner = p.numel() / outer;
    for (int64_t o = 0; o < outer; ++o) {
      std::copy(p.data<float>() + o * inner, p.data<float>() + (o + 1) * inner, y.data<float>() + o * inner_y + at);
    }
    at += inner;
  }
  return y;
}

struct Runner : CaseSession {
  Runner(const OpCase& c, int threads, bool reference, const CpuFeatures& cpu = detect_cpu_features())
      : CaseSession(c.graph(), cpu, threads, reference) {}
  std::vector<Tensor> run(const Tensor& x) { return CaseSession::run({{"x", runtime::Value::of(x)}}); }
  // Whether the last profiled runs of the Concat copied nothing (its kernel did not run).
  bool concat_in_place() const {
    for (const auto& p : session->profile()) {
      if (p.op_type == "Concat") return p.calls > 0 && p.total_ms == 0.0;
    }
    return false;
  }
};

// Runs `shapes` in turn (each twice) through the Concat graph and the oracle's; `in_place` says
// whether the second run of each shape must go in place.
void check(int64_t m1, int64_t m3, int64_t axis, const std::string& third, const std::vector<Shape>& shapes,
           bool in_place) {
  for (bool reference : {false, true}) {
    for (int threads = 1; threads <= 2; ++threads) {
      const int64_t c = shapes[0][1];
      Runner with(fire(c, m1, m3, axis, third, true), threads, reference);
      Runner without(fire(c, m1, m3, axis, third, false), threads, reference);
      ASSERT_TRUE(with.session && without.session);
      uint32_t seed = 1;
      for (const Shape& s : shapes) {
        for (int r = 0; r < 3; ++r) {
          const Tensor x = random_tensor(s, seed++);
          const std::vector<Tensor> parts = without.run(x);
          ASSERT_GE(parts.size(), 3u);
          with.session->set_profiling(r == 2);
          const std::vector<Tensor> got = with.run(x);
          ASSERT_GE(got.size(), 1u);
          const std::string what = shape_str(s) + " run " + std::to_string(r) + ", " + std::to_string(threads) +
                                   " threads" + (reference ? ", reference" : "");
          EXPECT_TRUE(bitwise_equal(got[0], concat({parts[0], parts[1], parts[2]}, axis))) << what;
          if (third == "shared") EXPECT_TRUE(bitwise_equal(got[1], parts[3])) << what;
        }
        EXPECT_EQ(with.concat_in_place(), in_place) << shape_str(s) << ", " << threads << " threads";
      }
    }
  }
}

TEST(ConcatInPlace, FireModuleWritesIntoTheConcat) {
  // 16 x 8 x 8 floats per branch: offsets on 64-byte boundaries. The shapes change and come back.
  check(16, 16, 1, "relu", {{1, 16, 8, 8}, {1, 16, 5, 4}, {1, 16, 8, 8}}, true);
  check(16, 32, -3, "relu", {{1, 16, 6, 6}}, true);
}

TEST(ConcatInPlace, FallsBackToCopying) {
  check(3, 5, 1, "relu", {{1, 4, 7, 9}}, false);        // offsets off the 64-byte alignment
  check(16, 16, 1, "relu", {{2, 16, 8, 8}}, false);     // batch 2 on axis 1: inputs not contiguous
  check(16, 16, 1, "identity", {{1, 16, 8, 8}}, false);  // c is x itself
  check(16, 16, 1, "shared", {{1, 16, 8, 8}}, false);    // c is read twice
  check(16, 16, 2, "relu", {{1, 16, 8, 8}}, false);      // axis 2 with batch 1 and 16 channels
}

// Five kernels each write one input of a Concat whose order is the reverse of theirs: every
// producer's region lies just before one already written, so a store past the end of its output
// (the arena's rounding would hide it elsewhere) corrupts a neighbour and fails the comparison.
// 16 channels of 7 x 9: odd rows and planes for the kernels' tails, regions on 64-byte
// boundaries. Every ISA table, 1-3 threads.
OpCase reversed_producers(bool concat) {
  OpCase o;
  o.feeds.push_back({"x", Tensor()});
  o.constants.push_back({"w1", random_tensor({16, 16, 1, 1}, 21)});
  o.constants.push_back({"w3", random_tensor({16, 16, 3, 3}, 22)});
  o.constants.push_back({"wd", random_tensor({16, 1, 3, 3}, 23)});
  o.constants.push_back({"bd", random_tensor({16}, 24)});
  auto pads = [](ir::Node& n) {
    n.attributes["pads"].name = "pads";
    n.attributes["pads"].type = ir::AttrType::kInts;
    n.attributes["pads"].ints = {1, 1, 1, 1};
  };
  o.nodes.push_back(make_node("pointwise", "Conv", {"x", "w1"}, {"p0"}));
  o.nodes.push_back(make_node("conv3", "Conv", {"x", "w3"}, {"p1"}));
  pads(o.nodes.back());
  o.nodes.push_back(make_node("depthwise", "Conv", {"x", "wd", "bd"}, {"p2"}));
  pads(o.nodes.back());
  compress::set_int_attr(o.nodes.back(), "group", 16);
  o.nodes.push_back(make_node("pool", "MaxPool", {"x"}, {"p3"}));
  pads(o.nodes.back());
  o.nodes.back().attributes["kernel_shape"] = o.nodes.back().attributes["pads"];
  o.nodes.back().attributes["kernel_shape"].name = "kernel_shape";
  o.nodes.back().attributes["kernel_shape"].ints = {3, 3};
  o.nodes.push_back(make_node("sigmoid", "Sigmoid", {"x"}, {"p4"}));
  if (concat) {
    o.nodes.push_back(make_node("cat", "Concat", {"p4", "p3", "p2", "p1", "p0"}, {"y"}));
    compress::set_int_attr(o.nodes.back(), "axis", 1);
    o.outputs = {"y"};
  } else {
    o.outputs = {"p4", "p3", "p2", "p1", "p0"};
  }
  return o;
}

TEST(ConcatInPlace, ProducersStayInsideTheirRegion) {
  for (const CpuFeatures& cpu : isa_variants()) {
    for (int threads = 1; threads <= 3; ++threads) {
      const std::string what = std::string(kernels::cpu::ukernels_for(cpu).name) + ", " + std::to_string(threads) +
                               " threads";
      Runner with(reversed_producers(true), threads, false, cpu);
      Runner without(reversed_producers(false), threads, false, cpu);
      ASSERT_TRUE(with.session && without.session);
      for (int r = 0; r < 3; ++r) {
        const Tensor x = random_tensor({1, 16, 7, 9}, 30 + r);
        const std::vector<Tensor> parts = without.run(x);
        ASSERT_EQ(parts.size(), 5u);
        with.session->set_profiling(r == 2);
        const std::vector<Tensor> got = with.run(x);
        ASSERT_EQ(got.size(), 1u);
        EXPECT_TRUE(bitwise_equal(got[0], concat(parts, 1))) << what << ", run " << r;
      }
      EXPECT_TRUE(with.concat_in_place()) << what;
    }
  }
}

}  // namespace
}  // namespace edgeai::testing
