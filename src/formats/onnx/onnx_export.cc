#include "formats/onnx/onnx_export.h"

#include <onnx/onnx_pb.h>  // defines ONNX_API; must come first

#include <onnx/checker.h>

#include <algorithm>
#include <cstring>
#include <exception>
#include <filesystem>
#include <fstream>

namespace edgeai::formats {

namespace {

using ir::ValueKind;

// The external-data file being built: initializers' bytes at aligned offsets.
struct ExternalData {
  std::string location;
  int64_t min_bytes = 0;
  int64_t alignment = 1;
  std::string bytes;
};

Status convert_tensor(const Tensor& t, const std::string& name, onnx::TensorProto* tp,
                      ExternalData* external = nullptr) {
  int onnx_type = dtype_to_onnx(t.dtype());
  if (onnx_type == 0) return unsupported("tensor '" + name + "': its data type cannot be written to ONNX");
  tp->set_name(name);
  tp->set_data_type(onnx_type);
  for (int64_t d : t.shape()) tp->add_dims(d);
  if (t.dtype() == DType::kString) {
    const std::string* s = t.data<std::string>();
    for (int64_t i = 0; i < t.numel(); ++i) tp->add_string_data(s[i]);
    return ok_status();
  }
  // Numeric data as raw little-endian bytes (our storage layout on every target we build for).
  if (external && static_cast<int64_t>(t.nbytes()) >= external->min_bytes && t.nbytes() > 0) {
    const size_t align = static_cast<size_t>(external->alignment);
    const size_t offset = (external->bytes.size() + align - 1) / align * align;
    external->bytes.resize(offset);
    external->bytes.append(static_cast<const char*>(t.raw()), t.nbytes());
    tp->set_data_location(onnx::TensorProto::EXTERNAL);
    auto add = [&](const char* key, const std::string& value) {
      auto* kv = tp->add_external_data();
      kv->set_key(key);
      kv->set_value(value);
    };
    add("location", external->location);
    add("offset", std::to_string(offset));
    add("length", std::to_string(t.nbytes()));
    return ok_status();
  }
  tp->set_raw_data(t.numel() ? std::string(static_cast<const char*>(t.raw()), t.nbytes()) : std::string());
  return ok_status();
}

void set_tensor_type(const ir::ValueType& vt, onnx::TypeProto_Tensor* tt) {
  if (vt.dtype != DType::kUndefined) tt->set_elem_type(dtype_to_onnx(vt.dtype));
  if (!vt.shape) return;
  auto* shape = tt->mutable_shape();
  for (const ir::Dim& d : *vt.shape) {
    auto* dim = shape->add_dim();
    if (d.known()) dim->set_dim_value(d.value);
    else if (!d.symbol.empty()) dim->set_dim_param(d.symbol);
  }
}

void set_elem_type(ValueKind kind, const ir::ValueType& vt, onnx::TypeProto* tp) {
  if (kind == ValueKind::kSequence) {
    set_tensor_type(vt, tp->mutable_sequence_type()->mutable_elem_type()->mutable_tensor_type());
  } else {
    set_tensor_type(vt, tp->mutable_tensor_type());
  }
}

void convert_value_info(const ir::ValueInfo& vi, onnx::ValueInfoProto* vp) {
  vp->set_name(vi.name);
  const ir::ValueType& vt = vi.type;
  switch (vt.kind) {
    case ValueKind::kTensor:
      set_tensor_type(vt, vp->mutable_type()->mutable_tensor_type());
      break;
    case ValueKind::kSequence:
      set_elem_type(ValueKind::kTensor, vt, vp->mutable_type()->mutable_sequence_type()->mutable_elem_type());
      break;
    case ValueKind::kOptional:
      set_elem_type(vt.elem_kind, vt, vp->mutable_type()->mutable_optional_type()->mutable_elem_type());
      break;
    case ValueKind::kUnknown:
      break;  // no type: a value_info with a name only
  }
}

Status convert_graph(const ir::Graph& g, onnx::GraphProto* gp, int depth, ExternalData* external = nullptr);

Status convert_attribute(const ir::Attribute& a, const std::string& node_desc, onnx::AttributeProto* ap,
                         int depth) {
  ap->set_name(a.name);
  auto ctx = [&](const Status& s) { return s.with_context(node_desc + ", attribute '" + a.name + "': "); };
  switch (a.type) {
    case ir::AttrType::kFloat: ap->set_type(onnx::AttributeProto::FLOAT); ap->set_f(a.f); break;
    case ir::AttrType::kInt: ap->set_type(onnx::AttributeProto::INT); ap->set_i(a.i); break;
    case ir::AttrType::kString: ap->set_type(onnx::AttributeProto::STRING); ap->set_s(a.s); break;
    case ir::AttrType::kTensor: {
      ap->set_type(onnx::AttributeProto::TENSOR);
      Status s = convert_tensor(a.t, "", ap->mutable_t());
      if (!s.ok()) return ctx(s);
      break;
    }
    case ir::AttrType::kGraph: {
      ap->set_type(onnx::AttributeProto::GRAPH);
      if (!a.g) return invalid_argument(node_desc + ": graph attribute '" + a.name + "' is empty");
      Status s = convert_graph(*a.g, ap->mutable_g(), depth + 1);
      if (!s.ok()) return ctx(s);
      break;
    }
    case ir::AttrType::kFloats:
      ap->set_type(onnx::AttributeProto::FLOATS);
      for (float f : a.floats) ap->add_floats(f);
      break;
    case ir::AttrType::kInts:
      ap->set_type(onnx::AttributeProto::INTS);
      for (int64_t i : a.ints) ap->add_ints(i);
      break;
    case ir::AttrType::kStrings:
      ap->set_type(onnx::AttributeProto::STRINGS);
      for (const auto& s : a.strings) ap->add_strings(s);
      break;
    case ir::AttrType::kTensors:
      ap->set_type(onnx::AttributeProto::TENSORS);
      for (const Tensor& t : a.tensors) {
        Status s = convert_tensor(t, "", ap->add_tensors());
        if (!s.ok()) return ctx(s);
      }
      break;
    case ir::AttrType::kGraphs:
      ap->set_type(onnx::AttributeProto::GRAPHS);
      for (const auto& sg : a.graphs) {
        if (!sg) return invalid_argument(node_desc + ": graph attribute '" + a.name + "' holds an empty graph");
        Status s = convert_graph(*sg, ap->add_graphs(), depth + 1);
        if (!s.ok()) return ctx(s);
      }
      break;
  }
  return ok_status();
}

// `external`: where the top-level graph's large initializers go (subgraphs keep theirs).
Status convert_graph(const ir::Graph& g, onnx::GraphProto* gp, int depth, ExternalData* external) {
  if (depth > 64) return invalid_argument("subgraphs are nested more than 64 deep");
  gp->set_name(g.name.empty() ? "graph" : g.name);
  for (const auto& [name, t] : g.initializers) {
    RETURN_IF_ERROR(convert_tensor(t, name, gp->add_initializer(), external));
  }
  for (const auto& vi : g.inputs) convert_value_info(vi, gp->add_input());
  for (const auto& vi : g.outputs) convert_value_info(vi, gp->add_output());
  for (const auto& vi : g.value_infos) convert_value_info(vi, gp->add_value_info());
  for (const ir::Node& n : g.nodes) {
    auto* np = gp->add_node();
    np->set_name(n.name);
    np->set_op_type(n.op_type);
    if (!n.domain.empty()) np->set_domain(n.domain);
    for (const auto& i : n.inputs) np->add_input(i);
    for (const auto& o : n.outputs) np->add_output(o);
    std::string desc = "node '" + n.name + "' (" + n.op_type + ")";
    for (const auto& [name, a] : n.attributes) {
      RETURN_IF_ERROR(convert_attribute(a, desc, np->add_attribute(), depth));
    }
  }
  return ok_status();
}

int64_t ir_version_for(int64_t opset) {
  if (opset <= 12) return 7;
  if (opset <= 17) return 8;
  if (opset == 18) return 8;
  return 9;
}

Result<onnx::ModelProto> build_model(const ir::Graph& graph, const OnnxExportOptions& options,
                                     ExternalData* external = nullptr) {
  onnx::ModelProto mp;
  // A model of only other domains' ops may import no default opset; none is invented.
  const bool has_default = graph.opsets.count("") > 0;
  int64_t opset = has_default ? graph.opset("") : 13;
  mp.set_ir_version(options.ir_version > 0 ? options.ir_version : ir_version_for(opset));
  mp.set_producer_name(options.producer_name);
  if (!options.producer_version.empty()) mp.set_producer_version(options.producer_version);
  for (const auto& [domain, version] : graph.opsets) {
    auto* os = mp.add_opset_import();
    os->set_domain(domain);
    os->set_version(version);
  }
  RETURN_IF_ERROR(convert_graph(graph, mp.mutable_graph(), 0, external));
  return mp;
}

Status check_model(const onnx::ModelProto& mp) {
  try {
    onnx::checker::check_model(mp);
  } catch (const std::exception& e) {
    return invalid_argument(std::string("the ONNX checker rejects the model: ") + e.what());
  }
  return ok_status();
}

Result<std::string> serialize_model(const ir::Graph& graph, const OnnxExportOptions& options,
                                    ExternalData* external) {
  ASSIGN_OR_RETURN(onnx::ModelProto mp, build_model(graph, options, external));
  if (options.check && graph.opset("") <= 17) RETURN_IF_ERROR(check_model(mp));
  std::string bytes;
  if (mp.ByteSizeLong() > static_cast<size_t>(INT32_MAX)) {
    return unsupported(external ? "the model is over 2 GiB even with its large initializers in external data"
                                : "the model is over 2 GiB; write its weights as external data");
  }
  if (!mp.SerializeToString(&bytes)) return internal_error("cannot serialize the ONNX model");
  return bytes;
}

Status write_file(const std::string& path, const std::string& bytes) {
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  if (!f) return io_error("cannot create " + path);
  f.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  f.close();
  if (!f) return io_error("cannot write " + path);
  return ok_status();
}

}  // namespace

Result<std::string> export_onnx_bytes(const ir::Graph& graph, const OnnxExportOptions& options) {
  return serialize_model(graph, options, nullptr);
}

Status save_onnx(const ir::Graph& graph, const std::string& path, const OnnxExportOptions& options) {
  if (options.external_data.empty()) {
    auto bytes = serialize_model(graph, options, nullptr);
    if (!bytes.ok()) return bytes.status().with_context(path + ": ");
    return write_file(path, *bytes);
  }
  const std::string& loc = options.external_data;
  if (loc.find('/') != std::string::npos || loc == "." || loc == "..") {
    return invalid_argument("external data '" + loc + "' must be a file name in the model's folder");
  }
  const int64_t align = options.external_data_alignment;
  if (align < 1 || align > (int64_t(1) << 20) || (align & (align - 1)) != 0) {
    return invalid_argument("external data alignment must be a power of two up to 1 MiB, got " + std::to_string(align));
  }
  ExternalData external{loc, std::max<int64_t>(options.external_data_min_bytes, 0), align, {}};
  auto bytes = serialize_model(graph, options, &external);
  if (!bytes.ok()) return bytes.status().with_context(path + ": ");
  const std::filesystem::path data_path = std::filesystem::path(path).parent_path() / loc;
  if (std::filesystem::weakly_canonical(data_path) == std::filesystem::weakly_canonical(path)) {
    return invalid_argument(path + ": the external data file cannot be the model file itself");
  }
  RETURN_IF_ERROR(write_file(data_path.string(), external.bytes));
  return write_file(path, *bytes);
}

Status check_onnx_bytes(const std::string& bytes) {
  onnx::ModelProto mp;
  if (!mp.ParseFromString(bytes)) return invalid_argument("not a valid ONNX model (protobuf parse failed)");
  return check_model(mp);
}

}  // namespace edgeai::formats
