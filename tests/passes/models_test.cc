// The graph passes on the real models of bench/export_models.py (torchvision CNNs, an MLP and a
// transformer encoder): the optimized session's outputs equal the unoptimized one's (reference
// kernels) within rtol 1e-5 of the output's magnitude, and the fusions happened.
// The models are exported by scripts/check_models.sh into $EDGEAI_MODEL_CACHE (default
// build/models); the test skips a model that is not there.
#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "formats/onnx/onnx_import.h"
#include "passes/passes.h"
#include "pass_test_util.h"

namespace edgeai::testing {
namespace {

std::string find_model(const std::string& name) {
  std::vector<std::string> dirs;
  if (const char* c = std::getenv("EDGEAI_MODEL_CACHE")) dirs.push_back(c);
  dirs.push_back(std::string(EDGEAI_SOURCE_DIR) + "/build/models");
  dirs.push_back("/tmp/models");
  for (const auto& d : dirs) {
    std::string p = d + "/" + name + ".onnx";
    if (std::filesystem::exists(p)) return p;
  }
  return {};
}

// mobilenet_v2 exported with its BatchNormalization nodes kept (torch.onnx folds them by
// default), random BN statistics as bench/export_models.py sets them: the BN-folding case on a
// real model. Exported here with python3-torch when missing (a few seconds, cached).
std::string mobilenet_with_batch_norm() {
  std::string p = find_model("mobilenet_v2_bn");
  if (!p.empty()) return p;
  const char* c = std::getenv("EDGEAI_MODEL_CACHE");
  const std::string dir = c ? c : std::string(EDGEAI_SOURCE_DIR) + "/build/models";
  if (!std::filesystem::exists("/usr/bin/python3") || !std::filesystem::is_directory(dir)) return {};
  p = dir + "/mobilenet_v2_bn.onnx";
  const std::string script = dir + "/export_mobilenet_v2_bn.py";
  {
    std::ofstream f(script);
    f << "import sys, torch, torchvision\n"
         "torch.manual_seed(0)\n"
         "m = torchvision.models.mobilenet_v2(weights=None).eval()\n"
         "for mod in m.modules():\n"
         "    if isinstance(mod, torch.nn.BatchNorm2d):\n"
         "        with torch.no_grad():\n"
         "            mod.running_mean.normal_(0, 0.1); mod.running_var.uniform_(0.5, 1.5)\n"
         "            mod.weight.uniform_(0.5, 1.5); mod.bias.normal_(0, 0.1)\n"
         "torch.onnx.export(m, torch.randn(1, 3, 224, 224), sys.argv[1] + '.tmp', opset_version=13,\n"
         "                  input_names=['input'], output_names=['output'], do_constant_folding=False,\n"
         "                  training=torch.onnx.TrainingMode.PRESERVE)\n";
  }
  const std::string cmd = "/usr/bin/python3 " + script + " " + p + " > /dev/null 2>&1 && mv " + p + ".tmp " + p;
  if (std::system(cmd.c_str()) != 0 || !std::filesystem::exists(p)) return {};
  return p;
}

struct ModelRun {
  ir::Graph original;
  ir::Graph optimized;
};

// Loads `name`, checks the outputs with and without the passes, and returns both graphs.
std::unique_ptr<ModelRun> check_model(const std::string& name) {
  std::string path = name == "mobilenet_v2_bn" ? mobilenet_with_batch_norm() : find_model(name);
  if (path.empty()) return nullptr;
  auto m = formats::load_onnx(path);
  EXPECT_TRUE(m.ok()) << m.status().message();
  if (!m.ok()) return nullptr;
  auto run = std::make_unique<ModelRun>();
  run->original = *m->graph;
  std::vector<runtime::NamedValue> feeds;
  uint32_t seed = 1;
  for (const auto* in : run->original.feed_inputs()) {
    Shape s;
    for (const auto& d : *in->type.shape) s.push_back(d.known() ? d.value : 1);
    feeds.push_back({in->name, runtime::Value::of(random_tensor(s, seed++))});
  }
  run->optimized = expect_same_outputs(run->original, feeds, 1e-5, 2);
  std::printf("%s: %zu nodes -> %zu\n", name.c_str(), run->original.nodes.size(), run->optimized.nodes.size());
  for (const auto& [op, n] : run->optimized.op_histogram()) std::printf("  %s %d\n", op.c_str(), n);
  return run;
}

// optimize_graph runs fuse_pointwise_depthwise only when OptimizeOptions asks (off by default);
// the counts below hold either way.
bool pwdw_enabled() { return passes::OptimizeOptions{}.fuse_pointwise_depthwise; }

// Convs, counting a FusedPwDwConv as the two convs it holds.
int conv_count(const ir::Graph& g, const std::string& op) { return count_op(g, op) + 2 * count_op(g, "FusedPwDwConv"); }

// fuse_pointwise_depthwise on the optimized graph of `r` (called directly): `blocks` nodes, and
// the outputs still equal the unoptimized graph's (reference kernels; the CPU kernels, conv.cc's
// FusedPwDwConv among them), 2 threads.
void check_pointwise_depthwise(const ModelRun& r, int blocks) {
  ir::Graph g = r.optimized;
  auto n = passes::fuse_pointwise_depthwise(g);
  ASSERT_TRUE(n.ok()) << n.status().message();
  EXPECT_EQ(count_op(g, "FusedPwDwConv"), blocks);
  EXPECT_EQ(g.nodes.size(), r.optimized.nodes.size() - *n);
  // The one depthwise conv left is the first block's, which reads the 3x3 stem conv.
  int depthwise_left = 0;
  for (const auto& node : g.nodes) {
    const ir::Attribute* group = node.attr("group");
    depthwise_left += node.op_type != "FusedPwDwConv" && group && group->i > 1;
  }
  EXPECT_EQ(depthwise_left, 1);
  std::vector<runtime::NamedValue> feeds;
  uint32_t seed = 1;
  for (const auto* in : r.original.feed_inputs()) {
    Shape s;
    for (const auto& d : *in->type.shape) s.push_back(d.known() ? d.value : 1);
    feeds.push_back({in->name, runtime::Value::of(random_tensor(s, seed++))});
  }
  auto env = Env::create(2);
  auto plain = runtime::Session::create(std::make_shared<const ir::Graph>(r.original), *env,
                                        {.optimize = false, .reference_only = true});
  ASSERT_TRUE(plain.ok()) << plain.status().message();
  auto want = (*plain)->run(feeds);
  ASSERT_TRUE(want.ok()) << want.status().message();
  for (bool reference_only : {true, false}) {
    SCOPED_TRACE(reference_only ? "reference kernels" : "cpu kernels");
    auto fused = runtime::Session::create(std::make_shared<const ir::Graph>(g), *env,
                                          {.optimize = false, .reference_only = reference_only});
    ASSERT_TRUE(fused.ok()) << fused.status().message();
    auto got = (*fused)->run(feeds);
    ASSERT_TRUE(got.ok()) << got.status().message();
    ASSERT_EQ(got->size(), want->size());
    for (size_t i = 0; i < want->size(); ++i) {
      const Tensor& x = (*want)[i].tensor;
      double mag = 1e-6;
      for (int64_t k = 0; k < x.numel(); ++k) mag = std::max(mag, std::abs(x.get_double(k)));
      CompareResult c = compare_tensors((*got)[i].tensor, x, 1e-5, 1e-5 * mag);
      EXPECT_TRUE(c.equal) << c.message;
    }
  }
}

TEST(PassesOnModels, MobileNetV2) {
  auto r = check_model("mobilenet_v2");
  if (!r) GTEST_SKIP() << "mobilenet_v2.onnx not exported";
  EXPECT_EQ(count_op(r->optimized, "Clip"), 0);
  EXPECT_EQ(count_op(r->optimized, "Constant"), 0);
  EXPECT_EQ(count_op(r->optimized, "BatchNormalization"), 0);
  // Each Clip fuses into its Conv, and each residual Add (10) into the Conv before it; with
  // fuse_pointwise_depthwise each of the 16 expand convs (features.2..17, both Clip) and the depthwise
  // conv after it are one FusedPwDwConv.
  EXPECT_EQ(count_op(r->optimized, "FusedPwDwConv"), pwdw_enabled() ? 16 : 0);
  EXPECT_EQ(conv_count(r->optimized, "FusedConv"), count_op(r->original, "Clip") + 10);
  EXPECT_EQ(count_op(r->optimized, "Add"), 0);
  EXPECT_LT(r->optimized.nodes.size(), r->original.nodes.size());
}

TEST(PassesOnModels, MobileNetV2WithBatchNorm) {
  auto r = check_model("mobilenet_v2_bn");
  if (!r) GTEST_SKIP() << "mobilenet_v2_bn.onnx not exported (needs python3-torch)";
  EXPECT_EQ(count_op(r->original, "BatchNormalization"), 52);
  EXPECT_EQ(count_op(r->optimized, "BatchNormalization"), 0);
  EXPECT_EQ(count_op(r->optimized, "Clip"), 0);
  EXPECT_EQ(conv_count(r->optimized, "FusedConv"), 45);  // 35 with Clip, 10 with the residual Add
  EXPECT_EQ(count_op(r->optimized, "Conv"), 7);
}

TEST(PassesOnModels, MobileNetV2PointwiseDepthwise) {
  auto r = check_model("mobilenet_v2");
  if (!r) GTEST_SKIP() << "mobilenet_v2.onnx not exported";
  check_pointwise_depthwise(*r, 16);  // features.2..17 (features.1 has no expand conv)
}

TEST(PassesOnModels, ResNet18) {
  auto r = check_model("resnet18");
  if (!r) GTEST_SKIP() << "resnet18.onnx not exported";
  // Every Relu fuses, those after a block's residual Add with the Add (FusedConv's Z).
  EXPECT_EQ(count_op(r->optimized, "FusedConv"), 17);
  EXPECT_EQ(count_op(r->optimized, "Relu"), 0);
  EXPECT_EQ(count_op(r->optimized, "Add"), 0);
}

TEST(PassesOnModels, EfficientNetB0) {
  auto r = check_model("efficientnet_b0");
  if (!r) GTEST_SKIP() << "efficientnet_b0.onnx not exported";
  EXPECT_EQ(count_op(r->optimized, "Sigmoid"), 0);  // SiLU and the SE gates fuse into their Conv
  EXPECT_LT(r->optimized.nodes.size(), r->original.nodes.size());
}

TEST(PassesOnModels, EfficientNetB0PointwiseDepthwise) {
  auto r = check_model("efficientnet_b0");
  if (!r) GTEST_SKIP() << "efficientnet_b0.onnx not exported";
  check_pointwise_depthwise(*r, 15);  // the 16 MBConv blocks but the first (no expand conv)
}

TEST(PassesOnModels, Transformer) {
  auto r = check_model("transformer");
  if (!r) GTEST_SKIP() << "transformer.onnx not exported";
  EXPECT_EQ(count_op(r->optimized, "LayerNormalization"), 8);
  EXPECT_EQ(count_op(r->optimized, "ReduceMean"), 0);
  EXPECT_EQ(count_op(r->optimized, "Constant"), 0);
}

TEST(PassesOnModels, OtherModels) {
  for (const char* name : {"squeezenet1_1", "shufflenet_v2_x1_0", "mlp"}) {
    auto r = check_model(name);
    if (!r) continue;
    EXPECT_LT(r->optimized.nodes.size(), r->original.nodes.size()) << name;
  }
}

}  // namespace
}  // namespace edgeai::testing
