// RUN: memc-opt %s -split-input-file -memc-bind-past-kv | FileCheck %s --enable-var-scope
// RUN: memc-opt %s -split-input-file -memc-bind-past-kv=page=4 | FileCheck %s --check-prefix=PAGED --enable-var-scope
// RUN: memc-opt %s -split-input-file -memc-bind-past-kv=kv-dtype=f16 | FileCheck %s --check-prefix=F16 --enable-var-scope
// RUN: not memc-opt %s -split-input-file -memc-bind-past-kv=kv-dtype=bf8 2>&1 | FileCheck %s --check-prefix=BADTYPE

// A one-token export of one attention layer (2 heads of 2) with a position
// input and past keys and values of 7 rows, as the importer marks them
// under --decode --kv-capacity=8: the present is the past then the new
// row; the attention reads the keys through a transpose and back. The
// program writes the new row at `position` into caches of 8 rows and
// attends over them causally at that offset; the past inputs, the position
// input and the present outputs are gone.
// CHECK: module attributes {memc.decode = {capacity = 8 : i64, rows = 1 : i64}
// CHECK-LABEL: func.func @main_graph(
// CHECK-SAME: %[[IDS:[^:]*]]: tensor<1x1xi64> {memc.input = "input_ids"}
// CHECK-SAME: %[[POSITION:[^:]*]]: tensor<i64> {memc.input = "position"}
// CHECK-SAME: %[[EMB:[^:]*]]: tensor<6x4xf32> {memc.weight = "emb"}
// CHECK-SAME: %[[TABLE:[^:]*]]: tensor<8x4xf32> {memc.weight = "pos"}
// CHECK-SAME: %[[KEYS:[^:]*]]: tensor<2x8x2xf32> {memc.kv_cache = "past_key.0"}
// CHECK-SAME: %[[VALUES:[^:]*]]: tensor<2x8x2xf32> {memc.kv_cache = "past_value.0"}
// CHECK-SAME: -> (tensor<1x1x4xf32> {memc.output = "out"}, tensor<2x8x2xf32> {memc.overwrites = "past_key.0"}, tensor<2x8x2xf32> {memc.overwrites = "past_value.0"})
// CHECK-NOT: memc.past_kv
// CHECK: %[[AT:.*]] = arith.minsi
// CHECK: %[[ROWS:.*]] = tensor.generate
// CHECK-NEXT: ^bb0(%[[I:.*]]: index):
// CHECK-NEXT: %[[P:.*]] = arith.addi %[[AT]], %[[I]] : index
// CHECK-NEXT: %[[P64:.*]] = arith.index_cast %[[P]] : index to i64
// CHECK-NEXT: tensor.yield %[[P64]] : i64
// CHECK: } : tensor<1xi64>
// CHECK: tensor.extract %[[ROWS]]
// CHECK: %[[NEW:.*]] = einsum.einsum copy
// CHECK: %[[NK:.*]] = tensor.collapse_shape %[[NEW]] {{\[}}[0, 1], [2], [3]] : tensor<1x2x1x2xf32> into tensor<2x1x2xf32>
// CHECK: %[[K:.*]] = kv.append %[[NK]] into %[[KEYS]] at %[[AT]] : tensor<2x1x2xf32> into tensor<2x8x2xf32>
// CHECK: %[[V:.*]] = kv.append %{{.*}} into %[[VALUES]] at %[[AT]] :
// CHECK-NOT: tensor.empty() : tensor<1x2x8x2xf32>
// CHECK: einsum.attention %{{.*}}, %[[K]], %[[V]] outs(%{{.*}} : tensor<2x1x2xf32>) scale 5.000000e-01 masked_from 1 query_offset %[[AT]]
// CHECK: return %{{.*}}, %[[K]], %[[V]] :

// Paged: pools of 2 blocks of 4 rows per batch x head row and a spare,
// behind the block table input that follows `position`.
// PAGED-LABEL: func.func @main_graph(
// PAGED-SAME: %{{.*}}: tensor<i64> {memc.input = "position"}, %[[TABLE:.*]]: tensor<2x2xi64> {memc.input = "block_table"}
// PAGED-SAME: tensor<5x4x2xf32> {memc.kv_cache = "past_key.0"}
// PAGED: %[[POOL:.*]] = kv.append %{{.*}} into %{{.*}} at %[[AT:.*]] table %[[TABLE]] : tensor<2x2xi64> : tensor<2x1x2xf32> into tensor<5x4x2xf32>
// PAGED: %[[VIEW:.*]] = kv.view %[[POOL]] at %[[AT]] rows 1 table %[[TABLE]] : tensor<2x2xi64> : tensor<5x4x2xf32> -> tensor<2x8x2xf32>
// PAGED: einsum.attention %{{.*}}, %[[VIEW]], %{{.*}} masked_from 1 query_offset %[[AT]]

// F16-LABEL: func.func @main_graph(
// F16-SAME: tensor<2x8x2xf16> {memc.kv_cache = "past_key.0"}
// F16: einsum.einsum copy [a, b, c] (%{{.*}}[a, b, c]) -> [a, b, c] : (tensor<2x1x2xf32>) -> tensor<2x1x2xf16>

