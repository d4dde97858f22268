#include "formats/tensor_io/npy.h"

#include <cstring>
#include <fstream>
#include <sstream>

namespace edgeai::formats {

namespace {

// Finds the value text after 'key': in the header dict.
bool find_field(const std::string& h, const std::string& key, std::string& out) {
  size_t p = h.find("'" + key + "'");
  if (p == std::string::npos) return false;
  p = h.find(':', p);
  if (p == std::string::npos) return false;
  ++p;
  while (p < h.size() && h[p] == ' ') ++p;
  if (p >= h.size()) return false;
  size_t end;
  if (h[p] == '\'') {
    end = h.find('\'', p + 1);
    if (end == std::string::npos) return false;
    out = h.substr(p + 1, end - p - 1);
  } else if (h[p] == '(') {
    end = h.find(')', p);
    if (end == std::string::npos) return false;
    out = h.substr(p + 1, end - p - 1);
  } else {
    end = h.find_first_of(",}", p);
    if (end == std::string::npos) return false;
    out = h.substr(p, end - p);
  }
  return true;
}

}  // namespace

Result<Tensor> parse_npy(const void* data, size_t size, const std::string& what) {
  const auto* b = static_cast<const unsigned char*>(data);
  auto bad = [&](const std::string& m) { return invalid_argument(what + ": not a valid .npy file (" + m + ")"); };
  if (size < 10 || std::memcmp(b, "\x93NUMPY", 6) != 0) return bad("bad magic");
  int major = b[6];
  size_t header_len, header_start;
  if (major == 1) {
    header_len = b[8] | (b[9] << 8);
    header_start = 10;
  } else if (major == 2 || major == 3) {
    if (size < 12) return bad("truncated header");
    header_len = b[8] | (b[9] << 8) | ((size_t)b[10] << 16) | ((size_t)b[11] << 24);
    header_start = 12;
  } else {
    return bad("unknown version " + std::to_string(major));
  }
  if (header_len > size - header_start) return bad("truncated header");
  std::string h(reinterpret_cast<const char*>(b + header_start), header_len);
  std::string descr, fortran, shape_s;
  if (!find_field(h, "descr", descr) || !find_field(h, "fortran_order", fortran) ||
      !find_field(h, "shape", shape_s)) {
    return bad("header lacks descr, fortran_order or shape");
  }
  if (fortran.find("True") != std::string::npos) return unsupported(what + ": Fortran-order .npy files are not supported");
  DType dt = dtype_from_numpy(descr);
  if (dt == DType::kUndefined) return unsupported(what + ": .npy dtype '" + descr + "' is not supported");
  Shape shape;
  std::stringstream ss(shape_s);
  std::string item;
  while (std::getline(ss, item, ',')) {
    size_t a = item.find_first_not_of(" L");
    if (a == std::string::npos) continue;
    try {
      size_t used = 0;
      long long v = std::stoll(item.substr(a), &used);
      if (v < 0) return bad("negative dimension");
      shape.push_back(v);
    } catch (...) {
      return bad("bad shape '" + shape_s + "'");
    }
  }
  ASSIGN_OR_RETURN(Tensor t, Tensor::create(dt, shape));
  size_t data_start = header_start + header_len;
  if (size - data_start < t.nbytes()) {
    return bad("data is " + std::to_string(size - data_start) + " bytes but shape " + shape_str(shape) +
               " needs " + std::to_string(t.nbytes()));
  }
  if (t.nbytes()) std::memcpy(t.raw(), b + data_start, t.nbytes());
  return t;
}

Result<Tensor> load_npy(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) return not_found("cannot open " + path);
  std::ostringstream ss;
  ss << f.rdbuf();
  std::string bytes = ss.str();
  return parse_npy(bytes.data(), bytes.size(), path);
}

std::string npy_bytes(const Tensor& t) {
  std::string descr = dtype_to_numpy(t.dtype());
  if (descr.empty()) return {};
  std::string shape = "(";
  for (int i = 0; i < t.rank(); ++i) shape += std::to_string(t.dim(i)) + (t.rank() == 1 ? "," : (i + 1 < t.rank() ? ", " : ""));
  shape += ")";
  std::string header = "{'descr': '" + descr + "', 'fortran_order': False, 'shape': " + shape + ", }";
  size_t total = 10 + header.size() + 1;
  size_t pad = (64 - total % 64) % 64;
  header.append(pad, ' ');
  header += '\n';
  std::string out = "\x93NUMPY";
  out += '\x01';
  out += '\x00';
  out += static_cast<char>(header.size() & 0xff);
  out += static_cast<char>((header.size() >> 8) & 0xff);
  out += header;
  out.append(static_cast<const char*>(t.raw()), t.nbytes());
  return out;
}

Status save_npy(const std::string& path, const Tensor& t) {
  std::string bytes = npy_bytes(t);
  if (bytes.empty()) return unsupported("cannot write dtype " + std::string(dtype_name(t.dtype())) + " to .npy");
  std::ofstream f(path, std::ios::binary);
  if (!f) return io_error("cannot write " + path);
  f.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  if (!f) return io_error("cannot write " + path);
  return ok_status();
}

}  // namespace edgeai::formats
