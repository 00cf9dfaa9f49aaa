//===- ArenaView.cpp - out-of-line arena views ----------------------------===//
//
// See memc_runtime.h, "Arena views": the point of these two functions is
// that the compiler cannot see through them.
//
//===----------------------------------------------------------------------===//
#include "memc_runtime.h"

extern "C" {

__attribute__((noinline)) void *memc_rt_arena_view(void *pool,
                                                   int64_t offset) {
  return static_cast<char *>(pool) + offset;
}

__attribute__((noinline)) void memc_rt_arena_release(void *buffer) {
  // Keeps the call (and the compiler's view that it may read `buffer`).
  asm volatile("" : : "r"(buffer) : "memory");
}

} // extern "C"
