// GGUF reader. Layout (little-endian, ggml docs/gguf.md):
//   "GGUF" u32 version, u64 n_tensors, u64 n_kv,
//   n_kv x (string key, u32 value type, value),
//   n_tensors x (string name, u32 n_dims, u64 dims[n_dims], u32 ggml type, u64 offset),
//   padding to general.alignment (default 32), tensor data (offsets relative to its start).
// A string is u64 length + bytes; an array is u32 element type + u64 count + elements.
// Every count and length is checked against the bytes left before anything is allocated.
#include "formats/gguf/gguf.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <bit>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <limits>

namespace edgeai::formats {

static_assert(std::endian::native == std::endian::little, "GGUF is read in place: little-endian hosts only");

namespace {

using Type = GgufValue::Type;

constexpr uint32_t kMagic = 0x46554747;            // "GGUF" read as a little-endian u32
constexpr uint64_t kMaxKeyBytes = 65535;           // the specification's limit
constexpr uint64_t kMaxStringBytes = 1ull << 30;   // a value string (chat template, HF json)
constexpr uint64_t kMaxArrayCount = 1ull << 26;    // elements of one array
constexpr int kMaxArrayDepth = 8;                  // nested arrays
constexpr uint64_t kMaxKv = 1ull << 20;
constexpr uint64_t kMaxTensors = 1ull << 20;
constexpr uint64_t kMaxTensorName = 64;            // GGML_MAX_NAME
constexpr uint32_t kMaxDims = 4;                   // GGML_MAX_DIMS
constexpr uint64_t kMaxAlignment = 1ull << 16;
constexpr int64_t kMaxElements = int64_t{1} << 56;

bool valid_type(uint32_t t) { return t <= static_cast<uint32_t>(Type::kF64); }

// Bytes one element of type `t` takes at least in the file (for bounding counts).
uint64_t min_bytes(Type t) {
  switch (t) {
    case Type::kU8: case Type::kI8: case Type::kBool: return 1;
    case Type::kU16: case Type::kI16: return 2;
    case Type::kU32: case Type::kI32: case Type::kF32: return 4;
    case Type::kU64: case Type::kI64: case Type::kF64: case Type::kString: return 8;
    case Type::kArray: return 12;
  }
  return 1;
}

// Bounds-checked little-endian reading from the mapped bytes.
class Cursor {
 public:
  Cursor(const uint8_t* data, size_t size, const std::string& what) : d_(data), n_(size), what_(what) {}
  size_t pos() const { return pos_; }
  size_t left() const { return n_ - pos_; }

  template <typename T>
  Status read(T* out, std::string_view thing) {
    if (left() < sizeof(T)) return truncated(thing, sizeof(T));
    std::memcpy(out, d_ + pos_, sizeof(T));
    pos_ += sizeof(T);
    return ok_status();
  }

  Status read_string(std::string* out, uint64_t max, std::string_view thing) {
    uint64_t len = 0;
    RETURN_IF_ERROR(read(&len, std::string(thing) + " length"));
    if (len > left()) {
      return invalid_argument(what_ + ": " + std::string(thing) + " claims " + std::to_string(len) +
                              " bytes at offset " + std::to_string(pos_) + " but only " +
                              std::to_string(left()) + " are left in the file");
    }
    if (len > max) {
      return invalid_argument(what_ + ": " + std::string(thing) + " is " + std::to_string(len) +
                              " bytes long (at most " + std::to_string(max) + " allowed)");
    }
    out->assign(reinterpret_cast<const char*>(d_ + pos_), len);
    pos_ += len;
    return ok_status();
  }

  Status truncated(std::string_view thing, uint64_t need) const {
    return invalid_argument(what_ + ": truncated file: " + std::string(thing) + " at offset " +
                            std::to_string(pos_) + " needs " + std::to_string(need) + " bytes, " +
                            std::to_string(left()) + " left");
  }

