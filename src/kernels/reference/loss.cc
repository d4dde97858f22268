// Reference kernels for NegativeLogLikelihoodLoss and SoftmaxCrossEntropyLoss (opset 12+).
// Listed in reduce.cc's table.
#include <cmath>
#include <limits>
#include <optional>
#include <string>
#include <vector>

#include "kernels/reference/dispatch.h"
#include "kernels/reference/reduce_internal.h"

namespace edgeai::kernels::ref {
namespace {

using reduce_detail::alloc_output;
using reduce_detail::expect_float;
using reduce_detail::required_input;
using reduce_detail::to_doubles;

enum class Reduction { kNone, kSum, kMean };

// What both losses check and share: shapes [N, C, D...] and [N, D...], the weights, the targets,
// ignore_index and the reduction.
struct LossSetup {
  int64_t N = 0, C = 0, D = 1;
  std::vector<int64_t> target;
  std::vector<double> weight;  // empty: all ones
  std::optional<int64_t> ignore;
  Reduction reduction = Reduction::kMean;
};

Result<LossSetup> loss_setup(const KernelContext& ctx, const Tensor& input, const char* in_name,
                             const char* target_name) {
  LossSetup s;
  RETURN_IF_ERROR(expect_float(ctx, input, in_name));
  if (input.rank() < 2) {
    return ctx.error(std::string(in_name) + " must have shape [N, C, D...], got " +
                     shape_str(input.shape()));
  }
  ASSIGN_OR_RETURN(const Tensor* tp, required_input(ctx, 1, target_name));
  const Tensor& t = *tp;
  if (t.dtype() != DType::kI32 && t.dtype() != DType::kI64) {
    return ctx.error(std::string(target_name) + " must be int32 or int64, got " +
                     std::string(dtype_name(t.dtype())));
  }
  Shape want{input.dim(0)};
  for (int d = 2; d < input.rank(); ++d) want.push_back(input.dim(d));
  if (t.shape() != want) {
    return ctx.error(std::string(target_name) + " must have shape " + shape_str(want) + " for " +
                     in_name + " of shape " + shape_str(input.shape()) + ", got " +
                     shape_str(t.shape()));
  }
  s.N = input.dim(0);
  s.C = input.dim(1);
  for (int d = 2; d < input.rank(); ++d) s.D *= input.dim(d);
  s.target = t.to_int64_vector();
  if (ctx.has_input(2)) {
    ASSIGN_OR_RETURN(const Tensor* wp, required_input(ctx, 2, "weights"));
    RETURN_IF_ERROR(expect_float(ctx, *wp, "weights"));
    if (wp->rank() != 1 || wp->dim(0) != s.C) {
      return ctx.error("weights must have shape [" + std::to_string(s.C) + "], got " +
                       shape_str(wp->shape()));
    }
    s.weight = to_doubles(*wp);
  }
  if (ctx.has_attr("ignore_index")) s.ignore = ctx.attr_int("ignore_index", 0);
  const std::string red = ctx.attr_string("reduction", "mean");
  if (red == "none") s.reduction = Reduction::kNone;
  else if (red == "sum") s.reduction = Reduction::kSum;
  else if (red == "mean") s.reduction = Reduction::kMean;
  else return ctx.error("reduction must be none, sum or mean, got '" + red + "'");
  for (size_t i = 0; i < s.target.size(); ++i) {
    const int64_t c = s.target[i];
    if (s.ignore && c == *s.ignore) continue;
    if (c < 0 || c >= s.C) {
      return ctx.error(std::string(target_name) + " value " + std::to_string(c) + " at " +
                       std::to_string(i) + " is out of range [0, " + std::to_string(s.C) + ")");
    }
  }
  return s;
}

// loss[n, d] = -w[t] * logp(n, t, d) with t = target[n, d] (0 where ignored), then reduced:
// sum, or mean = sum / sum of the weights used. logp(flat index into [N, C, D]) -> double.
template <typename LogP>
Status nll_output(KernelContext& ctx, const LossSetup& s, DType dtype, const Shape& target_shape,
                  LogP logp) {
  if (!ctx.is_output_used(0)) return ok_status();
  std::vector<double> loss(s.N * s.D, 0.0);
  double total = 0.0, wsum = 0.0;
  for (int64_t n = 0; n < s.N; ++n) {
    for (int64_t d = 0; d < s.D; ++d) {
      const int64_t i = n * s.D + d;
      const int64_t t = s.target[i];
      if (s.ignore && t == *s.ignore) continue;
      const double w = s.weight.empty() ? 1.0 : s.weight[t];
      loss[i] = -w * logp((n * s.C + t) * s.D + d);
      total += loss[i];
      wsum += w;
    }
  }
  const Shape out_shape = s.reduction == Reduction::kNone ? target_shape : Shape{};
  ASSIGN_OR_RETURN(Tensor * out, alloc_output(ctx, 0, dtype, out_shape));
  if (s.reduction == Reduction::kSum) {
    loss.assign(1, total);
  } else if (s.reduction == Reduction::kMean) {
    loss.assign(1, total / wsum);  // no weight at all: NaN, like the reference
  }
  return visit_float(dtype, [&]<typename T>() {
    T* y = out->data<T>();
    for (size_t i = 0; i < loss.size(); ++i) y[i] = from_f64<T>(loss[i]);
    return ok_status();
  });
}

Status nll_loss_impl(KernelContext& ctx) {
  ASSIGN_OR_RETURN(const Tensor* xp, required_input(ctx, 0, "input"));
  const Tensor& x = *xp;
  ASSIGN_OR_RETURN(LossSetup s, loss_setup(ctx, x, "input", "target"));
  return visit_float(x.dtype(), [&]<typename T>() {
    const T* xd = x.data<T>();
    return nll_output(ctx, s, x.dtype(), ctx.input(1).shape(),
                      [&](int64_t i) { return to_f64(xd[i]); });
  });
}

Status sce_loss_impl(KernelContext& ctx) {
  ASSIGN_OR_RETURN(const Tensor* xp, required_input(ctx, 0, "scores"));
  const Tensor& x = *xp;
  ASSIGN_OR_RETURN(LossSetup s, loss_setup(ctx, x, "scores", "labels"));
  // log_prob = LogSoftmax(scores) along axis 1.
  std::vector<double> logp(static_cast<size_t>(x.numel()));
  RETURN_IF_ERROR(visit_float(x.dtype(), [&]<typename T>() {
    const T* xd = x.data<T>();
    for (int64_t n = 0; n < s.N; ++n) {
      for (int64_t d = 0; d < s.D; ++d) {
        const int64_t base = n * s.C * s.D + d;
        double m = -std::numeric_limits<double>::infinity();
        for (int64_t c = 0; c < s.C; ++c) {
          const double v = to_f64(xd[base + c * s.D]);
          if (v > m || std::isnan(v)) m = v;
        }
        double sum = 0.0;
        for (int64_t c = 0; c < s.C; ++c) sum += std::exp(to_f64(xd[base + c * s.D]) - m);
        const double lse = m + std::log(sum);
        for (int64_t c = 0; c < s.C; ++c) {
          const int64_t at = base + c * s.D;
          logp[at] = to_f64(xd[at]) - lse;
        }
      }
    }
    return ok_status();
  }));
  if (ctx.num_outputs() > 1 && ctx.is_output_used(1)) {
    ASSIGN_OR_RETURN(Tensor * lp, alloc_output(ctx, 1, x.dtype(), x.shape()));
    RETURN_IF_ERROR(visit_float(x.dtype(), [&]<typename T>() {
      T* y = lp->data<T>();
      for (size_t i = 0; i < logp.size(); ++i) y[i] = from_f64<T>(logp[i]);
      return ok_status();
    }));
  }
  return nll_output(ctx, s, x.dtype(), ctx.input(1).shape(),
                    [&](int64_t i) { return logp[i]; });
}

}  // namespace

Status negative_log_likelihood_loss(KernelContext& ctx) { return nll_loss_impl(ctx); }
Status softmax_cross_entropy_loss(KernelContext& ctx) { return sce_loss_impl(ctx); }

}  // namespace edgeai::kernels::ref
