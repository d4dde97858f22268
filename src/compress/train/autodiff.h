// Reverse-mode automatic differentiation over an ir::Graph. The forward pass runs each node with
// the optimized CPU kernel where one takes the node (passes::NodeEvaluator::prepare_fast, prepared
// again in every forward pass because the weights change between them), else with the reference
// kernel; BatchNormalization in training mode (batch statistics, running averages updated) and
// the fake quantizer of QAT run here. It keeps every value (the tape). The backward pass walks
// the nodes in reverse with the rules of grad_ops.h and sums the gradients of the trainable
// initializers.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "compress/train/grad_ops.h"
#include "core/env.h"
#include "core/tensor.h"
#include "edgeai/status.h"
#include "ir/graph.h"
#include "passes/node_eval.h"

namespace edgeai::compress::train {

struct TrainableOptions {
  // Initializers to train; empty: every f32 initializer that reaches the output through a
  // differentiable input (weights, biases, BatchNormalization scale and bias).
  std::vector<std::string> params;
  int threads = 1;  // for the forward kernels and the backward GEMMs
  // Forward nodes on the optimized CPU kernels where one takes the node; false: every node on the
  // reference kernel (the numerical spec).
  bool fast_kernels = true;
  // The CPU features kernels are picked for; empty: this CPU's (tests force the ISA paths).
  std::optional<CpuFeatures> cpu;
};

class Trainable {
 public:
  // The graph must have one feed input and at least one output (output 0 is what losses see).
  // Errors: no feed input, no trainable initializer, an op on the path from a parameter to the
  // output without a backward rule (named with its node).
  static Result<std::unique_ptr<Trainable>> create(ir::Graph graph, const TrainableOptions& options = {});
  Trainable(const Trainable&) = delete;
  Trainable& operator=(const Trainable&) = delete;

  ir::Graph& graph() { return graph_; }
  const ir::Graph& graph() const { return graph_; }
  const std::string& input_name() const { return input_name_; }
  // The declared shape of the feed input (dims < 0 dynamic), empty when not declared.
  const std::vector<int64_t>& input_shape() const { return input_shape_; }
  const std::vector<std::string>& param_names() const { return param_names_; }
  // Parameters share storage with graph().initializers: writing one changes the graph.
  std::vector<Tensor>& params() { return params_; }
  std::vector<Tensor>& grads() { return grads_; }
  int64_t parameter_count() const;
  void zero_grad();

  // Runs the graph on x; in training mode BatchNormalization uses batch statistics (and updates
  // its running averages). Returns output 0 and keeps the tape for backward().
  Result<Tensor> forward(const Tensor& x, bool training);
  // Back-propagates d(loss)/d(output 0) of the last forward() and adds the parameters' gradients
  // into grads().
  Status backward(const Tensor& doutput);

  // A value of the last forward pass (null when absent): shapes for graph rewrites.
  const Tensor* value(const std::string& name) const {
    auto it = values_.find(name);
    return it == values_.end() ? nullptr : &it->second;
  }

  // How many nodes of the last forward pass ran on an optimized CPU kernel.
  int fast_node_count() const { return fast_nodes_; }

  const CpuFeatures& cpu() const { return env_->cpu; }
  ThreadPool* pool() { return env_->pool.get(); }

 private:
  Trainable() = default;
  Status forward_node(size_t idx, bool training);

  ir::Graph graph_;
  std::unique_ptr<Env> env_;
  passes::NodeEvaluator eval_;
  bool fast_kernels_ = true;
  int fast_nodes_ = 0;
  std::string input_name_, output_name_;
  std::vector<int64_t> input_shape_;
  std::vector<size_t> order_;
  std::vector<std::string> param_names_;
  std::vector<Tensor> params_, grads_;
  std::unordered_map<std::string, size_t> param_index_;
  std::unordered_set<std::string> requires_grad_;
  std::unordered_set<std::string> from_feed_;  // values that depend on the feed input
  std::unordered_map<std::string, Tensor> values_;  // the tape
  std::vector<NodeAux> aux_;
};

// Forward of the fake quantizer (com.edgeai.train FakeQuant): y = (clamp(round(x / s) + z, qmin,
// qmax) - z) * s, per tensor or per channel along `axis`.
Result<Tensor> fake_quant_forward(const ir::Node& n, const Tensor& x, const Tensor& scale, const Tensor& zero_point);

}  // namespace edgeai::compress::train
