//===- ImportFuzzer.cpp - libFuzzer target over the ONNX importer ---------===//
//
// Feeds arbitrary bytes to the importer as a model. The contract under test:
// any input either imports to verified IR or fails with an error code and a
// message, never a crash, hang or sanitizer report.
//
//===----------------------------------------------------------------------===//
#include "memc/Driver/Registration.h"
#include "memc/Import/ONNXImporter.h"

#include "mlir/IR/MLIRContext.h"

#include <cstdint>
#include <cstdlib>
#include <string>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static mlir::DialectRegistry *registry = [] {
    auto *r = new mlir::DialectRegistry();
    memc::registerAllDialects(*r);
    return r;
  }();
  mlir::MLIRContext context(*registry);
  context.disableMultithreading();
  // Diagnostics would flood the fuzzer's output; the error struct has them.
  context.getDiagEngine().registerHandler([](mlir::Diagnostic &) {});
  memc::ImportOptions options;
  memc::ImportResult result;
  memc::ImportError error;
  std::string bytes(reinterpret_cast<const char *>(data), size);
  bool ok = memc::importONNXModelFromBytes(bytes, "fuzz.onnx", options,
                                           context, result, error);
  if (!ok && (error.code == memc::ExitOK || error.message.empty()))
    std::abort(); // a failure must say why
  if (ok && error.code != memc::ExitOK)
    std::abort();
  return 0;
}
