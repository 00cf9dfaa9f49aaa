// RUN: memc-opt %s -split-input-file -verify-diagnostics -memc-activation-recompute="budget=20000 solver=milp"
// RUN: not memc-opt %s -split-input-file -memc-activation-recompute="budget=4096 solver=best" 2>&1 | FileCheck %s --check-prefix=SOLVER
// RUN: not memc-opt %s -split-input-file -memc-activation-recompute="budget=4096 target=tpu" 2>&1 | FileCheck %s --check-prefix=TARGET

// SOLVER: memc-activation-recompute: unknown solver 'best' (auto, milp, greedy, chen, recompute-all, swap-all, keep)
// TARGET: memc-activation-recompute: unknown target 'tpu' (cpu, cuda)

// The exact solver says when no choice fits: the forward alone holds h and
// e (2 x 16 KiB) while e is made.
module attributes {memc.entry = @too_small} {
// expected-error @+1 {{memc-activation-recompute: step 1 needs 32768 bytes whatever is recomputed or swapped}}
func.func @too_small(%x: tensor<256x4xf32> {memc.input = "x"},
                     %w: tensor<4x16xf32> {memc.weight = "w", memc.trainable})
    -> (tensor<f32>, tensor<4x16xf32>) {
  %h = einsum.einsum mul reduce add [m, n, k] (%x[m, k], %w[k, n]) -> [m, n]
         : (tensor<256x4xf32>, tensor<4x16xf32>) -> tensor<256x16xf32>
  %e = einsum.einsum exp [m, n] (%h[m, n]) -> [m, n] : (tensor<256x16xf32>) -> tensor<256x16xf32>
  %l = einsum.einsum copy reduce add [m, n] (%e[m, n]) -> [] : (tensor<256x16xf32>) -> tensor<f32>
  // The backward.
  %g = einsum.einsum mul [m, n] (%e[m, n], %h[m, n]) -> [m, n]
         : (tensor<256x16xf32>, tensor<256x16xf32>) -> tensor<256x16xf32>
  %gw = einsum.einsum mul reduce add [k, n, m] (%x[m, k], %g[m, n]) -> [k, n]
          : (tensor<256x4xf32>, tensor<256x16xf32>) -> tensor<4x16xf32>
  return %l, %gw : tensor<f32>, tensor<4x16xf32>
}
}
