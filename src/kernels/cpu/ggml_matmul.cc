// ggml_matmul: the product of a GGML-typed weight matrix with a block of f32 token rows, as the
// language model calls it for every projection. It quantizes the activations once per call (the
// weight type's activation format, see ggml_quants_impl.h), then splits the weight rows over the
// thread pool. Each thread walks its rows in blocks that stay in L2 and, for every block of up to
// kMaxTileTokens tokens, calls the ISA's tile kernel on each row: the kernel unpacks a weight block
// once for all the tokens of the tile; where the ISA has a multi-row kernel for the type (prompts),
// it takes several rows at once so that each token's activations are loaded once for all of them.
// With one token (generation) every weight byte is read once, in order. For long prompts (at least
// kPackMinTokens tokens) an ISA may pack each row block into its own layout first (the per-thread
// scratch stays in L2) and run its packed kernel over it. Threads take chunks of row groups from a
// shared counter. ggml_matmul_many does the
// same for several matrices on one input (Q/K/V, gate/up): activations quantized once per weight
// type, and one split of all their row groups (of the multi-row kernel's width, so no thread gets a
// split group) over the pool.
#include <algorithm>
#include <atomic>
#include <cstring>
#include <memory>
#include <new>
#include <string>
#include <vector>

#include "core/ggml_type.h"
#include "kernels/ggml_quants.h"
#include "kernels/ggml_quants_impl.h"

