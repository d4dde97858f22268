// Edge pipelines (apps/pipeline): configuration errors with their line numbers, each stage against
// hand-computed values, the SQLite outbox (bound policy, restart from its file), delivery with
// retry and backoff, and bad input. The end-to-end checks with a real mosquitto broker (broker
// restart, kill -9) are in tests/pipeline/check_pipeline.sh (ctest pipeline_mqtt).
#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include <httplib.h>

#include "pipeline/config.h"
#include "pipeline/delivery.h"
#include "pipeline/metrics.h"
#include "pipeline/outbox.h"
#include "pipeline/pipeline.h"
#include "pipeline/stages.h"

namespace edgeai::pipeline {
namespace {

namespace fs = std::filesystem;

const std::string kSource = EDGEAI_SOURCE_DIR;

// A fresh folder per test.
class TempDir {
 public:
  TempDir() {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    path_ = fs::temp_directory_path() /
            ("edgeai_pipeline_" + std::to_string(::getpid()) + "_" + info->test_suite_name() + "_" + info->name());
    fs::remove_all(path_);
    fs::create_directories(path_);
  }
  ~TempDir() { fs::remove_all(path_); }
  std::string file(const std::string& name) const { return (path_ / name).string(); }
  std::string write(const std::string& name, const std::string& text) const {
    std::ofstream(file(name)) << text;
    return file(name);
  }

 private:
  fs::path path_;
};

Result<std::unique_ptr<Pipeline>> build(const std::string& yaml, const std::string& dir, bool open_outbox = false) {
  auto cfg = parse_config(yaml, "cfg.yaml", dir);
  if (!cfg.ok()) return cfg.status();
  return Pipeline::create(*cfg, open_outbox);
}

std::string error_of(const std::string& yaml, const std::string& dir) {
  auto p = build(yaml, dir);
  return p.ok() ? std::string("(no error)") : p.status().message();
}

std::vector<std::string> read_lines(const std::string& path) {
  std::vector<std::string> out;
  std::ifstream f(path);
  std::string line;
  while (std::getline(f, line)) out.push_back(line);
  return out;
}

Event scalar_event(double v, int64_t seq) {
  Event e;
  e.id = "s:" + std::to_string(seq);
  e.source = "s";
  e.seq = seq;
  e.values = {static_cast<float>(v)};
  return e;
}

std::vector<Event> feed(Stage& s, const std::vector<double>& xs) {
  std::vector<Event> out;
  for (size_t i = 0; i < xs.size(); ++i) {
    Status st = s.process(scalar_event(xs[i], (int64_t)i), out);
    EXPECT_TRUE(st.ok()) << st.message();
  }
  return out;
}

// ---------------------------------------------------------------- configuration

TEST(PipelineConfig, ValidConfigBuilds) {
  TempDir t;
  t.write("in.jsonl", "{\"values\": [1]}\n");
  auto p = build(R"(name: demo
sources:
  - {type: file, name: in, path: in.jsonl}
stages:
  - {type: moving_average, window: 3}
  - {type: threshold, value: 0.5}
actions:
  - {type: log}
  - {type: file, path: out.jsonl}
)",
                 fs::path(t.file("")).string());
  ASSERT_TRUE(p.ok()) << p.status().message();
  EXPECT_NE((*p)->summary().find("2 stage(s)"), std::string::npos) << (*p)->summary();
}

TEST(PipelineConfig, SyntaxErrorHasLineNumber) {
  std::string msg = error_of("name: x\nsources:\n  - {type: file, path: [a\nactions: []\n", "/tmp");
  EXPECT_NE(msg.find("cfg.yaml:4:"), std::string::npos) << msg;
}

TEST(PipelineConfig, UnknownKeyNamesItsLine) {
  TempDir t;
  t.write("in.jsonl", "1\n");
  std::string msg = error_of(R"(sources:
  - type: file
    path: in.jsonl
stages:
  - type: window
    size: 4
    hopp: 2
actions:
  - type: log
)",
                             t.file(""));
  EXPECT_NE(msg.find("cfg.yaml:7:5:"), std::string::npos) << msg;
  EXPECT_NE(msg.find("unknown key 'hopp'"), std::string::npos) << msg;
}

