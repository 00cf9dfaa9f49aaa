//===- OutputPath.h - where memc may write, and how -------------*- C++ -*-===//
//
// memc never deletes what it did not write. An output is built in a
// temporary beside its target (`TARGET.memc-tmp-PID-XXXXXX`) and moved into
// place only when everything succeeded:
//  - a package replaces only a directory that is a memc package (its
//    manifest says `memc-package`) and never one that holds the input model;
//    the swap is one renameat2(RENAME_EXCHANGE), so readers of the old
//    package see either it or the new one, never neither;
//  - a text output (IR, report, timeline) replaces a regular file, never a
//    directory and never the input model; a device or FIFO (`/dev/null`) is
//    written in place.
// SIGINT, SIGTERM and SIGHUP remove the temporaries of the running process
// (async-signal-safe), and temporaries of dead processes are swept when a
// new one is made beside them.
//
//===----------------------------------------------------------------------===//
#ifndef MEMC_LIB_DRIVER_OUTPUTPATH_H
#define MEMC_LIB_DRIVER_OUTPUTPATH_H

#include "memc/ExitCodes.h"

#include <string>

namespace memc {

enum class OutputKind {
  Package, ///< a directory
  Text,    ///< a file; "-" is stdout
};

/// Checks that memc may write `target` as `kind` without losing anything it
/// did not write, `input` being the model it reads. Returns ExitOK, or
/// ExitUsage / ExitOutput with one line in `error`.
ExitCode checkOutputPath(const std::string &target, OutputKind kind,
                         const std::string &input, std::string &error);

/// True when `dir` is a directory holding a memc package (manifest.txt whose
/// first line is a memc-package header).
bool isMemcPackage(const std::string &dir);

/// An output under construction: a temporary beside the target, removed
/// unless committed (also on SIGINT/SIGTERM/SIGHUP).
class StagedOutput {
public:
  StagedOutput(std::string target, OutputKind kind, std::string input = "");
  ~StagedOutput();
  StagedOutput(const StagedOutput &) = delete;
  StagedOutput &operator=(const StagedOutput &) = delete;

  /// Checks the target (checkOutputPath), sweeps stale temporaries beside it
  /// and creates the temporary. ExitOK or the code to exit with.
  ExitCode create(std::string &error);
  /// The temporary to write into (a directory for packages). When the
  /// target is a device or FIFO, the target itself.
  const std::string &path() const { return temp; }
  /// Moves the temporary into place, atomically for readers of the target.
  ExitCode commit(std::string &error);

private:
  std::string target, input, temp;
  OutputKind kind;
  int slot = -1;       ///< in the signal handler's table
  bool inPlace = false; ///< writing a device or FIFO directly
  bool committed = false;
};

/// Removes `*.memc-tmp-PID-*` entries in `dir` whose process is gone.
void sweepStaleTemporaries(const std::string &dir);

} // namespace memc

#endif
