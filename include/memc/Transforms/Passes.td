//===- Passes.td - memc's passes ---------------------------*- tablegen -*-===//
//
// Passes that transform one function at a time anchor on func.func (a pass
// manager may run them on several functions at once). Those that add, look
// up or compare functions, read or write module attributes, or print every
// function in order run on the module. The einsum -> linalg conversion is in
// memc/Conversion/Passes.td.
//
//===----------------------------------------------------------------------===//
#ifndef MEMC_TRANSFORMS_PASSES_TD
#define MEMC_TRANSFORMS_PASSES_TD

include "mlir/Pass/PassBase.td"

def FuseMaxAttention : Pass<"memc-fusemax-attention", "mlir::ModuleOp"> {
  let summary = "Rewrite 3-pass softmax attention to FuseMax's 1-pass cascade";
  let description = [{
    Finds `softmax(mod(Q·K)) · V` in einsum IR however the exporter spelt it
    (heads split by Reshape/Transpose, any batch and head ranks, a scale by
    Div or Mul on Q, K or the scores, an additive mask, a Where; masks
    constant or computed at run time, such as a padding mask from the
    inputs) and rewrites it to the 1-pass cascade of
    FuseMax: `einsum.iterate` over K/V tiles (rank M1) carrying the running
    maximum, denominator and numerator, with the division deferred to the
    end, inside an iterate over query tiles. The scores only exist as
    [batch, P0, M0] tiles; mask operands are sliced with each tile. The
    running maximum starts at the lowest finite value, so a tile that hides
    every key of a row (left padding) adds nothing instead of NaN. When a
    constant causal mask (a triangle of -inf,
    -1e9, ... or a boolean triangle; see `memc.upper_triangle`) hides a
    whole tile, the tile is skipped.

    With `lanes=N` (N > 1), a cascade in a function's body runs in lanes:
    the batch or head rank with the most equal shares up to N (the
    outermost among equals) is cut into them, and each share is the whole
    cascade over its own rows (with the tile lengths chosen for all rows)
    in one lane of an `scf.forall` marked `memc.micro_batch` = shares, which
    writes its rows of the output. The lanes have buffers of their own and
    run side by side on the runtime's threads (memc-parallel-lanes), each
    calling its kernels on its own thread, rather than every tile's kernels
    being cut among the threads. Each output row is computed by the same
    ops whichever lane computes it, so the results do not depend on N.

    With `kernel=true` (GPU targets) the block becomes one `einsum.attention`
    instead: Q, K and V are copied into [batch x heads, sequence, feature]
    layout, scales by constants multiply into its `scale`, a constant causal
    triangle becomes `masked_from`, a mask that is the same for every query
    (a padding mask, even one computed at run time) becomes its per-key
    `bias`, and the output is copied back into the exporter's layout. Blocks
    it cannot express that way (a mask that varies by query, a head
    dimension too large for the kernel's shared memory) stay unfused, with a
    remark.

    Sets `memc.fused_attention` (the number of fused blocks) and
    `memc.fusemax_cascades` (per block: passes over the key rank before and
    after, the tile sizes, the lanes) on the module. With `remarks`, says for every
    softmax-fed contraction why it was or was not fused.
  }];
  let options = [
    Option<"tileSize", "tile-size", "int64_t", /*default=*/"0",
           "K/V tile M0 (0: from the cost model; one that does not divide "
           "the key count leaves a shorter last tile)">,
    Option<"queryTileSize", "query-tile-size", "int64_t", /*default=*/"0",
           "Query tile P0 (0: from the cost model; one that does not divide "
           "the query count leaves a shorter last tile)">,
    Option<"lanes", "lanes", "int64_t", /*default=*/"1",
           "CPU cascades: cut the batch or head rows into up to this many "
           "lanes that run side by side on the runtime's threads (1: none)">,
    Option<"remarks", "remarks", "bool", /*default=*/"false",
           "Emit a remark for every attention block, fused or not">,
    Option<"kernel", "kernel", "bool", /*default=*/"false",
           "GPU targets: rewrite to one `einsum.attention` on [batch, "
           "sequence, feature] operands (a scale and a pure causal mask "
           "folded in), which memc-attention-to-gpu turns into a single "
           "kernel, instead of the loop cascade">
  ];
  let dependentDialects = ["memc::einsum::EinsumDialect",
                           "mlir::arith::ArithDialect",
                           "mlir::scf::SCFDialect",
                           "mlir::tensor::TensorDialect"];
}

def CollapseContiguousLoops : Pass<"memc-collapse-contiguous-loops"> {
  let summary = "Consecutive loops over contiguous dimensions become one";
  let description = [{
    For each `linalg.generic` on buffers (without `linalg.index`),
    neighbouring loops of the same iterator type that every operand indexes
    as consecutive plain dimensions, contiguous in its layout (the outer
    stride is the inner one times the inner size), are folded into one loop:
    the op on `memref.collapse_shape` views of its operands. A [N, C, H, W]
    loop nest whose innermost loop ran over W alone (which LLVM unrolled and
    then vectorized across H with gathers) then runs one loop over H x W.
    Runs after memc-parallel-kernels, before linalg becomes loops.
  }];
  let dependentDialects = ["mlir::memref::MemRefDialect",
                           "mlir::linalg::LinalgDialect"];
}

def VectorizeWindows : Pass<"memc-vectorize-windows"> {
  let summary = "Windowed loop nests (depthwise convolutions, pooling) as "
                "vector rows with the accumulator in a register";
  let description = [{
    For each `linalg.generic` on buffers (without `linalg.index`) with one
    output, whose body is elementwise scalar ops, that has reduction loops
    of at most `max-taps` iterations in all, and that reads at least one
    input through a window moved by both the output's innermost dimension
    (the row) and a reduction loop (`x[c, o0 + k0, o1 * 2 + k1]`): the op
    becomes `scf.for` loops over its other parallel loops, the row in
    vectors of `width` lanes, and inside them its reduction loops carrying
    the accumulator vector. An input the row moves (only in its last,
    unit-stride dimension, linearly) is one vector load per tap, or for a
    stride s a load of `width` x s elements and a shuffle of every s-th
    (for stride 2, two loads of `width` and one shuffle of both, which
    LLVM does not move below an elementwise intrinsic as it does a
    one-load shuffle: a max pool's maximums stay on `width` lanes); an
    input the row does not move is loaded once and broadcast. The output
    vector is loaded before the reductions and stored after them; the row's
    last partial vector uses masked loads and stores. Each output element
    folds the same terms in the same order as the loop nest, so results do
    not change. An op without reduction loops (a window whose taps
    `memc-unroll-window-taps` made operands) is taken when the row reads
    some input shifted or strided (`x[c, o0 + 1, o1 + 2]`), which
    `memc-collapse-contiguous-loops` cannot merge into one long row; its
    output is only stored, not loaded, when its body does not read it.
    Other ops are left as they are. Runs after `memc-parallel-kernels`,
    before linalg becomes loops.
  }];
  let options = [
    Option<"width", "width", "int64_t", /*default=*/"16",
           "Lanes per vector (16 floats: one AVX-512 register, two AVX2 ones)">,
    Option<"maxTaps", "max-taps", "int64_t", /*default=*/"1024",
           "Most reduction iterations per output vector">,
    Option<"unroll", "unroll", "int64_t", /*default=*/"8",
           "Output rows computed at once (independent accumulators)">,
  ];
  let dependentDialects = ["mlir::vector::VectorDialect",
                           "mlir::scf::SCFDialect",
                           "mlir::affine::AffineDialect",
                           "mlir::memref::MemRefDialect",
                           "mlir::arith::ArithDialect"];
}

def ReassociateReductions : Pass<"memc-reassociate-reductions"> {
  let summary = "Reductions' accumulating adds may be reassociated";
  let description = [{
    In every `linalg.generic` with a reduction loop, the `arith.addf` or
    `arith.mulf` that folds an element into an output's accumulator (its
    block argument) and is yielded gets the `reassoc` fast-math flag. LLVM's
    loop vectorizer then splits the reduction into vector lanes and partial
    sums instead of one chain of dependent adds. Only that op changes: the
    elementwise math around it keeps its exact order. The summation order is
    fixed when the kernel is compiled, so results do not depend on the
    thread count (threads split parallel dimensions only).
  }];
  let dependentDialects = ["mlir::arith::ArithDialect"];
}

def ElementwiseInPlace : Pass<"memc-elementwise-in-place",
                              "mlir::func::FuncOp"> {
  let summary = "Elementwise results written into a dead operand's tensor";
  let description = [{
    An elementwise `linalg.generic` (all loops parallel) whose init is a
    `tensor.empty` that its payload does not read takes as init an input of
    the same type that it reads at the same element (both indexing maps the
    identity) when that input is read by nothing after it, is made in the
    same block, and owns its buffer (destination-passing ops, and `scf.for`
    loops carrying it, from a `tensor.empty`, each link used once). One-shot
    bufferization then writes the result over the operand: one buffer where
    there were two. The pointwise gradients of a train step's backward
    (GELU's, batch norm's) read a saved activation and a gradient that die
    there; written in place they no longer set the arena's floor
    (`min_budget_bytes`). A result the function returns keeps its own
    buffer.
  }];
  let dependentDialects = ["mlir::linalg::LinalgDialect"];
}

def MicroBatch : Pass<"memc-micro-batch", "mlir::func::FuncOp"> {
  let summary = "Run a train step a chunk of its batch at a time";
  let description = [{
    Splits the batch (dimension 0 of every `memc.input` argument) of a
    function on tensors into chunks that run one after another in an
    `scf.for` marked `memc.micro_batch`. Values are followed from the inputs
    in program order: an op that keeps the batch as a loop of its own (a
    parallel loop of a linalg op whose indexing maps read the batch as that
    one loop, a slice, insertion or pad whole along it, a reshape that
    leaves it a dimension of its own) is made on [chunk, ...] slices; a
    linalg op that reduces over the batch (a weight gradient, the loss's
    sum) takes the loop's iter_arg as its init, so its own combiner sums
    the chunks; ops of reduced values (the optimizer's updates, the loss's
    division) follow the loop. Invariant values read along the batch (a
    `tensor.empty`, a fill of one, a splat constant) are made at chunk size
    inside the loop; other invariant values are sliced.

    A batched op that reads a reduced value (a loss normalized by its count
    of labels, a training-mode batch norm's statistics) runs in a later loop
    than the one that completes it, recomputing the batched values it reads
    there; at most three loops. The chunk is `chunk` rows when given (memc
    chooses it under `--mem-budget`: the largest whose planned arena fits),
    else the largest divisor of the batch whose largest batched value takes
    at most `chunk-bytes`; a batch that fits whole is left as it is, and so is a function with an op that
    reads the batch otherwise (an `scf.for`, a reshape that merges the
    batch, a map that computes with the batch index). Either way the
    function gets `memc.micro_batch`: `{chunk, loops}`, or a string saying
    why not. Sums over the batch are made chunk by chunk, so a split step's
    results can differ from the whole batch's by rounding.

    With `lanes=N` (N > 1) chunks run side by side: each loop becomes an
    `scf.forall` of N lanes (marked `memc.micro_batch = N`) around the
    `scf.for` of one lane, which runs chunks l, l + N, ... Each sum over the
    batch gets a [N, ...] tensor of partial results, row l lane l's: row 0
    starts from the reduction's init, the others from the identity of its
    combiner (the `arith` op its body applies to its init: add, mul, max,
    min). The rows are combined in lane order after the lanes, so the
    results depend on N but not on how many threads run the lanes. Each
    lane has its own copy of the body's buffers (BufferLiveness). A
    function whose reductions have another combiner, that returns a batched
    value keeps one lane. Lanes drop the swaps of memc-activation-swap (a
    `memc.swap_in` of a `memc.swap_out` is its source): a chunk's activations
    stay in its lane's buffers.
  }];
  let options = [
    Option<"chunkBytes", "chunk-bytes", "int64_t", /*default=*/"1 << 20",
           "Largest batched value of one chunk, in bytes">,
    Option<"chunk", "chunk", "int64_t", /*default=*/"0",
           "Rows of the batch per chunk (a divisor of the batch); 0: from "
           "chunk-bytes">,
    Option<"lanes", "lanes", "int64_t", /*default=*/"1",
           "Chunks run side by side, each lane on its own buffers (at most "
           "the number of chunks)">
  ];
  let dependentDialects = ["mlir::linalg::LinalgDialect",
                           "mlir::scf::SCFDialect",
                           "mlir::tensor::TensorDialect",
                           "mlir::arith::ArithDialect"];
}

def PadInPlace : Pass<"memc-pad-in-place", "mlir::func::FuncOp"> {
  let summary = "A padded value's producer writes straight into the padded "
                "buffer";
  let description = [{
    For each `tensor.pad` with static shapes, a constant padding value and
    static low padding, whose source is the only result of a
    destination-style op (a `linalg.generic`) that only the pad reads and
    whose init is a `tensor.empty` nothing else uses: a `linalg.fill` of the
    padded shape with the padding value goes just before the producer, the
    producer's init becomes that fill's interior (`tensor.extract_slice` at
    the low padding), and the pad becomes a `tensor.insert_slice` of the
    producer's result into the same slice. One-shot bufferization then
    writes the producer's result in place into the padded buffer: no copy
    of the activation, and one buffer where there were two. Other pads are
    left as they are.

    With `shared`, the producer's result may have other readers too (a
    residual block's output: the next block's padded convolution reads it,
    and so do its residual sum and downsampling convolution). They read the
    padded buffer's interior, a strided view, where before the pad filled
    and copied a second buffer on every run (ResNet-18: 16 fills and
    copies, 0.4 ms of 11 at two threads). The padded buffer then lives as
    long as its last reader: a train step, whose readers may be saved
    activations read in the backward, leaves it off.
  }];
  let options = [
    Option<"shared", "shared", "bool", /*default=*/"false",
           "Also when other ops read the producer's result (they read the "
           "padded buffer's interior)">,
  ];
  let dependentDialects = ["mlir::linalg::LinalgDialect",
                           "mlir::tensor::TensorDialect",
                           "mlir::arith::ArithDialect"];
}

def CarryInPlace : Pass<"memc-carry-in-place", "mlir::func::FuncOp"> {
  let summary = "Write the values an scf.for carries into its iter_args";
  let description = [{
    Makes the producer of each value an `scf.for` yields (looking through
    `scf.if`) write into the corresponding iter_arg: an elementwise
    `linalg.generic` whose init is a `tensor.empty` takes the iter_arg as
    init when nothing reads the iter_arg after it, otherwise a `linalg.copy`
    into the iter_arg precedes the yield. One-shot bufferization then keeps
    every carried value in one buffer for the whole loop (FuseMax's running
    maximum, denominator and numerator) instead of returning a new
    allocation from each iteration.

    An `scf.if` that no loop carries (FuseMax's causal tile test once a
    single-tile K/V loop has folded away) and whose branch would yield a
    tensor it created gets a `tensor.empty` destination before it: the
    computing branch writes into it, the other copies its values in. No
    buffer then leaves a branch, so none needs ownership-based
    deallocation's `dealloc_helper`.
  }];
  let dependentDialects = ["mlir::linalg::LinalgDialect",
                           "mlir::scf::SCFDialect"];
}

def PrintPassCounts : Pass<"memc-print-pass-counts", "mlir::ModuleOp"> {
  let summary = "Print FuseMax pass counts per rank of each function";
  let description = [{
    Test pass for the pass-counting analysis (lib/Analysis/PassCount): for
    every function, prints `@name: RANK N pass(es)` for each rank its einsum
    cascade iterates, in order of first iteration. Ranks are followed
    across ops by data flow, so the name printed is the one of the first op
    that iterates the rank.
  }];
}

def DistinctResults : Pass<"memc-distinct-results", "mlir::func::FuncOp"> {
  let summary = "Give every returned tensor a value of its own";
  let description = [{
    Each result of the model function becomes an output parameter of its
    own (buffer-results-to-out-params), so no two results may be one value:
    an ONNX graph may list outputs that alias (`z = Identity(y)` after the
    copy folds away) or return a graph input as it is. A result that repeats
    an earlier one, or that is a function argument, is replaced by a
    `linalg.copy` into a fresh `tensor.empty`, which bufferization writes
    straight into the output parameter.
  }];
  let dependentDialects = ["mlir::linalg::LinalgDialect",
                           "mlir::tensor::TensorDialect"];
}

def FuseElementwise : Pass<"memc-fuse-elementwise", "mlir::func::FuncOp"> {
  let summary = "Fuse elementwise linalg.generic producers into consumers";
  let description = [{
    Fuses a `linalg.generic` producer whose iterators are all parallel into
    its consumer, so chains such as bias-add, GELU and residual-add run as one
    loop nest with no intermediate tensors. A contraction (a consumer whose
    body is a multiply-accumulate) is left alone: it is a GEMM, and fusing
    into it would hide it from `memc-contractions-to-blas`.

    Each fusion clones both bodies into a new op, so fusing a chain of n ops
    one pair at a time clones O(n^2) ops: a fused body stops growing at
    `max-body-ops` payload ops, which keeps the pass linear in the graph
    (a 20k-op chain of Relus fuses in groups instead of taking minutes).
  }];
  let options = [
    Option<"maxBodyOps", "max-body-ops", "unsigned", /*default=*/"64",
           "Largest fused body, in payload ops (0: no limit)">
  ];
  let dependentDialects = ["mlir::linalg::LinalgDialect"];
}

def WrapGemmEpilogues
    : Pass<"memc-wrap-gemm-epilogues", "mlir::ModuleOp"> {
  let summary = "Put each GEMM and the op finishing its result into one "
                "memc.gemm_epilogue, so that the arena plan lets them fuse "
                "and gives the GEMM's result no bytes";
  let description = [{
    On bufferized IR before memc-buffer-mapping, in an inference program:
    an f32 GEMM that memc-contractions-to-blas (packed-weights,
    fuse-epilogues) calls the runtime's packed-A kernel for (a weight times
    an activation, or times its window), into a fresh buffer C that it
    zero-fills first, and the elementwise op that finishes C into another
    buffer D (GemmEpilogue.h: a bias per row, an addend, a clip; D may be a
    padded buffer's interior, whose fill comes along), with C read by
    nothing else: C's allocation becomes the argument of a
    `memc.gemm_epilogue` at the finishing op's place, and the fill, the
    GEMM, the finishing op and C's views move into its body.

    Planned as they were, C took its own bytes, and D, first written by the
    finishing op, could take the bytes of a GEMM input that died at the
    GEMM, so the fusion, which checks the planned offsets, refused (on
    MobileNetV2, its largest expansion and whichever pairs the plan
    happened to overlap). As one step, the GEMM's operands and D never
    share bytes, and C needs none: the fused call does not write it.

    Pairs whose op finishes C in place (D is C) fuse as they are and stay.
    Train steps (whose weights change) are left alone.
  }];
  let options = [
    Option<"minFlops", "min-flops", "int64_t", /*default=*/"4096",
           "memc-contractions-to-blas's min-flops: smaller GEMMs stay loops "
           "and are not wrapped">
  ];
  let dependentDialects = ["::memc::MemcDialect"];
}

def ContractionsToBLAS : Pass<"memc-contractions-to-blas", "mlir::ModuleOp"> {
  let summary = "Call the runtime's GEMM for matrix-multiply linalg.generics";
  let description = [{
    On bufferized IR, rewrites every `linalg.generic` (or named
    matmul/batch_matmul) that is a batched GEMM over f32 or f64 memrefs into
    a call to `memc_rt_sgemm` / `memc_rt_dgemm` (runtime/cpu, OpenBLAS
    underneath): the body is `acc + a * b`, exactly one reduction rank k, the
    operands' maps are projections whose batch ranks lead, and every memref
    is strided with each group of ranks collapsing to one dimension and
    contiguous rows (identity layouts, and subviews such as FuseMax's K/V
    tiles inside a loop, whose offset is read at run time). Transposed
    operands become the GEMM's transpose flags, so no transposed copy is
    made. Problems smaller than
    `min-flops` multiply-adds stay as loops.

    With `packed-weights` (the CPU target's pipeline sets it), an f32 GEMM
    whose B is a view of a weight argument of the entry function, in a
    module that is not a train step (whose weights change every step), calls
    `memc_rt_sgemm_packed_b` instead: same arguments, and the runtime packs
    that B once into its own kernel's panel layout rather than on every
    call. When B is not a weight but A is (a convolution's filters times
    its im2col rows), the call is `memc_rt_sgemm_packed_a`. A convolution
    that memc-conv-to-gemm left whole (`keep-weight-windows`) is matched
    as C [M, N] = A [M, K] times its input X read through the window,
    whose map must be linear in the ranks (GemmMatch.h's
    matchWindowGemm), A a weight: it calls `memc_rt_sgemm_packed_a_window`
    with the window as a constant table (for K's ranks in A's order, then
    N's in C's: extent and stride in X; and X's constant offset), and the
    runtime packs X's elements straight from the window, no im2col copy.
  }];
  let options = [
    Option<"minFlops", "min-flops", "int64_t", /*default=*/"4096",
           "Smallest M*N*K (per batch entry) that is worth a library call">,
    Option<"packedWeights", "packed-weights", "bool", /*default=*/"false",
           "Call memc_rt_sgemm_packed_b/_a for GEMMs whose B/A is a "
           "constant weight">,
    Option<"fuseEpilogues", "fuse-epilogues", "bool", /*default=*/"false",
           "With packed-weights: a packed-A GEMM (a convolution) whose C is "
           "read only by an elementwise op that finishes it (+ a bias per "
           "row, + an addend, a clip by constants) calls "
           "memc_rt_sgemm_packed_a(_window)_ep where that op was, which "
           "stores the finished values straight to the op's output (a "
           "padded buffer's interior too) and does not write C">
  ];
  let dependentDialects = ["mlir::func::FuncDialect",
                           "mlir::arith::ArithDialect",
                           "mlir::memref::MemRefDialect",
                           "mlir::LLVM::LLVMDialect"];
}

def ContractionsToMMA : Pass<"memc-contractions-to-mma", "mlir::func::FuncOp"> {
  let summary = "Generate a tensor-core kernel for every f32 GEMM";
  let description = [{
    On bufferized IR, for the CUDA target from sm_80 on: every f32
    `linalg.generic` that memc-contractions-to-blas would call a GEMM for
    (same matcher: `passes/GemmMatch.h`; batch ranks, transposed operands
    and strided subviews included) becomes one `gpu.launch` computing it on
    tensor cores. A block computes a 64 x 64 tile of C for one batch entry
    (grid: N tiles, M tiles, batch) with 4 warps of 32 x 32; the loop over K
    copies 64 x 32 of A and 32 x 64 of B into padded shared-memory tiles,
    and each warp runs `nvgpu.mma.sync` m16n8k8 on TF32 operands, three per
    product on the operands split into a TF32 part and the rest (3xTF32),
    which keeps f32 accuracy. Past K the tiles hold zeros; C is written only
    inside M x N. A zero `linalg.fill` of C right before the GEMM is dropped
    and C overwritten; otherwise the product is added to C, as linalg's
    semantics say. f64 GEMMs, and grids past 65535 in y or z, stay loops.
  }];
  let dependentDialects = ["mlir::gpu::GPUDialect", "mlir::arith::ArithDialect",
                           "mlir::scf::SCFDialect", "mlir::memref::MemRefDialect",
                           "mlir::nvgpu::NVGPUDialect",
                           "mlir::vector::VectorDialect"];
}

def MathApproximation : Pass<"memc-math-approximation", "mlir::func::FuncOp"> {
  let summary = "Vectorizable polynomial forms of exp, erf, erfc, tanh and log";
  let description = [{
    Replaces f32 `math.exp`, `math.erf`, `math.erfc`, `math.tanh`,
    `math.log`, `math.log1p` and `math.expm1` by polynomial approximations:
    plain arithmetic that LLVM vectorizes, where a libm call per element does
    not. Softmax (exp) and GELU (erfc) loops run several times faster. `exp`
    is memc's own (denormal results and the last ulps before overflow kept,
    where MLIR's flushes below 2^-126); `log` inputs below 2^-126 are scaled
    by 2^23 before MLIR's approximation, which would clamp them to 2^-126;
    the others are MLIR's. docs/numerics.md lists the measured errors. Other
    element types keep their libm calls.
  }];
  let options = [
    ListOption<"ops", "ops", "std::string",
               "Math ops to approximate, by name (default: math.exp, math.erf, "
               "math.erfc, math.tanh, math.log, math.log1p, math.expm1)">
  ];
  let dependentDialects = ["mlir::arith::ArithDialect",
                           "mlir::math::MathDialect",
                           "mlir::vector::VectorDialect"];
}

def OutlineKernels : Pass<"memc-outline-kernels", "mlir::ModuleOp"> {
  let summary = "One private function per distinct top-level loop nest";
  let description = [{
    IREE's dispatches for the CPU target. After bufferization, every linalg
    op (`linalg.generic` and the named ops) and every structured
    control-flow op without results (`scf.for`, `scf.if`, `scf.parallel`,
    `scf.forall`: FuseMax's tile loops with everything nested in them) in the
    body of the model function moves into its own private `func.func`,
    taking the op's distinct memref operands, the buffers and scalars its
    regions capture as arguments (constants are cloned into it), and is
    replaced by a `func.call`.
    Structurally equal functions (same op, attributes, operand types, region
    and argument attributes: the same generic-form text) are one function
    called from every site, so a model of N equal layers hands LLVM each
    distinct loop nest once, in a small function: LLVM's -O3 time grew
    superlinearly with the number of loop nests in one function, and a
    30-layer model's 30 attention cascades were compiled 30 times.

    Equal layers keep their buffers at different arena offsets. So that
    their nests are still equal, the offset of every arena view inside a
    nest (`memc_rt_arena_view(arena, offset)` of memc-arena-noalias) is an
    argument when it is defined outside, and the plan's bookkeeping
    attributes (`memc.buffer`, `memc.offset`, `memc.tenant`, ...) are
    dropped inside the functions; nothing after memc-arena-noalias reads
    them.

    Only ops whose buffers the bare-pointer calling convention can pass are
    outlined: static shapes, static strides and offset, the default memory
    space. Ops nested in loops or conditionals move with them; a loop that
    yields results stays where it is.

    Aliasing: a buffer argument gets `llvm.noalias` only where that holds at
    the call: every buffer operand is a view of a known distinct object (a
    parameter of the model function, a `memc_rt_arena_view` tenant from
    memc-arena-noalias, an allocation, a global) and no other operand views
    the same object. The arena itself never gets it (its tenants, which may
    be arguments too, are the distinct objects). Arguments of ops that read
    and write one buffer, or whose buffers come from elsewhere, carry no
    attribute. Since the attribute is part of a function's text, call sites
    that differ in it get different functions. The functions have internal
    linkage and are `noinline` (option): LLVM would otherwise inline a
    function called once back into the model function.

    With `nested-min-work`, the linalg ops inside an outlined loop nest
    whose work (iterations times the ops of the body) reaches it are
    outlined the same way first, and the nest's function calls them: a
    FuseMax tile loop's score tiles (mask, maximum, exponentials) are then
    kernels that `memc-parallel-kernels` can split over the threads, where
    the whole nest ran on the calling thread. Their buffers follow the same
    rules; a slice at the loop's induction variable is made in the kernel
    from the whole buffer and the offsets.
  }];
  let options = [
    Option<"funcName", "func", "std::string", /*default=*/"\"\"",
           "The model function (default: the module's memc.entry)">,
    Option<"dedup", "dedup", "bool", /*default=*/"true",
           "Share one function between structurally equal ops">,
    Option<"noInline", "no-inline", "bool", /*default=*/"true",
           "Mark the outlined functions noinline for LLVM">,
    Option<"nestedMinWork", "nested-min-work", "int64_t", /*default=*/"0",
           "A linalg op inside an outlined loop nest whose work (iterations "
           "x body ops) is at least this gets a function of its own, called "
           "from the nest's (0: never)">
  ];
  let dependentDialects = ["mlir::func::FuncDialect",
                           "mlir::LLVM::LLVMDialect",
                           "mlir::linalg::LinalgDialect",
                           "mlir::memref::MemRefDialect",
                           "mlir::scf::SCFDialect"];
}

def EmitEntryPoint : Pass<"memc-emit-entry-point", "mlir::ModuleOp"> {
  let summary = "Add the package's C entry point `memc_entry(void **args)`";
  let description = [{
    Runs on the LLVM dialect after the model function was lowered with the
    bare-pointer memref calling convention: adds
    `llvm.func @memc_entry(!llvm.ptr)` that loads one pointer per argument of
    `@<func>` from the array and calls it. This is the only symbol the
    runtime looks up (docs/package-format.md).
  }];
  let options = [
    Option<"funcName", "func", "std::string", /*default=*/"\"\"",
           "The model function to wrap (default: the module's memc.entry)">
  ];
  let dependentDialects = ["mlir::LLVM::LLVMDialect"];
}

def BufferMapping : Pass<"memc-buffer-mapping", "mlir::ModuleOp"> {
  let summary = "Place every temporary buffer at a planned offset in one arena";
  let description = [{
    Runs on bufferized IR, before deallocation. The schedule is the order of
    the model function's top-level ops; every statically shaped
    `memref.alloc` gets a live interval over it (its first and last use,
    views included) and becomes one buffer of a planning problem for
    `lib/Plan`. The mapper (the learned mallocGame search, never worse than
    the naive, greedy-by-size and best-fit heuristics it runs alongside)
    gives each buffer an offset, and the pass replaces the allocation by a
    `memref.view` into a new last function argument, the arena
    (`memref<N x i8>`, argument attribute `memc.arena`). The view carries the
    offset as `memc.offset`; the module carries `memc.arena_bytes`.

    With `mem-budget` set below the lower bound (the peak of live bytes),
    some buffers live in host memory: a second argument (`memc.host_pool`,
    `memc.host_pool_bytes`) holds them, and around each op that uses one the
    pass copies it into a staging slot of the arena (`memref.copy` before
    the op, and back after an op that writes it). The arena never exceeds
    the budget. A budget below the largest working set of one op (its
    operands and results: `min_budget_bytes`) is refused.

    Graph inputs, outputs and weights are function arguments or globals and
    are not placed. Allocations that cannot be planned (dynamic shapes,
    buffers yielded out of a loop body) stay on the heap.
  }];
  let options = [
    Option<"funcName", "func", "std::string", /*default=*/"\"\"",
           "The model function (default: the module's memc.entry)">,
    Option<"memBudget", "mem-budget", "uint64_t", /*default=*/"0",
           "Arena capacity in bytes (0: no budget, pack as tight as possible)">,
    Option<"verifyPlan", "verify-plan", "bool", /*default=*/"false",
           "Check the plan with the independent verifier; fail on a violation">,
    Option<"seed", "seed", "uint64_t", /*default=*/"0",
           "Seed of the mapper's search (the result is deterministic for a seed)">,
    Option<"planTimeLimit", "plan-time-limit", "double", /*default=*/"1.5",
           "Wall-clock seconds the mapper's searches may take; past them the "
           "best plan found so far (never worse than the heuristics) is kept">
  ];
  let dependentDialects = ["mlir::arith::ArithDialect",
                           "mlir::memref::MemRefDialect"];
}

def ArenaNoAlias : Pass<"memc-arena-noalias", "mlir::ModuleOp"> {
  let summary = "Give each arena buffer its own noalias pointer";
  let description = [{
    After memc-buffer-mapping every temporary is a `memref.view` at a
    constant offset of one arena argument. LLVM cannot tell that two such
    views never overlap while both are live, so it guards vectorized loops
    with overlap checks or gives up, where the same loops on separate heap
    buffers vectorized cleanly (the decoder example ran about 35% slower).

    This pass reaches each arena view through a call to the runtime's
    `memc_rt_arena_view(arena, offset)`, declared with a `llvm.noalias`
    result, so every buffer is a distinct object to LLVM, and calls
    `memc_rt_arena_release(buffer)` after the buffer's last use in its
    block. The release is an opaque call that may read the buffer: no access
    to it can move past that point, and the next buffer placed at the same
    bytes is created after it. This needs one view value per tenant of the
    bytes: memc-buffer-mapping tags each view with a distinct `memc.tenant`
    so that CSE cannot merge two tenants' views. Both calls are out of line
    in the runtime (a few hundred calls per inference).
  }];
  let options = [
    Option<"funcName", "func", "std::string", /*default=*/"\"\"",
           "The model function (default: the module's memc.entry)">
  ];
  let dependentDialects = ["mlir::arith::ArithDialect",
                           "mlir::func::FuncDialect",
                           "mlir::memref::MemRefDialect"];
}

def AttentionToGPU : Pass<"memc-attention-to-gpu", "mlir::func::FuncOp"> {
  let summary = "Generate the fused attention kernel for einsum.attention";
  let description = [{
    Runs on memrefs, before the loop nests are mapped. Every
    `einsum.attention` becomes one `gpu.launch`: a block per tile of queries
    of one batch x head (grid x: query tiles, y: batch), a few lanes per
    query row. Each block copies its query tile into shared memory once,
    then loops over K/V tiles: the block copies the tile into shared memory,
    each lane computes its share of the row's scores, the row maximum and
    the sum of exponentials are combined across the row's lanes with warp
    shuffles, the running numerator (in registers) is rescaled and the
    tile's weights go through shared memory into `weights · V`. The division
    by the denominator comes once, at the end. Scores exist only as one
    [rows, keys] tile per block, so attention needs no memory beyond its
    operands. A causal `masked_from` stops the loop at the block's last
    visible key and masks by index, with no mask tensor; a `bias` is read
    per key and added to each visible score.

    Exponentials are `exp2` of scores pre-scaled by `scale * log2(e)` (PTX's
    `ex2.approx`); arithmetic is f32 with fused multiply-adds. Tile sizes come
    from `memc/Analysis/AttentionKernelTiles.h`, shared with FuseMax, which
    only creates the op when they fit in 48 KiB of static shared memory.

    With `tensor-cores` (the default; sm_80 and later), both products run
    on tensor cores instead, where the head sizes are multiples of 8 and the
    value width is at most 128: `nvgpu.mma.sync` m16n8k8 on TF32 operands,
    each product as three mmas on the operands split into a TF32 part and
    the rest (3xTF32), which keeps f32 accuracy. A warp owns 16 query rows;
    scores and the numerator stay in mma accumulator fragments, and the
    weights move from the accumulator layout into the A operand's with
    index shuffles. Other shapes get the CUDA-core kernel.
  }];
  let options = [
    Option<"tensorCores", "tensor-cores", "bool", /*default=*/"true",
           "Use the tensor-core (mma.sync, 3xTF32) kernel where the head "
           "sizes allow it; needs sm_80 or later">
  ];
  let dependentDialects = ["mlir::gpu::GPUDialect", "mlir::arith::ArithDialect",
                           "mlir::scf::SCFDialect", "mlir::memref::MemRefDialect",
                           "mlir::math::MathDialect", "mlir::LLVM::LLVMDialect",
                           "mlir::nvgpu::NVGPUDialect",
                           "mlir::vector::VectorDialect"];
}

def MapParallelLoopsToGPU : Pass<"memc-map-parallel-loops-to-gpu",
                                 "mlir::func::FuncOp"> {
  let summary = "Turn each top-level loop nest into a gpu.launch";
  let description = [{
    Runs on memrefs after `convert-linalg-to-parallel-loops`. Every
    `scf.parallel` that is not nested in another one becomes a `gpu.launch`
    over its linearized iteration space: one thread per point, the innermost
    loop dimension fastest (consecutive threads touch consecutive elements of
    row-major buffers, so loads and stores coalesce), `block-size` threads a
    block and as many blocks as needed; a bounds check covers the last
    block. Reductions inside (`scf.for` from reduction iterators) stay
    sequential in each thread. Any rank works, unlike mapping loop dimensions
    to the three hardware ids. A top-level `scf.for` nest (a linalg op
    without parallel iterators) runs in a one-thread launch. Index
    arithmetic is done in i32 when the space has fewer than 2^31 points.
  }];
  let options = [
    Option<"blockSize", "block-size", "int64_t", /*default=*/"256",
           "Threads per block (1 to 1024)">
  ];
  let dependentDialects = ["mlir::gpu::GPUDialect", "mlir::arith::ArithDialect",
                           "mlir::scf::SCFDialect"];
}

def ReductionsToGPU : Pass<"memc-reductions-to-gpu", "mlir::func::FuncOp"> {
  let summary = "Reductions as block-parallel kernels (few outputs) or with "
                "their parallel loops outermost";
  let description = [{
    Runs on memrefs before `convert-linalg-to-parallel-loops`, for
    `linalg.generic` ops with reduction iterators and static loop ranges.
    Where the op has fewer than 16,384 output points, at least 32 terms per
    point, and its body is one f32 combiner of the output (`addf`, `mulf`,
    `maximumf`, `minimumf`, `maxnumf`, `minnumf`: `out = combine(out,
    value)`, `out` used nowhere else), it becomes a `gpu.launch` of one block
    per output point: the block's threads (32 to 256, a power of two) stride
    over the reduction space with private accumulators, warp shuffles and
    one shared-memory step combine them, and thread 0 folds the total into
    the output element (which holds the initial value). Other reductions get
    their parallel loops interchanged to the front, so that they become one
    `scf.parallel` around the reduction loops (one thread per output point)
    instead of an `scf.for` around everything, which
    `memc-map-parallel-loops-to-gpu` would run in a single thread. The block
    reduction adds in a different order than the sequential loop: results
    agree to rounding.
  }];
  let dependentDialects = ["mlir::gpu::GPUDialect", "mlir::arith::ArithDialect",
                           "mlir::affine::AffineDialect",
                           "mlir::memref::MemRefDialect",
                           "mlir::scf::SCFDialect"];
}

def AccumulationsToAtomics : Pass<"memc-accumulations-to-atomics",
                                  "mlir::func::FuncOp"> {
  let summary = "Top-level loop nests that only accumulate become parallel "
                "atomic adds";
  let description = [{
    Runs on memrefs before `memc-map-parallel-loops-to-gpu`. A top-level
    perfect `scf.for` nest (constant bounds, no iter_args) whose innermost
    body computes without side effects, loads from other buffers, and ends
    with `M[idx] = M[idx] + v` (the same memref and index values, the load
    used only by that `addf`) becomes one `scf.parallel` over the same space
    whose body ends with `memref.atomic_rmw addf v, M[idx]`: the iterations
    only add into M, so they commute. This is autodiff's scatter-add (the
    gradient of a gather). Loads from M, or from an arena view that may
    alias it (the same base with the same or no `memc.buffer` id), keep the
    nest sequential. Atomic accumulation fixes no order: the sums agree to
    rounding, not bit for bit, from run to run.
  }];
  let dependentDialects = ["mlir::memref::MemRefDialect",
                           "mlir::scf::SCFDialect"];
}

def LowRankGradProjection : Pass<"memc-low-rank-grad-projection",
                                 "mlir::func::FuncOp"> {
  let summary = "Project each GaLore weight's gradient as soon as it is "
                "final";
  let description = [{
    Runs after `memc-apply-optimizer`. For every `optim.adamw` whose layout
    is lowrank with projection svd (GaLore), the projector refresh
    (`optim.svd_projector`) and the projection R of the gradient (a
    contraction marked `optim.grad_projection`) go right after the
    gradient's definition, and the update takes R and the refreshed
    projector (its `projector` operand) where it was. So the full-rank
    gradient dies at its projection even when the weight is read later,
    and only R lives until the update; the report's `grad_bytes` (peak of
    live gradients) counts the full-rank gradient to its projection and R
    to the update. Other layouts are left alone (APOLLO's update scales the
    raw gradient itself).
  }];
  let dependentDialects = ["mlir::linalg::LinalgDialect",
                           "mlir::tensor::TensorDialect",
                           "mlir::arith::ArithDialect",
                           "memc::optim::OptimDialect"];
}

def SVDProjectorToRuntime : Pass<"memc-svd-projector-to-runtime",
                                 "mlir::ModuleOp"> {
  let summary = "GaLore's projector refresh as a call of the CPU runtime";
  let description = [{
    Each `optim.svd_projector` on buffers becomes, under `scf.if (t == 1 ||
    t % period == 0)` with t loaded from its step buffer, a call of
    `memc_rt_svd_projector(g, rows, cols, rank, right, projector, name)`
    (name: the weight's, a constant string, for the warning when the SVD
    does not converge; declared
    here; runtime/cpu/Svd.cpp, LAPACK's sgesdd through OpenBLAS) on
    pointers to the buffers' first elements. One on tensors, or on buffers
    that are not contiguous row-major, is an error.
  }];
  let dependentDialects = ["mlir::func::FuncDialect", "mlir::scf::SCFDialect",
                           "mlir::LLVM::LLVMDialect",
                           "mlir::memref::MemRefDialect",
                           "mlir::arith::ArithDialect"];
}

def MergeGPUModules : Pass<"memc-merge-gpu-modules", "mlir::ModuleOp"> {
  let summary = "Put every outlined kernel into one gpu.module";
  let description = [{
    `gpu-kernel-outlining` makes one `gpu.module` per kernel, and each
    module would serialize to its own PTX text with its own header. memc's
    package holds one PTX module (one `cuModuleLoadData`), so this pass moves
    every kernel into `gpu.module @<name>`, renames each kernel after the
    module it came from (those names are unique) and rewrites the
    `gpu.launch_func` references. Other symbols that outlining copied into
    several modules (clones of the same global) are kept once.
  }];
  let options = [
    Option<"moduleName", "name", "std::string", /*default=*/"\"memc_kernels\"",
           "Name of the merged gpu.module">
  ];
  let dependentDialects = ["mlir::gpu::GPUDialect"];
}

def ScalarOpsToKernels : Pass<"memc-scalar-ops-to-kernels",
                              "mlir::func::FuncOp"> {
  let summary = "Wrap host scalar code in one-iteration loops (kernels)";
  let description = [{
    On the CUDA path every computation runs in a kernel, and a kernel comes
    from a loop. A linalg op with no loop at all (a fill or elementwise
    generic on rank-0 memrefs: a scalar loss, an optimizer's step-count
    coefficients) leaves its loads, arithmetic and stores at the top of the
    function once linalg becomes loops, where the launch plan cannot run
    them. Run right before memc-map-parallel-loops-to-gpu, this pass wraps
    each run of such ops (that stores to memory and whose values are not
    read after it) in an scf.parallel of one iteration: a one-thread kernel.
  }];
  let dependentDialects = ["mlir::scf::SCFDialect"];
}

def LowerKVCaches : Pass<"memc-lower-kv-caches", "mlir::func::FuncOp"> {
  let summary = "Lower kv.append and kv.view to tensor code for the target";
  let description = [{
    A contiguous `kv.append` becomes one `tensor.insert_slice` at the
    position; a paged one writes each row's tokens into the pool blocks its
    block table gives (a loop over batch x head rows and tokens).

    `kv.view` becomes, by default (the CPU), loops over the blocks in use
    (a trip count from the position), each block decoded with einsum ops
    and inserted into a zero view: no cache row past the call's last one is
    read. With `parallel=true` (GPU targets, where a loop with a run-time
    trip count would be a one-thread kernel) it is one `linalg.generic`
    over the whole [BH, capacity, F] view whose points read their cache
    element (through the table, decoded) only when its row is in use and
    are zero otherwise. Both give the same values. `memc-einsum-to-linalg`
    runs this pass first, with `parallel` for `attention-kernel=true`.
  }];
  let options = [
    Option<"parallel", "parallel", "bool", /*default=*/"false",
           "Views as one parallel gather over the capacity (GPU targets)">,
  ];
  let dependentDialects = ["::memc::kv::KVDialect",
                           "::memc::einsum::EinsumDialect",
                           "::mlir::linalg::LinalgDialect",
                           "::mlir::scf::SCFDialect",
                           "::mlir::tensor::TensorDialect",
                           "::mlir::arith::ArithDialect"];
}

def SinkRunTimeValues : Pass<"memc-sink-run-time-values",
                             "mlir::func::FuncOp"> {
  let summary = "Compute values read from input buffers inside the kernels";
  let description = [{
    The launch plan is data: every kernel argument must be a buffer address
    or a constant. A decode program's `position` input makes indices that
    are known only at run time (the KV cache row a step writes, the
    attention's query offset, the position embedding's row): a scalar
    `memref.load` of the input at the top of the function, index arithmetic
    on it, and subviews at the offsets it gives. Run after the loops became
    `gpu.launch` ops and before outlining, this pass clones that chain into
    every launch that uses it, so the kernel reads the input itself (its
    buffer is then the kernel argument), and erases the host copies. Only
    loads of function arguments marked as inputs are moved: the program
    never writes those, so reading them in every thread gives the same
    value. A run-time value still read on the host afterwards (by anything
    but a launch) is an error naming the op.

    ```mlir
    %p = memref.load %position[] : memref<i64>       // host, before
    %i = arith.index_cast %p : i64 to index
    %row = memref.subview %cache[0, %i, 0] [4, 1, 64] [1, 1, 1] : ...
    gpu.launch ... { ... memref.store %v, %row[...] ... }
    ```
    becomes a launch that starts with the load, the cast and the subview.
  }];
  let dependentDialects = ["mlir::gpu::GPUDialect"];
}

def StridedCopiesToLinalg : Pass<"memc-strided-copies-to-linalg",
                                 "mlir::func::FuncOp"> {
  let summary = "Turn memref.copy between strided views into linalg.copy";
  let description = [{
    On the CUDA path a `memref.copy` between two contiguous buffers stays a
    copy (the launch plan's `copy`, one cuMemcpyDtoDAsync); one whose source
    or target is a strided view (the padded interior of a convolution's
    input, a slice) is element-wise work, so it becomes `linalg.copy` and
    then a kernel like every other linalg op.
  }];
  let dependentDialects = ["mlir::linalg::LinalgDialect"];
}

def FillBorders : Pass<"memc-fill-borders", "mlir::func::FuncOp"> {
  let summary = "A padded buffer's fill covers only the border that the "
                "op after it leaves";
  let description = [{
    A constant fill of a whole buffer (`linalg.fill`, or a `linalg.map`
    without inputs yielding a value from outside it) directly followed,
    past views and pure ops, by a linalg op that writes every element of a
    unit-stride subview of that buffer with static offsets and sizes (all
    loops parallel, a permutation as its output map, its old values not
    read, no input a view of the buffer): a padded convolution input's copy,
    a pooling into the next convolution's padded input. The fill becomes
    fills of the border alone, at most two boxes per dimension (before and
    after the interior along it, spanning the interior along the dimensions
    before it and the whole buffer along those after). Every element ends
    with the value it had; the interior is no longer written twice. Other
    fills are left as they are. Runs on buffers after
    `memc-contractions-to-blas`, whose GEMMs write their padded outputs'
    borders themselves.
  }];
  let dependentDialects = ["mlir::linalg::LinalgDialect",
                           "mlir::memref::MemRefDialect"];
}

def LibdeviceToIntrinsics : Pass<"memc-libdevice-to-intrinsics"> {
  let summary = "Replace libdevice calls that PTX has an instruction for";
  let description = [{
    Runs inside a `gpu.module` after `convert-gpu-to-nvvm`, which lowers
    every math op to a call of NVIDIA's libdevice (`__nv_sqrtf`,
    `__nv_fmaf`, ...). For those with an exact PTX instruction (sqrt.rn,
    fma.rn, cvt.rmi/rpi/rzi/rni, abs, min, max, copysign) the call becomes
    the LLVM intrinsic, which the NVPTX backend selects directly, and the
    unused declaration goes away. The PTX then needs no libdevice, so no
    CUDA toolkit at compile time. Other libdevice calls stay (memc reports
    them when it reads the PTX).
  }];
  let dependentDialects = ["mlir::LLVM::LLVMDialect"];
}


//===----------------------------------------------------------------------===//
// Train steps (memc --train)
//===----------------------------------------------------------------------===//

def AppendLoss : Pass<"memc-append-loss", "mlir::ModuleOp"> {
  let summary = "Make the entry return a scalar training loss of its output";
  let description = [{
    The first step of a train step: the entry's outputs are replaced by one
    f32 scalar result, the loss (`memc.output = "loss"`), built from einsum
    ops so that `memc-autodiff` differentiates it like the model.

    * `cross-entropy`: the output's last axis holds class scores; a new
      i64 input `labels` (inserted after the inputs) has the output's shape
      without it. The loss is the mean over positions whose label is not
      `ignore-index` of `logsumexp(x) - x[label]` (PyTorch's
      `F.cross_entropy` on `out.reshape(-1, C)`).
    * `mse`: `labels` has the output's shape and type; the loss is
      `mean((out - labels)^2)`.
    * `output`: the output already is the loss (an f32 scalar); no labels.

    `output` names the graph output the loss reads (default: the only
    one). Fails, naming the output, when it is not there or has the wrong
    type or shape for the loss.
  }];
  let options = [
    Option<"kind", "kind", "std::string", /*default=*/"\"cross-entropy\"",
           "cross-entropy | mse | output">,
    Option<"output", "output", "std::string", /*default=*/"\"\"",
           "The graph output the loss reads (default: the only one)">,
    Option<"ignoreIndex", "ignore-index", "int64_t", /*default=*/"-100",
           "cross-entropy: positions with this label do not count">
  ];
  let dependentDialects = ["::memc::einsum::EinsumDialect",
                           "::mlir::arith::ArithDialect",
                           "::mlir::tensor::TensorDialect"];
}

def Autodiff : Pass<"memc-autodiff", "mlir::ModuleOp"> {
  let summary = "Reverse-mode gradients of the loss for the trainable weights";
  let description = [{
    Differentiates the entry's one result, an f32 scalar loss, with respect
    to each `memc.trainable` weight argument, and appends one result per
    such weight holding its gradient (`memc.gradient = "name"`). The
    backward ops are einsum and tensor ops after the forward ones, in
    reverse order: a contraction's gradient is a contraction, a map
    action's is its derivative times the incoming gradient, a max-reduction
    sends the gradient to its argmax, a gather's is a scatter-add
    (`scf.for` over the gathered elements). Only active values are
    differentiated (those that depend on a trainable weight and that the
    loss depends on). An op on an active value without a gradient rule is an
    error naming the op.
  }];
  let dependentDialects = ["::memc::einsum::EinsumDialect",
                           "::mlir::arith::ArithDialect",
                           "::mlir::scf::SCFDialect",
                           "::mlir::tensor::TensorDialect"];
}

def UnrollWindowTaps : Pass<"memc-unroll-window-taps", "mlir::func::FuncOp"> {
  let summary = "Short windowed reductions (depthwise convolutions, pooling) "
                "as parallel ops over the window's taps";
  let description = [{
    A `linalg.generic` on tensors that reads an input through a window
    (`x[c, o0 + k0, o1 * 2 + k1]`: a result moved by a parallel and a
    reduction loop), whose reduction loops run at most `max-taps`
    iterations in all and whose result indexes every parallel loop plainly
    (a depthwise convolution, a pooling) becomes an op with no reduction
    loops: each tap is an operand of its own, the input read at that tap
    (`x[c, o0 + 1, o1 * 2 + 2]`), and the body folds the taps in the loop
    nest's order, starting from the value the output was filled with (or
    from the output itself, read as one more input). The output is no
    longer read, so its fill goes, and `memc-fuse-elementwise` can fuse the
    consumer (a bias and a clipped ReLU) into it: the convolution's result
    is written once, already activated, instead of zero-filled, summed into
    and read back. When the op's only user is a `tensor.collapse_shape`
    that drops unit dimensions, the op produces the collapsed tensor itself.
    Each element folds the same terms in the same order, so results do not
    change. Ops with `linalg.index`, or with a body that is not elementwise
    scalar ops, are left as they are.
  }];
  let options = [
    Option<"maxTaps", "max-taps", "int64_t", /*default=*/"25",
           "Most reduction iterations (taps) an op may have to be unrolled">,
  ];
  let dependentDialects = ["mlir::linalg::LinalgDialect",
                           "mlir::tensor::TensorDialect"];
}

def DepthwiseLoopOrder
    : Pass<"memc-depthwise-loop-order", "mlir::func::FuncOp"> {
  let summary = "Depthwise convolutions with the output row innermost";
  let description = [{
    A windowed `mul reduce add` contraction whose plain operand has no free
    rank (a depthwise convolution: one filter per channel, which
    `memc-conv-to-gemm` leaves as loops) reduces over only the window's few
    taps, so in the importer's rank order ([n, g, m, c, o0, o1, k0, k1]) its
    innermost loops are 3-iteration reductions into one element, which do
    not vectorize. This pass permutes the op's ranks (its loop order, not
    its meaning) so the result's last rank comes last, after the
    reductions: every tap becomes one multiply-add over a row of outputs
    (contiguous, or strided in the input for a strided convolution), which
    LLVM vectorizes into FMAs. Each output element still sums the same
    products in the same order. Only windows of at most 64 taps and rows
    of at least 8 outputs move; a weight gradient, whose reductions run
    over the image, keeps its order.
  }];
  let dependentDialects = ["::memc::einsum::EinsumDialect"];
}

def CopyLoopOrder : Pass<"memc-copy-loop-order", "mlir::func::FuncOp"> {
  let summary = "Permuting copies with the result's ranks outermost first";
  let description = [{
    An einsum's ranks are its loop order once it is a `linalg.generic`. The
    importer names a Transpose's ranks in its input's order, so the copy
    reads its input in order and scatters its stores: attention's K^T
    (`[t, h, d] -> [h, d, t]`) wrote each element 197 floats from the
    last. This pass permutes the ranks of every one-input einsum without
    reductions whose result map is a permutation (a transpose, with or
    without a unary `compute`) into the result's order: the innermost loop
    then writes a contiguous row, which LLVM vectorizes, and the loads are
    the strided ones. Each element is computed on its own, so nothing else
    changes. Einsums with several inputs or reductions keep their order.
  }];
  let dependentDialects = ["::memc::einsum::EinsumDialect"];
}

def ConvToGemm : Pass<"memc-conv-to-gemm", "mlir::ModuleOp"> {
  let summary = "Windowed contractions (convolutions) as im2col plus one GEMM";
  let description = [{
    An `einsum.einsum` `mul reduce add` of two operands of which one is read
    through a window map (`x[n, c, o0 + k0, o1 + k1]`, a convolution or its
    weight gradient) and the other and the result through plain ranks
    becomes: a copy of the windowed operand with one axis per rank it reads,
    as [batch, its free ranks, contracted ranks] (im2col); the plain
    operand as it lies when it is already a GEMM operand ([batch,
    contracted, free] or [batch, free, contracted]), else a reordering copy;
    one contraction of the two ([batch, M, N], which
    memc-contractions-to-blas hands to BLAS); and a reordering copy of the
    result where the op's order is neither of the GEMM's two. Ranks of
    extent 1 are dropped from the operands (collapse_shape) and restored in
    the result (expand_shape), so an NCHW convolution at batch 1 needs no
    transpose. An op whose im2col copy would exceed `max-bytes` (under
    `--mem-budget`, an eighth of the budget) is made a chunk of a batch
    rank at a time inside an `einsum.iterate`, each chunk's copy within
    `max-bytes`: a forward convolution's images (each chunk's result
    written into its rows) or a weight gradient's (the batch is contracted:
    the chunks' GEMMs summed). An op that reduces a rank only one operand
    reads, whose im2col copy would exceed `max-bytes` with no batch rank to
    chunk, that makes fewer than `min-macs`
    products (BLAS gains nothing there that pays for the copy), or whose
    plain operand has no free rank (a depthwise convolution, whose GEMMs
    would be matrix-vector products; `memc-depthwise-loop-order` orders its
    loops instead) is left as it is. A contraction with a small operand that is a strided
    slice read with 0 on its unit dims (a kernel's offset [m, c, 0, 0], as
    a convolution's input gradient reads it per offset) gets that operand
    as a compact copy [m, c], after which it is a GEMM batched over the
    other operand's leading rank (GemmMatch's broadcast batch).

    With `keep-weight-windows` (the CPU pipeline), a forward convolution
    of an inference program that would need an im2col copy is left whole
    when memc-contractions-to-blas (packed-weights) takes it as
    `memc_rt_sgemm_packed_a_window`: f32, no batch rank but those of
    extent 1, its plain operand a weight argument of the entry lying as
    [free, contracted] (or transposed), its result as [plain operand's
    free ranks, window's free ranks], and a window linear in the ranks (no
    mod or floordiv). That kernel packs the input straight from the window
    as it goes, so neither the copy's time nor its memory is spent.
  }];
  let options = [
    Option<"maxBytes", "max-bytes", "int64_t", /*default=*/"64 << 20",
           "Largest im2col copy made, in bytes">,
    Option<"minMacs", "min-macs", "int64_t", /*default=*/"2 << 20",
           "Fewest multiply-adds of a rewritten op">,
    Option<"keepWeightWindows", "keep-weight-windows", "bool",
           /*default=*/"false",
           "Leave an inference program's convolutions of weights whole, for "
           "memc_rt_sgemm_packed_a_window">
  ];
  let dependentDialects = ["::memc::einsum::EinsumDialect",
                           "::mlir::tensor::TensorDialect"];
}

