//===- HostKernelsTest.cpp - cooperative kernels on the fake libcuda ------===//
//
// Hand-written gpu.module kernels that cooperate within a block (workgroup
// memory, gpu.barrier, gpu.shuffle) are built for the host with
// memc::emitHostKernels and launched through the fake libcuda's driver entry
// points (FakeCuda.cpp), dlopen'ed with RTLD_LOCAL as runtime/cuda loads it.
// Every output is checked against a plain C++ reference. The kernels read
// other threads' writes, so they only give the right answer when the fake
// really runs a block's threads together up to each barrier and shuffle;
// the variants without a barrier show that the checks would catch it if it
// did not. Threads that diverge around a collective must fail the launch,
// not hang it.
//
//===----------------------------------------------------------------------===//
#include "memc/Driver/Registration.h"
#include "memc/Target/CUDATarget.h"

#include "mlir/IR/MLIRContext.h"
#include "mlir/Parser/Parser.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Pass/PassRegistry.h"

#include "TempDir.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <dlfcn.h>
#include <filesystem>
#include <string>
#include <unistd.h>
#include <vector>

namespace fs = std::filesystem;
using memc::test::TempDir;

namespace {

constexpr int kLaunchFailed = 719; // CUDA_ERROR_LAUNCH_FAILED

// block_sum, on a grid of 3x2 blocks of 16x8 threads (so a warp spans two
// rows of x): each thread puts its input into shared memory, and after a
// barrier reads the slot of the next thread (a later fiber, which must have
// run up to the barrier first); warps sum their inputs by xor shuffles; lane
// 0 of each warp publishes the warp's sum and, after a second barrier,
// thread 0 adds the four. The private buffer carries two values to the end.
// @BARRIER1@ and @BARRIER2@ are filled with gpu.barrier or nothing.
const char *kBlockSum = R"mlir(
    gpu.func @NAME(%in: memref<768xf32>, %nb_out: memref<768xf32>,
                   %warp_out: memref<768xf32>, %sums: memref<6xf32>)
        workgroup(%vals: memref<128xf32, #gpu.address_space<workgroup>>,
                  %warps: memref<4xf32, #gpu.address_space<workgroup>>)
        private(%keep: memref<2xf32, #gpu.address_space<private>>)
        kernel {
      %c0 = arith.constant 0 : index
      %c1 = arith.constant 1 : index
      %c2 = arith.constant 2 : index
      %c3 = arith.constant 3 : index
      %c5 = arith.constant 5 : index
      %c32 = arith.constant 32 : index
      %c128 = arith.constant 128 : index
      %w32 = arith.constant 32 : i32
      %h16 = arith.constant 16 : i32
      %tx = gpu.thread_id x
      %ty = gpu.thread_id y
      %nx = gpu.block_dim x
      %bx = gpu.block_id x
      %by = gpu.block_id y
      %gx = gpu.grid_dim x
      %row = arith.muli %ty, %nx : index
      %t = arith.addi %row, %tx : index
      %brow = arith.muli %by, %gx : index
      %b = arith.addi %brow, %bx : index
      %base = arith.muli %b, %c128 : index
      %g = arith.addi %base, %t : index
      %v = memref.load %in[%g] : memref<768xf32>
      memref.store %v, %vals[%t]
          : memref<128xf32, #gpu.address_space<workgroup>>
      @BARRIER1@
      %t1 = arith.addi %t, %c1 : index
      %next = arith.remui %t1, %c128 : index
      %nb = memref.load %vals[%next]
          : memref<128xf32, #gpu.address_space<workgroup>>
      memref.store %nb, %keep[%c0] : memref<2xf32, #gpu.address_space<private>>
      %s = scf.for %i = %c0 to %c5 step %c1 iter_args(%acc = %v) -> (f32) {
        %i32 = arith.index_cast %i : index to i32
        %off = arith.shrui %h16, %i32 : i32
        %o, %ok = gpu.shuffle xor %acc, %off, %w32 : f32
        %sum = arith.addf %acc, %o : f32
        scf.yield %sum : f32
      }
      memref.store %s, %keep[%c1] : memref<2xf32, #gpu.address_space<private>>
      %lane = arith.remui %t, %c32 : index
      %warp = arith.divui %t, %c32 : index
      %first = arith.cmpi eq, %lane, %c0 : index
      scf.if %first {
        memref.store %s, %warps[%warp]
            : memref<4xf32, #gpu.address_space<workgroup>>
      }
      @BARRIER2@
      %leader = arith.cmpi eq, %t, %c0 : index
      scf.if %leader {
        %w0 = memref.load %warps[%c0] : memref<4xf32, #gpu.address_space<workgroup>>
        %w1 = memref.load %warps[%c1] : memref<4xf32, #gpu.address_space<workgroup>>
        %w2 = memref.load %warps[%c2] : memref<4xf32, #gpu.address_space<workgroup>>
        %w3 = memref.load %warps[%c3] : memref<4xf32, #gpu.address_space<workgroup>>
        %s01 = arith.addf %w0, %w1 : f32
        %s23 = arith.addf %w2, %w3 : f32
        %total = arith.addf %s01, %s23 : f32
        memref.store %total, %sums[%b] : memref<6xf32>
      }
      %k0 = memref.load %keep[%c0] : memref<2xf32, #gpu.address_space<private>>
      %k1 = memref.load %keep[%c1] : memref<2xf32, #gpu.address_space<private>>
      memref.store %k0, %nb_out[%g] : memref<768xf32>
      memref.store %k1, %warp_out[%g] : memref<768xf32>
      gpu.return
    }
)mlir";

// The other shuffle modes, i32 and f32, their `valid` results and
// gpu.lane_id, on 2 blocks of 24x4 threads (three warps, each spanning rows).
// Thread g writes 9 values at out[9 g].
const char *kLanes = R"mlir(
    gpu.func @lanes(%out: memref<1728xi32>) kernel {
      %c1 = arith.constant 1 : index
      %c2 = arith.constant 2 : index
      %c3 = arith.constant 3 : index
      %c4 = arith.constant 4 : index
      %c5 = arith.constant 5 : index
      %c6 = arith.constant 6 : index
      %c7 = arith.constant 7 : index
      %c8 = arith.constant 8 : index
      %c9 = arith.constant 9 : index
      %c96 = arith.constant 96 : index
      %w32 = arith.constant 32 : i32
      %i2 = arith.constant 2 : i32
      %i3 = arith.constant 3 : i32
      %i5 = arith.constant 5 : i32
      %i7 = arith.constant 7 : i32
      %tx = gpu.thread_id x
      %ty = gpu.thread_id y
      %nx = gpu.block_dim x
      %bx = gpu.block_id x
      %row = arith.muli %ty, %nx : index
      %t = arith.addi %row, %tx : index
      %base = arith.muli %bx, %c96 : index
      %g = arith.addi %base, %t : index
      %g7 = arith.muli %g, %c7 : index
      %vi = arith.index_cast %g7 : index to i32
      %one = arith.constant 1 : i32
      %v = arith.addi %vi, %one : i32
      %vf = arith.sitofp %v : i32 to f32
      %lane = gpu.lane_id
      %a, %av = gpu.shuffle idx %v, %i5, %w32 : i32
      %d, %dv = gpu.shuffle down %v, %i3, %w32 : i32
      %u, %uv = gpu.shuffle up %v, %i2, %w32 : i32
      %x, %xv = gpu.shuffle xor %vf, %i7, %w32 : f32
      %xi = arith.fptosi %x : f32 to i32
      %li = arith.index_cast %lane : index to i32
      %avi = arith.extui %av : i1 to i32
      %dvi = arith.extui %dv : i1 to i32
      %uvi = arith.extui %uv : i1 to i32
      %at = arith.muli %g, %c9 : index
      memref.store %li, %out[%at] : memref<1728xi32>
      %at1 = arith.addi %at, %c1 : index
      memref.store %a, %out[%at1] : memref<1728xi32>
      %at2 = arith.addi %at, %c2 : index
      memref.store %avi, %out[%at2] : memref<1728xi32>
      %at3 = arith.addi %at, %c3 : index
      memref.store %d, %out[%at3] : memref<1728xi32>
      %at4 = arith.addi %at, %c4 : index
      memref.store %dvi, %out[%at4] : memref<1728xi32>
      %at5 = arith.addi %at, %c5 : index
      memref.store %u, %out[%at5] : memref<1728xi32>
      %at6 = arith.addi %at, %c6 : index
      memref.store %uvi, %out[%at6] : memref<1728xi32>
      %at7 = arith.addi %at, %c7 : index
      memref.store %xi, %out[%at7] : memref<1728xi32>
      %at8 = arith.addi %at, %c8 : index
      memref.store %v, %out[%at8] : memref<1728xi32>
      gpu.return
    }
)mlir";

// Threads 0-7 of each block wait at a barrier that the others never reach.
const char *kDivergeReturn = R"mlir(
    gpu.func @diverge_return(%out: memref<64xf32>) kernel {
      %c8 = arith.constant 8 : index
      %one = arith.constant 1.0 : f32
      %tx = gpu.thread_id x
      %few = arith.cmpi ult, %tx, %c8 : index
      scf.if %few {
        gpu.barrier
      }
      memref.store %one, %out[%tx] : memref<64xf32>
      gpu.return
    }
)mlir";

