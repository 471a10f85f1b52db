// Properties of RoPE that hold for any input, checked on seeded random
// tensors: norms, position 0, relative positions, composition, pass-through
// slots, both pairings and positions that are not 0 .. n-1.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { loadRopeModule } from '../../web/rope.js';
import {
  assertClose, assertSameBits, makeRng, norm, pairSlots, plantPassThrough, rotateReference,
} from './support.mjs';

// Option sets that cover every pairing kernel path: pair counts that are a
// multiple of 8, 8 + 4 + 1 (SIMD main loop, 4-pair step and remainder),
// 3 (remainder only) and 1, with and without pass-through slots.
const CONFIGS = {
  default: { headDim: 64 },
  linear: { ropeType: 'linear', headDim: 64, factor: 4 },
  llama3: {
    ropeType: 'llama3', headDim: 64, base: 500000, factor: 8, lowFreqFactor: 1, highFreqFactor: 4,
    originalMaxPositionEmbeddings: 8192, maxPositionEmbeddings: 131072,
  },
  yarn: { ropeType: 'yarn', headDim: 32, base: 1e6, factor: 4, originalMaxPositionEmbeddings: 8192, maxPositionEmbeddings: 32768 },
  dynamic: { ropeType: 'dynamic', headDim: 32, factor: 2, maxPositionEmbeddings: 4096 },
  longrope: {
    ropeType: 'longrope', headDim: 8, maxPositionEmbeddings: 16384, originalMaxPositionEmbeddings: 4096,
    shortFactor: [1, 1.5, 2, 3], longFactor: [1, 4, 16, 32],
  },
  'half partial 13 pairs': { headDim: 40, rotaryDim: 26 },
  'interleaved partial 13 pairs': { headDim: 40, rotaryDim: 26, pairing: 'interleaved' },
  'interleaved 3 pairs': { headDim: 10, rotaryDim: 6, pairing: 'interleaved' },
  'half 1 pair': { headDim: 4, rotaryDim: 2 },
};

// A rotation scales each pair by attentionScaling * sqrt(c^2 + s^2) where
// c, s are float32 roundings of cos, sin (off by up to 2^-24 each), then
// the products and the sum round once more: about 3e-7 relative, so 1e-6.
const NORM_REL = 1e-6;
// q_m . k_n for unit-scale vectors of dimension d: every rotated element is
// off by a few 1e-7 of its pair norm, so the dot product moves by under
// 1e-6 * |q| |k| (Cauchy-Schwarz). 1e-5 * s^2 |q| |k| keeps a 10x margin.
const DOT_REL = 1e-5;
// Two rotations in float32 against one: each call adds a few 1e-7 of the
// pair norm, so 2e-6 of the pair norm.
const COMPOSE_REL = 2e-6;

const BACKENDS = ['simd128', 'scalar'];

function dot(a, b) {
  let sum = 0;
  for (let i = 0; i < a.length; i++) sum += a[i] * b[i];
  return sum;
}

/** Rotates a copy of one head vector x to `position`. */
function rotated(rope, x, position, seqLen) {
  const copy = x.slice();
  rope.apply({ q: copy, nQHeads: 1, positions: [position], seqLen });
  return copy;
}

