//===- CudaTrainTest.cpp - memc-run --train --device cuda -----------------===//
//
// A CUDA train package written by hand (manifest, launch plan, PTX entry
// points) whose kernels are TrainKernels.cpp built for the host: the fake
// libcuda runs them thread by thread (MEMC_FAKE_CUDA_KERNELS), so the steps
// compute real losses, here those of test/unit/runtime's FIXTURE_TRAIN. The
// device memory is poisoned (MEMC_FAKE_CUDA_POISON), as a GPU's is: a state
// the runtime failed to zero would make the losses NaN. Checked: the
// step lines, summary and exit codes of the CPU train runner (both are
// runtime/common's TrainLoop.h), the losses against the step computed
// here, resuming exactly, divergence keeping the state before the step,
// the plan's state:I and step:0 addresses, and memc_cuda.h's train calls.
//
//===----------------------------------------------------------------------===//
#include "CudaRunner.h"
#include "memc/ExitCodes.h"
#include "memc/Runtime/RunCommon.h"
#include "memc/Runtime/TensorIO.h"
#include "memc_cuda.h"

#include "TempDir.h"

#include <onnx/onnx_pb.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <sstream>
#include <sys/wait.h>
#include <vector>

namespace fs = std::filesystem;
using namespace memc;
using memc::test::TempDir;

