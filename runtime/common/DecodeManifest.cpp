//===- DecodeManifest.cpp - The manifest of a decode package --------------===//
#include "memc/Runtime/DecodeManifest.h"

#include "memc/Runtime/LineReader.h"
#include "memc/Runtime/PackageFormat.h"

namespace memc {
namespace rt {

namespace pf = package;

bool isDecodeManifest(std::string_view text) {
  LineReader in(text, "");
  std::string ignored;
  if (!in.readHeader(pf::kManifestMagic, pf::kManifestVersion, "manifest",
                     ignored))
    return false;
  while (in.next())
    if (in.tokens()[0] == pf::kDecodeRecord)
      return true;
  return false;
}

bool parseDecodeManifest(std::string_view text, const std::string &fileName,
                         DecodeManifest &out, std::string &error) {
  out = DecodeManifest();
  LineReader in(text, fileName);
  auto fail = [&](const std::string &what) { return in.fail(what, error); };
  if (!in.readHeader(pf::kManifestMagic, pf::kManifestVersion, "manifest",
                     error))
    return false;
  auto positive = [](std::string_view s, int64_t &v) {
    uint64_t u = 0;
    if (!parseU64(s, u) || u == 0 || u > uint64_t(1) << 40)
      return false;
    v = int64_t(u);
    return true;
  };
  while (in.next()) {
    const std::vector<std::string_view> &tok = in.tokens();
    std::string_view kind = tok[0];
    if (kind == pf::kModelRecord) {
      std::string_view line = in.line();
      std::string_view rest = line.substr(line.find(pf::kModelRecord) + 5);
      while (!rest.empty() && (rest.front() == ' ' || rest.front() == '\t'))
        rest.remove_prefix(1);
      out.model = std::string(rest);
      continue;
    }
    if (kind == pf::kDecodeRecord) {
      if (out.capacity)
        return fail("duplicate 'decode' line");
      std::string_view layout = tok.size() == 4 ? tok[3] : "";
      std::string_view paged = std::string_view(pf::kLayoutPaged);
      bool ok = tok.size() == 4 && positive(tok[1], out.capacity) &&
                positive(tok[2], out.batch);
      if (ok && layout != pf::kLayoutContiguous)
        ok = layout.size() > paged.size() + 1 &&
             layout.substr(0, paged.size()) == paged &&
             layout[paged.size()] == ':' &&
             positive(layout.substr(paged.size() + 1), out.page) &&
             out.capacity % out.page == 0;
      if (!ok)
        return fail("expected 'decode <capacity> <batch> contiguous' or "
                    "'... paged:<block>' with a block that divides the "
                    "capacity");
      out.layout = std::string(layout);
      continue;
    }
    if (kind == pf::kKVDtypeRecord) {
      if (tok.size() != 2 || (tok[1] != "f32" && tok[1] != "f16" && tok[1] != "i8"))
        return fail("expected 'kv_dtype f32', 'kv_dtype f16' or 'kv_dtype i8'");
      out.kvDtype = std::string(tok[1]);
      continue;
    }
    if (kind == pf::kProgramRecord) {
      int64_t rows = 0;
      if (tok.size() != 3 || !positive(tok[2], rows) ||
          (tok[1] != pf::kPrefillProgram && tok[1] != pf::kDecodeProgram))
        return fail("expected 'program prefill <rows>' or 'program decode 1'");
      int64_t &slot =
          tok[1] == pf::kPrefillProgram ? out.prefillRows : out.decodeRows;
      if (slot)
        return fail("duplicate 'program " + std::string(tok[1]) + "' line");
      slot = rows;
      continue;
    }
    return fail("unknown line kind " + quoted(kind) +
                " in a decode package (want model, decode, kv_dtype or "
                "program)");
  }
  if (!out.capacity)
    return fail("no 'decode' line");
  if (!out.prefillRows || out.decodeRows != 1)
    return fail("expected one 'program prefill <rows>' and 'program decode 1'");
  if (out.capacity % out.prefillRows != 0)
    return fail("the prefill's " + std::to_string(out.prefillRows) +
                " rows do not divide the capacity " +
                std::to_string(out.capacity));
  return true;
}

} // namespace rt
} // namespace memc
