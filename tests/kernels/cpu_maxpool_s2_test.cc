// MaxPool with column stride 2 straight from the input rows (window_impl.h, max_plane_s2) against
// the reference: 2x2 and 3x3 windows, widths around one, two and four vectors (the 1, 2 and 4
// vector groups and their tails), pads on either side and ceil_mode (windows across the borders,
// computed again from the taps inside), row strides 1 to 3, batches, and all-negative inputs so
// that a border lane loaded as zero would show. Every ISA table, 1-3 threads.
#include "kernels/cpu_test_util.h"

namespace edgeai::testing {
namespace {

TEST(CpuMaxPoolS2, MatchesReference) {
  struct P {
    Shape x;
    int64_t k, sh;
    std::vector<int64_t> pads;
    int64_t ceil = 0;
  };
  const std::vector<P> ps = {
      {{1, 3, 111, 111}, 3, 2, {0, 0, 0, 0}, 1},  // squeezenet's first pool (ceil_mode)
      {{1, 5, 27, 27}, 3, 2, {0, 0, 0, 0}, 1},    // its last: 13 outputs a row
      {{1, 2, 112, 112}, 3, 2, {1, 1, 1, 1}},     // resnet's: pads on both sides
      {{2, 3, 33, 31}, 3, 2, {0, 1, 0, 1}},       // pads on the right only
      {{1, 2, 9, 65}, 3, 2, {1, 0, 0, 0}},        // 32 outputs a row, pad top
      {{1, 2, 7, 67}, 3, 2, {0, 0, 0, 0}, 1},     // 33 outputs: a tail past 2 vectors, ceil
      {{1, 2, 11, 130}, 3, 1, {1, 1, 1, 1}},      // row stride 1
      {{1, 2, 13, 129}, 3, 3, {1, 2, 1, 2}},      // row stride 3, wide pads, 4-vector groups
      {{1, 3, 10, 64}, 2, 2, {0, 0, 0, 0}},       // 2x2
      {{2, 2, 9, 35}, 2, 2, {0, 0, 0, 0}, 1},     // 2x2 ceil: the last column's window half out
      {{1, 2, 6, 5}, 3, 2, {1, 1, 1, 1}},         // tiny: every window on a border
  };
  uint32_t seed = 60;
  for (const P& p : ps) {
    for (bool negative : {false, true}) {
      SCOPED_TRACE(shape_str(p.x) + " k" + std::to_string(p.k) + " sh" + std::to_string(p.sh) +
                   (p.ceil ? " ceil" : "") + (negative ? " negative" : ""));
      OpCase c = OpCase::single("MaxPool");
      c.input(random_tensor(p.x, seed++, negative ? -3.0f : -1.0f, negative ? -0.5f : 1.0f));
      c.attr_ints("kernel_shape", {p.k, p.k}).attr_ints("strides", {p.sh, 2}).attr_ints("pads", p.pads);
      if (p.ceil) c.attr_i("ceil_mode", 1);
      expect_matches_reference(c, 0.0, 0.0);
    }
  }
}

}  // namespace
}  // namespace edgeai::testing
