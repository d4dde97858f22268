// Conv followed by Add of a per-channel constant (shape [M,1,1], [1,M,1,1], or a single number)
// becomes Conv with that constant added to its bias B: the Add's pass over the output is gone
// and the Conv can fuse an activation next.
#include "passes/pass_util.h"
#include "passes/passes.h"

namespace edgeai::passes {
namespace {

// Whether `c` (rank <= out_rank) varies only along axis 1 of an output of rank `out_rank` with
// `m` channels, and does not grow the output's shape.
bool per_channel(const Tensor& c, int out_rank, int64_t m) {
  if (c.numel() == 1 && c.rank() <= out_rank) return true;
  if (c.rank() > out_rank || c.numel() != m) return false;
  const int off = out_rank - c.rank();
  for (int d = 0; d < c.rank(); ++d) {
    const int axis = d + off;
    if (axis != 1 && c.dim(d) != 1) return false;
    if (axis == 1 && c.dim(d) != m) return false;
  }
  return true;
}

}  // namespace

Result<int> fuse_conv_bias(ir::Graph& g) {
  return sweep_rewrites(g, false, [&](const GraphIndex& idx, size_t i, std::vector<bool>& removed,
                                      std::vector<bool>& touched) {
    ir::Node& conv = g.nodes[i];
    if (!conv.domain.empty() || conv.op_type != "Conv" || conv.outputs.size() != 1 || conv.inputs.size() < 2) {
      return false;
    }
    const Tensor* w = idx.constant(conv.inputs[1]);
    if (!w || w->rank() < 3 || (w->dtype() != DType::kF32 && w->dtype() != DType::kF64)) return false;
    const int64_t m = w->dim(0);
    const bool has_b = conv.inputs.size() > 2 && !conv.inputs[2].empty();
    const Tensor* b = has_b ? idx.constant(conv.inputs[2]) : nullptr;
    if (has_b && (!b || b->numel() != m || b->dtype() != w->dtype())) return false;
    int j = sole_consumer_op(g, idx, conv.outputs[0], "Add");
    if (j < 0 || touched[j]) return false;
    const ir::Node& add = g.nodes[j];
    const Tensor* c = idx.constant(other_input(add, conv.outputs[0]));
    if (!c || c->dtype() != w->dtype() || !per_channel(*c, w->rank(), m)) return false;
    Tensor nb = Tensor::create(w->dtype(), {m}).value();
    for (int64_t k = 0; k < m; ++k) {
      const double v = (b ? b->get_double(k) : 0.0) + c->get_double(c->numel() == 1 ? 0 : k);
      if (w->dtype() == DType::kF32) nb.data<float>()[k] = static_cast<float>(v);
      else nb.data<double>()[k] = v;
    }
    conv.inputs.resize(3);
    conv.inputs[2] = add_initializer(g, idx, (has_b ? conv.inputs[2] : conv.name + "_bias") + "_add", std::move(nb));
    conv.outputs[0] = add.outputs[0];
    removed[j] = touched[i] = touched[j] = true;
    return true;
  });
}

}  // namespace edgeai::passes
