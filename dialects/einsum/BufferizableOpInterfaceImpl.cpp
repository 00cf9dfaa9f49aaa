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
    auto bufferOf = [&](Value v) -> FailureOr<Value> {
      if (!v)
        return Value();
      return getBuffer(rewriter, v, options, state);
    };
    FailureOr<Value> q = bufferOf(attention.getQuery()),
                     k = bufferOf(attention.getKey()),
                     v = bufferOf(attention.getValue()),
                     bias = bufferOf(attention.getBias()),
                     out = bufferOf(attention.getOutput());
    if (failed(q) || failed(k) || failed(v) || failed(bias) || failed(out))
      return failure();
    rewriter.setInsertionPoint(op);
    AttentionOp::create(rewriter, op->getLoc(), TypeRange{}, *q, *k, *v, *bias,
                        *out, attention.getQueryOffset(),
                        attention.getScaleAttr(),
                        attention.getMaskedFromAttr());
    replaceOpWithBufferizedValues(rewriter, op, *out);
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
