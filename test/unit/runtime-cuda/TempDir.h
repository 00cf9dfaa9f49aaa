//===- TempDir.h - a temporary directory for the CUDA runtime tests -------===//
#ifndef MEMC_TEST_UNIT_RUNTIME_CUDA_TEMPDIR_H
#define MEMC_TEST_UNIT_RUNTIME_CUDA_TEMPDIR_H

#include <cstdlib>
#include <filesystem>
#include <string>
#include <system_error>
#include <vector>

namespace memc::test {

/// A fresh directory under the system's temporary directory, removed with
/// everything in it at the end of its scope. Each test gets its own, which
/// also gives every kernels-host.so its own path (dlopen keeps what it
/// loaded by name).
class TempDir {
public:
  explicit TempDir(const std::string &prefix = "memc-cuda-test") {
    std::string tmpl =
        (std::filesystem::temp_directory_path() / (prefix + "-XXXXXX"))
            .string();
    std::vector<char> buf(tmpl.begin(), tmpl.end());
    buf.push_back('\0');
    path_ = ::mkdtemp(buf.data()) ? buf.data() : "/nonexistent";
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir &) = delete;
  TempDir &operator=(const TempDir &) = delete;

  std::string operator/(const std::string &name) const {
    return path_ + "/" + name;
  }
  const std::string &path() const { return path_; }

private:
  std::string path_;
};

} // namespace memc::test

#endif
