// Generation constrained to JSON (response_format json_object / json_schema): a JSON schema is
// compiled to a small tree, and a JsonMatcher follows the text byte by byte as a pushdown
// automaton, accepting exactly the prefixes of JSON documents that match the schema. At each step
// the server masks every token whose text the matcher would refuse, and, when the token budget
// runs low, every token after which the shortest completion would no longer fit, so a constrained
// reply always ends as a complete document (unless max_tokens is below the shortest document).
//
// Supported schema subset: "type" one of object, array, string, number, integer, boolean, null;
// "properties" and "required" (objects accept only the declared properties, each at most once,
// in any order; "additionalProperties": false is implied and true is refused), "items",
// "minItems", "maxItems", "minLength", "maxLength", "enum" (of strings, numbers, booleans, null)
// and "const", nested to any depth. Annotations (title, description, $schema, default, examples,
// format, strict, $id, $comment) are ignored. Everything else ($ref, $defs, anyOf, oneOf, allOf,
// not, if/then/else, pattern, patternProperties, additionalProperties as a schema, type lists,
// minimum/maximum, multipleOf, uniqueItems, ...) is refused with a message naming the keyword.
// Objects may declare at most 64 properties. Whitespace between tokens is limited to two
// characters in a row (so that a model cannot pad forever).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "edgeai/status.h"

namespace edgeai::serve {

struct SchemaNode {
  enum class Kind { kAny, kObject, kArray, kString, kNumber, kInteger, kBoolean, kNull, kEnum };
  Kind kind = Kind::kAny;
  bool open = false;  // object: any keys with values of any type (json_object mode, {"type":"object"} alone)
  std::vector<std::string> prop_names;
  std::vector<int> prop_nodes;
  uint64_t required = 0;  // bit i: prop_names[i] is required
  int items = -1;         // array element schema (-1: any)
  int64_t min_items = 0, max_items = -1;
  int64_t min_len = 0, max_len = -1;
  std::vector<std::string> literals;  // enum / const values as compact JSON text
};

class JsonSchema {
 public:
  // Any JSON object (response_format {"type":"json_object"}).
  static std::shared_ptr<const JsonSchema> any_object();
  // Errors name the unsupported keyword or bad value and where it is ("$.properties.age").
  static Result<std::shared_ptr<const JsonSchema>> compile(const nlohmann::json& schema);

  const SchemaNode& node(int i) const { return nodes_[(size_t)i]; }
  int root() const { return 0; }
  int any_node() const { return any_; }

 private:
  int add(SchemaNode n) {
    nodes_.push_back(std::move(n));
    return (int)nodes_.size() - 1;
  }
  Result<int> compile_node(const nlohmann::json& s, const std::string& where, int depth);
  std::vector<SchemaNode> nodes_;
  int any_ = -1;
};

class JsonMatcher {
 public:
  explicit JsonMatcher(std::shared_ptr<const JsonSchema> schema);

  // Feeds one byte; false when the text so far plus this byte is not a prefix of a matching document (the matcher then
  // refuses everything: try bytes on a copy).
  bool feed(unsigned char c);
  bool feed(std::string_view text) {
    for (char c : text)
      if (!feed((unsigned char)c)) return false;
    return true;
  }
  // The document is complete and nothing more may follow.
  bool done() const { return done_; }
  // The text so far is a complete document (done, or a top-level number that could go on).
  bool can_end() const;
  // The shortest text that completes the document ("" when can_end()).
  std::string shortest_completion() const;

 private:
  enum class Ph : uint8_t {
    kObjStart, kObjKey, kObjColon, kObjValue, kObjAfterValue, kObjAfterComma,
    kArrStart, kArrAfterValue, kArrAfterComma,
    kString, kNumber, kLiteral,
  };
  struct Frame {
    int node = 0;
    Ph ph = Ph::kObjStart;
    bool key = false;        // string frame holding an open object's key
    uint8_t num = 0;         // number grammar state
    uint8_t esc = 0;         // string: 0 none, 1 after '\', 2..5 in \uXXXX
    uint8_t utf8_left = 0;   // string: continuation bytes still due
    uint8_t lo = 0x80, hi = 0xBF;  // range of the next continuation byte
    uint64_t seen = 0;       // object: properties present
    int cur = -1;            // object: property whose value comes next
    int64_t count = 0;       // array items / string characters / number digits
    std::string buf;         // closed object's key so far, or literal so far
  };
  bool start_value(int node, unsigned char c);
  bool number_accepting(const Frame& f) const;
  bool literal_complete(const Frame& f) const;
  void pop_value();
  // The next character of the shortest completion, or 0 when the document can end here.
  unsigned char closing_char() const;
  unsigned char value_start_char(int node) const;

  std::shared_ptr<const JsonSchema> schema_;
  std::vector<Frame> stack_;
  bool done_ = false;
  bool failed_ = false;
  int ws_run_ = 0;
};

// allowed[id] = 1 for the tokens that may come next: those whose text (pieces[id]) the matcher
// accepts, end-of-generation tokens (is_eog[id]) only where the document can end, and, when
// tokens_left is close to the shortest completion, only tokens after which it still fits.
void mask_tokens(const JsonMatcher& m, const std::vector<std::string>& pieces, const std::vector<uint8_t>& is_eog,
                 int64_t tokens_left, std::vector<uint8_t>* allowed);

}  // namespace edgeai::serve
