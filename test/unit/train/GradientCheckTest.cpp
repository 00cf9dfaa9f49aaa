//===- GradientCheckTest.cpp - memc's gradients against finite differences ===//
//
// One test per op class memc-autodiff differentiates. Each builds a tiny
// ONNX model: inputs x (and labels), trainable f32 initializers W, the op
// under test and a scalar loss L = sum_k ReduceSum(y_k * R_k) with fixed
// random frozen R_k, so every output element matters. Then
//
//  1. memc's gradient: the model compiled with --train --loss=output
//     --optimizer=sgd:lr=1 and run for ONE step in-process (memc-run
//     --train --save-model): g = W - W' (SGD, lr 1, no momentum or decay);
//  2. central differences: the same model with W as graph inputs, compiled
//     once for inference and evaluated at W +- h e_i (h = 1e-2, the quotient
//     in double on the f32 values actually stored) for every element i;
//
// and asks |g - fd| <= 1e-3 + 2e-2 |fd| for each element. The step's loss
// is also checked against the inference model's L(W). Points where an op is
// not differentiable (ties in a max, relu at 0) are avoided by the data.
//
// MEMC_GRADCHECK_VERBOSE=1 prints each case's worst errors;
// MEMC_GRADCHECK_KEEP=1 keeps each case's models and packages in TMPDIR.
//
//===----------------------------------------------------------------------===//

#include "Package.h"
#include "Runner.h"
#include "memc/Driver/Compiler.h"
#include "memc/Driver/TrainOptions.h"
#include "memc/ExitCodes.h"
#include "memc/Runtime/Manifest.h"
#include "memc/Runtime/Tensor.h"
#include "memc/Runtime/TensorIO.h"

#include <onnx/onnx_pb.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <optional>
#include <random>
#include <sstream>
#include <string>
#include <unistd.h>
#include <vector>

namespace fs = std::filesystem;
namespace rt = memc::rt;

namespace {

//===----------------------------------------------------------------------===//
// Files and processes
//===----------------------------------------------------------------------===//

class TempDir {
public:
  TempDir() {
    const char *tmp = std::getenv("TMPDIR");
    std::string tmpl =
        std::string(tmp && *tmp ? tmp : "/tmp") + "/memc-gradcheck-XXXXXX";
    std::vector<char> buf(tmpl.begin(), tmpl.end());
    buf.push_back('\0');
    char *made = ::mkdtemp(buf.data());
    EXPECT_NE(made, nullptr);
    path_ = made ? made : "/nonexistent";
  }
  ~TempDir() {
    // MEMC_GRADCHECK_KEEP=1 keeps the models and packages for a look.
    const char *keep = std::getenv("MEMC_GRADCHECK_KEEP");
    if (keep && *keep && std::string(keep) != "0") {
      std::fprintf(stderr, "kept %s\n", path_.c_str());
      return;
    }
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  TempDir(const TempDir &) = delete;
  TempDir &operator=(const TempDir &) = delete;
  std::string operator/(const std::string &name) const {
    return path_ + "/" + name;
  }

private:
  std::string path_;
};

std::string slurp(std::FILE *f) {
  std::fflush(f);
  std::rewind(f);
  std::string s;
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, f)) > 0)
    s.append(buf, n);
  std::fclose(f);
  return s;
}

