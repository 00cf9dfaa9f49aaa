//===- BufferizableOpInterfaceImpl.h - memc ops in one-shot-bufferize -----===//
#ifndef MEMC_DIALECTS_MEMC_BUFFERIZABLEOPINTERFACEIMPL_H
#define MEMC_DIALECTS_MEMC_BUFFERIZABLEOPINTERFACEIMPL_H

namespace mlir {
class DialectRegistry;
} // namespace mlir

namespace memc {
/// Lets one-shot-bufferize turn `memc.swap_out` into a host allocation
/// (memc.host) and a copy into it, and `memc.swap_in` into a device
/// allocation and a copy from the host buffer.
void registerBufferizableOpInterfaceExternalModels(
    mlir::DialectRegistry &registry);
} // namespace memc

#endif
