// RUN: memc-opt %s -split-input-file -verify-diagnostics

func.func @arity(%a: tensor<4xf32>) -> tensor<4xf32> {
  // expected-error @+1 {{compute 'add' takes 2 operand(s), got 1}}
  %z = einsum.einsum add [i] (%a[i]) -> [i] : (tensor<4xf32>) -> tensor<4xf32>
  return %z : tensor<4xf32>
}

// -----

func.func @missing_reduce(%a: tensor<4x8xf32>) -> tensor<4xf32> {
  // expected-error @+1 {{ranks absent from the result need a reduce action}}
  %z = einsum.einsum copy [i, j] (%a[i, j]) -> [i] : (tensor<4x8xf32>) -> tensor<4xf32>
  return %z : tensor<4xf32>
}

// -----

func.func @nothing_to_reduce(%a: tensor<4xf32>) -> tensor<4xf32> {
  // expected-error @+1 {{reduce 'add' has no rank to reduce over}}
  %z = einsum.einsum copy reduce add [i] (%a[i]) -> [i] : (tensor<4xf32>) -> tensor<4xf32>
  return %z : tensor<4xf32>
}

// -----

func.func @extent_mismatch(%a: tensor<4x8xf32>, %b: tensor<9x16xf32>) -> tensor<4x16xf32> {
  // expected-error @+1 {{rank 'k' has extent 8 but operand #1 dimension 0 is 9}}
  %z = einsum.einsum mul reduce add [m, n, k] (%a[m, k], %b[k, n]) -> [m, n] : (tensor<4x8xf32>, tensor<9x16xf32>) -> tensor<4x16xf32>
  return %z : tensor<4x16xf32>
}

// -----

func.func @window_out_of_bounds(%x: tensor<8xf32>, %w: tensor<3xf32>) -> tensor<4xf32> {
  // expected-error @+1 {{operand #0 dimension 0 is indexed up to 8 but has size 8}}
  %y = einsum.einsum mul reduce add [o, k] (%x[o * 2 + k], %w[k]) -> [o] : (tensor<8xf32>, tensor<3xf32>) -> tensor<4xf32>
  return %y : tensor<4xf32>
}

// -----

func.func @unknown_extent(%x: tensor<8xf32>) -> tensor<4xf32> {
  // expected-error @+1 {{rank 'k' indexes no dimension directly, so its extent is unknown}}
  %y = einsum.einsum copy reduce max [o, k] (%x[o + k]) -> [o] : (tensor<8xf32>) -> tensor<4xf32>
  return %y : tensor<4xf32>
}

// -----

func.func @result_not_permutation(%x: tensor<4x4xf32>) -> tensor<4x4xf32> {
  // expected-error @+1 {{the result's indexing map must be a projected permutation}}
  %y = einsum.einsum copy [i, j] (%x[i, j]) -> [i, i] : (tensor<4x4xf32>) -> tensor<4x4xf32>
  return %y : tensor<4x4xf32>
}

// -----

func.func @float_only(%x: tensor<4xi32>) -> tensor<4xi32> {
  // expected-error @+1 {{'exp' needs floating-point operands, got 'i32'}}
  %y = einsum.einsum exp [i] (%x[i]) -> [i] : (tensor<4xi32>) -> tensor<4xi32>
  return %y : tensor<4xi32>
}

// -----

func.func @cmp_result(%x: tensor<4xf32>) -> tensor<4xf32> {
  // expected-error @+1 {{result element type must be 'i1' for 'lt', got 'f32'}}
  %y = einsum.einsum lt [i] (%x[i], %x[i]) -> [i] : (tensor<4xf32>, tensor<4xf32>) -> tensor<4xf32>
  return %y : tensor<4xf32>
}

// -----

func.func @select_cond(%x: tensor<4xf32>) -> tensor<4xf32> {
  // expected-error @+1 {{select's condition must be i1, got 'f32'}}
  %y = einsum.einsum select [i] (%x[i], %x[i], %x[i]) -> [i] : (tensor<4xf32>, tensor<4xf32>, tensor<4xf32>) -> tensor<4xf32>
  return %y : tensor<4xf32>
}

