//===- OutputFile.cpp - Files written whole or not at all -----------------===//
//
// mkstemp creates the temporary with mode 0600; it is widened to what a
// plain fopen would give (0666 less the umask) before the rename, so the
// result has the permissions a user expects of a file they asked for.
//
//===----------------------------------------------------------------------===//

#include "memc/Runtime/OutputFile.h"

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <sys/stat.h>
#include <unistd.h>
#include <vector>

namespace memc {
namespace rt {

namespace {

/// The directory part of `path` ("." when it has none).
std::string parentOf(const std::string &path) {
  size_t slash = path.rfind('/');
  if (slash == std::string::npos)
    return ".";
  if (slash == 0)
    return "/";
  return path.substr(0, slash);
}

mode_t currentUmask() {
  mode_t mask = ::umask(0);
  ::umask(mask);
  return mask;
}

} // namespace

bool OutputFile::open(const std::string &path, std::string &error) {
  discard();
  std::string tmpl =
      path + ".memc-tmp-" + std::to_string(::getpid()) + "-XXXXXX";
  std::vector<char> buf(tmpl.begin(), tmpl.end());
  buf.push_back('\0');
  int fd = ::mkstemp(buf.data());
  if (fd < 0) {
    error = path + ": cannot write: " + std::strerror(errno);
    return false;
  }
  file_ = ::fdopen(fd, "wb");
  if (!file_) {
    error = path + ": cannot write: " + std::strerror(errno);
    ::close(fd);
    ::unlink(buf.data());
    return false;
  }
  path_ = path;
  temp_ = buf.data();
  errno_ = 0;
  return true;
}

void OutputFile::write(const void *data, size_t n) {
  if (!file_ || errno_ || n == 0)
    return;
  if (std::fwrite(data, 1, n, file_) != n)
    errno_ = errno ? errno : EIO;
}

bool OutputFile::commit(std::string &error) {
  auto fail = [&](int err) {
    error = path_ + ": cannot write: " + std::strerror(err);
    discard();
    return false;
  };
  if (!file_)
    return fail(EBADF);
  if (errno_)
    return fail(errno_);
  if (std::fflush(file_) != 0 || ::fsync(::fileno(file_)) != 0)
    return fail(errno);
  ::fchmod(::fileno(file_), 0666 & ~currentUmask());
  int closed = std::fclose(file_);
  file_ = nullptr;
  if (closed != 0)
    return fail(errno);
  if (::rename(temp_.c_str(), path_.c_str()) != 0)
    return fail(errno);
  temp_.clear();
  path_.clear();
  return true;
}

void OutputFile::discard() {
  if (file_)
    std::fclose(file_);
  file_ = nullptr;
  if (!temp_.empty())
    ::unlink(temp_.c_str());
  temp_.clear();
  path_.clear();
  errno_ = 0;
}

bool checkWritable(const std::string &path, std::string &error) {
  struct stat st;
  if (::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) {
    error = path + ": is a directory (expected a file name)";
    return false;
  }
  std::string dir = parentOf(path);
  if (::stat(dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
    error = path + ": cannot write: no such directory '" + dir + "'";
    return false;
  }
  if (::access(dir.c_str(), W_OK) != 0) {
    error = path + ": cannot write: the directory '" + dir +
            "' is not writable (" + std::strerror(errno) + ")";
    return false;
  }
  return true;
}

} // namespace rt
} // namespace memc
