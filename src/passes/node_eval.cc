#include "passes/node_eval.h"

namespace edgeai::passes {
namespace {

// The node's attributes and identity, for both the kernel's and the prepare step's context.
template <class Base>
class NodeAttrs : public Base {
 public:
  NodeAttrs(const ir::Node& n, int opset, const CpuFeatures& cpu) : n_(n), opset_(opset), cpu_(cpu) {}

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
    if (!a) return {};
    return a->type == ir::AttrType::kInt ? std::vector<int64_t>{a->i} : a->ints;
  }
  std::vector<float> attr_floats(std::string_view name) const override {
    const ir::Attribute* a = n_.attr(name);
    if (!a) return {};
    return a->type == ir::AttrType::kFloat ? std::vector<float>{a->f} : a->floats;
  }
  std::vector<std::string> attr_strings(std::string_view name) const override {
    const ir::Attribute* a = n_.attr(name);
    if (!a) return {};
    return a->type == ir::AttrType::kString ? std::vector<std::string>{a->s} : a->strings;
  }
  const Tensor* attr_tensor(std::string_view name) const override {
    const ir::Attribute* a = n_.attr(name);
    return a && a->type == ir::AttrType::kTensor ? &a->t : nullptr;
  }
  std::string_view op_type() const override { return n_.op_type; }
  std::string_view node_name() const override { return n_.name; }
  int opset() const override { return opset_; }
  const CpuFeatures& cpu() const override { return cpu_; }

 protected:
  const ir::Node& n_;
  int opset_;
  const CpuFeatures& cpu_;
};

class EvalContext final : public NodeAttrs<kernels::KernelContext> {
 public:
  EvalContext(const ir::Node& n, int opset, const std::vector<kernels::Value>& inputs,
              std::vector<kernels::Value>& outputs, ThreadPool& pool, const CpuFeatures& cpu,
              const kernels::KernelState* state)
      : NodeAttrs(n, opset, cpu), inputs_(inputs), outputs_(outputs), pool_(pool), state_(state) {}

  int num_inputs() const override { return static_cast<int>(inputs_.size()); }
  bool has_input(int i) const override {
    return i >= 0 && i < num_inputs() && inputs_[i].kind != kernels::Value::Kind::kNone;
  }
  const Tensor& input(int i) const override { return inputs_[i].tensor; }
  const kernels::Value& input_value(int i) const override {
    static const kernels::Value kNone;
    return has_input(i) ? inputs_[i] : kNone;
  }
  int num_outputs() const override { return static_cast<int>(outputs_.size()); }
  bool is_output_used(int i) const override {
    return i >= 0 && i < num_outputs() && !n_.outputs[i].empty();
  }
  Result<Tensor*> allocate_output(int i, DType dtype, const Shape& shape) override {
    return allocate(i, dtype, shape, true);
  }
  Result<Tensor*> allocate_output_uninitialized(int i, DType dtype, const Shape& shape) override {
    return allocate(i, dtype, shape, false);
  }
  void set_output(int i, Tensor t) override {
    if (is_output_used(i)) outputs_[i] = kernels::Value::of(std::move(t));
  }
  void set_output_value(int i, kernels::Value v) override {
    if (is_output_used(i)) outputs_[i] = std::move(v);
  }
  ThreadPool& pool() override { return pool_; }
  const kernels::KernelState* state() const override { return state_; }

 private:
  Result<Tensor*> allocate(int i, DType dtype, const Shape& shape, bool zeroed) {
    if (!is_output_used(i)) return internal_error("output " + std::to_string(i) + " is not used");
    ASSIGN_OR_RETURN(Tensor t, zeroed ? Tensor::create(dtype, shape) : Tensor::create_uninitialized(dtype, shape));
    outputs_[i] = kernels::Value::of(std::move(t));
    return &outputs_[i].tensor;
  }

