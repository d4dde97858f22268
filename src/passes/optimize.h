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
  // 1x1 conv -> depthwise conv into one com.edgeai FusedPwDwConv (fuse_pointwise_depthwise). Off:
  // with the depthwise conv writing over its input (the 1x1 conv's output, still in cache), the
  // two nodes ran faster than the fused kernel (mobilenet_v2, 1 thread: 7.01 vs 7.31 ms summed
  // over nodes; efficientnet_b0 2-3% slower fused).
  bool fuse_pointwise_depthwise = false;
  // When set, receives one entry per pass run, in order.
  std::vector<PassReport>* report = nullptr;
};

// Rewrites `g` in place into an equivalent, faster graph: constants become initializers and are
// folded, identities and dead nodes go, BatchNormalization is folded into Conv/Gemm, LayerNorm
// and GELU patterns become single ops, Conv/Gemm absorb bias and activation (com.edgeai
// FusedConv / FusedGemm), and (when asked) a 1x1 conv feeding a depthwise conv becomes one com.edgeai
// FusedPwDwConv. Only the top-level graph is rewritten. On error `g` may be partly
// rewritten but is still a valid graph.
Status optimize_graph(ir::Graph& g, const OptimizeOptions& options);

}  // namespace edgeai::passes
