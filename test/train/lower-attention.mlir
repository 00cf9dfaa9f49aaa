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

// -----

// 32 rows of batch x heads: a [32, 64, 128] score tile would be 1 MiB, so
// the loops take 2 rows at a time (kAttentionTileBytes, 64 KiB), in an
// outer loop that slices every operand, bias included, and writes each
// result's rows back.
// CHECK-LABEL: func @batch_tiles
// CHECK: %[[DQ:.*]]:3 = scf.for %[[BT:.*]] = %{{.*}} to %{{.*}} step %{{.*}} iter_args(%[[GQ:.*]] = %{{.*}}, %[[GK:.*]] = %{{.*}}, %[[GV:.*]] = %{{.*}}) -> (tensor<32x256x16xf32>, tensor<32x256x16xf32>, tensor<32x256x8xf32>)
// CHECK: %[[BOFF:.*]] = arith.muli %[[BT]], %{{.*}} : index
// CHECK: tensor.extract_slice %arg0[%[[BOFF]], 0, 0] [2, 256, 16] [1, 1, 1]
// CHECK: tensor.extract_slice %arg5[%[[BOFF]], 0] [2, 256] [1, 1]
// CHECK: einsum.einsum mul reduce add [b, p, f, m] ({{.*}}[b, p, f], {{.*}}[b, m, f]) -> [b, p, m] : {{.*}} -> tensor<2x64x128xf32>
// CHECK: tensor.insert_slice %{{.*}} into %[[GQ]][%[[BOFF]], 0, 0] [2, 256, 16] [1, 1, 1]
// CHECK: tensor.insert_slice %{{.*}} into %[[GK]][%[[BOFF]], 0, 0] [2, 256, 16] [1, 1, 1]
// CHECK: tensor.insert_slice %{{.*}} into %[[GV]][%[[BOFF]], 0, 0] [2, 256, 8] [1, 1, 1]
// CHECK: return %[[DQ]]#0, %[[DQ]]#1, %[[DQ]]#2
// NONN-LABEL: func @batch_tiles
// NONN-NOT: tensor<32x64x128xf32>
func.func @batch_tiles(%q: tensor<32x256x16xf32>, %k: tensor<32x256x16xf32>,
                       %v: tensor<32x256x8xf32>, %o: tensor<32x256x8xf32>,
                       %do: tensor<32x256x8xf32>, %bias: tensor<32x256xf32>)
    -> (tensor<32x256x16xf32>, tensor<32x256x16xf32>, tensor<32x256x8xf32>) {
  %dq, %dk, %dv = einsum.attention_grad %q, %k, %v, %o, %do
      bias %bias : tensor<32x256xf32> scale 0.25 masked_from 1
      : tensor<32x256x16xf32>, tensor<32x256x16xf32>, tensor<32x256x8xf32>,
        tensor<32x256x8xf32>, tensor<32x256x8xf32>
  return %dq, %dk, %dv : tensor<32x256x16xf32>, tensor<32x256x16xf32>, tensor<32x256x8xf32>
}

// -----

// The forward takes the same batch tiles.
// CHECK-LABEL: func @batch_tiles_forward
// CHECK: scf.for %[[BT:.*]] = %{{.*}} iter_args(%[[ALL:.*]] = %arg3) -> (tensor<32x256x16xf32>)
// CHECK: tensor.extract_slice %arg0[%{{.*}}, 0, 0] [2, 256, 16] [1, 1, 1]
// CHECK: -> tensor<2x64x128xf32>
// CHECK: tensor.insert_slice %{{.*}} into %[[ALL]][%{{.*}}, 0, 0] [2, 256, 16] [1, 1, 1]
func.func @batch_tiles_forward(%q: tensor<32x256x16xf32>, %k: tensor<32x256x16xf32>,
                               %v: tensor<32x256x16xf32>, %init: tensor<32x256x16xf32>)
    -> tensor<32x256x16xf32> {
  %o = einsum.attention %q, %k, %v outs(%init : tensor<32x256x16xf32>)
         scale 0.25
         : tensor<32x256x16xf32>, tensor<32x256x16xf32>, tensor<32x256x16xf32>
         -> tensor<32x256x16xf32>
  return %o : tensor<32x256x16xf32>
}

// -----

