// edgeai bench MODEL [--threads N] [--iterations K] [--warmup W] [--json] [--profile]
//                    [--input NAME=FILE ...] [--no-optimize] [--reference]
// edgeai bench MODEL.gguf [-p PROMPT_TOKENS] [-n GEN_TOKENS] [--reps R] [--threads N] [--json]
//
// The one `bench` subcommand (CLI11 allows one subcommand per name): ONNX models are measured
// here; .gguf language models go to bench_gguf() (cmd_bench_gguf.cc), which takes the -p/-n/--reps
// options parsed here.
//
// For ONNX: load time (parse + graph passes + session preparation), latency min / median / p90 /
// mean over K timed runs after W warm-up runs (stopping early, after at least 10 runs, once the
// timed runs exceed --max-seconds), throughput, and memory: the resident set before loading
// (VmRSS), the peak after the runs (VmHWM), and their difference, the model's memory. --profile
// then runs as many more times with per-node timing and prints the time per op type and the
// slowest nodes. Inputs are seeded
// random (standard normal floats; integers in [0, 2); dynamic dims are 1) unless given with
// --input NAME=FILE (.npy or TensorProto .pb).
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <random>

#include "commands.h"
#include "compress/quantize/quantize.h"
#include "model_io.h"

namespace edgeai::cli {

namespace {

// A field of /proc/self/status in bytes (VmRSS, VmHWM), or -1 where there is none.
int64_t proc_status_bytes(const char* field) {
  std::ifstream f("/proc/self/status");
  std::string line;
  const std::string key = std::string(field) + ":";
  while (std::getline(f, line)) {
    if (line.rfind(key, 0) == 0) {
      long long kb = -1;
      if (std::sscanf(line.c_str() + key.size(), "%lld", &kb) == 1) return kb * 1024;
    }
  }
  return -1;
}

double ms_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
}

struct LatencyStats {
  double min = 0, median = 0, p90 = 0, mean = 0;
};

// Quantiles as bench/ort_run.js computes them (nearest rank), so the two are comparable.
LatencyStats latency_stats(std::vector<double> ms) {
  LatencyStats s;
  if (ms.empty()) return s;
  std::sort(ms.begin(), ms.end());
  auto q = [&](double p) {
    size_t i = static_cast<size_t>(std::floor(p * (ms.size() - 1) + 0.5));
    return ms[std::min(i, ms.size() - 1)];
  };
  s.min = ms.front();
  s.median = q(0.5);
  s.p90 = q(0.9);
  for (double v : ms) s.mean += v;
  s.mean /= ms.size();
  return s;
}

// A seeded random tensor for a declared input: dynamic dims become 1.
Result<Tensor> random_input(const ir::ValueInfo& in, uint32_t seed) {
  if (in.type.kind != ir::ValueKind::kTensor) {
    return unsupported("input '" + in.name + "' is not a tensor; bench feeds tensors only");
  }
  if (!in.type.shape) {
    return invalid_argument("input '" + in.name + "' has no declared shape; give it with --input " + in.name + "=FILE");
  }
  Shape shape;
  for (const auto& d : *in.type.shape) shape.push_back(d.known() ? d.value : 1);
  DType dt = in.type.dtype == DType::kUndefined ? DType::kF32 : in.type.dtype;
  ASSIGN_OR_RETURN(Tensor t, Tensor::create(dt, shape));
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  const int64_t n = t.numel();
  switch (dt) {
    case DType::kF32:
      for (int64_t i = 0; i < n; ++i) t.data<float>()[i] = normal(rng);
      break;
    case DType::kF64:
      for (int64_t i = 0; i < n; ++i) t.data<double>()[i] = normal(rng);
      break;
    case DType::kF16:
      for (int64_t i = 0; i < n; ++i) t.data<Half>()[i] = Half{float_to_half(normal(rng))};
      break;
    case DType::kBF16:
      for (int64_t i = 0; i < n; ++i) t.data<BFloat16>()[i] = BFloat16{float_to_bf16(normal(rng))};
      break;
    case DType::kBool:
      for (int64_t i = 0; i < n; ++i) t.data<bool>()[i] = (rng() & 1) != 0;
      break;
    case DType::kI8: for (int64_t i = 0; i < n; ++i) t.data<int8_t>()[i] = rng() & 1; break;
    case DType::kU8: for (int64_t i = 0; i < n; ++i) t.data<uint8_t>()[i] = rng() & 1; break;
    case DType::kI16: for (int64_t i = 0; i < n; ++i) t.data<int16_t>()[i] = rng() & 1; break;
    case DType::kU16: for (int64_t i = 0; i < n; ++i) t.data<uint16_t>()[i] = rng() & 1; break;
    case DType::kI32: for (int64_t i = 0; i < n; ++i) t.data<int32_t>()[i] = rng() & 1; break;
    case DType::kU32: for (int64_t i = 0; i < n; ++i) t.data<uint32_t>()[i] = rng() & 1; break;
    case DType::kI64: for (int64_t i = 0; i < n; ++i) t.data<int64_t>()[i] = rng() & 1; break;
    case DType::kU64: for (int64_t i = 0; i < n; ++i) t.data<uint64_t>()[i] = rng() & 1; break;
    default:
      return unsupported("input '" + in.name + "' has dtype " + std::string(dtype_name(dt)) +
                         "; give it with --input " + in.name + "=FILE");
  }
  return t;
}

// Whether the model computes in int8: quantized ops or 8-bit weights.
bool is_int8_model(const ir::Graph& g) {
  for (const auto& [op, n] : g.op_histogram()) {
    if (op == "QuantizeLinear" || op == "DequantizeLinear" || op == "DynamicQuantizeLinear" ||
        op.rfind("QLinear", 0) == 0 || op == "ConvInteger" || op == "MatMulInteger") {
      return true;
    }
  }
  for (const auto& [name, t] : g.initializers) {
    if ((t.dtype() == DType::kI8 || t.dtype() == DType::kU8) && t.numel() >= 1024) return true;
  }
  return false;
}

struct OpTime {
  std::string op;
  double ms_per_run = 0;
  int nodes = 0;
};

struct NodeTime {
  std::string name, op, detail;
  double ms_per_run = 0;
};

// A short description of a Conv-like node: weight shape, group, strides ("W[32,1,3,3] g32 s2");
// for FusedPwDwConv both weights ("W[96,16,1,1] Clip + W[96,1,3,3] g96 s2 Clip").
std::string node_detail(const ir::Graph& g, const std::string& name) {
  for (const auto& n : g.nodes) {
    if (n.name != name) continue;
    const auto weight = [&](size_t k) -> std::string {
      auto it = k < n.inputs.size() ? g.initializers.find(n.inputs[k]) : g.initializers.end();
      return it == g.initializers.end() ? "" : "W" + shape_str(it->second.shape());
    };
    std::string d = weight(1);
    if (n.op_type == "FusedPwDwConv") {
      if (const ir::Attribute* a = n.attr("pw_activation")) d += " " + a->s;
      d += " + " + weight(3);
    }
    if (const ir::Attribute* a = n.attr("group"); a && a->i != 1) d += " g" + std::to_string(a->i);
    if (const ir::Attribute* a = n.attr("strides"); a && !a->ints.empty() && a->ints[0] != 1) {
      d += " s" + std::to_string(a->ints[0]);
    }
    if (const ir::Attribute* a = n.attr("activation")) d += " " + a->s;
    return d;
  }
  return {};
}

struct BenchOptions {
  std::string model;
  int threads = 0;
  int iterations = 50;
  int warmup = 5;
  double max_seconds = 20;
  bool json = false;
  bool profile = false;
  bool no_optimize = false;
  bool reference = false;
  std::vector<std::string> inputs;
  // GGUF
  int prompt_tokens = 512;
  int gen_tokens = 128;
  int reps = 5;
  bool mmap = false, no_mmap = false;
};

// A .gguf file name, or a file that starts with the GGUF magic.
bool is_gguf(const std::string& path) {
  if (path.size() >= 5 && path.compare(path.size() - 5, 5, ".gguf") == 0) return true;
  std::ifstream f(path, std::ios::binary);
  char magic[4] = {};
  return f.read(magic, 4) && std::string(magic, 4) == "GGUF";
}

int bench_onnx(const BenchOptions& o) {
  if (o.iterations < 1) return fail("--iterations must be >= 1");
  if (o.warmup < 0) return fail("--warmup must be >= 0");
  const int64_t base_rss = proc_status_bytes("VmRSS");
  auto env = Env::create(o.threads);
  const int threads = env->pool->num_threads();

  if (o.mmap && o.no_mmap) return fail("--mmap and --no-mmap contradict each other: give one");
  auto t0 = std::chrono::steady_clock::now();
  formats::OnnxLoadOptions lo;
  lo.map = o.mmap;
  auto m = formats::load_onnx(o.model, lo);
  if (!m.ok()) return fail(m.status().message() + " (bench takes an ONNX model or a GGUF language model)");
  const WeightsLoad weights = weights_load(*m);
  std::shared_ptr<const ir::Graph> graph(std::move(m->graph));
  const bool int8 = is_int8_model(*graph);
  const size_t nodes_before = graph->nodes.size();
  runtime::SessionOptions so;
  so.optimize = !o.no_optimize;
  so.reference_only = o.reference;
  // The session keeps what it runs (the optimized copy, or this graph with --no-optimize); the
  // parsed graph goes once the copy is made, as in a deployment, instead of holding a second set
  // of weights (resnet18: BatchNorm folding makes every conv's weights new tensors).
  auto session = runtime::Session::create(std::move(graph), *env, so);
  if (!session.ok()) return fail(o.model + ": " + session.status().message());
  const double load_ms = ms_since(t0);
  runtime::Session& s = **session;

  // Inputs: files first, then seeded random tensors for the rest.
  std::vector<runtime::NamedValue> feeds;
  for (const auto& spec : o.inputs) {
    size_t eq = spec.find('=');
    if (eq == std::string::npos || eq == 0) return fail("--input takes NAME=FILE, got '" + spec + "'");
    auto t = load_tensor_file(spec.substr(eq + 1));
    if (!t.ok()) return fail(t.status().message());
    feeds.push_back({spec.substr(0, eq), runtime::Value::of(std::move(t).value())});
  }
  uint32_t seed = 1234;
  for (const ir::ValueInfo* in : s.graph().feed_inputs()) {
    bool given = false;
    for (const auto& f : feeds) given = given || f.name == in->name;
    if (given) continue;
    auto t = random_input(*in, seed++);
    if (!t.ok()) return fail(o.model + ": " + t.status().message());
    feeds.push_back({in->name, runtime::Value::of(std::move(t).value())});
  }

  // The session packed each conv's weights for the path its plane takes at creation (a run on
  // zeros, SessionOptions::prepack) where the input shapes are fixed; otherwise the first run does.
  double first_run_ms = -1;
  for (int i = 0; i < o.warmup; ++i) {
    auto t = std::chrono::steady_clock::now();
    auto r = s.run(feeds);
    if (!r.ok()) return fail(r.status().message());
    if (i == 0) first_run_ms = ms_since(t);
  }
  std::vector<double> ms;
  double total = 0;
  for (int i = 0; i < o.iterations; ++i) {
    if (ms.size() >= 10 && total > o.max_seconds * 1000) break;
    auto t = std::chrono::steady_clock::now();
    auto r = s.run(feeds);
    const double dt = ms_since(t);
    if (!r.ok()) return fail(r.status().message());
    ms.push_back(dt);
    total += dt;
  }
  const LatencyStats st = latency_stats(ms);
  const int64_t peak_rss = proc_status_bytes("VmHWM");

  std::vector<OpTime> ops;
  std::vector<NodeTime> slowest;
  double profiled_ms = 0;
  if (o.profile) {
    s.set_profiling(true);
    const int runs = static_cast<int>(ms.size());
    for (int i = 0; i < runs; ++i) {
      auto r = s.run(feeds);
      if (!r.ok()) return fail(r.status().message());
    }
    s.set_profiling(false);
    std::map<std::string, OpTime> by_op;
    for (const auto& p : s.profile()) {
      slowest.push_back({p.name, p.op_type, node_detail(s.graph(), p.name), p.total_ms / runs});
      OpTime& t = by_op[p.op_type];
      t.op = p.op_type;
      t.ms_per_run += p.total_ms / runs;
      t.nodes++;
    }
    for (auto& [k, v] : by_op) {
      profiled_ms += v.ms_per_run;
      ops.push_back(v);
    }
    std::sort(ops.begin(), ops.end(), [](const OpTime& a, const OpTime& b) { return a.ms_per_run > b.ms_per_run; });
    std::stable_sort(slowest.begin(), slowest.end(),
                     [](const NodeTime& a, const NodeTime& b) { return a.ms_per_run > b.ms_per_run; });
    if (slowest.size() > 10) slowest.resize(10);
  }

  const std::string speed_note = compress::int8_speed_note(env->cpu);  // empty where int8 pays
  const bool int8_slow = int8 && !speed_note.empty();
  const std::string int8_note = "this model computes in int8, but " + speed_note;
  const size_t nodes_after = s.graph().nodes.size();
  const double throughput = st.mean > 0 ? 1000.0 / st.mean : 0;

  if (o.json) {
    nlohmann::json j{{"model", o.model},
                     {"threads", threads},
                     {"iterations", ms.size()},
                     {"warmup", o.warmup},
                     {"optimize", so.optimize},
                     {"reference_only", so.reference_only},
                     {"load_ms", load_ms},
                     {"first_run_ms", first_run_ms >= 0 ? first_run_ms : (ms.empty() ? 0.0 : ms[0])},
                     {"latency_ms", {{"min", st.min}, {"median", st.median}, {"p90", st.p90}, {"mean", st.mean}}},
                     {"throughput_per_s", throughput},
                     {"base_rss_bytes", base_rss},
                     {"peak_rss_bytes", peak_rss},
                     {"model_rss_bytes", peak_rss >= 0 && base_rss >= 0 ? peak_rss - base_rss : -1},
                     {"nodes", {{"model", nodes_before}, {"optimized", nodes_after}}},
                     {"mmap", weights.mapped},
                     {"weights_in_place_bytes", weights.in_place_bytes},
                     {"weights_copied_bytes", weights.copied_bytes},
                     {"cpu", env->cpu.summary()},
                     {"int8", int8},
                     {"int8_without_dot_product", int8_slow}};
    if (o.profile) {
      nlohmann::json p = nlohmann::json::array();
      for (const auto& t : ops) p.push_back({{"op", t.op}, {"nodes", t.nodes}, {"ms_per_run", t.ms_per_run}});
      j["profile"] = p;
      nlohmann::json sn = nlohmann::json::array();
      for (const auto& t : slowest) {
        sn.push_back({{"node", t.name}, {"op", t.op}, {"detail", t.detail}, {"ms_per_run", t.ms_per_run}});
      }
      j["slowest_nodes"] = sn;
    }
    std::printf("%s\n", j.dump().c_str());
    if (int8_slow) std::fprintf(stderr, "note: %s\n", int8_note.c_str());
    return 0;
  }
  std::printf("model      %s\n", o.model.c_str());
  std::printf("threads    %d   (cpu: %s)\n", threads, env->cpu.summary().c_str());
  std::printf("nodes      %zu -> %zu after graph passes%s\n", nodes_before, nodes_after,
              so.optimize ? "" : " (passes off)");
  std::printf("load       %.1f ms, first run %.1f ms\n", load_ms,
              first_run_ms >= 0 ? first_run_ms : (ms.empty() ? 0.0 : ms[0]));
  std::printf("weights    %s\n", weights.describe().c_str());
  std::printf("latency    min %.3f ms  median %.3f ms  p90 %.3f ms  mean %.3f ms  (%zu runs, %d warm-up)\n",
              st.min, st.median, st.p90, st.mean, ms.size(), o.warmup);
  std::printf("throughput %.1f inferences/s\n", throughput);
  if (peak_rss >= 0 && base_rss >= 0) {
    std::printf("memory     peak RSS %.1f MB, before loading %.1f MB, model %.1f MB\n", peak_rss / 1048576.0,
                base_rss / 1048576.0, (peak_rss - base_rss) / 1048576.0);
  }
  if (int8_slow) std::printf("note: %s\n", int8_note.c_str());
  if (o.profile) {
    std::printf("\nprofile (%zu runs, per run; the sum %.3f ms excludes the runtime's own time)\n", ms.size(), profiled_ms);
    std::printf("  %-28s %6s %10s %7s\n", "op", "nodes", "ms", "%");
    for (const auto& t : ops) {
      std::printf("  %-28s %6d %10.3f %6.1f%%\n", t.op.c_str(), t.nodes, t.ms_per_run,
                  profiled_ms > 0 ? 100.0 * t.ms_per_run / profiled_ms : 0.0);
    }
    std::printf("\nslowest nodes\n");
    for (const auto& t : slowest) {
      std::printf("  %8.3f ms  %-12s %-28s %s\n", t.ms_per_run, t.op.c_str(), t.detail.c_str(), t.name.c_str());
    }
  }
  return 0;
}

}  // namespace

