#include "formats/llama2c/llama2c.h"

#include <sys/stat.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>
#include <span>

#include "core/dtype.h"
#include "core/ggml_type.h"
#include "formats/gguf/gguf.h"

namespace edgeai::formats {

namespace {

struct FileCloser {
  void operator()(FILE* f) const { std::fclose(f); }
};
using File = std::unique_ptr<FILE, FileCloser>;

Result<uint64_t> file_size(const std::string& path, FILE* f) {
  struct stat st {};
  if (fstat(fileno(f), &st) != 0) return io_error(path + ": cannot stat: " + std::strerror(errno));
  if (!S_ISREG(st.st_mode)) return invalid_argument(path + ": not a regular file");
  return static_cast<uint64_t>(st.st_size);
}

Result<File> open_file(const std::string& path, const char* what) {
  FILE* f = std::fopen(path.c_str(), "rb");
  if (!f) {
    int e = errno;
    if (e == ENOENT) return not_found(path + ": no such file (" + what + ")");
    return io_error(path + ": cannot open " + what + ": " + std::strerror(e));
  }
  return File(f);
}

Status check_range(const std::string& path, const char* name, int64_t v, int64_t max) {
  if (v <= 0 || v > max) {
    return invalid_argument(path + ": llama2.c header: " + name + " = " + std::to_string(v) +
                            " (must be in 1.." + std::to_string(max) + "; not a llama2.c checkpoint?)");
  }
  return ok_status();
}

Status read_floats(FILE* f, const std::string& path, const char* name, int64_t n, std::vector<float>* out) {
  out->resize(static_cast<size_t>(n));
  if (std::fread(out->data(), sizeof(float), out->size(), f) != out->size()) {
    return io_error(path + ": short read in " + name);
  }
  return ok_status();
}

// "<0xNN>" with two hex digits: a byte-fallback token.
bool is_byte_token(const std::string& t) {
  auto hex = [](char c) { return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'F') || (c >= 'a' && c <= 'f'); };
  return t.size() == 6 && t.compare(0, 3, "<0x") == 0 && hex(t[3]) && hex(t[4]) && t[5] == '>';
}

std::string escape_spaces(const std::string& t) {
  std::string out;
  out.reserve(t.size());
  for (char c : t) {
    if (c == ' ') out += "\xe2\x96\x81";  // U+2581, SentencePiece's word boundary
    else out += c;
  }
  return out;
}

std::string stem(const std::string& path) {
  size_t slash = path.find_last_of('/');
  std::string base = slash == std::string::npos ? path : path.substr(slash + 1);
  size_t dot = base.find_last_of('.');
  return dot == std::string::npos || dot == 0 ? base : base.substr(0, dot);
}

}  // namespace

