// RUN: memc-opt %s -split-input-file -memc-fusemax-attention="tile-size=4 query-tile-size=8 lanes=2" | FileCheck %s --enable-var-scope --check-prefix=TWO
// RUN: memc-opt %s -split-input-file -memc-fusemax-attention="tile-size=4 query-tile-size=8 lanes=4" | FileCheck %s --enable-var-scope --check-prefix=FOUR
// RUN: memc-opt %s -split-input-file -memc-fusemax-attention="tile-size=4 query-tile-size=8" | FileCheck %s --check-prefix=ONE

// Lanes: a batch of 2 sequences of 3 heads with a padding mask per sequence.
// lanes=2 cuts the batch (3 heads have no 2 equal shares): each lane is the
// whole cascade over one sequence, slicing Q, K, V and the mask at its row,
// and writes that row of the output in place.
// TWO: lanes = 2 : i64
// TWO-LABEL: func.func @padded_batch
// TWO: %[[INIT:.*]] = tensor.empty() : tensor<2x3x16x4xf32>
// TWO: %[[OUT:.*]] = scf.forall (%[[L:.*]]) in (2) shared_outs(%[[SHARED:.*]] = %[[INIT]]) -> (tensor<2x3x16x4xf32>)
// TWO: %[[ROW:.*]] = arith.muli %[[L]], %c1 : index
// TWO: %[[MINE:.*]] = tensor.extract_slice %[[SHARED]][%[[ROW]], 0, 0, 0] [1, 3, 16, 4] [1, 1, 1, 1]
// TWO: %[[TILES:.*]] = einsum.iterate p1(%[[P1:.*]]) < 2 iter_args(%{{.*}} = %[[MINE]]) : tensor<1x3x16x4xf32>
// TWO: tensor.extract_slice %arg0[%[[ROW]], 0, %{{.*}}, 0] [1, 3, 8, 4]
// TWO: einsum.iterate m1
// TWO: tensor.extract_slice %arg1[%[[ROW]], 0, 0, %{{.*}}] [1, 3, 4, 4]
// TWO: %[[PAD:.*]] = tensor.extract_slice %arg3[%[[ROW]], %{{.*}}] [1, 4] [1, 1] : tensor<2x16xf32> to tensor<1x4xf32>
// TWO: einsum.einsum add [b0, b1, p, m0] (%{{.*}}[b0, b1, p, m0], %[[PAD]][b0, m0]) -> [b0, b1, p, m0] {{.*}} -> tensor<1x3x8x4xf32>
// TWO: tensor.extract_slice %arg2[%[[ROW]], 0, %{{.*}}, 0] [1, 3, 4, 4]
// TWO: scf.forall.in_parallel
// TWO-NEXT: tensor.parallel_insert_slice %[[TILES]] into %[[SHARED]][%[[ROW]], 0, 0, 0] [1, 3, 16, 4] [1, 1, 1, 1]
// TWO: } {memc.micro_batch = 2 : i64}
// TWO: return %[[OUT]]

// lanes=4: the rank with the most equal shares up to 4, the 3 heads; each
// lane's query tiles hold its own head only.
// FOUR: lanes = 3 : i64
// FOUR-LABEL: func.func @padded_batch
// FOUR: scf.forall (%[[L:.*]]) in (3) shared_outs
// FOUR: %[[HEAD:.*]] = arith.muli %[[L]], %c1 : index
// FOUR: tensor.extract_slice %{{.*}}[0, %[[HEAD]], 0, 0] [2, 1, 16, 4]
// FOUR: tensor.extract_slice %arg0[0, %[[HEAD]], %{{.*}}, 0] [2, 1, 8, 4]
// The mask does not index the heads: it is sliced along the keys only.
// FOUR: tensor.extract_slice %arg3[0, %{{.*}}] [2, 4] [1, 1]
// FOUR: } {memc.micro_batch = 3 : i64}

