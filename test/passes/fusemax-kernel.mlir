// RUN: memc-opt %s -split-input-file -memc-fusemax-attention="kernel=true remarks=true" -verify-diagnostics | FileCheck %s --enable-var-scope
// The GPU's einsum -> linalg pipeline: einsum.attention stays (its kernel
// comes after bufferization), the layout copies become linalg.
// RUN: memc-opt %s -split-input-file -memc-einsum-to-linalg=attention-kernel=true | FileCheck %s --check-prefix=PIPE
// PIPE-LABEL: func.func @encoder
// PIPE: linalg.generic
// PIPE: einsum.attention
// PIPE-NOT: einsum.einsum
// PIPE-LABEL: func.func @causal_heads_last
// PIPE: einsum.attention {{.*}} masked_from 1

// GPU targets: an attention block becomes one einsum.attention on
// [batch x heads, sequence, feature] operands. The Div by 2 folds into
// scale 0.5; K, given transposed, is copied into [.., m, d] layout.
// CHECK: module attributes {memc.fused_attention = 1 : i64, memc.fusemax_cascades = [{causal_skip = false, form = "kernel", kv_tile = 32 : i64, lanes = 1 : i64, passes_after = 1 : i64, passes_before = 3 : i64, query_tile = 16 : i64, rank = "m"}]}
// CHECK-LABEL: func.func @encoder
// CHECK-NOT: tensor<1x2x16x16xf32>
// CHECK: %[[KT:.*]] = einsum.einsum copy [r0, r1, r2, r3] (%arg1[r0, r1, r3, r2]) -> [r0, r1, r2, r3] : (tensor<1x2x4x16xf32>) -> tensor<1x2x16x4xf32>
// CHECK-DAG: %[[Q:.*]] = tensor.collapse_shape %arg0 {{\[}}[0, 1], [2], [3]] : tensor<1x2x16x4xf32> into tensor<2x16x4xf32>
// CHECK-DAG: %[[K:.*]] = tensor.collapse_shape %[[KT]] {{\[}}[0, 1], [2], [3]]
// CHECK-DAG: %[[V:.*]] = tensor.collapse_shape %arg2 {{\[}}[0, 1], [2], [3]]
// CHECK: %[[INIT:.*]] = tensor.empty() : tensor<2x16x4xf32>
// CHECK: %[[O:.*]] = einsum.attention %[[Q]], %[[K]], %[[V]] outs(%[[INIT]] : tensor<2x16x4xf32>) scale 5.000000e-01 : tensor<2x16x4xf32>, tensor<2x16x4xf32>, tensor<2x16x4xf32> -> tensor<2x16x4xf32>
// CHECK: %[[OUT:.*]] = tensor.expand_shape %[[O]] {{\[}}[0, 1], [2], [3]] output_shape [1, 2, 16, 4]
// CHECK: return %[[OUT]]

func.func @encoder(%q: tensor<1x2x16x4xf32>, %kt: tensor<1x2x4x16xf32>, %v: tensor<1x2x16x4xf32>) -> tensor<1x2x16x4xf32> {
    %qk = einsum.einsum mul reduce add [b0, b1, m, n, k] (%q[b0, b1, m, k], %kt[b0, b1, k, n]) -> [b0, b1, m, n] : (tensor<1x2x16x4xf32>, tensor<1x2x4x16xf32>) -> tensor<1x2x16x16xf32>
    %scale = arith.constant dense<2.0> : tensor<f32>
    %s = einsum.einsum div [a, b, c, d] (%qk[a, b, c, d], %scale[]) -> [a, b, c, d] : (tensor<1x2x16x16xf32>, tensor<f32>) -> tensor<1x2x16x16xf32>
    %mx = einsum.einsum copy reduce max [a, b, c, d] (%s[a, b, c, d]) -> [a, b, c] : (tensor<1x2x16x16xf32>) -> tensor<1x2x16xf32>
    %mxe = tensor.expand_shape %mx [[0], [1], [2, 3]] output_shape [1, 2, 16, 1] : tensor<1x2x16xf32> into tensor<1x2x16x1xf32>
    %e = einsum.einsum sub_exp [a, b, c, d] (%s[a, b, c, d], %mxe[a, b, c, 0]) -> [a, b, c, d] : (tensor<1x2x16x16xf32>, tensor<1x2x16x1xf32>) -> tensor<1x2x16x16xf32>
    %sum = einsum.einsum copy reduce add [a, b, c, d] (%e[a, b, c, d]) -> [a, b, c] : (tensor<1x2x16x16xf32>) -> tensor<1x2x16xf32>
    %sd = einsum.einsum div [a, b, c, d] (%e[a, b, c, d], %sum[a, b, c]) -> [a, b, c, d] : (tensor<1x2x16x16xf32>, tensor<1x2x16xf32>) -> tensor<1x2x16x16xf32>
    // expected-remark @+1 {{fused attention: one einsum.attention kernel over 32-key tiles and 16-query tiles (passes over the key rank: 3 -> 1)}}
    %av = einsum.einsum mul reduce add [b0, b1, m, n, k] (%sd[b0, b1, m, k], %v[b0, b1, k, n]) -> [b0, b1, m, n] : (tensor<1x2x16x16xf32>, tensor<1x2x16x4xf32>) -> tensor<1x2x16x4xf32>
    return %av : tensor<1x2x16x4xf32>
  }

