//===- Einsum.td - The extended-Einsum dialect -------------*- tablegen -*-===//
//
// Extended Einsums in the sense of FuseMax / EDGE: every op names its index
// space (one affine map per operand over named ranks), a map action (the
// compute operator applied pointwise to the operands) and a reduce action
// over the ranks that do not appear in the result. Cascades are DAGs of such
// ops; iterative ranks (values carried over an outer tile rank) are explicit
// through `einsum.iterate`.
//
//===----------------------------------------------------------------------===//
#ifndef MEMC_EINSUM_TD
#define MEMC_EINSUM_TD

include "mlir/IR/OpBase.td"
include "mlir/IR/AttrTypeBase.td"
include "mlir/IR/EnumAttr.td"
include "mlir/Interfaces/SideEffectInterfaces.td"
include "mlir/Interfaces/ControlFlowInterfaces.td"
include "mlir/Interfaces/LoopLikeInterface.td"
include "mlir/Interfaces/DestinationStyleOpInterface.td"

def Einsum_Dialect : Dialect {
  let name = "einsum";
  let cppNamespace = "::memc::einsum";
  let summary = "Extended Einsums: map and reduce actions over named ranks";
  let description = [{
    The `einsum` dialect is memc's tensor-level IR. A model imported from
    ONNX is a DAG (a *cascade*) of `einsum.einsum` ops plus a few `tensor`
    ops for pure data movement. Each `einsum.einsum` op is an extended Einsum
    `Z[out] = reduce_{R} compute(A[a], B[b], ...)`: the operands are indexed
    by affine expressions of the op's named ranks, `compute` is the map
    action applied to one element of each operand, and `reduce` combines the
    values over every rank that does not index the result.

    Softmax, for instance, is the 3-pass cascade
    `GM[p] = max_m X[m,p]; SN[m,p] = exp(X[m,p] - GM[p]);
     SD[p] = sum_m SN[m,p]; A[m,p] = SN[m,p] / SD[p]`,
    which is four `einsum.einsum` ops. Iterative ranks, such as the running
    maximum carried over K/V tiles by 1-pass attention, are written with
    `einsum.iterate`.
  }];
  let useDefaultAttributePrinterParser = 1;
  let hasConstantMaterializer = 1;
  let dependentDialects = ["::mlir::arith::ArithDialect"];
}

class Einsum_Op<string mnemonic, list<Trait> traits = []>
    : Op<Einsum_Dialect, mnemonic, traits>;

//===----------------------------------------------------------------------===//
// Enums: the map action's compute operator and the reduce action.
//===----------------------------------------------------------------------===//

def Einsum_ComputeOp : I32EnumAttr<"ComputeOp",
    "map action compute operator", [
  // Arity 1.
  I32EnumAttrCase<"copy", 0>,       // identity; converts element types
  I32EnumAttrCase<"neg", 1>,
  I32EnumAttrCase<"abs", 2>,
  I32EnumAttrCase<"exp", 3>,
  I32EnumAttrCase<"log", 4>,
  I32EnumAttrCase<"sqrt", 5>,
  I32EnumAttrCase<"rsqrt", 6>,
  I32EnumAttrCase<"reciprocal", 7>,
  I32EnumAttrCase<"tanh", 8>,
  I32EnumAttrCase<"erf", 9>,
  I32EnumAttrCase<"sigmoid", 10>,
  I32EnumAttrCase<"relu", 11>,
  I32EnumAttrCase<"sin", 12>,
  I32EnumAttrCase<"cos", 13>,
  I32EnumAttrCase<"floor", 14>,
  I32EnumAttrCase<"ceil", 15>,
  I32EnumAttrCase<"round", 16>,     // half to even, as ONNX Round
  I32EnumAttrCase<"sign", 17>,
  I32EnumAttrCase<"not_", 18, "not">,       // logical not on i1
  I32EnumAttrCase<"isnan", 19>,     // -> i1
  I32EnumAttrCase<"tan", 20>,
  I32EnumAttrCase<"asin", 21>,
  I32EnumAttrCase<"acos", 22>,
  I32EnumAttrCase<"atan", 23>,
  I32EnumAttrCase<"sinh", 24>,
  I32EnumAttrCase<"cosh", 25>,
  I32EnumAttrCase<"asinh", 26>,
  I32EnumAttrCase<"acosh", 27>,
  I32EnumAttrCase<"atanh", 28>,
  I32EnumAttrCase<"softplus", 29>,
  I32EnumAttrCase<"isinf", 30>,     // -> i1
  I32EnumAttrCase<"expm1", 31>,     // exp(a) - 1 without cancellation near 0
  I32EnumAttrCase<"erfc", 32>,      // 1 - erf(a), accurate where erf is ~1
  // Arity 2.
  I32EnumAttrCase<"add", 40>,
  I32EnumAttrCase<"sub", 41>,
  I32EnumAttrCase<"mul", 42>,
  I32EnumAttrCase<"div", 43>,
  I32EnumAttrCase<"max", 44>,
  I32EnumAttrCase<"min", 45>,
  I32EnumAttrCase<"pow", 46>,
  I32EnumAttrCase<"sub_exp", 47>,   // exp(a - b): softmax's numerator
  I32EnumAttrCase<"mod", 48>,       // integer: sign of divisor (ONNX fmod=0)
  I32EnumAttrCase<"fmod", 49>,      // sign of dividend (C fmod)
  I32EnumAttrCase<"eq", 50>,        // -> i1
  I32EnumAttrCase<"lt", 51>,        // -> i1
  I32EnumAttrCase<"le", 52>,        // -> i1
  I32EnumAttrCase<"gt", 53>,        // -> i1
  I32EnumAttrCase<"ge", 54>,        // -> i1
  I32EnumAttrCase<"and_", 55, "and">,
  I32EnumAttrCase<"or_", 56, "or">,
  I32EnumAttrCase<"xor_", 57, "xor">,
  I32EnumAttrCase<"sq_diff", 58>,   // (a - b)^2: variance
  I32EnumAttrCase<"abs_diff", 59>,
  // Arity 3.
  I32EnumAttrCase<"select", 70>,    // a ? b : c, a is i1
  I32EnumAttrCase<"clamp", 71>,     // min(max(a, b), c)
  I32EnumAttrCase<"mul_add", 72>    // a * b + c
]> {
  let cppNamespace = "::memc::einsum";
  let genSpecializedAttr = 0;
}
def Einsum_ComputeOpAttr : EnumAttr<Einsum_Dialect, Einsum_ComputeOp, "compute">;

