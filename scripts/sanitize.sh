#!/bin/bash
# What `make sanitize` runs: memc, memc-opt, memc-run and every test binary
# built with AddressSanitizer + UndefinedBehaviorSanitizer (gcc, in
# BUILD-DIR, default build-sanitize), then the unit, lit and conformance
# suites on that build. Any sanitizer report fails the test that hit it
# (halt_on_error), so "0 failed" means clean. The generated model.so files
# are not instrumented (memc's own codegen), the runtime that runs them is.
# Leak checking is off: LLVM and MLIR keep process-lifetime singletons that
# LeakSanitizer would report on every exit. allow_user_poisoning=0: LLVM's
# headers poison allocator memory by hand in an instrumented build, which
# Debian's uninstrumented libMLIR.so does not match (false use-after-poison
# reports inside MLIR's own containers).
# The stock mlir-opt with the plugin, the Python module and the README
# examples are UNSUPPORTED there (lit feature asan): an instrumented library
# cannot load into an uninstrumented host.
# Usage: scripts/sanitize.sh [BUILD-DIR] [JOBS]
set -uo pipefail

BUILD=${1:-build-sanitize}
JOBS=${2:-$(nproc)}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT" || exit 1
FLAGS="-fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer"
if [ ! -f "$BUILD/build.ninja" ]; then
  cmake -G Ninja -S . -B "$BUILD" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DCMAKE_C_FLAGS="$FLAGS" -DCMAKE_CXX_FLAGS="$FLAGS" \
    -DCMAKE_EXE_LINKER_FLAGS="-fsanitize=address,undefined" \
    -DCMAKE_SHARED_LINKER_FLAGS="-fsanitize=address,undefined" >/dev/null || exit 1
fi
cmake --build "$BUILD" -j "$JOBS" || exit 1

export ASAN_OPTIONS=detect_leaks=0:allow_user_poisoning=0:halt_on_error=1:detect_stack_use_after_return=0
export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
status=0
bash scripts/run_unit.sh "$BUILD" || status=1
bash scripts/run_lit.sh "$BUILD" || status=1
/usr/bin/python3 test/conformance/run.py --build "$BUILD" --jobs "$JOBS" || status=1
echo "sanitize: $([ $status -eq 0 ] && echo clean || echo FAILED) (ASan+UBSan build in $BUILD)"
exit $status
