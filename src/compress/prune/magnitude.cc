#include "compress/prune/magnitude.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "compress/train/grad_ops.h"

namespace edgeai::compress::prune {
namespace {

// How a weight is laid out: rows (outputs) x reduction. For Gemm without transB and MatMul the
// reduction runs down the rows of the stored [K, N] matrix.
struct Layout {
  int64_t outputs = 0, reduction = 0;
  int64_t out_stride = 0, red_stride = 0;
};

Layout layout_of(const ir::Graph& g, const std::string& name, const Tensor& w) {
  Layout l;
  for (const ir::Node& n : g.nodes) {
    if (n.inputs.size() < 2 || n.inputs[1] != name) continue;
    if (n.op_type == "Conv" || (n.op_type == "Gemm" && train::node_int(n, "transB", 0))) {
      l.outputs = w.dim(0);
      l.reduction = w.numel() / w.dim(0);
      l.out_stride = l.reduction;
      l.red_stride = 1;
      return l;
    }
    if (n.op_type == "Gemm" || n.op_type == "MatMul") {
      l.reduction = w.dim(w.rank() - 2);
      l.outputs = w.numel() / l.reduction;  // batched MatMul weights: columns of every matrix
      l.out_stride = 1;
      l.red_stride = w.dim(w.rank() - 1);
      if (w.rank() > 2) {  // treat as one [K, N*batch] matrix only when 2-D; else flatten
        l.outputs = w.numel() / l.reduction;
      }
      return l;
    }
  }
  l.outputs = w.dim(0);
  l.reduction = w.numel() / std::max<int64_t>(1, w.dim(0));
  l.out_stride = l.reduction;
  l.red_stride = 1;
  return l;
}

}  // namespace

std::vector<size_t> prunable_params(const train::Trainable& model) {
  std::vector<size_t> out;
  const ir::Graph& g = model.graph();
  for (size_t p = 0; p < model.param_names().size(); ++p) {
    const std::string& name = model.param_names()[p];
    bool is_weight = false;
    for (const ir::Node& n : g.nodes) {
      if (n.inputs.size() >= 2 && n.inputs[1] == name &&
          (n.op_type == "Conv" || n.op_type == "Gemm" || n.op_type == "MatMul")) {
        is_weight = true;
      }
    }
    if (is_weight && const_cast<train::Trainable&>(model).params()[p].rank() >= 2) out.push_back(p);
  }
  return out;
}

Result<Scope> parse_scope(const std::string& s) {
  if (s == "global") return Scope::kGlobal;
  if (s == "layer") return Scope::kLayer;
  return invalid_argument("unknown --scope '" + s + "' (global, layer)");
}

MagnitudePruner::MagnitudePruner(train::Trainable& model, std::vector<size_t> targets, Scope scope, double target,
                                 int64_t begin_step, int64_t end_step, int64_t frequency, double initial)
    : model_(model), targets_(std::move(targets)), scope_(scope), target_(target), initial_(initial),
      begin_(begin_step), end_(std::max(end_step, begin_step)), freq_(std::max<int64_t>(1, frequency)) {
  for (size_t t : targets_) masks_.emplace_back(static_cast<size_t>(model_.params()[t].numel()), 1);
}

double MagnitudePruner::sparsity_at(int64_t step) const {
  if (step <= begin_) return initial_;
  if (step >= end_) return target_;
  const double frac = static_cast<double>(step - begin_) / static_cast<double>(end_ - begin_);
  return target_ + (initial_ - target_) * std::pow(1.0 - frac, 3.0);
}

void MagnitudePruner::update_masks(double sparsity) {
  auto prune_set = [&](const std::vector<size_t>& which) {
    std::vector<float> mags;
    for (size_t k : which) {
      const Tensor& w = model_.params()[targets_[k]];
      for (int64_t i = 0; i < w.numel(); ++i) mags.push_back(masks_[k][i] ? std::fabs(w.data<float>()[i]) : -1.0f);
    }
    const int64_t n = static_cast<int64_t>(mags.size());
    const int64_t prune = std::min<int64_t>(n, static_cast<int64_t>(std::llround(sparsity * n)));
    if (prune <= 0) return;
    std::vector<int64_t> order(static_cast<size_t>(n));
    std::iota(order.begin(), order.end(), 0);
    std::nth_element(order.begin(), order.begin() + (prune - 1), order.end(),
                     [&](int64_t a, int64_t b) { return mags[a] < mags[b] || (mags[a] == mags[b] && a < b); });
    std::vector<uint8_t> drop(static_cast<size_t>(n), 0);
    for (int64_t i = 0; i < prune; ++i) drop[order[i]] = 1;
    int64_t off = 0;
    for (size_t k : which) {
      for (size_t i = 0; i < masks_[k].size(); ++i) {
        if (drop[off + i]) masks_[k][i] = 0;
      }
      off += static_cast<int64_t>(masks_[k].size());
    }
  };
  if (scope_ == Scope::kGlobal) {
    std::vector<size_t> all(targets_.size());
    std::iota(all.begin(), all.end(), 0);
    prune_set(all);
  } else {
    for (size_t k = 0; k < targets_.size(); ++k) prune_set({k});
  }
  apply();
}

void MagnitudePruner::apply() {
  for (size_t k = 0; k < targets_.size(); ++k) {
    float* w = model_.params()[targets_[k]].data<float>();
    for (size_t i = 0; i < masks_[k].size(); ++i) {
      if (!masks_[k][i]) w[i] = 0.0f;
    }
  }
}

Status MagnitudePruner::after_step(int64_t step, int64_t total) {
  if (step >= begin_ && (step - begin_) % freq_ == 0 && step <= end_) {
    update_masks(sparsity_at(step));
  } else {
    apply();
  }
  return ok_status();
}

double MagnitudePruner::sparsity() const {
  int64_t zeros = 0, n = 0;
  for (size_t t : targets_) {
    const Tensor& w = const_cast<train::Trainable&>(model_).params()[t];
    for (int64_t i = 0; i < w.numel(); ++i) zeros += w.data<float>()[i] == 0.0f;
    n += w.numel();
  }
  return n ? static_cast<double>(zeros) / n : 0.0;
}

std::vector<std::vector<uint8_t>> nm_masks(const train::Trainable& model, const std::vector<size_t>& targets, int n, int m) {
  std::vector<std::vector<uint8_t>> masks;
  auto& mm = const_cast<train::Trainable&>(model);
  for (size_t t : targets) {
    const Tensor& w = mm.params()[t];
    std::vector<uint8_t> mask(static_cast<size_t>(w.numel()), 1);
    Layout l = layout_of(model.graph(), model.param_names()[t], w);
    if (w.rank() == 2 || l.red_stride == 1) {
      for (int64_t o = 0; o < l.outputs; ++o) {
        for (int64_t r0 = 0; r0 < l.reduction; r0 += m) {
          const int64_t len = std::min<int64_t>(m, l.reduction - r0);
          if (len <= n) continue;
          std::vector<int64_t> idx;
          for (int64_t r = r0; r < r0 + len; ++r) idx.push_back(o * l.out_stride + r * l.red_stride);
          std::sort(idx.begin(), idx.end(), [&](int64_t a, int64_t b) {
            return std::fabs(w.data<float>()[a]) > std::fabs(w.data<float>()[b]);
          });
          for (size_t k = n; k < idx.size(); ++k) mask[idx[k]] = 0;
        }
      }
    }
    masks.push_back(std::move(mask));
  }
  return masks;
}

void apply_masks(train::Trainable& model, const std::vector<size_t>& targets, const std::vector<std::vector<uint8_t>>& masks) {
  for (size_t k = 0; k < targets.size() && k < masks.size(); ++k) {
    float* w = model.params()[targets[k]].data<float>();
    for (size_t i = 0; i < masks[k].size(); ++i) {
      if (!masks[k][i]) w[i] = 0.0f;
    }
  }
}

double weight_sparsity(const ir::Graph& g) {
  int64_t zeros = 0, n = 0;
  for (const ir::Node& node : g.nodes) {
    if (node.inputs.size() < 2 || (node.op_type != "Conv" && node.op_type != "Gemm" && node.op_type != "MatMul")) continue;
    auto it = g.initializers.find(node.inputs[1]);
    if (it == g.initializers.end() || it->second.dtype() != DType::kF32 || it->second.rank() < 2) continue;
    for (int64_t i = 0; i < it->second.numel(); ++i) zeros += it->second.data<float>()[i] == 0.0f;
    n += it->second.numel();
  }
  return n ? static_cast<double>(zeros) / n : 0.0;
}

}  // namespace edgeai::compress::prune
