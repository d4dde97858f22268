// Mapped ONNX loads (OnnxLoadOptions::map, load_onnx_in_place). Oracles: protobuf's own parse of
// the same bytes (load_onnx_from_memory / a read load: every initializer must hold the same
// bytes), the kernel's /proc/self/maps (a tensor used in place must point into a mapping of the
// file it came from, and the mapping must go with the last tensor), and a read-mode session's
// outputs (a mapped model must compute bit-identical results).
#include <gtest/gtest.h>

#include <onnx/onnx_pb.h>

#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "formats/onnx/onnx_export.h"
#include "formats/onnx/onnx_import.h"
#include "formats/tensor_io/npy.h"
#include "runtime/session.h"

namespace edgeai {
namespace {

namespace fs = std::filesystem;

const std::string kDigits = std::string(EDGEAI_SOURCE_DIR) + "/models/digits/";

// The file mapped at `p` in this process, "" where none is.
std::string mapped_path_of(const void* p) {
  std::ifstream maps("/proc/self/maps");
  std::string line;
  const auto a = reinterpret_cast<uintptr_t>(p);
  while (std::getline(maps, line)) {
    unsigned long lo = 0, hi = 0;
    if (std::sscanf(line.c_str(), "%lx-%lx", &lo, &hi) != 2 || a < lo || a >= hi) continue;
    const size_t slash = line.find('/');
    return slash == std::string::npos ? "" : line.substr(slash);
  }
  return "";
}

bool file_is_mapped(const fs::path& file) {
  std::ifstream maps("/proc/self/maps");
  std::string line;
  const std::string want = fs::canonical(file).string();
  while (std::getline(maps, line)) {
    if (line.size() >= want.size() && line.compare(line.size() - want.size(), want.size(), want) == 0) return true;
  }
  return false;
}

bool same_bytes(const Tensor& a, const Tensor& b) {
  return a.dtype() == b.dtype() && a.shape() == b.shape() &&
         (a.nbytes() == 0 || std::memcmp(a.raw(), b.raw(), a.nbytes()) == 0);
}

std::string read_all(const fs::path& p) {
  std::ifstream f(p, std::ios::binary);
  std::ostringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

class OnnxMap : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("onnx_map_test_" + std::to_string(::getpid()));
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  fs::path dir_;
};

formats::OnnxLoadOptions mapped() {
  formats::OnnxLoadOptions o;
  o.map = true;
  return o;
}

// A graph with initializers of several types and sizes, some under the external-data threshold.
ir::Graph small_graph() {
  ir::Graph g;
  g.opsets[""] = 13;
  g.inputs.push_back({"x", {ir::ValueKind::kTensor, DType::kF32, std::vector<ir::Dim>{{1, ""}, {300, ""}}}});
  g.outputs.push_back({"y", {ir::ValueKind::kTensor, DType::kF32, std::vector<ir::Dim>{{1, ""}, {300, ""}}}});
  std::vector<float> w(300), b(300);
  for (int i = 0; i < 300; ++i) w[i] = 0.5f + 0.01f * i, b[i] = -1.0f + 0.003f * i;
  g.initializers["w"] = Tensor::from_vector<float>(DType::kF32, {1, 300}, w);
  g.initializers["b"] = Tensor::from_vector<float>(DType::kF32, {300}, b);
  g.initializers["tiny"] = Tensor::from_vector<float>(DType::kF32, {2}, {1.0f, 2.0f});
  std::vector<int64_t> big_ints(200);
  for (int i = 0; i < 200; ++i) big_ints[i] = int64_t(1) << (i % 40);
  g.initializers["ints"] = Tensor::from_vector<int64_t>(DType::kI64, {200}, big_ints);
  std::vector<uint8_t> bytes(1500);
  for (int i = 0; i < 1500; ++i) bytes[i] = static_cast<uint8_t>(i * 7);
  g.initializers["bytes"] = Tensor::from_vector<uint8_t>(DType::kU8, {1500}, bytes);
  ir::Node mul{"mul", "Mul", "", {"x", "w"}, {"xw"}, {}};
  ir::Node add{"add", "Add", "", {"xw", "b"}, {"y"}, {}};
  g.nodes = {mul, add};
  return g;
}

// Large initializers in an aligned external-data file are all used in place: read-only views of
// the data file's mapping, equal to what a read load gives; the small ones stay in the model.
TEST_F(OnnxMap, ExternalDataMapsEveryLargeInitializer) {
  const ir::Graph g = small_graph();
  const fs::path model = dir_ / "m.onnx";
  formats::OnnxExportOptions eo;
  eo.external_data = "m.onnx.data";
  ASSERT_TRUE(formats::save_onnx(g, model.string(), eo).ok());
  ASSERT_TRUE(fs::exists(dir_ / "m.onnx.data"));

  // Every external offset is a multiple of the page size, as asked.
  onnx::ModelProto mp;
  ASSERT_TRUE(mp.ParseFromString(read_all(model)));
  int external = 0;
  for (const auto& t : mp.graph().initializer()) {
    if (t.data_location() != onnx::TensorProto::EXTERNAL) {
      EXPECT_EQ(t.name(), "tiny");  // 8 bytes: under the 1024-byte threshold
      continue;
    }
    ++external;
    for (const auto& kv : t.external_data()) {
      if (kv.key() == "offset") EXPECT_EQ(std::stoll(kv.value()) % 4096, 0) << t.name();
    }
  }
  EXPECT_EQ(external, 4);

  auto read = formats::load_onnx(model.string());
  ASSERT_TRUE(read.ok()) << read.status().message();
  auto m = formats::load_onnx(model.string(), mapped());
  ASSERT_TRUE(m.ok()) << m.status().message();
  EXPECT_TRUE(m->mapped);
  EXPECT_FALSE(read->mapped);
  const std::string data_file = fs::canonical(dir_ / "m.onnx.data").string();
  int64_t big_bytes = 0;
  for (const auto& [name, t] : read->graph->initializers) {
    const Tensor& u = m->graph->initializers.at(name);
    EXPECT_TRUE(same_bytes(t, u)) << name;
    EXPECT_TRUE(t.writable()) << name;
    if (name == "tiny") continue;
    big_bytes += static_cast<int64_t>(t.nbytes());
    EXPECT_FALSE(u.writable()) << name << " should be a view of the mapping";
    EXPECT_EQ(mapped_path_of(u.raw()), data_file) << name;
  }
  // "tiny" stays in the model file: in place or copied, as its offset there happens to fall.
  EXPECT_GE(m->in_place_bytes, big_bytes);
  EXPECT_EQ(m->in_place_bytes + m->copied_from_map_bytes, big_bytes + 8);

  // The tensors hold the mapping: it outlives the model's other parts and goes with the last one.
  Tensor keep = m->graph->initializers.at("w");
  m->graph.reset();
  EXPECT_TRUE(file_is_mapped(dir_ / "m.onnx.data"));
  EXPECT_FLOAT_EQ(keep.data<float>()[299], 0.5f + 0.01f * 299);
  keep = Tensor();
  EXPECT_FALSE(file_is_mapped(dir_ / "m.onnx.data"));
}

// Initializers inside the model file: those aligned for their type are views of the model file's
// mapping, the rest are copied from it; all equal a read load's, and the two counts add up.
TEST_F(OnnxMap, InFileInitializersInPlaceWhereAligned) {
  const fs::path model = fs::path(kDigits) / "digits_cnn.onnx";
  auto read = formats::load_onnx(model.string());
  auto m = formats::load_onnx(model.string(), mapped());
  ASSERT_TRUE(read.ok() && m.ok());
  const std::string file = fs::canonical(model).string();
  int64_t total = 0, in_place = 0;
  for (const auto& [name, t] : read->graph->initializers) {
    const Tensor& u = m->graph->initializers.at(name);
    EXPECT_TRUE(same_bytes(t, u)) << name;
    total += static_cast<int64_t>(t.nbytes());
    if (!u.writable()) {
      in_place += static_cast<int64_t>(u.nbytes());
      EXPECT_EQ(mapped_path_of(u.raw()), file) << name;
      EXPECT_EQ(reinterpret_cast<uintptr_t>(u.raw()) % dtype_size(u.dtype()), 0u) << name;
    } else {
      EXPECT_NE(mapped_path_of(u.raw()), file) << name;
    }
  }
  EXPECT_EQ(m->in_place_bytes, in_place);
  EXPECT_EQ(m->in_place_bytes + m->copied_from_map_bytes, total);
}

// A mapped model computes exactly what the read one does (the session reads weights in place,
// packs from them, folds BatchNorm into new tensors without writing the mapping).
TEST_F(OnnxMap, SessionOutputsEqualReadModel) {
  auto images = formats::load_npy(kDigits + "test_images.npy");
  ASSERT_TRUE(images.ok());
  auto first = formats::load_onnx(kDigits + "digits_cnn.onnx");
  ASSERT_TRUE(first.ok());
  const fs::path model = dir_ / "digits.onnx";
  formats::OnnxExportOptions eo;
  eo.external_data = "digits.bin";
  eo.external_data_min_bytes = 0;
  ASSERT_TRUE(formats::save_onnx(*first->graph, model.string(), eo).ok());

  auto env = Env::create(2);
  std::vector<std::vector<runtime::Value>> outs;
  for (const auto& [path, map] : std::vector<std::pair<std::string, bool>>{
           {kDigits + "digits_cnn.onnx", false}, {kDigits + "digits_cnn.onnx", true}, {model.string(), true}}) {
    formats::OnnxLoadOptions lo;
    lo.map = map;
    auto m = formats::load_onnx(path, lo);
    ASSERT_TRUE(m.ok()) << m.status().message();
    auto s = runtime::Session::create(std::shared_ptr<const ir::Graph>(std::move(m->graph)), *env);
    ASSERT_TRUE(s.ok()) << s.status().message();
    auto out = (*s)->run({{"image", runtime::Value::of(*images)}});
    ASSERT_TRUE(out.ok()) << out.status().message();
    outs.push_back(std::move(*out));
  }
  for (size_t k = 1; k < outs.size(); ++k) {
    ASSERT_EQ(outs[k].size(), outs[0].size());
    for (size_t i = 0; i < outs[0].size(); ++i) {
      EXPECT_TRUE(same_bytes(outs[0][i].tensor, outs[k][i].tensor)) << "load " << k << " output " << i;
    }
  }
}

void put_varint(std::string* out, uint64_t v) {
  while (v >= 0x80) {
    out->push_back(static_cast<char>((v & 0x7f) | 0x80));
    v >>= 7;
  }
  out->push_back(static_cast<char>(v));
}

// A length-delimited field.
std::string field(uint32_t number, const std::string& body) {
  std::string s;
  put_varint(&s, (uint64_t(number) << 3) | 2);
  put_varint(&s, body.size());
  return s + body;
}

onnx::TensorProto raw_tensor(const std::string& name, const std::vector<float>& v) {
  onnx::TensorProto t;
  t.set_name(name);
  t.set_data_type(onnx::TensorProto::FLOAT);
  t.add_dims(static_cast<int64_t>(v.size()));
  t.set_raw_data(std::string(reinterpret_cast<const char*>(v.data()), v.size() * sizeof(float)));
  return t;
}

// Byte layouts protobuf accepts but a simple writer never makes: the graph field twice (protobuf
// merges them, appending the second graph's initializers) and raw_data twice in one tensor (the
// last wins). The in-place load must agree with protobuf's parse on each.
TEST(OnnxMapWire, AgreesWithProtobufOnMergedFields) {
  onnx::GraphProto g1, g2;
  *g1.add_initializer() = raw_tensor("a", {1, 2, 3, 4});
  *g2.add_initializer() = raw_tensor("b", {5, 6});
  onnx::TensorProto c = raw_tensor("c", {7, 8, 9});
  std::string c_bytes = c.SerializeAsString();
  const std::vector<float> later = {10, 11, 12};
  c_bytes += field(9, std::string(reinterpret_cast<const char*>(later.data()), 12));
  std::string graph2 = g2.SerializeAsString() + field(5, c_bytes);
  onnx::ModelProto head;
  head.set_ir_version(8);
  auto* os = head.add_opset_import();
  os->set_version(13);
  // Odd lengths before the graphs shift the raw data off 4-byte alignment for some tensors.
  head.set_producer_name("x");
  std::string bytes = head.SerializeAsString() + field(7, g1.SerializeAsString()) + field(7, graph2);

  auto oracle = formats::load_onnx_from_memory(bytes.data(), bytes.size(), ".");
  ASSERT_TRUE(oracle.ok()) << oracle.status().message();
  ASSERT_EQ(oracle->graph->initializers.size(), 3u);
  EXPECT_FLOAT_EQ(oracle->graph->initializers.at("c").data<float>()[2], 12.0f);
  for (size_t shift = 0; shift < 4; ++shift) {
    // The same bytes at each alignment: whatever is in place or copied, the values agree.
    std::string buf(shift, '\0');
    buf += bytes;
    auto m = formats::load_onnx_in_place(nullptr, buf.data() + shift, bytes.size(), ".");
    ASSERT_TRUE(m.ok()) << m.status().message();
    ASSERT_EQ(m->graph->initializers.size(), 3u);
    for (const auto& [name, t] : oracle->graph->initializers) {
      EXPECT_TRUE(same_bytes(t, m->graph->initializers.at(name))) << name << " shift " << shift;
    }
    EXPECT_EQ(m->in_place_bytes + m->copied_from_map_bytes, (4 + 2 + 3) * 4);
  }
}

// Every conformance model, and every model in this repository, loads in place to the same
// tensors as protobuf's parse gives.
TEST(OnnxMapWire, ModelsAgreeWithProtobuf) {
  std::vector<fs::path> files;
  const fs::path root = "/usr/share/libonnx-testdata/data/node";
  if (fs::exists(root)) {
    for (const auto& e : fs::directory_iterator(root)) files.push_back(e.path() / "model.onnx");
  }
  for (const auto& e : fs::recursive_directory_iterator(EDGEAI_SOURCE_DIR)) {
    const std::string s = e.path().string();
    if (e.path().extension() == ".onnx" && s.find("node_modules") == std::string::npos &&
        s.find("/build") == std::string::npos) {
      files.push_back(e.path());
    }
  }
  int models = 0, tensors = 0;
  for (const fs::path& f : files) {
    const std::string bytes = read_all(f);
    const std::string dir = f.parent_path().string();
    auto oracle = formats::load_onnx_from_memory(bytes.data(), bytes.size(), dir);
    auto m = formats::load_onnx_in_place(nullptr, bytes.data(), bytes.size(), dir);
    ASSERT_EQ(oracle.ok(), m.ok()) << f;
    if (!oracle.ok()) continue;
    ++models;
    ASSERT_EQ(oracle->graph->initializers.size(), m->graph->initializers.size()) << f;
    for (const auto& [name, t] : oracle->graph->initializers) {
      if (t.dtype() == DType::kString) continue;
      EXPECT_TRUE(same_bytes(t, m->graph->initializers.at(name))) << f << " " << name;
      ++tensors;
    }
  }
  EXPECT_GE(models, 3);
  EXPECT_GT(tensors, 0);
}

// Bad input, mapped: each a clear error naming the problem, never a crash.
TEST_F(OnnxMap, BadFilesFailCleanly) {
  auto expect_error = [&](const fs::path& p, const std::string& what) {
    auto r = formats::load_onnx(p.string(), mapped());
    ASSERT_FALSE(r.ok()) << p;
    EXPECT_NE(r.status().message().find(what), std::string::npos) << r.status().message();
  };
  expect_error(dir_ / "missing.onnx", "not found");
  expect_error(dir_, "folder");
  std::ofstream(dir_ / "empty.onnx").close();
  expect_error(dir_ / "empty.onnx", "no graph");
  std::ofstream(dir_ / "junk.onnx", std::ios::binary) << std::string("\x3a\xff\xff\xff\x0f garbage", 14);
  expect_error(dir_ / "junk.onnx", "protobuf parse failed");

  // A real model cut short: the walk or protobuf notices, whichever comes first.
  const std::string digits = read_all(fs::path(kDigits) / "digits_cnn.onnx");
  for (size_t cut : {size_t(1), size_t(100), digits.size() / 2, digits.size() - 1}) {
    std::ofstream(dir_ / "cut.onnx", std::ios::binary | std::ios::trunc) << digits.substr(0, cut);
    auto r = formats::load_onnx((dir_ / "cut.onnx").string(), mapped());
    EXPECT_FALSE(r.ok()) << "cut at " << cut;
  }

  // External data that does not fit its file, is missing, or points outside the folder.
  ir::Graph g = small_graph();
  formats::OnnxExportOptions eo;
  eo.external_data = "w.bin";
  ASSERT_TRUE(formats::save_onnx(g, (dir_ / "ext.onnx").string(), eo).ok());
  const auto full = fs::file_size(dir_ / "w.bin");
  fs::resize_file(dir_ / "w.bin", full - 4);
  expect_error(dir_ / "ext.onnx", "does not fit");
  fs::remove(dir_ / "w.bin");
  expect_error(dir_ / "ext.onnx", "not found");
  onnx::ModelProto mp;
  ASSERT_TRUE(mp.ParseFromString(read_all(dir_ / "ext.onnx")));
  for (auto& t : *mp.mutable_graph()->mutable_initializer()) {
    for (auto& kv : *t.mutable_external_data()) {
      if (kv.key() == "location") kv.set_value("../../etc/passwd");
    }
  }
  std::ofstream(dir_ / "escape.onnx", std::ios::binary) << mp.SerializeAsString();
  expect_error(dir_ / "escape.onnx", "relative path");
  fs::create_directories(dir_ / "sub");
  for (auto& t : *mp.mutable_graph()->mutable_initializer()) {
    for (auto& kv : *t.mutable_external_data()) {
      if (kv.key() == "location") kv.set_value("sub");
    }
  }
  std::ofstream(dir_ / "dir.onnx", std::ios::binary) << mp.SerializeAsString();
  expect_error(dir_ / "dir.onnx", "not a regular file");
}

TEST_F(OnnxMap, ExportRefusesBadExternalDataOptions) {
  const ir::Graph g = small_graph();
  formats::OnnxExportOptions eo;
  eo.external_data = "sub/w.bin";
  Status s = formats::save_onnx(g, (dir_ / "a.onnx").string(), eo);
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.message().find("file name in the model's folder"), std::string::npos) << s.message();
  eo.external_data = "a.onnx";
  s = formats::save_onnx(g, (dir_ / "a.onnx").string(), eo);
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.message().find("cannot be the model file"), std::string::npos) << s.message();
  eo.external_data = "w.bin";
  eo.external_data_alignment = 48;
  s = formats::save_onnx(g, (dir_ / "a.onnx").string(), eo);
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.message().find("power of two"), std::string::npos) << s.message();
}

}  // namespace
}  // namespace edgeai
