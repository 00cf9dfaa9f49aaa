//===- Runner.cpp - What memc-run does with a CPU package -----------------===//
//
// The order of work is chosen so that every bad input is reported before the
// program runs: package, then data files, then allocation; only then the
// calls (the device-independent parts are runtime/common's RunCommon.cpp).
// Peak memory is measured per call (peak above the bytes live when the call
// starts), so a program that leaks does not inflate the number with the
// iteration count; the leak itself is reported as a warning.
//
//===----------------------------------------------------------------------===//

#include "Runner.h"

#include "CallProfile.h"
#include "CrashGuard.h"
#include "GenerateRunner.h"
#include "Package.h"
#include "TrackedBlock.h"
#include "TrainRunner.h"
#include "memc/ExitCodes.h"
#include "memc/Runtime/InputFile.h"
#include "memc/Runtime/PackageFormat.h"
#include "memc_runtime.h"

#include <algorithm>
#include <chrono>
#include <cinttypes>
#include <vector>

namespace memc {
namespace rt {

int runPackage(const RunOptions &opts, std::FILE *out, std::FILE *err) {
  auto failWith = [&](int code, const std::string &line) {
    return reportRunError(out, err, code, line);
  };
  if (opts.generate)
    return runGenerate(opts, out, err);

  Package pkg;
  std::string error;
  bool loaded;
  {
    // model.so's ELF structures are checked before dlopen, but not every
    // byte the loader reads (relocations, symbol tables): a file damaged in
    // there is still a package error, not a crash.
    CrashGuard crashGuard(
        "memc-run: " + joinPath(opts.package, package::kModelFile) +
            ": the dynamic loader crashed on it (signal ",
        "): the package is damaged; recompile it", ExitBadPackage);
    loaded = pkg.load(opts.package, error);
  }
  if (!loaded)
    return failWith(ExitBadPackage, error);
  const Manifest &m = pkg.manifest();

  if (opts.device == package::kTargetCUDA)
    return failWith(ExitUsage, "--device cuda: " + opts.package +
                                   ": this package was compiled for the CPU "
                                   "target");
  // A train step's arguments are not an inference's: each mode runs only
  // its own packages.
  if (opts.train) {
    if (!m.isTrain())
      return failWith(ExitUsage,
                      "--train: " + opts.package +
                          ": not a train package (memc --train writes one)");
    return runTrainPackage(pkg, opts, out, err);
  }
  if (m.isTrain())
    return failWith(ExitUsage,
                    opts.package + ": is a train package: run it with --train");

  RunData data;
  if (int code = prepareRunData(m, opts, data, error))
    return failWith(code, error);
  std::vector<Tensor> &inputs = data.inputs, &outputs = data.outputs;

  // The one arena of the plan comes from the same tracked allocator as the
  // program's own heap buffers, so peak_arena_bytes below is what was
  // measured (arena plus anything left on the heap), not the manifest's
  // number. The host pool of spilled buffers is host memory, not arena.
  uint64_t liveBefore = memc_rt_live_bytes();
  TrackedBlock arena(m.arenaBytes);
  uint64_t arenaTracked = memc_rt_live_bytes() - liveBefore;
  if (m.arenaBytes > 0 && !arena.data())
    return failWith(ExitBadPackage, opts.package + ": cannot allocate the " +
                                        std::to_string(m.arenaBytes) +
                                        "-byte arena");
  AlignedBuffer hostPool;
  if (m.hostPoolBytes > 0 && !hostPool.allocate(m.hostPoolBytes))
    return failWith(ExitBadPackage, opts.package + ": cannot allocate the " +
                                        std::to_string(m.hostPoolBytes) +
                                        "-byte host pool");

  // A decode program run on its own (memc-run PKG/decode): its KV caches
  // start at zero and carry from one call to the next, as in --generate.
  std::vector<AlignedBuffer> caches(m.kvCaches.size());
  for (size_t i = 0; i < caches.size(); ++i)
    if (!caches[i].allocate(m.kvCaches[i].byteSize))
      return failWith(ExitBadPackage, opts.package +
                                          ": cannot allocate the KV cache '" +
                                          m.kvCaches[i].name + "'");

  std::vector<void *> args;
  for (Tensor &t : inputs)
    args.push_back(t.buffer.data());
  for (size_t i = 0; i < m.weights.size(); ++i)
    args.push_back(pkg.weightData(i));
  for (AlignedBuffer &c : caches)
    args.push_back(c.data());
  for (Tensor &t : outputs)
    args.push_back(t.buffer.data());
  if (m.arenaBytes > 0)
    args.push_back(arena.data());
  if (m.hostPoolBytes > 0)
    args.push_back(hostPool.data());

  if (!opts.quiet) {
    std::fprintf(out, "package: %s\n", opts.package.c_str());
    std::fprintf(out, "inputs: %zu\n", m.inputs.size());
  }
  std::fflush(out);

  // The calls, and only they, under the crash guard.
  EntryFn entry = pkg.entry();
  uint64_t maxPeak = 0, maxLeak = 0;
  LatencyStats ms;
  double timedMs = 0;
  std::vector<ProfileEntry> profile;
  {
    CrashGuard crashGuard(
        "memc-run: " + joinPath(opts.package, package::kModelFile) +
            ": the compiled program crashed (signal ",
        ")", ExitInternal);
    auto call = [&]() {
      uint64_t before = memc_rt_live_bytes();
      memc_rt_reset_peak();
      entry(args.data());
      uint64_t peak = memc_rt_peak_bytes() - before;
      uint64_t after = memc_rt_live_bytes();
      maxPeak = std::max(maxPeak, peak);
      if (after > before)
        maxLeak = std::max(maxLeak, after - before);
    };
    for (int64_t i = 0; i < opts.warmup; ++i)
      call();
    if (opts.profile)
      startCallProfile();
    for (int64_t i = 0; i < opts.iterations; ++i) {
      auto t0 = std::chrono::steady_clock::now();
      call();
      auto t1 = std::chrono::steady_clock::now();
      double callMs =
          std::chrono::duration<double, std::milli>(t1 - t0).count();
      ms.add(callMs);
      timedMs += callMs;
    }
    if (opts.profile)
      profile = stopCallProfile();
  }

  if (maxLeak > 0 && !opts.quiet) {
    std::fflush(out);
    std::fprintf(err,
                 "memc-run: warning: %s: the program did not free %" PRIu64
                 " bytes in one call\n",
                 joinPath(opts.package, package::kModelFile).c_str(), maxLeak);
    std::fflush(err);
  }
  if (!opts.quiet) {
    std::fprintf(out, "latency_ms: %.4f\n", ms.median());
    std::fprintf(out, "latency_min_ms: %.4f\n", ms.min());
    std::fprintf(out, "peak_arena_bytes: %" PRIu64 "\n",
                 arenaTracked + maxPeak);
    std::fprintf(out, "weights_bytes: %" PRIu64 "\n", pkg.weightsBytes());
  }
  if (opts.profile)
    std::fputs(formatCallProfile(profile, opts.iterations, timedMs, kProfileTop)
                   .c_str(),
               out);

  // The comparison, on the last call's outputs.
  return reportComparison(m, data, opts, out);
}

int memcRunMain(int argc, const char *const *argv, std::FILE *out,
                std::FILE *err) {
  RunOptions opts;
  std::string error;
  if (parseRunOptions(argc, argv, opts, error) != ExitOK) {
    std::fprintf(err, "memc-run: %s\n", error.c_str());
    return ExitUsage;
  }
  if (opts.help) {
    std::fputs(runUsage(), out);
    return ExitOK;
  }
  return runPackage(opts, out, err);
}

} // namespace rt
} // namespace memc
