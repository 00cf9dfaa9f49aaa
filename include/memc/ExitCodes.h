//===- ExitCodes.h - Process exit codes of the memc tools -------*- C++ -*-===//
//
// One distinct code per class of failure, shared by memc and memc-run so that
// scripts (the conformance runner, CI) can tell "unsupported" from "wrong".
// Plain C++: included by the runtime and tools alike. The README has the table.
//
//===----------------------------------------------------------------------===//
#ifndef MEMC_EXITCODES_H
#define MEMC_EXITCODES_H

namespace memc {
enum ExitCode : int {
  ExitOK = 0,
  ExitInternal = 1,      ///< A bug in memc: an invariant did not hold.
  ExitUsage = 2,         ///< Bad command line: unknown flag, bad flag value.
  ExitFileNotFound = 3,  ///< The input file does not exist or is unreadable.
  ExitNotONNX = 4,       ///< Not an ONNX model, or a truncated protobuf.
  ExitUnsupported = 5,   ///< An op, attribute or element type memc lacks.
  ExitUnknownDim = 6,    ///< A dynamic dimension not pinned by --shape.
  ExitInvalidModel = 7,  ///< ONNX says the model is invalid (shapes, types).
  ExitBudget = 8,        ///< --mem-budget below the smallest feasible budget.
  ExitCodegen = 9,       ///< Lowering, code generation or linking failed.
  ExitOutput = 10,       ///< The output path cannot be written.
  ExitTrainSpec = 11,    ///< --train: a trainable name that is no float
                         ///< initializer, or a loss on an output of the
                         ///< wrong type or shape.
  ExitNotCausal = 12,    ///< --decode: the model reads later rows (not a
                         ///< causal LM), or is not a token-id LM at all.
  // memc-run
  ExitMismatch = 20,     ///< Outputs differ from the reference outputs.
  ExitBadPackage = 21,   ///< The package directory is missing or malformed.
  ExitBadData = 22,      ///< Input/output .pb files missing or not matching.
  ExitNoDevice = 23,     ///< --device cuda without a usable GPU or driver.
  ExitDeviceError = 24,  ///< A CUDA driver or cuBLAS call failed (named).
  ExitDiverged = 25,     ///< --train: the loss became NaN or infinite.
  ExitBadState = 26,     ///< --resume: a corrupt or mismatched state file.
  ExitCapacity = 27,     ///< --generate: prompt plus new tokens exceed the
                         ///< KV caches' capacity, or a bad prompt.
};
} // namespace memc

#endif // MEMC_EXITCODES_H
