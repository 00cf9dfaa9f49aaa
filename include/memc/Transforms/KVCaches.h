//===- KVCaches.h - the KV caches of a decode program -----------*- C++ -*-===//
//
// What memc-derive-decode (a plain causal LM) and memc-bind-past-kv (an
// export with past key/value inputs) both build once they know which rows
// an attention caches: the `position` input, the caches as arguments
// (contiguous [BH, capacity, F], or paged pools behind a `block_table`
// input; f32, f16 or i8 with per-row scales), the writes of a call's rows
// at `position`, the f32 view the attention reads, and the results that
// overwrite the caches in place.
//
//===----------------------------------------------------------------------===//
#ifndef MEMC_TRANSFORMS_KVCACHES_H
#define MEMC_TRANSFORMS_KVCACHES_H

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Builders.h"

#include <string>

namespace memc {

/// Whether memc stores KV caches in `dtype`: f32, f16, or i8 (with one f32
/// scale per row).
inline bool isKVDtype(llvm::StringRef dtype) {
  return dtype == "f32" || dtype == "f16" || dtype == "i8";
}

/// f32 rows of KV cache rows `data` [BH, N, ...] (f32, f16, or i8 times
/// `scale` [BH, N]), as einsum ops.
mlir::Value decodeKVRows(mlir::OpBuilder &b, mlir::Location loc,
                         mlir::Value data, mlir::Value scale);

class KVCaches {
public:
  /// Caches of `capacity` rows written `rows` at a time; `page` 0 for
  /// contiguous caches; `kvDtype` f32, f16 or i8; `batchHeads` the BH of
  /// every cached attention (one block table serves them all).
  KVCaches(mlir::func::FuncOp fn, int64_t rows, int64_t capacity,
           int64_t page, std::string kvDtype, int64_t batchHeads)
      : fn(fn), rows(rows), capacity(capacity), page(page),
        kvDtype(std::move(kvDtype)), batchHeads(batchHeads) {}

  /// Inserts the rank-0 i64 input `position` as argument `at` (and the
  /// paged layout's `block_table` right after it) and, at the start of the
  /// entry, the index it stands for, clamped into [0, capacity - rows].
  void addInputs(mlir::OpBuilder &b, unsigned at);
  /// The clamped position (after addInputs).
  mlir::Value position() const { return positionIndex; }

  /// Writes `rowsValue` [BH, rows, F] (f32), encoded, at `position` into a
  /// new cache argument named `name` (and its scales for i8) with
  /// kv.append, and returns the f32 [BH, capacity, F] the attention reads:
  /// the cache itself, or its kv.view.
  mlir::Value store(mlir::OpBuilder &b, mlir::Location loc,
                    mlir::Value rowsValue, const std::string &name);

  /// Returns the updated caches last, each overwriting its argument.
  void finish();

private:
  struct Encoded {
    mlir::Value data, scale;
  };
  Encoded encode(mlir::OpBuilder &b, mlir::Location loc, mlir::Value rowsValue);
  mlir::RankedTensorType cacheType(mlir::RankedTensorType type) const;
  mlir::Value newCache(mlir::OpBuilder &b, mlir::Location loc,
                       mlir::RankedTensorType type, const std::string &name);

  mlir::func::FuncOp fn;
  int64_t rows, capacity, page;
  std::string kvDtype;
  int64_t batchHeads;
  mlir::Value table;         ///< the block table argument (paged caches)
  mlir::Value positionIndex; ///< index, in [0, capacity - rows]
  llvm::SmallVector<mlir::Value> caches; ///< the updated caches
};

} // namespace memc

#endif // MEMC_TRANSFORMS_KVCACHES_H
