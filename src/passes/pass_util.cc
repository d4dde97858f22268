#include "passes/pass_util.h"

#include <cmath>

namespace edgeai::passes {

GraphIndex::GraphIndex(const ir::Graph& g) : g_(g) {
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    const ir::Node& n = g.nodes[i];
    for (const auto& o : n.outputs) {
      if (!o.empty()) producer_.emplace(o, static_cast<int>(i));
    }
    for (const auto& in : n.inputs) {
      if (!in.empty()) consumers_[in].push_back(static_cast<int>(i));
    }
    for (const auto& [k, a] : n.attributes) {
      if (a.g) ir::collect_outer_refs(*a.g, subgraph_refs_);
      for (const auto& sg : a.graphs) ir::collect_outer_refs(*sg, subgraph_refs_);
    }
  }
  for (const auto& o : g.outputs) graph_outputs_.insert(o.name);
  for (const auto& in : g.inputs) graph_inputs_.insert(in.name);
  for (const auto* list : {&g.outputs, &g.value_infos, &g.inputs}) {  // inputs win, then value_infos
    for (const auto& vi : *list) declared_[vi.name] = &vi;
  }
}

const ir::ValueInfo* GraphIndex::declared(const std::string& value) const {
  auto it = declared_.find(value);
  return it == declared_.end() ? nullptr : it->second;
}

int GraphIndex::producer(const std::string& value) const {
  auto it = producer_.find(value);
  return it == producer_.end() ? -1 : it->second;
}

const std::vector<int>& GraphIndex::consumers(const std::string& value) const {
  static const std::vector<int> kNone;
  auto it = consumers_.find(value);
  return it == consumers_.end() ? kNone : it->second;
}

int GraphIndex::use_count(const std::string& value) const {
  return static_cast<int>(consumers(value).size()) + (graph_outputs_.count(value) ? 1 : 0) +
         (subgraph_refs_.count(value) ? 1 : 0);
}

const Tensor* GraphIndex::constant(const std::string& value) const {
  if (value.empty() || graph_inputs_.count(value)) return nullptr;
  auto it = g_.initializers.find(value);
  return it == g_.initializers.end() ? nullptr : &it->second;
}

int GraphIndex::sole_consumer(const std::string& value) const {
  if (is_pinned(value)) return -1;
  const auto& c = consumers(value);
  return c.size() == 1 ? c[0] : -1;
}

void erase_nodes(ir::Graph& g, const std::vector<bool>& removed) {
  std::vector<ir::Node> kept;
  kept.reserve(g.nodes.size());
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    if (i >= removed.size() || !removed[i]) kept.push_back(std::move(g.nodes[i]));
  }
  g.nodes = std::move(kept);
}

void replace_uses(ir::Graph& g, const std::string& from, const std::string& to) {
  for (auto& n : g.nodes) {
    for (auto& in : n.inputs) {
      if (in == from) in = to;
    }
  }
}

std::string GraphIndex::fresh_name(const std::string& base) const {
  if (!names_built_) {
    for (const auto& in : g_.inputs) used_names_.insert(in.name);
    for (const auto& o : g_.outputs) used_names_.insert(o.name);
    for (const auto& vi : g_.value_infos) used_names_.insert(vi.name);
    for (const auto& [k, t] : g_.initializers) used_names_.insert(k);
    for (const auto& n : g_.nodes) {
      used_names_.insert(n.name);
      for (const auto& o : n.outputs) used_names_.insert(o);
      for (const auto& i : n.inputs) used_names_.insert(i);
    }
    names_built_ = true;
  }
  std::string name = base;
  for (int k = 1; used_names_.count(name); ++k) name = base + "_" + std::to_string(k);
  used_names_.insert(name);
  return name;
}

std::string add_initializer(ir::Graph& g, const GraphIndex& idx, const std::string& base, Tensor t) {
  std::string name = idx.fresh_name(base);
  g.initializers.emplace(name, std::move(t));
  return name;
}

void use_edgeai_domain(ir::Graph& g) {
  if (!g.opsets.count(kEdgeaiDomain)) g.opsets[kEdgeaiDomain] = 1;
}

