//===- NumericsTest.cpp - memc's math at the edges of the float range -----===//
//
// Compiles small ONNX models (one elementwise op per output, and the
// reductions built on exp and log) with memc's real CPU pipeline, runs the
// packages through the CPU runtime and compares every element with a float64
// reference: NaN and infinite results exactly, everything else within a
// bound in units in the last place of the correctly rounded float (for
// denormal results the ulp is 2^-149). The inputs are the edges (signed
// zeros, denormals, +-inf, NaN, exp's overflow and underflow thresholds)
// followed by sweeps: random bit patterns over all finite floats, and dense
// uniform ranges where the functions are not saturated.
//
// MEMC_NUMERICS_REPORT=1 prints the table of docs/numerics.md.
//
//===----------------------------------------------------------------------===//
#include "Package.h"

#include "memc/Driver/Compiler.h"

#include <onnx/onnx_pb.h>

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <functional>
#include <limits>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <unistd.h>
#include <vector>

namespace {

constexpr float kInf = std::numeric_limits<float>::infinity();
constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();
constexpr float kDenormMin = std::numeric_limits<float>::denorm_min();
constexpr float kFloatMin = std::numeric_limits<float>::min();
constexpr float kFloatMax = std::numeric_limits<float>::max();

// Selu's default attributes, as the model carries them (float32).
constexpr float kSeluAlpha = 1.67326319217681884765625f;
constexpr float kSeluGamma = 1.05070102214813232421875f;

//===----------------------------------------------------------------------===//
// Models
//===----------------------------------------------------------------------===//

struct NodeSpec {
  std::string op;
  std::string output;
  std::function<void(onnx::NodeProto &)> attrs = [](onnx::NodeProto &) {};
};

void setTensorType(onnx::ValueInfoProto *vi, const std::string &name,
                   const std::vector<int64_t> &dims) {
  vi->set_name(name);
  auto *tt = vi->mutable_type()->mutable_tensor_type();
  tt->set_elem_type(onnx::TensorProto::FLOAT);
  for (int64_t d : dims)
    tt->mutable_shape()->add_dim()->set_dim_value(d);
}

/// One float input `x` of shape `inDims`, one node per output reading it.
onnx::ModelProto makeModel(int64_t opset, const std::vector<int64_t> &inDims,
                           const std::vector<int64_t> &outDims,
                           const std::vector<NodeSpec> &nodes) {
  onnx::ModelProto m;
  m.set_ir_version(8);
  m.add_opset_import()->set_version(opset);
  onnx::GraphProto *g = m.mutable_graph();
  g->set_name("numerics");
  setTensorType(g->add_input(), "x", inDims);
  for (const NodeSpec &spec : nodes) {
    onnx::NodeProto *node = g->add_node();
    node->set_op_type(spec.op);
    node->set_name(spec.output);
    node->add_input("x");
    node->add_output(spec.output);
    spec.attrs(*node);
    setTensorType(g->add_output(), spec.output, outDims);
  }
  return m;
}

void addIntAttr(onnx::NodeProto &n, const char *name, int64_t v) {
  onnx::AttributeProto *a = n.add_attribute();
  a->set_name(name);
  a->set_type(onnx::AttributeProto::INT);
  a->set_i(v);
}

void addIntsAttr(onnx::NodeProto &n, const char *name, std::vector<int64_t> v) {
  onnx::AttributeProto *a = n.add_attribute();
  a->set_name(name);
  a->set_type(onnx::AttributeProto::INTS);
  for (int64_t i : v)
    a->add_ints(i);
}

/// A compiled package, loaded, with its outputs for one input.
struct Compiled {
  memc::rt::Package package;
  std::map<std::string, std::vector<float>> outputs;
};

/// Compiles `model` with memc into a package under `dir` and runs it on `x`.
/// Returns an error text, empty on success.
std::string compileAndRun(const onnx::ModelProto &model, const std::string &dir,
                          const std::string &name, const std::vector<float> &x,
                          Compiled &out) {
  std::string onnxPath = dir + "/" + name + ".onnx";
  {
    std::ofstream os(onnxPath, std::ios::binary);
    if (!model.SerializeToOstream(&os))
      return "cannot write " + onnxPath;
  }
  memc::CompilerOptions options;
  options.input = onnxPath;
  options.output = dir + "/" + name + ".pkg";
  if (memc::compile(options) != memc::ExitOK)
    return "memc failed on " + onnxPath;
  std::string error;
  if (!out.package.load(options.output, error))
    return error;
  const memc::rt::Manifest &m = out.package.manifest();
  if (m.inputs.size() != 1 || !m.weights.empty() ||
      m.inputs[0].numElements != x.size())
    return "unexpected interface in " + options.output;
  std::vector<void *> args{const_cast<float *>(x.data())};
  for (const memc::rt::TensorSpec &o : m.outputs) {
    out.outputs[o.name].assign(o.numElements, kNaN);
    args.push_back(out.outputs[o.name].data());
  }
  // The arena and the host pool are scratch: any 64-byte aligned memory.
  auto scratch = [](uint64_t bytes) {
    return std::unique_ptr<void, decltype(&std::free)>(
        bytes ? std::aligned_alloc(64, (bytes + 63) / 64 * 64) : nullptr,
        &std::free);
  };
  auto arena = scratch(m.arenaBytes), hostPool = scratch(m.hostPoolBytes);
  if (m.arenaBytes)
    args.push_back(arena.get());
  if (m.hostPoolBytes)
    args.push_back(hostPool.get());
  out.package.entry()(args.data());
  return "";
}

//===----------------------------------------------------------------------===//
// Inputs and error measure
//===----------------------------------------------------------------------===//

/// The edges every elementwise function is checked at.
std::vector<float> edgeInputs() {
  std::vector<float> v = {
      0.0f, -0.0f, kInf, -kInf, kNaN, -kNaN,
      // denormals and the smallest normals
      kDenormMin, -kDenormMin, 1e-45f, 1e-40f, -1e-40f, 1e-39f, 5.9e-39f,
      1.1754942e-38f, kFloatMin, -kFloatMin, 2.4e-38f,
      // tiny and small
      1e-30f, -1e-30f, 1e-10f, -1e-10f, 1e-7f, -1e-7f, 3e-4f, 4e-4f, -4e-4f,
      1e-3f, 0.5f, -0.5f, 1.0f, -1.0f, 2.0f, -2.0f,
      // exp's thresholds: overflow at 88.7228394, denormal below -87.3365,
      // 0 below -103.972
      88.0f, 88.5f, 88.7f, 88.72f, 88.7228f, 88.72283f, 88.722839f, 88.72284f,
      88.7229f, 88.8f, 89.0f, 90.0f, 100.0f, 1000.0f, -87.0f, -87.3365f,
      -87.34f, -87.5f, -87.7f, -87.8f, -88.0f, -90.0f, -100.0f, -102.0f,
      -103.0f, -103.27f, -103.28f, -103.9f, -103.97f, -103.98f, -104.0f,
      -105.0f, -110.0f, -200.0f, -1000.0f,
      // saturation of tanh, erf, sigmoid
      7.9f, 8.0f, 9.0f, 9.1f, 10.0f, 16.0f, 17.0f, 20.0f, -7.9f, -8.0f, -9.0f,
      -10.0f, -16.0f, -17.0f, -20.0f, -30.0f, 3.75f, 3.9f, 4.0f, -3.9f, 10.05f,
      14.2f, -14.2f, 15.0f, -15.0f, -40.0f,
      // huge
      1e10f, -1e10f, 1e30f, -1e30f, kFloatMax, -kFloatMax};
  return v;
}

/// log2 of the number of points per sweep range (MEMC_NUMERICS_SWEEP,
/// default 17; docs/numerics.md's figures use 20).
int sweepLog2() {
  const char *v = std::getenv("MEMC_NUMERICS_SWEEP");
  int n = v ? std::atoi(v) : 17;
  return n >= 4 && n <= 24 ? n : 17;
}

/// Edges, then random bit patterns (every finite float, both signs, equally
/// likely per binade) and dense uniform ranges. Same seed, same inputs.
std::vector<float> sweepInputs() {
  std::vector<float> v = edgeInputs();
  std::mt19937 rng(12345);
  std::uniform_int_distribution<uint32_t> bits;
  int n = 1 << sweepLog2();
  for (int i = 0; i < n; ++i) {
    uint32_t b = bits(rng);
    float f;
    std::memcpy(&f, &b, sizeof f);
    if (std::isfinite(f))
      v.push_back(f);
  }
  for (auto [lo, hi] : {std::pair{-20.0f, 20.0f}, std::pair{-105.0f, 90.0f},
                        std::pair{-1.0f, 1.0f}}) {
    std::uniform_real_distribution<float> u(lo, hi);
    for (int i = 0; i < n; ++i)
      v.push_back(u(rng));
  }
  return v;
}

/// |got - ref| in ulps of the float nearest `ref`; 0 when both are NaN or the
/// same infinity, +inf when one is NaN or infinite and the other not.
double ulpError(float got, double ref) {
  if (std::isnan(ref) || std::isnan(got))
    return std::isnan(ref) && std::isnan(got) ? 0 : kInf;
  float rounded = static_cast<float>(ref);
  if (std::isinf(rounded) || std::isinf(got))
    return got == rounded ? 0 : kInf;
  double a = std::fabs(ref);
  double ulp = a < kFloatMin ? std::ldexp(1.0, -149)
                             : std::ldexp(1.0, std::ilogb(a) - 23);
  return std::fabs(double(got) - ref) / ulp;
}

struct Measure {
  double maxUlps = 0;
  double maxUlpsNormal = 0;  ///< over references of at least 2^-126
  double maxUlpsCentral = 0; ///< over inputs with |x| <= 10
  float worstInput = 0;
  double worstRef = 0;
  float worstGot = 0;
  double maxAbs = 0;    ///< over finite results
  double maxScaled = 0; ///< |got - ref| / max(1, |ref|), finite results
  size_t specials = 0;  ///< NaN or infinite references checked exactly

