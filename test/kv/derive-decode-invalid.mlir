// RUN: memc-opt %s -split-input-file -memc-derive-decode -verify-diagnostics

// Attention without a causal mask: every row reads every key.
module attributes {memc.entry = @main_graph} {
  func.func @main_graph(%ids: tensor<1x8xi64> {memc.input = "ids"},
                        %emb: tensor<6x4xf32> {memc.weight = "emb"})
      -> (tensor<1x8x4xf32> {memc.output = "out"}) {
    %x = tensor.generate {
    ^bb0(%b: index, %t: index, %f: index):
      %id = tensor.extract %ids[%b, %t] : tensor<1x8xi64>
      %i = arith.index_cast %id : i64 to index
      %e = tensor.extract %emb[%i, %f] : tensor<6x4xf32>
      tensor.yield %e : f32
    } : tensor<1x8x4xf32>
    %init = tensor.empty() : tensor<1x8x4xf32>
    // expected-error @+1 {{attends to every key, later rows included: the model is not causal}}
    %a = einsum.attention %x, %x, %x outs(%init : tensor<1x8x4xf32>) scale 0.5
           : tensor<1x8x4xf32>, tensor<1x8x4xf32>, tensor<1x8x4xf32>
           -> tensor<1x8x4xf32>
    return %a : tensor<1x8x4xf32>
  }
}

// -----

// A mean over the sequence: every row of the result reads every row.
module attributes {memc.entry = @main_graph} {
  func.func @main_graph(%ids: tensor<1x8xi64> {memc.input = "ids"},
                        %emb: tensor<6x4xf32> {memc.weight = "emb"})
      -> (tensor<1x4xf32> {memc.output = "out"}) {
    %x = tensor.generate {
    ^bb0(%b: index, %t: index, %f: index):
      %id = tensor.extract %ids[%b, %t] : tensor<1x8xi64>
      %i = arith.index_cast %id : i64 to index
      %e = tensor.extract %emb[%i, %f] : tensor<6x4xf32>
      tensor.yield %e : f32
    } : tensor<1x8x4xf32>
    // expected-error @+1 {{reduces over the sequence rank}}
    %s = einsum.einsum copy reduce add [b, f, t] (%x[b, t, f]) -> [b, f]
           : (tensor<1x8x4xf32>) -> tensor<1x4xf32>
    return %s : tensor<1x4xf32>
  }
}

// -----

// A gather that reads the next row's id.
module attributes {memc.entry = @main_graph} {
  func.func @main_graph(%ids: tensor<1x8xi64> {memc.input = "ids"},
                        %emb: tensor<6x4xf32> {memc.weight = "emb"})
      -> (tensor<1x7x4xf32> {memc.output = "out"}) {
    // expected-error @+1 {{reads a sequence row other than the one it writes}}
    %x = tensor.generate {
    ^bb0(%b: index, %t: index, %f: index):
      %c1 = arith.constant 1 : index
      %next = arith.addi %t, %c1 : index
      %id = tensor.extract %ids[%b, %next] : tensor<1x8xi64>
      %i = arith.index_cast %id : i64 to index
      %e = tensor.extract %emb[%i, %f] : tensor<6x4xf32>
      tensor.yield %e : f32
    } : tensor<1x7x4xf32>
    return %x : tensor<1x7x4xf32>
  }
}

// -----

// Float inputs are not token ids.
module attributes {memc.entry = @main_graph} {
  // expected-error @+1 {{input 'x' must be integer token ids [batch, sequence]}}
  func.func @main_graph(%x: tensor<1x8x4xf32> {memc.input = "x"})
      -> (tensor<1x8x4xf32> {memc.output = "out"}) {
    return %x : tensor<1x8x4xf32>
  }
}

// -----

// No attention: nothing to cache.
module attributes {memc.entry = @main_graph} {
  // expected-error @+1 {{has no fused causal attention: nothing to cache}}
  func.func @main_graph(%ids: tensor<1x8xi64> {memc.input = "ids"})
      -> (tensor<1x8xi64> {memc.output = "out"}) {
    return %ids : tensor<1x8xi64>
  }
}

// -----

// Two inputs: a model to decode takes the ids alone.
module attributes {memc.entry = @main_graph} {
  // expected-error @+1 {{has more than one input}}
  func.func @main_graph(%ids: tensor<1x8xi64> {memc.input = "ids"},
                        %mask: tensor<1x8xi64> {memc.input = "mask"})
      -> (tensor<1x8xi64> {memc.output = "out"}) {
    return %ids : tensor<1x8xi64>
  }
}

// -----

// A gather that also reads a table without rows at the row's index (a
// position table read by the generated row): not followed.
module attributes {memc.entry = @main_graph} {
  func.func @main_graph(%ids: tensor<1x8xi64> {memc.input = "ids"},
                        %emb: tensor<6x4xf32> {memc.weight = "emb"},
                        %pos: tensor<8x4xf32> {memc.weight = "pos"})
      -> (tensor<1x8x4xf32> {memc.output = "out"}) {
    // expected-error @+1 {{reads a tensor that has no sequence rows at the row's index}}
    %x = tensor.generate {
    ^bb0(%b: index, %t: index, %f: index):
      %id = tensor.extract %ids[%b, %t] : tensor<1x8xi64>
      %i = arith.index_cast %id : i64 to index
      %e = tensor.extract %emb[%i, %f] : tensor<6x4xf32>
      %p = tensor.extract %pos[%t, %f] : tensor<8x4xf32>
      %s = arith.addf %e, %p : f32
      tensor.yield %s : f32
    } : tensor<1x8x4xf32>
    return %x : tensor<1x8x4xf32>
  }
}
