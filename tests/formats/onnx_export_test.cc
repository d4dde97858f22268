// ONNX export round trip. Oracles: the imported original model (import -> export -> import must
// give the same graph, re-exported bytes identical, and bit-identical outputs on the same inputs),
// and onnx::checker (a model the checker accepts must still be accepted after the round trip).
#include <gtest/gtest.h>

#include <onnx/onnx_pb.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "core/compare.h"
#include "formats/onnx/onnx_export.h"
#include "formats/onnx/onnx_import.h"
#include "formats/tensor_io/npy.h"
#include "runtime/session.h"

namespace edgeai {
namespace {

namespace fs = std::filesystem;

formats::OnnxExportOptions checked() {
  formats::OnnxExportOptions o;
  o.check = true;
  return o;
}

std::string read_all(const fs::path& p) {
  std::ifstream f(p, std::ios::binary);
  std::ostringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

bool same_values(const std::vector<runtime::Value>& a, const std::vector<runtime::Value>& b) {
  if (a.size() != b.size()) return false;
  auto same = [](const Tensor& x, const Tensor& y) {
    if (x.dtype() != y.dtype() || x.shape() != y.shape()) return false;
    if (x.dtype() == DType::kString) {
      for (int64_t i = 0; i < x.numel(); ++i) {
        if (x.data<std::string>()[i] != y.data<std::string>()[i]) return false;
      }
      return true;
    }
    return x.nbytes() == 0 || std::memcmp(x.raw(), y.raw(), x.nbytes()) == 0;
  };
  for (size_t i = 0; i < a.size(); ++i) {
    if (a[i].kind != b[i].kind) return false;
    if (a[i].kind == runtime::Value::Kind::kTensor && !same(a[i].tensor, b[i].tensor)) return false;
    if (a[i].kind == runtime::Value::Kind::kSequence) {
      if (a[i].sequence.size() != b[i].sequence.size()) return false;
      for (size_t k = 0; k < a[i].sequence.size(); ++k) {
        if (!same(a[i].sequence[k], b[i].sequence[k])) return false;
      }
    }
  }
  return true;
}

TEST(OnnxExport, DigitsRoundTripSameOutputsAndChecker) {
  const std::string dir = std::string(EDGEAI_SOURCE_DIR) + "/models/digits/";
  auto m = formats::load_onnx(dir + "digits_cnn.onnx");
  ASSERT_TRUE(m.ok()) << m.status().message();
  auto bytes = formats::export_onnx_bytes(*m->graph, checked());
  ASSERT_TRUE(bytes.ok()) << bytes.status().message();
  EXPECT_TRUE(formats::check_onnx_bytes(*bytes).ok());
  auto back = formats::load_onnx_from_memory(bytes->data(), bytes->size(), dir);
  ASSERT_TRUE(back.ok()) << back.status().message();
  EXPECT_EQ(back->graph->nodes.size(), m->graph->nodes.size());
  EXPECT_EQ(back->graph->parameter_bytes(), m->graph->parameter_bytes());
  auto again = formats::export_onnx_bytes(*back->graph);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(*again, *bytes) << "export(import(export(g))) differs from export(g)";

  auto images = formats::load_npy(dir + "test_images.npy");
  ASSERT_TRUE(images.ok());
  auto env = Env::create(1);
  std::vector<std::vector<runtime::Value>> outs;
  for (auto* g : {&m->graph, &back->graph}) {
    auto s = runtime::Session::create(std::shared_ptr<const ir::Graph>(std::move(*g)), *env);
    ASSERT_TRUE(s.ok()) << s.status().message();
    auto out = (*s)->run({{"image", runtime::Value::of(*images)}});
    ASSERT_TRUE(out.ok()) << out.status().message();
    outs.push_back(std::move(*out));
  }
  EXPECT_TRUE(same_values(outs[0], outs[1]));
}

TEST(OnnxExport, SaveToFileAndBadPath) {
  ir::Graph g;
  g.opsets[""] = 13;
  g.inputs.push_back({"x", {ir::ValueKind::kTensor, DType::kF32, std::vector<ir::Dim>{{2, ""}, {-1, "n"}}}});
  g.outputs.push_back({"y", {ir::ValueKind::kTensor, DType::kF32, std::vector<ir::Dim>{{2, ""}, {-1, "n"}}}});
  g.initializers["w"] = Tensor::from_vector<float>(DType::kF32, {1}, {2.0f});
  ir::Node n;
  n.name = "mul";
  n.op_type = "Mul";
  n.inputs = {"x", "w"};
  n.outputs = {"y"};
  g.nodes.push_back(n);
  fs::path path = fs::temp_directory_path() / ("onnx_export_test_" + std::to_string(::getpid()) + ".onnx");
  ASSERT_TRUE(formats::save_onnx(g, path.string(), checked()).ok());
  auto back = formats::load_onnx(path.string());
  fs::remove(path);
  ASSERT_TRUE(back.ok()) << back.status().message();
  ASSERT_EQ(back->graph->inputs.size(), 1u);
  const auto& shape = *back->graph->inputs[0].type.shape;
  EXPECT_EQ(shape[0].value, 2);
  EXPECT_EQ(shape[1].symbol, "n");
  EXPECT_EQ((*back->graph->outputs[0].type.shape)[1].symbol, "n");
  EXPECT_EQ(back->graph->opset(""), 13);

  Status bad = formats::save_onnx(g, "/nonexistent-folder/x.onnx");
  EXPECT_FALSE(bad.ok());
  EXPECT_NE(bad.message().find("/nonexistent-folder/x.onnx"), std::string::npos) << bad.message();
  // The checker names what is wrong: a node reading a value nobody defines.
  g.nodes[0].inputs[1] = "undefined_value";
  g.initializers.clear();
  auto rejected = formats::export_onnx_bytes(g, checked());
  EXPECT_FALSE(rejected.ok());
}

// Every ONNX backend node test (If/Loop/Scan subgraphs, sequences, optionals, strings, all
// attribute kinds): the round trip gives the same outputs on the test's inputs, and the checker's
// verdict on the original holds for the copy.
TEST(OnnxExport, ConformanceModelsRoundTrip) {
  const fs::path root = "/usr/share/libonnx-testdata/data/node";
  if (!fs::exists(root)) GTEST_SKIP() << root << " not installed (libonnx-testdata)";
  std::vector<fs::path> cases;
  for (const auto& e : fs::directory_iterator(root)) cases.push_back(e.path());
  std::sort(cases.begin(), cases.end());
  auto env = Env::create(1);
  int exported = 0, ran = 0, checked = 0;
  for (const fs::path& c : cases) {
    std::string original = read_all(c / "model.onnx");
    auto m = formats::load_onnx_from_memory(original.data(), original.size(), c.string());
    if (!m.ok()) continue;  // the importer refuses it; nothing to export
    auto bytes = formats::export_onnx_bytes(*m->graph);
    ASSERT_TRUE(bytes.ok()) << c << ": " << bytes.status().message();
    auto back = formats::load_onnx_from_memory(bytes->data(), bytes->size(), c.string());
    ASSERT_TRUE(back.ok()) << c << ": " << back.status().message();
    auto again = formats::export_onnx_bytes(*back->graph);
    ASSERT_TRUE(again.ok());
    EXPECT_EQ(*again, *bytes) << c;
    ++exported;
    // Known loss: the importer does not keep TYPE_PROTO attributes (Optional's `type`).
    if (m->graph->opset("") <= 17 && !m->graph->op_histogram().count("Optional") &&
        formats::check_onnx_bytes(original).ok()) {
      Status s = formats::check_onnx_bytes(*bytes);
      EXPECT_TRUE(s.ok()) << c << ": " << s.message();
      ++checked;
    }
    // Outputs on the first data set, when we run the model at all.
    fs::path data = c / "test_data_set_0";
    std::vector<runtime::NamedValue> feeds;
    bool inputs_ok = true;
    auto decls = m->graph->feed_inputs();
    for (size_t i = 0; i < decls.size() && inputs_ok; ++i) {
      auto pv = formats::load_pb_value((data / ("input_" + std::to_string(i) + ".pb")).string(), decls[i]->type);
      if (!pv.ok()) { inputs_ok = false; break; }
      runtime::Value v;
      if (pv->kind == formats::PbValue::Kind::kTensor) v = runtime::Value::of(std::move(pv->tensor));
      else if (pv->kind == formats::PbValue::Kind::kSequence) v = runtime::Value::of_sequence(std::move(pv->sequence), pv->elem_type);
      feeds.push_back({decls[i]->name, std::move(v)});
    }
    if (!inputs_ok) continue;
    std::shared_ptr<const ir::Graph> g1(std::move(m->graph)), g2(std::move(back->graph));
    auto s1 = runtime::Session::create(g1, *env);
    if (!s1.ok()) continue;
    auto o1 = (*s1)->run(feeds);
    if (!o1.ok()) continue;
    auto s2 = runtime::Session::create(g2, *env);
    ASSERT_TRUE(s2.ok()) << c << ": " << s2.status().message();
    auto o2 = (*s2)->run(feeds);
    ASSERT_TRUE(o2.ok()) << c << ": " << o2.status().message();
    EXPECT_TRUE(same_values(*o1, *o2)) << c;
    ++ran;
  }
  EXPECT_GT(exported, 900);
  EXPECT_GT(ran, 850);
  EXPECT_GT(checked, 850);
  std::printf("round trip: %d models exported, %d run with identical outputs, %d checked\n", exported, ran, checked);
}

}  // namespace
}  // namespace edgeai
