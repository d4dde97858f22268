// Static QDQ quantization (see quantize.h for the layout).
#include <algorithm>
#include <cmath>
#include <limits>
#include <map>

#include "compress/quantize/graph_edit.h"
#include "compress/quantize/quantize.h"

namespace edgeai::compress {

namespace {

struct Target {
  size_t node = 0;
  int axis = -1;          // weight channel axis
  int folded = -1;        // index of the Relu/Clip folded into the output range
  float clip_max = std::numeric_limits<float>::infinity();
  std::string reason;     // why it stays in float (empty: quantize)
};

bool is_candidate(const ir::Node& n) {
  return n.domain.empty() && (n.op_type == "Conv" || n.op_type == "Gemm" || n.op_type == "MatMul");
}

// Relu, or Clip whose min is 0, reading `out` as its only consumer: returns its index.
int foldable_activation(const ir::Graph& g, const std::string& out, float* clip_max) {
  if (is_graph_output(g, out) || use_count(g, out) != 1) return -1;
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    const ir::Node& n = g.nodes[i];
    if (n.inputs.empty() || n.inputs[0] != out) continue;
    if (n.op_type == "Relu") return static_cast<int>(i);
    if (n.op_type != "Clip") return -1;
    float lo = -std::numeric_limits<float>::infinity(), hi = std::numeric_limits<float>::infinity();
    if (g.opset("") < 11) {
      lo = float_attr(n, "min", lo);
      hi = float_attr(n, "max", hi);
    } else {
      for (int k : {1, 2}) {
        if (static_cast<int>(n.inputs.size()) <= k || n.inputs[k].empty()) continue;
        const Tensor* t = find_constant(g, n.inputs[k]);
        if (!t || t->numel() != 1 || t->dtype() != DType::kF32) return -1;
        (k == 1 ? lo : hi) = t->data<float>()[0];
      }
    }
    if (lo != 0.0f) return -1;
    *clip_max = hi;
    return static_cast<int>(i);
  }
  return -1;
}

std::vector<Target> analyze(const ir::Graph& g, const QuantizeOptions* o) {
  std::vector<Target> targets;
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    const ir::Node& n = g.nodes[i];
    if (!is_candidate(n)) continue;
    Target t;
    t.node = i;
    const Tensor* w = n.inputs.size() > 1 ? find_constant(g, n.inputs[1]) : nullptr;
    if (o && excluded(*o, n)) t.reason = "excluded (--exclude)";
    else if (n.inputs.empty() || n.outputs.empty() || n.outputs[0].empty()) t.reason = "malformed node";
    else if (!w) t.reason = "weight is computed at run time, not a constant";
    else if (w->dtype() != DType::kF32) t.reason = "weight is " + std::string(dtype_name(w->dtype())) + ", not f32";
    else if (n.op_type == "Conv" && w->rank() < 3) t.reason = "Conv weight has rank " + std::to_string(w->rank());
    else if (n.op_type != "Conv" && w->rank() != 2) t.reason = "weight is not 2-D";
    else if (n.op_type == "Gemm" && (int_attr(n, "transA", 0) != 0 || float_attr(n, "alpha", 1) != 1.0f ||
                                     float_attr(n, "beta", 1) != 1.0f)) {
      t.reason = "Gemm with transA, alpha or beta";
    }
    if (t.reason.empty()) {
      if (n.op_type == "Conv") t.axis = 0;
      else if (n.op_type == "Gemm") t.axis = int_attr(n, "transB", 0) ? 0 : 1;
      else t.axis = 1;
      if ((o && !o->per_channel) || g.opset("") < 13) t.axis = -1;
      // Folding needs a quantized range that starts at 0: with symmetric int8 activations the
      // negative half stays representable, so the Relu/Clip must stay.
      if (!(o && o->symmetric_activations)) t.folded = foldable_activation(g, n.outputs[0], &t.clip_max);
    }
    targets.push_back(t);
  }
  return targets;
}

std::string output_of(const ir::Graph& g, const Target& t) {
  return t.folded >= 0 ? g.nodes[t.folded].outputs[0] : g.nodes[t.node].outputs[0];
}

