#include "kernels/cpu/conv_winograd.h"

#include <algorithm>
#include <atomic>

namespace edgeai::kernels::cpu {
namespace {

int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }
int64_t round_up(int64_t a, int64_t b) { return ceil_div(a, b) * b; }

// The stride-2 4x4-window geometry whose phase planes hold the tiles' input patches.
ConvGeom tile_geometry(const ConvGeom& g) {
  ConvGeom t = g;
  t.c = 1;
  t.oh = ceil_div(g.oh, 2);
  t.ow = ceil_div(g.ow, 2);
  t.kh = t.kw = 4;
  t.sh = t.sw = 2;
  t.dh = t.dw = 1;
  return t;
}

constexpr int64_t kBlockBytes = 1 << 20;  // transformed input + products of one tile block

}  // namespace

std::vector<AlignedFloats> winograd_filters(const UKernels& uk, const float* w, int64_t m, int64_t c) {
  std::vector<float> u(static_cast<size_t>(16 * m * c));
  for (int64_t i = 0; i < m; ++i) {
    for (int64_t j = 0; j < c; ++j) {
      const float* g = w + (i * c + j) * 9;
      double t[4][3];  // G g
      for (int k = 0; k < 3; ++k) {
        t[0][k] = g[k];
        t[1][k] = 0.5 * (g[k] + g[3 + k] + g[6 + k]);
        t[2][k] = 0.5 * (g[k] - g[3 + k] + g[6 + k]);
        t[3][k] = g[6 + k];
      }
      for (int r = 0; r < 4; ++r) {  // (G g) G^T
        const double v[4] = {t[r][0], 0.5 * (t[r][0] + t[r][1] + t[r][2]), 0.5 * (t[r][0] - t[r][1] + t[r][2]),
                             t[r][2]};
        for (int s = 0; s < 4; ++s) u[((r * 4 + s) * m + i) * c + j] = static_cast<float>(v[s]);
      }
    }
  }
  std::vector<AlignedFloats> out;
  for (int xi = 0; xi < 16; ++xi) out.push_back(pack_a_once(uk, u.data() + xi * m * c, c, 1, m, c));
  return out;
}

bool winograd_pays(const UKernels& uk, const ConvGeom& g) {
  const ConvGeom t = tile_geometry(g);
  int64_t wq, hq, size;
  uk.phase_geometry(t, &wq, &hq, &size);
  const int64_t tiles = round_up(t.oh * wq, uk.lanes);
  // 16 products per tile against 9 per output, with room for the transforms.
  return 16 * tiles < 0.7 * 9 * g.oh * g.ow;
}

Status winograd_conv(const UKernels& uk, ThreadPool& pool, const ConvGeom& g, const std::vector<AlignedFloats>& u,
                     int64_t m, const float* x, const float* bias, const Activation& act, float* y) {
  const ConvGeom t = tile_geometry(g);
  const int64_t c = g.c, nr = uk.nr;
  int64_t wq, hq, psize;
  uk.phase_geometry(t, &wq, &hq, &psize);
  const int64_t plane_stride = 4 * psize;
  const int threads = pool.num_threads();

  AlignedFloats planes(c * plane_stride);
  if (!planes.ok()) return out_of_memory(c * plane_stride);
  pool.parallel_for(c, 4, [&](int64_t b, int64_t e) {
    uk.phase_planes(t, x + b * g.h * g.w, e - b, planes.data() + b * plane_stride, plane_stride);
  });

  // One contiguous range of tiles per thread, split evenly in whole vectors (a range of 64 tiles
  // was 48 + 16 in blocks of NR, so that on 13x13 planes one thread had three times the other's
  // work), then in blocks sized for L2 within each range. Each tile's sums do not depend on its
  // block (every column is computed in whole vectors), so neither do the results on the split.
  const int64_t lanes = uk.lanes;
  const int64_t tiles = round_up(t.oh * wq, lanes);
  const int64_t nb_max = std::max<int64_t>(nr, kBlockBytes / (4 * 16 * (c + m)) / nr * nr);
  const int64_t units = tiles / lanes;
  const int64_t parts = std::min<int64_t>(threads, units);
  auto part = [&](int64_t p, int64_t* f0, int64_t* f1) {
    *f0 = units * p / parts * lanes;
    *f1 = units * (p + 1) / parts * lanes;
  };
  // Blocks of a range: as few as fit nb_max, equal in whole vectors.
  auto block_tiles = [&](int64_t len) { return round_up(ceil_div(len, ceil_div(len, nb_max)), lanes); };

  const int64_t y_stride = 2 * tiles;
  AlignedFloats rows(2 * m * y_stride);  // even then odd output rows, pitch 2 wq
  if (!rows.ok()) return out_of_memory(2 * m * y_stride);
  std::atomic<int64_t> failed{0};  // the floats of the scratch that could not be allocated
  float* y0 = rows.data();
  float* y1 = rows.data() + m * y_stride;
  pool.parallel_for(parts, 1, [&](int64_t pb, int64_t pe) {
    // The tiles of parts [pb, pe) (one part per thread), in blocks that fit nb_max.
    int64_t p0, p1, unused;
    part(pb, &p0, &unused);
    part(pe - 1, &unused, &p1);
    const int64_t bt = block_tiles(p1 - p0);
    // The 16 packed operands and the 16 products of a block.
    AlignedFloats vbuf(16 * c * round_up(bt, nr)), mbuf(16 * m * bt);
    if (!vbuf.ok() || !mbuf.ok()) {
      failed = vbuf.size() + mbuf.size();
      return;
    }
    for (int64_t f0 = p0; f0 < p1; f0 += bt) {
      const int64_t n = std::min(bt, p1 - f0);
      WinogradIn in;
      in.planes = planes.data();
      in.plane_stride = plane_stride;
      in.plane_size = psize;
      in.wq = wq;
      in.c = c;
      in.f0 = f0;
      in.nb = n;
      const int64_t v_stride = round_up(n, nr) * c;
      in.v = vbuf.data();
      in.v_stride = v_stride;
      uk.winograd_input(in);
      for (int xi = 0; xi < 16; ++xi) {
        GemmArgs a;
        a.m = m;
        a.n = n;
        a.k = c;
        a.a_packed = u[xi].data();
        a.b_kind = GemmArgs::BKind::kPacked;
        a.b_packed = vbuf.data() + xi * v_stride;
        a.c = mbuf.data() + xi * m * n;
        a.ldc = n;
        if (!gemm(uk, nullptr, a).ok()) failed = 1;
      }
      WinogradOut out;
      out.mbuf = mbuf.data();
      out.m_stride = m * n;
      out.ldm = n;
      out.m = m;
      out.f0 = f0;
      out.nb = n;
      out.bias = bias;
      out.act = act;
      out.y0 = y0;
      out.y1 = y1;
      out.y_stride = y_stride;
      uk.winograd_output(out);
    }
  });

  if (failed) return out_of_memory(failed);
  pool.parallel_for(m, 8, [&](int64_t b, int64_t e) {
    for (int64_t ch = b; ch < e; ++ch) {
      for (int64_t oy = 0; oy < g.oh; ++oy) {
        const float* src = ((oy & 1) ? y1 : y0) + ch * y_stride + (oy >> 1) * 2 * wq;
        std::copy(src, src + g.ow, y + (ch * g.oh + oy) * g.ow);
      }
    }
  });
  return ok_status();
}

}  // namespace edgeai::kernels::cpu
