// NumPy .npy files (format versions 1-3, little-endian, C order).
#pragma once

#include <string>

#include "core/tensor.h"
#include "edgeai/status.h"

namespace edgeai::formats {

Result<Tensor> load_npy(const std::string& path);
Result<Tensor> parse_npy(const void* data, size_t size, const std::string& what);
Status save_npy(const std::string& path, const Tensor& t);
std::string npy_bytes(const Tensor& t);  // the whole file's bytes (empty for unsupported dtypes)

}  // namespace edgeai::formats
