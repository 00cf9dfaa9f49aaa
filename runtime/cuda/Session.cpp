//===- Session.cpp - memc_cuda.h: a CUDA package on a GPU -----------------===//
//
// Device memory is two driver allocations, made once: the arena, exactly
// the manifest's arena_bytes (every temporary of the program lives in it at
// the offset the compiler chose), and a resident block for what the program
// reads and writes across calls (weights, constants, inputs, outputs, and
// cuBLAS's workspace, so cuBLAS allocates nothing of its own). Nothing is
// allocated while the program runs.
//
// Every kernel's argument block is built once at open: all addresses are
// fixed by then, so a run is a loop of cuLaunchKernel/cuBLAS calls over
// prepared data. Spilled buffers (#3's budgeted plans) go to a pinned host
// pool on a second stream; events order the copies against the kernels.
//
// A train package's program is one training step: its optimizer states and
// step count live in the resident block too (states zeroed at open, the
// step uploaded before each run), and its trainable weights are the
// resident copies of weights.bin, which the program overwrites. The trained
// tensors (trainable weights, then states) are read and written whole
// through memc_cuda_{read,write}_trained; memc_cuda_checkpoint keeps a
// device-side copy of them, allocated on its first call.
//
// A decode package's programs each own their KV caches (`kv` records) in
// the resident block, zeroed at open, unless the session was opened sharing
// another's (memc_cuda_open_sharing): then its weights and caches are that
// session's, so the prefill and the decode step of one package hold one copy
// of each on the device.
//
//===----------------------------------------------------------------------===//
#include "memc_cuda.h"

#include "Driver.h"
#include "LaunchPlan.h"
#include "Profile.h"
#include "ProjectorRefresh.h"
#include "memc/Runtime/InputFile.h"
#include "memc/Runtime/Manifest.h"
#include "memc/Runtime/PackageDir.h"
#include "memc/Runtime/PackageFormat.h"
#include "memc/Runtime/TrainState.h"

#include <cerrno>
#include <climits>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <map>
#include <sys/stat.h>

using namespace memc;
using namespace memc::cuda;

namespace {

thread_local std::string gLastError;

constexpr uint64_t kAlignment = 256;
/// cuBLAS's recommended workspace on Hopper (cuBLAS docs,
/// "cublasSetWorkspace").
constexpr uint64_t kCublasWorkspaceBytes = 32ull << 20;

uint64_t alignUp(uint64_t v) {
  return (v + kAlignment - 1) / kAlignment * kAlignment;
}

memc_cuda_status failWith(memc_cuda_status status, const std::string &what) {
  gLastError = what;
  return status;
}

/// One launch with its argument block: 8-byte slots (the widest scalar and
/// a device pointer) that `params` points into.
struct PreparedLaunch {
  CUfunction function = nullptr;
  std::vector<uint64_t> slots;
  std::vector<void *> params;
};

} // namespace

struct memc_cuda_session {
  Driver driver;
  Cublas cublas;
  cublasHandle_t blas = nullptr;
  ProjectorRefresh refresh; ///< GaLore's svd steps (cuSOLVER)
  rt::Manifest manifest;
  LaunchPlan plan;
  std::string dir, programDir, deviceName;
  bool hasFallback = false; ///< nocublas/: the program without cuBLAS
  std::string notice;       ///< why the fallback runs, or empty
  std::string ptx, cubin, constants;
  rt::WeightsFile weights; ///< weights.bin, mapped read-only

  CUdevice device = 0;
  bool contextRetained = false;
  CUcontext context = nullptr;
  CUmodule module = nullptr;
  CUstream stream = nullptr, copyStream = nullptr;
  CUevent start = nullptr, stop = nullptr, order = nullptr;
  std::vector<CUevent> events;
  CUdeviceptr resident = 0, arena = 0;
  uint64_t residentBytes = 0;
  void *hostPool = nullptr;
  std::vector<uint64_t> inputAt, weightAt, outputAt, constAt, stateAt, kvAt;
  /// The session whose weights and KV caches this one uses, or null.
  const memc_cuda_session *shared = nullptr;
  uint64_t workspaceAt = 0, stepAt = 0, svdScratchAt = 0;
  std::vector<PreparedLaunch> launches; ///< one per step (empty if no launch)

  // memc_cuda_set_profiling: a timing event before each plan step and one
  // after the last, and each step's time summed over the profiled runs.
  bool profiling = false;
  std::vector<CUevent> stepEvents;
  std::vector<double> stepMs;
  std::vector<int64_t> svdRuns; ///< per step: profiled runs an svd step ran
  int64_t profiledRuns = 0;
  std::string profileText; ///< memc_cuda_profile's last answer

  // Train packages.
  int64_t stepValue = 1; ///< uploaded to step:0 before each run
  /// The trained tensors in the state file's order (trainable weights, then
  /// states): offset in the resident block, bytes, and name.
  struct Trained {
    uint64_t at = 0, bytes = 0;
    std::string name;
  };
  std::vector<Trained> trained;
  CUdeviceptr backup = 0; ///< memc_cuda_checkpoint's copy, when taken
  uint64_t backupBytes = 0;
  std::vector<uint64_t> backupAt;
  bool checkpointed = false;

  ~memc_cuda_session();
  memc_cuda_status loadPackage();
  memc_cuda_status loadProgram(const std::string &from);
  memc_cuda_status setUpCublas();
  memc_cuda_status checkReferences();
  memc_cuda_status checkSharing() const;
  memc_cuda_status openDevice(int ordinal);
  memc_cuda_status prepare();
  memc_cuda_status run(const void *const *inputs, void *const *outputs,
                       double *deviceMs);
  memc_cuda_status readTrained(bool fromCheckpoint, void *const *tensors);
  memc_cuda_status writeTrained(const void *const *tensors);
  memc_cuda_status checkpoint();
  memc_cuda_status setProfiling(bool on);
  bool isTrain() const { return manifest.isTrain(); }

