// llm::BatchContext (the server's --parallel decoding) on stories260K. Oracle: Context, the
// single-sequence forward pass: greedy decoding of several sequences together, started at
// different steps, must give the same tokens as decoding each alone (up to a near-tie of the two
// best logits, where summation order may decide); bad rows are refused.
#include "llm/batch.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <functional>
#include <thread>

#include "core/env.h"
#include "kernels/cpu_test_util.h"
#include "llm/context.h"
#include "llm/tokenizer.h"
#include "llm_test_util.h"

namespace edgeai::llm {
namespace {

int32_t argmax(std::span<const float> v) {
  return (int32_t)(std::max_element(v.begin(), v.end()) - v.begin());
}

// Greedy tokens of Context alone, and at each step the gap between the two largest logits.
std::vector<int32_t> greedy_alone(const Model& m, Env& env, const std::vector<int32_t>& prompt, int n,
                                  std::vector<float>* gaps) {
  ContextOptions co;
  co.n_ctx = 256;
  auto ctx = std::move(Context::create(m, env, co)).value();
  EXPECT_TRUE(ctx->append(prompt).ok());
  std::vector<int32_t> out;
  for (int i = 0; i < n; ++i) {
    int32_t t = argmax(ctx->logits());
    std::vector<float> l(ctx->logits().begin(), ctx->logits().end());
    std::partial_sort(l.begin(), l.begin() + 2, l.end(), std::greater<float>());
    gaps->push_back(l[0] - l[1]);
    out.push_back(t);
    int32_t one[1] = {t};
    EXPECT_TRUE(ctx->append(one).ok());
  }
  return out;
}

// Each text's prompt tokens, and its greedy tokens and gaps alone (greedy_alone).
void greedy_references(const Model& m, Env& env, const Tokenizer& tok, const std::vector<std::string>& texts, int n,
                       std::vector<std::vector<int32_t>>* prompts, std::vector<std::vector<int32_t>>* want,
                       std::vector<std::vector<float>>* gaps) {
  gaps->assign(texts.size(), {});
  for (size_t s = 0; s < texts.size(); ++s) {
    prompts->push_back(tok.encode(texts[s], true, false));
    want->push_back(greedy_alone(m, env, prompts->back(), n, &(*gaps)[s]));
  }
}

TEST(ServeBatch, BatchedGreedyEqualsSingleSequence) {
  EDGEAI_REQUIRE_STORIES();
  auto env = Env::create(2);
  auto model = std::move(Model::load(testing::stories_gguf())).value();
  auto tok = std::move(Tokenizer::from_gguf(model->gguf())).value();
  const std::vector<std::string> texts = {"Once upon a time", "The little dog ran to the park and saw",
                                          "Lily", "One day, a big red ball"};
  const int n_gen = 40;
  std::vector<std::vector<int32_t>> prompts, want;
  std::vector<std::vector<float>> gaps;
  greedy_references(*model, *env, *tok, texts, n_gen, &prompts, &want, &gaps);
  BatchOptions bo;
  bo.n_ctx = 256;
  bo.n_slots = 4;
  bo.n_batch = 16;  // prompts longer than what is left of a step are split over steps
  auto batch = std::move(BatchContext::create(*model, *env, bo)).value();
  // Sequence s joins at step 3 * s: each step carries the decode rows of the running sequences
  // and the whole prompt of the joining one.
  std::vector<std::vector<int32_t>> got(texts.size());
  std::vector<int64_t> pos(texts.size(), 0);
  for (int step = 0; step < 3 * (int)texts.size() + n_gen; ++step) {
    std::vector<BatchRow> rows;
    std::vector<size_t> who;
    for (size_t s = 0; s < texts.size(); ++s) {
      if (step < 3 * (int)s || (int)got[s].size() >= n_gen) continue;
      if (step == 3 * (int)s) {
        for (size_t i = 0; i < prompts[s].size(); ++i)
          rows.push_back({(int32_t)s, prompts[s][i], (int64_t)i, i + 1 == prompts[s].size()});
        pos[s] = (int64_t)prompts[s].size();
      } else {
        rows.push_back({(int32_t)s, got[s].back(), pos[s]++, true});
      }
      who.push_back(s);
    }
    if (rows.empty()) continue;
    // The callback sees every logit row once, with the logits logits(i) gives after the eval
    // (decode steps of the 4 slots run on both threads, two slots each).
    std::vector<std::vector<float>> seen(who.size());
    ASSERT_TRUE(batch->eval(rows, [&](int64_t i, std::span<const float> l) {
      ASSERT_TRUE(i >= 0 && i < (int64_t)seen.size() && seen[(size_t)i].empty()) << i;
      seen[(size_t)i].assign(l.begin(), l.end());
    }).ok());
    ASSERT_EQ(batch->n_logit_rows(), (int64_t)who.size());
    for (size_t i = 0; i < who.size(); ++i) {
      std::span<const float> l = batch->logits((int64_t)i);
      ASSERT_TRUE(std::equal(l.begin(), l.end(), seen[i].begin(), seen[i].end())) << "logit row " << i;
      got[who[i]].push_back(argmax(l));
    }
  }
  // Attention sums in another order than Context's kernels::ggml_matmul scores, and the
  // projections' tiles hold other numbers of rows, so logits may differ in the last bits: the
  // tokens must be equal up to the end, or up to a step where Context's two best logits were
  // within 1e-3 of each other (rounding decides such a tie; after it the texts legitimately part).
  int exact = 0;
  for (size_t s = 0; s < texts.size(); ++s) {
    size_t i = 0;
    while (i < want[s].size() && got[s][i] == want[s][i]) ++i;
    if (i == want[s].size()) {
      ++exact;
      continue;
    }
    EXPECT_LT(gaps[s][i], 1e-3f) << "sequence " << s << " (" << texts[s] << ") differs at token " << i
                                 << " where the best logit led by " << gaps[s][i] << ": batched "
                                 << tok->decode(got[s]) << " | alone " << tok->decode(want[s]);
  }
  EXPECT_GE(exact, 3) << "at most one of the four sequences may meet a near-tie";
}

// Decode rows and prompt rows take the CPU's attention kernel over BatchContext's transposed
// key cache (UKernels::attention, tested alone in tests/kernels/cpu_attention_test.cc), at head
// sizes that fill, split or fall short of a vector. Oracle: Context, one sequence at a time,
// fed the same tokens; every decode step's logits must agree to f32 rounding. Tiny random llama
// models (4 heads over 2 KV heads) and gemma2 ones (attention soft-cap, a sliding window of 8
// on every other layer), at 1 to 3 threads and on each ISA's kernel table (the softmax is the
// CPU's vector kernel).
TEST(ServeBatch, DecodeAttentionEveryHeadSizeMatchesContext) {
  const std::vector<std::vector<int32_t>> prompts = {{1, 17, 40, 9, 33}, {1, 5}, {1, 60, 61, 2, 3, 4, 50}};
  const int n_steps = 22;  // positions up to 28: past the window of 8
  for (const char* arch : {"llama", "gemma2"}) {
    for (int64_t hd : {8, 16, 24, 32, 64, 128}) {
      testing::TinySpec spec;
      spec.arch = arch;
      spec.n_head = 4;
      spec.n_head_kv = 2;
      spec.n_embd = std::string(arch) == "llama" ? 4 * hd : 32;
      spec.head_dim = std::string(arch) == "llama" ? 0 : hd;
      spec.sliding_window = std::string(arch) == "gemma2" ? 8 : 0;
      spec.seed = (uint64_t)hd;
      const std::string path =
          testing::write_tiny_model(spec, "batch_hd" + std::to_string(hd) + "_" + arch + ".gguf");
      auto model = Model::load(path);
      ASSERT_TRUE(model.ok()) << model.status().message();
      ASSERT_EQ((*model)->hparams().head_dim_k, hd);
      for (const CpuFeatures& cpu : edgeai::testing::isa_variants()) {
        for (int threads : {1, 2, 3}) {
          SCOPED_TRACE(std::string(arch) + " head size " + std::to_string(hd) + ", " +
                       kernels::cpu::ukernels_for(cpu).name + ", " + std::to_string(threads) + " threads");
          auto env = Env::create(threads);
          env->cpu = cpu;
          // Context's logits per sequence, after its prompt and after each decode token.
          std::vector<std::vector<std::vector<float>>> want(prompts.size());
          auto token_at = [&](size_t s, int step) { return (int32_t)((7 + 13 * s + 29 * (size_t)step) % 64); };
          for (size_t s = 0; s < prompts.size(); ++s) {
            ContextOptions co;
            co.n_ctx = 64;
            auto ctx = std::move(Context::create(**model, *env, co)).value();
            ASSERT_TRUE(ctx->append(prompts[s]).ok());
            want[s].emplace_back(ctx->logits().begin(), ctx->logits().end());
            for (int step = 0; step < n_steps; ++step) {
              const int32_t one[1] = {token_at(s, step)};
              ASSERT_TRUE(ctx->append(one).ok());
              want[s].emplace_back(ctx->logits().begin(), ctx->logits().end());
            }
          }
          BatchOptions bo;
          bo.n_ctx = 64;
          bo.n_slots = (int64_t)prompts.size();
          auto batch = std::move(BatchContext::create(**model, *env, bo)).value();
          std::vector<BatchRow> rows;
          for (size_t s = 0; s < prompts.size(); ++s)
            for (size_t i = 0; i < prompts[s].size(); ++i)
              rows.push_back({(int32_t)s, prompts[s][i], (int64_t)i, i + 1 == prompts[s].size()});
          for (int step = -1; step < n_steps; ++step) {
            if (step >= 0) {
              rows.clear();
              for (size_t s = 0; s < prompts.size(); ++s)
                rows.push_back({(int32_t)s, token_at(s, step), (int64_t)prompts[s].size() + step, true});
            }
            ASSERT_TRUE(batch->eval(rows).ok());
            ASSERT_EQ(batch->n_logit_rows(), (int64_t)prompts.size());
            for (size_t s = 0; s < prompts.size(); ++s) {
              const std::vector<float>& w = want[s][(size_t)(step + 1)];
              std::span<const float> got = batch->logits((int64_t)s);
              ASSERT_EQ(got.size(), w.size());
              float scale = 1.0f, worst = 0.0f;
              for (size_t i = 0; i < w.size(); ++i) {
                scale = std::max(scale, std::fabs(w[i]));
                worst = std::max(worst, std::fabs(got[i] - w[i]));
              }
              ASSERT_LE(worst, 1e-5f * scale) << "sequence " << s << ", decode step " << step;
            }
          }
        }
      }
    }
  }
}

TEST(ServeBatch, SlotReuseRewindsAndBadRowsAreRefused) {
  EDGEAI_REQUIRE_STORIES();
  auto env = Env::create(1);
  auto model = std::move(Model::load(testing::stories_gguf())).value();
  auto tok = std::move(Tokenizer::from_gguf(model->gguf())).value();
  BatchOptions bo;
  bo.n_ctx = 64;
  bo.n_slots = 2;
  auto batch = std::move(BatchContext::create(*model, *env, bo)).value();
  std::vector<int32_t> p = tok->encode("Once upon a time", true, false);
  auto run = [&](int32_t slot) {
    std::vector<BatchRow> rows;
    for (size_t i = 0; i < p.size(); ++i) rows.push_back({slot, p[i], (int64_t)i, i + 1 == p.size()});
    EXPECT_TRUE(batch->eval(rows).ok());
    return argmax(batch->logits(0));
  };
  const int32_t first = run(0);
  std::vector<BatchRow> junk = {{0, 7, (int64_t)p.size(), false}, {0, 9, (int64_t)p.size() + 1, false}};
  ASSERT_TRUE(batch->eval(junk).ok());
  EXPECT_EQ(run(0), first);  // a new prompt at position 0 forgets the old cache
  EXPECT_EQ(run(1), first);

  const int64_t nv = model->hparams().n_vocab;
  const std::vector<std::vector<BatchRow>> bad = {
      {},                                       // no rows
      {{2, 1, 0, true}},                        // slot out of range
      {{-1, 1, 0, true}},
      {{0, (int32_t)nv, 0, true}},              // token out of vocabulary
      {{0, -5, 0, true}},
      {{1, 1, 100, true}},                      // past the slot's cache
      {{1, 1, 0, false}, {1, 1, 2, true}},      // positions not consecutive
      {{1, 1, 64, true}},                       // past the context
  };
  for (const auto& rows : bad) EXPECT_FALSE(batch->eval(rows).ok()) << rows.size() << " rows";
  EXPECT_EQ(run(1), first);  // refused evals changed nothing that matters

  std::vector<float> e1, e2, e3;
  ASSERT_TRUE(batch->embed(0, p, &e1).ok());
  ASSERT_TRUE(batch->embed(1, p, &e2).ok());
  ASSERT_TRUE(batch->embed(1, tok->encode("The cat", true, false), &e3).ok());
  ASSERT_EQ((int64_t)e1.size(), model->hparams().n_embd);
  EXPECT_EQ(e1, e2);
  EXPECT_NE(e1, e3);
  EXPECT_FALSE(batch->embed(0, {}, &e1).ok());
  EXPECT_FALSE(batch->embed(5, p, &e1).ok());
  std::vector<int32_t> too_long(65, 1);
  EXPECT_FALSE(batch->embed(0, too_long, &e1).ok());

  BatchOptions zero;
  zero.n_slots = 0;
  EXPECT_FALSE(BatchContext::create(*model, *env, zero).ok());
}

// The server's loops (apps/serve/llm_engine.cc, a model too small to thread a matmul): two
// threads run eval_on at once, each on its own caller lane over disjoint slots, and a slot moves
// from one lane to the other between steps. Oracle: the same calls one at a time on another
// BatchContext (the logits bit for bit), and Context alone (greedy tokens, up to near-ties).
TEST(ServeBatch, CallerLanesAtOnceMatchOneAtATime) {
  EDGEAI_REQUIRE_STORIES();
  auto model = std::move(Model::load(testing::stories_gguf())).value();
  auto tok = std::move(Tokenizer::from_gguf(model->gguf())).value();
  const std::vector<std::string> texts = {"Once upon a time", "The little dog ran to the park and saw", "Lily",
                                          "One day, a big red ball", "Tom"};
  const int n_gen = 30;
  const int64_t nv = model->hparams().n_vocab;
  for (const CpuFeatures& cpu : edgeai::testing::isa_variants()) {
    SCOPED_TRACE(kernels::cpu::ukernels_for(cpu).name);
    auto env = Env::create(2);
    env->cpu = cpu;
    std::vector<std::vector<int32_t>> prompts, want;
    std::vector<std::vector<float>> gaps;
    greedy_references(*model, *env, *tok, texts, n_gen, &prompts, &want, &gaps);
    BatchOptions bo;
    bo.n_ctx = 128;
    bo.n_slots = (int64_t)texts.size();
    bo.n_lanes = 2;
    auto at_once = std::move(BatchContext::create(*model, *env, bo)).value();
    auto in_turn = std::move(BatchContext::create(*model, *env, bo)).value();
    std::vector<std::vector<int32_t>> got(texts.size());
    for (int step = 0; step <= n_gen + 2; ++step) {
      // Slot s is on lane (s + step / 3) % 2 this step; sequence 4 joins at step 2.
      std::vector<BatchRow> rows[2];
      std::vector<size_t> who[2];
      for (size_t s = 0; s < texts.size(); ++s) {
        const int join = s == 4 ? 2 : 0;
        if (step < join || (int)got[s].size() >= n_gen) continue;
        const int lane = (int)((s + (size_t)step / 3) % 2);
        if (step == join) {
          for (size_t i = 0; i < prompts[s].size(); ++i)
            rows[lane].push_back({(int32_t)s, prompts[s][i], (int64_t)i, i + 1 == prompts[s].size()});
        } else {
          rows[lane].push_back({(int32_t)s, got[s].back(), (int64_t)(prompts[s].size() + got[s].size() - 1), true});
        }
        who[lane].push_back(s);
      }
      std::vector<float> a[2], b[2];
      Status sa[2] = {ok_status(), ok_status()};
      auto run = [&](BatchContext& c, int lane, std::vector<float>* out) {
        out->assign(who[lane].size() * (size_t)nv, 0.0f);
        if (rows[lane].empty()) return ok_status();
        return c.eval_on(lane, rows[lane], [&](int64_t i, std::span<const float> l) {
          std::copy(l.begin(), l.end(), out->begin() + i * nv);
        });
      };
      std::thread other([&] { sa[1] = run(*at_once, 1, &a[1]); });
      sa[0] = run(*at_once, 0, &a[0]);
      other.join();
      for (int lane = 0; lane < 2; ++lane) {
        ASSERT_TRUE(sa[lane].ok()) << sa[lane].message();
        ASSERT_TRUE(run(*in_turn, lane, &b[lane]).ok());
        ASSERT_EQ(a[lane], b[lane]) << "step " << step << ", lane " << lane;
        for (size_t i = 0; i < who[lane].size(); ++i)
          got[who[lane][i]].push_back(argmax({a[lane].data() + i * nv, (size_t)nv}));
      }
    }
    int exact = 0;
    for (size_t s = 0; s < texts.size(); ++s) {
      ASSERT_EQ(got[s].size(), want[s].size());
      size_t i = 0;
      while (i < want[s].size() && got[s][i] == want[s][i]) ++i;
      if (i == want[s].size()) {
        ++exact;
        continue;
      }
      EXPECT_LT(gaps[s][i], 1e-3f) << "sequence " << s << " differs at token " << i;
    }
    EXPECT_GE(exact, 4);
    std::vector<float> e0, e1;
    ASSERT_TRUE(at_once->embed(0, prompts[0], &e0, 1).ok());
    ASSERT_TRUE(in_turn->embed(0, prompts[0], &e1).ok());
    EXPECT_EQ(e0, e1);
    const BatchRow one[1] = {{0, 1, 0, true}};
    EXPECT_FALSE(at_once->eval_on(2, one, nullptr).ok());
    EXPECT_FALSE(at_once->eval_on(-1, one, nullptr).ok());
    EXPECT_FALSE(at_once->embed(0, prompts[0], &e0, 2).ok());
  }
}

}  // namespace
}  // namespace edgeai::llm
