// Dynamic quantization (see quantize.h): MatMul/Gemm through DynamicQuantizeLinear +
// MatMulInteger, Conv/LSTM/GRU/RNN weights int8 behind a DequantizeLinear, in every subgraph.
#include <algorithm>
#include <map>

#include "compress/quantize/graph_edit.h"
#include "compress/quantize/quantize.h"

namespace edgeai::compress {

namespace {

struct Scope {
  ir::Graph* g;
  const Scope* parent;
};

// Ops that only move a weight's values around: a constant seen through them (through the first
// input) is still the weight; PyTorch's LSTM export reorders gates by Slice + Concat. Quantizing
// the constant where it is defined is right whatever the chain does with it; the chain only tells
// which constants are weights.
bool is_view_op(const std::string& op) {
  return op == "Unsqueeze" || op == "Squeeze" || op == "Reshape" || op == "Identity" || op == "Transpose" ||
         op == "Flatten" || op == "Slice" || op == "Concat" || op == "Split" || op == "Gather";
}

struct Definition {
  ir::Graph* g = nullptr;
  std::string name;
};

// Follows `name` back through view ops (and out to enclosing scopes) to a constant definition.
bool trace_constant(const Scope* s, std::string name, Definition* def) {
  for (int hops = 0; s && hops < 64; ++hops) {
    ir::Graph& g = *s->g;
    if (g.initializers.count(name)) {
      if (!find_constant(g, name)) return false;  // also a graph input
      *def = {&g, name};
      return true;
    }
    int p = producer_index(g, name);
    if (p < 0) {
      bool is_input = std::any_of(g.inputs.begin(), g.inputs.end(), [&](const ir::ValueInfo& v) { return v.name == name; });
      if (is_input) return false;
      s = s->parent;  // defined in an enclosing graph
      continue;
    }
    const ir::Node& n = g.nodes[p];
    if (n.op_type == "Constant") {
      if (!find_constant(g, name)) return false;
      *def = {&g, name};
      return true;
    }
    if (!is_view_op(n.op_type) || n.inputs.empty()) return false;
    name = n.inputs[0];
  }
  return false;
}

class DynamicQuantizer {
 public:
  DynamicQuantizer(const QuantizeOptions& o, QuantizeReport& r, int64_t opset) : o_(o), r_(r), opset_(opset) {}

  Status run(ir::Graph& top) {
    Scope s{&top, nullptr};
    RETURN_IF_ERROR(visit(s));
    RETURN_IF_ERROR(apply_weight_only());
    clean(top);
    return ok_status();
  }

 private:
  const QuantizeOptions& o_;
  QuantizeReport& r_;
  int64_t opset_;
  // Weight-only constants to quantize: (graph, name) -> channel axis.
  std::map<std::pair<ir::Graph*, std::string>, int> weights_;

  int axis_for(const Tensor& w) const {
    if (!o_.per_channel || opset_ < 13 || w.rank() < 2) return -1;
    return w.rank() == 3 && w.dim(0) == 1 ? 1 : 0;  // LSTM/GRU [dirs, gates*H, *]: per gate row
  }

  void clean(ir::Graph& g) {
    remove_unused_constants(g);
    for (auto& n : g.nodes) {
      for (auto& [k, a] : n.attributes) {
        if (a.type == ir::AttrType::kGraph && a.g) clean(*a.g);
        for (auto& sg : a.graphs) {
          if (sg) clean(*sg);
        }
      }
    }
  }

  Status visit(const Scope& s) {
    ir::Graph& g = *s.g;
    // Subgraphs first, while this graph's nodes are as they were.
    for (auto& n : g.nodes) {
      for (auto& [k, a] : n.attributes) {
        if (a.type == ir::AttrType::kGraph && a.g) {
          a.g = std::make_shared<ir::Graph>(*a.g);  // the copy shares subgraphs with the input: detach
          RETURN_IF_ERROR(visit(Scope{a.g.get(), &s}));
        }
        for (auto& sg : a.graphs) {
          if (!sg) continue;
          sg = std::make_shared<ir::Graph>(*sg);
          RETURN_IF_ERROR(visit(Scope{sg.get(), &s}));
        }
      }
    }
    NameSet names(g);
    std::vector<ir::Node> nodes;
    // Copies, not moves: the lookups below read g.nodes (a weight's Constant comes earlier).
    for (const ir::Node& n : g.nodes) {
      if (!n.domain.empty()) {
        nodes.push_back(n);
        continue;
      }
      if (n.op_type == "MatMul" || n.op_type == "Gemm") {
        if (rewrite_matmul(g, names, n, nodes)) continue;
      } else if (n.op_type == "Conv" || n.op_type == "LSTM" || n.op_type == "GRU" || n.op_type == "RNN") {
        mark_weight_only(s, n);
      }
      nodes.push_back(n);
    }
    g.nodes = std::move(nodes);
    return ok_status();
  }

  void mark_weight_only(const Scope& s, const ir::Node& n) {
    if (excluded(o_, n)) {
      r_.ops.push_back({n.name, n.op_type, false, "", "excluded (--exclude)"});
      return;
    }
    std::vector<int> slots = n.op_type == "Conv" ? std::vector<int>{1} : std::vector<int>{1, 2};
    int found = 0;
    for (int k : slots) {
      Definition d;
      if (static_cast<int>(n.inputs.size()) <= k || !trace_constant(&s, n.inputs[k], &d)) continue;
      const Tensor* w = find_constant(*d.g, d.name);
      if (!w || w->dtype() != DType::kF32 || w->rank() < 2) continue;
      weights_[{d.g, d.name}] = axis_for(*w);
      ++found;
    }
    if (found) r_.ops.push_back({n.name, n.op_type, true, "int8 weights (DequantizeLinear), float compute", ""});
    else r_.ops.push_back({n.name, n.op_type, false, "", "weights are computed at run time, not constants"});
  }

