#include "compress/train/loss.h"

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

namespace edgeai::compress::train {
namespace {

Status check_logits(const Tensor& logits) {
  if (logits.dtype() != DType::kF32 || logits.rank() != 2 || logits.dim(1) < 1) {
    return invalid_argument("a classifier's output must be f32 logits [batch, classes], got " + shape_str(logits.shape()));
  }
  return ok_status();
}

// Softmax of row `r` divided by `t` into p (double), returning log-sum-exp.
double softmax_row(const float* x, int64_t c, double t, std::vector<double>& p) {
  double m = -1e300;
  for (int64_t j = 0; j < c; ++j) m = std::max(m, x[j] / t);
  double s = 0;
  for (int64_t j = 0; j < c; ++j) {
    p[j] = std::exp(x[j] / t - m);
    s += p[j];
  }
  for (int64_t j = 0; j < c; ++j) p[j] /= s;
  return m + std::log(s);
}

}  // namespace

Result<double> cross_entropy(const Tensor& logits, std::span<const int64_t> labels, Tensor* dlogits, float weight,
                             bool accumulate) {
  RETURN_IF_ERROR(check_logits(logits));
  const int64_t n = logits.dim(0), c = logits.dim(1);
  if (static_cast<int64_t>(labels.size()) != n) {
    return invalid_argument("labels count " + std::to_string(labels.size()) + " does not match the batch of " + std::to_string(n));
  }
  std::vector<double> p(c);
  double loss = 0;
  for (int64_t i = 0; i < n; ++i) {
    if (labels[i] < 0 || labels[i] >= c) {
      return out_of_range("label " + std::to_string(labels[i]) + " is outside the model's " + std::to_string(c) + " classes");
    }
    const float* x = logits.data<float>() + i * c;
    const double lse = softmax_row(x, c, 1.0, p);
    loss += lse - x[labels[i]];
    if (dlogits) {
      float* d = dlogits->data<float>() + i * c;
      for (int64_t j = 0; j < c; ++j) {
        const double g = weight * (p[j] - (j == labels[i] ? 1.0 : 0.0)) / n;
        d[j] = static_cast<float>(accumulate ? d[j] + g : g);
      }
    }
  }
  return n ? loss / n : 0.0;
}

Result<double> distill_kl(const Tensor& student, const Tensor& teacher, float temperature, Tensor* dstudent,
                          float weight, bool accumulate) {
  RETURN_IF_ERROR(check_logits(student));
  RETURN_IF_ERROR(check_logits(teacher));
  if (student.shape() != teacher.shape()) {
    return invalid_argument("student output " + shape_str(student.shape()) + " and teacher output " + shape_str(teacher.shape()) + " differ");
  }
  if (!(temperature > 0)) return invalid_argument("temperature must be > 0");
  const int64_t n = student.dim(0), c = student.dim(1);
  const double t = temperature;
  std::vector<double> ps(c), pt(c);
  double loss = 0;
  for (int64_t i = 0; i < n; ++i) {
    const float* s = student.data<float>() + i * c;
    const float* q = teacher.data<float>() + i * c;
    const double lse_s = softmax_row(s, c, t, ps);
    const double lse_t = softmax_row(q, c, t, pt);
    double kl = 0;
    for (int64_t j = 0; j < c; ++j) {
      if (pt[j] > 0) kl += pt[j] * ((q[j] / t - lse_t) - (s[j] / t - lse_s));
    }
    loss += t * t * kl;
    if (dstudent) {
      float* d = dstudent->data<float>() + i * c;
      for (int64_t j = 0; j < c; ++j) {
        const double g = weight * t * (ps[j] - pt[j]) / n;
        d[j] = static_cast<float>(accumulate ? d[j] + g : g);
      }
    }
  }
  return n ? loss / n : 0.0;
}

int64_t count_correct(const Tensor& logits, std::span<const int64_t> labels) {
  if (logits.rank() != 2 || logits.dtype() != DType::kF32) return 0;
  const int64_t n = std::min<int64_t>(logits.dim(0), labels.size()), c = logits.dim(1);
  int64_t correct = 0;
  for (int64_t i = 0; i < n; ++i) {
    const float* p = logits.data<float>() + i * c;
    correct += (std::max_element(p, p + c) - p) == labels[i];
  }
  return correct;
}

}  // namespace edgeai::compress::train
