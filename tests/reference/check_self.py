#!/usr/bin/env python3
"""Sanity-check the reference vectors against properties of each RoPE type.

The checks use plain double arithmetic and the raw config files, not the
mpmath code in generate.py, so a slip in one path shows up in the other:

- every table entry satisfies cos^2 + sin^2 = attentionScaling^2;
- position 0 gives cos = attentionScaling and sin = 0;
- invFreq matches the type's rule recomputed in doubles (relative 1e-12);
- llama3: high band unchanged, low band divided by factor, middle in between;
- longrope: the long list is used exactly when seqLen > original length;
- dynamic: invFreq equals the default frequencies up to max_position_embeddings;
- yarn: invFreq and attention match a double recomputation, and
  invFreq / theta falls from 1 towards 1/factor as the index grows;
- longrope: attentionScaling matches sqrt(1 + ln(factor) / ln(original));
- cos/sin at position 1 match the double-precision cos/sin of invFreq.

Usage (from the repository root): python3 tests/reference/check_self.py
Exits 1 if any check fails.
"""

import json
import math
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
VECTOR_DIR = REPO_ROOT / "tests" / "reference" / "vectors"

# Frequencies recomputed in doubles differ from the exact values by a few ulp
# times the exponent's magnitude (base^x loses about |x ln base| ulp).
FREQ_RTOL = 1e-12
TABLE_ATOL = 4e-16


class Checker:
    def __init__(self, name):
        self.name = name
        self.failures = []
        self.count = 0

    def expect(self, ok, message):
        self.count += 1
        if not ok:
            self.failures.append(message)


def close(a, b, rtol=FREQ_RTOL):
    return abs(a - b) <= rtol * max(abs(a), abs(b))


def scaling_of(raw):
    scaling = raw.get("rope_scaling")
    if scaling is None:
        scaling = raw.get("rope_parameters")
    return scaling or {}


