// RUN: memc-opt %s -split-input-file | FileCheck %s
// RUN: memc-opt %s -split-input-file | memc-opt -split-input-file | FileCheck %s

// CHECK: states = [#optim.layout<dense, f32>, #optim.layout<blockwise8, i8, block = 2048>, #optim.layout<lowrank, f32, rank = 128, period = 200, scale = 2.500000e-01 : f64>, #optim.layout<factored, f32>]
func.func private @states() attributes {states = [
  #optim.layout<dense, f32>,
  #optim.layout<blockwise8, i8, block = 2048>,
  #optim.layout<lowrank, f32, rank = 128, period = 200, scale = 0.25 : f64>,
  #optim.layout<factored, f32>]}

// -----

// CHECK: projection = random
func.func private @apollo() attributes {s = #optim.layout<lowrank, f32, rank = 1, period = 200, projection = random>}
