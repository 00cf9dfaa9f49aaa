// RUN: memc-opt %s -split-input-file --memc-conv-to-gemm="min-macs=0" | FileCheck %s --enable-var-scope
// RUN: memc-opt %s -split-input-file --memc-conv-to-gemm="max-bytes=1024 min-macs=0" | FileCheck %s --check-prefixes=SMALL,TIGHT
// RUN: memc-opt %s -split-input-file --memc-conv-to-gemm | FileCheck %s --check-prefix=SMALL
// RUN: memc-opt %s -split-input-file --memc-conv-to-gemm="min-macs=0" --memc-einsum-to-linalg --memc-bufferize --memc-contractions-to-blas | FileCheck %s --check-prefix=BLAS
// RUN: memc-opt %s -split-input-file --memc-conv-to-gemm="max-bytes=16384 min-macs=0" | FileCheck %s --check-prefix=CHUNK --enable-var-scope

// A 3x3 convolution at batch 1: the im2col copy [c, k0, k1, o0, o1] (the
// unit batch rank read as 0; the image's columns o1 stay innermost, so the
// copy moves rows), the weights as they lie ([m, c, k0, k1] is a GEMM
// operand [M, K]), one GEMM W P straight into [m, o0, o1], and the unit
// rank back by an expand_shape: no transpose.
// CHECK-LABEL: func @conv_batch1
// CHECK: %[[P:.*]] = einsum.einsum copy [c, o0, o1, k0, k1] (%arg0[0, c, o0 + k0, o1 + k1]) -> [c, k0, k1, o0, o1] : (tensor<1x3x10x10xf32>) -> tensor<3x3x3x8x8xf32>
// CHECK: %[[R:.*]] = einsum.einsum mul reduce add [c, k0, k1, o0, o1, m] (%[[P]][c, k0, k1, o0, o1], %arg1[m, c, k0, k1]) -> [m, o0, o1] : {{.*}} -> tensor<16x8x8xf32>
// CHECK: %[[Y:.*]] = tensor.expand_shape %[[R]] {{\[\[}}0, 1], [2], [3]] output_shape [1, 16, 8, 8]
// CHECK: return %[[Y]]
// Above max-bytes (the im2col copy is 6,912 bytes), or below min-macs
// (27,648 products; the default is 2M), nothing changes.
// SMALL-LABEL: func @conv_batch1
// SMALL: einsum.einsum mul reduce add [n, m, c, o0, o1, k0, k1] (%arg0[n, c, o0 + k0, o1 + k1], %arg1[m, c, k0, k1])
// The GEMM is BLAS's.
// BLAS-LABEL: func @conv_batch1
// BLAS: call @memc_rt_sgemm
// BLAS-LABEL: func @conv_batch4_stride2
// BLAS: call @memc_rt_sgemm(%c4_i64, %c0_i32, %c0_i32{{.*}}, %c16_i64, %c16_i64{{.*}}, %c27_i64, %{{.*}}, %{{.*}}, %c27_i64{{.*}}, %c0_i64,
// BLAS-LABEL: func @pointwise
// BLAS-NOT: linalg.generic
// BLAS: call @memc_rt_sgemm(%c1_i64, %c0_i32, %c0_i32{{.*}}, %c16_i64, %c64_i64{{.*}}, %c8_i64,
// BLAS-LABEL: func @weight_gradient
// BLAS: call @memc_rt_sgemm
func.func @conv_batch1(%x: tensor<1x3x10x10xf32>, %w: tensor<16x3x3x3xf32>) -> tensor<1x16x8x8xf32> {
  %y = einsum.einsum mul reduce add [n, m, c, o0, o1, k0, k1] (%x[n, c, o0 + k0, o1 + k1], %w[m, c, k0, k1]) -> [n, m, o0, o1] : (tensor<1x3x10x10xf32>, tensor<16x3x3x3xf32>) -> tensor<1x16x8x8xf32>
  return %y : tensor<1x16x8x8xf32>
}

// -----