// Without lanes, the cascade is as before.
// ONE: lanes = 1 : i64
// ONE-LABEL: func.func @padded_batch
// ONE-NOT: scf.forall
// ONE: einsum.iterate p1
// ONE-NOT: scf.forall
// ONE: return
func.func @padded_batch(%q: tensor<2x3x16x4xf32>, %kt: tensor<2x3x4x16xf32>, %v: tensor<2x3x16x4xf32>, %pad: tensor<2x16xf32>) -> tensor<2x3x16x4xf32> {
    %qk = einsum.einsum mul reduce add [b0, b1, m, n, k] (%q[b0, b1, m, k], %kt[b0, b1, k, n]) -> [b0, b1, m, n] : (tensor<2x3x16x4xf32>, tensor<2x3x4x16xf32>) -> tensor<2x3x16x16xf32>
    %s = einsum.einsum add [a, b, c, d] (%qk[a, b, c, d], %pad[a, d]) -> [a, b, c, d] : (tensor<2x3x16x16xf32>, tensor<2x16xf32>) -> tensor<2x3x16x16xf32>
    %mx = einsum.einsum copy reduce max [a, b, c, d] (%s[a, b, c, d]) -> [a, b, c] : (tensor<2x3x16x16xf32>) -> tensor<2x3x16xf32>
    %mxe = tensor.expand_shape %mx [[0], [1], [2, 3]] output_shape [2, 3, 16, 1] : tensor<2x3x16xf32> into tensor<2x3x16x1xf32>
    %e = einsum.einsum sub_exp [a, b, c, d] (%s[a, b, c, d], %mxe[a, b, c, 0]) -> [a, b, c, d] : (tensor<2x3x16x16xf32>, tensor<2x3x16x1xf32>) -> tensor<2x3x16x16xf32>
    %sum = einsum.einsum copy reduce add [a, b, c, d] (%e[a, b, c, d]) -> [a, b, c] : (tensor<2x3x16x16xf32>) -> tensor<2x3x16xf32>
    %sd = einsum.einsum div [a, b, c, d] (%e[a, b, c, d], %sum[a, b, c]) -> [a, b, c, d] : (tensor<2x3x16x16xf32>, tensor<2x3x16xf32>) -> tensor<2x3x16x16xf32>
    %av = einsum.einsum mul reduce add [b0, b1, m, n, k] (%sd[b0, b1, m, k], %v[b0, b1, k, n]) -> [b0, b1, m, n] : (tensor<2x3x16x16xf32>, tensor<2x3x16x4xf32>) -> tensor<2x3x16x4xf32>
    return %av : tensor<2x3x16x4xf32>
  }

// -----

// One sequence of one head: no rank to cut, no lanes.
// TWO: lanes = 1 : i64
// TWO-LABEL: func.func @one_head
// TWO-NOT: scf.forall
// TWO: einsum.iterate p1
// TWO-NOT: scf.forall
// TWO: return
func.func @one_head(%q: tensor<1x1x16x4xf32>, %kt: tensor<1x1x4x16xf32>, %v: tensor<1x1x16x4xf32>) -> tensor<1x1x16x4xf32> {
    %qk = einsum.einsum mul reduce add [b0, b1, m, n, k] (%q[b0, b1, m, k], %kt[b0, b1, k, n]) -> [b0, b1, m, n] : (tensor<1x1x16x4xf32>, tensor<1x1x4x16xf32>) -> tensor<1x1x16x16xf32>
    %mx = einsum.einsum copy reduce max [a, b, c, d] (%qk[a, b, c, d]) -> [a, b, c] : (tensor<1x1x16x16xf32>) -> tensor<1x1x16xf32>
    %mxe = tensor.expand_shape %mx [[0], [1], [2, 3]] output_shape [1, 1, 16, 1] : tensor<1x1x16xf32> into tensor<1x1x16x1xf32>
    %e = einsum.einsum sub_exp [a, b, c, d] (%qk[a, b, c, d], %mxe[a, b, c, 0]) -> [a, b, c, d] : (tensor<1x1x16x16xf32>, tensor<1x1x16x1xf32>) -> tensor<1x1x16x16xf32>
    %sum = einsum.einsum copy reduce add [a, b, c, d] (%e[a, b, c, d]) -> [a, b, c] : (tensor<1x1x16x16xf32>) -> tensor<1x1x16xf32>
    %sd = einsum.einsum div [a, b, c, d] (%e[a, b, c, d], %sum[a, b, c]) -> [a, b, c, d] : (tensor<1x1x16x16xf32>, tensor<1x1x16xf32>) -> tensor<1x1x16x16xf32>
    %av = einsum.einsum mul reduce add [b0, b1, m, n, k] (%sd[b0, b1, m, k], %v[b0, b1, k, n]) -> [b0, b1, m, n] : (tensor<1x1x16x16xf32>, tensor<1x1x16x4xf32>) -> tensor<1x1x16x4xf32>
    return %av : tensor<1x1x16x4xf32>
  }

// -----

