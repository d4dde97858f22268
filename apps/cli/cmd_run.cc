// edgeai run MODEL --input NAME=FILE ... [--output-dir DIR] [--threads N] [--mmap]
#include <cmath>
#include <cstdio>
#include <filesystem>

#include "commands.h"
#include "formats/tensor_io/npy.h"
#include "model_io.h"

namespace edgeai::cli {

Command add_run(CLI::App& app) {
  struct Opts {
    std::string model;
    std::vector<std::string> inputs;
    std::string output_dir = ".";
    int threads = 1;
    bool mmap = false;
  };
  auto o = std::make_shared<Opts>();
  auto* sub = app.add_subcommand("run", "Run a model on input files and write its outputs as .npy");
  sub->add_option("model", o->model, "Model file (.onnx)")->required();
  sub->add_option("-i,--input", o->inputs, "NAME=FILE, FILE being .npy or a TensorProto .pb (repeatable)");
  sub->add_option("-o,--output-dir", o->output_dir, "Folder for <output name>.npy files")->capture_default_str();
  sub->add_option("-t,--threads", o->threads, "Threads")->capture_default_str();
  sub->add_flag("--mmap", o->mmap, "Map the model file and use the weights where they lie instead of reading them");
  return [o]() -> int {
    formats::OnnxLoadOptions lo;
    lo.map = o->mmap;
    auto m = formats::load_onnx(o->model, lo);
    if (!m.ok()) return fail(m.status().message());
    std::shared_ptr<const ir::Graph> graph(std::move(m->graph));
    std::vector<runtime::NamedValue> feeds;
    for (const auto& spec : o->inputs) {
      size_t eq = spec.find('=');
      if (eq == std::string::npos || eq == 0) return fail("--input takes NAME=FILE, got '" + spec + "'");
      auto t = load_tensor_file(spec.substr(eq + 1));
      if (!t.ok()) return fail(t.status().message());
      feeds.push_back({spec.substr(0, eq), runtime::Value::of(std::move(t).value())});
    }
    auto env = Env::create(o->threads);
    auto session = runtime::Session::create(graph, *env);
    if (!session.ok()) return fail(o->model + ": " + session.status().message());
    auto outs = (*session)->run(feeds);
    if (!outs.ok()) return fail(outs.status().message());
    std::error_code ec;
    std::filesystem::create_directories(o->output_dir, ec);
    if (ec) return fail("cannot create " + o->output_dir + ": " + ec.message());
    for (size_t i = 0; i < outs->size(); ++i) {
      const std::string& name = graph->outputs[i].name;
      const runtime::Value& v = (*outs)[i];
      if (!v.is_tensor()) {
        std::printf("%s: (not a tensor; not written)\n", name.c_str());
        continue;
      }
      const Tensor& t = v.tensor;
      std::string path = (std::filesystem::path(o->output_dir) / (file_safe(name) + ".npy")).string();
      Status st = formats::save_npy(path, t);
      if (!st.ok()) return fail(st.message());
      std::string stats;
      if (dtype_is_float(t.dtype()) || dtype_is_integer(t.dtype())) {
        double mn = INFINITY, mx = -INFINITY, sum = 0;
        for (int64_t k = 0; k < t.numel(); ++k) {
          double x = t.get_double(k);
          mn = std::min(mn, x);
          mx = std::max(mx, x);
          sum += x;
        }
        char buf[128];
        if (t.numel()) std::snprintf(buf, sizeof buf, " min %.6g max %.6g mean %.6g", mn, mx, sum / t.numel());
        else buf[0] = 0;
        stats = buf;
      }
      std::printf("%s: %s %s ->%s %s\n", name.c_str(), std::string(dtype_name(t.dtype())).c_str(),
                  shape_str(t.shape()).c_str(), stats.c_str(), path.c_str());
    }
    return 0;
  };
}

}  // namespace edgeai::cli
