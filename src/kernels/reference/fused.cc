// Reference kernels of the ops the graph passes introduce (domain "com.edgeai"); they are the
// numerical definition of those ops, and the optimized CPU kernels register under the same names.
//
//   FusedConv(X, W, B?, Z?)  Conv's inputs and attributes, plus `activation` and
//                        `activation_params`: Y = act(Conv(X, W, B) + Z), Z (a residual,
//                        optional) of the Conv's dtype, added as ONNX Add (broadcasting).
//   FusedGemm(A, B, C?)  Gemm's inputs and attributes, plus the same two:
//                        Y = act(alpha * A' * B' + beta * C).
//   Gelu(X)              Y = 0.5 x (1 + erf(x / sqrt 2)); with approximate = "tanh",
//                        Y = 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))).
//   FusedPwDwConv(X, W1, B1?, W2, B2?)
//                        an inverted-residual block's 1x1 expand conv and the depthwise conv
//                        after it, in one node (fuse_pointwise_depthwise.cc): X [N, Cin, H, W],
//                        W1 [C, Cin, 1, 1], B1 [C] or absent, W2 [C, 1, kh, kw], B2 [C] or absent.
//                        Attributes: the depthwise conv's, as ONNX Conv spells them (strides,
//                        pads, dilations, auto_pad, kernel_shape, group = C), its activation as
//                        `activation` / `activation_params`, and the pointwise conv's as
//                        `pw_activation` / `pw_activation_params` (same encoding; absent = none).
//                        Y = FusedConv(E, W2, B2; the depthwise attributes and activation) with
//                        E = FusedConv(X, W1, B1; stride 1, no pads, group 1, pw_activation):
//                        exactly the two nodes it replaces. All inputs of one float dtype.
//   QLut(X, Table)       X uint8 or int8, Table [256] of uint8, int8 or float: Y = Table[byte of X]
//                        (the byte read as unsigned), Y of Table's dtype and X's shape. The int8
//                        QDQ fusion makes it from DequantizeLinear -> elementwise ops ->
//                        QuantizeLinear (a byte table), or from DequantizeLinear -> elementwise
//                        ops whose float result goes on to float ops (a float table).
//
// activation (string) and activation_params (floats):
//   "Relu"       max(x, 0) (NaN stays NaN)
//   "Clip"       min(max(x, p[0]), p[1]); params [min, max], +-inf for a missing bound
//   "HardSwish"  x * max(0, min(1, x / 6 + 0.5))
//   "Sigmoid"    1 / (1 + exp(-x))
//   "SiLU"       x * Sigmoid(x)
//   "GELU"       0.5 x (1 + erf(x / sqrt 2))
//   "GELUTanh"   0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))
//   "LeakyRelu"  x >= 0 ? x : alpha * x; params [alpha] (default 0.01)
//   "Tanh"       tanh(x)
//   "HardSigmoid" max(0, min(1, alpha * x + beta)); params [alpha, beta] (default 0.2, 0.5)
// Each activation is computed exactly as the reference kernel of the ONNX op it replaces, so a
// fused graph gives the same numbers as the unfused one.
#include <algorithm>
#include <cmath>
#include <limits>

#include "kernels/reference/elementwise_common.h"
#include "kernels/reference/nn_internal.h"
#include "kernels/reference/registry.h"

namespace edgeai::kernels::ref {
namespace {

// Runs an inner kernel (the reference Conv or Gemm) and keeps the output it allocates so the
// activation can be applied to it in place. By default the inner kernel sees this node's inputs
// (not FusedConv's Z) and attributes and writes this node's output; FusedPwDwConv runs it on
// chosen inputs, with or without the node's attributes, into a tensor of its own.
class InnerContext final : public KernelContext {
 public:
  InnerContext(KernelContext& outer, std::string_view op, int opset) : o_(outer), op_(op), opset_(opset) {}
  // The inner kernel reads `inputs` (an absent one a Value of kind kNone) instead of the node's.
  void set_inputs(std::vector<Value> inputs) {
    inputs_ = std::move(inputs);
    own_inputs_ = true;
  }
  // The inner kernel sees no attributes (every getter returns its default).
  void hide_attributes() { attrs_ = false; }
  // The inner kernel's output goes to a tensor of this context (see output()), not the node's.
  void keep_output() { own_output_ = true; }
  Tensor* output() const { return out_; }

