// com.edgeai QLut (the table that passes/fuse_qdq.cc builds for an elementwise chain on 8-bit
// values): y[i] = table[x[i]], the table 256 bytes (u8 / s8 output) or 256 floats (the chain's float
// result). Vectorized through qgemm.h; the same bytes as the reference kernel by construction.
#include "kernels/cpu/op_common.h"
#include "kernels/cpu/ops.h"
#include "kernels/cpu/qgemm.h"

namespace edgeai::kernels::cpu {
namespace {

struct QLutState final : FastState {
  const QGemmKernels* qk = nullptr;
  DType table_type = DType::kU8;
};

bool q8(DType t) { return t == DType::kU8 || t == DType::kI8; }

}  // namespace

PrepareResult prepare_qlut(PrepareContext& ctx) {
  std::unique_ptr<KernelState> none;
  if (ctx.num_inputs() != 2 || !ctx.has_input(0) || !ctx.has_input(1)) return none;
  const Tensor* t = ctx.constant_input(1);
  if (!t || t->numel() != 256 || !(q8(t->dtype()) || t->dtype() == DType::kF32)) return none;
  auto s = std::make_unique<QLutState>();
  init_fast_state(ctx, "com.edgeai", s.get());
  s->qk = &qgemm_for(ctx.cpu());
  s->table_type = t->dtype();
  return std::unique_ptr<KernelState>(std::move(s));
}

Status run_qlut(KernelContext& ctx) {
  const QLutState* s = state_of<QLutState>(ctx);
  if (!ctx.input_value(0).is_tensor() || !q8(ctx.input(0).dtype()) || !ctx.input_value(1).is_tensor()) {
    return s->fall_back(ctx);
  }
  const Tensor& x = ctx.input(0);
  const Tensor& t = ctx.input(1);
  if (!ctx.is_output_used(0)) return ok_status();
  ASSIGN_OR_RETURN(Tensor * y, ctx.allocate_output_uninitialized(0, s->table_type, x.shape()));
  const int64_t n = x.numel();
  const uint8_t* xd = x.data<uint8_t>();
  // Large tensors in parallel: 64 KB of bytes (a multiple of 64) per task.
  constexpr int64_t kChunk = int64_t(1) << 16;
  auto body = [&](int64_t b, int64_t e) {
    for (int64_t c = b; c < e; ++c) {
      const int64_t i0 = c * kChunk, len = std::min(kChunk, n - i0);
      if (s->table_type == DType::kF32) s->qk->lut_f32(xd + i0, len, t.data<float>(), y->data<float>() + i0);
      else s->qk->lut_u8(xd + i0, len, t.data<uint8_t>(), y->data<uint8_t>() + i0);
    }
  };
  const int64_t chunks = (n + kChunk - 1) / kChunk;
  if (chunks <= 1 || ctx.pool().num_threads() <= 1) body(0, chunks);
  else ctx.pool().parallel_for(chunks, 1, body);
  return ok_status();
}

}  // namespace edgeai::kernels::cpu
