// Tokenizers of GGUF language models, read from the file's tokenizer.ggml.* metadata:
//  - "llama": SentencePiece BPE with scores and byte fallback (<0xNN> tokens), '▁' for spaces;
//  - "gpt2":  byte-level BPE with merges, after a pre-tokenizer chosen by tokenizer.ggml.pre
//             (gpt-2, llama-bpe, qwen2, deepseek-llm, deepseek-coder, falcon, starcoder, ...);
//  - "bert":  WordPiece (greedy longest match, lower-casing, accent stripping).
// The ids are those llama.cpp produces for the same file and text (checked against llama.cpp's
// tokenizer fixtures). A Tokenizer is immutable after creation; encode/decode are const and may
// run from several threads at once.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "edgeai/status.h"

namespace edgeai::formats {
class GgufFile;
}

namespace edgeai::llm {

// tokenizer.ggml.token_type values (llama.cpp's llama_token_type).
enum class TokenType : int32_t {
  kUndefined = 0,
  kNormal = 1,
  kUnknown = 2,
  kControl = 3,
  kUserDefined = 4,
  kUnused = 5,
  kByte = 6,
};

// Everything a tokenizer is built from: the tokenizer.ggml.* metadata as plain values. Optional
// fields left empty take the defaults llama.cpp uses for the model type.
struct TokenizerConfig {
  std::string model;               // tokenizer.ggml.model: "llama", "gpt2", "bert"
  std::string pre;                 // tokenizer.ggml.pre ("" = "default")
  std::string name;                // general.name (a few per-model fix-ups key on it)
  std::string architecture;        // general.architecture
  std::vector<std::string> tokens;  // tokenizer.ggml.tokens
  std::vector<float> scores;        // tokenizer.ggml.scores: empty or one per token
  std::vector<int32_t> token_types;  // tokenizer.ggml.token_type: empty or one per token
  std::vector<std::string> merges;  // tokenizer.ggml.merges ("left right"), gpt2 only
  std::optional<int32_t> bos_id, eos_id, eot_id, eom_id, unk_id, sep_id, pad_id, mask_id;
  std::optional<int32_t> fim_pre_id, fim_suf_id, fim_mid_id, fim_pad_id, fim_rep_id, fim_sep_id;
  std::optional<bool> add_bos, add_eos, add_sep, add_space_prefix;
  std::optional<bool> lowercase, strip_accents;  // WordPiece normalizer (default: both true)
};

class Tokenizer {
 public:
  // Validates and indexes the vocabulary. Errors (never crashes) on: no tokens, an unknown
  // tokenizer model or pre-tokenizer, scores/types shorter than the vocabulary, duplicate
  // tokens, a special-token id out of range, a gpt2 tokenizer without merges.
  static Result<std::unique_ptr<Tokenizer>> create(TokenizerConfig config);
  // Reads the tokenizer.ggml.* metadata (works on vocabulary-only GGUF files). Errors name the
  // file and the key.
  static Result<std::unique_ptr<Tokenizer>> from_gguf(const formats::GgufFile& file);

  ~Tokenizer();
  Tokenizer(const Tokenizer&) = delete;
  Tokenizer& operator=(const Tokenizer&) = delete;

  // Text to ids. add_special: add BOS (and EOS, and SEP for bert) as the model's metadata says
  // (tokenizer.ggml.add_bos_token / add_eos_token, defaults per model type as llama.cpp).
  // parse_special: text of control tokens ("<|im_start|>", "</s>", ...) becomes those tokens;
  // otherwise it is tokenized as plain text. User-defined tokens are always matched (as
  // llama.cpp and Hugging Face do). Any bytes are accepted; invalid UTF-8 is tokenized as
  // U+FFFD (byte-level BPE, WordPiece) or byte tokens (SentencePiece).
  std::vector<int32_t> encode(std::string_view text, bool add_special, bool parse_special) const;

  // The bytes this token contributes to the text: '▁' becomes ' ', <0xNN> becomes the byte,
  // byte-level BPE's unicode-to-byte mapping is undone; user-defined tokens give their text.
  // Control and unknown tokens (BOS, EOS, <|im_end|>, ...) give "" unless `special` is true, in
  // which case they give their text. An out-of-range id gives "". A piece can be part of a
  // UTF-8 character: stream pieces through Utf8Streamer before printing.
  std::string token_to_piece(int32_t id, bool special = false) const;

  // Concatenated pieces. For SentencePiece vocabularies the space that encode() put before the
  // text is removed again, so decode(encode(s, ...)) == s for valid UTF-8 s (without special
  // tokens). No "clean-up" of spaces before punctuation.
  std::string decode(std::span<const int32_t> ids, bool special = false) const;

  int32_t bos_id() const;  // -1 when the model has none
  int32_t eos_id() const;  // -1 when the model has none
  int32_t eot_id() const;  // end of turn (<|eot_id|>, <|im_end|>, ...), -1 when none
  int32_t unk_id() const;
  int32_t sep_id() const;
  int32_t pad_id() const;
  int32_t nl_id() const;  // the newline token, -1 when none
  bool add_bos() const;   // what encode(add_special=true) adds
  bool add_eos() const;
  // End of generation: eos, eot, eom and tokens such as <|im_end|>, <|end|>, <|eot_id|>,
  // <end_of_turn>, <|endoftext|>.
  bool is_eog(int32_t id) const;
  // Control, unknown or user-defined (what parse_special recognizes).
  bool is_special(int32_t id) const;
  int32_t n_vocab() const;
  std::string_view model() const;  // "llama", "gpt2", "bert"
  std::string_view pre() const;    // pre-tokenizer name ("default" when the file has none)
  std::string_view token_text(int32_t id) const;  // raw vocabulary entry, "" when out of range
  TokenType token_type(int32_t id) const;
  float token_score(int32_t id) const;
  int32_t token_id(std::string_view text) const;  // exact vocabulary lookup, -1 when absent

  struct Impl;

 private:
  explicit Tokenizer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// Turns a stream of token pieces into complete UTF-8 characters for printing. Holds back an
// incomplete sequence at the end of what was pushed; an invalid byte (or an incomplete
// sequence cut short) becomes U+FFFD. Overlong forms, surrogates and code points above
// U+10FFFF are invalid.
class Utf8Streamer {
 public:
  std::string push(std::string_view bytes);
  // Whatever is held back, as U+FFFD; resets the streamer.
  std::string flush();

 private:
  std::string pending_;
};

}  // namespace edgeai::llm
