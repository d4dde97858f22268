// The training loop shared by train, prune, distill and qat: seeded shuffled mini batches, a loss
// of cross-entropy on labels and optionally distillation from a teacher's logits, an optimizer
// and learning-rate schedule, hooks around each step (pruning masks, quantizer ranges), a
// progress line, validation each epoch with early stopping.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "compress/train/autodiff.h"
#include "compress/train/data.h"
#include "compress/train/optimizer.h"

namespace edgeai::compress::train {

struct TrainConfig {
  int epochs = 10;
  int64_t max_steps = 0;  // > 0: stop after this many steps (the schedule spans them)
  int64_t batch = 64;
  uint64_t seed = 0;
  OptimizerOptions optimizer;
  LrSchedule schedule;  // total_steps is filled in from epochs / max_steps
  // Early stopping: stop when validation accuracy has not improved for `patience` epochs (0: never)
  // and restore the best parameters seen.
  int patience = 0;
  bool restore_best = true;
  // Fine-tuning: the starting parameters count as epoch -1 (validated before training), so that
  // with restore_best they are kept when no epoch validates better (needs patience > 0).
  bool validate_start = false;
  // Distillation: when set, teacher(x) gives the teacher's logits for a batch, and the loss is
  // alpha * CE(labels) + (1 - alpha) * T^2 * KL(softmax(teacher / T) || softmax(student / T)).
  std::function<Result<Tensor>(const Tensor& x)> teacher;
  float alpha = 1.0f;
  float temperature = 4.0f;
  // Called before each forward pass and after each optimizer step with (step, total steps).
  std::function<Status(int64_t, int64_t)> before_step, after_step;
  // Progress to stderr ("\r" line per batch); `label` starts it.
  bool progress = false;
  std::string label = "train";
};

struct TrainReport {
  int64_t steps = 0;
  int epochs_run = 0;
  double last_loss = 0;
  double train_accuracy = 0;       // over the last epoch's batches
  double val_accuracy = -1;        // best, when validation data was given
  int best_epoch = -1;             // -1: none, or the start (validate_start) was best
  double start_val_accuracy = -1;  // with validate_start
  bool stopped_early = false;
};

// Trains `model` on `train` (fit_to_model and check_labels already applied).
Result<TrainReport> fit(Trainable& model, const Dataset& train, const Dataset* val, TrainConfig& config);

// Accuracy (fraction correct) of the model in inference mode, in batches.
Result<double> accuracy(Trainable& model, const Dataset& d, int64_t batch = 256);

}  // namespace edgeai::compress::train
