#include "pipeline/mqtt.h"

#include <mosquitto.h>

namespace edgeai::pipeline {

Result<std::unique_ptr<MqttClient>> MqttClient::create(const MqttOptions& options) {
  if (!options.clean_session && options.client_id.empty()) {
    return invalid_argument("MQTT: a persistent session (clean_session false) needs a client id");
  }
  // Reference-counted in libmosquitto 2: each client holds one reference.
  mosquitto_lib_init();
  std::unique_ptr<MqttClient> c(new MqttClient());
  c->opt_ = options;
  c->mosq_ = mosquitto_new(options.client_id.empty() ? nullptr : options.client_id.c_str(), options.clean_session,
                           c.get());
  if (!c->mosq_) {
    mosquitto_lib_cleanup();
    return io_error("MQTT: cannot create a client");
  }
  mosquitto_int_option(c->mosq_, MOSQ_OPT_PROTOCOL_VERSION, MQTT_PROTOCOL_V311);
  mosquitto_max_inflight_messages_set(c->mosq_, 0);  // our own window bounds what is in flight
  mosquitto_connect_callback_set(c->mosq_, &MqttClient::on_connect);
  mosquitto_disconnect_callback_set(c->mosq_, &MqttClient::on_disconnect);
  mosquitto_publish_callback_set(c->mosq_, &MqttClient::on_publish);
  mosquitto_message_callback_set(c->mosq_, &MqttClient::on_message);
  mosquitto_reconnect_delay_set(c->mosq_, 1, 5, false);
  // connect_async fails at once only for bad arguments; a broker that is down is retried by the
  // network thread.
  int rc = mosquitto_connect_async(c->mosq_, options.host.c_str(), options.port, options.keepalive_s);
  if (rc != MOSQ_ERR_SUCCESS && rc != MOSQ_ERR_ERRNO && rc != MOSQ_ERR_NO_CONN) {
    return invalid_argument("MQTT: cannot connect to " + options.host + ":" + std::to_string(options.port) + ": " +
                            mosquitto_strerror(rc));
  }
  rc = mosquitto_loop_start(c->mosq_);
  if (rc != MOSQ_ERR_SUCCESS) return io_error(std::string("MQTT: cannot start the network thread: ") + mosquitto_strerror(rc));
  c->started_ = true;
  return c;
}

MqttClient::~MqttClient() {
  if (mosq_) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stopping_ = true;
    }
    room_.notify_all();
    if (connected_) mosquitto_disconnect(mosq_);
    if (started_) mosquitto_loop_stop(mosq_, true);
    mosquitto_destroy(mosq_);
    mosquitto_lib_cleanup();
  }
}

void MqttClient::on_connect(mosquitto* m, void* self, int rc) {
  auto* c = static_cast<MqttClient*>(self);
  if (rc != 0) {
    std::lock_guard<std::mutex> lock(c->mu_);
    c->last_error_ = std::string("connection refused: ") + mosquitto_connack_string(rc);
    return;
  }
  for (const std::string& t : c->opt_.subscribe) mosquitto_subscribe(m, nullptr, t.c_str(), c->opt_.qos);
  c->connected_ = true;
}

void MqttClient::on_disconnect(mosquitto*, void* self, int rc) {
  auto* c = static_cast<MqttClient*>(self);
  c->connected_ = false;
  c->epoch_++;
  std::lock_guard<std::mutex> lock(c->mu_);
  c->last_error_ = std::string("disconnected: ") + mosquitto_strerror(rc);
}

void MqttClient::on_publish(mosquitto*, void* self, int mid) {
  auto* c = static_cast<MqttClient*>(self);
  std::lock_guard<std::mutex> lock(c->mu_);
  c->acks_.push_back(mid);
}

void MqttClient::on_message(mosquitto*, void* self, const mosquitto_message* m) {
  auto* c = static_cast<MqttClient*>(self);
  std::unique_lock<std::mutex> lock(c->mu_);
  // Back-pressure: a full queue holds the network thread, so the broker stops sending (its
  // in-flight window fills) instead of anything being dropped here.
  c->room_.wait(lock, [c] { return c->stopping_ || c->messages_.size() < c->opt_.max_queued; });
  MqttMessage msg;
  msg.topic = m->topic ? m->topic : "";
  if (m->payload && m->payloadlen > 0) msg.payload.assign(static_cast<const char*>(m->payload), m->payloadlen);
  c->messages_.push_back(std::move(msg));
}

Result<int> MqttClient::publish(const std::string& topic, const std::string& payload, int qos, bool retain) {
  int mid = 0;
  int rc = mosquitto_publish(mosq_, &mid, topic.c_str(), (int)payload.size(), payload.data(), qos, retain);
  if (rc != MOSQ_ERR_SUCCESS) return io_error(std::string("MQTT publish: ") + mosquitto_strerror(rc));
  return mid;
}

void MqttClient::take_acks(std::vector<int>& mids) {
  std::lock_guard<std::mutex> lock(mu_);
  mids.insert(mids.end(), acks_.begin(), acks_.end());
  acks_.clear();
}

void MqttClient::take_messages(std::vector<MqttMessage>& out, size_t max) {
  std::lock_guard<std::mutex> lock(mu_);
  while (!messages_.empty() && out.size() < max) {
    out.push_back(std::move(messages_.front()));
    messages_.pop_front();
  }
  room_.notify_all();
}

std::string MqttClient::last_error() const {
  std::lock_guard<std::mutex> lock(mu_);
  return last_error_;
}

}  // namespace edgeai::pipeline
