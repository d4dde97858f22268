// Text generation over a Context: the prompt goes through the model in batches (n_batch tokens
// per forward), then one token at a time; stops after n_predict tokens, on an end-of-generation
// token, or on a stop string. Text is streamed as complete UTF-8 characters.
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "edgeai/status.h"
#include "llm/context.h"
#include "llm/sampler.h"
#include "llm/tokenizer.h"

namespace edgeai::llm {

struct GenerateOptions {
  int64_t n_predict = 128;  // tokens to generate at most (> 0)
  SamplerParams sampling;
  std::vector<std::string> stop;  // stop strings: generation ends before the first one in the text
  bool stop_at_eog = true;        // end on the tokenizer's end-of-generation tokens
  bool penalize_prompt = true;    // prompt tokens enter the repetition-penalty window
  // Drop one leading space of the text: SentencePiece pieces carry the word's space, so the
  // first word after a bare BOS would print as " Once".
  bool strip_leading_space = false;
};

struct GenerateStats {
  int64_t prompt_tokens = 0;     // evaluated in this call (cached prefix tokens not counted)
  int64_t generated_tokens = 0;
  double prompt_seconds = 0.0;
  double gen_seconds = 0.0;      // from the first sampled token to the last forward
  std::string stop_reason;       // "length", "eog", "stop", "context", "callback"
  double prompt_tokens_per_s() const { return prompt_seconds > 0 ? prompt_tokens / prompt_seconds : 0.0; }
  double gen_tokens_per_s() const { return gen_seconds > 0 ? generated_tokens / gen_seconds : 0.0; }
};

struct GenerateResult {
  std::string text;              // what was streamed (stop string and EOG token excluded)
  std::vector<int32_t> tokens;   // generated ids (the EOG token included when it ended the run)
  GenerateStats stats;
};

// Receives text as it is produced; return false to stop.
using TextCallback = std::function<bool(std::string_view text)>;

// Appends `prompt` to the context (at ctx.n_past()), then generates. The prompt must leave room
// in the context for at least one more token. Errors: empty prompt, a prompt longer than the
// context, bad sampling values, n_predict <= 0. The last generated token is not evaluated: the
// cache holds the prompt and all generated tokens but the last.
Result<GenerateResult> generate(Context& ctx, const Tokenizer& tok, std::span<const int32_t> prompt,
                                const GenerateOptions& opts, const TextCallback& on_text = nullptr);

// Chat helper: keeps the token history of what is in the cache so that each turn evaluates only
// the new tokens (the longest common prefix of the cached and the new prompt is reused).
class TokenHistory {
 public:
  // Rewinds ctx to the longest common prefix with `tokens` and returns what remains to evaluate.
  std::span<const int32_t> reuse(Context& ctx, const std::vector<int32_t>& tokens);
  void set(std::vector<int32_t> tokens) { tokens_ = std::move(tokens); }
  void append(std::span<const int32_t> t) { tokens_.insert(tokens_.end(), t.begin(), t.end()); }
  const std::vector<int32_t>& tokens() const { return tokens_; }

 private:
  std::vector<int32_t> tokens_;
  std::vector<int32_t> pending_;
};

// Perplexity as llama.cpp's llama-perplexity computes it: tokens (the whole text, tokenized
// with BOS when the model adds one) are cut into n_chunk = tokens.size() / n_ctx chunks of n_ctx
// tokens (the tail is dropped); each chunk is evaluated from an empty cache with its first token
// replaced by BOS (when bos_id >= 0); the tokens at positions j = n_ctx/2 .. n_ctx-2 of each
// chunk predict token j+1, and
//   nll = -sum log softmax(logits_j)[token_{j+1}],  ppl = exp(nll / count),
// count = n_chunk * (n_ctx - 1 - n_ctx/2). Needs at least 2 * n_ctx tokens, as llama.cpp does.
struct PerplexityResult {
  double perplexity = 0.0;
  double nll = 0.0;               // mean negative log-likelihood (nats)
  int64_t n_chunks = 0;
  int64_t n_ctx = 0;
  int64_t tokens_scored = 0;
  int64_t tokens_evaluated = 0;
  double seconds = 0.0;
  std::vector<double> running;    // perplexity after each chunk (llama.cpp's [1]x,[2]y,...)
};
using ChunkCallback = std::function<void(int64_t chunk, int64_t n_chunks, double running_ppl)>;
Result<PerplexityResult> perplexity(Context& ctx, std::span<const int32_t> tokens, int32_t bos_id,
                                    const ChunkCallback& on_chunk = nullptr);

}  // namespace edgeai::llm