  void add(float x, float got, double ref) {
    double e = ulpError(got, ref);
    if (std::isnan(ref) || std::isinf(static_cast<float>(ref))) {
      ++specials;
    } else if (std::isfinite(got)) {
      double d = std::fabs(double(got) - ref);
      maxAbs = std::max(maxAbs, d);
      maxScaled = std::max(maxScaled, d / std::max(1.0, std::fabs(ref)));
      if (std::fabs(ref) >= kFloatMin)
        maxUlpsNormal = std::max(maxUlpsNormal, e);
      if (std::fabs(x) <= 10)
        maxUlpsCentral = std::max(maxUlpsCentral, e);
    }
    if (e > maxUlps || (std::isinf(e) && !std::isinf(maxUlps))) {
      maxUlps = e;
      worstInput = x;
      worstRef = ref;
      worstGot = got;
    }
  }
};

bool reportRequested() {
  const char *v = std::getenv("MEMC_NUMERICS_REPORT");
  return v && *v && std::string(v) != "0";
}

void reportUnary(const std::string &name, const Measure &m, size_t n) {
  if (reportRequested())
    std::printf("| %-9s | %8zu | %8.2f | %8.2f | %9.2f | %-14.9g | %-15.9g | "
                "%-15.9g | %7zu |\n",
                name.c_str(), n, m.maxUlps, m.maxUlpsNormal, m.maxUlpsCentral,
                m.worstInput, m.worstRef, m.worstGot, m.specials);
}

void reportReduction(const std::string &name, const Measure &m, size_t n) {
  if (reportRequested())
    std::printf("| %-15s | %6zu | %9.3g | %9.3g | %7zu |\n", name.c_str(), n,
                m.maxAbs, m.maxScaled, m.specials);
}

//===----------------------------------------------------------------------===//
// Float64 references
//===----------------------------------------------------------------------===//

double sigmoidRef(double x) {
  if (x >= 0)
    return 1 / (1 + std::exp(-x));
  double e = std::exp(x);
  return e / (1 + e);
}

double softplusRef(double x) {
  if (std::isnan(x))
    return x;
  return std::max(x, 0.0) + std::log1p(std::exp(-std::fabs(x)));
}

struct Unary {
  const char *op;
  std::function<double(double)> ref;
  /// The error allowed at x, in ulps of the result, for every finite
  /// reference.
  std::function<double(double)> boundUlps;
  int64_t opset = 17;
  /// Also allowed: this many denormal steps (2^-149) times max(1, |x|), for
  /// functions that multiply x by a denormal intermediate (which carries
  /// fewer significant bits than the result).
  double denormalSteps = 0;

