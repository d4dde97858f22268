// ReduceMean over all the spatial axes of an N x C x ... tensor (axes [2, ..., rank-1]) is
// GlobalAveragePool, an op with an optimized kernel; with keepdims = 0 a Flatten(axis 1) follows
// (the pooled dims are 1, so it only drops them, without copying). torchvision's ShuffleNet ends
// with such a ReduceMean.
#include <algorithm>

#include "passes/pass_util.h"
#include "passes/passes.h"

namespace edgeai::passes {

Result<int> reduce_mean_to_pool(ir::Graph& g) {
  int count = 0;
  GraphIndex idx(g);
  std::vector<ir::Node> added;
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    ir::Node& n = g.nodes[i];
    if (!n.domain.empty() || n.op_type != "ReduceMean" || n.inputs.empty() || n.inputs[0].empty() ||
        n.outputs.size() != 1) {
      continue;
    }
    const int rank = known_rank(g, idx, n.inputs[0]);
    if (rank < 3) continue;
    std::vector<int64_t> axes;
    if (!ints_attr_or_input(idx, n, "axes", 1, &axes) || n.inputs.size() > 2) continue;
    for (auto& a : axes) a = a < 0 ? a + rank : a;
    std::sort(axes.begin(), axes.end());
    bool spatial = static_cast<int>(axes.size()) == rank - 2;
    for (size_t k = 0; spatial && k < axes.size(); ++k) spatial = axes[k] == static_cast<int64_t>(k) + 2;
    if (!spatial) continue;
    // GlobalAveragePool takes floats only (ReduceMean integers too).
    if (!known_float(g, idx, n.inputs[0])) continue;
    const ir::Attribute* kd = n.attr("keepdims");
    const bool keep = !kd || kd->i != 0;
    const std::string out = n.outputs[0];
    n.op_type = "GlobalAveragePool";
    n.inputs.resize(1);
    n.attributes.clear();
    if (!keep) {
      const std::string pooled = idx.fresh_name(out + "_pooled");
      n.outputs[0] = pooled;
      ir::Node flat;
      flat.name = idx.fresh_name(n.name + "_flatten");
      flat.op_type = "Flatten";
      flat.inputs = {pooled};
      flat.outputs = {out};
      ir::Attribute axis;
      axis.name = "axis";
      axis.type = ir::AttrType::kInt;
      axis.i = 1;
      flat.attributes["axis"] = axis;
      added.push_back(std::move(flat));
    }
    ++count;
  }
  for (auto& n : added) g.nodes.push_back(std::move(n));
  return count;
}

}  // namespace edgeai::passes
