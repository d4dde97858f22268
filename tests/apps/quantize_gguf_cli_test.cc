// `edgeai quantize IN.gguf OUT.gguf --type T` (apps/cli/cmd_quantize_gguf.cc) on a small GGUF made
// here. Oracles: the library's quantizers on the same rows (themselves checked byte for byte
// against llama.cpp in tests/kernels/ggml_quants_test.cc) and llama.cpp's tensor-type rules (norms
// and 1-D tensors kept, output.weight q6_K, k-quant fallbacks for rows not a multiple of 256).
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "core/dtype.h"
#include "core/ggml_type.h"
#include "formats/gguf/gguf.h"
#include "kernels/ggml_quants.h"
#include "cli_test_util.h"

namespace edgeai {
namespace {

using edgeai::testing::CmdResult;
using edgeai::testing::run_cli;

using formats::GgufFile;
using formats::GgufWriter;

constexpr uint32_t T(GgmlType t) { return static_cast<uint32_t>(t); }

class QuantizeGguf : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::path(::testing::TempDir()) / ("edgeai_quantize_" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir_);
    std::mt19937 rng(3);
    std::normal_distribution<float> nd(0.f, 0.5f);
    auto floats = [&](int64_t n) {
      std::vector<float> v(n);
      for (auto& x : v) x = nd(rng);
      return v;
    };
    // name, dims (row length first), stored as
    struct Spec {
      std::string name;
      std::vector<int64_t> dims;
      uint32_t type;
    };
    const std::vector<Spec> specs = {
        {"token_embd.weight", {64, 48}, T(GgmlType::kF32)},        // rows of 64: no k-quant fits
        {"blk.0.attn_norm.weight", {256}, T(GgmlType::kF32)},      // 1-D: kept
        {"blk.0.attn_q.weight", {256, 8}, T(GgmlType::kF32)},
        {"blk.0.ffn_down.weight", {100, 4}, T(GgmlType::kF16)},    // rows of 100: no block fits
        {"blk.0.ffn_up.weight", {512, 3}, T(GgmlType::kF16)},
        {"output.weight", {256, 16}, T(GgmlType::kF32)},
    };
    GgufWriter w;
    w.set_string("general.architecture", "llama");
    w.set_string("general.name", "tiny");
    w.set_u32("llama.block_count", 1);
    w.set_string_array("tokenizer.ggml.tokens", {"a", "b", "c"});
    w.set_u32("general.file_type", 0);
    for (const Spec& s : specs) {
      int64_t n = 1;
      for (int64_t d : s.dims) n *= d;
      std::vector<float> f = floats(n);
      f32_[s.name] = f;
      std::vector<uint8_t> bytes(ggml_row_bytes(s.type, s.dims[0]) * (n / s.dims[0]));
      ASSERT_TRUE(kernels::ggml_quantize_rows(s.type, f.data(), bytes.data(), n / s.dims[0], s.dims[0]).ok());
      if (s.type == T(GgmlType::kF16)) {  // the values the converter will read back
        kernels::ggml_dequantize_row(s.type, bytes.data(), f32_[s.name].data(), n);
      }
      ASSERT_TRUE(w.add_tensor(s.name, s.dims, s.type, std::move(bytes)).ok());
    }
    ASSERT_TRUE(w.write(path("in.gguf")).ok());
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string path(const std::string& f) const { return (dir_ / f).string(); }

  // Checks one output tensor: its type, and for converted tensors the bytes of our quantizer.
  void expect_tensor(const GgufFile& f, const std::string& name, uint32_t type) {
    const formats::GgufTensorInfo* t = f.tensor(name);
    ASSERT_NE(t, nullptr) << name;
    EXPECT_EQ(t->type, type) << name << ": " << ggml_type_info(t->type)->name;
    if (t->type != type || t->dims.size() < 2) return;
    const int64_t row = t->dims[0], rows = t->n_elements / row;
    std::vector<uint8_t> expect(ggml_row_bytes(type, row) * rows);
    ASSERT_TRUE(kernels::ggml_quantize_rows(type, f32_[name].data(), expect.data(), rows, row).ok());
    if (type != T(GgmlType::kF16) || name != "blk.0.ffn_down.weight") {
      EXPECT_EQ(std::vector<uint8_t>(t->data, t->data + t->n_bytes), expect) << name;
    }
  }

