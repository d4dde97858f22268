// Post-training int8 quantization of ONNX graphs to standard ONNX ops, runnable by ONNX Runtime too.
//
// Static (QDQ, the layout of onnxruntime's quantize_static(QuantFormat.QDQ), which the int8 graph
// passes fuse): Conv, Gemm (transA=0, alpha=beta=1) and MatMul whose weight is a constant get
//   - weights int8 symmetric, per output channel (Conv axis 0, Gemm transB=1 axis 0, transB=0 and
//     MatMul axis 1) or per tensor, behind a DequantizeLinear;
//   - bias int32, scale x_scale * w_scale, zero point 0, behind a DequantizeLinear;
//   - their input and output activations a QuantizeLinear/DequantizeLinear pair, uint8 asymmetric
//     per tensor (or int8 symmetric), with ranges from calibration; every consumer reads the
//     dequantized copy. A Relu or Clip(min=0) right after a quantized op is folded into the
//     output range.
// Dynamic: MatMul/Gemm with a constant 2-D weight become DynamicQuantizeLinear + MatMulInteger +
//   scale Mul (activations quantized at run time); Conv, LSTM, GRU and RNN weights (found through
//   Unsqueeze/Reshape/... chains, inside If/Loop bodies too) are stored int8 behind a
//   DequantizeLinear (weight-only: ONNX Runtime has no ConvInteger for int8 weights).
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "core/env.h"
#include "edgeai/status.h"
#include "ir/graph.h"
#include "runtime/session.h"

namespace edgeai::compress {

enum class CalibrationMethod { kMinMax, kPercentile, kEntropy, kMse };
Result<CalibrationMethod> parse_calibration_method(std::string_view name);
const char* calibration_method_name(CalibrationMethod m);

struct QuantizeOptions {
  bool per_channel = true;              // weights per output channel (else per tensor)
  bool symmetric_activations = false;   // int8 symmetric activations instead of uint8 asymmetric
  CalibrationMethod method = CalibrationMethod::kMinMax;
  double percentile = 99.99;            // kPercentile: share of values kept inside the range
  // Node names (shell patterns allowed: '*/stft/Conv') or op types to leave in float. Each must
  // match something in the graph.
  std::vector<std::string> exclude;
};

// What happened to one candidate op.
struct OpDecision {
  std::string node;
  std::string op_type;
  bool quantized = false;
  std::string how;     // when quantized: "int8 QDQ", "int8 MatMulInteger", "int8 weights"
  std::string reason;  // when left in float
};

struct QuantizeReport {
  std::vector<OpDecision> ops;
  int64_t weight_bytes_before = 0;  // initializers and Constant values
  int64_t weight_bytes_after = 0;
  int quantized() const;
};

struct QuantizedModel {
  std::unique_ptr<ir::Graph> graph;
  QuantizeReport report;
};

// Range statistics of one float tensor over the calibration data.
struct TensorRange {
  float min = 0, max = 0;
  std::vector<double> histogram;  // over [min, max], for the percentile/entropy/mse methods
};
using CalibrationRanges = std::map<std::string, TensorRange, std::less<>>;
using CalibrationSample = std::vector<runtime::NamedValue>;

// The tensors static quantization needs ranges for (inputs and outputs of the candidate ops and
// of the Relu/Clip that follow them).
std::vector<std::string> calibration_tensors(const ir::Graph& graph);

// Runs the float graph on every sample and collects each tensor's range (two passes: min/max,
// then a histogram when the method needs one). `progress(done, total)` is called after each run.
Result<CalibrationRanges> calibrate(const ir::Graph& graph, const std::vector<CalibrationSample>& samples,
                                    CalibrationMethod method, Env& env,
                                    const std::function<void(int64_t, int64_t)>& progress = {});

// The clipping range a method chooses from the statistics.
std::pair<float, float> choose_range(const TensorRange& r, CalibrationMethod method, double percentile,
                                     bool symmetric);

Result<QuantizedModel> quantize_static(const ir::Graph& graph, const CalibrationRanges& ranges,
                                       const QuantizeOptions& options);
Result<QuantizedModel> quantize_dynamic(const ir::Graph& graph, const QuantizeOptions& options);

// A copy of `graph` whose outputs also include `names` (float tensors computed in the top-level
// graph), for calibration and per-layer comparison.
std::unique_ptr<ir::Graph> with_extra_outputs(const ir::Graph& graph, const std::vector<std::string>& names);

// The note to print when int8 will not be faster on this CPU (empty when it will).
std::string int8_speed_note(const CpuFeatures& cpu);

}  // namespace edgeai::compress
