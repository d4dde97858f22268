// Fresh initial weights for training from scratch, as PyTorch initializes Conv and Linear layers:
// weights uniform in +-1/sqrt(fan_in), biases zero, BatchNormalization scale 1 and bias 0.
#pragma once

#include <cstdint>

#include "compress/train/autodiff.h"

namespace edgeai::compress::train {

Status reinitialize(Trainable& model, uint64_t seed);

}  // namespace edgeai::compress::train
