#include "ir/graph.h"

#include <algorithm>
#include <set>
#include <unordered_set>

namespace edgeai::ir {

int64_t Graph::opset(std::string_view domain) const {
  std::string d(domain);
  if (d == "ai.onnx") d = "";
  auto it = opsets.find(d);
  return it == opsets.end() ? 0 : it->second;
}

std::vector<const ValueInfo*> Graph::feed_inputs() const {
  std::vector<const ValueInfo*> r;
  for (const auto& in : inputs) {
    if (!initializers.count(in.name)) r.push_back(&in);
  }
  return r;
}

namespace {
template <typename F>
void for_each_subgraph(const Graph& g, F&& f) {
  for (const auto& n : g.nodes) {
    for (const auto& [k, a] : n.attributes) {
      if (a.g) f(*a.g);
      for (const auto& sg : a.graphs) f(*sg);
    }
  }
}
}  // namespace

int64_t Graph::parameter_count() const {
  int64_t n = 0;
  for (const auto& [k, t] : initializers) n += t.numel();
  for_each_subgraph(*this, [&](const Graph& sg) { n += sg.parameter_count(); });
  return n;
}

int64_t Graph::parameter_bytes() const {
  int64_t n = 0;
  for (const auto& [k, t] : initializers) n += static_cast<int64_t>(t.nbytes());
  for_each_subgraph(*this, [&](const Graph& sg) { n += sg.parameter_bytes(); });
  return n;
}

std::map<std::string, int> Graph::op_histogram() const {
  std::map<std::string, int> h;
  for (const auto& n : nodes) {
    std::string key = n.domain.empty() || n.domain == "ai.onnx" ? n.op_type : n.domain + "." + n.op_type;
    h[key]++;
  }
  for_each_subgraph(*this, [&](const Graph& sg) {
    for (const auto& [k, v] : sg.op_histogram()) h[k] += v;
  });
  return h;
}

void collect_outer_refs(const Graph& g, std::set<std::string>& refs) {
  std::unordered_set<std::string> defined;
  for (const auto& in : g.inputs) defined.insert(in.name);
  for (const auto& [k, t] : g.initializers) defined.insert(k);
  for (const auto& n : g.nodes) {
    for (const auto& o : n.outputs) defined.insert(o);
  }
  std::set<std::string> inner;
  for (const auto& n : g.nodes) {
    for (const auto& i : n.inputs) {
      if (!i.empty() && !defined.count(i)) refs.insert(i);
    }
    for (const auto& [k, a] : n.attributes) {
      auto visit = [&](const Graph& sg) {
        std::set<std::string> sub;
        collect_outer_refs(sg, sub);
        for (const auto& s : sub) {
          if (!defined.count(s)) refs.insert(s);
        }
      };
      if (a.g) visit(*a.g);
      for (const auto& sg : a.graphs) visit(*sg);
    }
  }
}

Result<std::vector<size_t>> topological_order(const Graph& g, const std::vector<std::string>& outer) {
  std::unordered_map<std::string, size_t> producer;
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    for (const auto& o : g.nodes[i].outputs) {
      if (o.empty()) continue;
      if (!producer.emplace(o, i).second) {
        return invalid_argument("value '" + o + "' is produced by more than one node ('" +
                                g.nodes[producer[o]].name + "' and '" + g.nodes[i].name + "')");
      }
    }
  }
  std::unordered_set<std::string> available(outer.begin(), outer.end());
  for (const auto& in : g.inputs) available.insert(in.name);
  for (const auto& [k, t] : g.initializers) available.insert(k);

  // Each node's dependencies: its inputs and what its subgraphs read from outside.
  std::vector<std::vector<std::string>> deps(g.nodes.size());
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    const Node& n = g.nodes[i];
    std::set<std::string> d;
    for (const auto& in : n.inputs) {
      if (!in.empty()) d.insert(in);
    }
    for (const auto& [k, a] : n.attributes) {
      if (a.g) collect_outer_refs(*a.g, d);
      for (const auto& sg : a.graphs) collect_outer_refs(*sg, d);
    }
    for (const auto& name : d) {
      if (!producer.count(name) && !available.count(name)) {
        return invalid_argument("node '" + n.name + "' (" + n.op_type + ") reads undefined value '" +
                                name + "'");
      }
    }
    deps[i].assign(d.begin(), d.end());
  }

  // Kahn's algorithm, stable in file order.
  std::vector<int> pending(g.nodes.size(), 0);
  std::vector<std::vector<size_t>> users(g.nodes.size());
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    for (const auto& name : deps[i]) {
      auto it = producer.find(name);
      if (it != producer.end() && !available.count(name)) {
        if (it->second == i) {
          return invalid_argument("node '" + g.nodes[i].name + "' (" + g.nodes[i].op_type +
                                  ") reads its own output '" + name + "': the graph has a cycle");
        }
        pending[i]++;
        users[it->second].push_back(i);
      }
    }
  }
  std::vector<size_t> order;
  std::vector<size_t> ready;
  for (size_t i = g.nodes.size(); i-- > 0;) {
    if (pending[i] == 0) ready.push_back(i);
  }
  // `ready` is used as a stack holding lowest index at the back.
  while (!ready.empty()) {
    size_t i = ready.back();
    ready.pop_back();
    order.push_back(i);
    std::vector<size_t> newly;
    for (size_t u : users[i]) {
      if (--pending[u] == 0) newly.push_back(u);
    }
    for (size_t u : newly) ready.push_back(u);
    std::sort(ready.begin(), ready.end(), std::greater<size_t>());
  }
  if (order.size() != g.nodes.size()) {
    for (size_t i = 0; i < g.nodes.size(); ++i) {
      if (pending[i] > 0) {
        return invalid_argument("the graph has a cycle through node '" + g.nodes[i].name + "' (" +
                                g.nodes[i].op_type + ")");
      }
    }
    return invalid_argument("the graph has a cycle");
  }
  return order;
}

}  // namespace edgeai::ir
