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
};

// Reads and converts a model. External-data tensors are read relative to the model's folder,
// with every offset and length checked against the file.
Result<OnnxModel> load_onnx(const std::string& path);
Result<OnnxModel> load_onnx_from_memory(const void* data, size_t size, const std::string& base_dir);

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
