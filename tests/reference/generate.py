#!/usr/bin/env python3
"""Generate arbitrary-precision RoPE reference vectors.

Reads every Hugging Face style config in web/presets/*.json and
tests/reference/edge-configs/*.json, computes inverse frequencies and cos/sin
tables with mpmath at 50 significant digits, and writes one JSON file per
config to tests/reference/vectors/. Every value is the exact result rounded
once to the nearest double. The output is deterministic, so running this
again must leave `git diff` empty.

Usage (from the repository root):
    python3 tests/reference/generate.py          # rewrite the vectors
    python3 tests/reference/generate.py --check  # compare, write nothing

Only the standard library and mpmath are used. Nothing here calls the C/WASM
library that these vectors test.
"""

import json
import random
import sys
import zlib
from pathlib import Path

import mpmath
from mpmath import mp, mpf

mp.dps = 50

REPO_ROOT = Path(__file__).resolve().parents[2]
REFERENCE_DIR = REPO_ROOT / "tests" / "reference"
CONFIG_DIRS = [REPO_ROOT / "web" / "presets", REFERENCE_DIR / "edge-configs"]
VECTOR_DIR = REFERENCE_DIR / "vectors"

# Positions the CLI tabulates by default, so seqLen is max + 1 = 2^20.
CLI_DEFAULT_POSITIONS = [0, 1, 4095, 4096, 131071, 1048575]
# Powers of two, their neighbours and 2^20 itself.
BOUNDARY_POSITIONS = [0, 1, 2, 3, 7, 100, 1000, 8191, 8192, 65535, 65536,
                      262143, 524287, 1048576]
# Positions for the seqLen-dependent cases, kept below each case's seqLen.
SMALL_POSITIONS = [0, 1, 2, 100, 1000]
RANDOM_POSITION_COUNT = 16
RANDOM_POSITION_MAX = 2 ** 20
RANDOM_SEED = 20240917


# ---------------------------------------------------------------------------
# Config parsing
# ---------------------------------------------------------------------------

class RopeConfig:
    """Fields of a model config that determine its rotary embedding."""

    def __init__(self, raw):
        self.raw = raw
        self.model_type = raw.get("model_type", "")

        # Head size: explicit head_dim, else hidden/heads. GPT-J names them
        # n_embd and n_head.
        if raw.get("head_dim") is not None:
            self.head_dim = int(raw["head_dim"])
        elif "hidden_size" in raw:
            self.head_dim = raw["hidden_size"] // raw["num_attention_heads"]
        else:
            self.head_dim = raw["n_embd"] // raw["n_head"]

        # Rotary width: GPT-J states it directly. Otherwise the fraction is
        # applied in double precision and truncated, as Python int() does
        # (int(80 * 0.4) == 32, although 80 * 0.4 prints as 32.0).
        if raw.get("rotary_dim") is not None:
            self.rotary_dim = int(raw["rotary_dim"])
        else:
            fraction = (raw.get("partial_rotary_factor")
                        or raw.get("rotary_pct") or 1.0)
            self.rotary_dim = int(self.head_dim * float(fraction))
        if self.rotary_dim < 2 or self.rotary_dim % 2:
            raise ValueError(f"rotary_dim must be even and >= 2, got {self.rotary_dim}")

        self.pairing = "interleaved" if self.model_type == "gptj" else "half"
        self.max_pos = raw.get("max_position_embeddings", raw.get("n_positions"))

        # Legacy configs use rope_scaling. Newer ones use rope_parameters,
        # which may also contain rope_theta.
        scaling = raw.get("rope_scaling")
        if scaling is None:
            scaling = raw.get("rope_parameters")
        self.scaling = scaling or {}

        # NOTE: when both rope_parameters.rope_theta and a top-level
        # rope_theta exist, the one inside rope_parameters wins here. No
        # config in the inputs sets both.
        if self.scaling.get("rope_theta") is not None:
            self.base_raw = self.scaling["rope_theta"]
        elif raw.get("rope_theta") is not None:
            self.base_raw = raw["rope_theta"]
        elif raw.get("rotary_emb_base") is not None:
            self.base_raw = raw["rotary_emb_base"]
        else:
            self.base_raw = 10000
        # JSON numbers are doubles, so mpf(float) is the exact value the
        # library reads.
        self.base = mpf(self.base_raw)

        rope_type = self.scaling.get("rope_type") or self.scaling.get("type") or "default"
        self.rope_type = "longrope" if rope_type == "su" else rope_type

        self.original_max_pos = self.scaling.get("original_max_position_embeddings")
        if self.original_max_pos is None:
            self.original_max_pos = raw.get("original_max_position_embeddings")

    def param(self, key, default=None):
        """Return scaling[key] as an exact mpf, or default when absent/null."""
        value = self.scaling.get(key)
        return default if value is None else mpf(value)


