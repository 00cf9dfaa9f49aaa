//===- EinsumOps.cpp - einsum.einsum, einsum.iterate ----------------------===//
//
// Assembly, verification and folding of the einsum ops. The textual form
// writes index expressions with the op's rank names, as the Einsum would be
// written on paper: `(%a[m, k], %b[k, n]) -> [m, n]`.
//
//===----------------------------------------------------------------------===//
#include "dialects/einsum/EinsumDialect.h"

#include "mlir/IR/AffineExpr.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/OpImplementation.h"
#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/StringSet.h"

#include <cmath>

using namespace mlir;
using namespace memc::einsum;

//===----------------------------------------------------------------------===//
// Helpers
//===----------------------------------------------------------------------===//

unsigned EinsumOp::getArity(ComputeOp op) {
  auto v = static_cast<uint32_t>(op);
  if (v < 40)
    return 1;
  if (v < 70)
    return 2;
  return 3;
}

static bool isComparison(ComputeOp op) {
  switch (op) {
  case ComputeOp::eq:
  case ComputeOp::lt:
  case ComputeOp::le:
  case ComputeOp::gt:
  case ComputeOp::ge:
  case ComputeOp::isnan:
  case ComputeOp::isinf:
    return true;
  default:
    return false;
  }
}

/// Operators defined only on floating-point values.
static bool isFloatOnly(ComputeOp op) {
  switch (op) {
  case ComputeOp::exp:
  case ComputeOp::log:
  case ComputeOp::sqrt:
  case ComputeOp::rsqrt:
  case ComputeOp::reciprocal:
  case ComputeOp::tanh:
  case ComputeOp::erf:
  case ComputeOp::sigmoid:
  case ComputeOp::sin:
  case ComputeOp::cos:
  case ComputeOp::tan:
  case ComputeOp::asin:
  case ComputeOp::acos:
  case ComputeOp::atan:
  case ComputeOp::sinh:
  case ComputeOp::cosh:
  case ComputeOp::asinh:
  case ComputeOp::acosh:
  case ComputeOp::atanh:
  case ComputeOp::softplus:
  case ComputeOp::expm1:
  case ComputeOp::erfc:
  case ComputeOp::floor:
  case ComputeOp::ceil:
  case ComputeOp::round:
  case ComputeOp::isnan:
  case ComputeOp::isinf:
  case ComputeOp::pow:
  case ComputeOp::sub_exp:
  case ComputeOp::fmod:
    return true;
  default:
    return false;
  }
}

static bool isBoolOnly(ComputeOp op) {
  return op == ComputeOp::not_ || op == ComputeOp::and_ ||
         op == ComputeOp::or_ || op == ComputeOp::xor_;
}

SmallVector<bool> EinsumOp::getReducedRanks() {
  SmallVector<bool> reduced(getNumRanks(), true);
  for (AffineExpr e : getResultMap().getResults())
    if (auto d = dyn_cast<AffineDimExpr>(e))
      reduced[d.getPosition()] = false;
  return reduced;
}

SmallVector<int64_t> EinsumOp::getRankExtents() {
  SmallVector<int64_t> extents(getNumRanks(), ShapedType::kDynamic);
  auto visit = [&](AffineMap map, ShapedType type) {
    for (auto [i, e] : llvm::enumerate(map.getResults()))
      if (auto d = dyn_cast<AffineDimExpr>(e))
        if (extents[d.getPosition()] == ShapedType::kDynamic)
          extents[d.getPosition()] = type.getDimSize(i);
  };
  visit(getResultMap(), getResult().getType());
  for (auto [i, v] : llvm::enumerate(getInputs()))
    visit(getInputMap(i), cast<ShapedType>(v.getType()));
  return extents;
}

void EinsumOp::build(OpBuilder &b, OperationState &state, Type resultType,
                     ValueRange inputs, ArrayRef<AffineMap> maps,
                     ArrayRef<StringRef> ranks, ComputeOp compute,
                     ReduceOp reduce) {
  build(b, state, resultType, inputs, b.getAffineMapArrayAttr(maps),
        b.getStrArrayAttr(ranks), compute, reduce);
}

//===----------------------------------------------------------------------===//
// Assembly: index expressions over rank names
//===----------------------------------------------------------------------===//

