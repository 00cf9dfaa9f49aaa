//===- BufferizableOpInterfaceImpl.cpp - optim ops in one-shot-bufferize --===//
#include "dialects/optim/BufferizableOpInterfaceImpl.h"

#include "dialects/optim/OptimDialect.h"

#include "mlir/Dialect/Bufferization/IR/DstBufferizableOpInterfaceImpl.h"
#include "mlir/IR/DialectRegistry.h"

using namespace mlir;
using namespace mlir::bufferization;

namespace memc::optim {
namespace {

/// Destination style: the projector's buffer is the result. It is read as
/// well as written (at steps without a refresh it keeps its value).
struct SVDProjectorOpInterface
    : DstBufferizableOpInterfaceExternalModel<SVDProjectorOpInterface,
                                              SVDProjectorOp> {
  LogicalResult bufferize(Operation *op, RewriterBase &rewriter,
                          const BufferizationOptions &options,
                          BufferizationState &state) const {
    auto svd = cast<SVDProjectorOp>(op);
    FailureOr<Value> g = getBuffer(rewriter, svd.getGradient(), options, state),
                     t = getBuffer(rewriter, svd.getStep(), options, state),
                     p = getBuffer(rewriter, svd.getProjector(), options, state);
    if (failed(g) || failed(t) || failed(p))
      return failure();
    rewriter.setInsertionPoint(op);
    SVDProjectorOp::create(rewriter, op->getLoc(), TypeRange{}, *g, *t, *p,
                           svd.getRankAttr(), svd.getPeriodAttr(),
                           svd.getRightAttr(), svd.getWeightNameAttr());
    replaceOpWithBufferizedValues(rewriter, op, *p);
    return success();
  }
};

} // namespace

void registerBufferizableOpInterfaceExternalModels(DialectRegistry &registry) {
  registry.addExtension(+[](MLIRContext *ctx, OptimDialect *) {
    SVDProjectorOp::attachInterface<SVDProjectorOpInterface>(*ctx);
  });
}

} // namespace memc::optim
