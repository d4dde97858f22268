// ggml_matmul: the product of a GGML-typed weight matrix with a block of f32 token rows, as the
// language model calls it for every projection. It quantizes the activations once per call (the
// weight type's activation format, see ggml_quants_impl.h), then splits the weight rows over the
// thread pool. Each thread walks its rows in blocks that stay in L2 and, for every block of up to
// kMaxTileTokens tokens, calls the ISA's tile kernel on each row: the kernel unpacks a weight block
// once for all the tokens of the tile; where the ISA has a multi-row kernel for the type (prompts),
// it takes several rows at once so that each token's activations are loaded once for all of them.
// With one token (generation) every weight byte is read once, in order.
#include <algorithm>
#include <cstring>
#include <memory>
#include <new>
#include <string>

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

}  // namespace

Status matmul_with(const KernelTable& kt, ThreadPool& pool, uint32_t wtype, const void* w, int64_t rows,
                   int64_t k, const float* x, int64_t n_tokens, float* y) {
  const GgmlTypeInfo* info = ggml_type_info(wtype);
  const std::string name = info ? info->name : "type " + std::to_string(wtype);
  if (!ggml_type_supported(wtype)) return unsupported("ggml_matmul: weights of GGML " + name + " are not supported");
  if (rows < 0 || k < 0 || n_tokens < 0) return invalid_argument("ggml_matmul: negative size");
  if (k % info->block_size != 0) {
    return invalid_argument("ggml_matmul: row length " + std::to_string(k) + " is not a multiple of " + name +
                            "'s block size " + std::to_string(info->block_size));
  }
  if (rows == 0 || n_tokens == 0) return ok_status();
  if (k == 0) {
    std::fill(y, y + rows * n_tokens, 0.0f);
    return ok_status();
  }
  TileFn tile = kt.tile[wtype] ? kt.tile[wtype] : ref_kernels().tile[wtype];
  const TileRowsFn tile_rows = kt.tile[wtype] && kt.rows[wtype] > 1 ? kt.tile_rows[wtype] : nullptr;
  const int64_t nr = kt.rows[wtype];
  const ActLayout layout = act_layout_for(kt, wtype, k);
  const int64_t row_bytes = ggml_row_bytes(wtype, k);

  Acts acts;
  acts.layout = &layout;
  std::unique_ptr<uint8_t[], FreeAligned> slabs;
  if (layout.kind == ActKind::kF32) {
    acts.base = reinterpret_cast<const uint8_t*>(x);
    acts.stride = k * static_cast<int64_t>(sizeof(float));
  } else {
    slabs.reset(static_cast<uint8_t*>(::operator new[](layout.stride * n_tokens, std::align_val_t(64))));
    uint8_t* base = slabs.get();
    pool.parallel_for(n_tokens, std::max<int64_t>(1, kMinChunkWork / (4 * k)), [&](int64_t t0, int64_t t1) {
      for (int64_t t = t0; t < t1; ++t) quantize_acts(wtype, layout, x + t * k, k, base + t * layout.stride);
    });
    acts.base = base;
    acts.stride = layout.stride;
  }

  const uint8_t* wb = static_cast<const uint8_t*>(w);
  const int64_t row_block = std::max<int64_t>(1, kRowBlockBytes / row_bytes);
  const int64_t grain = std::max<int64_t>(1, kMinChunkWork / (k * std::min<int64_t>(n_tokens, kMaxTileTokens)));
  pool.parallel_for(rows, grain, [&](int64_t r0, int64_t r1) {
    for (int64_t rb = r0; rb < r1; rb += row_block) {
      const int64_t rb_end = std::min(r1, rb + row_block);
      for (int64_t t0 = 0; t0 < n_tokens; t0 += kMaxTileTokens) {
        const int nt = static_cast<int>(std::min<int64_t>(kMaxTileTokens, n_tokens - t0));
        Acts a = acts;
        a.base = acts.base + t0 * acts.stride;
        int64_t r = rb;
        if (tile_rows && nt > 1) {  // a single token gains nothing: each row is read once anyway
          for (; r + nr <= rb_end; r += nr) tile_rows(k, wb + r * row_bytes, row_bytes, a, nt, y + t0 * rows + r, rows);
        }
        for (; r < rb_end; ++r) tile(k, wb + r * row_bytes, a, nt, y + t0 * rows + r, rows);
      }
    }
  });
  return ok_status();
}

}  // namespace ggml

Status ggml_matmul(const CpuFeatures& cpu, ThreadPool& pool, uint32_t wtype, const void* w, int64_t rows,
                   int64_t k, const float* x, int64_t n_tokens, float* y) {
  return ggml::matmul_with(ggml::pick(cpu), pool, wtype, w, rows, k, x, n_tokens, y);
}

const char* ggml_matmul_isa(const CpuFeatures& cpu) { return ggml::pick(cpu).isa; }

}  // namespace edgeai::kernels
