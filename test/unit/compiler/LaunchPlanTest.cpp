//===- LaunchPlanTest.cpp - the CUDA launch plan memc writes --------------===//
//
// buildCUDAProgram on hand-written memref IR run through memc-lower-to-gpu:
// the host ops' plan lines, in particular the arena argument that the
// memory planner (memc-buffer-mapping) gives the model function, and the
// host ops the plan has no form for.
//
//===----------------------------------------------------------------------===//
#include "memc/Driver/Pipelines.h"
#include "memc/Driver/Registration.h"
#include "memc/Target/CUDATarget.h"

#include "mlir/IR/MLIRContext.h"
#include "mlir/Parser/Parser.h"
#include "mlir/Pass/PassManager.h"

#include <gtest/gtest.h>

#include <cstring>

namespace {

struct Plan : ::testing::Test {
  Plan() {
    static bool registered = (memc::registerAllPasses(), true);
    (void)registered;
    memc::registerAllDialects(registry);
    context = std::make_unique<mlir::MLIRContext>(registry);
    context->disableMultithreading();
  }
  /// Parses `ir`, lowers it for sm_90 and builds the program; false with
  /// `error` set when any step fails.
  bool build(const char *ir) {
    mlir::OwningOpRef<mlir::ModuleOp> module =
        mlir::parseSourceString<mlir::ModuleOp>(ir, context.get());
    if (!module) {
      error = "parse";
      return false;
    }
    mlir::PassManager pm(context.get());
    memc::buildLowerToGPUPipeline(pm);
    if (failed(pm.run(*module))) {
      error = "pipeline";
      return false;
    }
    return memc::buildCUDAProgram(*module, "main_graph", "sm_90", program,
                                  error);
  }
  mlir::DialectRegistry registry;
  std::unique_ptr<mlir::MLIRContext> context;
  memc::CUDAProgram program;
  std::string error;
};

TEST_F(Plan, ArenaArgumentViewsKeepTheirOffsets) {
  // What memc-buffer-mapping produces: temporaries are views of the arena
  // argument at planned byte offsets; the plan uses those offsets.
  ASSERT_TRUE(build(R"mlir(
    func.func @main_graph(%x: memref<4x8xf32> {memc.input = "x"},
                          %y: memref<4x8xf32> {memc.output = "y"},
                          %arena: memref<4096xi8> {memc.arena}) {
      %c1024 = arith.constant 1024 : index
      %t = memref.view %arena[%c1024][] : memref<4096xi8> to memref<4x8xf32>
      linalg.generic {indexing_maps = [affine_map<(i, j) -> (i, j)>,
                                       affine_map<(i, j) -> (i, j)>],
                      iterator_types = ["parallel", "parallel"]}
          ins(%x : memref<4x8xf32>) outs(%t : memref<4x8xf32>) {
      ^bb0(%a: f32, %b: f32):
        %s = arith.addf %a, %a : f32
        linalg.yield %s : f32
      }
      memref.copy %t, %y : memref<4x8xf32> to memref<4x8xf32>
      return
    })mlir"))
      << error;
  EXPECT_EQ(program.arenaBytes, 4096u);
  EXPECT_EQ(program.numLaunches, 1u);
  EXPECT_EQ(program.numCopies, 1u);
  EXPECT_NE(program.plan.find("launch main_graph_kernel 1 1 1 32 1 1 0 "
                              "input:0+0 arena+1024\n"),
            std::string::npos)
      << program.plan;
  EXPECT_NE(program.plan.find("copy output:0+0 arena+1024 128\n"),
            std::string::npos)
      << program.plan;
  EXPECT_NE(program.ptx.find(".target sm_90"), std::string::npos);
}

TEST_F(Plan, AllocsGetAlignedOffsetsAndConstantsTheirBytes) {
  ASSERT_TRUE(build(R"mlir(
    memref.global "private" constant @c : memref<3xf32> = dense<[1.0, 2.0, 3.0]>
    func.func @main_graph(%x: memref<3xf32> {memc.input = "x"},
                          %y: memref<3xf32> {memc.output = "y"}) {
      %a = memref.alloc() : memref<3xf32>
      %b = memref.alloc() : memref<3xf32>
      %c = memref.get_global @c : memref<3xf32>
      linalg.generic {indexing_maps = [affine_map<(i) -> (i)>,
                                       affine_map<(i) -> (i)>,
                                       affine_map<(i) -> (i)>],
                      iterator_types = ["parallel"]}
          ins(%x, %c : memref<3xf32>, memref<3xf32>) outs(%a : memref<3xf32>) {
      ^bb0(%p: f32, %q: f32, %r: f32):
        %s = arith.mulf %p, %q : f32
        linalg.yield %s : f32
      }
      linalg.generic {indexing_maps = [affine_map<(i) -> (i)>,
                                       affine_map<(i) -> (i)>],
                      iterator_types = ["parallel"]}
          ins(%a : memref<3xf32>) outs(%b : memref<3xf32>) {
      ^bb0(%p: f32, %r: f32):
        %s = arith.addf %p, %p : f32
        linalg.yield %s : f32
      }
      memref.copy %b, %y : memref<3xf32> to memref<3xf32>
      memref.dealloc %a : memref<3xf32>
      memref.dealloc %b : memref<3xf32>
      return
    })mlir"))
      << error;
  // 12-byte temporaries at 0 and 256: 268 bytes, rounded up to 512.
  EXPECT_EQ(program.arenaBytes, 512u);
  EXPECT_NE(program.plan.find("constant 0 0 12\n"), std::string::npos)
      << program.plan;
  ASSERT_EQ(program.constants.size(), 12u);
  float c[3];
  std::memcpy(c, program.constants.data(), 12);
  EXPECT_EQ(c[2], 3.0f);
  EXPECT_NE(program.plan.find("input:0+0 const:0+0 arena+0\n"),
            std::string::npos)
      << program.plan;
  EXPECT_NE(program.plan.find("arena+0 arena+256\n"), std::string::npos)
      << program.plan;
  EXPECT_NE(program.plan.find("copy output:0+0 arena+256 12\n"),
            std::string::npos)
      << program.plan;
}

TEST_F(Plan, HostLoopsOverTilesBecomeOneThreadKernels) {
  // FuseMax's tile loops (#4) are host scf.for loops over subviews with
  // dynamic offsets; until they come in a parallel-outermost form, each
  // nest runs as one single-thread kernel: correct, not fast.
  ASSERT_TRUE(build(R"mlir(
    func.func @main_graph(%x: memref<8x4xf32> {memc.input = "x"},
                          %y: memref<8x4xf32> {memc.output = "y"}) {
      %c0 = arith.constant 0 : index
      %c1 = arith.constant 1 : index
      %c2 = arith.constant 2 : index
      %c4 = arith.constant 4 : index
      scf.for %t = %c0 to %c4 step %c1 {
        %o = arith.muli %t, %c2 : index
        %xs = memref.subview %x[%o, 0] [2, 4] [1, 1]
            : memref<8x4xf32> to memref<2x4xf32, strided<[4, 1], offset: ?>>
        %ys = memref.subview %y[%o, 0] [2, 4] [1, 1]
            : memref<8x4xf32> to memref<2x4xf32, strided<[4, 1], offset: ?>>
        linalg.generic {indexing_maps = [affine_map<(i, j) -> (i, j)>,
                                         affine_map<(i, j) -> (i, j)>],
                        iterator_types = ["parallel", "parallel"]}
            ins(%xs : memref<2x4xf32, strided<[4, 1], offset: ?>>)
            outs(%ys : memref<2x4xf32, strided<[4, 1], offset: ?>>) {
        ^bb0(%a: f32, %b: f32):
          %s = arith.addf %a, %a : f32
          linalg.yield %s : f32
        }
      }
      return
    })mlir"))
      << error;
  EXPECT_EQ(program.numLaunches, 1u);
  EXPECT_NE(program.plan.find("launch main_graph_kernel 1 1 1 1 1 1 0 "
                              "input:0+0 output:0+0\n"),
            std::string::npos)
      << program.plan;
}

TEST_F(Plan, HostOpsWithoutAPlanFormAreErrors) {
  EXPECT_FALSE(build(R"mlir(
    func.func private @helper(memref<3xf32>)
    func.func @main_graph(%x: memref<3xf32> {memc.input = "x"},
                          %y: memref<3xf32> {memc.output = "y"}) {
      func.call @helper(%x) : (memref<3xf32>) -> ()
      return
    })mlir"));
  EXPECT_NE(error.find("call of @helper, which runtime/cuda lacks"),
            std::string::npos)
      << error;
  EXPECT_FALSE(build(R"mlir(
    func.func @main_graph(%x: memref<3xf32> {memc.input = "x"},
                          %y: memref<3xf32>) {
      return
    })mlir"));
  EXPECT_NE(error.find("argument 1 of @main_graph is neither an input, "
                       "weight, state, step, KV cache, output nor arena"),
            std::string::npos)
      << error;
}

TEST_F(Plan, HostPoolCopiesOverlapTheStepsThatDoNotTouchThem) {
  // A swapped activation: copied to the host pool after its producer and
  // back before its reader, with an unrelated kernel in between. The fetch
  // moves up to right after the spill (the copy stream runs them in order)
  // and runs while the kernel computes; its wait is before the reader. The
  // spill's range is not computed on again: its wait is at the end.
  ASSERT_TRUE(build(R"mlir(
    func.func @main_graph(%x: memref<4x8xf32> {memc.input = "x"},
                          %y: memref<4x8xf32> {memc.output = "y"},
                          %z: memref<4x8xf32> {memc.output = "z"},
                          %arena: memref<4096xi8> {memc.arena},
                          %pool: memref<1024xi8> {memc.host_pool}) {
      %c0 = arith.constant 0 : index
      %c256 = arith.constant 256 : index
      %c512 = arith.constant 512 : index
      %c1024 = arith.constant 1024 : index
      %t = memref.view %arena[%c0][] : memref<4096xi8> to memref<4x8xf32>
      %h = memref.view %pool[%c256][] : memref<1024xi8> to memref<4x8xf32>
      %u = memref.view %arena[%c512][] : memref<4096xi8> to memref<4x8xf32>
      %v = memref.view %arena[%c1024][] : memref<4096xi8> to memref<4x8xf32>
      memref.copy %x, %t : memref<4x8xf32> to memref<4x8xf32>
      memref.copy %t, %h : memref<4x8xf32> to memref<4x8xf32>
      linalg.generic {indexing_maps = [affine_map<(i, j) -> (i, j)>,
                                       affine_map<(i, j) -> (i, j)>],
                      iterator_types = ["parallel", "parallel"]}
          ins(%x : memref<4x8xf32>) outs(%v : memref<4x8xf32>) {
      ^bb0(%a: f32, %b: f32):
        %s = arith.addf %a, %a : f32
        linalg.yield %s : f32
      }
      memref.copy %h, %u : memref<4x8xf32> to memref<4x8xf32>
      memref.copy %u, %y : memref<4x8xf32> to memref<4x8xf32>
      memref.copy %v, %z : memref<4x8xf32> to memref<4x8xf32>
      return
    })mlir"))
      << error;
  EXPECT_EQ(program.hostPoolBytes, 1024u);
  EXPECT_EQ(program.numSpills, 1u);
  EXPECT_EQ(program.numFetches, 1u);
  EXPECT_EQ(program.numCopies, 3u);
  EXPECT_NE(program.plan.find("host_pool_bytes 1024\n"), std::string::npos)
      << program.plan;
  EXPECT_NE(program.plan.find("copy arena+0 input:0+0 128\n"
                              "spill arena+0 host+256 128 e0\n"
                              "fetch host+256 arena+512 128 e1\n"
                              "launch main_graph_kernel 1 1 1 32 1 1 0 "
                              "input:0+0 arena+1024\n"
                              "wait e1\n"
                              "copy output:0+0 arena+512 128\n"
                              "copy output:1+0 arena+1024 128\n"
                              "wait e0\n"),
            std::string::npos)
      << program.plan;
}

TEST_F(Plan, KernelOperandsInTheHostPoolAreRefused) {
  EXPECT_FALSE(build(R"mlir(
    func.func @main_graph(%x: memref<4x8xf32> {memc.input = "x"},
                          %y: memref<4x8xf32> {memc.output = "y"},
                          %pool: memref<1024xi8> {memc.host_pool}) {
      %c0 = arith.constant 0 : index
      %h = memref.view %pool[%c0][] : memref<1024xi8> to memref<4x8xf32>
      linalg.generic {indexing_maps = [affine_map<(i, j) -> (i, j)>,
                                       affine_map<(i, j) -> (i, j)>],
                      iterator_types = ["parallel", "parallel"]}
          ins(%x : memref<4x8xf32>) outs(%h : memref<4x8xf32>) {
      ^bb0(%a: f32, %b: f32):
        %s = arith.addf %a, %a : f32
        linalg.yield %s : f32
      }
      memref.copy %h, %y : memref<4x8xf32> to memref<4x8xf32>
      return
    })mlir"));
  EXPECT_NE(error.find("a kernel operand in the host pool"), std::string::npos)
      << error;
  EXPECT_FALSE(build(R"mlir(
    func.func @main_graph(%x: memref<4x8xf32> {memc.input = "x"},
                          %y: memref<4x8xf32> {memc.output = "y"},
                          %pool: memref<1024xi8> {memc.host_pool}) {
      %c0 = arith.constant 0 : index
      %c256 = arith.constant 256 : index
      %a = memref.view %pool[%c0][] : memref<1024xi8> to memref<4x8xf32>
      %b = memref.view %pool[%c256][] : memref<1024xi8> to memref<4x8xf32>
      memref.copy %a, %b : memref<4x8xf32> to memref<4x8xf32>
      return
    })mlir"));
  EXPECT_NE(error.find("a copy within the host pool"), std::string::npos)
      << error;
}

TEST_F(Plan, PositionIndicesAreComputedInTheKernels) {
  // A decode step writes its row into a KV cache at the row its position
  // input gives. The plan holds no host arithmetic: the kernel takes the
  // position's buffer (input:1) and the cache (kv:0), and loads the
  // position itself (memc-sink-run-time-values).
  ASSERT_TRUE(build(R"mlir(
    func.func @main_graph(%x: memref<4x1x8xf32> {memc.input = "ids"},
                          %pos: memref<i64> {memc.input = "position"},
                          %cache: memref<4x16x8xf32> {memc.kv_cache = "key.0"},
                          %y: memref<4x1x8xf32> {memc.output = "y"}) {
      %c0 = arith.constant 0 : index
      %c15 = arith.constant 15 : index
      %p = memref.load %pos[] : memref<i64>
      %i = arith.index_cast %p : i64 to index
      %lo = arith.maxsi %i, %c0 : index
      %row = arith.minsi %lo, %c15 : index
      %dst = memref.subview %cache[0, %row, 0] [4, 1, 8] [1, 1, 1]
          : memref<4x16x8xf32> to memref<4x1x8xf32, strided<[128, 8, 1], offset: ?>>
      memref.copy %x, %dst : memref<4x1x8xf32> to memref<4x1x8xf32, strided<[128, 8, 1], offset: ?>>
      memref.copy %x, %y : memref<4x1x8xf32> to memref<4x1x8xf32>
      return
    })mlir"))
      << error;
  EXPECT_EQ(program.numLaunches, 1u);
  EXPECT_NE(program.plan.find("launch main_graph_kernel 1 1 1 32 1 1 0 "
                              "input:1+0 kv:0+0 input:0+0\n"),
            std::string::npos)
      << program.plan;
}

} // namespace
