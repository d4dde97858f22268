// Input samples for calibration and evaluation (edgeai quantize, edgeai eval):
//   - a folder of .npy or .pb files, one sample per file (single-input models), or one sub-folder
//     per sample holding a file per input (named after the input, or input_K.pb as in the ONNX
//     test data sets);
//   - one .npy file whose first axis indexes the samples (single-input models);
//   - random samples (a smoke run).
// Every sample is checked against the model's declared input shapes.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "compress/quantize/quantize.h"
#include "edgeai/status.h"
#include "ir/graph.h"

namespace edgeai::cli {

Result<std::vector<compress::CalibrationSample>> load_samples(const ir::Graph& g, const std::string& source,
                                                              int64_t limit = -1);
// N samples, uniform in [0, 1) for float inputs (zeros otherwise), symbolic dimensions as 1.
Result<std::vector<compress::CalibrationSample>> random_samples(const ir::Graph& g, int64_t n, uint64_t seed);

// A progress bar on stderr: "label [=====>    ] 12/40".
std::function<void(int64_t, int64_t)> progress_bar(const std::string& label, bool enabled);
// Whether stderr is a terminal.
bool stderr_is_tty();

}  // namespace edgeai::cli