namespace edgeai::kernels {

namespace ggml {
namespace {

const KernelTable& pick(const CpuFeatures& cpu) {
#if defined(__x86_64__) || defined(_M_X64)
  if (cpu.avx512f && cpu.avx512bw && cpu.avx512vl && cpu.avx512_vnni && cpu.avx2 && cpu.fma && cpu.f16c) {
    return avx512_kernels();
  }
  if (cpu.avx2 && cpu.fma && cpu.f16c) return avx2_kernels();
#elif defined(__aarch64__)
  if (cpu.arm_dotprod) return neon_kernels();
#endif
  (void)cpu;
  return ref_kernels();
}

struct FreeAligned {
  void operator()(uint8_t* p) const { ::operator delete[](p, std::align_val_t(64)); }
};

// Weight bytes of a row block: small enough to stay in L2 while every token block passes over it.
constexpr int64_t kRowBlockBytes = 192 * 1024;
// Multiply-adds below which a chunk is not worth waking another thread for.
constexpr int64_t kMinChunkWork = 1 << 18;
// Chunks per thread a product is cut into at most (fewer where a chunk would be under
// kMinChunkWork): enough that a thread held up for a while leaves little for the others to wait on.
constexpr int64_t kChunksPerThread = 8;
// Bytes of packed weight groups per row block (the packed layout of q4_0 takes twice its bytes).
constexpr int64_t kPackedBlockBytes = 256 * 1024;

}  // namespace

Status matmul_with(const KernelTable& kt, ThreadPool& pool, uint32_t wtype, const void* w, int64_t rows,
                   int64_t k, const float* x, int64_t n_tokens, float* y) {
  const MatmulOperand op{wtype, w, rows, y};
  return matmul_many_with(kt, pool, {&op, 1}, k, x, n_tokens);
}

Status matmul_many_with(const KernelTable& kt, ThreadPool& pool, std::span<const MatmulOperand> ops, int64_t k,
                        const float* x, int64_t n_tokens) {
  if (k < 0 || n_tokens < 0) return invalid_argument("ggml_matmul: negative size");
  // Per operand: its kernels and activation layout, and the row groups (units of `nr` rows, the
  // multi-row kernel's width) that the threads share out.
  struct Plan {
    TileFn tile;
    TileRowsFn tile_rows;
    PackRowsFn pack = nullptr;  // with tile_packed: groups of nr rows packed per row block first
    TilePackedFn tile_packed = nullptr;
    int64_t nr, row_bytes, unit0, slab;  // slab: index of the operand whose activations it reads
    int64_t group_bytes = 0, row_block = 0;  // packed: bytes of a packed group; rows per row block
    bool one_token_rows = false;  // tile_rows for a single token too (KernelTable::rows_one_token_bytes)
    ActLayout layout;
  };
  // Up to kInlineOps operands need no heap (a small model's decode step makes ~20 calls).
  constexpr size_t kInlineOps = 4;
  Plan plans_inline[kInlineOps];
  std::vector<Plan> plans_heap(ops.size() > kInlineOps ? ops.size() : 0);
  Plan* plans = ops.size() > kInlineOps ? plans_heap.data() : plans_inline;
  int64_t units = 0;
  for (size_t i = 0; i < ops.size(); ++i) {
    const MatmulOperand& op = ops[i];
    const GgmlTypeInfo* info = ggml_type_info(op.wtype);
    auto name = [&] { return info ? std::string(info->name) : "type " + std::to_string(op.wtype); };
    if (!ggml_type_supported(op.wtype)) {
      return unsupported("ggml_matmul: weights of GGML " + name() + " are not supported");
    }
    if (op.rows < 0) return invalid_argument("ggml_matmul: negative size");
    if (k % info->block_size != 0) {
      return invalid_argument("ggml_matmul: row length " + std::to_string(k) + " is not a multiple of " + name() +
                              "'s block size " + std::to_string(info->block_size));
    }
    Plan& p = plans[i];
    p.tile = kt.tile[op.wtype] ? kt.tile[op.wtype] : ref_kernels().tile[op.wtype];
    p.row_bytes = ggml_row_bytes(op.wtype, k);
    p.one_token_rows = op.rows * p.row_bytes <= kt.rows_one_token_bytes[op.wtype];
    const bool multi = kt.tile[op.wtype] && kt.rows[op.wtype] > 1 && (n_tokens > 1 || p.one_token_rows);
    p.tile_rows = multi ? kt.tile_rows[op.wtype] : nullptr;
    p.nr = multi ? kt.rows[op.wtype] : 1;
    p.row_block = std::max<int64_t>(p.nr, kRowBlockBytes / p.row_bytes / p.nr * p.nr);
    if (kt.tile[op.wtype] && kt.pack_rows[op.wtype] && n_tokens >= kPackMinTokens && op.rows >= kt.packed_rows[op.wtype]) {
      p.pack = kt.pack_rows[op.wtype];
      p.tile_packed = kt.tile_packed[op.wtype];
      p.tile_rows = nullptr;
      p.nr = kt.packed_rows[op.wtype];
      p.group_bytes = kt.packed_block_bytes[op.wtype] * (k / info->block_size);
      p.row_block = std::max<int64_t>(1, kPackedBlockBytes / p.group_bytes) * p.nr;
    }
    p.layout = act_layout_for(kt, op.wtype, k);
    p.unit0 = units;
    units += (op.rows + p.nr - 1) / p.nr;
    // The same weight type reads the same activations (the layout, and the bias and minimum terms
    // in it, depend on the type only): quantize them once.
    p.slab = static_cast<int64_t>(i);
    for (size_t j = 0; j < i; ++j) {
      if (ops[j].wtype == op.wtype) {
        p.slab = plans[j].slab;
        break;
      }
    }
  }
  if (units == 0 || n_tokens == 0) return ok_status();
  if (k == 0) {
    for (const MatmulOperand& op : ops) std::fill(op.y, op.y + op.rows * n_tokens, 0.0f);
    return ok_status();
  }

  Acts acts_inline[kInlineOps];
  std::vector<Acts> acts_heap(ops.size() > kInlineOps ? ops.size() : 0);
  Acts* acts = ops.size() > kInlineOps ? acts_heap.data() : acts_inline;
  std::unique_ptr<uint8_t[], FreeAligned> slabs_inline[kInlineOps];
  std::vector<std::unique_ptr<uint8_t[], FreeAligned>> slabs_heap(ops.size() > kInlineOps ? ops.size() : 0);
  std::unique_ptr<uint8_t[], FreeAligned>* slabs = ops.size() > kInlineOps ? slabs_heap.data() : slabs_inline;
  for (size_t i = 0; i < ops.size(); ++i) {
    const Plan& p = plans[i];
    acts[i].layout = &p.layout;
    if (p.layout.kind == ActKind::kF32) {
      acts[i].base = reinterpret_cast<const uint8_t*>(x);
      acts[i].stride = k * static_cast<int64_t>(sizeof(float));
    } else if (p.slab != static_cast<int64_t>(i)) {
      acts[i] = acts[p.slab];
    } else {
      slabs[i].reset(static_cast<uint8_t*>(::operator new[](p.layout.stride * n_tokens, std::align_val_t(64))));
      uint8_t* base = slabs[i].get();
      const uint32_t wtype = ops[i].wtype;
      pool.parallel_for(n_tokens, std::max<int64_t>(1, kMinChunkWork / (4 * k)), [&](int64_t t0, int64_t t1) {
        for (int64_t t = t0; t < t1; ++t) {
          if (p.layout.kind == ActKind::kF16 && kt.to_f16) {
            kt.to_f16(x + t * k, k, reinterpret_cast<uint16_t*>(base + t * p.layout.stride + p.layout.off_qs));
          } else {
            quantize_acts(wtype, p.layout, x + t * k, k, base + t * p.layout.stride);
          }
        }
      });
      acts[i].base = base;
      acts[i].stride = p.layout.stride;
    }
  }

  // All operands' row groups (units) go out in chunks that the threads take in turn from a shared
  // counter, so that a thread that the OS holds back (a shared machine) or that meets slower memory
  // leaves its share to the others instead of keeping them waiting at the end. Projections that
  // share an input (Q, K, V) are one hand-off, and a small one (K, V) does not run on a thread of
  // its own. A chunk is one row block (prompts: the weights that stay in L2 while every token tile
  // passes over them) or, for a single token, at least kMinChunkWork multiply-adds; then smaller,
  // so that each thread gets several. Which thread computes a row does not change its bits.
  int64_t max_nr = 1, min_block_units = units;
  size_t pack_bytes = 0;  // per thread, for the packed groups of one row block
  for (const Plan& p : std::span<const Plan>(plans, ops.size())) {
    max_nr = std::max(max_nr, p.nr);
    min_block_units = std::min(min_block_units, p.row_block / p.nr);
    if (p.pack) pack_bytes = std::max<size_t>(pack_bytes, (size_t)(p.row_block / p.nr * p.group_bytes));
  }
  const int64_t tile_tokens = std::min<int64_t>(n_tokens, kMaxTileTokens);
  const int64_t grain = std::max<int64_t>(1, kMinChunkWork / (k * tile_tokens) / max_nr);
  const int threads = pool.num_threads();
  int64_t chunk = std::max<int64_t>(1, (units + kChunksPerThread * threads - 1) / (kChunksPerThread * threads));
  if (n_tokens > 1) chunk = std::min(chunk, std::max<int64_t>(1, min_block_units));
  chunk = std::max(chunk, grain);
  const int64_t n_chunks = (units + chunk - 1) / chunk;
  const int slots = static_cast<int>(std::min<int64_t>(threads, n_chunks));
  std::vector<std::unique_ptr<uint8_t[], FreeAligned>> packed(pack_bytes ? slots : 0);
  auto run_units = [&](int slot, int64_t u0, int64_t u1) {
    for (size_t i = 0; i < ops.size(); ++i) {
      const Plan& p = plans[i];
      const MatmulOperand& op = ops[i];
      const int64_t r0 = std::max<int64_t>(u0 - p.unit0, 0) * p.nr;
      const int64_t r1 = std::min<int64_t>((u1 - p.unit0) * p.nr, op.rows);
      if (r0 >= r1) continue;
      const uint8_t* wb = static_cast<const uint8_t*>(op.w);
      for (int64_t rb = r0; rb < r1; rb += p.row_block) {
        const int64_t rb_end = std::min(r1, rb + p.row_block);
        const int64_t groups = p.pack ? (rb_end - rb) / p.nr : 0;
        if (groups > 0) {
          if (!packed[slot]) {  // allocated by the thread that uses it
            packed[slot].reset(static_cast<uint8_t*>(::operator new[](pack_bytes, std::align_val_t(64))));
          }
          for (int64_t g = 0; g < groups; ++g)
            p.pack(k, wb + (rb + g * p.nr) * p.row_bytes, p.row_bytes, packed[slot].get() + g * p.group_bytes);
        }
        for (int64_t t0 = 0; t0 < n_tokens; t0 += kMaxTileTokens) {
          const int nt = static_cast<int>(std::min<int64_t>(kMaxTileTokens, n_tokens - t0));
          Acts a = acts[i];
          a.base = acts[i].base + t0 * acts[i].stride;
          float* yt = op.y + t0 * op.rows;
          int64_t r = rb;
          for (int64_t g = 0; g < groups; ++g, r += p.nr)
            p.tile_packed(k, packed[slot].get() + g * p.group_bytes, a, nt, yt + r, op.rows);
          // A single token gains nothing (each row is read once anyway) but where the table says so.
          if (p.tile_rows && (nt > 1 || p.one_token_rows)) {
            for (; r + p.nr <= rb_end; r += p.nr) p.tile_rows(k, wb + r * p.row_bytes, p.row_bytes, a, nt, yt + r, op.rows);
          }
          for (; r < rb_end; ++r) p.tile(k, wb + r * p.row_bytes, a, nt, yt + r, op.rows);
        }
      }
    }
  };
  if (slots <= 1) {
    run_units(0, 0, units);
    return ok_status();
  }
  std::atomic<int64_t> next{0};
  pool.parallel_for(slots, 1, [&](int64_t slot, int64_t) {
    for (int64_t c = next.fetch_add(1, std::memory_order_relaxed); c < n_chunks;
         c = next.fetch_add(1, std::memory_order_relaxed)) {
      run_units(static_cast<int>(slot), c * chunk, std::min(units, (c + 1) * chunk));
    }
  });
  return ok_status();
}

}  // namespace ggml

Status ggml_matmul(const CpuFeatures& cpu, ThreadPool& pool, uint32_t wtype, const void* w, int64_t rows,
                   int64_t k, const float* x, int64_t n_tokens, float* y) {
  return ggml::matmul_with(ggml::pick(cpu), pool, wtype, w, rows, k, x, n_tokens, y);
}

Status ggml_matmul_many(const CpuFeatures& cpu, ThreadPool& pool, std::span<const MatmulOperand> ops, int64_t k,
                        const float* x, int64_t n_tokens) {
  return ggml::matmul_many_with(ggml::pick(cpu), pool, ops, k, x, n_tokens);
}

const char* ggml_matmul_isa(const CpuFeatures& cpu) { return ggml::pick(cpu).isa; }

}  // namespace edgeai::kernels
