// SentencePiece-style BPE over token scores (llama.cpp's llm_tokenizer_spm): start from UTF-8
// characters, repeatedly merge the adjacent pair whose concatenation is the vocabulary token
// with the highest score (leftmost first among equal scores), then emit byte tokens (<0xNN>) for
// any character that is not a token.
#include <algorithm>
#include <queue>

#include "llm/tokenizer_impl.h"
#include "llm/unicode.h"

namespace edgeai::llm {
namespace {

struct Symbol {
  uint32_t start;
  uint32_t n;  // 0 once merged into its left neighbour
  int32_t prev, next;
};

struct Bigram {
  float score;
  int32_t left, right;
  uint32_t size;  // bytes of left + right when queued
};

struct BigramBefore {  // priority_queue comparator: highest score first, then leftmost
  bool operator()(const Bigram& a, const Bigram& b) const {
    return a.score < b.score || (a.score == b.score && a.left > b.left);
  }
};

}  // namespace

void Tokenizer::Impl::encode_spm(std::string_view text, std::vector<int32_t>* out) const {
  std::vector<Symbol> sym;
  sym.reserve(text.size());
  for (size_t off = 0; off < text.size();) {
    const size_t n = std::min(unicode::utf8_len(static_cast<uint8_t>(text[off])), text.size() - off);
    const int32_t idx = static_cast<int32_t>(sym.size());
    sym.push_back(Symbol{static_cast<uint32_t>(off), static_cast<uint32_t>(n), idx - 1, -1});
    if (idx > 0) sym[idx - 1].next = idx;
    off += n;
  }

  std::priority_queue<Bigram, std::vector<Bigram>, BigramBefore> queue;
  auto try_bigram = [&](int32_t l, int32_t r) {
    if (l < 0 || r < 0) return;
    const uint32_t size = sym[l].n + sym[r].n;
    const int32_t id = find(text.substr(sym[l].start, size));
    if (id < 0) return;
    queue.push(Bigram{score[id], l, r, size});
  };
  for (int32_t i = 1; i < static_cast<int32_t>(sym.size()); ++i) try_bigram(i - 1, i);

  while (!queue.empty()) {
    const Bigram b = queue.top();
    queue.pop();
    Symbol& l = sym[b.left];
    Symbol& r = sym[b.right];
    if (l.n == 0 || r.n == 0 || l.n + r.n != b.size) continue;  // stale
    l.n += r.n;
    r.n = 0;
    l.next = r.next;
    if (r.next >= 0) sym[r.next].prev = b.left;
    try_bigram(l.prev, b.left);
    try_bigram(b.left, l.next);
  }

  for (int32_t i = sym.empty() ? -1 : 0; i >= 0; i = sym[i].next) {
    const std::string_view piece = text.substr(sym[i].start, sym[i].n);
    const int32_t id = find(piece);
    if (id >= 0) {
      out->push_back(id);
      continue;
    }
    for (unsigned char c : piece) {  // byte fallback
      const int32_t bid = byte_token[c];
      if (bid >= 0) {
        out->push_back(bid);
      } else if (unk >= 0) {
        out->push_back(unk);
      }
    }
  }
}

}  // namespace edgeai::llm
