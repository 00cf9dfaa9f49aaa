//===- RunCommon.cpp - What memc-run does on either device ----------------===//
//
// The order of work is chosen so that every bad input is reported before the
// program runs: package, then data files, then allocation; only then the
// calls. This file holds the parts that do not depend on the device: the
// command line, the data files and random inputs, the timings and the
// comparison report (runtime/cpu/Runner.cpp and runtime/cuda/CudaRunner.cpp
// run the program; TrainLoop.cpp is --train's share).
//
//===----------------------------------------------------------------------===//

#include "memc/Runtime/RunCommon.h"

#include "memc/ExitCodes.h"
#include "memc/Runtime/Compare.h"
#include "memc/Runtime/InputFile.h"
#include "memc/Runtime/LineReader.h"
#include "memc/Runtime/Manifest.h"
#include "memc/Runtime/PackageFormat.h"
#include "memc/Runtime/TensorIO.h"

#include <algorithm>
#include <cerrno>
#include <cinttypes>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <sys/stat.h>

namespace memc {
namespace rt {

namespace {

const char kUsage[] =
    "usage: memc-run PKG [--data DIR] [--iterations N] [--warmup N]\n"
    "                [--rtol X] [--atol X] [--device cpu|cuda] [--seed N] "
    "[-q]\n"
    "\n"
    "Runs the package PKG written by `memc MODEL -o PKG`.\n"
    "  --data DIR      inputs from DIR/input_<i>.pb; outputs compared with\n"
    "                  DIR/output_<i>.pb where present (ONNX backend-test "
    "layout)\n"
    "                  (default: random inputs, nothing compared)\n"
    "  --iterations N  timed calls, N >= 1 (default 10)\n"
    "  --warmup N      untimed calls first (default 1)\n"
    "  --rtol X        relative tolerance (default 1e-3)\n"
    "  --atol X        absolute tolerance (default 1e-5)\n"
    "                  an element matches when |a-b| <= atol + rtol*|b|\n"
    "  --device D      cpu (default) or cuda\n"
    "  --seed N        seed of the random inputs (default 0)\n"
    "  --profile       after the run, the 20 calls that took the most time\n"
    "                  over the timed calls or train steps: on the CPU,\n"
    "                  runtime calls (a GEMM by entry and shape, a parallel\n"
    "                  loop by kernel); with --device cuda, launch-plan\n"
    "                  steps' device time (CUDA events around each step)\n"
    "  -q              print only mismatching outputs and the result line\n"
    "\n"
    "Training (a package written by `memc MODEL --train ... -o PKG`):\n"
    "  memc-run PKG --train --data DIR [--steps N] [--save-model OUT.onnx]\n"
    "               [--save-state FILE] [--resume FILE] [--device D]\n"
    "               [--profile] [-q]\n"
    "  --train         run train steps; step k (from 0) trains on the batch\n"
    "                  DIR/test_data_set_<k mod B> (B: the number of them,\n"
    "                  each with input_<i>.pb, the labels last)\n"
    "  --steps N       train steps, N >= 1 (default 1)\n"
    "  --save-model F  write PKG's model.onnx with the trained weights to F\n"
    "  --save-state F  write the weights and optimizer state to F\n"
    "  --resume F      continue from a --save-state file of this package\n"
    "  -q              no per-step 'step K loss X' lines\n"
    "\n"
    "Decoding (a package written by `memc MODEL --decode -o PKG`):\n"
    "  memc-run PKG --generate N --prompt IDS.pb [--device cuda] [-q]\n"
    "  --generate N    greedy-decode N new tokens after each prompt\n"
    "  --prompt F      the prompts: an int64 [batch, P] tensor (.pb); a\n"
    "                  shorter prompt is right-padded with -1\n"
    "  prints 'tokens: ...' per sequence, prefill_ms, decode_ms_per_token\n"
    "  and kv_bytes (-q: only the tokens)\n";

bool parseInt(const std::string &s, int64_t lo, int64_t hi, int64_t &out) {
  if (s.empty() || s[0] == ' ' || s[0] == '+')
    return false;
  errno = 0;
  char *end = nullptr;
  long long v = std::strtoll(s.c_str(), &end, 10);
  if (errno != 0 || *end != '\0' || v < lo || v > hi)
    return false;
  out = v;
  return true;
}

bool parseTolerance(const std::string &s, double &out) {
  if (s.empty() || s[0] == ' ')
    return false;
  errno = 0;
  char *end = nullptr;
  double v = std::strtod(s.c_str(), &end);
  if (errno != 0 || *end != '\0' || !std::isfinite(v) || v < 0)
    return false;
  out = v;
  return true;
}

bool exists(const std::string &path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0;
}

std::string describe(DType t, const std::vector<int64_t> &dims) {
  return std::string(dtypeName(t)) + " " + formatDims(dims);
}

/// Allocates a zeroed tensor of the spec's type and shape.
bool allocateFor(const TensorSpec &spec, Tensor &t) {
  t.dtype = spec.dtype;
  t.dims = spec.dims;
  return t.allocate();
}

} // namespace

void LatencyStats::add(double ms) {
  ++count_;
  min_ = count_ == 1 ? ms : std::min(min_, ms);
  if (samples_.size() < kMaxSamples) {
    samples_.push_back(ms);
    return;
  }
  // Algorithm R: call i (1-based) replaces a random kept sample with
  // probability kMaxSamples / i, so the kept ones stay a uniform sample.
  uint64_t j = rng_() % count_;
  if (j < kMaxSamples)
    samples_[size_t(j)] = ms;
}

double LatencyStats::median() const {
  if (samples_.empty())
    return 0;
  std::vector<double> v = samples_;
  std::sort(v.begin(), v.end());
  size_t mid = v.size() / 2;
  return v.size() % 2 ? v[mid] : 0.5 * (v[mid - 1] + v[mid]);
}

/// Fills `t` with the documented random values: floats uniform in [-1, 1],
/// integers in [0, 10), bools 0/1. The generator and the mapping from its
/// bits are spelled out (no std:: distributions, whose output is
/// implementation-defined), so a seed means the same inputs everywhere.
void fillRandom(Tensor &t, std::mt19937_64 &rng) {
  uint64_t n = t.numElements();
  auto *p = static_cast<unsigned char *>(t.buffer.data());
  auto unit = [&] { return double(rng() >> 11) * 0x1.0p-53 * 2.0 - 1.0; };
  auto small = [&] { return rng() % 10; };
  for (uint64_t i = 0; i < n; ++i) {
    switch (t.dtype) {
    case DType::F32: {
      float v = float(unit());
      std::memcpy(p + 4 * i, &v, 4);
      break;
    }
    case DType::F64: {
      double v = unit();
      std::memcpy(p + 8 * i, &v, 8);
      break;
    }
    case DType::F16: {
      uint16_t v = floatToHalf(float(unit()));
      std::memcpy(p + 2 * i, &v, 2);
      break;
    }
    case DType::BF16: {
      uint16_t v = floatToBf16(float(unit()));
      std::memcpy(p + 2 * i, &v, 2);
      break;
    }
    case DType::I8:
    case DType::U8:
      p[i] = uint8_t(small());
      break;
    case DType::I16:
    case DType::U16: {
      uint16_t v = uint16_t(small());
      std::memcpy(p + 2 * i, &v, 2);
      break;
    }
    case DType::I32:
    case DType::U32: {
      uint32_t v = uint32_t(small());
      std::memcpy(p + 4 * i, &v, 4);
      break;
    }
    case DType::I64:
    case DType::U64: {
      uint64_t v = small();
      std::memcpy(p + 8 * i, &v, 8);
      break;
    }
    case DType::Bool:
      p[i] = uint8_t(rng() >> 63);
      break;
    }
  }
}

const char *runUsage() { return kUsage; }

int parseRunOptions(int argc, const char *const *argv, RunOptions &opts,
                    std::string &error) {
  opts = RunOptions();
  std::vector<std::string> given; // the valued flags, as spelled
  auto usageError = [&](const std::string &what) {
    error = what;
    return int(ExitUsage);
  };
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i] ? argv[i] : "";
    if (arg == "-q" || arg == "--quiet") {
      opts.quiet = true;
      continue;
    }
    if (arg == "-h" || arg == "--help") {
      opts.help = true;
      continue;
    }
    if (arg.size() > 2 && arg.compare(0, 2, "--") == 0) {
      std::string name = arg, value;
      bool inlineValue = false;
      size_t eq = arg.find('=');
      if (eq != std::string::npos) {
        name = arg.substr(0, eq);
        value = arg.substr(eq + 1);
        inlineValue = true;
      }
      if (name == "--train" || name == "--profile") {
        if (inlineValue)
          return usageError(name + " takes no value");
        (name == "--train" ? opts.train : opts.profile) = true;
        continue;
      }
      static const char *const kValued[] = {
          "--data",       "--iterations", "--warmup", "--rtol",
          "--atol",       "--device",     "--seed",   "--steps",
          "--save-model", "--save-state", "--resume", "--generate",
          "--prompt"};
      bool known = std::any_of(std::begin(kValued), std::end(kValued),
                               [&](const char *k) { return name == k; });
      if (!known)
        return usageError("unknown option '" + name +
                          "' (see memc-run --help)");
      if (!inlineValue) {
        if (i + 1 >= argc || !argv[i + 1])
          return usageError(name + " needs a value");
        value = argv[++i];
      }
      given.push_back(name);
      if (name == "--data") {
        if (value.empty())
          return usageError("--data needs a directory");
        opts.dataDir = value;
      } else if (name == "--iterations") {
        if (!parseInt(value, 1, 1000000000, opts.iterations))
          return usageError("--iterations '" + value +
                            "' is not an integer >= 1");
      } else if (name == "--warmup") {
        if (!parseInt(value, 0, 1000000000, opts.warmup))
          return usageError("--warmup '" + value + "' is not an integer >= 0");
      } else if (name == "--rtol" || name == "--atol") {
        double &tol = name == "--rtol" ? opts.rtol : opts.atol;
        if (!parseTolerance(value, tol))
          return usageError(name + " '" + value +
                            "' is not a finite number >= 0");
      } else if (name == "--device") {
        // The devices are the targets a package may be compiled for.
        if (value != package::kTargetCPU && value != package::kTargetCUDA)
          return usageError("--device '" + value + "' is not cpu or cuda");
        opts.device = value;
      } else if (name == "--seed") {
        if (!parseU64(value, opts.seed))
          return usageError("--seed '" + value +
                            "' is not a non-negative integer");
      } else if (name == "--steps") {
        if (!parseInt(value, 1, 1000000000, opts.steps))
          return usageError("--steps '" + value + "' is not an integer >= 1");
      } else if (name == "--generate") {
        if (!parseInt(value, 1, 1000000000, opts.generate))
          return usageError("--generate '" + value +
                            "' is not an integer >= 1");
      } else if (name == "--prompt") {
        if (value.empty())
          return usageError("--prompt needs a file name");
        opts.prompt = value;
      } else {
        std::string &path = name == "--save-model"   ? opts.saveModel
                            : name == "--save-state" ? opts.saveState
                                                     : opts.resume;
        if (value.empty())
          return usageError(name + " needs a file name");
        path = value;
      }
      continue;
    }
    if (arg.size() > 1 && arg[0] == '-')
      return usageError("unknown option '" + arg + "' (see memc-run --help)");
    if (!opts.package.empty())
      return usageError("unexpected argument '" + arg +
                        "' (memc-run takes one package directory)");
    if (arg.empty())
      return usageError("the package directory is an empty string");
    opts.package = arg;
  }
  if (!opts.help && opts.package.empty())
    return usageError("missing the package directory (usage: memc-run PKG "
                      "[--data DIR] ...; see --help)");
  if (opts.help)
    return ExitOK;
  // Flags of the other mode would be silently ignored: refuse them, so that
  // e.g. --iterations is not mistaken for a step count.
  auto was = [&](const char *flag) {
    return std::find(given.begin(), given.end(), flag) != given.end();
  };
  const std::vector<const char *> trainOnly = {"--steps", "--save-model",
                                               "--save-state", "--resume"};
  const std::vector<const char *> inferenceOnly = {
      "--iterations", "--warmup", "--rtol", "--atol", "--seed"};
  for (const char *flag : opts.train ? inferenceOnly : trainOnly)
    if (was(flag))
      return usageError(
          std::string(flag) +
          (opts.train ? " does not apply to --train runs" : " needs --train"));
  if (opts.generate || was("--prompt")) {
    if (opts.train)
      return usageError("--generate and --train run different packages: "
                        "give one");
    for (const char *flag : {"--data", "--iterations", "--warmup", "--rtol",
                             "--atol", "--seed", "--profile"})
      if (was(flag))
        return usageError(std::string(flag) +
                          " does not apply to --generate runs");
    if (!opts.generate || opts.prompt.empty())
      return usageError("--generate N and --prompt IDS.pb go together");
  }
  if (opts.train) {
    if (opts.dataDir.empty())
      return usageError("--train needs --data DIR (a directory of "
                        "test_data_set_N batches)");
    if (!opts.saveModel.empty() && opts.saveModel == opts.saveState)
      return usageError("--save-model and --save-state name the same file '" +
                        opts.saveModel + "'");
  }
  return ExitOK;
}

