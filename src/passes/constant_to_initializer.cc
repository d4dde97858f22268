// Constant nodes become initializers of the same name: the value is then visible to the other
// passes (folding, fusion) and costs nothing at run time.
#include "passes/node_eval.h"
#include "passes/pass_util.h"
#include "passes/passes.h"

namespace edgeai::passes {

Result<int> constant_to_initializer(ir::Graph& g) {
  std::vector<bool> removed(g.nodes.size(), false);
  std::unique_ptr<NodeEvaluator> eval;  // built only for value_float/value_ints/... forms
  int count = 0;
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    const ir::Node& n = g.nodes[i];
    if (n.op_type != "Constant" || !n.domain.empty() || n.outputs.size() != 1 || n.outputs[0].empty() ||
        !n.inputs.empty()) {
      continue;
    }
    const std::string& out = n.outputs[0];
    // A graph input of the same name would override it; leave such oddities to the runtime.
    bool shadowed = g.initializers.count(out) > 0;
    for (const auto& in : g.inputs) shadowed = shadowed || in.name == out;
    if (shadowed) continue;
    Tensor value;
    const ir::Attribute* a = n.attr("value");
    if (a && a->type == ir::AttrType::kTensor && n.attributes.size() == 1) {
      value = a->t;  // shares the storage
    } else {
      if (!eval) eval = std::make_unique<NodeEvaluator>();
      auto r = eval->run(g, n, {});
      if (!r.ok() || r->size() != 1 || !(*r)[0].is_tensor()) continue;  // the runtime will report it
      value = std::move((*r)[0].tensor);
    }
    if (!value.defined()) continue;
    g.initializers.emplace(out, std::move(value));
    removed[i] = true;
    ++count;
  }
  if (count) erase_nodes(g, removed);
  return count;
}

}  // namespace edgeai::passes
