//===- SessionTest.cpp - memc_cuda.h and memc-run --device cuda -----------===//
//
// Packages are written by hand into temporary directories and run on the
// fake libcuda/libcublas (FakeCuda.cpp, FakeCublas.cpp): the runtime loads
// them through MEMC_LIBCUDA/MEMC_LIBCUBLAS with dlopen, exactly as it loads
// the real ones, and the tests read what the fakes recorded by dlopen'ing
// the same libraries (the same handle, so the same state).
//
//===----------------------------------------------------------------------===//
#include "CudaRunner.h"
#include "memc/ExitCodes.h"
#include "memc_cuda.h"

#include "TempDir.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <cstring>
#include <dlfcn.h>
#include <filesystem>
#include <fstream>
#include <sys/stat.h>
#include <sys/wait.h>
#include <vector>

namespace fs = std::filesystem;
using memc::test::TempDir;

namespace {

void writeFile(const std::string &path, const std::string &bytes) {
  std::ofstream f(path, std::ios::binary);
  f << bytes;
}

std::string floats(const std::vector<float> &v) {
  return std::string(reinterpret_cast<const char *>(v.data()),
                     v.size() * sizeof(float));
}

/// Entry points of the fakes, for looking at what they recorded.
struct Fakes {
  void *cuda = dlopen(MEMC_FAKE_CUDA, RTLD_NOW | RTLD_LOCAL);
  void *cublas = dlopen(MEMC_FAKE_CUBLAS, RTLD_NOW | RTLD_LOCAL);
  template <typename Fn> Fn cu(const char *name) {
    return reinterpret_cast<Fn>(dlsym(cuda, name));
  }
  int numAllocs() { return cu<int (*)()>("fake_cuda_num_allocs")(); }
  uint64_t allocSize(int i) {
    return cu<uint64_t (*)(int)>("fake_cuda_alloc_size")(i);
  }
  uint64_t allocPtr(int i) {
    return cu<uint64_t (*)(int)>("fake_cuda_alloc_ptr")(i);
  }
  int liveAllocs() { return cu<int (*)()>("fake_cuda_live_allocs")(); }
  int liveHostAllocs() { return cu<int (*)()>("fake_cuda_live_host_allocs")(); }
  int numImages() { return cu<int (*)()>("fake_cuda_num_images")(); }
  std::string image(int i) {
    return cu<const char *(*)(int)>("fake_cuda_image")(i);
  }
  int numLaunches() { return cu<int (*)()>("fake_cuda_num_launches")(); }
  std::string launchKernel(int i) {
    return cu<const char *(*)(int)>("fake_cuda_launch_kernel")(i);
  }
  unsigned launchDim(int i, int which) {
    return cu<unsigned (*)(int, int)>("fake_cuda_launch_dim")(i, which);
  }
  int numParams(int i) {
    return cu<int (*)(int)>("fake_cuda_launch_num_params")(i);
  }
  uint64_t param(int i, int j) {
    return cu<uint64_t (*)(int, int)>("fake_cuda_launch_param")(i, j);
  }
  int numGemms() {
    return reinterpret_cast<int (*)()>(
        dlsym(cublas, "fake_cublas_num_gemms"))();
  }
  bool workspaceSet() {
    return reinterpret_cast<int (*)()>(
               dlsym(cublas, "fake_cublas_workspace_set"))() != 0;
  }
  void reset() {
    cu<void (*)()>("fake_cuda_reset")();
    reinterpret_cast<void (*)()>(dlsym(cublas, "fake_cublas_reset"))();
  }
};

const char kPTX[] = ".version 7.8\n.target sm_90\n.address_size 64\n"
                    ".visible .entry k_scale(\n"
                    "\t.param .u64 .ptr .align 1 k_scale_param_0,\n"
                    "\t.param .u64 .ptr .align 1 k_scale_param_1,\n"
                    "\t.param .f32 k_scale_param_2,\n"
                    "\t.param .u32 k_scale_param_3,\n"
                    "\t.param .u64 k_scale_param_4\n"
                    ")\n{\n\tret;\n}\n";

/// x[2x3] -> y[2x3]; weight w[3x3]; one 512-byte constant region unused by
/// the math; arena of 4096 bytes.
class Session : public ::testing::Test {
protected:
  void SetUp() override {
    ASSERT_NE(fakes.cuda, nullptr) << dlerror();
    ASSERT_NE(fakes.cublas, nullptr) << dlerror();
    setenv("MEMC_LIBCUDA", MEMC_FAKE_CUDA, 1);
    setenv("MEMC_LIBCUBLAS", MEMC_FAKE_CUBLAS, 1);
    for (const char *v : {"MEMC_FAKE_CUDA_INIT", "MEMC_FAKE_CUDA_DEVICES",
                          "MEMC_FAKE_CUDA_MEM_LIMIT", "MEMC_FAKE_CUDA_CC"})
      unsetenv(v);
    fakes.reset();
    manifest = "memc-package 1\nmodel m.onnx\ntarget cuda\narena_bytes 4096\n"
               "input x f32 2x3\nweight w f32 3x3 0 36\noutput y f32 2x3\n";
    weights = floats({1, 2, 3, 4, 5, 6, 7, 8, 9});
    plan = "memc-launch-plan 1\narch sm_90\nhost_pool_bytes 0\n"
           "constant 0 0 8\n"
           "launch k_scale 3 1 1 128 1 1 16 arena+256 weight:0+12 f32:2.5 "
           "i32:-7 const:0+4\n";
    constants = floats({0.25f, 0.75f});
  }
  void TearDown() override {
    unsetenv("MEMC_LIBCUDA");
    unsetenv("MEMC_LIBCUBLAS");
  }
  std::string writePackage() {
    writeFile(dir / "manifest.txt", manifest);
    writeFile(dir / "weights.bin", weights);
    writeFile(dir / "launch_plan.txt", plan);
    writeFile(dir / "constants.bin", constants);
    writeFile(dir / "kernels.ptx", kPTX);
    return dir.path();
  }
  memc_cuda_status open(memc_cuda_session **s) {
    return memc_cuda_open(writePackage().c_str(), 0, s);
  }

