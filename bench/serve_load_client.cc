// serve_load_client: the load of bench/serve_load.mjs (its --client option) from C++ threads, so
// that the client takes little of the machine the server is measured on (node's takes about a
// quarter of a core at 64 clients). N clients, one thread and one keep-alive connection each,
// send completions to an `edgeai serve` for S seconds: the same prompts, max_tokens, temperature
// 0.8 and seeds (one counter shared by all clients, from 1) as the node clients. Prints one JSON
// line: requests, failures, tokens (usage.completion_tokens summed), seconds, client_cpu_s (this
// process, user + system), errors (message -> count).
//
// usage: serve_load_client --url http://127.0.0.1:PORT --seconds S [--clients 64] [--max-tokens 256]
//          [--model story] [--seed 1]
#include <httplib.h>
#include <sys/resource.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

namespace {

const char* const kPrompts[] = {"Once upon a time", "The little dog", "Lily and Tom went to the park",
                                "One day, a big bird", "There was a girl who liked to play with her ball",
                                "The sun was shining"};

double process_cpu_s() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return (double)u.ru_utime.tv_sec + (double)u.ru_utime.tv_usec * 1e-6 + (double)u.ru_stime.tv_sec +
         (double)u.ru_stime.tv_usec * 1e-6;
}

struct Totals {
  std::mutex mu;
  int64_t requests = 0, failures = 0, tokens = 0;
  std::map<std::string, int64_t> errors;
};

}  // namespace

int main(int argc, char** argv) {
  std::string url, model = "story";
  double seconds = 0;
  int clients = 64, max_tokens = 256;
  int64_t seed0 = 1;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string a = argv[i], v = argv[i + 1];
    if (a == "--url") url = v;
    else if (a == "--seconds") seconds = std::atof(v.c_str());
    else if (a == "--clients") clients = std::atoi(v.c_str());
    else if (a == "--max-tokens") max_tokens = std::atoi(v.c_str());
    else if (a == "--model") model = v;
    else if (a == "--seed") seed0 = std::atoll(v.c_str());
  }
  if (url.empty() || !(seconds > 0) || clients < 1) {
    std::fprintf(stderr,
                 "usage: serve_load_client --url http://127.0.0.1:PORT --seconds S [--clients 64] [--max-tokens 256] "
                 "[--model story] [--seed 1]\n");
    return 2;
  }
  using Clock = std::chrono::steady_clock;
  const auto t0 = Clock::now();
  const auto end = t0 + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds));
  const double cpu0 = process_cpu_s();
  std::atomic<int64_t> seed{seed0};
  Totals tot;
  auto client = [&] {
    httplib::Client cli(url);
    cli.set_keep_alive(true);
    cli.set_read_timeout(120, 0);
    cli.set_write_timeout(120, 0);
    int64_t requests = 0, failures = 0, tokens = 0;
    std::map<std::string, int64_t> errors;
    while (Clock::now() < end) {
      const int64_t s = seed.fetch_add(1);
      const nlohmann::json body = {{"model", model},
                                   {"prompt", kPrompts[s % (int64_t)std::size(kPrompts)]},
                                   {"max_tokens", max_tokens},
                                   {"temperature", 0.8},
                                   {"seed", s}};
      std::string error;
      auto res = cli.Post("/v1/completions", body.dump(), "application/json");
      if (!res) {
        error = "http error " + httplib::to_string(res.error());
      } else {
        const nlohmann::json j = nlohmann::json::parse(res->body, nullptr, false);
        if (res->status != 200 || j.is_discarded() || !j.contains("usage")) {
          error = "status " + std::to_string(res->status) + ": " + res->body.substr(0, 200);
        } else {
          ++requests;
          tokens += j["usage"].value("completion_tokens", 0);
        }
      }
      if (!error.empty()) {
        ++failures;
        ++errors[error];
      }
    }
    std::lock_guard<std::mutex> lk(tot.mu);
    tot.requests += requests;
    tot.failures += failures;
    tot.tokens += tokens;
    for (const auto& [e, c] : errors) tot.errors[e] += c;
  };
  std::vector<std::thread> threads;
  for (int i = 0; i < clients; ++i) threads.emplace_back(client);
  for (std::thread& t : threads) t.join();
  const double elapsed = std::chrono::duration<double>(Clock::now() - t0).count();
  nlohmann::json out = {{"requests", tot.requests}, {"failures", tot.failures}, {"tokens", tot.tokens},
                        {"seconds", elapsed},       {"client_cpu_s", process_cpu_s() - cpu0}};
  if (!tot.errors.empty()) out["errors"] = tot.errors;
  std::printf("%s\n", out.dump().c_str());
  return 0;
}