Result<Llama2cWeights> read_llama2c_checkpoint(const std::string& path) {
  ASSIGN_OR_RETURN(File f, open_file(path, "llama2.c checkpoint"));
  ASSIGN_OR_RETURN(uint64_t size, file_size(path, f.get()));
  int32_t h[7];
  if (size < sizeof h || std::fread(h, sizeof(int32_t), 7, f.get()) != 7) {
    return invalid_argument(path + ": truncated llama2.c checkpoint: " + std::to_string(size) +
                            " bytes, smaller than its 28-byte header");
  }
  Llama2cWeights w;
  Llama2cConfig& c = w.config;
  c.dim = h[0];
  c.hidden_dim = h[1];
  c.n_layers = h[2];
  c.n_heads = h[3];
  c.n_kv_heads = h[4];
  c.shared_classifier = h[5] > 0;
  c.vocab_size = h[5] == INT32_MIN ? 0 : (h[5] < 0 ? -h[5] : h[5]);
  c.seq_len = h[6];
  RETURN_IF_ERROR(check_range(path, "dim", c.dim, 1 << 16));
  RETURN_IF_ERROR(check_range(path, "hidden_dim", c.hidden_dim, 1 << 20));
  RETURN_IF_ERROR(check_range(path, "n_layers", c.n_layers, 1024));
  RETURN_IF_ERROR(check_range(path, "n_heads", c.n_heads, 1024));
  RETURN_IF_ERROR(check_range(path, "n_kv_heads", c.n_kv_heads, c.n_heads));
  RETURN_IF_ERROR(check_range(path, "vocab_size", c.vocab_size, 1 << 22));
  RETURN_IF_ERROR(check_range(path, "seq_len", c.seq_len, 1 << 22));
  if (c.dim % c.n_heads != 0) {
    return invalid_argument(path + ": llama2.c header: dim " + std::to_string(c.dim) +
                            " is not divisible by n_heads " + std::to_string(c.n_heads));
  }
  if (c.n_heads % c.n_kv_heads != 0) {
    return invalid_argument(path + ": llama2.c header: n_heads " + std::to_string(c.n_heads) +
                            " is not divisible by n_kv_heads " + std::to_string(c.n_kv_heads));
  }
  if (c.head_size() % 2 != 0) {
    return invalid_argument(path + ": llama2.c header: head size " + std::to_string(c.head_size()) +
                            " is odd (RoPE rotates pairs)");
  }
  const int64_t dim = c.dim, hid = c.hidden_dim, L = c.n_layers, V = c.vocab_size, kv = c.kv_dim();
  const int64_t freq = static_cast<int64_t>(c.seq_len) * c.head_size();  // real + imag halves
  int64_t floats = V * dim + L * dim + L * dim * dim + 2 * L * kv * dim + L * dim * dim + L * dim +
                   3 * L * hid * dim + dim + freq + (c.shared_classifier ? 0 : V * dim);
  uint64_t expected = 28 + 4 * static_cast<uint64_t>(floats);
  if (size != expected) {
    return invalid_argument(path + ": llama2.c checkpoint is " + std::to_string(size) + " bytes but its header (dim " +
                            std::to_string(dim) + ", hidden " + std::to_string(hid) + ", " + std::to_string(L) +
                            " layers, " + std::to_string(c.n_heads) + "/" + std::to_string(c.n_kv_heads) +
                            " heads, vocab " + std::to_string(V) + ", seq_len " + std::to_string(c.seq_len) +
                            (c.shared_classifier ? ", shared" : ", unshared") + " classifier) needs " +
                            std::to_string(expected) + (size < expected ? " (truncated?)" : ""));
  }
  FILE* fp = f.get();
  RETURN_IF_ERROR(read_floats(fp, path, "token_embedding", V * dim, &w.token_embedding));
  RETURN_IF_ERROR(read_floats(fp, path, "rms_att", L * dim, &w.rms_att));
  RETURN_IF_ERROR(read_floats(fp, path, "wq", L * dim * dim, &w.wq));
  RETURN_IF_ERROR(read_floats(fp, path, "wk", L * kv * dim, &w.wk));
  RETURN_IF_ERROR(read_floats(fp, path, "wv", L * kv * dim, &w.wv));
  RETURN_IF_ERROR(read_floats(fp, path, "wo", L * dim * dim, &w.wo));
  RETURN_IF_ERROR(read_floats(fp, path, "rms_ffn", L * dim, &w.rms_ffn));
  RETURN_IF_ERROR(read_floats(fp, path, "w1", L * hid * dim, &w.w1));
  RETURN_IF_ERROR(read_floats(fp, path, "w2", L * dim * hid, &w.w2));
  RETURN_IF_ERROR(read_floats(fp, path, "w3", L * hid * dim, &w.w3));
  RETURN_IF_ERROR(read_floats(fp, path, "rms_final", dim, &w.rms_final));
  if (!c.shared_classifier) {
    if (std::fseek(fp, static_cast<long>(freq * 4), SEEK_CUR) != 0) return io_error(path + ": cannot seek past freq_cis");
    RETURN_IF_ERROR(read_floats(fp, path, "wcls", V * dim, &w.wcls));
  }
  return w;
}

