#include "compress/quantize/evaluate.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <set>

namespace edgeai::compress {

namespace {

struct ErrorSums {
  double max_abs = 0, sum_abs = 0, signal = 0, noise = 0;
  int64_t count = 0;
  void add(const Tensor& got, const Tensor& ref) {
    std::vector<float> g = got.to_float_vector(), r = ref.to_float_vector();
    for (size_t i = 0; i < std::min(g.size(), r.size()); ++i) {
      double d = std::fabs(static_cast<double>(g[i]) - r[i]);
      if (std::isnan(d)) d = std::numeric_limits<double>::infinity();
      max_abs = std::max(max_abs, d);
      sum_abs += d;
      signal += static_cast<double>(r[i]) * r[i];
      noise += d * d;
      ++count;
    }
  }
  double sqnr_db() const {
    if (noise == 0) return std::numeric_limits<double>::infinity();
    return 10.0 * std::log10(std::max(signal, 1e-30) / noise);
  }
};

Result<std::unique_ptr<runtime::Session>> make_session(std::unique_ptr<ir::Graph> g, Env& env, bool optimize) {
  runtime::SessionOptions so;
  so.optimize = optimize;
  return runtime::Session::create(std::shared_ptr<const ir::Graph>(std::move(g)), env, so);
}

// Arg max over the last axis, one per row.
std::vector<int64_t> top1(const Tensor& t) {
  std::vector<int64_t> out;
  if (t.rank() == 0 || t.numel() == 0) return out;
  const int64_t c = t.dim(t.rank() - 1);
  if (c <= 0) return out;
  std::vector<float> v = t.to_float_vector();
  for (int64_t r = 0; r < t.numel() / c; ++r) {
    out.push_back(std::max_element(v.begin() + r * c, v.begin() + (r + 1) * c) - (v.begin() + r * c));
  }
  return out;
}

}  // namespace

Result<EvalResult> evaluate(const ir::Graph& model, const ir::Graph& reference,
                            const std::vector<CalibrationSample>& data, const Tensor* labels, Env& env,
                            const std::function<void(int64_t, int64_t)>& progress, bool partial_data) {
  if (data.empty()) return invalid_argument("no evaluation samples");
  if (model.outputs.size() != reference.outputs.size()) {
    return invalid_argument("the model has " + std::to_string(model.outputs.size()) + " outputs, the reference " +
                            std::to_string(reference.outputs.size()));
  }
  ASSIGN_OR_RETURN(auto sm, make_session(std::make_unique<ir::Graph>(model), env, true));
  ASSIGN_OR_RETURN(auto sr, make_session(std::make_unique<ir::Graph>(reference), env, true));
  std::vector<int64_t> label_values;
  if (labels) label_values = labels->to_int64_vector();
  EvalResult res;
  std::vector<ErrorSums> sums(model.outputs.size());
  int64_t correct = 0, ref_correct = 0;
  for (size_t i = 0; i < data.size(); ++i) {
    auto got = sm->run(data[i]);
    if (!got.ok()) return got.status().with_context("sample " + std::to_string(i) + ", model: ");
    auto want = sr->run(data[i]);
    if (!want.ok()) return want.status().with_context("sample " + std::to_string(i) + ", reference: ");
    for (size_t k = 0; k < sums.size(); ++k) {
      if ((*got)[k].is_tensor() && (*want)[k].is_tensor()) sums[k].add((*got)[k].tensor, (*want)[k].tensor);
    }
    if (!(*got)[0].is_tensor() || !(*want)[0].is_tensor()) continue;
    std::vector<int64_t> a = top1((*got)[0].tensor), b = top1((*want)[0].tensor);
    for (size_t r = 0; r < std::min(a.size(), b.size()); ++r) {
      if (labels) {
        if (res.rows >= static_cast<int64_t>(label_values.size())) {
          return invalid_argument("the labels hold " + std::to_string(label_values.size()) +
                                  " values but the data has more rows");
        }
        correct += a[r] == label_values[res.rows];
        ref_correct += b[r] == label_values[res.rows];
      }
      res.agree += a[r] == b[r];
      ++res.rows;
    }
    if (progress) progress(static_cast<int64_t>(i + 1), static_cast<int64_t>(data.size()));
  }
  if (labels && res.rows != static_cast<int64_t>(label_values.size()) && !partial_data) {
    return invalid_argument("the labels hold " + std::to_string(label_values.size()) + " values but the data has " +
                            std::to_string(res.rows) + " rows");
  }
  res.agreement = res.rows ? static_cast<double>(res.agree) / res.rows : 0;
  if (labels && res.rows) {
    res.accuracy = static_cast<double>(correct) / res.rows;
    res.reference_accuracy = static_cast<double>(ref_correct) / res.rows;
  }
  for (size_t k = 0; k < sums.size(); ++k) {
    res.outputs.push_back({model.outputs[k].name, sums[k].max_abs,
                           sums[k].count ? sums[k].sum_abs / sums[k].count : 0, sums[k].sqnr_db()});
  }
  return res;
}

Result<std::vector<LayerError>> per_layer_sqnr(const ir::Graph& model, const ir::Graph& reference,
                                               const std::vector<CalibrationSample>& data, Env& env) {
  std::map<std::string, const ir::Node*> ref_producer, producer;
  for (const auto& n : reference.nodes) {
    for (const auto& o : n.outputs) ref_producer[o] = &n;
  }
  for (const auto& n : model.nodes) {
    for (const auto& o : n.outputs) producer[o] = &n;
  }
  auto made_by = [&](const std::map<std::string, const ir::Node*>& m, const std::string& x, const char* op) {
    auto it = m.find(x);
    return it != m.end() && it->second->op_type == op;
  };
  static const std::set<std::string> kLayerOps = {"Conv", "Gemm", "MatMul", "LSTM", "GRU", "RNN"};
  auto is_layer = [&](const std::string& op) { return kLayerOps.count(op) > 0; };
  // Where a tensor is consumed by QuantizeLinear -> DequantizeLinear, the next layer reads the DQ copy.
  std::map<std::string, std::string> dequantized_copy;
  for (const auto& n : model.nodes) {
    if (n.op_type != "DequantizeLinear" || n.inputs.empty() || n.outputs.empty()) continue;
    auto q = producer.find(n.inputs[0]);
    if (q != producer.end() && q->second->op_type == "QuantizeLinear" && !q->second->inputs.empty()) {
      dequantized_copy[q->second->inputs[0]] = n.outputs[0];
    }
  }
  std::vector<std::string> names;
  std::vector<LayerError> layers;
  for (const auto& r : reference.nodes) {
    // A layer's output, or that of the Relu/Clip right after it (folded into the layer when quantized).
    bool layer = is_layer(r.op_type);
    if (!layer && (r.op_type == "Relu" || r.op_type == "Clip") && !r.inputs.empty()) {
      auto p = ref_producer.find(r.inputs[0]);
      layer = p != ref_producer.end() && is_layer(p->second->op_type);
    }
    if (!layer || r.outputs.empty() || r.outputs[0].empty()) continue;
    const std::string& y = r.outputs[0];
    auto mp = producer.find(y);
    if (mp == producer.end()) continue;
    const ir::Node& mn = *mp->second;
    bool reads_dq = std::any_of(mn.inputs.begin(), mn.inputs.end(),
                                [&](const std::string& x) { return made_by(producer, x, "DequantizeLinear"); });
    if (mn.op_type == r.op_type && !reads_dq) continue;  // not quantized
    auto dq = dequantized_copy.find(y);
    names.push_back(dq != dequantized_copy.end() ? dq->second : y);
    // Name the layer as --exclude knows it: the quantized op's own name where the float graph has
    // it (a Conv whose Relu was folded), else the float producer's (a dynamic MatMul).
    const ir::Node* named = &r;
    if (r.op_type == "Relu" || r.op_type == "Clip") named = ref_producer.at(r.inputs[0]);
    bool own = std::any_of(reference.nodes.begin(), reference.nodes.end(),
                           [&](const ir::Node& x) { return x.name == mn.name; });
    if (own && is_layer(mn.op_type)) named = &mn;
    layers.push_back({named->name, named->op_type, y, 0});
  }
  if (layers.empty()) return layers;
  std::vector<std::string> ref_names;
  for (const auto& l : layers) ref_names.push_back(l.tensor);
  auto mg = with_extra_outputs(model, names);
  auto rg = with_extra_outputs(reference, ref_names);
  auto index_of = [](const ir::Graph& g, const std::string& name) {
    for (size_t i = 0; i < g.outputs.size(); ++i) {
      if (g.outputs[i].name == name) return i;
    }
    return g.outputs.size();
  };
  std::vector<size_t> mi, ri;
  for (size_t k = 0; k < layers.size(); ++k) {
    mi.push_back(index_of(*mg, names[k]));
    ri.push_back(index_of(*rg, ref_names[k]));
  }
  ASSIGN_OR_RETURN(auto sm, make_session(std::move(mg), env, false));
  ASSIGN_OR_RETURN(auto sr, make_session(std::move(rg), env, false));
  std::vector<ErrorSums> sums(layers.size());
  for (size_t i = 0; i < data.size(); ++i) {
    auto got = sm->run(data[i]);
    if (!got.ok()) return got.status().with_context("sample " + std::to_string(i) + ", model: ");
    auto want = sr->run(data[i]);
    if (!want.ok()) return want.status().with_context("sample " + std::to_string(i) + ", reference: ");
    for (size_t k = 0; k < layers.size(); ++k) {
      const auto& a = (*got)[mi[k]];
      const auto& b = (*want)[ri[k]];
      if (a.is_tensor() && b.is_tensor() && a.tensor.numel() == b.tensor.numel()) sums[k].add(a.tensor, b.tensor);
    }
  }
  for (size_t k = 0; k < layers.size(); ++k) layers[k].sqnr_db = sums[k].sqnr_db();
  return layers;
}

}  // namespace edgeai::compress
