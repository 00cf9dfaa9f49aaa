// RUN: memc-opt %s -split-input-file -memc-fusemax-attention="tile-size=4 query-tile-size=5" | FileCheck %s --enable-var-scope
// RUN: memc-opt %s -split-input-file -memc-fusemax-attention | FileCheck %s --check-prefix=MODEL

// 13 tokens, which neither tile divides: 2 query tiles of 5 and a last of
// 3, each over 3 K/V tiles of 4 and a last step over the 13th key. Every
// tile is static; no score tile is larger than 5x4.
// CHECK: kv_tile = 4 : i64, lanes = 1 : i64, passes_after = 1 : i64, passes_before = 3 : i64, query_tile = 5 : i64
// CHECK-LABEL: func.func @encoder
// CHECK-NOT: tensor<1x2x13x13xf32>
// CHECK: %[[FULL:.*]] = einsum.iterate p1(%[[P1:.*]]) < 2 iter_args
// CHECK: %[[POFF:.*]] = arith.muli %[[P1]], %c5
// CHECK: %[[QT:.*]] = tensor.extract_slice %arg0[0, 0, %[[POFF]], 0] [1, 2, 5, 4]
// CHECK: %[[LOOP:.*]]:3 = einsum.iterate m1(%[[M1:.*]]) < 3 iter_args
// CHECK: tensor.extract_slice %arg1[0, 0, 0, %{{.*}}] [1, 2, 4, 4]
// CHECK: -> tensor<1x2x5x4xf32>
// CHECK: einsum.yield
// The 13th key: one more step on the loop's results.
// CHECK: %[[C12:.*]] = arith.constant 12 : index
// CHECK: %[[KLAST:.*]] = tensor.extract_slice %arg1[0, 0, 0, %[[C12]]] [1, 2, 4, 1]
// CHECK: einsum.einsum mul reduce add [b0, b1, p, m0, e] (%[[QT]][b0, b1, p, e], %[[KLAST]][b0, b1, e, m0]) -> [b0, b1, p, m0] {{.*}} -> tensor<1x2x5x1xf32>
// CHECK: %[[RM:.*]] = einsum.einsum max [b0, b1, p] (%[[LOOP]]#0[b0, b1, p]
// CHECK: tensor.extract_slice %arg2[0, 0, %[[C12]], 0] [1, 2, 1, 4]
// CHECK: %[[RD:.*]] = einsum.einsum mul_add [b0, b1, p] (%[[LOOP]]#1[b0, b1, p]
// CHECK: %[[RNV:.*]] = einsum.einsum mul_add [b0, b1, p, f] (%[[LOOP]]#2[b0, b1, p, f]
// CHECK: %[[AV:.*]] = einsum.einsum div [b0, b1, p, f] (%[[RNV]][b0, b1, p, f], %[[RD]][b0, b1, p])
// CHECK: tensor.insert_slice %[[AV]] into %{{.*}}[0, 0, %[[POFF]], 0] [1, 2, 5, 4]
// The last 3 queries, after the outer iterate, into its result.
// CHECK: %[[C10:.*]] = arith.constant 10 : index
// CHECK: %[[QLAST:.*]] = tensor.extract_slice %arg0[0, 0, %[[C10]], 0] [1, 2, 3, 4]
// CHECK: einsum.iterate m1(%{{.*}}) < 3 iter_args
// CHECK: -> tensor<1x2x3x4xf32>
// CHECK: %[[OUT:.*]] = tensor.insert_slice %{{.*}} into %[[FULL]][0, 0, %[[C10]], 0] [1, 2, 3, 4]
// CHECK: return %[[OUT]]
// The cost model's tiles: all 13 keys and queries in one.
// MODEL: kv_tile = 13 : i64, lanes = 1 : i64, passes_after = 1 : i64, passes_before = 3 : i64, query_tile = 13 : i64
func.func @encoder(%q: tensor<1x2x13x4xf32>, %kt: tensor<1x2x4x13xf32>, %v: tensor<1x2x13x4xf32>) -> tensor<1x2x13x4xf32> {
    %qk = einsum.einsum mul reduce add [b0, b1, m, n, k] (%q[b0, b1, m, k], %kt[b0, b1, k, n]) -> [b0, b1, m, n] : (tensor<1x2x13x4xf32>, tensor<1x2x4x13xf32>) -> tensor<1x2x13x13xf32>
    %scale = arith.constant dense<2.0> : tensor<f32>
    %s = einsum.einsum div [a, b, c, d] (%qk[a, b, c, d], %scale[]) -> [a, b, c, d] : (tensor<1x2x13x13xf32>, tensor<f32>) -> tensor<1x2x13x13xf32>
    %mx = einsum.einsum copy reduce max [a, b, c, d] (%s[a, b, c, d]) -> [a, b, c] : (tensor<1x2x13x13xf32>) -> tensor<1x2x13xf32>
    %mxe = tensor.expand_shape %mx [[0], [1], [2, 3]] output_shape [1, 2, 13, 1] : tensor<1x2x13xf32> into tensor<1x2x13x1xf32>
    %e = einsum.einsum sub_exp [a, b, c, d] (%s[a, b, c, d], %mxe[a, b, c, 0]) -> [a, b, c, d] : (tensor<1x2x13x13xf32>, tensor<1x2x13x1xf32>) -> tensor<1x2x13x13xf32>
    %sum = einsum.einsum copy reduce add [a, b, c, d] (%e[a, b, c, d]) -> [a, b, c] : (tensor<1x2x13x13xf32>) -> tensor<1x2x13xf32>
    %sd = einsum.einsum div [a, b, c, d] (%e[a, b, c, d], %sum[a, b, c]) -> [a, b, c, d] : (tensor<1x2x13x13xf32>, tensor<1x2x13xf32>) -> tensor<1x2x13x13xf32>
    %av = einsum.einsum mul reduce add [b0, b1, m, n, k] (%sd[b0, b1, m, k], %v[b0, b1, k, n]) -> [b0, b1, m, n] : (tensor<1x2x13x13xf32>, tensor<1x2x13x4xf32>) -> tensor<1x2x13x4xf32>
    return %av : tensor<1x2x13x4xf32>
  }

