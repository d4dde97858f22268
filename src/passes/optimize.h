// Graph rewrites run when a session is prepared. Each pass is one file in src/passes; this is
// the list that runs them in order.
#pragma once

#include "edgeai/status.h"
#include "ir/graph.h"

namespace edgeai::passes {

struct OptimizeOptions {
  bool enabled = true;
};

// Rewrites `g` in place into an equivalent, faster graph.
Status optimize_graph(ir::Graph& g, const OptimizeOptions& options);

}  // namespace edgeai::passes
