// A KernelContext for unit tests: call a kernel directly on tensors and attributes.
//   TestContext ctx("Gather");
//   ctx.add_input(data).add_input(indices).set_int("axis", 0).set_num_outputs(1);
//   Status st = ctx.run(opset);   // looks the op up in the registry and calls it
//   ctx.output(0) ...
#pragma once

#include <map>
#include <string>
#include <vector>

#include "core/cpu_features.h"
#include "core/thread_pool.h"
#include "ir/op_registry.h"
#include "kernels/kernel.h"

namespace edgeai::testing {

class TestContext final : public kernels::KernelContext {
 public:
  explicit TestContext(std::string op_type, std::string domain = "")
      : op_type_(std::move(op_type)), domain_(std::move(domain)), pool_(1) {}

  TestContext& add_input(Tensor t) {
    inputs_.push_back(kernels::Value::of(std::move(t)));
    present_.push_back(true);
    return *this;
  }
  TestContext& add_absent_input() {
    inputs_.emplace_back();
    present_.push_back(false);
    return *this;
  }
  TestContext& set_int(const std::string& k, int64_t v) { ints_[k] = v; return *this; }
  TestContext& set_float(const std::string& k, float v) { floats_[k] = v; return *this; }
  TestContext& set_string(const std::string& k, std::string v) { strings_[k] = std::move(v); return *this; }
  TestContext& set_ints(const std::string& k, std::vector<int64_t> v) { int_lists_[k] = std::move(v); return *this; }
  TestContext& set_floats(const std::string& k, std::vector<float> v) { float_lists_[k] = std::move(v); return *this; }
  TestContext& set_num_outputs(int n) { outputs_.assign(n, {}); return *this; }

  Status run(int opset = 17) {
    opset_ = opset;
    ir::OpRegistry reg;
    kernels::KernelFn fn = reg.find(domain_, op_type_);
    if (!fn) return unsupported("no kernel for " + op_type_);
    return fn(*this);
  }
  const Tensor& output(int i) const { return outputs_[i].tensor; }
  const kernels::Value& output_value(int i) const { return outputs_[i]; }

  // KernelContext
  int num_inputs() const override { return static_cast<int>(inputs_.size()); }
  bool has_input(int i) const override { return i >= 0 && i < num_inputs() && present_[i]; }
  const Tensor& input(int i) const override { return inputs_[i].tensor; }
  const kernels::Value& input_value(int i) const override { return inputs_[i]; }
  int num_outputs() const override { return static_cast<int>(outputs_.size()); }
  bool is_output_used(int i) const override { return i >= 0 && i < num_outputs(); }
  Result<Tensor*> allocate_output(int i, DType dtype, const Shape& shape) override {
    if (i < 0 || i >= num_outputs()) return internal_error("output index out of range");
    ASSIGN_OR_RETURN(Tensor t, Tensor::create(dtype, shape));
    outputs_[i] = kernels::Value::of(std::move(t));
    return &outputs_[i].tensor;
  }
  void set_output(int i, Tensor t) override { outputs_[i] = kernels::Value::of(std::move(t)); }
  void set_output_value(int i, kernels::Value v) override { outputs_[i] = std::move(v); }
  bool has_attr(std::string_view n) const override {
    std::string k(n);
    return ints_.count(k) || floats_.count(k) || strings_.count(k) || int_lists_.count(k) ||
           float_lists_.count(k);
  }
  int64_t attr_int(std::string_view n, int64_t def) const override {
    auto it = ints_.find(std::string(n));
    return it == ints_.end() ? def : it->second;
  }
  float attr_float(std::string_view n, float def) const override {
    auto it = floats_.find(std::string(n));
    return it == floats_.end() ? def : it->second;
  }
  std::string attr_string(std::string_view n, std::string_view def) const override {
    auto it = strings_.find(std::string(n));
    return it == strings_.end() ? std::string(def) : it->second;
  }
  std::vector<int64_t> attr_ints(std::string_view n) const override {
    auto it = int_lists_.find(std::string(n));
    return it == int_lists_.end() ? std::vector<int64_t>{} : it->second;
  }
  std::vector<float> attr_floats(std::string_view n) const override {
    auto it = float_lists_.find(std::string(n));
    return it == float_lists_.end() ? std::vector<float>{} : it->second;
  }
  std::vector<std::string> attr_strings(std::string_view) const override { return {}; }
  const Tensor* attr_tensor(std::string_view) const override { return nullptr; }
  std::string_view op_type() const override { return op_type_; }
  std::string_view node_name() const override { return "test"; }
  int opset() const override { return opset_; }
  ThreadPool& pool() override { return pool_; }
  const CpuFeatures& cpu() const override { return cpu_; }

 private:
  std::string op_type_, domain_;
  int opset_ = 17;
  std::vector<kernels::Value> inputs_;
  std::vector<bool> present_;
  std::vector<kernels::Value> outputs_{1};
  std::map<std::string, int64_t> ints_;
  std::map<std::string, float> floats_;
  std::map<std::string, std::string> strings_;
  std::map<std::string, std::vector<int64_t>> int_lists_;
  std::map<std::string, std::vector<float>> float_lists_;
  ThreadPool pool_;
  CpuFeatures cpu_;
};

}  // namespace edgeai::testing
