#!/usr/bin/env bash
# Build and run tests/c/test_kernels.c four ways:
#   1. natively (clang, else gcc) with AddressSanitizer and UBSan: scalar kernels;
#   2. with Emscripten and -msimd128, under node: scalar and SIMD128 kernels;
#   3. with Emscripten without -msimd128, under node: scalar kernels only;
#   4. as 2 but with AddressSanitizer, to catch reads past the rotary slots.
# Outputs go to build/tests/. Extra arguments (a seed) are passed to each run.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root"
out=build/tests
mkdir -p "$out"

sources=(c/kernels/*.c c/kernel_list.c c/error.c c/format_double.c tests/c/test_kernels.c)
common=(-std=c11 -Wall -Wextra -Werror -Ic -ffp-contract=off)

# The Debian package of emcc 3.1.6 needs NODE_PATH to find its node modules.
export NODE_PATH="${NODE_PATH:-/usr/share/nodejs}"

if command -v clang >/dev/null; then
    cc=clang
else
    cc=gcc
fi

total_passed=0
total_failed=0

# Run one test binary, echo its output and add its closing counts to the totals.
run() {
    local log="$out/last_run.log"
    "$@" | tee "$log"
    local counts
    counts="$(grep -E '^[0-9]+ passed, [0-9]+ failed$' "$log" | tail -n 1)"
    total_passed=$((total_passed + ${counts%% passed*}))
    local failed="${counts#*passed, }"
    total_failed=$((total_failed + ${failed%% failed}))
}

echo "== native ($cc, ASan + UBSan)"
"$cc" "${common[@]}" -O2 -g -fsanitize=address,undefined -fno-sanitize-recover=all \
    "${sources[@]}" -lm -o "$out/test_kernels_native"
run "$out/test_kernels_native" "$@"

# The default emcc 3.1.6 loader reads the .wasm with fetch() whenever node
# has a global fetch, and node 20 rejects a file path there. Synchronous
# compilation reads the file from disk instead. The .cjs suffix keeps node
# from loading emcc's CommonJS output as an ES module under the repository's
# "type": "module".
wasm_flags=(-sWASM_ASYNC_COMPILATION=0)

echo "== wasm with -msimd128"
emcc "${common[@]}" "${wasm_flags[@]}" -O3 -msimd128 "${sources[@]}" -o "$out/test_kernels_simd128.cjs"
run node "$out/test_kernels_simd128.cjs" "$@"

echo "== wasm without -msimd128"
emcc "${common[@]}" "${wasm_flags[@]}" -O3 "${sources[@]}" -o "$out/test_kernels_scalar.cjs"
run node "$out/test_kernels_scalar.cjs" "$@"

# The poisoned guard words make any read past a vector's rotary slots by the
# SIMD128 kernels an error here.
echo "== wasm with -msimd128 and ASan"
emcc "${common[@]}" "${wasm_flags[@]}" -O1 -g -msimd128 -fsanitize=address -sINITIAL_MEMORY=64MB \
    "${sources[@]}" -o "$out/test_kernels_simd128_asan.cjs"
run node "$out/test_kernels_simd128_asan.cjs" "$@"

echo "total: $total_passed passed, $total_failed failed"
