//===- Manifest.cpp - Parser of manifest.txt ------------------------------===//
//
// Hand-written, exception-free parsing (the tools may be built with
// -fno-exceptions), one line at a time, with the line number in every error.
//
//===----------------------------------------------------------------------===//

#include "Manifest.h"

#include "LineReader.h"

#include <cstdint>

namespace memc {
namespace rt {

/// Splits on runs of spaces/tabs; a trailing '\r' (CRLF files) is dropped.
std::vector<std::string_view> tokenize(std::string_view line) {
  std::vector<std::string_view> tokens;
  size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() &&
           (line[i] == ' ' || line[i] == '\t' || line[i] == '\r'))
      ++i;
    size_t start = i;
    while (i < line.size() && line[i] != ' ' && line[i] != '\t' &&
           line[i] != '\r')
      ++i;
    if (i > start)
      tokens.push_back(line.substr(start, i - start));
  }
  return tokens;
}

/// Unsigned decimal, digits only, no overflow.
bool parseU64(std::string_view s, uint64_t &out) {
  if (s.empty() || s.size() > 20)
    return false;
  uint64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9')
      return false;
    uint64_t d = uint64_t(c - '0');
    if (v > (UINT64_MAX - d) / 10)
      return false;
    v = v * 10 + d;
  }
  out = v;
  return true;
}

namespace {

std::string quoted(std::string_view s) { return "'" + std::string(s) + "'"; }

/// The `<kind> <name> <dtype> <dims>` part of a tensor line, shared by the
/// manifest and the interface; `what` says what is wrong.
bool parseSpec(const std::vector<std::string_view> &tok, TensorSpec &spec,
               std::string &what) {
  std::string kind(tok[0]);
  spec.name = std::string(tok[1]);
  if (!parseDType(tok[2], spec.dtype)) {
    what = "unknown dtype " + quoted(tok[2]) + " of " + kind + " " +
           quoted(tok[1]) +
           " (want f32 f64 f16 bf16 i8 i16 i32 i64 u8 u16 u32 u64 bool)";
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
  if (text == "scalar")
    return true;
  if (text.empty())
    return false;
  size_t start = 0;
  for (;;) {
    size_t x = text.find('x', start);
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
  if (!in.readHeader("memc-package", kManifestVersion, "manifest", error))
    return false;
  out.version = int(kManifestVersion);

  while (in.next()) {
    std::string_view line = in.line();
    const std::vector<std::string_view> &tok = in.tokens();
    std::string_view kind = tok[0];
    if (kind == "model") {
      if (sawModel)
        return fail("duplicate 'model' line");
      sawModel = true;
      // The path is the rest of the line: it may contain spaces.
      size_t at = line.find("model") + 5;
      std::string_view rest = line.substr(at);
      while (!rest.empty() && (rest.front() == ' ' || rest.front() == '\t'))
        rest.remove_prefix(1);
      while (!rest.empty() && (rest.back() == '\r' || rest.back() == ' '))
        rest.remove_suffix(1);
      out.model = std::string(rest);
      continue;
    }
    if (kind == "target") {
      if (sawTarget)
        return fail("duplicate 'target' line");
      sawTarget = true;
      if (tok.size() != 2 || (tok[1] != "cpu" && tok[1] != "cuda"))
        return fail("expected 'target cpu' or 'target cuda'");
      out.target = std::string(tok[1]);
      continue;
    }
    if (kind == "arena_bytes") {
      if (sawArena)
        return fail("duplicate 'arena_bytes' line");
      sawArena = true;
      if (tok.size() != 2 || !parseU64(tok[1], out.arenaBytes))
        return fail("expected 'arena_bytes <N>' with N a non-negative "
                    "integer");
      continue;
    }
    if (kind == "host_pool_bytes") {
      if (sawHostPool)
        return fail("duplicate 'host_pool_bytes' line");
      sawHostPool = true;
      if (tok.size() != 2 || !parseU64(tok[1], out.hostPoolBytes))
        return fail("expected 'host_pool_bytes <N>' with N a non-negative "
                    "integer");
      continue;
    }
    if (kind == "input" || kind == "output" || kind == "weight") {
      bool isWeight = kind == "weight";
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
        if (spec.offset % 64 != 0)
          return fail("weight " + quoted(tok[1]) + " offset " +
                      std::to_string(spec.offset) + " is not 64-byte aligned");
        if (spec.offset > UINT64_MAX - spec.byteSize)
          return fail("weight " + quoted(tok[1]) + " offset " +
                      std::to_string(spec.offset) + " is past any file's end");
        out.weights.push_back(std::move(spec));
      } else if (kind == "input") {
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
  if (!in.readHeader("memc-interface", kInterfaceVersion, "interface", error))
    return false;
  while (in.next()) {
    const std::vector<std::string_view> &tok = in.tokens();
    std::string_view kind = tok[0];
    if (kind == "arena_bytes" || kind == "host_pool_bytes") {
      bool arena = kind == "arena_bytes";
      bool &saw = arena ? sawArena : sawHostPool;
      if (saw)
        return fail("duplicate '" + std::string(kind) + "' line");
      saw = true;
      if (tok.size() != 2 ||
          !parseU64(tok[1], arena ? out.arenaBytes : out.hostPoolBytes))
        return fail("expected '" + std::string(kind) + " <N>'");
      continue;
    }
    if (kind == "input" || kind == "output" || kind == "weight") {
      if (tok.size() != 4)
        return fail("expected '" + std::string(kind) +
                    " <name> <dtype> <dims>', got " +
                    std::to_string(tok.size()) + " fields");
      TensorSpec spec;
      std::string what;
      if (!parseSpec(tok, spec, what))
        return fail(what);
      (kind == "input"    ? out.inputs
       : kind == "weight" ? out.weights
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
                std::string(sawArena ? "host_pool_bytes" : "arena_bytes") +
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
    return differ(size("arena_bytes", manifest.arenaBytes),
                  size("arena_bytes", program.arenaBytes));
  if (manifest.hostPoolBytes != program.hostPoolBytes)
    return differ(size("host_pool_bytes", manifest.hostPoolBytes),
                  size("host_pool_bytes", program.hostPoolBytes));
  struct Group {
    const char *kind;
    const std::vector<TensorSpec> &says, &compiled;
  } groups[] = {{"input", manifest.inputs, program.inputs},
                {"weight", manifest.weights, program.weights},
                {"output", manifest.outputs, program.outputs}};
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
