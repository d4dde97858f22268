// The bundled digits CNN against PyTorch: logits within rtol 1e-4 of the logits PyTorch computed
// when scripts/train_digits.py exported the model, and the same held-out accuracy (99.44%).
#include <gtest/gtest.h>

#include "core/compare.h"
#include "formats/onnx/onnx_import.h"
#include "formats/tensor_io/npy.h"
#include "runtime/session.h"

namespace edgeai {
namespace {

const std::string kDir = std::string(EDGEAI_SOURCE_DIR) + "/models/digits/";

TEST(DigitsModel, MatchesPyTorchLogits) {
  auto m = formats::load_onnx(kDir + "digits_cnn.onnx");
  ASSERT_TRUE(m.ok()) << m.status().message();
  std::shared_ptr<const ir::Graph> g(std::move(m->graph));
  auto images = formats::load_npy(kDir + "test_images.npy");
  auto expected = formats::load_npy(kDir + "test_logits_pytorch.npy");
  auto labels = formats::load_npy(kDir + "test_labels.npy");
  ASSERT_TRUE(images.ok() && expected.ok() && labels.ok());
  for (int threads : {1, 2}) {
    auto env = Env::create(threads);
    auto s = runtime::Session::create(g, *env);
    ASSERT_TRUE(s.ok()) << s.status().message();
    auto out = (*s)->run({{"image", runtime::Value::of(*images)}});
    ASSERT_TRUE(out.ok()) << out.status().message();
    const Tensor& logits = (*out)[0].tensor;
    CompareResult c = compare_tensors(logits, *expected, 1e-4, 1e-5);
    EXPECT_TRUE(c.equal) << c.message;
    int correct = 0;
    for (int64_t i = 0; i < logits.dim(0); ++i) {
      const float* p = logits.data<float>() + i * 10;
      int best = static_cast<int>(std::max_element(p, p + 10) - p);
      correct += best == labels->get_int(i);
    }
    EXPECT_EQ(correct, 358) << "PyTorch gets 358 of 360 right";
    // Same inputs, same thread count: bit-identical outputs on a second run.
    auto again = (*s)->run({{"image", runtime::Value::of(*images)}});
    ASSERT_TRUE(again.ok());
    EXPECT_EQ(0, std::memcmp(logits.raw(), (*again)[0].tensor.raw(), logits.nbytes()));
  }
}

}  // namespace
}  // namespace edgeai
