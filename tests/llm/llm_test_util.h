// Helpers for the language-model tests: the stories260K model converted to GGUF once per test
// process, its NumPy reference outputs, and tiny random models of each supported architecture.
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "core/dtype.h"
#include "core/ggml_type.h"
#include "formats/gguf/gguf.h"
#include "formats/llama2c/llama2c.h"

namespace edgeai::llm::testing {

inline std::string shared_data_dir() { return std::string(EDGEAI_SOURCE_DIR) + "/../shared/data/"; }
inline std::string slm_dir() { return shared_data_dir() + "slm/"; }

inline std::string temp_dir() {
  static const std::string dir = [] {
    auto d = std::filesystem::temp_directory_path() / ("edgeai_llm_" + std::to_string(::getpid()));
    std::filesystem::create_directories(d);
    return d.string();
  }();
  return dir;
}

// stories260K.bin + tok512.bin converted by formats/llama2c into a GGUF (f32), once per process.
// Empty when the shared data is absent (tests then skip).
inline std::string stories_gguf() {
  static const std::string path = []() -> std::string {
    std::string ckpt = slm_dir() + "stories260K.bin", tok = slm_dir() + "tok512.bin";
    if (!std::filesystem::exists(ckpt) || !std::filesystem::exists(tok)) return "";
    std::string out = temp_dir() + "/stories260K.gguf";
    auto r = formats::convert_llama2c_to_gguf(ckpt, tok, out);
    if (!r.ok()) {
      ADD_FAILURE() << r.status().message();
      return "";
    }
    return out;
  }();
  return path;
}

#define EDGEAI_REQUIRE_STORIES()                                                     \
  do {                                                                               \
    if (::edgeai::llm::testing::stories_gguf().empty()) GTEST_SKIP() << "no shared/data/slm"; \
  } while (0)

inline const nlohmann::json& reference() {
  static const nlohmann::json j = [] {
    std::ifstream f(std::string(EDGEAI_SOURCE_DIR) + "/tests/llm/data/stories260K_reference.json");
    return nlohmann::json::parse(f);
  }();
  return j;
}

inline std::string read_text(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

// The start of tinystories_val.txt that the perplexity reference used.
inline std::string perplexity_text() {
  std::string all = read_text(shared_data_dir() + "text/tinystories_val.txt");
  size_t n = reference()["perplexity"]["text_chars"].get<size_t>();
  // text_chars counts Python characters (code points); the file may hold multi-byte UTF-8.
  size_t i = 0, cps = 0;
  while (i < all.size() && cps < n) {
    unsigned char c = (unsigned char)all[i];
    i += c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : 4;
    ++cps;
  }
  return all.substr(0, i);
}

// ---- tiny random models of every architecture -------------------------------------------------

struct TinySpec {
  std::string arch = "llama";
  int64_t n_embd = 32, n_ff = 48, n_layer = 2, n_head = 4, n_head_kv = 2, n_vocab = 64, n_ctx = 128;
  int64_t head_dim = 0;          // 0: n_embd / n_head (gemma may differ)
  uint32_t wtype = 0;            // GgmlType of the matrices (0 f32, 1 f16)
  bool tied = true;              // no output.weight
  bool fused_qkv = false;        // phi3
  int64_t sliding_window = 0;    // written as <arch>.attention.sliding_window when > 0
  float rope_scale_linear = 0;   // rope.scaling.factor when > 0
  uint64_t seed = 1;
  std::vector<float> rope_freqs;                // rope_freqs.weight (llama3) when not empty
  std::vector<float> rope_short, rope_long;     // rope_factors_short/long.weight (phi3 LongRoPE)
  int64_t rope_orig_ctx = 0;                    // rope.scaling.original_context_length when > 0
  std::vector<std::string> drop_tensors;  // hostile variants
  std::string override_tensor;            // this tensor gets override_dims / override_type
  std::vector<int64_t> override_dims;
  uint32_t override_type = 0;
};

class TinyRng {
 public:
  explicit TinyRng(uint64_t s) : s_(s * 0x9E3779B97F4A7C15ULL + 1) {}
  float uniform(float scale) {  // [-scale, scale)
    s_ ^= s_ << 13;
    s_ ^= s_ >> 7;
    s_ ^= s_ << 17;
    return ((float)((s_ >> 40) & 0xFFFFFF) / 16777216.0f * 2.0f - 1.0f) * scale;
  }

 private:
  uint64_t s_;
};

inline std::vector<uint8_t> tensor_bytes(const std::vector<float>& v, uint32_t type) {
  std::vector<uint8_t> out;
  if (type == 1) {
    out.resize(v.size() * 2);
    for (size_t i = 0; i < v.size(); ++i) {
      uint16_t h = float_to_half(v[i]);
      std::memcpy(out.data() + 2 * i, &h, 2);
    }
  } else {
    out.resize(v.size() * 4);
    std::memcpy(out.data(), v.data(), out.size());
  }
  return out;
}

// Writes a GGUF with random weights (and a byte-level "llama" vocabulary so the CLI can load it).
inline std::string write_tiny_model(const TinySpec& s, const std::string& file_name) {
  using formats::GgufValue;
  formats::GgufWriter w;
  const std::string a = s.arch;
  const int64_t hd = s.head_dim > 0 ? s.head_dim : s.n_embd / s.n_head;
  w.set_string("general.architecture", a);
  w.set_string("general.name", "tiny-" + a);
  w.set_u32(a + ".context_length", (uint32_t)s.n_ctx);
  w.set_u32(a + ".embedding_length", (uint32_t)s.n_embd);
  w.set_u32(a + ".feed_forward_length", (uint32_t)s.n_ff);
  w.set_u32(a + ".block_count", (uint32_t)s.n_layer);
  w.set_u32(a + ".attention.head_count", (uint32_t)s.n_head);
  w.set_u32(a + ".attention.head_count_kv", (uint32_t)s.n_head_kv);
  if (s.head_dim > 0) {
    w.set_u32(a + ".attention.key_length", (uint32_t)hd);
    w.set_u32(a + ".attention.value_length", (uint32_t)hd);
  }
  w.set_u32(a + ".rope.dimension_count", (uint32_t)hd);
  w.set_f32(a + ".rope.freq_base", 10000.0f);
  w.set_f32(a + ".attention.layer_norm_rms_epsilon", 1e-6f);
  if (s.sliding_window > 0) w.set_u32(a + ".attention.sliding_window", (uint32_t)s.sliding_window);
  if (s.rope_scale_linear > 0) {
    w.set_string(a + ".rope.scaling.type", "linear");
    w.set_f32(a + ".rope.scaling.factor", s.rope_scale_linear);
  }
  // Vocabulary: <unk>, <s>, </s>, then byte tokens, then a few words (SentencePiece style).
  std::vector<std::string> toks{"<unk>", "<s>", "</s>"};
  std::vector<float> scores{0, 0, 0};
  std::vector<int32_t> types{2, 3, 3};
  const char* hex = "0123456789ABCDEF";
  for (int b = 0; (int64_t)toks.size() < s.n_vocab && b < 256; ++b) {
    toks.push_back(std::string("<0x") + hex[b >> 4] + hex[b & 15] + ">");
    scores.push_back(0);
    types.push_back(6);
  }
  w.set_string("tokenizer.ggml.model", "llama");
  w.set_string_array("tokenizer.ggml.tokens", toks);
  w.set_f32_array("tokenizer.ggml.scores", scores);
  w.set_i32_array("tokenizer.ggml.token_type", types);
  w.set_u32("tokenizer.ggml.bos_token_id", 1);
  w.set_u32("tokenizer.ggml.eos_token_id", 2);

  TinyRng rng(s.seed);
  auto vec = [&](int64_t n, float scale, float offset) {
    std::vector<float> v(n);
    for (auto& x : v) x = offset + rng.uniform(scale);
    return v;
  };
  auto add = [&](const std::string& name, std::vector<int64_t> dims, std::vector<float> v, uint32_t type) {
    for (const auto& d : s.drop_tensors)
      if (d == name) return;
    if (name == s.override_tensor) {
      if (!s.override_dims.empty()) dims = s.override_dims;
      type = s.override_type;
      int64_t n = 1;
      for (auto d : dims) n *= d;
      v.assign(n, 0.01f);
      if (type != 0 && type != 1) {
        int64_t rb = ggml_row_bytes(type, dims[0]);
        std::vector<uint8_t> raw(rb > 0 ? rb * (n / dims[0]) : 64, 0);
        (void)w.add_tensor(name, dims, type, raw);
        return;
      }
    }
    Status st = w.add_tensor(name, dims, type, tensor_bytes(v, type));
    if (!st.ok()) ADD_FAILURE() << st.message();
  };
  if (s.rope_orig_ctx > 0) w.set_u32(a + ".rope.scaling.original_context_length", (uint32_t)s.rope_orig_ctx);
  if (!s.rope_freqs.empty()) add("rope_freqs.weight", {(int64_t)s.rope_freqs.size()}, s.rope_freqs, 0);
  if (!s.rope_short.empty()) add("rope_factors_short.weight", {(int64_t)s.rope_short.size()}, s.rope_short, 0);
  if (!s.rope_long.empty()) add("rope_factors_long.weight", {(int64_t)s.rope_long.size()}, s.rope_long, 0);
  const int64_t E = s.n_embd, q = s.n_head * hd, kv = s.n_head_kv * hd, F = s.n_ff;
  const float ws = 0.5f / std::sqrt((float)E);
  const bool gemma = a == "gemma" || a == "gemma2";
  const float norm_off = 1.0f;  // stored weights (llama.cpp's gemma converter already added 1)
  add("token_embd.weight", {E, s.n_vocab}, vec(E * s.n_vocab, gemma ? 0.1f : 1.0f, 0), s.wtype);
  add("output_norm.weight", {E}, vec(E, 0.1f, norm_off), 0);
  if (!s.tied) add("output.weight", {E, s.n_vocab}, vec(E * s.n_vocab, ws, 0), s.wtype);
  for (int64_t il = 0; il < s.n_layer; ++il) {
    std::string b = "blk." + std::to_string(il) + ".";
    add(b + "attn_norm.weight", {E}, vec(E, 0.1f, norm_off), 0);
    if (s.fused_qkv) {
      add(b + "attn_qkv.weight", {E, q + 2 * kv}, vec(E * (q + 2 * kv), ws, 0), s.wtype);
    } else {
      add(b + "attn_q.weight", {E, q}, vec(E * q, ws, 0), s.wtype);
      add(b + "attn_k.weight", {E, kv}, vec(E * kv, ws, 0), s.wtype);
      add(b + "attn_v.weight", {E, kv}, vec(E * kv, ws, 0), s.wtype);
    }
    if (a == "qwen2") {
      add(b + "attn_q.bias", {q}, vec(q, 0.2f, 0), 0);
      add(b + "attn_k.bias", {kv}, vec(kv, 0.2f, 0), 0);
      add(b + "attn_v.bias", {kv}, vec(kv, 0.2f, 0), 0);
    }
    add(b + "attn_output.weight", {q, E}, vec(q * E, ws, 0), s.wtype);
    if (a == "gemma2") {
      add(b + "post_attention_norm.weight", {E}, vec(E, 0.1f, norm_off), 0);
      add(b + "post_ffw_norm.weight", {E}, vec(E, 0.1f, norm_off), 0);
    }
    add(b + "ffn_norm.weight", {E}, vec(E, 0.1f, norm_off), 0);
    if (a == "phi3") {
      add(b + "ffn_up.weight", {E, 2 * F}, vec(E * 2 * F, ws, 0), s.wtype);
    } else {
      add(b + "ffn_gate.weight", {E, F}, vec(E * F, ws, 0), s.wtype);
      add(b + "ffn_up.weight", {E, F}, vec(E * F, ws, 0), s.wtype);
    }
    add(b + "ffn_down.weight", {F, E}, vec(F * E, 0.5f / std::sqrt((float)F), 0), s.wtype);
  }
  std::string path = temp_dir() + "/" + file_name;
  Status st = w.write(path);
  if (!st.ok()) ADD_FAILURE() << st.message();
  return path;
}

}  // namespace edgeai::llm::testing
