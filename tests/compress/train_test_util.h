// Helpers of the training tests: tiny graphs built in code, and a finite-difference gradient
// check (the oracle for every backward rule).
#pragma once

#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <string>
#include <vector>

#include "compress/train/autodiff.h"
#include "ir/graph.h"

namespace edgeai::compress::train::testing {

inline ir::Attribute attr_i(const std::string& n, int64_t v) {
  ir::Attribute a;
  a.name = n;
  a.type = ir::AttrType::kInt;
  a.i = v;
  return a;
}
inline ir::Attribute attr_f(const std::string& n, float v) {
  ir::Attribute a;
  a.name = n;
  a.type = ir::AttrType::kFloat;
  a.f = v;
  return a;
}
inline ir::Attribute attr_is(const std::string& n, std::vector<int64_t> v) {
  ir::Attribute a;
  a.name = n;
  a.type = ir::AttrType::kInts;
  a.ints = std::move(v);
  return a;
}
inline ir::Attribute attr_s(const std::string& n, const std::string& v) {
  ir::Attribute a;
  a.name = n;
  a.type = ir::AttrType::kString;
  a.s = v;
  return a;
}

inline ir::Node node(const std::string& op, std::vector<std::string> in, std::vector<std::string> out,
                     std::vector<ir::Attribute> attrs = {}, const std::string& domain = "") {
  ir::Node n;
  n.name = op + "_" + out[0];
  n.op_type = op;
  n.domain = domain;
  n.inputs = std::move(in);
  n.outputs = std::move(out);
  for (auto& a : attrs) n.attributes[a.name] = a;
  return n;
}

inline Tensor random_tensor(const Shape& s, uint64_t seed, float lo = -1.0f, float hi = 1.0f, float avoid = 0.0f) {
  std::mt19937 rng(static_cast<uint32_t>(seed));
  std::uniform_real_distribution<float> u(lo, hi);
  Tensor t = Tensor::create(DType::kF32, s).value();
  for (int64_t i = 0; i < t.numel(); ++i) {
    float v;
    do v = u(rng);
    while (avoid > 0 && std::fabs(v) < avoid);
    t.data<float>()[i] = v;
  }
  return t;
}

// A graph with an unused feed input and the given initializers; output "y".
inline ir::Graph make_graph(std::vector<ir::Node> nodes, std::vector<std::pair<std::string, Tensor>> inits, int opset = 13) {
  ir::Graph g;
  g.name = "t";
  g.opsets[""] = opset;
  g.opsets["com.edgeai"] = 1;
  g.opsets["com.edgeai.train"] = 1;
  ir::ValueInfo in;
  in.name = "feed";
  in.type.dtype = DType::kF32;
  g.inputs.push_back(in);
  ir::ValueInfo out;
  out.name = "y";
  out.type.dtype = DType::kF32;
  g.outputs.push_back(out);
  g.nodes = std::move(nodes);
  for (auto& [n, t] : inits) g.initializers[n] = t;
  return g;
}

// Checks the gradient of loss = sum(y * R) with respect to each listed initializer against
// central differences (forward passes on the optimized kernels, or with fast_kernels false on the
// reference kernels). Returns the largest error relative to max(1, |numeric|).
inline void expect_gradients_match(ir::Graph g, const std::vector<std::string>& params, double eps = 1e-3,
                                   double tol = 1e-2, int max_checks = 60, bool fast_kernels = true) {
  TrainableOptions o;
  o.params = params;
  o.fast_kernels = fast_kernels;
  auto t = Trainable::create(std::move(g), o);
  ASSERT_TRUE(t.ok()) << t.status().message();
  Trainable& m = **t;
  Tensor feed = Tensor::create(DType::kF32, {1}).value();
  auto y = m.forward(feed, true);
  ASSERT_TRUE(y.ok()) << y.status().message();
  Tensor r = random_tensor(y->shape(), 99);
  auto loss = [&]() -> double {
    auto out = m.forward(feed, true);
    EXPECT_TRUE(out.ok()) << out.status().message();
    double s = 0;
    for (int64_t i = 0; i < out->numel(); ++i) s += static_cast<double>(out->data<float>()[i]) * r.data<float>()[i];
    return s;
  };
  ASSERT_TRUE(m.forward(feed, true).ok());
  m.zero_grad();
  Status st = m.backward(r);
  ASSERT_TRUE(st.ok()) << st.message();
  for (size_t p = 0; p < m.params().size(); ++p) {
    Tensor& w = m.params()[p];
    const Tensor& grad = m.grads()[p];
    const int64_t n = w.numel();
    const int64_t stride = std::max<int64_t>(1, n / max_checks);
    for (int64_t i = 0; i < n; i += stride) {
      float* v = w.data<float>() + i;
      const float orig = *v;
      *v = orig + static_cast<float>(eps);
      const double lp = loss();
      *v = orig - static_cast<float>(eps);
      const double lm = loss();
      *v = orig;
      const double numeric = (lp - lm) / (2 * eps);
      const double analytic = grad.data<float>()[i];
      EXPECT_NEAR(analytic, numeric, tol * std::max(1.0, std::fabs(numeric)))
          << "d loss / d " << m.param_names()[p] << "[" << i << "]";
    }
  }
}

}  // namespace edgeai::compress::train::testing