int readInputFiles(const Manifest &m, const std::string &dir,
                   std::vector<Tensor> &inputs, std::string &error) {
  auto fail = [&](std::string line) {
    error = std::move(line);
    return int(ExitBadData);
  };
  struct stat st;
  if (::stat(dir.c_str(), &st) != 0)
    return fail(dir + (errno == ENOENT
                           ? ": no such data directory"
                           : ": cannot access the data directory: " +
                                 describeOpenError(errno)));
  if (!S_ISDIR(st.st_mode))
    return fail(dir + ": not a directory (--data takes a directory of "
                      "input_N.pb files)");
  inputs = std::vector<Tensor>(m.inputs.size());
  for (size_t i = 0; i < m.inputs.size(); ++i) {
    std::string path = joinPath(dir, "input_" + std::to_string(i) + ".pb");
    const TensorSpec &spec = m.inputs[i];
    Tensor &input = inputs[i];
    if (!readTensorFile(path, input, error))
      return ExitBadData;
    if (input.dtype != spec.dtype || input.dims != spec.dims)
      return fail(path + ": " + describe(input.dtype, input.dims) +
                  " does not match the package's input '" + spec.name + "' (" +
                  describe(spec.dtype, spec.dims) + ")");
  }
  std::string extra =
      joinPath(dir, "input_" + std::to_string(m.inputs.size()) + ".pb");
  if (exists(extra))
    return fail(extra + ": the package has only " +
                std::to_string(m.inputs.size()) + " input(s)");
  return ExitOK;
}

