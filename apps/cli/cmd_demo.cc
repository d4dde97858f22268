// edgeai demo: the main job on the digits CNN that ships in models/digits (no download): load,
// classify the held-out images one at a time, report accuracy and latency.
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "commands.h"
#include "formats/tensor_io/npy.h"
#include "model_io.h"

namespace edgeai::cli {

namespace {

namespace fs = std::filesystem;

// models/ next to the source tree the binary was built from, or ../../models from build/bin.
std::string find_models_dir(const std::string& given) {
  if (!given.empty()) return given;
  std::vector<fs::path> candidates;
  char exe[4096];
  ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
  if (n > 0) {
    exe[n] = 0;
    fs::path bin = fs::path(exe).parent_path();
    candidates.push_back(bin / ".." / ".." / "models");
    candidates.push_back(bin / ".." / "share" / "edgeai" / "models");
  }
#ifdef EDGEAI_SOURCE_DIR
  candidates.push_back(fs::path(EDGEAI_SOURCE_DIR) / "models");
#endif
  for (const auto& c : candidates) {
    if (fs::exists(c / "digits" / "digits_cnn.onnx")) return fs::weakly_canonical(c).string();
  }
  return "models";
}

}  // namespace

Command add_demo(CLI::App& app) {
  struct Opts {
    std::string models;
    int threads = 1;
    bool json = false;
  };
  auto o = std::make_shared<Opts>();
  auto* sub = app.add_subcommand("demo", "Run the bundled digits model on its held-out images and report accuracy and speed");
  sub->add_option("--models", o->models, "Folder of the bundled models (found automatically)");
  sub->add_option("-t,--threads", o->threads, "Threads")->capture_default_str();
  sub->add_flag("--json", o->json, "Print one JSON object");
  return [o]() -> int {
    using clock = std::chrono::steady_clock;
    fs::path dir = fs::path(find_models_dir(o->models)) / "digits";
    std::string model_path = (dir / "digits_cnn.onnx").string();
    auto t0 = clock::now();
    auto m = formats::load_onnx(model_path);
    if (!m.ok()) return fail(m.status().message() + " (pass --models DIR to say where the bundled models are)");
    std::shared_ptr<const ir::Graph> graph(std::move(m->graph));
    auto env = Env::create(o->threads);
    auto session = runtime::Session::create(graph, *env);
    if (!session.ok()) return fail(session.status().message());
    double load_ms = std::chrono::duration<double, std::milli>(clock::now() - t0).count();
    auto images = formats::load_npy((dir / "test_images.npy").string());
    if (!images.ok()) return fail(images.status().message());
    auto labels = formats::load_npy((dir / "test_labels.npy").string());
    if (!labels.ok()) return fail(labels.status().message());
    if (images->rank() != 4 || labels->numel() != images->dim(0)) return fail("bundled test data has unexpected shapes");
    int64_t n = images->dim(0);
    int64_t per = images->numel() / std::max<int64_t>(n, 1);
    std::vector<double> lat;
    int64_t correct = 0;
    const std::string in_name = graph->feed_inputs().at(0)->name;
    for (int64_t i = 0; i < n; ++i) {
      auto x = Tensor::create(DType::kF32, {1, images->dim(1), images->dim(2), images->dim(3)});
      if (!x.ok()) return fail(x.status().message());
      std::copy_n(images->data<float>() + i * per, per, x->data<float>());
      auto s = clock::now();
      auto out = (*session)->run({{in_name, runtime::Value::of(*x)}});
      lat.push_back(std::chrono::duration<double, std::milli>(clock::now() - s).count());
      if (!out.ok()) return fail(out.status().message());
      const Tensor& logits = (*out)[0].tensor;
      const float* p = logits.data<float>();
      int64_t best = std::max_element(p, p + logits.numel()) - p;
      if (best == labels->get_int(i)) ++correct;
    }
    std::sort(lat.begin(), lat.end());
    double median = lat.empty() ? 0 : lat[lat.size() / 2];
    double p90 = lat.empty() ? 0 : lat[lat.size() * 9 / 10];
    double accuracy = n ? 100.0 * correct / n : 0;
    if (o->json) {
      nlohmann::json j{{"model", model_path},
                       {"images", n},
                       {"accuracy", accuracy / 100.0},
                       {"threads", o->threads},
                       {"load_ms", load_ms},
                       {"latency_ms", {{"min", lat.empty() ? 0 : lat[0]}, {"median", median}, {"p90", p90}}},
                       {"parameters", graph->parameter_count()},
                       {"model_bytes", fs::file_size(model_path)}};
      std::printf("%s\n", j.dump(2).c_str());
      return 0;
    }
    std::printf("edgeai demo: handwritten digits, on this CPU (%s), %d thread(s)\n\n", env->cpu.summary().c_str(), o->threads);
    std::printf("  model       %s\n", model_path.c_str());
    std::printf("              %lld parameters, %.1f KB on disk, loaded in %.1f ms\n",
                (long long)graph->parameter_count(), fs::file_size(model_path) / 1024.0, load_ms);
    std::printf("  data        %lld held-out 8x8 images (scikit-learn digits)\n", (long long)n);
    std::printf("  accuracy    %.2f%% (%lld of %lld correct)\n", accuracy, (long long)correct, (long long)n);
    std::printf("  latency     min %.3f ms, median %.3f ms, p90 %.3f ms per image (batch 1)\n", lat.empty() ? 0 : lat[0], median, p90);
    std::printf("\nNext: edgeai info %s | edgeai run %s --input image=IMAGES.npy\n", model_path.c_str(), model_path.c_str());
    return 0;
  };
}

}  // namespace edgeai::cli
