// Runs one node of a graph with the reference kernel on given input values, at optimization time
// (constant folding). Internal to src/passes.
#pragma once

#include <vector>

#include "core/thread_pool.h"
#include "edgeai/status.h"
#include "ir/graph.h"
#include "ir/op_registry.h"
#include "kernels/kernel.h"

namespace edgeai::passes {

// Everything a node evaluation needs, built once per pass.
struct NodeEvaluator {
  ir::OpRegistry registry;
  ThreadPool pool{1};
  CpuFeatures cpu;

  // Runs `n` (of graph `g`, for its opset) on `inputs` (one per node input; kNone for absent
  // ones). Outputs are heap tensors owned by the returned values; an output the kernel did not
  // produce is kNone. Errors are the kernel's.
  Result<std::vector<kernels::Value>> run(const ir::Graph& g, const ir::Node& n,
                                          const std::vector<kernels::Value>& inputs);
};

}  // namespace edgeai::passes