// Threads 0-7 wait at a barrier, the others at a shuffle.
const char *kDivergeKinds = R"mlir(
    gpu.func @diverge_kinds(%out: memref<64xf32>) kernel {
      %c8 = arith.constant 8 : index
      %w32 = arith.constant 32 : i32
      %i1 = arith.constant 1 : i32
      %one = arith.constant 1.0 : f32
      %tx = gpu.thread_id x
      %few = arith.cmpi ult, %tx, %c8 : index
      %r = scf.if %few -> (f32) {
        gpu.barrier
        scf.yield %one : f32
      } else {
        %s, %ok = gpu.shuffle xor %one, %i1, %w32 : f32
        scf.yield %s : f32
      }
      memref.store %r, %out[%tx] : memref<64xf32>
      gpu.return
    }
)mlir";

// A shuffle whose offset, known only at run time, is out of range; and one
// that reads lanes a partial warp does not have.
const char *kBadShuffles = R"mlir(
    gpu.func @runtime_offset(%out: memref<64xf32>, %offs: memref<1xi32>) kernel {
      %c0 = arith.constant 0 : index
      %w32 = arith.constant 32 : i32
      %one = arith.constant 1.0 : f32
      %tx = gpu.thread_id x
      %off = memref.load %offs[%c0] : memref<1xi32>
      %s, %ok = gpu.shuffle xor %one, %off, %w32 : f32
      memref.store %s, %out[%tx] : memref<64xf32>
      gpu.return
    }
    gpu.func @partial_warp(%out: memref<64xf32>) kernel {
      %w32 = arith.constant 32 : i32
      %i16 = arith.constant 16 : i32
      %one = arith.constant 1.0 : f32
      %tx = gpu.thread_id x
      %s, %ok = gpu.shuffle xor %one, %i16, %w32 : f32
      memref.store %s, %out[%tx] : memref<64xf32>
      gpu.return
    }
)mlir";

