//===- TargetBackend.h - what a --target adds to compile() ------*- C++ -*-===//
//
// compile() runs the same phases for every target up to a bufferized module
// with its arena planned (import, einsum -> linalg, bufferize); a backend
// says how fused attention is built for it and turns the bufferized module
// into what --emit asks for: IR text, PTX or a package. A new target (or a
// new kind of program on an existing one) is one more backend.
//
//===----------------------------------------------------------------------===//
#ifndef MEMC_LIB_DRIVER_TARGETBACKEND_H
#define MEMC_LIB_DRIVER_TARGETBACKEND_H

#include "memc/Driver/Compiler.h"

#include <memory>
#include <string>

namespace memc {

class CompileSession;

class TargetBackend {
public:
  virtual ~TargetBackend() = default;
  /// The manifest's and the report's name of the target.
  virtual const char *name() const = 0;
  /// Target options and --emit kinds that this target refuses (exit 2).
  virtual ExitCode checkOptions(const CompilerOptions &options,
                                std::string &error) const = 0;
  /// Fused attention as one einsum.attention per block (a GPU kernel after
  /// bufferization) instead of the CPU's loop cascade.
  virtual bool fusedAttentionAsKernel() const = 0;
  /// Its lowering fuses a convolution's GEMM with the op finishing the
  /// result, which the arena plan must allow (memc-wrap-gemm-epilogues).
  virtual bool fusesGemmEpilogues() const = 0;
  /// How many progress phases generate() shows for `emit`.
  virtual unsigned numCodegenPhases(EmitKind emit) const = 0;
  /// From the bufferized module (its interface read, the parameters'
  /// globals still in it) to the output --emit asks for.
  virtual ExitCode generate(CompileSession &session) = 0;
};

std::unique_ptr<TargetBackend> createCPUBackend();
std::unique_ptr<TargetBackend> createCUDABackend();

} // namespace memc

#endif
