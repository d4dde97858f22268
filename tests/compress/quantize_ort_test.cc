// Quantized models made by `edgeai quantize`, checked against ONNX Runtime and the fp32 model.
// scripts/check_quantize.sh (ctest quantize_vs_onnxruntime) makes the files and runs these tests with
// EDGEAI_QUANT_CHECK=DIR; without the variable they skip. DIR holds:
//   digits_int8.onnx        edgeai quantize models/digits/digits_cnn.onnx (static, 200 of train_images.npy)
//   ort/logits.npy          ONNX Runtime's logits of digits_int8.onnx on test_images.npy
//   digits_dynamic.onnx, ort_dynamic/logits.npy   the same for --mode dynamic
//   vad_ref/                ort_reference.js vad on the fp32 Silero VAD v5 (audio.npy, probs.npy, ...)
//   vad_int8.onnx           edgeai quantize silero_vad_v5.onnx --mode dynamic
//   vad_int8_ort/probs.npy  ONNX Runtime's probabilities of vad_int8.onnx on the same audio
//   transformer_int8.onnx, transformer_in/input.npy, transformer_ort/output.npy (when the script
//                           made them): the QDQ transformer encoder and ONNX Runtime's output
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <filesystem>

#include "core/env.h"
#include "formats/onnx/onnx_import.h"
#include "formats/tensor_io/npy.h"
#include "passes/optimize.h"
#include "runtime/session.h"

