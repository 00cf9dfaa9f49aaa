"""memc from Python: compile ONNX models into packages and run them on NumPy
arrays.

    import memc
    pkg = memc.compile("model.onnx", mem_budget="64MiB")
    sess = memc.Session(pkg)
    (y,) = sess.run({"x": x}).values()

compile() runs the `memc` compiler (the same binary, flags and messages as
the command line: every keyword is a flag, `mem_budget="64MiB"` is
`--mem-budget=64MiB`); its failures raise the exception class of its exit
code (README, "Exit codes") with memc's message. Session is the CPU runtime
in this process (the native `_memc` module): inputs go in without a copy
where their dtype, shape and alignment allow, outputs come back as arrays
the program wrote, and the GIL is released while it runs. Generator decodes
greedily with a decode package (`compile(model, decode=True)`).
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile
import weakref

# model.so resolves the runtime's functions (memc_rt_sgemm, ...) from the
# process that loads it: _memc's symbols must be global for that.
_flags = sys.getdlopenflags()
sys.setdlopenflags(_flags | os.RTLD_GLOBAL)
try:
    from . import _memc
finally:
    sys.setdlopenflags(_flags)

__all__ = [
    "compile", "Package", "Session", "Error", "InternalError", "UsageError",
    "FileNotFound", "NotONNX", "UnsupportedOperator", "UnknownDimension",
    "InvalidModel", "BudgetTooSmall", "CodegenError", "OutputError",
    "TrainSpecError", "NotCausal", "BadPackage", "BadData", "NoDevice", "DeviceError",
    "BadState", "CapacityExceeded", "Generator",
]


class Error(Exception):
    """A memc failure: `code` is memc's exit code, the message its line."""

    code = None

    def __init__(self, message, code=None):
        super().__init__(message)
        if code is not None:
            self.code = code


class InternalError(Error): code = 1
class UsageError(Error): code = 2
class FileNotFound(Error): code = 3
class NotONNX(Error): code = 4
class UnsupportedOperator(Error): code = 5
class UnknownDimension(Error): code = 6
class InvalidModel(Error): code = 7
class BudgetTooSmall(Error): code = 8
class CodegenError(Error): code = 9
class OutputError(Error): code = 10
class TrainSpecError(Error): code = 11
class NotCausal(Error): code = 12
class BadPackage(Error): code = 21
class BadData(Error): code = 22
class NoDevice(Error): code = 23
class DeviceError(Error): code = 24
class BadState(Error): code = 26
class CapacityExceeded(Error): code = 27


_BY_CODE = {c.code: c for c in Error.__subclasses__()}


def _raise(code, message):
    raise _BY_CODE.get(code, Error)(message, code)


def _memc_binary():
    """The compiler: $MEMC, else the one beside this package (the build
    tree's bin/, or an installed package's bin/), else PATH's."""
    here = os.path.dirname(os.path.abspath(__file__))
    for path in (os.environ.get("MEMC"), os.path.join(here, "bin", "memc"),
                 os.path.join(here, "..", "..", "bin", "memc"), shutil.which("memc")):
        if path and os.access(path, os.X_OK):
            return os.path.abspath(path)
    raise FileNotFound("memc: the compiler binary is not found (set $MEMC)", 3)


def _flag(key, value):
    """One keyword as memc's flag: mem_budget=... -> --mem-budget=...,
    True -> --flag, False/None -> nothing, lists repeat the flag."""
    name = "--" + key.replace("_", "-")
    if value is None or value is False:
        return []
    if value is True:
        return [name]
    if isinstance(value, dict):  # shape={"x": (1, 128)}
        return [f"{name}={k}={'x'.join(str(d) for d in dims) or 'scalar'}"
                for k, dims in value.items()]
    if isinstance(value, (list, tuple)):
        return [f"{name}={v}" for v in value]
    return [f"{name}={value}"]


class Package:
    """A compiled package directory; `report` is memc's JSON report."""

    def __init__(self, path, report=None, _owned=None):
        self.path = os.fspath(path)
        self.report = report
        if _owned:  # a temporary directory, removed with this object
            self._cleanup = weakref.finalize(self, shutil.rmtree, _owned, True)

    def __fspath__(self):
        return self.path

    def __repr__(self):
        return f"memc.Package({self.path!r})"


