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
//   MEMC_FAKE_CUDA_POISON=1     cuMemAlloc fills its memory with 0xff bytes
//                               (a NaN in every float), as a real device
//                               leaves it uninitialized
//   MEMC_FAKE_CUDA_KERNELS=PATH kernels-host.so (memc --cuda-host-kernels):
//                               launches then run K_memc_host for every
//                               thread, so packages compute real outputs.
//                               PATH:PATH:... gives each module the library
//                               whose directory's kernels.ptx is the
//                               module's PTX (a decode package's two
//                               programs)
// fake_cuda_* functions let the tests look at what happened.
//
// How kernels-host.so is run (CUDAHostKernels.cpp builds it): blocks one
// after another, in x, y, z order. A kernel without K_memc_host_collective
// runs its threads one after another, which is exact when threads do not
// cooperate. A kernel with it (it calls gpu.barrier or gpu.shuffle) runs
// each block's threads as fibers (ucontext), numbered x fastest as CUDA
// numbers them, warps being 32 consecutive threads: a fiber runs until it
// reaches a barrier or a shuffle, and when every thread of the block waits
// at one, all are released. So the one workgroup buffer per attribution in
// kernels-host.so is exactly shared memory. The functions those kernels call
// are defined here:
//   void memc_host_barrier(void)
//   T memc_host_shuffle_<xor|idx|up|down>_<f32|i32>(T v, int32_t offset,
//                                                   int32_t width)
//   void memc_host_mma_m16n8k8_tf32(const float a[4], const float b[2],
//                                   float cd[4])
// (the warp's mma.sync: every lane gives its fragments in PTX's register
// order and gets its part of D; operands are read as TF32, their low 13
// mantissa bits dropped, which is what a kernel that skipped the rounding
// would get on the GPU at worst)
// and a launch fails with CUDA_ERROR_LAUNCH_FAILED and a message on stderr
// where the GPU's behaviour would be undefined: a thread returning while
// others wait at a barrier, threads waiting at different kinds of
// collective (barrier, shuffle, mma), a shuffle of width other than 32,
// offset 32 or more, reading a lane the block does not have, or an mma in
// a warp of fewer than 32 threads.
//
//===----------------------------------------------------------------------===//
// Fibers switch with _setjmp/_longjmp between stacks, which the fortified
// longjmp would take for a corrupt jump.
#undef _FORTIFY_SOURCE
#include <algorithm>
#include <csetjmp>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <dlfcn.h>
#include <map>
#include <string>
#include <sys/mman.h>
#include <ucontext.h>
#include <unistd.h>
#include <vector>

extern "C" void memc_host_barrier();

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
  /// Its kernels-host.so from MEMC_FAKE_CUDA_KERNELS (empty: none).
  std::string hostLibrary;
};
using HostKernel = void (*)(void **params, const int64_t *ids);

struct Function {
  std::string name;
  int numParams;
  HostKernel host;
  bool collective; ///< its blocks' threads run as fibers
};

/// Makes this library's symbols global, so that kernels-host.so, which
/// leaves memc_host_barrier and memc_host_shuffle_* undefined, can bind to
/// them: the runtime dlopens libcuda with RTLD_LOCAL.
void exportCollectives() {
  static bool done = [] {
    Dl_info self;
    if (!dladdr(reinterpret_cast<void *>(&memc_host_barrier), &self) ||
        !self.dli_fname)
      return false;
    return dlopen(self.dli_fname, RTLD_NOW | RTLD_NOLOAD | RTLD_GLOBAL) !=
           nullptr;
  }();
  (void)done;
}

/// The library of $MEMC_FAKE_CUDA_KERNELS for a module whose PTX is `image`:
/// the only one, or in a list the one beside a kernels.ptx equal to it;
/// empty when the variable is unset or no library matches. Read once per
/// module, when it is loaded.
std::string hostLibraryFor(const std::string &image) {
  const char *paths = std::getenv("MEMC_FAKE_CUDA_KERNELS");
  if (!paths || !*paths)
    return "";
  std::string list = paths;
  if (list.find(':') == std::string::npos)
    return list;
  for (size_t from = 0; from <= list.size();) {
    size_t colon = std::min(list.find(':', from), list.size());
    std::string path = list.substr(from, colon - from);
    from = colon + 1;
    std::string ptxPath = path.substr(0, path.rfind('/') + 1) + "kernels.ptx",
                ptx;
    if (FILE *f = std::fopen(ptxPath.c_str(), "rb")) {
      char buf[65536];
      for (size_t n; (n = std::fread(buf, 1, sizeof buf, f)) > 0;)
        ptx.append(buf, n);
      std::fclose(f);
    }
    if (ptx == image)
      return path;
  }
  std::fprintf(stderr, "fake libcuda: no library in MEMC_FAKE_CUDA_KERNELS "
                       "sits beside this module's PTX\n");
  return "";
}

