//===- OpsContraction.cpp - MatMul, Gemm, Einsum --------------------------===//
//
// Contractions are one einsum op each (mul, reduce add), Einsum with more
// than two operands a left-to-right chain of them. f16/bf16 operands are
// multiplied and summed in f32 and rounded back.
//
//===----------------------------------------------------------------------===//
#include "OpRegistry.h"
#include "OpsCommon.h"

#include <algorithm>
#include <map>
#include <set>

using namespace mlir;
using namespace memc::einsum;

namespace memc::onnximport {

//===----------------------------------------------------------------------===//
// MatMul, Gemm
//===----------------------------------------------------------------------===//

static LogicalResult importMatMul(NodeImporter &ni) {
  Value a = ni.input(0), b = ni.input(1);
  if (!a || !b)
    return ni.invalid("MatMul needs two inputs");
  if (elemOf(a) != elemOf(b))
    return ni.invalid("MatMul operands have different element types");
  if (elemOf(a).isInteger(1))
    return ni.unsupported("MatMul of bool tensors");
  Type elem = elemOf(a), ce = computeElem(elem);
  Value r = ni.matmul(ni.cast(a, ce), ni.cast(b, ce));
  if (!r)
    return failure();
  ni.setOutput(0, ni.cast(r, elem));
  return success();
}

static LogicalResult importGemm(NodeImporter &ni) {
  Value a = ni.input(0), b = ni.input(1);
  if (!a || !b)
    return ni.invalid("Gemm needs inputs A and B");
  Type elem = elemOf(a);
  if (elemOf(b) != elem)
    return ni.invalid("Gemm operands have different element types");
  if (elem.isInteger(1))
    return ni.unsupported("Gemm of bool tensors");
  std::vector<int64_t> sa = shapeOf(a), sb = shapeOf(b);
  if (sa.size() != 2 || sb.size() != 2)
    return ni.invalid("Gemm inputs A and B must be 2-D");
  bool transA = ni.attrInt("transA", 0) != 0;
  bool transB = ni.attrInt("transB", 0) != 0;
  double alpha = ni.attrFloat("alpha", 1.0f);
  double beta = ni.attrFloat("beta", 1.0f);
  int64_t m = transA ? sa[1] : sa[0], k = transA ? sa[0] : sa[1];
  int64_t kb = transB ? sb[1] : sb[0], n = transB ? sb[0] : sb[1];
  if (k != kb)
    return ni.invalid("Gemm inner dimensions differ (" + std::to_string(k) +
                      " vs " + std::to_string(kb) + ")");
  bool isF = isa<FloatType>(elem);
  if (!isF && (alpha != 1.0 || (ni.hasInput(2) && beta != 1.0)))
    return ni.unsupported("integer Gemm with alpha or beta other than 1");
  // Y[m, n] = sum_k A[m, k] * B[k, n]; ranks m = 0, n = 1, k = 2.
  enum : unsigned { rm, rn, rk };
  EinsumSpec spec{{"m", "n", "k"},
                  {transA ? Indices{rk, rm} : Indices{rm, rk},
                   transB ? Indices{rn, rk} : Indices{rk, rn}},
                  {rm, rn},
                  ComputeOp::mul,
                  ReduceOp::add};
  Type ce = computeElem(elem);
  Value y = ni.einsum(spec, ValueRange{ni.cast(a, ce), ni.cast(b, ce)},
                      {m, n}, ce);
  if (alpha != 1.0)
    y = ni.elementwise(ComputeOp::mul, {y, ni.scalar(ce, alpha)});
  if (ni.hasInput(2)) {
    Value cv = ni.input(2);
    if (elemOf(cv) != elem)
      return ni.invalid("Gemm input C has a different element type");
    std::vector<int64_t> sc = shapeOf(cv);
    if (sc.size() > 2)
      return ni.invalid("Gemm input C has rank > 2");
    // Unidirectional broadcast of C to (M, N).
    for (size_t i = 0; i < sc.size(); ++i) {
      int64_t target = (sc.size() == 2 && i == 0) ? m : n;
      if (sc[i] != 1 && sc[i] != target)
        return ni.invalid("Gemm input C of shape " + joinInts(sc) +
                          " does not broadcast to (" + std::to_string(m) +
                          ", " + std::to_string(n) + ")");
    }
    cv = ni.cast(cv, ce);
    if (beta != 1.0)
      cv = ni.elementwise(ComputeOp::mul, {cv, ni.scalar(ce, beta)});
    y = ni.elementwise(ComputeOp::add, {y, cv});
  }
  if (!y)
    return failure();
  ni.setOutput(0, ni.cast(y, elem));
  return success();
}

//===----------------------------------------------------------------------===//
// Einsum
//===----------------------------------------------------------------------===//

namespace {
struct EinsumTerm {
  std::vector<int> letters; ///< character codes
  bool ellipsis = false;
  size_t ellipsisPos = 0; ///< position among `letters`
};

/// The node's operands with one label per dimension: a letter's code, or
/// kEllipsisBase + j for the j-th of the E dims '...' stands for (the
/// operands' '...' dims right-aligned and broadcast).
struct EinsumLabels {
  std::vector<std::vector<int>> operands;
  int64_t E = 0;
  std::map<int, int64_t> extent;
  std::map<int, int> letterCount; ///< operands' uses of each letter
};
} // namespace

static constexpr int kEllipsisBase = 1000;

static bool parseEinsumTerm(const std::string &s, EinsumTerm &t) {
  size_t i = 0;
  while (i < s.size()) {
    if (s.compare(i, 3, "...") == 0) {
      if (t.ellipsis)
        return false;
      t.ellipsis = true;
      t.ellipsisPos = t.letters.size();
      i += 3;
    } else if (std::isalpha((unsigned char)s[i])) {
      t.letters.push_back((unsigned char)s[i]);
      ++i;
    } else {
      return false;
    }
  }
  return true;
}

static std::string einsumRankName(int id) {
  if (id < kEllipsisBase)
    return std::string(1, static_cast<char>(id));
  return "e" + std::to_string(id - kEllipsisBase);
}

/// One einsum op: out[outLabels] = reduce_add prod(operands[labels]).
static Value buildEinsumStep(NodeImporter &ni, ArrayRef<Value> ops,
                             ArrayRef<std::vector<int>> labels,
                             const std::vector<int> &outLabels) {
  std::vector<int> ranks = outLabels;
  std::map<int, int64_t> extent;
  for (size_t i = 0; i < ops.size(); ++i) {
    std::vector<int64_t> s = shapeOf(ops[i]);
    for (size_t d = 0; d < s.size(); ++d) {
      int id = labels[i][d];
      if (std::find(ranks.begin(), ranks.end(), id) == ranks.end())
        ranks.push_back(id);
      auto it = extent.find(id);
      if (it == extent.end() || it->second == 1)
        extent[id] = s[d];
    }
  }
  auto pos = [&](int id) {
    return (unsigned)(std::find(ranks.begin(), ranks.end(), id) -
                      ranks.begin());
  };
  EinsumSpec spec;
  for (int id : ranks)
    spec.ranks.push_back(einsumRankName(id));
  for (size_t i = 0; i < ops.size(); ++i) {
    std::vector<int64_t> s = shapeOf(ops[i]);
    Indices &idx = spec.inputs.emplace_back();
    for (size_t d = 0; d < s.size(); ++d) {
      int id = labels[i][d];
      idx.push_back(s[d] == 1 && extent[id] != 1 ? Ix::at(0) : Ix(pos(id)));
    }
  }
  std::vector<int64_t> outShape;
  for (int id : outLabels) {
    spec.result.push_back(pos(id));
    outShape.push_back(extent[id]);
  }
  spec.compute = ops.size() == 1 ? ComputeOp::copy : ComputeOp::mul;
  spec.reduce =
      ranks.size() > outLabels.size() ? ReduceOp::add : ReduceOp::none;
  return ni.einsum(spec, ops, outShape, elemOf(ops[0]));
}

/// Splits the operand side of `eq` ("ab,bc") into terms.
static LogicalResult parseOperandTerms(NodeImporter &ni, const std::string &eq,
                                       const std::string &lhs,
                                       std::vector<EinsumTerm> &terms) {
  size_t start = 0;
  while (true) {
    size_t comma = lhs.find(',', start);
    EinsumTerm t;
    if (!parseEinsumTerm(lhs.substr(start, comma - start), t))
      return ni.invalid("Einsum equation '" + eq + "' is malformed");
    terms.push_back(t);
    if (comma == std::string::npos)
      return success();
    start = comma + 1;
  }
}

/// Labels every operand dimension, checking ranks against the terms and
/// that a label has one extent (letters) or broadcasts ('...').
static LogicalResult labelOperands(NodeImporter &ni,
                                   const std::vector<EinsumTerm> &terms,
                                   const std::vector<Value> &vals,
                                   EinsumLabels &l) {
  unsigned n = vals.size();
  std::vector<int64_t> ellCount(n, 0);
  for (unsigned i = 0; i < n; ++i) {
    int64_t rank = shapeOf(vals[i]).size();
    int64_t nl = terms[i].letters.size();
    if (terms[i].ellipsis ? rank < nl : rank != nl)
      return ni.invalid("Einsum operand " + std::to_string(i) + " has rank " +
                        std::to_string(rank) + ", its subscripts name " +
                        std::to_string(nl) + " dimension(s)");
    ellCount[i] = terms[i].ellipsis ? rank - nl : 0;
    l.E = std::max(l.E, ellCount[i]);
  }
  l.operands.assign(n, {});
  for (unsigned i = 0; i < n; ++i) {
    const EinsumTerm &t = terms[i];
    std::vector<int> &labels = l.operands[i];
    for (size_t p = 0; p <= t.letters.size(); ++p) {
      if (t.ellipsis && p == t.ellipsisPos)
        for (int64_t j = 0; j < ellCount[i]; ++j)
          labels.push_back(kEllipsisBase + (l.E - ellCount[i] + j));
      if (p < t.letters.size()) {
        labels.push_back(t.letters[p]);
        ++l.letterCount[t.letters[p]];
      }
    }
    std::vector<int64_t> s = shapeOf(vals[i]);
    for (size_t d = 0; d < s.size(); ++d) {
      int id = labels[d];
      auto it = l.extent.find(id);
      if (it == l.extent.end() || it->second == s[d]) {
        l.extent[id] = s[d];
        continue;
      }
      if (id < kEllipsisBase) {
        if (it->second == 1 || s[d] == 1)
          return ni.unsupported("Einsum broadcasting of the size-1 "
                                "dimension labelled '" +
                                einsumRankName(id) + "'");
        return ni.invalid("Einsum dimension '" + einsumRankName(id) +
                          "' has sizes " + std::to_string(it->second) +
                          " and " + std::to_string(s[d]));
      }
      if (it->second == 1)
        it->second = s[d];
      else if (s[d] != 1)
        return ni.invalid("Einsum '...' dimensions cannot be broadcast");
    }
  }
  return success();
}

/// The output's labels: the explicit right-hand side `rhs`, or (implicit
/// form) '...' then the letters used once, in ASCII order.
static LogicalResult outputLabels(NodeImporter &ni, const std::string &eq,
                                  const std::optional<std::string> &rhs,
                                  const EinsumLabels &l,
                                  std::vector<int> &out) {
  if (!rhs) {
    for (int64_t j = 0; j < l.E; ++j)
      out.push_back(kEllipsisBase + j);
    for (auto &[id, count] : l.letterCount) // std::map: ASCII order
      if (count == 1)
        out.push_back(id);
    return success();
  }
  EinsumTerm t;
  if (!parseEinsumTerm(*rhs, t))
    return ni.invalid("Einsum equation '" + eq + "' is malformed");
  if (!t.ellipsis && l.E > 0)
    return ni.unsupported("Einsum output without '...' while the "
                          "operands' '...' covers dimensions");
  std::set<int> seen;
  for (size_t p = 0; p <= t.letters.size(); ++p) {
    if (t.ellipsis && p == t.ellipsisPos)
      for (int64_t j = 0; j < l.E; ++j)
        out.push_back(kEllipsisBase + j);
    if (p < t.letters.size()) {
      int id = t.letters[p];
      if (!l.extent.count(id))
        return ni.invalid("Einsum output label '" + einsumRankName(id) +
                          "' appears in no operand");
      if (!seen.insert(id).second)
        return ni.invalid("Einsum output label '" + einsumRankName(id) +
                          "' is repeated");
      out.push_back(id);
    }
  }
  return success();
}

/// The contraction of `vals`: one einsum op for up to two operands, else
/// left to right, pairwise, each step keeping the labels still needed.
static Value contractEinsum(NodeImporter &ni, const std::vector<Value> &vals,
                            const std::vector<std::vector<int>> &labels,
                            const std::vector<int> &outLabels) {
  unsigned n = vals.size();
  if (n <= 2)
    return buildEinsumStep(ni, vals, labels, outLabels);
  Value cur = vals[0];
  std::vector<int> curLabels = labels[0];
  for (unsigned i = 1; i < n; ++i) {
    std::vector<int> keep;
    if (i + 1 == n) {
      keep = outLabels;
    } else {
      std::set<int> needed(outLabels.begin(), outLabels.end());
      for (unsigned j = i + 1; j < n; ++j)
        needed.insert(labels[j].begin(), labels[j].end());
      const std::vector<int> *lists[] = {&curLabels, &labels[i]};
      for (const std::vector<int> *ls : lists)
        for (int id : *ls)
          if (needed.count(id) &&
              std::find(keep.begin(), keep.end(), id) == keep.end())
            keep.push_back(id);
    }
    cur = buildEinsumStep(ni, {cur, vals[i]}, {curLabels, labels[i]}, keep);
    curLabels = keep;
  }
  return cur;
}

static LogicalResult importEinsum(NodeImporter &ni) {
  std::string eq;
  for (char ch : ni.attrString("equation", ""))
    if (!std::isspace((unsigned char)ch))
      eq += ch;
  if (eq.empty())
    return ni.invalid("Einsum has no equation");
  size_t arrow = eq.find("->");
  std::optional<std::string> rhs;
  if (arrow != std::string::npos)
    rhs = eq.substr(arrow + 2);
  std::vector<EinsumTerm> terms;
  if (failed(parseOperandTerms(ni, eq, eq.substr(0, arrow), terms)))
    return failure();
  unsigned n = ni.numInputs();
  if (n == 0 || terms.size() != n)
    return ni.invalid("Einsum equation names " +
                      std::to_string(terms.size()) + " operand(s), the node has " +
                      std::to_string(n));
  std::vector<Value> vals;
  for (unsigned i = 0; i < n; ++i) {
    Value v = ni.input(i);
    if (!v)
      return ni.invalid("Einsum operand " + std::to_string(i) + " is missing");
    vals.push_back(v);
  }
  Type elem = elemOf(vals[0]);
  for (Value v : vals)
    if (elemOf(v) != elem)
      return ni.invalid("Einsum operands have different element types");
  if (elem.isInteger(1))
    return ni.unsupported("Einsum on bool tensors");
  EinsumLabels labels;
  std::vector<int> outLabels;
  if (failed(labelOperands(ni, terms, vals, labels)) ||
      failed(outputLabels(ni, eq, rhs, labels, outLabels)))
    return failure();
  Type ce = computeElem(elem); // f16/bf16 accumulate in f32
  for (Value &v : vals)
    v = ni.cast(v, ce);
  Value result = contractEinsum(ni, vals, labels.operands, outLabels);
  ni.setOutput(0, ni.cast(result, elem));
  return success();
}

void registerContractionOps(OpRegistry &r) {
  r.add("MatMul", importMatMul);
  r.add("Gemm", importGemm);
  r.add("Einsum", importEinsum);
}

} // namespace memc::onnximport
