#include "core/tensor.h"

#include <cstring>

namespace edgeai {

namespace {

std::shared_ptr<void> allocate_storage_impl(DType dtype, int64_t numel, const std::shared_ptr<Allocator>& alloc,
                                            bool zeroed) {
  if (dtype == DType::kString) {
    auto* s = new std::string[numel > 0 ? numel : 1];
    return std::shared_ptr<void>(s, [](void* p) { delete[] static_cast<std::string*>(p); });
  }
  size_t bytes = static_cast<size_t>(numel) * dtype_size(dtype);
  if (alloc) {
    void* p = alloc->allocate(bytes);
    if (!p) return nullptr;
    if (zeroed) std::memset(p, 0, bytes);
    return std::shared_ptr<void>(p, [alloc, bytes](void* q) { alloc->release(q, bytes); });
  }
  static HeapAllocator heap;  // stateless
  void* p = heap.allocate(bytes);
  if (!p) return nullptr;
  if (zeroed) std::memset(p, 0, bytes);
  return std::shared_ptr<void>(p, [](void* q) { std::free(q); });
}

}  // namespace

std::shared_ptr<void> allocate_storage(DType dtype, int64_t numel, const std::shared_ptr<Allocator>& alloc) {
  return allocate_storage_impl(dtype, numel, alloc, true);
}

Result<Tensor> Tensor::create(DType dtype, Shape shape, std::shared_ptr<Allocator> alloc) {
  ASSIGN_OR_RETURN(Tensor t, create_uninitialized(dtype, std::move(shape), std::move(alloc)));
  if (dtype != DType::kString && t.numel_ > 0) std::memset(t.data_, 0, static_cast<size_t>(t.numel_) * dtype_size(dtype));
  return t;
}

Result<Tensor> Tensor::create_uninitialized(DType dtype, Shape shape, std::shared_ptr<Allocator> alloc) {
  if (dtype == DType::kUndefined) return invalid_argument("cannot create a tensor of undefined dtype");
  ASSIGN_OR_RETURN(int64_t n, checked_numel(shape));
  if (dtype != DType::kString && n > (int64_t(1) << 38) / (int64_t)dtype_size(dtype)) {
    return out_of_range("tensor of shape " + shape_str(shape) + " is too large to allocate");
  }
  Tensor t;
  t.dtype_ = dtype;
  t.shape_ = std::move(shape);
  t.numel_ = n;
  t.storage_ = allocate_storage_impl(dtype, n, alloc, false);
  if (!t.storage_) return out_of_range("out of memory allocating " + shape_str(t.shape_));
  t.data_ = t.storage_.get();
  return t;
}

Tensor Tensor::wrap(DType dtype, Shape shape, std::shared_ptr<const void> owner, const void* data) {
  Tensor t;
  t.dtype_ = dtype;
  t.numel_ = shape_numel(shape);
  t.shape_ = std::move(shape);
  t.storage_ = std::const_pointer_cast<void>(owner);
  t.data_ = const_cast<void*>(data);
  t.writable_ = false;
  return t;
}

Result<Tensor> Tensor::reshaped(Shape shape) const {
  ASSIGN_OR_RETURN(int64_t n, checked_numel(shape));
  if (n != numel_) {
    return invalid_argument("cannot reshape " + shape_str(shape_) + " to " + shape_str(shape));
  }
  Tensor t = *this;
  t.shape_ = std::move(shape);
  return t;
}

Tensor Tensor::clone(std::shared_ptr<Allocator> alloc) const {
  if (!defined()) return {};
  Tensor t;
  t.dtype_ = dtype_;
  t.shape_ = shape_;
  t.numel_ = numel_;
  t.storage_ = allocate_storage(dtype_, numel_, alloc);
  t.data_ = t.storage_.get();
  if (dtype_ == DType::kString) {
    for (int64_t i = 0; i < numel_; ++i) t.data<std::string>()[i] = data<std::string>()[i];
  } else if (nbytes()) {
    std::memcpy(t.data_, data_, nbytes());
  }
  return t;
}

double Tensor::get_double(int64_t i) const {
  switch (dtype_) {
    case DType::kF32: return data<float>()[i];
    case DType::kF64: return data<double>()[i];
    case DType::kF16: return half_to_float(data<uint16_t>()[i]);
    case DType::kBF16: return bf16_to_float(data<uint16_t>()[i]);
    case DType::kI8: return data<int8_t>()[i];
    case DType::kU8: return data<uint8_t>()[i];
    case DType::kI16: return data<int16_t>()[i];
    case DType::kU16: return data<uint16_t>()[i];
    case DType::kI32: return data<int32_t>()[i];
    case DType::kU32: return data<uint32_t>()[i];
    case DType::kI64: return static_cast<double>(data<int64_t>()[i]);
    case DType::kU64: return static_cast<double>(data<uint64_t>()[i]);
    case DType::kBool: return data<uint8_t>()[i] ? 1.0 : 0.0;
    default: return 0.0;
  }
}

int64_t Tensor::get_int(int64_t i) const {
  switch (dtype_) {
    case DType::kI8: return data<int8_t>()[i];
    case DType::kU8: return data<uint8_t>()[i];
    case DType::kI16: return data<int16_t>()[i];
    case DType::kU16: return data<uint16_t>()[i];
    case DType::kI32: return data<int32_t>()[i];
    case DType::kU32: return data<uint32_t>()[i];
    case DType::kI64: return data<int64_t>()[i];
    case DType::kU64: return static_cast<int64_t>(data<uint64_t>()[i]);
    case DType::kBool: return data<uint8_t>()[i] ? 1 : 0;
    default: return static_cast<int64_t>(get_double(i));
  }
}

std::vector<int64_t> Tensor::to_int64_vector() const {
  std::vector<int64_t> v(static_cast<size_t>(numel_));
  for (int64_t i = 0; i < numel_; ++i) v[i] = get_int(i);
  return v;
}

std::vector<float> Tensor::to_float_vector() const {
  std::vector<float> v(static_cast<size_t>(numel_));
  for (int64_t i = 0; i < numel_; ++i) v[i] = static_cast<float>(get_double(i));
  return v;
}

}  // namespace edgeai
