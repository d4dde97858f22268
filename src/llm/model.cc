// Model loading: architecture and hyperparameters from GGUF metadata, weights bound to views
// into the mapping after checking each tensor's presence, type and shape.
#include "llm/model.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "kernels/ggml_quants.h"

namespace edgeai::llm {

const char* arch_name(Arch arch) {
  switch (arch) {
    case Arch::kLlama: return "llama";
    case Arch::kQwen2: return "qwen2";
    case Arch::kPhi3: return "phi3";
    case Arch::kGemma: return "gemma";
    case Arch::kGemma2: return "gemma2";
  }
  return "?";
}

namespace {

std::string type_name(uint32_t type) {
  const GgmlTypeInfo* info = ggml_type_info(type);
  return info ? info->name : "type " + std::to_string(type);
}

std::string dims_str(const std::vector<int64_t>& d) {
  std::string s = "[";
  for (size_t i = 0; i < d.size(); ++i) s += (i ? ", " : "") + std::to_string(d[i]);
  return s + "]";
}

// Limits that keep every size computation far from overflow; real models are far below them.
constexpr int64_t kMaxDim = int64_t{1} << 24;
constexpr int64_t kMaxLayers = 4096;

class Binder {
 public:
  explicit Binder(const formats::GgufFile& f) : f_(f) {}

  // A matrix of `rows` rows of `cols` values (GGUF dims {cols, rows}).
  Status matrix(const std::string& name, int64_t cols, int64_t rows, bool required, WeightView* out) {
    const formats::GgufTensorInfo* t = f_.tensor(name);
    if (!t) {
      if (!required) return ok_status();
      return not_found(f_.path() + ": missing tensor '" + name + "'");
    }
    std::vector<int64_t> want{cols, rows};
    std::vector<int64_t> got = t->dims;
    while (got.size() > 2 && got.back() == 1) got.pop_back();
    if (got.size() == 1) got.push_back(1);
    if (got != want) {
      return invalid_argument(f_.path() + ": tensor '" + name + "' has shape " + dims_str(t->dims) +
                              ", expected " + dims_str(want));
    }
    if (!kernels::ggml_type_supported(t->type)) {
      return unsupported(f_.path() + ": tensor '" + name + "' has type " + type_name(t->type) +
                         ", which edgeai cannot compute with");
    }
    int64_t row_bytes = ggml_row_bytes(t->type, cols);
    if (row_bytes < 0) {
      return invalid_argument(f_.path() + ": tensor '" + name + "': row length " + std::to_string(cols) +
                              " is not a multiple of the " + type_name(t->type) + " block size");
    }
    if (row_bytes * rows > t->n_bytes || t->data == nullptr) {
      return invalid_argument(f_.path() + ": tensor '" + name + "' holds " + std::to_string(t->n_bytes) +
                              " bytes, expected " + std::to_string(row_bytes * rows));
    }
    out->data = t->data;
    out->type = t->type;
    out->rows = rows;
    out->cols = cols;
    out->bytes = row_bytes * rows;
    bytes_ += out->bytes;
    return ok_status();
  }

  // A vector of n values, converted to f32 (norm weights, biases, rope factors: small).
  Status vec(const std::string& name, int64_t n, bool required, std::vector<float>* out) {
    WeightView w;
    RETURN_IF_ERROR(matrix(name, n, 1, required, &w));
    if (!w.present()) return ok_status();
    out->resize(n);
    kernels::ggml_dequantize_row(w.type, w.data, out->data(), n);
    for (float v : *out) {
      if (!std::isfinite(v)) {
        return invalid_argument(f_.path() + ": tensor '" + name + "' holds a non-finite value");
      }
    }
    return ok_status();
  }

  bool has(const std::string& name) const { return f_.tensor(name) != nullptr; }
  int64_t bytes() const { return bytes_; }

