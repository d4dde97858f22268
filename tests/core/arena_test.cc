// Arena: a released block comes back for a request it holds, the smallest such (best fit) and at
// most kMaxSlack (4) times the request's rounded size; otherwise a new block. Oracle: the block
// addresses and the byte counts written out by hand (sizes chosen whole in Arena's rounding:
// below a power of two p, steps of p / 16).
#include <gtest/gtest.h>

#include <cstring>
#include <vector>

#include "core/arena.h"

namespace edgeai {
namespace {

constexpr size_t kKiB = 1024;

TEST(Arena, ReleasedBlockComesBackForTheSameSize) {
  Arena a;
  void* p = a.allocate(96 * kKiB);
  ASSERT_NE(p, nullptr);
  std::memset(p, 1, 96 * kKiB);  // the whole request is usable
  a.release(p, 96 * kKiB);
  EXPECT_EQ(a.allocate(96 * kKiB), p);
  EXPECT_EQ(a.bytes_reserved(), 96 * kKiB);
  a.release(p, 96 * kKiB);
}

TEST(Arena, SmallestFreeBlockThatHoldsTheRequest) {
  Arena a;
  void* big = a.allocate(1024 * kKiB);
  void* mid = a.allocate(256 * kKiB);
  void* small = a.allocate(64 * kKiB);
  a.release(big, 1024 * kKiB);
  a.release(mid, 256 * kKiB);
  a.release(small, 64 * kKiB);
  EXPECT_EQ(a.allocate(192 * kKiB), mid);  // 256 KiB: the smallest of those that hold 192
  EXPECT_EQ(a.allocate(320 * kKiB), big);  // 1 MiB, within 4x of 320 KiB
  void* fresh = a.allocate(12 * kKiB);
  EXPECT_NE(fresh, small);                  // 64 KiB is more than 4x 12 KiB: a new block
  EXPECT_EQ(a.allocate(16 * kKiB), small);  // exactly 4x
  for (void* p : {big, mid, small, fresh}) a.release(p, 0);
}

TEST(Arena, NoBlockMoreThanFourTimesTheRequest) {
  Arena a;
  void* big = a.allocate(1024 * kKiB);
  a.release(big, 1024 * kKiB);
  void* p = a.allocate(192 * kKiB);  // 1 MiB > 4 x 192 KiB: a new block
  EXPECT_NE(p, big);
  EXPECT_EQ(a.bytes_reserved(), 1216 * kKiB);
  void* q = a.allocate(256 * kKiB);  // exactly 4x: the free 1 MiB block
  EXPECT_EQ(q, big);
  a.release(p, 192 * kKiB);
  a.release(q, 256 * kKiB);
  a.trim();
  EXPECT_EQ(a.bytes_reserved(), 0u);
}

// A block handed back in a bigger request's place is counted at its own size while live, and
// released back at that size: it can serve the bigger request again.
TEST(Arena, BlockKeepsItsSizeWhateverItServed) {
  Arena a;
  void* p = a.allocate(512 * kKiB);
  a.release(p, 512 * kKiB);
  ASSERT_EQ(a.allocate(192 * kKiB), p);
  EXPECT_EQ(a.peak_bytes_live(), 512 * kKiB);
  a.release(p, 192 * kKiB);
  EXPECT_EQ(a.allocate(480 * kKiB), p);
  EXPECT_EQ(a.bytes_reserved(), 512 * kKiB);
  a.release(p, 480 * kKiB);
}

}  // namespace
}  // namespace edgeai