  Fakes fakes;
  TempDir dir;
  std::string manifest, weights, plan, constants;
};

TEST_F(Session, NoDriverLibraryIsNoDevice) {
  setenv("MEMC_LIBCUDA", "/nonexistent/libcuda.so.1", 1);
  memc_cuda_session *s = nullptr;
  EXPECT_EQ(open(&s), MEMC_CUDA_NO_DEVICE);
  EXPECT_EQ(s, nullptr);
  EXPECT_EQ(
      std::string(memc_cuda_last_error())
          .rfind("no CUDA driver: cannot load /nonexistent/libcuda.so.1 (", 0),
      0u)
      << memc_cuda_last_error();
}

TEST_F(Session, InitFailureNamesTheCallAndCudasString) {
  setenv("MEMC_FAKE_CUDA_INIT", "100", 1);
  memc_cuda_session *s = nullptr;
  EXPECT_EQ(open(&s), MEMC_CUDA_NO_DEVICE);
  EXPECT_STREQ(memc_cuda_last_error(),
               "no usable CUDA driver: cuInit: CUDA_ERROR_NO_DEVICE: no "
               "CUDA-capable device is detected");
}

TEST_F(Session, ZeroDevicesIsNoDevice) {
  setenv("MEMC_FAKE_CUDA_DEVICES", "0", 1);
  memc_cuda_session *s = nullptr;
  EXPECT_EQ(open(&s), MEMC_CUDA_NO_DEVICE);
  EXPECT_STREQ(memc_cuda_last_error(), "no CUDA device found");
}

TEST_F(Session, PackageIsCheckedBeforeTheDriver) {
  setenv("MEMC_LIBCUDA", "/nonexistent/libcuda.so.1", 1);
  plan += "launch k_scale 1 1 1 1 1 1 0 weight:1+0\n";
  memc_cuda_session *s = nullptr;
  EXPECT_EQ(open(&s), MEMC_CUDA_BAD_PACKAGE);
  EXPECT_EQ(std::string(memc_cuda_last_error()),
            dir / "launch_plan.txt" +
                ":6: weight:1+0 names a buffer the package does not have");
  plan = "memc-launch-plan 1\narch sm_90\ncopy arena+4090 input:0+0 24\n";
  EXPECT_EQ(open(&s), MEMC_CUDA_BAD_PACKAGE);
  EXPECT_NE(std::string(memc_cuda_last_error())
                .find(":3: arena+4090 (24 bytes) lies outside its buffer of "
                      "4096 bytes"),
            std::string::npos)
      << memc_cuda_last_error();
  manifest = "memc-package 1\narena_bytes 0\n";
  EXPECT_EQ(open(&s), MEMC_CUDA_BAD_PACKAGE);
  EXPECT_NE(std::string(memc_cuda_last_error()).find("compiled for the CPU"),
            std::string::npos);
}

TEST_F(Session, DamagedFilesAreRefusedBeforeTheDriver) {
  // The CPU runtime's checks on the files both kinds of package share:
  // regular files only (a FIFO must not block the open), weights.bin long
  // enough before it is mapped. The launch plan checks the manifest's sizes.
  setenv("MEMC_LIBCUDA", "/nonexistent/libcuda.so.1", 1);
  memc_cuda_session *s = nullptr;
  auto openError = [&] {
    EXPECT_EQ(memc_cuda_open(dir.path().c_str(), 0, &s),
              MEMC_CUDA_BAD_PACKAGE);
    return std::string(memc_cuda_last_error());
  };
  for (const char *file : {"weights.bin", "manifest.txt", "launch_plan.txt",
                           "constants.bin", "kernels.ptx"}) {
    writePackage();
    fs::remove(dir / file);
    ASSERT_EQ(::mkfifo((dir / file).c_str(), 0644), 0);
    EXPECT_EQ(openError(), dir / file + ": is a FIFO, not a regular file");
    fs::remove(dir / file);
    fs::create_directories(dir / file);
    EXPECT_EQ(openError(), dir / file + ": is a directory, not a regular file");
    fs::remove(dir / file);
  }
  weights = weights.substr(0, 8);
  writePackage();
  EXPECT_EQ(openError(), dir / "weights.bin" +
                             ": weight 'w' (bytes 0..36) lies outside the "
                             "file (8 bytes): the file is truncated or the "
                             "manifest damaged");
  SetUp();
  // The plan addresses arena+256: an arena_bytes of 0 cannot hold it.
  manifest.replace(manifest.find("arena_bytes 4096"), 16, "arena_bytes 0");
  writePackage();
  EXPECT_NE(openError().find("arena+256 (0 bytes) lies outside its buffer of "
                             "0 bytes"),
            std::string::npos)
      << memc_cuda_last_error();
}

TEST_F(Session, ExactlyOneArenaOfArenaBytesAndNothingAllocatedPerRun) {
  memc_cuda_session *s = nullptr;
  ASSERT_EQ(open(&s), MEMC_CUDA_SUCCESS) << memc_cuda_last_error();
  EXPECT_STREQ(memc_cuda_device_name(s), "Fake GPU");
  // Two driver allocations: the resident block and the arena.
  ASSERT_EQ(fakes.numAllocs(), 2);
  int arenas = 0;
  for (int i = 0; i < 2; ++i)
    arenas += fakes.allocSize(i) == 4096;
  EXPECT_EQ(arenas, 1);
  EXPECT_EQ(memc_cuda_device_bytes(s), fakes.allocSize(0) + fakes.allocSize(1));
  std::vector<float> x(6, 1.0f), y(6, 0.0f);
  const void *in[] = {x.data()};
  void *out[] = {y.data()};
  double ms = -1;
  for (int i = 0; i < 3; ++i)
    ASSERT_EQ(memc_cuda_run(s, in, out, &ms), MEMC_CUDA_SUCCESS)
        << memc_cuda_last_error();
  EXPECT_EQ(ms, 0.5);
  EXPECT_EQ(fakes.numAllocs(), 2);
  EXPECT_EQ(fakes.numLaunches(), 3);
  memc_cuda_close(s);
  EXPECT_EQ(fakes.liveAllocs(), 0);
}

TEST_F(Session, LaunchesGetResolvedAddressesAndScalars) {
  memc_cuda_session *s = nullptr;
  ASSERT_EQ(open(&s), MEMC_CUDA_SUCCESS) << memc_cuda_last_error();
  ASSERT_EQ(fakes.numImages(), 1);
  EXPECT_NE(fakes.image(0).find(".entry k_scale("), std::string::npos);
  std::vector<float> x(6), y(6);
  const void *in[] = {x.data()};
  void *out[] = {y.data()};
  ASSERT_EQ(memc_cuda_run(s, in, out, nullptr), MEMC_CUDA_SUCCESS);
  ASSERT_EQ(fakes.numLaunches(), 1);
  EXPECT_EQ(fakes.launchKernel(0), "k_scale");
  unsigned want[7] = {3, 1, 1, 128, 1, 1, 16};
  for (int d = 0; d < 7; ++d)
    EXPECT_EQ(fakes.launchDim(0, d), want[d]) << d;
  ASSERT_EQ(fakes.numParams(0), 5);
  uint64_t arena =
      fakes.allocSize(0) == 4096 ? fakes.allocPtr(0) : fakes.allocPtr(1);
  EXPECT_EQ(fakes.param(0, 0), arena + 256);
  // weight:0+12 is the weight's fourth float, uploaded at open.
  float w3;
  std::memcpy(&w3, reinterpret_cast<void *>(uintptr_t(fakes.param(0, 1))), 4);
  EXPECT_EQ(w3, 4.0f);
  uint64_t p2 = fakes.param(0, 2);
  float scale;
  std::memcpy(&scale, &p2, 4);
  EXPECT_EQ(scale, 2.5f);
  uint64_t p3 = fakes.param(0, 3);
  int32_t i32;
  std::memcpy(&i32, &p3, 4);
  EXPECT_EQ(i32, -7);
  float c1;
  std::memcpy(&c1, reinterpret_cast<void *>(uintptr_t(fakes.param(0, 4))), 4);
  EXPECT_EQ(c1, 0.75f);
  memc_cuda_close(s);
}

TEST_F(Session, GemmsRunOnCublasWithRowMajorSemantics) {
  // y[2x3] = x[2x3] * w^T (transB) and, batched, nothing else: the fake
  // cuBLAS computes column-major, so the numbers check the operand swap.
  plan = "memc-launch-plan 1\narch sm_90\n"
         "gemm f32 1 0 1 2 3 3 1 input:0+0 3 6 weight:0+0 3 9 0 output:0+0 "
         "3 6\n";
  memc_cuda_session *s = nullptr;
  ASSERT_EQ(open(&s), MEMC_CUDA_SUCCESS) << memc_cuda_last_error();
  EXPECT_TRUE(fakes.workspaceSet());
  std::vector<float> x = {1, 0, 2, -1, 3, 1}, y(6, 99.0f);
  const void *in[] = {x.data()};
  void *out[] = {y.data()};
  ASSERT_EQ(memc_cuda_run(s, in, out, nullptr), MEMC_CUDA_SUCCESS)
      << memc_cuda_last_error();
  EXPECT_EQ(fakes.numGemms(), 1);
  const float w[9] = {1, 2, 3, 4, 5, 6, 7, 8, 9};
  for (int i = 0; i < 2; ++i)
    for (int j = 0; j < 3; ++j) {
      float want = 0;
      for (int k = 0; k < 3; ++k)
        want += x[i * 3 + k] * w[j * 3 + k];
      EXPECT_EQ(y[i * 3 + j], want) << i << "," << j;
    }
  memc_cuda_close(s);
}

TEST_F(Session, WithoutCublasTheNoCublasProgramRuns) {
  plan = "memc-launch-plan 1\narch sm_90\n"
         "gemm f32 1 0 1 2 3 3 1 input:0+0 3 6 weight:0+0 3 9 0 output:0+0 "
         "3 6\n";
  writePackage();
  setenv("MEMC_LIBCUBLAS", "/nonexistent/libcublas.so", 1);
  memc_cuda_session *s = nullptr;
  // No fallback program: the error says what is missing.
  EXPECT_EQ(memc_cuda_open(dir.path().c_str(), 0, &s), MEMC_CUDA_DEVICE_ERROR);
  EXPECT_NE(std::string(memc_cuda_last_error())
                .find("the plan has GEMMs, which run on cuBLAS, but none "
                      "loads (tried /nonexistent/libcublas.so"),
            std::string::npos)
      << memc_cuda_last_error();
  // With nocublas/, that program runs instead, and the session says so.
  fs::create_directory(dir / "nocublas");
  writeFile(dir / "nocublas/launch_plan.txt",
            "memc-launch-plan 1\narch sm_90\n"
            "launch k_scale 1 1 1 6 1 1 0 input:0+0 output:0+0 f32:1 i32:0 "
            "arena+0\n");
  writeFile(dir / "nocublas/kernels.ptx", kPTX);
  ASSERT_EQ(memc_cuda_open(dir.path().c_str(), 0, &s), MEMC_CUDA_SUCCESS)
      << memc_cuda_last_error();
  EXPECT_EQ(std::string(memc_cuda_notice(s)).rfind("cuBLAS unavailable (", 0),
            0u);
  std::vector<float> x(6), y(6);
  const void *in[] = {x.data()};
  void *out[] = {y.data()};
  ASSERT_EQ(memc_cuda_run(s, in, out, nullptr), MEMC_CUDA_SUCCESS);
  EXPECT_EQ(fakes.numGemms(), 0);
  EXPECT_EQ(fakes.numLaunches(), 1);
  memc_cuda_close(s);
  // With cuBLAS there, the main program runs and there is no notice.
  setenv("MEMC_LIBCUBLAS", MEMC_FAKE_CUBLAS, 1);
  ASSERT_EQ(memc_cuda_open(dir.path().c_str(), 0, &s), MEMC_CUDA_SUCCESS);
  EXPECT_STREQ(memc_cuda_notice(s), "");
  ASSERT_EQ(memc_cuda_run(s, in, out, nullptr), MEMC_CUDA_SUCCESS);
  EXPECT_EQ(fakes.numGemms(), 1);
  memc_cuda_close(s);
}

TEST_F(Session, SpillAndFetchGoThroughThePinnedPool) {
  plan = "memc-launch-plan 1\narch sm_90\nhost_pool_bytes 1024\n"
         "copy arena+0 input:0+0 24\n"
         "spill arena+0 host+256 24 e0\n"
         "wait e0\n"
         "fetch host+256 arena+1024 24 e1\n"
         "wait e1\n"
         "copy output:0+0 arena+1024 24\n";
  memc_cuda_session *s = nullptr;
  ASSERT_EQ(open(&s), MEMC_CUDA_SUCCESS) << memc_cuda_last_error();
  EXPECT_EQ(fakes.liveHostAllocs(), 1);
  std::vector<float> x = {1, 2, 3, 4, 5, 6}, y(6, 0.0f);
  const void *in[] = {x.data()};
  void *out[] = {y.data()};
  ASSERT_EQ(memc_cuda_run(s, in, out, nullptr), MEMC_CUDA_SUCCESS)
      << memc_cuda_last_error();
  EXPECT_EQ(y, x);
  memc_cuda_close(s);
  EXPECT_EQ(fakes.liveHostAllocs(), 0);
}

TEST_F(Session, DriverErrorsNameTheCall) {
  setenv("MEMC_FAKE_CUDA_MEM_LIMIT", "1000", 1);
  memc_cuda_session *s = nullptr;
  EXPECT_EQ(open(&s), MEMC_CUDA_DEVICE_ERROR);
  std::string e = memc_cuda_last_error();
  EXPECT_EQ(e.rfind("cuMemAlloc_v2(", 0), 0u) << e;
  EXPECT_NE(e.find("): CUDA_ERROR_OUT_OF_MEMORY: out of memory"),
            std::string::npos)
      << e;
  EXPECT_EQ(fakes.liveAllocs(), 0);

  unsetenv("MEMC_FAKE_CUDA_MEM_LIMIT");
  plan += "launch k_missing 1 1 1 1 1 1 0\n";
  EXPECT_EQ(open(&s), MEMC_CUDA_DEVICE_ERROR);
  EXPECT_STREQ(memc_cuda_last_error(),
               "cuModuleGetFunction(k_missing): CUDA_ERROR_NOT_FOUND: named "
               "symbol not found");
}

TEST_F(Session, CubinOnlyForItsOwnArchitecture) {
  writePackage();
  // The fake reads entry points from any image, so this "cubin" has them.
  writeFile(dir / "kernels.cubin", std::string("\x7f"
                                               "ELF") +
                                       kPTX);
  memc_cuda_session *s = nullptr;
  ASSERT_EQ(memc_cuda_open(dir.path().c_str(), 0, &s), MEMC_CUDA_SUCCESS)
      << memc_cuda_last_error();
  memc_cuda_close(s);
  ASSERT_EQ(fakes.numImages(), 1);
  EXPECT_EQ(fakes.image(0).rfind("ELF", 0), 0u);
  // A newer GPU JIT-compiles the PTX (the cubin would not load there), so
  // it must carry the entry point.
  setenv("MEMC_FAKE_CUDA_CC", "100", 1);
  ASSERT_EQ(memc_cuda_open(dir.path().c_str(), 0, &s), MEMC_CUDA_SUCCESS)
      << memc_cuda_last_error();
  memc_cuda_close(s);
  ASSERT_EQ(fakes.numImages(), 2);
  EXPECT_EQ(fakes.image(1).rfind(".version", 0), 0u);
  // A cubin the driver refuses (newer toolkit than driver) falls back to
  // the PTX.
  unsetenv("MEMC_FAKE_CUDA_CC");
  writeFile(dir / "kernels.cubin", std::string("\x7f"
                                               "ELF FAKE_INVALID"));
  ASSERT_EQ(memc_cuda_open(dir.path().c_str(), 0, &s), MEMC_CUDA_SUCCESS)
      << memc_cuda_last_error();
  memc_cuda_close(s);
  ASSERT_EQ(fakes.numImages(), 3);
  EXPECT_EQ(fakes.image(2).rfind(".version", 0), 0u);
  // Broken PTX is an error naming the load and the arch pair.
  writeFile(dir / "kernels.ptx", std::string(kPTX) + "// FAKE_INVALID\n");
  EXPECT_EQ(memc_cuda_open(dir.path().c_str(), 0, &s), MEMC_CUDA_DEVICE_ERROR);
  EXPECT_STREQ(memc_cuda_last_error(),
               "cuModuleLoadDataEx(kernels.ptx, sm_90 on sm_90): "
               "CUDA_ERROR_INVALID_PTX: a PTX JIT compilation failed");
}

TEST_F(Session, RunnerReportsNoDeviceWithItsExitCode) {
  setenv("MEMC_LIBCUDA", "/nonexistent/libcuda.so.1", 1);
  memc::rt::RunOptions opts;
  opts.package = writePackage();
  opts.device = "cuda";
  std::FILE *out = std::tmpfile(), *err = std::tmpfile();
  EXPECT_EQ(memc::cuda::runCudaPackage(opts, out, err), memc::ExitNoDevice);
  std::rewind(err);
  char line[512] = {};
  ASSERT_NE(std::fgets(line, sizeof line, err), nullptr);
  EXPECT_EQ(std::string(line).rfind(
                "memc-run: --device cuda: no usable GPU: no CUDA driver", 0),
            0u)
      << line;
  std::fclose(out);
  std::fclose(err);
}

TEST_F(Session, RunnerRunsOnTheFakeDriverAndReports) {
  plan = "memc-launch-plan 1\narch sm_90\ncopy output:0+0 input:0+0 24\n";
  memc::rt::RunOptions opts;
  opts.package = writePackage();
  opts.device = "cuda";
  opts.iterations = 2;
  std::FILE *out = std::tmpfile(), *err = std::tmpfile();
  EXPECT_EQ(memc::cuda::runCudaPackage(opts, out, err), memc::ExitOK);
  std::rewind(out);
  std::string text;
  char buf[256];
  while (std::fgets(buf, sizeof buf, out))
    text += buf;
  EXPECT_NE(text.find("device: Fake GPU\n"), std::string::npos) << text;
  EXPECT_NE(text.find("device_ms: 0.500\n"), std::string::npos) << text;
  EXPECT_NE(text.find("peak_arena_bytes: 4096\n"), std::string::npos) << text;
  EXPECT_NE(text.find("result: ran (no reference outputs)"), std::string::npos);
  std::fclose(out);
  std::fclose(err);
}

#ifdef MEMC_RUN_PATH
TEST_F(Session, MemcRunBinaryExitsWithNoDevice) {
  std::string cmd = "MEMC_LIBCUDA=/nonexistent/libcuda.so.1 " +
                    std::string(MEMC_RUN_PATH) + " " + writePackage() +
                    " --device cuda >/dev/null 2>&1";
  int status = std::system(cmd.c_str());
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), memc::ExitNoDevice);
  // A CUDA package on the CPU is refused with a clear pointer.
  cmd = std::string(MEMC_RUN_PATH) + " " + dir.path() + " 2>&1";
  std::FILE *p = popen(cmd.c_str(), "r");
  char line[512] = {};
  ASSERT_NE(std::fgets(line, sizeof line, p), nullptr);
  EXPECT_NE(std::string(line).find("run it with memc-run --device cuda"),
            std::string::npos)
      << line;
  EXPECT_EQ(WEXITSTATUS(pclose(p)), memc::ExitBadPackage);
}
#endif

