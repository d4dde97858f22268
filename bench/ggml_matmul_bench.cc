// ggml_matmul speed on a TinyLlama FFN projection (2048 x 5632): matrix-vector products (token
// generation, memory-bound) as GB/s of weights read and as a share of the machine's read bandwidth,
// and a 512-token product (prompt processing, compute-bound) as tokens/s, at 1 and 2 threads.
//
//   ggml_matmul_bench [--types q4_0,q8_0,...] [--threads 1,2] [--bw1 GB/s --bw2 GB/s] [--reps N] [--pp N]
//                     [--rows 5632 --k 2048] [--copies N (1: weights stay in cache)] [--isa avx2|avx512|reference]
//                     [--multi-row off (prompts without the multi-row kernels, to measure their gain)]
//
// The weights of each timed call come from one of several copies that together exceed the last-level
// cache, so every call reads its weights from memory as generation does. The bandwidth compared with
// ("read") is measured in-process with the same threads, a streaming sum of as many bytes right after
// each product (as shared/bench/stream.c's "read"; medians of both), unless --bw1/--bw2 give fixed
// figures. Times are CPU time per thread, so that other jobs on a shared machine count less.
#include <algorithm>
#include <ctime>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "core/cpu_features.h"
#include "core/dtype.h"
#include "core/ggml_type.h"
#include "core/thread_pool.h"
#include "kernels/ggml_quants.h"
#include "kernels/ggml_quants_impl.h"

using namespace edgeai;

namespace {

// CPU time of the whole process: on a machine shared with other jobs, wall time counts the time
// other processes hold our core; CPU time divided by the thread count does not (stalls on memory
// are still counted, as they should be).
double cpu_s() {
  timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return ts.tv_sec + ts.tv_nsec * 1e-9;
}

// Read bandwidth with the same threads, measured the same way, right before each figure: a sum
// over a buffer far larger than the caches.
// Seconds (CPU time per thread) to read `bytes` of `buf` from `offset` with the pool's threads: the
// same streaming read as shared/bench/stream.c's "read", run back to back with each timed product
// so that both see the same machine.
double read_seconds(ThreadPool& pool, const std::vector<uint64_t>& buf, int64_t offset, int64_t bytes) {
  const int64_t lines = bytes / 64;
  const uint64_t* base = buf.data() + (offset / 64) * 8;
  std::vector<uint64_t> sink(pool.num_threads() * 8, 0);
  const double t0 = cpu_s();
  pool.parallel_for(lines, 1, [&](int64_t b, int64_t e) {
    uint64_t a0 = 0, a1 = 0, a2 = 0, a3 = 0, a4 = 0, a5 = 0, a6 = 0, a7 = 0;
    for (const uint64_t* p = base + 8 * b; p < base + 8 * e; p += 8) {
      a0 += p[0], a1 += p[1], a2 += p[2], a3 += p[3], a4 += p[4], a5 += p[5], a6 += p[6], a7 += p[7];
    }
    sink[(b * pool.num_threads() / lines) * 8] += a0 ^ a1 ^ a2 ^ a3 ^ a4 ^ a5 ^ a6 ^ a7;
  });
  const double t = (cpu_s() - t0) / pool.num_threads();
  if (sink[0] == 42) std::printf(" ");
  return t;
}

// Random quant bytes with sane f16 scales (fast to make; speed does not depend on the values).
std::vector<uint8_t> make_weights(uint32_t type, int64_t rows, int64_t k, uint32_t seed) {
  const GgmlTypeInfo* info = ggml_type_info(type);
  const int64_t bytes = ggml_row_bytes(type, k) * rows;
  std::vector<uint8_t> w(bytes);
  std::mt19937 rng(seed);
  if (info->block_size == 1) {
    std::normal_distribution<float> nd(0.f, 0.05f);
    std::vector<float> f(rows * k);
    for (auto& v : f) v = nd(rng);
    (void)kernels::ggml_quantize_rows(type, f.data(), w.data(), rows, k);
    return w;
  }
  uint64_t st = seed * 0x9E3779B97F4A7C15ull + 1;
  for (auto& b : w) {  // xorshift: std::mt19937 would take longer than the benchmark
    st ^= st << 13, st ^= st >> 7, st ^= st << 17;
    b = (uint8_t)(st >> 24);
  }
  const uint16_t s = float_to_half(0.01f);
  for (int64_t i = 0; i < bytes; i += info->block_bytes) {
    uint8_t* blk = w.data() + i;
    switch (static_cast<GgmlType>(type)) {
      case GgmlType::kQ2_K: std::memcpy(blk + 80, &s, 2); std::memcpy(blk + 82, &s, 2); break;
      case GgmlType::kQ3_K: std::memcpy(blk + 108, &s, 2); break;
      case GgmlType::kQ6_K: std::memcpy(blk + 208, &s, 2); break;
      default: std::memcpy(blk, &s, 2); std::memcpy(blk + 2, &s, 2); break;  // d (and m / dmin)
    }
  }
  return w;
}

std::vector<std::string> split(const std::string& s) {
  std::vector<std::string> out;
  std::stringstream ss(s);
  std::string item;
  while (std::getline(ss, item, ',')) out.push_back(item);
  return out;
}

uint32_t type_by_name(const std::string& name) {
  for (uint32_t t = 0; t < 40; ++t) {
    const GgmlTypeInfo* i = ggml_type_info(t);
    if (i && name == i->name) return t;
  }
  return 1000;
}

}  // namespace

