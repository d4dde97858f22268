#include "compress/train/data.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <numeric>
#include <sstream>

#include "formats/tensor_io/npy.h"

namespace edgeai::compress::train {
namespace {

namespace fs = std::filesystem;

bool ends_with(const std::string& s, const std::string& e) {
  return s.size() >= e.size() && s.compare(s.size() - e.size(), e.size(), e) == 0;
}

Result<Tensor> to_f32(const Tensor& t) {
  if (t.dtype() == DType::kF32) return t;
  ASSIGN_OR_RETURN(Tensor o, Tensor::create(DType::kF32, t.shape()));
  for (int64_t i = 0; i < t.numel(); ++i) o.data<float>()[i] = static_cast<float>(t.get_double(i));
  return o;
}

}  // namespace

Result<Dataset> load_npy_pair(const std::string& inputs, const std::string& labels) {
  if (labels.empty()) return invalid_argument(inputs + ": a .npy input file needs a labels .npy file (--labels)");
  ASSIGN_OR_RETURN(Tensor x, formats::load_npy(inputs));
  ASSIGN_OR_RETURN(Tensor y, formats::load_npy(labels));
  if (x.rank() < 1) return invalid_argument(inputs + ": inputs must have a batch dimension");
  if (x.dtype() == DType::kString || x.dtype() == DType::kBool) return invalid_argument(inputs + ": inputs must be numeric");
  Dataset d;
  ASSIGN_OR_RETURN(d.x, to_f32(x));
  if (y.numel() != x.dim(0)) {
    return invalid_argument(labels + ": " + std::to_string(y.numel()) + " labels for " + std::to_string(x.dim(0)) + " inputs in " + inputs);
  }
  d.y.resize(static_cast<size_t>(y.numel()));
  for (int64_t i = 0; i < y.numel(); ++i) {
    const double v = y.get_double(i);
    if (v != std::floor(v)) return invalid_argument(labels + ": label " + std::to_string(i) + " is not an integer");
    d.y[i] = static_cast<int64_t>(v);
  }
  return d;
}

Result<Dataset> load_csv(const std::string& path) {
  std::ifstream f(path);
  if (!f) return io_error(path + ": cannot open");
  std::string line;
  std::vector<float> values;
  Dataset d;
  int64_t width = -1, row = 0;
  while (std::getline(f, line)) {
    ++row;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.find_first_not_of(" \t") == std::string::npos) continue;
    std::vector<double> cells;
    std::stringstream ss(line);
    std::string cell;
    bool numeric = true;
    while (std::getline(ss, cell, ',')) {
      char* end = nullptr;
      const double v = std::strtod(cell.c_str(), &end);
      while (end && (*end == ' ' || *end == '\t')) ++end;
      if (cell.empty() || !end || *end != 0) {
        numeric = false;
        break;
      }
      cells.push_back(v);
    }
    if (!numeric) {
      if (d.y.empty() && width < 0) continue;  // header
      return invalid_argument(path + ":" + std::to_string(row) + ": not a number in '" + line.substr(0, 60) + "'");
    }
    if (cells.size() < 2) return invalid_argument(path + ":" + std::to_string(row) + ": needs a label and at least one value");
    if (width < 0) width = static_cast<int64_t>(cells.size()) - 1;
    if (static_cast<int64_t>(cells.size()) - 1 != width) {
      return invalid_argument(path + ":" + std::to_string(row) + ": " + std::to_string(cells.size() - 1) + " values, the first row has " + std::to_string(width));
    }
    if (cells[0] != std::floor(cells[0])) return invalid_argument(path + ":" + std::to_string(row) + ": the label is not an integer");
    d.y.push_back(static_cast<int64_t>(cells[0]));
    for (size_t i = 1; i < cells.size(); ++i) values.push_back(static_cast<float>(cells[i]));
  }
  if (d.y.empty()) return invalid_argument(path + ": no samples");
  ASSIGN_OR_RETURN(d.x, Tensor::create(DType::kF32, {d.size(), width}));
  std::copy(values.begin(), values.end(), d.x.data<float>());
  return d;
}

