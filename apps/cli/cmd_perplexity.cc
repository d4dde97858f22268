// edgeai perplexity MODEL.gguf --file TEXT [--ctx N] [--chunks N] [--json]: perplexity the way
// llama.cpp's llama-perplexity computes it (see llm/generate.h for the exact method).
#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "commands.h"
#include "llm/generate.h"
#include "llm_common.h"

namespace edgeai::cli {

Command add_perplexity(CLI::App& app) {
  struct Opts {
    LlmOptions llm;
    std::string file;
    int64_t chunks = -1;
    bool json = false;
  };
  auto o = std::make_shared<Opts>();
  auto* sub = app.add_subcommand("perplexity", "Perplexity of a GGUF language model on a text file (llama.cpp's method)");
  add_llm_options(sub, o->llm, /*with_ctx=*/false);
  sub->add_option("--file,-f", o->file, "Text file")->required();
  sub->add_option("--ctx,-c", o->llm.ctx, "Chunk (context) length in tokens (default: 512, or the model's if smaller)");
  sub->add_option("--chunks", o->chunks, "Score at most this many chunks (default: all)");
  sub->add_flag("--json", o->json, "Print one JSON object");
  return [o]() -> int {
    std::ifstream in(o->file, std::ios::binary);
    if (!in) return fail(o->file + ": cannot open the text file");
    std::stringstream ss;
    ss << in.rdbuf();
    std::string text = ss.str();
    if (o->chunks == 0 || o->chunks < -1) return fail("--chunks must be positive");
    LlmOptions lo = o->llm;
    lo.default_ctx = 512;  // llama-perplexity's default
    LlmRun run;
    run.ctx_opts.logits_all = true;  // every chunk's logits are scored
    Status st = load_llm(lo, true, true, &run);
    if (!st.ok()) return fail(st.message());
    const llm::Tokenizer& tok = *run.tok;
    std::vector<int32_t> tokens = tok.encode(text, /*add_special=*/true, /*parse_special=*/false);
    const int64_t n_ctx = run.ctx->n_ctx();
    if (o->chunks > 0 && (int64_t)tokens.size() > o->chunks * n_ctx) tokens.resize(o->chunks * n_ctx);
    const int32_t bos = tok.add_bos() ? tok.bos_id() : -1;
    if (!o->json) {
      std::fprintf(stderr, "perplexity: %zu tokens, %lld chunks of %lld tokens\n", tokens.size(),
                   (long long)((int64_t)tokens.size() / n_ctx), (long long)n_ctx);
    }
    auto res = llm::perplexity(*run.ctx, tokens, bos, [&](int64_t c, int64_t, double ppl) {
      if (!o->json) std::fprintf(stderr, "[%lld]%.4f,", (long long)(c + 1), ppl);
    });
    if (!res.ok()) return fail(res.status().message());
    if (o->json) {
      nlohmann::json j{{"perplexity", res->perplexity},         {"tokens", (int64_t)tokens.size()},
                       {"tokens_scored", res->tokens_scored},   {"chunks", res->n_chunks},
                       {"n_ctx", res->n_ctx},                   {"nll", res->nll},
                       {"seconds", res->seconds},
                       {"tokens_per_s", res->seconds > 0 ? res->tokens_evaluated / res->seconds : 0.0}};
      std::printf("%s\n", j.dump().c_str());
    } else {
      std::fprintf(stderr, "\n");
      std::printf("perplexity: %.4f (%lld chunks of %lld tokens, %lld tokens scored, %.1f s)\n", res->perplexity,
                  (long long)res->n_chunks, (long long)res->n_ctx, (long long)res->tokens_scored, res->seconds);
    }
    return 0;
  };
}

}  // namespace edgeai::cli
