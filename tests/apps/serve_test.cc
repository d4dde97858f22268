// The pure parts of edgeai serve (apps/serve): request parsing and validation, error bodies,
// Server-Sent Events framing, the API-key check, JSON tensors, metrics text, and the JSON-schema
// constraint on a fake vocabulary (oracle: nlohmann's parser and an independent validator of the
// schema subset). The server end to end is tests/serve/serve_test.mjs (ctest serve_openai_client).
#include <gtest/gtest.h>

#include <functional>
#include <random>

#include "serve/json_constraint.h"
#include "serve/metrics.h"
#include "serve/openai_api.h"
#include "serve/tensor_json.h"

namespace edgeai::serve {
namespace {

using nlohmann::json;

json chat_body() { return json{{"model", "m"}, {"messages", json::array({{{"role", "user"}, {"content", "hi"}}})}}; }

TEST(ServeApi, ParsesAChatRequest) {
  json b = chat_body();
  b["max_tokens"] = 12;
  b["temperature"] = 0.5;
  b["top_p"] = 0.9;
  b["seed"] = 42;
  b["stop"] = json::array({"a", "b"});
  b["stream"] = true;
  b["stream_options"] = {{"include_usage", true}};
  b["messages"].push_back({{"role", "developer"}, {"content", json::array({{{"type", "text"}, {"text", "x"}}, {{"type", "text"}, {"text", "y"}}})}});
  b["unknown_field"] = 1;  // ignored
  GenRequest r;
  ASSERT_FALSE(parse_gen_request(b, true, &r));
  EXPECT_EQ(r.model, "m");
  EXPECT_EQ(r.max_tokens, 12);
  EXPECT_FLOAT_EQ(r.temperature, 0.5f);
  EXPECT_FLOAT_EQ(r.top_p, 0.9f);
  ASSERT_TRUE(r.seed);
  EXPECT_EQ(*r.seed, 42u);
  EXPECT_EQ(r.stop, (std::vector<std::string>{"a", "b"}));
  EXPECT_TRUE(r.stream);
  EXPECT_TRUE(r.include_usage);
  ASSERT_EQ(r.messages.size(), 2u);
  EXPECT_EQ(r.messages[1].role, "system");
  EXPECT_EQ(r.messages[1].content, "xy");
  EXPECT_FALSE(r.schema);
}

TEST(ServeApi, ParsesACompletionRequest) {
  GenRequest r;
  ASSERT_FALSE(parse_gen_request(json{{"model", "m"}, {"prompt", "Once"}, {"max_completion_tokens", 3}}, false, &r));
  EXPECT_EQ(r.prompt, "Once");
  EXPECT_EQ(r.max_tokens, 3);
  GenRequest r2;
  ASSERT_FALSE(parse_gen_request(json{{"model", "m"}, {"prompt", json::array({"x"})}, {"stop", "\n"}}, false, &r2));
  EXPECT_EQ(r2.prompt, "x");
  EXPECT_EQ(r2.stop, std::vector<std::string>{"\n"});
}

TEST(ServeApi, RefusesBadRequestsNamingTheField) {
  struct Case {
    std::function<void(json&)> edit;
    std::string param;
  };
  const std::vector<Case> cases = {
      {[](json& b) { b.erase("model"); }, "model"},
      {[](json& b) { b["model"] = 3; }, "model"},
      {[](json& b) { b.erase("messages"); }, "messages"},
      {[](json& b) { b["messages"] = json::array(); }, "messages"},
      {[](json& b) { b["messages"] = "hi"; }, "messages"},
      {[](json& b) { b["messages"][0]["role"] = "wizard"; }, "messages[0].role"},
      {[](json& b) { b["messages"][0].erase("role"); }, "messages[0]"},
      {[](json& b) { b["messages"][0]["content"] = json::array({{{"type", "image_url"}}}); }, "messages[0].content"},
      {[](json& b) { b["messages"][0]["content"] = 5; }, "messages[0].content"},
      // Wrong value types inside objects (found by fuzz_serve_request: they threw from json::value()).
      {[](json& b) { b["messages"][0]["content"] = json::array({{{"type", 1}, {"text", "x"}}}); }, "messages[0].content"},
      {[](json& b) { b["stream_options"] = {{"include_usage", 1}}; }, "stream_options.include_usage"},
      {[](json& b) { b["stream_options"] = "usage"; }, "stream_options"},
      {[](json& b) { b["max_tokens"] = 0; }, "max_tokens"},
      {[](json& b) { b["max_tokens"] = -3; }, "max_tokens"},
      {[](json& b) { b["max_tokens"] = 1.5; }, "max_tokens"},
      {[](json& b) { b["max_tokens"] = "10"; }, "max_tokens"},
      {[](json& b) { b["n"] = 2; }, "n"},
      {[](json& b) { b["temperature"] = 2.5; }, "temperature"},
      {[](json& b) { b["temperature"] = -1; }, "temperature"},
      {[](json& b) { b["temperature"] = "hot"; }, "temperature"},
      {[](json& b) { b["top_p"] = 0; }, "top_p"},
      {[](json& b) { b["top_p"] = 1.5; }, "top_p"},
      {[](json& b) { b["seed"] = 1.5; }, "seed"},
      {[](json& b) { b["stop"] = json::array({"a", "b", "c", "d", "e"}); }, "stop"},
      {[](json& b) { b["stop"] = json::array({1}); }, "stop"},
      {[](json& b) { b["stop"] = ""; }, "stop"},
      {[](json& b) { b["stream"] = "yes"; }, "stream"},
      {[](json& b) { b["logprobs"] = true; }, "logprobs"},
      {[](json& b) { b["tools"] = json::array(); }, "tools"},
      {[](json& b) { b["response_format"] = "json"; }, "response_format"},
      {[](json& b) { b["response_format"] = {{"type", "xml"}}; }, "response_format"},
      {[](json& b) { b["response_format"] = {{"type", "json_schema"}}; }, "response_format"},
      {[](json& b) { b["response_format"] = {{"type", "json_schema"}, {"json_schema", {{"schema", {{"type", "object"}, {"patternProperties", json::object()}}}}}}; }, "response_format"},
  };
  for (size_t i = 0; i < cases.size(); ++i) {
    json b = chat_body();
    cases[i].edit(b);
    GenRequest r;
    auto e = parse_gen_request(b, true, &r);
    ASSERT_TRUE(e) << "case " << i << ": " << b.dump();
    EXPECT_EQ(e->status, 400) << i;
    EXPECT_EQ(e->param, cases[i].param) << "case " << i << ": " << e->message;
    EXPECT_FALSE(e->message.empty());
  }
  GenRequest r;
  EXPECT_TRUE(parse_gen_request(json::array(), true, &r));
  EXPECT_TRUE(parse_gen_request(json("x"), false, &r));
  EXPECT_TRUE(parse_gen_request(json{{"model", "m"}}, false, &r));
  EXPECT_TRUE(parse_gen_request(json{{"model", "m"}, {"prompt", json::array({"a", "b"})}}, false, &r));
  EXPECT_TRUE(parse_gen_request(json{{"model", "m"}, {"prompt", "a"}, {"echo", true}}, false, &r));
}

TEST(ServeApi, EmbeddingRequests) {
  EmbedRequest r;
  ASSERT_FALSE(parse_embed_request(json{{"model", "m"}, {"input", json::array({"a", "b"})}, {"encoding_format", "base64"}}, &r));
  EXPECT_EQ(r.inputs.size(), 2u);
  EXPECT_TRUE(r.base64);
  for (const json& bad : {json{{"model", "m"}}, json{{"model", "m"}, {"input", 3}}, json{{"model", "m"}, {"input", json::array()}},
                          json{{"model", "m"}, {"input", ""}}, json{{"model", "m"}, {"input", "a"}, {"encoding_format", "hex"}},
                          json{{"input", "a"}}, json{{"model", "m"}, {"input", "a"}, {"dimensions", 8}}}) {
    EmbedRequest e;
    EXPECT_TRUE(parse_embed_request(bad, &e)) << bad.dump();
  }
}

TEST(ServeApi, ErrorBodyHasOpenAIsShape) {
  json e = error_body(bad_request("bad thing", "max_tokens", "context_length_exceeded"));
  EXPECT_EQ(e.dump(), R"({"error":{"code":"context_length_exceeded","message":"bad thing","param":"max_tokens","type":"invalid_request_error"}})");
  json n = error_body(bad_request("x"));
  EXPECT_TRUE(n["error"]["param"].is_null());
  EXPECT_TRUE(n["error"]["code"].is_null());
}

TEST(ServeSse, Framing) {
  EXPECT_EQ(sse_event(R"({"a":1})"), "data: {\"a\":1}\n\n");
  EXPECT_EQ(sse_done(), "data: [DONE]\n\n");
  EXPECT_EQ(sse_event("one\ntwo"), "data: one\ndata: two\n\n");  // a newline never ends the event early
  EXPECT_EQ(sse_event(""), "data: \n\n");
  GenRequest chat;
  chat.chat = true;
  chat.model = "m";
  json first = completion_chunk(chat, "id", 1, "", "", true);
  EXPECT_EQ(first["choices"][0]["delta"]["role"], "assistant");
  EXPECT_TRUE(first["choices"][0]["finish_reason"].is_null());
  json last = completion_chunk(chat, "id", 1, "", "length", false);
  EXPECT_EQ(last["choices"][0]["finish_reason"], "length");
  EXPECT_TRUE(last["choices"][0]["delta"].empty());
  json u = usage_chunk(chat, "id", 1, {5, 7});
  EXPECT_EQ(u["usage"]["total_tokens"], 12);
  EXPECT_TRUE(u["choices"].empty());
}

TEST(ServeApi, Base64AndApiKey) {
  EXPECT_EQ(base64_encode(""), "");
  EXPECT_EQ(base64_encode("f"), "Zg==");
  EXPECT_EQ(base64_encode("fo"), "Zm8=");
  EXPECT_EQ(base64_encode("foo"), "Zm9v");
  EXPECT_EQ(base64_encode(std::string("\xff\x00\x10", 3)), "/wAQ");
  EXPECT_TRUE(api_key_matches("Bearer sk-1", "sk-1"));
  EXPECT_FALSE(api_key_matches("Bearer sk-2", "sk-1"));
  EXPECT_FALSE(api_key_matches("Bearer sk-1x", "sk-1"));
  EXPECT_FALSE(api_key_matches("Bearer sk-", "sk-1"));
  EXPECT_FALSE(api_key_matches("sk-1", "sk-1"));
  EXPECT_FALSE(api_key_matches("", "sk-1"));
  EXPECT_FALSE(api_key_matches("Bearer ", ""));
}

TEST(ServeTensorJson, RoundTripAndBadInput) {
  std::string name;
  auto t = tensor_from_json(json{{"name", "x"}, {"dtype", "float32"}, {"shape", {2, 2}}, {"data", {{1, 2}, {3, 4.5}}}}, &name);
  ASSERT_TRUE(t.ok()) << t.status().message();
  EXPECT_EQ(name, "x");
  EXPECT_EQ(t->shape(), (Shape{2, 2}));
  EXPECT_FLOAT_EQ(t->data<float>()[3], 4.5f);
  auto j = tensor_to_json("y", *t);
  ASSERT_TRUE(j.ok());
  EXPECT_EQ((*j)["dtype"], "float32");
  EXPECT_EQ((*j)["shape"], json({2, 2}));
  EXPECT_EQ((*j)["data"], json({1.0, 2.0, 3.0, 4.5}));
  auto i = tensor_from_json(json{{"name", "i"}, {"dtype", "int64"}, {"data", {1, -2, 3}}}, &name);
  ASSERT_TRUE(i.ok());
  EXPECT_EQ(i->shape(), Shape{3});
  EXPECT_EQ(i->data<int64_t>()[1], -2);
  auto b = tensor_from_json(json{{"name", "b"}, {"dtype", "bool"}, {"shape", {2}}, {"data", {true, false}}}, &name);
  ASSERT_TRUE(b.ok());
  EXPECT_EQ((*tensor_to_json("b", *b))["data"], json({true, false}));
  const std::vector<json> bad = {
      json(3),
      json{{"dtype", "float32"}, {"data", {1}}},
      json{{"name", "x"}, {"dtype", "complex64"}, {"data", {1}}},
      json{{"name", "x"}, {"data", {1, "a"}}},
      json{{"name", "x"}},
      json{{"name", "x"}, {"shape", {3}}, {"data", {1, 2}}},
      json{{"name", "x"}, {"shape", {-1}}, {"data", {1}}},
      json{{"name", "x"}, {"shape", {1 << 20, 1 << 20}}, {"data", {1}}},
      json{{"name", "x"}, {"dtype", "uint8"}, {"data", {256}}},
      json{{"name", "x"}, {"dtype", "int8"}, {"data", {1.5}}},
      json{{"name", "x"}, {"dtype", "int64"}, {"data", {18446744073709551615ull}}},
      json{{"name", "x"}, {"shape", "2"}, {"data", {1, 2}}},
      json{{"name", "x"}, {"dtype", "float32"}, {"data", {1e300}}},
  };
  for (const json& x : bad) EXPECT_FALSE(tensor_from_json(x, &name).ok()) << x.dump();
}

TEST(ServeMetrics, PrometheusText) {
  Metrics m;
  m.request("/v1/completions", 200);
  m.request("/v1/completions", 200);
  m.request("/v1/completions", 400);
  m.tokens(5, 7);
  m.latency(0.3);
  m.first_token(0.002);
  m.set_gauges([] { return std::vector<std::pair<std::string, double>>{{"edgeai_queue_depth{model=\"a\"}", 3}}; });
  std::string t = m.render();
  EXPECT_NE(t.find("edgeai_requests_total{endpoint=\"/v1/completions\",status=\"200\"} 2\n"), std::string::npos) << t;
  EXPECT_NE(t.find("edgeai_requests_total{endpoint=\"/v1/completions\",status=\"400\"} 1\n"), std::string::npos);
  EXPECT_NE(t.find("edgeai_generated_tokens_total 7\n"), std::string::npos);
  EXPECT_NE(t.find("edgeai_request_duration_seconds_bucket{le=\"0.25\"} 0\n"), std::string::npos);
  EXPECT_NE(t.find("edgeai_request_duration_seconds_bucket{le=\"0.5\"} 1\n"), std::string::npos);
  EXPECT_NE(t.find("edgeai_time_to_first_token_seconds_count 1\n"), std::string::npos);
  EXPECT_NE(t.find("# TYPE edgeai_queue_depth gauge\nedgeai_queue_depth{model=\"a\"} 3\n"), std::string::npos);
}

// ---- JSON schema constraint -------------------------------------------------------------------

std::shared_ptr<const JsonSchema> compile(const json& s) {
  auto r = JsonSchema::compile(s);
  EXPECT_TRUE(r.ok()) << s.dump() << ": " << (r.ok() ? "" : r.status().message());
  return r.ok() ? std::move(r).value() : nullptr;
}

bool accepts(const std::shared_ptr<const JsonSchema>& s, const std::string& text) {
  JsonMatcher m(s);
  return m.feed(text) && m.can_end();
}

bool prefix_ok(const std::shared_ptr<const JsonSchema>& s, const std::string& text) {
  JsonMatcher m(s);
  return m.feed(text);
}

const json kPerson = json::parse(R"({
  "type": "object",
  "properties": {
    "name": {"type": "string", "maxLength": 8},
    "age": {"type": "integer"},
    "score": {"type": "number"},
    "pet": {"enum": ["cat", "dog", 3, null, true]},
    "ok": {"type": "boolean"},
    "none": {"type": "null"},
    "tags": {"type": "array", "items": {"type": "string"}, "minItems": 1, "maxItems": 3},
    "home": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
    "extra": {}
  },
  "required": ["name", "age", "tags"],
  "additionalProperties": false
})");

TEST(ServeJsonSchema, AcceptsExactlyTheMatchingDocuments) {
  auto s = compile(kPerson);
  ASSERT_TRUE(s);
  EXPECT_TRUE(accepts(s, R"({"name":"Al","age":3,"tags":["x"]})"));
  EXPECT_TRUE(accepts(s, R"( { "tags" : ["a","b","c"], "age": -12, "name": "" , "pet": "dog"})"));
  EXPECT_TRUE(accepts(s, R"({"name":"\u00e9\n","age":0,"tags":["é"],"score":-1.5e+3,"ok":false,"none":null,"pet":3,"home":{"city":"x"},"extra":[1,{"a":null}]})"));
  EXPECT_TRUE(accepts(s, R"({"name":"a","age":1,"tags":["x"],"pet":true})"));
  const std::vector<std::string> bad = {
      R"({"name":"Al","age":3})",                          // required tags missing
      R"({"name":"Al","age":3.5,"tags":["x"]})",           // integer with a fraction
      R"({"name":"Al","age":3,"tags":[]})",                // minItems
      R"({"name":"Al","age":3,"tags":["a","b","c","d"]})",  // maxItems
      R"({"name":"123456789","age":3,"tags":["x"]})",      // maxLength
      R"({"name":"Al","age":3,"tags":["x"],"color":1})",   // undeclared property
      R"({"name":"Al","name":"B","age":3,"tags":["x"]})",  // repeated property
      R"({"name":"Al","age":03,"tags":["x"]})",            // leading zero
      R"({"name":"Al","age":3,"tags":["x"],"pet":"cow"})",  // not in enum
      R"({"name":"Al","age":3,"tags":["x"],"ok":1})",
      R"({"name":"Al","age":3,"tags":["x"],"home":{}})",
      R"({"name":"A\q","age":3,"tags":["x"]})",            // bad escape
      "{\"name\":\"A\x01\",\"age\":3,\"tags\":[\"x\"]}",   // control character
      "{\"name\":\"\xc3\",\"age\":3,\"tags\":[\"x\"]}",    // broken UTF-8
      "{\"name\":\"\xed\xa0\x80\",\"age\":3,\"tags\":[\"x\"]}",  // surrogate in UTF-8
      R"({"name":"Al","age":3,"tags":["x"]} x)",           // text after the document
      R"([1])",
      "{    \"name\":\"Al\",\"age\":3,\"tags\":[\"x\"]}",    // more than two spaces in a row
  };
  for (const auto& t : bad) EXPECT_FALSE(accepts(s, t)) << t;
  EXPECT_TRUE(prefix_ok(s, R"({"name":"Al","ag)"));
  EXPECT_FALSE(prefix_ok(s, R"({"name":"Al","ax)"));
  // Top-level scalars: a number can end at any digit, a literal only when complete.
  auto num = compile(json{{"type", "number"}});
  EXPECT_TRUE(accepts(num, "12.5e-3"));
  EXPECT_FALSE(accepts(num, "12."));
  EXPECT_FALSE(accepts(num, "-"));
  auto en = compile(json{{"enum", {1, 12}}});
  EXPECT_TRUE(accepts(en, "1"));
  EXPECT_TRUE(accepts(en, "12"));
  EXPECT_FALSE(accepts(en, "2"));
  auto any = JsonSchema::any_object();
  EXPECT_TRUE(accepts(any, R"({"a":[1,"b",{"c":null}],"d":true})"));
  EXPECT_FALSE(accepts(any, R"([1])"));
  EXPECT_FALSE(accepts(any, R"({"a":})"));
}

TEST(ServeJsonSchema, RefusesWhatItDoesNotSupport) {
  const std::vector<json> bad = {
      json{{"anyOf", json::array()}},
      json{{"$ref", "#/x"}},
      json{{"type", json::array({"string", "null"})}},
      json{{"type", "object"}, {"properties", {{"a", {{"type", "string"}, {"pattern", "x"}}}}}},
      json{{"type", "object"}, {"properties", {{"a", {{"type", "string"}}}}}, {"additionalProperties", {{"type", "string"}}}},
      json{{"type", "object"}, {"properties", {{"a", {{"type", "string"}}}}}, {"additionalProperties", true}},
      json{{"type", "object"}, {"properties", {{"a", {{"type", "string"}}}}}, {"required", {"b"}}},
      json{{"type", "integer"}, {"minimum", 0}},
      json{{"type", "string"}, {"maxLength", -1}},
      json{{"type", "string"}, {"minLength", 3}, {"maxLength", 2}},
      json{{"type", "array"}, {"items", {{"oneOf", json::array()}}}},
      json{{"type", "date"}},
      json{{"enum", json::array()}},
      json{{"enum", {{{"a", 1}}}}},
      json{{"type", "string"}, {"items", {{"type", "string"}}}},
      json("string"),
  };
  for (const json& s : bad) {
    auto r = JsonSchema::compile(s);
    EXPECT_FALSE(r.ok()) << s.dump();
  }
  json deep = {{"type", "string"}};
  for (int i = 0; i < 40; ++i) deep = json{{"type", "array"}, {"items", deep}};
  EXPECT_FALSE(JsonSchema::compile(deep).ok());
}

TEST(ServeJsonSchema, ShortestCompletionFinishesEveryPrefix) {
  auto s = compile(kPerson);
  const std::string doc = R"({"name":"Al\u00e9x","score":-1.5e+3,"home":{"city":"é"},"pet":"dog","tags":["a","b"],"age":12})";
  for (size_t i = 0; i <= doc.size(); ++i) {
    JsonMatcher m(s);
    ASSERT_TRUE(m.feed(doc.substr(0, i))) << i;
    std::string done = doc.substr(0, i) + m.shortest_completion();
    EXPECT_TRUE(accepts(s, done)) << done;
    EXPECT_NO_THROW((void)json::parse(done)) << done;
  }
  JsonMatcher fresh(s);
  EXPECT_EQ(fresh.shortest_completion(), R"({"age":0,"name":"","tags":[""]})");
}

// A number may have at most 24 digits: at that cap '.', 'e' and an exponent sign (each needing a
// digit after it) are refused too, so a number never reaches a state that nothing can complete
// (found by fuzz_serve_request).
TEST(ServeJsonSchema, NumberAtTheDigitCapStaysCompletable) {
  auto s = compile(json{{"type", "object"}});
  const std::string digits(24, '8');
  for (const std::string tail : {".", "e", "E"}) {
    JsonMatcher m(s);
    ASSERT_TRUE(m.feed(R"({"x":)" + digits));
    JsonMatcher next = m;
    EXPECT_FALSE(next.feed(tail)) << tail;
    EXPECT_FALSE(JsonMatcher(m).feed("8"));
    const std::string done = R"({"x":)" + digits + m.shortest_completion();
    EXPECT_TRUE(accepts(s, done)) << done;
    EXPECT_NO_THROW((void)json::parse(done)) << done;
  }
  JsonMatcher e(s);
  ASSERT_TRUE(e.feed(R"({"x":1)" + std::string(22, '0') + "e"));  // 23 digits, then 'e'
  ASSERT_TRUE(e.feed("-"));
  EXPECT_FALSE(JsonMatcher(e).feed("12"));  // the exponent gets the one digit left
  const std::string done = R"({"x":1)" + std::string(22, '0') + "e-" + e.shortest_completion();
  EXPECT_TRUE(accepts(s, done)) << done;
  EXPECT_NO_THROW((void)json::parse(done)) << done;
}

// An independent check of documents against the schema subset (nlohmann parses them).
bool valid(const json& s, const json& v) {
  if (s.contains("enum")) {
    for (const json& e : s["enum"])
      if (e == v) return true;
    return false;
  }
  if (!s.contains("type")) return true;
  const std::string t = s["type"];
  if (t == "object") {
    if (!v.is_object()) return false;
    for (const json& r : s.value("required", json::array()))
      if (!v.contains(r.get<std::string>())) return false;
    for (const auto& [k, x] : v.items()) {
      if (!s.contains("properties")) continue;
      if (!s["properties"].contains(k) || !valid(s["properties"][k], x)) return false;
    }
    return true;
  }
  if (t == "array") {
    if (!v.is_array() || (int64_t)v.size() < s.value("minItems", 0) || (s.contains("maxItems") && (int64_t)v.size() > s["maxItems"].get<int64_t>())) return false;
    for (const json& x : v)
      if (s.contains("items") && !valid(s["items"], x)) return false;
    return true;
  }
  if (t == "string") return v.is_string();
  if (t == "integer") return v.is_number_integer();
  if (t == "number") return v.is_number();
  if (t == "boolean") return v.is_boolean();
  if (t == "null") return v.is_null();
  return false;
}

// Random decoding over a fake vocabulary (single bytes, multi-byte tokens, junk and an EOS): with
// the mask applied at every step, each run must end in a document that parses and validates,
// within the token budget, whatever the budget (down to the shortest document).
TEST(ServeJsonSchema, MaskedRandomDecodingAlwaysEndsInAValidDocument) {
  std::vector<std::string> vocab = {"", "<eos>"};
  for (int c = 0x20; c < 0x7f; ++c) vocab.push_back(std::string(1, (char)c));
  for (const char* t : {"\n", "\"name\"", "\"age\":", "true", "false", "null", "{\"", "\":", "\",\"", "12", "-0.5", "e+", "\\n",
                        "\\u00", "\xc3\xa9", "\xc3", "\xa9", "cat", "dog", "\"tags\":[", "]}", "},{", " \"", "  ", "\t", "{}", "[]",
                        "\"home\":{\"city\":\"", "\xf0\x9f\x98\x80", "<|im_end|>"})
    vocab.push_back(t);
  std::vector<uint8_t> eog(vocab.size(), 0);
  eog[1] = 1;
  vocab[1].clear();
  auto s = compile(kPerson);
  const int64_t min_len = (int64_t)JsonMatcher(s).shortest_completion().size();
  std::mt19937 rng(1234);
  std::vector<uint8_t> allowed;
  int completed = 0;
  for (int run = 0; run < 60; ++run) {
    const int64_t budget = min_len + (run % 6) * 7;
    JsonMatcher m(s);
    std::string text;
    int64_t used = 0;
    bool ended = false;
    while (used < budget && !m.done()) {
      mask_tokens(m, vocab, eog, budget - used, &allowed);
      std::vector<size_t> ids;
      for (size_t i = 0; i < allowed.size(); ++i)
        if (allowed[i]) ids.push_back(i);
      ASSERT_FALSE(ids.empty()) << "run " << run << " stuck after " << text;
      size_t id = ids[std::uniform_int_distribution<size_t>(0, ids.size() - 1)(rng)];
      ++used;
      if (eog[id]) {
        ended = true;
        break;
      }
      ASSERT_TRUE(m.feed(vocab[id])) << text << " + " << vocab[id];
      text += vocab[id];
    }
    ASSERT_TRUE(m.done() || ended) << "run " << run << " (budget " << budget << "): " << text;
    json v = json::parse(text, nullptr, false);
    ASSERT_FALSE(v.is_discarded()) << text;
    EXPECT_TRUE(valid(kPerson, v)) << text;
    ++completed;
  }
  EXPECT_EQ(completed, 60);
  // Control tokens (empty text) are never allowed; EOS only where the document may end.
  JsonMatcher m(s);
  mask_tokens(m, vocab, eog, 100, &allowed);
  EXPECT_FALSE(allowed[0]);
  EXPECT_FALSE(allowed[1]);
  EXPECT_TRUE(allowed[vocab.size() - 1] == 0);  // "<|im_end|>" cannot start a document
}

}  // namespace
}  // namespace edgeai::serve
