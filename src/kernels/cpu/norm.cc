// Softmax / LogSoftmax over a contiguous last run of dims, and LayerNormalization, on f32; rows
// split over the thread pool. Anything else goes to the reference kernels.
#include <algorithm>

#include "kernels/cpu/op_common.h"
#include "kernels/cpu/ops.h"

namespace edgeai::kernels::cpu {
namespace {

struct SoftmaxState final : FastState {
  bool log = false;
};

struct LayerNormState final : FastState {};

// Rows of `n` elements each over the pool, about 16K elements a task at least.
void for_rows(KernelContext& ctx, int64_t rows, int64_t n, const std::function<void(int64_t, int64_t)>& f) {
  const int64_t grain = std::max<int64_t>(1, (int64_t(1) << 14) / std::max<int64_t>(1, n));
  if (rows * n < (int64_t(1) << 15) || ctx.pool().num_threads() <= 1) {
    f(0, rows);
    return;
  }
  ctx.pool().parallel_for(rows, grain, f);
}

}  // namespace

PrepareResult prepare_softmax(PrepareContext& ctx) {
  std::unique_ptr<KernelState> none;
  if (ctx.num_inputs() != 1 || !ctx.has_input(0) || declared_not_f32(ctx, 0)) return none;
  auto s = std::make_unique<SoftmaxState>();
  init_fast_state(ctx, "", s.get());
  s->log = ctx.op_type() == "LogSoftmax";
  return std::unique_ptr<KernelState>(std::move(s));
}

Status run_softmax(KernelContext& ctx) {
  const SoftmaxState* s = state_of<SoftmaxState>(ctx);
  if (!is_f32_tensor(ctx, 0)) return s->fall_back(ctx);
  const Tensor& x = ctx.input(0);
  const int rank = x.rank();
  int64_t axis = ctx.attr_int("axis", ctx.opset() >= 13 ? -1 : 1);
  if (axis < 0) axis += rank;
  // Opset 13+: along one axis, which must be the last here; before: the input coerced to 2-D.
  if (ctx.opset() >= 13 ? (axis != rank - 1 || rank == 0) : (axis < 0 || axis > rank)) return s->fall_back(ctx);
  int64_t n = 1;
  for (int d = static_cast<int>(axis); d < rank; ++d) n *= x.dim(d);
  if (!ctx.is_output_used(0)) return ok_status();
  ASSIGN_OR_RETURN(Tensor * y, ctx.allocate_output_uninitialized(0, DType::kF32, x.shape()));
  if (n == 0 || x.numel() == 0) return ok_status();
  const int64_t rows = x.numel() / n;
  const float* xd = x.data<float>();
  float* yd = y->data<float>();
  for_rows(ctx, rows, n, [&](int64_t r0, int64_t r1) { s->uk->softmax(xd + r0 * n, yd + r0 * n, r1 - r0, n, s->log); });
  return ok_status();
}

PrepareResult prepare_layer_norm(PrepareContext& ctx) {
  std::unique_ptr<KernelState> none;
  if (ctx.num_inputs() < 2 || !ctx.has_input(0) || !ctx.has_input(1) || declared_not_f32(ctx, 0)) return none;
  auto s = std::make_unique<LayerNormState>();
  init_fast_state(ctx, "", s.get());
  return std::unique_ptr<KernelState>(std::move(s));
}

Status run_layer_norm(KernelContext& ctx) {
  const LayerNormState* s = state_of<LayerNormState>(ctx);
  if (!is_f32_tensor(ctx, 0) || !is_f32_tensor(ctx, 1) || (ctx.has_input(2) && !is_f32_tensor(ctx, 2)) ||
      ctx.is_output_used(1) || ctx.is_output_used(2) || ctx.num_inputs() > 3) {
    return s->fall_back(ctx);
  }
  const Tensor& x = ctx.input(0);
  const int rank = x.rank();
  int64_t axis = ctx.attr_int("axis", -1);
  if (axis < 0) axis += rank;
  if (axis < 0 || axis >= rank) return s->fall_back(ctx);
  int64_t n = 1;
  for (int d = static_cast<int>(axis); d < rank; ++d) n *= x.dim(d);
  const Tensor& scale = ctx.input(1);
  const Tensor* bias = ctx.has_input(2) ? &ctx.input(2) : nullptr;
  if (scale.numel() != n || (bias && bias->numel() != n) || n == 0) return s->fall_back(ctx);
  const float eps = ctx.attr_float("epsilon", 1e-5f);
  if (!ctx.is_output_used(0)) return ok_status();
  ASSIGN_OR_RETURN(Tensor * y, ctx.allocate_output_uninitialized(0, DType::kF32, x.shape()));
  const int64_t rows = x.numel() / n;
  const float* xd = x.data<float>();
  float* yd = y->data<float>();
  const float* sd = scale.data<float>();
  const float* bd = bias ? bias->data<float>() : nullptr;
  for_rows(ctx, rows, n, [&](int64_t r0, int64_t r1) {
    s->uk->layer_norm(xd + r0 * n, yd + r0 * n, r1 - r0, n, sd, bd, eps);
  });
  return ok_status();
}

}  // namespace edgeai::kernels::cpu
