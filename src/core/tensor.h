// Tensor: a dtype, a shape and shared storage. Copying a Tensor shares its storage (like a
// handle); clone() copies the elements.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/arena.h"
#include "core/dtype.h"
#include "core/shape.h"
#include "edgeai/status.h"

namespace edgeai {

class Tensor {
 public:
  Tensor() = default;

  // Allocates zeroed storage; validates the shape (no negative dims, bounded size).
  // `alloc` may be null (heap). Strings are default-constructed.
  static Result<Tensor> create(DType dtype, Shape shape, std::shared_ptr<Allocator> alloc = nullptr);
  // As create(), but the storage is left as the allocator returns it (not zeroed): for producers
  // that write every element. Not for strings.
  static Result<Tensor> create_uninitialized(DType dtype, Shape shape, std::shared_ptr<Allocator> alloc = nullptr);
  // Wraps memory owned by `owner` (for example an mmapped file); no copy.
  static Tensor wrap(DType dtype, Shape shape, std::shared_ptr<const void> owner, const void* data);
  // A scalar or 1-D tensor from values; handy in tests and kernels.
  template <typename T>
  static Tensor from_vector(DType dtype, Shape shape, const std::vector<T>& values);

  bool defined() const { return dtype_ != DType::kUndefined; }
  DType dtype() const { return dtype_; }
  const Shape& shape() const { return shape_; }
  int rank() const { return static_cast<int>(shape_.size()); }
  int64_t dim(int i) const { return shape_[i]; }
  int64_t numel() const { return numel_; }
  size_t nbytes() const { return static_cast<size_t>(numel_) * dtype_size(dtype_); }

  template <typename T>
  T* data() { return static_cast<T*>(data_); }
  template <typename T>
  const T* data() const { return static_cast<const T*>(data_); }
  void* raw() { return data_; }
  const void* raw() const { return data_; }

  // Same storage, new shape with the same element count (checked).
  Result<Tensor> reshaped(Shape shape) const;
  // Deep copy (into `alloc` when given).
  Tensor clone(std::shared_ptr<Allocator> alloc = nullptr) const;
  // Whether this tensor's storage may be written (false for wrapped, read-only memory).
  bool writable() const { return writable_; }
  // Whether this tensor is the only holder of its storage (no view, copy or owner shares it).
  bool storage_unshared() const { return storage_ && storage_.use_count() == 1; }

  // Element i converted to double / int64 (any numeric dtype); for tests, attributes, shapes.
  double get_double(int64_t i) const;
  int64_t get_int(int64_t i) const;
  // Reads this tensor (any integer dtype) as a vector of int64.
  std::vector<int64_t> to_int64_vector() const;
  std::vector<float> to_float_vector() const;  // any numeric dtype

 private:
  DType dtype_ = DType::kUndefined;
  Shape shape_;
  int64_t numel_ = 0;
  std::shared_ptr<void> storage_;  // owns the memory (and strings' destruction)
  void* data_ = nullptr;
  bool writable_ = true;
};

// Storage description used by create(); exposed so other layers can share the same deleter logic.
std::shared_ptr<void> allocate_storage(DType dtype, int64_t numel,
                                       const std::shared_ptr<Allocator>& alloc);

template <typename T>
Tensor Tensor::from_vector(DType dtype, Shape shape, const std::vector<T>& values) {
  auto r = Tensor::create(dtype, std::move(shape));
  Tensor t = std::move(r).value();
  T* d = t.data<T>();
  for (size_t i = 0; i < values.size() && (int64_t)i < t.numel(); ++i) d[i] = values[i];
  return t;
}

}  // namespace edgeai
