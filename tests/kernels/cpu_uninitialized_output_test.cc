// The fast f32 kernels allocate their outputs without zeroing them (allocate_output_uninitialized),
// so each must write every element. Oracle: the reference kernel. Each session runs twice on one
// arena; between runs every free arena block is filled with NaN, so an element the second run
// does not write stays NaN and fails the comparison.
#include <limits>

#include "kernels/cpu_test_util.h"

namespace edgeai::testing {
namespace {

// Fills every block the arena holds free with NaN (allocates them all, then releases them).
void poison_free_blocks(Arena& arena, const std::vector<int64_t>& sizes) {
  std::vector<Tensor> held;
  for (int64_t n : sizes) {
    for (int i = 0; i < 4; ++i) {
      Tensor t = Tensor::create_uninitialized(DType::kF32, {n}, std::shared_ptr<Allocator>(&arena, [](Allocator*) {}))
                     .value();
      for (int64_t j = 0; j < n; ++j) t.data<float>()[j] = std::numeric_limits<float>::quiet_NaN();
      held.push_back(t);
    }
  }
}

// Runs case `c` twice in one session (fast kernels, `threads`) with the free blocks poisoned
// before the second run; its output must match the reference.
void expect_writes_every_element(const OpCase& c, int threads) {
  ASSERT_TRUE(fast_kernel_takes(c)) << c.nodes[0].op_type;
  const auto g = c.graph();
  const std::vector<Tensor> want = run_case(g, c, detect_cpu_features(), 1, true);
  ASSERT_FALSE(want.empty());
  Env env;
  env.cpu = detect_cpu_features();
  env.pool = std::make_unique<ThreadPool>(threads);
  auto arena = std::make_shared<Arena>();
  env.arena = arena;
  runtime::SessionOptions so;
  so.optimize = false;
  auto s = runtime::Session::create(g, env, so);
  ASSERT_TRUE(s.ok()) << s.status().message();
  std::vector<runtime::NamedValue> feeds;
  for (const auto& [name, t] : c.feeds) feeds.push_back({name, runtime::Value::of(t)});
  ASSERT_TRUE((*s)->run(feeds).ok());
  poison_free_blocks(*arena, {want[0].numel()});
  auto outs = (*s)->run(feeds);
  ASSERT_TRUE(outs.ok()) << outs.status().message();
  EXPECT_TRUE(close((*outs)[0].tensor, want[0], 1e-5, 1e-5)) << c.nodes[0].op_type;
}

OpCase conv(int64_t c, int64_t h, int64_t w, int64_t m, int64_t k, int64_t stride, int64_t group) {
  OpCase o = OpCase::single("Conv");
  o.input(random_tensor({1, c, h, w}, 1)).constant(random_tensor({m, c / group, k, k}, 2));
  o.constant(random_tensor({m}, 3));
  o.attr_ints("strides", {stride, stride}).attr_ints("pads", {k / 2, k / 2, k / 2, k / 2}).attr_i("group", group);
  return o;
}

TEST(CpuUninitializedOutput, EveryKernelWritesEveryElement) {
  std::vector<OpCase> cases = {
      conv(16, 13, 11, 35, 1, 1, 1),   // pointwise
      conv(5, 17, 15, 19, 3, 2, 1),    // im2col, stride 2
      conv(16, 18, 18, 24, 3, 1, 1),   // Winograd
      conv(21, 30, 30, 21, 3, 1, 21),  // depthwise, row planes
      conv(19, 9, 7, 19, 5, 2, 19),    // depthwise, small planes
  };
  OpCase gemm = OpCase::single("Gemm");
  gemm.input(random_tensor({7, 33}, 4)).constant(random_tensor({33, 29}, 5)).constant(random_tensor({29}, 6));
  cases.push_back(gemm);
  OpCase matmul = OpCase::single("MatMul");
  matmul.input(random_tensor({3, 9, 17}, 7)).input(random_tensor({3, 17, 13}, 8));
  cases.push_back(matmul);
  OpCase add = OpCase::single("Add");
  add.input(random_tensor({2, 5, 7, 9}, 9)).input(random_tensor({5, 1, 9}, 10));
  cases.push_back(add);
  OpCase sigmoid = OpCase::single("Sigmoid");
  sigmoid.input(random_tensor({3, 333}, 11));
  cases.push_back(sigmoid);
  OpCase pool = OpCase::single("MaxPool");
  pool.input(random_tensor({1, 3, 15, 13}, 12)).attr_ints("kernel_shape", {3, 3}).attr_ints("strides", {2, 2});
  cases.push_back(pool);
  OpCase gap = OpCase::single("GlobalAveragePool");
  gap.input(random_tensor({2, 37, 5, 5}, 13));
  cases.push_back(gap);
  OpCase softmax = OpCase::single("Softmax");
  softmax.input(random_tensor({6, 21}, 14));
  cases.push_back(softmax);
  OpCase ln = OpCase::single("LayerNormalization");
  ln.input(random_tensor({5, 24}, 15)).constant(random_tensor({24}, 16)).constant(random_tensor({24}, 17));
  cases.push_back(ln);
  for (const OpCase& c : cases) {
    for (int threads : {1, 2}) {
      SCOPED_TRACE(c.nodes[0].op_type + " threads " + std::to_string(threads));
      expect_writes_every_element(c, threads);
    }
  }
}

}  // namespace
}  // namespace edgeai::testing