  const std::vector<kernels::Value>& inputs_;
  std::vector<kernels::Value>& outputs_;
  ThreadPool& pool_;
  const kernels::KernelState* state_;
};

// What an optimized kernel's prepare step sees: the inputs marked constant with their values,
// the others with their dtype and a dynamic shape of their rank.
class EvalPrepareContext final : public NodeAttrs<kernels::PrepareContext> {
 public:
  EvalPrepareContext(const ir::Node& n, int opset, const std::vector<kernels::Value>& inputs,
                     const std::vector<bool>& constant, const CpuFeatures& cpu)
      : NodeAttrs(n, opset, cpu), inputs_(inputs), constant_(constant) {}

  int num_inputs() const override { return static_cast<int>(inputs_.size()); }
  bool has_input(int i) const override {
    return i >= 0 && i < num_inputs() && inputs_[i].kind != kernels::Value::Kind::kNone;
  }
  const Tensor* constant_input(int i) const override {
    if (!has_input(i) || !inputs_[i].is_tensor() || static_cast<size_t>(i) >= constant_.size() || !constant_[i]) {
      return nullptr;
    }
    return &inputs_[i].tensor;
  }
  bool declared_type(int i, DType* dtype, std::vector<int64_t>* shape) const override {
    if (!has_input(i) || !inputs_[i].is_tensor()) return false;
    const Tensor& t = inputs_[i].tensor;
    *dtype = t.dtype();
    if (constant_input(i)) {
      *shape = t.shape();
    } else {
      shape->assign(static_cast<size_t>(t.rank()), -1);
    }
    return true;
  }

 private:
  const std::vector<kernels::Value>& inputs_;
  const std::vector<bool>& constant_;
};

int node_opset(const ir::Graph& g, const ir::Node& n) {
  int opset = static_cast<int>(g.opset(n.domain));
  if (opset == 0 && !n.domain.empty()) opset = 1;  // as the runtime does
  return opset;
}

}  // namespace

Result<std::vector<kernels::Value>> NodeEvaluator::run(const ir::Graph& g, const ir::Node& n,
                                                       const std::vector<kernels::Value>& inputs) {
  return run_prepared(g, n, PreparedKernel{}, inputs, pool, cpu);
}

Result<PreparedKernel> NodeEvaluator::prepare_fast(const ir::Graph& g, const ir::Node& n,
                                                   const std::vector<kernels::Value>& inputs,
                                                   const std::vector<bool>& constant,
                                                   const CpuFeatures& cpu_features) const {
  PreparedKernel k;
  const kernels::KernelEntry* fast = registry.find_fast(n.domain, n.op_type);
  if (!fast) return k;
  if (!fast->prepare) {
    k.fn = fast->fn;
    return k;
  }
  EvalPrepareContext pctx(n, node_opset(g, n), inputs, constant, cpu_features);
  auto st = fast->prepare(pctx);
  if (!st.ok()) return st.status().with_context(st.status().message().rfind("node '", 0) == 0 ? "" : "node '" + n.name + "' (" + n.op_type + "): ");
  if (*st) {
    k.state = std::move(st).value();
    k.fn = fast->fn;
  }
  return k;
}

Result<std::vector<kernels::Value>> NodeEvaluator::run_prepared(const ir::Graph& g, const ir::Node& n,
                                                                const PreparedKernel& k,
                                                                const std::vector<kernels::Value>& inputs,
                                                                ThreadPool& run_pool,
                                                                const CpuFeatures& cpu_features) const {
  kernels::KernelFn fn = k.fn ? k.fn : registry.find(n.domain, n.op_type);
  if (!fn) return unsupported("op " + n.op_type + " has no reference kernel");
  std::vector<kernels::Value> outputs(n.outputs.size());
  EvalContext ctx(n, node_opset(g, n), inputs, outputs, run_pool, cpu_features, k.fn ? k.state.get() : nullptr);
  RETURN_IF_ERROR(fn(ctx));
  return outputs;
}

}  // namespace edgeai::passes
