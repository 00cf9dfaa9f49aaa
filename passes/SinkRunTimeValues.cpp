//===- SinkRunTimeValues.cpp - input-derived indices into the kernels -----===//
//
// The CUDA host side is a launch plan, which holds addresses and constants
// only. Values that a program reads from an input buffer (a decode step's
// `position`) and the index arithmetic and views made from them are
// therefore computed inside each kernel that uses them: the kernel takes the
// input's buffer and loads the scalar itself. An input is never written by
// the program, so every thread that loads it sees the same value.
//
// upstream's gpu::sinkOperationsIntoLaunchOp does not serve here: it sinks
// an op only when every operand it cannot sink is already used in the
// launch, and the input buffer (or the cache a subview views) is not.
//
//===----------------------------------------------------------------------===//
#include "memc/Transforms/Passes.h"

#include "dialects/memc/ProgramInterface.h"

#include "mlir/IR/IRMapping.h"
#include "mlir/IR/Matchers.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"
#include "mlir/Transforms/RegionUtils.h"
#include "llvm/ADT/SetVector.h"

namespace memc {
#define GEN_PASS_DEF_SINKRUNTIMEVALUES
#include "memc/Transforms/Passes.h.inc"
} // namespace memc

using namespace mlir;

namespace {

struct SinkRunTimeValuesPass
    : public memc::impl::SinkRunTimeValuesBase<SinkRunTimeValuesPass> {
  void runOnOperation() override;

  /// Whether `arg` is a buffer the program only reads, given by the caller.
  bool isInput(Value v) {
    auto arg = dyn_cast<BlockArgument>(v);
    return arg && arg.getOwner() == entry &&
           memc::getArgRole(getOperation(), arg.getArgNumber()) ==
               memc::ArgRole::Input;
  }

  /// Clones the run-time ops that `v` depends on (in program order) to
  /// `b`'s insertion point, recording them in `map`.
  void cloneChain(Value v, OpBuilder &b, IRMapping &map);

  Block *entry = nullptr;
  /// Ops of the entry block whose results are known only at run time: loads
  /// of inputs, and pure ops with such an operand.
  llvm::SetVector<Operation *> runTime;
};

void SinkRunTimeValuesPass::cloneChain(Value v, OpBuilder &b, IRMapping &map) {
  if (map.contains(v))
    return;
  Operation *def = v.getDefiningOp();
  bool constant = def && matchPattern(def, m_Constant());
  if (!def || (!runTime.contains(def) && !constant))
    return; // captured as it is: a kernel argument at outlining
  for (Value operand : def->getOperands())
    cloneChain(operand, b, map);
  b.clone(*def, map);
}

void SinkRunTimeValuesPass::runOnOperation() {
  func::FuncOp fn = getOperation();
  if (fn.isExternal())
    return;
  entry = &fn.getBody().front();
  runTime.clear();
  for (Operation &op : *entry) {
    if (auto load = dyn_cast<memref::LoadOp>(op)) {
      if (isInput(load.getMemref()))
        runTime.insert(&op);
      continue;
    }
    if (op.getNumRegions() != 0 || !isPure(&op))
      continue;
    if (llvm::any_of(op.getOperands(), [&](Value operand) {
          Operation *def = operand.getDefiningOp();
          return def && runTime.contains(def);
        }))
      runTime.insert(&op);
  }
  if (runTime.empty())
    return;

  fn.walk([&](gpu::LaunchOp launch) {
    llvm::SetVector<Value> captured;
    getUsedValuesDefinedAbove(launch.getBody(), captured);
    OpBuilder b = OpBuilder::atBlockBegin(&launch.getBody().front());
    IRMapping map;
    for (Value v : captured) {
      Operation *def = v.getDefiningOp();
      if (!def || !runTime.contains(def))
        continue;
      cloneChain(v, b, map);
      replaceAllUsesInRegionWith(v, map.lookup(v), launch.getBody());
    }
  });

  // The host copies are dead now, unless something other than a kernel
  // still reads one: the plan could not run that.
  for (Operation *op : llvm::reverse(runTime)) {
    if (op->use_empty()) {
      op->erase();
      continue;
    }
    Operation *user = *op->getUsers().begin();
    user->emitError("memc-sink-run-time-values: a value read from an input "
                    "at run time is used on the host by '")
        << user->getName()
        << "'; the CUDA launch plan takes only addresses and constants";
    return signalPassFailure();
  }
}

} // namespace
