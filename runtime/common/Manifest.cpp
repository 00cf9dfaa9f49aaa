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

bool isTensorRecord(std::string_view kind) {
  return kind == pf::kInputRecord || kind == pf::kWeightRecord ||
         kind == pf::kStateRecord || kind == pf::kStepRecord ||
         kind == pf::kKVRecord || kind == pf::kOutputRecord;
}

/// "expected '<form>', got N fields".
std::string fieldCount(const std::string &form, size_t got) {
  return "expected '" + form + "', got " + std::to_string(got) + " fields";
}

/// Parses one tensor record (isTensorRecord) of the manifest (`manifest`:
/// weights carry an offset and a size) or of the interface into `out`'s
/// groups. Checks what the line alone says; what must agree across lines
/// is checkTrainRecords'. False with `what` when the line is malformed.
bool parseTensorRecord(const std::vector<std::string_view> &tok, bool manifest,
                       Manifest &out, std::string &what) {
  std::string_view kind = tok[0];
  std::string k(kind);
  if (kind == pf::kInputRecord || kind == pf::kOutputRecord ||
      kind == pf::kKVRecord) {
    if (tok.size() != 4) {
      what = fieldCount(k + " <name> <dtype> <dims>", tok.size());
      return false;
    }
    TensorSpec spec;
    if (!parseSpec(tok, spec, what))
      return false;
    (kind == pf::kInputRecord    ? out.inputs
     : kind == pf::kOutputRecord ? out.outputs
                                 : out.kvCaches)
        .push_back(std::move(spec));
    return true;
  }
  if (kind == pf::kStateRecord) {
    if (tok.size() != 5) {
      what = fieldCount(k + " <name> <dtype> <dims> <parameter>", tok.size());
      return false;
    }
    TensorSpec spec;
    if (!parseSpec(tok, spec, what))
      return false;
    spec.param = std::string(tok[4]);
    out.states.push_back(std::move(spec));
    return true;
  }
  if (kind == pf::kStepRecord) {
    std::string form =
        k + " <name> " + dtypeName(DType::I64) + " " + pf::kScalarDims;
    if (tok.size() != 4) {
      what = fieldCount(form, tok.size());
      return false;
    }
    if (out.step) {
      what = "duplicate '" + k + "' line";
      return false;
    }
    TensorSpec spec;
    if (!parseSpec(tok, spec, what))
      return false;
    if (spec.dtype != DType::I64 || !spec.dims.empty()) {
      what = "the step " + quoted(tok[1]) + " is " + std::string(tok[2]) + " " +
             std::string(tok[3]) + " (expected '" + form + "')";
      return false;
    }
    out.step = std::move(spec);
    return true;
  }
  // A weight: `<name> <dtype> <dims>`, in the manifest `<offset> <bytes>`,
  // then optionally `trainable`.
  size_t fixed = manifest ? 6 : 4;
  std::string form =
      k + " <name> <dtype> <dims>" + (manifest ? " <offset> <bytes>" : "");
  if (tok.size() != fixed && tok.size() != fixed + 1) {
    what = fieldCount(form + "' or '" + form + " " + pf::kTrainableFlag,
                      tok.size());
    return false;
  }
  TensorSpec spec;
  if (!parseSpec(tok, spec, what))
    return false;
  if (tok.size() == fixed + 1) {
    if (tok[fixed] != pf::kTrainableFlag) {
      what = "unexpected " + quoted(tok[fixed]) + " after weight " +
             quoted(tok[1]) + " (the only flag is '" + pf::kTrainableFlag +
             "')";
      return false;
    }
    if (!isFloating(spec.dtype)) {
      what = "trainable weight " + quoted(tok[1]) + " is " +
             std::string(tok[2]) +
             ": only floating-point weights are trainable";
      return false;
    }
    spec.trainable = true;
  }
  if (manifest) {
    uint64_t size = 0;
    if (!parseU64(tok[4], spec.offset)) {
      what =
          "bad byte offset " + quoted(tok[4]) + " of weight " + quoted(tok[1]);
      return false;
    }
    if (!parseU64(tok[5], size)) {
      what = "bad byte size " + quoted(tok[5]) + " of weight " + quoted(tok[1]);
      return false;
    }
    if (size != spec.byteSize) {
      what = "weight " + quoted(tok[1]) + " has " + std::to_string(size) +
             " bytes but " + std::string(tok[2]) + " " + std::string(tok[3]) +
             " needs " + std::to_string(spec.byteSize);
      return false;
    }
    if (spec.offset % pf::kWeightAlignment != 0) {
      what = "weight " + quoted(tok[1]) + " offset " +
             std::to_string(spec.offset) + " is not " +
             std::to_string(pf::kWeightAlignment) + "-byte aligned";
      return false;
    }
    if (spec.offset > UINT64_MAX - spec.byteSize) {
      what = "weight " + quoted(tok[1]) + " offset " +
             std::to_string(spec.offset) + " is past any file's end";
      return false;
    }
  }
  out.weights.push_back(std::move(spec));
  return true;
}

/// Where the train records of a manifest were (1-based lines; 0: none), so
/// that what only the whole file shows is still reported at a line.
struct TrainLines {
  unsigned train = 0, step = 0, firstTrainable = 0;
  std::vector<unsigned> states, outputs;
};