  int num_inputs() const override {
    return own_inputs_ ? static_cast<int>(inputs_.size()) : std::min(o_.num_inputs(), 3);  // not FusedConv's Z
  }
  bool has_input(int i) const override {
    if (!own_inputs_) return o_.has_input(i);
    return i >= 0 && i < num_inputs() && inputs_[i].kind != Value::Kind::kNone;
  }
  const Tensor& input(int i) const override { return own_inputs_ ? inputs_[i].tensor : o_.input(i); }
  const Value& input_value(int i) const override { return own_inputs_ ? inputs_[i] : o_.input_value(i); }
  int num_outputs() const override { return 1; }
  bool is_output_used(int i) const override { return i == 0; }
  Result<Tensor*> allocate_output(int i, DType dtype, const Shape& shape) override {
    if (own_output_) {
      ASSIGN_OR_RETURN(kept_, Tensor::create_uninitialized(dtype, shape));
      out_ = &kept_;
      return out_;
    }
    ASSIGN_OR_RETURN(out_, o_.allocate_output(i, dtype, shape));
    return out_;
  }
  void set_output(int i, Tensor t) override {
    if (!own_output_) return o_.set_output(i, std::move(t));
    kept_ = std::move(t);
    out_ = &kept_;
  }
  void set_output_value(int i, Value v) override {
    if (!own_output_) return o_.set_output_value(i, std::move(v));
    set_output(i, std::move(v.tensor));
  }
  bool has_attr(std::string_view n) const override { return attrs_ && o_.has_attr(n); }
  int64_t attr_int(std::string_view n, int64_t def) const override { return attrs_ ? o_.attr_int(n, def) : def; }
  float attr_float(std::string_view n, float def) const override { return attrs_ ? o_.attr_float(n, def) : def; }
  std::string attr_string(std::string_view n, std::string_view def) const override {
    return attrs_ ? o_.attr_string(n, def) : std::string(def);
  }
  std::vector<int64_t> attr_ints(std::string_view n) const override {
    return attrs_ ? o_.attr_ints(n) : std::vector<int64_t>{};
  }
  std::vector<float> attr_floats(std::string_view n) const override {
    return attrs_ ? o_.attr_floats(n) : std::vector<float>{};
  }
  std::vector<std::string> attr_strings(std::string_view n) const override {
    return attrs_ ? o_.attr_strings(n) : std::vector<std::string>{};
  }
  const Tensor* attr_tensor(std::string_view n) const override { return attrs_ ? o_.attr_tensor(n) : nullptr; }
  std::string_view op_type() const override { return o_.op_type(); }
  std::string_view node_name() const override { return o_.node_name(); }
  int opset() const override { return opset_; }
  const CpuFeatures& cpu() const override { return o_.cpu(); }
  ThreadPool& pool() override { return o_.pool(); }

