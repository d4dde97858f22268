// edgeai train: trains an ONNX model (its initializers are the starting weights, or a fresh
// initialization with --init random) on labelled data, with the engine of src/compress/train, and
// writes the trained model as ONNX.
#include <cstdio>
#include <nlohmann/json.hpp>

#include "commands.h"
#include "compress/train/init.h"
#include "train_common.h"

namespace edgeai::cli {

using namespace compress::train;

Command add_train(CLI::App& app) {
  struct Opts {
    std::string in, out, init = "keep";
    TrainFlags f;
  };
  auto o = std::make_shared<Opts>();
  auto* sub = app.add_subcommand("train", "Train an ONNX model on labelled data and write the trained model");
  sub->add_option("model", o->in, "Model (.onnx) with its initial weights")->required();
  sub->add_option("output", o->out, "Trained model to write (.onnx)")->required();
  sub->add_option("--init", o->init, "keep: start from the model's weights; random: a fresh initialization")->capture_default_str();
  add_train_flags(sub, o->f);
  return [o]() -> int {
    const TrainFlags& f = o->f;
    if (o->init != "keep" && o->init != "random") return fail("--init must be keep or random");
    auto g = load_graph(o->in);
    if (!g.ok()) return fail(g.status().message());
    TrainableOptions to;
    to.threads = f.threads;
    auto model = Trainable::create(*g, to);
    if (!model.ok()) return fail(o->in + ": " + model.status().message());
    Trainable& m = **model;
    if (o->init == "random") {
      if (Status s = reinitialize(m, f.seed); !s.ok()) return fail(s.message());
    }
    auto data = load_train_data(f, m);
    if (!data.ok()) return fail(data.status().message());
    auto config = make_config(f, "train");
    if (!config.ok()) return fail(config.status().message());
    double before = -1;
    if (data->eval.size() > 0) {
      auto a = accuracy(m, data->eval);
      if (!a.ok()) return fail(a.status().message());
      before = *a;
    }
    auto report = fit(m, data->train, data->val.size() ? &data->val : nullptr, *config);
    if (!report.ok()) return fail(report.status().message());
    if (Status s = save_graph(m.graph(), o->out); !s.ok()) return fail(s.message());
    double after = -1;
    if (data->eval.size() > 0) {
      auto a = session_accuracy(m.graph(), data->eval, f.threads);  // the written model, through a Session
      if (!a.ok()) return fail(a.status().message());
      after = *a;
    }
    if (f.json) {
      nlohmann::json j{{"model", o->in}, {"output", o->out}, {"parameters", m.parameter_count()},
                       {"train_samples", data->train.size()}, {"val_samples", data->val.size()},
                       {"steps", report->steps}, {"epochs", report->epochs_run}, {"final_loss", report->last_loss},
                       {"train_accuracy", report->train_accuracy}};
      if (report->val_accuracy >= 0) j["val_accuracy"] = report->val_accuracy;
      if (before >= 0) j["eval_accuracy_before"] = before;
      if (after >= 0) j["eval_accuracy_after"] = after;
      std::printf("%s\n", j.dump(2).c_str());
      return 0;
    }
    std::printf("edgeai train: %s -> %s\n", o->in.c_str(), o->out.c_str());
    std::printf("  parameters   %lld trained (%s init)\n", (long long)m.parameter_count(), o->init.c_str());
    std::printf("  data         %lld training samples, %lld validation, %lld classes\n", (long long)data->train.size(),
                (long long)data->val.size(), (long long)data->classes);
    std::printf("  training     %lld steps, %d epochs, final loss %.4f, train accuracy %.2f%%\n", (long long)report->steps,
                report->epochs_run, report->last_loss, 100 * report->train_accuracy);
    if (report->val_accuracy >= 0) {
      std::printf("  validation   best %.2f%% (epoch %d)%s\n", 100 * report->val_accuracy, report->best_epoch + 1,
                  report->stopped_early ? ", stopped early" : "");
    }
    if (before >= 0) std::printf("  held-out     %.2f%% before, %.2f%% after (%lld samples)\n", 100 * before, 100 * after, (long long)data->eval.size());
    return 0;
  };
}

}  // namespace edgeai::cli