int main(int argc, char** argv) {
  std::string types = "f32,f16,bf16,q8_0,q4_0,q4_1,q5_0,q5_1,q2_k,q3_k,q4_k,q5_k,q6_k";
  std::string threads = "1,2";
  double bw[3] = {0, 28.0, 38.0};
  int reps = 40;
  int64_t pp = 512;
  bool measure_bw = true;
  int64_t rows = 5632, k = 2048;
  int copies_arg = 0;
  std::string isa;  // empty: what ggml_matmul picks for this CPU
  bool multi_row = true;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string a = argv[i];
    if (a == "--types") types = argv[i + 1];
    else if (a == "--threads") threads = argv[i + 1];
    else if (a == "--bw1") bw[1] = std::atof(argv[i + 1]), measure_bw = false;
    else if (a == "--bw2") bw[2] = std::atof(argv[i + 1]), measure_bw = false;
    else if (a == "--reps") reps = std::atoi(argv[i + 1]);
    else if (a == "--pp") pp = std::atoll(argv[i + 1]);
    else if (a == "--rows") rows = std::atoll(argv[i + 1]);
    else if (a == "--k") k = std::atoll(argv[i + 1]);
    else if (a == "--copies") copies_arg = std::atoi(argv[i + 1]);  // 1: weights stay in cache
    else if (a == "--isa") isa = argv[i + 1];  // reference, avx2, avx512 (x86 only)
    else if (a == "--multi-row") multi_row = std::string(argv[i + 1]) != "off";
  }
  std::mt19937 rng(1);
  std::normal_distribution<float> nd(0.f, 1.f);
  std::vector<float> x(std::max<int64_t>(pp, 1) * k);
  for (auto& v : x) v = nd(rng);
  auto x_ptr = [&] { return x.data(); };
  CpuFeatures cpu = detect_cpu_features();
  const kernels::ggml::KernelTable* table = nullptr;
  if (isa == "reference") table = &kernels::ggml::ref_kernels();
#if defined(__x86_64__)
  if (isa == "avx2") table = &kernels::ggml::avx2_kernels();
  if (isa == "avx512") table = &kernels::ggml::avx512_kernels();
