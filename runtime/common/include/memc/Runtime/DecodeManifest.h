//===- DecodeManifest.h - The manifest of a decode package ------*- C++ -*-===//
//
// `memc MODEL --decode -o PKG` writes PKG/manifest.txt naming two programs,
// each a package of its own in a subdirectory (docs/package-format.md
// "Decode packages"):
//
//   memc-package 1
//   model <path of the ONNX file>
//   decode <capacity> <batch> <layout>     contiguous, or paged:<block>
//   kv_dtype f32|f16|i8                    (f32 when absent)
//   program prefill <rows>                 PKG/prefill: rows per call
//   program decode 1                       PKG/decode: one row per call
//
//===----------------------------------------------------------------------===//
#ifndef MEMC_RUNTIME_DECODEMANIFEST_H
#define MEMC_RUNTIME_DECODEMANIFEST_H

#include <cstdint>
#include <string>
#include <string_view>

namespace memc {
namespace rt {

struct DecodeManifest {
  std::string model;
  int64_t capacity = 0; ///< rows of every KV cache (the model's length T)
  int64_t batch = 0;    ///< sequences per call
  std::string layout;   ///< contiguous or paged:<block>
  int64_t page = 0;     ///< paged: rows per block (0: contiguous)
  std::string kvDtype = "f32"; ///< kv_dtype: f32, f16 or i8 (optional line)
  int64_t prefillRows = 0, decodeRows = 0;
};

/// True when manifest text is a decode package's (it has a `decode` line).
bool isDecodeManifest(std::string_view text);

/// Parses a decode package's manifest; on failure `error` is
/// "<fileName>:<line>: <what>".
bool parseDecodeManifest(std::string_view text, const std::string &fileName,
                         DecodeManifest &out, std::string &error);

} // namespace rt
} // namespace memc

#endif // MEMC_RUNTIME_DECODEMANIFEST_H
