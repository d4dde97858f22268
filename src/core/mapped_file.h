// A whole file mapped read-only (MAP_PRIVATE): its pages come from the page cache on first touch,
// are shared with every other process that maps the file, and can be dropped and re-read by the
// kernel under memory pressure. The mapping lives as long as the last shared_ptr to it, so tensors
// that wrap ranges of it (Tensor::wrap) keep it alive.
//
// The file must not be truncated while it is mapped: a read past its new end is a SIGBUS.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "edgeai/status.h"

namespace edgeai {

class MappedFile {
 public:
  // Errors name the file: not found, not a regular file, cannot map.
  static Result<std::shared_ptr<const MappedFile>> open(const std::string& path);
  ~MappedFile();
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;

  // Null for an empty file (nothing is mapped).
  const uint8_t* data() const { return static_cast<const uint8_t*>(addr_); }
  size_t size() const { return size_; }
  const std::string& path() const { return path_; }
  // Drops this process's pages that lie wholly inside [p, p + n) (bytes already copied elsewhere):
  // they leave its resident set and are read again from the page cache if touched. Advice only.
  void release(const uint8_t* p, size_t n) const;

 private:
  MappedFile() = default;
  void* addr_ = nullptr;
  size_t size_ = 0;
  std::string path_;
};

}  // namespace edgeai