// No barrier, no shuffle: runs thread after thread, workgroup memory and
// all (each thread only reads back its own slots; one buffer's memory space
// is given as a number, which the gpu dialect also accepts). Also an LLVM
// intrinsic, as kernels use exp2.
const char *kPlain = R"mlir(
    gpu.func @plain(%in: memref<64xf32>, %out: memref<64xf32>)
        workgroup(%tmp: memref<64xf32, #gpu.address_space<workgroup>>,
                  %num: memref<64xf32, 3>)
        kernel {
      %tx = gpu.thread_id x
      %v = memref.load %in[%tx] : memref<64xf32>
      %d = arith.addf %v, %v : f32
      memref.store %d, %tmp[%tx] : memref<64xf32, #gpu.address_space<workgroup>>
      %r = memref.load %tmp[%tx] : memref<64xf32, #gpu.address_space<workgroup>>
      memref.store %r, %num[%tx] : memref<64xf32, 3>
      %n = memref.load %num[%tx] : memref<64xf32, 3>
      %e = llvm.intr.exp2(%n) : (f32) -> f32
      memref.store %e, %out[%tx] : memref<64xf32>
      gpu.return
    }
)mlir";

// mma: warp w of the block computes D[w] = A[w]·B[w] + C[w] (16x8x8) with
// one nvgpu.mma.sync, each lane loading and storing its fragments where
// PTX's mma.m16n8k8 .tf32 layout puts them (lane = 4 group + member):
// a0..a3 = A(group, member), A(group+8, member), A(group, member+4),
// A(group+8, member+4); b0, b1 = B(member, group), B(member+4, group);
// c/d = (group, 2 member), (group, 2 member+1), (group+8, 2 member), ...
const char *kMma = R"mlir(
    gpu.func @mma(%a: memref<4x16x8xf32>, %b: memref<4x8x8xf32>,
                  %c: memref<4x16x8xf32>, %d: memref<4x16x8xf32>) kernel {
      %c1 = arith.constant 1 : index
      %c2 = arith.constant 2 : index
      %c4 = arith.constant 4 : index
      %c8 = arith.constant 8 : index
      %c32 = arith.constant 32 : index
      %tx = gpu.thread_id x
      %w = arith.divui %tx, %c32 : index
      %lane = arith.remui %tx, %c32 : index
      %g = arith.divui %lane, %c4 : index
      %t = arith.remui %lane, %c4 : index
      %g8 = arith.addi %g, %c8 : index
      %t4 = arith.addi %t, %c4 : index
      %n0 = arith.muli %t, %c2 : index
      %n1 = arith.addi %n0, %c1 : index
      %a0 = memref.load %a[%w, %g, %t] : memref<4x16x8xf32>
      %a1 = memref.load %a[%w, %g8, %t] : memref<4x16x8xf32>
      %a2 = memref.load %a[%w, %g, %t4] : memref<4x16x8xf32>
      %a3 = memref.load %a[%w, %g8, %t4] : memref<4x16x8xf32>
      %b0 = memref.load %b[%w, %t, %g] : memref<4x8x8xf32>
      %b1 = memref.load %b[%w, %t4, %g] : memref<4x8x8xf32>
      %d0 = memref.load %c[%w, %g, %n0] : memref<4x16x8xf32>
      %d1 = memref.load %c[%w, %g, %n1] : memref<4x16x8xf32>
      %d2 = memref.load %c[%w, %g8, %n0] : memref<4x16x8xf32>
      %d3 = memref.load %c[%w, %g8, %n1] : memref<4x16x8xf32>
      %va = vector.from_elements %a0, %a1, %a2, %a3 : vector<4x1xf32>
      %vb = vector.from_elements %b0, %b1 : vector<2x1xf32>
      %vc = vector.from_elements %d0, %d1, %d2, %d3 : vector<2x2xf32>
      %vd = nvgpu.mma.sync (%va, %vb, %vc) {mmaShape = [16, 8, 8], tf32Enabled}
          : (vector<4x1xf32>, vector<2x1xf32>, vector<2x2xf32>) -> vector<2x2xf32>
      %e0 = vector.extract %vd[0, 0] : f32 from vector<2x2xf32>
      %e1 = vector.extract %vd[0, 1] : f32 from vector<2x2xf32>
      %e2 = vector.extract %vd[1, 0] : f32 from vector<2x2xf32>
      %e3 = vector.extract %vd[1, 1] : f32 from vector<2x2xf32>
      memref.store %e0, %d[%w, %g, %n0] : memref<4x16x8xf32>
      memref.store %e1, %d[%w, %g, %n1] : memref<4x16x8xf32>
      memref.store %e2, %d[%w, %g8, %n0] : memref<4x16x8xf32>
      memref.store %e3, %d[%w, %g8, %n1] : memref<4x16x8xf32>
      gpu.return
    }
)mlir";

