// ONNX model files to ir::Graph, through Debian's libonnx protobuf classes.
#pragma once

#include <memory>
#include <string>

#include "core/tensor.h"
#include "edgeai/status.h"
#include "ir/graph.h"

namespace edgeai::formats {

struct OnnxModel {
  std::unique_ptr<ir::Graph> graph;
  int64_t ir_version = 0;
  std::string producer;
  std::string path;
  // Loaded with OnnxLoadOptions::map: initializer bytes used where they lie in the mapped files
  // (no copy), and bytes copied out of them because they were not aligned for their element type.
  bool mapped = false;
  int64_t in_place_bytes = 0;
  int64_t copied_from_map_bytes = 0;
};

struct OnnxLoadOptions {
  // Map the model file and its external-data files instead of reading them. An initializer whose
  // bytes are aligned for its element type in the file is then a read-only view of the mapping:
  // no copy at load, pages read on first use, shared with every process that maps the same file
  // and reclaimable by the kernel. Others are copied out of the mapping. External-data files
  // written with aligned offsets (as ONNX Runtime's and onnx's savers can) map every weight.
  // The files must not change while the model is in use.
  bool map = false;
};

// Reads and converts a model. External-data tensors are read relative to the model's folder,
// with every offset and length checked against the file.
Result<OnnxModel> load_onnx(const std::string& path, const OnnxLoadOptions& options = {});
Result<OnnxModel> load_onnx_from_memory(const void* data, size_t size, const std::string& base_dir);
// As load_onnx with map, on bytes already in memory: initializers aligned in `data` wrap it, and
// `owner` (which may be null if `data` outlives the model) is held by every such tensor.
Result<OnnxModel> load_onnx_in_place(std::shared_ptr<const void> owner, const void* data, size_t size,
                                     const std::string& base_dir);

// A serialized TensorProto file (.pb), as used by the ONNX test data sets.
Result<Tensor> load_tensor_proto(const std::string& path);
// Also sequences / optionals (onnx.SequenceProto / OptionalProto .pb); returns the tensors.
struct PbValue {
  enum class Kind { kTensor, kSequence, kNone } kind = Kind::kTensor;
  Tensor tensor;
  std::vector<Tensor> sequence;
  DType elem_type = DType::kUndefined;
};
// Reads a .pb file whose type is known from the graph's declared input/output type.
Result<PbValue> load_pb_value(const std::string& path, const ir::ValueType& type);

}  // namespace edgeai::formats
