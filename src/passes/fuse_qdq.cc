// QDQ int8 patterns (onnxruntime's quantize_static QDQ layout) become integer ops:
//
//   DequantizeLinear(x: u8, x_scale, x_zp) ──┐
//   DequantizeLinear(w: s8 const, w_scale, w_zp) ── Conv ── QuantizeLinear(y_scale, y_zp) -> y
//   DequantizeLinear(b: s32 const, x_scale * w_scale, 0) ──┘
//
// becomes QLinearConv(x, x_scale, x_zp, w, w_scale, w_zp, y_scale, y_zp, b) (Relu / Clip(0, _)
// are already folded into the output range by such quantizers). A Gemm in its place (a classifier:
// x [N, K], weights [M, K] with transB or [K, M], alpha = beta = 1) becomes the 1x1 QLinearConv of
// Reshape(x, [N, K, 1, 1]) with the weights as [M, K, 1, 1], then Reshape(y, [N, M]): the int8
// kernel instead of a float Gemm on weights dequantized to 4x their bytes. The integer op computes the
// product exactly and rounds once, so its output equals the float QDQ graph's except where the two
// roundings fall on different sides of a half step: at most one quantization step apart.
//
// DQ(x: u8) -> MatMul(DQ(w: s8 constant [K, N])) [-> Add(constant bias)] -> Q becomes
// QLinearMatMul, with the bias com.edgeai QLinearMatMul (see fuse_matmul).
//
// Only well-formed patterns are rewritten: scalar activation scales and zero points, finite
// positive scales, per-tensor or per-output-channel (axis 0) weight scales of the right length,
// weight zero points of the weight's dtype, a bias whose scale is x_scale * w_scale (to 1e-5) with
// zero points 0, and the Conv's output read by nothing but the QuantizeLinear. Anything else is
// left as it is, for the reference kernels to run (or reject) as the float QDQ graph.
//
// DequantizeLinear(x: u8) -> a few elementwise ops (Sigmoid, Mul: SiLU as x * Sigmoid(x), HardSwish,
// Tanh, Relu, Clip, ... with scalar constants) -> QuantizeLinear becomes com.edgeai QLut(x, table):
// the table is the chain run by the reference kernels on the 256 possible bytes, so the result
// is the same, bit for bit. A chain from one DQ whose float result goes on to float ops (SiLU read
// by a pool and a squeeze-excitation Mul) becomes QLut with a table of 256 floats, the same values.
//
// DequantizeLinear(a: u8), DequantizeLinear(b: u8) -> Add [-> Relu] -> QuantizeLinear becomes
// com.edgeai QLinearAdd [relu = 1] (the same float steps per element, so the same bytes). DQ(a), DQ(b) -> Concat -> Q
// becomes a Concat of bytes, each input through its requantization table (none when the scales
// and zero points match).
//
// DQ(x: u8) -> MaxPool -> Q becomes com.edgeai QMaxPool on the bytes, x through the table of
// Q(DQ(byte)) first where that is not the identity: the max commutes with the non-decreasing
// Q(DQ(.)), so the bytes are the unfused graph's.
//
// Then every DequantizeLinear left with constant inputs (weights and biases of ops that stay in
// float, such as a classifier Gemm) is folded into a float initializer: the same values the
// reference kernel would compute on every run, once. (fold_constants keeps DequantizeLinear so
// that this pass sees the QDQ patterns.)
#include <algorithm>
#include <cmath>
#include <initializer_list>
#include <map>
#include <vector>

#include "passes/node_eval.h"
#include "passes/pass_util.h"
#include "passes/passes.h"

