// RUN: memc-opt %s -split-input-file -memc-derive-decode | FileCheck %s --enable-var-scope
// RUN: memc-opt %s -split-input-file -memc-derive-decode=rows=4 | FileCheck %s --check-prefix=CHUNK --enable-var-scope
// RUN: memc-opt %s -split-input-file -memc-derive-decode=rows=4 -memc-lower-attention | FileCheck %s --check-prefix=LOOPS --enable-var-scope
// RUN: memc-opt %s -split-input-file -memc-derive-decode=page=4 -memc-lower-kv-caches | FileCheck %s --check-prefix=PAGED --enable-var-scope
// RUN: memc-opt %s -split-input-file -memc-derive-decode=kv-dtype=i8 -memc-lower-kv-caches | FileCheck %s --check-prefix=I8 --enable-var-scope
// RUN: memc-opt %s -split-input-file "-memc-derive-decode=kv-dtype=i8 page=4" | FileCheck %s --check-prefix=OPS --enable-var-scope
// RUN: not memc-opt %s -split-input-file -memc-derive-decode=kv-dtype=bf8 2>&1 | FileCheck %s --check-prefix=BADTYPE

// A one-layer causal LM of length 8: embedding gather, a learned position
// table, causal attention, the output projection. The decode step has one
// row at `position`: the table's row there, the key and value rows written
// into caches of 8 rows, the attention over the caches at that offset.
// CHECK-LABEL: func.func @main_graph(
// CHECK-SAME: %[[IDS:.*]]: tensor<1x1xi64> {memc.input = "ids"}
// CHECK-SAME: %[[POSITION:.*]]: tensor<i64> {memc.input = "position"}
// CHECK-SAME: %[[TABLE:[^:]*]]: tensor<1x8x4xf32> {memc.weight = "pos"}
// CHECK-SAME: %[[KEYS:[^:]*]]: tensor<1x8x4xf32> {memc.kv_cache = "key.0"}
// CHECK-SAME: %[[VALUES:[^:]*]]: tensor<1x8x4xf32> {memc.kv_cache = "value.0"}
// CHECK-SAME: -> (tensor<1x1x6xf32> {memc.output = "logits"}, tensor<1x8x4xf32> {memc.overwrites = "key.0"}, tensor<1x8x4xf32> {memc.overwrites = "value.0"})
// CHECK: %[[RAW:.*]] = tensor.extract %[[POSITION]][] : tensor<i64>
// CHECK: %[[CAST:.*]] = arith.index_cast %[[RAW]] : i64 to index
// CHECK: %[[LOW:.*]] = arith.maxsi %[[CAST]], %{{.*}} : index
// CHECK: %[[AT:.*]] = arith.minsi %[[LOW]], %{{.*}} : index
// CHECK: %[[X:.*]] = tensor.generate
// CHECK: tensor.extract %[[IDS]]
// CHECK: } : tensor<1x1x4xf32>
// CHECK: %[[ROW:.*]] = tensor.extract_slice %[[TABLE]][0, %[[AT]], 0] [1, 1, 4] [1, 1, 1] : tensor<1x8x4xf32> to tensor<1x1x4xf32>
// CHECK: %[[H:.*]] = einsum.einsum add [b, t, f] (%[[X]][b, t, f], %[[ROW]][0, t, f]) -> [b, t, f] : (tensor<1x1x4xf32>, tensor<1x1x4xf32>) -> tensor<1x1x4xf32>
// CHECK: %[[K:.*]] = kv.append %[[H]] into %[[KEYS]] at %[[AT]] : tensor<1x1x4xf32> into tensor<1x8x4xf32>
// CHECK: %[[V:.*]] = kv.append %[[H]] into %[[VALUES]] at %[[AT]] : tensor<1x1x4xf32> into tensor<1x8x4xf32>
// CHECK: %[[A:.*]] = einsum.attention %[[H]], %[[K]], %[[V]] outs(%{{.*}} : tensor<1x1x4xf32>) scale 5.000000e-01 masked_from 1 query_offset %[[AT]] : tensor<1x1x4xf32>, tensor<1x8x4xf32>, tensor<1x8x4xf32> -> tensor<1x1x4xf32>
// CHECK: %[[L:.*]] = einsum.einsum mul reduce add [b, t, v, f] (%[[A]][b, t, f], %{{.*}}[f, v]) -> [b, t, v]
// CHECK: return %[[L]], %[[K]], %[[V]]
// A prefill chunk: 4 rows from `position` on, the same caches.
// CHUNK: memc.decode = {capacity = 8 : i64, rows = 4 : i64}
// CHUNK: func.func @main_graph(%{{.*}}: tensor<1x4xi64> {memc.input = "ids"}
// CHUNK: tensor.extract_slice %{{.*}}[0, %{{.*}}, 0] [1, 4, 4] [1, 1, 1] : tensor<1x8x4xf32> to tensor<1x4x4xf32>
// CHUNK: kv.append %{{.*}} into %{{.*}} at %{{.*}} : tensor<1x4x4xf32> into tensor<1x8x4xf32>
// CHUNK: einsum.attention {{.*}} query_offset
// CHUNK-SAME: -> tensor<1x4x4xf32>
// The attention at an offset: the causal mask compares key and query rows
// shifted by it, and the K/V loop stops after the last row the chunk sees.
// LOOPS-LABEL: func.func @main_graph(
// LOOPS: %[[AT:.*]] = arith.minsi
// LOOPS: %[[LAST:.*]] = arith.addi %{{.*}}, %[[AT]] : index
// LOOPS: arith.divui
// LOOPS: %[[TILES:.*]] = arith.minui
// LOOPS: scf.for %{{.*}} = %{{.*}} to %[[TILES]] step
// LOOPS: tensor.generate
// LOOPS: arith.addi %{{.*}}, %[[AT]] : index
// LOOPS: arith.cmpi sge
// i8 caches: each row's largest magnitude / 127 is its scale, kept in a
// second cache; the codes are the rounded quotients; the attention reads
// an f32 view decoded block by block up to the row written.
// I8-LABEL: func.func @main_graph(
// I8-SAME: %[[KEYS:[^:]*]]: tensor<1x8x4xi8> {memc.kv_cache = "key.0"}, %[[SCALES:[^:]*]]: tensor<1x8xf32> {memc.kv_cache = "key.0.scale"}
// I8: %[[MAX:.*]] = einsum.einsum abs reduce max [a, b, c] (%[[H:.*]][a, b, c]) -> [a, b] : (tensor<1x1x4xf32>) -> tensor<1x1xf32>
// I8: %[[S0:.*]] = einsum.einsum div [a, b] (%[[MAX]][a, b], %{{.*}}[]) -> [a, b]
// I8: %[[S:.*]] = einsum.einsum max [a, b] (%[[S0]][a, b], %{{.*}}[]) -> [a, b]
// I8: einsum.einsum div [a, b, c] (%[[H]][a, b, c], %[[S]][a, b]) -> [a, b, c]
// I8: einsum.einsum round
// I8: einsum.einsum clamp
// I8: %[[Q:.*]] = einsum.einsum copy [a, b, c] (%{{.*}}[a, b, c]) -> [a, b, c] : (tensor<1x1x4xf32>) -> tensor<1x1x4xi8>
// I8: %[[K:.*]] = tensor.insert_slice %[[Q]] into %[[KEYS]][0, %[[AT:.*]], 0] [1, 1, 4]
// I8: %[[KS:.*]] = tensor.insert_slice %[[S]] into %[[SCALES]][0, %[[AT]]] [1, 1]
// I8: scf.for
// I8: tensor.extract_slice %[[K]]
// I8: tensor.extract_slice %[[KS]]
// I8: einsum.einsum copy [a, b, c] ({{.*}}) -> [a, b, c] : (tensor<1x8x4xi8>) -> tensor<1x8x4xf32>
// I8: einsum.einsum mul [a, b, c]
// I8: return %{{.*}}, %[[K]], %[[KS]], %{{.*}}, %{{.*}} :
// BADTYPE: memc-derive-decode: kv-dtype 'bf8' is not f32, f16 or i8

