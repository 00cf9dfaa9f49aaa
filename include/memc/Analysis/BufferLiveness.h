//===- BufferLiveness.h - Arena buffers of a bufferized function -*- C++
//-*-===//
//
// Turns a bufferized function into the planner's input (DESIGN.md, "Memory
// planning"): the schedule is the order of the function's top-level ops, and
// every statically shaped `memref.alloc` becomes one plan::Buffer whose live
// interval runs from the first to the last step that touches it or any view
// of it. Graph inputs, outputs and weights are function arguments or globals,
// so they never appear here: they are reported apart. Allocations marked
// memc.host are host buffers by construction and are listed apart too.
//
// A loop over a batch's chunks (an scf.for marked memc.micro_batch, from
// memc-micro-batch) is the exception: its body's ops are steps in their own
// right, buffers made in the body live between the body steps that use
// them, and a buffer made outside that the body reads lives across all of
// them. So are lanes that run such loops side by side (an scf.forall marked
// memc.micro_batch): the steps are one lane's, and the buffers made in the
// lanes are planned apart, one lane's region, which is one plan::Buffer of
// the lanes' regions together.
//
// The function must have a single block (memc's model functions do). Nested
// allocations (inside an scf.for body, say) live within the step of their
// top-level ancestor; one whose value can leave its region (yielded to the
// next iteration or to the parent) is not planned and stays on the heap,
// because every iteration's instance would share one offset.
//
//===----------------------------------------------------------------------===//
#ifndef MEMC_ANALYSIS_BUFFERLIVENESS_H
#define MEMC_ANALYSIS_BUFFERLIVENESS_H

#include "memc/Plan/Problem.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "llvm/ADT/DenseMap.h"

#include <string>
#include <vector>

namespace memc {

/// One planned allocation: the op and the views derived from it at top
/// level (in program order). The steps whose ops touch it are the uses of
/// its plan::Buffer.
struct ArenaAlloc {
  mlir::memref::AllocOp alloc;
  /// Top-level view-like ops whose source is the allocation or another view
  /// in this list; program order.
  std::vector<mlir::Operation *> views;
  /// Some op result (an scf.for iteration value, a call result) may alias
  /// the buffer, so it cannot be staged through the arena op by op: its
  /// transfer cost is prohibitive, and the planner keeps it resident.
  bool aliasedByResults = false;
  /// Human-readable shape, e.g. "4x128xf32".
  std::string type;
  /// The buffers made in the lanes of an scf.forall marked
  /// memc.micro_batch (chunks side by side), as one: each lane has a region
  /// of `laneBytes` where one lane's buffers are planned on their own (a
  /// buffer is in the same place in every region), and lane `lane`'s
  /// region starts `lane` times laneBytes after the buffer's offset. Lanes
  /// run at the same time, so two of their buffers may share bytes only
  /// within one region. `alloc` is the first of `laneMembers`.
  int64_t lanes = 1;
  uint64_t laneBytes = 0;
  mlir::Value lane;
  /// Allocations of one lane and their offsets in its region.
  std::vector<std::pair<mlir::memref::AllocOp, uint64_t>> laneMembers;
};

struct BufferLiveness {
  /// The schedule: top-level ops that do work (not allocations, views,
  /// constants, deallocations or the return), in program order.
  std::vector<mlir::Operation *> steps;
  llvm::DenseMap<mlir::Operation *, int64_t> stepOf;
  /// Loops whose body ops are steps (an scf.for marked memc.micro_batch):
  /// the first and last step of the body.
  llvm::DenseMap<mlir::Operation *, std::pair<int64_t, int64_t>> loopSpans;
  /// Parallel to problem.buffers (buffer id = index).
  std::vector<ArenaAlloc> allocs;
  plan::Problem problem;
  /// Allocations marked memc.host (a swapped activation's host copy): they
  /// belong in the host pool, so they are no part of `problem`. Parallel:
  /// their buffers, with the same intervals and uses as arena buffers.
  std::vector<ArenaAlloc> hostAllocs;
  std::vector<plan::Buffer> hostBuffers;
  /// Allocations left on the heap and why, one line each.
  std::vector<std::string> unplanned;
};

/// The planner's view of `func`. Transfer costs come from `transfer`.
/// Fails (with an error on `func`) only on a function with several blocks.
mlir::FailureOr<BufferLiveness>
computeBufferLiveness(mlir::func::FuncOp func,
                      const plan::TransferModel &transfer);

/// The name an op carries in reports: its ONNX node name (the innermost
/// NameLoc) and op name, "node_name (linalg.generic)", or the op name alone.
std::string describeOp(mlir::Operation *op);

/// Bytes of a statically shaped memref's data (sub-byte elements take a
/// byte each, as in the LLVM lowering).
uint64_t memrefBytes(mlir::MemRefType type);

} // namespace memc

#endif // MEMC_ANALYSIS_BUFFERLIVENESS_H
