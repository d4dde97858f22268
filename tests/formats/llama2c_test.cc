// llama2.c → GGUF conversion. Oracles: the checkpoint's own floats, read here straight from the
// file at offsets computed from llama2.c's run.c layout (not through the converter's reader); the
// published stories260K hyper-parameters (dim 64, hidden 172, 5 layers, 8 heads, 4 KV heads,
// vocab 512, seq_len 512); the token rules of llama.cpp's convert-llama2c-to-ggml.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "core/dtype.h"
#include "core/ggml_type.h"
#include "formats/gguf/gguf.h"
#include "formats/llama2c/llama2c.h"
#include "cli_test_util.h"

namespace {

using edgeai::testing::CmdResult;
using edgeai::testing::run_cli;

using edgeai::formats::GgufFile;
namespace fs = std::filesystem;

const std::string kSlm = EDGEAI_SOURCE_DIR "/../shared/data/slm/";

fs::path temp_dir() {
  fs::path d = fs::temp_directory_path() / ("edgeai_llama2c_test_" + std::to_string(getpid()));
  fs::create_directories(d);
  return d;
}

// Removes this process's scratch folder when the test program exits.
struct RemoveTempDirAtExit {
  ~RemoveTempDirAtExit() {
    std::error_code ec;
    fs::remove_all(fs::temp_directory_path() / ("edgeai_llama2c_test_" + std::to_string(getpid())), ec);
  }
} remove_temp_dir_at_exit;

std::vector<float> raw_floats(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::vector<char> b((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  std::vector<float> out((b.size() - 28) / 4);
  std::memcpy(out.data(), b.data() + 28, out.size() * 4);
  return out;
}

std::vector<float> tensor_floats(const edgeai::formats::GgufTensorInfo& t) {
  std::vector<float> v(static_cast<size_t>(t.n_elements));
  if (t.type == static_cast<uint32_t>(edgeai::GgmlType::kF32)) {
    std::memcpy(v.data(), t.data, v.size() * 4);
  } else {
    for (size_t i = 0; i < v.size(); ++i) {
      uint16_t h;
      std::memcpy(&h, t.data + 2 * i, 2);
      v[i] = edgeai::half_to_float(h);
    }
  }
  return v;
}

struct Layout {  // float offsets into the checkpoint body, per run.c's memory_map_weights
  int64_t dim, hid, L, V, kv, seq, head;
  int64_t emb, rms_att, wq, wk, wv, wo, rms_ffn, w1, w2, w3, rms_final, wcls;
};

Layout layout(int64_t dim, int64_t hid, int64_t L, int64_t heads, int64_t kv_heads, int64_t V, int64_t seq) {
  Layout l{dim, hid, L, V, dim / heads * kv_heads, seq, dim / heads};
  l.emb = 0;
  l.rms_att = l.emb + V * dim;
  l.wq = l.rms_att + L * dim;
  l.wk = l.wq + L * dim * dim;
  l.wv = l.wk + L * dim * l.kv;
  l.wo = l.wv + L * dim * l.kv;
  l.rms_ffn = l.wo + L * dim * dim;
  l.w1 = l.rms_ffn + L * dim;
  l.w2 = l.w1 + L * dim * hid;
  l.w3 = l.w2 + L * dim * hid;
  l.rms_final = l.w3 + L * dim * hid;
  l.wcls = l.rms_final + dim + seq * l.head;  // past freq_cis_real and freq_cis_imag
  return l;
}

// Every tensor of `f` equals the checkpoint's floats (f32: bit-exact; f16: the f16 rounding).
void expect_weights_equal(const GgufFile& f, const std::vector<float>& ck, const Layout& l, bool shared, bool f16) {
  auto check = [&](const std::string& name, int64_t off, std::vector<int64_t> dims) {
    SCOPED_TRACE(name);
    const auto* t = f.tensor(name);
    ASSERT_NE(t, nullptr);
    EXPECT_EQ(t->dims, dims);
    bool matrix = dims.size() == 2;
    EXPECT_EQ(t->type, static_cast<uint32_t>(f16 && matrix ? edgeai::GgmlType::kF16 : edgeai::GgmlType::kF32));
    auto got = tensor_floats(*t);
    size_t bad = 0;
    for (size_t i = 0; i < got.size(); ++i) {
      float want = ck[static_cast<size_t>(off) + i];
      if (f16 && matrix) want = edgeai::half_to_float(edgeai::float_to_half(want));
      if (std::memcmp(&got[i], &want, 4) != 0 && bad++ < 3) ADD_FAILURE() << "element " << i << ": " << got[i] << " != " << want;
    }
    EXPECT_EQ(bad, 0u);
  };
  const int64_t d = l.dim, h = l.hid, kv = l.kv;
  check("token_embd.weight", l.emb, {d, l.V});
  check("output_norm.weight", l.rms_final, {d});
  if (shared) {
    EXPECT_EQ(f.tensor("output.weight"), nullptr);
  } else {
    check("output.weight", l.wcls, {d, l.V});
  }
  for (int64_t i = 0; i < l.L; ++i) {
    std::string b = "blk." + std::to_string(i) + ".";
    check(b + "attn_norm.weight", l.rms_att + i * d, {d});
    check(b + "attn_q.weight", l.wq + i * d * d, {d, d});
    check(b + "attn_k.weight", l.wk + i * kv * d, {d, kv});
    check(b + "attn_v.weight", l.wv + i * kv * d, {d, kv});
    check(b + "attn_output.weight", l.wo + i * d * d, {d, d});
    check(b + "ffn_norm.weight", l.rms_ffn + i * d, {d});
    check(b + "ffn_gate.weight", l.w1 + i * h * d, {d, h});
    check(b + "ffn_down.weight", l.w2 + i * d * h, {h, d});
    check(b + "ffn_up.weight", l.w3 + i * h * d, {d, h});
  }
  EXPECT_EQ(f.tensors().size(), static_cast<size_t>(2 + (shared ? 0 : 1) + 9 * l.L));
}

// tok512.bin parsed here independently: (score, bytes) per token.
std::vector<std::pair<float, std::string>> raw_vocab(const std::string& path, int n) {
  std::ifstream f(path, std::ios::binary);
  int32_t max_len = 0;
  f.read(reinterpret_cast<char*>(&max_len), 4);
  std::vector<std::pair<float, std::string>> out;
  for (int i = 0; i < n; ++i) {
    float s = 0;
    int32_t len = 0;
    f.read(reinterpret_cast<char*>(&s), 4);
    f.read(reinterpret_cast<char*>(&len), 4);
    std::string t(static_cast<size_t>(len), '\0');
    f.read(t.data(), len);
    out.emplace_back(s, t);
  }
  return out;
}

TEST(Llama2cConvert, Stories260KMetadataTokensAndWeights) {
  const std::string out = (temp_dir() / "stories260K.gguf").string();
  auto r = edgeai::formats::convert_llama2c_to_gguf(kSlm + "stories260K.bin", kSlm + "tok512.bin", out);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->tensors, 2u + 9 * 5);
  EXPECT_TRUE(r->config.shared_classifier);

  auto g = GgufFile::open(out);
  ASSERT_TRUE(g.ok()) << g.status().message();
  const GgufFile& f = **g;
  EXPECT_EQ(f.get_string("general.architecture"), "llama");
  EXPECT_EQ(f.get_string("general.name"), "stories260K");
  EXPECT_EQ(f.get_int("llama.embedding_length", 0), 64);
  EXPECT_EQ(f.get_int("llama.feed_forward_length", 0), 172);
  EXPECT_EQ(f.get_int("llama.block_count", 0), 5);
  EXPECT_EQ(f.get_int("llama.attention.head_count", 0), 8);
  EXPECT_EQ(f.get_int("llama.attention.head_count_kv", 0), 4);
  EXPECT_EQ(f.get_int("llama.context_length", 0), 512);
  EXPECT_EQ(f.get_int("llama.rope.dimension_count", 0), 8);
  EXPECT_EQ(f.find("llama.context_length")->type, edgeai::formats::GgufValue::Type::kU32);
  EXPECT_FLOAT_EQ(f.get_float("llama.attention.layer_norm_rms_epsilon", 0), 1e-5f);
  EXPECT_EQ(f.get_string("tokenizer.ggml.model"), "llama");
  EXPECT_EQ(f.get_int("tokenizer.ggml.bos_token_id", -1), 1);
  EXPECT_EQ(f.get_int("tokenizer.ggml.eos_token_id", -1), 2);
  EXPECT_EQ(f.get_int("tokenizer.ggml.unknown_token_id", -1), 0);

  auto tokens = f.get_string_array("tokenizer.ggml.tokens");
  auto scores = f.get_float_array("tokenizer.ggml.scores");
  auto types = f.get_int_array("tokenizer.ggml.token_type");
  ASSERT_EQ(tokens.size(), 512u);
  ASSERT_EQ(scores.size(), 512u);
  ASSERT_EQ(types.size(), 512u);
  auto raw = raw_vocab(kSlm + "tok512.bin", 512);
  EXPECT_EQ(raw[1].second, "\n<s>\n");  // how llama2.c's exporter stores BOS
  EXPECT_EQ(tokens[0], "<unk>");
  EXPECT_EQ(tokens[1], "<s>");
  EXPECT_EQ(tokens[2], "</s>");
  EXPECT_EQ(types[0], 2);
  EXPECT_EQ(types[1], 3);
  EXPECT_EQ(types[2], 3);
  int bytes = 0, spaced = 0;
  for (int i = 0; i < 512; ++i) {
    EXPECT_EQ(scores[i], static_cast<double>(raw[i].first)) << i;
    if (i < 3) continue;
    std::string want;
    for (char c : raw[i].second) want += c == ' ' ? std::string("\xe2\x96\x81") : std::string(1, c);
    EXPECT_EQ(tokens[i], want) << i;
    if (raw[i].second != want) ++spaced;
    bool is_byte = raw[i].second.size() == 6 && raw[i].second.rfind("<0x", 0) == 0;
    EXPECT_EQ(types[i], is_byte ? 6 : 1) << i << " '" << raw[i].second << "'";
    bytes += is_byte;
  }
  EXPECT_EQ(bytes, 256);  // <0x00>..<0xFF> at ids 3..258
  EXPECT_EQ(tokens[3], "<0x00>");
  EXPECT_EQ(tokens[258], "<0xFF>");
  EXPECT_GT(spaced, 50);  // word-initial pieces carry U+2581

  auto ck = raw_floats(kSlm + "stories260K.bin");
  expect_weights_equal(f, ck, layout(64, 172, 5, 8, 4, 512, 512), /*shared=*/true, /*f16=*/false);
  int64_t params = 0;
  for (const auto& t : f.tensors()) params += t.n_elements;
  EXPECT_EQ(params, r->parameters);
  EXPECT_EQ(params, 512 * 64 + 64 + 5 * (64 * 64 * 2 + 64 * 32 * 2 + 64 * 2 + 3 * 64 * 172));
}

TEST(Llama2cConvert, F16KeepsNormsF32) {
  const std::string out = (temp_dir() / "stories260K-f16.gguf").string();
  edgeai::formats::Llama2cConvertOptions opt;
  opt.type = static_cast<uint32_t>(edgeai::GgmlType::kF16);
  opt.name = "tiny";
  auto r = edgeai::formats::convert_llama2c_to_gguf(kSlm + "stories260K.bin", kSlm + "tok512.bin", out, opt);
  ASSERT_TRUE(r.ok()) << r.status().message();
  auto g = GgufFile::open(out);
  ASSERT_TRUE(g.ok()) << g.status().message();
  EXPECT_EQ((*g)->get_string("general.name"), "tiny");
  EXPECT_EQ((*g)->get_int("general.file_type", -1), 1);
  expect_weights_equal(**g, raw_floats(kSlm + "stories260K.bin"), layout(64, 172, 5, 8, 4, 512, 512), true, true);
}

// A tiny checkpoint written here: unshared classifier (negative vocab_size), grouped-query heads.
struct Tiny {
  std::string ck, tok;
};

Tiny write_tiny(const std::string& stem, int32_t vocab_field, int extra_floats = 0, int tokens = 4) {
  const int32_t dim = 8, hid = 12, L = 2, heads = 2, kv_heads = 1, seq = 3;
  const int32_t V = vocab_field < 0 ? -vocab_field : vocab_field;
  Layout l = layout(dim, hid, L, heads, kv_heads, V, seq);
  int64_t n = l.wcls + (vocab_field < 0 ? V * dim : 0) + extra_floats;
  Tiny t{(temp_dir() / (stem + ".bin")).string(), (temp_dir() / (stem + "_tok.bin")).string()};
  std::ofstream c(t.ck, std::ios::binary | std::ios::trunc);
  int32_t h[7] = {dim, hid, L, heads, kv_heads, vocab_field, seq};
  c.write(reinterpret_cast<const char*>(h), sizeof h);
  for (int64_t i = 0; i < n; ++i) {
    float x = static_cast<float>(i) * 0.25f - 3.0f;
    c.write(reinterpret_cast<const char*>(&x), 4);
  }
  std::ofstream k(t.tok, std::ios::binary | std::ios::trunc);
  int32_t max_len = 6;
  k.write(reinterpret_cast<const char*>(&max_len), 4);
  const char* words[] = {"<unk>", "\n<s>\n", "\n</s>\n", " a", "<0x41>", "", "b"};
  for (int i = 0; i < tokens; ++i) {
    float s = -static_cast<float>(i);
    int32_t len = static_cast<int32_t>(std::strlen(words[i % 7]));
    k.write(reinterpret_cast<const char*>(&s), 4);
    k.write(reinterpret_cast<const char*>(&len), 4);
    k.write(words[i % 7], len);
  }
  return t;
}

TEST(Llama2cConvert, UnsharedClassifierAndGroupedHeads) {
  Tiny t = write_tiny("unshared", -7, 0, 7);
  const std::string out = (temp_dir() / "unshared.gguf").string();
  auto r = edgeai::formats::convert_llama2c_to_gguf(t.ck, t.tok, out);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_FALSE(r->config.shared_classifier);
  auto g = GgufFile::open(out);
  ASSERT_TRUE(g.ok()) << g.status().message();
  expect_weights_equal(**g, raw_floats(t.ck), layout(8, 12, 2, 2, 1, 7, 3), /*shared=*/false, false);
  EXPECT_EQ((*g)->get_int("llama.attention.head_count_kv", 0), 1);
  EXPECT_EQ((*g)->get_int("llama.rope.dimension_count", 0), 4);
  EXPECT_EQ((*g)->get_string_array("tokenizer.ggml.tokens"),
            (std::vector<std::string>{"<unk>", "<s>", "</s>", "\xe2\x96\x81" "a", "<0x41>", "", "b"}));
  EXPECT_EQ((*g)->get_int_array("tokenizer.ggml.token_type"), (std::vector<int64_t>{2, 3, 3, 1, 6, 3, 1}));
}

TEST(Llama2cConvert, BadInputNamesTheFile) {
  const std::string out = (temp_dir() / "never.gguf").string();
  auto expect_error = [&](const std::string& ck, const std::string& tok, const std::string& what) {
    auto r = edgeai::formats::convert_llama2c_to_gguf(ck, tok, out);
    ASSERT_FALSE(r.ok()) << what;
    EXPECT_NE(r.status().message().find(what), std::string::npos) << r.status().message();
    EXPECT_FALSE(fs::exists(out));
  };
  Tiny ok = write_tiny("ok", 4);
  ASSERT_TRUE(edgeai::formats::convert_llama2c_to_gguf(ok.ck, ok.tok, (temp_dir() / "ok.gguf").string()).ok());
  expect_error("/nonexistent/stories.bin", ok.tok, "/nonexistent/stories.bin: no such file");
  expect_error(ok.ck, "/nonexistent/tok.bin", "/nonexistent/tok.bin: no such file");
  Tiny longer = write_tiny("longer", 4, 5);
  expect_error(longer.ck, longer.tok, longer.ck + ": llama2.c checkpoint is");
  // Truncated checkpoint.
  fs::resize_file(longer.ck, fs::file_size(ok.ck) - 4);
  expect_error(longer.ck, longer.tok, "(truncated?)");
  fs::resize_file(longer.ck, 10);
  expect_error(longer.ck, longer.tok, "smaller than its 28-byte header");
  // Header nonsense.
  Tiny zero = write_tiny("zero", 0);
  expect_error(zero.ck, zero.tok, "vocab_size = 0");
  {
    std::fstream c(ok.ck, std::ios::binary | std::ios::in | std::ios::out);
    int32_t heads = 3;  // dim 8 is not divisible by 3
    c.seekp(12);
    c.write(reinterpret_cast<const char*>(&heads), 4);
  }
  expect_error(ok.ck, ok.tok, "not divisible by n_heads 3");
  // Tokenizer that does not match the checkpoint's vocabulary.
  Tiny few = write_tiny("few", 4, 0, 3);
  expect_error(few.ck, few.tok, few.tok + ": truncated llama2.c tokenizer at token 3");
  Tiny many = write_tiny("many", 4, 0, 6);
  expect_error(many.ck, many.tok, "more tokens than the checkpoint's vocab_size 4");
  Tiny neg = write_tiny("neglen", 4);
  {
    std::fstream k(neg.tok, std::ios::binary | std::ios::in | std::ios::out);
    int32_t len = -5;
    k.seekp(4 + 4);
    k.write(reinterpret_cast<const char*>(&len), 4);
  }
  expect_error(neg.ck, neg.tok, "token 0 length -5");
  edgeai::formats::Llama2cConvertOptions q;
  q.type = static_cast<uint32_t>(edgeai::GgmlType::kQ4_0);
  auto r = edgeai::formats::convert_llama2c_to_gguf(ok.ck, ok.tok, out, q);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("q4_0"), std::string::npos);
}

// ---- Through the edgeai command ----

TEST(Llama2cCli, ConvertThenInfo) {
  const std::string out = (temp_dir() / "cli.gguf").string();
  CmdResult c = run_cli("convert " + kSlm + "stories260K.bin --tokenizer " + kSlm + "tok512.bin " + out + " --type f16");
  ASSERT_EQ(c.exit_code, 0) << c.all;
  EXPECT_NE(c.all.find("wrote " + out), std::string::npos) << c.all;
  CmdResult j = run_cli("info " + out + " --json");
  ASSERT_EQ(j.exit_code, 0) << j.all;
  auto info = nlohmann::json::parse(j.out);
  EXPECT_EQ(info["architecture"], "llama");
  EXPECT_EQ(info["parameters"], 512 * 64 + 64 + 5 * (64 * 64 * 2 + 64 * 32 * 2 + 64 * 2 + 3 * 64 * 172));
  EXPECT_EQ(info["context_length"], 512);
  EXPECT_EQ(info["embedding_length"], 64);
  EXPECT_EQ(info["block_count"], 5);
  EXPECT_EQ(info["head_count"], 8);
  EXPECT_EQ(info["head_count_kv"], 4);
  EXPECT_EQ(info["tensor_types"]["f16"], 1 + 7 * 5);
  EXPECT_EQ(info["tensor_types"]["f32"], 1 + 2 * 5);
  EXPECT_EQ(info["tokenizer"]["model"], "llama");
  EXPECT_EQ(info["tokenizer"]["vocab_size"], 512);
  EXPECT_EQ(info["file_bytes"], fs::file_size(out));
  CmdResult text = run_cli("info " + out);
  ASSERT_EQ(text.exit_code, 0) << text.all;
  EXPECT_NE(text.all.find("architecture: llama"), std::string::npos) << text.all;
  CmdResult vocab = run_cli("info " + kSlm + "tokenizers/ggml-vocab-gpt-2.gguf --json");
  ASSERT_EQ(vocab.exit_code, 0) << vocab.all;
  EXPECT_EQ(nlohmann::json::parse(vocab.out)["tokenizer"]["vocab_size"], 50257);
}

TEST(Llama2cCli, ClearErrors) {
  const std::string out = (temp_dir() / "cli_bad.gguf").string();
  CmdResult missing = run_cli("convert " + kSlm + "stories260K.bin --tokenizer /nonexistent/tok.bin " + out);
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_NE(missing.all.find("edgeai: error: /nonexistent/tok.bin: no such file"), std::string::npos) << missing.all;
  CmdResult wrong = run_cli("convert " + kSlm + "tok512.bin --tokenizer " + kSlm + "tok512.bin " + out);
  EXPECT_EQ(wrong.exit_code, 1);
  EXPECT_NE(wrong.all.find("tok512.bin: llama2.c header"), std::string::npos) << wrong.all;
  CmdResult type = run_cli("convert " + kSlm + "stories260K.bin --tokenizer " + kSlm + "tok512.bin " + out + " --type q4_0");
  EXPECT_NE(type.exit_code, 0);
  CmdResult info = run_cli("info " + kSlm + "tok512.bin.gguf");
  EXPECT_EQ(info.exit_code, 1);
  EXPECT_NE(info.all.find("no such file"), std::string::npos) << info.all;
}

}  // namespace
