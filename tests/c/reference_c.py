#!/usr/bin/env python3
"""Convert the RoPE reference vectors into one plain-text file for C tests.

Reads every tests/reference/vectors/*.json, opens the Hugging Face
config.json that each vector names in "configFile", maps its keys to the
fields of the C struct rope_params, and writes a token stream that
tests/c/test_api.c parses with fscanf and strtod.

The key mapping is done here from the config, not copied from the vector
header, so that a mistake in the mapping shows up as a mismatch. Every
value that the vector header also states (head and rotary width, pairing,
base, context lengths) is checked against it, and the script stops on any
difference.

Usage (from the repository root):
    python3 tests/c/reference_c.py OUTPUT_FILE

Standard library only. Doubles are written with repr(), the shortest
decimal that reads back to the same double, so strtod in C recovers every
value exactly.
"""

import json
import math
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
VECTOR_DIR = REPO_ROOT / "tests" / "reference" / "vectors"

# Values of the C enums in c/rope.h.
TYPE_IDS = {"default": 0, "linear": 1, "dynamic": 2, "yarn": 3, "longrope": 4, "llama3": 5}
PAIRING_IDS = {"half": 0, "interleaved": 1}

NAN = float("nan")


def fmt(x):
    """Return the shortest round-trip decimal of a double, or nan for an unset field."""
    x = float(x)
    if math.isnan(x):
        return "nan"
    return repr(x)


def present(mapping, key):
    return mapping.get(key) is not None


def to_params(raw):
    """Map one config.json to a dict named after the rope_params fields.

    The rules are those of tests/reference/README.md:
    - head_dim, else hidden_size // num_attention_heads, else n_embd // n_head;
    - rotary_dim, else head_dim times partial_rotary_factor or rotary_pct,
      truncated;
    - the scaling dict is rope_scaling, else rope_parameters;
    - rope_theta inside it wins over the top-level rope_theta, then
      rotary_emb_base, then 10000;
    - the legacy type "su" is "longrope", and GPT-J pairs interleaved.
    """
    if present(raw, "head_dim"):
        head_dim = int(raw["head_dim"])
    elif "hidden_size" in raw:
        head_dim = raw["hidden_size"] // raw["num_attention_heads"]
    else:
        head_dim = raw["n_embd"] // raw["n_head"]

    if present(raw, "rotary_dim"):
        rotary_dim = int(raw["rotary_dim"])
    else:
        fraction = raw.get("partial_rotary_factor") or raw.get("rotary_pct") or 1.0
        rotary_dim = int(head_dim * float(fraction))

    scaling = raw.get("rope_scaling")
    if scaling is None:
        scaling = raw.get("rope_parameters")
    scaling = scaling or {}

    if present(scaling, "rope_theta"):
        base = scaling["rope_theta"]
    elif present(raw, "rope_theta"):
        base = raw["rope_theta"]
    elif present(raw, "rotary_emb_base"):
        base = raw["rotary_emb_base"]
    else:
        base = 10000

    rope_type = scaling.get("rope_type") or scaling.get("type") or "default"
    if rope_type == "su":
        rope_type = "longrope"
    if rope_type not in TYPE_IDS:
        raise ValueError(f"unknown rope type {rope_type!r}")

    max_pos = raw.get("max_position_embeddings", raw.get("n_positions")) or 0
    original = scaling.get("original_max_position_embeddings")
    if original is None:
        original = raw.get("original_max_position_embeddings")
    original = original or 0

    def num(key, unset):
        value = scaling.get(key)
        return unset if value is None else float(value)

    factor = num("factor", NAN)
    # LongRoPE without an original length reads factor. transformers
    # defaults it to 1 when the config leaves it out, but the C library has
    # no default there and would report it missing.
    if rope_type == "longrope" and not original and math.isnan(factor):
        factor = 1.0

    truncate = scaling.get("truncate")
    short = scaling.get("short_factor") if rope_type == "longrope" else None
    long_ = scaling.get("long_factor") if rope_type == "longrope" else None

    return {
        "type": rope_type,
        "pairing": "interleaved" if raw.get("model_type") == "gptj" else "half",
        "head_dim": head_dim,
        "rotary_dim": rotary_dim,
        "base": float(base),
        "factor": factor,
        "max_position_embeddings": int(max_pos),
        "original_max_position_embeddings": int(original),
        "beta_fast": num("beta_fast", 32.0),
        "beta_slow": num("beta_slow", 1.0),
        "mscale": num("mscale", 0.0),
        "mscale_all_dim": num("mscale_all_dim", 0.0),
        "attention_factor": num("attention_factor", NAN),
        "truncate": 1 if truncate is None else int(bool(truncate)),
        "low_freq_factor": num("low_freq_factor", NAN),
        "high_freq_factor": num("high_freq_factor", NAN),
        "short_factor": [float(v) for v in short] if short is not None else None,
        "long_factor": [float(v) for v in long_] if long_ is not None else None,
    }


