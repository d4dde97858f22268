#include "pipeline/sources.h"

#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

#include <sys/stat.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "formats/tensor_io/npy.h"
#include "pipeline/mqtt.h"

namespace edgeai::pipeline {

namespace fs = std::filesystem;

namespace {

bool parse_numbers(const std::string& text, std::vector<float>* out) {
  out->clear();
  const char* p = text.c_str();
  while (*p) {
    while (*p == ' ' || *p == '\t' || *p == '\r') ++p;
    if (!*p) break;
    char* end = nullptr;
    double v = std::strtod(p, &end);
    if (end == p) return false;
    out->push_back(static_cast<float>(v));
    p = end;
    while (*p == ' ' || *p == '\t' || *p == '\r') ++p;
    if (*p == ',' || *p == ';') ++p;
    else if (*p) return false;
  }
  return !out->empty();
}

bool json_numbers(const nlohmann::json& j, std::vector<float>* out) {
  if (j.is_number()) {
    out->push_back(j.get<float>());
    return true;
  }
  if (!j.is_array()) return false;
  for (const auto& x : j) {
    if (!json_numbers(x, out)) return false;
  }
  return true;
}

}  // namespace

Status parse_record_text(const std::string& text, Record* r) {
  size_t i = 0;
  while (i < text.size() && std::isspace((unsigned char)text[i])) ++i;
  if (i < text.size() && (text[i] == '{' || text[i] == '[')) {
    nlohmann::json j = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
    if (j.is_discarded()) return invalid_argument("not valid JSON: " + text.substr(0, 80));
    if (j.is_array()) {
      if (!json_numbers(j, &r->values)) return invalid_argument("a JSON array must hold numbers only");
      return ok_status();
    }
    for (auto it = j.begin(); it != j.end(); ++it) {
      if (it.key() == "values" || it.key() == "value") {
        if (!json_numbers(it.value(), &r->values)) return invalid_argument("'" + it.key() + "' must be numbers");
      } else if (it.key() == "id" && it.value().is_string()) {
        r->id = it.value().get<std::string>();
      } else {
        r->fields[it.key()] = it.value();
      }
    }
    return ok_status();
  }
  if (!parse_numbers(text, &r->values)) return invalid_argument("not numbers or JSON: " + text.substr(0, 80));
  return ok_status();
}

Status read_wav(const std::string& path, int rate, std::vector<float>* samples, int* file_rate) {
  std::ifstream f(path, std::ios::binary);
  if (!f) return not_found(path + ": cannot open");
  std::string data((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  auto u16 = [&](size_t o) { return (uint32_t)(uint8_t)data[o] | (uint32_t)(uint8_t)data[o + 1] << 8; };
  auto u32 = [&](size_t o) { return u16(o) | u16(o + 2) << 16; };
  if (data.size() < 12 || data.compare(0, 4, "RIFF") != 0 || data.compare(8, 4, "WAVE") != 0) {
    return invalid_argument(path + ": not a RIFF/WAVE file");
  }
  int format = 0, channels = 0, bits = 0;
  uint32_t srate = 0;
  size_t pos = 12, data_off = 0, data_len = 0;
  while (pos + 8 <= data.size()) {
    std::string id = data.substr(pos, 4);
    size_t len = u32(pos + 4);
    size_t body = pos + 8;
    if (len > data.size() - body) len = data.size() - body;  // a truncated last chunk: read what is there
    if (id == "fmt " && len >= 16) {
      format = (int)u16(body);
      channels = (int)u16(body + 2);
      srate = u32(body + 4);
      bits = (int)u16(body + 14);
      if (format == 0xFFFE && len >= 26) format = (int)u16(body + 24);
    } else if (id == "data") {
      data_off = body;
      data_len = len;
    }
    pos = body + len + (len & 1);
  }
  if (channels <= 0 || srate == 0 || data_off == 0) return invalid_argument(path + ": no fmt or data chunk");
  if (!((format == 1 && (bits == 8 || bits == 16 || bits == 24 || bits == 32)) || (format == 3 && bits == 32))) {
    return unsupported(path + ": WAV format " + std::to_string(format) + " with " + std::to_string(bits) +
                       " bits (PCM 8/16/24/32 or float 32 only)");
  }
  const size_t bps = bits / 8, frame = bps * channels, n = data_len / frame;
  std::vector<float> mono(n);
  for (size_t i = 0; i < n; ++i) {
    double sum = 0;
    for (int c = 0; c < channels; ++c) {
      const unsigned char* p = reinterpret_cast<const unsigned char*>(data.data() + data_off + i * frame + c * bps);
      double v;
      if (format == 3) {
        float x;
        std::memcpy(&x, p, 4);
        v = x;
      } else if (bits == 8) {
        v = (p[0] - 128) / 128.0;
      } else if (bits == 16) {
        v = (int16_t)(p[0] | p[1] << 8) / 32768.0;
      } else if (bits == 24) {
        int32_t x = (int32_t)((uint32_t)p[0] << 8 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 24) >> 8;
        v = x / 8388608.0;
      } else {
        int32_t x = (int32_t)((uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24);
        v = x / 2147483648.0;
      }
      sum += v;
    }
    mono[i] = (float)(sum / channels);
  }
  *file_rate = (int)srate;
  if (rate <= 0 || (uint32_t)rate == srate) {
    *samples = std::move(mono);
    return ok_status();
  }
  // Down-sampling: a moving average over the ratio first (a crude low-pass against aliasing).
  const double ratio = (double)srate / rate;
  if (ratio > 1) {
    int k = (int)std::ceil(ratio);
    std::vector<float> smooth(n);
    double acc = 0;
    for (size_t i = 0; i < n; ++i) {
      acc += mono[i];
      if (i >= (size_t)k) acc -= mono[i - k];
      smooth[i] = (float)(acc / std::min<size_t>(i + 1, k));
    }
    // The average lags by (k-1)/2 samples; interpolate at shifted positions to compensate.
    mono.swap(smooth);
  }
  const size_t m = (size_t)std::floor((n - 1) / ratio) + 1;
  samples->resize(n ? m : 0);
  const double lag = ratio > 1 ? (std::ceil(ratio) - 1) / 2.0 : 0.0;
  for (size_t j = 0; j < samples->size(); ++j) {
    double x = std::min(j * ratio + lag, (double)(n - 1));
    size_t i0 = (size_t)x;
    size_t i1 = std::min(i0 + 1, n - 1);
    double t = x - i0;
    (*samples)[j] = (float)(mono[i0] * (1 - t) + mono[i1] * t);
  }
  return ok_status();
}

namespace {

enum class Format { kJsonl, kCsv, kNpy, kWav };

bool format_of(const fs::path& p, Format* f) {
  std::string e = p.extension().string();
  std::transform(e.begin(), e.end(), e.begin(), ::tolower);
  if (e == ".jsonl" || e == ".json" || e == ".ndjson") *f = Format::kJsonl;
  else if (e == ".csv" || e == ".txt") *f = Format::kCsv;
  else if (e == ".npy") *f = Format::kNpy;
  else if (e == ".wav") *f = Format::kWav;
  else return false;
  return true;
}

struct FileReader {
  std::string path, key;
  Format format = Format::kJsonl;
  SourceProgress at;
  bool done = false;
  // text
  int fd = -1;
  std::string buf;
  int64_t buf_start = 0;  // file offset of buf[0]
  // npy / wav: the whole file, cut into records
  bool loaded = false;
  std::vector<float> data;
  Shape row_shape;
  int64_t row_len = 0, rows = 0;
  int rate = 1;  // wav: samples per second after resampling
  ~FileReader() {
    if (fd >= 0) ::close(fd);
  }
};

class FileSource : public Source {
 public:
  FileSource(std::string name) : Source(std::move(name)) {}
  std::string root_;
  bool folder_ = false, follow_ = false;
  int64_t chunk_ = 512;
  int sample_rate_ = 0;
  std::vector<std::unique_ptr<FileReader>> files_;
  Outbox* outbox_ = nullptr;
  double last_scan_ = -1e9;

  bool finished() const override {
    if (follow_) return false;
    for (const auto& f : files_)
      if (!f->done) return false;
    return true;
  }

  Status restore(Outbox& outbox) override {
    outbox_ = &outbox;
    for (auto& f : files_) {
      if (auto p = outbox.progress(f->key)) f->at = *p;
    }
    return ok_status();
  }

  void scan() {
    std::vector<fs::path> found;
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(root_, ec)) {
      Format f;
      if (e.is_regular_file(ec) && format_of(e.path(), &f)) found.push_back(e.path());
    }
    std::sort(found.begin(), found.end());
    for (const fs::path& p : found) {
      bool known = false;
      for (const auto& f : files_) known = known || f->path == p.string();
      if (known) continue;
      auto r = std::make_unique<FileReader>();
      r->path = p.string();
      r->key = name() + "/" + p.filename().string();
      format_of(p, &r->format);
      if (outbox_) {
        if (auto pr = outbox_->progress(r->key)) r->at = *pr;
      }
      files_.push_back(std::move(r));
    }
  }

  Status poll(size_t max, std::vector<Record>& out) override {
    if (folder_ && follow_) {
      double now = (double)std::chrono::duration_cast<std::chrono::milliseconds>(
                       std::chrono::steady_clock::now().time_since_epoch()).count() / 1000.0;
      if (now - last_scan_ > 1.0) {
        scan();
        last_scan_ = now;
      }
    }
    for (auto& f : files_) {
      if (f->done) continue;
      size_t before = out.size();
      Status st = f->format == Format::kJsonl || f->format == Format::kCsv ? poll_text(*f, max, out) : poll_whole(*f, max, out);
      RETURN_IF_ERROR(st);
      if (out.size() >= max) break;
      if (out.size() == before && !f->done) continue;  // followed file with nothing new
    }
    return ok_status();
  }

  Status poll_text(FileReader& f, size_t max, std::vector<Record>& out) {
    if (f.fd < 0) {
      f.fd = ::open(f.path.c_str(), O_RDONLY | O_CLOEXEC);
      if (f.fd < 0) return io_error(f.path + ": " + std::strerror(errno));
      f.buf.clear();
      f.buf_start = f.at.offset;
    }
    struct stat sb;
    if (::fstat(f.fd, &sb) == 0 && sb.st_size < f.buf_start + (int64_t)f.buf.size()) {
      // Truncated or replaced: start again from its beginning.
      f.buf.clear();
      f.buf_start = 0;
      f.at.offset = 0;
    }
    size_t n0 = out.size();
    bool eof = false;
    while (out.size() - n0 < max) {
      size_t nl = f.buf.find('\n');
      if (nl == std::string::npos) {
        if (eof) break;
        char tmp[65536];
        ssize_t n = ::pread(f.fd, tmp, sizeof tmp, f.buf_start + (int64_t)f.buf.size());
        if (n < 0) return io_error(f.path + ": " + std::strerror(errno));
        if (n == 0) {
          eof = true;
          if (!follow_ && !f.buf.empty()) {
            f.buf.push_back('\n');  // a last line without its newline
            continue;
          }
          break;
        }
        f.buf.append(tmp, n);
        continue;
      }
      std::string line = f.buf.substr(0, nl);
      f.buf.erase(0, nl + 1);
      f.buf_start += (int64_t)nl + 1;
      if (!line.empty() && line.back() == '\r') line.pop_back();
      bool blank = line.find_first_not_of(" \t") == std::string::npos;
      f.at.offset = f.buf_start;
      if (blank) continue;
      Record r;
      Status st = parse_record_text(line, &r);
      if (!st.ok()) {
        // A CSV header line is skipped without complaint.
        if (f.format == Format::kCsv && f.at.seq == 0 && f.buf_start == (int64_t)nl + 1) continue;
        r.error = f.path + ": record " + std::to_string(f.at.seq) + ": " + st.message();
      }
      ++f.at.seq;
      r.progress_key = f.key;
      r.after = f.at;
      out.push_back(std::move(r));
    }
    if (eof && !follow_ && f.buf.empty()) {
      f.done = true;
      ::close(f.fd);
      f.fd = -1;
    }
    return ok_status();
  }

  Status poll_whole(FileReader& f, size_t max, std::vector<Record>& out) {
    if (!f.loaded) {
      f.loaded = true;
      if (f.format == Format::kNpy) {
        auto t = formats::load_npy(f.path);
        if (!t.ok()) return t.status();
        if (t->rank() == 0) return invalid_argument(f.path + ": a scalar .npy has no rows");
        if (!dtype_is_float(t->dtype()) && !dtype_is_integer(t->dtype())) {
          return unsupported(f.path + ": .npy of " + std::string(dtype_name(t->dtype())) + " (numbers only)");
        }
        f.data = t->to_float_vector();
        f.rows = t->dim(0);
        f.row_shape.assign(t->shape().begin() + 1, t->shape().end());
        f.row_len = f.rows ? (int64_t)f.data.size() / f.rows : 0;
      } else {
        int file_rate = 0;
        RETURN_IF_ERROR(read_wav(f.path, sample_rate_, &f.data, &file_rate));
        f.rate = sample_rate_ > 0 ? sample_rate_ : file_rate;
        f.row_len = chunk_;
        f.rows = ((int64_t)f.data.size() + chunk_ - 1) / chunk_;
        f.data.resize(f.rows * chunk_, 0.0f);  // the last chunk padded with silence
        f.row_shape = {chunk_};
      }
    }
    while (f.at.offset < f.rows && max-- > 0) {
      Record r;
      r.values.assign(f.data.begin() + f.at.offset * f.row_len, f.data.begin() + (f.at.offset + 1) * f.row_len);
      r.shape = f.row_shape;
      if (f.format == Format::kWav) {
        r.fields["sample"] = f.at.offset * chunk_;
        r.fields["t"] = std::round(1000.0 * f.at.offset * chunk_ / f.rate) / 1000.0;  // seconds, ms precision
      }
      ++f.at.offset;
      ++f.at.seq;
      r.progress_key = f.key;
      r.after = f.at;
      out.push_back(std::move(r));
    }
    if (f.at.offset >= f.rows) {
      f.done = true;
      f.data.clear();
      f.data.shrink_to_fit();
    }
    return ok_status();
  }
};

class StdinSource : public Source {
 public:
  StdinSource(std::string name) : Source(std::move(name)) {}
  bool finished() const override { return eof_ && buf_.empty(); }
  Status poll(size_t max, std::vector<Record>& out) override {
    size_t n0 = out.size();
    while (out.size() - n0 < max) {
      size_t nl = buf_.find('\n');
      if (nl == std::string::npos) {
        if (eof_) {
          if (buf_.empty()) break;
          buf_.push_back('\n');
          continue;
        }
        struct pollfd p {0, POLLIN, 0};
        if (::poll(&p, 1, 0) <= 0) break;
        char tmp[65536];
        ssize_t n = ::read(0, tmp, sizeof tmp);
        if (n < 0 && (errno == EINTR || errno == EAGAIN)) break;
        if (n <= 0) {
          eof_ = true;
          continue;
        }
        buf_.append(tmp, n);
        continue;
      }
      std::string line = buf_.substr(0, nl);
      buf_.erase(0, nl + 1);
      if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
      Record r;
      Status st = parse_record_text(line, &r);
      if (!st.ok()) r.error = "stdin line " + std::to_string(seq_ + 1) + ": " + st.message();
      r.after = {0, ++seq_};
      out.push_back(std::move(r));
    }
    return ok_status();
  }

 private:
  std::string buf_;
  bool eof_ = false;
  int64_t seq_ = 0;
};

class MqttSource : public Source {
 public:
  MqttSource(std::string name, std::unique_ptr<MqttClient> c) : Source(std::move(name)), client_(std::move(c)) {}
  Status restore(Outbox& outbox) override {
    if (auto p = outbox.progress(name())) seq_ = p->seq;
    return ok_status();
  }
  Status poll(size_t max, std::vector<Record>& out) override {
    msgs_.clear();
    client_->take_messages(msgs_, max);
    for (MqttMessage& m : msgs_) {
      Record r;
      Status st = parse_record_text(m.payload, &r);
      if (!st.ok()) r.error = "topic " + m.topic + ": " + st.message();
      r.fields["topic"] = m.topic;
      ++seq_;
      r.progress_key = name();
      r.after = {seq_, seq_};
      out.push_back(std::move(r));
    }
    return ok_status();
  }

 private:
  std::unique_ptr<MqttClient> client_;
  std::vector<MqttMessage> msgs_;
  int64_t seq_ = 0;
};

// splitmix64: a reproducible uniform in [-1, 1) from (seed, seq, channel).
double hash_uniform(uint64_t seed, int64_t seq, int64_t ch) {
  uint64_t z = seed * 0x9E3779B97F4A7C15ULL + (uint64_t)seq * 0xBF58476D1CE4E5B9ULL + (uint64_t)ch * 0x94D049BB133111EBULL;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  z ^= z >> 31;
  return (double)(z >> 11) / (double)(1ULL << 52) - 1.0;
}

class SyntheticSource : public Source {
 public:
  SyntheticSource(std::string name) : Source(std::move(name)) {}
  int64_t channels_ = 1, count_ = 0, spike_every_ = 0;
  double period_ = 100, noise_ = 0.1, spike_ = 5.0, offset_ = 0, amplitude_ = 1;
  uint64_t seed_ = 1;
  int64_t seq_ = 0;
  bool finished() const override { return count_ > 0 && seq_ >= count_; }
  Status restore(Outbox& outbox) override {
    if (auto p = outbox.progress(name())) seq_ = p->seq;
    return ok_status();
  }
  Status poll(size_t max, std::vector<Record>& out) override {
    for (size_t k = 0; k < max && !finished(); ++k) {
      Record r;
      r.values.resize(channels_);
      for (int64_t c = 0; c < channels_; ++c) {
        double v = offset_ + amplitude_ * std::sin(2 * M_PI * (double)seq_ / period_ + (double)c) +
                   noise_ * hash_uniform(seed_, seq_, c);
        if (spike_every_ > 0 && seq_ % spike_every_ == spike_every_ - 1) v += spike_;
        r.values[c] = (float)v;
      }
      ++seq_;
      r.progress_key = name();
      r.after = {seq_, seq_};
      out.push_back(std::move(r));
    }
    return ok_status();
  }
};

}  // namespace

Result<std::unique_ptr<Source>> make_source(const Config& cfg, const YAML::Node& node, int index,
                                            const std::string& pipeline_name) {
  std::string what = "source " + std::to_string(index + 1);
  Fields f(cfg, node, what);
  std::string name = f.str("name", "");
  std::string type = f.str("type", "", true);
  if (!f.ok()) return f.status();
  if (name.empty()) name = type + std::to_string(index + 1);
  else what = "source '" + name + "'";
  Fields g(cfg, node, what + " (" + type + ")");
  g.str("name");
  g.str("type");
  double rate = g.num("rate", 0.0);
  if (rate < 0) g.error("'rate' must not be negative");
  std::unique_ptr<Source> src;
  if (type == "file") {
    YAML::Node pn = g.node("path", true);
    auto s = std::make_unique<FileSource>(name);
    s->root_ = g.path("path", true, false);
    s->follow_ = g.flag("follow", false);
    s->chunk_ = g.integer("chunk", 512);
    s->sample_rate_ = (int)g.integer("sample_rate", 0);
    if (s->chunk_ <= 0) g.error("'chunk' must be positive");
    RETURN_IF_ERROR(g.finish());
    std::error_code ec;
    if (!fs::exists(s->root_, ec)) {
      g.error("unreadable source: no such file or folder: " + s->root_, &pn);
      return g.status();
    }
    if (fs::is_directory(s->root_, ec)) {
      s->folder_ = true;
      s->scan();
    } else {
      std::ifstream probe(s->root_, std::ios::binary);
      if (!probe) {
        g.error("unreadable source: cannot open " + s->root_ + ": " + std::strerror(errno), &pn);
        return g.status();
      }
      auto r = std::make_unique<FileReader>();
      r->path = s->root_;
      r->key = name;
      if (!format_of(s->root_, &r->format)) {
        g.error("'" + s->root_ + "': unknown file type (.jsonl, .csv, .npy, .wav)", &pn);
        return g.status();
      }
      if (s->follow_ && (r->format == Format::kNpy || r->format == Format::kWav)) {
        g.error("follow: true works on .jsonl and .csv files (a .npy or .wav file is read once)");
        return g.status();
      }
      s->files_.push_back(std::move(r));
    }
    src = std::move(s);
  } else if (type == "stdin") {
    RETURN_IF_ERROR(g.finish());
    src = std::make_unique<StdinSource>(name);
  } else if (type == "mqtt") {
    MqttOptions o;
    o.host = g.str("host", "127.0.0.1");
    o.port = (int)g.integer("port", 1883);
    o.subscribe = g.strs("topic", true);
    o.client_id = g.str("client_id", "edgeai-" + pipeline_name + "-" + name);
    o.clean_session = g.flag("clean_session", false);
    o.qos = (int)g.integer("qos", 1);
    o.keepalive_s = (int)g.integer("keepalive", 10);
    o.max_queued = (size_t)g.integer("max_queued", 10000);
    RETURN_IF_ERROR(g.finish());
    auto c = MqttClient::create(o);
    if (!c.ok()) return c.status().with_context(location(cfg, node) + what + ": ");
    src = std::make_unique<MqttSource>(name, std::move(c).value());
  } else if (type == "synthetic") {
    auto s = std::make_unique<SyntheticSource>(name);
    s->channels_ = g.integer("channels", 1);
    s->count_ = g.integer("count", 0);
    s->period_ = g.num("period", 100);
    s->noise_ = g.num("noise", 0.1);
    s->amplitude_ = g.num("amplitude", 1.0);
    s->offset_ = g.num("offset", 0.0);
    s->spike_every_ = g.integer("spike_every", 0);
    s->spike_ = g.num("spike", 5.0);
    s->seed_ = (uint64_t)g.integer("seed", 1);
    if (s->channels_ <= 0 || s->channels_ > 1 << 20) g.error("'channels' must be in 1..1048576");
    if (s->period_ <= 0) g.error("'period' must be positive");
    RETURN_IF_ERROR(g.finish());
    src = std::move(s);
  } else {
    YAML::Node t = f.node("type");
    Fields e(cfg, node, what);
    e.error("unknown source type '" + type + "' (known: file, stdin, mqtt, synthetic)", &t);
    return e.status();
  }
  src->set_rate(rate);
  return src;
}

}  // namespace edgeai::pipeline