#endif
  kernels::ggml::KernelTable single_row;  // the table without its multi-row kernels
  if (!multi_row) {
    if (!table) {
      for (const auto* t : {&kernels::ggml::ref_kernels()
#if defined(__x86_64__)
                            , &kernels::ggml::avx2_kernels(), &kernels::ggml::avx512_kernels()
#endif
           }) {
        if (std::string(t->isa) == kernels::ggml_matmul_isa(cpu)) table = t;
      }
    }
    single_row = *table;
    for (auto& f : single_row.tile_rows) f = nullptr;
    table = &single_row;
  }
  auto matmul = [&](ThreadPool& pool, uint32_t type, const uint8_t* w, int64_t n, float* out) {
    if (table) return kernels::ggml::matmul_with(*table, pool, type, w, rows, k, x_ptr(), n, out);
    return kernels::ggml_matmul(cpu, pool, type, w, rows, k, x_ptr(), n, out);
  };
  std::printf("ggml_matmul %lld x %lld, kernels: %s (%s)\n", (long long)rows, (long long)k,
              table ? table->isa : kernels::ggml_matmul_isa(cpu), cpu.summary().c_str());
  std::printf("%-6s %3s %8s %8s %8s %7s %7s %9s\n", "type", "thr", "MB", "read", "tg GB/s", "tg %bw", "tg us",
              "pp tok/s");
  std::vector<uint64_t> bwbuf((512ll << 20) / 8, 1);

  std::vector<float> y(std::max<int64_t>(pp, 1) * rows);
  for (const std::string& tn : split(types)) {
    const uint32_t type = type_by_name(tn);
    if (!kernels::ggml_type_supported(type)) {
      std::printf("%-6s unsupported\n", tn.c_str());
      continue;
    }
    const int64_t bytes = ggml_row_bytes(type, k) * rows;
    const int copies = copies_arg > 0 ? copies_arg : (int)std::max<int64_t>(2, (256ll << 20) / bytes + 1);
    std::vector<std::vector<uint8_t>> ws;
    for (int c = 0; c < copies; ++c) ws.push_back(make_weights(type, rows, k, 100 + c));
    for (const std::string& th : split(threads)) {
      const int nthr = std::atoi(th.c_str());
      ThreadPool pool(nthr);
      // Generation: one token per call, a different copy of the weights each time, each call
      // followed by a read of as many bytes elsewhere in a large buffer.
      std::vector<double> times, reads;
      const int64_t slots = (int64_t)(bwbuf.size() * 8) / bytes;
      for (int r = 0; r < reps + copies; ++r) {
        const auto& w = ws[r % copies];
        double t0 = cpu_s();
        Status st = matmul(pool, type, w.data(), 1, y.data());
        double t1 = cpu_s();
        if (!st.ok()) {
          std::fprintf(stderr, "%s\n", st.message().c_str());
          return 1;
        }
        const double rd = read_seconds(pool, bwbuf, (r % slots) * bytes / 64 * 64, bytes);
        if (r >= copies) {  // the first pass warms the pages
          times.push_back((t1 - t0) / nthr);
          reads.push_back(rd);
        }
      }
      std::sort(times.begin(), times.end());
      std::sort(reads.begin(), reads.end());
      const double t_med = times[times.size() / 2];
      const double gbs = bytes / t_med / 1e9;
      const double read_gbs = bytes / reads[reads.size() / 2] / 1e9;
      // Prompt: pp tokens in one call, best of 3.
      double best = 1e30;
      for (int r = 0; r < 3 && pp > 0; ++r) {
        double t0 = cpu_s();
        (void)matmul(pool, type, ws[0].data(), pp, y.data());
        best = std::min(best, (cpu_s() - t0) / nthr);
      }
      const double ref_bw = measure_bw ? read_gbs : (nthr <= 2 ? bw[nthr] : 0);
      std::printf("%-6s %3d %8.2f %8.1f %8.1f %6.0f%% %7.0f %9.1f\n", tn.c_str(), nthr, bytes / 1e6, ref_bw, gbs,
                  ref_bw > 0 ? 100 * gbs / ref_bw : 0.0, t_med * 1e6, pp > 0 ? pp / best : 0.0);
      std::fflush(stdout);
    }
  }
  return 0;
}
