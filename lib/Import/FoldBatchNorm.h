//===- FoldBatchNorm.h - inference BatchNormalization into Conv -*- C++ -*-===//
//
// Internal to lib/Import. An inference BatchNormalization after a Conv is a
// per-output-channel affine map, y = (conv(x) - mean) * s + beta with
// s = scale / sqrt(var + eps), which the Conv computes for free:
// W' = W * s (per output channel), B' = (B - mean) * s + beta. Folding it
// before import leaves a Conv with a bias, whose GEMM epilogue then takes
// the bias and a following Relu/Clip, instead of three elementwise loops
// over the Conv's output (ONNX Runtime's ConvBNFusion does the same).
//
//===----------------------------------------------------------------------===//
#ifndef MEMC_LIB_IMPORT_FOLDBATCHNORM_H
#define MEMC_LIB_IMPORT_FOLDBATCHNORM_H

#include "ImportContext.h"

#include <unordered_map>

namespace memc::onnximport {

/// Rewrites every Conv -> BatchNormalization pair of `graph` that can be
/// folded into one Conv whose weight and bias are new entries of
/// `constants`; returns how many were folded. A pair folds when the BN is
/// in inference mode with only Y wanted, the Conv's output feeds nothing
/// else (no other node, subgraph or graph output), and the Conv's W (and B)
/// and the BN's four parameters are f32 constants (initializers or Constant
/// nodes). Trainable weights must not be passed here: the caller folds
/// only when no train step is compiled.
unsigned
foldBatchNormIntoConv(onnx::GraphProto &graph,
                      std::unordered_map<std::string, HostTensor> &constants);

} // namespace memc::onnximport

#endif
