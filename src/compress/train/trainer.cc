#include "compress/train/trainer.h"

#include <algorithm>
#include <cstdio>
#include <numeric>
#include <random>

#include "compress/train/loss.h"

namespace edgeai::compress::train {
namespace {

void print_progress(const TrainConfig& c, int epoch, int64_t done, int64_t total, double loss, double acc) {
  const int width = 24;
  const int filled = total ? static_cast<int>(width * done / total) : width;
  std::string bar(filled, '#');
  bar.resize(width, '.');
  std::fprintf(stderr, "\r%s epoch %d/%d [%s] %3d%% loss %.4f acc %.2f%%", c.label.c_str(), epoch + 1, c.epochs,
               bar.c_str(), total ? static_cast<int>(100 * done / total) : 100, loss, 100 * acc);
  std::fflush(stderr);
}

}  // namespace

Result<double> accuracy(Trainable& model, const Dataset& d, int64_t batch) {
  int64_t correct = 0;
  std::vector<int64_t> idx;
  for (int64_t s = 0; s < d.size(); s += batch) {
    idx.clear();
    for (int64_t i = s; i < std::min(d.size(), s + batch); ++i) idx.push_back(i);
    ASSIGN_OR_RETURN(Tensor x, gather_rows(d.x, idx));
    ASSIGN_OR_RETURN(Tensor logits, model.forward(x, false));
    correct += count_correct(logits, std::span<const int64_t>(d.y).subspan(s, idx.size()));
  }
  return d.size() ? static_cast<double>(correct) / d.size() : 0.0;
}

Result<TrainReport> fit(Trainable& model, const Dataset& train, const Dataset* val, TrainConfig& c) {
  if (train.size() == 0) return invalid_argument("no training samples");
  if (c.batch < 1) return invalid_argument("batch size must be >= 1");
  if (c.epochs < 1 && c.max_steps < 1) return invalid_argument("epochs or steps must be >= 1");
  if (!(c.alpha >= 0 && c.alpha <= 1)) return invalid_argument("alpha must be in [0, 1]");
  const int64_t per_epoch = (train.size() + c.batch - 1) / c.batch;
  int64_t total = c.max_steps > 0 ? c.max_steps : per_epoch * c.epochs;
  if (c.max_steps > 0) c.epochs = static_cast<int>((c.max_steps + per_epoch - 1) / per_epoch);
  c.schedule.total_steps = total;
  Optimizer opt(c.optimizer);
  std::mt19937_64 rng(c.seed);
  std::vector<int64_t> order(static_cast<size_t>(train.size()));
  std::iota(order.begin(), order.end(), 0);
  TrainReport r;
  std::vector<Tensor> best;
  int since_best = 0;
  int64_t step = 0;
  if (c.validate_start && val && val->size() > 0) {
    ASSIGN_OR_RETURN(r.start_val_accuracy, accuracy(model, *val));
    r.val_accuracy = r.start_val_accuracy;
    if (c.patience > 0 && c.restore_best) {
      for (const Tensor& p : model.params()) best.push_back(p.clone());
    }
  }
  for (int epoch = 0; epoch < c.epochs && step < total; ++epoch) {
    std::shuffle(order.begin(), order.end(), rng);
    double loss_sum = 0;
    int64_t seen = 0, correct = 0;
    for (int64_t b = 0; b < per_epoch && step < total; ++b, ++step) {
      const int64_t lo = b * c.batch, hi = std::min(train.size(), lo + c.batch);
      std::vector<int64_t> idx(order.begin() + lo, order.begin() + hi);
      std::vector<int64_t> labels;
      for (int64_t i : idx) labels.push_back(train.y[i]);
      ASSIGN_OR_RETURN(Tensor x, gather_rows(train.x, idx));
      if (c.before_step) RETURN_IF_ERROR(c.before_step(step, total));
      ASSIGN_OR_RETURN(Tensor logits, model.forward(x, true));
      ASSIGN_OR_RETURN(Tensor dlogits, Tensor::create(DType::kF32, logits.shape()));
      double loss = 0;
      if (c.alpha > 0 || !c.teacher) {
        ASSIGN_OR_RETURN(double ce, cross_entropy(logits, labels, &dlogits, c.teacher ? c.alpha : 1.0f));
        loss += (c.teacher ? c.alpha : 1.0f) * ce;
      }
      if (c.teacher && c.alpha < 1) {
        ASSIGN_OR_RETURN(Tensor tl, c.teacher(x));
        ASSIGN_OR_RETURN(double kl, distill_kl(logits, tl, c.temperature, &dlogits, 1 - c.alpha, c.alpha > 0));
        loss += (1 - c.alpha) * kl;
      }
      model.zero_grad();
      RETURN_IF_ERROR(model.backward(dlogits));
      RETURN_IF_ERROR(opt.step(model.params(), model.grads(), c.schedule.at(step)));
      if (c.after_step) RETURN_IF_ERROR(c.after_step(step + 1, total));
      loss_sum += loss * idx.size();
      seen += static_cast<int64_t>(idx.size());
      correct += count_correct(logits, labels);
      r.last_loss = loss;
      if (c.progress) print_progress(c, epoch, b + 1, per_epoch, loss_sum / seen, static_cast<double>(correct) / seen);
    }
    r.epochs_run = epoch + 1;
    r.train_accuracy = seen ? static_cast<double>(correct) / seen : 0;
    if (val && val->size() > 0) {
      ASSIGN_OR_RETURN(double va, accuracy(model, *val));
      if (c.progress) std::fprintf(stderr, " val %.2f%%", 100 * va);
      if (va > r.val_accuracy) {
        r.val_accuracy = va;
        r.best_epoch = epoch;
        since_best = 0;
        if (c.patience > 0 && c.restore_best) {
          best.clear();
          for (const Tensor& p : model.params()) best.push_back(p.clone());
        }
      } else if (c.patience > 0 && ++since_best >= c.patience) {
        r.stopped_early = true;
        if (c.progress) std::fprintf(stderr, "\n%s: no better validation accuracy for %d epochs, stopping\n", c.label.c_str(), c.patience);
        break;
      }
    }
    if (c.progress) std::fprintf(stderr, "\n");
  }
  r.steps = step;
  if (!best.empty()) {
    for (size_t i = 0; i < best.size(); ++i) {
      std::copy_n(best[i].data<float>(), best[i].numel(), model.params()[i].data<float>());
    }
  }
  return r;
}

}  // namespace edgeai::compress::train
