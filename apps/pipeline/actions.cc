#include "pipeline/actions.h"

#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <httplib.h>
#include <nlohmann/json.hpp>

#include "pipeline/event.h"

namespace edgeai::pipeline {

namespace {

std::string render_row(const std::string& tmpl, const OutboxRow& row) {
  if (tmpl.find("{{") == std::string::npos) return tmpl;
  nlohmann::json j = nlohmann::json::parse(row.payload, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) j = nlohmann::json::object();
  return render_template(tmpl, j);
}

class MqttAction : public Action {
 public:
  MqttAction(std::string name, std::unique_ptr<MqttClient> c, std::string topic, int qos, bool retain, size_t window)
      : Action(std::move(name)), client_(std::move(c)), topic_(std::move(topic)), qos_(qos), retain_(retain),
        window_(window) {}

  bool ready(std::string* why) override {
    if (!client_->connected()) {
      *why = "not connected to the broker" + (client_->last_error().empty() ? "" : " (" + client_->last_error() + ")");
      return false;
    }
    if (inflight_.size() >= window_) {
      *why = "in-flight window full";
      return false;
    }
    return true;
  }

  Attempt attempt(const OutboxRow& row, std::string* error) override {
    if (epoch_ != client_->epoch()) {
      inflight_.clear();
      epoch_ = client_->epoch();
    }
    auto mid = client_->publish(render_row(topic_, row), row.payload, qos_, retain_);
    if (!mid.ok()) {
      *error = mid.status().message();
      return Attempt::kFailed;
    }
    if (qos_ == 0) return Attempt::kDone;
    inflight_[*mid] = row.id;
    return Attempt::kPending;
  }

  void forget() override { inflight_.clear(); }

  void poll(std::vector<int64_t>& acked, bool* lost) override {
    mids_.clear();
    client_->take_acks(mids_);
    for (int mid : mids_) {
      auto it = inflight_.find(mid);
      if (it != inflight_.end()) {
        acked.push_back(it->second);
        inflight_.erase(it);
      }
    }
    if (epoch_ != client_->epoch()) {
      *lost = true;
      inflight_.clear();
      epoch_ = client_->epoch();
    }
  }

