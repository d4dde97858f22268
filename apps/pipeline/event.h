// What flows through a pipeline: one record from a source (a line, a row, an audio chunk, an MQTT
// message) and what the stages make of it. The id is stable across replays of the same input (the
// source name and record index, plus a suffix when one record gives several events), so that a
// consumer can drop the duplicates that at-least-once delivery allows.
#pragma once

#include <cstdint>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace edgeai::pipeline {

struct Event {
  std::string id;
  std::string source;
  int64_t seq = 0;        // record index within its source
  int64_t time_ms = 0;    // wall clock (ms since the epoch) when read
  double t_in = 0;        // monotonic seconds when read (for latency)
  std::vector<float> values;
  std::vector<int64_t> shape;  // empty means [values.size()]
  nlohmann::json fields = nlohmann::json::object();
};

// The JSON an action receives: id, source, seq, time_ms, the fields, and the values when there
// are at most `max_values` of them.
inline nlohmann::json event_json(const Event& e, size_t max_values = 64) {
  nlohmann::json j = e.fields.is_object() ? e.fields : nlohmann::json::object();
  j["id"] = e.id;
  j["source"] = e.source;
  j["seq"] = e.seq;
  j["time_ms"] = e.time_ms;
  if (!e.values.empty() && e.values.size() <= max_values) j["values"] = e.values;
  return j;
}

// Replaces {{key}} by the JSON value's member (strings bare, floats with 4 significant digits,
// anything else as JSON); unknown keys become empty.
inline std::string render_template(const std::string& tmpl, const nlohmann::json& j) {
  std::string out;
  size_t pos = 0;
  while (true) {
    size_t a = tmpl.find("{{", pos);
    if (a == std::string::npos) break;
    size_t b = tmpl.find("}}", a + 2);
    if (b == std::string::npos) break;
    out += tmpl.substr(pos, a - pos);
    std::string key = tmpl.substr(a + 2, b - a - 2);
    while (!key.empty() && key.front() == ' ') key.erase(0, 1);
    while (!key.empty() && key.back() == ' ') key.pop_back();
    auto it = j.find(key);
    if (it != j.end()) {
      if (it->is_string()) {
        out += it->get<std::string>();
      } else if (it->is_number_float()) {
        char buf[32];
        std::snprintf(buf, sizeof buf, "%.4g", it->get<double>());
        out += buf;
      } else {
        out += it->dump();
      }
    }
    pos = b + 2;
  }
  return out + tmpl.substr(pos);
}

}  // namespace edgeai::pipeline