Result<Llama2cVocab> read_llama2c_tokenizer(const std::string& path, int32_t vocab_size) {
  ASSIGN_OR_RETURN(File f, open_file(path, "llama2.c tokenizer"));
  ASSIGN_OR_RETURN(uint64_t size, file_size(path, f.get()));
  if (size > (1ull << 30)) return invalid_argument(path + ": " + std::to_string(size) + " bytes is too large for a llama2.c tokenizer");
  std::vector<uint8_t> d(size);
  if (size && std::fread(d.data(), 1, size, f.get()) != size) return io_error(path + ": short read");
  size_t pos = 0;
  auto get = [&](void* out, size_t n) {
    if (size - pos < n) return false;
    std::memcpy(out, d.data() + pos, n);
    pos += n;
    return true;
  };
  Llama2cVocab v;
  if (!get(&v.max_token_length, 4)) return invalid_argument(path + ": truncated llama2.c tokenizer (no header)");
  if (v.max_token_length < 0) {
    return invalid_argument(path + ": llama2.c tokenizer: max_token_length " + std::to_string(v.max_token_length) + " is negative");
  }
  if (vocab_size < 0 || static_cast<uint64_t>(vocab_size) > (size - pos) / 8) {
    return invalid_argument(path + ": llama2.c tokenizer of " + std::to_string(size) + " bytes cannot hold " +
                            std::to_string(vocab_size) + " tokens (the checkpoint's vocab_size)");
  }
  v.tokens.reserve(vocab_size);
  v.scores.reserve(vocab_size);
  for (int32_t i = 0; i < vocab_size; ++i) {
    float score = 0;
    int32_t len = 0;
    if (!get(&score, 4) || !get(&len, 4)) {
      return invalid_argument(path + ": truncated llama2.c tokenizer at token " + std::to_string(i) + " of " +
                              std::to_string(vocab_size) + " (vocab_size from the checkpoint; wrong tokenizer?)");
    }
    if (len < 0 || static_cast<uint64_t>(len) > size - pos) {
      return invalid_argument(path + ": llama2.c tokenizer: token " + std::to_string(i) + " length " +
                              std::to_string(len) + " runs past the end of the file");
    }
    v.tokens.emplace_back(reinterpret_cast<const char*>(d.data() + pos), static_cast<size_t>(len));
    v.scores.push_back(score);
    pos += static_cast<size_t>(len);
  }
  if (pos != size) {
    return invalid_argument(path + ": llama2.c tokenizer has " + std::to_string(size - pos) + " bytes after token " +
                            std::to_string(vocab_size - 1) + ": it holds more tokens than the checkpoint's vocab_size " +
                            std::to_string(vocab_size) + " (wrong tokenizer?)");
  }
  return v;
}