 private:
  const uint8_t* d_;
  size_t n_;
  size_t pos_ = 0;
  const std::string& what_;
};

Status read_value(Cursor& c, Type t, int depth, const std::string& what, const std::string& thing,
                  GgufValue* out) {
  out->type = t;
  switch (t) {
    case Type::kU8: { uint8_t x = 0; RETURN_IF_ERROR(c.read(&x, thing)); out->v = uint64_t{x}; return ok_status(); }
    case Type::kU16: { uint16_t x = 0; RETURN_IF_ERROR(c.read(&x, thing)); out->v = uint64_t{x}; return ok_status(); }
    case Type::kU32: { uint32_t x = 0; RETURN_IF_ERROR(c.read(&x, thing)); out->v = uint64_t{x}; return ok_status(); }
    case Type::kU64: { uint64_t x = 0; RETURN_IF_ERROR(c.read(&x, thing)); out->v = x; return ok_status(); }
    case Type::kI8: { int8_t x = 0; RETURN_IF_ERROR(c.read(&x, thing)); out->v = int64_t{x}; return ok_status(); }
    case Type::kI16: { int16_t x = 0; RETURN_IF_ERROR(c.read(&x, thing)); out->v = int64_t{x}; return ok_status(); }
    case Type::kI32: { int32_t x = 0; RETURN_IF_ERROR(c.read(&x, thing)); out->v = int64_t{x}; return ok_status(); }
    case Type::kI64: { int64_t x = 0; RETURN_IF_ERROR(c.read(&x, thing)); out->v = x; return ok_status(); }
    case Type::kF32: { float x = 0; RETURN_IF_ERROR(c.read(&x, thing)); out->v = double{x}; return ok_status(); }
    case Type::kF64: { double x = 0; RETURN_IF_ERROR(c.read(&x, thing)); out->v = x; return ok_status(); }
    case Type::kBool: {
      uint8_t x = 0;
      RETURN_IF_ERROR(c.read(&x, thing));
      if (x > 1) {
        return invalid_argument(what + ": " + thing + ": bool value " + std::to_string(x) + " (must be 0 or 1)");
      }
      out->v = x == 1;
      return ok_status();
    }
    case Type::kString: {
      std::string s;
      RETURN_IF_ERROR(c.read_string(&s, kMaxStringBytes, thing));
      out->v = std::move(s);
      return ok_status();
    }
    case Type::kArray: {
      if (depth >= kMaxArrayDepth) {
        return invalid_argument(what + ": " + thing + ": arrays nested deeper than " +
                                std::to_string(kMaxArrayDepth) + " levels");
      }
      uint32_t et = 0;
      uint64_t n = 0;
      RETURN_IF_ERROR(c.read(&et, thing + " element type"));
      if (!valid_type(et)) {
        return invalid_argument(what + ": " + thing + ": unknown array element type " + std::to_string(et));
      }
      RETURN_IF_ERROR(c.read(&n, thing + " element count"));
      Type etype = static_cast<Type>(et);
      if (n > kMaxArrayCount) {
        return invalid_argument(what + ": " + thing + ": array of " + std::to_string(n) +
                                " elements (at most " + std::to_string(kMaxArrayCount) + " allowed)");
      }
      if (n > c.left() / min_bytes(etype)) {
        return invalid_argument(what + ": " + thing + ": array of " + std::to_string(n) + " " +
                                gguf_type_name(etype) + " elements does not fit in the " +
                                std::to_string(c.left()) + " bytes left in the file");
      }
      auto arr = std::make_shared<GgufArray>();
      arr->resize(n);
      for (uint64_t i = 0; i < n; ++i) {
        Status st = read_value(c, etype, depth + 1, what, thing, &(*arr)[i]);
        if (!st.ok()) return Status(st.code(), st.message() + " (array element " + std::to_string(i) + ")");
      }
      out->array_type = etype;
      out->v = std::move(arr);
      return ok_status();
    }
  }
  return invalid_argument(what + ": " + thing + ": unknown value type " + std::to_string(static_cast<uint32_t>(t)));
}

template <typename T>
std::string str(T x) { return std::to_string(x); }

}  // namespace

std::string gguf_type_name(GgufValue::Type t) {
  static const char* const kNames[] = {"u8", "i8", "u16", "i16", "u32", "i32", "f32",
                                       "bool", "string", "array", "u64", "i64", "f64"};
  uint32_t i = static_cast<uint32_t>(t);
  if (i < sizeof(kNames) / sizeof(kNames[0])) return kNames[i];
  return "type " + std::to_string(i);
}

// ---- GgufValue ----

bool GgufValue::as_int(int64_t* out) const {
  if (const auto* u = std::get_if<uint64_t>(&v)) {
    if (*u > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) return false;
    *out = static_cast<int64_t>(*u);
    return true;
  }
  if (const auto* i = std::get_if<int64_t>(&v)) { *out = *i; return true; }
  if (const auto* b = std::get_if<bool>(&v)) { *out = *b ? 1 : 0; return true; }
  return false;
}

bool GgufValue::as_float(double* out) const {
  if (const auto* u = std::get_if<uint64_t>(&v)) { *out = static_cast<double>(*u); return true; }
  if (const auto* i = std::get_if<int64_t>(&v)) { *out = static_cast<double>(*i); return true; }
  if (const auto* d = std::get_if<double>(&v)) { *out = *d; return true; }
  return false;
}

const std::string* GgufValue::as_string() const { return std::get_if<std::string>(&v); }

const GgufArray* GgufValue::as_array() const {
  const auto* p = std::get_if<std::shared_ptr<GgufArray>>(&v);
  return p && *p ? p->get() : nullptr;
}

GgufValue GgufValue::make_uint(Type t, uint64_t x) { GgufValue g; g.type = t; g.v = x; return g; }
GgufValue GgufValue::make_int(Type t, int64_t x) { GgufValue g; g.type = t; g.v = x; return g; }
GgufValue GgufValue::make_float(Type t, double x) { GgufValue g; g.type = t; g.v = x; return g; }
GgufValue GgufValue::make_bool(bool x) { GgufValue g; g.type = Type::kBool; g.v = x; return g; }
GgufValue GgufValue::make_string(std::string x) { GgufValue g; g.type = Type::kString; g.v = std::move(x); return g; }
GgufValue GgufValue::make_array(Type element_type, GgufArray items) {
  GgufValue g;
  g.type = Type::kArray;
  g.array_type = element_type;
  g.v = std::make_shared<GgufArray>(std::move(items));
  return g;
}

// ---- GgufFile ----

GgufFile::~GgufFile() {
  if (mapping_) munmap(mapping_, size_);
}

namespace {

// MemAvailable from /proc/meminfo in bytes, 0 when unknown.
int64_t available_memory() {
  std::FILE* f = std::fopen("/proc/meminfo", "r");
  if (!f) return 0;
  char line[256];
  long long kb = 0;
  while (std::fgets(line, sizeof(line), f)) {
    if (std::sscanf(line, "MemAvailable: %lld kB", &kb) == 1) break;
  }
  std::fclose(f);
  return kb > 0 ? static_cast<int64_t>(kb) * 1024 : 0;
}

// The whole file in anonymous memory (huge pages advised), read-only once read; MAP_FAILED and
// errno on failure.
void* read_into_memory(int fd, size_t size) {
  void* m = mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (m == MAP_FAILED) return m;
  madvise(m, size, MADV_HUGEPAGE);  // advice only: without transparent huge pages it does nothing
  size_t got = 0;
  while (got < size) {
    ssize_t r = pread(fd, static_cast<char*>(m) + got, size - got, static_cast<off_t>(got));
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) {
      int e = r == 0 ? EIO : errno;  // the file shrank under us, or a read error
      munmap(m, size);
      errno = e;
      return MAP_FAILED;
    }
    got += static_cast<size_t>(r);
  }
  mprotect(m, size, PROT_READ);
  return m;
}

}  // namespace