// -----

// Causal with a ragged last K/V tile: the last step is skipped like any
// tile where its smallest m - p is at or past the diagonal.
// CHECK-LABEL: func.func @causal
// CHECK: einsum.iterate p1
// CHECK: einsum.iterate m1
// CHECK: scf.if
// CHECK: einsum.yield
// CHECK: %[[K12:.*]] = arith.constant 12 : index
// CHECK: %[[LAST:.*]] = arith.addi %{{.*}}, %c4
// CHECK: %[[LOW:.*]] = arith.subi %[[K12]], %[[LAST]]
// CHECK: %[[LIVE:.*]] = arith.cmpi slt, %[[LOW]], %c1
// CHECK: scf.if %[[LIVE]]
// CHECK: tensor.extract_slice %arg3[%{{.*}}, %[[K12]]] [5, 1] [1, 1] : tensor<13x13xf32> to tensor<5x1xf32>
func.func @causal(%q: tensor<1x2x13x4xf32>, %kt: tensor<1x2x4x13xf32>, %v: tensor<1x2x13x4xf32>, %mask: tensor<13x13xf32> {memc.upper_triangle = {diagonal = 1 : i64, value = -1.0e9 : f64}, memc.weight = "mask"}) -> tensor<1x2x13x4xf32> {
    %qk = einsum.einsum mul reduce add [b0, b1, m, n, k] (%q[b0, b1, m, k], %kt[b0, b1, k, n]) -> [b0, b1, m, n] : (tensor<1x2x13x4xf32>, tensor<1x2x4x13xf32>) -> tensor<1x2x13x13xf32>
    %s = einsum.einsum add [a, b, c, d] (%qk[a, b, c, d], %mask[c, d]) -> [a, b, c, d] : (tensor<1x2x13x13xf32>, tensor<13x13xf32>) -> tensor<1x2x13x13xf32>
    %mx = einsum.einsum copy reduce max [a, b, c, d] (%s[a, b, c, d]) -> [a, b, c] : (tensor<1x2x13x13xf32>) -> tensor<1x2x13xf32>
    %mxe = tensor.expand_shape %mx [[0], [1], [2, 3]] output_shape [1, 2, 13, 1] : tensor<1x2x13xf32> into tensor<1x2x13x1xf32>
    %e = einsum.einsum sub_exp [a, b, c, d] (%s[a, b, c, d], %mxe[a, b, c, 0]) -> [a, b, c, d] : (tensor<1x2x13x13xf32>, tensor<1x2x13x1xf32>) -> tensor<1x2x13x13xf32>
    %sum = einsum.einsum copy reduce add [a, b, c, d] (%e[a, b, c, d]) -> [a, b, c] : (tensor<1x2x13x13xf32>) -> tensor<1x2x13xf32>
    %sd = einsum.einsum div [a, b, c, d] (%e[a, b, c, d], %sum[a, b, c]) -> [a, b, c, d] : (tensor<1x2x13x13xf32>, tensor<1x2x13xf32>) -> tensor<1x2x13x13xf32>
    %av = einsum.einsum mul reduce add [b0, b1, m, n, k] (%sd[b0, b1, m, k], %v[b0, b1, k, n]) -> [b0, b1, m, n] : (tensor<1x2x13x13xf32>, tensor<1x2x13x4xf32>) -> tensor<1x2x13x4xf32>
    return %av : tensor<1x2x13x4xf32>
  }
