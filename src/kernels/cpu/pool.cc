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
