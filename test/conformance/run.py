#!/usr/bin/python3
"""ONNX backend conformance for memc.

For every test directory of the ONNX backend test data (Debian's
libonnx-testdata: DIR/model.onnx + DIR/test_data_set_N/{input,output}_K.pb)
it compiles the model once with `memc` and runs `memc-run --iterations 1` on
each data set, which compares against the stored outputs. Each test ends as

  passed   compiled, and every data set matched;
  skipped  memc said "not supported" (exit 5: op/attribute/type; exit 6: a
           dynamic dimension it could not pin), with memc's own message as
           the reason; or the test data itself is of a kind memc-run does not
           take (a string/complex tensor, a sequence) and memc-run said so
           (exit 22); or the test ships no model (the `real` suite);
  failed   anything else: another exit code, a mismatch, a crash (signal),
           a timeout. Failures are never hidden: there is no exclusion list.

A test whose model disagrees with its own reference outputs in this data
(a bug ONNX fixed upstream after 1.12) is compiled from the model as
upstream fixed it, never skipped: MODEL_FIXES lists each with the fix, and
the test's reason says the model was patched.

Dynamic input dimensions are pinned with `--shape NAME=AxB` from the shapes
of the data set's input tensors; data sets that disagree on those shapes get
one compile each.

    test/conformance/run.py --build build [--data DIR] [--suites a,b]
        [--jobs N] [--timeout S] [--filter REGEX] [--keep] [--list-skips] [-v]

Writes BUILD/conformance.json; the last line printed is exactly
`conformance: N passed, N failed, N skipped`; exit status 0 iff none failed.
"""

import argparse
import concurrent.futures
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

import onnx
import onnx.helper

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DEFAULT_DATA = "/usr/share/libonnx-testdata/data"
# `real` holds only data.json files pointing at big downloadable models
# (resnet50, vgg19, ...): nothing to run offline, so it is opt-in.
DEFAULT_SUITES = "node,simple,pytorch-converted,pytorch-operator"

# Element types memc-run can feed/compare (docs/package-format.md dtypes).
P = onnx.TensorProto
SUPPORTED_DATA_TYPES = {P.FLOAT, P.DOUBLE, P.FLOAT16, P.BFLOAT16, P.INT8,
                        P.INT16, P.INT32, P.INT64, P.UINT8, P.UINT16,
                        P.UINT32, P.UINT64, P.BOOL}


def load_exit_codes():
    """Exit code -> name, read from include/memc/ExitCodes.h (one source of
    truth shared with the tools), with the known table as a fallback."""
    names = {0: "OK", 1: "Internal", 2: "Usage", 3: "FileNotFound", 4: "NotONNX",
             5: "Unsupported", 6: "UnknownDim", 7: "InvalidModel", 8: "Budget",
             9: "Codegen", 10: "Output", 20: "Mismatch", 21: "BadPackage",
             22: "BadData", 23: "NoDevice"}
    try:
        with open(os.path.join(ROOT, "include", "memc", "ExitCodes.h")) as f:
            for m in re.finditer(r"\bExit(\w+)\s*=\s*(\d+)", f.read()):
                names[int(m.group(2))] = m.group(1)
    except OSError:
        pass
    return names


EXIT_NAMES = load_exit_codes()
EXIT_UNSUPPORTED = 5
EXIT_UNKNOWN_DIM = 6
EXIT_MISMATCH = 20
EXIT_BAD_DATA = 22


# --------------------------------------------------------------------------
# Running a tool
# --------------------------------------------------------------------------

class Result:
    def __init__(self, rc, out, err, timed_out, seconds):
        self.rc, self.out, self.err = rc, out, err
        self.timed_out, self.seconds = timed_out, seconds

    def signal_name(self):
        """The signal that killed it, or None. Python reports -SIG for a
        direct child; a shell in between would report 128+SIG."""
        sig = -self.rc if self.rc < 0 else (self.rc - 128 if self.rc >= 128 else None)
        if sig is None:
            return None
        try:
            return signal.Signals(sig).name
        except ValueError:
            return f"signal {sig}"


