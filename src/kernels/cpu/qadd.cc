// com.edgeai QLinearAdd (the residual Add of an int8 QDQ graph, fused by passes/fuse_qdq.cc) on
// u8 inputs of one shape with constant scalar scales and zero points: one pass over the bytes
// (qgemm.h QAddArgs), the same bytes as the reference kernel. Broadcasting and other types run the
// reference.
#include <algorithm>
#include <cmath>

#include "kernels/cpu/op_common.h"
#include "kernels/cpu/ops.h"
#include "kernels/cpu/qgemm.h"

namespace edgeai::kernels::cpu {
namespace {

struct QAddState final : FastState {
  const QGemmKernels* qk = nullptr;
  QAddArgs args;
  DType y_type = DType::kU8;
};

bool scalar_param(const Tensor* s, const Tensor* z, DType zt, float* scale, int32_t* zp) {
  if (!s || !z || s->dtype() != DType::kF32 || s->numel() != 1 || s->rank() > 1 || z->dtype() != zt ||
      z->numel() != 1 || z->rank() > 1) {
    return false;
  }
  *scale = s->data<float>()[0];
  *zp = static_cast<int32_t>(z->get_int(0));
  return std::isfinite(*scale) && *scale > 0.f;
}

}  // namespace

bool qadd_bounded(const QAddArgs& p) {
  // |float(a - za) * sa| <= 255 sa (1 + 2^-24), the sum and the quotient add a rounding each: 2^19
  // leaves room for all three.
  const double bound = (255.0 * p.sa + 255.0 * p.sb) / p.sc;
  return std::isfinite(bound) && bound < double(1 << 19);
}

PrepareResult prepare_qlinear_add(PrepareContext& ctx) {
  std::unique_ptr<KernelState> none;
  if (ctx.num_inputs() != 8) return none;
  for (int i = 0; i < 8; ++i) {
    if (!ctx.has_input(i)) return none;
  }
  auto s = std::make_unique<QAddState>();
  init_fast_state(ctx, "com.edgeai", s.get());
  s->qk = &qgemm_for(ctx.cpu());
  const Tensor* yz = ctx.constant_input(7);
  if (!yz || (yz->dtype() != DType::kU8 && yz->dtype() != DType::kI8)) return none;
  s->y_type = yz->dtype();
  QAddArgs& p = s->args;
  if (!scalar_param(ctx.constant_input(1), ctx.constant_input(2), DType::kU8, &p.sa, &p.za) ||
      !scalar_param(ctx.constant_input(4), ctx.constant_input(5), DType::kU8, &p.sb, &p.zb) ||
      !scalar_param(ctx.constant_input(6), yz, s->y_type, &p.sc, &p.zc)) {
    return none;
  }
  p.qmin = s->y_type == DType::kU8 ? 0 : -128;
  p.qmax = s->y_type == DType::kU8 ? 255 : 127;
  if (ctx.attr_int("relu", 0) != 0) p.qmin = std::max(p.qmin, p.zc);  // Q(Relu(v)) = max(Q(v), zc)
  p.bounded = qadd_bounded(p);
  return std::unique_ptr<KernelState>(std::move(s));
}

Status run_qlinear_add(KernelContext& ctx) {
  const QAddState* s = state_of<QAddState>(ctx);
  for (int i : {0, 3}) {
    if (!ctx.input_value(i).is_tensor() || ctx.input(i).dtype() != DType::kU8) return s->fall_back(ctx);
  }
  const Tensor& a = ctx.input(0);
  const Tensor& b = ctx.input(3);
  if (a.shape() != b.shape()) return s->fall_back(ctx);
  if (!ctx.is_output_used(0)) return ok_status();
  ASSIGN_OR_RETURN(Tensor * y, ctx.allocate_output_uninitialized(0, s->y_type, a.shape()));
  const int64_t n = a.numel();
  constexpr int64_t kChunk = int64_t(1) << 16;  // bytes per parallel task
  auto body = [&](int64_t lo, int64_t hi) {
    for (int64_t c = lo; c < hi; ++c) {
      const int64_t i0 = c * kChunk;
      s->qk->add(a.data<uint8_t>() + i0, b.data<uint8_t>() + i0, std::min(kChunk, n - i0), s->args,
                 y->data<uint8_t>() + i0);
    }
  };
  const int64_t chunks = (n + kChunk - 1) / kChunk;
  if (chunks <= 1 || ctx.pool().num_threads() <= 1) body(0, chunks);
  else ctx.pool().parallel_for(chunks, 1, body);
  return ok_status();
}

}  // namespace edgeai::kernels::cpu