Result<std::unique_ptr<GgufFile>> GgufFile::open(const std::string& path, GgufLoad load, int64_t auto_read_limit) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    int e = errno;
    if (e == ENOENT) return not_found(path + ": no such file");
    return io_error(path + ": cannot open: " + std::strerror(e));
  }
  struct stat st {};
  if (fstat(fd, &st) != 0) {
    int e = errno;
    ::close(fd);
    return io_error(path + ": cannot stat: " + std::strerror(e));
  }
  if (!S_ISREG(st.st_mode)) {
    ::close(fd);
    return invalid_argument(path + ": not a regular file");
  }
  size_t size = static_cast<size_t>(st.st_size);
  if (size < 24) {
    uint32_t magic = 0;
    bool bad_magic = size >= 4 && pread(fd, &magic, 4, 0) == 4 && magic != kMagic;
    ::close(fd);
    if (bad_magic) return invalid_argument(path + ": not a GGUF file (bad magic: the file must start with 'GGUF')");
    return invalid_argument(path + ": truncated file: " + std::to_string(size) +
                            " bytes, smaller than a GGUF header (24 bytes)");
  }
  if (load == GgufLoad::kAuto) {
    const int64_t avail = available_memory();
    const bool fits = avail > 0 && static_cast<int64_t>(size) <= avail / 2 &&
                      (auto_read_limit <= 0 || static_cast<int64_t>(size) <= auto_read_limit);
    load = fits ? GgufLoad::kRead : GgufLoad::kMap;
  }
  const bool read = load == GgufLoad::kRead;
  void* m = read ? read_into_memory(fd, size) : mmap(nullptr, size, PROT_READ, MAP_PRIVATE, fd, 0);
  int e = errno;
  ::close(fd);
  if (m == MAP_FAILED) return io_error(path + (read ? ": cannot read into memory: " : ": cannot map: ") + std::strerror(e));
  auto r = parse(static_cast<const uint8_t*>(m), size, path);
  if (!r.ok()) {
    munmap(m, size);
    return r.status();
  }
  (*r)->mapping_ = m;
  (*r)->in_memory_ = read;
  return r;
}