namespace {

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

bool contains(const std::string &haystack, const std::string &needle) {
  return haystack.find(needle) != std::string::npos;
}

const char kManifest[] = "memc-package 1\n"
                         "model lin.onnx\n"
                         "target cuda\n"
                         "train mse sgd:lr=0.1,momentum=0.9\n"
                         "arena_bytes 64\n"
                         "input x f32 4x2\n"
                         "input labels f32 4\n"
                         "weight w f32 2 0 8 trainable\n"
                         "weight scale f32 2 64 8\n"
                         "state w.m f32 2 w\n"
                         "step step i64 scalar\n"
                         "output loss f32 scalar\n";

const char kPlan[] =
    "memc-launch-plan 1\narch sm_90\n"
    "launch k_err 1 1 1 4 1 1 0 input:0+0 input:1+0 weight:0+0 weight:1+0 "
    "arena+0\n"
    "launch k_loss 1 1 1 1 1 1 0 arena+0 output:0+0\n"
    "launch k_sgd 1 1 1 2 1 1 0 input:0+0 arena+0 weight:0+0 weight:1+0 "
    "state:0+0 step:0+0\n";

/// The PTX entry points the fake reads the parameter counts from.
std::string ptx() {
  std::string text = ".version 7.8\n.target sm_90\n.address_size 64\n";
  for (auto [name, params] : {std::pair<const char *, int>{"k_err", 5},
                              {"k_loss", 2},
                              {"k_sgd", 6}}) {
    text += ".visible .entry " + std::string(name) + "(\n";
    for (int i = 0; i < params; ++i)
      text += "\t.param .u64 " + std::string(name) + "_param_" +
              std::to_string(i) + (i + 1 < params ? ",\n" : "\n");
    text += ")\n{\n\tret;\n}\n";
  }
  return text;
}

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
void makePackage(const std::string &dir,
                 const std::string &manifest = kManifest,
                 const std::string &plan = kPlan) {
  fs::create_directories(dir);
  writeFile(dir + "/manifest.txt", manifest);
  writeFile(dir + "/weights.bin",
            floatsBytes({0.5f, -0.5f}, 64) + floatsBytes({1, 2}));
  writeFile(dir + "/launch_plan.txt", plan);
  writeFile(dir + "/kernels.ptx", ptx());
  writeFile(dir + "/model.onnx", onnxModel());
}

struct Batch {
  std::vector<float> x, y;
};

/// Batch `b` of y = 2 x0 - x1, as TrainRunnerTest.cpp's makeBatches.
Batch batch(int b) {
  Batch out;
  for (int i = 0; i < 4; ++i) {
    float x0 = float(b + i) * 0.25f - 0.5f, x1 = float(i % 3) - 1;
    out.x.push_back(x0);
    out.x.push_back(x1);
    out.y.push_back(2 * x0 - x1);
  }
  return out;
}

void writeTensor(const std::string &path, std::vector<int64_t> dims,
                 const std::vector<float> &values) {
  rt::Tensor t;
  t.dtype = rt::DType::F32;
  t.dims = std::move(dims);
  ASSERT_TRUE(t.allocate());
  std::memcpy(t.buffer.data(), values.data(), values.size() * 4);
  std::string error;
  ASSERT_TRUE(rt::writeTensorFile(path, t, "t", error)) << error;
}

/// `batches` batches; batch `nanBatch` has a NaN in x.
void makeBatches(const std::string &dir, int batches = 3, int nanBatch = -1) {
  for (int b = 0; b < batches; ++b) {
    std::string d = dir + "/test_data_set_" + std::to_string(b);
    fs::create_directories(d);
    Batch data = batch(b);
    if (b == nanBatch)
      data.x[3] = std::numeric_limits<float>::quiet_NaN();
    writeTensor(d + "/input_0.pb", {4, 2}, data.x);
    writeTensor(d + "/input_1.pb", {4}, data.y);
  }
}

/// The losses of `steps` steps over 3 batches, computed here.
std::vector<float> referenceLosses(int steps) {
  float w[2] = {0.5f, -0.5f}, scale[2] = {1, 2}, m[2] = {0, 0};
  std::vector<float> losses;
  for (int k = 0; k < steps; ++k) {
    Batch b = batch(k % 3);
    float err[4], sum = 0;
    for (int i = 0; i < 4; ++i) {
      float pred = 0;
      for (int j = 0; j < 2; ++j)
        pred += b.x[i * 2 + j] * w[j] * scale[j];
      err[i] = pred - b.y[i];
    }
    for (int i = 0; i < 4; ++i)
      sum += err[i] * err[i];
    losses.push_back(sum / 4);
    float lr = 0.1f + 0.1f / float(k + 1);
    for (int j = 0; j < 2; ++j) {
      float g = 0;
      for (int i = 0; i < 4; ++i)
        g += err[i] * b.x[i * 2 + j] * scale[j];
      m[j] = 0.9f * m[j] + g / 2;
      w[j] -= lr * m[j];
    }
  }
  return losses;
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

/// memc-run ARGS --device cuda, in-process, as memc-run's main does it.
RunResult run(std::vector<std::string> args) {
  std::vector<const char *> argv = {"memc-run"};
  for (const std::string &a : args)
    argv.push_back(a.c_str());
  argv.push_back("--device");
  argv.push_back("cuda");
  std::FILE *out = std::tmpfile(), *err = std::tmpfile();
  rt::RunOptions opts;
  std::string error;
  int code = rt::parseRunOptions(int(argv.size()), argv.data(), opts, error);
  if (code == ExitOK)
    code = cuda::runCudaPackage(opts, out, err);
  else
    std::fprintf(err, "memc-run: %s\n", error.c_str());
  return {code, slurp(out), slurp(err)};
}

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

void expectRefused(const RunResult &r, int code, const std::string &prefix) {
  EXPECT_EQ(r.code, code) << r.out << r.err;
  EXPECT_EQ(r.err.rfind("memc-run: " + prefix, 0), 0u) << r.err;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  EXPECT_TRUE(stepLines(r.out).empty()) << r.out;
}

class CudaTrain : public ::testing::Test {
protected:
  void SetUp() override {
    setenv("MEMC_LIBCUDA", MEMC_FAKE_CUDA, 1);
    setenv("MEMC_LIBCUBLAS", MEMC_FAKE_CUBLAS, 1);
    setenv("MEMC_FAKE_CUDA_KERNELS", MEMC_TRAIN_KERNELS, 1);
    setenv("MEMC_FAKE_CUDA_POISON", "1", 1);
    for (const char *v : {"MEMC_FAKE_CUDA_INIT", "MEMC_FAKE_CUDA_DEVICES",
                          "MEMC_FAKE_CUDA_MEM_LIMIT", "MEMC_FAKE_CUDA_CC"})
      unsetenv(v);
    makePackage(tmp / "pkg");
    makeBatches(tmp / "data");
  }
  void TearDown() override {
    for (const char *v : {"MEMC_LIBCUDA", "MEMC_LIBCUBLAS",
                          "MEMC_FAKE_CUDA_KERNELS", "MEMC_FAKE_CUDA_POISON"})
      unsetenv(v);
  }
  RunResult train(std::vector<std::string> more) {
    std::vector<std::string> args = {tmp / "pkg", "--train", "--data",
                                     tmp / "data"};
    args.insert(args.end(), more.begin(), more.end());
    return run(args);
  }

  TempDir tmp{"memc-cuda-train-test"};
};

} // namespace

TEST_F(CudaTrain, TrainsAndReportsAsTheCpuRunnerDoes) {
  RunResult r = train({"--steps", "12"});
  ASSERT_EQ(r.code, ExitOK) << r.out << r.err;
  EXPECT_EQ(r.err, "");
  EXPECT_EQ(r.out.rfind("package: " + tmp / "pkg" +
                            "\nbatches: 3\nstep 1 "
                            "loss ",
                        0),
            0u)
      << r.out;
  std::vector<std::string> steps = stepLines(r.out);
  ASSERT_EQ(steps.size(), 12u) << r.out;
  std::vector<float> want = referenceLosses(12);
  for (size_t i = 0; i < steps.size(); ++i) {
    EXPECT_EQ(steps[i].rfind("step " + std::to_string(i + 1) + " loss ", 0), 0u)
        << steps[i];
    EXPECT_NEAR(lossOf(steps[i]), want[i], 1e-6 * std::fabs(want[i]))
        << steps[i];
  }
  EXPECT_LT(lossOf(steps[11]), lossOf(steps[0]) / 4) << r.out;
  EXPECT_TRUE(contains(r.out, "\ntrain_step_ms: ")) << r.out;
  EXPECT_TRUE(contains(r.out, "\npeak_arena_bytes: 64\n")) << r.out;
  EXPECT_TRUE(contains(r.out, "\nparam_bytes: 8\n")) << r.out;
  EXPECT_TRUE(contains(r.out, "\nstate_bytes: 8\n")) << r.out;

  // -q: no step lines, the summary still.
  r = train({"-q"});
  ASSERT_EQ(r.code, ExitOK) << r.err;
  EXPECT_TRUE(stepLines(r.out).empty()) << r.out;
  EXPECT_EQ(r.out.rfind("train_step_ms: ", 0), 0u) << r.out;
  // The package on disk is never changed.
  EXPECT_EQ(readFile(tmp / "pkg/weights.bin").substr(0, 8),
            floatsBytes({0.5f, -0.5f}));
}

TEST_F(CudaTrain, ResumingContinuesExactly) {
  RunResult all = train({"--steps", "8", "--save-state", tmp / "all.state",
                         "--save-model", tmp / "all.onnx"});
  ASSERT_EQ(all.code, ExitOK) << all.err;
  RunResult first = train({"--steps", "4", "--save-state", tmp / "half.state"});
  ASSERT_EQ(first.code, ExitOK) << first.err;
  RunResult second =
      train({"--steps", "4", "--resume", tmp / "half.state", "--save-state",
             tmp / "resumed.state", "--save-model", tmp / "resumed.onnx"});
  ASSERT_EQ(second.code, ExitOK) << second.err;
  EXPECT_TRUE(contains(second.out,
                       "resumed: " + tmp / "half.state" + " after step 4\n"))
      << second.out;
  std::vector<std::string> a = stepLines(all.out), b = stepLines(first.out),
                           c = stepLines(second.out);
  ASSERT_EQ(a.size(), 8u);
  b.insert(b.end(), c.begin(), c.end());
  EXPECT_EQ(b, a);
  EXPECT_EQ(readFile(tmp / "resumed.state"), readFile(tmp / "all.state"));
  EXPECT_EQ(readFile(tmp / "resumed.onnx"), readFile(tmp / "all.onnx"));

  // The trained model holds the state file's w, and scale as it was.
  onnx::ModelProto model;
  ASSERT_TRUE(model.ParseFromString(readFile(tmp / "all.onnx")));
  const onnx::TensorProto &w = model.graph().initializer(0);
  ASSERT_EQ(w.raw_data().size(), 8u);
  EXPECT_TRUE(contains(readFile(tmp / "all.state"), w.raw_data()));
  EXPECT_NE(w.raw_data(), floatsBytes({0.5f, -0.5f}));
  EXPECT_EQ(model.graph().initializer(1).float_data(1), 2.0f);
}

TEST_F(CudaTrain, DivergenceKeepsTheStateBeforeTheStep) {
  makeBatches(tmp / "nan", 3, /*nanBatch=*/2);
  auto withNan = [&](std::vector<std::string> more) {
    std::vector<std::string> args = {tmp / "pkg", "--train", "--data",
                                     tmp / "nan"};
    args.insert(args.end(), more.begin(), more.end());
    return run(args);
  };
  RunResult bad = withNan({"--steps", "5", "--save-state", tmp / "bad.state",
                           "--save-model", tmp / "bad.onnx"});
  EXPECT_EQ(bad.code, ExitDiverged) << bad.out << bad.err;
  EXPECT_EQ(bad.err, "memc-run: step 3: the loss is nan; stopping (the "
                     "state before step 3 is kept)\n");
  EXPECT_EQ(stepLines(bad.out).size(), 2u) << bad.out;
  RunResult good = withNan({"--steps", "2", "--save-state", tmp / "good.state",
                            "--save-model", tmp / "good.onnx"});
  ASSERT_EQ(good.code, ExitOK) << good.err;
  EXPECT_EQ(readFile(tmp / "bad.state"), readFile(tmp / "good.state"));
  EXPECT_EQ(readFile(tmp / "bad.onnx"), readFile(tmp / "good.onnx"));
  RunResult plain = withNan({"--steps", "5"});
  EXPECT_EQ(plain.code, ExitDiverged);
  EXPECT_EQ(plain.err, "memc-run: step 3: the loss is nan; stopping\n");
}

TEST_F(CudaTrain, ModesDoNotMix) {
  expectRefused(run({tmp / "pkg"}), ExitUsage,
                tmp / "pkg" + ": is a train package: run it with --train");
  fs::create_directories(tmp / "inf");
  writeFile(tmp / "inf/manifest.txt",
            "memc-package 1\ntarget cuda\ninput x f32 2x3\n"
            "output y f32 2x3\n");
  writeFile(tmp / "inf/weights.bin", "");
  writeFile(tmp / "inf/launch_plan.txt", "memc-launch-plan 1\narch sm_90\n"
                                         "copy output:0+0 input:0+0 24\n");
  expectRefused(run({tmp / "inf", "--train", "--data", tmp / "data"}),
                ExitUsage,
                "--train: " + tmp / "inf" +
                    ": not a train package (memc --train writes one)");
  EXPECT_EQ(run({tmp / "inf"}).code, ExitOK);
}

TEST_F(CudaTrain, EveryFileIsCheckedBeforeTheDevice) {
  // Without a driver, what is wrong with the files is still reported as
  // such, with its own exit code; a run that could start is exit 23.
  setenv("MEMC_LIBCUDA", "/nonexistent/libcuda.so.1", 1);
  expectRefused(train({"--resume", tmp / "nope"}), ExitBadState,
                tmp / "nope: cannot open: no such file");
  expectRefused(run({tmp / "pkg", "--train", "--data", tmp / "none"}),
                ExitBadData, tmp / "none: no such data directory");
  expectRefused(train({"--save-model", tmp / "no/dir/out.onnx"}), ExitOutput,
                tmp / "no/dir/out.onnx: cannot write: no such directory");
  writeFile(tmp / "pkg/model.onnx", "garbage");
  expectRefused(train({"--save-model", tmp / "out.onnx"}), ExitBadPackage,
                tmp / "pkg/model.onnx: not an ONNX model");
  expectRefused(train({}), ExitNoDevice,
                "--device cuda: no usable GPU: no CUDA driver");
}

TEST_F(CudaTrain, PlanAddressesOfStatesAndTheStepAreChecked) {
  auto refused = [&](const std::string &manifest, const std::string &plan,
                     const std::string &what) {
    makePackage(tmp / "bad", manifest, plan);
    RunResult r = contains(manifest, "\ntrain ")
                      ? run({tmp / "bad", "--train", "--data", tmp / "data"})
                      : run({tmp / "bad"});
    expectRefused(r, ExitBadPackage, tmp / "bad/launch_plan.txt:");
    EXPECT_TRUE(contains(r.err, what)) << r.err;
  };
  std::string head = "memc-launch-plan 1\narch sm_90\n";
  refused(kManifest, head + "launch k_loss 1 1 1 1 1 1 0 state:1+0 arena+0\n",
          ":3: state:1+0 names a buffer the package does not have");
  refused(kManifest, head + "copy step:0+4 arena+0 8\n",
          ":3: step:0+4 (8 bytes) lies outside its buffer of 8 bytes");
  refused(kManifest, head + "copy arena+0 step:1+0 8\n",
          ":3: step:1+0 names a buffer the package does not have");
  refused(kManifest, head + "copy state:0+4 arena+0 8\n",
          ":3: state:0+4 (8 bytes) lies outside its buffer of 8 bytes");
  refused(kManifest, head + "launch k_loss 1 1 1 1 1 1 0 stat:0+0 arena+0\n",
          ":3: bad kernel argument 'stat:0+0'");
  // GaLore's SVD: the gradient and the projector fit their buffers.
  refused(kManifest, head + "svd 2 1 0 4 2 arena+0 state:0+0\n",
          ":3: state:0+0 (16 bytes) lies outside its buffer of 8 bytes");
  refused(kManifest, head + "svd 2 1 1 32 1 arena+0 state:0+0\n",
          ":3: arena+0 (128 bytes) lies outside its buffer of 64 bytes");
  // An inference package has neither, and so no SVD either.
  std::string inference =
      "memc-package 1\ntarget cuda\narena_bytes 64\ninput x f32 2\n"
      "output y f32 2\n";
  refused(inference, head + "copy output:0+0 state:0+0 8\n",
          ":3: state:0+0 names a buffer the package does not have");
  refused(inference, head + "svd 2 1 1 1 2 arena+0 state:0+0\n",
          ":3: an SVD in a package without a step count (not a train "
          "package)");
}

TEST_F(CudaTrain, SessionReadsWritesAndCheckpointsTheTrainedTensors) {
  memc_cuda_session *s = nullptr;
  ASSERT_EQ(memc_cuda_open((tmp / "pkg").c_str(), 0, &s), MEMC_CUDA_SUCCESS)
      << memc_cuda_last_error();
  // Trainable weights from weights.bin, states zero (on poisoned memory).
  float w[2] = {9, 9}, m[2] = {9, 9};
  void *into[] = {w, m};
  ASSERT_EQ(memc_cuda_read_trained(s, 0, into), MEMC_CUDA_SUCCESS);
  EXPECT_EQ(w[0], 0.5f);
  EXPECT_EQ(w[1], -0.5f);
  EXPECT_EQ(m[0], 0.0f);
  EXPECT_EQ(m[1], 0.0f);
  EXPECT_EQ(memc_cuda_read_trained(s, 1, into), MEMC_CUDA_BAD_PACKAGE);
  EXPECT_STREQ(memc_cuda_last_error(),
               "memc_cuda_read_trained: no checkpoint was taken");
  uint64_t before = memc_cuda_device_bytes(s);
  ASSERT_EQ(memc_cuda_checkpoint(s), MEMC_CUDA_SUCCESS);
  EXPECT_GT(memc_cuda_device_bytes(s), before);

  // A step changes both; the checkpoint keeps what was.
  Batch b = batch(0);
  const void *in[] = {b.x.data(), b.y.data()};
  float loss = -1;
  void *out[] = {&loss};
  ASSERT_EQ(memc_cuda_set_step(s, 1), MEMC_CUDA_SUCCESS);
  ASSERT_EQ(memc_cuda_run(s, in, out, nullptr), MEMC_CUDA_SUCCESS)
      << memc_cuda_last_error();
  EXPECT_EQ(loss, referenceLosses(1)[0]);
  ASSERT_EQ(memc_cuda_read_trained(s, 0, into), MEMC_CUDA_SUCCESS);
  EXPECT_NE(w[0], 0.5f);
  EXPECT_NE(m[0], 0.0f);
  ASSERT_EQ(memc_cuda_read_trained(s, 1, into), MEMC_CUDA_SUCCESS);
  EXPECT_EQ(w[0], 0.5f);
  EXPECT_EQ(m[0], 0.0f);

  // Written values are what the next step starts from; the step count is
  // what the program reads (lr = 0.1 + 0.1 / t).
  float w2[2] = {1, 1}, m2[2] = {0, 0};
  const void *from[] = {w2, m2};
  ASSERT_EQ(memc_cuda_write_trained(s, from), MEMC_CUDA_SUCCESS);
  ASSERT_EQ(memc_cuda_set_step(s, 1000000), MEMC_CUDA_SUCCESS);
  ASSERT_EQ(memc_cuda_run(s, in, out, nullptr), MEMC_CUDA_SUCCESS);
  ASSERT_EQ(memc_cuda_read_trained(s, 0, into), MEMC_CUDA_SUCCESS);
  float err[4], g0 = 0;
  for (int i = 0; i < 4; ++i) {
    float pred = 0;
    for (int j = 0; j < 2; ++j)
      pred += b.x[i * 2 + j] * 1.0f * (j ? 2.0f : 1.0f);
    err[i] = pred - b.y[i];
  }
  for (int i = 0; i < 4; ++i)
    g0 += err[i] * b.x[i * 2] * 1.0f;
  float lr = 0.1f + 0.1f / float(1000000);
  EXPECT_EQ(m[0], 0.9f * 0.0f + g0 / 2);
  EXPECT_EQ(w[0], 1.0f - lr * m[0]);
  memc_cuda_close(s);

  // An inference package has no step to set.
  fs::create_directories(tmp / "inf");
  writeFile(tmp / "inf/manifest.txt",
            "memc-package 1\ntarget cuda\ninput x f32 2\noutput y f32 2\n");
  writeFile(tmp / "inf/weights.bin", "");
  writeFile(tmp / "inf/launch_plan.txt", "memc-launch-plan 1\narch sm_90\n"
                                         "copy output:0+0 input:0+0 8\n");
  ASSERT_EQ(memc_cuda_open((tmp / "inf").c_str(), 0, &s), MEMC_CUDA_SUCCESS)
      << memc_cuda_last_error();
  EXPECT_EQ(memc_cuda_set_step(s, 1), MEMC_CUDA_BAD_PACKAGE);
  EXPECT_STREQ(memc_cuda_last_error(),
               "memc_cuda_set_step: not a train package");
  memc_cuda_close(s);
}

#ifdef MEMC_RUN_PATH
TEST_F(CudaTrain, MemcRunBinaryTrainsOnTheDevice) {
  std::string cmd = std::string("'") + MEMC_RUN_PATH + "' '" + tmp / "pkg" +
                    "' --train --device cuda --data '" + tmp / "data" +
                    "' --steps 3 --save-state '" + tmp / "s" + "' >'" +
                    tmp / "out" + "' 2>&1";
  int status = std::system(cmd.c_str());
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), ExitOK) << readFile(tmp / "out");
  EXPECT_EQ(stepLines(readFile(tmp / "out")).size(), 3u)
      << readFile(tmp / "out");
  EXPECT_TRUE(fs::exists(tmp / "s"));
}
#endif
