//===- PackageRunnerTest.cpp - Package loading and memc-run end to end ----===//
//
// Packages are assembled in temporary directories from the fixture model.so
// files (FixtureModels.cpp) and manifests written here, then loaded and run
// through the same library calls memc-run's main makes, and, when the build
// has it, through the memc-run binary itself (which checks that its
// -rdynamic exports satisfy a dlopen'ed program).
//
//===----------------------------------------------------------------------===//

#include "Package.h"
#include "Runner.h"
#include "TensorIO.h"
#include "memc/ExitCodes.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <sys/wait.h>
#include <unistd.h>

using namespace memc;
using namespace memc::rt;
namespace fs = std::filesystem;

namespace {

/// A fresh directory, removed with everything in it at scope exit.
class TempDir {
public:
  TempDir() {
    const char *tmp = std::getenv("TMPDIR");
    std::string tmpl =
        std::string(tmp && *tmp ? tmp : "/tmp") + "/memc-rt-test-XXXXXX";
    std::vector<char> buf(tmpl.begin(), tmpl.end());
    buf.push_back('\0');
    char *made = ::mkdtemp(buf.data());
    EXPECT_NE(made, nullptr);
    path_ = made ? made : "/nonexistent";
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  const std::string &path() const { return path_; }
  std::string operator/(const std::string &name) const {
    return path_ + "/" + name;
  }

private:
  std::string path_;
};

void writeFile(const std::string &path, const std::string &bytes) {
  std::ofstream f(path, std::ios::binary);
  f.write(bytes.data(), std::streamsize(bytes.size()));
  ASSERT_TRUE(f.good()) << path;
}

void copyFile(const std::string &from, const std::string &to) {
  std::error_code ec;
  fs::copy_file(from, to, fs::copy_options::overwrite_existing, ec);
  ASSERT_FALSE(ec) << from << " -> " << to << ": " << ec.message();
}

std::string floatsBytes(std::vector<float> v, size_t padTo = 0) {
  std::string s(reinterpret_cast<const char *>(v.data()), v.size() * 4);
  if (s.size() < padTo)
    s.resize(padTo, '\0');
  return s;
}

Tensor makeF32(std::vector<int64_t> dims, std::vector<float> values) {
  Tensor t;
  t.dtype = DType::F32;
  t.dims = std::move(dims);
  EXPECT_TRUE(t.allocate());
  EXPECT_EQ(values.size(), t.numElements());
  std::memcpy(t.buffer.data(), values.data(), values.size() * 4);
  return t;
}

void writeTensor(const std::string &path, const Tensor &t) {
  std::string error;
  ASSERT_TRUE(writeTensorFile(path, t, "t", error)) << error;
}

const char kAddManifest[] = "memc-package 1\n"
                            "model add.onnx\n"
                            "arena_bytes 0\n"
                            "input a f32 2x3\n"
                            "input b f32 2x3\n"
                            "weight w f32 3 0 12\n"
                            "output y f32 2x3\n";

/// A package of the FIXTURE_ADD program with w = {10, 20, 30}.
void makeAddPackage(const std::string &dir,
                    const std::string &manifest = kAddManifest,
                    const char *so = MEMC_TEST_MODEL_ADD) {
  fs::create_directories(dir);
  copyFile(so, dir + "/model.so");
  writeFile(dir + "/manifest.txt", manifest);
  writeFile(dir + "/weights.bin", floatsBytes({10, 20, 30}, 64));
}

/// Data for the add package: y = a + b + w.
void makeAddData(const std::string &dir, bool rightAnswer = true) {
  fs::create_directories(dir);
  writeTensor(dir + "/input_0.pb", makeF32({2, 3}, {1, 2, 3, 4, 5, 6}));
  writeTensor(dir + "/input_1.pb",
              makeF32({2, 3}, {0.5f, 0.5f, 0.5f, -1, -1, -1}));
  std::vector<float> y = {11.5f, 22.5f, 33.5f, 13, 24, 35};
  if (!rightAnswer)
    y[4] = 24.1f;
  writeTensor(dir + "/output_0.pb", makeF32({2, 3}, y));
}

struct RunResult {
  int code;
  std::string out, err;
};

std::string slurp(std::FILE *f) {
  std::rewind(f);
  std::string s;
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, f)) > 0)
    s.append(buf, n);
  std::fclose(f);
  return s;
}

