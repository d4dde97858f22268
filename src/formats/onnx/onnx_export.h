// ir::Graph to ONNX model files, through Debian's libonnx protobuf classes: opset imports,
// initializers (raw little-endian data), nodes with every attribute kind (subgraphs included),
// graph inputs, outputs and value_info with their types and shapes. The inverse of onnx_import.
#pragma once

#include <string>

#include "edgeai/status.h"
#include "ir/graph.h"

namespace edgeai::formats {

struct OnnxExportOptions {
  // 0: the lowest IR version that the graph's default-domain opset needs (7 up to opset 12,
  // 8 for 13-17, 9 for 19+); otherwise written as given.
  int64_t ir_version = 0;
  std::string producer_name = "edgeai";
  std::string producer_version;
  // Run onnx::checker::check_model on the result (libonnx 1.12 knows opsets up to 17: a graph
  // with a newer default opset is written unchecked).
  bool check = false;
  // save_onnx only: write every initializer of at least external_data_min_bytes to this file (a
  // name in the model's folder) instead of into the model, each at an offset that is a multiple
  // of external_data_alignment, so that a mapped load (OnnxLoadOptions::map, `--mmap`) uses every
  // one in place. Empty: all data in the model file.
  std::string external_data;
  int64_t external_data_min_bytes = 1024;
  int64_t external_data_alignment = 4096;  // a page: also what mapping one tensor alone needs
};

// The serialized ModelProto (external_data is not written: every initializer is in it).
Result<std::string> export_onnx_bytes(const ir::Graph& graph, const OnnxExportOptions& options = {});
// Writes the model to `path`, and its external data beside it when asked (errors name the file).
Status save_onnx(const ir::Graph& graph, const std::string& path, const OnnxExportOptions& options = {});
// onnx::checker::check_model on serialized model bytes; the checker's message on failure.
Status check_onnx_bytes(const std::string& bytes);

}  // namespace edgeai::formats
