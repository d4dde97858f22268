// Conv and com.edgeai FusedConv (Conv + bias [+ a residual input Z] + activation) on f32 NCHW,
// 1-D and 2-D:
//   - depthwise (one input and one output channel per group): a direct vector kernel per plane;
//   - few input channels (group 1): the direct kernel of conv_direct.h where it is faster;
//   - otherwise one GEMM per (image, group): prepacked weights [M/group, C/group * kh * kw] times
//     the input read in place (1x1, stride 1, no pads) or im2col-packed block by block;
// bias and activation are applied in the GEMM's (or the depthwise kernel's) epilogue; Z (of the
// output's shape) in the GEMM's too, after the others in a pass over the output.
#include "kernels/cpu/ops.h"

#include <algorithm>
#include <atomic>
#include <mutex>
#include <string>

#include "kernels/cpu/conv_direct.h"
#include "kernels/cpu/conv_winograd.h"
#include "kernels/cpu/gemm.h"
#include "kernels/cpu/op_common.h"
#include "kernels/cpu/sparse_gemm.h"

namespace edgeai::kernels::cpu {
namespace {

// Strides, dilations, pads and auto_pad, read and checked once at preparation (the reference's
// make_window rules for Conv); the output size then follows from the input's at run time.
struct ConvWindow {
  enum class Pad { kExplicit, kValid, kSameUpper, kSameLower } mode = Pad::kExplicit;
  int64_t stride[2] = {1, 1}, dil[2] = {1, 1}, pad_b[2] = {0, 0}, pad_e[2] = {0, 0};

  // False when the attributes are outside what this reads (the reference then reports them).
  bool read(const PrepareContext& ctx, int nd) {
    auto ints = [&](const char* name, size_t n, int64_t def, int64_t lo, int64_t hi, int64_t* out) {
      std::vector<int64_t> v = ctx.attr_ints(name);
      if (!ctx.has_attr(name)) v.assign(n, def);
      if (v.size() != n) return false;
      for (size_t i = 0; i < n; ++i) {
        if (v[i] < lo || v[i] > hi) return false;
        out[i] = v[i];
      }
      return true;
    };
    int64_t pads[4] = {0, 0, 0, 0};
    if (!ints("strides", nd, 1, 1, kMaxWindowStride, stride) || !ints("dilations", nd, 1, 1, 1 << 20, dil) ||
        !ints("pads", 2 * nd, 0, 0, 1 << 20, pads)) {
      return false;
    }
    for (int d = 0; d < nd; ++d) {
      pad_b[d] = pads[d];
      pad_e[d] = pads[d + nd];
    }
    const std::string ap = ctx.attr_string("auto_pad", "NOTSET");
    if (ap == "NOTSET" || ap.empty()) mode = Pad::kExplicit;
    else if (ap == "VALID") mode = Pad::kValid;
    else if (ap == "SAME_UPPER") mode = Pad::kSameUpper;
    else if (ap == "SAME_LOWER") mode = Pad::kSameLower;
    else return false;
    if (mode != Pad::kExplicit) {
      pad_b[0] = pad_b[1] = pad_e[0] = pad_e[1] = 0;
    }
    return true;
  }

  // Output size and begin pad of dim d for input size `in` and kernel `k`; false when the
  // kernel does not fit (the reference reports it).
  bool out_dim(int d, int64_t in, int64_t k, int64_t* out, int64_t* pb) const {
    const int64_t ext = dil[d] * (k - 1) + 1, s = stride[d];
    if (mode == Pad::kSameUpper || mode == Pad::kSameLower) {
      *out = (in + s - 1) / s;
      int64_t total = *out > 0 ? (*out - 1) * s + ext - in : 0;
      if (total < 0) total = 0;
      *pb = mode == Pad::kSameUpper ? total / 2 : total - total / 2;
      return true;
    }
    const int64_t padded = in + pad_b[d] + pad_e[d];
    if (padded < ext) return false;
    *out = (padded - ext) / s + 1;
    *pb = pad_b[d];
    return true;
  }
};

// A form of a conv's weights made on the first run that needs it (once, whatever the threads);
// read only through get().
template <class T>
class LazyForm {
 public:
  template <class Make>
  const T& get(Make make) const {
    std::call_once(once_, [&] { value_ = make(); });
    return value_;
  }

