// batch_decode_bench: the server's decode step alone (llm::BatchContext, as `edgeai serve
// --parallel N` runs it per loop): S slots, each after an 8-token prompt, decode positions 8..263
// together, one row per slot a step, each slot's token drawn by its own sampler (temperature 0.8,
// no other filter: the server's default for the load test). Prints the CPU time of the calling
// thread per step, for the eval and for the draws, min and median over the rounds, and a checksum
// of the drawn tokens (equal across builds when the logits are bit for bit the same). CPU time, so
// that other jobs on a shared machine count less; a one-thread environment by default (each of
// the server's loops for a small model has one).
//
// The samplers' exp is the server's (kernels::cpu::scaled_exp_for: the vector one where it matches
// std::exp bit for bit); --scalar-exp 1 gives them std::exp (the same tokens, slower draws).
//
// usage: batch_decode_bench MODEL.gguf [--slots 4] [--rounds 5] [--threads 1] [--no-avx512 1] [--scalar-exp 1]
#include <time.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "core/env.h"
#include "llm/batch.h"
#include "llm/sampler.h"

using namespace edgeai;

namespace {

double thread_cpu_s() {
  timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

std::pair<double, double> min_median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return {v.front(), v[v.size() / 2]};
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr,
                 "usage: batch_decode_bench MODEL.gguf [--slots 4] [--rounds 5] [--threads 1] [--no-avx512 1] "
                 "[--scalar-exp 1]\n");
    return 2;
  }
  int slots = 4, rounds = 5, threads = 1;
  bool no_avx512 = false;  // the AVX2 kernels on an AVX-512 CPU
  bool scalar_exp = false;
  for (int i = 2; i + 1 < argc; i += 2) {
    const std::string a = argv[i];
    const int v = std::atoi(argv[i + 1]);
    if (a == "--slots") slots = v;
    else if (a == "--rounds") rounds = v;
    else if (a == "--threads") threads = v;
    else if (a == "--no-avx512") no_avx512 = v != 0;
    else if (a == "--scalar-exp") scalar_exp = v != 0;
  }
  constexpr int kPrompt = 8, kSteps = 256;
  auto env = Env::create(threads);
  if (no_avx512) env->cpu.avx512f = env->cpu.avx512bw = env->cpu.avx512vl = env->cpu.avx512_vnni = env->cpu.avx512_vbmi = false;
  const kernels::cpu::ScaledExpFn exp = scalar_exp ? kernels::cpu::scaled_exp_scalar : kernels::cpu::scaled_exp_for(env->cpu);
  auto model = llm::Model::load(argv[1]);
  if (!model.ok()) {
    std::fprintf(stderr, "%s\n", model.status().message().c_str());
    return 1;
  }
  llm::BatchOptions bo;
  bo.n_ctx = kPrompt + kSteps;
  bo.n_slots = slots;
  auto batch = llm::BatchContext::create(**model, *env, bo);
  if (!batch.ok()) {
    std::fprintf(stderr, "%s\n", batch.status().message().c_str());
    return 1;
  }
  llm::BatchContext& b = **batch;
  const int32_t n_vocab = (int32_t)(*model)->hparams().n_vocab;
  std::vector<double> eval_us, draw_us;
  uint64_t checksum = 0;
  for (int r = 0; r < rounds; ++r) {
    std::vector<std::unique_ptr<llm::Sampler>> samplers;
    std::vector<llm::BatchRow> rows;
    for (int s = 0; s < slots; ++s) {
      llm::SamplerParams p;
      p.temperature = 0.8f;
      p.top_k = 0;
      p.top_p = 1.0f;
      p.min_p = 0.0f;
      p.seed = (uint64_t)(100 * r + s);
      samplers.push_back(std::make_unique<llm::Sampler>(p, exp));
      b.clear(s);
      for (int i = 0; i < kPrompt; ++i) rows.push_back({s, (1 + 37 * (i + s)) % n_vocab, i, i == kPrompt - 1});
    }
    if (!b.eval(rows).ok()) return 1;
    std::vector<int32_t> last((size_t)slots);
    for (int s = 0; s < slots; ++s) last[(size_t)s] = samplers[(size_t)s]->sample(b.logits(s));
    double te = 0, td = 0;
    for (int step = kPrompt; step < kPrompt + kSteps; ++step) {
      rows.clear();
      for (int s = 0; s < slots; ++s) rows.push_back({s, last[(size_t)s], step, true});
      const double t0 = thread_cpu_s();
      Status st = b.eval(rows);
      const double t1 = thread_cpu_s();
      if (!st.ok()) {
        std::fprintf(stderr, "%s\n", st.message().c_str());
        return 1;
      }
      for (int s = 0; s < slots; ++s) {
        last[(size_t)s] = samplers[(size_t)s]->sample(b.logits(s));
        samplers[(size_t)s]->accept(last[(size_t)s]);
        checksum = checksum * 31 + (uint64_t)last[(size_t)s];
      }
      td += thread_cpu_s() - t1;
      te += t1 - t0;
    }
    eval_us.push_back(te / kSteps * 1e6);
    draw_us.push_back(td / kSteps * 1e6);
  }
  const auto e = min_median(eval_us), d = min_median(draw_us);
  std::printf("slots %d threads %d: eval us/step min %.1f median %.1f | draws us/step min %.1f median %.1f | tokens %016llx\n",
              slots, threads, e.first, e.second, d.first, d.second, (unsigned long long)checksum);
  return 0;
}
