#include "pipeline/stages.h"

#include <algorithm>
#include <cmath>

namespace edgeai::pipeline {

Result<double> event_scalar(const Event& e, const std::string& input) {
  if (input == "value") {
    if (e.values.empty()) return invalid_argument("event " + e.id + " has no values");
    return static_cast<double>(e.values[0]);
  }
  auto it = e.fields.find(input);
  if (it == e.fields.end()) return invalid_argument("event " + e.id + " has no field '" + input + "'");
  if (it->is_number()) return it->get<double>();
  if (it->is_boolean()) return it->get<bool>() ? 1.0 : 0.0;
  return invalid_argument("event " + e.id + ": field '" + input + "' is not a number");
}

Status WindowStage::process(Event e, std::vector<Event>& out) {
  Buffer& b = buffers_[e.source];
  int64_t frame_len = 1;
  if (e.shape.size() >= 2) {
    frame_len = 1;
    for (size_t i = 1; i < e.shape.size(); ++i) frame_len *= e.shape[i];
  }
  if (e.values.empty() || (int64_t)e.values.size() % frame_len != 0) {
    return invalid_argument("window '" + name() + "': event " + e.id + " has " + std::to_string(e.values.size()) +
                            " values, not whole frames of " + std::to_string(frame_len));
  }
  if (b.frame_len < 0) b.frame_len = frame_len;
  if (b.frame_len != frame_len) {
    return invalid_argument("window '" + name() + "': event " + e.id + " has frames of " + std::to_string(frame_len) +
                            " values, earlier ones " + std::to_string(b.frame_len));
  }
  const int64_t frames = (int64_t)e.values.size() / frame_len;
  int64_t k = 0;
  for (int64_t f = 0; f < frames; ++f) {
    if (b.skip > 0) {
      --b.skip;
      continue;
    }
    b.data.insert(b.data.end(), e.values.begin() + f * frame_len, e.values.begin() + (f + 1) * frame_len);
    if ((int64_t)b.data.size() == size_ * frame_len) {
      Event w;
      w.id = e.id + "." + std::to_string(k++);
      w.source = e.source;
      w.seq = e.seq;
      w.time_ms = e.time_ms;
      w.t_in = e.t_in;
      w.fields = e.fields;
      w.fields["window"] = b.emitted++;
      w.values.assign(b.data.begin(), b.data.end());
      w.shape = frame_len == 1 ? std::vector<int64_t>{size_} : std::vector<int64_t>{size_, frame_len};
      out.push_back(std::move(w));
      int64_t drop = std::min(hop_, size_);
      b.data.erase(b.data.begin(), b.data.begin() + drop * frame_len);
      b.skip = hop_ - drop;
    }
  }
  return ok_status();
}

Status NormalizeStage::process(Event e, std::vector<Event>& out) {
  const size_t nm = mul_.size(), na = add_.size();
  for (size_t i = 0; i < e.values.size(); ++i) {
    e.values[i] = static_cast<float>(e.values[i] * mul_[i % nm] + add_[i % na]);
  }
  out.push_back(std::move(e));
  return ok_status();
}

Status MovingAverageStage::process(Event e, std::vector<Event>& out) {
  if (!history_.empty() && history_.front().size() != e.values.size()) {
    return invalid_argument("moving_average '" + name() + "': event " + e.id + " has " +
                            std::to_string(e.values.size()) + " values, earlier ones " +
                            std::to_string(history_.front().size()));
  }
  if (sum_.size() != e.values.size()) sum_.assign(e.values.size(), 0.0);
  for (size_t i = 0; i < e.values.size(); ++i) sum_[i] += e.values[i];
  history_.push_back(e.values);
  if ((int64_t)history_.size() > n_) {
    const std::vector<float>& old = history_.front();
    for (size_t i = 0; i < old.size(); ++i) sum_[i] -= old[i];
    history_.pop_front();
  }
  const double count = static_cast<double>(history_.size());
  for (size_t i = 0; i < e.values.size(); ++i) e.values[i] = static_cast<float>(sum_[i] / count);
  if (!e.values.empty()) e.fields["mean"] = sum_[0] / count;
  out.push_back(std::move(e));
  return ok_status();
}

Status HysteresisStage::process(Event e, std::vector<Event>& out) {
  auto x = event_scalar(e, p_.input);
  if (!x.ok()) return x.status();
  bool changed = false;
  if (!on_) {
    run_ = *x >= p_.on ? run_ + 1 : 0;
    if (run_ >= p_.min_on) on_ = changed = true;
  } else {
    run_ = *x < p_.off ? run_ + 1 : 0;
    if (run_ >= p_.min_off) {
      on_ = false;
      changed = true;
    }
  }
  if (changed) run_ = 0;
  if (!changed && !p_.emit_all) return ok_status();
  e.fields["state"] = on_;
  e.fields["changed"] = changed;
  e.fields["event"] = on_ ? p_.on_event : p_.off_event;
  e.fields[p_.input == "value" ? "input" : p_.input] = *x;
  out.push_back(std::move(e));
  return ok_status();
}

Status AnomalyStage::process(Event e, std::vector<Event>& out) {
  auto x = event_scalar(e, input_);
  if (!x.ok()) return x.status();
  double score = 0;
  if ((int64_t)history_.size() >= min_history_ && !history_.empty()) {
    double mean = 0;
    for (double v : history_) mean += v;
    mean /= history_.size();
    double var = 0;
    for (double v : history_) var += (v - mean) * (v - mean);
    var /= history_.size();
    score = std::fabs(*x - mean) / std::max(std::sqrt(var), 1e-9);
    e.fields["baseline"] = mean;
  }
  history_.push_back(*x);
  if ((int64_t)history_.size() > n_) history_.pop_front();
  e.fields["value"] = *x;
  e.fields["score"] = score;
  e.fields["anomaly"] = score > threshold_;
  out.push_back(std::move(e));
  return ok_status();
}

Status ThresholdStage::process(Event e, std::vector<Event>& out) {
  auto x = event_scalar(e, input_);
  if (!x.ok()) return x.status();
  bool above = *x >= value_;
  if (!above && drop_) return ok_status();
  e.fields["above"] = above;
  out.push_back(std::move(e));
  return ok_status();
}

Status ArgmaxStage::process(Event e, std::vector<Event>& out) {
  if (e.values.empty()) return invalid_argument("argmax '" + name() + "': event " + e.id + " has no values");
  if (!labels_.empty() && labels_.size() != e.values.size()) {
    return invalid_argument("argmax '" + name() + "': event " + e.id + " has " + std::to_string(e.values.size()) +
                            " values but " + std::to_string(labels_.size()) + " labels are configured");
  }
  size_t best = std::max_element(e.values.begin(), e.values.end()) - e.values.begin();
  double score = e.values[best];
  if (softmax_) {
    double sum = 0;
    for (float v : e.values) sum += std::exp(static_cast<double>(v) - score);
    score = 1.0 / sum;
  }
  e.fields["index"] = best;
  if (!labels_.empty()) e.fields["label"] = labels_[best];
  e.fields["score"] = score;
  out.push_back(std::move(e));
  return ok_status();
}

Status FilterStage::process(Event e, std::vector<Event>& out) {
  auto it = e.fields.find(field_);
  bool keep = false;
  if (it != e.fields.end()) {
    if (!equals_.is_null()) keep = *it == equals_;
    else if (it->is_boolean()) keep = it->get<bool>();
    else if (it->is_number()) keep = it->get<double>() != 0;
    else if (it->is_string()) keep = !it->get<std::string>().empty();
  }
  if (keep) out.push_back(std::move(e));
  return ok_status();
}

namespace {

std::vector<double> per_channel(Fields& f, const std::string& key, double def) {
  if (!f.has(key)) return {def};
  std::vector<double> v = f.nums(key);
  if (v.empty() && f.ok()) f.error("'" + key + "' is empty");
  return v.empty() ? std::vector<double>{def} : v;
}

}  // namespace

Result<std::unique_ptr<Stage>> make_stage(const Config& cfg, const YAML::Node& node, int index, Env& env) {
  std::string what = "stage " + std::to_string(index + 1);
  Fields f(cfg, node, what);
  std::string name = f.str("name", "");
  if (!name.empty()) what = "stage '" + name + "'";
  else name = "stage" + std::to_string(index + 1);
  std::string type = f.str("type", "", true);
  if (!f.ok()) return f.status();
  if (type == "model") return make_model_stage(cfg, node, name, env);
  if (type == "llm") return make_llm_stage(cfg, node, name);
  Fields g(cfg, node, what + " (" + type + ")");
  g.str("name");
  g.str("type");
  std::unique_ptr<Stage> stage;
  auto positive = [&](const char* key, int64_t v) {
    if (v <= 0) {
      YAML::Node n = g.node(key);
      g.error(std::string("'") + key + "' must be positive, got " + std::to_string(v), n ? &n : nullptr);
    }
  };
  if (type == "window") {
    int64_t size = g.integer("size", 0, true);
    int64_t hop = g.integer("hop", size);
    positive("size", size);
    positive("hop", hop);
    stage = std::make_unique<WindowStage>(name, size, hop);
  } else if (type == "normalize") {
    std::string mode = g.choice("mode", {"zscore", "minmax", "scale"}, "zscore");
    std::vector<double> mul, add;
    if (mode == "zscore") {
      std::vector<double> mean = per_channel(g, "mean", 0.0), sd = per_channel(g, "std", 1.0);
      size_t n = std::max(mean.size(), sd.size());
      for (size_t i = 0; i < n; ++i) {
        double s = sd[i % sd.size()];
        if (s == 0) g.error("'std' must not be 0");
        mul.push_back(1.0 / (s == 0 ? 1 : s));
        add.push_back(-mean[i % mean.size()] / (s == 0 ? 1 : s));
      }
    } else if (mode == "minmax") {
      std::vector<double> lo = per_channel(g, "min", 0.0), hi = per_channel(g, "max", 1.0);
      size_t n = std::max(lo.size(), hi.size());
      for (size_t i = 0; i < n; ++i) {
        double r = hi[i % hi.size()] - lo[i % lo.size()];
        if (r == 0) g.error("'max' must differ from 'min'");
        mul.push_back(1.0 / (r == 0 ? 1 : r));
        add.push_back(-lo[i % lo.size()] / (r == 0 ? 1 : r));
      }
    } else {
      mul = per_channel(g, "scale", 1.0);
      add = per_channel(g, "offset", 0.0);
    }
    stage = std::make_unique<NormalizeStage>(name, mul, add);
  } else if (type == "moving_average") {
    int64_t n = g.integer("window", 0, true);
    positive("window", n);
    stage = std::make_unique<MovingAverageStage>(name, n);
  } else if (type == "hysteresis") {
    HysteresisStage::Params p;
    p.input = g.str("input", "value");
    p.on = g.num("on", 0.5, true);
    p.off = g.num("off", p.on);
    p.min_on = g.integer("min_on", 1);
    p.min_off = g.integer("min_off", 1);
    positive("min_on", p.min_on);
    positive("min_off", p.min_off);
    p.emit_all = g.choice("emit", {"changes", "all"}, "changes") == "all";
    p.on_event = g.str("on_event", "on");
    p.off_event = g.str("off_event", "off");
    if (p.off > p.on) g.error("'off' (" + std::to_string(p.off) + ") must not exceed 'on' (" + std::to_string(p.on) + ")");
    stage = std::make_unique<HysteresisStage>(name, p);
  } else if (type == "anomaly") {
    std::string input = g.str("input", "value");
    int64_t n = g.integer("window", 0, true);
    double thr = g.num("threshold", 3.0);
    int64_t min_history = g.integer("min_history", n);
    positive("window", n);
    positive("min_history", min_history);
    stage = std::make_unique<AnomalyStage>(name, input, n, thr, min_history);
  } else if (type == "threshold") {
    std::string input = g.str("input", "value");
    double v = g.num("value", 0, true);
    bool drop = g.flag("drop", false);
    stage = std::make_unique<ThresholdStage>(name, input, v, drop);
  } else if (type == "argmax") {
    std::vector<std::string> labels = g.strs("labels");
    bool sm = g.flag("softmax", false);
    stage = std::make_unique<ArgmaxStage>(name, labels, sm);
  } else if (type == "filter") {
    std::string field = g.str("field", "", true);
    nlohmann::json eq;
    if (g.has("equals")) {
      YAML::Node n = g.node("equals");
      std::string s = n.IsScalar() ? n.Scalar() : "";
      if (s == "true" || s == "false") eq = s == "true";
      else {
        char* end = nullptr;
        double d = std::strtod(s.c_str(), &end);
        if (!s.empty() && end && *end == 0) eq = d;
        else eq = s;
      }
    }
    stage = std::make_unique<FilterStage>(name, field, eq);
  } else {
    YAML::Node t = f.node("type");
    Fields e(cfg, node, what);
    e.error("unknown stage type '" + type +
                "' (known: window, normalize, model, llm, threshold, argmax, hysteresis, moving_average, anomaly, filter)",
            &t);
    return e.status();
  }
  RETURN_IF_ERROR(g.finish());
  return stage;
}

}  // namespace edgeai::pipeline