TEST(PipelineConfig, MissingRequiredKeyAndBadValue) {
  TempDir t;
  t.write("in.jsonl", "1\n");
  std::string head = "sources:\n  - {type: file, path: in.jsonl}\nactions:\n  - {type: log}\nstages:\n";
  std::string msg = error_of(head + "  - {type: window, hop: 2}\n", t.file(""));
  EXPECT_NE(msg.find("cfg.yaml:6:"), std::string::npos) << msg;
  EXPECT_NE(msg.find("missing required key 'size'"), std::string::npos) << msg;
  msg = error_of(head + "  - {type: window, size: many}\n", t.file(""));
  EXPECT_NE(msg.find("cfg.yaml:6:"), std::string::npos) << msg;
  EXPECT_NE(msg.find("'size' must be an integer"), std::string::npos) << msg;
  msg = error_of(head + "  - {type: hysteresis, on: 0.2, off: 0.5}\n", t.file(""));
  EXPECT_NE(msg.find("must not exceed"), std::string::npos) << msg;
  msg = error_of("sources: []\nactions:\n  - {type: log}\n", t.file(""));
  EXPECT_NE(msg.find("cfg.yaml:1:"), std::string::npos) << msg;
  EXPECT_NE(msg.find("'sources' is empty"), std::string::npos) << msg;
  msg = error_of("sources:\n  - {type: file, path: in.jsonl}\nactions:\n  - {type: http, url: 'http://example.com/x'}\n",
                 t.file(""));
  EXPECT_NE(msg.find("cfg.yaml:4:"), std::string::npos) << msg;
  EXPECT_NE(msg.find("not a loopback address"), std::string::npos) << msg;
}

TEST(PipelineConfig, JsonConfig) {
  TempDir t;
  t.write("in.csv", "1,2\n");
  auto p = build(R"({"sources": [{"type": "file", "path": "in.csv"}], "actions": [{"type": "log"}]})", t.file(""));
  EXPECT_TRUE(p.ok()) << p.status().message();
}

// ---------------------------------------------------------------- bad input

TEST(PipelineBadInput, MalformedYaml) {
  auto cfg = parse_config("sources:\n  - type: file\n   path: x\n", "bad.yaml", "/tmp");
  ASSERT_FALSE(cfg.ok());
  EXPECT_NE(cfg.status().message().find("bad.yaml:3:"), std::string::npos) << cfg.status().message();
  auto top = parse_config("- just\n- a list\n", "list.yaml", "/tmp");
  ASSERT_FALSE(top.ok());
  EXPECT_NE(top.status().message().find("must be a mapping"), std::string::npos);
  auto missing = load_config("/nonexistent/pipeline.yaml");
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.status().message().find("cannot open"), std::string::npos);
}

TEST(PipelineBadInput, UnknownStageType) {
  TempDir t;
  t.write("in.jsonl", "1\n");
  std::string msg = error_of(
      "sources:\n  - {type: file, path: in.jsonl}\nstages:\n  - name: f\n    type: fft\nactions:\n  - {type: log}\n",
      t.file(""));
  EXPECT_NE(msg.find("cfg.yaml:5:"), std::string::npos) << msg;
  EXPECT_NE(msg.find("unknown stage type 'fft'"), std::string::npos) << msg;
  msg = error_of("sources:\n  - {type: kafka}\nactions:\n  - {type: log}\n", t.file(""));
  EXPECT_NE(msg.find("unknown source type 'kafka'"), std::string::npos) << msg;
  msg = error_of("sources:\n  - {type: file, path: in.jsonl}\nactions:\n  - {type: email}\n", t.file(""));
  EXPECT_NE(msg.find("unknown action type 'email'"), std::string::npos) << msg;
}

TEST(PipelineBadInput, MissingModelFile) {
  TempDir t;
  t.write("in.jsonl", "1\n");
  std::string msg = error_of(
      "sources:\n  - {type: file, path: in.jsonl}\nstages:\n  - type: model\n    model: nothere.onnx\nactions:\n"
      "  - {type: log}\n",
      t.file(""));
  EXPECT_NE(msg.find("cfg.yaml:5:"), std::string::npos) << msg;
  EXPECT_NE(msg.find("no such file"), std::string::npos) << msg;
  EXPECT_NE(msg.find("nothere.onnx"), std::string::npos) << msg;
  // A file that is not a model.
  t.write("junk.onnx", "this is not protobuf");
  msg = error_of(
      "sources:\n  - {type: file, path: in.jsonl}\nstages:\n  - type: model\n    model: junk.onnx\nactions:\n"
      "  - {type: log}\n",
      t.file(""));
  EXPECT_NE(msg.find("cfg.yaml:5:"), std::string::npos) << msg;
}

