//===- Passes.td - passes over the program interface -------*- tablegen -*-===//
#ifndef MEMC_DIALECTS_MEMC_TRANSFORMS_PASSES_TD
#define MEMC_DIALECTS_MEMC_TRANSFORMS_PASSES_TD

include "mlir/Pass/PassBase.td"

def BindParameters : Pass<"memc-bind-parameters", "mlir::ModuleOp"> {
  let summary = "Turn the entry's parameter loads into weight arguments";
  let description = [{
    The importer keeps each large initializer in the module as a private
    `ml_program.global` (its bytes a `dense_resource` blob) that the entry
    reads with `ml_program.global_load_const`. The runtime passes weights
    as pointers into weights.bin, so this pass gives the entry one argument
    per parameter it loads, after its existing arguments and in the order
    of the globals, marked `memc.weight = "name"` and bound to its global
    by `memc.parameter = @global`; the facts a global carries
    (`memc.upper_triangle`) move to the argument, where FuseMax reads them.
    A trainable parameter (a mutable global read with
    `ml_program.global_load`) becomes a `memc.trainable` weight argument.
    The globals stay: the package writer reads their bytes.
  }];
  let dependentDialects = ["::memc::MemcDialect"];
}

def BindParameterStores
    : Pass<"memc-bind-parameter-stores", "mlir::ModuleOp"> {
  let summary = "Turn the entry's parameter stores into in-place results";
  let description = [{
    A train step updates some parameters by other means than its optimizer:
    the importer writes a training-mode BatchNormalization's new running
    mean and variance into their mutable globals with
    `ml_program.global_store`. Once memc-bind-parameters has bound the
    global to a weight argument, this pass makes each store a result of
    the entry marked `memc.overwrites = "name"` (after the existing
    results), so that bufferization writes the value into that argument's
    buffer, as it does with updated weights and optimizer states; the
    runtime then keeps it between steps and saves it with the model.

    Runs after the train-step passes (memc-append-loss, memc-autodiff and
    memc-apply-optimizer rebuild the entry's results). The value is
    returned through `bufferization.materialize_in_destination` into the
    argument, placed before the return, after every read of the old value.
    Refused: a store outside the entry, to a global with no bound argument,
    to a trainable weight (the optimizer writes those), or two stores to
    one global.
  }];
  let dependentDialects = ["::memc::MemcDialect",
                           "mlir::bufferization::BufferizationDialect"];
}

def DropUnusedParameters
    : Pass<"memc-drop-unused-parameters", "mlir::ModuleOp"> {
  let summary = "Remove weight arguments nothing reads, and their globals";
  let description = [{
    After rewrites that make a weight dead (FuseMax replaces a causal mask
    by an index comparison), the weight need neither be shipped nor
    uploaded: its entry argument is erased, then every parameter global
    that nothing references any more.
  }];
  let statistics = [
    Statistic<"droppedBytes", "dropped-bytes",
              "Bytes of parameters dropped">,
  ];
  let dependentDialects = ["::memc::MemcDialect"];
}

def StripParameterData : Pass<"memc-strip-parameter-data", "mlir::ModuleOp"> {
  let summary = "Remove the parameter globals before code generation";
  let description = [{
    Once the weights are bound to entry arguments, their bytes go to
    weights.bin (the driver reads them before this pass), not into the
    generated code: the parameter globals and the `memc.parameter`
    bindings are removed. A parameter still loaded in the code is an error.
  }];
  let dependentDialects = ["::memc::MemcDialect"];
}

#endif // MEMC_DIALECTS_MEMC_TRANSFORMS_PASSES_TD
