#include "serve/server.h"

#include <malloc.h>
#include <pthread.h>
#include <signal.h>
#include <sys/socket.h>

#include <atomic>
#include <chrono>
#include <cerrno>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <list>
#include <map>
#include <memory>
#include <mutex>
#include <random>
#include <thread>

#include <httplib.h>
#include <nlohmann/json.hpp>

#include "core/env.h"
#include "formats/gguf/gguf.h"
#include "formats/onnx/onnx_import.h"
#include "formats/tensor_io/npy.h"
#include "llm/chat_template.h"
#include "llm/model.h"
#include "llm/tokenizer.h"
#include "runtime/session.h"
#include "serve/llm_engine.h"
#include "serve/metrics.h"
#include "serve/openai_api.h"
#include "serve/tensor_json.h"

namespace edgeai::serve {

using nlohmann::json;
using Clock = std::chrono::steady_clock;

namespace {

// The HTTP connections' threads. cpp-httplib gives each accepted connection to one thread for
// its whole life (up to 5 requests, or 5 s idle, per keep-alive connection), and its own
// ThreadPool queues a connection that finds every thread busy: with more connections than
// threads, a request then waited for other clients' connections to end (seconds, and without
// bound behind slow or idle ones). This pool keeps `keep` threads and starts one more whenever a
// connection arrives with no thread free, up to `cap` in all; threads above `keep` end after
// `idle` without work. A connection is thus read at once, and its request is answered or gets the
// engine's 503 when the model's queue is full. Past `cap` connections wait in order.
class HttpPool final : public httplib::TaskQueue {
 public:
  HttpPool(size_t keep, size_t cap, std::chrono::milliseconds idle)
      : keep_(std::max<size_t>(1, keep)), cap_(std::max(keep_, cap)), idle_(idle) {
    std::lock_guard<std::mutex> lk(mu_);
    for (size_t i = 0; i < keep_; ++i) start_locked();
  }

  void enqueue(std::function<void()> fn) override {
    std::vector<std::thread> ended;
    {
      std::lock_guard<std::mutex> lk(mu_);
      jobs_.push_back(std::move(fn));
      if (jobs_.size() > waiting_ && live_ < cap_) start_locked();
      ended.swap(ended_);
    }
    cv_.notify_one();
    for (std::thread& t : ended) t.join();
  }

  // Runs the connections already queued, then joins every thread.
  void shutdown() override {
    std::vector<std::thread> ended;
    {
      std::unique_lock<std::mutex> lk(mu_);
      shutdown_ = true;
      cv_.notify_all();
      all_ended_.wait(lk, [&] { return live_ == 0; });
      ended.swap(ended_);
    }
    for (std::thread& t : ended) t.join();
  }

 private:
  using Slot = std::list<std::thread>::iterator;

  void start_locked() {
    const Slot self = threads_.emplace(threads_.end());
    ++live_;
    *self = std::thread([this, self] { run(self); });  // run() takes mu_ first: *self is set by then
  }

  void run(Slot self) {
    std::unique_lock<std::mutex> lk(mu_);
    for (;;) {
      ++waiting_;
      const bool woke = cv_.wait_for(lk, idle_, [&] { return !jobs_.empty() || shutdown_; });
      --waiting_;
      if (!jobs_.empty()) {
        std::function<void()> fn = std::move(jobs_.front());
        jobs_.pop_front();
        lk.unlock();
        fn();
        fn = nullptr;
        lk.lock();
        continue;
      }
      if (shutdown_ || (!woke && live_ > keep_)) break;
    }
    --live_;
    ended_.push_back(std::move(*self));  // joined by the next enqueue() or by shutdown()
    threads_.erase(self);
    if (live_ == 0) all_ended_.notify_all();
  }

