// MatMul(A, W) + bias becomes Gemm(A, W, bias) when W is a constant 2-D float matrix [K, N] and
// bias a constant of shape [N], [1, N] or a single number: one node, and the bias is added in
// the GEMM's output loop. A must be 2-D, or of a statically known shape [d0, ..., K]: then
// Reshape(A, [d0 * ..., K]) -> Gemm -> Reshape(Y, [d0, ..., N]) (Reshape shares storage, no copy).
#include "passes/pass_util.h"
#include "passes/passes.h"

namespace edgeai::passes {
namespace {

ir::Node reshape_node(ir::Graph& g, const GraphIndex& idx, const std::string& name, const std::string& in, const std::string& out,
                      const Shape& shape) {
  Tensor t = Tensor::create(DType::kI64, {static_cast<int64_t>(shape.size())}).value();
  for (size_t i = 0; i < shape.size(); ++i) t.data<int64_t>()[i] = shape[i];
  ir::Node n;
  n.name = idx.fresh_name(name);
  n.op_type = "Reshape";
  n.inputs = {in, add_initializer(g, idx, out + "_shape", std::move(t))};
  n.outputs = {out};
  return n;
}

}  // namespace

Result<int> fuse_matmul_add(ir::Graph& g) {
  int count = 0;
  for (bool changed = true; changed;) {
    changed = false;
    GraphIndex idx(g);
    std::vector<bool> removed(g.nodes.size(), false), touched(g.nodes.size(), false);
    std::vector<ir::Node> added;
    for (size_t i = 0; i < g.nodes.size(); ++i) {
      ir::Node& mm = g.nodes[i];
      if (touched[i] || !mm.domain.empty() || mm.op_type != "MatMul" || mm.inputs.size() != 2 ||
          mm.outputs.size() != 1) {
        continue;
      }
      const Tensor* w = idx.constant(mm.inputs[1]);
      if (!w || w->rank() != 2 || !dtype_is_float(w->dtype())) continue;
      const int64_t k = w->dim(0), n = w->dim(1);
      const int rank = known_rank(g, idx, mm.inputs[0]);
      Shape a_shape;
      const bool flatten = rank != 2;
      if (flatten) {
        if (onnx_opset(g) < 5 || !known_shape(g, idx, mm.inputs[0], &a_shape) || a_shape.size() < 3 ||
            a_shape.back() != k) {
          continue;
        }
        bool zero = false;
        for (int64_t d : a_shape) zero = zero || d == 0;
        if (zero || n == 0) continue;
      }
      int j = sole_consumer_op(g, idx, mm.outputs[0], "Add");
      if (j < 0 || touched[j]) continue;
      const ir::Node& add = g.nodes[j];
      const std::string bias_name = other_input(add, mm.outputs[0]);
      const Tensor* bias = idx.constant(bias_name);
      if (!bias || bias->dtype() != w->dtype() || bias->rank() > 2) continue;
      const bool ok_shape = bias->numel() == 1 || (bias->numel() == n && bias->shape().back() == n);
      if (!ok_shape) continue;
      const std::string y = add.outputs[0];
      mm.op_type = "Gemm";
      mm.inputs.push_back(bias_name);
      if (!flatten) {
        mm.outputs[0] = y;
      } else {
        const Shape lead(a_shape.begin(), a_shape.end() - 1);
        const int64_t m = shape_numel(lead);
        const std::string a2 = idx.fresh_name(mm.inputs[0] + "_2d");
        const std::string y2 = idx.fresh_name(y + "_2d");
        added.push_back(reshape_node(g, idx, mm.name + "_flatten", mm.inputs[0], a2, {m, k}));
        Shape out = lead;
        out.push_back(n);
        added.push_back(reshape_node(g, idx, mm.name + "_unflatten", y2, y, out));
        mm.inputs[0] = a2;
        mm.outputs[0] = y2;
      }
      removed[j] = touched[i] = touched[j] = true;
      ++count;
      changed = true;
    }
    if (changed) {
      erase_nodes(g, removed);
      for (auto& a : added) g.nodes.push_back(std::move(a));
    }
  }
  return count;
}

}  // namespace edgeai::passes
