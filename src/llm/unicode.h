// Unicode pieces the tokenizers need: UTF-8 decoding as llama.cpp does it, major general
// categories, white space, simple lowercase, NFD heads, and GPT-2's byte <-> unicode mapping.
// The tables are generated (scripts/gen_unicode_tables.py -> unicode_data.cc) and constant.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace edgeai::llm::unicode {

// Flag bits (the same layout as llama.cpp's unicode_cpt_flags). A code point has exactly one
// category bit; kWhitespace is added for White_Space code points.
enum : uint16_t {
  kNumber = 0x0002,       // \p{N}
  kLetter = 0x0004,       // \p{L}
  kSeparator = 0x0008,    // \p{Z}
  kMark = 0x0010,         // \p{M}
  kPunctuation = 0x0020,  // \p{P}
  kSymbol = 0x0040,       // \p{S}
  kControl = 0x0080,      // \p{C} (including unassigned)
  kCategoryMask = 0x00FF,
  kWhitespace = 0x0100,   // \s
};

constexpr uint32_t kReplacement = 0xFFFD;
constexpr uint32_t kMaxCodepoint = 0x10FFFF;

uint16_t flags(uint32_t cp);  // 0 for cp > U+10FFFF
bool is_whitespace(uint32_t cp);
uint32_t to_lower(uint32_t cp);   // first code point of the lowercase form
uint32_t nfd_head(uint32_t cp);   // first code point of the NFD form

// Length of a UTF-8 sequence from its lead byte, by its high nibble (llama.cpp's rule:
// continuation bytes count 1).
size_t utf8_len(uint8_t lead);
// Decodes one code point at `*pos` and advances. A malformed sequence (bad lead byte, missing
// continuation bytes, or a value above U+10FFFF) yields kReplacement and advances one byte.
// Like llama.cpp, overlong forms and surrogates are accepted.
uint32_t decode_utf8(std::string_view s, size_t* pos);
std::vector<uint32_t> to_codepoints(std::string_view s);
void append_utf8(std::string* out, uint32_t cp);  // cp must be <= U+10FFFF

// GPT-2 byte-level BPE: every byte has a printable code point stand-in.
uint32_t byte_to_codepoint(uint8_t b);
int codepoint_to_byte(uint32_t cp);  // -1 when cp stands for no byte

// Generated tables (unicode_data.cc).
extern const char kUnicodeVersion[];
extern const uint32_t kCategoryRanges[];
extern const size_t kCategoryRangesSize;
extern const uint32_t kLowercase[][2];
extern const size_t kLowercaseSize;
extern const uint32_t kNfdHead[][3];
extern const size_t kNfdHeadSize;

}  // namespace edgeai::llm::unicode
