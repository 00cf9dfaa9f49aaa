//===- GaLoreProjection.cpp - GaLore's gradient projection ----------------===//
#include "GaLoreProjection.h"

#include "dialects/memc/ProgramInterface.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"

using namespace mlir;

namespace memc {

Value buildContraction(OpBuilder &b, Location loc, Value lhs, Value rhs,
                       ArrayRef<int64_t> shape, AffineMap lhsMap,
                       AffineMap rhsMap) {
  Type f32 = b.getF32Type();
  MLIRContext *ctx = b.getContext();
  Value empty = tensor::EmptyOp::create(b, loc, shape, f32);
  Value zero = arith::ConstantOp::create(b, loc, b.getF32FloatAttr(0));
  Value zeros = linalg::FillOp::create(b, loc, zero, empty).getResult(0);
  AffineMap out = AffineMap::get(
      3, 0, {getAffineDimExpr(0, ctx), getAffineDimExpr(1, ctx)}, ctx);
  using IT = utils::IteratorType;
  return linalg::GenericOp::create(
             b, loc, TypeRange{RankedTensorType::get(shape, f32)},
             ValueRange{lhs, rhs}, ValueRange{zeros}, {lhsMap, rhsMap, out},
             {IT::parallel, IT::parallel, IT::reduction},
             [](OpBuilder &nb, Location nl, ValueRange args) {
               linalg::YieldOp::create(
                   nb, nl,
                   ValueRange{arith::AddFOp::create(
                       nb, nl, args[2],
                       arith::MulFOp::create(nb, nl, args[0], args[1]))});
             })
      .getResult(0);
}

GaLoreProjection buildGaLoreProjection(OpBuilder &b, Location loc, Value g,
                                       Value step, Value projector,
                                       optim::StateLayoutAttr layout,
                                       Value weight) {
  StringAttr weightName;
  if (auto arg = dyn_cast<BlockArgument>(weight))
    if (auto fn = dyn_cast<func::FuncOp>(arg.getOwner()->getParentOp()))
      weightName = b.getStringAttr(getArgName(fn, arg.getArgNumber()));
  auto type = cast<RankedTensorType>(g.getType());
  int64_t a = type.getDimSize(0), bs = type.getDimSize(1);
  int64_t r = std::min(layout.getRank(), std::min(a, bs));
  bool right = a >= bs;
  MLIRContext *ctx = b.getContext();
  auto d = [&](unsigned i) { return getAffineDimExpr(i, ctx); };
  auto map = [&](ArrayRef<AffineExpr> exprs) {
    return AffineMap::get(3, 0, exprs, ctx);
  };
  Value p = optim::SVDProjectorOp::create(
                b, loc, TypeRange{projector.getType()}, g, step, projector,
                b.getI64IntegerAttr(r), b.getI64IntegerAttr(layout.getPeriod()),
                b.getBoolAttr(right), weightName)
                .getResult()[0];
  // R = g P^T ([A, r]) or P^T g ([r, B]).
  Value projected =
      right ? buildContraction(b, loc, g, p, {a, r}, map({d(0), d(2)}),
                               map({d(1), d(2)}))
            : buildContraction(b, loc, p, g, {r, bs}, map({d(2), d(0)}),
                               map({d(2), d(1)}));
  projected.getDefiningOp()->setAttr(kGradProjectionAttr, b.getUnitAttr());
  return {p, projected};
}

} // namespace memc