/// A decode package's two programs: the decode step opens first and owns
/// the weight and the KV cache; the prefill, opened sharing it, launches on
/// the same addresses and allocates neither.
TEST_F(Session, SharingSessionsUseOneCopyOfWeightsAndCaches) {
  setenv("MEMC_FAKE_CUDA_POISON", "1", 1);
  manifest = "memc-package 1\nmodel m.onnx\ntarget cuda\narena_bytes 4096\n"
             "input x f32 2x3\ninput position i64 scalar\n"
             "weight w f32 3x3 0 36\nkv key.0 f32 2x8x4\noutput y f32 2x3\n";
  plan = "memc-launch-plan 1\narch sm_90\nhost_pool_bytes 0\n"
         "constant 0 0 8\n"
         "launch k_scale 1 1 1 32 1 1 0 weight:0+0 kv:0+16 f32:1 i32:0 "
         "input:1+0\n";
  std::string step = writePackage();
  TempDir other;
  fs::copy(step, other.path(), fs::copy_options::recursive);
  memc_cuda_session *a = nullptr, *b = nullptr;
  ASSERT_EQ(memc_cuda_open(step.c_str(), 0, &a), MEMC_CUDA_SUCCESS)
      << memc_cuda_last_error();
  ASSERT_EQ(memc_cuda_open_sharing(other.path().c_str(), 0, a, &b),
            MEMC_CUDA_SUCCESS)
      << memc_cuda_last_error();
  // The cache is zero at open, not the poisoned bytes of the allocation.
  std::vector<float> x(6), y(6);
  int64_t position = 3;
  const void *in[] = {x.data(), &position};
  void *out[] = {y.data()};
  ASSERT_EQ(memc_cuda_run(a, in, out, nullptr), MEMC_CUDA_SUCCESS);
  ASSERT_EQ(memc_cuda_run(b, in, out, nullptr), MEMC_CUDA_SUCCESS);
  ASSERT_EQ(fakes.numLaunches(), 2);
  EXPECT_EQ(fakes.param(1, 0), fakes.param(0, 0));
  EXPECT_EQ(fakes.param(1, 1), fakes.param(0, 1));
  EXPECT_NE(fakes.param(1, 4), fakes.param(0, 4)); // each its own input
  float cache[2 * 8 * 4];
  std::memcpy(cache,
              reinterpret_cast<void *>(uintptr_t(fakes.param(0, 1) - 16)),
              sizeof cache);
  for (float v : cache)
    ASSERT_EQ(v, 0.0f);
  // Its resident block holds no weight and no cache: 256-byte slots for
  // the constant, the two inputs and the output.
  EXPECT_EQ(memc_cuda_device_bytes(b), 4 * 256u + 4096u);
  EXPECT_GT(memc_cuda_device_bytes(a), memc_cuda_device_bytes(b) + 256u);
  memc_cuda_close(b);
  memc_cuda_close(a);
  unsetenv("MEMC_FAKE_CUDA_POISON");
}

