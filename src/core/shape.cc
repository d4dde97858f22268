#include "core/shape.h"

#include <algorithm>

namespace edgeai {

int64_t shape_numel(std::span<const int64_t> shape) {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

Result<int64_t> checked_numel(std::span<const int64_t> shape, int64_t limit) {
  int64_t n = 1;
  for (int64_t d : shape) {
    if (d < 0) return invalid_argument("negative dimension in shape " + shape_str(shape));
    if (d != 0 && n > limit / d) return out_of_range("shape " + shape_str(shape) + " is too large");
    n *= d;
  }
  return n;
}

std::string shape_str(std::span<const int64_t> shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) {
    if (i) s += ",";
    s += std::to_string(shape[i]);
  }
  return s + "]";
}

std::vector<int64_t> shape_strides(std::span<const int64_t> shape) {
  std::vector<int64_t> st(shape.size());
  int64_t s = 1;
  for (size_t i = shape.size(); i-- > 0;) {
    st[i] = s;
    s *= shape[i];
  }
  return st;
}

Result<Shape> broadcast_shapes(std::span<const int64_t> a, std::span<const int64_t> b) {
  size_t r = std::max(a.size(), b.size());
  Shape out(r);
  for (size_t i = 0; i < r; ++i) {
    int64_t da = i < r - a.size() ? 1 : a[i - (r - a.size())];
    int64_t db = i < r - b.size() ? 1 : b[i - (r - b.size())];
    if (da == db || db == 1) {
      out[i] = da;
    } else if (da == 1) {
      out[i] = db;
    } else {
      return invalid_argument("shapes " + shape_str(a) + " and " + shape_str(b) +
                              " cannot be broadcast");
    }
  }
  return out;
}

Result<int> normalize_axis(int64_t axis, int64_t rank) {
  int64_t a = axis < 0 ? axis + rank : axis;
  if (a < 0 || a >= std::max<int64_t>(rank, 1)) {
    return out_of_range("axis " + std::to_string(axis) + " is out of range for rank " +
                        std::to_string(rank));
  }
  return static_cast<int>(a);
}

BroadcastIndexer::BroadcastIndexer(const Shape& out_shape, const std::vector<Shape>& in_shapes)
    : out_shape_(out_shape) {
  size_t r = out_shape.size();
  for (const Shape& s : in_shapes) {
    std::vector<int64_t> st(r, 0);
    std::vector<int64_t> own = shape_strides(s);
    size_t off = r - s.size();
    for (size_t i = 0; i < s.size(); ++i) st[i + off] = (s[i] == 1) ? 0 : own[i];
    in_strides_.push_back(std::move(st));
  }
}

int64_t BroadcastIndexer::offset(size_t input, int64_t flat) const {
  const auto& st = in_strides_[input];
  int64_t off = 0;
  for (size_t i = out_shape_.size(); i-- > 0;) {
    int64_t d = out_shape_[i];
    int64_t idx = flat % d;
    flat /= d;
    off += idx * st[i];
  }
  return off;
}

}  // namespace edgeai