// -----

// A pure causal triangle (-1e9 above the diagonal, 0 elsewhere) becomes
// masked_from; the mask tensor is no longer read. Heads after the sequence
// ([b, n, h, d], as exporters reshape without a transpose) are copied into
// [b, h, n, d], and the output back into [b, p, h, f]; the Mul by 0.25
// is the scale.
// CHECK-LABEL: func.func @causal_heads_last
// CHECK: %[[Q:.*]] = einsum.einsum copy [r0, r1, r2, r3] (%arg0[r0, r2, r1, r3]) -> [r0, r1, r2, r3] : (tensor<1x16x2x4xf32>) -> tensor<1x2x16x4xf32>
// CHECK: %[[O:.*]] = einsum.attention {{.*}} scale 2.500000e-01 masked_from 1 : tensor<2x16x4xf32>, tensor<2x16x4xf32>, tensor<2x16x4xf32> -> tensor<2x16x4xf32>
// CHECK: %[[E:.*]] = tensor.expand_shape %[[O]] {{\[}}[0, 1], [2], [3]] output_shape [1, 2, 16, 4]
// CHECK: %[[OUT:.*]] = einsum.einsum copy [r0, r1, r2, r3] (%[[E]][r0, r1, r2, r3]) -> [r0, r2, r1, r3] : (tensor<1x2x16x4xf32>) -> tensor<1x16x2x4xf32>
// CHECK: return %[[OUT]]

func.func @causal_heads_last(%q: tensor<1x16x2x4xf32>, %k: tensor<1x16x2x4xf32>, %v: tensor<1x16x2x4xf32>, %mask: tensor<16x16xf32> {memc.upper_triangle = {diagonal = 1 : i64, value = -1.0e9 : f64, below = 0.0 : f64}, memc.weight = "mask"}) -> tensor<1x16x2x4xf32> {
    %qk = einsum.einsum mul reduce add [b, h, p, m, d] (%q[b, p, h, d], %k[b, m, h, d]) -> [b, h, p, m] : (tensor<1x16x2x4xf32>, tensor<1x16x2x4xf32>) -> tensor<1x2x16x16xf32>
    %scale = arith.constant dense<0.25> : tensor<f32>
    %sc = einsum.einsum mul [a, b, c, d] (%qk[a, b, c, d], %scale[]) -> [a, b, c, d] : (tensor<1x2x16x16xf32>, tensor<f32>) -> tensor<1x2x16x16xf32>
    %s = einsum.einsum add [a, b, c, d] (%sc[a, b, c, d], %mask[c, d]) -> [a, b, c, d] : (tensor<1x2x16x16xf32>, tensor<16x16xf32>) -> tensor<1x2x16x16xf32>
    %mx = einsum.einsum copy reduce max [a, b, c, d] (%s[a, b, c, d]) -> [a, b, c] : (tensor<1x2x16x16xf32>) -> tensor<1x2x16xf32>
    %mxe = tensor.expand_shape %mx [[0], [1], [2, 3]] output_shape [1, 2, 16, 1] : tensor<1x2x16xf32> into tensor<1x2x16x1xf32>
    %e = einsum.einsum sub_exp [a, b, c, d] (%s[a, b, c, d], %mxe[a, b, c, 0]) -> [a, b, c, d] : (tensor<1x2x16x16xf32>, tensor<1x2x16x1xf32>) -> tensor<1x2x16x16xf32>
    %sum = einsum.einsum copy reduce add [a, b, c, d] (%e[a, b, c, d]) -> [a, b, c] : (tensor<1x2x16x16xf32>) -> tensor<1x2x16xf32>
    %sd = einsum.einsum div [a, b, c, d] (%e[a, b, c, d], %sum[a, b, c]) -> [a, b, c, d] : (tensor<1x2x16x16xf32>, tensor<1x2x16xf32>) -> tensor<1x2x16x16xf32>
    // expected-remark @+1 {{fused attention: one einsum.attention kernel}}
    %av = einsum.einsum mul reduce add [b, h, p, f, m] (%sd[b, h, p, m], %v[b, m, h, f]) -> [b, p, h, f] : (tensor<1x2x16x16xf32>, tensor<1x16x2x4xf32>) -> tensor<1x16x2x4xf32>
    return %av : tensor<1x16x2x4xf32>
  }

