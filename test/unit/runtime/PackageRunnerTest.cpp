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
#include "memc/ExitCodes.h"
#include "memc/Runtime/InputFile.h"
#include "memc/Runtime/TensorIO.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <elf.h>
#include <filesystem>
#include <fstream>
#include <functional>
#include <link.h>
#include <random>
#include <sstream>
#include <sys/stat.h>
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
  EXPECT_EQ(error, junkSo + "/model.so: not an ELF shared object (no ELF "
                            "magic number)");

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
// Damaged packages: one line naming the file, never a hang or a signal
//===----------------------------------------------------------------------===//

namespace {

/// Loads `dir`; the error ("" when it loaded), which must be one line.
std::string loadError(const std::string &dir) {
  Package pkg;
  std::string error;
  if (pkg.load(dir, error))
    return "";
  EXPECT_EQ(error.find('\n'), std::string::npos) << error;
  return error;
}

std::string readBytes(const std::string &path) {
  std::ifstream f(path, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

void replaceWithFifo(const std::string &path) {
  fs::remove(path);
  ASSERT_EQ(::mkfifo(path.c_str(), 0644), 0) << path;
}

/// `n` bytes from a fixed-seed generator: the same "random" file every run.
std::string randomBytes(size_t n, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::string s(n, '\0');
  for (char &c : s)
    c = char(rng() & 0xff);
  return s;
}

const char kDamaged[] = "; the package is damaged: recompile it";

} // namespace

TEST(DamagedPackage, FifoInsteadOfAFileIsRefusedWithoutBlocking) {
  // A FIFO without a writer blocks a plain open(2) forever.
  for (const char *file : {"weights.bin", "manifest.txt", "model.so"}) {
    TempDir tmp;
    std::string dir = tmp / "pkg";
    makeAddPackage(dir);
    replaceWithFifo(dir + "/" + file);
    EXPECT_EQ(loadError(dir),
              dir + "/" + file + ": is a FIFO, not a regular file");
  }
  // Even where the package needs no weights, a FIFO is no weights file.
  TempDir tmp;
  std::string dir = tmp / "pkg";
  makeAddPackage(dir, "memc-package 1\ninput a f32 2x3\noutput y f32 2x3\n",
                 MEMC_TEST_MODEL_LEAK);
  replaceWithFifo(dir + "/weights.bin");
  EXPECT_EQ(loadError(dir),
            dir + "/weights.bin: is a FIFO, not a regular file");
}

TEST(DamagedPackage, DirectoryOrDeviceInsteadOfAFile) {
  for (const char *file : {"weights.bin", "manifest.txt", "model.so"}) {
    TempDir tmp;
    std::string dir = tmp / "pkg";
    makeAddPackage(dir);
    fs::remove(dir + "/" + file);
    fs::create_directories(dir + "/" + file);
    EXPECT_EQ(loadError(dir),
              dir + "/" + file + ": is a directory, not a regular file");
    // A symbolic link is followed: what counts is the file it names.
    fs::remove(dir + "/" + file);
    fs::create_symlink("/dev/zero", dir + "/" + file);
    EXPECT_EQ(loadError(dir), dir + "/" + file +
                                  ": is a character device, not a regular "
                                  "file");
  }
}

TEST(DamagedPackage, TruncatedSharedObjectIsNeverMapped) {
  std::string so = readBytes(MEMC_TEST_MODEL_ADD);
  ASSERT_GT(so.size(), 4096u);
  // Half (the acceptance test's case), one byte short (only the section
  // header table is cut), inside the program headers, inside the header.
  for (size_t keep : {so.size() / 2, so.size() - 1, size_t(100), size_t(40)}) {
    TempDir tmp;
    std::string dir = tmp / "pkg";
    makeAddPackage(dir);
    writeFile(dir + "/model.so", so.substr(0, keep));
    std::string error = loadError(dir);
    EXPECT_EQ(error.rfind(dir + "/model.so: truncated or damaged: ", 0), 0u)
        << keep << ": " << error;
    EXPECT_TRUE(contains(error, "lies past the end of the file (" +
                                    std::to_string(keep) + " bytes)"))
        << error;
  }
}

TEST(DamagedPackage, GarbageSharedObject) {
  TempDir tmp;
  std::string dir = tmp / "pkg";
  makeAddPackage(dir);
  writeFile(dir + "/model.so", randomBytes(20000, 1));
  EXPECT_EQ(loadError(dir), dir + "/model.so: not an ELF shared object (no "
                                  "ELF magic number)");
  writeFile(dir + "/model.so", "");
  EXPECT_EQ(loadError(dir),
            dir + "/model.so: not an ELF shared object (0 bytes)");
  // A valid ELF header over garbage: whatever is wrong is named, the loader
  // never sees it.
  std::string so = readBytes(MEMC_TEST_MODEL_ADD);
  for (uint64_t seed = 1; seed <= 20; ++seed) {
    std::string damaged = so.substr(0, sizeof(ElfW(Ehdr))) +
                          randomBytes(so.size() - sizeof(ElfW(Ehdr)), seed);
    writeFile(dir + "/model.so", damaged);
    std::string error = loadError(dir);
    EXPECT_EQ(error.rfind(dir + "/model.so: ", 0), 0u) << error;
    EXPECT_TRUE(contains(error, "damaged")) << error;
  }
}

TEST(DamagedPackage, SharedObjectForAnotherHostOrWithBadTables) {
  std::string so = readBytes(MEMC_TEST_MODEL_ADD);
  ElfW(Ehdr) eh;
  ASSERT_GE(so.size(), sizeof eh);
  std::memcpy(&eh, so.data(), sizeof eh);
  TempDir tmp;
  std::string dir = tmp / "pkg";
  makeAddPackage(dir);

  std::string other = so;
  reinterpret_cast<ElfW(Ehdr) *>(other.data())->e_machine = EM_S390;
  writeFile(dir + "/model.so", other);
  EXPECT_TRUE(contains(loadError(dir), "/model.so: was compiled for s390"))
      << loadError(dir);

  other = so;
  other[EI_CLASS] = ELFCLASS32;
  writeFile(dir + "/model.so", other);
  EXPECT_TRUE(contains(loadError(dir), "/model.so: is a 32-bit ELF file"))
      << loadError(dir);

  // The dynamic section's string table moved outside every segment.
  other = so;
  bool patched = false;
  for (size_t i = 0; i < eh.e_phnum; ++i) {
    ElfW(Phdr) ph;
    std::memcpy(&ph, so.data() + eh.e_phoff + i * sizeof ph, sizeof ph);
    if (ph.p_type != PT_DYNAMIC)
      continue;
    for (size_t at = ph.p_offset;
         at + sizeof(ElfW(Dyn)) <= ph.p_offset + ph.p_filesz;
         at += sizeof(ElfW(Dyn))) {
      ElfW(Dyn) d;
      std::memcpy(&d, other.data() + at, sizeof d);
      if (d.d_tag == DT_STRTAB) {
        d.d_un.d_ptr = 0x7ff000000000;
        std::memcpy(other.data() + at, &d, sizeof d);
        patched = true;
      }
    }
  }
  ASSERT_TRUE(patched);
  writeFile(dir + "/model.so", other);
  EXPECT_TRUE(contains(loadError(dir),
                       "/model.so: damaged: the dynamic section's string "
                       "table"))
      << loadError(dir);
}

TEST(DamagedPackage, ShortWeightsFileIsCheckedBeforeMapping) {
  TempDir tmp;
  std::string dir = tmp / "pkg";
  makeAddPackage(dir);
  for (size_t bytes : {size_t(8), size_t(0)}) {
    writeFile(dir + "/weights.bin", floatsBytes({10, 20, 30}).substr(0, bytes));
    EXPECT_EQ(loadError(dir), dir +
                                  "/weights.bin: weight 'w' (bytes 0..12) "
                                  "lies outside the file (" +
                                  std::to_string(bytes) +
                                  " bytes): the file is truncated or the "
                                  "manifest damaged");
  }
  // Longer than needed is fine: only the weights' bytes are mapped.
  writeFile(dir + "/weights.bin", floatsBytes({10, 20, 30}, 4096));
  EXPECT_EQ(loadError(dir), "");
}

TEST(DamagedPackage, ManifestMustAgreeWithTheProgram) {
  struct Case {
    std::string from, to, error;
  } cases[] = {
      // robust.sh's output_dims_smaller: the program would write 6 floats
      // into a buffer of 3.
      {"output y f32 2x3", "output y f32 1x3",
       "output 'y' is f32 1x3, but model.so was compiled for f32 2x3"},
      {"input a f32 2x3", "input a i32 2x3",
       "input 'a' is i32 2x3, but model.so was compiled for f32 2x3"},
      {"weight w f32 3 0 12", "weight w f32 2 0 8",
       "weight 'w' is f32 2, but model.so was compiled for f32 3"},
      {"arena_bytes 0", "arena_bytes 4096",
       "arena_bytes 4096, but model.so was compiled for arena_bytes 0"},
      {"arena_bytes 0", "arena_bytes 0\nhost_pool_bytes 64",
       "host_pool_bytes 64, but model.so was compiled for host_pool_bytes 0"},
      {"input b f32 2x3\n", "",
       "1 input line, but model.so was compiled for 2 inputs"},
      {"output y f32", "output z f32",
       "output 0 is named 'z', but model.so was compiled for 'y'"},
  };
  for (const Case &c : cases) {
    TempDir tmp;
    std::string dir = tmp / "pkg", manifest = kAddManifest;
    manifest.replace(manifest.find(c.from), c.from.size(), c.to);
    makeAddPackage(dir, manifest);
    EXPECT_EQ(loadError(dir), dir + "/manifest.txt: " + c.error + kDamaged);
  }
  // robust.sh's arena_zero: the program plans its temporaries in an arena
  // the manifest no longer asks for.
  TempDir tmp;
  std::string dir = tmp / "pkg";
  makeAddPackage(dir, kAddManifest, MEMC_TEST_MODEL_ARENA);
  EXPECT_EQ(loadError(dir), dir +
                                "/manifest.txt: arena_bytes 0, but model.so "
                                "was compiled for arena_bytes 4096" +
                                kDamaged);
}

TEST(DamagedPackage, PackageOfAnOlderMemcIsRefused) {
  TempDir tmp;
  std::string dir = tmp / "pkg";
  makeAddPackage(dir, "memc-package 1\ninput a f32 2x3\noutput y f32 2x3\n",
                 MEMC_TEST_MODEL_OLDABI);
  EXPECT_EQ(loadError(dir),
            dir + "/model.so: does not export memc_interface (the package "
                  "was written by an older memc or is damaged): recompile it "
                  "with this memc");
}

TEST(DamagedPackage, RunnerExitsBadPackageWithOneLine) {
  TempDir tmp;
  std::string base = tmp / "base";
  makeAddPackage(base);
  makeAddData(tmp / "data");
  std::string so = readBytes(base + "/model.so");
  struct Damage {
    const char *name;
    std::function<void(const std::string &)> apply;
  } damages[] = {
      {"weights_fifo",
       [](const std::string &p) { replaceWithFifo(p + "/weights.bin"); }},
      {"so_truncated",
       [&](const std::string &p) {
         writeFile(p + "/model.so", so.substr(0, so.size() / 2));
       }},
      {"so_garbage",
       [](const std::string &p) {
         writeFile(p + "/model.so", randomBytes(20000, 7));
       }},
      {"output_dims_smaller",
       [](const std::string &p) {
         std::string m = kAddManifest;
         m.replace(m.find("output y f32 2x3"), 16, "output y f32 1x3");
         writeFile(p + "/manifest.txt", m);
       }},
      {"manifest_dir",
       [](const std::string &p) {
         fs::remove(p + "/manifest.txt");
         fs::create_directories(p + "/manifest.txt");
       }},
  };
  for (const Damage &d : damages) {
    std::string dir = tmp / d.name;
    makeAddPackage(dir);
    d.apply(dir);
    RunResult r = run({dir, "--data", tmp / "data"});
    EXPECT_EQ(r.code, ExitBadPackage) << d.name << ": " << r.err;
    EXPECT_EQ(r.err.rfind("memc-run: " + dir + "/", 0), 0u) << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
    EXPECT_EQ(r.out, "") << d.name;
  }
}

TEST(DamagedData, NonRegularFilesAreBadData) {
  TempDir tmp;
  std::string pkg = tmp / "pkg", data = tmp / "data";
  makeAddPackage(pkg);
  makeAddData(data);
  replaceWithFifo(data + "/input_1.pb");
  RunResult r = run({pkg, "--data", data});
  EXPECT_EQ(r.code, ExitBadData);
  EXPECT_EQ(r.err, "memc-run: " + data +
                       "/input_1.pb: is a FIFO, not a regular file\n");

  fs::remove(data + "/input_1.pb"); // writing a FIFO would block
  makeAddData(data);
  replaceWithFifo(data + "/output_0.pb");
  r = run({pkg, "--data", data});
  EXPECT_EQ(r.code, ExitBadData);
  EXPECT_EQ(r.err, "memc-run: " + data +
                       "/output_0.pb: is a FIFO, not a regular file\n");

  writeFile(tmp / "file", "x");
  r = run({pkg, "--data", tmp / "file"});
  EXPECT_EQ(r.code, ExitBadData);
  EXPECT_EQ(r.err, "memc-run: " + tmp / "file" +
                       ": not a directory (--data takes a directory of "
                       "input_N.pb files)\n");
}

TEST(InputFile, SaysWhatIsWrong) {
  TempDir tmp;
  std::string out, error;
  EXPECT_FALSE(readSmallFile(tmp / "none", 100, out, error));
  EXPECT_EQ(error, tmp / "none" + ": cannot open: no such file");
  writeFile(tmp / "big", "0123456789");
  EXPECT_FALSE(readSmallFile(tmp / "big", 4, out, error));
  EXPECT_EQ(error, tmp / "big" + ": too large (10 bytes, at most 4)");
  ASSERT_TRUE(readSmallFile(tmp / "big", 10, out, error)) << error;
  EXPECT_EQ(out, "0123456789");
  EXPECT_FALSE(readSmallFile(tmp / "big/x", 4, out, error));
  EXPECT_EQ(error, tmp / "big/x" +
                       ": cannot open: a component of the path is not a "
                       "directory");
  InputFile f;
  ASSERT_TRUE(f.open(tmp / "big", 100, error)) << error;
  char buf[8];
  EXPECT_FALSE(f.readAt(6, buf, 8, error));
  EXPECT_EQ(error, tmp / "big" + ": truncated (ends at byte 10, needed 14)");
}

TEST(LatencyStats, MemoryIsBoundedWhateverTheIterationCount) {
  // --iterations may be 1e9: the timings must not be stored one by one.
  LatencyStats exact;
  for (double v : {5.0, 1.0, 3.0, 2.0})
    exact.add(v);
  EXPECT_EQ(exact.median(), 2.5);
  EXPECT_EQ(exact.min(), 1.0);

  LatencyStats many;
  const uint64_t n = 1000000;
  for (uint64_t i = 0; i < n; ++i)
    many.add(double((i * 7919) % n) / double(n) + 1.0); // uniform in [1, 2)
  EXPECT_EQ(many.count(), n);
  EXPECT_EQ(many.kept(), LatencyStats::kMaxSamples);
  EXPECT_EQ(many.min(), 1.0);
  EXPECT_NEAR(many.median(), 1.5, 0.01);
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

TEST(Runner, ReferenceOfTheWrongShapeIsBadData) {
  // README: 22 is ".pb files not matching", 20 only a program's wrong
  // result; a reference of another shape is found before the run.
  TempDir tmp;
  makeAddPackage(tmp / "pkg");
  makeAddData(tmp / "data");
  writeTensor(tmp / "data/output_0.pb", makeF32({3, 2}, {1, 2, 3, 4, 5, 6}));
  RunResult r = run({tmp / "pkg", "--data", tmp / "data"});
  EXPECT_EQ(r.code, ExitBadData);
  EXPECT_EQ(r.err, "memc-run: " + tmp / "data/output_0.pb" +
                       ": f32 3x2 does not match the package's output 'y' "
                       "(f32 2x3)\n");
  EXPECT_EQ(r.out, "");
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

TEST(MemcRunBinary, DamagedPackagesExitBadPackageNeverHangOrCrash) {
  TempDir tmp;
  std::string so = readBytes(MEMC_TEST_MODEL_ADD);
  makeAddPackage(tmp / "fifo");
  replaceWithFifo(tmp / "fifo/weights.bin");
  makeAddPackage(tmp / "cut");
  writeFile(tmp / "cut/model.so", so.substr(0, so.size() / 2));
  makeAddPackage(tmp / "arena", kAddManifest, MEMC_TEST_MODEL_ARENA);
  std::string out = tmp / "out", err = tmp / "err";
  for (const char *name : {"fifo", "cut", "arena"}) {
    // timeout: a regression that blocks on the FIFO fails instead of hanging.
    int code = shell(std::string("timeout 20 '") + MEMC_RUN_PATH + "' '" +
                     tmp / name + "' >'" + out + "' 2>'" + err + "'");
    EXPECT_EQ(code, ExitBadPackage) << name << ": " << readAll(err);
    std::string e = readAll(err);
    EXPECT_EQ(e.rfind("memc-run: " + tmp / name + "/", 0), 0u) << e;
    EXPECT_EQ(std::count(e.begin(), e.end(), '\n'), 1) << e;
  }
}
#endif