std::string readFile(const std::string &path) {
  std::ifstream f(path, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

/// Runs `fn` with the process's stderr (fd 2, where compile() prints its
/// one error line through llvm::errs()) going to a file; returns the text.
template <typename Fn> std::string captureStderr(Fn fn) {
  std::fflush(stderr);
  std::FILE *tmp = std::tmpfile();
  int saved = ::dup(2);
  ::dup2(::fileno(tmp), 2);
  fn();
  std::fflush(stderr);
  ::dup2(saved, 2);
  ::close(saved);
  return slurp(tmp);
}

bool verbose() {
  const char *v = std::getenv("MEMC_GRADCHECK_VERBOSE");
  return v && *v && std::string(v) != "0";
}

//===----------------------------------------------------------------------===//
// Building ONNX models
//===----------------------------------------------------------------------===//

int64_t product(const std::vector<int64_t> &dims) {
  int64_t n = 1;
  for (int64_t d : dims)
    n *= d;
  return n;
}

class Model {
public:
  explicit Model(int64_t opset = 17) {
    proto.set_ir_version(8);
    proto.add_opset_import()->set_version(opset);
    proto.mutable_graph()->set_name("gradcheck");
  }
  onnx::GraphProto &graph() { return *proto.mutable_graph(); }

  void input(const std::string &name, const std::vector<int64_t> &dims,
             int elem = onnx::TensorProto::FLOAT) {
    valueInfo(graph().add_input(), name, dims, elem);
  }
  void output(const std::string &name, const std::vector<int64_t> &dims,
              int elem = onnx::TensorProto::FLOAT) {
    valueInfo(graph().add_output(), name, dims, elem);
  }
  void initF(const std::string &name, const std::vector<int64_t> &dims,
             const std::vector<float> &values) {
    EXPECT_EQ(int64_t(values.size()), product(dims)) << name;
    onnx::TensorProto *t = graph().add_initializer();
    t->set_name(name);
    t->set_data_type(onnx::TensorProto::FLOAT);
    for (int64_t d : dims)
      t->add_dims(d);
    for (float v : values)
      t->add_float_data(v);
  }
  void initI(const std::string &name, const std::vector<int64_t> &dims,
             const std::vector<int64_t> &values) {
    EXPECT_EQ(int64_t(values.size()), product(dims)) << name;
    onnx::TensorProto *t = graph().add_initializer();
    t->set_name(name);
    t->set_data_type(onnx::TensorProto::INT64);
    for (int64_t d : dims)
      t->add_dims(d);
    for (int64_t v : values)
      t->add_int64_data(v);
  }
  /// A scalar f32 constant initializer; returns its name.
  std::string scalar(float value) {
    std::string name = fresh("c");
    initF(name, {}, {value});
    return name;
  }
  /// A 1-D int64 initializer; returns its name.
  std::string ints(const std::vector<int64_t> &values) {
    std::string name = fresh("i");
    initI(name, {int64_t(values.size())}, values);
    return name;
  }

  onnx::NodeProto &node(const std::string &op,
                        const std::vector<std::string> &ins,
                        const std::vector<std::string> &outs) {
    onnx::NodeProto *n = graph().add_node();
    n->set_op_type(op);
    n->set_name(fresh(op));
    for (const std::string &s : ins)
      n->add_input(s);
    for (const std::string &s : outs)
      n->add_output(s);
    return *n;
  }
  /// One node with a single fresh output; returns the output's name.
  std::string op(const std::string &op, const std::vector<std::string> &ins) {
    std::string out = fresh("v");
    node(op, ins, {out});
    return out;
  }
  std::string op(const std::string &op, const std::vector<std::string> &ins,
                 const std::function<void(onnx::NodeProto &)> &attrs) {
    std::string out = fresh("v");
    attrs(node(op, ins, {out}));
    return out;
  }

  std::string fresh(const std::string &prefix) {
    return prefix + "_" + std::to_string(counter++);
  }

  /// The initializer `name`, or null.
  onnx::TensorProto *initializer(const std::string &name) {
    for (onnx::TensorProto &t : *graph().mutable_initializer())
      if (t.name() == name)
        return &t;
    return nullptr;
  }

  onnx::ModelProto proto;

private:
  static void valueInfo(onnx::ValueInfoProto *vi, const std::string &name,
                        const std::vector<int64_t> &dims, int elem) {
    vi->set_name(name);
    auto *tt = vi->mutable_type()->mutable_tensor_type();
    tt->set_elem_type(elem);
    auto *shape = tt->mutable_shape(); // rank 0 stays a known shape
    for (int64_t d : dims)
      shape->add_dim()->set_dim_value(d);
  }

  int counter = 0;
};

void attrI(onnx::NodeProto &n, const std::string &name, int64_t v) {
  onnx::AttributeProto *a = n.add_attribute();
  a->set_name(name);
  a->set_type(onnx::AttributeProto::INT);
  a->set_i(v);
}
void attrF(onnx::NodeProto &n, const std::string &name, float v) {
  onnx::AttributeProto *a = n.add_attribute();
  a->set_name(name);
  a->set_type(onnx::AttributeProto::FLOAT);
  a->set_f(v);
}
void attrIs(onnx::NodeProto &n, const std::string &name,
            const std::vector<int64_t> &v) {
  onnx::AttributeProto *a = n.add_attribute();
  a->set_name(name);
  a->set_type(onnx::AttributeProto::INTS);
  for (int64_t x : v)
    a->add_ints(x);
}

/// Uniform values in [lo, hi).
std::vector<float> uniform(size_t n, float lo, float hi, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> dist(lo, hi);
  std::vector<float> v(n);
  for (float &x : v)
    x = dist(rng);
  return v;
}

/// Values with |v| in [minAbs, maxAbs) and a random sign.
std::vector<float> awayFromZero(size_t n, float minAbs, float maxAbs,
                                uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> mag(minAbs, maxAbs);
  std::bernoulli_distribution sign(0.5);
  std::vector<float> v(n);
  for (float &x : v)
    x = sign(rng) ? mag(rng) : -mag(rng);
  return v;
}

/// The distinct values 0.1 * k (k < n), shuffled: no two within 0.1.
std::vector<float> distinct(size_t n, uint32_t seed, float offset = 0) {
  std::vector<float> v(n);
  for (size_t k = 0; k < n; ++k)
    v[k] = offset + 0.1f * float(k) - 0.05f * float(n);
  std::mt19937 rng(seed);
  std::shuffle(v.begin(), v.end(), rng);
  return v;
}

/// Adds L = sum_k ReduceSum(ys[k] * R_k) as the scalar output "L" (R_k fixed
/// random frozen initializers).
void addLoss(
    Model &m,
    const std::vector<std::pair<std::string, std::vector<int64_t>>> &ys,
    uint32_t seed = 99) {
  std::string total;
  for (auto &[y, dims] : ys) {
    std::string r = m.fresh("R");
    m.initF(r, dims, uniform(size_t(product(dims)), -1, 1, seed++));
    std::string prod = m.op("Mul", {y, r});
    std::string s = m.op("ReduceSum", {prod},
                         [](onnx::NodeProto &n) { attrI(n, "keepdims", 0); });
    total = total.empty() ? s : m.op("Add", {total, s});
  }
  m.node("Identity", {total}, {"L"});
  m.output("L", {});
}

//===----------------------------------------------------------------------===//
// The check
//===----------------------------------------------------------------------===//

/// A graph input's value (labels too).
struct Input {
  std::string name;
  rt::DType dtype = rt::DType::F32;
  std::vector<int64_t> dims;
  std::vector<double> values;

  rt::Tensor tensor() const {
    rt::Tensor t;
    t.dtype = dtype;
    t.dims = dims;
    EXPECT_TRUE(t.allocate());
    EXPECT_EQ(values.size(), t.numElements()) << name;
    for (size_t i = 0; i < values.size(); ++i) {
      char *p = static_cast<char *>(t.buffer.data());
      switch (dtype) {
      case rt::DType::F32:
        reinterpret_cast<float *>(p)[i] = float(values[i]);
        break;
      case rt::DType::I64:
        reinterpret_cast<int64_t *>(p)[i] = int64_t(values[i]);
        break;
      default:
        ADD_FAILURE() << "unsupported input dtype for " << name;
      }
    }
    return t;
  }
};

Input inputF(const std::string &name, const std::vector<int64_t> &dims,
             const std::vector<float> &values) {
  return {name, rt::DType::F32, dims,
          std::vector<double>(values.begin(), values.end())};
}
Input inputI(const std::string &name, const std::vector<int64_t> &dims,
             const std::vector<int64_t> &values) {
  return {name, rt::DType::I64, dims,
          std::vector<double>(values.begin(), values.end())};
}

struct GradCheck {
  /// The model that trains: scalar output "L" with --loss=output, or the
  /// logits with --loss=cross-entropy.
  Model train;
  /// The model the finite differences evaluate (output "L"); default: the
  /// train model.
  std::optional<Model> fd;
  std::vector<std::string> trainable;
  std::vector<Input> inputs; ///< graph inputs
  std::vector<Input> labels; ///< --loss=cross-entropy: the labels
  std::string loss = "output";
  double h = 1e-2;
  double atol = 1e-3, rtol = 2e-2;
  /// Checks of the saved model after the step beyond the gradients (the
  /// running statistics a step updates).
  std::function<void(const onnx::ModelProto &trained)> checkTrained;
};

std::vector<float> initializerValues(const onnx::TensorProto &t) {
  std::vector<float> v;
  if (t.has_raw_data()) {
    v.resize(t.raw_data().size() / 4);
    std::memcpy(v.data(), t.raw_data().data(), v.size() * 4);
  } else {
    v.assign(t.float_data().begin(), t.float_data().end());
  }
  return v;
}

std::vector<int64_t> initializerDims(const onnx::TensorProto &t) {
  return std::vector<int64_t>(t.dims().begin(), t.dims().end());
}

/// The FD model compiled for inference with the trainable initializers as
/// graph inputs, evaluated at chosen W.
class Evaluator {
public:
  bool load(const std::string &dir, const std::vector<Input> &inputs,
            const std::vector<std::string> &weights, std::string &error) {
    if (!pkg.load(dir, error))
      return false;
    const rt::Manifest &m = pkg.manifest();
    for (const rt::TensorSpec &spec : m.inputs) {
      rt::Tensor t;
      bool found = false;
      for (const Input &in : inputs)
        if (in.name == spec.name) {
          t = in.tensor();
          found = true;
        }
      if (!found) {
        auto w = std::find(weights.begin(), weights.end(), spec.name);
        if (w == weights.end()) {
          error = "no value for input '" + spec.name + "'";
          return false;
        }
        t.dtype = spec.dtype;
        t.dims = spec.dims;
        t.allocate();
        weightBuffers[spec.name] = static_cast<float *>(t.buffer.data());
        weightSizes[spec.name] = spec.numElements;
      }
      if (t.dtype != spec.dtype || t.numElements() != spec.numElements) {
        error = "input '" + spec.name + "' does not match the manifest";
        return false;
      }
      ins.push_back(std::move(t));
    }
    for (const rt::TensorSpec &spec : m.outputs) {
      rt::Tensor t;
      t.dtype = spec.dtype;
      t.dims = spec.dims;
      t.allocate();
      if (spec.name == "L") {
        if (spec.dtype != rt::DType::F32 || spec.numElements != 1) {
          error = "output L is not an f32 scalar";
          return false;
        }
        lossOut = static_cast<float *>(t.buffer.data());
      }
      outs.push_back(std::move(t));
    }
    if (!lossOut) {
      error = "no output 'L'";
      return false;
    }
    for (rt::Tensor &t : ins)
      args.push_back(t.buffer.data());
    for (size_t i = 0; i < m.weights.size(); ++i)
      args.push_back(pkg.weightData(i));
    for (rt::Tensor &t : outs)
      args.push_back(t.buffer.data());
    if (m.arenaBytes > 0) {
      arena.allocate(m.arenaBytes);
      args.push_back(arena.data());
    }
    if (m.hostPoolBytes > 0) {
      hostPool.allocate(m.hostPoolBytes);
      args.push_back(hostPool.data());
    }
    return true;
  }

  double eval(const std::map<std::string, std::vector<float>> &w) {
    for (auto &[name, values] : w) {
      EXPECT_EQ(values.size(), weightSizes[name]) << name;
      std::memcpy(weightBuffers.at(name), values.data(), values.size() * 4);
    }
    pkg.entry()(args.data());
    return double(*lossOut);
  }

private:
  rt::Package pkg;
  std::vector<rt::Tensor> ins, outs;
  rt::AlignedBuffer arena, hostPool;
  std::vector<void *> args;
  std::map<std::string, float *> weightBuffers;
  std::map<std::string, uint64_t> weightSizes;
  float *lossOut = nullptr;
};

std::string join(const std::vector<std::string> &v) {
  std::string s;
  for (const std::string &x : v)
    s += (s.empty() ? "" : ",") + x;
  return s;
}

memc::ExitCode compileTrain(const std::string &model, const std::string &pkg,
                            const std::string &loss,
                            const std::vector<std::string> &trainable,
                            std::string &error) {
  memc::CompilerOptions o;
  o.input = model;
  o.output = pkg;
  o.optLevel = 1;
  o.train.enabled = true;
  if (memc::ExitCode rc = memc::parseLoss(loss, o.train, error))
    return rc;
  if (memc::ExitCode rc =
          memc::parseOptimizer("sgd:lr=1", o.train.optimizer, error))
    return rc;
  if (memc::ExitCode rc =
          memc::parseTrainable(join(trainable), "", o.train, error))
    return rc;
  memc::ExitCode rc = memc::ExitOK;
  error = captureStderr([&] { rc = memc::compile(o); });
  return rc;
}

void writeModel(const onnx::ModelProto &m, const std::string &path) {
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  ASSERT_TRUE(m.SerializeToOstream(&f)) << path;
}

void runGradCheck(GradCheck &c) {
  TempDir tmp;
  const Model &fdModel = c.fd ? *c.fd : c.train;

  // The train model's W, as the step starts from.
  std::map<std::string, std::vector<float>> w0;
  std::map<std::string, std::vector<int64_t>> wDims;
  for (const std::string &name : c.trainable) {
    onnx::TensorProto *t = c.train.initializer(name);
    ASSERT_TRUE(t) << "no initializer " << name;
    w0[name] = initializerValues(*t);
    wDims[name] = initializerDims(*t);
    ASSERT_LE(w0[name].size(), 64u) << name << ": keep W small";
  }

  // 1. One SGD step (lr = 1): g = W - W'.
  ASSERT_NO_FATAL_FAILURE(writeModel(c.train.proto, tmp / "train.onnx"));
  std::string error;
  memc::ExitCode rc = compileTrain(tmp / "train.onnx", tmp / "train.pkg",
                                   c.loss, c.trainable, error);
  ASSERT_EQ(rc, memc::ExitOK) << "compile --train: " << error;
  rt::Manifest manifest;
  ASSERT_TRUE(rt::parseManifest(readFile(tmp / "train.pkg/manifest.txt"),
                                "manifest.txt", manifest, error))
      << error;
  std::string batch = tmp / "data/test_data_set_0";
  fs::create_directories(batch);
  for (size_t i = 0; i < manifest.inputs.size(); ++i) {
    // The graph inputs by name; the labels are the train step's last input.
    const Input *value = nullptr;
    for (const Input &in : c.inputs)
      if (in.name == manifest.inputs[i].name)
        value = &in;
    if (!value && !c.labels.empty() && i + 1 == manifest.inputs.size())
      value = &c.labels.front();
    ASSERT_TRUE(value) << "no data for input " << manifest.inputs[i].name;
    ASSERT_TRUE(
        rt::writeTensorFile(batch + "/input_" + std::to_string(i) + ".pb",
                            value->tensor(), value->name, error))
        << error;
  }
  std::vector<std::string> argv = {
      "memc-run", tmp / "train.pkg", "--train",
      "--data",   tmp / "data",      "--steps",
      "1",        "--save-model",    tmp / "trained.onnx"};
  std::vector<const char *> cargv;
  for (const std::string &a : argv)
    cargv.push_back(a.c_str());
  std::FILE *out = std::tmpfile(), *err = std::tmpfile();
  int code = rt::memcRunMain(int(cargv.size()), cargv.data(), out, err);
  std::string outText = slurp(out), errText = slurp(err);
  ASSERT_EQ(code, 0) << outText << errText;
  double stepLoss = NAN;
  {
    std::istringstream in(outText);
    for (std::string line; std::getline(in, line);)
      if (line.rfind("step 1 loss ", 0) == 0)
        stepLoss = std::strtod(line.c_str() + 12, nullptr);
  }
  ASSERT_FALSE(std::isnan(stepLoss)) << outText;
  onnx::ModelProto trained;
  ASSERT_TRUE(trained.ParseFromString(readFile(tmp / "trained.onnx")));
  std::map<std::string, std::vector<float>> w1;
  for (const onnx::TensorProto &t : trained.graph().initializer())
    if (w0.count(t.name()))
      w1[t.name()] = initializerValues(t);
  if (c.checkTrained) {
    ASSERT_NO_FATAL_FAILURE(c.checkTrained(trained));
  }

  // 2. The FD model with W as inputs, compiled for inference once.
  onnx::ModelProto infer = fdModel.proto;
  {
    onnx::GraphProto *g = infer.mutable_graph();
    auto *inits = g->mutable_initializer();
    for (int i = inits->size() - 1; i >= 0; --i)
      if (w0.count(inits->Get(i).name()))
        inits->DeleteSubrange(i, 1);
    for (const std::string &name : c.trainable) {
      onnx::ValueInfoProto *vi = g->add_input();
      vi->set_name(name);
      auto *tt = vi->mutable_type()->mutable_tensor_type();
      tt->set_elem_type(onnx::TensorProto::FLOAT);
      auto *shape = tt->mutable_shape();
      for (int64_t d : wDims[name])
        shape->add_dim()->set_dim_value(d);
    }
  }
  ASSERT_NO_FATAL_FAILURE(writeModel(infer, tmp / "infer.onnx"));
  {
    memc::CompilerOptions o;
    o.input = tmp / "infer.onnx";
    o.output = tmp / "infer.pkg";
    o.optLevel = 1;
    memc::ExitCode irc = memc::ExitOK;
    std::string msg = captureStderr([&] { irc = memc::compile(o); });
    ASSERT_EQ(irc, memc::ExitOK) << "compile (inference): " << msg;
  }
  Evaluator ev;
  ASSERT_TRUE(ev.load(tmp / "infer.pkg", c.inputs, c.trainable, error))
      << error;

  double l0 = ev.eval(w0);
  EXPECT_NEAR(stepLoss, l0, 1e-5 + 1e-5 * std::fabs(l0))
      << "the train step's loss differs from the inference model's L(W)";

  const ::testing::TestInfo *info =
      ::testing::UnitTest::GetInstance()->current_test_info();
  for (const std::string &name : c.trainable) {
    ASSERT_TRUE(w1.count(name)) << "--save-model lacks " << name;
    const std::vector<float> &a = w0[name], &b = w1[name];
    ASSERT_EQ(a.size(), b.size()) << name;
    double maxErr = 0, maxRatio = 0, maxFd = 0;
    int failures = 0;
    std::map<std::string, std::vector<float>> w = w0;
    for (size_t i = 0; i < a.size(); ++i) {
      std::vector<float> &wi = w[name];
      float plus = float(double(a[i]) + c.h), minus = float(double(a[i]) - c.h);
      wi[i] = plus;
      double lp = ev.eval(w);
      wi[i] = minus;
      double lm = ev.eval(w);
      wi[i] = a[i];
      double fd = (lp - lm) / (double(plus) - double(minus));
      double g = double(a[i]) - double(b[i]);
      double err = std::fabs(g - fd), tol = c.atol + c.rtol * std::fabs(fd);
      maxErr = std::max(maxErr, err);
      maxRatio = std::max(maxRatio, err / tol);
      maxFd = std::max(maxFd, std::fabs(fd));
      if (err > tol && ++failures <= 5)
        ADD_FAILURE() << info->name() << ": d L / d " << name << "[" << i
                      << "]: memc " << g << ", finite differences " << fd
                      << " (|diff| " << err << " > " << tol << ")";
    }
    EXPECT_EQ(failures, 0) << name << ": " << failures << " of " << a.size()
                           << " elements off; max |g - fd| " << maxErr;
    // The case must exercise the rule: some gradient is not ~0.
    EXPECT_GT(maxFd, 1e-2) << name << ": all finite differences ~0";
    if (verbose())
      std::printf("gradcheck %-22s %-4s %2zu elems  max|fd| %.3e  max|g-fd| "
                  "%.3e  max err/tol %.3f  (loss %.6g)\n",
                  info->name(), name.c_str(), a.size(), maxFd, maxErr, maxRatio,
                  l0);
  }
}

//===----------------------------------------------------------------------===//
// Cases
//===----------------------------------------------------------------------===//

TEST(GradientCheck, MatMul) {
  // Batched x [2,3,4] @ W [4,5]: W's gradient sums over batch and rows.
  GradCheck c;
  Model &m = c.train;
  m.input("x", {2, 3, 4});
  m.initF("W", {4, 5}, uniform(20, -1, 1, 1));
  addLoss(m, {{m.op("MatMul", {"x", "W"}), {2, 3, 5}}});
  c.trainable = {"W"};
  c.inputs = {inputF("x", {2, 3, 4}, uniform(24, -1, 1, 2))};
  runGradCheck(c);
}

TEST(GradientCheck, GemmTransB) {
  // alpha * x @ W^T + beta * C, W and C trainable.
  GradCheck c;
  Model &m = c.train;
  m.input("x", {3, 4});
  m.initF("W", {5, 4}, uniform(20, -1, 1, 3));
  m.initF("C", {5}, uniform(5, -1, 1, 4));
  std::string y = m.op("Gemm", {"x", "W", "C"}, [](onnx::NodeProto &n) {
    attrI(n, "transB", 1);
    attrF(n, "alpha", 0.75f);
    attrF(n, "beta", 1.5f);
  });
  addLoss(m, {{y, {3, 5}}});
  c.trainable = {"W", "C"};
  c.inputs = {inputF("x", {3, 4}, uniform(12, -1, 1, 5))};
  runGradCheck(c);
}

TEST(GradientCheck, Conv) {
  // Conv 2-D, stride 2, padding 1, of (x * U): the weights' and bias's
  // gradients, and through the input gradient U's.
  GradCheck c;
  Model &m = c.train;
  m.input("x", {1, 2, 5, 5});
  m.initF("U", {2, 5, 5}, uniform(50, -1, 1, 6));
  m.initF("W", {3, 2, 3, 3}, uniform(54, -1, 1, 7));
  m.initF("B", {3}, uniform(3, -1, 1, 8));
  std::string a = m.op("Mul", {"x", "U"});
  std::string y = m.op("Conv", {a, "W", "B"}, [](onnx::NodeProto &n) {
    attrIs(n, "kernel_shape", {3, 3});
    attrIs(n, "strides", {2, 2});
    attrIs(n, "pads", {1, 1, 1, 1});
  });
  addLoss(m, {{y, {1, 3, 3, 3}}});
  c.trainable = {"U", "W", "B"};
  c.inputs = {inputF("x", {1, 2, 5, 5}, uniform(50, -1, 1, 9))};
  runGradCheck(c);
}

TEST(GradientCheck, ConvGroupedDilated) {
  // Two groups, dilation 2, strides 2x1, asymmetric padding, no bias.
  GradCheck c;
  Model &m = c.train;
  m.input("x", {1, 2, 6, 6});
  m.initF("U", {2, 1, 1}, uniform(2, -1, 1, 31));
  m.initF("W", {4, 1, 2, 2}, uniform(16, -1, 1, 32));
  std::string a = m.op("Mul", {"x", "U"});
  std::string y = m.op("Conv", {a, "W"}, [](onnx::NodeProto &n) {
    attrIs(n, "kernel_shape", {2, 2});
    attrIs(n, "strides", {2, 1});
    attrIs(n, "dilations", {2, 2});
    attrIs(n, "pads", {1, 0, 0, 1});
    attrI(n, "group", 2);
  });
  addLoss(m, {{y, {1, 4, 3, 5}}});
  c.trainable = {"U", "W"};
  c.inputs = {inputF("x", {1, 2, 6, 6}, uniform(72, -1, 1, 33))};
  runGradCheck(c);
}

/// Pools of (U + x): U distinct multiples of 0.1 and x in [0, 0.02), so no
/// two window elements are within 2h of each other.
void poolCase(const std::string &op, bool countIncludePad) {
  GradCheck c;
  Model &m = c.train;
  m.input("x", {1, 1, 6, 6});
  m.initF("U", {1, 1, 6, 6}, distinct(36, 10));
  std::string a = m.op("Add", {"U", "x"});
  std::string y = m.op(op, {a}, [&](onnx::NodeProto &n) {
    attrIs(n, "kernel_shape", {3, 3});
    attrIs(n, "strides", {2, 2});
    attrIs(n, "pads", {1, 1, 1, 1});
    if (op == "AveragePool")
      attrI(n, "count_include_pad", countIncludePad ? 1 : 0);
  });
  addLoss(m, {{y, {1, 1, 3, 3}}});
  c.trainable = {"U"};
  c.inputs = {inputF("x", {1, 1, 6, 6}, uniform(36, 0, 0.02f, 11))};
  runGradCheck(c);
}

TEST(GradientCheck, MaxPool) { poolCase("MaxPool", false); }
TEST(GradientCheck, AveragePool) { poolCase("AveragePool", false); }
TEST(GradientCheck, AveragePoolCountIncludePad) {
  poolCase("AveragePool", true);
}

TEST(GradientCheck, BatchNormalization) {
  // Inference form; scale, bias and an upstream U (x * U) trainable.
  GradCheck c;
  Model &m = c.train;
  m.input("x", {2, 3, 2, 2});
  m.initF("U", {3, 1, 1}, uniform(3, 0.5f, 1.5f, 12));
  m.initF("S", {3}, uniform(3, 0.5f, 1.5f, 13));
  m.initF("Bb", {3}, uniform(3, -1, 1, 14));
  m.initF("mean", {3}, uniform(3, -0.5f, 0.5f, 15));
  m.initF("var", {3}, uniform(3, 0.5f, 2, 16));
  std::string a = m.op("Mul", {"x", "U"});
  std::string y = m.op("BatchNormalization", {a, "S", "Bb", "mean", "var"},
                       [](onnx::NodeProto &n) { attrF(n, "epsilon", 1e-3f); });
  addLoss(m, {{y, {2, 3, 2, 2}}});
  c.trainable = {"U", "S", "Bb"};
  c.inputs = {inputF("x", {2, 3, 2, 2}, uniform(24, -1, 1, 17))};
  runGradCheck(c);
}

TEST(GradientCheck, BatchNormalizationTrainingMode) {
  // training_mode=1: normalized by the batch's statistics, so the gradient
  // flows through the mean and variance of (x * U) too; the step writes the
  // running statistics (ONNX: population variance) back into the model.
  GradCheck c;
  Model &m = c.train;
  m.input("x", {2, 3, 2, 2});
  // U varies within a channel: a per-channel scale would be normalized away
  // (its gradient ~0).
  std::vector<float> u = uniform(12, 0.5f, 1.5f, 22);
  std::vector<float> mean0 = uniform(3, -0.5f, 0.5f, 25);
  std::vector<float> var0 = uniform(3, 0.5f, 2, 26);
  std::vector<float> x = uniform(24, -1, 1, 27);
  m.initF("U", {3, 2, 2}, u);
  m.initF("S", {3}, uniform(3, 0.5f, 1.5f, 23));
  m.initF("Bb", {3}, uniform(3, -1, 1, 24));
  m.initF("mean", {3}, mean0);
  m.initF("var", {3}, var0);
  std::string a = m.op("Mul", {"x", "U"});
  std::string y = m.op("BatchNormalization", {a, "S", "Bb", "mean", "var"},
                       [](onnx::NodeProto &n) {
                         attrF(n, "epsilon", 1e-3f);
                         attrF(n, "momentum", 0.8f);
                         attrI(n, "training_mode", 1);
                       });
  // Y alone is normalized per channel; a weighted sum keeps the loss's
  // gradient through the statistics away from zero.
  m.initF("Wy", {3, 2, 2}, uniform(12, -1, 1, 28));
  addLoss(m, {{m.op("Mul", {y, "Wy"}), {2, 3, 2, 2}}});
  c.trainable = {"U", "S", "Bb"};
  c.inputs = {inputF("x", {2, 3, 2, 2}, x)};
  c.checkTrained = [&](const onnx::ModelProto &trained) {
    // The batch's statistics of x * U0, per channel, in double.
    std::vector<double> mean(3, 0), var(3, 0);
    auto at = [&](int n, int ch, int k) {
      return double(x[(n * 3 + ch) * 4 + k]) * u[ch * 4 + k];
    };
    for (int ch = 0; ch < 3; ++ch) {
      for (int n = 0; n < 2; ++n)
        for (int k = 0; k < 4; ++k)
          mean[ch] += at(n, ch, k) / 8;
      for (int n = 0; n < 2; ++n)
        for (int k = 0; k < 4; ++k)
          var[ch] += std::pow(at(n, ch, k) - mean[ch], 2) / 8;
    }
    std::map<std::string, std::vector<float>> saved;
    for (const onnx::TensorProto &t : trained.graph().initializer())
      saved[t.name()] = initializerValues(t);
    ASSERT_EQ(saved["mean"].size(), 3u);
    ASSERT_EQ(saved["var"].size(), 3u);
    for (int ch = 0; ch < 3; ++ch) {
      EXPECT_NEAR(saved["mean"][ch], 0.8 * mean0[ch] + 0.2 * mean[ch], 1e-5);
      EXPECT_NEAR(saved["var"][ch], 0.8 * var0[ch] + 0.2 * var[ch], 1e-5);
    }
  };
  runGradCheck(c);
}

TEST(GradientCheck, LayerNormalization) {
  // Over the last axis of (x * U); scale, bias and U trainable.
  GradCheck c;
  Model &m = c.train;
  m.input("x", {2, 3, 8});
  m.initF("U", {3, 8}, uniform(24, 0.5f, 1.5f, 18));
  m.initF("S", {8}, uniform(8, 0.5f, 1.5f, 19));
  m.initF("Bb", {8}, uniform(8, -1, 1, 20));
  std::string a = m.op("Mul", {"x", "U"});
  std::string y =
      m.op("LayerNormalization", {a, "S", "Bb"}, [](onnx::NodeProto &n) {
        attrI(n, "axis", -1);
        attrF(n, "epsilon", 1e-5f);
      });
  addLoss(m, {{y, {2, 3, 8}}});
  c.trainable = {"U", "S", "Bb"};
  c.inputs = {inputF("x", {2, 3, 8}, uniform(48, -1, 1, 21))};
  runGradCheck(c);
}

/// op(x * U) over `axis`, x [2,3,5], U [3,5].
void softmaxCase(const std::string &op, int64_t axis) {
  GradCheck c;
  Model &m = c.train;
  m.input("x", {2, 3, 5});
  m.initF("U", {3, 5}, uniform(15, -1.5f, 1.5f, 22));
  std::string a = m.op("Mul", {"x", "U"});
  std::string y =
      m.op(op, {a}, [&](onnx::NodeProto &n) { attrI(n, "axis", axis); });
  addLoss(m, {{y, {2, 3, 5}}});
  c.trainable = {"U"};
  c.inputs = {inputF("x", {2, 3, 5}, uniform(30, -2, 2, 23))};
  runGradCheck(c);
}

TEST(GradientCheck, Softmax) {
  softmaxCase("Softmax", -1);
  softmaxCase("Softmax", 1);
}
TEST(GradientCheck, LogSoftmax) {
  softmaxCase("LogSoftmax", -1);
  softmaxCase("LogSoftmax", 1);
}

TEST(GradientCheck, GeluErf) {
  // a * 0.5 * (1 + erf(a / sqrt 2)), a = x * U + B.
  GradCheck c;
  Model &m = c.train;
  m.input("x", {2, 4, 4});
  m.initF("U", {4, 4}, uniform(16, -1.5f, 1.5f, 24));
  m.initF("B", {4}, uniform(4, -1, 1, 25));
  std::string a = m.op("Add", {m.op("Mul", {"x", "U"}), "B"});
  std::string e = m.op("Erf", {m.op("Div", {a, m.scalar(std::sqrt(2.0f))})});
  std::string y = m.op(
      "Mul", {m.op("Mul", {a, m.scalar(0.5f)}), m.op("Add", {e, m.scalar(1)})});
  addLoss(m, {{y, {2, 4, 4}}});
  c.trainable = {"U", "B"};
  c.inputs = {inputF("x", {2, 4, 4}, uniform(32, -2, 2, 26))};
  runGradCheck(c);
}

/// op(x * U + B), x [2,4,4]; x and B chosen so that |x * U + B| >= 0.15
/// everywhere (Relu stays on one side of its kink for every step of h).
void unaryCase(const std::string &op, uint32_t seed) {
  GradCheck c;
  Model &m = c.train;
  m.input("x", {2, 4, 4});
  std::vector<float> x = uniform(32, -1.5f, 1.5f, seed);
  std::vector<float> u = uniform(16, -1.5f, 1.5f, seed + 1);
  std::vector<float> b = uniform(4, -0.5f, 0.5f, seed + 2);
  // Shift x away from the kink instead of B (B is shared by 8 elements).
  for (size_t i = 0; i < x.size(); ++i) {
    float a = x[i] * u[i % 16] + b[i % 4];
    if (std::fabs(a) < 0.15f && std::fabs(u[i % 16]) > 0.2f)
      x[i] += (a >= 0 ? 0.3f : -0.3f) / u[i % 16];
    else if (std::fabs(a) < 0.15f)
      x[i] = 0; // a = b: keep b away from 0 below
  }
  for (float &v : b)
    if (std::fabs(v) < 0.15f)
      v = v >= 0 ? 0.3f : -0.3f;
  m.initF("U", {4, 4}, u);
  m.initF("B", {4}, b);
  std::string a = m.op("Add", {m.op("Mul", {"x", "U"}), "B"});
  addLoss(m, {{m.op(op, {a}), {2, 4, 4}}});
  c.trainable = {"U", "B"};
  c.inputs = {inputF("x", {2, 4, 4}, x)};
  runGradCheck(c);
}

TEST(GradientCheck, Tanh) { unaryCase("Tanh", 30); }
TEST(GradientCheck, Relu) { unaryCase("Relu", 40); }
TEST(GradientCheck, Sigmoid) { unaryCase("Sigmoid", 50); }

/// Gather(E, idx) on `axis`; the loss sees all of the result.
void gatherCase(const std::vector<int64_t> &tableDims, int64_t axis,
                const std::vector<int64_t> &idxDims,
                const std::vector<int64_t> &idx,
                const std::vector<int64_t> &outDims) {
  GradCheck c;
  Model &m = c.train;
  m.input("idx", idxDims, onnx::TensorProto::INT64);
  m.initF("E", tableDims, uniform(size_t(product(tableDims)), -1, 1, 60));
  std::string y = m.op("Gather", {"E", "idx"},
                       [&](onnx::NodeProto &n) { attrI(n, "axis", axis); });
  addLoss(m, {{y, outDims}});
  c.trainable = {"E"};
  c.inputs = {inputI("idx", idxDims, idx)};
  runGradCheck(c);
}

TEST(GradientCheck, Gather) {
  // An embedding table E [10,4] read at indices with repeats (the scatter-add
  // must accumulate), negative ones counting from the end; and columns.
  gatherCase({10, 4}, 0, {2, 3}, {1, 3, 1, 7, 3, 1}, {2, 3, 4});
  gatherCase({10, 4}, 0, {2, 3}, {1, -1, 1, 7, -3, 9}, {2, 3, 4});
  gatherCase({4, 10}, 1, {3}, {2, 5, 2}, {4, 3});
}

TEST(GradientCheck, Slice) {
  // A strided slice of (x * U) on two axes.
  GradCheck c;
  Model &m = c.train;
  m.input("x", {4, 6});
  m.initF("U", {4, 6}, uniform(24, -1, 1, 61));
  std::string a = m.op("Mul", {"x", "U"});
  std::string y = m.op("Slice", {a, m.ints({1, 0}), m.ints({4, 6}),
                                 m.ints({0, 1}), m.ints({1, 2})});
  addLoss(m, {{y, {3, 3}}});
  c.trainable = {"U"};
  c.inputs = {inputF("x", {4, 6}, uniform(24, -1, 1, 62))};
  runGradCheck(c);
}

TEST(GradientCheck, Concat) {
  GradCheck c;
  Model &m = c.train;
  m.input("x", {2, 3});
  m.initF("U", {2, 3}, uniform(6, -1, 1, 63));
  m.initF("V", {2, 4}, uniform(8, -1, 1, 64));
  std::string a = m.op("Tanh", {m.op("Mul", {"x", "U"})});
  std::string y = m.op("Concat", {a, "V", a},
                       [](onnx::NodeProto &n) { attrI(n, "axis", 1); });
  addLoss(m, {{y, {2, 10}}});
  c.trainable = {"U", "V"};
  c.inputs = {inputF("x", {2, 3}, uniform(6, -1, 1, 65))};
  runGradCheck(c);
}

TEST(GradientCheck, Split) {
  // Both parts of a split of (x * U) reach the loss, one through Tanh.
  GradCheck c;
  Model &m = c.train;
  m.input("x", {3, 6});
  m.initF("U", {3, 6}, uniform(18, -1, 1, 66));
  std::string a = m.op("Mul", {"x", "U"});
  attrI(m.node("Split", {a, m.ints({2, 4})}, {"s0", "s1"}), "axis", 1);
  addLoss(m, {{"s0", {3, 2}}, {m.op("Tanh", {"s1"}), {3, 4}}});
  c.trainable = {"U"};
  c.inputs = {inputF("x", {3, 6}, uniform(18, -1, 1, 67))};
  runGradCheck(c);
}

TEST(GradientCheck, Transpose) {
  GradCheck c;
  Model &m = c.train;
  m.input("x", {2, 3, 4});
  m.initF("U", {2, 3, 4}, uniform(24, -1, 1, 68));
  std::string a = m.op("Mul", {"x", "U"});
  std::string t = m.op("Transpose", {a}, [](onnx::NodeProto &n) {
    attrIs(n, "perm", {2, 0, 1});
  });
  // A non-elementwise consumer, so the layout matters: t @ V.
  m.initF("V", {3, 2}, uniform(6, -1, 1, 69));
  std::string y = m.op("MatMul", {t, "V"});
  addLoss(m, {{y, {4, 2, 2}}});
  c.trainable = {"U", "V"};
  c.inputs = {inputF("x", {2, 3, 4}, uniform(24, -1, 1, 70))};
  runGradCheck(c);
}

TEST(GradientCheck, Reshape) {
  GradCheck c;
  Model &m = c.train;
  m.input("x", {2, 3, 4});
  m.initF("U", {2, 3, 4}, uniform(24, -1, 1, 71));
  std::string a = m.op("Mul", {"x", "U"});
  std::string r = m.op("Reshape", {a, m.ints({4, 6})});
  m.initF("V", {6, 2}, uniform(12, -1, 1, 72));
  std::string y = m.op("MatMul", {r, "V"});
  addLoss(m, {{y, {4, 2}}});
  c.trainable = {"U", "V"};
  c.inputs = {inputF("x", {2, 3, 4}, uniform(24, -1, 1, 73))};
  runGradCheck(c);
}

TEST(GradientCheck, Expand) {
  // U [3,1] expanded to [2,3,4]: its gradient sums over the broadcast.
  GradCheck c;
  Model &m = c.train;
  m.input("x", {2, 3, 4});
  m.initF("U", {3, 1}, uniform(3, -1, 1, 74));
  std::string e = m.op("Expand", {"U", m.ints({2, 3, 4})});
  std::string y = m.op("Tanh", {m.op("Mul", {e, "x"})});
  addLoss(m, {{y, {2, 3, 4}}});
  c.trainable = {"U"};
  c.inputs = {inputF("x", {2, 3, 4}, uniform(24, -1, 1, 75))};
  runGradCheck(c);
}

TEST(GradientCheck, Where) {
  // where(x > 0, U, V * x): each branch gets the gradient where chosen.
  GradCheck c;
  Model &m = c.train;
  m.input("x", {3, 4});
  m.initF("U", {3, 4}, uniform(12, -1, 1, 76));
  m.initF("V", {4}, uniform(4, -1, 1, 77));
  std::string cond = m.op("Greater", {"x", m.scalar(0)});
  std::string y = m.op("Where", {cond, "U", m.op("Mul", {"V", "x"})});
  addLoss(m, {{y, {3, 4}}});
  c.trainable = {"U", "V"};
  c.inputs = {inputF("x", {3, 4}, awayFromZero(12, 0.2f, 1.5f, 78))};
  runGradCheck(c);
}

TEST(GradientCheck, ReduceMean) {
  GradCheck c;
  Model &m = c.train;
  m.input("x", {2, 3, 4});
  m.initF("U", {3, 4}, uniform(12, -1, 1, 79));
  std::string a = m.op("Mul", {"x", "U"});
  std::string y0 = m.op("ReduceMean", {a}, [](onnx::NodeProto &n) {
    attrIs(n, "axes", {1});
    attrI(n, "keepdims", 1);
  });
  std::string y1 = m.op("ReduceMean", {a}, [](onnx::NodeProto &n) {
    attrIs(n, "axes", {0, 2});
    attrI(n, "keepdims", 0);
  });
  addLoss(m, {{y0, {2, 1, 4}}, {m.op("Tanh", {y1}), {3}}});
  c.trainable = {"U"};
  c.inputs = {inputF("x", {2, 3, 4}, uniform(24, -1, 1, 80))};
  runGradCheck(c);
}

TEST(GradientCheck, ReduceMax) {
  // Max over the last axis of (U + x): distinct values, no ties within 2h.
  GradCheck c;
  Model &m = c.train;
  m.input("x", {2, 3, 4});
  m.initF("U", {3, 4}, distinct(12, 81));
  std::string a = m.op("Add", {"U", "x"});
  std::string y = m.op("ReduceMax", {a}, [](onnx::NodeProto &n) {
    attrIs(n, "axes", {2});
    attrI(n, "keepdims", 0);
  });
  addLoss(m, {{y, {2, 3}}});
  c.trainable = {"U"};
  // x's own spread stays under the 0.1 gaps of U.
  c.inputs = {inputF("x", {2, 3, 4}, uniform(24, 0, 0.04f, 82))};
  runGradCheck(c);
}

TEST(GradientCheck, Pow) {
  // (x + U) ^ V with both trainable (base in [1, 2]), and a ^ 3 by a
  // constant exponent.
  GradCheck c;
  Model &m = c.train;
  m.input("x", {2, 6});
  m.initF("U", {2, 6}, uniform(12, 0.5f, 1, 83));
  m.initF("V", {6}, uniform(6, -1.5f, 2, 84));
  std::string a = m.op("Add", {"x", "U"});
  std::string y0 = m.op("Pow", {a, "V"});
  std::string y1 = m.op("Pow", {a, m.scalar(3)});
  addLoss(m, {{y0, {2, 6}}, {y1, {2, 6}}});
  c.trainable = {"U", "V"};
  c.inputs = {inputF("x", {2, 6}, uniform(12, 0.5f, 1, 85))};
  runGradCheck(c);
}

TEST(GradientCheck, Sqrt) {
  GradCheck c;
  Model &m = c.train;
  m.input("x", {3, 5});
  m.initF("U", {3, 5}, uniform(15, 0.5f, 1.5f, 86));
  addLoss(m, {{m.op("Sqrt", {m.op("Mul", {"x", "U"})}), {3, 5}}});
  c.trainable = {"U"};
  c.inputs = {inputF("x", {3, 5}, uniform(15, 0.5f, 1.5f, 87))};
  runGradCheck(c);
}

/// (x * U) / V, V broadcast over rows and away from 0, with `trainable`.
void divCase(const std::vector<std::string> &trainable) {
  GradCheck c;
  Model &m = c.train;
  m.input("x", {3, 5});
  m.initF("U", {3, 5}, uniform(15, -1, 1, 88));
  m.initF("V", {5}, awayFromZero(5, 0.7f, 1.5f, 89));
  addLoss(m, {{m.op("Div", {m.op("Mul", {"x", "U"}), "V"}), {3, 5}}});
  c.trainable = trainable;
  c.inputs = {inputF("x", {3, 5}, uniform(15, -1, 1, 90))};
  runGradCheck(c);
}

TEST(GradientCheck, Div) {
  // The numerator's and the divisor's rules, one at a time and together.
  divCase({"U"});
  divCase({"V"});
  divCase({"U", "V"});
}

// One elementwise op reading two trainable weights: U's gradient factor
// (dZ * V) reads V, whose update writes V in place before U's update;
// memc-fuse-elementwise must not move that read into U's update (it once
// did, and the step failed to bufferize in place).
TEST(GradientCheck, ElementwiseOfTwoTrainables) {
  GradCheck c;
  Model &m = c.train;
  m.input("x", {3, 5});
  m.initF("U", {3, 5}, uniform(15, -1, 1, 94));
  m.initF("V", {5}, awayFromZero(5, 0.7f, 1.5f, 95));
  addLoss(m, {{m.op("Mul", {m.op("Mul", {"x", "U"}), "V"}), {3, 5}}});
  c.trainable = {"U", "V"};
  c.inputs = {inputF("x", {3, 5}, uniform(15, -1, 1, 96))};
  runGradCheck(c);
}

TEST(GradientCheck, CrossEntropy) {
  // --loss=cross-entropy on logits = x @ W [2,3,5] with int64 labels (one
  // ignored: -100), against finite differences of the hand-built
  // -sum(onehot * LogSoftmax(logits)) / (counted positions).
  const std::vector<int64_t> labels = {1, 4, -100, 0, 2, 2};
  auto build = [](Model &m) {
    m.input("x", {2, 3, 4});
    m.initF("W", {4, 5}, uniform(20, -1, 1, 91));
    m.node("MatMul", {"x", "W"}, {"logits"});
  };
  GradCheck c;
  build(c.train);
  c.train.output("logits", {2, 3, 5});
  c.fd.emplace();
  Model &f = *c.fd;
  build(f);
  std::vector<float> onehot(30, 0);
  int counted = 0;
  for (size_t p = 0; p < labels.size(); ++p)
    if (labels[p] >= 0) {
      onehot[p * 5 + size_t(labels[p])] = 1;
      ++counted;
    }
  f.initF("onehot", {2, 3, 5}, onehot);
  std::string ls = f.op("LogSoftmax", {"logits"},
                        [](onnx::NodeProto &n) { attrI(n, "axis", -1); });
  std::string s = f.op("ReduceSum", {f.op("Mul", {ls, "onehot"})},
                       [](onnx::NodeProto &n) { attrI(n, "keepdims", 0); });
  f.node("Mul", {s, f.scalar(-1.0f / float(counted))}, {"L"});
  f.output("L", {});
  c.trainable = {"W"};
  c.loss = "cross-entropy";
  c.inputs = {inputF("x", {2, 3, 4}, uniform(24, -2, 2, 92))};
  c.labels = {inputI("labels", {2, 3}, labels)};
  runGradCheck(c);
}

TEST(GradientCheck, OpWithoutGradientRuleIsUnsupported) {
  // Atan imports, but memc-autodiff has no rule for it: exit 5, one line
  // that names the op, and no package.
  TempDir tmp;
  Model m;
  m.input("x", {2, 3});
  m.initF("W", {2, 3}, uniform(6, -1, 1, 93));
  addLoss(m, {{m.op("Atan", {m.op("Mul", {"x", "W"})}), {2, 3}}});
  ASSERT_NO_FATAL_FAILURE(writeModel(m.proto, tmp / "atan.onnx"));
  std::string error;
  memc::ExitCode rc =
      compileTrain(tmp / "atan.onnx", tmp / "pkg", "output", {"W"}, error);
  EXPECT_EQ(rc, memc::ExitUnsupported) << error;
  // The line names the op by its einsum map action ('atan').
  std::string lower = error;
  std::transform(lower.begin(), lower.end(), lower.begin(),
                 [](unsigned char ch) { return std::tolower(ch); });
  EXPECT_NE(lower.find("atan"), std::string::npos) << error;
  EXPECT_NE(error.find("gradient"), std::string::npos) << error;
  EXPECT_FALSE(fs::exists(tmp / "pkg")) << "a partial package was left";
}

} // namespace
