//===- StridedCopiesToLinalg.cpp - strided memref.copy -> linalg.copy -----===//
#include "memc/Transforms/Passes.h"

#include "mlir/Dialect/MemRef/Utils/MemRefUtils.h"

namespace memc {
#define GEN_PASS_DEF_STRIDEDCOPIESTOLINALG
#include "memc/Transforms/Passes.h.inc"
} // namespace memc

using namespace mlir;

namespace {
struct StridedCopiesToLinalgPass
    : memc::impl::StridedCopiesToLinalgBase<StridedCopiesToLinalgPass> {
  void runOnOperation() override {
    SmallVector<memref::CopyOp> copies;
    getOperation().walk([&](memref::CopyOp op) {
      auto src = dyn_cast<MemRefType>(op.getSource().getType());
      auto dst = dyn_cast<MemRefType>(op.getTarget().getType());
      if (!src || !dst || !memref::isStaticShapeAndContiguousRowMajor(src) ||
          !memref::isStaticShapeAndContiguousRowMajor(dst))
        copies.push_back(op);
    });
    for (memref::CopyOp op : copies) {
      OpBuilder b(op);
      linalg::CopyOp::create(b, op.getLoc(), ValueRange{op.getSource()},
                             ValueRange{op.getTarget()});
      op.erase();
    }
  }
};
} // namespace
