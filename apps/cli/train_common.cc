#include "train_common.h"

#include <algorithm>
#include <chrono>
#include <vector>

#include "formats/onnx/onnx_export.h"
#include "formats/onnx/onnx_import.h"
#include "runtime/session.h"

namespace edgeai::cli {

using namespace compress::train;

void add_train_flags(CLI::App* sub, TrainFlags& f) {
  sub->add_option("--data", f.data, "Training data: X.npy (with --labels), a .csv (label first), or a folder of class folders of PGM/PPM images")->required();
  sub->add_option("--labels", f.labels, "Labels .npy for --data X.npy");
  sub->add_option("--val-data", f.val_data, "Validation data (as --data); default: --val-split of the training data");
  sub->add_option("--val-labels", f.val_labels, "Labels .npy for --val-data");
  sub->add_option("--val-split", f.val_split, "Fraction of the training data held out for validation (early stopping)")->check(CLI::Range(0.0, 0.9));
  sub->add_option("--eval-data", f.eval_data, "Held-out test data for the before/after report (as --data)");
  sub->add_option("--eval-labels", f.eval_labels, "Labels .npy for --eval-data");
  sub->add_option("--epochs", f.epochs, "Epochs")->capture_default_str();
  sub->add_option("--steps", f.steps, "Optimizer steps (overrides --epochs)");
  sub->add_option("--batch", f.batch, "Mini-batch size")->capture_default_str();
  sub->add_option("--lr", f.lr, "Learning rate")->capture_default_str();
  sub->add_option("--min-lr", f.min_lr, "Final learning rate of the cosine and linear schedules")->capture_default_str();
  sub->add_option("--optimizer", f.optimizer, "sgd, adam or adamw")->capture_default_str();
  sub->add_option("--momentum", f.momentum, "SGD momentum")->capture_default_str();
  sub->add_option("--weight-decay", f.weight_decay, "Weight decay")->capture_default_str();
  sub->add_option("--schedule", f.schedule, "Learning-rate schedule: constant, step, cosine, linear")->capture_default_str();
  sub->add_option("--warmup", f.warmup, "Linear warm-up steps")->capture_default_str();
  sub->add_option("--seed", f.seed, "Seed of the shuffles and initialization")->capture_default_str();
  sub->add_option("--patience", f.patience, "Early stopping: epochs without a better validation accuracy (0: off)")->capture_default_str();
  sub->add_option("-t,--threads", f.threads, "Threads")->capture_default_str();
  sub->add_flag("-q,--quiet", f.quiet, "No progress bar");
  sub->add_flag("--json", f.json, "Print the report as one JSON object");
}

Result<ir::Graph> load_graph(const std::string& path) {
  ASSIGN_OR_RETURN(formats::OnnxModel m, formats::load_onnx(path));
  return std::move(*m.graph);
}

Result<TrainData> load_train_data(const TrainFlags& f, Trainable& model) {
  TrainData d;
  ASSIGN_OR_RETURN(Dataset all, load_dataset(f.data, f.labels));
  RETURN_IF_ERROR(fit_to_model(all, model.input_shape()));
  if (all.size() == 0) return invalid_argument(f.data + ": no samples");
  // The class count: the width of the model's output on one sample.
  std::vector<int64_t> first{0};
  ASSIGN_OR_RETURN(Tensor x0, gather_rows(all.x, first));
  ASSIGN_OR_RETURN(Tensor y0, model.forward(x0, false));
  if (y0.rank() != 2) return invalid_argument("the model's output " + shape_str(y0.shape()) + " is not [batch, classes] logits");
  d.classes = y0.dim(1);
  RETURN_IF_ERROR(check_labels(all, d.classes).with_context(f.data + ": "));
  if (!f.val_data.empty()) {
    d.train = std::move(all);
    ASSIGN_OR_RETURN(d.val, load_dataset(f.val_data, f.val_labels));
    RETURN_IF_ERROR(fit_to_model(d.val, model.input_shape()));
    RETURN_IF_ERROR(check_labels(d.val, d.classes).with_context(f.val_data + ": "));
  } else if (f.val_split > 0) {
    split(all, f.val_split, f.seed + 1, &d.train, &d.val);
  } else {
    d.train = std::move(all);
  }
  if (!f.eval_data.empty()) {
    ASSIGN_OR_RETURN(d.eval, load_dataset(f.eval_data, f.eval_labels));
    RETURN_IF_ERROR(fit_to_model(d.eval, model.input_shape()));
    RETURN_IF_ERROR(check_labels(d.eval, d.classes).with_context(f.eval_data + ": "));
  }
  return d;
}

Result<TrainConfig> make_config(const TrainFlags& f, const std::string& label) {
  TrainConfig c;
  c.epochs = f.epochs;
  c.max_steps = f.steps;
  c.batch = f.batch;
  c.seed = f.seed;
  ASSIGN_OR_RETURN(c.optimizer.kind, parse_optimizer(f.optimizer));
  c.optimizer.weight_decay = f.weight_decay;
  c.optimizer.momentum = f.momentum;
  ASSIGN_OR_RETURN(c.schedule.kind, parse_schedule(f.schedule));
  c.schedule.base_lr = f.lr;
  c.schedule.min_lr = f.min_lr;
  c.schedule.warmup_steps = f.warmup;
  c.patience = f.patience;
  c.progress = !f.quiet && !f.json;
  c.label = label;
  if (!(f.lr > 0)) return invalid_argument("--lr must be > 0");
  if (f.batch < 1) return invalid_argument("--batch must be >= 1");
  if (f.epochs < 1 && f.steps < 1) return invalid_argument("--epochs or --steps must be >= 1");
  return c;
}

Result<double> session_accuracy(const ir::Graph& g, const Dataset& d, int threads) {
  auto graph = std::make_shared<const ir::Graph>(g);
  auto env = Env::create(threads);
  ASSIGN_OR_RETURN(auto session, runtime::Session::create(graph, *env));
  const std::string in = graph->feed_inputs().at(0)->name;
  int64_t correct = 0;
  for (int64_t s = 0; s < d.size(); s += 256) {
    std::vector<int64_t> idx;
    for (int64_t i = s; i < std::min(d.size(), s + 256); ++i) idx.push_back(i);
    ASSIGN_OR_RETURN(Tensor x, gather_rows(d.x, idx));
    ASSIGN_OR_RETURN(auto out, session->run({{in, runtime::Value::of(x)}}));
    const Tensor& logits = out[0].tensor;
    if (logits.rank() != 2 || logits.dtype() != DType::kF32) return invalid_argument("model output is not f32 logits [batch, classes]");
    for (size_t i = 0; i < idx.size(); ++i) {
      const float* p = logits.data<float>() + i * logits.dim(1);
      correct += (std::max_element(p, p + logits.dim(1)) - p) == d.y[idx[i]];
    }
  }
  return d.size() ? static_cast<double>(correct) / d.size() : 0.0;
}

Result<LatencyPair> compare_latency_ms(const ir::Graph& a, const ir::Graph& b, const Dataset& d, int threads, int reps,
                                       int rounds) {
  auto env = Env::create(threads);
  std::vector<int64_t> first{0};
  ASSIGN_OR_RETURN(Tensor x, gather_rows(d.x, first));
  struct Timed {
    std::shared_ptr<const ir::Graph> graph;
    std::unique_ptr<runtime::Session> session;
    std::vector<double> ms;
  };
  Timed t[2];
  t[0].graph = std::make_shared<const ir::Graph>(a);
  t[1].graph = std::make_shared<const ir::Graph>(b);
  for (Timed& m : t) {
    ASSIGN_OR_RETURN(m.session, runtime::Session::create(m.graph, *env));
  }
  auto time_runs = [&](Timed& m, int n, bool keep) -> Status {
    const std::string& in = m.graph->feed_inputs().at(0)->name;
    for (int r = 0; r < n; ++r) {
      auto t0 = std::chrono::steady_clock::now();
      ASSIGN_OR_RETURN(auto out, m.session->run({{in, runtime::Value::of(x)}}));
      if (keep) m.ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
    }
    return ok_status();
  };
  rounds = std::max(rounds, 1);
  const int per_round = std::max(reps / rounds, 1);
  for (Timed& m : t) RETURN_IF_ERROR(time_runs(m, 5, false));
  for (int r = 0; r < rounds; ++r) {
    for (Timed& m : t) RETURN_IF_ERROR(time_runs(m, per_round, true));
  }
  for (Timed& m : t) std::sort(m.ms.begin(), m.ms.end());
  return LatencyPair{t[0].ms.front(), t[0].ms[t[0].ms.size() / 2], t[1].ms.front(), t[1].ms[t[1].ms.size() / 2]};
}

Status save_graph(const ir::Graph& g, const std::string& path) {
  formats::OnnxExportOptions o;
  o.check = true;
  RETURN_IF_ERROR(formats::save_onnx(g, path, o));
  ASSIGN_OR_RETURN(formats::OnnxModel back, formats::load_onnx(path));
  (void)back;
  return ok_status();
}

}  // namespace edgeai::cli
