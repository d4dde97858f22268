// Rows that belong to different sequences through the transformer (llm/forward.h has the
// layers): the projections and the FFN run once over all rows (kernels::ggml_matmul), RoPE uses
// each row's own position, K/V go to the row's slot, and each row attends over its own slot's
// cache only (the CPU's attention kernel, per row and KV head).
#include "llm/batch.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <functional>
#include <new>
#include <string>
#include <thread>

#include "core/ggml_type.h"
#include "kernels/cpu/ukernels.h"
#include "kernels/ggml_quants.h"

namespace edgeai::llm {

namespace {

// Multiply-adds of one layer's attention below which the rows' items stay on the calling thread
// (a hand-off to the pool costs about as much as this much work).
constexpr int64_t kMinThreadedAttention = int64_t{1} << 18;
// Multiply-adds of a projection over a step's rows below which ggml_matmul keeps it on one
// thread (twice its smallest chunk): a step whose every projection is that small gives each
// thread whole slots' rows instead (one hand-off per step, not several per layer).
constexpr int64_t kSplitRowsWork = int64_t{1} << 19;
// Steps run whole on the calling thread after a split step whose helpers took no piece (the OS
// held them back: more runnable threads than cores), before splitting is tried again.
constexpr int kUnsplitSteps = 64;

// The largest projection's multiply-adds per row.
int64_t largest_projection(const Model& model) {
  int64_t m = model.output().rows * model.output().cols;
  for (const LayerWeights& L : model.layers()) {
    for (const WeightView* w : {&L.wq, &L.wk, &L.wv, &L.wqkv, &L.wo, &L.ffn_gate, &L.ffn_up, &L.ffn_down})
      m = std::max(m, w->rows * w->cols);
  }
  return m;
}

}  // namespace

// The helper threads of split steps. The caller and the helpers claim pieces from one counter,
// and the caller then waits only for the pieces a helper has claimed: a helper that the OS holds
// back (a busy machine) leaves its pieces to the caller instead of stalling the step, where a
// pool's barrier waits for every worker to check in. Idle helpers poll for a while after each
// step (steps follow each other within microseconds while requests run), then sleep.
class PieceRunner {
 public:
  explicit PieceRunner(int helpers) {
    for (int i = 0; i < helpers; ++i) threads_.emplace_back([this] { loop(); });
  }
  ~PieceRunner() {
    stop_.store(true);
    gen_.fetch_add(1);
    gen_.notify_all();
    for (std::thread& t : threads_) t.join();
  }
  PieceRunner(const PieceRunner&) = delete;
  PieceRunner& operator=(const PieceRunner&) = delete;

  // fn(i) for every i in [0, pieces) (pieces < 2^16), on this thread and the helpers. Returns
  // how many pieces this thread ran.
  int run(int pieces, const std::function<void(int)>& fn) {
    fn_ = &fn;
    done_.store(0, std::memory_order_relaxed);
    const uint32_t g = gen_.load(std::memory_order_relaxed) + 1;
    state_.store(pack(g, pieces, 0), std::memory_order_release);
    gen_.store(g);  // seq_cst, before sleepers_ is read (a helper raises it before its last look)
    if (sleepers_.load() > 0) gen_.notify_all();
    int mine = 0;
    for (int i = claim(g); i >= 0; i = claim(g), ++mine) fn(i);
    const int theirs = pieces - mine;
    for (int spin = 0; done_.load(std::memory_order_acquire) != theirs; ++spin) {
      if (spin < 4096) {
        relax();
      } else {
        const int d = done_.load(std::memory_order_acquire);
        if (d != theirs) done_.wait(d);
      }
    }
    fn_ = nullptr;
    return mine;
  }