bool scalar_value(const Tensor* t, double* v) {
  if (!t || t->numel() != 1) return false;
  if (!dtype_is_float(t->dtype()) && !dtype_is_integer(t->dtype())) return false;
  *v = t->get_double(0);
  return true;
}

bool is_scalar(const Tensor* t, double expected, double tol) {
  double v = 0;
  if (!scalar_value(t, &v)) return false;
  return std::fabs(v - expected) <= tol * std::max(1.0, std::fabs(expected));
}

namespace {

// The static-type helpers recurse through producers; each value is computed once per GraphIndex
// (memos), and the recursion stops at kMaxDepth (the answer is then "unknown").
constexpr int kMaxDepth = 512;
int rank_of(const ir::Graph& g, const GraphIndex& idx, const std::string& value, int depth);
bool float_of(const ir::Graph& g, const GraphIndex& idx, const std::string& value, int depth);
bool shape_of(const ir::Graph& g, const GraphIndex& idx, const std::string& value, int depth, Shape* out);

int declared_rank(const GraphIndex& idx, const std::string& value) {
  const ir::ValueInfo* vi = idx.declared(value);
  if (vi && vi->type.kind == ir::ValueKind::kTensor && vi->type.shape) return static_cast<int>(vi->type.shape->size());
  return -1;
}

bool is_rank_preserving(const ir::Node& n) {
  static const std::set<std::string> kOps = {
      "Relu", "Clip", "Sigmoid", "Tanh", "LeakyRelu", "HardSwish", "HardSigmoid", "Gelu", "Erf",
      "Identity", "Dropout", "Softmax", "LogSoftmax", "Neg", "Sqrt", "Exp", "Log", "Abs", "Cast",
      "LayerNormalization", "BatchNormalization", "Conv", "FusedConv", "FusedPwDwConv", "MaxPool", "AveragePool",
      "GlobalAveragePool", "GlobalMaxPool", "Transpose", "Elu", "Selu", "Softplus", "Mish",
      "Reciprocal", "Floor", "Ceil", "Round", "PRelu", "InstanceNormalization", "Pad"};
  return kOps.count(n.op_type) > 0;
}

int rank_impl(const ir::Graph& g, const GraphIndex& idx, const std::string& value, int depth) {
  if (const Tensor* t = idx.constant(value)) return t->rank();
  int r = declared_rank(idx, value);
  if (r >= 0) return r;
  int p = idx.producer(value);
  if (p < 0) return -1;
  const ir::Node& n = g.nodes[p];
  if (n.outputs.empty() || n.outputs[0] != value) return -1;
  if (n.op_type == "Gemm" || n.op_type == "FusedGemm" || n.op_type == "Flatten") return 2;
  if (n.inputs.empty() || n.inputs[0].empty()) return -1;
  if (is_rank_preserving(n) || n.op_type == "Concat") return rank_of(g, idx, n.inputs[0], depth + 1);
  if ((n.op_type == "Add" || n.op_type == "Sub" || n.op_type == "Mul" || n.op_type == "Div") &&
      n.inputs.size() == 2) {
    int a = rank_of(g, idx, n.inputs[0], depth + 1);
    int b = a < 0 ? -1 : rank_of(g, idx, n.inputs[1], depth + 1);
    return a < 0 || b < 0 ? -1 : std::max(a, b);
  }
  if (n.op_type == "MatMul" && n.inputs.size() == 2) {
    int a = rank_of(g, idx, n.inputs[0], depth + 1);
    int b = a < 2 ? -1 : rank_of(g, idx, n.inputs[1], depth + 1);
    return a >= 2 && b >= 2 ? std::max(a, b) : -1;
  }
  if (n.op_type == "Reshape" && n.inputs.size() >= 2) {
    if (const Tensor* s = idx.constant(n.inputs[1]); s && s->rank() == 1) return static_cast<int>(s->numel());
  }
  return -1;
}

bool float_impl(const ir::Graph& g, const GraphIndex& idx, const std::string& value, int depth) {
  if (const Tensor* t = idx.constant(value)) return dtype_is_float(t->dtype());
  if (const ir::ValueInfo* vi = idx.declared(value);
      vi && vi->type.kind == ir::ValueKind::kTensor && vi->type.dtype != DType::kUndefined) {
    return dtype_is_float(vi->type.dtype);
  }
  int p = idx.producer(value);
  if (p < 0) return false;
  const ir::Node& n = g.nodes[p];
  static const std::set<std::string> kFloatOnly = {
      "Conv", "FusedConv", "FusedPwDwConv", "ConvTranspose", "BatchNormalization", "GlobalAveragePool", "AveragePool",
      "Sigmoid", "Tanh", "Softmax", "LogSoftmax", "LayerNormalization", "HardSwish", "HardSigmoid", "Gelu",
      "Erf", "Sqrt", "Exp", "Log", "InstanceNormalization", "LeakyRelu", "Elu", "Selu", "Softplus"};
  static const std::set<std::string> kSameType = {"Relu", "Clip", "MaxPool", "Identity", "Dropout", "Transpose",
                                                  "Reshape", "Flatten", "Squeeze", "Unsqueeze", "Neg", "Abs"};
  if (kFloatOnly.count(n.op_type)) return true;
  if (kSameType.count(n.op_type) && !n.inputs.empty() && n.outputs[0] == value) {
    return float_of(g, idx, n.inputs[0], depth + 1);
  }
  return false;
}

DType dtype_of(const ir::Graph& g, const GraphIndex& idx, const std::string& value, int depth);

DType dtype_impl(const ir::Graph& g, const GraphIndex& idx, const std::string& value, int depth) {
  if (value.empty()) return DType::kUndefined;
  if (const Tensor* t = idx.constant(value)) return t->dtype();
  if (const ir::ValueInfo* vi = idx.declared(value); vi && vi->type.dtype != DType::kUndefined) return vi->type.dtype;
  const int p = idx.producer(value);
  if (p < 0) return DType::kUndefined;
  const ir::Node& n = g.nodes[p];
  static const std::set<std::string> kInputType = {"Concat", "Relu", "Conv", "MaxPool", "AveragePool",
                                                   "BatchNormalization", "Clip", "Add", "Mul", "Sigmoid", "Pad"};
  if (!n.domain.empty() || !kInputType.count(n.op_type) || n.inputs.empty() || n.outputs.empty() ||
      n.outputs[0] != value) {
    return DType::kUndefined;
  }
  return dtype_of(g, idx, n.inputs[0], depth + 1);
}

bool shape_impl(const ir::Graph& g, const GraphIndex& idx, const std::string& value, int depth, Shape* out) {
  if (value.empty()) return false;
  if (const Tensor* t = idx.constant(value)) {
    *out = t->shape();
    return true;
  }
  if (const ir::ValueInfo* vi = idx.declared(value);
      vi && vi->type.kind == ir::ValueKind::kTensor && vi->type.shape) {
    Shape s;
    for (const auto& d : *vi->type.shape) {
      if (!d.known()) return false;
      s.push_back(d.value);
    }
    *out = s;
    return true;
  }
  int p = idx.producer(value);
  if (p < 0) return false;
  const ir::Node& n = g.nodes[p];
  if (n.outputs.empty() || n.outputs[0] != value || n.inputs.empty() || !n.domain.empty()) return false;
  static const std::set<std::string> kUnary = {
      "Relu", "Clip", "Sigmoid", "Tanh", "LeakyRelu", "HardSwish", "HardSigmoid", "Gelu", "Erf", "Identity",
      "Dropout", "Softmax", "LogSoftmax", "Neg", "Sqrt", "Exp", "Log", "Abs", "Cast", "LayerNormalization",
      "BatchNormalization", "Reciprocal", "Elu", "Selu", "Softplus"};
  if (kUnary.count(n.op_type)) return shape_of(g, idx, n.inputs[0], depth + 1, out);
  if (n.op_type == "Add" || n.op_type == "Sub" || n.op_type == "Mul" || n.op_type == "Div") {
    Shape a, b;
    if (n.inputs.size() != 2 || !shape_of(g, idx, n.inputs[0], depth + 1, &a) ||
        !shape_of(g, idx, n.inputs[1], depth + 1, &b)) {
      return false;
    }
    auto r = broadcast_shapes(a, b);
    if (!r.ok()) return false;
    *out = *r;
    return true;
  }
  if (n.op_type == "Transpose") {
    Shape in;
    if (!shape_of(g, idx, n.inputs[0], depth + 1, &in)) return false;
    std::vector<int64_t> perm;
    if (const ir::Attribute* a = n.attr("perm")) perm = a->ints;
    const int r = static_cast<int>(in.size());
    if (perm.empty()) {
      for (int i = r - 1; i >= 0; --i) perm.push_back(i);
    }
    if (static_cast<int>(perm.size()) != r) return false;
    Shape s(r);
    std::vector<bool> seen(r, false);
    for (int i = 0; i < r; ++i) {
      int64_t q = perm[i] < 0 ? perm[i] + r : perm[i];
      if (q < 0 || q >= r || seen[q]) return false;
      seen[q] = true;
      s[i] = in[q];
    }
    *out = s;
    return true;
  }
  if (n.op_type == "Reshape" && n.inputs.size() == 2) {
    const Tensor* t = idx.constant(n.inputs[1]);
    Shape in;
    if (!t || !dtype_is_integer(t->dtype()) || t->rank() != 1) return false;
    Shape s = t->to_int64_vector();
    const ir::Attribute* az = n.attr("allowzero");
    const bool allowzero = az && az->i != 0;
    int infer = -1;
    const bool have_in = shape_of(g, idx, n.inputs[0], depth + 1, &in);
    for (size_t i = 0; i < s.size(); ++i) {
      if (s[i] == 0 && !allowzero) {
        if (!have_in || i >= in.size()) return false;
        s[i] = in[i];
      } else if (s[i] == -1) {
        if (infer >= 0) return false;
        infer = static_cast<int>(i);
      } else if (s[i] < 0) {
        return false;
      }
    }
    if (infer >= 0) {
      if (!have_in) return false;
      int64_t total = shape_numel(in), rest = 1;
      for (size_t i = 0; i < s.size(); ++i) {
        if (static_cast<int>(i) != infer) rest *= s[i];
      }
      if (rest == 0 || total % rest != 0) return false;
      s[infer] = total / rest;
    }
    if (have_in && shape_numel(in) != shape_numel(s)) return false;
    *out = s;
    return true;
  }
  if (n.op_type == "Gemm" && n.inputs.size() >= 2) {
    Shape a, b;
    if (!shape_of(g, idx, n.inputs[0], depth + 1, &a) || !shape_of(g, idx, n.inputs[1], depth + 1, &b) ||
        a.size() != 2 || b.size() != 2) {
      return false;
    }
    const ir::Attribute* ta = n.attr("transA");
    const ir::Attribute* tb = n.attr("transB");
    *out = {ta && ta->i ? a[1] : a[0], tb && tb->i ? b[0] : b[1]};
    return true;
  }
  if (n.op_type == "MatMul" && n.inputs.size() == 2) {
    Shape a, b;
    if (!shape_of(g, idx, n.inputs[0], depth + 1, &a) || !shape_of(g, idx, n.inputs[1], depth + 1, &b) ||
        a.size() < 2 || b.size() < 2 || a.back() != b[b.size() - 2]) {
      return false;
    }
    auto batch = broadcast_shapes(Shape(a.begin(), a.end() - 2), Shape(b.begin(), b.end() - 2));
    if (!batch.ok()) return false;
    Shape s = *batch;
    s.push_back(a[a.size() - 2]);
    s.push_back(b.back());
    *out = s;
    return true;
  }
  return false;
}

int rank_of(const ir::Graph& g, const GraphIndex& idx, const std::string& value, int depth) {
  if (auto it = idx.rank_memo.find(value); it != idx.rank_memo.end()) return it->second;
  if (depth > kMaxDepth) return -1;
  const int r = rank_impl(g, idx, value, depth);
  idx.rank_memo[value] = r;
  return r;
}

bool float_of(const ir::Graph& g, const GraphIndex& idx, const std::string& value, int depth) {
  if (auto it = idx.float_memo.find(value); it != idx.float_memo.end()) return it->second;
  if (depth > kMaxDepth) return false;
  const bool f = float_impl(g, idx, value, depth);
  idx.float_memo[value] = f;
  return f;
}

DType dtype_of(const ir::Graph& g, const GraphIndex& idx, const std::string& value, int depth) {
  if (auto it = idx.dtype_memo.find(value); it != idx.dtype_memo.end()) return it->second;
  if (depth > kMaxDepth) return DType::kUndefined;
  const DType d = dtype_impl(g, idx, value, depth);
  idx.dtype_memo[value] = d;
  return d;
}

bool shape_of(const ir::Graph& g, const GraphIndex& idx, const std::string& value, int depth, Shape* out) {
  if (auto it = idx.shape_memo.find(value); it != idx.shape_memo.end()) {
    if (it->second) *out = *it->second;
    return it->second.has_value();
  }
  if (depth > kMaxDepth) return false;
  Shape s;
  const bool ok = shape_impl(g, idx, value, depth, &s);
  idx.shape_memo[value] = ok ? std::optional<Shape>(s) : std::nullopt;
  if (ok) *out = s;
  return ok;
}

}  // namespace

