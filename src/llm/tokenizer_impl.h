// Internal to the tokenizer files: the shared vocabulary state and the per-model encoders.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "llm/tokenizer.h"

namespace edgeai::llm {

// Token attributes (llama.cpp's llama_token_attr bits).
enum TokenAttr : uint16_t {
  kAttrUndefined = 0,
  kAttrUnknown = 1 << 0,
  kAttrUnused = 1 << 1,
  kAttrNormal = 1 << 2,
  kAttrControl = 1 << 3,
  kAttrUserDefined = 1 << 4,
  kAttrByte = 1 << 5,
  kAttrLstrip = 1 << 7,
  kAttrRstrip = 1 << 8,
};

struct StringHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const noexcept { return std::hash<std::string_view>{}(s); }
};
template <typename V>
using StringMap = std::unordered_map<std::string, V, StringHash, std::equal_to<>>;

// Byte-level BPE pre-tokenizers: each is a fixed list of splitting steps (the regexes of
// llama.cpp's llama-vocab.cpp, hand-coded).
enum class PreTokenizer {
  kDefault,        // "default" and files without tokenizer.ggml.pre
  kGpt2,           // gpt-2, mpt, olmo, phi-2, ...
  kLlama3,         // llama-bpe, llama3, dbrx, smaug-bpe, chatglm-bpe, ...
  kQwen2,          // qwen2, stablelm2, deepseek-r1-qwen, ...
  kDeepseekLlm,    // deepseek-llm
  kDeepseekCoder,  // deepseek-coder
  kFalcon,         // falcon
  kStarcoder,      // starcoder, refact, command-r, smollm, ...
};

struct Tokenizer::Impl {
  enum class Kind { kSpm, kBpe, kWpm };
  Kind kind = Kind::kSpm;
  std::string model;
  std::string pre_name;
  PreTokenizer pre = PreTokenizer::kDefault;

  std::vector<std::string> text;   // id -> token text
  std::vector<float> score;        // id -> score (0 when the file has none)
  std::vector<uint16_t> attr;      // id -> TokenAttr bits
  std::vector<TokenType> type;     // id -> declared type
  StringMap<int32_t> id_of;        // token text -> id
  StringMap<int32_t> merge_rank;   // merge_key(left, right) -> rank
  size_t max_token_len = 0;

  int32_t bos = -1, eos = -1, eot = -1, eom = -1, unk = -1, sep = -1, pad = -1, mask = -1, nl = -1;
  bool add_bos = false, add_eos = false, add_sep = false;
  bool add_space_prefix = false;  // SentencePiece: a space before the text
  bool ignore_merges = false;     // BPE: a pre-token that is a whole token is taken as is
  bool lowercase = true, strip_accents = true;  // WordPiece normalizer

  std::vector<int32_t> byte_token;     // byte -> token id (-1 when absent)
  std::vector<int32_t> special_order;  // control/unknown/user-defined ids, longest text first
  std::vector<uint8_t> eog;            // id -> end of generation

  // Trie over special-token texts, to find which of them occur in a text in one pass.
  struct TrieNode {
    std::vector<std::pair<uint8_t, int32_t>> next;  // sorted by byte
    int32_t token = -1;
  };
  std::vector<TrieNode> trie;

  // --- shared helpers (tokenizer.cc) ---
  int32_t find(std::string_view s) const {
    auto it = id_of.find(s);
    return it == id_of.end() ? -1 : it->second;
  }
  static void merge_key(std::string* key, std::string_view left, std::string_view right);
  std::string piece(int32_t id, bool special) const;

  // --- per-model encoders of one plain-text fragment (appending to *out) ---
  // SentencePiece (tokenizer_spm.cc): `text` has spaces already escaped to U+2581.
  void encode_spm(std::string_view text, std::vector<int32_t>* out) const;
  // Byte-level BPE (tokenizer_bpe.cc).
  void encode_bpe(std::string_view text, std::vector<int32_t>* out) const;
  // WordPiece (tokenizer_wpm.cc).
  void encode_wpm(std::string_view text, std::vector<int32_t>* out) const;
};

// Pre-tokenizer splitting, exposed for tests: the pre-token words of `text` (UTF-8, before the
// byte-level mapping). Invalid UTF-8 becomes U+FFFD.
std::vector<std::string> bpe_pre_tokenize(PreTokenizer pre, std::string_view text);
// WordPiece's normalization and word split (lower-case, NFD-strip, punctuation split).
std::vector<std::string> wpm_pre_tokenize(std::string_view text, bool lowercase, bool strip_accents);

}  // namespace edgeai::llm