 private:
  static uint64_t pack(uint32_t g, int pieces, int next) {
    return (uint64_t)g << 32 | (uint64_t)pieces << 16 | (uint64_t)next;
  }
  static void relax() {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    asm volatile("yield" ::: "memory");
#endif
  }
  // The next unclaimed piece of step g, or -1.
  int claim(uint32_t g) {
    uint64_t s = state_.load(std::memory_order_acquire);
    for (;;) {
      const int pieces = (int)((s >> 16) & 0xffff), next = (int)(s & 0xffff);
      if ((uint32_t)(s >> 32) != g || next >= pieces) return -1;
      if (state_.compare_exchange_weak(s, s + 1, std::memory_order_acq_rel, std::memory_order_acquire)) return next;
    }
  }
  void loop() {
    uint32_t seen = 0;
    for (;;) {
      const auto start = std::chrono::steady_clock::now();
      for (int i = 0; gen_.load(std::memory_order_acquire) == seen; ++i) {
        relax();
        if ((i & 255) != 255) continue;
        if (std::chrono::steady_clock::now() - start > std::chrono::microseconds(300)) {
          sleepers_.fetch_add(1);
          while (gen_.load() == seen) gen_.wait(seen);
          sleepers_.fetch_sub(1);
        } else {
          std::this_thread::yield();  // more runnable threads than cores: let them run
        }
      }
      seen = gen_.load(std::memory_order_acquire);
      if (stop_.load()) return;
      for (int i = claim(seen); i >= 0; i = claim(seen)) {
        (*fn_)(i);
        done_.fetch_add(1, std::memory_order_release);
        done_.notify_one();
      }
    }
  }