// -----

// Refused, with the reason, and left unfused: a triangle whose other
// elements are not one value (no `below`) is a general mask the kernel
// cannot apply by index.
// CHECK: memc.fused_attention = 0
// CHECK-LABEL: func.func @not_pure_triangle
// CHECK-NOT: einsum.attention
// CHECK: einsum.einsum mul reduce add

func.func @not_pure_triangle(%q: tensor<1x2x16x4xf32>, %kt: tensor<1x2x4x16xf32>, %v: tensor<1x2x16x4xf32>, %mask: tensor<16x16xf32> {memc.upper_triangle = {diagonal = 1 : i64, value = -1.0e9 : f64}, memc.weight = "mask"}) -> tensor<1x2x16x4xf32> {
    %qk = einsum.einsum mul reduce add [b0, b1, m, n, k] (%q[b0, b1, m, k], %kt[b0, b1, k, n]) -> [b0, b1, m, n] : (tensor<1x2x16x4xf32>, tensor<1x2x4x16xf32>) -> tensor<1x2x16x16xf32>
    %s = einsum.einsum add [a, b, c, d] (%qk[a, b, c, d], %mask[c, d]) -> [a, b, c, d] : (tensor<1x2x16x16xf32>, tensor<16x16xf32>) -> tensor<1x2x16x16xf32>
    %mx = einsum.einsum copy reduce max [a, b, c, d] (%s[a, b, c, d]) -> [a, b, c] : (tensor<1x2x16x16xf32>) -> tensor<1x2x16xf32>
    %mxe = tensor.expand_shape %mx [[0], [1], [2, 3]] output_shape [1, 2, 16, 1] : tensor<1x2x16xf32> into tensor<1x2x16x1xf32>
    %e = einsum.einsum sub_exp [a, b, c, d] (%s[a, b, c, d], %mxe[a, b, c, 0]) -> [a, b, c, d] : (tensor<1x2x16x16xf32>, tensor<1x2x16x1xf32>) -> tensor<1x2x16x16xf32>
    %sum = einsum.einsum copy reduce add [a, b, c, d] (%e[a, b, c, d]) -> [a, b, c] : (tensor<1x2x16x16xf32>) -> tensor<1x2x16xf32>
    %sd = einsum.einsum div [a, b, c, d] (%e[a, b, c, d], %sum[a, b, c]) -> [a, b, c, d] : (tensor<1x2x16x16xf32>, tensor<1x2x16xf32>) -> tensor<1x2x16x16xf32>
    // expected-remark @+1 {{attention not fused: the mask is neither a constant causal triangle nor the same for every query}}
    %av = einsum.einsum mul reduce add [b0, b1, m, n, k] (%sd[b0, b1, m, k], %v[b0, b1, k, n]) -> [b0, b1, m, n] : (tensor<1x2x16x16xf32>, tensor<1x2x16x4xf32>) -> tensor<1x2x16x4xf32>
    return %av : tensor<1x2x16x4xf32>
  }

// -----

// Refused: a negative scale would turn a -inf mask into +inf.
// CHECK: memc.fused_attention = 0
// CHECK-LABEL: func.func @negative_scale
// CHECK-NOT: einsum.attention

