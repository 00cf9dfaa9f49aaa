//===- InputFile.cpp - Opening package and data files safely --------------===//
//
// O_NONBLOCK is what keeps a FIFO from hanging the open: without a writer,
// a blocking open of a FIFO waits forever. On a regular file the flag has no
// effect, so it is simply left on. fstat on the descriptor (not stat on the
// path) makes the type check apply to the file that is actually read.
//
//===----------------------------------------------------------------------===//

#include "memc/Runtime/InputFile.h"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace memc {
namespace rt {

namespace {

const char *kindOf(mode_t mode) {
  if (S_ISDIR(mode))
    return "a directory";
  if (S_ISFIFO(mode))
    return "a FIFO";
  if (S_ISCHR(mode))
    return "a character device";
  if (S_ISBLK(mode))
    return "a block device";
  if (S_ISSOCK(mode))
    return "a socket";
  return "not a plain file";
}

} // namespace

std::string describeOpenError(int err) {
  switch (err) {
  case ENOENT:
    return "no such file";
  case EACCES:
  case EPERM:
    return "permission denied";
  case ENOTDIR:
    return "a component of the path is not a directory";
  case ELOOP:
    return "too many levels of symbolic links";
  case ENXIO:
    return "not a regular file (a socket or a device without a driver)";
  case ENAMETOOLONG:
    return "the path is too long";
  default:
    return std::strerror(err);
  }
}

void InputFile::close() {
  if (fd_ >= 0)
    ::close(fd_);
  fd_ = -1;
  size_ = 0;
}

bool InputFile::open(const std::string &path, uint64_t maxBytes,
                     std::string &error) {
  close();
  path_ = path;
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
  if (fd < 0) {
    error = path + ": cannot open: " + describeOpenError(errno);
    return false;
  }
  struct stat st;
  if (::fstat(fd, &st) != 0) {
    error = path + ": cannot stat: " + std::strerror(errno);
    ::close(fd);
    return false;
  }
  if (!S_ISREG(st.st_mode)) {
    error = path + ": is " + kindOf(st.st_mode) + ", not a regular file";
    ::close(fd);
    return false;
  }
  if (st.st_size < 0 || uint64_t(st.st_size) > maxBytes) {
    error = path + ": too large (" + std::to_string(st.st_size) +
            " bytes, at most " + std::to_string(maxBytes) + ")";
    ::close(fd);
    return false;
  }
  fd_ = fd;
  size_ = uint64_t(st.st_size);
  return true;
}

bool InputFile::readAt(uint64_t offset, void *buf, uint64_t n,
                       std::string &error) {
  auto *p = static_cast<char *>(buf);
  uint64_t done = 0;
  while (done < n) {
    ssize_t got =
        ::pread(fd_, p + done, size_t(n - done), off_t(offset + done));
    if (got < 0 && errno == EINTR)
      continue;
    if (got < 0) {
      error = path_ + ": cannot read: " + std::strerror(errno);
      return false;
    }
    if (got == 0) {
      error = path_ + ": truncated (ends at byte " +
              std::to_string(offset + done) + ", needed " +
              std::to_string(offset + n) + ")";
      return false;
    }
    done += uint64_t(got);
  }
  return true;
}

bool InputFile::readAll(std::string &out, std::string &error) {
  out.clear();
  out.resize(size_t(size_));
  return size_ == 0 || readAt(0, out.data(), size_, error);
}

bool readSmallFile(const std::string &path, uint64_t maxBytes, std::string &out,
                   std::string &error) {
  InputFile f;
  return f.open(path, maxBytes, error) && f.readAll(out, error);
}

std::string joinPath(const std::string &dir, std::string_view file) {
  std::string base = dir;
  while (base.size() > 1 && base.back() == '/')
    base.pop_back();
  if (base != "/")
    base += '/';
  return base + std::string(file);
}

} // namespace rt
} // namespace memc
