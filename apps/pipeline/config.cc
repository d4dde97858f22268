#include "pipeline/config.h"

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace edgeai::pipeline {

namespace fs = std::filesystem;

std::string location(const Config& cfg, const YAML::Node& n) {
  YAML::Mark m = n.Mark();
  if (m.is_null()) return cfg.path + ": ";
  return cfg.path + ":" + std::to_string(m.line + 1) + ":" + std::to_string(m.column + 1) + ": ";
}

std::string expand_env(const std::string& text) {
  std::string out;
  size_t pos = 0;
  while (true) {
    size_t a = text.find("${", pos);
    if (a == std::string::npos) break;
    size_t b = text.find('}', a + 2);
    size_t nl = text.find('\n', a);
    if (b == std::string::npos || (nl != std::string::npos && nl < b)) break;
    out += text.substr(pos, a - pos);
    std::string inner = text.substr(a + 2, b - a - 2), def;
    size_t d = inner.find(":-");
    if (d != std::string::npos) {
      def = inner.substr(d + 2);
      inner = inner.substr(0, d);
    }
    const char* v = std::getenv(inner.c_str());
    out += v != nullptr && *v != 0 ? std::string(v) : def;
    pos = b + 1;
  }
  return out + text.substr(pos);
}

Result<Config> parse_config(const std::string& text, const std::string& name, const std::string& base_dir) {
  Config cfg;
  cfg.path = name;
  cfg.base_dir = base_dir;
  try {
    cfg.root = YAML::Load(expand_env(text));
  } catch (const YAML::Exception& e) {
    std::string where = name;
    if (!e.mark.is_null()) where += ":" + std::to_string(e.mark.line + 1) + ":" + std::to_string(e.mark.column + 1);
    return invalid_argument(where + ": " + e.msg);
  } catch (const std::exception& e) {
    return invalid_argument(name + ": " + e.what());
  }
  if (!cfg.root.IsMap()) return invalid_argument(name + ": the configuration must be a mapping (sources, stages, actions)");
  return cfg;
}

Result<Config> load_config(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) return not_found(path + ": cannot open the configuration file");
  std::stringstream ss;
  ss << f.rdbuf();
  std::error_code ec;
  fs::path abs = fs::absolute(path, ec);
  return parse_config(ss.str(), path, (ec ? fs::path(path) : abs).parent_path().string());
}

Fields::Fields(const Config& cfg, const YAML::Node& node, std::string what)
    : cfg_(cfg), node_(node), what_(std::move(what)) {
  if (!node_.IsMap()) error("must be a mapping of keys to values");
}

std::string Fields::where(const YAML::Node& n) const { return location(cfg_, n); }

void Fields::error(const std::string& msg, const YAML::Node* at) {
  if (!status_.ok()) return;
  status_ = invalid_argument(where(at ? *at : node_) + what_ + ": " + msg);
}

bool Fields::has(const std::string& key) {
  known_.insert(key);
  if (!node_.IsMap()) return false;
  const YAML::Node& c = node_;
  YAML::Node n = c[key];
  return n && !n.IsNull();
}

// An undefined node (operator! is true), unlike YAML::Node(), which is a defined null.
static YAML::Node undefined_node() {
  const YAML::Node empty(YAML::NodeType::Map);
  return empty["missing"];
}

YAML::Node Fields::get(const std::string& key, bool required) {
  known_.insert(key);
  if (!node_.IsMap()) return undefined_node();
  const YAML::Node& c = node_;
  YAML::Node n = c[key];
  if ((!n || n.IsNull()) && required) error("missing required key '" + key + "'");
  if (!n || n.IsNull()) return undefined_node();
  return n;
}

std::string Fields::str(const std::string& key, const std::string& def, bool required) {
  YAML::Node n = get(key, required);
  if (!n) return def;
  if (!n.IsScalar()) {
    error("'" + key + "' must be a string", &n);
    return def;
  }
  return n.Scalar();
}

