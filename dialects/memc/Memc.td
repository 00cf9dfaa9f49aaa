//===- Memc.td - the program interface of a memc module ----*- tablegen -*-===//
//
// memc's own dialect defines the discardable attributes that say what a
// module is to the runtime (which function is the entry, which of its
// arguments are inputs, parameters, outputs and memory pools, how large the
// pools are, what FuseMax did) and verifies them. Passes and the driver read
// and write them through the typed accessors of ProgramInterface.h, never by
// their string names. Its two ops move a train step's saved activations to
// the host pool and back (memc-activation-swap).
//
//===----------------------------------------------------------------------===//
#ifndef MEMC_DIALECTS_MEMC_TD
#define MEMC_DIALECTS_MEMC_TD

include "mlir/IR/OpBase.td"
include "mlir/IR/AttrTypeBase.td"
include "mlir/Interfaces/SideEffectInterfaces.td"

def Memc_Dialect : Dialect {
  let name = "memc";
  let cppNamespace = "::memc";
  let summary = "The interface of a memc program: entry, arguments, pools";
  let description = [{
    A memc module is one program. Its interface is a set of attributes in
    the `memc` namespace, verified wherever they appear:

    On the module:
    * `memc.entry = @f`: the function the runtime calls (when absent, the
      function named `main_graph`).
    * `memc.arena_bytes`, `memc.host_pool_bytes` (i64 >= 0): the sizes of
      the device arena and the host pool the entry takes as its trailing
      arguments, set by `memc-buffer-mapping`.
    * `memc.fused_attention` (i64 >= 0) and `memc.fusemax_cascades` (an
      array of dictionaries `{form = "cascade"|"kernel", rank, query_tile,
      kv_tile, passes_before, passes_after, causal_skip}`): what
      `memc-fusemax-attention` fused.

    On the entry's arguments (and results, for outputs):
    * `memc.input = "name"`, `memc.weight = "name"`, `memc.output = "name"`:
      the argument's role and its name in the package manifest. After
      bufferization the outputs are trailing out-parameters.
    * `memc.parameter = @global`: the `ml_program.global` whose value the
      weight argument is bound to (`memc-bind-parameters`).
    * `memc.arena`, `memc.host_pool` (unit): the memory pools.
    * `memc.upper_triangle = {diagonal = K : i64, value = V : f64[, below =
      B : f64]}`: the weight is a causal-mask triangle (FuseMax skips the
      tiles it hides).

    Train steps (`memc --train`):
    * `memc.train = {loss = "cross-entropy", optimizer = "adamw:..."}` on
      the module: the program is one training step.
    * `memc.trainable` (unit) on a weight argument: the step overwrites it
      with the updated value (its global is trainable too).
    * `memc.gradient = "name"` on a result: the gradient of the loss with
      respect to the trainable weight `name` (`memc-autodiff`), which
      `memc-apply-optimizer` consumes.
    * `memc.state = "name"`, `memc.state_of = "weight"` on an argument: an
      optimizer state tensor of a trainable weight (zero at step 1, updated
      in place).
    * `memc.step = "name"` on an argument: the optimizer's step count t, a
      rank-0 i64 that is 1 on the first step.
    * `memc.overwrites = "name"` on a result: its value replaces the
      argument of that manifest name in place (an updated weight or state);
      bufferization writes it into that argument's buffer and the result
      disappears. A name, not an index, so that passes may drop arguments.

    Decode programs (`memc --decode`, `memc-derive-decode`):
    * `memc.kv_cache = "name"` on an argument: a KV cache buffer (the keys
      or the values of one attention, all its capacity's rows) that the
      runtime owns across calls, zero before the first; the program writes
      its rows in place through a result that `memc.overwrites` it.
    * `memc.past_kv = AXIS` on an input argument (with `memc.input`): the
      past keys or values of an export for generation, which the model
      concatenates with the new rows along AXIS into a graph output (the
      present); the importer marks them under `--decode` and
      `memc-bind-past-kv` binds them to KV caches.
    * `memc.decode = {rows, capacity}` on the module: the program runs
      `rows` consecutive sequence rows from the `position` input on, over
      caches of `capacity` rows.

    On parameters (`ml_program.global`): `memc.weight = "name"` (the ONNX
    initializer), `memc.trainable` (unit: a train step updates it; such a
    global is `mutable`), `memc.upper_triangle`.

    On ops of a train step: `memc.recomputed` (unit): a copy, in the
    backward, of a forward op whose result the backward reads
    (memc-recompute-pointwise, memc-activation-recompute), so that result
    is not kept. `memc.remat_choice` (`"keep"`, `"recompute"` or `"swap"`):
    what was decided for a forward op whose result the backward read.
    `memc.remat` on the module: the decision's record (solver, budget,
    estimated and unbudgeted peak bytes, extra milliseconds, whether the
    MILP proved it optimal or timed out). `memc.unfused` (unit, kept by
    the lowering to linalg): the op's result is always materialized, never
    fused into its reader (memc-fuse-elementwise), so moving its readers
    (a recompute) changes no rounding.

    `memc.scratch` (unit) on a `memref.alloc`: the GEMM result of a
    dissolved `memc.gemm_epilogue` (after the arena plan), on the heap;
    memc-contractions-to-blas's fused call does without it, and then the
    allocation goes.

    On arena views (`memref.view`): `memc.buffer`, `memc.offset`,
    `memc.tenant` (i64 >= 0), `memc.host`, `memc.staging` (unit): the
    planned buffer a view is, where it lives and whether it is a staging
    slot of a host-resident buffer. On a `memref.alloc`, `memc.host` says
    the buffer belongs in the host pool, never in the arena (a swapped
    activation's host copy, from `memc.swap_out`).

    `memc.micro_batch` (memc-micro-batch): on a function, `{chunk = C,
    loops = L}` when its batch runs C rows at a time in L loops (with
    `lanes = N` when N chunks run side by side), or a string saying why it
    does not; on an `scf.for`, the chunk (i64 > 0): one loop over the
    batch's chunks, whose body the arena planner schedules op by op; on an
    `scf.forall`, its lanes (i64 > 1): each runs such a loop over its own
    chunks, or (memc-fusemax-attention lanes=N) FuseMax's cascade over its
    share of the batch and head rows, on its own copy of the lane's
    buffers; memc-parallel-lanes runs the lanes on the runtime's threads.
  }];
  let discardableAttrs = (ins
    "::mlir::FlatSymbolRefAttr":$entry,
    "::mlir::IntegerAttr":$arena_bytes,
    "::mlir::IntegerAttr":$host_pool_bytes,
    "::mlir::IntegerAttr":$fused_attention,
    "::mlir::ArrayAttr":$fusemax_cascades,
    "::mlir::StringAttr":$input,
    "::mlir::StringAttr":$weight,
    "::mlir::StringAttr":$output,
    "::mlir::FlatSymbolRefAttr":$parameter,
    "::mlir::UnitAttr":$trainable,
    "::mlir::UnitAttr":$arena,
    "::mlir::UnitAttr":$host_pool,
    "::mlir::DictionaryAttr":$upper_triangle,
    "::mlir::IntegerAttr":$buffer,
    "::mlir::IntegerAttr":$offset,
    "::mlir::IntegerAttr":$tenant,
    "::mlir::UnitAttr":$host,
    "::mlir::UnitAttr":$staging,
    "::mlir::UnitAttr":$recomputed,
    "::mlir::StringAttr":$remat_choice,
    "::mlir::UnitAttr":$unfused,
    "::mlir::DictionaryAttr":$remat,
    "::mlir::DictionaryAttr":$train,
    "::mlir::StringAttr":$gradient,
    "::mlir::StringAttr":$state,
    "::mlir::StringAttr":$state_of,
    "::mlir::StringAttr":$step,
    "::mlir::StringAttr":$overwrites,
    "::mlir::StringAttr":$kv_cache,
    "::mlir::IntegerAttr":$past_kv,
    "::mlir::DictionaryAttr":$decode,
    "::mlir::Attribute":$micro_batch,
    "::mlir::UnitAttr":$scratch
  );
  let hasOperationAttrVerify = 1;
  let hasRegionArgAttrVerify = 1;
  let hasRegionResultAttrVerify = 1;
  let dependentDialects = ["::mlir::ml_program::MLProgramDialect"];
}


class Memc_Op<string mnemonic, list<Trait> traits = []>
    : Op<Memc_Dialect, mnemonic, traits>;

def Memc_SwapOutOp : Memc_Op<"swap_out", [AllTypesMatch<["source", "result"]>]> {
  let summary = "A saved activation copied to the host pool";
  let description = [{
    The value of `source`, held in the host pool: the device copy of a
    saved activation may die once it is written out, and `memc.swap_in`
    brings it back for a reader of the backward. Semantically a copy.
    Bufferized, it is a `memref.alloc` marked `memc.host` (placed in the
    host pool by memc-buffer-mapping, never in the arena) and a
    `memref.copy` into it. Its result is read by `memc.swap_in` ops only.

    The op has no declared memory effects, so that no pass merges,
    duplicates or moves it: where it stands in the schedule is the point
    of it.

    ```mlir
    %host = memc.swap_out %act : tensor<32x64xf32>
    ```
  }];
  let arguments = (ins AnyRankedTensor:$source);
  let results = (outs AnyRankedTensor:$result);
  let assemblyFormat = "$source attr-dict `:` type($source)";
  let hasVerifier = 1;
}

def Memc_SwapInOp : Memc_Op<"swap_in", [AllTypesMatch<["host", "result"]>]> {
  let summary = "A swapped activation copied back from the host pool";
  let description = [{
    The value a `memc.swap_out` put in the host pool, copied into a fresh
    device buffer right before the reader it is for. Each backward reader
    of a swapped activation (or run of readers that are to be one fused
    loop) has its own `memc.swap_in`, so the device buffer lives from the
    copy to that reader only. Bufferized, a
    `memref.alloc` and a `memref.copy` from the host buffer.

    ```mlir
    %act2 = memc.swap_in %host : tensor<32x64xf32>
    ```
  }];
  let arguments = (ins AnyRankedTensor:$host);
  let results = (outs AnyRankedTensor:$result);
  let assemblyFormat = "$host attr-dict `:` type($host)";
  let hasVerifier = 1;
}

def Memc_GemmEpilogueOp : Memc_Op<"gemm_epilogue", [
    NoTerminator, SingleBlock, RecursiveMemoryEffects]> {
  let summary = "A GEMM and the op finishing its result, as one step";
  let description = [{
    On buffers, before the arena plan: a convolution's GEMM (a weight
    times an activation, or times its window) into a scratch matrix C, and
    the elementwise op that finishes C (a bias per row, an addend, a clip)
    into its output D, which may be a padded buffer's interior. The body's
    one argument is C; the body uses the values around it (the GEMM's
    operands, D) directly.

    To the arena planner the op is one step that reads the GEMM's operands
    and writes D: those never share bytes, and C takes none. Once the plan
    is made, memc-buffer-mapping puts the body in the op's place and C on
    the heap, marked `memc.scratch`; memc-contractions-to-blas turns the
    pair into one runtime call (`memc_rt_sgemm_packed_a(_window)_ep` with
    a null C) that stores the finished values straight into D, and C's
    allocation goes. Only if that fusion is refused is C allocated, and
    the body runs as it is.

    Made by memc-wrap-gemm-epilogues. The body runs once, in order.

    ```mlir
    memc.gemm_epilogue {
    ^bb0(%c: memref<96x12544xf32>):
      linalg.fill ins(%zero : f32) outs(%c : memref<96x12544xf32>)
      linalg.generic ... ins(%w, %x : ...) outs(%c : memref<96x12544xf32>)
      linalg.generic ... ins(%c, %bias : ...) outs(%d : memref<...>)
    }
    ```
  }];
  let regions = (region SizedRegion<1>:$body);
  let assemblyFormat = "attr-dict-with-keyword $body";
  let hasVerifier = 1;
}

#endif // MEMC_DIALECTS_MEMC_TD
