// RUN: memc-opt %s -split-input-file -memc-fusemax-attention="tile-size=4 query-tile-size=8" | FileCheck %s --enable-var-scope
// RUN: memc-opt %s -split-input-file -memc-fusemax-attention | FileCheck %s --check-prefix=MODEL

// Encoder attention, scores scaled by Div: the 3-pass cascade becomes an
// iterate over query tiles around an iterate over K/V tiles; only 8x4 score
// tiles exist.
// CHECK: module attributes {memc.fused_attention = 1 : i64, memc.fusemax_cascades = [{causal_skip = false, form = "cascade", kv_tile = 4 : i64, lanes = 1 : i64, passes_after = 1 : i64, passes_before = 3 : i64, query_tile = 8 : i64, rank = "m"}]}
// CHECK-LABEL: func.func @encoder
// CHECK-NOT: tensor<1x2x16x16xf32>
// CHECK: %[[OUT:.*]] = einsum.iterate p1(%[[P1:.*]]) < 2 iter_args
// CHECK: %[[POFF:.*]] = arith.muli %[[P1]], %c8
// CHECK: %[[QT:.*]] = tensor.extract_slice %arg0[0, 0, %[[POFF]], 0] [1, 2, 8, 4]
// CHECK: %[[LOOP:.*]]:3 = einsum.iterate m1(%[[M1:.*]]) < 4 iter_args(%[[RM:.*]] = %{{.*}}, %[[RD:.*]] = %{{.*}}, %[[RNV:.*]] = %{{.*}})
// CHECK: %[[MOFF:.*]] = arith.muli %[[M1]], %c4
// CHECK: %[[KT:.*]] = tensor.extract_slice %arg1[0, 0, 0, %[[MOFF]]] [1, 2, 4, 4]
// CHECK: %[[S:.*]] = einsum.einsum mul reduce add [b0, b1, p, m0, e] (%[[QT]][b0, b1, p, e], %[[KT]][b0, b1, e, m0]) -> [b0, b1, p, m0] {{.*}} -> tensor<1x2x8x4xf32>
// CHECK: %[[SC:.*]] = einsum.einsum div [b0, b1, p, m0] (%[[S]][b0, b1, p, m0], %{{.*}}[])
// CHECK: %[[LM:.*]] = einsum.einsum copy reduce max [b0, b1, p, m0] (%[[SC]][b0, b1, p, m0]) -> [b0, b1, p]
// CHECK: %[[RM2:.*]] = einsum.einsum max [b0, b1, p] (%[[RM]][b0, b1, p], %[[LM]][b0, b1, p])
// CHECK: %[[SLN:.*]] = einsum.einsum sub_exp [b0, b1, p, m0] (%[[SC]][b0, b1, p, m0], %[[RM2]][b0, b1, p])
// CHECK: %[[SLD:.*]] = einsum.einsum copy reduce add [b0, b1, p, m0] (%[[SLN]][b0, b1, p, m0]) -> [b0, b1, p]
// CHECK: %[[VT:.*]] = tensor.extract_slice %arg2[0, 0, %[[MOFF]], 0] [1, 2, 4, 4]
// CHECK: %[[SLNV:.*]] = einsum.einsum mul reduce add [b0, b1, p, f, m0] (%[[SLN]][b0, b1, p, m0], %[[VT]][b0, b1, m0, f]) -> [b0, b1, p, f]
// CHECK: %[[PRM:.*]] = einsum.einsum sub_exp [b0, b1, p] (%[[RM]][b0, b1, p], %[[RM2]][b0, b1, p])
// CHECK: %[[RD2:.*]] = einsum.einsum mul_add [b0, b1, p] (%[[RD]][b0, b1, p], %[[PRM]][b0, b1, p], %[[SLD]][b0, b1, p])
// CHECK: %[[RNV2:.*]] = einsum.einsum mul_add [b0, b1, p, f] (%[[RNV]][b0, b1, p, f], %[[PRM]][b0, b1, p], %[[SLNV]][b0, b1, p, f])
// CHECK: einsum.yield %[[RM2]], %[[RD2]], %[[RNV2]]
// CHECK: %[[AV:.*]] = einsum.einsum div [b0, b1, p, f] (%[[LOOP]]#2[b0, b1, p, f], %[[LOOP]]#1[b0, b1, p])
// CHECK: %[[W:.*]] = tensor.insert_slice %[[AV]] into %{{.*}}[0, 0, %[[POFF]], 0] [1, 2, 8, 4]
// CHECK: einsum.yield %[[W]]
// CHECK: return %[[OUT]]
// MODEL: kv_tile = 16 : i64, lanes = 1 : i64, passes_after = 1 : i64, passes_before = 3 : i64, query_tile = 16 : i64