Result<Llama2cConvertSummary> convert_llama2c_to_gguf(const std::string& checkpoint_path,
                                                      const std::string& tokenizer_path,
                                                      const std::string& out_path,
                                                      const Llama2cConvertOptions& options) {
  const uint32_t f32 = static_cast<uint32_t>(GgmlType::kF32), f16 = static_cast<uint32_t>(GgmlType::kF16);
  if (options.type != f32 && options.type != f16) {
    const GgmlTypeInfo* ti = ggml_type_info(options.type);
    return unsupported("llama2.c conversion writes f32 or f16, not " +
                       std::string(ti ? ti->name : "type " + std::to_string(options.type)));
  }
  ASSIGN_OR_RETURN(Llama2cWeights w, read_llama2c_checkpoint(checkpoint_path));
  const Llama2cConfig& c = w.config;
  ASSIGN_OR_RETURN(Llama2cVocab vocab, read_llama2c_tokenizer(tokenizer_path, c.vocab_size));

  GgufWriter g;
  g.set_string("general.architecture", "llama");
  g.set_string("general.name", options.name.empty() ? stem(checkpoint_path) : options.name);
  g.set_u32("general.file_type", options.type == f16 ? 1 : 0);  // LLAMA_FTYPE_ALL_F32 / MOSTLY_F16
  g.set_u32("llama.context_length", c.seq_len);
  g.set_u32("llama.embedding_length", c.dim);
  g.set_u32("llama.feed_forward_length", c.hidden_dim);
  g.set_u32("llama.block_count", c.n_layers);
  g.set_u32("llama.attention.head_count", c.n_heads);
  g.set_u32("llama.attention.head_count_kv", c.n_kv_heads);
  g.set_u32("llama.rope.dimension_count", c.head_size());
  g.set_f32("llama.attention.layer_norm_rms_epsilon", 1e-5f);
  g.set_u32("llama.vocab_size", c.vocab_size);

  // Vocabulary, as convert-llama2c-to-ggml rewrites it.
  std::vector<std::string> tokens(c.vocab_size);
  std::vector<int32_t> types(c.vocab_size);
  for (int32_t i = 0; i < c.vocab_size; ++i) {
    std::string t = vocab.tokens[i];
    int32_t type = 1;  // normal
    if (i == 0) {
      t = "<unk>";
      type = 2;  // unknown
    } else if (i == 1) {
      t = "<s>";
      type = 3;  // control
    } else if (i == 2) {
      t = "</s>";
      type = 3;
    } else if (t.empty()) {
      type = 3;
    } else if (is_byte_token(t)) {
      type = 6;  // byte
    }
    tokens[i] = escape_spaces(t);
    types[i] = type;
  }
  g.set_string("tokenizer.ggml.model", "llama");
  g.set_string_array("tokenizer.ggml.tokens", std::move(tokens));
  g.set_f32_array("tokenizer.ggml.scores", vocab.scores);
  g.set_i32_array("tokenizer.ggml.token_type", std::move(types));
  g.set_u32("tokenizer.ggml.unknown_token_id", 0);
  g.set_u32("tokenizer.ggml.bos_token_id", 1);
  g.set_u32("tokenizer.ggml.eos_token_id", 2);

  Llama2cConvertSummary summary;
  summary.config = c;
  // Tensors: f32 ones are views into `w` (alive until write() returns); f16 ones are converted.
  auto add = [&](const std::string& name, const float* p, std::vector<int64_t> dims) -> Status {
    int64_t n = 1;
    for (int64_t d : dims) n *= d;
    summary.parameters += n;
    bool matrix = dims.size() > 1;
    if (options.type == f16 && matrix) {
      std::vector<uint8_t> bytes(static_cast<size_t>(n) * 2);
      for (int64_t i = 0; i < n; ++i) {
        uint16_t h = float_to_half(p[i]);
        std::memcpy(&bytes[static_cast<size_t>(i) * 2], &h, 2);
      }
      return g.add_tensor(name, std::move(dims), f16, std::move(bytes));
    }
    return g.add_tensor_view(name, std::move(dims), f32,
                             std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(p), static_cast<size_t>(n) * 4));
  };
  const int64_t dim = c.dim, hid = c.hidden_dim, kv = c.kv_dim(), V = c.vocab_size;
  RETURN_IF_ERROR(add("token_embd.weight", w.token_embedding.data(), {dim, V}));
  RETURN_IF_ERROR(add("output_norm.weight", w.rms_final.data(), {dim}));
  if (!c.shared_classifier) RETURN_IF_ERROR(add("output.weight", w.wcls.data(), {dim, V}));
  for (int64_t l = 0; l < c.n_layers; ++l) {
    std::string b = "blk." + std::to_string(l) + ".";
    RETURN_IF_ERROR(add(b + "attn_q.weight", w.wq.data() + l * dim * dim, {dim, dim}));
    RETURN_IF_ERROR(add(b + "attn_k.weight", w.wk.data() + l * kv * dim, {dim, kv}));
    RETURN_IF_ERROR(add(b + "attn_v.weight", w.wv.data() + l * kv * dim, {dim, kv}));
    RETURN_IF_ERROR(add(b + "attn_output.weight", w.wo.data() + l * dim * dim, {dim, dim}));
    RETURN_IF_ERROR(add(b + "attn_norm.weight", w.rms_att.data() + l * dim, {dim}));
    RETURN_IF_ERROR(add(b + "ffn_gate.weight", w.w1.data() + l * hid * dim, {dim, hid}));
    RETURN_IF_ERROR(add(b + "ffn_down.weight", w.w2.data() + l * dim * hid, {hid, dim}));
    RETURN_IF_ERROR(add(b + "ffn_up.weight", w.w3.data() + l * hid * dim, {dim, hid}));
    RETURN_IF_ERROR(add(b + "ffn_norm.weight", w.rms_ffn.data() + l * dim, {dim}));
  }
  summary.tensors = g.tensor_count();
  RETURN_IF_ERROR(g.write(out_path));
  struct stat st {};
  if (stat(out_path.c_str(), &st) == 0) summary.file_bytes = static_cast<uint64_t>(st.st_size);
  return summary;
}

}  // namespace edgeai::formats