/// memc-run's main, in-process, with argv = {"memc-run", args...}.
RunResult run(std::vector<std::string> args) {
  std::vector<const char *> argv = {"memc-run"};
  for (const std::string &a : args)
    argv.push_back(a.c_str());
  std::FILE *out = std::tmpfile(), *err = std::tmpfile();
  int code = memcRunMain(int(argv.size()), argv.data(), out, err);
  return {code, slurp(out), slurp(err)};
}

bool contains(const std::string &haystack, const std::string &needle) {
  return haystack.find(needle) != std::string::npos;
}

std::string lastLine(const std::string &s) {
  std::string t = s;
  while (!t.empty() && t.back() == '\n')
    t.pop_back();
  size_t nl = t.rfind('\n');
  return nl == std::string::npos ? t : t.substr(nl + 1);
}

} // namespace

//===----------------------------------------------------------------------===//
// Package loading
//===----------------------------------------------------------------------===//

TEST(Package, LoadsAndCallsTheEntry) {
  TempDir tmp;
  std::string dir = tmp / "pkg";
  makeAddPackage(dir);
  Package pkg;
  std::string error;
  ASSERT_TRUE(pkg.load(dir, error)) << error;
  ASSERT_NE(pkg.entry(), nullptr);
  EXPECT_EQ(pkg.weightsBytes(), 12u);
  const float *w = static_cast<const float *>(pkg.weightData(0));
  EXPECT_EQ(w[2], 30.0f);

  float a[6] = {1, 1, 1, 1, 1, 1}, b[6] = {0, 1, 2, 3, 4, 5}, y[6] = {};
  void *args[] = {a, b, pkg.weightData(0), y};
  pkg.entry()(args);
  EXPECT_EQ(y[0], 11.0f);
  EXPECT_EQ(y[5], 36.0f);
}

TEST(Package, ErrorsNameTheFile) {
  TempDir tmp;
  Package pkg;
  std::string error;

  EXPECT_FALSE(pkg.load(tmp / "missing", error));
  EXPECT_EQ(error.rfind(tmp / "missing" + ": no such package directory", 0), 0u)
      << error;

  writeFile(tmp / "file", "x");
  EXPECT_FALSE(pkg.load(tmp / "file", error));
  EXPECT_TRUE(contains(error, "not a package directory")) << error;

  fs::create_directories(tmp / "empty");
  EXPECT_FALSE(pkg.load(tmp / "empty", error));
  EXPECT_EQ(error.rfind(tmp / "empty/manifest.txt: cannot open", 0), 0u)
      << error;

  std::string bad = tmp / "badmanifest";
  makeAddPackage(bad, "memc-package 1\ninput a f32 2x\n");
  EXPECT_FALSE(pkg.load(bad + "/", error)); // a trailing slash is fine
  EXPECT_EQ(error.rfind(bad + "/manifest.txt:2: bad dims", 0), 0u) << error;

  std::string range = tmp / "range";
  makeAddPackage(range,
                 "memc-package 1\nweight w f32 32 0 128\noutput y f32 1\n");
  EXPECT_FALSE(pkg.load(range, error));
  EXPECT_EQ(error.rfind(range + "/weights.bin: weight 'w'", 0), 0u) << error;
  EXPECT_TRUE(contains(error, "outside the file (64 bytes)")) << error;

  std::string noWeights = tmp / "noweights";
  makeAddPackage(noWeights);
  fs::remove(noWeights + "/weights.bin");
  EXPECT_FALSE(pkg.load(noWeights, error));
  EXPECT_EQ(error.rfind(noWeights + "/weights.bin: cannot open", 0), 0u)
      << error;

  std::string noSo = tmp / "noso";
  makeAddPackage(noSo);
  fs::remove(noSo + "/model.so");
  EXPECT_FALSE(pkg.load(noSo, error));
  EXPECT_EQ(error.rfind(noSo + "/model.so: cannot open", 0), 0u) << error;

  std::string junkSo = tmp / "junkso";
  makeAddPackage(junkSo);
  writeFile(junkSo + "/model.so", "not an ELF file");
  EXPECT_FALSE(pkg.load(junkSo, error));
  EXPECT_EQ(error.rfind(junkSo + "/model.so: cannot load: ", 0), 0u) << error;

  std::string noEntry = tmp / "noentry";
  makeAddPackage(noEntry, kAddManifest, MEMC_TEST_MODEL_NOENTRY);
  EXPECT_FALSE(pkg.load(noEntry, error));
  EXPECT_EQ(error, noEntry + "/model.so: does not export memc_entry");
}

