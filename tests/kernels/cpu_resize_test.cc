// The f32 Resize / Upsample kernel (kernels/cpu/resize.cc) against the reference kernel (the
// oracle, itself checked against the ONNX backend tests' numpy outputs): nearest (every nearest
// mode), linear and cubic with each coordinate transformation, up and down, odd sizes, scales and
// sizes, antialias, exclude_outside, tf_crop_and_resize with its extrapolation, ranks 1-5, and
// resizes of outer axes (the reference then runs), on every ISA table and 1-3 threads.
#include "kernels/cpu_test_util.h"

namespace edgeai::testing {
namespace {

Tensor floats(const std::vector<float>& v) {
  return Tensor::from_vector<float>(DType::kF32, {static_cast<int64_t>(v.size())}, v);
}
Tensor ints(const std::vector<int64_t>& v) {
  return Tensor::from_vector<int64_t>(DType::kI64, {static_cast<int64_t>(v.size())}, v);
}

struct ResizeCase {
  Shape x;
  std::string mode, coord;
  std::vector<float> scales;   // or
  std::vector<int64_t> sizes;
  std::string nearest_mode = "round_prefer_floor";
  bool antialias = false, exclude_outside = false;
  std::vector<float> roi;  // tf_crop_and_resize
};

OpCase make(const ResizeCase& rc, uint32_t seed) {
  OpCase c = OpCase::single("Resize");
  c.opset = 19;
  c.input(random_tensor(rc.x, seed, -2.0f, 2.0f));
  if (rc.roi.empty()) c.absent();
  else c.constant(floats(rc.roi));
  if (rc.scales.empty()) c.absent().constant(ints(rc.sizes));
  else c.constant(floats(rc.scales));
  c.attr_s("mode", rc.mode).attr_s("coordinate_transformation_mode", rc.coord);
  if (!rc.nearest_mode.empty()) c.attr_s("nearest_mode", rc.nearest_mode);
  if (rc.antialias) c.attr_i("antialias", 1);
  if (rc.exclude_outside) c.attr_i("exclude_outside", 1);
  if (!rc.roi.empty()) c.attr_f("extrapolation_value", 7.5f);
  return c;
}

std::string describe(const ResizeCase& rc) {
  std::string s = rc.mode + " " + rc.coord + " " + shape_str(rc.x);
  if (!rc.sizes.empty()) s += " sizes " + shape_str(rc.sizes);
  for (float f : rc.scales) s += " " + std::to_string(f);
  if (rc.mode == "nearest") s += " " + rc.nearest_mode;
  if (rc.antialias) s += " antialias";
  if (rc.exclude_outside) s += " exclude_outside";
  return s;
}

TEST(CpuResize, InterpolationMatchesReference) {
  std::vector<ResizeCase> cases;
  for (const std::string mode : {"linear", "cubic"}) {
    for (const std::string coord : {"half_pixel", "pytorch_half_pixel", "align_corners", "asymmetric",
                                    "half_pixel_symmetric"}) {
      cases.push_back({{1, 3, 7, 9}, mode, coord, {1, 1, 2, 2}});        // 2x up (an FPN / U-Net upsample)
      cases.push_back({{2, 2, 13, 11}, mode, coord, {}, {2, 2, 5, 17}});  // down rows, up columns
    }
    cases.push_back({{1, 4, 33, 20}, mode, "half_pixel", {1, 1, 0.5f, 0.3f}});
    cases.push_back({{1, 2, 64, 70}, mode, "half_pixel", {1, 1, 2, 2}});  // threaded: bands of rows per plane
    cases.push_back({{1, 2, 16, 16}, mode, "half_pixel", {}, {1, 2, 7, 5}, "", true});         // antialias down
    cases.push_back({{1, 2, 9, 10}, mode, "half_pixel", {1, 1, 1.7f, 2.3f}, {}, "", false, true});  // exclude_outside
    cases.push_back({{1, 1, 1, 1}, mode, "half_pixel", {1, 1, 3, 4}});   // one pixel
    cases.push_back({{5, 8}, mode, "align_corners", {}, {11, 3}});      // rank 2
    cases.push_back({{17}, mode, "asymmetric", {}, {40}});              // rank 1
    cases.push_back({{1, 2, 3, 6, 5}, mode, "half_pixel", {1, 1, 1, 2, 1}});  // rank 5, rows only
    cases.push_back({{1, 3, 6, 5}, mode, "half_pixel", {1, 1, 1, 3}});        // columns only
    cases.push_back({{1, 2, 8, 7}, mode, "tf_crop_and_resize", {}, {1, 2, 9, 6}, "", false, false,
                     {0, 0, 0.2f, -0.3f, 1, 1, 1.1f, 0.8f}});  // some points outside the roi
    cases.push_back({{2, 3, 4, 5}, mode, "half_pixel", {}, {2, 5, 4, 5}});  // channels resized: reference
  }
  uint32_t seed = 900;
  for (const ResizeCase& rc : cases) {
    SCOPED_TRACE(describe(rc));
    expect_matches_reference(make(rc, seed++), 2e-5, 2e-6);
  }
}

TEST(CpuResize, NearestMatchesReferenceExactly) {
  std::vector<ResizeCase> cases;
  for (const std::string nm : {"round_prefer_floor", "round_prefer_ceil", "floor", "ceil"}) {
    cases.push_back({{1, 3, 7, 9}, "nearest", "asymmetric", {1, 1, 2, 2}, {}, nm});
    cases.push_back({{2, 2, 13, 11}, "nearest", "half_pixel", {}, {2, 2, 5, 17}, nm});
    cases.push_back({{1, 2, 5, 4}, "nearest", "tf_half_pixel_for_nn", {1, 1, 1.5f, 3}, {}, nm});
  }
  cases.push_back({{1, 3, 40, 40}, "nearest", "asymmetric", {1, 1, 2, 2}, {}, "floor"});  // threaded rows
  cases.push_back({{2, 3, 4, 5}, "nearest", "asymmetric", {}, {3, 6, 4, 5}, "floor"});     // batch, channels
  cases.push_back({{1, 2, 6, 5}, "nearest", "asymmetric", {1, 1, 2, 1}, {}, "floor"});    // rows copied whole
  cases.push_back({{9}, "nearest", "align_corners", {}, {4}, "round_prefer_ceil"});
  cases.push_back({{1, 2, 8, 7}, "nearest", "tf_crop_and_resize", {}, {1, 2, 9, 6}, "floor", false, false,
                   {0, 0, 0.2f, -0.3f, 1, 1, 1.1f, 0.8f}});
  uint32_t seed = 950;
  for (const ResizeCase& rc : cases) {
    SCOPED_TRACE(describe(rc));
    expect_matches_reference(make(rc, seed++), 0, 0);
  }
}

// Upsample (opsets 7-9): its scales input (9) or attribute (7-8).
TEST(CpuResize, UpsampleMatchesReference) {
  for (const std::string mode : {"nearest", "linear"}) {
    SCOPED_TRACE(mode);
    OpCase c = OpCase::single("Upsample");
    c.opset = 9;
    c.input(random_tensor({1, 2, 5, 6}, 77, -1.0f, 1.0f)).constant(floats({1, 1, 2, 3}));
    c.attr_s("mode", mode);
    expect_matches_reference(c, 2e-5, 2e-6);
    OpCase a = OpCase::single("Upsample");
    a.opset = 8;
    a.input(random_tensor({1, 1, 4, 3}, 78, -1.0f, 1.0f));
    a.attr_s("mode", mode).attr_floats("scales", {1, 1, 3, 2});
    expect_matches_reference(a, 2e-5, 2e-6);
  }
}

// Bad nodes fail in the fast session as they do in the reference one, with a Status.
TEST(CpuResize, BadNodesFailCleanly) {
  OpCase both = OpCase::single("Resize");
  both.opset = 19;
  both.input(random_tensor({1, 1, 4, 4}, 1)).absent().constant(floats({1, 1, 2, 2})).constant(ints({1, 1, 8, 8}));
  EXPECT_FALSE(fast_session_runs(both));
  OpCase neg = OpCase::single("Resize");
  neg.opset = 19;
  neg.input(random_tensor({1, 1, 4, 4}, 2)).absent().constant(floats({1, 1, -2, 2}));
  EXPECT_FALSE(fast_session_runs(neg));
  OpCase rank = OpCase::single("Resize");
  rank.opset = 19;
  rank.input(random_tensor({1, 1, 4, 4}, 3)).absent().constant(floats({2, 2}));
  EXPECT_FALSE(fast_session_runs(rank));
  OpCase mode = OpCase::single("Resize");
  mode.opset = 19;
  mode.input(random_tensor({1, 1, 4, 4}, 4)).absent().constant(floats({1, 1, 2, 2}));
  mode.attr_s("mode", "lanczos");
  EXPECT_FALSE(fast_session_runs(mode));
}

}  // namespace
}  // namespace edgeai::testing
