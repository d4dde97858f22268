// Hardware honesty: int8 only pays where edgeai multiplies with int8 dot-product instructions
// (AVX-512 VNNI, ARM dotprod). The exact AVX2 kernels (vpmaddwd on operands widened to int16) run
// int8 models only a little faster than the float kernels: with the AVX2 tables forced for both,
// int8 / fp32 was 0.82 (mobilenet_v2) and 0.93 (resnet18), 1 thread, min CPU time of 50 / 30 runs
// (with AVX-512 VNNI: 0.38 and 0.32). Plain NEON's smlal multiplies 4 lanes as a float FMA does (not
// timed: no ARM machine here). Without SIMD int8 kernels (the portable C++) int8 is much slower.
#include "compress/quantize/quantize.h"
#include "kernels/cpu/qgemm.h"

namespace edgeai::compress {

std::string int8_speed_note(const CpuFeatures& cpu) {
  using namespace kernels::cpu;
  if (qgemm_has_int8_dot(cpu)) return "";
  const char* faster =
      "; it is smaller, and 2.5-3x faster than float on a CPU with AVX512-VNNI (x86) or dotprod (ARM)";
  if (&qgemm_for(cpu) == &qgemm_portable()) {
    return std::string("edgeai has no SIMD int8 kernels for this CPU (x86 without AVX2, or another architecture), so "
                       "the int8 model will run much slower here than the float one") + faster;
  }
  const std::string why = cpu.avx_vnni ? "this CPU's int8 dot product is AVX-VNNI, which edgeai's kernels do not use "
                                         "yet (they use AVX2 widening multiplies here)"
                                       : "this CPU has no int8 dot-product instructions that edgeai uses (x86: "
                                         "AVX512-VNNI; ARM: dotprod)";
  return why + ", so the int8 model will be at most slightly faster here than the float one (0.8-0.95x its time "
               "with AVX2)" + faster;
}

}  // namespace edgeai::compress