bool known_shape(const ir::Graph& g, const GraphIndex& idx, const std::string& value, Shape* shape) {
  return shape_of(g, idx, value, 0, shape);
}

bool known_float(const ir::Graph& g, const GraphIndex& idx, const std::string& value) {
  return float_of(g, idx, value, 0);
}

bool ints_attr_or_input(const GraphIndex& idx, const ir::Node& n, const char* attr, size_t input,
                        std::vector<int64_t>* out) {
  out->clear();
  if (const ir::Attribute* a = n.attr(attr)) {
    *out = a->ints;
  } else if (n.inputs.size() > input && !n.inputs[input].empty()) {
    const Tensor* t = idx.constant(n.inputs[input]);
    if (!t || !dtype_is_integer(t->dtype())) return false;
    *out = t->to_int64_vector();
  }
  return true;
}

DType known_dtype(const ir::Graph& g, const GraphIndex& idx, const std::string& value) {
  return dtype_of(g, idx, value, 0);
}

int known_rank(const ir::Graph& g, const GraphIndex& idx, const std::string& value) {
  return rank_of(g, idx, value, 0);
}

int onnx_opset(const ir::Graph& g) {
  int64_t v = g.opset("");
  return v > 0 ? static_cast<int>(v) : 1;
}

ir::Attribute attr_string(const std::string& name, const std::string& v) {
  ir::Attribute a;
  a.name = name;
  a.type = ir::AttrType::kString;
  a.s = v;
  return a;
}

ir::Attribute attr_floats(const std::string& name, std::vector<float> v) {
  ir::Attribute a;
  a.name = name;
  a.type = ir::AttrType::kFloats;
  a.floats = std::move(v);
  return a;
}

}  // namespace edgeai::passes

namespace edgeai::passes {

int sole_consumer_op(const ir::Graph& g, const GraphIndex& idx, const std::string& value, std::string_view op) {
  int c = idx.sole_consumer(value);
  if (c < 0) return -1;
  const ir::Node& n = g.nodes[c];
  return n.domain.empty() && n.op_type == op && n.outputs.size() == 1 && !n.outputs[0].empty() ? c : -1;
}

int producer_op(const ir::Graph& g, const GraphIndex& idx, const std::string& value, std::string_view op) {
  int p = idx.producer(value);
  if (p < 0) return -1;
  const ir::Node& n = g.nodes[p];
  return n.domain.empty() && n.op_type == op ? p : -1;
}

std::string other_input(const ir::Node& n, const std::string& value) {
  if (n.inputs.size() != 2) return {};
  if (n.inputs[0] == value) return n.inputs[1];
  if (n.inputs[1] == value) return n.inputs[0];
  return {};
}

}  // namespace edgeai::passes