std::string replaceAll(std::string s, const std::string &from,
                       const std::string &to) {
  for (size_t at = s.find(from); at != std::string::npos;
       at = s.find(from, at + to.size()))
    s.replace(at, from.size(), to);
  return s;
}

std::string blockSum(const std::string &name, bool barrier1, bool barrier2) {
  std::string s = replaceAll(kBlockSum, "@NAME", "@" + name);
  s = replaceAll(s, "@BARRIER1@", barrier1 ? "gpu.barrier" : "");
  return replaceAll(s, "@BARRIER2@", barrier2 ? "gpu.barrier" : "");
}

std::string gpuModule(const std::string &kernels) {
  return "module attributes {gpu.container_module} {\n"
         "  gpu.module @memc_kernels {\n" +
         kernels + "  }\n}\n";
}

/// Parses `ir`, runs `pipeline` on it when there is one, and builds its
/// kernels for the host into `dir`/kernels-host.so; false with `error` set
/// when any step fails.
bool buildHostKernels(const std::string &ir, const std::string &dir,
                      std::string &error, const char *pipeline = nullptr) {
  static bool registered = (memc::registerAllPasses(), true);
  (void)registered;
  mlir::DialectRegistry registry;
  memc::registerAllDialects(registry);
  mlir::MLIRContext context(registry);
  context.disableMultithreading();
  mlir::OwningOpRef<mlir::ModuleOp> module =
      mlir::parseSourceString<mlir::ModuleOp>(ir, &context);
  if (!module) {
    error = "the test's IR does not parse";
    return false;
  }
  mlir::PassManager pm(&context);
  if (pipeline && (failed(mlir::parsePassPipeline(pipeline, pm)) ||
                   failed(pm.run(*module)))) {
    error = std::string("the pipeline failed: ") + pipeline;
    return false;
  }
  return memc::emitHostKernels(*module, dir, dir + "/kernels-host.so", error);
}

/// The fake libcuda's driver entry points, loaded as runtime/cuda loads it.
struct FakeCuda {
  void *lib = dlopen(MEMC_FAKE_CUDA, RTLD_NOW | RTLD_LOCAL);
  template <typename Fn> Fn fn(const char *name) {
    return reinterpret_cast<Fn>(dlsym(lib, name));
  }
  /// A module whose PTX names `kernels` with their parameter counts, which
  /// is all the fake reads from it.
  void *load(const std::vector<std::pair<std::string, int>> &kernels) {
    std::string ptx;
    for (const auto &[name, params] : kernels) {
      ptx += ".entry " + name + "(";
      for (int i = 0; i < params; ++i)
        ptx += std::string(i ? ", " : "") + ".param .u64 p" + std::to_string(i);
      ptx += ")\n";
    }
    void *module = nullptr;
    int r = fn<int (*)(void **, const void *, unsigned, int *, void **)>(
        "cuModuleLoadDataEx")(&module, ptx.c_str(), 0, nullptr, nullptr);
    return r == 0 ? module : nullptr;
  }
  void *function(void *module, const std::string &name) {
    void *f = nullptr;
    int r = fn<int (*)(void **, void *, const char *)>("cuModuleGetFunction")(
        &f, module, name.c_str());
    return r == 0 ? f : nullptr;
  }
  template <typename T> uint64_t upload(const std::vector<T> &host) {
    uint64_t ptr = 0;
    fn<int (*)(uint64_t *, size_t)>("cuMemAlloc_v2")(&ptr,
                                                     host.size() * sizeof(T));
    fn<int (*)(uint64_t, const void *, size_t)>("cuMemcpyHtoD_v2")(
        ptr, host.data(), host.size() * sizeof(T));
    return ptr;
  }
  template <typename T> std::vector<T> download(uint64_t ptr, size_t n) {
    std::vector<T> host(n);
    fn<int (*)(void *, uint64_t, size_t, void *)>("cuMemcpyDtoHAsync_v2")(
        host.data(), ptr, n * sizeof(T), nullptr);
    fn<int (*)(uint64_t)>("cuMemFree_v2")(ptr);
    return host;
  }
  /// cuLaunchKernel's result; `args` are device pointers.
  int launch(void *f, const unsigned grid[3], const unsigned block[3],
             std::vector<uint64_t> args) {
    std::vector<void *> params;
    for (uint64_t &a : args)
      params.push_back(&a);
    return fn<int (*)(void *, unsigned, unsigned, unsigned, unsigned, unsigned,
                      unsigned, unsigned, void *, void **, void **)>(
        "cuLaunchKernel")(f, grid[0], grid[1], grid[2], block[0], block[1],
                          block[2], 0, nullptr, params.data(), nullptr);
  }
};