def thetas(vector):
    d = vector["rotaryDim"]
    base = float(vector["base"])
    return [base ** (-2.0 * i / d) for i in range(d // 2)]


def check_tables(chk, vector):
    s = vector["attentionScaling"]
    half = vector["rotaryDim"] // 2
    for case in vector["cases"]:
        chk.expect(len(case["invFreq"]) == half, f"seqLen {case['seqLen']}: invFreq length")
        chk.expect(len(case["cos"]) == len(case["positions"]) == len(case["sin"]),
                   f"seqLen {case['seqLen']}: row count")
        for p, crow, srow in zip(case["positions"], case["cos"], case["sin"]):
            chk.expect(len(crow) == len(srow) == half, f"position {p}: row length")
            for i, (c, sn) in enumerate(zip(crow, srow)):
                chk.expect(abs(c * c + sn * sn - s * s) <= 8 * TABLE_ATOL * s * s,
                           f"seqLen {case['seqLen']} position {p} pair {i}: cos^2+sin^2 != s^2")
            if p == 0:
                chk.expect(all(c == s for c in crow) and all(x == 0 for x in srow),
                           "position 0 is not (s, 0)")
            if p == 1:
                # At angle invFreq <= 1 the double cos/sin error stays within
                # a couple of ulp, so this is a direct cross-check.
                for i, f in enumerate(case["invFreq"]):
                    chk.expect(abs(crow[i] - s * math.cos(f)) <= TABLE_ATOL * 4
                               and abs(srow[i] - s * math.sin(f)) <= TABLE_ATOL * 4,
                               f"position 1 pair {i}: cos/sin disagree with math.cos/sin")


def check_default(chk, vector, raw, case):
    for i, (f, t) in enumerate(zip(case["invFreq"], thetas(vector))):
        chk.expect(close(f, t), f"pair {i}: {f} != theta {t}")


def check_linear(chk, vector, raw, case):
    factor = scaling_of(raw)["factor"]
    for i, (f, t) in enumerate(zip(case["invFreq"], thetas(vector))):
        chk.expect(close(f, t / factor), f"pair {i}: {f} != theta/factor")


def check_dynamic(chk, vector, raw, case):
    max_pos = vector["maxPositionEmbeddings"]
    th = thetas(vector)
    if case["seqLen"] <= max_pos:
        for i, (f, t) in enumerate(zip(case["invFreq"], th)):
            chk.expect(close(f, t), f"seqLen {case['seqLen']} pair {i}: should equal default")
        return
    factor = scaling_of(raw)["factor"]
    d = vector["rotaryDim"]
    base = float(vector["base"]) * (factor * case["seqLen"] / max_pos - (factor - 1)) ** (d / (d - 2))
    chk.expect(case["invFreq"][0] == 1.0, "first frequency must stay 1")
    for i, f in enumerate(case["invFreq"]):
        chk.expect(close(f, base ** (-2.0 * i / d), 1e-11), f"seqLen {case['seqLen']} pair {i}: NTK base")
        if i:
            chk.expect(f < th[i], f"pair {i}: NTK must lower the frequency")


def check_longrope(chk, vector, raw, case):
    scaling = scaling_of(raw)
    original = vector["originalMaxPositionEmbeddings"]
    chosen = "long_factor" if case["seqLen"] > original else "short_factor"
    other = "short_factor" if chosen == "long_factor" else "long_factor"
    if scaling.get("attention_factor") is None:
        # Phi-3 rule: factor = max / original when the config gives an
        # original length, else scaling["factor"].
        if original != vector["maxPositionEmbeddings"]:
            factor = vector["maxPositionEmbeddings"] / original
        else:
            factor = scaling.get("factor", 1.0)
        attention = 1.0 if factor <= 1 else math.sqrt(1 + math.log(factor) / math.log(original))
        chk.expect(close(vector["attentionScaling"], attention), "attention factor")
    th = thetas(vector)
    for i, f in enumerate(case["invFreq"]):
        chk.expect(close(f, th[i] / scaling[chosen][i]), f"seqLen {case['seqLen']} pair {i}: not {chosen}")
        if not close(scaling[chosen][i], scaling[other][i], 1e-9):
            chk.expect(not close(f, th[i] / scaling[other][i]), f"pair {i}: matches {other}")


def yarn_double(vector, raw):
    """Recompute YaRN (inv_freq, attention) in doubles from the raw config."""
    scaling = scaling_of(raw)
    factor = scaling["factor"]
    d = vector["rotaryDim"]
    base = float(vector["base"])
    original = (scaling.get("original_max_position_embeddings")
                or raw.get("original_max_position_embeddings")
                or vector["maxPositionEmbeddings"])

    def mscale(s, m=1.0):
        return 1.0 if s <= 1 else 0.1 * m * math.log(s) + 1.0

    attention = scaling.get("attention_factor")
    if attention is None:
        if scaling.get("mscale") and scaling.get("mscale_all_dim"):
            attention = mscale(factor, scaling["mscale"]) / mscale(factor, scaling["mscale_all_dim"])
        else:
            attention = mscale(factor)

    def correction_dim(rotations):
        return d * math.log(original / (rotations * 2 * math.pi)) / (2 * math.log(base))

    low = correction_dim(scaling.get("beta_fast") or 32)
    high = correction_dim(scaling.get("beta_slow") or 1)
    if scaling.get("truncate", True) is not False:
        low, high = math.floor(low), math.ceil(high)
    low, high = max(low, 0), min(high, d - 1)
    if low == high:
        high += 0.001
    inv_freq = []
    for i, t in enumerate(thetas(vector)):
        ramp = min(max((i - low) / (high - low), 0.0), 1.0)
        inv_freq.append(t / factor * ramp + t * (1 - ramp))
    return inv_freq, attention


def check_yarn(chk, vector, raw, case):
    factor = scaling_of(raw)["factor"]
    expected, attention = yarn_double(vector, raw)
    chk.expect(close(vector["attentionScaling"], attention), "attention factor")
    for i, (f, e) in enumerate(zip(case["invFreq"], expected)):
        chk.expect(close(f, e), f"pair {i}: {f} != double YaRN {e}")
    ratios = [f / t for f, t in zip(case["invFreq"], thetas(vector))]
    for i, r in enumerate(ratios):
        chk.expect(1 / factor - 1e-12 <= r <= 1 + 1e-12, f"pair {i}: ratio {r} outside [1/factor, 1]")
        if i:
            chk.expect(r <= ratios[i - 1] + 1e-12, f"pair {i}: ratio rises")
    chk.expect(close(ratios[0], 1.0), "highest frequency must be kept")


def check_llama3(chk, vector, raw, case):
    scaling = scaling_of(raw)
    factor = scaling["factor"]
    original = scaling["original_max_position_embeddings"]
    low_wavelen = original / scaling["low_freq_factor"]
    high_wavelen = original / scaling["high_freq_factor"]
    bands = {"high": 0, "middle": 0, "low": 0}
    for i, (f, t) in enumerate(zip(case["invFreq"], thetas(vector))):
        wavelen = 2 * math.pi / t
        if wavelen < high_wavelen:
            bands["high"] += 1
            chk.expect(close(f, t), f"pair {i}: high band must be unchanged")
        elif wavelen > low_wavelen:
            bands["low"] += 1
            chk.expect(close(f, t / factor), f"pair {i}: low band must be theta/factor")
        else:
            bands["middle"] += 1
            chk.expect(t / factor < f < t, f"pair {i}: middle band outside (theta/factor, theta)")
            # At the band edges smooth is 0 and 1, so the blend is continuous.
            smooth = (original / wavelen - scaling["low_freq_factor"]) / (
                scaling["high_freq_factor"] - scaling["low_freq_factor"])
            chk.expect(close(f, (1 - smooth) * t / factor + smooth * t, 1e-11), f"pair {i}: blend")
    return bands


CHECKS = {
    "default": check_default,
    "linear": check_linear,
    "dynamic": check_dynamic,
    "longrope": check_longrope,
    "yarn": check_yarn,
    "llama3": check_llama3,
}


def main():
    paths = sorted(VECTOR_DIR.glob("*.json"))
    if not paths:
        print("no vector files; run tests/reference/generate.py first")
        return 1
    failed = 0
    print(f"{'name':30} {'ropeType':9} {'rotaryDim':>9} {'attentionScaling':>20} {'cases':>5} {'checks':>7}  result")
    for path in paths:
        vector = json.loads(path.read_text())
        raw = json.loads((REPO_ROOT / vector["configFile"]).read_text())
        chk = Checker(vector["name"])
        check_tables(chk, vector)
        extra = ""
        for case in vector["cases"]:
            result = CHECKS[vector["ropeType"]](chk, vector, raw, case)
            if isinstance(result, dict):
                extra = "  bands " + ", ".join(f"{k} {v}" for k, v in result.items())
        status = "ok" if not chk.failures else f"FAILED ({len(chk.failures)})"
        print(f"{vector['name']:30} {vector['ropeType']:9} {vector['rotaryDim']:9d} "
              f"{vector['attentionScaling']!r:>20} {len(vector['cases']):5d} {chk.count:7d}  {status}{extra}")
        for message in chk.failures[:5]:
            print(f"    {message}")
        failed += bool(chk.failures)
    print(f"{len(paths)} vector files, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
