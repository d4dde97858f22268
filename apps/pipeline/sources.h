// Sources: where events come from. Each poll returns what is available now without blocking.
//
//   file      — a file or a folder of .jsonl, .csv, .npy or .wav files, read once or followed as
//               it grows (follow: true; .jsonl and .csv only). Progress (byte offset, row or
//               chunk index) is stored with the outbox rows, so a restart resumes after the last
//               committed record.
//   stdin     — lines of JSON or comma-separated numbers (not replayable: nothing to resume).
//   mqtt      — a topic subscription with QoS 1 and a persistent session (clean_session false,
//               fixed client id): the broker keeps what this client has not acknowledged.
//               libmosquitto acknowledges a message when it arrives, before the pipeline commits
//               it; a kill -9 in that instant (microseconds) can lose the message.
//   synthetic — a deterministic sensor signal (sine + noise, optional spikes), for examples and
//               soak tests; resumable like a file.
//
// A line or message is a JSON object (its "values" array, or "value", becomes the event's values
// and the other keys its fields), a JSON array of numbers, or comma-separated numbers.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "edgeai/status.h"
#include "pipeline/config.h"
#include "pipeline/outbox.h"

namespace edgeai::pipeline {

struct Record {
  std::vector<float> values;
  std::vector<int64_t> shape;
  nlohmann::json fields = nlohmann::json::object();
  std::string error;         // a record that could not be parsed (counted, skipped)
  std::string id;            // set when the record carries its own id (an "id" key); else key:seq
  std::string progress_key;  // which progress row this record advances
  SourceProgress after;      // the progress once this record is committed
};

class Source {
 public:
  explicit Source(std::string name) : name_(std::move(name)) {}
  virtual ~Source() = default;
  Source(const Source&) = delete;
  Source& operator=(const Source&) = delete;

  // Appends up to `max` records available now.
  virtual Status poll(size_t max, std::vector<Record>& out) = 0;
  // A read-once source that has nothing more to give.
  virtual bool finished() const { return false; }
  // Resume from stored progress (called before the first poll).
  virtual Status restore(Outbox& outbox) { return ok_status(); }
  const std::string& name() const { return name_; }
  double rate() const { return rate_; }  // events per second at most (0: as fast as it reads)
  void set_rate(double r) { rate_ = r; }

 private:
  std::string name_;
  double rate_ = 0;
};

Result<std::unique_ptr<Source>> make_source(const Config& cfg, const YAML::Node& node, int index,
                                            const std::string& pipeline_name);

// Parses one line or message (JSON object / array / number, or comma-separated numbers).
Status parse_record_text(const std::string& text, Record* r);

// Mono samples of a PCM (8/16/24/32-bit integer or 32-bit float) WAV file, channels averaged,
// resampled to `rate` (0: keep) by linear interpolation after a moving-average low-pass.
Status read_wav(const std::string& path, int rate, std::vector<float>* samples, int* file_rate);

}  // namespace edgeai::pipeline
