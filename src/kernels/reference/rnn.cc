// Reference kernels for the recurrent ops: RNN, GRU, LSTM (ai.onnx opsets 7 to 17; the layout
// attribute from opset 14). One generic driver handles the shared parts: shapes of X, W, R, B,
// sequence_lens, initial_h, the directions, the layouts, and the activation list; each op only
// supplies its cell. Values are computed in float (double for f64 inputs), like the ONNX
// reference implementation.
#include <algorithm>
#include <cmath>
#include <string>
#include <type_traits>
#include <vector>

#include "kernels/reference/dispatch.h"
#include "kernels/reference/registry.h"

namespace edgeai::kernels::ref {
namespace {

enum class RnnKind { kRnn, kGru, kLstm };

enum class ActKind {
  kRelu, kTanh, kSigmoid, kAffine, kLeakyRelu, kThresholdedRelu, kScaledTanh, kHardSigmoid,
  kElu, kSoftsign, kSoftplus,
};

struct Activation {
  ActKind kind = ActKind::kTanh;
  float alpha = 0.f;
  float beta = 0.f;
};

struct ActInfo {
  const char* name;
  ActKind kind;
  bool has_alpha, has_beta;
  float def_alpha, def_beta;
};

// Names and default alpha/beta as ONNX Runtime defines them.
constexpr ActInfo kActs[] = {
    {"relu", ActKind::kRelu, false, false, 0.f, 0.f},
    {"tanh", ActKind::kTanh, false, false, 0.f, 0.f},
    {"sigmoid", ActKind::kSigmoid, false, false, 0.f, 0.f},
    {"affine", ActKind::kAffine, true, true, 1.f, 0.f},
    {"leakyrelu", ActKind::kLeakyRelu, true, false, 0.01f, 0.f},
    {"thresholdedrelu", ActKind::kThresholdedRelu, true, false, 1.f, 0.f},
    {"scaledtanh", ActKind::kScaledTanh, true, true, 1.f, 1.f},
    {"hardsigmoid", ActKind::kHardSigmoid, true, true, 0.2f, 0.5f},
    {"elu", ActKind::kElu, true, false, 1.f, 0.f},
    {"softsign", ActKind::kSoftsign, false, false, 0.f, 0.f},
    {"softplus", ActKind::kSoftplus, false, false, 0.f, 0.f},
};

std::string lower(std::string s) {
  for (char& c : s) c = (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
  return s;
}

template <typename A>
inline A apply_act(const Activation& a, A x) {
  switch (a.kind) {
    case ActKind::kRelu: return x > A(0) ? x : A(0);
    case ActKind::kTanh: return std::tanh(x);
    case ActKind::kSigmoid: return A(1) / (A(1) + std::exp(-x));
    case ActKind::kAffine: return A(a.alpha) * x + A(a.beta);
    case ActKind::kLeakyRelu: return x < A(0) ? A(a.alpha) * x : x;
    case ActKind::kThresholdedRelu: return x > A(a.alpha) ? x : A(0);
    case ActKind::kScaledTanh: return A(a.alpha) * std::tanh(A(a.beta) * x);
    case ActKind::kHardSigmoid: return std::max(A(0), std::min(A(1), A(a.alpha) * x + A(a.beta)));
    case ActKind::kElu: return x < A(0) ? A(a.alpha) * (std::exp(x) - A(1)) : x;
    case ActKind::kSoftsign: return x / (A(1) + std::abs(x));
    case ActKind::kSoftplus:
      // log(1 + e^x) without overflow for large x.
      return x > A(0) ? x + std::log1p(std::exp(-x)) : std::log1p(std::exp(x));
  }
  return x;
}

// Everything the three ops share, checked against each other.
struct RnnParams {
  RnnKind kind;
  int gates = 1;     // weight blocks per direction: RNN 1, GRU 3, LSTM 4
  int acts_per_dir;  // activations per direction: RNN 1, GRU 2, LSTM 3
  int64_t seq = 0, batch = 0, input = 0, hidden = 0;
  int num_dir = 1;
  bool reverse_only = false;  // direction == "reverse"
  int layout = 0;
  bool has_clip = false;
  float clip = 0.f;
  std::vector<Activation> acts;   // acts_per_dir * num_dir
  std::vector<int64_t> seq_lens;  // per batch entry
  bool linear_before_reset = false;  // GRU
  bool input_forget = false;         // LSTM
};

Status check_dims(KernelContext& ctx, const char* what, const Tensor& t, const Shape& want) {
  if (t.shape() != want) {
    return ctx.error(std::string(what) + " must have shape " + shape_str(want) + ", got " +
                     shape_str(t.shape()));
  }
  return ok_status();
}

Status parse_params(KernelContext& ctx, RnnKind kind, RnnParams& p) {
  p.kind = kind;
  p.gates = kind == RnnKind::kRnn ? 1 : kind == RnnKind::kGru ? 3 : 4;
  p.acts_per_dir = kind == RnnKind::kRnn ? 1 : kind == RnnKind::kGru ? 2 : 3;
  if (ctx.num_inputs() < 3 || !ctx.has_input(0) || !ctx.has_input(1) || !ctx.has_input(2)) {
    return ctx.error("inputs X, W and R are required");
  }
  const Tensor& x = ctx.input(0);
  const Tensor& w = ctx.input(1);
  const Tensor& r = ctx.input(2);
  if (!dtype_is_float(x.dtype())) {
    return ctx.error("X must be a float tensor, got " + std::string(dtype_name(x.dtype())));
  }
  for (int i = 1; i < std::min(ctx.num_inputs(), 8); ++i) {
    if (i == 4 || !ctx.has_input(i)) continue;  // 4 is sequence_lens (int32)
    if (ctx.input(i).dtype() != x.dtype()) {
      return ctx.error("input " + std::to_string(i) + " must have X's dtype " +
                       std::string(dtype_name(x.dtype())) + ", got " +
                       std::string(dtype_name(ctx.input(i).dtype())));
    }
  }
  p.layout = ctx.opset() >= 14 ? static_cast<int>(ctx.attr_int("layout", 0)) : 0;
  if (ctx.opset() >= 14 && ctx.attr_int("layout", 0) != 0 && ctx.attr_int("layout", 0) != 1) {
    return ctx.error("layout must be 0 or 1, got " + std::to_string(ctx.attr_int("layout", 0)));
  }
  if (x.rank() != 3) return ctx.error("X must have rank 3, got shape " + shape_str(x.shape()));
  p.seq = p.layout == 0 ? x.dim(0) : x.dim(1);
  p.batch = p.layout == 0 ? x.dim(1) : x.dim(0);
  p.input = x.dim(2);

  std::string dir = ctx.attr_string("direction", "forward");
  if (dir == "forward") {
    p.num_dir = 1;
  } else if (dir == "reverse") {
    p.num_dir = 1;
    p.reverse_only = true;
  } else if (dir == "bidirectional") {
    p.num_dir = 2;
  } else {
    return ctx.error("direction must be forward, reverse or bidirectional, got '" + dir + "'");
  }
  if (r.rank() != 3) return ctx.error("R must have rank 3, got shape " + shape_str(r.shape()));
  p.hidden = r.dim(2);
  if (ctx.has_attr("hidden_size") && ctx.attr_int("hidden_size", 0) != p.hidden) {
    return ctx.error("hidden_size attribute is " + std::to_string(ctx.attr_int("hidden_size", 0)) +
                     " but R has shape " + shape_str(r.shape()));
  }
  if (p.hidden <= 0) return ctx.error("hidden_size must be positive, got " + std::to_string(p.hidden));
  const int64_t gh = p.gates * p.hidden;
  RETURN_IF_ERROR(check_dims(ctx, "W", w, {p.num_dir, gh, p.input}));
  RETURN_IF_ERROR(check_dims(ctx, "R", r, {p.num_dir, gh, p.hidden}));
  if (ctx.has_input(3)) RETURN_IF_ERROR(check_dims(ctx, "B", ctx.input(3), {p.num_dir, 2 * gh}));
  const Shape state_shape = p.layout == 0 ? Shape{p.num_dir, p.batch, p.hidden}
                                          : Shape{p.batch, p.num_dir, p.hidden};
  if (ctx.has_input(5)) RETURN_IF_ERROR(check_dims(ctx, "initial_h", ctx.input(5), state_shape));
  if (kind == RnnKind::kLstm) {
    if (ctx.has_input(6)) RETURN_IF_ERROR(check_dims(ctx, "initial_c", ctx.input(6), state_shape));
    if (ctx.has_input(7)) {
      RETURN_IF_ERROR(check_dims(ctx, "P", ctx.input(7), {p.num_dir, 3 * p.hidden}));
    }
  } else if (ctx.num_inputs() > 6) {
    return ctx.error("expected at most 6 inputs, got " + std::to_string(ctx.num_inputs()));
  }
  // Guard the sizes of what we compute, so a hostile shape cannot make us allocate or loop
  // without bound.
  ASSIGN_OR_RETURN(int64_t ycount, checked_numel(Shape{p.seq, p.num_dir, p.batch, p.hidden}));
  (void)ycount;
  ASSIGN_OR_RETURN(int64_t wcount, checked_numel(Shape{p.num_dir, gh, p.input + p.hidden}));
  (void)wcount;

  p.seq_lens.assign(static_cast<size_t>(p.batch), p.seq);
  if (ctx.has_input(4)) {
    const Tensor& sl = ctx.input(4);
    if (sl.dtype() != DType::kI32 && sl.dtype() != DType::kI64) {
      return ctx.error("sequence_lens must be int32, got " + std::string(dtype_name(sl.dtype())));
    }
    RETURN_IF_ERROR(check_dims(ctx, "sequence_lens", sl, {p.batch}));
    for (int64_t b = 0; b < p.batch; ++b) {
      int64_t v = sl.get_int(b);
      if (v < 0 || v > p.seq) {
        return ctx.error("sequence_lens[" + std::to_string(b) + "] = " + std::to_string(v) +
                         " is outside [0, " + std::to_string(p.seq) + "]");
      }
      p.seq_lens[b] = v;
    }
  }

  p.has_clip = ctx.has_attr("clip");
  if (p.has_clip) {
    p.clip = ctx.attr_float("clip", 0.f);
    if (!(p.clip > 0.f)) return ctx.error("clip must be positive, got " + std::to_string(p.clip));
  }

  // Activations: acts_per_dir names per direction (forward first). Defaults from the spec.
  std::vector<std::string> names = ctx.attr_strings("activations");
  if (names.empty()) {
    std::vector<std::string> def;
    if (kind == RnnKind::kRnn) def = {"Tanh"};
    if (kind == RnnKind::kGru) def = {"Sigmoid", "Tanh"};
    if (kind == RnnKind::kLstm) def = {"Sigmoid", "Tanh", "Tanh"};
    for (int d = 0; d < p.num_dir; ++d) names.insert(names.end(), def.begin(), def.end());
  } else if (p.num_dir == 2 && static_cast<int>(names.size()) == p.acts_per_dir) {
    // The same list for both directions.
    std::vector<std::string> twice = names;
    names.insert(names.end(), twice.begin(), twice.end());
  }
  if (static_cast<int>(names.size()) != p.acts_per_dir * p.num_dir) {
    return ctx.error("activations must list " + std::to_string(p.acts_per_dir * p.num_dir) +
                     " functions, got " + std::to_string(names.size()));
  }
  std::vector<float> alphas = ctx.attr_floats("activation_alpha");
  std::vector<float> betas = ctx.attr_floats("activation_beta");
  size_t ai = 0, bi = 0;
  for (const std::string& n : names) {
    std::string ln = lower(n);
    const ActInfo* info = nullptr;
    for (const ActInfo& a : kActs) {
      if (ln == a.name) info = &a;
    }
    if (!info) return ctx.error("unknown activation function '" + n + "'");
    Activation act;
    act.kind = info->kind;
    act.alpha = info->def_alpha;
    act.beta = info->def_beta;
    if (info->has_alpha && ai < alphas.size()) act.alpha = alphas[ai++];
    if (info->has_beta && bi < betas.size()) act.beta = betas[bi++];
    p.acts.push_back(act);
  }
  p.linear_before_reset = kind == RnnKind::kGru && ctx.attr_int("linear_before_reset", 0) != 0;
  p.input_forget = kind == RnnKind::kLstm && ctx.attr_int("input_forget", 0) != 0;
  return ok_status();
}

template <typename T, typename A>
std::vector<A> to_acc(const Tensor& t) {
  std::vector<A> v(static_cast<size_t>(t.numel()));
  const T* d = t.data<T>();
  for (int64_t i = 0; i < t.numel(); ++i) v[i] = static_cast<A>(to_f64(d[i]));
  return v;
}

template <typename A>
inline A dot(const A* a, const A* b, int64_t n) {
  A s = 0;
  for (int64_t i = 0; i < n; ++i) s += a[i] * b[i];
  return s;
}

template <typename T>
Status run_rnn(KernelContext& ctx, const RnnParams& p) {
  using A = std::conditional_t<std::is_same_v<T, double>, double, float>;
  const int64_t H = p.hidden, I = p.input, G = p.gates, GH = G * H;
  const std::vector<A> x = to_acc<T, A>(ctx.input(0));
  const std::vector<A> w = to_acc<T, A>(ctx.input(1));
  const std::vector<A> r = to_acc<T, A>(ctx.input(2));
  std::vector<A> bias;
  if (ctx.has_input(3)) bias = to_acc<T, A>(ctx.input(3));
  std::vector<A> h0, c0, peep;
  if (ctx.has_input(5)) h0 = to_acc<T, A>(ctx.input(5));
  if (p.kind == RnnKind::kLstm && ctx.has_input(6)) c0 = to_acc<T, A>(ctx.input(6));
  if (p.kind == RnnKind::kLstm && ctx.has_input(7)) peep = to_acc<T, A>(ctx.input(7));

  const bool layout1 = p.layout == 1;
  T* y = nullptr;
  T* yh = nullptr;
  T* yc = nullptr;
  const Shape state_shape = layout1 ? Shape{p.batch, p.num_dir, H} : Shape{p.num_dir, p.batch, H};
  if (ctx.is_output_used(0)) {
    Shape ys = layout1 ? Shape{p.batch, p.seq, p.num_dir, H} : Shape{p.seq, p.num_dir, p.batch, H};
    ASSIGN_OR_RETURN(Tensor * t, ctx.allocate_output(0, ctx.input(0).dtype(), ys));
    y = t->data<T>();
  }
  if (ctx.is_output_used(1)) {
    ASSIGN_OR_RETURN(Tensor * t, ctx.allocate_output(1, ctx.input(0).dtype(), state_shape));
    yh = t->data<T>();
  }
  if (p.kind == RnnKind::kLstm && ctx.is_output_used(2)) {
    ASSIGN_OR_RETURN(Tensor * t, ctx.allocate_output(2, ctx.input(0).dtype(), state_shape));
    yc = t->data<T>();
  }
  // Offsets into X, Y and the state tensors for the two layouts.
  auto x_at = [&](int64_t t, int64_t b) { return layout1 ? (b * p.seq + t) * I : (t * p.batch + b) * I; };
  auto y_at = [&](int64_t t, int64_t d, int64_t b) {
    return layout1 ? ((b * p.seq + t) * p.num_dir + d) * H : ((t * p.num_dir + d) * p.batch + b) * H;
  };
  auto s_at = [&](int64_t d, int64_t b) { return layout1 ? (b * p.num_dir + d) * H : (d * p.batch + b) * H; };

  std::vector<A> h(H), c(H), gates(GH), hr(H), hnew(H);
  auto clip = [&](A v) {
    if (!p.has_clip) return v;
    return std::min(std::max(v, A(-p.clip)), A(p.clip));
  };

  for (int d = 0; d < p.num_dir; ++d) {
    const bool reverse = p.reverse_only || d == 1;
    const A* wd = w.data() + d * GH * I;
    const A* rd = r.data() + d * GH * H;
    const A* wb = bias.empty() ? nullptr : bias.data() + d * 2 * GH;
    const A* rb = bias.empty() ? nullptr : wb + GH;
    const A* pd = peep.empty() ? nullptr : peep.data() + d * 3 * H;
    const Activation* act = p.acts.data() + d * p.acts_per_dir;
    for (int64_t b = 0; b < p.batch; ++b) {
      const int64_t len = p.seq_lens[b];
      for (int64_t j = 0; j < H; ++j) {
        h[j] = h0.empty() ? A(0) : h0[s_at(d, b) + j];
        c[j] = c0.empty() ? A(0) : c0[s_at(d, b) + j];
      }
      for (int64_t s = 0; s < len; ++s) {
        const int64_t t = reverse ? len - 1 - s : s;
        const A* xt = x.data() + x_at(t, b);
        // gates = Xt*W^T + Wb (and + Ht-1*R^T + Rb for every gate but GRU's h gate).
        for (int64_t g = 0; g < GH; ++g) {
          A v = dot(xt, wd + g * I, I);
          if (wb) v += wb[g];
          gates[g] = v;
        }
        if (p.kind == RnnKind::kRnn) {
          for (int64_t j = 0; j < H; ++j) {
            A v = gates[j] + dot(h.data(), rd + j * H, H) + (rb ? rb[j] : A(0));
            hnew[j] = apply_act(act[0], clip(v));
          }
          h.swap(hnew);
        } else if (p.kind == RnnKind::kGru) {
          // Gate order z, r, h.
          for (int64_t j = 0; j < 2 * H; ++j) {
            A v = gates[j] + dot(h.data(), rd + j * H, H) + (rb ? rb[j] : A(0));
            gates[j] = apply_act(act[0], clip(v));
          }
          const A* z = gates.data();
          const A* rt = gates.data() + H;
          const A* rh = rd + 2 * H * H;
          const A rbh_zero = 0;
          if (!p.linear_before_reset) {
            for (int64_t k = 0; k < H; ++k) hr[k] = rt[k] * h[k];
          }
          for (int64_t j = 0; j < H; ++j) {
            const A rbh = rb ? rb[2 * H + j] : rbh_zero;
            A v;
            if (p.linear_before_reset) {
              v = gates[2 * H + j] + rt[j] * (dot(h.data(), rh + j * H, H) + rbh);
            } else {
              v = gates[2 * H + j] + dot(hr.data(), rh + j * H, H) + rbh;
            }
            const A ht = apply_act(act[1], clip(v));
            hnew[j] = (A(1) - z[j]) * ht + z[j] * h[j];
          }
          h.swap(hnew);
        } else {
          // Gate order i, o, f, c; peepholes i, o, f.
          for (int64_t g = 0; g < GH; ++g) {
            gates[g] += dot(h.data(), rd + g * H, H) + (rb ? rb[g] : A(0));
          }
          for (int64_t j = 0; j < H; ++j) {
            A vi = gates[j], vo = gates[H + j], vf = gates[2 * H + j], vc = gates[3 * H + j];
            if (pd) {
              vi += pd[j] * c[j];
              vf += pd[2 * H + j] * c[j];
            }
            const A it = apply_act(act[0], clip(vi));
            const A ft = p.input_forget ? A(1) - it : apply_act(act[0], clip(vf));
            const A ct = apply_act(act[1], clip(vc));
            const A cnew = ft * c[j] + it * ct;
            if (pd) vo += pd[H + j] * cnew;
            const A ot = apply_act(act[0], clip(vo));
            c[j] = cnew;
            hnew[j] = ot * apply_act(act[2], cnew);
          }
          h.swap(hnew);
        }
        if (y) {
          T* yt = y + y_at(t, d, b);
          for (int64_t j = 0; j < H; ++j) yt[j] = from_f64<T>(h[j]);
        }
      }
      // A sequence of length 0 has no last output: its Y_h and Y_c stay zero (as in ONNX Runtime).
      if (len > 0) {
        if (yh) {
          for (int64_t j = 0; j < H; ++j) yh[s_at(d, b) + j] = from_f64<T>(h[j]);
        }
        if (yc) {
          for (int64_t j = 0; j < H; ++j) yc[s_at(d, b) + j] = from_f64<T>(c[j]);
        }
      }
    }
  }
  return ok_status();
}

Status rnn_common(KernelContext& ctx, RnnKind kind) {
  RnnParams p;
  RETURN_IF_ERROR(parse_params(ctx, kind, p));
  return visit_float(ctx.input(0).dtype(), [&]<typename T>() { return run_rnn<T>(ctx, p); });
}

Status rnn(KernelContext& ctx) { return rnn_common(ctx, RnnKind::kRnn); }
Status gru(KernelContext& ctx) { return rnn_common(ctx, RnnKind::kGru); }
Status lstm(KernelContext& ctx) { return rnn_common(ctx, RnnKind::kLstm); }

}  // namespace

std::span<const KernelEntry> rnn_kernels() {
  static const KernelEntry kTable[] = {
      {"", "RNN", rnn},
      {"", "GRU", gru},
      {"", "LSTM", lstm},
  };
  return kTable;
}

}  // namespace edgeai::kernels::ref
