#include "kernels/cpu/op_common.h"

#include <string>

#include "kernels/reference/registry.h"

namespace edgeai::kernels::cpu {

KernelFn find_reference(std::string_view domain, std::string_view op_type) {
  for (auto table : {ref::nn_kernels(), ref::elementwise_kernels(), ref::reduce_kernels(), ref::tensor_kernels(),
                     ref::misc_kernels(), ref::rnn_kernels(), ref::quant_kernels(), ref::fused_kernels()}) {
    for (const auto& e : table) {
      if (e.domain == domain && e.op_type == op_type) return e.fn;
    }
  }
  return nullptr;
}

Status FastState::fall_back(KernelContext& ctx) const {
  if (reference) return reference(ctx);
  return ctx.unsupported_error("inputs outside what the optimized kernel takes (f32 tensors of the prepared shapes)");
}

void init_fast_state(const PrepareContext& ctx, std::string_view domain, FastState* s) {
  s->uk = &ukernels_for(ctx.cpu());
  s->reference = find_reference(domain, ctx.op_type());
}

bool declared_not_f32(const PrepareContext& ctx, int i) {
  DType t;
  std::vector<int64_t> shape;
  if (!ctx.declared_type(i, &t, &shape)) return false;
  return t != DType::kF32 && t != DType::kUndefined;
}

bool parse_activation(std::string_view name, const std::vector<float>& p, Activation* out) {
  Activation a;
  auto param = [&](size_t i, float def) { return i < p.size() ? p[i] : def; };
  if (name.empty() || name == "None" || name == "Identity") {
    a.kind = ActKind::kNone;
  } else if (name == "Relu") {
    a.kind = ActKind::kRelu;
  } else if (name == "Clip") {
    a.kind = ActKind::kClip;
    a.alpha = param(0, -__builtin_inff());
    a.beta = param(1, __builtin_inff());
  } else if (name == "LeakyRelu") {
    a.kind = ActKind::kLeakyRelu;
    a.alpha = param(0, 0.01f);
  } else if (name == "HardSigmoid") {
    a.kind = ActKind::kHardSigmoid;
    a.alpha = param(0, 0.2f);
    a.beta = param(1, 0.5f);
  } else if (name == "HardSwish") {
    a.kind = ActKind::kHardSwish;
  } else if (name == "Sigmoid") {
    a.kind = ActKind::kSigmoid;
  } else if (name == "SiLU" || name == "Silu" || name == "Swish") {
    a.kind = ActKind::kSiLU;
  } else if (name == "Tanh") {
    a.kind = ActKind::kTanh;
  } else if (name == "GELU" || name == "Gelu") {
    a.kind = ActKind::kGelu;
  } else if (name == "GELUTanh" || name == "GeluTanh" || name == "FastGelu") {
    a.kind = ActKind::kGeluTanh;
  } else {
    return false;
  }
  *out = a;
  return true;
}

}  // namespace edgeai::kernels::cpu
