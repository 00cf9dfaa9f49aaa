//===- FakeCuda.cpp - a libcuda for tests, on host memory -----------------===//
//
// The handful of driver entry points runtime/cuda uses, implemented on the
// CPU so its tests run without a GPU: "device" memory is host memory (so
// copies really copy), modules are kept as text, launches are recorded (a
// kernel's parameter count is read from the `.entry` in the loaded PTX) and
// not executed. Environment knobs:
//   MEMC_FAKE_CUDA_INIT=N       cuInit returns N (default 0)
//   MEMC_FAKE_CUDA_DEVICES=N    devices present (default 1)
//   MEMC_FAKE_CUDA_MEM_LIMIT=N  cuMemAlloc of more than N bytes fails
//   MEMC_FAKE_CUDA_CC=NN        compute capability (default 90)
//   MEMC_FAKE_CUDA_KERNELS=PATH kernels-host.so (memc --cuda-host-kernels):
//                               launches then run K_memc_host for every
//                               thread, so packages compute real outputs
// fake_cuda_* functions let the tests look at what happened.
//
//===----------------------------------------------------------------------===//
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <dlfcn.h>
#include <map>
#include <string>
#include <vector>

namespace {

struct Launch {
  std::string kernel;
  unsigned dims[7];
  std::vector<uint64_t> params;
};

struct State {
  std::vector<uint64_t> allocSizes; ///< every cuMemAlloc, in order
  std::vector<void *> allocPtrs;
  std::map<void *, size_t> live;
  std::vector<std::string> images; ///< every module loaded
  std::vector<Launch> launches;
  int hostAllocs = 0;
};

State &state() {
  static State s;
  return s;
}

long envInt(const char *name, long fallback) {
  const char *v = std::getenv(name);
  return v && *v ? std::strtol(v, nullptr, 10) : fallback;
}

struct Module {
  std::string image;
};
using HostKernel = void (*)(void **params, const int64_t *ids);

struct Function {
  std::string name;
  int numParams;
  HostKernel host;
};

/// K_memc_host from $MEMC_FAKE_CUDA_KERNELS, or null.
HostKernel hostKernel(const std::string &name) {
  const char *path = std::getenv("MEMC_FAKE_CUDA_KERNELS");
  if (!path || !*path)
    return nullptr;
  void *lib = dlopen(path, RTLD_NOW | RTLD_LOCAL);
  return lib ? reinterpret_cast<HostKernel>(
                   dlsym(lib, (name + "_memc_host").c_str()))
             : nullptr;
}

/// The results the fake returns or tests name, with CUDA's own names and
/// strings for them.
struct ErrorText {
  int code;
  const char *name, *text;
};
const ErrorText kErrors[] = {
    {0, "CUDA_SUCCESS", "no error"},
    {1, "CUDA_ERROR_INVALID_VALUE", "invalid argument"},
    {2, "CUDA_ERROR_OUT_OF_MEMORY", "out of memory"},
    {100, "CUDA_ERROR_NO_DEVICE", "no CUDA-capable device is detected"},
    {209, "CUDA_ERROR_NO_BINARY_FOR_GPU",
     "no kernel image is available for execution on the device"},
    {218, "CUDA_ERROR_INVALID_PTX", "a PTX JIT compilation failed"},
    {500, "CUDA_ERROR_NOT_FOUND", "named symbol not found"},
};

const ErrorText *findError(int r) {
  for (const ErrorText &e : kErrors)
    if (e.code == r)
      return &e;
  return nullptr;
}

} // namespace

