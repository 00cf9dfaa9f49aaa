//===- DecodePackage.h - memc --decode's package ----------------*- C++ -*-===//
#ifndef MEMC_LIB_DRIVER_DECODEPACKAGE_H
#define MEMC_LIB_DRIVER_DECODEPACKAGE_H

#include "memc/Driver/Compiler.h"

namespace memc {

/// Compiles the decode package of `options` (options.decode.enabled, rows
/// 0): the decode step and the prefill, each a package of its own in a
/// subdirectory, and the manifest naming them. Prints one error line and
/// returns its code on failure; nothing is left behind then.
ExitCode compileDecodePackage(const CompilerOptions &options);

} // namespace memc

#endif
