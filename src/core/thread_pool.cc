#include "core/thread_pool.h"

#include <algorithm>

namespace edgeai {

ThreadPool::ThreadPool(int num_threads) : num_threads_(std::max(1, num_threads)) {
  for (int i = 1; i < num_threads_; ++i) workers_.emplace_back([this, i] { worker_loop(i); });
}

ThreadPool::~ThreadPool() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  for (auto& t : workers_) t.join();
}

void ThreadPool::worker_loop(int index) {
  uint64_t seen = 0;
  for (;;) {
    std::pair<int64_t, int64_t> chunk{0, 0};
    const std::function<void(int64_t, int64_t)>* job = nullptr;
    {
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait(lock, [&] { return stop_ || generation_ != seen; });
      if (stop_) return;
      seen = generation_;
      if (index < (int)chunks_.size()) {
        chunk = chunks_[index];
        job = job_;
      }
    }
    if (job && chunk.first < chunk.second) (*job)(chunk.first, chunk.second);
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (--pending_ == 0) done_cv_.notify_one();
    }
  }
}

void ThreadPool::parallel_for(int64_t n, int64_t grain,
                              const std::function<void(int64_t, int64_t)>& fn) {
  if (n <= 0) return;
  grain = std::max<int64_t>(1, grain);
  int64_t max_chunks = std::max<int64_t>(1, n / grain);
  int parts = static_cast<int>(std::min<int64_t>(num_threads_, max_chunks));
  if (parts <= 1 || workers_.empty()) {
    fn(0, n);
    return;
  }
  std::vector<std::pair<int64_t, int64_t>> chunks(parts);
  for (int i = 0; i < parts; ++i) chunks[i] = {n * i / parts, n * (i + 1) / parts};
  {
    std::lock_guard<std::mutex> lock(mu_);
    chunks_ = chunks;
    job_ = &fn;
    pending_ = static_cast<int>(workers_.size());
    ++generation_;
  }
  cv_.notify_all();
  fn(chunks[0].first, chunks[0].second);
  std::unique_lock<std::mutex> lock(mu_);
  done_cv_.wait(lock, [&] { return pending_ == 0; });
  job_ = nullptr;
}

}  // namespace edgeai
