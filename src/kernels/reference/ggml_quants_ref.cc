// Reference (portable scalar) GGML block formats: row quantizers and dequantizers with the block
// layouts and rounding of llama.cpp's ggml-quants.c (quantize_row_*_ref, so files we write hold the
// bytes llama.cpp would write), the activation quantizers of ggml_matmul, and the reference dot
// products that every SIMD kernel is tested against.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <string>

#include "core/dtype.h"
#include "core/ggml_type.h"
#include "kernels/ggml_quants.h"
#include "kernels/ggml_quants_impl.h"

// The quantizers' float arithmetic must be the same everywhere: no fused multiply-adds (aarch64
// compilers would otherwise contract a*b+c, and the bytes would differ from x86's).
#if defined(__clang__)
#pragma clang fp contract(off)
#elif defined(__GNUC__)
#pragma GCC optimize("fp-contract=off")
#endif

namespace edgeai::kernels {

namespace ggml {
namespace {

constexpr float kGroupMaxEps = 1e-15f;

inline float f16(uint16_t h) { return half_to_float(h); }
inline uint16_t to_f16(float f) { return float_to_half(f); }

// Round to nearest (ties to even) for |fval| <= 4194303, as ggml's nearest_int.
inline int nearest_int(float fval) {
  float val = fval + 12582912.f;
  int i;
  std::memcpy(&i, &val, sizeof(int));
  return (i & 0x007fffff) - 0x00400000;
}

// ---- Helpers of the k-quant quantizers (make_qx_quants, make_q3_quants, make_qkx2_quants) -------

float make_qx_quants(int n, int nmax, const float* x, int8_t* L, int rmse_type, const float* qw) {
  float max = 0;
  float amax = 0;
  for (int i = 0; i < n; ++i) {
    float ax = std::fabs(x[i]);
    if (ax > amax) {
      amax = ax;
      max = x[i];
    }
  }
  if (amax < kGroupMaxEps) {
    for (int i = 0; i < n; ++i) L[i] = 0;
    return 0.f;
  }
  float iscale = -nmax / max;
  if (rmse_type == 0) {
    for (int i = 0; i < n; ++i) {
      int l = nearest_int(iscale * x[i]);
      L[i] = nmax + std::max(-nmax, std::min(nmax - 1, l));
    }
    return 1 / iscale;
  }
  bool return_early = false;
  if (rmse_type < 0) {
    rmse_type = -rmse_type;
    return_early = true;
  }
  auto weight = [&](int i) -> float {
    return qw ? qw[i]
              : rmse_type == 1 ? x[i] * x[i]
              : rmse_type == 2 ? 1
              : rmse_type == 3 ? std::fabs(x[i])
                               : std::sqrt(std::fabs(x[i]));
  };
  float sumlx = 0;
  float suml2 = 0;
  for (int i = 0; i < n; ++i) {
    int l = nearest_int(iscale * x[i]);
    l = std::max(-nmax, std::min(nmax - 1, l));
    L[i] = l + nmax;
    float w = weight(i);
    sumlx += w * x[i] * l;
    suml2 += w * l * l;
  }
  float scale = suml2 ? sumlx / suml2 : 0.0f;
  if (return_early) return suml2 > 0 ? 0.5f * (scale + 1 / iscale) : 1 / iscale;
  float best = scale * sumlx;
  for (int is = -9; is <= 9; ++is) {
    if (is == 0) continue;
    iscale = -(nmax + 0.1f * is) / max;
    sumlx = suml2 = 0;
    for (int i = 0; i < n; ++i) {
      int l = nearest_int(iscale * x[i]);
      l = std::max(-nmax, std::min(nmax - 1, l));
      float w = weight(i);
      sumlx += w * x[i] * l;
      suml2 += w * l * l;
    }
    if (suml2 > 0 && sumlx * sumlx > best * suml2) {
      for (int i = 0; i < n; ++i) {
        int l = nearest_int(iscale * x[i]);
        L[i] = nmax + std::max(-nmax, std::min(nmax - 1, l));
      }
      scale = sumlx / suml2;
      best = scale * sumlx;
    }
  }
  return scale;
}

float make_q3_quants(int n, int nmax, const float* x, int8_t* L, bool do_rmse) {
  float max = 0;
  float amax = 0;
  for (int i = 0; i < n; ++i) {
    float ax = std::fabs(x[i]);
    if (ax > amax) {
      amax = ax;
      max = x[i];
    }
  }
  if (amax < kGroupMaxEps) {
    for (int i = 0; i < n; ++i) L[i] = 0;
    return 0.f;
  }
  float iscale = -nmax / max;
  if (do_rmse) {
    float sumlx = 0;
    float suml2 = 0;
    for (int i = 0; i < n; ++i) {
      int l = nearest_int(iscale * x[i]);
      l = std::max(-nmax, std::min(nmax - 1, l));
      L[i] = l;
      float w = x[i] * x[i];
      sumlx += w * x[i] * l;
      suml2 += w * l * l;
    }
    for (int itry = 0; itry < 5; ++itry) {
      int n_changed = 0;
      for (int i = 0; i < n; ++i) {
        float w = x[i] * x[i];
        float slx = sumlx - w * x[i] * L[i];
        if (slx > 0) {
          float sl2 = suml2 - w * L[i] * L[i];
          int new_l = nearest_int(x[i] * sl2 / slx);
          new_l = std::max(-nmax, std::min(nmax - 1, new_l));
          if (new_l != L[i]) {
            slx += w * x[i] * new_l;
            sl2 += w * new_l * new_l;
            if (sl2 > 0 && slx * slx * suml2 > sumlx * sumlx * sl2) {
              L[i] = new_l;
              sumlx = slx;
              suml2 = sl2;
              ++n_changed;
            }
          }
        }
      }
      if (!n_changed) break;
    }
    for (int i = 0; i < n; ++i) L[i] += nmax;
    return suml2 > 0.0f ? sumlx / suml2 : 0.0f;
  }
  for (int i = 0; i < n; ++i) {
    int l = nearest_int(iscale * x[i]);
    l = std::max(-nmax, std::min(nmax - 1, l));
    L[i] = l + nmax;
  }
  return 1 / iscale;
}

float make_qkx2_quants(int n, int nmax, const float* x, const float* weights, uint8_t* L, float* the_min,
                       uint8_t* Laux, float rmin, float rdelta, int nstep, bool use_mad) {
  float min = x[0];
  float max = x[0];
  float sum_w = weights[0];
  float sum_x = sum_w * x[0];
  for (int i = 1; i < n; ++i) {
    if (x[i] < min) min = x[i];
    if (x[i] > max) max = x[i];
    float w = weights[i];
    sum_w += w;
    sum_x += w * x[i];
  }
  if (min > 0) min = 0;
  if (max == min) {
    for (int i = 0; i < n; ++i) L[i] = 0;
    *the_min = -min;
    return 0.f;
  }
  float iscale = nmax / (max - min);
  float scale = 1 / iscale;
  float best_error = 0;
  for (int i = 0; i < n; ++i) {
    int l = nearest_int(iscale * (x[i] - min));
    L[i] = std::max(0, std::min(nmax, l));
    float diff = scale * L[i] + min - x[i];
    diff = use_mad ? std::fabs(diff) : diff * diff;
    float w = weights[i];
    best_error += w * diff;
  }
  if (nstep < 1) {
    *the_min = -min;
    return scale;
  }
  for (int is = 0; is <= nstep; ++is) {
    iscale = (rmin + rdelta * is + nmax) / (max - min);
    float sum_l = 0, sum_l2 = 0, sum_xl = 0;
    for (int i = 0; i < n; ++i) {
      int l = nearest_int(iscale * (x[i] - min));
      l = std::max(0, std::min(nmax, l));
      Laux[i] = l;
      float w = weights[i];
      sum_l += w * l;
      sum_l2 += w * l * l;
      sum_xl += w * l * x[i];
    }
    float D = sum_w * sum_l2 - sum_l * sum_l;
    if (D > 0) {
      float this_scale = (sum_w * sum_xl - sum_x * sum_l) / D;
      float this_min = (sum_l2 * sum_x - sum_l * sum_xl) / D;
      if (this_min > 0) {
        this_min = 0;
        this_scale = sum_xl / sum_l2;
      }
      float cur_error = 0;
      for (int i = 0; i < n; ++i) {
        float diff = this_scale * Laux[i] + this_min - x[i];
        diff = use_mad ? std::fabs(diff) : diff * diff;
        float w = weights[i];
        cur_error += w * diff;
      }
      if (cur_error < best_error) {
        for (int i = 0; i < n; ++i) L[i] = Laux[i];
        best_error = cur_error;
        scale = this_scale;
        min = this_min;
      }
    }
  }
  *the_min = -min;
  return scale;
}

// ---- 32-element blocks ----------------------------------------------------------------------------

void quantize_q4_0(const float* x, BlockQ4_0* y, int64_t k) {
  const int64_t nb = k / kQK;
  for (int64_t i = 0; i < nb; i++, x += kQK) {
    float amax = 0.0f, max = 0.0f;
    for (int j = 0; j < kQK; j++) {
      if (amax < std::fabs(x[j])) {
        amax = std::fabs(x[j]);
        max = x[j];
      }
    }
    const float d = max / -8;
    const float id = d ? 1.0f / d : 0.0f;
    y[i].d = to_f16(d);
    for (int j = 0; j < kQK / 2; ++j) {
      const float x0 = x[j] * id;
      const float x1 = x[kQK / 2 + j] * id;
      const uint8_t xi0 = (uint8_t)std::min(15, (int)(int8_t)(int)(x0 + 8.5f));
      const uint8_t xi1 = (uint8_t)std::min(15, (int)(int8_t)(int)(x1 + 8.5f));
      y[i].qs[j] = xi0 | (xi1 << 4);
    }
  }
}

void quantize_q4_1(const float* x, BlockQ4_1* y, int64_t k) {
  const int64_t nb = k / kQK;
  for (int64_t i = 0; i < nb; i++, x += kQK) {
    float min = 3.402823466e+38f, max = -3.402823466e+38f;
    for (int j = 0; j < kQK; j++) {
      if (x[j] < min) min = x[j];
      if (x[j] > max) max = x[j];
    }
    const float d = (max - min) / ((1 << 4) - 1);
    const float id = d ? 1.0f / d : 0.0f;
    y[i].d = to_f16(d);
    y[i].m = to_f16(min);
    for (int j = 0; j < kQK / 2; ++j) {
      const float x0 = (x[j] - min) * id;
      const float x1 = (x[kQK / 2 + j] - min) * id;
      const uint8_t xi0 = (uint8_t)std::min(15, (int)(int8_t)(int)(x0 + 0.5f));
      const uint8_t xi1 = (uint8_t)std::min(15, (int)(int8_t)(int)(x1 + 0.5f));
      y[i].qs[j] = xi0 | (xi1 << 4);
    }
  }
}

void quantize_q5_0(const float* x, BlockQ5_0* y, int64_t k) {
  const int64_t nb = k / kQK;
  for (int64_t i = 0; i < nb; i++, x += kQK) {
    float amax = 0.0f, max = 0.0f;
    for (int j = 0; j < kQK; j++) {
      if (amax < std::fabs(x[j])) {
        amax = std::fabs(x[j]);
        max = x[j];
      }
    }
    const float d = max / -16;
    const float id = d ? 1.0f / d : 0.0f;
    y[i].d = to_f16(d);
    uint32_t qh = 0;
    for (int j = 0; j < kQK / 2; ++j) {
      const float x0 = x[j] * id;
      const float x1 = x[kQK / 2 + j] * id;
      const uint8_t xi0 = (uint8_t)std::min(31, (int)(int8_t)(int)(x0 + 16.5f));
      const uint8_t xi1 = (uint8_t)std::min(31, (int)(int8_t)(int)(x1 + 16.5f));
      y[i].qs[j] = (xi0 & 0x0F) | ((xi1 & 0x0F) << 4);
      qh |= ((xi0 & 0x10u) >> 4) << (j + 0);
      qh |= ((xi1 & 0x10u) >> 4) << (j + kQK / 2);
    }
    std::memcpy(y[i].qh, &qh, sizeof(qh));
  }
}

void quantize_q5_1(const float* x, BlockQ5_1* y, int64_t k) {
  const int64_t nb = k / kQK;
  for (int64_t i = 0; i < nb; i++, x += kQK) {
    float min = 3.402823466e+38f, max = -3.402823466e+38f;
    for (int j = 0; j < kQK; j++) {
      if (x[j] < min) min = x[j];
      if (x[j] > max) max = x[j];
    }
    const float d = (max - min) / ((1 << 5) - 1);
    const float id = d ? 1.0f / d : 0.0f;
    y[i].d = to_f16(d);
    y[i].m = to_f16(min);
    uint32_t qh = 0;
    for (int j = 0; j < kQK / 2; ++j) {
      const float x0 = (x[j] - min) * id;
      const float x1 = (x[kQK / 2 + j] - min) * id;
      const uint8_t xi0 = (uint8_t)(int)(x0 + 0.5f);
      const uint8_t xi1 = (uint8_t)(int)(x1 + 0.5f);
      y[i].qs[j] = (xi0 & 0x0F) | ((xi1 & 0x0F) << 4);
      qh |= ((xi0 & 0x10u) >> 4) << (j + 0);
      qh |= ((xi1 & 0x10u) >> 4) << (j + kQK / 2);
    }
    std::memcpy(y[i].qh, &qh, sizeof(qh));
  }
}

void quantize_q8_0(const float* x, BlockQ8_0* y, int64_t k) {
  const int64_t nb = k / kQK;
  for (int64_t i = 0; i < nb; i++, x += kQK) {
    float amax = 0.0f;
    for (int j = 0; j < kQK; j++) amax = std::max(amax, std::fabs(x[j]));
    const float d = amax / ((1 << 7) - 1);
    const float id = d ? 1.0f / d : 0.0f;
    y[i].d = to_f16(d);
    for (int j = 0; j < kQK; ++j) y[i].qs[j] = (int8_t)std::round(x[j] * id);
  }
}

void quantize_q8_1(const float* x, BlockQ8_1* y, int64_t k) {
  const int64_t nb = k / kQK;
  for (int64_t i = 0; i < nb; i++, x += kQK) {
    float amax = 0.0f;
    for (int j = 0; j < kQK; j++) amax = std::max(amax, std::fabs(x[j]));
    const float d = amax / ((1 << 7) - 1);
    const float id = d ? 1.0f / d : 0.0f;
    y[i].d = to_f16(d);
    int sum = 0;
    for (int j = 0; j < kQK / 2; ++j) {
      y[i].qs[j] = (int8_t)std::round(x[j] * id);
      y[i].qs[kQK / 2 + j] = (int8_t)std::round(x[kQK / 2 + j] * id);
      sum += y[i].qs[j] + y[i].qs[kQK / 2 + j];
    }
    y[i].s = to_f16(sum * d);
  }
}

void dequantize_q4_0(const BlockQ4_0* x, float* y, int64_t k) {
  for (int64_t i = 0; i < k / kQK; i++, y += kQK) {
    const float d = f16(x[i].d);
    for (int j = 0; j < kQK / 2; ++j) {
      y[j] = ((x[i].qs[j] & 0x0F) - 8) * d;
      y[j + kQK / 2] = ((x[i].qs[j] >> 4) - 8) * d;
    }
  }
}

void dequantize_q4_1(const BlockQ4_1* x, float* y, int64_t k) {
  for (int64_t i = 0; i < k / kQK; i++, y += kQK) {
    const float d = f16(x[i].d), m = f16(x[i].m);
    for (int j = 0; j < kQK / 2; ++j) {
      y[j] = (x[i].qs[j] & 0x0F) * d + m;
      y[j + kQK / 2] = (x[i].qs[j] >> 4) * d + m;
    }
  }
}

void dequantize_q5_0(const BlockQ5_0* x, float* y, int64_t k) {
  for (int64_t i = 0; i < k / kQK; i++, y += kQK) {
    const float d = f16(x[i].d);
    uint32_t qh;
    std::memcpy(&qh, x[i].qh, sizeof(qh));
    for (int j = 0; j < kQK / 2; ++j) {
      const uint8_t xh_0 = ((qh >> (j + 0)) << 4) & 0x10;
      const uint8_t xh_1 = ((qh >> (j + 12))) & 0x10;
      y[j] = (((x[i].qs[j] & 0x0F) | xh_0) - 16) * d;
      y[j + kQK / 2] = (((x[i].qs[j] >> 4) | xh_1) - 16) * d;
    }
  }
}

void dequantize_q5_1(const BlockQ5_1* x, float* y, int64_t k) {
  for (int64_t i = 0; i < k / kQK; i++, y += kQK) {
    const float d = f16(x[i].d), m = f16(x[i].m);
    uint32_t qh;
    std::memcpy(&qh, x[i].qh, sizeof(qh));
    for (int j = 0; j < kQK / 2; ++j) {
      const uint8_t xh_0 = ((qh >> (j + 0)) << 4) & 0x10;
      const uint8_t xh_1 = ((qh >> (j + 12))) & 0x10;
      y[j] = ((x[i].qs[j] & 0x0F) | xh_0) * d + m;
      y[j + kQK / 2] = ((x[i].qs[j] >> 4) | xh_1) * d + m;
    }
  }
}

void dequantize_q8_0(const BlockQ8_0* x, float* y, int64_t k) {
  for (int64_t i = 0; i < k / kQK; i++, y += kQK) {
    const float d = f16(x[i].d);
    for (int j = 0; j < kQK; ++j) y[j] = x[i].qs[j] * d;
  }
}

void dequantize_q8_1(const BlockQ8_1* x, float* y, int64_t k) {
  for (int64_t i = 0; i < k / kQK; i++, y += kQK) {
    const float d = f16(x[i].d);
    for (int j = 0; j < kQK; ++j) y[j] = x[i].qs[j] * d;
  }
}

// ---- k-quants (super-blocks of 256) -----------------------------------------------------------------

void quantize_q2_K(const float* x, BlockQ2_K* y, int64_t k) {
  const int64_t nb = k / kQKK;
  uint8_t L[kQKK];
  uint8_t Laux[16];
  float weights[16];
  float mins[kQKK / 16];
  float scales[kQKK / 16];
  const float q4scale = 15.f;
  for (int64_t i = 0; i < nb; i++, x += kQKK) {
    float max_scale = 0, max_min = 0;
    for (int j = 0; j < kQKK / 16; ++j) {
      for (int l = 0; l < 16; ++l) weights[l] = std::fabs(x[16 * j + l]);
      scales[j] = make_qkx2_quants(16, 3, x + 16 * j, weights, L + 16 * j, &mins[j], Laux, -0.5f, 0.1f, 15, true);
      if (scales[j] > max_scale) max_scale = scales[j];
      if (mins[j] > max_min) max_min = mins[j];
    }
    if (max_scale > 0) {
      float iscale = q4scale / max_scale;
      for (int j = 0; j < kQKK / 16; ++j) y[i].scales[j] = (uint8_t)nearest_int(iscale * scales[j]);
      y[i].d = to_f16(max_scale / q4scale);
    } else {
      for (int j = 0; j < kQKK / 16; ++j) y[i].scales[j] = 0;
      y[i].d = to_f16(0.f);
    }
    if (max_min > 0) {
      float iscale = q4scale / max_min;
      for (int j = 0; j < kQKK / 16; ++j) y[i].scales[j] |= (uint8_t)(nearest_int(iscale * mins[j]) << 4);
      y[i].dmin = to_f16(max_min / q4scale);
    } else {
      y[i].dmin = to_f16(0.f);
    }
    for (int j = 0; j < kQKK / 16; ++j) {
      const float d = f16(y[i].d) * (y[i].scales[j] & 0xF);
      if (!d) continue;
      const float dm = f16(y[i].dmin) * (y[i].scales[j] >> 4);
      for (int ii = 0; ii < 16; ++ii) {
        int l = nearest_int((x[16 * j + ii] + dm) / d);
        L[16 * j + ii] = (uint8_t)std::max(0, std::min(3, l));
      }
    }
    for (int j = 0; j < kQKK; j += 128) {
      for (int l = 0; l < 32; ++l) {
        y[i].qs[j / 4 + l] = L[j + l] | (L[j + l + 32] << 2) | (L[j + l + 64] << 4) | (L[j + l + 96] << 6);
      }
    }
  }
}

void dequantize_q2_K(const BlockQ2_K* x, float* y, int64_t k) {
  for (int64_t i = 0; i < k / kQKK; i++) {
    const float d = f16(x[i].d), min = f16(x[i].dmin);
    const uint8_t* q = x[i].qs;
    int is = 0;
    for (int n = 0; n < kQKK; n += 128) {
      int shift = 0;
      for (int j = 0; j < 4; ++j) {
        uint8_t sc = x[i].scales[is++];
        float dl = d * (sc & 0xF), ml = min * (sc >> 4);
        for (int l = 0; l < 16; ++l) *y++ = dl * ((int8_t)((q[l] >> shift) & 3)) - ml;
        sc = x[i].scales[is++];
        dl = d * (sc & 0xF);
        ml = min * (sc >> 4);
        for (int l = 0; l < 16; ++l) *y++ = dl * ((int8_t)((q[l + 16] >> shift) & 3)) - ml;
        shift += 2;
      }
      q += 32;
    }
  }
}

void quantize_q3_K(const float* x, BlockQ3_K* y, int64_t k) {
  const int64_t nb = k / kQKK;
  int8_t L[kQKK];
  float scales[kQKK / 16];
  for (int64_t i = 0; i < nb; i++, x += kQKK) {
    float max_scale = 0, amax = 0;
    for (int j = 0; j < kQKK / 16; ++j) {
      scales[j] = make_q3_quants(16, 4, x + 16 * j, L + 16 * j, true);
      float scale = std::fabs(scales[j]);
      if (scale > amax) {
        amax = scale;
        max_scale = scales[j];
      }
    }
    std::memset(y[i].scales, 0, 12);
    if (max_scale) {
      float iscale = -32.f / max_scale;
      for (int j = 0; j < kQKK / 16; ++j) {
        int8_t l = (int8_t)nearest_int(iscale * scales[j]);
        l = (int8_t)(std::max(-32, std::min(31, (int)l)) + 32);
        if (j < 8) {
          y[i].scales[j] = l & 0xF;
        } else {
          y[i].scales[j - 8] |= ((l & 0xF) << 4);
        }
        l >>= 4;
        y[i].scales[j % 4 + 8] |= (l << (2 * (j / 4)));
      }
      y[i].d = to_f16(1 / iscale);
    } else {
      y[i].d = to_f16(0.f);
    }
    for (int j = 0; j < kQKK / 16; ++j) {
      int8_t sc = j < 8 ? y[i].scales[j] & 0xF : y[i].scales[j - 8] >> 4;
      sc = (int8_t)((sc | (((y[i].scales[8 + j % 4] >> (2 * (j / 4))) & 3) << 4)) - 32);
      float d = f16(y[i].d) * sc;
      if (!d) continue;
      for (int ii = 0; ii < 16; ++ii) {
        int l = nearest_int(x[16 * j + ii] / d);
        L[16 * j + ii] = (int8_t)(std::max(-4, std::min(3, l)) + 4);
      }
    }
    std::memset(y[i].hmask, 0, kQKK / 8);
    int m = 0;
    uint8_t hm = 1;
    for (int j = 0; j < kQKK; ++j) {
      if (L[j] > 3) {
        y[i].hmask[m] |= hm;
        L[j] -= 4;
      }
      if (++m == kQKK / 8) {
        m = 0;
        hm <<= 1;
      }
    }
    for (int j = 0; j < kQKK; j += 128) {
      for (int l = 0; l < 32; ++l) {
        y[i].qs[j / 4 + l] = L[j + l] | (L[j + l + 32] << 2) | (L[j + l + 64] << 4) | (L[j + l + 96] << 6);
      }
    }
  }
}

// The 16 signed 6-bit scales of a q3_K block (biased by 32 in storage).
void unpack_q3_K_scales(const uint8_t* packed, int8_t* scales) {
  const uint32_t kmask1 = 0x03030303, kmask2 = 0x0f0f0f0f;
  uint32_t aux[4];
  std::memcpy(aux, packed, 12);
  uint32_t tmp = aux[2];
  aux[2] = ((aux[0] >> 4) & kmask2) | (((tmp >> 4) & kmask1) << 4);
  aux[3] = ((aux[1] >> 4) & kmask2) | (((tmp >> 6) & kmask1) << 4);
  aux[0] = (aux[0] & kmask2) | (((tmp >> 0) & kmask1) << 4);
  aux[1] = (aux[1] & kmask2) | (((tmp >> 2) & kmask1) << 4);
  std::memcpy(scales, aux, 16);
  for (int j = 0; j < 16; ++j) scales[j] = (int8_t)(scales[j] - 32);
}

void dequantize_q3_K(const BlockQ3_K* x, float* y, int64_t k) {
  for (int64_t i = 0; i < k / kQKK; i++) {
    const float d_all = f16(x[i].d);
    const uint8_t* q = x[i].qs;
    const uint8_t* hm = x[i].hmask;
    uint8_t m = 1;
    int8_t scales[16];
    unpack_q3_K_scales(x[i].scales, scales);
    int is = 0;
    for (int n = 0; n < kQKK; n += 128) {
      int shift = 0;
      for (int j = 0; j < 4; ++j) {
        float dl = d_all * scales[is++];
        for (int l = 0; l < 16; ++l) *y++ = dl * ((int8_t)((q[l + 0] >> shift) & 3) - ((hm[l + 0] & m) ? 0 : 4));
        dl = d_all * scales[is++];
        for (int l = 0; l < 16; ++l) *y++ = dl * ((int8_t)((q[l + 16] >> shift) & 3) - ((hm[l + 16] & m) ? 0 : 4));
        shift += 2;
        m <<= 1;
      }
      q += 32;
    }
  }
}

// q4_K and q5_K share the scale/min search; nmax is 15 or 31.
template <int kNmax>
void quantize_k4_scales(const float* x, uint8_t* L, uint8_t* scales_out, uint16_t* d_out, uint16_t* dmin_out) {
  uint8_t Laux[32];
  float weights[32];
  float mins[kQKK / 32];
  float scales[kQKK / 32];
  float max_scale = 0, max_min = 0;
  for (int j = 0; j < kQKK / 32; ++j) {
    float sum_x2 = 0;
    for (int l = 0; l < 32; ++l) sum_x2 += x[32 * j + l] * x[32 * j + l];
    float av_x = std::sqrt(sum_x2 / 32);
    for (int l = 0; l < 32; ++l) weights[l] = av_x + std::fabs(x[32 * j + l]);
    if (kNmax == 15) {
      scales[j] = make_qkx2_quants(32, 15, x + 32 * j, weights, L + 32 * j, &mins[j], Laux, -1.f, 0.1f, 20, false);
    } else {
      scales[j] = make_qkx2_quants(32, 31, x + 32 * j, weights, L + 32 * j, &mins[j], Laux, -0.5f, 0.1f, 15, false);
    }
    if (scales[j] > max_scale) max_scale = scales[j];
    if (mins[j] > max_min) max_min = mins[j];
  }
  float inv_scale = max_scale > 0 ? 63.f / max_scale : 0.f;
  float inv_min = max_min > 0 ? 63.f / max_min : 0.f;
  for (int j = 0; j < kQKK / 32; ++j) {
    uint8_t ls = (uint8_t)nearest_int(inv_scale * scales[j]);
    uint8_t lm = (uint8_t)nearest_int(inv_min * mins[j]);
    ls = std::min<uint8_t>(63, ls);
    lm = std::min<uint8_t>(63, lm);
    if (j < 4) {
      scales_out[j] = ls;
      scales_out[j + 4] = lm;
    } else {
      scales_out[j + 4] = (ls & 0xF) | ((lm & 0xF) << 4);
      scales_out[j - 4] |= ((ls >> 4) << 6);
      scales_out[j - 0] |= ((lm >> 4) << 6);
    }
  }
  *d_out = to_f16(max_scale / 63.f);
  *dmin_out = to_f16(max_min / 63.f);
  uint8_t sc, m;
  for (int j = 0; j < kQKK / 32; ++j) {
    scale_min_k4(j, scales_out, &sc, &m);
    const float d = f16(*d_out) * sc;
    if (!d) continue;
    const float dm = f16(*dmin_out) * m;
    for (int ii = 0; ii < 32; ++ii) {
      int l = nearest_int((x[32 * j + ii] + dm) / d);
      L[32 * j + ii] = (uint8_t)std::max(0, std::min(kNmax, l));
    }
  }
}

void quantize_q4_K(const float* x, BlockQ4_K* y, int64_t k) {
  uint8_t L[kQKK];
  for (int64_t i = 0; i < k / kQKK; i++, x += kQKK) {
    quantize_k4_scales<15>(x, L, y[i].scales, &y[i].d, &y[i].dmin);
    uint8_t* q = y[i].qs;
    for (int j = 0; j < kQKK; j += 64) {
      for (int l = 0; l < 32; ++l) q[l] = L[j + l] | (L[j + l + 32] << 4);
      q += 32;
    }
  }
}

void dequantize_q4_K(const BlockQ4_K* x, float* y, int64_t k) {
  for (int64_t i = 0; i < k / kQKK; i++) {
    const uint8_t* q = x[i].qs;
    const float d = f16(x[i].d), min = f16(x[i].dmin);
    int is = 0;
    uint8_t sc, m;
    for (int j = 0; j < kQKK; j += 64) {
      scale_min_k4(is + 0, x[i].scales, &sc, &m);
      const float d1 = d * sc, m1 = min * m;
      scale_min_k4(is + 1, x[i].scales, &sc, &m);
      const float d2 = d * sc, m2 = min * m;
      for (int l = 0; l < 32; ++l) *y++ = d1 * (q[l] & 0xF) - m1;
      for (int l = 0; l < 32; ++l) *y++ = d2 * (q[l] >> 4) - m2;
      q += 32;
      is += 2;
    }
  }
}

void quantize_q5_K(const float* x, BlockQ5_K* y, int64_t k) {
  uint8_t L[kQKK];
  for (int64_t i = 0; i < k / kQKK; i++, x += kQKK) {
    quantize_k4_scales<31>(x, L, y[i].scales, &y[i].d, &y[i].dmin);
    uint8_t* qh = y[i].qh;
    uint8_t* ql = y[i].qs;
    std::memset(qh, 0, kQKK / 8);
    uint8_t m1 = 1, m2 = 2;
    for (int n = 0; n < kQKK; n += 64) {
      for (int j = 0; j < 32; ++j) {
        int l1 = L[n + j];
        if (l1 > 15) {
          l1 -= 16;
          qh[j] |= m1;
        }
        int l2 = L[n + j + 32];
        if (l2 > 15) {
          l2 -= 16;
          qh[j] |= m2;
        }
        ql[j] = (uint8_t)(l1 | (l2 << 4));
      }
      m1 <<= 2;
      m2 <<= 2;
      ql += 32;
    }
  }
}

void dequantize_q5_K(const BlockQ5_K* x, float* y, int64_t k) {
  for (int64_t i = 0; i < k / kQKK; i++) {
    const uint8_t* ql = x[i].qs;
    const uint8_t* qh = x[i].qh;
    const float d = f16(x[i].d), min = f16(x[i].dmin);
    int is = 0;
    uint8_t sc, m;
    uint8_t u1 = 1, u2 = 2;
    for (int j = 0; j < kQKK; j += 64) {
      scale_min_k4(is + 0, x[i].scales, &sc, &m);
      const float d1 = d * sc, m1 = min * m;
      scale_min_k4(is + 1, x[i].scales, &sc, &m);
      const float d2 = d * sc, m2 = min * m;
      for (int l = 0; l < 32; ++l) *y++ = d1 * ((ql[l] & 0xF) + (qh[l] & u1 ? 16 : 0)) - m1;
      for (int l = 0; l < 32; ++l) *y++ = d2 * ((ql[l] >> 4) + (qh[l] & u2 ? 16 : 0)) - m2;
      ql += 32;
      is += 2;
      u1 <<= 2;
      u2 <<= 2;
    }
  }
}

void quantize_q6_K(const float* x, BlockQ6_K* y, int64_t k) {
  int8_t L[kQKK];
  float scales[kQKK / 16];
  for (int64_t i = 0; i < k / kQKK; i++, x += kQKK) {
    float max_scale = 0, max_abs_scale = 0;
    for (int ib = 0; ib < kQKK / 16; ++ib) {
      const float scale = make_qx_quants(16, 32, x + 16 * ib, L + 16 * ib, 1, nullptr);
      scales[ib] = scale;
      const float abs_scale = std::fabs(scale);
      if (abs_scale > max_abs_scale) {
        max_abs_scale = abs_scale;
        max_scale = scale;
      }
    }
    if (max_abs_scale < kGroupMaxEps) {
      std::memset(&y[i], 0, sizeof(BlockQ6_K));
      y[i].d = to_f16(0.f);
      continue;
    }
    float iscale = -128.f / max_scale;
    y[i].d = to_f16(1 / iscale);
    for (int ib = 0; ib < kQKK / 16; ++ib) y[i].scales[ib] = (int8_t)std::min(127, nearest_int(iscale * scales[ib]));
    for (int j = 0; j < kQKK / 16; ++j) {
      float d = f16(y[i].d) * y[i].scales[j];
      if (!d) continue;
      for (int ii = 0; ii < 16; ++ii) {
        int l = nearest_int(x[16 * j + ii] / d);
        L[16 * j + ii] = (int8_t)(std::max(-32, std::min(31, l)) + 32);
      }
    }
    uint8_t* ql = y[i].ql;
    uint8_t* qh = y[i].qh;
    for (int j = 0; j < kQKK; j += 128) {
      for (int l = 0; l < 32; ++l) {
        const uint8_t q1 = L[j + l + 0] & 0xF;
        const uint8_t q2 = L[j + l + 32] & 0xF;
        const uint8_t q3 = L[j + l + 64] & 0xF;
        const uint8_t q4 = L[j + l + 96] & 0xF;
        ql[l + 0] = q1 | (q3 << 4);
        ql[l + 32] = q2 | (q4 << 4);
        qh[l] = (L[j + l] >> 4) | ((L[j + l + 32] >> 4) << 2) | ((L[j + l + 64] >> 4) << 4) | ((L[j + l + 96] >> 4) << 6);
      }
      ql += 64;
      qh += 32;
    }
  }
}

void dequantize_q6_K(const BlockQ6_K* x, float* y, int64_t k) {
  for (int64_t i = 0; i < k / kQKK; i++) {
    const float d = f16(x[i].d);
    const uint8_t* ql = x[i].ql;
    const uint8_t* qh = x[i].qh;
    const int8_t* sc = x[i].scales;
    for (int n = 0; n < kQKK; n += 128) {
      for (int l = 0; l < 32; ++l) {
        int is = l / 16;
        const int8_t q1 = (int8_t)((ql[l + 0] & 0xF) | (((qh[l] >> 0) & 3) << 4)) - 32;
        const int8_t q2 = (int8_t)((ql[l + 32] & 0xF) | (((qh[l] >> 2) & 3) << 4)) - 32;
        const int8_t q3 = (int8_t)((ql[l + 0] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32;
        const int8_t q4 = (int8_t)((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32;
        y[l + 0] = d * sc[is + 0] * q1;
        y[l + 32] = d * sc[is + 2] * q2;
        y[l + 64] = d * sc[is + 4] * q3;
        y[l + 96] = d * sc[is + 6] * q4;
      }
      y += 128;
      ql += 64;
      qh += 32;
      sc += 8;
    }
  }
}

// Q8_K: the k-quants' activation type (llama.cpp's quantize_row_q8_K_ref); returns via callbacks
// so it serves both the on-disk block and the activation slab.
void quantize_q8_K_block(const float* x, float* d_out, int8_t* qs, int16_t* bsums) {
  float max = 0, amax = 0;
  for (int j = 0; j < kQKK; ++j) {
    float ax = std::fabs(x[j]);
    if (ax > amax) {
      amax = ax;
      max = x[j];
    }
  }
  if (!amax) {
    *d_out = 0;
    std::memset(qs, 0, kQKK);
    std::memset(bsums, 0, kQKK / 16 * sizeof(int16_t));
    return;
  }
  const float iscale = -127.f / max;
  for (int j = 0; j < kQKK; ++j) qs[j] = (int8_t)std::min(127, nearest_int(iscale * x[j]));
  for (int j = 0; j < kQKK / 16; ++j) {
    int sum = 0;
    for (int ii = 0; ii < 16; ++ii) sum += qs[j * 16 + ii];
    bsums[j] = (int16_t)sum;
  }
  *d_out = 1 / iscale;
}

void quantize_q8_K(const float* x, BlockQ8_K* y, int64_t k) {
  for (int64_t i = 0; i < k / kQKK; i++, x += kQKK) quantize_q8_K_block(x, &y[i].d, y[i].qs, y[i].bsums);
}

void dequantize_q8_K(const BlockQ8_K* x, float* y, int64_t k) {
  for (int64_t i = 0; i < k / kQKK; i++, y += kQKK) {
    for (int j = 0; j < kQKK; ++j) y[j] = x[i].d * x[i].qs[j];
  }
}

// ---- Reference dot products --------------------------------------------------------------------------

struct Act32View {
  const int8_t* qs;
  const float* d;
  const int32_t* sum;
  ActOrder order;
  int64_t nb;
  int x(int64_t b, int j) const { return qs[act_pos(order, nb, b, j)]; }
};

Act32View act32(const uint8_t* slab, const ActLayout& l, int64_t k) {
  return {reinterpret_cast<const int8_t*>(slab + l.off_qs), reinterpret_cast<const float*>(slab + l.off_d),
          reinterpret_cast<const int32_t*>(slab + l.off_sum), l.order, k / kQK};
}

float dot_q4_0(int64_t k, const BlockQ4_0* w, const Act32View& a) {
  float sumf = 0;
  for (int64_t b = 0; b < a.nb; ++b) {
    int sumi = 0;
    for (int j = 0; j < 16; ++j) {
      sumi += ((w[b].qs[j] & 0x0F) - 8) * a.x(b, j);
      sumi += ((w[b].qs[j] >> 4) - 8) * a.x(b, j + 16);
    }
    sumf += (f16(w[b].d) * a.d[b]) * (float)sumi;
  }
  return sumf;
}

float dot_q4_1(int64_t k, const BlockQ4_1* w, const Act32View& a) {
  float sumf = 0;
  for (int64_t b = 0; b < a.nb; ++b) {
    int sumi = 0;
    for (int j = 0; j < 16; ++j) {
      sumi += (w[b].qs[j] & 0x0F) * a.x(b, j);
      sumi += (w[b].qs[j] >> 4) * a.x(b, j + 16);
    }
    sumf += (f16(w[b].d) * a.d[b]) * (float)sumi + f16(w[b].m) * (a.d[b] * (float)a.sum[b]);
  }
  return sumf;
}

template <typename B>
int q5_value(const B& blk, int j) {  // 0..31
  uint32_t qh;
  std::memcpy(&qh, blk.qh, 4);
  int lo = j < 16 ? (blk.qs[j] & 0x0F) : (blk.qs[j - 16] >> 4);
  return lo | (((qh >> j) & 1) << 4);
}

float dot_q5_0(int64_t k, const BlockQ5_0* w, const Act32View& a) {
  float sumf = 0;
  for (int64_t b = 0; b < a.nb; ++b) {
    int sumi = 0;
    for (int j = 0; j < 32; ++j) sumi += (q5_value(w[b], j) - 16) * a.x(b, j);
    sumf += (f16(w[b].d) * a.d[b]) * (float)sumi;
  }
  return sumf;
}

float dot_q5_1(int64_t k, const BlockQ5_1* w, const Act32View& a) {
  float sumf = 0;
  for (int64_t b = 0; b < a.nb; ++b) {
    int sumi = 0;
    for (int j = 0; j < 32; ++j) sumi += q5_value(w[b], j) * a.x(b, j);
    sumf += (f16(w[b].d) * a.d[b]) * (float)sumi + f16(w[b].m) * (a.d[b] * (float)a.sum[b]);
  }
  return sumf;
}

float dot_q8_0(int64_t k, const BlockQ8_0* w, const Act32View& a) {
  float sumf = 0;
  for (int64_t b = 0; b < a.nb; ++b) {
    int sumi = 0;
    for (int j = 0; j < 32; ++j) sumi += w[b].qs[j] * a.x(b, j);
    sumf += (f16(w[b].d) * a.d[b]) * (float)sumi;
  }
  return sumf;
}

struct ActKView {
  const int8_t* qs;
  const float* d;
  const int16_t* bsums;
};

ActKView actk(const uint8_t* slab, const ActLayout& l) {
  return {reinterpret_cast<const int8_t*>(slab + l.off_qs), reinterpret_cast<const float*>(slab + l.off_d),
          reinterpret_cast<const int16_t*>(slab + l.off_bsums)};
}

float dot_q2_K(int64_t k, const BlockQ2_K* w, const ActKView& a) {
  float sumf = 0;
  for (int64_t i = 0; i < k / kQKK; ++i) {
    const int8_t* q8 = a.qs + i * kQKK;
    const int16_t* bs = a.bsums + i * 16;
    int summs = 0;
    for (int j = 0; j < 16; ++j) summs += bs[j] * (w[i].scales[j] >> 4);
    int isum = 0;
    const uint8_t* q2 = w[i].qs;
    int is = 0;
    for (int n = 0; n < 2; ++n, q2 += 32) {
      for (int shift = 0; shift < 8; shift += 2) {
        for (int half = 0; half < 2; ++half) {
          int s = 0;
          for (int l = 0; l < 16; ++l) s += q8[l] * ((q2[16 * half + l] >> shift) & 3);
          isum += (w[i].scales[is++] & 0xF) * s;
          q8 += 16;
        }
      }
    }
    const float dx = a.d[i];
    sumf += (dx * f16(w[i].d)) * (float)isum - (dx * f16(w[i].dmin)) * (float)summs;
  }
  return sumf;
}

float dot_q3_K(int64_t k, const BlockQ3_K* w, const ActKView& a) {
  float sumf = 0;
  for (int64_t i = 0; i < k / kQKK; ++i) {
    const int8_t* q8 = a.qs + i * kQKK;
    int8_t scales[16];
    unpack_q3_K_scales(w[i].scales, scales);
    const uint8_t* q3 = w[i].qs;
    const uint8_t* hm = w[i].hmask;
    uint8_t m = 1;
    int isum = 0, is = 0;
    for (int n = 0; n < 2; ++n, q3 += 32) {
      for (int shift = 0; shift < 8; shift += 2, m <<= 1) {
        for (int half = 0; half < 2; ++half) {
          int s = 0;
          for (int l = 16 * half; l < 16 * half + 16; ++l) {
            s += q8[l - 16 * half] * (((q3[l] >> shift) & 3) - ((hm[l] & m) ? 0 : 4));
          }
          isum += scales[is++] * s;
          q8 += 16;
        }
      }
    }
    sumf += (a.d[i] * f16(w[i].d)) * (float)isum;
  }
  return sumf;
}

template <bool kFive, typename B>
float dot_k4(int64_t k, const B* w, const ActKView& a) {
  float sumf = 0;
  for (int64_t i = 0; i < k / kQKK; ++i) {
    const int8_t* q8 = a.qs + i * kQKK;
    const int16_t* bs = a.bsums + i * 16;
    int sumi = 0, summ = 0;
    for (int j = 0; j < 8; ++j) {
      uint8_t sc, m;
      scale_min_k4(j, w[i].scales, &sc, &m);
      const uint8_t* q = w[i].qs + 32 * (j / 2);
      const int shift = (j & 1) * 4;
      int s = 0;
      for (int l = 0; l < 32; ++l) {
        int v = (q[l] >> shift) & 0xF;
        if constexpr (kFive) {
          v |= ((w[i].qh[l] >> j) & 1) << 4;
        }
        s += v * q8[32 * j + l];
      }
      sumi += sc * s;
      summ += m * (bs[2 * j] + bs[2 * j + 1]);
    }
    const float dx = a.d[i];
    sumf += (f16(w[i].d) * dx) * (float)sumi - (f16(w[i].dmin) * dx) * (float)summ;
  }
  return sumf;
}

float dot_q6_K(int64_t k, const BlockQ6_K* w, const ActKView& a) {
  float sumf = 0;
  for (int64_t i = 0; i < k / kQKK; ++i) {
    const int8_t* q8 = a.qs + i * kQKK;
    int q[kQKK];
    const uint8_t* ql = w[i].ql;
    const uint8_t* qh = w[i].qh;
    for (int n = 0; n < kQKK; n += 128, ql += 64, qh += 32) {
      for (int l = 0; l < 32; ++l) {
        q[n + l + 0] = ((ql[l + 0] & 0xF) | (((qh[l] >> 0) & 3) << 4)) - 32;
        q[n + l + 32] = ((ql[l + 32] & 0xF) | (((qh[l] >> 2) & 3) << 4)) - 32;
        q[n + l + 64] = ((ql[l + 0] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32;
        q[n + l + 96] = ((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32;
      }
    }
    int sumi = 0;
    for (int g = 0; g < 16; ++g) {
      int s = 0;
      for (int l = 0; l < 16; ++l) s += q[16 * g + l] * q8[16 * g + l];
      sumi += w[i].scales[g] * s;
    }
    sumf += (f16(w[i].d) * a.d[i]) * (float)sumi;
  }
  return sumf;
}

template <typename F>
float dot_float(int64_t k, const void* w, const float* x, F to_float) {
  float sum = 0;
  for (int64_t i = 0; i < k; ++i) sum += to_float(w, i) * x[i];
  return sum;
}

}  // namespace

// ---- Activations -------------------------------------------------------------------------------------

ActKind act_kind(uint32_t wtype) {
  switch (static_cast<GgmlType>(wtype)) {
    case GgmlType::kF32:
    case GgmlType::kBF16:
      return ActKind::kF32;
    case GgmlType::kF16:
      return ActKind::kF16;
    case GgmlType::kQ4_0:
    case GgmlType::kQ4_1:
    case GgmlType::kQ5_0:
    case GgmlType::kQ5_1:
    case GgmlType::kQ8_0:
      return ActKind::kQ8_32;
    case GgmlType::kQ2_K:
    case GgmlType::kQ3_K:
    case GgmlType::kQ4_K:
    case GgmlType::kQ5_K:
    case GgmlType::kQ6_K:
      return ActKind::kQ8_K;
    default:
      return ActKind::kNone;
  }
}

ActLayout act_layout(uint32_t wtype, int64_t k, ActOrder order, int lanes) {
  ActLayout l;
  l.kind = act_kind(wtype);
  auto up = [](int64_t v) { return (v + 63) / 64 * 64; };
  int64_t at = 0;
  auto place = [&](int64_t bytes) {
    int64_t off = at;
    at += up(bytes);
    return off;
  };
  if (l.kind == ActKind::kQ8_32) {
    const int64_t nb = k / kQK;
    l.order = order;
    l.lanes = lanes > 0 ? lanes : 1;
    l.off_qs = place(k);
    l.off_d = place(nb * 4);
    l.off_sum = place(nb * 4);
    l.off_bias = place(nb * 4);
    l.off_msum = place(nb * 4);
  } else if (l.kind == ActKind::kQ8_K) {
    const int64_t nb = k / kQKK;
    l.off_qs = place(k);
    l.off_d = place(nb * 4);
    l.off_bsums = place(k / 16 * 2);
  } else if (l.kind == ActKind::kF16) {
    place(k * 2);
  } else if (l.kind == ActKind::kF32) {
    at = k * 4;  // the row itself, no slab
  }
  l.stride = at;
  return l;
}

namespace {

int bias_offset(uint32_t wtype) {
  switch (static_cast<GgmlType>(wtype)) {
    case GgmlType::kQ4_0: return 8;
    case GgmlType::kQ5_0: return 16;
    case GgmlType::kQ8_0: return 128;
    default: return 0;
  }
}

void finish_block32(const ActLayout& l, int off, int64_t b, int32_t s, const float* d, int32_t* sum,
                    int32_t* bias, float* msum) {
  sum[b] = s;
  bias[b] = -off * s / l.lanes;  // off is a multiple of every lane count used (1, 2, 4, 8)
  msum[b] = d[b] * (float)s / (float)l.lanes;
}

}  // namespace

void finish_acts(uint32_t wtype, const ActLayout& l, int64_t k, uint8_t* slab) {
  if (l.kind == ActKind::kQ8_32) {
    const int64_t nb = k / kQK;
    const int8_t* qs = reinterpret_cast<const int8_t*>(slab + l.off_qs);
    const float* d = reinterpret_cast<const float*>(slab + l.off_d);
    int32_t* sum = reinterpret_cast<int32_t*>(slab + l.off_sum);
    int32_t* bias = reinterpret_cast<int32_t*>(slab + l.off_bias);
    float* msum = reinterpret_cast<float*>(slab + l.off_msum);
    const int off = bias_offset(wtype);
    for (int64_t b = 0; b < nb; ++b) {
      int32_t s = 0;
      for (int j = 0; j < kQK; ++j) s += qs[act_pos(l.order, nb, b, j)];
      finish_block32(l, off, b, s, d, sum, bias, msum);
    }
  } else if (l.kind == ActKind::kQ8_K) {
    const int8_t* qs = reinterpret_cast<const int8_t*>(slab + l.off_qs);
    int16_t* bsums = reinterpret_cast<int16_t*>(slab + l.off_bsums);
    for (int64_t g = 0; g < k / 16; ++g) {
      int s = 0;
      for (int j = 0; j < 16; ++j) s += qs[16 * g + j];
      bsums[g] = (int16_t)s;
    }
  }
}

void quantize_acts(uint32_t wtype, const ActLayout& l, const float* x, int64_t k, uint8_t* slab) {
  if (l.kind == ActKind::kF16) {
    uint16_t* h = reinterpret_cast<uint16_t*>(slab + l.off_qs);
    for (int64_t i = 0; i < k; ++i) h[i] = to_f16(x[i]);
  } else if (l.kind == ActKind::kQ8_32) {
    const int64_t nb = k / kQK;
    int8_t* qs = reinterpret_cast<int8_t*>(slab + l.off_qs);
    float* d = reinterpret_cast<float*>(slab + l.off_d);
    int32_t* sum = reinterpret_cast<int32_t*>(slab + l.off_sum);
    int32_t* bias = reinterpret_cast<int32_t*>(slab + l.off_bias);
    float* msum = reinterpret_cast<float*>(slab + l.off_msum);
    const int off = bias_offset(wtype);
    for (int64_t b = 0; b < nb; ++b) {
      const float* xb = x + b * kQK;
      // llama.cpp's x86 quantize_row_q8_0 (AVX2/AVX-512), which its matrix products use on x86:
      // x * (127 / amax) rounded half to even; the scale stored as f16(amax / 127).
      float amax = 0.0f;
      for (int j = 0; j < kQK; j++) amax = std::max(amax, std::fabs(xb[j]));
      const float id = amax != 0.0f ? 127.f / amax : 0.0f;
      d[b] = f16(to_f16(amax / 127.f));
      int8_t v[kQK];
      int32_t s = 0;
      for (int j = 0; j < kQK; ++j) {
        v[j] = (int8_t)nearest_int(xb[j] * id);
        s += v[j];
      }
      if (l.order == ActOrder::kNatural || (b | 3) >= nb) {
        std::memcpy(qs + kQK * b, v, kQK);
      } else if (l.order == ActOrder::kInter4) {
        int8_t* g = qs + 128 * (b >> 2) + 4 * (b & 3);
        for (int u = 0; u < 8; ++u) std::memcpy(g + 16 * u, v + 4 * u, 4);
      } else {
        int8_t* g = qs + 128 * (b >> 2) + 16 * (b & 3);
        std::memcpy(g, v, 16);
        std::memcpy(g + 64, v + 16, 16);
      }
      finish_block32(l, off, b, s, d, sum, bias, msum);
    }
  } else if (l.kind == ActKind::kQ8_K) {
    int8_t* qs = reinterpret_cast<int8_t*>(slab + l.off_qs);
    float* d = reinterpret_cast<float*>(slab + l.off_d);
    int16_t* bsums = reinterpret_cast<int16_t*>(slab + l.off_bsums);
    for (int64_t i = 0; i < k / kQKK; ++i) {
      quantize_q8_K_block(x + i * kQKK, d + i, qs + i * kQKK, bsums + i * 16);
    }
  }
}

float dot_ref(uint32_t wtype, int64_t k, const void* w, const uint8_t* act, const ActLayout& l) {
  switch (static_cast<GgmlType>(wtype)) {
    case GgmlType::kF32:
      return dot_float(k, w, reinterpret_cast<const float*>(act),
                       [](const void* p, int64_t i) { return static_cast<const float*>(p)[i]; });
    case GgmlType::kF16: {  // f16 activations (kF16)
      const uint16_t* x = reinterpret_cast<const uint16_t*>(act + l.off_qs);
      float sum = 0;
      for (int64_t i = 0; i < k; ++i) sum += half_to_float(static_cast<const uint16_t*>(w)[i]) * half_to_float(x[i]);
      return sum;
    }
    case GgmlType::kBF16:
      return dot_float(k, w, reinterpret_cast<const float*>(act),
                       [](const void* p, int64_t i) { return bf16_to_float(static_cast<const uint16_t*>(p)[i]); });
    case GgmlType::kQ4_0: return dot_q4_0(k, static_cast<const BlockQ4_0*>(w), act32(act, l, k));
    case GgmlType::kQ4_1: return dot_q4_1(k, static_cast<const BlockQ4_1*>(w), act32(act, l, k));
    case GgmlType::kQ5_0: return dot_q5_0(k, static_cast<const BlockQ5_0*>(w), act32(act, l, k));
    case GgmlType::kQ5_1: return dot_q5_1(k, static_cast<const BlockQ5_1*>(w), act32(act, l, k));
    case GgmlType::kQ8_0: return dot_q8_0(k, static_cast<const BlockQ8_0*>(w), act32(act, l, k));
    case GgmlType::kQ2_K: return dot_q2_K(k, static_cast<const BlockQ2_K*>(w), actk(act, l));
    case GgmlType::kQ3_K: return dot_q3_K(k, static_cast<const BlockQ3_K*>(w), actk(act, l));
    case GgmlType::kQ4_K: return dot_k4<false>(k, static_cast<const BlockQ4_K*>(w), actk(act, l));
    case GgmlType::kQ5_K: return dot_k4<true>(k, static_cast<const BlockQ5_K*>(w), actk(act, l));
    case GgmlType::kQ6_K: return dot_q6_K(k, static_cast<const BlockQ6_K*>(w), actk(act, l));
    default: return 0.0f;
  }
}

namespace {

template <uint32_t kType>
void tile_ref_t(int64_t k, const void* w, const Acts& acts, int nt, float* y, int64_t y_stride) {
  for (int t = 0; t < nt; ++t) y[t * y_stride] = dot_ref(kType, k, w, acts.base + t * acts.stride, *acts.layout);
}

constexpr KernelTable kRefTable = [] {
  KernelTable t{"reference", {}, {}, {}};
  t.tile[0] = tile_ref_t<0>;
  t.tile[1] = tile_ref_t<1>;
  t.tile[2] = tile_ref_t<2>;
  t.tile[3] = tile_ref_t<3>;
  t.tile[6] = tile_ref_t<6>;
  t.tile[7] = tile_ref_t<7>;
  t.tile[8] = tile_ref_t<8>;
  t.tile[10] = tile_ref_t<10>;
  t.tile[11] = tile_ref_t<11>;
  t.tile[12] = tile_ref_t<12>;
  t.tile[13] = tile_ref_t<13>;
  t.tile[14] = tile_ref_t<14>;
  t.tile[30] = tile_ref_t<30>;
  return t;
}();

}  // namespace

const KernelTable& ref_kernels() { return kRefTable; }

}  // namespace ggml

// ---- Public row conversion -----------------------------------------------------------------------------

using namespace ggml;

bool ggml_type_supported(uint32_t type) { return type < 32 && ggml::ref_kernels().tile[type] != nullptr; }

void ggml_dequantize_row(uint32_t type, const void* src, float* dst, int64_t n) {
  const GgmlTypeInfo* info = ggml_type_info(type);
  if (!info || n <= 0) return;
  n -= n % info->block_size;  // whole blocks only (callers check; this keeps a bad n in bounds)
  switch (static_cast<GgmlType>(type)) {
    case GgmlType::kF32: std::memcpy(dst, src, n * sizeof(float)); break;
    case GgmlType::kF16:
      for (int64_t i = 0; i < n; ++i) dst[i] = half_to_float(static_cast<const uint16_t*>(src)[i]);
      break;
    case GgmlType::kBF16:
      for (int64_t i = 0; i < n; ++i) dst[i] = bf16_to_float(static_cast<const uint16_t*>(src)[i]);
      break;
    case GgmlType::kQ4_0: dequantize_q4_0(static_cast<const BlockQ4_0*>(src), dst, n); break;
    case GgmlType::kQ4_1: dequantize_q4_1(static_cast<const BlockQ4_1*>(src), dst, n); break;
    case GgmlType::kQ5_0: dequantize_q5_0(static_cast<const BlockQ5_0*>(src), dst, n); break;
    case GgmlType::kQ5_1: dequantize_q5_1(static_cast<const BlockQ5_1*>(src), dst, n); break;
    case GgmlType::kQ8_0: dequantize_q8_0(static_cast<const BlockQ8_0*>(src), dst, n); break;
    case GgmlType::kQ8_1: dequantize_q8_1(static_cast<const BlockQ8_1*>(src), dst, n); break;
    case GgmlType::kQ2_K: dequantize_q2_K(static_cast<const BlockQ2_K*>(src), dst, n); break;
    case GgmlType::kQ3_K: dequantize_q3_K(static_cast<const BlockQ3_K*>(src), dst, n); break;
    case GgmlType::kQ4_K: dequantize_q4_K(static_cast<const BlockQ4_K*>(src), dst, n); break;
    case GgmlType::kQ5_K: dequantize_q5_K(static_cast<const BlockQ5_K*>(src), dst, n); break;
    case GgmlType::kQ6_K: dequantize_q6_K(static_cast<const BlockQ6_K*>(src), dst, n); break;
    case GgmlType::kQ8_K: dequantize_q8_K(static_cast<const BlockQ8_K*>(src), dst, n); break;
    default: std::memset(dst, 0, n * sizeof(float)); break;
  }
}

namespace {

bool quantize_row(uint32_t type, const float* src, void* dst, int64_t n) {
  switch (static_cast<GgmlType>(type)) {
    case GgmlType::kF32: std::memcpy(dst, src, n * sizeof(float)); return true;
    case GgmlType::kF16:
      for (int64_t i = 0; i < n; ++i) static_cast<uint16_t*>(dst)[i] = float_to_half(src[i]);
      return true;
    case GgmlType::kBF16:
      for (int64_t i = 0; i < n; ++i) static_cast<uint16_t*>(dst)[i] = float_to_bf16(src[i]);
      return true;
    case GgmlType::kQ4_0: quantize_q4_0(src, static_cast<BlockQ4_0*>(dst), n); return true;
    case GgmlType::kQ4_1: quantize_q4_1(src, static_cast<BlockQ4_1*>(dst), n); return true;
    case GgmlType::kQ5_0: quantize_q5_0(src, static_cast<BlockQ5_0*>(dst), n); return true;
    case GgmlType::kQ5_1: quantize_q5_1(src, static_cast<BlockQ5_1*>(dst), n); return true;
    case GgmlType::kQ8_0: quantize_q8_0(src, static_cast<BlockQ8_0*>(dst), n); return true;
    case GgmlType::kQ8_1: quantize_q8_1(src, static_cast<BlockQ8_1*>(dst), n); return true;
    case GgmlType::kQ2_K: quantize_q2_K(src, static_cast<BlockQ2_K*>(dst), n); return true;
    case GgmlType::kQ3_K: quantize_q3_K(src, static_cast<BlockQ3_K*>(dst), n); return true;
    case GgmlType::kQ4_K: quantize_q4_K(src, static_cast<BlockQ4_K*>(dst), n); return true;
    case GgmlType::kQ5_K: quantize_q5_K(src, static_cast<BlockQ5_K*>(dst), n); return true;
    case GgmlType::kQ6_K: quantize_q6_K(src, static_cast<BlockQ6_K*>(dst), n); return true;
    case GgmlType::kQ8_K: quantize_q8_K(src, static_cast<BlockQ8_K*>(dst), n); return true;
    default: return false;
  }
}

bool can_quantize(uint32_t type) {
  switch (static_cast<GgmlType>(type)) {
    case GgmlType::kF32: case GgmlType::kF16: case GgmlType::kBF16: case GgmlType::kQ4_0: case GgmlType::kQ4_1:
    case GgmlType::kQ5_0: case GgmlType::kQ5_1: case GgmlType::kQ8_0: case GgmlType::kQ8_1: case GgmlType::kQ2_K:
    case GgmlType::kQ3_K: case GgmlType::kQ4_K: case GgmlType::kQ5_K: case GgmlType::kQ6_K: case GgmlType::kQ8_K:
      return true;
    default:
      return false;
  }
}

Status check_quantize_args(uint32_t type, int64_t rows, int64_t n) {
  const GgmlTypeInfo* info = ggml_type_info(type);
  std::string name = info ? info->name : "type " + std::to_string(type);
  if (!info || !can_quantize(type)) return unsupported("cannot quantize to GGML " + name);
  if (rows < 0 || n < 0) return invalid_argument("quantize to " + name + ": negative size");
  if (n % info->block_size != 0) {
    return invalid_argument("quantize to " + name + ": row length " + std::to_string(n) +
                            " is not a multiple of the block size " + std::to_string(info->block_size));
  }
  return ok_status();
}

}  // namespace

Status ggml_quantize_rows(uint32_t type, const float* src, void* dst, int64_t rows, int64_t n) {
  RETURN_IF_ERROR(check_quantize_args(type, rows, n));
  const int64_t row_bytes = ggml_row_bytes(type, n);
  for (int64_t r = 0; r < rows; ++r) quantize_row(type, src + r * n, static_cast<uint8_t*>(dst) + r * row_bytes, n);
  return ok_status();
}

Status ggml_quantize_rows(ThreadPool& pool, uint32_t type, const float* src, void* dst, int64_t rows, int64_t n) {
  RETURN_IF_ERROR(check_quantize_args(type, rows, n));
  const int64_t row_bytes = ggml_row_bytes(type, n);
  pool.parallel_for(rows, 1, [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) quantize_row(type, src + r * n, static_cast<uint8_t*>(dst) + r * row_bytes, n);
  });
  return ok_status();
}

}  // namespace edgeai::kernels
