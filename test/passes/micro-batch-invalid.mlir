// RUN: memc-opt %s -split-input-file --pass-pipeline='builtin.module(func.func(memc-micro-batch{chunk=3}))' -verify-diagnostics

// A chunk that does not divide the batch is refused.
// expected-error @+1 {{memc-micro-batch: a chunk of 3 rows does not divide the batch of 4}}
func.func @bad_chunk(%x: tensor<4x3xf32> {memc.input = "x"}) -> tensor<4x3xf32> {
  %e = tensor.empty() : tensor<4x3xf32>
  %y = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0, d1)>], iterator_types = ["parallel", "parallel"]}
      ins(%x : tensor<4x3xf32>) outs(%e : tensor<4x3xf32>) {
  ^bb0(%in: f32, %out: f32):
    %r = math.exp %in : f32
    linalg.yield %r : f32
  } -> tensor<4x3xf32>
  return %y : tensor<4x3xf32>
}

// -----

// The attribute on an op that is neither a function nor a loop is refused.
func.func @misplaced(%x: f32) -> f32 {
  // expected-error @+1 {{'memc.micro_batch' belongs on a function, an scf.for or an scf.forall}}
  %y = arith.addf %x, %x {memc.micro_batch = 2 : i64} : f32
  return %y : f32
}
