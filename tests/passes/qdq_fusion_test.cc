// The QDQ fusion (passes/fuse_qdq.cc) and the int8 kernels on whole graphs. The oracle is the
// unfused QDQ graph run by the reference kernels (float Conv between DequantizeLinear and
// QuantizeLinear). The fused graph computes each product exactly and rounds once, so a quantized
// value may differ by one step where the two roundings fall on either side of a half; across
// layers such a step can move the next layer's values by a step too, so the bound checked on
// the output is a few steps, with nearly all values exact.
#include <cmath>

#include "formats/onnx/onnx_import.h"
#include "formats/tensor_io/npy.h"
#include "passes/pass_test_util.h"

namespace edgeai::testing {
namespace {

Tensor u8_scalar(int v) { return Tensor::from_vector<uint8_t>(DType::kU8, {}, {static_cast<uint8_t>(v)}); }

// x (f32) -> Q -> DQ -> Conv(DQ(w), DQ(b)) -> Q -> DQ -> y: one quantized conv, as
// onnxruntime's QDQ quantizer lays it out. `edit` may spoil one part.
struct QdqConv {
  int64_t c = 8, m = 12, h = 9, k = 3, group = 1;
  Tensor w_scale, w_zp, b_scale;
  int64_t w_axis = 0;
  float x_scale = 0.03f, y_scale = 0.05f;
  DType x_zp_type = DType::kU8;

  ir::Graph build() const {
    GraphBuilder b;
    b.input("x", {1, c, h, h});
    b.output("y");
    b.init("xs", scalar_f32(x_scale));
    b.init("xz", x_zp_type == DType::kU8 ? u8_scalar(120)
                                         : Tensor::from_vector<int8_t>(DType::kI8, {}, {int8_t(3)}));
    b.init("ys", scalar_f32(y_scale));
    b.init("yz", u8_scalar(0));
    Tensor w = Tensor::create(DType::kI8, {m, c / group, k, k}).value();
    std::mt19937 rng(3);
    for (int64_t i = 0; i < w.numel(); ++i) w.data<int8_t>()[i] = static_cast<int8_t>(int(rng() % 255) - 127);
    b.init("w", w);
    b.init("ws", w_scale);
    b.init("wz", w_zp);
    Tensor bias = Tensor::create(DType::kI32, {m}).value();
    for (int64_t i = 0; i < m; ++i) bias.data<int32_t>()[i] = static_cast<int32_t>(rng() % 2001) - 1000;
    b.init("b", bias);
    b.init("bs", b_scale);
    b.init("bz", Tensor::create(DType::kI32, b_scale.shape()).value());
    b.node("QuantizeLinear", {"x", "xs", "xz"}, {"xq"});
    b.node("DequantizeLinear", {"xq", "xs", "xz"}, {"xd"});
    auto& wd = b.node("DequantizeLinear", {"w", "ws", "wz"}, {"wd"});
    GraphBuilder::set_int(wd, "axis", w_axis);
    auto& bd = b.node("DequantizeLinear", {"b", "bs", "bz"}, {"bd"});
    GraphBuilder::set_int(bd, "axis", 0);
    auto& conv = b.node("Conv", {"xd", "wd", "bd"}, {"yc"});
    GraphBuilder::set_ints(conv, "pads", {1, 1, 1, 1});
    GraphBuilder::set_int(conv, "group", group);
    b.node("QuantizeLinear", {"yc", "ys", "yz"}, {"yq"});
    b.node("DequantizeLinear", {"yq", "ys", "yz"}, {"y"});
    return b.g;
  }

