// `edgeai train|prune|distill|qat` end to end on the bundled digits CNN, and their errors on bad
// input (a one-line message naming the problem, non-zero exit, never a crash). Oracles: held-out
// accuracy thresholds of issue 8, the exit status and the message text.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>

#include "compress/train_test_util.h"
#include "formats/onnx/onnx_export.h"
#include "formats/onnx/onnx_import.h"
#include "formats/tensor_io/npy.h"

#include "cli_test_util.h"

namespace edgeai::compress::train {
namespace {

namespace fs = std::filesystem;
using namespace testing;

const std::string kDigits = std::string(EDGEAI_SOURCE_DIR) + "/models/digits/";
const std::string kData = "--data " + kDigits + "train_images.npy --labels " + kDigits + "train_labels.npy --eval-data " +
                          kDigits + "test_images.npy --eval-labels " + kDigits + "test_labels.npy -q";

using edgeai::testing::CmdResult;
using edgeai::testing::run_cli;

class TrainCli : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("edgeai_train_" + std::to_string(::getpid()) + "_" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string path(const std::string& f) const { return (dir_ / f).string(); }
  void expect_error(const std::string& args, const std::string& needle) {
    CmdResult r = run_cli(args);
    EXPECT_FALSE(r.signaled) << r.all;
    EXPECT_NE(r.exit_code, 0) << r.all;
    EXPECT_NE(r.all.find(needle), std::string::npos) << "expected '" << needle << "' in: " << r.all;
  }
  fs::path dir_;
};

TEST_F(TrainCli, LabelsCountMismatch) {
  ASSERT_TRUE(formats::save_npy(path("few.npy"), Tensor::from_vector<int64_t>(DType::kI64, {5}, {0, 1, 2, 3, 4})).ok());
  expect_error("train " + kDigits + "digits_cnn.onnx " + path("o.onnx") + " --data " + kDigits + "test_images.npy --labels " +
                   path("few.npy"),
               "5 labels for 360 inputs");
}

TEST_F(TrainCli, LabelOutOfRange) {
  Tensor labels = formats::load_npy(kDigits + "test_labels.npy").value().clone();
  labels.data<int64_t>()[7] = 12;
  ASSERT_TRUE(formats::save_npy(path("bad.npy"), labels).ok());
  expect_error("prune " + kDigits + "digits_cnn.onnx " + path("o.onnx") + " --data " + kDigits + "test_images.npy --labels " +
                   path("bad.npy"),
               "label 12 of sample 7 is outside the model's 10 classes");
}

TEST_F(TrainCli, ModelWithoutTrainableInitializers) {
  ir::Graph g = make_graph({node("Relu", {"feed"}, {"y"})}, {});
  ASSERT_TRUE(formats::save_onnx(g, path("relu.onnx")).ok());
  expect_error("train " + path("relu.onnx") + " " + path("o.onnx") + " " + kData, "no trainable initializers");
}

TEST_F(TrainCli, UnknownOpInBackward) {
  ir::Graph g = make_graph({node("Gemm", {"feed", "w"}, {"h"}), node("Floor", {"h"}, {"y"})}, {{"w", random_tensor({64, 10}, 1)}});
  ASSERT_TRUE(formats::save_onnx(g, path("floor.onnx")).ok());
  expect_error("train " + path("floor.onnx") + " " + path("o.onnx") + " " + kData, "(Floor): no backward rule");
}

TEST_F(TrainCli, BadPruneOptions) {
  const std::string base = "prune " + kDigits + "digits_cnn.onnx " + path("o.onnx") + " " + kData;
  expect_error(base + " --target-sparsity 1.5", "--target-sparsity must be in [0, 1)");
  expect_error(base + " --target-sparsity -0.1", "--target-sparsity must be in [0, 1)");
  expect_error(base + " --method 3:8", "unknown --method");
  expect_error(base + " --scope everywhere", "unknown --scope");
  expect_error("train " + kDigits + "digits_cnn.onnx " + path("o.onnx") + " " + kData + " --optimizer rmsprop", "unknown optimizer");
  expect_error("train " + kDigits + "digits_cnn.onnx " + path("o.onnx") + " --data " + path("missing.csv"), "no such file");
}

TEST_F(TrainCli, EngineRejectsOpWithoutBackward) {
  ir::Graph g = make_graph({node("Gemm", {"feed", "w"}, {"h"}), node("Floor", {"h"}, {"y"})}, {{"w", random_tensor({4, 3}, 1)}});
  auto t = Trainable::create(std::move(g));
  ASSERT_FALSE(t.ok());
  EXPECT_NE(t.status().message().find("node 'Floor_y' (Floor): no backward rule"), std::string::npos) << t.status().message();
}

// Magnitude pruning to 50% of the digits CNN loses at most 0.5 points of held-out accuracy
// (issue 8), and the written model has exactly that sparsity.
// Under ASan (about 5x slower) a shorter fine-tune checks the sparsity and a looser bound.
#if defined(__SANITIZE_ADDRESS__)
constexpr int kPruneSteps = 60;
constexpr double kMaxLoss = 0.05;
#else
constexpr int kPruneSteps = 600;
constexpr double kMaxLoss = 0.005;
#endif
TEST_F(TrainCli, PruneMagnitude50) {
  CmdResult r = run_cli("prune " + kDigits + "digits_cnn.onnx " + path("p.onnx") + " --target-sparsity 0.5 --steps " +
                            std::to_string(kPruneSteps) + " --reps 5 --json " + kData);
  ASSERT_EQ(r.exit_code, 0) << r.all;
  auto j = nlohmann::json::parse(r.out);
  EXPECT_NEAR(j["weight_sparsity"].get<double>(), 0.5, 0.001);
  EXPECT_NEAR(j["accuracy_before"].get<double>(), 358.0 / 360, 1e-9);
  EXPECT_GE(j["accuracy_after"].get<double>(), j["accuracy_before"].get<double>() - kMaxLoss) << r.all;
  EXPECT_TRUE(fs::exists(path("p.onnx")));
}

}  // namespace
}  // namespace edgeai::compress::train