TEST(PipelineBadInput, WrongTensorShapeForTheModel) {
  TempDir t;
  t.write("in.jsonl", "1\n");
  const std::string model = kSource + "/models/digits/digits_cnn.onnx";
  std::string msg = error_of("sources:\n  - {type: file, path: in.jsonl}\nstages:\n  - type: model\n    model: " + model +
                                 "\n    shape: [1, 64]\nactions:\n  - {type: log}\n",
                             t.file(""));
  EXPECT_NE(msg.find("cfg.yaml:6:"), std::string::npos) << msg;
  EXPECT_NE(msg.find("wrong tensor shape"), std::string::npos) << msg;
  EXPECT_NE(msg.find("[1,64]"), std::string::npos) << msg;

  // At run time: an event with the wrong number of values is an error for that event only.
  Config cfg;
  cfg.path = "cfg.yaml";
  cfg.base_dir = t.file("");
  cfg.root = YAML::Load("{type: model, model: " + model + "}");
  auto env = Env::create(1);
  auto stage = make_stage(cfg, cfg.root, 0, *env);
  ASSERT_TRUE(stage.ok()) << stage.status().message();
  std::vector<Event> out;
  Event e = scalar_event(1, 0);
  e.values.assign(10, 0.5f);
  Status st = (*stage)->process(e, out);
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find("wrong tensor shape"), std::string::npos) << st.message();
  EXPECT_TRUE(out.empty());
  e.values.assign(64, 0.0f);
  st = (*stage)->process(e, out);
  ASSERT_TRUE(st.ok()) << st.message();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].values.size(), 10u);  // ten logits
}

TEST(PipelineBadInput, UnreadableSource) {
  TempDir t;
  std::string msg = error_of("sources:\n  - {type: file, path: missing.jsonl}\nactions:\n  - {type: log}\n", t.file(""));
  EXPECT_NE(msg.find("cfg.yaml:2:"), std::string::npos) << msg;
  EXPECT_NE(msg.find("unreadable source"), std::string::npos) << msg;
  t.write("data.bin", "x");
  msg = error_of("sources:\n  - {type: file, path: data.bin}\nactions:\n  - {type: log}\n", t.file(""));
  EXPECT_NE(msg.find("unknown file type"), std::string::npos) << msg;
}

TEST(PipelineBadInput, BadRecordsAreCountedAndSkipped) {
  TempDir t;
  t.write("in.jsonl", "{\"values\": [1]}\nnot json {\n[2, \"x\"]\n{\"value\": 3}\n4\n");
  std::string out = t.file("out.jsonl");
  auto p = build("name: bad\nsources:\n  - {type: file, path: in.jsonl}\nactions:\n  - {type: file, path: out.jsonl}\n",
                 t.file(""), true);
  ASSERT_TRUE(p.ok()) << p.status().message();
  RunOptions ro;
  ro.max_seconds = 20;
  ASSERT_TRUE((*p)->run(ro).ok());
  auto lines = read_lines(out);
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_NE(lines[0].find("\"id\":\"file1:0\""), std::string::npos) << lines[0];
  EXPECT_NE(lines[2].find("\"id\":\"file1:4\""), std::string::npos) << lines[2];
  EXPECT_NE((*p)->metrics_text().find("edgeai_pipeline_errors_total 2"), std::string::npos) << (*p)->metrics_text();
}

// ---------------------------------------------------------------- stages

TEST(PipelineStages, WindowWithHop) {
  WindowStage w("w", 4, 2);
  auto out = feed(w, {1, 2, 3, 4, 5, 6, 7, 8});
  ASSERT_EQ(out.size(), 3u);
  EXPECT_EQ(out[0].values, (std::vector<float>{1, 2, 3, 4}));
  EXPECT_EQ(out[1].values, (std::vector<float>{3, 4, 5, 6}));
  EXPECT_EQ(out[2].values, (std::vector<float>{5, 6, 7, 8}));
  EXPECT_EQ(out[0].id, "s:3.0");
  EXPECT_EQ(out[2].shape, (std::vector<int64_t>{4}));

  // One chunk of 8 samples gives the same three windows.
  WindowStage c("c", 4, 2);
  std::vector<Event> o2;
  Event e = scalar_event(0, 0);
  e.values = {1, 2, 3, 4, 5, 6, 7, 8};
  ASSERT_TRUE(c.process(e, o2).ok());
  ASSERT_EQ(o2.size(), 3u);
  EXPECT_EQ(o2[2].values, (std::vector<float>{5, 6, 7, 8}));
  EXPECT_EQ(o2[1].id, "s:0.1");

  // hop > size skips frames.
  WindowStage g("g", 2, 3);
  auto o3 = feed(g, {1, 2, 3, 4, 5, 6, 7, 8});
  ASSERT_EQ(o3.size(), 3u);
  EXPECT_EQ(o3[1].values, (std::vector<float>{4, 5}));
  EXPECT_EQ(o3[2].values, (std::vector<float>{7, 8}));

  // Frames of 3 channels (shape [1,3] events): windows of [2,3].
  WindowStage m("m", 2, 1);
  std::vector<Event> o4;
  for (int i = 0; i < 3; ++i) {
    Event f = scalar_event(0, i);
    f.values = {(float)i, (float)i + 10, (float)i + 20};
    f.shape = {1, 3};
    ASSERT_TRUE(m.process(f, o4).ok());
  }
  ASSERT_EQ(o4.size(), 2u);
  EXPECT_EQ(o4[1].values, (std::vector<float>{1, 11, 21, 2, 12, 22}));
  EXPECT_EQ(o4[1].shape, (std::vector<int64_t>{2, 3}));
}

