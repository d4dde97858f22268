// AveragePool 2x2 at stride 2 without padding straight from the input rows (window_impl.h,
// avg_plane_s2) against the reference: widths around one, two and four vectors (the 1, 2 and 4
// vector groups and their tails), odd sizes (the last row and column unread), densenet's
// transition shapes, count_include_pad either way (no pads: the same), batches; and the cases
// that keep the phase-plane kernel (pads, ceil_mode, stride 1). Every ISA table, 1-3 threads.
#include "kernels/cpu_test_util.h"

namespace edgeai::testing {
namespace {

TEST(CpuAvgPoolS2, MatchesReference) {
  struct P {
    Shape x;
    std::vector<int64_t> strides = {2, 2};
    std::vector<int64_t> pads = {0, 0, 0, 0};
    int64_t ceil = 0, count_pad = 0;
  };
  const std::vector<P> ps = {
      {{1, 8, 56, 56}},                        // densenet's first transition (128 channels there)
      {{1, 4, 28, 28}, {2, 2}, {0, 0, 0, 0}, 0, 1},
      {{2, 3, 17, 23}},                        // odd: the last row and column are not read
      {{1, 2, 9, 32}},                         // 16 outputs a row: one AVX-512 vector
      {{1, 2, 9, 34}},                         // 17: a tail
      {{1, 2, 5, 66}},                         // 33: past two vectors
      {{1, 2, 5, 130}},                        // 65: 4-vector groups and a tail
      {{1, 3, 16, 16}, {2, 2}, {1, 1, 1, 1}},  // pads: the phase-plane kernel
      {{1, 3, 15, 15}, {2, 2}, {0, 0, 0, 0}, 1},  // ceil_mode: idem
      {{1, 3, 16, 16}, {1, 1}},                // stride 1: idem
  };
  uint32_t seed = 70;
  for (const P& p : ps) {
    SCOPED_TRACE(shape_str(p.x) + " strides " + shape_str(p.strides) + " pads " + shape_str(p.pads) +
                 (p.ceil ? " ceil" : "") + (p.count_pad ? " count_include_pad" : ""));
    OpCase c = OpCase::single("AveragePool");
    c.input(random_tensor(p.x, seed++, -2.0f, 2.0f));
    c.attr_ints("kernel_shape", {2, 2}).attr_ints("strides", p.strides).attr_ints("pads", p.pads);
    if (p.ceil) c.attr_i("ceil_mode", 1);
    if (p.count_pad) c.attr_i("count_include_pad", 1);
    expect_matches_reference(c, 1e-6, 1e-7);
  }
}

}  // namespace
}  // namespace edgeai::testing
