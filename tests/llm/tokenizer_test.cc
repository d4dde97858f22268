// Tokenizers against llama.cpp's tokenizer fixtures (../shared/data/slm/tokenizers: the ids
// llama.cpp's test-tokenizer-0 produced, add_special=false, parse_special=false), plus special
// tokens, decoding, UTF-8 streaming, pre-tokenizer splits and hostile metadata.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "formats/gguf/gguf.h"
#include "llm/tokenizer.h"
#include "llm/tokenizer_impl.h"

namespace edgeai::llm {
namespace {

const std::string kDir = std::string(EDGEAI_SOURCE_DIR) + "/../shared/data/slm/tokenizers/";

std::string read_file(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

std::unique_ptr<Tokenizer> load(const std::string& name) {
  const std::string path = kDir + "ggml-vocab-" + name + ".gguf";
  auto file = formats::GgufFile::open(path);
  EXPECT_TRUE(file.ok()) << file.status().message();
  if (!file.ok()) return nullptr;
  auto tok = Tokenizer::from_gguf(**file);
  EXPECT_TRUE(tok.ok()) << tok.status().message();
  if (!tok.ok()) return nullptr;
  return std::move(tok).value();
}

// The cases of a .inp file, split as llama.cpp's test-tokenizer-0 splits them.
std::vector<std::string> read_inputs(const std::string& path) {
  const std::string raw = read_file(path);
  const std::string sep = "\n__ggml_vocab_test__\n";
  std::vector<std::string> out;
  size_t pos = 0;
  while (pos < raw.size()) {
    const size_t next = raw.find(sep, pos);
    if (next == std::string::npos) {
      out.push_back(raw.substr(pos));
      break;
    }
    out.push_back(raw.substr(pos, next - pos));
    pos = next + sep.size();
  }
  return out;
}

std::vector<std::vector<int32_t>> read_outputs(const std::string& path) {
  std::ifstream f(path);
  std::vector<std::vector<int32_t>> out;
  for (std::string line; std::getline(f, line);) {
    std::istringstream is(line);
    std::vector<int32_t> ids;
    for (int32_t x; is >> x;) ids.push_back(x);
    out.push_back(std::move(ids));
  }
  return out;
}

std::string ids_text(const std::vector<int32_t>& ids) {
  std::string s;
  for (int32_t id : ids) s += (s.empty() ? "" : " ") + std::to_string(id);
  return s;
}

class FixtureTest : public ::testing::TestWithParam<const char*> {};

TEST_P(FixtureTest, AllCasesMatchLlamaCpp) {
  const std::string name = GetParam();
  const std::string base = kDir + "ggml-vocab-" + name + ".gguf";
  ASSERT_TRUE(std::filesystem::exists(kDir)) << "fixture folder missing: " << kDir;
  ASSERT_TRUE(std::filesystem::exists(base + ".inp")) << base << ".inp missing";
  ASSERT_TRUE(std::filesystem::exists(base + ".out")) << base << ".out missing";
  auto tok = load(name);
  ASSERT_NE(tok, nullptr);
  const auto inputs = read_inputs(base + ".inp");
  const auto expected = read_outputs(base + ".out");
  ASSERT_EQ(inputs.size(), expected.size());
  ASSERT_GE(inputs.size(), 40u);
  int passed = 0;
  for (size_t i = 0; i < inputs.size(); ++i) {
    const std::vector<int32_t> got = tok->encode(inputs[i], /*add_special=*/false, /*parse_special=*/false);
    EXPECT_EQ(ids_text(got), ids_text(expected[i])) << name << " case " << i << ": '" << inputs[i] << "'";
    passed += got == expected[i];
    // Decoding gives the text back (WordPiece lower-cases and drops spaces, so not there).
    if (tok->model() != "bert") {
      EXPECT_EQ(tok->decode(got), inputs[i]) << name << " case " << i;
    }
  }
  std::printf("%s: %d/%zu cases\n", name.c_str(), passed, inputs.size());
}

INSTANTIATE_TEST_SUITE_P(LlamaCppVocabs, FixtureTest,
                         ::testing::Values("llama-spm", "phi-3", "gpt-2", "mpt", "starcoder", "refact", "falcon",
                                           "deepseek-llm", "deepseek-coder", "bert-bge"),
                         [](const auto& info) {
                           std::string s = info.param;
                           for (char& c : s) {
                             if (c == '-') c = '_';
                           }
                           return s;
                         });

// Vocabularies without reference ids: they load, and text survives a round trip.
class LoadOnlyTest : public ::testing::TestWithParam<const char*> {};

TEST_P(LoadOnlyTest, LoadsAndRoundTrips) {
  auto tok = load(GetParam());
  ASSERT_NE(tok, nullptr);
  for (const std::string s : {"Hello world", " Hello, World!\n\tindented", "Ünïcödé 日本語 🚀 emoji", "x = a[3] + 42;",
                              "   trailing   "}) {
    const auto ids = tok->encode(s, false, false);
    EXPECT_FALSE(ids.empty());
    EXPECT_EQ(tok->decode(ids), s) << GetParam();
  }
  EXPECT_GE(tok->eos_id(), 0);
  EXPECT_TRUE(tok->is_eog(tok->eos_id()));
}

INSTANTIATE_TEST_SUITE_P(LlamaCppVocabs, LoadOnlyTest, ::testing::Values("baichuan", "gpt-neox"),
                         [](const auto& info) {
                           std::string s = info.param;
                           for (char& c : s) {
                             if (c == '-') c = '_';
                           }
                           return s;
                         });

TEST(Tokenizer, SpecialIdsAndFlags) {
  auto spm = load("llama-spm");
  ASSERT_NE(spm, nullptr);
  EXPECT_EQ(spm->model(), "llama");
  EXPECT_EQ(spm->n_vocab(), 32000);
  EXPECT_EQ(spm->bos_id(), 1);
  EXPECT_EQ(spm->eos_id(), 2);
  EXPECT_EQ(spm->nl_id(), 13);  // <0x0A>
  EXPECT_TRUE(spm->is_eog(2));
  EXPECT_FALSE(spm->is_eog(1));
  EXPECT_FALSE(spm->is_eog(-1));
  EXPECT_FALSE(spm->is_eog(1 << 30));
  // add_special: BOS only (tokenizer.ggml.add_bos_token true, add_eos_token false).
  EXPECT_EQ(spm->encode("Hello world", true, false), (std::vector<int32_t>{1, 15043, 3186}));
  EXPECT_EQ(spm->encode("", true, false), std::vector<int32_t>{1});
  EXPECT_TRUE(spm->encode("", false, false).empty());

  auto gpt2 = load("gpt-2");
  ASSERT_NE(gpt2, nullptr);
  EXPECT_EQ(gpt2->model(), "gpt2");
  EXPECT_EQ(gpt2->pre(), "gpt-2");
  EXPECT_FALSE(gpt2->add_bos());
  EXPECT_EQ(gpt2->encode("Hello world", true, false), (std::vector<int32_t>{15496, 995}));
  EXPECT_TRUE(gpt2->is_eog(50256));  // <|endoftext|>
  EXPECT_EQ(gpt2->nl_id(), 198);

  auto ds = load("deepseek-llm");
  ASSERT_NE(ds, nullptr);
  const auto with_bos = ds->encode("Hello", true, false);
  ASSERT_FALSE(with_bos.empty());
  EXPECT_EQ(with_bos[0], 100000);  // <｜begin▁of▁sentence｜>, add_bos_token true

  auto bert = load("bert-bge");
  ASSERT_NE(bert, nullptr);
  const auto cls_sep = bert->encode("hello", true, false);
  ASSERT_EQ(cls_sep.size(), 3u);
  EXPECT_EQ(cls_sep.front(), 101);  // [CLS]
  EXPECT_EQ(cls_sep.back(), 102);   // [SEP]
}

TEST(Tokenizer, ParseSpecial) {
  auto phi3 = load("phi-3");
  ASSERT_NE(phi3, nullptr);
  const int32_t user = phi3->token_id("<|user|>");
  const int32_t end = phi3->token_id("<|end|>");
  ASSERT_EQ(user, 32010);
  ASSERT_EQ(end, 32007);
  EXPECT_TRUE(phi3->is_eog(end));
  EXPECT_TRUE(phi3->is_eog(32000));  // <|endoftext|>, the EOS
  const std::string chat = "<|user|>\nHi<|end|>";
  const auto parsed = phi3->encode(chat, true, true);
  EXPECT_EQ(parsed.front(), 1);
  EXPECT_NE(std::find(parsed.begin(), parsed.end(), user), parsed.end());
  EXPECT_NE(std::find(parsed.begin(), parsed.end(), end), parsed.end());
  const auto plain = phi3->encode(chat, false, false);
  EXPECT_EQ(std::find(plain.begin(), plain.end(), user), plain.end());
  EXPECT_EQ(std::find(plain.begin(), plain.end(), end), plain.end());
  EXPECT_EQ(phi3->decode(plain), chat);
  // Control tokens render only when asked for.
  EXPECT_EQ(phi3->token_to_piece(user), "");
  EXPECT_EQ(phi3->token_to_piece(user, true), "<|user|>");
  // phi-3's special tokens strip the white space after them; SentencePiece puts a space before
  // text that follows a special token.
  EXPECT_EQ(phi3->decode(parsed, true), "<s><|user|> Hi<|end|>");

  auto gpt2 = load("gpt-2");
  ASSERT_NE(gpt2, nullptr);
  EXPECT_EQ(gpt2->encode("a<|endoftext|>b", false, true), (std::vector<int32_t>{64, 50256, 65}));
  const auto as_text = gpt2->encode("a<|endoftext|>b", false, false);
  EXPECT_GT(as_text.size(), 3u);
  EXPECT_EQ(gpt2->decode(as_text), "a<|endoftext|>b");
}

TEST(Tokenizer, TokenToPiece) {
  auto spm = load("llama-spm");
  ASSERT_NE(spm, nullptr);
  EXPECT_EQ(spm->token_to_piece(15043), " Hello");  // ▁Hello
  EXPECT_EQ(spm->token_to_piece(13), "\n");         // <0x0A>
  EXPECT_EQ(spm->token_to_piece(1), "");            // <s>
  EXPECT_EQ(spm->token_to_piece(1, true), "<s>");
  EXPECT_EQ(spm->token_to_piece(-5), "");
  EXPECT_EQ(spm->token_to_piece(32000), "");
  EXPECT_EQ(spm->token_type(13), TokenType::kByte);
  // decode drops the space SentencePiece puts before the text.
  EXPECT_EQ(spm->decode(std::vector<int32_t>{1, 15043, 3186}), "Hello world");

  auto gpt2 = load("gpt-2");
  ASSERT_NE(gpt2, nullptr);
  EXPECT_EQ(gpt2->token_to_piece(995), " world");  // Ġworld
  EXPECT_EQ(gpt2->token_to_piece(198), "\n");      // Ċ
  // Byte-level pieces of one emoji: only together are they valid UTF-8.
  const auto rocket = gpt2->encode("\xF0\x9F\x9A\x80", false, false);
  ASSERT_GT(rocket.size(), 1u);
  Utf8Streamer stream;
  std::string shown;
  for (int32_t id : rocket) shown += stream.push(gpt2->token_to_piece(id));
  shown += stream.flush();
  EXPECT_EQ(shown, "\xF0\x9F\x9A\x80");
}

TEST(Tokenizer, InvalidUtf8AndEdgeInputs) {
  const std::string bad = std::string("a\xFF\xFE\xC3(\xE2\x82 z\xF0\x9F\x98", 13);
  for (const char* name : {"llama-spm", "gpt-2", "deepseek-llm", "bert-bge"}) {
    auto tok = load(name);
    ASSERT_NE(tok, nullptr);
    for (bool special : {false, true}) {
      const auto ids = tok->encode(bad, special, special);
      EXPECT_FALSE(ids.empty()) << name;
      for (int32_t id : ids) EXPECT_TRUE(id >= 0 && id < tok->n_vocab()) << name;
      Utf8Streamer s;
      const std::string shown = s.push(tok->decode(ids)) + s.flush();
      EXPECT_FALSE(shown.empty());
    }
    EXPECT_TRUE(tok->encode("", false, false).empty()) << name;
    for (int32_t id : tok->encode(std::string(3, '\0'), true, true)) EXPECT_TRUE(id >= 0 && id < tok->n_vocab());
    // Out-of-range ids decode to nothing.
    EXPECT_EQ(tok->decode(std::vector<int32_t>{-1, tok->n_vocab(), 1 << 30}), "");
  }
  // SentencePiece keeps the bytes of invalid UTF-8 (byte fallback).
  auto spm = load("llama-spm");
  ASSERT_NE(spm, nullptr);
  const std::string bytes = "x\xFF\xC3y";
  EXPECT_EQ(spm->decode(spm->encode(bytes, false, false)), bytes);
  // Byte-level BPE reads them as U+FFFD.
  auto gpt2 = load("gpt-2");
  ASSERT_NE(gpt2, nullptr);
  EXPECT_EQ(gpt2->decode(gpt2->encode(bytes, false, false)), "x\xEF\xBF\xBD\xEF\xBF\xBDy");
}

TEST(Tokenizer, LongInputsStayFast) {
  // Merges go through a priority queue: long inputs cost O(n log n), not O(n^2).
  for (const char* name : {"llama-spm", "gpt-2", "starcoder", "deepseek-llm"}) {
    auto tok = load(name);
    ASSERT_NE(tok, nullptr);
    for (const std::string& s : {std::string(100000, ' '), std::string(100000, 'a'), std::string(50000, '7'),
                                 std::string(30000, '!') + std::string(30000, '\n')}) {
      const auto t0 = std::chrono::steady_clock::now();
      const auto ids = tok->encode(s, false, false);
      const double sec = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      EXPECT_LT(sec, 5.0) << name;
      EXPECT_EQ(tok->decode(ids), s) << name;
    }
  }
}

TEST(Utf8Streamer, HoldsBackPartialCharacters) {
  Utf8Streamer s;
  EXPECT_EQ(s.push("h\xC3"), "h");
  EXPECT_EQ(s.push("\xA9"), "\xC3\xA9");
  EXPECT_EQ(s.push("\xF0\x9F"), "");
  EXPECT_EQ(s.push("\x98"), "");
  EXPECT_EQ(s.push("\x80!"), "\xF0\x9F\x98\x80!");
  EXPECT_EQ(s.flush(), "");
  EXPECT_EQ(s.push("\xE2\x82"), "");
  EXPECT_EQ(s.flush(), "\xEF\xBF\xBD");  // cut short
  EXPECT_EQ(s.push(""), "");
}

TEST(Utf8Streamer, InvalidBytesBecomeReplacement) {
  const std::string r = "\xEF\xBF\xBD";
  Utf8Streamer s;
  EXPECT_EQ(s.push("\xFF" "a"), r + "a");
  EXPECT_EQ(s.push("\x80"), r);                       // stray continuation byte
  EXPECT_EQ(s.push("\xC0\x80"), r + r);               // overlong
  EXPECT_EQ(s.push("\xED\xA0\x80"), r + r + r);       // surrogate
  EXPECT_EQ(s.push("\xF4\x90\x80\x80"), r + r + r + r);  // above U+10FFFF
  EXPECT_EQ(s.push("\xE2\x82x"), r + "x");            // cut short by an ASCII byte
  EXPECT_EQ(s.flush(), "");
}

std::vector<std::string> split(PreTokenizer pre, const std::string& s) { return bpe_pre_tokenize(pre, s); }
using Words = std::vector<std::string>;

TEST(PreTokenizer, Gpt2) {
  EXPECT_EQ(split(PreTokenizer::kGpt2, "Hello world's 123  x\n"),
            (Words{"Hello", " world", "'s", " 123", " ", " x", "\n"}));
  EXPECT_EQ(split(PreTokenizer::kGpt2, "a  "), (Words{"a", "  "}));
  EXPECT_EQ(split(PreTokenizer::kGpt2, "(hi)!?"), (Words{"(", "hi", ")!?"}));
}

TEST(PreTokenizer, Llama3AndQwen2) {
  EXPECT_EQ(split(PreTokenizer::kLlama3, "Hello world 12345"), (Words{"Hello", " world", " ", "123", "45"}));
  EXPECT_EQ(split(PreTokenizer::kQwen2, "Hello world 12345"),
            (Words{"Hello", " world", " ", "1", "2", "3", "4", "5"}));
  EXPECT_EQ(split(PreTokenizer::kLlama3, "I'M here\n\n  ok"), (Words{"I", "'M", " here", "\n\n", " ", " ok"}));
  EXPECT_EQ(split(PreTokenizer::kLlama3, "(x) !!\r\n"), (Words{"(x", ")", " !!\r\n"}));
  EXPECT_EQ(split(PreTokenizer::kLlama3, "\tx"), (Words{"\tx"}));
}

TEST(PreTokenizer, DigitsAndPunctuationFamilies) {
  EXPECT_EQ(split(PreTokenizer::kStarcoder, "ab 123"), (Words{"ab", " ", "1", "2", "3"}));
  EXPECT_EQ(split(PreTokenizer::kFalcon, "x=12345;"), (Words{"x", "=", "123", "45", ";"}));
  EXPECT_EQ(split(PreTokenizer::kDeepseekCoder, "a\nb 12"), (Words{"a", "\n", "b", " ", "1", "2"}));
  EXPECT_EQ(split(PreTokenizer::kDeepseekLlm, "Hi 你好 42  "), (Words{"Hi", " ", "你好", " ", "42", "  "}));
}

TEST(WordPiece, Normalization) {
  EXPECT_EQ(wpm_pre_tokenize("Héllo, WORLD!", true, true), (Words{"hello", ",", "world", "!"}));
  EXPECT_EQ(wpm_pre_tokenize("Héllo", false, false), (Words{"Héllo"}));
  EXPECT_EQ(wpm_pre_tokenize("中文ab", true, true), (Words{"中", "文", "ab"}));
}

// --- hostile metadata ---

TokenizerConfig small_spm() {
  TokenizerConfig c;
  c.model = "llama";
  c.tokens = {"<unk>", "<s>", "</s>", "\xE2\x96\x81", "a", "b", "ab", "\xE2\x96\x81" "ab"};
  c.scores = {0, 0, 0, -1, -2, -2, -1.5f, -0.5f};
  c.token_types = {2, 3, 3, 1, 1, 1, 1, 1};
  return c;
}

TEST(TokenizerConfigTest, SmallVocabulary) {
  auto t = Tokenizer::create(small_spm());
  ASSERT_TRUE(t.ok()) << t.status().message();
  EXPECT_EQ((*t)->encode("ab", true, false), (std::vector<int32_t>{1, 7}));  // ▁ a b -> ▁ ab -> ▁ab
  // No byte tokens in this vocabulary: unknown characters become <unk>.
  EXPECT_EQ((*t)->encode("c", false, false), (std::vector<int32_t>{3, 0}));
}

TEST(TokenizerConfigTest, RejectsBadConfigs) {
  {
    TokenizerConfig c = small_spm();
    c.scores.resize(3);
    EXPECT_FALSE(Tokenizer::create(c).ok());
  }
  {
    TokenizerConfig c = small_spm();
    c.token_types.resize(2);
    EXPECT_FALSE(Tokenizer::create(c).ok());
  }
  {
    TokenizerConfig c = small_spm();
    c.bos_id = 100;
    auto r = Tokenizer::create(c);
    ASSERT_FALSE(r.ok());
    EXPECT_NE(r.status().message().find("bos"), std::string::npos);
  }
  {
    TokenizerConfig c = small_spm();
    c.eos_id = -3;
    EXPECT_FALSE(Tokenizer::create(c).ok());
  }
  {
    TokenizerConfig c = small_spm();
    c.tokens.push_back("a");  // duplicate
    c.scores.push_back(0);
    c.token_types.push_back(1);
    EXPECT_FALSE(Tokenizer::create(c).ok());
  }
  {
    TokenizerConfig c = small_spm();
    c.tokens.clear();
    c.scores.clear();
    c.token_types.clear();
    EXPECT_FALSE(Tokenizer::create(c).ok());
  }
  {
    TokenizerConfig c = small_spm();
    c.model = "t9";
    EXPECT_FALSE(Tokenizer::create(c).ok());
  }
  {
    TokenizerConfig c = small_spm();
    c.model = "gpt2";
    c.pre = "no-such-pre";
    EXPECT_FALSE(Tokenizer::create(c).ok());
  }
  {
    TokenizerConfig c = small_spm();
    c.bos_id = -1;  // no BOS, yet adding one
    c.add_bos = true;
    EXPECT_FALSE(Tokenizer::create(c).ok());
  }
}

class GgufMetadataTest : public ::testing::Test {
 protected:
  std::string path_ = (std::filesystem::temp_directory_path() /
                       ("edgeai_tok_" + std::to_string(::testing::UnitTest::GetInstance()->random_seed()) + "_" +
                        ::testing::UnitTest::GetInstance()->current_test_info()->name() + ".gguf"))
                          .string();
  void TearDown() override { std::filesystem::remove(path_); }

  static formats::GgufWriter base() {
    formats::GgufWriter w;
    w.set_string("general.architecture", "llama");
    w.set_string("tokenizer.ggml.model", "llama");
    w.set_string_array("tokenizer.ggml.tokens", {"<unk>", "<s>", "</s>", "\xE2\x96\x81" "a", "a"});
    w.set_f32_array("tokenizer.ggml.scores", {0, 0, 0, -1, -2});
    w.set_i32_array("tokenizer.ggml.token_type", {2, 3, 3, 1, 1});
    return w;
  }

  Result<std::unique_ptr<Tokenizer>> open(const formats::GgufWriter& w) {
    Status st = w.write(path_);
    if (!st.ok()) return st;
    auto f = formats::GgufFile::open(path_);
    if (!f.ok()) return f.status();
    return Tokenizer::from_gguf(**f);
  }
};

TEST_F(GgufMetadataTest, Valid) {
  auto t = open(base());
  ASSERT_TRUE(t.ok()) << t.status().message();
  EXPECT_EQ((*t)->encode("a", false, false), std::vector<int32_t>{3});
}

TEST_F(GgufMetadataTest, MissingScoresEntries) {
  auto w = base();
  w.set_f32_array("tokenizer.ggml.scores", {0, 0});
  auto t = open(w);
  ASSERT_FALSE(t.ok());
  EXPECT_NE(t.status().message().find("scores"), std::string::npos) << t.status().message();
}

TEST_F(GgufMetadataTest, ScoresOfWrongType) {
  auto w = base();
  w.set_string("tokenizer.ggml.scores", "high");
  EXPECT_FALSE(open(w).ok());
}

TEST_F(GgufMetadataTest, TokensMissingOrNotStrings) {
  {
    formats::GgufWriter w;
    w.set_string("tokenizer.ggml.model", "llama");
    auto t = open(w);
    ASSERT_FALSE(t.ok());
    EXPECT_NE(t.status().message().find("tokenizer.ggml.tokens"), std::string::npos);
  }
  {
    auto w = base();
    w.set_i32_array("tokenizer.ggml.tokens", {1, 2, 3});
    EXPECT_FALSE(open(w).ok());
  }
}

TEST_F(GgufMetadataTest, SpecialIdOutOfRange) {
  for (const char* key : {"tokenizer.ggml.bos_token_id", "tokenizer.ggml.eos_token_id",
                          "tokenizer.ggml.unknown_token_id", "tokenizer.ggml.padding_token_id"}) {
    auto w = base();
    w.set_u32(key, 5);
    auto t = open(w);
    ASSERT_FALSE(t.ok()) << key;
    EXPECT_NE(t.status().message().find(path_), std::string::npos);
  }
  auto w = base();
  w.set_i32("tokenizer.ggml.eos_token_id", -7);
  EXPECT_FALSE(open(w).ok());
}

TEST_F(GgufMetadataTest, TokenTypesShortOrUnknownModel) {
  {
    auto w = base();
    w.set_i32_array("tokenizer.ggml.token_type", {1});
    EXPECT_FALSE(open(w).ok());
  }
  {
    auto w = base();
    w.set_string("tokenizer.ggml.model", "nonsense");
    EXPECT_FALSE(open(w).ok());
  }
  {
    auto w = base();
    w.set_string("tokenizer.ggml.model", "gpt2");  // no merges
    auto t = open(w);
    ASSERT_FALSE(t.ok());
    EXPECT_NE(t.status().message().find("merges"), std::string::npos);
  }
}

TEST_F(GgufMetadataTest, NoTokenizerAtAll) {
  formats::GgufWriter w;
  w.set_string("general.architecture", "llama");
  auto t = open(w);
  ASSERT_FALSE(t.ok());
  EXPECT_EQ(t.status().code(), StatusCode::kNotFound);
}

}  // namespace
}  // namespace edgeai::llm
