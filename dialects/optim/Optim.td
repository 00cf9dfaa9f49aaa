//===- Optim.td - Optimizer-state layouts ------------------*- tablegen -*-===//
#ifndef MEMC_OPTIM_TD
#define MEMC_OPTIM_TD

include "mlir/IR/OpBase.td"
include "mlir/IR/AttrTypeBase.td"
include "mlir/IR/EnumAttr.td"
include "mlir/Interfaces/SideEffectInterfaces.td"
include "mlir/Interfaces/DestinationStyleOpInterface.td"

def Optim_Dialect : Dialect {
  let name = "optim";
  let cppNamespace = "::memc::optim";
  let summary = "Optimizer states and their memory layouts";
  let description = [{
    Persistent optimizer state (Adam moments, momentum) carries a layout
    attribute that says exactly how it is stored: dense, blockwise 8-bit
    (absmax-normalized blocks with a 256-entry dynamic map), low-rank
    projected (GaLore / APOLLO) or factored (row and column statistics).
    The layout, not a guess, gives the bytes a state takes, so memory
    reports and budgets are computed. The update ops (`optim.sgd`,
    `optim.adamw`) take a weight, its gradient, its states and the step
    count, and return the updated weight and states; `memc-lower-optimizer`
    makes each one in-place elementwise kernel.
  }];
  let useDefaultAttributePrinterParser = 1;
}

def Optim_StateKind : I32EnumAttr<"StateKind", "optimizer state layout kind", [
  I32EnumAttrCase<"dense", 0>,
  I32EnumAttrCase<"blockwise8", 1>,
  I32EnumAttrCase<"lowrank", 2>,
  I32EnumAttrCase<"factored", 3>
]> {
  let cppNamespace = "::memc::optim";
  let genSpecializedAttr = 0;
}

def Optim_Projection : I32EnumAttr<"Projection", "low-rank projection", [
  I32EnumAttrCase<"svd", 0>,      // GaLore: P = U[:, :r] of SVD(G)
  I32EnumAttrCase<"random", 1>    // APOLLO: P ~ N(0, 1/r)
]> {
  let cppNamespace = "::memc::optim";
  let genSpecializedAttr = 0;
}

def Optim_StateLayoutAttr : AttrDef<Optim_Dialect, "StateLayout"> {
  let mnemonic = "layout";
  let summary = "how one optimizer state tensor is stored";
  let description = [{
    `#optim.layout<dense, f32>` stores the state like its parameter.
    `#optim.layout<blockwise8, i8, block = 2048>` stores one byte per element
    plus one f32 absmax per block. `#optim.layout<lowrank, f32, rank = 128,
    period = 200, scale = 0.25, projection = svd>` stores the state in the
    projected space (rank x the larger side of a 2-D parameter) and refreshes
    the projector every `period` steps. `#optim.layout<factored, f32>` keeps
    row and column statistics of a 2-D parameter.
  }];
  let parameters = (ins
    EnumParameter<Optim_StateKind>:$kind,
    "::mlir::Type":$elementType,
    DefaultValuedParameter<"int64_t", "0">:$block,
    DefaultValuedParameter<"int64_t", "0">:$rank,
    DefaultValuedParameter<"int64_t", "0">:$period,
    OptionalParameter<"::mlir::FloatAttr">:$scale,
    DefaultValuedParameter<"Projection", "Projection::svd">:$projection
  );
  let assemblyFormat = [{
    `<` $kind `,` $elementType (`,` struct($block, $rank, $period, $scale, $projection)^)? `>`
  }];
  let genVerifyDecl = 1;
  let extraClassDeclaration = [{
    /// Bytes this layout takes for a state of a parameter of `shape`.
    int64_t getStateBytes(::llvm::ArrayRef<int64_t> shape) const;
  }];
}

//===----------------------------------------------------------------------===//
// Update ops
//===----------------------------------------------------------------------===//

class Optim_Op<string mnemonic, list<Trait> traits = []>
    : Op<Optim_Dialect, mnemonic, traits>;

