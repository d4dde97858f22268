// Rows that belong to different sequences through the transformer (llm/forward.h has the
// layers): the projections and the FFN run once over all rows (kernels::ggml_matmul), RoPE uses
// each row's own position, K/V go to the row's slot, and each row attends over its own slot's
// cache only (the CPU's attention kernel, per row and KV head).
#include "llm/batch.h"

#include <algorithm>
#include <cmath>
#include <new>
#include <string>

#include "core/ggml_type.h"
#include "kernels/cpu/ukernels.h"
#include "kernels/ggml_quants.h"

namespace edgeai::llm {

namespace {

// Multiply-adds of one layer's attention below which the rows' items stay on the calling thread
// (a hand-off to the pool costs about as much as this much work).
constexpr int64_t kMinThreadedAttention = int64_t{1} << 16;

}  // namespace

Result<std::unique_ptr<BatchContext>> BatchContext::create(const Model& model, Env& env, const BatchOptions& opts) {
  const Hparams& h = model.hparams();
  if (opts.n_ctx < 0) return invalid_argument("context size must be positive, got " + std::to_string(opts.n_ctx));
  if (opts.n_slots < 1 || opts.n_slots > 256) {
    return invalid_argument("the number of slots must be in [1, 256], got " + std::to_string(opts.n_slots));
  }
  if (opts.n_batch < 1) return invalid_argument("batch size must be positive, got " + std::to_string(opts.n_batch));
  if (!env.pool) return invalid_argument("BatchContext::create: the environment has no thread pool");
  ContextOptions co;
  co.n_ctx = opts.n_ctx;
  const int64_t n_ctx = model.resolve_n_ctx(co);
  if (n_ctx > (int64_t{1} << 24)) return invalid_argument("context size " + std::to_string(n_ctx) + " is too large");
  std::unique_ptr<BatchContext> c(new BatchContext(model, env));
  c->n_ctx_ = n_ctx;
  c->n_batch_ = std::max<int64_t>(opts.n_batch, opts.n_slots);
  c->n_threads_ = std::max(1, env.pool->num_threads());
  const int64_t nb = c->n_batch_;
  try {
    c->n_past_.assign((size_t)opts.n_slots, 0);
    c->k_.assign((size_t)(opts.n_slots * h.n_layer * n_ctx * h.n_embd_k()), 0.0f);
    c->v_.assign((size_t)(opts.n_slots * h.n_layer * n_ctx * h.n_embd_v()), 0.0f);
    c->fwd_.allocate(n_ctx, nb);
    c->scores_.resize((size_t)(c->n_threads_ * (h.n_head / h.n_head_kv) * n_ctx));
    c->logits_.resize((size_t)(nb * h.n_vocab));
  } catch (const std::bad_alloc&) {
    return out_of_range("not enough memory for " + std::to_string(opts.n_slots) + " sequences of " +
                        std::to_string(n_ctx) + " tokens");
  }
  return c;
}

std::span<const float> BatchContext::logits(int64_t i) const {
  const int64_t nv = model_.hparams().n_vocab;
  if (i < 0 || i >= n_logit_rows_) return {};
  return {logits_.data() + i * nv, (size_t)nv};
}

Status BatchContext::eval(std::span<const BatchRow> rows) {
  const Hparams& h = model_.hparams();
  if (rows.empty()) return invalid_argument("batch eval: no rows");
  const int64_t slot_count = n_slots();
  std::vector<int64_t> next(n_past_.size(), -1);  // expected next position per slot in this batch
  for (size_t i = 0; i < rows.size(); ++i) {
    const BatchRow& r = rows[i];
    if (r.slot < 0 || r.slot >= slot_count) return invalid_argument("batch eval: slot " + std::to_string(r.slot) + " out of range");
    if (r.token < 0 || r.token >= h.n_vocab) {
      return invalid_argument("token id " + std::to_string(r.token) + " is outside the vocabulary of " +
                              std::to_string(h.n_vocab));
    }
    int64_t& nx = next[r.slot];
    if (nx < 0 ? (r.pos < 0 || r.pos > n_past_[r.slot]) : r.pos != nx) {
      return invalid_argument("batch eval: row " + std::to_string(i) + " of slot " + std::to_string(r.slot) +
                              " is at position " + std::to_string(r.pos) + ", expected " +
                              (nx < 0 ? "at most " + std::to_string(n_past_[r.slot]) : std::to_string(nx)));
    }
    if (r.pos >= n_ctx_) {
      return out_of_range("context full: position " + std::to_string(r.pos) + " is past the context of " +
                          std::to_string(n_ctx_) + " tokens");
    }
    nx = r.pos + 1;
  }
  int64_t want = 0;
  for (const BatchRow& r : rows) want += r.logits ? 1 : 0;
  try {
    if ((int64_t)logits_.size() < want * h.n_vocab) logits_.resize((size_t)(want * h.n_vocab));
  } catch (const std::bad_alloc&) {
    return out_of_range("not enough memory for the logits of " + std::to_string(want) + " rows");
  }
  n_logit_rows_ = 0;
  for (size_t b0 = 0; b0 < rows.size(); b0 += (size_t)n_batch_) {
    const size_t nb = std::min<size_t>((size_t)n_batch_, rows.size() - b0);
    std::span<const BatchRow> part = rows.subspan(b0, nb);
    Status st = forward(part, false);
    if (!st.ok()) {
      for (size_t i = 0; i < rows.size(); ++i) {  // the cache after each slot's first row is void
        if (i == 0 || rows[i].slot != rows[i - 1].slot) n_past_[rows[i].slot] = std::min(n_past_[rows[i].slot], rows[i].pos);
      }
      return st;
    }
    for (const BatchRow& r : part) n_past_[r.slot] = r.pos + 1;
  }
  return ok_status();
}

Status BatchContext::embed(int32_t slot, std::span<const int32_t> tokens, std::vector<float>* out) {
  const Hparams& h = model_.hparams();
  if (slot < 0 || slot >= n_slots()) return invalid_argument("embed: slot out of range");
  if (tokens.empty()) return invalid_argument("embed: no tokens");
  if ((int64_t)tokens.size() > n_ctx_) {
    return out_of_range("the input is " + std::to_string(tokens.size()) + " tokens, more than the context of " +
                        std::to_string(n_ctx_));
  }
  for (int32_t t : tokens)
    if (t < 0 || t >= h.n_vocab) return invalid_argument("token id " + std::to_string(t) + " is outside the vocabulary");
  const int64_t E = h.n_embd;
  out->assign((size_t)E, 0.0f);
  std::vector<double> sum((size_t)E, 0.0);
  std::vector<BatchRow> rows;
  n_past_[slot] = 0;
  for (size_t b0 = 0; b0 < tokens.size(); b0 += (size_t)n_batch_) {
    const size_t nb = std::min<size_t>((size_t)n_batch_, tokens.size() - b0);
    rows.clear();
    for (size_t i = 0; i < nb; ++i) rows.push_back({slot, tokens[b0 + i], (int64_t)(b0 + i), false});
    Status st = forward(rows, true);
    if (!st.ok()) {
      n_past_[slot] = 0;
      return st;
    }
    n_past_[slot] = (int64_t)(b0 + nb);
    for (size_t i = 0; i < nb; ++i)
      for (int64_t d = 0; d < E; ++d) sum[d] += fwd_.xn[i * E + d];
  }
  n_past_[slot] = 0;
  for (int64_t d = 0; d < E; ++d) (*out)[d] = (float)(sum[d] / (double)tokens.size());
  return ok_status();
}

// Per row and KV head (an item): the row's query heads of that KV head against its slot's cached
// positions [lo, pos] (causal; a sliding window raises lo) in one call of the CPU's attention
// kernel, which reads the keys transposed ([dim][position] per KV head, as forward() stores
// them). Decode rows and prompt rows alike; the items go over the pool only when there is
// enough work to pay for the hand-off, each pool slot with its own scores scratch.
void BatchContext::attention(int64_t il, std::span<const BatchRow> rows) {
  const Hparams& h = model_.hparams();
  const int64_t hdk = h.head_dim_k, hdv = h.head_dim_v, nkv = h.n_head_kv;
  const int64_t group = h.n_head / nkv;
  const int64_t window = h.layer_uses_window(il) ? h.sliding_window : 0;
  const int64_t n = (int64_t)rows.size();
  const size_t slot_k = (size_t)(h.n_layer * nkv * hdk * n_ctx_);
  const size_t slot_v = (size_t)(h.n_layer * nkv * n_ctx_ * hdv);
  const kernels::cpu::UKernels& uk = kernels::cpu::ukernels_for(env_.cpu);
  auto lo_of = [&](int64_t p) { return window > 0 ? std::max<int64_t>(0, p - window + 1) : 0; };
  auto run_item = [&](int64_t item, float* sc) {
    const int64_t r = item / nkv, g = item % nkv;
    const int64_t p = rows[r].pos, slot = rows[r].slot;
    kernels::cpu::AttentionArgs a;
    a.q = fwd_.q.data() + r * h.n_embd_q() + g * group * hdk;
    a.n_q = group;
    a.hd_k = hdk;
    a.hd_v = hdv;
    a.kt = k_.data() + slot * slot_k + (size_t)(il * nkv + g) * hdk * n_ctx_;
    a.ld_kt = n_ctx_;
    a.v = v_.data() + slot * slot_v + (size_t)(il * nkv + g) * n_ctx_ * hdv;
    a.lo = lo_of(p);
    a.hi = p + 1;
    a.scale = h.attn_scale;
    a.cap = h.attn_softcap;
    a.scores = sc;
    a.out = fwd_.att.data() + r * h.n_head * hdv + g * group * hdv;
    uk.attention(a);
  };
  const int64_t items = n * nkv;
  int64_t work = 0;
  for (const BatchRow& r : rows) work += (r.pos + 1 - lo_of(r.pos)) * nkv * group * (hdk + hdv);
  const int64_t slots = work < kMinThreadedAttention ? 1 : std::min<int64_t>(n_threads_, items);
  if (slots <= 1) {
    for (int64_t it = 0; it < items; ++it) run_item(it, scores_.data());
    return;
  }
  const size_t per_slot = scores_.size() / (size_t)n_threads_;
  env_.pool->parallel_for(slots, 1, [&](int64_t s0, int64_t s1) {
    for (int64_t sl = s0; sl < s1; ++sl)
      for (int64_t it = sl; it < items; it += slots) run_item(it, scores_.data() + sl * per_slot);
  });
}

Status BatchContext::forward(std::span<const BatchRow> rows, bool hidden_only) {
  const Hparams& h = model_.hparams();
  const int64_t n = (int64_t)rows.size();
  std::vector<int32_t>& tokens = tokens_;
  std::vector<int64_t>& positions = positions_;
  tokens.resize((size_t)n);
  positions.resize((size_t)n);
  for (int64_t t = 0; t < n; ++t) {
    tokens[(size_t)t] = rows[t].token;
    positions[(size_t)t] = rows[t].pos;
  }
  const int64_t nk = h.n_embd_k(), nv = h.n_embd_v();
  const int64_t hdk = h.head_dim_k, hdv = h.head_dim_v, nkv = h.n_head_kv;
  const size_t slot_k = (size_t)(h.n_layer * nkv * n_ctx_ * hdk);
  const size_t slot_v = (size_t)(h.n_layer * nkv * n_ctx_ * hdv);
  RETURN_IF_ERROR(fwd_.layers(tokens, positions, [&](int64_t il) {
    // K/V to each row's slot: K [layer][kv head][dim][position], V [layer][kv head][position][dim].
    for (int64_t t = 0; t < n; ++t) {
      const int64_t s = rows[t].slot, p = rows[t].pos;
      for (int64_t g = 0; g < nkv; ++g) {
        const float* ks = fwd_.k.data() + t * nk + g * hdk;
        const float* vs = fwd_.v.data() + t * nv + g * hdv;
        float* kt = k_.data() + s * slot_k + (size_t)(il * nkv + g) * hdk * n_ctx_ + p;
        for (int64_t d = 0; d < hdk; ++d) kt[d * n_ctx_] = ks[d];
        std::copy(vs, vs + hdv, v_.begin() + s * slot_v + ((size_t)(il * nkv + g) * n_ctx_ + p) * hdv);
      }
    }
    attention(il, rows);
    return ok_status();
  }));
  std::vector<int64_t>& keep = keep_;  // rows whose final hidden state is needed
  keep.clear();
  for (int64_t t = 0; t < n; ++t)
    if (hidden_only || rows[t].logits) keep.push_back(t);
  fwd_.final_norm(keep);
  if (hidden_only || keep.empty()) return ok_status();
  RETURN_IF_ERROR(fwd_.logits((int64_t)keep.size(), logits_.data() + n_logit_rows_ * h.n_vocab));
  n_logit_rows_ += (int64_t)keep.size();
  return ok_status();
}

}  // namespace edgeai::llm