  bool within(float x, float got, double ref) const {
    double e = ulpError(got, ref);
    // e == 0 also covers NaN for NaN, where the bound may be NaN itself.
    if (e == 0 || e <= boundUlps(x))
      return true;
    return std::isfinite(got) && std::isfinite(ref) &&
           std::fabs(double(got) - ref) <=
               denormalSteps * std::max(1.0, std::fabs(double(x))) *
                   double(kDenormMin);
  }
};

std::function<double(double)> ulps(double n) {
  return [n](double) { return n; };
}

const std::vector<Unary> &unaryFunctions() {
  static const std::vector<Unary> fns = {
      {"Exp", [](double x) { return std::exp(x); }, ulps(1.5)},
      {"Log", [](double x) { return std::log(x); }, ulps(1.5)},
      // MLIR's rational approximations.
      {"Tanh", [](double x) { return std::tanh(x); }, ulps(6)},
      {"Erf", [](double x) { return std::erf(x); }, ulps(6)},
      {"Sigmoid", sigmoidRef, ulps(4)},
      {"Softplus", softplusRef, ulps(4)},
      {"Elu", [](double x) { return x < 0 ? std::expm1(x) : x; }, ulps(4)},
      {"Selu",
       [](double x) {
         return double(kSeluGamma) *
                (x <= 0 ? double(kSeluAlpha) * std::expm1(x) : x);
       },
       ulps(4)},
      {"Celu",
       [](double x) {
         return std::isnan(x) ? x
                              : std::max(0.0, x) + std::min(0.0, std::expm1(x));
       },
       ulps(4)},
      // x * tanh(softplus(x)): for x < -87 softplus is a denormal.
      {"Mish", [](double x) { return x * std::tanh(softplusRef(x)); }, ulps(8),
       18, /*denormalSteps=*/2},
      // erfc(z) has condition number 2 z^2 = x^2: rounding 1/sqrt(2) and
      // z = -x / sqrt(2) to float alone costs up to x^2 ulps.
      {"Gelu",
       [](double x) { return 0.5 * x * std::erfc(-x / std::sqrt(2.0)); },
       [](double x) { return 8 + 1.5 * x * x; }, 20},
  };
  return fns;
}

//===----------------------------------------------------------------------===//
// Reductions: rows of 4
//===----------------------------------------------------------------------===//

constexpr int64_t kRowLen = 4;

std::vector<std::vector<float>> edgeRows() {
  return {
      {-kInf, -kInf, -kInf, -kInf}, // LSE -inf, softmax NaN (0 / 0)
      {kInf, 0, 0, 0},              // LSE inf, softmax NaN (inf / inf)
      {kInf, kInf, 1, 2},
      {-kInf, kInf, 0, 0},
      {kNaN, 0, 1, 2},
      {-kInf, 0, 1, 2}, // a masked element: softmax 0 there
      {-kInf, -kInf, -kInf, 5},
      {1000, 1000, 999, 0}, // exp(x) would overflow
      {-1000, -1000, -1001, -2000},
      {88.7f, 88.7f, 0, 0},
      {89, 100, 0, -100},
      {kFloatMax, kFloatMax, 0, 0}, // LSE = FLT_MAX + ln 2 rounds to FLT_MAX
      {-kFloatMax, -kFloatMax, -kFloatMax, -kFloatMax},
      {kDenormMin, 0, -kDenormMin, 1e-40f},
      {0, 0, 0, 0},
      {0, -100, -103, -110}, // softmax: a denormal, and 0 below exp's range
  };
}

/// Softmax, LogSoftmax and ReduceLogSumExp over one row, in float64, as the
/// ONNX reference implementation defines them (max-shifted), except LSE at
/// infinite maxima, where its value log(sum(exp(x))) is used.
void rowRefs(const float *row, double *softmax, double *logSoftmax,
             double &lse) {
  double m = -INFINITY;
  bool nan = false;
  for (int64_t i = 0; i < kRowLen; ++i) {
    nan |= std::isnan(row[i]);
    m = std::max(m, double(row[i]));
  }
  double sum = 0;
  for (int64_t i = 0; i < kRowLen; ++i)
    sum += std::exp(row[i] - m);
  for (int64_t i = 0; i < kRowLen; ++i) {
    softmax[i] = nan ? NAN : std::exp(row[i] - m) / sum;
    logSoftmax[i] = nan ? NAN : row[i] - m - std::log(sum);
  }
  lse = nan ? NAN : std::isinf(m) ? m : m + std::log(sum);
}

//===----------------------------------------------------------------------===//
// The tests
//===----------------------------------------------------------------------===//

class Numerics : public ::testing::Test {
protected:
  static void SetUpTestSuite() {
    char tmpl[] = "/tmp/memc-numerics-XXXXXX";
    if (!::mkdtemp(tmpl)) {
      setupError = new std::string("mkdtemp failed");
      return;
    }
    dir = new std::string(tmpl);
    setupError = new std::string;
    inputs = new std::vector<float>(sweepInputs());
    auto n = static_cast<int64_t>(inputs->size());
    std::map<int64_t, std::vector<NodeSpec>> byOpset;
    for (const Unary &u : unaryFunctions())
      byOpset[u.opset].push_back({u.op, u.op});
    unary = new std::map<std::string, std::vector<float>>;
    for (auto &[opset, nodes] : byOpset) {
      Compiled c;
      std::string name = "unary" + std::to_string(opset);
      *setupError = compileAndRun(makeModel(opset, {n}, {n}, nodes), *dir, name,
                                  *inputs, c);
      if (!setupError->empty())
        return;
      for (auto &[k, v] : c.outputs)
        (*unary)[k] = std::move(v);
    }

    rows = new std::vector<float>;
    for (const auto &r : edgeRows())
      rows->insert(rows->end(), r.begin(), r.end());
    numEdgeRows = static_cast<int64_t>(rows->size()) / kRowLen;
    // Random rows: moderate ranges, where x - max is exact enough that the
    // error is the functions', and wide ones.
    std::mt19937 rng(54321);
    for (float scale : {1.0f, 10.0f, 100.0f})
      for (int i = 0; i < 2048 * kRowLen; ++i)
        rows->push_back(
            std::uniform_real_distribution<float>(-scale, scale)(rng));
    int64_t numRows = static_cast<int64_t>(rows->size()) / kRowLen;
    Compiled c;
    *setupError = compileAndRun(
        makeModel(17, {numRows, kRowLen}, {numRows, kRowLen},
                  {{"Softmax", "Softmax",
                    [](onnx::NodeProto &n) { addIntAttr(n, "axis", -1); }},
                   {"LogSoftmax", "LogSoftmax",
                    [](onnx::NodeProto &n) { addIntAttr(n, "axis", -1); }}}),
        *dir, "rows", *rows, c);
    if (!setupError->empty())
      return;
    reduced =
        new std::map<std::string, std::vector<float>>(std::move(c.outputs));
    Compiled lse;
    *setupError =
        compileAndRun(makeModel(17, {numRows, kRowLen}, {numRows},
                                {{"ReduceLogSumExp", "ReduceLogSumExp",
                                  [](onnx::NodeProto &n) {
                                    addIntsAttr(n, "axes", {1});
                                    addIntAttr(n, "keepdims", 0);
                                  }}}),
                      *dir, "lse", *rows, lse);
    if (!setupError->empty())
      return;
    (*reduced)["ReduceLogSumExp"] = std::move(lse.outputs["ReduceLogSumExp"]);
  }

