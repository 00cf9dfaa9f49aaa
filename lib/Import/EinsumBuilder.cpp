//===- EinsumBuilder.cpp - einsum ops from per-operand index lists --------===//
#include "EinsumBuilder.h"

#include "mlir/IR/AffineMap.h"
#include "mlir/IR/BuiltinTypes.h"

using namespace mlir;

namespace memc::onnximport {

Ix Ix::operator*(int64_t factor) const {
  Ix r = *this;
  for (auto &term : r.terms_)
    term.second *= factor;
  r.offset_ *= factor;
  return r;
}

Ix Ix::operator+(const Ix &other) const {
  Ix r = *this;
  r.terms_.append(other.terms_.begin(), other.terms_.end());
  r.offset_ += other.offset_;
  return r;
}

AffineExpr Ix::toExpr(MLIRContext *ctx) const {
  AffineExpr e;
  for (auto [rank, coeff] : terms_) {
    AffineExpr t = getAffineDimExpr(rank, ctx) * coeff;
    e = e ? e + t : t;
  }
  if (!e)
    return getAffineConstantExpr(offset_, ctx);
  return offset_ ? e + offset_ : e;
}

Value buildEinsum(OpBuilder &b, Location loc, const EinsumSpec &spec,
                  ValueRange inputs, RankedTensorType resultType) {
  MLIRContext *ctx = b.getContext();
  unsigned numRanks = spec.ranks.size();
  auto toMap = [&](const Indices &indices) {
    SmallVector<AffineExpr> exprs;
    for (const Ix &ix : indices)
      exprs.push_back(ix.toExpr(ctx));
    return AffineMap::get(numRanks, 0, exprs, ctx);
  };
  SmallVector<AffineMap> maps;
  for (const Indices &indices : spec.inputs)
    maps.push_back(toMap(indices));
  maps.push_back(toMap(spec.result));
  // The op builder copies the names into attributes.
  SmallVector<StringRef> names(spec.ranks.begin(), spec.ranks.end());
  return einsum::EinsumOp::create(b, loc, resultType, inputs, maps, names,
                                  spec.compute, spec.reduce);
}

Indices rankRange(unsigned first, unsigned count) {
  Indices r;
  for (unsigned i = 0; i < count; ++i)
    r.push_back(first + i);
  return r;
}

Indices broadcastIndices(ArrayRef<int64_t> shape,
                         ArrayRef<int64_t> resultShape) {
  size_t rank = resultShape.size();
  Indices r;
  for (size_t i = 0; i < shape.size(); ++i) {
    size_t d = rank - shape.size() + i;
    if (shape[i] == 1 && resultShape[d] != 1)
      r.push_back(Ix::at(0));
    else
      r.push_back(d);
  }
  return r;
}

SmallVector<std::string> numberedRanks(StringRef prefix, unsigned count) {
  SmallVector<std::string> names;
  for (unsigned i = 0; i < count; ++i)
    names.push_back(prefix.str() + std::to_string(i));
  return names;
}

SmallVector<std::string> letterRanks(unsigned count) {
  SmallVector<std::string> names;
  for (unsigned i = 0; i < count; ++i)
    names.push_back(i < 16 ? std::string(1, char('a' + i))
                           : "r" + std::to_string(i));
  return names;
}

} // namespace memc::onnximport
