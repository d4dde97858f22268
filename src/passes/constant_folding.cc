// Constant folding: a node whose inputs are all constants (initializers no graph input can
// override) is run once, now, with the reference kernel, and its outputs become initializers.
// Skipped: random ops (their output must differ from run to run), ops with subgraphs, sequence
// and optional ops, ops whose kernel fails (the runtime reports the error when the session runs),
// and outputs much larger than their inputs (Expand, Tile, ConstantOfShape, Range of a large
// size: computing them at run time is cheaper than holding them), and DequantizeLinear (a QDQ
// model's int8 weights stay int8).
#include <set>

#include "passes/node_eval.h"
#include "passes/pass_util.h"
#include "passes/passes.h"

namespace edgeai::passes {
namespace {

// An output may be folded when it is at most this large, or no larger than the node's inputs.
constexpr size_t kSmallOutputBytes = size_t(1) << 20;

bool foldable_op(const ir::Node& n) {
  static const std::set<std::string> kNever = {
      "RandomNormal", "RandomUniform", "RandomNormalLike", "RandomUniformLike", "Multinomial",
      "Bernoulli", "If", "Loop", "Scan", "SequenceMap", "Constant",
      // Kept so that quantized (QDQ) weights stay int8 for the int8 kernels' pattern matching.
      "DequantizeLinear"};
  if (!n.domain.empty() && n.domain != "ai.onnx") return false;
  if (kNever.count(n.op_type)) return false;
  if (n.op_type.rfind("Sequence", 0) == 0 || n.op_type.rfind("Optional", 0) == 0 ||
      n.op_type == "SplitToSequence" || n.op_type == "ConcatFromSequence") {
    return false;
  }
  for (const auto& [k, a] : n.attributes) {
    if (a.g || !a.graphs.empty()) return false;
  }
  return true;
}

}  // namespace

Result<int> fold_constants(ir::Graph& g) {
  std::unique_ptr<NodeEvaluator> eval;
  int count = 0;
  for (bool changed = true; changed;) {
    changed = false;
    GraphIndex idx(g);
    std::vector<bool> removed(g.nodes.size(), false);
    for (size_t i = 0; i < g.nodes.size(); ++i) {
      const ir::Node& n = g.nodes[i];
      if (!foldable_op(n) || n.outputs.empty()) continue;
      std::vector<kernels::Value> inputs(n.inputs.size());
      size_t in_bytes = 0;
      bool all_const = !n.inputs.empty();
      for (size_t k = 0; k < n.inputs.size() && all_const; ++k) {
        if (n.inputs[k].empty()) continue;  // absent optional input
        const Tensor* t = idx.constant(n.inputs[k]);
        if (!t) {
          all_const = false;
          break;
        }
        inputs[k] = kernels::Value::of(*t);
        in_bytes += t->nbytes();
      }
      if (!all_const) continue;
      // Every output must be a fresh name (not already an initializer or graph input).
      bool outputs_ok = true;
      for (const auto& o : n.outputs) {
        if (!o.empty() && (g.initializers.count(o) || idx.is_graph_input(o))) outputs_ok = false;
      }
      if (!outputs_ok) continue;
      if (!eval) eval = std::make_unique<NodeEvaluator>();
      auto r = eval->run(g, n, inputs);
      if (!r.ok()) continue;
      size_t out_bytes = 0;
      bool all_tensors = true;
      for (size_t k = 0; k < n.outputs.size(); ++k) {
        if (n.outputs[k].empty()) continue;
        if (!(*r)[k].is_tensor()) {
          all_tensors = false;
          break;
        }
        out_bytes += (*r)[k].tensor.nbytes();
      }
      if (!all_tensors || out_bytes > std::max(in_bytes, kSmallOutputBytes)) continue;
      for (size_t k = 0; k < n.outputs.size(); ++k) {
        if (n.outputs[k].empty()) continue;
        Tensor t = std::move((*r)[k].tensor);
        // A kernel may hand back a view of an input (Reshape, Identity); the initializer gets its
        // own handle either way, sharing the storage is fine (initializers are read-only).
        g.initializers.emplace(n.outputs[k], std::move(t));
      }
      removed[i] = true;
      ++count;
      changed = true;
    }
    if (changed) erase_nodes(g, removed);
  }
  return count;
}

}  // namespace edgeai::passes
