// Reshape(Reshape(x, s1), s2) becomes Reshape(x, s2) when nothing else reads the middle value
// and s2 is a constant without 0 entries (a 0 copies a dim of the middle shape). Such chains
// appear once Transposes turn into Reshapes and MatMuls are wrapped for Gemm.
#include "passes/pass_util.h"
#include "passes/passes.h"

namespace edgeai::passes {

Result<int> merge_reshapes(ir::Graph& g) {
  return sweep_rewrites(g, false, [&](const GraphIndex& idx, size_t i, std::vector<bool>& removed,
                                      std::vector<bool>& touched) {
    ir::Node& outer = g.nodes[i];
    if (!outer.domain.empty() || outer.op_type != "Reshape" || outer.inputs.size() != 2 || outer.outputs.size() != 1) {
      return false;
    }
    const Tensor* s2 = idx.constant(outer.inputs[1]);
    if (!s2 || s2->dtype() != DType::kI64) return false;
    for (int64_t v : s2->to_int64_vector()) {
      if (v == 0) return false;
    }
    const int p = producer_op(g, idx, outer.inputs[0], "Reshape");
    if (p < 0 || touched[p] || idx.sole_consumer(outer.inputs[0]) != static_cast<int>(i)) return false;
    const ir::Node& inner = g.nodes[p];
    if (inner.inputs.empty() || inner.inputs[0].empty()) return false;
    outer.inputs[0] = inner.inputs[0];
    removed[p] = touched[p] = touched[i] = true;
    return true;
  });
}

}  // namespace edgeai::passes
