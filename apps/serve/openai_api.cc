#include "serve/openai_api.h"

#include <cmath>

namespace edgeai::serve {

using nlohmann::json;

json error_body(const ApiError& e) {
  json err{{"message", e.message}, {"type", e.type}, {"param", nullptr}, {"code", nullptr}};
  if (!e.param.empty()) err["param"] = e.param;
  if (!e.code.empty()) err["code"] = e.code;
  return json{{"error", err}};
}

ApiError bad_request(std::string message, std::string param, std::string code) {
  ApiError e;
  e.message = std::move(message);
  e.param = std::move(param);
  e.code = std::move(code);
  return e;
}

namespace {

std::optional<ApiError> get_number(const json& b, const char* key, double lo, double hi, float* out) {
  if (!b.contains(key) || b[key].is_null()) return std::nullopt;
  const json& v = b[key];
  if (!v.is_number()) return bad_request(std::string("'") + key + "' must be a number", key);
  double d = v.get<double>();
  if (!std::isfinite(d) || d < lo || d > hi) {
    return bad_request(std::string("'") + key + "' must be in [" + json(lo).dump() + ", " + json(hi).dump() + "]", key);
  }
  *out = (float)d;
  return std::nullopt;
}

std::optional<ApiError> text_content(const json& c, std::string* out, const std::string& param) {
  if (c.is_string()) {
    *out = c.get<std::string>();
    return std::nullopt;
  }
  if (c.is_null()) {
    out->clear();
    return std::nullopt;
  }
  if (!c.is_array()) return bad_request("message content must be a string or an array of text parts", param);
  out->clear();
  for (const json& part : c) {
    const bool text_part = part.is_object() && part.contains("type") && part["type"].is_string() &&
                           part["type"].get<std::string>() == "text" && part.contains("text") && part["text"].is_string();
    if (!text_part) {
      return bad_request("only text content parts are supported", param);
    }
    *out += part["text"].get<std::string>();
  }
  return std::nullopt;
}

}  // namespace

std::optional<ApiError> parse_gen_request(const json& b, bool chat, GenRequest* out) {
  if (!b.is_object()) return bad_request("the request body must be a JSON object");
  out->chat = chat;
  if (!b.contains("model") || !b["model"].is_string()) return bad_request("'model' is required (a string)", "model");
  out->model = b["model"].get<std::string>();
  if (chat) {
    if (!b.contains("messages") || !b["messages"].is_array() || b["messages"].empty()) {
      return bad_request("'messages' must be a non-empty array", "messages");
    }
    for (size_t i = 0; i < b["messages"].size(); ++i) {
      const json& m = b["messages"][i];
      const std::string param = "messages[" + std::to_string(i) + "]";
      if (!m.is_object() || !m.contains("role") || !m["role"].is_string()) return bad_request("each message needs a 'role'", param);
      std::string role = m["role"].get<std::string>();
      if (role == "developer") role = "system";
      if (role != "system" && role != "user" && role != "assistant") {
        return bad_request("unsupported role '" + role + "' (system, developer, user, assistant)", param + ".role");
      }
      llm::ChatMessage msg;
      msg.role = role;
      if (auto e = text_content(m.value("content", json()), &msg.content, param + ".content")) return e;
      out->messages.push_back(std::move(msg));
    }
  } else {
    if (!b.contains("prompt")) return bad_request("'prompt' is required", "prompt");
    const json& p = b["prompt"];
    if (p.is_string()) {
      out->prompt = p.get<std::string>();
    } else if (p.is_array() && p.size() == 1 && p[0].is_string()) {
      out->prompt = p[0].get<std::string>();
    } else {
      return bad_request("'prompt' must be a string (or an array of one string)", "prompt");
    }
    if (b.contains("echo") && b["echo"].is_boolean() && b["echo"].get<bool>()) return bad_request("'echo' is not supported", "echo");
    if (b.contains("suffix") && !b["suffix"].is_null()) return bad_request("'suffix' is not supported", "suffix");
  }
  for (const char* key : {"max_tokens", "max_completion_tokens"}) {
    if (!b.contains(key) || b[key].is_null()) continue;
    const json& v = b[key];
    if (!v.is_number_integer() || v.get<int64_t>() < 1) return bad_request(std::string("'") + key + "' must be a positive integer", key);
    out->max_tokens = v.get<int64_t>();
  }
  if (b.contains("n") && !b["n"].is_null() && !(b["n"].is_number_integer() && b["n"].get<int64_t>() == 1)) {
    return bad_request("only n = 1 is supported", "n");
  }
  if (auto e = get_number(b, "temperature", 0.0, 2.0, &out->temperature)) return e;
  if (auto e = get_number(b, "top_p", 0.0, 1.0, &out->top_p)) return e;
  if (b.contains("top_p") && b["top_p"].is_number() && !(out->top_p > 0.0f)) return bad_request("'top_p' must be in (0, 1]", "top_p");
  if (auto e = get_number(b, "presence_penalty", -2.0, 2.0, &out->presence_penalty)) return e;
  if (auto e = get_number(b, "frequency_penalty", -2.0, 2.0, &out->frequency_penalty)) return e;
  if (b.contains("seed") && !b["seed"].is_null()) {
    if (!b["seed"].is_number_integer()) return bad_request("'seed' must be an integer", "seed");
    out->seed = b["seed"].is_number_unsigned() ? b["seed"].get<uint64_t>() : (uint64_t)b["seed"].get<int64_t>();
  }
  if (b.contains("stop") && !b["stop"].is_null()) {
    const json& s = b["stop"];
    if (s.is_string()) {
      out->stop.push_back(s.get<std::string>());
    } else if (s.is_array() && s.size() <= 4) {
      for (const json& x : s) {
        if (!x.is_string()) return bad_request("'stop' must be a string or an array of up to 4 strings", "stop");
        out->stop.push_back(x.get<std::string>());
      }
    } else {
      return bad_request("'stop' must be a string or an array of up to 4 strings", "stop");
    }
    for (const std::string& st : out->stop)
      if (st.empty() || st.size() > 256) return bad_request("stop strings must have 1 to 256 bytes", "stop");
  }
  if (b.contains("stream") && !b["stream"].is_null()) {
    if (!b["stream"].is_boolean()) return bad_request("'stream' must be a boolean", "stream");
    out->stream = b["stream"].get<bool>();
  }
  if (b.contains("stream_options") && !b["stream_options"].is_null()) {
    const json& so = b["stream_options"];
    if (!so.is_object()) return bad_request("'stream_options' must be an object", "stream_options");
    if (so.contains("include_usage") && !so["include_usage"].is_null()) {
      if (!so["include_usage"].is_boolean()) {
        return bad_request("'stream_options.include_usage' must be a boolean", "stream_options.include_usage");
      }
      out->include_usage = so["include_usage"].get<bool>();
    }
  }
  if (b.contains("logprobs") && b["logprobs"].is_boolean() && b["logprobs"].get<bool>()) {
    return bad_request("'logprobs' is not supported", "logprobs");
  }
  if (b.contains("logprobs") && b["logprobs"].is_number()) return bad_request("'logprobs' is not supported", "logprobs");
  if (b.contains("tools") && !b["tools"].is_null()) return bad_request("'tools' is not supported", "tools");
  if (b.contains("response_format") && !b["response_format"].is_null()) {
    const json& rf = b["response_format"];
    if (!rf.is_object() || !rf.contains("type") || !rf["type"].is_string()) {
      return bad_request("'response_format' must be an object with a 'type'", "response_format");
    }
    const std::string type = rf["type"].get<std::string>();
    if (type == "json_object") {
      out->schema = JsonSchema::any_object();
    } else if (type == "json_schema") {
      if (!rf.contains("json_schema") || !rf["json_schema"].is_object() || !rf["json_schema"].contains("schema")) {
        return bad_request("response_format json_schema needs json_schema.schema", "response_format");
      }
      auto s = JsonSchema::compile(rf["json_schema"]["schema"]);
      if (!s.ok()) return bad_request("unsupported JSON schema: " + s.status().message(), "response_format", "unsupported_schema");
      out->schema = std::move(s).value();
    } else if (type != "text") {
      return bad_request("unknown response_format type '" + type + "' (text, json_object, json_schema)", "response_format");
    }
  }
  return std::nullopt;
}

std::optional<ApiError> parse_embed_request(const json& b, EmbedRequest* out) {
  if (!b.is_object()) return bad_request("the request body must be a JSON object");
  if (!b.contains("model") || !b["model"].is_string()) return bad_request("'model' is required (a string)", "model");
  out->model = b["model"].get<std::string>();
  if (!b.contains("input")) return bad_request("'input' is required", "input");
  const json& in = b["input"];
  if (in.is_string()) {
    out->inputs.push_back(in.get<std::string>());
  } else if (in.is_array() && !in.empty() && in.size() <= 256) {
    for (const json& x : in) {
      if (!x.is_string()) return bad_request("'input' must be a string or an array of strings", "input");
      out->inputs.push_back(x.get<std::string>());
    }
  } else {
    return bad_request("'input' must be a string or an array of 1 to 256 strings", "input");
  }
  for (const std::string& s : out->inputs)
    if (s.empty()) return bad_request("'input' must not contain empty strings", "input");
  if (b.contains("encoding_format") && !b["encoding_format"].is_null()) {
    const json& f = b["encoding_format"];
    if (f == "base64") out->base64 = true;
    else if (f != "float") return bad_request("'encoding_format' must be float or base64", "encoding_format");
  }
  if (b.contains("dimensions") && !b["dimensions"].is_null()) return bad_request("'dimensions' is not supported", "dimensions");
  return std::nullopt;
}

std::string sse_event(std::string_view data) {
  std::string out;
  size_t start = 0;
  while (true) {
    size_t nl = data.find('\n', start);
    out += "data: ";
    out.append(data.substr(start, nl == std::string_view::npos ? std::string_view::npos : nl - start));
    out += '\n';
    if (nl == std::string_view::npos) break;
    start = nl + 1;
  }
  out += '\n';
  return out;
}

json usage_json(const Usage& u) {
  return json{{"prompt_tokens", u.prompt_tokens},
              {"completion_tokens", u.completion_tokens},
              {"total_tokens", u.prompt_tokens + u.completion_tokens}};
}

json completion_response(const GenRequest& r, const std::string& id, int64_t created, const std::string& text,
                         const std::string& finish_reason, const Usage& u) {
  json choice{{"index", 0}, {"logprobs", nullptr}, {"finish_reason", finish_reason}};
  if (r.chat) {
    choice["message"] = json{{"role", "assistant"}, {"content", text}};
  } else {
    choice["text"] = text;
  }
  return json{{"id", id},
              {"object", r.chat ? "chat.completion" : "text_completion"},
              {"created", created},
              {"model", r.model},
              {"system_fingerprint", "edgeai"},
              {"choices", json::array({choice})},
              {"usage", usage_json(u)}};
}

json completion_chunk(const GenRequest& r, const std::string& id, int64_t created, const std::string& text,
                      const std::string& finish_reason, bool first) {
  json choice{{"index", 0}, {"logprobs", nullptr}};
  choice["finish_reason"] = finish_reason.empty() ? json(nullptr) : json(finish_reason);
  if (r.chat) {
    json delta = json::object();
    if (first) delta["role"] = "assistant";
    if (!text.empty() || (first && finish_reason.empty())) delta["content"] = text;
    choice["delta"] = delta;
  } else {
    choice["text"] = text;
  }
  return json{{"id", id},
              {"object", r.chat ? "chat.completion.chunk" : "text_completion"},
              {"created", created},
              {"model", r.model},
              {"system_fingerprint", "edgeai"},
              {"choices", json::array({choice})}};
}

json usage_chunk(const GenRequest& r, const std::string& id, int64_t created, const Usage& u) {
  return json{{"id", id},
              {"object", r.chat ? "chat.completion.chunk" : "text_completion"},
              {"created", created},
              {"model", r.model},
              {"choices", json::array()},
              {"usage", usage_json(u)}};
}

std::string base64_encode(std::string_view in) {
  static const char* k = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((in.size() + 2) / 3 * 4);
  size_t i = 0;
  for (; i + 2 < in.size(); i += 3) {
    uint32_t v = (uint8_t)in[i] << 16 | (uint8_t)in[i + 1] << 8 | (uint8_t)in[i + 2];
    out += k[v >> 18 & 63];
    out += k[v >> 12 & 63];
    out += k[v >> 6 & 63];
    out += k[v & 63];
  }
  if (i < in.size()) {
    uint32_t v = (uint8_t)in[i] << 16 | (i + 1 < in.size() ? (uint8_t)in[i + 1] << 8 : 0);
    out += k[v >> 18 & 63];
    out += k[v >> 12 & 63];
    out += i + 1 < in.size() ? k[v >> 6 & 63] : '=';
    out += '=';
  }
  return out;
}

bool api_key_matches(std::string_view header, std::string_view key) {
  constexpr std::string_view kBearer = "Bearer ";
  std::string_view got = header.substr(0, kBearer.size()) == kBearer ? header.substr(kBearer.size()) : std::string_view();
  // Every byte of the expected key is compared whatever the input, so the time taken does not
  // depend on where the first difference is (only on the key's length).
  unsigned diff = got.size() == key.size() ? 0u : 1u;
  for (size_t i = 0; i < key.size(); ++i) {
    unsigned char g = i < got.size() ? (unsigned char)got[i] : 0;
    diff |= (unsigned)(g ^ (unsigned char)key[i]);
  }
  return diff == 0 && !key.empty();
}

}  // namespace edgeai::serve