def Einsum_ReduceOp : I32EnumAttr<"ReduceOp", "reduce action", [
  I32EnumAttrCase<"none", 0>,
  I32EnumAttrCase<"add", 1>,
  I32EnumAttrCase<"max", 2>,
  I32EnumAttrCase<"min", 3>,
  I32EnumAttrCase<"mul", 4>
]> {
  let cppNamespace = "::memc::einsum";
  let genSpecializedAttr = 0;
}
def Einsum_ReduceOpAttr : EnumAttr<Einsum_Dialect, Einsum_ReduceOp, "reduce">;

//===----------------------------------------------------------------------===//
// einsum.einsum
//===----------------------------------------------------------------------===//

def Einsum_EinsumOp : Einsum_Op<"einsum", [Pure]> {
  let summary = "an extended Einsum: map action, then reduce action";
  let description = [{
    `Z[out] = reduce_{R} compute(A[a], B[b], ...)` where `ranks` names the
    dimensions of the op's iteration space, `indexing_maps` holds one affine
    map per input and a last one for the result (all over `ranks`), and `R`
    is the set of ranks absent from the result's map.

    Input maps may use affine expressions (`h * 2 + kh` for a strided
    convolution window) and constants (`0` for a broadcast dimension of
    size 1); the result map is a projected permutation. The extent of every
    rank comes from an operand or the result that it indexes directly, and
    every use of a rank must agree on it.

    ```mlir
    // Z[m, n] = sum_k A[m, k] * B[k, n]
    %z = einsum.einsum mul reduce add [m, n, k]
           (%a[m, k], %b[k, n]) -> [m, n]
           : (tensor<4x8xf32>, tensor<8x16xf32>) -> tensor<4x16xf32>
    // SN[p, m] = exp(X[p, m] - GM[p])
    %sn = einsum.einsum sub_exp [p, m] (%x[p, m], %gm[p]) -> [p, m]
            : (tensor<4x8xf32>, tensor<4xf32>) -> tensor<4x8xf32>
    ```

    The `copy` operator converts element types (an ONNX Cast) when the
    result's element type differs from the input's. Comparisons and `isnan`
    produce `i1`. Reductions start from the reduce action's identity (0 for
    add, 1 for mul, -inf for max, +inf for min).
  }];
  let arguments = (ins Variadic<AnyRankedTensor>:$inputs,
                       AffineMapArrayAttr:$indexing_maps,
                       StrArrayAttr:$ranks,
                       Einsum_ComputeOpAttr:$compute,
                       Einsum_ReduceOpAttr:$reduce);
  let results = (outs AnyRankedTensor:$result);
  let hasCustomAssemblyFormat = 1;
  let hasVerifier = 1;
  let hasFolder = 1;
  let builders = [
    OpBuilder<(ins "::mlir::Type":$resultType, "::mlir::ValueRange":$inputs,
                   "::llvm::ArrayRef<::mlir::AffineMap>":$maps,
                   "::llvm::ArrayRef<::llvm::StringRef>":$ranks,
                   "ComputeOp":$compute, "ReduceOp":$reduce)>
  ];
  let extraClassDeclaration = [{
    /// The map of input `i`; the result's map is last.
    ::mlir::AffineMap getInputMap(unsigned i) {
      return ::llvm::cast<::mlir::AffineMapAttr>(getIndexingMaps()[i]).getValue();
    }
    ::mlir::AffineMap getResultMap() {
      return ::llvm::cast<::mlir::AffineMapAttr>(getIndexingMaps().getValue().back()).getValue();
    }
    unsigned getNumRanks() { return getRanks().size(); }
    /// True for ranks absent from the result's map (the reduced ranks).
    ::llvm::SmallVector<bool> getReducedRanks();
    /// The extent of every rank, from the operand shapes (static).
    ::llvm::SmallVector<int64_t> getRankExtents();
    /// The number of operands `compute` takes.
    static unsigned getArity(ComputeOp op);
  }];
}

