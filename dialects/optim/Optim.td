//===- Optim.td - Optimizer-state layouts ------------------*- tablegen -*-===//
#ifndef MEMC_OPTIM_TD
#define MEMC_OPTIM_TD

include "mlir/IR/OpBase.td"
include "mlir/IR/AttrTypeBase.td"
include "mlir/IR/EnumAttr.td"

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
    reports and budgets are computed. The update ops arrive with training.
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

#endif // MEMC_OPTIM_TD
