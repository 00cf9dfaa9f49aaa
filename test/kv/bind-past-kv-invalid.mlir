// RUN: memc-opt %s -split-input-file -memc-bind-past-kv -verify-diagnostics

// The present summed over its rows: not an attention's keys or values.
module attributes {memc.entry = @main_graph} {
  func.func @main_graph(
      %ids: tensor<1x1xi64> {memc.input = "ids"},
      %new: tensor<1x1x1x2xf32> {memc.weight = "w"},
      %pk: tensor<1x1x3x2xf32> {memc.input = "past_key.0", memc.past_kv = 2 : i64})
      -> (tensor<1x1x2xf32> {memc.output = "out"},
          tensor<1x1x4x2xf32> {memc.output = "present_key.0"}) {
    %e = tensor.empty() : tensor<1x1x4x2xf32>
    %k0 = tensor.insert_slice %pk into %e[0, 0, 0, 0] [1, 1, 3, 2] [1, 1, 1, 1]
           : tensor<1x1x3x2xf32> into tensor<1x1x4x2xf32>
    %k = tensor.insert_slice %new into %k0[0, 0, 3, 0] [1, 1, 1, 2] [1, 1, 1, 1]
           : tensor<1x1x1x2xf32> into tensor<1x1x4x2xf32>
    // expected-error @+1 {{reads the past 'past_key.0' other than as the keys or values of a fused attention}}
    %s = einsum.einsum copy reduce add [a, b, c, d] (%k[a, b, c, d]) -> [a, b, d]
           : (tensor<1x1x4x2xf32>) -> tensor<1x1x2xf32>
    return %s, %k : tensor<1x1x2xf32>, tensor<1x1x4x2xf32>
  }
}

// -----

// A float input that is no past: memc would not know what to feed it.
module attributes {memc.entry = @main_graph} {
  // expected-error @+1 {{input 'mask' is neither the token ids, positions nor a past key or value}}
  func.func @main_graph(
      %ids: tensor<1x1xi64> {memc.input = "ids"},
      %mask: tensor<1x4xf32> {memc.input = "mask"})
      -> (tensor<1x4xf32> {memc.output = "out"}) {
    return %mask : tensor<1x4xf32>
  }
}

// -----

// The past read on its own besides the concatenation.
module attributes {memc.entry = @main_graph} {
  func.func @main_graph(
      %ids: tensor<1x1xi64> {memc.input = "ids"},
      // expected-error @+1 {{past 'past_key.0' is not concatenated with the new rows along dimension 2 into a present output alone}}
      %pk: tensor<1x1x3x2xf32> {memc.input = "past_key.0", memc.past_kv = 2 : i64})
      -> (tensor<1x1x3x2xf32> {memc.output = "out"}) {
    return %pk : tensor<1x1x3x2xf32>
  }
}

// -----

// Two new rows attending over the past without a causal mask: the first
// row would see the second.
module attributes {memc.entry = @main_graph} {
  func.func @main_graph(
      %ids: tensor<1x2xi64> {memc.input = "ids"},
      %new: tensor<1x1x2x2xf32> {memc.weight = "w"},
      %pk: tensor<1x1x3x2xf32> {memc.input = "past_key.0", memc.past_kv = 2 : i64},
      %pv: tensor<1x1x3x2xf32> {memc.input = "past_value.0", memc.past_kv = 2 : i64})
      -> (tensor<1x2x2xf32> {memc.output = "out"},
          tensor<1x1x5x2xf32> {memc.output = "present_key.0"},
          tensor<1x1x5x2xf32> {memc.output = "present_value.0"}) {
    %e = tensor.empty() : tensor<1x1x5x2xf32>
    %k0 = tensor.insert_slice %pk into %e[0, 0, 0, 0] [1, 1, 3, 2] [1, 1, 1, 1]
           : tensor<1x1x3x2xf32> into tensor<1x1x5x2xf32>
    %k = tensor.insert_slice %new into %k0[0, 0, 3, 0] [1, 1, 2, 2] [1, 1, 1, 1]
           : tensor<1x1x2x2xf32> into tensor<1x1x5x2xf32>
    %f = tensor.empty() : tensor<1x1x5x2xf32>
    %v0 = tensor.insert_slice %pv into %f[0, 0, 0, 0] [1, 1, 3, 2] [1, 1, 1, 1]
           : tensor<1x1x3x2xf32> into tensor<1x1x5x2xf32>
    %v = tensor.insert_slice %new into %v0[0, 0, 3, 0] [1, 1, 2, 2] [1, 1, 1, 1]
           : tensor<1x1x2x2xf32> into tensor<1x1x5x2xf32>
    %q = tensor.collapse_shape %new [[0, 1], [2], [3]]
           : tensor<1x1x2x2xf32> into tensor<1x2x2xf32>
    %kc = tensor.collapse_shape %k [[0, 1], [2], [3]]
           : tensor<1x1x5x2xf32> into tensor<1x5x2xf32>
    %vc = tensor.collapse_shape %v [[0, 1], [2], [3]]
           : tensor<1x1x5x2xf32> into tensor<1x5x2xf32>
    %init = tensor.empty() : tensor<1x2x2xf32>
    // expected-error @+1 {{attends over the past and 2 new rows without a causal mask}}
    %a = einsum.attention %q, %kc, %vc outs(%init : tensor<1x2x2xf32>) scale 0.5
           : tensor<1x2x2xf32>, tensor<1x5x2xf32>, tensor<1x5x2xf32>
           -> tensor<1x2x2xf32>
    return %a, %k, %v : tensor<1x2x2xf32>, tensor<1x1x5x2xf32>, tensor<1x1x5x2xf32>
  }
}

// -----

// Past keys with values that are not past ones.
module attributes {memc.entry = @main_graph} {
  func.func @main_graph(
      %ids: tensor<1x1xi64> {memc.input = "ids"},
      %new: tensor<1x1x1x2xf32> {memc.weight = "w"},
      %vals: tensor<1x4x2xf32> {memc.weight = "v"},
      %pk: tensor<1x1x3x2xf32> {memc.input = "past_key.0", memc.past_kv = 2 : i64})
      -> (tensor<1x1x2xf32> {memc.output = "out"},
          tensor<1x1x4x2xf32> {memc.output = "present_key.0"}) {
    %e = tensor.empty() : tensor<1x1x4x2xf32>
    %k0 = tensor.insert_slice %pk into %e[0, 0, 0, 0] [1, 1, 3, 2] [1, 1, 1, 1]
           : tensor<1x1x3x2xf32> into tensor<1x1x4x2xf32>
    %k = tensor.insert_slice %new into %k0[0, 0, 3, 0] [1, 1, 1, 2] [1, 1, 1, 1]
           : tensor<1x1x1x2xf32> into tensor<1x1x4x2xf32>
    %q = tensor.collapse_shape %new [[0, 1], [2], [3]]
           : tensor<1x1x1x2xf32> into tensor<1x1x2xf32>
    %kc = tensor.collapse_shape %k [[0, 1], [2], [3]]
           : tensor<1x1x4x2xf32> into tensor<1x4x2xf32>
    %init = tensor.empty() : tensor<1x1x2xf32>
    // expected-error @+1 {{attends over past keys with values that are not past ones}}
    %a = einsum.attention %q, %kc, %vals outs(%init : tensor<1x1x2xf32>) scale 0.5
           : tensor<1x1x2xf32>, tensor<1x4x2xf32>, tensor<1x4x2xf32>
           -> tensor<1x1x2xf32>
    return %a, %k : tensor<1x1x2xf32>, tensor<1x1x4x2xf32>
  }
}
