// Graph rewrites run when a session is prepared. Each pass is one file in src/passes; this is
// the list that runs them in order.
#pragma once

#include <string>
#include <vector>

#include "edgeai/status.h"
#include "ir/graph.h"

namespace edgeai::passes {

// What one pass did.
struct PassReport {
  std::string pass;
  int rewrites = 0;
};

struct OptimizeOptions {
  bool enabled = true;
  // When set, receives one entry per pass run, in order.
  std::vector<PassReport>* report = nullptr;
};

// Rewrites `g` in place into an equivalent, faster graph: constants become initializers and are
// folded, identities and dead nodes go, BatchNormalization is folded into Conv/Gemm, LayerNorm
// and GELU patterns become single ops, Conv/Gemm absorb bias and activation (com.edgeai
// FusedConv / FusedGemm), and a 1x1 conv feeding a depthwise conv becomes one com.edgeai
// FusedPwDwConv (with EDGEAI_FUSE_PWDW=1 for now). Only the top-level graph is rewritten. On error `g` may be partly
// rewritten but is still a valid graph.
Status optimize_graph(ir::Graph& g, const OptimizeOptions& options);

}  // namespace edgeai::passes