  static QdqConv per_channel(int64_t m = 12, int64_t group = 1) {
    QdqConv q;
    q.m = m;
    q.group = group;
    q.w_scale = random_tensor({q.m}, 5, 0.002f, 0.01f);
    q.w_zp = Tensor::create(DType::kI8, {q.m}).value();
    q.b_scale = Tensor::create(DType::kF32, {q.m}).value();
    for (int64_t i = 0; i < q.m; ++i) q.b_scale.data<float>()[i] = q.x_scale * q.w_scale.data<float>()[i];
    return q;
  }
};

// Runs `g` unfused with the reference kernels and fused with the fast kernels; returns the
// largest difference in output steps and the fraction of exact values.
void compare_steps(const ir::Graph& g, const std::vector<runtime::NamedValue>& feeds, float step, int threads,
                   double* max_steps, double* exact) {
  auto env = Env::create(threads);
  auto shared = std::make_shared<const ir::Graph>(g);
  auto plain = runtime::Session::create(shared, *env, {.optimize = false, .reference_only = true});
  auto fast = runtime::Session::create(shared, *env, {});
  ASSERT_TRUE(plain.ok() && fast.ok());
  auto a = (*plain)->run(feeds);
  auto b = (*fast)->run(feeds);
  ASSERT_TRUE(a.ok()) << a.status().message();
  ASSERT_TRUE(b.ok()) << b.status().message();
  const Tensor& x = (*a)[0].tensor;
  const Tensor& y = (*b)[0].tensor;
  ASSERT_EQ(x.shape(), y.shape());
  *max_steps = 0;
  int64_t same = 0;
  for (int64_t i = 0; i < x.numel(); ++i) {
    const double d = std::abs(x.get_double(i) - y.get_double(i)) / step;
    *max_steps = std::max(*max_steps, d);
    same += d < 1e-3;
  }
  *exact = static_cast<double>(same) / x.numel();
}

// The fused graph of `g` (input "x" of `shape`) within one output step of the unfused reference
// run, nearly every value exact, at 1 and 2 threads.
void expect_within_one_step(const ir::Graph& g, const Shape& shape, float step) {
  GraphBuilder b;
  b.input("x", shape);
  for (int threads : {1, 2}) {
    double max_steps = 0, exact = 0;
    compare_steps(g, b.random_feeds(), step, threads, &max_steps, &exact);
    EXPECT_LE(max_steps, 1.0 + 1e-6);
    EXPECT_GT(exact, 0.95);
  }
}

TEST(QdqFusion, ConvBecomesQLinearConvWithinOneStep) {
  for (int64_t group : {1, 4, 8}) {
    const QdqConv q = QdqConv::per_channel(group == 8 ? 8 : 12, group);
    const ir::Graph g = q.build();
    const ir::Graph opt = optimized(g);
    EXPECT_EQ(count_op(opt, "QLinearConv"), 1) << "group " << group;
    EXPECT_EQ(count_op(opt, "Conv"), 0);
    GraphBuilder b;
    b.input("x", {1, q.c, q.h, q.h});
    double max_steps = 0, exact = 0;
    compare_steps(g, b.random_feeds(), q.y_scale, 1, &max_steps, &exact);
    EXPECT_LE(max_steps, 1.0 + 1e-6) << "group " << group;
    EXPECT_GT(exact, 0.95) << "group " << group;
  }
}

// x [3, 40] -> Q -> DQ -> Gemm(DQ(w), DQ(b)) -> Q -> DQ -> y: a quantized classifier, w [M, K] with
// transB = 1 or [K, M] (scales along axis 1) with transB = 0; `alpha` / `trans_a` other than 1 / 0
// leave it in float.
ir::Graph qdq_gemm(bool trans_b, float alpha = 1.f, int64_t trans_a = 0) {
  const int64_t k = 40, m = 21;
  GraphBuilder b;
  b.input("x", {3, k});
  b.output("y");
  b.init("xs", scalar_f32(0.03f)).init("xz", u8_scalar(120)).init("ys", scalar_f32(0.05f)).init("yz", u8_scalar(9));
  Tensor w = Tensor::create(DType::kI8, trans_b ? Shape{m, k} : Shape{k, m}).value();
  std::mt19937 rng(11);
  for (int64_t i = 0; i < w.numel(); ++i) w.data<int8_t>()[i] = static_cast<int8_t>(int(rng() % 255) - 127);
  const Tensor ws = random_tensor({m}, 5, 0.002f, 0.01f);
  Tensor bs = Tensor::create(DType::kF32, {m}).value(), bias = Tensor::create(DType::kI32, {m}).value();
  for (int64_t i = 0; i < m; ++i) {
    bs.data<float>()[i] = 0.03f * ws.data<float>()[i];
    bias.data<int32_t>()[i] = static_cast<int32_t>(rng() % 2001) - 1000;
  }
  b.init("w", w).init("ws", ws).init("wz", Tensor::create(DType::kI8, {m}).value());
  b.init("b", bias).init("bs", bs).init("bz", Tensor::create(DType::kI32, {m}).value());
  b.node("QuantizeLinear", {"x", "xs", "xz"}, {"xq"});
  b.node("DequantizeLinear", {"xq", "xs", "xz"}, {"xd"});
  GraphBuilder::set_int(b.node("DequantizeLinear", {"w", "ws", "wz"}, {"wd"}), "axis", trans_b ? 0 : 1);
  GraphBuilder::set_int(b.node("DequantizeLinear", {"b", "bs", "bz"}, {"bd"}), "axis", 0);
  auto& gemm = b.node("Gemm", {"xd", "wd", "bd"}, {"yg"});
  GraphBuilder::set_int(gemm, "transB", trans_b ? 1 : 0);
  GraphBuilder::set_float(gemm, "alpha", alpha);
  if (trans_a) GraphBuilder::set_int(gemm, "transA", trans_a);
  b.node("QuantizeLinear", {"yg", "ys", "yz"}, {"yq"});
  b.node("DequantizeLinear", {"yq", "ys", "yz"}, {"y"});
  return b.g;
}

TEST(QdqFusion, GemmBecomesQLinearConvWithinOneStep) {
  for (bool trans_b : {true, false}) {
    SCOPED_TRACE(trans_b ? "transB 1" : "transB 0");
    const ir::Graph g = qdq_gemm(trans_b);
    const ir::Graph opt = optimized(g);
    EXPECT_EQ(count_op(opt, "QLinearConv"), 1);
    EXPECT_EQ(count_op(opt, "Gemm"), 0);
    expect_within_one_step(g, {3, 40}, 0.05f);
  }
  // alpha 2 and a transposed A stay float Gemms, and run.
  for (const ir::Graph& g : {qdq_gemm(true, 2.f), qdq_gemm(true, 1.f, 1)}) {
    const ir::Graph opt = optimized(g);
    EXPECT_EQ(count_op(opt, "QLinearConv"), 0);
    EXPECT_EQ(count_op(opt, "Gemm"), 1);
  }
}

// x [2, 5, 40] -> Q -> DQ -> MatMul(DQ(w [40, 21])) -> Q -> DQ -> y: a quantized projection of a
// rank-3 activation (a transformer's), weights per column (axis 1) or per tensor; `w_zp` spoils
// the weight zero point, `a_second` makes the second operand an activation (attention's QK^T).
// `bias`: 0 none, 1 Add(float bias [21]) between the MatMul and the Q, bias first (PyTorch's
// export of Linear), 2 Add(DQ(int32 bias at x_scale * w_scale)) after it.
ir::Graph qdq_matmul(bool per_column, int w_zp = 0, bool a_second = false, int64_t k_x = 40, int bias = 0,
                     bool s8_x = false) {
  const int64_t k = 40, m = 21;
  GraphBuilder b;
  b.input("x", {2, 5, k_x});
  if (a_second) b.input("w_act", {k, m});
  b.output("y");
  b.init("xs", scalar_f32(0.03f)).init("ys", scalar_f32(0.05f)).init("yz", u8_scalar(9));
  b.init("xz", s8_x ? Tensor::from_vector<int8_t>(DType::kI8, {}, {int8_t(-8)}) : u8_scalar(120));
  Tensor w = Tensor::create(DType::kI8, {k, m}).value();
  std::mt19937 rng(13);
  for (int64_t i = 0; i < w.numel(); ++i) w.data<int8_t>()[i] = static_cast<int8_t>(int(rng() % 255) - 127);
  b.init("w", w);
  if (per_column) {
    b.init("ws", random_tensor({m}, 5, 0.002f, 0.01f));
    Tensor z = Tensor::create(DType::kI8, {m}).value();
    z.data<int8_t>()[3] = static_cast<int8_t>(w_zp);
    b.init("wz", z);
  } else {
    b.init("ws", scalar_f32(0.006f)).init("wz", Tensor::from_vector<int8_t>(DType::kI8, {}, {int8_t(w_zp)}));
  }
  b.node("QuantizeLinear", {"x", "xs", "xz"}, {"xq"});
  b.node("DequantizeLinear", {"xq", "xs", "xz"}, {"xd"});
  if (a_second) {
    b.node("QuantizeLinear", {"w_act", "xs", "xz"}, {"wq"});
    b.node("DequantizeLinear", {"wq", "xs", "xz"}, {"wd"});
  } else {
    auto& wd = b.node("DequantizeLinear", {"w", "ws", "wz"}, {"wd"});
    if (per_column) GraphBuilder::set_int(wd, "axis", 1);
  }
  b.node("MatMul", {"xd", "wd"}, {"ym"});
  if (bias == 1) {
    b.init("bf", random_tensor({m}, 8, -0.5f, 0.5f));
    b.node("Add", {"bf", "ym"}, {"yb"});
  } else if (bias == 2) {
    Tensor bq = Tensor::create(DType::kI32, {m}).value(), bs = Tensor::create(DType::kF32, {m}).value();
    const Tensor& ws = b.g.initializers.at("ws");
    for (int64_t i = 0; i < m; ++i) {
      bq.data<int32_t>()[i] = static_cast<int32_t>(rng() % 4001) - 2000;
      bs.data<float>()[i] = 0.03f * ws.data<float>()[ws.numel() == 1 ? 0 : i];
    }
    b.init("bq", bq).init("bs", bs).init("bz", Tensor::create(DType::kI32, {m}).value());
    GraphBuilder::set_int(b.node("DequantizeLinear", {"bq", "bs", "bz"}, {"bd"}), "axis", 0);
    b.node("Add", {"ym", "bd"}, {"yb"});
  }
  b.node("QuantizeLinear", {bias ? "yb" : "ym", "ys", "yz"}, {"yq"});
  b.node("DequantizeLinear", {"yq", "ys", "yz"}, {"y"});
  return b.g;
}

TEST(QdqFusion, MatMulBecomesQLinearMatMulWithinOneStep) {
  for (bool per_column : {true, false}) {
    SCOPED_TRACE(per_column ? "per column" : "per tensor");
    const ir::Graph g = qdq_matmul(per_column);
    const ir::Graph opt = optimized(g);
    EXPECT_EQ(count_op(opt, "QLinearMatMul"), 1);
    EXPECT_EQ(count_op(opt, "MatMul"), 0);
    expect_within_one_step(g, {2, 5, 40}, 0.05f);
  }
  // With an Add of a constant bias between the MatMul and the Q: com.edgeai QLinearMatMul with an
  // int32 bias, no Add left.
  for (int bias : {1, 2}) {
    for (bool per_column : {true, false}) {
      SCOPED_TRACE("bias " + std::to_string(bias) + (per_column ? " per column" : " per tensor"));
      const ir::Graph g = qdq_matmul(per_column, 0, false, 40, bias);
      const ir::Graph opt = optimized(g);
      EXPECT_EQ(count_op(opt, "QLinearMatMul"), 1);
      EXPECT_EQ(count_op(opt, "Add"), 0);
      expect_within_one_step(g, {2, 5, 40}, 0.05f);
    }
  }
  // s8 activations (onnxruntime's S8S8 layout) too.
  {
    const ir::Graph g = qdq_matmul(true, 0, false, 40, 1, true);
    EXPECT_EQ(count_op(optimized(g), "QLinearMatMul"), 1);
    expect_within_one_step(g, {2, 5, 40}, 0.05f);
  }
  // A weight zero point other than 0 and a product of two activations stay float MatMuls, and run.
  for (const ir::Graph& g : {qdq_matmul(true, 2), qdq_matmul(false, 1), qdq_matmul(true, 0, true)}) {
    const ir::Graph opt = optimized(g);
    EXPECT_EQ(count_op(opt, "QLinearMatMul"), 0);
    EXPECT_EQ(count_op(opt, "MatMul"), 1);
    auto env = Env::create(1);
    auto s = runtime::Session::create(std::make_shared<const ir::Graph>(g), *env, {});
    ASSERT_TRUE(s.ok()) << s.status().message();
    GraphBuilder b;
    for (const auto& in : g.inputs) b.input(in.name, in.name == "x" ? Shape{2, 5, 40} : Shape{40, 21});
    EXPECT_TRUE((*s)->run(b.random_feeds()).ok());
  }
  // An activation whose K does not match the weight's is reported, fused or not.
  const ir::Graph bad = qdq_matmul(true, 0, false, 39);
  auto env = Env::create(1);
  auto s = runtime::Session::create(std::make_shared<const ir::Graph>(bad), *env, {});
  if (s.ok()) {
    GraphBuilder b;
    b.input("x", {2, 5, 39});
    auto out = (*s)->run(b.random_feeds());
    EXPECT_FALSE(out.ok());
  }
}

// Hostile or unusual QDQ patterns are left unfused (the reference runs the float QDQ graph, or
// reports what is wrong); nothing crashes.
TEST(QdqFusion, HostilePatternsLeftUnfused) {
  std::vector<std::pair<std::string, QdqConv>> cases;
  {
    QdqConv q = QdqConv::per_channel();
    q.x_zp_type = DType::kI8;
    cases.push_back({"int8 activation zero point", q});
  }
  {
    QdqConv q = QdqConv::per_channel();
    q.w_axis = 5;
    cases.push_back({"per-channel axis out of range", q});
  }
  {
    QdqConv q = QdqConv::per_channel();
    q.w_axis = 1;
    cases.push_back({"per-channel along the wrong axis", q});
  }
  for (float bad : {0.0f, -0.01f, std::nanf("")}) {
    QdqConv q = QdqConv::per_channel();
    q.w_scale.data<float>()[3] = bad;
    cases.push_back({"weight scale " + std::to_string(bad), q});
    QdqConv r = QdqConv::per_channel();
    r.y_scale = bad;
    cases.push_back({"output scale " + std::to_string(bad), r});
  }
  {
    QdqConv q = QdqConv::per_channel();
    q.w_scale = random_tensor({q.m - 1}, 5, 0.002f, 0.01f);
    cases.push_back({"weight scale of the wrong length", q});
  }
  {
    QdqConv q = QdqConv::per_channel();
    q.w_zp = Tensor::create(DType::kU8, {q.m}).value();
    cases.push_back({"weight zero point of the wrong dtype", q});
  }
  {
    QdqConv q = QdqConv::per_channel();
    q.b_scale.data<float>()[0] *= 2.f;
    cases.push_back({"bias scale not x_scale * w_scale", q});
  }
  for (const auto& [what, q] : cases) {
    SCOPED_TRACE(what);
    const ir::Graph g = q.build();
    const ir::Graph opt = optimized(g);
    EXPECT_EQ(count_op(opt, "QLinearConv"), 0);
    // Whatever the reference makes of it, the session and the run return a Status.
    auto env = Env::create(1);
    auto s = runtime::Session::create(std::make_shared<const ir::Graph>(g), *env, {});
    if (!s.ok()) continue;
    GraphBuilder b;
    b.input("x", {1, q.c, q.h, q.h});
    auto out = (*s)->run(b.random_feeds());
    (void)out;
  }
}

// x -> Q -> DQ -> Sigmoid, Mul (SiLU) -> `silu`, with the scales and zero points of y ys, yz.
GraphBuilder silu_head(const std::string& silu) {
  GraphBuilder b;
  b.input("x", {1, 4, 7, 9});
  b.output("y");
  b.init("xs", scalar_f32(0.04f)).init("xz", u8_scalar(131)).init("ys", scalar_f32(0.02f)).init("yz", u8_scalar(14));
  b.node("QuantizeLinear", {"x", "xs", "xz"}, {"xq"});
  b.node("DequantizeLinear", {"xq", "xs", "xz"}, {"xd"});
  b.node("Sigmoid", {"xd"}, {"sg"});
  b.node("Mul", {"xd", "sg"}, {silu});
  return b;
}

// x -> Q -> DQ -> Sigmoid, Mul (SiLU) [-> Mul by a constant] -> Q -> DQ -> y.
ir::Graph silu_graph(const Tensor* scale_const) {
  GraphBuilder b = silu_head("si");
  std::string last = "si";
  if (scale_const) {
    b.init("k", *scale_const);
    b.node("Mul", {"si", "k"}, {"sk"});
    last = "sk";
  }
  b.node("QuantizeLinear", {last, "ys", "yz"}, {"yq"});
  b.node("DequantizeLinear", {"yq", "ys", "yz"}, {"y"});
  return b.g;
}

// Elementwise chains between DQ and Q become a 256-entry table made by the reference kernels
// themselves: the same bytes as the unfused graph, bit for bit.
TEST(QdqFusion, SiluBecomesLookupTableBitExact) {
  const Tensor k0 = scalar_f32(1.7f);
  for (const Tensor* k : {static_cast<const Tensor*>(nullptr), &k0}) {
    const ir::Graph g = silu_graph(k);
    const ir::Graph opt = optimized(g);
    EXPECT_EQ(count_op(opt, "QLut"), 1);
    EXPECT_EQ(count_op(opt, "Sigmoid"), 0);
    GraphBuilder b;
    b.input("x", {1, 4, 7, 9});
    double max_steps = 0, exact = 0;
    compare_steps(g, b.random_feeds(), 0.02f, 1, &max_steps, &exact);
    EXPECT_EQ(max_steps, 0.0);
    EXPECT_EQ(exact, 1.0);
  }
  // A per-channel constant would change the shape rule: the byte table stops before it; the SiLU
  // becomes a float table and the per-channel Mul and the QuantizeLinear stay (and still run).
  const Tensor per_channel = random_tensor({1, 4, 1, 1}, 2);
  const ir::Graph g = silu_graph(&per_channel);
  const ir::Graph opt = optimized(g);
  EXPECT_EQ(count_op(opt, "QLut"), 1);
  EXPECT_EQ(count_op(opt, "Mul"), 1);
  EXPECT_EQ(count_op(opt, "QuantizeLinear"), 2);  // the input's and the output's
  GraphBuilder b;
  b.input("x", {1, 4, 7, 9});
  double max_steps = 0, exact = 0;
  compare_steps(g, b.random_feeds(), 0.02f, 1, &max_steps, &exact);
  EXPECT_EQ(max_steps, 0.0);
}

// A chain whose float result goes on to float ops (efficientnet's SiLU before a pool and a
// squeeze-excitation Mul) becomes QLut with a float table: the reference kernels' values.
TEST(QdqFusion, FloatSiluBecomesFloatLookupTable) {
  auto build = [](bool float_output) {
    GraphBuilder b = silu_head(float_output ? "y" : "si");
    if (!float_output) {
      b.init("se", random_tensor({1, 4, 1, 1}, 4, 0.2f, 1.f));
      b.node("GlobalAveragePool", {"si"}, {"gp"});
      b.node("Mul", {"si", "se"}, {"sm"});
      b.node("Add", {"sm", "gp"}, {"sa"});
      b.node("QuantizeLinear", {"sa", "ys", "yz"}, {"yq"});
      b.node("DequantizeLinear", {"yq", "ys", "yz"}, {"y"});
    }
    return b.g;
  };
  for (bool float_output : {true, false}) {
    SCOPED_TRACE(float_output ? "float graph output" : "pool and scale");
    const ir::Graph g = build(float_output);
    const ir::Graph opt = optimized(g);
    EXPECT_EQ(count_op(opt, "QLut"), 1);
    EXPECT_EQ(count_op(opt, "Sigmoid"), 0);
    EXPECT_EQ(count_op(opt, "Mul"), float_output ? 0 : 1);
    GraphBuilder b;
    b.input("x", {1, 4, 7, 9});
    for (int threads : {1, 2}) {
      double max_steps = 0, exact = 0;
      // The float output is the table's value itself: bit-exact. After the pool (whose fast kernel
      // may sum in another order) a requantized value may move by one step.
      compare_steps(g, b.random_feeds(), float_output ? 1e-30f : 0.02f, threads, &max_steps, &exact);
      if (float_output) {
        EXPECT_EQ(max_steps, 0.0);
      } else {
        EXPECT_LE(max_steps, 1.0);
        EXPECT_GT(exact, 0.95);
      }
    }
  }
  // An intermediate value read outside the chain keeps the chain in float.
  ir::Graph g = build(true);
  g.outputs.push_back(g.outputs[0]);
  g.outputs.back().name = "sg";
  EXPECT_EQ(count_op(optimized(g), "Sigmoid"), 0);  // Sigmoid alone becomes the table of "sg"...
  EXPECT_EQ(count_op(optimized(g), "Mul"), 1);      // ...and the Mul reading two values stays
}

// A residual Add between two dequantized activations and a QuantizeLinear becomes QLinearAdd: the
// same float steps per element, so the same bytes as the unfused graph. With a Relu between the Add
// and the QuantizeLinear (resnet's residual blocks) it becomes QLinearAdd with relu = 1, again the
// same bytes (an output zero point of 40 makes the Relu cut).
TEST(QdqFusion, ResidualAddBecomesQLinearAddBitExact) {
  for (bool relu : {false, true}) {
    SCOPED_TRACE(relu ? "Add -> Relu" : "Add");
    GraphBuilder b;
    b.input("x", {1, 6, 11, 13});
    b.input("z", {1, 6, 11, 13});
    b.output("y");
    b.init("xs", scalar_f32(0.031f)).init("xz", u8_scalar(117)).init("zs", scalar_f32(0.017f)).init("zz", u8_scalar(3));
    b.init("ys", scalar_f32(relu ? 0.011f : 0.04f)).init("yz", u8_scalar(relu ? 40 : 128));
    b.node("QuantizeLinear", {"x", "xs", "xz"}, {"xq"});
    b.node("DequantizeLinear", {"xq", "xs", "xz"}, {"xd"});
    b.node("QuantizeLinear", {"z", "zs", "zz"}, {"zq"});
    b.node("DequantizeLinear", {"zq", "zs", "zz"}, {"zd"});
    b.node("Add", {"xd", "zd"}, {"s"});
    if (relu) b.node("Relu", {"s"}, {"r"});
    b.node("QuantizeLinear", {relu ? "r" : "s", "ys", "yz"}, {"yq"});
    b.node("DequantizeLinear", {"yq", "ys", "yz"}, {"y"});
    const ir::Graph opt = optimized(b.g);
    EXPECT_EQ(count_op(opt, "QLinearAdd"), 1);
    EXPECT_EQ(count_op(opt, "Add"), 0);
    EXPECT_EQ(count_op(opt, "Relu"), 0);
    for (int threads : {1, 2}) {
      double max_steps = 0, exact = 0;
      compare_steps(b.g, b.random_feeds(), relu ? 0.011f : 0.04f, threads, &max_steps, &exact);
      EXPECT_EQ(max_steps, 0.0);
    }
    // The sum read by another node as well stays in float.
    ir::Graph g = b.g;
    g.outputs.push_back(g.outputs[0]);
    g.outputs.back().name = "s";
    EXPECT_EQ(count_op(optimized(g), "QLinearAdd"), 0);
  }
}

// DQ(a), DQ(b) -> Concat -> Q (squeezenet's fire modules) becomes a Concat of bytes: a's through
// its requantization table, b's (the output's scale and zero point) as they are. Bit-exact.
TEST(QdqFusion, ConcatOfBytesBitExact) {
  GraphBuilder b;
  b.input("x", {1, 3, 5, 7});
  b.input("z", {1, 4, 5, 7});
  b.output("y");
  b.init("xs", scalar_f32(0.031f)).init("xz", u8_scalar(117)).init("ys", scalar_f32(0.04f)).init("yz", u8_scalar(128));
  b.node("QuantizeLinear", {"x", "xs", "xz"}, {"xq"});
  b.node("DequantizeLinear", {"xq", "xs", "xz"}, {"xd"});
  b.node("QuantizeLinear", {"z", "ys", "yz"}, {"zq"});
  b.node("DequantizeLinear", {"zq", "ys", "yz"}, {"zd"});
  auto& cat = b.node("Concat", {"xd", "zd"}, {"c"});
  GraphBuilder::set_int(cat, "axis", 1);
  b.node("QuantizeLinear", {"c", "ys", "yz"}, {"yq"});
  b.node("DequantizeLinear", {"yq", "ys", "yz"}, {"y"});
  const ir::Graph opt = optimized(b.g);
  EXPECT_EQ(count_op(opt, "Concat"), 1);
  EXPECT_EQ(count_op(opt, "QLut"), 1);
  EXPECT_EQ(count_op(opt, "QuantizeLinear"), 2);  // the two inputs'
  for (int threads : {1, 2}) {
    double max_steps = 0, exact = 0;
    compare_steps(b.g, b.random_feeds(), 0.04f, threads, &max_steps, &exact);
    EXPECT_EQ(max_steps, 0.0);
  }
}

// DQ -> MaxPool -> Q becomes QMaxPool on the bytes (resnet's stem pool), through a requantization
// table first where the scales differ; DQ, DQ -> Concat -> MaxPool -> Q (squeezenet's pools) becomes
// a Concat of bytes and QMaxPool. Bit-exact: the max commutes with the non-decreasing Q(DQ(.)).
TEST(QdqFusion, MaxPoolOfBytesBitExact) {
  for (int variant = 0; variant < 3; ++variant) {
    SCOPED_TRACE(variant);
    const bool concat = variant == 2, same_scale = variant == 0;
    GraphBuilder b;
    b.input("x", {1, 3, 13, 12});
    if (concat) b.input("z", {1, 2, 13, 12});
    b.output("y");
    b.init("xs", scalar_f32(0.031f)).init("xz", u8_scalar(117));
    b.init("ys", scalar_f32(same_scale ? 0.031f : 0.02f)).init("yz", u8_scalar(same_scale ? 117 : 60));
    b.node("QuantizeLinear", {"x", "xs", "xz"}, {"xq"});
    b.node("DequantizeLinear", {"xq", "xs", "xz"}, {"xd"});
    std::string pool_in = "xd";
    if (concat) {
      b.node("QuantizeLinear", {"z", "ys", "yz"}, {"zq"});
      b.node("DequantizeLinear", {"zq", "ys", "yz"}, {"zd"});
      GraphBuilder::set_int(b.node("Concat", {"xd", "zd"}, {"c"}), "axis", 1);
      pool_in = "c";
    }
    auto& pool = b.node("MaxPool", {pool_in}, {"p"});
    GraphBuilder::set_ints(pool, "kernel_shape", {3, 3});
    GraphBuilder::set_ints(pool, "strides", {2, 2});
    if (concat) GraphBuilder::set_int(pool, "ceil_mode", 1);
    else GraphBuilder::set_ints(pool, "pads", {1, 1, 1, 1});
    b.node("QuantizeLinear", {"p", "ys", "yz"}, {"yq"});
    b.node("DequantizeLinear", {"yq", "ys", "yz"}, {"y"});
    const ir::Graph opt = optimized(b.g);
    EXPECT_EQ(count_op(opt, "QMaxPool"), 1);
    EXPECT_EQ(count_op(opt, "MaxPool"), 0);
    EXPECT_EQ(count_op(opt, "QLut"), same_scale ? 0 : 1);
    for (int threads : {1, 2}) {
      double max_steps = 0, exact = 0;
      compare_steps(b.g, b.random_feeds(), same_scale ? 0.031f : 0.02f, threads, &max_steps, &exact);
      EXPECT_EQ(max_steps, 0.0);
    }
  }
}

// A small real model: the digits CNN quantized by ../shared/bench/int8/quantize_qdq.py (4 Conv +
// Gemm, per-channel weights). Fused int8 logits against the unfused reference QDQ run.
TEST(QdqFusion, DigitsCnnMatchesUnfusedReference) {
  const std::string dir = std::string(EDGEAI_SOURCE_DIR);
  auto m = formats::load_onnx(dir + "/tests/passes/data/digits_cnn_qdq.onnx");
  ASSERT_TRUE(m.ok()) << m.status().message();
  const ir::Graph& g = *m->graph;
  const ir::Graph opt = optimized(g);
  EXPECT_GE(count_op(opt, "QLinearConv"), 2);
  EXPECT_EQ(count_op(opt, "Conv"), 0);
  auto images = formats::load_npy(dir + "/models/digits/test_images.npy");
  ASSERT_TRUE(images.ok());
  // The output's quantization step: the scale of its last DequantizeLinear.
  float step = 0;
  for (const auto& n : g.nodes) {
    if (n.op_type == "DequantizeLinear" && n.outputs[0] == g.outputs[0].name) {
      step = g.initializers.at(n.inputs[1]).data<float>()[0];
    }
  }
  ASSERT_GT(step, 0.f);
  for (int threads : {1, 2}) {
    double max_steps = 0, exact = 0;
    compare_steps(g, {{g.inputs[0].name, runtime::Value::of(*images)}}, step, threads, &max_steps, &exact);
    EXPECT_LE(max_steps, 4.0) << threads << " threads";
    EXPECT_GT(exact, 0.9) << threads << " threads";
    RecordProperty("max_steps_" + std::to_string(threads), std::to_string(max_steps));
    std::printf("digits int8: max %.0f steps, %.2f%% exact (%d threads)\n", max_steps, 100 * exact, threads);
  }
}

}  // namespace
}  // namespace edgeai::testing
