// Setting a node's attributes in tests that build graphs by hand (kernels/cpu_test_util.h's OpCase,
// passes/pass_test_util.h's GraphBuilder).
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "ir/graph.h"

namespace edgeai::testing {

template <class Set>
void set_attr(ir::Node& n, const std::string& k, ir::AttrType type, Set set) {
  ir::Attribute a;
  a.name = k;
  a.type = type;
  set(a);
  n.attributes[k] = std::move(a);
}
inline void set_attr_i(ir::Node& n, const std::string& k, int64_t v) {
  set_attr(n, k, ir::AttrType::kInt, [&](ir::Attribute& a) { a.i = v; });
}
inline void set_attr_f(ir::Node& n, const std::string& k, float v) {
  set_attr(n, k, ir::AttrType::kFloat, [&](ir::Attribute& a) { a.f = v; });
}
inline void set_attr_s(ir::Node& n, const std::string& k, const std::string& v) {
  set_attr(n, k, ir::AttrType::kString, [&](ir::Attribute& a) { a.s = v; });
}
inline void set_attr_ints(ir::Node& n, const std::string& k, std::vector<int64_t> v) {
  set_attr(n, k, ir::AttrType::kInts, [&](ir::Attribute& a) { a.ints = std::move(v); });
}
inline void set_attr_floats(ir::Node& n, const std::string& k, std::vector<float> v) {
  set_attr(n, k, ir::AttrType::kFloats, [&](ir::Attribute& a) { a.floats = std::move(v); });
}
inline void set_attr_tensor(ir::Node& n, const std::string& k, Tensor t) {
  set_attr(n, k, ir::AttrType::kTensor, [&](ir::Attribute& a) { a.t = std::move(t); });
}

}  // namespace edgeai::testing