static void printIndexExpr(OpAsmPrinter &p, AffineExpr e,
                           ArrayRef<StringRef> names, bool parens = false) {
  if (auto d = dyn_cast<AffineDimExpr>(e)) {
    p << names[d.getPosition()];
    return;
  }
  if (auto c = dyn_cast<AffineConstantExpr>(e)) {
    p << c.getValue();
    return;
  }
  auto bin = cast<AffineBinaryOpExpr>(e);
  if (e.getKind() == AffineExprKind::Add) {
    if (parens)
      p << "(";
    printIndexExpr(p, bin.getLHS(), names);
    p << " + ";
    printIndexExpr(p, bin.getRHS(), names);
    if (parens)
      p << ")";
    return;
  }
  // Only Mul survives the verifier.
  printIndexExpr(p, bin.getLHS(), names, /*parens=*/true);
  p << " * ";
  printIndexExpr(p, bin.getRHS(), names, /*parens=*/true);
}

static void printIndexList(OpAsmPrinter &p, AffineMap map,
                           ArrayRef<StringRef> names) {
  p << "[";
  llvm::interleaveComma(map.getResults(), p,
                        [&](AffineExpr e) { printIndexExpr(p, e, names); });
  p << "]";
}

namespace {
/// Parses `expr := term ('+' term)*`, `term := atom ('*' atom)*`,
/// `atom := integer | rank-name | '(' expr ')'`.
struct IndexExprParser {
  OpAsmParser &parser;
  const llvm::StringMap<unsigned> &rankIndex;
  MLIRContext *ctx;

  ParseResult parseAtom(AffineExpr &out) {
    if (succeeded(parser.parseOptionalLParen())) {
      if (parseExpr(out) || parser.parseRParen())
        return failure();
      return success();
    }
    int64_t value;
    OptionalParseResult intResult = parser.parseOptionalInteger(value);
    if (intResult.has_value()) {
      if (failed(*intResult))
        return failure();
      out = getAffineConstantExpr(value, ctx);
      return success();
    }
    SMLoc loc = parser.getCurrentLocation();
    StringRef name;
    if (parser.parseKeyword(&name))
      return failure();
    auto it = rankIndex.find(name);
    if (it == rankIndex.end())
      return parser.emitError(loc) << "unknown rank '" << name << "'";
    out = getAffineDimExpr(it->second, ctx);
    return success();
  }
  ParseResult parseTerm(AffineExpr &out) {
    if (parseAtom(out))
      return failure();
    while (succeeded(parser.parseOptionalStar())) {
      AffineExpr rhs;
      if (parseAtom(rhs))
        return failure();
      out = out * rhs;
    }
    return success();
  }
  ParseResult parseExpr(AffineExpr &out) {
    if (parseTerm(out))
      return failure();
    while (succeeded(parser.parseOptionalPlus())) {
      AffineExpr rhs;
      if (parseTerm(rhs))
        return failure();
      out = out + rhs;
    }
    return success();
  }
  ParseResult parseList(SmallVectorImpl<AffineExpr> &exprs) {
    return parser.parseCommaSeparatedList(OpAsmParser::Delimiter::Square,
                                          [&]() -> ParseResult {
                                            AffineExpr e;
                                            if (parseExpr(e))
                                              return failure();
                                            exprs.push_back(e);
                                            return success();
                                          });
  }
};
} // namespace