# ---------------------------------------------------------------------------
# Frequency rules. Each returns (inv_freq list of mpf, attention scaling).
# theta_i = base^(-2i/d) for i = 0 .. d/2 - 1, with d = rotary_dim.
# ---------------------------------------------------------------------------

def base_frequencies(base, rotary_dim):
    """Return theta_i = base^(-2i/rotary_dim), the unscaled RoPE frequencies.

    Source: Su et al. 2021, RoFormer.
    """
    return [mpmath.power(base, -mpf(2 * i) / rotary_dim)
            for i in range(rotary_dim // 2)]


def rope_default(cfg, seq_len):
    # Source: Su et al. 2021; transformers _compute_default_rope_parameters.
    return base_frequencies(cfg.base, cfg.rotary_dim), mpf(1)


def rope_linear(cfg, seq_len):
    # Linear position interpolation: scaling positions by 1/factor equals
    # scaling every frequency by 1/factor.
    # Source: transformers _compute_linear_scaling_rope_parameters.
    factor = cfg.param("factor")
    return [t / factor for t in base_frequencies(cfg.base, cfg.rotary_dim)], mpf(1)


def rope_dynamic(cfg, seq_len):
    # Dynamic NTK scaling: past max_position_embeddings the base grows to
    # base * (factor * L / L_max - (factor - 1)) ^ (d / (d - 2)).
    # Source: transformers _compute_dynamic_ntk_parameters.
    factor = cfg.param("factor")
    d = cfg.rotary_dim
    if d == 2:
        raise ValueError("dynamic NTK is undefined for rotary_dim 2 (exponent d/(d-2))")
    base = cfg.base
    if seq_len > cfg.max_pos:
        growth = factor * mpf(seq_len) / cfg.max_pos - (factor - 1)
        base = base * mpmath.power(growth, mpf(d) / (d - 2))
    return base_frequencies(base, d), mpf(1)


def yarn_mscale(scale, mscale=1):
    """Return the YaRN attention temperature 0.1 * m * ln(s) + 1 (1 for s <= 1).

    Source: Peng et al. 2023, YaRN (sqrt(1/t) = 0.1 ln s + 1), and the
    mscale argument as in transformers get_mscale.
    """
    if scale <= 1:
        return mpf(1)
    return mpf("0.1") * mscale * mpmath.log(scale) + 1


def yarn_correction_dim(num_rotations, rotary_dim, base, original_max_pos):
    """Return the dimension index whose wavelength fits num_rotations times
    into original_max_pos: d * ln(L / (2 pi r)) / (2 ln base).

    Source: Peng et al. 2023, YaRN (wavelength/rotation relation solved
    for the dimension); transformers find_correction_dim.
    """
    return (rotary_dim * mpmath.log(mpf(original_max_pos) / (num_rotations * 2 * mp.pi))
            / (2 * mpmath.log(base)))


def rope_yarn(cfg, seq_len):
    # YaRN "NTK-by-parts": dimensions that rotate more than beta_fast times in
    # the original context keep theta_i, dimensions that rotate fewer than
    # beta_slow times use theta_i / factor, and a linear ramp blends between.
    # Sources: Peng et al. 2023, YaRN; transformers _compute_yarn_parameters.
    # NOTE: the truncate option, the mscale/mscale_all_dim ratio and the use
    # of the configured factor (never max/original) follow the rules this
    # library specifies for the current transformers release.
    factor = cfg.param("factor")
    d = cfg.rotary_dim
    original = cfg.original_max_pos or cfg.max_pos
    beta_fast = cfg.param("beta_fast", mpf(32))
    beta_slow = cfg.param("beta_slow", mpf(1))
    truncate = cfg.scaling.get("truncate")
    truncate = True if truncate is None else bool(truncate)

    attention = cfg.param("attention_factor")
    if attention is None:
        mscale = cfg.param("mscale")
        mscale_all_dim = cfg.param("mscale_all_dim")
        if mscale and mscale_all_dim:
            attention = yarn_mscale(factor, mscale) / yarn_mscale(factor, mscale_all_dim)
        else:
            attention = yarn_mscale(factor)

    low = yarn_correction_dim(beta_fast, d, cfg.base, original)
    high = yarn_correction_dim(beta_slow, d, cfg.base, original)
    if truncate:
        low, high = mpmath.floor(low), mpmath.ceil(high)
    low = max(low, mpf(0))
    high = min(high, mpf(d - 1))
    if low == high:
        high += mpf("0.001")  # avoids 0/0 in the ramp

    inv_freq = []
    for i, theta in enumerate(base_frequencies(cfg.base, d)):
        ramp = min(max((i - low) / (high - low), mpf(0)), mpf(1))
        extrapolation_weight = 1 - ramp
        inv_freq.append((theta / factor) * (1 - extrapolation_weight)
                        + theta * extrapolation_weight)
    return inv_freq, attention


def longrope_parameters(cfg):
    """Return (original length, factor) for LongRoPE.

    Phi-3 style configs give original_max_position_embeddings, and the
    factor is then max_position_embeddings / original. Without it the
    original length is max_position_embeddings and the factor is
    scaling["factor"] (default 1).
    Source: transformers _compute_longrope_parameters.
    """
    if cfg.original_max_pos is not None:
        return cfg.original_max_pos, mpf(cfg.max_pos) / cfg.original_max_pos
    return cfg.max_pos, cfg.param("factor", mpf(1))


def rope_longrope(cfg, seq_len):
    # LongRoPE: per-dimension rescale factors found by search, one list for
    # sequences within the original context (short) and one beyond it (long).
    # attention = sqrt(1 + ln(factor) / ln(L_orig)).
    # Sources: Ding et al. 2024, LongRoPE; transformers
    # _compute_longrope_parameters, including its switch on seq_len.
    original, factor = longrope_parameters(cfg)
    attention = cfg.param("attention_factor")
    if attention is None:
        if factor <= 1:
            attention = mpf(1)
        else:
            attention = mpmath.sqrt(1 + mpmath.log(factor) / mpmath.log(original))
    key = "long_factor" if seq_len > original else "short_factor"
    rescale = cfg.scaling[key]
    thetas = base_frequencies(cfg.base, cfg.rotary_dim)
    if len(rescale) != len(thetas):
        raise ValueError(f"{key} has {len(rescale)} entries, expected {len(thetas)}")
    return [t / mpf(r) for t, r in zip(thetas, rescale)], attention


def llama3_band(cfg, theta):
    """Return "high", "low" or "middle" for a frequency under Llama 3.1 rules.

    Wavelength 2 pi / theta below L_orig / high_freq_factor is "high" (kept),
    above L_orig / low_freq_factor is "low" (divided by factor), and
    everything between, edges included, is "middle" (blended).
    """
    original = mpf(cfg.scaling["original_max_position_embeddings"])
    wavelen = 2 * mp.pi / theta
    if wavelen < original / cfg.param("high_freq_factor"):
        return "high"
    if wavelen > original / cfg.param("low_freq_factor"):
        return "low"
    return "middle"


def rope_llama3(cfg, seq_len):
    # Llama 3.1 frequency scaling: keep high frequencies, divide low ones by
    # factor, blend linearly in 1/wavelength between the two cut-offs.
    # Source: Llama 3.1 scaling as in transformers _compute_llama3_parameters.
    factor = cfg.param("factor")
    low_ff = cfg.param("low_freq_factor")
    high_ff = cfg.param("high_freq_factor")
    original = mpf(cfg.scaling["original_max_position_embeddings"])
    inv_freq = []
    for theta in base_frequencies(cfg.base, cfg.rotary_dim):
        band = llama3_band(cfg, theta)
        if band == "high":
            inv_freq.append(theta)
        elif band == "low":
            inv_freq.append(theta / factor)
        else:
            wavelen = 2 * mp.pi / theta
            smooth = (original / wavelen - low_ff) / (high_ff - low_ff)
            inv_freq.append((1 - smooth) * theta / factor + smooth * theta)
    return inv_freq, mpf(1)


ROPE_RULES = {
    "default": rope_default,
    "linear": rope_linear,
    "dynamic": rope_dynamic,
    "yarn": rope_yarn,
    "longrope": rope_longrope,
    "llama3": rope_llama3,
}
LENGTH_DEPENDENT = {"dynamic", "longrope"}


# ---------------------------------------------------------------------------
# Cases and output
# ---------------------------------------------------------------------------

def to_double(x):
    """Round an mpf to the nearest double (ties to even)."""
    return float(x)


def random_positions(name):
    """Return 16 positions in [0, 2^20], fixed per config name."""
    rng = random.Random(RANDOM_SEED ^ zlib.crc32(name.encode()))
    return [rng.randint(0, RANDOM_POSITION_MAX) for _ in range(RANDOM_POSITION_COUNT)]


def length_dependent_seq_lens(cfg):
    """Return the seqLen values around the switch points of dynamic/longrope."""
    max_pos = cfg.max_pos
    if cfg.rope_type == "longrope":
        original, _ = longrope_parameters(cfg)
        if original < max_pos:
            return [original, original + 1, (original + max_pos) // 2, max_pos]
    return [max_pos, max_pos + 1, 2 * max_pos]


def build_cases(cfg, name):
    """Return [(seq_len, positions)] for one config."""
    cases = [(max(CLI_DEFAULT_POSITIONS) + 1, CLI_DEFAULT_POSITIONS),
             (max(BOUNDARY_POSITIONS) + 1, BOUNDARY_POSITIONS)]
    if cfg.rope_type in LENGTH_DEPENDENT:
        for seq_len in length_dependent_seq_lens(cfg):
            small = [p for p in SMALL_POSITIONS if p < seq_len] + [seq_len - 1]
            cases.append((seq_len, sorted(set(small))))
    rand = random_positions(name)
    cases.append((max(rand) + 1, rand))
    return cases


def compute_case(cfg, seq_len, positions):
    inv_freq, attention = ROPE_RULES[cfg.rope_type](cfg, seq_len)
    cos_rows, sin_rows = [], []
    for p in positions:
        angles = [mpf(p) * f for f in inv_freq]
        cos_rows.append([to_double(attention * mpmath.cos(a)) for a in angles])
        sin_rows.append([to_double(attention * mpmath.sin(a)) for a in angles])
    return attention, {
        "seqLen": seq_len,
        "invFreq": [to_double(f) for f in inv_freq],
        "positions": list(positions),
        "cos": cos_rows,
        "sin": sin_rows,
    }


def build_vector(config_path):
    raw = json.loads(config_path.read_text())
    cfg = RopeConfig(raw)
    if cfg.rope_type not in ROPE_RULES:
        raise ValueError(f"{config_path}: unknown rope type {cfg.rope_type!r}")
    name = config_path.stem
    cases, attentions = [], set()
    for seq_len, positions in build_cases(cfg, name):
        attention, case = compute_case(cfg, seq_len, positions)
        attentions.add(to_double(attention))
        cases.append(case)
    # Attention scaling depends on the config only, never on seqLen.
    assert len(attentions) == 1, attentions
    vector = {
        "name": name,
        "configFile": config_path.relative_to(REPO_ROOT).as_posix(),
        "ropeType": cfg.rope_type,
        "headDim": cfg.head_dim,
        "rotaryDim": cfg.rotary_dim,
        "pairing": cfg.pairing,
        "base": cfg.base_raw,
        "maxPositionEmbeddings": cfg.max_pos,
        "attentionScaling": attentions.pop(),
        "cases": cases,
    }
    if cfg.rope_type == "longrope":
        vector["originalMaxPositionEmbeddings"] = longrope_parameters(cfg)[0]
    elif cfg.original_max_pos is not None:
        vector["originalMaxPositionEmbeddings"] = cfg.original_max_pos
    return vector


def render(vector):
    """Serialize a vector file: top-level keys one per line, one table row
    per line, numbers as the shortest repr that round-trips the double."""
    lines = ["{"]
    top = [k for k in vector if k != "cases"]
    for key in top:
        lines.append(f"  {json.dumps(key)}: {json.dumps(vector[key])},")
    lines.append('  "cases": [')
    for n, case in enumerate(vector["cases"]):
        lines.append("    {")
        lines.append(f'      "seqLen": {case["seqLen"]},')
        lines.append(f'      "positions": {json.dumps(case["positions"])},')
        lines.append(f'      "invFreq": {json.dumps(case["invFreq"])},')
        for table in ("cos", "sin"):
            rows = ",\n        ".join(json.dumps(row) for row in case[table])
            end = "," if table == "cos" else ""
            lines.append(f'      "{table}": [\n        {rows}\n      ]{end}')
        lines.append("    }" + ("," if n + 1 < len(vector["cases"]) else ""))
    lines.append("  ]")
    lines.append("}")
    return "\n".join(lines) + "\n"


def config_paths():
    return [p for d in CONFIG_DIRS for p in sorted(d.glob("*.json"))]


def main(argv):
    check_only = "--check" in argv[1:]
    VECTOR_DIR.mkdir(parents=True, exist_ok=True)
    stale = []
    names = set()
    for path in config_paths():
        if path.stem in names:
            raise ValueError(f"two configs are named {path.stem}")
        names.add(path.stem)
        text = render(build_vector(path))
        out = VECTOR_DIR / f"{path.stem}.json"
        if check_only:
            if not out.exists() or out.read_text() != text:
                stale.append(out)
        else:
            out.write_text(text)
    orphans = [p for p in sorted(VECTOR_DIR.glob("*.json")) if p.stem not in names]
    if check_only:
        for p in stale + orphans:
            print(f"out of date: {p.relative_to(REPO_ROOT)}")
        print(f"{len(names)} configs, {len(stale) + len(orphans)} vector files out of date")
        return 1 if stale or orphans else 0
    for p in orphans:
        p.unlink()
    print(f"wrote {len(names)} vector files to {VECTOR_DIR.relative_to(REPO_ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