// -----

func.func @rank_named_twice(%x: tensor<4xf32>) -> tensor<4xf32> {
  // expected-error @+1 {{rank 'i' is named twice}}
  %y = einsum.einsum copy [i, i] (%x[i]) -> [i] : (tensor<4xf32>) -> tensor<4xf32>
  return %y : tensor<4xf32>
}

// -----

func.func @unknown_compute(%x: tensor<4xf32>) -> tensor<4xf32> {
  // expected-error @+1 {{unknown compute operator 'frobnicate'}}
  %y = einsum.einsum frobnicate [i] (%x[i]) -> [i] : (tensor<4xf32>) -> tensor<4xf32>
  return %y : tensor<4xf32>
}

// -----

func.func @bool_sum(%x: tensor<4xi1>) -> tensor<i1> {
  // expected-error @+1 {{cannot reduce i1 values with 'add'}}
  %y = einsum.einsum copy reduce add [i] (%x[i]) -> [] : (tensor<4xi1>) -> tensor<i1>
  return %y : tensor<i1>
}

// -----

func.func @iterate_yield(%x: tensor<4xf32>) -> tensor<4xf32> {
  %r = einsum.iterate m1(%i) < 2 iter_args(%a = %x) : tensor<4xf32> {
    %c = arith.constant dense<0.0> : tensor<2xf32>
    // expected-error @+1 {{must yield one value of each carried type (1 value(s))}}
    einsum.yield %c : tensor<2xf32>
  }
  return %r : tensor<4xf32>
}

// -----

func.func @iterate_extent(%x: tensor<4xf32>) -> tensor<4xf32> {
  // expected-error @+1 {{iterative rank 'm1' needs a positive extent, got 0}}
  %r = einsum.iterate m1(%i) < 0 iter_args(%a = %x) : tensor<4xf32> {
    einsum.yield %a : tensor<4xf32>
  }
  return %r : tensor<4xf32>
}

// -----

func.func @attention_mixed(%q: tensor<2x16x8xf32>, %m: memref<2x16x8xf32>) {
  // expected-error @+1 {{operands must be all ranked tensors or all memrefs}}
  einsum.attention %q, %q, %q outs(%m : memref<2x16x8xf32>) scale 1.0 : tensor<2x16x8xf32>, tensor<2x16x8xf32>, tensor<2x16x8xf32>
  return
}

// -----

func.func @attention_rank(%q: tensor<16x8xf32>, %o: tensor<16x8xf32>) {
  // expected-error @+1 {{operands must be static [batch, sequence, feature] shapes; got 'tensor<16x8xf32>'}}
  %r = einsum.attention %q, %q, %q outs(%o : tensor<16x8xf32>) scale 1.0 : tensor<16x8xf32>, tensor<16x8xf32>, tensor<16x8xf32> -> tensor<16x8xf32>
  return
}

// -----

func.func @attention_f16(%q: tensor<2x16x8xf16>, %o: tensor<2x16x8xf16>) {
  // expected-error @+1 {{supports f32 only; got 'f16'}}
  %r = einsum.attention %q, %q, %q outs(%o : tensor<2x16x8xf16>) scale 1.0 : tensor<2x16x8xf16>, tensor<2x16x8xf16>, tensor<2x16x8xf16> -> tensor<2x16x8xf16>
  return
}

// -----

func.func @attention_no_result(%q: tensor<2x16x8xf32>) {
  // expected-error @+1 {{on tensors returns one result of the output's type}}
  einsum.attention %q, %q, %q outs(%q : tensor<2x16x8xf32>) scale 1.0 : tensor<2x16x8xf32>, tensor<2x16x8xf32>, tensor<2x16x8xf32>
  return
}

// -----

func.func @attention_feature(%q: tensor<2x16x8xf32>, %k: tensor<2x32x4xf32>, %v: tensor<2x32x8xf32>, %o: tensor<2x16x8xf32>) {
  // expected-error @+1 {{query and key feature sizes differ: 8 vs 4}}
  %r = einsum.attention %q, %k, %v outs(%o : tensor<2x16x8xf32>) scale 1.0 : tensor<2x16x8xf32>, tensor<2x32x4xf32>, tensor<2x32x8xf32> -> tensor<2x16x8xf32>
  return
}