TEST(Package, NoWeightsNeedsNoWeightsFile) {
  TempDir tmp;
  std::string dir = tmp / "pkg";
  makeAddPackage(dir, "memc-package 1\ninput a f32 2x3\noutput y f32 2x3\n",
                 MEMC_TEST_MODEL_LEAK);
  fs::remove(dir + "/weights.bin");
  Package pkg;
  std::string error;
  EXPECT_TRUE(pkg.load(dir, error)) << error;
  EXPECT_EQ(pkg.weightsBytes(), 0u);
}

//===----------------------------------------------------------------------===//
// Command line
//===----------------------------------------------------------------------===//

TEST(RunOptions, Parses) {
  RunOptions o;
  std::string error;
  const char *argv[] = {"memc-run", "pkg", "--data", "d",    "--iterations=3",
                        "--warmup", "0",   "--rtol", "1e-2", "--atol=0",
                        "--device", "cpu", "--seed", "42",   "-q"};
  ASSERT_EQ(parseRunOptions(15, argv, o, error), ExitOK) << error;
  EXPECT_EQ(o.package, "pkg");
  EXPECT_EQ(o.dataDir, "d");
  EXPECT_EQ(o.iterations, 3);
  EXPECT_EQ(o.warmup, 0);
  EXPECT_EQ(o.rtol, 1e-2);
  EXPECT_EQ(o.atol, 0);
  EXPECT_EQ(o.device, "cpu");
  EXPECT_EQ(o.seed, 42u);
  EXPECT_TRUE(o.quiet);

  const char *defaults[] = {"memc-run", "pkg"};
  ASSERT_EQ(parseRunOptions(2, defaults, o, error), ExitOK);
  EXPECT_EQ(o.iterations, 10);
  EXPECT_EQ(o.warmup, 1);
  EXPECT_EQ(o.rtol, 1e-3);
  EXPECT_EQ(o.atol, 1e-5);
  EXPECT_EQ(o.dataDir, "");
}

TEST(RunOptions, RejectsBadCommandLines) {
  struct Bad {
    std::vector<const char *> args;
    const char *fragment;
  } cases[] = {
      {{}, "missing the package directory"},
      {{"pkg", "--bogus"}, "unknown option '--bogus'"},
      {{"pkg", "-x"}, "unknown option '-x'"},
      {{"pkg", "other"}, "unexpected argument 'other'"},
      {{"pkg", "--data"}, "--data needs a value"},
      {{"pkg", "--iterations", "0"}, "--iterations '0'"},
      {{"pkg", "--iterations", "ten"}, "--iterations 'ten'"},
      {{"pkg", "--iterations", "5x"}, "--iterations '5x'"},
      {{"pkg", "--warmup=-1"}, "--warmup '-1'"},
      {{"pkg", "--rtol", "nan"}, "--rtol 'nan'"},
      {{"pkg", "--atol", "-1e-5"}, "--atol '-1e-5'"},
      {{"pkg", "--device", "gpu"}, "--device 'gpu' is not cpu or cuda"},
      {{"pkg", "--seed", "-3"}, "--seed '-3'"},
      {{"pkg", "--seed", "99999999999999999999999"}, "--seed"},
  };
  for (const Bad &c : cases) {
    std::vector<const char *> argv = {"memc-run"};
    argv.insert(argv.end(), c.args.begin(), c.args.end());
    RunOptions o;
    std::string error;
    EXPECT_EQ(parseRunOptions(int(argv.size()), argv.data(), o, error),
              ExitUsage)
        << c.fragment;
    EXPECT_TRUE(contains(error, c.fragment))
        << "'" << error << "' lacks '" << c.fragment << "'";
  }
  RunResult r = run({"--nope"});
  EXPECT_EQ(r.code, ExitUsage);
  EXPECT_EQ(r.err.rfind("memc-run: unknown option '--nope'", 0), 0u) << r.err;
  r = run({"--help"});
  EXPECT_EQ(r.code, ExitOK);
  EXPECT_TRUE(contains(r.out, "usage: memc-run PKG")) << r.out;
}

