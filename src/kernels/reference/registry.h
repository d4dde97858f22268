// The reference kernels' op tables, one per op family. The ir layer's op registry joins them
// into the one list that names every op edgeai runs.
#pragma once

#include <span>

#include "kernels/kernel.h"

namespace edgeai::kernels::ref {

std::span<const KernelEntry> elementwise_kernels();  // elementwise.cc: math, logic, activations, Cast
std::span<const KernelEntry> reduce_kernels();       // reduce.cc: reductions, softmax, norms, losses, TopK
std::span<const KernelEntry> tensor_kernels();       // tensor.cc: shape, layout, indexing, Resize, Pad
std::span<const KernelEntry> nn_kernels();           // nn.cc: Conv, pooling, MatMul, Gemm, Einsum
std::span<const KernelEntry> rnn_kernels();          // rnn.cc: RNN, GRU, LSTM
std::span<const KernelEntry> quant_kernels();        // quant.cc: Quantize/Dequantize, QLinear*, *Integer
std::span<const KernelEntry> misc_kernels();         // misc.cc: NMS, signal, text, random, training
std::span<const KernelEntry> fused_kernels();        // fused.cc: com.edgeai ops of the graph passes

}  // namespace edgeai::kernels::ref