// -----

func.func @attention_seq(%q: tensor<2x16x8xf32>, %k: tensor<2x32x8xf32>, %v: tensor<2x16x8xf32>, %o: tensor<2x16x8xf32>) {
  // expected-error @+1 {{key and value sequence lengths differ: 32 vs 16}}
  %r = einsum.attention %q, %k, %v outs(%o : tensor<2x16x8xf32>) scale 1.0 : tensor<2x16x8xf32>, tensor<2x32x8xf32>, tensor<2x16x8xf32> -> tensor<2x16x8xf32>
  return
}

// -----

func.func @attention_output(%q: tensor<2x16x8xf32>, %v: tensor<2x16x4xf32>, %o: tensor<2x16x8xf32>) {
  // expected-error @+1 {{output must be [2, 16, 4]; got 'tensor<2x16x8xf32>'}}
  %r = einsum.attention %q, %q, %v outs(%o : tensor<2x16x8xf32>) scale 1.0 : tensor<2x16x8xf32>, tensor<2x16x8xf32>, tensor<2x16x4xf32> -> tensor<2x16x8xf32>
  return
}

// -----

func.func @attention_batch(%q: tensor<2x16x8xf32>, %k: tensor<3x16x8xf32>, %o: tensor<2x16x8xf32>) {
  // expected-error @+1 {{batch sizes differ: query 2, key 3, value 2, output 2}}
  %r = einsum.attention %q, %k, %q outs(%o : tensor<2x16x8xf32>) scale 1.0 : tensor<2x16x8xf32>, tensor<3x16x8xf32>, tensor<2x16x8xf32> -> tensor<2x16x8xf32>
  return
}

// -----

func.func @attention_mask(%q: tensor<2x16x8xf32>, %o: tensor<2x16x8xf32>) {
  // expected-error @+1 {{masked_from must be at least 1 (every query keeps key m = p); got 0}}
  %r = einsum.attention %q, %q, %q outs(%o : tensor<2x16x8xf32>) scale 1.0 masked_from 0 : tensor<2x16x8xf32>, tensor<2x16x8xf32>, tensor<2x16x8xf32> -> tensor<2x16x8xf32>
  return
}

// -----

func.func @attention_bias_shape(%q: tensor<8x128x64xf32>, %k: tensor<8x256x64xf32>, %b: tensor<8x128xf32>, %o: tensor<8x128x64xf32>) -> tensor<8x128x64xf32> {
  // expected-error @+1 {{bias must be f32 [8, 256] (batch, keys); got 'tensor<8x128xf32>'}}
  %r = einsum.attention %q, %k, %k bias %b : tensor<8x128xf32> outs(%o : tensor<8x128x64xf32>) scale 0.125 : tensor<8x128x64xf32>, tensor<8x256x64xf32>, tensor<8x256x64xf32> -> tensor<8x128x64xf32>
  return %r : tensor<8x128x64xf32>
}

// -----

func.func @attention_bias_kind(%q: memref<8x128x64xf32>, %b: tensor<8x128xf32>, %o: memref<8x128x64xf32>) {
  // expected-error @+1 {{operands must be all ranked tensors or all memrefs}}
  einsum.attention %q, %q, %q bias %b : tensor<8x128xf32> outs(%o : memref<8x128x64xf32>) scale 0.125 : memref<8x128x64xf32>, memref<8x128x64xf32>, memref<8x128x64xf32>
  return
}

// -----

func.func @attention_offset_without_mask(%q: tensor<2x1x8xf32>, %k: tensor<2x16x8xf32>, %o: tensor<2x1x8xf32>, %at: index) {
  // expected-error @+1 {{query_offset places the queries in a causal triangle: it needs masked_from}}
  %r = einsum.attention %q, %k, %k outs(%o : tensor<2x1x8xf32>) scale 1.0 query_offset %at : tensor<2x1x8xf32>, tensor<2x16x8xf32>, tensor<2x16x8xf32> -> tensor<2x1x8xf32>
  return
}