//===----------------------------------------------------------------------===//
// Running
//===----------------------------------------------------------------------===//

TEST(Runner, RandomInputsReportWithoutComparing) {
  TempDir tmp;
  std::string dir = tmp / "pkg";
  makeAddPackage(dir);
  RunResult r = run({dir, "--iterations", "3", "--seed", "7"});
  EXPECT_EQ(r.code, ExitOK) << r.err;
  EXPECT_EQ(r.err, "");
  EXPECT_TRUE(contains(r.out, "package: " + dir + "\n")) << r.out;
  EXPECT_TRUE(contains(r.out, "\ninputs: 2\n")) << r.out;
  EXPECT_TRUE(contains(r.out, "\nlatency_ms: ")) << r.out;
  EXPECT_TRUE(contains(r.out, "\nlatency_min_ms: ")) << r.out;
  // The fixture's one temporary: 2x3 floats through the tracked allocator.
  EXPECT_TRUE(contains(r.out, "\npeak_arena_bytes: 24\n")) << r.out;
  EXPECT_TRUE(contains(r.out, "\nweights_bytes: 12\n")) << r.out;
  EXPECT_EQ(lastLine(r.out), "result: ran (no reference outputs)");
}

TEST(Runner, MatchingReference) {
  TempDir tmp;
  makeAddPackage(tmp / "pkg");
  makeAddData(tmp / "data");
  RunResult r = run({tmp / "pkg", "--data", tmp / "data"});
  EXPECT_EQ(r.code, ExitOK) << r.out << r.err;
  EXPECT_TRUE(contains(r.out, "output y: max_abs_err 0 max_rel_err 0 "
                              "mismatches 0/6 ok\n"))
      << r.out;
  EXPECT_EQ(lastLine(r.out), "result: match");

  // -q: only the result line.
  r = run({tmp / "pkg", "--data=" + tmp / "data", "-q"});
  EXPECT_EQ(r.code, ExitOK);
  EXPECT_EQ(r.out, "result: match\n");
}

TEST(Runner, MismatchingReference) {
  TempDir tmp;
  makeAddPackage(tmp / "pkg");
  makeAddData(tmp / "data", /*rightAnswer=*/false);
  RunResult r = run({tmp / "pkg", "--data", tmp / "data"});
  EXPECT_EQ(r.code, ExitMismatch);
  EXPECT_TRUE(contains(r.out, "output y: max_abs_err 0.1")) << r.out;
  EXPECT_TRUE(contains(r.out, "mismatches 1/6 MISMATCH\n")) << r.out;
  EXPECT_EQ(lastLine(r.out), "result: MISMATCH (1 of 1 outputs)");
  // A looser tolerance accepts it (0.1 <= 0 + 0.01 * 24.1).
  r = run({tmp / "pkg", "--data", tmp / "data", "--rtol", "0.01"});
  EXPECT_EQ(r.code, ExitOK) << r.out;
  // -q still shows the mismatching output.
  r = run({tmp / "pkg", "--data", tmp / "data", "-q"});
  EXPECT_EQ(r.code, ExitMismatch);
  EXPECT_TRUE(contains(r.out, "output y: ")) << r.out;
}

TEST(Runner, ReferenceOfTheWrongShapeIsAMismatch) {
  TempDir tmp;
  makeAddPackage(tmp / "pkg");
  makeAddData(tmp / "data");
  writeTensor(tmp / "data/output_0.pb", makeF32({3, 2}, {1, 2, 3, 4, 5, 6}));
  RunResult r = run({tmp / "pkg", "--data", tmp / "data"});
  EXPECT_EQ(r.code, ExitMismatch);
  EXPECT_TRUE(contains(r.out, "output y: f32 2x3 vs reference f32 3x2 "
                              "MISMATCH"))
      << r.out;
}