// At batch 4 with stride 2, the images stay outside: P is [n, c, k0, k1,
// o0, o1], and the GEMM is a batch of 4 that share the weights, each
// writing its image of the NCHW result: no reordering copy.
// CHECK-LABEL: func @conv_batch4_stride2
// CHECK: %[[P:.*]] = einsum.einsum copy [n, c, o0, o1, k0, k1] (%arg0[n, c, o0 * 2 + k0, o1 * 2 + k1]) -> [n, c, k0, k1, o0, o1]
// CHECK: %[[R:.*]] = einsum.einsum mul reduce add [n, c, k0, k1, o0, o1, m] (%[[P]][n, c, k0, k1, o0, o1], %arg1[m, c, k0, k1]) -> [n, m, o0, o1] : {{.*}} -> tensor<4x16x4x4xf32>
// CHECK-NOT: einsum.einsum copy
// CHECK: return %[[R]]
func.func @conv_batch4_stride2(%x: tensor<4x3x9x9xf32>, %w: tensor<16x3x3x3xf32>) -> tensor<4x16x4x4xf32> {
  %y = einsum.einsum mul reduce add [n, m, c, o0, o1, k0, k1] (%x[n, c, o0 * 2 + k0, o1 * 2 + k1], %w[m, c, k0, k1]) -> [n, m, o0, o1] : (tensor<4x3x9x9xf32>, tensor<16x3x3x3xf32>) -> tensor<4x16x4x4xf32>
  return %y : tensor<4x16x4x4xf32>
}

// -----

// A 1x1 convolution of stride 1: its im2col copy would be the image itself
// ([c, o0, o1]), so the GEMM reads the image in place: no copy at all.
// CHECK-LABEL: func @pointwise
// CHECK-NOT: einsum.einsum copy
// CHECK: %[[X:.*]] = tensor.collapse_shape %arg0 {{\[\[}}0, 1], [2], [3]] : tensor<1x8x8x8xf32> into tensor<8x8x8xf32>
// CHECK: %[[W:.*]] = tensor.collapse_shape %arg1 {{\[\[}}0], [1, 2, 3]]
// CHECK: %[[R:.*]] = einsum.einsum mul reduce add [c, o0, o1, m] (%[[X]][c, o0, o1], %[[W]][m, c]) -> [m, o0, o1]
// CHECK: tensor.expand_shape %[[R]]
// Under max-bytes below the image's 2,048 bytes (a tight --mem-budget), it
// is the same GEMM, neither chunked nor refused: it copies nothing.
// TIGHT-LABEL: func @pointwise
// TIGHT-NOT: einsum.iterate
// TIGHT: einsum.einsum mul reduce add [c, o0, o1, m]
func.func @pointwise(%x: tensor<1x8x8x8xf32>, %w: tensor<16x8x1x1xf32>) -> tensor<1x16x8x8xf32> {
  %y = einsum.einsum mul reduce add [n, m, c, o0, o1, k0, k1] (%x[n, c, o0 + k0, o1 + k1], %w[m, c, k0, k1]) -> [n, m, o0, o1] : (tensor<1x8x8x8xf32>, tensor<16x8x1x1xf32>) -> tensor<1x16x8x8xf32>
  return %y : tensor<1x16x8x8xf32>
}

// -----

// A weight gradient (autodiff's form): dY [n, m, o0, o1] is reordered to
// [n, o0, o1, m] ([contracted, free]); the result [m, c, k0, k1] is the
// GEMM's own [free(dY), free(x)] order.
// CHECK-LABEL: func @weight_gradient
// CHECK: %[[P:.*]] = einsum.einsum copy [n, c, o0, o1, k0, k1] (%arg1[n, c, o0 + k0, o1 + k1]) -> [c, k0, k1, n, o0, o1]
// CHECK: %[[B:.*]] = einsum.einsum copy [n, m, o0, o1] (%arg0[n, m, o0, o1]) -> [n, o0, o1, m]
// CHECK: %[[R:.*]] = einsum.einsum mul reduce add [c, k0, k1, n, o0, o1, m] (%[[P]][c, k0, k1, n, o0, o1], %[[B]][n, o0, o1, m]) -> [m, c, k0, k1] : {{.*}} -> tensor<16x8x3x3xf32>
// CHECK: return %[[R]]
func.func @weight_gradient(%dy: tensor<4x16x8x8xf32>, %x: tensor<4x8x10x10xf32>) -> tensor<16x8x3x3xf32> {
  %dw = einsum.einsum mul reduce add [n, m, c, o0, o1, k0, k1] (%dy[n, m, o0, o1], %x[n, c, o0 + k0, o1 + k1]) -> [m, c, k0, k1] : (tensor<4x16x8x8xf32>, tensor<4x8x10x10xf32>) -> tensor<16x8x3x3xf32>
  return %dw : tensor<16x8x3x3xf32>
}

