#include "serve/llm_engine.h"

#include <algorithm>
#include <cmath>

#include "llm/stop_matcher.h"
#include "serve/metrics.h"

namespace edgeai::serve {

namespace {

double seconds_since(Job::Clock::time_point t) {
  return std::chrono::duration<double>(Job::Clock::now() - t).count();
}

}  // namespace

struct LlmEngine::Slot {
  int32_t index = 0;
  std::shared_ptr<Job> job;
  std::unique_ptr<llm::Sampler> sampler;
  std::unique_ptr<JsonMatcher> matcher;
  llm::Utf8Streamer utf8;
  llm::StopMatcher stops;
  int64_t prompt_done = 0;  // prompt tokens evaluated
  int64_t generated = 0;
  int32_t last = 0;         // the token to evaluate next
  std::vector<float> masked;
  std::vector<uint8_t> allowed;
};

bool Job::wait(std::string* text_out, std::chrono::milliseconds timeout) {
  std::unique_lock<std::mutex> lk(mu);
  ++text_waiters;
  cv.wait_for(lk, timeout, [&] { return done || !text.empty(); });
  --text_waiters;
  text_out->append(text);
  text.clear();
  return done;
}

Result<std::unique_ptr<LlmEngine>> LlmEngine::create(const llm::Model& model, const llm::Tokenizer& tok, Env& env,
                                                     const EngineOptions& opts, Metrics* metrics) {
  if (opts.parallel < 1 || opts.parallel > 64) return invalid_argument("--parallel must be in [1, 64]");
  if (opts.max_queue < 0) return invalid_argument("--max-queue must be >= 0");
  std::unique_ptr<LlmEngine> e(new LlmEngine(model, tok, env));
  e->opts_ = opts;
  e->metrics_ = metrics;
  llm::BatchOptions bo;
  bo.n_ctx = opts.n_ctx;
  bo.n_slots = opts.parallel;
  bo.n_batch = opts.n_batch;
  auto b = llm::BatchContext::create(model, env, bo);
  if (!b.ok()) return b.status();
  e->batch_ = std::move(b).value();
  for (int i = 0; i < opts.parallel; ++i) {
    auto s = std::make_unique<Slot>();
    s->index = i;
    e->slots_.push_back(std::move(s));
  }
  const int32_t nv = tok.n_vocab();
  e->pieces_.resize((size_t)model.hparams().n_vocab);
  e->eog_.assign((size_t)model.hparams().n_vocab, 0);
  for (int32_t i = 0; i < nv; ++i) {
    e->pieces_[(size_t)i] = tok.token_to_piece(i);
    e->eog_[(size_t)i] = tok.is_eog(i) ? 1 : 0;
  }
  e->thread_ = std::thread([p = e.get()] { p->loop(); });
  return e;
}

LlmEngine::LlmEngine(const llm::Model& model, const llm::Tokenizer& tok, Env& env) : model_(model), tok_(tok), env_(env) {}

LlmEngine::~LlmEngine() { shutdown(std::chrono::milliseconds(0)); }

LlmEngine::Submit LlmEngine::submit(std::shared_ptr<Job> job) {
  {
    std::lock_guard<std::mutex> lk(mu_);
    if (stopping_) return Submit::kShuttingDown;
    // Waiting requests beyond the free slots count against the queue limit.
    const int64_t free_slots = (int64_t)slots_.size() - busy_;
    if ((int64_t)queue_.size() >= opts_.max_queue + std::max<int64_t>(0, free_slots)) return Submit::kQueueFull;
    job->submitted = Job::Clock::now();
    queue_.push_back(std::move(job));
  }
  cv_.notify_all();
  return Submit::kOk;
}

void LlmEngine::cancel(Job& job) {
  job.cancelled = true;
  cv_.notify_all();
}

void LlmEngine::shutdown(std::chrono::milliseconds grace) {
  {
    std::lock_guard<std::mutex> lk(mu_);
    stopping_ = true;
    cancel_at_ = std::min(cancel_at_, Job::Clock::now() + grace);
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

int64_t LlmEngine::queue_depth() const {
  std::lock_guard<std::mutex> lk(mu_);
  return (int64_t)queue_.size();
}

int64_t LlmEngine::busy_slots() const {
  std::lock_guard<std::mutex> lk(mu_);
  return busy_;
}

void LlmEngine::finish(Slot& s, const std::string& reason, const std::string& error) {
  std::shared_ptr<Job> job = std::move(s.job);
  s.job.reset();
  s.matcher.reset();
  s.sampler.reset();
  const int64_t generated = s.generated;
  s.generated = 0;
  s.prompt_done = 0;
  if (job) {
    std::string rest;
    if (reason != "stop" && reason != "cancelled" && reason != "error") {
      bool hit = false;
      rest = s.stops.push(s.utf8.flush(), &hit);
      if (!hit) rest += s.stops.flush();
    }
    if (metrics_) metrics_->tokens((int64_t)job->prompt.size(), generated);
    {
      std::lock_guard<std::mutex> lk(job->mu);
      job->text += rest;
      job->done = true;
      job->finish_reason = reason;
      job->error = error;
      job->completion_tokens = generated;
    }
    job->cv.notify_all();
  }
  s.utf8 = llm::Utf8Streamer();
  std::lock_guard<std::mutex> lk(mu_);
  --busy_;
}

int32_t LlmEngine::draw(Slot& s, std::span<const float> logits) const {
  std::span<const float> use = logits;
  if (s.matcher) {
    mask_tokens(*s.matcher, pieces_, eog_, s.job->max_tokens - s.generated, &s.allowed);
    s.masked.assign(logits.begin(), logits.end());
    bool any = false;
    for (size_t i = 0; i < s.masked.size(); ++i) {
      if (i >= s.allowed.size() || !s.allowed[i]) s.masked[i] = -INFINITY;
      else any = true;
    }
    if (!any) return -1;
    use = s.masked;
  }
  const int32_t id = s.sampler->sample(use);
  s.sampler->accept(id);
  return id;
}

void LlmEngine::deliver(Slot& s, int32_t id) {
  Job& job = *s.job;
  if (id < 0) {  // the JSON constraint allows no token
    finish(s, "length");
    return;
  }
  ++s.generated;
  if (s.generated == 1) {
    const double t = seconds_since(job.submitted);
    if (metrics_) metrics_->first_token(t);
    std::lock_guard<std::mutex> lk(job.mu);
    job.first_token_s = t;
  }
  if (id >= 0 && (size_t)id < eog_.size() && eog_[(size_t)id]) {
    finish(s, "stop");
    return;
  }
  const std::string& piece = pieces_[(size_t)id];
  if (s.matcher) s.matcher->feed(piece);
  bool hit = false;
  std::string text = s.stops.push(s.utf8.push(piece), &hit);
  if (!text.empty()) {
    bool wake = false;
    {
      std::lock_guard<std::mutex> lk(job.mu);
      job.text += text;
      job.completion_tokens = s.generated;
      wake = job.text_waiters > 0;
    }
    if (wake) job.cv.notify_all();
  }
  if (hit || (s.matcher && s.matcher->done())) {
    finish(s, "stop");
    return;
  }
  const int64_t next_pos = (int64_t)job.prompt.size() + s.generated - 1;
  if (s.generated >= job.max_tokens || next_pos >= batch_->n_ctx()) {
    finish(s, "length");
    return;
  }
  s.last = id;
}

void LlmEngine::loop() {
  std::vector<llm::BatchRow> rows;
  std::vector<Slot*> logit_slots;
  std::vector<int32_t> ids;
  while (true) {
    std::vector<std::shared_ptr<Job>> rejected;
    {
      std::unique_lock<std::mutex> lk(mu_);
      auto ready = [&] {
        return stopping_ || busy_ > 0 || (!queue_.empty() && busy_ < (int64_t)slots_.size());
      };
      cv_.wait(lk, ready);
      if (stopping_ && busy_ == 0) {
        rejected.assign(queue_.begin(), queue_.end());
        queue_.clear();
      } else {
        while (!queue_.empty() && busy_ < (int64_t)slots_.size()) {
          std::shared_ptr<Job> job = std::move(queue_.front());
          queue_.pop_front();
          if (job->cancelled) {
            rejected.push_back(std::move(job));
            continue;
          }
          for (auto& s : slots_) {
            if (s->job) continue;
            s->job = std::move(job);
            ++busy_;
            break;
          }
        }
      }
    }
    for (auto& j : rejected) {
      {
        std::lock_guard<std::mutex> lk(j->mu);
        j->done = true;
        j->finish_reason = "cancelled";
        j->error = "the server is shutting down";
      }
      j->cv.notify_all();
    }
    bool stop_loop = false;
    {
      std::lock_guard<std::mutex> lk(mu_);
      stop_loop = stopping_ && busy_ == 0;
    }
    if (stop_loop) break;

    const bool past_grace = Job::Clock::now() >= [&] {
      std::lock_guard<std::mutex> lk(mu_);
      return cancel_at_;
    }();
    rows.clear();
    logit_slots.clear();
    int64_t budget = batch_->n_batch();
    for (auto& sp : slots_) {
      Slot& s = *sp;
      if (!s.job) continue;
      Job& job = *s.job;
      if (job.cancelled || past_grace) {
        finish(s, "cancelled", past_grace ? "the server is shutting down" : "");
        continue;
      }
      if (Job::Clock::now() > job.deadline) {
        finish(s, "error", "the request timed out");
        continue;
      }
      if (job.embed) {
        std::vector<float> emb;
        Status st = batch_->embed(s.index, job.prompt, &emb);
        {
          std::lock_guard<std::mutex> lk(job.mu);
          job.embedding = std::move(emb);
        }
        finish(s, st.ok() ? "stop" : "error", st.ok() ? "" : st.message());
        continue;
      }
      if (s.prompt_done == 0 && s.generated == 0 && !s.sampler) {  // newly admitted
        s.sampler = std::make_unique<llm::Sampler>(job.sampling);
        for (int32_t t : job.prompt) s.sampler->accept(t);
        if (job.schema) s.matcher = std::make_unique<JsonMatcher>(job.schema);
        s.stops = llm::StopMatcher(job.stop);
      }
      if (s.prompt_done < (int64_t)job.prompt.size()) continue;  // prompt rows below
      rows.push_back({s.index, s.last, (int64_t)job.prompt.size() + s.generated - 1, true});
      logit_slots.push_back(&s);
      --budget;
    }
    for (auto& sp : slots_) {
      Slot& s = *sp;
      if (!s.job || s.job->embed || budget <= 0) continue;
      const int64_t np = (int64_t)s.job->prompt.size();
      if (s.prompt_done >= np) continue;
      const int64_t take = std::min(budget, np - s.prompt_done);
      for (int64_t i = 0; i < take; ++i) {
        const int64_t p = s.prompt_done + i;
        const bool last = p == np - 1;
        rows.push_back({s.index, s.job->prompt[(size_t)p], p, last});
        if (last) logit_slots.push_back(&s);
      }
      s.prompt_done += take;
      budget -= take;
    }
    if (rows.empty()) continue;
    // Each slot's draw (its own sampler and JSON mask) runs as soon as its logits are out, on
    // the thread that computed them: a split step draws on both threads.
    ids.assign(logit_slots.size(), -1);
    Status st = batch_->eval(rows, [&](int64_t i, std::span<const float> logits) {
      if (logit_slots[(size_t)i]->job) ids[(size_t)i] = draw(*logit_slots[(size_t)i], logits);
    });
    if (!st.ok()) {
      for (auto& sp : slots_)
        if (sp->job) finish(*sp, "error", st.message());
      continue;
    }
    // Logit rows come in row order, which is the order of logit_slots; the text goes out here.
    for (size_t i = 0; i < logit_slots.size(); ++i) {
      Slot& s = *logit_slots[i];
      if (!s.job) continue;
      deliver(s, ids[i]);
    }
  }
}

}  // namespace edgeai::serve
