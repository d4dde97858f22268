#include "formats/onnx/onnx_import.h"

#include <onnx/onnx_pb.h>  // defines ONNX_API; must come first

#include <onnx/onnx-data.pb.h>

#include <cstring>
#include <filesystem>
#include <map>
#include <fstream>
#include <sstream>

#include <fcntl.h>
#include <unistd.h>

#include "core/mapped_file.h"

namespace edgeai::formats {

namespace {

namespace fs = std::filesystem;
using ir::ValueKind;

Result<std::string> read_file(const std::string& path) {
  std::error_code ec;
  if (!fs::exists(path, ec)) return not_found("file not found: " + path);
  if (fs::is_directory(path, ec)) return invalid_argument(path + " is a folder, not a file");
  std::ifstream f(path, std::ios::binary);
  if (!f) return io_error("cannot open " + path);
  std::ostringstream ss;
  ss << f.rdbuf();
  if (f.bad()) return io_error("cannot read " + path);
  return ss.str();
}

bool is_safe_relative(const std::string& loc) {
  if (loc.empty() || loc[0] == '/') return false;
  fs::path p(loc);
  for (const auto& part : p) {
    if (part == "..") return false;
  }
  return true;
}

// What one load shares across its tensors when it maps files.
struct MapState {
  // External-data files mapped so far, by path: each is mapped once however many tensors use it.
  std::map<std::string, std::shared_ptr<const MappedFile>> external;
  int64_t in_place_bytes = 0;  // initializer bytes wrapped where they lie in a mapping
  int64_t copied_bytes = 0;    // bytes copied out of a mapping (misaligned for their type)
};

struct Ctx {
  std::string base_dir;   // for external data
  std::string file;       // model path, for messages
  MapState* map = nullptr;  // null: external data is read, every tensor owns a copy
};

// Where a top-level initializer's raw_data lies in the model's own bytes, when those bytes are
// used in place (load_onnx_in_place): the parsed TensorProto then has no raw_data of its own.
struct RawRange {
  int64_t offset = -1;  // -1: this initializer had no raw_data
  int64_t size = 0;
};
struct InPlaceBytes {
  std::shared_ptr<const void> owner;  // keeps `base` alive
  const uint8_t* base = nullptr;
  const MappedFile* file = nullptr;  // the mapping `base` is, for a model file mapped here
  std::vector<RawRange> ranges;  // one per top-level initializer, in file order
};

template <typename Src, typename Dst>
void copy_convert(const Src& src, Dst* dst, int64_t n) {
  for (int64_t i = 0; i < n; ++i) dst[i] = static_cast<Dst>(src.Get(static_cast<int>(i)));
}

// How many values the typed field that holds `dt` carries; -1 for a type without one.
int64_t typed_value_count(const onnx::TensorProto& tp, DType dt) {
  switch (dt) {
    case DType::kF32: return tp.float_data_size();
    case DType::kF64: return tp.double_data_size();
    case DType::kI64: return tp.int64_data_size();
    case DType::kU32:
    case DType::kU64: return tp.uint64_data_size();
    case DType::kI32:
    case DType::kI8:
    case DType::kU8:
    case DType::kBool:
    case DType::kI16:
    case DType::kU16:
    case DType::kF16:
    case DType::kBF16: return tp.int32_data_size();
    case DType::kString: return tp.string_data_size();
    default: return -1;
  }
}

// A tensor of `bytes` (already checked to be exactly its size): wrapped in place where `owner`
// keeps them alive and they are aligned for the element type, else copied.
// `file`: the mapping the bytes lie in, if any; the pages of bytes copied out of it are given back.
Result<Tensor> tensor_from_bytes(DType dt, Shape shape, const uint8_t* bytes, size_t size,
                                 const std::shared_ptr<const void>& owner, MapState* map,
                                 const MappedFile* file = nullptr) {
  if (owner && size > 0 && reinterpret_cast<uintptr_t>(bytes) % dtype_size(dt) == 0) {
    if (map) map->in_place_bytes += static_cast<int64_t>(size);
    return Tensor::wrap(dt, std::move(shape), owner, bytes);
  }
  ASSIGN_OR_RETURN(Tensor t, Tensor::create_uninitialized(dt, std::move(shape)));
  if (size) std::memcpy(t.raw(), bytes, size);
  if (owner && map) map->copied_bytes += static_cast<int64_t>(size);
  if (file && size) file->release(bytes, size);
  return t;
}

Result<Tensor> convert_tensor(const onnx::TensorProto& tp, const Ctx& ctx, std::string_view what,
                              const InPlaceBytes* in_place = nullptr, const RawRange* range = nullptr) {
  std::string name = tp.name().empty() ? std::string(what) : tp.name();
  auto fail = [&](const std::string& m) { return invalid_argument("tensor '" + name + "': " + m); };
  if (tp.has_segment()) return unsupported("tensor '" + name + "': segmented tensors are not supported");
  DType dt = dtype_from_onnx(tp.data_type());
  if (dt == DType::kUndefined) {
    return unsupported("tensor '" + name + "': data type " + std::to_string(tp.data_type()) +
                       " is not supported");
  }
  Shape shape(tp.dims().begin(), tp.dims().end());
  auto numel_r = checked_numel(shape);
  if (!numel_r.ok()) return fail(numel_r.status().message());
  int64_t n = *numel_r;
  size_t esize = dtype_size(dt);

  // The raw bytes, when the tensor has them: from an external file (read, or mapped), from the
  // model's own bytes in place, or from the parsed raw_data. `owner` is set where they may be
  // wrapped instead of copied.
  bool has_raw = false;
  const uint8_t* raw = nullptr;
  size_t raw_size = 0;
  std::shared_ptr<const void> owner;
  const MappedFile* file = nullptr;
  std::string external;  // bytes read from an external file
  if (tp.data_location() == onnx::TensorProto::EXTERNAL) {
    std::string location;
    int64_t offset = 0, length = -1;
    for (const auto& kv : tp.external_data()) {
      try {
        if (kv.key() == "location") location = kv.value();
        else if (kv.key() == "offset") offset = std::stoll(kv.value());
        else if (kv.key() == "length") length = std::stoll(kv.value());
      } catch (...) {
        return fail("bad external_data entry '" + kv.key() + "'");
      }
    }
    if (!is_safe_relative(location)) {
      return fail("external data location '" + location + "' must be a relative path inside the model's folder");
    }
    if (dt == DType::kString) return fail("string tensors cannot use external data");
    fs::path p = fs::path(ctx.base_dir) / location;
    std::shared_ptr<const MappedFile> mapped;
    uintmax_t fsize = 0;
    if (ctx.map) {
      auto& slot = ctx.map->external[p.string()];
      if (!slot) {
        auto mf = MappedFile::open(p.string());
        if (!mf.ok()) {
          if (mf.status().code() == StatusCode::kNotFound) {
            return not_found("tensor '" + name + "': external data file " + p.string() + " not found");
          }
          return mf.status().with_context("tensor '" + name + "': external data: ");
        }
        slot = std::move(mf).value();
      }
      mapped = slot;
      fsize = mapped->size();
    } else {
      std::error_code ec;
      fsize = fs::file_size(p, ec);
      if (ec) return not_found("tensor '" + name + "': external data file " + p.string() + " not found");
    }
    int64_t want = static_cast<int64_t>(n * esize);
    if (length < 0) length = want;
    if (offset < 0 || length != want || offset > (int64_t)fsize || length > (int64_t)fsize - offset) {
      return fail("external data (offset " + std::to_string(offset) + ", length " +
                  std::to_string(length) + ") does not fit " + p.string() + " of " +
                  std::to_string(fsize) + " bytes for shape " + shape_str(shape));
    }
    if (mapped) {
      raw = mapped->data() ? mapped->data() + offset : nullptr;
      owner = mapped;
      file = mapped.get();
    } else {
      std::ifstream f(p, std::ios::binary);
      external.resize(static_cast<size_t>(length));
      f.seekg(offset);
      f.read(external.data(), length);
      if (!f) return io_error("tensor '" + name + "': cannot read " + p.string());
      raw = reinterpret_cast<const uint8_t*>(external.data());
    }
    has_raw = true;
    raw_size = static_cast<size_t>(length);
  } else if (in_place && range && range->offset >= 0) {
    has_raw = true;
    raw = in_place->base + range->offset;
    raw_size = static_cast<size_t>(range->size);
    owner = in_place->owner;
    file = in_place->file;
  } else if (tp.has_raw_data()) {
    has_raw = true;
    raw = reinterpret_cast<const uint8_t*>(tp.raw_data().data());
    raw_size = tp.raw_data().size();
  }

  // Every size is checked against what the file holds before anything is allocated: a shape that
  // claims more elements than the file carries is refused, not allocated.
  if (has_raw) {
    if (dt == DType::kString) return fail("string tensors cannot use raw_data");
    if (raw_size != n * esize) {
      return fail("holds " + std::to_string(raw_size) + " bytes but shape " + shape_str(shape) +
                  " of " + std::string(dtype_name(dt)) + " needs " + std::to_string(n * esize));
    }
    return tensor_from_bytes(dt, std::move(shape), raw, raw_size, owner, ctx.map, file);
  }
  int64_t have = typed_value_count(tp, dt);
  if (have < 0) return fail("unsupported data type");
  if (have != n) {
    return fail("holds " + std::to_string(have) + " values but shape " + shape_str(shape) + " needs " +
                std::to_string(n));
  }
  ASSIGN_OR_RETURN(Tensor t, Tensor::create(dt, shape));
  switch (dt) {
    case DType::kF32:
      copy_convert(tp.float_data(), t.data<float>(), n);
      break;
    case DType::kF64:
      copy_convert(tp.double_data(), t.data<double>(), n);
      break;
    case DType::kI64:
      copy_convert(tp.int64_data(), t.data<int64_t>(), n);
      break;
    case DType::kU32:
      copy_convert(tp.uint64_data(), t.data<uint32_t>(), n);
      break;
    case DType::kU64:
      copy_convert(tp.uint64_data(), t.data<uint64_t>(), n);
      break;
    case DType::kI32:
      copy_convert(tp.int32_data(), t.data<int32_t>(), n);
      break;
    case DType::kI8:
      copy_convert(tp.int32_data(), t.data<int8_t>(), n);
      break;
    case DType::kU8:
    case DType::kBool:
      copy_convert(tp.int32_data(), t.data<uint8_t>(), n);
      break;
    case DType::kI16:
      copy_convert(tp.int32_data(), t.data<int16_t>(), n);
      break;
    case DType::kU16:
    case DType::kF16:
    case DType::kBF16:
      copy_convert(tp.int32_data(), t.data<uint16_t>(), n);
      break;
    case DType::kString:
      for (int64_t i = 0; i < n; ++i) t.data<std::string>()[i] = tp.string_data(static_cast<int>(i));
      break;
    default:  // typed_value_count has refused every other type
      break;
  }
  return t;
}

constexpr int64_t kMaxSparseDenseBytes = int64_t(1) << 30;

Result<Tensor> convert_sparse(const onnx::SparseTensorProto& sp, const Ctx& ctx) {
  ASSIGN_OR_RETURN(Tensor values, convert_tensor(sp.values(), ctx, "sparse values"));
  ASSIGN_OR_RETURN(Tensor indices, convert_tensor(sp.indices(), ctx, "sparse indices"));
  std::string name = sp.values().name();
  Shape shape(sp.dims().begin(), sp.dims().end());
  // The dense form is the one tensor whose size the file does not bound; a sparse initializer that
  // densifies past kMaxSparseDenseBytes is refused rather than allocated.
  auto dense_n = checked_numel(shape);
  if (!dense_n.ok()) return invalid_argument("sparse tensor '" + name + "': " + dense_n.status().message());
  if (values.dtype() != DType::kString &&
      *dense_n > kMaxSparseDenseBytes / static_cast<int64_t>(dtype_size(values.dtype()))) {
    return out_of_range("sparse tensor '" + name + "' of shape " + shape_str(shape) + " densifies to more than " +
                        std::to_string(kMaxSparseDenseBytes >> 20) + " MiB");
  }
  ASSIGN_OR_RETURN(Tensor dense, Tensor::create(values.dtype(), shape));
  int64_t n = dense.numel();
  int64_t nnz = values.numel();
  if (values.dtype() == DType::kString) return unsupported("sparse string tensors are not supported");
  size_t es = dtype_size(values.dtype());
  auto idx = indices.to_int64_vector();
  bool coords = indices.rank() == 2;
  if (coords && (indices.dim(0) != nnz || indices.dim(1) != (int64_t)shape.size())) {
    return invalid_argument("sparse tensor '" + name + "': indices shape " + shape_str(indices.shape()) +
                            " does not match " + std::to_string(nnz) + " values of rank " +
                            std::to_string(shape.size()));
  }
  if (!coords && (int64_t)idx.size() != nnz) {
    return invalid_argument("sparse tensor '" + name + "': index count does not match value count");
  }
  auto strides = shape_strides(shape);
  for (int64_t k = 0; k < nnz; ++k) {
    int64_t flat = 0;
    if (coords) {
      for (size_t d = 0; d < shape.size(); ++d) {
        int64_t c = idx[k * shape.size() + d];
        if (c < 0 || c >= shape[d]) return out_of_range("sparse tensor '" + name + "': index out of range");
        flat += c * strides[d];
      }
    } else {
      flat = idx[k];
    }
    if (flat < 0 || flat >= n) return out_of_range("sparse tensor '" + name + "': index out of range");
    std::memcpy(static_cast<char*>(dense.raw()) + flat * es, static_cast<const char*>(values.raw()) + k * es, es);
  }
  return dense;
}

ValueKind convert_kind(const onnx::TypeProto& tp) {
  if (tp.has_tensor_type()) return ValueKind::kTensor;
  if (tp.has_sequence_type()) return ValueKind::kSequence;
  if (tp.has_optional_type()) return ValueKind::kOptional;
  return ValueKind::kUnknown;
}

ir::ValueType convert_type(const onnx::TypeProto& tp) {
  ir::ValueType t;
  t.kind = convert_kind(tp);
  const onnx::TypeProto* inner = &tp;
  if (tp.has_sequence_type()) {
    inner = &tp.sequence_type().elem_type();
    t.elem_kind = convert_kind(*inner);
  } else if (tp.has_optional_type()) {
    inner = &tp.optional_type().elem_type();
    t.elem_kind = convert_kind(*inner);
    if (inner->has_sequence_type()) inner = &inner->sequence_type().elem_type();
  }
  if (inner->has_tensor_type()) {
    const auto& tt = inner->tensor_type();
    t.dtype = dtype_from_onnx(tt.elem_type());
    if (tt.has_shape()) {
      std::vector<ir::Dim> dims;
      for (const auto& d : tt.shape().dim()) {
        ir::Dim dim;
        if (d.has_dim_value()) dim.value = d.dim_value();
        if (d.has_dim_param()) dim.symbol = d.dim_param();
        dims.push_back(dim);
      }
      t.shape = std::move(dims);
    }
  }
  return t;
}

ir::ValueInfo convert_value_info(const onnx::ValueInfoProto& vi) {
  return ir::ValueInfo{vi.name(), convert_type(vi.type())};
}

Result<std::unique_ptr<ir::Graph>> convert_graph(const onnx::GraphProto& gp, const Ctx& ctx,
                                                 const std::map<std::string, int64_t, std::less<>>& opsets,
                                                 int depth, onnx::GraphProto* owned = nullptr,
                                                 const InPlaceBytes* in_place = nullptr);

Result<ir::Attribute> convert_attribute(const onnx::AttributeProto& ap, const Ctx& ctx,
                                        const std::map<std::string, int64_t, std::less<>>& opsets,
                                        int depth, const std::string& node_desc) {
  ir::Attribute a;
  a.name = ap.name();
  if (!ap.ref_attr_name().empty()) {
    return unsupported(node_desc + ": attribute '" + ap.name() + "' references a function attribute");
  }
  switch (ap.type()) {
    case onnx::AttributeProto::FLOAT: a.type = ir::AttrType::kFloat; a.f = ap.f(); break;
    case onnx::AttributeProto::INT: a.type = ir::AttrType::kInt; a.i = ap.i(); break;
    case onnx::AttributeProto::STRING: a.type = ir::AttrType::kString; a.s = ap.s(); break;
    case onnx::AttributeProto::TENSOR: {
      a.type = ir::AttrType::kTensor;
      auto r = convert_tensor(ap.t(), ctx, "attribute " + ap.name());
      if (!r.ok()) return r.status().with_context(node_desc + ": ");
      a.t = std::move(r).value();
      break;
    }
    case onnx::AttributeProto::SPARSE_TENSOR: {
      a.type = ir::AttrType::kTensor;
      auto r = convert_sparse(ap.sparse_tensor(), ctx);
      if (!r.ok()) return r.status().with_context(node_desc + ": ");
      a.t = std::move(r).value();
      break;
    }
    case onnx::AttributeProto::GRAPH: {
      a.type = ir::AttrType::kGraph;
      ASSIGN_OR_RETURN(auto g, convert_graph(ap.g(), ctx, opsets, depth + 1));
      a.g = std::shared_ptr<ir::Graph>(std::move(g));
      break;
    }
    case onnx::AttributeProto::FLOATS:
      a.type = ir::AttrType::kFloats;
      a.floats.assign(ap.floats().begin(), ap.floats().end());
      break;
    case onnx::AttributeProto::INTS:
      a.type = ir::AttrType::kInts;
      a.ints.assign(ap.ints().begin(), ap.ints().end());
      break;
    case onnx::AttributeProto::STRINGS:
      a.type = ir::AttrType::kStrings;
      a.strings.assign(ap.strings().begin(), ap.strings().end());
      break;
    case onnx::AttributeProto::TENSORS:
      a.type = ir::AttrType::kTensors;
      for (const auto& t : ap.tensors()) {
        ASSIGN_OR_RETURN(Tensor x, convert_tensor(t, ctx, "attribute " + ap.name()));
        a.tensors.push_back(std::move(x));
      }
      break;
    case onnx::AttributeProto::GRAPHS:
      a.type = ir::AttrType::kGraphs;
      for (const auto& g : ap.graphs()) {
        ASSIGN_OR_RETURN(auto sg, convert_graph(g, ctx, opsets, depth + 1));
        a.graphs.push_back(std::shared_ptr<ir::Graph>(std::move(sg)));
      }
      break;
    case onnx::AttributeProto::TYPE_PROTO:
    case onnx::AttributeProto::TYPE_PROTOS:
      a.type = ir::AttrType::kString;  // unused by our kernels
      break;
    default:
      // Older files may leave the type unset; infer it from the field that is filled.
      if (ap.has_f()) { a.type = ir::AttrType::kFloat; a.f = ap.f(); }
      else if (ap.has_i()) { a.type = ir::AttrType::kInt; a.i = ap.i(); }
      else if (ap.has_s()) { a.type = ir::AttrType::kString; a.s = ap.s(); }
      else if (ap.ints_size()) { a.type = ir::AttrType::kInts; a.ints.assign(ap.ints().begin(), ap.ints().end()); }
      else if (ap.floats_size()) { a.type = ir::AttrType::kFloats; a.floats.assign(ap.floats().begin(), ap.floats().end()); }
      else return invalid_argument(node_desc + ": attribute '" + ap.name() + "' has no type");
  }
  return a;
}

// `owned` (the top-level graph of a model parsed here): each initializer's bytes are given back as
// soon as they are copied into their tensor, so the parsed model and the graph do not both hold
// every weight at once. `in_place`: where the top-level initializers' raw_data lies in the model's
// bytes (the parsed graph was stripped of it).
Result<std::unique_ptr<ir::Graph>> convert_graph(const onnx::GraphProto& gp, const Ctx& ctx,
                                                 const std::map<std::string, int64_t, std::less<>>& opsets,
                                                 int depth, onnx::GraphProto* owned, const InPlaceBytes* in_place) {
  if (depth > 64) return invalid_argument("subgraphs are nested more than 64 deep");
  auto g = std::make_unique<ir::Graph>();
  g->name = gp.name();
  g->opsets = opsets;
  for (int i = 0; i < gp.initializer_size(); ++i) {
    const auto& t = gp.initializer(i);
    if (t.name().empty()) return invalid_argument("an initializer has no name");
    const RawRange* range =
        in_place && static_cast<size_t>(i) < in_place->ranges.size() ? &in_place->ranges[static_cast<size_t>(i)] : nullptr;
    ASSIGN_OR_RETURN(Tensor x, convert_tensor(t, ctx, "initializer", in_place, range));
    g->initializers[t.name()] = std::move(x);
    if (owned) {
      onnx::TensorProto* tp = owned->mutable_initializer(i);
      std::string().swap(*tp->mutable_raw_data());
      tp->clear_float_data();
    }
  }
  for (const auto& sp : gp.sparse_initializer()) {
    ASSIGN_OR_RETURN(Tensor x, convert_sparse(sp, ctx));
    g->initializers[sp.values().name()] = std::move(x);
  }
  for (const auto& vi : gp.input()) g->inputs.push_back(convert_value_info(vi));
  for (const auto& vi : gp.output()) g->outputs.push_back(convert_value_info(vi));
  for (const auto& vi : gp.value_info()) g->value_infos.push_back(convert_value_info(vi));
  int index = 0;
  for (const auto& np : gp.node()) {
    ir::Node n;
    n.name = np.name().empty() ? np.op_type() + "_" + std::to_string(index) : np.name();
    n.op_type = np.op_type();
    n.domain = np.domain() == "ai.onnx" ? "" : np.domain();
    n.inputs.assign(np.input().begin(), np.input().end());
    n.outputs.assign(np.output().begin(), np.output().end());
    std::string desc = "node '" + n.name + "' (" + n.op_type + ")";
    if (n.op_type.empty()) return invalid_argument("node " + std::to_string(index) + " has no op_type");
    for (const auto& ap : np.attribute()) {
      ASSIGN_OR_RETURN(ir::Attribute a, convert_attribute(ap, ctx, opsets, depth, desc));
      n.attributes[a.name] = std::move(a);
    }
    g->nodes.push_back(std::move(n));
    ++index;
  }
  return g;
}

}  // namespace

namespace {

constexpr const char* kParseFailed = "not a valid ONNX model (protobuf parse failed: truncated or corrupt file)";

Result<OnnxModel> convert_model(onnx::ModelProto& mp, const std::string& base_dir, MapState* map = nullptr,
                                const InPlaceBytes* in_place = nullptr) {
  if (!mp.has_graph()) return invalid_argument("the ONNX model has no graph");
  std::map<std::string, int64_t, std::less<>> opsets;
  for (const auto& os : mp.opset_import()) {
    std::string d = os.domain() == "ai.onnx" ? "" : os.domain();
    opsets[d] = os.version();
  }
  if (mp.opset_import_size() == 0) opsets[""] = 1;  // IR version 1-2 files had no opset_import
  for (const auto& f : mp.functions()) {
    (void)f;  // model-local functions are inlined by the runtime when it meets them (not yet)
  }
  Ctx ctx{base_dir, "", map};
  ASSIGN_OR_RETURN(auto g, convert_graph(mp.graph(), ctx, opsets, 0, mp.mutable_graph(), in_place));
  OnnxModel m;
  m.graph = std::move(g);
  m.ir_version = mp.ir_version();
  m.producer = mp.producer_name();
  if (map) {
    m.mapped = true;
    m.in_place_bytes = map->in_place_bytes;
    m.copied_from_map_bytes = map->copied_bytes;
  }
  return m;
}

// Protobuf's wire format, just enough to find the top-level initializers' raw_data
// (ModelProto.graph = 7, GraphProto.initializer = 5, TensorProto.raw_data = 9) without parsing.
constexpr uint32_t kModelGraph = 7, kGraphInitializer = 5, kTensorRawData = 9;

bool read_varint(const uint8_t*& p, const uint8_t* end, uint64_t* v) {
  uint64_t r = 0;
  for (int shift = 0; shift < 64 && p < end; shift += 7) {
    const uint8_t b = *p++;
    r |= static_cast<uint64_t>(b & 0x7f) << shift;
    if (!(b & 0x80)) {
      *v = r;
      return true;
    }
  }
  return false;
}

void put_varint(std::string* out, uint64_t v) {
  while (v >= 0x80) {
    out->push_back(static_cast<char>((v & 0x7f) | 0x80));
    v >>= 7;
  }
  out->push_back(static_cast<char>(v));
}

// Copies the message in [p, end) to `out` without the top-level initializers' raw_data, noting in
// `ranges` where each one lies (offsets from `base`). level: 0 ModelProto, 1 GraphProto,
// 2 TensorProto. Nested messages are rewritten with their new lengths; every other field is copied
// byte for byte. False where the bytes are not a wire format this walk follows (groups, a
// truncated field): the caller then parses the bytes as they are, and protobuf says what is wrong.
bool strip_raw_data(const uint8_t* base, const uint8_t* p, const uint8_t* end, int level, std::string* out,
                    std::vector<RawRange>* ranges) {
  while (p < end) {
    const uint8_t* field_start = p;
    uint64_t tag = 0;
    if (!read_varint(p, end, &tag) || (tag >> 3) == 0 || (tag >> 3) > UINT32_MAX) return false;
    const uint32_t field = static_cast<uint32_t>(tag >> 3);
    switch (tag & 7) {
      case 0: {  // varint
        uint64_t v = 0;
        if (!read_varint(p, end, &v)) return false;
        break;
      }
      case 1:  // fixed64
        if (end - p < 8) return false;
        p += 8;
        break;
      case 5:  // fixed32
        if (end - p < 4) return false;
        p += 4;
        break;
      case 2: {  // length-delimited
        uint64_t len = 0;
        if (!read_varint(p, end, &len) || len > static_cast<uint64_t>(end - p)) return false;
        const uint8_t* body = p;
        p += len;
        if (level == 2 && field == kTensorRawData) {
          ranges->back() = RawRange{body - base, static_cast<int64_t>(len)};  // the last one wins, as in protobuf
          continue;
        }
        const bool descend = (level == 0 && field == kModelGraph) || (level == 1 && field == kGraphInitializer);
        if (descend) {
          if (level == 1) ranges->emplace_back();
          std::string inner;
          if (!strip_raw_data(base, body, body + len, level + 1, &inner, ranges)) return false;
          put_varint(out, tag);
          put_varint(out, inner.size());
          out->append(inner);
          continue;
        }
        break;
      }
      default:  // groups (3, 4) and invalid types
        return false;
    }
    out->append(reinterpret_cast<const char*>(field_start), static_cast<size_t>(p - field_start));
  }
  return true;
}

Result<OnnxModel> load_in_place(std::shared_ptr<const void> owner, const uint8_t* data, size_t size,
                                const std::string& base_dir, MapState* map, const MappedFile* file = nullptr) {
  if (size > static_cast<size_t>(INT32_MAX)) return unsupported("model files over 2 GiB must use external data");
  InPlaceBytes in_place;
  std::string stripped;
  const bool walked = strip_raw_data(data, data, data + size, 0, &stripped, &in_place.ranges);
  onnx::ModelProto mp;
  if (walked) {
    if (!mp.ParseFromString(stripped)) return invalid_argument(kParseFailed);
    std::string().swap(stripped);
    // Protobuf appends the initializers of every graph field in file order, as the walk does.
    const int initializers = mp.has_graph() ? mp.graph().initializer_size() : 0;
    if (initializers != static_cast<int>(in_place.ranges.size())) {
      return invalid_argument(kParseFailed);
    }
    // Without an owner the caller keeps `data` alive: an owner that holds nothing still marks the
    // bytes as usable in place.
    in_place.owner = owner ? std::move(owner) : std::shared_ptr<const void>(std::shared_ptr<const void>(), data);
    in_place.base = data;
    in_place.file = file;
    return convert_model(mp, base_dir, map, &in_place);
  }
  if (!mp.ParseFromArray(data, static_cast<int>(size))) return invalid_argument(kParseFailed);
  return convert_model(mp, base_dir, map);
}

}  // namespace

Result<OnnxModel> load_onnx_from_memory(const void* data, size_t size, const std::string& base_dir) {
  onnx::ModelProto mp;
  if (size > static_cast<size_t>(INT32_MAX)) return unsupported("model files over 2 GiB must use external data");
  if (!mp.ParseFromArray(data, static_cast<int>(size))) return invalid_argument(kParseFailed);
  return convert_model(mp, base_dir);
}

Result<OnnxModel> load_onnx_in_place(std::shared_ptr<const void> owner, const void* data, size_t size,
                                     const std::string& base_dir) {
  MapState map;
  return load_in_place(std::move(owner), static_cast<const uint8_t*>(data), size, base_dir, &map);
}

namespace {

Result<OnnxModel> load_onnx_mapped(const std::string& path, const std::string& dir) {
  ASSIGN_OR_RETURN(std::shared_ptr<const MappedFile> file, MappedFile::open(path));
  MapState map;
  const uint8_t* data = file->data();
  const size_t size = file->size();
  static const uint8_t kEmpty = 0;
  const MappedFile* mapping = file.get();
  return load_in_place(std::move(file), data ? data : &kEmpty, size, dir, &map, mapping);
}

}  // namespace

// Parsed from the file descriptor in chunks, not from a copy of the whole file: with the parsed
// model and the graph's tensors, that copy was a third set of every weight at load (resnet18:
// 134 MB peak for 47 MB of weights).
Result<OnnxModel> load_onnx(const std::string& path, const OnnxLoadOptions& options) {
  std::error_code ec;
  if (!fs::exists(path, ec)) return not_found("file not found: " + path);
  if (fs::is_directory(path, ec)) return invalid_argument(path + " is a folder, not a file");
  const auto size = fs::file_size(path, ec);
  if (ec) return io_error("cannot read " + path);
  if (size > static_cast<uintmax_t>(INT32_MAX)) {
    return unsupported(path + ": model files over 2 GiB must use external data");
  }
  std::string dir = fs::path(path).parent_path().string();
  if (dir.empty()) dir = ".";
  Result<OnnxModel> r = [&]() -> Result<OnnxModel> {
    if (options.map) return load_onnx_mapped(path, dir);
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return io_error("cannot open " + path);
    onnx::ModelProto mp;
    const bool parsed = mp.ParseFromFileDescriptor(fd);
    ::close(fd);
    if (!parsed) return invalid_argument(kParseFailed);
    return convert_model(mp, dir);
  }();
  if (!r.ok()) return r.status().with_context(path + ": ");
  r->path = path;
  return r;
}

Result<Tensor> load_tensor_proto(const std::string& path) {
  ASSIGN_OR_RETURN(std::string bytes, read_file(path));
  onnx::TensorProto tp;
  if (!tp.ParseFromString(bytes)) return invalid_argument(path + ": not a valid TensorProto");
  Ctx ctx{fs::path(path).parent_path().string(), path};
  auto r = convert_tensor(tp, ctx, fs::path(path).filename().string());
  if (!r.ok()) return r.status().with_context(path + ": ");
  return r;
}

namespace {
Result<PbValue> convert_sequence(const onnx::SequenceProto& sp, const Ctx& ctx) {
  PbValue v;
  v.kind = PbValue::Kind::kSequence;
  v.elem_type = dtype_from_onnx(sp.elem_type() == onnx::SequenceProto::TENSOR ? 0 : 0);
  for (const auto& t : sp.tensor_values()) {
    ASSIGN_OR_RETURN(Tensor x, convert_tensor(t, ctx, "sequence element"));
    v.sequence.push_back(std::move(x));
  }
  if (sp.sequence_values_size() || sp.map_values_size()) {
    return unsupported("sequences of sequences or maps are not supported");
  }
  return v;
}
}  // namespace

Result<PbValue> load_pb_value(const std::string& path, const ir::ValueType& type) {
  ASSIGN_OR_RETURN(std::string bytes, read_file(path));
  Ctx ctx{fs::path(path).parent_path().string(), path};
  PbValue v;
  if (type.kind == ValueKind::kSequence) {
    onnx::SequenceProto sp;
    if (!sp.ParseFromString(bytes)) return invalid_argument(path + ": not a valid SequenceProto");
    auto r = convert_sequence(sp, ctx);
    if (r.ok()) r->elem_type = type.dtype;
    return r;
  }
  if (type.kind == ValueKind::kOptional) {
    onnx::OptionalProto op;
    if (!op.ParseFromString(bytes)) return invalid_argument(path + ": not a valid OptionalProto");
    if (op.has_tensor_value()) {
      ASSIGN_OR_RETURN(v.tensor, convert_tensor(op.tensor_value(), ctx, "optional"));
      v.kind = PbValue::Kind::kTensor;
      return v;
    }
    if (op.has_sequence_value()) {
      auto r = convert_sequence(op.sequence_value(), ctx);
      if (r.ok()) r->elem_type = type.dtype;
      return r;
    }
    v.kind = PbValue::Kind::kNone;
    v.elem_type = type.dtype;
    return v;
  }
  onnx::TensorProto tp;
  if (!tp.ParseFromString(bytes)) return invalid_argument(path + ": not a valid TensorProto");
  auto r = convert_tensor(tp, ctx, fs::path(path).filename().string());
  if (!r.ok()) return r.status().with_context(path + ": ");
  v.tensor = std::move(r).value();
  return v;
}

}  // namespace edgeai::formats
