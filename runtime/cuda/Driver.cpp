//===- Driver.cpp - libcuda, libcublas, libcusolver, loaded at run time ---===//
//
// A missing library is not an error of this file's: the caller turns it into
// "no CUDA driver" (memc-run's exit code 23). A library that loads but lacks
// a symbol is reported by symbol name, which tells an old driver apart from
// a broken install.
//
//===----------------------------------------------------------------------===//
#include "Driver.h"

#include <cstdlib>
#include <dlfcn.h>
#include <vector>

namespace memc {
namespace cuda {

namespace {

std::string dlerrorText() {
  const char *e = dlerror();
  return e ? e : "unknown dlopen error";
}

/// Resolves `names` in order (the first that exists wins) into `slot`.
template <typename Fn>
bool resolve(void *handle, Fn &slot, std::initializer_list<const char *> names,
             bool optional, const std::string &library, std::string &error) {
  for (const char *name : names) {
    dlerror();
    if (void *sym = dlsym(handle, name)) {
      slot = reinterpret_cast<Fn>(sym);
      return true;
    }
  }
  slot = nullptr;
  if (optional)
    return true;
  error = library + " lacks " + *names.begin();
  return false;
}

/// dlopens $`envVar` if set, else `stem`.VERSION from the loader's path and
/// then from the toolkit's own directory ($CUDA_HOME, /usr/local/cuda),
/// which is often not in ld.so.conf. `tried` lists what was attempted,
/// `library` is the last name tried (the one loaded on success).
void *openToolkitLibrary(const char *envVar, const std::string &stem,
                         std::initializer_list<const char *> versions,
                         std::string &tried, std::string &library) {
  const char *override = std::getenv(envVar);
  if (override && *override) {
    tried = library = override;
    return dlopen(override, RTLD_NOW | RTLD_LOCAL);
  }
  std::vector<std::string> names;
  for (const char *v : versions)
    names.push_back(stem + "." + v);
  const char *home = std::getenv("CUDA_HOME");
  for (std::string dir : {std::string(home && *home ? home : ""),
                          std::string("/usr/local/cuda")})
    if (!dir.empty())
      for (const char *v : versions)
        names.push_back(dir + "/lib64/" + stem + "." + v);
  for (const std::string &name : names) {
    tried += (tried.empty() ? "" : ", ") + name;
    library = name;
    if (void *handle = dlopen(name.c_str(), RTLD_NOW | RTLD_LOCAL))
      return handle;
  }
  return nullptr;
}

} // namespace

Driver::~Driver() {
  // The driver stays loaded: unloading libcuda while its threads and
  // atexit handlers exist is a known source of crashes at exit.
  handle_ = nullptr;
}

bool Driver::load(std::string &error) {
  const char *override = std::getenv("MEMC_LIBCUDA");
  std::string library = override && *override ? override : "libcuda.so.1";
  dlerror();
  handle_ = dlopen(library.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!handle_) {
    error =
        "no CUDA driver: cannot load " + library + " (" + dlerrorText() + ")";
    return false;
  }
  DriverAPI &a = api_;
  bool ok =
      resolve(handle_, a.cuInit, {"cuInit"}, false, library, error) &&
      resolve(handle_, a.cuGetErrorName, {"cuGetErrorName"}, false, library,
              error) &&
      resolve(handle_, a.cuGetErrorString, {"cuGetErrorString"}, false, library,
              error) &&
      resolve(handle_, a.cuDeviceGetCount, {"cuDeviceGetCount"}, false, library,
              error) &&
      resolve(handle_, a.cuDeviceGet, {"cuDeviceGet"}, false, library, error) &&
      resolve(handle_, a.cuDeviceGetName, {"cuDeviceGetName"}, false, library,
              error) &&
      resolve(handle_, a.cuDeviceGetAttribute, {"cuDeviceGetAttribute"}, false,
              library, error) &&
      resolve(handle_, a.cuDevicePrimaryCtxRetain, {"cuDevicePrimaryCtxRetain"},
              false, library, error) &&
      resolve(handle_, a.cuDevicePrimaryCtxRelease,
              {"cuDevicePrimaryCtxRelease_v2", "cuDevicePrimaryCtxRelease"},
              false, library, error) &&
      resolve(handle_, a.cuCtxSetCurrent, {"cuCtxSetCurrent"}, false, library,
              error) &&
      resolve(handle_, a.cuModuleLoadDataEx, {"cuModuleLoadDataEx"}, false,
              library, error) &&
      resolve(handle_, a.cuModuleGetFunction, {"cuModuleGetFunction"}, false,
              library, error) &&
      resolve(handle_, a.cuModuleUnload, {"cuModuleUnload"}, false, library,
              error) &&
      resolve(handle_, a.cuMemAlloc, {"cuMemAlloc_v2"}, false, library,
              error) &&
      resolve(handle_, a.cuMemFree, {"cuMemFree_v2"}, false, library, error) &&
      resolve(handle_, a.cuMemHostAlloc, {"cuMemHostAlloc"}, false, library,
              error) &&
      resolve(handle_, a.cuMemFreeHost, {"cuMemFreeHost"}, false, library,
              error) &&
      resolve(handle_, a.cuMemcpyHtoD, {"cuMemcpyHtoD_v2"}, false, library,
              error) &&
      resolve(handle_, a.cuMemcpyHtoDAsync, {"cuMemcpyHtoDAsync_v2"}, false,
              library, error) &&
      resolve(handle_, a.cuMemcpyDtoHAsync, {"cuMemcpyDtoHAsync_v2"}, false,
              library, error) &&
      resolve(handle_, a.cuMemcpyDtoDAsync, {"cuMemcpyDtoDAsync_v2"}, false,
              library, error) &&
      resolve(handle_, a.cuMemsetD8, {"cuMemsetD8_v2"}, false, library,
              error) &&
      resolve(handle_, a.cuStreamCreate, {"cuStreamCreate"}, false, library,
              error) &&
      resolve(handle_, a.cuStreamDestroy, {"cuStreamDestroy_v2"}, false,
              library, error) &&
      resolve(handle_, a.cuStreamSynchronize, {"cuStreamSynchronize"}, false,
              library, error) &&
      resolve(handle_, a.cuStreamWaitEvent, {"cuStreamWaitEvent"}, false,
              library, error) &&
      resolve(handle_, a.cuEventCreate, {"cuEventCreate"}, false, library,
              error) &&
      resolve(handle_, a.cuEventRecord, {"cuEventRecord"}, false, library,
              error) &&
      resolve(handle_, a.cuEventSynchronize, {"cuEventSynchronize"}, false,
              library, error) &&
      // CUDA 13's cuda.h maps cuEventElapsedTime to _v2; older drivers only
      // have the first version, with the same signature.
      resolve(handle_, a.cuEventElapsedTime,
              {"cuEventElapsedTime_v2", "cuEventElapsedTime"}, false, library,
              error) &&
      resolve(handle_, a.cuEventDestroy, {"cuEventDestroy_v2"}, false, library,
              error) &&
      resolve(handle_, a.cuLaunchKernel, {"cuLaunchKernel"}, false, library,
              error);
  return ok;
}

/// Names of the results memc meets most, for drivers whose cuGetErrorName
/// cannot say (the toolkit's stub libcuda answers every call with 34).
static const char *knownError(CUresult r, const char **text) {
  switch (r) {
  case 2:
    return *text = "out of memory", "CUDA_ERROR_OUT_OF_MEMORY";
  case 34:
    return *text = "CUDA driver is a stub library (the toolkit's "
                   "lib64/stubs/libcuda.so, not a driver)",
           "CUDA_ERROR_STUB_LIBRARY";
  case 35:
    return *text = "CUDA driver version is insufficient for CUDA runtime "
                   "version",
           "CUDA_ERROR_INSUFFICIENT_DRIVER";
  case 100:
    return *text = "no CUDA-capable device is detected", "CUDA_ERROR_NO_DEVICE";
  default:
    return nullptr;
  }
}

std::string Driver::describe(CUresult result, const std::string &call) const {
  const char *name = nullptr, *text = nullptr;
  if (!api_.cuGetErrorName || api_.cuGetErrorName(result, &name) != 0)
    name = nullptr;
  if (!api_.cuGetErrorString || api_.cuGetErrorString(result, &text) != 0)
    text = nullptr;
  if (!name)
    name = knownError(result, &text);
  std::string s =
      call + ": " + (name ? name : "CUDA error " + std::to_string(result));
  if (text)
    s += ": " + std::string(text);
  return s;
}

Cublas::~Cublas() { handle_ = nullptr; }

bool Cublas::load(std::string &error) {
  std::string tried, library;
  handle_ = openToolkitLibrary("MEMC_LIBCUBLAS", "libcublas.so",
                               {"13", "12", "11"}, tried, library);
  if (!handle_) {
    error = "the plan has GEMMs, which run on cuBLAS, but none loads (tried " +
            tried + ": " + dlerrorText() + ")";
    return false;
  }
  CublasAPI &a = api_;
  return resolve(handle_, a.create, {"cublasCreate_v2"}, false, library,
                 error) &&
         resolve(handle_, a.destroy, {"cublasDestroy_v2"}, false, library,
                 error) &&
         resolve(handle_, a.setStream, {"cublasSetStream_v2"}, false, library,
                 error) &&
         resolve(handle_, a.setWorkspace, {"cublasSetWorkspace_v2"}, true,
                 library, error) &&
         resolve(handle_, a.sgemmStridedBatched, {"cublasSgemmStridedBatched"},
                 false, library, error) &&
         resolve(handle_, a.dgemmStridedBatched, {"cublasDgemmStridedBatched"},
                 false, library, error) &&
         resolve(handle_, a.getStatusString, {"cublasGetStatusString"}, true,
                 library, error);
}

std::string Cublas::describe(cublasStatus_t status,
                             const std::string &call) const {
  std::string s = call + ": cuBLAS status " + std::to_string(status);
  if (api_.getStatusString)
    if (const char *text = api_.getStatusString(status))
      s += " (" + std::string(text) + ")";
  return s;
}

bool Cusolver::load(std::string &error) {
  std::string tried, library;
  handle_ = openToolkitLibrary("MEMC_LIBCUSOLVER", "libcusolver.so",
                               {"12", "11"}, tried, library);
  if (!handle_) {
    error = "the plan refreshes GaLore projectors, which run on cuSOLVER, "
            "but none loads (tried " +
            tried + ": " + dlerrorText() + ")";
    return false;
  }
  CusolverAPI &a = api_;
  return resolve(handle_, a.create, {"cusolverDnCreate"}, false, library,
                 error) &&
         resolve(handle_, a.destroy, {"cusolverDnDestroy"}, false, library,
                 error) &&
         resolve(handle_, a.setStream, {"cusolverDnSetStream"}, false, library,
                 error) &&
         resolve(handle_, a.createGesvdjInfo, {"cusolverDnCreateGesvdjInfo"},
                 false, library, error) &&
         resolve(handle_, a.destroyGesvdjInfo, {"cusolverDnDestroyGesvdjInfo"},
                 false, library, error) &&
         resolve(handle_, a.setTolerance, {"cusolverDnXgesvdjSetTolerance"},
                 true, library, error) &&
         resolve(handle_, a.setMaxSweeps, {"cusolverDnXgesvdjSetMaxSweeps"},
                 true, library, error) &&
         resolve(handle_, a.sgesvdjBufferSize, {"cusolverDnSgesvdj_bufferSize"},
                 false, library, error) &&
         resolve(handle_, a.sgesvdj, {"cusolverDnSgesvdj"}, false, library,
                 error);
}

std::string Cusolver::describe(cusolverStatus_t status,
                               const std::string &call) const {
  return call + ": cuSOLVER status " + std::to_string(status);
}

} // namespace cuda
} // namespace memc
