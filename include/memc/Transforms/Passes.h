//===- Passes.h - memc's passes ---------------------------------*- C++ -*-===//
#ifndef MEMC_TRANSFORMS_PASSES_H
#define MEMC_TRANSFORMS_PASSES_H

#include "dialects/einsum/EinsumDialect.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/NVGPU/IR/NVGPUDialect.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/Pass/Pass.h"

namespace memc {
#define GEN_PASS_DECL
#include "memc/Transforms/Passes.h.inc"

#define GEN_PASS_REGISTRATION
#include "memc/Transforms/Passes.h.inc"
} // namespace memc

#endif // MEMC_TRANSFORMS_PASSES_H
