// edgeai qat: quantization-aware training. Calibrates the float model, fine-tunes it with fake
// quantizers (straight-through gradients) where static QDQ quantization quantizes, and writes the
// same QDQ layout as `edgeai quantize` (compress::quantize_static: int8 symmetric per-channel
// weights, uint8 asymmetric per-tensor activations, int32 bias). Reports fp32, static PTQ and QAT
// accuracy.
#include <algorithm>
#include <cstdio>
#include <nlohmann/json.hpp>

#include "commands.h"
#include "compress/quantize/quantize.h"
#include "compress/train/fake_quant.h"
#include "train_common.h"

namespace edgeai::cli {

using namespace compress::train;

namespace {

Result<std::vector<compress::CalibrationSample>> calibration_samples(const Dataset& d, const std::string& input, int64_t count) {
  std::vector<compress::CalibrationSample> out;
  const int64_t n = std::min(count, d.size());
  for (int64_t s = 0; s < n; s += 64) {
    std::vector<int64_t> idx;
    for (int64_t i = s; i < std::min(n, s + 64); ++i) idx.push_back(i);
    ASSIGN_OR_RETURN(Tensor x, gather_rows(d.x, idx));
    out.push_back({{input, runtime::Value::of(x)}});
  }
  return out;
}

}  // namespace

Command add_qat(CLI::App& app) {
  struct Opts {
    std::string in, out;
    int64_t calib = 512;
    TrainFlags f;
  };
  auto o = std::make_shared<Opts>();
  o->f.lr = 1e-4f;
  o->f.epochs = 5;
  o->f.patience = 2;  // with validation data: early stopping, and the start kept unless an epoch validates better
  auto* sub = app.add_subcommand("qat", "Quantization-aware training to an int8 QDQ model");
  sub->add_option("model", o->in, "Float model (.onnx)")->required();
  sub->add_option("output", o->out, "int8 QDQ model to write (.onnx)")->required();
  sub->add_option("--calib-samples", o->calib, "Training samples used to calibrate activation ranges")->capture_default_str();
  add_train_flags(sub, o->f);
  return [o]() -> int {
    const TrainFlags& f = o->f;
    if (o->calib < 1) return fail("--calib-samples must be >= 1");
    auto g = load_graph(o->in);
    if (!g.ok()) return fail(g.status().message());
    TrainableOptions to;
    to.threads = f.threads;
    auto probe = Trainable::create(*g, to);
    if (!probe.ok()) return fail(o->in + ": " + probe.status().message());
    auto data = load_train_data(f, **probe);
    if (!data.ok()) return fail(data.status().message());
    const Dataset& report_set = data->eval.size() ? data->eval : (data->val.size() ? data->val : data->train);
    auto samples = calibration_samples(data->train, (*probe)->input_name(), o->calib);
    if (!samples.ok()) return fail(samples.status().message());
    auto env = Env::create(f.threads);
    auto r0 = compress::calibrate(*g, *samples, compress::CalibrationMethod::kMinMax, *env);
    if (!r0.ok()) return fail("calibration: " + r0.status().message());
    compress::QuantizeOptions qo;
    auto ptq = compress::quantize_static(*g, *r0, qo);
    if (!ptq.ok()) return fail("static quantization: " + ptq.status().message());
    auto acc_fp32 = session_accuracy(*g, report_set, f.threads);
    if (!acc_fp32.ok()) return fail(acc_fp32.status().message());
    auto acc_ptq = session_accuracy(*ptq->graph, report_set, f.threads);
    if (!acc_ptq.ok()) return fail(acc_ptq.status().message());

    auto qat = insert_fake_quant(*g, *r0);
    if (!qat.ok()) return fail(qat.status().message());
    auto model = Trainable::create(qat->graph, to);
    if (!model.ok()) return fail(model.status().message());
    Trainable& m = **model;
    auto config = make_config(f, "qat");
    if (!config.ok()) return fail(config.status().message());
    const auto weights = qat->weights;
    config->before_step = [&](int64_t, int64_t) { return update_weight_scales(m, weights); };
    config->validate_start = true;
    auto report = fit(m, data->train, data->val.size() ? &data->val : nullptr, *config);
    if (!report.ok()) return fail(report.status().message());
    if (Status s = update_weight_scales(m, weights); !s.ok()) return fail(s.message());
    auto acc_fq = accuracy(m, report_set);
    if (!acc_fq.ok()) return fail(acc_fq.status().message());

    // Export: the trained float graph through the static quantizer, with the ranges training saw.
    ir::Graph trained = strip_fake_quant(m.graph());
    auto r1 = compress::calibrate(trained, *samples, compress::CalibrationMethod::kMinMax, *env);
    if (!r1.ok()) return fail("calibration: " + r1.status().message());
    for (const std::string& a : qat->activations) (*r1)[a] = r0->at(a);
    auto exported = compress::quantize_static(trained, *r1, qo);
    if (!exported.ok()) return fail("static quantization: " + exported.status().message());
    if (Status s = save_graph(*exported->graph, o->out); !s.ok()) return fail(s.message());
    auto saved = load_graph(o->out);
    if (!saved.ok()) return fail(saved.status().message());
    auto acc_qat = session_accuracy(*saved, report_set, f.threads);
    if (!acc_qat.ok()) return fail(acc_qat.status().message());
    const char* set_name = data->eval.size() ? "held-out" : (data->val.size() ? "validation" : "training");
    if (f.json) {
      nlohmann::json j{{"model", o->in}, {"output", o->out}, {"accuracy_set", set_name}, {"accuracy_fp32", *acc_fp32},
                       {"accuracy_ptq", *acc_ptq}, {"accuracy_qat", *acc_qat}, {"accuracy_fake_quant", *acc_fq},
                       {"steps", report->steps}, {"quantized_ops", exported->report.quantized()}};
      if (report->start_val_accuracy >= 0) {
        j["val_accuracy_start"] = report->start_val_accuracy;
        j["val_accuracy_best"] = report->val_accuracy;
        j["best_epoch"] = report->best_epoch;
      }
      std::printf("%s\n", j.dump(2).c_str());
      return 0;
    }
    std::printf("edgeai qat: %s -> %s (int8 QDQ, %d ops quantized)\n", o->in.c_str(), o->out.c_str(), exported->report.quantized());
    std::printf("  fine-tune    %lld steps with fake quantization, final loss %.4f\n", (long long)report->steps, report->last_loss);
    if (report->start_val_accuracy >= 0) {
      std::printf("  validation   %.2f%% with fake quantization at the start, best %.2f%% (%s)\n", 100 * report->start_val_accuracy,
                  100 * report->val_accuracy,
                  report->best_epoch < 0 ? "no epoch validated better: the start is kept"
                                         : ("epoch " + std::to_string(report->best_epoch + 1) + " kept").c_str());
    }
    std::printf("  accuracy     fp32 %.2f%%, static PTQ %.2f%%, QAT %.2f%% (%s set, %lld samples)\n", 100 * *acc_fp32,
                100 * *acc_ptq, 100 * *acc_qat, set_name, (long long)report_set.size());
    return 0;
  };
}

}  // namespace edgeai::cli