/// K_memc_host from the host library `path` (a module's) and whether it is
/// collective (K_memc_host_collective is defined); false when there is
/// none.
bool hostKernel(const std::string &name, const std::string &path,
                HostKernel &kernel, bool &collective) {
  if (path.empty())
    return false;
  exportCollectives();
  void *lib = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!lib) {
    std::fprintf(stderr, "fake libcuda: cannot load %s: %s\n", path.c_str(),
                 dlerror());
    return false;
  }
  kernel =
      reinterpret_cast<HostKernel>(dlsym(lib, (name + "_memc_host").c_str()));
  collective = dlsym(lib, (name + "_memc_host_collective").c_str());
  return kernel;
}

constexpr int kLaunchFailed = 719;
constexpr unsigned kWarpSize = 32;
/// Per fiber. Kernels are built at -O2 and keep private arrays on the stack;
/// the mapping is reserved, not committed, so a generous size costs only
/// address space. A guard page below each turns an overflow into a crash.
constexpr size_t kFiberStack = 256 << 10;

/// What a thread of the running cooperative block is doing.
enum class FiberState { Ready, AtBarrier, AtShuffle, AtMma, Done, Failed };

struct Fiber {
  ucontext_t context; ///< how the fiber is first entered
  jmp_buf resume;     ///< where it waits, once started
  bool started;
  FiberState state;
  int64_t ids[12];
  unsigned shuffles; ///< how many it has done: picks the slot buffer
  unsigned mmas;     ///< likewise for mma fragments
};

/// A lane's operands of one mma.sync m16n8k8: a0-a3, b0-b1, c0-c3.
struct MmaFragments {
  float a[4], b[2], c[4];
};

/// The cooperative block being run, and what outlives it: the fiber stacks
/// (allocated once, reused by every block and launch) and the shuffle slots.
struct Cooperative {
  bool active = false;
  HostKernel kernel = nullptr;
  void **params = nullptr;
  std::vector<Fiber> fibers;
  std::vector<char *> stacks;
  size_t current = 0;
  ucontext_t scheduler;
  jmp_buf schedulerResume; ///< where the scheduler resumes the block's loop
  /// Each thread's value at a shuffle. Two buffers, used alternately: the
  /// one written at shuffle k is next written at shuffle k + 2, which no
  /// thread reaches before every thread has passed shuffle k + 1, that is,
  /// has read its value of shuffle k. So one barrier per shuffle suffices.
  std::vector<uint32_t> slots[2];
  /// Each thread's fragments at an mma, alternated the same way.
  std::vector<MmaFragments> mmaSlots[2];
  std::string error;
};

Cooperative &coop() {
  static Cooperative c;
  return c;
}

const char *collectiveName(FiberState state) {
  return state == FiberState::AtBarrier   ? "barrier"
         : state == FiberState::AtShuffle ? "shuffle"
                                          : "mma";
}

std::string threadName(const Fiber &f) {
  return "thread (" + std::to_string(f.ids[3]) + "," +
         std::to_string(f.ids[4]) + "," + std::to_string(f.ids[5]) + ")";
}

/// The running fiber; a collective called outside a cooperative launch
/// means kernels-host.so lacks a K_memc_host_collective it should have.
Fiber &currentFiber(const char *what) {
  Cooperative &c = coop();
  if (!c.active) {
    std::fprintf(stderr,
                 "fake libcuda: %s called by a kernel not marked "
                 "_memc_host_collective in kernels-host.so\n",
                 what);
    std::abort();
  }
  return c.fibers[c.current];
}

/// Back to the scheduler, as `state`; returns when the block releases it.
void yieldAs(Fiber &f, FiberState state) {
  f.state = state;
  // Only a fiber's first entry takes swapcontext (its signal-mask system
  // call made collective-heavy kernels spend most of their time in the
  // kernel); switches after that are plain register saves.
  if (!_setjmp(f.resume))
    _longjmp(coop().schedulerResume, 1);
}