TEST(PipelineStages, MovingAverage) {
  MovingAverageStage m("m", 3);
  auto out = feed(m, {1, 2, 3, 4, 5});
  std::vector<double> want = {1, 1.5, 2, 3, 4};
  ASSERT_EQ(out.size(), want.size());
  for (size_t i = 0; i < want.size(); ++i) {
    EXPECT_FLOAT_EQ(out[i].values[0], want[i]) << i;
    EXPECT_DOUBLE_EQ(out[i].fields["mean"].get<double>(), want[i]) << i;
  }
}

TEST(PipelineStages, HysteresisAndDebounce) {
  HysteresisStage::Params p;
  p.on = 0.5;
  p.off = 0.3;
  p.min_on = 2;
  p.min_off = 2;
  p.on_event = "speech started";
  p.off_event = "speech stopped";
  HysteresisStage h("h", p);
  // index:           0    1    2    3    4    5    6    7    8
  auto out = feed(h, {0.6, 0.2, 0.6, 0.7, 0.4, 0.2, 0.6, 0.1, 0.1});
  // 0.6 alone is not enough (min_on 2); on at 3; 0.4 is in the dead band; 0.2 then 0.6 resets the
  // count; off at 8.
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].seq, 3);
  EXPECT_EQ(out[0].fields["event"], "speech started");
  EXPECT_EQ(out[0].fields["state"], true);
  EXPECT_EQ(out[1].seq, 8);
  EXPECT_EQ(out[1].fields["event"], "speech stopped");
  EXPECT_FALSE(h.state());
}

TEST(PipelineStages, AnomalyScore) {
  AnomalyStage a("a", "value", 4, 3.0, 4);
  auto out = feed(a, {10, 12, 10, 12, 11, 20});
  ASSERT_EQ(out.size(), 6u);
  for (int i = 0; i < 4; ++i) EXPECT_EQ(out[i].fields["score"].get<double>(), 0.0) << "no history yet at " << i;
  // History 10 12 10 12: mean 11, std 1 -> |11 - 11| / 1 = 0.
  EXPECT_NEAR(out[4].fields["score"].get<double>(), 0.0, 1e-12);
  EXPECT_EQ(out[4].fields["anomaly"], false);
  // History 12 10 12 11: mean 11.25, variance 2.75 / 4 -> score 8.75 / sqrt(0.6875) = 10.5529.
  EXPECT_NEAR(out[5].fields["score"].get<double>(), 8.75 / std::sqrt(0.6875), 1e-9);
  EXPECT_NEAR(out[5].fields["score"].get<double>(), 10.5529, 1e-4);
  EXPECT_EQ(out[5].fields["anomaly"], true);
  EXPECT_DOUBLE_EQ(out[5].fields["baseline"].get<double>(), 11.25);
}

TEST(PipelineStages, ArgmaxNormalizeThresholdFilter) {
  ArgmaxStage am("am", {"a", "b", "c"}, true);
  std::vector<Event> out;
  Event e = scalar_event(0, 0);
  e.values = {1, 3, 2};
  ASSERT_TRUE(am.process(e, out).ok());
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].fields["label"], "b");
  EXPECT_EQ(out[0].fields["index"], 1);
  EXPECT_NEAR(out[0].fields["score"].get<double>(), 1.0 / (std::exp(-2.0) + 1 + std::exp(-1.0)), 1e-9);
  Event bad = scalar_event(0, 1);
  bad.values = {1, 2};
  EXPECT_FALSE(am.process(bad, out).ok()) << "2 values for 3 labels";

  NormalizeStage n("n", {0.25}, {-0.5});  // zscore mean 2 std 4
  out.clear();
  e.values = {6, -2};
  ASSERT_TRUE(n.process(e, out).ok());
  EXPECT_EQ(out[0].values, (std::vector<float>{1, -1}));

  ThresholdStage t("t", "value", 0.5, /*drop=*/true);
  auto kept = feed(t, {0.2, 0.5, 0.9});
  ASSERT_EQ(kept.size(), 2u);
  EXPECT_EQ(kept[0].seq, 1);

  FilterStage f("f", "above", nullptr);
  out.clear();
  Event a = scalar_event(1, 0), b = scalar_event(1, 1);
  a.fields["above"] = true;
  b.fields["above"] = false;
  ASSERT_TRUE(f.process(a, out).ok());
  ASSERT_TRUE(f.process(b, out).ok());
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].seq, 0);
}

