#!/usr/bin/env bash
# Runs every test suite in turn and prints one line per suite, then a
# closing "suites: N passed, M failed" line. Exits nonzero if any failed.
# `npm test` builds the WebAssembly modules first and then calls this.
set -uo pipefail
cd "$(dirname "$0")/.."

python=${PYTHON:-python3}
passed=0
failed=0
failed_names=()

run_suite() {
  local name=$1; shift
  echo
  echo "=== $name: $*"
  local start=$SECONDS
  if "$@"; then
    passed=$((passed + 1))
    echo "=== $name: passed in $((SECONDS - start)) s"
  else
    failed=$((failed + 1))
    failed_names+=("$name")
    echo "=== $name: FAILED in $((SECONDS - start)) s"
  fi
}

run_suite "reference vectors up to date" "$python" tests/reference/generate.py --check
run_suite "reference vectors self-check" "$python" tests/reference/check_self.py
run_suite "C kernels (native ASan/UBSan, WASM SIMD128, WASM scalar)" bash tests/c/run_kernel_tests.sh
run_suite "C API (native ASan/UBSan)" bash tests/c/run_api_tests.sh
run_suite "fuzz regressions" bash tests/fuzz/run.sh regress
run_suite "node: both WASM builds" node --test tests/node/
run_suite "package: npm pack, install, bundlers, browsers" node --test tests/package/
run_suite "TypeScript types" npx --no-install tsc -p tests/types/tsconfig.json
run_suite "browser (Chromium)" node --test tests/browser/

echo
for name in "${failed_names[@]}"; do
  echo "failed suite: $name"
done
echo "suites: $passed passed, $failed failed"
[[ $failed -eq 0 ]]
