// The OpenAI API's request and response shapes, as pure functions: parsing and validating
// /v1/chat/completions, /v1/completions and /v1/embeddings bodies, error bodies
// ({"error":{"message","type","param","code"}}), response objects and Server-Sent Events framing.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "llm/chat_template.h"
#include "serve/json_constraint.h"

namespace edgeai::serve {

struct ApiError {
  int status = 400;
  std::string message;
  std::string type = "invalid_request_error";
  std::string param;  // "" = null
  std::string code;   // "" = null
};
nlohmann::json error_body(const ApiError& e);
ApiError bad_request(std::string message, std::string param = "", std::string code = "");

struct GenRequest {
  std::string model;
  bool chat = true;
  std::vector<llm::ChatMessage> messages;  // chat
  std::string prompt;                      // completions
  int64_t max_tokens = -1;                 // -1: not given
  float temperature = 1.0f;
  float top_p = 1.0f;
  float presence_penalty = 0.0f;
  float frequency_penalty = 0.0f;
  std::optional<uint64_t> seed;
  std::vector<std::string> stop;
  bool stream = false;
  bool include_usage = false;  // stream_options.include_usage
  std::shared_ptr<const JsonSchema> schema;  // response_format json_object / json_schema
};

// Fills *out from a request body; an error names the bad field (param).
std::optional<ApiError> parse_gen_request(const nlohmann::json& body, bool chat, GenRequest* out);

struct EmbedRequest {
  std::string model;
  std::vector<std::string> inputs;
  bool base64 = false;  // encoding_format "base64" (what the openai npm client asks for)
};
std::optional<ApiError> parse_embed_request(const nlohmann::json& body, EmbedRequest* out);

// One Server-Sent Event carrying `data` (each line of it on a "data: " line), ending in "\n\n".
std::string sse_event(std::string_view data);
inline std::string sse_done() { return sse_event("[DONE]"); }

struct Usage {
  int64_t prompt_tokens = 0;
  int64_t completion_tokens = 0;
};
nlohmann::json usage_json(const Usage& u);

// Whole responses and streamed chunks. finish_reason "" is null.
nlohmann::json completion_response(const GenRequest& r, const std::string& id, int64_t created, const std::string& text,
                                   const std::string& finish_reason, const Usage& u);
nlohmann::json completion_chunk(const GenRequest& r, const std::string& id, int64_t created, const std::string& text,
                                const std::string& finish_reason, bool first);
nlohmann::json usage_chunk(const GenRequest& r, const std::string& id, int64_t created, const Usage& u);

// Base64 of bytes (embeddings with encoding_format "base64").
std::string base64_encode(std::string_view bytes);

// Constant-time comparison of an Authorization header against the expected key: "Bearer KEY".
bool api_key_matches(std::string_view header, std::string_view key);

}  // namespace edgeai::serve
