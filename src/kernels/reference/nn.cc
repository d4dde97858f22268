// The reference NN family's table (Conv, pooling, MatMul, Gemm, Einsum, ...) and the helpers its
// kernels share: input checks and sliding-window geometry. The kernels live in nn_*.cc.
#include <exception>
#include <new>

#include "kernels/reference/nn_internal.h"
#include "kernels/reference/registry.h"

namespace edgeai::kernels::ref {
namespace nn {

std::string dtype_str(DType t) { return std::string(dtype_name(t)); }

std::string ints_str(std::span<const int64_t> v) {
  std::string s = "[";
  for (size_t i = 0; i < v.size(); ++i) {
    if (i) s += ",";
    s += std::to_string(v[i]);
  }
  return s + "]";
}

Status check_inputs(const KernelContext& ctx, int lo, int hi, int required) {
  int n = ctx.num_inputs();
  if (n < lo || n > hi) {
    std::string want = lo == hi ? std::to_string(lo) : std::to_string(lo) + ".." + std::to_string(hi);
    return ctx.error("expected " + want + " inputs, got " + std::to_string(n));
  }
  if (n < required) return ctx.error("input " + std::to_string(n) + " is required but absent");
  for (int i = 0; i < n; ++i) {
    if (!ctx.has_input(i)) {
      if (i < required) return ctx.error("input " + std::to_string(i) + " is required but absent");
      continue;
    }
    if (!ctx.input_value(i).is_tensor()) return ctx.error("input " + std::to_string(i) + " must be a tensor");
  }
  return ok_status();
}

Status check_float(const KernelContext& ctx, int i) {
  DType t = ctx.input(i).dtype();
  if (!dtype_is_float(t)) {
    return ctx.error("input " + std::to_string(i) + " has dtype " + dtype_str(t) +
                     ", expected a float type (f16, bf16, f32, f64)");
  }
  return ok_status();
}

Status check_same_dtype(const KernelContext& ctx, int a, int b) {
  DType ta = ctx.input(a).dtype(), tb = ctx.input(b).dtype();
  if (ta != tb) {
    return ctx.error("inputs " + std::to_string(a) + " and " + std::to_string(b) +
                     " must have the same dtype, got " + dtype_str(ta) + " and " + dtype_str(tb));
  }
  return ok_status();
}

Result<AutoPad> read_auto_pad(const KernelContext& ctx) {
  std::string s = ctx.attr_string("auto_pad", "NOTSET");
  if (s == "NOTSET" || s.empty()) return AutoPad::kNotSet;
  if (s == "SAME_UPPER") return AutoPad::kSameUpper;
  if (s == "SAME_LOWER") return AutoPad::kSameLower;
  if (s == "VALID") return AutoPad::kValid;
  return ctx.error("auto_pad must be NOTSET, SAME_UPPER, SAME_LOWER or VALID, got '" + s + "'");
}

Result<std::vector<int64_t>> read_ints(const KernelContext& ctx, std::string_view name, int n,
                                       int64_t def, int64_t lo, int64_t hi) {
  if (!ctx.has_attr(name)) return std::vector<int64_t>(n, def);
  std::vector<int64_t> v = ctx.attr_ints(name);
  if (static_cast<int>(v.size()) != n) {
    return ctx.error("attribute " + std::string(name) + " must have " + std::to_string(n) +
                     " values, got " + std::to_string(v.size()));
  }
  for (int64_t x : v) {
    if (x < lo || x > hi) {
      return ctx.error("attribute " + std::string(name) + " = " + ints_str(v) + ": values must be in [" +
                       std::to_string(lo) + ", " + std::to_string(hi) + "]");
    }
  }
  return v;
}

Result<int64_t> checked_size(std::span<const int64_t> dims) { return checked_numel(dims); }

Result<Window> make_window(const KernelContext& ctx, const Shape& in, const Shape& kernel,
                           bool allow_dilations, bool ceil_mode, bool pad_less_than_kernel) {
  Window w;
  w.nd = static_cast<int>(in.size());
  const int nd = w.nd;
  w.in = in;
  w.kernel = kernel;
  if (static_cast<int>(kernel.size()) != nd) {
    return ctx.error("kernel has " + std::to_string(kernel.size()) + " dims, input has " +
                     std::to_string(nd) + " spatial dims");
  }
  for (int64_t k : kernel) {
    if (k < 1 || k > kMaxWindowValue) return ctx.error("kernel shape " + ints_str(kernel) + " must be positive");
  }
  ASSIGN_OR_RETURN(w.strides, read_ints(ctx, "strides", nd, 1, 1, kMaxWindowValue));
  if (allow_dilations) {
    ASSIGN_OR_RETURN(w.dilations, read_ints(ctx, "dilations", nd, 1, 1, kMaxWindowValue));
  } else {
    w.dilations.assign(nd, 1);
  }
  ASSIGN_OR_RETURN(AutoPad ap, read_auto_pad(ctx));
  w.pad_begin.assign(nd, 0);
  w.pad_end.assign(nd, 0);
  if (ap == AutoPad::kNotSet) {
    ASSIGN_OR_RETURN(std::vector<int64_t> pads, read_ints(ctx, "pads", 2 * nd, 0, 0, kMaxWindowValue));
    for (int d = 0; d < nd; ++d) {
      w.pad_begin[d] = pads[d];
      w.pad_end[d] = pads[d + nd];
    }
  }
  w.out.assign(nd, 0);
  for (int d = 0; d < nd; ++d) {
    const int64_t ext = w.extent(d), s = w.strides[d];
    if (ap == AutoPad::kSameUpper || ap == AutoPad::kSameLower) {
      int64_t out = (in[d] + s - 1) / s;
      int64_t total = out > 0 ? (out - 1) * s + ext - in[d] : 0;
      if (total < 0) total = 0;
      int64_t small = total / 2;
      w.pad_begin[d] = ap == AutoPad::kSameUpper ? small : total - small;
      w.pad_end[d] = total - w.pad_begin[d];
      w.out[d] = out;
      continue;
    }
    if (pad_less_than_kernel && (w.pad_begin[d] >= ext || w.pad_end[d] >= ext)) {
      return ctx.error("pads " + std::to_string(w.pad_begin[d]) + "," + std::to_string(w.pad_end[d]) +
                       " of spatial dim " + std::to_string(d) + " must be smaller than the kernel extent " +
                       std::to_string(ext));
    }
    const int64_t padded = in[d] + w.pad_begin[d] + w.pad_end[d];
    if (padded < ext) {
      return ctx.error("kernel extent " + std::to_string(ext) + " of spatial dim " + std::to_string(d) +
                       " is larger than the padded input size " + std::to_string(padded));
    }
    int64_t out;
    if (ceil_mode) {
      out = (padded - ext + s - 1) / s + 1;
      // The last window must start inside the input or its begin padding.
      if ((out - 1) * s >= in[d] + w.pad_begin[d]) --out;
    } else {
      out = (padded - ext) / s + 1;
    }
    w.out[d] = out;
  }
  return w;
}

namespace {

// Runs a kernel and turns an escaping allocation failure (or any other exception from the
// standard library) into a Status: kernels never throw.
template <KernelFn F>
Status guarded(KernelContext& ctx) {
  try {
    return F(ctx);
  } catch (const std::bad_alloc&) {
    return ctx.error("out of memory");
  } catch (const std::exception& e) {
    return ctx.error(std::string("internal error: ") + e.what());
  }
}

}  // namespace
}  // namespace nn

std::span<const KernelEntry> nn_kernels() {
  using namespace nn;
  static const KernelEntry kTable[] = {
      {"", "Conv", guarded<conv>},
      {"", "ConvTranspose", guarded<conv_transpose>},
      {"", "Col2Im", guarded<col2im>},
      {"", "MaxPool", guarded<max_pool>},
      {"", "AveragePool", guarded<average_pool>},
      {"", "LpPool", guarded<lp_pool>},
      {"", "GlobalAveragePool", guarded<global_average_pool>},
      {"", "GlobalMaxPool", guarded<global_max_pool>},
      {"", "GlobalLpPool", guarded<global_lp_pool>},
      {"", "MaxUnpool", guarded<max_unpool>},
      {"", "MaxRoiPool", guarded<max_roi_pool>},
      {"", "RoiAlign", guarded<roi_align>},
      {"", "MatMul", guarded<matmul>},
      {"", "Gemm", guarded<gemm>},
      {"", "Det", guarded<det>},
      {"", "Einsum", guarded<einsum>},
      {"", "GridSample", guarded<grid_sample>},
  };
  return kTable;
}

}  // namespace edgeai::kernels::ref
