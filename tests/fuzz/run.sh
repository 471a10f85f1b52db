#!/usr/bin/env bash
# Fuzzing of the C core with libFuzzer, ASan and UBSan. See docs/fuzzing.md.
#
#   tests/fuzz/run.sh build           build every harness into build/fuzz/
#   tests/fuzz/run.sh regress         build, then replay the committed seeds
#                                     and saved findings through each harness;
#                                     closes with "N passed, M failed"
#   tests/fuzz/run.sh fuzz SECONDS    build, then fuzz each harness in turn for
#                                     SECONDS (niced) and print per harness the
#                                     executions, exec/s, coverage and findings
#
# Environment: CC (default clang); FUZZ_BUILD_DIR (default build/fuzz,
# binaries, corpus, artifacts and logs); FUZZ_HARNESSES (default "params
# table apply format") to pick harnesses; ROPE_FUZZ_STRICT=1 to stop
# tolerating the tags in tests/fuzz/known-findings.txt during `fuzz`.
set -uo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root" || exit 2

out=${FUZZ_BUILD_DIR:-build/fuzz}
cc=${CC:-clang}
read -r -a harnesses <<<"${FUZZ_HARNESSES:-params table apply format}"
library=(c/rope.c c/error.c c/format_double.c c/table.c c/apply.c c/scores.c c/kernel_list.c c/rope_types/*.c c/kernels/*.c)
cflags=(-std=c11 -D_DEFAULT_SOURCE -g -O1 -ffp-contract=off -Ic -Wall -Wextra
        -fno-sanitize-recover=all)

usage() {
    sed -n '2,15p' "$0" | sed 's/^# \{0,1\}//'
    exit 2
}

# Sets `mode` to "libfuzzer" when the compiler can link -fsanitize=fuzzer,
# else "replay" (sanitizers only, a plain main that runs files; enough for
# `regress`, not for `fuzz`).
detect_mode() {
    mkdir -p "$out"
    printf 'int LLVMFuzzerTestOneInput(const unsigned char *d, unsigned long n) { return d && n; }\n' \
        >"$out/probe.c"
    if "$cc" -fsanitize=fuzzer,address,undefined "$out/probe.c" -o "$out/probe" >/dev/null 2>&1; then
        mode=libfuzzer
    else
        mode=replay
        echo "fuzz: $cc cannot link -fsanitize=fuzzer (on Debian: apt-get install libclang-rt-14-dev);" \
             "building replay-only binaries" >&2
    fi
    rm -f "$out/probe.c" "$out/probe"
}

build() {
    detect_mode
    local sanitize link_extra=()
    if [[ $mode == libfuzzer ]]; then
        sanitize=fuzzer,address,undefined
    else
        sanitize=address,undefined
        link_extra=(tests/fuzz/replay_main.c)
    fi
    local h
    for h in "${harnesses[@]}"; do
        if [[ ! -f tests/fuzz/fuzz_$h.c ]]; then
            echo "fuzz: no harness tests/fuzz/fuzz_$h.c" >&2
            return 2
        fi
        echo "fuzz: building $out/fuzz_$h ($mode)"
        nice -n 19 "$cc" "${cflags[@]}" -fsanitize="$sanitize" "tests/fuzz/fuzz_$h.c" \
            "${link_extra[@]}" "${library[@]}" -lm -o "$out/fuzz_$h" || return 1
    done
}

regress() {
    build || { echo "0 passed, 1 failed"; return 1; }
    local passed=0 failed=0 h file log
    log="$out/regress.log"
    for h in "${harnesses[@]}"; do
        shopt -s nullglob
        local inputs=(tests/fuzz/corpus/"$h"/* tests/fuzz/regressions/"$h"/*)
        shopt -u nullglob
        for file in "${inputs[@]}"; do
            [[ -f $file ]] || continue
            # Known findings are not tolerated here: a saved finding fails
            # until the library is fixed.
            if env -u ROPE_FUZZ_TOLERATE "$out/fuzz_$h" -timeout=10 -rss_limit_mb=2048 \
                "$file" >"$log" 2>&1; then
                passed=$((passed + 1))
            else
                failed=$((failed + 1))
                local why
                why="$(grep -m1 -E 'rope-fuzz finding|ERROR: (Address|Leak|UndefinedBehavior)Sanitizer|runtime error|ERROR: libFuzzer' "$log")"
                echo "FAIL $h $file: ${why:-exit status $?}"
            fi
        done
    done
    echo "$passed passed, $failed failed"
    [[ $failed -eq 0 ]]
}

# Comma-separated tags from known-findings.txt (first word of each line that
# is not a comment), unless ROPE_FUZZ_STRICT=1.
tolerated_tags() {
    [[ ${ROPE_FUZZ_STRICT:-0} == 1 ]] && return 0
    [[ -f tests/fuzz/known-findings.txt ]] || return 0
    grep -v -E '^[[:space:]]*(#|$)' tests/fuzz/known-findings.txt | awk '{print $1}' | paste -sd, -
}

fuzz() {
    local seconds=$1
    [[ $seconds =~ ^[0-9]+$ && $seconds -gt 0 ]] || usage
    build || return 1
    if [[ $mode != libfuzzer ]]; then
        echo "fuzz: fuzzing needs clang's libFuzzer runtime (libclang-rt-14-dev)" >&2
        return 1
    fi
    local tags
    tags="$(tolerated_tags)"
    [[ -n $tags ]] && echo "fuzz: tolerating known findings: $tags"
    local summary=() total_findings=0 h
    for h in "${harnesses[@]}"; do
        local corpus="$out/corpus/$h" artifacts="$out/artifacts/$h" log="$out/fuzz_$h.log"
        mkdir -p "$corpus" "$artifacts"
        touch "$out/fuzz_$h.start"
        echo "fuzz: $h for $seconds s (log $log)"
        # -fork=1 runs the fuzzing in a child that is restarted after a
        # crash, so one finding does not end the run; the seeds directory
        # comes second so that new inputs go to build/, not to the tree.
        rm -f "$out/fuzz_$h.notes"
        ROPE_FUZZ_TOLERATE="$tags" ROPE_FUZZ_NOTES="$out/fuzz_$h.notes" nice -n 19 "$out/fuzz_$h" -fork=1 -ignore_crashes=1 \
            -ignore_timeouts=1 -ignore_ooms=1 -max_total_time="$seconds" -rss_limit_mb=2048 \
            -timeout=10 -artifact_prefix="$artifacts/" "$corpus" "tests/fuzz/corpus/$h" \
            >"$log" 2>&1
        local status=$?
        # Fork mode prints "#N: cov: C ft: F corp: ... exec/s E ... time: Ts"
        # lines; the last one contains the totals.
        local last execs cov ft rate elapsed
        last="$(grep -E '^#[0-9]+: cov: ' "$log" | tail -n 1)"
        execs="$(sed -E 's/^#([0-9]+):.*/\1/' <<<"$last")"
        cov="$(sed -E 's/.* cov: ([0-9]+).*/\1/' <<<"$last")"
        ft="$(sed -E 's/.* ft: ([0-9]+).*/\1/' <<<"$last")"
        elapsed="$(sed -E 's/.* time: ([0-9]+)s.*/\1/' <<<"$last")"
        rate="?"
        [[ -n $execs && -n $elapsed && $elapsed -gt 0 ]] && rate=$((execs / elapsed))
        # Fork mode does not pass the child's finding line through, so
        # replay each new artifact once to name what it hit.
        local new=0 kinds="" artifact
        while IFS= read -r artifact; do
            [[ -n $artifact ]] || continue
            new=$((new + 1))
            local why
            why="$(ROPE_FUZZ_TOLERATE="$tags" timeout 60 "$out/fuzz_$h" -timeout=10 -rss_limit_mb=2048 \
                   "$artifact" 2>&1 |
                   grep -m1 -o -E 'rope-fuzz finding \[[a-z0-9-]+\]|SUMMARY: [A-Za-z]+Sanitizer: [a-z-]+|ERROR: libFuzzer: [a-z-]+' |
                   sed -E 's/rope-fuzz finding //; s/SUMMARY: //; s/ERROR: //')"
            kinds+="${why:-$(basename "$artifact" | cut -d- -f1) (does not replay)}"$'\n'
        done < <(find "$artifacts" -type f -newer "$out/fuzz_$h.start")
        total_findings=$((total_findings + new))
        kinds="$(sort <<<"$kinds" | grep -v '^$' | uniq -c |
                 awk '{c=$1; $1=""; printf "%s%s x%s", (NR>1?", ":""), substr($0,2), c}')"
        local known
        known="$(cat "$out/fuzz_$h.notes" 2>/dev/null | grep -o -E 'rope-fuzz tolerated \[[a-z0-9-]+\]' |
                 sed -E 's/.*\[(.*)\]/\1/' | sort -u | paste -sd, -)"
        summary+=("$(printf '%-7s %4ss  %10s execs  %6s exec/s  cov %5s  ft %6s  new findings %s%s%s' \
            "$h" "${elapsed:-?}" "${execs:-?}" "${rate:-?}" "${cov:-?}" "${ft:-?}" "$new" \
            "${kinds:+ ($kinds)}" "${known:+; tolerated: $known}")")
        if [[ $status -ne 0 && $new -eq 0 ]]; then
            summary+=("        libFuzzer exited with status $status; see $log")
        fi
    done
    echo
    echo "fuzz summary ($seconds s per harness; artifacts under $out/artifacts/):"
    printf '  %s\n' "${summary[@]}"
    [[ $total_findings -eq 0 ]]
}

case "${1:-}" in
build) build ;;
regress) regress ;;
fuzz) [[ $# -eq 2 ]] || usage; fuzz "$2" ;;
*) usage ;;
esac
