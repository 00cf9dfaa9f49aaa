//===- LaunchPlanTest.cpp - parser of launch_plan.txt ---------------------===//
#include "LaunchPlan.h"

#include <gtest/gtest.h>

#include <cmath>

using namespace memc::cuda;

namespace {

std::string parseError(const std::string &text) {
  LaunchPlan plan;
  std::string error;
  EXPECT_FALSE(parseLaunchPlan(text, "plan.txt", plan, error)) << text;
  return error;
}

const char kHeader[] = "memc-launch-plan 1\narch sm_90\n";

TEST(LaunchPlan, ParsesEveryStepKind) {
  std::string text = std::string(kHeader) +
                     "host_pool_bytes 4096\n"
                     "constant 0 0 512\n"
                     "constant 1 512 40\n"
                     "# a comment\n"
                     "launch k0 4 2 1 256 1 1 128 arena+0 const:1+8 i32:-3 "
                     "i64:1099511627776 f32:-inf f64:0.5 output:0+64\n"
                     "gemm f32 2 0 1 8 10 128 1 input:0+0 64 512 weight:1+0 "
                     "10 1280 0 arena+8192 10 80\n"
                     "copy output:0+0 arena+16 64\n"
                     "spill arena+0 host+128 64 e2\n"
                     "wait e2\n"
                     "fetch host+128 arena+512 64 e0\n";
  LaunchPlan plan;
  std::string error;
  ASSERT_TRUE(parseLaunchPlan(text, "plan.txt", plan, error)) << error;
  EXPECT_EQ(plan.arch, "sm_90");
  EXPECT_EQ(plan.hostPoolBytes, 4096u);
  ASSERT_EQ(plan.constants.size(), 2u);
  EXPECT_EQ(plan.constants[1].offset, 512u);
  EXPECT_EQ(plan.constants[1].bytes, 40u);
  ASSERT_EQ(plan.steps.size(), 6u);
  EXPECT_EQ(plan.numEvents, 3u);

  const Step &l = plan.steps[0];
  EXPECT_EQ(l.kind, Step::Launch);
  EXPECT_EQ(l.line, 7u);
  EXPECT_EQ(l.kernel, "k0");
  EXPECT_EQ(l.grid[0], 4u);
  EXPECT_EQ(l.grid[1], 2u);
  EXPECT_EQ(l.block[0], 256u);
  EXPECT_EQ(l.sharedBytes, 128u);
  ASSERT_EQ(l.args.size(), 7u);
  EXPECT_EQ(l.args[0].kind, Arg::Buffer);
  EXPECT_EQ(l.args[0].ref.base, BufferRef::Arena);
  EXPECT_EQ(l.args[1].ref.base, BufferRef::Const);
  EXPECT_EQ(l.args[1].ref.index, 1u);
  EXPECT_EQ(l.args[1].ref.offset, 8u);
  EXPECT_EQ(l.args[2].kind, Arg::I32);
  EXPECT_EQ(l.args[2].i, -3);
  EXPECT_EQ(l.args[3].i, int64_t(1) << 40);
  EXPECT_EQ(l.args[4].kind, Arg::F32);
  EXPECT_TRUE(std::isinf(l.args[4].f) && l.args[4].f < 0);
  EXPECT_EQ(l.args[5].f, 0.5);
  EXPECT_EQ(formatRef(l.args[6].ref), "output:0+64");

  const Step &g = plan.steps[1];
  EXPECT_EQ(g.kind, Step::Gemm);
  EXPECT_FALSE(g.f64);
  EXPECT_EQ(g.batch, 2);
  EXPECT_EQ(g.transB, 1);
  EXPECT_EQ(g.m, 8);
  EXPECT_EQ(g.n, 10);
  EXPECT_EQ(g.k, 128);
  EXPECT_EQ(g.ldb, 10);
  EXPECT_EQ(g.strideB, 1280);
  EXPECT_EQ(g.beta, 0.0);
  EXPECT_EQ(formatRef(g.c), "arena+8192");

  EXPECT_EQ(plan.steps[2].kind, Step::Copy);
  EXPECT_EQ(formatRef(plan.steps[2].dst), "output:0+0");
  EXPECT_EQ(plan.steps[3].kind, Step::Spill);
  EXPECT_EQ(formatRef(plan.steps[3].dst), "host+128");
  EXPECT_EQ(plan.steps[3].event, 2u);
  EXPECT_EQ(plan.steps[4].kind, Step::Wait);
  EXPECT_EQ(plan.steps[5].kind, Step::Fetch);
  EXPECT_EQ(formatRef(plan.steps[5].src), "host+128");
}

TEST(LaunchPlan, ParsesTrainAddresses) {
  // A train step's optimizer states and step count (kStateRef, kStepRef).
  std::string text = std::string(kHeader) +
                     "launch k 1 1 1 1 1 1 0 state:2+16 step:0+0\n"
                     "copy state:0+0 arena+0 8\n"
                     "gemm f32 1 0 0 1 1 1 1 state:1+0 1 1 weight:0+0 1 1 0 "
                     "state:1+4 1 1\n";
  LaunchPlan plan;
  std::string error;
  ASSERT_TRUE(parseLaunchPlan(text, "plan.txt", plan, error)) << error;
  ASSERT_EQ(plan.steps.size(), 3u);
  const Step &l = plan.steps[0];
  ASSERT_EQ(l.args.size(), 2u);
  EXPECT_EQ(l.args[0].ref.base, BufferRef::State);
  EXPECT_EQ(l.args[0].ref.index, 2u);
  EXPECT_EQ(l.args[0].ref.offset, 16u);
  EXPECT_EQ(l.args[1].ref.base, BufferRef::Step);
  EXPECT_EQ(formatRef(l.args[0].ref), "state:2+16");
  EXPECT_EQ(formatRef(l.args[1].ref), "step:0+0");
  EXPECT_EQ(formatRef(plan.steps[1].dst), "state:0+0");
  EXPECT_EQ(formatRef(plan.steps[2].c), "state:1+4");
  EXPECT_NE(parseError(std::string(kHeader) + "launch k 1 1 1 1 1 1 0 "
                                              "state+0\n")
                .find("bad kernel argument 'state+0' (want input:I+OFF, "
                      "weight:I+OFF, state:I+OFF, step:0+OFF,"),
            std::string::npos);
  EXPECT_EQ(parseError(std::string(kHeader) + "copy step arena+0 8\n"),
            "plan.txt:3: bad copy operands");
}

TEST(LaunchPlan, ParsesKVCacheAddresses) {
  // A decode program's KV caches (kKVRef), which both programs share.
  std::string text = std::string(kHeader) +
                     "launch k 1 1 1 1 1 1 0 input:1+0 kv:3+256\n"
                     "copy kv:0+64 arena+0 8\n";
  LaunchPlan plan;
  std::string error;
  ASSERT_TRUE(parseLaunchPlan(text, "plan.txt", plan, error)) << error;
  ASSERT_EQ(plan.steps.size(), 2u);
  const Arg &kv = plan.steps[0].args[1];
  EXPECT_EQ(kv.ref.base, BufferRef::KV);
  EXPECT_EQ(kv.ref.index, 3u);
  EXPECT_EQ(kv.ref.offset, 256u);
  EXPECT_EQ(formatRef(kv.ref), "kv:3+256");
  EXPECT_EQ(formatRef(plan.steps[1].dst), "kv:0+64");
  EXPECT_NE(parseError(std::string(kHeader) + "launch k 1 1 1 1 1 1 0 kv+0\n")
                .find("bad kernel argument 'kv+0'"),
            std::string::npos);
}

TEST(LaunchPlan, ParsesSvdSteps) {
  // GaLore's projector refresh: right (Vh[:r], r x cols) and left
  // (U[:, :r], rows x r) projectors.
  std::string text = std::string(kHeader) +
                     "svd 200 4 1 128 64 arena+256 state:2+0\n"
                     "svd 1 10 0 10 128 weight:0+0 state:7+0\n";
  LaunchPlan plan;
  std::string error;
  ASSERT_TRUE(parseLaunchPlan(text, "plan.txt", plan, error)) << error;
  ASSERT_EQ(plan.steps.size(), 2u);
  const Step &r = plan.steps[0];
  EXPECT_EQ(r.kind, Step::Svd);
  EXPECT_EQ(r.period, 200);
  EXPECT_EQ(r.rank, 4);
  EXPECT_TRUE(r.right);
  EXPECT_EQ(r.rows, 128);
  EXPECT_EQ(r.cols, 64);
  EXPECT_EQ(formatRef(r.a), "arena+256");
  EXPECT_EQ(formatRef(r.c), "state:2+0");
  EXPECT_EQ(r.projectorRows(), 4);
  EXPECT_EQ(r.projectorCols(), 64);
  const Step &l = plan.steps[1];
  EXPECT_FALSE(l.right);
  EXPECT_EQ(l.projectorRows(), 10);
  EXPECT_EQ(l.projectorCols(), 10);

  EXPECT_NE(parseError(std::string(kHeader) + "svd 2 4 1 128 64 arena+0\n")
                .find("expected 'svd PERIOD RANK RIGHT ROWS COLS GRADIENT "
                      "PROJECTOR', got 7 fields"),
            std::string::npos);
  for (const char *bad : {"svd 0 4 1 128 64 arena+0 state:0+0\n",
                          "svd 2 0 1 128 64 arena+0 state:0+0\n",
                          "svd 2 4 2 128 64 arena+0 state:0+0\n",
                          "svd 2 4 1 -128 64 arena+0 state:0+0\n"})
    EXPECT_EQ(parseError(std::string(kHeader) + bad),
              "plan.txt:3: bad SVD period, rank, side or size (want "
              "positive numbers and a side of 0 or 1)")
        << bad;
  EXPECT_EQ(parseError(std::string(kHeader) +
                       "svd 2 65 1 128 64 arena+0 state:0+0\n"),
            "plan.txt:3: SVD rank 65 above the smaller side of its 128x64 "
            "gradient");
  for (const char *bad : {"svd 2 4 1 128 64 arena+0 arena+512\n",
                          "svd 2 4 1 128 64 host+0 state:0+0\n"})
    EXPECT_EQ(parseError(std::string(kHeader) + bad),
              "plan.txt:3: an SVD reads a device buffer and writes an "
              "optimizer state (state:I+OFF)")
        << bad;
}

TEST(LaunchPlan, RejectsWithLineNumbers) {
  EXPECT_EQ(parseError("memc-launch-plan 2\n"),
            "plan.txt:1: launch plan version '2' is not supported (this "
            "runtime reads version 1)");
  EXPECT_EQ(parseError("memc-package 1\n")
                .rfind("plan.txt:1: not a memc "
                       "launch plan",
                       0),
            0u);
  EXPECT_EQ(parseError("memc-launch-plan 1\n"),
            "plan.txt:1: missing the 'arch sm_XX' line");
  EXPECT_EQ(parseError(std::string(kHeader) + "jump k0\n"),
            "plan.txt:3: unknown line kind 'jump' (want arch, "
            "host_pool_bytes, constant, launch, gemm, copy, spill, fetch, "
            "wait or svd)");
  EXPECT_EQ(parseError(std::string(kHeader) + "launch k 0 1 1 1 1 1 0\n"),
            "plan.txt:3: bad grid size '0'");
  EXPECT_EQ(parseError(std::string(kHeader) + "launch k 1 1 1 1025 1 1 0\n"),
            "plan.txt:3: bad block size '1025'");
  EXPECT_EQ(parseError(std::string(kHeader) + "launch k 1 1 1 64 32 1 0\n"),
            "plan.txt:3: more than 1024 threads in a block");
  EXPECT_NE(parseError(std::string(kHeader) + "launch k 1 1 1 1 1 1 0 "
                                              "arena-4\n")
                .find("bad kernel argument 'arena-4'"),
            std::string::npos);
  EXPECT_EQ(parseError(std::string(kHeader) + "launch k 1 1 1 1 1 1 0 "
                                              "host+0\n"),
            "plan.txt:3: a kernel cannot take a host pool address");
  EXPECT_EQ(parseError(std::string(kHeader) + "launch k 1 1 1 1 1 1 0 "
                                              "i32:4294967296\n")
                .find("bad kernel argument"),
            12u);
  EXPECT_NE(parseError(std::string(kHeader) + "gemm f32 1 0 0 1 1 1\n")
                .find("got 8 fields"),
            std::string::npos);
  EXPECT_EQ(parseError(std::string(kHeader) + "constant 1 0 4\n")
                .rfind("plan.txt:3: constants must be numbered", 0),
            0u);
  EXPECT_EQ(parseError(std::string(kHeader) + "copy host+0 arena+0 4\n")
                .rfind("plan.txt:3: 'copy' is device to device", 0),
            0u);
  EXPECT_EQ(parseError(std::string(kHeader) + "spill host+0 arena+0 4 e0\n"),
            "plan.txt:3: 'spill' moves a device buffer to host+OFF");
  EXPECT_EQ(parseError(std::string(kHeader) + "wait 3\n"),
            "plan.txt:3: bad event '3' (want e0, e1, ...)");
}

} // namespace
