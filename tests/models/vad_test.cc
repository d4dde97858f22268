// Silero VAD v5 (npm @ricky0123/vad-web, dist/silero_vad_v5.onnx) against ONNX Runtime, frame by
// frame with the recurrent state carried from one call to the next, as an application runs it.
//
// The reference folder is made by `node tests/models/ort_reference.js vad MODEL DIR WAV...`
// (scripts/check_models.sh does this; its ctest entry models_vs_onnxruntime then runs this test
// with EDGEAI_VAD_REFERENCE=DIR). Without the variable the test skips; with it, missing or
// malformed files are failures.
//
// DIR holds: silero_vad_v5.onnx, audio.npy [F,512] f32 (16 kHz), sr.npy i64 scalar,
// state0.npy [2,1,128] f32, probs.npy [F] f32 (ORT's speech probability per frame),
// states.npy [F,2,1,128] (ORT's state after each frame), state_final.npy [2,1,128].
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <string>

#include <gtest/gtest.h>

#include "core/compare.h"
#include "core/env.h"
#include "formats/onnx/onnx_import.h"
#include "formats/tensor_io/npy.h"
#include "runtime/session.h"

namespace edgeai {
namespace {

// Tolerances: numpy.allclose-style |edgeai - ORT| <= atol + rtol |ORT|. EDGEAI_VAD_RTOL and
// EDGEAI_VAD_ATOL override them (scripts/check_models.sh passes its --rtol and --atol).
double tolerance(const char* var, double def) {
  const char* v = std::getenv(var);
  return v != nullptr && *v != 0 ? std::strtod(v, nullptr) : def;
}

Tensor load_or_fail(const std::filesystem::path& p) {
  auto t = formats::load_npy(p.string());
  if (!t.ok()) {
    ADD_FAILURE() << p << ": " << t.status().message();
    return Tensor();
  }
  return std::move(t).value();
}

int output_index(const ir::Graph& g, const std::string& name) {
  for (size_t i = 0; i < g.outputs.size(); ++i) {
    if (g.outputs[i].name == name) return static_cast<int>(i);
  }
  return -1;
}

TEST(SileroVadTest, FramesMatchOnnxRuntime) {
  const char* dir_env = std::getenv("EDGEAI_VAD_REFERENCE");
  if (dir_env == nullptr || *dir_env == 0) {
    GTEST_SKIP() << "EDGEAI_VAD_REFERENCE is not set; scripts/check_models.sh vad (ctest "
                    "models_vs_onnxruntime) makes the reference files and runs this test";
  }
  const std::filesystem::path dir(dir_env);
  const std::filesystem::path model_path = dir / "silero_vad_v5.onnx";
  ASSERT_TRUE(std::filesystem::exists(model_path)) << model_path << " is missing";
  Tensor audio = load_or_fail(dir / "audio.npy");
  Tensor sr = load_or_fail(dir / "sr.npy");
  Tensor state0 = load_or_fail(dir / "state0.npy");
  Tensor probs = load_or_fail(dir / "probs.npy");
  Tensor states = load_or_fail(dir / "states.npy");
  Tensor state_final = load_or_fail(dir / "state_final.npy");
  if (HasFailure()) return;
  ASSERT_EQ(audio.dtype(), DType::kF32);
  ASSERT_EQ(audio.rank(), 2);
  const int64_t frames = audio.dim(0), frame_len = audio.dim(1);
  ASSERT_GT(frames, 0);
  ASSERT_EQ(probs.numel(), frames) << "probs.npy and audio.npy disagree on the frame count";
  ASSERT_EQ(probs.dtype(), DType::kF32);
  ASSERT_EQ(states.dtype(), DType::kF32);
  ASSERT_EQ(states.numel(), frames * state0.numel());
  ASSERT_EQ(state_final.shape(), state0.shape());

  auto model = formats::load_onnx(model_path.string());
  ASSERT_TRUE(model.ok()) << model.status().message();
  std::shared_ptr<const ir::Graph> graph(std::move(model->graph));
  const int out_prob = output_index(*graph, "output"), out_state = output_index(*graph, "stateN");
  ASSERT_GE(out_prob, 0) << "the model has no output named 'output'";
  ASSERT_GE(out_state, 0) << "the model has no output named 'stateN'";
  const double rtol = tolerance("EDGEAI_VAD_RTOL", 1e-4), atol = tolerance("EDGEAI_VAD_ATOL", 1e-5);
  auto env = Env::create(1);
  auto session = runtime::Session::create(graph, *env);
  ASSERT_TRUE(session.ok()) << session.status().message();

  Tensor state = state0.clone();
  double max_prob_err = 0, max_state_err = 0, max_state_abs = 0;
  int64_t bad_probs = 0, first_bad_state = -1;
  std::string first_prob_msg, first_state_msg;
  const int64_t state_n = state0.numel();
  // EDGEAI_VAD_DUMP=DIR: also write edgeai's probabilities and states there (same layout as the
  // reference's probs.npy and states.npy), to study a difference.
  const char* dump_dir = std::getenv("EDGEAI_VAD_DUMP");
  Tensor our_probs = probs.clone(), our_states = states.clone();
  double run_ms = 0;
  for (int64_t f = 0; f < frames; ++f) {
    auto in = Tensor::create(DType::kF32, {1, frame_len});
    ASSERT_TRUE(in.ok());
    std::memcpy(in->raw(), audio.data<float>() + f * frame_len, frame_len * sizeof(float));
    auto t0 = std::chrono::steady_clock::now();
    auto outs = (*session)->run({{"input", runtime::Value::of(std::move(in).value())},
                                 {"state", runtime::Value::of(state)},
                                 {"sr", runtime::Value::of(sr)}});
    run_ms += std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    ASSERT_TRUE(outs.ok()) << "frame " << f << ": " << outs.status().message();
    const Tensor& prob = (*outs)[out_prob].tensor;
    const Tensor& next = (*outs)[out_state].tensor;
    ASSERT_EQ(prob.dtype(), DType::kF32) << "frame " << f;
    ASSERT_EQ(prob.numel(), 1) << "frame " << f << ": output has shape " << shape_str(prob.shape());
    ASSERT_EQ(next.dtype(), DType::kF32) << "frame " << f;
    ASSERT_EQ(next.numel(), state_n) << "frame " << f << ": stateN has shape " << shape_str(next.shape());

    our_probs.data<float>()[f] = prob.data<float>()[0];
    std::memcpy(our_states.data<float>() + f * state_n, next.data<float>(), state_n * sizeof(float));
    const double got = prob.data<float>()[0], want = probs.data<float>()[f];
    const double err = std::fabs(got - want);
    max_prob_err = std::max(max_prob_err, std::isnan(err) ? INFINITY : err);
    if (!(err <= atol + rtol * std::fabs(want))) {
      if (bad_probs++ == 0) {
        char buf[160];
        std::snprintf(buf, sizeof buf, "frame %lld: probability %.9g, ONNX Runtime %.9g",
                      static_cast<long long>(f), got, want);
        first_prob_msg = buf;
      }
    }
    // The state after this frame, against ONNX Runtime's after the same frame (diagnostic: says
    // where the two runs first part; the pass criterion is every probability and the final state).
    auto ref_state = Tensor::wrap(DType::kF32, next.shape(), nullptr, states.data<float>() + f * state_n);
    CompareResult sc = compare_tensors(next, ref_state, rtol, atol);
    max_state_err = std::max(max_state_err, sc.max_abs_error);
    for (int64_t i = 0; i < state_n; ++i) {
      max_state_abs = std::max(max_state_abs, std::fabs(static_cast<double>(ref_state.data<float>()[i])));
    }
    if (!sc.equal && first_bad_state < 0) {
      first_bad_state = f;
      first_state_msg = sc.message;
    }
    state = next.clone();  // carry our own state, not ORT's, into the next call
  }
  if (dump_dir != nullptr && *dump_dir != 0) {
    std::filesystem::create_directories(dump_dir);
    EXPECT_TRUE(formats::save_npy((std::filesystem::path(dump_dir) / "probs.npy").string(), our_probs).ok());
    EXPECT_TRUE(formats::save_npy((std::filesystem::path(dump_dir) / "states.npy").string(), our_states).ok());
  }
  Tensor final_state = state.shape() == state_final.shape() ? state : state.reshaped(state_final.shape()).value();
  CompareResult fc = compare_tensors(final_state, state_final, rtol, atol);

  std::printf("[ vad      ] %lld frames of %lld samples: max abs error probability %.3g, state %.3g "
              "(max |state| %.3g), final state %.3g; edgeai %.3f ms/frame (rtol %g atol %g)\n",
              static_cast<long long>(frames), static_cast<long long>(frame_len), max_prob_err, max_state_err,
              max_state_abs, fc.max_abs_error, run_ms / frames, rtol, atol);
  if (first_bad_state >= 0) {
    std::printf("[ vad      ] state first differs after frame %lld: %s\n", static_cast<long long>(first_bad_state),
                first_state_msg.c_str());
  }
  char tol[96];
  std::snprintf(tol, sizeof tol, "rtol %g atol %g", rtol, atol);
  EXPECT_EQ(bad_probs, 0) << bad_probs << " of " << frames << " probabilities differ from ONNX Runtime beyond "
                          << tol << "; first at " << first_prob_msg << " (max abs error " << max_prob_err << ")";
  EXPECT_TRUE(fc.equal) << "final state differs from ONNX Runtime beyond " << tol << ": " << fc.message
                        << " (max abs error " << fc.max_abs_error << ")";
}

}  // namespace
}  // namespace edgeai
