//===- memc-opt.cpp - mlir-opt with memc's dialects and passes ------------===//
//
// Every stage `memc` runs is registered here as a named pass pipeline (see
// lib/Driver/Pipelines.cpp), so compiler developers can reproduce and
// lit-test any stage on its own.
//
//===----------------------------------------------------------------------===//
#include "memc/Driver/Pipelines.h"
#include "memc/Driver/Registration.h"

#include "mlir/IR/DialectRegistry.h"
#include "mlir/Tools/mlir-opt/MlirOptMain.h"

int main(int argc, char **argv) {
  mlir::DialectRegistry registry;
  memc::registerAllDialects(registry);
  memc::registerAllPasses();
  memc::registerPipelines();
  return mlir::asMainReturnCode(
      mlir::MlirOptMain(argc, argv, "memc optimizer driver\n", registry));
}