def run_tool(argv, timeout):
    """Run argv with a timeout. The child gets its own process group so that
    a timeout also kills whatever it spawned (memc runs the linker)."""
    t0 = time.monotonic()
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            stdin=subprocess.DEVNULL, start_new_session=True)
    timed_out = False
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        timed_out = True
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        out, err = proc.communicate()
    return Result(proc.returncode, out.decode("utf-8", "replace"),
                  err.decode("utf-8", "replace"), timed_out, time.monotonic() - t0)


def first_line(text):
    for line in text.splitlines():
        if line.strip():
            return line.strip()
    return ""


def describe_exit(tool, r, timeout):
    """One line for a tool run that did not succeed."""
    if r.timed_out:
        return f"{tool} timed out after {timeout:g}s"
    sig = r.signal_name()
    # A tool's diagnostic is on stderr; failing that, its last stdout line
    # (memc-run ends with its `result:` verdict).
    out_lines = [l.strip() for l in r.out.splitlines() if l.strip()]
    msg = first_line(r.err) or (out_lines[-1] if out_lines else "")
    if sig:  # stdout of a crashed tool is just where it got to
        msg = first_line(r.err)
        return f"{tool} crashed ({sig})" + (f": {msg}" if msg else "")
    name = EXIT_NAMES.get(r.rc, "?")
    return f"{tool} exit {r.rc} ({name})" + (f": {msg}" if msg else "")


# --------------------------------------------------------------------------
# One test
# --------------------------------------------------------------------------

class Test:
    def __init__(self, suite, name, path):
        self.suite, self.name, self.path = suite, name, path
        self.id = f"{suite}/{name}"
        self.status = None
        self.reason = ""
        self.seconds = 0.0

    def finish(self, status, reason=""):
        self.status, self.reason = status, reason
        return self


def data_sets(test_dir):
    sets = []
    for entry in os.listdir(test_dir):
        m = re.fullmatch(r"test_data_set_(\d+)", entry)
        if m and os.path.isdir(os.path.join(test_dir, entry)):
            sets.append((int(m.group(1)), os.path.join(test_dir, entry)))
    return [p for _, p in sorted(sets)]


def read_tensor(path):
    """The TensorProto in a .pb file, or None if it is not one (sequence
    and optional test data use other messages)."""
    try:
        with open(path, "rb") as f:
            data = f.read()
        t = onnx.TensorProto()
        t.ParseFromString(data)
        return t
    except Exception:  # a DecodeError or an unreadable file: not a tensor
        return None


def graph_inputs(model):
    """The model's runtime inputs (initializers listed as inputs excluded),
    in order: input_K.pb is the K-th of these."""
    inits = {i.name for i in model.graph.initializer}
    return [i for i in model.graph.input if i.name not in inits]


def is_dynamic(value_info):
    tt = value_info.type.tensor_type
    if not value_info.type.HasField("tensor_type"):
        return False  # sequences/optionals: not something --shape can pin
    if not tt.HasField("shape"):
        return True  # unknown rank
    return any(not d.HasField("dim_value") for d in tt.shape.dim)


def shape_pins(dynamic_inputs, data_dir):
    """[(name, "AxB")] for the dynamic inputs, from data_dir's input tensors;
    None where a tensor is missing or unreadable (then memc decides)."""
    pins = []
    for idx, vi in dynamic_inputs:
        t = read_tensor(os.path.join(data_dir, f"input_{idx}.pb"))
        if t is None:
            return None
        dims = "x".join(str(d) for d in t.dims) if len(t.dims) else "scalar"
        pins.append((vi.name, dims))
    return tuple(pins)


def data_kind_problem(model, data_dir):
    """Why memc-run may reject this data set without memc being wrong: a
    tensor of an element type memc has no dtype for, or a non-tensor value.
    None if every input/output is a plain tensor of a supported type."""
    values = [("input", i, vi) for i, vi in enumerate(graph_inputs(model))] + \
             [("output", i, vi) for i, vi in enumerate(model.graph.output)]
    for kind, i, vi in values:
        which = vi.type.WhichOneof("value")
        if which != "tensor_type":
            what = (which or "untyped value").replace("_type", "")
            return f"{kind} {vi.name!r} is a {what}, not a tensor"
        path = os.path.join(data_dir, f"{kind}_{i}.pb")
        t = read_tensor(path) if os.path.exists(path) else None
        if t is not None and t.data_type not in SUPPORTED_DATA_TYPES:
            tname = P.DataType.Name(t.data_type) if t.data_type in P.DataType.values() \
                else str(t.data_type)
            return f"{kind} {vi.name!r} has element type {tname}"
    return None


