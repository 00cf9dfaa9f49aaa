//===- ParallelLanes.cpp - lanes of chunks on the runtime's threads -------===//
//
// memc-micro-batch with lanes=N runs a train step's chunks side by side: an
// scf.forall of N lanes, each a loop over its own chunks on buffers of its
// own (the arena planner gave every lane a copy). By now the loop bodies'
// ops are calls of outlined kernels. The forall's body moves into a
// function over lanes [lo, hi), and the forall becomes a call of its
// `__parallel` declaration, as a parallel kernel's calls do: the lanes run
// on the runtime's pool, and what a lane calls runs on the lane's thread.
//
//===----------------------------------------------------------------------===//
#include "dialects/memc/MemcDialect.h"
#include "dialects/memc/ProgramInterface.h"
#include "memc/Transforms/Passes.h"
#include "memc/Transforms/RuntimeCalls.h"

#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/IR/Matchers.h"
#include "mlir/IR/SymbolTable.h"
#include "mlir/Transforms/RegionUtils.h"

namespace memc {
#define GEN_PASS_DEF_PARALLELLANES
#include "memc/Transforms/Passes.h.inc"
} // namespace memc

using namespace mlir;
using memc::passesAsBarePointer;

namespace {

/// Lanes [lo, hi) of `forall` one after another: an scf.for at `b` whose
/// body is the forall's, its induction variable the lane.
scf::ForOp lanesInOrder(OpBuilder &b, scf::ForallOp forall, Value lo, Value hi,
                        IRMapping &mapping) {
  Location loc = forall.getLoc();
  auto loop = scf::ForOp::create(b, loc, lo, hi,
                                 arith::ConstantIndexOp::create(b, loc, 1));
  mapping.map(forall.getInductionVar(0), loop.getInductionVar());
  OpBuilder::InsertionGuard guard(b);
  b.setInsertionPoint(loop.getBody()->getTerminator());
  for (Operation &op : forall.getBody()->without_terminator())
    b.clone(op, mapping);
  return loop;
}

struct ParallelLanesPass
    : public memc::impl::ParallelLanesBase<ParallelLanesPass> {
  using Base::Base;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    func::FuncOp model = memc::getEntryBody(module, funcName);
    if (!model)
      return;
    SmallVector<scf::ForallOp> lanes;
    for (auto forall : model.getBody().getOps<scf::ForallOp>())
      if (forall->hasAttr(
              memc::MemcDialect::MicroBatchAttrHelper::getNameStr()))
        lanes.push_back(forall);
    SymbolTable symbols(module);
    MLIRContext *ctx = &getContext();
    for (scf::ForallOp forall : lanes) {
      if (forall.getRank() != 1 || forall.getNumResults() != 0 ||
          !forall.isNormalized()) {
        forall.emitError("memc-parallel-lanes: expected lanes of buffers, "
                         "one normalized dimension, no results");
        return signalPassFailure();
      }
      // Arguments: what the body reads from outside; constants are cloned.
      llvm::SetVector<Value> above;
      getUsedValuesDefinedAbove(forall.getRegion(), above);
      SmallVector<Value> args, constants;
      bool passable = true;
      for (Value v : above) {
        if (matchPattern(v, m_Constant()) &&
            v.getDefiningOp()->getNumOperands() == 0)
          constants.push_back(v);
        else if (v.getType().isIntOrIndexOrFloat() ||
                 passesAsBarePointer(v.getType()))
          args.push_back(v);
        else
          passable = false;
      }
      std::optional<int64_t> count =
          getConstantIntValue(forall.getMixedUpperBound()[0]);
      if (!passable || !count) {
        OpBuilder b(forall);
        IRMapping mapping;
        lanesInOrder(b, forall,
                     arith::ConstantIndexOp::create(b, forall.getLoc(), 0),
                     getValueOrCreateConstantIndexOp(
                         b, forall.getLoc(), forall.getMixedUpperBound()[0]),
                     mapping);
        forall.erase();
        continue;
      }
      // void F(args..., lo, hi): lanes [lo, hi) in order.
      OpBuilder b(model);
      SmallVector<Type> types =
          llvm::map_to_vector(args, [](Value v) { return v.getType(); });
      types.append(2, b.getIndexType());
      Location loc = forall.getLoc();
      auto fn = func::FuncOp::create(b, loc, (model.getSymName() + "_lanes").str(),
                                     FunctionType::get(ctx, types, {}));
      fn.setPrivate();
      fn->setAttr("llvm.linkage",
                  LLVM::LinkageAttr::get(ctx, LLVM::Linkage::Internal));
      symbols.insert(fn); // renames on a clash
      Block *body = fn.addEntryBlock();
      IRMapping mapping;
      for (auto [v, arg] : llvm::zip(args, body->getArguments()))
        mapping.map(v, arg);
      b.setInsertionPointToStart(body);
      for (Value c : constants)
        b.clone(*c.getDefiningOp(), mapping);
      unsigned n = args.size();
      lanesInOrder(b, forall, body->getArgument(n), body->getArgument(n + 1),
                   mapping);
      func::ReturnOp::create(b, loc);

      // The declaration the call names: F's arguments, then the lanes.
      b.setInsertionPoint(model);
      SmallVector<Type> declTypes(types.begin(), types.end() - 1);
      auto decl = func::FuncOp::create(
          b, loc, (fn.getSymName() + memc::kParallelKernelSuffix).str(),
          FunctionType::get(ctx, declTypes, {}));
      decl.setPrivate();
      symbols.insert(decl);
      b.setInsertionPoint(forall);
      args.push_back(arith::ConstantIndexOp::create(b, loc, *count));
      func::CallOp::create(b, loc, decl, args);
      forall.erase();
    }
  }
};

} // namespace