  std::vector<std::thread> threads_;
  const std::function<void(int)>* fn_ = nullptr;  // the step's, published by state_
  std::atomic<uint64_t> state_{0};                // step << 32 | pieces << 16 | next piece
  std::atomic<uint32_t> gen_{0};                  // the step; helpers wait on it
  std::atomic<int> done_{0};                      // pieces the helpers finished this step
  std::atomic<int> sleepers_{0};
  std::atomic<bool> stop_{false};
};

BatchContext::BatchContext(const Model& model, Env& env) : model_(model), env_(env) {}

bool BatchContext::too_small_to_thread(const Model& model, int64_t rows) {
  return rows * largest_projection(model) < kSplitRowsWork;
}
BatchContext::~BatchContext() = default;

Result<std::unique_ptr<BatchContext>> BatchContext::create(const Model& model, Env& env, const BatchOptions& opts) {
  const Hparams& h = model.hparams();
  if (opts.n_ctx < 0) return invalid_argument("context size must be positive, got " + std::to_string(opts.n_ctx));
  if (opts.n_slots < 1 || opts.n_slots > 256) {
    return invalid_argument("the number of slots must be in [1, 256], got " + std::to_string(opts.n_slots));
  }
  if (opts.n_batch < 1) return invalid_argument("batch size must be positive, got " + std::to_string(opts.n_batch));
  if (opts.n_lanes < 0 || opts.n_lanes > 256) {
    return invalid_argument("the number of lanes must be in [0, 256], got " + std::to_string(opts.n_lanes));
  }
  if (!env.pool) return invalid_argument("BatchContext::create: the environment has no thread pool");
  ContextOptions co;
  co.n_ctx = opts.n_ctx;
  const int64_t n_ctx = model.resolve_n_ctx(co);
  if (n_ctx > (int64_t{1} << 24)) return invalid_argument("context size " + std::to_string(n_ctx) + " is too large");
  std::unique_ptr<BatchContext> c(new BatchContext(model, env));
  c->n_ctx_ = n_ctx;
  c->n_batch_ = std::max<int64_t>(opts.n_batch, opts.n_slots);
  c->largest_ = largest_projection(model);
  const int threads = std::max(1, env.pool->num_threads());
  const int64_t nb = c->n_batch_;
  const int64_t group = h.n_head / h.n_head_kv;
  try {
    c->n_past_.assign((size_t)opts.n_slots, 0);
    c->k_.assign((size_t)(opts.n_slots * h.n_layer * n_ctx * h.n_embd_k()), 0.0f);
    c->v_.assign((size_t)(opts.n_slots * h.n_layer * n_ctx * h.n_embd_v()), 0.0f);
    c->main_.env = &env;
    if (opts.n_lanes == 0) c->allocate_main();  // callers with lanes: at the first eval() (if any)
    auto one_thread = [&](Lane& lane) {  // split steps' and callers' lanes
      lane.own_env = Env::create(1);
      lane.own_env->cpu = env.cpu;
      lane.env = lane.own_env.get();
      lane.fwd = std::make_unique<ForwardPass>(model, *lane.env);
      lane.fwd->allocate(n_ctx, nb);
      lane.scores.resize((size_t)(group * n_ctx));
    };
    // Split steps need two rows at least, each projection small enough for one thread (callers
    // with lanes of their own do not split their steps).
    if (threads > 1 && opts.n_slots > 1 && opts.n_lanes == 0 && 2 * c->largest_ < kSplitRowsWork) {
      c->lanes_.resize((size_t)std::min<int64_t>(threads, opts.n_slots));
      for (Lane& lane : c->lanes_) one_thread(lane);
      c->runner_ = std::make_unique<PieceRunner>((int)c->lanes_.size() - 1);
    }
    c->callers_.resize((size_t)opts.n_lanes);
    for (Lane& lane : c->callers_) one_thread(lane);
  } catch (const std::bad_alloc&) {
    return out_of_range("not enough memory for " + std::to_string(opts.n_slots) + " sequences of " +
                        std::to_string(n_ctx) + " tokens");
  }
  return c;
}

void BatchContext::allocate_main() {
  const Hparams& h = model_.hparams();
  const int threads = std::max(1, env_.pool->num_threads());
  main_.fwd = std::make_unique<ForwardPass>(model_, env_);
  main_.fwd->allocate(n_ctx_, n_batch_);
  main_.scores.resize((size_t)(threads * (h.n_head / h.n_head_kv) * n_ctx_));
  logits_.resize((size_t)(n_batch_ * h.n_vocab));
}

Status BatchContext::main_lane() {
  if (main_.fwd) return ok_status();
  try {
    allocate_main();
  } catch (const std::bad_alloc&) {
    main_.fwd.reset();
    return out_of_range("not enough memory for a forward pass of " + std::to_string(n_batch_) + " rows");
  }
  return ok_status();
}

std::span<const float> BatchContext::logits(int64_t i) const {
  const int64_t nv = model_.hparams().n_vocab;
  if (i < 0 || i >= n_logit_rows_) return {};
  return {logits_.data() + i * nv, (size_t)nv};
}

Status BatchContext::check(std::span<const BatchRow> rows) const {
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
  return ok_status();
}

void BatchContext::rewind(std::span<const BatchRow> rows) {
  for (size_t i = 0; i < rows.size(); ++i) {
    if (i == 0 || rows[i].slot != rows[i - 1].slot) n_past_[rows[i].slot] = std::min(n_past_[rows[i].slot], rows[i].pos);
  }
}

Status BatchContext::eval_on(int lane, std::span<const BatchRow> rows, const LogitsFn& on_logits) {
  if (lane < 0 || lane >= (int)callers_.size()) return invalid_argument("batch eval: no lane " + std::to_string(lane));
  RETURN_IF_ERROR(check(rows));
  Lane& ln = callers_[(size_t)lane];
  const int64_t nv = model_.hparams().n_vocab;
  int64_t first = 0;
  for (size_t b0 = 0; b0 < rows.size(); b0 += (size_t)n_batch_) {
    const size_t nb = std::min<size_t>((size_t)n_batch_, rows.size() - b0);
    std::span<const BatchRow> part = rows.subspan(b0, nb);
    int64_t want = 0;
    for (const BatchRow& r : part) want += r.logits ? 1 : 0;
    Status st = ok_status();
    try {
      if ((int64_t)ln.logits.size() < want * nv) ln.logits.resize((size_t)(want * nv));
    } catch (const std::bad_alloc&) {
      st = out_of_range("not enough memory for the logits of " + std::to_string(want) + " rows");
    }
    if (st.ok()) st = forward(ln, part, false, ln.logits.data(), first, on_logits);
    if (!st.ok()) {
      rewind(rows);
      return st;
    }
    for (const BatchRow& r : part) n_past_[r.slot] = r.pos + 1;
    first += want;
  }
  return ok_status();
}

Status BatchContext::eval(std::span<const BatchRow> rows, const LogitsFn& on_logits) {
  const Hparams& h = model_.hparams();
  RETURN_IF_ERROR(check(rows));
  RETURN_IF_ERROR(main_lane());
  int64_t want = 0;
  for (const BatchRow& r : rows) want += r.logits ? 1 : 0;
  try {
    if ((int64_t)logits_.size() < want * h.n_vocab) logits_.resize((size_t)(want * h.n_vocab));
  } catch (const std::bad_alloc&) {
    return out_of_range("not enough memory for the logits of " + std::to_string(want) + " rows");
  }
  n_logit_rows_ = 0;
  std::vector<size_t>& cuts = cuts_;
  for (size_t b0 = 0; b0 < rows.size(); b0 += (size_t)n_batch_) {
    const size_t nb = std::min<size_t>((size_t)n_batch_, rows.size() - b0);
    std::span<const BatchRow> part = rows.subspan(b0, nb);
    Status st = ok_status();
    bool split_step = split(part, &cuts);
    if (split_step && unsplit_steps_ > 0) {
      --unsplit_steps_;
      split_step = false;
    }
    if (split_step) {  // piece i: rows [cuts[i], cuts[i + 1]) on lane i
      const size_t pieces = cuts.size() - 1;
      std::vector<Status> sts(pieces, ok_status());
      std::vector<int64_t> first_logit(pieces, n_logit_rows_);
      for (size_t i = 1; i < pieces; ++i) {
        first_logit[i] = first_logit[i - 1];
        for (size_t r = cuts[i - 1]; r < cuts[i]; ++r) first_logit[i] += part[r].logits ? 1 : 0;
      }
      const int mine = runner_->run((int)pieces, [&](int i) {
        sts[i] = forward(lanes_[i], part.subspan(cuts[i], cuts[i + 1] - cuts[i]), false,
                         logits_.data() + first_logit[i] * h.n_vocab, first_logit[i], on_logits);
      });
      // Split rows on one thread cost more than whole ones (each lane repeats the per-pass work
      // and reads the weights for fewer rows): when the helpers were held back, stop splitting
      // for a while.
      if (mine == (int)pieces) unsplit_steps_ = kUnsplitSteps;
      for (const Status& s : sts)
        if (!s.ok() && st.ok()) st = s;
    } else {
      st = forward(main_, part, false, logits_.data() + n_logit_rows_ * h.n_vocab, n_logit_rows_, on_logits);
    }
    if (!st.ok()) {
      rewind(rows);
      return st;
    }
    for (const BatchRow& r : part) {
      n_past_[r.slot] = r.pos + 1;
      n_logit_rows_ += r.logits ? 1 : 0;
    }
  }
  return ok_status();
}

bool BatchContext::split(std::span<const BatchRow> rows, std::vector<size_t>* cuts) const {
  const int64_t n = (int64_t)rows.size();
  if (lanes_.empty() || n < 2 || n * largest_ >= kSplitRowsWork) return false;
  // Runs of one slot's rows; a slot whose rows are not all in one run (rows of other slots
  // between) sends the step down the unsplit path.
  std::vector<size_t> starts;
  for (int64_t r = 0; r < n; ++r) {
    if (r > 0 && rows[r].slot == rows[r - 1].slot) continue;
    for (int64_t q = 0; q < r; ++q)
      if (rows[q].slot == rows[r].slot) return false;
    starts.push_back((size_t)r);
  }
  const size_t pieces = std::min(lanes_.size(), starts.size());
  if (pieces < 2) return false;
  // Piece i ends at the first run start at or past i + 1 pieces' share of the rows, and every
  // piece keeps one run at least.
  cuts->assign(1, 0);
  size_t next = 1;
  for (size_t i = 1; i < pieces; ++i) {
    const size_t share = (size_t)n * i / pieces;
    while (next < starts.size() && starts[next] < share && starts.size() - next > pieces - i) ++next;
    cuts->push_back(starts[next++]);
  }
  cuts->push_back((size_t)n);
  return true;
}

Status BatchContext::embed(int32_t slot, std::span<const int32_t> tokens, std::vector<float>* out, int lane) {
  const Hparams& h = model_.hparams();
  if (slot < 0 || slot >= n_slots()) return invalid_argument("embed: slot out of range");
  if (lane >= (int)callers_.size()) return invalid_argument("embed: no lane " + std::to_string(lane));
  if (lane < 0) RETURN_IF_ERROR(main_lane());
  Lane& ln = lane < 0 ? main_ : callers_[(size_t)lane];
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
    Status st = forward(ln, rows, true, nullptr);
    if (!st.ok()) {
      n_past_[slot] = 0;
      return st;
    }
    n_past_[slot] = (int64_t)(b0 + nb);
    for (size_t i = 0; i < nb; ++i)
      for (int64_t d = 0; d < E; ++d) sum[d] += ln.fwd->xn[i * E + d];
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
void BatchContext::attention(Lane& lane, int64_t il, std::span<const BatchRow> rows) {
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
    a.q = lane.fwd->q.data() + r * h.n_embd_q() + g * group * hdk;
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
    a.out = lane.fwd->att.data() + r * h.n_head * hdv + g * group * hdv;
    uk.attention(a);
  };
  const int64_t items = n * nkv;
  int64_t work = 0;
  for (const BatchRow& r : rows) work += (r.pos + 1 - lo_of(r.pos)) * nkv * group * (hdk + hdv);
  ThreadPool& pool = *lane.env->pool;
  const int threads = pool.num_threads();
  const int64_t slots = work < kMinThreadedAttention ? 1 : std::min<int64_t>(threads, items);
  if (slots <= 1) {
    for (int64_t it = 0; it < items; ++it) run_item(it, lane.scores.data());
    return;
  }
  const size_t per_slot = lane.scores.size() / (size_t)threads;
  pool.parallel_for(slots, 1, [&](int64_t s0, int64_t s1) {
    for (int64_t sl = s0; sl < s1; ++sl)
      for (int64_t it = sl; it < items; it += slots) run_item(it, lane.scores.data() + sl * per_slot);
  });
}

Status BatchContext::forward(Lane& lane, std::span<const BatchRow> rows, bool hidden_only, float* logits,
                             int64_t first_logit, const LogitsFn& on_logits) {
  const Hparams& h = model_.hparams();
  const int64_t n = (int64_t)rows.size();
  ForwardPass& fwd = *lane.fwd;
  std::vector<int32_t>& tokens = lane.tokens;
  std::vector<int64_t>& positions = lane.positions;
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
  RETURN_IF_ERROR(fwd.layers(tokens, positions, [&](int64_t il) {
    // K/V to each row's slot: K [layer][kv head][dim][position], V [layer][kv head][position][dim].
    for (int64_t t = 0; t < n; ++t) {
      const int64_t s = rows[t].slot, p = rows[t].pos;
      for (int64_t g = 0; g < nkv; ++g) {
        const float* ks = fwd.k.data() + t * nk + g * hdk;
        const float* vs = fwd.v.data() + t * nv + g * hdv;
        float* kt = k_.data() + s * slot_k + (size_t)(il * nkv + g) * hdk * n_ctx_ + p;
        for (int64_t d = 0; d < hdk; ++d) kt[d * n_ctx_] = ks[d];
        std::copy(vs, vs + hdv, v_.begin() + s * slot_v + ((size_t)(il * nkv + g) * n_ctx_ + p) * hdv);
      }
    }
    attention(lane, il, rows);
    return ok_status();
  }));
  std::vector<int64_t>& keep = lane.keep;  // rows whose final hidden state is needed
  keep.clear();
  for (int64_t t = 0; t < n; ++t)
    if (hidden_only || rows[t].logits) keep.push_back(t);
  fwd.final_norm(keep);
  if (hidden_only || keep.empty()) return ok_status();
  RETURN_IF_ERROR(fwd.logits((int64_t)keep.size(), logits));
  if (on_logits) {
    const int64_t nv = h.n_vocab;
    for (size_t i = 0; i < keep.size(); ++i) on_logits(first_logit + (int64_t)i, {logits + i * nv, (size_t)nv});
  }
  return ok_status();
}

}  // namespace edgeai::llm
