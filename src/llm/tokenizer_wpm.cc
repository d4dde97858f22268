// WordPiece (BERT) as llama.cpp does it (llm_tokenizer_wpm): normalize (lower-case, strip
// accents by keeping the head of each code point's NFD form), split on white space and around
// punctuation and CJK ideographs, then cover each word greedily with the longest vocabulary
// tokens. llama.cpp's converter stores word-initial pieces with a '▁' prefix and continuation
// pieces ("##x" in BERT's vocabulary) bare, so words are looked up as "▁" + word.
#include <algorithm>

#include "llm/tokenizer_impl.h"
#include "llm/unicode.h"

namespace edgeai::llm {
namespace {

bool is_cjk_ideograph(uint32_t cp) {
  return (cp >= 0x4E00 && cp <= 0x9FFF) || (cp >= 0x3400 && cp <= 0x4DBF) ||
         (cp >= 0x20000 && cp <= 0x2A6DF) || (cp >= 0x2A700 && cp <= 0x2B73F) ||
         (cp >= 0x2B740 && cp <= 0x2B81F) || (cp >= 0x2B920 && cp <= 0x2CEAF) ||  // sic, as HF
         (cp >= 0xF900 && cp <= 0xFAFF) || (cp >= 0x2F800 && cp <= 0x2FA1F);
}

}  // namespace

std::vector<std::string> wpm_pre_tokenize(std::string_view text, bool lowercase, bool strip_accents) {
  namespace uc = unicode;
  std::vector<std::string> words(1);
  for (uint32_t cp : uc::to_codepoints(text)) {
    if (strip_accents) cp = uc::nfd_head(cp);
    const uint16_t f = uc::flags(cp);
    if (f & uc::kWhitespace) {
      if (!words.back().empty()) words.emplace_back();
      continue;
    }
    if (cp == 0 || cp == uc::kReplacement || (f & uc::kControl)) continue;
    if (strip_accents && (f & uc::kMark)) continue;
    std::string s;
    uc::append_utf8(&s, lowercase ? uc::to_lower(cp) : cp);
    if ((f & uc::kPunctuation) || (cp < 0x7F && (f & uc::kSymbol)) || is_cjk_ideograph(cp)) {
      if (!words.back().empty()) words.emplace_back();
      words.back() = std::move(s);
      words.emplace_back();
    } else {
      words.back() += s;
    }
  }
  if (words.back().empty()) words.pop_back();
  return words;
}

void Tokenizer::Impl::encode_wpm(std::string_view text, std::vector<int32_t>* out) const {
  std::string word;
  for (const std::string& w : wpm_pre_tokenize(text, lowercase, strip_accents)) {
    word = "\xE2\x96\x81" + w;
    const size_t n = word.size();
    const size_t first = out->size();
    for (size_t i = 0; i < n;) {
      size_t matched = 0;
      for (size_t j = std::min(n, i + max_token_len + 1); j > i; --j) {
        const int32_t id = find(std::string_view(word).substr(i, j - i));
        if (id >= 0) {
          out->push_back(id);
          matched = j;
          break;
        }
      }
      if (matched == 0) {  // this word cannot be covered: it becomes one unknown token
        out->resize(first);
        break;
      }
      i = matched;
    }
    if (out->size() == first && unk >= 0) out->push_back(unk);
  }
}

}  // namespace edgeai::llm
