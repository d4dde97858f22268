// Calibration: run the float graph over sample inputs with the tensors of interest exposed as
// extra outputs, keep each tensor's min/max and (for the percentile, entropy and mse methods) a
// histogram over that range, and choose a clipping range per tensor.
#include <algorithm>
#include <cmath>
#include <limits>

#include "compress/quantize/qparams.h"
#include "compress/quantize/quantize.h"

namespace edgeai::compress {

namespace {

constexpr int kBins = 2048;

Result<std::vector<runtime::Value>> run_sample(runtime::Session& s, const CalibrationSample& sample, size_t index) {
  auto out = s.run(sample);
  if (!out.ok()) return out.status().with_context("calibration sample " + std::to_string(index) + ": ");
  return out;
}

}  // namespace

Result<CalibrationMethod> parse_calibration_method(std::string_view name) {
  if (name == "minmax") return CalibrationMethod::kMinMax;
  if (name == "percentile") return CalibrationMethod::kPercentile;
  if (name == "entropy") return CalibrationMethod::kEntropy;
  if (name == "mse") return CalibrationMethod::kMse;
  return invalid_argument("unknown calibration method '" + std::string(name) +
                          "' (known: minmax, percentile, entropy, mse)");
}

const char* calibration_method_name(CalibrationMethod m) {
  switch (m) {
    case CalibrationMethod::kMinMax: return "minmax";
    case CalibrationMethod::kPercentile: return "percentile";
    case CalibrationMethod::kEntropy: return "entropy";
    case CalibrationMethod::kMse: return "mse";
  }
  return "?";
}

std::unique_ptr<ir::Graph> with_extra_outputs(const ir::Graph& graph, const std::vector<std::string>& names) {
  auto g = std::make_unique<ir::Graph>(graph);
  std::set<std::string, std::less<>> have;
  for (const auto& o : g->outputs) have.insert(o.name);
  for (const auto& n : names) {
    if (have.insert(n).second) g->outputs.push_back({n, {ir::ValueKind::kTensor, DType::kF32, std::nullopt}});
  }
  return g;
}

Result<CalibrationRanges> calibrate(const ir::Graph& graph, const std::vector<CalibrationSample>& samples,
                                    CalibrationMethod method, Env& env,
                                    const std::function<void(int64_t, int64_t)>& progress) {
  if (samples.empty()) return invalid_argument("no calibration samples");
  std::vector<std::string> names = calibration_tensors(graph);
  CalibrationRanges ranges;
  if (names.empty()) return ranges;
  std::shared_ptr<const ir::Graph> g(with_extra_outputs(graph, names));
  runtime::SessionOptions so;
  so.optimize = false;  // every calibrated tensor must exist as it is in the float graph
  ASSIGN_OR_RETURN(auto session, runtime::Session::create(g, env, so));
  std::vector<int> index(names.size(), -1);
  for (size_t k = 0; k < names.size(); ++k) {
    for (size_t o = 0; o < g->outputs.size(); ++o) {
      if (g->outputs[o].name == names[k]) index[k] = static_cast<int>(o);
    }
  }
  const bool histogram = method != CalibrationMethod::kMinMax;
  const int64_t total = static_cast<int64_t>(samples.size()) * (histogram ? 2 : 1);
  int64_t done = 0;
  std::vector<bool> seen(names.size(), false);
  for (int pass = 0; pass < (histogram ? 2 : 1); ++pass) {
    for (size_t i = 0; i < samples.size(); ++i) {
      ASSIGN_OR_RETURN(auto outs, run_sample(*session, samples[i], i));
      for (size_t k = 0; k < names.size(); ++k) {
        const runtime::Value& v = outs[index[k]];
        if (!v.is_tensor() || v.tensor.dtype() != DType::kF32 || v.tensor.numel() == 0) continue;
        const float* p = v.tensor.data<float>();
        const int64_t n = v.tensor.numel();
        TensorRange& r = ranges[names[k]];
        if (pass == 0) {
          float lo = std::numeric_limits<float>::infinity(), hi = -lo;
          for (int64_t j = 0; j < n; ++j) {
            if (std::isfinite(p[j])) {
              lo = std::min(lo, p[j]);
              hi = std::max(hi, p[j]);
            }
          }
          if (lo > hi) continue;
          r.min = seen[k] ? std::min(r.min, lo) : lo;
          r.max = seen[k] ? std::max(r.max, hi) : hi;
          seen[k] = true;
        } else if (r.max > r.min) {
          if (r.histogram.empty()) r.histogram.assign(kBins, 0.0);
          const double w = kBins / (static_cast<double>(r.max) - r.min);
          for (int64_t j = 0; j < n; ++j) {
            if (!std::isfinite(p[j])) continue;
            const double b = (p[j] - static_cast<double>(r.min)) * w;  // clamped before the cast (no UB)
            r.histogram[b <= 0 ? 0 : b >= kBins - 1 ? kBins - 1 : static_cast<int>(b)] += 1;
          }
        }
      }
      if (progress) progress(++done, total);
    }
  }
  return ranges;
}

namespace {

// Expected squared error of quantizing the histogram's values with the range [lo, hi].
double histogram_mse(const TensorRange& r, float lo, float hi, bool symmetric) {
  QParams q = activation_qparams(lo, hi, symmetric);
  const double width = (static_cast<double>(r.max) - r.min) / r.histogram.size();
  double err = 0;
  for (size_t b = 0; b < r.histogram.size(); ++b) {
    if (r.histogram[b] == 0) continue;
    double x = r.min + (b + 0.5) * width;
    double d = x - q.dequantize(q.quantize(static_cast<float>(x)));
    err += r.histogram[b] * d * d;
  }
  return err;
}

// KL divergence (TensorRT's entropy calibration, for a range [lo, hi] of the histogram): P is the
// histogram inside the range with the mass outside piled on the edge bins; Q is the in-range
// histogram quantized, each quantization level's mass spread evenly over its non-empty bins.
// Clipping costs through the edge bins of P, rounding through Q.
double histogram_kl(const TensorRange& r, float lo, float hi, bool symmetric) {
  QParams q = activation_qparams(lo, hi, symmetric);
  const size_t nb = r.histogram.size();
  const double width = (static_cast<double>(r.max) - r.min) / nb;
  auto bin_of = [&](double x) {
    return std::min(nb - 1, static_cast<size_t>(std::max(0.0, (x - r.min) / width)));
  };
  const size_t b0 = bin_of(lo), b1 = bin_of(hi);
  std::vector<double> p(r.histogram.begin() + b0, r.histogram.begin() + b1 + 1);
  for (size_t b = 0; b < b0; ++b) p.front() += r.histogram[b];
  for (size_t b = b1 + 1; b < nb; ++b) p.back() += r.histogram[b];
  std::map<int, std::pair<double, int>> per_level;  // level -> (in-range mass, non-empty bins)
  std::vector<int> level(p.size());
  for (size_t k = 0; k < p.size(); ++k) {
    level[k] = q.quantize(static_cast<float>(r.min + (b0 + k + 0.5) * width));
    if (r.histogram[b0 + k] > 0) {
      auto& e = per_level[level[k]];
      e.first += r.histogram[b0 + k];
      e.second += 1;
    }
  }
  double pt = 0, qt = 0;
  for (double v : p) pt += v;
  for (const auto& [l, e] : per_level) qt += e.first;
  if (pt <= 0) return 0;
  double kl = 0;
  for (size_t k = 0; k < p.size(); ++k) {
    if (p[k] <= 0) continue;
    auto it = per_level.find(level[k]);
    double qv = it != per_level.end() && r.histogram[b0 + k] > 0 ? it->second.first / it->second.second / qt : 0;
    double pv = p[k] / pt;
    kl += pv * std::log(pv / std::max(qv, 1e-12));
  }
  return kl;
}

float histogram_quantile(const TensorRange& r, double fraction) {
  double total = 0;
  for (double v : r.histogram) total += v;
  const double width = (static_cast<double>(r.max) - r.min) / r.histogram.size();
  double acc = 0;
  for (size_t b = 0; b < r.histogram.size(); ++b) {
    acc += r.histogram[b];
    if (acc >= fraction * total) return static_cast<float>(r.min + (b + 1) * width);
  }
  return r.max;
}

}  // namespace

std::pair<float, float> choose_range(const TensorRange& r, CalibrationMethod method, double percentile,
                                     bool symmetric) {
  if (method == CalibrationMethod::kMinMax || r.histogram.empty() || !(r.max > r.min)) return {r.min, r.max};
  if (method == CalibrationMethod::kPercentile) {
    double tail = std::clamp(1.0 - percentile / 100.0, 0.0, 1.0);
    float lo = r.min >= 0 ? r.min : histogram_quantile(r, tail / 2);
    float hi = histogram_quantile(r, r.min >= 0 ? 1.0 - tail : 1.0 - tail / 2);
    return {std::min(lo, r.min >= 0 ? r.min : 0.0f), std::max(hi, 0.0f)};
  }
  // mse and entropy: shrink the range towards zero in steps and keep the best.
  double best = std::numeric_limits<double>::infinity();
  std::pair<float, float> chosen{r.min, r.max};
  for (int step = 0; step < 160; ++step) {
    const float a = std::pow(0.97f, static_cast<float>(step));  // down to 1% of the observed range
    const float lo = r.min < 0 ? r.min * a : r.min, hi = r.max > 0 ? r.max * a : r.max;
    double cost = method == CalibrationMethod::kMse ? histogram_mse(r, lo, hi, symmetric)
                                                    : histogram_kl(r, lo, hi, symmetric);
    if (cost < best) {
      best = cost;
      chosen = {lo, hi};
    }
  }
  return chosen;
}

}  // namespace edgeai::compress
