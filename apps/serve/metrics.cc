#include "serve/metrics.h"

#include <cstdio>

namespace edgeai::serve {

namespace {
std::string num(double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.9g", v);
  return buf;
}
}  // namespace

void Histogram::observe(double v) {
  size_t i = 0;
  while (i < bounds_.size() && v > bounds_[i]) ++i;
  ++counts_[i];
  sum_ += v;
  ++count_;
}

std::string Histogram::render(const std::string& name) const {
  std::string out;
  uint64_t cum = 0;
  for (size_t i = 0; i < bounds_.size(); ++i) {
    cum += counts_[i];
    out += name + "_bucket{le=\"" + num(bounds_[i]) + "\"} " + std::to_string(cum) + "\n";
  }
  cum += counts_.back();
  out += name + "_bucket{le=\"+Inf\"} " + std::to_string(cum) + "\n";
  out += name + "_sum " + num(sum_) + "\n";
  out += name + "_count " + std::to_string(count_) + "\n";
  return out;
}

Metrics::Metrics()
    : latency_({0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120}),
      ttft_({0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10}) {}

void Metrics::request(const std::string& endpoint, int status) {
  std::lock_guard<std::mutex> lk(mu_);
  ++requests_[{endpoint, status}];
}

void Metrics::latency(double seconds) {
  std::lock_guard<std::mutex> lk(mu_);
  latency_.observe(seconds);
}

void Metrics::tokens(int64_t prompt, int64_t generated) {
  std::lock_guard<std::mutex> lk(mu_);
  prompt_tokens_ += (uint64_t)prompt;
  generated_tokens_ += (uint64_t)generated;
}

void Metrics::first_token(double seconds) {
  std::lock_guard<std::mutex> lk(mu_);
  ttft_.observe(seconds);
}

void Metrics::set_gauges(std::function<std::vector<std::pair<std::string, double>>()> f) {
  std::lock_guard<std::mutex> lk(mu_);
  gauges_ = std::move(f);
}

std::string Metrics::render() const {
  std::function<std::vector<std::pair<std::string, double>>()> g;
  std::string out;
  {
    std::lock_guard<std::mutex> lk(mu_);
    g = gauges_;
    out += "# HELP edgeai_requests_total HTTP requests by endpoint and status.\n# TYPE edgeai_requests_total counter\n";
    for (const auto& [k, v] : requests_) {
      out += "edgeai_requests_total{endpoint=\"" + k.first + "\",status=\"" + std::to_string(k.second) + "\"} " +
             std::to_string(v) + "\n";
    }
    out += "# HELP edgeai_prompt_tokens_total Prompt tokens evaluated.\n# TYPE edgeai_prompt_tokens_total counter\n";
    out += "edgeai_prompt_tokens_total " + std::to_string(prompt_tokens_) + "\n";
    out += "# HELP edgeai_generated_tokens_total Tokens generated.\n# TYPE edgeai_generated_tokens_total counter\n";
    out += "edgeai_generated_tokens_total " + std::to_string(generated_tokens_) + "\n";
    out += "# HELP edgeai_request_duration_seconds Completion requests, from arrival to the last byte.\n# TYPE edgeai_request_duration_seconds histogram\n";
    out += latency_.render("edgeai_request_duration_seconds");
    out += "# HELP edgeai_time_to_first_token_seconds From arrival to the first generated token.\n"
           "# TYPE edgeai_time_to_first_token_seconds histogram\n";
    out += ttft_.render("edgeai_time_to_first_token_seconds");
  }
  if (g) {
    std::string last;
    for (const auto& [name, v] : g()) {
      std::string base = name.substr(0, name.find('{'));
      if (base != last) out += "# TYPE " + base + " gauge\n";
      last = base;
      out += name + " " + num(v) + "\n";
    }
  }
  return out;
}

}  // namespace edgeai::serve
