//===- OpsWindow.h - sliding windows of Conv and the pools ------*- C++ -*-===//
//
// Internal to lib/Import. Windows are einsum index expressions
// `o * stride + k * dilation` over a padded input (tensor.pad), so every
// window index stays in bounds; the kernel rank `k` gets its extent from a
// plain use: the convolution weight, or for pools a small constant window
// tensor of shape kernel_shape.
//
//===----------------------------------------------------------------------===//
#ifndef MEMC_LIB_IMPORT_OPSWINDOW_H
#define MEMC_LIB_IMPORT_OPSWINDOW_H

#include "OpsCommon.h"

namespace memc::onnximport {

/// The geometry of a sliding window over the spatial dims.
struct Window {
  std::vector<int64_t> in, kernel, strides, dilations;
  std::vector<int64_t> padBegin, padEnd; ///< the model's (or auto) pads
  std::vector<int64_t> out;
  /// Padding the einsum needs: begin pads, and on the high side enough for
  /// the last window (more than padEnd with ceil_mode).
  std::vector<int64_t> lowPad, highPad;
  size_t rank() const { return in.size(); }
  int64_t effKernel(size_t i) const {
    return (kernel[i] - 1) * dilations[i] + 1;
  }
};

/// Reads strides, dilations (when `dilations`), pads and auto_pad; computes
/// output sizes as ONNX shape inference does.
mlir::LogicalResult windowGeometry(NodeImporter &ni, llvm::ArrayRef<int64_t> in,
                                   llvm::ArrayRef<int64_t> kernel,
                                   bool dilations, bool ceilMode, Window &w);

/// The index of spatial dim `i` of the padded input: o * stride + k *
/// dilation, with `o` and `k` the ranks of output position and kernel tap.
inline Ix windowIndex(const Window &w, size_t i, unsigned o, unsigned k) {
  return Ix(o) * w.strides[i] + Ix(k) * w.dilations[i];
}

/// The einsum of a window: out[n, c, o...] = reduce_k compute(x[n, c,
/// o*s + k*d ...], w[k...]), x already padded. With `keepWindow` nothing
/// is reduced: out[n, c, o..., k...].
mlir::Value windowEinsum(NodeImporter &ni, mlir::Value xp, mlir::Value window,
                         const Window &w, einsum::ComputeOp compute,
                         einsum::ReduceOp reduce, bool keepWindow = false);

/// Pads the spatial dims of an NC... tensor for window `w`.
mlir::Value padSpatial(NodeImporter &ni, mlir::Value x, const Window &w,
                       double value);

} // namespace memc::onnximport

#endif
