// The GELU that exporters spell out in primitive ops becomes one com.edgeai Gelu:
//   erf form:  0.5 * x * (1 + Erf(x / sqrt(2)))                      -> Gelu(x)
//   tanh form: 0.5 * x * (1 + Tanh(sqrt(2/pi) * (x + 0.044715 x^3))) -> Gelu(x, approximate="tanh")
// x / sqrt(2) may be x * (1/sqrt(2)); x^3 may be Pow(x, 3) or x * x * x; the factors 0.5 and x
// may be applied in any order ((x * a) * 0.5, x * (a * 0.5), (x * 0.5) * a).
#include "passes/pass_util.h"
#include "passes/passes.h"

namespace edgeai::passes {
namespace {

constexpr double kSqrt2 = 1.41421356237309504880;
constexpr double kSqrt2OverPi = 0.79788456080286535588;

struct Match {
  std::string x;            // the GELU's input
  std::vector<int> nodes;   // the nodes the Gelu replaces (the last one is where it goes)
  std::string y;            // the GELU's output
};

// Whether binary node n (of type op) reads `value` and a constant scalar equal to `c`.
bool binary_with_const(const ir::Node& n, const GraphIndex& idx, std::string_view op, const std::string& value,
                       double c, double tol = 1e-4) {
  if (!n.domain.empty() || n.op_type != op) return false;
  return is_scalar(idx.constant(other_input(n, value)), c, tol);
}

// x / sqrt(2) or x * (1 / sqrt(2)): the input x of node n, or empty.
std::string erf_arg_input(const ir::Node& n, const GraphIndex& idx) {
  if (!n.domain.empty() || n.inputs.size() != 2) return {};
  if (n.op_type == "Div" && is_scalar(idx.constant(n.inputs[1]), kSqrt2, 1e-4)) return n.inputs[0];
  if (n.op_type == "Mul") {
    for (int k = 0; k < 2; ++k) {
      if (is_scalar(idx.constant(n.inputs[1 - k]), 1.0 / kSqrt2, 1e-4)) return n.inputs[k];
    }
  }
  return {};
}

// The tail shared by both forms: a = 1 + f(x) is multiplied by x and 0.5. Appends the nodes to
// `m` and sets m->y; false when the tail does not match.
bool match_tail(const ir::Graph& g, const GraphIndex& idx, const std::string& f_out, Match* m) {
  const int add1 = sole_consumer_op(g, idx, f_out, "Add");
  if (add1 < 0 || !binary_with_const(g.nodes[add1], idx, "Add", f_out, 1.0, 1e-6)) return false;
  const std::string a = g.nodes[add1].outputs[0];
  const int m1 = sole_consumer_op(g, idx, a, "Mul");
  if (m1 < 0) return false;
  const std::string o1 = other_input(g.nodes[m1], a);
  const std::string m1_out = g.nodes[m1].outputs[0];
  if (o1 == m->x) {  // (x * a) * 0.5
    const int m2 = sole_consumer_op(g, idx, m1_out, "Mul");
    if (m2 < 0 || !binary_with_const(g.nodes[m2], idx, "Mul", m1_out, 0.5, 1e-6)) return false;
    m->nodes.insert(m->nodes.end(), {add1, m1, m2});
    m->y = g.nodes[m2].outputs[0];
    return true;
  }
  if (is_scalar(idx.constant(o1), 0.5, 1e-6)) {  // x * (a * 0.5)
    const int m2 = sole_consumer_op(g, idx, m1_out, "Mul");
    if (m2 < 0 || other_input(g.nodes[m2], m1_out) != m->x) return false;
    m->nodes.insert(m->nodes.end(), {add1, m1, m2});
    m->y = g.nodes[m2].outputs[0];
    return true;
  }
  // (x * 0.5) * a
  const int h = producer_op(g, idx, o1, "Mul");
  if (h < 0 || idx.sole_consumer(o1) != m1 || !binary_with_const(g.nodes[h], idx, "Mul", m->x, 0.5, 1e-6)) {
    return false;
  }
  m->nodes.insert(m->nodes.end(), {add1, h, m1});
  m->y = m1_out;
  return true;
}

bool match_erf(const ir::Graph& g, const GraphIndex& idx, int erf, Match* m) {
  const ir::Node& e = g.nodes[erf];
  if (e.inputs.size() != 1 || e.outputs.size() != 1) return false;
  const int div = idx.producer(e.inputs[0]);
  if (div < 0 || idx.sole_consumer(e.inputs[0]) != erf) return false;
  m->x = erf_arg_input(g.nodes[div], idx);
  if (m->x.empty()) return false;
  m->nodes = {div, erf};
  return match_tail(g, idx, e.outputs[0], m);
}

// x^3 as Pow(x, 3), Mul(Mul(x, x), x) or Mul(x, Mul(x, x)): the nodes, or empty.
std::vector<int> match_cube(const ir::Graph& g, const GraphIndex& idx, const std::string& v, std::string* x) {
  const int p = idx.producer(v);
  if (p < 0) return {};
  const ir::Node& n = g.nodes[p];
  if (!n.domain.empty() || n.inputs.size() != 2) return {};
  if (n.op_type == "Pow" && is_scalar(idx.constant(n.inputs[1]), 3.0, 0)) {
    *x = n.inputs[0];
    return {p};
  }
  if (n.op_type != "Mul") return {};
  for (int k = 0; k < 2; ++k) {
    const int sq = producer_op(g, idx, n.inputs[k], "Mul");
    if (sq < 0 || idx.sole_consumer(n.inputs[k]) != p) continue;
    const ir::Node& s = g.nodes[sq];
    if (s.inputs.size() == 2 && s.inputs[0] == s.inputs[1] && s.inputs[0] == n.inputs[1 - k]) {
      *x = s.inputs[0];
      return {sq, p};
    }
  }
  return {};
}

bool match_tanh(const ir::Graph& g, const GraphIndex& idx, int tanh, Match* m) {
  const ir::Node& t = g.nodes[tanh];
  if (t.inputs.size() != 1 || t.outputs.size() != 1) return false;
  // sqrt(2/pi) * w
  const int scale = producer_op(g, idx, t.inputs[0], "Mul");
  if (scale < 0 || idx.sole_consumer(t.inputs[0]) != tanh) return false;
  std::string w;
  for (int k = 0; k < 2; ++k) {
    if (is_scalar(idx.constant(g.nodes[scale].inputs[1 - k]), kSqrt2OverPi, 1e-4)) w = g.nodes[scale].inputs[k];
  }
  if (w.empty() || g.nodes[scale].inputs.size() != 2) return false;
  // w = x + q, q = 0.044715 * x^3
  const int add = producer_op(g, idx, w, "Add");
  if (add < 0 || idx.sole_consumer(w) != scale || g.nodes[add].inputs.size() != 2) return false;
  for (int k = 0; k < 2; ++k) {
    const std::string x = g.nodes[add].inputs[k], q = g.nodes[add].inputs[1 - k];
    const int qn = producer_op(g, idx, q, "Mul");
    if (qn < 0 || idx.sole_consumer(q) != add || g.nodes[qn].inputs.size() != 2) continue;
    for (int j = 0; j < 2; ++j) {
      if (!is_scalar(idx.constant(g.nodes[qn].inputs[1 - j]), 0.044715, 1e-4)) continue;
      const std::string cube = g.nodes[qn].inputs[j];
      if (idx.sole_consumer(cube) != qn) continue;
      std::string cx;
      std::vector<int> cn = match_cube(g, idx, cube, &cx);
      if (cn.empty() || cx != x) continue;
      m->x = x;
      m->nodes = cn;
      m->nodes.insert(m->nodes.end(), {qn, add, scale, tanh});
      return match_tail(g, idx, t.outputs[0], m);
    }
  }
  return false;
}

}  // namespace

Result<int> fuse_gelu(ir::Graph& g) {
  return sweep_rewrites(g, true, [&](const GraphIndex& idx, size_t i, std::vector<bool>& removed,
                                     std::vector<bool>& touched) {
    const ir::Node& n = g.nodes[i];
    if (!n.domain.empty() || (n.op_type != "Erf" && n.op_type != "Tanh")) return false;
    Match m;
    const bool is_tanh = n.op_type == "Tanh";
    if (!(is_tanh ? match_tanh(g, idx, static_cast<int>(i), &m) : match_erf(g, idx, static_cast<int>(i), &m))) {
      return false;
    }
    bool free = true;
    for (int k : m.nodes) free = free && !touched[k];
    if (!free) return false;
    // Every intermediate value is read only inside the pattern (checked above through
    // sole_consumer), except x, which the pattern reads several times.
    ir::Node gelu;
    gelu.name = idx.fresh_name(n.name.empty() ? "Gelu" : n.name + "_gelu");
    gelu.op_type = "Gelu";
    gelu.domain = kEdgeaiDomain;
    gelu.inputs = {m.x};
    gelu.outputs = {m.y};
    if (is_tanh) gelu.attributes["approximate"] = attr_string("approximate", "tanh");
    for (int k : m.nodes) removed[k] = touched[k] = true;
    const int last = m.nodes.back();
    g.nodes[last] = std::move(gelu);
    removed[last] = false;
    return true;
  });
}

}  // namespace edgeai::passes