// -----

// Not contractions of that form: a max-pool (reduce max), and a windowed
// sum whose reduced rank only one operand reads.
// CHECK-LABEL: func @left_alone
// CHECK: einsum.einsum mul reduce max [n, c, o0, o1, k0, k1]
// CHECK: einsum.einsum mul reduce add [c, o, k, j] (%arg2[c, o + k], %arg3[k, j]) -> [c, o]
// CHECK-NOT: einsum.einsum copy
func.func @left_alone(%x: tensor<1x4x8x8xf32>, %ones: tensor<2x2xf32>, %v: tensor<4x10xf32>, %u: tensor<3x2xf32>)
    -> (tensor<1x4x4x4xf32>, tensor<4x8xf32>) {
  %p = einsum.einsum mul reduce max [n, c, o0, o1, k0, k1] (%x[n, c, o0 * 2 + k0, o1 * 2 + k1], %ones[k0, k1]) -> [n, c, o0, o1] : (tensor<1x4x8x8xf32>, tensor<2x2xf32>) -> tensor<1x4x4x4xf32>
  %s = einsum.einsum mul reduce add [c, o, k, j] (%v[c, o + k], %u[k, j]) -> [c, o] : (tensor<4x10xf32>, tensor<3x2xf32>) -> tensor<4x8xf32>
  return %p, %s : tensor<1x4x4x4xf32>, tensor<4x8xf32>
}

// -----

// A convolution's input gradient at one kernel offset (autodiff's form):
// the kernel's slice [m, c, 0, 0] is strided in both ranks, so it becomes a
// compact [m, c] copy; the contraction is then a GEMM per batch entry with
// that copy broadcast (GemmMatch's broadcast batch).
// CHECK-LABEL: func @input_gradient_offset
// CHECK: %[[S:.*]] = tensor.extract_slice %arg1[0, 0, 1, 2] [16, 8, 1, 1] [1, 1, 1, 1]
// CHECK: %[[W:.*]] = einsum.einsum copy [m, c] (%[[S]][m, c, 0, 0]) -> [m, c] : (tensor<16x8x1x1xf32>) -> tensor<16x8xf32>
// CHECK: einsum.einsum mul reduce add [n, m, c, o0, o1] (%arg0[n, m, o0, o1], %[[W]][m, c]) -> [n, c, o0, o1]
// BLAS-LABEL: func @input_gradient_offset
// BLAS: call @memc_rt_sgemm
func.func @input_gradient_offset(%dy: tensor<4x16x8x8xf32>, %w: tensor<16x8x3x3xf32>) -> tensor<4x8x8x8xf32> {
  %s = tensor.extract_slice %w[0, 0, 1, 2] [16, 8, 1, 1] [1, 1, 1, 1] : tensor<16x8x3x3xf32> to tensor<16x8x1x1xf32>
  %dx = einsum.einsum mul reduce add [n, m, c, o0, o1] (%dy[n, m, o0, o1], %s[m, c, 0, 0]) -> [n, c, o0, o1] : (tensor<4x16x8x8xf32>, tensor<16x8x1x1xf32>) -> tensor<4x8x8x8xf32>
  return %dx : tensor<4x8x8x8xf32>
}

// -----

// A depthwise convolution (one 3x3 filter per channel): its GEMM would be a
// matrix-vector product per channel, which the im2col copy costs as much
// as; it stays a windowed loop nest.
// CHECK-LABEL: func @depthwise
// CHECK-NOT: einsum.einsum copy
// CHECK: einsum.einsum mul reduce add [n, g, m, c, o0, o1, k0, k1] (%arg0[n, g, c, o0 + k0, o1 + k1], %arg1[g, m, c, k0, k1])
func.func @depthwise(%x: tensor<1x32x1x58x58xf32>, %w: tensor<32x1x1x3x3xf32>) -> tensor<1x32x1x56x56xf32> {
  %y = einsum.einsum mul reduce add [n, g, m, c, o0, o1, k0, k1] (%x[n, g, c, o0 + k0, o1 + k1], %w[g, m, c, k0, k1]) -> [n, g, m, o0, o1] : (tensor<1x32x1x58x58xf32>, tensor<32x1x1x3x3xf32>) -> tensor<1x32x1x56x56xf32>
  return %y : tensor<1x32x1x56x56xf32>
}

