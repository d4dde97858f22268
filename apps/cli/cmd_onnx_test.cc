// edgeai onnx-test: runs ONNX backend test cases (model.onnx + test_data_set_*/) and compares.
#include <fcntl.h>
#include <poll.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "commands.h"
#include "core/compare.h"
#include "model_io.h"

namespace edgeai::cli {

namespace {

namespace fs = std::filesystem;

struct CaseResult {
  std::string name;
  std::string status;   // passed | mismatch | unsupported | error
  std::string message;
};

Result<std::vector<runtime::Value>> load_values(const fs::path& dir, const char* prefix,
                                                const std::vector<const ir::ValueInfo*>& decls) {
  std::vector<runtime::Value> vals;
  for (size_t i = 0;; ++i) {
    fs::path p = dir / (std::string(prefix) + std::to_string(i) + ".pb");
    if (!fs::exists(p)) break;
    if (i >= decls.size()) return invalid_argument(p.string() + ": more data files than graph values");
    ASSIGN_OR_RETURN(formats::PbValue pv, formats::load_pb_value(p.string(), decls[i]->type));
    runtime::Value v;
    // numpy has no bfloat16, so the ONNX test generator stored bf16 tensors as uint16 bits.
    if (pv.kind == formats::PbValue::Kind::kTensor && pv.tensor.dtype() == DType::kU16 &&
        decls[i]->type.dtype == DType::kBF16) {
      Tensor t = pv.tensor;
      pv.tensor = Tensor::wrap(DType::kBF16, t.shape(), std::shared_ptr<const void>(t.raw(), [t](const void*) {}),
                               t.raw());
    }
    if (pv.kind == formats::PbValue::Kind::kTensor) v = runtime::Value::of(std::move(pv.tensor));
    else if (pv.kind == formats::PbValue::Kind::kSequence) v = runtime::Value::of_sequence(std::move(pv.sequence), pv.elem_type);
    vals.push_back(std::move(v));
  }
  return vals;
}

CaseResult run_case(const fs::path& dir, double rtol, double atol, int threads, bool reference) {
  CaseResult r;
  r.name = dir.filename().string();
  auto model = formats::load_onnx((dir / "model.onnx").string());
  if (!model.ok()) {
    r.status = model.status().code() == StatusCode::kUnsupported ? "unsupported" : "error";
    r.message = model.status().message();
    return r;
  }
  std::shared_ptr<const ir::Graph> graph(std::move(model->graph));
  auto env = Env::create(threads);
  runtime::SessionOptions sopts;
  if (reference) {
    sopts.optimize = false;
    sopts.reference_only = true;
  }
  auto session = runtime::Session::create(graph, *env, sopts);
  if (!session.ok()) {
    r.status = session.status().code() == StatusCode::kUnsupported ? "unsupported" : "error";
    r.message = session.status().message();
    return r;
  }
  std::vector<const ir::ValueInfo*> feeds = graph->feed_inputs();
  std::vector<const ir::ValueInfo*> outs;
  for (const auto& o : graph->outputs) outs.push_back(&o);
  std::vector<fs::path> sets;
  for (const auto& e : fs::directory_iterator(dir)) {
    if (e.is_directory() && e.path().filename().string().rfind("test_data_set_", 0) == 0) sets.push_back(e.path());
  }
  std::sort(sets.begin(), sets.end());
  if (sets.empty()) {
    r.status = "error";
    r.message = "no test_data_set_* folder";
    return r;
  }
  for (const auto& set : sets) {
    auto inputs = load_values(set, "input_", feeds);
    if (!inputs.ok()) { r.status = "error"; r.message = inputs.status().message(); return r; }
    auto expected = load_values(set, "output_", outs);
    if (!expected.ok()) { r.status = "error"; r.message = expected.status().message(); return r; }
    std::vector<runtime::NamedValue> named;
    for (size_t i = 0; i < inputs->size(); ++i) named.push_back({feeds[i]->name, (*inputs)[i]});
    auto got = (*session)->run(named);
    if (!got.ok()) {
      r.status = got.status().code() == StatusCode::kUnsupported ? "unsupported" : "error";
      r.message = got.status().message();
      return r;
    }
    for (size_t i = 0; i < expected->size() && i < got->size(); ++i) {
      const auto& g = (*got)[i];
      const auto& e = (*expected)[i];
      std::string where = set.filename().string() + " output '" + outs[i]->name + "' ";
      if (g.kind != e.kind) {
        r.status = "mismatch";
        r.message = where + "has the wrong kind (tensor / sequence / none)";
        return r;
      }
      if (e.kind == runtime::Value::Kind::kTensor) {
        CompareResult c = compare_tensors(g.tensor, e.tensor, rtol, atol);
        if (!c.equal) { r.status = "mismatch"; r.message = where + c.message; return r; }
      } else if (e.kind == runtime::Value::Kind::kSequence) {
        if (g.sequence.size() != e.sequence.size()) {
          r.status = "mismatch";
          r.message = where + "sequence length " + std::to_string(g.sequence.size()) + ", expected " +
                      std::to_string(e.sequence.size());
          return r;
        }
        for (size_t k = 0; k < e.sequence.size(); ++k) {
          CompareResult c = compare_tensors(g.sequence[k], e.sequence[k], rtol, atol);
          if (!c.equal) { r.status = "mismatch"; r.message = where + "element " + std::to_string(k) + " " + c.message; return r; }
        }
      }
    }
  }
  r.status = "passed";
  return r;
}

// Runs one case in a child process so that a crash or hang is reported instead of ending the run.
CaseResult run_case_isolated(const fs::path& dir, double rtol, double atol, int threads, int timeout_s,
                             bool reference) {
  int fds[2];
  if (pipe(fds) != 0) return run_case(dir, rtol, atol, threads, reference);
  std::fflush(nullptr);
  pid_t pid = fork();
  if (pid < 0) return run_case(dir, rtol, atol, threads, reference);
  if (pid == 0) {
    close(fds[0]);
    CaseResult r = run_case(dir, rtol, atol, threads, reference);
    std::string line = r.status + "\n" + r.message;
    size_t off = 0;
    while (off < line.size()) {
      ssize_t w = write(fds[1], line.data() + off, line.size() - off);
      if (w <= 0) break;
      off += static_cast<size_t>(w);
    }
    close(fds[1]);
    _exit(0);
  }
  close(fds[1]);
  std::string buf;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(timeout_s);
  bool timed_out = false;
  for (;;) {
    int left = static_cast<int>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                    deadline - std::chrono::steady_clock::now()).count());
    if (left <= 0) { timed_out = true; break; }
    pollfd p{fds[0], POLLIN, 0};
    int pr = poll(&p, 1, left);
    if (pr <= 0) { if (pr == 0) timed_out = true; break; }
    char tmp[4096];
    ssize_t n = read(fds[0], tmp, sizeof tmp);
    if (n <= 0) break;
    buf.append(tmp, static_cast<size_t>(n));
  }
  close(fds[0]);
  CaseResult r;
  r.name = dir.filename().string();
  if (timed_out) {
    kill(pid, SIGKILL);
    waitpid(pid, nullptr, 0);
    r.status = "error";
    r.message = "timed out after " + std::to_string(timeout_s) + " s";
    return r;
  }
  int wstatus = 0;
  waitpid(pid, &wstatus, 0);
  if (WIFSIGNALED(wstatus) || (WIFEXITED(wstatus) && WEXITSTATUS(wstatus) != 0) || buf.empty()) {
    r.status = "error";
    r.message = WIFSIGNALED(wstatus) ? "crashed with signal " + std::to_string(WTERMSIG(wstatus))
                                     : "exited with status " + std::to_string(WEXITSTATUS(wstatus));
    return r;
  }
  size_t nl = buf.find('\n');
  r.status = buf.substr(0, nl);
  r.message = nl == std::string::npos ? "" : buf.substr(nl + 1);
  return r;
}