def cross_check(name, params, vector):
    """Stop when the mapped config disagrees with the vector's own header."""
    expected = {
        "type": vector["ropeType"],
        "pairing": vector["pairing"],
        "head_dim": vector["headDim"],
        "rotary_dim": vector["rotaryDim"],
        "base": float(vector["base"]),
        "max_position_embeddings": vector["maxPositionEmbeddings"] or 0,
    }
    for key, value in expected.items():
        if params[key] != value:
            raise ValueError(f"{name}: {key} maps to {params[key]!r}, vector says {value!r}")
    # For LongRoPE the vector states an original length even when the
    # config has none, and it is then max_position_embeddings. The C field
    # stays 0 in that case.
    stated = vector.get("originalMaxPositionEmbeddings")
    mapped = params["original_max_position_embeddings"]
    if mapped and stated != mapped:
        raise ValueError(f"{name}: original length maps to {mapped}, vector says {stated}")
    if not mapped and stated is not None and not (
            params["type"] == "longrope" and stated == params["max_position_embeddings"]):
        raise ValueError(f"{name}: vector states original length {stated}, config has none")


def write_list(out, key, values):
    out.append(" ".join([key, str(len(values))] + [fmt(v) for v in values]))


def convert(vector_path, out):
    vector = json.loads(vector_path.read_text())
    name = vector["name"]
    raw = json.loads((REPO_ROOT / vector["configFile"]).read_text())
    p = to_params(raw)
    cross_check(name, p, vector)

    out.append(f"vector {name}")
    out.append(f"type {TYPE_IDS[p['type']]} {p['type']}")
    out.append(f"pairing {PAIRING_IDS[p['pairing']]}")
    for key in ("head_dim", "rotary_dim", "max_position_embeddings",
                "original_max_position_embeddings", "truncate"):
        out.append(f"{key} {p[key]}")
    for key in ("base", "factor", "beta_fast", "beta_slow", "mscale", "mscale_all_dim",
                "attention_factor", "low_freq_factor", "high_freq_factor"):
        out.append(f"{key} {fmt(p[key])}")
    write_list(out, "short_factor", p["short_factor"] or [])
    write_list(out, "long_factor", p["long_factor"] or [])
    out.append(f"attention_scaling {fmt(vector['attentionScaling'])}")

    n_pairs = p["rotary_dim"] // 2
    out.append(f"cases {len(vector['cases'])}")
    for case in vector["cases"]:
        positions = case["positions"]
        if len(case["invFreq"]) != n_pairs:
            raise ValueError(f"{name}: invFreq has {len(case['invFreq'])} entries, "
                             f"expected {n_pairs}")
        out.append(f"case {case['seqLen']} {len(positions)}")
        out.append("positions " + " ".join(str(int(v)) for v in positions))
        write_list(out, "inv_freq", case["invFreq"])
        for table in ("cos", "sin"):
            if len(case[table]) != len(positions):
                raise ValueError(f"{name}: {table} has {len(case[table])} rows")
            for row in case[table]:
                write_list(out, table, row)
    out.append("end")


def main(argv):
    if len(argv) != 2:
        print("usage: reference_c.py OUTPUT_FILE", file=sys.stderr)
        return 2
    paths = sorted(VECTOR_DIR.glob("*.json"))
    if not paths:
        print(f"no vectors under {VECTOR_DIR}", file=sys.stderr)
        return 1
    out = [f"vectors {len(paths)}"]
    for path in paths:
        convert(path, out)
    target = Path(argv[1])
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text("\n".join(out) + "\n")
    print(f"wrote {len(paths)} vectors to {target}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