TEST(PipelineStages, RecurrentStateIsCarried) {
  // Silero VAD v5 takes its state back as an input. The third frame after two others must give a
  // different probability than the same frame on a fresh state (the oracle: the model itself,
  // run without carried state).
  const std::string vad = kSource + "/tests/models/node_modules/@ricky0123/vad-web/dist/silero_vad_v5.onnx";
  if (!fs::exists(vad)) GTEST_SKIP() << vad << " is not installed (npm install in tests/models)";
  Config cfg;
  cfg.path = "cfg.yaml";
  cfg.base_dir = "/";
  cfg.root = YAML::Load("{type: model, model: '" + vad +
                        "', input: input, shape: [1, 512], output: output, state: [{input: state, output: stateN}],"
                        " constants: {sr: {value: 16000, dtype: i64}}}");
  auto env = Env::create(1);
  auto stage = make_stage(cfg, cfg.root, 0, *env);
  ASSERT_TRUE(stage.ok()) << stage.status().message();
  std::vector<Event> out;
  for (int i = 0; i < 3; ++i) {
    Event e = scalar_event(0, i);
    e.values.resize(512);
    for (int k = 0; k < 512; ++k) e.values[k] = 0.5f * std::sin(k * 0.3f + i);
    Status st = (*stage)->process(e, out);
    ASSERT_TRUE(st.ok()) << st.message();
  }
  ASSERT_EQ(out.size(), 3u);
  for (const Event& e : out) {
    ASSERT_EQ(e.values.size(), 1u);
    EXPECT_GE(e.values[0], 0.0f);
    EXPECT_LE(e.values[0], 1.0f);
  }
  auto fresh = make_stage(cfg, cfg.root, 0, *env);
  ASSERT_TRUE(fresh.ok());
  std::vector<Event> alone;
  Event last = scalar_event(0, 2);
  last.values.resize(512);
  for (int k = 0; k < 512; ++k) last.values[k] = 0.5f * std::sin(k * 0.3f + 2);
  ASSERT_TRUE((*fresh)->process(last, alone).ok());
  ASSERT_EQ(alone.size(), 1u);
  EXPECT_NE(alone[0].values[0], out[2].values[0]) << "the carried state made no difference";
  std::printf("[ vad      ] third frame: %.6f with carried state, %.6f from a fresh state\n", out[2].values[0],
              alone[0].values[0]);
  // Without state the model has an unfed input: a clear error.
  cfg.root = YAML::Load("{type: model, model: '" + vad + "', input: input, shape: [1, 512]}");
  auto missing = make_stage(cfg, cfg.root, 0, *env);
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.status().message().find("is not fed"), std::string::npos) << missing.status().message();
}

// ---------------------------------------------------------------- outbox

TEST(PipelineOutbox, SurvivesRestartFromItsFile) {
  TempDir t;
  OutboxOptions o;
  o.path = t.file("o.db");
  {
    auto ob = Outbox::open(o);
    ASSERT_TRUE(ob.ok()) << ob.status().message();
    ASSERT_TRUE((*ob)->begin().ok());
    for (int i = 0; i < 3; ++i) ASSERT_TRUE((*ob)->add("mqtt", "e" + std::to_string(i), "{}", 1000 + i).ok());
    ASSERT_TRUE((*ob)->set_progress("in", {120, 3}).ok());
    ASSERT_TRUE((*ob)->commit().ok());
    // An uncommitted transaction is not kept.
    ASSERT_TRUE((*ob)->begin().ok());
    ASSERT_TRUE((*ob)->add("mqtt", "e9", "{}", 0).ok());
    ASSERT_TRUE((*ob)->set_progress("in", {999, 9}).ok());
    ASSERT_TRUE((*ob)->rollback().ok());
    EXPECT_EQ((*ob)->depth(), 3);
  }
  auto ob = Outbox::open(o);
  ASSERT_TRUE(ob.ok());
  EXPECT_EQ((*ob)->depth(), 3);
  auto p = (*ob)->progress("in");
  ASSERT_TRUE(p.has_value());
  EXPECT_EQ(p->offset, 120);
  EXPECT_EQ(p->seq, 3);
  EXPECT_FALSE((*ob)->progress("other").has_value());
  auto rows = (*ob)->pending("mqtt", 0, 10);
  ASSERT_TRUE(rows.ok());
  ASSERT_EQ(rows->size(), 3u);
  EXPECT_EQ((*rows)[0].event_id, "e0");
  EXPECT_EQ((*rows)[2].created_us, 1002);
  int64_t first = (*rows)[0].id;
  ASSERT_TRUE((*ob)->remove(std::span<const int64_t>(&first, 1)).ok());
  EXPECT_EQ((*ob)->depth(), 2);
  auto none = (*ob)->pending("file", 0, 10);
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->empty());
}

