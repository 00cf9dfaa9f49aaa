//===- PackageFuzzer.cpp - libFuzzer target over memc-run's parsers -------===//
//
// memc-run reads packages and data as untrusted input. This target feeds
// arbitrary bytes to every parser of those files: the first byte picks one,
// the rest is the file. The contract under test: any input is accepted or
// refused with a one-line message naming the file, never a crash, a hang, a
// sanitizer report or an allocation the input's size does not justify.
//
//   0  manifest.txt       (rt::parseManifest)
//   1  memc_interface     (rt::parseInterface; after a NUL byte, a manifest
//                          to compare it with: rt::checkInterface)
//   2  launch_plan.txt    (cuda::parseLaunchPlan)
//   3  input_N.pb         (rt::parseTensorProto)
//
//===----------------------------------------------------------------------===//
#include "LaunchPlan.h"
#include "memc/Runtime/Manifest.h"
#include "memc/Runtime/TensorIO.h"

#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

namespace {

/// A refusal must say why, in one line.
void checkError(bool ok, const std::string &error) {
  if (!ok && (error.empty() || error.find('\n') != std::string::npos))
    std::abort();
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size == 0)
    return 0;
  std::string_view text(reinterpret_cast<const char *>(data) + 1, size - 1);
  std::string error;
  switch (data[0] % 4) {
  case 0: {
    memc::rt::Manifest m;
    checkError(memc::rt::parseManifest(text, "manifest.txt", m, error), error);
    break;
  }
  case 1: {
    // "<interface>\0<manifest>": the interface alone, and compared with the
    // manifest when both parse.
    size_t nul = text.find('\0');
    std::string_view iface = text.substr(0, nul);
    memc::rt::Manifest program, m;
    bool ok = memc::rt::parseInterface(iface, "model.so", program, error);
    checkError(ok, error);
    // A program always agrees with itself.
    if (ok && !memc::rt::checkInterface(program, program, "manifest.txt",
                                        "model.so", error))
      std::abort();
    if (ok && nul != std::string_view::npos &&
        memc::rt::parseManifest(text.substr(nul + 1), "manifest.txt", m, error))
      checkError(memc::rt::checkInterface(m, program, "manifest.txt",
                                          "model.so", error),
                 error);
    break;
  }
  case 2: {
    memc::cuda::LaunchPlan plan;
    checkError(
        memc::cuda::parseLaunchPlan(text, "launch_plan.txt", plan, error),
        error);
    break;
  }
  case 3: {
    memc::rt::Tensor t;
    checkError(memc::rt::parseTensorProto(text, t, error), error);
    break;
  }
  }
  return 0;
}
