// The two stages that run models: an ONNX graph through runtime::Session (with recurrent state
// carried from one call to the next), and a GGUF language model through the llm API.
#include <chrono>
#include <cstring>
#include <filesystem>

#include "formats/gguf/gguf.h"
#include "formats/onnx/onnx_import.h"
#include "llm/context.h"
#include "llm/generate.h"
#include "llm/model.h"
#include "llm/tokenizer.h"
#include "pipeline/stages.h"
#include "runtime/session.h"

namespace edgeai::pipeline {

namespace {

struct StateSpec {
  std::string input, output;
  Shape shape;
  int out_index = -1;
  Tensor value;
};

class ModelStage : public Stage {
 public:
  ModelStage(std::string name) : Stage(std::move(name)) {}

  Status process(Event e, std::vector<Event>& out) override {
    if ((int64_t)e.values.size() != numel_) {
      return invalid_argument("model '" + name() + "': wrong tensor shape: event " + e.id + " has " +
                              std::to_string(e.values.size()) + " values but input '" + input_ + "' takes " +
                              shape_str(shape_) + " (" + std::to_string(numel_) + " values)");
    }
    auto in = Tensor::create(DType::kF32, shape_);
    if (!in.ok()) return in.status();
    std::memcpy(in->raw(), e.values.data(), e.values.size() * sizeof(float));
    std::vector<runtime::NamedValue> feeds;
    feeds.push_back({input_, runtime::Value::of(std::move(in).value())});
    for (const StateSpec& s : states_) feeds.push_back({s.input, runtime::Value::of(s.value)});
    for (const auto& c : constants_) feeds.push_back(c);
    auto outs = session_->run(feeds);
    if (!outs.ok()) return outs.status().with_context("model '" + name() + "': ");
    for (StateSpec& s : states_) {
      const runtime::Value& v = (*outs)[s.out_index];
      if (!v.is_tensor() || v.tensor.numel() != s.value.numel() || v.tensor.dtype() != s.value.dtype()) {
        return invalid_argument("model '" + name() + "': state output '" + s.output + "' does not match input '" +
                                s.input + "' " + shape_str(s.value.shape()));
      }
      auto r = v.tensor.clone().reshaped(s.value.shape());
      if (!r.ok()) return r.status();
      s.value = std::move(r).value();
    }
    const runtime::Value& o = (*outs)[out_index_];
    if (!o.is_tensor()) return invalid_argument("model '" + name() + "': output '" + output_ + "' is not a tensor");
    e.values = o.tensor.to_float_vector();
    e.shape = o.tensor.shape();
    if (e.values.size() == 1) e.fields[field_] = e.values[0];
    out.push_back(std::move(e));
    return ok_status();
  }

