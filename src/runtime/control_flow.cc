#include "runtime/graph_plan.h"

namespace edgeai::runtime {

std::span<const kernels::KernelEntry> control_flow_kernels() {
  static const kernels::KernelEntry kTable[] = {{"", "", nullptr}};
  return std::span<const kernels::KernelEntry>(kTable, 0);
}

}  // namespace edgeai::runtime