func.func @encoder(%q: tensor<1x2x16x4xf32>, %kt: tensor<1x2x4x16xf32>, %v: tensor<1x2x16x4xf32>) -> tensor<1x2x16x4xf32> {
    %qk = einsum.einsum mul reduce add [b0, b1, m, n, k] (%q[b0, b1, m, k], %kt[b0, b1, k, n]) -> [b0, b1, m, n] : (tensor<1x2x16x4xf32>, tensor<1x2x4x16xf32>) -> tensor<1x2x16x16xf32>
    %scale = arith.constant dense<2.0> : tensor<f32>
    %s = einsum.einsum div [a, b, c, d] (%qk[a, b, c, d], %scale[]) -> [a, b, c, d] : (tensor<1x2x16x16xf32>, tensor<f32>) -> tensor<1x2x16x16xf32>
    %mx = einsum.einsum copy reduce max [a, b, c, d] (%s[a, b, c, d]) -> [a, b, c] : (tensor<1x2x16x16xf32>) -> tensor<1x2x16xf32>
    %mxe = tensor.expand_shape %mx [[0], [1], [2, 3]] output_shape [1, 2, 16, 1] : tensor<1x2x16xf32> into tensor<1x2x16x1xf32>
    %e = einsum.einsum sub_exp [a, b, c, d] (%s[a, b, c, d], %mxe[a, b, c, 0]) -> [a, b, c, d] : (tensor<1x2x16x16xf32>, tensor<1x2x16x1xf32>) -> tensor<1x2x16x16xf32>
    %sum = einsum.einsum copy reduce add [a, b, c, d] (%e[a, b, c, d]) -> [a, b, c] : (tensor<1x2x16x16xf32>) -> tensor<1x2x16xf32>
    %sd = einsum.einsum div [a, b, c, d] (%e[a, b, c, d], %sum[a, b, c]) -> [a, b, c, d] : (tensor<1x2x16x16xf32>, tensor<1x2x16xf32>) -> tensor<1x2x16x16xf32>
    %av = einsum.einsum mul reduce add [b0, b1, m, n, k] (%sd[b0, b1, m, k], %v[b0, b1, k, n]) -> [b0, b1, m, n] : (tensor<1x2x16x16xf32>, tensor<1x2x16x4xf32>) -> tensor<1x2x16x4xf32>
    return %av : tensor<1x2x16x4xf32>
  }
// -----

// Causal: a -1e9 triangle above the diagonal (the importer's summary on the
// weight argument). A K/V tile is computed only when its smallest m - p,
// m1*4 - (p1*8 + 7), is below the diagonal 1; the mask is sliced per tile.
// CHECK: causal_skip = true
// CHECK-LABEL: func.func @causal_add
// CHECK-NOT: tensor<1x2x16x16xf32>
// CHECK: einsum.iterate p1
// CHECK: einsum.iterate m1
// CHECK: %[[LAST:.*]] = arith.addi %{{.*}}, %c7
// CHECK: %[[LOW:.*]] = arith.subi %{{.*}}, %[[LAST]]
// CHECK: %[[LIVE:.*]] = arith.cmpi slt, %[[LOW]], %c1
// CHECK: scf.if %[[LIVE]]
// CHECK: %[[MASK:.*]] = tensor.extract_slice %arg3[%{{.*}}, %{{.*}}] [8, 4] [1, 1] : tensor<16x16xf32> to tensor<8x4xf32>
// CHECK: einsum.einsum add [b0, b1, p, m0] (%{{.*}}[b0, b1, p, m0], %[[MASK]][p, m0])
// CHECK: scf.yield
// CHECK: } else {
// CHECK-NEXT: scf.yield %{{.*}}, %{{.*}}, %{{.*}} :
// MODEL: causal_skip = true, form = "cascade", kv_tile = 16 : i64

