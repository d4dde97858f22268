#include "core/thread_pool.h"

#include <algorithm>
#include <chrono>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#endif

namespace edgeai {

namespace {

inline void cpu_relax() {
#if defined(__x86_64__) || defined(__i386__)
  _mm_pause();
#elif defined(__aarch64__)
  asm volatile("yield" ::: "memory");
#endif
}

// How long an idle thread keeps polling before it sleeps: long enough to bridge the gap between
// two kernels of one inference, short enough not to matter when the pool goes idle.
constexpr auto kSpin = std::chrono::microseconds(300);

// Polls until pred() holds or the spin budget is spent; true when pred() held.
template <typename Pred>
bool spin_until(Pred pred) {
  auto start = std::chrono::steady_clock::now();
  for (int i = 0;; ++i) {
    if (pred()) return true;
    cpu_relax();
    if ((i & 255) == 255) {
      if (std::chrono::steady_clock::now() - start > kSpin) return pred();
      // More runnable threads than cores (tests in parallel, other processes): let them run.
      std::this_thread::yield();
    }
  }
}

}  // namespace

ThreadPool::ThreadPool(int num_threads) : num_threads_(std::max(1, num_threads)) {
  chunks_.resize((size_t)num_threads_);
  claims_ = std::make_unique<std::atomic<uint64_t>[]>((size_t)num_threads_);
  for (int i = 0; i < num_threads_; ++i) claims_[(size_t)i].store(1);  // generation 0: nothing open
  for (int i = 1; i < num_threads_; ++i) workers_.emplace_back([this, i] { worker_loop(i); });
}

ThreadPool::~ThreadPool() {
  stop_.store(true);
  generation_.fetch_add(1);
  generation_.notify_all();
  for (auto& t : workers_) t.join();
}

void ThreadPool::run_open_chunks(uint64_t gen, int first) {
  for (int k = 0; k < num_threads_; ++k) {
    const int i = (first + k) % num_threads_;
    uint64_t open = 2 * gen;
    // A claim succeeds only while chunk i of this very generation is open, so the call cannot
    // have returned: job_ and chunks_ are still this call's.
    if (!claims_[(size_t)i].compare_exchange_strong(open, open + 1, std::memory_order_acq_rel)) continue;
    const auto chunk = chunks_[(size_t)i];
    const int parts = parts_;  // read before the last chunk is counted: the caller may return then
    (*job_)(chunk.first, chunk.second);
    if (done_.fetch_add(1, std::memory_order_acq_rel) + 1 == parts) done_.notify_one();
  }
}

void ThreadPool::worker_loop(int index) {
  uint64_t seen = 0;
  for (;;) {
    if (!spin_until([&] { return generation_.load(std::memory_order_acquire) != seen; })) {
      // sleepers_ is raised before the last look at generation_, and the caller bumps
      // generation_ before it reads sleepers_ (both sequentially consistent), so either the
      // caller sees this sleeper and notifies, or wait() sees the new generation and returns.
      sleepers_.fetch_add(1);
      while (generation_.load() == seen) generation_.wait(seen);
      sleepers_.fetch_sub(1);
    }
    seen = generation_.load(std::memory_order_acquire);
    if (stop_.load()) return;
    run_open_chunks(seen, index);
  }
}

void ThreadPool::parallel_for(int64_t n, int64_t grain, const std::function<void(int64_t, int64_t)>& fn) {
  if (n <= 0) return;
  grain = std::max<int64_t>(1, grain);
  const int64_t max_chunks = std::max<int64_t>(1, n / grain);
  const int parts = static_cast<int>(std::min<int64_t>(num_threads_, max_chunks));
  if (parts <= 1 || workers_.empty()) {
    fn(0, n);
    return;
  }
  const uint64_t gen = generation_.load(std::memory_order_relaxed) + 1;
  for (int i = 0; i < num_threads_; ++i) {
    chunks_[(size_t)i] = i < parts ? std::make_pair(n * i / parts, n * (i + 1) / parts) : std::make_pair(n, n);
    // Chunks past `parts` stay closed: nothing to run.
    claims_[(size_t)i].store(i < parts ? 2 * gen : 2 * gen + 1, std::memory_order_relaxed);
  }
  job_ = &fn;
  parts_ = parts;
  done_.store(0, std::memory_order_relaxed);
  generation_.store(gen);  // seq_cst: publishes job_, chunks_ and claims_, ordered before sleepers_ below
  if (sleepers_.load() > 0) generation_.notify_all();
  run_open_chunks(gen, 0);
  if (!spin_until([&] { return done_.load(std::memory_order_acquire) == parts; })) {
    for (int d = done_.load(std::memory_order_acquire); d != parts; d = done_.load(std::memory_order_acquire)) {
      done_.wait(d);
    }
  }
  job_ = nullptr;
}

}  // namespace edgeai
