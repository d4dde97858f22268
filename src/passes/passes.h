// The graph passes, one per file in src/passes. Each rewrites the top-level graph in place into
// an equivalent one and returns how many rewrites it made. optimize.cc runs them in order.
#pragma once

#include "edgeai/status.h"
#include "ir/graph.h"

namespace edgeai::passes {

// constant_to_initializer.cc: Constant nodes become initializers.
Result<int> constant_to_initializer(ir::Graph& g);
// eliminate_identity.cc: Identity, and Dropout in inference, are removed (their readers read the
// input directly).
Result<int> eliminate_identity(ir::Graph& g);
// constant_folding.cc: a node whose inputs are all constants is run once with the reference
// kernel and replaced by initializers (not random ops, not outputs far larger than the inputs).
Result<int> fold_constants(ir::Graph& g);
// dead_node_removal.cc: nodes whose outputs reach no graph output, and initializers nothing
// reads, are removed.
Result<int> remove_dead_nodes(ir::Graph& g);
// fold_batch_norm.cc: BatchNormalization after a Conv or Gemm with constant weights is folded
// into the weights and bias.
Result<int> fold_batch_norm(ir::Graph& g);
// fuse_conv_bias.cc: Conv without bias followed by Add of a per-channel constant becomes Conv
// with that bias.
Result<int> fuse_conv_bias(ir::Graph& g);
// fuse_conv_add.cc: Conv followed by Add of a tensor of its output's shape (a residual) becomes
// com.edgeai FusedConv with that tensor as input Z.
Result<int> fuse_conv_add(ir::Graph& g);
// fuse_matmul_add.cc: MatMul of a 2-D input (or one of static shape, through Reshapes) by a
// constant 2-D weight, plus a constant bias, becomes Gemm.
Result<int> fuse_matmul_add(ir::Graph& g);
// reduce_mean_to_pool.cc: ReduceMean over all spatial axes of a float N x C x ... tensor becomes
// GlobalAveragePool (+ Flatten when keepdims = 0).
Result<int> reduce_mean_to_pool(ir::Graph& g);
// transpose_to_reshape.cc: a Transpose that only moves dims of size 1 becomes a Reshape (no copy).
Result<int> transpose_to_reshape(ir::Graph& g);
// fold_shapes.cc: Shape and Size of values whose shape is known statically become constants.
Result<int> fold_shapes(ir::Graph& g);
// fuse_layer_norm.cc: the ReduceMean/Sub/Pow/ReduceMean/Add/Sqrt/Div/Mul/Add pattern becomes
// LayerNormalization.
Result<int> fuse_layer_norm(ir::Graph& g);
// fuse_gelu.cc: the erf and tanh GELU patterns become com.edgeai Gelu.
Result<int> fuse_gelu(ir::Graph& g);
// merge_reshapes.cc: Reshape of a Reshape becomes one Reshape.
Result<int> merge_reshapes(ir::Graph& g);
// swap_reshape_activation.cc: Gemm -> Reshape -> activation becomes Gemm -> activation -> Reshape.
Result<int> swap_reshape_activation(ir::Graph& g);
// fuse_activation.cc: Conv / Gemm followed by an activation (Relu, Clip, HardSwish, Sigmoid,
// SiLU = x * Sigmoid(x), GELU (erf or tanh), LeakyRelu, Tanh, HardSigmoid) becomes com.edgeai
// FusedConv / FusedGemm.
Result<int> fuse_activation(ir::Graph& g);
// fuse_pointwise_depthwise.cc: a 1x1 Conv / FusedConv whose output only a depthwise Conv /
// FusedConv reads becomes com.edgeai FusedPwDwConv (the two convs and their activations).
Result<int> fuse_pointwise_depthwise(ir::Graph& g);

// fuse_qdq.cc: DequantizeLinear -> Conv -> QuantizeLinear (int8 QDQ, weights and bias constant)
// becomes QLinearConv.
Result<int> fuse_qdq(ir::Graph& g);

}  // namespace edgeai::passes
