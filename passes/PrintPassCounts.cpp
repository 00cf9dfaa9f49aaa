//===- PrintPassCounts.cpp - print FuseMax pass counts per rank -----------===//
#include "memc/Transforms/Passes.h"

#include "memc/Analysis/PassCount.h"

#include "llvm/Support/raw_ostream.h"

namespace memc {
#define GEN_PASS_DEF_PRINTPASSCOUNTS
#include "memc/Transforms/Passes.h.inc"
} // namespace memc

using namespace mlir;

namespace {
struct PrintPassCountsPass
    : memc::impl::PrintPassCountsBase<PrintPassCountsPass> {
  void runOnOperation() override {
    getOperation().walk([](func::FuncOp func) {
      SmallVector<Operation *> ops;
      for (Operation &op : func.getBody().front())
        ops.push_back(&op);
      llvm::outs() << "@" << func.getSymName() << ":";
      for (const memc::RankPasses &r : memc::countPasses(ops))
        llvm::outs() << " " << r.rank << " " << r.passes;
      llvm::outs() << "\n";
    });
  }
};
} // namespace
