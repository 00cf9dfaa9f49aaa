//===- PackageInterface.h - what a package's manifest lists -----*- C++ -*-===//
//
// The program's interface as the package states it: the entry's inputs,
// weights (with their bytes, taken from the parameter globals they are bound
// to) and outputs in argument order, read before bufferization, and the pool
// sizes the plan gave it, read after.
//
//===----------------------------------------------------------------------===//
#ifndef MEMC_LIB_DRIVER_PACKAGEINTERFACE_H
#define MEMC_LIB_DRIVER_PACKAGEINTERFACE_H

#include "dialects/memc/ProgramInterface.h"

#include "mlir/IR/BuiltinOps.h"
#include "llvm/ADT/ArrayRef.h"

#include <cstdint>
#include <string>
#include <vector>

namespace memc {

/// One argument of the entry, as the manifest lists it.
struct ProgramArg {
  enum Kind { Input, Weight, State, Step, KVCache, Output } kind;
  std::string name;
  std::string dtype; ///< manifest spelling: f32, i64, bool, ...
  std::vector<int64_t> shape;
  /// Weights only: the raw little-endian bytes (owned by the MLIRContext's
  /// resource blobs, which outlive the module's parameter globals).
  llvm::ArrayRef<char> data;
  /// Train steps: a weight the step updates in place.
  bool trainable = false;
  /// Train steps: the trainable weight a state belongs to.
  std::string stateOf;
};

struct PackageInterface {
  std::vector<ProgramArg> args;
  uint64_t arenaBytes = 0, hostPoolBytes = 0;
  /// Set for a train step (memc.train).
  std::optional<TrainFacts> train;

  uint64_t weightBytes() const;
  unsigned numWeights() const;
};

/// Reads the interface of `module`'s entry before bufferization: its
/// arguments (inputs, weights with the bytes of the parameters they are
/// bound to) and its results (outputs). False with `error` when an argument
/// has no role or a weight has no bytes.
bool readPackageInterface(mlir::ModuleOp module, PackageInterface &iface,
                          std::string &error);

/// After bufferization: checks that the entry's arguments are `iface`'s
/// (outputs now out-parameters, then the pools) and takes the pool sizes.
bool completePackageInterface(mlir::ModuleOp module, PackageInterface &iface,
                              std::string &error);

/// The bytes of all parameters the module holds (bound or not).
uint64_t parameterBytes(mlir::ModuleOp module);

} // namespace memc

#endif
