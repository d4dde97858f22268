// Checks an optimized CPU kernel against the reference kernel (the oracle): a one-node graph runs
// once with SessionOptions::reference_only and then with the fast kernels, for every ISA table
// this machine runs (AVX-512, AVX2, portable; forced by clearing CPU feature bits) and 1-3
// threads. Floats compare with a relative tolerance (reassociation), never bitwise across ISAs;
// for one ISA the outputs must be bitwise equal across thread counts (determinism).
#pragma once

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "core/env.h"
#include "ir/graph.h"
#include "kernels/cpu/registry.h"
#include "kernels/cpu/ukernels.h"
#include "node_attrs.h"
#include "runtime/session.h"

namespace edgeai::testing {

// Random bytes (any values) as a tensor of an 8-bit dtype.
inline Tensor random_bytes(DType dtype, Shape shape, uint32_t seed) {
  Tensor t = Tensor::create(dtype, std::move(shape)).value();
  std::mt19937 rng(seed);
  for (int64_t i = 0; i < t.numel(); ++i) t.data<uint8_t>()[i] = static_cast<uint8_t>(rng());
  return t;
}

inline Tensor random_tensor(Shape shape, uint32_t seed, float lo = -1.0f, float hi = 1.0f) {
  Tensor t = Tensor::create(DType::kF32, std::move(shape)).value();
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> d(lo, hi);
  for (int64_t i = 0; i < t.numel(); ++i) t.data<float>()[i] = d(rng);
  return t;
}

// A node for OpCase::nodes (graphs of a few nodes).
inline ir::Node graph_node(const std::string& name, const std::string& op, std::vector<std::string> in,
                           std::vector<std::string> out, const std::string& domain = "") {
  ir::Node n;
  n.name = name;
  n.op_type = op;
  n.domain = domain;
  n.inputs = std::move(in);
  n.outputs = std::move(out);
  return n;
}

// One node (or a few) with its inputs: constant ones become initializers.
struct OpCase {
  std::vector<ir::Node> nodes;
  std::vector<std::pair<std::string, Tensor>> feeds;
  std::vector<std::pair<std::string, Tensor>> constants;
  std::vector<std::string> outputs;
  int64_t opset = 17;

  // A single node `op` (domain) reading inputs named in0, in1, ... and writing `out`.
  static OpCase single(const std::string& op, const std::string& domain = "") {
    OpCase c;
    ir::Node n;
    n.name = "n0";
    n.op_type = op;
    n.domain = domain;
    n.outputs = {"out"};
    c.nodes.push_back(n);
    c.outputs = {"out"};
    return c;
  }
  ir::Node& node() { return nodes[0]; }
  OpCase& input(const Tensor& t) {
    const std::string name = "in" + std::to_string(node().inputs.size());
    node().inputs.push_back(name);
    feeds.push_back({name, t});
    return *this;
  }
  OpCase& constant(const Tensor& t) {
    const std::string name = "in" + std::to_string(node().inputs.size());
    node().inputs.push_back(name);
    constants.push_back({name, t});
    return *this;
  }
  OpCase& absent() {
    node().inputs.push_back("");
    return *this;
  }
  OpCase& attr_i(const std::string& k, int64_t v) {
    set_attr_i(node(), k, v);
    return *this;
  }
  OpCase& attr_f(const std::string& k, float v) {
    set_attr_f(node(), k, v);
    return *this;
  }
  OpCase& attr_s(const std::string& k, const std::string& v) {
    set_attr_s(node(), k, v);
    return *this;
  }
  OpCase& attr_ints(const std::string& k, std::vector<int64_t> v) {
    set_attr_ints(node(), k, std::move(v));
    return *this;
  }
  OpCase& attr_floats(const std::string& k, std::vector<float> v) {
    set_attr_floats(node(), k, std::move(v));
    return *this;
  }