Result<std::unique_ptr<GgufFile>> GgufFile::parse(const uint8_t* data, size_t size, std::string what) {
  std::unique_ptr<GgufFile> f(new GgufFile());
  f->path_ = std::move(what);
  f->base_ = data;
  f->size_ = size;
  const std::string& w = f->path_;
  Cursor c(data, size, w);

  uint32_t magic = 0, version = 0;
  if (size < 4) return invalid_argument(w + ": truncated file: " + str(size) + " bytes, smaller than a GGUF header (24 bytes)");
  RETURN_IF_ERROR(c.read(&magic, "magic"));
  if (magic != kMagic) {
    return invalid_argument(w + ": not a GGUF file (bad magic: the file must start with 'GGUF')");
  }
  RETURN_IF_ERROR(c.read(&version, "version"));
  if (version == 1) {
    return unsupported(w + ": GGUF version 1 is not supported (versions 2 and 3 are); "
                           "re-convert the model with a current llama.cpp");
  }
  if (version != 2 && version != 3) {
    uint32_t swapped = __builtin_bswap32(version);
    return unsupported(w + ": unsupported GGUF version " + str(version) + " (versions 2 and 3 are supported)" +
                       (swapped == 2 || swapped == 3 ? "; this looks like a big-endian GGUF file" : ""));
  }
  f->version_ = version;
  uint64_t n_tensors = 0, n_kv = 0;
  RETURN_IF_ERROR(c.read(&n_tensors, "tensor count"));
  RETURN_IF_ERROR(c.read(&n_kv, "metadata count"));
  if (n_kv > kMaxKv || n_kv > c.left() / 13) {
    return invalid_argument(w + ": metadata count " + str(n_kv) + " is impossible for a file of " + str(size) + " bytes");
  }
  if (n_tensors > kMaxTensors || n_tensors > c.left() / 32) {
    return invalid_argument(w + ": tensor count " + str(n_tensors) + " is impossible for a file of " + str(size) + " bytes");
  }

  // Metadata.
  for (uint64_t i = 0; i < n_kv; ++i) {
    std::string key;
    RETURN_IF_ERROR(c.read_string(&key, kMaxKeyBytes, "metadata key #" + str(i)));
    if (key.empty()) return invalid_argument(w + ": metadata key #" + str(i) + " is empty");
    std::string thing = "metadata '" + key + "'";
    uint32_t t = 0;
    RETURN_IF_ERROR(c.read(&t, thing + " type"));
    if (!valid_type(t)) return invalid_argument(w + ": " + thing + ": unknown value type " + str(t));
    GgufValue value;
    RETURN_IF_ERROR(read_value(c, static_cast<Type>(t), 0, w, thing, &value));
    if (f->metadata_.count(key)) return invalid_argument(w + ": duplicate " + thing);
    f->metadata_.emplace(std::move(key), std::move(value));
  }
  if (const GgufValue* a = f->find("general.alignment")) {
    int64_t al = 0;
    if (!a->as_int(&al)) {
      return invalid_argument(w + ": general.alignment must be an integer, got " + gguf_type_name(a->type));
    }
    if (al <= 0 || static_cast<uint64_t>(al) > kMaxAlignment || (al & (al - 1)) != 0) {
      return invalid_argument(w + ": general.alignment " + str(al) + " is not a power of two in 1.." + str(kMaxAlignment));
    }
    f->alignment_ = static_cast<uint64_t>(al);
  }

  // Tensor infos.
  f->tensors_.reserve(n_tensors);
  for (uint64_t i = 0; i < n_tensors; ++i) {
    GgufTensorInfo t;
    RETURN_IF_ERROR(c.read_string(&t.name, kMaxTensorName, "tensor #" + str(i) + " name"));
    if (t.name.empty()) return invalid_argument(w + ": tensor #" + str(i) + " has an empty name");
    std::string thing = "tensor '" + t.name + "'";
    if (f->tensor_index_.count(t.name)) return invalid_argument(w + ": duplicate " + thing);
    uint32_t n_dims = 0;
    RETURN_IF_ERROR(c.read(&n_dims, thing + " dimension count"));
    if (n_dims == 0 || n_dims > kMaxDims) {
      return invalid_argument(w + ": " + thing + " has " + str(n_dims) + " dimensions (1 to " + str(kMaxDims) + " allowed)");
    }
    int64_t n = 1;
    for (uint32_t d = 0; d < n_dims; ++d) {
      uint64_t dim = 0;
      RETURN_IF_ERROR(c.read(&dim, thing + " dimension " + str(d)));
      if (dim == 0 || dim > static_cast<uint64_t>(kMaxElements)) {
        return invalid_argument(w + ": " + thing + " dimension " + str(d) + " is " + str(dim) +
                                " (must be in 1.." + str(kMaxElements) + ")");
      }
      if (static_cast<int64_t>(dim) > kMaxElements / n) {
        return invalid_argument(w + ": " + thing + ": the element count overflows (dimension " + str(d) + " = " + str(dim) + ")");
      }
      n *= static_cast<int64_t>(dim);
      t.dims.push_back(static_cast<int64_t>(dim));
    }
    t.n_elements = n;
    RETURN_IF_ERROR(c.read(&t.type, thing + " type"));
    const GgmlTypeInfo* ti = ggml_type_info(t.type);
    if (!ti) return invalid_argument(w + ": " + thing + " has unknown tensor type " + str(t.type));
    int64_t row = ggml_row_bytes(t.type, t.dims[0]);
    if (row < 0) {
      return invalid_argument(w + ": " + thing + " (" + ti->name + "): row length " + str(t.dims[0]) +
                              " is not a multiple of the block size " + str(ti->block_size));
    }
    int64_t rows = n / t.dims[0];
    if (rows > std::numeric_limits<int64_t>::max() / std::max<int64_t>(row, 1)) {
      return invalid_argument(w + ": " + thing + ": byte size overflows");
    }
    t.n_bytes = row * rows;
    RETURN_IF_ERROR(c.read(&t.offset, thing + " offset"));
    f->tensor_index_.emplace(t.name, f->tensors_.size());
    f->tensors_.push_back(std::move(t));
  }

  // Data section.
  uint64_t pos = c.pos();
  uint64_t data_offset = (pos + f->alignment_ - 1) / f->alignment_ * f->alignment_;
  f->data_offset_ = data_offset;
  if (n_tensors > 0 && data_offset > size) {
    return invalid_argument(w + ": truncated file: the tensor data section would start at offset " +
                            str(data_offset) + ", past the end of the file (" + str(size) + " bytes)");
  }
  uint64_t data_size = data_offset <= size ? size - data_offset : 0;
  for (GgufTensorInfo& t : f->tensors_) {
    std::string thing = "tensor '" + t.name + "'";
    if (t.offset % f->alignment_ != 0) {
      return invalid_argument(w + ": " + thing + ": data offset " + str(t.offset) +
                              " is not a multiple of the alignment " + str(f->alignment_));
    }
    if (t.offset > data_size || static_cast<uint64_t>(t.n_bytes) > data_size - t.offset) {
      return invalid_argument(w + ": " + thing + ": data [" + str(t.offset) + ", " +
                              str(t.offset + static_cast<uint64_t>(t.n_bytes)) +
                              ") lies past the end of the data section (" + str(data_size) +
                              " bytes; truncated file?)");
    }
    t.data = data + data_offset + t.offset;
  }
  // Tensors must not share bytes: a writer that reuses this file would otherwise corrupt one.
  std::vector<const GgufTensorInfo*> by_offset;
  by_offset.reserve(f->tensors_.size());
  for (const auto& t : f->tensors_) by_offset.push_back(&t);
  std::sort(by_offset.begin(), by_offset.end(),
            [](const GgufTensorInfo* a, const GgufTensorInfo* b) { return a->offset < b->offset; });
  for (size_t i = 1; i < by_offset.size(); ++i) {
    const GgufTensorInfo* a = by_offset[i - 1];
    const GgufTensorInfo* b = by_offset[i];
    if (a->offset + static_cast<uint64_t>(a->n_bytes) > b->offset) {
      return invalid_argument(w + ": tensor '" + a->name + "' data [" + str(a->offset) + ", " +
                              str(a->offset + static_cast<uint64_t>(a->n_bytes)) + ") overlaps tensor '" +
                              b->name + "' at " + str(b->offset));
    }
  }
  return f;
}

