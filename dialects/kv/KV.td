//===- KV.td - KV cache buffers ----------------------------*- tablegen -*-===//
#ifndef MEMC_KV_TD
#define MEMC_KV_TD

include "mlir/IR/OpBase.td"
include "mlir/IR/AttrTypeBase.td"
include "mlir/IR/EnumAttr.td"
include "mlir/Interfaces/SideEffectInterfaces.td"

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

class KV_Op<string mnemonic, list<Trait> traits = []>
    : Op<KV_Dialect, mnemonic, traits>;

def KV_AppendOp : KV_Op<"append", [Pure,
    AllTypesMatch<["cache", "result"]>]> {
  let summary = "write a call's rows into a KV cache at a position";
  let description = [{
    `rows` [BH, R, ...] (batch x heads rows of R new tokens each) go to
    sequence rows `position` .. `position + R - 1` of every batch x head
    row of `cache`; the result is the updated cache (bufferized in place).

    Contiguous (no `table`): the cache is [BH, capacity, ...] and row r's
    token i lands at `cache[r, position + i]`. Paged: the cache is a pool of
    `BH x capacity / BLOCK + 1` blocks [BLOCK, ...] and token i of row r
    lands in slot `(position + i) % BLOCK` of block
    `table[r, (position + i) / BLOCK]` (clamped into the pool; the last
    block is the spare that takes rows no block was given to). The element
    type is the cache's (rows are encoded before: f16, or i8 with a second
    append of their scales, whose rows have no trailing dimension).

    ```mlir
    %k1 = kv.append %rows into %k at %pos
        : tensor<4x1x64xf32> into tensor<4x256x64xf32>
    %p1 = kv.append %rows into %pool at %pos table %bt : tensor<4x16xi64>
        : tensor<4x1x64xf32> into tensor<65x16x64xf32>
    ```
  }];
  let arguments = (ins AnyRankedTensor:$rows, AnyRankedTensor:$cache,
                       Index:$position, Optional<AnyRankedTensor>:$table);
  let results = (outs AnyRankedTensor:$result);
  let assemblyFormat = [{
    $rows `into` $cache `at` $position (`table` $table^ `:` type($table))?
    attr-dict `:` type($rows) `into` type($cache)
  }];
  let hasVerifier = 1;
}

def KV_ViewOp : KV_Op<"view", [Pure, AttrSizedOperandSegments]> {
  let summary = "the rows of a KV cache in use, as f32 for the attention";
  let description = [{
    The f32 [BH, capacity, ...] that an attention with `query_offset =
    position` over `rows` query rows reads: sequence rows 0 .. `position +
    rows - 1` of every batch x head row, decoded (f16 widened; i8 times its
    row's `scale`, [BH, capacity] or for a pool [blocks, BLOCK]) and
    gathered through `table` when paged; the rows past them are zero and
    no cache row past them is read.

    ```mlir
    %v = kv.view %pool scale %s : tensor<65x16xf32> at %pos rows 1
        table %bt : tensor<4x16xi64>
        : tensor<65x16x64xi8> -> tensor<4x256x64xf32>
    ```
  }];
  let arguments = (ins AnyRankedTensor:$cache,
                       Optional<AnyRankedTensor>:$scale, Index:$position,
                       Optional<AnyRankedTensor>:$table,
                       ConfinedAttr<I64Attr, [IntPositive]>:$rows);
  let results = (outs AnyRankedTensor:$result);
  let assemblyFormat = [{
    $cache (`scale` $scale^ `:` type($scale))? `at` $position `rows` $rows
    (`table` $table^ `:` type($table))? attr-dict `:` type($cache) `->`
    type($result)
  }];
  let hasVerifier = 1;
}

#endif // MEMC_KV_TD
