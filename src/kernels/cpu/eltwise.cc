// Elementwise f32 ops: activations (Relu, Sigmoid, Tanh, LeakyRelu, HardSigmoid, HardSwish, Clip,
// Gelu, Erf, Exp) and Add/Sub/Mul/Div with numpy broadcasting, whose dims are grouped into runs
// that broadcast alike so the inner loop is one vector kernel call over a contiguous run. Other
// dtypes go to the reference kernels.
#include <algorithm>
#include <cmath>

#include "kernels/cpu/op_common.h"
#include "kernels/cpu/ops.h"

namespace edgeai::kernels::cpu {
namespace {

constexpr int64_t kParallelElems = 1 << 16;  // fewer elements run on one thread (pool wake-up ~ us)

struct UnaryState final : FastState {
  Activation act;
  enum class Fn { kAct, kClip, kErf, kExp } fn = Fn::kAct;
};

void run_parallel(KernelContext& ctx, int64_t n, const std::function<void(int64_t, int64_t)>& f) {
  if (n < kParallelElems || ctx.pool().num_threads() <= 1) {
    f(0, n);
    return;
  }
  // Chunks of whole cache lines.
  const int64_t lines = (n + 15) / 16;
  ctx.pool().parallel_for(lines, kParallelElems / 16, [&](int64_t b, int64_t e) { f(b * 16, std::min(n, e * 16)); });
}

// Clip's min / max from its optional scalar inputs (opset 11+) or attributes (before).
bool clip_bounds(KernelContext& ctx, Activation* act) {
  act->kind = ActKind::kClip;
  act->alpha = -__builtin_inff();
  act->beta = __builtin_inff();
  if (ctx.opset() < 11) {
    act->alpha = ctx.attr_float("min", -3.402823466e38f);
    act->beta = ctx.attr_float("max", 3.402823466e38f);
    return true;
  }
  for (int i = 1; i <= 2; ++i) {
    if (!ctx.has_input(i)) continue;
    if (!is_f32_tensor(ctx, i) || ctx.input(i).numel() != 1 || ctx.input(i).rank() > 1) return false;
    const float v = ctx.input(i).data<float>()[0];
    if (std::isnan(v)) return false;
    (i == 1 ? act->alpha : act->beta) = v;
  }
  return true;
}

}  // namespace

namespace {

PrepareResult prepare_unary_in(PrepareContext& ctx, std::string_view domain) {
  std::unique_ptr<KernelState> none;
  if (!ctx.has_input(0) || declared_not_f32(ctx, 0)) return none;
  auto s = std::make_unique<UnaryState>();
  const std::string_view op = ctx.op_type();
  init_fast_state(ctx, domain, s.get());
  Activation& a = s->act;
  if (op == "Relu") {
    a.kind = ActKind::kRelu;
  } else if (op == "Sigmoid") {
    a.kind = ActKind::kSigmoid;
  } else if (op == "Tanh") {
    a.kind = ActKind::kTanh;
  } else if (op == "LeakyRelu") {
    a.kind = ActKind::kLeakyRelu;
    a.alpha = ctx.attr_float("alpha", 0.01f);
  } else if (op == "HardSigmoid") {
    a.kind = ActKind::kHardSigmoid;
    a.alpha = ctx.attr_float("alpha", 0.2f);
    a.beta = ctx.attr_float("beta", 0.5f);
  } else if (op == "HardSwish") {
    a.kind = ActKind::kHardSwish;
  } else if (op == "Gelu") {
    const std::string approx = ctx.attr_string("approximate", "none");
    if (approx == "none") a.kind = ActKind::kGelu;
    else if (approx == "tanh") a.kind = ActKind::kGeluTanh;
    else return none;
  } else if (op == "Clip") {
    s->fn = UnaryState::Fn::kClip;
  } else if (op == "Erf") {
    s->fn = UnaryState::Fn::kErf;
  } else if (op == "Exp") {
    s->fn = UnaryState::Fn::kExp;
  } else {
    return none;
  }
  if (!std::isfinite(a.alpha) || !std::isfinite(a.beta)) return none;
  return std::unique_ptr<KernelState>(std::move(s));
}

}  // namespace

PrepareResult prepare_unary(PrepareContext& ctx) { return prepare_unary_in(ctx, ""); }
PrepareResult prepare_edgeai_unary(PrepareContext& ctx) { return prepare_unary_in(ctx, "com.edgeai"); }

Status run_unary(KernelContext& ctx) {
  const UnaryState* s = state_of<UnaryState>(ctx);
  if (!is_f32_tensor(ctx, 0)) return s->fall_back(ctx);
  Activation act = s->act;
  if (s->fn == UnaryState::Fn::kClip && !clip_bounds(ctx, &act)) return s->fall_back(ctx);
  const Tensor& x = ctx.input(0);
  if (!ctx.is_output_used(0)) return ok_status();
  // Over the input where it dies here (each element is read before it is written).
  ASSIGN_OR_RETURN(Tensor * y, ctx.allocate_output_over_input(0, 0, DType::kF32, x.shape()));
  const float* xd = x.data<float>();
  float* yd = y->data<float>();
  const UKernels& uk = *s->uk;
  run_parallel(ctx, x.numel(), [&](int64_t b, int64_t e) {
    switch (s->fn) {
      case UnaryState::Fn::kErf: uk.erf(xd + b, yd + b, e - b); break;
      case UnaryState::Fn::kExp: uk.exp(xd + b, yd + b, e - b); break;
      default: uk.activation(xd + b, yd + b, e - b, act); break;
    }
  });
  return ok_status();
}

// ---- Binary ----

namespace {

struct BinaryState final : FastState {
  int op = kBinAdd;
};

// A run of output dims over which both operands broadcast alike: element strides of a and b
// over the run (0 where that operand is broadcast) and its size.
struct Run {
  int64_t size, sa, sb;
};

}  // namespace

PrepareResult prepare_binary(PrepareContext& ctx) {
  std::unique_ptr<KernelState> none;
  if (ctx.num_inputs() != 2 || !ctx.has_input(0) || !ctx.has_input(1)) return none;
  if (declared_not_f32(ctx, 0) || declared_not_f32(ctx, 1)) return none;
  if (ctx.opset() < 7) return none;  // the old `broadcast` / `axis` attributes
  auto s = std::make_unique<BinaryState>();
  init_fast_state(ctx, "", s.get());
  const std::string_view op = ctx.op_type();
  if (op == "Add") s->op = kBinAdd;
  else if (op == "Sub") s->op = kBinSub;
  else if (op == "Mul") s->op = kBinMul;
  else if (op == "Div") s->op = kBinDiv;
  else return none;
  return std::unique_ptr<KernelState>(std::move(s));
}

Status run_binary(KernelContext& ctx) {
  const BinaryState* s = state_of<BinaryState>(ctx);
  if (!is_f32_tensor(ctx, 0) || !is_f32_tensor(ctx, 1)) return s->fall_back(ctx);
  const Tensor& a = ctx.input(0);
  const Tensor& b = ctx.input(1);
  const int r = std::max(a.rank(), b.rank());
  Shape out(r);
  std::vector<Run> runs;  // outermost first
  for (int d = 0; d < r; ++d) {
    const int da = d - (r - a.rank()), db = d - (r - b.rank());
    const int64_t ea = da >= 0 ? a.dim(da) : 1, eb = db >= 0 ? b.dim(db) : 1;
    if (ea != eb && ea != 1 && eb != 1) return s->fall_back(ctx);  // the reference names the error
    out[d] = ea == 1 ? eb : ea;
  }
  if (!ctx.is_output_used(0)) return ok_status();
  // Over an operand of the output's shape where it dies here: each output element reads that
  // operand at its own position only, before writing it (squeeze-excitation's gate Mul writes
  // over the depthwise output instead of into a buffer the other core last read).
  const int over = a.shape() == out ? 0 : (b.shape() == out ? 1 : -1);
  ASSIGN_OR_RETURN(Tensor * y, over >= 0 ? ctx.allocate_output_over_input(0, over, DType::kF32, out)
                                         : ctx.allocate_output_uninitialized(0, DType::kF32, out));
  const int64_t total = y->numel();
  if (total == 0) return ok_status();
  // Group dims (innermost first) into runs with the same (a full, b full) pattern.
  {
    int64_t stride_a = 1, stride_b = 1;
    int last_pat = -1;
    for (int d = r - 1; d >= 0; --d) {
      if (out[d] == 1) continue;
      const int da = d - (r - a.rank()), db = d - (r - b.rank());
      const bool fa = da >= 0 && a.dim(da) == out[d], fb = db >= 0 && b.dim(db) == out[d];
      const int pat = (fa ? 1 : 0) | (fb ? 2 : 0);
      if (pat == last_pat) {
        runs.back().size *= out[d];
      } else {
        runs.push_back({out[d], fa ? stride_a : 0, fb ? stride_b : 0});
        last_pat = pat;
      }
      if (fa) stride_a *= out[d];
      if (fb) stride_b *= out[d];
    }
    if (runs.empty()) runs.push_back({1, 1, 1});
    std::reverse(runs.begin(), runs.end());
  }
  const Run inner = runs.back();
  runs.pop_back();
  const int64_t rows = total / inner.size;
  const float* ad = a.data<float>();
  const float* bd = b.data<float>();
  float* yd = y->data<float>();
  const UKernels& uk = *s->uk;
  const int op = s->op;
  auto body = [&](int64_t r0, int64_t r1) {
    for (int64_t row = r0; row < r1; ++row) {
      int64_t rem = row, oa = 0, ob = 0;
      for (int i = static_cast<int>(runs.size()) - 1; i >= 0; --i) {
        const int64_t idx = rem % runs[i].size;
        rem /= runs[i].size;
        oa += idx * runs[i].sa;
        ob += idx * runs[i].sb;
      }
      uk.binary(op, ad + oa, inner.sa ? 1 : 0, bd + ob, inner.sb ? 1 : 0, yd + row * inner.size, inner.size);
    }
  };
  if (total >= kParallelElems && ctx.pool().num_threads() > 1 && rows > 1) {
    ctx.pool().parallel_for(rows, std::max<int64_t>(1, kParallelElems / inner.size), body);
  } else if (rows == 1 && total >= kParallelElems && ctx.pool().num_threads() > 1) {
    run_parallel(ctx, total, [&](int64_t e0, int64_t e1) {
      uk.binary(op, ad + (inner.sa ? e0 : 0), inner.sa ? 1 : 0, bd + (inner.sb ? e0 : 0), inner.sb ? 1 : 0, yd + e0,
                e1 - e0);
    });
  } else {
    body(0, rows);
  }
  return ok_status();
}

}  // namespace edgeai::kernels::cpu
