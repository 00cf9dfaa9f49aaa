// RUN: memc-opt %s -split-input-file -verify-diagnostics

// expected-error @+1 {{capacity 100 is not a multiple of the page size 16}}
func.func private @f(!kv.buffer<4 x 8 x 100 x 64, f16, paged = 16>)

// -----

// expected-error @+1 {{layers, heads, capacity and head_dim must be positive}}
func.func private @f(!kv.buffer<0 x 8 x 128 x 64, f16>)

// -----

// expected-error @+1 {{KV element type must be a float or i8, got 'i32'}}
func.func private @f(!kv.buffer<1 x 8 x 128 x 64, i32>)
