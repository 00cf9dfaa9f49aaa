//===- OutputFile.h - Files written whole or not at all ---------*- C++ -*-===//
//
// What memc-run writes (--save-model, --save-state) must never be left
// half-written: a crash, a full disk or a failed step would otherwise leave
// a file that looks like a model or a state but is not one. The bytes go to
// a temporary sibling, which is renamed onto the final name only once it is
// complete (rename(2) within a directory is atomic); otherwise it is
// removed. The temporary's name is memc's own convention,
// `<path>.memc-tmp-<pid>-XXXXXX`.
//
//===----------------------------------------------------------------------===//
#ifndef MEMC_RUNTIME_OUTPUTFILE_H
#define MEMC_RUNTIME_OUTPUTFILE_H

#include <cstddef>
#include <cstdio>
#include <string>

namespace memc {
namespace rt {

class OutputFile {
public:
  OutputFile() = default;
  /// Removes the temporary unless commit() succeeded.
  ~OutputFile() { discard(); }
  OutputFile(const OutputFile &) = delete;
  OutputFile &operator=(const OutputFile &) = delete;

  /// Creates the temporary sibling of `path`. Errors read "<path>: cannot
  /// write: <why>".
  bool open(const std::string &path, std::string &error);
  /// Appends `n` bytes. After the first failure every call fails; the
  /// error is reported by commit().
  void write(const void *data, size_t n);
  /// Flushes, syncs and renames the temporary onto the path; on failure it
  /// is removed and `error` is "<path>: cannot write: <why>".
  bool commit(std::string &error);
  /// Removes the temporary (if any) and forgets the path.
  void discard();

private:
  std::string path_, temp_;
  std::FILE *file_ = nullptr;
  int errno_ = 0; ///< The first write error, 0 when none.
};

/// Checks, before a long run, that `path` can be written at its end: its
/// directory exists and is writable and `path` is not a directory. Errors
/// read "<path>: <why>". A race can still make the final write fail; this
/// only keeps the common mistakes from costing a whole run.
bool checkWritable(const std::string &path, std::string &error);

} // namespace rt
} // namespace memc

#endif // MEMC_RUNTIME_OUTPUTFILE_H
