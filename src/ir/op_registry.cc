#include "ir/op_registry.h"

#include <algorithm>

#include "kernels/cpu/registry.h"
#include "kernels/reference/registry.h"

namespace edgeai::ir {

OpRegistry::OpRegistry() {
  using namespace kernels::ref;
  for (auto family : {elementwise_kernels(), reduce_kernels(), tensor_kernels(), nn_kernels(),
                      rnn_kernels(), quant_kernels(), misc_kernels(), fused_kernels()}) {
    for (const auto& e : family) add(e);
  }
  for (const auto& e : kernels::cpu::cpu_kernels()) fast_[key(e.domain, e.op_type)] = &e;
}

const kernels::KernelEntry* OpRegistry::find_fast(std::string_view domain, std::string_view op_type) const {
  auto it = fast_.find(key(domain, op_type));
  return it == fast_.end() ? nullptr : it->second;
}

std::string OpRegistry::key(std::string_view domain, std::string_view op_type) {
  if (domain == "ai.onnx") domain = "";
  std::string k(domain);
  if (!k.empty()) k += '.';
  k += op_type;
  return k;
}

void OpRegistry::add(const kernels::KernelEntry& e) { table_[key(e.domain, e.op_type)] = e.fn; }

kernels::KernelFn OpRegistry::find(std::string_view domain, std::string_view op_type) const {
  auto it = table_.find(key(domain, op_type));
  return it == table_.end() ? nullptr : it->second;
}

std::vector<std::string> OpRegistry::names() const {
  std::vector<std::string> v;
  for (const auto& [k, f] : table_) v.push_back(k);
  for (const auto& [k, e] : fast_) {
    if (!table_.count(k)) v.push_back(k);
  }
  std::sort(v.begin(), v.end());
  return v;
}

}  // namespace edgeai::ir
