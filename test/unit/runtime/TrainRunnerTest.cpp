//===- TrainRunnerTest.cpp - memc-run --train end to end ------------------===//
//
// A train package is assembled from the FIXTURE_TRAIN program
// (FixtureModels.cpp: linear regression with SGD and momentum, its
// predictions in the arena) and trained in-process through memc-run's main,
// as PackageRunnerTest.cpp does for inference: the step lines and report,
// resuming exactly where a run stopped, divergence, --save-model, and every
// bad input reported before the first step with its own exit code.
//
//===----------------------------------------------------------------------===//

#include "Runner.h"
#include "memc/ExitCodes.h"
#include "memc/Runtime/TensorIO.h"

#include <onnx/onnx_pb.h>

#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <sstream>
#include <sys/wait.h>
#include <unistd.h>

using namespace memc;
using namespace memc::rt;
namespace fs = std::filesystem;

namespace {

class TempDir {
public:
  TempDir() {
    const char *tmp = std::getenv("TMPDIR");
    std::string tmpl =
        std::string(tmp && *tmp ? tmp : "/tmp") + "/memc-train-test-XXXXXX";
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
  std::string operator/(const std::string &name) const {
    return path_ + "/" + name;
  }
  const std::string &path() const { return path_; }

private:
  std::string path_;
};

void writeFile(const std::string &path, const std::string &bytes) {
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  f.write(bytes.data(), std::streamsize(bytes.size()));
  ASSERT_TRUE(f.good()) << path;
}

std::string readFile(const std::string &path) {
  std::ifstream f(path, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

std::string floatsBytes(std::vector<float> v, size_t padTo = 0) {
  std::string s(reinterpret_cast<const char *>(v.data()), v.size() * 4);
  if (s.size() < padTo)
    s.resize(padTo, '\0');
  return s;
}

template <typename T>
Tensor makeTensor(DType dtype, std::vector<int64_t> dims,
                  std::vector<T> values) {
  Tensor t;
  t.dtype = dtype;
  t.dims = std::move(dims);
  EXPECT_TRUE(t.allocate());
  EXPECT_EQ(values.size(), t.numElements());
  std::memcpy(t.buffer.data(), values.data(), values.size() * sizeof(T));
  return t;
}

void writeTensor(const std::string &path, const Tensor &t) {
  std::string error;
  ASSERT_TRUE(writeTensorFile(path, t, "t", error)) << error;
}

const char kTrainManifest[] = "memc-package 1\n"
                              "model lin.onnx\n"
                              "train mse sgd:lr=0.1,momentum=0.9\n"
                              "arena_bytes 64\n"
                              "input x f32 4x2\n"
                              "input labels f32 4\n"
                              "weight w f32 2 0 8 trainable\n"
                              "weight scale f32 2 64 8\n"
                              "state w.m f32 2 w\n"
                              "step step i64 scalar\n"
                              "output loss f32 scalar\n";

/// model.onnx of the package: initializers "w" and "scale".
std::string onnxModel() {
  onnx::ModelProto model;
  model.set_ir_version(8);
  model.add_opset_import()->set_version(17);
  onnx::GraphProto *g = model.mutable_graph();
  g->set_name("lin");
  for (auto [name, values] :
       {std::pair<const char *, std::vector<float>>{"w", {0.5f, -0.5f}},
        {"scale", {1, 2}}}) {
    onnx::TensorProto *t = g->add_initializer();
    t->set_name(name);
    t->set_data_type(onnx::TensorProto::FLOAT);
    t->add_dims(2);
    for (float v : values)
      t->add_float_data(v);
  }
  std::string bytes;
  EXPECT_TRUE(model.SerializeToString(&bytes));
  return bytes;
}

/// The train package: w = {0.5, -0.5}, scale = {1, 2}.
void makeTrainPackage(const std::string &dir,
                      const std::string &manifest = kTrainManifest) {
  fs::create_directories(dir);
  std::error_code ec;
  fs::copy_file(MEMC_TEST_MODEL_TRAIN, dir + "/model.so",
                fs::copy_options::overwrite_existing, ec);
  ASSERT_FALSE(ec) << ec.message();
  writeFile(dir + "/manifest.txt", manifest);
  writeFile(dir + "/weights.bin",
            floatsBytes({0.5f, -0.5f}, 64) + floatsBytes({1, 2}));
  writeFile(dir + "/model.onnx", onnxModel());
}

/// `batches` batches of y = 2 x0 - 1 x1 (w = {2, -0.5} with the scale);
/// batch `nanBatch` has a NaN in x.
void makeBatches(const std::string &dir, int batches = 3, int nanBatch = -1) {
  for (int b = 0; b < batches; ++b) {
    std::string d = dir + "/test_data_set_" + std::to_string(b);
    fs::create_directories(d);
    std::vector<float> x, y;
    for (int i = 0; i < 4; ++i) {
      float x0 = float(b + i) * 0.25f - 0.5f, x1 = float(i % 3) - 1;
      x.push_back(x0);
      x.push_back(x1);
      y.push_back(2 * x0 - x1);
    }
    if (b == nanBatch)
      x[3] = std::numeric_limits<float>::quiet_NaN();
    writeTensor(d + "/input_0.pb", makeTensor<float>(DType::F32, {4, 2}, x));
    writeTensor(d + "/input_1.pb", makeTensor<float>(DType::F32, {4}, y));
  }
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

/// The `step K loss X` lines of a run's output.
std::vector<std::string> stepLines(const std::string &out) {
  std::vector<std::string> lines;
  std::istringstream in(out);
  for (std::string line; std::getline(in, line);)
    if (line.rfind("step ", 0) == 0)
      lines.push_back(line);
  return lines;
}

double lossOf(const std::string &stepLine) {
  return std::strtod(stepLine.substr(stepLine.find(" loss ") + 6).c_str(),
                     nullptr);
}

/// Expects exit `code` and exactly one stderr line starting with `prefix`,
/// with no train step run.
void expectRefused(const RunResult &r, int code, const std::string &prefix) {
  EXPECT_EQ(r.code, code) << r.out << r.err;
  EXPECT_EQ(r.err.rfind("memc-run: " + prefix, 0), 0u) << r.err;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  EXPECT_TRUE(stepLines(r.out).empty()) << r.out;
}

} // namespace

//===----------------------------------------------------------------------===//
// Command line
//===----------------------------------------------------------------------===//

TEST(TrainOptions, Parses) {
  RunOptions o;
  std::string error;
  const char *argv[] = {"memc-run", "pkg",
                        "--train",  "--data",
                        "d",        "--steps",
                        "8",        "--save-model",
                        "out.onnx", "--save-state=s",
                        "--resume", "r",
                        "-q"};
  ASSERT_EQ(parseRunOptions(13, argv, o, error), ExitOK) << error;
  EXPECT_TRUE(o.train);
  EXPECT_EQ(o.steps, 8);
  EXPECT_EQ(o.saveModel, "out.onnx");
  EXPECT_EQ(o.saveState, "s");
  EXPECT_EQ(o.resume, "r");
  const char *defaults[] = {"memc-run", "pkg", "--train", "--data", "d"};
  ASSERT_EQ(parseRunOptions(5, defaults, o, error), ExitOK) << error;
  EXPECT_EQ(o.steps, 1);
  EXPECT_EQ(o.saveModel, "");
  // Either device trains (runtime/common's TrainLoop.h).
  const char *cuda[] = {"memc-run", "pkg",      "--train", "--data",
                        "d",        "--device", "cuda"};
  ASSERT_EQ(parseRunOptions(7, cuda, o, error), ExitOK) << error;
  EXPECT_EQ(o.device, "cuda");
}

TEST(TrainOptions, RejectsBadCommandLines) {
  struct Bad {
    std::vector<const char *> args;
    const char *message;
  } cases[] = {
      {{"pkg", "--steps", "3"}, "--steps needs --train"},
      {{"pkg", "--save-model", "o.onnx"}, "--save-model needs --train"},
      {{"pkg", "--save-state", "s"}, "--save-state needs --train"},
      {{"pkg", "--resume", "s"}, "--resume needs --train"},
      {{"pkg", "--train"},
       "--train needs --data DIR (a directory of test_data_set_N batches)"},
      {{"pkg", "--train", "--data", "d", "--steps", "0"},
       "--steps '0' is not an integer >= 1"},
      {{"pkg", "--train", "--data", "d", "--steps", "-2"}, "--steps '-2'"},
      {{"pkg", "--train", "--data", "d", "--iterations", "3"},
       "--iterations does not apply to --train runs"},
      {{"pkg", "--train", "--data", "d", "--seed", "3"},
       "--seed does not apply to --train runs"},
      {{"pkg", "--train=yes", "--data", "d"}, "--train takes no value"},
      {{"pkg", "--train", "--data", "d", "--save-model", ""},
       "--save-model needs a file name"},
      {{"pkg", "--train", "--data", "d", "--save-model", "f", "--save-state",
        "f"},
       "--save-model and --save-state name the same file 'f'"},
  };
  for (const Bad &c : cases) {
    std::vector<const char *> argv = {"memc-run"};
    argv.insert(argv.end(), c.args.begin(), c.args.end());
    RunOptions o;
    std::string error;
    EXPECT_EQ(parseRunOptions(int(argv.size()), argv.data(), o, error),
              ExitUsage)
        << c.message;
    EXPECT_TRUE(contains(error, c.message))
        << "'" << error << "' lacks '" << c.message << "'";
  }
  RunResult r = run({"pkg", "--steps", "2"});
  EXPECT_EQ(r.code, ExitUsage);
  EXPECT_EQ(r.err, "memc-run: --steps needs --train\n");
  r = run({"--help"});
  EXPECT_TRUE(contains(r.out, "--train")) << r.out;
  EXPECT_TRUE(contains(r.out, "--resume F")) << r.out;
}

TEST(TrainRunner, ModesDoNotMix) {
  TempDir tmp;
  makeTrainPackage(tmp / "pkg");
  makeBatches(tmp / "data");
  expectRefused(run({tmp / "pkg"}), ExitUsage,
                tmp / "pkg" + ": is a train package: run it with --train");
  // An inference package (no train line) with --train.
  fs::create_directories(tmp / "inf");
  std::error_code ec;
  fs::copy_file(MEMC_TEST_MODEL_ADD, tmp / "inf/model.so", ec);
  ASSERT_FALSE(ec) << ec.message();
  writeFile(tmp / "inf/manifest.txt",
            "memc-package 1\ninput a f32 2x3\ninput b f32 2x3\n"
            "weight w f32 3 0 12\noutput y f32 2x3\n");
  writeFile(tmp / "inf/weights.bin", floatsBytes({10, 20, 30}, 64));
  expectRefused(run({tmp / "inf", "--train", "--data", tmp / "data"}),
                ExitUsage,
                "--train: " + tmp / "inf" +
                    ": not a train package (memc --train writes one)");
  EXPECT_EQ(run({tmp / "inf"}).code, ExitOK);
}

//===----------------------------------------------------------------------===//
// Training
//===----------------------------------------------------------------------===//

TEST(TrainRunner, TrainsAndReports) {
  TempDir tmp;
  makeTrainPackage(tmp / "pkg");
  makeBatches(tmp / "data");
  RunResult r =
      run({tmp / "pkg", "--train", "--data", tmp / "data", "--steps", "12"});
  ASSERT_EQ(r.code, ExitOK) << r.out << r.err;
  EXPECT_EQ(r.err, "");
  EXPECT_TRUE(contains(r.out, "package: " + tmp / "pkg" + "\n")) << r.out;
  EXPECT_TRUE(contains(r.out, "\nbatches: 3\n")) << r.out;
  std::vector<std::string> steps = stepLines(r.out);
  ASSERT_EQ(steps.size(), 12u) << r.out;
  for (size_t i = 0; i < steps.size(); ++i)
    EXPECT_EQ(steps[i].rfind("step " + std::to_string(i + 1) + " loss ", 0), 0u)
        << steps[i];
  EXPECT_LT(lossOf(steps[11]), lossOf(steps[0]) / 4) << r.out;
  EXPECT_TRUE(contains(r.out, "\ntrain_step_ms: ")) << r.out;
  // The fixture allocates nothing itself: the arena is all.
  EXPECT_TRUE(contains(r.out, "\npeak_arena_bytes: 64\n")) << r.out;
  EXPECT_TRUE(contains(r.out, "\nparam_bytes: 8\n")) << r.out;
  EXPECT_TRUE(contains(r.out, "\nstate_bytes: 8\n")) << r.out;

  // The first step's loss, by hand: w * scale = {0.5, -1}.
  double want = 0;
  for (int i = 0; i < 4; ++i) {
    float x0 = float(i) * 0.25f - 0.5f, x1 = float(i % 3) - 1;
    double e = (0.5 * x0 - 1.0 * x1) - (2.0 * x0 - x1);
    want += e * e / 4;
  }
  EXPECT_NEAR(lossOf(steps[0]), want, 1e-6);

  // -q: no step lines, the summary still.
  r = run({tmp / "pkg", "--train", "--data", tmp / "data", "-q"});
  ASSERT_EQ(r.code, ExitOK) << r.err;
  EXPECT_TRUE(stepLines(r.out).empty()) << r.out;
  EXPECT_EQ(r.out.rfind("train_step_ms: ", 0), 0u) << r.out;
  // The package on disk is never changed: every run starts from it.
  EXPECT_EQ(readFile(tmp / "pkg/weights.bin").substr(0, 8),
            floatsBytes({0.5f, -0.5f}));
}

TEST(TrainRunner, ResumingContinuesExactly) {
  TempDir tmp;
  makeTrainPackage(tmp / "pkg");
  makeBatches(tmp / "data");
  std::vector<std::string> base = {tmp / "pkg", "--train", "--data",
                                   tmp / "data"};
  auto with = [&](std::vector<std::string> more) {
    std::vector<std::string> args = base;
    args.insert(args.end(), more.begin(), more.end());
    return run(args);
  };
  RunResult all = with({"--steps", "8", "--save-state", tmp / "all.state",
                        "--save-model", tmp / "all.onnx"});
  ASSERT_EQ(all.code, ExitOK) << all.err;
  RunResult first = with({"--steps", "4", "--save-state", tmp / "half.state"});
  ASSERT_EQ(first.code, ExitOK) << first.err;
  RunResult second =
      with({"--steps", "4", "--resume", tmp / "half.state", "--save-state",
            tmp / "resumed.state", "--save-model", tmp / "resumed.onnx"});
  ASSERT_EQ(second.code, ExitOK) << second.err;
  EXPECT_TRUE(contains(second.out,
                       "resumed: " + tmp / "half.state" + " after step 4\n"))
      << second.out;

  std::vector<std::string> a = stepLines(all.out), b = stepLines(first.out),
                           c = stepLines(second.out);
  ASSERT_EQ(a.size(), 8u);
  b.insert(b.end(), c.begin(), c.end());
  EXPECT_EQ(b, a); // the same losses, bit for bit, and the same step numbers
  EXPECT_EQ(readFile(tmp / "resumed.state"), readFile(tmp / "all.state"));
  EXPECT_EQ(readFile(tmp / "resumed.onnx"), readFile(tmp / "all.onnx"));

  // The trained model holds the state file's w, and scale as it was.
  onnx::ModelProto model;
  ASSERT_TRUE(model.ParseFromString(readFile(tmp / "all.onnx")));
  const onnx::TensorProto &w = model.graph().initializer(0);
  EXPECT_EQ(w.float_data_size(), 0);
  ASSERT_EQ(w.raw_data().size(), 8u);
  std::string state = readFile(tmp / "all.state");
  EXPECT_TRUE(contains(state, std::string("\x01\0\0\0\0\0\0\0w", 9) +
                                  std::string("\x08\0\0\0\0\0\0\0", 8) +
                                  w.raw_data()));
  EXPECT_NE(w.raw_data(), floatsBytes({0.5f, -0.5f}));
  EXPECT_EQ(model.graph().initializer(1).float_data(1), 2.0f);
}

TEST(TrainRunner, DivergenceKeepsTheStateBeforeTheStep) {
  TempDir tmp;
  makeTrainPackage(tmp / "pkg");
  makeBatches(tmp / "data", 3, /*nanBatch=*/2);
  std::vector<std::string> base = {tmp / "pkg", "--train", "--data",
                                   tmp / "data"};
  auto with = [&](std::vector<std::string> more) {
    std::vector<std::string> args = base;
    args.insert(args.end(), more.begin(), more.end());
    return run(args);
  };
  RunResult bad = with({"--steps", "5", "--save-state", tmp / "bad.state",
                        "--save-model", tmp / "bad.onnx"});
  EXPECT_EQ(bad.code, ExitDiverged) << bad.out << bad.err;
  EXPECT_EQ(bad.err, "memc-run: step 3: the loss is nan; stopping (the "
                     "state before step 3 is kept)\n");
  EXPECT_EQ(stepLines(bad.out).size(), 2u) << bad.out;

  RunResult good = with({"--steps", "2", "--save-state", tmp / "good.state",
                         "--save-model", tmp / "good.onnx"});
  ASSERT_EQ(good.code, ExitOK) << good.err;
  EXPECT_EQ(readFile(tmp / "bad.state"), readFile(tmp / "good.state"));
  EXPECT_EQ(readFile(tmp / "bad.onnx"), readFile(tmp / "good.onnx"));

  // Without a file to keep it in, nothing is said to be kept.
  RunResult plain = with({"--steps", "5"});
  EXPECT_EQ(plain.code, ExitDiverged);
  EXPECT_EQ(plain.err, "memc-run: step 3: the loss is nan; stopping\n");
}

//===----------------------------------------------------------------------===//
// Bad input, all found before the first step
//===----------------------------------------------------------------------===//

TEST(TrainRunner, BadBatchesAreBadData) {
  TempDir tmp;
  makeTrainPackage(tmp / "pkg");
  auto train = [&](const std::string &data) {
    return run({tmp / "pkg", "--train", "--data", data, "--steps", "2"});
  };
  expectRefused(train(tmp / "none"), ExitBadData,
                tmp / "none" + ": no such data directory");
  fs::create_directories(tmp / "empty");
  expectRefused(train(tmp / "empty"), ExitBadData,
                tmp / "empty/test_data_set_0: no such directory (--train "
                      "reads its batches from ");

  makeBatches(tmp / "labels");
  writeTensor(tmp / "labels/test_data_set_1/input_1.pb",
              makeTensor<int32_t>(DType::I32, {4}, {0, 1, 2, 3}));
  expectRefused(train(tmp / "labels"), ExitBadData,
                tmp / "labels/test_data_set_1/input_1.pb: i32 4 does not "
                      "match the package's input 'labels' (f32 4)");

  makeBatches(tmp / "missing");
  fs::remove(tmp / "missing/test_data_set_2/input_0.pb");
  expectRefused(train(tmp / "missing"), ExitBadData,
                tmp / "missing/test_data_set_2/input_0.pb: cannot open: no "
                      "such file");

  makeBatches(tmp / "extra");
  writeTensor(tmp / "extra/test_data_set_0/input_2.pb",
              makeTensor<float>(DType::F32, {1}, {0}));
  expectRefused(train(tmp / "extra"), ExitBadData,
                tmp / "extra/test_data_set_0/input_2.pb: the package has "
                      "only 2 input(s)");

  makeBatches(tmp / "shape");
  writeTensor(tmp / "shape/test_data_set_0/input_0.pb",
              makeTensor<float>(DType::F32, {2, 4}, std::vector<float>(8)));
  expectRefused(train(tmp / "shape"), ExitBadData,
                tmp / "shape/test_data_set_0/input_0.pb: f32 2x4 does not "
                      "match the package's input 'x' (f32 4x2)");

  // Batches are consecutive: a gap ends them (here after one).
  makeBatches(tmp / "gap", 3);
  fs::rename(tmp / "gap/test_data_set_1", tmp / "gap/test_data_set_7");
  RunResult r = train(tmp / "gap");
  EXPECT_EQ(r.code, ExitOK) << r.err;
  EXPECT_TRUE(contains(r.out, "\nbatches: 1\n")) << r.out;
}

TEST(TrainRunner, BadStateFilesExitBadState) {
  TempDir tmp;
  makeTrainPackage(tmp / "pkg");
  makeBatches(tmp / "data");
  auto train = [&](std::vector<std::string> more) {
    std::vector<std::string> args = {tmp / "pkg", "--train", "--data",
                                     tmp / "data"};
    args.insert(args.end(), more.begin(), more.end());
    return run(args);
  };
  ASSERT_EQ(train({"--steps", "2", "--save-state", tmp / "s"}).code, ExitOK);
  std::string good = readFile(tmp / "s");

  expectRefused(train({"--resume", tmp / "nope"}), ExitBadState,
                tmp / "nope: cannot open: no such file");
  writeFile(tmp / "cut", good.substr(0, good.size() - 5));
  expectRefused(train({"--resume", tmp / "cut"}), ExitBadState,
                tmp / "cut: truncated (");
  std::string flipped = good;
  flipped[good.size() - 12] ^= 4;
  writeFile(tmp / "flipped", flipped);
  expectRefused(train({"--resume", tmp / "flipped"}), ExitBadState,
                tmp / "flipped: checksum mismatch (the file is corrupt)");
  writeFile(tmp / "text", "hello\n");
  expectRefused(train({"--resume", tmp / "text"}), ExitBadState,
                tmp / "text: not a memc train state file");

  // A state of another package: other hyperparameters.
  std::string other = kTrainManifest;
  other.replace(other.find("lr=0.1"), 6, "lr=0.3");
  makeTrainPackage(tmp / "other", other);
  ASSERT_EQ(run({tmp / "other", "--train", "--data", tmp / "data",
                 "--save-state", tmp / "other.state"})
                .code,
            ExitOK);
  expectRefused(train({"--resume", tmp / "other.state"}), ExitBadState,
                tmp / "other.state: was saved from a different package: its "
                      "fingerprint ");
}

TEST(TrainRunner, SaveModelNeedsModelOnnxAndAWritableOutput) {
  TempDir tmp;
  makeTrainPackage(tmp / "pkg");
  makeBatches(tmp / "data");
  auto train = [&](std::vector<std::string> more) {
    std::vector<std::string> args = {tmp / "pkg",  "--train", "--data",
                                     tmp / "data", "--steps", "2"};
    args.insert(args.end(), more.begin(), more.end());
    return run(args);
  };
  expectRefused(train({"--save-model", tmp / "no/dir/out.onnx"}), ExitOutput,
                tmp / "no/dir/out.onnx: cannot write: no such directory");
  expectRefused(train({"--save-state", tmp.path()}), ExitOutput,
                tmp.path() + ": is a directory");
  writeFile(tmp / "pkg/model.onnx", "garbage");
  expectRefused(train({"--save-model", tmp / "out.onnx"}), ExitBadPackage,
                tmp / "pkg/model.onnx: not an ONNX model");
  fs::remove(tmp / "pkg/model.onnx");
  expectRefused(train({"--save-model", tmp / "out.onnx"}), ExitBadPackage,
                tmp / "pkg/model.onnx: cannot open: no such file");
  // Without --save-model, model.onnx is not needed.
  EXPECT_EQ(train({}).code, ExitOK);
  EXPECT_FALSE(fs::exists(tmp / "out.onnx"));
  // Nothing half-written was left anywhere.
  for (const auto &e : fs::directory_iterator(tmp.path()))
    EXPECT_EQ(e.path().filename().string().find("memc-tmp"), std::string::npos)
        << e.path();
}

#ifdef MEMC_RUN_PATH
TEST(MemcRunBinary, TrainsAndResumes) {
  TempDir tmp;
  makeTrainPackage(tmp / "pkg");
  makeBatches(tmp / "data");
  auto shell = [&](const std::string &args) {
    std::string cmd = std::string("'") + MEMC_RUN_PATH + "' '" + tmp / "pkg" +
                      "' --train --data '" + tmp / "data" + "' " + args +
                      " >'" + tmp / "out" + "' 2>'" + tmp / "err" + "'";
    int status = std::system(cmd.c_str());
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  };
  ASSERT_EQ(shell("--steps 4"), ExitOK) << readFile(tmp / "err");
  std::vector<std::string> all = stepLines(readFile(tmp / "out"));
  ASSERT_EQ(shell("--steps 2 --save-state '" + tmp / "s" + "'"), ExitOK);
  std::vector<std::string> parts = stepLines(readFile(tmp / "out"));
  ASSERT_EQ(shell("--steps 2 --resume '" + tmp / "s" + "'"), ExitOK);
  std::vector<std::string> rest = stepLines(readFile(tmp / "out"));
  parts.insert(parts.end(), rest.begin(), rest.end());
  EXPECT_EQ(parts, all);
  EXPECT_EQ(shell("--resume '" + tmp / "data" + "'"), ExitBadState);
}
#endif
