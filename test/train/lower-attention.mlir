// RUN: memc-opt %s -split-input-file -memc-lower-attention | FileCheck %s --enable-var-scope
// RUN: memc-opt %s -split-input-file -memc-lower-attention -convert-einsum-to-linalg | FileCheck %s --check-prefix=NONN

// The forward: query tiles of 64 rows, K/V tiles of 128 keys, the online
// softmax carrying the running maximum, denominator and numerator.
// CHECK-LABEL: func @forward
// CHECK: scf.for %[[QT:.*]] = %{{.*}} to %{{.*}} step %{{.*}} iter_args(%[[OUT:.*]] = %arg3)
// CHECK: tensor.extract_slice %arg0[0, %{{.*}}, 0] [2, 64, 16] [1, 1, 1]
// CHECK: scf.for %{{.*}} iter_args(%[[M:.*]] = %{{.*}}, %[[L:.*]] = %{{.*}}, %[[ACC:.*]] = %{{.*}}) -> (tensor<2x64xf32>, tensor<2x64xf32>, tensor<2x64x16xf32>)
// CHECK: einsum.einsum mul reduce add [b, p, f, m] ({{.*}}[b, p, f], {{.*}}[b, m, f]) -> [b, p, m] : {{.*}} -> tensor<2x64x128xf32>
// CHECK: tensor.generate
// CHECK: einsum.einsum copy reduce max [b, p, m]
// CHECK: einsum.einsum sub_exp [b, p] (%[[M]][b, p]
// CHECK: einsum.einsum mul_add [b, p] (%[[L]][b, p]
// CHECK: einsum.einsum mul_add [b, p, g] (%[[ACC]][b, p, g]
// CHECK: einsum.einsum div [b, p, g]
// CHECK: tensor.insert_slice %{{.*}} into %[[OUT]][0, %{{.*}}, 0] [2, 64, 16] [1, 1, 1]
// Nothing of [queries, keys] = 256 x 256 exists.
// NONN-LABEL: func @forward
// NONN-NOT: tensor<2x256x256xf32>
func.func @forward(%q: tensor<2x256x16xf32>, %k: tensor<2x256x16xf32>,
                   %v: tensor<2x256x16xf32>, %init: tensor<2x256x16xf32>)
    -> tensor<2x256x16xf32> {
  %o = einsum.attention %q, %k, %v outs(%init : tensor<2x256x16xf32>)
         scale 0.25 masked_from 1
         : tensor<2x256x16xf32>, tensor<2x256x16xf32>, tensor<2x256x16xf32>
         -> tensor<2x256x16xf32>
  return %o : tensor<2x256x16xf32>
}

// -----

// The backward: per query tile, the row log-sum-exp over the K tiles, then
// P = exp(S - L) per tile; dK and dV accumulate into their key slices.
// CHECK-LABEL: func @backward
// CHECK: %[[D:.*]] = einsum.einsum mul reduce add [b, p, g] (%arg4[b, p, g], %arg3[b, p, g]) -> [b, p]
// CHECK: scf.for {{.*}} -> (tensor<2x256x16xf32>, tensor<2x256x16xf32>, tensor<2x256x8xf32>)
// CHECK: scf.for {{.*}} -> (tensor<2x64xf32>, tensor<2x64xf32>)
// CHECK: einsum.einsum log [b, p]
// CHECK: scf.for {{.*}} -> (tensor<2x64x16xf32>, tensor<2x256x16xf32>, tensor<2x256x8xf32>)
// CHECK: %[[P:.*]] = einsum.einsum sub_exp [b, p, m] ({{.*}}[b, p, m], {{.*}}[b, p]) -> [b, p, m]
// CHECK: einsum.einsum mul reduce add [b, p, m, g] (%[[P]][b, p, m], {{.*}}[b, p, g]) -> [b, m, g]
// CHECK: tensor.insert_slice {{.*}} [2, 128, 16] [1, 1, 1] : tensor<2x128x16xf32> into tensor<2x256x16xf32>
// CHECK: tensor.insert_slice {{.*}} [2, 128, 8] [1, 1, 1] : tensor<2x128x8xf32> into tensor<2x256x8xf32>
// NONN-LABEL: func @backward
// NONN-NOT: tensor<2x256x256xf32>
func.func @backward(%q: tensor<2x256x16xf32>, %k: tensor<2x256x16xf32>,
                    %v: tensor<2x256x8xf32>, %o: tensor<2x256x8xf32>,
                    %do: tensor<2x256x8xf32>, %bias: tensor<2x256xf32>)
    -> (tensor<2x256x16xf32>, tensor<2x256x16xf32>, tensor<2x256x8xf32>) {
  %dq, %dk, %dv = einsum.attention_grad %q, %k, %v, %o, %do
      bias %bias : tensor<2x256xf32> scale 0.25
      : tensor<2x256x16xf32>, tensor<2x256x16xf32>, tensor<2x256x8xf32>,
        tensor<2x256x8xf32>, tensor<2x256x8xf32>
  return %dq, %dk, %dv : tensor<2x256x16xf32>, tensor<2x256x16xf32>, tensor<2x256x8xf32>
}
