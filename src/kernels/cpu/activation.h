// Activations the optimized kernels apply in their epilogues (FusedConv / FusedGemm) and as
// standalone elementwise ops. Portable: no intrinsics here.
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

namespace edgeai::kernels::cpu {

enum class ActKind : uint8_t {
  kNone,
  kRelu,
  kClip,         // min(max(x, alpha), beta)
  kLeakyRelu,    // x >= 0 ? x : alpha * x
  kHardSigmoid,  // max(0, min(1, alpha * x + beta))
  kHardSwish,    // x * max(0, min(1, x / 6 + 1 / 2))
  kSigmoid,
  kSiLU,         // x * sigmoid(x)
  kTanh,
  kGelu,         // 0.5 x (1 + erf(x / sqrt 2))
  kGeluTanh,     // 0.5 x (1 + tanh(sqrt(2 / pi) (x + 0.044715 x^3)))
};

struct Activation {
  ActKind kind = ActKind::kNone;
  float alpha = 0.0f;
  float beta = 0.0f;
};

// The activation named by FusedConv / FusedGemm's `activation` attribute ("Relu", "Clip",
// "HardSwish", "Sigmoid", "SiLU", "GELU", "LeakyRelu", "Tanh", "HardSigmoid", or empty) with its
// `activation_params`. False when the name or the parameters are not understood.
bool parse_activation(std::string_view name, const std::vector<float>& params, Activation* out);

}  // namespace edgeai::kernels::cpu