  bool check(CUresult r, const std::string &call) {
    if (r == CUDA_SUCCESS)
      return true;
    gLastError = driver.describe(r, call);
    return false;
  }
  size_t baseCount(const BufferRef &ref) const;
  uint64_t baseSize(const BufferRef &ref) const;
  uint64_t address(const BufferRef &ref) const;
};

namespace {
namespace pf = package;
using rt::joinPath;

/// Reads a file that a package may leave out. Only a missing file is
/// absent: one that exists but cannot be opened, or is no regular file, is
/// an error.
bool readOptional(const std::string &path, std::string &out, bool &present,
                  std::string &error) {
  struct stat st;
  present = ::stat(path.c_str(), &st) == 0 || errno != ENOENT;
  if (!present)
    return true;
  return rt::readSmallFile(path, pf::kMaxProgramFileBytes, out, error);
}
} // namespace

memc_cuda_status memc_cuda_session::loadPackage() {
  // The files every package has, read and checked as the CPU runtime does
  // (runtime/common's PackageDir.h).
  std::string error;
  if (!rt::checkPackageDir(dir, error) ||
      !rt::readManifest(dir, manifest, error))
    return failWith(MEMC_CUDA_BAD_PACKAGE, error);
  if (manifest.target != pf::kTargetCUDA)
    return failWith(MEMC_CUDA_BAD_PACKAGE,
                    joinPath(dir, pf::kManifestFile) +
                        ": compiled for the CPU target (memc --target=cuda "
                        "writes CUDA packages)");
  if (!weights.map(dir, manifest, rt::WeightsFile::Access::ReadOnly, error))
    return failWith(MEMC_CUDA_BAD_PACKAGE, error);
  struct stat st;
  hasFallback =
      ::stat(joinPath(joinPath(dir, pf::kNoCublasDir), pf::kLaunchPlanFile)
                 .c_str(),
             &st) == 0;
  return loadProgram(dir);
}

/// launch_plan.txt, constants.bin and the kernels of the program in `from`
/// (the package, or its nocublas/ variant).
memc_cuda_status memc_cuda_session::loadProgram(const std::string &from) {
  std::string error, text;
  std::string planPath = joinPath(from, pf::kLaunchPlanFile);
  if (!rt::readTextFile(planPath, text, error) ||
      !parseLaunchPlan(text, planPath, plan, error))
    return failWith(MEMC_CUDA_BAD_PACKAGE, error);
  programDir = from;

  bool present = false;
  std::string constantsPath = joinPath(from, pf::kConstantsFile);
  if (!readOptional(constantsPath, constants, present, error))
    return failWith(MEMC_CUDA_BAD_PACKAGE, error);
  for (size_t i = 0; i < plan.constants.size(); ++i)
    if (plan.constants[i].offset > constants.size() ||
        plan.constants[i].bytes > constants.size() - plan.constants[i].offset)
      return failWith(MEMC_CUDA_BAD_PACKAGE,
                      constantsPath + ": constant " + std::to_string(i) +
                          " lies outside the file (" +
                          std::to_string(constants.size()) + " bytes)");
  bool launches = false;
  for (const Step &s : plan.steps)
    launches |= s.kind == Step::Launch;
  std::string ptxPath = joinPath(from, pf::kKernelsPtxFile);
  if (!readOptional(ptxPath, ptx, present, error))
    return failWith(MEMC_CUDA_BAD_PACKAGE, error);
  if (launches && !present)
    return failWith(MEMC_CUDA_BAD_PACKAGE, ptxPath + ": missing (the launch "
                                                     "plan launches kernels)");
  cubin.clear();
  if (!readOptional(joinPath(from, pf::kKernelsCubinFile), cubin, present,
                    error))
    return failWith(MEMC_CUDA_BAD_PACKAGE, error);
  return checkReferences();
}

/// How many buffers of ref's kind the package has (the valid indices).
size_t memc_cuda_session::baseCount(const BufferRef &ref) const {
  switch (ref.base) {
  case BufferRef::Input:
    return manifest.inputs.size();
  case BufferRef::Weight:
    return manifest.weights.size();
  case BufferRef::Output:
    return manifest.outputs.size();
  case BufferRef::Const:
    return plan.constants.size();
  case BufferRef::State:
    return manifest.states.size();
  case BufferRef::Step:
    return manifest.step ? 1 : 0;
  case BufferRef::KV:
    return manifest.kvCaches.size();
  case BufferRef::Arena:
  case BufferRef::Host:
    return 1;
  }
  return 0;
}

uint64_t memc_cuda_session::baseSize(const BufferRef &ref) const {
  switch (ref.base) {
  case BufferRef::Input:
    return manifest.inputs[ref.index].byteSize;
  case BufferRef::Weight:
    return manifest.weights[ref.index].byteSize;
  case BufferRef::Output:
    return manifest.outputs[ref.index].byteSize;
  case BufferRef::Const:
    return plan.constants[ref.index].bytes;
  case BufferRef::Arena:
    return manifest.arenaBytes;
  case BufferRef::Host:
    return plan.hostPoolBytes;
  case BufferRef::State:
    return manifest.states[ref.index].byteSize;
  case BufferRef::Step:
    return manifest.step->byteSize;
  case BufferRef::KV:
    return manifest.kvCaches[ref.index].byteSize;
  }
  return 0;
}

