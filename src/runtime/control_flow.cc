// Runtime-owned ops: control flow that runs subgraphs (If, Loop, Scan, SequenceMap), and the
// sequence and optional ops that work on Values rather than tensors.
#include <cstring>

#include "runtime/graph_plan.h"

namespace edgeai::runtime {

namespace {

using kernels::KernelContext;

RunContext& rt(KernelContext& ctx) { return static_cast<RunContext&>(ctx); }

// Copies `count` elements of any dtype (strings by assignment).
void copy_elems(DType dt, void* dst, int64_t dst_off, const void* src, int64_t src_off, int64_t count) {
  if (count <= 0) return;
  if (dt == DType::kString) {
    auto* d = static_cast<std::string*>(dst) + dst_off;
    const auto* s = static_cast<const std::string*>(src) + src_off;
    for (int64_t i = 0; i < count; ++i) d[i] = s[i];
    return;
  }
  size_t es = dtype_size(dt);
  std::memcpy(static_cast<char*>(dst) + dst_off * es, static_cast<const char*>(src) + src_off * es, count * es);
}

// Slice index `i` of `axis` out of `t` (the axis is removed).
Result<Tensor> take_slice(const Tensor& t, int axis, int64_t i) {
  Shape out_shape = t.shape();
  out_shape.erase(out_shape.begin() + axis);
  ASSIGN_OR_RETURN(Tensor out, Tensor::create(t.dtype(), out_shape));
  int64_t outer = 1, inner = 1;
  for (int k = 0; k < axis; ++k) outer *= t.dim(k);
  for (int k = axis + 1; k < t.rank(); ++k) inner *= t.dim(k);
  int64_t n = t.dim(axis);
  for (int64_t o = 0; o < outer; ++o) copy_elems(t.dtype(), out.raw(), o * inner, t.raw(), (o * n + i) * inner, inner);
  return out;
}

// Stacks equally shaped tensors along a new axis `axis`.
Result<Tensor> stack(const std::vector<Tensor>& parts, int axis, DType dt_if_empty) {
  if (parts.empty()) return Tensor::create(dt_if_empty, {0});
  const Shape& s0 = parts[0].shape();
  for (const auto& p : parts) {
    if (p.shape() != s0 || p.dtype() != parts[0].dtype()) {
      return invalid_argument("scan outputs differ in shape across iterations (" + shape_str(s0) + " vs " +
                              shape_str(p.shape()) + ")");
    }
  }
  Shape out_shape = s0;
  out_shape.insert(out_shape.begin() + axis, static_cast<int64_t>(parts.size()));
  ASSIGN_OR_RETURN(Tensor out, Tensor::create(parts[0].dtype(), out_shape));
  int64_t outer = 1, inner = 1;
  for (int k = 0; k < axis; ++k) outer *= s0[k];
  for (size_t k = axis; k < s0.size(); ++k) inner *= s0[k];
  int64_t n = static_cast<int64_t>(parts.size());
  for (int64_t o = 0; o < outer; ++o) {
    for (int64_t i = 0; i < n; ++i) copy_elems(out.dtype(), out.raw(), (o * n + i) * inner, parts[i].raw(), o * inner, inner);
  }
  return out;
}

Status if_op(KernelContext& ctx) {
  if (!ctx.has_input(0) || !ctx.input_value(0).is_tensor() || ctx.input(0).numel() != 1) {
    return ctx.error("cond must be a tensor with one element");
  }
  bool cond = ctx.input(0).get_double(0) != 0.0;
  ASSIGN_OR_RETURN(auto outs, rt(ctx).run_subgraph(cond ? "then_branch" : "else_branch", {}));
  if (static_cast<int>(outs.size()) < ctx.num_outputs()) {
    return ctx.error("branch produced " + std::to_string(outs.size()) + " outputs, node has " +
                     std::to_string(ctx.num_outputs()));
  }
  for (int i = 0; i < ctx.num_outputs(); ++i) ctx.set_output_value(i, std::move(outs[i]));
  return ok_status();
}

Status loop_op(KernelContext& ctx) {
  const ir::Graph* body = rt(ctx).subgraph("body");
  if (!body) return ctx.error("missing body");
  int n_carried = ctx.num_inputs() - 2;
  if (n_carried < 0) return ctx.error("needs at least 2 inputs (M, cond)");
  if (static_cast<int>(body->inputs.size()) != n_carried + 2) {
    return ctx.error("body takes " + std::to_string(body->inputs.size()) + " inputs, expected " +
                     std::to_string(n_carried + 2));
  }
  int n_scan = static_cast<int>(body->outputs.size()) - 1 - n_carried;
  if (n_scan < 0) return ctx.error("body has too few outputs");
  int64_t max_trips = INT64_MAX;
  if (ctx.has_input(0) && ctx.input_value(0).is_tensor()) {
    if (ctx.input(0).numel() != 1) return ctx.error("M must have one element");
    max_trips = ctx.input(0).get_int(0);
  }
  bool cond = true;
  bool has_cond = ctx.has_input(1) && ctx.input_value(1).is_tensor();
  if (has_cond) {
    if (ctx.input(1).numel() != 1) return ctx.error("cond must have one element");
    cond = ctx.input(1).get_double(0) != 0.0;
  }
  if (max_trips == INT64_MAX && !has_cond) return ctx.error("has neither a trip count nor a condition: it would never end");
  std::vector<Value> carried;
  for (int i = 0; i < n_carried; ++i) carried.push_back(ctx.input_value(i + 2));
  std::vector<std::vector<Tensor>> scans(n_scan);
  int64_t it = 0;
  for (; it < max_trips && cond; ++it) {
    std::vector<Value> in;
    in.push_back(Value::of(Tensor::from_vector<int64_t>(DType::kI64, {}, {it})));
    in.push_back(Value::of(Tensor::from_vector<uint8_t>(DType::kBool, {}, {uint8_t(cond ? 1 : 0)})));
    for (auto& c : carried) in.push_back(c);
    ASSIGN_OR_RETURN(auto out, rt(ctx).run_subgraph("body", std::move(in)));
    if (!out[0].is_tensor() || out[0].tensor.numel() != 1) return ctx.error("body's cond output must have one element");
    cond = out[0].tensor.get_double(0) != 0.0;
    for (int i = 0; i < n_carried; ++i) carried[i] = std::move(out[1 + i]);
    for (int i = 0; i < n_scan; ++i) {
      Value& v = out[1 + n_carried + i];
      if (!v.is_tensor()) return ctx.error("scan output is not a tensor");
      scans[i].push_back(std::move(v.tensor));
    }
  }
  for (int i = 0; i < n_carried && i < ctx.num_outputs(); ++i) ctx.set_output_value(i, carried[i]);
  for (int i = 0; i < n_scan && n_carried + i < ctx.num_outputs(); ++i) {
    if (!ctx.is_output_used(n_carried + i)) continue;
    DType dt = body->outputs[1 + n_carried + i].type.dtype;
    if (dt == DType::kUndefined) dt = DType::kF32;
    ASSIGN_OR_RETURN(Tensor t, stack(scans[i], 0, dt));
    ctx.set_output(n_carried + i, std::move(t));
  }
  return ok_status();
}

// Runs Scan over one batch item (opset 9+ semantics); `inputs` are states then scan inputs.
Status scan_once(KernelContext& ctx, const std::vector<Tensor>& states_in, const std::vector<Tensor>& scan_in,
                 std::vector<Tensor>& states_out, std::vector<Tensor>& scan_out) {
  const ir::Graph* body = rt(ctx).subgraph("body");
  int n_state = static_cast<int>(states_in.size());
  int n_scan_in = static_cast<int>(scan_in.size());
  int n_scan_out = static_cast<int>(body->outputs.size()) - n_state;
  if (n_scan_out < 0) return ctx.error("body has fewer outputs than states");
  auto in_axes = ctx.attr_ints("scan_input_axes");
  auto in_dirs = ctx.attr_ints("scan_input_directions");
  auto out_axes = ctx.attr_ints("scan_output_axes");
  auto out_dirs = ctx.attr_ints("scan_output_directions");
  std::vector<int> axes(n_scan_in, 0);
  int64_t len = -1;
  for (int i = 0; i < n_scan_in; ++i) {
    int64_t a = i < (int)in_axes.size() ? in_axes[i] : 0;
    ASSIGN_OR_RETURN(axes[i], normalize_axis(a, scan_in[i].rank()));
    if (scan_in[i].rank() == 0) return ctx.error("scan input is a scalar");
    int64_t l = scan_in[i].dim(axes[i]);
    if (len >= 0 && l != len) return ctx.error("scan inputs differ in sequence length");
    len = l;
  }
  if (len < 0) len = 0;
  std::vector<Tensor> states = states_in;
  std::vector<std::vector<Tensor>> outs(n_scan_out);
  for (int64_t t = 0; t < len; ++t) {
    std::vector<Value> in;
    for (auto& s : states) in.push_back(Value::of(s));
    for (int i = 0; i < n_scan_in; ++i) {
      bool rev = i < (int)in_dirs.size() && in_dirs[i] == 1;
      ASSIGN_OR_RETURN(Tensor sl, take_slice(scan_in[i], axes[i], rev ? len - 1 - t : t));
      in.push_back(Value::of(std::move(sl)));
    }
    ASSIGN_OR_RETURN(auto out, rt(ctx).run_subgraph("body", std::move(in)));
    for (int i = 0; i < n_state; ++i) states[i] = out[i].tensor;
    for (int i = 0; i < n_scan_out; ++i) outs[i].push_back(out[n_state + i].tensor);
  }
  states_out = states;
  scan_out.clear();
  for (int i = 0; i < n_scan_out; ++i) {
    bool rev = i < (int)out_dirs.size() && out_dirs[i] == 1;
    if (rev) std::reverse(outs[i].begin(), outs[i].end());
    int64_t a = i < (int)out_axes.size() ? out_axes[i] : 0;
    int rank = outs[i].empty() ? 1 : outs[i][0].rank() + 1;
    ASSIGN_OR_RETURN(int ax, normalize_axis(a, rank));
    DType dt = body->outputs[n_state + i].type.dtype;
    ASSIGN_OR_RETURN(Tensor st, stack(outs[i], ax, dt == DType::kUndefined ? DType::kF32 : dt));
    scan_out.push_back(std::move(st));
  }
  return ok_status();
}

Status scan_op(KernelContext& ctx) {
  const ir::Graph* body = rt(ctx).subgraph("body");
  if (!body) return ctx.error("missing body");
  int64_t n_scan_in = ctx.attr_int("num_scan_inputs", -1);
  bool v8 = ctx.opset() < 9;
  int first = v8 ? 1 : 0;
  int n_in = ctx.num_inputs() - first;
  if (n_scan_in < 1 || n_scan_in > n_in) return ctx.error("num_scan_inputs is out of range");
  int n_state = n_in - static_cast<int>(n_scan_in);
  for (int i = first; i < ctx.num_inputs(); ++i) {
    if (!ctx.has_input(i) || !ctx.input_value(i).is_tensor()) return ctx.error("all inputs must be tensors");
  }
  if (!v8) {
    std::vector<Tensor> st, sc, so, outs;
    for (int i = 0; i < n_state; ++i) st.push_back(ctx.input(i));
    for (int i = n_state; i < n_in; ++i) sc.push_back(ctx.input(i));
    RETURN_IF_ERROR(scan_once(ctx, st, sc, so, outs));
    for (int i = 0; i < n_state; ++i) ctx.set_output(i, so[i]);
    for (size_t i = 0; i < outs.size() && n_state + (int)i < ctx.num_outputs(); ++i) ctx.set_output(n_state + i, outs[i]);
    return ok_status();
  }
  // Opset 8: every input has a leading batch axis; the scan axis is 1.
  if (ctx.has_input(0)) return ctx.unsupported_error("sequence_lens is not supported");
  int64_t batch = ctx.input(1).rank() ? ctx.input(1).dim(0) : 0;
  std::vector<std::vector<Tensor>> all_states(n_state), all_outs;
  for (int64_t b = 0; b < batch; ++b) {
    std::vector<Tensor> st, sc, so, outs;
    for (int i = 0; i < n_in; ++i) {
      const Tensor& x = ctx.input(first + i);
      if (x.rank() == 0 || x.dim(0) != batch) return ctx.error("inputs disagree on the batch size");
      ASSIGN_OR_RETURN(Tensor s, take_slice(x, 0, b));
      (i < n_state ? st : sc).push_back(std::move(s));
    }
    RETURN_IF_ERROR(scan_once(ctx, st, sc, so, outs));
    for (int i = 0; i < n_state; ++i) all_states[i].push_back(so[i]);
    if (all_outs.empty()) all_outs.resize(outs.size());
    for (size_t i = 0; i < outs.size(); ++i) all_outs[i].push_back(outs[i]);
  }
  for (int i = 0; i < n_state; ++i) {
    ASSIGN_OR_RETURN(Tensor t, stack(all_states[i], 0, ctx.input(first + i).dtype()));
    ctx.set_output(i, std::move(t));
  }
  for (size_t i = 0; i < all_outs.size() && n_state + (int)i < ctx.num_outputs(); ++i) {
    ASSIGN_OR_RETURN(Tensor t, stack(all_outs[i], 0, DType::kF32));
    ctx.set_output(n_state + i, std::move(t));
  }
  return ok_status();
}

Status sequence_map(KernelContext& ctx) {
  if (!ctx.has_input(0) || ctx.input_value(0).kind != Value::Kind::kSequence) {
    return ctx.error("input 0 must be a sequence");
  }
  const auto& seq = ctx.input_value(0).sequence;
  size_t n = seq.size();
  for (int i = 1; i < ctx.num_inputs(); ++i) {
    const Value& v = ctx.input_value(i);
    if (v.kind == Value::Kind::kSequence && v.sequence.size() != n) {
      return ctx.error("additional sequence inputs must have the same length as input 0");
    }
  }
  const ir::Graph* body = rt(ctx).subgraph("body");
  if (!body) return ctx.error("missing body");
  std::vector<std::vector<Tensor>> outs(ctx.num_outputs());
  for (size_t k = 0; k < n; ++k) {
    std::vector<Value> in;
    in.push_back(Value::of(seq[k]));
    for (int i = 1; i < ctx.num_inputs(); ++i) {
      const Value& v = ctx.input_value(i);
      in.push_back(v.kind == Value::Kind::kSequence ? Value::of(v.sequence[k]) : v);
    }
    ASSIGN_OR_RETURN(auto out, rt(ctx).run_subgraph("body", std::move(in)));
    for (int i = 0; i < ctx.num_outputs() && i < (int)out.size(); ++i) outs[i].push_back(out[i].tensor);
  }
  for (int i = 0; i < ctx.num_outputs(); ++i) {
    DType dt = i < (int)body->outputs.size() ? body->outputs[i].type.dtype : DType::kUndefined;
    ctx.set_output_value(i, Value::of_sequence(std::move(outs[i]), dt));
  }
  return ok_status();
}

// ---- sequences ----

Result<const Value*> seq_input(KernelContext& ctx, int i) {
  if (!ctx.has_input(i) || ctx.input_value(i).kind != Value::Kind::kSequence) {
    return ctx.error("input " + std::to_string(i) + " must be a sequence");
  }
  return &ctx.input_value(i);
}

Result<int64_t> seq_position(KernelContext& ctx, int i, int64_t size, bool allow_end) {
  const Tensor& p = ctx.input(i);
  if (p.numel() != 1 || !dtype_is_integer(p.dtype())) return ctx.error("position must be an integer scalar");
  int64_t pos = p.get_int(0);
  int64_t hi = allow_end ? size : size - 1;
  if (pos < -size || pos > hi) {
    return ctx.error("position " + std::to_string(pos) + " is out of range for a sequence of " + std::to_string(size));
  }
  return pos < 0 ? pos + size : pos;
}

Status sequence_empty(KernelContext& ctx) {
  DType dt = dtype_from_onnx(static_cast<int>(ctx.attr_int("dtype", 1)));
  ctx.set_output_value(0, Value::of_sequence({}, dt));
  return ok_status();
}

Status sequence_construct(KernelContext& ctx) {
  std::vector<Tensor> s;
  for (int i = 0; i < ctx.num_inputs(); ++i) {
    if (!ctx.has_input(i) || !ctx.input_value(i).is_tensor()) return ctx.error("inputs must be tensors");
    if (i && ctx.input(i).dtype() != ctx.input(0).dtype()) return ctx.error("inputs must share one dtype");
    s.push_back(ctx.input(i));
  }
  DType dt = s.empty() ? DType::kUndefined : s[0].dtype();
  ctx.set_output_value(0, Value::of_sequence(std::move(s), dt));
  return ok_status();
}

Status sequence_insert(KernelContext& ctx) {
  ASSIGN_OR_RETURN(const Value* sv, seq_input(ctx, 0));
  if (!ctx.has_input(1) || !ctx.input_value(1).is_tensor()) return ctx.error("input 1 must be a tensor");
  std::vector<Tensor> s = sv->sequence;
  int64_t pos = static_cast<int64_t>(s.size());
  if (ctx.has_input(2)) { ASSIGN_OR_RETURN(pos, seq_position(ctx, 2, static_cast<int64_t>(s.size()), true)); }
  s.insert(s.begin() + pos, ctx.input(1));
  ctx.set_output_value(0, Value::of_sequence(std::move(s), ctx.input(1).dtype()));
  return ok_status();
}

Status sequence_at(KernelContext& ctx) {
  ASSIGN_OR_RETURN(const Value* sv, seq_input(ctx, 0));
  if (!ctx.has_input(1)) return ctx.error("missing position");
  ASSIGN_OR_RETURN(int64_t pos, seq_position(ctx, 1, static_cast<int64_t>(sv->sequence.size()), false));
  ctx.set_output(0, sv->sequence[pos]);
  return ok_status();
}

Status sequence_erase(KernelContext& ctx) {
  ASSIGN_OR_RETURN(const Value* sv, seq_input(ctx, 0));
  std::vector<Tensor> s = sv->sequence;
  if (s.empty()) return ctx.error("cannot erase from an empty sequence");
  int64_t pos = static_cast<int64_t>(s.size()) - 1;
  if (ctx.has_input(1)) { ASSIGN_OR_RETURN(pos, seq_position(ctx, 1, static_cast<int64_t>(s.size()), false)); }
  s.erase(s.begin() + pos);
  ctx.set_output_value(0, Value::of_sequence(std::move(s), sv->elem_type));
  return ok_status();
}

Status sequence_length(KernelContext& ctx) {
  ASSIGN_OR_RETURN(const Value* sv, seq_input(ctx, 0));
  ctx.set_output(0, Tensor::from_vector<int64_t>(DType::kI64, {}, {static_cast<int64_t>(sv->sequence.size())}));
  return ok_status();
}

Status split_to_sequence(KernelContext& ctx) {
  if (!ctx.has_input(0)) return ctx.error("missing input");
  const Tensor& x = ctx.input(0);
  if (x.rank() == 0) return ctx.error("input must have rank >= 1");
  ASSIGN_OR_RETURN(int axis, normalize_axis(ctx.attr_int("axis", 0), x.rank()));
  int64_t len = x.dim(axis);
  std::vector<int64_t> sizes;
  bool keep = ctx.attr_int("keepdims", 1) != 0;
  bool have_split = ctx.has_input(1);
  if (have_split) {
    const Tensor& sp = ctx.input(1);
    if (sp.rank() == 0) {
      int64_t c = sp.get_int(0);
      if (c <= 0) return ctx.error("split must be positive");
      for (int64_t o = 0; o < len; o += c) sizes.push_back(std::min(c, len - o));
    } else {
      sizes = sp.to_int64_vector();
      int64_t sum = 0;
      for (int64_t v : sizes) {
        if (v < 0) return ctx.error("split sizes must be non-negative");
        sum += v;
      }
      if (sum != len) return ctx.error("split sizes sum to " + std::to_string(sum) + ", axis has " + std::to_string(len));
    }
    keep = true;
  } else {
    sizes.assign(static_cast<size_t>(len), 1);
  }
  std::vector<Tensor> parts;
  int64_t outer = 1, inner = 1;
  for (int k = 0; k < axis; ++k) outer *= x.dim(k);
  for (int k = axis + 1; k < x.rank(); ++k) inner *= x.dim(k);
  int64_t off = 0;
  for (int64_t sz : sizes) {
    Shape s = x.shape();
    s[axis] = sz;
    if (!keep) s.erase(s.begin() + axis);
    ASSIGN_OR_RETURN(Tensor p, Tensor::create(x.dtype(), s));
    for (int64_t o = 0; o < outer; ++o) copy_elems(x.dtype(), p.raw(), o * sz * inner, x.raw(), (o * len + off) * inner, sz * inner);
    off += sz;
    parts.push_back(std::move(p));
  }
  ctx.set_output_value(0, Value::of_sequence(std::move(parts), x.dtype()));
  return ok_status();
}

Status concat_from_sequence(KernelContext& ctx) {
  ASSIGN_OR_RETURN(const Value* sv, seq_input(ctx, 0));
  const auto& s = sv->sequence;
  if (s.empty()) return ctx.error("cannot concatenate an empty sequence");
  bool new_axis = ctx.attr_int("new_axis", 0) != 0;
  int rank = s[0].rank() + (new_axis ? 1 : 0);
  ASSIGN_OR_RETURN(int axis, normalize_axis(ctx.attr_int("axis", 0), rank));
  if (new_axis) {
    ASSIGN_OR_RETURN(Tensor t, stack(s, axis, s[0].dtype()));
    ctx.set_output(0, std::move(t));
    return ok_status();
  }
  Shape out_shape = s[0].shape();
  int64_t total = 0;
  for (const auto& t : s) {
    if (t.rank() != s[0].rank() || t.dtype() != s[0].dtype()) return ctx.error("elements differ in rank or dtype");
    for (int k = 0; k < t.rank(); ++k) {
      if (k != axis && t.dim(k) != out_shape[k]) return ctx.error("elements differ in shape off the concat axis");
    }
    total += t.dim(axis);
  }
  out_shape[axis] = total;
  ASSIGN_OR_RETURN(Tensor* out, ctx.allocate_output(0, s[0].dtype(), out_shape));
  int64_t outer = 1, inner = 1;
  for (int k = 0; k < axis; ++k) outer *= out_shape[k];
  for (int k = axis + 1; k < (int)out_shape.size(); ++k) inner *= out_shape[k];
  for (int64_t o = 0; o < outer; ++o) {
    int64_t off = 0;
    for (const auto& t : s) {
      int64_t n = t.dim(axis) * inner;
      copy_elems(t.dtype(), out->raw(), o * total * inner + off, t.raw(), o * n, n);
      off += n;
    }
  }
  return ok_status();
}

// ---- optionals ----

Status optional_op(KernelContext& ctx) {
  if (ctx.has_input(0)) ctx.set_output_value(0, ctx.input_value(0));
  else ctx.set_output_value(0, Value());
  return ok_status();
}

Status optional_has_element(KernelContext& ctx) {
  bool has = ctx.has_input(0) && ctx.input_value(0).kind != Value::Kind::kNone;
  ctx.set_output(0, Tensor::from_vector<uint8_t>(DType::kBool, {}, {uint8_t(has ? 1 : 0)}));
  return ok_status();
}

// Identity passes any Value through (tensors, sequences, empty optionals), sharing storage.
Status identity(KernelContext& ctx) {
  if (ctx.has_input(0)) ctx.set_output_value(0, ctx.input_value(0));
  else ctx.set_output_value(0, Value());
  return ok_status();
}

Status optional_get_element(KernelContext& ctx) {
  if (!ctx.has_input(0) || ctx.input_value(0).kind == Value::Kind::kNone) {
    return ctx.error("the optional input is empty");
  }
  ctx.set_output_value(0, ctx.input_value(0));
  return ok_status();
}

}  // namespace

std::span<const kernels::KernelEntry> control_flow_kernels() {
  static const kernels::KernelEntry kTable[] = {
      {"", "If", if_op},
      {"", "Loop", loop_op},
      {"", "Scan", scan_op},
      {"", "SequenceMap", sequence_map},
      {"", "SequenceEmpty", sequence_empty},
      {"", "SequenceConstruct", sequence_construct},
      {"", "SequenceInsert", sequence_insert},
      {"", "SequenceAt", sequence_at},
      {"", "SequenceErase", sequence_erase},
      {"", "SequenceLength", sequence_length},
      {"", "SplitToSequence", split_to_sequence},
      {"", "ConcatFromSequence", concat_from_sequence},
      {"", "Identity", identity},
      {"", "Optional", optional_op},
      {"", "OptionalHasElement", optional_has_element},
      {"", "OptionalGetElement", optional_get_element},
  };
  return kTable;
}

}  // namespace edgeai::runtime