// einsum.einsum COMPUTE (reduce REDUCE)? [ranks] (%a[...], ...) -> [...]
//   attr-dict : (types) -> type
ParseResult EinsumOp::parse(OpAsmParser &parser, OperationState &result) {
  MLIRContext *ctx = parser.getContext();
  StringRef computeName;
  SMLoc computeLoc = parser.getCurrentLocation();
  if (parser.parseKeyword(&computeName))
    return failure();
  std::optional<ComputeOp> compute = symbolizeComputeOp(computeName);
  if (!compute)
    return parser.emitError(computeLoc)
           << "unknown compute operator '" << computeName << "'";
  ReduceOp reduce = ReduceOp::none;
  if (succeeded(parser.parseOptionalKeyword("reduce"))) {
    StringRef reduceName;
    SMLoc reduceLoc = parser.getCurrentLocation();
    if (parser.parseKeyword(&reduceName))
      return failure();
    std::optional<ReduceOp> r = symbolizeReduceOp(reduceName);
    if (!r)
      return parser.emitError(reduceLoc)
             << "unknown reduce operator '" << reduceName << "'";
    reduce = *r;
  }

  SmallVector<StringRef> rankNames;
  llvm::StringMap<unsigned> rankIndex;
  if (parser.parseCommaSeparatedList(
          OpAsmParser::Delimiter::Square, [&]() -> ParseResult {
            SMLoc loc = parser.getCurrentLocation();
            StringRef name;
            if (parser.parseKeyword(&name))
              return failure();
            if (!rankIndex.try_emplace(name, rankNames.size()).second)
              return parser.emitError(loc)
                     << "rank '" << name << "' is named twice";
            rankNames.push_back(name);
            return success();
          }))
    return failure();

  IndexExprParser exprParser{parser, rankIndex, ctx};
  SmallVector<OpAsmParser::UnresolvedOperand> operands;
  SmallVector<AffineMap> maps;
  unsigned numRanks = rankNames.size();
  if (parser.parseCommaSeparatedList(
          OpAsmParser::Delimiter::Paren, [&]() -> ParseResult {
            OpAsmParser::UnresolvedOperand operand;
            SmallVector<AffineExpr> exprs;
            if (parser.parseOperand(operand) || exprParser.parseList(exprs))
              return failure();
            operands.push_back(operand);
            maps.push_back(AffineMap::get(numRanks, 0, exprs, ctx));
            return success();
          }))
    return failure();
  SmallVector<AffineExpr> resultExprs;
  if (parser.parseArrow() || exprParser.parseList(resultExprs))
    return failure();
  maps.push_back(AffineMap::get(numRanks, 0, resultExprs, ctx));

  if (parser.parseOptionalAttrDict(result.attributes))
    return failure();
  SmallVector<Type> inputTypes;
  Type resultType;
  SMLoc typesLoc = parser.getCurrentLocation();
  if (parser.parseColon() || parser.parseLParen())
    return failure();
  if (failed(parser.parseOptionalRParen())) {
    if (parser.parseTypeList(inputTypes) || parser.parseRParen())
      return failure();
  }
  if (parser.parseArrow() || parser.parseType(resultType))
    return failure();
  if (parser.resolveOperands(operands, inputTypes, typesLoc, result.operands))
    return failure();

  Builder b(ctx);
  result.addAttribute(getIndexingMapsAttrName(result.name),
                      b.getAffineMapArrayAttr(maps));
  result.addAttribute(getRanksAttrName(result.name),
                      b.getStrArrayAttr(rankNames));
  result.addAttribute(getComputeAttrName(result.name),
                      ComputeOpAttr::get(ctx, *compute));
  result.addAttribute(getReduceAttrName(result.name),
                      ReduceOpAttr::get(ctx, reduce));
  result.addTypes(resultType);
  return success();
}

void EinsumOp::print(OpAsmPrinter &p) {
  SmallVector<StringRef> names;
  for (Attribute a : getRanks())
    names.push_back(cast<StringAttr>(a).getValue());
  p << " " << stringifyComputeOp(getCompute());
  if (getReduce() != ReduceOp::none)
    p << " reduce " << stringifyReduceOp(getReduce());
  p << " [";
  llvm::interleaveComma(names, p);
  p << "] (";
  llvm::interleaveComma(llvm::enumerate(getInputs()), p, [&](auto it) {
    p << it.value();
    printIndexList(p, getInputMap(it.index()), names);
  });
  p << ") -> ";
  printIndexList(p, getResultMap(), names);
  p.printOptionalAttrDict((*this)->getAttrs(),
                          {getIndexingMapsAttrName(), getRanksAttrName(),
                           getComputeAttrName(), getReduceAttrName()});
  p << " : (";
  llvm::interleaveComma(getInputs().getTypes(), p);
  p << ") -> " << getResult().getType();
}

//===----------------------------------------------------------------------===//
// Verification
//===----------------------------------------------------------------------===//