 private:
  const formats::GgufFile& f_;
  int64_t bytes_ = 0;
};

std::string blk(int64_t il, const char* what) {
  return "blk." + std::to_string(il) + "." + what + ".weight";
}
std::string blk_bias(int64_t il, const char* what) {
  return "blk." + std::to_string(il) + "." + what + ".bias";
}

}  // namespace

Result<std::unique_ptr<Model>> Model::load(const std::string& path) {
  auto file = formats::GgufFile::open(path);
  if (!file.ok()) return file.status();
  return from_gguf(std::shared_ptr<const formats::GgufFile>(std::move(file).value()));
}

Result<std::unique_ptr<Model>> Model::from_gguf(std::shared_ptr<const formats::GgufFile> file) {
  if (!file) return invalid_argument("Model::from_gguf: no file");
  std::unique_ptr<Model> m(new Model());
  m->file_ = std::move(file);
  RETURN_IF_ERROR(m->init());
  return m;
}

Status Model::init() {
  RETURN_IF_ERROR(read_hparams());
  RETURN_IF_ERROR(bind_weights());
  return ok_status();
}

Status Model::read_hparams() {
  const formats::GgufFile& f = *file_;
  const std::string& p = f.path();
  std::string arch = f.get_string("general.architecture");
  hp_.arch_name = arch;
  if (arch == "llama" || arch == "mistral") {
    hp_.arch = Arch::kLlama;
  } else if (arch == "qwen2") {
    hp_.arch = Arch::kQwen2;
  } else if (arch == "phi3") {
    hp_.arch = Arch::kPhi3;
  } else if (arch == "gemma") {
    hp_.arch = Arch::kGemma;
  } else if (arch == "gemma2") {
    hp_.arch = Arch::kGemma2;
  } else if (arch.empty()) {
    return invalid_argument(p + ": no general.architecture in the metadata (not a language model?)");
  } else {
    return unsupported(p + ": unknown architecture '" + arch +
                       "' (edgeai runs llama, mistral, qwen2, phi3, gemma, gemma2)");
  }
  auto key = [&](const char* k) { return arch + "." + k; };
  auto get_req = [&](const char* k, int64_t lo, int64_t hi, int64_t* out) -> Status {
    int64_t v = f.get_int(key(k), -1);
    if (v == -1 && !f.find(key(k))) return not_found(p + ": missing metadata key '" + key(k) + "'");
    if (v < lo || v > hi) {
      return invalid_argument(p + ": metadata '" + key(k) + "' = " + std::to_string(v) + " is out of range [" +
                              std::to_string(lo) + ", " + std::to_string(hi) + "]");
    }
    *out = v;
    return ok_status();
  };
  RETURN_IF_ERROR(get_req("embedding_length", 1, kMaxDim, &hp_.n_embd));
  RETURN_IF_ERROR(get_req("feed_forward_length", 1, kMaxDim, &hp_.n_ff));
  RETURN_IF_ERROR(get_req("block_count", 1, kMaxLayers, &hp_.n_layer));
  RETURN_IF_ERROR(get_req("attention.head_count", 1, kMaxDim, &hp_.n_head));
  hp_.n_ctx_train = f.get_int(key("context_length"), 2048);
  if (hp_.n_ctx_train < 1 || hp_.n_ctx_train > (int64_t{1} << 31)) {
    return invalid_argument(p + ": metadata '" + key("context_length") + "' is out of range");
  }
  hp_.n_ctx_orig = f.get_int(key("rope.scaling.original_context_length"), hp_.n_ctx_train);
  hp_.n_head_kv = f.get_int(key("attention.head_count_kv"), hp_.n_head);
  if (hp_.n_head_kv < 1 || hp_.n_head_kv > hp_.n_head || hp_.n_head % hp_.n_head_kv != 0) {
    return invalid_argument(p + ": attention.head_count_kv = " + std::to_string(hp_.n_head_kv) +
                            " must divide attention.head_count = " + std::to_string(hp_.n_head));
  }
  int64_t def_head = hp_.n_embd / hp_.n_head;
  hp_.head_dim_k = f.get_int(key("attention.key_length"), def_head);
  hp_.head_dim_v = f.get_int(key("attention.value_length"), def_head);
  if (hp_.head_dim_k < 2 || hp_.head_dim_k > 4096 || hp_.head_dim_v < 1 || hp_.head_dim_v > 4096 ||
      hp_.n_head * std::max(hp_.head_dim_k, hp_.head_dim_v) > kMaxDim) {
    return invalid_argument(p + ": head size " + std::to_string(hp_.head_dim_k) + " is out of range");
  }
  hp_.n_rot = f.get_int(key("rope.dimension_count"), hp_.head_dim_k);
  if (hp_.n_rot < 0 || hp_.n_rot > hp_.head_dim_k || hp_.n_rot % 2 != 0) {
    return invalid_argument(p + ": rope.dimension_count = " + std::to_string(hp_.n_rot) +
                            " must be even and at most the head size " + std::to_string(hp_.head_dim_k));
  }
  hp_.rope_freq_base = (float)f.get_float(key("rope.freq_base"), 10000.0);
  if (!(hp_.rope_freq_base > 0) || !std::isfinite(hp_.rope_freq_base)) {
    return invalid_argument(p + ": rope.freq_base must be positive");
  }
  std::string scaling = f.get_string(key("rope.scaling.type"), "none");
  double factor = f.get_float(key("rope.scaling.factor"), 0.0);
  if (factor == 0.0) factor = f.get_float(key("rope.scale_linear"), 0.0);
  if (scaling == "linear" || (scaling == "none" && factor > 0 && f.find(key("rope.scale_linear")))) {
    if (!(factor > 0) || !std::isfinite(factor)) return invalid_argument(p + ": rope scaling factor must be positive");
    hp_.rope_freq_scale = (float)(1.0 / factor);
  } else if (scaling == "yarn") {
    return unsupported(p + ": rope scaling 'yarn' is not supported yet");
  } else if (scaling != "none" && scaling != "longrope" && !scaling.empty()) {
    return unsupported(p + ": rope scaling '" + scaling + "' is not supported");
  }
  hp_.rope_attn_factor = (float)f.get_float(key("rope.scaling.attn_factor"), 1.0);
  if (!(hp_.rope_attn_factor > 0) || !std::isfinite(hp_.rope_attn_factor)) hp_.rope_attn_factor = 1.0f;
  hp_.norm_eps = (float)f.get_float(key("attention.layer_norm_rms_epsilon"), 1e-5);
  if (!(hp_.norm_eps >= 0) || !std::isfinite(hp_.norm_eps)) {
    return invalid_argument(p + ": attention.layer_norm_rms_epsilon must be >= 0");
  }
  hp_.attn_scale = 1.0f / std::sqrt((float)hp_.head_dim_k);
  hp_.sliding_window = f.get_int(key("attention.sliding_window"), 0);
  if (hp_.sliding_window < 0) hp_.sliding_window = 0;

  switch (hp_.arch) {
    case Arch::kLlama:
      hp_.rope_style = RopeStyle::kNormal;
      hp_.sliding_window = 0;  // Mistral v0.1's 4096 window exceeds the default context; ignored like llama.cpp
      break;
    case Arch::kQwen2:
      hp_.rope_style = RopeStyle::kNeox;
      hp_.sliding_window = 0;  // qwen2 configs name a window but the models attend fully
      break;
    case Arch::kPhi3:
      hp_.rope_style = RopeStyle::kNeox;
      break;
    case Arch::kGemma:
      hp_.rope_style = RopeStyle::kNeox;
      hp_.embd_scale = std::sqrt((float)hp_.n_embd);
      hp_.ffn_gelu = true;
      hp_.sliding_window = 0;
      break;
    case Arch::kGemma2:
      hp_.rope_style = RopeStyle::kNeox;
      hp_.embd_scale = std::sqrt((float)hp_.n_embd);
      hp_.ffn_gelu = true;
      hp_.post_norms = true;
      if (!f.find(key("attention.sliding_window"))) hp_.sliding_window = 4096;
      hp_.swa_even_layers_only = true;
      hp_.attn_softcap = (float)f.get_float(key("attn_logit_softcapping"), 50.0);
      hp_.final_softcap = (float)f.get_float(key("final_logit_softcapping"), 30.0);
      if (!(hp_.attn_softcap >= 0) || !(hp_.final_softcap >= 0)) {
        return invalid_argument(p + ": gemma2 soft-capping values must be >= 0");
      }
      // gemma2 27B scales queries by 1/sqrt(n_embd / n_head), not by the head size (gemma_pytorch).
      if (hp_.n_layer == 46) hp_.attn_scale = 1.0f / std::sqrt((float)(hp_.n_embd / hp_.n_head));
      break;
  }

  // Vocabulary size: from the embedding table (validated against metadata when given).
  const formats::GgufTensorInfo* emb = f.tensor("token_embd.weight");
  if (!emb) return not_found(p + ": missing tensor 'token_embd.weight'");
  if (emb->dims.size() < 2 || emb->dims[1] < 1 || emb->dims[1] > kMaxDim) {
    return invalid_argument(p + ": tensor 'token_embd.weight' has shape " + dims_str(emb->dims) +
                            ", expected [" + std::to_string(hp_.n_embd) + ", n_vocab]");
  }
  hp_.n_vocab = emb->dims[1];
  int64_t meta_vocab = f.get_int(key("vocab_size"), hp_.n_vocab);
  if (meta_vocab != hp_.n_vocab) {
    return invalid_argument(p + ": " + key("vocab_size") + " = " + std::to_string(meta_vocab) +
                            " but token_embd.weight has " + std::to_string(hp_.n_vocab) + " rows");
  }
  return ok_status();
}

Status Model::bind_weights() {
  const Hparams& h = hp_;
  Binder b(*file_);
  RETURN_IF_ERROR(b.matrix("token_embd.weight", h.n_embd, h.n_vocab, true, &token_embd_));
  RETURN_IF_ERROR(b.vec("output_norm.weight", h.n_embd, true, &output_norm_));
  RETURN_IF_ERROR(b.matrix("output.weight", h.n_embd, h.n_vocab, false, &output_));
  if (!output_.present()) output_ = token_embd_;  // tied embeddings

  // Per-dimension RoPE frequency divisors, shared by all layers: llama3's rope_freqs, or phi3
  // LongRoPE's short and long factors (Model::rope_factors picks by context length).
  RETURN_IF_ERROR(b.vec("rope_freqs.weight", h.n_rot / 2, false, &rope_short_));
  if (rope_short_.empty()) {
    RETURN_IF_ERROR(b.vec("rope_factors_short.weight", h.n_rot / 2, false, &rope_short_));
    RETURN_IF_ERROR(b.vec("rope_factors_long.weight", h.n_rot / 2, false, &rope_long_));
  }
  for (const auto* f : {&rope_short_, &rope_long_}) {
    for (float v : *f) {
      if (!(v > 0)) return invalid_argument(file_->path() + ": rope frequency factors must be positive");
    }
  }

  layers_.resize(h.n_layer);
  for (int64_t il = 0; il < h.n_layer; ++il) {
    LayerWeights& L = layers_[il];
    RETURN_IF_ERROR(b.vec(blk(il, "attn_norm"), h.n_embd, true, &L.attn_norm));
    if (h.arch == Arch::kPhi3 && b.has(blk(il, "attn_qkv"))) {
      RETURN_IF_ERROR(b.matrix(blk(il, "attn_qkv"), h.n_embd, h.n_embd_q() + h.n_embd_k() + h.n_embd_v(), true,
                               &L.wqkv));
    } else {
      RETURN_IF_ERROR(b.matrix(blk(il, "attn_q"), h.n_embd, h.n_embd_q(), true, &L.wq));
      RETURN_IF_ERROR(b.matrix(blk(il, "attn_k"), h.n_embd, h.n_embd_k(), true, &L.wk));
      RETURN_IF_ERROR(b.matrix(blk(il, "attn_v"), h.n_embd, h.n_embd_v(), true, &L.wv));
    }
    bool biases = h.arch == Arch::kQwen2;
    RETURN_IF_ERROR(b.vec(blk_bias(il, "attn_q"), h.n_embd_q(), biases, &L.bq));
    RETURN_IF_ERROR(b.vec(blk_bias(il, "attn_k"), h.n_embd_k(), biases, &L.bk));
    RETURN_IF_ERROR(b.vec(blk_bias(il, "attn_v"), h.n_embd_v(), biases, &L.bv));
    RETURN_IF_ERROR(b.matrix(blk(il, "attn_output"), h.n_head * h.head_dim_v, h.n_embd, true, &L.wo));
    if (h.post_norms) {
      RETURN_IF_ERROR(b.vec(blk(il, "post_attention_norm"), h.n_embd, true, &L.attn_post_norm));
      RETURN_IF_ERROR(b.vec(blk(il, "post_ffw_norm"), h.n_embd, true, &L.ffn_post_norm));
    }
    RETURN_IF_ERROR(b.vec(blk(il, "ffn_norm"), h.n_embd, true, &L.ffn_norm));
    if (h.arch == Arch::kPhi3 && !b.has(blk(il, "ffn_gate"))) {
      RETURN_IF_ERROR(b.matrix(blk(il, "ffn_up"), h.n_embd, 2 * h.n_ff, true, &L.ffn_up));
    } else {
      RETURN_IF_ERROR(b.matrix(blk(il, "ffn_gate"), h.n_embd, h.n_ff, true, &L.ffn_gate));
      RETURN_IF_ERROR(b.matrix(blk(il, "ffn_up"), h.n_embd, h.n_ff, true, &L.ffn_up));
    }
    RETURN_IF_ERROR(b.matrix(blk(il, "ffn_down"), h.n_ff, h.n_embd, true, &L.ffn_down));
  }
  weight_bytes_ = b.bytes();
  return ok_status();
}

int64_t Model::resolve_n_ctx(const ContextOptions& opts) const {
  if (opts.n_ctx > 0) return opts.n_ctx;
  return std::min<int64_t>(4096, hp_.n_ctx_train);
}

MemoryEstimate Model::estimate_memory(const ContextOptions& opts) const {
  const Hparams& h = hp_;
  MemoryEstimate e;
  e.n_ctx = resolve_n_ctx(opts);
  int64_t n_batch = std::clamp<int64_t>(opts.n_batch, 1, e.n_ctx);
  int64_t kv_elem = opts.kv_type == KvType::kF16 ? 2 : 4;
  e.weights = weight_bytes_;
  e.kv_cache = h.n_layer * e.n_ctx * (h.n_embd_k() + h.n_embd_v()) * kv_elem;
  // Per batch row: residual, normed, q (+ its gathered copy), k, v, attention out, projection
  // out, 3 x FFN hidden (phi3's gate+up doubles one), fused qkv; plus logits (one row, or n_ctx
  // with logits_all) and the attention score buffer (max(group x n_ctx, 2^20) floats, Context).
  int64_t per_row = 3 * h.n_embd + 2 * h.n_embd_q() + h.n_embd_k() + h.n_embd_v() + h.n_head * h.head_dim_v +
                    3 * h.n_ff + (h.n_embd_q() + h.n_embd_k() + h.n_embd_v());
  const int64_t logit_rows = opts.logits_all ? e.n_ctx : 1;
  // An f16 cache also needs one KV head's values as f32 (n_ctx rows).
  const int64_t vconv = opts.kv_type == KvType::kF16 ? e.n_ctx * h.head_dim_v : 0;
  e.scratch = 4 * (n_batch * per_row + logit_rows * h.n_vocab + std::max<int64_t>(h.n_head / h.n_head_kv * e.n_ctx, int64_t{1} << 20) +
                   vconv + h.n_embd);
  return e;
}

std::string Model::describe() const {
  const Hparams& h = hp_;
  char buf[256];
  std::snprintf(buf, sizeof(buf), "%s, %lld layers, %lld embd, %lld/%lld heads, %lld ffn, %lld vocab, %s weights",
                h.arch_name.c_str(), (long long)h.n_layer, (long long)h.n_embd, (long long)h.n_head,
                (long long)h.n_head_kv, (long long)h.n_ff, (long long)h.n_vocab,
                type_name(layers_.empty() ? token_embd_.type
                                          : (layers_[0].wq.present() ? layers_[0].wq.type : layers_[0].wqkv.type))
                    .c_str());
  return buf;
}

}  // namespace edgeai::llm
