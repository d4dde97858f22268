// edgeai bench MODEL.gguf -p 512 -n 128 [--threads N] [--reps R] [--json]: prompt-processing and
// generation speed like llama-bench (pp: P random tokens from an empty cache in batches; tg: N
// tokens one at a time from an empty cache). Reports the mean over R runs after one warm-up.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <nlohmann/json.hpp>

#include "commands.h"
#include "llm_common.h"

namespace edgeai::cli {

namespace {
double seconds_now() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}
struct MeanSd {
  double mean = 0, sd = 0;
};
MeanSd mean_sd(const std::vector<double>& v) {
  MeanSd r;
  if (v.empty()) return r;
  for (double x : v) r.mean += x;
  r.mean /= v.size();
  if (v.size() > 1) {
    for (double x : v) r.sd += (x - r.mean) * (x - r.mean);
    r.sd = std::sqrt(r.sd / (v.size() - 1));
  }
  return r;
}
}  // namespace

// Merged into the one `edgeai bench` (CLI11 allows one subcommand per name, and the ONNX bench
// needs the verb too): apps/cli/cmd_bench.cc registers `bench` with both option sets (ONNX ones
// and -p/--prompt-tokens/--n-prompt, -n/--gen-tokens/--n-gen, -r/--reps, -t/--threads, --json)
// and calls this for .gguf files. This was `Command add_bench(CLI::App&)`; the body is unchanged,
// the options come in as arguments (--batch, --kv-f16 and --max-memory keep their defaults).
int bench_gguf(const std::string& path, int prompt_tokens, int gen_tokens, int threads, int reps, bool json, bool mmap,
               bool no_mmap) {
  struct Opts {
    LlmOptions llm;
    int64_t pp = 512, tg = 128;
    int reps = 5;
    bool json = false;
  };
  auto o = std::make_shared<Opts>();
  o->llm.model = path;
  o->llm.threads = threads;
  o->llm.mmap = mmap;
  o->llm.no_mmap = no_mmap;
  o->pp = prompt_tokens;
  o->tg = gen_tokens;
  o->reps = reps;
  o->json = json;
  auto body = [o]() -> int {
    if (!is_gguf_file(o->llm.model)) {
      return fail(o->llm.model + ": bench runs GGUF language models only for now (no GGUF magic in this file)");
    }
    if (o->pp < 0 || o->tg < 0 || o->pp + o->tg == 0) return fail("-p and -n must be >= 0 and not both 0");
    if (o->reps < 1) return fail("--reps must be positive");
    LlmOptions lo = o->llm;
    lo.ctx = o->pp + o->tg + 1;
    LlmRun run;
    Status st = load_llm(lo, false, true, &run);
    if (!st.ok()) return fail(st.message());
    const int64_t n_vocab = run.model->hparams().n_vocab;
    std::vector<int32_t> tokens(std::max(o->pp, o->tg));
    uint32_t x = 12345;
    for (auto& t : tokens) {
      x = x * 1103515245u + 12345u;
      t = (int32_t)(x % (uint32_t)n_vocab);
    }
    auto run_pp = [&]() -> Result<double> {
      run.ctx->clear();
      double t0 = seconds_now();
      RETURN_IF_ERROR(run.ctx->eval(std::span<const int32_t>(tokens.data(), o->pp), 0));
      return o->pp / (seconds_now() - t0);
    };
    auto run_tg = [&]() -> Result<double> {
      run.ctx->clear();
      double t0 = seconds_now();
      for (int64_t i = 0; i < o->tg; ++i) RETURN_IF_ERROR(run.ctx->eval(std::span<const int32_t>(&tokens[i], 1), i));
      return o->tg / (seconds_now() - t0);
    };
    std::vector<double> pp_rates, tg_rates;
    for (int r = -1; r < o->reps; ++r) {  // r = -1: warm-up
      if (o->pp > 0) {
        auto v = run_pp();
        if (!v.ok()) return fail(v.status().message());
        if (r >= 0) pp_rates.push_back(*v);
      }
      if (o->tg > 0) {
        auto v = run_tg();
        if (!v.ok()) return fail(v.status().message());
        if (r >= 0) tg_rates.push_back(*v);
      }
    }
    MeanSd pp = mean_sd(pp_rates), tg = mean_sd(tg_rates);
    const int threads = run.env->pool->num_threads();
    if (o->json) {
      nlohmann::json j{{"model", run.model->describe()},
                       {"threads", threads},
                       {"n_prompt", o->pp},
                       {"n_gen", o->tg},
                       {"reps", o->reps},
                       {"prompt_tokens_per_s", pp.mean},
                       {"prompt_tokens_per_s_sd", pp.sd},
                       {"gen_tokens_per_s", tg.mean},
                       {"gen_tokens_per_s_sd", tg.sd},
                       {"weights_bytes", run.model->weight_bytes()},
                       {"weights_in_memory", run.weights_in_memory}};
      std::printf("%s\n", j.dump().c_str());
    } else {
      std::printf("%s, %d threads, weights %s\n", run.model->describe().c_str(), threads,
                  run.weights_in_memory ? "read into memory" : "mapped");
      if (o->pp > 0) std::printf("pp%lld: %10.2f ± %.2f tokens/s\n", (long long)o->pp, pp.mean, pp.sd);
      if (o->tg > 0) std::printf("tg%lld: %10.2f ± %.2f tokens/s\n", (long long)o->tg, tg.mean, tg.sd);
    }
    return 0;
  };
  return body();
}

}  // namespace edgeai::cli