 private:
  mutable std::once_flag once_;
  mutable T value_;
};

struct ConvState final : FastState {
  ConvWindow win;
  int nd = 2;               // spatial dims (1 or 2)
  int64_t m = 0, c = 0;     // output and input channels
  int64_t group = 1, cpg = 0, mpg = 0;
  int64_t kh = 1, kw = 1;
  bool depthwise = false;
  // Which path a run takes (Winograd, the direct kernel, sparse weights, rows times B on 1x1
  // planes, the GEMM) depends on the plane, not known before the first run, so each form of the
  // weights below is made from `weights` on the first run that takes its path: resnet18's 7x7 3x3
  // convs take the GEMM and the others Winograd (both forms of every conv were 78 MB),
  // efficientnet_b0's squeeze-excitation convs only rows times B.
  Tensor weights;  // the constant input 1 (shared storage, not a copy)
  LazyForm<std::vector<AlignedFloats>> wpacked;  // per group (GEMM path)
  // A 1x1 kernel over 1x1 planes (squeeze-excitation after a global pool): the weights as B, so
  // that each image is a row times the weights, vectorized over the output channels, instead of
  // MR-row panels times a column that fills one lane of each NR-wide tile.
  LazyForm<AlignedFloats> wrow;
  // 3x3 stride 1, group 1: the 16 transformed filters (empty when out of memory: im2col).
  bool winograd_eligible = false;
  LazyForm<std::vector<AlignedFloats>> winograd;
  ConvDirect direct;                   // few input channels (group 1): conv_direct.h
  SparseChoice sparse;                 // mostly-zero (pruned) weights, group 1: sparse_gemm.h
  std::vector<float> w;                // depthwise: [C][kh * kw]
  std::vector<float> w_blocks;         // depthwise: the same in blocks of the table's lanes (DwConvArgs)
  std::vector<float> bias;             // empty when none
  bool residual = false;               // FusedConv's input 3 (Z): y = act(conv + bias + Z)
  Activation act;
  // FusedPwDwConv: the 1x1 conv whose output this depthwise conv reads (pw_c its input channels;
  // 0: none). Where the depthwise kernel runs in channel blocks it computes that output block by
  // block itself (DwConvArgs::pw_w); elsewhere a GEMM writes it to a buffer first.
  int64_t pw_c = 0;
  std::vector<float> pw_blocks;  // [C / lanes][pw_c][lanes], zero past C
  std::vector<float> pw_bias;    // [C rounded up to lanes], zero past C; empty when none
  Activation pw_act;
  Tensor pw_weights;             // [C][pw_c], for the GEMM
  LazyForm<AlignedFloats> pw_packed;
};

// y = act(y + z) over n values: the residual of the paths whose epilogue does not take it.
void add_residual(const UKernels& uk, ThreadPool& pool, float* y, const float* z, int64_t n, const Activation& act) {
  auto body = [&](int64_t b, int64_t e) {
    uk.binary(kBinAdd, y + b, 1, z + b, 1, y + b, e - b);
    if (act.kind != ActKind::kNone) uk.activation(y + b, y + b, e - b, act);
  };
  if (n < (int64_t(1) << 16)) body(0, n);
  else pool.parallel_for(n, int64_t(1) << 14, body);
}

}  // namespace

namespace {

// The conv's weights (input wi), bias (input bi, optional), group and window into s; false when
// they are outside what the fast kernels take (the reference then runs the node).
bool read_conv(PrepareContext& ctx, int wi, int bi, ConvState* s) {
  const Tensor* w = ctx.constant_input(wi);
  if (!w || w->dtype() != DType::kF32 || (w->rank() != 3 && w->rank() != 4)) return false;
  s->nd = w->rank() - 2;
  s->m = w->dim(0);
  s->cpg = w->dim(1);
  s->kh = s->nd == 2 ? w->dim(2) : 1;
  s->kw = w->dim(w->rank() - 1);
  s->group = ctx.attr_int("group", 1);
  if (s->group < 1 || s->m % s->group != 0 || s->m == 0 || s->cpg == 0 || s->kh < 1 || s->kw < 1) return false;
  s->mpg = s->m / s->group;
  s->c = s->cpg * s->group;
  if (ctx.has_attr("kernel_shape")) {
    std::vector<int64_t> ks = ctx.attr_ints("kernel_shape");
    if (ks != std::vector<int64_t>(w->shape().begin() + 2, w->shape().end())) return false;
  }
  if (ctx.num_inputs() > bi && ctx.has_input(bi)) {
    const Tensor* b = ctx.constant_input(bi);
    if (!b || b->dtype() != DType::kF32 || b->rank() != 1 || b->dim(0) != s->m) return false;
    s->bias.assign(b->data<float>(), b->data<float>() + s->m);
  }
  const int64_t taps = s->kh * s->kw;
  s->depthwise = s->cpg == 1 && s->mpg == 1;
  if (!s->win.read(ctx, s->nd)) return false;  // strides beyond the phase planes (window_impl.h), ...
  const float* wd = w->data<float>();
  if (s->depthwise) {
    s->w.assign(wd, wd + s->m * taps);
    const int64_t lanes = s->uk->lanes;
    s->w_blocks.assign((s->m + lanes - 1) / lanes * lanes * taps, 0.0f);
    for (int64_t ch = 0; ch < s->m; ++ch) {
      for (int64_t t = 0; t < taps; ++t) s->w_blocks[(ch / lanes * taps + t) * lanes + ch % lanes] = wd[ch * taps + t];
    }
  } else {
    const int64_t k = s->cpg * taps;
    if (s->group == 1) s->direct = prepare_conv_direct(*s->uk, wd, s->m, s->c, s->kh, s->kw);
    if (s->group == 1) s->sparse = prepare_sparse(*s->uk, wd, k, 1, s->m, k, 1.0f, kSparseMinZeroFractionWide);
    const bool unit = s->win.stride[0] == 1 && s->win.stride[1] == 1 && s->win.dil[0] == 1 && s->win.dil[1] == 1;
    s->winograd_eligible = s->nd == 2 && s->group == 1 && s->kh == 3 && s->kw == 3 && unit && s->c >= 8 && s->m >= 8;
    s->weights = *w;
  }
  return true;
}

// X [kc][hw] into tiles of `tile` positions, [ceil(hw / tile)][kc][tile], zero past hw
// (DwConvArgs::pw_x).
void pack_pw_tiles(const float* x, int64_t hw, int64_t kc, int64_t tile, float* out) {
  for (int64_t p = 0; p < hw; p += tile) {
    const int64_t n = std::min(tile, hw - p);
    float* o = out + p * kc;
    for (int64_t k = 0; k < kc; ++k) {
      std::copy(x + k * hw + p, x + k * hw + p + n, o + k * tile);
      std::fill(o + k * tile + n, o + (k + 1) * tile, 0.0f);
    }
  }
}

}  // namespace

Result<std::unique_ptr<KernelState>> prepare_conv(PrepareContext& ctx) {
  std::unique_ptr<KernelState> none;
  const bool fused = ctx.op_type() == "FusedConv";
  if (ctx.num_inputs() < 2 || ctx.num_inputs() > (fused ? 4 : 3) || !ctx.has_input(0) || declared_not_f32(ctx, 0)) {
    return none;
  }
  auto s = std::make_unique<ConvState>();
  init_fast_state(ctx, fused ? "com.edgeai" : "", s.get());
  if (!read_conv(ctx, 1, 2, s.get())) return none;
  s->residual = ctx.num_inputs() == 4 && ctx.has_input(3);
  if (s->residual && declared_not_f32(ctx, 3)) return none;
  if (fused && !parse_activation(ctx.attr_string("activation", ""), ctx.attr_floats("activation_params"), &s->act)) {
    return none;
  }
  return std::unique_ptr<KernelState>(std::move(s));
}

// FusedPwDwConv(X, W1, B1?, W2, B2?): the depthwise conv (W2, B2, the node's window attributes
// and activation) of the 1x1 conv (W1, B1, pw_activation) of X.
Result<std::unique_ptr<KernelState>> prepare_pwdw_conv(PrepareContext& ctx) {
  std::unique_ptr<KernelState> none;
  if (ctx.num_inputs() < 4 || ctx.num_inputs() > 5 || !ctx.has_input(0) || declared_not_f32(ctx, 0)) return none;
  auto s = std::make_unique<ConvState>();
  init_fast_state(ctx, "com.edgeai", s.get());
  if (!read_conv(ctx, 3, 4, s.get()) || !s->depthwise || s->nd != 2) return none;
  if (!parse_activation(ctx.attr_string("activation", ""), ctx.attr_floats("activation_params"), &s->act) ||
      !parse_activation(ctx.attr_string("pw_activation", ""), ctx.attr_floats("pw_activation_params"), &s->pw_act)) {
    return none;
  }
  const Tensor* w1 = ctx.constant_input(1);
  if (!w1 || w1->dtype() != DType::kF32 || w1->rank() != 4 || w1->dim(0) != s->c || w1->dim(1) < 1 ||
      w1->dim(2) != 1 || w1->dim(3) != 1) {
    return none;
  }
  s->pw_c = w1->dim(1);
  const int64_t lanes = s->uk->lanes, cpad = (s->c + lanes - 1) / lanes * lanes;
  const float* w1d = w1->data<float>();
  s->pw_blocks.assign(cpad * s->pw_c, 0.0f);
  for (int64_t ch = 0; ch < s->c; ++ch) {
    for (int64_t k = 0; k < s->pw_c; ++k) {
      s->pw_blocks[(ch / lanes * s->pw_c + k) * lanes + ch % lanes] = w1d[ch * s->pw_c + k];
    }
  }
  if (ctx.has_input(2)) {
    const Tensor* b1 = ctx.constant_input(2);
    if (!b1 || b1->dtype() != DType::kF32 || b1->rank() != 1 || b1->dim(0) != s->c) return none;
    s->pw_bias.assign(cpad, 0.0f);
    std::copy(b1->data<float>(), b1->data<float>() + s->c, s->pw_bias.begin());
  }
  s->pw_weights = *w1;
  return std::unique_ptr<KernelState>(std::move(s));
}

Status run_conv(KernelContext& ctx) {
  const ConvState* s = state_of<ConvState>(ctx);
  if (!is_f32_tensor(ctx, 0) || ctx.input(0).rank() != s->nd + 2 ||
      ctx.input(0).dim(1) != (s->pw_c > 0 ? s->pw_c : s->c)) {
    return s->fall_back(ctx);
  }
  const Tensor& x = ctx.input(0);
  ConvGeom g;
  g.c = s->cpg;
  g.kh = s->kh;
  g.kw = s->kw;
  const int dw = s->nd - 1;  // the window's index of the width dim
  g.h = s->nd == 2 ? x.dim(2) : 1;
  g.w = x.dim(x.rank() - 1);
  if (s->nd == 2 && !s->win.out_dim(0, g.h, g.kh, &g.oh, &g.ph)) return s->fall_back(ctx);
  if (!s->win.out_dim(dw, g.w, g.kw, &g.ow, &g.pw)) return s->fall_back(ctx);
  if (s->nd == 1) {
    g.oh = 1;
    g.ph = 0;
  }
  g.sh = s->nd == 2 ? s->win.stride[0] : 1;
  g.sw = s->win.stride[dw];
  g.dh = s->nd == 2 ? s->win.dil[0] : 1;
  g.dw = s->win.dil[dw];
  Shape out_shape{x.dim(0), s->m};
  if (s->nd == 2) out_shape.push_back(g.oh);
  out_shape.push_back(g.ow);
  if (!ctx.is_output_used(0)) return ok_status();
  // The residual: of the output's shape (no broadcasting here; the reference does the rest).
  const float* zd = nullptr;
  if (s->residual) {
    if (!is_f32_tensor(ctx, 3) || ctx.input(3).shape() != out_shape) return s->fall_back(ctx);
    zd = ctx.input(3).data<float>();
  }
  const int64_t n_img = x.dim(0);
  const int64_t in_sp = g.h * g.w, out_sp = g.oh * g.ow;
  const UKernels& uk = *s->uk;
  // A depthwise conv in channel blocks writes its output over its input when nothing reads the
  // input later: each block has read the input rows its output replaces before writing them
  // (dwconv_in_place), and threads split the blocks (below) so that none overwrites rows another
  // still reads. The input was just written by
  // this thread (a 1x1 conv's output rows, split over threads the same way), so the stores land in
  // its own cache lines; a freed buffer of the arena was last read by every thread (the 1x1 conv
  // after the depthwise one reads all of it), and storing into lines another core holds was 2x as
  // slow (384 x 14 x 14, 2 threads: 14.5 -> 31 us per half). On one thread too the stores then hit
  // lines in cache (mobilenet_v2's 144 x 56 x 56: 218 -> 160 us). Where a block's rows cannot be
  // split (split_rows_in_place, below), threads take whole blocks, which costs some balance where
  // they do not split evenly (9 blocks: 5 + 4 instead of 4.5 + 4.5): taken up to 15% above an even
  // share.
  // The depthwise split (below), decided here for the in-place choice: its channel blocks (bc
  // channels, 0: plane by plane), whether the 1x1 conv of FusedPwDwConv runs in them, and whether
  // the work (~4 us at 2^16 multiply-adds, above the pool's hand-off cost of about a microsecond
  // while its workers spin) stays on the calling thread.
  const int threads = ctx.pool().num_threads();
  const int64_t bc = s->depthwise ? uk.dwconv_block_channels(g) : 0;
  const bool pw_in_blocks = s->pw_c > 0 && bc > 0;
  const int64_t dw_work = n_img * s->c * (out_sp * g.kh * g.kw + (pw_in_blocks ? in_sp * s->pw_c : 0));
  const bool dw_one_thread = dw_work < (int64_t(1) << 16) || threads <= 1;
  // Writing over the input, threads may still split a block's rows where the row stride is 1:
  // at each cut between two threads' rows, each leaves unwritten the input rows the other's
  // window reads across it (halo_top rows above the cut, halo_bottom below), its outputs there
  // going to side buffers (DwConvArgs::y_top, y_bottom) copied in afterwards.
  const int64_t half_rows = g.oh / 2, halo_top = g.ph, halo_bottom = (g.kh - 1) * g.dh - g.ph;
  const bool split_rows_in_place = g.sh == 1 && halo_top >= 0 && halo_bottom >= 0 && halo_top <= half_rows &&
                                   halo_bottom <= g.oh - half_rows;
  // A 1x1 depthwise conv at stride 1 without padding is a per-channel scale and bias (what
  // BatchNormalization becomes when no conv precedes it, fold_batch_norm.cc): a vector loop per
  // plane, over its input where that dies.
  const bool channel_affine = s->depthwise && s->pw_c == 0 && g.kh == 1 && g.kw == 1 && g.sh == 1 && g.sw == 1 &&
                              g.ph == 0 && g.pw == 0 && g.oh == g.h && g.ow == g.w;
  bool over_input = channel_affine;
  if (!channel_affine && s->depthwise && s->pw_c == 0 && bc > 0 && uk.dwconv_in_place(g)) {
    const int64_t units = n_img * ((s->c + bc - 1) / bc);
    const int64_t most = (units + threads - 1) / threads;  // blocks of the busiest thread
    over_input = dw_one_thread || split_rows_in_place || most * threads * 100 <= units * 115;
  }
  ASSIGN_OR_RETURN(Tensor * y, over_input ? ctx.allocate_output_over_input(0, 0, DType::kF32, out_shape)
                                          : ctx.allocate_output_uninitialized(0, DType::kF32, out_shape));
  if (n_img == 0 || out_sp == 0) return ok_status();
  const float* xd = x.data<float>();
  float* yd = y->data<float>();
  const float* bias = s->bias.empty() ? nullptr : s->bias.data();
  // Paths without a residual epilogue run without the activation, then act(y + z).
  const Activation act = zd ? Activation() : s->act;
  auto finish = [&](Status st) {
    if (st.ok() && zd) add_residual(uk, ctx.pool(), yd, zd, y->numel(), s->act);
    return st;
  };

  // Scratch beyond a few times the tensors' own size (absurd dilations and pads) is left to the
  // reference kernel.
  const int64_t scratch_cap = 8 * (x.numel() + y->numel()) + (int64_t(1) << 22);
  if (channel_affine) {
    const int64_t planes = n_img * s->c;
    auto body = [&](int64_t b, int64_t e) {
      for (int64_t p = b; p < e; ++p) {
        const int64_t c = p % s->c;
        uk.scale_bias_activation(xd + p * in_sp, yd + p * out_sp, out_sp, s->w[c], bias ? bias[c] : 0.0f, act);
      }
    };
    if (planes * out_sp < (int64_t(1) << 15) || threads <= 1) body(0, planes);
    else ctx.pool().parallel_for(planes, std::max<int64_t>(1, (int64_t(1) << 13) / out_sp), body);
    return finish(ok_status());
  }
  if (s->depthwise) {
    const int64_t planes = n_img * s->c;
    const int64_t scratch = uk.dwconv_scratch_floats(g);
    if (scratch > scratch_cap) return s->fall_back(ctx);
    // FusedPwDwConv: the 1x1 conv's output computed in the depthwise kernel's channel blocks
    // (pw_in_blocks), or (where it does not run in blocks) by a GEMM into a buffer that then is the
    // input.
    AlignedFloats pw_out;
    if (s->pw_c > 0 && !pw_in_blocks) {
      pw_out = AlignedFloats(planes * in_sp);
      const AlignedFloats& w1 =
          s->pw_packed.get([&] { return pack_a_once(uk, s->pw_weights.data<float>(), s->pw_c, 1, s->c, s->pw_c); });
      if (!pw_out.ok() || !w1.ok()) return out_of_memory(planes * in_sp);
      for (int64_t n = 0; n < n_img; ++n) {
        GemmArgs ga;
        ga.m = s->c;
        ga.n = in_sp;
        ga.k = s->pw_c;
        ga.a_packed = w1.data();
        ga.b_kind = GemmArgs::BKind::kRowMajor;
        ga.b = xd + n * s->pw_c * in_sp;
        ga.b_rs = in_sp;
        ga.c = pw_out.data() + n * s->c * in_sp;
        ga.ldc = in_sp;
        if (!s->pw_bias.empty()) {
          ga.bias = s->pw_bias.data();
          ga.bias_rs = 1;
        }
        ga.act = s->pw_act;
        RETURN_IF_ERROR(gemm(uk, &ctx.pool(), ga));
      }
      xd = pw_out.data();
    }
    const int64_t x_img = (pw_in_blocks ? s->pw_c : s->c) * in_sp;  // floats per image of xd
    // Each task packs the 1x1 conv's input into tiles (DwConvArgs::pw_x) in its own buffer after
    // its scratch, an image at a time: a shared copy, written by one core and read by both, would
    // be written again by the next run into cache lines the other core holds.
    const int64_t pw_tile = pw_in_blocks ? uk.dwconv_pw_tile(in_sp) : 0;
    const int64_t pw_floats = pw_in_blocks ? (in_sp + pw_tile - 1) / pw_tile * s->pw_c * pw_tile : 0;
    const int64_t task_floats = (scratch + 15) / 16 * 16 + pw_floats;
    std::atomic<bool> failed{false};
    // The arguments every call of a task shares; image n's planes are set per call.
    auto task_args = [&](AlignedFloats& buf) {
      DwConvArgs a;
      a.g = &g;
      a.w = s->w.data();
      a.w_blocks = s->w_blocks.data();
      a.bias = bias;
      a.act = act;
      a.scratch = buf.data();
      if (pw_in_blocks) {
        a.pw_x = buf.data() + (task_floats - pw_floats);
        a.pw_tile = pw_tile;
        a.pw_w = s->pw_blocks.data();
        a.pw_bias = s->pw_bias.empty() ? nullptr : s->pw_bias.data();
        a.pw_c = s->pw_c;
        a.pw_act = s->pw_act;
      }
      a.x = nullptr;
      return a;
    };
    auto set_image = [&](DwConvArgs& a, int64_t n) {
      const float* xn = xd + n * x_img;
      if (pw_in_blocks && a.x != xn) pack_pw_tiles(xn, in_sp, s->pw_c, pw_tile, const_cast<float*>(a.pw_x));
      a.x = xn;
      a.y = yd + n * s->m * out_sp;
    };
    auto body = [&](int64_t b, int64_t e) {
      AlignedFloats buf(task_floats);
      if (!buf.ok()) {
        failed = true;
        return;
      }
      DwConvArgs a = task_args(buf);
      for (int64_t p = b; p < e;) {
        const int64_t n = p / s->c, c0 = p % s->c, c1 = std::min(s->c, c0 + (e - p));
        set_image(a, n);
        a.c0 = c0;
        a.c1 = c1;
        uk.dwconv(a);
        p += c1 - c0;
      }
    };
    if (dw_one_thread) {
      body(0, planes);
    } else if (bc == 0) {
      ctx.pool().parallel_for(planes, 1, body);
    } else {
      // Channel blocks: each thread an equal share of half blocks (the top or bottom rows of a
      // block), so that 9 blocks (144 channels) are 4.5 + 4.5 instead of 5 + 5 with a partial
      // block each (a block of 8 channels costs as much as one of 16). Writing over the input
      // where rows cannot be split (split_rows_in_place): whole blocks only.
      const bool in_place = yd == xd;
      const bool whole_blocks = in_place && !split_rows_in_place;
      const int64_t blocks = (s->c + bc - 1) / bc, halves = 2 * n_img * blocks, units = halves / 2;
      // The blocks split between two threads in place (at half_rows): block unit b (image b /
      // blocks), and its side rows: halo_top rows above half_rows, then halo_bottom below, channel
      // by channel.
      struct Cut {
        int64_t unit;
        float* side;
      };
      std::vector<Cut> cuts;
      for (int64_t t = 1; in_place && !whole_blocks && t < threads; ++t) {
        const int64_t h = halves * t / threads;
        if (h % 2 == 1) cuts.push_back({h / 2, nullptr});
      }
      const int64_t side_floats = bc * (halo_top + halo_bottom) * g.ow;
      AlignedFloats sides(static_cast<int64_t>(cuts.size()) * side_floats);
      if (!sides.ok()) return out_of_memory(sides.size());
      for (size_t i = 0; i < cuts.size(); ++i) cuts[i].side = sides.data() + i * side_floats;
      ctx.pool().parallel_for(threads, 1, [&](int64_t tb, int64_t te) {
        AlignedFloats buf(task_floats);
        if (!buf.ok()) {
          failed = true;
          return;
        }
        DwConvArgs a = task_args(buf);
        const int64_t u0 = whole_blocks ? 2 * (units * tb / threads) : halves * tb / threads;
        for (int64_t u = u0, u1 = whole_blocks ? 2 * (units * te / threads) : halves * te / threads; u < u1;) {
          const int64_t n = u / (2 * blocks), blk = (u / 2) % blocks;
          const bool whole = u % 2 == 0 && u + 1 < u1, top = u % 2 == 0;
          set_image(a, n);
          a.c0 = blk * bc;
          a.c1 = std::min(s->c, a.c0 + bc);
          a.oy0 = whole || top ? 0 : half_rows;
          a.oy1 = whole || !top ? g.oh : half_rows;
          // A half block in place: its rows next to half_rows go to its cut's side rows (the top
          // half's last halo_top rows, the bottom half's first halo_bottom).
          float* side = nullptr;
          for (const Cut& c : cuts) side = !whole && c.unit == u / 2 ? c.side : side;
          a.y_top = side && !top ? side + bc * halo_top * g.ow : nullptr;
          a.top_rows = a.y_top ? halo_bottom : 0;
          a.y_bottom = side && top ? side : nullptr;
          a.bottom_rows = a.y_bottom ? halo_top : 0;
          uk.dwconv(a);
          u += whole ? 2 : 1;
        }
      });
      // The side rows into place, now that no window reads the input.
      for (const Cut& cut : cuts) {
        const int64_t n = cut.unit / blocks, c0 = (cut.unit % blocks) * bc, c1 = std::min(s->c, c0 + bc);
        for (int64_t c = c0; c < c1; ++c) {
          float* yc = yd + (n * s->m + c) * out_sp;
          std::copy_n(cut.side + (c - c0) * halo_top * g.ow, halo_top * g.ow, yc + (half_rows - halo_top) * g.ow);
          std::copy_n(cut.side + bc * halo_top * g.ow + (c - c0) * halo_bottom * g.ow, halo_bottom * g.ow,
                      yc + half_rows * g.ow);
        }
      }
    }
    return finish(failed ? out_of_memory(task_floats) : ok_status());
  }

  if (s->group == 1 && g.kh == 1 && g.kw == 1 && in_sp == 1 && out_sp == 1) {
    const AlignedFloats& wrow =
        s->wrow.get([&] { return pack_b_once(uk, s->weights.data<float>(), 1, s->c, s->c, s->m); });
    if (wrow.ok()) {
      GemmArgs ga;  // y (image, j) = sum over k of x (image, k) W (j, k)
      ga.m = n_img;
      ga.n = s->m;
      ga.k = s->c;
      ga.a = xd;
      ga.a_rs = s->c;
      ga.a_cs = 1;
      ga.b_kind = GemmArgs::BKind::kPacked;
      ga.b_packed = wrow.data();
      ga.c = yd;
      ga.ldc = s->m;
      ga.bias = bias;
      ga.bias_cs = bias ? 1 : 0;
      ga.act = act;
      return finish(gemm(uk, &ctx.pool(), ga));
    }
  }
  if (s->sparse.ready() && sparse_conv_takes(uk, s->sparse, g, scratch_cap)) {
    return finish(sparse_conv(uk, s->sparse, &ctx.pool(), g, xd, n_img, bias, act, yd));
  }
  if (s->direct.ready() && conv_direct_takes(s->direct, uk, g, n_img, scratch_cap)) {
    return finish(conv_direct(s->direct, uk, ctx.pool(), g, xd, n_img, bias, act, yd));
  }
  const std::vector<AlignedFloats>* winograd = nullptr;
  if (s->winograd_eligible && g.sh == 1 && g.sw == 1 && g.dh == 1 && g.dw == 1 && winograd_pays(uk, g)) {
    winograd = &s->winograd.get([&] {
      auto u = winograd_filters(uk, s->weights.data<float>(), s->m, s->c);
      for (const auto& f : u) {
        if (!f.ok()) return std::vector<AlignedFloats>();  // out of memory: im2col
      }
      return u;
    });
  }
  if (winograd && !winograd->empty()) {
    for (int64_t n = 0; n < n_img; ++n) {
      RETURN_IF_ERROR(winograd_conv(uk, ctx.pool(), g, *winograd, s->m, xd + n * s->c * in_sp, bias, act,
                                    yd + n * s->m * out_sp));
    }
    return finish(ok_status());
  }

  const bool pointwise = g.kh == 1 && g.kw == 1 && g.sh == 1 && g.sw == 1 && g.ph == 0 && g.pw == 0 &&
                         g.oh == g.h && g.ow == g.w;
  const int64_t k = s->cpg * g.kh * g.kw;
  // Otherwise im2col reads the phase planes of every input channel (padding and strides
  // resolved), so that packing is plain copies.
  AlignedFloats planes;
  std::vector<int64_t> tap_off;
  std::vector<Im2colPlanes> im2col;
  if (!pointwise) {
    ConvGeom pg = g;
    pg.c = 1;
    int64_t wq, hq, psize;
    uk.phase_geometry(pg, &wq, &hq, &psize);
    const int64_t stride = g.sh * g.sw * psize;
    const int64_t nplanes = n_img * s->c;
    if (nplanes * stride > scratch_cap) return s->fall_back(ctx);
    planes = AlignedFloats(nplanes * stride);
    if (!planes.ok()) return out_of_memory(nplanes * stride);
    float* pd = planes.data();
    // Split by rows of the planes, not by planes: the stem's 3 planes over 2 threads were 1 + 2
    // planes (the caller waited 38 us per run for the other thread), and each thread now builds
    // about the rows its half of the output columns (the GEMM's split) reads.
    ctx.pool().parallel_for(nplanes * hq, 1, [&](int64_t b, int64_t e) {
      for (int64_t u = b; u < e;) {
        const int64_t pl = u / hq, r0 = u % hq, r1 = std::min(hq, r0 + (e - u));
        uk.phase_plane_rows(pg, xd + pl * in_sp, pd + pl * stride, r0, r1);
        u += r1 - r0;
      }
    });
    tap_off.resize(static_cast<size_t>(g.kh * g.kw));
    uk.phase_tap_offsets(pg, tap_off.data());
    for (int64_t i = 0; i < n_img * s->group; ++i) {
      Im2colPlanes ip;
      ip.planes = pd + i * s->cpg * stride;
      ip.plane_stride = stride;
      ip.wq = wq;
      ip.ow = g.ow;
      ip.kh = g.kh;
      ip.kw = g.kw;
      ip.tap_off = tap_off.data();
      im2col.push_back(ip);
    }
  }
  const std::vector<AlignedFloats>& wpacked = s->wpacked.get([&] {
    std::vector<AlignedFloats> packs;
    for (int64_t gi = 0; gi < s->group; ++gi) {
      packs.push_back(pack_a_once(uk, s->weights.data<float>() + gi * s->mpg * k, k, 1, s->mpg, k));
    }
    return packs;
  });
  for (const auto& p : wpacked) {
    if (!p.ok()) return out_of_memory(s->m * k);
  }
  return gemm_batch(uk, &ctx.pool(), n_img * s->group, [&](int64_t i) {
    const int64_t n = i / s->group, gi = i % s->group;
    GemmArgs a;
    a.m = s->mpg;
    a.n = out_sp;
    a.k = k;
    a.a_packed = wpacked[gi].data();
    a.b = xd + (n * s->c + gi * s->cpg) * in_sp;
    if (pointwise) {
      a.b_kind = GemmArgs::BKind::kRowMajor;
      a.b_rs = in_sp;
    } else {
      a.b_kind = GemmArgs::BKind::kIm2col;
      a.im2col = &im2col[i];
    }
    a.c = yd + (n * s->m + gi * s->mpg) * out_sp;
    a.ldc = out_sp;
    if (bias) {
      a.bias = bias + gi * s->mpg;
      a.bias_rs = 1;
      a.bias_cs = 0;
    }
    if (zd) {
      a.res = zd + (n * s->m + gi * s->mpg) * out_sp;
      a.res_ld = out_sp;
    }
    a.act = s->act;
    return a;
  });
}

}  // namespace edgeai::kernels::cpu