def _add_float_attr(op_type, name, value):
    """A fix that gives every `op_type` node lacking attribute `name` the
    float `value`; returns whether it changed the model."""
    def fix(model):
        changed = False
        for node in model.graph.node:
            if node.op_type == op_type and all(a.name != name for a in node.attribute):
                node.attribute.append(onnx.helper.make_attribute(name, value))
                changed = True
        return changed
    return fix


# Test id -> (why and where upstream fixed it, the fix). A fix that changes
# nothing (the data is already fixed) leaves the model as shipped.
MODEL_FIXES = {
    # adam.py computes the outputs with epsilon=1e-2 but did not put it on
    # the node, which then means the default 1e-6 (onnx/onnx#7749).
    "node/test_adam_multiple": (
        "model patched as onnx/onnx#7763 fixed it (Adam epsilon=0.01, "
        "as its reference outputs use)",
        _add_float_attr("Adam", "epsilon", 1e-2)),
}


def mismatch_summary(r):
    """memc-run's verdict on a mismatch: its MISMATCH output lines, else its
    `result:` line."""
    bad = [l.strip() for l in r.out.splitlines()
           if l.startswith("output ") and "MISMATCH" in l]
    if bad:
        more = f" (+{len(bad) - 1} more outputs)" if len(bad) > 1 else ""
        return bad[0] + more
    res = [l.strip() for l in r.out.splitlines() if l.startswith("result:")]
    return res[-1] if res else describe_exit("memc-run", r, 0)


def run_test(test, args, tools, workroot):
    t0 = time.monotonic()
    try:
        return _run_test(test, args, tools, workroot)
    except Exception as e:  # a bug here must show up as a failure, not vanish
        return test.finish("failed", f"runner error: {type(e).__name__}: {e}")
    finally:
        test.seconds = round(time.monotonic() - t0, 3)
        if not args.keep:
            shutil.rmtree(os.path.join(workroot, test.suite, test.name),
                          ignore_errors=True)


def _run_test(test, args, tools, workroot):
    model_path = os.path.join(test.path, "model.onnx")
    if not os.path.isfile(model_path):
        return test.finish("skipped", "no model.onnx (download-only test)")
    sets = data_sets(test.path)
    if not sets:
        return test.finish("skipped", "no test_data_set_* directories")

    try:
        model = onnx.load(model_path)
    except Exception:
        # memc must cope with this too (exit 4); we just cannot pin shapes.
        model = None
    dynamic = [(i, vi) for i, vi in enumerate(graph_inputs(model))
               if is_dynamic(vi)] if model is not None else []

    # Group data sets by the shapes they pin: one compile per distinct set.
    groups = {}
    for ds in sets:
        groups.setdefault(shape_pins(dynamic, ds) if dynamic else (), []).append(ds)

    pkgroot = os.path.join(workroot, test.suite, test.name)
    shutil.rmtree(pkgroot, ignore_errors=True)  # stale --keep output
    os.makedirs(pkgroot)
    patched = ""
    if test.id in MODEL_FIXES and model is not None:
        why, fix = MODEL_FIXES[test.id]
        if fix(model):
            model_path = os.path.join(pkgroot, "model.onnx")
            onnx.save(model, model_path)
            patched = why
    for g, (pins, group_sets) in enumerate(groups.items()):
        pkg = os.path.join(pkgroot, f"pkg{g}")
        argv = [tools["memc"], model_path, "-o", pkg]
        for name, dims in pins or ():
            argv += ["--shape", f"{name}={dims}"]
        r = run_tool(argv, args.timeout)
        if r.rc in (EXIT_UNSUPPORTED, EXIT_UNKNOWN_DIM) and not r.timed_out:
            msg = first_line(r.err) or f"memc exit {r.rc} ({EXIT_NAMES[r.rc]}), no message"
            if r.rc == EXIT_UNKNOWN_DIM and dynamic and pins is None:
                msg += " [dynamic input not pinnable from the test data]"
            return test.finish("skipped", clean(msg, test, workroot))
        if r.rc != 0 or r.timed_out:
            return test.finish("failed", clean(describe_exit("memc", r, args.timeout), test, workroot))

        for ds in group_sets:
            dsname = os.path.basename(ds)
            argv = [tools["memc-run"], pkg, "--data", ds, "--iterations", "1"]
            if args.rtol is not None:
                argv += ["--rtol", str(args.rtol)]
            if args.atol is not None:
                argv += ["--atol", str(args.atol)]
            r = run_tool(argv, args.timeout)
            if r.rc == 0 and not r.timed_out:
                res = [l for l in r.out.splitlines() if l.startswith("result:")]
                if res and not res[-1].startswith("result: match"):
                    # Exit 0 without a comparison: nothing was checked.
                    return test.finish("failed", clean(
                        f"{dsname}: memc-run compared nothing: {res[-1].strip()}", test, workroot))
                continue
            if r.rc == EXIT_MISMATCH and not r.timed_out:
                return test.finish("failed", clean(f"{dsname}: {mismatch_summary(r)}", test, workroot))
            if r.rc == EXIT_BAD_DATA and not r.timed_out and model is not None:
                why = data_kind_problem(model, ds)
                if why:
                    return test.finish("skipped", clean(
                        f"test data: {why} (memc-run exit 22: "
                        f"{first_line(r.err) or first_line(r.out) or 'no message'})", test, workroot))
            return test.finish("failed", clean(
                f"{dsname}: {describe_exit('memc-run', r, args.timeout)}", test, workroot))
    return test.finish("passed", patched)


