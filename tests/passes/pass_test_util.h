// Helpers for the graph pass tests: build small graphs in the IR, run them with and without the
// passes (SessionOptions::optimize) and compare. The oracle is the unoptimized graph run by the
// reference kernels.
#pragma once

#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "core/compare.h"
#include "core/env.h"
#include "ir/graph.h"
#include "passes/optimize.h"
#include "runtime/session.h"
#include "node_attrs.h"

namespace edgeai::testing {

inline Tensor random_tensor(const Shape& shape, uint32_t seed, float lo = -1.0f, float hi = 1.0f) {
  Tensor t = Tensor::create(DType::kF32, shape).value();
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> d(lo, hi);
  for (int64_t i = 0; i < t.numel(); ++i) t.data<float>()[i] = d(rng);
  return t;
}

inline Tensor scalar_f32(float v) { return Tensor::from_vector<float>(DType::kF32, {}, {v}); }
inline Tensor ints(std::vector<int64_t> v) {
  return Tensor::from_vector<int64_t>(DType::kI64, {static_cast<int64_t>(v.size())}, v);
}

class GraphBuilder {
 public:
  explicit GraphBuilder(int opset = 13) { g.opsets[""] = opset; }

  GraphBuilder& input(const std::string& name, const Shape& shape, DType dtype = DType::kF32) {
    ir::ValueInfo vi;
    vi.name = name;
    vi.type.dtype = dtype;
    std::vector<ir::Dim> dims;
    for (int64_t d : shape) dims.push_back({d, ""});
    vi.type.shape = dims;
    g.inputs.push_back(vi);
    feeds_shapes_[name] = shape;
    return *this;
  }
  GraphBuilder& output(const std::string& name) {
    ir::ValueInfo vi;
    vi.name = name;
    g.outputs.push_back(vi);
    return *this;
  }
  GraphBuilder& init(const std::string& name, Tensor t) {
    g.initializers[name] = std::move(t);
    return *this;
  }
  ir::Node& node(const std::string& op, std::vector<std::string> inputs, std::vector<std::string> outputs,
                 const std::string& domain = "") {
    ir::Node n;
    n.name = op + "_" + std::to_string(g.nodes.size());
    n.op_type = op;
    n.domain = domain;
    n.inputs = std::move(inputs);
    n.outputs = std::move(outputs);
    g.nodes.push_back(std::move(n));
    return g.nodes.back();
  }
  static void set_int(ir::Node& n, const std::string& k, int64_t v) { set_attr_i(n, k, v); }
  static void set_float(ir::Node& n, const std::string& k, float v) { set_attr_f(n, k, v); }
  static void set_ints(ir::Node& n, const std::string& k, std::vector<int64_t> v) { set_attr_ints(n, k, std::move(v)); }
  static void set_string(ir::Node& n, const std::string& k, const std::string& v) { set_attr_s(n, k, v); }
  static void set_tensor(ir::Node& n, const std::string& k, Tensor t) { set_attr_tensor(n, k, std::move(t)); }

  // Seeded random feeds for every input that has no initializer.
  std::vector<runtime::NamedValue> random_feeds(uint32_t seed = 7) const {
    std::vector<runtime::NamedValue> f;
    for (const auto& in : g.inputs) {
      if (g.initializers.count(in.name)) continue;
      f.push_back({in.name, runtime::Value::of(random_tensor(feeds_shapes_.at(in.name), seed++, -3, 3))});
    }
    return f;
  }

  ir::Graph g;

 private:
  std::map<std::string, Shape> feeds_shapes_;
};

// The graph after the passes.
inline ir::Graph optimized(const ir::Graph& g) {
  ir::Graph copy = g;
  Status st = passes::optimize_graph(copy, {});
  EXPECT_TRUE(st.ok()) << st.message();
  return copy;
}

inline int count_op(const ir::Graph& g, const std::string& op) {
  int n = 0;
  for (const auto& node : g.nodes) n += node.op_type == op;
  return n;
}

// Runs `g` with and without the passes on `feeds`, once with the reference kernels only and once
// with the optimized CPU kernels, and expects every output equal within rtol (atol = rtol * the
// largest output magnitude). Returns the optimized session's graph.
inline ir::Graph expect_same_outputs(const ir::Graph& g, const std::vector<runtime::NamedValue>& feeds,
                                     double rtol = 1e-5, int threads = 1) {
  auto env = Env::create(threads);
  auto shared = std::make_shared<const ir::Graph>(g);
  ir::Graph result = g;
  for (bool reference_only : {true, false}) {
    SCOPED_TRACE(reference_only ? "reference kernels" : "optimized kernels");
    auto plain = runtime::Session::create(shared, *env, {.optimize = false, .reference_only = reference_only});
    auto fast = runtime::Session::create(shared, *env, {.optimize = true, .reference_only = reference_only});
    EXPECT_TRUE(plain.ok()) << plain.status().message();
    EXPECT_TRUE(fast.ok()) << fast.status().message();
    if (!plain.ok() || !fast.ok()) return g;
    result = (*fast)->graph();
    auto a = (*plain)->run(feeds);
    auto b = (*fast)->run(feeds);
    EXPECT_TRUE(a.ok()) << a.status().message();
    EXPECT_TRUE(b.ok()) << b.status().message();
    if (!a.ok() || !b.ok()) return result;
    EXPECT_EQ(a->size(), b->size());
    for (size_t i = 0; i < a->size() && i < b->size(); ++i) {
      const Tensor& x = (*a)[i].tensor;
      const Tensor& y = (*b)[i].tensor;
      double mag = 0;
      for (int64_t k = 0; k < x.numel(); ++k) mag = std::max(mag, std::abs(x.get_double(k)));
      CompareResult c = compare_tensors(y, x, rtol, rtol * std::max(mag, 1e-6));
      EXPECT_TRUE(c.equal) << "output " << g.outputs[i].name << ": " << c.message;
    }
  }
  return result;
}

}  // namespace edgeai::testing
