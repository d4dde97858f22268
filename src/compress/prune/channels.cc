#include "compress/prune/channels.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <unordered_map>

#include "compress/train/data.h"
#include "compress/train/grad_ops.h"

namespace edgeai::compress::prune {
namespace {

using train::node_int;

// One prunable layer: the producer of the channels, the channel-wise nodes after it, and the
// consumer whose input it feeds.
struct Chain {
  size_t producer = 0;
  int64_t channels = 0;
  std::vector<size_t> channelwise;  // BatchNormalization nodes (their parameters shrink too)
  size_t consumer = 0;
  int64_t spatial = 1;  // features per channel at the consumer (Flatten -> Gemm), else 1
  bool consumer_is_conv = false;
};

bool channel_wise(const ir::Node& n) {
  static const char* kOps[] = {"Relu", "Clip", "LeakyRelu", "Sigmoid", "Tanh", "MaxPool", "AveragePool",
                               "BatchNormalization", "Identity", "Dropout", "Gelu"};
  for (const char* op : kOps) {
    if (n.op_type == op) return true;
  }
  return false;
}

std::vector<Chain> find_chains(const train::Trainable& m) {
  const ir::Graph& g = m.graph();
  std::unordered_map<std::string, std::vector<std::pair<size_t, size_t>>> consumers;
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    for (size_t k = 0; k < g.nodes[i].inputs.size(); ++k) consumers[g.nodes[i].inputs[k]].push_back({i, k});
  }
  auto is_output = [&](const std::string& v) {
    for (const auto& o : g.outputs) {
      if (o.name == v) return true;
    }
    return false;
  };
  auto only_consumer = [&](const std::string& v, size_t* node, size_t* input) {
    auto it = consumers.find(v);
    if (it == consumers.end() || it->second.size() != 1 || is_output(v)) return false;
    *node = it->second[0].first;
    *input = it->second[0].second;
    return true;
  };
  auto weight = [&](const ir::Node& n) -> const Tensor* {
    if (n.inputs.size() < 2) return nullptr;
    auto it = g.initializers.find(n.inputs[1]);
    return it == g.initializers.end() || it->second.dtype() != DType::kF32 ? nullptr : &it->second;
  };
  std::vector<Chain> chains;
  for (size_t p = 0; p < g.nodes.size(); ++p) {
    const ir::Node& pn = g.nodes[p];
    const Tensor* w = weight(pn);
    if (!w || pn.outputs.empty()) continue;
    Chain c;
    c.producer = p;
    if (pn.op_type == "Conv" && node_int(pn, "group", 1) == 1 && w->rank() >= 3) {
      c.channels = w->dim(0);
    } else if (pn.op_type == "Gemm" && w->rank() == 2 && node_int(pn, "transA", 0) == 0) {
      c.channels = node_int(pn, "transB", 0) ? w->dim(0) : w->dim(1);
    } else {
      continue;
    }
    std::string v = pn.outputs[0];
    bool ok = false;
    while (true) {
      size_t n, k;
      if (!only_consumer(v, &n, &k) || k != 0) break;
      const ir::Node& cn = g.nodes[n];
      if (channel_wise(cn)) {
        if (cn.op_type == "BatchNormalization") c.channelwise.push_back(n);
        v = cn.outputs[0];
        continue;
      }
      if (cn.op_type == "Conv" && node_int(cn, "group", 1) == 1 && weight(cn)) {
        c.consumer = n;
        c.consumer_is_conv = true;
        ok = true;
      } else if (cn.op_type == "Flatten" && node_int(cn, "axis", 1) == 1) {
        size_t n2, k2;
        const Tensor* fv = m.value(cn.outputs[0]);
        if (fv && fv->rank() == 2 && fv->dim(1) % c.channels == 0 && only_consumer(cn.outputs[0], &n2, &k2) && k2 == 0 &&
            g.nodes[n2].op_type == "Gemm" && node_int(g.nodes[n2], "transA", 0) == 0 && weight(g.nodes[n2])) {
          c.consumer = n2;
          c.spatial = fv->dim(1) / c.channels;
          ok = true;
        }
      } else if (cn.op_type == "Gemm" && node_int(cn, "transA", 0) == 0 && weight(cn)) {
        const Tensor* in = m.value(v);
        if (in && in->rank() == 2 && in->dim(1) == c.channels) {
          c.consumer = n;
          ok = true;
        }
      }
      break;
    }
    if (ok) chains.push_back(c);
  }
  return chains;
}

// Rows `keep` of dim `axis` of a tensor.
Result<Tensor> take(const Tensor& t, int axis, const std::vector<int64_t>& keep) {
  Shape s = t.shape();
  int64_t outer = 1, inner = 1;
  for (int d = 0; d < axis; ++d) outer *= s[d];
  for (int d = axis + 1; d < t.rank(); ++d) inner *= s[d];
  const int64_t len = s[axis];
  s[axis] = static_cast<int64_t>(keep.size());
  ASSIGN_OR_RETURN(Tensor o, Tensor::create(DType::kF32, s));
  for (int64_t a = 0; a < outer; ++a) {
    for (size_t k = 0; k < keep.size(); ++k) {
      std::copy_n(t.data<float>() + (a * len + keep[k]) * inner, inner, o.data<float>() + (a * keep.size() + k) * inner);
    }
  }
  return o;
}

Status shrink(ir::Graph& g, const Chain& c, const std::vector<int64_t>& keep) {
  ir::Node& p = g.nodes[c.producer];
  Tensor& w = g.initializers[p.inputs[1]];
  if (p.op_type == "Conv") {
    ASSIGN_OR_RETURN(w, take(w, 0, keep));
  } else {
    ASSIGN_OR_RETURN(w, take(w, node_int(p, "transB", 0) ? 0 : 1, keep));
  }
  if (p.inputs.size() > 2 && !p.inputs[2].empty()) {
    Tensor& b = g.initializers[p.inputs[2]];
    if (b.rank() >= 1 && b.dim(b.rank() - 1) == c.channels) {
      ASSIGN_OR_RETURN(b, take(b, b.rank() - 1, keep));
    }
  }
  for (size_t bn : c.channelwise) {
    for (size_t k = 1; k < 5 && k < g.nodes[bn].inputs.size(); ++k) {
      Tensor& t = g.initializers[g.nodes[bn].inputs[k]];
      ASSIGN_OR_RETURN(t, take(t, 0, keep));
    }
  }
  ir::Node& cn = g.nodes[c.consumer];
  Tensor& cw = g.initializers[cn.inputs[1]];
  if (c.consumer_is_conv) {
    ASSIGN_OR_RETURN(cw, take(cw, 1, keep));
  } else {
    std::vector<int64_t> feats;
    for (int64_t ch : keep) {
      for (int64_t s = 0; s < c.spatial; ++s) feats.push_back(ch * c.spatial + s);
    }
    ASSIGN_OR_RETURN(cw, take(cw, node_int(cn, "transB", 0) ? 1 : 0, feats));
  }
  return ok_status();
}

}  // namespace

