// libFuzzer target: arbitrary bytes as a GGUF file. Parsing must return a Status, never crash,
// hang or read out of bounds; on success every tensor's bytes and every metadata value are touched.
#include <cstddef>
#include <cstdint>
#include <vector>

#include "formats/gguf/gguf.h"

namespace {

size_t touch(const edgeai::formats::GgufValue& v) {
  size_t n = 1;
  int64_t i = 0;
  double d = 0;
  n += v.as_int(&i) ? static_cast<size_t>(i & 1) : 0;
  n += v.as_float(&d) ? 1 : 0;
  if (const std::string* s = v.as_string()) n += s->size();
  if (const edgeai::formats::GgufArray* a = v.as_array()) {
    for (const auto& e : *a) n += touch(e);
  }
  return n;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  // An exact-size copy, so that ASan catches a read one byte past the end.
  std::vector<uint8_t> bytes(data, data + size);
  auto r = edgeai::formats::GgufFile::parse(bytes.data(), bytes.size(), "fuzz.gguf");
  if (!r.ok()) return 0;
  const auto& f = **r;
  volatile size_t sink = 0;
  for (const auto& [key, value] : f.metadata()) sink = sink + touch(value) + key.size();
  sink = sink + f.get_string_array("tokenizer.ggml.tokens").size() +
         f.get_float_array("tokenizer.ggml.scores").size() + f.get_int_array("tokenizer.ggml.token_type").size();
  for (const auto& t : f.tensors()) {
    if (t.n_bytes > 0) sink = sink + t.data[0] + t.data[t.n_bytes - 1];
    sink = sink + (f.tensor(t.name) == &t);
  }
  return 0;
}
