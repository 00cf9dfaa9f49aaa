//===- Driver.h - libcuda, libcublas, libcusolver at run time ---*- C++ -*-===//
//
// memc never links the CUDA driver: the entry points it uses are resolved
// from libcuda.so.1 with dlopen/dlsym, under the ABI names cuda.h maps them
// to (cuMemAlloc -> cuMemAlloc_v2, ...). The types are declared here with
// the driver ABI's sizes, so no CUDA header is needed to build.
//
//===----------------------------------------------------------------------===//
#ifndef MEMC_RUNTIME_CUDA_DRIVER_H
#define MEMC_RUNTIME_CUDA_DRIVER_H

#include <cstddef>
#include <cstdint>
#include <string>

namespace memc {
namespace cuda {

using CUresult = int;
using CUdevice = int;
using CUdeviceptr = unsigned long long;
using CUcontext = struct CUctx_st *;
using CUmodule = struct CUmod_st *;
using CUfunction = struct CUfunc_st *;
using CUstream = struct CUstream_st *;
using CUevent = struct CUevent_st *;

constexpr CUresult CUDA_SUCCESS = 0;
constexpr int CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR = 75;
constexpr int CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR = 76;
constexpr unsigned CU_STREAM_NON_BLOCKING = 1;
constexpr unsigned CU_EVENT_DEFAULT = 0;
constexpr unsigned CU_EVENT_DISABLE_TIMING = 2;
constexpr int CU_JIT_ERROR_LOG_BUFFER = 5;
constexpr int CU_JIT_ERROR_LOG_BUFFER_SIZE_BYTES = 6;

/// The driver entry points memc uses.
struct DriverAPI {
  CUresult (*cuInit)(unsigned);
  CUresult (*cuGetErrorName)(CUresult, const char **);
  CUresult (*cuGetErrorString)(CUresult, const char **);
  CUresult (*cuDeviceGetCount)(int *);
  CUresult (*cuDeviceGet)(CUdevice *, int);
  CUresult (*cuDeviceGetName)(char *, int, CUdevice);
  CUresult (*cuDeviceGetAttribute)(int *, int, CUdevice);
  CUresult (*cuDevicePrimaryCtxRetain)(CUcontext *, CUdevice);
  CUresult (*cuDevicePrimaryCtxRelease)(CUdevice);
  CUresult (*cuCtxSetCurrent)(CUcontext);
  CUresult (*cuModuleLoadDataEx)(CUmodule *, const void *, unsigned, int *,
                                 void **);
  CUresult (*cuModuleGetFunction)(CUfunction *, CUmodule, const char *);
  CUresult (*cuModuleUnload)(CUmodule);
  CUresult (*cuMemAlloc)(CUdeviceptr *, size_t);
  CUresult (*cuMemFree)(CUdeviceptr);
  CUresult (*cuMemHostAlloc)(void **, size_t, unsigned);
  CUresult (*cuMemFreeHost)(void *);
  CUresult (*cuMemcpyHtoD)(CUdeviceptr, const void *, size_t);
  CUresult (*cuMemcpyHtoDAsync)(CUdeviceptr, const void *, size_t, CUstream);
  CUresult (*cuMemcpyDtoHAsync)(void *, CUdeviceptr, size_t, CUstream);
  CUresult (*cuMemcpyDtoDAsync)(CUdeviceptr, CUdeviceptr, size_t, CUstream);
  CUresult (*cuMemsetD8)(CUdeviceptr, unsigned char, size_t);
  CUresult (*cuStreamCreate)(CUstream *, unsigned);
  CUresult (*cuStreamDestroy)(CUstream);
  CUresult (*cuStreamSynchronize)(CUstream);
  CUresult (*cuStreamWaitEvent)(CUstream, CUevent, unsigned);
  CUresult (*cuEventCreate)(CUevent *, unsigned);
  CUresult (*cuEventRecord)(CUevent, CUstream);
  CUresult (*cuEventSynchronize)(CUevent);
  CUresult (*cuEventElapsedTime)(float *, CUevent, CUevent);
  CUresult (*cuEventDestroy)(CUevent);
  CUresult (*cuLaunchKernel)(CUfunction, unsigned, unsigned, unsigned, unsigned,
                             unsigned, unsigned, unsigned, CUstream, void **,
                             void **);
};

/// libcuda.so.1 (or $MEMC_LIBCUDA), with every entry point resolved.
class Driver {
public:
  Driver() = default;
  ~Driver();
  Driver(const Driver &) = delete;
  Driver &operator=(const Driver &) = delete;