for (const backend of BACKENDS) {
  describe(`RoPE properties, ${backend} build`, async () => {
    const module = await loadRopeModule({ backend });

    for (const [name, options] of Object.entries(CONFIGS)) {
      it(`${name}: each pair's norm grows by exactly attentionScaling`, () => {
        const rope = module.createRope(options);
        try {
          const rng = makeRng(1);
          const positions = [0, 1, 7, 4095, 4096, 65537, 1048575, 2147483647];
          const nHeads = 3;
          const x = rng.float32Array(positions.length * nHeads * rope.headDim);
          const input = x.slice();
          rope.apply({ q: x, nQHeads: nHeads, positions, seqLen: 1 << 20 });
          for (let v = 0; v < positions.length * nHeads; v++) {
            for (let i = 0; i < rope.rotaryDim / 2; i++) {
              const [lo, hi] = pairSlots(rope.pairing, rope.rotaryDim, i).map((j) => v * rope.headDim + j);
              const before = Math.hypot(input[lo], input[hi]);
              const after = Math.hypot(x[lo], x[hi]);
              const expected = rope.attentionScaling * before;
              assert.ok(Math.abs(after - expected) <= NORM_REL * expected,
                `vector ${v} pair ${i}: norm ${after}, expected ${expected} (attentionScaling ${rope.attentionScaling})`);
            }
          }
        } finally {
          rope.free();
        }
      });

      it(`${name}: position 0 multiplies by attentionScaling and leaves pass-through slots bit-identical`, () => {
        const rope = module.createRope(options);
        try {
          const rng = makeRng(2);
          const nTokens = 3;
          const x = rng.float32Array(nTokens * 2 * rope.headDim);
          const passIndices = plantPassThrough(x, rope.headDim, rope.rotaryDim);
          const input = x.slice();
          rope.apply({ q: x, nQHeads: 2, positions: [0, 0, 0] });
          const s = rope.attentionScaling;
          if (s === 1) {
            // cos 0 = 1 and sin 0 = 0 exactly, so a*1 - b*0 = a with no rounding.
            assertSameBits(x, input, 'position 0 slot');
          } else {
            // One float32 rounding of s and one of the product: 2 * 2^-24 relative.
            const rotary = [];
            for (let j = 0; j < x.length; j++) if (j % rope.headDim < rope.rotaryDim) rotary.push(j);
            assertClose(rotary.map((j) => x[j]), rotary.map((j) => s * input[j]),
              (i) => 2.4e-7 * Math.abs(s * input[rotary[i]]), 'position 0 rotary slot (in rotary order)');
            assertSameBits(x, input, 'position 0 pass-through slot', passIndices);
          }
        } finally {
          rope.free();
        }
      });

      it(`${name}: apply equals the float32 rotation of table() bit for bit, both layouts`, () => {
        // Every kernel forms a*c - b*s and a*s + b*c in float32 with no fused
        // multiply-add (build.sh: -ffp-contract=off), so a JavaScript
        // emulation with Math.fround on the same table rounds identically.
        const rope = module.createRope(options);
        try {
          const rng = makeRng(3);
          const positions = [5, 0, 4096, 3, 3, 131071, 1];
          const nHeads = 2;
          const half = rope.rotaryDim / 2;
          const { cos, sin } = rope.table(positions, 1 << 17);
          for (const layout of ['thd', 'htd']) {
            const x = rng.float32Array(positions.length * nHeads * rope.headDim);
            const expected = x.slice();
            for (let t = 0; t < positions.length; t++) {
              for (let h = 0; h < nHeads; h++) {
                const base = (layout === 'thd' ? t * nHeads + h : h * positions.length + t) * rope.headDim;
                for (let i = 0; i < half; i++) {
                  const [lo, hi] = pairSlots(rope.pairing, rope.rotaryDim, i);
                  const a = x[base + lo];
                  const b = x[base + hi];
                  const c = cos[t * half + i];
                  const s = sin[t * half + i];
                  expected[base + lo] = Math.fround(Math.fround(a * c) - Math.fround(b * s));
                  expected[base + hi] = Math.fround(Math.fround(a * s) + Math.fround(b * c));
                }
              }
            }
            rope.apply({ q: x, nQHeads: nHeads, positions, layout, seqLen: 1 << 17 });
            assertSameBits(x, expected, `${layout} slot`);
          }
        } finally {
          rope.free();
        }
      });

      it(`${name}: pair (2i, 2i+1) or (i, i + rotaryDim/2) is what rotates`, () => {
        // One nonzero slot j at position p must move only into its partner.
        const rope = module.createRope(options);
        try {
          const half = rope.rotaryDim / 2;
          const position = 3;
          const { cos, sin } = rope.table([position]);
          for (let i = 0; i < half; i++) {
            const [lo, hi] = pairSlots(rope.pairing, rope.rotaryDim, i);
            const x = new Float32Array(rope.headDim);
            x[lo] = 1;
            rope.apply({ q: x, nQHeads: 1, positions: [position] });
            const expected = new Float32Array(rope.headDim);
            expected[lo] = cos[i];
            expected[hi] = sin[i];
            // Compared as numbers: 0 * cos can round to -0 in the other slots.
            assertClose(x, expected, 0, `pair ${i} (slots ${lo}, ${hi}) slot`);
          }
        } finally {
          rope.free();
        }
      });
    }

    for (const name of ['default', 'linear', 'llama3', 'yarn']) {
      it(`${name}: q_m . k_n depends only on m - n`, () => {
        const rope = module.createRope(CONFIGS[name]);
        try {
          const rng = makeRng(4);
          const s2 = rope.attentionScaling ** 2;
          for (let trial = 0; trial < 40; trial++) {
            const q = rng.float32Array(rope.headDim);
            const k = rng.float32Array(rope.headDim);
            const m = rng.int(0, 1 << 20);
            const n = rng.int(0, 1 << 20);
            const shift = rng.int(1, 1 << 20);
            const seqLen = 1 << 22; // fixed, although these types do not read it
            const d1 = dot(rotated(rope, q, m, seqLen), rotated(rope, k, n, seqLen));
            const d2 = dot(rotated(rope, q, m + shift, seqLen), rotated(rope, k, n + shift, seqLen));
            const bound = DOT_REL * s2 * norm(q) * norm(k);
            assert.ok(Math.abs(d1 - d2) <= bound,
              `trial ${trial} (m ${m}, n ${n}, shift ${shift}): q.k ${d1} vs shifted ${d2} (|diff| ${Math.abs(d1 - d2)} > ${bound})`);
          }
        } finally {
          rope.free();
        }
      });
    }

    it('default: rotating by p1 then by p2 equals rotating by p1 + p2', () => {
      for (const options of [CONFIGS.default, CONFIGS['interleaved partial 13 pairs']]) {
        const rope = module.createRope(options);
        try {
          const rng = makeRng(5);
          const nTokens = 8;
          const p1 = Array.from({ length: nTokens }, () => rng.int(0, 1 << 20));
          const p2 = Array.from({ length: nTokens }, () => rng.int(0, 1 << 20));
          const sum = p1.map((p, t) => p + p2[t]);
          const x = rng.float32Array(nTokens * 2 * rope.headDim);
          const twice = x.slice();
          const once = x.slice();
          rope.apply({ q: twice, nQHeads: 2, positions: p1 });
          rope.apply({ q: twice, nQHeads: 2, positions: p2 });
          rope.apply({ q: once, nQHeads: 2, positions: sum });
          assertClose(twice, once, (j) => {
            const v = j - (j % rope.headDim);
            const slot = j % rope.headDim;
            if (slot >= rope.rotaryDim) return 0;
            const [lo, hi] = pairSlots(rope.pairing, rope.rotaryDim, rope.pairing === 'half' ? slot % (rope.rotaryDim / 2) : slot >> 1);
            return COMPOSE_REL * Math.hypot(x[v + lo], x[v + hi]);
          }, `${rope.pairing} headDim ${rope.headDim} slot`);
        } finally {
          rope.free();
        }
      }
    });

    // Position lists as they occur in inference: a KV cache continuing at an
    // offset, left padding (pad tokens repeat position 0), packed sequences
    // that restart at 0, and an unsorted list.
    const POSITION_LISTS = {
      'KV-cache offset': [4093, 4094, 4095, 4096, 4097],
      'single decode step': [131071],
      'left padding': [0, 0, 0, 0, 1, 2, 3],
      'packed sequences': [0, 1, 2, 0, 1, 0, 1, 2, 3],
      unsorted: [9, 2, 2047, 0, 5],
    };
    for (const [listName, positions] of Object.entries(POSITION_LISTS)) {
      for (const name of ['default', 'yarn', 'dynamic', 'longrope', 'interleaved partial 13 pairs']) {
        it(`${name}, ${listName}: each token rotates as if it were alone, matching the table`, () => {
          const rope = module.createRope(CONFIGS[name]);
          try {
            const rng = makeRng(6);
            const nHeads = 2;
            const nKHeads = 1;
            const seqLen = 16384; // fixed so dynamic and longrope use one frequency set
            for (const layout of ['thd', 'htd']) {
              const q = rng.float32Array(positions.length * nHeads * rope.headDim);
              const k = rng.float32Array(positions.length * nKHeads * rope.headDim);
              const qIn = q.slice();
              rope.apply({ q, k, nQHeads: nHeads, nKHeads, positions, layout, seqLen });

              const { cos, sin } = rope.table(positions, seqLen);
              const half = rope.rotaryDim / 2;
              const row = (table) => (t) => Array.from(table.subarray(t * half, (t + 1) * half));
              const shape = { nTokens: positions.length, nHeads, headDim: rope.headDim, rotaryDim: rope.rotaryDim, pairing: rope.pairing, layout };
              const expected = rotateReference(qIn, shape, row(cos), row(sin));
              assertClose(q, expected, (j) => 1e-6 * Math.abs(expected[j]) + 1e-7, `${layout} q slot`);

              for (let t = 0; t < positions.length; t++) {
                for (let h = 0; h < nHeads; h++) {
                  const start = (layout === 'thd' ? t * nHeads + h : h * positions.length + t) * rope.headDim;
                  const alone = rotated(rope, qIn.subarray(start, start + rope.headDim), positions[t], seqLen);
                  assertSameBits(q.subarray(start, start + rope.headDim), alone, `${layout} token ${t} head ${h} slot`);
                }
              }
            }
          } finally {
            rope.free();
          }
        });
      }
    }

    it('dynamic and longrope: seqLen defaults to max(positions) + 1 in apply and table', () => {
      for (const name of ['dynamic', 'longrope']) {
        const rope = module.createRope(CONFIGS[name]);
        try {
          const positions = [0, 10, 9000, 3];
          const rng = makeRng(7);
          const x = rng.float32Array(positions.length * rope.headDim);
          const implicit = x.slice();
          const explicit = x.slice();
          const other = x.slice();
          rope.apply({ q: implicit, nQHeads: 1, positions });
          rope.apply({ q: explicit, nQHeads: 1, positions, seqLen: 9001 });
          rope.apply({ q: other, nQHeads: 1, positions, seqLen: 4096 });
          assertSameBits(implicit, explicit, `${name} apply slot`);
          assert.notDeepEqual(Array.from(other), Array.from(explicit), `${name}: seqLen 4096 should change the frequencies`);
          assertSameBits(rope.table(positions).cos, rope.table(positions, 9001).cos, `${name} table cos`);
        } finally {
          rope.free();
        }
      }
    });
  });
}
