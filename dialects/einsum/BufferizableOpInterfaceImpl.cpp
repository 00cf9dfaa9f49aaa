//===- BufferizableOpInterfaceImpl.cpp - einsum ops in one-shot-bufferize -===//
#include "dialects/einsum/BufferizableOpInterfaceImpl.h"

#include "dialects/einsum/EinsumDialect.h"

#include "mlir/Dialect/Bufferization/IR/DstBufferizableOpInterfaceImpl.h"
#include "mlir/IR/DialectRegistry.h"

using namespace mlir;
using namespace mlir::bufferization;

namespace memc::einsum {
namespace {

/// Destination style: the output buffer is the result, and (unlike linalg's
/// default) it is only written, so a fresh `tensor.empty` init needs no copy.
struct AttentionOpInterface
    : DstBufferizableOpInterfaceExternalModel<AttentionOpInterface,
                                              AttentionOp> {
  bool bufferizesToMemoryRead(Operation *op, OpOperand &operand,
                              const AnalysisState &) const {
    return !cast<DestinationStyleOpInterface>(op).isDpsInit(&operand);
  }

  LogicalResult bufferize(Operation *op, RewriterBase &rewriter,
                          const BufferizationOptions &options,
                          BufferizationState &state) const {
    auto attention = cast<AttentionOp>(op);
    SmallVector<Value> buffers;
    for (Value v : attention->getOperands()) {
      FailureOr<Value> buffer = getBuffer(rewriter, v, options, state);
      if (failed(buffer))
        return failure();
      buffers.push_back(*buffer);
    }
    rewriter.setInsertionPoint(op);
    AttentionOp::create(rewriter, op->getLoc(), TypeRange{}, buffers[0],
                        buffers[1], buffers[2], buffers[3],
                        attention.getScaleAttr(),
                        attention.getMaskedFromAttr());
    replaceOpWithBufferizedValues(rewriter, op, buffers[3]);
    return success();
  }
};

} // namespace

void registerBufferizableOpInterfaceExternalModels(DialectRegistry &registry) {
  registry.addExtension(+[](MLIRContext *ctx, EinsumDialect *) {
    AttentionOp::attachInterface<AttentionOpInterface>(*ctx);
  });
}

} // namespace memc::einsum
