// Rows that belong to different sequences through the transformer (llm/forward.h has the
// layers): the projections and the FFN run once over all rows (kernels::ggml_matmul), RoPE uses
// each row's own position, K/V go to the row's slot, and attention runs per run of consecutive
// rows of one slot over that slot's cache only.
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

constexpr int64_t kScoreFloats = int64_t{1} << 20;

// Scores sc[lo..p] (q.k) to softmax weights in place (attention_softmax, as Context's).
void soften(const kernels::cpu::UKernels& uk, float* sc, int64_t lo, int64_t p, float scale, float cap) {
  attention_softmax(uk, sc + lo, p - lo + 1, scale, cap);
}

// One query row's attention from its raw scores sc[lo..p]: softmax, then o = the weighted sum
// of the value rows.
void attend(const kernels::cpu::UKernels& uk, float* sc, int64_t lo, int64_t p, float scale, float cap,
            const float* vals, int64_t hdv, float* o) {
  soften(uk, sc, lo, p, scale, cap);
  std::fill(o, o + hdv, 0.0f);
  for (int64_t j = lo; j <= p; ++j) {
    const float w = sc[j];
    const float* vr = vals + j * hdv;
    for (int64_t d = 0; d < hdv; ++d) o[d] += w * vr[d];
  }
}

// Decode attention of one query row over positions [lo, p] when the head size is the
// compile-time HD for keys and values: the dot products and the weighted sum are fixed-length
// loops the compiler vectorizes (the llm code is built for baseline x86-64, so SSE2), with the
// dot product summed pairwise (the order differs from the scalar loop in rounding only).
template <int HD>
void attend_fixed(const kernels::cpu::UKernels& uk, const float* q, const float* kmat, float* sc, int64_t lo,
                  int64_t p, float scale, float cap, const float* vals, float* o) {
  for (int64_t j = lo; j <= p; ++j) {
    const float* kr = kmat + j * HD;
    float t[HD];
    for (int d = 0; d < HD; ++d) t[d] = q[d] * kr[d];
    for (int w = HD / 2; w >= 1; w /= 2)
      for (int d = 0; d < w; ++d) t[d] += t[d + w];
    sc[j] = t[0];
  }
  soften(uk, sc, lo, p, scale, cap);
  float acc[HD] = {};
  for (int64_t j = lo; j <= p; ++j) {
    const float w = sc[j];
    const float* vr = vals + j * HD;
    for (int d = 0; d < HD; ++d) acc[d] += w * vr[d];
  }
  for (int d = 0; d < HD; ++d) o[d] = acc[d];
}

using AttendFixed = void (*)(const kernels::cpu::UKernels&, const float*, const float*, float*, int64_t, int64_t,
                             float, float, const float*, float*);

AttendFixed attend_fixed_for(int64_t hdk, int64_t hdv) {
  if (hdk != hdv) return nullptr;
  switch (hdk) {
    case 8: return attend_fixed<8>;
    case 16: return attend_fixed<16>;
    case 32: return attend_fixed<32>;
    case 64: return attend_fixed<64>;
    case 128: return attend_fixed<128>;
    default: return nullptr;
  }
}

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
    c->scores_.resize((size_t)std::max<int64_t>(h.n_head / h.n_head_kv * n_ctx, kScoreFloats));
    c->qrows_.resize((size_t)(nb * h.n_embd_q()));
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