/// Every address of the plan lies in its buffer (and copies end inside it):
/// a bad plan is a package error here, not a fault on the GPU.
memc_cuda_status memc_cuda_session::checkReferences() {
  std::string planPath = joinPath(programDir, pf::kLaunchPlanFile);
  auto check = [&](const Step &s, const BufferRef &r, uint64_t bytes) {
    if (r.index >= baseCount(r)) {
      gLastError = planPath + ":" + std::to_string(s.line) + ": " +
                   formatRef(r) + " names a buffer the package does not have";
      return false;
    }
    uint64_t size = baseSize(r);
    if (r.offset > size || bytes > size - r.offset) {
      gLastError = planPath + ":" + std::to_string(s.line) + ": " +
                   formatRef(r) + " (" + std::to_string(bytes) +
                   " bytes) lies outside its buffer of " +
                   std::to_string(size) + " bytes";
      return false;
    }
    return true;
  };
  for (const Step &s : plan.steps) {
    bool ok = true;
    switch (s.kind) {
    case Step::Launch:
      for (const Arg &a : s.args)
        ok = ok && (a.kind != Arg::Buffer || check(s, a.ref, 0));
      break;
    case Step::Gemm:
      ok = check(s, s.a, 0) && check(s, s.b, 0) && check(s, s.c, 0);
      if (ok &&
          (s.m > INT_MAX || s.n > INT_MAX || s.k > INT_MAX || s.lda > INT_MAX ||
           s.ldb > INT_MAX || s.ldc > INT_MAX || s.batch > INT_MAX)) {
        gLastError = planPath + ":" + std::to_string(s.line) +
                     ": GEMM sizes beyond cuBLAS's 32-bit int";
        ok = false;
      }
      break;
    case Step::Copy:
    case Step::Spill:
    case Step::Fetch:
      ok = check(s, s.src, s.bytes) && check(s, s.dst, s.bytes);
      break;
    case Step::Wait:
      break;
    case Step::Svd: {
      // The runtime tests the step count on the host: only a train
      // package has one. cuSOLVER's sizes are 32-bit ints.
      uint64_t f = sizeof(float);
      if (!manifest.step || s.rows > INT_MAX / s.cols) {
        gLastError = planPath + ":" + std::to_string(s.line) +
                     (manifest.step ? ": SVD sizes beyond cuSOLVER's 32-bit "
                                      "int"
                                    : ": an SVD in a package without a step "
                                      "count (not a train package)");
        ok = false;
        break;
      }
      ok = check(s, s.a, uint64_t(s.rows) * uint64_t(s.cols) * f) &&
           check(s, s.c,
                 uint64_t(s.projectorRows()) * uint64_t(s.projectorCols()) *
                     f);
      break;
    }
    }
    if (!ok)
      return MEMC_CUDA_BAD_PACKAGE;
  }
  return MEMC_CUDA_SUCCESS;
}

/// The shared session's weights and KV caches must be exactly this
/// package's: the same records (names, types, shapes) and the same bytes.
memc_cuda_status memc_cuda_session::checkSharing() const {
  auto same = [](const std::vector<rt::TensorSpec> &a,
                 const std::vector<rt::TensorSpec> &b) {
    if (a.size() != b.size())
      return false;
    for (size_t i = 0; i < a.size(); ++i)
      if (a[i].name != b[i].name || a[i].dtype != b[i].dtype ||
          a[i].dims != b[i].dims)
        return false;
    return true;
  };
  bool ok = !shared->isTrain() && !isTrain() &&
            same(manifest.weights, shared->manifest.weights) &&
            same(manifest.kvCaches, shared->manifest.kvCaches);
  for (size_t i = 0; ok && i < manifest.weights.size(); ++i)
    ok = std::memcmp(weights.data(manifest.weights[i]),
                     shared->weights.data(shared->manifest.weights[i]),
                     manifest.weights[i].byteSize) == 0;
  if (!ok)
    return failWith(MEMC_CUDA_BAD_PACKAGE,
                    dir + ": its weights or KV caches are not those of " +
                        shared->dir +
                        ", whose device copies it was to share; recompile "
                        "the package");
  return MEMC_CUDA_SUCCESS;
}

memc_cuda_status memc_cuda_session::openDevice(int ordinal) {
  std::string error;
  if (!driver.load(error))
    return failWith(MEMC_CUDA_NO_DEVICE, error);
  const DriverAPI &cu = driver.api();
  // cuInit is where a machine without a GPU or with a mismatched driver
  // says so (CUDA_ERROR_NO_DEVICE, _INSUFFICIENT_DRIVER, _STUB_LIBRARY...).
  if (!check(cu.cuInit(0), "cuInit"))
    return failWith(MEMC_CUDA_NO_DEVICE,
                    "no usable CUDA driver: " + gLastError);
  int count = 0;
  if (!check(cu.cuDeviceGetCount(&count), "cuDeviceGetCount"))
    return MEMC_CUDA_NO_DEVICE;
  if (ordinal < 0 || ordinal >= count)
    return failWith(MEMC_CUDA_NO_DEVICE,
                    count == 0 ? std::string("no CUDA device found")
                               : "no CUDA device " + std::to_string(ordinal) +
                                     " (" + std::to_string(count) + " found)");
  if (!check(cu.cuDeviceGet(&device, ordinal), "cuDeviceGet"))
    return MEMC_CUDA_NO_DEVICE;
  if (shared && device != shared->device)
    return failWith(MEMC_CUDA_BAD_PACKAGE,
                    "memc_cuda_open_sharing: the shared session is on "
                    "another device");
  char name[256] = {};
  if (!check(cu.cuDeviceGetName(name, sizeof name - 1, device),
             "cuDeviceGetName"))
    return MEMC_CUDA_DEVICE_ERROR;
  deviceName = name;
  if (!check(cu.cuDevicePrimaryCtxRetain(&context, device),
             "cuDevicePrimaryCtxRetain"))
    return MEMC_CUDA_DEVICE_ERROR;
  contextRetained = true;
  if (!check(cu.cuCtxSetCurrent(context), "cuCtxSetCurrent"))
    return MEMC_CUDA_DEVICE_ERROR;
  return prepare();
}

