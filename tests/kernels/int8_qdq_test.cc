// The per-tensor QuantizeLinear / DequantizeLinear and the DynamicQuantizeLinear kernels (kernels/cpu/qdq.cc, the loops of
// qgemm_*.cc) against the reference kernels (the oracle, src/kernels/reference/quant.cc): bit-exact
// on every ISA table this machine runs and 1-3 threads, u8 and s8, tails of the 16-value step and
// of the 2^15-element chunks the threads share (a 224 x 224 x 3 model input is 4.6 chunks).
#include <cmath>
#include <limits>

#include "kernels/cpu_test_util.h"

namespace edgeai::testing {
namespace {

Tensor zero_point(DType t, int v) {
  Tensor z = Tensor::create(t, {}).value();
  if (t == DType::kU8) z.data<uint8_t>()[0] = static_cast<uint8_t>(v);
  else z.data<int8_t>()[0] = static_cast<int8_t>(v);
  return z;
}

Tensor scalar(float v) {
  Tensor t = Tensor::create(DType::kF32, {}).value();
  t.data<float>()[0] = v;
  return t;
}

const std::vector<Shape> kShapes = {{1}, {15}, {17}, {3, 5, 7}, {32768}, {32769}, {1, 3, 224, 224}, {2, 0, 3}};

TEST(Int8Qdq, QuantizeMatchesReferenceBitExact) {
  uint32_t seed = 3;
  for (DType t : {DType::kU8, DType::kI8}) {
    for (const Shape& shape : kShapes) {
      SCOPED_TRACE(std::string(dtype_name(t)) + " " + shape_str(shape));
      Tensor x = random_tensor(shape, ++seed, -4.f, 4.f);
      if (x.numel() > 40) {  // saturation both ways, NaN, infinities, halves
        x.data<float>()[0] = 1e9f;
        x.data<float>()[1] = -1e9f;
        x.data<float>()[2] = std::nanf("");
        x.data<float>()[3] = std::numeric_limits<float>::infinity();
        x.data<float>()[x.numel() - 1] = -std::numeric_limits<float>::infinity();
        x.data<float>()[5] = 0.025f * 3.5f;
      }
      OpCase c = OpCase::single("QuantizeLinear");
      c.input(x).constant(scalar(0.025f)).constant(zero_point(t, t == DType::kU8 ? 131 : -7));
      EXPECT_TRUE(fast_kernel_takes(c));
      expect_matches_reference(c, 0.0, 0.0);
    }
  }
}

TEST(Int8Qdq, DequantizeMatchesReferenceBitExact) {
  uint32_t seed = 9;
  for (DType t : {DType::kU8, DType::kI8}) {
    for (const Shape& shape : kShapes) {
      SCOPED_TRACE(std::string(dtype_name(t)) + " " + shape_str(shape));
      OpCase c = OpCase::single("DequantizeLinear");
      c.input(random_bytes(t, shape, ++seed)).constant(scalar(0.0371f)).constant(zero_point(t, t == DType::kU8 ? 119 : 5));
      EXPECT_TRUE(fast_kernel_takes(c));
      expect_matches_reference(c, 0.0, 0.0);
    }
  }
}

// DynamicQuantizeLinear (the dynamic mode's activations): y, scale and zero point bit-exact with
// the reference's: NaNs skipped by the range and quantized to the zero point, all-positive and
// all-negative inputs (0 in the range), all zeros (scale 0), halves; an infinity is reported.
TEST(Int8Qdq, DynamicQuantizeMatchesReferenceBitExact) {
  uint32_t seed = 40;
  for (const Shape& shape : kShapes) {
    for (int kind = 0; kind < 4; ++kind) {
      SCOPED_TRACE(shape_str(shape) + " kind " + std::to_string(kind));
      Tensor x = random_tensor(shape, ++seed, kind == 1 ? 0.5f : -3.f, kind == 2 ? -0.25f : 5.f);
      if (kind == 3) {
        for (int64_t i = 0; i < x.numel(); ++i) x.data<float>()[i] = 0.f;
      }
      if (kind == 0 && x.numel() > 40) {
        x.data<float>()[0] = std::nanf("");
        x.data<float>()[x.numel() - 1] = std::nanf("");
        x.data<float>()[7] = -0.f;
        x.data<float>()[x.numel() / 2] = 9.5f;  // the largest, in the middle of the chunks
      }
      OpCase c = OpCase::single("DynamicQuantizeLinear");
      c.node().outputs = {"y", "y_scale", "y_zp"};
      c.outputs = c.node().outputs;
      c.input(x);
      expect_matches_reference(c, 0.0, 0.0);
    }
  }
  Tensor x = random_tensor({100}, 5);
  x.data<float>()[10] = std::numeric_limits<float>::infinity();
  OpCase c = OpCase::single("DynamicQuantizeLinear");
  c.node().outputs = {"y", "y_scale", "y_zp"};
  c.outputs = c.node().outputs;
  c.input(x);
  EXPECT_FALSE(fast_session_runs(c));
}

}  // namespace
}  // namespace edgeai::testing
