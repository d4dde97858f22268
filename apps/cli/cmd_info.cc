// edgeai info MODEL [--json]: inputs, outputs, op histogram, parameters, opset.
#include <cstdio>
#include <nlohmann/json.hpp>

#include "commands.h"
#include "model_io.h"

namespace edgeai::cli {

namespace {

std::string dims_str(const ir::ValueType& t) {
  if (!t.shape) return "?";
  std::string s = "[";
  for (size_t i = 0; i < t.shape->size(); ++i) {
    const ir::Dim& d = (*t.shape)[i];
    if (i) s += ",";
    s += d.known() ? std::to_string(d.value) : (d.symbol.empty() ? "?" : d.symbol);
  }
  return s + "]";
}

nlohmann::json value_json(const ir::ValueInfo& v) {
  nlohmann::json j;
  j["name"] = v.name;
  j["dtype"] = std::string(dtype_name(v.type.dtype));
  const char* kind = v.type.kind == ir::ValueKind::kTensor     ? "tensor"
                     : v.type.kind == ir::ValueKind::kSequence ? "sequence"
                     : v.type.kind == ir::ValueKind::kOptional ? "optional"
                                                               : "unknown";
  j["kind"] = kind;
  if (v.type.shape) {
    nlohmann::json dims = nlohmann::json::array();
    for (const auto& d : *v.type.shape) {
      if (d.known()) dims.push_back(d.value);
      else dims.push_back(d.symbol.empty() ? "?" : d.symbol);
    }
    j["shape"] = dims;
  } else {
    j["shape"] = nullptr;
  }
  return j;
}

}  // namespace

Command add_info(CLI::App& app) {
  struct Opts {
    std::string model;
    bool json = false;
  };
  auto o = std::make_shared<Opts>();
  auto* sub = app.add_subcommand("info", "Describe a model: inputs, outputs, ops, parameters, opset");
  sub->add_option("model", o->model, "Model file (.onnx or .gguf)")->required();
  sub->add_flag("--json", o->json, "Print one JSON object");
  return [o]() -> int {
    if (o->model.size() > 5 && o->model.compare(o->model.size() - 5, 5, ".gguf") == 0) {
      return info_gguf(o->model, o->json);
    }
    auto m = formats::load_onnx(o->model);
    if (!m.ok()) return fail(m.status().message());
    const ir::Graph& g = *m->graph;
    nlohmann::json j;
    j["model"] = o->model;
    j["format"] = "onnx";
    j["ir_version"] = m->ir_version;
    j["producer"] = m->producer;
    nlohmann::json opsets = nlohmann::json::object();
    for (const auto& [d, v] : g.opsets) opsets[d.empty() ? "ai.onnx" : d] = v;
    j["opsets"] = opsets;
    j["inputs"] = nlohmann::json::array();
    for (const auto* in : g.feed_inputs()) j["inputs"].push_back(value_json(*in));
    j["outputs"] = nlohmann::json::array();
    for (const auto& out : g.outputs) j["outputs"].push_back(value_json(out));
    auto hist = g.op_histogram();
    int nodes = 0;
    for (const auto& [k, v] : hist) nodes += v;
    j["nodes"] = nodes;
    j["ops"] = hist;
    j["parameters"] = g.parameter_count();
    j["parameter_bytes"] = g.parameter_bytes();
    if (o->json) {
      std::printf("%s\n", j.dump(2).c_str());
      return 0;
    }
    std::printf("model:      %s\n", o->model.c_str());
    std::printf("format:     ONNX (IR version %lld, producer '%s')\n", (long long)m->ir_version, m->producer.c_str());
    std::string ops;
    for (const auto& [d, v] : g.opsets) ops += (ops.empty() ? "" : ", ") + (d.empty() ? std::string("ai.onnx") : d) + " " + std::to_string(v);
    std::printf("opsets:     %s\n", ops.c_str());
    std::printf("parameters: %lld (%.2f MB)\n", (long long)g.parameter_count(), g.parameter_bytes() / 1e6);
    std::printf("inputs:\n");
    for (const auto* in : g.feed_inputs()) std::printf("  %-24s %-6s %s\n", in->name.c_str(), std::string(dtype_name(in->type.dtype)).c_str(), dims_str(in->type).c_str());
    std::printf("outputs:\n");
    for (const auto& out : g.outputs) std::printf("  %-24s %-6s %s\n", out.name.c_str(), std::string(dtype_name(out.type.dtype)).c_str(), dims_str(out.type).c_str());
    std::printf("ops (%d nodes):\n", nodes);
    for (const auto& [k, v] : hist) std::printf("  %-24s %d\n", k.c_str(), v);
    return 0;
  };
}

}  // namespace edgeai::cli