TEST(PipelineOutbox, BoundDropOldest) {
  TempDir t;
  OutboxOptions o;
  o.path = t.file("o.db");
  o.max_rows = 3;
  {
    auto ob = Outbox::open(o);
    ASSERT_TRUE(ob.ok());
    ASSERT_TRUE((*ob)->begin().ok());
    for (int i = 0; i < 5; ++i) ASSERT_TRUE((*ob)->add("a", "e" + std::to_string(i), "{}", i).ok());
    ASSERT_TRUE((*ob)->commit().ok());
    EXPECT_EQ((*ob)->depth(), 3);
    EXPECT_EQ((*ob)->dropped(), 2);
  }
  auto ob = Outbox::open(o);
  ASSERT_TRUE(ob.ok());
  EXPECT_EQ((*ob)->dropped(), 2) << "the drop counter is kept in the database";
  auto rows = (*ob)->pending("a", 0, 10);
  ASSERT_TRUE(rows.ok());
  ASSERT_EQ(rows->size(), 3u);
  EXPECT_EQ((*rows)[0].event_id, "e2");
  EXPECT_EQ((*rows)[2].event_id, "e4");
}

TEST(PipelineOutbox, BoundBlockStopsTheSource) {
  TempDir t;
  t.write("in.jsonl", "1\n2\n3\n4\n5\n6\n");
  // A command action that always fails keeps every row; with max_rows 2 and when_full: block the
  // source stops after the first poll that filled the outbox.
  auto p = build(
      "name: blk\nbatch: 1\nsources:\n  - {type: file, name: in, path: in.jsonl}\nactions:\n"
      "  - {type: command, command: 'exit 3'}\noutbox: {max_rows: 2, when_full: block}\n"
      "delivery: {initial_backoff: 0.05, max_backoff: 0.05}\n",
      t.file(""), true);
  ASSERT_TRUE(p.ok()) << p.status().message();
  RunOptions ro;
  ro.max_seconds = 0.5;
  ro.drain_timeout_s = 0;
  ASSERT_TRUE((*p)->run(ro).ok());
  EXPECT_EQ((*p)->outbox()->depth(), 2);
  EXPECT_EQ((*p)->outbox()->dropped(), 0);
  auto prog = (*p)->outbox()->progress("in");
  ASSERT_TRUE(prog.has_value());
  EXPECT_EQ(prog->seq, 2) << "two records read, the rest wait in the file";
}

TEST(PipelineOutbox, BackoffDelay) {
  EXPECT_DOUBLE_EQ(backoff_delay(1, 0.5, 10), 0.5);
  EXPECT_DOUBLE_EQ(backoff_delay(2, 0.5, 10), 1.0);
  EXPECT_DOUBLE_EQ(backoff_delay(3, 0.5, 10), 2.0);
  EXPECT_DOUBLE_EQ(backoff_delay(6, 0.5, 10), 10.0);
  EXPECT_DOUBLE_EQ(backoff_delay(1000, 0.5, 10), 10.0);
}

// An action that fails its first `fail_first` attempts, then succeeds (or leaves rows pending).
class FakeAction : public Action {
 public:
  FakeAction(int fail_first, bool async) : Action("fake"), fail_first_(fail_first), async_(async) {}
  Attempt attempt(const OutboxRow& row, std::string* error) override {
    seen.push_back(row.event_id);
    if (fail_first_ > 0) {
      --fail_first_;
      *error = "down";
      return Attempt::kFailed;
    }
    if (async_) {
      sent.push_back(row.id);
      return Attempt::kPending;
    }
    return Attempt::kDone;
  }
  void poll(std::vector<int64_t>& acked, bool* lost) override {
    acked.insert(acked.end(), to_ack.begin(), to_ack.end());
    to_ack.clear();
    *lost = lose;
    lose = false;
  }
  std::vector<std::string> seen;
  std::vector<int64_t> sent, to_ack;
  bool lose = false;

 private:
  int fail_first_;
  bool async_;
};

