// The intermediate representation: a graph of nodes over named values, with initializers
// (constant tensors), attributes and nested subgraphs (If/Loop/Scan bodies).
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/tensor.h"
#include "edgeai/status.h"

namespace edgeai::ir {

class Graph;

// A dimension is either a known size or a symbolic name (a dynamic dimension).
struct Dim {
  int64_t value = -1;  // -1 when unknown
  std::string symbol;  // e.g. "batch", or empty
  bool known() const { return value >= 0; }
};

enum class ValueKind { kTensor, kSequence, kOptional, kUnknown };

// Declared type of a graph value (from ONNX value_info / inputs / outputs).
struct ValueType {
  ValueKind kind = ValueKind::kTensor;
  DType dtype = DType::kUndefined;
  std::optional<std::vector<Dim>> shape;  // absent when rank is unknown
  ValueKind elem_kind = ValueKind::kTensor;  // element of a sequence/optional
};

struct ValueInfo {
  std::string name;
  ValueType type;
};

enum class AttrType { kFloat, kInt, kString, kTensor, kGraph, kFloats, kInts, kStrings, kTensors, kGraphs };

struct Attribute {
  std::string name;
  AttrType type = AttrType::kInt;
  float f = 0.0f;
  int64_t i = 0;
  std::string s;
  Tensor t;
  std::shared_ptr<Graph> g;
  std::vector<float> floats;
  std::vector<int64_t> ints;
  std::vector<std::string> strings;
  std::vector<Tensor> tensors;
  std::vector<std::shared_ptr<Graph>> graphs;
};

struct Node {
  std::string name;
  std::string op_type;
  std::string domain;                // "" for the default ONNX domain
  std::vector<std::string> inputs;   // "" marks an absent optional input
  std::vector<std::string> outputs;  // "" marks an unused optional output
  std::map<std::string, Attribute, std::less<>> attributes;

  const Attribute* attr(std::string_view n) const {
    auto it = attributes.find(n);
    return it == attributes.end() ? nullptr : &it->second;
  }
};

class Graph {
 public:
  std::string name;
  std::vector<ValueInfo> inputs;   // includes those that have initializers (older ONNX)
  std::vector<ValueInfo> outputs;
  std::vector<ValueInfo> value_infos;
  std::vector<Node> nodes;
  std::map<std::string, Tensor, std::less<>> initializers;
  // Opset version per domain ("" = ai.onnx), inherited by subgraphs.
  std::map<std::string, int64_t, std::less<>> opsets;

  int64_t opset(std::string_view domain) const;
  // Inputs the caller must feed: graph inputs without an initializer.
  std::vector<const ValueInfo*> feed_inputs() const;
  // Parameter count and bytes of initializers (recursively into subgraphs).
  int64_t parameter_count() const;
  int64_t parameter_bytes() const;
  // Op type -> count (recursively into subgraphs).
  std::map<std::string, int> op_histogram() const;
};

// Names a graph reads from its enclosing scopes (used by its nodes or nested subgraphs but not
// defined inside it), added to `refs`.
void collect_outer_refs(const Graph& g, std::set<std::string>& refs);

// Node indices in an order where every node comes after the producers of its inputs. Inputs
// not produced inside the graph must be in `outer` (graph inputs, initializers, outer scope).
// Errors name the node with an undefined input or the cycle.
Result<std::vector<size_t>> topological_order(const Graph& g, const std::vector<std::string>& outer);

}  // namespace edgeai::ir
