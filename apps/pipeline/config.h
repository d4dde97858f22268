// Pipeline configuration: a YAML (or JSON, which YAML reads too) file read with yaml-cpp, and the
// helpers every source, stage and action uses to read its keys. Every error names the file and
// the line and column of the offending node ("cfg.yaml:12:5: stage 'vad': ..."); yaml-cpp's
// exceptions are caught here and never leave this layer.
#pragma once

#include <yaml-cpp/yaml.h>

#include <map>
#include <set>
#include <string>
#include <vector>

#include "edgeai/status.h"

namespace edgeai::pipeline {

struct Config {
  std::string path;      // the file ("<string>" when parsed from text)
  std::string base_dir;  // relative paths in the config are taken from here
  YAML::Node root;
};

// ${VAR} and ${VAR:-default} in the text are replaced by the environment variable (within one
// line, so line numbers stay right): `port: ${MQTT_PORT:-1883}`.
std::string expand_env(const std::string& text);

// Reads and parses; errors carry the line of the syntax error.
Result<Config> load_config(const std::string& path);
Result<Config> parse_config(const std::string& text, const std::string& name, const std::string& base_dir);

// Reads one mapping node's keys with checks. `what` names the node in messages ("stage 'vad'").
// Each getter returns an error naming the file:line:col of the key (or of the mapping when the key
// is missing). Unknown keys are reported by finish(), so that a typo is never silently ignored.
class Fields {
 public:
  Fields(const Config& cfg, const YAML::Node& node, std::string what);

  bool ok() const { return status_.ok(); }
  const Status& status() const { return status_; }
  bool has(const std::string& key);

  std::string str(const std::string& key, const std::string& def = {}, bool required = false);
  double num(const std::string& key, double def, bool required = false);
  int64_t integer(const std::string& key, int64_t def, bool required = false);
  bool flag(const std::string& key, bool def);
  std::vector<double> nums(const std::string& key, bool required = false);
  std::vector<int64_t> ints(const std::string& key, bool required = false);
  std::vector<std::string> strs(const std::string& key, bool required = false);
  // A sub-node (mapping, list) for the caller to read; marks the key as known.
  YAML::Node node(const std::string& key, bool required = false);
  // A path relative to the config's folder; `must_exist` checks the file now.
  std::string path(const std::string& key, bool required, bool must_exist);
  // Checks a value against a closed set, with the choices in the message.
  std::string choice(const std::string& key, const std::vector<std::string>& choices, const std::string& def);
  // Records an error at `at` (or at this mapping) unless one is already recorded.
  void error(const std::string& msg, const YAML::Node* at = nullptr);
  // Reports the first unknown key; returns the status of everything read.
  Status finish();

  const std::string& what() const { return what_; }
  std::string where(const YAML::Node& n) const;

 private:
  YAML::Node get(const std::string& key, bool required);
  const Config& cfg_;
  YAML::Node node_;
  std::string what_;
  std::set<std::string> known_;
  Status status_;
};

// "file:line:col: " for a node (line and column 1-based).
std::string location(const Config& cfg, const YAML::Node& n);

}  // namespace edgeai::pipeline
