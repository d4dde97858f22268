// Gemm, com.edgeai FusedGemm (Gemm + activation) and MatMul on f32 through the packed GEMM
// (gemm.h). A constant B (the weights) is packed once at preparation, with Gemm's alpha folded
// in; Gemm's C is the epilogue's bias (times beta, folded). MatMul of two activations (attention)
// runs one GEMM per batch item with numpy batch broadcasting, B read in place.
#include <algorithm>

#include "kernels/cpu/gemm.h"
#include "kernels/cpu/op_common.h"
#include "kernels/cpu/ops.h"
#include "kernels/cpu/sparse_gemm.h"

namespace edgeai::kernels::cpu {
namespace {

struct GemmState final : FastState {
  int64_t k = 0, n = 0;
  bool trans_a = false;
  AlignedFloats b;
  std::vector<float> bias;  // beta * C; empty when none
  int64_t bias_m = 1, bias_n = 1;
  Activation act;
  SparseChoice sparse;  // mostly-zero B (pruned) with a bias per column or none: sparse_gemm.h
};

struct MatMulState final : FastState {
  bool b_const = false;
  int64_t k = 0, n = 0;
  AlignedFloats b;
  SparseChoice sparse;
};

}  // namespace

PrepareResult prepare_gemm(PrepareContext& ctx) {
  std::unique_ptr<KernelState> none;
  const bool fused = ctx.op_type() == "FusedGemm";
  const int opset = ctx.opset();
  if (!fused && opset < 7) return none;  // the old `broadcast` attribute
  if (ctx.num_inputs() < 2 || ctx.num_inputs() > 3 || !ctx.has_input(0) || declared_not_f32(ctx, 0)) return none;
  if (!fused && opset < 11 && !ctx.has_input(2)) return none;
  const Tensor* b = ctx.constant_input(1);
  if (!b || b->dtype() != DType::kF32 || b->rank() != 2) return none;
  const int64_t ta = ctx.attr_int("transA", 0), tb = ctx.attr_int("transB", 0);
  if ((ta != 0 && ta != 1) || (tb != 0 && tb != 1)) return none;
  auto s = std::make_unique<GemmState>();
  init_fast_state(ctx, fused ? "com.edgeai" : "", s.get());
  s->trans_a = ta == 1;
  s->k = tb ? b->dim(1) : b->dim(0);
  s->n = tb ? b->dim(0) : b->dim(1);
  const float alpha = ctx.attr_float("alpha", 1.0f), beta = ctx.attr_float("beta", 1.0f);
  if (ctx.has_input(2) && beta != 0.0f) {
    const Tensor* c = ctx.constant_input(2);
    if (!c || c->dtype() != DType::kF32 || c->rank() > 2) return none;
    s->bias_n = c->rank() >= 1 ? c->shape().back() : 1;
    s->bias_m = c->rank() == 2 ? c->dim(0) : 1;
    if (s->bias_n != 1 && s->bias_n != s->n) return none;
    s->bias.resize(static_cast<size_t>(c->numel()));
    for (int64_t i = 0; i < c->numel(); ++i) s->bias[i] = beta * c->data<float>()[i];
  }
  if (fused && !parse_activation(ctx.attr_string("activation", ""), ctx.attr_floats("activation_params"), &s->act)) {
    return none;
  }
  const float* bd = b->data<float>();
  if (s->bias.empty() || (s->bias_m == 1 && s->bias_n == s->n)) {
    s->sparse = prepare_sparse(*s->uk, bd, tb ? s->k : 1, tb ? 1 : s->n, s->n, s->k, alpha);
  }
  if (s->sparse.ready()) return std::unique_ptr<KernelState>(std::move(s));  // no dense copy
  s->b = tb ? pack_b_once(*s->uk, bd, 1, s->k, s->k, s->n, alpha) : pack_b_once(*s->uk, bd, s->n, 1, s->k, s->n, alpha);
  if (!s->b.ok()) return none;
  return std::unique_ptr<KernelState>(std::move(s));
}

Status run_gemm(KernelContext& ctx) {
  const GemmState* s = state_of<GemmState>(ctx);
  if (!is_f32_tensor(ctx, 0) || ctx.input(0).rank() != 2) return s->fall_back(ctx);
  const Tensor& a = ctx.input(0);
  const int64_t m = s->trans_a ? a.dim(1) : a.dim(0), k = s->trans_a ? a.dim(0) : a.dim(1);
  if (k != s->k || (s->bias_m != 1 && s->bias_m != m)) return s->fall_back(ctx);
  if (!ctx.is_output_used(0)) return ok_status();
  ASSIGN_OR_RETURN(Tensor * y, ctx.allocate_output_uninitialized(0, DType::kF32, Shape{m, s->n}));
  if (s->sparse.ready()) {
    return sparse_matmul(*s->uk, s->sparse, &ctx.pool(),
                         {a.data<float>(), s->trans_a, m, s->bias.empty() ? nullptr : s->bias.data(), s->act,
                          y->data<float>()});
  }
  GemmArgs g;
  g.m = m;
  g.n = s->n;
  g.k = k;
  g.a = a.data<float>();
  g.a_rs = s->trans_a ? 1 : k;
  g.a_cs = s->trans_a ? m : 1;
  g.b_kind = GemmArgs::BKind::kPacked;
  g.b_packed = s->b.data();
  g.c = y->data<float>();
  g.ldc = s->n;
  if (!s->bias.empty()) {
    g.bias = s->bias.data();
    g.bias_rs = s->bias_m == 1 ? 0 : s->bias_n;
    g.bias_cs = s->bias_n == 1 ? 0 : 1;
  }
  g.act = s->act;
  return gemm(*s->uk, &ctx.pool(), g);
}

PrepareResult prepare_matmul(PrepareContext& ctx) {
  std::unique_ptr<KernelState> none;
  if (ctx.num_inputs() != 2 || !ctx.has_input(0) || !ctx.has_input(1)) return none;
  if (declared_not_f32(ctx, 0) || declared_not_f32(ctx, 1)) return none;
  auto s = std::make_unique<MatMulState>();
  init_fast_state(ctx, "", s.get());
  if (const Tensor* b = ctx.constant_input(1)) {
    if (b->dtype() != DType::kF32 || b->rank() != 2) return none;
    s->b_const = true;
    s->k = b->dim(0);
    s->n = b->dim(1);
    s->sparse = prepare_sparse(*s->uk, b->data<float>(), 1, s->n, s->n, s->k);
    if (!s->sparse.ready()) s->b = pack_b_once(*s->uk, b->data<float>(), s->n, 1, s->k, s->n);
    if (!s->sparse.ready() && !s->b.ok()) return none;
  }
  return std::unique_ptr<KernelState>(std::move(s));
}

namespace {

// A (..., M, K) times the prepacked B (K, N): the leading dims fold into M.
Status matmul_const_b(KernelContext& ctx, const MatMulState& s) {
  const Tensor& a = ctx.input(0);
  if (a.rank() < 1 || a.shape().back() != s.k) return s.fall_back(ctx);
  Shape out(a.shape().begin(), a.shape().end() - 1);
  if (a.rank() >= 2) out.push_back(s.n);
  else out = Shape{s.n};
  if (!ctx.is_output_used(0)) return ok_status();
  ASSIGN_OR_RETURN(Tensor * y, ctx.allocate_output_uninitialized(0, DType::kF32, out));
  if (s.sparse.ready()) {
    return sparse_matmul(*s.uk, s.sparse, &ctx.pool(), {a.data<float>(), false, a.numel() / s.k, nullptr, {}, y->data<float>()});
  }
  GemmArgs g;
  g.m = s.k == 0 ? (a.rank() >= 2 ? shape_numel(Shape(a.shape().begin(), a.shape().end() - 1)) : 1)
                 : a.numel() / s.k;
  g.n = s.n;
  g.k = s.k;
  g.a = a.data<float>();
  g.a_rs = s.k;
  g.a_cs = 1;
  g.b_kind = GemmArgs::BKind::kPacked;
  g.b_packed = s.b.data();
  g.c = y->data<float>();
  g.ldc = s.n;
  return gemm(*s.uk, &ctx.pool(), g);
}

}  // namespace

Status run_matmul(KernelContext& ctx) {
  const MatMulState* s = state_of<MatMulState>(ctx);
  if (!is_f32_tensor(ctx, 0) || !is_f32_tensor(ctx, 1)) return s->fall_back(ctx);
  if (s->b_const) return matmul_const_b(ctx, *s);
  const Tensor& a = ctx.input(0);
  const Tensor& b = ctx.input(1);
  if (a.rank() < 2 || b.rank() < 2) return s->fall_back(ctx);
  const int64_t m = a.dim(a.rank() - 2), k = a.dim(a.rank() - 1);
  const int64_t n = b.dim(b.rank() - 1);
  if (b.dim(b.rank() - 2) != k) return s->fall_back(ctx);
  // Batch dims, broadcast numpy-style (right-aligned).
  const int ra = a.rank() - 2, rb = b.rank() - 2, r = std::max(ra, rb);
  Shape batch(r);
  std::vector<int64_t> sa(r, 0), sb(r, 0);  // element strides of each batch dim (0: broadcast)
  int64_t stride_a = m * k, stride_b = k * n;
  for (int d = r - 1; d >= 0; --d) {
    const int da = d - (r - ra), db = d - (r - rb);
    const int64_t ea = da >= 0 ? a.dim(da) : 1, eb = db >= 0 ? b.dim(db) : 1;
    if (ea != eb && ea != 1 && eb != 1) return s->fall_back(ctx);
    batch[d] = std::max(ea, eb);
    if (ea == 0 || eb == 0) batch[d] = 0;
    sa[d] = ea == 1 ? 0 : stride_a;
    sb[d] = eb == 1 ? 0 : stride_b;
    stride_a *= ea;
    stride_b *= eb;
  }
  Shape out = batch;
  out.push_back(m);
  out.push_back(n);
  if (!ctx.is_output_used(0)) return ok_status();
  ASSIGN_OR_RETURN(Tensor * y, ctx.allocate_output_uninitialized(0, DType::kF32, out));
  const int64_t count = shape_numel(batch);
  if (count == 0 || m == 0 || n == 0) return ok_status();
  std::vector<int64_t> off_a(count), off_b(count);
  for (int64_t i = 0; i < count; ++i) {
    int64_t rem = i, oa = 0, ob = 0;
    for (int d = r - 1; d >= 0; --d) {
      const int64_t idx = rem % batch[d];
      rem /= batch[d];
      oa += idx * sa[d];
      ob += idx * sb[d];
    }
    off_a[i] = oa;
    off_b[i] = ob;
  }
  const float* ad = a.data<float>();
  const float* bd = b.data<float>();
  float* yd = y->data<float>();
  return gemm_batch(*s->uk, &ctx.pool(), count, [&](int64_t i) {
    GemmArgs g;
    g.m = m;
    g.n = n;
    g.k = k;
    g.a = ad + off_a[i];
    g.a_rs = k;
    g.a_cs = 1;
    g.b_kind = GemmArgs::BKind::kRowMajor;
    g.b = bd + off_b[i];
    g.b_rs = n;
    g.c = yd + i * m * n;
    g.ldc = n;
    return g;
  });
}

}  // namespace edgeai::kernels::cpu
