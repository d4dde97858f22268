// `edgeai convert MODEL.onnx OUT.onnx --external-data` and `--mmap` on run and bench. Oracles: the
// outputs of `edgeai run` on the original model (read, not mapped), byte for byte, and the weight
// bytes the model holds (every one must be used in place from an aligned external-data file).
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "cli_test_util.h"
#include "formats/onnx/onnx_import.h"

namespace edgeai {
namespace {

namespace fs = std::filesystem;
using edgeai::testing::CmdResult;
using edgeai::testing::run_cli;

const std::string kDigitsDir = std::string(EDGEAI_SOURCE_DIR) + "/models/digits/";
const std::string kDigits = kDigitsDir + "digits_cnn.onnx";

std::string read_all(const fs::path& p) {
  std::ifstream f(p, std::ios::binary);
  std::ostringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

class MmapCli : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("edgeai_mmap_cli_" + std::to_string(::getpid()));
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string path(const std::string& name) const { return (dir_ / name).string(); }
  fs::path dir_;
};

TEST_F(MmapCli, ConvertThenRunMappedGivesTheSameOutputs) {
  CmdResult c = run_cli("convert " + kDigits + " " + path("digits.onnx") + " --external-data");
  ASSERT_EQ(c.exit_code, 0) << c.all;
  EXPECT_NE(c.out.find("digits.onnx.data"), std::string::npos) << c.out;
  ASSERT_TRUE(fs::exists(path("digits.onnx.data")));

  const std::string input = " --input image=" + kDigitsDir + "test_images.npy";
  CmdResult a = run_cli("run " + kDigits + input + " -o " + path("read"));
  CmdResult b = run_cli("run " + path("digits.onnx") + input + " --mmap -o " + path("mapped"));
  CmdResult d = run_cli("run " + kDigits + input + " --mmap -o " + path("mapped_in_file"));
  ASSERT_EQ(a.exit_code, 0) << a.all;
  ASSERT_EQ(b.exit_code, 0) << b.all;
  ASSERT_EQ(d.exit_code, 0) << d.all;
  int outputs = 0;
  for (const auto& e : fs::directory_iterator(path("read"))) {
    const std::string want = read_all(e.path());
    EXPECT_EQ(read_all(dir_ / "mapped" / e.path().filename()), want) << e.path().filename();
    EXPECT_EQ(read_all(dir_ / "mapped_in_file" / e.path().filename()), want) << e.path().filename();
    ++outputs;
  }
  EXPECT_GT(outputs, 0);
}

TEST_F(MmapCli, BenchReportsWeightsUsedInPlace) {
  // Every initializer (min-bytes 0) in the external file: all the model's weight bytes in place.
  CmdResult c = run_cli("convert " + kDigits + " " + path("d.onnx") + " --external-data w.bin --min-bytes 0");
  ASSERT_EQ(c.exit_code, 0) << c.all;
  auto model = formats::load_onnx(kDigits);
  ASSERT_TRUE(model.ok());
  const int64_t weight_bytes = model->graph->parameter_bytes();

  CmdResult r = run_cli("bench " + path("d.onnx") + " -t 1 -k 3 -w 1 --json --mmap");
  ASSERT_EQ(r.exit_code, 0) << r.all;
  auto j = nlohmann::json::parse(r.out, nullptr, false);
  ASSERT_FALSE(j.is_discarded()) << r.out;
  EXPECT_TRUE(j["mmap"].get<bool>());
  EXPECT_EQ(j["weights_in_place_bytes"].get<int64_t>(), weight_bytes);
  EXPECT_EQ(j["weights_copied_bytes"].get<int64_t>(), 0);

  r = run_cli("bench " + path("d.onnx") + " -t 1 -k 3 -w 1 --json");
  ASSERT_EQ(r.exit_code, 0) << r.all;
  j = nlohmann::json::parse(r.out, nullptr, false);
  EXPECT_FALSE(j["mmap"].get<bool>());
  EXPECT_EQ(j["weights_in_place_bytes"].get<int64_t>(), 0);
  EXPECT_EQ(j["weights_copied_bytes"].get<int64_t>(), weight_bytes);

  r = run_cli("bench " + path("d.onnx") + " -t 1 -k 3 -w 1 --mmap");
  ASSERT_EQ(r.exit_code, 0) << r.all;
  EXPECT_NE(r.out.find("mapped:"), std::string::npos) << r.out;
}

TEST_F(MmapCli, BadRequestsFailClearly) {
  auto expect_error = [](const CmdResult& r, const std::string& what) {
    EXPECT_NE(r.exit_code, 0) << r.all;
    EXPECT_NE(r.all.find(what), std::string::npos) << r.all;
  };
  expect_error(run_cli("bench " + kDigits + " --mmap --no-mmap -k 1"), "contradict");
  fs::copy_file(kDigits, path("same.onnx"));
  expect_error(run_cli("convert " + path("same.onnx") + " " + path("same.onnx") + " --external-data"),
               "the output is the input");
  expect_error(run_cli("convert " + kDigits + " " + path("x.gguf")), "must be an .onnx file");
  expect_error(run_cli("convert " + kDigits + " " + path("x.onnx") + " --tokenizer t.bin"), "llama2.c");
  expect_error(run_cli("convert " + kDigits + " " + path("x.onnx") + " --external-data --alignment 48"),
               "power of two");
  expect_error(run_cli("convert " + kDigits + " " + path("x.onnx") + " --external-data sub/w.bin"),
               "file name in the model's folder");
  expect_error(run_cli("convert " + path("missing.onnx") + " " + path("x.onnx")), "not found");
  // A mapped model whose external file went missing.
  ASSERT_EQ(run_cli("convert " + kDigits + " " + path("e.onnx") + " --external-data").exit_code, 0);
  fs::remove(path("e.onnx.data"));
  expect_error(run_cli("run " + path("e.onnx") + " --mmap --input image=" + kDigitsDir + "test_images.npy -o " +
                       path("o")),
               "not found");
}

}  // namespace
}  // namespace edgeai
