// Tensors in JSON for POST /v1/infer/{model}: {"name", "dtype", "shape", "data"} with data a flat
// (or nested) array in C order. dtype: float32, float64, int8, uint8, int16, int32, int64, bool
// (numpy names; f32, f64, i8, u8, i16, i32, i64 are accepted too).
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "core/tensor.h"
#include "edgeai/status.h"

namespace edgeai::serve {

// At most this many elements in one JSON tensor.
constexpr int64_t kMaxJsonTensorElements = int64_t{1} << 24;

Result<Tensor> tensor_from_json(const nlohmann::json& j, std::string* name);
// Error for dtypes JSON cannot carry (strings, f16 are converted to float32).
Result<nlohmann::json> tensor_to_json(const std::string& name, const Tensor& t);
// "float32", "int64", ... (numpy's names).
std::string numpy_dtype_name(DType t);

}  // namespace edgeai::serve
