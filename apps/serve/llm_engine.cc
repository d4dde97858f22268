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

// How long a slot waits unclaimed for its loop before another loop takes it: a running loop
// claims its slots again a few microseconds after its step (a step of stories260K is 30-80 us).
constexpr std::chrono::microseconds kStealAfter{500};

}  // namespace

// A slot's scheduling fields (home, owner, last, free_since) are under mu_; the rest belong to
// the loop that holds it (owner), or to whoever holds mu_ while no loop does.
struct LlmEngine::Slot {
  int32_t index = 0;  // in the BatchContext
  int home = 0;       // the loop that runs it unless held back
  int owner = -1;     // the loop running it this step, -1: none
  int last = -1;      // the loop that ran it last (-1: new job)
  Job::Clock::time_point free_since{};  // unclaimed since
  std::shared_ptr<Job> job;
  std::unique_ptr<llm::Sampler> sampler;
  std::unique_ptr<JsonMatcher> matcher;
  llm::Utf8Streamer utf8;
  llm::StopMatcher stops;
  int64_t prompt_done = 0;  // prompt tokens evaluated
  int64_t generated = 0;
  int32_t last_token = 0;   // the token to evaluate next
  std::vector<float> masked;
  std::vector<uint8_t> allowed;
};

struct LlmEngine::Worker {
  int id = 0;
  int lane = -1;       // the BatchContext caller lane (several loops), -1: eval() on the pool
  bool wants = false;  // under mu_: another loop holds one of its home slots
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
  llm::BatchOptions bo;
  bo.n_ctx = opts.n_ctx;
  bo.n_slots = opts.parallel;
  bo.n_batch = opts.n_batch;
  bo.n_lanes = n_workers > 1 ? n_workers : 0;
  auto b = llm::BatchContext::create(model, env, bo);
  if (!b.ok()) return b.status();
  e->batch_ = std::move(b).value();
  e->n_slots_ = opts.parallel;
  e->n_ctx_ = e->batch_->n_ctx();
  for (int i = 0; i < opts.parallel; ++i) {
    auto s = std::make_unique<Slot>();
    s->index = i;
    s->home = i % n_workers;
    e->slots_.push_back(std::move(s));
  }
  for (int wi = 0; wi < n_workers; ++wi) {
    auto w = std::make_unique<Worker>();
    w->id = wi;
    w->lane = n_workers > 1 ? wi : -1;
    e->workers_.push_back(std::move(w));
  }
  e->exp_ = kernels::cpu::scaled_exp_for(env.cpu);
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
  bool wake = false;
  {
    std::lock_guard<std::mutex> lk(mu_);
    --busy_;
    wake = stopping_ && busy_ == 0;  // loops without slots wait for the last one
  }
  if (wake) cv_.notify_all();
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
  s.last_token = id;
}

bool LlmEngine::admit(const Worker& w, std::vector<std::shared_ptr<Job>>* rejected) {
  bool others = false;
  for (auto& sp : slots_) {
    Slot& s = *sp;
    if (queue_.empty()) break;
    if (s.owner >= 0 || s.job) continue;
    while (!queue_.empty() && !s.job) {
      std::shared_ptr<Job> job = std::move(queue_.front());
      queue_.pop_front();
      if (job->cancelled) {
        rejected->push_back(std::move(job));
        continue;
      }
      s.job = std::move(job);
      s.last = -1;
      s.free_since = Job::Clock::now();
      ++busy_;
      others = others || s.home != w.id;
    }
  }
  return others;
}

void LlmEngine::claim(Worker& w, Job::Clock::time_point now, std::vector<Slot*>* mine,
                      Job::Clock::time_point* next_steal) {
  mine->clear();
  *next_steal = Job::Clock::time_point::max();
  bool wants = false;
  for (auto& sp : slots_) {
    Slot& s = *sp;
    if (s.owner >= 0) {  // another loop's this step (its fields are that loop's now)
      wants = wants || s.home == w.id;
      continue;
    }
    if (!s.job) continue;
    bool take = s.home == w.id;
    if (!take) {
      const bool stale = now - s.free_since >= kStealAfter;
      take = stale || (s.last == w.id && !workers_[(size_t)s.home]->wants);
      if (!take) *next_steal = std::min(*next_steal, s.free_since + kStealAfter);
    }
    if (!take) continue;
    s.owner = w.id;
    s.last = w.id;
    mine->push_back(&s);
  }
  w.wants = wants;
}