/// Index expressions are sums of non-negative multiples of ranks plus a
/// non-negative constant: they address windows (convolutions) and
/// broadcasts, never wrap around or run backwards.
static bool isWindowExpr(AffineExpr e) {
  if (isa<AffineDimExpr>(e))
    return true;
  if (auto c = dyn_cast<AffineConstantExpr>(e))
    return c.getValue() >= 0;
  if (e.getKind() == AffineExprKind::Add) {
    auto bin = cast<AffineBinaryOpExpr>(e);
    return isWindowExpr(bin.getLHS()) && isWindowExpr(bin.getRHS());
  }
  if (e.getKind() == AffineExprKind::Mul) {
    auto bin = cast<AffineBinaryOpExpr>(e);
    auto c = dyn_cast<AffineConstantExpr>(bin.getRHS());
    if (!c)
      c = dyn_cast<AffineConstantExpr>(bin.getLHS());
    return c && c.getValue() > 0 && isWindowExpr(bin.getLHS()) &&
           isWindowExpr(bin.getRHS());
  }
  return false;
}

/// The largest value of `e` over the box [0, extents).
static int64_t maxOver(AffineExpr e, ArrayRef<int64_t> extents) {
  if (auto d = dyn_cast<AffineDimExpr>(e))
    return extents[d.getPosition()] - 1;
  if (auto c = dyn_cast<AffineConstantExpr>(e))
    return c.getValue();
  auto bin = cast<AffineBinaryOpExpr>(e);
  int64_t l = maxOver(bin.getLHS(), extents);
  int64_t r = maxOver(bin.getRHS(), extents);
  return e.getKind() == AffineExprKind::Add ? l + r : l * r;
}

