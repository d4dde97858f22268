// What the CPU can do, detected once by whoever builds the environment.
#pragma once

#include <string>

namespace edgeai {

struct CpuFeatures {
  bool avx2 = false;
  bool fma = false;
  bool f16c = false;
  bool avx512f = false;
  bool avx512bw = false;
  bool avx512vl = false;
  bool avx512_vnni = false;
  bool avx512_vbmi = false;  // byte permutes across a whole vector (the int8 lookup tables)
  bool avx_vnni = false;
  bool neon = false;
  bool arm_dotprod = false;
  int logical_cores = 1;

  // Whether int8 dot-product instructions exist (VNNI or ARM dotprod): int8 only pays with them.
  bool has_int8_dot() const { return avx512_vnni || avx_vnni || arm_dotprod; }
  std::string summary() const;  // "avx2 fma avx512f ..."
};

CpuFeatures detect_cpu_features();

}  // namespace edgeai