  std::unique_ptr<runtime::Session> session_;
  std::shared_ptr<const ir::Graph> graph_;
  std::string input_, output_, field_;
  Shape shape_;
  int64_t numel_ = 0;
  int out_index_ = 0;
  std::vector<StateSpec> states_;
  std::vector<runtime::NamedValue> constants_;
};

const ir::ValueInfo* find_input(const ir::Graph& g, const std::string& name) {
  for (const ir::ValueInfo* v : g.feed_inputs())
    if (v->name == name) return v;
  return nullptr;
}

int find_output(const ir::Graph& g, const std::string& name) {
  for (size_t i = 0; i < g.outputs.size(); ++i)
    if (g.outputs[i].name == name) return static_cast<int>(i);
  return -1;
}

std::string names(const std::vector<const ir::ValueInfo*>& v) {
  std::string s;
  for (const auto* x : v) s += (s.empty() ? "" : ", ") + x->name;
  return s;
}

// The declared shape with unknown dims as 1; empty optional when the rank is unknown.
std::optional<Shape> declared_shape(const ir::ValueInfo& v) {
  if (!v.type.shape) return std::nullopt;
  Shape s;
  for (const ir::Dim& d : *v.type.shape) s.push_back(d.known() ? d.value : 1);
  return s;
}

Status check_shape(Fields& f, const char* key, const ir::ValueInfo& v, const Shape& s) {
  if (!v.type.shape) return ok_status();
  const auto& dims = *v.type.shape;
  bool ok = dims.size() == s.size();
  for (size_t i = 0; ok && i < dims.size(); ++i) ok = !dims[i].known() || dims[i].value == s[i];
  if (!ok) {
    std::string decl = "[";
    for (size_t i = 0; i < dims.size(); ++i) decl += (i ? "," : "") + (dims[i].known() ? std::to_string(dims[i].value) : "?");
    decl += "]";
    YAML::Node n = f.node(key);
    f.error("wrong tensor shape for the model: '" + v.name + "' is declared " + decl + ", the config gives " +
                shape_str(s),
            n ? &n : nullptr);
  }
  return f.status();
}

}  // namespace

Result<std::unique_ptr<Stage>> make_model_stage(const Config& cfg, const YAML::Node& node, const std::string& name,
                                                Env& env) {
  Fields f(cfg, node, "stage '" + name + "' (model)");
  f.str("name");
  f.str("type");
  YAML::Node model_node = f.node("model", true);
  std::string path = f.path("model", true, true);
  if (!f.ok()) return f.status();
  auto m = formats::load_onnx(path);
  if (!m.ok()) {
    f.error(m.status().message(), &model_node);
    return f.status();
  }
  auto st = std::make_unique<ModelStage>(name);
  st->graph_ = std::shared_ptr<const ir::Graph>(std::move(m->graph));
  const ir::Graph& g = *st->graph_;
  auto feeds = g.feed_inputs();
  if (feeds.empty()) f.error(path + ": the model has no inputs to feed", &model_node);
  st->input_ = f.str("input", feeds.empty() ? "" : feeds[0]->name);
  const ir::ValueInfo* in = find_input(g, st->input_);
  if (f.ok() && !in) {
    YAML::Node n = f.node("input");
    f.error("the model has no input '" + st->input_ + "' (inputs: " + names(feeds) + ")", n ? &n : nullptr);
  }
  if (!f.ok()) return f.status();
  if (in->type.dtype != DType::kF32 && in->type.dtype != DType::kUndefined) {
    f.error("input '" + st->input_ + "' is " + std::string(dtype_name(in->type.dtype)) + "; events feed f32 only");
  }
  if (f.has("shape")) {
    st->shape_ = f.ints("shape");
  } else if (auto s = declared_shape(*in)) {
    st->shape_ = *s;
  } else {
    f.error("the model does not declare the shape of '" + st->input_ + "'; give 'shape'");
  }
  RETURN_IF_ERROR(f.status());
  auto numel = checked_numel(st->shape_, int64_t(1) << 28);
  if (!numel.ok()) {
    f.error("'shape' " + shape_str(st->shape_) + ": " + numel.status().message());
    return f.status();
  }
  st->numel_ = *numel;
  RETURN_IF_ERROR(check_shape(f, "shape", *in, st->shape_));

  std::string out_default = g.outputs.empty() ? "" : g.outputs[0].name;
  st->output_ = f.str("output", out_default);
  st->out_index_ = find_output(g, st->output_);
  if (f.ok() && st->out_index_ < 0) {
    YAML::Node n = f.node("output");
    f.error("the model has no output '" + st->output_ + "'", n ? &n : nullptr);
  }
  st->field_ = f.str("field", "prob");

  std::set<std::string> fed = {st->input_};
  if (YAML::Node sn = f.node("state")) {
    if (!sn.IsSequence()) f.error("'state' must be a list of {input, output} pairs", &sn);
    for (size_t i = 0; f.ok() && sn.IsSequence() && i < sn.size(); ++i) {
      Fields sf(cfg, sn[i], "stage '" + name + "' state " + std::to_string(i + 1));
      StateSpec s;
      s.input = sf.str("input", "", true);
      s.output = sf.str("output", "", true);
      const ir::ValueInfo* si = sf.ok() ? find_input(g, s.input) : nullptr;
      if (sf.ok() && !si) sf.error("the model has no input '" + s.input + "' (inputs: " + names(feeds) + ")");
      s.out_index = sf.ok() ? find_output(g, s.output) : -1;
      if (sf.ok() && s.out_index < 0) sf.error("the model has no output '" + s.output + "'");
      if (sf.ok()) {
        if (sf.has("shape")) s.shape = sf.ints("shape");
        else if (auto d = declared_shape(*si)) s.shape = *d;
        else sf.error("the model does not declare the shape of '" + s.input + "'; give 'shape'");
      }
      if (sf.ok()) RETURN_IF_ERROR(check_shape(sf, "shape", *si, s.shape));
      RETURN_IF_ERROR(sf.finish());
      auto t = Tensor::create(DType::kF32, s.shape);
      if (!t.ok()) return t.status();
      s.value = std::move(t).value();
      fed.insert(s.input);
      st->states_.push_back(std::move(s));
    }
  }
  if (YAML::Node cn = f.node("constants")) {
    if (!cn.IsMap()) f.error("'constants' must map input names to {value, dtype}", &cn);
    for (const auto& kv : cn) {
      if (!f.ok()) break;
      std::string cname = kv.first.Scalar();
      Fields cf(cfg, kv.second, "stage '" + name + "' constant '" + cname + "'");
      const ir::ValueInfo* ci = find_input(g, cname);
      if (!ci) cf.error("the model has no input '" + cname + "' (inputs: " + names(feeds) + ")");
      std::vector<double> vals = cf.nums("value", true);
      std::string dt = cf.choice("dtype", {"f32", "i64", "i32"}, ci && ci->type.dtype == DType::kI64 ? "i64" : "f32");
      Shape shape = cf.has("shape") ? cf.ints("shape") : (vals.size() == 1 ? Shape{} : Shape{(int64_t)vals.size()});
      RETURN_IF_ERROR(cf.finish());
      DType d = dt == "f32" ? DType::kF32 : dt == "i64" ? DType::kI64 : DType::kI32;
      auto t = Tensor::create(d, shape);
      if (!t.ok()) return t.status();
      if (t->numel() != (int64_t)vals.size()) {
        cf.error("'value' has " + std::to_string(vals.size()) + " numbers but shape " + shape_str(shape) + " takes " +
                 std::to_string(t->numel()));
        return cf.status();
      }
      for (size_t i = 0; i < vals.size(); ++i) {
        if (d == DType::kF32) t->data<float>()[i] = (float)vals[i];
        else if (d == DType::kI64) t->data<int64_t>()[i] = (int64_t)vals[i];
        else t->data<int32_t>()[i] = (int32_t)vals[i];
      }
      fed.insert(cname);
      st->constants_.push_back({cname, runtime::Value::of(std::move(t).value())});
    }
  }
  RETURN_IF_ERROR(f.finish());
  for (const ir::ValueInfo* v : feeds) {
    if (!fed.count(v->name)) {
      f.error("model input '" + v->name + "' is not fed: name it as 'input', in 'state' or in 'constants'");
      return f.status();
    }
  }
  auto session = runtime::Session::create(st->graph_, env);
  if (!session.ok()) {
    f.error(path + ": " + session.status().message(), &model_node);
    return f.status();
  }
  st->session_ = std::move(session).value();
  return std::unique_ptr<Stage>(std::move(st));
}

namespace {

// Text generation per event from a prompt template: {{name}} is replaced by the event's field (or
// id, source, seq, value), {{recent}} by one line per recent event (the last `recent` events
// this stage saw, this one included).
class LlmStage : public Stage {
 public:
  LlmStage(std::string name) : Stage(std::move(name)) {}

