//===- ArenaNoAlias.cpp - one noalias pointer per arena buffer ------------===//
#include "passes/Passes.h"

#include "mlir/Interfaces/ViewLikeInterface.h"
#include "llvm/ADT/SmallPtrSet.h"

namespace memc {
#define GEN_PASS_DEF_ARENANOALIAS
#include "passes/Passes.h.inc"
} // namespace memc

using namespace mlir;

namespace {

constexpr const char *kViewFn = "memc_rt_arena_view";
constexpr const char *kReleaseFn = "memc_rt_arena_release";

/// The last op of `block` that uses `root` or a view derived from it
/// (uses nested in an op count as that op).
Operation *lastUserInBlock(Value root, Block *block) {
  Operation *last = nullptr;
  SmallVector<Value> worklist{root};
  llvm::SmallPtrSet<Value, 8> seen{root};
  while (!worklist.empty()) {
    Value v = worklist.pop_back_val();
    for (Operation *user : v.getUsers()) {
      if (auto view = dyn_cast<ViewLikeOpInterface>(user);
          view && view.getViewSource() == v)
        for (Value r : user->getResults())
          if (seen.insert(r).second)
            worklist.push_back(r);
      Operation *top = block->findAncestorOpInBlock(*user);
      if (top && (!last || last->isBeforeInBlock(top)))
        last = top;
    }
  }
  return last;
}

struct ArenaNoAliasPass
    : public memc::impl::ArenaNoAliasBase<ArenaNoAliasPass> {
  using Base::Base;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    auto func = module.lookupSymbol<func::FuncOp>(funcName);
    if (!func || func.isExternal())
      return;
    BlockArgument arena;
    for (BlockArgument arg : func.getArguments())
      if (func.getArgAttr(arg.getArgNumber(), "memc.arena"))
        arena = arg;
    if (!arena)
      return; // nothing was planned
    if (module.lookupSymbol(kViewFn) || module.lookupSymbol(kReleaseFn)) {
      module.emitError("memc-arena-noalias: @")
          << kViewFn << " or @" << kReleaseFn << " already exists";
      return signalPassFailure();
    }
    auto arenaType = cast<MemRefType>(arena.getType());
    OpBuilder b = OpBuilder::atBlockBegin(module.getBody());
    Location loc = func.getLoc();
    MLIRContext *ctx = &getContext();
    auto viewFn = func::FuncOp::create(
        b, loc, kViewFn,
        FunctionType::get(ctx, {arenaType, b.getIndexType()}, {arenaType}));
    viewFn.setPrivate();
    viewFn.setResultAttr(0, "llvm.noalias", UnitAttr::get(ctx));
    auto releaseFn = func::FuncOp::create(
        b, loc, kReleaseFn, FunctionType::get(ctx, {arenaType}, {}));
    releaseFn.setPrivate();

    SmallVector<memref::ViewOp> views;
    func.walk([&](memref::ViewOp view) {
      if (view.getSource() == arena)
        views.push_back(view);
    });
    for (memref::ViewOp view : views) {
      Block *block = view->getBlock();
      Operation *last = lastUserInBlock(view.getResult(), block);
      if (!last)
        continue; // dead view: canonicalization removes it
      b.setInsertionPoint(view);
      Location viewLoc = view.getLoc();
      auto buffer = func::CallOp::create(b, viewLoc, viewFn,
                                         ValueRange{arena, view.getByteShift()});
      Value zero = arith::ConstantIndexOp::create(b, viewLoc, 0);
      view.getSourceMutable().assign(buffer.getResult(0));
      view.getByteShiftMutable().assign(zero);
      b.setInsertionPointAfter(last);
      func::CallOp::create(b, viewLoc, releaseFn, buffer.getResult(0));
    }
  }
};

} // namespace
