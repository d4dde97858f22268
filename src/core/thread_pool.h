// A fixed pool of worker threads. parallel_for splits [0, n) into contiguous chunks, one per
// thread, and the caller's thread takes a chunk too, so N threads means N-1 workers.
//
// Hand-off: a model runs dozens of parallel_for calls per inference (a decode step of a language
// model, ~100), each a few microseconds to a millisecond long. Waking a sleeping thread through
// the kernel costs tens of microseconds, so workers spin for a short while after each job (and
// the caller spins for the workers to finish) before they fall back to sleeping on a futex.
//
// Claims: every chunk is claimed by whichever thread gets to it first. A worker starts with its
// own chunk; the caller, once its chunk is done, takes the chunks no worker has claimed yet. So a
// worker that the OS holds back (more runnable threads than cores) costs the caller that chunk's
// work, not the worker's wait for a time slice on every call.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <thread>
#include <vector>

namespace edgeai {

class ThreadPool {
 public:
  explicit ThreadPool(int num_threads);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  int num_threads() const { return num_threads_; }
  // Calls fn(begin, end) over a partition of [0, n) with at most num_threads() chunks of at least
  // `grain` items each. Deterministic: the partition depends only on n, grain and num_threads().
  // Not reentrant: fn must not call parallel_for on the same pool, and one caller at a time.
  void parallel_for(int64_t n, int64_t grain, const std::function<void(int64_t, int64_t)>& fn);

 private:
  void worker_loop(int index);
  // Claims and runs chunks of generation `gen`, starting at chunk `first`, until none is left open.
  void run_open_chunks(uint64_t gen, int first);

  int num_threads_;
  std::vector<std::thread> workers_;
  // The job: published by the caller before generation_ is bumped (release), read by a thread
  // only after it has claimed a chunk of that generation, so never after the call has returned.
  const std::function<void(int64_t, int64_t)>* job_ = nullptr;
  std::vector<std::pair<int64_t, int64_t>> chunks_;  // num_threads entries
  int parts_ = 0;                                     // chunks of the current call
  // claims_[i] is 2*gen while chunk i of generation gen is open, 2*gen+1 once a thread has it.
  std::unique_ptr<std::atomic<uint64_t>[]> claims_;
  // Spinning workers poll generation_ without pause: it has a cache line of its own (with only
  // what changes with it), so that no write elsewhere (done_, or whatever the heap put next to
  // the pool) takes the line from under them and stalls the writer. Before, a model of small
  // layers (mobilenet_v3_small, 2 threads) ran in 1.0 or 2.0 ms depending on the heap's layout.
  alignas(64) std::atomic<uint64_t> generation_{0};
  std::atomic<bool> stop_{false};
  alignas(64) std::atomic<int> sleepers_{0};  // workers blocked in generation_.wait
  alignas(64) std::atomic<int> done_{0};      // chunks of the current call finished (the class's
                                              // 64-byte alignment pads its line to the end)
};

}  // namespace edgeai
