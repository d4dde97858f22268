// int8 post-training quantization (src/compress/quantize). Oracles: the fp32 model (outputs,
// top-1 agreement), the held-out labels of the digits model, the ONNX QDQ layout of
// onnxruntime's quantize_static (checked node by node), and exact arithmetic for the parameters.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>

#include "compress/quantize/evaluate.h"
#include "compress/quantize/qparams.h"
#include "compress/quantize/quantize.h"
#include "formats/onnx/onnx_export.h"
#include "formats/onnx/onnx_import.h"
#include "formats/tensor_io/npy.h"
#include "runtime/session.h"

namespace edgeai {
namespace {

using compress::CalibrationSample;

const std::string kDigits = std::string(EDGEAI_SOURCE_DIR) + "/models/digits/";

formats::OnnxExportOptions checked() {
  formats::OnnxExportOptions o;
  o.check = true;
  return o;
}

std::vector<CalibrationSample> rows_of(const Tensor& all, const std::string& input, int64_t limit = -1) {
  std::vector<CalibrationSample> out;
  const int64_t n = limit < 0 ? all.dim(0) : std::min(limit, all.dim(0));
  Shape one = all.shape();
  one[0] = 1;
  const size_t bytes = all.nbytes() / all.dim(0);
  for (int64_t i = 0; i < n; ++i) {
    Tensor t = Tensor::create(all.dtype(), one).value();
    std::memcpy(t.raw(), static_cast<const char*>(all.raw()) + i * bytes, bytes);
    out.push_back({{input, runtime::Value::of(t)}});
  }
  return out;
}

const ir::Node* producer(const ir::Graph& g, const std::string& name) {
  for (const auto& n : g.nodes) {
    for (const auto& o : n.outputs) {
      if (o == name) return &n;
    }
  }
  return nullptr;
}

TEST(QuantParams, WeightsPerChannelSymmetricWithinHalfAStep) {
  // Oracle: |w - q * scale| <= scale / 2 per channel, |q| <= 127, scale = max|w| / 127.
  std::mt19937 rng(1);
  std::normal_distribution<float> nd(0, 1);
  Tensor w = Tensor::create(DType::kF32, {5, 3, 2, 2}).value();
  for (int64_t i = 0; i < w.numel(); ++i) w.data<float>()[i] = nd(rng) * (1 + i / 12);
  for (int64_t i = 12; i < 24; ++i) w.data<float>()[i] = 0;  // an all-zero channel
  auto q = compress::quantize_weight(w, 0);
  ASSERT_TRUE(q.ok()) << q.status().message();
  ASSERT_EQ(q->scale.numel(), 5);
  ASSERT_EQ(q->values.dtype(), DType::kI8);
  for (int64_t c = 0; c < 5; ++c) {
    float amax = 0, s = q->scale.data<float>()[c];
    for (int64_t i = 0; i < 12; ++i) amax = std::max(amax, std::fabs(w.data<float>()[c * 12 + i]));
    if (amax > 0) {
      EXPECT_FLOAT_EQ(s, amax / 127.0f);
    }
    for (int64_t i = 0; i < 12; ++i) {
      int v = q->values.data<int8_t>()[c * 12 + i];
      EXPECT_LE(std::abs(v), 127);
      EXPECT_LE(std::fabs(w.data<float>()[c * 12 + i] - v * s), s / 2 + 1e-7);
    }
  }
  // Along axis 1 of a [K, N] MatMul weight: one scale per column.
  Tensor m = Tensor::from_vector<float>(DType::kF32, {2, 3}, {1, -2, 0.5f, -4, 1, 0.25f});
  auto qm = compress::quantize_weight(m, 1);
  ASSERT_TRUE(qm.ok());
  EXPECT_FLOAT_EQ(qm->scale.data<float>()[0], 4 / 127.0f);
  EXPECT_FLOAT_EQ(qm->scale.data<float>()[1], 2 / 127.0f);
  EXPECT_EQ(qm->values.data<int8_t>()[3], -127);
  EXPECT_FALSE(compress::quantize_weight(Tensor::from_vector<int32_t>(DType::kI32, {2}, {1, 2}), -1).ok());
}

TEST(QuantParams, ActivationsAndBias) {
  // uint8 asymmetric: the range is widened to hold 0 and 0 is exact.
  auto q = compress::activation_qparams(0.5f, 6.0f, false);
  EXPECT_EQ(q.zero_point, 0);
  EXPECT_FLOAT_EQ(q.scale, 6.0f / 255);
  auto a = compress::activation_qparams(-1.0f, 3.0f, false);
  EXPECT_EQ(a.dequantize(a.quantize(0.0f)), 0.0f);
  EXPECT_EQ(a.quantize(100.0f), 255);
  EXPECT_EQ(a.quantize(-100.0f), 0);
  auto s = compress::activation_qparams(-1.0f, 3.0f, true);
  EXPECT_EQ(s.zero_point, 0);
  EXPECT_EQ(s.quantize(-100.0f), -128);
  // Bias: int32 with scale x_scale * w_scale per channel.
  Tensor b = Tensor::from_vector<float>(DType::kF32, {2}, {0.3f, -1.0f});
  Tensor ws = Tensor::from_vector<float>(DType::kF32, {2}, {0.01f, 0.02f});
  auto qb = compress::quantize_bias(b, 0.5f, ws);
  ASSERT_TRUE(qb.ok());
  EXPECT_EQ(qb->values.dtype(), DType::kI32);
  EXPECT_EQ(qb->values.data<int32_t>()[0], 60);
  EXPECT_EQ(qb->values.data<int32_t>()[1], -100);
  EXPECT_FALSE(compress::quantize_bias(b, 0.5f, Tensor::from_vector<float>(DType::kF32, {3}, {1, 1, 1})).ok());
}

TEST(QuantCalibration, MethodsClipOutliers) {
  // 2M values in [0, 1) and one outlier at 100: minmax keeps the outlier, the other methods
  // clip well below it (oracle: the known distribution; clipping the one outlier costs less than
  // the rounding error of 2M values on a step of 100/255).
  compress::TensorRange r;
  r.min = 0;
  r.max = 100;
  r.histogram.assign(2048, 0);
  // bins 0..19 cover [0, 0.98), decaying (entropy calibration sees no loss in a flat histogram)
  for (int b = 0; b < 20; ++b) r.histogram[static_cast<size_t>(b)] = 400000 * std::pow(0.8, b);
  r.histogram[2047] += 1;
  using M = compress::CalibrationMethod;
  EXPECT_EQ(compress::choose_range(r, M::kMinMax, 99.99, false).second, 100.0f);
  EXPECT_LT(compress::choose_range(r, M::kPercentile, 99.9, false).second, 2.0f);
  EXPECT_LT(compress::choose_range(r, M::kMse, 99.99, false).second, 100.0f);
  EXPECT_LT(compress::choose_range(r, M::kEntropy, 99.99, false).second, 100.0f);
  EXPECT_FALSE(compress::parse_calibration_method("kl").ok());
  EXPECT_TRUE(compress::parse_calibration_method("entropy").ok());
}

// Silent exactly where the int8 kernels edgeai picks use dot-product instructions (AVX-512 VNNI, ARM
// dotprod); AVX2 alone and AVX-VNNI (for which edgeai has no kernel: the AVX2 one runs) are told int8
// is at most slightly faster; no SIMD kernels at all, that it is much slower.
TEST(QuantHardware, SaysWhenInt8WillNotBeFaster) {
  const std::string slightly = "at most slightly faster", slower = "much slower";
  EXPECT_NE(compress::int8_speed_note(CpuFeatures{}).find(slower), std::string::npos);
  CpuFeatures simd;
#if defined(__x86_64__)
  simd.avx2 = simd.fma = simd.f16c = true;
  CpuFeatures avx_vnni = simd;
  avx_vnni.avx_vnni = true;
  EXPECT_NE(compress::int8_speed_note(avx_vnni).find(slightly), std::string::npos);
  EXPECT_NE(compress::int8_speed_note(avx_vnni).find("AVX-VNNI"), std::string::npos);
  CpuFeatures dot = simd;
  dot.avx512f = dot.avx512bw = dot.avx512vl = dot.avx512_vnni = true;
#elif defined(__aarch64__)
  simd.neon = true;
  CpuFeatures dot = simd;
  dot.arm_dotprod = true;
#endif
#if defined(__x86_64__) || defined(__aarch64__)
  EXPECT_NE(compress::int8_speed_note(simd).find(slightly), std::string::npos);
  EXPECT_EQ(compress::int8_speed_note(dot), "");
#endif
}

class QuantDigits : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto m = formats::load_onnx(kDigits + "digits_cnn.onnx");
    ASSERT_TRUE(m.ok()) << m.status().message();
    float_ = std::shared_ptr<ir::Graph>(std::move(m->graph));
    auto calib = formats::load_npy(kDigits + "train_images.npy");
    ASSERT_TRUE(calib.ok()) << calib.status().message();
    env_ = Env::create(1).release();
    auto ranges = compress::calibrate(*float_, rows_of(*calib, "image", 100), compress::CalibrationMethod::kMinMax, *env_);
    ASSERT_TRUE(ranges.ok()) << ranges.status().message();
    ranges_ = new compress::CalibrationRanges(std::move(*ranges));
  }
  static void TearDownTestSuite() {
    delete ranges_;
    delete env_;
    float_.reset();
  }
  static std::shared_ptr<ir::Graph> float_;
  static compress::CalibrationRanges* ranges_;
  static Env* env_;
};
std::shared_ptr<ir::Graph> QuantDigits::float_;
compress::CalibrationRanges* QuantDigits::ranges_ = nullptr;
Env* QuantDigits::env_ = nullptr;

