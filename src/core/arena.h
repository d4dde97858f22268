// Allocators. An Arena recycles blocks released at the end of a value's lifetime, so a session
// that runs the same graph again reuses the same memory instead of calling malloc per tensor.
#pragma once

#include <cstddef>
#include <map>
#include <memory>
#include <mutex>

namespace edgeai {

inline constexpr size_t kTensorAlignment = 64;

class Allocator {
 public:
  virtual ~Allocator() = default;
  virtual void* allocate(size_t bytes) = 0;
  virtual void release(void* p, size_t bytes) = 0;
};

// Plain aligned heap memory.
class HeapAllocator final : public Allocator {
 public:
  void* allocate(size_t bytes) override;
  void release(void* p, size_t bytes) override;
};

// Keeps released blocks in size-keyed free lists and hands them back for requests of the same
// rounded size. Thread-safe. Shared ownership lets tensors outlive the session that made them.
class Arena final : public Allocator {
 public:
  Arena() = default;
  ~Arena() override;
  Arena(const Arena&) = delete;
  Arena& operator=(const Arena&) = delete;

  void* allocate(size_t bytes) override;
  void release(void* p, size_t bytes) override;
  size_t bytes_reserved() const;  // total held from the system (live + cached)
  size_t peak_bytes_live() const;
  void trim();  // gives cached blocks back to the system

 private:
  static size_t round_size(size_t bytes);
  mutable std::mutex mu_;
  std::multimap<size_t, void*> free_;
  size_t reserved_ = 0;
  size_t live_ = 0;
  size_t peak_live_ = 0;
};

}  // namespace edgeai
