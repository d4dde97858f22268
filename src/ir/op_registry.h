// The op registry: one lookup over every op table (the reference kernel families). Owned by the
// session's environment; built once, read-only after.
#pragma once

#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "kernels/kernel.h"

namespace edgeai::ir {

class OpRegistry {
 public:
  // All reference kernel families.
  OpRegistry();
  // Null when no kernel runs this op.
  kernels::KernelFn find(std::string_view domain, std::string_view op_type) const;
  // The optimized CPU kernel entry for this op, or null (see kernels/cpu/registry.h).
  const kernels::KernelEntry* find_fast(std::string_view domain, std::string_view op_type) const;
  void add(const kernels::KernelEntry& e);
  std::vector<std::string> names() const;  // "Add", "com.microsoft.X", sorted

 private:
  static std::string key(std::string_view domain, std::string_view op_type);
  std::unordered_map<std::string, kernels::KernelFn> table_;
  std::unordered_map<std::string, const kernels::KernelEntry*> fast_;
};

}  // namespace edgeai::ir
