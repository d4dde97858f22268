// `edgeai bench` on ONNX models (a contract): the JSON report's fields and their sanity, the
// human report, --profile's time per op type, --input files, and clear errors. The fixture is the
// bundled digits CNN (models/digits).
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "formats/tensor_io/npy.h"
#include "cli_test_util.h"

namespace edgeai {
namespace {

using edgeai::testing::CmdResult;
using edgeai::testing::run_cli;

const std::string kDigits = std::string(EDGEAI_SOURCE_DIR) + "/models/digits/digits_cnn.onnx";

TEST(BenchCli, JsonReport) {
  CmdResult r = run_cli("bench " + kDigits + " --threads 2 --iterations 7 --warmup 2 --json --profile");
  ASSERT_EQ(r.exit_code, 0) << r.all;
  auto j = nlohmann::json::parse(r.out, nullptr, false);
  ASSERT_FALSE(j.is_discarded()) << r.out;
  EXPECT_EQ(j["threads"].get<int>(), 2);
  EXPECT_EQ(j["iterations"].get<int>(), 7);
  EXPECT_GT(j["load_ms"].get<double>(), 0);
  EXPECT_GT(j["first_run_ms"].get<double>(), 0);
  const auto& lat = j["latency_ms"];
  EXPECT_GT(lat["min"].get<double>(), 0);
  EXPECT_LE(lat["min"].get<double>(), lat["median"].get<double>());
  EXPECT_LE(lat["median"].get<double>(), lat["p90"].get<double>());
  EXPECT_GT(j["throughput_per_s"].get<double>(), 0);
  EXPECT_GT(j["base_rss_bytes"].get<int64_t>(), 0);
  EXPECT_GE(j["peak_rss_bytes"].get<int64_t>(), j["base_rss_bytes"].get<int64_t>());
  EXPECT_EQ(j["model_rss_bytes"].get<int64_t>(),
            j["peak_rss_bytes"].get<int64_t>() - j["base_rss_bytes"].get<int64_t>());
  EXPECT_LE(j["nodes"]["optimized"].get<int>(), j["nodes"]["model"].get<int>());
  EXPECT_FALSE(j["int8"].get<bool>());
  ASSERT_TRUE(j["profile"].is_array());
  ASSERT_FALSE(j["profile"].empty());
  bool conv = false;
  for (const auto& p : j["profile"]) {
    EXPECT_GE(p["ms_per_run"].get<double>(), 0);
    conv = conv || p["op"].get<std::string>().find("Conv") != std::string::npos;
  }
  EXPECT_TRUE(conv) << j["profile"].dump();
  ASSERT_TRUE(j["slowest_nodes"].is_array());
  ASSERT_FALSE(j["slowest_nodes"].empty());
  EXPECT_LE(j["slowest_nodes"].size(), 10u);
  const auto& first = j["slowest_nodes"][0];
  EXPECT_FALSE(first["node"].get<std::string>().empty());
  EXPECT_GE(first["ms_per_run"].get<double>(), j["slowest_nodes"].back()["ms_per_run"].get<double>());
}

TEST(BenchCli, HumanReportAndInputFile) {
  // The first 4 test images as the input (the model takes [N,1,8,8]; the file's N is used).
  auto images = formats::load_npy(std::string(EDGEAI_SOURCE_DIR) + "/models/digits/test_images.npy");
  ASSERT_TRUE(images.ok());
  std::string in = (std::filesystem::temp_directory_path() / ("edgeai_bench_in_" + std::to_string(::getpid()) + ".npy")).string();
  ASSERT_TRUE(formats::save_npy(in, *images).ok());
  CmdResult r = run_cli("bench " + kDigits + " -t 1 -k 3 -w 0 --input image=" + in);
  std::filesystem::remove(in);
  ASSERT_EQ(r.exit_code, 0) << r.all;
  for (const char* s : {"latency", "median", "p90", "throughput", "peak RSS", "load"}) {
    EXPECT_NE(r.out.find(s), std::string::npos) << s << " in " << r.out;
  }
}

TEST(BenchCli, PassesOffAndReferenceKernels) {
  CmdResult r = run_cli("bench " + kDigits + " -t 1 -k 2 -w 0 --json --no-optimize --reference");
  ASSERT_EQ(r.exit_code, 0) << r.all;
  auto j = nlohmann::json::parse(r.out, nullptr, false);
  EXPECT_FALSE(j["optimize"].get<bool>());
  EXPECT_TRUE(j["reference_only"].get<bool>());
  EXPECT_EQ(j["nodes"]["optimized"].get<int>(), j["nodes"]["model"].get<int>());
}

TEST(BenchCli, ClearErrors) {
  auto expect_error = [](const CmdResult& c, const std::string& what) {
    EXPECT_FALSE(c.signaled) << c.all;
    EXPECT_NE(c.exit_code, 0) << c.all;
    EXPECT_NE(c.all.find("edgeai: error:"), std::string::npos) << c.all;
    EXPECT_NE(c.all.find(what), std::string::npos) << "expected '" << what << "' in: " << c.all;
  };
  expect_error(run_cli("bench /nonexistent/model.onnx"), "model.onnx");
  expect_error(run_cli("bench " + kDigits + " --iterations 0"), "--iterations");
  expect_error(run_cli("bench " + kDigits + " --input image"), "NAME=FILE");
  expect_error(run_cli("bench " + kDigits + " --input nope=/nonexistent.npy"), "nonexistent");
}

}  // namespace
}  // namespace edgeai
