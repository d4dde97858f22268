// GGML block-format dot-product kernels for neon (stub: the reference runs until they land).
#include "kernels/ggml_quants_impl.h"

namespace edgeai::kernels::ggml {

namespace {
constexpr KernelTable kTable = [] {
  KernelTable t{"neon-dotprod", {}, {}, {}};
  return t;
}();
}  // namespace

const KernelTable& neon_kernels() { return kTable; }

}  // namespace edgeai::kernels::ggml