// Per run of consecutive rows of one slot (positions p0 .. p0 + n - 1), per KV head g: the scores
// of the run's query rows against the slot's positions [0, p0 + n) from one ggml_matmul over the
// cached keys (as Context::attention does), then per query row: scale, soft-cap, causal /
// sliding-window mask, softmax in f32 and the weighted sum of the cached values.
Status BatchContext::attention(int64_t il, std::span<const BatchRow> rows) {
  const Hparams& h = model_.hparams();
  const int64_t hdk = h.head_dim_k, hdv = h.head_dim_v, nkv = h.n_head_kv;
  const int64_t group = h.n_head / nkv;
  const int64_t window = h.layer_uses_window(il) ? h.sliding_window : 0;
  const float scale = h.attn_scale;
  const float cap = h.attn_softcap;
  const int64_t n = (int64_t)rows.size();
  const size_t slot_k = (size_t)(h.n_layer * nkv * n_ctx_ * hdk);
  const size_t slot_v = (size_t)(h.n_layer * nkv * n_ctx_ * hdv);
  // Decode rows (a run of one row of its slot) over a short cache: plain dot products (a kernel
  // call per layer and KV head would cost more than the arithmetic), all rows and KV heads of the
  // batch threaded together, so N sequences keep the threads busy where one sequence cannot.
  std::vector<int64_t>& singles = singles_;
  singles.clear();
  for (int64_t r = 0; r < n; ++r) {
    const bool joined_prev = r > 0 && rows[r - 1].slot == rows[r].slot && rows[r].pos == rows[r - 1].pos + 1;
    const bool joined_next = r + 1 < n && rows[r + 1].slot == rows[r].slot && rows[r + 1].pos == rows[r].pos + 1;
    if (!joined_prev && !joined_next && (rows[r].pos + 1) * group * hdk < (int64_t{1} << 15)) singles.push_back(r);
  }
  const int64_t per_item = group * n_ctx_;
  const AttendFixed fixed = attend_fixed_for(hdk, hdv);
  const kernels::cpu::UKernels& uk = kernels::cpu::ukernels_for(env_.cpu);
  auto decode_item = [&](int64_t item, float* sc_base) {
    const int64_t r = singles[(size_t)(item / nkv)], g = item % nkv;
    const int64_t p = rows[r].pos, n_kv = p + 1, slot = rows[r].slot;
    const float* kmat = k_.data() + slot * slot_k + (size_t)(il * nkv + g) * n_ctx_ * hdk;
    const float* vals = v_.data() + slot * slot_v + (size_t)(il * nkv + g) * n_ctx_ * hdv;
    const int64_t lo = window > 0 ? std::max<int64_t>(0, p - window + 1) : 0;
    for (int64_t hl = 0; hl < group; ++hl) {
      const float* q = fwd_.q.data() + r * h.n_embd_q() + (g * group + hl) * hdk;
      float* sc = sc_base + hl * n_kv;
      float* o = fwd_.att.data() + r * h.n_head * hdv + (g * group + hl) * hdv;
      if (fixed) {
        fixed(uk, q, kmat, sc, lo, p, scale, cap, vals, o);
        continue;
      }
      for (int64_t j = lo; j <= p; ++j) {
        const float* kr = kmat + j * hdk;
        float acc = 0.0f;
        for (int64_t d = 0; d < hdk; ++d) acc += q[d] * kr[d];
        sc[j] = acc;
      }
      attend(uk, sc, lo, p, scale, cap, vals, hdv, o);
    }
  };
  const int64_t n_items = (int64_t)singles.size() * nkv;
  const int64_t wave = std::max<int64_t>(1, (int64_t)scores_.size() / per_item);
  for (int64_t w0 = 0; w0 < n_items; w0 += wave) {
    const int64_t w1 = std::min(n_items, w0 + wave);
    if (n_threads_ > 1 && w1 - w0 > 1) {
      env_.pool->parallel_for(w1 - w0, 1, [&](int64_t b, int64_t e) {
        for (int64_t it = b; it < e; ++it) decode_item(w0 + it, scores_.data() + it * per_item);
      });
    } else {
      for (int64_t it = w0; it < w1; ++it) decode_item(it, scores_.data() + (it - w0) * per_item);
    }
  }
  size_t next_single = 0;
  int64_t a = 0;
  while (a < n) {
    if (next_single < singles.size() && singles[next_single] == a) {
      ++next_single;
      ++a;
      continue;
    }
    int64_t b = a + 1;
    while (b < n && rows[b].slot == rows[a].slot && rows[b].pos == rows[b - 1].pos + 1) ++b;
    const int32_t slot = rows[a].slot;
    const int64_t pos = rows[a].pos;
    const int64_t nrun = b - a;
    const int64_t n_kv = pos + nrun;
    const int64_t tokens_per_chunk =
        std::max<int64_t>(1, std::min<int64_t>(nrun, (int64_t)scores_.size() / (n_kv * group)));
    for (int64_t g = 0; g < nkv; ++g) {
      const float* kmat = k_.data() + slot * slot_k + (size_t)(il * nkv + g) * n_ctx_ * hdk;
      const float* vals = v_.data() + slot * slot_v + (size_t)(il * nkv + g) * n_ctx_ * hdv;
      for (int64_t t0 = 0; t0 < nrun; t0 += tokens_per_chunk) {
        const int64_t nt = std::min(tokens_per_chunk, nrun - t0);
        const int64_t qn = nt * group;
        for (int64_t r = 0; r < qn; ++r) {
          const int64_t t = a + t0 + r / group, hh = g * group + r % group;
          const float* q = fwd_.q.data() + t * h.n_embd_q() + hh * hdk;
          std::copy(q, q + hdk, qrows_.data() + r * hdk);
        }
        RETURN_IF_ERROR(kernels::ggml_matmul(env_.cpu, *env_.pool, (uint32_t)GgmlType::kF32, kmat, n_kv, hdk,
                                             qrows_.data(), qn, scores_.data()));

        auto run_item = [&](int64_t item) {
          const int64_t tl = item / group, hl = item % group;
          const int64_t t = a + t0 + tl, p = pos + t0 + tl;
          const int64_t lo = window > 0 ? std::max<int64_t>(0, p - window + 1) : 0;
          attend(uk, scores_.data() + (tl * group + hl) * n_kv, lo, p, scale, cap, vals, hdv,
                 fwd_.att.data() + t * h.n_head * hdv + (g * group + hl) * hdv);
        };
        const int64_t items = qn;
        const bool small = qn * n_kv * (hdk + hdv) < (int64_t{1} << 16);
        const int64_t slots = small ? 1 : std::min<int64_t>(n_threads_, items);
        if (slots <= 1) {
          for (int64_t it = 0; it < items; ++it) run_item(it);
        } else {
          env_.pool->parallel_for(slots, 1, [&](int64_t s0, int64_t s1) {
            for (int64_t sl = s0; sl < s1; ++sl)
              for (int64_t it = sl; it < items; it += slots) run_item(it);
          });
        }
      }
    }
    a = b;
  }
  return ok_status();
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
    for (int64_t t = 0; t < n; ++t) {  // K/V to each row's slot, [layer][kv head][position][dim]
      const int64_t s = rows[t].slot, p = rows[t].pos;
      for (int64_t g = 0; g < nkv; ++g) {
        const float* ks = fwd_.k.data() + t * nk + g * hdk;
        const float* vs = fwd_.v.data() + t * nv + g * hdv;
        std::copy(ks, ks + hdk, k_.begin() + s * slot_k + ((size_t)(il * nkv + g) * n_ctx_ + p) * hdk);
        std::copy(vs, vs + hdv, v_.begin() + s * slot_v + ((size_t)(il * nkv + g) * n_ctx_ + p) * hdv);
      }
    }
    return attention(il, rows);
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