memc_cuda_status memc_cuda_session::prepare() {
  const DriverAPI &cu = driver.api();
  int major = 0, minor = 0;
  if (!check(cu.cuDeviceGetAttribute(
                 &major, CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR, device),
             "cuDeviceGetAttribute(compute capability major)") ||
      !check(cu.cuDeviceGetAttribute(
                 &minor, CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR, device),
             "cuDeviceGetAttribute(compute capability minor)"))
    return MEMC_CUDA_DEVICE_ERROR;

  memc_cuda_status status = setUpCublas();
  if (status != MEMC_CUDA_SUCCESS)
    return status;

  // The module: the cubin when it was built for exactly this GPU, else the
  // PTX, which the driver compiles for any newer GPU.
  if (!ptx.empty()) {
    std::string deviceArch = "sm_" + std::to_string(major * 10 + minor);
    std::string arch = plan.arch;
    if (!arch.empty() && arch.back() == 'a')
      arch.pop_back();
    // A cubin from a newer toolkit than the driver's can be refused even on
    // its own architecture; the PTX then still gets a chance.
    bool tryCubin = !cubin.empty() && arch == deviceArch;
    char log[4096] = {};
    int options[] = {CU_JIT_ERROR_LOG_BUFFER,
                     CU_JIT_ERROR_LOG_BUFFER_SIZE_BYTES};
    void *values[] = {log, reinterpret_cast<void *>(uintptr_t(sizeof log))};
    CUresult r = 1;
    if (tryCubin)
      r = cu.cuModuleLoadDataEx(&module, cubin.data(), 2, options, values);
    if (r != CUDA_SUCCESS) {
      log[0] = '\0';
      r = cu.cuModuleLoadDataEx(&module, ptx.c_str(), 2, options, values);
    }
    if (r != CUDA_SUCCESS) {
      std::string what = driver.describe(
          r, "cuModuleLoadDataEx(" + std::string(pf::kKernelsPtxFile) + ", " +
                 plan.arch + " on " + deviceArch + ")");
      if (log[0])
        what += ": " + std::string(log).substr(0, std::string(log).find('\n'));
      return failWith(MEMC_CUDA_DEVICE_ERROR, what);
    }
  }
  std::map<std::string, CUfunction> functions;
  for (const Step &s : plan.steps) {
    if (s.kind != Step::Launch || functions.count(s.kernel))
      continue;
    CUfunction f = nullptr;
    if (!check(cu.cuModuleGetFunction(&f, module, s.kernel.c_str()),
               "cuModuleGetFunction(" + s.kernel + ")"))
      return MEMC_CUDA_DEVICE_ERROR;
    functions[s.kernel] = f;
  }

  bool gemms = false, spills = false;
  for (const Step &s : plan.steps) {
    gemms |= s.kind == Step::Gemm;
    spills |= s.kind == Step::Spill || s.kind == Step::Fetch;
  }
  if (!check(cu.cuStreamCreate(&stream, CU_STREAM_NON_BLOCKING),
             "cuStreamCreate") ||
      !check(cu.cuEventCreate(&start, CU_EVENT_DEFAULT), "cuEventCreate") ||
      !check(cu.cuEventCreate(&stop, CU_EVENT_DEFAULT), "cuEventCreate"))
    return MEMC_CUDA_DEVICE_ERROR;
  std::string error;
  if (!refresh.setUp(plan, stream, error))
    return failWith(MEMC_CUDA_DEVICE_ERROR, error);
  if (spills || plan.numEvents > 0) {
    if (!check(cu.cuStreamCreate(&copyStream, CU_STREAM_NON_BLOCKING),
               "cuStreamCreate(copy stream)") ||
        !check(cu.cuEventCreate(&order, CU_EVENT_DISABLE_TIMING),
               "cuEventCreate"))
      return MEMC_CUDA_DEVICE_ERROR;
    events.assign(plan.numEvents, nullptr);
    for (CUevent &e : events)
      if (!check(cu.cuEventCreate(&e, CU_EVENT_DISABLE_TIMING),
                 "cuEventCreate"))
        return MEMC_CUDA_DEVICE_ERROR;
  }

  // The resident block's layout.
  uint64_t top = 0;
  auto place = [&](uint64_t bytes) {
    uint64_t at = alignUp(top);
    top = at + bytes;
    return at;
  };
  if (!shared) {
    for (const rt::TensorSpec &w : manifest.weights)
      weightAt.push_back(place(w.byteSize));
    for (const rt::TensorSpec &c : manifest.kvCaches)
      kvAt.push_back(place(c.byteSize));
  }
  for (const ConstantSpec &c : plan.constants)
    constAt.push_back(place(c.bytes));
  for (const rt::TensorSpec &s : manifest.states)
    stateAt.push_back(place(s.byteSize));
  if (manifest.step)
    stepAt = place(manifest.step->byteSize);
  for (const rt::TensorSpec &t : manifest.inputs)
    inputAt.push_back(place(t.byteSize));
  for (const rt::TensorSpec &t : manifest.outputs)
    outputAt.push_back(place(t.byteSize));
  if (gemms)
    workspaceAt = place(kCublasWorkspaceBytes);
  if (refresh.scratchBytes())
    svdScratchAt = place(refresh.scratchBytes());
  residentBytes = alignUp(top);
  if (residentBytes > 0 &&
      !check(cu.cuMemAlloc(&resident, residentBytes),
             "cuMemAlloc_v2(" + std::to_string(residentBytes) +
                 " bytes: weights, constants, " +
                 (isTrain() ? "optimizer states, " : "") +
                 (kvAt.empty() ? "" : "KV caches, ") + "inputs, outputs)"))
    return MEMC_CUDA_DEVICE_ERROR;
  refresh.setScratch(resident + svdScratchAt);
  if (manifest.arenaBytes > 0 &&
      !check(cu.cuMemAlloc(&arena, manifest.arenaBytes),
             "cuMemAlloc_v2(" + std::to_string(manifest.arenaBytes) +
                 "-byte arena)"))
    return MEMC_CUDA_DEVICE_ERROR;
  if (plan.hostPoolBytes > 0 &&
      !check(cu.cuMemHostAlloc(&hostPool, plan.hostPoolBytes, 0),
             "cuMemHostAlloc(" + std::to_string(plan.hostPoolBytes) +
                 "-byte host pool)"))
    return MEMC_CUDA_DEVICE_ERROR;
  for (size_t i = 0; i < weightAt.size(); ++i) {
    const rt::TensorSpec &w = manifest.weights[i];
    if (w.byteSize > 0 && !check(cu.cuMemcpyHtoD(resident + weightAt[i],
                                                 weights.data(w), w.byteSize),
                                 "cuMemcpyHtoD_v2(weight '" + w.name + "')"))
      return MEMC_CUDA_DEVICE_ERROR;
  }
  // KV caches start at zero, like the CPU's (a program run alone reads
  // them before it wrote every row).
  for (size_t i = 0; i < kvAt.size(); ++i) {
    const rt::TensorSpec &c = manifest.kvCaches[i];
    if (c.byteSize > 0 &&
        !check(cu.cuMemsetD8(resident + kvAt[i], 0, c.byteSize),
               "cuMemsetD8_v2(KV cache '" + c.name + "')"))
      return MEMC_CUDA_DEVICE_ERROR;
  }
  // Optimizer states start at zero (the first step's momentum, Adam's
  // moments); the program updates them in place.
  for (size_t i = 0; i < manifest.states.size(); ++i) {
    const rt::TensorSpec &st = manifest.states[i];
    if (st.byteSize > 0 &&
        !check(cu.cuMemsetD8(resident + stateAt[i], 0, st.byteSize),
               "cuMemsetD8_v2(state '" + st.name + "')"))
      return MEMC_CUDA_DEVICE_ERROR;
  }
  for (const rt::TensorSpec *t : rt::trainStateTensors(manifest)) {
    uint64_t at = t->trainable ? weightAt[size_t(t - manifest.weights.data())]
                               : stateAt[size_t(t - manifest.states.data())];
    trained.push_back({at, t->byteSize, t->name});
  }
  for (size_t i = 0; i < plan.constants.size(); ++i)
    if (plan.constants[i].bytes > 0 &&
        !check(cu.cuMemcpyHtoD(resident + constAt[i],
                               constants.data() + plan.constants[i].offset,
                               plan.constants[i].bytes),
               "cuMemcpyHtoD_v2(constant " + std::to_string(i) + ")"))
      return MEMC_CUDA_DEVICE_ERROR;

  if (gemms) {
    const CublasAPI &b = cublas.api();
    cublasStatus_t st;
    if ((st = b.setStream(blas, stream)) != 0)
      return failWith(MEMC_CUDA_DEVICE_ERROR,
                      cublas.describe(st, "cublasSetStream_v2"));
    if (b.setWorkspace &&
        (st = b.setWorkspace(
             blas, reinterpret_cast<void *>(uintptr_t(resident + workspaceAt)),
             kCublasWorkspaceBytes)) != 0)
      return failWith(MEMC_CUDA_DEVICE_ERROR,
                      cublas.describe(st, "cublasSetWorkspace_v2"));
  }

  launches.resize(plan.steps.size());
  for (size_t i = 0; i < plan.steps.size(); ++i) {
    const Step &s = plan.steps[i];
    if (s.kind != Step::Launch)
      continue;
    PreparedLaunch &l = launches[i];
    l.function = functions[s.kernel];
    l.slots.resize(s.args.size());
    for (size_t j = 0; j < s.args.size(); ++j) {
      const Arg &a = s.args[j];
      uint64_t &slot = l.slots[j];
      switch (a.kind) {
      case Arg::Buffer:
        slot = address(a.ref);
        break;
      case Arg::I32: {
        int32_t v = int32_t(a.i);
        std::memcpy(&slot, &v, 4);
        break;
      }
      case Arg::I64:
        std::memcpy(&slot, &a.i, 8);
        break;
      case Arg::F32: {
        float v = float(a.f);
        std::memcpy(&slot, &v, 4);
        break;
      }
      case Arg::F64:
        std::memcpy(&slot, &a.f, 8);
        break;
      }
    }
    for (uint64_t &slot : l.slots)
      l.params.push_back(&slot);
  }
  return MEMC_CUDA_SUCCESS;
}