def clean(msg, test, workroot=None):
    """Make paths in a message relative to the test (".../test_x/model.onnx"
    -> "model.onnx", the temporary package -> "PKG"): the test is named
    already, and absolute paths would make every reason unique."""
    if workroot:
        pkgroot = os.path.join(workroot, test.suite, test.name)
        msg = re.sub(re.escape(pkgroot) + r"/pkg\d+", "PKG", msg)
    return msg.replace(test.path + "/", "").replace(test.path, ".")


def reason_key(reason):
    """Aggregation key for skip reasons: per-test node names removed, so
    "unsupported op X" groups across tests."""
    return re.sub(r"\bnode\s+(['\"]).*?\1", "node …", reason)


# --------------------------------------------------------------------------
# Driver
# --------------------------------------------------------------------------

def discover(data_root, suites, filt):
    tests = []
    for suite in suites:
        sdir = os.path.join(data_root, suite)
        if not os.path.isdir(sdir):
            raise SystemExit(f"run.py: no suite {suite!r} under {data_root}")
        for name in sorted(os.listdir(sdir)):
            path = os.path.join(sdir, name)
            if os.path.isdir(path) and (not filt or filt.search(f"{suite}/{name}")):
                tests.append(Test(suite, name, path))
    return tests


def print_skip_table(skipped, full):
    """Skip reasons grouped, most frequent first, with up to 3 examples."""
    groups = {}
    for t in skipped:
        groups.setdefault(reason_key(t.reason), []).append(t.id)
    rows = sorted(groups.items(), key=lambda kv: (-len(kv[1]), kv[0]))
    limit = None if full else 25
    width = None if full else 72
    print(f"skipped: {len(skipped)} tests, {len(rows)} distinct reasons")
    for key, ids in rows[:limit]:
        shown = key if width is None or len(key) <= width else key[:width - 1] + "…"
        ex = ", ".join(ids[:3]) + (", …" if len(ids) > 3 else "")
        if full:
            print(f"  {len(ids):5d}  {shown}\n         e.g. {ex}")
        else:
            print(f"  {len(ids):5d}  {shown:<{width}}  e.g. {ex}")
    if limit is not None and len(rows) > limit:
        rest = sum(len(ids) for _, ids in rows[limit:])
        print(f"  ... {len(rows) - limit} more reasons ({rest} tests); --list-skips shows all")