  std::filesystem::path dir_;
  std::map<std::string, std::vector<float>> f32_;
};

TEST_F(QuantizeGguf, Q4_0FollowsLlamaCppTypeRules) {
  CmdResult r = run_cli("quantize " + path("in.gguf") + " " + path("q4_0.gguf") + " --type q4_0 --threads 2");
  ASSERT_EQ(r.exit_code, 0) << r.all;
  EXPECT_NE(r.all.find("blk.0.attn_q.weight"), std::string::npos) << r.all;  // a progress line per tensor
  EXPECT_NE(r.all.find("smaller"), std::string::npos) << r.all;
  auto f = GgufFile::open(path("q4_0.gguf"));
  ASSERT_TRUE(f.ok()) << f.status().message();
  expect_tensor(**f, "token_embd.weight", T(GgmlType::kQ4_0));
  expect_tensor(**f, "blk.0.attn_norm.weight", T(GgmlType::kF32));
  expect_tensor(**f, "blk.0.attn_q.weight", T(GgmlType::kQ4_0));
  expect_tensor(**f, "blk.0.ffn_down.weight", T(GgmlType::kF16));
  expect_tensor(**f, "blk.0.ffn_up.weight", T(GgmlType::kQ4_0));
  expect_tensor(**f, "output.weight", T(GgmlType::kQ6_K));
  EXPECT_EQ((*f)->get_int("general.file_type", -1), 2);  // LLAMA_FTYPE_MOSTLY_Q4_0
  EXPECT_EQ((*f)->get_int("general.quantization_version", -1), 2);
  EXPECT_EQ((*f)->get_string("general.name"), "tiny");
  EXPECT_EQ((*f)->get_int("llama.block_count", -1), 1);
  EXPECT_EQ((*f)->get_string_array("tokenizer.ggml.tokens"), (std::vector<std::string>{"a", "b", "c"}));
  EXPECT_EQ((*f)->tensors().size(), 6u);
}

TEST_F(QuantizeGguf, KQuantFallbacksAndPure) {
  ASSERT_EQ(run_cli("quantize " + path("in.gguf") + " " + path("q4k.gguf") + " --type q4_k").exit_code, 0);
  auto f = GgufFile::open(path("q4k.gguf"));
  ASSERT_TRUE(f.ok());
  expect_tensor(**f, "token_embd.weight", T(GgmlType::kQ5_0));  // rows of 64: llama.cpp's q4_K fallback
  expect_tensor(**f, "blk.0.attn_q.weight", T(GgmlType::kQ4_K));
  expect_tensor(**f, "output.weight", T(GgmlType::kQ6_K));
  EXPECT_EQ((*f)->get_int("general.file_type", -1), 14);  // LLAMA_FTYPE_MOSTLY_Q4_K_S

  ASSERT_EQ(run_cli("quantize " + path("in.gguf") + " " + path("pure.gguf") + " --type q5_0 --pure").exit_code, 0);
  auto p = GgufFile::open(path("pure.gguf"));
  ASSERT_TRUE(p.ok());
  expect_tensor(**p, "output.weight", T(GgmlType::kQ5_0));

  ASSERT_EQ(run_cli("quantize " + path("in.gguf") + " " + path("q8.gguf") + " --type q8_0").exit_code, 0);
  auto q8 = GgufFile::open(path("q8.gguf"));
  ASSERT_TRUE(q8.ok());
  expect_tensor(**q8, "output.weight", T(GgmlType::kQ8_0));  // llama.cpp keeps q8_0 for the output

  // Re-quantizing a quantized file reads its blocks back.
  ASSERT_EQ(run_cli("quantize " + path("q8.gguf") + " " + path("q8_f16.gguf") + " --type f16").exit_code, 0);
  auto h = GgufFile::open(path("q8_f16.gguf"));
  ASSERT_TRUE(h.ok());
  EXPECT_EQ((*h)->tensor("blk.0.attn_q.weight")->type, T(GgmlType::kF16));
  EXPECT_EQ((*h)->get_int("general.file_type", -1), 1);
}

TEST_F(QuantizeGguf, BadInputFails) {
  CmdResult r = run_cli("quantize " + path("missing.gguf") + " " + path("o.gguf") + " --type q4_0");
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.all.find("missing.gguf"), std::string::npos) << r.all;
  EXPECT_NE(run_cli("quantize " + path("in.gguf") + " " + path("o.gguf") + " --type q3_x").exit_code, 0);
  EXPECT_NE(run_cli("quantize " + path("in.gguf") + " " + path("o.gguf")).exit_code, 0);  // --type required
  r = run_cli("quantize " + path("in.gguf") + " " + path("in.gguf") + " --type q4_0");
  EXPECT_NE(r.exit_code, 0);
  r = run_cli("quantize " + path("model.onnx") + " " + path("o.onnx") + " --type q4_0");
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.all.find("GGUF"), std::string::npos) << r.all;
  // A truncated GGUF is an error naming the file, never a crash.
  {
    FILE* in = std::fopen(path("in.gguf").c_str(), "rb");
    FILE* out = std::fopen(path("trunc.gguf").c_str(), "wb");
    ASSERT_TRUE(in && out);
    std::vector<char> buf(700);
    size_t n = std::fread(buf.data(), 1, buf.size(), in);
    std::fwrite(buf.data(), 1, n, out);
    std::fclose(in);
    std::fclose(out);
  }
  r = run_cli("quantize " + path("trunc.gguf") + " " + path("o.gguf") + " --type q4_0");
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.all.find("trunc.gguf"), std::string::npos) << r.all;
  EXPECT_FALSE(std::filesystem::exists(path("o.gguf")));
}

}  // namespace
}  // namespace edgeai
