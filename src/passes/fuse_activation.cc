// Conv or Gemm followed by an activation becomes one com.edgeai FusedConv / FusedGemm: the
// activation runs on the output while it is still in cache. The fused node keeps the Conv's or
// Gemm's inputs and attributes and adds
//   activation:        "Relu", "Clip", "HardSwish", "Sigmoid", "SiLU", "GELU", "GELUTanh",
//                      "LeakyRelu", "Tanh" or "HardSigmoid"
//   activation_params: Clip [min, max] (+-inf where absent), LeakyRelu [alpha], HardSigmoid
//                      [alpha, beta]; absent otherwise.
// SiLU is the pattern Mul(y, Sigmoid(y)), HardSwish also Mul(y, HardSigmoid(y)) with alpha 1/6, beta 1/2; GELU / GELUTanh are com.edgeai Gelu (see fuse_gelu.cc)
// or ONNX Gelu, exact / with approximate="tanh". The ops are defined by their reference kernels
// in src/kernels/reference/fused.cc.
#include <cmath>
#include <limits>

#include "passes/pass_util.h"
#include "passes/passes.h"

namespace edgeai::passes {
namespace {

struct Activation {
  std::string name;
  std::vector<float> params;
  std::vector<int> nodes;  // the nodes it replaces (the last writes the result)
  std::string output;
};

bool clip_bounds(const ir::Graph& g, const GraphIndex& idx, const ir::Node& n, std::vector<float>* p) {
  float lo = -std::numeric_limits<float>::infinity(), hi = std::numeric_limits<float>::infinity();
  if (onnx_opset(g) < 11) {
    if (n.inputs.size() != 1) return false;
    if (const ir::Attribute* a = n.attr("min")) lo = a->f;
    if (const ir::Attribute* a = n.attr("max")) hi = a->f;
  } else {
    if (n.inputs.size() > 3) return false;
    for (size_t k = 1; k < n.inputs.size(); ++k) {
      if (n.inputs[k].empty()) continue;
      const Tensor* t = idx.constant(n.inputs[k]);
      double v = 0;
      if (!t || !dtype_is_float(t->dtype()) || !scalar_value(t, &v)) return false;
      (k == 1 ? lo : hi) = static_cast<float>(v);
    }
  }
  if (std::isnan(lo) || std::isnan(hi)) return false;
  *p = {lo, hi};
  return true;
}

// The activation applied to `y` (the output of node `producer`), or false.
bool match_activation(const ir::Graph& g, const GraphIndex& idx, const std::string& y, Activation* act) {
  if (idx.is_pinned(y)) return false;
  const auto& users = idx.consumers(y);
  if (users.size() == 2) {  // SiLU: Mul(y, Sigmoid(y)); HardSwish: Mul(y, HardSigmoid(y; 1/6, 1/2))
    for (int k = 0; k < 2; ++k) {
      const ir::Node& s = g.nodes[users[k]];
      const ir::Node& m = g.nodes[users[1 - k]];
      if (!s.domain.empty() || s.outputs.size() != 1 || s.inputs.size() != 1 || !m.domain.empty() ||
          m.op_type != "Mul" || m.outputs.size() != 1 || users[0] == users[1]) {
        continue;
      }
      if (other_input(m, y) != s.outputs[0] || idx.sole_consumer(s.outputs[0]) != users[1 - k]) continue;
      if (s.op_type == "Sigmoid") {
        *act = {"SiLU", {}, {users[k], users[1 - k]}, m.outputs[0]};
        return true;
      }
      if (s.op_type == "HardSigmoid") {  // opset 13 exports of hardswish (torch: x * hardsigmoid(x))
        const ir::Attribute* a = s.attr("alpha");
        const ir::Attribute* b = s.attr("beta");
        if (!a || std::abs(a->f - 1.0 / 6.0) > 1e-6 || (b && b->f != 0.5f)) continue;
        *act = {"HardSwish", {}, {users[k], users[1 - k]}, m.outputs[0]};
        return true;
      }
    }
    return false;
  }
  if (users.size() != 1) return false;
  const int j = users[0];
  const ir::Node& n = g.nodes[j];
  if (n.inputs.empty() || n.inputs[0] != y || n.outputs.size() != 1) return false;
  act->nodes = {j};
  act->output = n.outputs[0];
  act->params.clear();
  const bool onnx = n.domain.empty();
  if (onnx && n.op_type == "Relu" && n.inputs.size() == 1) {
    act->name = "Relu";
  } else if (onnx && n.op_type == "Sigmoid" && n.inputs.size() == 1) {
    act->name = "Sigmoid";
  } else if (onnx && n.op_type == "HardSwish" && n.inputs.size() == 1) {
    act->name = "HardSwish";
  } else if (onnx && n.op_type == "Tanh" && n.inputs.size() == 1) {
    act->name = "Tanh";
  } else if (onnx && n.op_type == "HardSigmoid" && n.inputs.size() == 1) {
    const ir::Attribute* a = n.attr("alpha");
    const ir::Attribute* b = n.attr("beta");
    act->name = "HardSigmoid";
    act->params = {a ? a->f : 0.2f, b ? b->f : 0.5f};
  } else if (onnx && n.op_type == "LeakyRelu" && n.inputs.size() == 1) {
    const ir::Attribute* a = n.attr("alpha");
    act->name = "LeakyRelu";
    act->params = {a ? a->f : 0.01f};
  } else if (onnx && n.op_type == "Clip") {
    if (!clip_bounds(g, idx, n, &act->params)) return false;
    act->name = "Clip";
  } else if ((onnx || n.domain == kEdgeaiDomain) && n.op_type == "Gelu" && n.inputs.size() == 1) {
    const ir::Attribute* a = n.attr("approximate");
    if (a && a->s != "none" && a->s != "tanh") return false;
    act->name = a && a->s == "tanh" ? "GELUTanh" : "GELU";
  } else {
    return false;
  }
  return true;
}

}  // namespace

Result<int> fuse_activation(ir::Graph& g) {
  return sweep_rewrites(g, true, [&](const GraphIndex& idx, size_t i, std::vector<bool>& removed,
                                     std::vector<bool>& touched) {
    ir::Node& n = g.nodes[i];
    // ONNX Conv / Gemm, or a FusedConv with a residual input and no activation yet
    // (fuse_conv_add.cc: Conv -> Add -> Relu).
    const ir::Attribute* has_act = n.attr("activation");
    const bool plain = n.domain.empty() && (n.op_type == "Conv" || n.op_type == "Gemm");
    const bool residual = n.domain == kEdgeaiDomain && n.op_type == "FusedConv" && (!has_act || has_act->s.empty());
    if ((!plain && !residual) || n.outputs.size() != 1 || n.inputs.size() < 2) return false;
    if (n.op_type == "Gemm") {  // float Gemm only (Gemm also takes integers)
      const Tensor* b = idx.constant(n.inputs[1]);
      if (!b || !dtype_is_float(b->dtype())) return false;
    }
    Activation act;
    if (!match_activation(g, idx, n.outputs[0], &act)) return false;
    for (int k : act.nodes) {
      if (touched[k]) return false;
    }
    n.op_type = n.op_type == "Gemm" ? "FusedGemm" : "FusedConv";
    n.domain = kEdgeaiDomain;
    n.attributes["activation"] = attr_string("activation", act.name);
    if (!act.params.empty()) n.attributes["activation_params"] = attr_floats("activation_params", act.params);
    n.outputs[0] = act.output;
    touched[i] = true;
    for (int k : act.nodes) removed[k] = touched[k] = true;
    return true;
  });
}

}  // namespace edgeai::passes