  const size_t keep_, cap_;
  const std::chrono::milliseconds idle_;
  std::mutex mu_;
  std::condition_variable cv_, all_ended_;
  std::list<std::function<void()>> jobs_;
  std::list<std::thread> threads_;
  std::vector<std::thread> ended_;
  size_t live_ = 0, waiting_ = 0;
  bool shutdown_ = false;
};

struct LlmEntry {
  std::string name;
  std::unique_ptr<Env> env;
  std::unique_ptr<llm::Model> model;
  std::unique_ptr<llm::Tokenizer> tok;
  llm::ChatFormat format = llm::ChatFormat::kChatml;
  std::unique_ptr<LlmEngine> engine;
};

struct OnnxEntry {
  std::string name;
  std::shared_ptr<const ir::Graph> graph;
  std::unique_ptr<Env> env;
  std::unique_ptr<runtime::Session> session;
  std::mutex mu;  // a Session runs one request at a time
};

// Most HTTP threads a server starts (each holds one connection; see HttpPool).
constexpr size_t kMaxHttpThreads = 1024;

bool ends_with(const std::string& s, const char* suffix) {
  const std::string e(suffix);
  return s.size() >= e.size() && s.compare(s.size() - e.size(), e.size(), e) == 0;
}

std::string endpoint_label(const std::string& path) {
  static const char* known[] = {"/health", "/metrics", "/v1/models", "/v1/chat/completions", "/v1/completions",
                                "/v1/embeddings"};
  for (const char* k : known)
    if (path == k) return k;
  if (path.rfind("/v1/infer/", 0) == 0) return "/v1/infer";
  if (path.rfind("/v1/models/", 0) == 0) return "/v1/models";
  return "other";
}

class Server {
 public:
  explicit Server(const ServerOptions& o) : opts_(o) {}
  Status load();
  int serve();

 private:
  void routes();
  void send_error(httplib::Response& res, const ApiError& e) {
    res.status = e.status;
    res.set_content(error_body(e).dump(), "application/json");
  }
  bool parse_body(const httplib::Request& req, httplib::Response& res, json* out);
  LlmEntry* find_llm(const std::string& name, httplib::Response& res);
  void generate(const httplib::Request& req, httplib::Response& res, bool chat);
  void embeddings(const httplib::Request& req, httplib::Response& res);
  void infer(const httplib::Request& req, httplib::Response& res);
  json model_list() const;
  std::string next_id(const char* prefix) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%s-%016llx", prefix, (unsigned long long)(id_base_ + ++id_counter_));
    return buf;
  }

