//===- PackageDir.cpp - The files every memc package has ------------------===//
//
// weights.bin is mmap'ed rather than read: a large model's weights then cost
// no copy and no startup time, and pages the program never touches are never
// read.
//
//===----------------------------------------------------------------------===//

#include "memc/Runtime/PackageDir.h"

#include "memc/Runtime/InputFile.h"

#include <cerrno>
#include <cstring>
#include <sys/mman.h>
#include <sys/stat.h>

namespace memc {
namespace rt {

namespace {

/// What zero-byte weights point at: a valid, aligned, never-written address.
alignas(package::kWeightAlignment) unsigned char gEmptyWeight
    [package::kWeightAlignment];

} // namespace

bool checkPackageDir(const std::string &dir, std::string &error) {
  struct stat st;
  if (::stat(dir.c_str(), &st) != 0) {
    error = dir + (errno == ENOENT ? ": no such package directory"
                                   : ": cannot access the package directory: " +
                                         describeOpenError(errno));
    return false;
  }
  if (!S_ISDIR(st.st_mode)) {
    error = dir +
            ": not a package directory (memc -o writes a directory with " +
            package::kManifestFile + ", " + package::kWeightsFile +
            " and the compiled program)";
    return false;
  }
  return true;
}

bool readTextFile(const std::string &path, std::string &out,
                  std::string &error) {
  return readSmallFile(path, package::kMaxManifestBytes, out, error);
}

bool readManifest(const std::string &dir, Manifest &out, std::string &error) {
  std::string path = joinPath(dir, package::kManifestFile), text;
  return readTextFile(path, text, error) &&
         parseManifest(text, path, out, error);
}

void WeightsFile::unmap() {
  if (mapping_)
    ::munmap(mapping_, size_t(size_));
  mapping_ = nullptr;
  size_ = 0;
}

bool WeightsFile::map(const std::string &dir, const Manifest &m, Access access,
                      std::string &error) {
  unmap();
  std::string path = joinPath(dir, package::kWeightsFile);
  uint64_t needed = 0;
  const TensorSpec *last = nullptr;
  for (const TensorSpec &w : m.weights)
    if (w.byteSize > 0 && w.offset + w.byteSize > needed) {
      needed = w.offset + w.byteSize; // no overflow: parseManifest checked
      last = &w;
    }
  InputFile file;
  if (!file.open(path, UINT64_MAX, error)) {
    struct stat st;
    bool missing = ::stat(path.c_str(), &st) != 0 && errno == ENOENT;
    if (needed > 0 || !missing)
      return false;
    error.clear();
  }
  if (last && needed > file.size()) {
    error = path + ": weight '" + last->name + "' (bytes " +
            std::to_string(last->offset) + ".." + std::to_string(needed) +
            ") lies outside the file (" + std::to_string(file.size()) +
            " bytes): the file is truncated or the manifest damaged";
    return false;
  }
  if (needed == 0)
    return true;
  int prot = access == Access::ReadOnly ? PROT_READ : PROT_READ | PROT_WRITE;
  void *p = ::mmap(nullptr, size_t(needed), prot, MAP_PRIVATE, file.fd(), 0);
  if (p == MAP_FAILED) {
    error = path + ": cannot map: " + std::strerror(errno);
    return false;
  }
  mapping_ = p;
  size_ = needed;
  return true;
}

void *WeightsFile::data(const TensorSpec &w) const {
  if (w.byteSize == 0)
    return gEmptyWeight;
  return static_cast<char *>(mapping_) + w.offset;
}

} // namespace rt
} // namespace memc
