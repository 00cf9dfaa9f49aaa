//===- RuntimeCalls.h - calls into memc's CPU runtime from memrefs -*- C++ -*-===//
//
// The passes that replace an op on buffers by a call of a memc_rt_*
// function (memc-contractions-to-blas, memc-svd-projector-to-runtime) pass
// buffers as bare pointers to their first element.
//
//===----------------------------------------------------------------------===//
#ifndef MEMC_TRANSFORMS_RUNTIMECALLS_H
#define MEMC_TRANSFORMS_RUNTIMECALLS_H

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinOps.h"

namespace memc {

/// memc-parallel-kernels makes the calls of a parallel kernel K call the
/// declaration K + this suffix; memc-parallel-calls-to-runtime turns them
/// into memc_rt_parallel_for.
inline constexpr llvm::StringLiteral kParallelKernelSuffix = "__parallel";

/// Whether the bare-pointer calling convention can pass `type`: a memref of
/// static shape in the default memory space whose strides and offset are
/// static (the callee rebuilds the descriptor from the type alone).
inline bool passesAsBarePointer(mlir::Type type) {
  using namespace mlir;
  auto memref = dyn_cast<MemRefType>(type);
  if (!memref || !memref.hasStaticShape() || memref.getMemorySpace())
    return false;
  SmallVector<int64_t> strides;
  int64_t offset;
  return succeeded(memref.getStridesAndOffset(strides, offset)) &&
         ShapedType::isStatic(offset) && llvm::all_of(strides, [](int64_t s) {
           return ShapedType::isStatic(s);
         });
}

/// The address of `memref`'s first element as an !llvm.ptr (its aligned
/// pointer plus its offset, which a subview inside a loop has dynamic).
inline mlir::Value pointerToFirstElement(mlir::OpBuilder &b, mlir::Location loc,
                                         mlir::Value memref) {
  using namespace mlir;
  Value index = memref::ExtractAlignedPointerAsIndexOp::create(b, loc, memref);
  auto type = cast<MemRefType>(memref.getType());
  if (!type.getLayout().isIdentity()) {
    auto meta = memref::ExtractStridedMetadataOp::create(b, loc, memref);
    int64_t bytes = type.getElementTypeBitWidth() / 8;
    Value offset =
        arith::MulIOp::create(b, loc, meta.getOffset(),
                              arith::ConstantIndexOp::create(b, loc, bytes));
    index = arith::AddIOp::create(b, loc, index, offset);
  }
  Value i64 = arith::IndexCastOp::create(b, loc, b.getI64Type(), index);
  return LLVM::IntToPtrOp::create(
      b, loc, LLVM::LLVMPointerType::get(b.getContext()), i64);
}

/// The address (an !llvm.ptr) of a new internal constant global of
/// `module` holding `value` as `type`, named `prefix` and the first free
/// number from `counter` on (a runtime call's tables and names).
inline mlir::Value addressOfConstant(mlir::OpBuilder &b, mlir::Location loc,
                                     mlir::ModuleOp module,
                                     llvm::StringRef prefix, unsigned &counter,
                                     mlir::Type type, mlir::Attribute value) {
  using namespace mlir;
  std::string name;
  do
    name = (prefix + llvm::Twine(counter++)).str();
  while (module.lookupSymbol(name));
  {
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(module.getBody());
    LLVM::GlobalOp::create(b, loc, type, /*isConstant=*/true,
                           LLVM::Linkage::Internal, name, value);
  }
  return LLVM::AddressOfOp::create(
      b, loc, LLVM::LLVMPointerType::get(b.getContext()), name);
}

} // namespace memc

#endif // MEMC_TRANSFORMS_RUNTIMECALLS_H
