//===- Runner.h - What memc-run does, as a library --------------*- C++ -*-===//
//
// memc-run's run of a CPU package (model.so), kept out of main() so the unit
// tests drive the whole path (argv -> package -> memc_entry -> comparison ->
// report lines and exit code) in-process. The options, data files and report
// it shares with the CUDA runner are runtime/common's (RunCommon.h).
//
//===----------------------------------------------------------------------===//
#ifndef MEMC_RUNTIME_CPU_RUNNER_H
#define MEMC_RUNTIME_CPU_RUNNER_H

#include "memc/Runtime/RunCommon.h"

#include <cstdio>

namespace memc {
namespace rt {

/// Loads and runs the package as memc-run does. Report lines go to `out`;
/// an error is one line "memc-run: <file>: <what>" on `err`. Returns the
/// process exit code (memc/ExitCodes.h).
int runPackage(const RunOptions &opts, std::FILE *out, std::FILE *err);

/// main() of memc-run: parse, print usage/errors, run.
int memcRunMain(int argc, const char *const *argv, std::FILE *out,
                std::FILE *err);

} // namespace rt
} // namespace memc

#endif // MEMC_RUNTIME_CPU_RUNNER_H
