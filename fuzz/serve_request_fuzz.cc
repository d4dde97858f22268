// libFuzzer target: arbitrary bytes as the body of an `edgeai serve` request. The server parses
// a body as JSON (non-throwing) and hands it to the request parsers of /v1/chat/completions,
// /v1/completions, /v1/embeddings and /v1/infer; none may crash, hang or read out of bounds, and
// a parsed request must be usable downstream. Checked beyond "no crash":
// - the response objects and SSE framing of a parsed generation request serialize, and the chat
//   prompt formats in every template;
// - a response_format schema that compiles gives a matcher whose shortest_completion() ends the
//   empty document and every prefix the input's trailing bytes drive it through.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "llm/chat_template.h"
#include "serve/json_constraint.h"
#include "serve/openai_api.h"
#include "serve/tensor_json.h"

namespace {

using edgeai::serve::JsonMatcher;

// Feeds `text` to a copy of the matcher, then its shortest completion: that must end a document.
void check_completion(const JsonMatcher& m, std::string_view text) {
  JsonMatcher c = m;
  for (char ch : text) {
    JsonMatcher next = c;
    if (!next.feed((unsigned char)ch)) continue;  // refused bytes are skipped, as masking does
    c = next;
    if (c.done()) break;
  }
  JsonMatcher end = c;
  const std::string rest = c.shortest_completion();
  if (!end.feed(rest) || !end.can_end()) std::abort();  // the completion does not complete
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  // The body, and after a 0 byte (when there is one) bytes to drive a schema's matcher with.
  const std::string_view all(reinterpret_cast<const char*>(data), size);
  const size_t cut = all.find('\0');
  const std::string body(all.substr(0, cut));  // an exact-size copy: ASan sees reads past it
  const std::string_view drive = cut == std::string_view::npos ? std::string_view() : all.substr(cut + 1);
  const nlohmann::json j = nlohmann::json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return 0;
  volatile size_t sink = 0;
  for (bool chat : {true, false}) {
    edgeai::serve::GenRequest r;
    if (edgeai::serve::parse_gen_request(j, chat, &r)) continue;
    const auto dump = [](const nlohmann::json& v) {
      return v.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    };
    sink = sink + dump(edgeai::serve::completion_response(r, "id", 0, r.prompt, "stop", {1, 2})).size();
    sink = sink + edgeai::serve::sse_event(dump(edgeai::serve::completion_chunk(r, "id", 0, "x", "", true))).size();
    sink = sink + dump(edgeai::serve::usage_chunk(r, "id", 0, {1, 2})).size();
    for (auto f : {edgeai::llm::ChatFormat::kChatml, edgeai::llm::ChatFormat::kLlama2, edgeai::llm::ChatFormat::kLlama3,
                   edgeai::llm::ChatFormat::kPhi3, edgeai::llm::ChatFormat::kGemma, edgeai::llm::ChatFormat::kZephyr}) {
      sink = sink + edgeai::llm::format_chat(f, r.messages, true).size();
    }
    if (r.schema) check_completion(JsonMatcher(r.schema), drive);
  }
  edgeai::serve::EmbedRequest e;
  if (!edgeai::serve::parse_embed_request(j, &e)) sink = sink + e.inputs.size();
  // /v1/infer's JSON form: {"inputs": [tensor, ...]} (or one tensor).
  const nlohmann::json* tensors = j.is_object() && j.contains("inputs") ? &j["inputs"] : &j;
  if (tensors->is_array()) {
    for (const auto& t : *tensors) {
      std::string name;
      auto tensor = edgeai::serve::tensor_from_json(t, &name);
      if (tensor.ok()) sink = sink + (size_t)tensor->numel() + name.size();
    }
  }
  return 0;
}