// Rows r1, r2, r3 for action "fake".
Result<std::unique_ptr<Outbox>> outbox_with_three_rows(const TempDir& t) {
  OutboxOptions o;
  o.path = t.file("o.db");
  ASSIGN_OR_RETURN(auto ob, Outbox::open(o));
  RETURN_IF_ERROR(ob->begin());
  for (int i = 1; i <= 3; ++i) RETURN_IF_ERROR(ob->add("fake", "r" + std::to_string(i), "{}", 0));
  RETURN_IF_ERROR(ob->commit());
  return ob;
}

TEST(PipelineDelivery, RetriesWithBackoffInOrder) {
  TempDir t;
  auto ob = outbox_with_three_rows(t);
  ASSERT_TRUE(ob.ok()) << ob.status().message();
  FakeAction a(3, false);
  DeliveryOptions d;
  d.initial_backoff_s = 1;
  d.max_backoff_s = 3;
  int delivered = 0;
  Dispatcher disp(**ob, {&a}, d, [&](const std::string&, const OutboxRow&) { ++delivered; });
  int64_t work = 0;
  // Attempt at 0 fails -> next at 1; fails -> next at 1+2 = 3; fails -> next at 3+3 (capped) = 6.
  const std::vector<std::pair<double, size_t>> steps = {{0, 1}, {0.5, 1}, {1.0, 2}, {2.9, 2}, {3.0, 3}, {5.9, 3}};
  for (auto [now, attempts] : steps) {
    ASSERT_TRUE(disp.step(now, &work).ok());
    EXPECT_EQ(a.seen.size(), attempts) << "at t=" << now;
  }
  EXPECT_EQ(disp.status(0).failures, 3);
  EXPECT_DOUBLE_EQ(disp.status(0).gate_until, 6.0);
  EXPECT_EQ((*ob)->depth(), 3);
  auto rows = (*ob)->pending("fake", 0, 10);
  ASSERT_TRUE(rows.ok());
  EXPECT_EQ((*rows)[0].attempts, 3) << "failed attempts are counted in the row";
  ASSERT_TRUE(disp.step(6.0, &work).ok());
  EXPECT_EQ(a.seen, (std::vector<std::string>{"r1", "r1", "r1", "r1", "r2", "r3"}));
  EXPECT_EQ((*ob)->depth(), 0);
  EXPECT_EQ(delivered, 3);
  EXPECT_EQ(disp.status(0).failures, 0);
}

TEST(PipelineDelivery, UnacknowledgedRowsAreSentAgain) {
  TempDir t;
  auto ob = outbox_with_three_rows(t);
  ASSERT_TRUE(ob.ok()) << ob.status().message();
  FakeAction a(0, true);
  DeliveryOptions d;
  d.initial_backoff_s = 0.5;
  d.ack_timeout_s = 2;
  Dispatcher disp(**ob, {&a}, d);
  int64_t work = 0;
  ASSERT_TRUE(disp.step(0, &work).ok());
  ASSERT_EQ(a.sent.size(), 3u);
  EXPECT_EQ(disp.inflight(), 3);
  // The first is acknowledged, then the connection drops: r2 and r3 go again (same event ids).
  a.to_ack = {a.sent[0]};
  a.lose = true;
  ASSERT_TRUE(disp.step(0.1, &work).ok());
  EXPECT_EQ((*ob)->depth(), 2);
  EXPECT_EQ(disp.inflight(), 0);
  ASSERT_TRUE(disp.step(0.7, &work).ok());
  EXPECT_EQ(a.seen, (std::vector<std::string>{"r1", "r2", "r3", "r2", "r3"}));
  // No acknowledgement within ack_timeout: sent again once the backoff passes.
  ASSERT_TRUE(disp.step(2.8, &work).ok());
  EXPECT_EQ(disp.inflight(), 0);
  ASSERT_TRUE(disp.step(3.9, &work).ok());
  EXPECT_EQ(a.seen.size(), 7u);
  a.to_ack = {a.sent[3 + 2], a.sent[4 + 2]};
  ASSERT_TRUE(disp.step(4.0, &work).ok());
  EXPECT_EQ((*ob)->depth(), 0);
}

TEST(PipelineMetrics, HistogramQuantiles) {
  Histogram h;
  for (int i = 1; i <= 100; ++i) h.add(i * 1e-3);  // 1..100 ms
  EXPECT_NEAR(h.quantile(0.5), 0.050, 0.050 * 0.13);
  EXPECT_NEAR(h.quantile(0.99), 0.099, 0.099 * 0.13);
  EXPECT_DOUBLE_EQ(h.quantile(1.0), 0.1);
  EXPECT_EQ(h.count(), 100);
}

