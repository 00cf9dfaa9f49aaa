//===- KV.td - KV cache buffers ----------------------------*- tablegen -*-===//
#ifndef MEMC_KV_TD
#define MEMC_KV_TD

include "mlir/IR/OpBase.td"
include "mlir/IR/AttrTypeBase.td"
include "mlir/IR/EnumAttr.td"

def KV_Dialect : Dialect {
  let name = "kv";
  let cppNamespace = "::memc::kv";
  let summary = "Key/value cache buffers for autoregressive decoding";
  let description = [{
    A KV cache is an explicit buffer: `!kv.buffer` states its layers, heads,
    token capacity, head dimension, element type and layout (contiguous, or
    paged in fixed blocks of tokens addressed through a block table). Its
    size is exact: 2 x layers x heads x capacity x head_dim x element bytes.
    The append/view/evict ops arrive with decoding support.
  }];
  let useDefaultTypePrinterParser = 1;
}

def KV_Layout : I32EnumAttr<"Layout", "KV cache layout", [
  I32EnumAttrCase<"contiguous", 0>,
  I32EnumAttrCase<"paged", 1>
]> {
  let cppNamespace = "::memc::kv";
  let genSpecializedAttr = 0;
}

def KV_BufferType : TypeDef<KV_Dialect, "Buffer"> {
  let mnemonic = "buffer";
  let summary = "a KV cache buffer";
  let description = [{
    `!kv.buffer<4 x 8 x 2048 x 64, f16>` is a contiguous cache of 4 layers,
    8 KV heads, 2048 tokens of head dimension 64.
    `!kv.buffer<4 x 8 x 2048 x 64, f16, paged = 16>` stores it in blocks of
    16 tokens (PagedAttention); the capacity is a multiple of the block.
  }];
  let parameters = (ins "int64_t":$layers, "int64_t":$heads,
                        "int64_t":$capacity, "int64_t":$headDim,
                        "::mlir::Type":$elementType,
                        DefaultValuedParameter<"int64_t", "0">:$pageSize);
  let assemblyFormat = [{
    `<` $layers `x` $heads `x` $capacity `x` $headDim `,` $elementType
        (`,` `paged` `=` $pageSize^)? `>`
  }];
  let genVerifyDecl = 1;
  let extraClassDeclaration = [{
    Layout getLayout() const {
      return getPageSize() ? Layout::paged : Layout::contiguous;
    }
    /// Bytes of keys and values together.
    int64_t getBytes() const;
  }];
}

#endif // MEMC_KV_TD
