//===- AppendLoss.cpp - the training loss as einsum ops -------------------===//
//
// The loss is built from the same einsum ops as the model, so memc-autodiff
// needs no rule of its own for it: cross-entropy's gradient (softmax minus
// the one-hot labels, over the count of counted positions) comes out of the
// max-reduction, sub_exp, log and select rules.
//
//===----------------------------------------------------------------------===//
#include "dialects/memc/ProgramInterface.h"
#include "memc/Runtime/PackageFormat.h"
#include "memc/Transforms/Passes.h"

namespace memc {
#define GEN_PASS_DEF_APPENDLOSS
#include "memc/Transforms/Passes.h.inc"
} // namespace memc

using namespace mlir;
using memc::einsum::ComputeOp;
using memc::einsum::EinsumOp;
using memc::einsum::ReduceOp;

namespace {

/// Builds einsum ops over named ranks p0.. (positions) and c (classes).
struct LossBuilder {
  OpBuilder &b;
  Location loc;
  SmallVector<std::string> names;
  SmallVector<int64_t> extents;

  AffineMap map(ArrayRef<unsigned> dims) {
    SmallVector<AffineExpr> exprs;
    for (unsigned d : dims)
      exprs.push_back(b.getAffineDimExpr(d));
    return AffineMap::get(names.size(), 0, exprs, b.getContext());
  }
  Value scalar(Type elem, double v) {
    auto type = RankedTensorType::get({}, elem);
    Attribute a = isa<FloatType>(elem) ? Attribute(b.getFloatAttr(elem, v))
                                       : b.getIntegerAttr(elem, (int64_t)v);
    return arith::ConstantOp::create(b, loc, DenseElementsAttr::get(type, a));
  }
  /// compute(inputs) -> [dims], summed (reduce) over the other ranks.
  Value op(ComputeOp compute, ReduceOp reduce, ArrayRef<Value> inputs,
           ArrayRef<AffineMap> maps, ArrayRef<unsigned> dims, Type elem) {
    SmallVector<int64_t> shape;
    for (unsigned d : dims)
      shape.push_back(extents[d]);
    SmallVector<AffineMap> all(maps);
    all.push_back(map(dims));
    // Only the ranks this op uses are its ranks.
    llvm::SmallBitVector used(names.size());
    for (AffineMap m : all)
      for (AffineExpr e : m.getResults())
        used.set(cast<AffineDimExpr>(e).getPosition());
    SmallVector<AffineExpr> renumber(names.size(), b.getAffineConstantExpr(0));
    SmallVector<StringRef> opRanks;
    for (unsigned r = 0; r < names.size(); ++r)
      if (used.test(r)) {
        renumber[r] = b.getAffineDimExpr(opRanks.size());
        opRanks.push_back(names[r]);
      }
    for (AffineMap &m : all)
      m = m.replaceDimsAndSymbols(renumber, {}, opRanks.size(), 0);
    return EinsumOp::create(b, loc, RankedTensorType::get(shape, elem), inputs,
                            all, opRanks, compute,
                            used.count() == dims.size() ? ReduceOp::none
                                                        : reduce);
  }
};

struct AppendLossPass : public memc::impl::AppendLossBase<AppendLossPass> {
  using AppendLossBase::AppendLossBase;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    func::FuncOp fn = memc::getEntryBody(module);
    if (!fn) {
      module.emitError("memc-append-loss: the module has no entry function");
      return signalPassFailure();
    }
    if (kind != "cross-entropy" && kind != "mse" && kind != "output") {
      module.emitError("memc-append-loss: unknown loss '")
          << kind << "' (cross-entropy, mse or output)";
      return signalPassFailure();
    }
    // The output the loss reads.
    unsigned index = 0;
    if (output.empty()) {
      if (fn.getNumResults() != 1) {
        fn.emitError("the model has ")
            << fn.getNumResults() << " outputs: name the one the loss reads "
            << "(--loss=" << kind << ":NAME)";
        return signalPassFailure();
      }
    } else {
      bool found = false;
      for (unsigned i = 0, e = fn.getNumResults(); i < e && !found; ++i)
        if (memc::getResultOutputName(fn, i) == output) {
          index = i;
          found = true;
        }
      if (!found) {
        fn.emitError("the loss reads output '")
            << output << "', which the model does not have";
        return signalPassFailure();
      }
    }
    auto ret = cast<func::ReturnOp>(fn.getBody().front().getTerminator());
    Value out = ret.getOperand(index);
    auto outType = cast<RankedTensorType>(out.getType());
    std::string outName = memc::getResultOutputName(fn, index).str();
    if (!outType.getElementType().isF32()) {
      fn.emitError("the loss reads output '")
          << outName << "' of element type " << outType.getElementType()
          << "; it must be f32";
      return signalPassFailure();
    }
    OpBuilder b(ret);
    Location loc = ret.getLoc();
    Value loss;
    Type f32 = b.getF32Type();
    if (kind == "output") {
      if (outType.getNumElements() != 1) {
        fn.emitError("--loss=output: output '")
            << outName << "' is " << outType
            << ", not a scalar: name the loss output (--loss=output:NAME)";
        return signalPassFailure();
      }
      loss = out;
      if (outType.getRank() != 0) {
        SmallVector<ReassociationIndices> none;
        loss = tensor::CollapseShapeOp::create(
            b, loc, RankedTensorType::get({}, f32), out, none);
      }
    } else {
      if (kind == "cross-entropy" && outType.getRank() < 1) {
        fn.emitError("--loss=cross-entropy: output '")
            << outName << "' is a scalar; it needs a class axis (last)";
        return signalPassFailure();
      }
      // The labels: a new input after the model's inputs.
      unsigned at = 0;
      while (at < fn.getNumArguments() &&
             memc::getArgRole(fn, at) == memc::ArgRole::Input)
        ++at;
      SmallVector<int64_t> labelShape(outType.getShape());
      Type labelElem = f32;
      if (kind == "cross-entropy") {
        labelShape.pop_back();
        labelElem = b.getI64Type();
      }
      auto labelType = RankedTensorType::get(labelShape, labelElem);
      if (failed(fn.insertArgument(at, labelType, {}, loc)))
        return signalPassFailure();
      memc::setArgRole(fn, at, memc::ArgRole::Input,
                       memc::package::kLabelsName);
      Value labels = fn.getArgument(at);
      loss = kind == "mse" ? buildMSE(b, loc, out, labels)
                           : buildCrossEntropy(b, loc, out, labels);
    }
    ret->setOperands(ValueRange{loss});
    fn.removeResAttrsAttr();
    fn.setType(FunctionType::get(&getContext(), fn.getArgumentTypes(),
                                 {loss.getType()}));
    memc::setResultOutputName(fn, 0, memc::package::kLossName);
  }

