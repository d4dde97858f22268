// MaxPool (without Indices) and AveragePool over 2-D NCHW f32 planes, and GlobalAveragePool;
// planes split over the thread pool. The window geometry and its checks are the reference's
// (make_window), so both accept and reject the same attributes.
#include <algorithm>
#include <atomic>

#include "kernels/cpu/gemm.h"
#include "kernels/cpu/op_common.h"
#include "kernels/cpu/ops.h"
#include "kernels/reference/nn_internal.h"

namespace edgeai::kernels::cpu {
namespace {

struct PoolState final : FastState {
  bool max = false;
};

// 2x2 windows at stride 2 without pads (the pools of small CNNs) on planes of at most this many
// outputs skip the vector kernel: its phase planes (padded copies of each input plane) cost more
// to set up than the few windows they serve (LeNet's second pool 10x10 -> 5x5, the digits CNN's
// 8x8 -> 4x4 -> 2x2: 20 planes of 8x8 2.1 -> 1.2 us, 32 of 4x4 2.2 -> 0.9 us at one thread). At
// 28x28 -> 14x14, and for 3x3 windows, the vector kernel is as fast or faster.
constexpr int64_t kSmallPoolPlane = 64;

bool small_pool_2x2(const ConvGeom& g) {
  return g.oh * g.ow <= kSmallPoolPlane && g.kh == 2 && g.kw == 2 && g.sh == 2 && g.sw == 2 && g.dh == 1 &&
         g.dw == 1 && g.ph == 0 && g.pw == 0 && 2 * g.oh <= g.h && 2 * g.ow <= g.w;
}

// Each output from its 4 inputs in the vector kernel's order (max from -inf, the average's sum
// from 0, then / 4).
void pool_small_2x2(const ConvGeom& g, const float* x, float* y, int64_t planes, bool max) {
  const int64_t in_sp = g.h * g.w, out_sp = g.oh * g.ow;
  for (int64_t p = 0; p < planes; ++p) {
    for (int64_t oy = 0; oy < g.oh; ++oy) {
      const float* r0 = x + p * in_sp + 2 * oy * g.w;
      const float* r1 = r0 + g.w;
      float* yr = y + p * out_sp + oy * g.ow;
      for (int64_t ox = 0; ox < g.ow; ++ox) {
        const float a = r0[2 * ox], b = r0[2 * ox + 1], c = r1[2 * ox], d = r1[2 * ox + 1];
        if (max) yr[ox] = std::max(std::max(std::max(std::max(-__builtin_inff(), a), b), c), d);
        else yr[ox] = (((0.0f + a) + b) + c + d) / 4.0f;
      }
    }
  }
}

}  // namespace

PrepareResult prepare_pool(PrepareContext& ctx) {
  std::unique_ptr<KernelState> none;
  if (ctx.num_inputs() != 1 || !ctx.has_input(0) || declared_not_f32(ctx, 0)) return none;
  if (!ctx.has_attr("kernel_shape") || ctx.attr_ints("kernel_shape").size() != 2) return none;
  auto s = std::make_unique<PoolState>();
  init_fast_state(ctx, "", s.get());
  s->max = ctx.op_type() == "MaxPool";
  return std::unique_ptr<KernelState>(std::move(s));
}

Status run_pool(KernelContext& ctx) {
  const PoolState* s = state_of<PoolState>(ctx);
  if (!is_f32_tensor(ctx, 0) || ctx.input(0).rank() != 4 || (s->max && ctx.is_output_used(1))) {
    return s->fall_back(ctx);
  }
  const Tensor& x = ctx.input(0);
  const int64_t ceil_mode = ctx.attr_int("ceil_mode", 0);
  const int64_t count_pad = ctx.attr_int("count_include_pad", 0);
  if ((ceil_mode != 0 && (ceil_mode != 1 || !s->max)) || (count_pad != 0 && count_pad != 1)) return s->fall_back(ctx);
  Shape in{x.dim(2), x.dim(3)};
  auto win = ref::nn::make_window(ctx, in, Shape(ctx.attr_ints("kernel_shape")), true, ceil_mode == 1, true);
  if (!win.ok() || win->strides[0] > kMaxWindowStride || win->strides[1] > kMaxWindowStride) return s->fall_back(ctx);
  ConvGeom g;
  g.h = in[0];
  g.w = in[1];
  g.oh = win->out[0];
  g.ow = win->out[1];
  g.kh = win->kernel[0];
  g.kw = win->kernel[1];
  g.sh = win->strides[0];
  g.sw = win->strides[1];
  g.dh = win->dilations[0];
  g.dw = win->dilations[1];
  g.ph = win->pad_begin[0];
  g.pw = win->pad_begin[1];
  if (!ctx.is_output_used(0)) return ok_status();
  ASSIGN_OR_RETURN(Tensor * y,
                   ctx.allocate_output_uninitialized(0, DType::kF32, Shape{x.dim(0), x.dim(1), g.oh, g.ow}));
  const int64_t planes = x.dim(0) * x.dim(1);
  if (planes == 0 || g.oh * g.ow == 0) return ok_status();
  const UKernels& uk = *s->uk;
  const float* xd = x.data<float>();
  float* yd = y->data<float>();
  const int64_t in_sp = g.h * g.w, out_sp = g.oh * g.ow;
  if (small_pool_2x2(g) && planes * in_sp < (int64_t(1) << 15)) {
    pool_small_2x2(g, xd, yd, planes, s->max);
    return ok_status();
  }
  const int64_t scratch = uk.pool_scratch_floats(g);
  if (scratch > 8 * (x.numel() + y->numel()) + (int64_t(1) << 22)) return s->fall_back(ctx);
  std::atomic<bool> failed{false};
  auto body = [&](int64_t p0, int64_t p1) {
    AlignedFloats buf(scratch);
    if (!buf.ok()) {
      failed = true;
      return;
    }
    uk.pool2d(g, xd + p0 * in_sp, yd + p0 * out_sp, p1 - p0, s->max, count_pad == 1, buf.data());
  };
  if (planes * in_sp < (int64_t(1) << 15) || ctx.pool().num_threads() <= 1) body(0, planes);
  else ctx.pool().parallel_for(planes, 1, body);
  return failed ? out_of_memory(scratch) : ok_status();
}

PrepareResult prepare_global_avg_pool(PrepareContext& ctx) {
  std::unique_ptr<KernelState> none;
  if (ctx.num_inputs() != 1 || !ctx.has_input(0) || declared_not_f32(ctx, 0)) return none;
  auto s = std::make_unique<PoolState>();
  init_fast_state(ctx, "", s.get());
  return std::unique_ptr<KernelState>(std::move(s));
}

Status run_global_avg_pool(KernelContext& ctx) {
  const PoolState* s = state_of<PoolState>(ctx);
  if (!is_f32_tensor(ctx, 0) || ctx.input(0).rank() < 3) return s->fall_back(ctx);
  const Tensor& x = ctx.input(0);
  Shape out{x.dim(0), x.dim(1)};
  int64_t n = 1;
  for (int d = 2; d < x.rank(); ++d) {
    out.push_back(1);
    n *= x.dim(d);
  }
  if (!ctx.is_output_used(0)) return ok_status();
  ASSIGN_OR_RETURN(Tensor * y, ctx.allocate_output_uninitialized(0, DType::kF32, out));
  const int64_t planes = x.dim(0) * x.dim(1);
  if (planes == 0) return ok_status();
  if (n == 0) return s->fall_back(ctx);  // mean of nothing: the reference decides
  const float* xd = x.data<float>();
  float* yd = y->data<float>();
  auto body = [&](int64_t p0, int64_t p1) { s->uk->global_avg(xd + p0 * n, yd + p0, p1 - p0, n); };
  if (planes * n < (int64_t(1) << 15) || ctx.pool().num_threads() <= 1) body(0, planes);
  else ctx.pool().parallel_for(planes, 1, body);
  return ok_status();
}

}  // namespace edgeai::kernels::cpu