TEST_F(QuantDigits, StaticInt8KeepsAccuracyAndShrinks) {
  // Oracles: the held-out labels (drop <= 0.5 points), the fp32 model (agreement), file size.
  auto q = compress::quantize_static(*float_, *ranges_, {});
  ASSERT_TRUE(q.ok()) << q.status().message();
  EXPECT_EQ(q->report.quantized(), 5);  // 3 Conv + 2 Gemm
  auto images = formats::load_npy(kDigits + "test_images.npy");
  auto labels = formats::load_npy(kDigits + "test_labels.npy");
  ASSERT_TRUE(images.ok() && labels.ok());
  auto e = compress::evaluate(*q->graph, *float_, rows_of(*images, "image"), &*labels, *env_);
  ASSERT_TRUE(e.ok()) << e.status().message();
  std::printf("digits int8: accuracy %.2f%% (fp32 %.2f%%), agreement %.2f%%, logits SQNR %.1f dB\n",
              100 * *e->accuracy, 100 * *e->reference_accuracy, 100 * e->agreement, e->outputs[0].sqnr_db);
  EXPECT_LE(100 * (*e->reference_accuracy - *e->accuracy), 0.5);
  EXPECT_GE(e->agreement, 0.99);
  auto fbytes = formats::export_onnx_bytes(*float_);
  auto qbytes = formats::export_onnx_bytes(*q->graph, checked());
  ASSERT_TRUE(qbytes.ok()) << qbytes.status().message();
  std::printf("digits int8: %zu -> %zu bytes (%.3fx)\n", fbytes->size(), qbytes->size(),
              static_cast<double>(qbytes->size()) / fbytes->size());
  EXPECT_LE(static_cast<double>(qbytes->size()) / fbytes->size(), 0.30);

  auto layers = compress::per_layer_sqnr(*q->graph, *float_, rows_of(*images, "image", 20), *env_);
  ASSERT_TRUE(layers.ok()) << layers.status().message();
  EXPECT_EQ(layers->size(), 5u);
  for (const auto& l : *layers) EXPECT_GT(l.sqnr_db, 15) << l.node;
}

