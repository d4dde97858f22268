// Reference GridSample (opset 16: 4-D input; bilinear, nearest and bicubic sampling with zeros,
// border or reflection padding). Follows ONNX Runtime and PyTorch: grid points outside the
// border are first clamped (border) or reflected (reflection); then each tap is padded.
#include <algorithm>
#include <cmath>
#include <limits>

#include "kernels/reference/nn_internal.h"

namespace edgeai::kernels::ref::nn {
namespace {

enum class Interp { kLinear, kNearest, kCubic };
enum class Padding { kZeros, kBorder, kReflection };

// Reflects x into [lo, hi] by its nearest border, repeatedly.
template <typename A>
A reflect(A x, A lo, A hi) {
  const A rng = hi - lo;
  if (!(rng > 0)) return lo;
  if (x < lo) {
    const A dx = lo - x;
    const A n = std::floor(dx / rng);
    const A r = dx - n * rng;
    return std::fmod(n, A(2)) == 0 ? lo + r : hi - r;
  }
  if (x > hi) {
    const A dx = x - hi;
    const A n = std::floor(dx / rng);
    const A r = dx - n * rng;
    return std::fmod(n, A(2)) == 0 ? hi - r : lo + r;
  }
  return x;
}

template <typename A>
void cubic_coeffs(A t, A c[4]) {
  const A a = A(-0.75);
  const A x0 = t + 1, x1 = t, x2 = 1 - t, x3 = 2 - t;
  c[0] = ((a * x0 - 5 * a) * x0 + 8 * a) * x0 - 4 * a;
  c[1] = ((a + 2) * x1 - (a + 3)) * x1 * x1 + 1;
  c[2] = ((a + 2) * x2 - (a + 3)) * x2 * x2 + 1;
  c[3] = ((a * x3 - 5 * a) * x3 + 8 * a) * x3 - 4 * a;
}

}  // namespace

Status grid_sample(KernelContext& ctx) {
  RETURN_IF_ERROR(check_inputs(ctx, 2, 2, 2));
  RETURN_IF_ERROR(check_float(ctx, 0));
  RETURN_IF_ERROR(check_float(ctx, 1));
  const Tensor& x = ctx.input(0);
  const Tensor& grid = ctx.input(1);
  if (x.rank() != 4) {
    return ctx.unsupported_error("only 4-D X [N, C, H, W] is supported, got shape " + shape_str(x.shape()));
  }
  if (grid.rank() != 4 || grid.dim(0) != x.dim(0) || grid.dim(3) != 2) {
    return ctx.error("grid must have shape [N, H_out, W_out, 2] with N = " + std::to_string(x.dim(0)) + ", got " +
                     shape_str(grid.shape()));
  }
  const std::string mode_s = ctx.attr_string("mode", "bilinear");
  Interp mode;
  if (mode_s == "bilinear" || mode_s == "linear") mode = Interp::kLinear;
  else if (mode_s == "nearest") mode = Interp::kNearest;
  else if (mode_s == "bicubic" || mode_s == "cubic") mode = Interp::kCubic;
  else return ctx.error("mode must be bilinear, nearest or bicubic, got '" + mode_s + "'");
  const std::string pad_s = ctx.attr_string("padding_mode", "zeros");
  Padding pad;
  if (pad_s == "zeros") pad = Padding::kZeros;
  else if (pad_s == "border") pad = Padding::kBorder;
  else if (pad_s == "reflection") pad = Padding::kReflection;
  else return ctx.error("padding_mode must be zeros, border or reflection, got '" + pad_s + "'");
  const int64_t align = ctx.attr_int("align_corners", 0);
  if (align != 0 && align != 1) return ctx.error("align_corners must be 0 or 1, got " + std::to_string(align));

  const int64_t n_img = x.dim(0), c = x.dim(1), h = x.dim(2), w = x.dim(3);
  const int64_t ho = grid.dim(1), wo = grid.dim(2);
  if (!ctx.is_output_used(0)) return ok_status();
  ASSIGN_OR_RETURN(Tensor * y, ctx.allocate_output(0, x.dtype(), Shape{n_img, c, ho, wo}));
  return visit_float(x.dtype(), [&]<typename T>() {
    using A = Acc<T>;
    const T* xd = x.data<T>();
    T* yd = y->data<T>();
    return visit_float(grid.dtype(), [&]<typename G>() {
      const G* gd = grid.data<G>();
      const int64_t out_sp = ho * wo;
      const A nan = std::numeric_limits<A>::quiet_NaN();
      // Borders of the sampling domain.
      const A x_min = align ? A(0) : A(-0.5), x_max = align ? A(w - 1) : A(w) - A(0.5);
      const A y_min = align ? A(0) : A(-0.5), y_max = align ? A(h - 1) : A(h) - A(0.5);
      auto denorm = [&](A v, int64_t len) {
        return align ? (v + 1) / 2 * A(len - 1) : ((v + 1) * A(len) - 1) / 2;
      };
      // Index of a tap after padding, or -1 when it reads zero.
      auto tap = [&](int64_t i, int64_t len, A lo, A hi) -> int64_t {
        if (i >= 0 && i < len) return i;
        if (pad == Padding::kZeros) return -1;
        if (pad == Padding::kBorder) return std::clamp<int64_t>(i, 0, len - 1);
        const int64_t r = static_cast<int64_t>(reflect(A(i), lo, hi));
        return std::clamp<int64_t>(r, 0, len - 1);
      };
      ctx.pool().parallel_for(n_img * c, 1, [&](int64_t q0, int64_t q1) {
        for (int64_t q = q0; q < q1; ++q) {
          const int64_t n = q / c;
          const T* xp = xd + q * h * w;
          const G* gp = gd + n * out_sp * 2;
          T* yp = yd + q * out_sp;
          auto px = [&](int64_t ix, int64_t iy) -> A {
            const int64_t tx = tap(ix, w, x_min, x_max), ty = tap(iy, h, y_min, y_max);
            return tx < 0 || ty < 0 ? A(0) : load<A>(xp[ty * w + tx]);
          };
          for (int64_t p = 0; p < out_sp; ++p) {
            A fx = denorm(load<A>(gp[2 * p]), w);
            A fy = denorm(load<A>(gp[2 * p + 1]), h);
            if (std::isnan(fx) || std::isnan(fy) || h == 0 || w == 0) {
              yp[p] = store<T>(h == 0 || w == 0 ? A(0) : nan);
              continue;
            }
            if (mode == Interp::kNearest) {
              fx = std::nearbyint(fx);
              fy = std::nearbyint(fy);
            }
            if (fx < x_min || fx > x_max) {
              if (pad == Padding::kBorder) fx = std::clamp(fx, A(0), A(w - 1));
              else if (pad == Padding::kReflection) fx = reflect(fx, x_min, x_max);
            }
            if (fy < y_min || fy > y_max) {
              if (pad == Padding::kBorder) fy = std::clamp(fy, A(0), A(h - 1));
              else if (pad == Padding::kReflection) fy = reflect(fy, y_min, y_max);
            }
            // Reflecting an infinite coordinate gives NaN: no meaningful position, use the border.
            if (std::isnan(fx)) fx = x_min;
            if (std::isnan(fy)) fy = y_min;
            // Far outside, every tap reads padding; clamping keeps the integer conversion defined.
            fx = std::clamp(fx, A(-4) - A(w), A(w) + A(4));
            fy = std::clamp(fy, A(-4) - A(h), A(h) + A(4));
            A v;
            if (mode == Interp::kNearest) {
              v = px(static_cast<int64_t>(fx), static_cast<int64_t>(fy));
            } else if (mode == Interp::kLinear) {
              const A x0 = std::floor(fx), y0 = std::floor(fy);
              const A wx = fx - x0, wy = fy - y0;
              const int64_t ix = static_cast<int64_t>(x0), iy = static_cast<int64_t>(y0);
              const A top = (1 - wx) * px(ix, iy) + wx * px(ix + 1, iy);
              const A bot = (1 - wx) * px(ix, iy + 1) + wx * px(ix + 1, iy + 1);
              v = (1 - wy) * top + wy * bot;
            } else {
              const A x0 = std::floor(fx), y0 = std::floor(fy);
              A cx[4], cy[4];
              cubic_coeffs(fx - x0, cx);
              cubic_coeffs(fy - y0, cy);
              const int64_t ix = static_cast<int64_t>(x0) - 1, iy = static_cast<int64_t>(y0) - 1;
              v = 0;
              for (int i = 0; i < 4; ++i) {
                A row = 0;
                for (int j = 0; j < 4; ++j) row += cx[j] * px(ix + j, iy + i);
                v += cy[i] * row;
              }
            }
            yp[p] = store<T>(v);
          }
        }
      });
      return ok_status();
    });
  });
}

}  // namespace edgeai::kernels::ref::nn
