// The com.edgeai QMaxPool kernel (kernels/cpu/qpool.cc) against the reference (the ONNX MaxPool
// reference kernel on bytes, src/kernels/reference/quant.cc): bit-exact at 1-3 threads over odd
// shapes, pads, ceil mode, strides 1-3 (the 16-output stride-2 blocks and their tails), dilation;
// s8 is left to the reference.
#include "kernels/cpu_test_util.h"

namespace edgeai::testing {
namespace {

struct PoolSpec {
  int64_t c, h, w, k, s, pad = 0, dil = 1, ceil = 0;
};

OpCase qpool_case(const PoolSpec& p, uint32_t seed, DType t = DType::kU8) {
  OpCase c = OpCase::single("QMaxPool", "com.edgeai");
  c.input(random_bytes(t, {2, p.c, p.h, p.w}, seed));
  const std::pair<const char*, std::vector<int64_t>> attrs[] = {
      {"kernel_shape", {p.k, p.k}}, {"strides", {p.s, p.s}}, {"pads", {p.pad, p.pad, p.pad, p.pad}}, {"dilations", {p.dil, p.dil}}};
  for (const auto& [name, v] : attrs) c.attr_ints(name, v);
  c.attr_i("ceil_mode", p.ceil);
  return c;
}

TEST(Int8QMaxPool, MatchesReferenceBitExact) {
  const std::vector<PoolSpec> specs = {
      {3, 112, 112, 3, 2, 1},     // resnet's stem pool
      {4, 111, 111, 3, 2, 0, 1, 1},  // squeezenet's, ceil mode
      {2, 13, 13, 3, 2, 0, 1, 1},  // a stride-2 row shorter than one block
      {2, 9, 40, 2, 2},           // 2x2
      {2, 10, 21, 3, 1, 1},       // stride 1
      {2, 17, 23, 3, 3, 1},       // stride 3
      {2, 15, 37, 3, 2, 2, 2},    // dilation 2
      {2, 40, 70, 5, 2, 2, 1, 1}, // 5x5, pads, ceil
      {2, 9, 75, 3, 2, 1},        // stride 2, 38 outputs a row: two blocks and one overlapping the second
      {2, 5, 33, 2, 2},           // stride 2, 16 outputs a row: one block, nothing left
      {3, 27, 27, 3, 2, 0, 1, 1}, // squeezenet's last pool: 13 outputs a row, one block through a copy
      {2, 4, 5, 3, 2, 1},         // 3 outputs a row, the block's loads past the padded row
      {2, 21, 24, 17, 1, 2},      // 17 rows a window: more than the kernel takes in one pass
      {2, 6, 9, 4, 1, 3},         // windows of one row inside the plane, and of none (pads 3 of 4)
  };
  uint32_t seed = 11;
  for (const auto& p : specs) {
    SCOPED_TRACE("qmaxpool " + std::to_string(p.h) + "x" + std::to_string(p.w) + " k=" + std::to_string(p.k) +
                 " s=" + std::to_string(p.s) + " pad=" + std::to_string(p.pad) + " ceil=" + std::to_string(p.ceil));
    expect_matches_reference(qpool_case(p, seed += 3), 0.0, 0.0);
  }
  // s8 runs the reference (the fast kernel's padding of 0 would be wrong there).
  expect_matches_reference(qpool_case({2, 9, 9, 3, 2, 1}, 5, DType::kI8), 0.0, 0.0);
}

}  // namespace
}  // namespace edgeai::testing