int prepareRunData(const Manifest &m, const RunOptions &opts, RunData &data,
                   std::string &error) {
  auto fail = [&](int code, std::string line) {
    error = std::move(line);
    return code;
  };
  data.inputs = std::vector<Tensor>(m.inputs.size());
  data.outputs = std::vector<Tensor>(m.outputs.size());
  data.references = std::vector<Tensor>(m.outputs.size());
  data.haveReference.assign(m.outputs.size(), false);
  if (!opts.dataDir.empty()) {
    if (int code = readInputFiles(m, opts.dataDir, data.inputs, error))
      return code;
    for (size_t i = 0; i < m.outputs.size(); ++i) {
      std::string path =
          joinPath(opts.dataDir, "output_" + std::to_string(i) + ".pb");
      if (!exists(path))
        continue;
      const TensorSpec &spec = m.outputs[i];
      Tensor &ref = data.references[i];
      if (!readTensorFile(path, ref, error))
        return ExitBadData;
      // A reference of another type or shape is bad data (exit 22), found
      // before the run, not a mismatch of the program's result.
      if (ref.dtype != spec.dtype || ref.dims != spec.dims)
        return fail(ExitBadData, path + ": " + describe(ref.dtype, ref.dims) +
                                     " does not match the package's output '" +
                                     spec.name + "' (" +
                                     describe(spec.dtype, spec.dims) + ")");
      data.haveReference[i] = true;
    }
    std::string extra = joinPath(
        opts.dataDir, "output_" + std::to_string(m.outputs.size()) + ".pb");
    if (exists(extra))
      return fail(ExitBadData, extra + ": the package has only " +
                                   std::to_string(m.outputs.size()) +
                                   " output(s)");
  } else {
    std::mt19937_64 rng(opts.seed);
    for (size_t i = 0; i < m.inputs.size(); ++i) {
      if (!allocateFor(m.inputs[i], data.inputs[i]))
        return fail(ExitBadPackage,
                    opts.package + ": cannot allocate input '" +
                        m.inputs[i].name + "' (" +
                        describe(m.inputs[i].dtype, m.inputs[i].dims) + ")");
      fillRandom(data.inputs[i], rng);
    }
  }
  for (size_t i = 0; i < m.outputs.size(); ++i)
    if (!allocateFor(m.outputs[i], data.outputs[i]))
      return fail(ExitBadPackage,
                  opts.package + ": cannot allocate output '" +
                      m.outputs[i].name + "' (" +
                      describe(m.outputs[i].dtype, m.outputs[i].dims) + ")");
  return ExitOK;
}

