#include "serve/tensor_json.h"

#include <cmath>
#include <limits>

namespace edgeai::serve {

using nlohmann::json;

namespace {

bool parse_dtype(const std::string& s, DType* out) {
  static const std::pair<const char*, DType> names[] = {
      {"float32", DType::kF32}, {"float", DType::kF32}, {"f32", DType::kF32},  {"float64", DType::kF64},
      {"double", DType::kF64},  {"f64", DType::kF64},   {"int8", DType::kI8},  {"i8", DType::kI8},
      {"uint8", DType::kU8},    {"u8", DType::kU8},     {"int16", DType::kI16}, {"i16", DType::kI16},
      {"int32", DType::kI32},   {"i32", DType::kI32},   {"int64", DType::kI64}, {"i64", DType::kI64},
      {"bool", DType::kBool}};
  for (const auto& [n, t] : names) {
    if (s == n) {
      *out = t;
      return true;
    }
  }
  return false;
}

// Appends the leaves of a nested array; false when one is not a number/boolean or too many.
bool flatten(const json& j, std::vector<const json*>* out, int depth) {
  if (depth > 32) return false;
  if (j.is_array()) {
    for (const json& x : j)
      if (!flatten(x, out, depth + 1)) return false;
    return true;
  }
  if (!j.is_number() && !j.is_boolean()) return false;
  if ((int64_t)out->size() >= kMaxJsonTensorElements) return false;
  out->push_back(&j);
  return true;
}

template <typename T>
bool fill_int(Tensor& t, const std::vector<const json*>& v) {
  T* d = t.data<T>();
  for (size_t i = 0; i < v.size(); ++i) {
    const json& x = *v[i];
    int64_t iv;
    if (x.is_boolean()) iv = x.get<bool>() ? 1 : 0;
    else if (x.is_number_unsigned()) {
      uint64_t u = x.get<uint64_t>();
      if (u > (uint64_t)std::numeric_limits<int64_t>::max()) return false;
      iv = (int64_t)u;
    } else if (x.is_number_integer()) iv = x.get<int64_t>();
    else return false;
    if (iv < (int64_t)std::numeric_limits<T>::min() || iv > (int64_t)std::numeric_limits<T>::max()) return false;
    d[i] = (T)iv;
  }
  return true;
}

}  // namespace

std::string numpy_dtype_name(DType t) {
  switch (t) {
    case DType::kF32: return "float32";
    case DType::kF64: return "float64";
    case DType::kF16: return "float16";
    case DType::kI8: return "int8";
    case DType::kU8: return "uint8";
    case DType::kI16: return "int16";
    case DType::kU16: return "uint16";
    case DType::kI32: return "int32";
    case DType::kU32: return "uint32";
    case DType::kI64: return "int64";
    case DType::kU64: return "uint64";
    case DType::kBool: return "bool";
    default: return std::string(dtype_name(t));
  }
}

Result<Tensor> tensor_from_json(const json& j, std::string* name) {
  if (!j.is_object()) return invalid_argument("a tensor must be an object with name, dtype, shape and data");
  if (!j.contains("name") || !j["name"].is_string()) return invalid_argument("a tensor needs a 'name' (string)");
  *name = j["name"].get<std::string>();
  const std::string what = "tensor '" + *name + "'";
  DType dt = DType::kF32;
  if (j.contains("dtype")) {
    if (!j["dtype"].is_string() || !parse_dtype(j["dtype"].get<std::string>(), &dt)) {
      return invalid_argument(what + ": unsupported dtype " + j["dtype"].dump() +
                              " (float32, float64, int8, uint8, int16, int32, int64, bool)");
    }
  }
  if (!j.contains("data")) return invalid_argument(what + ": 'data' is missing");
  std::vector<const json*> leaves;
  if (!flatten(j["data"], &leaves, 0)) {
    return invalid_argument(what + ": 'data' must be an array of numbers (at most " +
                            std::to_string(kMaxJsonTensorElements) + ")");
  }
  Shape shape;
  if (j.contains("shape")) {
    const json& s = j["shape"];
    if (!s.is_array() || s.size() > 8) return invalid_argument(what + ": 'shape' must be an array of at most 8 sizes");
    int64_t numel = 1;
    for (const json& d : s) {
      if (!d.is_number_integer() || d.get<int64_t>() < 0 || d.get<int64_t>() > kMaxJsonTensorElements) {
        return invalid_argument(what + ": shape sizes must be integers in [0, " + std::to_string(kMaxJsonTensorElements) + "]");
      }
      shape.push_back(d.get<int64_t>());
      numel *= shape.back();
      if (numel > kMaxJsonTensorElements) return invalid_argument(what + ": too many elements");
    }
    if (numel != (int64_t)leaves.size()) {
      return invalid_argument(what + ": shape " + s.dump() + " has " + std::to_string(numel) + " elements but data has " +
                              std::to_string(leaves.size()));
    }
  } else {
    shape.push_back((int64_t)leaves.size());
  }
  auto t = Tensor::create(dt, shape);
  if (!t.ok()) return t.status();
  bool ok = true;
  switch (dt) {
    case DType::kF32:
    case DType::kF64:
      for (size_t i = 0; i < leaves.size() && ok; ++i) {
        const json& x = *leaves[i];
        double v = x.is_boolean() ? (x.get<bool>() ? 1.0 : 0.0) : x.get<double>();
        if (dt == DType::kF32 && !(std::fabs(v) <= (double)std::numeric_limits<float>::max())) {
          ok = false;
          break;
        }
        if (dt == DType::kF32) t->data<float>()[i] = (float)v;
        else t->data<double>()[i] = v;
      }
      break;
    case DType::kI8: ok = fill_int<int8_t>(*t, leaves); break;
    case DType::kU8: ok = fill_int<uint8_t>(*t, leaves); break;
    case DType::kI16: ok = fill_int<int16_t>(*t, leaves); break;
    case DType::kI32: ok = fill_int<int32_t>(*t, leaves); break;
    case DType::kI64: ok = fill_int<int64_t>(*t, leaves); break;
    case DType::kBool: {
      bool* d = t->data<bool>();
      for (size_t i = 0; i < leaves.size(); ++i) {
        const json& x = *leaves[i];
        d[i] = x.is_boolean() ? x.get<bool>() : x.get<double>() != 0.0;
      }
      break;
    }
    default: ok = false;
  }
  if (!ok) return invalid_argument(what + ": a value does not fit dtype " + numpy_dtype_name(dt));
  return t;
}

Result<json> tensor_to_json(const std::string& name, const Tensor& t) {
  json data = json::array();
  DType dt = t.dtype();
  if (!dtype_is_float(dt) && !dtype_is_integer(dt) && dt != DType::kBool) {
    return unsupported("output '" + name + "' has dtype " + std::string(dtype_name(dt)) + ", which JSON cannot carry");
  }
  for (int64_t i = 0; i < t.numel(); ++i) {
    double v = t.get_double(i);
    if (dt == DType::kBool) data.push_back(v != 0.0);
    else if (dtype_is_integer(dt)) data.push_back((int64_t)v);
    else if (std::isfinite(v)) data.push_back(v);
    else data.push_back(nullptr);  // JSON has no NaN or infinity
  }
  std::string out_dtype = dt == DType::kF16 || dt == DType::kBF16 ? "float32" : numpy_dtype_name(dt);
  return json{{"name", name}, {"dtype", out_dtype}, {"shape", t.shape()}, {"data", std::move(data)}};
}

}  // namespace edgeai::serve
