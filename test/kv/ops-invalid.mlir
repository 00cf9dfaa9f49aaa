// RUN: memc-opt %s -split-input-file -verify-diagnostics

func.func @dtype(%rows: tensor<4x1x64xf32>, %k: tensor<4x256x64xf16>, %at: index) {
  // expected-error @+1 {{'kv.append' op rows of 'f32' into a cache of 'f16' (encode them first)}}
  %k1 = kv.append %rows into %k at %at : tensor<4x1x64xf32> into tensor<4x256x64xf16>
  return
}

// -----

func.func @heads(%rows: tensor<2x1x64xf32>, %k: tensor<4x256x64xf32>, %at: index) {
  // expected-error @+1 {{'kv.append' op the cache has 4 batch x head rows, not 2}}
  %k1 = kv.append %rows into %k at %at : tensor<2x1x64xf32> into tensor<4x256x64xf32>
  return
}

// -----

func.func @too_many_rows(%rows: tensor<4x300x64xf32>, %k: tensor<4x256x64xf32>, %at: index) {
  // expected-error @+1 {{'kv.append' op 300 rows do not fit a capacity of 256}}
  %k1 = kv.append %rows into %k at %at : tensor<4x300x64xf32> into tensor<4x256x64xf32>
  return
}

// -----

func.func @pool_size(%rows: tensor<4x1x64xf32>, %pool: tensor<64x16x64xf32>, %at: index,
                     %table: tensor<4x16xi64>) {
  // expected-error @+1 {{'kv.append' op a pool for this table has 65 blocks (a spare included), not 64}}
  %p = kv.append %rows into %pool at %at table %table : tensor<4x16xi64>
      : tensor<4x1x64xf32> into tensor<64x16x64xf32>
  return
}

// -----

func.func @table_type(%rows: tensor<4x1x64xf32>, %pool: tensor<65x16x64xf32>, %at: index,
                      %table: tensor<4x16xi32>) {
  // expected-error @+1 {{'kv.append' op the block table must be i64 [4, blocks]}}
  %p = kv.append %rows into %pool at %at table %table : tensor<4x16xi32>
      : tensor<4x1x64xf32> into tensor<65x16x64xf32>
  return
}

// -----

func.func @view_rows(%k: tensor<4x256x64xf16>, %at: index) {
  // expected-error @+1 {{'kv.view' op the view has 128 rows, the cache's capacity is 256}}
  %v = kv.view %k at %at rows 1 : tensor<4x256x64xf16> -> tensor<4x128x64xf32>
  return
}

// -----

func.func @view_type(%k: tensor<4x256x64xf16>, %at: index) {
  // expected-error @+1 {{'kv.view' op the view is a static f32 tensor of the cache's rank}}
  %v = kv.view %k at %at rows 1 : tensor<4x256x64xf16> -> tensor<4x256x64xf16>
  return
}

// -----

func.func @i8_without_scales(%k: tensor<4x256x64xi8>, %at: index) {
  // expected-error @+1 {{'kv.view' op an i8 cache, and only one, is read with its scales}}
  %v = kv.view %k at %at rows 1 : tensor<4x256x64xi8> -> tensor<4x256x64xf32>
  return
}

// -----

func.func @scale_shape(%k: tensor<4x256x64xi8>, %s: tensor<4x128xf32>, %at: index) {
  // expected-error @+1 {{'kv.view' op the scales are f32 [4, 256]}}
  %v = kv.view %k scale %s : tensor<4x128xf32> at %at rows 1 : tensor<4x256x64xi8> -> tensor<4x256x64xf32>
  return
}

// -----

func.func @rows_zero(%k: tensor<4x256x64xf16>, %at: index) {
  // expected-error @+1 {{'kv.view' op attribute 'rows' failed to satisfy constraint: 64-bit signless integer attribute whose value is positive}}
  %v = kv.view %k at %at rows 0 : tensor<4x256x64xf16> -> tensor<4x256x64xf32>
  return
}