// A chain inside a loop is not in a function's body, where
// memc-parallel-lanes runs lanes: it gets none.
// TWO: lanes = 1 : i64
// TWO-LABEL: func.func @in_a_loop
// TWO: scf.for
// TWO-NOT: scf.forall
// TWO: einsum.iterate p1
// TWO-NOT: scf.forall
// TWO: return
func.func @in_a_loop(%q: tensor<2x2x16x4xf32>, %kt: tensor<2x2x4x16xf32>, %v: tensor<2x2x16x4xf32>) -> tensor<2x2x16x4xf32> {
    %c0 = arith.constant 0 : index
    %c1 = arith.constant 1 : index
    %c2 = arith.constant 2 : index
    %r = scf.for %i = %c0 to %c2 step %c1 iter_args(%acc = %v) -> (tensor<2x2x16x4xf32>) {
      %qk = einsum.einsum mul reduce add [b0, b1, m, n, k] (%q[b0, b1, m, k], %kt[b0, b1, k, n]) -> [b0, b1, m, n] : (tensor<2x2x16x4xf32>, tensor<2x2x4x16xf32>) -> tensor<2x2x16x16xf32>
      %mx = einsum.einsum copy reduce max [a, b, c, d] (%qk[a, b, c, d]) -> [a, b, c] : (tensor<2x2x16x16xf32>) -> tensor<2x2x16xf32>
      %mxe = tensor.expand_shape %mx [[0], [1], [2, 3]] output_shape [2, 2, 16, 1] : tensor<2x2x16xf32> into tensor<2x2x16x1xf32>
      %e = einsum.einsum sub_exp [a, b, c, d] (%qk[a, b, c, d], %mxe[a, b, c, 0]) -> [a, b, c, d] : (tensor<2x2x16x16xf32>, tensor<2x2x16x1xf32>) -> tensor<2x2x16x16xf32>
      %sum = einsum.einsum copy reduce add [a, b, c, d] (%e[a, b, c, d]) -> [a, b, c] : (tensor<2x2x16x16xf32>) -> tensor<2x2x16xf32>
      %sd = einsum.einsum div [a, b, c, d] (%e[a, b, c, d], %sum[a, b, c]) -> [a, b, c, d] : (tensor<2x2x16x16xf32>, tensor<2x2x16xf32>) -> tensor<2x2x16x16xf32>
      %av = einsum.einsum mul reduce add [b0, b1, m, n, k] (%sd[b0, b1, m, k], %acc[b0, b1, k, n]) -> [b0, b1, m, n] : (tensor<2x2x16x16xf32>, tensor<2x2x16x4xf32>) -> tensor<2x2x16x4xf32>
      scf.yield %av : tensor<2x2x16x4xf32>
    }
    return %r : tensor<2x2x16x4xf32>
  }

// -----

// Keys of heads 2..4 of 5, read through an expression of the head rank
// (b1 + 2): a lane's slice cannot cut the heads there, so lanes=4 cuts the
// 2 sequences instead (the heads, 3, would have had more shares).
// FOUR: lanes = 2 : i64
// FOUR-LABEL: func.func @keys_by_expression
// FOUR: scf.forall (%[[L:.*]]) in (2) shared_outs
// FOUR: %[[SEQ:.*]] = arith.muli %[[L]], %c1 : index
// FOUR: tensor.extract_slice %arg1[%[[SEQ]], 0, 0, %{{.*}}] [1, 5, 4, 4]
// FOUR: einsum.einsum mul reduce add [b0, b1, p, m0, e] (%{{.*}}[b0, b1, p, e], %{{.*}}[b0, b1 + 2, e, m0])
func.func @keys_by_expression(%q: tensor<2x3x16x4xf32>, %kt: tensor<2x5x4x16xf32>, %v: tensor<2x3x16x4xf32>) -> tensor<2x3x16x4xf32> {
    %qk = einsum.einsum mul reduce add [b0, b1, m, n, k] (%q[b0, b1, m, k], %kt[b0, b1 + 2, k, n]) -> [b0, b1, m, n] : (tensor<2x3x16x4xf32>, tensor<2x5x4x16xf32>) -> tensor<2x3x16x16xf32>
    %mx = einsum.einsum copy reduce max [a, b, c, d] (%qk[a, b, c, d]) -> [a, b, c] : (tensor<2x3x16x16xf32>) -> tensor<2x3x16xf32>
    %mxe = tensor.expand_shape %mx [[0], [1], [2, 3]] output_shape [2, 3, 16, 1] : tensor<2x3x16xf32> into tensor<2x3x16x1xf32>
    %e = einsum.einsum sub_exp [a, b, c, d] (%qk[a, b, c, d], %mxe[a, b, c, 0]) -> [a, b, c, d] : (tensor<2x3x16x16xf32>, tensor<2x3x16x1xf32>) -> tensor<2x3x16x16xf32>
    %sum = einsum.einsum copy reduce add [a, b, c, d] (%e[a, b, c, d]) -> [a, b, c] : (tensor<2x3x16x16xf32>) -> tensor<2x3x16xf32>
    %sd = einsum.einsum div [a, b, c, d] (%e[a, b, c, d], %sum[a, b, c]) -> [a, b, c, d] : (tensor<2x3x16x16xf32>, tensor<2x3x16xf32>) -> tensor<2x3x16x16xf32>
    %av = einsum.einsum mul reduce add [b0, b1, m, n, k] (%sd[b0, b1, m, k], %v[b0, b1, k, n]) -> [b0, b1, m, n] : (tensor<2x3x16x16xf32>, tensor<2x3x16x4xf32>) -> tensor<2x3x16x4xf32>
    return %av : tensor<2x3x16x4xf32>
  }