// Ops static mode does not quantize, said in the report.
void report_others(const ir::Graph& g, bool top, QuantizeReport& r) {
  for (const auto& n : g.nodes) {
    if (!top && is_candidate(n)) r.ops.push_back({n.name, n.op_type, false, "", "inside an If/Loop/Scan body"});
    if (n.op_type == "LSTM" || n.op_type == "GRU" || n.op_type == "RNN") {
      r.ops.push_back({n.name, n.op_type, false, "", "recurrent: quantized by --mode dynamic only"});
    }
    for (const auto& [k, a] : n.attributes) {
      if (a.type == ir::AttrType::kGraph && a.g) report_others(*a.g, false, r);
      for (const auto& sg : a.graphs) {
        if (sg) report_others(*sg, false, r);
      }
    }
  }
}

}  // namespace

std::vector<std::string> calibration_tensors(const ir::Graph& g) {
  std::vector<std::string> names;
  auto add = [&](const std::string& x) {
    if (!x.empty() && std::find(names.begin(), names.end(), x) == names.end()) names.push_back(x);
  };
  for (const Target& t : analyze(g, nullptr)) {
    if (!t.reason.empty()) continue;
    const ir::Node& n = g.nodes[t.node];
    add(n.inputs[0]);
    add(n.outputs[0]);
    if (t.folded >= 0) add(g.nodes[t.folded].outputs[0]);
  }
  return names;
}

Status check_excludes(const ir::Graph& g, const QuantizeOptions& o) {
  for (const auto& e : o.exclude) {
    if (!graph_has_name_or_op(g, e)) {
      return invalid_argument("--exclude " + e + ": the model has no node or op type of that name");
    }
  }
  return ok_status();
}

