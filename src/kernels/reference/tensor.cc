// Reference kernels for shape and layout ops: Identity, Constant, Shape, Size, Reshape, Flatten,
// Squeeze, Unsqueeze, Transpose, Concat, Split, Slice, Expand, Tile, Pad, ConstantOfShape, Range,
// EyeLike, Trilu, DepthToSpace, SpaceToDepth. Indexing ops live in indexing.cc, Resize in
// resize.cc; this file holds the family's one table.
#include <algorithm>
#include <cmath>
#include <numeric>
#include <set>

#include "kernels/reference/registry.h"
#include "kernels/reference/tensor_internal.h"

namespace edgeai::kernels::ref {

namespace {

using namespace tensor_ops;

std::string ints_str(const std::vector<int64_t>& v) { return shape_str(v); }

// ---- Identity, Constant, Shape, Size ----

Status identity(KernelContext& ctx) {
  if (!ctx.is_output_used(0)) return ok_status();
  if (!ctx.has_input(0)) {
    ctx.set_output_value(0, Value());
    return ok_status();
  }
  ctx.set_output_value(0, ctx.input_value(0));
  return ok_status();
}

template <typename T>
Status constant_list(KernelContext& ctx, DType dtype, const std::vector<T>& values, bool scalar) {
  Shape shape = scalar ? Shape{} : Shape{static_cast<int64_t>(values.size())};
  ASSIGN_OR_RETURN(Tensor * out, ctx.allocate_output(0, dtype, shape));
  T* d = out->data<T>();
  for (size_t i = 0; i < values.size(); ++i) d[i] = values[i];
  return ok_status();
}

Status constant(KernelContext& ctx) {
  if (!ctx.is_output_used(0)) return ok_status();
  if (const Tensor* t = ctx.attr_tensor("value")) {
    ctx.set_output(0, *t);
    return ok_status();
  }
  if (const Tensor* t = ctx.attr_tensor("sparse_value")) {
    ctx.set_output(0, *t);
    return ok_status();
  }
  if (ctx.has_attr("value_float")) {
    return constant_list<float>(ctx, DType::kF32, {ctx.attr_float("value_float", 0.f)}, true);
  }
  if (ctx.has_attr("value_floats")) {
    return constant_list<float>(ctx, DType::kF32, ctx.attr_floats("value_floats"), false);
  }
  if (ctx.has_attr("value_int")) {
    return constant_list<int64_t>(ctx, DType::kI64, {ctx.attr_int("value_int", 0)}, true);
  }
  if (ctx.has_attr("value_ints")) {
    return constant_list<int64_t>(ctx, DType::kI64, ctx.attr_ints("value_ints"), false);
  }
  if (ctx.has_attr("value_string")) {
    return constant_list<std::string>(ctx, DType::kString, {ctx.attr_string("value_string", "")}, true);
  }
  if (ctx.has_attr("value_strings")) {
    return constant_list<std::string>(ctx, DType::kString, ctx.attr_strings("value_strings"), false);
  }
  return ctx.error("has none of the attributes value, sparse_value, value_float(s), value_int(s), "
                   "value_string(s)");
}

Status shape_op(KernelContext& ctx) {
  RETURN_IF_ERROR(require_input(ctx, 0, "data"));
  const Tensor& x = ctx.input(0);
  const int64_t r = x.rank();
  int64_t start = 0, end = r;
  if (ctx.opset() >= 15) {
    start = ctx.attr_int("start", 0);
    end = ctx.attr_int("end", r);
  }
  auto clampdim = [r](int64_t v) {
    if (v < 0) v += r;
    return std::clamp<int64_t>(v, 0, r);
  };
  start = clampdim(start);
  end = clampdim(end);
  const int64_t n = std::max<int64_t>(0, end - start);
  ASSIGN_OR_RETURN(Tensor * out, ctx.allocate_output(0, DType::kI64, {n}));
  for (int64_t i = 0; i < n; ++i) out->data<int64_t>()[i] = x.dim(static_cast<int>(start + i));
  return ok_status();
}

Status size_op(KernelContext& ctx) {
  RETURN_IF_ERROR(require_input(ctx, 0, "data"));
  ASSIGN_OR_RETURN(Tensor * out, ctx.allocate_output(0, DType::kI64, {}));
  out->data<int64_t>()[0] = ctx.input(0).numel();
  return ok_status();
}

// ---- Reshape, Flatten, Squeeze, Unsqueeze ----

Status reshape(KernelContext& ctx) {
  RETURN_IF_ERROR(require_input(ctx, 0, "data"));
  const Tensor& x = ctx.input(0);
  std::vector<int64_t> req;
  if (ctx.has_input(1)) {
    ASSIGN_OR_RETURN(req, read_ints(ctx, ctx.input(1), "shape"));
  } else if (ctx.has_attr("shape")) {
    req = ctx.attr_ints("shape");
  } else {
    return ctx.error("input 1 (shape) is required");
  }
  const bool allowzero = ctx.opset() >= 14 && ctx.attr_int("allowzero", 0) != 0;
  Shape out(req.size());
  int infer = -1;
  bool has_zero = false;
  for (size_t i = 0; i < req.size(); ++i) {
    int64_t v = req[i];
    if (v == 0) has_zero = true;
    if (v == 0 && !allowzero) {
      if (static_cast<int>(i) >= x.rank()) {
        return ctx.error("shape[" + std::to_string(i) + "] is 0 (copy the input dim) but the input " +
                         shape_str(x.shape()) + " has only " + std::to_string(x.rank()) + " dims");
      }
      v = x.dim(static_cast<int>(i));
    } else if (v == -1) {
      if (infer >= 0) return ctx.error("shape " + ints_str(req) + " has more than one -1");
      infer = static_cast<int>(i);
      v = 1;
    } else if (v < -1) {
      return ctx.error("shape " + ints_str(req) + " has an invalid dim " + std::to_string(v));
    }
    out[i] = v;
  }
  if (allowzero && has_zero && infer >= 0) {
    return ctx.error("shape " + ints_str(req) + " has both 0 and -1 while allowzero=1");
  }
  auto known = checked_numel(out);
  if (!known.ok()) return ctx.error("shape " + ints_str(req) + ": " + known.status().message());
  if (infer >= 0) {
    if (*known == 0 || x.numel() % *known != 0) {
      return ctx.error("cannot reshape " + shape_str(x.shape()) + " (" + std::to_string(x.numel()) +
                       " elements) to " + ints_str(req));
    }
    out[infer] = x.numel() / *known;
  } else if (*known != x.numel()) {
    return ctx.error("cannot reshape " + shape_str(x.shape()) + " (" + std::to_string(x.numel()) +
                     " elements) to " + shape_str(out) + " (" + std::to_string(*known) + " elements)");
  }
  ASSIGN_OR_RETURN(Tensor y, x.reshaped(out));
  ctx.set_output(0, std::move(y));
  return ok_status();
}

Status flatten(KernelContext& ctx) {
  RETURN_IF_ERROR(require_input(ctx, 0, "input"));
  const Tensor& x = ctx.input(0);
  const int64_t r = x.rank();
  int64_t axis = ctx.attr_int("axis", 1);
  if (axis < -r || axis > r) {
    return ctx.error("axis " + std::to_string(axis) + " is out of range [" + std::to_string(-r) + ", " +
                     std::to_string(r) + "] for input " + shape_str(x.shape()));
  }
  if (axis < 0) axis += r;
  int64_t outer = 1, inner = 1;
  for (int64_t i = 0; i < r; ++i) (i < axis ? outer : inner) *= x.dim(static_cast<int>(i));
  ASSIGN_OR_RETURN(Tensor y, x.reshaped({outer, inner}));
  ctx.set_output(0, std::move(y));
  return ok_status();
}

// Axes of Squeeze/Unsqueeze: an attribute before opset 13, an input from 13 on.
Result<std::vector<int64_t>> axes_arg(KernelContext& ctx, int input_index, bool* given) {
  *given = false;
  if (ctx.has_input(input_index)) {
    *given = true;
    return read_ints(ctx, ctx.input(input_index), "axes");
  }
  if (ctx.has_attr("axes")) {
    *given = true;
    return ctx.attr_ints("axes");
  }
  return std::vector<int64_t>{};
}

Status squeeze(KernelContext& ctx) {
  RETURN_IF_ERROR(require_input(ctx, 0, "data"));
  const Tensor& x = ctx.input(0);
  bool given = false;
  ASSIGN_OR_RETURN(std::vector<int64_t> axes, axes_arg(ctx, 1, &given));
  std::vector<bool> drop(x.rank(), false);
  if (axes.empty()) {
    for (int i = 0; i < x.rank(); ++i) drop[i] = x.dim(i) == 1;
  } else {
    for (int64_t a : axes) {
      if (a < -x.rank() || a >= x.rank()) {
        return ctx.error("axis " + std::to_string(a) + " is out of range for input " + shape_str(x.shape()));
      }
      int ax = static_cast<int>(a < 0 ? a + x.rank() : a);
      if (x.dim(ax) != 1) {
        return ctx.error("cannot squeeze axis " + std::to_string(a) + " of input " + shape_str(x.shape()) +
                         ": its size is " + std::to_string(x.dim(ax)) + ", expected 1");
      }
      drop[ax] = true;
    }
  }
  Shape out;
  for (int i = 0; i < x.rank(); ++i) {
    if (!drop[i]) out.push_back(x.dim(i));
  }
  ASSIGN_OR_RETURN(Tensor y, x.reshaped(out));
  ctx.set_output(0, std::move(y));
  return ok_status();
}

Status unsqueeze(KernelContext& ctx) {
  RETURN_IF_ERROR(require_input(ctx, 0, "data"));
  const Tensor& x = ctx.input(0);
  bool given = false;
  ASSIGN_OR_RETURN(std::vector<int64_t> axes, axes_arg(ctx, 1, &given));
  if (!given) return ctx.error("axes is required");
  const int64_t out_rank = x.rank() + static_cast<int64_t>(axes.size());
  std::vector<bool> inserted(out_rank, false);
  for (int64_t a : axes) {
    if (a < -out_rank || a >= out_rank) {
      return ctx.error("axis " + std::to_string(a) + " is out of range for output rank " +
                       std::to_string(out_rank));
    }
    int64_t ax = a < 0 ? a + out_rank : a;
    if (inserted[ax]) return ctx.error("axes " + ints_str(axes) + " repeat axis " + std::to_string(ax));
    inserted[ax] = true;
  }
  Shape out(out_rank);
  int j = 0;
  for (int64_t i = 0; i < out_rank; ++i) out[i] = inserted[i] ? 1 : x.dim(j++);
  ASSIGN_OR_RETURN(Tensor y, x.reshaped(out));
  ctx.set_output(0, std::move(y));
  return ok_status();
}

// ---- Transpose, Concat, Split, Slice ----

Status transpose(KernelContext& ctx) {
  RETURN_IF_ERROR(require_input(ctx, 0, "data"));
  const Tensor& x = ctx.input(0);
  const int r = x.rank();
  std::vector<int64_t> perm = ctx.attr_ints("perm");
  if (perm.empty()) {
    perm.resize(r);
    for (int i = 0; i < r; ++i) perm[i] = r - 1 - i;
  }
  if (static_cast<int>(perm.size()) != r) {
    return ctx.error("perm " + ints_str(perm) + " has " + std::to_string(perm.size()) +
                     " entries, expected the input rank " + std::to_string(r));
  }
  std::vector<bool> seen(r, false);
  for (int64_t& p : perm) {
    if (p < -r || p >= r) return ctx.error("perm " + ints_str(perm) + " is not a permutation of 0.." + std::to_string(r - 1));
    if (p < 0) p += r;
    if (seen[p]) return ctx.error("perm " + ints_str(perm) + " repeats axis " + std::to_string(p));
    seen[p] = true;
  }
  const std::vector<int64_t> in_strides = shape_strides(x.shape());
  Shape out_shape(r);
  std::vector<int64_t> strides(r);
  for (int i = 0; i < r; ++i) {
    out_shape[i] = x.dim(static_cast<int>(perm[i]));
    strides[i] = in_strides[perm[i]];
  }
  ASSIGN_OR_RETURN(Tensor * out, ctx.allocate_output(0, x.dtype(), out_shape));
  return strided_copy_tensor(x, 0, out_shape, strides, *out);
}

Status concat(KernelContext& ctx) {
  if (!ctx.has_attr("axis")) return ctx.error("attribute axis is required");
  int first = -1;
  for (int i = 0; i < ctx.num_inputs(); ++i) {
    if (!ctx.has_input(i)) return ctx.error("input " + std::to_string(i) + " is missing");
    if (first < 0) first = i;
  }
  if (first < 0) return ctx.error("needs at least one input");
  const Tensor& x0 = ctx.input(first);
  const int r = x0.rank();
  if (r == 0) return ctx.error("cannot concatenate scalars (rank 0)");
  const int64_t axis_attr = ctx.attr_int("axis", 0);
  if (axis_attr < -r || axis_attr >= r) {
    return ctx.error("axis " + std::to_string(axis_attr) + " is out of range for rank " + std::to_string(r));
  }
  const int axis = static_cast<int>(axis_attr < 0 ? axis_attr + r : axis_attr);
  Shape out_shape = x0.shape();
  out_shape[axis] = 0;
  for (int i = 0; i < ctx.num_inputs(); ++i) {
    const Tensor& t = ctx.input(i);
    if (t.dtype() != x0.dtype()) {
      return ctx.error("input " + std::to_string(i) + " has dtype " + std::string(dtype_name(t.dtype())) +
                       ", expected " + std::string(dtype_name(x0.dtype())));
    }
    if (t.rank() != r) {
      return ctx.error("input " + std::to_string(i) + " has shape " + shape_str(t.shape()) +
                       ", expected rank " + std::to_string(r) + " like " + shape_str(x0.shape()));
    }
    for (int k = 0; k < r; ++k) {
      if (k != axis && t.dim(k) != x0.dim(k)) {
        return ctx.error("input " + std::to_string(i) + " has shape " + shape_str(t.shape()) +
                         ", which differs from " + shape_str(x0.shape()) + " outside axis " +
                         std::to_string(axis));
      }
    }
    out_shape[axis] += t.dim(axis);
  }
  ASSIGN_OR_RETURN(Tensor * out, ctx.allocate_output(0, x0.dtype(), out_shape));
  int64_t outer = 1, inner = 1;
  for (int k = 0; k < axis; ++k) outer *= out_shape[k];
  for (int k = axis + 1; k < r; ++k) inner *= out_shape[k];
  const int64_t out_block = out_shape[axis] * inner;
  return visit_storage(x0.dtype(), [&]<typename T>() {
    T* dst = out->data<T>();
    int64_t col = 0;
    for (int i = 0; i < ctx.num_inputs(); ++i) {
      const Tensor& t = ctx.input(i);
      const int64_t block = t.dim(axis) * inner;
      const T* src = t.data<T>();
      for (int64_t o = 0; o < outer; ++o) copy_n(src + o * block, block, dst + o * out_block + col);
      col += block;
    }
    return ok_status();
  });
}

Status split(KernelContext& ctx) {
  RETURN_IF_ERROR(require_input(ctx, 0, "input"));
  const Tensor& x = ctx.input(0);
  const int r = x.rank();
  if (r == 0) return ctx.error("cannot split a scalar");
  const int64_t axis_attr = ctx.attr_int("axis", 0);
  if (axis_attr < -r || axis_attr >= r) {
    return ctx.error("axis " + std::to_string(axis_attr) + " is out of range for input " + shape_str(x.shape()));
  }
  const int axis = static_cast<int>(axis_attr < 0 ? axis_attr + r : axis_attr);
  const int n_out = ctx.num_outputs();
  if (n_out < 1) return ctx.error("needs at least one output");
  const int64_t dim = x.dim(axis);
  std::vector<int64_t> sizes;
  if (ctx.has_input(1)) {
    ASSIGN_OR_RETURN(sizes, read_ints(ctx, ctx.input(1), "split"));
  } else if (ctx.has_attr("split")) {
    sizes = ctx.attr_ints("split");
  }
  if (sizes.empty()) {
    if (ctx.has_attr("num_outputs")) {
      const int64_t n = ctx.attr_int("num_outputs", n_out);
      if (n != n_out) {
        return ctx.error("num_outputs is " + std::to_string(n) + " but the node has " + std::to_string(n_out) +
                         " outputs");
      }
      const int64_t chunk = (dim + n - 1) / n;
      for (int i = 0; i < n_out; ++i) sizes.push_back(std::min(chunk, std::max<int64_t>(0, dim - chunk * i)));
    } else {
      if (dim % n_out != 0) {
        return ctx.error("axis " + std::to_string(axis) + " of size " + std::to_string(dim) +
                         " cannot be split into " + std::to_string(n_out) + " equal parts");
      }
      sizes.assign(n_out, dim / n_out);
    }
  }
  if (static_cast<int>(sizes.size()) != n_out) {
    return ctx.error("split " + ints_str(sizes) + " has " + std::to_string(sizes.size()) +
                     " entries, expected one per output (" + std::to_string(n_out) + ")");
  }
  int64_t total = 0;
  for (int64_t s : sizes) {
    if (s < 0 || s > dim) return ctx.error("split " + ints_str(sizes) + " has an invalid size " + std::to_string(s));
    total += s;
  }
  if (total != dim) {
    return ctx.error("split " + ints_str(sizes) + " sums to " + std::to_string(total) + ", expected axis " +
                     std::to_string(axis) + " size " + std::to_string(dim));
  }
  int64_t outer = 1, inner = 1;
  for (int k = 0; k < axis; ++k) outer *= x.dim(k);
  for (int k = axis + 1; k < r; ++k) inner *= x.dim(k);
  const int64_t in_block = dim * inner;
  int64_t col = 0;
  for (int i = 0; i < n_out; ++i) {
    const int64_t block = sizes[i] * inner;
    if (ctx.is_output_used(i)) {
      Shape s = x.shape();
      s[axis] = sizes[i];
      ASSIGN_OR_RETURN(Tensor * out, ctx.allocate_output(i, x.dtype(), s));
      RETURN_IF_ERROR(visit_storage(x.dtype(), [&]<typename T>() {
        const T* src = x.data<T>();
        T* dst = out->data<T>();
        for (int64_t o = 0; o < outer; ++o) copy_n(src + o * in_block + col, block, dst + o * block);
        return ok_status();
      }));
    }
    col += block;
  }
  return ok_status();
}

Status slice(KernelContext& ctx) {
  RETURN_IF_ERROR(require_input(ctx, 0, "data"));
  const Tensor& x = ctx.input(0);
  const int r = x.rank();
  std::vector<int64_t> starts, ends, axes, steps;
  if (ctx.opset() < 10) {
    starts = ctx.attr_ints("starts");
    ends = ctx.attr_ints("ends");
    axes = ctx.attr_ints("axes");
  } else {
    RETURN_IF_ERROR(require_input(ctx, 1, "starts"));
    RETURN_IF_ERROR(require_input(ctx, 2, "ends"));
    ASSIGN_OR_RETURN(starts, read_ints(ctx, ctx.input(1), "starts"));
    ASSIGN_OR_RETURN(ends, read_ints(ctx, ctx.input(2), "ends"));
    if (ctx.has_input(3)) {
      ASSIGN_OR_RETURN(axes, read_ints(ctx, ctx.input(3), "axes"));
    }
    if (ctx.has_input(4)) {
      ASSIGN_OR_RETURN(steps, read_ints(ctx, ctx.input(4), "steps"));
    }
  }
  const size_t n = starts.size();
  if (ends.size() != n) {
    return ctx.error("starts has " + std::to_string(n) + " entries but ends has " + std::to_string(ends.size()));
  }
  if (axes.empty()) {
    if (n > static_cast<size_t>(r)) {
      return ctx.error(std::to_string(n) + " starts given for input " + shape_str(x.shape()));
    }
    axes.resize(n);
    std::iota(axes.begin(), axes.end(), 0);
  }
  if (steps.empty()) steps.assign(n, 1);
  if (axes.size() != n || steps.size() != n) {
    return ctx.error("starts, ends, axes and steps must have the same length, got " + std::to_string(n) + ", " +
                     std::to_string(ends.size()) + ", " + std::to_string(axes.size()) + ", " +
                     std::to_string(steps.size()));
  }
  Shape out_shape = x.shape();
  std::vector<int64_t> begin(r, 0), step(r, 1);
  std::vector<bool> seen(r, false);
  for (size_t i = 0; i < n; ++i) {
    if (axes[i] < -r || axes[i] >= r) {
      return ctx.error("axis " + std::to_string(axes[i]) + " is out of range for input " + shape_str(x.shape()));
    }
    const int a = static_cast<int>(axes[i] < 0 ? axes[i] + r : axes[i]);
    if (seen[a]) return ctx.error("axes " + ints_str(axes) + " repeat axis " + std::to_string(a));
    seen[a] = true;
    const int64_t d = x.dim(a);
    int64_t st = steps[i];
    if (st == 0) return ctx.error("steps[" + std::to_string(i) + "] is 0");
    // A step longer than the axis selects one element; clamping keeps the arithmetic in range.
    const int64_t maxstep = std::max<int64_t>(d, 1);
    st = std::clamp(st, -maxstep, maxstep);
    int64_t s = starts[i], e = ends[i];
    if (s < 0) s += d;
    if (e < 0) e += d;
    int64_t count = 0;
    if (d == 0) {
      s = 0;
    } else if (st > 0) {
      s = std::clamp<int64_t>(s, 0, d);
      e = std::clamp<int64_t>(e, 0, d);
      count = e > s ? (e - s - 1) / st + 1 : 0;
    } else {
      s = std::clamp<int64_t>(s, 0, d - 1);
      e = std::clamp<int64_t>(e, -1, d - 1);
      count = s > e ? (s - e - 1) / (-st) + 1 : 0;
    }
    out_shape[a] = count;
    begin[a] = count > 0 ? s : 0;
    step[a] = st;
  }
  const std::vector<int64_t> in_strides = shape_strides(x.shape());
  int64_t base = 0;
  std::vector<int64_t> strides(r);
  for (int a = 0; a < r; ++a) {
    base += begin[a] * in_strides[a];
    strides[a] = step[a] * in_strides[a];
  }
  ASSIGN_OR_RETURN(Tensor * out, ctx.allocate_output(0, x.dtype(), out_shape));
  return strided_copy_tensor(x, base, out_shape, strides, *out);
}

// ---- Expand, Tile, Pad, ConstantOfShape ----

Status expand(KernelContext& ctx) {
  RETURN_IF_ERROR(require_input(ctx, 0, "input"));
  RETURN_IF_ERROR(require_input(ctx, 1, "shape"));
  const Tensor& x = ctx.input(0);
  ASSIGN_OR_RETURN(std::vector<int64_t> shape, read_ints(ctx, ctx.input(1), "shape"));
  for (int64_t d : shape) {
    if (d < 0) return ctx.error("shape " + ints_str(shape) + " has a negative dim");
  }
  auto bs = broadcast_shapes(x.shape(), shape);
  if (!bs.ok()) return ctx.error(bs.status().message());
  const Shape& out_shape = *bs;
  ASSIGN_OR_RETURN(Tensor * out, ctx.allocate_output(0, x.dtype(), out_shape));
  const size_t r = out_shape.size();
  const std::vector<int64_t> in_strides = shape_strides(x.shape());
  std::vector<int64_t> strides(r, 0);
  const size_t off = r - x.shape().size();
  for (size_t i = 0; i < x.shape().size(); ++i) strides[i + off] = x.shape()[i] == 1 ? 0 : in_strides[i];
  return strided_copy_tensor(x, 0, out_shape, strides, *out);
}

Status tile(KernelContext& ctx) {
  RETURN_IF_ERROR(require_input(ctx, 0, "input"));
  RETURN_IF_ERROR(require_input(ctx, 1, "repeats"));
  const Tensor& x = ctx.input(0);
  ASSIGN_OR_RETURN(std::vector<int64_t> reps, read_ints(ctx, ctx.input(1), "repeats"));
  const int r = x.rank();
  if (static_cast<int>(reps.size()) != r) {
    return ctx.error("repeats " + ints_str(reps) + " has " + std::to_string(reps.size()) +
                     " entries, expected the input rank " + std::to_string(r));
  }
  Shape out_shape(r);
  for (int i = 0; i < r; ++i) {
    if (reps[i] < 0) return ctx.error("repeats " + ints_str(reps) + " has a negative entry");
    if (mul_overflows(x.dim(i), reps[i])) {
      return ctx.error("tiling " + shape_str(x.shape()) + " by " + ints_str(reps) + " is too large");
    }
    out_shape[i] = x.dim(i) * reps[i];
  }
  ASSIGN_OR_RETURN(Tensor * out, ctx.allocate_output(0, x.dtype(), out_shape));
  if (out->numel() == 0) return ok_status();
  if (r == 0) return copy_tensor(x, *out);
  const std::vector<int64_t> in_strides = shape_strides(x.shape());
  const int64_t row = x.dim(r - 1);
  const int64_t out_row = out_shape[r - 1];
  const int64_t rows = out->numel() / out_row;
  return visit_storage(x.dtype(), [&]<typename T>() {
    const T* src = x.data<T>();
    T* dst = out->data<T>();
    std::vector<int64_t> idx(r, 0);
    for (int64_t o = 0; o < rows; ++o) {
      int64_t off = 0;
      for (int k = 0; k + 1 < r; ++k) off += (idx[k] % x.dim(k)) * in_strides[k];
      for (int64_t j = 0; j < reps[r - 1]; ++j) copy_n(src + off, row, dst + j * row);
      dst += out_row;
      for (int k = r - 2; k >= 0; --k) {
        if (++idx[k] < out_shape[k]) break;
        idx[k] = 0;
      }
    }
    return ok_status();
  });
}

enum class PadMode { kConstant, kReflect, kEdge, kWrap };

Status pad(KernelContext& ctx) {
  RETURN_IF_ERROR(require_input(ctx, 0, "data"));
  const Tensor& x = ctx.input(0);
  const int r = x.rank();
  const std::string mode_s = ctx.attr_string("mode", "constant");
  PadMode mode;
  if (mode_s == "constant") mode = PadMode::kConstant;
  else if (mode_s == "reflect") mode = PadMode::kReflect;
  else if (mode_s == "edge") mode = PadMode::kEdge;
  else if (mode_s == "wrap") mode = PadMode::kWrap;
  else return ctx.error("mode '" + mode_s + "' is not one of constant, reflect, edge, wrap");

  std::vector<int64_t> pads;
  std::vector<int64_t> axes;
  double value_attr = 0.0;
  const Tensor* value_tensor = nullptr;
  if (ctx.opset() < 11) {
    pads = ctx.attr_ints(ctx.has_attr("pads") ? "pads" : "paddings");
    value_attr = ctx.attr_float("value", 0.f);
  } else {
    RETURN_IF_ERROR(require_input(ctx, 1, "pads"));
    ASSIGN_OR_RETURN(pads, read_ints(ctx, ctx.input(1), "pads"));
    if (ctx.has_input(2)) {
      value_tensor = &ctx.input(2);
      if (value_tensor->dtype() != x.dtype()) {
        return ctx.error("constant_value has dtype " + std::string(dtype_name(value_tensor->dtype())) +
                         ", expected the data dtype " + std::string(dtype_name(x.dtype())));
      }
      if (value_tensor->numel() > 1) {
        return ctx.error("constant_value must be a scalar, got shape " + shape_str(value_tensor->shape()));
      }
      if (value_tensor->numel() == 0) value_tensor = nullptr;
    }
    if (ctx.has_input(3)) {
      ASSIGN_OR_RETURN(axes, read_ints(ctx, ctx.input(3), "axes"));
    }
  }
  if (axes.empty()) {
    axes.resize(r);
    std::iota(axes.begin(), axes.end(), 0);
  }
  const size_t na = axes.size();
  if (pads.size() != 2 * na) {
    return ctx.error("pads " + ints_str(pads) + " has " + std::to_string(pads.size()) + " entries, expected " +
                     std::to_string(2 * na) + " for input " + shape_str(x.shape()));
  }
  std::vector<int64_t> pb(r, 0), pe(r, 0);
  std::vector<bool> seen(r, false);
  for (size_t i = 0; i < na; ++i) {
    if (axes[i] < -r || axes[i] >= r) {
      return ctx.error("axis " + std::to_string(axes[i]) + " is out of range for input " + shape_str(x.shape()));
    }
    const int a = static_cast<int>(axes[i] < 0 ? axes[i] + r : axes[i]);
    if (seen[a]) return ctx.error("axes " + ints_str(axes) + " repeat axis " + std::to_string(a));
    seen[a] = true;
    pb[a] = pads[i];
    pe[a] = pads[i + na];
  }
  constexpr int64_t kLimit = int64_t(1) << 40;
  Shape out_shape(r);
  for (int a = 0; a < r; ++a) {
    if (pb[a] < -kLimit || pb[a] > kLimit || pe[a] < -kLimit || pe[a] > kLimit) {
      return ctx.error("pads " + ints_str(pads) + " are too large");
    }
    out_shape[a] = x.dim(a) + pb[a] + pe[a];
    if (out_shape[a] < 0) {
      return ctx.error("pads " + ints_str(pads) + " remove more than the " + std::to_string(x.dim(a)) +
                       " elements of axis " + std::to_string(a));
    }
    if (mode != PadMode::kConstant && x.dim(a) == 0 && out_shape[a] > 0) {
      return ctx.error("cannot pad the empty axis " + std::to_string(a) + " in " + mode_s + " mode");
    }
  }
  ASSIGN_OR_RETURN(Tensor * out, ctx.allocate_output(0, x.dtype(), out_shape));
  if (out->numel() == 0) return ok_status();
  // Per axis: which input index each output index reads (-1: the constant).
  std::vector<std::vector<int64_t>> maps(r);
  for (int a = 0; a < r; ++a) {
    const int64_t d = x.dim(a);
    maps[a].resize(out_shape[a]);
    for (int64_t o = 0; o < out_shape[a]; ++o) {
      int64_t i = o - pb[a];
      if (i < 0 || i >= d) {
        switch (mode) {
          case PadMode::kConstant: i = -1; break;
          case PadMode::kEdge: i = std::clamp<int64_t>(i, 0, d - 1); break;
          case PadMode::kWrap: i = ((i % d) + d) % d; break;
          case PadMode::kReflect:
            if (d == 1) {
              i = 0;
            } else {
              const int64_t period = 2 * (d - 1);
              i = ((i % period) + period) % period;
              if (i >= d) i = period - i;
            }
            break;
        }
      }
      maps[a][o] = i;
    }
  }
  if (r == 0) return copy_tensor(x, *out);
  const std::vector<int64_t> in_strides = shape_strides(x.shape());
  return visit_all(x.dtype(), [&]<typename T>() {
    T cval{};
    if (value_tensor) cval = value_tensor->data<T>()[0];
    else cval = cast_double<T>(value_attr);
    const T* src = x.data<T>();
    T* dst = out->data<T>();
    const int64_t inner = out_shape[r - 1];
    const std::vector<int64_t>& last = maps[r - 1];
    const int64_t rows = out->numel() / inner;
    std::vector<int64_t> idx(r, 0);
    for (int64_t o = 0; o < rows; ++o) {
      int64_t off = 0;
      bool constant_row = false;
      for (int k = 0; k + 1 < r; ++k) {
        const int64_t m = maps[k][idx[k]];
        if (m < 0) constant_row = true;
        off += m * in_strides[k];
      }
      if (constant_row) {
        std::fill(dst, dst + inner, cval);
      } else {
        const T* row = src + off;
        for (int64_t j = 0; j < inner; ++j) dst[j] = last[j] < 0 ? cval : row[last[j]];
      }
      dst += inner;
      for (int k = r - 2; k >= 0; --k) {
        if (++idx[k] < out_shape[k]) break;
        idx[k] = 0;
      }
    }
    return ok_status();
  });
}

Status constant_of_shape(KernelContext& ctx) {
  RETURN_IF_ERROR(require_input(ctx, 0, "input"));
  ASSIGN_OR_RETURN(std::vector<int64_t> shape, read_ints(ctx, ctx.input(0), "input shape"));
  for (int64_t d : shape) {
    if (d < 0) return ctx.error("shape " + ints_str(shape) + " has a negative dim");
  }
  const Tensor* value = ctx.attr_tensor("value");
  if (value && value->numel() != 1) {
    return ctx.error("value must hold exactly one element, got shape " + shape_str(value->shape()));
  }
  const DType dt = value ? value->dtype() : DType::kF32;
  ASSIGN_OR_RETURN(Tensor * out, ctx.allocate_output(0, dt, shape));
  if (!value) return ok_status();  // zeros
  return visit_storage(dt, [&]<typename T>() {
    const T v = value->data<T>()[0];
    std::fill(out->data<T>(), out->data<T>() + out->numel(), v);
    return ok_status();
  });
}

// ---- Range, EyeLike, Trilu ----

Status range(KernelContext& ctx) {
  for (int i = 0; i < 3; ++i) RETURN_IF_ERROR(require_input(ctx, i, i == 0 ? "start" : i == 1 ? "limit" : "delta"));
  const Tensor& ts = ctx.input(0);
  const Tensor& tl = ctx.input(1);
  const Tensor& td = ctx.input(2);
  RETURN_IF_ERROR(require_scalar(ctx, ts, "start"));
  RETURN_IF_ERROR(require_scalar(ctx, tl, "limit"));
  RETURN_IF_ERROR(require_scalar(ctx, td, "delta"));
  if (tl.dtype() != ts.dtype() || td.dtype() != ts.dtype()) {
    return ctx.error("start, limit and delta must have the same dtype, got " +
                     std::string(dtype_name(ts.dtype())) + ", " + std::string(dtype_name(tl.dtype())) + ", " +
                     std::string(dtype_name(td.dtype())));
  }
  constexpr int64_t kLimit = int64_t(1) << 40;
  return visit_numeric(ts.dtype(), [&]<typename T>() -> Status {
    int64_t n = 0;
    if constexpr (std::is_integral_v<T>) {
      using W = __int128;
      const W s = static_cast<W>(ts.data<T>()[0]);
      const W l = static_cast<W>(tl.data<T>()[0]);
      const W d = static_cast<W>(td.data<T>()[0]);
      if (d == 0) return ctx.error("delta is 0");
      W diff = l - s;
      W q = diff / d;
      if (q * d != diff && ((diff > 0) == (d > 0))) q += 1;  // ceil
      if (q < 0) q = 0;
      if (q > kLimit) return ctx.error("the range has too many elements (" + std::to_string((long double)q) + ")");
      n = static_cast<int64_t>(q);
      ASSIGN_OR_RETURN(Tensor * out, ctx.allocate_output(0, ts.dtype(), {n}));
      T* o = out->data<T>();
      for (int64_t i = 0; i < n; ++i) o[i] = static_cast<T>(s + static_cast<W>(i) * d);
    } else {
      const double s = to_f64(ts.data<T>()[0]);
      const double l = to_f64(tl.data<T>()[0]);
      const double d = to_f64(td.data<T>()[0]);
      if (d == 0.0) return ctx.error("delta is 0");
      const double q = std::ceil((l - s) / d);
      if (std::isnan(q)) return ctx.error("start, limit and delta give a NaN element count");
      if (q > static_cast<double>(kLimit)) {
        return ctx.error("the range has too many elements (" + std::to_string(q) + ")");
      }
      n = q > 0 ? static_cast<int64_t>(q) : 0;
      ASSIGN_OR_RETURN(Tensor * out, ctx.allocate_output(0, ts.dtype(), {n}));
      T* o = out->data<T>();
      if constexpr (std::is_same_v<T, float>) {
        // Matches the spec's accumulation in the element type closely enough; computed directly.
        for (int64_t i = 0; i < n; ++i) o[i] = static_cast<float>(s + static_cast<double>(i) * d);
      } else {
        for (int64_t i = 0; i < n; ++i) o[i] = from_f64<T>(s + static_cast<double>(i) * d);
      }
    }
    return ok_status();
  });
}

template <typename T>
T one_value() {
  if constexpr (std::is_same_v<T, bool>) return true;
  else return from_f64<T>(1.0);
}

Status eye_like(KernelContext& ctx) {
  RETURN_IF_ERROR(require_input(ctx, 0, "input"));
  const Tensor& x = ctx.input(0);
  if (x.rank() != 2) return ctx.error("input must be 2-D, got shape " + shape_str(x.shape()));
  DType dt = x.dtype();
  if (ctx.has_attr("dtype")) {
    const int64_t code = ctx.attr_int("dtype", 0);
    dt = dtype_from_onnx(static_cast<int>(code));
    if (dt == DType::kUndefined || dt == DType::kString) {
      return ctx.error("dtype " + std::to_string(code) + " is not a supported numeric ONNX type");
    }
  }
  const int64_t k = ctx.attr_int("k", 0);
  ASSIGN_OR_RETURN(Tensor * out, ctx.allocate_output(0, dt, x.shape()));
  const int64_t rows = x.dim(0), cols = x.dim(1);
  auto fill = [&]<typename T>() -> Status {
    T* o = out->data<T>();
    for (int64_t i = 0; i < rows; ++i) {
      // j = i + k, computed without overflow for any k.
      if (k > cols || k < -rows) break;
      const int64_t j = i + k;
      if (j >= 0 && j < cols) o[i * cols + j] = one_value<T>();
    }
    return ok_status();
  };
  if (dt == DType::kBool) return fill.template operator()<bool>();
  return visit_numeric(dt, fill);
}

Status trilu(KernelContext& ctx) {
  RETURN_IF_ERROR(require_input(ctx, 0, "input"));
  const Tensor& x = ctx.input(0);
  if (x.rank() < 2) return ctx.error("input must have rank >= 2, got shape " + shape_str(x.shape()));
  int64_t k = 0;
  if (ctx.has_input(1)) {
    const Tensor& tk = ctx.input(1);
    if (!dtype_is_integer(tk.dtype())) {
      return ctx.error("k must be an integer tensor, got " + std::string(dtype_name(tk.dtype())));
    }
    RETURN_IF_ERROR(require_scalar(ctx, tk, "k"));
    k = tk.get_int(0);
  }
  const bool upper = ctx.attr_int("upper", 1) != 0;
  ASSIGN_OR_RETURN(Tensor * out, ctx.allocate_output(0, x.dtype(), x.shape()));
  const int64_t rows = x.dim(x.rank() - 2), cols = x.dim(x.rank() - 1);
  const int64_t mats = rows * cols == 0 ? 0 : x.numel() / (rows * cols);
  return visit_storage(x.dtype(), [&]<typename T>() {
    const T* src = x.data<T>();
    T* dst = out->data<T>();
    for (int64_t m = 0; m < mats; ++m) {
      for (int64_t i = 0; i < rows; ++i) {
        const T* s = src + (m * rows + i) * cols;
        T* d = dst + (m * rows + i) * cols;
        // Keep j - i >= k (upper) or j - i <= k (lower); the rest stays zero.
        for (int64_t j = 0; j < cols; ++j) {
          const int64_t diff = j - i;
          if (upper ? diff >= k : diff <= k) d[j] = s[j];
        }
      }
    }
    return ok_status();
  });
}

// ---- DepthToSpace, SpaceToDepth ----

Result<int64_t> blocksize_arg(KernelContext& ctx, const Tensor& x) {
  if (x.rank() != 4) return ctx.error("input must be 4-D (N,C,H,W), got shape " + shape_str(x.shape()));
  if (!ctx.has_attr("blocksize")) return ctx.error("attribute blocksize is required");
  const int64_t b = ctx.attr_int("blocksize", 0);
  if (b < 1 || b > (int64_t(1) << 20)) return ctx.error("blocksize " + std::to_string(b) + " is invalid");
  return b;
}

Status depth_to_space(KernelContext& ctx) {
  RETURN_IF_ERROR(require_input(ctx, 0, "input"));
  const Tensor& x = ctx.input(0);
  ASSIGN_OR_RETURN(int64_t b, blocksize_arg(ctx, x));
  const std::string mode = ctx.attr_string("mode", "DCR");
  if (mode != "DCR" && mode != "CRD") return ctx.error("mode '" + mode + "' is not DCR or CRD");
  const int64_t n = x.dim(0), c = x.dim(1), h = x.dim(2), w = x.dim(3);
  if (c % (b * b) != 0) {
    return ctx.error("channels " + std::to_string(c) + " are not divisible by blocksize^2 = " +
                     std::to_string(b * b));
  }
  const int64_t c2 = c / (b * b);
  if (mul_overflows(h, b) || mul_overflows(w, b)) return ctx.error("output is too large");
  ASSIGN_OR_RETURN(Tensor * out, ctx.allocate_output(0, x.dtype(), {n, c2, h * b, w * b}));
  // View the input as 6-D and transpose it into [N, C2, H, b, W, b].
  Shape in6 = mode == "DCR" ? Shape{n, b, b, c2, h, w} : Shape{n, c2, b, b, h, w};
  const std::vector<int64_t> st = shape_strides(in6);
  const std::vector<int> perm = mode == "DCR" ? std::vector<int>{0, 3, 4, 1, 5, 2}
                                               : std::vector<int>{0, 1, 4, 2, 5, 3};
  Shape out6(6);
  std::vector<int64_t> strides(6);
  for (int i = 0; i < 6; ++i) {
    out6[i] = in6[perm[i]];
    strides[i] = st[perm[i]];
  }
  return strided_copy_tensor(x, 0, out6, strides, *out);
}

Status space_to_depth(KernelContext& ctx) {
  RETURN_IF_ERROR(require_input(ctx, 0, "input"));
  const Tensor& x = ctx.input(0);
  ASSIGN_OR_RETURN(int64_t b, blocksize_arg(ctx, x));
  const int64_t n = x.dim(0), c = x.dim(1), h = x.dim(2), w = x.dim(3);
  if (h % b != 0 || w % b != 0) {
    return ctx.error("spatial dims " + std::to_string(h) + "x" + std::to_string(w) +
                     " are not divisible by blocksize " + std::to_string(b));
  }
  if (mul_overflows(c, b * b)) return ctx.error("output is too large");
  ASSIGN_OR_RETURN(Tensor * out, ctx.allocate_output(0, x.dtype(), {n, c * b * b, h / b, w / b}));
  const Shape in6{n, c, h / b, b, w / b, b};
  const std::vector<int64_t> st = shape_strides(in6);
  const int perm[6] = {0, 3, 5, 1, 2, 4};
  Shape out6(6);
  std::vector<int64_t> strides(6);
  for (int i = 0; i < 6; ++i) {
    out6[i] = in6[perm[i]];
    strides[i] = st[perm[i]];
  }
  return strided_copy_tensor(x, 0, out6, strides, *out);
}

// Single-output kernels skip the work when the node's output is left unnamed.
template <KernelFn F>
Status when_used(KernelContext& ctx) {
  if (!ctx.is_output_used(0)) return ok_status();
  return F(ctx);
}

}  // namespace

std::span<const KernelEntry> tensor_kernels() {
  static const KernelEntry kTable[] = {
      {"", "Identity", identity},
      {"", "Constant", constant},
      {"", "Shape", when_used<shape_op>},
      {"", "Size", when_used<size_op>},
      {"", "Reshape", when_used<reshape>},
      {"", "Flatten", when_used<flatten>},
      {"", "Squeeze", when_used<squeeze>},
      {"", "Unsqueeze", when_used<unsqueeze>},
      {"", "Transpose", when_used<transpose>},
      {"", "Concat", when_used<concat>},
      {"", "Split", split},
      {"", "Slice", when_used<slice>},
      {"", "Expand", when_used<expand>},
      {"", "Tile", when_used<tile>},
      {"", "Pad", when_used<pad>},
      {"", "ConstantOfShape", when_used<constant_of_shape>},
      {"", "Range", when_used<range>},
      {"", "EyeLike", when_used<eye_like>},
      {"", "Trilu", when_used<trilu>},
      {"", "DepthToSpace", when_used<depth_to_space>},
      {"", "SpaceToDepth", when_used<space_to_depth>},
      {"", "Gather", when_used<gather>},
      {"", "GatherElements", when_used<gather_elements>},
      {"", "GatherND", when_used<gather_nd>},
      {"", "Scatter", when_used<scatter_elements>},
      {"", "ScatterElements", when_used<scatter_elements>},
      {"", "ScatterND", when_used<scatter_nd>},
      {"", "NonZero", when_used<nonzero>},
      {"", "OneHot", when_used<one_hot>},
      {"", "Compress", when_used<compress>},
      {"", "Unique", unique},
      {"", "ReverseSequence", when_used<reverse_sequence>},
      {"", "Resize", when_used<resize>},
      {"", "Upsample", when_used<upsample>},
  };
  return std::span<const KernelEntry>(kTable);
}

}  // namespace edgeai::kernels::ref
