// A model against a reference model on the same inputs: top-1 agreement, accuracy against labels,
// error per output, and the SQNR of each quantized layer (the float model's intermediate tensors
// against the quantized model's).
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "compress/quantize/quantize.h"

namespace edgeai::compress {

struct OutputError {
  std::string name;
  double max_abs_error = 0;
  double mean_abs_error = 0;
  double sqnr_db = 0;  // 10 log10(sum ref^2 / sum (ref - got)^2); +inf when identical
};

struct EvalResult {
  int64_t rows = 0;    // classified rows (samples x batch)
  int64_t agree = 0;   // rows where both models' top-1 class is the same
  double agreement = 0;
  std::optional<double> accuracy, reference_accuracy;  // with labels
  std::vector<OutputError> outputs;
};

// Labels (any integer tensor), one per row in order, when given; more labels than rows is an
// error unless `partial_data` says the data was cut short (--max-samples). Top-1 is the arg max
// over the last axis of the first output.
Result<EvalResult> evaluate(const ir::Graph& model, const ir::Graph& reference,
                            const std::vector<CalibrationSample>& data, const Tensor* labels, Env& env,
                            const std::function<void(int64_t, int64_t)>& progress = {}, bool partial_data = false);

struct LayerError {
  std::string node;     // the reference graph's node
  std::string op_type;
  std::string tensor;
  double sqnr_db = 0;
};

// The tensors both graphs compute under the same name where the model's producer reads a
// dequantized value (its quantized layers), compared over the data.
Result<std::vector<LayerError>> per_layer_sqnr(const ir::Graph& model, const ir::Graph& reference,
                                               const std::vector<CalibrationSample>& data, Env& env);

}  // namespace edgeai::compress