func.func @negative_scale(%q: tensor<1x2x16x4xf32>, %kt: tensor<1x2x4x16xf32>, %v: tensor<1x2x16x4xf32>) -> tensor<1x2x16x4xf32> {
    %qk = einsum.einsum mul reduce add [b0, b1, m, n, k] (%q[b0, b1, m, k], %kt[b0, b1, k, n]) -> [b0, b1, m, n] : (tensor<1x2x16x4xf32>, tensor<1x2x4x16xf32>) -> tensor<1x2x16x16xf32>
    %scale = arith.constant dense<-2.0> : tensor<f32>
    %s = einsum.einsum mul [a, b, c, d] (%qk[a, b, c, d], %scale[]) -> [a, b, c, d] : (tensor<1x2x16x16xf32>, tensor<f32>) -> tensor<1x2x16x16xf32>
    %mx = einsum.einsum copy reduce max [a, b, c, d] (%s[a, b, c, d]) -> [a, b, c] : (tensor<1x2x16x16xf32>) -> tensor<1x2x16xf32>
    %mxe = tensor.expand_shape %mx [[0], [1], [2, 3]] output_shape [1, 2, 16, 1] : tensor<1x2x16xf32> into tensor<1x2x16x1xf32>
    %e = einsum.einsum sub_exp [a, b, c, d] (%s[a, b, c, d], %mxe[a, b, c, 0]) -> [a, b, c, d] : (tensor<1x2x16x16xf32>, tensor<1x2x16x1xf32>) -> tensor<1x2x16x16xf32>
    %sum = einsum.einsum copy reduce add [a, b, c, d] (%e[a, b, c, d]) -> [a, b, c] : (tensor<1x2x16x16xf32>) -> tensor<1x2x16xf32>
    %sd = einsum.einsum div [a, b, c, d] (%e[a, b, c, d], %sum[a, b, c]) -> [a, b, c, d] : (tensor<1x2x16x16xf32>, tensor<1x2x16xf32>) -> tensor<1x2x16x16xf32>
    // expected-remark @+1 {{attention not fused: a score scale is not a positive constant}}
    %av = einsum.einsum mul reduce add [b0, b1, m, n, k] (%sd[b0, b1, m, k], %v[b0, b1, k, n]) -> [b0, b1, m, n] : (tensor<1x2x16x16xf32>, tensor<1x2x16x4xf32>) -> tensor<1x2x16x4xf32>
    return %av : tensor<1x2x16x4xf32>
  }

// -----

// Refused: head size 512 needs more shared memory than a block may declare.
// CHECK: memc.fused_attention = 0
// CHECK-LABEL: func.func @head_too_large
// CHECK-NOT: einsum.attention

func.func @head_too_large(%q: tensor<1x16x512xf32>, %k: tensor<1x16x512xf32>, %v: tensor<1x16x512xf32>) -> tensor<1x16x512xf32> {
    %qk = einsum.einsum mul reduce add [b, p, m, d] (%q[b, p, d], %k[b, m, d]) -> [b, p, m] : (tensor<1x16x512xf32>, tensor<1x16x512xf32>) -> tensor<1x16x16xf32>
    %mx = einsum.einsum copy reduce max [a, c, d] (%qk[a, c, d]) -> [a, c] : (tensor<1x16x16xf32>) -> tensor<1x16xf32>
    %e = einsum.einsum sub_exp [a, c, d] (%qk[a, c, d], %mx[a, c]) -> [a, c, d] : (tensor<1x16x16xf32>, tensor<1x16xf32>) -> tensor<1x16x16xf32>
    %sum = einsum.einsum copy reduce add [a, c, d] (%e[a, c, d]) -> [a, c] : (tensor<1x16x16xf32>) -> tensor<1x16xf32>
    %sd = einsum.einsum div [a, c, d] (%e[a, c, d], %sum[a, c]) -> [a, c, d] : (tensor<1x16x16xf32>, tensor<1x16xf32>) -> tensor<1x16x16xf32>
    // expected-remark @+1 {{attention not fused: head sizes 512 and 512 do not fit the attention kernel's shared memory}}
    %av = einsum.einsum mul reduce add [b, p, f, m] (%sd[b, p, m], %v[b, m, f]) -> [b, p, f] : (tensor<1x16x16xf32>, tensor<1x16x512xf32>) -> tensor<1x16x512xf32>
    return %av : tensor<1x16x512xf32>
  }

// -----

