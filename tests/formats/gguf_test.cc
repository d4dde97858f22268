// GGUF reader and writer. Oracles: values written by GgufWriter read back identically; the
// llama.cpp-written vocabulary files in ../shared/data/slm/tokenizers read as
// scripts/gguf_dump.py (an independent struct-based parser) and published facts say; hostile files
// built byte by byte here each fail with a message naming the file and the thing.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "core/dtype.h"
#include "core/ggml_type.h"
#include "formats/gguf/gguf.h"

namespace {

using edgeai::GgmlType;
using edgeai::formats::GgufArray;
using edgeai::formats::GgufFile;
using edgeai::formats::GgufValue;
using edgeai::formats::GgufWriter;
using Type = GgufValue::Type;
namespace fs = std::filesystem;

const std::string kVocabDir = EDGEAI_SOURCE_DIR "/../shared/data/slm/tokenizers/";

uint32_t T(GgmlType t) { return static_cast<uint32_t>(t); }

fs::path temp_dir() {
  fs::path d = fs::temp_directory_path() / ("edgeai_gguf_test_" + std::to_string(getpid()));
  fs::create_directories(d);
  return d;
}

// Removes this process's scratch folder when the test program exits.
struct RemoveTempDirAtExit {
  ~RemoveTempDirAtExit() {
    std::error_code ec;
    fs::remove_all(fs::temp_directory_path() / ("edgeai_gguf_test_" + std::to_string(getpid())), ec);
  }
} remove_temp_dir_at_exit;

std::vector<uint8_t> read_all(const fs::path& p) {
  std::ifstream f(p, std::ios::binary);
  return std::vector<uint8_t>((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
}

std::vector<uint8_t> pattern(size_t n, int seed) {
  std::vector<uint8_t> v(n);
  for (size_t i = 0; i < n; ++i) v[i] = static_cast<uint8_t>((i * 131 + seed * 7 + (i >> 8)) & 0xff);
  return v;
}

// ---- Round trip ----

struct Written {
  std::string name;
  std::vector<int64_t> dims;
  uint32_t type;
  std::vector<uint8_t> data;
};

std::vector<Written> sample_tensors() {
  std::vector<Written> ts;
  auto add = [&](std::string name, std::vector<int64_t> dims, uint32_t type) {
    int64_t rows = 1;
    for (size_t i = 1; i < dims.size(); ++i) rows *= dims[i];
    int64_t bytes = edgeai::ggml_row_bytes(type, dims[0]) * rows;
    ts.push_back({std::move(name), std::move(dims), type, pattern(static_cast<size_t>(bytes), static_cast<int>(ts.size()))});
  };
  add("f32.1d", {7}, T(GgmlType::kF32));  // 28 bytes: padding follows
  add("f16.2d", {5, 3}, T(GgmlType::kF16));
  add("bf16.3d", {3, 2, 2}, T(GgmlType::kBF16));
  add("q4_0.2d", {64, 3}, T(GgmlType::kQ4_0));
  add("q8_0.4d", {32, 2, 1, 2}, T(GgmlType::kQ8_0));
  add("q4_k", {256, 2}, T(GgmlType::kQ4_K));
  add("q6_k", {512}, T(GgmlType::kQ6_K));
  add("i32", {3, 3}, T(GgmlType::kI32));
  add("f64", {2}, T(GgmlType::kF64));
  add("blk.0.a_name_of_exactly_sixty_four_bytes_abcdefghijklmnopqrstuvw", {8}, T(GgmlType::kI8));
  return ts;
}

void fill_every_type(GgufWriter* w) {
  w->set("t.u8", GgufValue::make_uint(Type::kU8, 255));
  w->set("t.i8", GgufValue::make_int(Type::kI8, -128));
  w->set("t.u16", GgufValue::make_uint(Type::kU16, 65535));
  w->set("t.i16", GgufValue::make_int(Type::kI16, -32768));
  w->set_u32("t.u32", 4294967295u);
  w->set_i32("t.i32", std::numeric_limits<int32_t>::min());
  w->set_f32("t.f32", 0.1f);
  w->set_bool("t.bool.true", true);
  w->set_bool("t.bool.false", false);
  w->set_string("t.string", std::string("h\xc3\xa9llo\0wor\xe2\x96\x81ld", 14));
  w->set_string("t.empty_string", "");
  w->set("t.u64", GgufValue::make_uint(Type::kU64, std::numeric_limits<uint64_t>::max()));
  w->set("t.i64", GgufValue::make_int(Type::kI64, std::numeric_limits<int64_t>::min()));
  w->set("t.f64", GgufValue::make_float(Type::kF64, 1.0 / 3.0));
  w->set_string_array("t.arr.string", {"a", "", "\xe2\x96\x81the"});
  w->set_f32_array("t.arr.f32", {1.5f, -0.0f, 3e38f});
  w->set_i32_array("t.arr.i32", {-1, 0, 2147483647});
  w->set("t.arr.u8", GgufValue::make_array(Type::kU8, {GgufValue::make_uint(Type::kU8, 0), GgufValue::make_uint(Type::kU8, 255)}));
  w->set("t.arr.i8", GgufValue::make_array(Type::kI8, {GgufValue::make_int(Type::kI8, -1)}));
  w->set("t.arr.u16", GgufValue::make_array(Type::kU16, {GgufValue::make_uint(Type::kU16, 65535)}));
  w->set("t.arr.i16", GgufValue::make_array(Type::kI16, {GgufValue::make_int(Type::kI16, -2)}));
  w->set("t.arr.u32", GgufValue::make_array(Type::kU32, {GgufValue::make_uint(Type::kU32, 7)}));
  w->set("t.arr.bool", GgufValue::make_array(Type::kBool, {GgufValue::make_bool(true), GgufValue::make_bool(false)}));
  w->set("t.arr.u64", GgufValue::make_array(Type::kU64, {GgufValue::make_uint(Type::kU64, 1ull << 63)}));
  w->set("t.arr.i64", GgufValue::make_array(Type::kI64, {GgufValue::make_int(Type::kI64, -(1ll << 62))}));
  w->set("t.arr.f64", GgufValue::make_array(Type::kF64, {GgufValue::make_float(Type::kF64, -2.5)}));
  w->set("t.arr.empty", GgufValue::make_array(Type::kF32, {}));
  GgufArray inner1{GgufValue::make_int(Type::kI32, 1), GgufValue::make_int(Type::kI32, 2)};
  GgufArray inner2{GgufValue::make_int(Type::kI32, 3)};
  w->set("t.arr.nested", GgufValue::make_array(Type::kArray, {GgufValue::make_array(Type::kI32, inner1),
                                                             GgufValue::make_array(Type::kI32, inner2)}));
}

TEST(GgufRoundTrip, EveryValueTypeAndTensorType) {
  fs::path path = temp_dir() / "roundtrip.gguf";
  GgufWriter w;
  fill_every_type(&w);
  w.set_u32("t.u32", 123);  // replacing keeps one entry
  auto tensors = sample_tensors();
  for (const auto& t : tensors) ASSERT_TRUE(w.add_tensor(t.name, t.dims, t.type, t.data).ok()) << t.name;
  ASSERT_TRUE(w.write(path.string()).ok());
  EXPECT_FALSE(fs::exists(path.string() + ".tmp"));

  auto r = GgufFile::open(path.string());
  ASSERT_TRUE(r.ok()) << r.status().message();
  const GgufFile& f = **r;
  EXPECT_EQ(f.version(), 3u);
  EXPECT_EQ(f.alignment(), 32u);
  EXPECT_EQ(f.metadata().size(), 28u);

  auto check_type = [&](const char* key, Type t) {
    const GgufValue* v = f.find(key);
    ASSERT_NE(v, nullptr) << key;
    EXPECT_EQ(v->type, t) << key;
  };
  check_type("t.u8", Type::kU8);
  check_type("t.i8", Type::kI8);
  check_type("t.u16", Type::kU16);
  check_type("t.i16", Type::kI16);
  check_type("t.u32", Type::kU32);
  check_type("t.i32", Type::kI32);
  check_type("t.f32", Type::kF32);
  check_type("t.bool.true", Type::kBool);
  check_type("t.string", Type::kString);
  check_type("t.u64", Type::kU64);
  check_type("t.i64", Type::kI64);
  check_type("t.f64", Type::kF64);
  check_type("t.arr.nested", Type::kArray);
  EXPECT_EQ(f.get_int("t.u8", 0), 255);
  EXPECT_EQ(f.get_int("t.i8", 0), -128);
  EXPECT_EQ(f.get_int("t.u16", 0), 65535);
  EXPECT_EQ(f.get_int("t.i16", 0), -32768);
  EXPECT_EQ(f.get_int("t.u32", 0), 123);
  EXPECT_EQ(f.get_int("t.i32", 0), std::numeric_limits<int32_t>::min());
  EXPECT_EQ(f.get_float("t.f32", 0), static_cast<double>(0.1f));
  EXPECT_EQ(f.get_int("t.bool.true", 7), 1);
  EXPECT_EQ(f.get_int("t.bool.false", 7), 0);
  EXPECT_EQ(f.get_string("t.string"), std::string("h\xc3\xa9llo\0wor\xe2\x96\x81ld", 14));
  EXPECT_EQ(f.get_string("t.empty_string", "default"), "");
  EXPECT_EQ(f.get_int("t.u64", -7), -7);  // above INT64_MAX: not an int64
  EXPECT_EQ(std::get<uint64_t>(f.find("t.u64")->v), std::numeric_limits<uint64_t>::max());
  EXPECT_EQ(f.get_int("t.i64", 0), std::numeric_limits<int64_t>::min());
  EXPECT_EQ(f.get_float("t.f64", 0), 1.0 / 3.0);
  EXPECT_EQ(f.get_string("t.u32", "dflt"), "dflt");  // wrong type: default
  EXPECT_EQ(f.get_int("t.string", -3), -3);
  EXPECT_EQ(f.get_int("absent", 42), 42);

  EXPECT_EQ(f.get_string_array("t.arr.string"), (std::vector<std::string>{"a", "", "\xe2\x96\x81the"}));
  auto f32s = f.get_float_array("t.arr.f32");
  ASSERT_EQ(f32s.size(), 3u);
  EXPECT_EQ(f32s[0], 1.5);
  EXPECT_TRUE(std::signbit(f32s[1]));
  EXPECT_EQ(f32s[2], static_cast<double>(3e38f));
  EXPECT_EQ(f.get_int_array("t.arr.i32"), (std::vector<int64_t>{-1, 0, 2147483647}));
  EXPECT_EQ(f.get_int_array("t.arr.u8"), (std::vector<int64_t>{0, 255}));
  EXPECT_EQ(f.get_int_array("t.arr.i8"), (std::vector<int64_t>{-1}));
  EXPECT_EQ(f.get_int_array("t.arr.u16"), (std::vector<int64_t>{65535}));
  EXPECT_EQ(f.get_int_array("t.arr.i16"), (std::vector<int64_t>{-2}));
  EXPECT_EQ(f.get_int_array("t.arr.u32"), (std::vector<int64_t>{7}));
  EXPECT_EQ(f.get_int_array("t.arr.bool"), (std::vector<int64_t>{1, 0}));
  EXPECT_EQ(f.get_int_array("t.arr.i64"), (std::vector<int64_t>{-(1ll << 62)}));
  EXPECT_TRUE(f.get_int_array("t.arr.u64").empty());  // 2^63 is not an int64
  EXPECT_EQ(f.get_float_array("t.arr.u64"), (std::vector<double>{9223372036854775808.0}));
  EXPECT_EQ(f.get_float_array("t.arr.f64"), (std::vector<double>{-2.5}));
  EXPECT_TRUE(f.get_int_array("t.arr.f32").empty());     // floats are not ints
  EXPECT_TRUE(f.get_float_array("t.arr.string").empty());  // nor strings numbers
  EXPECT_TRUE(f.get_string_array("t.arr.i32").empty());
  EXPECT_TRUE(f.get_float_array("t.arr.empty").empty());
  EXPECT_EQ(f.find("t.arr.empty")->array_type, Type::kF32);
  const GgufValue* nested = f.find("t.arr.nested");
  ASSERT_NE(nested->as_array(), nullptr);
  EXPECT_EQ(nested->array_type, Type::kArray);
  ASSERT_EQ(nested->as_array()->size(), 2u);
  const GgufValue& n0 = (*nested->as_array())[0];
  EXPECT_EQ(n0.array_type, Type::kI32);
  ASSERT_EQ(n0.as_array()->size(), 2u);
  int64_t x = 0;
  EXPECT_TRUE((*n0.as_array())[1].as_int(&x));
  EXPECT_EQ(x, 2);
  EXPECT_EQ((*nested->as_array())[1].as_array()->size(), 1u);

  ASSERT_EQ(f.tensors().size(), tensors.size());
  for (size_t i = 0; i < tensors.size(); ++i) {
    const auto& want = tensors[i];
    const auto& got = f.tensors()[i];
    EXPECT_EQ(got.name, want.name);
    EXPECT_EQ(got.dims, want.dims) << want.name;
    EXPECT_EQ(got.type, want.type) << want.name;
    EXPECT_EQ(got.n_bytes, static_cast<int64_t>(want.data.size())) << want.name;
    int64_t n = 1;
    for (int64_t d : want.dims) n *= d;
    EXPECT_EQ(got.n_elements, n);
    EXPECT_EQ(got.offset % 32, 0u);
    EXPECT_EQ(reinterpret_cast<uintptr_t>(got.data) % 32, 0u) << "mapped data is page-aligned + aligned offsets";
    ASSERT_NE(got.data, nullptr);
    EXPECT_EQ(std::memcmp(got.data, want.data.data(), want.data.size()), 0) << want.name;
    EXPECT_EQ(f.tensor(want.name), &got);
  }
  EXPECT_EQ(f.tensor("absent"), nullptr);
  EXPECT_EQ(f.data_offset() % 32, 0u);
  EXPECT_EQ(f.file_size(), fs::file_size(path));
}

TEST(GgufRoundTrip, CustomAlignmentAndViews) {
  for (uint32_t al : {1u, 8u, 64u, 4096u}) {
    fs::path path = temp_dir() / ("align" + std::to_string(al) + ".gguf");
    GgufWriter w;
    ASSERT_TRUE(w.set_alignment(al).ok());
    auto a = pattern(12, 1), b = pattern(20, 2);
    ASSERT_TRUE(w.add_tensor_view("a", {3}, T(GgmlType::kF32), a).ok());
    ASSERT_TRUE(w.add_tensor_view("b", {10}, T(GgmlType::kF16), b).ok());
    ASSERT_TRUE(w.write(path.string()).ok());
    auto r = GgufFile::open(path.string());
    ASSERT_TRUE(r.ok()) << r.status().message();
    EXPECT_EQ((*r)->alignment(), al);
    EXPECT_EQ((*r)->get_int("general.alignment", 0), al);
    EXPECT_EQ((*r)->data_offset() % al, 0u);
    const auto* tb = (*r)->tensor("b");
    ASSERT_NE(tb, nullptr);
    EXPECT_EQ(tb->offset, (12 + al - 1) / al * al);
    EXPECT_EQ(std::memcmp(tb->data, b.data(), b.size()), 0);
  }
  GgufWriter w;
  EXPECT_FALSE(w.set_alignment(0).ok());
  EXPECT_FALSE(w.set_alignment(48).ok());
}

// GgufLoad::kRead holds a copy of the file in anonymous memory: every tensor must read the bytes the
// mapping (kMap) reads, at the same offsets, and kAuto must pick one of the two.
TEST(GgufRoundTrip, ReadIntoMemoryEqualsTheMapping) {
  fs::path path = temp_dir() / "load_modes.gguf";
  GgufWriter w;
  w.set_string("general.architecture", "llama");
  auto a = pattern(4096 * 3 + 12, 3), b = pattern(70, 4);
  ASSERT_TRUE(w.add_tensor_view("a", {(int64_t)a.size() / 4}, T(GgmlType::kF32), a).ok());
  ASSERT_TRUE(w.add_tensor_view("b", {35}, T(GgmlType::kF16), b).ok());
  ASSERT_TRUE(w.write(path.string()).ok());
  using edgeai::formats::GgufLoad;
  auto mapped = GgufFile::open(path.string(), GgufLoad::kMap);
  auto read = GgufFile::open(path.string(), GgufLoad::kRead);
  auto autod = GgufFile::open(path.string(), GgufLoad::kAuto);
  ASSERT_TRUE(mapped.ok() && read.ok() && autod.ok());
  EXPECT_FALSE((*mapped)->in_memory());
  EXPECT_TRUE((*read)->in_memory());
  EXPECT_TRUE((*autod)->in_memory()) << "a 13 KB file is far below half of the available memory";
  for (const char* name : {"a", "b"}) {
    const auto *m = (*mapped)->tensor(name), *r = (*read)->tensor(name);
    ASSERT_NE(m, nullptr);
    ASSERT_NE(r, nullptr);
    EXPECT_NE(m->data, r->data);
    EXPECT_EQ(m->offset, r->offset);
    ASSERT_EQ(m->n_bytes, r->n_bytes);
    EXPECT_EQ(std::memcmp(m->data, r->data, (size_t)m->n_bytes), 0) << name;
  }
  EXPECT_EQ(std::memcmp((*read)->tensor("a")->data, a.data(), a.size()), 0);
  // The reader's checks run on the copy too: a truncated file fails the same way either way.
  auto bytes = read_all(path);
  fs::path cut = temp_dir() / "load_modes_cut.gguf";
  {
    std::ofstream f(cut, std::ios::binary);
    f.write(reinterpret_cast<const char*>(bytes.data()), (std::streamsize)bytes.size() - 100);
  }
  auto cm = GgufFile::open(cut.string(), GgufLoad::kMap), cr = GgufFile::open(cut.string(), GgufLoad::kRead);
  ASSERT_FALSE(cm.ok());
  ASSERT_FALSE(cr.ok());
  EXPECT_EQ(cm.status().message(), cr.status().message());
}

TEST(GgufRoundTrip, MetadataOnlyFile) {
  fs::path path = temp_dir() / "vocab_only.gguf";
  GgufWriter w;
  w.set_string("general.architecture", "llama");
  ASSERT_TRUE(w.write(path.string()).ok());
  auto r = GgufFile::open(path.string());
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_TRUE((*r)->tensors().empty());
  EXPECT_EQ((*r)->get_string("general.architecture"), "llama");
}

TEST(GgufWriter, RejectsBadValuesAndTensors) {
  fs::path path = temp_dir() / "bad_writer.gguf";
  {
    GgufWriter w;
    w.set("x", GgufValue::make_uint(Type::kU8, 256));
    edgeai::Status st = w.write(path.string());
    EXPECT_FALSE(st.ok());
    EXPECT_NE(st.message().find("'x'"), std::string::npos) << st.message();
    EXPECT_FALSE(fs::exists(path));
  }
  {
    GgufWriter w;
    w.set("y", GgufValue::make_int(Type::kI16, 40000));
    EXPECT_FALSE(w.write(path.string()).ok());
  }
  {
    GgufWriter w;  // an element of the wrong type in an array
    w.set("z", GgufValue::make_array(Type::kI32, {GgufValue::make_string("no")}));
    EXPECT_FALSE(w.write(path.string()).ok());
  }
  GgufWriter w;
  auto d = pattern(16, 0);
  EXPECT_TRUE(w.add_tensor("ok", {4}, T(GgmlType::kF32), d).ok());
  EXPECT_FALSE(w.add_tensor("ok", {4}, T(GgmlType::kF32), d).ok());             // duplicate
  EXPECT_FALSE(w.add_tensor("short", {5}, T(GgmlType::kF32), d).ok());          // 16 bytes for 20
  EXPECT_FALSE(w.add_tensor("zero", {0}, T(GgmlType::kF32), {}).ok());
  EXPECT_FALSE(w.add_tensor("neg", {-4}, T(GgmlType::kF32), d).ok());
  EXPECT_FALSE(w.add_tensor("five", {1, 1, 1, 1, 4}, T(GgmlType::kF32), d).ok());
  EXPECT_FALSE(w.add_tensor("", {4}, T(GgmlType::kF32), d).ok());
  EXPECT_FALSE(w.add_tensor(std::string(65, 'n'), {4}, T(GgmlType::kF32), d).ok());
  EXPECT_FALSE(w.add_tensor("unknown", {4}, 99, d).ok());
  EXPECT_FALSE(w.add_tensor("q4_0.tail", {16}, T(GgmlType::kQ4_0), pattern(9, 0)).ok());  // half a block
}

// ---- Real llama.cpp files ----

struct VocabFact {
  const char* file;
  const char* arch;
  const char* model;
  size_t tokens;
  size_t merges;
  bool scores;
  int64_t bos;  // -1 when absent
};

// Facts from the upstream models (vocab sizes of their tokenizers), read back by
// scripts/gguf_dump.py as well.
const VocabFact kVocabs[] = {
    {"ggml-vocab-llama-spm.gguf", "llama", "llama", 32000, 0, true, 1},
    {"ggml-vocab-phi-3.gguf", "phi3", "llama", 32064, 0, true, 1},
    {"ggml-vocab-baichuan.gguf", "baichuan", "llama", 64000, 0, true, 1},
    {"ggml-vocab-gpt-2.gguf", "gpt2", "gpt2", 50257, 50000, false, 50256},
    {"ggml-vocab-bert-bge.gguf", "bert", "bert", 30522, 0, false, -1},
    {"ggml-vocab-deepseek-llm.gguf", "llama", "gpt2", 102400, 99757, false, 100000},
    {"ggml-vocab-falcon.gguf", "falcon", "gpt2", 65024, 64784, false, 11},
    {"ggml-vocab-starcoder.gguf", "starcoder2", "gpt2", 49152, 48872, false, 0},
};

TEST(GgufVocabFiles, ReadHardFacts) {
  for (const VocabFact& v : kVocabs) {
    SCOPED_TRACE(v.file);
    auto r = GgufFile::open(kVocabDir + v.file);
    ASSERT_TRUE(r.ok()) << r.status().message();
    const GgufFile& f = **r;
    EXPECT_EQ(f.version(), 3u);
    EXPECT_TRUE(f.tensors().empty());
    EXPECT_EQ(f.get_string("general.architecture"), v.arch);
    EXPECT_EQ(f.get_string("tokenizer.ggml.model"), v.model);
    auto tokens = f.get_string_array("tokenizer.ggml.tokens");
    EXPECT_EQ(tokens.size(), v.tokens);
    EXPECT_EQ(f.get_int_array("tokenizer.ggml.token_type").size(), v.tokens);
    EXPECT_EQ(f.get_string_array("tokenizer.ggml.merges").size(), v.merges);
    EXPECT_EQ(f.get_float_array("tokenizer.ggml.scores").size(), v.scores ? v.tokens : 0);
    EXPECT_EQ(f.get_int("tokenizer.ggml.bos_token_id", -1), v.bos);
  }
  auto spm = GgufFile::open(kVocabDir + "ggml-vocab-llama-spm.gguf");
  ASSERT_TRUE(spm.ok());
  auto tokens = (*spm)->get_string_array("tokenizer.ggml.tokens");
  // The Llama 2 SentencePiece vocabulary: <unk> <s> </s>, 256 byte tokens, then pieces.
  EXPECT_EQ(tokens[0], "<unk>");
  EXPECT_EQ(tokens[1], "<s>");
  EXPECT_EQ(tokens[2], "</s>");
  EXPECT_EQ(tokens[3], "<0x00>");
  EXPECT_EQ(tokens[258], "<0xFF>");
  EXPECT_EQ(tokens[259], "\xe2\x96\x81\xe2\x96\x81");
  auto types = (*spm)->get_int_array("tokenizer.ggml.token_type");
  EXPECT_EQ(types[0], 2);
  EXPECT_EQ(types[1], 3);
  EXPECT_EQ(types[3], 6);
  EXPECT_EQ(types[259], 1);
  EXPECT_EQ((*spm)->get_int("llama.context_length", 0), 4096);
  EXPECT_EQ((*spm)->get_int("llama.block_count", 0), 32);
  EXPECT_FLOAT_EQ((*spm)->get_float("llama.attention.layer_norm_rms_epsilon", 0), 1e-5f);
  EXPECT_EQ((*spm)->get_int("tokenizer.ggml.add_bos_token", -1), 1);
  auto gpt2 = GgufFile::open(kVocabDir + "ggml-vocab-gpt-2.gguf");
  ASSERT_TRUE(gpt2.ok());
  EXPECT_EQ((*gpt2)->get_string_array("tokenizer.ggml.merges")[0], "\xc4\xa0 t");  // "Ġ t"
  EXPECT_EQ((*gpt2)->get_string_array("tokenizer.ggml.tokens").back(), "<|endoftext|>");
}

// CRC-32 as zlib computes it (reflected, polynomial 0xEDB88320), over running state `c`.
uint32_t crc32(uint32_t c, const void* p, size_t n) {
  const uint8_t* b = static_cast<const uint8_t*>(p);
  c = ~c;
  for (size_t i = 0; i < n; ++i) {
    c ^= b[i];
    for (int k = 0; k < 8; ++k) c = (c >> 1) ^ (0xEDB88320u & (0u - (c & 1u)));
  }
  return ~c;
}

// The element as stored in the file, re-encoded from what the reader returned.
uint32_t crc_element(uint32_t h, const GgufValue& e) {
  auto put = [&](auto x) { h = crc32(h, &x, sizeof x); };
  int64_t i = 0;
  double d = 0;
  switch (e.type) {
    case Type::kU8: e.as_int(&i); put(static_cast<uint8_t>(i)); break;
    case Type::kI8: e.as_int(&i); put(static_cast<int8_t>(i)); break;
    case Type::kU16: e.as_int(&i); put(static_cast<uint16_t>(i)); break;
    case Type::kI16: e.as_int(&i); put(static_cast<int16_t>(i)); break;
    case Type::kU32: e.as_int(&i); put(static_cast<uint32_t>(i)); break;
    case Type::kI32: e.as_int(&i); put(static_cast<int32_t>(i)); break;
    case Type::kU64: put(std::get<uint64_t>(e.v)); break;
    case Type::kI64: e.as_int(&i); put(i); break;
    case Type::kF32: e.as_float(&d); put(static_cast<float>(d)); break;
    case Type::kF64: e.as_float(&d); put(d); break;
    case Type::kBool: put(static_cast<uint8_t>(std::get<bool>(e.v))); break;
    case Type::kString: {
      const std::string& s = *e.as_string();
      put(static_cast<uint64_t>(s.size()));
      h = crc32(h, s.data(), s.size());
      break;
    }
    case Type::kArray: break;
  }
  return h;
}

std::string json_string_bytes(const nlohmann::json& j) {
  if (j.is_string()) return j.get<std::string>();
  std::string hex = j.at("hex").get<std::string>(), out;
  for (size_t i = 0; i + 1 < hex.size(); i += 2) out += static_cast<char>(std::stoi(hex.substr(i, 2), nullptr, 16));
  return out;
}

void expect_scalar(const GgufValue& v, const nlohmann::json& want, const std::string& key) {
  switch (v.type) {
    case Type::kString: EXPECT_EQ(*v.as_string(), json_string_bytes(want)) << key; break;
    case Type::kBool: EXPECT_EQ(std::get<bool>(v.v), want.get<bool>()) << key; break;
    case Type::kF32:
    case Type::kF64: {
      double d = 0;
      v.as_float(&d);
      EXPECT_EQ(d, want.get<double>()) << key;
      break;
    }
    case Type::kU64: EXPECT_EQ(std::get<uint64_t>(v.v), want.get<uint64_t>()) << key; break;
    default: {
      int64_t i = 0;
      EXPECT_TRUE(v.as_int(&i)) << key;
      EXPECT_EQ(i, want.get<int64_t>()) << key;
    }
  }
}

TEST(GgufVocabFiles, MatchIndependentPythonParser) {
  if (!fs::exists("/usr/bin/python3")) GTEST_SKIP() << "no /usr/bin/python3 for scripts/gguf_dump.py";
  int files = 0;
  for (const auto& entry : fs::directory_iterator(kVocabDir)) {
    if (entry.path().extension() != ".gguf") continue;
    ++files;
    const std::string path = entry.path().string();
    SCOPED_TRACE(path);
    std::string cmd = "/usr/bin/python3 " EDGEAI_SOURCE_DIR "/scripts/gguf_dump.py '" + path + "'";
    FILE* p = popen(cmd.c_str(), "r");
    ASSERT_NE(p, nullptr);
    std::string out;
    char buf[65536];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
    ASSERT_EQ(pclose(p), 0) << "gguf_dump.py failed";
    nlohmann::json want = nlohmann::json::parse(out);

    auto r = GgufFile::open(path);
    ASSERT_TRUE(r.ok()) << r.status().message();
    const GgufFile& f = **r;
    EXPECT_EQ(f.version(), want["version"].get<uint32_t>());
    EXPECT_EQ(f.alignment(), want["alignment"].get<uint64_t>());
    EXPECT_EQ(f.metadata().size(), want["n_kv"].get<size_t>());
    EXPECT_EQ(f.tensors().size(), want["tensors"].size());
    for (const auto& [key, w] : want["metadata"].items()) {
      const GgufValue* v = f.find(key);
      ASSERT_NE(v, nullptr) << key;
      EXPECT_EQ(edgeai::formats::gguf_type_name(v->type), w["type"].get<std::string>()) << key;
      if (v->type != Type::kArray) {
        expect_scalar(*v, w["value"], key);
        continue;
      }
      const GgufArray* a = v->as_array();
      ASSERT_NE(a, nullptr);
      EXPECT_EQ(edgeai::formats::gguf_type_name(v->array_type), w["elem"].get<std::string>()) << key;
      ASSERT_EQ(a->size(), w["n"].get<size_t>()) << key;
      if (a->empty() || v->array_type == Type::kArray) continue;
      expect_scalar(a->front(), w["first"], key);
      expect_scalar(a->back(), w["last"], key);
      uint32_t h = 0;
      for (const GgufValue& e : *a) h = crc_element(h, e);
      char hex[9];
      std::snprintf(hex, sizeof hex, "%08x", h);
      EXPECT_EQ(std::string(hex), w["crc32"].get<std::string>()) << key << ": every element";
    }
  }
  EXPECT_GE(files, 12);
}

// ---- Hostile input, built byte by byte ----

class Bytes {
 public:
  Bytes& u8(uint8_t x) { return raw(&x, 1); }
  Bytes& u32(uint32_t x) { return raw(&x, 4); }
  Bytes& u64(uint64_t x) { return raw(&x, 8); }
  Bytes& str(std::string_view s) {
    u64(s.size());
    return raw(s.data(), s.size());
  }
  Bytes& raw(const void* p, size_t n) {
    const uint8_t* b = static_cast<const uint8_t*>(p);
    d.insert(d.end(), b, b + n);
    return *this;
  }
  Bytes& pad(size_t al) {
    while (d.size() % al) d.push_back(0);
    return *this;
  }
  Bytes& header(uint32_t version, uint64_t n_tensors, uint64_t n_kv) {
    raw("GGUF", 4);
    u32(version);
    u64(n_tensors);
    return u64(n_kv);
  }
  // A tensor info: name, dims, type, offset.
  Bytes& tensor(std::string_view name, std::vector<uint64_t> dims, uint32_t type, uint64_t offset) {
    str(name);
    u32(static_cast<uint32_t>(dims.size()));
    for (uint64_t x : dims) u64(x);
    u32(type);
    return u64(offset);
  }
  std::vector<uint8_t> d;
};

edgeai::Status parse(const std::vector<uint8_t>& b) {
  auto r = GgufFile::parse(b.data(), b.size(), "hostile.gguf");
  return r.ok() ? edgeai::Status() : r.status();
}

// Fails with a message naming the file and containing `what`.
void expect_rejected(const std::vector<uint8_t>& b, const std::string& what) {
  edgeai::Status st = parse(b);
  ASSERT_FALSE(st.ok()) << "accepted; expected an error about: " << what;
  EXPECT_NE(st.message().find("hostile.gguf"), std::string::npos) << st.message();
  EXPECT_NE(st.message().find(what), std::string::npos) << st.message();
}

// One f32 tensor [4] named "w" at offset 0, plus one metadata string.
std::vector<uint8_t> valid_file() {
  Bytes b;
  b.header(3, 1, 1).str("general.architecture").u32(8).str("llama");
  b.tensor("w", {4}, 0, 0).pad(32);
  for (int i = 0; i < 4; ++i) {
    float x = static_cast<float>(i);
    b.raw(&x, 4);
  }
  return b.d;
}

TEST(GgufBadInput, ValidBaselineParses) {
  auto b = valid_file();
  auto r = GgufFile::parse(b.data(), b.size(), "hostile.gguf");
  ASSERT_TRUE(r.ok()) << r.status().message();
  ASSERT_EQ((*r)->tensors().size(), 1u);
  float x3 = 0;
  std::memcpy(&x3, (*r)->tensors()[0].data + 12, 4);
  EXPECT_EQ(x3, 3.0f);
}

TEST(GgufBadInput, TruncatedAtEveryCut) {
  // A writer-made file whose last tensor ends exactly at the end: every shorter prefix is invalid.
  fs::path path = temp_dir() / "truncate_me.gguf";
  GgufWriter w;
  fill_every_type(&w);
  ASSERT_TRUE(w.add_tensor("a", {7}, T(GgmlType::kF32), pattern(28, 1)).ok());
  ASSERT_TRUE(w.add_tensor("b", {32, 2}, T(GgmlType::kQ8_0), pattern(68, 2)).ok());
  ASSERT_TRUE(w.add_tensor("c", {8}, T(GgmlType::kF32), pattern(32, 3)).ok());
  ASSERT_TRUE(w.write(path.string()).ok());
  auto full = read_all(path);
  ASSERT_TRUE(GgufFile::parse(full.data(), full.size(), "x").ok());
  for (size_t cut = 0; cut < full.size(); ++cut) {
    std::vector<uint8_t> part(full.begin(), full.begin() + cut);  // exact size: ASan sees overreads
    auto r = GgufFile::parse(part.data(), part.size(), "hostile.gguf");
    ASSERT_FALSE(r.ok()) << "a file cut at " << cut << " of " << full.size() << " bytes was accepted";
    EXPECT_NE(r.status().message().find("hostile.gguf"), std::string::npos);
  }
  // Through open() as well (mmap of a short file).
  for (size_t cut : {size_t{0}, size_t{3}, size_t{10}, size_t{23}, size_t{24}, full.size() / 2, full.size() - 1}) {
    fs::path p = temp_dir() / "cut.gguf";
    {
      std::ofstream o(p, std::ios::binary | std::ios::trunc);
      o.write(reinterpret_cast<const char*>(full.data()), static_cast<std::streamsize>(cut));
    }
    auto r = GgufFile::open(p.string());
    ASSERT_FALSE(r.ok()) << cut;
    EXPECT_NE(r.status().message().find("cut.gguf"), std::string::npos) << r.status().message();
  }
}

TEST(GgufBadInput, WrongMagic) {
  auto b = valid_file();
  b[0] = 'G';
  b[3] = 'X';
  expect_rejected(b, "not a GGUF file");
  auto onnx = std::vector<uint8_t>{0x08, 0x07, 0x12, 0x04, 't', 'e', 's', 't'};
  expect_rejected(onnx, "not a GGUF file");
}

TEST(GgufBadInput, Version1And99) {
  Bytes v1;
  v1.raw("GGUF", 4).u32(1).u32(0).u32(0);  // v1 counts were u32
  edgeai::Status st = parse(v1.d);
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.code(), edgeai::StatusCode::kUnsupported);
  EXPECT_NE(st.message().find("version 1"), std::string::npos) << st.message();
  Bytes v99;
  v99.header(99, 0, 0);
  expect_rejected(v99.d, "unsupported GGUF version 99");
  Bytes big_endian;
  big_endian.header(0x03000000, 0, 0);
  expect_rejected(big_endian.d, "big-endian");
  Bytes v2;  // version 2 has the same layout and is accepted
  v2.header(2, 0, 1).str("k").u32(4).u32(5);
  EXPECT_TRUE(parse(v2.d).ok());
}

TEST(GgufBadInput, AbsurdStringLength) {
  Bytes key;
  key.header(3, 0, 1).u64(1ull << 62).raw("abcdefghijklmnop", 16);
  expect_rejected(key.d, "metadata key #0 claims 4611686018427387904 bytes");
  Bytes value;
  value.header(3, 0, 1).str("general.name").u32(8).u64(~0ull);
  expect_rejected(value.d, "metadata 'general.name'");
  Bytes name;
  name.header(3, 1, 0).u64(1ull << 40).raw("w", 1).u32(1).u64(4).u32(0).u64(0);
  expect_rejected(name.d, "tensor #0 name");
  Bytes long_name;  // fits in the file, but names are at most 64 bytes
  long_name.header(3, 1, 0).tensor(std::string(65, 'x'), {4}, 0, 0).pad(32).raw(std::string(16, '\0').data(), 16);
  expect_rejected(long_name.d, "at most 64");
}

TEST(GgufBadInput, AbsurdArrayCount) {
  Bytes b;
  b.header(3, 0, 1).str("tokenizer.ggml.tokens").u32(9).u32(8).u64(1ull << 40).str("a");
  expect_rejected(b.d, "metadata 'tokenizer.ggml.tokens': array of 1099511627776");
  Bytes u8s;
  u8s.header(3, 0, 1).str("x").u32(9).u32(0).u64(~0ull);
  expect_rejected(u8s.d, "array of");
  Bytes elem_type;
  elem_type.header(3, 0, 1).str("x").u32(9).u32(13).u64(0);
  expect_rejected(elem_type.d, "unknown array element type 13");
  Bytes deep;  // arrays of arrays nested 9 deep
  deep.header(3, 0, 1).str("deep").u32(9);
  for (int i = 0; i < 9; ++i) deep.u32(9).u64(1);
  deep.u32(0).u64(0);
  expect_rejected(deep.d, "nested deeper");
  Bytes n_kv;
  n_kv.header(3, 0, 1ull << 60);
  expect_rejected(n_kv.d, "metadata count");
  Bytes n_tensors;
  n_tensors.header(3, 1ull << 60, 0);
  expect_rejected(n_tensors.d, "tensor count");
}

TEST(GgufBadInput, BadMetadataValues) {
  Bytes type;
  type.header(3, 0, 1).str("x").u32(13).u32(0);
  expect_rejected(type.d, "metadata 'x': unknown value type 13");
  Bytes boolean;
  boolean.header(3, 0, 1).str("flag").u32(7).u8(2);
  expect_rejected(boolean.d, "bool value 2");
  Bytes dup;
  dup.header(3, 0, 2).str("k").u32(4).u32(1).str("k").u32(4).u32(2);
  expect_rejected(dup.d, "duplicate metadata 'k'");
  Bytes empty_key;
  empty_key.header(3, 0, 1).str("").u32(4).u32(1);
  expect_rejected(empty_key.d, "is empty");
  Bytes align;
  align.header(3, 0, 1).str("general.alignment").u32(4).u32(24);
  expect_rejected(align.d, "general.alignment 24");
  Bytes align_type;
  align_type.header(3, 0, 1).str("general.alignment").u32(8).str("32");
  expect_rejected(align_type.d, "general.alignment must be an integer");
}

TEST(GgufBadInput, TensorDimsOverflow) {
  Bytes b;
  b.header(3, 1, 0).tensor("w", {1ull << 40, 1ull << 40}, 0, 0).pad(32);
  expect_rejected(b.d, "tensor 'w': the element count overflows");
  Bytes huge;
  huge.header(3, 1, 0).tensor("w", {~0ull}, 0, 0).pad(32);
  expect_rejected(huge.d, "tensor 'w' dimension 0");
  Bytes zero;
  zero.header(3, 1, 0).tensor("w", {4, 0}, 0, 0).pad(32);
  expect_rejected(zero.d, "dimension 1 is 0");
  Bytes five;
  five.header(3, 1, 0).tensor("w", {1, 1, 1, 1, 4}, 0, 0).pad(32);
  expect_rejected(five.d, "tensor 'w' has 5 dimensions");
  Bytes none;
  none.header(3, 1, 0).tensor("w", {}, 0, 0).pad(32);
  expect_rejected(none.d, "has 0 dimensions");
  Bytes block;  // q4_0 rows must be whole blocks of 32
  block.header(3, 1, 0).tensor("w", {33, 1}, 2, 0).pad(32).raw(std::string(64, '\0').data(), 64);
  expect_rejected(block.d, "not a multiple of the block size 32");
}

TEST(GgufBadInput, OffsetPastTheEnd) {
  Bytes b;
  b.header(3, 1, 0).tensor("w", {4}, 0, 32).pad(32).raw(std::string(16, '\0').data(), 16);
  expect_rejected(b.d, "tensor 'w': data [32, 48) lies past the end");
  Bytes wrap;  // offset + size wraps around 2^64
  wrap.header(3, 1, 0).tensor("w", {4}, 0, ~0ull - 31).pad(32).raw(std::string(16, '\0').data(), 16);
  expect_rejected(wrap.d, "tensor 'w'");
  Bytes big;  // 2^50 f32 elements in a small file
  big.header(3, 1, 0).tensor("w", {1ull << 25, 1ull << 25}, 0, 0).pad(32);
  expect_rejected(big.d, "lies past the end");
  Bytes no_data;  // tensor infos end the file: the data section starts past it
  no_data.header(3, 1, 0).tensor("w", {4}, 0, 0);
  expect_rejected(no_data.d, "past the end of the file");
}

TEST(GgufBadInput, MisalignedOffset) {
  Bytes b;
  b.header(3, 2, 0).tensor("a", {1}, 0, 0).tensor("b", {1}, 0, 4).pad(32).raw(std::string(64, '\0').data(), 64);
  expect_rejected(b.d, "tensor 'b': data offset 4 is not a multiple of the alignment 32");
  Bytes ok64;  // with general.alignment = 4 the same offset is fine
  ok64.header(3, 2, 1).str("general.alignment").u32(4).u32(4);
  ok64.tensor("a", {1}, 0, 0).tensor("b", {1}, 0, 4).pad(4).raw(std::string(8, '\0').data(), 8);
  EXPECT_TRUE(parse(ok64.d).ok()) << parse(ok64.d).message();
}

TEST(GgufBadInput, UnknownTensorType) {
  for (uint32_t type : {4u, 5u, 99u, 0xffffffffu}) {  // 4, 5: the removed q4_2 / q4_3
    Bytes b;
    b.header(3, 1, 0).tensor("w", {32}, type, 0).pad(32).raw(std::string(256, '\0').data(), 256);
    expect_rejected(b.d, "tensor 'w' has unknown tensor type " + std::to_string(type));
  }
}

TEST(GgufBadInput, DuplicateTensorNames) {
  Bytes b;
  b.header(3, 2, 0).tensor("blk.0.attn_q.weight", {8}, 0, 0).tensor("blk.0.attn_q.weight", {8}, 0, 32).pad(32);
  b.raw(std::string(64, '\0').data(), 64);
  expect_rejected(b.d, "duplicate tensor 'blk.0.attn_q.weight'");
  Bytes empty;
  empty.header(3, 1, 0).tensor("", {8}, 0, 0).pad(32).raw(std::string(32, '\0').data(), 32);
  expect_rejected(empty.d, "empty name");
}

TEST(GgufBadInput, OverlappingTensorData) {
  Bytes b;  // "a" is 64 bytes at 0, "b" starts at 32 inside it
  b.header(3, 2, 0).tensor("a", {16}, 0, 0).tensor("b", {8}, 0, 32).pad(32).raw(std::string(64, '\0').data(), 64);
  expect_rejected(b.d, "tensor 'a' data [0, 64) overlaps tensor 'b'");
}

TEST(GgufBadInput, OpenErrorsNameTheFile) {
  auto r = GgufFile::open("/nonexistent/model.gguf");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), edgeai::StatusCode::kNotFound);
  EXPECT_NE(r.status().message().find("/nonexistent/model.gguf"), std::string::npos);
  auto dir = GgufFile::open(temp_dir().string());
  ASSERT_FALSE(dir.ok());
  EXPECT_NE(dir.status().message().find("not a regular file"), std::string::npos);
}

}  // namespace