/// All the kernels that build, in one kernels-host.so, loaded by the fake.
class HostKernels : public ::testing::Test {
protected:
  static void SetUpTestSuite() {
    dir = new TempDir;
    std::string ir = gpuModule(blockSum("block_sum", true, true) +
                               blockSum("block_sum_no_barrier1", false, true) +
                               blockSum("block_sum_no_barrier2", true, false) +
                               kLanes + kDivergeReturn + kDivergeKinds +
                               kBadShuffles + kPlain + kMma);
    built = buildHostKernels(ir, dir->path(), buildError);
    so = dir->path() + "/kernels-host.so";
    ::setenv("MEMC_FAKE_CUDA_KERNELS", so.c_str(), 1);
    module = cuda.load({{"block_sum", 4},
                        {"block_sum_no_barrier1", 4},
                        {"block_sum_no_barrier2", 4},
                        {"lanes", 1},
                        {"diverge_return", 1},
                        {"diverge_kinds", 1},
                        {"runtime_offset", 2},
                        {"partial_warp", 1},
                        {"plain", 2},
                        {"mma", 4}});
  }
  static void TearDownTestSuite() {
    ::unsetenv("MEMC_FAKE_CUDA_KERNELS");
    delete dir;
  }
  void SetUp() override {
    ASSERT_TRUE(built) << buildError;
    ASSERT_NE(cuda.lib, nullptr) << dlerror();
    ASSERT_NE(module, nullptr);
  }

  /// Outputs of a block_sum-shaped kernel and its reference.
  struct BlockSum {
    std::vector<float> nb, warp, sums;
  };
  static std::vector<float> blockSumInput() {
    std::vector<float> in(768);
    for (int g = 0; g < 768; ++g)
      in[size_t(g)] = float((g * 7) % 23 - 11); // exact in any order
    return in;
  }
  int runBlockSum(const std::string &name, BlockSum &out) {
    void *f = cuda.function(module, name);
    if (!f)
      return -1;
    std::vector<float> in = blockSumInput(), zeros(768, 0.f), six(6, 0.f);
    uint64_t dIn = cuda.upload(in), dNb = cuda.upload(zeros),
             dWarp = cuda.upload(zeros), dSums = cuda.upload(six);
    const unsigned grid[3] = {3, 2, 1}, block[3] = {16, 8, 1};
    int r = cuda.launch(f, grid, block, {dIn, dNb, dWarp, dSums});
    cuda.download<float>(dIn, 768);
    out.nb = cuda.download<float>(dNb, 768);
    out.warp = cuda.download<float>(dWarp, 768);
    out.sums = cuda.download<float>(dSums, 6);
    return r;
  }
  static BlockSum blockSumReference() {
    std::vector<float> in = blockSumInput();
    BlockSum ref{std::vector<float>(768), std::vector<float>(768),
                 std::vector<float>(6)};
    for (int b = 0; b < 6; ++b)
      for (int t = 0; t < 128; ++t) {
        int g = b * 128 + t, warp = t / 32;
        ref.nb[size_t(g)] = in[size_t(b * 128 + (t + 1) % 128)];
        float w = 0;
        for (int l = 0; l < 32; ++l)
          w += in[size_t(b * 128 + warp * 32 + l)];
        ref.warp[size_t(g)] = w;
        ref.sums[size_t(b)] += in[size_t(g)];
      }
    return ref;
  }
  static int mismatches(const std::vector<float> &a,
                        const std::vector<float> &b) {
    int n = 0;
    for (size_t i = 0; i < a.size(); ++i)
      n += a[i] != b[i];
    return n;
  }
  /// Runs a kernel expected to fail on one block of `threads` threads:
  /// its result, with an alarm so that a hang kills the test instead.
  int runFailing(const std::string &name, unsigned threads,
                 std::vector<uint64_t> extra = {}) {
    void *f = cuda.function(module, name);
    if (!f)
      return -1;
    uint64_t out = cuda.upload(std::vector<float>(64, 0.f));
    std::vector<uint64_t> args = {out};
    args.insert(args.end(), extra.begin(), extra.end());
    const unsigned grid[3] = {2, 1, 1}, block[3] = {threads, 1, 1};
    ::alarm(60);
    int r = cuda.launch(f, grid, block, args);
    ::alarm(0);
    cuda.download<float>(out, 64);
    return r;
  }

  static FakeCuda cuda;
  static TempDir *dir;
  static bool built;
  static std::string buildError, so;
  static void *module;
};
FakeCuda HostKernels::cuda;
TempDir *HostKernels::dir;
bool HostKernels::built;
std::string HostKernels::buildError, HostKernels::so;
void *HostKernels::module;

TEST_F(HostKernels, BlockSumMatchesTheReference) {
  BlockSum out, ref = blockSumReference();
  ASSERT_EQ(runBlockSum("block_sum", out), 0);
  for (size_t g = 0; g < 768; ++g) {
    EXPECT_EQ(out.nb[g], ref.nb[g]) << "neighbour of thread " << g;
    EXPECT_EQ(out.warp[g], ref.warp[g]) << "warp sum at thread " << g;
  }
  for (size_t b = 0; b < 6; ++b)
    EXPECT_EQ(out.sums[b], ref.sums[b]) << "block " << b;
}

