// Conv followed by Add of another tensor (a residual connection) becomes com.edgeai FusedConv
// with that tensor as its fourth input Z: Y = Conv(X, W, B) + Z, added in the GEMM's epilogue
// while the output is in registers, so the Add's pass over three tensors is gone (mobilenet_v2
// has 10 such Adds, efficientnet_b0 9, resnet18 8). Z is added as the Add added it (the
// reference broadcasts; the fast kernel takes Z of the output's shape and leaves the rest to the
// reference). An activation after the Add (resnet's Relu) is fused next by fuse_activation.
// Only where Z is computed before the Conv in node order (the fused node runs where the Conv ran).
#include "passes/pass_util.h"
#include "passes/passes.h"

namespace edgeai::passes {

Result<int> fuse_conv_add(ir::Graph& g) {
  return sweep_rewrites(g, true, [&](const GraphIndex& idx, size_t i, std::vector<bool>& removed,
                                     std::vector<bool>& touched) {
    ir::Node& conv = g.nodes[i];
    if (!conv.domain.empty() || conv.op_type != "Conv" || conv.outputs.size() != 1 || conv.inputs.size() < 2 ||
        conv.inputs.size() > 3) {
      return false;
    }
    const Tensor* w = idx.constant(conv.inputs[1]);
    if (!w || w->dtype() != DType::kF32) return false;
    const std::string& y = conv.outputs[0];
    const int j = sole_consumer_op(g, idx, y, "Add");
    if (j < 0 || touched[j]) return false;
    const ir::Node& add = g.nodes[j];
    const std::string z = other_input(add, y);
    if (z.empty() || z == y) return false;
    const int zp = idx.producer(z);
    if (zp >= static_cast<int>(i) || (zp >= 0 && touched[zp])) return false;
    conv.op_type = "FusedConv";
    conv.domain = kEdgeaiDomain;
    conv.inputs.resize(4);  // B stays "" when absent
    conv.inputs[3] = z;
    conv.outputs[0] = add.outputs[0];
    removed[j] = touched[i] = touched[j] = true;
    return true;
  });
}

}  // namespace edgeai::passes