def compile(model, out=None, **options):
    """Compiles `model` (a path, the model's bytes or an onnx.ModelProto)
    into a package at `out` (default: a temporary directory that lives as
    long as the returned Package). Every keyword is memc's flag of that
    name: target="cuda", mem_budget="64MiB", train=True,
    loss="cross-entropy", optimizer="adamw:lr=1e-3", trainable=[...],
    shape={"x": (1, 128)}, opt_level -> -O, verbose -> -v. Raises the Error
    subclass of memc's exit code, with its message."""
    work = tempfile.mkdtemp(prefix="memc-py-")
    try:
        if isinstance(model, (str, os.PathLike)):
            path = os.fspath(model)
        else:
            data = model if isinstance(model, (bytes, bytearray)) else model.SerializeToString()
            path = os.path.join(work, "model.onnx")
            with open(path, "wb") as f:
                f.write(data)
        owned = None
        if out is None:
            owned = tempfile.mkdtemp(prefix="memc-pkg-")
            out = os.path.join(owned, "package")
        report_path = os.path.join(work, "report.json")
        args = [_memc_binary(), path, "-o", os.fspath(out), f"--report={report_path}"]
        for key, value in options.items():
            if key == "opt_level":
                args.append(f"-O{int(value)}")
            elif key == "verbose":
                args += ["-v"] if value else []
            elif key == "trainable" and isinstance(value, (list, tuple)):
                args.append("--trainable=" + ",".join(value))
            else:
                args += _flag(key, value)
        p = subprocess.run(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        if options.get("verbose") and p.stderr:
            sys.stderr.write(p.stderr)
        if p.returncode != 0:
            if owned:
                shutil.rmtree(owned, True)
            # memc's one line (LLVM's option parser adds an empty "memc: ").
            lines = [l for l in p.stderr.splitlines()
                     if l.startswith("memc:") and "warning:" not in l and l[5:].strip()]
            _raise(p.returncode, (lines or p.stderr.strip().splitlines() or ["memc failed"])[0])
        report = json.load(open(report_path)) if os.path.exists(report_path) else None
        return Package(out, report, owned)
    finally:
        shutil.rmtree(work, True)


class Session:
    """A package loaded for running, on the CPU or (a --target=cuda package,
    or device="cuda"/"cuda:N") a GPU: `inputs`/`outputs` are lists of
    (name, dtype, shape); run() takes {name: array} (or a list in input
    order) and returns {name: array}. A train package's session trains:
    train_step(batch) -> loss, state_dict(), save_model(path),
    save_state(path) / load_state(path) (memc-run --resume's files)."""

    def __init__(self, package, device=None):
        self.package = package if isinstance(package, Package) else Package(package)
        if device is None:  # where the package was compiled for
            device = "cpu"
            try:
                with open(os.path.join(self.package.path, "manifest.txt")) as f:
                    if any(line.split() == ["target", "cuda"] for line in f):
                        device = "cuda"
            except OSError:
                pass  # the runtime says what is wrong with the package
        try:
            self._s = _memc.Session(self.package.path, device)
        except _memc.RuntimeFailure as e:
            _raise(e.code, str(e))
        self.device = self._s.device
        self.inputs = self._s.inputs
        self.outputs = self._s.outputs
        self.report = self.package.report

    def _call(self, fn, *args):
        try:
            return fn(*args)
        except _memc.RuntimeFailure as e:
            _raise(e.code, str(e))

    def _ordered(self, values, what):
        if isinstance(values, dict):
            names = [n for n, _, _ in self.inputs]
            unknown = set(values) - set(names)
            missing = [n for n in names if n not in values]
            if unknown or missing:
                _raise(22, f"{what}: " + "; ".join(
                    ([f"no input named {sorted(unknown)}"] if unknown else []) +
                    ([f"missing {missing}"] if missing else [])))
            return [values[n] for n in names]
        return list(values)

    def run(self, inputs):
        outs = self._call(self._s.run, self._ordered(inputs, "run"))
        return {name: a for (name, _, _), a in zip(self.outputs, outs)}

    @property
    def steps(self):
        """Train steps done (the optimizer's t of the last one)."""
        return self._s.steps

    def train_step(self, batch):
        """One step on `batch` ({name: array} or a list: the model's inputs,
        then the labels, in the package's input order); returns the loss."""
        return self._call(self._s.train_step, self._ordered(batch, "train_step"))

    def state_dict(self):
        return self._call(self._s.state_dict)

    def save_model(self, path):
        self._call(self._s.save_model, os.fspath(path))

    def save_state(self, path):
        self._call(self._s.save_state, os.fspath(path))

    def load_state(self, path):
        self._call(self._s.load_state, os.fspath(path))


class Generator:
    """A decode package (`compile(model, out, decode=True)`, optionally with
    kv_layout="paged:16", kv_dtype="f16"|"i8"): generate(prompt, n) decodes
    n tokens greedily after an int64 [batch, P] prompt (shorter prompts
    right-padded with -1) and returns them as an int64 [batch, n] array, as
    `memc-run --generate`; `last` holds the run's prefill_ms,
    decode_ms_per_token and kv_bytes. `capacity` is the caches' rows (the
    longest prompt + n must fit), `batch` the batch, `layout` the caches'.
    Runs where the package was compiled for (device=None), or on "cpu",
    "cuda" or "cuda:N" (a package compiled with target="cuda"): both
    programs on the GPU with one copy of the weights and KV caches."""

    def __init__(self, package, device=None):
        self.package = package if isinstance(package, Package) else Package(package)
        if device is None:  # where its programs were compiled for
            device = "cpu"
            try:
                step = os.path.join(self.package.path, "decode", "manifest.txt")
                with open(step) as f:
                    if any(line.split() == ["target", "cuda"] for line in f):
                        device = "cuda"
            except OSError:
                pass  # the runtime says what is wrong with the package
        self.device = device
        try:
            self._g = _memc.Generator(self.package.path, device)
        except _memc.RuntimeFailure as e:
            _raise(e.code, str(e))
        self.capacity = self._g.capacity
        self.batch = self._g.batch
        self.layout = self._g.layout
        self.last = None

    def generate(self, prompt, n):
        try:
            tokens, prefill, decode, kv = self._g.generate(prompt, int(n))
        except _memc.RuntimeFailure as e:
            _raise(e.code, str(e))
        self.last = {"prefill_ms": prefill, "decode_ms_per_token": decode,
                     "kv_bytes": kv}
        return tokens
