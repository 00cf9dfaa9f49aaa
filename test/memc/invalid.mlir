// The memc dialect refuses interface attributes of the wrong kind or place.
// RUN: memc-opt %s -split-input-file -verify-diagnostics

// expected-error @+1 {{'memc.arena_bytes' must be a non-negative integer, got -1 : i64}}
module attributes {memc.arena_bytes = -1 : i64} {}

// -----

// expected-error @+1 {{'memc.entry' names @missing, which is not a function here}}
module attributes {memc.entry = @missing} {}

// -----

module {
  // expected-error @+1 {{'memc.arena_bytes' belongs on the module}}
  func.func private @f() attributes {memc.arena_bytes = 0 : i64}
}

// -----

// expected-error @+1 {{'memc.input' must be a string, got unit}}
func.func private @f(memref<4xf32> {memc.input})

// -----

// expected-error @+1 {{'memc.arena' must be a unit attribute, got "a"}}
func.func private @f(memref<4xi8> {memc.arena = "a"})

// -----

// expected-error @+1 {{'memc.weight' is not a result attribute (results take 'memc.output', 'memc.gradient' and 'memc.overwrites')}}
func.func private @f() -> (memref<4xf32> {memc.weight = "w"})

// -----

// expected-error @+1 {{'memc.arena_size' is not an argument attribute of the memc dialect}}
func.func private @f(memref<4xi8> {memc.arena_size = 4 : i64})

// -----

// expected-error @+1 {{'memc.upper_triangle' must be {diagonal = K : i64, value = V : f64[, below = B : f64]}}}
func.func private @f(tensor<4x4xf32> {memc.upper_triangle = {diagonal = 1 : i64}})

// -----

// expected-error @+1 {{a trainable parameter must be mutable}}
ml_program.global private @w(dense<1.0> : tensor<4xf32>) : tensor<4xf32> {memc.weight = "w", memc.trainable}

// -----

// expected-error @+1 {{'memc.fusemax_cascades' entries must be {form = "cascade"|"kernel", rank, query_tile, kv_tile, passes_before, passes_after, causal_skip[, lanes >= 1]}}}
module attributes {memc.fused_attention = 1 : i64, memc.fusemax_cascades = [{form = "loops", rank = "m", query_tile = 8 : i64, kv_tile = 4 : i64, passes_before = 3 : i64, passes_after = 1 : i64, causal_skip = false}]} {}

// -----

// A cascade runs in at least one lane.
// expected-error @+1 {{'memc.fusemax_cascades' entries must be {form = "cascade"|"kernel", rank, query_tile, kv_tile, passes_before, passes_after, causal_skip[, lanes >= 1]}}}
module attributes {memc.fused_attention = 1 : i64, memc.fusemax_cascades = [{form = "cascade", rank = "m", query_tile = 8 : i64, kv_tile = 4 : i64, passes_before = 3 : i64, passes_after = 1 : i64, causal_skip = false, lanes = 0 : i64}]} {}

// -----

func.func @f(%a: memref<64xi8>) {
  %c0 = arith.constant 0 : index
  // expected-error @+1 {{'memc.offset' must be a non-negative integer, got -8 : i64}}
  %v = memref.view %a[%c0][] {memc.offset = -8 : i64} : memref<64xi8> to memref<4xf32>
  return
}

// -----

// expected-error @+1 {{'memc.tile' is not an attribute of the memc dialect}}
func.func private @f() attributes {memc.tile = 4 : i64}

// -----

// memc.overwrites names an argument of the function.
// expected-error @+1 {{'memc.overwrites' must be the name of an argument}}
func.func private @f(%w: tensor<4xf32> {memc.weight = "w"}) -> (tensor<4xf32> {memc.overwrites = "v"})

// -----

// memc.train is a module fact with a loss and an optimizer.
// expected-error @+1 {{'memc.train' must be {loss = "...", optimizer = "..."}}}
module attributes {memc.train = {loss = "mse"}} {
}

// -----

// A state names its weight with a string.
// expected-error @+1 {{'memc.state_of' must be a string}}
func.func private @f(%m: tensor<4xf32> {memc.state = "w.m", memc.state_of = 1 : i64})
