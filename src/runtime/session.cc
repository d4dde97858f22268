#include "runtime/session.h"

#include "passes/optimize.h"
#include "runtime/graph_plan.h"

namespace edgeai::runtime {

Session::Session(std::shared_ptr<const ir::Graph> graph, Env& env) : graph_(std::move(graph)), env_(env) {}
Session::~Session() = default;

Result<std::unique_ptr<Session>> Session::create(std::shared_ptr<const ir::Graph> graph, Env& env,
                                                 const SessionOptions& options) {
  if (!graph) return invalid_argument("no graph");
  if (options.optimize) {
    auto copy = std::make_shared<ir::Graph>(*graph);
    RETURN_IF_ERROR(passes::optimize_graph(*copy, passes::OptimizeOptions{}));
    graph = std::move(copy);
  }
  auto s = std::unique_ptr<Session>(new Session(std::move(graph), env));
  ASSIGN_OR_RETURN(s->plan_, GraphPlan::build(*s->graph_, {}, s->registry_, env, options.reference_only));
  s->stats_.assign(s->plan_->nodes().size(), {});
  if (options.prepack) s->prepack_run();
  return s;
}

void Session::prepack_run() {
  constexpr int64_t kMaxElements = int64_t(1) << 26;  // per input; larger ones wait for a real run
  std::vector<NamedValue> zeros;
  for (const ir::ValueInfo* in : graph_->feed_inputs()) {
    const ir::ValueType& t = in->type;
    if (t.kind != ir::ValueKind::kTensor || !t.shape ||
        !(dtype_is_float(t.dtype) || dtype_is_integer(t.dtype) || t.dtype == DType::kBool)) {
      return;
    }
    std::vector<int64_t> dims;
    int64_t n = 1;
    for (const ir::Dim& d : *t.shape) {
      if (!d.known() || (d.value > 0 && n > kMaxElements / d.value)) return;
      dims.push_back(d.value);
      n *= d.value;
    }
    auto z = Tensor::create(t.dtype, Shape(dims));  // zeroed
    if (!z.ok()) return;
    zeros.push_back({in->name, Value::of(std::move(z).value())});
  }
  (void)run(zeros);
}

namespace {
Status check_input(const ir::ValueInfo& decl, const Value& v) {
  const ir::ValueType& t = decl.type;
  if (t.kind == ir::ValueKind::kTensor) {
    if (!v.is_tensor()) return invalid_argument("input '" + decl.name + "' must be a tensor");
    const Tensor& x = v.tensor;
    if (t.dtype != DType::kUndefined && x.dtype() != t.dtype) {
      return invalid_argument("input '" + decl.name + "': expected dtype " + std::string(dtype_name(t.dtype)) +
                              ", got " + std::string(dtype_name(x.dtype())));
    }
    if (t.shape) {
      const auto& dims = *t.shape;
      bool bad = dims.size() != x.shape().size();
      for (size_t i = 0; !bad && i < dims.size(); ++i) {
        if (dims[i].known() && dims[i].value != x.dim(static_cast<int>(i))) bad = true;
      }
      if (bad) {
        std::string want = "[";
        for (size_t i = 0; i < dims.size(); ++i) {
          if (i) want += ",";
          want += dims[i].known() ? std::to_string(dims[i].value) : (dims[i].symbol.empty() ? "?" : dims[i].symbol);
        }
        want += "]";
        return invalid_argument("input '" + decl.name + "': expected shape " + want + ", got " +
                                shape_str(x.shape()));
      }
    }
  } else if (t.kind == ir::ValueKind::kSequence && v.kind != Value::Kind::kSequence) {
    return invalid_argument("input '" + decl.name + "' must be a sequence");
  }
  return ok_status();
}
}  // namespace

Result<std::vector<Value>> Session::run(const std::vector<NamedValue>& inputs) {
  const ir::Graph& g = *graph_;
  std::vector<Value> ordered(g.inputs.size());
  std::vector<bool> given(g.inputs.size(), false);
  for (const auto& nv : inputs) {
    bool found = false;
    for (size_t i = 0; i < g.inputs.size(); ++i) {
      if (g.inputs[i].name == nv.name) {
        RETURN_IF_ERROR(check_input(g.inputs[i], nv.value));
        ordered[i] = nv.value;
        given[i] = true;
        found = true;
        break;
      }
    }
    if (!found) return invalid_argument("the model has no input named '" + nv.name + "'");
  }
  for (size_t i = 0; i < g.inputs.size(); ++i) {
    if (!given[i] && !g.initializers.count(g.inputs[i].name) &&
        g.inputs[i].type.kind == ir::ValueKind::kTensor) {
      return invalid_argument("missing input '" + g.inputs[i].name + "'");
    }
  }
  RunOptions opts;
  opts.env = &env_;
  opts.stats = profiling_ ? &stats_ : nullptr;
  return plan_->run(std::move(ordered), nullptr, opts);
}

std::vector<NodeProfile> Session::profile() const {
  std::vector<NodeProfile> out;
  for (size_t i = 0; i < stats_.size(); ++i) {
    const auto& n = *plan_->nodes()[i].node;
    out.push_back({n.name, n.op_type, stats_[i].total_ms, stats_[i].calls});
  }
  return out;
}

}  // namespace edgeai::runtime
