// Backward rules of the IR ops training needs: given a node's forward inputs, outputs and the
// gradients of its outputs, the gradients of its inputs. One table (find_grad) names every op
// with a rule and which of its inputs are differentiable. Internal to src/compress.
#pragma once

#include <string_view>
#include <vector>

#include "core/env.h"
#include "core/tensor.h"
#include "edgeai/status.h"
#include "ir/graph.h"

namespace edgeai::compress::train {

// Forward state some rules keep from the forward pass (batch statistics of BatchNormalization in
// training mode).
struct NodeAux {
  std::vector<float> mean, inv_std;
  bool training = false;
};

struct GradContext {
  const ir::Node& node;
  int opset;
  const std::vector<Tensor>& in;    // forward inputs (undefined where absent)
  const std::vector<Tensor>& out;   // forward outputs
  const std::vector<Tensor>& dout;  // gradients of the outputs (undefined where none flows)
  const std::vector<bool>& need;    // inputs whose gradient is wanted
  std::vector<Tensor>& din;         // filled for the needed inputs (same length as in)
  const NodeAux* aux;
  const CpuFeatures& cpu;
  ThreadPool* pool;

  Status error(std::string_view msg) const {
    return invalid_argument("node '" + node.name + "' (" + node.op_type + "): " + std::string(msg));
  }
};

using GradFn = Status (*)(GradContext&);

struct GradEntry {
  std::string_view domain;
  std::string_view op_type;
  GradFn fn;
  // Bit i set: input i is differentiable (takes a gradient). Other inputs (shapes, indices,
  // running statistics, Clip bounds) do not.
  uint32_t diff_inputs;
};

// The rule for an op, or null when there is none.
const GradEntry* find_grad(std::string_view domain, std::string_view op_type);

// Attribute helpers shared by the rules and the engine.
int64_t node_int(const ir::Node& n, std::string_view name, int64_t def);
float node_float(const ir::Node& n, std::string_view name, float def);
std::vector<int64_t> node_ints(const ir::Node& n, std::string_view name);
std::string node_string(const ir::Node& n, std::string_view name, std::string_view def);

// The rules, by family (grad_nn.cc, grad_basic.cc).
Status grad_gemm(GradContext& c);
Status grad_matmul(GradContext& c);
Status grad_conv(GradContext& c);
Status grad_max_pool(GradContext& c);
Status grad_average_pool(GradContext& c);
Status grad_global_average_pool(GradContext& c);
Status grad_batch_norm(GradContext& c);
Status grad_unary(GradContext& c);
Status grad_binary(GradContext& c);
Status grad_reshape_like(GradContext& c);
Status grad_transpose(GradContext& c);
Status grad_concat(GradContext& c);
Status grad_softmax(GradContext& c);
Status grad_fake_quant(GradContext& c);

// Softmax geometry: outer x axis_len x inner, per the opset's axis semantics.
void softmax_dims(const Shape& s, int axis, int opset, int64_t* outer, int64_t* len, int64_t* inner);

}  // namespace edgeai::compress::train