namespace edgeai::passes {
namespace {

// A positive finite f32 scalar (or one element) constant.
bool positive_scalar(const Tensor* t) {
  if (!t || t->dtype() != DType::kF32 || t->numel() != 1 || t->rank() > 1) return false;
  const float v = t->data<float>()[0];
  return std::isfinite(v) && v > 0.f;
}

bool q8(DType t) { return t == DType::kU8 || t == DType::kI8; }

// Only the attributes a per-tensor / per-axis Q or DQ may carry (no blocked quantization).
bool plain_qdq_attrs(const ir::Node& n) {
  for (const auto& [name, a] : n.attributes) {
    if (name == "axis") continue;
    if (name == "block_size" && a.i == 0) continue;
    if (name == "saturate" && a.i == 1) continue;
    return false;
  }
  return true;
}

// A QuantizeLinear to 8 bits per tensor: scalar positive scale, scalar u8 / s8 zero point.
bool output_q(const ir::Graph& g, const GraphIndex& idx, size_t i) {
  const ir::Node& q = g.nodes[i];
  if (!q.domain.empty() || q.op_type != "QuantizeLinear" || q.inputs.size() != 3 || q.outputs.size() != 1 ||
      !plain_qdq_attrs(q)) {
    return false;
  }
  const Tensor* yz = idx.constant(q.inputs[2]);
  return positive_scalar(idx.constant(q.inputs[1])) && yz && q8(yz->dtype()) && yz->numel() == 1 && yz->rank() <= 1;
}

// A DequantizeLinear of an activation: node index, or -1. Scalar scale and u8 (or, with
// `allow_s8`, s8) zero point.
int activation_dq(const ir::Graph& g, const GraphIndex& idx, const std::string& value, bool allow_s8 = false) {
  const int d = producer_op(g, idx, value, "DequantizeLinear");
  if (d < 0) return -1;
  const ir::Node& n = g.nodes[d];
  if (n.inputs.size() != 3 || n.outputs.size() != 1 || !plain_qdq_attrs(n)) return -1;
  const Tensor* z = idx.constant(n.inputs[2]);
  if (!positive_scalar(idx.constant(n.inputs[1])) || !z || !(z->dtype() == DType::kU8 || (allow_s8 && z->dtype() == DType::kI8)) ||
      z->numel() != 1 || z->rank() > 1) {
    return -1;
  }
  return d;
}

// Whether weight DQ node `n` is per tensor, or per channel along `axis` of `w`.
bool weight_dq_ok(const ir::Graph& g, const GraphIndex& idx, const ir::Node& n, int64_t axis) {
  if (n.inputs.size() != 3 || n.outputs.size() != 1 || !plain_qdq_attrs(n)) return false;
  const Tensor* w = idx.constant(n.inputs[0]);
  const Tensor* s = idx.constant(n.inputs[1]);
  const Tensor* z = idx.constant(n.inputs[2]);
  if (!w || !s || !z || !q8(w->dtype()) || z->dtype() != w->dtype() || s->dtype() != DType::kF32) return false;
  if (z->shape() != s->shape()) return false;
  for (int64_t i = 0; i < s->numel(); ++i) {
    const float v = s->data<float>()[i];
    if (!std::isfinite(v) || v <= 0.f) return false;
  }
  if (s->numel() == 1 && s->rank() <= 1) return true;
  if (s->rank() != 1 || w->rank() < 1) return false;
  int64_t a = n.attr("axis") ? n.attr("axis")->i : 1;
  if (a < 0) a += w->rank();
  return a == axis && s->dim(0) == w->dim(axis);
}

// Folds DequantizeLinear nodes whose inputs are all constants into initializers.
int fold_constant_dq(ir::Graph& g) {
  GraphIndex idx(g);
  NodeEvaluator eval;
  int count = 0;
  std::vector<bool> removed(g.nodes.size(), false);
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    const ir::Node& n = g.nodes[i];
    if (!n.domain.empty() || n.op_type != "DequantizeLinear" || n.outputs.size() != 1 || n.outputs[0].empty() ||
        idx.is_pinned(n.outputs[0]) || idx.consumers(n.outputs[0]).empty() || n.inputs.empty() ||
        n.inputs.size() > 3) {
      continue;  // (nothing reads the DequantizeLinear of a fused weight any more: dead-node removal takes it)
    }
    std::vector<kernels::Value> in;
    for (const auto& name : n.inputs) {
      const Tensor* t = name.empty() ? nullptr : idx.constant(name);
      if (!name.empty() && !t) break;
      in.push_back(t ? kernels::Value::of(*t) : kernels::Value());
    }
    if (in.size() != n.inputs.size()) continue;
    auto out = eval.run(g, n, in);
    if (!out.ok() || out->size() != 1 || !(*out)[0].is_tensor()) continue;  // left for the runtime to report
    g.initializers[n.outputs[0]] = (*out)[0].tensor;
    removed[i] = true;
    ++count;
  }
  if (count) erase_nodes(g, removed);
  return count;
}

// A Gemm that is a 1x1 convolution of rows: A not transposed, alpha 1, beta 1 (or no C).
bool gemm_as_conv(const ir::Node& n) {
  for (const auto& [name, a] : n.attributes) {
    if (name == "transB" || (name == "transA" && a.i == 0) || ((name == "alpha" || name == "beta") && a.f == 1.f)) {
      continue;
    }
    return false;
  }
  return true;
}

ir::Node reshape_node(ir::Graph& g, const GraphIndex& idx, const std::string& name, const std::string& in,
                      const std::string& out, std::initializer_list<int64_t> shape) {
  ir::Node n;
  n.name = idx.fresh_name(name);
  n.op_type = "Reshape";
  n.inputs = {in, add_initializer(g, idx, out + "_shape",
                                  Tensor::from_vector<int64_t>(DType::kI64, {static_cast<int64_t>(shape.size())},
                                                               std::vector<int64_t>(shape)))};
  n.outputs = {out};
  return n;
}

bool lut_op(const ir::Node& n) {
  static const char* kOps[] = {"Sigmoid", "Tanh", "Relu", "LeakyRelu", "HardSigmoid", "HardSwish", "Clip", "Mul",
                               "Add", "Sub", "Div", "Neg", "Abs", "Exp", "Erf", "Softplus", "Elu", "Selu"};
  if (!n.domain.empty() || n.outputs.size() != 1 || n.outputs[0].empty()) return false;
  for (const char* o : kOps) {
    if (n.op_type == o) return true;
  }
  return false;
}

// The elementwise nodes between DequantizeLinear `dq`'s output and `value` (collected into `chain`),
// when every one reads only that output, each other's outputs or rank-0 constants, and is read only
// inside the chain (or by the final QuantizeLinear, for `value`). False otherwise.
bool collect_chain(const ir::Graph& g, const GraphIndex& idx, const std::string& value, int dq, int q,
                   std::vector<int>& chain) {
  const int p = idx.producer(value);
  if (p == dq) return true;
  if (p < 0 || !lut_op(g.nodes[p]) || chain.size() >= 6) return false;
  if (std::find(chain.begin(), chain.end(), p) != chain.end()) return true;
  chain.push_back(p);
  for (const auto& in : g.nodes[p].inputs) {
    if (in.empty()) continue;
    if (const Tensor* c = idx.constant(in)) {
      if (c->numel() != 1 || c->rank() != 0) return false;  // scalars: the shape stays X's
      continue;
    }
    if (!collect_chain(g, idx, in, dq, q, chain)) return false;
  }
  return true;
}

// The DequantizeLinear (of an activation) at the root of the elementwise chain ending in `value`:
// found by walking up the first non-constant inputs; -1 when there is none.
int chain_root(const ir::Graph& g, const GraphIndex& idx, std::string v) {
  for (int depth = 0; depth < 8; ++depth) {
    const int p = idx.producer(v);
    if (p < 0) return -1;
    if (g.nodes[p].op_type == "DequantizeLinear") return activation_dq(g, idx, v);
    if (!lut_op(g.nodes[p])) return -1;
    std::string next;
    for (const auto& in : g.nodes[p].inputs) {
      if (!in.empty() && !idx.constant(in)) {
        next = in;
        break;
      }
    }
    v = next;
  }
  return -1;
}

// The value of `out` when DequantizeLinear `dq`'s input is each of the 256 bytes: `dq`, the chain
// (sorted into graph order) and then `q` (when not null) run by the reference kernels. Undefined
// when a kernel declines.
Tensor chain_table(const ir::Graph& g, const GraphIndex& idx, NodeEvaluator& eval, int dq, const std::vector<int>& chain,
                   const ir::Node* q, const std::string& out) {
  const ir::Node& d = g.nodes[dq];
  Tensor bytes = Tensor::create(DType::kU8, {256}).value();
  for (int i = 0; i < 256; ++i) bytes.data<uint8_t>()[i] = static_cast<uint8_t>(i);
  std::map<std::string, kernels::Value> vals;
  vals[d.inputs[0]] = kernels::Value::of(bytes);
  auto value_of = [&](const std::string& name) -> kernels::Value {
    if (name.empty()) return kernels::Value();
    if (auto it = vals.find(name); it != vals.end()) return it->second;
    if (const Tensor* c = idx.constant(name)) return kernels::Value::of(*c);
    return kernels::Value();
  };
  auto run = [&](const ir::Node& n) {
    std::vector<kernels::Value> in;
    for (const auto& name : n.inputs) in.push_back(value_of(name));
    auto r = eval.run(g, n, in);
    if (!r.ok() || r->size() != 1 || !(*r)[0].is_tensor()) return false;
    vals[n.outputs[0]] = (*r)[0];
    return true;
  };
  bool ok = run(d);
  for (int c : chain) ok = ok && run(g.nodes[c]);
  if (q) ok = ok && run(*q);
  if (!ok) return Tensor();
  return vals[out].tensor;
}

// Whether every node of `chain` is still there, has an unpinned output and is read only inside
// the chain (or by `last`, the node after it, when >= 0). The chain's own last node, if it is in
// `chain` as `keep`, may be read by anything.
bool chain_closed(const GraphIndex& idx, const ir::Graph& g, const std::vector<int>& chain,
                  const std::vector<bool>& removed, int last, int keep) {
  for (int c : chain) {
    if (removed[c]) return false;
    if (c == keep) continue;
    const std::string& out = g.nodes[c].outputs[0];
    if (idx.is_pinned(out)) return false;
    for (int user : idx.consumers(out)) {
      if (user != last && std::find(chain.begin(), chain.end(), user) == chain.end()) return false;
    }
  }
  return true;
}

ir::Node lut_node(ir::Graph& g, const GraphIndex& idx, const std::string& name, const std::string& x,
                  const std::string& y, const Tensor& table) {
  ir::Node lut;
  lut.name = name;
  lut.op_type = "QLut";
  lut.domain = kEdgeaiDomain;
  lut.inputs = {x, add_initializer(g, idx, y + "_table", table)};
  lut.outputs = {y};
  return lut;
}

// The node of type `op` (default domain, one output, not removed) that produces `v`, when node
// `reader` is v's only reader and v is unpinned; -1 otherwise.
int sole_input_op(const ir::Graph& g, const GraphIndex& idx, const std::vector<bool>& removed, const std::string& v,
                  int reader, std::string_view op) {
  const int p = idx.producer(v);
  if (p < 0 || removed[p] || idx.sole_consumer(v) != reader || idx.is_pinned(v)) return -1;
  const ir::Node& n = g.nodes[p];
  return n.domain.empty() && n.op_type == op && n.outputs.size() == 1 ? p : -1;
}

// The node of type `op` whose output only QuantizeLinear `qi` (an output_q) reads (sole_input_op).
int quantized_op(const ir::Graph& g, const GraphIndex& idx, const std::vector<bool>& removed, size_t qi,
                 std::string_view op) {
  if (removed[qi] || !output_q(g, idx, qi)) return -1;
  return sole_input_op(g, idx, removed, g.nodes[qi].inputs[0], static_cast<int>(qi), op);
}

// Drops the removed nodes; the rewrites introduced com.edgeai ops when count > 0.
int finish_rewrites(ir::Graph& g, const std::vector<bool>& removed, int count) {
  if (count) {
    erase_nodes(g, removed);
    use_edgeai_domain(g);
  }
  return count;
}

// Rewrites DQ(a), DQ(b) -> Add [-> Relu] -> Q (a residual connection) into com.edgeai QLinearAdd
// [relu = 1], which computes the same float steps per element without the float tensors; returns
// the count.
int fuse_add(ir::Graph& g) {
  GraphIndex idx(g);
  std::vector<bool> removed(g.nodes.size(), false);
  int count = 0;
  for (size_t qi = 0; qi < g.nodes.size(); ++qi) {
    int ai = quantized_op(g, idx, removed, qi, "Add");
    const int ri = ai < 0 ? quantized_op(g, idx, removed, qi, "Relu") : -1;
    if (ri >= 0 && g.nodes[ri].inputs.size() == 1) {  // Add -> Relu, the Relu the Add's only reader
      ai = sole_input_op(g, idx, removed, g.nodes[ri].inputs[0], ri, "Add");
    }
    if (ai < 0 || g.nodes[ai].inputs.size() != 2) continue;
    const ir::Node& q = g.nodes[qi];
    ir::Node& add = g.nodes[ai];
    const int da = activation_dq(g, idx, add.inputs[0]);
    const int db = activation_dq(g, idx, add.inputs[1]);
    if (da < 0 || db < 0) continue;
    const ir::Node& na = g.nodes[da];
    const ir::Node& nb = g.nodes[db];
    std::vector<std::string> inputs = {na.inputs[0], na.inputs[1], na.inputs[2], nb.inputs[0],
                                       nb.inputs[1], nb.inputs[2], q.inputs[1],  q.inputs[2]};
    add.op_type = "QLinearAdd";
    add.domain = kEdgeaiDomain;
    add.inputs = std::move(inputs);
    add.outputs = {q.outputs[0]};
    if (ri >= 0) {
      ir::Attribute relu;
      relu.name = "relu";
      relu.type = ir::AttrType::kInt;
      relu.i = 1;
      add.attributes["relu"] = relu;
      removed[ri] = true;
    }
    removed[qi] = true;
    ++count;
  }
  return finish_rewrites(g, removed, count);
}

// The int32 bias [N] of a MatMul's Add: `value` a float constant of N values (shape [N] or
// [1, ..., N]) or the DequantizeLinear of one, each b[n] as round_half_even(b[n] / (x_scale *
// w_scale[n])), the scale of the integer sums (an int32 bias quantized at that scale comes back as
// it was). Undefined when `value` is none of these or a value would not fit.
Tensor matmul_bias(const ir::Graph& g, const GraphIndex& idx, const std::string& value, const Tensor& xs,
                   const Tensor& ws, int64_t n) {
  Tensor f;
  if (const Tensor* c = idx.constant(value)) {
    if (c->dtype() == DType::kF32) f = *c;
  } else if (const int d = producer_op(g, idx, value, "DequantizeLinear"); d >= 0) {
    const ir::Node& nd = g.nodes[d];
    std::vector<kernels::Value> in;
    for (const auto& name : nd.inputs) {
      const Tensor* t = name.empty() ? nullptr : idx.constant(name);
      if (!name.empty() && !t) return Tensor();
      in.push_back(t ? kernels::Value::of(*t) : kernels::Value());
    }
    NodeEvaluator eval;
    auto out = eval.run(g, nd, in);
    if (!out.ok() || out->size() != 1 || !(*out)[0].is_tensor()) return Tensor();
    f = (*out)[0].tensor;
  }
  if (!f.defined() || f.dtype() != DType::kF32 || f.numel() != n || f.rank() < 1 || f.dim(f.rank() - 1) != n) {
    return Tensor();
  }
  Tensor b = Tensor::create(DType::kI32, {n}).value();
  const double sx = xs.data<float>()[0];
  for (int64_t i = 0; i < n; ++i) {
    const double v = std::nearbyint(static_cast<double>(f.data<float>()[i]) / (sx * ws.data<float>()[ws.numel() == 1 ? 0 : i]));
    if (!(std::fabs(v) < double(1 << 30))) return Tensor();
    b.data<int32_t>()[i] = static_cast<int32_t>(v);
  }
  return b;
}

// Rewrites DQ(x: u8 or s8) -> MatMul(., DQ(w: s8 constant [K, N], per tensor or per column (axis 1),
// zero points 0)) -> Q into QLinearMatMul(x, x_scale, x_zp, w, w_scale, w_zp, y_scale, y_zp), and
// with an Add of a constant bias [N] between the MatMul and the Q (a float constant or the
// DequantizeLinear of one) into com.edgeai QLinearMatMul(..., bias as int32 at x_scale * w_scale,
// see matmul_bias): the
// integer GEMM on x's rows (any rank; kernels/cpu/qmatmul.cc) instead of a float MatMul on weights
// dequantized to 4x their bytes, within one step of the float QDQ graph as QLinearConv. Products
// of two activations (attention's QK^T and PV) have no constant weight and stay float. Returns the
// count.
int fuse_matmul(ir::Graph& g) {
  GraphIndex idx(g);
  std::vector<bool> removed(g.nodes.size(), false);
  int count = 0;
  for (size_t qi = 0; qi < g.nodes.size(); ++qi) {
    int mi = quantized_op(g, idx, removed, qi, "MatMul");
    const int ai = mi < 0 ? quantized_op(g, idx, removed, qi, "Add") : -1;
    std::string bias_in;  // the Add's other input: a constant bias
    if (ai >= 0 && g.nodes[ai].inputs.size() == 2) {  // MatMul -> Add(bias) -> Q
      for (int side = 0; side < 2 && mi < 0; ++side) {
        mi = sole_input_op(g, idx, removed, g.nodes[ai].inputs[side], ai, "MatMul");
        if (mi >= 0) bias_in = g.nodes[ai].inputs[1 - side];
      }
    }
    if (mi < 0 || g.nodes[mi].inputs.size() != 2) continue;
    ir::Node& mm = g.nodes[mi];
    const int dx = activation_dq(g, idx, mm.inputs[0], true);  // s8 activations: the kernel reads x ^ 0x80
    const int dw = producer_op(g, idx, mm.inputs[1], "DequantizeLinear");
    if (dx < 0 || dw < 0 || !weight_dq_ok(g, idx, g.nodes[dw], 1)) continue;
    const ir::Node& nw = g.nodes[dw];
    const Tensor* w = idx.constant(nw.inputs[0]);
    const Tensor* wz = idx.constant(nw.inputs[2]);
    if (w->rank() != 2 || w->dtype() != DType::kI8) continue;
    bool zero = true;
    for (int64_t i = 0; i < wz->numel() && zero; ++i) zero = wz->get_int(i) == 0;
    Shape xs;
    if (!zero || (known_shape(g, idx, mm.inputs[0], &xs) && (xs.empty() || (xs.back() >= 0 && xs.back() != w->dim(0))))) {
      continue;  // (a mismatched K stays the float MatMul, which reports it)
    }
    const ir::Node& nx = g.nodes[dx];
    const ir::Node& q = g.nodes[qi];
    std::string bias;
    if (!bias_in.empty()) {
      Tensor b = matmul_bias(g, idx, bias_in, *idx.constant(nx.inputs[1]), *idx.constant(nw.inputs[1]), w->dim(1));
      if (!b.defined()) continue;
      bias = add_initializer(g, idx, mm.outputs[0] + "_bias_i32", std::move(b));
    }
    mm.op_type = "QLinearMatMul";
    mm.inputs = {nx.inputs[0], nx.inputs[1], nx.inputs[2], nw.inputs[0], nw.inputs[1], nw.inputs[2], q.inputs[1], q.inputs[2]};
    if (!bias.empty()) {
      mm.domain = kEdgeaiDomain;  // com.edgeai QLinearMatMul: + the int32 bias
      mm.inputs.push_back(bias);
      removed[ai] = true;
    }
    mm.outputs = {q.outputs[0]};
    removed[qi] = true;
    ++count;
  }
  return finish_rewrites(g, removed, count);
}

// Whether a byte table of output type `qtype` maps every u8 byte to itself.
bool identity_table(const Tensor& table, DType qtype) {
  bool identity = qtype == DType::kU8;
  for (int b = 0; b < 256 && identity; ++b) identity = table.data<uint8_t>()[b] == b;
  return identity;
}

// Rewrites DQ(a), DQ(b), ... -> Concat -> Q into Concat on the 8-bit values: each input goes
// through the byte table of Q(DQ_i(byte)) first (a QLut in place of its DequantizeLinear), or as it
// is where that table is the identity (equal scales and zero points). Copying commutes with the
// elementwise requantization, so the bytes are the unfused graph's. Returns the count.
int fuse_concat(ir::Graph& g) {
  GraphIndex idx(g);
  NodeEvaluator eval;
  std::vector<bool> removed(g.nodes.size(), false);
  int count = 0;
  for (size_t qi = 0; qi < g.nodes.size(); ++qi) {
    const int ci = quantized_op(g, idx, removed, qi, "Concat");
    if (ci < 0 || g.nodes[ci].inputs.empty()) continue;
    const ir::Node& q = g.nodes[qi];
    const ir::Node& cat = g.nodes[ci];
    // Every input a DequantizeLinear read by this Concat alone; its table.
    std::vector<int> dqs;
    std::vector<Tensor> tables;
    const DType qtype = idx.constant(q.inputs[2])->dtype();
    for (const auto& in : cat.inputs) {
      const int d = in.empty() ? -1 : activation_dq(g, idx, in);
      if (d < 0 || removed[d] || idx.sole_consumer(in) != ci || idx.is_pinned(in) ||
          std::find(dqs.begin(), dqs.end(), d) != dqs.end()) {
        break;
      }
      ir::Node requant = q;
      requant.inputs[0] = g.nodes[d].outputs[0];
      Tensor t = chain_table(g, idx, eval, d, {}, &requant, requant.outputs[0]);
      if (!t.defined() || t.numel() != 256 || t.dtype() != qtype) break;
      dqs.push_back(d);
      tables.push_back(std::move(t));
    }
    if (dqs.size() != cat.inputs.size()) continue;
    std::vector<std::string> inputs;
    for (size_t i = 0; i < dqs.size(); ++i) {
      ir::Node& d = g.nodes[dqs[i]];
      if (identity_table(tables[i], qtype)) {
        inputs.push_back(d.inputs[0]);
        removed[dqs[i]] = true;
        continue;
      }
      const std::string y = d.outputs[0] + "_requant";
      const std::string name = (d.name.empty() ? d.outputs[0] : d.name) + "_requant";
      d = lut_node(g, idx, name, d.inputs[0], y, tables[i]);
      inputs.push_back(y);
    }
    ir::Node& c = g.nodes[ci];
    c.inputs = std::move(inputs);
    c.outputs = {q.outputs[0]};
    removed[qi] = true;
    ++count;
  }
  return finish_rewrites(g, removed, count);
}

// Rewrites DQ(x) -> MaxPool -> Q into com.edgeai QMaxPool(x), or QMaxPool(QLut(x, table)) where
// the table of Q(DQ(byte)) is not the identity; returns the count.
int fuse_max_pool(ir::Graph& g) {
  GraphIndex idx(g);
  NodeEvaluator eval;
  std::vector<bool> removed(g.nodes.size(), false);
  int count = 0;
  for (size_t qi = 0; qi < g.nodes.size(); ++qi) {
    const int pi = quantized_op(g, idx, removed, qi, "MaxPool");
    if (pi < 0 || g.nodes[pi].inputs.size() != 1) continue;
    const std::string& in = g.nodes[pi].inputs[0];
    const int ci = producer_op(g, idx, in, "Concat");
    bool of_dqs = ci >= 0 && idx.sole_consumer(in) == pi && !idx.is_pinned(in);
    for (size_t k = 0; of_dqs && k < g.nodes[ci].inputs.size(); ++k) {
      of_dqs = activation_dq(g, idx, g.nodes[ci].inputs[k]) >= 0;  // finite values
    }
    if (of_dqs) {
      // Concat -> MaxPool -> Q (squeezenet) becomes Concat -> Q -> QMaxPool (Q commutes with the
      // max as well), for fuse_concat to take DQ... -> Concat -> Q; the nodes trade places so that
      // the order stays topological.
      ir::Node q = g.nodes[qi];
      ir::Node pool = g.nodes[pi];
      const std::string t = in + "_q";
      pool.op_type = "QMaxPool";
      pool.domain = kEdgeaiDomain;
      pool.inputs = {t};
      pool.outputs = q.outputs;
      q.inputs[0] = in;
      q.outputs = {t};
      g.nodes[pi] = std::move(q);
      g.nodes[qi] = std::move(pool);
      ++count;
      continue;
    }
    const int d = activation_dq(g, idx, in);
    if (d < 0 || removed[d] || idx.sole_consumer(in) != pi || idx.is_pinned(in)) continue;
    const ir::Node& q = g.nodes[qi];
    const DType qtype = idx.constant(q.inputs[2])->dtype();
    ir::Node requant = q;
    requant.inputs[0] = in;
    const Tensor table = chain_table(g, idx, eval, d, {}, &requant, requant.outputs[0]);
    if (!table.defined() || table.numel() != 256 || table.dtype() != qtype) continue;
    ir::Node& dq = g.nodes[d];
    std::string x = dq.inputs[0];
    if (identity_table(table, qtype)) {
      removed[d] = true;
    } else {
      const std::string y = in + "_requant";
      dq = lut_node(g, idx, (dq.name.empty() ? in : dq.name) + "_requant", x, y, table);
      x = y;
    }
    ir::Node& pool = g.nodes[pi];
    pool.op_type = "QMaxPool";
    pool.domain = kEdgeaiDomain;
    pool.inputs = {x};
    pool.outputs = {q.outputs[0]};
    removed[qi] = true;
    ++count;
  }
  return finish_rewrites(g, removed, count);
}

// Rewrites DQ -> elementwise chain -> Q into QLut with a byte table; returns the number of rewrites.
int fuse_lut(ir::Graph& g) {
  GraphIndex idx(g);
  NodeEvaluator eval;
  std::vector<bool> removed(g.nodes.size(), false);
  int count = 0;
  for (size_t qi = 0; qi < g.nodes.size(); ++qi) {
    if (removed[qi] || !output_q(g, idx, qi)) continue;
    const ir::Node& q = g.nodes[qi];
    const Tensor* yz = idx.constant(q.inputs[2]);
    const int dq = chain_root(g, idx, q.inputs[0]);
    if (dq < 0) continue;
    std::vector<int> chain;
    if (!collect_chain(g, idx, q.inputs[0], dq, static_cast<int>(qi), chain) || chain.empty()) continue;
    if (!chain_closed(idx, g, chain, removed, static_cast<int>(qi), -1)) continue;
    std::sort(chain.begin(), chain.end());
    const Tensor table = chain_table(g, idx, eval, dq, chain, &q, q.outputs[0]);
    if (!table.defined() || table.numel() != 256 || table.dtype() != yz->dtype()) continue;
    const std::string name = q.name.empty() ? q.outputs[0] + "_lut" : q.name + "_lut";
    const std::string x = g.nodes[dq].inputs[0], y = q.outputs[0];
    g.nodes[qi] = lut_node(g, idx, name, x, y, table);
    for (int c : chain) removed[c] = true;
    ++count;
  }
  return finish_rewrites(g, removed, count);
}

// Rewrites DQ -> elementwise chain whose float result goes on to other ops (SiLU before a pool and
// a squeeze-excitation Mul, say) into QLut with a float table: one lookup per element instead of a
// dequantization and a float pass per op, with the values the reference kernels give. The chain
// ending last in the graph is tried first, so the longest one wins.
int fuse_lut_float(ir::Graph& g) {
  GraphIndex idx(g);
  NodeEvaluator eval;
  std::vector<bool> removed(g.nodes.size(), false);
  int count = 0;
  for (size_t fi = g.nodes.size(); fi-- > 0;) {
    const ir::Node& f = g.nodes[fi];
    if (removed[fi] || !lut_op(f)) continue;
    const int dq = chain_root(g, idx, f.outputs[0]);
    if (dq < 0) continue;
    std::vector<int> chain;
    if (!collect_chain(g, idx, f.outputs[0], dq, -1, chain) || chain.empty()) continue;
    if (!chain_closed(idx, g, chain, removed, -1, static_cast<int>(fi))) continue;
    std::sort(chain.begin(), chain.end());
    const Tensor table = chain_table(g, idx, eval, dq, chain, nullptr, f.outputs[0]);
    if (!table.defined() || table.numel() != 256 || table.dtype() != DType::kF32) continue;
    const std::string name = (f.name.empty() ? f.outputs[0] : f.name) + "_lut";
    const std::string x = g.nodes[dq].inputs[0], y = f.outputs[0];
    g.nodes[fi] = lut_node(g, idx, name, x, y, table);
    for (int c : chain) {
      if (c != static_cast<int>(fi)) removed[c] = true;
    }
    ++count;
  }
  return finish_rewrites(g, removed, count);
}

}  // namespace

