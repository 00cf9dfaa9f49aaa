//===- BufferizableOpInterfaceImpl.cpp - memc ops in one-shot-bufferize ---===//
//
// Both swap ops read their operand and make a new buffer, which aliases
// nothing: a copy. The host copy's allocation carries memc.host, so that
// memc-buffer-mapping puts it in the host pool.
//
//===----------------------------------------------------------------------===//
#include "dialects/memc/BufferizableOpInterfaceImpl.h"

#include "dialects/memc/MemcDialect.h"
#include "dialects/memc/ProgramInterface.h"

#include "mlir/Dialect/Bufferization/IR/BufferizableOpInterface.h"
#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/IR/DialectRegistry.h"

using namespace mlir;
using namespace mlir::bufferization;

namespace memc {
namespace {

/// `memc.swap_out` (Host = true) and `memc.swap_in`: a fresh buffer with
/// the operand's contents.
template <typename SwapOp, bool Host>
struct SwapOpInterface
    : BufferizableOpInterface::ExternalModel<SwapOpInterface<SwapOp, Host>,
                                             SwapOp> {
  bool bufferizesToAllocation(Operation *, Value) const { return true; }

  bool bufferizesToMemoryRead(Operation *, OpOperand &,
                              const AnalysisState &) const {
    return true;
  }

  bool bufferizesToMemoryWrite(Operation *, OpOperand &,
                               const AnalysisState &) const {
    return false;
  }

  AliasingValueList getAliasingValues(Operation *, OpOperand &,
                                      const AnalysisState &) const {
    return {};
  }

  FailureOr<BufferLikeType> getBufferType(Operation *op, Value value,
                                          const BufferizationOptions &,
                                          const BufferizationState &,
                                          SmallVector<Value> &) const {
    auto type = cast<RankedTensorType>(value.getType());
    return cast<BufferLikeType>(
        MemRefType::get(type.getShape(), type.getElementType()));
  }

  LogicalResult bufferize(Operation *op, RewriterBase &rewriter,
                          const BufferizationOptions &options,
                          BufferizationState &state) const {
    FailureOr<Value> source =
        getBuffer(rewriter, op->getOperand(0), options, state);
    if (failed(source))
      return failure();
    auto type = cast<RankedTensorType>(op->getResult(0).getType());
    rewriter.setInsertionPoint(op);
    auto alloc = memref::AllocOp::create(
        rewriter, op->getLoc(),
        MemRefType::get(type.getShape(), type.getElementType()));
    if (Host)
      setHostAllocation(alloc);
    memref::CopyOp::create(rewriter, op->getLoc(), *source, alloc);
    replaceOpWithBufferizedValues(rewriter, op, alloc.getResult());
    return success();
  }
};

} // namespace

void registerBufferizableOpInterfaceExternalModels(DialectRegistry &registry) {
  registry.addExtension(+[](MLIRContext *ctx, MemcDialect *) {
    SwapOutOp::attachInterface<SwapOpInterface<SwapOutOp, true>>(*ctx);
    SwapInOp::attachInterface<SwapOpInterface<SwapInOp, false>>(*ctx);
  });
}

} // namespace memc