/// Ends the launch: the scheduler never resumes this fiber.
[[noreturn]] void failFiber(Fiber &f, const std::string &why) {
  coop().error = threadName(f) + ": " + why;
  yieldAs(f, FiberState::Failed);
  std::abort(); // unreachable: a failed fiber is dropped
}

void fiberMain() {
  Cooperative &c = coop();
  Fiber &f = c.fibers[c.current];
  c.kernel(c.params, f.ids);
  f.state = FiberState::Done;
  _longjmp(c.schedulerResume, 1); // uc_link's context would be stale
}

char *newStack() {
  long page = sysconf(_SC_PAGESIZE);
  void *p = mmap(nullptr, kFiberStack + size_t(page), PROT_READ | PROT_WRITE,
                 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (p == MAP_FAILED)
    return nullptr;
  mprotect(p, size_t(page), PROT_NONE);
  return static_cast<char *>(p) + page;
}

/// Runs `f` until it waits at a collective or returns. Its own frame, so
/// that nothing the scheduler's loop keeps lives across the _setjmp.
__attribute__((noinline)) void runFiber(Cooperative &c, Fiber &f) {
  if (_setjmp(c.schedulerResume))
    return;
  if (f.started)
    _longjmp(f.resume, 1);
  f.started = true;
  swapcontext(&c.scheduler, &f.context); // leaves by _longjmp
}

/// Runs block (x, y, z) of a collective kernel. Fibers run round-robin, each
/// until it waits at a barrier or shuffle or returns; once none is ready,
/// either all have returned (done), or all wait at the same kind of
/// collective (all are released), or the threads diverged (an error, where
/// the GPU would hang or be undefined).
bool runCooperativeBlock(const std::string &name, HostKernel kernel,
                         void **params, const int64_t block[3],
                         const unsigned grid[3], const unsigned dims[3],
                         std::string &error) {
  Cooperative &c = coop();
  size_t n = size_t(dims[0]) * dims[1] * dims[2];
  while (c.stacks.size() < n) {
    char *stack = newStack();
    if (!stack) {
      error = "cannot map fiber stacks for " + std::to_string(n) + " threads";
      return false;
    }
    c.stacks.push_back(stack);
  }
  // Sized before any context is made: a ucontext_t must not move.
  c.fibers.assign(n, Fiber());
  for (size_t i = 0; i < n; ++i) {
    Fiber &f = c.fibers[i];
    const int64_t ids[12] = {block[0],
                             block[1],
                             block[2],
                             int64_t(i % dims[0]),
                             int64_t(i / dims[0] % dims[1]),
                             int64_t(i / (size_t(dims[0]) * dims[1])),
                             grid[0],
                             grid[1],
                             grid[2],
                             dims[0],
                             dims[1],
                             dims[2]};
    std::memcpy(f.ids, ids, sizeof(ids));
    f.state = FiberState::Ready;
    f.shuffles = 0;
    f.started = false;
    f.mmas = 0;
    getcontext(&f.context);
    f.context.uc_stack.ss_sp = c.stacks[i];
    f.context.uc_stack.ss_size = kFiberStack;
    f.context.uc_link = &c.scheduler;
    makecontext(&f.context, fiberMain, 0);
  }
  for (std::vector<uint32_t> &s : c.slots)
    s.assign(n, 0);
  for (std::vector<MmaFragments> &s : c.mmaSlots)
    s.assign(n, MmaFragments());
  c.kernel = kernel;
  c.params = params;
  c.error.clear();
  c.active = true;
  auto where = [&] {
    return "kernel " + name + " block (" + std::to_string(block[0]) + "," +
           std::to_string(block[1]) + "," + std::to_string(block[2]) + "): ";
  };
  for (;;) {
    for (size_t i = 0; i < n; ++i) {
      if (c.fibers[i].state != FiberState::Ready)
        continue;
      c.current = i;
      runFiber(c, c.fibers[i]);
      if (c.fibers[i].state == FiberState::Failed) {
        c.active = false;
        error = where() + c.error;
        return false;
      }
    }
    const Fiber *done = nullptr, *waiting = nullptr;
    for (const Fiber &f : c.fibers) {
      if (f.state == FiberState::Done) {
        done = done ? done : &f;
        continue;
      }
      if (waiting && f.state != waiting->state) {
        c.active = false;
        error = where() + "divergent collectives: " + threadName(*waiting) +
                " waits at a " + collectiveName(waiting->state) + ", " +
                threadName(f) + " at a " + collectiveName(f.state);
        return false;
      }
      waiting = waiting ? waiting : &f;
    }
    if (!waiting)
      break;
    if (done) {
      c.active = false;
      error = where() + "divergent barrier: " + threadName(*done) +
              " returned while " + threadName(*waiting) + " waits at a " +
              collectiveName(waiting->state);
      return false;
    }
    for (Fiber &f : c.fibers)
      f.state = FiberState::Ready;
  }
  c.active = false;
  return true;
}

enum class ShuffleMode { Xor, Idx, Up, Down };

/// The value `v` of this thread's warp lane that `mode` and `offset` name,
/// as PTX's shfl.sync with width 32 picks it (its own where that lane is out
/// of the warp).
uint32_t shuffle(ShuffleMode mode, uint32_t v, int32_t offset, int32_t width) {
  Cooperative &c = coop();
  Fiber &f = currentFiber("memc_host_shuffle");
  if (width != int32_t(kWarpSize))
    failFiber(f, "shuffle of width " + std::to_string(width) +
                     " (the fake models 32)");
  if (offset < 0 || offset >= int32_t(kWarpSize))
    failFiber(f, "shuffle offset " + std::to_string(offset) +
                     " (must be below 32)");
  size_t self = c.current, n = c.fibers.size();
  std::vector<uint32_t> &slots = c.slots[f.shuffles++ & 1];
  slots[self] = v;
  yieldAs(f, FiberState::AtShuffle);
  unsigned lane = unsigned(self % kWarpSize), off = unsigned(offset), from;
  switch (mode) {
  case ShuffleMode::Xor:
    from = lane ^ off;
    break;
  case ShuffleMode::Idx:
    from = off;
    break;
  case ShuffleMode::Up:
    from = off <= lane ? lane - off : lane;
    break;
  case ShuffleMode::Down:
    from = lane + off < kWarpSize ? lane + off : lane;
    break;
  }
  size_t source = self - lane + from;
  if (source >= n)
    failFiber(f, "shuffle reads lane " + std::to_string(from) + " of warp " +
                     std::to_string(self / kWarpSize) + ", which a block of " +
                     std::to_string(n) + " threads does not have");
  return slots[source];
}

template <ShuffleMode mode> float shuffleF32(float v, int32_t off, int32_t w) {
  uint32_t bits;
  std::memcpy(&bits, &v, 4);
  bits = shuffle(mode, bits, off, w);
  std::memcpy(&v, &bits, 4);
  return v;
}

template <ShuffleMode mode>
int32_t shuffleI32(int32_t v, int32_t off, int32_t w) {
  return int32_t(shuffle(mode, uint32_t(v), off, w));
}

/// `x` as a TF32 operand: the low 13 of its 23 mantissa bits dropped.
float asTF32(float x) {
  uint32_t bits;
  std::memcpy(&bits, &x, 4);
  bits &= 0xFFFFE000u;
  std::memcpy(&x, &bits, 4);
  return x;
}

/// mma.sync.aligned.m16n8k8.row.col.f32.tf32.tf32.f32 for this thread's
/// lane: D = A·B + C over the warp, each lane's part of D in `cd`. With
/// lane = 4 * group + member, a lane holds A (group + 8 (i & 1), member +
/// 4 (i >> 1)) in a[i], B (member + 4 i, group) in b[i] and C/D (group +
/// 8 (i >> 1), 2 member + (i & 1)) in cd[i] (PTX ISA, "Matrix fragments for
/// mma.m16n8k8").
void mmaM16N8K8TF32(const float *a, const float *b, float *cd) {
  Cooperative &c = coop();
  Fiber &f = currentFiber("memc_host_mma_m16n8k8_tf32");
  size_t self = c.current, n = c.fibers.size();
  size_t base = self - self % kWarpSize;
  if (base + kWarpSize > n)
    failFiber(f, "mma.sync in warp " + std::to_string(self / kWarpSize) +
                     ", which a block of " + std::to_string(n) +
                     " threads leaves with fewer than 32 threads");
  std::vector<MmaFragments> &slots = c.mmaSlots[f.mmas++ & 1];
  MmaFragments &mine = slots[self];
  std::memcpy(mine.a, a, sizeof(mine.a));
  std::memcpy(mine.b, b, sizeof(mine.b));
  std::memcpy(mine.c, cd, sizeof(mine.c));
  yieldAs(f, FiberState::AtMma);
  auto A = [&](unsigned row, unsigned k) {
    return asTF32(slots[base + 4 * (row % 8) + k % 4].a[row / 8 + 2 * (k / 4)]);
  };
  auto B = [&](unsigned k, unsigned col) {
    return asTF32(slots[base + 4 * col + k % 4].b[k / 4]);
  };
  unsigned lane = unsigned(self % kWarpSize), group = lane / 4,
           member = lane % 4;
  for (unsigned i = 0; i < 4; ++i) {
    unsigned row = group + 8 * (i >> 1), col = 2 * member + (i & 1);
    float sum = mine.c[i];
    for (unsigned k = 0; k < 8; ++k)
      sum += A(row, k) * B(k, col);
    cd[i] = sum;
  }
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
    {kLaunchFailed, "CUDA_ERROR_LAUNCH_FAILED", "unspecified launch failure"},
};

const ErrorText *findError(int r) {
  for (const ErrorText &e : kErrors)
    if (e.code == r)
      return &e;
  return nullptr;
}

} // namespace

