// Optimized Gemm / FusedGemm / MatMul (kernels/cpu/matmul.cc, gemm.cc) against the reference
// kernels, on every ISA table and 1-3 threads, with M, N, K around the register and cache
// blocks (1, 7, 17, 63, 65, ... and K past one depth block).
#include "kernels/cpu_test_util.h"

namespace edgeai::testing {
namespace {

TEST(CpuGemm, ShapesAndTails) {
  const std::vector<std::array<int64_t, 3>> mnk = {
      {1, 1, 1}, {1, 10, 512}, {7, 17, 63}, {65, 33, 5}, {17, 65, 7}, {63, 49, 130},
      {8, 48, 384}, {9, 49, 385}, {130, 70, 300}, {3, 200, 1000}, {33, 97, 800},
      {200, 300, 100}, {512, 49, 600},  // large enough to split over threads
      {1, 1000, 1280},                   // a classifier: packed B past 2 MiB (AlignedFloats::weights)
  };
  uint32_t seed = 1;
  for (const auto& [m, n, k] : mnk) {
    for (int ta = 0; ta <= 1; ++ta) {
      for (int tb = 0; tb <= 1; ++tb) {
        SCOPED_TRACE("gemm " + std::to_string(m) + "x" + std::to_string(n) + "x" + std::to_string(k) + " tA " +
                     std::to_string(ta) + " tB " + std::to_string(tb));
        OpCase c = OpCase::single("Gemm");
        c.input(random_tensor(ta ? Shape{k, m} : Shape{m, k}, seed++));
        c.constant(random_tensor(tb ? Shape{n, k} : Shape{k, n}, seed++));
        c.constant(random_tensor({n}, seed++));
        c.attr_i("transA", ta).attr_i("transB", tb);
        expect_matches_reference(c, 1e-5, 1e-5);
      }
    }
  }
}

TEST(CpuGemm, AlphaBetaAndBiasShapes) {
  const int64_t m = 11, n = 19, k = 23;
  const std::vector<Shape> bias_shapes = {{}, {1}, {n}, {1, n}, {m, 1}, {m, n}};
  uint32_t seed = 50;
  for (const Shape& bs : bias_shapes) {
    SCOPED_TRACE("C shape " + shape_str(bs));
    OpCase c = OpCase::single("Gemm");
    c.input(random_tensor({m, k}, seed++)).constant(random_tensor({k, n}, seed++)).constant(random_tensor(bs, seed++));
    c.attr_f("alpha", 0.5f).attr_f("beta", -2.0f);
    expect_matches_reference(c, 1e-5, 1e-5);
  }
  OpCase no_c = OpCase::single("Gemm");
  no_c.input(random_tensor({m, k}, 1)).constant(random_tensor({k, n}, 2)).attr_f("alpha", 3.0f);
  expect_matches_reference(no_c);
}

TEST(CpuGemm, FusedGemmActivations) {
  for (const std::string act : {"Relu", "Sigmoid", "GELU", "LeakyRelu"}) {
    SCOPED_TRACE(act);
    OpCase f = OpCase::single("FusedGemm", "com.edgeai");
    f.input(random_tensor({5, 40}, 3)).constant(random_tensor({40, 30}, 4)).constant(random_tensor({30}, 5));
    f.attr_s("activation", act);
    if (act == "LeakyRelu") f.attr_floats("activation_params", {0.2f});
    OpCase ref = OpCase::single("Gemm");
    ref.opset = 20;
    ref.input(random_tensor({5, 40}, 3)).constant(random_tensor({40, 30}, 4)).constant(random_tensor({30}, 5));
    ref.node().outputs = {"g"};
    ir::Node a;
    a.name = "act";
    a.op_type = act == "GELU" ? "Gelu" : act;
    a.inputs = {"g"};
    a.outputs = {"out"};
    if (act == "LeakyRelu") {
      ir::Attribute at;
      at.name = "alpha";
      at.type = ir::AttrType::kFloat;
      at.f = 0.2f;
      a.attributes["alpha"] = at;
    }
    ref.nodes.push_back(a);
    expect_matches_reference(f, 1e-5, 1e-5, &ref);
  }
}

TEST(CpuMatMul, ConstantWeights) {
  const std::vector<std::pair<Shape, Shape>> cases = {
      {{1, 128, 256}, {256, 96}}, {{7, 33}, {33, 65}}, {{33}, {33, 17}}, {{2, 3, 5, 9}, {9, 1}}, {{4, 0}, {0, 6}},
  };
  uint32_t seed = 70;
  for (const auto& [as, bs] : cases) {
    SCOPED_TRACE("matmul " + shape_str(as) + " x " + shape_str(bs));
    OpCase c = OpCase::single("MatMul");
    c.input(random_tensor(as, seed++)).constant(random_tensor(bs, seed++));
    expect_matches_reference(c, 1e-5, 1e-5);
  }
}

TEST(CpuMatMul, BatchedActivations) {
  const std::vector<std::pair<Shape, Shape>> cases = {
      {{4, 128, 64}, {4, 64, 128}},   // attention scores
      {{4, 128, 128}, {4, 128, 64}},  // attention context
      {{2, 3, 7, 9}, {3, 9, 5}},      // batch broadcast of B
      {{7, 9}, {2, 9, 5}},            // batch broadcast of A
      {{2, 1, 6, 4}, {1, 3, 4, 50}},  // both broadcast
      {{3, 17, 1}, {3, 1, 19}},       // K = 1
  };
  uint32_t seed = 90;
  for (const auto& [as, bs] : cases) {
    SCOPED_TRACE("matmul " + shape_str(as) + " x " + shape_str(bs));
    OpCase c = OpCase::single("MatMul");
    c.input(random_tensor(as, seed++)).input(random_tensor(bs, seed++));
    expect_matches_reference(c, 1e-5, 1e-5);
  }
}

}  // namespace
}  // namespace edgeai::testing
