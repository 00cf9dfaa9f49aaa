// RUN: memc-opt %s -split-input-file | FileCheck %s
// RUN: memc-opt %s -split-input-file | memc-opt -split-input-file | FileCheck %s

// CHECK: func.func private @contiguous(!kv.buffer<4 x 8 x 2048 x 64, f16>)
func.func private @contiguous(!kv.buffer<4 x 8 x 2048 x 64, f16>)

// -----

// CHECK: func.func private @paged(!kv.buffer<4 x 8 x 2048 x 64, bf16, paged = 16>)
func.func private @paged(!kv.buffer<4 x 8 x 2048 x 64, bf16, paged = 16>)
