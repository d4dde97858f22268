// edgeai distill: knowledge distillation of a teacher model into a (smaller) student:
// loss = alpha * CE(labels) + (1 - alpha) * T^2 * KL(softmax(teacher / T) || softmax(student / T)),
// with early stopping on a validation split. --baseline also trains the same student on labels
// alone with the same settings, for comparison.
#include <cstdio>
#include <nlohmann/json.hpp>

#include "commands.h"
#include "compress/train/init.h"
#include "runtime/session.h"
#include "train_common.h"

namespace edgeai::cli {

using namespace compress::train;

Command add_distill(CLI::App& app) {
  struct Opts {
    std::string teacher, student, out, init = "keep";
    float alpha = 0.1f, temperature = 8.0f;
    bool baseline = false;
    TrainFlags f;
  };
  auto o = std::make_shared<Opts>();
  o->f.epochs = 80;
  o->f.val_split = 0.1;
  o->f.patience = 20;
  auto* sub = app.add_subcommand("distill", "Distill a teacher model into a student");
  sub->add_option("output", o->out, "Distilled student to write (.onnx)")->required();
  sub->add_option("--teacher", o->teacher, "Teacher model (.onnx)")->required();
  sub->add_option("--student", o->student, "Student model (.onnx) with its initial weights")->required();
  sub->add_option("--alpha", o->alpha, "Weight of the label loss (1 - alpha on the teacher's)")->capture_default_str();
  sub->add_option("--temperature", o->temperature, "Softmax temperature of the distillation loss")->capture_default_str();
  sub->add_option("--init", o->init, "Student start: keep (its weights) or random")->capture_default_str();
  sub->add_flag("--baseline", o->baseline, "Also train the student on labels alone (same settings) and report both");
  add_train_flags(sub, o->f);
  return [o]() -> int {
    const TrainFlags& f = o->f;
    if (!(o->alpha >= 0 && o->alpha <= 1)) return fail("--alpha must be in [0, 1]");
    if (!(o->temperature > 0)) return fail("--temperature must be > 0");
    if (o->init != "keep" && o->init != "random") return fail("--init must be keep or random");
    auto tg = load_graph(o->teacher);
    if (!tg.ok()) return fail(tg.status().message());
    auto sg = load_graph(o->student);
    if (!sg.ok()) return fail(sg.status().message());
    auto teacher_graph = std::make_shared<const ir::Graph>(std::move(tg).value());
    auto env = Env::create(f.threads);
    auto session = runtime::Session::create(teacher_graph, *env);
    if (!session.ok()) return fail(o->teacher + ": " + session.status().message());
    if (teacher_graph->feed_inputs().size() != 1) return fail(o->teacher + ": the teacher must have one input");
    const std::string tin = teacher_graph->feed_inputs()[0]->name;
    TrainableOptions to;
    to.threads = f.threads;

    auto run = [&](bool distill, double* val_acc, double* eval_acc, int64_t* params, TrainReport* rep,
                   const std::string& save_to) -> Status {
      ASSIGN_OR_RETURN(auto model, Trainable::create(*sg, to));
      if (o->init == "random") RETURN_IF_ERROR(reinitialize(*model, f.seed));
      ASSIGN_OR_RETURN(TrainData data, load_train_data(f, *model));
      ASSIGN_OR_RETURN(TrainConfig config, make_config(f, distill ? "distill" : "labels-only"));
      if (distill) {
        config.alpha = o->alpha;
        config.temperature = o->temperature;
        config.teacher = [&](const Tensor& x) -> Result<Tensor> {
          ASSIGN_OR_RETURN(auto out, (*session)->run({{tin, runtime::Value::of(x)}}));
          return out[0].tensor.clone();
        };
      }
      ASSIGN_OR_RETURN(*rep, fit(*model, data.train, data.val.size() ? &data.val : nullptr, config));
      *val_acc = rep->val_accuracy;
      *params = model->parameter_count();
      if (!save_to.empty()) RETURN_IF_ERROR(save_graph(model->graph(), save_to));
      *eval_acc = -1;
      if (data.eval.size()) {
        ASSIGN_OR_RETURN(*eval_acc, session_accuracy(model->graph(), data.eval, f.threads));
      }
      return ok_status();
    };
    double val = 0, eval = -1, base_val = 0, base_eval = -1;
    int64_t params = 0;
    TrainReport rep, base_rep;
    if (Status s = run(true, &val, &eval, &params, &rep, o->out); !s.ok()) return fail(s.message());
    if (o->baseline) {
      if (Status s = run(false, &base_val, &base_eval, &params, &base_rep, ""); !s.ok()) return fail(s.message());
    }
    // The teacher on the same held-out data.
    double teacher_eval = -1;
    int64_t teacher_params = teacher_graph->parameter_count();
    if (!f.eval_data.empty()) {
      auto tm = Trainable::create(*teacher_graph, to);
      if (!tm.ok()) return fail(tm.status().message());
      auto data = load_train_data(f, **tm);
      if (!data.ok()) return fail(data.status().message());
      auto a = session_accuracy(*teacher_graph, data->eval, f.threads);
      if (!a.ok()) return fail(a.status().message());
      teacher_eval = *a;
    }
    if (f.json) {
      nlohmann::json j{{"teacher", o->teacher}, {"student", o->student}, {"output", o->out},
                       {"teacher_parameters", teacher_params}, {"student_parameters", params},
                       {"alpha", o->alpha}, {"temperature", o->temperature}, {"steps", rep.steps}, {"epochs", rep.epochs_run},
                       {"stopped_early", rep.stopped_early}, {"val_accuracy", val}};
      if (eval >= 0) j["eval_accuracy"] = eval;
      if (teacher_eval >= 0) j["teacher_eval_accuracy"] = teacher_eval;
      if (o->baseline) {
        j["labels_only_val_accuracy"] = base_val;
        if (base_eval >= 0) j["labels_only_eval_accuracy"] = base_eval;
      }
      std::printf("%s\n", j.dump(2).c_str());
      return 0;
    }
    std::printf("edgeai distill: %s (%lld parameters) -> %s (%lld parameters, %.1fx fewer)\n", o->teacher.c_str(),
                (long long)teacher_params, o->out.c_str(), (long long)params, params ? double(teacher_params) / params : 0.0);
    std::printf("  loss         %.2f * CE + %.2f * T^2 KL, T = %.1f; %lld steps, %d epochs%s\n", o->alpha, 1 - o->alpha,
                o->temperature, (long long)rep.steps, rep.epochs_run, rep.stopped_early ? " (stopped early)" : "");
    std::printf("  validation   %.2f%% distilled", 100 * val);
    if (o->baseline) std::printf(", %.2f%% labels only", 100 * base_val);
    std::printf("\n");
    if (eval >= 0) {
      std::printf("  held-out     %.2f%% distilled", 100 * eval);
      if (o->baseline) std::printf(", %.2f%% labels only", 100 * base_eval);
      if (teacher_eval >= 0) std::printf(", teacher %.2f%% (student reaches %.1f%% of it)", 100 * teacher_eval, 100 * eval / teacher_eval);
      std::printf("\n");
    }
    return 0;
  };
}

}  // namespace edgeai::cli