func.func @causal_add(%q: tensor<1x2x16x4xf32>, %kt: tensor<1x2x4x16xf32>, %v: tensor<1x2x16x4xf32>, %mask: tensor<16x16xf32> {memc.upper_triangle = {diagonal = 1 : i64, value = -1.0e9 : f64}, memc.weight = "mask"}) -> tensor<1x2x16x4xf32> {
    %qk = einsum.einsum mul reduce add [b0, b1, m, n, k] (%q[b0, b1, m, k], %kt[b0, b1, k, n]) -> [b0, b1, m, n] : (tensor<1x2x16x4xf32>, tensor<1x2x4x16xf32>) -> tensor<1x2x16x16xf32>
    %s = einsum.einsum add [a, b, c, d] (%qk[a, b, c, d], %mask[c, d]) -> [a, b, c, d] : (tensor<1x2x16x16xf32>, tensor<16x16xf32>) -> tensor<1x2x16x16xf32>
    %mx = einsum.einsum copy reduce max [a, b, c, d] (%s[a, b, c, d]) -> [a, b, c] : (tensor<1x2x16x16xf32>) -> tensor<1x2x16xf32>
    %mxe = tensor.expand_shape %mx [[0], [1], [2, 3]] output_shape [1, 2, 16, 1] : tensor<1x2x16xf32> into tensor<1x2x16x1xf32>
    %e = einsum.einsum sub_exp [a, b, c, d] (%s[a, b, c, d], %mxe[a, b, c, 0]) -> [a, b, c, d] : (tensor<1x2x16x16xf32>, tensor<1x2x16x1xf32>) -> tensor<1x2x16x16xf32>
    %sum = einsum.einsum copy reduce add [a, b, c, d] (%e[a, b, c, d]) -> [a, b, c] : (tensor<1x2x16x16xf32>) -> tensor<1x2x16xf32>
    %sd = einsum.einsum div [a, b, c, d] (%e[a, b, c, d], %sum[a, b, c]) -> [a, b, c, d] : (tensor<1x2x16x16xf32>, tensor<1x2x16xf32>) -> tensor<1x2x16x16xf32>
    %av = einsum.einsum mul reduce add [b0, b1, m, n, k] (%sd[b0, b1, m, k], %v[b0, b1, k, n]) -> [b0, b1, m, n] : (tensor<1x2x16x16xf32>, tensor<1x2x16x4xf32>) -> tensor<1x2x16x4xf32>
    return %av : tensor<1x2x16x4xf32>
  }
// -----

// Causal as PyTorch exports masked_fill: Where(constant boolean triangle,
// -inf, scores); the triangle is read from the constant itself.
// CHECK: causal_skip = true
// CHECK-LABEL: func.func @causal_where
// CHECK: scf.if
// CHECK: einsum.einsum select [b0, b1, p, m0] (%{{.*}}[p, m0], %{{.*}}[], %{{.*}}[b0, b1, p, m0]) {{.*}} (tensor<8x4xi1>, tensor<f32>, tensor<1x2x8x4xf32>)
// MODEL: causal_skip = true, form = "cascade", kv_tile = 8 : i64

