//===- BufferizableOpInterfaceImpl.h - optim ops in one-shot-bufferize ----===//
#ifndef MEMC_DIALECTS_OPTIM_BUFFERIZABLEOPINTERFACEIMPL_H
#define MEMC_DIALECTS_OPTIM_BUFFERIZABLEOPINTERFACEIMPL_H

namespace mlir {
class DialectRegistry;
} // namespace mlir

namespace memc::optim {
/// Lets one-shot-bufferize turn `optim.svd_projector` on tensors into the
/// op on buffers, writing the projector state in place. (The update ops are
/// lowered to linalg before bufferization.)
void registerBufferizableOpInterfaceExternalModels(
    mlir::DialectRegistry &registry);
} // namespace memc::optim

#endif