// A mask known only at run time that is the same for every query (a
// padding mask from the inputs, broadcast over heads and queries) becomes
// the kernel's bias: copied to [batch x heads, keys] once, added per key.
// CHECK: memc.fused_attention = 1
// CHECK-LABEL: func.func @runtime_padding_mask
// CHECK: %[[B:.*]] = einsum.einsum copy [r0, r1, r2] (%arg3[r2]) -> [r0, r1, r2] : (tensor<16xf32>) -> tensor<1x2x16xf32>
// CHECK: %[[BIAS:.*]] = tensor.collapse_shape %[[B]] {{\[}}[0, 1], [2]] : tensor<1x2x16xf32> into tensor<2x16xf32>
// CHECK: einsum.attention %{{.*}}, %{{.*}}, %{{.*}} bias %[[BIAS]] : tensor<2x16xf32> outs(

func.func @runtime_padding_mask(%q: tensor<1x2x16x4xf32>, %kt: tensor<1x2x4x16xf32>, %v: tensor<1x2x16x4xf32>, %pad: tensor<16xf32>) -> tensor<1x2x16x4xf32> {
    %qk = einsum.einsum mul reduce add [b0, b1, m, n, k] (%q[b0, b1, m, k], %kt[b0, b1, k, n]) -> [b0, b1, m, n] : (tensor<1x2x16x4xf32>, tensor<1x2x4x16xf32>) -> tensor<1x2x16x16xf32>
    %s = einsum.einsum add [a, b, c, d] (%qk[a, b, c, d], %pad[d]) -> [a, b, c, d] : (tensor<1x2x16x16xf32>, tensor<16xf32>) -> tensor<1x2x16x16xf32>
    %mx = einsum.einsum copy reduce max [a, b, c, d] (%s[a, b, c, d]) -> [a, b, c] : (tensor<1x2x16x16xf32>) -> tensor<1x2x16xf32>
    %mxe = tensor.expand_shape %mx [[0], [1], [2, 3]] output_shape [1, 2, 16, 1] : tensor<1x2x16xf32> into tensor<1x2x16x1xf32>
    %e = einsum.einsum sub_exp [a, b, c, d] (%s[a, b, c, d], %mxe[a, b, c, 0]) -> [a, b, c, d] : (tensor<1x2x16x16xf32>, tensor<1x2x16x1xf32>) -> tensor<1x2x16x16xf32>
    %sum = einsum.einsum copy reduce add [a, b, c, d] (%e[a, b, c, d]) -> [a, b, c] : (tensor<1x2x16x16xf32>) -> tensor<1x2x16xf32>
    %sd = einsum.einsum div [a, b, c, d] (%e[a, b, c, d], %sum[a, b, c]) -> [a, b, c, d] : (tensor<1x2x16x16xf32>, tensor<1x2x16xf32>) -> tensor<1x2x16x16xf32>
    // expected-remark @+1 {{fused attention: one einsum.attention kernel}}
    %av = einsum.einsum mul reduce add [b0, b1, m, n, k] (%sd[b0, b1, m, k], %v[b0, b1, k, n]) -> [b0, b1, m, n] : (tensor<1x2x16x16xf32>, tensor<1x2x16x4xf32>) -> tensor<1x2x16x4xf32>
    return %av : tensor<1x2x16x4xf32>
  }

// -----

// A Where with a boolean padding mask per (batch, key) and a -inf fill:
// the bias is 0 where the scores are kept and -inf elsewhere.
// CHECK-LABEL: func.func @runtime_where_mask
// CHECK: %[[B:.*]] = einsum.einsum select [r0, r1, r2] (%arg3[r0, r2], %{{.*}}[], %{{.*}}[]) -> [r0, r1, r2] : (tensor<1x16xi1>, tensor<f32>, tensor<f32>) -> tensor<1x2x16xf32>
// CHECK: einsum.attention {{.*}} bias

