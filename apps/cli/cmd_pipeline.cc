// edgeai pipeline run CONFIG [--metrics-port N] [--status-interval S] [--drain-timeout S]
//                            [--max-seconds S] [--keep-running] [--report FILE]
// edgeai pipeline validate CONFIG
// Sensor -> model -> local action, with a durable outbox (apps/pipeline/pipeline.h).
#include <csignal>
#include <cstdio>

#include "commands.h"
#include "pipeline/pipeline.h"

namespace edgeai::cli {

namespace {

// The one piece of process state a signal handler needs.
std::atomic<bool> g_stop{false};
extern "C" void on_stop_signal(int) { g_stop.store(true); }

}  // namespace

Command add_pipeline(CLI::App& app) {
  struct Opts {
    std::string config;
    pipeline::RunOptions run;
    bool keep_running = false;
    bool fresh = false;
  };
  auto o = std::make_shared<Opts>();
  CLI::App* cmd = app.add_subcommand("pipeline", "Run or validate an edge pipeline (sensor -> model -> action)");
  cmd->require_subcommand(1);
  CLI::App* run = cmd->add_subcommand("run", "Run a pipeline until its sources are done (or SIGTERM)");
  run->add_option("config", o->config, "Pipeline configuration (.yaml or .json)")->required();
  run->add_option("--metrics-port", o->run.metrics_port, "Serve /metrics on 127.0.0.1:PORT (0: any free port)");
  run->add_option("--status-interval", o->run.status_interval_s, "Print a status line every S seconds (0: off)");
  run->add_option("--drain-timeout", o->run.drain_timeout_s, "On stop, keep delivering for up to S seconds")
      ->capture_default_str();
  run->add_option("--max-seconds", o->run.max_seconds, "Stop after S seconds (0: no limit)");
  run->add_flag("--keep-running", o->keep_running, "Keep running when every source is done (e.g. to retry delivery)");
  run->add_flag("--fresh", o->fresh, "Delete the outbox (undelivered rows and source progress) first: replay from the start");
  run->add_option("--report", o->run.report_path, "Write a JSON summary (counts, throughput, latency) at the end");
  CLI::App* validate = cmd->add_subcommand("validate", "Check a configuration: keys, files, models, shapes");
  validate->add_option("config", o->config, "Pipeline configuration (.yaml or .json)")->required();

  return [o, run, validate]() -> int {
    auto cfg = pipeline::load_config(o->config);
    if (!cfg.ok()) return fail(cfg.status().message());
    if (validate->parsed()) {
      auto p = pipeline::Pipeline::create(*cfg, /*open_outbox=*/false);
      if (!p.ok()) return fail(p.status().message());
      std::printf("%s: OK\n%s\n", o->config.c_str(), (*p)->summary().c_str());
      return 0;
    }
    (void)run;
    std::signal(SIGPIPE, SIG_IGN);
    std::signal(SIGTERM, on_stop_signal);
    std::signal(SIGINT, on_stop_signal);
    if (o->fresh) {
      auto probe = pipeline::Pipeline::create(*cfg, /*open_outbox=*/false);
      if (!probe.ok()) return fail(probe.status().message());
      std::string db = (*probe)->outbox_path();
      probe->reset();
      for (const char* suffix : {"", "-wal", "-shm"}) std::remove((db + suffix).c_str());
    }
    auto p = pipeline::Pipeline::create(*cfg, /*open_outbox=*/true);
    if (!p.ok()) return fail(p.status().message());
    o->run.stop = &g_stop;
    o->run.exit_when_done = !o->keep_running;
    std::fprintf(stderr, "edgeai pipeline: %s\n", (*p)->summary().c_str());
    Status st = (*p)->run(o->run);
    if (!st.ok()) return fail(st.message());
    return 0;
  };
}

}  // namespace edgeai::cli
