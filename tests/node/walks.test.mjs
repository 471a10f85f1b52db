// apply() picks how its SIMD128 kernels walk a tensor from the layout, the
// head size and the tensor size: paired heads, grouped interleaved heads
// (4 at a time over a spread row), one head at a time, or the staged
// rotate-half walk for halves 512 bytes or more apart. Each shape
// below lands on one of those choices (the sizes straddle the 8 MiB and
// 16 MiB limits in c/apply.c), and the SIMD128 build must give the bits of
// the scalar build, whose kernels have a single walk.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { loadRopeModule } from '../../web/rope.js';
import { assertSameBits, makeRng } from './support.mjs';

const MIB = 1024 * 1024;

// [headDim, pairing, layout, tensor MiB, the walk c/apply.c should take]
const SHAPES = [
  [64, 'half', 'thd', 20, 'paired (heads under 128 floats)'],
  [128, 'half', 'thd', 6, 'paired (in cache)'],
  [128, 'interleaved', 'thd', 6, 'grouped (in cache)'],
  [80, 'interleaved', 'thd', 20, 'paired (heads under 128 floats)'],
  [128, 'interleaved', 'thd', 12, 'one head at a time'],
  [256, 'half', 'thd', 12, 'staged'],
  [256, 'interleaved', 'thd', 12, 'one head at a time'],
  [256, 'half', 'htd', 12, 'paired'],
  [256, 'half', 'htd', 20, 'staged, 4 heads per group'],
];

describe('kernel walks by tensor size', async () => {
  const simd = await loadRopeModule({ backend: 'simd128' });
  const scalar = await loadRopeModule({ backend: 'scalar' });

  for (const [headDim, pairing, layout, mib, walk] of SHAPES) {
    it(`d${headDim} ${pairing} ${layout} ${mib} MiB: ${walk}`, () => {
      const nQHeads = 32;
      const nTokens = Math.ceil((mib * MIB) / (4 * nQHeads * headDim));
      const rng = makeRng(headDim * 1000 + mib);
      const data = rng.float32Array(nTokens * nQHeads * headDim);
      const positions = Int32Array.from({ length: nTokens }, (_, t) => 3 * t + 1);
      const results = [simd, scalar].map((module) => {
        const rope = module.createRope({ headDim, pairing });
        const q = module.allocFloat32(data.length);
        try {
          q.array.set(data);
          rope.apply({ q, nQHeads, positions, layout });
          return q.array.slice();
        } finally {
          q.free();
          rope.free();
        }
      });
      assertSameBits(results[0], results[1], `d${headDim} ${pairing} ${layout} ${nTokens} tokens`);
    });
  }

  // Decode steps and short prefill of the interleaved pairing take the
  // grouped walk. It rotates 4 heads per step and the rest one by one. It
  // hands fewer than 4 heads, or a rotary half that is not a multiple of 4
  // pairs, to the paired walk.
  const GROUPED = [
    // [headDim, partialRotaryFactor, nTokens, nQHeads, nKHeads]
    [128, 1, 1, 32, 8],
    [128, 1, 1, 6, 3],
    [128, 1, 3, 7, 1],
    [128, 0.5, 1, 32, 8],
    [80, 0.25, 2, 9, 2],
    [64, 1, 17, 32, 5],
  ];
  for (const [headDim, partialRotaryFactor, nTokens, nQHeads, nKHeads] of GROUPED) {
    it(`interleaved d${headDim} rotary x${partialRotaryFactor}, ${nTokens} tokens, ${nQHeads}+${nKHeads} heads`, () => {
      const rng = makeRng(headDim + 7 * nQHeads + nKHeads);
      const qData = rng.float32Array(nTokens * nQHeads * headDim);
      const kData = rng.float32Array(nTokens * nKHeads * headDim);
      const positions = Int32Array.from({ length: nTokens }, (_, t) => 4093 + 5 * t);
      const results = [simd, scalar].map((module) => {
        const rope = module.createRope({ headDim, pairing: 'interleaved', partialRotaryFactor });
        const q = module.allocFloat32(qData.length);
        const k = module.allocFloat32(kData.length);
        try {
          q.array.set(qData);
          k.array.set(kData);
          rope.apply({ q, k, nQHeads, nKHeads, positions });
          return [q.array.slice(), k.array.slice()];
        } finally {
          q.free();
          k.free();
          rope.free();
        }
      });
      assertSameBits(results[0][0], results[1][0], 'q');
      assertSameBits(results[0][1], results[1][1], 'k');
      // The rotation moved the rotary slots and kept the others.
      const rotaryDim = headDim * partialRotaryFactor;
      assert.notDeepEqual(results[0][0].subarray(0, rotaryDim), qData.subarray(0, rotaryDim));
      assert.deepEqual(results[0][0].subarray(rotaryDim, headDim), qData.subarray(rotaryDim, headDim));
    });
  }
});
