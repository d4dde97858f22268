#include "llm/unicode.h"

#include <algorithm>
#include <array>

namespace edgeai::llm::unicode {
namespace {

// The Unicode White_Space property (PropList.txt); what the tokenizers' \s means.
bool white_space(uint32_t cp) {
  if (cp <= 0x20) return cp == 0x20 || (cp >= 0x09 && cp <= 0x0D);
  if (cp < 0x85) return false;
  return cp == 0x85 || cp == 0xA0 || cp == 0x1680 || (cp >= 0x2000 && cp <= 0x200A) ||
         cp == 0x2028 || cp == 0x2029 || cp == 0x202F || cp == 0x205F || cp == 0x3000;
}

uint16_t category(uint32_t cp) {
  // Last range whose start <= cp.
  const uint32_t* begin = kCategoryRanges;
  const uint32_t* end = kCategoryRanges + kCategoryRangesSize;
  const uint32_t* it =
      std::upper_bound(begin, end, cp, [](uint32_t c, uint32_t packed) { return c < (packed >> 8); });
  if (it == begin) return kControl;
  return static_cast<uint16_t>(*(it - 1) & 0xFF);
}

struct AsciiFlags {
  std::array<uint16_t, 128> f{};
};

AsciiFlags make_ascii_flags() {
  AsciiFlags a;
  for (uint32_t c = 0; c < 128; ++c) a.f[c] = category(c) | (white_space(c) ? kWhitespace : 0);
  return a;
}

struct ByteMap {
  std::array<uint32_t, 256> to_cp{};
  std::array<int16_t, 324> to_byte{};  // indexed by code point < 324
};

constexpr ByteMap make_byte_map() {
  ByteMap m;
  for (auto& v : m.to_byte) v = -1;
  int n = 0;
  for (int b = 0; b < 256; ++b) {
    bool printable = (b >= 0x21 && b <= 0x7E) || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
    uint32_t cp = printable ? static_cast<uint32_t>(b) : static_cast<uint32_t>(256 + n++);
    m.to_cp[b] = cp;
    m.to_byte[cp] = static_cast<int16_t>(b);
  }
  return m;
}

constexpr ByteMap kByteMap = make_byte_map();

}  // namespace

uint16_t flags(uint32_t cp) {
  static const AsciiFlags ascii = make_ascii_flags();  // constant once built
  if (cp < 128) return ascii.f[cp];
  if (cp > kMaxCodepoint) return 0;
  return category(cp) | (white_space(cp) ? kWhitespace : 0);
}

bool is_whitespace(uint32_t cp) { return white_space(cp); }

uint32_t to_lower(uint32_t cp) {
  if (cp < 128) return (cp >= 'A' && cp <= 'Z') ? cp + 32 : cp;
  const auto* begin = kLowercase;
  const auto* end = kLowercase + kLowercaseSize;
  const auto* it = std::lower_bound(begin, end, cp, [](const uint32_t(&p)[2], uint32_t c) { return p[0] < c; });
  return (it != end && (*it)[0] == cp) ? (*it)[1] : cp;
}

uint32_t nfd_head(uint32_t cp) {
  if (cp < 0xC0) return cp;
  const auto* begin = kNfdHead;
  const auto* end = kNfdHead + kNfdHeadSize;
  const auto* it = std::upper_bound(begin, end, cp, [](uint32_t c, const uint32_t(&t)[3]) { return c < t[0]; });
  if (it == begin) return cp;
  --it;
  return cp <= (*it)[1] ? (*it)[2] : cp;
}

size_t utf8_len(uint8_t lead) {
  static constexpr uint8_t kLen[16] = {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 3, 4};
  return kLen[lead >> 4];
}

uint32_t decode_utf8(std::string_view s, size_t* pos) {
  const size_t i = *pos;
  const auto b = [&](size_t k) { return static_cast<uint8_t>(s[i + k]); };
  const auto cont = [&](size_t k) { return i + k < s.size() && (b(k) & 0xC0) == 0x80; };
  const uint8_t c0 = b(0);
  uint32_t cp;
  size_t n;
  if (c0 < 0x80) {
    cp = c0;
    n = 1;
  } else if ((c0 & 0xE0) == 0xC0 && cont(1)) {
    cp = ((c0 & 0x1Fu) << 6) | (b(1) & 0x3Fu);
    n = 2;
  } else if ((c0 & 0xF0) == 0xE0 && cont(1) && cont(2)) {
    cp = ((c0 & 0x0Fu) << 12) | ((b(1) & 0x3Fu) << 6) | (b(2) & 0x3Fu);
    n = 3;
  } else if ((c0 & 0xF8) == 0xF0 && cont(1) && cont(2) && cont(3)) {
    cp = ((c0 & 0x07u) << 18) | ((b(1) & 0x3Fu) << 12) | ((b(2) & 0x3Fu) << 6) | (b(3) & 0x3Fu);
    n = 4;
    if (cp > kMaxCodepoint) {
      *pos = i + 1;
      return kReplacement;
    }
  } else {
    *pos = i + 1;
    return kReplacement;
  }
  *pos = i + n;
  return cp;
}

std::vector<uint32_t> to_codepoints(std::string_view s) {
  std::vector<uint32_t> out;
  out.reserve(s.size());
  size_t pos = 0;
  while (pos < s.size()) out.push_back(decode_utf8(s, &pos));
  return out;
}

void append_utf8(std::string* out, uint32_t cp) {
  if (cp < 0x80) {
    out->push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out->push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out->push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out->push_back(static_cast<char>(0xF0 | ((cp >> 18) & 0x07)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

uint32_t byte_to_codepoint(uint8_t b) { return kByteMap.to_cp[b]; }

int codepoint_to_byte(uint32_t cp) { return cp < kByteMap.to_byte.size() ? kByteMap.to_byte[cp] : -1; }

}  // namespace edgeai::llm::unicode
