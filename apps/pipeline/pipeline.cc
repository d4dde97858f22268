#include "pipeline/pipeline.h"

#include <httplib.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <set>
#include <thread>

namespace edgeai::pipeline {

namespace fs = std::filesystem;

namespace {

double mono_now() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

int64_t wall_us() {
  return std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

bool valid_name(const std::string& s) {
  if (s.empty() || s.size() > 64) return false;
  for (char c : s)
    if (!std::isalnum((unsigned char)c) && c != '-' && c != '_' && c != '.') return false;
  return true;
}

}  // namespace

Pipeline::~Pipeline() = default;

Result<std::unique_ptr<Pipeline>> Pipeline::create(const Config& cfg, bool open_outbox) {
  std::unique_ptr<Pipeline> p(new Pipeline());
  Fields f(cfg, cfg.root, "pipeline");
  std::string stem = fs::path(cfg.path).stem().string();
  p->name_ = f.str("name", stem.empty() ? "pipeline" : stem);
  if (f.ok() && !valid_name(p->name_)) {
    YAML::Node n = f.node("name");
    f.error("'name' must be 1-64 letters, digits, '-', '_' or '.', got '" + p->name_ + "'", n ? &n : nullptr);
  }
  int threads = (int)f.integer("threads", 1);
  p->batch_ = (size_t)std::max<int64_t>(1, f.integer("batch", 256));
  p->max_values_ = (size_t)std::max<int64_t>(0, f.integer("max_values", 64));
  YAML::Node sources = f.node("sources", true);
  YAML::Node stages = f.node("stages");
  YAML::Node actions = f.node("actions", true);
  YAML::Node outbox = f.node("outbox");
  YAML::Node delivery = f.node("delivery");
  RETURN_IF_ERROR(f.finish());
  for (auto [node, key] : {std::pair{sources, "sources"}, {stages, "stages"}, {actions, "actions"}}) {
    if (node && !node.IsSequence()) {
      f.error(std::string("'") + key + "' must be a list", &node);
      return f.status();
    }
  }
  if (sources.size() == 0) {
    f.error("'sources' is empty", &sources);
    return f.status();
  }
  if (actions.size() == 0) {
    f.error("'actions' is empty", &actions);
    return f.status();
  }
  p->env_ = Env::create(threads);
  std::set<std::string> names;
  for (size_t i = 0; i < sources.size(); ++i) {
    ASSIGN_OR_RETURN(auto s, make_source(cfg, sources[i], (int)i, p->name_));
    if (!names.insert("source:" + s->name()).second) {
      return invalid_argument(location(cfg, sources[i]) + "two sources are named '" + s->name() + "'");
    }
    p->sources_.push_back(std::move(s));
  }
  for (size_t i = 0; stages && i < stages.size(); ++i) {
    ASSIGN_OR_RETURN(auto s, make_stage(cfg, stages[i], (int)i, *p->env_));
    p->stages_.push_back(std::move(s));
  }
  for (size_t i = 0; i < actions.size(); ++i) {
    ASSIGN_OR_RETURN(auto a, make_action(cfg, actions[i], (int)i, p->name_));
    if (!names.insert("action:" + a->name()).second) {
      return invalid_argument(location(cfg, actions[i]) + "two actions are named '" + a->name() + "'");
    }
    p->actions_.push_back(std::move(a));
  }
  std::string default_db = (fs::path(cfg.base_dir) / (p->name_ + ".outbox.db")).string();
  if (outbox) {
    Fields o(cfg, outbox, "outbox");
    std::string path = o.path("path", false, false);
    p->outbox_opt_.path = path.empty() ? default_db : path;
    p->outbox_opt_.max_rows = o.integer("max_rows", 100000);
    p->outbox_opt_.policy =
        o.choice("when_full", {"drop_oldest", "block"}, "drop_oldest") == "block" ? FullPolicy::kBlock : FullPolicy::kDropOldest;
    p->outbox_opt_.sync_full = o.choice("sync", {"normal", "full"}, "normal") == "full";
    if (p->outbox_opt_.max_rows <= 0) o.error("'max_rows' must be positive");
    RETURN_IF_ERROR(o.finish());
  } else {
    p->outbox_opt_.path = default_db;
  }
  if (delivery) {
    Fields d(cfg, delivery, "delivery");
    p->delivery_.initial_backoff_s = d.num("initial_backoff", p->delivery_.initial_backoff_s);
    p->delivery_.max_backoff_s = d.num("max_backoff", p->delivery_.max_backoff_s);
    p->delivery_.ack_timeout_s = d.num("ack_timeout", p->delivery_.ack_timeout_s);
    p->delivery_.batch = (int)d.integer("batch", p->delivery_.batch);
    if (p->delivery_.initial_backoff_s <= 0 || p->delivery_.max_backoff_s < p->delivery_.initial_backoff_s) {
      d.error("need 0 < initial_backoff <= max_backoff");
    }
    if (p->delivery_.ack_timeout_s <= 0 || p->delivery_.batch <= 0) d.error("ack_timeout and batch must be positive");
    RETURN_IF_ERROR(d.finish());
  }
  if (open_outbox) {
    auto ob = Outbox::open(p->outbox_opt_);
    if (!ob.ok()) return ob.status();
    p->outbox_ = std::move(ob).value();
    std::vector<Action*> acts;
    for (auto& a : p->actions_) acts.push_back(a.get());
    Pipeline* self = p.get();
    p->dispatcher_ = std::make_unique<Dispatcher>(*p->outbox_, acts, p->delivery_,
                                                  [self](const std::string&, const OutboxRow& row) {
                                                    ++self->events_out_;
                                                    self->e2e_.add(std::max<int64_t>(0, wall_us() - row.created_us) / 1e6);
                                                  });
    for (const std::string& a : p->outbox_->actions_with_rows()) {
      if (!names.count("action:" + a)) {
        std::fprintf(stderr, "edgeai pipeline: warning: the outbox holds rows for action '%s', which is not configured; "
                     "they stay until an action of that name returns\n", a.c_str());
      }
    }
  }
  p->events_in_.assign(p->sources_.size(), 0);
  p->emitted_.assign(p->sources_.size(), 0);
  p->stage_latency_.resize(p->stages_.size());
  p->stage_out_.assign(p->stages_.size(), 0);
  return p;
}

std::string Pipeline::summary() const {
  std::string s = "pipeline '" + name_ + "': " + std::to_string(sources_.size()) + " source(s) [";
  for (size_t i = 0; i < sources_.size(); ++i) s += (i ? ", " : "") + sources_[i]->name();
  s += "], " + std::to_string(stages_.size()) + " stage(s) [";
  for (size_t i = 0; i < stages_.size(); ++i) s += (i ? ", " : "") + stages_[i]->name();
  s += "], " + std::to_string(actions_.size()) + " action(s) [";
  for (size_t i = 0; i < actions_.size(); ++i) s += (i ? ", " : "") + actions_[i]->name();
  s += "]; outbox " + outbox_opt_.path + " (max " + std::to_string(outbox_opt_.max_rows) + " rows, when full: " +
       (outbox_opt_.policy == FullPolicy::kBlock ? "block" : "drop_oldest") + ")";
  return s;
}

void Pipeline::log_error(const std::string& msg) {
  ++errors_;
  if (errors_ <= 20) std::fprintf(stderr, "edgeai pipeline: %s\n", msg.c_str());
  if (errors_ == 20) std::fprintf(stderr, "edgeai pipeline: (further errors are only counted)\n");
}

Status Pipeline::ingest(Source& src, size_t index, double now, int64_t* work) {
  size_t max = batch_;
  if (src.rate() > 0) {
    int64_t allowed = (int64_t)std::floor(src.rate() * (now - started_)) - emitted_[index];
    // Paced sources are read in steps of at least 5 ms worth of records: one transaction per
    // step, not per record, at high rates.
    if (allowed <= 0 || allowed < std::min<int64_t>((int64_t)batch_, (int64_t)(src.rate() * 0.005))) return ok_status();
    max = std::min<size_t>(max, (size_t)allowed);
  }
  std::vector<Record> records;
  RETURN_IF_ERROR(src.poll(max, records));
  if (records.empty()) return ok_status();
  *work += (int64_t)records.size();
  emitted_[index] += (int64_t)records.size();
  events_in_[index] += (int64_t)records.size();
  const int64_t now_us = wall_us();
  RETURN_IF_ERROR(outbox_->begin());
  std::map<std::string, SourceProgress> progress;
  std::vector<Event> cur, next;
  for (Record& r : records) {
    if (!r.progress_key.empty()) progress[r.progress_key] = r.after;
    if (!r.error.empty()) {
      log_error("source '" + src.name() + "': " + r.error);
      continue;
    }
    Event e;
    e.source = src.name();
    e.seq = r.after.seq - 1;
    e.id = !r.id.empty() ? r.id : (r.progress_key.empty() ? src.name() : r.progress_key) + ":" + std::to_string(e.seq);
    e.time_ms = now_us / 1000;
    e.t_in = now;
    e.values = std::move(r.values);
    e.shape = std::move(r.shape);
    e.fields = std::move(r.fields);
    cur.clear();
    cur.push_back(std::move(e));
    for (size_t s = 0; s < stages_.size() && !cur.empty(); ++s) {
      next.clear();
      auto t0 = std::chrono::steady_clock::now();
      for (Event& ev : cur) {
        std::string id = ev.id;
        Status st = stages_[s]->process(std::move(ev), next);
        if (!st.ok()) log_error("stage '" + stages_[s]->name() + "': event " + id + ": " + st.message());
      }
      stage_latency_[s].add(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count() /
                            std::max<size_t>(1, cur.size()));
      stage_out_[s] += (int64_t)next.size();
      cur.swap(next);
    }
    for (const Event& ev : cur) {
      std::string payload = event_json(ev, max_values_).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
      for (auto& a : actions_) {
        Status st = outbox_->add(a->name(), ev.id, payload, now_us);
        if (!st.ok()) {
          (void)outbox_->rollback();
          return st;
        }
        ++rows_added_;
      }
    }
  }
  for (const auto& [key, p] : progress) {
    Status st = outbox_->set_progress(key, p);
    if (!st.ok()) {
      (void)outbox_->rollback();
      return st;
    }
  }
  return outbox_->commit();
}

std::string Pipeline::render_metrics() {
  std::string m;
  char buf[512];
  auto line = [&](const char* fmt, auto... args) {
    std::snprintf(buf, sizeof buf, fmt, args...);
    m += buf;
  };
  m += "# TYPE edgeai_pipeline_events_in_total counter\n";
  for (size_t i = 0; i < sources_.size(); ++i)
    line("edgeai_pipeline_events_in_total{source=\"%s\"} %lld\n", sources_[i]->name().c_str(), (long long)events_in_[i]);
  m += "# TYPE edgeai_pipeline_events_out_total counter\n";
  for (size_t i = 0; i < actions_.size(); ++i)
    line("edgeai_pipeline_events_out_total{action=\"%s\"} %lld\n", actions_[i]->name().c_str(),
         (long long)dispatcher_->status(i).delivered);
  m += "# TYPE edgeai_pipeline_action_retries_total counter\n";
  for (size_t i = 0; i < actions_.size(); ++i)
    line("edgeai_pipeline_action_retries_total{action=\"%s\"} %lld\n", actions_[i]->name().c_str(),
         (long long)dispatcher_->status(i).retries);
  line("# TYPE edgeai_pipeline_errors_total counter\nedgeai_pipeline_errors_total %lld\n", (long long)errors_);
  line("# TYPE edgeai_pipeline_outbox_depth gauge\nedgeai_pipeline_outbox_depth %lld\n", (long long)outbox_->depth());
  line("# TYPE edgeai_pipeline_outbox_dropped_total counter\nedgeai_pipeline_outbox_dropped_total %lld\n",
       (long long)outbox_->dropped());
  m += "# TYPE edgeai_pipeline_stage_seconds summary\n";
  for (size_t s = 0; s < stages_.size(); ++s) {
    const Histogram& h = stage_latency_[s];
    for (double q : {0.5, 0.99})
      line("edgeai_pipeline_stage_seconds{stage=\"%s\",quantile=\"%g\"} %.9g\n", stages_[s]->name().c_str(), q,
           h.quantile(q));
    line("edgeai_pipeline_stage_seconds_sum{stage=\"%s\"} %.9g\nedgeai_pipeline_stage_seconds_count{stage=\"%s\"} %lld\n",
         stages_[s]->name().c_str(), h.sum(), stages_[s]->name().c_str(), (long long)h.count());
  }
  m += "# TYPE edgeai_pipeline_latency_seconds summary\n";
  for (double q : {0.5, 0.99}) line("edgeai_pipeline_latency_seconds{quantile=\"%g\"} %.9g\n", q, e2e_.quantile(q));
  line("edgeai_pipeline_latency_seconds_sum %.9g\nedgeai_pipeline_latency_seconds_count %lld\n", e2e_.sum(),
       (long long)e2e_.count());
  return m;
}

std::string Pipeline::metrics_text() {
  std::lock_guard<std::mutex> lock(metrics_mu_);
  return metrics_cache_;
}

std::string Pipeline::status_line(double elapsed) {
  int64_t in = 0;
  for (int64_t v : events_in_) in += v;
  char buf[512];
  std::snprintf(buf, sizeof buf,
                "[%s %.0fs] in %lld, rows delivered %lld, errors %lld, outbox %lld (dropped %lld), latency p50 %.2f ms p99 %.2f ms",
                name_.c_str(), elapsed, (long long)in, (long long)events_out_, (long long)errors_,
                (long long)outbox_->depth(), (long long)outbox_->dropped(), e2e_.quantile(0.5) * 1e3,
                e2e_.quantile(0.99) * 1e3);
  std::string s = buf;
  for (size_t i = 0; i < actions_.size(); ++i) {
    const ActionStatus& st = dispatcher_->status(i);
    if (st.failures > 0) s += "; " + actions_[i]->name() + " retrying (" + st.last_error + ")";
    else if (st.waiting && st.last_error != "in-flight window full") s += "; " + actions_[i]->name() + " waiting (" + st.last_error + ")";
  }
  return s;
}

Status Pipeline::run(const RunOptions& ro) {
  if (!outbox_) return internal_error("pipeline created without its outbox");
  for (auto& s : sources_) RETURN_IF_ERROR(s->restore(*outbox_));
  started_ = mono_now();
  std::unique_ptr<httplib::Server> server;
  std::thread server_thread;
  {
    std::lock_guard<std::mutex> lock(metrics_mu_);
    metrics_cache_ = render_metrics();
  }
  if (ro.metrics_port >= 0) {
    server = std::make_unique<httplib::Server>();
    server->Get("/metrics", [this](const httplib::Request&, httplib::Response& res) {
      res.set_content(metrics_text(), "text/plain; version=0.0.4");
    });
    int port = ro.metrics_port;
    if (port == 0) {
      port = server->bind_to_any_port("127.0.0.1");
    } else if (!server->bind_to_port("127.0.0.1", port)) {
      port = -1;
    }
    if (port <= 0) return io_error("cannot listen on 127.0.0.1:" + std::to_string(ro.metrics_port) + " for /metrics");
    std::fprintf(stderr, "edgeai pipeline: metrics on http://127.0.0.1:%d/metrics\n", port);
    server_thread = std::thread([s = server.get()] { s->listen_after_bind(); });
  }
  auto stop_server = [&] {
    if (server) {
      server->stop();
      if (server_thread.joinable()) server_thread.join();
    }
  };
  Status result;
  double last_status = started_, last_metrics = started_, stop_at = -1;
  bool stopping = false;
  while (true) {
    double now = mono_now();
    if (!stopping && ((ro.stop && ro.stop->load()) || (ro.max_seconds > 0 && now - started_ >= ro.max_seconds))) {
      stopping = true;
      stop_at = now;
    }
    int64_t work = 0;
    if (!stopping) {
      bool blocked = outbox_opt_.policy == FullPolicy::kBlock && outbox_->full();
      for (size_t i = 0; i < sources_.size() && !blocked; ++i) {
        if (sources_[i]->finished()) continue;
        result = ingest(*sources_[i], i, now, &work);
        if (!result.ok()) break;
      }
      if (!result.ok()) break;
    }
    int64_t delivered = 0;
    result = dispatcher_->step(now, &delivered);
    if (!result.ok()) break;
    work += delivered;
    bool sources_done = true;
    for (auto& s : sources_) sources_done = sources_done && s->finished();
    bool drained = outbox_->depth() == 0 && dispatcher_->inflight() == 0;
    if (drained && (stopping || (ro.exit_when_done && sources_done))) break;
    if (stopping && now - stop_at >= ro.drain_timeout_s) break;
    if (ro.status_interval_s > 0 && now - last_status >= ro.status_interval_s) {
      std::fprintf(stderr, "%s\n", status_line(now - started_).c_str());
      last_status = now;
    }
    if (server && now - last_metrics >= 0.25) {
      std::string text = render_metrics();
      std::lock_guard<std::mutex> lock(metrics_mu_);
      metrics_cache_ = std::move(text);
      last_metrics = now;
    }
    if (work == 0) std::this_thread::sleep_for(std::chrono::microseconds(500));
  }
  double elapsed = mono_now() - started_;
  {
    std::string text = render_metrics();
    std::lock_guard<std::mutex> lock(metrics_mu_);
    metrics_cache_ = std::move(text);
  }
  if (ro.status_interval_s > 0) std::fprintf(stderr, "%s\n", status_line(elapsed).c_str());
  stop_server();
  if (!ro.report_path.empty()) {
    int64_t in = 0;
    for (int64_t v : events_in_) in += v;
    nlohmann::json j{{"pipeline", name_},
                     {"seconds", elapsed},
                     {"events_in", in},
                     {"rows_delivered", events_out_},
                     {"errors", errors_},
                     {"outbox_depth", outbox_->depth()},
                     {"outbox_dropped", outbox_->dropped()},
                     {"events_in_per_s", elapsed > 0 ? in / elapsed : 0},
                     {"latency_p50_ms", e2e_.quantile(0.5) * 1e3},
                     {"latency_p99_ms", e2e_.quantile(0.99) * 1e3},
                     {"latency_max_ms", e2e_.max() * 1e3}};
    nlohmann::json stages = nlohmann::json::object();
    for (size_t s = 0; s < stages_.size(); ++s) {
      stages[stages_[s]->name()] = {{"calls", stage_latency_[s].count()},
                                    {"mean_us", stage_latency_[s].mean() * 1e6},
                                    {"p99_us", stage_latency_[s].quantile(0.99) * 1e6}};
    }
    j["stages"] = stages;
    std::ofstream(ro.report_path) << j.dump(2) << "\n";
  }
  return result;
}

}  // namespace edgeai::pipeline
