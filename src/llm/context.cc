// One sequence through the transformer (llm/forward.h has the layers): the KV cache of the
// sequence and causal grouped-query attention over it (softmax in f32). The attention scores go
// through kernels::ggml_matmul, which threads over rows; softmax and the weighted sum of values
// are threaded over query rows, with the CPU's vector kernels (softmax; the weighted sum as a
// GEMM of the probabilities by the value rows).
#include "llm/context.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <new>
#include <string>

#include "core/dtype.h"
#include "kernels/cpu/gemm.h"
#include "kernels/cpu/ukernels.h"
#include "kernels/ggml_quants.h"

namespace edgeai::llm {

constexpr int64_t kScoreBudget = int64_t{1} << 20;  // floats

Result<std::unique_ptr<Context>> Context::create(const Model& model, Env& env, const ContextOptions& opts) {
  const Hparams& h = model.hparams();
  if (opts.n_ctx < 0) return invalid_argument("context size must be positive, got " + std::to_string(opts.n_ctx));
  if (opts.n_batch < 1) return invalid_argument("batch size must be positive, got " + std::to_string(opts.n_batch));
  if (!env.pool) return invalid_argument("Context::create: the environment has no thread pool");
  int64_t n_ctx = model.resolve_n_ctx(opts);
  if (n_ctx > (int64_t{1} << 24)) return invalid_argument("context size " + std::to_string(n_ctx) + " is too large");
  std::unique_ptr<Context> c(new Context(model, env));
  c->n_ctx_ = n_ctx;
  c->n_batch_ = std::min(opts.n_batch, n_ctx);
  c->kv_type_ = opts.kv_type;
  c->n_slots_ = std::max(1, env.pool->num_threads());
  const int64_t nb = c->n_batch_;
  try {
    size_t kn = (size_t)(h.n_layer * n_ctx * h.n_embd_k());
    size_t vn = (size_t)(h.n_layer * n_ctx * h.n_embd_v());
    if (opts.kv_type == KvType::kF16) {
      c->k_f16_.assign(kn, 0);
      c->v_f16_.assign(vn, 0);
    } else {
      c->k_f32_.assign(kn, 0.0f);
      c->v_f32_.assign(vn, 0.0f);
    }
    c->fwd_.allocate(n_ctx, nb);
    // Attention scores: whole rows of the context for as many tokens' query rows as fit 4 MiB
    // (at least one token's: the heads of a KV group).
    c->scores_.resize((size_t)std::max<int64_t>(h.n_head / h.n_head_kv * n_ctx, kScoreBudget));
    c->qrows_.resize((size_t)(nb * h.n_embd_q()));
    if (opts.kv_type == KvType::kF16) c->vconv_.resize((size_t)(n_ctx * h.head_dim_v));
    c->logits_.resize((opts.logits_all ? n_ctx : 1) * h.n_vocab);
  } catch (const std::bad_alloc&) {
    MemoryEstimate e = model.estimate_memory(opts);
    return out_of_range("not enough memory for a context of " + std::to_string(n_ctx) + " tokens (KV cache " +
                        std::to_string(e.kv_cache) + " bytes, scratch " + std::to_string(e.scratch) + " bytes)");
  }
  return c;
}

std::span<const float> Context::logits() const {
  const int64_t nv = model_.hparams().n_vocab;
  if (n_logit_rows_ == 0) return {};
  return {logits_.data() + (n_logit_rows_ - 1) * nv, (size_t)nv};
}

std::span<const float> Context::logits_at(int64_t i) const {
  const int64_t nv = model_.hparams().n_vocab;
  if (i < 0 || i >= n_logit_rows_) return {};
  return {logits_.data() + i * nv, (size_t)nv};
}

Status Context::eval(std::span<const int32_t> tokens, int64_t pos, bool all_logits) {
  const Hparams& h = model_.hparams();
  const int64_t n = (int64_t)tokens.size();
  if (n == 0) return invalid_argument("eval: no tokens");
  if (pos < 0 || pos > n_past_) {
    return invalid_argument("eval: position " + std::to_string(pos) + " is past the " + std::to_string(n_past_) +
                            " tokens in the cache");
  }
  if (pos + n > n_ctx_) {
    return out_of_range("context full: " + std::to_string(n) + " tokens at position " + std::to_string(pos) +
                        " exceed the context of " + std::to_string(n_ctx_) + " tokens");
  }
  for (int64_t i = 0; i < n; ++i) {
    if (tokens[i] < 0 || tokens[i] >= h.n_vocab) {
      return invalid_argument("token id " + std::to_string(tokens[i]) + " at index " + std::to_string(i) +
                              " is outside the vocabulary of " + std::to_string(h.n_vocab));
    }
  }
  if (all_logits) {
    try {
      if ((int64_t)logits_.size() < n * h.n_vocab) logits_.resize(n * h.n_vocab);
    } catch (const std::bad_alloc&) {
      return out_of_range("not enough memory for the logits of " + std::to_string(n) + " tokens");
    }
  }
  n_past_ = pos;  // drop whatever followed pos (rewind)
  n_logit_rows_ = 0;
  for (int64_t b0 = 0; b0 < n; b0 += n_batch_) {
    const int64_t nb = std::min(n_batch_, n - b0);
    const bool last = b0 + nb == n;
    float* out = nullptr;
    if (all_logits) {
      out = logits_.data() + b0 * h.n_vocab;
    } else if (last) {
      out = logits_.data();
    }
    Status st = forward(tokens.data() + b0, nb, pos + b0, all_logits, out);
    if (!st.ok()) {
      n_past_ = pos;
      return st;
    }
    n_past_ = pos + b0 + nb;
  }
  n_logit_rows_ = all_logits ? n : 1;
  return ok_status();
}

// Cache layout, per layer: [kv head][position][head size], so one head's keys (and values) are
// contiguous over positions.
void Context::store_kv(int64_t il, int64_t n, int64_t pos) {
  const Hparams& h = model_.hparams();
  const int64_t hdk = h.head_dim_k, hdv = h.head_dim_v, nkv = h.n_head_kv;
  for (int64_t g = 0; g < nkv; ++g) {
    const size_t kbase = ((size_t)(il * nkv + g) * n_ctx_ + pos) * hdk;
    const size_t vbase = ((size_t)(il * nkv + g) * n_ctx_ + pos) * hdv;
    for (int64_t t = 0; t < n; ++t) {
      const float* ks = fwd_.k.data() + t * nkv * hdk + g * hdk;
      const float* vs = fwd_.v.data() + t * nkv * hdv + g * hdv;
      if (kv_type_ == KvType::kF16) {
        for (int64_t d = 0; d < hdk; ++d) k_f16_[kbase + t * hdk + d] = float_to_half(ks[d]);
        for (int64_t d = 0; d < hdv; ++d) v_f16_[vbase + t * hdv + d] = float_to_half(vs[d]);
      } else {
        std::copy(ks, ks + hdk, k_f32_.begin() + kbase + t * hdk);
        std::copy(vs, vs + hdv, v_f32_.begin() + vbase + t * hdv);
      }
    }
  }
}

// Per KV head g: the scores of all its queries (the batch's tokens x the heads of the group)
// against positions [0, p] of its chunk's last token p come from one product over the cached keys
// (f32 cache: a GEMM of the query rows by the keys transposed; f16: kernels::ggml_matmul with
// the keys as weight rows; both threaded inside), in chunks of query rows that fit the score
// buffer; then, threaded over query rows: scale, soft-cap, causal / sliding-window mask, softmax
// in f32 (vectorized exp, ~2e-7 relative) and the weighted sum of the cached values (a GEMM of the
// group's probability rows by the value rows; f32 rounding in another order than a plain sum).
Status Context::attention(int64_t il, int64_t n, int64_t pos) {
  const Hparams& h = model_.hparams();
  const int64_t hdk = h.head_dim_k, hdv = h.head_dim_v, nkv = h.n_head_kv;
  const int64_t group = h.n_head / nkv;
  const int64_t window = h.layer_uses_window(il) ? h.sliding_window : 0;
  const float scale = h.attn_scale;
  const float cap = h.attn_softcap;
  const bool f16 = kv_type_ == KvType::kF16;
  const uint32_t kv_ggml = f16 ? (uint32_t)GgmlType::kF16 : (uint32_t)GgmlType::kF32;
  const int64_t n_kv = pos + n;
  // Query rows come per token in groups (the heads sharing KV head g); chunks of whole tokens, at
  // most kChunkTokens so that a chunk's scores stop at its last token's position (causal: the keys
  // after it are never computed).
  constexpr int64_t kChunkTokens = 64;
  const int64_t tokens_per_chunk =
      std::max<int64_t>(1, std::min({n, kChunkTokens, (int64_t)scores_.size() / (n_kv * group)}));

  const kernels::cpu::UKernels& uk = kernels::cpu::ukernels_for(env_.cpu);
  std::atomic<bool> failed{false};  // a GEMM packing buffer could not be allocated
  for (int64_t g = 0; g < nkv; ++g) {
    const size_t kbase = (size_t)(il * nkv + g) * n_ctx_ * hdk;
    const size_t vbase = (size_t)(il * nkv + g) * n_ctx_ * hdv;
    const void* kmat = f16 ? (const void*)(k_f16_.data() + kbase) : (const void*)(k_f32_.data() + kbase);
    // Values as f32 rows: the cache itself, or (f16 cache) converted once for all query rows.
    const float* vals = f16 ? vconv_.data() : v_f32_.data() + vbase;
    if (f16) kernels::ggml_dequantize_row((uint32_t)GgmlType::kF16, v_f16_.data() + vbase, vconv_.data(), n_kv * hdv);
    for (int64_t t0 = 0; t0 < n; t0 += tokens_per_chunk) {
      const int64_t nt = std::min(tokens_per_chunk, n - t0);
      const int64_t rows = nt * group;
      // Query row r is token t0 + r / group, head g * group + r % group.
      for (int64_t r = 0; r < rows; ++r) {
        const int64_t t = t0 + r / group, hh = g * group + r % group;
        const float* q = fwd_.q.data() + t * h.n_embd_q() + hh * hdk;
        std::copy(q, q + hdk, qrows_.data() + r * hdk);
      }
      const int64_t kv_len = pos + t0 + nt;  // keys the chunk's last token sees; score rows this long
      if (f16) {
        RETURN_IF_ERROR(kernels::ggml_matmul(env_.cpu, *env_.pool, kv_ggml, kmat, kv_len, hdk, qrows_.data(), rows,
                                             scores_.data()));
      } else {  // f32 keys: the query rows x the keys transposed, as one GEMM read in place
        kernels::cpu::GemmArgs qk;
        qk.m = rows;
        qk.n = kv_len;
        qk.k = hdk;
        qk.a = qrows_.data();
        qk.a_rs = hdk;
        qk.a_cs = 1;
        qk.b_kind = kernels::cpu::GemmArgs::BKind::kStrided;
        qk.b = k_f32_.data() + kbase;
        qk.b_rs = 1;
        qk.b_cs = hdk;
        qk.c = scores_.data();
        qk.ldc = kv_len;
        RETURN_IF_ERROR(kernels::cpu::gemm(uk, env_.pool.get(), qk));
      }
      // A work item is one token's heads hl0 .. hl0 + hpi - 1 of the group: whole groups when
      // there are enough tokens to go round the threads (each value row then serves every head
      // of the group while it is in cache), single heads otherwise (generation).
      const int64_t hpi = nt >= n_slots_ ? group : 1;
      const int64_t per_token = group / hpi;
      auto run_item = [&](int64_t item) {
        const int64_t tl = item / per_token, hl0 = (item % per_token) * hpi;
        const int64_t t = t0 + tl, p = pos + t;
        const int64_t lo = window > 0 ? std::max<int64_t>(0, p - window + 1) : 0;
        const int64_t len = p - lo + 1;
        for (int64_t hl = hl0; hl < hl0 + hpi; ++hl) {
          float* sc = scores_.data() + (tl * group + hl) * kv_len + lo;
          attention_softmax(uk, sc, len, scale, cap);
        }
        // The heads' outputs (hpi rows of hdv, contiguous) = probabilities (hpi x len, rows kv_len
        // apart) x value rows lo .. p, as one small GEMM on this thread (values read in place).
        kernels::cpu::GemmArgs ga;
        ga.m = hpi;
        ga.n = hdv;
        ga.k = len;
        ga.a = scores_.data() + (tl * group + hl0) * kv_len + lo;
        ga.a_rs = kv_len;
        ga.a_cs = 1;
        ga.b_kind = kernels::cpu::GemmArgs::BKind::kRowMajor;
        ga.b = vals + lo * hdv;
        ga.b_rs = hdv;
        ga.b_cs = 1;
        ga.c = fwd_.att.data() + t * h.n_head * hdv + (g * group + hl0) * hdv;
        ga.ldc = hdv;
        if (!kernels::cpu::gemm(uk, nullptr, ga).ok()) failed = true;
      };
      const int64_t items = nt * per_token;
      // Waking the pool costs microseconds: small work (tiny models, short contexts) runs here.
      const bool small = rows * kv_len * (hdk + hdv) < (int64_t{1} << 16);
      const int64_t slots = small ? 1 : std::min<int64_t>(n_slots_, items);
      if (slots <= 1) {
        for (int64_t it = 0; it < items; ++it) run_item(it);
      } else {
        // Strided items per slot: causal rows differ in length, so neighbours share the work.
        env_.pool->parallel_for(slots, 1, [&](int64_t b, int64_t e) {
          for (int64_t sl = b; sl < e; ++sl)
            for (int64_t it = sl; it < items; it += slots) run_item(it);
        });
      }
    }
  }
  if (failed) return out_of_range("attention: out of memory for the weighted sum of values");
  return ok_status();
}

Status Context::forward(const int32_t* tokens, int64_t n, int64_t pos, bool all_logits, float* logits_out) {
  std::vector<int64_t> positions((size_t)n);
  for (int64_t t = 0; t < n; ++t) positions[(size_t)t] = pos + t;
  RETURN_IF_ERROR(fwd_.layers({tokens, (size_t)n}, positions, [&](int64_t il) {
    store_kv(il, n, pos);
    return attention(il, n, pos);
  }));
  if (!logits_out) return ok_status();
  std::vector<int64_t> rows;  // all rows' logits, or the last one's
  for (int64_t t = all_logits ? 0 : n - 1; t < n; ++t) rows.push_back(t);
  fwd_.final_norm(rows);
  return fwd_.logits((int64_t)rows.size(), logits_out);
}

}  // namespace edgeai::llm