  ServerOptions opts_;
  Metrics metrics_;
  std::map<std::string, std::unique_ptr<LlmEntry>> llms_;
  std::map<std::string, std::unique_ptr<OnnxEntry>> onnx_;
  httplib::Server http_;
  std::atomic<bool> stopping_{false};
  std::atomic<uint64_t> id_counter_{0};
  uint64_t id_base_ = std::random_device{}() * 0x9E3779B97F4A7C15ULL;
  int64_t created_ = (int64_t)std::time(nullptr);
};

Status Server::load() {
  if (opts_.models.empty()) return invalid_argument("no model: give --model NAME=PATH (.gguf or .onnx)");
  for (const ModelSpec& m : opts_.models) {
    if (llms_.count(m.name) || onnx_.count(m.name)) return invalid_argument("model name '" + m.name + "' is given twice");
    if (ends_with(m.path, ".gguf")) {
      auto e = std::make_unique<LlmEntry>();
      e->name = m.name;
      // Read into memory when it fits, unless asked to map.
      auto file = formats::GgufFile::open(m.path, opts_.mmap ? formats::GgufLoad::kMap : formats::GgufLoad::kAuto);
      if (!file.ok()) return file.status();
      std::shared_ptr<const formats::GgufFile> shared(std::move(file).value());
      auto model = llm::Model::from_gguf(shared);
      if (!model.ok()) return model.status().with_context(m.path);
      e->model = std::move(model).value();
      auto tok = llm::Tokenizer::from_gguf(*shared);
      if (!tok.ok()) return tok.status().with_context(m.path);
      e->tok = std::move(tok).value();
      if (e->tok->n_vocab() > e->model->hparams().n_vocab) {
        return invalid_argument(m.path + ": the tokenizer has more tokens than the model's embedding");
      }
      e->format = llm::detect_chat_format(shared->get_string("tokenizer.chat_template"));
      e->env = Env::create(opts_.threads);
      EngineOptions eo;
      eo.n_ctx = opts_.ctx > 0 ? opts_.ctx : std::min<int64_t>(4096, e->model->hparams().n_ctx_train);
      eo.parallel = opts_.parallel;
      eo.max_queue = opts_.max_queue;
      auto eng = LlmEngine::create(*e->model, *e->tok, *e->env, eo, &metrics_);
      if (!eng.ok()) return eng.status().with_context(m.path);
      e->engine = std::move(eng).value();
      std::fprintf(stderr, "edgeai serve: %s = %s (%s, context %lld, %d parallel)\n", m.name.c_str(), m.path.c_str(),
                   e->model->describe().c_str(), (long long)e->engine->n_ctx(), opts_.parallel);
      llms_[m.name] = std::move(e);
    } else if (ends_with(m.path, ".onnx")) {
      auto e = std::make_unique<OnnxEntry>();
      e->name = m.name;
      formats::OnnxLoadOptions lo;
      lo.map = opts_.mmap;
      auto om = formats::load_onnx(m.path, lo);
      if (!om.ok()) return om.status().with_context(m.path);
      e->graph = std::shared_ptr<const ir::Graph>(std::move(om->graph));
      e->env = Env::create(opts_.threads > 0 ? opts_.threads : 1);
      auto sess = runtime::Session::create(e->graph, *e->env);
      if (!sess.ok()) return sess.status().with_context(m.path);
      e->session = std::move(sess).value();
      std::fprintf(stderr, "edgeai serve: %s = %s (ONNX, %zu inputs)\n", m.name.c_str(), m.path.c_str(),
                   e->graph->feed_inputs().size());
      onnx_[m.name] = std::move(e);
    } else {
      return invalid_argument(m.path + ": unknown model type (use a .gguf language model or an .onnx model)");
    }
  }
  metrics_.set_gauges([this] {
    std::vector<std::pair<std::string, double>> g;
    for (const auto& [name, e] : llms_) g.emplace_back("edgeai_queue_depth{model=\"" + name + "\"}", (double)e->engine->queue_depth());
    for (const auto& [name, e] : llms_) g.emplace_back("edgeai_busy_slots{model=\"" + name + "\"}", (double)e->engine->busy_slots());
    return g;
  });
  return ok_status();
}

json Server::model_list() const {
  json data = json::array();
  for (const auto& [name, e] : llms_) data.push_back({{"id", name}, {"object", "model"}, {"created", created_}, {"owned_by", "edgeai"}});
  for (const auto& [name, e] : onnx_) data.push_back({{"id", name}, {"object", "model"}, {"created", created_}, {"owned_by", "edgeai"}});
  return json{{"object", "list"}, {"data", data}};
}

bool Server::parse_body(const httplib::Request& req, httplib::Response& res, json* out) {
  *out = json::parse(req.body, nullptr, /*allow_exceptions=*/false);
  if (out->is_discarded()) {
    send_error(res, bad_request("We could not parse the JSON body of your request: it is not valid JSON."));
    return false;
  }
  return true;
}

LlmEntry* Server::find_llm(const std::string& name, httplib::Response& res) {
  auto it = llms_.find(name);
  if (it != llms_.end()) return it->second.get();
  ApiError e = bad_request("The model '" + name + "' does not exist", "model", "model_not_found");
  if (onnx_.count(name)) {
    e.message = "The model '" + name + "' is an ONNX model; use POST /v1/infer/" + name;
  } else {
    e.status = 404;
    e.type = "invalid_request_error";
  }
  send_error(res, e);
  return nullptr;
}

void Server::generate(const httplib::Request& req, httplib::Response& res, bool chat) {
  const auto t0 = Clock::now();
  json body;
  if (!parse_body(req, res, &body)) return;
  GenRequest gr;
  if (auto e = parse_gen_request(body, chat, &gr)) return send_error(res, *e);
  LlmEntry* m = find_llm(gr.model, res);
  if (!m) return;
  const llm::Tokenizer& tok = *m->tok;
  std::vector<int32_t> prompt;
  if (chat) {
    prompt = tok.encode(llm::format_chat(m->format, gr.messages, true), true, true);
  } else {
    prompt = tok.encode(gr.prompt, true, true);
  }
  if (prompt.empty()) {
    if (tok.bos_id() < 0) return send_error(res, bad_request("the prompt gives no tokens", chat ? "messages" : "prompt"));
    prompt.push_back(tok.bos_id());
  }
  const int64_t n_ctx = m->engine->n_ctx();
  const int64_t np = (int64_t)prompt.size();
  if (gr.max_tokens > opts_.max_tokens) {
    return send_error(res, bad_request("max_tokens is " + std::to_string(gr.max_tokens) + ", more than this server's limit of " +
                                           std::to_string(opts_.max_tokens), "max_tokens", "max_tokens_exceeded"));
  }
  int64_t max_tokens = gr.max_tokens > 0 ? gr.max_tokens : std::min(opts_.max_tokens, n_ctx - np);
  if (np + max_tokens > n_ctx || max_tokens < 1) {
    return send_error(res, bad_request("This model's maximum context length is " + std::to_string(n_ctx) +
                                           " tokens. However, you requested " + std::to_string(np + std::max<int64_t>(1, max_tokens)) +
                                           " tokens (" + std::to_string(np) + " in the " + (chat ? "messages" : "prompt") + ", " +
                                           std::to_string(std::max<int64_t>(1, max_tokens)) + " in the completion).",
                                       chat ? "messages" : "prompt", "context_length_exceeded"));
  }
  auto job = std::make_shared<Job>();
  job->prompt = std::move(prompt);
  job->max_tokens = max_tokens;
  job->schema = gr.schema;
  if (gr.schema) {
    const int64_t need = (int64_t)JsonMatcher(gr.schema).shortest_completion().size();
    if (need > max_tokens) {
      return send_error(res, bad_request("max_tokens (" + std::to_string(max_tokens) + ") is below the " +
                                             std::to_string(need) + " tokens the shortest document of the schema may need",
                                         "max_tokens"));
    }
  }
  llm::SamplerParams& sp = job->sampling;
  sp.temperature = gr.temperature;
  sp.top_p = gr.top_p;
  sp.top_k = 0;
  sp.min_p = 0.0f;
  sp.repeat_penalty = 1.0f;
  sp.presence_penalty = gr.presence_penalty;
  sp.frequency_penalty = gr.frequency_penalty;
  sp.seed = gr.seed ? *gr.seed : (id_base_ ^ (++id_counter_ * 0x9E3779B97F4A7C15ULL));
  job->stop = gr.stop;
  if (chat && !gr.schema) {
    for (const std::string& s : llm::chat_stop_strings(m->format)) job->stop.push_back(s);
  }
  job->deadline = Clock::now() + std::chrono::seconds(opts_.timeout_s);
  LlmEngine::Submit sub = m->engine->submit(job);
  if (sub != LlmEngine::Submit::kOk) {
    ApiError e;
    e.status = 503;
    e.type = "server_error";
    e.code = sub == LlmEngine::Submit::kQueueFull ? "server_overloaded" : "shutting_down";
    e.message = sub == LlmEngine::Submit::kQueueFull ? "The server is overloaded (the request queue is full); retry later"
                                                      : "The server is shutting down";
    return send_error(res, e);
  }
  const std::string id = next_id(chat ? "chatcmpl" : "cmpl");
  const int64_t created = (int64_t)std::time(nullptr);
  LlmEngine* engine = m->engine.get();
  Metrics* metrics = &metrics_;
  auto result_error = [](const Job& j) {
    ApiError e;
    e.status = j.finish_reason == "cancelled" ? 503 : (j.error == "the request timed out" ? 504 : 500);
    e.type = "server_error";
    e.message = j.error.empty() ? "the request was cancelled" : j.error;
    return e;
  };

  if (gr.stream) {
    res.set_header("Cache-Control", "no-cache");
    res.set_header("X-Accel-Buffering", "no");
    res.set_chunked_content_provider(
        "text/event-stream",
        [job, gr, id, created, engine, metrics, t0, result_error](size_t, httplib::DataSink& sink) {
          auto write = [&](const json& j) {
            std::string ev = sse_event(j.dump(-1, ' ', false, json::error_handler_t::replace));
            return sink.write(ev.data(), ev.size());
          };
          bool first = true;
          if (gr.chat && !write(completion_chunk(gr, id, created, "", "", true))) {
            engine->cancel(*job);
            return false;
          }
          first = !gr.chat;
          while (true) {
            std::string text;
            const bool done = job->wait(&text, std::chrono::milliseconds(100));
            if (!text.empty()) {
              if (!write(completion_chunk(gr, id, created, text, "", first))) {
                engine->cancel(*job);
                return false;
              }
              first = false;
            } else if (!done && !sink.is_writable()) {
              engine->cancel(*job);
              return false;
            }
            if (done) break;
          }
          std::string reason, error;
          int64_t ntok = 0;
          {
            std::lock_guard<std::mutex> lk(job->mu);
            reason = job->finish_reason;
            ntok = job->completion_tokens;
          }
          bool ok = true;
          if (reason == "stop" || reason == "length") {
            ok = write(completion_chunk(gr, id, created, "", reason, first));
            if (ok && gr.include_usage) ok = write(usage_chunk(gr, id, created, {(int64_t)job->prompt.size(), ntok}));
            if (ok) {
              std::string d = sse_done();
              ok = sink.write(d.data(), d.size());
            }
          } else {
            // The 200 went out with the first event: the error is an event of its own, an
            // OpenAI error body ({"error": {...}}, which the openai clients raise), and no
            // [DONE] follows it, so a client that waits for [DONE] does not take it for a success.
            ok = write(error_body(result_error(*job)));
          }
          metrics->latency(std::chrono::duration<double>(Clock::now() - t0).count());
          if (ok) sink.done();
          return ok;
        },
        [job, engine](bool) { engine->cancel(*job); });
    return;
  }

  // Not streamed: wait here up to a second, so that short requests get their status code; then
  // answer 200 and keep the connection checked by writing JSON whitespace every second while
  // generating (a client that went away makes the write fail, which frees the slot). An error
  // after that point ends the reply without its last chunk (see below).
  auto finish_body = [job, gr, id, created, result_error](int* status) {
    std::lock_guard<std::mutex> lk(job->mu);
    if (job->finish_reason == "stop" || job->finish_reason == "length") {
      *status = 200;
      return completion_response(gr, id, created, job->text, job->finish_reason,
                                 {(int64_t)job->prompt.size(), job->completion_tokens});
    }
    ApiError e = result_error(*job);
    *status = e.status;
    return error_body(e);
  };
  for (int i = 0; i < 10; ++i) {
    {
      std::unique_lock<std::mutex> lk(job->mu);
      job->cv.wait_for(lk, std::chrono::milliseconds(100), [&] { return job->done; });
      if (job->done) break;
    }
  }
  bool done = false;
  {
    std::lock_guard<std::mutex> lk(job->mu);
    done = job->done;
  }
  if (done) {
    int status = 200;
    json out = finish_body(&status);
    res.status = status;
    res.set_content(out.dump(-1, ' ', false, json::error_handler_t::replace), "application/json");
    metrics_.latency(std::chrono::duration<double>(Clock::now() - t0).count());
    return;
  }
  res.set_chunked_content_provider(
      "application/json",
      [job, engine, metrics, t0, finish_body](size_t, httplib::DataSink& sink) {
        while (true) {
          {
            std::unique_lock<std::mutex> lk(job->mu);
            job->cv.wait_for(lk, std::chrono::milliseconds(1000), [&] { return job->done; });
            if (job->done) break;
          }
          if (!sink.write(" ", 1)) {
            engine->cancel(*job);
            return false;
          }
        }
        int status = 200;
        std::string s = finish_body(&status).dump(-1, ' ', false, json::error_handler_t::replace);
        metrics->latency(std::chrono::duration<double>(Clock::now() - t0).count());
        if (!sink.write(s.data(), s.size())) return false;
        // A late error (timeout, shutdown, failed step) after the 200 went out: the error body
        // is written, but the reply is cut off before its last chunk, so that no client takes a
        // complete 200 for a success (a streamed reply sends the error as an SSE event instead).
        if (status != 200) return false;
        sink.done();
        return true;
      },
      [job, engine](bool) { engine->cancel(*job); });
}

void Server::embeddings(const httplib::Request& req, httplib::Response& res) {
  json body;
  if (!parse_body(req, res, &body)) return;
  EmbedRequest er;
  if (auto e = parse_embed_request(body, &er)) return send_error(res, *e);
  LlmEntry* m = find_llm(er.model, res);
  if (!m) return;
  std::vector<std::shared_ptr<Job>> jobs;
  int64_t total = 0;
  for (size_t i = 0; i < er.inputs.size(); ++i) {
    auto job = std::make_shared<Job>();
    job->embed = true;
    job->prompt = m->tok->encode(er.inputs[i], true, false);
    if ((int64_t)job->prompt.size() > m->engine->n_ctx()) {
      return send_error(res, bad_request("input " + std::to_string(i) + " is " + std::to_string(job->prompt.size()) +
                                             " tokens, more than the context of " + std::to_string(m->engine->n_ctx()),
                                         "input", "context_length_exceeded"));
    }
    total += (int64_t)job->prompt.size();
    job->deadline = Clock::now() + std::chrono::seconds(opts_.timeout_s);
    jobs.push_back(std::move(job));
  }
  json data = json::array();
  for (size_t i = 0; i < jobs.size(); ++i) {
    Job& job = *jobs[i];
    if (m->engine->submit(jobs[i]) != LlmEngine::Submit::kOk) {
      for (auto& j : jobs) m->engine->cancel(*j);
      ApiError e;
      e.status = 503;
      e.type = "server_error";
      e.code = "server_overloaded";
      e.message = "The server is overloaded or shutting down; retry later";
      return send_error(res, e);
    }
    std::string ignored;
    while (!job.wait(&ignored, std::chrono::milliseconds(1000))) {
    }
    if (job.finish_reason != "stop") {
      ApiError e;
      e.status = 500;
      e.type = "server_error";
      e.message = job.error.empty() ? "the request was cancelled" : job.error;
      return send_error(res, e);
    }
    json item{{"object", "embedding"}, {"index", i}};
    if (er.base64) {
      std::string bytes(reinterpret_cast<const char*>(job.embedding.data()), job.embedding.size() * sizeof(float));
      item["embedding"] = base64_encode(bytes);
    } else {
      item["embedding"] = job.embedding;
    }
    data.push_back(std::move(item));
  }
  json out{{"object", "list"}, {"data", data}, {"model", er.model}, {"usage", {{"prompt_tokens", total}, {"total_tokens", total}}}};
  res.set_content(out.dump(), "application/json");
}

void Server::infer(const httplib::Request& req, httplib::Response& res) {
  const std::string name = req.matches.size() > 1 ? req.matches[1].str() : "";
  auto it = onnx_.find(name);
  if (it == onnx_.end()) {
    ApiError e = bad_request("The model '" + name + "' does not exist", "model", "model_not_found");
    if (llms_.count(name)) {
      e.message = "The model '" + name + "' is a language model; /v1/infer runs ONNX models";
    } else {
      e.status = 404;
    }
    return send_error(res, e);
  }
  OnnxEntry& m = *it->second;
  std::vector<const ir::ValueInfo*> feeds = m.graph->feed_inputs();
  std::vector<runtime::NamedValue> inputs;
  const std::string ctype = req.get_header_value("Content-Type");
  if (ctype.rfind("application/x-npy", 0) == 0 || ctype.rfind("application/octet-stream", 0) == 0) {
    if (feeds.size() != 1) {
      return send_error(res, bad_request("the model has " + std::to_string(feeds.size()) +
                                         " inputs; a .npy body needs a model with one input (send JSON tensors)"));
    }
    auto t = formats::parse_npy(req.body.data(), req.body.size(), "request body");
    if (!t.ok()) return send_error(res, bad_request(t.status().message()));
    inputs.push_back({feeds[0]->name, runtime::Value::of(std::move(t).value())});
  } else {
    json body;
    if (!parse_body(req, res, &body)) return;
    if (!body.is_object() || !body.contains("inputs") || !body["inputs"].is_array()) {
      return send_error(res, bad_request("the body needs 'inputs': an array of {name, dtype, shape, data}", "inputs"));
    }
    for (const json& j : body["inputs"]) {
      std::string tname;
      auto t = tensor_from_json(j, &tname);
      if (!t.ok()) return send_error(res, bad_request(t.status().message(), "inputs"));
      for (const auto& in : inputs)
        if (in.name == tname) return send_error(res, bad_request("input '" + tname + "' is given twice", "inputs"));
      inputs.push_back({tname, runtime::Value::of(std::move(t).value())});
    }
  }
  // Every input must be one the model takes, of its declared dtype and shape.
  for (const auto& in : inputs) {
    const ir::ValueInfo* decl = nullptr;
    for (const ir::ValueInfo* f : feeds)
      if (f->name == in.name) decl = f;
    if (!decl) return send_error(res, bad_request("the model has no input '" + in.name + "'", "inputs"));
    const Tensor& t = in.value.tensor;
    if (decl->type.dtype != DType::kUndefined && decl->type.dtype != t.dtype()) {
      return send_error(res, bad_request("input '" + in.name + "' must be " + numpy_dtype_name(decl->type.dtype) + ", got " +
                                         numpy_dtype_name(t.dtype()), "inputs"));
    }
    if (decl->type.shape) {
      const auto& dims = *decl->type.shape;
      bool ok = dims.size() == t.shape().size();
      for (size_t d = 0; ok && d < dims.size(); ++d) ok = !dims[d].known() || dims[d].value == t.shape()[d];
      if (!ok) {
        std::string want = "[";
        for (size_t d = 0; d < dims.size(); ++d) want += (d ? "," : "") + (dims[d].known() ? std::to_string(dims[d].value) : (dims[d].symbol.empty() ? "?" : dims[d].symbol));
        want += "]";
        return send_error(res, bad_request("input '" + in.name + "' must have shape " + want + ", got " + json(t.shape()).dump(), "inputs"));
      }
    }
  }
  for (const ir::ValueInfo* f : feeds) {
    bool given = false;
    for (const auto& in : inputs) given = given || in.name == f->name;
    if (!given) return send_error(res, bad_request("input '" + f->name + "' is missing", "inputs"));
  }
  Result<std::vector<runtime::Value>> outs = [&] {
    std::lock_guard<std::mutex> lk(m.mu);
    return m.session->run(inputs);
  }();
  if (!outs.ok()) return send_error(res, bad_request("inference failed: " + outs.status().message()));
  const std::string accept = req.get_header_value("Accept");
  if (accept.find("application/x-npy") != std::string::npos) {
    if (outs->empty() || !(*outs)[0].is_tensor()) return send_error(res, bad_request("the first output is not a tensor"));
    std::string bytes = formats::npy_bytes((*outs)[0].tensor);
    if (bytes.empty()) return send_error(res, bad_request("the first output's dtype has no .npy form"));
    res.set_header("X-Output-Name", m.graph->outputs[0].name);
    res.set_content(bytes, "application/x-npy");
    return;
  }
  json out = json::array();
  for (size_t i = 0; i < outs->size(); ++i) {
    const std::string& oname = i < m.graph->outputs.size() ? m.graph->outputs[i].name : "output" + std::to_string(i);
    if (!(*outs)[i].is_tensor()) return send_error(res, bad_request("output '" + oname + "' is not a tensor"));
    auto j = tensor_to_json(oname, (*outs)[i].tensor);
    if (!j.ok()) return send_error(res, bad_request(j.status().message()));
    out.push_back(std::move(j).value());
  }
  res.set_content(json{{"model", name}, {"outputs", out}}.dump(), "application/json");
}

void Server::routes() {
  http_.set_pre_routing_handler([this](const httplib::Request& req, httplib::Response& res) {
    if (opts_.api_key.empty() || req.path == "/health") return httplib::Server::HandlerResponse::Unhandled;
    if (api_key_matches(req.get_header_value("Authorization"), opts_.api_key)) {
      return httplib::Server::HandlerResponse::Unhandled;
    }
    ApiError e;
    e.status = 401;
    e.type = "invalid_request_error";
    e.code = "invalid_api_key";
    e.message = "Incorrect API key provided.";
    send_error(res, e);
    return httplib::Server::HandlerResponse::Handled;
  });
  http_.set_error_handler([this](const httplib::Request& req, httplib::Response& res) {
    if (!res.body.empty()) return;
    ApiError e;
    e.status = res.status;
    if (res.status == 404) {
      e.message = "Unknown request URL: " + req.method + " " + req.path;
      e.code = "unknown_url";
    } else if (res.status == 413) {
      e.message = "The request body is larger than " + std::to_string(opts_.max_body_bytes) + " bytes";
    } else if (res.status >= 500) {
      e.type = "server_error";
      e.message = "internal server error";
    } else {
      e.message = "bad request";
    }
    send_error(res, e);
  });
  http_.set_exception_handler([this](const httplib::Request&, httplib::Response& res, std::exception_ptr ep) {
    std::string what = "unknown error";
    try {
      if (ep) std::rethrow_exception(ep);
    } catch (const std::exception& ex) {
      what = ex.what();
    } catch (...) {
    }
    ApiError e;
    e.status = 500;
    e.type = "server_error";
    e.message = "internal error: " + what;
    send_error(res, e);
  });
  http_.set_logger([this](const httplib::Request& req, const httplib::Response& res) {
    metrics_.request(endpoint_label(req.path), res.status);
  });
  http_.Get("/health", [this](const httplib::Request&, httplib::Response& res) {
    if (stopping_) {
      res.status = 503;
      res.set_content(R"({"status":"shutting down"})", "application/json");
    } else {
      res.set_content(R"({"status":"ok"})", "application/json");
    }
  });
  http_.Get("/metrics", [this](const httplib::Request&, httplib::Response& res) {
    res.set_content(metrics_.render(), "text/plain; version=0.0.4");
  });
  http_.Get("/v1/models", [this](const httplib::Request&, httplib::Response& res) {
    res.set_content(model_list().dump(), "application/json");
  });
  http_.Get("/v1/models/(.+)", [this](const httplib::Request& req, httplib::Response& res) {
    const std::string id = req.matches[1].str();
    for (const json& m : model_list()["data"]) {
      if (m["id"] == id) return res.set_content(m.dump(), "application/json");
    }
    ApiError e = bad_request("The model '" + id + "' does not exist", "model", "model_not_found");
    e.status = 404;
    send_error(res, e);
  });
  http_.Post("/v1/chat/completions", [this](const httplib::Request& req, httplib::Response& res) { generate(req, res, true); });
  http_.Post("/v1/completions", [this](const httplib::Request& req, httplib::Response& res) { generate(req, res, false); });
  http_.Post("/v1/embeddings", [this](const httplib::Request& req, httplib::Response& res) { embeddings(req, res); });
  http_.Post("/v1/infer/([^/]+)", [this](const httplib::Request& req, httplib::Response& res) { infer(req, res); });
}

int Server::serve() {
  routes();
  const int n_http = opts_.http_threads > 0
                         ? opts_.http_threads
                         : (int)std::min<int64_t>(1024, (int64_t)std::max<size_t>(1, llms_.size()) *
                                                            (opts_.max_queue + opts_.parallel) + 16);
  // n_http threads stay; more start while connections find them all busy (see HttpPool).
  const size_t cap = std::max<size_t>((size_t)n_http, kMaxHttpThreads);
  http_.new_task_queue = [n_http, cap] { return new HttpPool((size_t)n_http, cap, std::chrono::seconds(10)); };
  http_.set_payload_max_length((size_t)opts_.max_body_bytes);
  http_.set_read_timeout(opts_.io_timeout_s, 0);
  http_.set_write_timeout(opts_.io_timeout_s, 0);
  http_.set_keep_alive_timeout(5);
  http_.set_tcp_nodelay(true);  // streamed tokens go out at once (no Nagle delay)
  // cpp-httplib (compiled into its .so) listens with a backlog of 5: under a burst of new
  // connections (160 load clients reconnecting after their 5 keep-alive requests) the kernel's
  // accept queue overflowed and dropped connections were retried after 1, 3, 7 ... 63 s, which
  // looked like requests without a reply. The listening socket is kept here and listen() is
  // called again after the bind with the system's maximum (Linux takes a new backlog that way).
  int listen_fd = -1;
  http_.set_socket_options([&listen_fd](socket_t sock) {
    httplib::default_socket_options(sock);
    listen_fd = (int)sock;  // the last one tried is the one bound
  });
  int port = opts_.port;
  if (port == 0) {
    port = http_.bind_to_any_port(opts_.host);
    if (port <= 0) {
      std::fprintf(stderr, "edgeai: error: cannot listen on %s (any port)\n", opts_.host.c_str());
      return 1;
    }
  } else if (!http_.bind_to_port(opts_.host, port)) {
    std::fprintf(stderr, "edgeai: error: cannot listen on %s:%d\n", opts_.host.c_str(), port);
    return 1;
  }
  http_.set_socket_options(httplib::default_socket_options);  // drops the reference to listen_fd
  if (listen_fd < 0 || ::listen(listen_fd, SOMAXCONN) != 0) {
    std::fprintf(stderr, "edgeai serve: warning: could not raise the listen backlog (%s)\n", std::strerror(errno));
  }
  // SIGTERM/SIGINT are blocked in every thread (run_server blocked them before any thread was
  // made) and taken here by sigwait.
  std::thread signals([this] {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    int sig = 0;
    sigwait(&set, &sig);
    std::fprintf(stderr, "edgeai serve: %s: stopping (running requests get %d s to finish)\n",
                 sig == SIGINT ? "SIGINT" : "SIGTERM", opts_.shutdown_grace_s);
    stopping_ = true;
    http_.stop();
    for (auto& [name, e] : llms_) e->engine->shutdown(std::chrono::seconds(opts_.shutdown_grace_s));
  });
  std::printf("edgeai serve: listening on http://%s:%d\n", opts_.host.c_str(), port);
  std::fflush(stdout);
  const bool ok = http_.listen_after_bind();
  if (!stopping_) pthread_kill(signals.native_handle(), SIGTERM);  // listen failed: wake the signal thread
  signals.join();
  std::fprintf(stderr, "edgeai serve: stopped\n");
  return ok || stopping_ ? 0 : 1;
}

}  // namespace

