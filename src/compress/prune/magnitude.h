// Unstructured magnitude pruning (global or per layer) with a polynomial-decay sparsity schedule
// applied during fine-tuning (Zhu & Gupta 2017: s_t = s_f + (s_i - s_f) (1 - t / T)^3), and N:M
// semi-structured pruning (2:4: of every 4 consecutive weights along the reduction axis, 2 stay).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "compress/train/autodiff.h"

namespace edgeai::compress::prune {

// The parameters pruning applies to: weights (rank >= 2) of Conv, Gemm and MatMul.
std::vector<size_t> prunable_params(const train::Trainable& model);

enum class Scope { kGlobal, kLayer };
Result<Scope> parse_scope(const std::string& s);  // "global", "layer"

class MagnitudePruner {
 public:
  // Prunes the parameters `targets` of `model` to `target` sparsity, reached at step `end_step`
  // (masks recomputed every `frequency` steps from `begin_step`), starting from `initial`.
  MagnitudePruner(train::Trainable& model, std::vector<size_t> targets, Scope scope, double target,
                  int64_t begin_step, int64_t end_step, int64_t frequency, double initial = 0.0);

  double sparsity_at(int64_t step) const;
  // Recomputes the masks for `sparsity` from the weights' magnitudes (zeros already masked stay
  // masked) and applies them.
  void update_masks(double sparsity);
  // Zeroes the masked weights (after each optimizer step).
  void apply();
  // The hook for TrainConfig::after_step.
  Status after_step(int64_t step, int64_t total);
  // Fraction of zeros over the targets.
  double sparsity() const;

 private:
  train::Trainable& model_;
  std::vector<size_t> targets_;
  Scope scope_;
  double target_, initial_;
  int64_t begin_, end_, freq_;
  std::vector<std::vector<uint8_t>> masks_;
};

// N:M pruning: of every M consecutive weights along each output's reduction axis (Conv: [C/g, kh,
// kw] flattened; Gemm: K), the N of largest magnitude stay. Returns the masks (1 = kept).
std::vector<std::vector<uint8_t>> nm_masks(const train::Trainable& model, const std::vector<size_t>& targets, int n, int m);
void apply_masks(train::Trainable& model, const std::vector<size_t>& targets, const std::vector<std::vector<uint8_t>>& masks);

// Fraction of exact zeros in the graph's Conv/Gemm/MatMul weights, and in all of them.
double weight_sparsity(const ir::Graph& g);

}  // namespace edgeai::compress::prune
