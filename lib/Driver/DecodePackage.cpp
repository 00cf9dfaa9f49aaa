//===- DecodePackage.cpp - memc --decode: two programs, one package -------===//
//
// A decode package is a directory holding two packages: `prefill/` (a chunk
// of prompt rows per call) and `decode/` (one row per call), each compiled
// by compile() from the same model with its number of rows, and a manifest
// that names them with the caches' capacity, the batch and the layout
// (docs/package-format.md "Decode packages"). The decode step is compiled
// first: it proves the model causal and tells the capacity, from which the
// prefill's rows follow. Everything is built in one staged directory, so a
// failure in either program leaves nothing behind.
//
//===----------------------------------------------------------------------===//
#include "DecodePackage.h"

#include "CompileSession.h"
#include "OutputPath.h"

#include "memc/Analysis/TileSizes.h"
#include "memc/Import/ONNXImporter.h"
#include "memc/Runtime/PackageFormat.h"

#include "llvm/Support/FileSystem.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/raw_ostream.h"

#include <fstream>

namespace memc {
namespace {

/// What the decode step's manifest says of the caches: the capacity (rows
/// of every cache), the batch (the ids' first dimension) and the bytes of
/// all caches together at capacity (a paged pool's spare block aside).
struct CacheFacts {
  int64_t capacity = 0, batch = 0, caches = 0;
  uint64_t bytes = 0;
};

bool readCacheFacts(const std::string &manifestPath, int64_t page,
                    CacheFacts &facts, std::string &error) {
  auto buffer = llvm::MemoryBuffer::getFile(manifestPath);
  if (!buffer) {
    error = "internal: cannot read " + manifestPath;
    return false;
  }
  llvm::SmallVector<llvm::StringRef> lines;
  (*buffer)->getBuffer().split(lines, '\n');
  for (llvm::StringRef line : lines) {
    llvm::SmallVector<llvm::StringRef> tok;
    line.split(tok, ' ', -1, /*KeepEmpty=*/false);
    if (tok.size() < 4)
      continue;
    std::vector<int64_t> dims;
    if (!parseDims(tok[3].str(), dims))
      continue;
    if (tok[0] == package::kInputRecord && dims.size() == 2) {
      if (tok[1] == package::kBlockTableName)
        facts.capacity = dims[1] * page;
      else
        facts.batch = dims[0];
    }
    if (tok[0] == package::kKVRecord && dims.size() >= 2) {
      // Data caches [BH, T, F] (pools [blocks, page, F]), and for i8 their
      // scales [BH, T] ([blocks, page]).
      uint64_t element = package::dtypeSize(std::string_view(tok[2]));
      if (!page)
        facts.capacity = dims[1];
      uint64_t n = uint64_t(dims[0] - (page ? 1 : 0)) * uint64_t(dims[1]) *
                   (dims.size() == 3 ? uint64_t(dims[2]) : 1);
      facts.bytes += n * element;
      facts.caches += dims.size() == 3;
    }
  }
  if (!facts.capacity || !facts.batch) {
    error = "internal: " + manifestPath + " lists no KV caches or no ids";
    return false;
  }
  return true;
}

/// The largest divisor of `capacity` up to 64 and `most`: the prefill's
/// rows per call.
int64_t defaultPrefillRows(int64_t capacity, int64_t most) {
  return largestDivisorAtMost(capacity, std::min<int64_t>(most, 64));
}

std::optional<llvm::json::Value> readJSON(const std::string &path) {
  auto buffer = llvm::MemoryBuffer::getFile(path);
  if (!buffer)
    return std::nullopt;
  llvm::Expected<llvm::json::Value> value =
      llvm::json::parse((*buffer)->getBuffer());
  if (!value) {
    llvm::consumeError(value.takeError());
    return std::nullopt;
  }
  return std::move(*value);
}

} // namespace

ExitCode compileDecodePackage(const CompilerOptions &options) {
  std::string error;
  StagedOutput staged(options.output, OutputKind::Package, options.input);
  if (ExitCode rc = staged.create(error); rc != ExitOK)
    return failWith(rc, error);
  // Reports of the two programs go beside the package's temporary and are
  // merged into --report.
  llvm::SmallString<128> scratch;
  if (std::error_code ec =
          llvm::sys::fs::createUniqueDirectory("memc-decode", scratch))
    return failWith(ExitOutput,
                    "cannot create a temporary directory: " + ec.message());
  struct RemoveScratch {
    std::string dir;
    ~RemoveScratch() { llvm::sys::fs::remove_directories(dir); }
  } removeScratch{std::string(scratch)};

  auto compileProgram = [&](const char *name, int64_t rows) {
    CompilerOptions program = options;
    program.output = staged.path() + "/" + name;
    program.decode.rows = rows;
    program.reportPath = options.reportPath.empty()
                             ? ""
                             : std::string(scratch) + "/" + name + ".json";
    program.timelinePath = options.timelinePath.empty() || rows != 1
                               ? ""
                               : std::string(scratch) + "/decode.svg";
    if (options.verbose)
      llvm::errs() << "memc: program " << name << " (" << rows
                   << (rows == 1 ? " row" : " rows") << " per call)\n";
    return compile(program);
  };

  if (ExitCode rc = compileProgram(package::kDecodeProgram, 1); rc != ExitOK)
    return rc;
  CacheFacts facts;
  int64_t page = options.decode.pageSize;
  if (!readCacheFacts(staged.path() + "/" + package::kDecodeProgram + "/" +
                          package::kManifestFile,
                      page, facts, error))
    return failWith(ExitInternal, error);
  std::string layout =
      page ? std::string(package::kLayoutPaged) + ":" + std::to_string(page)
           : std::string(package::kLayoutContiguous);
  // An export with past keys/values whose ids take a fixed number of rows
  // prefills that many at a time; with a dynamic sequence, as a plain
  // export, but leaving a past of at least one row.
  int64_t prefillRows = options.decode.prefillRows;
  if (!prefillRows && options.decode.capacity) {
    DecodeExportInfo info;
    ImportError importError;
    if (!inspectDecodeExport(options.input, info, importError))
      return failWith(importError.code, importError.message);
    prefillRows = info.fixedRows
                      ? info.fixedRows
                      : defaultPrefillRows(facts.capacity,
                                           facts.capacity - 1);
  }
  if (!prefillRows)
    prefillRows = defaultPrefillRows(facts.capacity, facts.capacity);
  if (facts.capacity % prefillRows != 0)
    return failWith(ExitUsage, "--prefill-rows=" + std::to_string(prefillRows) +
                                   " must divide the sequence length " +
                                   std::to_string(facts.capacity));
  if (ExitCode rc = compileProgram(package::kPrefillProgram, prefillRows);
      rc != ExitOK)
    return rc;

  llvm::SmallString<256> absIn(options.input);
  llvm::sys::fs::make_absolute(absIn);
  {
    std::ofstream manifest(staged.path() + "/" + package::kManifestFile);
    manifest << package::kManifestMagic << " " << package::kManifestVersion
             << "\n"
             << package::kModelRecord << " " << std::string(absIn) << "\n"
             << package::kDecodeRecord << " " << facts.capacity << " "
             << facts.batch << " " << layout << "\n"
             << package::kKVDtypeRecord << " " << options.decode.kvDtype << "\n"
             << package::kProgramRecord << " " << package::kPrefillProgram
             << " " << prefillRows << "\n"
             << package::kProgramRecord << " " << package::kDecodeProgram
             << " 1\n";
    if (!manifest.good())
      return failWith(ExitOutput,
                      "cannot write the manifest in " + staged.path());
  }

  if (!options.reportPath.empty()) {
    std::optional<llvm::json::Value> step =
        readJSON(std::string(scratch) + "/decode.json");
    std::optional<llvm::json::Value> prefill =
        readJSON(std::string(scratch) + "/prefill.json");
    if (!step || !step->getAsObject() || !prefill)
      return failWith(ExitInternal, "internal: the programs' reports are "
                                    "missing");
    llvm::json::Object report = std::move(*step->getAsObject());
    uint64_t perToken = facts.bytes / uint64_t(facts.batch * facts.capacity);
    report["kv"] = llvm::json::Object{{"layout", layout},
                                      {"block", page},
                                      {"capacity", facts.capacity},
                                      {"batch", facts.batch},
                                      {"caches", facts.caches},
                                      {"dtype", options.decode.kvDtype},
                                      {"bytes_per_token", perToken},
                                      {"bytes_at_capacity", facts.bytes}};
    report["prefill"] = std::move(*prefill);
    report["prefill_rows"] = prefillRows;
    if (ExitCode rc = writeTextOutput(
            options.reportPath, options.input,
            [&](llvm::raw_ostream &os) {
              os << llvm::formatv("{0:2}", llvm::json::Value(std::move(report)))
                 << "\n";
            });
        rc != ExitOK)
      return rc;
  }
  if (!options.timelinePath.empty()) {
    auto svg =
        llvm::MemoryBuffer::getFile(std::string(scratch) + "/decode.svg");
    if (!svg)
      return failWith(ExitInternal, "internal: the decode step's timeline "
                                    "is missing");
    if (ExitCode rc = writeTextOutput(
            options.timelinePath, options.input,
            [&](llvm::raw_ostream &os) { os << (*svg)->getBuffer(); });
        rc != ExitOK)
      return rc;
  }
  if (ExitCode rc = staged.commit(error); rc != ExitOK)
    return failWith(rc, error);
  return ExitOK;
}

} // namespace memc