/// Loads cuBLAS and creates its handle when the plan has GEMMs; where that
/// fails and the package has its program without cuBLAS, switches to it.
memc_cuda_status memc_cuda_session::setUpCublas() {
  bool gemms = false;
  for (const Step &s : plan.steps)
    gemms |= s.kind == Step::Gemm;
  if (!gemms)
    return MEMC_CUDA_SUCCESS;
  std::string error;
  if (cublas.load(error)) {
    cublasStatus_t st = cublas.api().create(&blas);
    if (st == 0)
      return MEMC_CUDA_SUCCESS;
    blas = nullptr;
    error = cublas.describe(st, "cublasCreate_v2");
  }
  if (!hasFallback)
    return failWith(MEMC_CUDA_DEVICE_ERROR, error);
  notice = "cuBLAS unavailable (" + error +
           "); running the package's program without it (nocublas/)";
  return loadProgram(joinPath(dir, pf::kNoCublasDir));
}

uint64_t memc_cuda_session::address(const BufferRef &ref) const {
  switch (ref.base) {
  case BufferRef::Input:
    return resident + inputAt[ref.index] + ref.offset;
  case BufferRef::Weight:
    return shared ? shared->address(ref)
                  : resident + weightAt[ref.index] + ref.offset;
  case BufferRef::Output:
    return resident + outputAt[ref.index] + ref.offset;
  case BufferRef::Const:
    return resident + constAt[ref.index] + ref.offset;
  case BufferRef::Arena:
    return arena + ref.offset;
  case BufferRef::Host:
    return uint64_t(uintptr_t(hostPool)) + ref.offset;
  case BufferRef::State:
    return resident + stateAt[ref.index] + ref.offset;
  case BufferRef::Step:
    return resident + stepAt + ref.offset;
  case BufferRef::KV:
    return shared ? shared->address(ref)
                  : resident + kvAt[ref.index] + ref.offset;
  }
  return 0;
}

