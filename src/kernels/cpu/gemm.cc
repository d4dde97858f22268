#include "kernels/cpu/gemm.h"

#include <algorithm>
#include <new>
#include <string>

#if defined(__linux__)
#include <sys/mman.h>
#endif

namespace edgeai::kernels::cpu {

AlignedFloats::AlignedFloats(int64_t n) : n_(n) {
  if (n > 0 && n <= kMaxScratchFloats) {
    p_.reset(static_cast<float*>(
        ::operator new(static_cast<size_t>(n) * sizeof(float), std::align_val_t(64), std::nothrow)));
  }
}

Status out_of_memory(int64_t floats) {
  return internal_error("out of memory for kernel scratch" +
                        (floats > 0 ? " (" + std::to_string(floats * 4) + " bytes)" : std::string()));
}

AlignedFloats AlignedFloats::weights(int64_t n) {
  constexpr size_t kHuge = size_t(2) << 20;
  if (n <= 0 || n > kMaxScratchFloats || static_cast<size_t>(n) * sizeof(float) < kHuge) return AlignedFloats(n);
  const size_t bytes = static_cast<size_t>(n) * sizeof(float);
  // The last partial 2 MiB page too, where that adds at most a quarter to the weights: its part
  // in 4 KiB pages was the slower one to stream (mobilenet_v2's classifier, 5.2 MB, on 2 threads:
  // the thread whose columns held the last 1.2 MB took 35 us longer than the other).
  const size_t whole = bytes / kHuge * kHuge, up = (bytes + kHuge - 1) / kHuge * kHuge;
  const size_t alloc = up - bytes <= bytes / 4 ? up : bytes, advised = alloc == up ? up : whole;
  AlignedFloats a;
  a.n_ = n;
  a.p_ = std::unique_ptr<float[], Free>(
      static_cast<float*>(::operator new(alloc, std::align_val_t(kHuge), std::nothrow)), Free{kHuge});
#if defined(__linux__) && defined(MADV_HUGEPAGE)
  // Whole 2 MiB pages only (a partial one left in 4 KiB pages: no memory beyond the weights').
  // Advice: when refused, 4 KiB pages as before.
  if (a.p_) madvise(a.p_.get(), advised, MADV_HUGEPAGE);
#endif
  return a;
}

void AlignedFloats::Free::operator()(float* p) const { ::operator delete(p, std::align_val_t(align), std::nothrow); }

namespace {

int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }

constexpr int64_t kKcMax = 384;                 // depth of one block (<= the im2col packer's 1024)
constexpr int64_t kBBlockBytes = 384 * 1024;   // a packed B block (KC x NC) stays in L2
// Smaller products run on one thread: handing work to the pool's spinning workers costs about a
// microsecond, about a fifth of what 0.5 MFLOP takes on one core. At 1 << 20 the MLP's 784x512
// layer at batch 1 (0.8 MFLOP) stayed on one thread and 2 threads were no faster than 1.
constexpr int64_t kMinParallelFlops = 1 << 19;

// Depth blocking: K split into equal blocks of at most kKcMax.
int64_t block_kc(int64_t k) {
  const int64_t nb = ceil_div(k, kKcMax);
  return std::min(k, (ceil_div(k, nb) + 7) / 8 * 8);
}

bool b_needs_buffer(GemmArgs::BKind kind) {
  return kind == GemmArgs::BKind::kStrided || kind == GemmArgs::BKind::kIm2col;
}

// C = act(bias) when K is 0.
void gemm_k0(const UKernels& uk, const GemmArgs& g) {
  for (int64_t i = 0; i < g.m; ++i) {
    float* c = g.c + i * g.ldc;
    for (int64_t j = 0; j < g.n; ++j) {
      c[j] = g.bias ? g.bias[i * g.bias_rs + j * g.bias_cs] : 0.0f;
      if (g.res) c[j] += g.res[i * g.res_ld + j];
    }
    uk.activation(c, c, g.n, g.act);
  }
}

// The rectangle rows [m0, m1) x columns [n0, n1) of C (m0, n0 multiples of MR, NR). False when
// a packing buffer cannot be allocated.
bool gemm_rect(const UKernels& uk, const GemmArgs& g, int64_t m0, int64_t m1, int64_t n0, int64_t n1) {
  if (m0 >= m1 || n0 >= n1) return true;
  const int64_t mr = uk.mr, nr = uk.nr, K = g.k;
  AlignedFloats abuf;
  const float* a_base;
  if (g.a_packed) {
    a_base = g.a_packed + (m0 / mr) * K * mr;
  } else {
    abuf = AlignedFloats(ceil_div(m1 - m0, mr) * mr * K);
    if (!abuf.ok()) return false;
    uk.pack_a(g.a + m0 * g.a_rs, g.a_rs, g.a_cs, m1 - m0, 0, K, abuf.data());
    a_base = abuf.data();
  }
  const int64_t kc_nom = block_kc(K);
  const int64_t nc_max = std::max<int64_t>(nr, kBBlockBytes / (kc_nom * 4) / nr * nr);
  const int64_t n_chunks = ceil_div(n1 - n0, nc_max);
  const int64_t nc_nom = ceil_div(ceil_div(n1 - n0, n_chunks), nr) * nr;
  AlignedFloats bbuf;
  if (b_needs_buffer(g.b_kind)) bbuf = AlignedFloats(kc_nom * nc_nom);
  if (!bbuf.ok()) return false;

  GemmBlock blk;
  blk.mc = m1 - m0;
  blk.a_panel_stride = K * mr;
  blk.ldc = g.ldc;
  blk.act = g.act;
  blk.bias_rs = g.bias_rs;
  blk.bias_cs = g.bias_cs;
  for (int64_t jc = n0; jc < n1; jc += nc_nom) {
    const int64_t nc = std::min(nc_nom, n1 - jc);
    for (int64_t pc = 0; pc < K; pc += kc_nom) {
      const int64_t kc = std::min(kc_nom, K - pc);
      blk.kc = kc;
      blk.nc = nc;
      blk.a = a_base + pc * mr;
      switch (g.b_kind) {
        case GemmArgs::BKind::kPacked:
          blk.b = g.b_packed + (jc / nr) * K * nr + pc * nr;
          blk.b_panel_stride = K * nr;
          blk.ldb = nr;
          blk.b_packed = true;
          break;
        case GemmArgs::BKind::kRowMajor:
          blk.b = g.b + pc * g.b_rs + jc;
          blk.b_panel_stride = nr;
          blk.ldb = g.b_rs;
          blk.b_packed = false;
          break;
        case GemmArgs::BKind::kStrided:
          uk.pack_b(g.b + jc * g.b_cs, g.b_rs, g.b_cs, pc, kc, nc, bbuf.data());
          blk.b = bbuf.data();
          blk.b_panel_stride = kc * nr;
          blk.ldb = nr;
          blk.b_packed = true;
          break;
        case GemmArgs::BKind::kIm2col:
          uk.pack_b_im2col(*g.im2col, pc, kc, jc, nc, bbuf.data());
          blk.b = bbuf.data();
          blk.b_panel_stride = kc * nr;
          blk.ldb = nr;
          blk.b_packed = true;
          break;
      }
      blk.c = g.c + m0 * g.ldc + jc;
      blk.accumulate = pc > 0;
      blk.last = pc + kc >= K;
      blk.bias = g.bias ? g.bias + m0 * g.bias_rs + jc * g.bias_cs : nullptr;
      blk.res = g.res ? g.res + m0 * g.res_ld + jc : nullptr;
      blk.ld_res = g.res_ld;
      uk.gemm_block(blk);
    }
  }
  return true;
}

struct Split {
  int64_t tm = 1, tn = 1;
};

// Columns of part j of n split into `parts` on multiples of `gran`.
void part_range(int64_t n, int64_t gran, int64_t parts, int64_t j, int64_t* b, int64_t* e) {
  const int64_t units = ceil_div(n, gran);
  *b = std::min(n, units * j / parts * gran);
  *e = std::min(n, units * (j + 1) / parts * gran);
}

// One rectangle per thread: tm row parts x tn column parts, minimizing the largest part's
// multiply-adds (in whole vectors and register-tile rows, as the micro-kernel runs them) plus
// what its thread packs. Parts start on whole register tiles (MR rows, NR columns), so every
// element is computed by the same tile kernel, in the same order, whatever the split: results
// do not depend on the thread count.
Split choose_split(const UKernels& uk, const GemmArgs& g, int threads) {
  Split best;
  double best_cost = -1;
  constexpr double kPackCost = 6.0;  // one packed element against one multiply-add
  for (int64_t tm = 1; tm <= threads; ++tm) {
    const int64_t tn = threads / tm;
    double worst = 0;
    for (int64_t i = 0; i < tm; ++i) {
      int64_t m0, m1;
      part_range(g.m, uk.mr, tm, i, &m0, &m1);
      const double rows = static_cast<double>(ceil_div(m1 - m0, uk.mr) * uk.mr);
      for (int64_t j = 0; j < tn; ++j) {
        int64_t n0, n1;
        part_range(g.n, uk.nr, tn, j, &n0, &n1);
        const double cols = static_cast<double>(ceil_div(n1 - n0, uk.lanes) * uk.lanes);
        if (m1 <= m0 || n1 <= n0) continue;
        double cost = rows * cols * g.k;
        if (b_needs_buffer(g.b_kind)) cost += kPackCost * cols * g.k;
        if (!g.a_packed) cost += kPackCost * rows * g.k;
        worst = std::max(worst, cost);
      }
    }
    if (best_cost < 0 || worst < best_cost * 0.999) {
      best_cost = worst;
      best.tm = tm;
      best.tn = tn;
    }
  }
  return best;
}

}  // namespace