Result<int> fuse_qdq(ir::Graph& g) {
  int count = 0;
  GraphIndex idx(g);
  std::vector<bool> removed(g.nodes.size(), false);
  std::vector<ir::Node> added;
  for (size_t qi = 0; qi < g.nodes.size(); ++qi) {
    if (!output_q(g, idx, qi)) continue;
    ir::Node& q = g.nodes[qi];
    const int ci = idx.producer(q.inputs[0]);
    if (ci < 0 || removed[ci] || idx.sole_consumer(q.inputs[0]) != static_cast<int>(qi)) continue;
    ir::Node& conv = g.nodes[ci];
    const bool gemm = conv.op_type == "Gemm";
    if (!conv.domain.empty() || !(conv.op_type == "Conv" || (gemm && gemm_as_conv(conv))) || conv.outputs.size() != 1 ||
        conv.inputs.size() < 2 || conv.inputs.size() > 3) {
      continue;
    }
    const bool trans_b = gemm && conv.attr("transB") && conv.attr("transB")->i != 0;
    const int dx = activation_dq(g, idx, conv.inputs[0]);
    const int dw = producer_op(g, idx, conv.inputs[1], "DequantizeLinear");
    if (dx < 0 || dw < 0 || !weight_dq_ok(g, idx, g.nodes[dw], gemm && !trans_b ? 1 : 0)) continue;
    const ir::Node& nx = g.nodes[dx];
    const ir::Node& nw = g.nodes[dw];
    const Tensor* w = idx.constant(nw.inputs[0]);
    if (gemm ? (w->rank() != 2 || w->dtype() != DType::kI8 || (known_rank(g, idx, conv.inputs[0]) >= 0 &&
                                                                 known_rank(g, idx, conv.inputs[0]) != 2))
             : w->rank() < 3) {
      continue;
    }
    const int64_t m = gemm && !trans_b ? w->dim(1) : w->dim(0);
    std::string bias;
    if (conv.inputs.size() == 3 && !conv.inputs[2].empty()) {
      const int db = producer_op(g, idx, conv.inputs[2], "DequantizeLinear");
      if (db < 0) continue;
      const ir::Node& nb = g.nodes[db];
      if (nb.inputs.size() < 2 || nb.inputs.size() > 3 || nb.outputs.size() != 1 || !plain_qdq_attrs(nb)) continue;
      const Tensor* b = idx.constant(nb.inputs[0]);
      const Tensor* bs = idx.constant(nb.inputs[1]);
      const Tensor* bz = nb.inputs.size() == 3 ? idx.constant(nb.inputs[2]) : nullptr;
      if (!b || b->dtype() != DType::kI32 || b->rank() != 1 || b->dim(0) != m || !bs || bs->dtype() != DType::kF32) {
        continue;
      }
      if (nb.inputs.size() == 3 && (!bz || bz->dtype() != DType::kI32 || bz->numel() != bs->numel())) continue;
      if (!(bs->numel() == 1 || (bs->rank() == 1 && bs->dim(0) == m))) continue;
      bool ok = true;
      const float sx = idx.constant(nx.inputs[1])->data<float>()[0];
      const Tensor* ws = idx.constant(nw.inputs[1]);
      for (int64_t i = 0; i < m && ok; ++i) {
        const double want = static_cast<double>(sx) * ws->data<float>()[ws->numel() == 1 ? 0 : i];
        const double got = bs->data<float>()[bs->numel() == 1 ? 0 : i];
        ok = std::isfinite(got) && std::abs(got - want) <= 1e-5 * want;
        if (ok && bz) ok = bz->get_int(bz->numel() == 1 ? 0 : i) == 0;
      }
      if (!ok) continue;
      bias = nb.inputs[0];
    }
    const std::string y = q.outputs[0];
    std::vector<std::string> inputs = {nx.inputs[0], nx.inputs[1], nx.inputs[2], nw.inputs[0],
                                       nw.inputs[1], nw.inputs[2], q.inputs[1],  q.inputs[2]};
    if (!bias.empty()) inputs.push_back(bias);
    conv.op_type = "QLinearConv";
    conv.inputs = std::move(inputs);
    conv.outputs = {y};
    if (gemm) {
      // x [N, K] -> Reshape [N, K, 1, 1] -> QLinearConv (1x1, weights [M, K, 1, 1]) -> Reshape [N, M].
      const int64_t k = w->numel() / m;
      Tensor w4 = Tensor::create(DType::kI8, {m, k, 1, 1}).value();
      for (int64_t i = 0; i < m; ++i) {
        for (int64_t j = 0; j < k; ++j) {
          w4.data<int8_t>()[i * k + j] = w->data<int8_t>()[trans_b ? i * k + j : j * m + i];
        }
      }
      const std::string x4 = idx.fresh_name(nx.inputs[0] + "_4d"), y4 = idx.fresh_name(y + "_4d");
      const std::string base = conv.name.empty() ? y : conv.name;
      added.push_back(reshape_node(g, idx, base + "_to_4d", nx.inputs[0], x4, {0, k, 1, 1}));
      conv.inputs[0] = x4;
      conv.inputs[3] = add_initializer(g, idx, nw.inputs[0] + "_1x1", std::move(w4));
      conv.outputs = {y4};
      conv.attributes.clear();
      q = reshape_node(g, idx, base + "_to_2d", y4, y, {0, m});
    } else {
      removed[qi] = true;
    }
    ++count;
  }
  if (count) {
    erase_nodes(g, removed);
    for (auto& a : added) g.nodes.push_back(std::move(a));
  }
  count += fuse_matmul(g);
  count += fuse_add(g);
  count += fuse_max_pool(g);
  count += fuse_concat(g);
  count += fuse_lut(g);
  count += fuse_lut_float(g);
  count += fold_constant_dq(g);
  return count;
}

}  // namespace edgeai::passes