Result<Tensor> load_pnm(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) return io_error(path + ": cannot open");
  std::string magic;
  f >> magic;
  if (magic != "P2" && magic != "P5" && magic != "P3" && magic != "P6") {
    return invalid_argument(path + ": not a PGM/PPM image (P2, P3, P5 or P6)");
  }
  auto read_int = [&](int64_t* v) -> bool {
    while (true) {
      f >> std::ws;
      if (f.peek() == '#') {
        std::string skip;
        std::getline(f, skip);
        continue;
      }
      break;
    }
    return static_cast<bool>(f >> *v);
  };
  int64_t w = 0, h = 0, maxval = 0;
  if (!read_int(&w) || !read_int(&h) || !read_int(&maxval) || w <= 0 || h <= 0 || w > 65536 || h > 65536 ||
      maxval <= 0 || maxval > 65535) {
    return invalid_argument(path + ": bad PGM/PPM header");
  }
  const int64_t ch = (magic == "P3" || magic == "P6") ? 3 : 1;
  ASSIGN_OR_RETURN(Tensor t, Tensor::create(DType::kF32, {ch, h, w}));
  float* o = t.data<float>();
  const int64_t n = ch * h * w;
  std::vector<float> hwc(static_cast<size_t>(n));
  if (magic == "P2" || magic == "P3") {
    for (int64_t i = 0; i < n; ++i) {
      int64_t v;
      if (!read_int(&v) || v < 0 || v > maxval) return invalid_argument(path + ": bad or missing pixel value");
      hwc[i] = static_cast<float>(v) / maxval;
    }
  } else {
    f.get();  // the single whitespace after maxval
    const int bytes = maxval < 256 ? 1 : 2;
    std::vector<unsigned char> buf(static_cast<size_t>(n * bytes));
    if (!f.read(reinterpret_cast<char*>(buf.data()), static_cast<std::streamsize>(buf.size()))) {
      return invalid_argument(path + ": truncated pixel data");
    }
    for (int64_t i = 0; i < n; ++i) {
      const int v = bytes == 1 ? buf[i] : (buf[2 * i] << 8 | buf[2 * i + 1]);
      hwc[i] = static_cast<float>(std::min<int64_t>(v, maxval)) / maxval;
    }
  }
  for (int64_t c = 0; c < ch; ++c) {
    for (int64_t i = 0; i < h * w; ++i) o[c * h * w + i] = hwc[i * ch + c];
  }
  return t;
}

Result<Dataset> load_image_folder(const std::string& dir) {
  std::error_code ec;
  std::vector<std::string> classes;
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    if (e.is_directory()) classes.push_back(e.path().filename().string());
  }
  if (ec) return io_error(dir + ": " + ec.message());
  std::sort(classes.begin(), classes.end());
  if (classes.empty()) return invalid_argument(dir + ": no class folders (one folder of PGM/PPM images per class)");
  Dataset d;
  d.class_names = classes;
  std::vector<Tensor> images;
  for (size_t c = 0; c < classes.size(); ++c) {
    std::vector<std::string> files;
    for (const auto& e : fs::directory_iterator(fs::path(dir) / classes[c], ec)) {
      const std::string p = e.path().string();
      if (e.is_regular_file() && (ends_with(p, ".pgm") || ends_with(p, ".ppm"))) files.push_back(p);
    }
    std::sort(files.begin(), files.end());
    for (const auto& p : files) {
      ASSIGN_OR_RETURN(Tensor img, load_pnm(p));
      if (!images.empty() && img.shape() != images[0].shape()) {
        return invalid_argument(p + ": image " + shape_str(img.shape()) + " differs from the first, " + shape_str(images[0].shape()));
      }
      images.push_back(img);
      d.y.push_back(static_cast<int64_t>(c));
    }
  }
  if (images.empty()) return invalid_argument(dir + ": no .pgm or .ppm images in its class folders");
  Shape s = images[0].shape();
  s.insert(s.begin(), static_cast<int64_t>(images.size()));
  ASSIGN_OR_RETURN(d.x, Tensor::create(DType::kF32, s));
  const int64_t per = images[0].numel();
  for (size_t i = 0; i < images.size(); ++i) std::copy_n(images[i].data<float>(), per, d.x.data<float>() + i * per);
  return d;
}

