//===- TrackedBlock.h - A block of the runtime's allocator ------*- C++ -*-===//
//
// The arena memc-run passes a program comes from the same tracked allocator
// as the program's own heap buffers (Alloc.cpp), so the peak bytes a run
// reports are what was measured, arena included. Shared by the inference
// runner (Runner.cpp) and the train runner (TrainRunner.cpp).
//
//===----------------------------------------------------------------------===//
#ifndef MEMC_RUNTIME_CPU_TRACKEDBLOCK_H
#define MEMC_RUNTIME_CPU_TRACKEDBLOCK_H

#include "memc/Runtime/PackageFormat.h"
#include "memc_runtime.h"

#include <cstddef>
#include <cstdint>

namespace memc {
namespace rt {

/// A block from the runtime's tracked allocator (the one the generated code
/// uses), freed on scope exit; no allocation for 0 bytes.
class TrackedBlock {
public:
  explicit TrackedBlock(uint64_t bytes)
      : ptr(bytes ? _mlir_memref_to_llvm_aligned_alloc(
                        package::kArgumentAlignment, size_t(bytes))
                  : nullptr) {}
  ~TrackedBlock() { _mlir_memref_to_llvm_free(ptr); }
  TrackedBlock(const TrackedBlock &) = delete;
  TrackedBlock &operator=(const TrackedBlock &) = delete;
  void *data() const { return ptr; }

private:
  void *ptr;
};

} // namespace rt
} // namespace memc

#endif // MEMC_RUNTIME_CPU_TRACKEDBLOCK_H
