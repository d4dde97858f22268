#include "serve/json_constraint.h"

#include <algorithm>
#include <set>

namespace edgeai::serve {

namespace {

using nlohmann::json;
using Kind = SchemaNode::Kind;

constexpr int kMaxDepth = 64;        // nesting of a generated document
constexpr int kMaxSchemaDepth = 32;  // nesting of a schema
constexpr int64_t kMaxDigits = 24;   // digits of one number

bool is_ws(unsigned char c) { return c == ' ' || c == '\n' || c == '\t' || c == '\r'; }
bool is_digit(unsigned char c) { return c >= '0' && c <= '9'; }
bool is_hex(unsigned char c) { return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }

const std::vector<std::string> kBoolLits = {"true", "false"};
const std::vector<std::string> kNullLits = {"null"};
const std::vector<std::string> kAnyLits = {"true", "false", "null"};

const std::set<std::string, std::less<>> kIgnored = {"title", "description", "$schema", "default", "examples",
                                                     "format", "strict", "$id", "$comment", "readOnly", "writeOnly"};

}  // namespace

std::shared_ptr<const JsonSchema> JsonSchema::any_object() {
  auto r = compile(json{{"type", "object"}});
  return r.ok() ? std::move(r).value() : nullptr;
}

Result<std::shared_ptr<const JsonSchema>> JsonSchema::compile(const json& schema) {
  auto s = std::shared_ptr<JsonSchema>(new JsonSchema());
  s->nodes_.emplace_back();  // root placeholder: index 0
  SchemaNode any;
  any.kind = Kind::kAny;
  s->any_ = s->add(any);
  auto root = s->compile_node(schema, "$", 0);
  if (!root.ok()) return root.status();
  s->nodes_[0] = s->nodes_[(size_t)*root];
  return std::shared_ptr<const JsonSchema>(std::move(s));
}

Result<int> JsonSchema::compile_node(const json& s, const std::string& where, int depth) {
  if (depth > kMaxSchemaDepth) return invalid_argument(where + ": the schema is nested too deeply");
  if (!s.is_object()) return invalid_argument(where + ": a schema must be a JSON object");
  auto get_count = [&](const char* key, int64_t* out) -> Status {
    if (!s.contains(key)) return ok_status();
    const json& v = s[key];
    if (!v.is_number_integer() || v.get<int64_t>() < 0 || v.get<int64_t>() > (int64_t{1} << 30)) {
      return invalid_argument(where + "." + key + " must be a non-negative integer");
    }
    *out = v.get<int64_t>();
    return ok_status();
  };
  for (const auto& [key, v] : s.items()) {
    static const std::set<std::string, std::less<>> known = {
        "type", "properties", "required", "items", "minItems", "maxItems", "minLength", "maxLength",
        "enum", "const", "additionalProperties"};
    if (known.count(key) || kIgnored.count(key)) continue;
    return invalid_argument(where + ": the schema keyword '" + key + "' is not supported");
  }
  SchemaNode n;
  if (s.contains("enum") || s.contains("const")) {
    json values = s.contains("const") ? json::array({s["const"]}) : s["enum"];
    if (!values.is_array() || values.empty()) return invalid_argument(where + ".enum must be a non-empty array");
    n.kind = Kind::kEnum;
    for (const json& v : values) {
      if (v.is_object() || v.is_array()) return invalid_argument(where + ".enum: only strings, numbers, booleans and null are supported");
      n.literals.push_back(v.dump());
    }
    return add(std::move(n));
  }
  if (!s.contains("type")) {
    if (s.contains("properties")) {
      n.kind = Kind::kObject;
    } else {
      n.kind = Kind::kAny;
      return any_;
    }
  } else {
    const json& t = s["type"];
    if (!t.is_string()) return invalid_argument(where + ".type: only a single type name is supported");
    const std::string ts = t.get<std::string>();
    if (ts == "object") n.kind = Kind::kObject;
    else if (ts == "array") n.kind = Kind::kArray;
    else if (ts == "string") n.kind = Kind::kString;
    else if (ts == "number") n.kind = Kind::kNumber;
    else if (ts == "integer") n.kind = Kind::kInteger;
    else if (ts == "boolean") n.kind = Kind::kBoolean;
    else if (ts == "null") n.kind = Kind::kNull;
    else return invalid_argument(where + ".type: unknown type '" + ts + "'");
  }
  if (n.kind == Kind::kObject) {
    bool has_props = s.contains("properties");
    if (has_props && !s["properties"].is_object()) return invalid_argument(where + ".properties must be an object");
    if (s.contains("additionalProperties")) {
      const json& ap = s["additionalProperties"];
      if (!ap.is_boolean()) return invalid_argument(where + ".additionalProperties: only false is supported");
      if (ap.get<bool>() && has_props) return invalid_argument(where + ".additionalProperties: true is not supported with properties");
    }
    if (!has_props) {
      if (s.contains("required")) return invalid_argument(where + ".required without properties is not supported");
      n.open = true;
      return add(std::move(n));
    }
    const json& props = s["properties"];
    if (props.size() > 64) return invalid_argument(where + ".properties: at most 64 properties are supported");
    for (const auto& [name, sub] : props.items()) {
      for (char c : name)
        if ((unsigned char)c < 0x20 || c == '"' || c == '\\') return invalid_argument(where + ".properties: property names with quotes, backslashes or control characters are not supported");
      auto child = compile_node(sub, where + ".properties." + name, depth + 1);
      if (!child.ok()) return child.status();
      n.prop_names.push_back(name);
      n.prop_nodes.push_back(*child);
    }
    if (s.contains("required")) {
      const json& req = s["required"];
      if (!req.is_array()) return invalid_argument(where + ".required must be an array of property names");
      for (const json& r : req) {
        if (!r.is_string()) return invalid_argument(where + ".required must be an array of property names");
        auto it = std::find(n.prop_names.begin(), n.prop_names.end(), r.get<std::string>());
        if (it == n.prop_names.end()) return invalid_argument(where + ".required: '" + r.get<std::string>() + "' is not in properties");
        n.required |= uint64_t{1} << (it - n.prop_names.begin());
      }
    }
  } else if (n.kind == Kind::kArray) {
    if (s.contains("items")) {
      auto child = compile_node(s["items"], where + ".items", depth + 1);
      if (!child.ok()) return child.status();
      n.items = *child;
    } else {
      n.items = any_;
    }
    RETURN_IF_ERROR(get_count("minItems", &n.min_items));
    RETURN_IF_ERROR(get_count("maxItems", &n.max_items));
    if (!s.contains("maxItems")) n.max_items = -1;
    if (n.max_items >= 0 && n.max_items < n.min_items) return invalid_argument(where + ": maxItems is below minItems");
  } else if (n.kind == Kind::kString) {
    RETURN_IF_ERROR(get_count("minLength", &n.min_len));
    RETURN_IF_ERROR(get_count("maxLength", &n.max_len));
    if (!s.contains("maxLength")) n.max_len = -1;
    if (n.max_len >= 0 && n.max_len < n.min_len) return invalid_argument(where + ": maxLength is below minLength");
  }
  for (const char* k : {"properties", "required", "additionalProperties"})
    if (n.kind != Kind::kObject && s.contains(k)) return invalid_argument(where + ": '" + k + "' needs type object");
  for (const char* k : {"items", "minItems", "maxItems"})
    if (n.kind != Kind::kArray && s.contains(k)) return invalid_argument(where + ": '" + k + "' needs type array");
  for (const char* k : {"minLength", "maxLength"})
    if (n.kind != Kind::kString && s.contains(k)) return invalid_argument(where + ": '" + k + "' needs type string");
  return add(std::move(n));
}

JsonMatcher::JsonMatcher(std::shared_ptr<const JsonSchema> schema) : schema_(std::move(schema)) {}

namespace {
const std::vector<std::string>& literal_candidates(const SchemaNode& n) {
  if (n.kind == Kind::kEnum) return n.literals;
  if (n.kind == Kind::kBoolean) return kBoolLits;
  if (n.kind == Kind::kNull) return kNullLits;
  return kAnyLits;
}
}  // namespace

bool JsonMatcher::start_value(int node, unsigned char c) {
  if ((int)stack_.size() >= kMaxDepth) return false;
  const SchemaNode& n = schema_->node(node);
  Kind k = n.kind;
  Frame f;
  f.node = node;
  if (k == Kind::kAny) {
    if (c == '{') {
      f.ph = Ph::kObjStart;  // an open object: node kAny stands for "any keys, any values"
    } else if (c == '[') {
      f.ph = Ph::kArrStart;
    } else if (c == '"') {
      f.ph = Ph::kString;
    } else if (c == '-' || is_digit(c)) {
      k = Kind::kNumber;
    } else if (c == 't' || c == 'f' || c == 'n') {
      f.ph = Ph::kLiteral;
      f.buf.assign(1, (char)c);
      stack_.push_back(std::move(f));
      return true;
    } else {
      return false;
    }
    if (k == Kind::kAny) {
      stack_.push_back(std::move(f));
      return true;
    }
  }
  switch (k) {
    case Kind::kObject:
      if (c != '{') return false;
      f.ph = Ph::kObjStart;
      break;
    case Kind::kArray:
      if (c != '[') return false;
      f.ph = Ph::kArrStart;
      break;
    case Kind::kString:
      if (c != '"') return false;
      f.ph = Ph::kString;
      break;
    case Kind::kNumber:
    case Kind::kInteger:
      f.ph = Ph::kNumber;
      if (c == '-') f.num = 0;
      else if (c == '0') f.num = 1;
      else if (is_digit(c)) f.num = 2;
      else return false;
      f.count = is_digit(c) ? 1 : 0;
      break;
    case Kind::kBoolean:
    case Kind::kNull:
    case Kind::kEnum: {
      bool any = false;
      for (const std::string& lit : literal_candidates(n)) any = any || (!lit.empty() && (unsigned char)lit[0] == c);
      if (!any) return false;
      f.ph = Ph::kLiteral;
      f.buf.assign(1, (char)c);
      stack_.push_back(std::move(f));
      // A one-character literal (enum [1, 2]) that nothing extends is complete at once.
      if (literal_complete(stack_.back())) {
        bool longer = false;
        for (const std::string& lit : literal_candidates(n)) longer = longer || lit.size() > 1;
        if (!longer) pop_value();
      }
      return true;
    }
    case Kind::kAny:
      return false;
  }
  stack_.push_back(std::move(f));
  return true;
}

bool JsonMatcher::number_accepting(const Frame& f) const { return f.num == 1 || f.num == 2 || f.num == 4 || f.num == 7; }

bool JsonMatcher::literal_complete(const Frame& f) const {
  for (const std::string& lit : literal_candidates(schema_->node(f.node)))
    if (lit == f.buf) return true;
  return false;
}

void JsonMatcher::pop_value() {
  stack_.pop_back();
  if (stack_.empty()) done_ = true;
}

bool JsonMatcher::feed(unsigned char c) {
  if (failed_) return false;
  auto fail = [&] {
    failed_ = true;
    return false;
  };
  auto ws = [&] {
    if (++ws_run_ > 2) return fail();
    return true;
  };
  const bool white = is_ws(c);
  if (!white) ws_run_ = 0;
  for (int iter = 0; iter < 4; ++iter) {
    if (stack_.empty()) {
      if (done_) return fail();
      if (white) return ws();
      return start_value(schema_->root(), c) || fail();
    }
    Frame& f = stack_.back();
    const SchemaNode& n = schema_->node(f.node);
    const bool open = n.kind == Kind::kAny || n.open;
    switch (f.ph) {
      case Ph::kString: {
        const int64_t max_len = n.kind == Kind::kString ? n.max_len : -1;
        const int64_t min_len = n.kind == Kind::kString ? n.min_len : 0;
        if (f.utf8_left > 0) {
          if (c < f.lo || c > f.hi) return fail();
          --f.utf8_left;
          f.lo = 0x80;
          f.hi = 0xBF;
          return true;
        }
        if (f.esc == 1) {
          if (c == 'u') {
            f.esc = 2;
            return true;
          }
          if (c != '"' && c != '\\' && c != '/' && c != 'b' && c != 'f' && c != 'n' && c != 'r' && c != 't') return fail();
          f.esc = 0;
          ++f.count;
          return true;
        }
        if (f.esc >= 2) {
          if (!is_hex(c)) return fail();
          if (++f.esc == 6) {
            f.esc = 0;
            ++f.count;
          }
          return true;
        }
        if (c == '"') {
          if (f.count < min_len) return fail();
          pop_value();
          return true;
        }
        if (max_len >= 0 && f.count >= max_len) return fail();
        if (c == '\\') {
          f.esc = 1;
          return true;
        }
        if (c < 0x20) return fail();
        if (c >= 0x80) {
          if (c >= 0xC2 && c <= 0xDF) {
            f.utf8_left = 1;
          } else if (c >= 0xE0 && c <= 0xEF) {
            f.utf8_left = 2;
            if (c == 0xE0) f.lo = 0xA0;
            if (c == 0xED) f.hi = 0x9F;
          } else if (c >= 0xF0 && c <= 0xF4) {
            f.utf8_left = 3;
            if (c == 0xF0) f.lo = 0x90;
            if (c == 0xF4) f.hi = 0x8F;
          } else {
            return fail();
          }
        }
        ++f.count;
        return true;
      }
      case Ph::kNumber: {
        const bool integer = n.kind == Kind::kInteger;
        int next = -1;
        switch (f.num) {
          case 0: next = c == '0' ? 1 : is_digit(c) ? 2 : -1; break;
          case 1: next = (c == '.' && !integer) ? 3 : ((c == 'e' || c == 'E') && !integer) ? 5 : -1; break;
          case 2: next = is_digit(c) ? 2 : (c == '.' && !integer) ? 3 : ((c == 'e' || c == 'E') && !integer) ? 5 : -1; break;
          case 3: next = is_digit(c) ? 4 : -1; break;
          case 4: next = is_digit(c) ? 4 : (c == 'e' || c == 'E') ? 5 : -1; break;
          case 5: next = (c == '+' || c == '-') ? 6 : is_digit(c) ? 7 : -1; break;
          case 6: next = is_digit(c) ? 7 : -1; break;
          case 7: next = is_digit(c) ? 7 : -1; break;
        }
        if (next >= 0) {
          if (is_digit(c) && ++f.count > kMaxDigits) return fail();
          // '.', 'e' and a sign need a digit after them: refuse them once no digit is left.
          if ((next == 3 || next == 5 || next == 6) && f.count >= kMaxDigits) return fail();
          f.num = (uint8_t)next;
          return true;
        }
        if (!number_accepting(f)) return fail();
        pop_value();
        continue;  // the character belongs to what follows the number
      }
      case Ph::kLiteral: {
        const auto& lits = literal_candidates(n);
        std::string nb = f.buf + (char)c;
        bool prefix = false, longer = false;
        for (const std::string& lit : lits) {
          if (lit.compare(0, nb.size(), nb) == 0) {
            prefix = true;
            if (lit.size() > nb.size()) longer = true;
          }
        }
        if (prefix) {
          f.buf = std::move(nb);
          if (!longer) pop_value();
          return true;
        }
        if (!literal_complete(f)) return fail();
        pop_value();
        continue;
      }
      case Ph::kObjStart:
      case Ph::kObjAfterComma: {
        if (white) return ws();
        if (c == '}' && f.ph == Ph::kObjStart) {
          if (!open && (n.required & ~f.seen) != 0) return fail();
          pop_value();
          return true;
        }
        if (c != '"') return fail();
        if (open) {
          f.ph = Ph::kObjColon;
          Frame key;
          key.node = schema_->any_node();
          key.ph = Ph::kString;
          key.key = true;
          if ((int)stack_.size() >= kMaxDepth) return fail();
          stack_.push_back(std::move(key));
          return true;
        }
        bool any = false;
        for (size_t i = 0; i < n.prop_names.size(); ++i) any = any || !(f.seen >> i & 1);
        if (!any) return fail();
        f.ph = Ph::kObjKey;
        f.buf.clear();
        return true;
      }
      case Ph::kObjKey: {
        if (c == '"') {
          for (size_t i = 0; i < n.prop_names.size(); ++i) {
            if (!(f.seen >> i & 1) && n.prop_names[i] == f.buf) {
              f.seen |= uint64_t{1} << i;
              f.cur = (int)i;
              f.ph = Ph::kObjColon;
              return true;
            }
          }
          return fail();
        }
        std::string nb = f.buf + (char)c;
        for (size_t i = 0; i < n.prop_names.size(); ++i) {
          if (!(f.seen >> i & 1) && n.prop_names[i].compare(0, nb.size(), nb) == 0) {
            f.buf = std::move(nb);
            return true;
          }
        }
        return fail();
      }
      case Ph::kObjColon:
        if (white) return ws();
        if (c != ':') return fail();
        f.ph = Ph::kObjValue;
        return true;
      case Ph::kObjValue: {
        if (white) return ws();
        const int child = open ? schema_->any_node() : n.prop_nodes[(size_t)f.cur];
        f.ph = Ph::kObjAfterValue;
        return start_value(child, c) || fail();  // f is not used after the push
      }
      case Ph::kObjAfterValue: {
        if (white) return ws();
        if (c == ',') {
          bool more = open;
          for (size_t i = 0; i < n.prop_names.size(); ++i) more = more || !(f.seen >> i & 1);
          if (!more) return fail();
          f.ph = Ph::kObjAfterComma;
          return true;
        }
        if (c == '}') {
          if (!open && (n.required & ~f.seen) != 0) return fail();
          pop_value();
          return true;
        }
        return fail();
      }
      case Ph::kArrStart:
      case Ph::kArrAfterValue:
      case Ph::kArrAfterComma: {
        if (white) return ws();
        const int64_t min_items = n.kind == Kind::kArray ? n.min_items : 0;
        const int64_t max_items = n.kind == Kind::kArray ? n.max_items : -1;
        if (c == ']' && f.ph != Ph::kArrAfterComma) {
          if (f.count < min_items) return fail();
          pop_value();
          return true;
        }
        if (f.ph == Ph::kArrAfterValue) {
          if (c != ',' || (max_items >= 0 && f.count >= max_items)) return fail();
          f.ph = Ph::kArrAfterComma;
          return true;
        }
        if (max_items >= 0 && f.count >= max_items) return fail();
        const int items = n.kind == Kind::kArray ? n.items : schema_->any_node();
        ++f.count;
        f.ph = Ph::kArrAfterValue;
        return start_value(items, c) || fail();
      }
    }
  }
  return fail();
}

bool JsonMatcher::can_end() const {
  if (failed_) return false;
  if (done_) return true;
  if (stack_.size() != 1) return false;
  const Frame& f = stack_.back();
  return (f.ph == Ph::kNumber && number_accepting(f)) || (f.ph == Ph::kLiteral && literal_complete(f));
}

unsigned char JsonMatcher::value_start_char(int node) const {
  const SchemaNode& n = schema_->node(node);
  switch (n.kind) {
    case Kind::kObject: return '{';
    case Kind::kArray: return '[';
    case Kind::kString: return '"';
    case Kind::kBoolean: return 't';
    case Kind::kNull: return 'n';
    case Kind::kEnum: {
      const std::string* best = &n.literals[0];
      for (const std::string& l : n.literals)
        if (l.size() < best->size()) best = &l;
      return (unsigned char)(*best)[0];
    }
    default: return '0';
  }
}

unsigned char JsonMatcher::closing_char() const {
  if (failed_) return 0;
  if (stack_.empty()) return done_ ? 0 : value_start_char(schema_->root());
  size_t i = stack_.size() - 1;
  // A finished number or literal ends with whatever its parent closes with.
  while (true) {
    const Frame& f = stack_[i];
    const bool ends = (f.ph == Ph::kNumber && number_accepting(f)) || (f.ph == Ph::kLiteral && literal_complete(f));
    if (!ends || i != stack_.size() - 1) break;
    if (i == 0) return 0;
    --i;
    break;
  }
  const Frame& f = stack_[i];
  const SchemaNode& n = schema_->node(f.node);
  const bool open = n.kind == Kind::kAny || n.open;
  auto required_left = [&] { return !open && (n.required & ~f.seen) != 0; };
  switch (f.ph) {
    case Ph::kString:
      if (f.utf8_left > 0) return f.lo;
      if (f.esc == 1) return 'n';
      if (f.esc >= 2) return '0';
      if (n.kind == Kind::kString && f.count < n.min_len) return 'a';
      return '"';
    case Ph::kNumber:
      return '0';
    case Ph::kLiteral: {
      const std::string* best = nullptr;
      for (const std::string& lit : literal_candidates(n))
        if (lit.size() > f.buf.size() && lit.compare(0, f.buf.size(), f.buf) == 0 && (!best || lit.size() < best->size())) best = &lit;
      return best ? (unsigned char)(*best)[f.buf.size()] : 0;
    }
    case Ph::kObjStart: return required_left() ? '"' : '}';
    case Ph::kObjAfterComma: return '"';
    case Ph::kObjKey: {
      int best = -1;
      for (size_t p = 0; p < n.prop_names.size(); ++p) {
        if ((f.seen >> p & 1) || n.prop_names[p].compare(0, f.buf.size(), f.buf) != 0) continue;
        auto rank = [&](int q) { return std::make_pair(!(n.required >> q & 1), n.prop_names[(size_t)q].size()); };
        if (best < 0 || rank((int)p) < rank(best)) best = (int)p;
      }
      if (best < 0) return 0;
      const std::string& name = n.prop_names[(size_t)best];
      return name.size() == f.buf.size() ? '"' : (unsigned char)name[f.buf.size()];
    }
    case Ph::kObjColon: return ':';
    case Ph::kObjValue: return value_start_char(open ? schema_->any_node() : n.prop_nodes[(size_t)f.cur]);
    case Ph::kObjAfterValue: return required_left() ? ',' : '}';
    case Ph::kArrStart:
    case Ph::kArrAfterValue:
    case Ph::kArrAfterComma: {
      const int64_t min_items = n.kind == Kind::kArray ? n.min_items : 0;
      const int items = n.kind == Kind::kArray ? n.items : schema_->any_node();
      if (f.ph == Ph::kArrAfterComma) return value_start_char(items);
      if (f.count < min_items) return f.ph == Ph::kArrStart ? value_start_char(items) : ',';
      return ']';
    }
  }
  return 0;
}

std::string JsonMatcher::shortest_completion() const {
  std::string out;
  JsonMatcher m = *this;
  for (int i = 0; i < 1 << 16; ++i) {
    unsigned char c = m.closing_char();
    if (c == 0 || !m.feed(c)) break;
    out += (char)c;
  }
  return out;
}

void mask_tokens(const JsonMatcher& m, const std::vector<std::string>& pieces, const std::vector<uint8_t>& is_eog,
                 int64_t tokens_left, std::vector<uint8_t>* allowed) {
  allowed->assign(pieces.size(), 0);
  const int64_t need = (int64_t)m.shortest_completion().size();
  // Near the end of the budget, keep only tokens after which the shortest completion still fits
  // the tokens that remain (every character can be a token of its own).
  const bool tight = tokens_left <= need + 8;
  const bool can_end = m.can_end();
  for (size_t id = 0; id < pieces.size(); ++id) {
    if (id < is_eog.size() && is_eog[id]) {
      (*allowed)[id] = can_end;
      continue;
    }
    const std::string& piece = pieces[id];
    if (piece.empty()) continue;
    JsonMatcher t = m;
    if (!t.feed(piece)) continue;
    if (tight && (int64_t)t.shortest_completion().size() > tokens_left - 1) continue;
    (*allowed)[id] = 1;
  }
}

}  // namespace edgeai::serve