int64_t graph_flops(const ir::Graph& g, const Tensor& batch) {
  auto t = train::Trainable::create(g);
  if (!t.ok() || batch.rank() < 1 || batch.dim(0) < 1) return 0;
  std::vector<int64_t> first{0};
  auto x = train::gather_rows(batch, first);
  if (!x.ok() || !(*t)->forward(*x, false).ok()) return 0;
  int64_t flops = 0;
  for (const ir::Node& n : (*t)->graph().nodes) {
    if (n.outputs.empty() || n.inputs.size() < 2) continue;
    const Tensor* y = (*t)->value(n.outputs[0]);
    const Tensor* a = (*t)->value(n.inputs[0]);
    auto wi = (*t)->graph().initializers.find(n.inputs[1]);
    const Tensor* w = wi != (*t)->graph().initializers.end() ? &wi->second : (*t)->value(n.inputs[1]);
    if (!y || !w) continue;
    if (n.op_type == "Conv") flops += y->numel() * (w->numel() / std::max<int64_t>(1, w->dim(0)));
    else if (n.op_type == "Gemm" && a) flops += y->numel() * (node_int(n, "transA", 0) ? a->dim(0) : a->dim(1));
    else if (n.op_type == "MatMul" && a) flops += y->numel() * a->dim(a->rank() - 1);
  }
  return flops;
}

Result<ir::Graph> prune_channels(train::Trainable& model, const Tensor& batch, double keep_flops) {
  std::vector<int64_t> first{0};
  ASSIGN_OR_RETURN(Tensor x, train::gather_rows(batch, first));
  ASSIGN_OR_RETURN(Tensor y, model.forward(x, false));
  (void)y;
  std::vector<Chain> chains = find_chains(model);
  if (chains.empty()) return unsupported("no prunable layers (a Conv or Gemm whose channels feed one Conv or Gemm)");
  const ir::Graph& g = model.graph();
  // Channels of each layer by filter L1 norm, largest first.
  std::vector<std::vector<int64_t>> ranked;
  for (const Chain& c : chains) {
    const ir::Node& p = g.nodes[c.producer];
    const Tensor& w = g.initializers.at(p.inputs[1]);
    std::vector<double> norm(static_cast<size_t>(c.channels), 0.0);
    const bool rows = p.op_type == "Conv" || node_int(p, "transB", 0);
    const int64_t per = w.numel() / c.channels;
    for (int64_t ch = 0; ch < c.channels; ++ch) {
      for (int64_t i = 0; i < per; ++i) norm[ch] += std::fabs(w.data<float>()[rows ? ch * per + i : i * c.channels + ch]);
    }
    std::vector<int64_t> order(static_cast<size_t>(c.channels));
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(), [&](int64_t a, int64_t b) { return norm[a] > norm[b]; });
    ranked.push_back(order);
  }
  const int64_t base = graph_flops(g, batch);
  if (base <= 0) return internal_error("could not measure the model's FLOPs");
  auto build = [&](double ratio) -> Result<ir::Graph> {
    ir::Graph out = g;
    for (auto& [name, t] : out.initializers) t = t.clone();
    for (size_t i = 0; i < chains.size(); ++i) {
      // Multiples of 4 where the layer has them (SIMD-friendly widths run faster per FLOP).
      const int64_t ch = chains[i].channels;
      const int64_t mult = (ch % 4 == 0 && ch >= 8) ? 4 : 1;
      const int64_t k = std::max<int64_t>(mult, std::llround(ratio * ch / mult) * mult);
      std::vector<int64_t> keep(ranked[i].begin(), ranked[i].begin() + std::min<int64_t>(k, chains[i].channels));
      std::sort(keep.begin(), keep.end());
      RETURN_IF_ERROR(shrink(out, chains[i], keep));
    }
    out.value_infos.clear();  // their shapes are stale
    return out;
  };
  double lo = 0.0, hi = 1.0;
  for (int it = 0; it < 20; ++it) {
    const double mid = 0.5 * (lo + hi);
    ASSIGN_OR_RETURN(ir::Graph cand, build(mid));
    const int64_t f = graph_flops(cand, batch);
    if (f > 0 && f <= keep_flops * base) lo = mid;
    else hi = mid;
  }
  return build(lo > 0 ? lo : hi);
}

}  // namespace edgeai::compress::prune