extern "C" {

// What kernels-host.so's collective kernels call.
void memc_host_barrier() {
  yieldAs(currentFiber("memc_host_barrier"), FiberState::AtBarrier);
}
float memc_host_shuffle_xor_f32(float v, int32_t off, int32_t width) {
  return shuffleF32<ShuffleMode::Xor>(v, off, width);
}
float memc_host_shuffle_idx_f32(float v, int32_t off, int32_t width) {
  return shuffleF32<ShuffleMode::Idx>(v, off, width);
}
float memc_host_shuffle_up_f32(float v, int32_t off, int32_t width) {
  return shuffleF32<ShuffleMode::Up>(v, off, width);
}
float memc_host_shuffle_down_f32(float v, int32_t off, int32_t width) {
  return shuffleF32<ShuffleMode::Down>(v, off, width);
}
int32_t memc_host_shuffle_xor_i32(int32_t v, int32_t off, int32_t width) {
  return shuffleI32<ShuffleMode::Xor>(v, off, width);
}
int32_t memc_host_shuffle_idx_i32(int32_t v, int32_t off, int32_t width) {
  return shuffleI32<ShuffleMode::Idx>(v, off, width);
}
int32_t memc_host_shuffle_up_i32(int32_t v, int32_t off, int32_t width) {
  return shuffleI32<ShuffleMode::Up>(v, off, width);
}
int32_t memc_host_shuffle_down_i32(int32_t v, int32_t off, int32_t width) {
  return shuffleI32<ShuffleMode::Down>(v, off, width);
}
void memc_host_mma_m16n8k8_tf32(const float *a, const float *b, float *cd) {
  mmaM16N8K8TF32(a, b, cd);
}

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
  *module = new Module{text, hostLibraryFor(text)};
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
  HostKernel host = nullptr;
  bool collective = false;
  if (!hostKernel(name, static_cast<Module *>(module)->hostLibrary, host,
                  collective) &&
      std::getenv("MEMC_FAKE_CUDA_KERNELS"))
    return 500;
  *fn = new Function{name, params, host, collective};
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
  if (p && envInt("MEMC_FAKE_CUDA_POISON", 0))
    std::memset(p, 0xff, bytes);
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
int cuMemsetD8_v2(uint64_t dst, unsigned char value, size_t n) {
  std::memset(reinterpret_cast<void *>(uintptr_t(dst)), value, n);
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
  if (f->host && f->collective) {
    const unsigned grid[3] = {gx, gy, gz}, dims[3] = {bx, by, bz};
    for (int64_t z = 0; z < gz; ++z)
      for (int64_t y = 0; y < gy; ++y)
        for (int64_t x = 0; x < gx; ++x) {
          const int64_t block[3] = {x, y, z};
          std::string error;
          if (!runCooperativeBlock(f->name, f->host, params, block, grid, dims,
                                   error)) {
            std::fprintf(stderr, "fake libcuda: launch failed: %s\n",
                         error.c_str());
            return kLaunchFailed;
          }
        }
  } else if (f->host)
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
