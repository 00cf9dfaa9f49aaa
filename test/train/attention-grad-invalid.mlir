// RUN: memc-opt %s -split-input-file -verify-diagnostics

func.func @shapes(%q: tensor<2x8x4xf32>, %k: tensor<2x8x4xf32>, %v: tensor<2x8x4xf32>,
                  %o: tensor<2x8x2xf32>) {
  // expected-error @+1 {{shapes are not those of an attention}}
  %dq, %dk, %dv = einsum.attention_grad %q, %k, %v, %o, %o scale 1.0
      : tensor<2x8x4xf32>, tensor<2x8x4xf32>, tensor<2x8x4xf32>, tensor<2x8x2xf32>, tensor<2x8x2xf32>
  return
}

// -----

func.func @mask(%q: tensor<2x8x4xf32>) {
  // expected-error @+1 {{masked_from must be at least 1; got 0}}
  %dq, %dk, %dv = einsum.attention_grad %q, %q, %q, %q, %q scale 1.0 masked_from 0
      : tensor<2x8x4xf32>, tensor<2x8x4xf32>, tensor<2x8x4xf32>, tensor<2x8x4xf32>, tensor<2x8x4xf32>
  return
}
