// The ISA-independent half of the SIMD int8 depthwise kernels (qgemm_avx2.cc, qgemm_neon.cc): the
// plane is copied with its padding (zx, which adds nothing once corr holds -zx * sum(w)) into a
// buffer a band of output rows at a time, so that the vector loads read whole rows without bounds
// checks; and the list of the input rows a group of R output rows reads, with each row's kernel row.
// Internal header, included only by the kernel translation units.
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstring>

#include "kernels/cpu/qgemm.h"

namespace edgeai::kernels::cpu {

// The input rows that output rows [oy0, oy0 + R) read, at most kQDwMaxRows: row r (counted from
// oy0's first, oy0 * sh) and, per output row j, the kernel row it is there (-1: none).
inline constexpr int kQDwMaxRows = 64;
template <int R>
struct QDwRowList {
  int n = 0;
  int64_t r[kQDwMaxRows];
  int8_t ky[kQDwMaxRows][R];
};

// False where the rows do not fit the list (R > 1 with large strides or dilations; kh <= 32).
template <int R>
bool qdw_row_list(const QDwArgs& a, QDwRowList<R>* l) {
  l->n = 0;
  if (R == 1) {
    if (a.kh > kQDwMaxRows) return false;
    for (int64_t ky = 0; ky < a.kh; ++ky) {
      l->r[l->n] = ky * a.dh;
      l->ky[l->n++][0] = static_cast<int8_t>(ky);
    }
    return true;
  }
  const int64_t rows_in = (R - 1) * a.sh + (a.kh - 1) * a.dh + 1;
  if (rows_in > kQDwMaxRows) return false;
  for (int64_t r = 0; r < rows_in; ++r) {
    bool any = false;
    for (int j = 0; j < R; ++j) {
      const int64_t d = r - j * a.sh;
      // Runs per plane: no divisions for the usual dilation of 1.
      const bool in = d >= 0 && (a.dh == 1 ? d < a.kh : d % a.dh == 0 && d / a.dh < a.kh);
      l->ky[l->n][j] = static_cast<int8_t>(in ? (a.dh == 1 ? d : d / a.dh) : -1);
      any = any || in;
    }
    if (any) l->r[l->n++] = r;
  }
  return true;
}

// n bytes from s to d in 8-byte moves, the last one overlapping (n >= 8), or smaller ones: depthwise
// planes are small (7x7 to 112x112) and a library call per row cost as much as the convolution.
// The attribute keeps GCC from turning the loop back into a memcpy call.
__attribute__((optimize("no-tree-loop-distribute-patterns"))) inline void qdw_copy_row(uint8_t* d,
                                                                                       const uint8_t* s,
                                                                                       int64_t n) {
  auto move = [&](int64_t at, auto word) {
    std::memcpy(&word, s + at, sizeof(word));
    std::memcpy(d + at, &word, sizeof(word));
  };
  if (n >= 8) {
    for (int64_t c = 0; c + 8 <= n; c += 8) move(c, uint64_t{});
    move(n - 8, uint64_t{});
  } else if (n >= 4) {
    move(0, uint32_t{});
    move(n - 4, uint32_t{});
  } else {
    for (int64_t c = 0; c < n; ++c) d[c] = s[c];
  }
}

// Copies the padded plane, wp bytes a row, into buf (cap bytes) in bands of output rows and calls
// band(py0, oy0, oy1) for each: output rows [oy0, oy1), padded row py (input row py - pt) at
// buf + (py - py0) * wp. False (nothing done) where the rows of one output row do not fit.
template <typename Band>
bool qdw_padded_bands(const QDwArgs& a, int64_t wp, uint8_t* buf, int64_t cap, Band&& band) {
  const int64_t band_min = (a.kh - 1) * a.dh + 1;  // the rows one output row reads
  if (band_min * wp > cap) return false;
  const int64_t rows = std::max<int64_t>(1, (cap / wp - band_min) / a.sh + 1);
  const int64_t c0 = std::min(a.pl, wp), c1 = std::clamp<int64_t>(a.pl + a.w, c0, wp);  // plane columns
  for (int64_t oy0 = 0; oy0 < a.oh; oy0 += rows) {
    const int64_t oy1 = std::min(a.oh, oy0 + rows);
    const int64_t py0 = oy0 * a.sh, py1 = (oy1 - 1) * a.sh + band_min;
    std::memset(buf, a.zx, static_cast<size_t>((py1 - py0) * wp));  // the padding; then the plane's rows
    const int64_t iy0 = std::max<int64_t>(py0 - a.pt, 0), iy1 = std::min<int64_t>(py1 - a.pt, a.h);
    for (int64_t iy = iy0; iy < iy1; ++iy) qdw_copy_row(buf + (iy + a.pt - py0) * wp + c0, a.x + iy * a.w, c1 - c0);
    band(py0, oy0, oy1);
  }
  return true;
}

}  // namespace edgeai::kernels::cpu
