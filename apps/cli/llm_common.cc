#include "llm_common.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <fstream>

#include <unistd.h>

namespace edgeai::cli {

void add_llm_options(CLI::App* sub, LlmOptions& o, bool with_ctx) {
  sub->add_option("model", o.model, "GGUF language model")->required();
  if (with_ctx) sub->add_option("--ctx,-c", o.ctx, "Context length in tokens (default: min(4096, the model's))");
  sub->add_option("--threads,-t", o.threads, "Threads (default: one per logical core)");
  sub->add_option("--batch,-b", o.batch, "Tokens per forward pass while reading the prompt")->capture_default_str();
  sub->add_flag("--kv-f16", o.kv_f16, "Keep the KV cache in f16 (half the memory)");
  sub->add_option("--max-memory", o.max_memory, "Refuse to run when the estimate exceeds this (bytes, or 512M, 2G)");
  add_mmap_flags(sub, o);
}

void add_mmap_flags(CLI::App* sub, LlmOptions& o) {
  sub->add_flag("--mmap", o.mmap,
                "Map the weights from the file (zero copy) instead of reading them into memory. Default: read "
                "them when the file is at most half of the available memory (faster generation), else map");
  sub->add_flag("--no-mmap", o.no_mmap, "Always read the weights into memory");
}

void add_sampling_options(CLI::App* sub, llm::SamplerParams& s) {
  sub->add_option("--temp", s.temperature, "Temperature (0 = greedy)")->capture_default_str();
  sub->add_option("--top-k", s.top_k, "Top-k (0 = off)")->capture_default_str();
  sub->add_option("--top-p", s.top_p, "Top-p (1 = off)")->capture_default_str();
  sub->add_option("--min-p", s.min_p, "Min-p (0 = off)")->capture_default_str();
  sub->add_option("--repeat-penalty", s.repeat_penalty, "Repetition penalty (1 = off)")->capture_default_str();
  sub->add_option("--repeat-last-n", s.penalty_last_n, "Tokens the penalties look back on")->capture_default_str();
  sub->add_option("--frequency-penalty", s.frequency_penalty, "Frequency penalty")->capture_default_str();
  sub->add_option("--presence-penalty", s.presence_penalty, "Presence penalty")->capture_default_str();
  sub->add_option("--seed", s.seed, "Random seed")->capture_default_str();
}

bool parse_bytes(const std::string& text, int64_t* out) {
  if (text.empty()) return false;
  size_t i = 0;
  double v = 0;
  try {
    v = std::stod(text, &i);
  } catch (...) {
    return false;
  }
  std::string suffix = text.substr(i);
  for (char& c : suffix) c = (char)std::toupper((unsigned char)c);
  if (!suffix.empty() && suffix.back() == 'B') suffix.pop_back();
  if (!suffix.empty() && suffix.back() == 'I') suffix.pop_back();  // KiB, MiB, GiB
  double mul = 1;
  if (suffix == "K") mul = 1024.0;
  else if (suffix == "M") mul = 1024.0 * 1024;
  else if (suffix == "G") mul = 1024.0 * 1024 * 1024;
  else if (!suffix.empty()) return false;
  v *= mul;
  if (!(v > 0) || v > 9e18) return false;
  *out = (int64_t)v;
  return true;
}

std::string format_bytes(int64_t b) {
  char buf[64];
  if (b >= (int64_t{1} << 30)) std::snprintf(buf, sizeof(buf), "%.2f GiB", b / 1073741824.0);
  else if (b >= (int64_t{1} << 20)) std::snprintf(buf, sizeof(buf), "%.1f MiB", b / 1048576.0);
  else std::snprintf(buf, sizeof(buf), "%.1f KiB", b / 1024.0);
  return buf;
}

bool is_gguf_file(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  char magic[4] = {};
  if (!f.read(magic, 4)) return false;
  return magic[0] == 'G' && magic[1] == 'G' && magic[2] == 'U' && magic[3] == 'F';
}

Status load_llm(const LlmOptions& o, bool need_tokenizer, bool create_context, LlmRun* run,
                std::string* estimate_text) {
  if (o.ctx < 0) return invalid_argument("--ctx must be positive, got " + std::to_string(o.ctx));
  if (o.threads < 0) return invalid_argument("--threads must be >= 0, got " + std::to_string(o.threads));
  if (o.batch < 1) return invalid_argument("--batch must be positive, got " + std::to_string(o.batch));
  int64_t max_mem = 0;
  if (!o.max_memory.empty() && !parse_bytes(o.max_memory, &max_mem)) {
    return invalid_argument("--max-memory '" + o.max_memory + "' is not a size (bytes, or e.g. 512M, 2G)");
  }
  if (!is_gguf_file(o.model)) {
    std::ifstream probe(o.model, std::ios::binary);
    if (!probe) return not_found(o.model + ": cannot open the file");
    return invalid_argument(o.model + ": not a GGUF file (language-model verbs need a .gguf model)");
  }
  if (o.mmap && o.no_mmap) return invalid_argument("--mmap and --no-mmap contradict each other: give one");
  const formats::GgufLoad load =
      o.mmap ? formats::GgufLoad::kMap : o.no_mmap ? formats::GgufLoad::kRead : formats::GgufLoad::kAuto;
  // Under a memory limit (max_mem > 0), a file bigger than it is mapped: reading it would come
  // before the estimate's refusal.
  auto file = formats::GgufFile::open(o.model, load, max_mem);
  if (!file.ok()) return file.status();
  std::shared_ptr<const formats::GgufFile> shared(std::move(file).value());
  run->weights_in_memory = shared->in_memory();
  auto model = llm::Model::from_gguf(shared);
  if (!model.ok()) return model.status();
  run->model = std::move(model).value();
  if (need_tokenizer) {
    auto tok = llm::Tokenizer::from_gguf(*shared);
    if (!tok.ok()) return tok.status();
    run->tok = std::move(tok).value();
    if (run->tok->n_vocab() > run->model->hparams().n_vocab) {
      return invalid_argument(o.model + ": the tokenizer has " + std::to_string(run->tok->n_vocab()) +
                              " tokens but the model's embedding only " +
                              std::to_string(run->model->hparams().n_vocab));
    }
  }
  // Other fields (logits_all) are the caller's.
  run->ctx_opts.n_ctx = o.ctx > 0 ? o.ctx : std::min(o.default_ctx, run->model->hparams().n_ctx_train);
  run->ctx_opts.n_batch = std::min(o.batch, run->ctx_opts.n_ctx);
  run->ctx_opts.kv_type = o.kv_f16 ? llm::KvType::kF16 : llm::KvType::kF32;
  llm::MemoryEstimate e = run->model->estimate_memory(run->ctx_opts);
  char line[512];
  std::snprintf(line, sizeof(line),
                "memory estimate: %s total = weights %s (%s) + KV cache %s (%lld tokens, %s) + scratch %s",
                format_bytes(e.total()).c_str(), format_bytes(e.weights).c_str(),
                run->weights_in_memory ? "read into memory" : "mapped", format_bytes(e.kv_cache).c_str(),
                (long long)e.n_ctx, o.kv_f16 ? "f16" : "f32", format_bytes(e.scratch).c_str());
  if (estimate_text) *estimate_text = line;
  if (max_mem == 0) {
    // No limit given: refuse what cannot fit in the machine's memory at all (filling a KV cache
    // bigger than RAM would end in the kernel's OOM killer, not in an error message).
    long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGE_SIZE);
    if (pages > 0 && page > 0 && e.total() - e.weights > (int64_t)pages * page) {
      return out_of_range(o.model + ": a context of " + std::to_string(e.n_ctx) + " tokens needs " +
                          format_bytes(e.total() - e.weights) + " beyond the weights (KV cache " +
                          format_bytes(e.kv_cache) + "), more than this machine's " +
                          format_bytes((int64_t)pages * page) + "; use a smaller --ctx or --kv-f16");
    }
  }
  if (max_mem > 0 && e.total() > max_mem) {
    return out_of_range(o.model + ": needs about " + format_bytes(e.total()) + " (weights " + format_bytes(e.weights) +
                        ", KV cache " + format_bytes(e.kv_cache) + " for " + std::to_string(e.n_ctx) +
                        " tokens, scratch " + format_bytes(e.scratch) + ") but --max-memory is " +
                        format_bytes(max_mem) + "; try a smaller --ctx, --kv-f16 or a more quantized model");
  }
  if (!create_context) return ok_status();
  run->env = Env::create(o.threads);
  auto ctx = llm::Context::create(*run->model, *run->env, run->ctx_opts);
  if (!ctx.ok()) return ctx.status();
  run->ctx = std::move(ctx).value();
  return ok_status();
}

}  // namespace edgeai::cli
