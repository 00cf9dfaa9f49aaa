"""OpenBLAS's kernels for the CPU, for benchmarks that time PyTorch.

Debian's PyTorch links OpenBLAS, and Debian 12's OpenBLAS 0.3.21 falls back
to its SSE3 "Prescott" kernels on CPUs it does not know (family 6 model
207, the machines memc is measured on). memc's runtime switches OpenBLAS to
the kernels of the CPU's features when that happens
(runtime/cpu/OpenBlasCore.cpp); a benchmark that times PyTorch next to memc
gives PyTorch the same kernels by calling use_openblas_kernels_for_this_cpu()
before it imports torch. OPENBLAS_CORETYPE set by the caller stands.
"""
import ctypes
import os
import sys


def core_for_this_cpu():
    """OpenBLAS's best single-precision kernels for this CPU's features (as
    runtime/cpu/OpenBlasCore.cpp chooses them), or None."""
    flags = set()
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("flags"):
                    flags = set(line.split(":", 1)[1].split())
                    break
    except OSError:
        return None
    if {"avx512f", "avx512bw", "avx512dq", "avx512vl", "avx512cd"} <= flags:
        return "SkylakeX"
    if {"avx2", "fma"} <= flags:
        return "Haswell"
    return None


def use_openblas_kernels_for_this_cpu():
    """When OpenBLAS falls back to Prescott on a CPU with AVX2, runs this
    script again with OPENBLAS_CORETYPE naming the CPU's kernels (OpenBLAS
    reads it only as it loads). Returns the core OpenBLAS runs, or None
    when there is no OpenBLAS to ask."""
    if os.environ.get("OPENBLAS_CORETYPE"):
        return os.environ["OPENBLAS_CORETYPE"]
    try:
        lib = ctypes.CDLL("libopenblas.so.0")
    except OSError:
        return None
    lib.openblas_get_corename.restype = ctypes.c_char_p
    loaded = lib.openblas_get_corename().decode()
    core = core_for_this_cpu()
    if loaded.lower() != "prescott" or core is None:
        return loaded
    os.environ["OPENBLAS_CORETYPE"] = core
    # The interpreter's own options (bench-train runs with -W ignore) too.
    os.execv(sys.executable,
             [sys.executable] + [f"-W{w}" for w in sys.warnoptions] + sys.argv)
