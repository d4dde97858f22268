// Pipeline metrics: counters and latency histograms (log-spaced buckets, 20 per decade from 1 us
// to 1000 s, so a percentile is known within about 6%), rendered as Prometheus text.
#pragma once

#include <array>
#include <cmath>
#include <cstdint>
#include <string>

namespace edgeai::pipeline {

class Histogram {
 public:
  static constexpr int kPerDecade = 20;
  static constexpr int kBuckets = 9 * kPerDecade + 1;  // 1e-6 s .. 1e3 s, and one above
  void add(double seconds) {
    ++count_;
    sum_ += seconds;
    max_ = std::max(max_, seconds);
    int b = seconds <= 1e-6 ? 0 : (int)std::ceil(std::log10(seconds / 1e-6) * kPerDecade);
    ++buckets_[std::clamp(b, 0, kBuckets - 1)];
  }
  // Upper bound of the bucket holding quantile q (0..1); 0 when empty.
  double quantile(double q) const {
    if (count_ == 0) return 0;
    int64_t want = (int64_t)std::ceil(q * count_), seen = 0;
    for (int b = 0; b < kBuckets; ++b) {
      seen += buckets_[b];
      if (seen >= want && seen > 0) return std::min(upper(b), max_);
    }
    return max_;
  }
  static double upper(int b) { return 1e-6 * std::pow(10.0, (double)b / kPerDecade); }
  int64_t count() const { return count_; }
  double sum() const { return sum_; }
  double mean() const { return count_ ? sum_ / count_ : 0; }
  double max() const { return max_; }

 private:
  std::array<int64_t, kBuckets> buckets_{};
  int64_t count_ = 0;
  double sum_ = 0, max_ = 0;
};

}  // namespace edgeai::pipeline