Command add_bench(CLI::App& app) {
  auto o = std::make_shared<BenchOptions>();
  auto* sub = app.add_subcommand("bench", "Measure a model's latency, throughput and memory (ONNX), or "
                                          "prompt and generation tokens/s (GGUF)");
  sub->add_option("model", o->model, "Model file (.onnx or .gguf)")->required();
  sub->add_option("-t,--threads", o->threads, "Threads (0 = one per logical core)")->capture_default_str();
  sub->add_flag("--json", o->json, "Print one JSON object");
  auto* onnx = "ONNX models";
  sub->add_option("-k,--iterations", o->iterations, "Timed runs")->capture_default_str()->group(onnx);
  sub->add_option("-w,--warmup", o->warmup, "Warm-up runs before timing")->capture_default_str()->group(onnx);
  sub->add_option("--max-seconds", o->max_seconds, "Stop timing (after at least 10 runs) past this many seconds")
      ->capture_default_str()
      ->group(onnx);
  sub->add_flag("--profile", o->profile, "Time per op type (extra profiled runs)")->group(onnx);
  sub->add_option("-i,--input", o->inputs, "NAME=FILE (.npy or .pb) instead of random data (repeatable)")->group(onnx);
  sub->add_flag("--no-optimize", o->no_optimize, "Skip the graph passes")->group(onnx);
  sub->add_flag("--reference", o->reference, "Reference kernels only")->group(onnx);
  auto* gguf = "GGUF language models";
  sub->add_option("-p,--prompt-tokens,--n-prompt", o->prompt_tokens, "Prompt tokens (0 = skip)")
      ->capture_default_str()
      ->group(gguf);
  sub->add_option("-n,--gen-tokens,--n-gen", o->gen_tokens, "Generated tokens (0 = skip)")
      ->capture_default_str()
      ->group(gguf);
  sub->add_option("-r,--reps", o->reps, "Repetitions")->capture_default_str()->group(gguf);
  sub->add_flag("--mmap", o->mmap,
                "Map the model file and use the weights where they lie (zero copy). Default: ONNX weights are "
                "read; GGUF weights are read into memory when they fit");
  sub->add_flag("--no-mmap", o->no_mmap, "Always read the weights into memory");
  return [o]() -> int {
    if (is_gguf(o->model)) {
      return bench_gguf(o->model, o->prompt_tokens, o->gen_tokens, o->threads, o->reps, o->json, o->mmap, o->no_mmap);
    }
    return bench_onnx(*o);
  };
}

}  // namespace edgeai::cli
