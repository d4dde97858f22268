#include "llm/forward.h"

#include <algorithm>
#include <cmath>

#include "kernels/cpu/ukernels.h"
#include "kernels/ggml_quants.h"

namespace edgeai::llm {

void attention_softmax(const kernels::cpu::UKernels& uk, float* sc, int64_t len, float scale, float cap) {
  if (cap > 0) {
    for (int64_t j = 0; j < len; ++j) sc[j] = cap * std::tanh(sc[j] * scale / cap);
  } else {
    for (int64_t j = 0; j < len; ++j) sc[j] *= scale;
  }
  uk.softmax(sc, sc, 1, len, false);
}

namespace {

// out = x / rms(x) * w over one row of n values (the sum of squares in double, as llama.cpp's
// reference does).
void rms_norm(const float* x, const float* w, float* out, int64_t n, float eps) {
  double sum = 0.0;
  for (int64_t i = 0; i < n; ++i) sum += (double)x[i] * x[i];
  const float scale = 1.0f / std::sqrt((float)(sum / (double)n) + eps);
  for (int64_t i = 0; i < n; ++i) out[i] = x[i] * scale * w[i];
}

inline float silu(float x) { return x / (1.0f + std::exp(-x)); }

}  // namespace

void ForwardPass::allocate(int64_t n_ctx, int64_t n_batch) {
  const Hparams& h = model_.hparams();
  const int64_t nb = n_batch;
  n_ctx_ = n_ctx;
  x.resize(nb * h.n_embd);
  xn.resize(nb * h.n_embd);
  q.resize(nb * h.n_embd_q());
  k.resize(nb * h.n_embd_k());
  v.resize(nb * h.n_embd_v());
  att.resize(nb * h.n_head * h.head_dim_v);
  if (!model_.layers().empty() && model_.layers()[0].wqkv.present())
    qkv_.resize(nb * (h.n_embd_q() + h.n_embd_k() + h.n_embd_v()));
  proj_.resize(nb * h.n_embd);
  gate_.resize(nb * h.n_ff * 2);
  up_.resize(nb * h.n_ff);
  rope_cos_.resize(nb * std::max<int64_t>(1, h.n_rot / 2));
  rope_sin_.resize(nb * std::max<int64_t>(1, h.n_rot / 2));
  const int64_t half = h.n_rot / 2;
  const std::vector<float>& factors = model_.rope_factors(n_ctx_);
  rope_inv_freq_.resize(half);
  for (int64_t i = 0; i < half; ++i) {
    rope_inv_freq_[i] = std::pow((double)h.rope_freq_base, -2.0 * (double)i / (double)h.n_rot);
    if (!factors.empty()) rope_inv_freq_[i] /= factors[i];
  }
  rope_pos_cos_.clear();
  rope_pos_sin_.clear();
  rope_pos_ready_ = 0;
}

void ForwardPass::rope_tables(std::span<const int64_t> positions) {
  const Hparams& h = model_.hparams();
  const int64_t half = h.n_rot / 2;
  if (half == 0) return;
  auto fill = [&](int64_t pos, float* cs, float* sn) {
    for (int64_t i = 0; i < half; ++i) {
      const double theta = (double)pos * h.rope_freq_scale * rope_inv_freq_[i];
      cs[i] = (float)std::cos(theta) * h.rope_attn_factor;
      sn[i] = (float)std::sin(theta) * h.rope_attn_factor;
    }
  };
  int64_t top = 0;
  for (int64_t p : positions) top = std::max(top, p + 1);
  top = std::min(top, n_ctx_);
  if (top > rope_pos_ready_) {  // grow to cover them (at least doubling: few refills per context)
    const int64_t ready = std::min(n_ctx_, std::max({top, 2 * rope_pos_ready_, int64_t{64}}));
    rope_pos_cos_.resize((size_t)(ready * half));
    rope_pos_sin_.resize((size_t)(ready * half));
    for (int64_t p = rope_pos_ready_; p < ready; ++p)
      fill(p, rope_pos_cos_.data() + p * half, rope_pos_sin_.data() + p * half);
    rope_pos_ready_ = ready;
  }
  for (size_t t = 0; t < positions.size(); ++t) {
    const int64_t p = positions[t];
    float* cs = rope_cos_.data() + t * half;
    float* sn = rope_sin_.data() + t * half;
    if (p >= 0 && p < rope_pos_ready_) {
      std::copy_n(rope_pos_cos_.data() + p * half, half, cs);
      std::copy_n(rope_pos_sin_.data() + p * half, half, sn);
    } else {
      fill(p, cs, sn);
    }
  }
}

Status ForwardPass::matmul(const WeightView& w, const float* in, int64_t rows, float* out) {
  return kernels::ggml_matmul(env_.cpu, *env_.pool, w.type, w.data, w.rows, w.cols, in, rows, out);
}

Status ForwardPass::matmul_many(std::initializer_list<std::pair<const WeightView&, float*>> ws, const float* in,
                                int64_t rows) {
  kernels::MatmulOperand ops[3];  // Q/K/V or gate/up: no heap per call
  size_t n = 0;
  int64_t cols = -1;
  for (const auto& [w, out] : ws) {
    if ((cols >= 0 && w.cols != cols) || n == std::size(ops)) {  // different row lengths cannot share activations
      for (const auto& [w2, out2] : ws) RETURN_IF_ERROR(matmul(w2, in, rows, out2));
      return ok_status();
    }
    cols = w.cols;
    ops[n++] = {w.type, w.data, w.rows, out};
  }
  return kernels::ggml_matmul_many(env_.cpu, *env_.pool, {ops, n}, cols, in, rows);
}

void ForwardPass::rope(float* vals, int64_t n_heads, int64_t n) const {
  const Hparams& h = model_.hparams();
  const int64_t half = h.n_rot / 2;
  if (half == 0) return;
  const int64_t hd = h.head_dim_k;
  const bool neox = h.rope_style == RopeStyle::kNeox;
  for (int64_t t = 0; t < n; ++t) {
    const float* cs = rope_cos_.data() + t * half;
    const float* sn = rope_sin_.data() + t * half;
    for (int64_t hh = 0; hh < n_heads; ++hh) {
      float* r = vals + (t * n_heads + hh) * hd;
      for (int64_t i = 0; i < half; ++i) {
        const int64_t a = neox ? i : 2 * i;
        const int64_t b = neox ? i + half : 2 * i + 1;
        const float x0 = r[a], x1 = r[b];
        r[a] = x0 * cs[i] - x1 * sn[i];
        r[b] = x0 * sn[i] + x1 * cs[i];
      }
    }
  }
}

Status ForwardPass::layers(std::span<const int32_t> tokens, std::span<const int64_t> positions,
                           const Attention& attend) {
  const Hparams& h = model_.hparams();
  const int64_t n = (int64_t)tokens.size();
  const int64_t E = h.n_embd;

  // Embeddings.
  const WeightView& emb = model_.token_embd();
  const int64_t emb_row = ggml_row_bytes(emb.type, E);
  for (int64_t t = 0; t < n; ++t) {
    const uint8_t* row = static_cast<const uint8_t*>(emb.data) + (size_t)tokens[t] * emb_row;
    float* xr = x.data() + t * E;
    kernels::ggml_dequantize_row(emb.type, row, xr, E);
    if (h.embd_scale != 1.0f)
      for (int64_t i = 0; i < E; ++i) xr[i] *= h.embd_scale;
  }

  // RoPE tables, one row per batch row; every layer shares them.
  rope_tables(positions.first((size_t)n));

  const int64_t nq = h.n_embd_q(), nk = h.n_embd_k(), nv = h.n_embd_v();
  auto add_bias = [n](float* y, const std::vector<float>& b) {
    const int64_t m = (int64_t)b.size();
    for (int64_t t = 0; t < n; ++t)
      for (int64_t i = 0; i < m; ++i) y[t * m + i] += b[i];
  };
  // The row-wise and elementwise steps are threaded too: over a 512-token prompt they are a few
  // percent of the work, which one thread alone would make twice that at 2 threads. Small work
  // (a decode step) stays on the calling thread.
  ThreadPool& pool = *env_.pool;
  auto norm_rows = [&](const float* in, const std::vector<float>& w, float* out) {
    pool.parallel_for(n, std::max<int64_t>(1, 8192 / E), [&](int64_t b, int64_t e) {
      for (int64_t t = b; t < e; ++t) rms_norm(in + t * E, w.data(), out + t * E, E, h.norm_eps);
    });
  };
  constexpr int64_t kGrain = 16384;  // elements
  auto add_residual = [&]() {
    pool.parallel_for(n * E, kGrain, [&](int64_t b, int64_t e) {
      for (int64_t i = b; i < e; ++i) x[i] += proj_[i];
    });
  };
  for (int64_t il = 0; il < h.n_layer; ++il) {
    const LayerWeights& L = model_.layers()[il];
    norm_rows(x.data(), L.attn_norm, xn.data());
    if (L.wqkv.present()) {
      RETURN_IF_ERROR(matmul(L.wqkv, xn.data(), n, qkv_.data()));
      const int64_t stride = nq + nk + nv;
      for (int64_t t = 0; t < n; ++t) {
        const float* r = qkv_.data() + t * stride;
        std::copy(r, r + nq, q.data() + t * nq);
        std::copy(r + nq, r + nq + nk, k.data() + t * nk);
        std::copy(r + nq + nk, r + stride, v.data() + t * nv);
      }
    } else {
      RETURN_IF_ERROR(matmul_many({{L.wq, q.data()}, {L.wk, k.data()}, {L.wv, v.data()}}, xn.data(), n));
    }
    add_bias(q.data(), L.bq);
    add_bias(k.data(), L.bk);
    add_bias(v.data(), L.bv);
    rope(q.data(), h.n_head, n);
    rope(k.data(), h.n_head_kv, n);
    RETURN_IF_ERROR(attend(il));
    RETURN_IF_ERROR(matmul(L.wo, att.data(), n, proj_.data()));
    if (!L.attn_post_norm.empty()) norm_rows(proj_.data(), L.attn_post_norm, proj_.data());
    add_residual();

    // Feed-forward.
    norm_rows(x.data(), L.ffn_norm, xn.data());
    const int64_t F = h.n_ff;
    if (!L.ffn_gate.present()) {
      // phi3: one matrix gives gate rows then up rows.
      RETURN_IF_ERROR(matmul(L.ffn_up, xn.data(), n, gate_.data()));
      pool.parallel_for(n, std::max<int64_t>(1, kGrain / F), [&](int64_t b, int64_t e) {
        for (int64_t t = b; t < e; ++t) {
          const float* g = gate_.data() + t * 2 * F;
          float* u = up_.data() + t * F;
          for (int64_t i = 0; i < F; ++i) u[i] = silu(g[i]) * g[F + i];
        }
      });
    } else {
      RETURN_IF_ERROR(matmul_many({{L.ffn_gate, gate_.data()}, {L.ffn_up, up_.data()}}, xn.data(), n));
      // gate = act(gate) in place, then up *= gate, with the CPU's vector kernels (exp and tanh
      // vectorized, a few ulp from libm's).
      const kernels::cpu::UKernels& uk = kernels::cpu::ukernels_for(env_.cpu);
      const kernels::cpu::Activation act{h.ffn_gelu ? kernels::cpu::ActKind::kGeluTanh : kernels::cpu::ActKind::kSiLU};
      pool.parallel_for(n * F, kGrain, [&](int64_t b, int64_t e) {
        uk.activation(gate_.data() + b, gate_.data() + b, e - b, act);
        uk.binary(kernels::cpu::kBinMul, up_.data() + b, 1, gate_.data() + b, 1, up_.data() + b, e - b);
      });
    }
    RETURN_IF_ERROR(matmul(L.ffn_down, up_.data(), n, proj_.data()));
    if (!L.ffn_post_norm.empty()) norm_rows(proj_.data(), L.ffn_post_norm, proj_.data());
    add_residual();
  }
  return ok_status();
}

void ForwardPass::final_norm(std::span<const int64_t> rows) {
  const Hparams& h = model_.hparams();
  const int64_t E = h.n_embd;
  for (size_t i = 0; i < rows.size(); ++i) {
    rms_norm(x.data() + rows[i] * E, model_.output_norm().data(), xn.data() + (int64_t)i * E, E, h.norm_eps);
  }
}

Status ForwardPass::logits(int64_t m, float* out) {
  const Hparams& h = model_.hparams();
  RETURN_IF_ERROR(matmul(model_.output(), xn.data(), m, out));
  if (h.final_softcap > 0) {
    const float c = h.final_softcap;
    for (int64_t i = 0; i < m * h.n_vocab; ++i) out[i] = c * std::tanh(out[i] / c);
  }
  return ok_status();
}

}  // namespace edgeai::llm
