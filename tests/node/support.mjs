// Shared helpers for the node test files: paths, reference vectors, a seeded
// PRNG, backend variants, a float64 rotation and element-wise comparisons
// whose failure messages name the index and both values.

import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

import { loadRopeModule } from '../../web/rope.js';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const PRESETS_DIR = `${ROOT}web/presets/`;
export const VECTORS_DIR = `${ROOT}tests/reference/vectors/`;

export function readJson(path) {
  return JSON.parse(readFileSync(path, 'utf8'));
}

export function listJson(dir) {
  return readdirSync(dir).filter((name) => name.endsWith('.json')).sort();
}

/** Every reference vector file, parsed, with the config it was made from. */
export function loadVectors() {
  return listJson(VECTORS_DIR).map((file) => {
    const vector = readJson(VECTORS_DIR + file);
    return { file, vector, config: readJson(ROOT + vector.configFile) };
  });
}

/**
 * The three ways apply() can run: each .wasm build with its default kernel,
 * and the SIMD128 build forced onto its scalar kernel. The forced variant
 * gets its own instance (passing the URL skips the per-backend cache), so
 * setKernel() on it leaves the shared SIMD128 module alone.
 */
export const VARIANTS = [
  { name: 'simd128 build, auto kernel', backend: 'simd128', kernel: 'simd128', load: () => loadRopeModule({ backend: 'simd128' }) },
  { name: 'scalar build', backend: 'scalar', kernel: 'scalar', load: () => loadRopeModule({ backend: 'scalar' }) },
  {
    name: 'simd128 build, scalar kernel',
    backend: 'simd128',
    kernel: 'scalar',
    load: async () => {
      const module = await loadRopeModule({
        backend: 'simd128',
        wasm: new URL('../../web/wasm/rope-simd128.wasm', import.meta.url).href,
      });
      module.setKernel('scalar');
      return module;
    },
  },
];

/** mulberry32: a small seeded 32-bit PRNG; next() is uniform in [0, 1). */
export function makeRng(seed) {
  let state = seed >>> 0;
  const next = () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return {
    next,
    /** Uniform in [-1, 1). */
    signed: () => 2 * next() - 1,
    /** Integer in [lo, hi]. */
    int: (lo, hi) => lo + Math.floor(next() * (hi - lo + 1)),
    float32Array(length) {
      const out = new Float32Array(length);
      for (let i = 0; i < length; i++) out[i] = 2 * next() - 1;
      return out;
    },
  };
}

/** Slots [lo, hi] of frequency pair i inside one head vector. */
export function pairSlots(pairing, rotaryDim, i) {
  return pairing === 'half' ? [i, i + rotaryDim / 2] : [2 * i, 2 * i + 1];
}

/** Offset of (token t, head h) in a tensor of the given layout. */
export function vectorOffset(layout, t, h, nTokens, nHeads, headDim) {
  return layout === 'thd' ? (t * nHeads + h) * headDim : (h * nTokens + t) * headDim;
}

/**
 * Rotates x (float64 result) the way apply() is specified to, with cos/sin
 * rows given per token: cosRows(t)[i] and sinRows(t)[i] are already scaled.
 * Slots >= rotaryDim are copied.
 */
export function rotateReference(x, { nTokens, nHeads, headDim, rotaryDim, pairing, layout }, cosRow, sinRow) {
  const out = Float64Array.from(x);
  for (let t = 0; t < nTokens; t++) {
    const c = cosRow(t);
    const s = sinRow(t);
    for (let h = 0; h < nHeads; h++) {
      const base = vectorOffset(layout, t, h, nTokens, nHeads, headDim);
      for (let i = 0; i < rotaryDim / 2; i++) {
        const [lo, hi] = pairSlots(pairing, rotaryDim, i);
        const a = x[base + lo];
        const b = x[base + hi];
        out[base + lo] = a * c[i] - b * s[i];
        out[base + hi] = a * s[i] + b * c[i];
      }
    }
  }
  return out;
}

/** Euclidean norm of x[start .. start + length). */
export function norm(x, start = 0, length = x.length) {
  let sum = 0;
  for (let i = start; i < start + length; i++) sum += x[i] * x[i];
  return Math.sqrt(sum);
}

/** Asserts |actual[i] - expected[i]| <= tolerance(i) for every i. */
export function assertClose(actual, expected, tolerance, label) {
  assert.equal(actual.length, expected.length, `${label}: length ${actual.length}, expected ${expected.length}`);
  const bound = typeof tolerance === 'function' ? tolerance : () => tolerance;
  for (let i = 0; i < expected.length; i++) {
    const diff = Math.abs(actual[i] - expected[i]);
    if (!(diff <= bound(i))) {
      assert.fail(`${label}[${i}]: got ${actual[i]}, expected ${expected[i]} (|diff| ${diff} > ${bound(i)})`);
    }
  }
}

/** Asserts |actual[i] / expected[i] - 1| <= rel for every i (exact match when expected[i] is 0). */
export function assertRelClose(actual, expected, rel, label) {
  assertClose(actual, expected, (i) => rel * Math.abs(expected[i]), label);
}

/** Asserts that two float32 arrays hold the same bits, element by element. */
export function assertSameBits(actual, expected, label, indices = null) {
  const a = new Uint32Array(actual.buffer, actual.byteOffset, actual.length);
  const e = new Uint32Array(expected.buffer, expected.byteOffset, expected.length);
  assert.equal(a.length, e.length, `${label}: length ${a.length}, expected ${e.length}`);
  const check = (i) => {
    if (a[i] !== e[i]) {
      assert.fail(`${label}[${i}]: got ${actual[i]} (0x${a[i].toString(16)}), expected ${expected[i]} (0x${e[i].toString(16)})`);
    }
  };
  if (indices === null) {
    for (let i = 0; i < a.length; i++) check(i);
  } else {
    for (const i of indices) check(i);
  }
}

/**
 * Writes float32 values with unusual bit patterns (a NaN with a payload,
 * -0, the smallest subnormal, infinities) into the slots >= rotaryDim of
 * every head vector, and returns the indices of those slots.
 */
export function plantPassThrough(x, headDim, rotaryDim) {
  const bits = new Uint32Array(x.buffer, x.byteOffset, x.length);
  const patterns = [0x7fa00001, 0x80000000, 0x00000001, 0x7f800000, 0xff800000, 0xffc12345];
  const indices = [];
  for (let base = 0; base < x.length; base += headDim) {
    for (let j = rotaryDim; j < headDim; j++) {
      if ((j - rotaryDim) < patterns.length) bits[base + j] = patterns[j - rotaryDim];
      indices.push(base + j);
    }
  }
  return indices;
}
