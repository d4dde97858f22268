// edgeai prune: magnitude pruning (unstructured, global or per layer, with a polynomial-decay
// sparsity schedule during fine-tuning), 2:4 semi-structured pruning, and channel pruning
// (whole filters and neurons removed, the following layers rewritten: a physically smaller
// model). Reports accuracy and latency before and after.
#include <cstdio>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "commands.h"
#include "compress/prune/channels.h"
#include "compress/prune/magnitude.h"
#include "train_common.h"

namespace edgeai::cli {

using namespace compress;
using namespace compress::train;

Command add_prune(CLI::App& app) {
  struct Opts {
    std::string in, out, method = "magnitude", scope = "global";
    double target = 0.5;
    double flops = 0.5;
    int reps = 1000;
    TrainFlags f;
  };
  auto o = std::make_shared<Opts>();
  o->f.lr = 5e-4f;
  o->f.steps = 600;
  auto* sub = app.add_subcommand("prune", "Prune an ONNX model and fine-tune it");
  sub->add_option("model", o->in, "Model (.onnx)")->required();
  sub->add_option("output", o->out, "Pruned model to write (.onnx)")->required();
  sub->add_option("--method", o->method, "magnitude (unstructured), channels (structured: smaller layers) or 2:4")->capture_default_str();
  sub->add_option("--target-sparsity", o->target, "magnitude: fraction of weights set to zero, in [0, 1)")->capture_default_str();
  sub->add_option("--scope", o->scope, "magnitude: global (one threshold) or layer (each layer to the target)")->capture_default_str();
  sub->add_option("--flops", o->flops, "channels: fraction of the FLOPs to keep, in (0, 1]")->capture_default_str();
  sub->add_option("--reps", o->reps, "Timed latency runs of each model (before and after, alternating in 5 rounds)")->capture_default_str();
  add_train_flags(sub, o->f);
  return [o]() -> int {
    const TrainFlags& f = o->f;
    if (o->method != "magnitude" && o->method != "channels" && o->method != "2:4") {
      return fail("unknown --method '" + o->method + "' (magnitude, channels, 2:4)");
    }
    if (!(o->target >= 0 && o->target < 1)) return fail("--target-sparsity must be in [0, 1), got " + std::to_string(o->target));
    if (!(o->flops > 0 && o->flops <= 1)) return fail("--flops must be in (0, 1], got " + std::to_string(o->flops));
    auto scope = prune::parse_scope(o->scope);
    if (!scope.ok()) return fail(scope.status().message());
    auto g = load_graph(o->in);
    if (!g.ok()) return fail(g.status().message());
    const ir::Graph original = *g;
    TrainableOptions to;
    to.threads = f.threads;
    auto model = Trainable::create(*g, to);
    if (!model.ok()) return fail(o->in + ": " + model.status().message());
    auto data = load_train_data(f, **model);
    if (!data.ok()) return fail(data.status().message());
    const Dataset& report_set = data->eval.size() ? data->eval : (data->val.size() ? data->val : data->train);
    auto acc_before = session_accuracy(original, report_set, f.threads);
    if (!acc_before.ok()) return fail(acc_before.status().message());
    int64_t flops_before = prune::graph_flops(original, report_set.x), flops_after = flops_before;

    if (o->method == "channels") {
      auto shrunk = prune::prune_channels(**model, report_set.x, o->flops);
      if (!shrunk.ok()) return fail(shrunk.status().message());
      auto m2 = Trainable::create(std::move(shrunk).value(), to);
      if (!m2.ok()) return fail(m2.status().message());
      *model = std::move(m2).value();
      flops_after = prune::graph_flops((*model)->graph(), report_set.x);
    }
    Trainable& m = **model;
    auto config = make_config(f, "prune");
    if (!config.ok()) return fail(config.status().message());
    std::vector<size_t> targets = prune::prunable_params(m);
    std::unique_ptr<prune::MagnitudePruner> pruner;
    std::vector<std::vector<uint8_t>> nm;
    const int64_t per_epoch = (data->train.size() + f.batch - 1) / f.batch;
    const int64_t total = f.steps > 0 ? f.steps : per_epoch * f.epochs;
    if (o->method == "magnitude") {
      // Sparsity ramps up over the first 70% of the steps; the rest fine-tunes at the target.
      const int64_t end = std::max<int64_t>(1, total * 7 / 10);
      pruner = std::make_unique<prune::MagnitudePruner>(m, targets, *scope, o->target, 0, end, std::max<int64_t>(1, end / 20));
      pruner->update_masks(pruner->sparsity_at(0));
      config->after_step = [&](int64_t step, int64_t t) { return pruner->after_step(step, t); };
    } else if (o->method == "2:4") {
      nm = prune::nm_masks(m, targets, 2, 4);
      prune::apply_masks(m, targets, nm);
      config->after_step = [&](int64_t, int64_t) {
        prune::apply_masks(m, targets, nm);
        return ok_status();
      };
    }
    auto report = fit(m, data->train, data->val.size() ? &data->val : nullptr, *config);
    if (!report.ok()) return fail(report.status().message());
    if (Status s = save_graph(m.graph(), o->out); !s.ok()) return fail(s.message());
    auto saved = load_graph(o->out);
    if (!saved.ok()) return fail(saved.status().message());
    auto acc_after = session_accuracy(*saved, report_set, f.threads);
    if (!acc_after.ok()) return fail(acc_after.status().message());
    auto lat = compare_latency_ms(original, *saved, report_set, f.threads, o->reps);
    if (!lat.ok()) return fail(lat.status().message());
    const double sparsity = prune::weight_sparsity(*saved);
    const int64_t params_before = original.parameter_count(), params_after = saved->parameter_count();
    const char* set_name = data->eval.size() ? "held-out" : (data->val.size() ? "validation" : "training");
    if (f.json) {
      nlohmann::json j{{"model", o->in}, {"output", o->out}, {"method", o->method}, {"weight_sparsity", sparsity},
                       {"accuracy_before", *acc_before}, {"accuracy_after", *acc_after}, {"accuracy_set", set_name},
                       {"latency_ms_before", lat->median_a}, {"latency_ms_after", lat->median_b},
                       {"latency_ms_min_before", lat->min_a}, {"latency_ms_min_after", lat->min_b},
                       {"parameters_before", params_before}, {"parameters_after", params_after},
                       {"flops_before", flops_before}, {"flops_after", flops_after}, {"steps", report->steps},
                       {"bytes_after", std::filesystem::file_size(o->out)}};
      std::printf("%s\n", j.dump(2).c_str());
      return 0;
    }
    std::printf("edgeai prune (%s): %s -> %s\n", o->method.c_str(), o->in.c_str(), o->out.c_str());
    std::printf("  weights      %.1f%% zeros in Conv/Gemm/MatMul weights; parameters %lld -> %lld\n", 100 * sparsity,
                (long long)params_before, (long long)params_after);
    if (flops_after != flops_before) {
      std::printf("  FLOPs        %lld -> %lld multiply-adds per sample (%.2fx fewer)\n", (long long)flops_before,
                  (long long)flops_after, flops_after ? double(flops_before) / flops_after : 0.0);
    }
    std::printf("  fine-tune    %lld steps, final loss %.4f\n", (long long)report->steps, report->last_loss);
    std::printf("  accuracy     %.2f%% -> %.2f%% (%s set, %lld samples)\n", 100 * *acc_before, 100 * *acc_after, set_name,
                (long long)report_set.size());
    std::printf("  latency      min %.4f -> %.4f ms (%.2fx), median %.4f -> %.4f ms (%.2fx); batch 1, %d thread(s), side by side\n",
                lat->min_a, lat->min_b, lat->min_b > 0 ? lat->min_a / lat->min_b : 0.0, lat->median_a, lat->median_b,
                lat->median_b > 0 ? lat->median_a / lat->median_b : 0.0, f.threads);
    return 0;
  };
}

}  // namespace edgeai::cli
