// Bad input through the `edgeai` command: each case must end with a one-line error that names the
// problem and a non-zero exit, never a crash. Oracle: the exit status and the message text.
#include <gtest/gtest.h>
#include <onnx/onnx_pb.h>
#include <sys/wait.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

#include "core/tensor.h"
#include "formats/tensor_io/npy.h"

#include "cli_test_util.h"

namespace {

namespace fs = std::filesystem;

using edgeai::testing::CmdResult;
using edgeai::testing::run_cli;

class BadInput : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("edgeai_bad_" + std::to_string(::getpid()) + "_" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string path(const std::string& f) const { return (dir_ / f).string(); }

  // A valid model: Y = Gather(X, I) with X float[4,3] and I int64[2] as graph inputs.
  static onnx::ModelProto gather_model() {
    onnx::ModelProto m;
    m.set_ir_version(8);
    m.add_opset_import()->set_version(13);
    auto* g = m.mutable_graph();
    g->set_name("g");
    auto add_io = [](onnx::ValueInfoProto* v, const char* name, int type, std::vector<int64_t> dims) {
      v->set_name(name);
      auto* tt = v->mutable_type()->mutable_tensor_type();
      tt->set_elem_type(type);
      for (auto d : dims) tt->mutable_shape()->add_dim()->set_dim_value(d);
    };
    add_io(g->add_input(), "X", onnx::TensorProto::FLOAT, {4, 3});
    add_io(g->add_input(), "I", onnx::TensorProto::INT64, {2});
    add_io(g->add_output(), "Y", onnx::TensorProto::FLOAT, {2, 3});
    auto* n = g->add_node();
    n->set_op_type("Gather");
    n->set_name("gather");
    n->add_input("X");
    n->add_input("I");
    n->add_output("Y");
    return m;
  }
  void write_model(const onnx::ModelProto& m, const std::string& file) {
    std::ofstream f(path(file), std::ios::binary);
    ASSERT_TRUE(m.SerializeToOstream(&f));
  }
  void write_inputs(std::vector<int64_t> indices, edgeai::Shape x_shape = {4, 3}, bool x_as_int = false) {
    using edgeai::DType;
    using edgeai::Tensor;
    int64_t n = edgeai::shape_numel(x_shape);
    Tensor x = x_as_int ? Tensor::from_vector<int32_t>(DType::kI32, x_shape, std::vector<int32_t>(n, 1))
                        : Tensor::from_vector<float>(DType::kF32, x_shape, std::vector<float>(n, 1.0f));
    Tensor i = Tensor::from_vector<int64_t>(DType::kI64, {static_cast<int64_t>(indices.size())}, indices);
    ASSERT_TRUE(edgeai::formats::save_npy(path("x.npy"), x).ok());
    ASSERT_TRUE(edgeai::formats::save_npy(path("i.npy"), i).ok());
  }
  CmdResult run_model(const std::string& file) {
    return run_cli("run " + path(file) + " --input X=" + path("x.npy") + " --input I=" + path("i.npy") +
                   " --output-dir " + path("out"));
  }
  static void expect_error(const CmdResult& r, const std::string& needle) {
    EXPECT_FALSE(r.signaled) << r.all;
    EXPECT_NE(r.exit_code, 0) << r.all;
    EXPECT_NE(r.all.find("edgeai: error:"), std::string::npos) << r.all;
    EXPECT_NE(r.all.find(needle), std::string::npos) << "expected '" << needle << "' in: " << r.all;
  }

  fs::path dir_;
};

TEST_F(BadInput, ValidModelRuns) {
  write_model(gather_model(), "m.onnx");
  write_inputs({3, -1});
  CmdResult r = run_model("m.onnx");
  EXPECT_EQ(r.exit_code, 0) << r.all;
  auto y = edgeai::formats::load_npy(path("out/Y.npy"));
  ASSERT_TRUE(y.ok()) << y.status().message();
  EXPECT_EQ(y->shape(), (edgeai::Shape{2, 3}));
}

TEST_F(BadInput, MissingFile) { expect_error(run_cli("info " + path("nope.onnx")), "not found"); }

TEST_F(BadInput, TruncatedModel) {
  std::string bytes = gather_model().SerializeAsString();
  std::ofstream(path("t.onnx"), std::ios::binary).write(bytes.data(), static_cast<std::streamsize>(bytes.size() / 2));
  expect_error(run_cli("info " + path("t.onnx")), "truncated or corrupt");
}

TEST_F(BadInput, CorruptModel) {
  std::string junk(300, '\0');
  for (size_t i = 0; i < junk.size(); ++i) junk[i] = static_cast<char>((i * 131 + 7) % 251);
  std::ofstream(path("c.onnx"), std::ios::binary).write(junk.data(), static_cast<std::streamsize>(junk.size()));
  expect_error(run_cli("info " + path("c.onnx")), "not a valid ONNX model");
}

TEST_F(BadInput, InitializerLiesAboutItsSize) {
  onnx::ModelProto m = gather_model();
  auto* t = m.mutable_graph()->add_initializer();
  t->set_name("W");
  t->set_data_type(onnx::TensorProto::FLOAT);
  t->add_dims(1000);
  t->set_raw_data(std::string(16, '\0'));  // 4 floats, not 1000
  write_model(m, "lie.onnx");
  expect_error(run_cli("info " + path("lie.onnx")), "tensor 'W'");
}

// A shape that claims far more elements than the file holds (here 64 GiB of floats) is refused by
// comparing it with the values present, before anything is allocated. Found by fuzz_onnx_loader on a
// Constant node's tensor attribute; checked for an initializer, an attribute and raw_data.
TEST_F(BadInput, HugeClaimedShapeIsRefusedBeforeAllocating) {
  onnx::ModelProto m = gather_model();
  auto* t = m.mutable_graph()->add_initializer();
  t->set_name("W");
  t->set_data_type(onnx::TensorProto::FLOAT);
  t->add_dims(int64_t(1) << 20);
  t->add_dims(int64_t(1) << 14);
  t->add_float_data(1.0f);
  write_model(m, "huge_init.onnx");
  expect_error(run_cli("info " + path("huge_init.onnx")), "holds 1 values but shape");
  t->clear_float_data();
  t->set_raw_data(std::string(4, '\0'));
  write_model(m, "huge_raw.onnx");
  expect_error(run_cli("info " + path("huge_raw.onnx")), "holds 4 bytes but shape");

  onnx::ModelProto c = gather_model();
  auto* node = c.mutable_graph()->add_node();
  node->set_op_type("Constant");
  node->add_output("K");
  auto* a = node->add_attribute();
  a->set_name("value");
  a->set_type(onnx::AttributeProto::TENSOR);
  a->mutable_t()->set_data_type(onnx::TensorProto::FLOAT);
  a->mutable_t()->add_dims(int64_t(1) << 34);
  a->mutable_t()->add_float_data(2.0f);
  write_model(c, "huge_attr.onnx");
  expect_error(run_cli("info " + path("huge_attr.onnx")), "holds 1 values but shape");
}

// A sparse initializer's dense form is bounded by nothing in the file, so it has a size cap.
TEST_F(BadInput, SparseInitializerTooLargeToDensify) {
  onnx::ModelProto m = gather_model();
  auto* sp = m.mutable_graph()->add_sparse_initializer();
  sp->add_dims(int64_t(1) << 20);
  sp->add_dims(int64_t(1) << 14);
  auto* v = sp->mutable_values();
  v->set_name("S");
  v->set_data_type(onnx::TensorProto::FLOAT);
  v->add_dims(1);
  v->add_float_data(1.0f);
  auto* idx = sp->mutable_indices();
  idx->set_data_type(onnx::TensorProto::INT64);
  idx->add_dims(1);
  idx->add_int64_data(0);
  write_model(m, "huge_sparse.onnx");
  expect_error(run_cli("info " + path("huge_sparse.onnx")), "densifies to more than 1024 MiB");
}

TEST_F(BadInput, ExternalDataOutsideTheFile) {
  onnx::ModelProto m = gather_model();
  auto* t = m.mutable_graph()->add_initializer();
  t->set_name("W");
  t->set_data_type(onnx::TensorProto::FLOAT);
  t->add_dims(100);
  t->set_data_location(onnx::TensorProto::EXTERNAL);
  auto* kv = t->add_external_data();
  kv->set_key("location");
  kv->set_value("w.bin");
  std::ofstream(path("w.bin"), std::ios::binary) << "short";
  write_model(m, "ext.onnx");
  expect_error(run_cli("info " + path("ext.onnx")), "does not fit");
  kv->set_value("../../etc/passwd");
  write_model(m, "ext2.onnx");
  expect_error(run_cli("info " + path("ext2.onnx")), "relative path");
}

TEST_F(BadInput, GraphWithACycle) {
  onnx::ModelProto m = gather_model();
  auto* g = m.mutable_graph();
  // A -> B -> A
  auto* a = g->add_node();
  a->set_op_type("Relu");
  a->set_name("a");
  a->add_input("b_out");
  a->add_output("a_out");
  auto* b = g->add_node();
  b->set_op_type("Relu");
  b->set_name("b");
  b->add_input("a_out");
  b->add_output("b_out");
  write_model(m, "cycle.onnx");
  write_inputs({0, 1});
  expect_error(run_model("cycle.onnx"), "cycle");
}

TEST_F(BadInput, UndefinedInput) {
  onnx::ModelProto m = gather_model();
  m.mutable_graph()->mutable_node(0)->set_input(1, "nowhere");
  write_model(m, "undef.onnx");
  write_inputs({0, 1});
  expect_error(run_model("undef.onnx"), "undefined value 'nowhere'");
}

TEST_F(BadInput, WrongInputShape) {
  write_model(gather_model(), "m.onnx");
  write_inputs({0, 1}, {5, 3});
  expect_error(run_model("m.onnx"), "expected shape [4,3], got [5,3]");
}

TEST_F(BadInput, WrongInputDtype) {
  write_model(gather_model(), "m.onnx");
  write_inputs({0, 1}, {4, 3}, /*x_as_int=*/true);
  expect_error(run_model("m.onnx"), "expected dtype f32, got i32");
}

TEST_F(BadInput, GatherIndexOutOfRange) {
  write_model(gather_model(), "m.onnx");
  write_inputs({0, 7});
  expect_error(run_model("m.onnx"), "gather");
}

TEST_F(BadInput, UnknownInputName) {
  write_model(gather_model(), "m.onnx");
  write_inputs({0, 1});
  expect_error(run_cli("run " + path("m.onnx") + " --input Z=" + path("x.npy")), "no input named 'Z'");
}

TEST_F(BadInput, UnsupportedOp) {
  onnx::ModelProto m = gather_model();
  m.mutable_graph()->mutable_node(0)->set_op_type("NoSuchOp");
  write_model(m, "unsup.onnx");
  write_inputs({0, 1});
  expect_error(run_model("unsup.onnx"), "op NoSuchOp is not supported");
}

TEST_F(BadInput, CorruptNpyInput) {
  write_model(gather_model(), "m.onnx");
  write_inputs({0, 1});
  std::ofstream(path("x.npy"), std::ios::binary) << "\x93NUMPY\x01\x00\x10\x00{'descr': '<f4'";
  expect_error(run_model("m.onnx"), "not a valid .npy");
}

}  // namespace
