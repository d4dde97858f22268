// ThreadPool::parallel_for: every index is run exactly once, in the documented partition, whichever
// thread claims each chunk; also with more runnable threads than cores, where workers are held back
// and the caller takes their chunks. Oracle: the partition n*i/parts written out, and a count per index.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <mutex>
#include <random>
#include <thread>
#include <vector>

#include "core/thread_pool.h"

namespace edgeai {
namespace {

// Runs `calls` parallel_for calls of random sizes and checks each against the partition and counts.
void check_calls(ThreadPool& pool, int calls, uint32_t seed) {
  std::mt19937 rng(seed);
  for (int c = 0; c < calls; ++c) {
    const int64_t n = std::uniform_int_distribution<int64_t>(0, 300)(rng);
    const int64_t grain = std::uniform_int_distribution<int64_t>(0, 40)(rng);
    std::vector<std::atomic<int>> hits(static_cast<size_t>(std::max<int64_t>(n, 1)));
    std::mutex mu;
    std::vector<std::pair<int64_t, int64_t>> seen;
    pool.parallel_for(n, grain, [&](int64_t b, int64_t e) {
      for (int64_t i = b; i < e; ++i) hits[(size_t)i].fetch_add(1);
      std::lock_guard<std::mutex> lock(mu);
      seen.emplace_back(b, e);
    });
    for (int64_t i = 0; i < n; ++i) ASSERT_EQ(hits[(size_t)i].load(), 1) << "index " << i << " of " << n;
    if (n == 0) {
      ASSERT_TRUE(seen.empty());
      continue;
    }
    const int64_t g = std::max<int64_t>(1, grain);
    const int parts = (int)std::min<int64_t>(pool.num_threads(), std::max<int64_t>(1, n / g));
    std::vector<std::pair<int64_t, int64_t>> want;
    for (int i = 0; i < parts; ++i) {
      if (n * i / parts < n * (i + 1) / parts) want.emplace_back(n * i / parts, n * (i + 1) / parts);
    }
    std::sort(seen.begin(), seen.end());
    ASSERT_EQ(seen, want) << "n " << n << " grain " << grain << " threads " << pool.num_threads();
  }
}

TEST(ThreadPool, EveryIndexOnceInTheDocumentedPartition) {
  for (int threads = 1; threads <= 4; ++threads) {
    ThreadPool pool(threads);
    check_calls(pool, 3000, 17u + (uint32_t)threads);
  }
}

// Hog threads keep every core busy, so the pool's workers often wait for a time slice while the
// caller runs: chunks move to the caller, and nothing may run twice or be lost.
TEST(ThreadPool, HeldBackWorkersLoseNoChunk) {
  std::atomic<bool> stop{false};
  std::vector<std::thread> hogs;
  const int n_hogs = 2 * (int)std::max(1u, std::thread::hardware_concurrency());
  for (int i = 0; i < n_hogs; ++i) {
    hogs.emplace_back([&] {
      volatile uint64_t x = 0;
      while (!stop.load(std::memory_order_relaxed)) x = x + 1;
    });
  }
  for (int threads = 2; threads <= 3; ++threads) {
    ThreadPool pool(threads);
    check_calls(pool, 1500, 101u + (uint32_t)threads);
  }
  stop.store(true);
  for (auto& h : hogs) h.join();
}

// Calls that follow each other with no gap (the workers may still be inside the previous call's
// claim loop) and calls after the workers have gone to sleep.
TEST(ThreadPool, BackToBackAndAfterSleep) {
  ThreadPool pool(3);
  std::atomic<int64_t> sum{0};
  for (int c = 0; c < 20000; ++c) {
    pool.parallel_for(6, 1, [&](int64_t b, int64_t e) { sum.fetch_add(e - b); });
  }
  EXPECT_EQ(sum.load(), 6 * 20000);
  std::this_thread::sleep_for(std::chrono::milliseconds(5));  // past the spin: workers sleep
  check_calls(pool, 50, 7u);
}

}  // namespace
}  // namespace edgeai
