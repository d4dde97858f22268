// Quantization-aware training graphs: fake quantizers (com.edgeai.train FakeQuant, straight-through
// gradient) inserted where static QDQ quantization (compress/quantize) will quantize: the weights
// of Conv, Gemm and MatMul (int8 symmetric, per output channel, scales following the weights at
// every step) and their input activations and graph outputs (uint8 asymmetric per tensor, ranges
// from calibration). After training the quantizers are removed again and the float graph, with
// the trained weights, goes through quantize_static for the QDQ export.
#pragma once

#include <string>
#include <vector>

#include "compress/quantize/quantize.h"
#include "compress/train/autodiff.h"

namespace edgeai::compress::train {

struct FakeQuantWeight {
  std::string weight, scale;  // initializer names
  int axis = 0;
};

struct QatGraph {
  ir::Graph graph;
  std::vector<FakeQuantWeight> weights;
  std::vector<std::string> activations;  // tensors fake-quantized with calibrated ranges
};

// Inserts the fake quantizers. Activations without a calibrated range stay float.
Result<QatGraph> insert_fake_quant(const ir::Graph& g, const CalibrationRanges& ranges);
// Recomputes the weight scales from the current weights (before each step).
Status update_weight_scales(Trainable& model, const std::vector<FakeQuantWeight>& weights);
// The float graph again: each FakeQuant replaced by its input (initializers of the scales dropped).
ir::Graph strip_fake_quant(const ir::Graph& g);

}  // namespace edgeai::compress::train
