// Shared by the per-ISA GGML kernel files: turns a kernel templated on the number of tokens of a
// tile (so that its per-token accumulators live in registers) into a TileFn.
#pragma once

#include <cstdint>

#include "kernels/ggml_quants_impl.h"

namespace edgeai::kernels::ggml {

// Defines `void name(k, w, acts, nt, y, y_stride)` calling name##_n<NT>(k, w bytes, acts, y, y_stride).
#define EDGEAI_GGML_TILE(name)                                                                  \
  void name(int64_t k, const void* w, const Acts& a, int nt, float* y, int64_t ys) {           \
    const uint8_t* wb = static_cast<const uint8_t*>(w);                                        \
    switch (nt) {                                                                               \
      case 1: name##_n<1>(k, wb, a, y, ys); break;                                              \
      case 2: name##_n<2>(k, wb, a, y, ys); break;                                              \
      case 3: name##_n<3>(k, wb, a, y, ys); break;                                              \
      case 4: name##_n<4>(k, wb, a, y, ys); break;                                              \
      case 5: name##_n<5>(k, wb, a, y, ys); break;                                              \
      case 6: name##_n<6>(k, wb, a, y, ys); break;                                              \
      case 7: name##_n<7>(k, wb, a, y, ys); break;                                              \
      default: name##_n<8>(k, wb, a, y, ys); break;                                             \
    }                                                                                           \
  }
static_assert(kMaxTileTokens == 8, "EDGEAI_GGML_TILE handles up to 8 tokens");

// Defines `void name(k, w, w_stride, acts, nt, y, y_stride)` (a TileRowsFn) calling
// name##_n<NR, NT>(k, w bytes, w_stride, acts, y, y_stride) for NR rows.
#define EDGEAI_GGML_TILE_ROWS(name, NR)                                                        \
  void name(int64_t k, const void* w, int64_t ws, const Acts& a, int nt, float* y, int64_t ys) { \
    const uint8_t* wb = static_cast<const uint8_t*>(w);                                        \
    switch (nt) {                                                                               \
      case 1: name##_n<NR, 1>(k, wb, ws, a, y, ys); break;                                      \
      case 2: name##_n<NR, 2>(k, wb, ws, a, y, ys); break;                                      \
      case 3: name##_n<NR, 3>(k, wb, ws, a, y, ys); break;                                      \
      case 4: name##_n<NR, 4>(k, wb, ws, a, y, ys); break;                                      \
      case 5: name##_n<NR, 5>(k, wb, ws, a, y, ys); break;                                      \
      case 6: name##_n<NR, 6>(k, wb, ws, a, y, ys); break;                                      \
      case 7: name##_n<NR, 7>(k, wb, ws, a, y, ys); break;                                      \
      default: name##_n<NR, 8>(k, wb, ws, a, y, ys); break;                                     \
    }                                                                                           \
  }

// Per-token views of a tile's activations.
template <int NT>
struct TokenPtrs {
  const uint8_t* s[NT];
  explicit TokenPtrs(const Acts& a) {
    for (int t = 0; t < NT; ++t) s[t] = a.base + t * a.stride;
  }
  const int8_t* qs(int t, const ActLayout& l) const { return reinterpret_cast<const int8_t*>(s[t] + l.off_qs); }
  const float* d(int t, const ActLayout& l) const { return reinterpret_cast<const float*>(s[t] + l.off_d); }
  const int32_t* sum(int t, const ActLayout& l) const { return reinterpret_cast<const int32_t*>(s[t] + l.off_sum); }
  const int32_t* bias(int t, const ActLayout& l) const { return reinterpret_cast<const int32_t*>(s[t] + l.off_bias); }
  const float* msum(int t, const ActLayout& l) const { return reinterpret_cast<const float*>(s[t] + l.off_msum); }
  const int16_t* bsums(int t, const ActLayout& l) const {
    return reinterpret_cast<const int16_t*>(s[t] + l.off_bsums);
  }
  const float* f32(int t) const { return reinterpret_cast<const float*>(s[t]); }
  const uint16_t* f16(int t, const ActLayout& l) const { return reinterpret_cast<const uint16_t*>(s[t] + l.off_qs); }
};

// The 8 scales (bytes 0..7) and 8 mins (bytes 8..15) of a q4_K/q5_K block, 6 bits each.
inline void unpack_k4_scales(const uint8_t* packed, uint32_t out[4]) {
  constexpr uint32_t kmask1 = 0x3f3f3f3f, kmask2 = 0x0f0f0f0f, kmask3 = 0x03030303;
  uint32_t u[3];
  __builtin_memcpy(u, packed, 12);
  out[3] = ((u[2] >> 4) & kmask2) | (((u[1] >> 6) & kmask3) << 4);
  out[2] = u[1] & kmask1;
  out[1] = (u[2] & kmask2) | (((u[0] >> 6) & kmask3) << 4);
  out[0] = u[0] & kmask1;
}

}  // namespace edgeai::kernels::ggml
