//===- WrapGemmEpilogues.cpp - a GEMM and its epilogue as one step --------===//
//
// memc-contractions-to-blas fuses a convolution's GEMM with the op that
// finishes its result after the arena plan, where the planned offsets let
// it; this puts each such pair into one memc.gemm_epilogue before the
// plan, whose scratch argument takes no bytes (Passes.td has the story).
//
//===----------------------------------------------------------------------===//
#include "dialects/memc/MemcDialect.h"
#include "dialects/memc/ProgramInterface.h"
#include "memc/Transforms/GemmEpilogue.h"
#include "memc/Transforms/GemmMatch.h"
#include "memc/Transforms/Passes.h"

#include "mlir/Dialect/MemRef/IR/MemRef.h"

namespace memc {
#define GEN_PASS_DEF_WRAPGEMMEPILOGUES
#include "memc/Transforms/Passes.h.inc"
} // namespace memc

using namespace mlir;

namespace {

/// The allocation `v` is a view of, if any.
memref::AllocOp allocOf(Value v) {
  return memc::sourceOfViews(v).getDefiningOp<memref::AllocOp>();
}

struct WrapGemmEpiloguesPass
    : memc::impl::WrapGemmEpiloguesBase<WrapGemmEpiloguesPass> {
  using Base::Base;

  /// Wraps `gemm` and its consumer when they qualify.
  void wrap(linalg::GenericOp gemm, func::FuncOp entry) {
    std::optional<memc::PackedAGemm> match =
        memc::matchPackedAGemm(gemm, entry, minFlops);
    if (!match)
      return;
    // C is zero-filled first (the call's beta is 0): its old value is not
    // needed, so C need not exist.
    linalg::FillOp zero = memc::zeroFillOfOutput(gemm, match->c);
    memref::AllocOp alloc = allocOf(match->c);
    if (!zero || !alloc || alloc->getBlock() != gemm->getBlock())
      return;
    std::optional<memc::GemmEpilogueMatch> ep = memc::matchGemmEpilogue(
        gemm, match->c, match->m, match->n, match->ldc, match->reads);
    if (!ep || allocOf(ep->d) == alloc)
      return; // finished in place: C is D, read later
    SmallVector<Operation *> views;
    llvm::SmallPtrSet<Operation *, 4> users;
    for (Operation *user : memc::usersThroughViews(alloc.getResult(), &views))
      users.insert(user);
    Operation *consumer = ep->consumer;
    if (users.size() != 3 || !users.contains(zero) || !users.contains(gemm) ||
        !users.contains(consumer))
      return;

    // The body: C's views, its fill, the GEMM, the padded buffer's fill
    // and the consumer, in program order.
    SmallVector<Operation *> body(views.begin(), views.end());
    body.append({zero, gemm, consumer});
    if (ep->padFill)
      body.push_back(ep->padFill);
    llvm::sort(
        body, [](Operation *a, Operation *b) { return a->isBeforeInBlock(b); });
    OpBuilder b(consumer);
    auto op = memc::GemmEpilogueOp::create(b, consumer->getLoc());
    Block *block =
        b.createBlock(&op.getBody(), {}, {alloc.getType()}, {alloc.getLoc()});
    for (Operation *moved : body)
      moved->moveBefore(block, block->end());
    alloc.getResult().replaceAllUsesWith(block->getArgument(0));
    alloc.erase();
  }

  void runOnOperation() override {
    ModuleOp module = getOperation();
    // Packed (and fused) calls only where the weights never change.
    func::FuncOp entry = memc::getEntryBody(module);
    if (!entry || memc::getTrainFacts(module))
      return;
    SmallVector<linalg::GenericOp> gemms;
    entry.walk([&](linalg::GenericOp op) { gemms.push_back(op); });
    for (linalg::GenericOp gemm : gemms)
      if (!gemm->getParentOfType<memc::GemmEpilogueOp>())
        wrap(gemm, entry);
  }
};

} // namespace
