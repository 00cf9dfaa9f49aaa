//===- ScalarOpsToKernels.cpp - host scalar code -> one-thread loops ------===//
//
// A rank-0 linalg op (a fill or elementwise generic on rank-0 memrefs: a
// scalar loss, an optimizer's step-count coefficients) has no loop, so
// convert-linalg-to-parallel-loops leaves its loads, arithmetic and stores
// at the top of the function, where the launch plan cannot run them; and a
// one-iteration loop made earlier would be folded away by canonicalization.
// Right before the loops become kernels, each run of such scalar ops is
// wrapped in an scf.parallel of one iteration: a one-thread kernel.
//
//===----------------------------------------------------------------------===//
#include "memc/Transforms/Passes.h"

namespace memc {
#define GEN_PASS_DEF_SCALAROPSTOKERNELS
#include "memc/Transforms/Passes.h.inc"
} // namespace memc

using namespace mlir;

namespace {

/// Device work with no loop: memory accesses and the arithmetic on them.
bool isScalarWork(Operation *op) {
  if (isa<memref::LoadOp, memref::StoreOp>(op))
    return true;
  if (isa<arith::ConstantOp>(op) || op->getNumRegions() != 0)
    return false;
  Dialect *dialect = op->getDialect();
  return dialect && (isa<arith::ArithDialect>(dialect) ||
                     isa<math::MathDialect>(dialect)) &&
         llvm::all_of(op->getResultTypes(),
                      [](Type t) { return t.isIntOrIndexOrFloat(); });
}

struct ScalarOpsToKernelsPass
    : public memc::impl::ScalarOpsToKernelsBase<ScalarOpsToKernelsPass> {
  void runOnOperation() override {
    func::FuncOp fn = getOperation();
    if (fn.isExternal())
      return;
    // Runs of scalar work in the entry block that store something.
    SmallVector<SmallVector<Operation *>> runs(1);
    for (Operation &op : fn.getBody().front()) {
      if (isScalarWork(&op)) {
        runs.back().push_back(&op);
        continue;
      }
      if (!runs.back().empty())
        runs.emplace_back();
    }
    for (ArrayRef<Operation *> run : runs) {
      if (run.empty() ||
          llvm::none_of(run, [](Operation *op) {
            return isa<memref::StoreOp>(op);
          }))
        continue;
      // A value the run computes must not be read after it (only memory
      // carries results out of a kernel).
      llvm::SmallPtrSet<Operation *, 16> inRun(run.begin(), run.end());
      bool escapes = llvm::any_of(run, [&](Operation *op) {
        return llvm::any_of(op->getUsers(), [&](Operation *user) {
          return !inRun.contains(user);
        });
      });
      if (escapes)
        continue;
      OpBuilder b(run.front());
      Location loc = run.front()->getLoc();
      Value zero = arith::ConstantIndexOp::create(b, loc, 0);
      Value one = arith::ConstantIndexOp::create(b, loc, 1);
      auto loop = scf::ParallelOp::create(b, loc, ValueRange{zero},
                                          ValueRange{one}, ValueRange{one});
      Block *body = loop.getBody();
      for (Operation *op : run)
        op->moveBefore(body->getTerminator());
    }
  }
};

} // namespace
