//===- MemcPlugin.cpp - memc's dialects and passes for the stock mlir-opt -===//
//
// libMemcPlugin.so is both a dialect plugin and a pass plugin of MLIR's own
// tools: load it with
//
//   mlir-opt --load-dialect-plugin=libMemcPlugin.so \
//            --load-pass-plugin=libMemcPlugin.so ...
//
// and the stock mlir-opt parses memc's dialects (einsum, optim, kv, memc)
// and runs every pass and named pipeline memc-opt has. The host already
// registers the upstream dialects, interface models and passes (and links
// libMLIR.so, as this library does, so both share one MLIR), so only memc's
// own are added.
//
//===----------------------------------------------------------------------===//
#include "memc/Driver/Pipelines.h"
#include "memc/Driver/Registration.h"

#include "mlir/Tools/Plugins/DialectPlugin.h"
#include "mlir/Tools/Plugins/PassPlugin.h"
#include "llvm/Config/llvm-config.h"

using namespace mlir;

extern "C" LLVM_ATTRIBUTE_WEAK DialectPluginLibraryInfo
mlirGetDialectPluginInfo() {
  return {MLIR_PLUGIN_API_VERSION, "memc", LLVM_VERSION_STRING,
          [](DialectRegistry *registry) {
            memc::registerMemcOnlyDialects(*registry);
          }};
}

extern "C" LLVM_ATTRIBUTE_WEAK PassPluginLibraryInfo mlirGetPassPluginInfo() {
  return {MLIR_PLUGIN_API_VERSION, "memc", LLVM_VERSION_STRING, []() {
            memc::registerMemcOnlyPasses();
            memc::registerPipelines();
          }};
}