LogicalResult EinsumOp::verify() {
  unsigned numRanks = getNumRanks();
  unsigned numInputs = getInputs().size();
  if (getIndexingMaps().size() != numInputs + 1)
    return emitOpError("expects ")
           << numInputs + 1
           << " indexing maps (one per input and the result), got "
           << getIndexingMaps().size();
  llvm::StringSet<> seen;
  for (Attribute a : getRanks()) {
    StringRef name = cast<StringAttr>(a).getValue();
    if (name.empty() || !(std::isalpha(name[0]) || name[0] == '_'))
      return emitOpError("rank name '") << name << "' is not an identifier";
    if (!seen.insert(name).second)
      return emitOpError("rank '") << name << "' is named twice";
  }
  unsigned arity = getArity(getCompute());
  if (numInputs != arity)
    return emitOpError("compute '")
           << stringifyComputeOp(getCompute()) << "' takes " << arity
           << " operand(s), got " << numInputs;

  auto resultType = cast<RankedTensorType>(getResult().getType());
  // Shapes of the operands and the result, in map order.
  SmallVector<ShapedType> shaped;
  for (Value v : getInputs())
    shaped.push_back(cast<ShapedType>(v.getType()));
  shaped.push_back(resultType);

  for (auto [i, attr] : llvm::enumerate(getIndexingMaps())) {
    AffineMap map = cast<AffineMapAttr>(attr).getValue();
    bool isResult = i == numInputs;
    if (map.getNumDims() != numRanks || map.getNumSymbols() != 0)
      return emitOpError("indexing map #")
             << i << " must be over the " << numRanks << " ranks, no symbols";
    if (map.getNumResults() != (unsigned)shaped[i].getRank())
      return emitOpError("indexing map #")
             << i << " has " << map.getNumResults() << " results for a rank-"
             << shaped[i].getRank() << " " << (isResult ? "result" : "operand");
    for (AffineExpr e : map.getResults())
      if (!isWindowExpr(e)) {
        std::string text;
        llvm::raw_string_ostream os(text);
        e.print(os);
        return emitOpError("indexing map #")
               << i << ": index expression " << text
               << " is not a sum of positive multiples of ranks";
      }
  }
  AffineMap resultMap = getResultMap();
  if (!resultMap.isProjectedPermutation(/*allowZeroInResults=*/false))
    return emitOpError(
        "the result's indexing map must be a projected permutation");

  SmallVector<bool> reduced = getReducedRanks();
  bool anyReduced = llvm::is_contained(reduced, true);
  if (getReduce() == ReduceOp::none && anyReduced)
    return emitOpError("ranks absent from the result need a reduce action");
  if (getReduce() != ReduceOp::none && !anyReduced)
    return emitOpError("reduce '")
           << stringifyReduceOp(getReduce()) << "' has no rank to reduce over";

  // Every rank needs an extent from a plain use, and every plain use agrees.
  SmallVector<int64_t> extents(numRanks, -1);
  for (auto [i, attr] : llvm::enumerate(getIndexingMaps())) {
    AffineMap map = cast<AffineMapAttr>(attr).getValue();
    for (auto [d, e] : llvm::enumerate(map.getResults())) {
      auto dim = dyn_cast<AffineDimExpr>(e);
      if (!dim || shaped[i].isDynamicDim(d))
        continue;
      int64_t size = shaped[i].getDimSize(d);
      int64_t &extent = extents[dim.getPosition()];
      if (extent >= 0 && extent != size)
        return emitOpError("rank '")
               << cast<StringAttr>(getRanks()[dim.getPosition()]).getValue()
               << "' has extent " << extent << " but "
               << (i == numInputs ? "the result" : "operand #")
               << (i == numInputs ? "" : std::to_string(i)) << " dimension "
               << d << " is " << size;
      extent = size;
    }
  }
  for (unsigned r = 0; r < numRanks; ++r)
    if (extents[r] < 0)
      return emitOpError("rank '") << cast<StringAttr>(getRanks()[r]).getValue()
                                   << "' indexes no dimension directly, so its "
                                   << "extent is unknown";
  // Window expressions stay inside their operand.
  for (unsigned i = 0; i < numInputs; ++i)
    for (auto [d, e] : llvm::enumerate(getInputMap(i).getResults())) {
      if (isa<AffineDimExpr>(e) || shaped[i].isDynamicDim(d))
        continue;
      int64_t hi = maxOver(e, extents);
      if (hi >= shaped[i].getDimSize(d))
        return emitOpError("operand #")
               << i << " dimension " << d << " is indexed up to " << hi
               << " but has size " << shaped[i].getDimSize(d);
    }

  // Element types.
  ComputeOp op = getCompute();
  Type resultElem = resultType.getElementType();
  SmallVector<Type> elems;
  for (ShapedType t : ArrayRef(shaped).drop_back())
    elems.push_back(t.getElementType());
  if (getReduce() != ReduceOp::none && resultElem.isInteger(1) &&
      (getReduce() == ReduceOp::add || getReduce() == ReduceOp::mul))
    return emitOpError("cannot reduce i1 values with '")
           << stringifyReduceOp(getReduce()) << "'";
  if (op == ComputeOp::copy)
    return success(); // converts any element type to any other
  auto allSame = [](ArrayRef<Type> ts) { return llvm::all_equal(ts); };
  ArrayRef<Type> valueElems = elems;
  if (op == ComputeOp::select) {
    if (!elems[0].isInteger(1))
      return emitOpError("select's condition must be i1, got ") << elems[0];
    valueElems = valueElems.drop_front();
  }
  if (!allSame(valueElems))
    return emitOpError("operands of '")
           << stringifyComputeOp(op) << "' must share one element type";
  Type valueElem = valueElems.front();
  if (isFloatOnly(op) && !isa<FloatType>(valueElem))
    return emitOpError("'")
           << stringifyComputeOp(op) << "' needs floating-point operands, got "
           << valueElem;
  if (isBoolOnly(op) && !valueElem.isInteger(1))
    return emitOpError("'") << stringifyComputeOp(op)
                            << "' needs i1 operands, got " << valueElem;
  Type expected =
      isComparison(op) ? IntegerType::get(getContext(), 1) : valueElem;
  if (resultElem != expected)
    return emitOpError("result element type must be ")
           << expected << " for '" << stringifyComputeOp(op) << "', got "
           << resultElem;
  return success();
}

//===----------------------------------------------------------------------===//
// Folding
//===----------------------------------------------------------------------===//

