#include "compress/quantize/graph_edit.h"

#include <fnmatch.h>

#include <algorithm>

namespace edgeai::compress {

namespace {

template <typename F>
void for_each_subgraph(const ir::Node& n, F&& f) {
  for (const auto& [k, a] : n.attributes) {
    if (a.type == ir::AttrType::kGraph && a.g) f(*a.g);
    if (a.type == ir::AttrType::kGraphs) {
      for (const auto& sg : a.graphs) {
        if (sg) f(*sg);
      }
    }
  }
}

void collect_names(const ir::Graph& g, std::set<std::string>& out) {
  for (const auto& v : g.inputs) out.insert(v.name);
  for (const auto& v : g.outputs) out.insert(v.name);
  for (const auto& [k, t] : g.initializers) out.insert(k);
  for (const auto& n : g.nodes) {
    out.insert(n.name);
    for (const auto& x : n.inputs) out.insert(x);
    for (const auto& x : n.outputs) out.insert(x);
    for_each_subgraph(n, [&](const ir::Graph& sg) { collect_names(sg, out); });
  }
}

}  // namespace

const Tensor* find_constant(const ir::Graph& g, const std::string& name) {
  if (name.empty()) return nullptr;
  auto it = g.initializers.find(name);
  if (it != g.initializers.end()) {
    for (const auto& in : g.inputs) {
      if (in.name == name) return nullptr;  // an initializer that is also an input may be overridden
    }
    return &it->second;
  }
  int p = producer_index(g, name);
  if (p < 0) return nullptr;
  const ir::Node& n = g.nodes[p];
  if (n.op_type != "Constant" || !n.domain.empty()) return nullptr;
  const ir::Attribute* v = n.attr("value");
  return v && v->type == ir::AttrType::kTensor ? &v->t : nullptr;
}

int producer_index(const ir::Graph& g, const std::string& name) {
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    for (const auto& o : g.nodes[i].outputs) {
      if (o == name) return static_cast<int>(i);
    }
  }
  return -1;
}

int use_count(const ir::Graph& g, const std::string& name) {
  int uses = 0;
  for (const auto& n : g.nodes) {
    for (const auto& x : n.inputs) uses += x == name;
    for_each_subgraph(n, [&](const ir::Graph& sg) {
      std::set<std::string> refs;
      ir::collect_outer_refs(sg, refs);
      uses += static_cast<int>(refs.count(name));
    });
  }
  return uses;
}

bool is_graph_output(const ir::Graph& g, const std::string& name) {
  return std::any_of(g.outputs.begin(), g.outputs.end(), [&](const ir::ValueInfo& v) { return v.name == name; });
}

NameSet::NameSet(const ir::Graph& g) { collect_names(g, used_); }

std::string NameSet::fresh(const std::string& want) {
  std::string name = want;
  for (int i = 1; used_.count(name); ++i) name = want + "_" + std::to_string(i);
  used_.insert(name);
  return name;
}

ir::Node make_node(const std::string& name, const std::string& op, std::vector<std::string> inputs,
                   std::vector<std::string> outputs) {
  ir::Node n;
  n.name = name;
  n.op_type = op;
  n.inputs = std::move(inputs);
  n.outputs = std::move(outputs);
  return n;
}

void set_int_attr(ir::Node& n, const std::string& name, int64_t v) {
  ir::Attribute a;
  a.name = name;
  a.type = ir::AttrType::kInt;
  a.i = v;
  n.attributes[name] = a;
}

int64_t int_attr(const ir::Node& n, const std::string& name, int64_t def) {
  const ir::Attribute* a = n.attr(name);
  return a && a->type == ir::AttrType::kInt ? a->i : def;
}

float float_attr(const ir::Node& n, const std::string& name, float def) {
  const ir::Attribute* a = n.attr(name);
  return a && a->type == ir::AttrType::kFloat ? a->f : def;
}

ir::Node add_dequantize(ir::Graph& g, NameSet& names, const std::string& prefix, QuantizedWeight q,
                        const std::string& output, bool zero_point) {
  std::string v = names.fresh(prefix), s = names.fresh(prefix + "_s");
  g.initializers[v] = std::move(q.values);
  g.initializers[s] = std::move(q.scale);
  std::vector<std::string> inputs{v, s};
  if (zero_point) {
    inputs.push_back(names.fresh(prefix + "_z"));
    g.initializers[inputs.back()] = std::move(q.zero_point);
  }
  ir::Node dq = make_node(names.fresh(prefix + "_DQ"), "DequantizeLinear", inputs, {output});
  if (q.axis >= 0) set_int_attr(dq, "axis", q.axis);
  return dq;
}

void remove_unused_constants(ir::Graph& g) {
  std::set<std::string> used;
  for (const auto& v : g.inputs) used.insert(v.name);
  for (const auto& v : g.outputs) used.insert(v.name);
  for (const auto& n : g.nodes) {
    used.insert(n.inputs.begin(), n.inputs.end());
    for_each_subgraph(n, [&](const ir::Graph& sg) { ir::collect_outer_refs(sg, used); });
  }
  for (auto it = g.initializers.begin(); it != g.initializers.end();) {
    if (!used.count(it->first)) it = g.initializers.erase(it);
    else ++it;
  }
  g.nodes.erase(std::remove_if(g.nodes.begin(), g.nodes.end(),
                               [&](const ir::Node& n) {
                                 return n.op_type == "Constant" && n.outputs.size() == 1 && !used.count(n.outputs[0]);
                               }),
                g.nodes.end());
}

int64_t constant_bytes(const ir::Graph& g) {
  int64_t bytes = 0;
  for (const auto& [k, t] : g.initializers) bytes += static_cast<int64_t>(t.nbytes());
  for (const auto& n : g.nodes) {
    if (n.op_type == "Constant") {
      if (const ir::Attribute* v = n.attr("value"); v && v->type == ir::AttrType::kTensor) bytes += v->t.nbytes();
    }
    for_each_subgraph(n, [&](const ir::Graph& sg) { bytes += constant_bytes(sg); });
  }
  return bytes;
}

namespace {
bool matches(const std::string& pattern, const ir::Node& n) {
  if (pattern == n.name || pattern == n.op_type) return true;
  return pattern.find_first_of("*?[") != std::string::npos && fnmatch(pattern.c_str(), n.name.c_str(), 0) == 0;
}
}  // namespace

bool graph_has_name_or_op(const ir::Graph& g, const std::string& token) {
  for (const auto& n : g.nodes) {
    if (matches(token, n)) return true;
    bool found = false;
    for_each_subgraph(n, [&](const ir::Graph& sg) { found = found || graph_has_name_or_op(sg, token); });
    if (found) return true;
  }
  return false;
}

bool excluded(const QuantizeOptions& o, const ir::Node& n) {
  return std::any_of(o.exclude.begin(), o.exclude.end(), [&](const std::string& e) { return matches(e, n); });
}

int QuantizeReport::quantized() const {
  return static_cast<int>(std::count_if(ops.begin(), ops.end(), [](const OpDecision& d) { return d.quantized; }));
}

}  // namespace edgeai::compress