void LlmEngine::loop(Worker& w) {
  llm::BatchContext& batch = *batch_;
  std::vector<llm::BatchRow> rows;
  std::vector<Slot*> mine, logit_slots;
  std::vector<int32_t> ids;
  std::vector<std::shared_ptr<Job>> rejected;
  while (true) {
    rejected.clear();
    bool stop_loop = false, wake_others = false;
    Job::Clock::time_point cancel_at;
    {
      std::unique_lock<std::mutex> lk(mu_);
      for (;;) {
        if (stopping_ && busy_ == 0) {
          rejected.insert(rejected.end(), std::make_move_iterator(queue_.begin()), std::make_move_iterator(queue_.end()));
          queue_.clear();
          stop_loop = true;
          break;
        }
        wake_others = admit(w, &rejected) || wake_others;
        Job::Clock::time_point next_steal;
        claim(w, Job::Clock::now(), &mine, &next_steal);
        if (!mine.empty() || !rejected.empty()) break;
        if (wake_others) {
          lk.unlock();
          cv_.notify_all();
          wake_others = false;
          lk.lock();
          continue;
        }
        // Nothing to run: wait for a job, or until another loop's slot may be taken.
        if (next_steal == Job::Clock::time_point::max() && busy_ > 0) next_steal = Job::Clock::now() + kStealAfter;
        if (next_steal == Job::Clock::time_point::max()) cv_.wait(lk);
        else cv_.wait_until(lk, next_steal);
      }
      cancel_at = cancel_at_;
    }
    if (wake_others) cv_.notify_all();
    for (auto& j : rejected) {
      {
        std::lock_guard<std::mutex> lk(j->mu);
        j->done = true;
        j->finish_reason = "cancelled";
        j->error = "the server is shutting down";
      }
      j->cv.notify_all();
    }
    if (stop_loop) break;

    const bool past_grace = Job::Clock::now() >= cancel_at;
    rows.clear();
    logit_slots.clear();
    int64_t budget = batch.n_batch();
    for (Slot* sp : mine) {
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
        Status st = batch.embed(s.index, job.prompt, &emb, w.lane);
        {
          std::lock_guard<std::mutex> lk(job.mu);
          job.embedding = std::move(emb);
        }
        finish(s, st.ok() ? "stop" : "error", st.ok() ? "" : st.message());
        continue;
      }
      if (s.prompt_done == 0 && s.generated == 0 && !s.sampler) {  // newly admitted
        s.sampler = std::make_unique<llm::Sampler>(job.sampling, exp_);
        for (int32_t t : job.prompt) s.sampler->accept(t);
        if (job.schema) s.matcher = std::make_unique<JsonMatcher>(job.schema);
        s.stops = llm::StopMatcher(job.stop);
      }
      if (s.prompt_done < (int64_t)job.prompt.size()) continue;  // prompt rows below
      rows.push_back({s.index, s.last_token, (int64_t)job.prompt.size() + s.generated - 1, true});
      logit_slots.push_back(&s);
      --budget;
    }
    for (Slot* sp : mine) {
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
    if (!rows.empty()) {
      // Each slot's draw (its own sampler and JSON mask) runs as soon as its logits are out, on
      // the thread that computed them: a split step draws on both threads.
      ids.assign(logit_slots.size(), -1);
      auto on_logits = [&](int64_t i, std::span<const float> logits) {
        if (logit_slots[(size_t)i]->job) ids[(size_t)i] = draw(*logit_slots[(size_t)i], logits);
      };
      Status st = w.lane >= 0 ? batch.eval_on(w.lane, rows, on_logits) : batch.eval(rows, on_logits);
      if (!st.ok()) {
        for (Slot* sp : mine)
          if (sp->job) finish(*sp, "error", st.message());
      } else {
        // Logit rows come in row order, which is the order of logit_slots; the text goes out here.
        for (size_t i = 0; i < logit_slots.size(); ++i) {
          Slot& s = *logit_slots[i];
          if (!s.job) continue;
          deliver(s, ids[i]);
        }
      }
    }
    // Release the slots; a loop that asked for its home slot back hears of it now.
    bool home_waits = false;
    {
      std::lock_guard<std::mutex> lk(mu_);
      const auto now = Job::Clock::now();
      for (Slot* sp : mine) {
        sp->owner = -1;
        sp->free_since = now;
        home_waits = home_waits || (sp->home != w.id && workers_[(size_t)sp->home]->wants);
      }
    }
    if (home_waits) cv_.notify_all();
  }
}

}  // namespace edgeai::serve
