// A 1x1 conv whose output goes only to a depthwise conv (an inverted-residual block's expand and
// depthwise convs: mobilenet_v2, efficientnet_b0) becomes one com.edgeai FusedPwDwConv(X, W1, B1,
// W2, B2), so a kernel can compute the expanded tensor block by block into the depthwise conv's
// input without writing it to memory (the op: src/kernels/reference/fused.cc).
//   A: Conv, or FusedConv without a residual Z (an activation fused by fuse_activation), with
//      constant f32 W1 [C, Cin, 1, 1], group 1, strides 1, no pads, dilations 1, auto_pad
//      NOTSET / VALID; its output E read only by B (not a graph output).
//   B: Conv or FusedConv without Z reading E as X, with constant f32 W2 [C, 1, kh, kw], group C.
// The fused node is A's, with B's attributes (B's activation stays `activation`), A's activation
// as `pw_activation` / `pw_activation_params`, and B's output. Runs after fuse_activation.
#include "passes/pass_util.h"
#include "passes/passes.h"

namespace edgeai::passes {
namespace {

// Conv, or FusedConv with no residual input Z.
bool conv_without_z(const ir::Node& n) {
  const bool conv = n.domain.empty() && n.op_type == "Conv";
  const bool fused = n.domain == kEdgeaiDomain && n.op_type == "FusedConv";
  if ((!conv && !fused) || n.outputs.size() != 1 || n.inputs.size() < 2 || n.inputs.size() > 4) return false;
  if (n.inputs.size() == 4 && !n.inputs[3].empty()) return false;
  return !n.inputs[0].empty() && !n.inputs[1].empty();
}

// The constant f32 rank-4 weight of conv node `n`, else null.
const Tensor* weight4(const GraphIndex& idx, const ir::Node& n) {
  const Tensor* w = idx.constant(n.inputs[1]);
  return w && w->dtype() == DType::kF32 && w->rank() == 4 ? w : nullptr;
}

bool all_equal(const ir::Node& n, const char* name, int64_t v) {
  const ir::Attribute* a = n.attr(name);
  if (!a) return true;
  for (int64_t x : a->ints) {
    if (x != v) return false;
  }
  return true;
}

// A 1x1 conv over the whole input: group 1, strides 1, no pads, dilations 1.
bool plain_pointwise(const ir::Node& n, const Tensor& w) {
  if (w.dim(2) != 1 || w.dim(3) != 1) return false;
  if (const ir::Attribute* a = n.attr("group"); a && a->i != 1) return false;
  if (const ir::Attribute* a = n.attr("auto_pad"); a && !a->s.empty() && a->s != "NOTSET" && a->s != "VALID") {
    return false;
  }
  return all_equal(n, "strides", 1) && all_equal(n, "pads", 0) && all_equal(n, "dilations", 1) &&
         all_equal(n, "kernel_shape", 1);
}

}  // namespace

Result<int> fuse_pointwise_depthwise(ir::Graph& g) {
  return sweep_rewrites(g, true, [&](const GraphIndex& idx, size_t i, std::vector<bool>& removed,
                                     std::vector<bool>& touched) {
    ir::Node& a = g.nodes[i];
    if (!conv_without_z(a)) return false;
    const Tensor* w1 = weight4(idx, a);
    if (!w1 || !plain_pointwise(a, *w1)) return false;
    const std::string& e = a.outputs[0];
    const int j = idx.sole_consumer(e);
    if (j < 0 || touched[j]) return false;
    const ir::Node& b = g.nodes[j];
    if (!conv_without_z(b) || b.inputs[0] != e) return false;
    const Tensor* w2 = weight4(idx, b);
    const int64_t c = w1->dim(0);
    if (!w2 || w2->dim(0) != c || w2->dim(1) != 1) return false;
    const ir::Attribute* group = b.attr("group");
    if (!group || group->i != c) return false;
    // B's bias is read where A runs: it must be computed before A (it is a constant in practice).
    const std::string b2 = b.inputs.size() > 2 ? b.inputs[2] : "";
    if (!b2.empty()) {
      const int p = idx.producer(b2);
      if (p >= static_cast<int>(i) || (p >= 0 && touched[p])) return false;
    }

    auto attrs = b.attributes;
    for (const char* name : {"activation", "activation_params"}) {
      if (const ir::Attribute* act = a.attr(name)) {
        ir::Attribute pw = *act;
        pw.name = std::string("pw_") + name;
        attrs[pw.name] = std::move(pw);
      }
    }
    const std::string b1 = a.inputs.size() > 2 ? a.inputs[2] : "";
    a.inputs = {a.inputs[0], a.inputs[1], b1, b.inputs[1]};
    if (!b2.empty()) a.inputs.push_back(b2);
    a.outputs[0] = b.outputs[0];
    a.attributes = std::move(attrs);
    a.op_type = "FusedPwDwConv";
    a.domain = kEdgeaiDomain;
    removed[j] = touched[i] = touched[j] = true;
    return true;
  });
}

}  // namespace edgeai::passes
