// apply() picks how its SIMD128 kernels walk a tensor from the layout, the
// head size and the tensor size: paired heads, one head at a time, or the
// staged rotate-half walk for halves 512 bytes or more apart. Each shape
// below lands on one of those choices (the sizes straddle the 8 MiB and
// 16 MiB limits in c/apply.c), and the SIMD128 build must give the bits of
// the scalar build, whose kernels have a single walk.

import { describe, it } from 'node:test';

import { loadRopeModule } from '../../web/rope.js';
import { assertSameBits, makeRng } from './support.mjs';

const MIB = 1024 * 1024;

// [headDim, pairing, layout, tensor MiB, the walk c/apply.c should take]
const SHAPES = [
  [64, 'half', 'thd', 20, 'paired (heads under 128 floats)'],
  [128, 'half', 'thd', 6, 'paired (in cache)'],
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
});