 private:
  std::unique_ptr<MqttClient> client_;
  std::string topic_;
  int qos_;
  bool retain_;
  size_t window_;
  std::map<int, int64_t> inflight_;  // mid -> outbox row
  std::vector<int> mids_;
  int64_t epoch_ = 0;
};

class FileAction : public Action {
 public:
  FileAction(std::string name, std::string path, bool sync) : Action(std::move(name)), path_(std::move(path)), sync_(sync) {}
  ~FileAction() override {
    if (fd_ >= 0) ::close(fd_);
  }
  Attempt attempt(const OutboxRow& row, std::string* error) override {
    if (fd_ < 0) fd_ = ::open(path_.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (fd_ < 0) {
      *error = path_ + ": " + std::strerror(errno);
      return Attempt::kFailed;
    }
    std::string line = row.payload + "\n";
    ssize_t n = ::write(fd_, line.data(), line.size());  // O_APPEND: one write, one line
    if (n != (ssize_t)line.size() || (sync_ && ::fsync(fd_) != 0)) {
      *error = path_ + ": " + std::strerror(errno);
      ::close(fd_);
      fd_ = -1;
      return Attempt::kFailed;
    }
    return Attempt::kDone;
  }

 private:
  std::string path_;
  bool sync_;
  int fd_ = -1;
};

class CommandAction : public Action {
 public:
  CommandAction(std::string name, std::string cmd, double timeout_s)
      : Action(std::move(name)), cmd_(std::move(cmd)), timeout_s_(timeout_s) {}
  Attempt attempt(const OutboxRow& row, std::string* error) override {
    int in[2];
    if (::pipe2(in, O_CLOEXEC) != 0) {
      *error = std::string("pipe: ") + std::strerror(errno);
      return Attempt::kFailed;
    }
    pid_t pid = ::fork();
    if (pid < 0) {
      *error = std::string("fork: ") + std::strerror(errno);
      ::close(in[0]);
      ::close(in[1]);
      return Attempt::kFailed;
    }
    if (pid == 0) {
      ::dup2(in[0], 0);
      ::execl("/bin/sh", "sh", "-c", cmd_.c_str(), (char*)nullptr);
      ::_exit(127);
    }
    ::close(in[0]);
    std::string data = row.payload + "\n";
    // The child may not read its stdin at all. Block SIGPIPE in this thread for the write (EPIPE
    // is enough) and take back a SIGPIPE it raised, so the process's signal handling is untouched.
    sigset_t pipe_set, old_set;
    sigemptyset(&pipe_set);
    sigaddset(&pipe_set, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &pipe_set, &old_set);
    size_t off = 0;
    bool broken = false;
    while (off < data.size()) {
      ssize_t n = ::write(in[1], data.data() + off, data.size() - off);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        broken = errno == EPIPE;
        break;
      }
      off += n;
    }
    if (broken) {
      struct timespec zero {0, 0};
      while (sigtimedwait(&pipe_set, nullptr, &zero) == SIGPIPE) {
      }
    }
    pthread_sigmask(SIG_SETMASK, &old_set, nullptr);
    ::close(in[1]);
    auto t0 = std::chrono::steady_clock::now();
    int status = 0;
    while (true) {
      pid_t r = ::waitpid(pid, &status, WNOHANG);
      if (r == pid) break;
      if (std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count() > timeout_s_) {
        ::kill(pid, SIGKILL);
        ::waitpid(pid, &status, 0);
        *error = "'" + cmd_ + "' ran past its timeout of " + std::to_string(timeout_s_) + " s";
        return Attempt::kFailed;
      }
      ::usleep(1000);
    }
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return Attempt::kDone;
    *error = "'" + cmd_ + "' exited with " +
             (WIFEXITED(status) ? "status " + std::to_string(WEXITSTATUS(status)) : std::string("a signal"));
    return Attempt::kFailed;
  }

 private:
  std::string cmd_;
  double timeout_s_;
};

class HttpAction : public Action {
 public:
  HttpAction(std::string name, std::string host, int port, std::string path, double timeout_s)
      : Action(std::move(name)), client_(host, port), path_(std::move(path)) {
    client_.set_connection_timeout(std::chrono::milliseconds((int64_t)(timeout_s * 1000)));
    client_.set_read_timeout(std::chrono::milliseconds((int64_t)(timeout_s * 1000)));
    client_.set_write_timeout(std::chrono::milliseconds((int64_t)(timeout_s * 1000)));
    client_.set_keep_alive(true);
  }
  Attempt attempt(const OutboxRow& row, std::string* error) override {
    httplib::Headers h{{"X-Event-Id", row.event_id}};
    auto res = client_.Post(path_, h, row.payload, "application/json");
    if (!res) {
      *error = "POST " + path_ + ": " + httplib::to_string(res.error());
      return Attempt::kFailed;
    }
    if (res->status < 200 || res->status >= 300) {
      *error = "POST " + path_ + ": HTTP " + std::to_string(res->status);
      return Attempt::kFailed;
    }
    return Attempt::kDone;
  }

 private:
  httplib::Client client_;
  std::string path_;
};

class LogAction : public Action {
 public:
  LogAction(std::string name, std::string format) : Action(std::move(name)), format_(std::move(format)) {}
  Attempt attempt(const OutboxRow& row, std::string* error) override {
    std::string line = format_.empty() ? row.payload : render_row(format_, row);
    std::printf("%s\n", line.c_str());
    std::fflush(stdout);
    return Attempt::kDone;
  }

