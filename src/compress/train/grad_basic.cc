// Backward rules of the element-wise, shape and softmax ops, the fake quantizer, and the table
// of every rule.
#include <algorithm>
#include <cmath>

#include "compress/train/grad_ops.h"
#include "compress/train/train_math.h"

namespace edgeai::compress::train {
namespace {

Result<Tensor> zeros(const Shape& s) { return Tensor::create(DType::kF32, s); }

constexpr uint32_t kAll = 0xffffffffu;

const GradEntry kTable[] = {
    {"", "Gemm", grad_gemm, 0b111},
    {"", "MatMul", grad_matmul, 0b11},
    {"", "Conv", grad_conv, 0b111},
    {"", "MaxPool", grad_max_pool, 0b1},
    {"", "AveragePool", grad_average_pool, 0b1},
    {"", "GlobalAveragePool", grad_global_average_pool, 0b1},
    {"", "BatchNormalization", grad_batch_norm, 0b111},
    {"", "Relu", grad_unary, 0b1},
    {"", "LeakyRelu", grad_unary, 0b1},
    {"", "Clip", grad_unary, 0b1},
    {"", "Sigmoid", grad_unary, 0b1},
    {"", "Tanh", grad_unary, 0b1},
    {"", "Gelu", grad_unary, 0b1},
    {"com.edgeai", "Gelu", grad_unary, 0b1},
    {"", "Identity", grad_reshape_like, 0b1},
    {"", "Dropout", grad_reshape_like, 0b1},
    {"", "Reshape", grad_reshape_like, 0b1},
    {"", "Flatten", grad_reshape_like, 0b1},
    {"", "Squeeze", grad_reshape_like, 0b1},
    {"", "Unsqueeze", grad_reshape_like, 0b1},
    {"", "Transpose", grad_transpose, 0b1},
    {"", "Concat", grad_concat, kAll},
    {"", "Add", grad_binary, 0b11},
    {"", "Sub", grad_binary, 0b11},
    {"", "Mul", grad_binary, 0b11},
    {"", "Div", grad_binary, 0b11},
    {"", "Softmax", grad_softmax, 0b1},
    {"", "LogSoftmax", grad_softmax, 0b1},
    {"com.edgeai.train", "FakeQuant", grad_fake_quant, 0b1},
};

// Gradient d(gelu)/dx, exact (erf) or tanh approximation.
float gelu_grad(float x, bool tanh_approx) {
  if (tanh_approx) {
    const float k = 0.7978845608f, a = 0.044715f;
    const float u = k * (x + a * x * x * x);
    const float t = std::tanh(u);
    return 0.5f * (1.0f + t) + 0.5f * x * (1.0f - t * t) * k * (1.0f + 3.0f * a * x * x);
  }
  const float cdf = 0.5f * (1.0f + std::erf(x * 0.70710678f));
  const float pdf = 0.39894228f * std::exp(-0.5f * x * x);
  return cdf + x * pdf;
}

float scalar_input(const GradContext& c, int i, float def) {
  if (static_cast<int>(c.in.size()) > i && c.in[i].defined() && c.in[i].numel() > 0) {
    return static_cast<float>(c.in[i].get_double(0));
  }
  return def;
}

}  // namespace

int64_t node_int(const ir::Node& n, std::string_view name, int64_t def) {
  const ir::Attribute* a = n.attr(name);
  return a ? (a->type == ir::AttrType::kFloat ? static_cast<int64_t>(a->f) : a->i) : def;
}
float node_float(const ir::Node& n, std::string_view name, float def) {
  const ir::Attribute* a = n.attr(name);
  return a ? (a->type == ir::AttrType::kInt ? static_cast<float>(a->i) : a->f) : def;
}
std::vector<int64_t> node_ints(const ir::Node& n, std::string_view name) {
  const ir::Attribute* a = n.attr(name);
  if (!a) return {};
  return a->type == ir::AttrType::kInt ? std::vector<int64_t>{a->i} : a->ints;
}
std::string node_string(const ir::Node& n, std::string_view name, std::string_view def) {
  const ir::Attribute* a = n.attr(name);
  return a ? a->s : std::string(def);
}

const GradEntry* find_grad(std::string_view domain, std::string_view op_type) {
  if (domain == "ai.onnx") domain = "";
  for (const GradEntry& e : kTable) {
    if (e.domain == domain && e.op_type == op_type) return &e;
  }
  return nullptr;
}

Status grad_unary(GradContext& c) {
  const Tensor& x = c.in[0];
  const Tensor& y = c.out[0];
  const Tensor& dy = c.dout[0];
  if (!dy.defined() || !c.need[0]) return ok_status();
  if (x.dtype() != DType::kF32) return c.error("training needs f32 input");
  ASSIGN_OR_RETURN(Tensor dx, zeros(x.shape()));
  const float* xp = x.data<float>();
  const float* yp = y.data<float>();
  const float* d = dy.data<float>();
  float* o = dx.data<float>();
  const int64_t n = x.numel();
  const std::string& op = c.node.op_type;
  if (op == "Relu") {
    for (int64_t i = 0; i < n; ++i) o[i] = xp[i] > 0 ? d[i] : 0.0f;
  } else if (op == "LeakyRelu") {
    const float alpha = node_float(c.node, "alpha", 0.01f);
    for (int64_t i = 0; i < n; ++i) o[i] = xp[i] > 0 ? d[i] : alpha * d[i];
  } else if (op == "Clip") {
    float lo, hi;
    if (c.opset < 11) {
      lo = node_float(c.node, "min", -3.402823e38f);
      hi = node_float(c.node, "max", 3.402823e38f);
    } else {
      lo = scalar_input(c, 1, -3.402823e38f);
      hi = scalar_input(c, 2, 3.402823e38f);
    }
    for (int64_t i = 0; i < n; ++i) o[i] = (xp[i] >= lo && xp[i] <= hi) ? d[i] : 0.0f;
  } else if (op == "Sigmoid") {
    for (int64_t i = 0; i < n; ++i) o[i] = d[i] * yp[i] * (1.0f - yp[i]);
  } else if (op == "Tanh") {
    for (int64_t i = 0; i < n; ++i) o[i] = d[i] * (1.0f - yp[i] * yp[i]);
  } else if (op == "Gelu") {
    const bool approx = node_string(c.node, "approximate", "none") == "tanh";
    for (int64_t i = 0; i < n; ++i) o[i] = d[i] * gelu_grad(xp[i], approx);
  } else {
    return c.error("no gradient rule");
  }
  c.din[0] = dx;
  return ok_status();
}

Status grad_binary(GradContext& c) {
  const Tensor& a = c.in[0];
  const Tensor& b = c.in[1];
  const Tensor& dy = c.dout[0];
  if (!dy.defined()) return ok_status();
  if (a.dtype() != DType::kF32 || b.dtype() != DType::kF32) return c.error("training needs f32 inputs");
  const std::string& op = c.node.op_type;
  const Shape& os = dy.shape();
  BroadcastIndexer bi(os, {a.shape(), b.shape()});
  const int64_t n = dy.numel();
  const float* d = dy.data<float>();
  const float* ap = a.data<float>();
  const float* bp = b.data<float>();
  for (int side = 0; side < 2; ++side) {
    if (!c.need[side]) continue;
    const Shape& target = side == 0 ? a.shape() : b.shape();
    Tensor full;
    if (op == "Add" || (op == "Sub" && side == 0)) {
      full = dy;
    } else {
      ASSIGN_OR_RETURN(full, zeros(os));
      float* f = full.data<float>();
      for (int64_t i = 0; i < n; ++i) {
        const float av = ap[bi.offset(0, i)], bv = bp[bi.offset(1, i)];
        if (op == "Sub") f[i] = -d[i];
        else if (op == "Mul") f[i] = d[i] * (side == 0 ? bv : av);
        else f[i] = side == 0 ? d[i] / bv : -d[i] * av / (bv * bv);  // Div
      }
    }
    ASSIGN_OR_RETURN(Tensor r, reduce_to_shape(full, target));
    if (r.raw() == dy.raw()) r = r.clone();
    c.din[side] = r;
  }
  return ok_status();
}

Status grad_reshape_like(GradContext& c) {
  const Tensor& dy = c.dout[0];
  if (!dy.defined() || !c.need[0]) return ok_status();
  ASSIGN_OR_RETURN(c.din[0], dy.reshaped(c.in[0].shape()));
  return ok_status();
}

Status grad_transpose(GradContext& c) {
  const Tensor& dy = c.dout[0];
  if (!dy.defined() || !c.need[0]) return ok_status();
  const int r = c.in[0].rank();
  std::vector<int64_t> perm = node_ints(c.node, "perm");
  if (perm.empty()) {
    for (int i = r - 1; i >= 0; --i) perm.push_back(i);
  }
  if (static_cast<int>(perm.size()) != r) return c.error("perm does not match the input rank");
  // out[i_0..] = in[j] with in index j_perm[d] = i_d; the gradient scatters back.
  ASSIGN_OR_RETURN(Tensor dx, zeros(c.in[0].shape()));
  const std::vector<int64_t> istr = shape_strides(c.in[0].shape());
  const Shape& os = dy.shape();
  std::vector<int64_t> idx(r, 0);
  const float* d = dy.data<float>();
  float* o = dx.data<float>();
  for (int64_t i = 0; i < dy.numel(); ++i) {
    int64_t off = 0;
    for (int k = 0; k < r; ++k) off += idx[k] * istr[perm[k]];
    o[off] = d[i];
    for (int k = r - 1; k >= 0; --k) {
      if (++idx[k] < os[k]) break;
      idx[k] = 0;
    }
  }
  c.din[0] = dx;
  return ok_status();
}

Status grad_concat(GradContext& c) {
  const Tensor& dy = c.dout[0];
  if (!dy.defined()) return ok_status();
  const int r = dy.rank();
  int64_t axis = node_int(c.node, "axis", 0);
  if (axis < 0) axis += r;
  if (axis < 0 || axis >= r) return c.error("axis out of range");
  int64_t outer = 1, inner = 1;
  for (int d = 0; d < axis; ++d) outer *= dy.dim(d);
  for (int d = axis + 1; d < r; ++d) inner *= dy.dim(d);
  const int64_t total = dy.dim(static_cast<int>(axis));
  int64_t start = 0;
  for (size_t k = 0; k < c.in.size(); ++k) {
    if (!c.in[k].defined()) continue;
    const int64_t len = c.in[k].rank() == r ? c.in[k].dim(static_cast<int>(axis)) : 0;
    if (c.need[k]) {
      ASSIGN_OR_RETURN(Tensor dx, zeros(c.in[k].shape()));
      for (int64_t o = 0; o < outer; ++o) {
        std::copy_n(dy.data<float>() + (o * total + start) * inner, len * inner, dx.data<float>() + o * len * inner);
      }
      c.din[k] = dx;
    }
    start += len;
  }
  return ok_status();
}

void softmax_dims(const Shape& s, int axis, int opset, int64_t* outer, int64_t* len, int64_t* inner) {
  *outer = *len = *inner = 1;
  for (int d = 0; d < axis; ++d) *outer *= s[d];
  if (opset < 13) {
    for (size_t d = axis; d < s.size(); ++d) *len *= s[d];
  } else {
    *len = s[axis];
    for (size_t d = axis + 1; d < s.size(); ++d) *inner *= s[d];
  }
}

Status grad_softmax(GradContext& c) {
  const Tensor& y = c.out[0];
  const Tensor& dy = c.dout[0];
  if (!dy.defined() || !c.need[0]) return ok_status();
  const int r = y.rank();
  int64_t axis = node_int(c.node, "axis", c.opset < 13 ? 1 : -1);
  if (axis < 0) axis += r;
  if (axis < 0 || axis >= std::max(r, 1)) return c.error("axis out of range");
  int64_t outer, len, inner;
  softmax_dims(y.shape(), static_cast<int>(axis), c.opset, &outer, &len, &inner);
  ASSIGN_OR_RETURN(Tensor dx, zeros(y.shape()));
  const bool log = c.node.op_type == "LogSoftmax";
  const float* yp = y.data<float>();
  const float* d = dy.data<float>();
  float* o = dx.data<float>();
  for (int64_t a = 0; a < outer; ++a) {
    for (int64_t b = 0; b < inner; ++b) {
      const int64_t base = a * len * inner + b;
      double s = 0;
      for (int64_t k = 0; k < len; ++k) {
        const int64_t i = base + k * inner;
        s += log ? d[i] : d[i] * yp[i];
      }
      for (int64_t k = 0; k < len; ++k) {
        const int64_t i = base + k * inner;
        o[i] = log ? static_cast<float>(d[i] - std::exp(yp[i]) * s) : static_cast<float>(yp[i] * (d[i] - s));
      }
    }
  }
  c.din[0] = dx;
  return ok_status();
}

Status grad_fake_quant(GradContext& c) {
  // Straight-through estimator: the gradient passes where the value was inside the quantizer's
  // range, and is zero where it was clamped.
  const Tensor& x = c.in[0];
  const Tensor& dy = c.dout[0];
  if (!dy.defined() || !c.need[0]) return ok_status();
  const Tensor& scale = c.in[1];
  const Tensor& zp = c.in[2];
  const float qmin = node_float(c.node, "qmin", -127.0f), qmax = node_float(c.node, "qmax", 127.0f);
  const int64_t channels = scale.numel();
  int64_t axis = node_int(c.node, "axis", 0);
  int64_t inner = 1;
  if (channels > 1) {
    if (axis < 0) axis += x.rank();
    for (int d = static_cast<int>(axis) + 1; d < x.rank(); ++d) inner *= x.dim(d);
  }
  ASSIGN_OR_RETURN(Tensor dx, zeros(x.shape()));
  const float* xp = x.data<float>();
  const float* d = dy.data<float>();
  float* o = dx.data<float>();
  for (int64_t i = 0; i < x.numel(); ++i) {
    const int64_t ch = channels > 1 ? (i / inner) % channels : 0;
    const float s = scale.data<float>()[ch];
    const float q = std::nearbyint(xp[i] / s) + zp.data<float>()[ch];
    o[i] = (q >= qmin && q <= qmax) ? d[i] : 0.0f;
  }
  c.din[0] = dx;
  return ok_status();
}

}  // namespace edgeai::compress::train
