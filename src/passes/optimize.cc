#include "passes/optimize.h"

#include "passes/passes.h"

namespace edgeai::passes {

Status optimize_graph(ir::Graph& g, const OptimizeOptions& options) {
  if (!options.enabled) return ok_status();
  // A graph that does not even order (a cycle, an undefined value, a value produced twice) is left
  // as it is, for the runtime to report; the passes assume a valid graph.
  if (!ir::topological_order(g, {}).ok()) return ok_status();
  struct Step {
    const char* name;
    Result<int> (*run)(ir::Graph&);
    bool OptimizeOptions::*when = nullptr;  // an option the step needs (opt-in steps)
  };
  // Order matters: constants first so that the later passes see them; shapes once the patterns
  // that need no shapes are replaced (fewer nodes to look through); Gelu before the activation
  // fusion that absorbs it; MatMul+Add -> Gemm before BatchNorm folding into Gemm; dead nodes
  // (and the initializers the folds replaced) last.
  static const Step kSteps[] = {
      {"constant_to_initializer", constant_to_initializer},
      {"eliminate_identity", eliminate_identity},
      {"fuse_qdq", fuse_qdq},  // before the folds see the weights' DequantizeLinear
      {"fold_constants", fold_constants},
      {"remove_dead_nodes", remove_dead_nodes},
      {"fuse_layer_norm", fuse_layer_norm},
      {"reduce_mean_to_pool", reduce_mean_to_pool},
      {"transpose_to_reshape", transpose_to_reshape},
      {"fold_shapes", fold_shapes},
      {"fold_constants", fold_constants},  // again, for the shape arithmetic
      {"remove_dead_nodes", remove_dead_nodes},
      {"fuse_gelu", fuse_gelu},
      {"fuse_matmul_add", fuse_matmul_add},
      {"fold_batch_norm", fold_batch_norm},
      {"fuse_conv_bias", fuse_conv_bias},
      {"fuse_conv_add", fuse_conv_add},  // after the bias folds, before the activation fusion
      {"merge_reshapes", merge_reshapes},
      {"swap_reshape_activation", swap_reshape_activation},
      {"fuse_activation", fuse_activation},
      {"fuse_pointwise_depthwise", fuse_pointwise_depthwise, &OptimizeOptions::fuse_pointwise_depthwise},
      {"remove_dead_nodes", remove_dead_nodes},
  };
  for (const Step& s : kSteps) {
    if (s.when && !(options.*s.when)) continue;
    auto r = s.run(g);
    if (!r.ok()) return r.status().with_context(std::string("graph pass ") + s.name + ": ");
    if (options.report) options.report->push_back({s.name, *r});
  }
  auto order = ir::topological_order(g, {});
  if (!order.ok()) return internal_error("the graph passes broke the graph: " + order.status().message());
  return ok_status();
}

}  // namespace edgeai::passes
