#include "compress/train/init.h"

#include <cmath>
#include <random>

namespace edgeai::compress::train {

Status reinitialize(Trainable& model, uint64_t seed) {
  std::mt19937_64 rng(seed);
  const ir::Graph& g = model.graph();
  for (size_t p = 0; p < model.params().size(); ++p) {
    const std::string& name = model.param_names()[p];
    Tensor& t = model.params()[p];
    float* d = t.data<float>();
    // How the first node that reads it uses it.
    int64_t fan_in = -1;
    float fill = 0.0f;
    for (const ir::Node& n : g.nodes) {
      for (size_t i = 0; i < n.inputs.size(); ++i) {
        if (n.inputs[i] != name || fan_in >= 0 || fill != 0.0f) continue;
        if (n.op_type == "BatchNormalization" && i == 1) fill = 1.0f;
        if (t.rank() < 2 || i != 1) continue;
        if (n.op_type == "Conv") fan_in = t.numel() / t.dim(0);
        else if (n.op_type == "Gemm") fan_in = node_int(n, "transB", 0) ? t.dim(1) : t.dim(0);
        else if (n.op_type == "MatMul") fan_in = t.dim(t.rank() - 2);
      }
    }
    if (fan_in < 0 && t.rank() >= 2) fan_in = t.numel() / t.dim(0);
    if (fan_in > 0) {
      const float bound = 1.0f / std::sqrt(static_cast<float>(fan_in));
      std::uniform_real_distribution<float> u(-bound, bound);
      for (int64_t i = 0; i < t.numel(); ++i) d[i] = u(rng);
    } else {
      for (int64_t i = 0; i < t.numel(); ++i) d[i] = fill;
    }
  }
  return ok_status();
}

}  // namespace edgeai::compress::train
