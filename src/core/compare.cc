#include "core/compare.h"

#include <cmath>
#include <sstream>

namespace edgeai {

namespace {
std::string index_str(const Shape& shape, int64_t flat) {
  std::vector<int64_t> idx(shape.size());
  for (size_t i = shape.size(); i-- > 0;) {
    idx[i] = shape[i] ? flat % shape[i] : 0;
    flat = shape[i] ? flat / shape[i] : 0;
  }
  return shape_str(idx);
}
}  // namespace

CompareResult compare_tensors(const Tensor& got, const Tensor& expected, double rtol, double atol) {
  CompareResult r;
  if (got.dtype() != expected.dtype()) {
    r.equal = false;
    r.message = "dtype " + std::string(dtype_name(got.dtype())) + ", expected " +
                std::string(dtype_name(expected.dtype()));
    return r;
  }
  if (got.shape() != expected.shape()) {
    r.equal = false;
    r.message = "shape " + shape_str(got.shape()) + ", expected " + shape_str(expected.shape());
    return r;
  }
  int64_t n = got.numel();
  if (got.dtype() == DType::kString) {
    for (int64_t i = 0; i < n; ++i) {
      if (got.data<std::string>()[i] != expected.data<std::string>()[i]) {
        if (r.equal) {
          r.message = "at " + index_str(got.shape(), i) + ": got \"" + got.data<std::string>()[i] +
                      "\", expected \"" + expected.data<std::string>()[i] + "\"";
        }
        r.equal = false;
        r.mismatches++;
      }
    }
    return r;
  }
  bool exact = !dtype_is_float(got.dtype());
  for (int64_t i = 0; i < n; ++i) {
    bool ok;
    double a, b;
    if (exact) {
      int64_t x = got.get_int(i), y = expected.get_int(i);
      if (got.dtype() == DType::kU64) ok = got.data<uint64_t>()[i] == expected.data<uint64_t>()[i];
      else ok = x == y;
      a = static_cast<double>(x);
      b = static_cast<double>(y);
    } else {
      a = got.get_double(i);
      b = expected.get_double(i);
      if (std::isnan(a) || std::isnan(b)) {
        ok = std::isnan(a) && std::isnan(b);
      } else if (std::isinf(a) || std::isinf(b)) {
        ok = a == b;
      } else {
        double d = std::fabs(a - b);
        if (d > r.max_abs_error) r.max_abs_error = d;
        ok = d <= atol + rtol * std::fabs(b);
      }
    }
    if (!ok) {
      if (r.equal) {
        std::ostringstream ss;
        ss.precision(9);
        ss << "at " << index_str(got.shape(), i) << ": got " << a << ", expected " << b;
        r.message = ss.str();
      }
      r.equal = false;
      r.mismatches++;
    }
  }
  if (!r.equal) r.message += " (" + std::to_string(r.mismatches) + " of " + std::to_string(n) + " differ)";
  return r;
}

}  // namespace edgeai
