//===- BufferizableOpInterfaceImpl.h - einsum ops in one-shot-bufferize ---===//
#ifndef MEMC_DIALECTS_EINSUM_BUFFERIZABLEOPINTERFACEIMPL_H
#define MEMC_DIALECTS_EINSUM_BUFFERIZABLEOPINTERFACEIMPL_H

namespace mlir {
class DialectRegistry;
} // namespace mlir

namespace memc::einsum {
/// Lets one-shot-bufferize turn `einsum.attention` on tensors into the op on
/// memrefs. (einsum.einsum and einsum.iterate are lowered to linalg and scf
/// before bufferization; the attention op stays for the GPU's kernel.)
void registerBufferizableOpInterfaceExternalModels(
    mlir::DialectRegistry &registry);
} // namespace memc::einsum

#endif
