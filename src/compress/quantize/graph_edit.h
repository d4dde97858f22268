// Small graph-editing helpers the quantizers share.
#pragma once

#include <set>
#include <string>
#include <vector>

#include "compress/quantize/qparams.h"
#include "compress/quantize/quantize.h"
#include "ir/graph.h"

namespace edgeai::compress {

// A float constant a node reads: an initializer of `g` or the value of a Constant node in `g`.
const Tensor* find_constant(const ir::Graph& g, const std::string& name);
// The index of the node that produces `name` in `g`, or -1.
int producer_index(const ir::Graph& g, const std::string& name);
// How many node inputs of `g` and of its subgraphs (by outer reference) read `name`, and
// whether it is a graph output.
int use_count(const ir::Graph& g, const std::string& name);
bool is_graph_output(const ir::Graph& g, const std::string& name);

// Names not yet used in the graph: `base` + suffix, made unique.
class NameSet {
 public:
  explicit NameSet(const ir::Graph& g);
  std::string fresh(const std::string& want);

 private:
  std::set<std::string> used_;
};

ir::Node make_node(const std::string& name, const std::string& op, std::vector<std::string> inputs,
                   std::vector<std::string> outputs);
void set_int_attr(ir::Node& n, const std::string& name, int64_t v);
int64_t int_attr(const ir::Node& n, const std::string& name, int64_t def);
float float_attr(const ir::Node& n, const std::string& name, float def);

// Adds the quantized weight's initializers (values PREFIX, scale PREFIX_s, zero point PREFIX_z
// unless `zero_point` is false) to `g` and returns a DequantizeLinear node that gives `output`.
ir::Node add_dequantize(ir::Graph& g, NameSet& names, const std::string& prefix, QuantizedWeight q,
                        const std::string& output, bool zero_point = true);
// Removes initializers and Constant nodes nothing reads any more.
void remove_unused_constants(ir::Graph& g);
// Bytes of initializers and Constant values (recursively).
int64_t constant_bytes(const ir::Graph& g);
// Whether `token` names a node (by name) or an op type in the graph (recursively).
bool graph_has_name_or_op(const ir::Graph& g, const std::string& token);
bool excluded(const QuantizeOptions& o, const ir::Node& n);
// Every --exclude token must name a node or an op type of the graph.
Status check_excludes(const ir::Graph& g, const QuantizeOptions& o);

}  // namespace edgeai::compress