Result<QuantizedModel> quantize_static(const ir::Graph& graph, const CalibrationRanges& ranges,
                                       const QuantizeOptions& options) {
  RETURN_IF_ERROR(check_excludes(graph, options));
  if (graph.opset("") < 10) {
    return unsupported("the model's opset " + std::to_string(graph.opset("")) +
                       " is older than 10 (QuantizeLinear); convert it to a newer opset first");
  }
  QuantizedModel result;
  result.graph = std::make_unique<ir::Graph>(graph);
  ir::Graph& g = *result.graph;
  QuantizeReport& report = result.report;
  report.weight_bytes_before = constant_bytes(g);
  std::vector<Target> targets = analyze(g, &options);

  // Activation parameters of every tensor that gets a Q/DQ pair.
  std::map<std::string, QParams> act;
  auto qparams_for = [&](const std::string& x, float lo_force, float hi_cap) -> const QParams* {
    auto it = ranges.find(x);
    if (it == ranges.end()) return nullptr;
    auto [lo, hi] = choose_range(it->second, options.method, options.percentile, options.symmetric_activations);
    lo = std::max(lo, lo_force);
    hi = std::min(hi, hi_cap);
    if (!(hi >= lo)) hi = lo;
    return &act.insert({x, activation_qparams(lo, hi, options.symmetric_activations)}).first->second;
  };
  for (Target& t : targets) {
    if (!t.reason.empty()) continue;
    const ir::Node& n = g.nodes[t.node];
    std::string in = n.inputs[0], out = output_of(g, t);
    bool in_ok = act.count(in) || qparams_for(in, -std::numeric_limits<float>::infinity(), INFINITY);
    bool out_ok = act.count(out) || (t.folded >= 0 ? qparams_for(out, 0.0f, t.clip_max)
                                                   : qparams_for(out, -INFINITY, INFINITY));
    if (!in_ok || !out_ok) {
      t.reason = "no calibration range for '" + (in_ok ? out : in) + "' (not a float tensor on the calibration data)";
    }
  }

  // New names are short (a3_q, w1_s, ...): on a small model long ones would cost a tenth of the
  // file. The layout, not the names, says what is what.
  NameSet names(g);
  std::map<std::string, std::string> reads;  // quantized tensor -> the name consumers read
  std::map<std::string, std::string> prefix;  // quantized tensor -> its a<k> prefix
  int n_act = 0, n_weight = 0;
  auto act_prefix = [&](const std::string& x) {
    auto it = prefix.find(x);
    if (it == prefix.end()) it = prefix.insert({x, "a" + std::to_string(n_act++)}).first;
    return it->second;
  };
  std::vector<ir::Node> nodes;
  std::map<std::pair<int32_t, bool>, std::string> zero_points;
  auto emit_qdq = [&](const std::string& x, const std::string& source, const std::string& dq_out) {
    const QParams& q = act.at(x);
    const std::string p = act_prefix(x);
    std::string s = names.fresh(p + "_s"), xq = names.fresh(p + "_q");
    g.initializers[s] = scalar_f32(q.scale);
    // One zero-point tensor per value (the outputs of folded Relus all have 0).
    auto& z = zero_points[{q.zero_point, q.is_signed}];
    if (z.empty()) {
      z = names.fresh("z" + std::to_string(zero_points.size() - 1));
      g.initializers[z] = scalar_zero_point(q.zero_point, q.is_signed);
    }
    // Generated nodes go unnamed: on a small model their names cost a percent of the file.
    nodes.push_back(make_node("", "QuantizeLinear", {source, s, z}, {xq}));
    nodes.push_back(make_node("", "DequantizeLinear", {xq, s, z}, {dq_out}));
  };
  std::set<size_t> folded;
  std::map<size_t, const Target*> by_node;
  for (const Target& t : targets) {
    if (!t.reason.empty()) continue;
    by_node[t.node] = &t;
    if (t.folded >= 0) folded.insert(static_cast<size_t>(t.folded));
  }
  // Graph inputs that are quantized get their pair first.
  for (const auto& in : g.inputs) {
    if (act.count(in.name) && !g.initializers.count(in.name)) {
      reads[in.name] = names.fresh(act_prefix(in.name) + "_dq");
      emit_qdq(in.name, in.name, reads[in.name]);
    }
  }
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    if (folded.count(i)) continue;
    ir::Node n = g.nodes[i];
    auto tb = by_node.find(i);
    if (tb != by_node.end()) {
      const Target& t = *tb->second;
      const Tensor& w = *find_constant(g, n.inputs[1]);
      auto qw = quantize_weight(w, t.axis);
      if (!qw.ok()) return qw.status().with_context("node '" + n.name + "': ");
      Tensor w_scale = qw->scale;
      const std::string wp = "w" + std::to_string(n_weight++);
      std::string wname = names.fresh(wp + "_dq");
      nodes.push_back(add_dequantize(g, names, wp, std::move(qw).value(), wname));
      nodes.back().name.clear();
      n.inputs[1] = wname;
      if (n.op_type != "MatMul" && n.inputs.size() > 2 && !n.inputs[2].empty()) {
        const Tensor* b = find_constant(g, n.inputs[2]);
        if (b && b->dtype() == DType::kF32 && b->rank() == 1) {
          auto qb = quantize_bias(*b, act.at(n.inputs[0]).scale, w_scale);
          if (!qb.ok()) return qb.status().with_context("node '" + n.name + "': ");
          const std::string bp = "b" + std::to_string(n_weight - 1);
          std::string bname = names.fresh(bp + "_dq");
          // int32 bias: zero point 0 by definition, so none is stored
          nodes.push_back(add_dequantize(g, names, bp, std::move(qb).value(), bname, false));
          nodes.back().name.clear();
          n.inputs[2] = bname;
        }
      }
      if (t.folded >= 0) n.outputs[0] = g.nodes[t.folded].outputs[0];
      report.ops.push_back({n.name, n.op_type, true,
                            t.folded >= 0 ? "int8 QDQ, " + g.nodes[t.folded].op_type + " folded" : "int8 QDQ", ""});
    }
    for (auto& x : n.inputs) {
      auto r = reads.find(x);
      if (r != reads.end()) x = r->second;
    }
    std::vector<std::pair<std::string, std::string>> pairs;  // (tensor, source of its Q)
    for (auto& y : n.outputs) {
      if (y.empty() || !act.count(y)) continue;
      bool quantized_here = false;
      for (const Target& t : targets) quantized_here |= t.reason.empty() && output_of(g, t) == y;
      bool input_of_target = false;
      for (const Target& t : targets) input_of_target |= t.reason.empty() && g.nodes[t.node].inputs[0] == y;
      if (!quantized_here && !input_of_target) continue;
      if (is_graph_output(g, y)) {
        std::string f = names.fresh(y + "_f");
        pairs.push_back({y, f});
        y = f;
      } else {
        reads[y] = names.fresh(act_prefix(y) + "_dq");
        pairs.push_back({y, y});
      }
    }
    nodes.push_back(std::move(n));
    for (const auto& [y, src] : pairs) emit_qdq(y, src, src == y ? reads[y] : y);
  }
  g.nodes = std::move(nodes);
  remove_unused_constants(g);
  for (const Target& t : targets) {
    if (!t.reason.empty()) report.ops.push_back({graph.nodes[t.node].name, graph.nodes[t.node].op_type, false, "", t.reason});
  }
  report_others(graph, true, report);
  report.weight_bytes_after = constant_bytes(g);
  return result;
}

}  // namespace edgeai::compress
