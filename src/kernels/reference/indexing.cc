// Reference kernels for indexing ops: Gather, GatherElements, GatherND, Scatter(Elements),
// ScatterND, NonZero, OneHot, Compress, Unique, ReverseSequence. Registered in tensor.cc.
#include <algorithm>
#include <cmath>
#include <numeric>

#include "kernels/reference/tensor_internal.h"

namespace edgeai::kernels::ref {

using namespace tensor_ops;

namespace {

// Reads an index tensor (int32/int64) and checks each index against `bound`, folding negative
// indices. The error names the index, its position and the bound.
Result<std::vector<int64_t>> read_indices(const KernelContext& ctx, const Tensor& t, int64_t bound,
                                          std::string_view what) {
  if (t.dtype() != DType::kI32 && t.dtype() != DType::kI64) {
    return ctx.error(std::string(what) + " must be int32 or int64, got " + std::string(dtype_name(t.dtype())));
  }
  std::vector<int64_t> v(static_cast<size_t>(t.numel()));
  for (int64_t i = 0; i < t.numel(); ++i) {
    int64_t x = t.dtype() == DType::kI32 ? t.data<int32_t>()[i] : t.data<int64_t>()[i];
    if (x < -bound || x >= bound) {
      return ctx.error(std::string(what) + "[" + std::to_string(i) + "] = " + std::to_string(x) +
                       " is out of range for an axis of size " + std::to_string(bound) + " (valid range [" +
                       std::to_string(-bound) + ", " + std::to_string(bound - 1) + "])");
    }
    v[i] = x < 0 ? x + bound : x;
  }
  return v;
}

Result<int> axis_arg(const KernelContext& ctx, int64_t axis, int rank, const Shape& shape) {
  if (axis < -rank || axis >= rank) {
    return ctx.error("axis " + std::to_string(axis) + " is out of range for input " + shape_str(shape));
  }
  return static_cast<int>(axis < 0 ? axis + rank : axis);
}

// Per-element offsets for GatherElements/ScatterElements: indices has data's rank, dims no larger
// than data's except along `axis`.
Status check_elements_shapes(const KernelContext& ctx, const Tensor& data, const Tensor& indices, int axis) {
  if (indices.rank() != data.rank()) {
    return ctx.error("indices has shape " + shape_str(indices.shape()) + ", expected the rank of data " +
                     shape_str(data.shape()));
  }
  for (int k = 0; k < data.rank(); ++k) {
    if (k != axis && indices.dim(k) > data.dim(k)) {
      return ctx.error("indices shape " + shape_str(indices.shape()) + " exceeds data shape " +
                       shape_str(data.shape()) + " on axis " + std::to_string(k));
    }
  }
  return ok_status();
}

// Data offsets of each element of `indices` (already folded into [0, dim(axis))).
std::vector<int64_t> element_offsets(const Tensor& data, const Shape& ishape, const std::vector<int64_t>& idx,
                                     int axis) {
  const std::vector<int64_t> dstr = shape_strides(data.shape());
  const int r = static_cast<int>(ishape.size());
  std::vector<int64_t> offs(idx.size());
  std::vector<int64_t> pos(r, 0);
  int64_t base = 0;  // sum over k != axis of pos[k] * dstr[k]
  for (size_t e = 0; e < idx.size(); ++e) {
    offs[e] = base + idx[e] * dstr[axis];
    for (int k = r - 1; k >= 0; --k) {
      if (++pos[k] < ishape[k]) {
        if (k != axis) base += dstr[k];
        break;
      }
      if (k != axis) base -= dstr[k] * (ishape[k] - 1);
      pos[k] = 0;
    }
  }
  return offs;
}

// ---- Gather, GatherElements, GatherND ----

Status gather_impl(KernelContext& ctx) {
  RETURN_IF_ERROR(require_input(ctx, 0, "data"));
  RETURN_IF_ERROR(require_input(ctx, 1, "indices"));
  const Tensor& x = ctx.input(0);
  const Tensor& it = ctx.input(1);
  if (x.rank() == 0) return ctx.error("data must have rank >= 1");
  ASSIGN_OR_RETURN(int axis, axis_arg(ctx, ctx.attr_int("axis", 0), x.rank(), x.shape()));
  ASSIGN_OR_RETURN(std::vector<int64_t> idx, read_indices(ctx, it, x.dim(axis), "indices"));
  Shape out_shape(x.shape().begin(), x.shape().begin() + axis);
  out_shape.insert(out_shape.end(), it.shape().begin(), it.shape().end());
  out_shape.insert(out_shape.end(), x.shape().begin() + axis + 1, x.shape().end());
  ASSIGN_OR_RETURN(Tensor * out, ctx.allocate_output(0, x.dtype(), out_shape));
  if (out->numel() == 0) return ok_status();
  int64_t outer = 1, inner = 1;
  for (int k = 0; k < axis; ++k) outer *= x.dim(k);
  for (int k = axis + 1; k < x.rank(); ++k) inner *= x.dim(k);
  const int64_t n = static_cast<int64_t>(idx.size());
  const int64_t dim = x.dim(axis);
  return visit_storage(x.dtype(), [&]<typename T>() {
    const T* src = x.data<T>();
    T* dst = out->data<T>();
    for (int64_t o = 0; o < outer; ++o) {
      for (int64_t j = 0; j < n; ++j) {
        copy_n(src + (o * dim + idx[j]) * inner, inner, dst);
        dst += inner;
      }
    }
    return ok_status();
  });
}

Status gather_elements_impl(KernelContext& ctx) {
  RETURN_IF_ERROR(require_input(ctx, 0, "data"));
  RETURN_IF_ERROR(require_input(ctx, 1, "indices"));
  const Tensor& x = ctx.input(0);
  const Tensor& it = ctx.input(1);
  if (x.rank() == 0) return ctx.error("data must have rank >= 1");
  ASSIGN_OR_RETURN(int axis, axis_arg(ctx, ctx.attr_int("axis", 0), x.rank(), x.shape()));
  RETURN_IF_ERROR(check_elements_shapes(ctx, x, it, axis));
  ASSIGN_OR_RETURN(std::vector<int64_t> idx, read_indices(ctx, it, x.dim(axis), "indices"));
  ASSIGN_OR_RETURN(Tensor * out, ctx.allocate_output(0, x.dtype(), it.shape()));
  if (out->numel() == 0) return ok_status();
  const std::vector<int64_t> offs = element_offsets(x, it.shape(), idx, axis);
  return visit_storage(x.dtype(), [&]<typename T>() {
    const T* src = x.data<T>();
    T* dst = out->data<T>();
    for (size_t e = 0; e < offs.size(); ++e) dst[e] = src[offs[e]];
    return ok_status();
  });
}

// GatherND/ScatterND address: the data offsets of the slices the index tuples name.
Result<std::vector<int64_t>> nd_offsets(const KernelContext& ctx, const Tensor& data, const Tensor& indices,
                                        int64_t batch_dims, int64_t* slice_size) {
  if (indices.dtype() != DType::kI64 && indices.dtype() != DType::kI32) {
    return ctx.error("indices must be int64, got " + std::string(dtype_name(indices.dtype())));
  }
  const int r = data.rank(), q = indices.rank();
  if (q < 1) return ctx.error("indices must have rank >= 1");
  if (batch_dims < 0 || batch_dims >= q || batch_dims > r) {
    return ctx.error("batch_dims " + std::to_string(batch_dims) + " is invalid for data rank " +
                     std::to_string(r) + " and indices rank " + std::to_string(q));
  }
  for (int64_t b = 0; b < batch_dims; ++b) {
    if (indices.dim(static_cast<int>(b)) != data.dim(static_cast<int>(b))) {
      return ctx.error("batch dim " + std::to_string(b) + " differs: data " + shape_str(data.shape()) +
                       ", indices " + shape_str(indices.shape()));
    }
  }
  const int64_t k = indices.dim(q - 1);
  if (k > r - batch_dims) {
    return ctx.error("indices last dim " + std::to_string(k) + " exceeds data rank " + std::to_string(r) +
                     " minus batch_dims " + std::to_string(batch_dims));
  }
  const std::vector<int64_t> dstr = shape_strides(data.shape());
  int64_t slice = 1;
  for (int64_t d = batch_dims + k; d < r; ++d) slice *= data.dim(static_cast<int>(d));
  *slice_size = slice;
  int64_t batch = 1;
  for (int64_t b = 0; b < batch_dims; ++b) batch *= data.dim(static_cast<int>(b));
  int64_t tuples = 1;
  for (int d = 0; d + 1 < q; ++d) tuples *= indices.dim(d);
  const int64_t per_batch = batch == 0 ? 0 : tuples / batch;
  const int64_t batch_stride = batch_dims > 0 ? dstr[batch_dims - 1] : 0;
  std::vector<int64_t> offs(static_cast<size_t>(tuples));
  for (int64_t t = 0; t < tuples; ++t) {
    int64_t off = per_batch == 0 ? 0 : (t / per_batch) * batch_stride;
    for (int64_t j = 0; j < k; ++j) {
      const int64_t pos = t * k + j;
      int64_t v = indices.dtype() == DType::kI64 ? indices.data<int64_t>()[pos] : indices.data<int32_t>()[pos];
      const int axis = static_cast<int>(batch_dims + j);
      const int64_t bound = data.dim(axis);
      if (v < -bound || v >= bound) {
        return ctx.error("index " + std::to_string(v) + " (indices element " + std::to_string(pos) +
                         ") is out of range for data axis " + std::to_string(axis) + " of size " +
                         std::to_string(bound));
      }
      if (v < 0) v += bound;
      off += v * dstr[axis];
    }
    offs[t] = off;
  }
  return offs;
}

Status gather_nd_impl(KernelContext& ctx) {
  RETURN_IF_ERROR(require_input(ctx, 0, "data"));
  RETURN_IF_ERROR(require_input(ctx, 1, "indices"));
  const Tensor& x = ctx.input(0);
  const Tensor& it = ctx.input(1);
  const int64_t b = ctx.attr_int("batch_dims", 0);
  if (x.rank() < 1) return ctx.error("data must have rank >= 1");
  if (b < 0 || b >= x.rank() || b >= it.rank()) {
    return ctx.error("batch_dims " + std::to_string(b) + " must be less than both ranks: data " +
                     shape_str(x.shape()) + ", indices " + shape_str(it.shape()));
  }
  int64_t slice = 1;
  ASSIGN_OR_RETURN(std::vector<int64_t> offs, nd_offsets(ctx, x, it, b, &slice));
  const int64_t k = it.dim(it.rank() - 1);
  Shape out_shape(it.shape().begin(), it.shape().end() - 1);
  for (int64_t d = b + k; d < x.rank(); ++d) out_shape.push_back(x.dim(static_cast<int>(d)));
  ASSIGN_OR_RETURN(Tensor * out, ctx.allocate_output(0, x.dtype(), out_shape));
  if (out->numel() == 0) return ok_status();
  return visit_storage(x.dtype(), [&]<typename T>() {
    const T* src = x.data<T>();
    T* dst = out->data<T>();
    for (int64_t off : offs) {
      copy_n(src + off, slice, dst);
      dst += slice;
    }
    return ok_status();
  });
}

// ---- Scatter(Elements), ScatterND ----

enum class Reduction { kNone, kAdd, kMul, kMax, kMin };

Result<Reduction> reduction_arg(const KernelContext& ctx, DType dt) {
  const std::string s = ctx.attr_string("reduction", "none");
  Reduction r;
  if (s == "none") r = Reduction::kNone;
  else if (s == "add") r = Reduction::kAdd;
  else if (s == "mul") r = Reduction::kMul;
  else if (s == "max") r = Reduction::kMax;
  else if (s == "min") r = Reduction::kMin;
  else return ctx.error("reduction '" + s + "' is not one of none, add, mul, max, min");
  if (r != Reduction::kNone && dt == DType::kString) {
    return ctx.error("reduction '" + s + "' is not defined for string tensors");
  }
  return r;
}

template <typename T>
inline void reduce_into(T& dst, const T& v, Reduction r) {
  if constexpr (std::is_same_v<T, std::string>) {
    dst = v;
  } else if constexpr (std::is_same_v<T, bool>) {
    switch (r) {
      case Reduction::kNone: dst = v; break;
      case Reduction::kAdd: case Reduction::kMax: dst = dst || v; break;
      case Reduction::kMul: case Reduction::kMin: dst = dst && v; break;
    }
  } else if constexpr (std::is_same_v<T, Half> || std::is_same_v<T, BFloat16>) {
    const float a = to_f32(dst), b = to_f32(v);
    switch (r) {
      case Reduction::kNone: dst = v; break;
      case Reduction::kAdd: dst = from_f64<T>(a + b); break;
      case Reduction::kMul: dst = from_f64<T>(a * b); break;
      case Reduction::kMax: dst = from_f64<T>(std::max(a, b)); break;
      case Reduction::kMin: dst = from_f64<T>(std::min(a, b)); break;
    }
  } else if constexpr (std::is_integral_v<T>) {
    // Wrapping arithmetic (signed overflow is undefined behaviour in C++).
    using U = std::make_unsigned_t<T>;
    switch (r) {
      case Reduction::kNone: dst = v; break;
      case Reduction::kAdd: dst = static_cast<T>(static_cast<U>(dst) + static_cast<U>(v)); break;
      case Reduction::kMul: dst = static_cast<T>(static_cast<U>(dst) * static_cast<U>(v)); break;
      case Reduction::kMax: dst = std::max(dst, v); break;
      case Reduction::kMin: dst = std::min(dst, v); break;
    }
  } else {
    switch (r) {
      case Reduction::kNone: dst = v; break;
      case Reduction::kAdd: dst = dst + v; break;
      case Reduction::kMul: dst = dst * v; break;
      case Reduction::kMax: dst = std::max(dst, v); break;
      case Reduction::kMin: dst = std::min(dst, v); break;
    }
  }
}

Status scatter_elements_impl(KernelContext& ctx) {
  RETURN_IF_ERROR(require_input(ctx, 0, "data"));
  RETURN_IF_ERROR(require_input(ctx, 1, "indices"));
  RETURN_IF_ERROR(require_input(ctx, 2, "updates"));
  const Tensor& x = ctx.input(0);
  const Tensor& it = ctx.input(1);
  const Tensor& up = ctx.input(2);
  if (x.rank() == 0) return ctx.error("data must have rank >= 1");
  if (up.dtype() != x.dtype()) {
    return ctx.error("updates has dtype " + std::string(dtype_name(up.dtype())) + ", expected " +
                     std::string(dtype_name(x.dtype())));
  }
  if (up.shape() != it.shape()) {
    return ctx.error("updates shape " + shape_str(up.shape()) + " differs from indices shape " +
                     shape_str(it.shape()));
  }
  ASSIGN_OR_RETURN(int axis, axis_arg(ctx, ctx.attr_int("axis", 0), x.rank(), x.shape()));
  ASSIGN_OR_RETURN(Reduction red, reduction_arg(ctx, x.dtype()));
  RETURN_IF_ERROR(check_elements_shapes(ctx, x, it, axis));
  ASSIGN_OR_RETURN(std::vector<int64_t> idx, read_indices(ctx, it, x.dim(axis), "indices"));
  ASSIGN_OR_RETURN(Tensor * out, ctx.allocate_output(0, x.dtype(), x.shape()));
  RETURN_IF_ERROR(copy_tensor(x, *out));
  if (it.numel() == 0) return ok_status();
  const std::vector<int64_t> offs = element_offsets(x, it.shape(), idx, axis);
  return visit_all(x.dtype(), [&]<typename T>() {
    T* dst = out->data<T>();
    const T* u = up.data<T>();
    for (size_t e = 0; e < offs.size(); ++e) reduce_into(dst[offs[e]], u[e], red);
    return ok_status();
  });
}

Status scatter_nd_impl(KernelContext& ctx) {
  RETURN_IF_ERROR(require_input(ctx, 0, "data"));
  RETURN_IF_ERROR(require_input(ctx, 1, "indices"));
  RETURN_IF_ERROR(require_input(ctx, 2, "updates"));
  const Tensor& x = ctx.input(0);
  const Tensor& it = ctx.input(1);
  const Tensor& up = ctx.input(2);
  if (x.rank() < 1) return ctx.error("data must have rank >= 1");
  if (up.dtype() != x.dtype()) {
    return ctx.error("updates has dtype " + std::string(dtype_name(up.dtype())) + ", expected " +
                     std::string(dtype_name(x.dtype())));
  }
  ASSIGN_OR_RETURN(Reduction red, reduction_arg(ctx, x.dtype()));
  if (it.rank() < 1) return ctx.error("indices must have rank >= 1");
  const int64_t k = it.dim(it.rank() - 1);
  if (k > x.rank()) {
    return ctx.error("indices last dim " + std::to_string(k) + " exceeds data rank " + std::to_string(x.rank()));
  }
  Shape want(it.shape().begin(), it.shape().end() - 1);
  for (int64_t d = k; d < x.rank(); ++d) want.push_back(x.dim(static_cast<int>(d)));
  if (up.shape() != want) {
    return ctx.error("updates has shape " + shape_str(up.shape()) + ", expected " + shape_str(want) +
                     " for data " + shape_str(x.shape()) + " and indices " + shape_str(it.shape()));
  }
  int64_t slice = 1;
  ASSIGN_OR_RETURN(std::vector<int64_t> offs, nd_offsets(ctx, x, it, 0, &slice));
  ASSIGN_OR_RETURN(Tensor * out, ctx.allocate_output(0, x.dtype(), x.shape()));
  RETURN_IF_ERROR(copy_tensor(x, *out));
  return visit_all(x.dtype(), [&]<typename T>() {
    T* dst = out->data<T>();
    const T* u = up.data<T>();
    for (size_t t = 0; t < offs.size(); ++t) {
      for (int64_t j = 0; j < slice; ++j) reduce_into(dst[offs[t] + j], u[t * slice + j], red);
    }
    return ok_status();
  });
}

// ---- NonZero, OneHot, Compress ----

template <typename T>
inline bool nonzero_value(const T& v) {
  if constexpr (std::is_same_v<T, bool>) return v;
  else if constexpr (std::is_same_v<T, std::string>) return !v.empty();
  else if constexpr (std::is_same_v<T, Half> || std::is_same_v<T, BFloat16>) return (v.bits & 0x7fff) != 0;
  else return v != T(0);
}

Status nonzero_impl(KernelContext& ctx) {
  RETURN_IF_ERROR(require_input(ctx, 0, "X"));
  const Tensor& x = ctx.input(0);
  if (x.dtype() == DType::kString) return ctx.error("string input is not supported");
  return visit_all(x.dtype(), [&]<typename T>() -> Status {
    const T* d = x.data<T>();
    int64_t nnz = 0;
    for (int64_t i = 0; i < x.numel(); ++i) nnz += nonzero_value(d[i]) ? 1 : 0;
    const int r = std::max(x.rank(), 1);
    ASSIGN_OR_RETURN(Tensor * out, ctx.allocate_output(0, DType::kI64, {r, nnz}));
    int64_t* o = out->data<int64_t>();
    std::vector<int64_t> pos(x.rank(), 0);
    int64_t col = 0;
    for (int64_t i = 0; i < x.numel(); ++i) {
      if (nonzero_value(d[i])) {
        if (x.rank() == 0) o[col] = 0;
        for (int k = 0; k < x.rank(); ++k) o[k * nnz + col] = pos[k];
        ++col;
      }
      for (int k = x.rank() - 1; k >= 0; --k) {
        if (++pos[k] < x.dim(k)) break;
        pos[k] = 0;
      }
    }
    return ok_status();
  });
}

Status one_hot_impl(KernelContext& ctx) {
  RETURN_IF_ERROR(require_input(ctx, 0, "indices"));
  RETURN_IF_ERROR(require_input(ctx, 1, "depth"));
  RETURN_IF_ERROR(require_input(ctx, 2, "values"));
  const Tensor& it = ctx.input(0);
  const Tensor& td = ctx.input(1);
  const Tensor& tv = ctx.input(2);
  if (it.dtype() == DType::kString || it.dtype() == DType::kBool) {
    return ctx.error("indices must be numeric, got " + std::string(dtype_name(it.dtype())));
  }
  if (td.dtype() == DType::kString || td.dtype() == DType::kBool) {
    return ctx.error("depth must be numeric, got " + std::string(dtype_name(td.dtype())));
  }
  RETURN_IF_ERROR(require_scalar(ctx, td, "depth"));
  if (tv.numel() != 2 || tv.rank() > 1) {
    return ctx.error("values must be a 1-D tensor [off_value, on_value], got shape " + shape_str(tv.shape()));
  }
  const double dd = td.get_double(0);
  if (!(dd >= 1.0) || dd > static_cast<double>(int64_t(1) << 40)) {
    return ctx.error("depth " + std::to_string(dd) + " is invalid (expected a positive size)");
  }
  const int64_t depth = static_cast<int64_t>(dd);
  const int64_t out_rank = it.rank() + 1;
  const int64_t axis_attr = ctx.attr_int("axis", -1);
  if (axis_attr < -out_rank || axis_attr >= out_rank) {
    return ctx.error("axis " + std::to_string(axis_attr) + " is out of range for output rank " +
                     std::to_string(out_rank));
  }
  const int axis = static_cast<int>(axis_attr < 0 ? axis_attr + out_rank : axis_attr);
  Shape out_shape = it.shape();
  out_shape.insert(out_shape.begin() + axis, depth);
  ASSIGN_OR_RETURN(Tensor * out, ctx.allocate_output(0, tv.dtype(), out_shape));
  int64_t inner = 1;
  for (int k = axis; k < it.rank(); ++k) inner *= it.dim(k);
  return visit_all(tv.dtype(), [&]<typename T>() {
    const T off = tv.data<T>()[0], on = tv.data<T>()[1];
    T* o = out->data<T>();
    std::fill(o, o + out->numel(), off);
    for (int64_t i = 0; i < it.numel(); ++i) {
      const double v = it.get_double(i);
      if (std::isnan(v)) continue;
      int64_t id = double_to_i64(std::trunc(v));
      if (id < 0) id += depth;
      if (id < 0 || id >= depth) continue;
      const int64_t outer = i / inner, in = i % inner;
      o[(outer * depth + id) * inner + in] = on;
    }
    return ok_status();
  });
}

Status compress_impl(KernelContext& ctx) {
  RETURN_IF_ERROR(require_input(ctx, 0, "input"));
  RETURN_IF_ERROR(require_input(ctx, 1, "condition"));
  const Tensor& x = ctx.input(0);
  const Tensor& c = ctx.input(1);
  if (c.dtype() != DType::kBool && !dtype_is_integer(c.dtype())) {
    return ctx.error("condition must be bool, got " + std::string(dtype_name(c.dtype())));
  }
  if (c.rank() != 1) return ctx.error("condition must be 1-D, got shape " + shape_str(c.shape()));
  const bool has_axis = ctx.has_attr("axis");
  int axis = 0;
  Shape in_shape = x.shape();
  if (has_axis) {
    if (x.rank() == 0) return ctx.error("axis given for a scalar input");
    ASSIGN_OR_RETURN(axis, axis_arg(ctx, ctx.attr_int("axis", 0), x.rank(), x.shape()));
  } else {
    in_shape = {x.numel()};
  }
  const int64_t dim = in_shape[axis];
  std::vector<int64_t> keep;
  for (int64_t i = 0; i < c.numel(); ++i) {
    if (c.get_int(i) == 0) continue;
    if (i >= dim) {
      return ctx.error("condition[" + std::to_string(i) + "] is true but axis " + std::to_string(axis) +
                       " has only " + std::to_string(dim) + " elements");
    }
    keep.push_back(i);
  }
  Shape out_shape = in_shape;
  out_shape[axis] = static_cast<int64_t>(keep.size());
  ASSIGN_OR_RETURN(Tensor * out, ctx.allocate_output(0, x.dtype(), out_shape));
  if (out->numel() == 0) return ok_status();
  int64_t outer = 1, inner = 1;
  for (int k = 0; k < axis; ++k) outer *= in_shape[k];
  for (size_t k = axis + 1; k < in_shape.size(); ++k) inner *= in_shape[k];
  return visit_storage(x.dtype(), [&]<typename T>() {
    const T* src = x.data<T>();
    T* dst = out->data<T>();
    for (int64_t o = 0; o < outer; ++o) {
      for (int64_t i : keep) {
        copy_n(src + (o * dim + i) * inner, inner, dst);
        dst += inner;
      }
    }
    return ok_status();
  });
}

// ---- Unique ----

// A total order: NaNs after everything and equal to each other.
template <typename T>
inline int compare_values(const T& a, const T& b) {
  if constexpr (std::is_same_v<T, std::string> || std::is_same_v<T, bool> || std::is_integral_v<T>) {
    return a < b ? -1 : (b < a ? 1 : 0);
  } else {
    const double x = to_f64(a), y = to_f64(b);
    const bool nx = std::isnan(x), ny = std::isnan(y);
    if (nx || ny) return nx == ny ? 0 : (nx ? 1 : -1);
    return x < y ? -1 : (y < x ? 1 : 0);
  }
}

Status unique_impl(KernelContext& ctx) {
  RETURN_IF_ERROR(require_input(ctx, 0, "X"));
  const Tensor& x = ctx.input(0);
  const bool sorted = ctx.attr_int("sorted", 1) != 0;
  const bool has_axis = ctx.has_attr("axis");
  Shape shape = x.shape();
  int axis = 0;
  if (has_axis) {
    if (x.rank() == 0) return ctx.error("axis given for a scalar input");
    ASSIGN_OR_RETURN(axis, axis_arg(ctx, ctx.attr_int("axis", 0), x.rank(), x.shape()));
  } else {
    shape = {x.numel()};
  }
  const int64_t m = shape[axis];  // number of slices
  int64_t outer = 1, inner = 1;
  for (int k = 0; k < axis; ++k) outer *= shape[k];
  for (size_t k = axis + 1; k < shape.size(); ++k) inner *= shape[k];
  return visit_all(x.dtype(), [&]<typename T>() -> Status {
    const T* d = x.data<T>();
    // Slice s is the elements d[(o * m + s) * inner + i] for all o, i.
    auto cmp = [&](int64_t a, int64_t b) {
      for (int64_t o = 0; o < outer; ++o) {
        const T* pa = d + (o * m + a) * inner;
        const T* pb = d + (o * m + b) * inner;
        for (int64_t i = 0; i < inner; ++i) {
          const int c = compare_values(pa[i], pb[i]);
          if (c) return c;
        }
      }
      return 0;
    };
    std::vector<int64_t> order(m);
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(), [&](int64_t a, int64_t b) { return cmp(a, b) < 0; });
    // Groups of equal slices, in sorted order; each group's first member is its first occurrence.
    std::vector<int64_t> group_first;
    std::vector<int64_t> group_of(m);
    std::vector<int64_t> counts;
    for (int64_t i = 0; i < m; ++i) {
      if (i == 0 || cmp(order[i - 1], order[i]) != 0) {
        group_first.push_back(order[i]);
        counts.push_back(0);
      }
      group_of[order[i]] = static_cast<int64_t>(group_first.size()) - 1;
      counts.back()++;
    }
    const int64_t g = static_cast<int64_t>(group_first.size());
    std::vector<int64_t> rank(g);  // output position of each group
    std::iota(rank.begin(), rank.end(), 0);
    if (!sorted) {
      std::vector<int64_t> by_first(g);
      std::iota(by_first.begin(), by_first.end(), 0);
      std::sort(by_first.begin(), by_first.end(),
                [&](int64_t a, int64_t b) { return group_first[a] < group_first[b]; });
      for (int64_t p = 0; p < g; ++p) rank[by_first[p]] = p;
    }
    std::vector<int64_t> first_at(g), count_at(g);
    for (int64_t q = 0; q < g; ++q) {
      first_at[rank[q]] = group_first[q];
      count_at[rank[q]] = counts[q];
    }
    if (ctx.is_output_used(0)) {
      Shape ys = shape;
      ys[axis] = g;
      ASSIGN_OR_RETURN(Tensor * y, ctx.allocate_output(0, x.dtype(), ys));
      T* yo = y->data<T>();
      for (int64_t o = 0; o < outer; ++o) {
        for (int64_t p = 0; p < g; ++p) copy_n(d + (o * m + first_at[p]) * inner, inner, yo + (o * g + p) * inner);
      }
    }
    auto write = [&](int i, const std::vector<int64_t>& v) -> Status {
      if (!ctx.is_output_used(i)) return ok_status();
      ASSIGN_OR_RETURN(Tensor * t, ctx.allocate_output(i, DType::kI64, {static_cast<int64_t>(v.size())}));
      std::copy(v.begin(), v.end(), t->data<int64_t>());
      return ok_status();
    };
    RETURN_IF_ERROR(write(1, first_at));
    std::vector<int64_t> inverse(m);
    for (int64_t s = 0; s < m; ++s) inverse[s] = rank[group_of[s]];
    RETURN_IF_ERROR(write(2, inverse));
    return write(3, count_at);
  });
}

// ---- ReverseSequence ----

Status reverse_sequence_impl(KernelContext& ctx) {
  RETURN_IF_ERROR(require_input(ctx, 0, "input"));
  RETURN_IF_ERROR(require_input(ctx, 1, "sequence_lens"));
  const Tensor& x = ctx.input(0);
  if (x.rank() < 2) return ctx.error("input must have rank >= 2, got shape " + shape_str(x.shape()));
  const int64_t time_axis = ctx.attr_int("time_axis", 0);
  const int64_t batch_axis = ctx.attr_int("batch_axis", 1);
  if ((time_axis != 0 && time_axis != 1) || (batch_axis != 0 && batch_axis != 1) || time_axis == batch_axis) {
    return ctx.error("time_axis " + std::to_string(time_axis) + " and batch_axis " + std::to_string(batch_axis) +
                     " must be 0 and 1 in some order");
  }
  ASSIGN_OR_RETURN(std::vector<int64_t> lens, read_ints(ctx, ctx.input(1), "sequence_lens"));
  const int64_t batch = x.dim(static_cast<int>(batch_axis));
  const int64_t max_time = x.dim(static_cast<int>(time_axis));
  if (static_cast<int64_t>(lens.size()) != batch) {
    return ctx.error("sequence_lens has " + std::to_string(lens.size()) + " entries, expected the batch size " +
                     std::to_string(batch));
  }
  for (size_t b = 0; b < lens.size(); ++b) {
    if (lens[b] < 0 || lens[b] > max_time) {
      return ctx.error("sequence_lens[" + std::to_string(b) + "] = " + std::to_string(lens[b]) +
                       " is out of range [0, " + std::to_string(max_time) + "]");
    }
  }
  ASSIGN_OR_RETURN(Tensor * out, ctx.allocate_output(0, x.dtype(), x.shape()));
  RETURN_IF_ERROR(copy_tensor(x, *out));
  int64_t inner = 1;
  for (int k = 2; k < x.rank(); ++k) inner *= x.dim(k);
  auto offset = [&](int64_t t, int64_t b) {
    return (time_axis == 0 ? t * batch + b : b * max_time + t) * inner;
  };
  return visit_storage(x.dtype(), [&]<typename T>() {
    const T* src = x.data<T>();
    T* dst = out->data<T>();
    for (int64_t b = 0; b < batch; ++b) {
      for (int64_t t = 0; t < lens[b]; ++t) copy_n(src + offset(lens[b] - 1 - t, b), inner, dst + offset(t, b));
    }
    return ok_status();
  });
}

}  // namespace

Status gather(KernelContext& ctx) { return gather_impl(ctx); }
Status gather_elements(KernelContext& ctx) { return gather_elements_impl(ctx); }
Status gather_nd(KernelContext& ctx) { return gather_nd_impl(ctx); }
Status scatter_elements(KernelContext& ctx) { return scatter_elements_impl(ctx); }
Status scatter_nd(KernelContext& ctx) { return scatter_nd_impl(ctx); }
Status nonzero(KernelContext& ctx) { return nonzero_impl(ctx); }
Status one_hot(KernelContext& ctx) { return one_hot_impl(ctx); }
Status compress(KernelContext& ctx) { return compress_impl(ctx); }
Status unique(KernelContext& ctx) { return unique_impl(ctx); }
Status reverse_sequence(KernelContext& ctx) { return reverse_sequence_impl(ctx); }

}  // namespace edgeai::kernels::ref
