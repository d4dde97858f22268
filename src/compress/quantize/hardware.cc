// Hardware honesty: int8 only pays where the CPU has dot-product instructions.
#include "compress/quantize/quantize.h"

namespace edgeai::compress {

std::string int8_speed_note(const CpuFeatures& cpu) {
  if (cpu.has_int8_dot()) return "";
  return "this CPU has no int8 dot-product instructions (x86: AVX512-VNNI or AVX-VNNI; ARM: dotprod), so "
         "the int8 model will not run faster here than the float one; it is smaller, and faster on a CPU "
         "that has them";
}

}  // namespace edgeai::compress
