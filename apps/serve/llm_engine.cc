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
  Worker* worker = nullptr;
  int32_t index = 0;  // in the worker's BatchContext
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

struct LlmEngine::Worker {
  std::unique_ptr<Env> own_env;  // several workers: a one-thread environment each
  std::unique_ptr<llm::BatchContext> batch;
  std::vector<std::unique_ptr<Slot>> slots;
  int64_t busy = 0;  // under mu_
  std::thread thread;
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
  const int threads = std::max(1, env.pool->num_threads());
  const int n_workers =
      threads > 1 && opts.parallel > 1 && llm::BatchContext::too_small_to_thread(model, opts.parallel)
          ? std::min(threads, opts.parallel)
          : 1;
  for (int wi = 0; wi < n_workers; ++wi) {
    auto w = std::make_unique<Worker>();
    Env* wenv = &env;
    if (n_workers > 1) {
      w->own_env = Env::create(1);
      w->own_env->cpu = env.cpu;
      wenv = w->own_env.get();
    }
    const int n_slots = opts.parallel / n_workers + (wi < opts.parallel % n_workers ? 1 : 0);
    llm::BatchOptions bo;
    bo.n_ctx = opts.n_ctx;
    bo.n_slots = n_slots;
    bo.n_batch = opts.n_batch;
    auto b = llm::BatchContext::create(model, *wenv, bo);
    if (!b.ok()) return b.status();
    w->batch = std::move(b).value();
    for (int i = 0; i < n_slots; ++i) {
      auto s = std::make_unique<Slot>();
      s->worker = w.get();
      s->index = i;
      w->slots.push_back(std::move(s));
    }
    e->n_slots_ += n_slots;
    e->n_ctx_ = w->batch->n_ctx();
    e->workers_.push_back(std::move(w));
  }
  const int32_t nv = tok.n_vocab();
  e->pieces_.resize((size_t)model.hparams().n_vocab);
  e->eog_.assign((size_t)model.hparams().n_vocab, 0);
  for (int32_t i = 0; i < nv; ++i) {
    e->pieces_[(size_t)i] = tok.token_to_piece(i);
    e->eog_[(size_t)i] = tok.is_eog(i) ? 1 : 0;
  }
  for (auto& w : e->workers_) w->thread = std::thread([p = e.get(), wp = w.get()] { p->loop(*wp); });
  return e;
}

LlmEngine::LlmEngine(const llm::Model& model, const llm::Tokenizer& tok, Env& env) : model_(model), tok_(tok), env_(env) {}

LlmEngine::~LlmEngine() { shutdown(std::chrono::milliseconds(0)); }

LlmEngine::Submit LlmEngine::submit(std::shared_ptr<Job> job) {
  {
    std::lock_guard<std::mutex> lk(mu_);
    if (stopping_) return Submit::kShuttingDown;
    // Waiting requests beyond the free slots count against the queue limit.
    const int64_t free_slots = n_slots_ - busy_;
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
  for (auto& w : workers_)
    if (w->thread.joinable()) w->thread.join();
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
  --s.worker->busy;
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
  if (s.generated >= job.max_tokens || next_pos >= n_ctx_) {
    finish(s, "length");
    return;
  }
  s.last = id;
}

void LlmEngine::loop(Worker& w) {
  llm::BatchContext& batch = *w.batch;
  std::vector<llm::BatchRow> rows;
  std::vector<Slot*> logit_slots;
  std::vector<int32_t> ids;
  while (true) {
    std::vector<std::shared_ptr<Job>> rejected;
    {
      std::unique_lock<std::mutex> lk(mu_);
      auto ready = [&] {
        return stopping_ || w.busy > 0 || (!queue_.empty() && w.busy < (int64_t)w.slots.size());
      };
      cv_.wait(lk, ready);
      if (stopping_ && w.busy == 0) {
        rejected.assign(queue_.begin(), queue_.end());
        queue_.clear();
      } else {
        while (!queue_.empty() && w.busy < (int64_t)w.slots.size()) {
          std::shared_ptr<Job> job = std::move(queue_.front());
          queue_.pop_front();
          if (job->cancelled) {
            rejected.push_back(std::move(job));
            continue;
          }
          for (auto& s : w.slots) {
            if (s->job) continue;
            s->job = std::move(job);
            ++busy_;
            ++w.busy;
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
      stop_loop = stopping_ && w.busy == 0;
    }
    if (stop_loop) break;

    const bool past_grace = Job::Clock::now() >= [&] {
      std::lock_guard<std::mutex> lk(mu_);
      return cancel_at_;
    }();
    rows.clear();
    logit_slots.clear();
    int64_t budget = batch.n_batch();
    for (auto& sp : w.slots) {
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
        Status st = batch.embed(s.index, job.prompt, &emb);
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
    for (auto& sp : w.slots) {
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
    Status st = batch.eval(rows, [&](int64_t i, std::span<const float> logits) {
      if (logit_slots[(size_t)i]->job) ids[(size_t)i] = draw(*logit_slots[(size_t)i], logits);
    });
    if (!st.ok()) {
      for (auto& sp : w.slots)
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