namespace edgeai {
namespace {

namespace fs = std::filesystem;

fs::path check_dir() {
  const char* d = std::getenv("EDGEAI_QUANT_CHECK");
  return d && *d ? fs::path(d) : fs::path();
}

Tensor load(const fs::path& p) {
  auto t = formats::load_npy(p.string());
  if (!t.ok()) {
    ADD_FAILURE() << p << ": " << t.status().message();
    return Tensor();
  }
  return std::move(t).value();
}

int64_t argmax_row(const float* p, int64_t n) { return std::max_element(p, p + n) - p; }

// The digits CNN quantized by edgeai against ONNX Runtime's run of the same file and the labels.
void check_digits(const std::string& file, const std::string& ort_dir, double max_size_ratio) {
  fs::path dir = check_dir();
  if (dir.empty()) GTEST_SKIP() << "EDGEAI_QUANT_CHECK is not set (scripts/check_quantize.sh sets it)";
  const fs::path digits = fs::path(EDGEAI_SOURCE_DIR) / "models" / "digits";
  auto m = formats::load_onnx((dir / file).string());
  ASSERT_TRUE(m.ok()) << m.status().message();
  auto f = formats::load_onnx((digits / "digits_cnn.onnx").string());
  ASSERT_TRUE(f.ok()) << f.status().message();
  Tensor images = load(digits / "test_images.npy"), labels = load(digits / "test_labels.npy");
  Tensor ort = load(dir / ort_dir / "logits.npy");
  if (::testing::Test::HasFailure()) return;
  auto env = Env::create(1);
  std::vector<Tensor> logits;
  for (auto* g : {&m->graph, &f->graph}) {
    auto s = runtime::Session::create(std::shared_ptr<const ir::Graph>(std::move(*g)), *env);
    ASSERT_TRUE(s.ok()) << s.status().message();
    auto out = (*s)->run({{"image", runtime::Value::of(images)}});
    ASSERT_TRUE(out.ok()) << out.status().message();
    logits.push_back((*out)[0].tensor);
  }
  ASSERT_EQ(logits[0].shape(), ort.shape());
  const int64_t n = ort.dim(0), c = ort.dim(1);
  int64_t same_as_ort = 0, correct = 0, correct_fp32 = 0;
  double max_err = 0;
  for (int64_t i = 0; i < n; ++i) {
    const float* a = logits[0].data<float>() + i * c;
    const float* b = ort.data<float>() + i * c;
    for (int64_t k = 0; k < c; ++k) max_err = std::max(max_err, static_cast<double>(std::fabs(a[k] - b[k])));
    same_as_ort += argmax_row(a, c) == argmax_row(b, c);
    correct += argmax_row(a, c) == labels.get_int(i);
    correct_fp32 += argmax_row(logits[1].data<float>() + i * c, c) == labels.get_int(i);
  }
  const double size_ratio = static_cast<double>(fs::file_size(dir / file)) /
                            static_cast<double>(fs::file_size(digits / "digits_cnn.onnx"));
  std::printf("[ quant    ] %s: accuracy %.2f%% (fp32 %.2f%%), same top-1 as ONNX Runtime on %lld of %lld "
              "(max |logit diff| %.4g), size %.3fx\n",
              file.c_str(), 100.0 * correct / n, 100.0 * correct_fp32 / n, static_cast<long long>(same_as_ort),
              static_cast<long long>(n), max_err, size_ratio);
  EXPECT_EQ(same_as_ort, n) << "ONNX Runtime's int8 predictions differ from edgeai's";
  EXPECT_LE(100.0 * (correct_fp32 - correct) / n, 0.5) << "accuracy drop over 0.5 points";
  EXPECT_LE(size_ratio, max_size_ratio);
}

TEST(QuantOrt, DigitsStaticInt8MatchesOnnxRuntimeAndLabels) { check_digits("digits_int8.onnx", "ort", 0.30); }

TEST(QuantOrt, DigitsDynamicInt8MatchesOnnxRuntimeAndLabels) {
  check_digits("digits_dynamic.onnx", "ort_dynamic", 0.32);
}

// Silero VAD over the recordings, state carried frame to frame; returns the probabilities.
std::vector<float> run_vad(const fs::path& model, const Tensor& audio, const Tensor& sr, const Tensor& state0) {
  std::vector<float> probs;
  auto m = formats::load_onnx(model.string());
  if (!m.ok()) {
    ADD_FAILURE() << m.status().message();
    return probs;
  }
  auto env = Env::create(1);
  auto s = runtime::Session::create(std::shared_ptr<const ir::Graph>(std::move(m->graph)), *env);
  if (!s.ok()) {
    ADD_FAILURE() << s.status().message();
    return probs;
  }
  Tensor state = state0.clone();
  const int64_t frames = audio.dim(0), len = audio.dim(1);
  for (int64_t f = 0; f < frames; ++f) {
    Tensor in = Tensor::create(DType::kF32, {1, len}).value();
    std::memcpy(in.raw(), audio.data<float>() + f * len, len * sizeof(float));
    auto out = (*s)->run({{"input", runtime::Value::of(in)}, {"state", runtime::Value::of(state)}, {"sr", runtime::Value::of(sr)}});
    if (!out.ok()) {
      ADD_FAILURE() << "frame " << f << ": " << out.status().message();
      return probs;
    }
    probs.push_back((*out)[0].tensor.data<float>()[0]);
    state = (*out)[1].tensor.clone();
  }
  return probs;
}

double decision_agreement(const std::vector<float>& a, const float* b, int64_t n) {
  int64_t same = 0;
  for (int64_t i = 0; i < n; ++i) same += (a[i] > 0.5f) == (b[i] > 0.5f);
  return n ? static_cast<double>(same) / n : 0;
}

TEST(QuantOrt, VadDynamicInt8DecisionsAgreeWithFp32) {
  fs::path dir = check_dir();
  if (dir.empty()) GTEST_SKIP() << "EDGEAI_QUANT_CHECK is not set (scripts/check_quantize.sh sets it)";
  const fs::path ref = dir / "vad_ref";
  Tensor audio = load(ref / "audio.npy"), sr = load(ref / "sr.npy"), state0 = load(ref / "state0.npy");
  Tensor fp32 = load(ref / "probs.npy");
  if (HasFailure()) return;
  std::vector<float> ours = run_vad(dir / "vad_int8.onnx", audio, sr, state0);
  ASSERT_EQ(static_cast<int64_t>(ours.size()), fp32.numel());
  const int64_t n = fp32.numel();
  int64_t speech = 0;
  double max_diff = 0;
  for (int64_t i = 0; i < n; ++i) {
    speech += fp32.data<float>()[i] > 0.5f;
    max_diff = std::max(max_diff, static_cast<double>(std::fabs(ours[i] - fp32.data<float>()[i])));
  }
  const double agree = decision_agreement(ours, fp32.data<float>(), n);
  std::printf("[ quant    ] vad int8 (dynamic): %lld frames (%lld speech in fp32), decisions agree with fp32 on %.2f%%, "
              "max |p diff| %.4f\n", static_cast<long long>(n), static_cast<long long>(speech), 100 * agree, max_diff);
  EXPECT_GE(agree, 0.99);
  // ONNX Runtime runs the same int8 model: its decisions agree with fp32 too.
  const fs::path ort = dir / "vad_int8_ort" / "probs.npy";
  if (fs::exists(ort)) {
    Tensor p = load(ort);
    ASSERT_EQ(p.numel(), n);
    std::vector<float> op(p.data<float>(), p.data<float>() + n);
    const double ort_agree = decision_agreement(op, fp32.data<float>(), n);
    std::printf("[ quant    ] vad int8 in ONNX Runtime: decisions agree with fp32 on %.2f%%, with edgeai on %.2f%%\n",
                100 * ort_agree, 100 * decision_agreement(ours, p.data<float>(), n));
    EXPECT_GE(ort_agree, 0.99);
  } else {
    ADD_FAILURE() << ort << " is missing: ONNX Runtime did not run the int8 VAD";
  }
}

// The QDQ transformer encoder (quantize_qdq.py): its 12 quantized MatMuls fuse into QLinearMatMul
// (the integer kernels), and the output equals ONNX Runtime's int8 run up to float rounding in the
// float ops between them (attention, LayerNormalization): the quantized values are the same.
TEST(QuantOrt, QdqTransformerMatchesOnnxRuntime) {
  fs::path dir = check_dir();
  if (dir.empty()) GTEST_SKIP() << "EDGEAI_QUANT_CHECK is not set (scripts/check_quantize.sh sets it)";
  if (!fs::exists(dir / "transformer_int8.onnx")) GTEST_SKIP() << "no transformer_int8.onnx (no fp32 export here)";
  auto m = formats::load_onnx((dir / "transformer_int8.onnx").string());
  ASSERT_TRUE(m.ok()) << m.status().message();
  Tensor input = load(dir / "transformer_in" / "input.npy"), ort = load(dir / "transformer_ort" / "output.npy");
  if (HasFailure()) return;
  ir::Graph fused = *m->graph;
  ASSERT_TRUE(passes::optimize_graph(fused, {}).ok());
  int qmatmul = 0, matmul = 0;
  for (const auto& n : fused.nodes) {
    qmatmul += n.op_type == "QLinearMatMul";
    matmul += n.op_type == "MatMul";
  }
  EXPECT_EQ(qmatmul, 12);  // in_proj, linear1, linear2 of 4 layers
  EXPECT_EQ(matmul, 8);    // attention's QK^T and PV stay float
  for (int threads : {1, 2}) {
    auto env = Env::create(threads);
    auto s = runtime::Session::create(std::make_shared<const ir::Graph>(*m->graph), *env);
    ASSERT_TRUE(s.ok()) << s.status().message();
    auto out = (*s)->run({{"input", runtime::Value::of(input)}});
    ASSERT_TRUE(out.ok()) << out.status().message();
    const Tensor& y = (*out)[0].tensor;
    ASSERT_EQ(y.shape(), ort.shape());
    double max_diff = 0, max_abs = 0;
    int64_t close = 0;
    for (int64_t i = 0; i < y.numel(); ++i) {
      const double d = std::fabs(double(y.data<float>()[i]) - ort.data<float>()[i]);
      max_diff = std::max(max_diff, d);
      max_abs = std::max(max_abs, std::fabs(double(ort.data<float>()[i])));
      close += d <= 1e-4;
    }
    std::printf("[ quant    ] QDQ transformer, %d threads: max |edgeai - ORT| %.3g (max |y| %.3g), %.2f%% within 1e-4\n",
                threads, max_diff, max_abs, 100.0 * close / y.numel());
    EXPECT_GE(close, y.numel() * 999 / 1000);  // a value one step apart somewhere moves its row a little
    EXPECT_LE(max_diff, 0.05 * max_abs);
  }
}

}  // namespace
}  // namespace edgeai
