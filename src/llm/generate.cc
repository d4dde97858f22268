#include "llm/generate.h"

#include <algorithm>
#include <chrono>
#include <cmath>

#include "llm/stop_matcher.h"

namespace edgeai::llm {

namespace {

double now_seconds() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

}  // namespace

Result<GenerateResult> generate(Context& ctx, const Tokenizer& tok, std::span<const int32_t> prompt,
                                const GenerateOptions& opts, const TextCallback& on_text) {
  if (opts.n_predict <= 0) {
    return invalid_argument("the number of tokens to generate must be positive, got " + std::to_string(opts.n_predict));
  }
  std::string bad = opts.sampling.validate();
  if (!bad.empty()) return invalid_argument(bad);
  if (prompt.empty()) return invalid_argument("empty prompt (no tokens, not even BOS)");
  if (ctx.n_past() + (int64_t)prompt.size() >= ctx.n_ctx()) {
    return out_of_range("the prompt (" + std::to_string(prompt.size()) + " tokens" +
                        (ctx.n_past() > 0 ? " after " + std::to_string(ctx.n_past()) + " cached" : std::string()) +
                        ") does not fit the context of " + std::to_string(ctx.n_ctx()) +
                        " tokens with room to generate; use a larger --ctx or a shorter prompt");
  }
  GenerateResult res;
  Sampler sampler(opts.sampling, kernels::cpu::scaled_exp_for(ctx.env().cpu));
  if (opts.penalize_prompt)
    for (int32_t t : prompt) sampler.accept(t);

  double t0 = now_seconds();
  RETURN_IF_ERROR(ctx.append(prompt));
  double t1 = now_seconds();
  res.stats.prompt_tokens = (int64_t)prompt.size();
  res.stats.prompt_seconds = t1 - t0;

  Utf8Streamer utf8;
  StopMatcher stops(opts.stop);
  bool stopped = false;
  bool at_start = opts.strip_leading_space;
  auto emit = [&](std::string s) {
    if (at_start && !s.empty()) {
      if (s[0] == ' ') s.erase(0, 1);
      at_start = false;
    }
    if (s.empty()) return true;
    res.text += s;
    return on_text ? on_text(s) : true;
  };
  res.stats.stop_reason = "length";
  for (int64_t i = 0; i < opts.n_predict; ++i) {
    int32_t id = sampler.sample(ctx.logits());
    sampler.accept(id);
    res.tokens.push_back(id);
    if (opts.stop_at_eog && tok.is_eog(id)) {
      res.stats.stop_reason = "eog";
      break;
    }
    bool hit = false;
    std::string text = stops.push(utf8.push(tok.token_to_piece(id)), &hit);
    if (!emit(text)) {
      res.stats.stop_reason = "callback";
      stopped = true;
      break;
    }
    if (hit) {
      res.stats.stop_reason = "stop";
      stopped = true;
      break;
    }
    if (i + 1 == opts.n_predict) break;  // the last token needs no forward pass
    if (ctx.n_past() + 1 > ctx.n_ctx()) {
      res.stats.stop_reason = "context";
      break;
    }
    int32_t one[1] = {id};
    RETURN_IF_ERROR(ctx.append(one));
  }
  if (!stopped) {
    bool hit = false;
    std::string rest = stops.push(utf8.flush(), &hit);
    if (!hit) rest += stops.flush();
    emit(rest);
  }
  res.stats.generated_tokens = (int64_t)res.tokens.size();
  res.stats.gen_seconds = now_seconds() - t1;
  return res;
}

std::span<const int32_t> TokenHistory::reuse(Context& ctx, const std::vector<int32_t>& tokens) {
  size_t common = 0;
  const size_t cached = std::min<size_t>(tokens_.size(), (size_t)ctx.n_past());
  while (common < cached && common < tokens.size() && tokens_[common] == tokens[common]) ++common;
  // Re-evaluate at least one token so that fresh logits exist for the next sample.
  if (common == tokens.size() && common > 0) --common;
  ctx.truncate((int64_t)common);
  tokens_.assign(tokens.begin(), tokens.begin() + common);
  pending_.assign(tokens.begin() + common, tokens.end());
  return pending_;
}

Result<PerplexityResult> perplexity(Context& ctx, std::span<const int32_t> tokens, int32_t bos_id,
                                    const ChunkCallback& on_chunk) {
  const int64_t n_ctx = ctx.n_ctx();
  const int64_t n_vocab = ctx.model().hparams().n_vocab;
  if (n_ctx < 4) return invalid_argument("perplexity needs a context of at least 4 tokens");
  if ((int64_t)tokens.size() < 2 * n_ctx) {
    return invalid_argument("perplexity needs at least 2 * n_ctx = " + std::to_string(2 * n_ctx) +
                            " tokens, the text has " + std::to_string(tokens.size()) + "; use a smaller --ctx");
  }
  PerplexityResult r;
  r.n_ctx = n_ctx;
  r.n_chunks = (int64_t)tokens.size() / n_ctx;
  const int64_t first = n_ctx / 2;
  std::vector<int32_t> chunk(n_ctx);
  double nll = 0.0;
  int64_t count = 0;
  const double t0 = now_seconds();
  for (int64_t c = 0; c < r.n_chunks; ++c) {
    std::copy(tokens.begin() + c * n_ctx, tokens.begin() + (c + 1) * n_ctx, chunk.begin());
    if (bos_id >= 0) chunk[0] = bos_id;
    ctx.clear();
    RETURN_IF_ERROR(ctx.eval(chunk, 0, /*all_logits=*/true));
    for (int64_t j = first; j < n_ctx - 1; ++j) {
      std::span<const float> lg = ctx.logits_at(j);
      float mx = lg[0];
      for (int64_t v = 1; v < n_vocab; ++v) mx = std::max(mx, lg[v]);
      double sum = 0.0;
      for (int64_t v = 0; v < n_vocab; ++v) sum += std::exp((double)lg[v] - mx);
      const int32_t target = tokens[c * n_ctx + j + 1];
      nll -= (double)lg[target] - mx - std::log(sum);
      ++count;
    }
    r.running.push_back(std::exp(nll / count));
    if (on_chunk) on_chunk(c, r.n_chunks, r.running.back());
  }
  r.seconds = now_seconds() - t0;
  r.tokens_scored = count;
  r.tokens_evaluated = r.n_chunks * n_ctx;
  r.nll = nll / count;
  r.perplexity = std::exp(r.nll);
  return r;
}

}  // namespace edgeai::llm
