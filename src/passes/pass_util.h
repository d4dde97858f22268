// Shared helpers of the graph passes: who produces and who reads each value, which values are
// constants, and the small edits every rewrite needs (remove nodes, rename uses, add an
// initializer under a fresh name). Internal to src/passes.
//
// How a pass works: build a GraphIndex, match patterns on it, edit g.nodes in place (a matched
// node is rewritten, the nodes it absorbs are marked in a `removed` vector), then call
// erase_nodes(). A node touched in a sweep is not matched again in the same sweep (the index is
// stale for it); the pass sweeps again until nothing changes.
//
// Passes only rewrite the top-level graph. Values read by subgraphs (If/Loop/Scan bodies) and
// graph outputs are "pinned": their names must stay, so they are never renamed away.
#pragma once

#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "core/tensor.h"
#include "edgeai/status.h"
#include "ir/graph.h"

namespace edgeai::passes {

// The custom op domain of the ops the passes introduce (FusedConv, FusedGemm, Gelu).
inline constexpr const char* kEdgeaiDomain = "com.edgeai";

class GraphIndex {
 public:
  explicit GraphIndex(const ir::Graph& g);

  // Index into g.nodes of the node producing `value`; -1 for graph inputs, initializers and
  // values from outside.
  int producer(const std::string& value) const;
  // Nodes reading `value`, once per input slot that names it.
  const std::vector<int>& consumers(const std::string& value) const;
  // Readers of `value`: node input slots, plus one for being a graph output, plus one for being
  // read by a subgraph.
  int use_count(const std::string& value) const;
  bool is_graph_output(const std::string& value) const { return graph_outputs_.count(value) > 0; }
  // Graph output or read by a subgraph: the value must keep its name and its producer.
  bool is_pinned(const std::string& value) const {
    return graph_outputs_.count(value) > 0 || subgraph_refs_.count(value) > 0;
  }
  bool is_graph_input(const std::string& value) const { return graph_inputs_.count(value) > 0; }
  // The value of `value` when it is an initializer that no graph input can override, else null.
  const Tensor* constant(const std::string& value) const;
  // The single node reading `value` when that is its only use (not pinned), else -1.
  int sole_consumer(const std::string& value) const;
  // The declared type of `value` (graph input, value_info or graph output), or null.
  const ir::ValueInfo* declared(const std::string& value) const;
  // A name that no value, initializer or node of the graph uses, nor any name this index handed
  // out before, built from `base`.
  std::string fresh_name(const std::string& base) const;

  // Memos of known_rank / known_shape / known_float / known_dtype. A rewrite keeps every value's type and shape,
  // so they stay valid for the index's life.
  mutable std::unordered_map<std::string, int> rank_memo;
  mutable std::unordered_map<std::string, std::optional<Shape>> shape_memo;
  mutable std::unordered_map<std::string, bool> float_memo;
  mutable std::unordered_map<std::string, DType> dtype_memo;

