#!/bin/bash
# Run the lit suites (test/lit.cfg.py via the generated BUILD/test/
# lit.site.cfg.py) and print one summary line parsed from lit's totals:
#   lit: N passed, N failed
# passed = Passed + Expectedly Failed (XFAIL holds as expected);
# failed = Failed + Unexpectedly Passed + Unresolved + Timed Out.
# Unsupported tests (REQUIRES not met) are reported on their own line.
# lit's exit status is propagated; if lit fails without counting a failed
# test (config error, nothing discovered), that counts as one failure so a
# broken suite never sums to "0 failed".
# Usage: scripts/run_lit.sh BUILD      (LIT=... overrides the lit binary)
set -uo pipefail

BUILD=${1:?usage: run_lit.sh BUILD}
LIT=${LIT:-/usr/lib/llvm-22/bin/lit}

log=$(mktemp)
trap 'rm -f "$log"' EXIT
"$LIT" -sv "$BUILD/test" 2>&1 | tee "$log"
rc=${PIPESTATUS[0]}

# lit's totals look like "  Passed           : 12 (92.31%)".
count() {
  sed -n "s/^ *$1 *: *\([0-9][0-9]*\).*/\1/p" "$log" | tail -1
}
n() { local v; v=$(count "$1"); echo "${v:-0}"; }

passed=$(( $(n 'Passed') + $(n 'Expectedly Failed') ))
failed=$(( $(n 'Failed') + $(n 'Unexpectedly Passed') + $(n 'Unresolved') + $(n 'Timed Out') ))
unsupported=$(n 'Unsupported')

if [ "$rc" -ne 0 ] && [ "$failed" -eq 0 ]; then
  echo "run_lit.sh: lit exited $rc without a failed test (configuration error?)"
  failed=1
fi
[ "$unsupported" -gt 0 ] && echo "lit: $unsupported unsupported"
echo "lit: $passed passed, $failed failed"
exit "$rc"
