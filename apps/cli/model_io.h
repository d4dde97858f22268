// Helpers the CLI commands share: load a model into a session, read input files.
#pragma once

#include <memory>
#include <string>

#include "core/env.h"
#include "edgeai/status.h"
#include "formats/onnx/onnx_import.h"
#include "runtime/session.h"

namespace edgeai::cli {

// Reads a tensor from .npy or ONNX TensorProto .pb (by extension).
Result<Tensor> load_tensor_file(const std::string& path);
// How a model's weights were loaded, for bench and info.
struct WeightsLoad {
  bool mapped = false;
  int64_t in_place_bytes = 0;  // views of a mapped file
  int64_t copied_bytes = 0;    // in the process's own memory
  std::string describe() const;
};
WeightsLoad weights_load(const formats::OnnxModel& model);

// Turns an output name into a file name ('/' and ':' become '_').
std::string file_safe(const std::string& name);

}  // namespace edgeai::cli
