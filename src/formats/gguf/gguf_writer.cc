// GGUF v3 writer: header, metadata in insertion order, tensor infos, then each tensor's data padded
// to the alignment (the layout ggml's gguf_write_to_file produces).
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <limits>

#include "formats/gguf/gguf.h"

namespace edgeai::formats {

namespace {

using Type = GgufValue::Type;

constexpr uint64_t kMaxTensorName = 64;
constexpr int kMaxDepth = 8;

template <typename T>
void put(std::string* out, T x) {
  char b[sizeof(T)];
  std::memcpy(b, &x, sizeof(T));
  out->append(b, sizeof(T));
}

void put_string(std::string* out, std::string_view s) {
  put<uint64_t>(out, s.size());
  out->append(s.data(), s.size());
}

Status bad_value(const std::string& thing, const std::string& why) {
  return invalid_argument("GGUF writer: metadata '" + thing + "': " + why);
}

template <typename T>
Status put_unsigned(std::string* out, const GgufValue& v, const std::string& thing) {
  uint64_t u = 0;
  if (const auto* p = std::get_if<uint64_t>(&v.v)) {
    u = *p;
  } else if (const auto* i = std::get_if<int64_t>(&v.v); i && *i >= 0) {
    u = static_cast<uint64_t>(*i);
  } else {
    return bad_value(thing, gguf_type_name(v.type) + " value is not a non-negative integer");
  }
  if (u > std::numeric_limits<T>::max()) {
    return bad_value(thing, std::to_string(u) + " does not fit in " + gguf_type_name(v.type));
  }
  put<T>(out, static_cast<T>(u));
  return ok_status();
}

template <typename T>
Status put_signed(std::string* out, const GgufValue& v, const std::string& thing) {
  int64_t s = 0;
  if (const auto* i = std::get_if<int64_t>(&v.v)) {
    s = *i;
  } else if (const auto* p = std::get_if<uint64_t>(&v.v);
             p && *p <= static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
    s = static_cast<int64_t>(*p);
  } else {
    return bad_value(thing, gguf_type_name(v.type) + " value is not an integer in range");
  }
  if (s < std::numeric_limits<T>::min() || s > std::numeric_limits<T>::max()) {
    return bad_value(thing, std::to_string(s) + " does not fit in " + gguf_type_name(v.type));
  }
  put<T>(out, static_cast<T>(s));
  return ok_status();
}

// Encodes the value's payload (without its type tag).
Status put_value(std::string* out, const GgufValue& v, int depth, const std::string& thing) {
  switch (v.type) {
    case Type::kU8: return put_unsigned<uint8_t>(out, v, thing);
    case Type::kU16: return put_unsigned<uint16_t>(out, v, thing);
    case Type::kU32: return put_unsigned<uint32_t>(out, v, thing);
    case Type::kU64: return put_unsigned<uint64_t>(out, v, thing);
    case Type::kI8: return put_signed<int8_t>(out, v, thing);
    case Type::kI16: return put_signed<int16_t>(out, v, thing);
    case Type::kI32: return put_signed<int32_t>(out, v, thing);
    case Type::kI64: return put_signed<int64_t>(out, v, thing);
    case Type::kF32:
    case Type::kF64: {
      double d = 0;
      if (std::holds_alternative<bool>(v.v) || !v.as_float(&d)) return bad_value(thing, "float value is not a number");
      if (v.type == Type::kF32) put<float>(out, static_cast<float>(d));
      else put<double>(out, d);
      return ok_status();
    }
    case Type::kBool: {
      const bool* b = std::get_if<bool>(&v.v);
      if (!b) return bad_value(thing, "bool value does not hold a bool");
      put<uint8_t>(out, *b ? 1 : 0);
      return ok_status();
    }
    case Type::kString: {
      const std::string* s = v.as_string();
      if (!s) return bad_value(thing, "string value does not hold a string");
      put_string(out, *s);
      return ok_status();
    }
    case Type::kArray: {
      const GgufArray* a = v.as_array();
      if (!a) return bad_value(thing, "array value does not hold an array");
      if (depth >= kMaxDepth) return bad_value(thing, "arrays nested deeper than " + std::to_string(kMaxDepth) + " levels");
      if (static_cast<uint32_t>(v.array_type) > static_cast<uint32_t>(Type::kF64)) {
        return bad_value(thing, "unknown array element type " + std::to_string(static_cast<uint32_t>(v.array_type)));
      }
      put<uint32_t>(out, static_cast<uint32_t>(v.array_type));
      put<uint64_t>(out, a->size());
      for (size_t i = 0; i < a->size(); ++i) {
        const GgufValue& e = (*a)[i];
        if (e.type != v.array_type) {
          return bad_value(thing, "element " + std::to_string(i) + " is " + gguf_type_name(e.type) +
                                      " in an array of " + gguf_type_name(v.array_type));
        }
        RETURN_IF_ERROR(put_value(out, e, depth + 1, thing));
      }
      return ok_status();
    }
  }
  return bad_value(thing, "unknown value type " + std::to_string(static_cast<uint32_t>(v.type)));
}

}  // namespace

void GgufWriter::set(std::string key, GgufValue value) {
  for (auto& [k, v] : metadata_) {
    if (k == key) {
      v = std::move(value);
      return;
    }
  }
  metadata_.emplace_back(std::move(key), std::move(value));
}

void GgufWriter::set_u32(std::string key, uint32_t v) { set(std::move(key), GgufValue::make_uint(Type::kU32, v)); }
void GgufWriter::set_i32(std::string key, int32_t v) { set(std::move(key), GgufValue::make_int(Type::kI32, v)); }
void GgufWriter::set_f32(std::string key, float v) { set(std::move(key), GgufValue::make_float(Type::kF32, v)); }
void GgufWriter::set_bool(std::string key, bool v) { set(std::move(key), GgufValue::make_bool(v)); }
void GgufWriter::set_string(std::string key, std::string v) { set(std::move(key), GgufValue::make_string(std::move(v))); }

void GgufWriter::set_string_array(std::string key, std::vector<std::string> v) {
  GgufArray a;
  a.reserve(v.size());
  for (auto& s : v) a.push_back(GgufValue::make_string(std::move(s)));
  set(std::move(key), GgufValue::make_array(Type::kString, std::move(a)));
}

void GgufWriter::set_f32_array(std::string key, std::vector<float> v) {
  GgufArray a;
  a.reserve(v.size());
  for (float x : v) a.push_back(GgufValue::make_float(Type::kF32, x));
  set(std::move(key), GgufValue::make_array(Type::kF32, std::move(a)));
}

void GgufWriter::set_i32_array(std::string key, std::vector<int32_t> v) {
  GgufArray a;
  a.reserve(v.size());
  for (int32_t x : v) a.push_back(GgufValue::make_int(Type::kI32, x));
  set(std::move(key), GgufValue::make_array(Type::kI32, std::move(a)));
}

Status GgufWriter::set_alignment(uint32_t alignment) {
  if (alignment == 0 || alignment > 65536 || (alignment & (alignment - 1)) != 0) {
    return invalid_argument("GGUF writer: alignment " + std::to_string(alignment) + " is not a power of two in 1..65536");
  }
  alignment_ = alignment;
  set_u32("general.alignment", alignment);
  return ok_status();
}

Status GgufWriter::check_tensor(const std::string& name, const std::vector<int64_t>& dims, uint32_t type,
                                size_t n_bytes) const {
  std::string thing = "GGUF writer: tensor '" + name + "': ";
  if (name.empty() || name.size() > kMaxTensorName) {
    return invalid_argument(thing + "name must be 1 to " + std::to_string(kMaxTensorName) + " bytes");
  }
  for (const auto& t : tensors_) {
    if (t.name == name) return invalid_argument(thing + "added twice");
  }
  if (dims.empty() || dims.size() > 4) {
    return invalid_argument(thing + std::to_string(dims.size()) + " dimensions (1 to 4 allowed)");
  }
  const GgmlTypeInfo* ti = ggml_type_info(type);
  if (!ti) return invalid_argument(thing + "unknown tensor type " + std::to_string(type));
  int64_t rows = 1;
  for (size_t i = 0; i < dims.size(); ++i) {
    if (dims[i] <= 0) return invalid_argument(thing + "dimension " + std::to_string(i) + " is " + std::to_string(dims[i]));
    if (i > 0) {
      if (dims[i] > (int64_t{1} << 56) / rows) return invalid_argument(thing + "too many elements");
      rows *= dims[i];
    }
  }
  int64_t row = ggml_row_bytes(type, dims[0]);
  if (row < 0) {
    return invalid_argument(thing + "row length " + std::to_string(dims[0]) + " is not a multiple of the " +
                            ti->name + " block size " + std::to_string(ti->block_size));
  }
  if (row > 0 && rows > std::numeric_limits<int64_t>::max() / row) return invalid_argument(thing + "too many bytes");
  if (static_cast<uint64_t>(row * rows) != n_bytes) {
    return invalid_argument(thing + "data holds " + std::to_string(n_bytes) + " bytes, " + ti->name +
                            " with these dims needs " + std::to_string(row * rows));
  }
  return ok_status();
}

Status GgufWriter::add_tensor(std::string name, std::vector<int64_t> dims, uint32_t type, std::vector<uint8_t> data) {
  RETURN_IF_ERROR(check_tensor(name, dims, type, data.size()));
  PendingTensor t;
  t.name = std::move(name);
  t.dims = std::move(dims);
  t.type = type;
  t.data = std::move(data);
  t.owned = true;
  tensors_.push_back(std::move(t));
  return ok_status();
}

Status GgufWriter::add_tensor_view(std::string name, std::vector<int64_t> dims, uint32_t type,
                                   std::span<const uint8_t> data) {
  RETURN_IF_ERROR(check_tensor(name, dims, type, data.size()));
  PendingTensor t;
  t.name = std::move(name);
  t.dims = std::move(dims);
  t.type = type;
  t.view = data;
  t.owned = false;
  tensors_.push_back(std::move(t));
  return ok_status();
}

Status GgufWriter::write(const std::string& path) const {
  const uint64_t al = alignment_;
  auto pad = [al](uint64_t n) { return (al - n % al) % al; };

  std::string head;
  head.append("GGUF", 4);
  put<uint32_t>(&head, 3);
  put<uint64_t>(&head, tensors_.size());
  put<uint64_t>(&head, metadata_.size());
  for (const auto& [key, value] : metadata_) {
    if (key.empty() || key.size() > 65535) return invalid_argument("GGUF writer: metadata key must be 1 to 65535 bytes");
    if (key == "general.alignment") {
      int64_t a = 0;
      if (!value.as_int(&a) || static_cast<uint64_t>(a) != al) {
        return invalid_argument("GGUF writer: general.alignment disagrees with set_alignment(); use set_alignment()");
      }
    }
    put_string(&head, key);
    put<uint32_t>(&head, static_cast<uint32_t>(value.type));
    RETURN_IF_ERROR(put_value(&head, value, 0, key));
  }
  uint64_t offset = 0;
  for (const auto& t : tensors_) {
    put_string(&head, t.name);
    put<uint32_t>(&head, static_cast<uint32_t>(t.dims.size()));
    for (int64_t d : t.dims) put<uint64_t>(&head, static_cast<uint64_t>(d));
    put<uint32_t>(&head, t.type);
    put<uint64_t>(&head, offset);
    uint64_t n = t.bytes().size();
    offset += n + pad(n);
  }
  head.append(pad(head.size()), '\0');

  std::string tmp = path + ".tmp";
  FILE* f = std::fopen(tmp.c_str(), "wb");
  if (!f) return io_error(path + ": cannot create " + tmp + ": " + std::strerror(errno));
  static const char kZeros[65536] = {};
  bool ok = std::fwrite(head.data(), 1, head.size(), f) == head.size();
  for (size_t i = 0; ok && i < tensors_.size(); ++i) {
    std::span<const uint8_t> b = tensors_[i].bytes();
    ok = std::fwrite(b.data(), 1, b.size(), f) == b.size();
    uint64_t p = pad(b.size());
    if (ok && p) ok = std::fwrite(kZeros, 1, p, f) == p;
  }
  int e = errno;
  if (std::fclose(f) != 0 && ok) {
    ok = false;
    e = errno;
  }
  if (!ok) {
    std::remove(tmp.c_str());
    return io_error(path + ": write failed: " + std::strerror(e));
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    e = errno;
    std::remove(tmp.c_str());
    return io_error(path + ": cannot rename " + tmp + " into place: " + std::strerror(e));
  }
  return ok_status();
}

}  // namespace edgeai::formats
