// The com.edgeai QLinearAdd kernel (kernels/cpu/qadd.cc, qgemm_*.cc) against the reference
// QLinearAdd (the oracle, src/kernels/reference/quant.cc): bit-exact on every ISA table this
// machine runs and 1-3 threads, over tails of the 16-value step, sizes past one parallel chunk,
// u8 and s8 outputs, scales that saturate; broadcasting is left to the reference.
#include "kernels/cpu_test_util.h"

namespace edgeai::testing {
namespace {

Tensor random_u8(Shape shape, uint32_t seed) {
  Tensor t = Tensor::create(DType::kU8, std::move(shape)).value();
  std::mt19937 rng(seed);
  for (int64_t i = 0; i < t.numel(); ++i) t.data<uint8_t>()[i] = static_cast<uint8_t>(rng());
  return t;
}

Tensor f32_scalar(float v) { return Tensor::from_vector<float>(DType::kF32, {}, {v}); }
Tensor u8_scalar(int v) { return Tensor::from_vector<uint8_t>(DType::kU8, {}, {static_cast<uint8_t>(v)}); }
Tensor i8_scalar(int v) { return Tensor::from_vector<int8_t>(DType::kI8, {}, {static_cast<int8_t>(v)}); }

OpCase qadd_case(Shape a, Shape b, uint32_t seed, float sc, bool i8_out) {
  OpCase c = OpCase::single("QLinearAdd", "com.edgeai");
  c.input(random_u8(a, seed));
  c.constant(f32_scalar(0.037f));
  c.constant(u8_scalar(static_cast<int>(seed % 256)));
  c.input(random_u8(b, seed + 1));
  c.constant(f32_scalar(0.0213f));
  c.constant(u8_scalar(static_cast<int>((seed * 7) % 256)));
  c.constant(f32_scalar(sc));
  c.constant(i8_out ? i8_scalar(-5) : u8_scalar(121));
  return c;
}

TEST(Int8QAdd, MatchesReferenceBitExact) {
  uint32_t seed = 3;
  for (Shape shape : std::vector<Shape>{{1}, {15}, {16}, {17}, {2, 3, 5, 7}, {1, 24, 56, 56}, {1, 3, 150, 301}, {0, 4}}) {
    for (float sc : {0.05f, 0.0101f, 1e-4f, 1e-7f}) {  // 1e-7: past QAddArgs::bounded
      for (bool i8_out : {false, true}) {
        for (bool relu : {false, true}) {
          SCOPED_TRACE(shape_str(shape) + " sc=" + std::to_string(sc) + (i8_out ? " s8" : " u8") + (relu ? " relu" : ""));
          OpCase c = qadd_case(shape, shape, seed += 5, sc, i8_out);
          if (relu) c.attr_i("relu", 1);
          expect_matches_reference(c, 0.0, 0.0);
        }
      }
    }
  }
}

// The unfused float steps give the same bytes: QLinearAdd against DQ, DQ -> Add -> Q run by the
// reference kernels (the graph it replaces).
// With relu = 1 the graph it replaces is DQ, DQ -> Add -> Relu -> Q.
TEST(Int8QAdd, EqualsDequantizeAddQuantize) {
  for (uint32_t seed : {1u, 2u, 3u, 4u, 5u, 6u}) {
    const bool relu = seed > 3;
    OpCase c = qadd_case({1, 8, 13, 11}, {1, 8, 13, 11}, seed, 0.03f, false);
    if (relu) c.attr_i("relu", 1);
    OpCase r = OpCase::single("DequantizeLinear");  // placeholder replaced below
    r.nodes.clear();
    r.feeds = c.feeds;
    r.constants = c.constants;
    r.outputs = c.outputs;
    auto name = [&](int i) { return c.nodes[0].inputs[i]; };
    auto node = [&](const std::string& op, std::vector<std::string> in, std::string out) {
      ir::Node n;
      n.op_type = op;
      n.inputs = std::move(in);
      n.outputs = {std::move(out)};
      r.nodes.push_back(std::move(n));
    };
    node("DequantizeLinear", {name(0), name(1), name(2)}, "fa");
    node("DequantizeLinear", {name(3), name(4), name(5)}, "fb");
    node("Add", {"fa", "fb"}, "s");
    if (relu) node("Relu", {"s"}, "r");
    node("QuantizeLinear", {relu ? "r" : "s", name(6), name(7)}, c.nodes[0].outputs[0]);
    expect_matches_reference(c, 0.0, 0.0, &r);
  }
}

TEST(Int8QAdd, BroadcastAndHostileLeftToReference) {
  // Broadcasting: the fast kernel falls back at run time; results still equal the reference.
  expect_matches_reference(qadd_case({2, 4, 5, 6}, {1, 4, 1, 1}, 9, 0.03f, false), 0.0, 0.0);
  OpCase c = qadd_case({4, 4}, {4, 4}, 1, 0.03f, false);
  c.constants[4].second = f32_scalar(0.f);  // C_scale 0
  EXPECT_FALSE(fast_kernel_takes(c));
  OpCase d = qadd_case({4, 4}, {4, 4}, 1, 0.03f, false);
  d.constants[1].second = i8_scalar(0);  // A_zp of the wrong dtype
  EXPECT_FALSE(fast_kernel_takes(d));
}

}  // namespace
}  // namespace edgeai::testing