  /// dlopens the library and resolves the entry points. False when the
  /// library or a symbol is missing, with `error` saying which.
  bool load(std::string &error);
  const DriverAPI &api() const { return api_; }

  /// "<call>: <CUDA_ERROR_NAME>: <CUDA's string>" for a failed result.
  std::string describe(CUresult result, const std::string &call) const;

private:
  void *handle_ = nullptr;
  DriverAPI api_ = {};
};

using cublasHandle_t = struct cublasContext *;
using cublasStatus_t = int;
constexpr int CUBLAS_OP_N = 0;
constexpr int CUBLAS_OP_T = 1;

/// The cuBLAS entry points memc uses (libcublas.so.13/12/11 or
/// $MEMC_LIBCUBLAS).
struct CublasAPI {
  cublasStatus_t (*create)(cublasHandle_t *);
  cublasStatus_t (*destroy)(cublasHandle_t);
  cublasStatus_t (*setStream)(cublasHandle_t, CUstream);
  /// Optional (cuBLAS >= 11.x): workspace in memory memc owns.
  cublasStatus_t (*setWorkspace)(cublasHandle_t, void *, size_t);
  cublasStatus_t (*sgemmStridedBatched)(cublasHandle_t, int, int, int, int, int,
                                        const float *, const float *, int,
                                        long long, const float *, int,
                                        long long, const float *, float *, int,
                                        long long, int);
  cublasStatus_t (*dgemmStridedBatched)(cublasHandle_t, int, int, int, int, int,
                                        const double *, const double *, int,
                                        long long, const double *, int,
                                        long long, const double *, double *,
                                        int, long long, int);
  /// Optional.
  const char *(*getStatusString)(cublasStatus_t);
};

class Cublas {
public:
  Cublas() = default;
  ~Cublas();
  Cublas(const Cublas &) = delete;
  Cublas &operator=(const Cublas &) = delete;

  bool load(std::string &error);
  const CublasAPI &api() const { return api_; }
  std::string describe(cublasStatus_t status, const std::string &call) const;

private:
  void *handle_ = nullptr;
  CublasAPI api_ = {};
};


using cusolverDnHandle_t = struct cusolverDnContext *;
using gesvdjInfo_t = struct gesvdjInfo *;
using cusolverStatus_t = int;
constexpr int CUSOLVER_EIG_MODE_VECTOR = 1;

/// The cuSOLVER entry points GaLore's projector refresh uses
/// (libcusolver.so.12/11 or $MEMC_LIBCUSOLVER): the Jacobi SVD, which,
/// unlike gesvd, takes matrices of either orientation.
struct CusolverAPI {
  cusolverStatus_t (*create)(cusolverDnHandle_t *);
  cusolverStatus_t (*destroy)(cusolverDnHandle_t);
  cusolverStatus_t (*setStream)(cusolverDnHandle_t, CUstream);
  cusolverStatus_t (*createGesvdjInfo)(gesvdjInfo_t *);
  cusolverStatus_t (*destroyGesvdjInfo)(gesvdjInfo_t);
  cusolverStatus_t (*setTolerance)(gesvdjInfo_t, double);
  cusolverStatus_t (*setMaxSweeps)(gesvdjInfo_t, int);
  cusolverStatus_t (*sgesvdjBufferSize)(cusolverDnHandle_t, int, int, int, int,
                                        const float *, int, const float *,
                                        const float *, int, const float *, int,
                                        int *, gesvdjInfo_t);
  cusolverStatus_t (*sgesvdj)(cusolverDnHandle_t, int, int, int, int, float *,
                              int, float *, float *, int, float *, int,
                              float *, int, int *, gesvdjInfo_t);
};

class Cusolver {
public:
  Cusolver() = default;
  Cusolver(const Cusolver &) = delete;
  Cusolver &operator=(const Cusolver &) = delete;

  bool load(std::string &error);
  const CusolverAPI &api() const { return api_; }
  std::string describe(cusolverStatus_t status, const std::string &call) const;

private:
  void *handle_ = nullptr;
  CusolverAPI api_ = {};
};

} // namespace cuda
} // namespace memc

#endif // MEMC_RUNTIME_CUDA_DRIVER_H
