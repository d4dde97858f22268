// edgeai info MODEL.gguf [--json]: architecture, size, hyper-parameters, tensor types, tokenizer.
#include <cstdio>
#include <map>
#include <nlohmann/json.hpp>

#include "commands.h"
#include "core/ggml_type.h"
#include "formats/gguf/gguf.h"

namespace edgeai::cli {

namespace {

std::string type_name(uint32_t t) {
  const GgmlTypeInfo* ti = ggml_type_info(t);
  return ti ? ti->name : "type " + std::to_string(t);
}

// An integer hyper-parameter, or null when absent.
nlohmann::json int_or_null(const formats::GgufFile& f, const std::string& key) {
  const formats::GgufValue* v = f.find(key);
  int64_t x = 0;
  if (v && v->as_int(&x)) return x;
  return nullptr;
}

std::string text(const nlohmann::json& j) {
  if (j.is_null()) return "-";
  if (j.is_string()) return j.get<std::string>();
  return j.dump();
}

}  // namespace

int info_gguf(const std::string& path, bool json) {
  auto r = formats::GgufFile::open(path);
  if (!r.ok()) return fail(r.status().message());
  const formats::GgufFile& f = **r;

  const std::string arch = f.get_string("general.architecture");
  int64_t params = 0, weight_bytes = 0;
  std::map<std::string, int64_t> types;  // tensor type -> tensor count
  for (const auto& t : f.tensors()) {
    params += t.n_elements;
    weight_bytes += t.n_bytes;
    types[type_name(t.type)] += 1;
  }
  nlohmann::json j;
  j["model"] = path;
  j["format"] = "gguf";
  j["gguf_version"] = f.version();
  j["architecture"] = arch.empty() ? nlohmann::json(nullptr) : nlohmann::json(arch);
  j["name"] = f.find("general.name") ? nlohmann::json(f.get_string("general.name")) : nlohmann::json(nullptr);
  j["parameters"] = params;
  j["weight_bytes"] = weight_bytes;
  j["tensors"] = f.tensors().size();
  j["tensor_types"] = types;
  const std::string p = arch + ".";
  j["context_length"] = int_or_null(f, p + "context_length");
  j["embedding_length"] = int_or_null(f, p + "embedding_length");
  j["feed_forward_length"] = int_or_null(f, p + "feed_forward_length");
  j["block_count"] = int_or_null(f, p + "block_count");
  j["head_count"] = int_or_null(f, p + "attention.head_count");
  j["head_count_kv"] = int_or_null(f, p + "attention.head_count_kv");
  nlohmann::json tok;
  const formats::GgufValue* tokens = f.find("tokenizer.ggml.tokens");
  const formats::GgufArray* tokens_array = tokens ? tokens->as_array() : nullptr;
  tok["model"] = f.find("tokenizer.ggml.model") ? nlohmann::json(f.get_string("tokenizer.ggml.model")) : nlohmann::json(nullptr);
  tok["vocab_size"] = tokens_array ? nlohmann::json(tokens_array->size()) : nlohmann::json(nullptr);
  tok["bos_token_id"] = int_or_null(f, "tokenizer.ggml.bos_token_id");
  tok["eos_token_id"] = int_or_null(f, "tokenizer.ggml.eos_token_id");
  j["tokenizer"] = tok;
  j["metadata_keys"] = f.metadata().size();
  j["file_bytes"] = f.file_size();
  // A run's memory estimate (weights + KV cache at a given context) belongs here once llm::Model
  // can compute it: add "memory" to `j` and a line below.

  if (json) {
    std::printf("%s\n", j.dump(2).c_str());
    return 0;
  }
  std::string type_list;
  for (const auto& [name, n] : types) type_list += (type_list.empty() ? "" : ", ") + name + " x" + std::to_string(n);
  std::printf("model:        %s\n", path.c_str());
  std::printf("format:       GGUF v%u, %zu metadata keys, %.2f MB\n", f.version(), f.metadata().size(), f.file_size() / 1e6);
  std::printf("architecture: %s%s\n", arch.empty() ? "-" : arch.c_str(),
              j["name"].is_null() ? "" : (" (" + j["name"].get<std::string>() + ")").c_str());
  std::printf("parameters:   %lld (%.2f MB of weights)\n", (long long)params, weight_bytes / 1e6);
  std::printf("tensors:      %zu%s%s\n", f.tensors().size(), type_list.empty() ? "" : ": ", type_list.c_str());
  std::printf("context:      %s\n", text(j["context_length"]).c_str());
  std::printf("embedding:    %s (feed-forward %s)\n", text(j["embedding_length"]).c_str(), text(j["feed_forward_length"]).c_str());
  std::printf("layers:       %s\n", text(j["block_count"]).c_str());
  std::printf("heads:        %s (kv %s)\n", text(j["head_count"]).c_str(), text(j["head_count_kv"]).c_str());
  std::printf("tokenizer:    %s, %s tokens (bos %s, eos %s)\n", text(tok["model"]).c_str(), text(tok["vocab_size"]).c_str(),
              text(tok["bos_token_id"]).c_str(), text(tok["eos_token_id"]).c_str());
  return 0;
}

}  // namespace edgeai::cli
