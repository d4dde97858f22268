// Shape and Size of a value whose shape is known statically (see known_shape) become constants;
// constant folding then evaluates the shape arithmetic exporters emit around them (Gather, Add,
// Div, Mul, Concat of dims), leaving Reshape and Slice with constant arguments. The transformer
// encoder of bench/export_models.py computes its q/k/v split points this way.
#include <algorithm>

#include "passes/pass_util.h"
#include "passes/passes.h"

namespace edgeai::passes {

Result<int> fold_shapes(ir::Graph& g) {
  int count = 0;
  GraphIndex idx(g);
  std::vector<bool> removed(g.nodes.size(), false);
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    const ir::Node& n = g.nodes[i];
    if (!n.domain.empty() || (n.op_type != "Shape" && n.op_type != "Size") || n.inputs.size() != 1 ||
        n.outputs.size() != 1 || n.outputs[0].empty() || g.initializers.count(n.outputs[0]) ||
        idx.is_graph_input(n.outputs[0])) {
      continue;
    }
    Shape s;
    if (!known_shape(g, idx, n.inputs[0], &s)) continue;
    Tensor t;
    if (n.op_type == "Size") {
      t = Tensor::from_vector<int64_t>(DType::kI64, {}, {shape_numel(s)});
    } else {
      // Opset 15: the dims [start, end), clamped, negative counting from the end.
      const int64_t r = static_cast<int64_t>(s.size());
      const ir::Attribute* a = n.attr("start");
      const ir::Attribute* b = n.attr("end");
      int64_t start = a ? a->i : 0, end = b ? b->i : r;
      if (start < 0) start += r;
      if (end < 0) end += r;
      start = std::clamp<int64_t>(start, 0, r);
      end = std::clamp<int64_t>(end, 0, r);
      Shape dims = end > start ? Shape(s.begin() + start, s.begin() + end) : Shape{};
      t = Tensor::from_vector<int64_t>(DType::kI64, {static_cast<int64_t>(dims.size())}, dims);
    }
    g.initializers.emplace(n.outputs[0], std::move(t));
    removed[i] = true;
    ++count;
  }
  if (count) erase_nodes(g, removed);
  return count;
}

}  // namespace edgeai::passes