// ---------------------------------------------------------------- a whole run, in process

TEST(PipelineRun, FileToFileResumesAfterRestart) {
  TempDir t;
  std::string lines;
  for (int i = 0; i < 50; ++i) lines += "{\"values\": [" + std::to_string(i) + "], \"n\": " + std::to_string(i) + "}\n";
  std::string in = t.write("in.jsonl", lines);
  const std::string yaml =
      "name: ff\nsources:\n  - {type: file, name: in, path: in.jsonl, follow: true}\nstages:\n"
      "  - {type: threshold, value: 10, drop: true}\nactions:\n  - {type: file, path: out.jsonl}\n";
  {
    auto p = build(yaml, t.file(""), true);
    ASSERT_TRUE(p.ok()) << p.status().message();
    RunOptions ro;
    ro.max_seconds = 0.3;
    ASSERT_TRUE((*p)->run(ro).ok());
  }
  EXPECT_EQ(read_lines(t.file("out.jsonl")).size(), 40u);
  // The file grows; a new run reads only the new lines.
  std::ofstream(in, std::ios::app) << "{\"values\": [77]}\n{\"values\": [5]}\n{\"values\": [78]}\n";
  {
    auto p = build(yaml, t.file(""), true);
    ASSERT_TRUE(p.ok());
    RunOptions ro;
    ro.max_seconds = 0.3;
    ASSERT_TRUE((*p)->run(ro).ok());
  }
  auto out = read_lines(t.file("out.jsonl"));
  ASSERT_EQ(out.size(), 42u);
  EXPECT_NE(out[40].find("\"id\":\"in:50\""), std::string::npos) << out[40];
  EXPECT_NE(out[41].find("\"id\":\"in:52\""), std::string::npos) << out[41];
}

TEST(PipelineRun, CommandActionFailsThenRetries) {
  TempDir t;
  t.write("in.jsonl", "1\n2\n");
  std::string flag = t.file("ok");
  std::string got = t.file("got.txt");
  // The command fails until the flag file exists; the test creates it after a first failure.
  auto p = build("name: cmd\nsources:\n  - {type: file, path: in.jsonl}\nactions:\n  - type: command\n    command: 'test -f " +
                     flag + " && cat >> " + got + "'\ndelivery: {initial_backoff: 0.05, max_backoff: 0.1}\n",
                 t.file(""), true);
  ASSERT_TRUE(p.ok()) << p.status().message();
  std::atomic<bool> stop{false};
  std::thread later([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    std::ofstream(flag) << "x";
  });
  RunOptions ro;
  ro.max_seconds = 10;
  ro.stop = &stop;
  ASSERT_TRUE((*p)->run(ro).ok());
  later.join();
  auto lines = read_lines(got);
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_NE(lines[0].find("\"id\":\"file1:0\""), std::string::npos) << lines[0];
  EXPECT_NE(lines[1].find("\"values\":[2.0]"), std::string::npos) << lines[1];
  EXPECT_NE((*p)->metrics_text().find("edgeai_pipeline_action_retries_total{action=\"command1\"}"), std::string::npos);
}

TEST(PipelineRun, HttpActionPostsToLoopbackAndRetries) {
  TempDir t;
  t.write("in.jsonl", "1\n2\n3\n");
  httplib::Server server;
  std::mutex mu;
  std::vector<std::string> ids;
  int calls = 0;
  server.Post("/events", [&](const httplib::Request& req, httplib::Response& res) {
    std::lock_guard<std::mutex> lock(mu);
    if (++calls <= 2) {
      res.status = 503;  // the first two attempts fail
      return;
    }
    ids.push_back(req.get_header_value("X-Event-Id"));
    res.status = 204;
  });
  int port = server.bind_to_any_port("127.0.0.1");
  ASSERT_GT(port, 0);
  std::thread th([&] { server.listen_after_bind(); });
  auto p = build("name: web\nsources:\n  - {type: file, name: in, path: in.jsonl}\nactions:\n  - {type: http, url: 'http://127.0.0.1:" +
                     std::to_string(port) + "/events'}\ndelivery: {initial_backoff: 0.02, max_backoff: 0.05}\n",
                 t.file(""), true);
  ASSERT_TRUE(p.ok()) << p.status().message();
  RunOptions ro;
  ro.max_seconds = 10;
  Status st = (*p)->run(ro);
  server.stop();
  th.join();
  ASSERT_TRUE(st.ok()) << st.message();
  EXPECT_EQ(ids, (std::vector<std::string>{"in:0", "in:1", "in:2"}));
  EXPECT_EQ(calls, 5);
}

}  // namespace
}  // namespace edgeai::pipeline
