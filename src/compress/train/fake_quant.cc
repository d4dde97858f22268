#include "compress/train/fake_quant.h"

#include <map>
#include <set>

#include "compress/quantize/qparams.h"

namespace edgeai::compress::train {
namespace {

ir::Node fq_node(const std::string& name, const std::string& x, const std::string& s, const std::string& z,
                 const std::string& y, float qmin, float qmax, int axis) {
  ir::Node n;
  n.name = name;
  n.op_type = "FakeQuant";
  n.domain = "com.edgeai.train";
  n.inputs = {x, s, z};
  n.outputs = {y};
  auto fl = [&](const char* k, float v) {
    ir::Attribute a;
    a.name = k;
    a.type = ir::AttrType::kFloat;
    a.f = v;
    n.attributes[k] = a;
  };
  fl("qmin", qmin);
  fl("qmax", qmax);
  ir::Attribute ax;
  ax.name = "axis";
  ax.type = ir::AttrType::kInt;
  ax.i = axis;
  n.attributes["axis"] = ax;
  return n;
}

int weight_axis(const ir::Node& n) {
  if (n.op_type == "Conv") return 0;
  if (n.op_type == "Gemm") return node_int(n, "transB", 0) ? 0 : 1;
  return 1;  // MatMul [K, N]
}

}  // namespace

Result<QatGraph> insert_fake_quant(const ir::Graph& g, const CalibrationRanges& ranges) {
  QatGraph q;
  q.graph = g;
  ir::Graph& out = q.graph;
  for (auto& [name, t] : out.initializers) t = t.clone();
  out.opsets["com.edgeai.train"] = 1;
  std::set<std::string> outputs;
  for (const auto& o : g.outputs) outputs.insert(o.name);
  std::vector<ir::Node> nodes;
  std::map<std::string, std::string> act_fq;  // activation -> its fake-quantized name
  auto act = [&](const std::string& a) -> std::string {
    auto it = act_fq.find(a);
    if (it != act_fq.end()) return it->second;
    auto r = ranges.find(a);
    if (r == ranges.end()) return a;
    QParams p = activation_qparams(r->second.min, r->second.max, false);
    const std::string s = a + "_fq_scale", z = a + "_fq_zero", y = a + "_fq";
    out.initializers[s] = Tensor::from_vector<float>(DType::kF32, {1}, {p.scale});
    out.initializers[z] = Tensor::from_vector<float>(DType::kF32, {1}, {static_cast<float>(p.zero_point)});
    nodes.push_back(fq_node(a + "_fq_node", a, s, z, y, 0, 255, 0));
    act_fq[a] = y;
    q.activations.push_back(a);
    return y;
  };
  // Graph inputs first (their quantizer goes before any node).
  for (ir::Node n : g.nodes) {
    const bool candidate = (n.op_type == "Conv" || n.op_type == "Gemm" || n.op_type == "MatMul") && n.domain.empty() &&
                           n.inputs.size() >= 2 && out.initializers.count(n.inputs[1]) &&
                           out.initializers[n.inputs[1]].dtype() == DType::kF32;
    if (!candidate) {
      nodes.push_back(n);
      continue;
    }
    n.inputs[0] = act(n.inputs[0]);
    const std::string w = n.inputs[1];
    const int axis = weight_axis(n);
    ASSIGN_OR_RETURN(QuantizedWeight qw, quantize_weight(out.initializers[w], axis));
    const std::string s = w + "_fq_scale", z = w + "_fq_zero";
    out.initializers[s] = qw.scale.clone();
    ASSIGN_OR_RETURN(Tensor zeros, Tensor::create(DType::kF32, qw.scale.shape()));
    out.initializers[z] = zeros;
    nodes.push_back(fq_node(w + "_fq_node", w, s, z, w + "_fq", -127, 127, axis));
    n.inputs[1] = w + "_fq";
    q.weights.push_back({w, s, axis});
    const std::string y = n.outputs[0];
    if (outputs.count(y) && ranges.count(y)) {
      n.outputs[0] = y + "_prefq";
      nodes.push_back(n);
      QParams p = activation_qparams(ranges.at(y).min, ranges.at(y).max, false);
      out.initializers[y + "_fq_scale"] = Tensor::from_vector<float>(DType::kF32, {1}, {p.scale});
      out.initializers[y + "_fq_zero"] = Tensor::from_vector<float>(DType::kF32, {1}, {static_cast<float>(p.zero_point)});
      nodes.push_back(fq_node(y + "_fq_node", y + "_prefq", y + "_fq_scale", y + "_fq_zero", y, 0, 255, 0));
      q.activations.push_back(y);
    } else {
      nodes.push_back(n);
    }
  }
  out.nodes = std::move(nodes);
  out.value_infos.clear();
  return q;
}

Status update_weight_scales(Trainable& model, const std::vector<FakeQuantWeight>& weights) {
  ir::Graph& g = model.graph();
  for (const FakeQuantWeight& w : weights) {
    ASSIGN_OR_RETURN(QuantizedWeight qw, quantize_weight(g.initializers.at(w.weight), w.axis));
    Tensor& s = g.initializers.at(w.scale);
    std::copy_n(qw.scale.data<float>(), s.numel(), s.data<float>());
  }
  return ok_status();
}

ir::Graph strip_fake_quant(const ir::Graph& g) {
  ir::Graph out = g;
  std::map<std::string, std::string> rename;
  std::vector<ir::Node> nodes;
  for (const ir::Node& n : g.nodes) {
    if (n.domain == "com.edgeai.train" && n.op_type == "FakeQuant") {
      rename[n.outputs[0]] = n.inputs[0];
      out.initializers.erase(n.inputs[1]);
      out.initializers.erase(n.inputs[2]);
      continue;
    }
    nodes.push_back(n);
  }
  // A quantizer that produced a graph output: its producer writes the output name again.
  std::set<std::string> outputs;
  for (const auto& o : g.outputs) outputs.insert(o.name);
  for (ir::Node& n : nodes) {
    for (auto& in : n.inputs) {
      auto it = rename.find(in);
      if (it != rename.end() && !outputs.count(in)) in = it->second;
    }
    for (auto& o : n.outputs) {
      for (const auto& [fq_out, fq_in] : rename) {
        if (o == fq_in && outputs.count(fq_out)) o = fq_out;
      }
    }
  }
  out.nodes = std::move(nodes);
  out.opsets.erase("com.edgeai.train");
  return out;
}

}  // namespace edgeai::compress::train