void collect_cases(const fs::path& p, std::vector<fs::path>& out) {
  if (fs::exists(p / "model.onnx")) {
    out.push_back(p);
    return;
  }
  std::vector<fs::path> subs;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(p, ec)) {
    if (e.is_directory() && fs::exists(e.path() / "model.onnx")) subs.push_back(e.path());
  }
  std::sort(subs.begin(), subs.end());
  out.insert(out.end(), subs.begin(), subs.end());
}

}  // namespace

Command add_onnx_test(CLI::App& app) {
  struct Opts {
    std::vector<std::string> dirs;
    std::string json;
    double rtol = 1e-3, atol = 1e-5;
    int threads = 1;
    int timeout = 120;
    bool no_isolate = false;
    bool reference = false;
    bool quiet = false;
  };
  auto o = std::make_shared<Opts>();
  auto* sub = app.add_subcommand("onnx-test", "Run ONNX backend test cases and compare outputs");
  sub->add_option("dirs", o->dirs, "Case folders (model.onnx + test_data_set_*), or folders of them")->required();
  sub->add_option("--json", o->json, "Write each case's status to this JSON file");
  sub->add_option("--rtol", o->rtol, "Relative tolerance")->capture_default_str();
  sub->add_option("--atol", o->atol, "Absolute tolerance")->capture_default_str();
  sub->add_option("--threads", o->threads, "Threads per case")->capture_default_str();
  sub->add_option("--timeout", o->timeout, "Seconds before a case counts as hung")->capture_default_str();
  sub->add_flag("--no-isolate", o->no_isolate, "Run cases in this process (a crash ends the run)");
  sub->add_flag("-q,--quiet", o->quiet, "Print only the summary line");
  sub->add_flag("--reference", o->reference, "Only the portable reference kernels, no graph passes");
  return [o]() -> int {
    std::vector<fs::path> cases;
    for (const auto& d : o->dirs) {
      if (!fs::exists(d)) return fail("no such folder: " + d);
      collect_cases(d, cases);
    }
    if (cases.empty()) return fail("no test cases (folders with model.onnx) found");
    int passed = 0, failed = 0;
    nlohmann::json report = nlohmann::json::array();
    for (const auto& c : cases) {
      CaseResult r = o->no_isolate ? run_case(c, o->rtol, o->atol, o->threads, o->reference)
                                   : run_case_isolated(c, o->rtol, o->atol, o->threads, o->timeout, o->reference);
      if (r.status == "passed") {
        ++passed;
      } else {
        ++failed;
        if (!o->quiet) std::printf("%s: %s: %s\n", r.name.c_str(), r.status.c_str(), r.message.c_str());
      }
      report.push_back({{"case", r.name}, {"status", r.status}, {"message", r.message}});
    }
    if (!o->json.empty()) {
      std::ofstream f(o->json);
      f << report.dump(1) << "\n";
      if (!f) return fail("cannot write " + o->json);
    }
    std::printf("%d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
  };
}

}  // namespace edgeai::cli
