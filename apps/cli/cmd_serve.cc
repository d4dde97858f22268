// edgeai serve --model NAME=PATH [--model ...] [--host 127.0.0.1] [--port 8080] [--api-key KEY]
//   [--threads N] [--ctx N] [--parallel N] [--max-queue N] [--max-tokens N] ...: the
//   OpenAI-compatible server (apps/serve/server.h).
#include "commands.h"
#include "serve/server.h"

namespace edgeai::cli {

Command add_serve(CLI::App& app) {
  struct Opts {
    serve::ServerOptions s;
    std::vector<std::string> models;
  };
  auto o = std::make_shared<Opts>();
  auto* sub = app.add_subcommand("serve", "Serve language and ONNX models over an OpenAI-compatible HTTP API");
  sub->add_option("--model,-m", o->models, "NAME=PATH: a .gguf language model or an .onnx model (repeatable)")
      ->required()
      ->allow_extra_args(false);
  sub->add_option("--host", o->s.host, "Address to listen on (loopback unless told otherwise)")->capture_default_str();
  sub->add_option("--port", o->s.port, "Port (0: any free port, printed when listening)")->capture_default_str();
  sub->add_option("--api-key", o->s.api_key, "Require 'Authorization: Bearer KEY' (default: $EDGEAI_API_KEY, else none)");
  sub->add_option("--threads,-t", o->s.threads, "Compute threads per model (default: one per core)");
  sub->add_option("--ctx,-c", o->s.ctx, "Context per sequence in tokens (default: min(4096, the model's))");
  sub->add_option("--parallel,-p", o->s.parallel, "Sequences decoded together (batched) per language model")->capture_default_str();
  sub->add_option("--max-queue", o->s.max_queue, "Requests that may wait per model beyond the busy ones (then 503)")->capture_default_str();
  sub->add_option("--max-tokens", o->s.max_tokens, "Most tokens one request may generate")->capture_default_str();
  sub->add_option("--max-body", o->s.max_body_bytes, "Largest request body in bytes (then 413)")->capture_default_str();
  sub->add_option("--timeout", o->s.timeout_s, "Seconds a request may take in all, queue included")->capture_default_str();
  sub->add_option("--shutdown-grace", o->s.shutdown_grace_s, "Seconds running requests get to finish on SIGTERM")->capture_default_str();
  sub->add_option("--http-threads", o->s.http_threads, "HTTP threads kept (default: max-queue + parallel + 16 per model); more start while all are busy, up to 1024");
  sub->add_flag("--mmap", o->s.mmap,
                "Map the model files and use the weights where they lie (zero copy, shared with other processes "
                "serving the same files); default: read them");
  return [o]() -> int {
    for (const std::string& m : o->models) {
      serve::ModelSpec spec;
      std::string err;
      if (!serve::parse_model_spec(m, &spec, &err)) return fail(err);
      o->s.models.push_back(spec);
    }
    if (o->s.api_key.empty()) {
      if (const char* k = std::getenv("EDGEAI_API_KEY")) o->s.api_key = k;
    }
    if (o->s.port < 0 || o->s.port > 65535) return fail("--port must be in [0, 65535]");
    if (o->s.parallel < 1 || o->s.parallel > 64) return fail("--parallel must be in [1, 64]");
    if (o->s.ctx < 0) return fail("--ctx must be positive");
    if (o->s.max_queue < 0) return fail("--max-queue must be >= 0");
    if (o->s.max_tokens < 1) return fail("--max-tokens must be positive");
    if (o->s.max_body_bytes < 1024) return fail("--max-body must be at least 1024");
    if (o->s.timeout_s < 1 || o->s.shutdown_grace_s < 0) return fail("--timeout must be positive and --shutdown-grace >= 0");
    return serve::run_server(o->s);
  };
}

}  // namespace edgeai::cli
