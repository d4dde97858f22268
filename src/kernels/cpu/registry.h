// The optimized CPU kernels' op table. An entry here takes precedence over the reference kernel
// for its op when its prepare step accepts the node (see PrepareFn); otherwise the reference
// kernel runs. ISA-specific code lives in files named *_avx512.cc, *_avx2.cc, *_neon.cc, each
// compiled with its own flags and called only when the CPU has that ISA.
#pragma once

#include <span>

#include "kernels/kernel.h"

namespace edgeai::kernels::cpu {

std::span<const KernelEntry> cpu_kernels();

}  // namespace edgeai::kernels::cpu
