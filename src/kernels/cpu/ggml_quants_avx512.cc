// GGML block-format dot-product kernels for avx512 (stub: the reference runs until they land).
#include "kernels/ggml_quants_impl.h"

namespace edgeai::kernels::ggml {

namespace {
constexpr KernelTable kTable = [] {
  KernelTable t{"avx512-vnni", {}};
  return t;
}();
}  // namespace

const KernelTable& avx512_kernels() { return kTable; }

}  // namespace edgeai::kernels::ggml