TEST(Runner, BadDataIsReportedBeforeRunning) {
  TempDir tmp;
  std::string pkg = tmp / "pkg", data = tmp / "data";
  makeAddPackage(pkg);

  RunResult r = run({pkg, "--data", tmp / "nodata"});
  EXPECT_EQ(r.code, ExitBadData);
  EXPECT_EQ(r.err,
            "memc-run: " + tmp / "nodata" + ": no such data directory\n");
  EXPECT_EQ(r.out, "");

  makeAddData(data);
  fs::remove(data + "/input_1.pb");
  r = run({pkg, "--data", data});
  EXPECT_EQ(r.code, ExitBadData);
  EXPECT_EQ(r.err.rfind("memc-run: " + data + "/input_1.pb: cannot open", 0),
            0u)
      << r.err;

  makeAddData(data);
  writeTensor(data + "/input_0.pb", makeF32({6}, {1, 2, 3, 4, 5, 6}));
  r = run({pkg, "--data", data});
  EXPECT_EQ(r.code, ExitBadData);
  EXPECT_EQ(r.err, "memc-run: " + data +
                       "/input_0.pb: f32 6 does not match the package's "
                       "input 'a' (f32 2x3)\n");

  makeAddData(data);
  writeFile(data + "/input_0.pb", "\xff\xff\xff garbage");
  r = run({pkg, "--data", data});
  EXPECT_EQ(r.code, ExitBadData);
  EXPECT_EQ(r.err.rfind("memc-run: " + data + "/input_0.pb: ", 0), 0u) << r.err;

  makeAddData(data);
  writeTensor(data + "/input_2.pb", makeF32({1}, {1}));
  r = run({pkg, "--data", data});
  EXPECT_EQ(r.code, ExitBadData);
  EXPECT_TRUE(contains(r.err, "input_2.pb: the package has only 2 input(s)"))
      << r.err;
  fs::remove(data + "/input_2.pb");

  writeFile(data + "/output_0.pb", "");
  r = run({pkg, "--data", data});
  EXPECT_EQ(r.code, ExitBadData);
  EXPECT_TRUE(contains(r.err, "output_0.pb: tensor has no data_type")) << r.err;
}

TEST(Runner, BadPackageAndCudaDevice) {
  TempDir tmp;
  RunResult r = run({tmp / "none"});
  EXPECT_EQ(r.code, ExitBadPackage);
  EXPECT_EQ(lastLine(r.err).rfind("memc-run: " + tmp / "none", 0), 0u) << r.err;

  makeAddPackage(tmp / "pkg");
  r = run({tmp / "pkg", "--device", "cuda"});
  EXPECT_EQ(r.code, ExitUsage);
  EXPECT_EQ(r.err, "memc-run: --device cuda: " + tmp / "pkg" +
                       ": this package was compiled for the CPU target\n");
}

TEST(Runner, PlannedArenaIsPassedAndReported) {
  TempDir tmp;
  std::string manifest = kAddManifest;
  manifest.replace(manifest.find("arena_bytes 0"), 13, "arena_bytes 4096");
  makeAddPackage(tmp / "pkg", manifest, MEMC_TEST_MODEL_ARENA);
  makeAddData(tmp / "data");
  RunResult r = run({tmp / "pkg", "--data", tmp / "data"});
  EXPECT_EQ(r.code, ExitOK) << r.out << r.err;
  EXPECT_TRUE(contains(r.out, "\npeak_arena_bytes: 4096\n")) << r.out;
  EXPECT_EQ(lastLine(r.out), "result: match");
}

TEST(Runner, ProgramCallingSgemm) {
  TempDir tmp;
  std::string pkg = tmp / "pkg", data = tmp / "data";
  fs::create_directories(pkg);
  copyFile(MEMC_TEST_MODEL_MATMUL, pkg + "/model.so");
  writeFile(pkg + "/manifest.txt", "memc-package 1\narena_bytes 0\n"
                                   "input x f32 2x4\n"
                                   "weight w f32 4x3 0 48\n"
                                   "output y f32 2x3\n");
  writeFile(pkg + "/weights.bin",
            floatsBytes({1, 0, 0, 0, 1, 0, 0, 0, 1, 1, 1, 1}, 64));
  fs::create_directories(data);
  writeTensor(data + "/input_0.pb", makeF32({2, 4}, {1, 2, 3, 4, 5, 6, 7, 8}));
  writeTensor(data + "/output_0.pb", makeF32({2, 3}, {5, 6, 7, 13, 14, 15}));
  RunResult r = run({pkg, "--data", data, "--iterations", "2"});
  EXPECT_EQ(r.code, ExitOK) << r.out << r.err;
  EXPECT_TRUE(contains(r.out, "\npeak_arena_bytes: 0\n")) << r.out;
  EXPECT_TRUE(contains(r.out, "\nweights_bytes: 48\n")) << r.out;
  EXPECT_EQ(lastLine(r.out), "result: match");
}