TEST_F(HostKernels, WithoutItsBarriersBlockSumIsWrong) {
  // What the checks above rely on: each barrier matters. Without the first,
  // a thread reads its neighbour's slot before the neighbour wrote it;
  // without the second, thread 0 adds warp sums not yet published. (Thread
  // after thread, as kernels without collectives run, is no better.)
  BlockSum out, ref = blockSumReference();
  ASSERT_EQ(runBlockSum("block_sum_no_barrier1", out), 0);
  EXPECT_GT(mismatches(out.nb, ref.nb), 600);
  EXPECT_EQ(mismatches(out.warp, ref.warp), 0); // shuffles still synchronize
  ASSERT_EQ(runBlockSum("block_sum_no_barrier2", out), 0);
  EXPECT_EQ(mismatches(out.nb, ref.nb), 0);
  EXPECT_EQ(mismatches(out.sums, ref.sums), 6);
}

TEST_F(HostKernels, ShuffleModesAndLaneIds) {
  void *f = cuda.function(module, "lanes");
  ASSERT_NE(f, nullptr);
  uint64_t dOut = cuda.upload(std::vector<int32_t>(1728, -1));
  const unsigned grid[3] = {2, 1, 1}, block[3] = {24, 4, 1};
  ASSERT_EQ(cuda.launch(f, grid, block, {dOut}), 0);
  std::vector<int32_t> out = cuda.download<int32_t>(dOut, 1728);
  for (int b = 0; b < 2; ++b)
    for (int t = 0; t < 96; ++t) {
      // Threads numbered x fastest; a warp is 32 consecutive ones.
      int g = b * 96 + t, lane = t % 32, warp = b * 96 + t - lane;
      auto v = [&](int l) { return int32_t((warp + l) * 7 + 1); };
      bool down = lane + 3 < 32, up = lane >= 2;
      const int32_t want[9] = {lane,   v(5),
                               1,      down ? v(lane + 3) : v(lane),
                               down,   up ? v(lane - 2) : v(lane),
                               up,     v(lane ^ 7),
                               v(lane)};
      for (int k = 0; k < 9; ++k)
        EXPECT_EQ(out[size_t(g * 9 + k)], want[k])
            << "thread " << g << ", value " << k;
    }
}

TEST_F(HostKernels, DivergentBarrierFailsTheLaunch) {
  testing::internal::CaptureStderr();
  EXPECT_EQ(runFailing("diverge_return", 64), kLaunchFailed);
  std::string err = testing::internal::GetCapturedStderr();
  EXPECT_NE(err.find("kernel diverge_return block (0,0,0): divergent "
                     "barrier: thread (8,0,0) returned while thread (0,0,0) "
                     "waits at a barrier"),
            std::string::npos)
      << err;
  // The fake is usable after a failed launch.
  BlockSum out, ref = blockSumReference();
  ASSERT_EQ(runBlockSum("block_sum", out), 0);
  EXPECT_EQ(mismatches(out.sums, ref.sums), 0);
}

TEST_F(HostKernels, BarrierAndShuffleTogetherFailTheLaunch) {
  testing::internal::CaptureStderr();
  EXPECT_EQ(runFailing("diverge_kinds", 64), kLaunchFailed);
  std::string err = testing::internal::GetCapturedStderr();
  EXPECT_NE(err.find("divergent collectives: thread (0,0,0) waits at a "
                     "barrier, thread (8,0,0) at a shuffle"),
            std::string::npos)
      << err;
}

TEST_F(HostKernels, BadShufflesFailTheLaunch) {
  uint64_t offs = cuda.upload(std::vector<int32_t>{40});
  testing::internal::CaptureStderr();
  EXPECT_EQ(runFailing("runtime_offset", 64, {offs}), kLaunchFailed);
  std::string err = testing::internal::GetCapturedStderr();
  EXPECT_NE(err.find("shuffle offset 40 (must be below 32)"), std::string::npos)
      << err;
  cuda.download<int32_t>(offs, 1);

  // 20 threads: lanes 4-19 would read lanes 20-35.
  testing::internal::CaptureStderr();
  EXPECT_EQ(runFailing("partial_warp", 20), kLaunchFailed);
  err = testing::internal::GetCapturedStderr();
  EXPECT_NE(err.find("thread (4,0,0): shuffle reads lane 20 of warp 0, which "
                     "a block of 20 threads does not have"),
            std::string::npos)
      << err;
}

TEST_F(HostKernels, OnlyCollectiveKernelsAreMarked) {
  void *lib = dlopen(so.c_str(), RTLD_NOW | RTLD_LOCAL | RTLD_NOLOAD);
  ASSERT_NE(lib, nullptr);
  EXPECT_NE(dlsym(lib, "block_sum_memc_host_collective"), nullptr);
  EXPECT_NE(dlsym(lib, "lanes_memc_host_collective"), nullptr);
  EXPECT_EQ(dlsym(lib, "plain_memc_host_collective"), nullptr);
  EXPECT_NE(dlsym(lib, "plain_memc_host"), nullptr);
  dlclose(lib);

  void *f = cuda.function(module, "plain");
  ASSERT_NE(f, nullptr);
  std::vector<float> in(64);
  for (int i = 0; i < 64; ++i)
    in[size_t(i)] = float(i) - 20.f;
  uint64_t dIn = cuda.upload(in), dOut = cuda.upload(std::vector<float>(64));
  const unsigned grid[3] = {1, 1, 1}, block[3] = {64, 1, 1};
  ASSERT_EQ(cuda.launch(f, grid, block, {dIn, dOut}), 0);
  std::vector<float> out = cuda.download<float>(dOut, 64);
  for (int i = 0; i < 64; ++i)
    EXPECT_EQ(out[size_t(i)], std::exp2(2 * in[size_t(i)])) << i; // exact
  cuda.download<float>(dIn, 64);
}

