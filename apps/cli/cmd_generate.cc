// edgeai generate MODEL.gguf --prompt TEXT [-n N] [sampling] [--ctx N] [--threads N] [--json]
//   [--dry-run] [--max-memory BYTES]: continues the prompt, streaming the generated text.
#include <cstdio>
#include <nlohmann/json.hpp>

#include "commands.h"
#include "llm/generate.h"
#include "llm_common.h"

namespace edgeai::cli {

Command add_generate(CLI::App& app) {
  struct Opts {
    LlmOptions llm;
    llm::SamplerParams sampling;
    std::string prompt;
    int64_t n_predict = 128;
    std::vector<std::string> stop;
    bool json = false;
    bool dry_run = false;
    bool ignore_eos = false;
  };
  auto o = std::make_shared<Opts>();
  auto* sub = app.add_subcommand("generate", "Generate text with a GGUF language model");
  add_llm_options(sub, o->llm);
  sub->add_option("--prompt,-p", o->prompt, "Prompt text (empty: start from BOS alone)");
  sub->add_option("-n,--n-predict", o->n_predict, "Tokens to generate")->capture_default_str();
  add_sampling_options(sub, o->sampling);
  sub->add_option("--stop", o->stop, "Stop string (repeatable: --stop A --stop B)")->allow_extra_args(false);
  sub->add_flag("--ignore-eos", o->ignore_eos, "Keep generating past end-of-generation tokens");
  sub->add_flag("--json", o->json, "Print one JSON object (text, tokens, speeds) instead of streaming");
  sub->add_flag("--dry-run", o->dry_run, "Print the memory estimate and exit");
  return [o]() -> int {
    if (o->n_predict <= 0) return fail("-n must be positive, got " + std::to_string(o->n_predict));
    std::string bad = o->sampling.validate();
    if (!bad.empty()) return fail(bad);
    LlmRun run;
    std::string estimate;
    Status st = load_llm(o->llm, /*need_tokenizer=*/true, /*create_context=*/!o->dry_run, &run, &estimate);
    if (!st.ok()) return fail(st.message());
    if (o->dry_run) {
      llm::MemoryEstimate e = run.model->estimate_memory(run.ctx_opts);
      if (o->json) {
        nlohmann::json j{{"model", run.model->describe()}, {"n_ctx", e.n_ctx},          {"weights_bytes", e.weights},
                         {"kv_cache_bytes", e.kv_cache},   {"scratch_bytes", e.scratch}, {"total_bytes", e.total()}};
        std::printf("%s\n", j.dump().c_str());
      } else {
        std::printf("%s\n%s\n", run.model->describe().c_str(), estimate.c_str());
      }
      return 0;
    }
    const llm::Tokenizer& tok = *run.tok;
    std::vector<int32_t> prompt;
    if (o->prompt.empty()) {
      if (tok.bos_id() < 0) return fail("empty prompt and the model has no BOS token to start from");
      prompt.push_back(tok.bos_id());
    } else {
      prompt = tok.encode(o->prompt, /*add_special=*/true, /*parse_special=*/true);
      if (prompt.empty()) return fail("the prompt gives no tokens");
    }
    if ((int64_t)prompt.size() >= run.ctx->n_ctx()) {
      return fail("the prompt is " + std::to_string(prompt.size()) + " tokens, longer than the context of " +
                  std::to_string(run.ctx->n_ctx()) + " tokens (raise --ctx or shorten the prompt)");
    }
    llm::GenerateOptions g;
    g.n_predict = o->n_predict;
    g.sampling = o->sampling;
    g.stop = o->stop;
    g.stop_at_eog = !o->ignore_eos;
    g.strip_leading_space = o->prompt.empty() && tok.model() == "llama";
    llm::TextCallback cb = nullptr;
    if (!o->json) {
      cb = [](std::string_view s) {
        std::fwrite(s.data(), 1, s.size(), stdout);
        std::fflush(stdout);
        return true;
      };
    }
    auto res = llm::generate(*run.ctx, tok, prompt, g, cb);
    if (!res.ok()) return fail(res.status().message());
    const llm::GenerateStats& s = res->stats;
    if (o->json) {
      nlohmann::json j{{"text", res->text},
                       {"tokens", res->tokens},
                       {"prompt_token_ids", prompt},
                       {"prompt_tokens", s.prompt_tokens},
                       {"generated_tokens", s.generated_tokens},
                       {"prompt_tokens_per_s", s.prompt_tokens_per_s()},
                       {"gen_tokens_per_s", s.gen_tokens_per_s()},
                       {"stop_reason", s.stop_reason},
                       {"threads", run.env->pool->num_threads()},
                       {"n_ctx", run.ctx->n_ctx()}};
      std::printf("%s\n", j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace).c_str());
    } else {
      std::printf("\n");
      std::fprintf(stderr, "edgeai: prompt %lld tokens, %.1f tok/s; generated %lld tokens, %.1f tok/s (%s, %d threads)\n",
                   (long long)s.prompt_tokens, s.prompt_tokens_per_s(), (long long)s.generated_tokens,
                   s.gen_tokens_per_s(), s.stop_reason.c_str(), run.env->pool->num_threads());
    }
    return 0;
  };
}

}  // namespace edgeai::cli