  // DynamicQuantizeLinear(A) -> MatMulInteger(A_q, W_q, A_zp) -> Cast -> Mul(A_scale * W_scale) [-> Add C].
  bool rewrite_matmul(ir::Graph& g, NameSet& names, const ir::Node& n, std::vector<ir::Node>& nodes) {
    auto keep = [&](const std::string& why) {
      r_.ops.push_back({n.name, n.op_type, false, "", why});
      return false;
    };
    if (excluded(o_, n)) return keep("excluded (--exclude)");
    if (opset_ < 11) return keep("opset " + std::to_string(opset_) + " has no DynamicQuantizeLinear (11)");
    if (n.inputs.size() < 2 || n.outputs.empty()) return keep("malformed node");
    const Tensor* w = find_constant(g, n.inputs[1]);
    if (!w) return keep("weight is computed at run time, not a constant");
    if (w->dtype() != DType::kF32 || w->rank() != 2) return keep("weight is not a 2-D f32 tensor");
    bool gemm = n.op_type == "Gemm";
    if (gemm && (int_attr(n, "transA", 0) != 0 || float_attr(n, "alpha", 1) != 1.0f || float_attr(n, "beta", 1) != 1.0f)) {
      return keep("Gemm with transA, alpha or beta");
    }
    Tensor wt = *w;
    if (gemm && int_attr(n, "transB", 0)) {  // store [K, N]
      auto t = Tensor::create(DType::kF32, {w->dim(1), w->dim(0)});
      if (!t.ok()) return keep(t.status().message());
      for (int64_t i = 0; i < w->dim(0); ++i) {
        for (int64_t j = 0; j < w->dim(1); ++j) t->data<float>()[j * w->dim(0) + i] = w->data<float>()[i * w->dim(1) + j];
      }
      wt = std::move(t).value();
    }
    auto q = quantize_weight(wt, o_.per_channel ? 1 : -1);
    if (!q.ok()) return keep(q.status().message());
    const std::string base = n.name.empty() ? n.outputs[0] : n.name;
    std::string wq = names.fresh(n.inputs[1] + "_quantized"), ws = names.fresh(n.inputs[1] + "_scale");
    g.initializers[wq] = q->values;
    g.initializers[ws] = q->scale;
    std::string aq = names.fresh(n.inputs[0] + "_quantized"), as = names.fresh(n.inputs[0] + "_scale"),
                az = names.fresh(n.inputs[0] + "_zero_point");
    nodes.push_back(make_node(names.fresh(base + "_DynamicQuantizeLinear"), "DynamicQuantizeLinear", {n.inputs[0]}, {aq, as, az}));
    std::string yi = names.fresh(base + "_int32"), yf = names.fresh(base + "_float"), s = names.fresh(base + "_output_scale");
    nodes.push_back(make_node(names.fresh(base + "_MatMulInteger"), "MatMulInteger", {aq, wq, az}, {yi}));
    ir::Node cast = make_node(names.fresh(base + "_Cast"), "Cast", {yi}, {yf});
    set_int_attr(cast, "to", dtype_to_onnx(DType::kF32));
    nodes.push_back(std::move(cast));
    nodes.push_back(make_node(names.fresh(base + "_ScaleMul"), "Mul", {as, ws}, {s}));
    bool bias = gemm && n.inputs.size() > 2 && !n.inputs[2].empty();
    std::string scaled = bias ? names.fresh(base + "_scaled") : n.outputs[0];
    nodes.push_back(make_node(names.fresh(base + "_Mul"), "Mul", {yf, s}, {scaled}));
    if (bias) nodes.push_back(make_node(names.fresh(base + "_BiasAdd"), "Add", {scaled, n.inputs[2]}, {n.outputs[0]}));
    r_.ops.push_back({n.name, n.op_type, true, "int8 MatMulInteger, activations quantized at run time", ""});
    return true;
  }

  Status apply_weight_only() {
    for (const auto& [key, axis] : weights_) {
      ir::Graph& g = *key.first;
      const std::string& name = key.second;
      const Tensor* w = find_constant(g, name);
      if (!w) continue;
      auto q = quantize_weight(*w, axis);
      if (!q.ok()) return q.status().with_context("weight '" + name + "': ");
      NameSet names(g);
      ir::Node dq = add_dequantize(g, names, name + "_i8", std::move(q).value(), name);
      int p = producer_index(g, name);
      if (p >= 0) {
        g.nodes[p] = std::move(dq);  // the Constant node becomes the DequantizeLinear
      } else {
        g.initializers.erase(name);
        g.nodes.insert(g.nodes.begin(), std::move(dq));
      }
    }
    return ok_status();
  }
};

}  // namespace

Result<QuantizedModel> quantize_dynamic(const ir::Graph& graph, const QuantizeOptions& options) {
  RETURN_IF_ERROR(check_excludes(graph, options));
  QuantizedModel result;
  result.graph = std::make_unique<ir::Graph>(graph);
  result.report.weight_bytes_before = constant_bytes(graph);
  DynamicQuantizer dq(options, result.report, graph.opset(""));
  RETURN_IF_ERROR(dq.run(*result.graph));
  result.report.weight_bytes_after = constant_bytes(*result.graph);
  return result;
}

}  // namespace edgeai::compress