/// D = A·B + C for the 4 warps' matrices, from the mma kernel on one block
/// of 128 threads.
std::vector<float> runMma(FakeCuda &cuda, void *f, const std::vector<float> &a,
                          const std::vector<float> &b,
                          const std::vector<float> &c, int &result) {
  uint64_t dA = cuda.upload(a), dB = cuda.upload(b), dC = cuda.upload(c),
           dD = cuda.upload(std::vector<float>(512, -1.f));
  const unsigned grid[3] = {1, 1, 1}, block[3] = {128, 1, 1};
  result = cuda.launch(f, grid, block, {dA, dB, dC, dD});
  cuda.download<float>(dA, 512);
  cuda.download<float>(dB, 256);
  cuda.download<float>(dC, 512);
  return cuda.download<float>(dD, 512);
}

TEST_F(HostKernels, MmaComputesEachWarpsProduct) {
  // Small integers: exact in TF32 and in any summation order, so D must
  // equal the reference exactly, and a lane mapping off by one row,
  // column or register changes some element.
  std::vector<float> a(512), b(256), c(512);
  for (int i = 0; i < 512; ++i) {
    a[size_t(i)] = float((i * 5) % 11 - 5);
    c[size_t(i)] = float((i * 3) % 7 - 3);
  }
  for (int i = 0; i < 256; ++i)
    b[size_t(i)] = float((i * 7) % 13 - 6);
  void *f = cuda.function(module, "mma");
  ASSERT_NE(f, nullptr);
  int r = -1;
  std::vector<float> d = runMma(cuda, f, a, b, c, r);
  ASSERT_EQ(r, 0);
  for (int w = 0; w < 4; ++w)
    for (int i = 0; i < 16; ++i)
      for (int j = 0; j < 8; ++j) {
        float want = c[size_t(w * 128 + i * 8 + j)];
        for (int k = 0; k < 8; ++k)
          want +=
              a[size_t(w * 128 + i * 8 + k)] * b[size_t(w * 64 + k * 8 + j)];
        EXPECT_EQ(d[size_t(w * 128 + i * 8 + j)], want)
            << "warp " << w << ", D(" << i << "," << j << ")";
      }
}

TEST_F(HostKernels, MmaReadsOperandsAsTF32) {
  // 1 + 2^-12 is not a TF32 number (10 mantissa bits): the mma sees 1. The
  // accumulator is f32 and keeps its bits.
  std::vector<float> a(512, 1.f + 0x1p-12f), b(256, 1.f + 0x1p-12f),
      c(512, 0x1p-20f);
  void *f = cuda.function(module, "mma");
  ASSERT_NE(f, nullptr);
  int r = -1;
  std::vector<float> d = runMma(cuda, f, a, b, c, r);
  ASSERT_EQ(r, 0);
  for (size_t i = 0; i < 512; ++i)
    EXPECT_EQ(d[i], 8.f + 0x1p-20f) << i;
}

TEST_F(HostKernels, MmaNeedsWholeWarps) {
  void *f = cuda.function(module, "mma");
  ASSERT_NE(f, nullptr);
  uint64_t a = cuda.upload(std::vector<float>(512, 0.f)),
           b = cuda.upload(std::vector<float>(256, 0.f)),
           d = cuda.upload(std::vector<float>(512, 0.f));
  const unsigned grid[3] = {1, 1, 1}, block[3] = {48, 1, 1};
  testing::internal::CaptureStderr();
  ::alarm(60);
  EXPECT_EQ(cuda.launch(f, grid, block, {a, b, a, d}), kLaunchFailed);
  ::alarm(0);
  std::string err = testing::internal::GetCapturedStderr();
  EXPECT_NE(err.find("mma.sync in warp 1, which a block of 48 threads leaves "
                     "with fewer than 32 threads"),
            std::string::npos)
      << err;
  cuda.download<float>(a, 512);
  cuda.download<float>(b, 256);
  cuda.download<float>(d, 512);
}

