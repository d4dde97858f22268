// llm::generate and TokenHistory on stories260K. Oracles: the NumPy reference's greedy text
// (streamed pieces must add up to it; stop strings cut it at the documented place) and the
// error contract.
#include "llm/generate.h"

#include <gtest/gtest.h>

#include "core/env.h"
#include "llm_test_util.h"

namespace edgeai::llm {
namespace {

struct Session {
  std::unique_ptr<Env> env;
  std::unique_ptr<Model> model;
  std::unique_ptr<Tokenizer> tok;
  std::unique_ptr<Context> ctx;
};

Session open(int64_t n_ctx = 0) {
  Session r;
  r.env = Env::create(2);
  auto m = Model::load(testing::stories_gguf());
  EXPECT_TRUE(m.ok());
  if (!m.ok()) return r;
  r.model = std::move(m).value();
  r.tok = std::move(Tokenizer::from_gguf(r.model->gguf())).value();
  ContextOptions co;
  co.n_ctx = n_ctx;
  r.ctx = std::move(Context::create(*r.model, *r.env, co)).value();
  return r;
}

GenerateOptions greedy(int64_t n) {
  GenerateOptions g;
  g.n_predict = n;
  g.sampling.temperature = 0;
  g.stop_at_eog = false;
  g.strip_leading_space = true;
  return g;
}

const std::string& reference_text() {
  static const std::string t = testing::reference()["greedy"]["text"].get<std::string>();
  return t;
}

TEST(LlmGenerate, StreamedPiecesAddUpToTheText) {
  EDGEAI_REQUIRE_STORIES();
  Session r = open();
  std::string streamed;
  int calls = 0;
  std::vector<int32_t> bos{1};
  auto res = generate(*r.ctx, *r.tok, bos, greedy(60), [&](std::string_view s) {
    streamed += s;
    ++calls;
    return true;
  });
  ASSERT_TRUE(res.ok()) << res.status().message();
  EXPECT_EQ(streamed, res->text);
  EXPECT_GT(calls, 10);
  EXPECT_EQ(reference_text().rfind(res->text, 0), 0u) << res->text;
  EXPECT_EQ(res->stats.generated_tokens, 60);
  EXPECT_EQ(res->stats.prompt_tokens, 1);
  EXPECT_EQ(res->stats.stop_reason, "length");
  EXPECT_GT(res->stats.gen_tokens_per_s(), 0);
  // The cache holds the prompt and every generated token but the last.
  EXPECT_EQ(r.ctx->n_past(), 60);
}

TEST(LlmGenerate, StopStringsCutTheTextAndAreNeverStreamed) {
  EDGEAI_REQUIRE_STORIES();
  Session r = open();
  GenerateOptions g = greedy(100);
  g.stop = {"e girl", "never appears in this story"};  // "e girl" spans two tokens
  std::string streamed;
  std::vector<int32_t> bos{1};
  auto res = generate(*r.ctx, *r.tok, bos, g, [&](std::string_view s) {
    streamed += s;
    return true;
  });
  ASSERT_TRUE(res.ok());
  EXPECT_EQ(res->text, "Once upon a time, there was a littl");
  EXPECT_EQ(streamed, res->text);
  EXPECT_EQ(res->stats.stop_reason, "stop");
}

TEST(LlmGenerate, CallbackCanStop) {
  EDGEAI_REQUIRE_STORIES();
  Session r = open();
  int calls = 0;
  std::vector<int32_t> bos{1};
  auto res = generate(*r.ctx, *r.tok, bos, greedy(100), [&](std::string_view) { return ++calls < 3; });
  ASSERT_TRUE(res.ok());
  EXPECT_EQ(calls, 3);
  EXPECT_EQ(res->stats.stop_reason, "callback");
  EXPECT_EQ(res->tokens.size(), 3u);
}

TEST(LlmGenerate, EndOfGenerationStops) {
  EDGEAI_REQUIRE_STORIES();
  Session r = open();
  GenerateOptions g = greedy(400);
  g.stop_at_eog = true;
  std::vector<int32_t> bos{1};
  auto res = generate(*r.ctx, *r.tok, bos, g);
  ASSERT_TRUE(res.ok());
  if (res->stats.stop_reason == "eog") {
    EXPECT_TRUE(r.tok->is_eog(res->tokens.back()));
  } else {
    EXPECT_EQ(res->stats.stop_reason, "length");
    for (int32_t t : res->tokens) EXPECT_FALSE(r.tok->is_eog(t));
  }
}

TEST(LlmGenerate, ContextFullEndsGeneration) {
  EDGEAI_REQUIRE_STORIES();
  Session r = open(20);
  std::vector<int32_t> bos{1};
  auto res = generate(*r.ctx, *r.tok, bos, greedy(100));
  ASSERT_TRUE(res.ok()) << res.status().message();
  EXPECT_EQ(res->stats.stop_reason, "context");
  EXPECT_EQ(res->tokens.size(), 20u);  // positions 1..19 evaluated, the 20th token sampled last
}

TEST(LlmGenerate, Errors) {
  EDGEAI_REQUIRE_STORIES();
  Session r = open(16);
  std::vector<int32_t> bos{1};
  GenerateOptions g = greedy(0);
  EXPECT_FALSE(generate(*r.ctx, *r.tok, bos, g).ok());
  EXPECT_FALSE(generate(*r.ctx, *r.tok, {}, greedy(4)).ok());
  std::vector<int32_t> long_prompt(16, 300);
  auto res = generate(*r.ctx, *r.tok, long_prompt, greedy(4));
  ASSERT_FALSE(res.ok());
  EXPECT_NE(res.status().message().find("does not fit the context of 16"), std::string::npos);
  GenerateOptions bad = greedy(4);
  bad.sampling.top_p = -1;
  EXPECT_FALSE(generate(*r.ctx, *r.tok, bos, bad).ok());
  std::vector<int32_t> oov{1, 9999};
  EXPECT_FALSE(generate(*r.ctx, *r.tok, oov, greedy(4)).ok());
}

// A continued conversation evaluates only what is new; the result equals a fresh evaluation.
TEST(LlmGenerate, TokenHistoryReusesTheCachedPrefix) {
  EDGEAI_REQUIRE_STORIES();
  Session r = open();
  std::vector<int32_t> first = r.tok->encode("Once upon a time, there was a dog.", true, false);
  TokenHistory h;
  auto rest = h.reuse(*r.ctx, first);
  EXPECT_EQ(rest.size(), first.size());
  auto a = generate(*r.ctx, *r.tok, std::vector<int32_t>(rest.begin(), rest.end()), greedy(5));
  ASSERT_TRUE(a.ok());
  std::vector<int32_t> all = first;
  all.insert(all.end(), a->tokens.begin(), a->tokens.end());
  h.set(all);
  std::vector<int32_t> second = all;
  std::vector<int32_t> more = r.tok->encode(" The dog was happy.", false, false);
  second.insert(second.end(), more.begin(), more.end());
  rest = h.reuse(*r.ctx, second);
  // Everything up to the last generated token (never evaluated) is reused.
  EXPECT_EQ(rest.size(), more.size() + 1);
  EXPECT_EQ(r.ctx->n_past(), (int64_t)(second.size() - rest.size()));
  auto b = generate(*r.ctx, *r.tok, std::vector<int32_t>(rest.begin(), rest.end()), greedy(8));
  ASSERT_TRUE(b.ok());
  Session fresh = open();
  auto c = generate(*fresh.ctx, *fresh.tok, second, greedy(8));
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(b->tokens, c->tokens);
  // Asking again for exactly what is cached re-evaluates the last token (fresh logits).
  rest = h.reuse(*r.ctx, first);
  EXPECT_EQ(rest.size(), 1u);
}

}  // namespace
}  // namespace edgeai::llm