// 131 queries and keys, which no tile divides: 2 query tiles of 44 and a
// last of 43, each over K/V tiles of 66 and a last of 65 keys; under the
// causal mask the last K/V tile runs only when the query tile sees one of
// its keys (its last visible key >= 66).
// CHECK-LABEL: func @ragged
// CHECK: %[[OUT:.*]] = scf.for %{{.*}} = %{{.*}} to %c2 step %{{.*}} iter_args(%{{.*}} = %arg3)
// CHECK: tensor.extract_slice %arg0[0, %{{.*}}, 0] [2, 44, 16] [1, 1, 1]
// CHECK: scf.for {{.*}} -> (tensor<2x44xf32>, tensor<2x44xf32>, tensor<2x44x16xf32>)
// CHECK: tensor.extract_slice %arg1[0, %{{.*}}, 0] [2, 66, 16] [1, 1, 1]
// CHECK: %[[AT:.*]] = arith.constant 66 : index
// CHECK: %[[SEEN:.*]] = arith.cmpi uge, %{{.*}}, %[[AT]] : index
// CHECK: scf.if %[[SEEN]] -> (tensor<2x44xf32>, tensor<2x44xf32>, tensor<2x44x16xf32>)
// CHECK: tensor.extract_slice %arg1[0, %[[AT]], 0] [2, 65, 16] [1, 1, 1]
// CHECK: -> tensor<2x44x65xf32>
// CHECK: } else {
// CHECK: %[[LAST:.*]] = arith.constant 88 : index
// CHECK: tensor.extract_slice %arg0[0, %[[LAST]], 0] [2, 43, 16] [1, 1, 1]
// CHECK: scf.if
// CHECK: tensor.insert_slice %{{.*}} into %[[OUT]][0, %[[LAST]], 0] [2, 43, 16] [1, 1, 1]
// The backward: the same tiles; every K/V tile, the last one included, in
// both the log-sum-exp and the gradient loops; dK and dV accumulate into
// its 65 rows.
// CHECK-LABEL: func @ragged_backward
// CHECK: scf.for {{.*}} -> (tensor<2x131x16xf32>, tensor<2x131x16xf32>, tensor<2x131x16xf32>)
// CHECK: scf.for {{.*}} -> (tensor<2x44xf32>, tensor<2x44xf32>)
// CHECK: tensor.extract_slice %arg1[0, %{{.*}}, 0] [2, 65, 16]
// CHECK: einsum.einsum log [b, p]
// CHECK: scf.for {{.*}} -> (tensor<2x44x16xf32>, tensor<2x131x16xf32>, tensor<2x131x16xf32>)
// CHECK: tensor.insert_slice {{.*}} [2, 65, 16] [1, 1, 1] : tensor<2x65x16xf32> into tensor<2x131x16xf32>
// CHECK: tensor.extract_slice %arg0[0, %{{.*}}, 0] [2, 43, 16]
// NONN-LABEL: func @ragged
// NONN-NOT: tensor<2x131x131xf32>
func.func @ragged(%q: tensor<2x131x16xf32>, %k: tensor<2x131x16xf32>,
                  %v: tensor<2x131x16xf32>, %init: tensor<2x131x16xf32>)
    -> tensor<2x131x16xf32> {
  %o = einsum.attention %q, %k, %v outs(%init : tensor<2x131x16xf32>)
         scale 0.25 masked_from 1
         : tensor<2x131x16xf32>, tensor<2x131x16xf32>, tensor<2x131x16xf32>
         -> tensor<2x131x16xf32>
  return %o : tensor<2x131x16xf32>
}

func.func @ragged_backward(%q: tensor<2x131x16xf32>, %k: tensor<2x131x16xf32>,
                           %v: tensor<2x131x16xf32>, %o: tensor<2x131x16xf32>,
                           %do: tensor<2x131x16xf32>)
    -> (tensor<2x131x16xf32>, tensor<2x131x16xf32>, tensor<2x131x16xf32>) {
  %dq, %dk, %dv = einsum.attention_grad %q, %k, %v, %o, %do
      scale 0.25 masked_from 1
      : tensor<2x131x16xf32>, tensor<2x131x16xf32>, tensor<2x131x16xf32>,
        tensor<2x131x16xf32>, tensor<2x131x16xf32>
  return %dq, %dk, %dv : tensor<2x131x16xf32>, tensor<2x131x16xf32>, tensor<2x131x16xf32>
}
