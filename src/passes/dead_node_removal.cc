// Dead-code removal: nodes none of whose outputs reach a graph output (directly, through other
// nodes, or read by a subgraph of a live node), and initializers that nothing reads any more.
// Declared graph inputs are kept even when unused: callers may still feed them.
#include <unordered_set>

#include "passes/pass_util.h"
#include "passes/passes.h"

namespace edgeai::passes {

Result<int> remove_dead_nodes(ir::Graph& g) {
  GraphIndex idx(g);
  std::unordered_set<std::string> needed;
  std::vector<int> stack;
  std::vector<bool> live(g.nodes.size(), false);
  auto need = [&](const std::string& v) {
    if (v.empty() || !needed.insert(v).second) return;
    int p = idx.producer(v);
    if (p >= 0 && !live[p]) {
      live[p] = true;
      stack.push_back(p);
    }
  };
  for (const auto& o : g.outputs) need(o.name);
  while (!stack.empty()) {
    const ir::Node& n = g.nodes[stack.back()];
    stack.pop_back();
    for (const auto& in : n.inputs) need(in);
    std::set<std::string> refs;
    for (const auto& [k, a] : n.attributes) {
      if (a.g) ir::collect_outer_refs(*a.g, refs);
      for (const auto& sg : a.graphs) ir::collect_outer_refs(*sg, refs);
    }
    for (const auto& r : refs) need(r);
  }
  int count = 0;
  std::vector<bool> removed(g.nodes.size(), false);
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    if (!live[i]) {
      removed[i] = true;
      ++count;
    }
  }
  if (count) erase_nodes(g, removed);
  std::unordered_set<std::string> inputs;
  for (const auto& in : g.inputs) inputs.insert(in.name);
  for (auto it = g.initializers.begin(); it != g.initializers.end();) {
    if (!needed.count(it->first) && !inputs.count(it->first)) it = g.initializers.erase(it);
    else ++it;
  }
  // Declarations of values that no longer exist.
  std::unordered_set<std::string> exists;
  for (const auto& n : g.nodes) {
    for (const auto& o : n.outputs) exists.insert(o);
  }
  std::erase_if(g.value_infos, [&](const ir::ValueInfo& vi) { return !exists.count(vi.name); });
  return count;
}

}  // namespace edgeai::passes
