#include "model_io.h"

#include <algorithm>
#include <cstdio>

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

WeightsLoad weights_load(const formats::OnnxModel& model) {
  WeightsLoad w;
  w.mapped = model.mapped;
  w.in_place_bytes = model.in_place_bytes;
  w.copied_bytes = std::max<int64_t>(model.graph ? model.graph->parameter_bytes() - model.in_place_bytes : 0, 0);
  return w;
}

std::string WeightsLoad::describe() const {
  char buf[320];
  if (!mapped) {
    std::snprintf(buf, sizeof buf, "%.1f MB read into memory (--mmap maps them instead)", copied_bytes / 1e6);
  } else if (copied_bytes == 0) {
    std::snprintf(buf, sizeof buf, "mapped: %.1f MB used in place", in_place_bytes / 1e6);
  } else {
    std::snprintf(buf, sizeof buf,
                  "mapped: %.1f MB used in place, %.1f MB copied (not aligned for their type in the file, or not "
                  "raw data; `edgeai convert MODEL OUT --external-data` writes every weight aligned)",
                  in_place_bytes / 1e6, copied_bytes / 1e6);
  }
  return buf;
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
