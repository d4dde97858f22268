// The scheduler of one language model: requests wait in a bounded queue, up to --parallel of them
// hold a slot of an llm::BatchContext, and a decode loop runs steps over the slots: each step is
// one forward pass over the next token of every generating slot plus the prompt tokens of newly
// admitted ones, then one sample per slot (masked by the JSON constraint when the request has
// one). Text goes to each request's Job as it is produced; a cancelled job frees its slot at the
// next step. One loop threads each step over the pool, except for a model too small for
// ggml_matmul to thread even over all the slots' rows: then each thread runs a decode loop of its
// own (a caller lane of the one BatchContext, a one-thread environment), and the loops never wait
// for each other (a step split over threads waits for the slowest, and on a busy machine for a
// thread the OS has not run yet). The loops share the slots: each step a loop claims the ready
// slots that no other loop holds: its home slots (slot i's home is loop i % loops), and a slot
// of another loop when that loop has left it unclaimed for kStealAfter (the OS holds that loop
// back, or it has no time), or when it stole it the step before and the home loop has not asked
// for it back. A slot is held by one loop at a time, for one step.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "core/env.h"
#include "llm/batch.h"
#include "llm/model.h"
#include "llm/sampler.h"
#include "llm/tokenizer.h"
#include "serve/json_constraint.h"

namespace edgeai::serve {

class Metrics;

struct Job {
  using Clock = std::chrono::steady_clock;
  // Input (set before submit).
  std::vector<int32_t> prompt;
  llm::SamplerParams sampling;
  int64_t max_tokens = 16;
  std::vector<std::string> stop;
  std::shared_ptr<const JsonSchema> schema;
  bool embed = false;
  Clock::time_point submitted = Clock::now();
  Clock::time_point deadline = Clock::time_point::max();

  // Output (under mu).
  std::mutex mu;
  std::condition_variable cv;
  std::string text;  // produced and not yet taken
  bool done = false;
  std::string finish_reason;  // "stop", "length", "cancelled", "error"
  std::string error;
  int64_t completion_tokens = 0;
  double first_token_s = -1;  // from submit to the first token
  std::vector<float> embedding;
  // Threads inside wait(), which want each piece of text as it comes (streamed replies). The
  // decode loop wakes the job's waiters per token only when there is one: a non-streamed reply
  // waits for `done` alone, and waking it per token cost a context switch per generated token.
  int text_waiters = 0;

  std::atomic<bool> cancelled{false};

  // Waits until there is text or the job is done, at most `timeout`; moves the text out.
  // Returns done. (Waiting on `cv` for `done` alone needs no text_waiters count.)
  bool wait(std::string* text_out, std::chrono::milliseconds timeout);
};

struct EngineOptions {
  int64_t n_ctx = 0;
  int parallel = 1;
  int64_t max_queue = 64;
  int64_t n_batch = 512;
};

class LlmEngine {
 public:
  // The model, tokenizer and env must outlive the engine.
  static Result<std::unique_ptr<LlmEngine>> create(const llm::Model& model, const llm::Tokenizer& tok, Env& env,
                                                   const EngineOptions& opts, Metrics* metrics);
  ~LlmEngine();
  LlmEngine(const LlmEngine&) = delete;
  LlmEngine& operator=(const LlmEngine&) = delete;

  enum class Submit { kOk, kQueueFull, kShuttingDown };
  Submit submit(std::shared_ptr<Job> job);
  void cancel(Job& job);
  // Stops admitting; jobs still running after `grace` are cancelled. Returns when the loop ended.
  void shutdown(std::chrono::milliseconds grace);

  int64_t n_ctx() const { return n_ctx_; }
  int64_t queue_depth() const;
  int64_t busy_slots() const;
  const llm::Tokenizer& tokenizer() const { return tok_; }
  const llm::Model& model() const { return model_; }

 private:
  struct Slot;
  struct Worker;
  LlmEngine(const llm::Model& model, const llm::Tokenizer& tok, Env& env);
  void loop(Worker& w);
  // Under mu_: jobs from the queue into free slots (cancelled ones to *rejected); whether a slot
  // of another loop got one.
  bool admit(const Worker& w, std::vector<std::shared_ptr<Job>>* rejected);
  // Under mu_: the slots loop w runs this step (see the top of this file) to *mine; the earliest
  // time another loop's unclaimed slot may be taken, when one waits for that.
  void claim(Worker& w, Job::Clock::time_point now, std::vector<Slot*>* mine, Job::Clock::time_point* next_steal);
  void finish(Slot& s, const std::string& reason, const std::string& error = "");
  // The slot's next token from its logits (masked by its JSON constraint), or -1 when the
  // constraint allows none; touches the slot only (slots draw on BatchContext's threads).
  int32_t draw(Slot& s, std::span<const float> logits) const;
  // Records the drawn token: its text to the job, or the job's end.
  void deliver(Slot& s, int32_t id);

  const llm::Model& model_;
  const llm::Tokenizer& tok_;
  Env& env_;
  EngineOptions opts_;
  Metrics* metrics_ = nullptr;
  std::vector<std::unique_ptr<Worker>> workers_;
  std::unique_ptr<llm::BatchContext> batch_;
  std::vector<std::unique_ptr<Slot>> slots_;
  int64_t n_slots_ = 0;
  int64_t n_ctx_ = 0;
  std::vector<std::string> pieces_;
  std::vector<uint8_t> eog_;
  kernels::cpu::ScaledExpFn exp_ = nullptr;  // every sampler's softmax exp (checked once)

  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::shared_ptr<Job>> queue_;
  int64_t busy_ = 0;  // slots with a job
  bool stopping_ = false;
  Job::Clock::time_point cancel_at_ = Job::Clock::time_point::max();
};

}  // namespace edgeai::serve
