// GGUF files (versions 2 and 3): the format small language models ship in (llama.cpp, Ollama).
// GgufFile maps the file read-only and validates every offset and size before handing out views;
// tensor data stays in the mapping (zero copy). GgufWriter writes what edgeai produces.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "core/ggml_type.h"
#include "edgeai/status.h"

namespace edgeai::formats {

// A metadata value. Arrays hold values of one type (nested arrays are allowed by the format).
struct GgufValue;
using GgufArray = std::vector<GgufValue>;
struct GgufValue {
  enum class Type : uint32_t {
    kU8 = 0, kI8 = 1, kU16 = 2, kI16 = 3, kU32 = 4, kI32 = 5, kF32 = 6, kBool = 7, kString = 8,
    kArray = 9, kU64 = 10, kI64 = 11, kF64 = 12,
  };
  Type type = Type::kU32;
  std::variant<uint64_t, int64_t, double, bool, std::string, std::shared_ptr<GgufArray>> v;
  Type array_type = Type::kU32;  // element type when type == kArray

  // Conversions that fail (return false) when the stored type does not fit.
  bool as_int(int64_t* out) const;     // any integer type (and bool)
  bool as_float(double* out) const;    // any numeric type
  const std::string* as_string() const;
  const GgufArray* as_array() const;

  // Builders (used by the writer and tests). Range is checked when the writer writes.
  static GgufValue make_uint(Type t, uint64_t x);   // kU8, kU16, kU32, kU64
  static GgufValue make_int(Type t, int64_t x);     // kI8, kI16, kI32, kI64
  static GgufValue make_float(Type t, double x);    // kF32, kF64
  static GgufValue make_bool(bool x);
  static GgufValue make_string(std::string x);
  static GgufValue make_array(Type element_type, GgufArray items);
};

// "u32", "string", "array", ...; "type <n>" for numbers outside the format.
std::string gguf_type_name(GgufValue::Type t);

struct GgufTensorInfo {
  std::string name;
  std::vector<int64_t> dims;  // GGUF order: dims[0] is the fastest-varying (row length)
  uint32_t type = 0;          // GgmlType number
  uint64_t offset = 0;        // relative to the data section
  int64_t n_elements = 0;
  int64_t n_bytes = 0;
  const uint8_t* data = nullptr;  // into the mapping, validated to lie inside the file
};

// How GgufFile::open holds the file's bytes.
//   kMap: mapped read-only (zero copy; pages are read from the page cache as they are touched);
//   kRead: read into anonymous memory (huge pages advised). Weights that are streamed once per
//     generated token read faster from there: on this project's reference machine, 1.3x the
//     F16 generation speed of the mapping (see BENCHMARKS.md);
//   kAuto: kRead when the file is at most half of the memory available now and at most
//     auto_read_limit (when > 0), else kMap.
enum class GgufLoad { kMap, kRead, kAuto };

class GgufFile {
 public:
  // Maps (or reads, see GgufLoad) and parses; every count, length, offset and size is checked
  // against the file size and sane limits. Errors name the file and what is wrong.
  static Result<std::unique_ptr<GgufFile>> open(const std::string& path, GgufLoad load = GgufLoad::kMap,
                                                 int64_t auto_read_limit = 0);
  // Parses bytes already in memory (the caller keeps them alive); used by the fuzz target.
  static Result<std::unique_ptr<GgufFile>> parse(const uint8_t* data, size_t size, std::string what);
  ~GgufFile();
  GgufFile(const GgufFile&) = delete;
  GgufFile& operator=(const GgufFile&) = delete;

  uint32_t version() const { return version_; }
  uint64_t alignment() const { return alignment_; }
  const std::string& path() const { return path_; }
  const std::map<std::string, GgufValue, std::less<>>& metadata() const { return metadata_; }
  const GgufValue* find(std::string_view key) const;
  // Typed lookups with defaults (the default is returned when absent or of another type).
  int64_t get_int(std::string_view key, int64_t def) const;
  double get_float(std::string_view key, double def) const;
  std::string get_string(std::string_view key, std::string_view def = "") const;
  // String or numeric arrays, e.g. tokenizer.ggml.tokens / scores / token_type / merges.
  std::vector<std::string> get_string_array(std::string_view key) const;
  std::vector<double> get_float_array(std::string_view key) const;
  std::vector<int64_t> get_int_array(std::string_view key) const;

  const std::vector<GgufTensorInfo>& tensors() const { return tensors_; }
  const GgufTensorInfo* tensor(std::string_view name) const;
  size_t file_size() const { return size_; }
  // Whether open() read the bytes into memory (GgufLoad::kRead, or kAuto that chose it).
  bool in_memory() const { return in_memory_; }
  // Where tensor data begins (tensor offsets are relative to it).
  uint64_t data_offset() const { return data_offset_; }

 private:
  GgufFile() = default;
  std::string path_;
  uint32_t version_ = 0;
  uint64_t alignment_ = 32;
  uint64_t data_offset_ = 0;
  std::map<std::string, GgufValue, std::less<>> metadata_;
  std::vector<GgufTensorInfo> tensors_;
  std::map<std::string, size_t, std::less<>> tensor_index_;
  const uint8_t* base_ = nullptr;
  size_t size_ = 0;
  void* mapping_ = nullptr;  // munmap'ed in the destructor when set (a file mapping or anonymous memory)
  bool in_memory_ = false;
};

// Writes a GGUF v3 file: metadata in insertion order, then tensor infos, then aligned data.
class GgufWriter {
 public:
  void set(std::string key, GgufValue value);
  void set_u32(std::string key, uint32_t v);
  void set_i32(std::string key, int32_t v);
  void set_f32(std::string key, float v);
  void set_bool(std::string key, bool v);
  void set_string(std::string key, std::string v);
  void set_string_array(std::string key, std::vector<std::string> v);
  void set_f32_array(std::string key, std::vector<float> v);
  void set_i32_array(std::string key, std::vector<int32_t> v);
  // Data alignment (a power of two, 1..65536); other than 32 it is written as general.alignment.
  Status set_alignment(uint32_t alignment);
  // dims in GGUF order (dims[0] fastest). `data` must hold ggml_row_bytes(type, dims[0]) * rows.
  // Tensors are written in the order added. Names are unique, 1..64 bytes; 1 to 4 dims, each > 0.
  Status add_tensor(std::string name, std::vector<int64_t> dims, uint32_t type, std::vector<uint8_t> data);
  // The same without a copy: `data` must stay alive and unchanged until write() returns
  // (e.g. tensors of a mapped GgufFile being re-written).
  Status add_tensor_view(std::string name, std::vector<int64_t> dims, uint32_t type,
                         std::span<const uint8_t> data);
  // Checks every value (types, ranges), then writes `path` through a temporary file renamed into
  // place, so a failed write leaves no partial file.
  Status write(const std::string& path) const;
  size_t tensor_count() const { return tensors_.size(); }

 private:
  Status check_tensor(const std::string& name, const std::vector<int64_t>& dims, uint32_t type,
                      size_t n_bytes) const;
  std::vector<std::pair<std::string, GgufValue>> metadata_;
  struct PendingTensor {
    std::string name;
    std::vector<int64_t> dims;
    uint32_t type;
    std::vector<uint8_t> data;       // owned bytes, or
    std::span<const uint8_t> view;   // the caller's (when `owned` is false)
    bool owned = true;
    std::span<const uint8_t> bytes() const { return owned ? std::span<const uint8_t>(data) : view; }
  };
  std::vector<PendingTensor> tensors_;
  uint64_t alignment_ = 32;
};

}  // namespace edgeai::formats
