// Byte-level BPE: pre-tokenizer splitting, the GPT-2 byte mapping, and rank-ordered merges.
//
// The pre-tokenizers are llama.cpp's regex lists (llama-vocab.cpp, llm_tokenizer_bpe), applied
// the way its unicode_regex_split applies them: each expression splits every current fragment
// into its matches and the gaps between them, and the next expression works on those pieces.
// The expressions are hand-coded here (std::regex has no \p{L}); what each one matches is noted
// beside it. Like llama.cpp, \p{..} classes see a code point's major general category, and \s is
// the White_Space property.
#include <algorithm>
#include <queue>

#include "llm/tokenizer_impl.h"
#include "llm/unicode.h"

namespace edgeai::llm {
namespace {

namespace uc = unicode;

struct Text {
  std::vector<uint32_t> cp;
  std::vector<uint16_t> fl;  // unicode::flags of each code point
};

// A half-open range of code points [begin, end) being split.
struct Span {
  const Text& t;
  size_t begin, end;
  uint32_t cp(size_t i) const { return i < end ? t.cp[i] : 0xFFFFFFFFu; }
  uint16_t fl(size_t i) const { return i < end ? t.fl[i] : 0; }
  bool ws(size_t i) const { return fl(i) & uc::kWhitespace; }
};

// Emits the pieces of a span as lengths: for a matcher that returns the length of the match
// starting at a position (0 = none), the leftmost matches and the gaps between them, as a
// std::regex_iterator walk would produce them.
template <typename Matcher>
void split_by_matches(const Span& s, Matcher match, std::vector<size_t>* out) {
  size_t gap = s.begin;
  size_t pos = s.begin;
  while (pos < s.end) {
    const size_t n = match(s, pos);
    if (n == 0) {
      ++pos;
      continue;
    }
    if (pos > gap) out->push_back(pos - gap);
    out->push_back(n);
    pos += n;
    gap = pos;
  }
  if (s.end > gap) out->push_back(s.end - gap);
}

// Length of the run starting at pos of code points satisfying pred.
template <typename Pred>
size_t run(const Span& s, size_t pos, Pred pred) {
  size_t p = pos;
  while (p < s.end && pred(s, p)) ++p;
  return p - pos;
}

// "\s?X+": an optional white-space code point, then one or more X.
template <typename Pred>
size_t opt_space_then_run(const Span& s, size_t pos, Pred pred) {
  if (s.ws(pos) && pos + 1 < s.end && pred(s, pos + 1)) return 1 + run(s, pos + 1, pred);
  return pred(s, pos) ? run(s, pos, pred) : 0;
}

bool is_num(const Span& s, size_t i) { return s.fl(i) & uc::kNumber; }
bool is_letter(const Span& s, size_t i) { return s.fl(i) & uc::kLetter; }
bool is_punct(const Span& s, size_t i) { return s.fl(i) & uc::kPunctuation; }
bool is_ascii_digit(const Span& s, size_t i) { return s.cp(i) >= '0' && s.cp(i) <= '9'; }

// Literal code point classes of the std::wregex expressions. As in llama.cpp, white space above
// U+007F has been replaced by U+000B before matching, so it never falls into these ranges.
bool in_wide_class(const Span& s, size_t i, std::initializer_list<std::pair<uint32_t, uint32_t>> ranges) {
  const uint32_t c = s.cp(i);
  if (c > 0x7F && s.ws(i)) return false;
  for (const auto& [lo, hi] : ranges) {
    if (c >= lo && c <= hi) return true;
  }
  return false;
}

// deepseek-llm's letter class (cased letters of the Latin, Greek, Cyrillic, Armenian, Georgian,
// Cherokee, Glagolitic, Coptic, Deseret, Osage, Old Hungarian, Warang Citi and Adlam scripts).
bool is_ds_letter(const Span& s, size_t i) {
  return in_wide_class(s, i, {
      {0x0041, 0x005A},   {0x0061, 0x007A},   {0x00B5, 0x00B5},   {0x00C0, 0x00D6},
      {0x00D8, 0x00F6},   {0x00F8, 0x01BA},   {0x01BC, 0x01BF},   {0x01C4, 0x0293},
      {0x0295, 0x02AF},   {0x0370, 0x0373},   {0x0376, 0x0377},   {0x037B, 0x037D},
      {0x037F, 0x037F},   {0x0386, 0x0386},   {0x0388, 0x038A},   {0x038C, 0x038C},
      {0x038E, 0x03A1},   {0x03A3, 0x03F5},   {0x03F7, 0x0481},   {0x048A, 0x052F},
      {0x0531, 0x0556},   {0x10A0, 0x10C5},   {0x13A0, 0x13F5},   {0x13F8, 0x13FD},
      {0x1C90, 0x1CBA},   {0x1CBD, 0x1CBF},   {0x1D00, 0x1D2B},   {0x1D6B, 0x1D77},
      {0x1D79, 0x1D9A},   {0x1E00, 0x1F15},   {0x1F18, 0x1F1D},   {0x1F20, 0x1F45},
      {0x1F48, 0x1F4D},   {0x1F50, 0x1F57},   {0x1F59, 0x1F59},   {0x1F5B, 0x1F5B},
      {0x1F5D, 0x1F5D},   {0x1F5F, 0x1F7D},   {0x1F80, 0x1FB4},   {0x1FB6, 0x1FBC},
      {0x1FBE, 0x1FBE},   {0x1FC2, 0x1FC4},   {0x1FC6, 0x1FCC},   {0x1FD0, 0x1FD3},
      {0x1FD6, 0x1FDB},   {0x1FE0, 0x1FEC},   {0x1FF2, 0x1FF4},   {0x1FF6, 0x1FFC},
      {0x2102, 0x2102},   {0x2107, 0x2107},   {0x210A, 0x2113},   {0x2115, 0x2115},
      {0x2119, 0x211D},   {0x2124, 0x2124},   {0x2126, 0x2126},   {0x2128, 0x2128},
      {0x212A, 0x212D},   {0x212F, 0x2134},   {0x2139, 0x2139},   {0x213C, 0x213F},
      {0x2145, 0x2149},   {0x214E, 0x214E},   {0x2183, 0x2184},   {0x2C00, 0x2C7B},
      {0x2C7E, 0x2CE4},   {0x2CEB, 0x2CEE},   {0x2CF2, 0x2CF3},   {0xA640, 0xA66D},
      {0xA680, 0xA69B},   {0xA722, 0xA76F},   {0xA771, 0xA787},   {0xA78B, 0xA78E},
      {0xAB70, 0xABBF},   {0xFB00, 0xFB06},   {0xFB13, 0xFB17},   {0xFF21, 0xFF3A},
      {0xFF41, 0xFF5A},   {0x10400, 0x1044F}, {0x104B0, 0x104D3}, {0x104D8, 0x104FB},
      {0x10C80, 0x10CB2}, {0x10CC0, 0x10CF2}, {0x118A0, 0x118DF}, {0x1E900, 0x1E943},
  });
}

// deepseek-llm's punctuation class: [!-/:-~！-／：-～‘-‟　-。].
bool is_ds_punct(const Span& s, size_t i) {
  return in_wide_class(s, i, {{0x21, 0x2F}, {0x3A, 0x7E}, {0xFF01, 0xFF0F}, {0xFF1A, 0xFF5E},
                              {0x2018, 0x201F}, {0x3000, 0x3002}});
}

// deepseek's CJK class: [一-龥ࠀ-一가-퟿].
bool is_ds_cjk(const Span& s, size_t i) {
  return in_wide_class(s, i, {{0x0800, 0x9FA5}, {0xAC00, 0xD7FF}});
}

// "[\p{P}\$\+<=>\^~\|`]+" (falcon, with_backtick) and "[\p{P}\$\+<=>\^~\|]+" (default).
size_t punct_run(const Span& s, size_t pos, bool with_backtick) {
  auto pred = [with_backtick](const Span& sp, size_t i) {
    const uint32_t c = sp.cp(i);
    if (c == '$' || c == '+' || c == '<' || c == '=' || c == '>' || c == '^' || c == '~' || c == '|') return true;
    if (c == '`') return with_backtick;
    return is_punct(sp, i);
  };
  return run(s, pos, pred);
}

// GPT-2: 's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)
// (the order of llama.cpp's unicode_regex_split_custom_gpt2, which also ends on \s+).
void split_gpt2(const Span& s, std::vector<size_t>* out) {
  size_t pos = s.begin;
  auto emit = [&](size_t end) {
    out->push_back(end - pos);
    pos = end;
  };
  while (pos < s.end) {
    const uint32_t c = s.cp(pos);
    const uint16_t f = s.fl(pos);
    if (c == '\'' && pos + 1 < s.end) {
      const uint32_t n = s.cp(pos + 1);
      if (n == 's' || n == 't' || n == 'm' || n == 'd') {
        emit(pos + 2);
        continue;
      }
      if (pos + 2 < s.end) {
        const uint32_t n2 = s.cp(pos + 2);
        if ((n == 'r' && n2 == 'e') || (n == 'v' && n2 == 'e') || (n == 'l' && n2 == 'l')) {
          emit(pos + 3);
          continue;
        }
      }
    }
    const size_t start = pos + (c == ' ' ? 1 : 0);
    const uint16_t f2 = c == ' ' ? s.fl(pos + 1) : f;
    if (f2 & uc::kLetter) {
      emit(start + run(s, start, is_letter));
      continue;
    }
    if (f2 & uc::kNumber) {
      emit(start + run(s, start, is_num));
      continue;
    }
    auto other = [](const Span& sp, size_t i) {
      const uint16_t g = sp.fl(i);
      return g != 0 && !(g & (uc::kWhitespace | uc::kLetter | uc::kNumber));
    };
    if (f2 != 0 && !(f2 & (uc::kWhitespace | uc::kLetter | uc::kNumber))) {
      emit(start + run(s, start, other));
      continue;
    }
    size_t n_ws = 0;
    while (s.ws(pos + n_ws)) ++n_ws;
    if (n_ws > 1 && pos + n_ws < s.end) {
      emit(pos + n_ws - 1);
      continue;
    }
    emit(pos + std::max<size_t>(n_ws, 1));
  }
}

// Llama 3 (max_digits 3) and Qwen2 (max_digits 1):
// (?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}|
//  ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+
void split_llama3(const Span& s, size_t max_digits, std::vector<size_t>* out) {
  size_t pos = s.begin;
  auto emit = [&](size_t end) {
    if (end > pos) out->push_back(end - pos);
    pos = end;
  };
  while (pos < s.end) {
    const uint32_t c = s.cp(pos);
    const uint16_t f = s.fl(pos);
    if (c == '\'' && pos + 1 < s.end) {
      const uint32_t n = uc::to_lower(s.cp(pos + 1));
      if (n == 's' || n == 't' || n == 'm' || n == 'd') {
        emit(pos + 2);
        continue;
      }
      if (pos + 2 < s.end) {
        const uint32_t n2 = uc::to_lower(s.cp(pos + 2));
        if ((n == 'r' && n2 == 'e') || (n == 'v' && n2 == 'e') || (n == 'l' && n2 == 'l')) {
          emit(pos + 3);
          continue;
        }
      }
    }
    if (!(c == '\r' || c == '\n' || (f & uc::kNumber))) {
      if ((f & uc::kLetter) || (s.fl(pos + 1) & uc::kLetter)) {
        emit(pos + 1 + run(s, pos + 1, is_letter));
        continue;
      }
    }
    if (f & uc::kNumber) {
      size_t n = run(s, pos, is_num);
      while (n > 0) {
        const size_t k = std::min(n, max_digits);
        emit(pos + k);
        n -= k;
      }
      continue;
    }
    const uint16_t f2 = c == ' ' ? s.fl(pos + 1) : f;
    if (!(f2 & (uc::kWhitespace | uc::kLetter | uc::kNumber)) && f != 0) {
      auto other = [](const Span& sp, size_t i) {
        const uint16_t g = sp.fl(i);
        return g != 0 && !(g & (uc::kWhitespace | uc::kLetter | uc::kNumber));
      };
      size_t p = pos + (c == ' ' ? 1 : 0);
      p += run(s, p, other);
      while (s.cp(p) == '\r' || s.cp(p) == '\n') ++p;
      emit(p);
      continue;
    }
    size_t n_ws = 0;
    size_t last_nl_end = 0;
    while (s.ws(pos + n_ws)) {
      const uint32_t c2 = s.cp(pos + n_ws);
      if (c2 == '\r' || c2 == '\n') last_nl_end = pos + n_ws + 1;
      ++n_ws;
    }
    if (last_nl_end > 0) {
      emit(last_nl_end);
      continue;
    }
    if (n_ws > 1 && pos + n_ws < s.end) {
      emit(pos + n_ws - 1);
      continue;
    }
    emit(pos + std::max<size_t>(n_ws, 1));
  }
}

enum class Step {
  kGpt2, kLlama3, kQwen2,
  kNewlines,        // [\r\n]
  kNumberEach,      // \p{N}
  kNumberRun,       // \p{N}+
  kThreeDigits,     // [0-9][0-9][0-9]
  kPunctFalcon,     // [\p{P}\$\+<=>\^~\|`]+
  kPunctDefault,    // [\p{P}\$\+<=>\^~\|]+
  kDsLetters,       // \s?[A-Za-zµÀ-ÖØ-ö...]+
  kDsPunct,         // \s?[!-/:-~！-／：-～‘-‟　-。]+
  kTrailingSpace,   // \s+$
  kDsCjk,           // [一-龥ࠀ-一가-퟿]+
  kSpaceLetters,    // \s?\p{L}+
  kSpacePunct,      // \s?\p{P}+
};

std::vector<Step> steps_of(PreTokenizer pre) {
  switch (pre) {
    case PreTokenizer::kGpt2: return {Step::kGpt2};
    case PreTokenizer::kLlama3: return {Step::kLlama3};
    case PreTokenizer::kQwen2: return {Step::kQwen2};
    case PreTokenizer::kDeepseekLlm:
      return {Step::kNewlines, Step::kDsLetters, Step::kDsPunct, Step::kTrailingSpace, Step::kDsCjk, Step::kNumberRun};
    case PreTokenizer::kDeepseekCoder:
      return {Step::kNewlines, Step::kSpaceLetters, Step::kSpacePunct, Step::kDsCjk, Step::kNumberEach};
    case PreTokenizer::kFalcon: return {Step::kPunctFalcon, Step::kGpt2, Step::kThreeDigits};
    case PreTokenizer::kStarcoder: return {Step::kNumberEach, Step::kGpt2};
    case PreTokenizer::kDefault: break;
  }
  return {Step::kPunctDefault, Step::kGpt2, Step::kNumberRun, Step::kThreeDigits};
}

void apply_step(Step step, const Span& s, std::vector<size_t>* out) {
  switch (step) {
    case Step::kGpt2: return split_gpt2(s, out);
    case Step::kLlama3: return split_llama3(s, 3, out);
    case Step::kQwen2: return split_llama3(s, 1, out);
    case Step::kNewlines:
      return split_by_matches(s, [](const Span& sp, size_t i) -> size_t { return sp.cp(i) == '\r' || sp.cp(i) == '\n'; }, out);
    case Step::kNumberEach:
      return split_by_matches(s, [](const Span& sp, size_t i) -> size_t { return is_num(sp, i) ? 1 : 0; }, out);
    case Step::kNumberRun:
      return split_by_matches(s, [](const Span& sp, size_t i) { return run(sp, i, is_num); }, out);
    case Step::kThreeDigits:
      return split_by_matches(s, [](const Span& sp, size_t i) -> size_t {
        return is_ascii_digit(sp, i) && is_ascii_digit(sp, i + 1) && is_ascii_digit(sp, i + 2) ? 3 : 0;
      }, out);
    case Step::kPunctFalcon:
      return split_by_matches(s, [](const Span& sp, size_t i) { return punct_run(sp, i, true); }, out);
    case Step::kPunctDefault:
      return split_by_matches(s, [](const Span& sp, size_t i) { return punct_run(sp, i, false); }, out);
    case Step::kDsLetters:
      return split_by_matches(s, [](const Span& sp, size_t i) { return opt_space_then_run(sp, i, is_ds_letter); }, out);
    case Step::kDsPunct:
      return split_by_matches(s, [](const Span& sp, size_t i) { return opt_space_then_run(sp, i, is_ds_punct); }, out);
    case Step::kTrailingSpace: {
      size_t t = s.end;
      while (t > s.begin && s.ws(t - 1)) --t;
      if (t > s.begin) out->push_back(t - s.begin);
      if (s.end > t) out->push_back(s.end - t);
      return;
    }
    case Step::kDsCjk:
      return split_by_matches(s, [](const Span& sp, size_t i) { return run(sp, i, is_ds_cjk); }, out);
    case Step::kSpaceLetters:
      return split_by_matches(s, [](const Span& sp, size_t i) { return opt_space_then_run(sp, i, is_letter); }, out);
    case Step::kSpacePunct:
      return split_by_matches(s, [](const Span& sp, size_t i) { return opt_space_then_run(sp, i, is_punct); }, out);
  }
}

// Pre-token boundaries of `text` as code point counts.
std::vector<size_t> pre_split(PreTokenizer pre, const Text& text) {
  std::vector<size_t> lens = {text.cp.size()};
  std::vector<size_t> next;
  for (Step step : steps_of(pre)) {
    next.clear();
    next.reserve(lens.size() * 2);
    size_t start = 0;
    for (size_t len : lens) {
      apply_step(step, Span{text, start, start + len}, &next);
      start += len;
    }
    lens.swap(next);
  }
  return lens;
}

Text decode_text(std::string_view s) {
  Text t;
  t.cp = uc::to_codepoints(s);
  t.fl.resize(t.cp.size());
  for (size_t i = 0; i < t.cp.size(); ++i) t.fl[i] = uc::flags(t.cp[i]);
  return t;
}

// One word's merge state: symbols are byte ranges of the (byte-mapped) word in a linked list.
struct Symbol {
  uint32_t start;
  uint32_t n;  // 0 once merged into its left neighbour
  int32_t prev, next;
};

struct Bigram {
  int32_t rank;
  int32_t left, right;
  uint32_t left_n, right_n;
};

struct BigramAfter {  // priority_queue comparator: lowest rank first, then leftmost
  bool operator()(const Bigram& a, const Bigram& b) const {
    return a.rank > b.rank || (a.rank == b.rank && a.left > b.left);
  }
};

}  // namespace

std::vector<std::string> bpe_pre_tokenize(PreTokenizer pre, std::string_view text) {
  const Text t = decode_text(text);
  std::vector<std::string> words;
  size_t start = 0;
  for (size_t len : pre_split(pre, t)) {
    std::string w;
    for (size_t i = start; i < start + len; ++i) uc::append_utf8(&w, t.cp[i]);
    words.push_back(std::move(w));
    start += len;
  }
  return words;
}

void Tokenizer::Impl::encode_bpe(std::string_view text, std::vector<int32_t>* out) const {
  const Text t = decode_text(text);
  const std::vector<size_t> lens = pre_split(pre, t);

  std::string word, utf8, key;
  std::vector<Symbol> sym;
  std::priority_queue<Bigram, std::vector<Bigram>, BigramAfter> queue;

  auto try_bigram = [&](int32_t l, int32_t r) {
    if (l < 0 || r < 0) return;
    const std::string_view wv(word);
    merge_key(&key, wv.substr(sym[l].start, sym[l].n), wv.substr(sym[r].start, sym[r].n));
    auto it = merge_rank.find(key);
    if (it == merge_rank.end()) return;
    queue.push(Bigram{it->second, l, r, sym[l].n, sym[r].n});
  };

  size_t start = 0;
  for (size_t len : lens) {
    // The word's UTF-8 bytes, each replaced by its byte-level stand-in.
    utf8.clear();
    for (size_t i = start; i < start + len; ++i) uc::append_utf8(&utf8, t.cp[i]);
    start += len;
    word.clear();
    for (unsigned char b : utf8) uc::append_utf8(&word, uc::byte_to_codepoint(b));

    if (ignore_merges) {
      const int32_t id = find(word);
      if (id >= 0) {
        out->push_back(id);
        continue;
      }
    }

    sym.clear();
    for (size_t off = 0; off < word.size();) {
      const size_t n = std::min(uc::utf8_len(static_cast<uint8_t>(word[off])), word.size() - off);
      const int32_t idx = static_cast<int32_t>(sym.size());
      sym.push_back(Symbol{static_cast<uint32_t>(off), static_cast<uint32_t>(n), idx - 1, -1});
      if (idx > 0) sym[idx - 1].next = idx;
      off += n;
    }
    for (int32_t i = 1; i < static_cast<int32_t>(sym.size()); ++i) try_bigram(i - 1, i);

    while (!queue.empty()) {
      const Bigram b = queue.top();
      queue.pop();
      Symbol& l = sym[b.left];
      Symbol& r = sym[b.right];
      if (l.n != b.left_n || r.n != b.right_n || l.n == 0 || r.n == 0) continue;  // stale
      l.n += r.n;
      r.n = 0;
      l.next = r.next;
      if (r.next >= 0) sym[r.next].prev = b.left;
      try_bigram(l.prev, b.left);
      try_bigram(b.left, l.next);
    }

    for (int32_t i = sym.empty() ? -1 : 0; i >= 0; i = sym[i].next) {
      const std::string_view piece = std::string_view(word).substr(sym[i].start, sym[i].n);
      const int32_t id = find(piece);
      if (id >= 0) {
        out->push_back(id);
        continue;
      }
      // Not in the vocabulary (an incomplete byte-level vocabulary): character by character.
      for (size_t off = 0; off < piece.size();) {
        const size_t n = std::min(uc::utf8_len(static_cast<uint8_t>(piece[off])), piece.size() - off);
        const int32_t cid = find(piece.substr(off, n));
        if (cid >= 0) {
          out->push_back(cid);
        } else if (unk >= 0) {
          out->push_back(unk);
        }
        off += n;
      }
    }
  }
}

}  // namespace edgeai::llm
