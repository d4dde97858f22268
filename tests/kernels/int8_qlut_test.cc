// The com.edgeai QLut kernel (kernels/cpu/qlut.cc, the lookups of qgemm_*.cc) against the reference
// QLut (the oracle, src/kernels/reference/fused.cc): bit-exact on every ISA table this machine runs
// and 1-3 threads, for byte and float tables, u8 and s8 inputs, tails of the 64-byte and 16-value
// steps, empty tensors and tensors past one parallel chunk.
#include "kernels/cpu/qgemm.h"
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

// Each byte-table lookup this machine runs (portable; AVX-512 with and without VBMI's byte
// permutes, whichever qgemm_for picks) against table[x], over every byte value and tails of the
// 64-byte step.
TEST(Int8QLut, EveryLookupKernelMatchesTheTable) {
  using namespace kernels::cpu;
  std::vector<const QGemmKernels*> tables = {&qgemm_portable()};
#if defined(__x86_64__)
  const CpuFeatures cpu = detect_cpu_features();
  if (cpu.avx512f && cpu.avx512bw && cpu.avx512vl && cpu.avx512_vnni) tables.push_back(&qgemm_avx512vnni());
  if (cpu.avx512f && cpu.avx512bw && cpu.avx512vl && cpu.avx512_vnni && cpu.avx512_vbmi) {
    tables.push_back(&qgemm_avx512vnni_vbmi());
  }
#endif
  const Tensor table = random_bytes(DType::kU8, {256}, 41);
  const uint8_t* t = table.data<uint8_t>();
  for (int64_t n : {1, 63, 64, 65, 256, 1000}) {
    std::vector<uint8_t> x(static_cast<size_t>(n)), y(static_cast<size_t>(n) + 1, 0xab);
    for (int64_t i = 0; i < n; ++i) x[i] = static_cast<uint8_t>((i * 167 + 13) % 256);
    for (const QGemmKernels* k : tables) {
      k->lut_u8(x.data(), n, t, y.data());
      for (int64_t i = 0; i < n; ++i) ASSERT_EQ(y[i], t[x[i]]) << k->name << " n=" << n << " i=" << i;
      EXPECT_EQ(y[n], 0xab) << k->name << ": wrote past n=" << n;
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