extern "C" {

int cuInit(unsigned) { return int(envInt("MEMC_FAKE_CUDA_INIT", 0)); }

int cuGetErrorName(int r, const char **s) {
  const ErrorText *e = findError(r);
  *s = e ? e->name : nullptr;
  return e ? 0 : 1;
}

int cuGetErrorString(int r, const char **s) {
  const ErrorText *e = findError(r);
  *s = e ? e->text : nullptr;
  return e ? 0 : 1;
}

int cuDeviceGetCount(int *n) {
  *n = int(envInt("MEMC_FAKE_CUDA_DEVICES", 1));
  return 0;
}
int cuDeviceGet(int *d, int ordinal) {
  *d = ordinal;
  return 0;
}
int cuDeviceGetName(char *name, int len, int) {
  std::strncpy(name, "Fake GPU", size_t(len));
  return 0;
}
int cuDeviceGetAttribute(int *v, int attr, int) {
  long cc = envInt("MEMC_FAKE_CUDA_CC", 90);
  if (attr == 75)
    *v = int(cc / 10);
  else if (attr == 76)
    *v = int(cc % 10);
  else
    return 1;
  return 0;
}
int cuDevicePrimaryCtxRetain(void **ctx, int) {
  static int context;
  *ctx = &context;
  return 0;
}
int cuDevicePrimaryCtxRelease_v2(int) { return 0; }
int cuCtxSetCurrent(void *) { return 0; }

int cuModuleLoadDataEx(void **module, const void *image, unsigned, int *,
                       void **) {
  const char *p = static_cast<const char *>(image);
  std::string text = std::memcmp(p,
                                 "\x7f"
                                 "ELF",
                                 4) == 0
                         ? std::string("ELF") + (p + 4)
                         : std::string(p);
  if (text.find("FAKE_INVALID") != std::string::npos)
    return 218;
  // A real cubin (binary, no PTX text to read entry points from) is
  // refused as a driver refuses one it cannot run: the runtime then falls
  // back to the PTX.
  if (text.rfind("ELF", 0) == 0 && text.find(".entry") == std::string::npos)
    return 209;
  state().images.push_back(text);
  *module = new Module{text};
  return 0;
}
int cuModuleGetFunction(void **fn, void *module, const char *name) {
  const std::string &image = static_cast<Module *>(module)->image;
  size_t at = image.find(".entry " + std::string(name) + "(");
  if (at == std::string::npos)
    return 500;
  size_t close = image.find(')', at);
  int params = 0;
  for (size_t p = image.find(".param", at); p < close;
       p = image.find(".param", p + 1))
    ++params;
  HostKernel host = hostKernel(name);
  if (std::getenv("MEMC_FAKE_CUDA_KERNELS") && !host)
    return 500;
  *fn = new Function{name, params, host};
  return 0;
}
int cuModuleUnload(void *module) {
  delete static_cast<Module *>(module);
  return 0;
}

int cuMemAlloc_v2(uint64_t *ptr, size_t bytes) {
  long limit = envInt("MEMC_FAKE_CUDA_MEM_LIMIT", -1);
  state().allocSizes.push_back(bytes);
  if (limit >= 0 && bytes > size_t(limit))
    return 2;
  void *p = std::calloc(1, bytes ? bytes : 1);
  state().allocPtrs.push_back(p);
  state().live[p] = bytes;
  *ptr = uint64_t(uintptr_t(p));
  return 0;
}
int cuMemFree_v2(uint64_t ptr) {
  void *p = reinterpret_cast<void *>(uintptr_t(ptr));
  if (!state().live.erase(p))
    return 1;
  std::free(p);
  return 0;
}
int cuMemHostAlloc(void **p, size_t bytes, unsigned) {
  *p = std::calloc(1, bytes);
  ++state().hostAllocs;
  return 0;
}
int cuMemFreeHost(void *p) {
  std::free(p);
  --state().hostAllocs;
  return 0;
}
int cuMemcpyHtoD_v2(uint64_t dst, const void *src, size_t n) {
  std::memcpy(reinterpret_cast<void *>(uintptr_t(dst)), src, n);
  return 0;
}
int cuMemcpyHtoDAsync_v2(uint64_t dst, const void *src, size_t n, void *) {
  return cuMemcpyHtoD_v2(dst, src, n);
}
int cuMemcpyDtoHAsync_v2(void *dst, uint64_t src, size_t n, void *) {
  std::memcpy(dst, reinterpret_cast<void *>(uintptr_t(src)), n);
  return 0;
}
int cuMemcpyDtoDAsync_v2(uint64_t dst, uint64_t src, size_t n, void *) {
  std::memmove(reinterpret_cast<void *>(uintptr_t(dst)),
               reinterpret_cast<void *>(uintptr_t(src)), n);
  return 0;
}

int cuStreamCreate(void **s, unsigned) {
  *s = new int(0);
  return 0;
}
int cuStreamDestroy_v2(void *s) {
  delete static_cast<int *>(s);
  return 0;
}
int cuStreamSynchronize(void *) { return 0; }
int cuStreamWaitEvent(void *, void *, unsigned) { return 0; }
int cuEventCreate(void **e, unsigned) {
  *e = new int(0);
  return 0;
}
int cuEventRecord(void *, void *) { return 0; }
int cuEventSynchronize(void *) { return 0; }
int cuEventElapsedTime_v2(float *ms, void *, void *) {
  *ms = 0.5f;
  return 0;
}
int cuEventDestroy_v2(void *e) {
  delete static_cast<int *>(e);
  return 0;
}

int cuLaunchKernel(void *fn, unsigned gx, unsigned gy, unsigned gz, unsigned bx,
                   unsigned by, unsigned bz, unsigned smem, void *,
                   void **params, void **) {
  auto *f = static_cast<Function *>(fn);
  Launch l{f->name, {gx, gy, gz, bx, by, bz, smem}, {}};
  // runtime/cuda keeps every argument in an 8-byte slot.
  for (int i = 0; i < f->numParams; ++i) {
    uint64_t v;
    std::memcpy(&v, params[i], 8);
    l.params.push_back(v);
  }
  state().launches.push_back(l);
  if (f->host)
    for (int64_t z = 0; z < gz; ++z)
      for (int64_t y = 0; y < gy; ++y)
        for (int64_t x = 0; x < gx; ++x)
          for (int64_t tz = 0; tz < bz; ++tz)
            for (int64_t ty = 0; ty < by; ++ty)
              for (int64_t tx = 0; tx < bx; ++tx) {
                const int64_t ids[12] = {x,  y,  z,  tx, ty, tz,
                                         gx, gy, gz, bx, by, bz};
                f->host(params, ids);
              }
  return 0;
}

// What the tests look at.
void fake_cuda_reset() { state() = State(); }
int fake_cuda_num_allocs() { return int(state().allocSizes.size()); }
uint64_t fake_cuda_alloc_size(int i) { return state().allocSizes[size_t(i)]; }
uint64_t fake_cuda_alloc_ptr(int i) {
  return uint64_t(uintptr_t(state().allocPtrs[size_t(i)]));
}
int fake_cuda_live_allocs() { return int(state().live.size()); }
int fake_cuda_live_host_allocs() { return state().hostAllocs; }
int fake_cuda_num_images() { return int(state().images.size()); }
const char *fake_cuda_image(int i) { return state().images[size_t(i)].c_str(); }
int fake_cuda_num_launches() { return int(state().launches.size()); }
const char *fake_cuda_launch_kernel(int i) {
  return state().launches[size_t(i)].kernel.c_str();
}
unsigned fake_cuda_launch_dim(int i, int which) {
  return state().launches[size_t(i)].dims[which];
}
int fake_cuda_launch_num_params(int i) {
  return int(state().launches[size_t(i)].params.size());
}
uint64_t fake_cuda_launch_param(int i, int j) {
  return state().launches[size_t(i)].params[size_t(j)];
}

} // extern "C"