//===----------------------------------------------------------------------===//
// einsum.iterate / einsum.yield: iterative ranks
//===----------------------------------------------------------------------===//

def Einsum_IterateOp : Einsum_Op<"iterate", [
    SingleBlockImplicitTerminator<"YieldOp">,
    RecursiveMemoryEffects,
    AllTypesMatch<["inits", "results"]>]> {
  let summary = "an iterative rank: values carried from one step to the next";
  let description = [{
    Runs its body once for each value of the iterative rank `rank` in
    `[0, extent)`, carrying `inits` through the iterations: the FuseMax form
    `S[i+1] = f(S[i], A[i])`, with the initialization Einsums outside the
    op. The body receives the rank's index and the carried values, and
    yields the next carried values; the op's results are the values after
    the last step. It lowers 1:1 to `scf.for`.

    ```mlir
    %rm, %rd = einsum.iterate m1(%i) < 4 iter_args(%m = %m0, %d = %d0)
                 : tensor<8xf32>, tensor<8xf32> {
      ...
      einsum.yield %m2, %d2 : tensor<8xf32>, tensor<8xf32>
    }
    ```
  }];
  let arguments = (ins StrAttr:$rank, I64Attr:$extent,
                       Variadic<AnyType>:$inits);
  let results = (outs Variadic<AnyType>:$results);
  let regions = (region SizedRegion<1>:$body);
  let hasCustomAssemblyFormat = 1;
  let hasVerifier = 1;
  let skipDefaultBuilders = 1;
  let builders = [
    OpBuilder<(ins "::llvm::StringRef":$rank, "int64_t":$extent,
                   "::mlir::ValueRange":$inits)>
  ];
}

def Einsum_YieldOp : Einsum_Op<"yield", [Pure, Terminator,
    HasParent<"IterateOp">, ReturnLike]> {
  let summary = "yields the carried values of the next iteration";
  let arguments = (ins Variadic<AnyType>:$values);
  let assemblyFormat = "attr-dict ($values^ `:` type($values))?";
  let builders = [OpBuilder<(ins), [{ /* nothing */ }]>];
}

//===----------------------------------------------------------------------===//
// einsum.attention: the fused attention kernel's op
//===----------------------------------------------------------------------===//

