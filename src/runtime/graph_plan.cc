#include "runtime/graph_plan.h"

#include <algorithm>
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
  plan->find_concats(keep);
  return plan;
}

// ---- Concat in place ----

namespace {

// Hands out one fixed region of a buffer (a Concat's output) and keeps the buffer alive.
class RegionAllocator final : public Allocator {
 public:
  RegionAllocator(Tensor buffer, size_t offset) : buffer_(std::move(buffer)), offset_(offset) {}
  void* allocate(size_t bytes) override {
    if (offset_ + bytes > buffer_.nbytes()) return nullptr;
    return static_cast<char*>(buffer_.raw()) + offset_;
  }
  void release(void*, size_t) override {}

 private:
  Tensor buffer_;
  size_t offset_;
};

}  // namespace

// Candidates: Concat nodes of the default domain with an axis, a used output and at least two
// inputs, each a distinct slot produced by a node of this graph, read by this Concat only (not
// by a subgraph) and not a graph output.
void GraphPlan::find_concats(const std::vector<bool>& graph_output) {
  const size_t n_slots = slot_names_.size();
  std::vector<int> producers(n_slots, 0), readers(n_slots, 0);
  for (const NodePlan& np : nodes_) {
    for (int s : np.outputs) {
      if (s >= 0) ++producers[s];
    }
    for (int s : np.inputs) {
      if (s >= 0) ++readers[s];
    }
    for (const auto& [an, sub] : np.subgraphs) {
      for (int os : sub->outer_slots_) {
        int s = slot_of(sub->slot_names_[os]);
        if (s >= 0) readers[s] += 2;  // never a candidate
      }
    }
  }
  concat_of_slot_.assign(n_slots, -1);
  concat_input_of_slot_.assign(n_slots, -1);
  concat_of_node_.assign(nodes_.size(), -1);
  for (size_t i = 0; i < nodes_.size(); ++i) {
    const NodePlan& np = nodes_[i];
    const ir::Node& n = *np.node;
    if (n.op_type != "Concat" || !n.domain.empty() || !n.attr("axis") || np.inputs.size() < 2 ||
        np.outputs.size() != 1 || np.outputs[0] < 0) {
      continue;
    }
    bool ok = true;
    for (int s : np.inputs) {
      if (s < 0 || producers[s] != 1 || readers[s] != 1 || graph_output[s] || concat_of_slot_[s] >= 0) ok = false;
    }
    if (!ok) continue;
    const int c = static_cast<int>(concat_nodes_.size());
    concat_nodes_.push_back(static_cast<int>(i));
    concat_of_node_[i] = c;
    for (size_t j = 0; j < np.inputs.size(); ++j) {
      concat_of_slot_[np.inputs[j]] = c;
      concat_input_of_slot_[np.inputs[j]] = static_cast<int>(j);
    }
  }
  concat_layouts_.assign(concat_nodes_.size(), nullptr);
}

Result<Tensor> GraphPlan::concat_member(std::vector<ConcatRun>& runs, int slot, DType dtype, const Shape& shape,
                                        bool zeroed, const std::shared_ptr<Allocator>& alloc) const {
  if (slot < 0 || static_cast<size_t>(slot) >= concat_of_slot_.size() || concat_of_slot_[slot] < 0) return Tensor();
  ConcatRun& r = runs[concat_of_slot_[slot]];
  const ConcatLayout* l = r.layout.get();
  const int j = concat_input_of_slot_[slot];
  if (!l || !l->usable || dtype != l->dtype || shape != l->in[j]) return Tensor();
  if (!r.buffer.defined()) {
    ASSIGN_OR_RETURN(r.buffer, Tensor::create_uninitialized(dtype, l->out, alloc));
  }
  auto region = std::make_shared<RegionAllocator>(r.buffer, l->offset[j]);
  return zeroed ? Tensor::create(dtype, shape, std::move(region)) : Tensor::create_uninitialized(dtype, shape, std::move(region));
}

// True when every input of Concat candidate c lies where the layout put it: its output is then
// the buffer as it stands.
bool GraphPlan::concat_in_place(std::vector<ConcatRun>& runs, int c, std::vector<Value>& slots) const {
  const ConcatRun& r = runs[c];
  if (!r.buffer.defined()) return false;
  const ConcatLayout& l = *r.layout;
  const NodePlan& np = nodes_[concat_nodes_[c]];
  const char* base = static_cast<const char*>(r.buffer.raw());
  for (size_t j = 0; j < np.inputs.size(); ++j) {
    const Value& v = slots[np.inputs[j]];
    if (!v.is_tensor() || v.tensor.dtype() != l.dtype || v.tensor.raw() != base + l.offset[j] ||
        v.tensor.shape() != l.in[j]) {
      return false;
    }
  }
  slots[np.outputs[0]] = Value::of(r.buffer);
  return true;
}

