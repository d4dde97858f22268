// Structured (channel) pruning: removes whole output channels of Conv layers and output neurons
// of Gemm layers, and rewrites what follows (BatchNormalization parameters, the next Conv's input
// channels, the next Gemm's input features, through Flatten), so that the model is physically
// smaller and faster. Channels are ranked by the L1 norm of their filters; every prunable layer
// keeps the same fraction, chosen so that the multiply-adds fall to the requested share.
#pragma once

#include <cstdint>

#include "compress/train/autodiff.h"
#include "ir/graph.h"

namespace edgeai::compress::prune {

// Multiply-adds per sample of the graph's Conv, Gemm and MatMul nodes, measured on `batch`
// (shapes from one forward pass). 0 when the graph cannot be run.
int64_t graph_flops(const ir::Graph& g, const Tensor& batch);

// The pruned graph, with at most `keep_flops` of the original multiply-adds (a fraction in
// (0, 1]). `model` supplies the weights; `batch` the shapes. Errors: no prunable layer.
Result<ir::Graph> prune_channels(train::Trainable& model, const Tensor& batch, double keep_flops);

}  // namespace edgeai::compress::prune
