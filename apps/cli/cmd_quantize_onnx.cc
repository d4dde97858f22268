// edgeai quantize IN.onnx OUT.onnx [--mode static|dynamic] [--calibration SRC | --calibration-random N]
// [--method minmax|percentile|entropy|mse] [--per-tensor] [--symmetric] [--exclude NODE_OR_OP...]
// [--max-accuracy-drop X --labels FILE | --min-agreement Y] [--eval-data SRC] [--progress] [--json]:
// int8 post-training quantization to standard ONNX (QDQ for static, DynamicQuantizeLinear +
// MatMulInteger and int8 weights for dynamic); see src/compress/quantize/quantize.h.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>

#include "commands.h"
#include "compress/quantize/evaluate.h"
#include "compress/quantize/quantize.h"
#include "formats/onnx/onnx_export.h"
#include "formats/onnx/onnx_import.h"
#include "model_io.h"
#include "quantize_onnx.h"
#include "sample_data.h"

namespace edgeai::cli {

namespace {

namespace fs = std::filesystem;
using compress::QuantizedModel;

struct Target {
  bool labels = false;
  double max_drop = -1, min_agreement = -1;
  bool met(const compress::EvalResult& e) const {
    if (max_drop >= 0 && e.accuracy && e.reference_accuracy &&
        100.0 * (*e.reference_accuracy - *e.accuracy) > max_drop + 1e-9) {
      return false;
    }
    return !(min_agreement >= 0 && e.agreement + 1e-12 < min_agreement);
  }
};

std::string fmt_bytes(double b) {
  char buf[32];
  if (b >= 1048576) std::snprintf(buf, sizeof buf, "%.2f MB", b / 1048576);
  else std::snprintf(buf, sizeof buf, "%.1f KB", b / 1024);
  return buf;
}

}  // namespace

void add_quantize_onnx_options(CLI::App* sub, QuantizeOnnxArgs& a) {
  auto* g = "ONNX int8";
  sub->add_option("--mode", a.mode, "ONNX: static (QDQ, needs calibration data) or dynamic (default: static when "
                                     "calibration data is given, else dynamic)")->group(g);
  sub->add_option("--calibration", a.calibration, "ONNX static: folder of .npy/.pb samples (a sub-folder per sample "
                                                   "for several inputs), or one .npy whose first axis indexes samples")->group(g);
  sub->add_option("--calibration-random", a.calibration_random, "ONNX static: N random samples (a smoke run)")->group(g);
  sub->add_option("--max-samples", a.max_samples, "use at most N calibration samples")->group(g);
  sub->add_option("--method", a.method, "calibration method: minmax, percentile, entropy, mse")->group(g);
  sub->add_option("--percentile", a.percentile, "share of values the percentile method keeps (default 99.99)")->group(g);
  sub->add_flag("--per-tensor", a.per_tensor, "one scale per weight tensor (default: per output channel)")->group(g);
  sub->add_flag("--symmetric", a.symmetric, "int8 symmetric activations (default: uint8 asymmetric)")->group(g);
  sub->add_option("--exclude", a.exclude, "node names (shell patterns: '*/stft/*') or op types to leave in float")->group(g);
  sub->add_option("--max-accuracy-drop", a.max_accuracy_drop, "keep the most sensitive layers in float until the "
                                                               "accuracy drop (points) is at most X; needs --labels")->group(g);
  sub->add_option("--min-agreement", a.min_agreement, "keep the most sensitive layers in float until top-1 agreement "
                                                       "with the float model is at least Y (0-1)")->group(g);
  sub->add_option("--eval-data", a.eval_data, "data for the accuracy target (default: the calibration data)")->group(g);
  sub->add_option("--labels", a.labels, ".npy of integer classes, one per --eval-data row")->group(g);
  sub->add_flag("--progress", a.progress, "show the calibration progress bar even when stderr is not a terminal")->group(g);
  sub->add_flag("--json", a.json, "print the summary as one JSON object")->group(g);
}

int quantize_onnx(const std::string& in, const std::string& out, const QuantizeOnnxArgs& a) {
  const bool calibrated = !a.calibration.empty() || a.calibration_random > 0;
  const std::string mode = a.mode.empty() ? (calibrated ? "static" : "dynamic") : a.mode;
  if (mode != "static" && mode != "dynamic") return fail("quantize: unknown --mode '" + mode + "' (static or dynamic)");
  if (mode == "static" && !calibrated) {
    return fail("quantize: --mode static needs --calibration SRC (or --calibration-random N for a smoke run)");
  }
  if (mode == "dynamic" && calibrated) return fail("quantize: --mode dynamic takes no calibration data");
  if (!a.calibration.empty() && a.calibration_random > 0) {
    return fail("quantize: give --calibration or --calibration-random, not both");
  }
  auto method = compress::parse_calibration_method(a.method);
  if (!method.ok()) return fail("quantize: " + method.status().message());
  if (!(a.percentile > 0 && a.percentile <= 100)) return fail("quantize: --percentile must be in (0, 100]");
  Target target;
  target.max_drop = a.max_accuracy_drop;
  target.min_agreement = a.min_agreement > 1 ? a.min_agreement / 100.0 : a.min_agreement;
  const bool accuracy_aware = target.max_drop >= 0 || target.min_agreement >= 0;
  if (target.max_drop >= 0 && a.labels.empty()) return fail("quantize: --max-accuracy-drop needs --labels FILE");
  std::string eval_source = a.eval_data.empty() ? a.calibration : a.eval_data;
  if (accuracy_aware && eval_source.empty()) {
    return fail("quantize: an accuracy target needs data: --eval-data SRC (or --calibration SRC)");
  }

  auto model = formats::load_onnx(in);
  if (!model.ok()) return fail("quantize: " + model.status().message());
  const ir::Graph& graph = *model->graph;
  compress::QuantizeOptions opt;
  opt.per_channel = !a.per_tensor;
  opt.symmetric_activations = a.symmetric;
  opt.method = *method;
  opt.percentile = a.percentile;
  opt.exclude = a.exclude;
  auto env = Env::create(a.threads);

  // Calibration (static).
  compress::CalibrationRanges ranges;
  int64_t n_samples = 0;
  if (mode == "static") {
    auto samples = !a.calibration.empty() ? load_samples(graph, a.calibration, a.max_samples)
                                          : random_samples(graph, a.calibration_random, 1234);
    if (!samples.ok()) return fail("quantize: calibration data: " + samples.status().message());
    n_samples = static_cast<int64_t>(samples->size());
    auto r = compress::calibrate(graph, *samples, opt.method, *env,
                                 progress_bar("calibrating", a.progress || stderr_is_tty()));
    if (!r.ok()) return fail("quantize: calibration: " + r.status().message());
    ranges = std::move(r).value();
  }
  auto quantize = [&](const compress::QuantizeOptions& o) {
    return mode == "static" ? compress::quantize_static(graph, ranges, o) : compress::quantize_dynamic(graph, o);
  };
  auto q = quantize(opt);
  if (!q.ok()) return fail("quantize: " + in + ": " + q.status().message());

  // Accuracy target: keep the lowest-SQNR layers in float, one at a time, until it holds.
  std::vector<std::pair<std::string, double>> kept_for_accuracy;
  std::optional<compress::EvalResult> eval;
  if (accuracy_aware) {
    auto data = load_samples(graph, eval_source, a.max_samples);
    if (!data.ok()) return fail("quantize: evaluation data: " + data.status().message());
    std::optional<Tensor> labels;
    if (!a.labels.empty()) {
      auto l = load_tensor_file(a.labels);
      if (!l.ok()) return fail("quantize: labels: " + l.status().message());
      labels = std::move(l).value();
    }
    std::vector<compress::CalibrationSample> probe(data->begin(), data->begin() + std::min<size_t>(data->size(), 32));
    for (;;) {
      auto e = compress::evaluate(*q->graph, graph, *data, labels ? &*labels : nullptr, *env, {}, a.max_samples >= 0);
      if (!e.ok()) return fail("quantize: evaluation: " + e.status().message());
      eval = *e;
      if (target.met(*e)) break;
      auto layers = compress::per_layer_sqnr(*q->graph, graph, probe, *env);
      if (!layers.ok()) return fail("quantize: per-layer analysis: " + layers.status().message());
      const compress::LayerError* worst = nullptr;
      for (const auto& l : *layers) {
        bool done = std::find(opt.exclude.begin(), opt.exclude.end(), l.node) != opt.exclude.end();
        if (!done && (!worst || l.sqnr_db < worst->sqnr_db)) worst = &l;
      }
      if (!worst) {
        std::fprintf(stderr, "edgeai: warning: the accuracy target is not met even with every layer in float that "
                             "the analysis can name\n");
        break;
      }
      kept_for_accuracy.push_back({worst->node, worst->sqnr_db});
      opt.exclude.push_back(worst->node);
      q = quantize(opt);
      if (!q.ok()) return fail("quantize: " + in + ": " + q.status().message());
    }
  }

  for (auto& d : q->report.ops) {
    for (const auto& [node, db] : kept_for_accuracy) {
      if (!d.quantized && d.node == node) d.reason = "kept in float for accuracy (SQNR " + std::to_string(db).substr(0, 4) + " dB)";
    }
  }
  formats::OnnxExportOptions eo;
  eo.check = true;
  Status st = formats::save_onnx(*q->graph, out, eo);
  if (!st.ok()) return fail("quantize: " + st.message());

  const auto& rep = q->report;
  std::error_code ec;
  const double size_in = static_cast<double>(fs::file_size(in, ec)), size_out = static_cast<double>(fs::file_size(out, ec));
  const std::string note = compress::int8_speed_note(env->cpu);
  if (a.json) {
    nlohmann::json j{{"input", in}, {"output", out}, {"mode", mode}, {"size_before", size_in}, {"size_after", size_out},
                     {"size_ratio", size_in > 0 ? size_out / size_in : 0}, {"weights_per_channel", opt.per_channel},
                     {"activations", opt.symmetric_activations ? "int8 symmetric" : "uint8 asymmetric"},
                     {"int8_faster_here", note.empty()}};
    if (mode == "static") {
      j["method"] = compress::calibration_method_name(opt.method);
      j["calibration_samples"] = n_samples;
    }
    j["quantized"] = nlohmann::json::array();
    j["float"] = nlohmann::json::array();
    for (const auto& d : rep.ops) {
      if (d.quantized) j["quantized"].push_back({{"node", d.node}, {"op", d.op_type}, {"how", d.how}});
      else j["float"].push_back({{"node", d.node}, {"op", d.op_type}, {"reason", d.reason}});
    }
    if (eval) {
      j["agreement"] = eval->agreement;
      if (eval->accuracy) j["accuracy"] = *eval->accuracy;
      if (eval->reference_accuracy) j["reference_accuracy"] = *eval->reference_accuracy;
      j["kept_for_accuracy"] = nlohmann::json::array();
      for (const auto& [node, db] : kept_for_accuracy) j["kept_for_accuracy"].push_back({{"node", node}, {"sqnr_db", db}});
    }
    if (!note.empty()) j["note"] = note;
    std::printf("%s\n", j.dump(2).c_str());
    return 0;
  }
  std::printf("quantized %s -> %s (%s int8", in.c_str(), out.c_str(), mode.c_str());
  if (mode == "static") {
    std::printf(", %s calibration on %lld samples", compress::calibration_method_name(opt.method),
                static_cast<long long>(n_samples));
  }
  std::printf(", weights %s)\n", opt.per_channel ? "per channel" : "per tensor");
  std::printf("  size          %s -> %s (%.2fx)\n", fmt_bytes(size_in).c_str(), fmt_bytes(size_out).c_str(),
              size_in > 0 ? size_out / size_in : 0.0);
  std::map<std::string, int> by_op;
  int n_float = 0;
  for (const auto& d : rep.ops) {
    if (d.quantized) ++by_op[d.op_type];
    else ++n_float;
  }
  std::string ops;
  for (const auto& [op, n] : by_op) ops += (ops.empty() ? "" : ", ") + op + " x" + std::to_string(n);
  std::printf("  quantized     %d ops%s%s\n", rep.quantized(), ops.empty() ? "" : ": ", ops.c_str());
  std::printf("  left in float %d ops\n", n_float);
  for (const auto& d : rep.ops) {
    if (!d.quantized) std::printf("    %s (%s): %s\n", d.node.c_str(), d.op_type.c_str(), d.reason.c_str());
  }
  if (eval) {
    std::printf("  agreement     %.2f%% top-1 with the float model", 100 * eval->agreement);
    if (eval->accuracy) {
      std::printf("; accuracy %.2f%% (float %.2f%%)", 100 * *eval->accuracy, 100 * *eval->reference_accuracy);
    }
    std::printf("\n");
    if (!kept_for_accuracy.empty()) {
      std::printf("  kept %zu layer(s) in float to meet the target (listed above)\n", kept_for_accuracy.size());
    }
  }
  if (!note.empty()) std::fprintf(stderr, "note: %s\n", note.c_str());
  return 0;
}

}  // namespace edgeai::cli