// After Concat candidate c ran its kernel: records the layout of this run for the next, or marks
// the layout unusable when it matched but the inputs were not in place (a producer forwards a
// tensor it did not allocate, for example).
void GraphPlan::learn_concat(const ConcatRun& run, int c, const std::vector<Value>& slots) const {
  const NodePlan& np = nodes_[concat_nodes_[c]];
  const Value& ov = slots[np.outputs[0]];
  auto l = std::make_shared<ConcatLayout>();
  bool usable = ov.is_tensor() && ov.tensor.dtype() != DType::kString && ov.tensor.dtype() != DType::kUndefined;
  if (usable) {
    const Tensor& y = ov.tensor;
    l->dtype = y.dtype();
    l->out = y.shape();
    int64_t axis = np.node->attr("axis")->i;
    if (axis < 0) axis += y.rank();
    usable = axis >= 0 && axis < y.rank();
    for (int64_t d = 0; usable && d < axis; ++d) usable = y.dim(static_cast<int>(d)) == 1;
    size_t off = 0;
    for (size_t j = 0; usable && j < np.inputs.size(); ++j) {
      const Value& v = slots[np.inputs[j]];
      usable = v.is_tensor() && v.tensor.dtype() == l->dtype && off % kTensorAlignment == 0;
      if (!usable) break;
      l->in.push_back(v.tensor.shape());
      l->offset.push_back(off);
      off += v.tensor.nbytes();
    }
    usable = usable && off == y.nbytes();
  }
  const ConcatLayout* old = run.layout.get();
  if (usable && old && old->dtype == l->dtype && old->in == l->in) {
    if (!old->usable) return;  // known not to work for these shapes
    usable = false;            // it matched and was not in place
  }
  if (!usable && old && !old->usable && old->in == l->in && old->dtype == l->dtype) return;
  l->usable = usable;
  std::lock_guard<std::mutex> lock(concat_mu_);
  concat_layouts_[c] = std::move(l);
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

  std::vector<ConcatRun> concat_runs(concat_nodes_.size());
  if (!concat_runs.empty()) {
    std::lock_guard<std::mutex> lock(concat_mu_);
    for (size_t c = 0; c < concat_runs.size(); ++c) concat_runs[c].layout = concat_layouts_[c];
  }

  using clock = std::chrono::steady_clock;
  for (size_t i = 0; i < nodes_.size(); ++i) {
    const NodePlan& np = nodes_[i];
    const int concat = concat_of_node_.empty() ? -1 : concat_of_node_[i];
    if (concat >= 0 && concat_in_place(concat_runs, concat, slots)) {
      if (opts.stats && parent == nullptr) (*opts.stats)[i].calls++;
      for (int s : np.release) slots[s] = Value();
      concat_runs[concat].buffer = Tensor();
      continue;
    }
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
    RunContext ctx(np, slots, scope, opts, &concat_runs);
    auto t0 = opts.stats ? clock::now() : clock::time_point{};
    Status st = np.fn(ctx);
    if (!st.ok()) {
      if (st.message().rfind("node '", 0) == 0) return st;
      return st.with_context(node_desc(*np.node) + ": ");
    }
    if (concat >= 0) {
      learn_concat(concat_runs[concat], concat, slots);
      concat_runs[concat].buffer = Tensor();
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

Result<Tensor*> RunContext::allocate_output_over_input(int i, int j, DType dtype, const Shape& shape) {
  return allocate(i, dtype, shape, /*zeroed=*/false, has_input(j) ? j : -1);
}

// Input j's value may be overwritten by this node's output: it dies here (released by this node:
// no later reader, not a graph output), this node reads it once, and nothing else shares its
// storage (views, initializers, the caller's tensors).
bool RunContext::input_dies_here(int j) const {
  const int s = np_.inputs[j];
  if (std::find(np_.release.begin(), np_.release.end(), s) == np_.release.end() ||
      std::count(np_.inputs.begin(), np_.inputs.end(), s) != 1) {
    return false;
  }
  const Value& in = slots_[s];
  return in.kind == Value::Kind::kTensor && in.tensor.writable() && in.tensor.storage_unshared();
}

Result<Tensor*> RunContext::allocate(int i, DType dtype, const Shape& shape, bool zeroed, int over_input) {
  if (!is_output_used(i)) return internal_error("output " + std::to_string(i) + " is not used");
  Value& v = slots_[np_.outputs[i]];
  // An output that goes into a Concat in place keeps that place.
  if (concat_runs_) {
    ASSIGN_OR_RETURN(Tensor in_concat, scope_.plan->concat_member(*concat_runs_, np_.outputs[i], dtype, shape, zeroed,
                                                                   opts_.env->arena));
    if (in_concat.defined()) {
      v = Value::of(std::move(in_concat));
      return &v.tensor;
    }
  }
  if (over_input >= 0 && np_.inputs[over_input] != np_.outputs[i] && dtype != DType::kString &&
      input_dies_here(over_input)) {
    const Tensor& in = slots_[np_.inputs[over_input]].tensor;
    if (in.dtype() == dtype) {
      auto t = in.reshaped(shape);
      if (t.ok()) {
        v = Value::of(std::move(t).value());
        return &v.tensor;
      }
    }
  }
  ASSIGN_OR_RETURN(Tensor t, zeroed ? Tensor::create(dtype, shape, opts_.env->arena)
                                    : Tensor::create_uninitialized(dtype, shape, opts_.env->arena));
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