// -----

// An im2col copy over max-bytes is made a chunk of the batch at a time: a
// forward convolution (8 images, 27 KiB of copy per 2 images at most) writes
// each chunk's result into its rows; a weight gradient (the batch is
// contracted) sums the chunks' GEMMs.
// CHUNK-LABEL: func @chunked
// CHUNK: %[[Y:.*]] = einsum.iterate chunk(%[[I:.*]]) < 4 iter_args(%[[ACC:.*]] = %{{.*}}) : tensor<8x8x8x8xf32>
// CHUNK: %[[OFF:.*]] = arith.muli %[[I]], %{{.*}} : index
// CHUNK: %[[X:.*]] = tensor.extract_slice %arg0[%[[OFF]], 0, 0, 0] [2, 3, 10, 10]
// CHUNK: einsum.einsum copy [n, c, o0, o1, k0, k1] (%[[X]][n, c, o0 + k0, o1 + k1]) -> [n, c, k0, k1, o0, o1] : (tensor<2x3x10x10xf32>) -> tensor<2x3x3x3x8x8xf32>
// CHUNK: einsum.einsum mul reduce add
// CHUNK: tensor.insert_slice %{{.*}} into %[[ACC]][%[[OFF]], 0, 0, 0] [2, 8, 8, 8]
// CHUNK: %[[DW:.*]] = einsum.iterate chunk(%[[J:.*]]) < 4 iter_args(%[[SUM:.*]] = %{{.*}}) : tensor<8x3x3x3xf32>
// CHUNK: tensor.extract_slice %arg0[%{{.*}}, 0, 0, 0] [2, 3, 10, 10]
// CHUNK: tensor.extract_slice %arg2[%{{.*}}, 0, 0, 0] [2, 8, 8, 8]
// CHUNK: einsum.einsum mul reduce add
// CHUNK: einsum.einsum add [m, c, k0, k1] (%[[SUM]][m, c, k0, k1], %{{.*}}[m, c, k0, k1])
// CHUNK: return %[[Y]], %[[DW]]
func.func @chunked(%x: tensor<8x3x10x10xf32>, %w: tensor<8x3x3x3xf32>, %dy: tensor<8x8x8x8xf32>)
    -> (tensor<8x8x8x8xf32>, tensor<8x3x3x3xf32>) {
  %y = einsum.einsum mul reduce add [n, m, c, o0, o1, k0, k1] (%x[n, c, o0 + k0, o1 + k1], %w[m, c, k0, k1]) -> [n, m, o0, o1] : (tensor<8x3x10x10xf32>, tensor<8x3x3x3xf32>) -> tensor<8x8x8x8xf32>
  %dw = einsum.einsum mul reduce add [m, c, k0, k1, n, o0, o1] (%x[n, c, o0 + k0, o1 + k1], %dy[n, m, o0, o1]) -> [m, c, k0, k1] : (tensor<8x3x10x10xf32>, tensor<8x8x8x8xf32>) -> tensor<8x3x3x3xf32>
  return %y, %dw : tensor<8x8x8x8xf32>, tensor<8x3x3x3xf32>
}

// -----

