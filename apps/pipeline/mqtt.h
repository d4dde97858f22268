// A thin libmosquitto client: connects in the background and reconnects by itself (its own
// network thread), subscribes again on every connect, and hands over received messages and
// publish acknowledgements (PUBACK) through queues that the pipeline's thread drains.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "edgeai/status.h"

struct mosquitto;
struct mosquitto_message;

namespace edgeai::pipeline {

struct MqttOptions {
  std::string host = "127.0.0.1";
  int port = 1883;
  std::string client_id;       // empty: the broker picks one (then clean_session must be true)
  bool clean_session = true;
  int keepalive_s = 10;
  std::vector<std::string> subscribe;  // topics, subscribed with `qos` on every connect
  int qos = 1;
  size_t max_queued = 100000;  // received messages waiting for the pipeline
};

struct MqttMessage {
  std::string topic;
  std::string payload;
};

class MqttClient {
 public:
  static Result<std::unique_ptr<MqttClient>> create(const MqttOptions& options);
  ~MqttClient();
  MqttClient(const MqttClient&) = delete;
  MqttClient& operator=(const MqttClient&) = delete;

  bool connected() const { return connected_.load(); }
  // Counts disconnections: messages in flight before a change may never be acknowledged.
  int64_t epoch() const { return epoch_.load(); }
  // Queues a publish; returns its message id (acknowledged later through take_acks for qos > 0).
  Result<int> publish(const std::string& topic, const std::string& payload, int qos, bool retain);
  void take_acks(std::vector<int>& mids);
  void take_messages(std::vector<MqttMessage>& out, size_t max);
  std::string last_error() const;

 private:
  MqttClient() = default;
  static void on_connect(mosquitto*, void* self, int rc);
  static void on_disconnect(mosquitto*, void* self, int rc);
  static void on_publish(mosquitto*, void* self, int mid);
  static void on_message(mosquitto*, void* self, const ::mosquitto_message* m);
  MqttOptions opt_;
  mosquitto* mosq_ = nullptr;
  std::atomic<bool> connected_{false};
  std::atomic<int64_t> epoch_{0};
  mutable std::mutex mu_;
  std::vector<int> acks_;
  std::deque<MqttMessage> messages_;
  std::condition_variable room_;
  bool stopping_ = false;
  std::string last_error_;
  bool started_ = false;
};

}  // namespace edgeai::pipeline
