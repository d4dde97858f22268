// Internal to the runtime: the compiled form of a graph. Every value gets a slot index; each
// node knows its kernel, its input and output slots and which slots die after it runs.
#pragma once

#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/env.h"
#include "ir/graph.h"
#include "ir/op_registry.h"
#include "kernels/kernel.h"

namespace edgeai::runtime {

using kernels::Value;

class GraphPlan;

// Concat in place: a Concat whose inputs are all produced by nodes of the same graph and read by
// nothing else has them written straight into its output (at their byte offsets, where the
// dims before the axis are all 1 and each offset keeps kTensorAlignment), so the Concat itself
// copies nothing. The layout (dtype, shapes, offsets) is learned from the previous run of the
// plan; while it is unknown or does not match, the producers allocate as usual and the Concat
// kernel copies.
struct ConcatLayout {
  DType dtype = DType::kUndefined;
  Shape out;
  std::vector<Shape> in;
  std::vector<size_t> offset;  // bytes into the output, per input
  bool usable = false;         // false: these shapes are known not to go in place
};
// One run's state of a Concat in place: the output buffer, once its first input is allocated.
struct ConcatRun {
  std::shared_ptr<const ConcatLayout> layout;
  Tensor buffer;
};

// The values visible while a graph runs: its own slots, then its parents' (for subgraphs).
struct Scope {
  const GraphPlan* plan = nullptr;
  std::vector<Value>* slots = nullptr;
  const Scope* parent = nullptr;
  const Value* lookup(const std::string& name) const;
};

struct NodeStats {
  double total_ms = 0;
  int64_t calls = 0;
};

struct RunOptions {
  Env* env = nullptr;
  bool reference_only = false;  // at build: ignore the optimized CPU kernels
  std::vector<NodeStats>* stats = nullptr;  // per node of the top graph, when profiling
};

struct NodePlan {
  const ir::Node* node = nullptr;
  kernels::KernelFn fn = nullptr;
  std::vector<int> inputs;   // slot or -1 when absent
  std::vector<int> outputs;  // slot or -1 when unused
  std::vector<int> release;  // slots whose last reader is this node
  int opset = 0;
  std::unique_ptr<kernels::KernelState> state;  // built by the fast kernel's prepare step
  bool fast = false;                            // runs an optimized CPU kernel
  // Compiled subgraphs of this node's graph attributes, by attribute name.
  std::unordered_map<std::string, std::unique_ptr<GraphPlan>> subgraphs;
};

class GraphPlan {
 public:
  // `outer` lists the names visible from enclosing scopes (empty for the main graph).
  static Result<std::unique_ptr<GraphPlan>> build(const ir::Graph& g, const std::set<std::string>& outer,
                                                  const ir::OpRegistry& registry, Env& env,
                                                  bool reference_only);

  // Runs with values for the graph's inputs in declaration order (absent trailing inputs may be
  // left out for graphs whose inputs have initializers). Returns the outputs in order.
  Result<std::vector<Value>> run(std::vector<Value> inputs, const Scope* parent, const RunOptions& opts) const;

  const ir::Graph& graph() const { return *graph_; }
  int slot_of(const std::string& name) const {
    auto it = slot_index_.find(name);
    return it == slot_index_.end() ? -1 : it->second;
  }
  const std::vector<NodePlan>& nodes() const { return nodes_; }

  // For output slot `slot` of a node: a tensor of this dtype and shape inside the output buffer
  // of the Concat in place it feeds (allocating that buffer from `alloc` for its first input),
  // or an undefined tensor when the slot feeds none or the learned layout does not match.
  Result<Tensor> concat_member(std::vector<ConcatRun>& runs, int slot, DType dtype, const Shape& shape, bool zeroed,
                               const std::shared_ptr<Allocator>& alloc) const;

