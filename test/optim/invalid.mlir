// RUN: memc-opt %s -split-input-file -verify-diagnostics

// expected-error @+1 {{blockwise8 needs a positive block size}}
func.func private @f() attributes {s = #optim.layout<blockwise8, i8>}

// -----

// expected-error @+1 {{blockwise8 stores i8 codes, got 'f32'}}
func.func private @f() attributes {s = #optim.layout<blockwise8, f32, block = 2048>}

// -----

// expected-error @+1 {{lowrank needs a positive rank}}
func.func private @f() attributes {s = #optim.layout<lowrank, f32, period = 200>}

// -----

// expected-error @+1 {{lowrank scale must be positive}}
func.func private @f() attributes {s = #optim.layout<lowrank, f32, rank = 4, period = 200, scale = -1.0 : f64>}

// -----

// expected-error @+1 {{dense takes no block, rank, period or scale}}
func.func private @f() attributes {s = #optim.layout<dense, f32, rank = 4>}