memc_cuda_status memc_cuda_session::run(const void *const *inputs,
                                        void *const *outputs,
                                        double *deviceMs) {
  const DriverAPI &cu = driver.api();
  auto lineOf = [&](const Step &s) {
    return std::string(pf::kLaunchPlanFile) + ":" + std::to_string(s.line) +
           ": ";
  };
  if (!check(cu.cuCtxSetCurrent(context), "cuCtxSetCurrent"))
    return MEMC_CUDA_DEVICE_ERROR;
  for (size_t i = 0; i < manifest.inputs.size(); ++i)
    if (manifest.inputs[i].byteSize > 0 &&
        !check(cu.cuMemcpyHtoDAsync(resident + inputAt[i], inputs[i],
                                    manifest.inputs[i].byteSize, stream),
               "cuMemcpyHtoDAsync_v2(input '" + manifest.inputs[i].name + "')"))
      return MEMC_CUDA_DEVICE_ERROR;
  if (manifest.step &&
      !check(cu.cuMemcpyHtoDAsync(resident + stepAt, &stepValue,
                                  sizeof stepValue, stream),
             "cuMemcpyHtoDAsync_v2(step '" + manifest.step->name + "')"))
    return MEMC_CUDA_DEVICE_ERROR;
  if (!check(cu.cuEventRecord(start, stream), "cuEventRecord"))
    return MEMC_CUDA_DEVICE_ERROR;
  for (size_t i = 0; i < plan.steps.size(); ++i) {
    const Step &s = plan.steps[i];
    if (profiling &&
        !check(cu.cuEventRecord(stepEvents[i], stream), "cuEventRecord"))
      return MEMC_CUDA_DEVICE_ERROR;
    bool ok = true;
    switch (s.kind) {
    case Step::Launch: {
      PreparedLaunch &l = launches[i];
      ok = check(cu.cuLaunchKernel(l.function, s.grid[0], s.grid[1], s.grid[2],
                                   s.block[0], s.block[1], s.block[2],
                                   s.sharedBytes, stream, l.params.data(),
                                   nullptr),
                 lineOf(s) + "cuLaunchKernel(" + s.kernel + ")");
      break;
    }
    case Step::Gemm: {
      // cuBLAS is column-major: the row-major C = op(A) op(B) is the
      // column-major C^T = op(B)^T op(A)^T, i.e. swap the operands and M/N;
      // leading dimensions and strides carry over unchanged.
      const CublasAPI &b = cublas.api();
      int opA = s.transA ? CUBLAS_OP_T : CUBLAS_OP_N;
      int opB = s.transB ? CUBLAS_OP_T : CUBLAS_OP_N;
      auto ptr = [&](const BufferRef &r) {
        return reinterpret_cast<void *>(uintptr_t(address(r)));
      };
      cublasStatus_t st;
      if (s.f64) {
        double alpha = s.alpha, beta = s.beta;
        st = b.dgemmStridedBatched(
            blas, opB, opA, int(s.n), int(s.m), int(s.k), &alpha,
            static_cast<const double *>(ptr(s.b)), int(s.ldb), s.strideB,
            static_cast<const double *>(ptr(s.a)), int(s.lda), s.strideA, &beta,
            static_cast<double *>(ptr(s.c)), int(s.ldc), s.strideC,
            int(s.batch));
      } else {
        float alpha = float(s.alpha), beta = float(s.beta);
        st = b.sgemmStridedBatched(
            blas, opB, opA, int(s.n), int(s.m), int(s.k), &alpha,
            static_cast<const float *>(ptr(s.b)), int(s.ldb), s.strideB,
            static_cast<const float *>(ptr(s.a)), int(s.lda), s.strideA, &beta,
            static_cast<float *>(ptr(s.c)), int(s.ldc), s.strideC,
            int(s.batch));
      }
      if (st != 0) {
        gLastError = lineOf(s) +
                     cublas.describe(st, s.f64 ? "cublasDgemmStridedBatched"
                                               : "cublasSgemmStridedBatched");
        ok = false;
      }
      break;
    }
    case Step::Copy:
      ok = check(
          cu.cuMemcpyDtoDAsync(address(s.dst), address(s.src), s.bytes, stream),
          lineOf(s) + "cuMemcpyDtoDAsync_v2");
      break;
    case Step::Spill:
    case Step::Fetch: {
      // The copy stream starts after everything queued so far on the
      // compute stream (the producer of a spilled buffer, or the last
      // reader of the arena range a fetch overwrites).
      ok =
          check(cu.cuEventRecord(order, stream), lineOf(s) + "cuEventRecord") &&
          check(cu.cuStreamWaitEvent(copyStream, order, 0),
                lineOf(s) + "cuStreamWaitEvent");
      if (ok && s.kind == Step::Spill)
        ok = check(cu.cuMemcpyDtoHAsync(
                       reinterpret_cast<void *>(uintptr_t(address(s.dst))),
                       address(s.src), s.bytes, copyStream),
                   lineOf(s) + "cuMemcpyDtoHAsync_v2");
      else if (ok)
        ok = check(cu.cuMemcpyHtoDAsync(address(s.dst),
                                        reinterpret_cast<const void *>(
                                            uintptr_t(address(s.src))),
                                        s.bytes, copyStream),
                   lineOf(s) + "cuMemcpyHtoDAsync_v2");
      ok = ok && check(cu.cuEventRecord(events[s.event], copyStream),
                       lineOf(s) + "cuEventRecord");
      break;
    }
    case Step::Wait:
      ok = check(cu.cuStreamWaitEvent(stream, events[s.event], 0),
                 lineOf(s) + "cuStreamWaitEvent");
      break;
    case Step::Svd: {
      if (!ProjectorRefresh::due(s, stepValue))
        break;
      if (profiling)
        ++svdRuns[i];
      std::string warning, error;
      ok = refresh.run(driver, i, s, stream, address(s.a), address(s.c),
                       manifest.states[s.c.index].param, warning, error);
      if (!ok)
        gLastError = lineOf(s) + error;
      else if (!warning.empty())
        std::fprintf(stderr, "memc-run: warning: %s\n", warning.c_str());
      break;
    }
    }
    if (!ok)
      return MEMC_CUDA_DEVICE_ERROR;
  }
  if (profiling && !check(cu.cuEventRecord(stepEvents.back(), stream),
                          "cuEventRecord"))
    return MEMC_CUDA_DEVICE_ERROR;
  if (!check(cu.cuEventRecord(stop, stream), "cuEventRecord"))
    return MEMC_CUDA_DEVICE_ERROR;
  for (size_t i = 0; i < manifest.outputs.size(); ++i)
    if (manifest.outputs[i].byteSize > 0 &&
        !check(cu.cuMemcpyDtoHAsync(outputs[i], resident + outputAt[i],
                                    manifest.outputs[i].byteSize, stream),
               "cuMemcpyDtoHAsync_v2(output '" + manifest.outputs[i].name +
                   "')"))
      return MEMC_CUDA_DEVICE_ERROR;
  // Kernel faults surface here, asynchronously: name the sync, not a step.
  if (!check(cu.cuStreamSynchronize(stream), "cuStreamSynchronize"))
    return MEMC_CUDA_DEVICE_ERROR;
  if (copyStream && !check(cu.cuStreamSynchronize(copyStream),
                           "cuStreamSynchronize(copy stream)"))
    return MEMC_CUDA_DEVICE_ERROR;
  if (deviceMs) {
    float ms = 0;
    if (!check(cu.cuEventElapsedTime(&ms, start, stop), "cuEventElapsedTime"))
      return MEMC_CUDA_DEVICE_ERROR;
    *deviceMs = ms;
  }
  if (profiling) {
    for (size_t i = 0; i + 1 < stepEvents.size(); ++i) {
      float ms = 0;
      if (!check(cu.cuEventElapsedTime(&ms, stepEvents[i], stepEvents[i + 1]),
                 "cuEventElapsedTime"))
        return MEMC_CUDA_DEVICE_ERROR;
      stepMs[i] += ms;
    }
    ++profiledRuns;
  }
  return MEMC_CUDA_SUCCESS;
}

