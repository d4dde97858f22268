// The optimized CPU op kernels listed in cpu_kernels.cc: a prepare step (builds the state,
// prepacks weights; declines nodes it does not take) and a run step each.
#pragma once

#include <memory>

#include "kernels/kernel.h"

namespace edgeai::kernels::cpu {

using PrepareResult = Result<std::unique_ptr<KernelState>>;

// conv.cc: Conv, com.edgeai FusedConv.
PrepareResult prepare_conv(PrepareContext& ctx);
Status run_conv(KernelContext& ctx);
// conv.cc: com.edgeai FusedPwDwConv (a 1x1 conv, then a depthwise conv of its output; run_conv).
PrepareResult prepare_pwdw_conv(PrepareContext& ctx);

// matmul.cc: Gemm, com.edgeai FusedGemm, MatMul.
PrepareResult prepare_gemm(PrepareContext& ctx);
Status run_gemm(KernelContext& ctx);
PrepareResult prepare_matmul(PrepareContext& ctx);
Status run_matmul(KernelContext& ctx);

// eltwise.cc: activations and math (Relu, Sigmoid, Tanh, LeakyRelu, HardSigmoid, HardSwish, Clip,
// Gelu, com.edgeai Gelu, Erf, Exp) and broadcasting Add / Sub / Mul / Div.
PrepareResult prepare_unary(PrepareContext& ctx);
PrepareResult prepare_edgeai_unary(PrepareContext& ctx);
Status run_unary(KernelContext& ctx);
PrepareResult prepare_binary(PrepareContext& ctx);
Status run_binary(KernelContext& ctx);

// norm.cc: Softmax, LogSoftmax, LayerNormalization.
PrepareResult prepare_softmax(PrepareContext& ctx);
Status run_softmax(KernelContext& ctx);
PrepareResult prepare_layer_norm(PrepareContext& ctx);
Status run_layer_norm(KernelContext& ctx);

// pool.cc: MaxPool, AveragePool, GlobalAveragePool.
PrepareResult prepare_resize(PrepareContext& ctx);
Status run_resize(KernelContext& ctx);
PrepareResult prepare_pool(PrepareContext& ctx);
Status run_pool(KernelContext& ctx);
PrepareResult prepare_global_avg_pool(PrepareContext& ctx);
Status run_global_avg_pool(KernelContext& ctx);

// qconv.cc: QLinearConv (u8 x s8, integer GEMM / exact depthwise).
PrepareResult prepare_qlinear_conv(PrepareContext& ctx);
Status run_qlinear_conv(KernelContext& ctx);

// qmatmul.cc: QLinearMatMul and MatMulInteger with a constant 2-D s8 weight (integer GEMM on
// activation rows).
PrepareResult prepare_qlinear_matmul(PrepareContext& ctx);
PrepareResult prepare_edgeai_qlinear_matmul(PrepareContext& ctx);  // com.edgeai: + int32 bias
Status run_qlinear_matmul(KernelContext& ctx);
PrepareResult prepare_matmul_integer(PrepareContext& ctx);
Status run_matmul_integer(KernelContext& ctx);

// qlut.cc: com.edgeai QLut (table lookup on 8-bit values, byte or float table).
PrepareResult prepare_qlut(PrepareContext& ctx);
Status run_qlut(KernelContext& ctx);

// qadd.cc: com.edgeai QLinearAdd (u8, one shape).
PrepareResult prepare_qlinear_add(PrepareContext& ctx);
Status run_qlinear_add(KernelContext& ctx);

// qpool.cc: com.edgeai QMaxPool (u8, 2-D).
PrepareResult prepare_qmax_pool(PrepareContext& ctx);
Status run_qmax_pool(KernelContext& ctx);

// qdq.cc: QuantizeLinear, DequantizeLinear per tensor; DynamicQuantizeLinear.
PrepareResult prepare_quantize_linear(PrepareContext& ctx);
Status run_quantize_linear(KernelContext& ctx);
PrepareResult prepare_dequantize_linear(PrepareContext& ctx);
Status run_dequantize_linear(KernelContext& ctx);
PrepareResult prepare_dynamic_quantize_linear(PrepareContext& ctx);
Status run_dynamic_quantize_linear(KernelContext& ctx);

}  // namespace edgeai::kernels::cpu
