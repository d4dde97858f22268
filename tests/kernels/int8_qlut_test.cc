// The com.edgeai QLut kernel (kernels/cpu/qlut.cc, the lookups of qgemm_*.cc) against the reference
// QLut (the oracle, src/kernels/reference/fused.cc): bit-exact on every ISA table this machine runs
// and 1-3 threads, for byte and float tables, u8 and s8 inputs, tails of the 64-byte and 16-value
// steps, empty tensors and tensors past one parallel chunk.
#include "kernels/cpu_test_util.h"

namespace edgeai::testing {
namespace {

Tensor table_of(DType dtype, uint32_t seed) {
  if (dtype != DType::kF32) return random_bytes(dtype, {256}, seed);
  Tensor t = random_tensor({256}, seed, -3.f, 3.f);
  t.data<float>()[7] = -0.f;
  t.data<float>()[200] = std::nanf("");
  return t;
}

TEST(Int8QLut, MatchesReferenceBitExact) {
  uint32_t seed = 1;
  for (DType table : {DType::kU8, DType::kI8, DType::kF32}) {
    for (DType x : {DType::kU8, DType::kI8}) {
      for (Shape shape : std::vector<Shape>{{1}, {63}, {64}, {65}, {3, 5, 7}, {1, 16, 17, 19}, {2, 0, 3},
                                            {1, 3, 200, 257}}) {
        SCOPED_TRACE(std::string(dtype_name(table)) + " table, " + std::string(dtype_name(x)) + " x " + shape_str(shape));
        OpCase c = OpCase::single("QLut", "com.edgeai");
        c.input(random_bytes(x, shape, ++seed));
        c.constant(table_of(table, ++seed));
        expect_matches_reference(c, 0.0, 0.0);
      }
    }
  }
}

TEST(Int8QLut, HostileTablesDeclined) {
  for (Shape shape : std::vector<Shape>{{255}, {257}, {16, 16}}) {
    OpCase c = OpCase::single("QLut", "com.edgeai");
    c.input(random_bytes(DType::kU8, {4, 4}, 1));
    c.constant(random_bytes(DType::kU8, shape, 2));
    EXPECT_EQ(fast_kernel_takes(c), (shape == Shape{16, 16})) << shape_str(shape);
  }
  OpCase c = OpCase::single("QLut", "com.edgeai");
  c.input(random_bytes(DType::kU8, {4, 4}, 1));
  c.constant(Tensor::create(DType::kI32, {256}).value());
  EXPECT_FALSE(fast_kernel_takes(c));
}

}  // namespace
}  // namespace edgeai::testing