 private:
  const ir::Graph* graph_ = nullptr;
  std::unordered_map<std::string, int> slot_index_;
  std::vector<std::string> slot_names_;
  std::vector<int> outer_slots_;  // slots filled from the enclosing scope at run start
  std::vector<int> input_slots_;
  std::vector<std::pair<int, Tensor>> initializer_slots_;
  std::vector<int> output_slots_;
  std::vector<NodePlan> nodes_;
  // Concat in place (see ConcatLayout): the candidate Concat nodes, by index into nodes_; per
  // slot, the candidate it feeds (-1: none) and its input index; per node, its candidate or -1.
  std::vector<int> concat_nodes_;
  std::vector<int> concat_of_slot_, concat_input_of_slot_, concat_of_node_;
  mutable std::mutex concat_mu_;
  mutable std::vector<std::shared_ptr<const ConcatLayout>> concat_layouts_;  // learned, per candidate

  void find_concats(const std::vector<bool>& graph_output);
  bool concat_in_place(std::vector<ConcatRun>& runs, int c, std::vector<Value>& slots) const;
  void learn_concat(const ConcatRun& run, int c, const std::vector<Value>& slots) const;
};

// Runtime-owned ops: control flow (If, Loop, Scan, SequenceMap), sequences and optionals.
std::span<const kernels::KernelEntry> control_flow_kernels();

// The context the runtime hands to kernels. Control-flow kernels downcast to it to run subgraphs.
class RunContext final : public kernels::KernelContext {
 public:
  RunContext(const NodePlan& np, std::vector<Value>& slots, const Scope& scope, const RunOptions& opts,
             std::vector<ConcatRun>* concat_runs = nullptr)
      : np_(np), slots_(slots), scope_(scope), opts_(opts), concat_runs_(concat_runs) {}

  int num_inputs() const override { return static_cast<int>(np_.inputs.size()); }
  bool has_input(int i) const override {
    return i >= 0 && i < num_inputs() && np_.inputs[i] >= 0;
  }
  const Tensor& input(int i) const override { return slots_[np_.inputs[i]].tensor; }
  const Value& input_value(int i) const override {
    static const Value kNone;
    return has_input(i) ? slots_[np_.inputs[i]] : kNone;
  }
  int num_outputs() const override { return static_cast<int>(np_.outputs.size()); }
  bool is_output_used(int i) const override {
    return i >= 0 && i < num_outputs() && np_.outputs[i] >= 0;
  }
  Result<Tensor*> allocate_output(int i, DType dtype, const Shape& shape) override;
  Result<Tensor*> allocate_output_uninitialized(int i, DType dtype, const Shape& shape) override;
  Result<Tensor*> allocate_output_over_input(int i, int j, DType dtype, const Shape& shape) override;
  void set_output(int i, Tensor t) override;
  void set_output_value(int i, Value v) override;

  bool has_attr(std::string_view name) const override { return np_.node->attr(name) != nullptr; }
  int64_t attr_int(std::string_view name, int64_t def) const override;
  float attr_float(std::string_view name, float def) const override;
  std::string attr_string(std::string_view name, std::string_view def) const override;
  std::vector<int64_t> attr_ints(std::string_view name) const override;
  std::vector<float> attr_floats(std::string_view name) const override;
  std::vector<std::string> attr_strings(std::string_view name) const override;
  const Tensor* attr_tensor(std::string_view name) const override;

  std::string_view op_type() const override { return np_.node->op_type; }
  std::string_view node_name() const override { return np_.node->name; }
  int opset() const override { return np_.opset; }
  ThreadPool& pool() override { return *opts_.env->pool; }
  const CpuFeatures& cpu() const override { return opts_.env->cpu; }

  // Runs the subgraph held in graph attribute `attr` with the given inputs; the current scope
  // (this node's graph and its parents) is visible to it.
  Result<std::vector<Value>> run_subgraph(std::string_view attr, std::vector<Value> inputs);
  const ir::Graph* subgraph(std::string_view attr) const;
  const kernels::KernelState* state() const override { return np_.state.get(); }

 private:
  // over_input >= 0: output i may take that input's storage (allocate_output_over_input).
  Result<Tensor*> allocate(int i, DType dtype, const Shape& shape, bool zeroed, int over_input = -1);
  bool input_dies_here(int j) const;
  const NodePlan& np_;
  std::vector<Value>& slots_;
  const Scope& scope_;
  const RunOptions& opts_;
  std::vector<ConcatRun>* concat_runs_;
};

}  // namespace edgeai::runtime