  std::string render(const std::string& tmpl, const Event& e) const {
    nlohmann::json j = event_json(e, 8);
    if (!e.values.empty() && !j.contains("value")) j["value"] = e.values[0];
    std::string recent;
    for (const std::string& line : recent_) recent += line + "\n";
    j["recent"] = recent;
    return render_template(tmpl, j);
  }

  Status process(Event e, std::vector<Event>& out) override {
    recent_.push_back(render(recent_line_, e));
    while ((int64_t)recent_.size() > n_recent_) recent_.pop_front();
    std::string prompt = render(template_, e);
    std::vector<int32_t> tokens = tok_->encode(prompt, /*add_special=*/true, /*parse_special=*/false);
    if (tokens.empty()) return invalid_argument("llm '" + name() + "': the prompt gives no tokens");
    if ((int64_t)tokens.size() + opts_.n_predict > ctx_->n_ctx()) {
      int64_t keep = std::max<int64_t>(1, ctx_->n_ctx() - opts_.n_predict - 1);
      if ((int64_t)tokens.size() > keep) tokens.erase(tokens.begin() + 1, tokens.end() - (keep - 1));
    }
    ctx_->clear();
    auto r = llm::generate(*ctx_, *tok_, tokens, opts_);
    if (!r.ok()) return r.status().with_context("llm '" + name() + "': ");
    e.fields[field_] = prompt_prefix_ ? prompt + r->text : r->text;
    out.push_back(std::move(e));
    return ok_status();
  }

