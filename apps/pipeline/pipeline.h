// The pipeline runner: sources -> stages -> outbox -> actions, one thread (plus libmosquitto's
// network threads and the optional metrics server).
//
// Each poll of a source is one SQLite transaction: the outbox rows of every event its records
// produced, and the source's progress. Delivery then reads the outbox (delivery.h). On SIGTERM
// (the stop flag) the runner stops reading, keeps delivering for up to drain_timeout seconds,
// and returns; whatever is still in the outbox is delivered after the next start.
//
// What a restart does not restore: stage state (window buffers, moving averages, hysteresis, an
// anomaly baseline, a recurrent model's state) starts fresh from the committed source offset. The
// events already committed are all delivered, but records that sat in a window buffer at the kill
// are not read again, so a window straddling a kill -9 is not emitted. stdin is not replayable.
//
// Configuration (YAML or JSON):
//   name: NAME                       # names the outbox file and MQTT client ids
//   sources: [ {type: file|stdin|mqtt|synthetic, name, ...} ]        (sources.h)
//   stages:  [ {type: window|normalize|model|llm|threshold|argmax|hysteresis|moving_average|
//                     anomaly|filter, name, ...} ]                       (stages.h)
//   actions: [ {type: mqtt|file|command|http|log, name, ...} ]      (actions.h)
//   outbox: {path: NAME.outbox.db, max_rows: 100000, when_full: drop_oldest|block, sync: normal|full}
//   delivery: {initial_backoff: 0.2, max_backoff: 10, ack_timeout: 10}
//   threads: 1          # for model stages
//   batch: 256          # records per source poll (one transaction)
//   max_values: 64      # events carry their values in the JSON when there are at most this many
#pragma once

#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "core/env.h"
#include "edgeai/status.h"
#include "pipeline/actions.h"
#include "pipeline/config.h"
#include "pipeline/delivery.h"
#include "pipeline/metrics.h"
#include "pipeline/outbox.h"
#include "pipeline/sources.h"
#include "pipeline/stages.h"

namespace edgeai::pipeline {

struct RunOptions {
  const std::atomic<bool>* stop = nullptr;  // set by SIGTERM/SIGINT
  int metrics_port = -1;                    // -1: no server; 0: any free port (printed)
  double status_interval_s = 0;             // 0: no status lines
  double drain_timeout_s = 5;
  bool exit_when_done = true;  // return once every source is finished and the outbox is empty
  double max_seconds = 0;      // 0: no limit
  std::string report_path;     // JSON summary written at the end
};

class Pipeline {
 public:
  // Builds everything (models loaded, files checked). With open_outbox false (validate), the
  // outbox is not opened and no MQTT connection is made.
  static Result<std::unique_ptr<Pipeline>> create(const Config& cfg, bool open_outbox);
  ~Pipeline();

  Status run(const RunOptions& options);
  std::string metrics_text();  // Prometheus text format
  std::string summary() const;  // one line for `validate`
  const std::string& name() const { return name_; }
  Outbox* outbox() { return outbox_.get(); }
  const std::string& outbox_path() const { return outbox_opt_.path; }

 private:
  Pipeline() = default;
  Status ingest(Source& src, size_t index, double now, int64_t* work);
  void log_error(const std::string& msg);
  std::string status_line(double elapsed);
  std::string render_metrics();

  std::string name_;
  std::unique_ptr<Env> env_;
  std::vector<std::unique_ptr<Source>> sources_;
  std::vector<std::unique_ptr<Stage>> stages_;
  std::vector<std::unique_ptr<Action>> actions_;
  std::unique_ptr<Outbox> outbox_;
  std::unique_ptr<Dispatcher> dispatcher_;
  DeliveryOptions delivery_;
  OutboxOptions outbox_opt_;
  size_t batch_ = 256, max_values_ = 64;

  // metrics (pipeline thread)
  std::vector<int64_t> events_in_, emitted_;
  std::vector<Histogram> stage_latency_;
  std::vector<int64_t> stage_out_;
  Histogram e2e_;
  int64_t events_out_ = 0, errors_ = 0, rows_added_ = 0;
  double started_ = 0;
  // what the metrics server serves (rendered by the pipeline thread)
  std::mutex metrics_mu_;
  std::string metrics_cache_;
};

}  // namespace edgeai::pipeline