  static void TearDownTestSuite() {
    if (dir && !std::getenv("MEMC_NUMERICS_KEEP"))
      std::system(("rm -rf '" + *dir + "'").c_str());
  }

  void SetUp() override {
    ASSERT_TRUE(setupError) << "no setup";
    ASSERT_EQ(*setupError, "");
  }

  /// memc's value of `op` at the i-th input.
  static float at(const std::string &op, float x) {
    const std::vector<float> &xs = *inputs;
    for (size_t i = 0; i < xs.size(); ++i)
      if (std::memcmp(&xs[i], &x, sizeof x) == 0)
        return (*unary)[op][i];
    ADD_FAILURE() << x << " is not among the inputs";
    return kNaN;
  }

  static std::string *setupError;
  static std::string *dir;
  static std::vector<float> *inputs;
  static std::map<std::string, std::vector<float>> *unary;
  static std::vector<float> *rows;
  static int64_t numEdgeRows;
  static std::map<std::string, std::vector<float>> *reduced;
};

std::string *Numerics::setupError;
std::string *Numerics::dir;
std::vector<float> *Numerics::inputs;
std::map<std::string, std::vector<float>> *Numerics::unary;
std::vector<float> *Numerics::rows;
int64_t Numerics::numEdgeRows;
std::map<std::string, std::vector<float>> *Numerics::reduced;

// Every elementwise function against float64 over the edges and the sweeps.
TEST_F(Numerics, ElementwiseWithinBounds) {
  if (reportRequested())
    std::printf("\n| function  | inputs   | max ulps | (normal) | x in +-10 "
                "| worst x        | float64 there   | memc there      "
                "| NaN/inf |\n"
                "|-----------|---------:|---------:|---------:|----------:"
                "|----------------|-----------------|-----------------"
                "|--------:|\n");
  for (const Unary &u : unaryFunctions()) {
    const std::vector<float> &got = (*unary)[u.op];
    ASSERT_EQ(got.size(), inputs->size()) << u.op;
    Measure m;
    for (size_t i = 0; i < got.size(); ++i) {
      float x = (*inputs)[i];
      double ref = u.ref(x);
      m.add(x, got[i], ref);
      if (!u.within(x, got[i], ref)) {
        ADD_FAILURE() << u.op << "(" << x << ") = " << got[i]
                      << ", float64 reference " << ref << " ("
                      << ulpError(got[i], ref) << " ulps, bound "
                      << u.boundUlps(x) << ")";
        break; // one line per function is enough
      }
    }
    reportUnary(u.op, m, got.size());
  }
}

// The cases of issue #16 and the other named edges, spelled out.
TEST_F(Numerics, NamedEdges) {
  EXPECT_EQ(at("Softplus", 89.0f), 89.0f);
  EXPECT_EQ(at("Softplus", 100.0f), 100.0f);
  EXPECT_EQ(at("Softplus", kInf), kInf);
  EXPECT_EQ(at("Softplus", -kInf), 0.0f);
  EXPECT_TRUE(std::isnan(at("Softplus", kNaN)));
  EXPECT_NEAR(at("Softplus", -100.0f), 3.72e-44f, 2 * kDenormMin);

  EXPECT_NEAR(at("Log", kDenormMin), -103.278929f, 2e-5f);
  EXPECT_NEAR(at("Log", 1e-40f), -92.1034037f, 2e-5f);
  EXPECT_EQ(at("Log", 0.0f), -kInf);
  EXPECT_EQ(at("Log", -0.0f), -kInf);
  EXPECT_EQ(at("Log", kInf), kInf);
  EXPECT_TRUE(std::isnan(at("Log", -1.0f)));
  EXPECT_TRUE(std::isnan(at("Log", -kInf)));
  EXPECT_TRUE(std::isnan(at("Log", -kDenormMin)));

  EXPECT_EQ(at("Exp", 89.0f), kInf);
  EXPECT_EQ(at("Exp", 88.7229f), kInf);
  EXPECT_FLOAT_EQ(at("Exp", 88.7f), 3.32597697e38f);
  EXPECT_TRUE(std::isfinite(at("Exp", 88.72283f)));
  EXPECT_EQ(at("Exp", -kInf), 0.0f);
  EXPECT_EQ(at("Exp", -104.0f), 0.0f);
  EXPECT_NEAR(at("Exp", -100.0f), 3.72e-44f, kDenormMin);
  EXPECT_NEAR(at("Exp", -90.0f), 8.194e-40f, kDenormMin);
  EXPECT_TRUE(std::isnan(at("Exp", kNaN)));

  EXPECT_EQ(at("Sigmoid", -kInf), 0.0f);
  EXPECT_EQ(at("Sigmoid", kInf), 1.0f);
  EXPECT_NEAR(at("Sigmoid", -100.0f), 3.72e-44f, kDenormMin);
  EXPECT_EQ(at("Tanh", kInf), 1.0f);
  EXPECT_EQ(at("Tanh", -kInf), -1.0f);
  EXPECT_EQ(at("Erf", kInf), 1.0f);
  EXPECT_EQ(at("Erf", -kInf), -1.0f);
  EXPECT_EQ(at("Elu", -1e-30f), -1e-30f);
  EXPECT_EQ(at("Elu", -kInf), -1.0f);
  EXPECT_EQ(at("Gelu", kInf), kInf);
  EXPECT_EQ(at("Gelu", 0.0f), 0.0f);
}

// Softmax, LogSoftmax and ReduceLogSumExp: special rows exactly (NaN, +-inf,
// zeros of the masked elements), the rest within bounds.
TEST_F(Numerics, ReductionsAtEdges) {
  int64_t numRows = static_cast<int64_t>(rows->size()) / kRowLen;
  if (reportRequested())
    std::printf("\n| function        | values | max abs   | max rel*  | "
                "NaN/inf |\n"
                "|-----------------|-------:|----------:|----------:|"
                "--------:|\n");
  Measure sm, lsm, lse;
  for (int64_t r = 0; r < numRows; ++r) {
    const float *row = rows->data() + r * kRowLen;
    double refS[kRowLen], refL[kRowLen], refE;
    rowRefs(row, refS, refL, refE);
    auto what = [&](const char *op) {
      std::string s = std::string(op) + " of row " + std::to_string(r) + " [";
      for (int64_t i = 0; i < kRowLen; ++i)
        s += (i ? ", " : "") + std::to_string(row[i]);
      return s + "]";
    };
    float gotE = (*reduced)["ReduceLogSumExp"][r];
    lse.add(row[0], gotE, refE);
    // m + log(sum): a few ulps of the larger term (the two cancel where
    // the result is near 0).
    if (std::isnan(refE) || std::isinf(refE))
      EXPECT_EQ(ulpError(gotE, refE), 0)
          << what("ReduceLogSumExp") << " = " << gotE << ", want " << refE;
    else
      EXPECT_NEAR(gotE, refE, 3e-7 * std::max(1.0, std::fabs(refE)))
          << what("ReduceLogSumExp");
    for (int64_t i = 0; i < kRowLen; ++i) {
      float gotS = (*reduced)["Softmax"][r * kRowLen + i];
      float gotL = (*reduced)["LogSoftmax"][r * kRowLen + i];
      sm.add(row[i], gotS, refS[i]);
      lsm.add(row[i], gotL, refL[i]);
      // x - max rounds in float: exp(x - max) inherits |x - max| * 2^-24 of
      // relative error before memc's math adds any, so bounds are absolute.
      if (std::isnan(refS[i]) || std::isinf(refS[i]))
        EXPECT_EQ(ulpError(gotS, refS[i]), 0) << what("Softmax");
      else
        EXPECT_NEAR(gotS, refS[i], 2e-7) << what("Softmax") << " at " << i;
      if (std::isnan(refL[i]) || std::isinf(refL[i]))
        EXPECT_EQ(ulpError(gotL, refL[i]), 0) << what("LogSoftmax");
      else
        EXPECT_NEAR(gotL, refL[i], 4e-6 * std::max(1.0, std::fabs(refL[i])))
            << what("LogSoftmax") << " at " << i;
    }
  }
  reportReduction("Softmax", sm, rows->size());
  reportReduction("LogSoftmax", lsm, rows->size());
  reportReduction("ReduceLogSumExp", lse, rows->size() / kRowLen);
}

} // namespace