def main():
    ap = argparse.ArgumentParser(
        description="Run the ONNX backend test data through memc and memc-run.")
    ap.add_argument("--build", default="build", help="build dir (has bin/memc)")
    ap.add_argument("--data", default=DEFAULT_DATA, help="ONNX backend test data root")
    ap.add_argument("--suites", default=DEFAULT_SUITES,
                    help=f"comma-separated suites (default {DEFAULT_SUITES}; "
                         "`real` only has download links)")
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--timeout", type=float, default=120.0,
                    help="seconds per memc / memc-run invocation")
    ap.add_argument("--filter", help="regex searched in SUITE/TEST names")
    ap.add_argument("--keep", action="store_true",
                    help="keep packages in BUILD/conformance-pkgs/SUITE/TEST")
    ap.add_argument("--list-skips", action="store_true",
                    help="print every skip reason in full")
    ap.add_argument("--rtol", type=float, help="passed to memc-run (default: its own)")
    ap.add_argument("--atol", type=float, help="passed to memc-run (default: its own)")
    ap.add_argument("--json", help="summary path (default BUILD/conformance.json)")
    ap.add_argument("-v", "--verbose", action="store_true", help="print progress")
    args = ap.parse_args()

    build = os.path.abspath(args.build)
    tools = {t: os.path.join(build, "bin", t) for t in ("memc", "memc-run")}
    for t, p in tools.items():
        if not os.access(p, os.X_OK):
            print(f"run.py: {p} not found or not executable; build first", file=sys.stderr)
            return 2
    if not os.path.isdir(args.data):
        print(f"run.py: no test data at {args.data} (Debian: apt install "
              "libonnx-testdata)", file=sys.stderr)
        return 2
    try:
        filt = re.compile(args.filter) if args.filter else None
    except re.error as e:
        print(f"run.py: bad --filter: {e}", file=sys.stderr)
        return 2
    suites = [s for s in args.suites.split(",") if s]
    tests = discover(args.data, suites, filt)
    if not tests:
        print("run.py: no tests selected", file=sys.stderr)

    if args.keep:
        workroot = os.path.join(build, "conformance-pkgs")
        os.makedirs(workroot, exist_ok=True)
    else:
        workroot = tempfile.mkdtemp(prefix="memc-conformance-")

    jobs = max(1, args.jobs)
    print(f"conformance: {len(tests)} tests from {','.join(suites)} "
          f"({args.data}), {jobs} jobs", flush=True)
    t_start = time.monotonic()
    done = 0
    lock = threading.Lock()
    try:
        with concurrent.futures.ThreadPoolExecutor(max_workers=jobs) as pool:
            futures = [pool.submit(run_test, t, args, tools, workroot) for t in tests]
            for fut in concurrent.futures.as_completed(futures):
                t = fut.result()
                with lock:
                    done += 1
                    if args.verbose:
                        if t.status == "failed":
                            print(f"FAIL {t.id}: {t.reason}", flush=True)
                        else:
                            tag = "PASS" if t.status == "passed" else "SKIP"
                            extra = f": {t.reason}" if t.reason else ""
                            print(f"[{done:4d}/{len(tests)}] {tag} {t.id} "
                                  f"({t.seconds:.1f}s){extra}", flush=True)
    finally:
        if not args.keep:
            shutil.rmtree(workroot, ignore_errors=True)
    elapsed = time.monotonic() - t_start

    passed = [t for t in tests if t.status == "passed"]
    failed = sorted((t for t in tests if t.status == "failed"), key=lambda t: t.id)
    skipped = [t for t in tests if t.status == "skipped"]

    summary_path = args.json or os.path.join(build, "conformance.json")
    with open(summary_path, "w") as f:
        json.dump({
            "data": args.data, "suites": suites, "filter": args.filter,
            "elapsed_s": round(elapsed, 1),
            "summary": {"passed": len(passed), "failed": len(failed),
                        "skipped": len(skipped)},
            "tests": {t.id: {"status": t.status, "reason": t.reason,
                             "seconds": t.seconds}
                      for t in sorted(tests, key=lambda t: t.id)},
        }, f, indent=1)
        f.write("\n")

    print()
    if failed:
        print(f"failed: {len(failed)} tests")
        for t in failed:
            print(f"FAIL {t.id}: {t.reason}")
        print()
    if skipped:
        print_skip_table(skipped, args.list_skips)
        print()
    if args.keep:
        print(f"packages kept in {workroot}")
    shown = os.path.relpath(summary_path)
    print(f"summary written to {summary_path if shown.startswith('..') else shown} "
          f"({elapsed:.0f}s)")
    print(f"conformance: {len(passed)} passed, {len(failed)} failed, "
          f"{len(skipped)} skipped", flush=True)
    return 0 if not failed else 1


if __name__ == "__main__":
    sys.exit(main())
