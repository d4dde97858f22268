#include "passes/optimize.h"

namespace edgeai::passes {

Status optimize_graph(ir::Graph& g, const OptimizeOptions& options) {
  if (!options.enabled) return ok_status();
  (void)g;  // no passes yet
  return ok_status();
}

}  // namespace edgeai::passes
