// BatchNormalization (inference) after a Conv or a Gemm whose weights are constants is folded
// into them: with a = scale / sqrt(var + eps), the weights of output channel c are multiplied by
// a[c] and the bias becomes (bias - mean) * a + B. The folded weights are new initializers (the
// old ones may be shared); dead-node removal drops the old ones when nothing else reads them.
// A BatchNormalization left over (after a Concat, a ReLU, an input) on an f32 input of rank 3 or
// more becomes the equivalent 1x1 depthwise Conv (weights a, bias B - mean * a).
#include <cmath>

#include "passes/pass_util.h"
#include "passes/passes.h"

namespace edgeai::passes {
namespace {

bool is_float_weight(const Tensor* t) {
  return t && (t->dtype() == DType::kF32 || t->dtype() == DType::kF64);
}

// The per-channel factors a and offsets (B - mean * a) of an inference BatchNormalization over
// `channels` channels, or false when the node is not such a BatchNormalization.
bool batch_norm_affine(const ir::Graph& g, const GraphIndex& idx, const ir::Node& bn, int64_t channels,
                       std::vector<double>* a, std::vector<double>* b) {
  if (!bn.domain.empty() || bn.op_type != "BatchNormalization" || bn.inputs.size() != 5) return false;
  for (size_t k = 1; k < bn.outputs.size(); ++k) {
    if (!bn.outputs[k].empty() && idx.use_count(bn.outputs[k]) > 0) return false;
  }
  const int opset = onnx_opset(g);
  if (opset >= 14) {
    const ir::Attribute* tm = bn.attr("training_mode");
    if (tm && tm->i != 0) return false;
  } else if (opset < 7) {
    const ir::Attribute* t = bn.attr("is_test");
    if (bn.outputs.size() > 1 && !(t && t->i != 0)) return false;
  }
  if (opset < 9) {
    const ir::Attribute* sp = bn.attr("spatial");
    if (sp && sp->i == 0) return false;
  }
  const Tensor* p[4];
  for (int k = 0; k < 4; ++k) {
    p[k] = idx.constant(bn.inputs[k + 1]);
    if (!p[k] || !dtype_is_float(p[k]->dtype()) || p[k]->numel() != channels) return false;
  }
  const ir::Attribute* e = bn.attr("epsilon");
  const double eps = e ? e->f : 1e-5;
  a->resize(channels);
  b->resize(channels);
  for (int64_t c = 0; c < channels; ++c) {
    const double scale = p[0]->get_double(c), bias = p[1]->get_double(c);
    const double mean = p[2]->get_double(c), var = p[3]->get_double(c);
    (*a)[c] = scale / std::sqrt(var + eps);
    (*b)[c] = bias - mean * (*a)[c];
    if (!std::isfinite((*a)[c]) || !std::isfinite((*b)[c])) return false;
  }
  return true;
}

// A copy of `w` (f32 or f64) with element i multiplied by a[channel(i)].
template <typename F>
Tensor scaled(const Tensor& w, const std::vector<double>& a, F&& channel) {
  Tensor out = w.clone();
  if (w.dtype() == DType::kF32) {
    float* d = out.data<float>();
    for (int64_t i = 0; i < w.numel(); ++i) d[i] = static_cast<float>(d[i] * a[channel(i)]);
  } else {
    double* d = out.data<double>();
    for (int64_t i = 0; i < w.numel(); ++i) d[i] *= a[channel(i)];
  }
  return out;
}

Tensor vector_of(DType dtype, const std::vector<double>& v) {
  Tensor t = Tensor::create(dtype, {static_cast<int64_t>(v.size())}).value();
  for (size_t i = 0; i < v.size(); ++i) {
    if (dtype == DType::kF32) t.data<float>()[i] = static_cast<float>(v[i]);
    else t.data<double>()[i] = v[i];
  }
  return t;
}

// Conv -> BatchNormalization.
bool fold_into_conv(ir::Graph& g, const GraphIndex& idx, ir::Node& conv, const ir::Node& bn) {
  if (conv.inputs.size() < 2 || conv.outputs.size() != 1) return false;
  const Tensor* w = idx.constant(conv.inputs[1]);
  if (!is_float_weight(w) || w->rank() < 3) return false;
  const int64_t m = w->dim(0);
  const Tensor* bias = conv.inputs.size() > 2 && !conv.inputs[2].empty() ? idx.constant(conv.inputs[2]) : nullptr;
  if (conv.inputs.size() > 2 && !conv.inputs[2].empty() && (!bias || bias->numel() != m)) return false;
  std::vector<double> a, b;
  if (!batch_norm_affine(g, idx, bn, m, &a, &b)) return false;
  const int64_t per_channel = m ? w->numel() / m : 0;
  Tensor w2 = scaled(*w, a, [&](int64_t i) { return i / per_channel; });
  std::vector<double> b2(m);
  for (int64_t c = 0; c < m; ++c) b2[c] = (bias ? bias->get_double(c) : 0.0) * a[c] + b[c];
  conv.inputs.resize(3);
  conv.inputs[1] = add_initializer(g, idx, conv.inputs[1] + "_bnfold", std::move(w2));
  conv.inputs[2] = add_initializer(g, idx, (bias ? conv.inputs[2] : conv.name + "_bias") + "_bnfold",
                                   vector_of(w->dtype(), b2));
  conv.outputs[0] = bn.outputs[0];
  return true;
}

// Gemm -> BatchNormalization (the Gemm output is [M, N]; the channels are N).
bool fold_into_gemm(ir::Graph& g, const GraphIndex& idx, ir::Node& gemm, const ir::Node& bn) {
  if (gemm.inputs.size() < 2 || gemm.outputs.size() != 1) return false;
  const Tensor* w = idx.constant(gemm.inputs[1]);
  if (!is_float_weight(w) || w->rank() != 2) return false;
  const ir::Attribute* tb = gemm.attr("transB");
  const bool trans_b = tb && tb->i != 0;
  const int64_t n = trans_b ? w->dim(0) : w->dim(1);
  const int64_t k = trans_b ? w->dim(1) : w->dim(0);
  const bool has_c = gemm.inputs.size() > 2 && !gemm.inputs[2].empty();
  const Tensor* c = has_c ? idx.constant(gemm.inputs[2]) : nullptr;
  if (has_c && (!c || !dtype_is_float(c->dtype()) || !(c->numel() == 1 || c->numel() == n) ||
                (c->numel() == n && n > 1 && c->shape().back() != n))) {
    return false;
  }
  std::vector<double> a, b;
  if (!batch_norm_affine(g, idx, bn, n, &a, &b)) return false;
  const ir::Attribute* beta_attr = gemm.attr("beta");
  const double beta = beta_attr ? beta_attr->f : 1.0;
  Tensor w2 = trans_b ? scaled(*w, a, [&](int64_t i) { return i / k; })
                      : scaled(*w, a, [&](int64_t i) { return i % n; });
  std::vector<double> c2(n);
  for (int64_t j = 0; j < n; ++j) {
    const double cj = c ? beta * c->get_double(c->numel() == 1 ? 0 : j) : 0.0;
    c2[j] = cj * a[j] + b[j];
  }
  gemm.inputs.resize(3);
  gemm.inputs[1] = add_initializer(g, idx, gemm.inputs[1] + "_bnfold", std::move(w2));
  gemm.inputs[2] = add_initializer(g, idx, (has_c ? gemm.inputs[2] : gemm.name + "_bias") + "_bnfold",
                                   vector_of(w->dtype(), c2));
  ir::Attribute one;
  one.name = "beta";
  one.type = ir::AttrType::kFloat;
  one.f = 1.0f;
  gemm.attributes["beta"] = one;
  gemm.outputs[0] = bn.outputs[0];
  return true;
}

// Conv -> BatchNormalization and Gemm -> BatchNormalization, folded.
int fold_into_producers(ir::Graph& g) {
  return sweep_rewrites(g, false, [&](const GraphIndex& idx, size_t i, std::vector<bool>& removed,
                                      std::vector<bool>& touched) {
    ir::Node& n = g.nodes[i];
    if (!n.domain.empty() || (n.op_type != "Conv" && n.op_type != "Gemm") || n.outputs.size() != 1) return false;
    int j = idx.sole_consumer(n.outputs[0]);
    if (j < 0 || touched[j] || g.nodes[j].op_type != "BatchNormalization" || g.nodes[j].inputs.empty() ||
        g.nodes[j].inputs[0] != n.outputs[0] || g.nodes[j].outputs.empty() || g.nodes[j].outputs[0].empty()) {
      return false;
    }
    const ir::Node bn = g.nodes[j];
    if (!(n.op_type == "Conv" ? fold_into_conv(g, idx, n, bn) : fold_into_gemm(g, idx, n, bn))) return false;
    removed[j] = touched[i] = touched[j] = true;
    return true;
  });
}

// A BatchNormalization that follows no Conv or Gemm (pre-activation networks: densenet's
// Concat -> BN -> ReLU -> Conv) on an f32 input of rank 3 or more: the 1x1 depthwise Conv with
// weights a and bias b, which the conv kernels run (and may run over its input), and with which
// fuse_activation fuses the ReLU after it.
bool to_depthwise_conv(ir::Graph& g, const GraphIndex& idx, ir::Node& bn) {
  if (!bn.domain.empty() || bn.op_type != "BatchNormalization" || bn.inputs.size() != 5 || bn.outputs.empty() ||
      bn.outputs[0].empty()) {
    return false;
  }
  const Tensor* scale = idx.constant(bn.inputs[1]);
  if (!scale || scale->dtype() != DType::kF32 || scale->rank() != 1) return false;
  const int rank = known_rank(g, idx, bn.inputs[0]);
  if (rank < 3 || known_dtype(g, idx, bn.inputs[0]) != DType::kF32) return false;
  const int64_t channels = scale->numel();
  std::vector<double> a, b;
  if (!batch_norm_affine(g, idx, bn, channels, &a, &b)) return false;
  Shape ws(static_cast<size_t>(rank), 1);
  ws[0] = channels;
  Tensor w = Tensor::create(DType::kF32, ws).value();
  for (int64_t c = 0; c < channels; ++c) w.data<float>()[c] = static_cast<float>(a[c]);
  const std::string x = bn.inputs[0];
  ir::Node conv;
  conv.name = bn.name;
  conv.op_type = "Conv";
  conv.inputs = {x, add_initializer(g, idx, bn.name + "_bn_weight", std::move(w)),
                 add_initializer(g, idx, bn.name + "_bn_bias", vector_of(DType::kF32, b))};
  conv.outputs = {bn.outputs[0]};
  ir::Attribute group;
  group.name = "group";
  group.type = ir::AttrType::kInt;
  group.i = channels;
  conv.attributes["group"] = group;
  ir::Attribute kernel;
  kernel.name = "kernel_shape";
  kernel.type = ir::AttrType::kInts;
  kernel.ints.assign(static_cast<size_t>(rank - 2), 1);
  conv.attributes["kernel_shape"] = kernel;
  bn = std::move(conv);
  return true;
}

}  // namespace

Result<int> fold_batch_norm(ir::Graph& g) {
  const int folded = fold_into_producers(g);
  const int converted = sweep_rewrites(g, false, [&](const GraphIndex& idx, size_t i, std::vector<bool>&,
                                                     std::vector<bool>& touched) {
    if (!to_depthwise_conv(g, idx, g.nodes[i])) return false;
    touched[i] = true;
    return true;
  });
  return folded + converted;
}

}  // namespace edgeai::passes