// Before memc-lower-kv-caches: the codes and the scales each appended
// through the block table, and the view the attention reads.
// OPS-LABEL: func.func @main_graph(
// OPS-SAME: %[[TABLE:[^:]*]]: tensor<1x2xi64> {memc.input = "block_table"}
// OPS: %[[AT:.*]] = arith.minsi
// OPS: %[[K:.*]] = kv.append %{{.*}} into %{{.*}} at %[[AT]] table %[[TABLE]] : tensor<1x2xi64> : tensor<1x1x4xi8> into tensor<3x4x4xi8>
// OPS: %[[KS:.*]] = kv.append %{{.*}} into %{{.*}} at %[[AT]] table %[[TABLE]] : tensor<1x2xi64> : tensor<1x1xf32> into tensor<3x4xf32>
// OPS: %[[VIEW:.*]] = kv.view %[[K]] scale %[[KS]] : tensor<3x4xf32> at %[[AT]] rows 1 table %[[TABLE]] : tensor<1x2xi64> : tensor<3x4x4xi8> -> tensor<1x8x4xf32>
// OPS: einsum.attention %{{.*}}, %[[VIEW]], %{{.*}} query_offset %[[AT]]

// Paged in blocks of 4 rows: pools of 2 blocks per batch x head row and a
// spare, the block table an input; each row goes to its block's slot, the
// attention reads a view gathered from the blocks in use.
// PAGED-LABEL: func.func @main_graph(
// PAGED-SAME: %[[POSITION:.*]]: tensor<i64> {memc.input = "position"}, %[[TABLE:.*]]: tensor<1x2xi64> {memc.input = "block_table"}
// PAGED-SAME: %[[KEYS:[^:]*]]: tensor<3x4x4xf32> {memc.kv_cache = "key.0"}
// PAGED: %[[AT:.*]] = arith.minsi
// PAGED: %[[POOL:.*]] = scf.for %[[R:.*]] = %{{.*}} to %{{.*}} step %{{.*}} iter_args(%[[P:.*]] = %[[KEYS]]) -> (tensor<3x4x4xf32>)
// PAGED: scf.for %[[I:.*]] = {{.*}} iter_args(%[[Q:.*]] = %[[P]])
// PAGED: %[[ROW:.*]] = arith.addi %[[AT]], %[[I]] : index
// PAGED: %[[J:.*]] = arith.divui %[[ROW]], %{{.*}} : index
// PAGED: %[[SLOT:.*]] = arith.remui %[[ROW]], %{{.*}} : index
// PAGED: tensor.extract %[[TABLE]][%[[R]], %[[J]]] : tensor<1x2xi64>
// PAGED: %[[BLOCK:.*]] = arith.minsi
// PAGED: tensor.insert_slice %{{.*}} into %[[Q]][%[[BLOCK]], %[[SLOT]], 0] [1, 1, 4] [1, 1, 1] : tensor<1x1x4xf32> into tensor<3x4x4xf32>
// PAGED: %[[VIEW:.*]] = scf.for {{.*}} -> (tensor<1x8x4xf32>)
// PAGED: tensor.extract_slice %[[POOL]][%{{.*}}, 0, 0] [1, 4, 4] [1, 1, 1] : tensor<3x4x4xf32> to tensor<1x4x4xf32>
// PAGED: einsum.attention %{{.*}}, %[[VIEW]], %{{.*}} outs({{.*}}) scale 5.000000e-01 masked_from 1 query_offset %[[AT]]
// PAGED: return %{{.*}}, %[[POOL]], %{{.*}} :
module attributes {memc.entry = @main_graph} {
  func.func @main_graph(%ids: tensor<1x8xi64> {memc.input = "ids"},
                        %emb: tensor<6x4xf32> {memc.weight = "emb"},
                        %pos: tensor<1x8x4xf32> {memc.weight = "pos"},
                        %wo: tensor<4x6xf32> {memc.weight = "wo"})
      -> (tensor<1x8x6xf32> {memc.output = "logits"}) {
    %x = tensor.generate {
    ^bb0(%b: index, %t: index, %f: index):
      %id = tensor.extract %ids[%b, %t] : tensor<1x8xi64>
      %i = arith.index_cast %id : i64 to index
      %e = tensor.extract %emb[%i, %f] : tensor<6x4xf32>
      tensor.yield %e : f32
    } : tensor<1x8x4xf32>
    %h = einsum.einsum add [b, t, f] (%x[b, t, f], %pos[0, t, f]) -> [b, t, f]
           : (tensor<1x8x4xf32>, tensor<1x8x4xf32>) -> tensor<1x8x4xf32>
    %init = tensor.empty() : tensor<1x8x4xf32>
    %a = einsum.attention %h, %h, %h outs(%init : tensor<1x8x4xf32>)
           scale 0.5 masked_from 1
           : tensor<1x8x4xf32>, tensor<1x8x4xf32>, tensor<1x8x4xf32>
           -> tensor<1x8x4xf32>
    %l = einsum.einsum mul reduce add [b, t, v, f] (%a[b, t, f], %wo[f, v]) -> [b, t, v]
           : (tensor<1x8x4xf32>, tensor<4x6xf32>) -> tensor<1x8x6xf32>
    return %l : tensor<1x8x6xf32>
  }
}
