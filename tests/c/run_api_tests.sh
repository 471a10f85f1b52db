#!/usr/bin/env bash
# Build and run tests/c/test_api.c, the native test of the public API in
# c/rope.h, and tests/c/test_apply_table.c (rope_apply_table_f32 and rows
# shared between calls), and check that the library sources compile
# without warnings.
#
#   1. tests/c/reference_c.py turns tests/reference/vectors/*.json into
#      build/tests/api/reference.txt (regenerated on every run);
#   2. the library sources (without c/wasm_bridge.c, which is for the
#      WebAssembly build only) and the test are compiled with gcc under
#      -Wall -Wextra -Wpedantic -Wshadow -Wconversion -Werror;
#   3. the test is built with AddressSanitizer and UBSan, with malloc and
#      calloc wrapped so that it can make the library's allocations fail,
#      and run. Extra arguments (a seed) are passed to it;
#   4. test_apply_table is built with AddressSanitizer and UBSan and run
#      with the same extra arguments.
#
# Exits nonzero if the warning check or any test fails; the warning check
# does not stop the tests from running.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root"
out=build/tests/api
mkdir -p "$out"

cc="${CC:-gcc}"
python="${PYTHON:-python3}"
library=(c/apply.c c/error.c c/format_double.c c/kernel_list.c c/rope.c c/scores.c c/table.c c/rope_types/*.c c/kernels/*.c)

echo "== reference vectors -> $out/reference.txt"
"$python" tests/c/reference_c.py "$out/reference.txt"

echo "== warning check (gcc -Wpedantic -Wshadow -Wconversion)"
warnings_ok=1
for source in "${library[@]}" tests/c/test_api.c tests/c/test_apply_table.c; do
    if ! gcc -std=c11 -O2 -Ic -Wall -Wextra -Wpedantic -Wshadow -Wconversion -Werror \
        -c "$source" -o "$out/warning_check.o"; then
        warnings_ok=0
    fi
done
rm -f "$out/warning_check.o"
if [[ $warnings_ok -eq 1 ]]; then
    echo "no warnings"
else
    echo "warning check FAILED (see the compiler output above)"
fi

echo "== test_api ($cc, ASan + UBSan)"
# -ffp-contract=off as in the library build: the test compares float
# results bit for bit with its own float expressions.
"$cc" -std=c11 -O1 -g -fsanitize=address,undefined -fno-sanitize-recover=all -ffp-contract=off \
    -Wall -Wextra -Werror -Ic -DTEST_API_WRAP_MALLOC \
    tests/c/test_api.c "${library[@]}" -lm -Wl,--wrap=malloc,--wrap=calloc -o "$out/test_api"
tests_ok=1
"$out/test_api" "$out/reference.txt" "$@" || tests_ok=0

echo "== test_apply_table ($cc, ASan + UBSan)"
"$cc" -std=c11 -O1 -g -fsanitize=address,undefined -fno-sanitize-recover=all -ffp-contract=off \
    -Wall -Wextra -Werror -Ic tests/c/test_apply_table.c "${library[@]}" -lm \
    -o "$out/test_apply_table"
"$out/test_apply_table" "$@" || tests_ok=0

[[ $warnings_ok -eq 1 && $tests_ok -eq 1 ]]