 private:
  std::string format_;
};

// http://HOST[:PORT]/PATH with a loopback HOST.
bool parse_loopback_url(const std::string& url, std::string* host, int* port, std::string* path, std::string* why) {
  const std::string scheme = "http://";
  if (url.rfind(scheme, 0) != 0) {
    *why = "must start with http:// (only plain HTTP to this machine)";
    return false;
  }
  std::string rest = url.substr(scheme.size());
  size_t slash = rest.find('/');
  std::string hostport = rest.substr(0, slash);
  *path = slash == std::string::npos ? "/" : rest.substr(slash);
  *port = 80;
  if (!hostport.empty() && hostport[0] == '[') {
    size_t close = hostport.find(']');
    if (close == std::string::npos) {
      *why = "bad IPv6 address";
      return false;
    }
    *host = hostport.substr(1, close - 1);
    if (close + 1 < hostport.size() && hostport[close + 1] == ':') *port = std::atoi(hostport.c_str() + close + 2);
  } else {
    size_t colon = hostport.find(':');
    *host = hostport.substr(0, colon);
    if (colon != std::string::npos) *port = std::atoi(hostport.c_str() + colon + 1);
  }
  if (*port <= 0 || *port > 65535) {
    *why = "bad port";
    return false;
  }
  if (*host != "localhost" && *host != "::1" && host->rfind("127.", 0) != 0) {
    *why = "host '" + *host + "' is not a loopback address (127.x.x.x, ::1, localhost)";
    return false;
  }
  return true;
}

}  // namespace

Result<std::unique_ptr<Action>> make_action(const Config& cfg, const YAML::Node& node, int index,
                                            const std::string& pipeline_name) {
  std::string what = "action " + std::to_string(index + 1);
  Fields f(cfg, node, what);
  std::string name = f.str("name", "");
  std::string type = f.str("type", "", true);
  if (!f.ok()) return f.status();
  if (name.empty()) name = type + std::to_string(index + 1);
  else what = "action '" + name + "'";
  Fields g(cfg, node, what + " (" + type + ")");
  g.str("name");
  g.str("type");
  std::unique_ptr<Action> action;
  if (type == "mqtt") {
    MqttOptions o;
    o.host = g.str("host", "127.0.0.1");
    o.port = (int)g.integer("port", 1883);
    o.client_id = g.str("client_id", "edgeai-" + pipeline_name + "-" + name);
    o.clean_session = true;  // the outbox, not the broker session, holds what is not yet acknowledged
    o.keepalive_s = (int)g.integer("keepalive", 10);
    std::string topic = g.str("topic", "", true);
    int qos = (int)g.integer("qos", 1);
    bool retain = g.flag("retain", false);
    int64_t window = g.integer("max_inflight", 1000);
    if (qos < 0 || qos > 2) g.error("'qos' must be 0, 1 or 2");
    if (window <= 0) g.error("'max_inflight' must be positive");
    RETURN_IF_ERROR(g.finish());
    auto c = MqttClient::create(o);
    if (!c.ok()) return c.status().with_context(location(cfg, node) + what + ": ");
    action = std::make_unique<MqttAction>(name, std::move(c).value(), topic, qos, retain, (size_t)window);
  } else if (type == "file") {
    std::string path = g.path("path", true, false);
    bool sync = g.flag("fsync", false);
    RETURN_IF_ERROR(g.finish());
    action = std::make_unique<FileAction>(name, path, sync);
  } else if (type == "command") {
    std::string cmd = g.str("command", "", true);
    double timeout = g.num("timeout", 10.0);
    RETURN_IF_ERROR(g.finish());
    action = std::make_unique<CommandAction>(name, cmd, timeout);
  } else if (type == "http") {
    YAML::Node un = g.node("url", true);
    std::string url = g.str("url", "", true);
    double timeout = g.num("timeout", 5.0);
    RETURN_IF_ERROR(g.finish());
    std::string host, path, why;
    int port = 0;
    if (!parse_loopback_url(url, &host, &port, &path, &why)) {
      g.error("'url' " + url + ": " + why, &un);
      return g.status();
    }
    action = std::make_unique<HttpAction>(name, host, port, path, timeout);
  } else if (type == "log") {
    std::string format = g.str("format", "");
    RETURN_IF_ERROR(g.finish());
    action = std::make_unique<LogAction>(name, format);
  } else {
    YAML::Node t = f.node("type");
    Fields e(cfg, node, what);
    e.error("unknown action type '" + type + "' (known: mqtt, file, command, http, log)", &t);
    return e.status();
  }
  return action;
}

}  // namespace edgeai::pipeline