  std::shared_ptr<ir::Graph> graph() const {
    auto g = std::make_shared<ir::Graph>();
    g->name = "case";
    g->opsets[""] = opset;
    g->opsets["com.edgeai"] = 1;
    g->nodes = nodes;
    for (const auto& [name, t] : feeds) {
      ir::ValueInfo vi;
      vi.name = name;
      vi.type.dtype = t.dtype();
      g->inputs.push_back(vi);
    }
    for (const auto& [name, t] : constants) g->initializers[name] = t;
    for (const auto& o : outputs) {
      ir::ValueInfo vi;
      vi.name = o;
      vi.type.kind = ir::ValueKind::kUnknown;
      g->outputs.push_back(vi);
    }
    return g;
  }
};

// A session over `g` with an environment of its own: the fast kernels of `cpu`'s table or the
// reference ones, no graph passes. A session that cannot be created fails the test and runs as
// no outputs.
struct CaseSession {
  Env env;
  std::unique_ptr<runtime::Session> session;
  // expect_ok: a session that cannot be made fails the test (false: session stays null).
  CaseSession(const std::shared_ptr<ir::Graph>& g, const CpuFeatures& cpu, int threads, bool reference,
              bool expect_ok = true) {
    env.cpu = cpu;
    env.pool = std::make_unique<ThreadPool>(threads);
    env.arena = std::make_shared<Arena>();
    runtime::SessionOptions so;
    so.optimize = false;
    so.reference_only = reference;
    auto s = runtime::Session::create(g, env, so);
    if (expect_ok) {
      EXPECT_TRUE(s.ok()) << s.status().message();
    }
    if (s.ok()) session = std::move(s).value();
  }
  std::vector<Tensor> run(const std::vector<runtime::NamedValue>& feeds) {
    if (!session) return {};
    auto outs = session->run(feeds);
    EXPECT_TRUE(outs.ok()) << outs.status().message();
    std::vector<Tensor> r;
    if (outs.ok()) {
      for (auto& v : *outs) r.push_back(v.tensor);
    }
    return r;
  }
};

// The case's feeds as a session takes them.
inline std::vector<runtime::NamedValue> case_feeds(const OpCase& c) {
  std::vector<runtime::NamedValue> feeds;
  for (const auto& [name, t] : c.feeds) feeds.push_back({name, runtime::Value::of(t)});
  return feeds;
}

inline std::vector<Tensor> run_case(const std::shared_ptr<ir::Graph>& g, const OpCase& c, const CpuFeatures& cpu,
                                    int threads, bool reference) {
  CaseSession s(g, cpu, threads, reference);
  return s.run(case_feeds(c));
}

// The CPU feature sets whose kernel tables differ on this machine.
inline std::vector<CpuFeatures> isa_variants() {
  const CpuFeatures full = detect_cpu_features();
  std::vector<CpuFeatures> v;
  std::vector<std::string> seen;
  auto add = [&](const CpuFeatures& f) {
    const std::string name = kernels::cpu::ukernels_for(f).name;
    for (const auto& s : seen) {
      if (s == name) return;
    }
    seen.push_back(name);
    v.push_back(f);
  };
  add(full);
  CpuFeatures no512 = full;
  no512.avx512f = no512.avx512bw = no512.avx512vl = no512.avx512_vnni = false;
  add(no512);
  CpuFeatures none = no512;
  none.avx2 = none.fma = none.f16c = none.avx_vnni = false;
  none.neon = none.arm_dotprod = false;
  add(none);
  return v;
}

inline ::testing::AssertionResult close(const Tensor& got, const Tensor& want, double rtol, double atol_rel) {
  if (got.shape() != want.shape()) {
    return ::testing::AssertionFailure() << "shape " << shape_str(got.shape()) << " vs " << shape_str(want.shape());
  }
  if (got.dtype() != want.dtype()) return ::testing::AssertionFailure() << "dtype differs";
  double maxabs = 0;
  for (int64_t i = 0; i < want.numel(); ++i) maxabs = std::max(maxabs, std::fabs(want.get_double(i)));
  const double atol = atol_rel * maxabs + 1e-30;
  for (int64_t i = 0; i < want.numel(); ++i) {
    const double a = got.get_double(i), b = want.get_double(i);
    if (std::isnan(a) && std::isnan(b)) continue;
    if (!(std::fabs(a - b) <= atol + rtol * std::fabs(b))) {
      return ::testing::AssertionFailure() << "element " << i << ": got " << a << ", want " << b << " (max |want| "
                                           << maxabs << ")";
    }
  }
  return ::testing::AssertionSuccess();
}

inline bool bitwise_equal(const Tensor& a, const Tensor& b) {
  return a.shape() == b.shape() && a.nbytes() == b.nbytes() && std::memcmp(a.raw(), b.raw(), a.nbytes()) == 0;
}

// The prepare step's view of a test node (constants are the case's initializers).
class CasePrepareContext final : public kernels::PrepareContext {
 public:
  CasePrepareContext(const OpCase& c, const ir::Node& n, const CpuFeatures& cpu) : c_(c), n_(n), cpu_(cpu) {}
  int num_inputs() const override { return static_cast<int>(n_.inputs.size()); }
  bool has_input(int i) const override { return i >= 0 && i < num_inputs() && !n_.inputs[i].empty(); }
  const Tensor* constant_input(int i) const override {
    if (!has_input(i)) return nullptr;
    for (const auto& [name, t] : c_.constants) {
      if (name == n_.inputs[i]) return &t;
    }
    return nullptr;
  }
  bool declared_type(int i, DType* dtype, std::vector<int64_t>* shape) const override {
    if (const Tensor* t = constant_input(i)) {
      *dtype = t->dtype();
      *shape = t->shape();
      return true;
    }
    return false;
  }
  const ir::Attribute* attr(std::string_view k) const { return n_.attr(k); }
  bool has_attr(std::string_view k) const override { return attr(k) != nullptr; }
  int64_t attr_int(std::string_view k, int64_t d) const override { return attr(k) ? attr(k)->i : d; }
  float attr_float(std::string_view k, float d) const override { return attr(k) ? attr(k)->f : d; }
  std::string attr_string(std::string_view k, std::string_view d) const override {
    return attr(k) ? attr(k)->s : std::string(d);
  }
  std::vector<int64_t> attr_ints(std::string_view k) const override { return attr(k) ? attr(k)->ints : std::vector<int64_t>{}; }
  std::vector<float> attr_floats(std::string_view k) const override { return attr(k) ? attr(k)->floats : std::vector<float>{}; }
  std::vector<std::string> attr_strings(std::string_view k) const override { return {}; }
  const Tensor* attr_tensor(std::string_view) const override { return nullptr; }
  std::string_view op_type() const override { return n_.op_type; }
  std::string_view node_name() const override { return n_.name; }
  int opset() const override { return static_cast<int>(n_.domain.empty() ? c_.opset : 1); }
  const CpuFeatures& cpu() const override { return cpu_; }

