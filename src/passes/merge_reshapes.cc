// Reshape(Reshape(x, s1), s2) becomes Reshape(x, s2) when nothing else reads the middle value
// and s2 is a constant without 0 entries (a 0 copies a dim of the middle shape). Such chains
// appear once Transposes turn into Reshapes and MatMuls are wrapped for Gemm.
#include "passes/pass_util.h"
#include "passes/passes.h"

namespace edgeai::passes {

Result<int> merge_reshapes(ir::Graph& g) {
  int count = 0;
  for (bool changed = true; changed;) {
    changed = false;
    GraphIndex idx(g);
    std::vector<bool> removed(g.nodes.size(), false), touched(g.nodes.size(), false);
    for (size_t i = 0; i < g.nodes.size(); ++i) {
      ir::Node& outer = g.nodes[i];
      if (touched[i] || !outer.domain.empty() || outer.op_type != "Reshape" || outer.inputs.size() != 2 ||
          outer.outputs.size() != 1) {
        continue;
      }
      const Tensor* s2 = idx.constant(outer.inputs[1]);
      if (!s2 || s2->dtype() != DType::kI64) continue;
      bool zero = false;
      for (int64_t v : s2->to_int64_vector()) zero = zero || v == 0;
      if (zero) continue;
      const int p = producer_op(g, idx, outer.inputs[0], "Reshape");
      if (p < 0 || touched[p] || idx.sole_consumer(outer.inputs[0]) != static_cast<int>(i)) continue;
      const ir::Node& inner = g.nodes[p];
      if (inner.inputs.empty() || inner.inputs[0].empty()) continue;
      outer.inputs[0] = inner.inputs[0];
      removed[p] = touched[p] = touched[i] = true;
      ++count;
      changed = true;
    }
    if (changed) erase_nodes(g, removed);
  }
  return count;
}

}  // namespace edgeai::passes
