#include "core/arena.h"

#include <algorithm>
#include <cstdlib>
#include <new>

namespace edgeai {

namespace {
void* aligned_alloc_bytes(size_t bytes) {
  size_t n = (bytes + kTensorAlignment - 1) / kTensorAlignment * kTensorAlignment;
  if (n == 0) n = kTensorAlignment;
  return std::aligned_alloc(kTensorAlignment, n);
}
}  // namespace

void* HeapAllocator::allocate(size_t bytes) { return aligned_alloc_bytes(bytes); }
void HeapAllocator::release(void* p, size_t) { std::free(p); }

Arena::~Arena() { trim(); }

size_t Arena::round_size(size_t bytes) {
  // Round to 64 bytes below 4 KiB, then to 1/8 steps of the power of two, so blocks get reused
  // across slightly different sizes without wasting more than 12.5%.
  if (bytes <= 4096) return (bytes + 63) / 64 * 64 + (bytes == 0 ? 64 : 0);
  size_t p = 1;
  while (p < bytes) p <<= 1;
  size_t step = p / 16;
  return (bytes + step - 1) / step * step;
}

void* Arena::allocate(size_t bytes) {
  const size_t n = round_size(bytes);
  std::lock_guard<std::mutex> lock(mu_);
  auto it = free_.lower_bound(n);
  if (it != free_.end() && it->first / kMaxSlack <= n) {
    void* p = it->second;
    live_ += it->first;
    free_.erase(it);
    peak_live_ = std::max(peak_live_, live_);
    return p;
  }
  void* p = aligned_alloc_bytes(n);
  if (!p) return nullptr;
  reserved_ += n;
  size_of_[p] = n;
  live_ += n;
  peak_live_ = std::max(peak_live_, live_);
  return p;
}

void Arena::release(void* p, size_t bytes) {
  if (!p) return;
  std::lock_guard<std::mutex> lock(mu_);
  auto it = size_of_.find(p);
  if (it == size_of_.end()) it = size_of_.emplace(p, round_size(bytes)).first;  // not made here: adopted
  live_ -= std::min(live_, it->second);
  free_.emplace(it->second, p);
}

size_t Arena::bytes_reserved() const {
  std::lock_guard<std::mutex> lock(mu_);
  return reserved_;
}

size_t Arena::peak_bytes_live() const {
  std::lock_guard<std::mutex> lock(mu_);
  return peak_live_;
}

void Arena::trim() {
  std::lock_guard<std::mutex> lock(mu_);
  for (auto& [n, p] : free_) {
    std::free(p);
    reserved_ -= n;
    size_of_.erase(p);
  }
  free_.clear();
}

}  // namespace edgeai
