// Hardware honesty: int8 only pays where edgeai multiplies with int8 dot-product instructions
// (AVX-512 VNNI, ARM dotprod). The exact AVX2 kernels (vpmaddwd on operands widened to int16) run
// int8 models at about the speed of the float kernels: with the AVX2 tables forced for both, int8 /
// fp32 was 1.07 (mobilenet_v2) and 0.92 (resnet18), 1 thread, min CPU time of 50 / 30 runs (with
// AVX-512 VNNI: 0.40 and 0.33). Plain NEON's smlal multiplies 4 lanes like a float FMA (not timed:
// no ARM machine here).
#include "compress/quantize/quantize.h"
#include "kernels/cpu/qgemm.h"

namespace edgeai::compress {

std::string int8_speed_note(const CpuFeatures& cpu) {
  if (kernels::cpu::qgemm_has_int8_dot(cpu)) return "";
  const char* tail =
      ", so the int8 model will not run faster here than the float one (about the same speed); it is smaller, "
      "and faster on a CPU with AVX512-VNNI (x86) or dotprod (ARM)";
  if (cpu.avx_vnni) {
    return std::string("this CPU's int8 dot product is AVX-VNNI, which edgeai's kernels do not use yet (they use "
                       "AVX2 widening multiplies here)") + tail;
  }
  return std::string("this CPU has no int8 dot-product instructions that edgeai uses (x86: AVX512-VNNI; ARM: "
                     "dotprod)") + tail;
}

}  // namespace edgeai::compress
