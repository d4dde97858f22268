// `edgeai quantize` (ONNX) and `edgeai eval` through the command line. Oracles: the exit status and
// the message text for bad input; the JSON summary and the fp32 model's labels for the good path.
// Runs the binary at EDGEAI_CLI (tests/CMakeLists.txt leaves this file out of builds without it).
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>

#include "cli_test_util.h"
#include "core/tensor.h"
#include "formats/tensor_io/npy.h"

namespace {

namespace fs = std::filesystem;

using edgeai::testing::CmdResult;
using edgeai::testing::run_cli;

const std::string kDigits = std::string(EDGEAI_SOURCE_DIR) + "/models/digits/";

class QuantCli : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("edgeai_quant_" + std::to_string(::getpid()) + "_" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string path(const std::string& f) const { return (dir_ / f).string(); }
  // Expects a clean failure whose message contains `want`.
  void expect_error(const std::string& args, const std::string& want) {
    CmdResult r = run_cli(args);
    EXPECT_FALSE(r.signaled) << args << "\n" << r.all;
    EXPECT_NE(r.exit_code, 0) << args << "\n" << r.all;
    EXPECT_NE(r.all.find(want), std::string::npos) << args << "\nwanted: " << want << "\ngot: " << r.all;
  }
  fs::path dir_;
};

TEST_F(QuantCli, StaticDigitsJsonSummaryAndEval) {
  const std::string model = kDigits + "digits_cnn.onnx", out = path("int8.onnx");
  CmdResult q = run_cli("quantize " + model + " " + out + " --calibration " + kDigits + "train_images.npy --max-samples 200 --json");
  ASSERT_EQ(q.exit_code, 0) << q.all;
  auto j = nlohmann::json::parse(q.out);
  EXPECT_EQ(j["mode"], "static");
  EXPECT_EQ(j["quantized"].size(), 5u);
  EXPECT_EQ(j["calibration_samples"], 200);
  EXPECT_LE(j["size_ratio"].get<double>(), 0.30);
  CmdResult e = run_cli("eval " + out + " --reference " + model + " --data " + kDigits + "test_images.npy --labels " +
                        kDigits + "test_labels.npy --per-layer --json");
  ASSERT_EQ(e.exit_code, 0) << e.all;
  auto ej = nlohmann::json::parse(e.out);
  EXPECT_GE(ej["agreement"].get<double>(), 0.99);
  EXPECT_NEAR(ej["reference_accuracy"].get<double>(), 358.0 / 360, 1e-9) << "PyTorch's 99.44%";
  EXPECT_LE(ej["reference_accuracy"].get<double>() - ej["accuracy"].get<double>(), 0.005);
  EXPECT_EQ(ej["layers"].size(), 5u);
  // A folder of one-sample .npy files (no batch axis: [1, 8, 8] each) calibrates too.
  fs::create_directories(path("calib"));
  for (int i = 0; i < 3; ++i) {
    auto x = edgeai::Tensor::create(edgeai::DType::kF32, {1, 8, 8}).value();
    for (int64_t k = 0; k < x.numel(); ++k) x.data<float>()[k] = static_cast<float>((k * (i + 1)) % 17) / 16;
    ASSERT_TRUE(edgeai::formats::save_npy(path("calib/s" + std::to_string(i) + ".npy"), x).ok());
  }
  CmdResult f = run_cli("quantize " + model + " " + out + " --calibration " + path("calib") + " --method mse --json");
  ASSERT_EQ(f.exit_code, 0) << f.all;
  EXPECT_EQ(nlohmann::json::parse(f.out)["calibration_samples"], 3);
  // Text summary names what was quantized and the size.
  CmdResult t = run_cli("quantize " + model + " " + out + " --calibration-random 4 --exclude Gemm");
  ASSERT_EQ(t.exit_code, 0) << t.all;
  EXPECT_NE(t.all.find("Conv x3"), std::string::npos) << t.all;
  EXPECT_NE(t.all.find("excluded"), std::string::npos) << t.all;
}

TEST_F(QuantCli, AccuracyTargetKeepsLayersInFloat) {
  // A poor calibration (3 random images) and --min-agreement 1.0 on the test images: quantization
  // must give way until every prediction agrees with fp32 (oracle: the fp32 model); the layers kept
  // in float are named.
  const std::string model = kDigits + "digits_cnn.onnx", out = path("int8.onnx");
  CmdResult q = run_cli("quantize " + model + " " + out + " --calibration-random 3 --min-agreement 1.0 --eval-data " +
                        kDigits + "test_images.npy --json");
  ASSERT_EQ(q.exit_code, 0) << q.all;
  auto j = nlohmann::json::parse(q.out);
  EXPECT_EQ(j["agreement"].get<double>(), 1.0);
  EXPECT_GE(j["kept_for_accuracy"].size(), 1u);
  EXPECT_EQ(j["quantized"].size() + j["kept_for_accuracy"].size(), 5u);
  EXPECT_NE(j["float"][0]["reason"].get<std::string>().find("accuracy"), std::string::npos) << q.all;
  // --max-accuracy-drop 0 against the labels (oracle: the labels; fp32 gets 358 of 360).
  CmdResult d = run_cli("quantize " + model + " " + out + " --calibration-random 3 --max-accuracy-drop 0 --eval-data " +
                        kDigits + "test_images.npy --labels " + kDigits + "test_labels.npy --json");
  ASSERT_EQ(d.exit_code, 0) << d.all;
  auto dj = nlohmann::json::parse(d.out);
  EXPECT_GE(dj["accuracy"].get<double>(), dj["reference_accuracy"].get<double>());
}

TEST_F(QuantCli, BadInputIsAClearError) {
  const std::string model = kDigits + "digits_cnn.onnx", out = path("o.onnx");
  expect_error("quantize " + model + " " + out + " --calibration " + path("missing_dir"), "not found");
  expect_error("quantize " + model + " " + out + " --calibration " + kDigits + "train_images.npy --method kl",
               "unknown calibration method 'kl'");
  expect_error("quantize " + model + " " + out + " --calibration-random 2 --exclude no_such_node", "no_such_node");
  expect_error("quantize " + model + " " + out + " --mode static", "needs --calibration");
  expect_error("quantize " + model + " " + out + " --mode fast", "unknown --mode");
  expect_error("quantize " + model + " " + out + " --max-accuracy-drop 1 --calibration-random 2", "--labels");
  // Wrong-shape calibration data: [N, 1, 4, 4] for a [batch, 1, 8, 8] input.
  auto bad = edgeai::Tensor::create(edgeai::DType::kF32, {3, 1, 4, 4}).value();
  ASSERT_TRUE(edgeai::formats::save_npy(path("bad.npy"), bad).ok());
  expect_error("quantize " + model + " " + out + " --calibration " + path("bad.npy"), "expects [batch,1,8,8]");
  // A folder without samples.
  fs::create_directories(path("empty"));
  expect_error("quantize " + model + " " + out + " --calibration " + path("empty"), "no .npy or .pb");
  // Not an ONNX model.
  std::ofstream(path("junk.onnx")) << "this is not protobuf";
  expect_error("quantize " + path("junk.onnx") + " " + out + " --mode dynamic", "not a valid ONNX model");
  expect_error("quantize " + path("model.txt") + " " + out, "not a .gguf or .onnx model");
  expect_error("quantize " + model + " " + out + " --type q8_0", "--type is for GGUF");
  // eval: labels of the wrong count, missing reference.
  auto labels = edgeai::Tensor::create(edgeai::DType::kI64, {7}).value();
  ASSERT_TRUE(edgeai::formats::save_npy(path("labels.npy"), labels).ok());
  expect_error("eval " + model + " --reference " + model + " --data " + kDigits + "test_images.npy --labels " +
               path("labels.npy"), "labels hold 7 values");
  expect_error("eval " + model + " --reference " + path("nope.onnx") + " --data " + kDigits + "test_images.npy",
               "not found");
  // Unwritable output.
  expect_error("quantize " + model + " /nonexistent-dir/o.onnx --calibration-random 2", "/nonexistent-dir/o.onnx");
}

}  // namespace