AlignedFloats pack_a_once(const UKernels& uk, const float* a, int64_t rs, int64_t cs, int64_t m, int64_t k) {
  AlignedFloats buf = AlignedFloats::weights(std::max<int64_t>(1, ceil_div(m, uk.mr) * uk.mr * k));
  if (buf.ok()) uk.pack_a(a, rs, cs, m, 0, k, buf.data());
  return buf;
}

AlignedFloats pack_b_once(const UKernels& uk, const float* b, int64_t rs, int64_t cs, int64_t k, int64_t n,
                          float scale) {
  const int64_t total = ceil_div(n, uk.nr) * uk.nr * k;
  AlignedFloats buf = AlignedFloats::weights(std::max<int64_t>(1, total));
  if (!buf.ok()) return buf;
  uk.pack_b(b, rs, cs, 0, k, n, buf.data());
  if (scale != 1.0f) {
    for (int64_t i = 0; i < total; ++i) buf.data()[i] *= scale;
  }
  return buf;
}

Status gemm(const UKernels& uk, ThreadPool* pool, const GemmArgs& g) {
  if (g.m <= 0 || g.n <= 0) return ok_status();
  if (g.k <= 0) {
    gemm_k0(uk, g);
    return ok_status();
  }
  const int threads = pool ? pool->num_threads() : 1;
  if (threads <= 1 || 2 * g.m * g.n * g.k < kMinParallelFlops) {
    return gemm_rect(uk, g, 0, g.m, 0, g.n) ? ok_status() : out_of_memory(0);
  }
  const Split s = choose_split(uk, g, threads);
  std::atomic<bool> failed{false};
  pool->parallel_for(s.tm * s.tn, 1, [&](int64_t b, int64_t e) {
    for (int64_t t = b; t < e; ++t) {
      int64_t m0, m1, n0, n1;
      part_range(g.m, uk.mr, s.tm, t / s.tn, &m0, &m1);
      part_range(g.n, uk.nr, s.tn, t % s.tn, &n0, &n1);
      if (!gemm_rect(uk, g, m0, m1, n0, n1)) failed = true;
    }
  });
  return failed ? out_of_memory(0) : ok_status();
}

namespace detail {
bool batch_in_parallel(ThreadPool* pool, int64_t count, const GemmArgs& first) {
  const int threads = pool->num_threads();
  if (threads <= 1) return false;
  // Whole products per thread when each thread gets about the same number of them, or when
  // each product is too small to split.
  if (count % threads == 0 || count >= 4 * threads) return true;
  return 2 * first.m * first.n * first.k < 4 * kMinParallelFlops;
}
}  // namespace detail

}  // namespace edgeai::kernels::cpu