  std::unique_ptr<Env> env_;
  std::unique_ptr<llm::Model> model_;
  std::unique_ptr<llm::Tokenizer> tok_;
  std::unique_ptr<llm::Context> ctx_;
  llm::GenerateOptions opts_;
  std::string template_, recent_line_, field_;
  bool prompt_prefix_ = false;
  int64_t n_recent_ = 5;
  std::deque<std::string> recent_;
};

}  // namespace

Result<std::unique_ptr<Stage>> make_llm_stage(const Config& cfg, const YAML::Node& node, const std::string& name) {
  Fields f(cfg, node, "stage '" + name + "' (llm)");
  f.str("name");
  f.str("type");
  YAML::Node model_node = f.node("model", true);
  std::string path = f.path("model", true, true);
  auto st = std::make_unique<LlmStage>(name);
  st->template_ = f.str("prompt", "", true);
  st->recent_line_ = f.str("recent_line", "{{id}}: {{value}}");
  st->n_recent_ = f.integer("recent", 5);
  st->field_ = f.str("field", "text");
  st->prompt_prefix_ = f.flag("include_prompt", false);
  st->opts_.n_predict = f.integer("max_tokens", 48);
  st->opts_.sampling.temperature = (float)f.num("temperature", 0.0);
  st->opts_.sampling.seed = (uint64_t)f.integer("seed", 0);
  st->opts_.stop = f.strs("stop");
  int64_t n_ctx = f.integer("ctx", 512);
  int threads = (int)f.integer("threads", 1);
  RETURN_IF_ERROR(f.finish());
  if (st->opts_.n_predict <= 0 || n_ctx <= st->opts_.n_predict) {
    f.error("need 0 < max_tokens < ctx");
    return f.status();
  }
  auto file = formats::GgufFile::open(path, formats::GgufLoad::kAuto);  // read into memory when it fits
  if (!file.ok()) {
    Fields e(cfg, node, "stage '" + name + "' (llm)");
    e.error(file.status().message(), &model_node);
    return e.status();
  }
  std::shared_ptr<const formats::GgufFile> shared(std::move(file).value());
  auto model = llm::Model::from_gguf(shared);
  if (!model.ok()) return model.status().with_context(location(cfg, model_node));
  st->model_ = std::move(model).value();
  auto tok = llm::Tokenizer::from_gguf(*shared);
  if (!tok.ok()) return tok.status().with_context(location(cfg, model_node));
  st->tok_ = std::move(tok).value();
  st->env_ = Env::create(threads);
  llm::ContextOptions co;
  co.n_ctx = std::min(n_ctx, st->model_->hparams().n_ctx_train);
  co.n_batch = co.n_ctx;
  auto ctx = llm::Context::create(*st->model_, *st->env_, co);
  if (!ctx.ok()) return ctx.status().with_context(location(cfg, model_node));
  st->ctx_ = std::move(ctx).value();
  if (st->opts_.n_predict >= st->ctx_->n_ctx()) st->opts_.n_predict = st->ctx_->n_ctx() / 2;
  return std::unique_ptr<Stage>(std::move(st));
}

}  // namespace edgeai::pipeline