/// What a manifest's train records must agree on across lines (see
/// parseManifest). `in` only formats the error.
bool checkTrainRecords(const Manifest &m, const TrainLines &at,
                       const LineReader &in, std::string &error) {
  auto fail = [&](unsigned line, const std::string &what) {
    return in.fail(what, error, line);
  };
  const std::string train = std::string("'") + pf::kTrainRecord + "' line";
  if (!m.isTrain()) {
    // The first record that only a train step has, in file order.
    unsigned first = 0;
    std::string what;
    auto consider = [&](unsigned line, const std::string &w) {
      if (line && (!first || line < first)) {
        first = line;
        what = w;
      }
    };
    if (at.firstTrainable)
      consider(at.firstTrainable,
               std::string("a '") + pf::kTrainableFlag + "' weight");
    if (!at.states.empty())
      consider(at.states[0], std::string("a '") + pf::kStateRecord + "' line");
    consider(at.step, std::string("a '") + pf::kStepRecord + "' line");
    if (first)
      return fail(first, what + " in a manifest without a " + train +
                             " (only train packages have one)");
    return true;
  }
  if (!m.step)
    return fail(at.train, std::string("a train package needs one '") +
                              pf::kStepRecord + " <name> i64 scalar' line");
  if (m.outputs.size() != 1)
    return fail(m.outputs.size() > 1 ? at.outputs[1] : at.train,
                "a train package has exactly one output (the loss), not " +
                    std::to_string(m.outputs.size()));
  const TensorSpec &loss = m.outputs[0];
  if (loss.dtype != DType::F32 || !loss.dims.empty())
    return fail(at.outputs[0], "the loss " + quoted(loss.name) + " is " +
                                   dtypeName(loss.dtype) + " " +
                                   formatDims(loss.dims) +
                                   " (a train package's output is f32 scalar)");
  // Names: the state file and --save-model find tensors by them.
  std::vector<const TensorSpec *> named;
  for (const TensorSpec &w : m.weights)
    if (w.trainable)
      named.push_back(&w);
  for (size_t i = 0; i < m.states.size(); ++i) {
    const TensorSpec &s = m.states[i];
    bool found = false;
    for (const TensorSpec *w : named)
      found |= w->name == s.param;
    if (!found)
      return fail(at.states[i], "state " + quoted(s.name) + " belongs to " +
                                    quoted(s.param) +
                                    ", which is no trainable weight");
  }
  for (const TensorSpec &s : m.states)
    named.push_back(&s);
  for (size_t i = 0; i < named.size(); ++i)
    for (size_t j = 0; j < i; ++j)
      if (named[i]->name == named[j]->name)
        return fail(at.train, "two trainable weights or states are named " +
                                  quoted(named[i]->name) +
                                  " (a state file keys them by name)");
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
  TrainLines at;
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
    if (kind == pf::kTrainRecord) {
      if (at.train)
        return fail("duplicate 'train' line");
      at.train = in.lineNumber();
      if (tok.size() != 3)
        return fail(fieldCount(
            std::string(pf::kTrainRecord) + " <loss> <optimizer>", tok.size()));
      out.trainLoss = std::string(tok[1]);
      out.trainOptimizer = std::string(tok[2]);
      continue;
    }
    if (isTensorRecord(kind)) {
      size_t weights = out.weights.size(), states = out.states.size(),
             outputs = out.outputs.size();
      std::string what;
      if (!parseTensorRecord(tok, /*manifest=*/true, out, what))
        return fail(what);
      if (out.weights.size() > weights && out.weights.back().trainable &&
          !at.firstTrainable)
        at.firstTrainable = in.lineNumber();
      if (out.states.size() > states)
        at.states.push_back(in.lineNumber());
      if (out.outputs.size() > outputs)
        at.outputs.push_back(in.lineNumber());
      if (kind == pf::kStepRecord)
        at.step = in.lineNumber();
      continue;
    }
    if (kind == pf::kDecodeRecord || kind == pf::kProgramRecord)
      return fail("this is a decode package (memc --decode): run it with "
                  "--generate N --prompt IDS.pb");
    return fail("unknown line kind " + quoted(kind) +
                " (want model, target, train, arena_bytes, host_pool_bytes, "
                "input, weight, state, step, kv or output)");
  }
  return checkTrainRecords(out, at, in, error);
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
    if (isTensorRecord(kind)) {
      std::string what;
      if (!parseTensorRecord(tok, /*manifest=*/false, out, what))
        return fail(what);
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
  // The step is one argument more or less, in its own place: a group of
  // zero or one.
  std::vector<TensorSpec> saysStep, compiledStep;
  if (manifest.step)
    saysStep.push_back(*manifest.step);
  if (program.step)
    compiledStep.push_back(*program.step);
  struct Group {
    const char *kind;
    const std::vector<TensorSpec> &says, &compiled;
  } groups[] = {{pf::kInputRecord, manifest.inputs, program.inputs},
                {pf::kWeightRecord, manifest.weights, program.weights},
                {pf::kStateRecord, manifest.states, program.states},
                {pf::kStepRecord, saysStep, compiledStep},
                {pf::kKVRecord, manifest.kvCaches, program.kvCaches},
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
      std::string what = std::string(g.kind) + " " + quoted(a.name);
      if (a.dtype != b.dtype || a.dims != b.dims)
        return differ(what + " is " + type(a), type(b));
      auto trainable = [](const TensorSpec &t) {
        return std::string(t.trainable ? "" : "not ") + pf::kTrainableFlag;
      };
      if (a.trainable != b.trainable)
        return differ(what + " is " + trainable(a), "it " + trainable(b));
      if (a.param != b.param)
        return differ(what + " belongs to " + quoted(a.param),
                      "it belonging to " + quoted(b.param));
    }
  }
  return true;
}

} // namespace rt
} // namespace memc
