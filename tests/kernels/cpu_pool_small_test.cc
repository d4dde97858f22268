// The small-plane 2x2 stride-2 pooling path of kernels/cpu/pool.cc against the reference
// MaxPool / AveragePool: planes up to and past its 64-output limit, odd sizes (the last row and
// column dropped), batches, ceil_mode (windows past the input: the vector kernel), on every ISA
// table and 1-3 threads.
#include "kernels/cpu_test_util.h"

namespace edgeai::testing {
namespace {

TEST(CpuPoolSmall, MatchesReference) {
  const std::vector<Shape> shapes = {
      {1, 20, 8, 8},   // the digits CNN's first pool
      {1, 32, 4, 4},   // its second
      {1, 16, 10, 10}, // LeNet's second
      {2, 3, 9, 7},    // odd: 4x3 outputs
      {1, 5, 17, 16},  // 8x8 = 64 outputs, the limit
      {1, 5, 18, 18},  // 81 outputs: the vector kernel
      {1, 1, 2, 2},    // one window
  };
  uint32_t seed = 40;
  for (const std::string op : {"MaxPool", "AveragePool"}) {
    for (const Shape& x : shapes) {
      for (int ceil = 0; ceil <= (op == "MaxPool" ? 1 : 0); ++ceil) {
        SCOPED_TRACE(op + " " + shape_str(x) + (ceil ? " ceil_mode" : ""));
        OpCase c = OpCase::single(op);
        c.input(random_tensor(x, seed++, -3.0f, 3.0f));
        c.attr_ints("kernel_shape", {2, 2}).attr_ints("strides", {2, 2}).attr_ints("pads", {0, 0, 0, 0});
        if (ceil) c.attr_i("ceil_mode", 1);
        expect_matches_reference(c, 1e-6, 1e-7);
      }
    }
  }
}

}  // namespace
}  // namespace edgeai::testing
