// MatMul(A, W) + bias becomes Gemm(A, W, bias) when A is 2-D, W a constant 2-D float matrix
// and bias a constant of shape [N], [1, N] or a single number: one node, and the bias is added
// in the GEMM's output loop. (A of rank 3 or more stays MatMul + Add: Gemm is 2-D only.)
#include "passes/pass_util.h"
#include "passes/passes.h"

namespace edgeai::passes {

Result<int> fuse_matmul_add(ir::Graph& g) {
  int count = 0;
  for (bool changed = true; changed;) {
    changed = false;
    GraphIndex idx(g);
    std::vector<bool> removed(g.nodes.size(), false), touched(g.nodes.size(), false);
    for (size_t i = 0; i < g.nodes.size(); ++i) {
      ir::Node& mm = g.nodes[i];
      if (touched[i] || !mm.domain.empty() || mm.op_type != "MatMul" || mm.inputs.size() != 2 ||
          mm.outputs.size() != 1) {
        continue;
      }
      const Tensor* w = idx.constant(mm.inputs[1]);
      if (!w || w->rank() != 2 || !dtype_is_float(w->dtype())) continue;
      const int64_t n = w->dim(1);
      if (known_rank(g, idx, mm.inputs[0]) != 2) continue;
      int j = sole_consumer_op(g, idx, mm.outputs[0], "Add");
      if (j < 0 || touched[j]) continue;
      const ir::Node& add = g.nodes[j];
      const std::string bias_name = other_input(add, mm.outputs[0]);
      const Tensor* bias = idx.constant(bias_name);
      if (!bias || bias->dtype() != w->dtype() || bias->rank() > 2) continue;
      const bool ok_shape = bias->numel() == 1 || (bias->numel() == n && bias->shape().back() == n);
      if (!ok_shape) continue;
      mm.op_type = "Gemm";
      mm.inputs.push_back(bias_name);
      mm.outputs[0] = add.outputs[0];
      removed[j] = touched[i] = touched[j] = true;
      ++count;
      changed = true;
    }
    if (changed) erase_nodes(g, removed);
  }
  return count;
}

}  // namespace edgeai::passes
