// llama2.c checkpoints (Karpathy's run.c format) and tokenizer files, and their conversion to a
// llama-architecture GGUF laid out as llama.cpp's convert-llama2c-to-ggml writes it.
//
// Checkpoint: 7 int32 (dim, hidden_dim, n_layers, n_heads, n_kv_heads, vocab_size, seq_len; a
// negative vocab_size means an unshared classifier), then float32 weights: token_embedding,
// rms_att, wq, wk, wv, wo, rms_ffn, w1, w2, w3, rms_final, freq_cis_real, freq_cis_imag (unused),
// [wcls]. Matrices are row-major (out, in), which is GGUF's (ne0 = in, ne1 = out) as is. Q and K
// need no permutation: llama2.c rotates adjacent pairs, as llama.cpp's "llama" RoPE does.
// Tokenizer: int32 max_token_length, then per token float score, int32 length, bytes.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "edgeai/status.h"

namespace edgeai::formats {

struct Llama2cConfig {
  int32_t dim = 0;
  int32_t hidden_dim = 0;
  int32_t n_layers = 0;
  int32_t n_heads = 0;
  int32_t n_kv_heads = 0;
  int32_t vocab_size = 0;  // always positive here; see shared_classifier
  int32_t seq_len = 0;
  bool shared_classifier = true;  // the file's vocab_size was positive: wcls = token_embedding
  int32_t head_size() const { return n_heads > 0 ? dim / n_heads : 0; }
  int32_t kv_dim() const { return n_heads > 0 ? dim / n_heads * n_kv_heads : 0; }
};

struct Llama2cWeights {
  Llama2cConfig config;
  std::vector<float> token_embedding;  // (vocab, dim)
  std::vector<float> rms_att;          // (layer, dim)
  std::vector<float> wq;               // (layer, dim, dim)
  std::vector<float> wk;               // (layer, kv_dim, dim)
  std::vector<float> wv;               // (layer, kv_dim, dim)
  std::vector<float> wo;               // (layer, dim, dim)
  std::vector<float> rms_ffn;          // (layer, dim)
  std::vector<float> w1;               // (layer, hidden, dim)
  std::vector<float> w2;               // (layer, dim, hidden)
  std::vector<float> w3;               // (layer, hidden, dim)
  std::vector<float> rms_final;        // (dim)
  std::vector<float> wcls;             // (vocab, dim); empty when shared
};

struct Llama2cVocab {
  int32_t max_token_length = 0;
  std::vector<std::string> tokens;  // raw bytes as stored (llama2.c writes ' ' for U+2581)
  std::vector<float> scores;
};

// Reads a whole checkpoint. The header is validated (positive sizes, dim divisible by n_heads,
// n_heads by n_kv_heads, even head size, sane caps) and the file size must match it exactly.
Result<Llama2cWeights> read_llama2c_checkpoint(const std::string& path);
// Reads `vocab_size` tokens; every length is checked against the file.
Result<Llama2cVocab> read_llama2c_tokenizer(const std::string& path, int32_t vocab_size);

struct Llama2cConvertOptions {
  uint32_t type = 0;  // GgmlType of the matrices: kF32 (0) or kF16 (1); norms stay f32
  std::string name;   // general.name; defaults to the checkpoint's file name without extension
};

struct Llama2cConvertSummary {
  Llama2cConfig config;
  int64_t parameters = 0;  // elements written (the shared classifier counted once)
  size_t tensors = 0;
  uint64_t file_bytes = 0;
};

// Converts checkpoint + tokenizer to `out_path` (GGUF v3, architecture "llama"):
// llama.* hyper-parameters (context_length = seq_len, rope.dimension_count = head size,
// layer_norm_rms_epsilon = 1e-5), tokenizer.ggml.* (model "llama"; tokens with ' ' escaped to
// U+2581, ids 0/1/2 renamed <unk>/<s>/</s>; token_type 2 unknown, 3 control (also empty tokens),
// 6 byte for "<0xNN>", 1 normal; bos 1, eos 2, unk 0), tensors token_embd, output_norm,
// [output when not shared], blk.N.{attn_q,attn_k,attn_v,attn_output,attn_norm,ffn_gate (w1),
// ffn_down (w2),ffn_up (w3),ffn_norm}.weight.
Result<Llama2cConvertSummary> convert_llama2c_to_gguf(const std::string& checkpoint_path,
                                                      const std::string& tokenizer_path,
                                                      const std::string& out_path,
                                                      const Llama2cConvertOptions& options = {});

}  // namespace edgeai::formats