 private:
  const OpCase& c_;
  const ir::Node& n_;
  const CpuFeatures& cpu_;
};

// Whether the fast kernel table takes node 0 of `c` (else the test would only exercise the
// reference kernel).
inline bool fast_kernel_takes(const OpCase& c) {
  const ir::Node& n = c.nodes[0];
  const CpuFeatures cpu = detect_cpu_features();
  for (const auto& e : kernels::cpu::cpu_kernels()) {
    if (e.domain != n.domain || e.op_type != n.op_type) continue;
    if (!e.prepare) return true;
    CasePrepareContext pctx(c, n, cpu);
    auto st = e.prepare(pctx);
    return st.ok() && *st != nullptr;
  }
  return false;
}

// Runs `c` with the reference kernels (or `ref`, an equivalent graph, when given) and with the
// fast kernels on every ISA and 1-3 threads; compares.
inline void expect_matches_reference(const OpCase& c, double rtol = 1e-5, double atol_rel = 1e-5,
                                     const OpCase* ref = nullptr) {
  ASSERT_TRUE(fast_kernel_takes(c)) << c.nodes[0].op_type << " was not taken by the fast kernels";
  const auto g = c.graph();
  const OpCase& rc = ref ? *ref : c;
  const auto want = run_case(rc.graph(), rc, detect_cpu_features(), 1, true);
  ASSERT_EQ(want.size(), c.outputs.size());
  for (const CpuFeatures& cpu : isa_variants()) {
    const std::string isa = kernels::cpu::ukernels_for(cpu).name;
    std::vector<Tensor> first;
    for (int threads = 1; threads <= 3; ++threads) {
      const auto got = run_case(g, c, cpu, threads, false);
      ASSERT_EQ(got.size(), want.size()) << isa;
      for (size_t i = 0; i < got.size(); ++i) {
        EXPECT_TRUE(close(got[i], want[i], rtol, atol_rel)) << isa << ", " << threads << " threads, output " << i;
        if (threads == 1) first.push_back(got[i]);
        else EXPECT_TRUE(bitwise_equal(got[i], first[i])) << isa << ": " << threads << " threads differ from 1";
      }
    }
  }
}

// Whether a session with the fast kernels (this CPU's table, 1 thread, no passes) runs `c` without
// error: for hostile inputs, which the reference kernel reports as a Status.
inline bool fast_session_runs(const OpCase& c) {
  CaseSession s(c.graph(), detect_cpu_features(), 1, false, /*expect_ok=*/false);
  return s.session && s.session->run(case_feeds(c)).ok();
}

// A node the fast kernel declines at preparation: the session with the fast kernels runs the
// reference kernel for it, with the reference's output bit for bit.
inline void expect_declined_and_run_by_reference(const OpCase& c) {
  EXPECT_FALSE(fast_kernel_takes(c));
  const auto a = run_case(c.graph(), c, detect_cpu_features(), 1, false);
  const auto b = run_case(c.graph(), c, detect_cpu_features(), 1, true);
  ASSERT_EQ(a.size(), 1u);
  ASSERT_EQ(b.size(), 1u);
  EXPECT_TRUE(bitwise_equal(a[0], b[0]));
}

}  // namespace edgeai::testing