bool parse_model_spec(const std::string& text, ModelSpec* out, std::string* error) {
  size_t eq = text.find('=');
  if (eq == std::string::npos) {
    out->path = text;
    out->name = std::filesystem::path(text).stem().string();
  } else {
    out->name = text.substr(0, eq);
    out->path = text.substr(eq + 1);
  }
  if (out->name.empty() || out->path.empty()) {
    *error = "--model takes NAME=PATH, got '" + text + "'";
    return false;
  }
  for (char c : out->name) {
    if (c == '/' || c == '\\' || (unsigned char)c < 0x20 || c == '"') {
      *error = "model name '" + out->name + "' may not contain '/', '\\', '\"' or control characters";
      return false;
    }
  }
  return true;
}

int run_server(const ServerOptions& opts) {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  signal(SIGPIPE, SIG_IGN);
#ifdef M_ARENA_MAX
  // glibc gives each new thread its own malloc arena, up to 8 per core. The HTTP pool has
  // (max-queue + parallel + 16) threads, so under load the resident size crept up for minutes as
  // connections reached threads that had not allocated yet (+3 MiB over 60 s with 64 clients).
  // One arena per core keeps memory flat after warm-up at no measurable cost in tokens/s.
  mallopt(M_ARENA_MAX, (int)std::max(2u, std::thread::hardware_concurrency()));
#endif
  auto server = std::make_unique<Server>(opts);
  Status st = server->load();
  if (!st.ok()) {
    std::fprintf(stderr, "edgeai: error: %s\n", st.message().c_str());
    return 1;
  }
  return server->serve();
}

}  // namespace edgeai::serve
