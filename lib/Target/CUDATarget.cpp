//===- CUDATarget.cpp - CUDA architectures and ptxas ----------------------===//
//
// ptxas is optional: memc generates PTX with LLVM's NVPTX backend and needs
// no CUDA toolkit. When ptxas is installed the package also gets a cubin for
// its architecture (no JIT at load time) and a PTX the driver would reject
// fails at compile time, with ptxas's message, instead of on the GPU.
//
//===----------------------------------------------------------------------===//
#include "memc/Target/CUDATarget.h"

#include "memc/Runtime/PackageFormat.h"

#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/SmallString.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/Program.h"
#include "llvm/Support/raw_ostream.h"

#include <cstdlib>

namespace memc {

llvm::ArrayRef<llvm::StringRef> getSupportedCUDAArchs() {
  // The NVPTX backend's list (llc -mtriple=nvptx64 -mcpu=help) from Volta
  // on; older GPUs lack the PTX features current drivers and CUDA require.
  static const llvm::StringRef archs[] = {
      "sm_70",  "sm_72",   "sm_75",  "sm_80",   "sm_86",   "sm_87",  "sm_88",
      "sm_89",  "sm_90",   "sm_90a", "sm_100",  "sm_100a", "sm_101", "sm_101a",
      "sm_103", "sm_103a", "sm_120", "sm_120a", "sm_121",  "sm_121a"};
  return archs;
}

bool isSupportedCUDAArch(llvm::StringRef arch) {
  return llvm::is_contained(getSupportedCUDAArchs(), arch);
}

bool cudaArchHasTF32MMA(llvm::StringRef arch) {
  unsigned number = 0;
  llvm::StringRef digits = arch.drop_front(3).take_while(
      [](char c) { return c >= '0' && c <= '9'; });
  return arch.starts_with("sm_") && !digits.getAsInteger(10, number) &&
         number >= 80;
}

std::string findPtxas() {
  if (const char *home = std::getenv("CUDA_HOME")) {
    llvm::SmallString<256> path(home);
    llvm::sys::path::append(path, "bin", "ptxas");
    if (llvm::sys::fs::can_execute(path))
      return std::string(path);
  }
  if (llvm::ErrorOr<std::string> onPath = llvm::sys::findProgramByName("ptxas"))
    return *onPath;
  const char *fallback = "/usr/local/cuda/bin/ptxas";
  if (llvm::sys::fs::can_execute(fallback))
    return fallback;
  return "";
}

bool runPtxas(const std::string &ptxas, const std::string &ptxPath,
              llvm::StringRef arch, const std::string &cubinPath,
              std::string &error) {
  llvm::SmallString<256> log;
  if (std::error_code ec =
          llvm::sys::fs::createTemporaryFile("memc-ptxas", "log", log)) {
    error = "cannot create a temporary file for ptxas: " + ec.message();
    return false;
  }
  std::string archFlag = "-arch=" + arch.str();
  llvm::StringRef args[] = {ptxas, archFlag, ptxPath, "-o", cubinPath};
  std::optional<llvm::StringRef> redirects[] = {std::nullopt, log.str(),
                                                log.str()};
  std::string execError;
  int rc = llvm::sys::ExecuteAndWait(ptxas, args, std::nullopt, redirects,
                                     /*SecondsToWait=*/0, /*MemoryLimit=*/0,
                                     &execError);
  std::string firstLine;
  if (auto text = llvm::MemoryBuffer::getFile(log))
    firstLine = (*text)->getBuffer().split('\n').first.trim().str();
  llvm::sys::fs::remove(log);
  if (rc == 0)
    return true;
  error = ptxas + " rejected the PTX for " + arch.str() + ": " +
          (firstLine.empty()
               ? (execError.empty() ? "exit " + std::to_string(rc) : execError)
               : firstLine);
  return false;
}

static bool writeFile(const std::string &path, llvm::StringRef data,
                      std::string &error) {
  std::error_code ec;
  llvm::raw_fd_ostream os(path, ec);
  if (!ec) {
    os << data;
    os.close();
    ec = os.error();
  }
  if (ec) {
    error = "cannot write " + path + ": " + ec.message();
    return false;
  }
  return true;
}

bool writeCUDAPackageFiles(const std::string &dir, const CUDAProgram &program,
                           llvm::StringRef arch, std::string &error) {
  if (!writeFile(dir + "/" + package::kLaunchPlanFile, program.plan, error) ||
      !writeFile(dir + "/" + package::kConstantsFile, program.constants, error))
    return false;
  if (program.ptx.empty())
    return true;
  std::string ptxPath = dir + "/" + package::kKernelsPtxFile;
  if (!writeFile(ptxPath, program.ptx, error))
    return false;
  std::string ptxas = findPtxas();
  return ptxas.empty() ||
         runPtxas(ptxas, ptxPath, arch, dir + "/" + package::kKernelsCubinFile,
                  error);
}

bool validatePTX(const std::string &ptxPath, llvm::StringRef arch,
                 std::string &error) {
  std::string ptxas = findPtxas();
  if (ptxas.empty())
    return true;
  llvm::SmallString<256> cubin;
  if (std::error_code ec =
          llvm::sys::fs::createTemporaryFile("memc-ptxas", "cubin", cubin)) {
    error = "cannot create a temporary file for ptxas: " + ec.message();
    return false;
  }
  bool ok = runPtxas(ptxas, ptxPath, arch, std::string(cubin), error);
  llvm::sys::fs::remove(cubin);
  return ok;
}

} // namespace memc
