// Reshape followed by an elementwise activation becomes the activation followed by the Reshape
// (the same numbers: the activation acts on each element alone). It brings the activation next to
// the Gemm that fuse_matmul_add wraps in Reshapes, so fuse_activation can absorb it.
#include <set>

#include "passes/pass_util.h"
#include "passes/passes.h"

namespace edgeai::passes {

Result<int> swap_reshape_activation(ir::Graph& g) {
  static const std::set<std::string> kActivations = {"Relu", "Sigmoid", "Tanh", "LeakyRelu", "HardSwish",
                                                     "HardSigmoid", "Clip", "Gelu"};
  int count = 0;
  for (bool changed = true; changed;) {
    changed = false;
    GraphIndex idx(g);
    std::vector<bool> touched(g.nodes.size(), false);
    for (size_t i = 0; i < g.nodes.size(); ++i) {
      ir::Node& r = g.nodes[i];
      if (touched[i] || !r.domain.empty() || r.op_type != "Reshape" || r.inputs.size() != 2 ||
          r.outputs.size() != 1 || r.inputs[0].empty()) {
        continue;
      }
      // The Reshape's input must come from a Gemm (the case this exists for) and go nowhere else.
      const int p = idx.producer(r.inputs[0]);
      if (p < 0 || (g.nodes[p].op_type != "Gemm") || idx.sole_consumer(r.inputs[0]) != static_cast<int>(i)) continue;
      const int j = idx.sole_consumer(r.outputs[0]);
      if (j < 0 || touched[j]) continue;
      ir::Node& act = g.nodes[j];
      const bool ok = (act.domain.empty() || act.domain == kEdgeaiDomain) && kActivations.count(act.op_type) &&
                      !act.inputs.empty() && act.inputs[0] == r.outputs[0] && act.outputs.size() == 1;
      if (!ok) continue;
      // Clip's bounds are constants (or absent); any other input disqualifies.
      bool const_rest = true;
      for (size_t k = 1; k < act.inputs.size(); ++k) {
        const_rest = const_rest && (act.inputs[k].empty() || idx.constant(act.inputs[k]));
      }
      if (!const_rest) continue;
      // x -> Reshape -> r_out -> act -> y   becomes   x -> act -> x_act -> Reshape -> y (a new
      // name for the middle value: its shape changed).
      const std::string x = r.inputs[0], y = act.outputs[0];
      const std::string mid = idx.fresh_name(x + "_" + act.op_type);
      act.inputs[0] = x;
      act.outputs[0] = mid;
      r.inputs[0] = mid;
      r.outputs[0] = y;
      touched[i] = touched[j] = true;
      ++count;
      changed = true;
    }
  }
  return count;
}

}  // namespace edgeai::passes
