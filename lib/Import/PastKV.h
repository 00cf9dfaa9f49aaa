//===- PastKV.h - an export's past keys and values --------------*- C++ -*-===//
//
// Exporters for generation give a causal LM past key/value inputs and
// present outputs: each present is Concat(past, new rows) along the
// sequence axis. Under --decode memc binds those concatenations to KV
// caches (memc-bind-past-kv); this finds them in the ONNX graph, so the
// importer can fix their dynamic lengths and mark them.
//
//===----------------------------------------------------------------------===//
#ifndef MEMC_LIB_IMPORT_PASTKV_H
#define MEMC_LIB_IMPORT_PASTKV_H

#include <onnx/onnx_pb.h>

#include <cstdint>
#include <map>
#include <set>
#include <string>

namespace memc::onnximport {

struct PastKV {
  /// Past input -> the axis (non-negative) a Concat extends it along into
  /// a graph output.
  std::map<std::string, int64_t> pastAxis;
  /// The token ids: the first integer graph input of rank 2.
  std::string ids;
  /// Every other integer graph input (positions).
  std::set<std::string> positions;
};

/// Fills `found` from `graph` (no pasts: a plain export). Returns false
/// with `error` (one line) when a node reads the length of a past (Shape or
/// Size on a value computed from one), which a KV cache only knows at run
/// time.
bool findPastKV(const onnx::GraphProto &graph, PastKV &found,
                std::string &error);

} // namespace memc::onnximport

#endif
