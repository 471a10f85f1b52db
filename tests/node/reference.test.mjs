// Compares every backend with the mpmath reference vectors in
// tests/reference/vectors/ (one file per preset and per edge config).

import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';

import {
  VARIANTS, assertClose, assertRelClose, assertSameBits, loadVectors, makeRng, norm,
  plantPassThrough, rotateReference, vectorOffset,
} from './support.mjs';

// attentionScaling is one double expression (sqrt, log) of exact inputs: a few ulp.
const SCALING_REL = 1e-12;
// invFreq is pow/exp of exact inputs in double: a few ulp of the exact value.
const INV_FREQ_REL = 1e-13;
// A table entry is float32(scaling * cos(p * theta)). Rounding to float32
// costs up to 2^-24 * scaling ~ 6e-8, and the double angle is off by about
// p * ulp(theta) <= 2^20 * 2.2e-16 ~ 2.3e-10; 2e-6 leaves a wide margin.
const TABLE_ABS = 2e-6;
// apply() works in float32. Each output is a*c - b*s with c and s rounded
// to float32 (relative 6e-8), two rounded products and one rounded sum.
// The error is a few 1e-7 of the vector norm, so 1e-5 leaves a wide margin.
const APPLY_REL_TO_NORM = 1e-5;

const N_Q_HEADS = 4;
const N_K_HEADS = 2; // grouped-query attention: two q heads per k head

const vectors = loadVectors();

/** The reference row of pair values for token t, as a function. */
function referenceRows(rows) {
  return (t) => rows[t];
}

function checkApply(rope, testCase, layout, rng) {
  const { headDim, rotaryDim, pairing } = rope;
  const nTokens = testCase.positions.length;
  const q = rng.float32Array(nTokens * N_Q_HEADS * headDim);
  const k = rng.float32Array(nTokens * N_K_HEADS * headDim);
  const qPass = plantPassThrough(q, headDim, rotaryDim);
  const kPass = plantPassThrough(k, headDim, rotaryDim);
  const qIn = q.slice();
  const kIn = k.slice();

  rope.apply({
    q, k, nQHeads: N_Q_HEADS, nKHeads: N_K_HEADS, positions: testCase.positions, layout, seqLen: testCase.seqLen,
  });

  for (const [name, out, input, nHeads, passIndices] of [
    ['q', q, qIn, N_Q_HEADS, qPass], ['k', k, kIn, N_K_HEADS, kPass],
  ]) {
    const shape = { nTokens, nHeads, headDim, rotaryDim, pairing, layout };
    const expected = rotateReference(input, shape, referenceRows(testCase.cos), referenceRows(testCase.sin));
    for (let t = 0; t < nTokens; t++) {
      for (let h = 0; h < nHeads; h++) {
        const start = vectorOffset(layout, t, h, nTokens, nHeads, headDim);
        const bound = APPLY_REL_TO_NORM * norm(expected, start, rotaryDim);
        assertClose(
          out.subarray(start, start + rotaryDim),
          expected.subarray(start, start + rotaryDim),
          bound,
          `${name} ${layout} token ${t} (position ${testCase.positions[t]}) head ${h} slot`,
        );
      }
    }
    assertSameBits(out, input, `${name} ${layout} pass-through slot`, passIndices);
  }
}

for (const variant of VARIANTS) {
  describe(`reference vectors, ${variant.name}`, () => {
    let module;
    before(async () => { module = await variant.load(); });

    it('runs the build and kernel it names', () => {
      assert.equal(module.backend, variant.backend);
      assert.equal(module.kernel, variant.kernel);
    });

    for (const { file, vector, config } of vectors) {
      it(`${file}: fields, attentionScaling, invFreq, table and apply`, () => {
        const rope = module.createRope(config);
        try {
          assert.equal(rope.ropeType, vector.ropeType);
          assert.equal(rope.headDim, vector.headDim);
          assert.equal(rope.rotaryDim, vector.rotaryDim);
          assert.equal(rope.pairing, vector.pairing);
          assert.equal(rope.base, vector.base);
          assert.equal(rope.maxPositionEmbeddings, vector.maxPositionEmbeddings);
          // The vector files give longrope an original length even when the
          // config has none; the rope reports only one the config gives.
          const configHasOriginal = JSON.stringify(config).includes('"original_max_position_embeddings"');
          assert.equal(rope.originalMaxPositionEmbeddings, configHasOriginal ? vector.originalMaxPositionEmbeddings : undefined);
          assertRelClose([rope.attentionScaling], [vector.attentionScaling], SCALING_REL, 'attentionScaling');

          const half = vector.rotaryDim / 2;
          const rng = makeRng(0x5eed + vector.name.length);
          for (const [c, testCase] of vector.cases.entries()) {
            const label = `case ${c} (seqLen ${testCase.seqLen})`;
            assertRelClose(rope.invFreq(testCase.seqLen), testCase.invFreq, INV_FREQ_REL, `${label} invFreq`);

            const { cos, sin } = rope.table(testCase.positions, testCase.seqLen);
            assert.equal(cos.length, testCase.positions.length * half, `${label} cos length`);
            assert.equal(sin.length, testCase.positions.length * half, `${label} sin length`);
            for (const [p, position] of testCase.positions.entries()) {
              const row = `${label} position ${position}`;
              assertClose(cos.subarray(p * half, (p + 1) * half), testCase.cos[p], TABLE_ABS, `${row} cos`);
              assertClose(sin.subarray(p * half, (p + 1) * half), testCase.sin[p], TABLE_ABS, `${row} sin`);
            }

            checkApply(rope, testCase, 'thd', rng);
            checkApply(rope, testCase, 'htd', rng);
          }
        } finally {
          rope.free();
        }
      });
    }

    it('rotates q alone (no k) like the reference', () => {
      const { vector, config } = vectors.find((v) => v.vector.name === 'llama-3.1-8b');
      const testCase = vector.cases[0];
      const rope = module.createRope(config);
      try {
        const rng = makeRng(99);
        const nTokens = testCase.positions.length;
        const q = rng.float32Array(nTokens * 3 * rope.headDim);
        const input = q.slice();
        rope.apply({ q, nQHeads: 3, positions: testCase.positions, seqLen: testCase.seqLen });
        const shape = { nTokens, nHeads: 3, headDim: rope.headDim, rotaryDim: rope.rotaryDim, pairing: rope.pairing, layout: 'thd' };
        const expected = rotateReference(input, shape, referenceRows(testCase.cos), referenceRows(testCase.sin));
        assertClose(q, expected, (i) => APPLY_REL_TO_NORM * norm(expected, i - (i % rope.headDim), rope.headDim), 'q slot');
      } finally {
        rope.free();
      }
    });
  });
}
