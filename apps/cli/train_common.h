// What `edgeai train`, `prune`, `distill` and `qat` share: the training options and data
// (training set, validation split, held-out evaluation set), accuracy and latency measured
// through a runtime Session, and writing the result as ONNX.
#pragma once

#include <CLI/CLI.hpp>
#include <memory>
#include <string>

#include "compress/train/autodiff.h"
#include "compress/train/data.h"
#include "compress/train/trainer.h"
#include "ir/graph.h"

namespace edgeai::cli {

struct TrainFlags {
  std::string data, labels, val_data, val_labels, eval_data, eval_labels;
  double val_split = 0;
  int epochs = 10;
  int64_t steps = 0;
  int64_t batch = 64;
  float lr = 2e-3f, min_lr = 0, weight_decay = 0, momentum = 0.9f;
  std::string optimizer = "adam", schedule = "cosine";
  int64_t warmup = 0;
  uint64_t seed = 0;
  int patience = 0;
  int threads = 1;
  bool quiet = false, json = false;
};

// Registers the shared options on a verb.
void add_train_flags(CLI::App* sub, TrainFlags& f);

struct TrainData {
  compress::train::Dataset train, val, eval;
  int64_t classes = 0;
};

// Reads --data/--labels (and --val-data or --val-split, --eval-data), shapes them for the model,
// checks every label against the model's class count (its output width).
Result<TrainData> load_train_data(const TrainFlags& f, compress::train::Trainable& model);
// The optimizer, schedule and loop settings from the flags.
Result<compress::train::TrainConfig> make_config(const TrainFlags& f, const std::string& label);

// Loads an ONNX model as a graph.
Result<ir::Graph> load_graph(const std::string& path);
// Accuracy (fraction) of a graph on a dataset through a runtime Session (graph passes on).
Result<double> session_accuracy(const ir::Graph& g, const compress::train::Dataset& d, int threads);
// Batch-1 latency in ms of two graphs on the first sample of `d`, measured side by side: `rounds`
// rounds alternate between them, each with reps / rounds timed runs per graph (after 5 warm-up
// runs of each), so that load on a shared machine falls on both alike.
struct LatencyPair {
  double min_a = 0, median_a = 0, min_b = 0, median_b = 0;
};
Result<LatencyPair> compare_latency_ms(const ir::Graph& a, const ir::Graph& b, const compress::train::Dataset& d,
                                       int threads, int reps, int rounds = 5);
// Writes the graph as ONNX and reads it back (checked by loading it again).
Status save_graph(const ir::Graph& g, const std::string& path);

}  // namespace edgeai::cli
