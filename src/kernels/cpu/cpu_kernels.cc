// The optimized CPU kernels' op table (see registry.h). Each entry's prepare step decides per
// node whether it takes it (f32, the shapes and attributes its kernel handles); the reference
// kernel runs the others.
#include "kernels/cpu/ops.h"
#include "kernels/cpu/registry.h"

namespace edgeai::kernels::cpu {

std::span<const KernelEntry> cpu_kernels() {
  static const KernelEntry kTable[] = {
      {"", "Conv", run_conv, prepare_conv},
      {"com.edgeai", "FusedConv", run_conv, prepare_conv},
      {"", "Gemm", run_gemm, prepare_gemm},
      {"com.edgeai", "FusedGemm", run_gemm, prepare_gemm},
      {"", "MatMul", run_matmul, prepare_matmul},
      {"", "Relu", run_unary, prepare_unary},
      {"", "Sigmoid", run_unary, prepare_unary},
      {"", "Tanh", run_unary, prepare_unary},
      {"", "LeakyRelu", run_unary, prepare_unary},
      {"", "HardSigmoid", run_unary, prepare_unary},
      {"", "HardSwish", run_unary, prepare_unary},
      {"", "Clip", run_unary, prepare_unary},
      {"", "Gelu", run_unary, prepare_unary},
      {"com.edgeai", "Gelu", run_unary, prepare_edgeai_unary},
      {"", "Erf", run_unary, prepare_unary},
      {"", "Exp", run_unary, prepare_unary},
      {"", "Add", run_binary, prepare_binary},
      {"", "Sub", run_binary, prepare_binary},
      {"", "Mul", run_binary, prepare_binary},
      {"", "Div", run_binary, prepare_binary},
      {"", "Softmax", run_softmax, prepare_softmax},
      {"", "LogSoftmax", run_softmax, prepare_softmax},
      {"", "LayerNormalization", run_layer_norm, prepare_layer_norm},
      {"", "MaxPool", run_pool, prepare_pool},
      {"", "AveragePool", run_pool, prepare_pool},
      {"", "GlobalAveragePool", run_global_avg_pool, prepare_global_avg_pool},
  };
  return kTable;
}

}  // namespace edgeai::kernels::cpu