def RecomputePointwise : Pass<"memc-recompute-pointwise", "mlir::ModuleOp"> {
  let summary = "Recompute cheap forward values in the backward instead of keeping them";
  let description = [{
    Runs on a train step after memc-autodiff. The forward is what the loss
    (the entry's first result) depends on; a forward value that the
    backward reads is kept from the forward to its last backward read, and
    those values are most of a step's peak memory. For each kept value made
    by a pointwise `einsum.einsum` (no reduced rank), in forward order, the
    pass looks for its cone of pointwise ops and reshapes down to values
    the backward can read anyway: kept values, arguments, constants, or a
    value at most 1/8 of its size (which then becomes kept). When the cone
    has at most `max-cone-ops` ops, it is cloned right before the value's
    first backward reader (each clone marked `memc.recomputed`), the
    backward reads the clone, and the value dies in the forward. A
    decomposed GELU thus keeps its input instead of four intermediates of
    the same size, as AOTAutograd's default partitioner does for pointwise
    ops. The clones compute what the forward computed, bit for bit.
  }];
  let options = [
    Option<"maxConeOps", "max-cone-ops", "unsigned", /*default=*/"16",
           "Most ops cloned to recompute one value">
  ];
  let statistics = [
    Statistic<"numRecomputed", "recomputed-ops",
              "Forward ops cloned into the backward">
  ];
  let dependentDialects = ["::memc::MemcDialect"];
}

def ActivationRecompute : Pass<"memc-activation-recompute", "mlir::ModuleOp"> {
  let summary = "Keep, recompute or swap each saved activation to fit a budget";
  let description = [{
    Runs on a train step (after memc-autodiff and the optimizer's updates)
    when it has a memory budget. Every forward value the backward reads (a
    saved activation) is kept, recomputed in the backward, or left to the
    host pool; the choice is the least extra time at which the step's
    estimated peak (the values live at each top-level op, views counted
    with what they view) fits `budget` bytes: Checkmate's problem with
    POET's swap choice (lib/Plan/Remat.h), solved exactly with COIN-OR CBC
    when the step has at most `milp-max-values` saved values and the MILP
    finishes within `time-limit` seconds, otherwise by the greedy.
    `solver` forces one: `milp`, `greedy`, `chen` (Chen's sqrt(n)
    segments), `recompute-all`, `swap-all` (every saved value that can be
    swapped is), or `keep`.

    Costs come from a model of the `target` (`cpu` or `cuda`): FLOPs and
    bytes per op against the target's rates, and host copies at the
    target's transfer rate (`cpu`: a memcpy within DRAM, 12 GB/s; `cuda`:
    pinned host memory over PCIe, 25 GB/s). A recomputed value's op (and
    the links of its
    chain whose inputs are not there) is cloned right before its first
    backward reader, marked `memc.recomputed`, and the backward reads the
    clone, through views where it read views. Swaps are carried out by
    memc-activation-swap, which runs next. The decision is recorded on the
    module (`memc.remat`) and, per saved value, on its op
    (`memc.remat_choice`), which memc-activation-swap reads.
  }];
  let options = [
    Option<"budget", "budget", "int64_t", /*default=*/"0",
           "Device bytes the step's activations must fit (0: no budget)">,
    Option<"solver", "solver", "std::string", /*default=*/"\"auto\"",
           "auto, milp, greedy, chen, recompute-all, swap-all or keep">,
    Option<"timeLimit", "time-limit", "double", /*default=*/"1.5",
           "Seconds the MILP may take before the greedy decides">,
    Option<"milpMaxValues", "milp-max-values", "int64_t", /*default=*/"400",
           "Most saved values the MILP is tried on">,
    Option<"target", "target", "std::string", /*default=*/"\"cpu\"",
           "Cost model: cpu or cuda">
  ];
  let statistics = [
    Statistic<"numRecomputed", "recomputed-ops",
              "Forward ops cloned into the backward">
  ];
  let dependentDialects = ["::memc::MemcDialect"];
}

