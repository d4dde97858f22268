// GGML block-format dot-product kernels for avx2 (stub: the reference runs until they land).
#include "kernels/ggml_quants_impl.h"

namespace edgeai::kernels::ggml {

namespace {
constexpr KernelTable kTable = [] {
  KernelTable t{"avx2", {}, {}, {}};
  return t;
}();
}  // namespace

const KernelTable& avx2_kernels() { return kTable; }

}  // namespace edgeai::kernels::ggml