func.func @causal_where(%q: tensor<1x2x8x4xf32>, %kt: tensor<1x2x4x8xf32>, %v: tensor<1x2x8x4xf32>) -> tensor<1x2x8x4xf32> {
    %qk = einsum.einsum mul reduce add [b0, b1, m, n, k] (%q[b0, b1, m, k], %kt[b0, b1, k, n]) -> [b0, b1, m, n] : (tensor<1x2x8x4xf32>, tensor<1x2x4x8xf32>) -> tensor<1x2x8x8xf32>
    %hide = arith.constant dense<[[false, true, true, true, true, true, true, true], [false, false, true, true, true, true, true, true], [false, false, false, true, true, true, true, true], [false, false, false, false, true, true, true, true], [false, false, false, false, false, true, true, true], [false, false, false, false, false, false, true, true], [false, false, false, false, false, false, false, true], [false, false, false, false, false, false, false, false]]> : tensor<8x8xi1>
    %ninf = arith.constant dense<0xFF800000> : tensor<f32>
    %s = einsum.einsum select [a, b, c, d] (%hide[c, d], %ninf[], %qk[a, b, c, d]) -> [a, b, c, d] : (tensor<8x8xi1>, tensor<f32>, tensor<1x2x8x8xf32>) -> tensor<1x2x8x8xf32>
    %mx = einsum.einsum copy reduce max [a, b, c, d] (%s[a, b, c, d]) -> [a, b, c] : (tensor<1x2x8x8xf32>) -> tensor<1x2x8xf32>
    %mxe = tensor.expand_shape %mx [[0], [1], [2, 3]] output_shape [1, 2, 8, 1] : tensor<1x2x8xf32> into tensor<1x2x8x1xf32>
    %e = einsum.einsum sub_exp [a, b, c, d] (%s[a, b, c, d], %mxe[a, b, c, 0]) -> [a, b, c, d] : (tensor<1x2x8x8xf32>, tensor<1x2x8x1xf32>) -> tensor<1x2x8x8xf32>
    %sum = einsum.einsum copy reduce add [a, b, c, d] (%e[a, b, c, d]) -> [a, b, c] : (tensor<1x2x8x8xf32>) -> tensor<1x2x8xf32>
    %sd = einsum.einsum div [a, b, c, d] (%e[a, b, c, d], %sum[a, b, c]) -> [a, b, c, d] : (tensor<1x2x8x8xf32>, tensor<1x2x8xf32>) -> tensor<1x2x8x8xf32>
    %av = einsum.einsum mul reduce add [b0, b1, m, n, k] (%sd[b0, b1, m, k], %v[b0, b1, k, n]) -> [b0, b1, m, n] : (tensor<1x2x8x8xf32>, tensor<1x2x8x4xf32>) -> tensor<1x2x8x4xf32>
    return %av : tensor<1x2x8x4xf32>
  }
// -----

// Cross attention (8 queries, 16 keys) with no modifier on the scores.
// CHECK-LABEL: func.func @cross
// CHECK: einsum.iterate p1(%{{.*}}) < 1
// CHECK: einsum.iterate m1(%{{.*}}) < 4
// MODEL: kv_tile = 16 : i64, lanes = 1 : i64, passes_after = 1 : i64, passes_before = 3 : i64, query_tile = 8 : i64

func.func @cross(%q: tensor<1x2x8x4xf32>, %kt: tensor<1x2x4x16xf32>, %v: tensor<1x2x16x4xf32>) -> tensor<1x2x8x4xf32> {
    %qk = einsum.einsum mul reduce add [b0, b1, m, n, k] (%q[b0, b1, m, k], %kt[b0, b1, k, n]) -> [b0, b1, m, n] : (tensor<1x2x8x4xf32>, tensor<1x2x4x16xf32>) -> tensor<1x2x8x16xf32>
    %mx = einsum.einsum copy reduce max [a, b, c, d] (%qk[a, b, c, d]) -> [a, b, c] : (tensor<1x2x8x16xf32>) -> tensor<1x2x8xf32>
    %mxe = tensor.expand_shape %mx [[0], [1], [2, 3]] output_shape [1, 2, 8, 1] : tensor<1x2x8xf32> into tensor<1x2x8x1xf32>
    %e = einsum.einsum sub_exp [a, b, c, d] (%qk[a, b, c, d], %mxe[a, b, c, 0]) -> [a, b, c, d] : (tensor<1x2x8x16xf32>, tensor<1x2x8x1xf32>) -> tensor<1x2x8x16xf32>
    %sum = einsum.einsum copy reduce add [a, b, c, d] (%e[a, b, c, d]) -> [a, b, c] : (tensor<1x2x8x16xf32>) -> tensor<1x2x8xf32>
    %sd = einsum.einsum div [a, b, c, d] (%e[a, b, c, d], %sum[a, b, c]) -> [a, b, c, d] : (tensor<1x2x8x16xf32>, tensor<1x2x8xf32>) -> tensor<1x2x8x16xf32>
    %av = einsum.einsum mul reduce add [b0, b1, m, n, k] (%sd[b0, b1, m, k], %v[b0, b1, k, n]) -> [b0, b1, m, n] : (tensor<1x2x8x16xf32>, tensor<1x2x16x4xf32>) -> tensor<1x2x8x4xf32>
    return %av : tensor<1x2x8x4xf32>
  }

