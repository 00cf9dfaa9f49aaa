//===- Registration.cpp - dialects and passes memc uses -------------------===//
#include "memc/Driver/Registration.h"

#include "dialects/einsum/BufferizableOpInterfaceImpl.h"
#include "dialects/einsum/EinsumDialect.h"
#include "dialects/kv/KVDialect.h"
#include "dialects/memc/BufferizableOpInterfaceImpl.h"
#include "dialects/memc/MemcDialect.h"
#include "dialects/memc/Transforms/Passes.h"
#include "dialects/optim/BufferizableOpInterfaceImpl.h"
#include "dialects/optim/OptimDialect.h"
#include "memc/Conversion/Passes.h"
#include "memc/Transforms/Passes.h"

#include "mlir/InitAllDialects.h"
#include "mlir/InitAllExtensions.h"
#include "mlir/InitAllPasses.h"
#include "mlir/Target/LLVM/NVVM/Target.h"
#include "mlir/Target/LLVMIR/Dialect/Builtin/BuiltinToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Dialect/GPU/GPUToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Dialect/LLVMIR/LLVMToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Dialect/NVVM/NVVMToLLVMIRTranslation.h"

void memc::registerMemcOnlyDialects(mlir::DialectRegistry &registry) {
  registry.insert<einsum::EinsumDialect, optim::OptimDialect, kv::KVDialect,
                  memc::MemcDialect>();
  // Few modules hold a memc op (only train steps that swap), so a parsed op
  // would seldom load the dialect; it is loaded with every context so that
  // the interface attributes (memc.*) are always verified.
  registry.addExtension(+[](mlir::MLIRContext *ctx, mlir::BuiltinDialect *) {
    ctx->getOrLoadDialect<memc::MemcDialect>();
  });
  einsum::registerBufferizableOpInterfaceExternalModels(registry);
  optim::registerBufferizableOpInterfaceExternalModels(registry);
  memc::registerBufferizableOpInterfaceExternalModels(registry);
}

void memc::registerAllDialects(mlir::DialectRegistry &registry) {
  registerMemcOnlyDialects(registry);
  mlir::registerAllDialects(registry);
  mlir::registerAllExtensions(registry);
  mlir::registerBuiltinDialectTranslation(registry);
  mlir::registerLLVMDialectTranslation(registry);
  // --target=cuda: gpu-module-to-binary serializes through the NVVM target.
  mlir::NVVM::registerNVVMTargetInterfaceExternalModels(registry);
  mlir::registerGPUDialectTranslation(registry);
  mlir::registerNVVMDialectTranslation(registry);
}

void memc::registerMemcOnlyPasses() {
  memc::registerMemcConversionPasses();
  memc::registerMemcPasses();
  memc::registerMemcInterfacePasses();
}

void memc::registerAllPasses() {
  mlir::registerAllPasses();
  registerMemcOnlyPasses();
}
