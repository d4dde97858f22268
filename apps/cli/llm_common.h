// Shared by the language-model verbs (generate, chat, perplexity, bench): the common options,
// loading model + tokenizer, the memory check, and sampling flags.
#pragma once

#include <CLI/CLI.hpp>
#include <cstdint>
#include <memory>
#include <string>

#include "core/env.h"
#include "edgeai/status.h"
#include "llm/context.h"
#include "llm/model.h"
#include "llm/sampler.h"
#include "llm/tokenizer.h"

namespace edgeai::cli {

struct LlmOptions {
  std::string model;
  int64_t ctx = 0;       // 0: min(default_ctx, the model's training context)
  int64_t default_ctx = 4096;
  int threads = 0;       // 0: one per logical core
  int64_t batch = 512;
  bool kv_f16 = false;
  std::string max_memory;  // "", "800M", "2G", "1500000000"
  bool mmap = false;       // --mmap: map the weights (zero copy)
  bool no_mmap = false;    // --no-mmap: read them into memory; neither: formats::GgufLoad::kAuto
};

struct LlmRun {
  std::unique_ptr<Env> env;
  std::unique_ptr<llm::Model> model;
  std::unique_ptr<llm::Tokenizer> tok;
  std::unique_ptr<llm::Context> ctx;
  llm::ContextOptions ctx_opts;
  bool weights_in_memory = false;  // read into memory rather than mapped (see LlmOptions::mmap)
};

void add_llm_options(CLI::App* sub, LlmOptions& o, bool with_ctx = true);
void add_sampling_options(CLI::App* sub, llm::SamplerParams& s);
// --mmap / --no-mmap (part of add_llm_options; separate for verbs that take only these).
void add_mmap_flags(CLI::App* sub, LlmOptions& o);

// "1234", "800K", "512M", "2G" (powers of 1024); false when not a size.
bool parse_bytes(const std::string& text, int64_t* out);
std::string format_bytes(int64_t bytes);
// True when the file starts with the GGUF magic.
bool is_gguf_file(const std::string& path);

// Loads model and tokenizer, checks the memory estimate against --max-memory, then (unless
// dry_run) creates the context. Fills *estimate_text with the estimate as one line.
Status load_llm(const LlmOptions& o, bool need_tokenizer, bool create_context, LlmRun* run,
                std::string* estimate_text = nullptr);

}  // namespace edgeai::cli