def ActivationSwap : Pass<"memc-activation-swap", "mlir::ModuleOp"> {
  let summary = "Copy swapped activations to the host pool and back";
  let description = [{
    Carries out the swaps memc-activation-recompute decided: for every
    forward op marked `memc.remat_choice = "swap"`, each result the
    backward reads is copied to the host pool (`memc.swap_out`) right after
    its last forward reader, and copied back (`memc.swap_in`) right before
    each backward reader, which reads the copy (through the same views
    where it read views, rebuilt on the copy). The device buffer then lives
    from its op to its last forward reader and, per backward reader, from
    the copy to that reader: the staging the decision's model counts.
    Backward readers with nothing but pointwise einsums between them share
    one copy: memc-fuse-elementwise makes them one loop, which would
    otherwise read several copies of the value at once.

    Numbers do not change: the copies are exact and no op moves. A value
    whose backward readers do not all come after its forward readers in
    the schedule is left as it is: its `memc.remat_choice` becomes
    `"keep"`, and the `skipped-values` statistic counts it.

    Both copies become `memref.copy` ops between the arena and the host
    pool: a memcpy on the CPU; on CUDA a `spill` or `fetch` on the copy
    stream, which the launch plan moves up (fetches) and waits for only
    before the first step that computes on its bytes.
  }];
  let statistics = [
    Statistic<"numSwapped", "swapped-values",
              "Saved activations moved to the host pool">,
    Statistic<"numSwapIns", "swap-ins",
              "Copies back, one per backward reader">,
    Statistic<"numSkipped", "skipped-values",
              "Values marked swap whose readers interleave">
  ];
  let dependentDialects = ["::memc::MemcDialect"];
}

