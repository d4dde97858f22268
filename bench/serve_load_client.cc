// serve_load_client: the load of bench/serve_load.mjs (its --client option) from C++ threads, so
// that the client takes little of the machine the server is measured on (node's takes about a
// quarter of a core at 64 clients). N clients, one thread and one keep-alive connection each
// (opened again when the server closes it), send completions to an `edgeai serve` for S seconds:
// the same prompts, max_tokens, temperature 0.8 and seeds (one counter shared by all clients,
// from 1) as the node clients. Prints one JSON line: requests, failures, tokens
// (usage.completion_tokens summed), seconds, client_cpu_s (this process, user + system), the
// latency of every request, failed ones included (connect to the reply's last byte: latency_ms
// with p50, p99 and max), errors (message -> count).
//
// HTTP/1.1 over plain sockets (Content-Length or chunked replies): cpp-httplib 0.11's client
// failed a few replies a second ("Read" error) that this reader, node's fetch and a Python
// socket client all read whole from the same server.
//
// usage: serve_load_client --url http://127.0.0.1:PORT --seconds S [--clients 64] [--max-tokens 256]
//          [--model story] [--seed 1]
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
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
  std::vector<double> latency_ms;  // every request's, failed ones included
};

// One keep-alive HTTP/1.1 connection to host:port (IPv4).
class Connection {
 public:
  Connection(std::string host, int port) : host_(std::move(host)), port_(port) {}
  ~Connection() { close_socket(); }

  // POSTs body to path; *status and *reply are the reply's. Empty on success, else what failed.
  std::string post(const std::string& path, const std::string& body, int* status, std::string* reply) {
    if (fd_ < 0 && !open_socket()) return "connect failed";
    const std::string req = "POST " + path + " HTTP/1.1\r\nHost: " + host_ +
                            "\r\nContent-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) +
                            "\r\n\r\n" + body;
    if (!send_all(req)) return fail("send failed");
    // Status line and headers.
    size_t end;
    while ((end = buf_.find("\r\n\r\n")) == std::string::npos)
      if (!fill()) return fail(buf_.empty() ? "closed before the reply" : "closed in the reply's headers");
    const std::string head = buf_.substr(0, end + 2);
    buf_.erase(0, end + 4);
    if (head.compare(0, 9, "HTTP/1.1 ") != 0 || head.size() < 12) return fail("bad status line");
    *status = std::atoi(head.c_str() + 9);
    std::string lower = head;
    for (char& c : lower) c = (char)std::tolower((unsigned char)c);
    const bool chunked = lower.find("\r\ntransfer-encoding: chunked") != std::string::npos;
    const bool close = lower.find("\r\nconnection: close") != std::string::npos;
    reply->clear();
    if (chunked) {
      for (;;) {
        size_t eol;
        while ((eol = buf_.find("\r\n")) == std::string::npos)
          if (!fill()) return fail("closed in a chunk size");
        const size_t n = std::strtoul(buf_.c_str(), nullptr, 16);
        buf_.erase(0, eol + 2);
        while (buf_.size() < n + 2)
          if (!fill()) return fail("closed in a chunk");
        reply->append(buf_, 0, n);
        buf_.erase(0, n + 2);
        if (n == 0) break;  // no trailers from this server
      }
    } else {
      const size_t at = lower.find("\r\ncontent-length: ");
      if (at == std::string::npos) return fail("no length");
      const size_t n = std::strtoul(lower.c_str() + at + 18, nullptr, 10);
      while (buf_.size() < n)
        if (!fill()) return fail("closed in the body");
      reply->assign(buf_, 0, n);
      buf_.erase(0, n);
    }
    if (close) close_socket();
    return "";
  }

 private:
  bool open_socket() {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    if (fd_ < 0) return false;
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons((uint16_t)port_);
    const int one = 1;
    ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    timeval tv{120, 0};
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    if (::inet_pton(AF_INET, host_.c_str(), &a.sin_addr) != 1 || ::connect(fd_, (sockaddr*)&a, sizeof(a)) != 0) {
      close_socket();
      return false;
    }
    return true;
  }
  void close_socket() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
    buf_.clear();
  }
  std::string fail(const std::string& what) {
    close_socket();
    return what;
  }
  bool send_all(const std::string& s) {
    for (size_t off = 0; off < s.size();) {
      const ssize_t k = ::send(fd_, s.data() + off, s.size() - off, MSG_NOSIGNAL);
      if (k <= 0) return false;
      off += (size_t)k;
    }
    return true;
  }
  bool fill() {
    char b[16384];
    const ssize_t k = ::recv(fd_, b, sizeof(b), 0);
    if (k <= 0) return false;
    buf_.append(b, (size_t)k);
    return true;
  }

  std::string host_;
  int port_;
  int fd_ = -1;
  std::string buf_;
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
  std::string host;
  int port = 0;
  if (url.rfind("http://", 0) == 0) {
    const size_t colon = url.find(':', 7);
    if (colon != std::string::npos) {
      host = url.substr(7, colon - 7);
      port = std::atoi(url.c_str() + colon + 1);
    }
  }
  if (host.empty() || port <= 0 || !(seconds > 0) || clients < 1) {
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
    Connection conn(host, port);
    int64_t requests = 0, failures = 0, tokens = 0;
    std::map<std::string, int64_t> errors;
    std::vector<double> latency_ms;
    while (Clock::now() < end) {
      const int64_t s = seed.fetch_add(1);
      const nlohmann::json body = {{"model", model},
                                   {"prompt", kPrompts[s % (int64_t)std::size(kPrompts)]},
                                   {"max_tokens", max_tokens},
                                   {"temperature", 0.8},
                                   {"seed", s}};
      int status = 0;
      std::string reply;
      const auto r0 = Clock::now();
      std::string error = conn.post("/v1/completions", body.dump(), &status, &reply);
      latency_ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - r0).count());
      if (error.empty()) {
        const nlohmann::json j = nlohmann::json::parse(reply, nullptr, false);
        if (status != 200 || j.is_discarded() || !j.contains("usage")) {
          error = "status " + std::to_string(status) + ": " + reply.substr(0, 200);
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
    tot.latency_ms.insert(tot.latency_ms.end(), latency_ms.begin(), latency_ms.end());
  };
  std::vector<std::thread> threads;
  for (int i = 0; i < clients; ++i) threads.emplace_back(client);
  for (std::thread& t : threads) t.join();
  const double elapsed = std::chrono::duration<double>(Clock::now() - t0).count();
  nlohmann::json out = {{"requests", tot.requests}, {"failures", tot.failures}, {"tokens", tot.tokens},
                        {"seconds", elapsed},       {"client_cpu_s", process_cpu_s() - cpu0}};
  std::vector<double>& lat = tot.latency_ms;
  std::sort(lat.begin(), lat.end());
  auto pct = [&](double q) { return lat.empty() ? 0.0 : lat[std::min(lat.size() - 1, (size_t)(q * (double)lat.size()))]; };
  out["latency_ms"] = {{"p50", pct(0.5)}, {"p99", pct(0.99)}, {"max", lat.empty() ? 0.0 : lat.back()}};
  if (!tot.errors.empty()) out["errors"] = tot.errors;
  std::printf("%s\n", out.dump().c_str());
  return 0;
}
