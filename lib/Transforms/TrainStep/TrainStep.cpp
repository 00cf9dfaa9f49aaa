//===- TrainStep.cpp - The forward and backward of a train step -----------===//

#include "memc/Transforms/TrainStep.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Transforms/RegionUtils.h"
#include "llvm/ADT/SetVector.h"

using namespace mlir;

namespace memc {

llvm::DenseSet<Operation *> trainStepForward(Block &body) {
  llvm::DenseSet<Operation *> forward;
  auto ret = dyn_cast<func::ReturnOp>(body.getTerminator());
  if (!ret || ret.getNumOperands() == 0)
    return forward;
  Operation *lossOp = ret.getOperand(0).getDefiningOp();
  Operation *top = lossOp ? body.findAncestorOpInBlock(*lossOp) : nullptr;
  if (!top)
    return forward;
  SmallVector<Operation *> worklist{top};
  forward.insert(top);
  while (!worklist.empty()) {
    Operation *op = worklist.pop_back_val();
    for (Value v : valuesRead(op))
      if (Operation *def = v.getDefiningOp())
        if (Operation *defTop = body.findAncestorOpInBlock(*def);
            defTop && forward.insert(defTop).second)
          worklist.push_back(defTop);
  }
  return forward;
}

llvm::SetVector<Value> valuesRead(Operation *op) {
  llvm::SetVector<Value> used(op->operand_begin(), op->operand_end());
  getUsedValuesDefinedAbove(op->getRegions(), used);
  return used;
}

SmallVector<OpOperand *>
backwardUses(Value value, Block &body,
             const llvm::DenseSet<Operation *> &forward) {
  SmallVector<OpOperand *> uses;
  for (OpOperand &use : value.getUses()) {
    Operation *top = body.findAncestorOpInBlock(*use.getOwner());
    if (top && !forward.contains(top) && !isa<func::ReturnOp>(top))
      uses.push_back(&use);
  }
  return uses;
}

std::optional<unsigned> viewedOperand(Operation *op) {
  if (isa_and_nonnull<tensor::ExpandShapeOp, tensor::CollapseShapeOp,
                      tensor::CastOp, tensor::ExtractSliceOp>(op))
    return 0;
  if (auto insert = dyn_cast_or_null<tensor::InsertSliceOp>(op))
    return insert.getDestMutable().getOperandNumber();
  return std::nullopt;
}

void forEachReaderThroughViews(Value value, Block &body,
                               function_ref<void(Operation *)> view,
                               function_ref<void(Operation *)> read) {
  SmallVector<Value> worklist{value};
  while (!worklist.empty()) {
    Value x = worklist.pop_back_val();
    for (OpOperand &use : x.getUses()) {
      Operation *top = body.findAncestorOpInBlock(*use.getOwner());
      if (!top)
        continue;
      if (top == use.getOwner() &&
          viewedOperand(top) == use.getOperandNumber()) {
        view(top);
        worklist.push_back(top->getResult(0));
        continue;
      }
      read(top);
    }
  }
}

Value viewRoot(Value v) {
  while (Operation *def = v.getDefiningOp()) {
    std::optional<unsigned> viewed = viewedOperand(def);
    if (!viewed)
      break;
    v = def->getOperand(*viewed);
  }
  return v;
}

} // namespace memc