def ApplyOptimizer : Pass<"memc-apply-optimizer", "mlir::ModuleOp"> {
  let summary = "Turn gradient results into in-place optimizer updates";
  let description = [{
    For every `memc.gradient` result of the entry: adds the optimizer's
    state arguments of that weight (`memc.state`, zero at the first step;
    momentum: one, AdamW: two), the step-count argument (`memc.step`, once),
    and an `optim.sgd` or `optim.adamw` update placed as early as the
    gradient and the weight's last forward read allow, so gradients do not
    all live at once. The gradient result is replaced by the updated weight
    and states, each marked `memc.overwrites = N` (the argument it
    replaces), which bufferization writes in place. Sets `memc.train`.
    Hyperparameters follow PyTorch's torch.optim.SGD and AdamW.

    `adam8bit` is AdamW with both moments of a weight of at least 4096
    elements stored blockwise in 8 bits (bitsandbytes): per moment an i8
    tensor of the weight's element count (indices into a 256-entry dynamic
    map, signed for the first moment, unsigned for the second) and one f32
    absmax per `block` elements, the update carrying
    `#optim.layout<blockwise8, i8, block = B>`; smaller weights keep f32
    moments.

    `apollo` is AdamW whose 2-D weights that no gather reads (an embedding
    table's rows are read by index) keep their moments in a rank-`rank`
    random projection (APOLLO): `#optim.layout<lowrank, f32, rank, period,
    scale, projection = random>` with a seed from the weight's name; the
    other weights take AdamW at full rank.

    `galore` is GaLore's own AdamW (`galore_form` on every update): its 2-D
    weights that no gather reads keep their moments in a rank-`rank`
    projection from the gradient's SVD, refreshed at the first step and
    every `period` steps (`#optim.layout<lowrank, f32, rank, period, scale,
    projection = svd>`; the projector is a third state, `NAME.projector`);
    the other weights take the same form at full rank.

    `layouts` (with an Adam-family optimizer) chooses per weight: the
    first rule whose regex matches the whole name gives that weight's layout
    (its own block, or rank, period and scale), the step's hyperparameters
    staying the optimizer's; a weight no rule matches takes the optimizer's
    own. A rule that matches no trainable weight, or a projected layout for
    a weight that is not 2-D or that a gather reads, is an error.
  }];
  let options = [
    Option<"optimizer", "optimizer", "std::string", /*default=*/"\"sgd\"",
           "sgd | adamw | adam8bit | apollo | galore">,
    Option<"block", "block", "int64_t", /*default=*/"2048",
           "adam8bit: elements per absmax block">,
    Option<"rank", "rank", "int64_t", /*default=*/"128",
           "apollo, galore: projection rank">,
    Option<"period", "period", "int64_t", /*default=*/"200",
           "apollo, galore: steps between projector refreshes">,
    Option<"scale", "scale", "double", /*default=*/"1.0",
           "apollo, galore: factor of the projected update">,
    Option<"layouts", "layouts", "std::string", /*default=*/"",
           "Per-weight layouts (--optimizer-layouts): 'LAYOUT[:k=v,...] "
           "REGEX' joined by ';', LAYOUT adamw | adam8bit | apollo | galore; "
           "the first rule whose regex matches a weight's whole name wins">,
    Option<"lr", "lr", "double", /*default=*/"1e-3", "Learning rate">,
    Option<"momentum", "momentum", "double", /*default=*/"0",
           "sgd: momentum (0: none, no state)">,
    Option<"nesterov", "nesterov", "bool", /*default=*/"false",
           "sgd: Nesterov momentum">,
    Option<"beta1", "beta1", "double", /*default=*/"0.9", "adamw: beta1">,
    Option<"beta2", "beta2", "double", /*default=*/"0.999", "adamw: beta2">,
    Option<"eps", "eps", "double", /*default=*/"1e-8", "adamw: epsilon">,
    Option<"weightDecay", "weight-decay", "double", /*default=*/"0",
           "Weight decay (sgd: L2 added to the gradient; adamw: decoupled)">,
    Option<"loss", "loss", "std::string", /*default=*/"\"\"",
           "The loss's spelling for memc.train (informational)">,
    Option<"spec", "spec", "std::string", /*default=*/"\"\"",
           "The optimizer's spelling for memc.train (informational)">
  ];
  let dependentDialects = ["::memc::optim::OptimDialect"];
}

