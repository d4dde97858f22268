// Direct convolution for few input channels (conv_direct.h): the ISA's kernel chosen with the
// micro-kernel table, the portable instantiation, and the driver (phase planes, thread split).
#include "kernels/cpu/conv_direct.h"

#include <algorithm>
#include <cstring>

#include "kernels/cpu/conv_direct_impl.h"
#include "kernels/cpu/gemm.h"
#include "kernels/cpu/simd_portable.h"

namespace edgeai::kernels::cpu {

void f32_conv_direct_portable(const ConvDirectArgs& a) { ConvDirectImpl<VecPortable, 12>::run(a); }

namespace {

// Reads past the last position of a block: up to 6 vectors of 16 lanes plus a pitch row.
int64_t tail_slack(const UKernels& uk, int64_t wq) { return 8 * int64_t(uk.lanes) + wq; }

// Phase planes of one input channel: the window of g with one channel.
ConvGeom plane_geom(const ConvGeom& g) {
  ConvGeom pg = g;
  pg.c = 1;
  return pg;
}

}  // namespace

ConvDirect prepare_conv_direct(const UKernels& uk, const float* wd, int64_t m, int64_t c, int64_t kh, int64_t kw) {
  ConvDirect d;
  const int64_t k = c * kh * kw;
  if (c < 1 || m < 1) return d;
  if (c > kConvDirectMaxChannels && (k * m > kConvDirectMaxWeights || kh * kw == 1)) return d;
  d.w.resize(static_cast<size_t>(k * m));
  for (int64_t i = 0; i < m; ++i) {
    for (int64_t j = 0; j < k; ++j) d.w[j * m + i] = wd[i * k + j];
  }
  d.m = m;
  d.c = c;
  d.kh = kh;
  d.kw = kw;
  d.fn = uk.conv_direct;
  return d;
}

bool conv_direct_takes(const ConvDirect& d, const UKernels& uk, const ConvGeom& g, int64_t n_img, int64_t cap) {
  const int64_t out_sp = g.oh * g.ow;
  if (d.c > kConvDirectMaxChannels ? out_sp > kConvDirectSmallPlane : d.m > 16 && out_sp > 1024) return false;
  int64_t wq, hq, psize;
  uk.phase_geometry(plane_geom(g), &wq, &hq, &psize);
  return n_img * g.c * g.sh * g.sw * psize + tail_slack(uk, wq) <= cap;
}

Status conv_direct(const ConvDirect& d, const UKernels& uk, ThreadPool& pool, const ConvGeom& g, const float* x,
                   int64_t n_img, const float* bias, const Activation& act, float* y) {
  const ConvGeom pg = plane_geom(g);
  int64_t wq, hq, psize;
  uk.phase_geometry(pg, &wq, &hq, &psize);
  const int64_t stride = g.sh * g.sw * psize, nplanes = n_img * d.c, in_sp = g.h * g.w;
  const int64_t slack = tail_slack(uk, wq);
  // Small models' planes (up to 16 KiB: LeNet's, the digits CNN's) on the stack, not the heap.
  alignas(64) float local[4096];
  AlignedFloats heap;
  float* pd = local;
  if (nplanes * stride + slack > 4096) {
    heap = AlignedFloats(nplanes * stride + slack);
    if (!heap.ok()) return out_of_memory(nplanes * stride + slack);
    pd = heap.data();
  }
  std::memset(pd + nplanes * stride, 0, sizeof(float) * static_cast<size_t>(slack));
  const int64_t taps = d.kh * d.kw;
  int64_t tap_off_small[64];
  std::vector<int64_t> tap_off_big;
  int64_t* tap_off = tap_off_small;
  if (taps > 64) {
    tap_off_big.resize(static_cast<size_t>(taps));
    tap_off = tap_off_big.data();
  }
  uk.phase_tap_offsets(pg, tap_off);

  ConvDirectArgs a;
  a.plane_stride = stride;
  a.c = d.c;
  a.taps = taps;
  a.tap_off = tap_off;
  a.wq = wq;
  a.oh = g.oh;
  a.ow = g.ow;
  // Narrow rows waste lanes: compute over the flattened planes when that takes fewer vectors
  // (a fifth more for the copy out).
  const int64_t lanes = uk.lanes;
  const int64_t row_vecs = g.oh * ((g.ow + lanes - 1) / lanes);
  const int64_t flat_vecs = ((g.oh - 1) * wq + g.ow + lanes - 1) / lanes;
  a.flat = flat_vecs * 6 < row_vecs * 5;
  a.w = d.w.data();
  a.m = d.m;
  a.bias = bias;
  a.act = act;

  // Work below 2^19 multiply-adds (~15 us at one thread; the GEMM's 1 MFLOP cutoff) runs on
  // the calling thread: splitting saves a few microseconds on a quiet machine and costs tens when
  // the second core is busy (digits CNN at 2 threads, load 12: 0.0855 ms split at 2^17, 0.0204
  // unsplit, 0.0203 at 1 thread).
  const int64_t out_sp = g.oh * g.ow;
  const bool split = pool.num_threads() > 1 && n_img * d.m * taps * d.c * out_sp >= (int64_t(1) << 19);
  if (!split) {
    uk.phase_planes(pg, x, nplanes, pd, stride);
  } else {
    pool.parallel_for(nplanes, 1, [&](int64_t b, int64_t e) {
      uk.phase_planes(pg, x + b * in_sp, e - b, pd + b * stride, stride);
    });
  }
  auto body = [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e;) {
      const int64_t n = i / g.oh, r0 = i % g.oh, r1 = std::min(g.oh, r0 + (e - i));
      ConvDirectArgs ai = a;
      ai.planes = pd + n * d.c * stride;
      ai.y = y + n * d.m * out_sp;
      ai.r0 = r0;
      ai.r1 = r1;
      d.fn(ai);
      i += r1 - r0;
    }
  };
  if (!split) body(0, n_img * g.oh);
  else pool.parallel_for(n_img * g.oh, 1, body);
  return ok_status();
}

}  // namespace edgeai::kernels::cpu
