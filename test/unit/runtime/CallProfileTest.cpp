//===- CallProfileTest.cpp - memc-run --profile's runtime call times ------===//
//
// Calls are counted under their entry point and shape (a parallel loop
// under its kernel) while a profile runs on the calling thread, and not
// otherwise: not before the start or after the stop, not from other
// threads, not nested inside another timed call.
//
//===----------------------------------------------------------------------===//
#include "CallProfile.h"
#include "memc_runtime.h"

#include <gtest/gtest.h>

#include <string>
#include <thread>
#include <vector>

namespace {

using memc::rt::ProfileEntry;

/// C (m x n) = A (m x k) B (k x n) through memc_rt_sgemm.
void gemm(int64_t m, int64_t n, int64_t k) {
  std::vector<float> a(size_t(m * k), 1.0f), b(size_t(k * n), 1.0f),
      c(size_t(m * n));
  memc_rt_sgemm(1, 0, 0, m, n, k, 1.0f, a.data(), k, 0, b.data(), n, 0, 0.0f,
                c.data(), n, 0);
}

/// A parallel loop whose rows each run a GEMM.
void gemmRows(void *, int64_t lo, int64_t hi) {
  for (int64_t i = lo; i < hi; ++i)
    gemm(2, 3, 4);
}

const ProfileEntry *find(const std::vector<ProfileEntry> &entries,
                         const std::string &what) {
  for (const ProfileEntry &e : entries)
    if (e.what == what)
      return &e;
  return nullptr;
}

TEST(CallProfile, CountsCallsByEntryAndShape) {
  gemm(5, 6, 7); // before the start: not counted
  memc::rt::startCallProfile();
  gemm(5, 6, 7);
  gemm(5, 6, 7);
  gemm(8, 9, 10);
  std::vector<ProfileEntry> entries = memc::rt::stopCallProfile();
  gemm(5, 6, 7); // after the stop: not counted
  ASSERT_EQ(entries.size(), 2u);
  const ProfileEntry *twice = find(entries, "sgemm m 5 n 6 k 7");
  const ProfileEntry *once = find(entries, "sgemm m 8 n 9 k 10");
  ASSERT_TRUE(twice && once);
  EXPECT_EQ(twice->calls, 2);
  EXPECT_EQ(once->calls, 1);
  EXPECT_GE(twice->ms, 0.0);
  // A second profile starts from zero.
  memc::rt::startCallProfile();
  EXPECT_TRUE(memc::rt::stopCallProfile().empty());
}

TEST(CallProfile, CountsOnlyTheOutermostCallOfTheProfilingThread) {
  memc::rt::startCallProfile();
  memc_rt_parallel_for(&gemmRows, nullptr, 64);
  std::thread other([] { gemm(5, 6, 7); });
  other.join();
  std::vector<ProfileEntry> entries = memc::rt::stopCallProfile();
  // The loop's rows' GEMMs (on this thread or the pool's) are inside it;
  // the other thread's GEMM is not this thread's.
  ASSERT_EQ(entries.size(), 1u);
  EXPECT_EQ(entries[0].calls, 1);
  EXPECT_EQ(entries[0].what.rfind("parallel_for ", 0), 0u) << entries[0].what;
  // A function of this test (no kernel symbol of a model.so): its name
  // from the executable's symbols, or FILE+0xOFFSET.
  EXPECT_NE(entries[0].what.find("gemmRows"), std::string::npos)
      << entries[0].what;
}

TEST(CallProfile, FormatsTheMostCostlyFirstWithTheirShares) {
  std::vector<ProfileEntry> entries = {
      {"sgemm_packed_a_ep m 96 n 12544 k 16", 4, 6.0},
      {"parallel_for main_graph_kernel_3", 2, 2.0},
      {"memrefCopy", 8, 0.5}};
  std::string text = memc::rt::formatCallProfile(entries, 2, 10.0, 2);
  EXPECT_EQ(text, "profile_runs: 2\n"
                  "profile_ms_per_run: 5.000 (runtime calls 7.0: 4.250 ms; "
                  "outside them 0.750 ms)\n"
                  "profile:  60.0%      3.000 ms    2.0/run "
                  "sgemm_packed_a_ep m 96 n 12544 k 16\n"
                  "profile:  20.0%      1.000 ms    1.0/run "
                  "parallel_for main_graph_kernel_3\n");
}

} // namespace