func.func @runtime_where_mask(%q: tensor<1x2x16x4xf32>, %kt: tensor<1x2x4x16xf32>, %v: tensor<1x2x16x4xf32>, %keep: tensor<1x16xi1>) -> tensor<1x2x16x4xf32> {
    %qk = einsum.einsum mul reduce add [b0, b1, m, n, k] (%q[b0, b1, m, k], %kt[b0, b1, k, n]) -> [b0, b1, m, n] : (tensor<1x2x16x4xf32>, tensor<1x2x4x16xf32>) -> tensor<1x2x16x16xf32>
    %ninf = arith.constant dense<0xFF800000> : tensor<f32>
    %s = einsum.einsum select [a, b, c, d] (%keep[a, d], %qk[a, b, c, d], %ninf[]) -> [a, b, c, d] : (tensor<1x16xi1>, tensor<1x2x16x16xf32>, tensor<f32>) -> tensor<1x2x16x16xf32>
    %mx = einsum.einsum copy reduce max [a, b, c, d] (%s[a, b, c, d]) -> [a, b, c] : (tensor<1x2x16x16xf32>) -> tensor<1x2x16xf32>
    %mxe = tensor.expand_shape %mx [[0], [1], [2, 3]] output_shape [1, 2, 16, 1] : tensor<1x2x16xf32> into tensor<1x2x16x1xf32>
    %e = einsum.einsum sub_exp [a, b, c, d] (%s[a, b, c, d], %mxe[a, b, c, 0]) -> [a, b, c, d] : (tensor<1x2x16x16xf32>, tensor<1x2x16x1xf32>) -> tensor<1x2x16x16xf32>
    %sum = einsum.einsum copy reduce add [a, b, c, d] (%e[a, b, c, d]) -> [a, b, c] : (tensor<1x2x16x16xf32>) -> tensor<1x2x16xf32>
    %sd = einsum.einsum div [a, b, c, d] (%e[a, b, c, d], %sum[a, b, c]) -> [a, b, c, d] : (tensor<1x2x16x16xf32>, tensor<1x2x16xf32>) -> tensor<1x2x16x16xf32>
    // expected-remark @+1 {{fused attention: one einsum.attention kernel}}
    %av = einsum.einsum mul reduce add [b0, b1, m, n, k] (%sd[b0, b1, m, k], %v[b0, b1, k, n]) -> [b0, b1, m, n] : (tensor<1x2x16x16xf32>, tensor<1x2x16x4xf32>) -> tensor<1x2x16x4xf32>
    return %av : tensor<1x2x16x4xf32>
  }

// -----

// Refused: a mask known only at run time that differs by query (an N x N
// input) is neither a triangle the kernel applies by index nor a per-key
// bias.
// CHECK: memc.fused_attention = 0
// CHECK-LABEL: func.func @runtime_query_mask
// CHECK-NOT: einsum.attention

func.func @runtime_query_mask(%q: tensor<1x2x16x4xf32>, %kt: tensor<1x2x4x16xf32>, %v: tensor<1x2x16x4xf32>, %mask: tensor<16x16xf32>) -> tensor<1x2x16x4xf32> {
    %qk = einsum.einsum mul reduce add [b0, b1, m, n, k] (%q[b0, b1, m, k], %kt[b0, b1, k, n]) -> [b0, b1, m, n] : (tensor<1x2x16x4xf32>, tensor<1x2x4x16xf32>) -> tensor<1x2x16x16xf32>
    %s = einsum.einsum add [a, b, c, d] (%qk[a, b, c, d], %mask[c, d]) -> [a, b, c, d] : (tensor<1x2x16x16xf32>, tensor<16x16xf32>) -> tensor<1x2x16x16xf32>
    %mx = einsum.einsum copy reduce max [a, b, c, d] (%s[a, b, c, d]) -> [a, b, c] : (tensor<1x2x16x16xf32>) -> tensor<1x2x16xf32>
    %mxe = tensor.expand_shape %mx [[0], [1], [2, 3]] output_shape [1, 2, 16, 1] : tensor<1x2x16xf32> into tensor<1x2x16x1xf32>
    %e = einsum.einsum sub_exp [a, b, c, d] (%s[a, b, c, d], %mxe[a, b, c, 0]) -> [a, b, c, d] : (tensor<1x2x16x16xf32>, tensor<1x2x16x1xf32>) -> tensor<1x2x16x16xf32>
    %sum = einsum.einsum copy reduce add [a, b, c, d] (%e[a, b, c, d]) -> [a, b, c] : (tensor<1x2x16x16xf32>) -> tensor<1x2x16xf32>
    %sd = einsum.einsum div [a, b, c, d] (%e[a, b, c, d], %sum[a, b, c]) -> [a, b, c, d] : (tensor<1x2x16x16xf32>, tensor<1x2x16xf32>) -> tensor<1x2x16x16xf32>
    // expected-remark @+1 {{attention not fused: the mask is neither a constant causal triangle nor the same for every query}}
    %av = einsum.einsum mul reduce add [b0, b1, m, n, k] (%sd[b0, b1, m, k], %v[b0, b1, k, n]) -> [b0, b1, m, n] : (tensor<1x2x16x16xf32>, tensor<1x2x16x4xf32>) -> tensor<1x2x16x4xf32>
    return %av : tensor<1x2x16x4xf32>
  }
