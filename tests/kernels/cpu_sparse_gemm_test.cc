// The sparse-weight GEMM (kernels/cpu/sparse_gemm.*) against a plain double-precision product of
// the dense weights (the oracle) on every ISA's kernel, 1-3 threads, odd shapes and tails,
// sparsities 0-100% and bias / activation; then Gemm / FusedGemm / MatMul with pruned constant
// weights through the session (which takes the sparse path) against the reference kernels.
#include "kernels/cpu/sparse_gemm.h"

#include <algorithm>

#include "kernels/cpu_test_util.h"

namespace edgeai::testing {
namespace {

using namespace kernels::cpu;

// A random R x K matrix with a fraction `zeros` of its entries zero (rows listed in
// `zero_rows` entirely zero).
std::vector<float> sparse_matrix(int64_t r, int64_t k, double zeros, uint32_t seed, int64_t zero_row_every = 0) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> d(-1.0f, 1.0f);
  std::uniform_real_distribution<double> u(0.0, 1.0);
  std::vector<float> w(static_cast<size_t>(r * k));
  for (int64_t i = 0; i < r; ++i) {
    for (int64_t j = 0; j < k; ++j) {
      const bool zero = (zero_row_every > 0 && i % zero_row_every == 0) || u(rng) < zeros;
      w[i * k + j] = zero ? 0.0f : d(rng);
    }
  }
  return w;
}

float apply(const Activation& act, float v) {
  if (act.kind == ActKind::kRelu) return std::max(v, 0.0f);
  if (act.kind == ActKind::kClip) return std::min(std::max(v, act.alpha), act.beta);
  return v;
}

struct Shape3 {
  int64_t r, k, n;
};

TEST(CpuSparseGemm, EachIsaKernelMatchesDenseProduct) {
  const std::vector<Shape3> shapes = {{1, 1, 1},   {7, 13, 1},   {10, 784, 1}, {33, 65, 3},  {17, 31, 16},
                                      {9, 40, 17}, {5, 100, 63}, {64, 144, 64}, {3, 7, 129}, {128, 300, 1}};
  const std::vector<double> sparsities = {0.0, 0.5, 0.9, 1.0};
  Activation relu{ActKind::kRelu};
  Activation clip{ActKind::kClip, -0.5f, 0.5f};
  uint32_t seed = 1;
  for (const auto& s : shapes) {
    for (double z : sparsities) {
      for (int variant = 0; variant < 3; ++variant) {
        SCOPED_TRACE(std::to_string(s.r) + "x" + std::to_string(s.k) + "x" + std::to_string(s.n) + " zeros " +
                     std::to_string(z) + " variant " + std::to_string(variant));
        const std::vector<float> w = sparse_matrix(s.r, s.k, z, ++seed, variant == 2 ? 3 : 0);
        const Tensor b = random_tensor({s.k, s.n}, ++seed);
        const Tensor bias = random_tensor({s.r}, ++seed);
        const bool with_bias = variant != 0;
        const Activation act = variant == 0 ? Activation{} : variant == 1 ? relu : clip;
        std::vector<double> want(static_cast<size_t>(s.r * s.n));
        double maxabs = 0;
        for (int64_t i = 0; i < s.r; ++i) {
          for (int64_t j = 0; j < s.n; ++j) {
            double acc = with_bias ? bias.data<float>()[i] : 0.0;
            for (int64_t kk = 0; kk < s.k; ++kk) acc += double(w[i * s.k + kk]) * b.data<float>()[kk * s.n + j];
            want[i * s.n + j] = apply(act, static_cast<float>(acc));
            maxabs = std::max(maxabs, std::fabs(acc));
          }
        }
        for (const CpuFeatures& cpu : isa_variants()) {
          const UKernels& uk = ukernels_for(cpu);
          SparseWeights sw = sparse_pack(w.data(), s.k, 1, s.r, s.k);
          ASSERT_EQ(sw.rows, s.r);
          EXPECT_EQ(sw.nnz(), std::count_if(w.begin(), w.end(), [](float v) { return v != 0.0f; }));
          std::vector<float> first;
          for (int threads = 1; threads <= 3; ++threads) {
            ThreadPool pool(threads);
            std::vector<float> out(static_cast<size_t>(s.r * s.n), -77.0f);
            SparseGemmArgs a;
            a.w = &sw;
            a.b = b.data<float>();
            a.ldb = s.n;
            a.n = s.n;
            a.out = out.data();
            a.ldo = s.n;
            a.bias = with_bias ? bias.data<float>() : nullptr;
            a.act = act;
            sparse_gemm(uk, uk.sparse_gemm, &pool, a);
            for (size_t i = 0; i < out.size(); ++i) {
              ASSERT_NEAR(out[i], want[i], 1e-5 * maxabs + 1e-5 * std::fabs(want[i]) + 1e-30)
                  << uk.name << ", " << threads << " threads, element " << i;
            }
            if (threads == 1) first = out;
            else EXPECT_EQ(out, first) << uk.name << ": " << threads << " threads differ from 1";
          }
        }
      }
    }
  }
}

// B's column with a stride (N = 1, ldb > 1): the scalar path.
TEST(CpuSparseGemm, VectorWithStride) {
  const std::vector<float> w = sparse_matrix(5, 9, 0.5, 3);
  const Tensor b = random_tensor({9, 4}, 4);
  SparseWeights sw = sparse_pack(w.data(), 9, 1, 5, 9);
  for (const CpuFeatures& cpu : isa_variants()) {
    const UKernels& uk = ukernels_for(cpu);
    std::vector<float> out(5 * 2, -1.0f);
    SparseGemmArgs a;
    a.w = &sw;
    a.b = b.data<float>() + 1;
    a.ldb = 4;
    a.n = 1;
    a.out = out.data();
    a.ldo = 2;
    sparse_gemm(uk, uk.sparse_gemm, nullptr, a);
    for (int64_t i = 0; i < 5; ++i) {
      double acc = 0;
      for (int64_t k = 0; k < 9; ++k) acc += double(w[i * 9 + k]) * b.data<float>()[k * 4 + 1];
      EXPECT_NEAR(out[i * 2], acc, 1e-5) << uk.name;
      EXPECT_EQ(out[i * 2 + 1], -1.0f) << uk.name;
    }
  }
}

// Sparse form only from the threshold on; the CSR of a transposed view.
TEST(CpuSparseGemm, PrepareChoosesBySparsity) {
  const UKernels& uk = ukernels_portable();
  const std::vector<float> dense = sparse_matrix(16, 32, 0.5, 9);
  EXPECT_FALSE(prepare_sparse(uk, dense.data(), 32, 1, 16, 32).ready());
  const std::vector<float> w80 = sparse_matrix(16, 32, 0.8, 11);
  EXPECT_FALSE(prepare_sparse(uk, w80.data(), 32, 1, 16, 32).ready());
  EXPECT_TRUE(prepare_sparse(uk, w80.data(), 32, 1, 16, 32, 1.0f, 0.7).ready());
  const std::vector<float> w = sparse_matrix(16, 32, 0.95, 10);
  const SparseChoice c = prepare_sparse(uk, w.data(), 1, 32, 32, 16, 2.0f);  // the transpose, scaled
  ASSERT_TRUE(c.ready());
  EXPECT_EQ(c.w.rows, 32);
  EXPECT_EQ(c.w.cols, 16);
  for (int64_t r = 0; r < 32; ++r) {
    for (int64_t p = c.w.row_ptr[r]; p < c.w.row_ptr[r + 1]; ++p) {
      EXPECT_EQ(c.w.val[p], 2.0f * w[c.w.col[p] * 32 + r]);
    }
  }
  EXPECT_DOUBLE_EQ(zero_fraction(w.data(), 32, 1, 0, 32), 0.0);
}

ir::Node node(const std::string& op, std::vector<std::string> inputs, const std::string& out) {
  ir::Node n;
  n.name = out + "_node";
  n.op_type = op;
  n.inputs = std::move(inputs);
  n.outputs = {out};
  return n;
}

Tensor pruned_tensor(Shape shape, double zeros, uint32_t seed) {
  Tensor t = Tensor::create(DType::kF32, shape).value();
  const std::vector<float> v = sparse_matrix(1, t.numel(), zeros, seed);
  std::copy(v.begin(), v.end(), t.data<float>());
  return t;
}

TEST(CpuSparseGemm, GemmWithPrunedWeightsMatchesReference) {
  for (int64_t m : {1, 2, 5, 17}) {
    for (int tb = 0; tb <= 1; ++tb) {
      for (int bias = 0; bias <= 2; ++bias) {
        SCOPED_TRACE("m " + std::to_string(m) + " transB " + std::to_string(tb) + " bias " + std::to_string(bias));
        const int64_t k = 67, n = 23;
        OpCase c = OpCase::single("Gemm");
        c.input(random_tensor({m, k}, 11));
        c.constant(pruned_tensor(tb ? Shape{n, k} : Shape{k, n}, 0.95, 12));
        if (bias == 1) c.constant(random_tensor({n}, 13));
        if (bias == 2) c.constant(random_tensor({1, n}, 14));
        c.attr_i("transB", tb);
        c.attr_f("alpha", 0.75f);
        c.attr_f("beta", 1.5f);
        expect_matches_reference(c, 1e-5, 1e-5);
      }
    }
  }
}

TEST(CpuSparseGemm, GemmTransAAndFusedActivationMatchReference) {
  OpCase c = OpCase::single("Gemm");
  c.input(random_tensor({40, 6}, 21));  // A^T: K x M
  c.constant(pruned_tensor({40, 33}, 0.95, 22));
  c.constant(random_tensor({33}, 23));
  c.attr_i("transA", 1);
  expect_matches_reference(c, 1e-5, 1e-5);

  for (int64_t m : {1, 3}) {
    OpCase f = OpCase::single("FusedGemm", "com.edgeai");
    f.input(random_tensor({m, 50}, 24));
    f.constant(pruned_tensor({50, 20}, 0.95, 25));
    f.constant(random_tensor({20}, 26));
    f.attr_s("activation", "Relu");
    OpCase r = OpCase::single("Gemm");
    r.input(random_tensor({m, 50}, 24));
    r.constant(pruned_tensor({50, 20}, 0.95, 25));
    r.constant(random_tensor({20}, 26));
    r.node().outputs = {"g"};
    r.nodes.push_back(node("Relu", {"g"}, "out"));
    expect_matches_reference(f, 1e-5, 1e-5, &r);
  }
}

TEST(CpuSparseGemm, MatMulWithPrunedWeightsMatchesReference) {
  for (const Shape& a : {Shape{1, 96}, Shape{96}, Shape{2, 3, 96}, Shape{9, 96}}) {
    SCOPED_TRACE(shape_str(a));
    OpCase c = OpCase::single("MatMul");
    c.input(random_tensor(a, 31));
    c.constant(pruned_tensor({96, 37}, 0.95, 32));
    expect_matches_reference(c, 1e-5, 1e-5);
  }
}

// A pruned MLP (Gemm -> Relu -> Gemm, 95% of the weights zero, batch 1 and 4) through the session
// against the reference kernels.
TEST(CpuSparseGemm, PrunedMlpMatchesReference) {
  for (int64_t batch : {1, 4}) {
    OpCase c = OpCase::single("Gemm");
    c.input(random_tensor({batch, 784}, 41));
    c.constant(pruned_tensor({128, 784}, 0.95, 42));
    c.constant(random_tensor({128}, 43));
    c.attr_i("transB", 1);
    c.node().outputs = {"h"};
    c.nodes.push_back(node("Relu", {"h"}, "hr"));
    ir::Node fc = node("Gemm", {"hr", "w2", "b2"}, "out");
    fc.attributes["transB"] = c.node().attributes["transB"];
    c.nodes.push_back(fc);
    c.constants.push_back({"w2", pruned_tensor({10, 128}, 0.95, 44)});
    c.constants.push_back({"b2", random_tensor({10}, 45)});
    expect_matches_reference(c, 1e-5, 1e-5);
  }
}

}  // namespace
}  // namespace edgeai::testing

