//===- ProgramInterface.h - typed access to a program's interface -*- C++
//-*-===//
//
// Everything memc records about what a module is to the runtime, read and
// written through these functions (the attributes are defined and verified
// by the memc dialect, Memc.td). The entry function takes, in order: the
// inputs, the weights (parameters bound from ml_program globals), the
// outputs (results before bufferization, out-parameters after), then the
// arena and the host pool when the plan has them.
//
//===----------------------------------------------------------------------===//
#ifndef MEMC_DIALECTS_MEMC_PROGRAMINTERFACE_H
#define MEMC_DIALECTS_MEMC_PROGRAMINTERFACE_H

#include "dialects/memc/MemcDialect.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/MLProgram/IR/MLProgram.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/Interfaces/FunctionInterfaces.h"

#include <optional>
#include <string>

namespace memc {

/// The entry's name when a module does not say (`memc.entry`).
inline constexpr llvm::StringLiteral kDefaultEntryName = "main_graph";

/// The name of the function the runtime calls: `memc.entry`, else
/// kDefaultEntryName.
llvm::StringRef getEntryName(mlir::ModuleOp module);
/// The entry function (any function-like op: func.func, llvm.func), or null.
mlir::FunctionOpInterface getEntryFunction(mlir::ModuleOp module);
/// The entry as a func.func with a body (what memc's passes rewrite); null
/// when there is none, or it is declared only.
mlir::func::FuncOp getEntryBody(mlir::ModuleOp module);
/// The same for the function named `name` (a pass's `func-name` option),
/// or the entry when `name` is empty.
mlir::func::FuncOp getEntryBody(mlir::ModuleOp module, llvm::StringRef name);
void setEntryFunction(mlir::ModuleOp module, mlir::FunctionOpInterface entry);

/// What an argument of the entry is to the runtime.
enum class ArgRole {
  None,
  Input,
  Weight,
  Output,
  Arena,
  HostPool,
  State,  ///< an optimizer state tensor of a trainable weight (train steps)
  Step,   ///< the optimizer's step count (train steps)
  KVCache ///< a KV cache buffer updated in place (decode programs)
};
ArgRole getArgRole(mlir::FunctionOpInterface fn, unsigned arg);
/// The manifest name of an input, weight, output, state or step argument
/// ("" for others).
llvm::StringRef getArgName(mlir::FunctionOpInterface fn, unsigned arg);
/// Marks `arg` as an input, weight, output, state or step named `name`.
void setArgRole(mlir::FunctionOpInterface fn, unsigned arg, ArgRole role,
                llvm::StringRef name = "");
/// The output name of result `result` (before bufferization).
llvm::StringRef getResultOutputName(mlir::FunctionOpInterface fn,
                                    unsigned result);
void setResultOutputName(mlir::FunctionOpInterface fn, unsigned result,
                         llvm::StringRef name);
/// The index of the argument with `role` (Arena, HostPool), if any.
std::optional<unsigned> findArg(mlir::FunctionOpInterface fn, ArgRole role);
/// Whether `value` is the arena or host-pool argument of its function.
bool isPoolArgument(mlir::Value value, ArgRole role);

/// The ml_program.global a weight argument is bound to (memc.parameter).
mlir::FlatSymbolRefAttr getBoundParameter(mlir::FunctionOpInterface fn,
                                          unsigned arg);
void setBoundParameter(mlir::FunctionOpInterface fn, unsigned arg,
                       mlir::FlatSymbolRefAttr global);
void removeBoundParameter(mlir::FunctionOpInterface fn, unsigned arg);

/// Parameters: globals that hold a weight.
bool isParameter(mlir::ml_program::GlobalOp global);
llvm::StringRef getParameterName(mlir::ml_program::GlobalOp global);
void setParameterName(mlir::ml_program::GlobalOp global, llvm::StringRef name);
bool isTrainable(mlir::ml_program::GlobalOp global);
void setTrainable(mlir::ml_program::GlobalOp global, bool trainable);
/// The bytes of a parameter's value (dense_resource blob, or the raw data
/// of a dense non-splat, non-i1 constant); nullopt when the module does not
/// hold them (an elided resource).
std::optional<llvm::ArrayRef<char>>
getParameterData(mlir::ml_program::GlobalOp global);

/// A causal-mask triangle: every element (.., r, c) with c - r >= diagonal
/// equals `value`, in every slice over the leading dimensions; `below`,
/// when set, is the one value of every other element (a pure causal mask),
/// which lets a GPU kernel replace the tensor by an index comparison.
struct UpperTriangle {
  int64_t diagonal;
  double value;
  std::optional<double> below;
};
std::optional<UpperTriangle> getUpperTriangle(mlir::FunctionOpInterface fn,
                                              unsigned arg);
std::optional<UpperTriangle> getUpperTriangle(mlir::Operation *op);
void setUpperTriangle(mlir::FunctionOpInterface fn, unsigned arg,
                      const UpperTriangle &triangle);
void setUpperTriangle(mlir::Operation *op, const UpperTriangle &triangle);
/// Copies the facts a weight carries (memc.upper_triangle) from a
/// parameter to the argument bound to it.
void copyParameterFacts(mlir::ml_program::GlobalOp global,
                        mlir::FunctionOpInterface fn, unsigned arg);

//===----------------------------------------------------------------------===//
// Train steps (memc --train)
//===----------------------------------------------------------------------===//

/// What the module's train step was compiled for (memc.train).
struct TrainFacts {
  std::string loss;      ///< cross-entropy | mse | output (with :NAME)
  std::string optimizer; ///< the --optimizer spelling, hyperparameters in
};
std::optional<TrainFacts> getTrainFacts(mlir::ModuleOp module);
void setTrainFacts(mlir::ModuleOp module, const TrainFacts &facts);

/// A weight argument the step updates in place.
bool isTrainableArg(mlir::FunctionOpInterface fn, unsigned arg);
void setTrainableArg(mlir::FunctionOpInterface fn, unsigned arg);
/// The trainable weight whose gradient result `result` is ("" otherwise).
llvm::StringRef getGradientOf(mlir::FunctionOpInterface fn, unsigned result);
void setGradientOf(mlir::FunctionOpInterface fn, unsigned result,
                   llvm::StringRef weight);
/// The trainable weight a state argument belongs to ("" otherwise).
llvm::StringRef getStateOf(mlir::FunctionOpInterface fn, unsigned arg);
void setStateOf(mlir::FunctionOpInterface fn, unsigned arg,
                llvm::StringRef weight);
/// Whether a result overwrites an argument in place (memc.overwrites).
bool overwritesArg(mlir::FunctionOpInterface fn, unsigned result);
/// The argument a result overwrites in place (memc.overwrites names it).
std::optional<unsigned> getOverwrittenArg(mlir::FunctionOpInterface fn,
                                          unsigned result);
void setOverwrittenArg(mlir::FunctionOpInterface fn, unsigned result,
                       unsigned arg);
void removeOverwrittenArg(mlir::FunctionOpInterface fn, unsigned result);

//===----------------------------------------------------------------------===//
// Decode programs (memc --decode)
//===----------------------------------------------------------------------===//

/// What a decode program runs (memc.decode): `rows` consecutive rows of a
/// sequence from its `position` input on, over KV caches of `capacity` rows.
struct DecodeFacts {
  int64_t rows = 0, capacity = 0;
};
std::optional<DecodeFacts> getDecodeFacts(mlir::ModuleOp module);
void setDecodeFacts(mlir::ModuleOp module, const DecodeFacts &facts);

/// Pool sizes (memc-buffer-mapping); nullopt before planning.
std::optional<uint64_t> getArenaBytes(mlir::ModuleOp module);
std::optional<uint64_t> getHostPoolBytes(mlir::ModuleOp module);
void setPoolBytes(mlir::ModuleOp module, uint64_t arenaBytes,
                  uint64_t hostPoolBytes);

/// One fused attention block (memc-fusemax-attention).
struct FuseMaxCascade {
  std::string form; ///< "cascade" (CPU loops) or "kernel" (einsum.attention)
  std::string rank; ///< the rank that indexes query rows
  int64_t queryTile = 0, kvTile = 0;
  int64_t passesBefore = 0, passesAfter = 0;
  bool causalSkip = false;
  int64_t lanes = 1; ///< lanes the cascade's batch or head rows run in
};
/// How many attention blocks FuseMax fused; nullopt when it did not run.
std::optional<int64_t> getFusedAttentionCount(mlir::ModuleOp module);
llvm::SmallVector<FuseMaxCascade> getFuseMaxCascades(mlir::ModuleOp module);
void setFuseMaxFacts(mlir::ModuleOp module,
                     llvm::ArrayRef<FuseMaxCascade> cascades);

/// An arena view's place in the plan (memc-buffer-mapping).
struct ArenaSlot {
  std::optional<int64_t> buffer, offset, tenant;
  bool host = false;    ///< in the host pool
  bool staging = false; ///< a staging slot of a host-resident buffer
};
/// Sets the fields of `slot` that are present (set flags only), leaving the
/// others as they are.
void setArenaSlot(mlir::Operation *view, const ArenaSlot &slot);
std::optional<ArenaSlot> getArenaSlot(mlir::Operation *view);
/// Removes every fact of the plan from an arena view.
void clearArenaSlot(mlir::Operation *view);

/// The runtime functions memc-arena-noalias wraps each arena buffer in:
/// `memc_rt_arena_view(arena, offset)`, whose result is the buffer (noalias),
/// and `memc_rt_arena_release(buffer)` after its last use.
inline constexpr llvm::StringLiteral kArenaViewFunction = "memc_rt_arena_view";
inline constexpr llvm::StringLiteral kArenaReleaseFunction =
    "memc_rt_arena_release";

/// A forward op the backward recomputes (memc.recomputed).
bool isRecomputed(mlir::Operation *op);
void setRecomputed(mlir::Operation *op);
/// An op whose result is always materialized, never fused into its reader
/// (memc.unfused): recomputing a value moves its readers, and a fusion that
/// followed them would round differently (FMA contraction).
bool isUnfused(mlir::Operation *op);
void setUnfused(mlir::Operation *op);
/// What the remat decision chose for a forward op whose result the backward
/// reads (memc.remat_choice): "keep", "recompute" or "swap".
std::optional<llvm::StringRef> getRematChoice(mlir::Operation *op);
void setRematChoice(mlir::Operation *op, llvm::StringRef choice);
/// An allocation that belongs in the host pool, never in the arena
/// (memc.host on a memref.alloc): a swapped activation's host copy.
bool isHostAllocation(mlir::Operation *alloc);
void setHostAllocation(mlir::Operation *alloc);

} // namespace memc

#endif // MEMC_DIALECTS_MEMC_PROGRAMINTERFACE_H
