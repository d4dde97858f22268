#include "sample_data.h"

#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <random>

#include "core/shape.h"
#include "model_io.h"

namespace edgeai::cli {

namespace {

namespace fs = std::filesystem;

bool tensor_file(const fs::path& p) { return p.extension() == ".npy" || p.extension() == ".pb"; }

std::string declared_shape_str(const ir::ValueType& t) {
  if (!t.shape) return "[?]";
  std::string s = "[";
  for (size_t i = 0; i < t.shape->size(); ++i) {
    const auto& d = (*t.shape)[i];
    s += (i ? "," : "") + (d.known() ? std::to_string(d.value) : (d.symbol.empty() ? "?" : d.symbol));
  }
  return s + "]";
}

Status check_input(const ir::ValueInfo& in, const Tensor& t, const std::string& what) {
  const ir::ValueType& ty = in.type;
  auto fail = [&](const std::string& m) {
    return invalid_argument(what + ": input '" + in.name + "' " + m);
  };
  if (ty.dtype != DType::kUndefined && t.dtype() != ty.dtype) {
    return fail("is " + std::string(dtype_name(t.dtype())) + " but the model expects " + std::string(dtype_name(ty.dtype)));
  }
  if (!ty.shape) return ok_status();
  bool ok = static_cast<int>(ty.shape->size()) == t.rank();
  for (int i = 0; ok && i < t.rank(); ++i) ok = !(*ty.shape)[i].known() || (*ty.shape)[i].value == t.dim(i);
  if (!ok) return fail("has shape " + shape_str(t.shape()) + " but the model expects " + declared_shape_str(ty));
  return ok_status();
}

// One sample's tensor from a file, with a leading batch axis of 1 added when the model wants one
// more axis than the file has.
Result<Tensor> fit_rank(Tensor t, const ir::ValueInfo& in) {
  if (in.type.shape && static_cast<int>(in.type.shape->size()) == t.rank() + 1) {
    Shape s = t.shape();
    s.insert(s.begin(), 1);
    return t.reshaped(s);
  }
  return t;
}

Result<compress::CalibrationSample> load_sample_folder(const ir::Graph& g, const fs::path& dir) {
  compress::CalibrationSample sample;
  auto feeds = g.feed_inputs();
  for (size_t k = 0; k < feeds.size(); ++k) {
    std::vector<fs::path> tries = {dir / (file_safe(feeds[k]->name) + ".npy"), dir / (file_safe(feeds[k]->name) + ".pb"),
                                   dir / ("input_" + std::to_string(k) + ".pb"), dir / ("input_" + std::to_string(k) + ".npy")};
    auto it = std::find_if(tries.begin(), tries.end(), [](const fs::path& p) { return fs::exists(p); });
    if (it == tries.end()) {
      return not_found(dir.string() + ": no file for input '" + feeds[k]->name + "' (" + tries[0].filename().string() +
                       " or " + tries[2].filename().string() + ")");
    }
    ASSIGN_OR_RETURN(Tensor t, load_tensor_file(it->string()));
    ASSIGN_OR_RETURN(t, fit_rank(std::move(t), *feeds[k]));
    RETURN_IF_ERROR(check_input(*feeds[k], t, it->string()));
    sample.push_back({feeds[k]->name, runtime::Value::of(std::move(t))});
  }
  return sample;
}

}  // namespace

Result<std::vector<compress::CalibrationSample>> load_samples(const ir::Graph& g, const std::string& source,
                                                              int64_t limit) {
  std::vector<compress::CalibrationSample> out;
  auto feeds = g.feed_inputs();
  if (feeds.empty()) return invalid_argument("the model has no inputs to feed");
  std::error_code ec;
  if (!fs::exists(source, ec)) return not_found("data not found: " + source);
  if (!fs::is_directory(source, ec)) {
    if (feeds.size() != 1) {
      return invalid_argument(source + ": one file holds samples for one input, but the model has " +
                              std::to_string(feeds.size()) + " inputs; pass a folder with a sub-folder per sample");
    }
    ASSIGN_OR_RETURN(Tensor all, load_tensor_file(source));
    if (all.rank() == 0 || all.dim(0) == 0) return invalid_argument(source + ": no samples (first axis is empty)");
    const ir::ValueInfo& in = *feeds[0];
    const bool batched = in.type.shape && static_cast<int>(in.type.shape->size()) == all.rank();
    Shape one(all.shape().begin() + 1, all.shape().end());
    if (batched) one.insert(one.begin(), 1);
    const int64_t n = limit >= 0 ? std::min(limit, all.dim(0)) : all.dim(0);
    const size_t bytes = all.nbytes() / all.dim(0);
    if (all.dtype() == DType::kString) return unsupported(source + ": string tensors cannot be samples");
    for (int64_t i = 0; i < n; ++i) {
      ASSIGN_OR_RETURN(Tensor t, Tensor::create(all.dtype(), one));
      std::memcpy(t.raw(), static_cast<const char*>(all.raw()) + i * bytes, bytes);
      RETURN_IF_ERROR(check_input(in, t, source + " (sample " + std::to_string(i) + ")"));
      out.push_back({{in.name, runtime::Value::of(std::move(t))}});
    }
    return out;
  }
  std::vector<fs::path> entries;
  for (const auto& e : fs::directory_iterator(source, ec)) {
    if (e.is_directory() || tensor_file(e.path())) entries.push_back(e.path());
  }
  std::sort(entries.begin(), entries.end());
  if (entries.empty()) return invalid_argument(source + ": the folder holds no .npy or .pb files nor sample folders");
  for (const fs::path& p : entries) {
    if (limit >= 0 && static_cast<int64_t>(out.size()) >= limit) break;
    if (fs::is_directory(p)) {
      ASSIGN_OR_RETURN(auto s, load_sample_folder(g, p));
      out.push_back(std::move(s));
      continue;
    }
    if (feeds.size() != 1) {
      return invalid_argument(p.string() + ": a loose file in the folder, but the model has " +
                              std::to_string(feeds.size()) + " inputs; use a sub-folder per sample");
    }
    ASSIGN_OR_RETURN(Tensor t, load_tensor_file(p.string()));
    ASSIGN_OR_RETURN(t, fit_rank(std::move(t), *feeds[0]));
    RETURN_IF_ERROR(check_input(*feeds[0], t, p.string()));
    out.push_back({{feeds[0]->name, runtime::Value::of(std::move(t))}});
  }
  return out;
}

Result<std::vector<compress::CalibrationSample>> random_samples(const ir::Graph& g, int64_t n, uint64_t seed) {
  if (n <= 0) return invalid_argument("--calibration-random needs a positive count");
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<float> u(0.0f, 1.0f);
  std::vector<compress::CalibrationSample> out;
  for (int64_t i = 0; i < n; ++i) {
    compress::CalibrationSample s;
    for (const ir::ValueInfo* in : g.feed_inputs()) {
      if (!in->type.shape) return invalid_argument("input '" + in->name + "' has no declared shape; random samples need one");
      Shape shape;
      for (const auto& d : *in->type.shape) shape.push_back(d.known() ? d.value : 1);
      DType dt = in->type.dtype == DType::kUndefined ? DType::kF32 : in->type.dtype;
      ASSIGN_OR_RETURN(Tensor t, Tensor::create(dt, shape));
      if (dt == DType::kF32) {
        for (int64_t k = 0; k < t.numel(); ++k) t.data<float>()[k] = u(rng);
      }
      s.push_back({in->name, runtime::Value::of(std::move(t))});
    }
    out.push_back(std::move(s));
  }
  return out;
}

bool stderr_is_tty() { return isatty(2) != 0; }

std::function<void(int64_t, int64_t)> progress_bar(const std::string& label, bool enabled) {
  if (!enabled) return {};
  return [label](int64_t done, int64_t total) {
    const int width = 30;
    int filled = total > 0 ? static_cast<int>(width * done / total) : width;
    std::string bar(static_cast<size_t>(filled), '=');
    if (filled < width) bar += '>' + std::string(static_cast<size_t>(width - filled - 1), ' ');
    std::fprintf(stderr, "\r%s [%s] %lld/%lld", label.c_str(), bar.c_str(), static_cast<long long>(done),
                 static_cast<long long>(total));
    if (done >= total) std::fprintf(stderr, "\n");
    std::fflush(stderr);
  };
}

}  // namespace edgeai::cli