TEST_F(QuantDigits, QdqLayoutIsOnnxRuntimes) {
  // Oracle: onnxruntime quantize_static(QDQ) layout, node by node.
  auto q = compress::quantize_static(*float_, *ranges_, {});
  ASSERT_TRUE(q.ok()) << q.status().message();
  const ir::Graph& g = *q->graph;
  int convs = 0, gemms = 0;
  for (const auto& n : g.nodes) {
    EXPECT_NE(n.op_type, "Relu") << "every Relu follows a quantized op and is folded";
    if (n.op_type != "Conv" && n.op_type != "Gemm") continue;
    (n.op_type == "Conv" ? convs : gemms)++;
    const ir::Node* x = producer(g, n.inputs[0]);
    const ir::Node* w = producer(g, n.inputs[1]);
    const ir::Node* b = producer(g, n.inputs[2]);
    ASSERT_TRUE(x && w && b) << n.name;
    EXPECT_EQ(x->op_type, "DequantizeLinear");
    EXPECT_EQ(g.initializers.at(x->inputs[2]).dtype(), DType::kU8) << "activations uint8";
    EXPECT_EQ(g.initializers.at(x->inputs[1]).numel(), 1) << "activations per tensor";
    ASSERT_EQ(w->op_type, "DequantizeLinear");
    EXPECT_EQ(g.initializers.at(w->inputs[0]).dtype(), DType::kI8) << "weights int8";
    EXPECT_EQ(w->attr("axis")->i, 0) << "Conv axis 0, Gemm transB=1 axis 0";
    const Tensor& wzp = g.initializers.at(w->inputs[2]);
    for (int64_t i = 0; i < wzp.numel(); ++i) EXPECT_EQ(wzp.data<int8_t>()[i], 0) << "symmetric";
    ASSERT_EQ(b->op_type, "DequantizeLinear");
    EXPECT_EQ(g.initializers.at(b->inputs[0]).dtype(), DType::kI32) << "bias int32";
    // bias scale = x_scale * w_scale
    float xs = g.initializers.at(x->inputs[1]).data<float>()[0];
    const Tensor& ws = g.initializers.at(w->inputs[1]);
    const Tensor& bs = g.initializers.at(b->inputs[1]);
    ASSERT_EQ(bs.numel(), ws.numel());
    for (int64_t i = 0; i < ws.numel(); ++i) EXPECT_FLOAT_EQ(bs.data<float>()[i], xs * ws.data<float>()[i]);
  }
  EXPECT_EQ(convs, 3);
  EXPECT_EQ(gemms, 2);
  // The graph output keeps its name and is the dequantized copy.
  const ir::Node* out = producer(g, "logits");
  ASSERT_TRUE(out);
  EXPECT_EQ(out->op_type, "DequantizeLinear");
}