 private:
  const ir::Graph& g_;
  std::unordered_map<std::string, int> producer_;
  std::unordered_map<std::string, std::vector<int>> consumers_;
  std::set<std::string> graph_outputs_;
  std::set<std::string> graph_inputs_;
  std::set<std::string> subgraph_refs_;
  std::unordered_map<std::string, const ir::ValueInfo*> declared_;
  mutable std::unordered_set<std::string> used_names_;  // built on the first fresh_name()
  mutable bool names_built_ = false;
};

// Removes the nodes with removed[i] set, keeping the order of the rest.
void erase_nodes(ir::Graph& g, const std::vector<bool>& removed);

// Makes every top-level node input named `from` read `to` instead.
void replace_uses(ir::Graph& g, const std::string& from, const std::string& to);

// Adds `t` as an initializer under a fresh name (see GraphIndex::fresh_name) built from `base`;
// returns the name.
std::string add_initializer(ir::Graph& g, const GraphIndex& idx, const std::string& base, Tensor t);

// Declares the com.edgeai domain in the graph's opsets (once a pass adds one of its ops).
void use_edgeai_domain(ir::Graph& g);

// A list of ints that older opsets give as attribute `attr` and newer ones as constant input
// `input` (axes, pads): into *out (left empty when neither is there); false when the input is there
// but not a constant integer tensor.
bool ints_attr_or_input(const GraphIndex& idx, const ir::Node& n, const char* attr, size_t input,
                        std::vector<int64_t>* out);

// The number of elements and the float value of a constant scalar (a tensor of one element of a
// float or integer dtype); false when `t` is null or not a single number.
bool scalar_value(const Tensor* t, double* v);
// Whether constant `t` is a single number equal to `expected` within a relative `tol`.
bool is_scalar(const Tensor* t, double expected, double tol = 1e-6);

// The rank of `value` when known: declared (graph input, value_info, graph output), constant, or
// inferred through a few rank-preserving producers. -1 when unknown.
int known_rank(const ir::Graph& g, const GraphIndex& idx, const std::string& value);

// The full shape of `value` when known statically: declared with every dim known, a constant,
// or computed through a few shape-simple producers (Reshape to a constant shape, Transpose,
// elementwise ops, LayerNormalization, Gemm, MatMul). False when unknown.
bool known_shape(const ir::Graph& g, const GraphIndex& idx, const std::string& value, Shape* shape);

// Whether `value` is known to be a float tensor: declared so, a float constant, or the output of
// an op that only computes in floats (through a few type-preserving ops).
bool known_float(const ir::Graph& g, const GraphIndex& idx, const std::string& value);

// The element type of `value` when known: a constant's or a declared one, or carried from input 0
// through a few ops whose output has their first input's type (densenet's Concat <- Relu <- Conv
// <- ... <- the graph input). kUndefined when unknown.
DType known_dtype(const ir::Graph& g, const GraphIndex& idx, const std::string& value);

// The sweeps of a pass (see the top of this file): until a sweep changes nothing, rewrite(idx, i,
// removed, touched) is called for every node i not yet touched in the sweep; it edits g.nodes[i]
// and returns true when it rewrote, marking what it absorbed in `removed` and what it read in
// `touched`. The removed nodes are erased after each sweep, and with `edgeai_domain` the graph
// imports com.edgeai. Returns the number of rewrites.
template <class Rewrite>
int sweep_rewrites(ir::Graph& g, bool edgeai_domain, Rewrite&& rewrite) {
  int count = 0;
  for (bool changed = true; changed;) {
    changed = false;
    GraphIndex idx(g);
    std::vector<bool> removed(g.nodes.size(), false), touched(g.nodes.size(), false);
    for (size_t i = 0; i < g.nodes.size(); ++i) {
      if (touched[i] || !rewrite(idx, i, removed, touched)) continue;
      ++count;
      changed = true;
    }
    if (changed) {
      erase_nodes(g, removed);
      if (edgeai_domain) use_edgeai_domain(g);
    }
  }
  return count;
}

// Opset of the default domain (at least 1).
int onnx_opset(const ir::Graph& g);

// Attribute builders.
ir::Attribute attr_string(const std::string& name, const std::string& v);
ir::Attribute attr_floats(const std::string& name, std::vector<float> v);

}  // namespace edgeai::passes

namespace edgeai::passes {

// Pattern helpers over a GraphIndex.
// The index of the sole consumer of `value` when it is a default-domain node of type `op` with
// one output, else -1.
int sole_consumer_op(const ir::Graph& g, const GraphIndex& idx, const std::string& value, std::string_view op);
// The index of the default-domain node of type `op` producing `value`, else -1.
int producer_op(const ir::Graph& g, const GraphIndex& idx, const std::string& value, std::string_view op);
// For a two-input node reading `value`: the other input (the first match wins); empty when `n`
// does not read `value` as one of exactly two inputs.
std::string other_input(const ir::Node& n, const std::string& value);

}  // namespace edgeai::passes
