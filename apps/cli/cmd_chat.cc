// edgeai chat MODEL.gguf [--system TEXT] [--template NAME] [-n N] [sampling]: an interactive
// conversation in the model family's chat format. Reads one user message per line from stdin
// (works piped); the conversation stays in the KV cache, so each turn evaluates only new tokens.
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <iostream>

#include "commands.h"
#include "llm/chat_template.h"
#include "llm/generate.h"
#include "llm_common.h"

namespace edgeai::cli {

Command add_chat(CLI::App& app) {
  struct Opts {
    LlmOptions llm;
    llm::SamplerParams sampling;
    std::string system;
    std::string templ;
    int64_t n_predict = 512;
    bool verbose = false;
  };
  auto o = std::make_shared<Opts>();
  auto* sub = app.add_subcommand("chat", "Chat with a GGUF language model (one message per line on stdin)");
  add_llm_options(sub, o->llm);
  sub->add_option("--system", o->system, "System message");
  sub->add_option("--template", o->templ, "Chat format: chatml, llama2, llama3, phi3, gemma, zephyr (default: from the model)");
  sub->add_option("-n,--n-predict", o->n_predict, "Most tokens per answer")->capture_default_str();
  sub->add_flag("--verbose,-v", o->verbose, "Print speeds and cache use after each answer (stderr)");
  add_sampling_options(sub, o->sampling);
  return [o]() -> int {
    if (o->n_predict <= 0) return fail("-n must be positive, got " + std::to_string(o->n_predict));
    std::string bad = o->sampling.validate();
    if (!bad.empty()) return fail(bad);
    llm::ChatFormat fmt = llm::ChatFormat::kChatml;
    if (!o->templ.empty() && !llm::parse_chat_format(o->templ, &fmt)) {
      return fail("unknown chat format '" + o->templ + "' (chatml, llama2, llama3, phi3, gemma, zephyr)");
    }
    LlmRun run;
    Status st = load_llm(o->llm, true, true, &run);
    if (!st.ok()) return fail(st.message());
    if (o->templ.empty()) fmt = llm::detect_chat_format(run.model->gguf().get_string("tokenizer.chat_template"));
    const llm::Tokenizer& tok = *run.tok;
    const bool tty = isatty(STDIN_FILENO);
    if (tty) {
      std::fprintf(stderr, "edgeai chat: %s, %s format, context %lld tokens. Empty line or Ctrl-D ends.\n",
                   run.model->describe().c_str(), llm::chat_format_name(fmt), (long long)run.ctx->n_ctx());
    }
    std::vector<llm::ChatMessage> messages;
    if (!o->system.empty()) messages.push_back({"system", o->system});
    llm::TokenHistory history;
    llm::GenerateOptions g;
    g.n_predict = o->n_predict;
    g.sampling = o->sampling;
    g.stop = llm::chat_stop_strings(fmt);
    g.penalize_prompt = false;
    std::string line;
    int turn = 0;
    while (true) {
      if (tty) std::fprintf(stderr, "> ");
      if (!std::getline(std::cin, line)) break;
      if (!line.empty() && line.back() == '\r') line.pop_back();
      if (line.empty()) {
        if (tty) break;
        continue;
      }
      if (line == "/exit" || line == "/quit") break;
      messages.push_back({"user", line});
      // Leave room for an answer: a quarter of the context, at most -n tokens.
      const int64_t room = std::max<int64_t>(1, std::min<int64_t>(o->n_predict, run.ctx->n_ctx() / 4));
      std::vector<int32_t> tokens = tok.encode(llm::format_chat(fmt, messages, true), true, true);
      // When the conversation outgrows the context, forget the oldest turns (the system
      // message stays); the cache is then rebuilt from the shorter prompt.
      size_t first_turn = !messages.empty() && messages[0].role == "system" ? 1 : 0;
      while ((int64_t)tokens.size() + room > run.ctx->n_ctx() && messages.size() > first_turn + 1) {
        messages.erase(messages.begin() + first_turn);
        while (messages.size() > first_turn + 1 && messages[first_turn].role != "user") {
          messages.erase(messages.begin() + first_turn);
        }
        tokens = tok.encode(llm::format_chat(fmt, messages, true), true, true);
        std::fprintf(stderr, "[context full: dropped the oldest turn]\n");
      }
      if ((int64_t)tokens.size() + 1 >= run.ctx->n_ctx()) {
        return fail("the message (" + std::to_string(tokens.size()) + " tokens with the chat format) does not fit "
                    "the context of " + std::to_string(run.ctx->n_ctx()) + " tokens; use a larger --ctx");
      }
      std::span<const int32_t> rest = history.reuse(*run.ctx, tokens);
      const int64_t reused = (int64_t)tokens.size() - (int64_t)rest.size();
      g.sampling.seed = o->sampling.seed + (uint64_t)turn++;
      auto res = llm::generate(*run.ctx, tok, rest, g, [](std::string_view s) {
        std::fwrite(s.data(), 1, s.size(), stdout);
        std::fflush(stdout);
        return true;
      });
      if (!res.ok()) return fail(res.status().message());
      std::printf("\n");
      std::fflush(stdout);
      std::vector<int32_t> all = tokens;
      all.insert(all.end(), res->tokens.begin(), res->tokens.end());
      history.set(std::move(all));
      messages.push_back({"assistant", res->text});
      if (o->verbose) {
        std::fprintf(stderr, "[turn %d: %lld cached + %lld new prompt tokens, %.1f tok/s; %lld generated, %.1f tok/s]\n",
                     turn, (long long)reused, (long long)res->stats.prompt_tokens, res->stats.prompt_tokens_per_s(),
                     (long long)res->stats.generated_tokens, res->stats.gen_tokens_per_s());
      }
    }
    return 0;
  };
}

}  // namespace edgeai::cli
