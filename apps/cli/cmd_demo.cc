// edgeai demo: the main job on the digits CNN that ships in models/digits (no download): load,
// quantize to int8 (static, calibrated on training images), classify the held-out images one at a
// time with both, and print accuracy, size and latency side by side.
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "commands.h"
#include "compress/quantize/quantize.h"
#include "formats/onnx/onnx_export.h"
#include "formats/tensor_io/npy.h"
#include "model_io.h"
#include "sample_data.h"

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

// Accuracy and batch-1 latency of one model on the held-out images.
struct Measured {
  double accuracy = 0;
  int64_t correct = 0;
  std::vector<double> latency_ms;  // sorted
  double median() const { return latency_ms.empty() ? 0 : latency_ms[latency_ms.size() / 2]; }
  double p90() const { return latency_ms.empty() ? 0 : latency_ms[latency_ms.size() * 9 / 10]; }
  double min() const { return latency_ms.empty() ? 0 : latency_ms[0]; }
};

Result<Measured> measure(std::shared_ptr<const ir::Graph> graph, Env& env, const Tensor& images, const Tensor& labels) {
  using clock = std::chrono::steady_clock;
  ASSIGN_OR_RETURN(auto session, runtime::Session::create(graph, env));
  const int64_t n = images.dim(0), per = images.numel() / std::max<int64_t>(n, 1);
  const std::string in_name = graph->feed_inputs().at(0)->name;
  Measured m;
  for (int64_t i = 0; i < n; ++i) {
    ASSIGN_OR_RETURN(Tensor x, Tensor::create(DType::kF32, {1, images.dim(1), images.dim(2), images.dim(3)}));
    std::copy_n(images.data<float>() + i * per, per, x.data<float>());
    auto s = clock::now();
    ASSIGN_OR_RETURN(auto out, session->run({{in_name, runtime::Value::of(x)}}));
    m.latency_ms.push_back(std::chrono::duration<double, std::milli>(clock::now() - s).count());
    const Tensor& logits = out[0].tensor;
    const float* p = logits.data<float>();
    m.correct += (std::max_element(p, p + logits.numel()) - p) == labels.get_int(i);
  }
  std::sort(m.latency_ms.begin(), m.latency_ms.end());
  m.accuracy = n ? 100.0 * m.correct / n : 0;
  return m;
}

nlohmann::json measured_json(const Measured& m, double bytes, int64_t params) {
  return {{"accuracy", m.accuracy / 100.0},
          {"latency_ms", {{"min", m.min()}, {"median", m.median()}, {"p90", m.p90()}}},
          {"parameters", params},
          {"model_bytes", bytes}};
}

}  // namespace

Command add_demo(CLI::App& app) {
  struct Opts {
    std::string models;
    int threads = 1;
    bool json = false;
  };
  auto o = std::make_shared<Opts>();
  auto* sub = app.add_subcommand("demo", "Run the bundled digits model, quantize it to int8, and compare accuracy, size and speed");
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
    double load_ms = std::chrono::duration<double, std::milli>(clock::now() - t0).count();
    auto env = Env::create(o->threads);
    auto images = formats::load_npy((dir / "test_images.npy").string());
    if (!images.ok()) return fail(images.status().message());
    auto labels = formats::load_npy((dir / "test_labels.npy").string());
    if (!labels.ok()) return fail(labels.status().message());
    if (images->rank() != 4 || labels->numel() != images->dim(0)) return fail("bundled test data has unexpected shapes");
    const int64_t n = images->dim(0);

    // int8: static quantization calibrated on 200 training images (train_images.npy), never on the
    // held-out images it is evaluated on.
    auto t1 = clock::now();
    auto samples = load_samples(*graph, (dir / "train_images.npy").string(), 200);
    if (!samples.ok()) return fail(samples.status().message());
    auto ranges = compress::calibrate(*graph, *samples, compress::CalibrationMethod::kMinMax, *env);
    if (!ranges.ok()) return fail("calibration: " + ranges.status().message());
    auto q = compress::quantize_static(*graph, *ranges, {});
    if (!q.ok()) return fail("quantize: " + q.status().message());
    double quantize_ms = std::chrono::duration<double, std::milli>(clock::now() - t1).count();
    auto fp32_bytes = formats::export_onnx_bytes(*graph);
    auto int8_bytes = formats::export_onnx_bytes(*q->graph);
    if (!fp32_bytes.ok() || !int8_bytes.ok()) return fail("cannot serialize the models");
    std::shared_ptr<const ir::Graph> qgraph(std::move(q->graph));

    auto f = measure(graph, *env, *images, *labels);
    if (!f.ok()) return fail(f.status().message());
    auto i8 = measure(qgraph, *env, *images, *labels);
    if (!i8.ok()) return fail(i8.status().message());
    const double file_bytes = static_cast<double>(fs::file_size(model_path));
    const double int8_file = static_cast<double>(int8_bytes->size());
    const std::string note = compress::int8_speed_note(env->cpu);
    if (o->json) {
      nlohmann::json j{{"model", model_path},
                       {"images", n},
                       {"threads", o->threads},
                       {"load_ms", load_ms},
                       {"quantize_ms", quantize_ms},
                       {"calibration_samples", samples->size()},
                       {"fp32", measured_json(*f, file_bytes, graph->parameter_count())},
                       {"int8", measured_json(*i8, int8_file, qgraph->parameter_count())},
                       {"accuracy", f->accuracy / 100.0},
                       {"int8_faster_here", note.empty()}};
      std::printf("%s\n", j.dump(2).c_str());
      return 0;
    }
    std::printf("edgeai demo: handwritten digits, on this CPU (%s), %d thread(s)\n\n", env->cpu.summary().c_str(), o->threads);
    std::printf("  model       %s (%lld parameters, loaded in %.1f ms)\n", model_path.c_str(),
                (long long)graph->parameter_count(), load_ms);
    std::printf("  data        %lld held-out 8x8 images (scikit-learn digits)\n", (long long)n);
    std::printf("  int8        static QDQ, calibrated on %zu training images in %.0f ms\n\n", samples->size(), quantize_ms);
    std::printf("              %-12s %-12s\n", "fp32", "int8");
    std::printf("  accuracy    %-12s %-12s\n", (std::to_string(f->accuracy).substr(0, 5) + "%").c_str(),
                (std::to_string(i8->accuracy).substr(0, 5) + "%").c_str());
    char a[32], b[32];
    std::snprintf(a, sizeof a, "%.1f KB", file_bytes / 1024);
    std::snprintf(b, sizeof b, "%.1f KB", int8_file / 1024);
    std::printf("  size        %-12s %-12s (%.2fx)\n", a, b, int8_file / file_bytes);
    std::snprintf(a, sizeof a, "%.3f ms", f->median());
    std::snprintf(b, sizeof b, "%.3f ms", i8->median());
    std::printf("  latency     %-12s %-12s (median per image, batch 1; p90 %.3f / %.3f ms)\n", a, b, f->p90(), i8->p90());
    if (!note.empty()) std::printf("\n  note: %s\n", note.c_str());
    std::printf("\nNext: edgeai quantize %s OUT.onnx --calibration %s --max-samples 200 | edgeai eval OUT.onnx --reference %s --data %s --labels %s\n",
                model_path.c_str(), (dir / "train_images.npy").c_str(), model_path.c_str(),
                (dir / "test_images.npy").c_str(), (dir / "test_labels.npy").c_str());
    return 0;
  };
}

}  // namespace edgeai::cli