TEST(Runner, LeakIsMeasuredPerCallAndReported) {
  TempDir tmp;
  makeAddPackage(tmp / "pkg",
                 "memc-package 1\ninput a f32 2x3\noutput y f32 2x3\n",
                 MEMC_TEST_MODEL_LEAK);
  RunResult r = run({tmp / "pkg", "--iterations", "5"});
  EXPECT_EQ(r.code, ExitOK);
  // 100 bytes per call, not 600 after six calls.
  EXPECT_TRUE(contains(r.out, "\npeak_arena_bytes: 100\n")) << r.out;
  EXPECT_TRUE(contains(r.err, "did not free 100 bytes in one call")) << r.err;
}

//===----------------------------------------------------------------------===//
// The memc-run binary
//===----------------------------------------------------------------------===//

#ifdef MEMC_RUN_PATH
namespace {
int shell(const std::string &cmd) {
  int status = std::system(cmd.c_str());
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}
std::string readAll(const std::string &path) {
  std::ifstream f(path);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}
} // namespace

TEST(MemcRunBinary, ExportsTheRuntimeToPrograms) {
  // The matmul program calls memc_rt_sgemm, which memc-run itself never
  // calls: this passes only if the linker kept it and -rdynamic exported it.
  TempDir tmp;
  std::string pkg = tmp / "pkg", data = tmp / "data";
  fs::create_directories(pkg);
  copyFile(MEMC_TEST_MODEL_MATMUL, pkg + "/model.so");
  writeFile(pkg + "/manifest.txt", "memc-package 1\narena_bytes 0\n"
                                   "input x f32 2x4\n"
                                   "weight w f32 4x3 0 48\n"
                                   "output y f32 2x3\n");
  writeFile(pkg + "/weights.bin",
            floatsBytes({1, 0, 0, 0, 1, 0, 0, 0, 1, 1, 1, 1}, 64));
  fs::create_directories(data);
  writeTensor(data + "/input_0.pb", makeF32({2, 4}, {1, 2, 3, 4, 5, 6, 7, 8}));
  writeTensor(data + "/output_0.pb", makeF32({2, 3}, {5, 6, 7, 13, 14, 15}));
  std::string out = tmp / "out", err = tmp / "err";
  int code = shell(std::string("'") + MEMC_RUN_PATH + "' '" + pkg +
                   "' --data '" + data + "' >'" + out + "' 2>'" + err + "'");
  EXPECT_EQ(code, ExitOK) << readAll(out) << readAll(err);
  EXPECT_EQ(lastLine(readAll(out)), "result: match") << readAll(err);

  // And the add program (tracked allocation) with a wrong reference.
  makeAddPackage(tmp / "add");
  makeAddData(tmp / "adddata", false);
  code = shell(std::string("'") + MEMC_RUN_PATH + "' '" + tmp / "add" +
               "' --data '" + tmp / "adddata" + "' >'" + out + "' 2>'" + err +
               "'");
  EXPECT_EQ(code, ExitMismatch) << readAll(out) << readAll(err);
  EXPECT_TRUE(contains(readAll(out), "peak_arena_bytes: 24\n"));

  code = shell(std::string("'") + MEMC_RUN_PATH + "' '" + tmp / "none" +
               "' >'" + out + "' 2>'" + err + "'");
  EXPECT_EQ(code, ExitBadPackage);
}

TEST(MemcRunBinary, ProgramCrashIsOneLineAndExitInternal) {
  TempDir tmp;
  makeAddPackage(tmp / "pkg",
                 "memc-package 1\ninput a f32 2x3\noutput y f32 2x3\n",
                 MEMC_TEST_MODEL_CRASH);
  std::string out = tmp / "out", err = tmp / "err";
  int code = shell(std::string("'") + MEMC_RUN_PATH + "' '" + tmp / "pkg" +
                   "' >'" + out + "' 2>'" + err + "'");
  EXPECT_EQ(code, ExitInternal) << readAll(err);
  EXPECT_EQ(lastLine(readAll(err))
                .rfind("memc-run: " + tmp / "pkg" +
                           "/model.so: the compiled program crashed "
                           "(signal SIG",
                       0),
            0u)
      << readAll(err);
  EXPECT_TRUE(contains(readAll(out), "inputs: 1\n")) << readAll(out);
}
#endif