// BADTYPE: memc-bind-past-kv: kv-dtype 'bf8' is not f32, f16 or i8
module attributes {memc.entry = @main_graph} {
  func.func @main_graph(
      %ids: tensor<1x1xi64> {memc.input = "input_ids"},
      %position: tensor<1xi64> {memc.input = "position"},
      %pk: tensor<1x2x7x2xf32> {memc.input = "past_key.0", memc.past_kv = 2 : i64},
      %pv: tensor<1x2x7x2xf32> {memc.input = "past_value.0", memc.past_kv = 2 : i64},
      %emb: tensor<6x4xf32> {memc.weight = "emb"},
      %table: tensor<8x4xf32> {memc.weight = "pos"})
      -> (tensor<1x1x4xf32> {memc.output = "out"},
          tensor<1x2x8x2xf32> {memc.output = "present_key.0"},
          tensor<1x2x8x2xf32> {memc.output = "present_value.0"}) {
    %x = tensor.generate {
    ^bb0(%b: index, %t: index, %f: index):
      %id = tensor.extract %ids[%b, %t] : tensor<1x1xi64>
      %i = arith.index_cast %id : i64 to index
      %p = tensor.extract %position[%t] : tensor<1xi64>
      %j = arith.index_cast %p : i64 to index
      %e = tensor.extract %emb[%i, %f] : tensor<6x4xf32>
      %q = tensor.extract %table[%j, %f] : tensor<8x4xf32>
      %s = arith.addf %e, %q : f32
      tensor.yield %s : f32
    } : tensor<1x1x4xf32>
    %h = tensor.expand_shape %x [[0], [1], [2, 3]] output_shape [1, 1, 2, 2]
           : tensor<1x1x4xf32> into tensor<1x1x2x2xf32>
    %t = einsum.einsum copy [a, b, c, d] (%h[a, b, c, d]) -> [a, c, b, d]
           : (tensor<1x1x2x2xf32>) -> tensor<1x2x1x2xf32>
    %e0 = tensor.empty() : tensor<1x2x8x2xf32>
    %k0 = tensor.insert_slice %pk into %e0[0, 0, 0, 0] [1, 2, 7, 2] [1, 1, 1, 1]
           : tensor<1x2x7x2xf32> into tensor<1x2x8x2xf32>
    %k = tensor.insert_slice %t into %k0[0, 0, 7, 0] [1, 2, 1, 2] [1, 1, 1, 1]
           : tensor<1x2x1x2xf32> into tensor<1x2x8x2xf32>
    %e1 = tensor.empty() : tensor<1x2x8x2xf32>
    %v0 = tensor.insert_slice %pv into %e1[0, 0, 0, 0] [1, 2, 7, 2] [1, 1, 1, 1]
           : tensor<1x2x7x2xf32> into tensor<1x2x8x2xf32>
    %v = tensor.insert_slice %t into %v0[0, 0, 7, 0] [1, 2, 1, 2] [1, 1, 1, 1]
           : tensor<1x2x1x2xf32> into tensor<1x2x8x2xf32>
    %kt = einsum.einsum copy [a, b, c, d] (%k[a, b, c, d]) -> [a, b, d, c]
           : (tensor<1x2x8x2xf32>) -> tensor<1x2x2x8xf32>
    %kk = einsum.einsum copy [a, b, c, d] (%kt[a, b, d, c]) -> [a, b, c, d]
           : (tensor<1x2x2x8xf32>) -> tensor<1x2x8x2xf32>
    %qc = tensor.collapse_shape %t [[0, 1], [2], [3]]
           : tensor<1x2x1x2xf32> into tensor<2x1x2xf32>
    %kc = tensor.collapse_shape %kk [[0, 1], [2], [3]]
           : tensor<1x2x8x2xf32> into tensor<2x8x2xf32>
    %vc = tensor.collapse_shape %v [[0, 1], [2], [3]]
           : tensor<1x2x8x2xf32> into tensor<2x8x2xf32>
    %init = tensor.empty() : tensor<2x1x2xf32>
    %a = einsum.attention %qc, %kc, %vc outs(%init : tensor<2x1x2xf32>) scale 0.5
           : tensor<2x1x2xf32>, tensor<2x8x2xf32>, tensor<2x8x2xf32>
           -> tensor<2x1x2xf32>
    %ae = tensor.expand_shape %a [[0, 1], [2], [3]] output_shape [1, 2, 1, 2]
           : tensor<2x1x2xf32> into tensor<1x2x1x2xf32>
    %o = einsum.einsum copy [a, b, c, d] (%ae[a, b, c, d]) -> [a, c, b, d]
           : (tensor<1x2x1x2xf32>) -> tensor<1x1x2x2xf32>
    %oc = tensor.collapse_shape %o [[0], [1], [2, 3]]
           : tensor<1x1x2x2xf32> into tensor<1x1x4xf32>
    return %oc, %k, %v : tensor<1x1x4xf32>, tensor<1x2x8x2xf32>, tensor<1x2x8x2xf32>
  }
}