memc_cuda_status memc_cuda_session::setProfiling(bool on) {
  profiling = on;
  if (!on || !stepEvents.empty())
    return MEMC_CUDA_SUCCESS;
  const DriverAPI &cu = driver.api();
  if (!check(cu.cuCtxSetCurrent(context), "cuCtxSetCurrent"))
    return MEMC_CUDA_DEVICE_ERROR;
  stepEvents.assign(plan.steps.size() + 1, nullptr);
  stepMs.assign(plan.steps.size(), 0.0);
  svdRuns.assign(plan.steps.size(), 0);
  for (CUevent &e : stepEvents)
    if (!check(cu.cuEventCreate(&e, CU_EVENT_DEFAULT), "cuEventCreate")) {
      profiling = false;
      return MEMC_CUDA_DEVICE_ERROR;
    }
  return MEMC_CUDA_SUCCESS;
}

memc_cuda_status memc_cuda_session::readTrained(bool fromCheckpoint,
                                                void *const *tensors) {
  const DriverAPI &cu = driver.api();
  if (fromCheckpoint && !checkpointed)
    return failWith(MEMC_CUDA_BAD_PACKAGE,
                    "memc_cuda_read_trained: no checkpoint was taken");
  if (!check(cu.cuCtxSetCurrent(context), "cuCtxSetCurrent"))
    return MEMC_CUDA_DEVICE_ERROR;
  for (size_t i = 0; i < trained.size(); ++i) {
    const Trained &t = trained[i];
    CUdeviceptr from = fromCheckpoint ? backup + backupAt[i] : resident + t.at;
    if (t.bytes > 0 &&
        !check(cu.cuMemcpyDtoHAsync(tensors[i], from, t.bytes, stream),
               "cuMemcpyDtoHAsync_v2(" +
                   std::string(fromCheckpoint ? "checkpoint of '" : "'") +
                   t.name + "')"))
      return MEMC_CUDA_DEVICE_ERROR;
  }
  return check(cu.cuStreamSynchronize(stream), "cuStreamSynchronize")
             ? MEMC_CUDA_SUCCESS
             : MEMC_CUDA_DEVICE_ERROR;
}

memc_cuda_status memc_cuda_session::writeTrained(const void *const *tensors) {
  const DriverAPI &cu = driver.api();
  if (!check(cu.cuCtxSetCurrent(context), "cuCtxSetCurrent"))
    return MEMC_CUDA_DEVICE_ERROR;
  for (size_t i = 0; i < trained.size(); ++i) {
    const Trained &t = trained[i];
    if (t.bytes > 0 && !check(cu.cuMemcpyHtoDAsync(resident + t.at, tensors[i],
                                                   t.bytes, stream),
                              "cuMemcpyHtoDAsync_v2('" + t.name + "')"))
      return MEMC_CUDA_DEVICE_ERROR;
  }
  // The host buffers may go once this returns.
  return check(cu.cuStreamSynchronize(stream), "cuStreamSynchronize")
             ? MEMC_CUDA_SUCCESS
             : MEMC_CUDA_DEVICE_ERROR;
}

memc_cuda_status memc_cuda_session::checkpoint() {
  const DriverAPI &cu = driver.api();
  if (!check(cu.cuCtxSetCurrent(context), "cuCtxSetCurrent"))
    return MEMC_CUDA_DEVICE_ERROR;
  if (!backup && !trained.empty()) {
    uint64_t top = 0;
    for (const Trained &t : trained) {
      backupAt.push_back(alignUp(top));
      top = backupAt.back() + t.bytes;
    }
    backupBytes = alignUp(top);
    if (backupBytes > 0 &&
        !check(cu.cuMemAlloc(&backup, backupBytes),
               "cuMemAlloc_v2(" + std::to_string(backupBytes) +
                   " bytes: the checkpoint of the trained weights and "
                   "optimizer states)")) {
      backup = 0;
      backupBytes = 0;
      backupAt.clear();
      return MEMC_CUDA_DEVICE_ERROR;
    }
  }
  // On the run's stream: ordered after the last run, before the next.
  for (size_t i = 0; i < trained.size(); ++i)
    if (trained[i].bytes > 0 &&
        !check(cu.cuMemcpyDtoDAsync(backup + backupAt[i],
                                    resident + trained[i].at, trained[i].bytes,
                                    stream),
               "cuMemcpyDtoDAsync_v2(checkpoint of '" + trained[i].name + "')"))
      return MEMC_CUDA_DEVICE_ERROR;
  checkpointed = true;
  return MEMC_CUDA_SUCCESS;
}

