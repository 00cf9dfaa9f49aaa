//===- X86RangeMinMax.cpp - IEEE maximum/minimum as VRANGEPS
//---------------===//
//
// arith.maximumf and arith.minimumf are IEEE 754-2019 maximum and minimum:
// NaN when either operand is NaN, and +0 above -0. LLVM's x86 backend
// expands llvm.maximum/minimum on vectors into six to seven instructions
// (the sign tests and blends that order the zeros, the compare and blend
// for NaN): a 3 x 3 max pool's eight of them made ResNet-18's pooling
// twice ORT's time. AVX-512DQ's VRANGEPS computes the maximum or minimum
// with the zeros ordered (imm8 sign control from the comparison) in one
// instruction, but returns the other operand for a NaN; a compare and a
// blend put the NaN back. Three instructions, the same results.
//
//===----------------------------------------------------------------------===//
#include "X86RangeMinMax.h"

#include "llvm/IR/IRBuilder.h"
#include "llvm/IR/InstIterator.h"
#include "llvm/IR/IntrinsicInst.h"
#include "llvm/IR/IntrinsicsX86.h"
#include "llvm/MC/MCSubtargetInfo.h"
#include "llvm/Target/TargetMachine.h"

using namespace llvm;

namespace {

/// VRANGEPS's imm8: bits 1:0 select minimum (00) or maximum (01), bits 3:2
/// (01) take the result's sign from the comparison, which orders -0 below
/// +0.
constexpr uint32_t kRangeMin = 0x4, kRangeMax = 0x5;
/// The rounding operand of the 512-bit form: the current direction.
constexpr uint32_t kCurrentDirection = 4;

/// The VRANGEPS intrinsic for `type` (16, 8 or 4 floats), or none.
std::optional<Intrinsic::ID> rangeFor(FixedVectorType *type, bool vl) {
  if (!type || !type->getElementType()->isFloatTy())
    return std::nullopt;
  switch (type->getNumElements()) {
  case 16:
    return Intrinsic::x86_avx512_mask_range_ps_512;
  case 8:
    return vl ? std::optional(Intrinsic::x86_avx512_mask_range_ps_256)
              : std::nullopt;
  case 4:
    return vl ? std::optional(Intrinsic::x86_avx512_mask_range_ps_128)
              : std::nullopt;
  default:
    return std::nullopt;
  }
}

} // namespace

unsigned memc::lowerMinMaxToRange(Module &module, const TargetMachine &tm) {
  const MCSubtargetInfo *sti = tm.getMCSubtargetInfo();
  if (!tm.getTargetTriple().isX86() || !sti || !sti->checkFeatures("+avx512dq"))
    return 0;
  bool vl = sti->checkFeatures("+avx512vl");
  SmallVector<IntrinsicInst *> calls;
  for (Function &f : module)
    for (Instruction &inst : instructions(f))
      if (auto *call = dyn_cast<IntrinsicInst>(&inst))
        if ((call->getIntrinsicID() == Intrinsic::maximum ||
             call->getIntrinsicID() == Intrinsic::minimum) &&
            rangeFor(dyn_cast<FixedVectorType>(call->getType()), vl))
          calls.push_back(call);
  for (IntrinsicInst *call : calls) {
    auto *type = cast<FixedVectorType>(call->getType());
    Intrinsic::ID range = *rangeFor(type, vl);
    IRBuilder<> b(call);
    Value *x = call->getArgOperand(0), *y = call->getArgOperand(1);
    uint32_t imm =
        call->getIntrinsicID() == Intrinsic::maximum ? kRangeMax : kRangeMin;
    SmallVector<Value *> args = {x, y, b.getInt32(imm),
                                 Constant::getNullValue(type)};
    if (type->getNumElements() == 16)
      args.append({b.getInt16(0xFFFF), b.getInt32(kCurrentDirection)});
    else
      args.push_back(b.getInt8(0xFF));
    Value *ordered = b.CreateIntrinsic(range, {}, args);
    // Either operand NaN: their sum is a quiet NaN.
    Value *unordered = b.CreateFCmpUNO(x, y);
    Value *result = b.CreateSelect(unordered, b.CreateFAdd(x, y), ordered);
    call->replaceAllUsesWith(result);
    call->eraseFromParent();
  }
  return calls.size();
}
