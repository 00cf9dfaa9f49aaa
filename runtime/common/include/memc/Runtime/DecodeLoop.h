//===- DecodeLoop.h - greedy decoding over a device interface ---*- C++ -*-===//
//
// memc-run --generate on any device: the prompt's checks, the prefill
// chunks, the one-row steps and the argmax are the same on the CPU
// (runtime/cpu/GenerateRunner.cpp) and the GPU (runtime/cuda/
// CudaGenerateRunner.cpp); a device only runs a program on ids at a
// position and hands back its logits. Prompts of different lengths in one
// batch are handled per sequence: the prefill takes the rows all of them
// have, then each one-row step feeds every sequence its own next prompt
// token while it has one, its last new token after.
//
//===----------------------------------------------------------------------===//
#ifndef MEMC_RUNTIME_DECODELOOP_H
#define MEMC_RUNTIME_DECODELOOP_H

#include "memc/Runtime/DecodeManifest.h"
#include "memc/Runtime/Manifest.h"
#include "memc/Runtime/Tensor.h"

#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

namespace memc {
namespace rt {

/// What one greedy generation computed.
struct Generation {
  std::vector<std::vector<int64_t>> tokens; ///< the new tokens of each sequence
  /// decodeMsPerToken: the mean of the one-row steps (those that feed a
  /// longer prompt's rows included).
  double prefillMs = 0, decodeMsPerToken = 0;
  /// Contiguous caches: their bytes at capacity; paged: the blocks in use.
  uint64_t kvBytes = 0;
};

/// The KV caches' accounting both runtimes share: for paged caches the
/// block table (blocks go out in order as rows reach them, so the pools'
/// touched blocks are the blocks in use, and the last block is the spare
/// that takes the writes of rows given none), and the bytes in use.
class CacheBook {
public:
  /// Sets up for caches `caches` (the manifest's `kv` records) with blocks
  /// of `page` rows (0: contiguous). False when out of memory.
  bool init(const std::vector<TensorSpec> &caches, int64_t page,
            int64_t batchHeads, int64_t blocksPerRow);
  /// Every block back to the spare (a new generation).
  void restart();
  /// Gives a block to every cache row's logical blocks holding rows
  /// [from, to).
  void reserve(int64_t from, int64_t to);
  /// Paged: the [BH, capacity / page] block table the programs take.
  const Tensor &table() const { return table_; }
  Tensor &table() { return table_; }
  /// Contiguous caches: their bytes; paged: the blocks handed out.
  uint64_t bytesInUse() const {
    return page_ ? uint64_t(next_) * unitBytes_ : unitBytes_;
  }

private:
  int64_t page_ = 0, batchHeads_ = 0, blocksPerRow_ = 0, spare_ = 0, next_ = 0;
  Tensor table_;
  /// Paged: one block of every cache together; contiguous: every cache.
  uint64_t unitBytes_ = 0;
};

/// Reads `dir`/manifest.txt as a decode package's. ExitOK; ExitUsage when
/// it is another package's (`error`: "DIR: not a decode package ...");
/// ExitBadPackage when it cannot be read or parsed.
int readDecodeManifest(const std::string &dir, DecodeManifest &d,
                       std::string &error);

/// Checks program `m` (in `programDir`, `rows` rows a call) against what
/// --generate passes: ids i64 [batch, rows], position i64 scalar (and the
/// block table when paged), KV caches of the manifest's layout and dtype,
/// the logits f32 [batch, rows, vocab]; no train records. False with
/// `error` set to one line when it does not match.
bool checkDecodeProgram(const Manifest &m, const DecodeManifest &d,
                        int64_t rows, const std::string &programDir,
                        std::string &error);

/// The prefill and the decode step must have the same KV caches and
/// vocabulary; false with `error` set (naming the package `dir`) otherwise.
bool checkDecodePrograms(const Manifest &prefill, const Manifest &step,
                         const std::string &dir, std::string &error);

/// A decode package's two programs on a device, with the KV caches they
/// share.
class DecodeDevice {
public:
  enum Program { Prefill, Step };
  virtual ~DecodeDevice();
  /// The caches' block table and bytes in use, which the loop keeps.
  virtual CacheBook &book() = 0;
  /// Runs `program` once on `ids` ([batch, rows] row-major) with its first
  /// row at sequence row `position`; its logits [batch, rows, vocab] are
  /// then at logits(program). ExitOK, or an exit code with `error` set.
  virtual int call(Program program, const std::vector<int64_t> &ids,
                   int64_t position, std::string &error) = 0;
  virtual const float *logits(Program program) const = 0;
  virtual int64_t vocab() const = 0;
};

/// Greedy-decodes `n` tokens after `prompt` (int64 [batch, P]; a shorter
/// prompt ends at its first negative id, the rest of its row negative too)
/// on `device`. ExitBadData (a prompt of another type or shape, an empty
/// prompt, a token after the padding; `promptName` names it), ExitCapacity
/// (the longest prompt + n > capacity) or the device's code, with `error`
/// set; else ExitOK.
int generateGreedy(const DecodeManifest &d, DecodeDevice &device,
                   const Tensor &prompt, const std::string &promptName,
                   int64_t n, Generation &out, std::string &error);

/// memc-run --generate's lines: `tokens: ...` (one per sequence), then
/// (unless `quiet`) `prefill_ms:`, `decode_ms_per_token:` and `kv_bytes:`.
void printGeneration(const Generation &g, bool quiet, std::FILE *out);

} // namespace rt
} // namespace memc

#endif // MEMC_RUNTIME_DECODELOOP_H