double Fields::num(const std::string& key, double def, bool required) {
  YAML::Node n = get(key, required);
  if (!n) return def;
  try {
    if (!n.IsScalar()) throw YAML::Exception(n.Mark(), "not a scalar");
    return n.as<double>();
  } catch (const YAML::Exception&) {
    error("'" + key + "' must be a number", &n);
    return def;
  }
}

int64_t Fields::integer(const std::string& key, int64_t def, bool required) {
  YAML::Node n = get(key, required);
  if (!n) return def;
  try {
    if (!n.IsScalar()) throw YAML::Exception(n.Mark(), "not a scalar");
    return n.as<int64_t>();
  } catch (const YAML::Exception&) {
    error("'" + key + "' must be an integer", &n);
    return def;
  }
}

bool Fields::flag(const std::string& key, bool def) {
  YAML::Node n = get(key, false);
  if (!n) return def;
  try {
    if (!n.IsScalar()) throw YAML::Exception(n.Mark(), "not a scalar");
    return n.as<bool>();
  } catch (const YAML::Exception&) {
    error("'" + key + "' must be true or false", &n);
    return def;
  }
}

template <typename T>
static std::vector<T> read_list(Fields& f, const YAML::Node& n, const std::string& key, const char* kind) {
  std::vector<T> out;
  if (!n) return out;
  if (n.IsScalar()) {
    try {
      out.push_back(n.as<T>());
    } catch (const YAML::Exception&) {
      f.error("'" + key + "' must be " + kind, &n);
    }
    return out;
  }
  if (!n.IsSequence()) {
    f.error("'" + key + "' must be a list of " + kind, &n);
    return out;
  }
  for (const YAML::Node& e : n) {
    try {
      if (!e.IsScalar()) throw YAML::Exception(e.Mark(), "not a scalar");
      out.push_back(e.as<T>());
    } catch (const YAML::Exception&) {
      f.error("'" + key + "' must be a list of " + kind, &e);
      return {};
    }
  }
  return out;
}

std::vector<double> Fields::nums(const std::string& key, bool required) {
  return read_list<double>(*this, get(key, required), key, "numbers");
}
std::vector<int64_t> Fields::ints(const std::string& key, bool required) {
  return read_list<int64_t>(*this, get(key, required), key, "integers");
}
std::vector<std::string> Fields::strs(const std::string& key, bool required) {
  return read_list<std::string>(*this, get(key, required), key, "strings");
}

YAML::Node Fields::node(const std::string& key, bool required) { return get(key, required); }

std::string Fields::path(const std::string& key, bool required, bool must_exist) {
  YAML::Node n = get(key, required);
  std::string p = str(key, "", required);
  if (p.empty() || !status_.ok()) return p;
  fs::path fp(p);
  if (fp.is_relative() && !cfg_.base_dir.empty()) fp = fs::path(cfg_.base_dir) / fp;
  std::string full = fp.lexically_normal().string();
  std::error_code ec;
  if (must_exist && !fs::exists(full, ec)) error("'" + key + "': no such file: " + full, &n);
  return full;
}

std::string Fields::choice(const std::string& key, const std::vector<std::string>& choices, const std::string& def) {
  YAML::Node n = get(key, false);
  std::string v = str(key, def);
  if (!status_.ok()) return def;
  for (const auto& c : choices)
    if (c == v) return v;
  std::string list;
  for (const auto& c : choices) list += (list.empty() ? "" : ", ") + c;
  error("'" + key + "' is '" + v + "'; expected one of: " + list, n ? &n : nullptr);
  return def;
}

Status Fields::finish() {
  if (status_.ok() && node_.IsMap()) {
    for (const auto& kv : node_) {
      std::string k = kv.first.Scalar();
      if (!known_.count(k)) {
        std::string list;
        for (const auto& c : known_) list += (list.empty() ? "" : ", ") + c;
        error("unknown key '" + k + "' (known keys: " + list + ")", &kv.first);
        break;
      }
    }
  }
  return status_;
}

}  // namespace edgeai::pipeline