const GgufValue* GgufFile::find(std::string_view key) const {
  auto it = metadata_.find(key);
  return it == metadata_.end() ? nullptr : &it->second;
}

int64_t GgufFile::get_int(std::string_view key, int64_t def) const {
  const GgufValue* v = find(key);
  int64_t x = 0;
  return v && v->as_int(&x) ? x : def;
}

double GgufFile::get_float(std::string_view key, double def) const {
  const GgufValue* v = find(key);
  double x = 0;
  return v && v->as_float(&x) ? x : def;
}

std::string GgufFile::get_string(std::string_view key, std::string_view def) const {
  const GgufValue* v = find(key);
  const std::string* s = v ? v->as_string() : nullptr;
  return s ? *s : std::string(def);
}

std::vector<std::string> GgufFile::get_string_array(std::string_view key) const {
  std::vector<std::string> out;
  const GgufValue* v = find(key);
  const GgufArray* a = v ? v->as_array() : nullptr;
  if (!a || v->array_type != Type::kString) return out;
  out.reserve(a->size());
  for (const GgufValue& e : *a) {
    const std::string* s = e.as_string();
    out.push_back(s ? *s : std::string());
  }
  return out;
}

std::vector<double> GgufFile::get_float_array(std::string_view key) const {
  std::vector<double> out;
  const GgufValue* v = find(key);
  const GgufArray* a = v ? v->as_array() : nullptr;
  if (!a || v->array_type == Type::kString || v->array_type == Type::kArray || v->array_type == Type::kBool) return out;
  out.reserve(a->size());
  for (const GgufValue& e : *a) {
    double x = 0;
    e.as_float(&x);
    out.push_back(x);
  }
  return out;
}

std::vector<int64_t> GgufFile::get_int_array(std::string_view key) const {
  std::vector<int64_t> out;
  const GgufValue* v = find(key);
  const GgufArray* a = v ? v->as_array() : nullptr;
  if (!a) return out;
  switch (v->array_type) {
    case Type::kU8: case Type::kI8: case Type::kU16: case Type::kI16: case Type::kU32:
    case Type::kI32: case Type::kU64: case Type::kI64: case Type::kBool: break;
    default: return out;
  }
  out.reserve(a->size());
  for (const GgufValue& e : *a) {
    int64_t x = 0;
    if (!e.as_int(&x)) return {};  // a u64 above INT64_MAX
    out.push_back(x);
  }
  return out;
}

const GgufTensorInfo* GgufFile::tensor(std::string_view name) const {
  auto it = tensor_index_.find(name);
  return it == tensor_index_.end() ? nullptr : &tensors_[it->second];
}

}  // namespace edgeai::formats