/// Scalar semantics of the float compute operators, for constant folding.
static std::optional<double> evalFloat(ComputeOp op, ArrayRef<double> a) {
  switch (op) {
  case ComputeOp::copy:
    return a[0];
  case ComputeOp::neg:
    return -a[0];
  case ComputeOp::abs:
    return std::fabs(a[0]);
  case ComputeOp::exp:
    return std::exp(a[0]);
  case ComputeOp::log:
    return std::log(a[0]);
  case ComputeOp::sqrt:
    return std::sqrt(a[0]);
  case ComputeOp::reciprocal:
    return 1.0 / a[0];
  case ComputeOp::add:
    return a[0] + a[1];
  case ComputeOp::sub:
    return a[0] - a[1];
  case ComputeOp::mul:
    return a[0] * a[1];
  case ComputeOp::div:
    return a[0] / a[1];
  case ComputeOp::max:
    return std::isnan(a[0]) || std::isnan(a[1]) ? NAN : std::max(a[0], a[1]);
  case ComputeOp::min:
    return std::isnan(a[0]) || std::isnan(a[1]) ? NAN : std::min(a[0], a[1]);
  case ComputeOp::pow:
    return std::pow(a[0], a[1]);
  default:
    return std::nullopt;
  }
}

/// Folds `copy` with identity maps and no type change to its input, and
/// elementwise ops on splat float constants (the scalars importers emit) to
/// a splat constant.
OpFoldResult EinsumOp::fold(FoldAdaptor adaptor) {
  auto resultType = cast<RankedTensorType>(getResult().getType());
  if (getCompute() == ComputeOp::copy && getReduce() == ReduceOp::none &&
      getInputs()[0].getType() == resultType && getInputMap(0).isIdentity() &&
      getResultMap().isIdentity())
    return getInputs()[0];

  if (getReduce() != ReduceOp::none || !resultType.hasStaticShape())
    return {};
  auto resultElem = dyn_cast<FloatType>(resultType.getElementType());
  if (!resultElem)
    return {};
  SmallVector<double> args;
  for (Attribute a : adaptor.getInputs()) {
    auto splat = dyn_cast_or_null<SplatElementsAttr>(a);
    if (!splat || !isa<FloatType>(splat.getElementType()))
      return {};
    args.push_back(splat.getSplatValue<APFloat>().convertToDouble());
  }
  std::optional<double> value = evalFloat(getCompute(), args);
  if (!value)
    return {};
  APFloat f(*value);
  bool losesInfo;
  f.convert(resultElem.getFloatSemantics(), APFloat::rmNearestTiesToEven,
            &losesInfo);
  return SplatElementsAttr::get(resultType, f);
}

//===----------------------------------------------------------------------===//
// einsum.iterate
//===----------------------------------------------------------------------===//

void IterateOp::build(OpBuilder &b, OperationState &state, StringRef rank,
                      int64_t extent, ValueRange inits) {
  state.addAttribute(getRankAttrName(state.name), b.getStringAttr(rank));
  state.addAttribute(getExtentAttrName(state.name),
                     b.getI64IntegerAttr(extent));
  state.addOperands(inits);
  state.addTypes(inits.getTypes());
  Region *body = state.addRegion();
  Block *block = new Block();
  body->push_back(block);
  block->addArgument(b.getIndexType(), state.location);
  for (Value v : inits)
    block->addArgument(v.getType(), state.location);
}

// einsum.iterate RANK (%i) < EXTENT iter_args(%a = %x, ...) : types region
ParseResult IterateOp::parse(OpAsmParser &parser, OperationState &result) {
  Builder &b = parser.getBuilder();
  StringRef rank;
  int64_t extent;
  OpAsmParser::Argument iv;
  iv.type = b.getIndexType();
  if (parser.parseKeyword(&rank) || parser.parseLParen() ||
      parser.parseArgument(iv) || parser.parseRParen() || parser.parseLess() ||
      parser.parseInteger(extent))
    return failure();
  SmallVector<OpAsmParser::Argument> regionArgs;
  SmallVector<OpAsmParser::UnresolvedOperand> inits;
  SmallVector<Type> types;
  if (succeeded(parser.parseOptionalKeyword("iter_args"))) {
    if (parser.parseAssignmentList(regionArgs, inits))
      return failure();
    if (!inits.empty() && (parser.parseColon() || parser.parseTypeList(types)))
      return failure();
  }
  if (types.size() != inits.size())
    return parser.emitError(parser.getCurrentLocation(),
                            "expected one type per iter_arg");
  if (parser.resolveOperands(inits, types, parser.getCurrentLocation(),
                             result.operands))
    return failure();
  SmallVector<OpAsmParser::Argument> args{iv};
  for (auto [arg, type] : llvm::zip(regionArgs, types)) {
    arg.type = type;
    args.push_back(arg);
  }
  Region *body = result.addRegion();
  if (parser.parseRegion(*body, args))
    return failure();
  IterateOp::ensureTerminator(*body, b, result.location);
  if (parser.parseOptionalAttrDict(result.attributes))
    return failure();
  result.addAttribute(getRankAttrName(result.name), b.getStringAttr(rank));
  result.addAttribute(getExtentAttrName(result.name),
                      b.getI64IntegerAttr(extent));
  result.addTypes(types);
  return success();
}

