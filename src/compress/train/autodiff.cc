#include "compress/train/autodiff.h"

#include <algorithm>
#include <cmath>

#include "compress/train/train_math.h"

namespace edgeai::compress::train {
namespace {

bool diff_input(const GradEntry* e, size_t i) { return e && i < 32 && ((e->diff_inputs >> i) & 1u); }

}  // namespace

Result<std::unique_ptr<Trainable>> Trainable::create(ir::Graph graph, const TrainableOptions& options) {
  std::unique_ptr<Trainable> t(new Trainable());
  t->env_ = Env::create(std::max(1, options.threads));
  if (options.cpu) t->env_->cpu = *options.cpu;
  t->fast_kernels_ = options.fast_kernels;
  // Own, writable copies of the initializers (imported ones may be read-only mappings).
  for (auto& [name, tensor] : graph.initializers) tensor = tensor.clone();
  t->graph_ = std::move(graph);
  ir::Graph& g = t->graph_;
  auto feeds = g.feed_inputs();
  if (feeds.size() != 1) {
    return invalid_argument("training needs a model with exactly one input (it has " + std::to_string(feeds.size()) + ")");
  }
  if (g.outputs.empty()) return invalid_argument("the model has no outputs");
  t->input_name_ = feeds[0]->name;
  if (feeds[0]->type.shape) {
    for (const ir::Dim& d : *feeds[0]->type.shape) t->input_shape_.push_back(d.value);
  }
  t->output_name_ = g.outputs[0].name;
  std::vector<std::string> outer;
  for (const auto& in : g.inputs) outer.push_back(in.name);
  for (const auto& [name, _] : g.initializers) outer.push_back(name);
  ASSIGN_OR_RETURN(t->order_, ir::topological_order(g, outer));

  // Values computed from the feed input; the others (initializers, fake-quantized weights) are
  // constant within a forward pass, so an optimized kernel may pack them.
  t->from_feed_.insert(t->input_name_);
  for (size_t idx : t->order_) {
    const ir::Node& n = g.nodes[idx];
    bool fed = false;
    for (const auto& i : n.inputs) fed = fed || (!i.empty() && t->from_feed_.count(i));
    for (const auto& o : n.outputs) {
      if (fed && !o.empty()) t->from_feed_.insert(o);
    }
  }

  // Values the output depends on.
  std::unordered_set<std::string> needed{t->output_name_};
  for (auto it = t->order_.rbegin(); it != t->order_.rend(); ++it) {
    const ir::Node& n = g.nodes[*it];
    bool used = false;
    for (const auto& o : n.outputs) used = used || (!o.empty() && needed.count(o));
    if (!used) continue;
    for (const auto& i : n.inputs) {
      if (!i.empty()) needed.insert(i);
    }
  }

  // Parameters.
  if (!options.params.empty()) {
    for (const auto& p : options.params) {
      auto it = g.initializers.find(p);
      if (it == g.initializers.end()) return not_found("no initializer named '" + p + "' to train");
      if (it->second.dtype() != DType::kF32) return invalid_argument("initializer '" + p + "' is not f32 and cannot be trained");
      t->param_names_.push_back(p);
    }
  } else {
    std::unordered_set<std::string> seen;
    for (size_t idx : t->order_) {
      const ir::Node& n = g.nodes[idx];
      const GradEntry* e = find_grad(n.domain, n.op_type);
      for (size_t i = 0; i < n.inputs.size(); ++i) {
        const std::string& in = n.inputs[i];
        auto it = g.initializers.find(in);
        if (it == g.initializers.end() || !needed.count(in) || seen.count(in)) continue;
        if (it->second.dtype() != DType::kF32 || !diff_input(e, i)) continue;
        seen.insert(in);
        t->param_names_.push_back(in);
      }
    }
  }
  if (t->param_names_.empty()) {
    return invalid_argument("the model has no trainable initializers (no f32 weights that reach output '" + t->output_name_ + "')");
  }
  for (size_t i = 0; i < t->param_names_.size(); ++i) {
    const std::string& p = t->param_names_[i];
    t->param_index_[p] = i;
    t->params_.push_back(g.initializers[p]);
    ASSIGN_OR_RETURN(Tensor gr, Tensor::create(DType::kF32, t->params_.back().shape()));
    t->grads_.push_back(gr);
    t->requires_grad_.insert(p);
  }
  // Which values depend on a parameter, and a backward rule for every node that carries such a
  // value to the output.
  for (size_t idx : t->order_) {
    const ir::Node& n = g.nodes[idx];
    const GradEntry* e = find_grad(n.domain, n.op_type);
    bool rg = false, rg_diff = false;
    for (size_t i = 0; i < n.inputs.size(); ++i) {
      if (n.inputs[i].empty() || !t->requires_grad_.count(n.inputs[i])) continue;
      rg = true;
      rg_diff = rg_diff || diff_input(e, i) || !e;
    }
    bool to_output = false;
    for (const auto& o : n.outputs) to_output = to_output || (!o.empty() && needed.count(o));
    if (!rg || !to_output) continue;
    if (!e) {
      return unsupported("node '" + n.name + "' (" + n.op_type + "): no backward rule for this op, so the model cannot be trained through it");
    }
    if (!rg_diff) continue;
    for (const auto& o : n.outputs) {
      if (!o.empty()) t->requires_grad_.insert(o);
    }
  }
  t->aux_.resize(g.nodes.size());
  return t;
}

int64_t Trainable::parameter_count() const {
  int64_t n = 0;
  for (const Tensor& p : params_) n += p.numel();
  return n;
}

void Trainable::zero_grad() {
  for (Tensor& gr : grads_) std::fill(gr.data<float>(), gr.data<float>() + gr.numel(), 0.0f);
}

Result<Tensor> fake_quant_forward(const ir::Node& n, const Tensor& x, const Tensor& scale, const Tensor& zero_point) {
  if (x.dtype() != DType::kF32 || scale.dtype() != DType::kF32 || zero_point.dtype() != DType::kF32 ||
      scale.numel() != zero_point.numel() || scale.numel() < 1) {
    return invalid_argument("node '" + n.name + "' (FakeQuant): needs f32 input, scale and zero point of one size");
  }
  const float qmin = node_float(n, "qmin", -127.0f), qmax = node_float(n, "qmax", 127.0f);
  const int64_t channels = scale.numel();
  int64_t inner = 1;
  if (channels > 1) {
    int64_t axis = node_int(n, "axis", 0);
    if (axis < 0) axis += x.rank();
    if (axis < 0 || axis >= x.rank() || x.dim(static_cast<int>(axis)) != channels) {
      return invalid_argument("node '" + n.name + "' (FakeQuant): scale has " + std::to_string(channels) + " channels, input " + shape_str(x.shape()));
    }
    for (int d = static_cast<int>(axis) + 1; d < x.rank(); ++d) inner *= x.dim(d);
  }
  ASSIGN_OR_RETURN(Tensor y, Tensor::create(DType::kF32, x.shape()));
  const float* xp = x.data<float>();
  float* yp = y.data<float>();
  for (int64_t i = 0; i < x.numel(); ++i) {
    const int64_t ch = channels > 1 ? (i / inner) % channels : 0;
    const float s = scale.data<float>()[ch], z = zero_point.data<float>()[ch];
    const float q = std::clamp(std::nearbyint(xp[i] / s) + z, qmin, qmax);
    yp[i] = (q - z) * s;
  }
  return y;
}

Status Trainable::forward_node(size_t idx, bool training) {
  const ir::Node& n = graph_.nodes[idx];
  std::vector<kernels::Value> inputs(n.inputs.size());
  std::vector<Tensor> tin(n.inputs.size());
  for (size_t i = 0; i < n.inputs.size(); ++i) {
    const std::string& name = n.inputs[i];
    if (name.empty()) continue;
    auto it = values_.find(name);
    if (it != values_.end()) {
      tin[i] = it->second;
    } else {
      auto jt = graph_.initializers.find(name);
      if (jt == graph_.initializers.end()) return not_found("node '" + n.name + "': input '" + name + "' has no value");
      tin[i] = jt->second;
    }
    inputs[i] = kernels::Value::of(tin[i]);
  }
  NodeAux& aux = aux_[idx];
  aux.training = false;
  if (n.domain == "com.edgeai.train" && n.op_type == "FakeQuant") {
    if (tin.size() < 3) return invalid_argument("node '" + n.name + "' (FakeQuant): needs 3 inputs");
    ASSIGN_OR_RETURN(Tensor y, fake_quant_forward(n, tin[0], tin[1], tin[2]));
    values_[n.outputs[0]] = y;
    return ok_status();
  }
  if (training && n.domain.empty() && n.op_type == "BatchNormalization") {
    const Tensor& x = tin[0];
    if (tin.size() < 5 || x.dtype() != DType::kF32 || x.rank() < 2) {
      return invalid_argument("node '" + n.name + "' (BatchNormalization): training needs f32 input and 5 inputs");
    }
    const int64_t N = x.dim(0), C = x.dim(1), S = x.numel() / std::max<int64_t>(1, N * C);
    for (int k = 1; k < 5; ++k) {
      if (tin[k].dtype() != DType::kF32 || tin[k].numel() != C) {
        return invalid_argument("node '" + n.name + "' (BatchNormalization): parameter " + std::to_string(k) + " must have " + std::to_string(C) + " f32 values");
      }
    }
    const float eps = node_float(n, "epsilon", 1e-5f), momentum = node_float(n, "momentum", 0.9f);
    aux.mean.assign(C, 0.0f);
    aux.inv_std.assign(C, 0.0f);
    aux.training = true;
    ASSIGN_OR_RETURN(Tensor y, Tensor::create(DType::kF32, x.shape()));
    const double cnt = static_cast<double>(N * S);
    for (int64_t ch = 0; ch < C; ++ch) {
      double s = 0, s2 = 0;
      for (int64_t b = 0; b < N; ++b) {
        const float* p = x.data<float>() + (b * C + ch) * S;
        for (int64_t i = 0; i < S; ++i) {
          s += p[i];
          s2 += static_cast<double>(p[i]) * p[i];
        }
      }
      const double mean = cnt > 0 ? s / cnt : 0.0;
      const double var = cnt > 0 ? std::max(0.0, s2 / cnt - mean * mean) : 0.0;
      aux.mean[ch] = static_cast<float>(mean);
      aux.inv_std[ch] = static_cast<float>(1.0 / std::sqrt(var + eps));
      const float gs = tin[1].data<float>()[ch] * aux.inv_std[ch], b0 = tin[2].data<float>()[ch];
      for (int64_t b = 0; b < N; ++b) {
        const float* p = x.data<float>() + (b * C + ch) * S;
        float* o = y.data<float>() + (b * C + ch) * S;
        for (int64_t i = 0; i < S; ++i) o[i] = (p[i] - aux.mean[ch]) * gs + b0;
      }
      // Running statistics (unbiased variance, as PyTorch keeps them).
      if (graph_.initializers.count(n.inputs[3]) && graph_.initializers.count(n.inputs[4])) {
        float* rm = tin[3].data<float>();
        float* rv = tin[4].data<float>();
        const double unbiased = cnt > 1 ? var * cnt / (cnt - 1) : var;
        rm[ch] = static_cast<float>(momentum * rm[ch] + (1 - momentum) * mean);
        rv[ch] = static_cast<float>(momentum * rv[ch] + (1 - momentum) * unbiased);
      }
    }
    values_[n.outputs[0]] = y;
    return ok_status();
  }
  // The optimized kernel's state (packed weights) is built from this pass's values of the inputs
  // that do not depend on the feed, never kept across passes: the optimizer and pruning masks
  // change the weights in place in between.
  passes::PreparedKernel k;
  if (fast_kernels_) {
    std::vector<bool> constant(n.inputs.size(), false);
    for (size_t i = 0; i < n.inputs.size(); ++i) constant[i] = !n.inputs[i].empty() && !from_feed_.count(n.inputs[i]);
    ASSIGN_OR_RETURN(k, eval_.prepare_fast(graph_, n, inputs, constant, env_->cpu));
  }
  std::vector<kernels::Value> outs;
  if (k.fn) {
    ++fast_nodes_;
    ASSIGN_OR_RETURN(outs, eval_.run_prepared(graph_, n, k, inputs, *env_->pool, env_->cpu));
  } else {
    ASSIGN_OR_RETURN(outs, eval_.run(graph_, n, inputs));
  }
  for (size_t i = 0; i < n.outputs.size() && i < outs.size(); ++i) {
    if (n.outputs[i].empty() || !outs[i].is_tensor()) continue;
    values_[n.outputs[i]] = outs[i].tensor;
  }
  return ok_status();
}

Result<Tensor> Trainable::forward(const Tensor& x, bool training) {
  values_.clear();
  fast_nodes_ = 0;
  if (x.dtype() != DType::kF32) return invalid_argument("input '" + input_name_ + "' must be f32");
  values_[input_name_] = x;
  for (size_t idx : order_) RETURN_IF_ERROR(forward_node(idx, training));
  auto it = values_.find(output_name_);
  if (it == values_.end()) return internal_error("output '" + output_name_ + "' was not produced");
  return it->second;
}

Status Trainable::backward(const Tensor& doutput) {
  auto out = values_.find(output_name_);
  if (out == values_.end()) return invalid_argument("backward() needs a forward() first");
  if (doutput.shape() != out->second.shape() || doutput.dtype() != DType::kF32) {
    return invalid_argument("output gradient " + shape_str(doutput.shape()) + " does not match output " + shape_str(out->second.shape()));
  }
  std::unordered_map<std::string, Tensor> grads;
  grads[output_name_] = doutput;
  for (auto it = order_.rbegin(); it != order_.rend(); ++it) {
    const ir::Node& n = graph_.nodes[*it];
    std::vector<Tensor> dout(n.outputs.size()), outs(n.outputs.size());
    bool any = false;
    for (size_t i = 0; i < n.outputs.size(); ++i) {
      if (n.outputs[i].empty()) continue;
      auto g = grads.find(n.outputs[i]);
      if (g != grads.end()) {
        dout[i] = g->second;
        any = true;
      }
      auto v = values_.find(n.outputs[i]);
      if (v != values_.end()) outs[i] = v->second;
    }
    if (!any) continue;
    const GradEntry* e = find_grad(n.domain, n.op_type);
    std::vector<bool> need(n.inputs.size(), false);
    bool any_need = false;
    for (size_t i = 0; i < n.inputs.size(); ++i) {
      need[i] = !n.inputs[i].empty() && diff_input(e, i) && requires_grad_.count(n.inputs[i]);
      any_need = any_need || need[i];
    }
    if (!any_need) continue;
    if (!e) return unsupported("node '" + n.name + "' (" + n.op_type + "): no backward rule for this op");
    std::vector<Tensor> tin(n.inputs.size()), din(n.inputs.size());
    for (size_t i = 0; i < n.inputs.size(); ++i) {
      if (n.inputs[i].empty()) continue;
      auto v = values_.find(n.inputs[i]);
      if (v != values_.end()) {
        tin[i] = v->second;
      } else {
        auto w = graph_.initializers.find(n.inputs[i]);
        if (w != graph_.initializers.end()) tin[i] = w->second;
      }
    }
    GradContext ctx{n, static_cast<int>(graph_.opset(n.domain)), tin, outs, dout, need, din, &aux_[*it], env_->cpu, env_->pool.get()};
    RETURN_IF_ERROR(e->fn(ctx));
    for (size_t i = 0; i < n.inputs.size(); ++i) {
      if (!need[i] || !din[i].defined()) continue;
      if (din[i].numel() != tin[i].numel()) return internal_error("node '" + n.name + "': gradient of input " + std::to_string(i) + " has the wrong size");
      auto g = grads.find(n.inputs[i]);
      if (g == grads.end()) {
        grads[n.inputs[i]] = din[i];
      } else {
        if (g->second.raw() == din[i].raw()) din[i] = din[i].clone();
        add_into(g->second, din[i]);
      }
    }
  }
  for (size_t i = 0; i < param_names_.size(); ++i) {
    auto g = grads.find(param_names_[i]);
    if (g != grads.end()) add_into(grads_[i], g->second);
  }
  return ok_status();
}

}  // namespace edgeai::compress::train
