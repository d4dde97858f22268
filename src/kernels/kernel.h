// The interface between the runtime and an op's kernel. A kernel reads its inputs and
// attributes through KernelContext, checks them, computes its output shapes, allocates its
// outputs through the context, and computes. It returns a Status naming what was wrong.
#pragma once

#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/cpu_features.h"
#include "core/tensor.h"
#include "core/thread_pool.h"
#include "edgeai/status.h"

namespace edgeai::kernels {

// What flows along a graph edge at run time: a tensor, a sequence of tensors, or nothing (an
// empty optional).
struct Value {
  enum class Kind { kNone, kTensor, kSequence };
  Kind kind = Kind::kNone;
  Tensor tensor;
  std::vector<Tensor> sequence;
  DType elem_type = DType::kUndefined;  // element dtype of an (empty) sequence, when known

  static Value of(Tensor t) {
    Value v;
    v.kind = Kind::kTensor;
    v.tensor = std::move(t);
    return v;
  }
  static Value of_sequence(std::vector<Tensor> s, DType elem = DType::kUndefined) {
    Value v;
    v.kind = Kind::kSequence;
    v.sequence = std::move(s);
    v.elem_type = elem;
    return v;
  }
  bool is_tensor() const { return kind == Kind::kTensor; }
};

// What both a kernel and its prepare step see of the node: attributes and identity.
class NodeView {
 public:
  virtual ~NodeView() = default;

  // Attributes. The typed getters return the default when the attribute is absent.
  virtual bool has_attr(std::string_view name) const = 0;
  virtual int64_t attr_int(std::string_view name, int64_t def) const = 0;
  virtual float attr_float(std::string_view name, float def) const = 0;
  virtual std::string attr_string(std::string_view name, std::string_view def) const = 0;
  virtual std::vector<int64_t> attr_ints(std::string_view name) const = 0;
  virtual std::vector<float> attr_floats(std::string_view name) const = 0;
  virtual std::vector<std::string> attr_strings(std::string_view name) const = 0;
  virtual const Tensor* attr_tensor(std::string_view name) const = 0;  // null when absent

  // The node.
  virtual std::string_view op_type() const = 0;
  virtual std::string_view node_name() const = 0;
  virtual int opset() const = 0;  // the model's opset version for the node's domain
  virtual const CpuFeatures& cpu() const = 0;

  // An error that names the node: "node 'x' (Conv): <msg>".
  Status error(std::string_view msg) const {
    return invalid_argument("node '" + std::string(node_name()) + "' (" + std::string(op_type()) +
                            "): " + std::string(msg));
  }
  Status unsupported_error(std::string_view msg) const {
    return unsupported("node '" + std::string(node_name()) + "' (" + std::string(op_type()) +
                       "): " + std::string(msg));
  }
};

// State a kernel builds once when the session is prepared (prepacked weights, chosen
// micro-kernel, precomputed tables) and reads on every run.
class KernelState {
 public:
  virtual ~KernelState() = default;
};

// What a prepare step sees: the node, which inputs are constant (initializers) and their values,
// and the declared shapes of the others where the model states them.
class PrepareContext : public NodeView {
 public:
  virtual int num_inputs() const = 0;
  virtual bool has_input(int i) const = 0;
  // The value of input i when it is an initializer (constant for the session's life), else null.
  virtual const Tensor* constant_input(int i) const = 0;
  // Declared dtype and shape of input i (dims < 0 are dynamic); false when not declared.
  virtual bool declared_type(int i, DType* dtype, std::vector<int64_t>* shape) const = 0;
};

class KernelContext : public NodeView {
 public:
  // Inputs. An optional input left out (empty name, or past the end) is "absent".
  virtual int num_inputs() const = 0;
  virtual bool has_input(int i) const = 0;
  // The tensor of input i. Only valid when has_input(i) and the value is a tensor; the runtime
  // checks the latter before calling a kernel whose op takes tensors there.
  virtual const Tensor& input(int i) const = 0;
  virtual const Value& input_value(int i) const = 0;

  // Outputs. Kernels must produce every output that is_output_used() says is used and may skip
  // the others.
  virtual int num_outputs() const = 0;
  virtual bool is_output_used(int i) const = 0;
  // Allocates a zeroed output tensor (from the session's arena).
  virtual Result<Tensor*> allocate_output(int i, DType dtype, const Shape& shape) = 0;
  // As allocate_output, but the contents are unspecified: for kernels that write every element.
  virtual Result<Tensor*> allocate_output_uninitialized(int i, DType dtype, const Shape& shape) {
    return allocate_output(i, dtype, shape);
  }
  // As allocate_output_uninitialized, but output i may take the storage of input j (of the same
  // dtype and element count) when nothing reads input j after this node: no other reader later,
  // not a graph output, its storage shared with no other value (views, initializers, the caller's
  // inputs). Then writing the output overwrites input j, so the kernel must have read what it
  // needs of each part of input j before writing over it (the output's data() == input j's tells).
  // For kernels that write their output into cache lines their own thread has just read: stores
  // into memory the other cores last read (a freed buffer of the arena) cost several times more.
  virtual Result<Tensor*> allocate_output_over_input(int i, int j, DType dtype, const Shape& shape) {
    (void)j;
    return allocate_output_uninitialized(i, dtype, shape);
  }
  // Hands over an existing tensor as output i (Identity, Reshape: storage is shared, no copy).
  virtual void set_output(int i, Tensor t) = 0;
  virtual void set_output_value(int i, Value v) = 0;

  virtual ThreadPool& pool() = 0;
  // The state the entry's prepare step built for this node (null when it has none).
  virtual const KernelState* state() const { return nullptr; }
};

using KernelFn = Status (*)(KernelContext&);
// Builds a node's state at session preparation. Returning a null state (with OK) means "this
// kernel does not take this node": the runtime then falls back to the reference kernel.
using PrepareFn = Result<std::unique_ptr<KernelState>> (*)(PrepareContext&);

// One row of an op table: the op's domain ("" for ai.onnx), type, and the kernel that runs it
// for every opset version (kernels branch on ctx.opset() where versions differ).
struct KernelEntry {
  std::string_view domain;
  std::string_view op_type;
  KernelFn fn;
  PrepareFn prepare = nullptr;  // optional; see PrepareFn
};

}  // namespace edgeai::kernels