def Einsum_AttentionOp : Einsum_Op<"attention", [
    DestinationStyleOpInterface, AttrSizedOperandSegments,
    DeclareOpInterfaceMethods<MemoryEffectsOpInterface>]> {
  let summary = "softmax(scale * Q·Kᵀ, causally masked) · V in one op";
  let description = [{
    `O[b, p, f] = sum_m softmax_m(scale * sum_d Q[b, p, d] * K[b, m, d]
    + mask[p, m] + bias[b, m]) * V[b, m, f]`, where `mask[p, m]` is `-inf`
    when `masked_from` is given and `m - p >= masked_from` (a causal
    triangle; `masked_from = 1` hides the future), and 0 otherwise. The
    optional `bias` [batch, keys] is a per-key addend known only at run time,
    such as a padding mask (0 for kept keys, a large negative value or -inf
    for padding). Batch and head ranks are collapsed into `b`.

    With `query_offset` (an index known at run time), query row `p` is the
    sequence's row `p + query_offset`, and the triangle is `m - (p +
    query_offset) >= masked_from`: the rows of a decode step or a prefill
    chunk against a KV cache of capacity M (`memc-derive-decode`), whose
    keys past the last visible one are never read by the lowering.

    This is what `memc-fusemax-attention{kernel=true}` makes of an attention
    block for GPU targets, whose fused attention is one kernel
    (`memc-attention-to-gpu`) instead of the loop cascade the CPU runs. It
    is in destination-passing style: on tensors it returns the result, on
    memrefs (after bufferization) it writes `output`. Only the rows, never
    the P x M scores, are materialized by its lowering.

    ```mlir
    %o = einsum.attention %q, %k, %v outs(%init : tensor<8x128x64xf32>)
           scale 0.125 masked_from 1
           : tensor<8x128x64xf32>, tensor<8x128x64xf32>, tensor<8x128x64xf32>
           -> tensor<8x128x64xf32>
    ```
  }];
  let arguments = (ins AnyShaped:$query, AnyShaped:$key, AnyShaped:$value,
                       Optional<AnyShaped>:$bias,
                       AnyShaped:$output, Optional<Index>:$query_offset,
                       F32Attr:$scale, OptionalAttr<I64Attr>:$masked_from);
  let results = (outs Variadic<AnyRankedTensor>:$result);
  let assemblyFormat = [{
    $query `,` $key `,` $value (`bias` $bias^ `:` type($bias))?
    `outs` `(` $output `:` type($output) `)`
    `scale` $scale (`masked_from` $masked_from^)?
    (`query_offset` $query_offset^)? attr-dict
    `:` type($query) `,` type($key) `,` type($value)
    (`->` type($result)^)?
  }];
  let hasVerifier = 1;
  let extraClassDeclaration = [{
    ::mlir::MutableOperandRange getDpsInitsMutable() {
      return getOutputMutable();
    }
  }];
}

//===----------------------------------------------------------------------===//
// einsum.attention_grad: the fused attention's backward
//===----------------------------------------------------------------------===//

def Einsum_AttentionGradOp : Einsum_Op<"attention_grad", [Pure,
    AllTypesMatch<["query", "grad_query"]>, AllTypesMatch<["key", "grad_key"]>,
    AllTypesMatch<["value", "grad_value"]>]> {
  let summary = "gradients of einsum.attention without an N x N tensor";
  let description = [{
    The vector-Jacobian product of `einsum.attention` (same operands,
    scale and mask): given the forward's `output` O and its gradient dO,
    returns dQ, dK and dV. It is FlashAttention's backward: per query tile,
    the row log-sum-exp L of the scores is recomputed over the K/V tiles,
    then each tile's probabilities `P = exp(S - L)` are rebuilt to give
    `dV += Pᵀ·dO`, `dS = P ∘ (dO·Vᵀ - rowsum(dO ∘ O))`, `dQ += scale·dS·K`
    and `dK += scale·dSᵀ·Q`; memory beyond the operands is a few tiles.
    `memc-autodiff` makes it; `memc-lower-attention` lowers it (and the
    forward op) to tiled loops of einsum ops on the CPU. The bias, a mask,
    gets no gradient.

    ```mlir
    %dq, %dk, %dv = einsum.attention_grad %q, %k, %v, %o, %do
                      scale 0.125 masked_from 1
                      : tensor<8x128x64xf32>, tensor<8x128x64xf32>,
                        tensor<8x128x64xf32>, tensor<8x128x64xf32>,
                        tensor<8x128x64xf32>
    ```
  }];
  let arguments = (ins AnyRankedTensor:$query, AnyRankedTensor:$key,
                       AnyRankedTensor:$value, AnyRankedTensor:$output,
                       AnyRankedTensor:$grad_output,
                       Optional<AnyRankedTensor>:$bias,
                       F32Attr:$scale, OptionalAttr<I64Attr>:$masked_from);
  let results = (outs AnyRankedTensor:$grad_query, AnyRankedTensor:$grad_key,
                      AnyRankedTensor:$grad_value);
  let assemblyFormat = [{
    $query `,` $key `,` $value `,` $output `,` $grad_output
    (`bias` $bias^ `:` type($bias))?
    `scale` $scale (`masked_from` $masked_from^)? attr-dict
    `:` type($query) `,` type($key) `,` type($value) `,` type($output) `,`
    type($grad_output)
  }];
  let hasVerifier = 1;
  let builders = [
    OpBuilder<(ins "::mlir::Value":$query, "::mlir::Value":$key,
                   "::mlir::Value":$value, "::mlir::Value":$output,
                   "::mlir::Value":$gradOutput, "::mlir::Value":$bias,
                   "::mlir::FloatAttr":$scale,
                   "::mlir::IntegerAttr":$maskedFrom), [{
      build($_builder, $_state, query.getType(), key.getType(),
            value.getType(), query, key, value, output, gradOutput, bias,
            scale, maskedFrom);
    }]>
  ];
}

#endif // MEMC_EINSUM_TD