TEST_F(QuantDigits, ExcludeLeavesOpsInFloatAndSaysWhy) {
  compress::QuantizeOptions o;
  o.exclude = {"Gemm", "/features/features.0/Conv"};
  auto q = compress::quantize_static(*float_, *ranges_, o);
  ASSERT_TRUE(q.ok()) << q.status().message();
  EXPECT_EQ(q->report.quantized(), 2);
  int excluded = 0;
  for (const auto& d : q->report.ops) excluded += !d.quantized && d.reason.find("exclude") != std::string::npos;
  EXPECT_EQ(excluded, 3);
  o.exclude = {"no_such_node"};
  auto bad = compress::quantize_static(*float_, *ranges_, o);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("no_such_node"), std::string::npos);
  // Per tensor: scalar weight scales, no axis.
  compress::QuantizeOptions pt;
  pt.per_channel = false;
  auto q2 = compress::quantize_static(*float_, *ranges_, pt);
  ASSERT_TRUE(q2.ok());
  for (const auto& n : q2->graph->nodes) {
    if (n.op_type == "DequantizeLinear") {
      EXPECT_EQ(n.attr("axis"), nullptr);
    }
  }
}

TEST_F(QuantDigits, SymmetricActivationsAreInt8WithZeroPointZero) {
  // Oracles: the layout (int8 activations, zero point 0) and the held-out labels.
  compress::QuantizeOptions o;
  o.symmetric_activations = true;
  auto q = compress::quantize_static(*float_, *ranges_, o);
  ASSERT_TRUE(q.ok()) << q.status().message();
  int pairs = 0;
  for (const auto& n : q->graph->nodes) {
    if (n.op_type != "QuantizeLinear") continue;
    const Tensor& zp = q->graph->initializers.at(n.inputs[2]);
    EXPECT_EQ(zp.dtype(), DType::kI8);
    EXPECT_EQ(zp.data<int8_t>()[0], 0);
    ++pairs;
  }
  EXPECT_EQ(pairs, 10) << "Relus are not folded: their inputs and outputs each get a pair";
  EXPECT_EQ(q->graph->op_histogram()["Relu"], 4);
  auto images = formats::load_npy(kDigits + "test_images.npy");
  auto labels = formats::load_npy(kDigits + "test_labels.npy");
  ASSERT_TRUE(images.ok() && labels.ok());
  auto e = compress::evaluate(*q->graph, *float_, rows_of(*images, "image"), &*labels, *env_);
  ASSERT_TRUE(e.ok()) << e.status().message();
  EXPECT_LE(100 * (*e->reference_accuracy - *e->accuracy), 1.0);
}