TEST(HostKernelsLaunch, OutlinedLaunchWithWorkgroupMemory) {
  // The form a kernel generator writes (gpu.launch with a workgroup
  // attribution), outlined as memc's kernel pipeline outlines it: each
  // thread reads the slot that the mirror thread wrote before the barrier.
  TempDir dir;
  std::string error;
  ASSERT_TRUE(buildHostKernels(R"mlir(
    func.func @reverse(%in: memref<64xf32>, %out: memref<64xf32>) {
      %c1 = arith.constant 1 : index
      %c64 = arith.constant 64 : index
      gpu.launch blocks(%bx, %by, %bz) in (%gx = %c1, %gy = %c1, %gz = %c1)
                 threads(%tx, %ty, %tz) in (%nx = %c64, %ny = %c1, %nz = %c1)
                 workgroup(%smem : memref<64xf32, #gpu.address_space<workgroup>>) {
        %v = memref.load %in[%tx] : memref<64xf32>
        memref.store %v, %smem[%tx] : memref<64xf32, #gpu.address_space<workgroup>>
        gpu.barrier
        %c63 = arith.constant 63 : index
        %mirror = arith.subi %c63, %tx : index
        %w = memref.load %smem[%mirror] : memref<64xf32, #gpu.address_space<workgroup>>
        memref.store %w, %out[%tx] : memref<64xf32>
        gpu.terminator
      }
      return
    }
  )mlir",
                               dir.path(), error, "gpu-kernel-outlining"))
      << error;
  std::string so = dir.path() + "/kernels-host.so";
  ::setenv("MEMC_FAKE_CUDA_KERNELS", so.c_str(), 1);
  FakeCuda cuda;
  void *module = cuda.load({{"reverse_kernel", 2}});
  ASSERT_NE(module, nullptr);
  void *f = cuda.function(module, "reverse_kernel");
  ::unsetenv("MEMC_FAKE_CUDA_KERNELS");
  ASSERT_NE(f, nullptr);
  std::vector<float> in(64);
  for (int i = 0; i < 64; ++i)
    in[size_t(i)] = float(3 * i + 1);
  uint64_t dIn = cuda.upload(in), dOut = cuda.upload(std::vector<float>(64));
  const unsigned grid[3] = {1, 1, 1}, block[3] = {64, 1, 1};
  ASSERT_EQ(cuda.launch(f, grid, block, {dIn, dOut}), 0);
  std::vector<float> out = cuda.download<float>(dOut, 64);
  for (int i = 0; i < 64; ++i)
    EXPECT_EQ(out[size_t(i)], in[size_t(63 - i)]) << i;
  cuda.download<float>(dIn, 64);
}

/// What the host build refuses: errors name the kernel.
TEST(HostKernelsBuild, UnmodelledOpsAreErrorsNamingTheKernel) {
  struct Case {
    const char *body, *message;
  } cases[] = {
      {R"mlir(
    gpu.func @narrow(%out: memref<32xf32>) kernel {
      %w = arith.constant 16 : i32
      %i1 = arith.constant 1 : i32
      %one = arith.constant 1.0 : f32
      %tx = gpu.thread_id x
      %s, %ok = gpu.shuffle xor %one, %i1, %w : f32
      memref.store %s, %out[%tx] : memref<32xf32>
      gpu.return
    }
)mlir",
       "kernel @narrow uses a gpu.shuffle whose width is not the constant 32"},
      {R"mlir(
    gpu.func @wide(%out: memref<32xf64>) kernel {
      %w = arith.constant 32 : i32
      %i1 = arith.constant 1 : i32
      %one = arith.constant 1.0 : f64
      %tx = gpu.thread_id x
      %s, %ok = gpu.shuffle xor %one, %i1, %w : f64
      memref.store %s, %out[%tx] : memref<32xf64>
      gpu.return
    }
)mlir",
       "kernel @wide uses a gpu.shuffle of f64"},
      {R"mlir(
    gpu.func @far(%out: memref<32xf32>) kernel {
      %w = arith.constant 32 : i32
      %i40 = arith.constant 40 : i32
      %one = arith.constant 1.0 : f32
      %tx = gpu.thread_id x
      %s, %ok = gpu.shuffle idx %one, %i40, %w : f32
      memref.store %s, %out[%tx] : memref<32xf32>
      gpu.return
    }
)mlir",
       "kernel @far uses a gpu.shuffle with offset 40"},
      {R"mlir(
    gpu.func @reduce(%out: memref<32xf32>) kernel {
      %one = arith.constant 1.0 : f32
      %tx = gpu.thread_id x
      %s = gpu.subgroup_reduce add %one : (f32) -> f32
      memref.store %s, %out[%tx] : memref<32xf32>
      gpu.return
    }
)mlir",
       "kernel @reduce uses gpu.subgroup_reduce, which the host build does "
       "not model"},
      {R"mlir(
    gpu.func @half(%out: memref<32xf32>) kernel {
      %a = arith.constant dense<1.0> : vector<4x2xf16>
      %b = arith.constant dense<1.0> : vector<2x2xf16>
      %c = arith.constant dense<0.0> : vector<2x2xf32>
      %d = nvgpu.mma.sync (%a, %b, %c) {mmaShape = [16, 8, 16]}
          : (vector<4x2xf16>, vector<2x2xf16>, vector<2x2xf32>) -> vector<2x2xf32>
      gpu.return
    }
)mlir",
       "kernel @half uses an nvgpu.mma.sync other than m16n8k8 on TF32"},
  };
  for (const Case &c : cases) {
    TempDir dir;
    std::string error;
    EXPECT_FALSE(buildHostKernels(gpuModule(c.body), dir.path(), error));
    EXPECT_NE(error.find(c.message), std::string::npos) << error;
  }
}

} // namespace
