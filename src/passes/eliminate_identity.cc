// Identity, Dropout when it is an identity (inference) and Pad by zero on every side are removed: their readers read the
// input directly. When the output must keep its name (a graph output, or read by a subgraph), the
// input's producer is renamed to write it instead, where that is safe.
#include "passes/pass_util.h"
#include "passes/passes.h"

namespace edgeai::passes {
namespace {

// Whether node n passes its input 0 through unchanged to output 0 and has no other used output.
bool is_identity(const ir::Graph& g, const GraphIndex& idx, const ir::Node& n) {
  if (!n.domain.empty() || n.inputs.empty() || n.inputs[0].empty() || n.outputs.empty() ||
      n.outputs[0].empty()) {
    return false;
  }
  if (n.op_type == "Identity") return n.inputs.size() == 1 && n.outputs.size() == 1;
  if (n.op_type == "Pad") {
    // Pads of zero on every side, whatever the mode (exporters write them: torch's AvgPool2d).
    std::vector<int64_t> pads;
    if (!ints_attr_or_input(idx, n, "pads", 1, &pads) || pads.empty()) return false;
    for (int64_t p : pads) {
      if (p != 0) return false;
    }
    return n.outputs.size() == 1;
  }
  if (n.op_type != "Dropout") return false;
  // The mask output must be unused.
  for (size_t k = 1; k < n.outputs.size(); ++k) {
    if (!n.outputs[k].empty() && idx.use_count(n.outputs[k]) > 0) return false;
  }
  const int opset = onnx_opset(g);
  if (opset < 7) {
    const ir::Attribute* t = n.attr("is_test");
    return t && t->i != 0;  // before opset 7 Dropout trains unless is_test
  }
  if (opset >= 12 && n.inputs.size() >= 3 && !n.inputs[2].empty()) {
    // training_mode must be a constant false.
    const Tensor* tm = idx.constant(n.inputs[2]);
    if (!tm || tm->numel() != 1) return false;
    const bool on = tm->dtype() == DType::kBool ? tm->data<bool>()[0] : tm->get_double(0) != 0;
    if (on) return false;
  }
  return true;
}

}  // namespace

Result<int> eliminate_identity(ir::Graph& g) {
  int count = 0;
  for (bool changed = true; changed;) {
    changed = false;
    GraphIndex idx(g);
    std::vector<bool> removed(g.nodes.size(), false);
    std::vector<bool> touched(g.nodes.size(), false);
    for (size_t i = 0; i < g.nodes.size(); ++i) {
      if (touched[i] || !is_identity(g, idx, g.nodes[i])) continue;
      const std::string in = g.nodes[i].inputs[0];
      const std::string out = g.nodes[i].outputs[0];
      if (in == out) continue;
      if (!idx.is_pinned(out)) {
        replace_uses(g, out, in);
      } else {
        // The output keeps its name: the producer of the input writes it instead. Only when the
        // input is a plain intermediate value read by nothing but this node.
        int p = idx.producer(in);
        if (p < 0 || touched[p] || idx.use_count(in) != 1 || idx.is_graph_output(in)) continue;
        for (auto& o : g.nodes[p].outputs) {
          if (o == in) o = out;
        }
        touched[p] = true;
      }
      removed[i] = touched[i] = true;
      // Readers of `out` now changed; do not match them again in this sweep.
      for (int c : idx.consumers(out)) touched[c] = true;
      ++count;
      changed = true;
    }
    if (changed) erase_nodes(g, removed);
  }
  return count;
}

}  // namespace edgeai::passes
