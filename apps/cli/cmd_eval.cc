// edgeai eval MODEL --reference REF.onnx --data SRC [--labels FILE] [--per-layer] [--json]: runs both
// models on the same inputs and reports top-1 agreement, accuracy against labels, and per output the
// max/mean absolute error and SQNR; --per-layer adds the SQNR of each quantized layer (the
// reference's intermediate tensors against the model's), so that one sees which layer hurts.
#include <cmath>
#include <cstdio>
#include <nlohmann/json.hpp>

#include "commands.h"
#include "compress/quantize/evaluate.h"
#include "formats/onnx/onnx_import.h"
#include "model_io.h"
#include "sample_data.h"

namespace edgeai::cli {

namespace {

nlohmann::json db_json(double db) { return std::isfinite(db) ? nlohmann::json(db) : nlohmann::json(nullptr); }

}  // namespace

Command add_eval(CLI::App& app) {
  struct Opts {
    std::string model, reference, data, labels;
    int64_t max_samples = -1;
    int threads = 1;
    bool per_layer = false, json = false, progress = false;
  };
  auto o = std::make_shared<Opts>();
  auto* sub = app.add_subcommand("eval", "Compare a model against a reference model on data: agreement, accuracy, error, per-layer SQNR");
  sub->add_option("model", o->model, "model to evaluate (.onnx, e.g. the int8 one)")->required();
  sub->add_option("--reference", o->reference, "reference model (.onnx, e.g. the float one)")->required();
  sub->add_option("--data", o->data, "inputs: folder of .npy/.pb samples, or one .npy whose first axis indexes samples")->required();
  sub->add_option("--labels", o->labels, ".npy of integer classes, one per row of the data");
  sub->add_option("--max-samples", o->max_samples, "use at most N samples");
  sub->add_option("-t,--threads", o->threads, "threads")->capture_default_str();
  sub->add_flag("--per-layer", o->per_layer, "SQNR of each quantized layer against the reference's tensor");
  sub->add_flag("--progress", o->progress, "progress bar even when stderr is not a terminal");
  sub->add_flag("--json", o->json, "print one JSON object");
  return [o]() -> int {
    auto m = formats::load_onnx(o->model);
    if (!m.ok()) return fail("eval: " + m.status().message());
    auto r = formats::load_onnx(o->reference);
    if (!r.ok()) return fail("eval: " + r.status().message());
    auto data = load_samples(*r->graph, o->data, o->max_samples);
    if (!data.ok()) return fail("eval: data: " + data.status().message());
    std::optional<Tensor> labels;
    if (!o->labels.empty()) {
      auto l = load_tensor_file(o->labels);
      if (!l.ok()) return fail("eval: labels: " + l.status().message());
      if (!dtype_is_integer(l->dtype())) return fail("eval: labels: " + o->labels + " holds " + std::string(dtype_name(l->dtype())) + ", not integer classes");
      labels = std::move(l).value();
    }
    auto env = Env::create(o->threads);
    auto e = compress::evaluate(*m->graph, *r->graph, *data, labels ? &*labels : nullptr, *env,
                                progress_bar("evaluating", o->progress || stderr_is_tty()), o->max_samples >= 0);
    if (!e.ok()) return fail("eval: " + e.status().message());
    std::vector<compress::LayerError> layers;
    if (o->per_layer) {
      auto l = compress::per_layer_sqnr(*m->graph, *r->graph, *data, *env);
      if (!l.ok()) return fail("eval: per-layer: " + l.status().message());
      layers = std::move(l).value();
    }
    if (o->json) {
      nlohmann::json j{{"model", o->model}, {"reference", o->reference}, {"samples", data->size()},
                       {"rows", e->rows}, {"agreement", e->agreement}};
      if (e->accuracy) {
        j["accuracy"] = *e->accuracy;
        j["reference_accuracy"] = *e->reference_accuracy;
      }
      j["outputs"] = nlohmann::json::array();
      for (const auto& out : e->outputs) {
        j["outputs"].push_back({{"name", out.name}, {"max_abs_error", out.max_abs_error},
                                {"mean_abs_error", out.mean_abs_error}, {"sqnr_db", db_json(out.sqnr_db)}});
      }
      if (o->per_layer) {
        j["layers"] = nlohmann::json::array();
        for (const auto& l : layers) {
          j["layers"].push_back({{"node", l.node}, {"op", l.op_type}, {"tensor", l.tensor}, {"sqnr_db", db_json(l.sqnr_db)}});
        }
      }
      std::printf("%s\n", j.dump(2).c_str());
      return 0;
    }
    std::printf("eval %s against %s on %zu samples (%lld rows)\n", o->model.c_str(), o->reference.c_str(), data->size(),
                static_cast<long long>(e->rows));
    std::printf("  top-1 agreement  %.2f%% (%lld of %lld)\n", 100 * e->agreement, static_cast<long long>(e->agree),
                static_cast<long long>(e->rows));
    if (e->accuracy) {
      std::printf("  accuracy         %.2f%% (reference %.2f%%, drop %.2f points)\n", 100 * *e->accuracy,
                  100 * *e->reference_accuracy, 100 * (*e->reference_accuracy - *e->accuracy));
    }
    for (const auto& out : e->outputs) {
      std::printf("  output %-12s max abs error %.4g, mean abs error %.4g, SQNR %.1f dB\n", out.name.c_str(),
                  out.max_abs_error, out.mean_abs_error, out.sqnr_db);
    }
    if (o->per_layer) {
      std::printf("  per layer (SQNR of each quantized layer's output; lowest hurts most):\n");
      for (const auto& l : layers) {
        std::printf("    %-40s %-8s %6.1f dB\n", l.node.c_str(), l.op_type.c_str(), l.sqnr_db);
      }
      if (layers.empty()) std::printf("    (no quantized layers found)\n");
    }
    return 0;
  };
}

}  // namespace edgeai::cli
