//===- LaunchPlan.cpp - Parser of launch_plan.txt -------------------------===//
//
// Exception-free, one record at a time through runtime/common's LineReader
// (shared with manifest.txt), with the line number in every error.
//
//===----------------------------------------------------------------------===//
#include "LaunchPlan.h"

#include "memc/Runtime/LineReader.h"
#include "memc/Runtime/PackageFormat.h"

#include <cerrno>
#include <climits>
#include <cmath>
#include <cstdlib>

namespace memc {
namespace cuda {

namespace {

namespace pf = package;
using rt::parseU64;
using rt::quoted;

bool parseI64(std::string_view s, int64_t &out) {
  bool negative = !s.empty() && s[0] == '-';
  uint64_t v = 0;
  if (!parseU64(negative ? s.substr(1) : s, v) ||
      v > uint64_t(INT64_MAX) + (negative ? 1 : 0))
    return false;
  out = negative ? int64_t(0 - v) : int64_t(v);
  return true;
}

bool parseUnsigned(std::string_view s, unsigned &out, uint64_t max) {
  uint64_t v = 0;
  if (!parseU64(s, v) || v > max)
    return false;
  out = unsigned(v);
  return true;
}

/// Decimal or "inf"/"-inf"/"nan" as strtod reads them (memc writes %.9g /
/// %.17g, which round-trip).
bool parseDouble(std::string_view s, double &out) {
  if (s.empty() || s.size() > 64)
    return false;
  std::string text(s);
  errno = 0;
  char *end = nullptr;
  out = std::strtod(text.c_str(), &end);
  return end == text.c_str() + text.size() && errno != ERANGE;
}

bool parseEvent(std::string_view s, unsigned &out) {
  return s.size() > 1 && s[0] == pf::kEventPrefix &&
         parseUnsigned(s.substr(1), out, pf::kMaxEvent);
}

/// input:I+OFF weight:I+OFF output:I+OFF const:I+OFF state:I+OFF step:0+OFF
/// kv:I+OFF arena+OFF host+OFF
bool parseRef(std::string_view s, BufferRef &ref) {
  size_t plus = s.find('+');
  if (plus == std::string_view::npos ||
      !parseU64(s.substr(plus + 1), ref.offset))
    return false;
  std::string_view base = s.substr(0, plus);
  if (base == pf::kArenaRef || base == pf::kHostRef) {
    ref.base = base == pf::kArenaRef ? BufferRef::Arena : BufferRef::Host;
    ref.index = 0;
    return true;
  }
  size_t colon = base.find(':');
  if (colon == std::string_view::npos)
    return false;
  std::string_view kind = base.substr(0, colon);
  if (kind == pf::kInputRef)
    ref.base = BufferRef::Input;
  else if (kind == pf::kWeightRef)
    ref.base = BufferRef::Weight;
  else if (kind == pf::kOutputRef)
    ref.base = BufferRef::Output;
  else if (kind == pf::kConstRef)
    ref.base = BufferRef::Const;
  else if (kind == pf::kStateRef)
    ref.base = BufferRef::State;
  else if (kind == pf::kStepRef)
    ref.base = BufferRef::Step;
  else if (kind == pf::kKVRef)
    ref.base = BufferRef::KV;
  else
    return false;
  return parseUnsigned(base.substr(colon + 1), ref.index, UINT32_MAX);
}

bool parseArg(std::string_view s, Arg &arg) {
  size_t colon = s.find(':');
  std::string_view kind = s.substr(0, colon);
  std::string_view value =
      colon == std::string_view::npos ? "" : s.substr(colon + 1);
  // Scalars are spelled with their element type: i32:V i64:V f32:V f64:V.
  pf::DType type = pf::DType::F32;
  bool typed = pf::parseDType(kind, type);
  if (typed && type == pf::DType::I32) {
    arg.kind = Arg::I32;
    return parseI64(value, arg.i) && arg.i >= INT32_MIN && arg.i <= INT32_MAX;
  }
  if (typed && type == pf::DType::I64) {
    arg.kind = Arg::I64;
    return parseI64(value, arg.i);
  }
  if (typed && (type == pf::DType::F32 || type == pf::DType::F64)) {
    arg.kind = type == pf::DType::F32 ? Arg::F32 : Arg::F64;
    return parseDouble(value, arg.f);
  }
  arg.kind = Arg::Buffer;
  return parseRef(s, arg.ref);
}

} // namespace

std::string formatRef(const BufferRef &ref) {
  static const char *const names[] = {
      pf::kInputRef, pf::kWeightRef, pf::kOutputRef,
      pf::kConstRef, pf::kArenaRef,  pf::kHostRef,
      pf::kStateRef, pf::kStepRef,   pf::kKVRef};
  std::string s = names[ref.base];
  if (ref.base != BufferRef::Arena && ref.base != BufferRef::Host)
    s += ":" + std::to_string(ref.index);
  return s + "+" + std::to_string(ref.offset);
}

bool parseLaunchPlan(std::string_view text, const std::string &fileName,
                     LaunchPlan &plan, std::string &error) {
  plan = LaunchPlan();
  bool sawArch = false, sawPool = false;
  rt::LineReader in(text, fileName);
  auto fail = [&](const std::string &what) { return in.fail(what, error); };
  if (!in.readHeader(pf::kLaunchPlanMagic, pf::kLaunchPlanVersion,
                     "launch plan", error))
    return false;
  while (in.next()) {
    const std::vector<std::string_view> &tok = in.tokens();
    std::string_view kind = tok[0];
    auto expect = [&](size_t n, const char *form) {
      if (tok.size() == n)
        return true;
      fail("expected '" + std::string(form) + "', got " +
           std::to_string(tok.size()) + " fields");
      return false;
    };
    if (kind == pf::kArchRecord) {
      if (sawArch)
        return fail("duplicate 'arch' line");
      if (!expect(2, "arch sm_XX"))
        return false;
      if (tok[1].substr(0, std::string_view(pf::kArchPrefix).size()) !=
          pf::kArchPrefix)
        return fail("bad architecture " + quoted(tok[1]));
      plan.arch = std::string(tok[1]);
      sawArch = true;
      continue;
    }
    if (kind == pf::kHostPoolBytesRecord) {
      if (sawPool)
        return fail("duplicate 'host_pool_bytes' line");
      if (!expect(2, "host_pool_bytes N"))
        return false;
      if (!parseU64(tok[1], plan.hostPoolBytes))
        return fail("bad byte count " + quoted(tok[1]));
      sawPool = true;
      continue;
    }
    if (kind == pf::kConstantRecord) {
      uint64_t index = 0;
      ConstantSpec c;
      if (!expect(4, "constant INDEX OFFSET BYTES"))
        return false;
      if (!parseU64(tok[1], index) || index != plan.constants.size())
        return fail("constants must be numbered 0, 1, ... in order (want " +
                    std::to_string(plan.constants.size()) + ", got " +
                    quoted(tok[1]) + ")");
      if (!parseU64(tok[2], c.offset) || !parseU64(tok[3], c.bytes) ||
          c.offset + c.bytes < c.offset)
        return fail("bad offset or size of constant " + quoted(tok[1]));
      plan.constants.push_back(c);
      continue;
    }

    Step step;
    step.line = in.lineNumber();
    if (kind == pf::kLaunchRecord) {
      step.kind = Step::Launch;
      if (tok.size() < 9)
        return fail("expected 'launch KERNEL GX GY GZ BX BY BZ SHARED "
                    "ARGS...', got " +
                    std::to_string(tok.size()) + " fields");
      step.kernel = std::string(tok[1]);
      for (int i = 0; i < 3; ++i) {
        // The hardware limits: grid x < 2^31, y and z < 2^16; 1024 threads.
        uint64_t gridMax = i == 0 ? pf::kMaxGridX : pf::kMaxGridYZ;
        if (!parseUnsigned(tok[2 + i], step.grid[i], gridMax) ||
            step.grid[i] == 0)
          return fail("bad grid size " + quoted(tok[2 + i]));
        if (!parseUnsigned(tok[5 + i], step.block[i],
                           pf::kMaxThreadsPerBlock) ||
            step.block[i] == 0)
          return fail("bad block size " + quoted(tok[5 + i]));
      }
      if (uint64_t(step.block[0]) * step.block[1] * step.block[2] >
          pf::kMaxThreadsPerBlock)
        return fail("more than 1024 threads in a block");
      if (!parseUnsigned(tok[8], step.sharedBytes, UINT32_MAX))
        return fail("bad shared memory size " + quoted(tok[8]));
      for (size_t i = 9; i < tok.size(); ++i) {
        Arg arg;
        if (!parseArg(tok[i], arg))
          return fail("bad kernel argument " + quoted(tok[i]) +
                      " (want input:I+OFF, weight:I+OFF, state:I+OFF, "
                      "step:0+OFF, kv:I+OFF, output:I+OFF, const:I+OFF, "
                      "arena+OFF, i32:V, i64:V, f32:V or f64:V)");
        if (arg.kind == Arg::Buffer && arg.ref.base == BufferRef::Host)
          return fail("a kernel cannot take a host pool address");
        step.args.push_back(arg);
      }
    } else if (kind == pf::kGemmRecord) {
      step.kind = Step::Gemm;
      if (!expect(19, "gemm f32|f64 BATCH TRANSA TRANSB M N K ALPHA A LDA "
                      "STRIDEA B LDB STRIDEB BETA C LDC STRIDEC"))
        return false;
      pf::DType type = pf::DType::F32;
      if (!pf::parseDType(tok[1], type) ||
          (type != pf::DType::F32 && type != pf::DType::F64))
        return fail("bad GEMM element type " + quoted(tok[1]));
      step.f64 = type == pf::DType::F64;
      int64_t *ints[] = {&step.batch, &step.transA, &step.transB,
                         &step.m,     &step.n,      &step.k};
      for (int i = 0; i < 6; ++i)
        if (!parseI64(tok[2 + i], *ints[i]) || *ints[i] < 0)
          return fail("bad GEMM size or flag " + quoted(tok[2 + i]));
      if (step.transA > 1 || step.transB > 1)
        return fail("GEMM transpose flags must be 0 or 1");
      int64_t *lds[] = {&step.lda,     &step.strideA, &step.ldb,
                        &step.strideB, &step.ldc,     &step.strideC};
      const int ldAt[] = {10, 11, 13, 14, 17, 18};
      for (int i = 0; i < 6; ++i)
        if (!parseI64(tok[ldAt[i]], *lds[i]) || *lds[i] < 0)
          return fail("bad GEMM leading dimension or stride " +
                      quoted(tok[ldAt[i]]));
      if (!parseDouble(tok[8], step.alpha) || !parseDouble(tok[15], step.beta))
        return fail("bad GEMM alpha or beta");
      if (!parseRef(tok[9], step.a) || !parseRef(tok[12], step.b) ||
          !parseRef(tok[16], step.c))
        return fail("bad GEMM operand address");
      for (const BufferRef *r : {&step.a, &step.b, &step.c})
        if (r->base == BufferRef::Host)
          return fail("a GEMM operand cannot be in the host pool");
    } else if (kind == pf::kCopyRecord || kind == pf::kSpillRecord ||
               kind == pf::kFetchRecord) {
      bool isCopy = kind == pf::kCopyRecord;
      bool isSpill = kind == pf::kSpillRecord;
      step.kind = isCopy ? Step::Copy : isSpill ? Step::Spill : Step::Fetch;
      if (isCopy ? !expect(4, "copy DST SRC BYTES")
                 : !expect(5, isSpill ? "spill ARENA HOST BYTES EVENT"
                                      : "fetch HOST ARENA BYTES EVENT"))
        return false;
      BufferRef first, second;
      if (!parseRef(tok[1], first) || !parseRef(tok[2], second) ||
          !parseU64(tok[3], step.bytes))
        return fail("bad " + std::string(kind) + " operands");
      if (isCopy) {
        step.dst = first;
        step.src = second;
        if (step.dst.base == BufferRef::Host ||
            step.src.base == BufferRef::Host)
          return fail("'copy' is device to device; spill and fetch move "
                      "buffers to and from the host pool");
      } else {
        // Both read "from to": spill DEVICE HOST, fetch HOST DEVICE.
        step.src = first;
        step.dst = second;
        bool srcHost = step.src.base == BufferRef::Host;
        bool dstHost = step.dst.base == BufferRef::Host;
        if (isSpill ? (srcHost || !dstHost) : (!srcHost || dstHost))
          return fail(isSpill ? "'spill' moves a device buffer to host+OFF"
                              : "'fetch' moves host+OFF to a device buffer");
        if (!parseEvent(tok[4], step.event))
          return fail("bad event " + quoted(tok[4]) + " (want e0, e1, ...)");
      }
    } else if (kind == pf::kWaitRecord) {
      step.kind = Step::Wait;
      if (!expect(2, "wait EVENT"))
        return false;
      if (!parseEvent(tok[1], step.event))
        return fail("bad event " + quoted(tok[1]) + " (want e0, e1, ...)");
    } else if (kind == pf::kSvdRecord) {
      step.kind = Step::Svd;
      if (!expect(8, "svd PERIOD RANK RIGHT ROWS COLS GRADIENT PROJECTOR"))
        return false;
      int64_t right = 0;
      if (!parseI64(tok[1], step.period) || step.period < 1 ||
          !parseI64(tok[2], step.rank) || step.rank < 1 ||
          !parseI64(tok[3], right) || right < 0 || right > 1 ||
          !parseI64(tok[4], step.rows) || step.rows < 1 ||
          !parseI64(tok[5], step.cols) || step.cols < 1)
        return fail("bad SVD period, rank, side or size (want positive "
                    "numbers and a side of 0 or 1)");
      step.right = right == 1;
      if (step.rank > std::min(step.rows, step.cols))
        return fail("SVD rank " + std::to_string(step.rank) +
                    " above the smaller side of its " +
                    std::to_string(step.rows) + "x" +
                    std::to_string(step.cols) + " gradient");
      if (!parseRef(tok[6], step.a) || !parseRef(tok[7], step.c))
        return fail("bad SVD operand address");
      if (step.a.base == BufferRef::Host || step.c.base != BufferRef::State)
        return fail("an SVD reads a device buffer and writes an optimizer "
                    "state (state:I+OFF)");
    } else {
      return fail("unknown line kind " + quoted(kind) +
                  " (want arch, host_pool_bytes, constant, launch, gemm, "
                  "copy, spill, fetch, wait or svd)");
    }
    if (step.kind == Step::Spill || step.kind == Step::Fetch ||
        step.kind == Step::Wait)
      plan.numEvents = std::max(plan.numEvents, step.event + 1);
    plan.steps.push_back(std::move(step));
  }
  if (!sawArch)
    return in.fail("missing the 'arch sm_XX' line", error, /*at=*/1);
  return true;
}

} // namespace cuda
} // namespace memc
