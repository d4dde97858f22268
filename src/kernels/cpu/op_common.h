// What the optimized CPU op kernels share: the state base (chosen micro-kernel table, and the
// reference kernel to fall back to at run time for inputs the fast path does not take), and small
// tensor helpers. Portable.
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

#include "kernels/cpu/ukernels.h"
#include "kernels/kernel.h"

namespace edgeai::kernels::cpu {

// The reference kernel of an op (null when none).
KernelFn find_reference(std::string_view domain, std::string_view op_type);

class FastState : public KernelState {
 public:
  const UKernels* uk = nullptr;
  KernelFn reference = nullptr;

  // Runs the reference kernel (an error naming the node when there is none).
  Status fall_back(KernelContext& ctx) const;
};

// Fills the base part of a state: table from the CPU, the reference kernel. False when the op
// has no reference kernel (then the fast path must take every input itself).
void init_fast_state(const PrepareContext& ctx, std::string_view domain, FastState* s);

// The state of a node that a kernel registered without a state-building prepare cannot have;
// kernels call this to get their state or fall back.
template <class S>
const S* state_of(const KernelContext& ctx) {
  return static_cast<const S*>(ctx.state());
}

// Whether input i is declared (or known constant) with a dtype other than f32: the fast path
// declines such nodes at prepare.
bool declared_not_f32(const PrepareContext& ctx, int i);

inline bool is_f32_tensor(const KernelContext& ctx, int i) {
  return ctx.has_input(i) && ctx.input_value(i).is_tensor() && ctx.input(i).dtype() == DType::kF32;
}

}  // namespace edgeai::kernels::cpu