int reportComparison(const Manifest &m, const RunData &data,
                     const RunOptions &opts, std::FILE *out) {
  size_t compared = 0, mismatched = 0;
  for (size_t i = 0; i < m.outputs.size(); ++i) {
    if (!data.haveReference[i])
      continue;
    ++compared;
    const TensorSpec &spec = m.outputs[i];
    const Tensor &ref = data.references[i];
    if (ref.dtype != spec.dtype || ref.dims != spec.dims) {
      ++mismatched;
      std::fprintf(out, "output %s: %s vs reference %s MISMATCH\n",
                   spec.name.c_str(), describe(spec.dtype, spec.dims).c_str(),
                   describe(ref.dtype, ref.dims).c_str());
      continue;
    }
    CompareStats s = compareBuffers(spec.dtype, data.outputs[i].buffer.data(),
                                    ref.buffer.data(), spec.numElements,
                                    opts.rtol, opts.atol);
    if (!s.ok())
      ++mismatched;
    if (!s.ok() || !opts.quiet)
      std::fprintf(out,
                   "output %s: max_abs_err %.3g max_rel_err %.3g mismatches "
                   "%" PRIu64 "/%" PRIu64 " %s\n",
                   spec.name.c_str(), s.maxAbsErr, s.maxRelErr, s.mismatches,
                   s.total, s.ok() ? "ok" : "MISMATCH");
  }
  if (compared == 0)
    std::fprintf(out, "result: ran (no reference outputs)\n");
  else if (mismatched == 0)
    std::fprintf(out, "result: match\n");
  else
    std::fprintf(out, "result: MISMATCH (%zu of %zu outputs)\n", mismatched,
                 compared);
  std::fflush(out);
  return mismatched ? ExitMismatch : ExitOK;
}

int reportRunError(std::FILE *out, std::FILE *err, int code,
                   const std::string &line) {
  std::fflush(out);
  std::fprintf(err, "memc-run: %s\n", line.c_str());
  std::fflush(err);
  return code;
}

} // namespace rt
} // namespace memc
