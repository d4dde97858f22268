// Counters for GET /metrics (Prometheus text format 0.0.4): requests by endpoint and status,
// prompt and generated tokens, request latency and time to first token (histograms), queue depth
// and busy slots (gauges, read when scraped).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

namespace edgeai::serve {

class Histogram {
 public:
  explicit Histogram(std::vector<double> bounds) : bounds_(std::move(bounds)), counts_(bounds_.size() + 1, 0) {}
  void observe(double v);
  // Lines "name_bucket{le=...} n", "name_sum", "name_count".
  std::string render(const std::string& name) const;

 private:
  std::vector<double> bounds_;
  std::vector<uint64_t> counts_;
  double sum_ = 0;
  uint64_t count_ = 0;
};

class Metrics {
 public:
  Metrics();
  void request(const std::string& endpoint, int status);  // one HTTP request answered
  void latency(double seconds);                           // one generation request's whole time
  void tokens(int64_t prompt, int64_t generated);
  void first_token(double seconds);
  // Gauges are read through these when /metrics is scraped.
  void set_gauges(std::function<std::vector<std::pair<std::string, double>>()> f);
  std::string render() const;

 private:
  mutable std::mutex mu_;
  std::map<std::pair<std::string, int>, uint64_t> requests_;
  uint64_t prompt_tokens_ = 0, generated_tokens_ = 0;
  Histogram latency_, ttft_;
  std::function<std::vector<std::pair<std::string, double>>()> gauges_;
};

}  // namespace edgeai::serve
