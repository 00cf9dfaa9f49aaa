//===- Manifest.cpp - Parser of manifest.txt ------------------------------===//
//
// Hand-written, exception-free parsing (the tools may be built with
// -fno-exceptions), one line at a time, with the line number in every error.
//
//===----------------------------------------------------------------------===//

#include "memc/Runtime/Manifest.h"

#include "memc/Runtime/LineReader.h"

#include <cstdint>

namespace memc {
namespace rt {

namespace {

namespace pf = package;

/// "f32 f64 ... bool": every spelling, for errors.
std::string dtypeSpellings() {
  std::string s;
  for (const pf::DTypeInfo &info : pf::kDTypes)
    s += std::string(s.empty() ? "" : " ") + info.name;
  return s;
}

/// The `<kind> <name> <dtype> <dims>` part of a tensor line, shared by the
/// manifest and the interface; `what` says what is wrong.
bool parseSpec(const std::vector<std::string_view> &tok, TensorSpec &spec,
               std::string &what) {
  std::string kind(tok[0]);
  spec.name = std::string(tok[1]);
  if (!parseDType(tok[2], spec.dtype)) {
    what = "unknown dtype " + quoted(tok[2]) + " of " + kind + " " +
           quoted(tok[1]) + " (want " + dtypeSpellings() + ")";
    return false;
  }
  if (!parseDims(tok[3], spec.dims)) {
    what = "bad dims " + quoted(tok[3]) + " of " + kind + " " + quoted(tok[1]) +
           " (want e.g. 1x128x64 or scalar)";
    return false;
  }
  if (!countElements(spec.dims, spec.numElements, dtypeSize(spec.dtype))) {
    what =
        "dims " + quoted(tok[3]) + " of " + quoted(tok[1]) + " are too large";
    return false;
  }
  spec.byteSize = spec.numElements * dtypeSize(spec.dtype);
  return true;
}

} // namespace

bool parseDims(std::string_view text, std::vector<int64_t> &dims) {
  dims.clear();
  if (text == pf::kScalarDims)
    return true;
  if (text.empty())
    return false;
  size_t start = 0;
  for (;;) {
    size_t x = text.find(pf::kDimSeparator, start);
    std::string_view field =
        text.substr(start, x == std::string_view::npos ? std::string_view::npos
                                                       : x - start);
    uint64_t v = 0;
    if (!parseU64(field, v) || v > uint64_t(INT64_MAX))
      return false;
    dims.push_back(int64_t(v));
    if (x == std::string_view::npos)
      return true;
    start = x + 1;
  }
}

bool parseManifest(std::string_view text, const std::string &fileName,
                   Manifest &out, std::string &error) {
  out = Manifest();
  bool sawArena = false, sawHostPool = false, sawModel = false,
       sawTarget = false;
  LineReader in(text, fileName);
  auto fail = [&](const std::string &what) { return in.fail(what, error); };
  // The header comes first, without exception: it is how a directory is
  // recognized as a package at all.
  if (!in.readHeader(pf::kManifestMagic, pf::kManifestVersion, "manifest",
                     error))
    return false;
  out.version = pf::kManifestVersion;

  while (in.next()) {
    std::string_view line = in.line();
    const std::vector<std::string_view> &tok = in.tokens();
    std::string_view kind = tok[0];
    if (kind == pf::kModelRecord) {
      if (sawModel)
        return fail("duplicate 'model' line");
      sawModel = true;
      // The path is the rest of the line: it may contain spaces.
      size_t at = line.find(pf::kModelRecord) +
                  std::string_view(pf::kModelRecord).size();
      std::string_view rest = line.substr(at);
      while (!rest.empty() && (rest.front() == ' ' || rest.front() == '\t'))
        rest.remove_prefix(1);
      while (!rest.empty() && (rest.back() == '\r' || rest.back() == ' '))
        rest.remove_suffix(1);
      out.model = std::string(rest);
      continue;
    }
    if (kind == pf::kTargetRecord) {
      if (sawTarget)
        return fail("duplicate 'target' line");
      sawTarget = true;
      if (tok.size() != 2 ||
          (tok[1] != pf::kTargetCPU && tok[1] != pf::kTargetCUDA))
        return fail("expected 'target cpu' or 'target cuda'");
      out.target = std::string(tok[1]);
      continue;
    }
    if (kind == pf::kArenaBytesRecord) {
      if (sawArena)
        return fail("duplicate 'arena_bytes' line");
      sawArena = true;
      if (tok.size() != 2 || !parseU64(tok[1], out.arenaBytes))
        return fail("expected 'arena_bytes <N>' with N a non-negative "
                    "integer");
      continue;
    }
    if (kind == pf::kHostPoolBytesRecord) {
      if (sawHostPool)
        return fail("duplicate 'host_pool_bytes' line");
      sawHostPool = true;
      if (tok.size() != 2 || !parseU64(tok[1], out.hostPoolBytes))
        return fail("expected 'host_pool_bytes <N>' with N a non-negative "
                    "integer");
      continue;
    }
    if (kind == pf::kInputRecord || kind == pf::kOutputRecord ||
        kind == pf::kWeightRecord) {
      bool isWeight = kind == pf::kWeightRecord;
      size_t want = isWeight ? 6 : 4;
      if (tok.size() != want)
        return fail("expected '" + std::string(kind) +
                    " <name> <dtype> <dims>" +
                    (isWeight ? " <offset> <bytes>'" : "'") + ", got " +
                    std::to_string(tok.size()) + " fields");
      TensorSpec spec;
      std::string what;
      if (!parseSpec(tok, spec, what))
        return fail(what);
      if (isWeight) {
        uint64_t size = 0;
        if (!parseU64(tok[4], spec.offset))
          return fail("bad byte offset " + quoted(tok[4]) + " of weight " +
                      quoted(tok[1]));
        if (!parseU64(tok[5], size))
          return fail("bad byte size " + quoted(tok[5]) + " of weight " +
                      quoted(tok[1]));
        if (size != spec.byteSize)
          return fail("weight " + quoted(tok[1]) + " has " +
                      std::to_string(size) + " bytes but " +
                      std::string(tok[2]) + " " + std::string(tok[3]) +
                      " needs " + std::to_string(spec.byteSize));
        if (spec.offset % pf::kWeightAlignment != 0)
          return fail("weight " + quoted(tok[1]) + " offset " +
                      std::to_string(spec.offset) + " is not " +
                      std::to_string(pf::kWeightAlignment) + "-byte aligned");
        if (spec.offset > UINT64_MAX - spec.byteSize)
          return fail("weight " + quoted(tok[1]) + " offset " +
                      std::to_string(spec.offset) + " is past any file's end");
        out.weights.push_back(std::move(spec));
      } else if (kind == pf::kInputRecord) {
        out.inputs.push_back(std::move(spec));
      } else {
        out.outputs.push_back(std::move(spec));
      }
      continue;
    }
    return fail("unknown line kind " + quoted(kind) +
                " (want model, target, arena_bytes, host_pool_bytes, input, "
                "weight or output)");
  }
  return true;
}

bool parseInterface(std::string_view text, const std::string &fileName,
                    Manifest &out, std::string &error) {
  out = Manifest();
  bool sawArena = false, sawHostPool = false;
  LineReader in(text, fileName);
  auto fail = [&](const std::string &what) { return in.fail(what, error); };
  if (!in.readHeader(pf::kInterfaceMagic, pf::kInterfaceVersion, "interface",
                     error))
    return false;
  while (in.next()) {
    const std::vector<std::string_view> &tok = in.tokens();
    std::string_view kind = tok[0];
    if (kind == pf::kArenaBytesRecord || kind == pf::kHostPoolBytesRecord) {
      bool arena = kind == pf::kArenaBytesRecord;
      bool &saw = arena ? sawArena : sawHostPool;
      if (saw)
        return fail("duplicate '" + std::string(kind) + "' line");
      saw = true;
      if (tok.size() != 2 ||
          !parseU64(tok[1], arena ? out.arenaBytes : out.hostPoolBytes))
        return fail("expected '" + std::string(kind) + " <N>'");
      continue;
    }
    if (kind == pf::kInputRecord || kind == pf::kOutputRecord ||
        kind == pf::kWeightRecord) {
      if (tok.size() != 4)
        return fail("expected '" + std::string(kind) +
                    " <name> <dtype> <dims>', got " +
                    std::to_string(tok.size()) + " fields");
      TensorSpec spec;
      std::string what;
      if (!parseSpec(tok, spec, what))
        return fail(what);
      (kind == pf::kInputRecord    ? out.inputs
       : kind == pf::kWeightRecord ? out.weights
                                   : out.outputs)
          .push_back(std::move(spec));
      continue;
    }
    return fail("unknown line kind " + quoted(kind));
  }
  // Both sizes are always written by memc: a missing one means the string
  // was cut short.
  if (!sawArena || !sawHostPool)
    return fail("no '" +
                std::string(sawArena ? pf::kHostPoolBytesRecord
                                     : pf::kArenaBytesRecord) +
                "' line");
  return true;
}

bool checkInterface(const Manifest &manifest, const Manifest &program,
                    const std::string &manifestPath, const std::string &soName,
                    std::string &error) {
  auto differ = [&](const std::string &says, const std::string &compiled) {
    error = manifestPath + ": " + says + ", but " + soName +
            " was compiled for " + compiled +
            "; the package is damaged: recompile it";
    return false;
  };
  auto size = [](const char *field, uint64_t v) {
    return std::string(field) + " " + std::to_string(v);
  };
  if (manifest.arenaBytes != program.arenaBytes)
    return differ(size(pf::kArenaBytesRecord, manifest.arenaBytes),
                  size(pf::kArenaBytesRecord, program.arenaBytes));
  if (manifest.hostPoolBytes != program.hostPoolBytes)
    return differ(size(pf::kHostPoolBytesRecord, manifest.hostPoolBytes),
                  size(pf::kHostPoolBytesRecord, program.hostPoolBytes));
  struct Group {
    const char *kind;
    const std::vector<TensorSpec> &says, &compiled;
  } groups[] = {{pf::kInputRecord, manifest.inputs, program.inputs},
                {pf::kWeightRecord, manifest.weights, program.weights},
                {pf::kOutputRecord, manifest.outputs, program.outputs}};
  for (const Group &g : groups) {
    if (g.says.size() != g.compiled.size())
      return differ(std::to_string(g.says.size()) + " " + g.kind +
                        (g.says.size() == 1 ? " line" : " lines"),
                    std::to_string(g.compiled.size()) + " " + g.kind +
                        (g.compiled.size() == 1 ? "" : "s"));
    for (size_t i = 0; i < g.says.size(); ++i) {
      const TensorSpec &a = g.says[i], &b = g.compiled[i];
      std::string field = std::string(g.kind) + " " + std::to_string(i);
      if (a.name != b.name)
        return differ(field + " is named " + quoted(a.name), quoted(b.name));
      auto type = [](const TensorSpec &t) {
        return std::string(dtypeName(t.dtype)) + " " + formatDims(t.dims);
      };
      if (a.dtype != b.dtype || a.dims != b.dims)
        return differ(std::string(g.kind) + " " + quoted(a.name) + " is " +
                          type(a),
                      type(b));
    }
  }
  return true;
}

} // namespace rt
} // namespace memc
