// A Transpose that only moves dims of size 1 keeps the elements in the same order: it is a
// Reshape (which shares its input's storage: no copy). Needs the input's shape statically (see
// known_shape). The transformer encoder of bench/export_models.py has two per layer, around
// [1,128,256] <-> [128,1,256].
#include "passes/pass_util.h"
#include "passes/passes.h"

namespace edgeai::passes {

Result<int> transpose_to_reshape(ir::Graph& g) {
  int count = 0;
  if (onnx_opset(g) < 5) return count;  // Reshape takes its shape as an input from opset 5
  GraphIndex idx(g);
  for (auto& n : g.nodes) {
    if (!n.domain.empty() || n.op_type != "Transpose" || n.inputs.size() != 1 || n.outputs.size() != 1) continue;
    Shape in, out;
    if (!known_shape(g, idx, n.inputs[0], &in) || !known_shape(g, idx, n.outputs[0], &out)) continue;
    std::vector<int64_t> perm;
    if (const ir::Attribute* a = n.attr("perm")) perm = a->ints;
    if (perm.empty()) {
      for (int i = static_cast<int>(in.size()) - 1; i >= 0; --i) perm.push_back(i);
    }
    // The axes of size > 1, in output order, must be increasing.
    int64_t last = -1;
    bool order_kept = true;
    for (int64_t p : perm) {
      if (p < 0) p += static_cast<int64_t>(in.size());
      if (in[p] == 1) continue;
      order_kept = order_kept && p > last;
      last = p;
    }
    if (!order_kept) continue;
    bool has_zero = false;
    for (int64_t d : out) has_zero = has_zero || d == 0;
    if (has_zero) continue;  // 0 in a Reshape shape means "copy the input's dim"
    Tensor shape = Tensor::create(DType::kI64, {static_cast<int64_t>(out.size())}).value();
    for (size_t i = 0; i < out.size(); ++i) shape.data<int64_t>()[i] = out[i];
    n.op_type = "Reshape";
    n.attributes.clear();
    n.inputs.push_back(add_initializer(g, idx, n.outputs[0] + "_shape", std::move(shape)));
    ++count;
  }
  return count;
}

}  // namespace edgeai::passes
