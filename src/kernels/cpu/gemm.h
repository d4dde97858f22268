// The f32 GEMM driver: C = act(A B + bias) with packed, register-blocked micro-kernels
// (ukernels.h), cache blocking over K (KC) and N (NC), weights prepacked once, and the work split
// over the thread pool in one rectangle per thread. Every element of C sums over k in the same
// order whatever the split, so results do not depend on the thread count.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>

#include "core/thread_pool.h"
#include "edgeai/status.h"
#include "kernels/cpu/ukernels.h"

namespace edgeai::kernels::cpu {

// A 64-byte aligned float buffer. Allocation does not throw: ok() is false when it failed (or
// n is beyond kMaxScratchFloats), and callers turn that into a Status.
class AlignedFloats {
 public:
  static constexpr int64_t kMaxScratchFloats = int64_t(1) << 34;  // 64 GiB

  AlignedFloats() = default;
  explicit AlignedFloats(int64_t n);
  // For weights kept as long as the session (the packed GEMM operands): from 2 MiB on, 2 MiB
  // aligned, with their whole 2 MiB pages advised for transparent huge pages (Linux, where they
  // are given on advice only). A batch-1 classifier streams its 5 MB of weights from memory
  // once per run, and from 4 KiB pages that took 1.6-2x as long (mobilenet_v2's 1280 x 1000
  // Gemm after a 64 MB flush, 286-367 -> 172-184 us with all of it in 2 MiB pages).
  static AlignedFloats weights(int64_t n);
  float* data() { return p_.get(); }
  const float* data() const { return p_.get(); }
  int64_t size() const { return n_; }
  bool ok() const { return n_ <= 0 || p_ != nullptr; }

 private:
  struct Free {
    Free() : align(64) {}  // (not a member initializer: unique_ptr's default constructor)
    explicit Free(size_t a) : align(a) {}
    size_t align;
    void operator()(float* p) const;
  };
  std::unique_ptr<float[], Free> p_;
  int64_t n_ = 0;
};

// A (M x K, element (i, k) at a[i * rs + k * cs]) packed once into the table's MR-row panels.
AlignedFloats pack_a_once(const UKernels& uk, const float* a, int64_t rs, int64_t cs, int64_t m, int64_t k);
// B (K x N, element (k, j) at b[k * rs + j * cs]) times `scale`, packed once into NR-column panels.
AlignedFloats pack_b_once(const UKernels& uk, const float* b, int64_t rs, int64_t cs, int64_t k, int64_t n,
                          float scale = 1.0f);

struct GemmArgs {
  int64_t m = 0, n = 0, k = 0;
  // A: prepacked (pack_a_once) or read from a with strides (packed per call).
  const float* a_packed = nullptr;
  const float* a = nullptr;
  int64_t a_rs = 0, a_cs = 0;
  // B: one of these.
  enum class BKind { kPacked, kRowMajor, kStrided, kIm2col };
  BKind b_kind = BKind::kPacked;
  const float* b_packed = nullptr;  // kPacked: pack_b_once
  const float* b = nullptr;         // kRowMajor (read in place, row stride b_rs), kStrided
  int64_t b_rs = 0, b_cs = 0;
  const Im2colPlanes* im2col = nullptr;  // kIm2col
  float* c = nullptr;
  int64_t ldc = 0;
  const float* bias = nullptr;  // bias(i, j) = bias[i * bias_rs + j * bias_cs], bias_cs 0 or 1
  int64_t bias_rs = 0, bias_cs = 0;
  const float* res = nullptr;  // C = act(A B + bias + res), res(i, j) = res[i * res_ld + j]
  int64_t res_ld = 0;
  Activation act;
};

// Runs on the pool's threads (pool may be null: the calling thread only). Fails only when a
// packing buffer cannot be allocated.
Status gemm(const UKernels& uk, ThreadPool* pool, const GemmArgs& g);

// The error of a failed scratch allocation.
Status out_of_memory(int64_t floats);

// Runs `count` independent products; product i is fn(i) filled into a GemmArgs. Splits over
// products when there are enough of them, else over each product's rows and columns.
template <class Fn>
Status gemm_batch(const UKernels& uk, ThreadPool* pool, int64_t count, Fn&& fn);

namespace detail {
bool batch_in_parallel(ThreadPool* pool, int64_t count, const GemmArgs& first);
}

template <class Fn>
Status gemm_batch(const UKernels& uk, ThreadPool* pool, int64_t count, Fn&& fn) {
  if (count <= 0) return ok_status();
  if (count == 1) return gemm(uk, pool, fn(0));
  if (pool && detail::batch_in_parallel(pool, count, fn(0))) {
    std::atomic<bool> failed{false};
    pool->parallel_for(count, 1, [&](int64_t b, int64_t e) {
      for (int64_t i = b; i < e; ++i) {
        if (!gemm(uk, nullptr, fn(i)).ok()) failed = true;
      }
    });
    return failed ? out_of_memory(0) : ok_status();
  }
  for (int64_t i = 0; i < count; ++i) RETURN_IF_ERROR(gemm(uk, pool, fn(i)));
  return ok_status();
}

}  // namespace edgeai::kernels::cpu