namespace edgeai::testing {
namespace {

using namespace kernels::cpu;

struct SparseConvSpec {
  int64_t n, c, h, w, m, kh, kw, s, p;
  double zeros;
};

// Conv / FusedConv with pruned weights (group 1, im2col from the phase planes or a pointwise conv
// read in place; 70% zeros or more take the sparse kernel) against the reference Conv, every ISA
// and 1-3 threads: the digits CNN's pruned 16 -> 32 3x3 on 8x8 and 32 -> 32 on 4x4, odd planes
// and channel counts, stride 2, pads, 1x1, rows of zeros, batch 2.
TEST(CpuSparseConv, PrunedConvMatchesReference) {
  const std::vector<SparseConvSpec> specs = {
      {1, 16, 8, 8, 32, 3, 3, 1, 1, 0.85}, {1, 32, 4, 4, 32, 3, 3, 1, 1, 0.95},   {2, 7, 11, 9, 13, 3, 3, 2, 1, 0.95},
      {1, 24, 5, 7, 17, 1, 1, 1, 0, 0.97}, {1, 9, 13, 13, 5, 5, 5, 1, 2, 1.0},   {1, 12, 10, 10, 33, 3, 3, 1, 0, 0.95},
      {1, 20, 30, 30, 8, 3, 3, 1, 1, 0.9}};
  uint32_t seed = 700;
  for (const auto& sp : specs) {
    for (const std::string act : {"", "Relu"}) {
      SCOPED_TRACE(std::to_string(sp.c) + "->" + std::to_string(sp.m) + " " + std::to_string(sp.h) + "x" +
                   std::to_string(sp.w) + " k" + std::to_string(sp.kh) + " " + act);
      OpCase c = act.empty() ? OpCase::single("Conv") : OpCase::single("FusedConv", "com.edgeai");
      c.input(random_tensor({sp.n, sp.c, sp.h, sp.w}, seed += 3));
      c.constant(pruned_tensor({sp.m, sp.c, sp.kh, sp.kw}, sp.zeros, seed + 1));
      c.constant(random_tensor({sp.m}, seed + 2));
      c.attr_ints("strides", {sp.s, sp.s});
      c.attr_ints("pads", {sp.p, sp.p, sp.p, sp.p});
      if (!act.empty()) c.attr_s("activation", act);
      const int64_t oh = (sp.h + 2 * sp.p - sp.kh) / sp.s + 1, ow = (sp.w + 2 * sp.p - sp.kw) / sp.s + 1;
      const ConvGeom g{sp.c, sp.h, sp.w, oh, ow, sp.kh, sp.kw, sp.s, sp.s, 1, 1, sp.p, sp.p};
      const int64_t k = sp.c * sp.kh * sp.kw;
      const UKernels& uk = ukernels_portable();
      const SparseChoice w = prepare_sparse(uk, c.constants[0].second.data<float>(), k, 1, sp.m, k, 1.0f,
                                            kSparseMinZeroFractionWide);
      ASSERT_TRUE(w.ready() && sparse_conv_takes(uk, w, g, int64_t(1) << 24));  // the case is the sparse path's
      expect_matches_reference(c, 1e-5, 1e-5);
    }
  }
}

}  // namespace
}  // namespace edgeai::testing