// keep-weight-windows: the entry's convolutions of its weights that
// memc-contractions-to-blas takes as memc_rt_sgemm_packed_a_window stay
// whole (stride 2 included); a 1x1 convolution of stride 1 needs no copy
// and is a plain GEMM either way; a convolution of an input (not a weight)
// and one at batch 2 still get their im2col copies. Through the CPU
// pipeline's passes the kept one becomes the window call.
// RUN: memc-opt %s -split-input-file --memc-conv-to-gemm="min-macs=0 keep-weight-windows=true" | FileCheck %s --check-prefix=KEEP
// RUN: memc-opt %s -split-input-file --memc-conv-to-gemm="min-macs=0 keep-weight-windows=true" --memc-einsum-to-linalg --memc-bufferize --memc-contractions-to-blas=packed-weights=true | FileCheck %s --check-prefix=KEEPBLAS
// KEEP-LABEL: func @main_graph
// KEEP: einsum.einsum mul reduce add [n, m, c, o0, o1, k0, k1] (%arg0[n, c, o0 * 2 + k0, o1 * 2 + k1], %arg1[m, c, k0, k1]) -> [n, m, o0, o1]
// KEEP: einsum.einsum mul reduce add [c, o0, o1, m] (%{{.*}}[c, o0, o1], %{{.*}}[m, c]) -> [m, o0, o1]
// KEEP: einsum.einsum copy [c, o0, o1, k0, k1] (%arg3[0, c, o0 + k0, o1 + k1])
// KEEP: einsum.einsum copy [n, c, o0, o1, k0, k1] (%arg5[n, c, o0 + k0, o1 + k1])
// KEEP-NOT: einsum.einsum copy
// KEEPBLAS-LABEL: func @main_graph
// KEEPBLAS: call @memc_rt_sgemm_packed_a_window(
// KEEPBLAS: call @memc_rt_sgemm_packed_a(%c1_i64
// KEEPBLAS: call @memc_rt_sgemm(
// KEEPBLAS: call @memc_rt_sgemm_packed_a(%c2_i64
// KEEPBLAS-NOT: window
// CHECK-LABEL: func @main_graph
// SMALL-LABEL: func @main_graph
// BLAS-LABEL: func @main_graph
func.func @main_graph(%x: tensor<1x3x17x17xf32> {memc.input = "x"},
                      %w: tensor<16x3x3x3xf32> {memc.weight = "w"},
                      %w1: tensor<16x3x1x1xf32> {memc.weight = "w1"},
                      %x2: tensor<1x3x10x10xf32> {memc.input = "x2"},
                      %wi: tensor<16x3x3x3xf32> {memc.input = "wi"},
                      %xb: tensor<2x3x10x10xf32> {memc.input = "xb"})
    -> (tensor<1x16x8x8xf32>, tensor<1x16x17x17xf32>, tensor<1x16x8x8xf32>,
        tensor<2x16x8x8xf32>) {
  %y = einsum.einsum mul reduce add [n, m, c, o0, o1, k0, k1] (%x[n, c, o0 * 2 + k0, o1 * 2 + k1], %w[m, c, k0, k1]) -> [n, m, o0, o1] : (tensor<1x3x17x17xf32>, tensor<16x3x3x3xf32>) -> tensor<1x16x8x8xf32>
  %y1 = einsum.einsum mul reduce add [n, m, c, o0, o1, k0, k1] (%x[n, c, o0 + k0, o1 + k1], %w1[m, c, k0, k1]) -> [n, m, o0, o1] : (tensor<1x3x17x17xf32>, tensor<16x3x1x1xf32>) -> tensor<1x16x17x17xf32>
  %yi = einsum.einsum mul reduce add [n, m, c, o0, o1, k0, k1] (%x2[n, c, o0 + k0, o1 + k1], %wi[m, c, k0, k1]) -> [n, m, o0, o1] : (tensor<1x3x10x10xf32>, tensor<16x3x3x3xf32>) -> tensor<1x16x8x8xf32>
  %yb = einsum.einsum mul reduce add [n, m, c, o0, o1, k0, k1] (%xb[n, c, o0 + k0, o1 + k1], %w[m, c, k0, k1]) -> [n, m, o0, o1] : (tensor<2x3x10x10xf32>, tensor<16x3x3x3xf32>) -> tensor<2x16x8x8xf32>
  return %y, %y1, %yi, %yb : tensor<1x16x8x8xf32>, tensor<1x16x17x17xf32>, tensor<1x16x8x8xf32>, tensor<2x16x8x8xf32>
}

// -----

// A train step's weights change: its convolutions get their copies.
// KEEP-LABEL: func @main_graph
// KEEP: einsum.einsum copy
// CHECK-LABEL: func @main_graph
// SMALL-LABEL: func @main_graph
// BLAS-LABEL: func @main_graph
// KEEPBLAS-LABEL: func @main_graph
// KEEPBLAS-NOT: window
module attributes {memc.train = {loss = "mse", optimizer = "sgd"}} {
  func.func @main_graph(%x: tensor<1x3x10x10xf32> {memc.input = "x"},
                        %w: tensor<16x3x3x3xf32> {memc.weight = "w", memc.trainable})
      -> tensor<1x16x8x8xf32> {
    %y = einsum.einsum mul reduce add [n, m, c, o0, o1, k0, k1] (%x[n, c, o0 + k0, o1 + k1], %w[m, c, k0, k1]) -> [n, m, o0, o1] : (tensor<1x3x10x10xf32>, tensor<16x3x3x3xf32>) -> tensor<1x16x8x8xf32>
    return %y : tensor<1x16x8x8xf32>
  }
}
