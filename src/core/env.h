// The explicit environment: CPU features, thread pool and allocator, owned by the caller and
// passed down. There is no process-wide state.
#pragma once

#include <memory>

#include "core/arena.h"
#include "core/cpu_features.h"
#include "core/thread_pool.h"

namespace edgeai {

struct Env {
  CpuFeatures cpu;
  std::unique_ptr<ThreadPool> pool;
  std::shared_ptr<Arena> arena;

  // threads <= 0 means one per logical core.
  static std::unique_ptr<Env> create(int threads = 1) {
    auto env = std::make_unique<Env>();
    env->cpu = detect_cpu_features();
    int n = threads > 0 ? threads : env->cpu.logical_cores;
    env->pool = std::make_unique<ThreadPool>(n);
    env->arena = std::make_shared<Arena>();
    return env;
  }
};

}  // namespace edgeai