TEST_F(Session, SharingRefusesOtherWeights) {
  manifest = "memc-package 1\nmodel m.onnx\ntarget cuda\narena_bytes 4096\n"
             "input x f32 2x3\nweight w f32 3x3 0 36\nkv key.0 f32 2x8x4\n"
             "output y f32 2x3\n";
  std::string step = writePackage();
  TempDir other;
  fs::copy(step, other.path(), fs::copy_options::recursive);
  weights = floats({1, 2, 3, 4, 5, 6, 7, 8, 10});
  writeFile(fs::path(other.path()) / "weights.bin", weights);
  memc_cuda_session *a = nullptr, *b = nullptr;
  ASSERT_EQ(memc_cuda_open(step.c_str(), 0, &a), MEMC_CUDA_SUCCESS)
      << memc_cuda_last_error();
  int allocs = fakes.numAllocs();
  EXPECT_EQ(memc_cuda_open_sharing(other.path().c_str(), 0, a, &b),
            MEMC_CUDA_BAD_PACKAGE);
  EXPECT_EQ(b, nullptr);
  EXPECT_NE(std::string(memc_cuda_last_error())
                .find("its weights or KV caches are not those of"),
            std::string::npos)
      << memc_cuda_last_error();
  EXPECT_EQ(fakes.numAllocs(), allocs);
  memc_cuda_close(a);
}

} // namespace