void IterateOp::print(OpAsmPrinter &p) {
  Block &block = getBody().front();
  p << " " << getRank() << "(" << block.getArgument(0) << ") < " << getExtent();
  if (!getInits().empty()) {
    p << " iter_args(";
    llvm::interleaveComma(
        llvm::zip(block.getArguments().drop_front(), getInits()), p,
        [&](auto it) { p << std::get<0>(it) << " = " << std::get<1>(it); });
    p << ") : ";
    llvm::interleaveComma(getInits().getTypes(), p);
  }
  p << " ";
  p.printRegion(getBody(), /*printEntryBlockArgs=*/false,
                /*printBlockTerminators=*/!getInits().empty());
  p.printOptionalAttrDict((*this)->getAttrs(),
                          {getRankAttrName(), getExtentAttrName()});
}

LogicalResult IterateOp::verify() {
  if (getExtent() < 1)
    return emitOpError("iterative rank '")
           << getRank() << "' needs a positive extent, got " << getExtent();
  Block &block = getBody().front();
  if (block.getNumArguments() != getInits().size() + 1)
    return emitOpError("body takes the rank's index and ")
           << getInits().size() << " carried value(s); it has "
           << block.getNumArguments() << " argument(s)";
  if (!block.getArgument(0).getType().isIndex())
    return emitOpError("the body's first argument must be an index");
  for (auto [arg, init] :
       llvm::zip(block.getArguments().drop_front(), getInits()))
    if (arg.getType() != init.getType())
      return emitOpError("carried value type ")
             << arg.getType() << " does not match its initial value's "
             << init.getType();
  auto yield = cast<YieldOp>(block.getTerminator());
  if (yield.getValues().getTypes() != getInits().getTypes())
    return yield.emitOpError("must yield one value of each carried type (")
           << getInits().size() << " value(s))";
  return success();
}

//===----------------------------------------------------------------------===//
// AttentionOp
//===----------------------------------------------------------------------===//

