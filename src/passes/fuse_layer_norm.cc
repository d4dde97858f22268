// The layer normalization that exporters spell out in primitive ops,
//   m = ReduceMean(X, axes=[-1]); d = Sub(X, m); v = ReduceMean(Pow(d, 2), axes=[-1]);
//   Y = Div(d, Sqrt(Add(v, eps))) * gamma + beta,
// becomes one LayerNormalization(X, gamma, beta, axis=-1, epsilon=eps) (the opset 17 op, run by
// edgeai at any opset). d*d may stand for Pow(d, 2); beta may be absent. gamma and beta must be
// constants varying along the last axis only.
#include <cmath>

#include "passes/pass_util.h"
#include "passes/passes.h"

namespace edgeai::passes {
namespace {

// The reduced axes of a ReduceMean (attribute, or input 1 from opset 18) when it keeps dims and
// reduces over exactly the last axis; false otherwise.
bool reduces_last_axis(const ir::Graph& g, const GraphIndex& idx, const ir::Node& r, const std::string& x) {
  if (r.inputs.empty() || r.inputs[0] != x || r.outputs.size() != 1) return false;
  const ir::Attribute* kd = r.attr("keepdims");
  if (kd && kd->i == 0) return false;
  std::vector<int64_t> axes;
  if (!ints_attr_or_input(idx, r, "axes", 1, &axes) || axes.size() != 1) return false;
  if (axes[0] == -1) return true;
  const int rank = known_rank(g, idx, x);
  return rank > 0 && axes[0] == rank - 1;
}

// A constant that varies only along the last axis (all other dims 1), of a float dtype.
const Tensor* last_axis_param(const GraphIndex& idx, const std::string& name) {
  const Tensor* t = idx.constant(name);
  if (!t || !dtype_is_float(t->dtype()) || t->rank() < 1) return nullptr;
  if (t->numel() != t->shape().back()) return nullptr;
  return t;
}

}  // namespace

Result<int> fuse_layer_norm(ir::Graph& g) {
  return sweep_rewrites(g, false, [&](const GraphIndex& idx, size_t i, std::vector<bool>& removed,
                                     std::vector<bool>& touched) {
    const ir::Node& r1 = g.nodes[i];
    if (!r1.domain.empty() || r1.op_type != "ReduceMean" || r1.inputs.empty()) return false;
    const std::string x = r1.inputs[0];
    if (!reduces_last_axis(g, idx, r1, x)) return false;
    // d = Sub(X, mean)
    const int sub = sole_consumer_op(g, idx, r1.outputs[0], "Sub");
    if (sub < 0 || g.nodes[sub].inputs.size() != 2 || g.nodes[sub].inputs[0] != x || g.nodes[sub].inputs[1] != r1.outputs[0]) return false;
    const std::string d = g.nodes[sub].outputs[0];
    // d is read by the square (once by Pow, twice by Mul(d, d)) and by the Div, nothing else.
    const auto& d_users = idx.consumers(d);
    if (idx.is_pinned(d) || d_users.size() < 2 || d_users.size() > 3) return false;
    // The square (Pow(d, 2) or Mul(d, d)) and the Div(d, ...).
    int sq = -1, div = -1;
    for (int u : d_users) {
      const ir::Node& n = g.nodes[u];
      if (!n.domain.empty() || n.outputs.size() != 1 || n.outputs[0].empty()) continue;
      if (n.op_type == "Pow" && n.inputs.size() == 2 && n.inputs[0] == d && is_scalar(idx.constant(n.inputs[1]), 2.0, 0)) sq = u;
      else if (n.op_type == "Mul" && n.inputs.size() == 2 && n.inputs[0] == d && n.inputs[1] == d) sq = u;
      else if (n.op_type == "Div" && n.inputs.size() == 2 && n.inputs[0] == d) div = u;
    }
    if (sq < 0 || div < 0 || sq == div) return false;
    const size_t expected_uses = g.nodes[sq].op_type == "Mul" ? 3 : 2;
    if (d_users.size() != expected_uses) return false;
    const int r2 = sole_consumer_op(g, idx, g.nodes[sq].outputs[0], "ReduceMean");
    if (r2 < 0 || !reduces_last_axis(g, idx, g.nodes[r2], g.nodes[sq].outputs[0])) return false;
    const int add_eps = sole_consumer_op(g, idx, g.nodes[r2].outputs[0], "Add");
    if (add_eps < 0) return false;
    double eps = 0;
    if (!scalar_value(idx.constant(other_input(g.nodes[add_eps], g.nodes[r2].outputs[0])), &eps) ||
        !(eps >= 0) || !std::isfinite(eps)) {
      return false;
    }
    const int sqrt = sole_consumer_op(g, idx, g.nodes[add_eps].outputs[0], "Sqrt");
    if (sqrt < 0 || g.nodes[div].inputs[1] != g.nodes[sqrt].outputs[0] ||
        idx.sole_consumer(g.nodes[sqrt].outputs[0]) != div) {
      return false;
    }
    // * gamma (+ beta)
    const int mul = sole_consumer_op(g, idx, g.nodes[div].outputs[0], "Mul");
    if (mul < 0) return false;
    const std::string gamma = other_input(g.nodes[mul], g.nodes[div].outputs[0]);
    const Tensor* gt = last_axis_param(idx, gamma);
    if (!gt) return false;
    std::string beta, y = g.nodes[mul].outputs[0];
    const int add_b = sole_consumer_op(g, idx, y, "Add");
    int last = mul;
    if (add_b >= 0) {
      const std::string b = other_input(g.nodes[add_b], y);
      const Tensor* bt = last_axis_param(idx, b);
      if (bt && bt->numel() == gt->numel() && bt->dtype() == gt->dtype()) {
        beta = b;
        y = g.nodes[add_b].outputs[0];
        last = add_b;
      }
    }
    const std::vector<int> chain = {static_cast<int>(i), sub, sq, r2, add_eps, sqrt, div, mul};
    bool free = true;
    for (int k : chain) free = free && !touched[k];
    if (!free || (last == add_b && touched[add_b])) return false;

    ir::Node ln;
    ln.name = idx.fresh_name(g.nodes[div].name.empty() ? "LayerNorm" : g.nodes[div].name + "_layernorm");
    ln.op_type = "LayerNormalization";
    ln.inputs = {x, gamma};
    if (!beta.empty()) ln.inputs.push_back(beta);
    ln.outputs = {y};
    ir::Attribute axis;
    axis.name = "axis";
    axis.type = ir::AttrType::kInt;
    axis.i = -1;
    ir::Attribute e;
    e.name = "epsilon";
    e.type = ir::AttrType::kFloat;
    e.f = static_cast<float>(eps);
    ln.attributes["axis"] = axis;
    ln.attributes["epsilon"] = e;
    for (int k : chain) removed[k] = touched[k] = true;
    if (last == add_b) removed[add_b] = touched[add_b] = true;
    // The new node takes the place of the last node of the chain.
    g.nodes[last] = std::move(ln);
    removed[last] = false;
    return true;
  });
}

}  // namespace edgeai::passes