Result<Dataset> load_dataset(const std::string& data, const std::string& labels) {
  std::error_code ec;
  if (!fs::exists(data, ec)) return not_found(data + ": no such file or folder");
  if (fs::is_directory(data, ec)) return load_image_folder(data);
  if (ends_with(data, ".npy")) return load_npy_pair(data, labels);
  if (ends_with(data, ".csv")) return load_csv(data);
  return invalid_argument(data + ": unknown data format (a .npy with --labels, a .csv, or a folder of class folders of PGM/PPM images)");
}

Status fit_to_model(Dataset& d, const std::vector<int64_t>& model_shape) {
  if (model_shape.empty()) return ok_status();
  const int64_t n = d.x.dim(0);
  int64_t per_model = 1;
  for (size_t i = 1; i < model_shape.size(); ++i) {
    if (model_shape[i] < 0) return ok_status();  // free dims: take the data as it is
    per_model *= model_shape[i];
  }
  const int64_t per_data = n ? d.x.numel() / n : 0;
  if (per_data != per_model) {
    return invalid_argument("inputs " + shape_str(d.x.shape()) + " do not fit the model's input " + shape_str(model_shape));
  }
  Shape s(model_shape.begin(), model_shape.end());
  s[0] = n;
  ASSIGN_OR_RETURN(d.x, d.x.reshaped(s));
  return ok_status();
}

Status check_labels(const Dataset& d, int64_t classes) {
  if (d.x.rank() < 1 || d.x.dim(0) != d.size()) {
    return invalid_argument(std::to_string(d.size()) + " labels for " + std::to_string(d.x.rank() ? d.x.dim(0) : 0) + " inputs");
  }
  for (int64_t i = 0; i < d.size(); ++i) {
    if (d.y[i] < 0 || d.y[i] >= classes) {
      return out_of_range("label " + std::to_string(d.y[i]) + " of sample " + std::to_string(i) + " is outside the model's " +
                          std::to_string(classes) + " classes");
    }
  }
  return ok_status();
}

Result<Tensor> gather_rows(const Tensor& x, std::span<const int64_t> idx) {
  Shape s = x.shape();
  const int64_t per = s[0] ? x.numel() / s[0] : 0;
  s[0] = static_cast<int64_t>(idx.size());
  ASSIGN_OR_RETURN(Tensor o, Tensor::create(DType::kF32, s));
  for (size_t i = 0; i < idx.size(); ++i) std::copy_n(x.data<float>() + idx[i] * per, per, o.data<float>() + i * per);
  return o;
}

Result<Dataset> subset(const Dataset& d, std::span<const int64_t> idx) {
  Dataset o;
  ASSIGN_OR_RETURN(o.x, gather_rows(d.x, idx));
  for (int64_t i : idx) o.y.push_back(d.y[i]);
  o.class_names = d.class_names;
  return o;
}

void split(const Dataset& d, double fraction, uint64_t seed, Dataset* first, Dataset* second) {
  std::vector<int64_t> order(static_cast<size_t>(d.size()));
  std::iota(order.begin(), order.end(), 0);
  std::mt19937_64 rng(seed);
  std::shuffle(order.begin(), order.end(), rng);
  const int64_t nb = static_cast<int64_t>(std::llround(fraction * d.size()));
  const int64_t na = d.size() - nb;
  std::vector<int64_t> a(order.begin(), order.begin() + na), b(order.begin() + na, order.end());
  std::sort(a.begin(), a.end());
  std::sort(b.begin(), b.end());
  auto ra = subset(d, a);
  auto rb = subset(d, b);
  if (ra.ok()) *first = std::move(ra).value();
  if (rb.ok()) *second = std::move(rb).value();
}

}  // namespace edgeai::compress::train
