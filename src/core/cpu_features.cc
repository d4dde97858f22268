#include "core/cpu_features.h"

#include <thread>

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#endif
#if defined(__aarch64__) && defined(__linux__)
#include <asm/hwcap.h>
#include <sys/auxv.h>
#endif

namespace edgeai {

CpuFeatures detect_cpu_features() {
  CpuFeatures f;
  f.logical_cores = static_cast<int>(std::thread::hardware_concurrency());
  if (f.logical_cores <= 0) f.logical_cores = 1;
#if defined(__x86_64__) || defined(__i386__)
  unsigned a, b, c, d;
  bool os_avx = false, os_avx512 = false;
  if (__get_cpuid(1, &a, &b, &c, &d)) {
    f.fma = (c >> 12) & 1;
    f.f16c = (c >> 29) & 1;
    bool osxsave = (c >> 27) & 1;
    if (osxsave) {
      unsigned lo, hi;
      __asm__("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
      os_avx = (lo & 0x6) == 0x6;
      os_avx512 = (lo & 0xe6) == 0xe6;
    }
  }
  if (__get_cpuid_count(7, 0, &a, &b, &c, &d)) {
    f.avx2 = os_avx && ((b >> 5) & 1);
    f.avx512f = os_avx512 && ((b >> 16) & 1);
    f.avx512bw = os_avx512 && ((b >> 30) & 1);
    f.avx512vl = os_avx512 && ((b >> 31) & 1);
    f.avx512_vnni = os_avx512 && ((c >> 11) & 1);
    f.avx512_vbmi = os_avx512 && ((c >> 1) & 1);
  }
  if (__get_cpuid_count(7, 1, &a, &b, &c, &d)) f.avx_vnni = os_avx && ((a >> 4) & 1);
  f.fma = f.fma && os_avx;
#elif defined(__aarch64__)
  f.neon = true;
#if defined(__linux__)
  unsigned long hw = getauxval(AT_HWCAP);
#ifdef HWCAP_ASIMDDP
  f.arm_dotprod = (hw & HWCAP_ASIMDDP) != 0;
#endif
#endif
#endif
  return f;
}

std::string CpuFeatures::summary() const {
  std::string s;
  auto add = [&](bool on, const char* name) {
    if (!on) return;
    if (!s.empty()) s += ' ';
    s += name;
  };
  add(avx2, "avx2");
  add(fma, "fma");
  add(f16c, "f16c");
  add(avx512f, "avx512f");
  add(avx512bw, "avx512bw");
  add(avx512vl, "avx512vl");
  add(avx512_vnni, "avx512_vnni");
  add(avx_vnni, "avx_vnni");
  add(neon, "neon");
  add(arm_dotprod, "dotprod");
  if (s.empty()) s = "portable";
  return s;
}

}  // namespace edgeai
