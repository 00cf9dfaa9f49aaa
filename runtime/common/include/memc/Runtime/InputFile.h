//===- InputFile.h - Opening package and data files safely ------*- C++ -*-===//
//
// Every file memc-run reads (manifest.txt, weights.bin, model.so, launch
// plans, .pb tensors) is untrusted input: a package may be damaged, copied
// badly or tampered with. A FIFO or a device in its place would make a plain
// open(2) or read(2) block forever, and a file shorter than its metadata
// claims would turn an mmap into SIGBUS. InputFile opens without blocking,
// accepts regular files only and reports the size before anything is read
// or mapped, so every caller can check its bounds first.
//
//===----------------------------------------------------------------------===//
#ifndef MEMC_RUNTIME_INPUTFILE_H
#define MEMC_RUNTIME_INPUTFILE_H

#include <cstdint>
#include <string>
#include <string_view>

namespace memc {
namespace rt {

class InputFile {
public:
  InputFile() = default;
  ~InputFile() { close(); }
  InputFile(const InputFile &) = delete;
  InputFile &operator=(const InputFile &) = delete;

  /// Opens `path` for reading. Fails, with `error` = "<path>: <what>", when
  /// it cannot be opened (the reason in words: "no such file", "permission
  /// denied"...), is not a regular file ("is a FIFO, not a regular file")
  /// or is larger than `maxBytes` ("too large").
  bool open(const std::string &path, uint64_t maxBytes, std::string &error);

  /// Reads the whole file (size() bytes) into `out`. A file that shrinks
  /// while it is read is reported as truncated.
  bool readAll(std::string &out, std::string &error);

  /// pread of exactly `n` bytes at `offset`; false (and a "truncated" error)
  /// when the file ends first.
  bool readAt(uint64_t offset, void *buf, uint64_t n, std::string &error);

  void close();
  bool isOpen() const { return fd_ >= 0; }
  int fd() const { return fd_; }
  uint64_t size() const { return size_; }
  const std::string &path() const { return path_; }

private:
  int fd_ = -1;
  uint64_t size_ = 0;
  std::string path_;
};

/// The reason open(2) failed with `err`, in words for a user: "no such
/// file", "permission denied", ... (strerror for the rest).
std::string describeOpenError(int err);

/// Reads a whole text file of at most `maxBytes`; "<path>: <why>" on failure.
bool readSmallFile(const std::string &path, uint64_t maxBytes, std::string &out,
                   std::string &error);

/// `dir`/`file`, with the trailing slashes of `dir` dropped: "pkg" and
/// "pkg/" both give "pkg/manifest.txt".
std::string joinPath(const std::string &dir, std::string_view file);

} // namespace rt
} // namespace memc

#endif // MEMC_RUNTIME_INPUTFILE_H
