//===- ArenaNoAlias.cpp - one noalias pointer per arena buffer ------------===//
#include "memc/Transforms/Passes.h"
#include "dialects/memc/ProgramInterface.h"

#include "mlir/Dialect/Utils/StaticValueUtils.h"
#include "mlir/Interfaces/FunctionInterfaces.h"
#include "mlir/Interfaces/ViewLikeInterface.h"
#include "llvm/ADT/SmallPtrSet.h"

namespace memc {
#define GEN_PASS_DEF_ARENANOALIAS
#include "memc/Transforms/Passes.h.inc"
} // namespace memc

using namespace mlir;

namespace {

constexpr llvm::StringLiteral kViewFn = memc::kArenaViewFunction;
constexpr llvm::StringLiteral kReleaseFn = memc::kArenaReleaseFunction;

/// The ops that use `root` or an alias of it: a view derived from it, or the
/// results of a region op that a nested terminator forwards it to (a buffer
/// an scf.if branch yields). `forwarders` gets those region ops.
SmallVector<Operation *> aliasUsers(Value root,
                                    SmallVectorImpl<Operation *> &forwarders) {
  SmallVector<Operation *> users;
  SmallVector<Value> worklist{root};
  llvm::SmallPtrSet<Value, 8> seen{root};
  auto push = [&](Value v) {
    if (seen.insert(v).second)
      worklist.push_back(v);
  };
  while (!worklist.empty()) {
    Value v = worklist.pop_back_val();
    for (Operation *user : v.getUsers()) {
      users.push_back(user);
      if (auto view = dyn_cast<ViewLikeOpInterface>(user);
          view && view.getViewSource() == v)
        for (Value r : user->getResults())
          push(r);
      Operation *parent = user->getParentOp();
      if (user->hasTrait<OpTrait::IsTerminator>() && parent &&
          !isa<FunctionOpInterface>(parent)) {
        forwarders.push_back(parent);
        for (Value r : parent->getResults())
          if (isa<BaseMemRefType>(r.getType()))
            push(r);
      }
    }
  }
  return users;
}

/// The last op of `block` that uses `users` (uses nested in an op count as
/// that op).
Operation *lastUserInBlock(ArrayRef<Operation *> users, Block *block) {
  Operation *last = nullptr;
  for (Operation *user : users) {
    Operation *top = block->findAncestorOpInBlock(*user);
    if (top && (!last || last->isBeforeInBlock(top)))
      last = top;
  }
  return last;
}

struct ArenaNoAliasPass
    : public memc::impl::ArenaNoAliasBase<ArenaNoAliasPass> {
  using Base::Base;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    func::FuncOp func = memc::getEntryBody(module, funcName);
    if (!func)
      return;
    BlockArgument arena;
    for (BlockArgument arg : func.getArguments())
      if (memc::isPoolArgument(arg, memc::ArgRole::Arena))
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
      SmallVector<Operation *> forwarders;
      SmallVector<Operation *> users = aliasUsers(view.getResult(), forwarders);
      // A view that a region yields out (a buffer of one scf.if branch that
      // is the if's result) is used after that region op: the pointer is
      // taken before the outermost such op and released after its last use
      // there. The view is only an offset into the arena, so it can move.
      Operation *outermost = nullptr;
      for (Operation *op : forwarders)
        if (op->isProperAncestor(view) &&
            (!outermost || op->isProperAncestor(outermost)))
          outermost = op;
      if (outermost) {
        std::optional<int64_t> offset =
            getConstantIntValue(view.getByteShift());
        if (!offset || !view.getSizes().empty()) {
          view.emitError("memc-arena-noalias: an arena view yielded out of '")
              << outermost->getName()
              << "' cannot move before it (no constant offset)";
          return signalPassFailure();
        }
        b.setInsertionPoint(outermost);
        Value shift = arith::ConstantIndexOp::create(b, view.getLoc(), *offset);
        view->moveBefore(outermost);
        view.getByteShiftMutable().assign(shift);
      }
      Block *block = view->getBlock();
      Operation *last = lastUserInBlock(users, block);
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
