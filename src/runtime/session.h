// Session: prepares an ir::Graph once (op lookup, topological order, value lifetimes) and runs it
// many times. Values are released into the environment's arena at their last use, so memory is
// reused by lifetime within a run and across runs.
#pragma once

#include <memory>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "core/env.h"
#include "edgeai/status.h"
#include "ir/graph.h"
#include "ir/op_registry.h"
#include "kernels/kernel.h"

namespace edgeai::runtime {

using kernels::Value;

struct NamedValue {
  std::string name;
  Value value;
};

// Per-node timing, filled when profiling is on.
struct NodeProfile {
  std::string name;
  std::string op_type;
  double total_ms = 0;
  int64_t calls = 0;
};

class GraphPlan;  // compiled form of one graph and its subgraphs
struct NodeStats;

struct SessionOptions {
  bool optimize = true;         // run the graph passes (src/passes)
  bool reference_only = false;  // only the portable reference kernels (for checking fast ones)
  // Where every input has a fixed shape and a numeric or bool type: one run on zeros at creation,
  // which packs each kernel's weights for the path its input's shape takes (known only with that
  // shape), so that the first inference does not pay for it. Its failure is not an error (the
  // packing then happens on the first run that takes each path).
  bool prepack = true;
};

class Session {
 public:
  // `env` must outlive the session. The graph is shared, read-only; the session optimizes its
  // own copy.
  static Result<std::unique_ptr<Session>> create(std::shared_ptr<const ir::Graph> graph, Env& env,
                                                 const SessionOptions& options = {});
  ~Session();
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  // Runs with named inputs (every feed input must be given); returns the graph outputs in order.
  Result<std::vector<Value>> run(const std::vector<NamedValue>& inputs);

  const ir::Graph& graph() const { return *graph_; }
  void set_profiling(bool on) { profiling_ = on; }
  std::vector<NodeProfile> profile() const;

 private:
  Session(std::shared_ptr<const ir::Graph> graph, Env& env);
  void prepack_run();  // SessionOptions::prepack
  std::shared_ptr<const ir::Graph> graph_;
  Env& env_;
  ir::OpRegistry registry_;
  std::unique_ptr<GraphPlan> plan_;
  bool profiling_ = false;
  std::vector<struct NodeStats> stats_;
};

}  // namespace edgeai::runtime
