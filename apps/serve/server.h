// `edgeai serve`: an OpenAI-compatible HTTP server (cpp-httplib) over the language models (.gguf)
// and ONNX models (.onnx) named at start-up. Endpoints: GET /health, GET /metrics (Prometheus),
// GET /v1/models, POST /v1/chat/completions, POST /v1/completions (both with stream = Server-Sent
// Events, response_format json_object / json_schema), POST /v1/embeddings (mean-pooled final
// hidden state of the language model), POST /v1/infer/{model} (ONNX; JSON tensors or .npy).
// Requests never reach the file system: a model is looked up by its name in the table built at
// start-up. SIGTERM or SIGINT stop accepting, let running requests finish for --shutdown-grace
// seconds, cancel the rest and return 0.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace edgeai::serve {

struct ModelSpec {
  std::string name;
  std::string path;  // .gguf: language model; .onnx: ONNX model
};

struct ServerOptions {
  std::vector<ModelSpec> models;
  std::string host = "127.0.0.1";
  int port = 8080;               // 0: any free port (printed when listening)
  std::string api_key;           // "" = none
  int threads = 0;               // compute threads per model (0: one per core)
  int64_t ctx = 0;               // context per sequence (0: min(4096, the model's))
  int parallel = 1;              // sequences decoded together per language model
  int64_t max_queue = 64;        // waiting requests per model beyond the busy slots (then 503)
  int64_t max_tokens = 4096;     // most tokens one request may generate
  int64_t max_body_bytes = 16 << 20;
  int timeout_s = 600;           // a request's whole time (queue + generation)
  int io_timeout_s = 30;         // socket read/write
  int shutdown_grace_s = 10;
  bool mmap = false;              // map model files (weights used in place) instead of reading them
  int http_threads = 0;          // threads kept (0: max_queue + parallel + 16 per model); more start
                                 // while every one holds a connection, up to 1024 in all
};

// Loads the models, listens, serves until SIGTERM/SIGINT. Prints "edgeai serve: listening on
// http://HOST:PORT" on stdout once it accepts connections. Returns the process exit code.
int run_server(const ServerOptions& opts);

// "NAME=PATH" or "PATH" (the name is then the file name without its extension).
bool parse_model_spec(const std::string& text, ModelSpec* out, std::string* error);

}  // namespace edgeai::serve
