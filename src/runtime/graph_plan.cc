#include "runtime/graph_plan.h"

#include <chrono>

namespace edgeai::runtime {

const Value* Scope::lookup(const std::string& name) const {
  for (const Scope* s = this; s; s = s->parent) {
    int i = s->plan->slot_of(name);
    if (i >= 0) return &(*s->slots)[i];
  }
  return nullptr;
}

namespace {

kernels::KernelFn find_kernel(const ir::OpRegistry& registry, const ir::Node& n) {
  for (const auto& e : control_flow_kernels()) {
    if (e.op_type == n.op_type && (e.domain == n.domain)) return e.fn;
  }
  return registry.find(n.domain, n.op_type);
}

std::string node_desc(const ir::Node& n) { return "node '" + n.name + "' (" + n.op_type + ")"; }

// The prepare step's view of a node at session preparation.
class PlanPrepareContext final : public kernels::PrepareContext {
 public:
  PlanPrepareContext(const ir::Graph& g, const ir::Node& n, int opset, const CpuFeatures& cpu)
      : g_(g), n_(n), opset_(opset), cpu_(cpu) {}
  int num_inputs() const override { return static_cast<int>(n_.inputs.size()); }
  bool has_input(int i) const override { return i >= 0 && i < num_inputs() && !n_.inputs[i].empty(); }
  const Tensor* constant_input(int i) const override {
    if (!has_input(i)) return nullptr;
    const std::string& name = n_.inputs[i];
    for (const auto& in : g_.inputs) {
      if (in.name == name) return nullptr;  // a graph input may override its initializer
    }
    auto it = g_.initializers.find(name);
    return it == g_.initializers.end() ? nullptr : &it->second;
  }
  bool declared_type(int i, DType* dtype, std::vector<int64_t>* shape) const override {
    if (!has_input(i)) return false;
    const std::string& name = n_.inputs[i];
    if (const Tensor* t = constant_input(i)) {
      *dtype = t->dtype();
      *shape = t->shape();
      return true;
    }
    auto find = [&](const std::vector<ir::ValueInfo>& v) -> const ir::ValueInfo* {
      for (const auto& x : v) {
        if (x.name == name) return &x;
      }
      return nullptr;
    };
    const ir::ValueInfo* vi = find(g_.inputs);
    if (!vi) vi = find(g_.value_infos);
    if (!vi) vi = find(g_.outputs);
    if (!vi || vi->type.kind != ir::ValueKind::kTensor || !vi->type.shape) return false;
    *dtype = vi->type.dtype;
    shape->clear();
    for (const auto& d : *vi->type.shape) shape->push_back(d.known() ? d.value : -1);
    return true;
  }
  bool has_attr(std::string_view name) const override { return n_.attr(name) != nullptr; }
  int64_t attr_int(std::string_view name, int64_t def) const override {
    const ir::Attribute* a = n_.attr(name);
    return a ? (a->type == ir::AttrType::kFloat ? static_cast<int64_t>(a->f) : a->i) : def;
  }
  float attr_float(std::string_view name, float def) const override {
    const ir::Attribute* a = n_.attr(name);
    return a ? (a->type == ir::AttrType::kInt ? static_cast<float>(a->i) : a->f) : def;
  }
  std::string attr_string(std::string_view name, std::string_view def) const override {
    const ir::Attribute* a = n_.attr(name);
    return a ? a->s : std::string(def);
  }
  std::vector<int64_t> attr_ints(std::string_view name) const override {
    const ir::Attribute* a = n_.attr(name);
    return a ? (a->type == ir::AttrType::kInt ? std::vector<int64_t>{a->i} : a->ints) : std::vector<int64_t>{};
  }
  std::vector<float> attr_floats(std::string_view name) const override {
    const ir::Attribute* a = n_.attr(name);
    return a ? (a->type == ir::AttrType::kFloat ? std::vector<float>{a->f} : a->floats) : std::vector<float>{};
  }
  std::vector<std::string> attr_strings(std::string_view name) const override {
    const ir::Attribute* a = n_.attr(name);
    return a ? (a->type == ir::AttrType::kString ? std::vector<std::string>{a->s} : a->strings)
             : std::vector<std::string>{};
  }
  const Tensor* attr_tensor(std::string_view name) const override {
    const ir::Attribute* a = n_.attr(name);
    return a && a->type == ir::AttrType::kTensor ? &a->t : nullptr;
  }
  std::string_view op_type() const override { return n_.op_type; }
  std::string_view node_name() const override { return n_.name; }
  int opset() const override { return opset_; }
  const CpuFeatures& cpu() const override { return cpu_; }