LogicalResult AttentionOp::verify() {
  auto q = cast<ShapedType>(getQuery().getType());
  auto k = cast<ShapedType>(getKey().getType());
  auto v = cast<ShapedType>(getValue().getType());
  auto o = cast<ShapedType>(getOutput().getType());
  bool tensors = isa<RankedTensorType>(q);
  for (ShapedType t : {q, k, v, o}) {
    if (isa<RankedTensorType>(t) != tensors ||
        !isa<RankedTensorType, MemRefType>(t))
      return emitOpError("operands must be all ranked tensors or all memrefs");
    if (t.getRank() != 3 || !t.hasStaticShape())
      return emitOpError("operands must be static [batch, sequence, feature] "
                         "shapes; got ")
             << t;
    if (!t.getElementType().isF32())
      return emitOpError("supports f32 only; got ") << t.getElementType();
  }
  if (tensors != (getResult().size() == 1) ||
      (tensors && getResult()[0].getType() != o))
    return emitOpError(tensors ? "on tensors returns one result of the "
                                 "output's type"
                               : "on memrefs has no result");
  int64_t b = q.getDimSize(0), p = q.getDimSize(1), d = q.getDimSize(2);
  int64_t m = k.getDimSize(1), f = v.getDimSize(2);
  if (k.getDimSize(0) != b || v.getDimSize(0) != b || o.getDimSize(0) != b)
    return emitOpError("batch sizes differ: query ")
           << b << ", key " << k.getDimSize(0) << ", value " << v.getDimSize(0)
           << ", output " << o.getDimSize(0);
  if (k.getDimSize(2) != d)
    return emitOpError("query and key feature sizes differ: ")
           << d << " vs " << k.getDimSize(2);
  if (v.getDimSize(1) != m)
    return emitOpError("key and value sequence lengths differ: ")
           << m << " vs " << v.getDimSize(1);
  if (o.getDimSize(1) != p || o.getDimSize(2) != f)
    return emitOpError("output must be [")
           << b << ", " << p << ", " << f << "]; got " << o;
  if (Value biasValue = getBias()) {
    auto bias = cast<ShapedType>(biasValue.getType());
    if (isa<RankedTensorType>(bias) != tensors)
      return emitOpError("operands must be all ranked tensors or all memrefs");
    if (bias.getRank() != 2 || !bias.hasStaticShape() ||
        bias.getDimSize(0) != b || bias.getDimSize(1) != m ||
        !bias.getElementType().isF32())
      return emitOpError("bias must be f32 [")
             << b << ", " << m << "] (batch, keys); got " << bias;
  }
  if (std::optional<int64_t> from = getMaskedFrom(); from && *from < 1)
    return emitOpError("masked_from must be at least 1 (every query keeps "
                       "key m = p); got ")
           << *from;
  if (getQueryOffset() && !getMaskedFrom())
    return emitOpError("query_offset places the queries in a causal "
                       "triangle: it needs masked_from");
  return success();
}

void AttentionOp::getEffects(
    SmallVectorImpl<SideEffects::EffectInstance<MemoryEffects::Effect>>
        &effects) {
  if (hasPureTensorSemantics())
    return;
  for (OpOperand *in : getDpsInputOperands())
    effects.emplace_back(MemoryEffects::Read::get(), in,
                         SideEffects::DefaultResource::get());
  for (OpOperand &out : getDpsInitsMutable())
    effects.emplace_back(MemoryEffects::Write::get(), &out,
                         SideEffects::DefaultResource::get());
}

LogicalResult AttentionGradOp::verify() {
  auto q = cast<RankedTensorType>(getQuery().getType());
  auto k = cast<RankedTensorType>(getKey().getType());
  auto v = cast<RankedTensorType>(getValue().getType());
  auto o = cast<RankedTensorType>(getOutput().getType());
  for (RankedTensorType t : {q, k, v, o})
    if (t.getRank() != 3 || !t.hasStaticShape() ||
        !t.getElementType().isF32())
      return emitOpError("operands must be static f32 [batch, sequence, "
                         "feature] tensors; got ")
             << t;
  if (getGradOutput().getType() != o)
    return emitOpError("the output's gradient must have the output's type ")
           << o;
  int64_t b = q.getDimSize(0), p = q.getDimSize(1), d = q.getDimSize(2);
  if (k.getDimSize(0) != b || v.getDimSize(0) != b || o.getDimSize(0) != b ||
      k.getDimSize(2) != d || v.getDimSize(1) != k.getDimSize(1) ||
      o.getDimSize(1) != p || o.getDimSize(2) != v.getDimSize(2))
    return emitOpError("shapes are not those of an attention: query ")
           << q << ", key " << k << ", value " << v << ", output " << o;
  if (getGradQuery().getType() != q || getGradKey().getType() != k ||
      getGradValue().getType() != v)
    return emitOpError("gradients must have the types of query, key, value");
  if (Value biasValue = getBias()) {
    auto bias = cast<RankedTensorType>(biasValue.getType());
    if (bias.getRank() != 2 || bias.getDimSize(0) != b ||
        bias.getDimSize(1) != k.getDimSize(1) ||
        !bias.getElementType().isF32())
      return emitOpError("bias must be f32 [batch, keys]; got ") << bias;
  }
  if (std::optional<int64_t> from = getMaskedFrom(); from && *from < 1)
    return emitOpError("masked_from must be at least 1; got ") << *from;
  return success();
}

#define GET_OP_CLASSES
#include "dialects/einsum/EinsumOps.cpp.inc"