  /// mean((out - labels)^2)
  Value buildMSE(OpBuilder &b, Location loc, Value out, Value labels) {
    auto type = cast<RankedTensorType>(out.getType());
    LossBuilder lb{b, loc, {}, {}};
    SmallVector<unsigned> all;
    for (int64_t i = 0; i < type.getRank(); ++i) {
      lb.names.push_back("p" + std::to_string(i));
      lb.extents.push_back(type.getDimSize(i));
      all.push_back(i);
    }
    Type f32 = b.getF32Type();
    Value sum = lb.op(ComputeOp::sq_diff,
                      type.getRank() ? ReduceOp::add : ReduceOp::none,
                      {out, labels}, {lb.map(all), lb.map(all)}, {}, f32);
    Value count = lb.scalar(f32, (double)type.getNumElements());
    LossBuilder scalar{b, loc, {}, {}};
    return scalar.op(ComputeOp::div, ReduceOp::none, {sum, count},
                     {scalar.map({}), scalar.map({})}, {}, f32);
  }

  /// mean over counted positions of logsumexp(x) - x[label]
  Value buildCrossEntropy(OpBuilder &b, Location loc, Value out,
                          Value labels) {
    auto type = cast<RankedTensorType>(out.getType());
    unsigned rank = type.getRank(), c = rank - 1;
    LossBuilder lb{b, loc, {}, {}};
    SmallVector<unsigned> pos, all;
    for (unsigned i = 0; i < rank; ++i) {
      lb.names.push_back(i == c ? "c" : "p" + std::to_string(i));
      lb.extents.push_back(type.getDimSize(i));
      all.push_back(i);
      if (i != c)
        pos.push_back(i);
    }
    Type f32 = b.getF32Type(), i64 = b.getI64Type(), i1 = b.getI1Type();
    AffineMap X = lb.map(all), P = lb.map(pos), C = lb.map({c}),
              S = lb.map({});
    int64_t classes = type.getDimSize(c);
    // logsumexp, stable: max + log(sum(exp(x - max)))
    Value max =
        lb.op(ComputeOp::copy, ReduceOp::max, {out}, {X}, pos, f32);
    Value sumExp = lb.op(ComputeOp::sub_exp, ReduceOp::add, {out, max},
                         {X, P}, pos, f32);
    Value logSum = lb.op(ComputeOp::log, ReduceOp::none, {sumExp}, {P}, pos,
                         f32);
    Value lse =
        lb.op(ComputeOp::add, ReduceOp::none, {logSum, max}, {P, P}, pos, f32);
    // x[label] through a one-hot comparison with the class index.
    SmallVector<int64_t> iota(classes);
    for (int64_t k = 0; k < classes; ++k)
      iota[k] = k;
    auto iotaType = RankedTensorType::get({classes}, i64);
    Value classIndex = arith::ConstantOp::create(
        b, loc, DenseElementsAttr::get(iotaType, ArrayRef<int64_t>(iota)));
    Value oneHot = lb.op(ComputeOp::eq, ReduceOp::none, {labels, classIndex},
                         {P, C}, all, i1);
    Value zero = lb.scalar(f32, 0);
    Value picked = lb.op(ComputeOp::select, ReduceOp::add,
                         {oneHot, out, zero}, {X, X, S}, pos, f32);
    Value nll = lb.op(ComputeOp::sub, ReduceOp::none, {lse, picked}, {P, P},
                      pos, f32);
    // Positions labelled ignore-index count for nothing.
    Value ignore = lb.scalar(i64, (double)ignoreIndex);
    Value ignored =
        lb.op(ComputeOp::eq, ReduceOp::none, {labels, ignore}, {P, S}, pos, i1);
    Value one = lb.scalar(f32, 1);
    Value counted = lb.op(ComputeOp::select, ReduceOp::none,
                          {ignored, zero, one}, {P, S, S}, pos, f32);
    ReduceOp sumPos = pos.empty() ? ReduceOp::none : ReduceOp::add;
    Value total = lb.op(ComputeOp::mul, sumPos, {nll, counted}, {P, P}, {},
                        f32);
    Value count = lb.op(ComputeOp::copy, sumPos, {counted}, {P}, {}, f32);
    // With every position ignored PyTorch's mean is 0/0 = nan, and so is
    // this one.
    return lb.op(ComputeOp::div, ReduceOp::none, {total, count}, {S, S}, {},
                 f32);
  }
};

} // namespace