def LowerAttention : Pass<"memc-lower-attention", "mlir::func::FuncOp"> {
  let summary = "einsum.attention and attention_grad -> tiled einsum loops";
  let description = [{
    The CPU form of the fused attention ops a train step has (FuseMax's
    kernel form before memc-autodiff, and its backward): scf.for loops over
    query tiles and K/V tiles whose bodies are einsum ops on [batch, tile,
    tile] scores. The forward is the online softmax; the backward rebuilds
    each tile's probabilities from the row log-sum-exp (FlashAttention), so
    neither direction holds a [queries, keys] tensor. Tiles are the largest
    divisors of the sequence lengths up to 64 queries and 128 keys.
  }];
  let dependentDialects = ["::mlir::scf::SCFDialect",
                           "::mlir::tensor::TensorDialect",
                           "::mlir::arith::ArithDialect"];
}

def DropOverwrittenResults : Pass<"memc-drop-overwritten-results",
                                  "mlir::ModuleOp"> {
  let summary = "Drop the results a train step wrote into its arguments";
  let description = [{
    After one-shot bufferization, each entry result marked
    `memc.overwrites = N` must be argument N's own buffer: the update was
    written in place (`memc-lower-optimizer` makes the weight and states the
    update's destinations). Those results are then dropped, so the runtime
    passes one buffer per weight and state and reads the updated values
    there. A result that is another buffer means bufferization had to copy
    (something read the old value after the update): an error naming the
    argument, never a silent second copy of the weights.
  }];
}

def LowerOptimizer : Pass<"memc-lower-optimizer", "mlir::func::FuncOp"> {
  let summary = "optim update ops -> one in-place linalg.generic each";
  let description = [{
    Each `optim.sgd` / `optim.adamw` becomes one elementwise linalg.generic
    whose outputs are the weight and state operands themselves
    (destination-passing style), so one-shot bufferization updates them in
    place, and whose scalar coefficients (AdamW's bias corrections, from the
    step count) are computed once before it.
  }];
  let dependentDialects = ["::mlir::linalg::LinalgDialect",
                           "::mlir::arith::ArithDialect",
                           "::mlir::math::MathDialect",
                           "::mlir::tensor::TensorDialect"];
}

//===----------------------------------------------------------------------===//
// Decoding (memc --decode)
//===----------------------------------------------------------------------===//

def DeriveDecode : Pass<"memc-derive-decode", "mlir::ModuleOp"> {
  let summary = "A causal LM's full-sequence forward -> a program over a few "
                "rows at a run-time position, with KV caches";
  let description = [{
    Runs on a plain causal language model after
    `memc-fusemax-attention{kernel=true}`: one full-sequence forward of
    fixed length T whose only input is the token ids [batch, T] (integers)
    and whose attention blocks are `einsum.attention` ops. It first proves
    the model causal: starting from the ids' sequence rank, every op must
    be row-wise in it (an einsum that keeps the rank in its result and
    indexes every row-carrying operand by it alone; reshapes that keep it
    a dimension of its own; gathers that read row r of a row-carrying
    tensor at output row r) except `einsum.attention` under a causal
    triangle (`masked_from`), whose keys may come from earlier rows. A
    value computed from rows that are not its own (a reduction over the
    sequence, an attention without a causal mask, a shifted read) is
    refused with an error naming the op and its ONNX node.

    Then it rewrites the entry into the program a decoder calls: `rows`
    rows of every sequence (ids [batch, rows]) starting at the rank-0 i64
    input `position`, so every row-carrying tensor has `rows` rows instead
    of T; weights indexed by the sequence rank (a learned position table)
    are sliced at `position`. Each attention's keys and values go into two
    new arguments, KV caches of T rows (`memc.kv_cache`, in the layout the
    attention reads: [batch x heads, T, head_dim]) at rows `position`
    onwards, through results that overwrite them in place
    (`memc.overwrites`), and the attention reads the caches with
    `query_offset = position`, so a row attends to every cached row before
    it and its own. `rows = 1` is the one-token decode step; more rows is a
    prefill chunk. Sets `memc.decode = {rows, capacity = T}`.

    With `page = N` the caches are paged (PagedAttention): each cache is a
    pool of [N, head_dim] blocks, one per N rows of one batch x head row
    (`BH x T / N` of them, plus a last one that takes the writes of rows
    no block was given to), and the input `block_table` [BH, T / N] (i64)
    maps each row's logical blocks to pool blocks; the runtime hands out
    blocks as the sequences grow, so a cache holds the blocks in use, not
    its capacity. The rows are written through the table; the attention
    reads a [BH, T, head_dim] view gathered from the blocks in use (the
    rest zero, and never read past the last visible row).

    With `kv-dtype = f16` the caches hold f16 (rounded to nearest even on
    write); with `i8`, int8 codes with one f32 scale per cached row of each
    batch x head row (its largest magnitude / 127, over the head
    dimension), kept in a second cache per cache (`key.L.scale`,
    [BH, T] or the pool's [blocks, N]). The attention then reads an f32
    view decoded from the blocks in use (contiguous caches: blocks of up to
    64 rows), never the whole capacity.
  }];
  let options = [
    Option<"rows", "rows", "int64_t", /*default=*/"1",
           "Sequence rows per call (1: the one-token decode step; more: a "
           "prefill chunk); must divide the model's sequence length">,
    Option<"page", "page", "int64_t", /*default=*/"0",
           "Paged caches in blocks of this many rows (0: contiguous); must "
           "divide the model's sequence length">,
    Option<"kvDtype", "kv-dtype", "std::string", /*default=*/"\"f32\"",
           "The caches' element type: f32, f16, or i8 (with one f32 scale "
           "per row of each batch x head row)">,
  ];
  let dependentDialects = ["::memc::kv::KVDialect",
                           "::memc::einsum::EinsumDialect",
                           "::mlir::scf::SCFDialect",
                           "::mlir::tensor::TensorDialect",
                           "::mlir::arith::ArithDialect",
                           "::memc::MemcDialect"];
}

def BindPastKV : Pass<"memc-bind-past-kv", "mlir::ModuleOp"> {
  let summary = "An export's past key/value inputs and present outputs -> "
                "in-place appends into KV caches";
  let description = [{
    Runs, instead of `memc-derive-decode`, on an export for generation
    after `memc-fusemax-attention{kernel=true}`: an entry whose inputs are
    the token ids [batch, rows] (integers), at most one more integer input
    (positions, whose last dimension is the rows), and past keys and values
    (`memc.past_kv = AXIS`, marked by the importer under `--decode`), each
    of which the model concatenates with the call's new rows along AXIS
    (`tensor.insert_slice` of the past, then of the new rows, into a
    `tensor.empty`) into a graph output, the present. The importer fixed
    the past's length to `capacity - rows`, so a present has the caches'
    capacity of rows.

    Every present must be read only by the return and, through
    permutations and reshapes that leave it `[batch x heads, capacity,
    head_dim]`, as the keys or values of an `einsum.attention` whose keys
    and values both come from pasts. Such an attention must be causal from
    the past on: unmasked with one query row (a one-token export), or
    masked from `capacity - rows + 1` (a causal mask over past and new
    rows). Anything else is refused, naming the op.

    The rewrite is what `memc-derive-decode` makes of a plain LM: the
    program takes the rank-0 i64 input `position` (and `block_table` for
    paged caches); the new rows of every present are written at `position`
    into a KV cache argument (`memc.kv_cache`, named after the past) that a
    result overwrites in place; the attention reads the cache (or the view
    decoded from its blocks in use) with `query_offset = position` under the
    causal mask, so rows past the ones written are never read. The position
    input becomes `position + i` along its last dimension; the past inputs
    and the present outputs disappear. Sets `memc.decode = {rows,
    capacity}`. The caches' layout and element type options are
    `memc-derive-decode`'s.
  }];
  let options = [
    Option<"page", "page", "int64_t", /*default=*/"0",
           "Paged caches in blocks of this many rows (0: contiguous); must "
           "divide the capacity">,
    Option<"kvDtype", "kv-dtype", "std::string", /*default=*/"\"f32\"",
           "The caches' element type: f32, f16, or i8 (with one f32 scale "
           "per row of each batch x head row)">,
  ];
  let dependentDialects = ["::memc::kv::KVDialect",
                           "::memc::einsum::EinsumDialect",
                           "::mlir::scf::SCFDialect",
                           "::mlir::tensor::TensorDialect",
                           "::mlir::arith::ArithDialect",
                           "::memc::MemcDialect"];
}

//===----------------------------------------------------------------------===//
// Parallel loops on the CPU
//===----------------------------------------------------------------------===//

def ParallelLanes : Pass<"memc-parallel-lanes", "mlir::ModuleOp"> {
  let summary = "Lanes of chunks (memc-micro-batch lanes=N) on the runtime's "
                "threads";
  let description = [{
    Runs after `memc-outline-kernels`, on buffers. Each `scf.forall` of the
    entry function marked `memc.micro_batch` (N lanes that each run a loop
    over their own chunks of a batch, with buffers of their own) becomes a
    private function of the values its body reads and two index arguments
    `lo` and `hi`, which runs lanes [lo, hi) one after another, and a call
    of the declaration `<function>__parallel` with N as its last argument,
    which `memc-parallel-calls-to-runtime` turns into
    `memc_rt_parallel_for`: the lanes run on the runtime's threads. The
    kernels a lane calls run on the thread that runs the lane. A body that
    reads a value no bare pointer or scalar can carry (a view with a dynamic
    offset made outside the lanes) runs its lanes in order instead, in an
    `scf.for`.
  }];
  let options = [
    Option<"funcName", "func", "std::string", /*default=*/"\"\"",
           "The entry function (default: the module's memc.entry)">,
  ];
  let dependentDialects = ["mlir::scf::SCFDialect",
                           "mlir::arith::ArithDialect",
                           "mlir::func::FuncDialect",
                           "mlir::LLVM::LLVMDialect"];
}

def ParallelKernels : Pass<"memc-parallel-kernels", "mlir::ModuleOp"> {
  let summary = "Split the outer parallel loop of heavy outlined kernels over "
                "the runtime's threads";
  let description = [{
    Runs after `memc-outline-kernels`, on buffers, before linalg becomes
    loops. A kernel whose body is one linalg op (beside constants and arena
    views) whose work (its iterations times the ops of its body) is at
    least `min-work` and that has a parallel loop every operand indexes
    plainly (an operand that reads it through an expression, a window for
    instance, rules the loop out), the outermost of at least 4 iterations
    (else the longest of at least 2), gets two index arguments `lo` and
    `hi`: its operands are sliced to rows [lo, hi) of that loop and
    `linalg.index` of it is shifted by `lo`. Its calls become calls of the
    declaration `<kernel>__parallel`, with the loop's extent as the last
    argument, which `memc-parallel-calls-to-runtime` turns into
    `memc_rt_parallel_for`. Each output element is computed by the same code
    on whichever thread runs its rows, so results do not depend on the
    thread count, bit for bit. The calls may sit in the model function or in
    another kernel: a loop nest's heavy ops are kernels of their own
    (`memc-outline-kernels` `nested-min-work`), called from the nest's.
  }];
  let options = [
    Option<"minWork", "min-work", "int64_t", /*default=*/"131072",
           "Iterations x body ops below which a kernel stays serial">,
  ];
  let dependentDialects = ["mlir::memref::MemRefDialect",
                           "mlir::arith::ArithDialect",
                           "mlir::func::FuncDialect"];
}

def ParallelCallsToRuntime : Pass<"memc-parallel-calls-to-runtime",
                                  "mlir::ModuleOp"> {
  let summary = "Calls of `<kernel>__parallel` -> memc_rt_parallel_for";
  let description = [{
    On the LLVM dialect (bare-pointer calling convention), after
    `memc-parallel-kernels`: each call of a declaration `K__parallel(args...,
    extent)` stores its arguments into an 8-byte slot each of a stack
    block and calls `memc_rt_parallel_for(@K__trampoline, block, extent)`;
    the trampoline, made once per kernel, loads the arguments back and calls
    `K(args..., lo, hi)` for the rows [lo, hi) the runtime hands it.
  }];
  let dependentDialects = ["mlir::LLVM::LLVMDialect"];
}

#endif // MEMC_TRANSFORMS_PASSES_TD