 private:
  const ir::Graph& g_;
  const ir::Node& n_;
  int opset_;
  const CpuFeatures& cpu_;
};

}  // namespace

Result<std::unique_ptr<GraphPlan>> GraphPlan::build(const ir::Graph& g, const std::set<std::string>& outer,
                                                    const ir::OpRegistry& registry, Env& env,
                                                    bool reference_only) {
  auto plan = std::unique_ptr<GraphPlan>(new GraphPlan());
  plan->graph_ = &g;
  auto add_slot = [&](const std::string& name) {
    auto [it, inserted] = plan->slot_index_.emplace(name, static_cast<int>(plan->slot_names_.size()));
    if (inserted) plan->slot_names_.push_back(name);
    return it->second;
  };

  // Names this graph reads from enclosing scopes.
  std::set<std::string> refs;
  ir::collect_outer_refs(g, refs);
  for (const auto& r : refs) {
    if (!outer.count(r)) {
      return invalid_argument("graph '" + g.name + "' reads undefined value '" + r + "'");
    }
    plan->outer_slots_.push_back(add_slot(r));
  }
  for (const auto& in : g.inputs) plan->input_slots_.push_back(add_slot(in.name));
  for (const auto& [name, t] : g.initializers) plan->initializer_slots_.emplace_back(add_slot(name), t);

  std::vector<std::string> outer_list(refs.begin(), refs.end());
  ASSIGN_OR_RETURN(std::vector<size_t> order, ir::topological_order(g, outer_list));

  // Names visible to subgraphs of this graph: everything here plus everything outside.
  std::set<std::string> visible = outer;
  for (const auto& in : g.inputs) visible.insert(in.name);
  for (const auto& [name, t] : g.initializers) visible.insert(name);
  for (const auto& n : g.nodes) {
    for (const auto& o : n.outputs) {
      if (!o.empty()) visible.insert(o);
    }
  }

  std::vector<int> last_use;  // by slot: index into nodes_ of the last reader
  for (size_t idx : order) {
    const ir::Node& n = g.nodes[idx];
    NodePlan np;
    np.node = &n;
    np.fn = find_kernel(registry, n);
    np.opset = static_cast<int>(g.opset(n.domain));
    if (np.opset == 0 && !n.domain.empty()) np.opset = 1;
    if (const kernels::KernelEntry* fast = reference_only ? nullptr : registry.find_fast(n.domain, n.op_type)) {
      if (fast->prepare) {
        PlanPrepareContext pctx(g, n, np.opset, env.cpu);
        auto st = fast->prepare(pctx);
        if (!st.ok()) return st.status().with_context(st.status().message().rfind("node '", 0) == 0 ? "" : node_desc(n) + ": ");
        if (*st) {
          np.state = std::move(st).value();
          np.fn = fast->fn;
          np.fast = true;
        }
      } else {
        np.fn = fast->fn;
        np.fast = true;
      }
    }
    if (!np.fn) {
      return unsupported(node_desc(n) + ": op " + (n.domain.empty() ? "" : n.domain + ".") + n.op_type +
                         " is not supported");
    }
    for (const auto& in : n.inputs) np.inputs.push_back(in.empty() ? -1 : add_slot(in));
    for (const auto& out : n.outputs) np.outputs.push_back(out.empty() ? -1 : add_slot(out));
    for (const auto& [an, a] : n.attributes) {
      if (a.g) {
        auto sub = GraphPlan::build(*a.g, visible, registry, env, reference_only);
        if (!sub.ok()) return sub.status().with_context(node_desc(n) + ", subgraph '" + an + "': ");
        np.subgraphs[an] = std::move(sub).value();
      }
    }
    plan->nodes_.push_back(std::move(np));
  }
  for (const auto& out : g.outputs) {
    int s = plan->slot_of(out.name);
    if (s < 0) return invalid_argument("graph output '" + out.name + "' is never produced");
    plan->output_slots_.push_back(s);
  }

  // Lifetimes: the last node that reads a slot (directly or through a subgraph) releases it.
  last_use.assign(plan->slot_names_.size(), -1);
  for (size_t i = 0; i < plan->nodes_.size(); ++i) {
    const NodePlan& np = plan->nodes_[i];
    for (int s : np.inputs) {
      if (s >= 0) last_use[s] = static_cast<int>(i);
    }
    for (const auto& [an, sub] : np.subgraphs) {
      for (int os : sub->outer_slots_) {
        int s = plan->slot_of(sub->slot_names_[os]);
        if (s >= 0) last_use[s] = static_cast<int>(i);
      }
    }
    for (int s : np.outputs) {
      if (s >= 0 && last_use[s] < static_cast<int>(i)) last_use[s] = static_cast<int>(i);
    }
  }
  std::vector<bool> keep(plan->slot_names_.size(), false);
  for (int s : plan->output_slots_) keep[s] = true;
  for (size_t s = 0; s < last_use.size(); ++s) {
    if (!keep[s] && last_use[s] >= 0) plan->nodes_[last_use[s]].release.push_back(static_cast<int>(s));
  }
  return plan;
}

Result<std::vector<Value>> GraphPlan::run(std::vector<Value> inputs, const Scope* parent,
                                          const RunOptions& opts) const {
  std::vector<Value> slots(slot_names_.size());
  Scope scope{this, &slots, parent};
  for (int s : outer_slots_) {
    const Value* v = parent ? parent->lookup(slot_names_[s]) : nullptr;
    if (!v) return invalid_argument("value '" + slot_names_[s] + "' from the enclosing graph is not available");
    slots[s] = *v;
  }
  for (const auto& [s, t] : initializer_slots_) slots[s] = Value::of(t);
  if (inputs.size() > input_slots_.size()) {
    return invalid_argument("graph '" + graph_->name + "' takes " + std::to_string(input_slots_.size()) +
                            " inputs, got " + std::to_string(inputs.size()));
  }
  for (size_t i = 0; i < inputs.size(); ++i) {
    if (inputs[i].kind == Value::Kind::kNone && slots[input_slots_[i]].kind != Value::Kind::kNone &&
        graph_->inputs[i].type.kind == ir::ValueKind::kTensor) {
      continue;  // keep the initializer's default
    }
    slots[input_slots_[i]] = std::move(inputs[i]);
  }

  using clock = std::chrono::steady_clock;
  for (size_t i = 0; i < nodes_.size(); ++i) {
    const NodePlan& np = nodes_[i];
    for (size_t k = 0; k < np.inputs.size(); ++k) {
      int s = np.inputs[k];
      if (s >= 0 && slots[s].kind == Value::Kind::kNone && !slots[s].tensor.defined()) {
        // An optional value that is empty is legal for Optional* ops; for others the kernel sees
        // it as absent only if it checks input_value().kind. Tensors must be present.
        const std::string& op = np.node->op_type;
        bool takes_optional = op.rfind("Optional", 0) == 0 || op == "If" || op == "Loop" ||
                              op == "Identity" || op.rfind("Sequence", 0) == 0;
        if (!takes_optional) {
          return invalid_argument(node_desc(*np.node) + ": input '" + np.node->inputs[k] +
                                  "' has no value");
        }
      }
    }
    RunContext ctx(np, slots, scope, opts);
    auto t0 = opts.stats ? clock::now() : clock::time_point{};
    Status st = np.fn(ctx);
    if (!st.ok()) {
      if (st.message().rfind("node '", 0) == 0) return st;
      return st.with_context(node_desc(*np.node) + ": ");
    }
    if (opts.stats && parent == nullptr) {
      auto& ns = (*opts.stats)[i];
      ns.total_ms += std::chrono::duration<double, std::milli>(clock::now() - t0).count();
      ns.calls++;
    }
    for (size_t k = 0; k < np.outputs.size(); ++k) {
      int s = np.outputs[k];
      if (s >= 0 && slots[s].kind == Value::Kind::kNone && !slots[s].tensor.defined() &&
          np.node->op_type.rfind("Optional", 0) != 0 && np.node->op_type != "If" &&
          np.node->op_type != "Loop" && np.node->op_type != "Identity") {
        return internal_error(node_desc(*np.node) + ": produced no value for output '" +
                              np.node->outputs[k] + "'");
      }
    }
    for (int s : np.release) slots[s] = Value();
  }
  std::vector<Value> outs;
  outs.reserve(output_slots_.size());
  for (int s : output_slots_) outs.push_back(slots[s]);
  return outs;
}

// ---- RunContext ----

Result<Tensor*> RunContext::allocate_output(int i, DType dtype, const Shape& shape) {
  return allocate(i, dtype, shape, /*zeroed=*/true);
}

Result<Tensor*> RunContext::allocate_output_uninitialized(int i, DType dtype, const Shape& shape) {
  return allocate(i, dtype, shape, /*zeroed=*/false);
}

Result<Tensor*> RunContext::allocate(int i, DType dtype, const Shape& shape, bool zeroed) {
  if (!is_output_used(i)) return internal_error("output " + std::to_string(i) + " is not used");
  ASSIGN_OR_RETURN(Tensor t, zeroed ? Tensor::create(dtype, shape, opts_.env->arena)
                                    : Tensor::create_uninitialized(dtype, shape, opts_.env->arena));
  Value& v = slots_[np_.outputs[i]];
  v = Value::of(std::move(t));
  return &v.tensor;
}

void RunContext::set_output(int i, Tensor t) {
  if (is_output_used(i)) slots_[np_.outputs[i]] = Value::of(std::move(t));
}

void RunContext::set_output_value(int i, Value v) {
  if (is_output_used(i)) slots_[np_.outputs[i]] = std::move(v);
}

int64_t RunContext::attr_int(std::string_view name, int64_t def) const {
  const ir::Attribute* a = np_.node->attr(name);
  if (!a) return def;
  if (a->type == ir::AttrType::kFloat) return static_cast<int64_t>(a->f);
  return a->i;
}

float RunContext::attr_float(std::string_view name, float def) const {
  const ir::Attribute* a = np_.node->attr(name);
  if (!a) return def;
  if (a->type == ir::AttrType::kInt) return static_cast<float>(a->i);
  return a->f;
}

std::string RunContext::attr_string(std::string_view name, std::string_view def) const {
  const ir::Attribute* a = np_.node->attr(name);
  return a ? a->s : std::string(def);
}

std::vector<int64_t> RunContext::attr_ints(std::string_view name) const {
  const ir::Attribute* a = np_.node->attr(name);
  if (!a) return {};
  if (a->type == ir::AttrType::kInt) return {a->i};
  return a->ints;
}

std::vector<float> RunContext::attr_floats(std::string_view name) const {
  const ir::Attribute* a = np_.node->attr(name);
  if (!a) return {};
  if (a->type == ir::AttrType::kFloat) return {a->f};
  return a->floats;
}

std::vector<std::string> RunContext::attr_strings(std::string_view name) const {
  const ir::Attribute* a = np_.node->attr(name);
  if (!a) return {};
  if (a->type == ir::AttrType::kString) return {a->s};
  return a->strings;
}

const Tensor* RunContext::attr_tensor(std::string_view name) const {
  const ir::Attribute* a = np_.node->attr(name);
  return a && a->type == ir::AttrType::kTensor ? &a->t : nullptr;
}

const ir::Graph* RunContext::subgraph(std::string_view attr) const {
  auto it = np_.subgraphs.find(std::string(attr));
  return it == np_.subgraphs.end() ? nullptr : &it->second->graph();
}

Result<std::vector<Value>> RunContext::run_subgraph(std::string_view attr, std::vector<Value> inputs) {
  auto it = np_.subgraphs.find(std::string(attr));
  if (it == np_.subgraphs.end()) return error("has no graph attribute '" + std::string(attr) + "'");
  RunOptions sub = opts_;
  sub.stats = nullptr;
  return it->second->run(std::move(inputs), &scope_, sub);
}

}  // namespace edgeai::runtime