// -----

// A padding mask known only at run time (an input of the model, broadcast
// over batch, heads and queries) is sliced along the keys with every K/V
// tile. The running maximum starts at the lowest finite float, so a tile
// whose keys are all masked (-inf) before any visible one yields 0, not NaN.
// CHECK-LABEL: func.func @runtime_padding_mask
// CHECK-NOT: tensor<1x2x16x16xf32>
// CHECK: einsum.iterate p1
// CHECK: arith.constant dense<-3.40282347E+38> : tensor<1x2x8xf32>
// CHECK: einsum.iterate m1(%[[M1:.*]]) < 4
// CHECK: %[[MOFF:.*]] = arith.muli %[[M1]], %c4
// CHECK: %[[PAD:.*]] = tensor.extract_slice %arg3[%[[MOFF]]] [4] [1]
// CHECK: einsum.einsum add [b0, b1, p, m0] (%{{.*}}[b0, b1, p, m0], %[[PAD]][m0])
func.func @runtime_padding_mask(%q: tensor<1x2x16x4xf32>, %kt: tensor<1x2x4x16xf32>, %v: tensor<1x2x16x4xf32>, %pad: tensor<16xf32>) -> tensor<1x2x16x4xf32> {
    %qk = einsum.einsum mul reduce add [b0, b1, m, n, k] (%q[b0, b1, m, k], %kt[b0, b1, k, n]) -> [b0, b1, m, n] : (tensor<1x2x16x4xf32>, tensor<1x2x4x16xf32>) -> tensor<1x2x16x16xf32>
    %s = einsum.einsum add [a, b, c, d] (%qk[a, b, c, d], %pad[d]) -> [a, b, c, d] : (tensor<1x2x16x16xf32>, tensor<16xf32>) -> tensor<1x2x16x16xf32>
    %mx = einsum.einsum copy reduce max [a, b, c, d] (%s[a, b, c, d]) -> [a, b, c] : (tensor<1x2x16x16xf32>) -> tensor<1x2x16xf32>
    %mxe = tensor.expand_shape %mx [[0], [1], [2, 3]] output_shape [1, 2, 16, 1] : tensor<1x2x16xf32> into tensor<1x2x16x1xf32>
    %e = einsum.einsum sub_exp [a, b, c, d] (%s[a, b, c, d], %mxe[a, b, c, 0]) -> [a, b, c, d] : (tensor<1x2x16x16xf32>, tensor<1x2x16x1xf32>) -> tensor<1x2x16x16xf32>
    %sum = einsum.einsum copy reduce add [a, b, c, d] (%e[a, b, c, d]) -> [a, b, c] : (tensor<1x2x16x16xf32>) -> tensor<1x2x16xf32>
    %sd = einsum.einsum div [a, b, c, d] (%e[a, b, c, d], %sum[a, b, c]) -> [a, b, c, d] : (tensor<1x2x16x16xf32>, tensor<1x2x16xf32>) -> tensor<1x2x16x16xf32>
    %av = einsum.einsum mul reduce add [b0, b1, m, n, k] (%sd[b0, b1, m, k], %v[b0, b1, k, n]) -> [b0, b1, m, n] : (tensor<1x2x16x16xf32>, tensor<1x2x16x4xf32>) -> tensor<1x2x16x4xf32>
    return %av : tensor<1x2x16x4xf32>
  }