 private:
  KernelContext& o_;
  std::string_view op_;
  int opset_;
  std::vector<Value> inputs_;
  bool own_inputs_ = false;
  bool attrs_ = true;
  bool own_output_ = false;
  Tensor kept_;
  Tensor* out_ = nullptr;
};

enum class Act { kNone, kRelu, kClip, kHardSwish, kSigmoid, kSiLU, kGelu, kGeluTanh, kLeakyRelu, kTanh, kHardSigmoid };

struct ActSpec {
  Act kind = Act::kNone;
  float p0 = 0, p1 = 0;
};

// The activation named by attributes `attr` and `attr`_params.
Result<ActSpec> read_activation(const KernelContext& ctx, const std::string& attr = "activation") {
  const std::string name = ctx.attr_string(attr, "");
  const std::vector<float> p = ctx.attr_floats(attr + "_params");
  ActSpec s;
  if (name.empty()) return s;
  if (name == "Relu") s.kind = Act::kRelu;
  else if (name == "HardSwish") s.kind = Act::kHardSwish;
  else if (name == "Sigmoid") s.kind = Act::kSigmoid;
  else if (name == "SiLU") s.kind = Act::kSiLU;
  else if (name == "GELU") s.kind = Act::kGelu;
  else if (name == "GELUTanh") s.kind = Act::kGeluTanh;
  else if (name == "Tanh") s.kind = Act::kTanh;
  else if (name == "HardSigmoid") {
    s.kind = Act::kHardSigmoid;
    if (p.size() != 0 && p.size() != 2) return ctx.error("HardSigmoid takes activation_params [alpha, beta], got " + std::to_string(p.size()) + " values");
    s.p0 = p.empty() ? 0.2f : p[0];
    s.p1 = p.empty() ? 0.5f : p[1];
  }
  else if (name == "LeakyRelu") {
    s.kind = Act::kLeakyRelu;
    if (p.size() > 1) return ctx.error("LeakyRelu takes one activation_params value (alpha), got " + std::to_string(p.size()));
    s.p0 = p.empty() ? 0.01f : p[0];
  } else if (name == "Clip") {
    s.kind = Act::kClip;
    if (p.size() != 2) return ctx.error("Clip takes activation_params [min, max], got " + std::to_string(p.size()) + " values");
    if (std::isnan(p[0]) || std::isnan(p[1])) return ctx.error("Clip bounds must not be NaN");
    s.p0 = p[0];
    s.p1 = p[1];
  } else {
    return ctx.error("unknown activation '" + name +
                     "' (expected Relu, Clip, HardSwish, Sigmoid, SiLU, GELU, GELUTanh, LeakyRelu, Tanh or HardSigmoid)");
  }
  if (s.kind != Act::kLeakyRelu && s.kind != Act::kClip && s.kind != Act::kHardSigmoid && !p.empty()) {
    return ctx.error("activation " + name + " takes no activation_params");
  }
  return s;
}

template <typename A>
A sigmoid(A x) {
  if (x >= A(0)) return A(1) / (A(1) + std::exp(-x));
  A e = std::exp(x);
  return e / (A(1) + e);
}

template <typename A>
A gelu(A x, bool tanh_form) {
  if (tanh_form) {
    const A k = static_cast<A>(0.79788456080286535587989211986876);  // sqrt(2/pi)
    return A(0.5) * x * (A(1) + std::tanh(k * (x + A(0.044715) * x * x * x)));
  }
  return A(0.5) * x * (A(1) + std::erf(x * static_cast<A>(0.70710678118654752440084436210485)));
}

template <typename A>
A activate(A x, const ActSpec& s) {
  switch (s.kind) {
    case Act::kNone: return x;
    case Act::kRelu: return std::isnan(x) ? x : std::max(x, A(0));
    case Act::kClip: return std::min(std::max(x, A(s.p0)), A(s.p1));
    case Act::kHardSwish: return x * std::max(A(0), std::min(A(1), x / A(6) + A(0.5)));
    case Act::kSigmoid: return sigmoid(x);
    case Act::kSiLU: return x * sigmoid(x);
    case Act::kGelu: return gelu(x, false);
    case Act::kGeluTanh: return gelu(x, true);
    case Act::kLeakyRelu: return x >= A(0) ? x : A(s.p0) * x;
    case Act::kTanh: return std::tanh(x);
    case Act::kHardSigmoid: return std::max(A(0), std::min(A(1), A(s.p0) * x + A(s.p1)));
  }
  return x;
}

Status apply_activation(KernelContext& ctx, Tensor& y, const ActSpec& s) {
  if (s.kind == Act::kNone) return ok_status();
  if (!y.writable()) return ctx.error("internal: output is not writable");
  return visit_float(y.dtype(), [&]<typename T>() {
    using A = nn::Acc<T>;
    T* d = y.data<T>();
    const int64_t n = y.numel();
    ctx.pool().parallel_for(n, 1 << 14, [&](int64_t b, int64_t e) {
      for (int64_t i = b; i < e; ++i) d[i] = nn::store<T>(activate<A>(nn::load<A>(d[i]), s));
    });
    return ok_status();
  });
}

// FusedConv's Z (input 3) added to the Conv's result y as ONNX Add adds two tensors
// (multidirectional broadcasting; where the sum is larger than y, the output is allocated again
// at the sum's shape). The output that holds the sum is returned through *out.
Status add_residual(KernelContext& ctx, Tensor** out) {
  const Tensor y = **out;  // keeps the Conv's result alive if the output is allocated again
  const Tensor& z = ctx.input(3);
  if (z.dtype() != y.dtype()) {
    return ctx.error("Z must have the output's dtype " + nn::dtype_str(y.dtype()) + ", got " + nn::dtype_str(z.dtype()));
  }
  auto bs = broadcast_shapes(y.shape(), z.shape());
  if (!bs.ok()) return ctx.error("Z " + shape_str(z.shape()) + " does not broadcast with " + shape_str(y.shape()));
  if (*bs != y.shape()) {
    ASSIGN_OR_RETURN(*out, ctx.allocate_output(0, y.dtype(), *bs));
  }
  if (!(*out)->writable()) return ctx.error("internal: output is not writable");
  return visit_float(y.dtype(), [&]<typename T>() {
    using A = nn::Acc<T>;
    T* d = (*out)->data<T>();
    const T* a = y.data<T>();
    const T* b = z.data<T>();
    ew::for_each_broadcast<2>(*bs, {&y.shape(), &z.shape()}, [&](int64_t o, int64_t ia, int64_t ib) {
      d[o] = nn::store<T>(nn::load<A>(a[ia]) + nn::load<A>(b[ib]));
    });
    return ok_status();
  });
}

// Runs `inner` (reference Conv or Gemm), adds FusedConv's Z, then the activation on its output.
Status fused(KernelContext& ctx, std::string_view op, Status (*inner)(KernelContext&)) {
  ASSIGN_OR_RETURN(ActSpec act, read_activation(ctx));
  if (!ctx.is_output_used(0)) return ok_status();
  // The inner kernels' semantics are those of current opsets (Conv: 11+, Gemm: 13+, C optional).
  InnerContext ic(ctx, op, 13);
  RETURN_IF_ERROR(inner(ic));
  if (!ic.output()) return ctx.error("internal: " + std::string(op) + " produced no output");
  Tensor* out = ic.output();
  if (ctx.num_inputs() > 3 && ctx.has_input(3)) RETURN_IF_ERROR(add_residual(ctx, &out));
  return apply_activation(ctx, *out, act);
}

Status fused_conv(KernelContext& ctx) {
  RETURN_IF_ERROR(nn::check_inputs(ctx, 2, 4, 2));
  return fused(ctx, "Conv", nn::conv);
}

// FusedPwDwConv: the pointwise FusedConv into a tensor of its own (E), then the depthwise one
// from E into the node's output, each through the reference Conv and activation.
Status fused_pw_dw_conv(KernelContext& ctx) {
  RETURN_IF_ERROR(nn::check_inputs(ctx, 4, 5, 2));
  if (!ctx.has_input(3)) return ctx.error("input 3 (W2, the depthwise weights) is required but absent");
  RETURN_IF_ERROR(nn::check_float(ctx, 0));
  const Tensor& x = ctx.input(0);
  const Tensor& w1 = ctx.input(1);
  const Tensor& w2 = ctx.input(3);
  static const char* const kNames[] = {"X", "W1", "B1", "W2", "B2"};
  for (int i = 1; i < ctx.num_inputs(); ++i) {
    if (ctx.has_input(i) && ctx.input(i).dtype() != x.dtype()) {
      return ctx.error(std::string(kNames[i]) + " must have X's dtype " + nn::dtype_str(x.dtype()) + ", got " +
                       nn::dtype_str(ctx.input(i).dtype()));
    }
  }
  if (x.rank() != 4) return ctx.error("X must have shape [N, Cin, H, W], got " + shape_str(x.shape()));
  if (w1.rank() != 4 || w1.dim(1) != x.dim(1) || w1.dim(2) != 1 || w1.dim(3) != 1) {
    return ctx.error("W1 must have shape [C, " + std::to_string(x.dim(1)) + ", 1, 1] (a pointwise conv of X's " +
                     std::to_string(x.dim(1)) + " channels), got " + shape_str(w1.shape()));
  }
  const int64_t c = w1.dim(0);
  if (w2.rank() != 4 || w2.dim(0) != c || w2.dim(1) != 1) {
    return ctx.error("W2 must have shape [" + std::to_string(c) + ", 1, kh, kw] (depthwise over W1's " +
                     std::to_string(c) + " channels), got " + shape_str(w2.shape()));
  }
  if (ctx.attr_int("group", c) != c) {
    return ctx.error("group must be " + std::to_string(c) + " (depthwise), got " +
                     std::to_string(ctx.attr_int("group", c)));
  }
  ASSIGN_OR_RETURN(ActSpec pw_act, read_activation(ctx, "pw_activation"));
  ASSIGN_OR_RETURN(ActSpec act, read_activation(ctx));
  if (!ctx.is_output_used(0)) return ok_status();
  const auto value = [&](int i) { return ctx.num_inputs() > i && ctx.has_input(i) ? ctx.input_value(i) : Value{}; };

  InnerContext pw(ctx, "Conv", 13);
  pw.set_inputs({value(0), value(1), value(2)});
  pw.hide_attributes();
  pw.keep_output();
  RETURN_IF_ERROR(nn::conv(pw));
  if (!pw.output()) return ctx.error("internal: the pointwise Conv produced no output");
  RETURN_IF_ERROR(apply_activation(ctx, *pw.output(), pw_act));

  InnerContext dw(ctx, "Conv", 13);
  dw.set_inputs({Value::of(*pw.output()), value(3), value(4)});
  RETURN_IF_ERROR(nn::conv(dw));
  if (!dw.output()) return ctx.error("internal: the depthwise Conv produced no output");
  return apply_activation(ctx, *dw.output(), act);
}

Status fused_gemm(KernelContext& ctx) {
  RETURN_IF_ERROR(nn::check_inputs(ctx, 2, 3, 2));
  RETURN_IF_ERROR(nn::check_float(ctx, 0));
  return fused(ctx, "Gemm", nn::gemm);
}

Status gelu_op(KernelContext& ctx) {
  RETURN_IF_ERROR(nn::check_inputs(ctx, 1, 1, 1));
  RETURN_IF_ERROR(nn::check_float(ctx, 0));
  const std::string approx = ctx.attr_string("approximate", "none");
  if (approx != "none" && approx != "tanh") {
    return ctx.error("attribute 'approximate' must be \"none\" or \"tanh\", got \"" + approx + "\"");
  }
  const bool tanh_form = approx == "tanh";
  if (!ctx.is_output_used(0)) return ok_status();
  const Tensor& x = ctx.input(0);
  ASSIGN_OR_RETURN(Tensor * y, ctx.allocate_output(0, x.dtype(), x.shape()));
  return visit_float(x.dtype(), [&]<typename T>() {
    using A = nn::Acc<T>;
    const T* in = x.data<T>();
    T* out = y->data<T>();
    for (int64_t i = 0; i < x.numel(); ++i) out[i] = nn::store<T>(gelu(nn::load<A>(in[i]), tanh_form));
    return ok_status();
  });
}

Status qlut(KernelContext& ctx) {
  if (ctx.num_inputs() != 2 || !ctx.has_input(0) || !ctx.has_input(1)) return ctx.error("needs inputs X and Table");
  const Tensor& x = ctx.input(0);
  const Tensor& t = ctx.input(1);
  const auto q8 = [](DType d) { return d == DType::kU8 || d == DType::kI8; };
  if (!q8(x.dtype()) || !(q8(t.dtype()) || t.dtype() == DType::kF32) || t.numel() != 256) {
    return ctx.error("X must be uint8 or int8 and Table 256 uint8, int8 or float values, got " +
                     std::string(dtype_name(x.dtype())) + " and " + std::string(dtype_name(t.dtype())) + " " +
                     shape_str(t.shape()));
  }
  if (!ctx.is_output_used(0)) return ok_status();
  ASSIGN_OR_RETURN(Tensor * y, ctx.allocate_output(0, t.dtype(), x.shape()));
  const uint8_t* in = x.data<uint8_t>();
  if (t.dtype() == DType::kF32) {
    const float* table = t.data<float>();
    float* out = y->data<float>();
    for (int64_t i = 0; i < x.numel(); ++i) out[i] = table[in[i]];
    return ok_status();
  }
  const uint8_t* table = t.data<uint8_t>();
  uint8_t* out = y->data<uint8_t>();
  for (int64_t i = 0; i < x.numel(); ++i) out[i] = table[in[i]];
  return ok_status();
}

}  // namespace

std::span<const KernelEntry> fused_kernels() {
  static const KernelEntry kTable[] = {
      {"com.edgeai", "FusedConv", fused_conv},
      {"com.edgeai", "FusedPwDwConv", fused_pw_dw_conv},
      {"com.edgeai", "FusedGemm", fused_gemm},
      {"com.edgeai", "Gelu", gelu_op},
      {"com.edgeai", "QLut", qlut},
  };
  return kTable;
}

}  // namespace edgeai::kernels::ref
