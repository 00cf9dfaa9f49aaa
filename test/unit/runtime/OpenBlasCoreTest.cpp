//===- OpenBlasCoreTest.cpp - OpenBLAS off its SSE3 fallback --------------===//
//
// Debian 12's OpenBLAS falls back to "Prescott" (SSE3) on CPUs it does not
// know; the runtime, linked into this executable as into memc-run, must
// have switched it to the kernels of the CPU's features as it loaded.
//
//===----------------------------------------------------------------------===//
#include "OpenBlasCore.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <strings.h>

extern "C" char *openblas_get_corename(void);
extern "C" void gotoblas_dynamic_init(void) __attribute__((weak));

namespace {

using memc::rt::openBlasCoreToSwitchTo;

TEST(OpenBlasCore, NotOnTheFallbackWhereTheCpuHasAvx2) {
  if (!memc::rt::openBlasCoreForThisCpu())
    GTEST_SKIP() << "no AVX2 and FMA on this CPU";
  if (std::getenv("OPENBLAS_CORETYPE"))
    GTEST_SKIP() << "OPENBLAS_CORETYPE chose the kernels";
  if (!gotoblas_dynamic_init)
    GTEST_SKIP() << "an OpenBLAS built for one CPU: no core to choose";
  EXPECT_NE(strcasecmp(openblas_get_corename(), "Prescott"), 0);
  // Called again, it has nothing left to do.
  EXPECT_STREQ(memc::rt::useOpenBlasKernelsForThisCpu(),
               openblas_get_corename());
}

TEST(OpenBlasCore, OnlyTheFallbackIsSwitched) {
  EXPECT_STREQ(openBlasCoreToSwitchTo("Prescott", nullptr, "SkylakeX"),
               "SkylakeX");
  EXPECT_STREQ(openBlasCoreToSwitchTo("prescott", nullptr, "Haswell"),
               "Haswell");
  // A core OpenBLAS chose for a CPU it knows stays, even a different one.
  EXPECT_EQ(openBlasCoreToSwitchTo("Cooperlake", nullptr, "SkylakeX"), nullptr);
  EXPECT_EQ(openBlasCoreToSwitchTo("Zen", nullptr, "Haswell"), nullptr);
}

TEST(OpenBlasCore, TheCallersChoiceStands) {
  EXPECT_EQ(openBlasCoreToSwitchTo("Prescott", "Prescott", "SkylakeX"),
            nullptr);
  EXPECT_EQ(openBlasCoreToSwitchTo("Prescott", "", "SkylakeX"), nullptr);
}

TEST(OpenBlasCore, NothingBetterForACpuWithoutAvx2) {
  EXPECT_EQ(openBlasCoreToSwitchTo("Prescott", nullptr, nullptr), nullptr);
}

} // namespace
