// `edgeai quantize IN.onnx OUT.onnx`: the ONNX half of the quantize verb (cmd_quantize_onnx.cc);
// cmd_quantize_gguf.cc registers the verb and sends .onnx inputs here.
#pragma once

#include <CLI/CLI.hpp>
#include <string>
#include <vector>

namespace edgeai::cli {

struct QuantizeOnnxArgs {
  std::string mode;  // static | dynamic (default: static with calibration data, else dynamic)
  std::string calibration;
  int64_t calibration_random = 0;
  int64_t max_samples = -1;
  std::string method = "minmax";
  double percentile = 99.99;
  bool per_tensor = false;
  bool symmetric = false;
  std::vector<std::string> exclude;
  double max_accuracy_drop = -1;  // percentage points
  double min_agreement = -1;      // fraction (or percent when > 1)
  std::string eval_data, labels;
  bool progress = false, json = false;
  int threads = 1;
};

void add_quantize_onnx_options(CLI::App* sub, QuantizeOnnxArgs& a);
int quantize_onnx(const std::string& in, const std::string& out, const QuantizeOnnxArgs& a);

}  // namespace edgeai::cli