TEST_F(QuantDigits, EveryCalibrationMethodKeepsAccuracy) {
  auto calib = formats::load_npy(kDigits + "train_images.npy");
  auto images = formats::load_npy(kDigits + "test_images.npy");
  auto labels = formats::load_npy(kDigits + "test_labels.npy");
  ASSERT_TRUE(calib.ok() && images.ok() && labels.ok());
  for (auto m : {compress::CalibrationMethod::kPercentile, compress::CalibrationMethod::kEntropy,
                 compress::CalibrationMethod::kMse}) {
    auto ranges = compress::calibrate(*float_, rows_of(*calib, "image", 50), m, *env_);
    ASSERT_TRUE(ranges.ok()) << ranges.status().message();
    compress::QuantizeOptions o;
    o.method = m;
    auto q = compress::quantize_static(*float_, *ranges, o);
    ASSERT_TRUE(q.ok()) << q.status().message();
    auto e = compress::evaluate(*q->graph, *float_, rows_of(*images, "image"), &*labels, *env_);
    ASSERT_TRUE(e.ok()) << e.status().message();
    std::printf("digits int8 %s: accuracy %.2f%%\n", compress::calibration_method_name(m), 100 * *e->accuracy);
    EXPECT_LE(100 * (*e->reference_accuracy - *e->accuracy), 1.0) << compress::calibration_method_name(m);
  }
}

// A MatMul + Gemm(transB) + Conv + LSTM graph, quantized dynamically. Oracle: the fp32 graph.
ir::Graph small_graph(std::mt19937& rng) {
  std::normal_distribution<float> nd(0, 0.5f);
  auto rand = [&](Shape s) {
    Tensor t = Tensor::create(DType::kF32, s).value();
    for (int64_t i = 0; i < t.numel(); ++i) t.data<float>()[i] = nd(rng);
    return t;
  };
  ir::Graph g;
  g.opsets[""] = 14;
  g.inputs.push_back({"x", {ir::ValueKind::kTensor, DType::kF32, std::vector<ir::Dim>{{3, ""}, {16, ""}}}});
  g.outputs.push_back({"y", {ir::ValueKind::kTensor, DType::kF32, std::vector<ir::Dim>{{3, ""}, {8, ""}}}});
  g.outputs.push_back({"h", {ir::ValueKind::kTensor, DType::kF32, std::vector<ir::Dim>{{1, ""}, {1, ""}, {6, ""}}}});
  g.initializers["w1"] = rand({16, 24});
  g.initializers["w2"] = rand({8, 24});
  g.initializers["b2"] = rand({8});
  g.initializers["lw"] = rand({1, 4 * 6, 8});
  g.initializers["lr"] = rand({1, 4 * 6, 6});
  g.initializers["shape3"] = Tensor::from_vector<int64_t>(DType::kI64, {3}, {3, 1, 8});
  auto node = [&](std::string name, std::string op, std::vector<std::string> in, std::vector<std::string> out) {
    ir::Node n;
    n.name = name;
    n.op_type = op;
    n.inputs = in;
    n.outputs = out;
    g.nodes.push_back(n);
    return &g.nodes.back();
  };
  node("mm", "MatMul", {"x", "w1"}, {"a"});
  ir::Node* gemm = node("gemm", "Gemm", {"a", "w2", "b2"}, {"y"});
  ir::Attribute tb;
  tb.name = "transB";
  tb.i = 1;
  gemm->attributes["transB"] = tb;
  node("reshape", "Reshape", {"y", "shape3"}, {"seq"});
  ir::Node* lstm = node("lstm", "LSTM", {"seq", "lw", "lr"}, {"", "h"});
  ir::Attribute hs;
  hs.name = "hidden_size";
  hs.i = 6;
  lstm->attributes["hidden_size"] = hs;
  return g;
}

