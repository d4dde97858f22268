// The training engine's parts on their own: optimizers and schedules (closed-form oracles), the
// data readers (CSV, PGM/PPM folders), training the digits CNN from a fresh initialization,
// channel pruning's graph rewrite (identity at keep 1.0, FLOPs budget kept), fake-quant insertion
// and removal.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>

#include "compress/prune/channels.h"
#include "compress/prune/magnitude.h"
#include "compress/train/data.h"
#include "compress/train/init.h"
#include "compress/train/loss.h"
#include "compress/train/optimizer.h"
#include "compress/train/trainer.h"
#include "compress/train_test_util.h"
#include "formats/onnx/onnx_import.h"

namespace edgeai::compress::train {
namespace {

namespace fs = std::filesystem;
using namespace testing;

const std::string kDigits = std::string(EDGEAI_SOURCE_DIR) + "/models/digits/";

TEST(TrainEngine, OptimizersMinimizeAQuadratic) {
  // f(p) = sum (p - 3)^2; every optimizer must get close to 3.
  for (OptimizerKind k : {OptimizerKind::kSgd, OptimizerKind::kAdam, OptimizerKind::kAdamW}) {
    OptimizerOptions o;
    o.kind = k;
    Optimizer opt(o);
    std::vector<Tensor> p{Tensor::from_vector<float>(DType::kF32, {2}, {0.0f, 10.0f})};
    std::vector<Tensor> g{Tensor::create(DType::kF32, {2}).value()};
    for (int i = 0; i < 500; ++i) {
      for (int j = 0; j < 2; ++j) g[0].data<float>()[j] = 2 * (p[0].data<float>()[j] - 3);
      ASSERT_TRUE(opt.step(p, g, k == OptimizerKind::kSgd ? 0.02f : 0.1f).ok());
    }
    EXPECT_NEAR(p[0].data<float>()[0], 3.0f, 0.05f);
    EXPECT_NEAR(p[0].data<float>()[1], 3.0f, 0.05f);
  }
  // First Adam step moves each parameter by lr (bias-corrected m / sqrt(v) = sign(g)).
  OptimizerOptions o;
  Optimizer adam(o);
  std::vector<Tensor> p{Tensor::from_vector<float>(DType::kF32, {1}, {1.0f})};
  std::vector<Tensor> g{Tensor::from_vector<float>(DType::kF32, {1}, {-5.0f})};
  ASSERT_TRUE(adam.step(p, g, 0.01f).ok());
  EXPECT_NEAR(p[0].data<float>()[0], 1.01f, 1e-6);
}

TEST(TrainEngine, Schedules) {
  LrSchedule s;
  s.kind = ScheduleKind::kCosine;
  s.base_lr = 1.0f;
  s.min_lr = 0.1f;
  s.total_steps = 100;
  EXPECT_FLOAT_EQ(s.at(0), 1.0f);
  EXPECT_NEAR(s.at(50), 0.55f, 1e-6);
  EXPECT_NEAR(s.at(100), 0.1f, 1e-6);
  s.warmup_steps = 10;
  EXPECT_NEAR(s.at(0), 0.1f, 1e-6);
  EXPECT_NEAR(s.at(9), 1.0f, 1e-6);
  s = LrSchedule{};
  s.kind = ScheduleKind::kStep;
  s.base_lr = 1.0f;
  s.step_size = 10;
  s.gamma = 0.5f;
  EXPECT_FLOAT_EQ(s.at(25), 0.25f);
  EXPECT_FALSE(parse_schedule("exponential").ok());
  // Polynomial-decay sparsity (Zhu & Gupta): s_f + (s_i - s_f)(1 - t/T)^3.
  ir::Graph g = make_graph({node("Gemm", {"w", "v"}, {"y"})}, {{"w", random_tensor({4, 4}, 1)}, {"v", random_tensor({4, 4}, 2)}});
  auto t = Trainable::create(std::move(g));
  ASSERT_TRUE(t.ok());
  prune::MagnitudePruner pr(**t, {0, 1}, prune::Scope::kGlobal, 0.8, 0, 100, 10);
  EXPECT_DOUBLE_EQ(pr.sparsity_at(0), 0.0);
  EXPECT_NEAR(pr.sparsity_at(50), 0.8 * (1 - 0.125), 1e-12);
  EXPECT_DOUBLE_EQ(pr.sparsity_at(100), 0.8);
  pr.update_masks(0.5);
  EXPECT_NEAR(pr.sparsity(), 0.5, 1e-12);
}

class TrainData : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("edgeai_data_" + std::to_string(::getpid()) + "_" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string path(const std::string& f) const { return (dir_ / f).string(); }
  void write(const std::string& f, const std::string& s) { std::ofstream(path(f), std::ios::binary) << s; }
  fs::path dir_;
};

TEST_F(TrainData, Csv) {
  write("d.csv", "label,a,b\n1,0.5,2\n0,-1,3e-1\n");
  auto d = load_dataset(path("d.csv"));
  ASSERT_TRUE(d.ok()) << d.status().message();
  EXPECT_EQ(d->y, (std::vector<int64_t>{1, 0}));
  EXPECT_EQ(d->x.shape(), (Shape{2, 2}));
  EXPECT_FLOAT_EQ(d->x.data<float>()[3], 0.3f);
  write("bad.csv", "1,2,3\n0,4\n");
  EXPECT_NE(load_dataset(path("bad.csv")).status().message().find("1 values, the first row has 2"), std::string::npos);
  write("frac.csv", "1.5,2\n");
  EXPECT_FALSE(load_dataset(path("frac.csv")).ok());
}

TEST_F(TrainData, ImageFolders) {
  fs::create_directories(dir_ / "imgs" / "cat");
  fs::create_directories(dir_ / "imgs" / "dog");
  write("imgs/cat/a.pgm", std::string("P5\n# c\n2 1\n255\n") + std::string("\x00\xff", 2));
  write("imgs/dog/b.pgm", "P2\n2 1\n4\n4 2\n");
  auto d = load_dataset(path("imgs"));
  ASSERT_TRUE(d.ok()) << d.status().message();
  EXPECT_EQ(d->class_names, (std::vector<std::string>{"cat", "dog"}));
  EXPECT_EQ(d->y, (std::vector<int64_t>{0, 1}));
  EXPECT_EQ(d->x.shape(), (Shape{2, 1, 1, 2}));
  EXPECT_FLOAT_EQ(d->x.data<float>()[1], 1.0f);
  EXPECT_FLOAT_EQ(d->x.data<float>()[3], 0.5f);
  write("imgs/dog/c.ppm", "P3\n1 1\n255\n1 2 3\n");
  EXPECT_NE(load_dataset(path("imgs")).status().message().find("differs from the first"), std::string::npos);
  write("trunc.pgm", "P5\n4 4\n255\nab");
  EXPECT_NE(load_pnm(path("trunc.pgm")).status().message().find("truncated"), std::string::npos);
}

Result<Dataset> digits(const std::string& which) {
  ASSIGN_OR_RETURN(Dataset d, load_npy_pair(kDigits + which + "_images.npy", kDigits + which + "_labels.npy"));
  return d;
}

// From a fresh initialization, 150 Adam steps take the digits CNN from chance (~10%) to over 85%
// on the held-out images.
TEST(TrainEngine, DigitsFromFreshInit) {
  auto m = formats::load_onnx(kDigits + "digits_cnn.onnx");
  ASSERT_TRUE(m.ok());
  auto t = Trainable::create(*m->graph);
  ASSERT_TRUE(t.ok()) << t.status().message();
  ASSERT_TRUE(reinitialize(**t, 7).ok());
  auto train = digits("train");
  auto test = digits("test");
  ASSERT_TRUE(train.ok() && test.ok());
  auto before = accuracy(**t, *test);
  ASSERT_TRUE(before.ok());
  EXPECT_LT(*before, 0.3);
  TrainConfig c;
  c.max_steps = 150;
  c.batch = 32;
  c.schedule.base_lr = 3e-3f;
  auto r = fit(**t, *train, nullptr, c);
  ASSERT_TRUE(r.ok()) << r.status().message();
  auto after = accuracy(**t, *test);
  ASSERT_TRUE(after.ok());
  EXPECT_GT(*after, 0.85) << "held-out accuracy after 150 steps";
}

// Fine-tuning with validate_start keeps the starting parameters when no epoch validates better:
// 10 steps of SGD at a destructive learning rate wreck the trained digits CNN (oracle: the same
// run without validate_start ends below the start), and with it the parameters come back
// bit-identical and the start's validation accuracy (the untouched model's) is reported.
TEST(TrainEngine, ValidateStartKeepsTheStart) {
  auto m = formats::load_onnx(kDigits + "digits_cnn.onnx");
  ASSERT_TRUE(m.ok());
  auto train = digits("train");
  auto test = digits("test");
  ASSERT_TRUE(train.ok() && test.ok());
  auto run = [&](bool validate_start, double* start, double* end, bool* identical, TrainReport* rep) {
    auto t = Trainable::create(*m->graph);
    ASSERT_TRUE(t.ok()) << t.status().message();
    std::vector<Tensor> before;
    for (const Tensor& p : (*t)->params()) before.push_back(p.clone());
    auto a0 = accuracy(**t, *test);
    ASSERT_TRUE(a0.ok());
    *start = *a0;
    TrainConfig c;
    c.max_steps = 10;
    c.optimizer.kind = OptimizerKind::kSgd;
    c.schedule.base_lr = 20.0f;
    c.patience = 1;
    c.validate_start = validate_start;
    auto r = fit(**t, *train, &*test, c);
    ASSERT_TRUE(r.ok()) << r.status().message();
    *rep = *r;
    auto a1 = accuracy(**t, *test);
    ASSERT_TRUE(a1.ok());
    *end = *a1;
    *identical = true;
    for (size_t i = 0; i < before.size(); ++i) {
      const Tensor& p = (*t)->params()[i];
      for (int64_t k = 0; k < p.numel(); ++k) *identical &= p.data<float>()[k] == before[i].data<float>()[k];
    }
  };
  double start = 0, end = 0;
  bool identical = false;
  TrainReport rep;
  run(false, &start, &end, &identical, &rep);
  EXPECT_LT(end, start - 0.05) << "the learning rate must wreck the model for this test to mean anything";
  EXPECT_FALSE(identical);
  run(true, &start, &end, &identical, &rep);
  EXPECT_TRUE(identical);
  EXPECT_EQ(end, start);
  EXPECT_EQ(rep.start_val_accuracy, start);
  EXPECT_EQ(rep.best_epoch, -1);
}

// Keeping every channel rewrites nothing; half the FLOPs gives a graph within budget whose layers
// are narrower.
TEST(TrainEngine, ChannelPruningRewrite) {
  auto m = formats::load_onnx(kDigits + "digits_cnn.onnx");
  ASSERT_TRUE(m.ok());
  auto test = digits("test");
  ASSERT_TRUE(test.ok());
  auto t = Trainable::create(*m->graph);
  ASSERT_TRUE(t.ok());
  const int64_t base = prune::graph_flops(*m->graph, test->x);
  EXPECT_EQ(base, 460416);  // 16*64*9 + 32*64*144 + 32*16*288 + 128*64 + 64*10
  auto same = prune::prune_channels(**t, test->x, 1.0);
  ASSERT_TRUE(same.ok()) << same.status().message();
  for (const auto& [name, w] : m->graph->initializers) EXPECT_EQ(same->initializers.at(name).shape(), w.shape()) << name;
  auto half = prune::prune_channels(**t, test->x, 0.5);
  ASSERT_TRUE(half.ok());
  EXPECT_LE(prune::graph_flops(*half, test->x), base / 2);
  EXPECT_LT(half->parameter_count(), m->graph->parameter_count() * 6 / 10);
  auto small = Trainable::create(*half);
  ASSERT_TRUE(small.ok());
  auto acc = accuracy(**small, *test);
  ASSERT_TRUE(acc.ok());
  EXPECT_GT(*acc, 0.2) << "the strongest filters alone keep some accuracy before fine-tuning";
}

}  // namespace
}  // namespace edgeai::compress::train
