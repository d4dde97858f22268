// Runs one node of a graph on given input values outside a session: with the reference kernel at
// optimization time (constant folding), and, opt-in, with the optimized CPU kernel for callers
// that run a graph again and again with changing weights (the training engine's forward pass).
#pragma once

#include <memory>
#include <vector>

#include "core/thread_pool.h"
#include "edgeai/status.h"
#include "ir/graph.h"
#include "ir/op_registry.h"
#include "kernels/kernel.h"

namespace edgeai::passes {

// A node's optimized CPU kernel with the state its prepare step built (packed weights, chosen
// micro-kernel) for the constant input values it was prepared with. fn is null when no optimized
// kernel takes the node: the reference kernel runs it.
struct PreparedKernel {
  kernels::KernelFn fn = nullptr;
  std::unique_ptr<kernels::KernelState> state;
};

// Everything a node evaluation needs, built once per pass.
struct NodeEvaluator {
  ir::OpRegistry registry;
  ThreadPool pool{1};
  CpuFeatures cpu;

  // Runs `n` (of graph `g`, for its opset) with the reference kernel on `inputs` (one per node
  // input; kNone for absent ones). Outputs are heap tensors owned by the returned values; an
  // output the kernel did not produce is kNone. Errors are the kernel's.
  Result<std::vector<kernels::Value>> run(const ir::Graph& g, const ir::Node& n,
                                          const std::vector<kernels::Value>& inputs);

  // Opt-in optimized path. Prepares n's optimized CPU kernel for `cpu_features`, showing the
  // prepare step inputs[i] as a constant input where constant[i] is true (the state may copy or
  // pack it: prepare again whenever such a value changes) and, for the others, only their dtype
  // (shapes dynamic, so the state holds for any batch). Null fn when no optimized kernel takes n.
  Result<PreparedKernel> prepare_fast(const ir::Graph& g, const ir::Node& n, const std::vector<kernels::Value>& inputs,
                                      const std::vector<bool>& constant, const CpuFeatures& cpu_features) const;
  // Runs n with `k` (the reference kernel when k.fn is null), on `run_pool` and `cpu_features`.
  Result<std::vector<kernels::Value>> run_prepared(const ir::Graph& g, const ir::Node& n, const PreparedKernel& k,
                                                   const std::vector<kernels::Value>& inputs, ThreadPool& run_pool,
                                                   const CpuFeatures& cpu_features) const;
};

}  // namespace edgeai::passes
