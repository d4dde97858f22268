// Labelled training data: inputs [N, ...] (f32) and class labels, read from
//   - a pair of .npy files (inputs of any numeric dtype, labels of an integer dtype or integral
//     floats),
//   - a CSV file (one sample a row: the label, then the input values; a first row that is not
//     numeric is taken as a header),
//   - an image folder: one sub-folder per class (classes are the sorted folder names), images as
//     binary or ASCII PGM (P5/P2, 1 channel) or PPM (P6/P3, 3 channels), scaled to [0, 1], all of
//     one size, laid out NCHW.
// Mini batches are drawn by a seeded shuffle.
#pragma once

#include <cstdint>
#include <random>
#include <span>
#include <string>
#include <vector>

#include "core/tensor.h"
#include "edgeai/status.h"

namespace edgeai::compress::train {

struct Dataset {
  Tensor x;                   // [N, ...] f32
  std::vector<int64_t> y;     // N labels
  std::vector<std::string> class_names;  // image folders only
  int64_t size() const { return static_cast<int64_t>(y.size()); }
};

// `data` is a .npy (then `labels` names the labels .npy), a .csv, or a folder of class folders.
Result<Dataset> load_dataset(const std::string& data, const std::string& labels = "");
Result<Dataset> load_npy_pair(const std::string& inputs, const std::string& labels);
Result<Dataset> load_csv(const std::string& path);
Result<Dataset> load_image_folder(const std::string& dir);

// Reads a PGM or PPM image as f32 [channels, height, width] in [0, 1].
Result<Tensor> load_pnm(const std::string& path);

// Reshapes inputs to the model's input shape (`model_shape`, dims < 0 free, dim 0 the batch) when
// the per-sample element counts agree; errors name both shapes.
Status fit_to_model(Dataset& d, const std::vector<int64_t>& model_shape);
// Every label in [0, classes).
Status check_labels(const Dataset& d, int64_t classes);

// Seeded split: the last `fraction` of a shuffled order goes to the second set.
void split(const Dataset& d, double fraction, uint64_t seed, Dataset* first, Dataset* second);
// Rows `idx` of a dataset.
Result<Dataset> subset(const Dataset& d, std::span<const int64_t> idx);
Result<Tensor> gather_rows(const Tensor& x, std::span<const int64_t> idx);

}  // namespace edgeai::compress::train