def Optim_SGDOp : Optim_Op<"sgd", [Pure]> {
  let summary = "one SGD step (torch.optim.SGD semantics)";
  let description = [{
    `g' = g + weight_decay * w`; with momentum `b = momentum * b + g'`
    (b starts at 0, so b = g' at the first step), `g' = g' + momentum * b`
    when nesterov, else `g' = b`; `w = w - lr * g'`. With `momentum = 0`
    there is no state operand. `layout` describes the momentum buffer's
    storage (#8 adds compact ones; dense here).

    ```mlir
    %w2, %b2 = optim.sgd %w, %g states(%b) step %t
                 {lr = 0.05 : f64, momentum = 0.9 : f64, nesterov = false,
                  weight_decay = 0.0 : f64}
                 : (tensor<10x128xf32>, tensor<10x128xf32>, tensor<10x128xf32>,
                    tensor<i64>) -> (tensor<10x128xf32>, tensor<10x128xf32>)
    ```
  }];
  let arguments = (ins AnyRankedTensor:$weight, AnyRankedTensor:$gradient,
                       Variadic<AnyRankedTensor>:$states,
                       0DTensorOf<[I64]>:$step,
                       F64Attr:$lr, F64Attr:$momentum, BoolAttr:$nesterov,
                       F64Attr:$weight_decay,
                       OptionalAttr<Optim_StateLayoutAttr>:$layout);
  let results = (outs AnyRankedTensor:$new_weight,
                      Variadic<AnyRankedTensor>:$new_states);
  let assemblyFormat = [{
    $weight `,` $gradient (`states` `(` $states^ `)`)? `step` $step attr-dict
    `:` functional-type(operands, results)
  }];
  let hasVerifier = 1;
}

def Optim_AdamWOp : Optim_Op<"adamw", [Pure, AttrSizedOperandSegments]> {
  let summary = "one AdamW step (torch.optim.AdamW semantics)";
  let description = [{
    `w = w - lr * weight_decay * w; m = beta1 m + (1 - beta1) g;
    v = beta2 v + (1 - beta2) g^2;
    w = w - (lr / (1 - beta1^t)) * m / (sqrt(v) / sqrt(1 - beta2^t) + eps)`
    with t the step count (1 at the first step), as PyTorch computes it.
    `layout` says how m and v are stored. Dense (no layout): the states
    are m and v, like the weight. `#optim.layout<blockwise8, i8, block = B>`
    (8-bit Adam): the states are m's codes, m's absmax, v's codes, v's
    absmax; codes are a flat i8 tensor of the weight's element count, each
    the index of a value of the signed (m) or unsigned (v) dynamic map, and
    there is one f32 absmax per B elements; the update dequantizes, steps
    in f32 and requantizes each moment to its nearest code.
    `#optim.layout<lowrank, f32, rank = r, period = T, scale = a,
    projection = random>` (APOLLO, 2-D weights [A, B]): the gradient is
    projected on its smaller side by a random P (r x min(A, B), entries of
    mean 0 and variance 1/r, near-normal, drawn from `seed` and the period
    number (t - 1) / T: regenerated, never stored); the states are the moments of the projection R, [r, B]
    when A <= B, else [A, r]; each channel of the larger side is scaled by
    the norm of R's Adam update over the norm of R there (at rank 1,
    APOLLO-Mini, the whole tensor by the ratio of the whole norms), and
    `w -= lr * a * (g scaled per channel)` after AdamW's decay.
    `#optim.layout<lowrank, f32, rank = r, period = T, scale = a,
    projection = svd>` (GaLore, 2-D weights [A, B]): the states are the
    moments of R and the projector P. When A >= B, P = Vh[:r, :] of the
    thin SVD of the gradient ([r, B]) and R = g P^T ([A, r]); otherwise
    P = U[:, :r] ([A, r]) and R = P^T g ([r, B]). P is refreshed
    (`optim.svd_projector`) at t = 1 and whenever T divides t; the moments
    persist across refreshes; the update is `N P` (or `P N`) times a.
    `galore_form` (GaLore's own AdamW, which the galore optimizer uses for
    every weight, projected or not): `N = m / (sqrt(v) + eps)`,
    `w -= lr sqrt(1 - beta2^t) / (1 - beta1^t) * N`, then
    `w -= lr * weight_decay * w` (the decay after the step).
    With a `projector` operand (memc-low-rank-grad-projection) the GaLore
    update takes the gradient already projected (R, the moments' shape)
    and the refreshed projector, and has two states, m and v.

    ```mlir
    %w2, %m2, %v2 = optim.adamw %w, %g states(%m, %v) step %t
                      {lr = 1.0e-3 : f64, beta1 = 0.9 : f64,
                       beta2 = 0.999 : f64, eps = 1.0e-8 : f64,
                       weight_decay = 0.01 : f64}
                      : (tensor<64xf32>, tensor<64xf32>, tensor<64xf32>,
                         tensor<64xf32>, tensor<i64>)
                      -> (tensor<64xf32>, tensor<64xf32>, tensor<64xf32>)
    ```
  }];
  let arguments = (ins AnyRankedTensor:$weight, AnyRankedTensor:$gradient,
                       Variadic<AnyRankedTensor>:$states,
                       Optional<AnyRankedTensor>:$projector,
                       0DTensorOf<[I64]>:$step,
                       F64Attr:$lr, F64Attr:$beta1, F64Attr:$beta2,
                       F64Attr:$eps, F64Attr:$weight_decay,
                       OptionalAttr<Optim_StateLayoutAttr>:$layout,
                       OptionalAttr<I64Attr>:$seed,
                       UnitAttr:$galore_form);
  let results = (outs AnyRankedTensor:$new_weight,
                      Variadic<AnyRankedTensor>:$new_states);
  let assemblyFormat = [{
    $weight `,` $gradient (`states` `(` $states^ `)`)?
    (`projector` $projector^)? `step` $step attr-dict
    `:` functional-type(operands, results)
  }];
  let hasVerifier = 1;
}

def Optim_SVDProjectorOp : Optim_Op<"svd_projector", [
    DestinationStyleOpInterface,
    DeclareOpInterfaceMethods<MemoryEffectsOpInterface>]> {
  let summary = "GaLore's projector from the thin SVD of a gradient";
  let description = [{
    At the steps t = 1 and t = k * `period` (t read from `step`), writes into
    `projector` the first `rank` right singular vectors of the 2-D
    `gradient` as rows (`Vh[:rank, :]`, [rank, B]) when `right`, else its
    first `rank` left singular vectors as columns (`U[:, :rank]`, [A,
    rank]); at other steps `projector` keeps its value. The SVD is LAPACK's
    divide and conquer (`sgesdd`, as torch.linalg.svd on the CPU) of the
    gradient, singular values descending. Destination style: on tensors the
    result is the new projector; on buffers (after bufferization) the op
    has no result and writes `projector` in place. `weight_name` names the
    weight in the warning printed when the SVD does not converge (the
    projector then keeps its previous value).

    ```mlir
    %p2 = optim.svd_projector %g step %t into %p
            {rank = 8 : i64, period = 200 : i64, right = true}
            : tensor<384x128xf32>, tensor<i64> into tensor<8x128xf32>
            -> tensor<8x128xf32>
    ```
  }];
  let arguments = (ins AnyShaped:$gradient, AnyShaped:$step,
                       AnyShaped:$projector, I64Attr:$rank, I64Attr:$period,
                       BoolAttr:$right, OptionalAttr<StrAttr>:$weight_name);
  let results = (outs Variadic<AnyRankedTensor>:$result);
  let assemblyFormat = [{
    $gradient `step` $step `into` $projector attr-dict `:` type($gradient) `,`
    type($step) `into` type($projector) (`->` type($result)^)?
  }];
  let extraClassDeclaration = [{
    ::mlir::MutableOperandRange getDpsInitsMutable() {
      return getProjectorMutable();
    }
  }];
  let hasVerifier = 1;
}

#endif // MEMC_OPTIM_TD
