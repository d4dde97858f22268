// The optimized CPU kernels' op table (see registry.h). Each entry's prepare step decides per
// node whether it takes it (f32, the shapes and attributes its kernel handles); the reference
// kernel runs the others.
#include <new>

#include "kernels/cpu/ops.h"
#include "kernels/cpu/registry.h"

namespace edgeai::kernels::cpu {
namespace {

// The kernels allocate only small bookkeeping with the standard library (scratch goes through
// AlignedFloats, which does not throw); an allocation failure there becomes a Status, or, at
// preparation, leaves the node to the reference kernel.
template <KernelFn F>
Status guarded(KernelContext& ctx) {
  try {
    return F(ctx);
  } catch (const std::bad_alloc&) {
    return ctx.error("out of memory");
  }
}

template <PrepareFn P>
Result<std::unique_ptr<KernelState>> guarded_prepare(PrepareContext& ctx) {
  try {
    return P(ctx);
  } catch (const std::bad_alloc&) {
    return std::unique_ptr<KernelState>();
  }
}

template <KernelFn F, PrepareFn P>
constexpr KernelEntry entry(std::string_view domain, std::string_view op) {
  return KernelEntry{domain, op, &guarded<F>, &guarded_prepare<P>};
}

}  // namespace

std::span<const KernelEntry> cpu_kernels() {
  static const KernelEntry kTable[] = {
      entry<run_conv, prepare_conv>("", "Conv"),
      entry<run_conv, prepare_conv>("com.edgeai", "FusedConv"),
      entry<run_conv, prepare_pwdw_conv>("com.edgeai", "FusedPwDwConv"),
      entry<run_gemm, prepare_gemm>("", "Gemm"),
      entry<run_gemm, prepare_gemm>("com.edgeai", "FusedGemm"),
      entry<run_matmul, prepare_matmul>("", "MatMul"),
      entry<run_unary, prepare_unary>("", "Relu"),
      entry<run_unary, prepare_unary>("", "Sigmoid"),
      entry<run_unary, prepare_unary>("", "Tanh"),
      entry<run_unary, prepare_unary>("", "LeakyRelu"),
      entry<run_unary, prepare_unary>("", "HardSigmoid"),
      entry<run_unary, prepare_unary>("", "HardSwish"),
      entry<run_unary, prepare_unary>("", "Clip"),
      entry<run_unary, prepare_unary>("", "Gelu"),
      entry<run_unary, prepare_edgeai_unary>("com.edgeai", "Gelu"),
      entry<run_unary, prepare_unary>("", "Erf"),
      entry<run_unary, prepare_unary>("", "Exp"),
      entry<run_binary, prepare_binary>("", "Add"),
      entry<run_binary, prepare_binary>("", "Sub"),
      entry<run_binary, prepare_binary>("", "Mul"),
      entry<run_binary, prepare_binary>("", "Div"),
      entry<run_softmax, prepare_softmax>("", "Softmax"),
      entry<run_softmax, prepare_softmax>("", "LogSoftmax"),
      entry<run_layer_norm, prepare_layer_norm>("", "LayerNormalization"),
      entry<run_pool, prepare_pool>("", "MaxPool"),
      entry<run_pool, prepare_pool>("", "AveragePool"),
      entry<run_global_avg_pool, prepare_global_avg_pool>("", "GlobalAveragePool"),
      entry<run_resize, prepare_resize>("", "Resize"),
      entry<run_resize, prepare_resize>("", "Upsample"),
      entry<run_qlinear_conv, prepare_qlinear_conv>("", "QLinearConv"),
      entry<run_qlinear_matmul, prepare_qlinear_matmul>("", "QLinearMatMul"),
      entry<run_qlinear_matmul, prepare_edgeai_qlinear_matmul>("com.edgeai", "QLinearMatMul"),
      entry<run_matmul_integer, prepare_matmul_integer>("", "MatMulInteger"),
      entry<run_quantize_linear, prepare_quantize_linear>("", "QuantizeLinear"),
      entry<run_dequantize_linear, prepare_dequantize_linear>("", "DequantizeLinear"),
      entry<run_dynamic_quantize_linear, prepare_dynamic_quantize_linear>("", "DynamicQuantizeLinear"),
      entry<run_qlut, prepare_qlut>("com.edgeai", "QLut"),
      entry<run_qlinear_add, prepare_qlinear_add>("com.edgeai", "QLinearAdd"),
      entry<run_qmax_pool, prepare_qmax_pool>("com.edgeai", "QMaxPool"),
  };
  return kTable;
}

}  // namespace edgeai::kernels::cpu
