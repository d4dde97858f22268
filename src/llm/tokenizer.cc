// Tokenizer: vocabulary set-up (defaults and fix-ups as llama.cpp's llama_vocab::load), special
// token splitting, decoding, GGUF metadata reading, and the UTF-8 streamer.
#include <algorithm>
#include <cctype>
#include <cstring>

#include "formats/gguf/gguf.h"
#include "llm/tokenizer_impl.h"
#include "llm/unicode.h"

namespace edgeai::llm {
namespace {

using Impl = Tokenizer::Impl;

uint16_t attr_of_type(int32_t type) {
  switch (static_cast<TokenType>(type)) {
    case TokenType::kUnknown: return kAttrUnknown;
    case TokenType::kUnused: return kAttrUnused;
    case TokenType::kNormal: return kAttrNormal;
    case TokenType::kControl: return kAttrControl;
    case TokenType::kUserDefined: return kAttrUserDefined;
    case TokenType::kByte: return kAttrByte;
    default: return kAttrUndefined;
  }
}

bool parse_byte_token(std::string_view t, uint8_t* byte) {
  if (t.size() != 6 || t.substr(0, 3) != "<0x" || t[5] != '>') return false;
  auto hex = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
  };
  const int hi = hex(t[3]), lo = hex(t[4]);
  if (hi < 0 || lo < 0) return false;
  *byte = static_cast<uint8_t>(hi * 16 + lo);
  return true;
}

bool contains(std::string_view hay, std::string_view needle) { return hay.find(needle) != std::string_view::npos; }

std::string lower_ascii(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// Pre-tokenizer names (tokenizer.ggml.pre) by the expression list llama.cpp uses for them.
struct PreInfo {
  PreTokenizer pre;
  bool ignore_merges = false;
  bool add_bos = false;
  bool no_bos = false;
};

bool lookup_pre(std::string_view name, PreInfo* info) {
  static constexpr std::string_view kLlama3[] = {"llama3", "llama-v3", "llama-bpe", "falcon3", "falcon-h1",
                                                  "pixtral", "midm-2.0", "lfm2", "jina-v5-nano"};
  static constexpr std::string_view kLlama3Regex[] = {"dbrx", "smaug-bpe"};
  static constexpr std::string_view kChatGlm[] = {"glm4", "chatglm-bpe"};
  static constexpr std::string_view kQwen2[] = {"qwen2", "deepseek-r1-qwen", "kormo", "f2llmv2", "megrez",
                                                "stablelm2", "hunyuan", "solar-open", "grok-2"};
  static constexpr std::string_view kGpt2[] = {"gpt-2", "phi-2", "jina-es", "jina-de", "gigachat", "jina-v2-es",
                                               "jina-v2-de", "a.x-4.0", "mellum", "modern-bert", "mpt", "olmo",
                                               "jais", "trillion", "granite-docling", "exaone4", "jina-v1-en",
                                               "jina-v2-code", "roberta-bpe"};
  static constexpr std::string_view kStarcoder[] = {"starcoder", "refact", "command-r", "smollm", "codeshell",
                                                    "exaone", "minerva-7b", "mellum2"};
  auto in = [&](const auto& list) { return std::find(std::begin(list), std::end(list), name) != std::end(list); };
  if (name.empty() || name == "default") {
    *info = {PreTokenizer::kDefault};
  } else if (in(kLlama3)) {
    *info = {PreTokenizer::kLlama3, true, true};
  } else if (in(kLlama3Regex)) {
    *info = {PreTokenizer::kLlama3};
  } else if (in(kChatGlm)) {
    *info = {PreTokenizer::kLlama3, false, false, true};
  } else if (in(kQwen2)) {
    *info = {PreTokenizer::kQwen2};
  } else if (in(kGpt2)) {
    *info = {PreTokenizer::kGpt2};
  } else if (in(kStarcoder)) {
    *info = {PreTokenizer::kStarcoder};
  } else if (name == "deepseek-llm") {
    *info = {PreTokenizer::kDeepseekLlm};
  } else if (name == "deepseek-coder") {
    *info = {PreTokenizer::kDeepseekCoder};
  } else if (name == "falcon") {
    *info = {PreTokenizer::kFalcon};
  } else {
    return false;
  }
  return true;
}

// Texts that mark end-of-turn / end-of-generation tokens (llama.cpp's lists).
constexpr std::string_view kEotTexts[] = {"<|eot_id|>", "<|im_end|>", "<|end|>", "<end_of_turn>", "<|endoftext|>",
                                          "<|end_of_text|>", "<EOT>", "_<EOT>", "[EOT]",
                                          "<\xEF\xBD\x9C" "end\xE2\x96\x81of\xE2\x96\x81sentence\xEF\xBD\x9C>",
                                          "<end_of_utterance>"};
constexpr std::string_view kEogTexts[] = {"<|eot_id|>", "<|im_end|>", "<|end|>", "<|return|>", "<|call|>",
                                          "<|flush|>", "<|calls|>", "<end_of_turn>", "<|endoftext|>", "</s>",
                                          "<|eom_id|>", "<EOT>", "_<EOT>", "[EOT]", "[EOS]", "<|end_of_text|>",
                                          "<end_of_utterance>", "<eos>", "<turn|>", "<|tool_response>",
                                          "<\xEF\xBD\x9C" "end\xE2\x96\x81of\xE2\x96\x81sentence\xEF\xBD\x9C>", "[e~["};
constexpr std::string_view kFimPadTexts[] = {"<|fim_pad|>", "<fim-pad>", "<fim_pad>", "<PAD>", "[PAD]"};
constexpr std::string_view kFimRepTexts[] = {"<|fim_repo|>", "<|repo_name|>", "<fim-repo>", "<REPO>", "<reponame>"};
constexpr std::string_view kFimSepTexts[] = {"<|file_sep|>"};

template <size_t N>
int32_t first_with_text(const Impl& t, const std::string_view (&texts)[N]) {
  int32_t best = -1;
  for (std::string_view s : texts) {
    const int32_t id = t.find(s);
    if (id >= 0 && (best < 0 || id < best)) best = id;
  }
  return best;
}

// The model's default for a special id, disabled when outside the vocabulary.
Status resolve_id(const char* what, std::optional<int32_t> given, int32_t def, int32_t n, int32_t* out) {
  if (given.has_value()) {
    if (*given == -1) {
      *out = -1;
      return ok_status();
    }
    if (*given < 0 || *given >= n) {
      return out_of_range(std::string("tokenizer ") + what + " id " + std::to_string(*given) +
                          " is outside the vocabulary of " + std::to_string(n) + " tokens");
    }
    *out = *given;
    return ok_status();
  }
  *out = (def >= 0 && def < n) ? def : -1;
  return ok_status();
}

void build_trie(Impl* t) {
  t->trie.assign(1, Impl::TrieNode{});
  for (int32_t id : t->special_order) {
    int32_t node = 0;
    for (unsigned char c : t->text[id]) {
      auto& next = t->trie[node].next;
      auto it = std::lower_bound(next.begin(), next.end(), std::make_pair(c, int32_t{-1}),
                                 [](const auto& a, const auto& b) { return a.first < b.first; });
      if (it != next.end() && it->first == c) {
        node = it->second;
      } else {
        const int32_t child = static_cast<int32_t>(t->trie.size());
        next.insert(it, {c, child});
        t->trie.push_back(Impl::TrieNode{});
        node = child;
      }
    }
    if (t->trie[node].token < 0) t->trie[node].token = id;
  }
}

}  // namespace

void Impl::merge_key(std::string* key, std::string_view left, std::string_view right) {
  key->clear();
  const uint32_t n = static_cast<uint32_t>(left.size());
  key->append(reinterpret_cast<const char*>(&n), sizeof(n));
  key->append(left);
  key->append(right);
}

Result<std::unique_ptr<Tokenizer>> Tokenizer::create(TokenizerConfig c) {
  auto t = std::make_unique<Impl>();
  t->model = c.model;
  int32_t def_bos = -1, def_eos = -1, def_unk = -1, def_sep = -1, def_pad = -1, def_mask = -1;
  if (c.model == "llama") {
    t->kind = Impl::Kind::kSpm;
    def_bos = 1, def_eos = 2, def_unk = 0;
    t->add_bos = true;
    t->add_space_prefix = true;
  } else if (c.model == "gpt2") {
    t->kind = Impl::Kind::kBpe;
    def_bos = 11, def_eos = 11;
  } else if (c.model == "bert") {
    t->kind = Impl::Kind::kWpm;
    def_bos = 101, def_unk = 100, def_sep = 102, def_pad = 0, def_mask = 103;
    t->add_bos = true;
    t->add_sep = true;
  } else {
    return unsupported("tokenizer model '" + c.model + "' is not supported (supported: llama, gpt2, bert)");
  }

  PreInfo pre{PreTokenizer::kDefault};
  t->pre_name = c.pre.empty() ? "default" : c.pre;
  if (t->kind == Impl::Kind::kBpe) {
    if (!lookup_pre(c.pre, &pre)) return unsupported("pre-tokenizer '" + c.pre + "' is not supported");
    t->pre = pre.pre;
    t->ignore_merges = pre.ignore_merges;
    t->add_bos = pre.add_bos;
    if (pre.no_bos) def_bos = -1;
  }

  if (c.tokens.empty()) return invalid_argument("tokenizer has no tokens");
  if (c.tokens.size() > static_cast<size_t>(INT32_MAX / 2)) return invalid_argument("tokenizer has too many tokens");
  const int32_t n = static_cast<int32_t>(c.tokens.size());
  if (!c.scores.empty() && c.scores.size() < c.tokens.size()) {
    return invalid_argument("tokenizer has " + std::to_string(c.scores.size()) + " scores for " + std::to_string(n) +
                            " tokens");
  }
  if (!c.token_types.empty() && c.token_types.size() < c.tokens.size()) {
    return invalid_argument("tokenizer has " + std::to_string(c.token_types.size()) + " token types for " +
                            std::to_string(n) + " tokens");
  }

  t->text = std::move(c.tokens);
  t->score.assign(n, 0.0f);
  t->attr.assign(n, kAttrNormal);
  t->type.assign(n, TokenType::kNormal);
  t->id_of.reserve(n * 2);
  for (int32_t i = 0; i < n; ++i) {
    if (t->text[i].empty()) t->text[i] = "[EMPTY_" + std::to_string(i) + "]";
    if (!c.scores.empty()) t->score[i] = c.scores[i];
    if (!c.token_types.empty()) {
      t->type[i] = static_cast<TokenType>(c.token_types[i]);
      t->attr[i] = attr_of_type(c.token_types[i]);
    } else if (t->kind == Impl::Kind::kSpm) {
      uint8_t b;
      if (parse_byte_token(t->text[i], &b)) t->attr[i] = kAttrByte, t->type[i] = TokenType::kByte;
    }
    auto [it, inserted] = t->id_of.emplace(t->text[i], i);
    if (!inserted) {
      return invalid_argument("duplicate token in vocabulary: '" + t->text[i] + "' has ids " +
                              std::to_string(it->second) + " and " + std::to_string(i));
    }
    t->max_token_len = std::max(t->max_token_len, t->text[i].size());
  }

  if (t->kind == Impl::Kind::kBpe) {
    t->merge_rank.reserve(c.merges.size() * 2);
    std::string key;
    for (size_t r = 0; r < c.merges.size(); ++r) {
      const std::string& m = c.merges[r];
      const size_t sp = m.find(' ', 1);
      if (sp == std::string::npos) continue;
      Impl::merge_key(&key, std::string_view(m).substr(0, sp), std::string_view(m).substr(sp + 1));
      t->merge_rank.emplace(key, static_cast<int32_t>(std::min<size_t>(r, INT32_MAX)));
    }
  }

  // Special ids: explicit values must lie in the vocabulary; defaults outside it are dropped.
  RETURN_IF_ERROR(resolve_id("bos", c.bos_id, def_bos, n, &t->bos));
  RETURN_IF_ERROR(resolve_id("eos", c.eos_id, def_eos, n, &t->eos));
  RETURN_IF_ERROR(resolve_id("eot", c.eot_id, -1, n, &t->eot));
  RETURN_IF_ERROR(resolve_id("eom", c.eom_id, -1, n, &t->eom));
  RETURN_IF_ERROR(resolve_id("unknown", c.unk_id, def_unk, n, &t->unk));
  RETURN_IF_ERROR(resolve_id("separator", c.sep_id, def_sep, n, &t->sep));
  RETURN_IF_ERROR(resolve_id("padding", c.pad_id, def_pad, n, &t->pad));
  RETURN_IF_ERROR(resolve_id("mask", c.mask_id, def_mask, n, &t->mask));
  int32_t fim_pre, fim_suf, fim_mid, fim_pad, fim_rep, fim_sep;
  RETURN_IF_ERROR(resolve_id("fim_pre", c.fim_pre_id, -1, n, &fim_pre));
  RETURN_IF_ERROR(resolve_id("fim_suf", c.fim_suf_id, -1, n, &fim_suf));
  RETURN_IF_ERROR(resolve_id("fim_mid", c.fim_mid_id, -1, n, &fim_mid));
  RETURN_IF_ERROR(resolve_id("fim_pad", c.fim_pad_id, -1, n, &fim_pad));
  RETURN_IF_ERROR(resolve_id("fim_rep", c.fim_rep_id, -1, n, &fim_rep));
  RETURN_IF_ERROR(resolve_id("fim_sep", c.fim_sep_id, -1, n, &fim_sep));

  if (c.add_bos) t->add_bos = *c.add_bos;
  if (c.add_eos) t->add_eos = *c.add_eos;
  if (c.add_sep) t->add_sep = *c.add_sep;
  if (c.add_space_prefix && t->kind == Impl::Kind::kSpm) t->add_space_prefix = *c.add_space_prefix;
  if (c.lowercase) t->lowercase = *c.lowercase;
  t->strip_accents = c.strip_accents.value_or(t->lowercase);
  if (t->add_bos && t->bos < 0) return invalid_argument("tokenizer adds a BOS token but has no BOS id");
  if (t->add_eos && t->eos < 0) return invalid_argument("tokenizer adds an EOS token but has no EOS id");
  if (t->add_sep && t->sep < 0) t->add_sep = false;

  // Byte tokens: <0xNN> (SentencePiece) or the byte itself.
  t->byte_token.assign(256, -1);
  for (int b = 0; b < 256; ++b) {
    static const char kHex[] = "0123456789ABCDEF";
    const char hex[7] = {'<', '0', 'x', kHex[b >> 4], kHex[b & 15], '>', 0};
    int32_t id = t->find(hex);
    if (id < 0) id = t->find(std::string(1, static_cast<char>(b)));
    t->byte_token[b] = id;
  }

  // Auto-detected end-of-turn and fill-in-the-middle tokens; they become control tokens.
  auto mark_control = [&](int32_t id) {
    if (id >= 0) t->attr[id] |= kAttrControl;
  };
  if (t->eot < 0) mark_control(t->eot = first_with_text(*t, kEotTexts));
  if (t->eom < 0) mark_control(t->eom = t->find("<|eom_id|>"));
  if (fim_pad < 0) mark_control(fim_pad = first_with_text(*t, kFimPadTexts));
  if (fim_rep < 0) mark_control(fim_rep = first_with_text(*t, kFimRepTexts));
  if (fim_sep < 0) mark_control(fim_sep = first_with_text(*t, kFimSepTexts));
  for (int32_t i = 0; i < n; ++i) {
    if ((t->attr[i] & kAttrControl) && contains(t->text[i], "unused")) t->attr[i] |= kAttrUnused;
  }

  t->eog.assign(n, 0);
  for (int32_t id : {fim_pad, fim_rep, fim_sep, t->eos, t->eot, t->eom}) {
    if (id >= 0) t->eog[id] = 1;
  }
  for (std::string_view s : kEogTexts) {
    const int32_t id = t->find(s);
    if (id >= 0) {
      t->eog[id] = 1;
      mark_control(id);
    }
  }
  for (std::string_view s : {"<|channel|>", "<|message|>", "<|start|>", "<|constrain|>"}) {
    const int32_t id = t->find(s);
    if (id >= 0) t->attr[id] = kAttrUserDefined;
  }
  {
    // o200k_harmony / solar-open: <|end|> is not the end of generation there.
    auto eog_has = [&](std::string_view s) {
      const int32_t id = t->find(s);
      return id >= 0 && t->eog[id];
    };
    const int32_t end_id = t->find("<|end|>");
    if (end_id >= 0 && t->eog[end_id] &&
        ((eog_has("<|return|>") && eog_has("<|call|>")) || (eog_has("<|calls|>") && eog_has("<|flush|>")))) {
      t->eog[end_id] = 0;
      t->attr[end_id] = kAttrUserDefined;
    }
    const int32_t s_id = t->find("</s>");
    if (s_id >= 0 && t->eog[s_id] && eog_has("<|tool_response>") && s_id != t->eos) {
      t->eog[s_id] = 0;
      t->attr[s_id] = kAttrNormal;
    }
  }

  // Tokens matched in the text before tokenizing, longest first.
  for (int32_t i = 0; i < n; ++i) {
    if (t->attr[i] & (kAttrControl | kAttrUserDefined | kAttrUnknown)) t->special_order.push_back(i);
  }
  std::stable_sort(t->special_order.begin(), t->special_order.end(),
                   [&](int32_t a, int32_t b) { return t->text[a].size() > t->text[b].size(); });

  // Per-model strip flags (llama.cpp keys them on the model's name).
  const std::string name = lower_ascii(c.name);
  auto set_attr = [&](std::string_view s, uint16_t a, bool on) {
    const int32_t id = t->find(s);
    if (id >= 0) t->attr[id] = on ? (t->attr[id] | a) : (t->attr[id] & ~a);
  };
  if (contains(c.pre, "jina-v2-de") || contains(c.pre, "jina-v2-es") || contains(c.pre, "jina-v2-code") ||
      contains(c.architecture, "nomic-bert-moe") || contains(c.architecture, "jina-bert-v3")) {
    set_attr("<mask>", kAttrLstrip, true);
  } else if (contains(name, "phi-3") || contains(name, "phi3")) {
    for (int32_t id : t->special_order) t->attr[id] |= kAttrRstrip;
    set_attr("</s>", kAttrRstrip, true);
    for (std::string_view s : {"<unk>", "<s>", "<|endoftext|>"}) set_attr(s, kAttrRstrip, false);
  } else if (contains(name, "modern-bert")) {
    set_attr("[MASK]", kAttrLstrip, true);
  }
  build_trie(t.get());

  // The newline token.
  if (t->kind == Impl::Kind::kSpm) {
    t->nl = t->byte_token['\n'];
  } else if (t->kind == Impl::Kind::kWpm) {
    t->nl = t->pad;
  } else {
    std::vector<int32_t> ids;
    t->encode_bpe("\n", &ids);
    t->nl = ids.empty() ? t->pad : ids[0];
  }
  return std::unique_ptr<Tokenizer>(new Tokenizer(std::move(t)));
}

Tokenizer::Tokenizer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Tokenizer::~Tokenizer() = default;

std::vector<int32_t> Tokenizer::encode(std::string_view text, bool add_special, bool parse_special) const {
  const Impl& t = *impl_;
  struct Fragment {
    int32_t token;  // -1: text [off, off + len)
    size_t off, len;
  };
  std::vector<Fragment> frags;
  if (!text.empty()) frags.push_back({-1, 0, text.size()});

  // Which special tokens occur at all (one trie walk from each position).
  const uint16_t eligible = parse_special ? (kAttrControl | kAttrUnknown | kAttrUserDefined) : kAttrUserDefined;
  std::vector<uint8_t> occurs;
  if (t.trie.size() > 1) {
    for (size_t i = 0; i < text.size(); ++i) {
      int32_t node = 0;
      for (size_t j = i; j < text.size(); ++j) {
        const auto& next = t.trie[node].next;
        const uint8_t c = static_cast<uint8_t>(text[j]);
        auto it = std::lower_bound(next.begin(), next.end(), std::make_pair(c, int32_t{-1}),
                                   [](const auto& a, const auto& b) { return a.first < b.first; });
        if (it == next.end() || it->first != c) break;
        node = it->second;
        const int32_t id = t.trie[node].token;
        if (id >= 0 && (t.attr[id] & eligible)) {
          if (occurs.empty()) occurs.assign(t.text.size(), 0);
          occurs[id] = 1;
        }
      }
    }
  }
  // Split the text fragments on each special token, longest token first (llama.cpp's order).
  if (!occurs.empty()) {
    std::vector<Fragment> next;
    for (int32_t id : t.special_order) {
      if (!occurs[id]) continue;
      const std::string_view tok = t.text[id];
      const bool lstrip = t.attr[id] & kAttrLstrip;
      const bool rstrip = t.attr[id] & kAttrRstrip;
      next.clear();
      for (const Fragment& f : frags) {
        if (f.token >= 0) {
          next.push_back(f);
          continue;
        }
        size_t base = f.off, len = f.len;
        while (len > 0) {
          const size_t m = text.substr(0, base + len).find(tok, base);
          if (m == std::string_view::npos) {
            next.push_back({-1, base, len});
            break;
          }
          size_t left = m - base;
          if (lstrip) {
            while (left > 0 && std::isspace(static_cast<unsigned char>(text[base + left - 1]))) --left;
          }
          if (left > 0) next.push_back({-1, base, left});
          next.push_back({id, 0, 0});
          size_t r_off = m + tok.size();
          size_t r_len = base + len - r_off;
          if (rstrip) {
            while (r_len > 0 && std::isspace(static_cast<unsigned char>(text[r_off]))) ++r_off, --r_len;
          }
          base = r_off;
          len = r_len;
        }
      }
      frags.swap(next);
    }
  }

  std::vector<int32_t> out;
  out.reserve(text.size() / 3 + 4);
  if (add_special && t.add_bos && t.bos >= 0) out.push_back(t.bos);
  bool prev_special = true;  // SentencePiece: a space goes before text at the start or after a special token
  std::string buf;
  for (const Fragment& f : frags) {
    if (f.token >= 0) {
      out.push_back(f.token);
      prev_special = true;
      continue;
    }
    const std::string_view piece = text.substr(f.off, f.len);
    switch (t.kind) {
      case Impl::Kind::kSpm: {
        buf.clear();
        if (t.add_space_prefix && prev_special) buf += "\xE2\x96\x81";
        for (char ch : piece) {
          if (ch == ' ') {
            buf += "\xE2\x96\x81";
          } else {
            buf.push_back(ch);
          }
        }
        t.encode_spm(buf, &out);
        break;
      }
      case Impl::Kind::kBpe: t.encode_bpe(piece, &out); break;
      case Impl::Kind::kWpm: t.encode_wpm(piece, &out); break;
    }
    prev_special = false;
  }
  if (add_special && t.add_eos && t.eos >= 0) out.push_back(t.eos);
  if (add_special && t.kind == Impl::Kind::kWpm && t.add_sep && t.sep >= 0) out.push_back(t.sep);
  return out;
}

std::string Impl::piece(int32_t id, bool special) const {
  if (id < 0 || id >= static_cast<int32_t>(text.size())) return {};
  const uint16_t a = attr[id];
  const std::string& s = text[id];
  if (a & (kAttrUnknown | kAttrControl)) return special ? s : std::string();
  if (a & kAttrUserDefined) return s;
  if (a & kAttrByte) {
    uint8_t b;
    return parse_byte_token(s, &b) ? std::string(1, static_cast<char>(b)) : std::string();
  }
  if (!(a & kAttrNormal)) return {};
  std::string out;
  out.reserve(s.size());
  if (kind == Kind::kBpe) {
    for (size_t pos = 0; pos < s.size();) {
      const size_t start = pos;
      const uint32_t cp = unicode::decode_utf8(s, &pos);
      const int b = unicode::codepoint_to_byte(cp);
      if (b >= 0) {
        out.push_back(static_cast<char>(b));
      } else {
        out.append(s, start, pos - start);  // not a byte stand-in: keep the text
      }
    }
    return out;
  }
  for (size_t i = 0; i < s.size(); ++i) {  // '▁' (E2 96 81) -> ' '
    if (s.compare(i, 3, "\xE2\x96\x81") == 0) {
      out.push_back(' ');
      i += 2;
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

std::string Tokenizer::token_to_piece(int32_t id, bool special) const { return impl_->piece(id, special); }

std::string Tokenizer::decode(std::span<const int32_t> ids, bool special) const {
  std::string out;
  bool strip_space = impl_->kind == Impl::Kind::kSpm && impl_->add_space_prefix;
  for (int32_t id : ids) {
    std::string p = impl_->piece(id, special);
    if (p.empty()) continue;
    if (strip_space && out.empty() && p[0] == ' ') p.erase(0, 1);
    strip_space = false;
    out += p;
  }
  return out;
}

int32_t Tokenizer::bos_id() const { return impl_->bos; }
int32_t Tokenizer::eos_id() const { return impl_->eos; }
int32_t Tokenizer::eot_id() const { return impl_->eot; }
int32_t Tokenizer::unk_id() const { return impl_->unk; }
int32_t Tokenizer::sep_id() const { return impl_->sep; }
int32_t Tokenizer::pad_id() const { return impl_->pad; }
int32_t Tokenizer::nl_id() const { return impl_->nl; }
bool Tokenizer::add_bos() const { return impl_->add_bos; }
bool Tokenizer::add_eos() const { return impl_->add_eos; }
int32_t Tokenizer::n_vocab() const { return static_cast<int32_t>(impl_->text.size()); }
std::string_view Tokenizer::model() const { return impl_->model; }
std::string_view Tokenizer::pre() const { return impl_->pre_name; }

bool Tokenizer::is_eog(int32_t id) const {
  return id >= 0 && id < n_vocab() && impl_->eog[id];
}

bool Tokenizer::is_special(int32_t id) const {
  return id >= 0 && id < n_vocab() && (impl_->attr[id] & (kAttrControl | kAttrUnknown | kAttrUserDefined));
}

std::string_view Tokenizer::token_text(int32_t id) const {
  return id >= 0 && id < n_vocab() ? std::string_view(impl_->text[id]) : std::string_view();
}

TokenType Tokenizer::token_type(int32_t id) const {
  return id >= 0 && id < n_vocab() ? impl_->type[id] : TokenType::kUndefined;
}

float Tokenizer::token_score(int32_t id) const { return id >= 0 && id < n_vocab() ? impl_->score[id] : 0.0f; }

int32_t Tokenizer::token_id(std::string_view text) const { return impl_->find(text); }

// ---------------------------------------------------------------------------------------------
// GGUF

namespace {

using formats::GgufFile;
using formats::GgufValue;

Status read_string_array(const GgufFile& f, std::string_view key, bool required, std::vector<std::string>* out) {
  const GgufValue* v = f.find(key);
  if (v == nullptr) {
    if (required) return not_found(f.path() + ": metadata key " + std::string(key) + " is missing");
    return ok_status();
  }
  const formats::GgufArray* arr = v->as_array();
  if (arr == nullptr || v->array_type != GgufValue::Type::kString) {
    return invalid_argument(f.path() + ": metadata key " + std::string(key) + " is not an array of strings");
  }
  out->reserve(arr->size());
  for (const GgufValue& e : *arr) {
    const std::string* s = e.as_string();
    if (s == nullptr) return invalid_argument(f.path() + ": " + std::string(key) + " holds a non-string");
    out->push_back(*s);
  }
  return ok_status();
}

template <typename T>
Status read_number_array(const GgufFile& f, std::string_view key, bool integral, std::vector<T>* out) {
  const GgufValue* v = f.find(key);
  if (v == nullptr) return ok_status();
  const formats::GgufArray* arr = v->as_array();
  if (arr == nullptr) return invalid_argument(f.path() + ": metadata key " + std::string(key) + " is not an array");
  out->reserve(arr->size());
  for (const GgufValue& e : *arr) {
    if (integral) {
      int64_t x;
      if (!e.as_int(&x) || x < INT32_MIN || x > INT32_MAX) {
        return invalid_argument(f.path() + ": " + std::string(key) + " holds a value that is not a 32-bit integer");
      }
      out->push_back(static_cast<T>(x));
    } else {
      double x;
      if (!e.as_float(&x)) return invalid_argument(f.path() + ": " + std::string(key) + " holds a non-number");
      out->push_back(static_cast<T>(x));
    }
  }
  return ok_status();
}

Status read_id(const GgufFile& f, std::string_view key, std::optional<int32_t>* out) {
  const GgufValue* v = f.find(key);
  if (v == nullptr) return ok_status();
  int64_t x;
  if (!v->as_int(&x)) return invalid_argument(f.path() + ": metadata key " + std::string(key) + " is not an integer");
  if (x < 0 || x > INT32_MAX) {
    return out_of_range(f.path() + ": " + std::string(key) + " = " + std::to_string(x) + " is not a token id");
  }
  *out = static_cast<int32_t>(x);
  return ok_status();
}

Status read_bool(const GgufFile& f, std::string_view key, std::optional<bool>* out) {
  const GgufValue* v = f.find(key);
  if (v == nullptr) return ok_status();
  int64_t x;
  if (!v->as_int(&x)) return invalid_argument(f.path() + ": metadata key " + std::string(key) + " is not a boolean");
  *out = x != 0;
  return ok_status();
}

Status read_string(const GgufFile& f, std::string_view key, std::string* out) {
  const GgufValue* v = f.find(key);
  if (v == nullptr) return ok_status();
  const std::string* s = v->as_string();
  if (s == nullptr) return invalid_argument(f.path() + ": metadata key " + std::string(key) + " is not a string");
  *out = *s;
  return ok_status();
}

}  // namespace

Result<std::unique_ptr<Tokenizer>> Tokenizer::from_gguf(const formats::GgufFile& f) {
  TokenizerConfig c;
  if (f.find("tokenizer.ggml.model") == nullptr) {
    return not_found(f.path() + ": no tokenizer (metadata key tokenizer.ggml.model is missing)");
  }
  RETURN_IF_ERROR(read_string(f, "tokenizer.ggml.model", &c.model));
  RETURN_IF_ERROR(read_string(f, "tokenizer.ggml.pre", &c.pre));
  RETURN_IF_ERROR(read_string(f, "general.name", &c.name));
  RETURN_IF_ERROR(read_string(f, "general.architecture", &c.architecture));
  RETURN_IF_ERROR(read_string_array(f, "tokenizer.ggml.tokens", true, &c.tokens));
  RETURN_IF_ERROR(read_number_array(f, "tokenizer.ggml.scores", false, &c.scores));
  RETURN_IF_ERROR(read_number_array(f, "tokenizer.ggml.token_type", true, &c.token_types));
  if (c.model == "gpt2") RETURN_IF_ERROR(read_string_array(f, "tokenizer.ggml.merges", true, &c.merges));

  struct IdKey {
    const char* key;
    std::optional<int32_t>* dst;
  };
  const IdKey ids[] = {
      {"tokenizer.ggml.bos_token_id", &c.bos_id},       {"tokenizer.ggml.eos_token_id", &c.eos_id},
      {"tokenizer.ggml.eot_token_id", &c.eot_id},       {"tokenizer.ggml.eom_token_id", &c.eom_id},
      {"tokenizer.ggml.unknown_token_id", &c.unk_id},   {"tokenizer.ggml.seperator_token_id", &c.sep_id},
      {"tokenizer.ggml.padding_token_id", &c.pad_id},   {"tokenizer.ggml.mask_token_id", &c.mask_id},
      {"tokenizer.ggml.fim_pre_token_id", &c.fim_pre_id}, {"tokenizer.ggml.fim_suf_token_id", &c.fim_suf_id},
      {"tokenizer.ggml.fim_mid_token_id", &c.fim_mid_id}, {"tokenizer.ggml.fim_pad_token_id", &c.fim_pad_id},
      {"tokenizer.ggml.fim_rep_token_id", &c.fim_rep_id}, {"tokenizer.ggml.fim_sep_token_id", &c.fim_sep_id},
      {"tokenizer.ggml.prefix_token_id", &c.fim_pre_id},  {"tokenizer.ggml.suffix_token_id", &c.fim_suf_id},
      {"tokenizer.ggml.middle_token_id", &c.fim_mid_id},
  };
  for (const IdKey& k : ids) {
    std::optional<int32_t> v;
    RETURN_IF_ERROR(read_id(f, k.key, &v));
    if (v && !k.dst->has_value()) *k.dst = v;
  }
  if (c.model == "bert" && !c.bos_id) RETURN_IF_ERROR(read_id(f, "tokenizer.ggml.cls_token_id", &c.bos_id));
  RETURN_IF_ERROR(read_bool(f, "tokenizer.ggml.add_bos_token", &c.add_bos));
  RETURN_IF_ERROR(read_bool(f, "tokenizer.ggml.add_eos_token", &c.add_eos));
  RETURN_IF_ERROR(read_bool(f, "tokenizer.ggml.add_sep_token", &c.add_sep));
  RETURN_IF_ERROR(read_bool(f, "tokenizer.ggml.add_space_prefix", &c.add_space_prefix));
  RETURN_IF_ERROR(read_bool(f, "tokenizer.ggml.normalizer.lowercase", &c.lowercase));
  RETURN_IF_ERROR(read_bool(f, "tokenizer.ggml.normalizer.strip_accents", &c.strip_accents));

  auto r = create(std::move(c));
  if (!r.ok()) return r.status().with_context(f.path() + ": ");
  return r;
}

// ---------------------------------------------------------------------------------------------
// Utf8Streamer

namespace {

// Strict UTF-8: the number of bytes a sequence starting with `lead` has, 0 for an invalid lead;
// lo/hi bound its second byte.
size_t strict_len(uint8_t lead, uint8_t* lo, uint8_t* hi) {
  *lo = 0x80, *hi = 0xBF;
  if (lead < 0x80) return 1;
  if (lead >= 0xC2 && lead <= 0xDF) return 2;
  if (lead >= 0xE0 && lead <= 0xEF) {
    if (lead == 0xE0) *lo = 0xA0;
    if (lead == 0xED) *hi = 0x9F;
    return 3;
  }
  if (lead >= 0xF0 && lead <= 0xF4) {
    if (lead == 0xF0) *lo = 0x90;
    if (lead == 0xF4) *hi = 0x8F;
    return 4;
  }
  return 0;
}

constexpr char kReplacementUtf8[] = "\xEF\xBF\xBD";

}  // namespace

std::string Utf8Streamer::push(std::string_view bytes) {
  pending_.append(bytes);
  std::string out;
  size_t i = 0;
  const size_t n = pending_.size();
  while (i < n) {
    const uint8_t lead = static_cast<uint8_t>(pending_[i]);
    uint8_t lo, hi;
    const size_t len = strict_len(lead, &lo, &hi);
    if (len == 0) {
      out += kReplacementUtf8;
      ++i;
      continue;
    }
    // Count the valid continuation bytes present.
    size_t k = 1;
    while (k < len && i + k < n) {
      const uint8_t b = static_cast<uint8_t>(pending_[i + k]);
      const bool ok = k == 1 ? (b >= lo && b <= hi) : (b >= 0x80 && b <= 0xBF);
      if (!ok) break;
      ++k;
    }
    if (k == len) {
      out.append(pending_, i, len);
      i += len;
    } else if (i + k == n) {
      break;  // incomplete so far: hold back
    } else {
      out += kReplacementUtf8;  // cut short by an invalid byte: one U+FFFD for the prefix
      i += k;
    }
  }
  pending_.erase(0, i);
  return out;
}

std::string Utf8Streamer::flush() {
  std::string out = pending_.empty() ? std::string() : std::string(kReplacementUtf8);
  pending_.clear();
  return out;
}

}  // namespace edgeai::llm