memc_cuda_session::~memc_cuda_session() {
  // Teardown errors are ignored: there is nothing left to report them to.
  const DriverAPI &cu = driver.api();
  if (!cu.cuInit)
    return;
  if (context)
    cu.cuCtxSetCurrent(context);
  if (blas)
    cublas.api().destroy(blas);
  refresh.release();
  for (const std::vector<CUevent> *list : {&events, &stepEvents})
    for (CUevent e : *list)
      if (e)
        cu.cuEventDestroy(e);
  for (CUevent e : {start, stop, order})
    if (e)
      cu.cuEventDestroy(e);
  for (CUstream s : {stream, copyStream})
    if (s)
      cu.cuStreamDestroy(s);
  if (hostPool)
    cu.cuMemFreeHost(hostPool);
  if (arena)
    cu.cuMemFree(arena);
  if (backup)
    cu.cuMemFree(backup);
  if (resident)
    cu.cuMemFree(resident);
  if (module)
    cu.cuModuleUnload(module);
  if (contextRetained)
    cu.cuDevicePrimaryCtxRelease(device);
}

extern "C" {

memc_cuda_status memc_cuda_open(const char *package_dir, int device,
                                memc_cuda_session **session) {
  return memc_cuda_open_sharing(package_dir, device, nullptr, session);
}

memc_cuda_status memc_cuda_open_sharing(const char *package_dir, int device,
                                        const memc_cuda_session *share_with,
                                        memc_cuda_session **session) {
  gLastError.clear();
  if (!session)
    return failWith(MEMC_CUDA_BAD_PACKAGE, "memc_cuda_open: session is NULL");
  *session = nullptr;
  if (!package_dir || !*package_dir)
    return failWith(MEMC_CUDA_BAD_PACKAGE, "memc_cuda_open: no package");
  auto *s = new memc_cuda_session();
  s->dir = package_dir;
  s->shared = share_with;
  memc_cuda_status status = s->loadPackage();
  if (status == MEMC_CUDA_SUCCESS && share_with)
    status = s->checkSharing();
  if (status == MEMC_CUDA_SUCCESS)
    status = s->openDevice(device);
  if (status != MEMC_CUDA_SUCCESS) {
    std::string error = gLastError;
    delete s;
    gLastError = error;
    return status;
  }
  *session = s;
  return MEMC_CUDA_SUCCESS;
}

const char *memc_cuda_last_error(void) { return gLastError.c_str(); }

memc_cuda_status memc_cuda_run(memc_cuda_session *session,
                               const void *const *inputs, void *const *outputs,
                               double *device_ms) {
  gLastError.clear();
  if (!session)
    return failWith(MEMC_CUDA_BAD_PACKAGE, "memc_cuda_run: session is NULL");
  return session->run(inputs, outputs, device_ms);
}

uint64_t memc_cuda_device_bytes(const memc_cuda_session *session) {
  return session ? session->residentBytes + session->manifest.arenaBytes +
                       session->backupBytes
                 : 0;
}

memc_cuda_status memc_cuda_set_step(memc_cuda_session *session, int64_t t) {
  gLastError.clear();
  if (!session)
    return failWith(MEMC_CUDA_BAD_PACKAGE,
                    "memc_cuda_set_step: session is NULL");
  if (!session->isTrain())
    return failWith(MEMC_CUDA_BAD_PACKAGE,
                    "memc_cuda_set_step: not a train package");
  session->stepValue = t;
  return MEMC_CUDA_SUCCESS;
}

memc_cuda_status memc_cuda_read_trained(memc_cuda_session *session,
                                        int from_checkpoint,
                                        void *const *tensors) {
  gLastError.clear();
  if (!session)
    return failWith(MEMC_CUDA_BAD_PACKAGE,
                    "memc_cuda_read_trained: session is NULL");
  return session->readTrained(from_checkpoint != 0, tensors);
}

memc_cuda_status memc_cuda_write_trained(memc_cuda_session *session,
                                         const void *const *tensors) {
  gLastError.clear();
  if (!session)
    return failWith(MEMC_CUDA_BAD_PACKAGE,
                    "memc_cuda_write_trained: session is NULL");
  return session->writeTrained(tensors);
}

memc_cuda_status memc_cuda_checkpoint(memc_cuda_session *session) {
  gLastError.clear();
  if (!session)
    return failWith(MEMC_CUDA_BAD_PACKAGE,
                    "memc_cuda_checkpoint: session is NULL");
  return session->checkpoint();
}

memc_cuda_status memc_cuda_set_profiling(memc_cuda_session *session,
                                         int on) {
  gLastError.clear();
  if (!session)
    return failWith(MEMC_CUDA_BAD_PACKAGE,
                    "memc_cuda_set_profiling: session is NULL");
  return session->setProfiling(on != 0);
}

const char *memc_cuda_profile(memc_cuda_session *session, int top) {
  if (!session)
    return "";
  session->profileText = formatProfile(session->plan, session->stepMs,
                                       session->svdRuns,
                                       session->profiledRuns, top);
  return session->profileText.c_str();
}

const char *memc_cuda_notice(const memc_cuda_session *session) {
  return session ? session->notice.c_str() : "";
}

const char *memc_cuda_device_name(const memc_cuda_session *session) {
  return session ? session->deviceName.c_str() : "";
}

void memc_cuda_close(memc_cuda_session *session) { delete session; }

} // extern "C"