TEST(QuantDynamic, MatMulIntegerAndWeightOnlyLstmMatchFloat) {
  std::mt19937 rng(7);
  ir::Graph g = small_graph(rng);
  auto q = compress::quantize_dynamic(g, {});
  ASSERT_TRUE(q.ok()) << q.status().message();
  std::map<std::string, int> ops = q->graph->op_histogram();
  EXPECT_EQ(ops["MatMulInteger"], 2);
  EXPECT_EQ(ops["DynamicQuantizeLinear"], 2);
  EXPECT_EQ(ops["DequantizeLinear"], 2) << "LSTM W and R";
  EXPECT_EQ(ops["MatMul"] + ops["Gemm"], 0);
  EXPECT_EQ(q->report.quantized(), 3);
  EXPECT_LT(q->report.weight_bytes_after, q->report.weight_bytes_before / 2);
  auto bytes = formats::export_onnx_bytes(*q->graph, checked());
  ASSERT_TRUE(bytes.ok()) << bytes.status().message();

  Tensor x = Tensor::create(DType::kF32, {3, 16}).value();
  std::normal_distribution<float> nd(0, 1);
  for (int64_t i = 0; i < x.numel(); ++i) x.data<float>()[i] = nd(rng);
  auto env = Env::create(1);
  std::vector<std::vector<runtime::Value>> outs;
  for (std::shared_ptr<const ir::Graph> m : {std::make_shared<const ir::Graph>(g), std::shared_ptr<const ir::Graph>(std::move(q->graph))}) {
    auto s = runtime::Session::create(m, *env);
    ASSERT_TRUE(s.ok()) << s.status().message();
    auto o = (*s)->run({{"x", runtime::Value::of(x)}});
    ASSERT_TRUE(o.ok()) << o.status().message();
    outs.push_back(std::move(*o));
  }
  for (int k = 0; k < 2; ++k) {
    const Tensor& f = outs[0][k].tensor;
    const Tensor& i8 = outs[1][k].tensor;
    ASSERT_EQ(f.shape(), i8.shape());
    double sig = 0, err = 0;
    for (int64_t i = 0; i < f.numel(); ++i) {
      sig += f.data<float>()[i] * f.data<float>()[i];
      err += std::pow(f.data<float>()[i] - i8.data<float>()[i], 2);
    }
    double sqnr = 10 * std::log10(sig / err);
    EXPECT_GT(sqnr, 25) << "output " << k;
  }
}

TEST(QuantStatic, MatMulAxisOneGemmAxisZeroAgainstFloat) {
  // Static QDQ on MatMul ([K, N] weight: per channel along axis 1) and Gemm transB=1 (axis 0).
  // Oracles: the layout, and the fp32 graph's outputs (SQNR).
  std::mt19937 rng(11);
  ir::Graph g = small_graph(rng);
  g.nodes.resize(2);  // MatMul and Gemm
  g.outputs.resize(1);
  std::vector<CalibrationSample> samples;
  std::normal_distribution<float> nd(0, 1);
  for (int i = 0; i < 8; ++i) {
    Tensor x = Tensor::create(DType::kF32, {3, 16}).value();
    for (int64_t k = 0; k < x.numel(); ++k) x.data<float>()[k] = nd(rng);
    samples.push_back({{"x", runtime::Value::of(x)}});
  }
  auto env = Env::create(1);
  auto ranges = compress::calibrate(g, samples, compress::CalibrationMethod::kMinMax, *env);
  ASSERT_TRUE(ranges.ok()) << ranges.status().message();
  auto q = compress::quantize_static(g, *ranges, {});
  ASSERT_TRUE(q.ok()) << q.status().message();
  EXPECT_EQ(q->report.quantized(), 2);
  for (const auto& n : q->graph->nodes) {
    if (n.op_type != "MatMul" && n.op_type != "Gemm") continue;
    const ir::Node* w = producer(*q->graph, n.inputs[1]);
    ASSERT_TRUE(w && w->attr("axis"));
    EXPECT_EQ(w->attr("axis")->i, n.op_type == "MatMul" ? 1 : 0) << n.name;
  }
  auto e = compress::evaluate(*q->graph, g, samples, nullptr, *env);
  ASSERT_TRUE(e.ok()) << e.status().message();
  EXPECT_GT(e->outputs[0].sqnr_db, 25);
}

TEST(QuantDynamic, ExcludeAndBadInput) {
  std::mt19937 rng(3);
  ir::Graph g = small_graph(rng);
  compress::QuantizeOptions o;
  o.exclude = {"LSTM", "mm"};
  auto q = compress::quantize_dynamic(g, o);
  ASSERT_TRUE(q.ok()) << q.status().message();
  EXPECT_EQ(q->report.quantized(), 1);
  EXPECT_EQ(q->graph->op_histogram()["MatMul"], 1);
  o.exclude = {"ls*"};  // a shell pattern on node names
  auto p = compress::quantize_dynamic(g, o);
  ASSERT_TRUE(p.ok()) << p.status().message();
  EXPECT_EQ(p->report.quantized(), 2);
  o.exclude = {"Softmax"};
  EXPECT_FALSE(compress::quantize_dynamic(g, o).ok());
  // Static mode needs opset 10 (QuantizeLinear).
  g.opsets[""] = 9;
  auto old = compress::quantize_static(g, {}, {});
  ASSERT_FALSE(old.ok());
  EXPECT_NE(old.status().message().find("opset"), std::string::npos);
}

}  // namespace
}  // namespace edgeai
