#include "model_io.h"

#include "formats/tensor_io/npy.h"

namespace edgeai::cli {

Result<Tensor> load_tensor_file(const std::string& path) {
  auto ends = [&](const char* s) {
    std::string e(s);
    return path.size() >= e.size() && path.compare(path.size() - e.size(), e.size(), e) == 0;
  };
  if (ends(".npy")) return formats::load_npy(path);
  if (ends(".pb")) return formats::load_tensor_proto(path);
  return invalid_argument(path + ": unknown tensor file type (use .npy or .pb)");
}

std::string file_safe(const std::string& name) {
  std::string s = name;
  for (char& c : s) {
    if (c == '/' || c == ':' || c == '\\') c = '_';
  }
  if (s.empty() || s == "." || s == "..") s = "_" + s;
  return s;
}

}  // namespace edgeai::cli
