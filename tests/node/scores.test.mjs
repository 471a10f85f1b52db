// module.scoreMatrix: q_m . k_n for every row pair, on both builds and both
// kernels, against a float64 loop, plus its rejections.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';

import { loadRopeModule } from '../../web/rope.js';

/** Seeded uniform values in [-1, 1) (xorshift32). */
function randomFloats(length, seed) {
  let state = seed >>> 0 || 1;
  const out = new Float32Array(length);
  for (let i = 0; i < length; i++) {
    state ^= state << 13; state >>>= 0;
    state ^= state >>> 17;
    state ^= state << 5; state >>>= 0;
    out[i] = state / 2 ** 31 - 1;
  }
  return out;
}

const VARIANTS = [
  ['simd128', 'auto'],
  ['simd128', 'scalar'],
  ['scalar', 'auto'],
];

for (const [backend, kernel] of VARIANTS) {
  describe(`scoreMatrix on ${backend} build, ${kernel} kernel`, () => {
    for (const [nQ, nK, dim] of [[1, 1, 1], [3, 5, 7], [17, 9, 16], [33, 31, 128], [8, 8, 130], [0, 4, 8]]) {
      it(`${nQ} x ${nK} rows of ${dim}`, async () => {
        // A fresh instance, so setKernel does not change the shared module.
        const module = await loadRopeModule({ backend, wasm: new URL(`../../web/wasm/rope-${backend}.wasm`, import.meta.url) });
        module.setKernel(kernel);
        const q = randomFloats(nQ * dim, 1 + nQ);
        const k = randomFloats(nK * dim, 7 + nK);
        const scores = module.scoreMatrix(q, k, dim);
        assert.equal(scores.length, nQ * nK);
        for (let m = 0; m < nQ; m++) {
          for (let n = 0; n < nK; n++) {
            let exact = 0;
            let magnitude = 0;
            for (let j = 0; j < dim; j++) {
              exact += q[m * dim + j] * k[n * dim + j];
              magnitude += Math.abs(q[m * dim + j] * k[n * dim + j]);
            }
            // Float32 partial sums of four products per lane: a few 2^-24
            // of sum |q_j k_j|; the scalar kernel sums in double.
            const tolerance = 1e-6 * magnitude + 1e-30;
            const got = scores[m * nK + n];
            assert.ok(Math.abs(got - exact) <= tolerance, `m ${m}, n ${n}: ${got} vs ${exact} (tolerance ${tolerance})`);
          }
        }
      });
    }

    it('zero-copy inputs give the same scores', async () => {
      const module = await loadRopeModule({ backend });
      const q = randomFloats(4 * 16, 3);
      const k = randomFloats(6 * 16, 4);
      const wasmQ = module.allocFloat32(q.length);
      wasmQ.array.set(q);
      try {
        assert.deepEqual(module.scoreMatrix(wasmQ, k, 16), module.scoreMatrix(q, k, 16));
      } finally {
        wasmQ.free();
      }
    });

    it('rejects bad arguments and stays usable', async () => {
      const module = await loadRopeModule({ backend });
      const q = new Float32Array(8);
      assert.throws(() => module.scoreMatrix(q, q, 0), { name: 'RangeError', message: /dim is 0; expected an integer from 1/ });
      assert.throws(() => module.scoreMatrix(q, q, 1.5), { name: 'RangeError', message: /dim is 1\.5/ });
      assert.throws(() => module.scoreMatrix(q, q, 3), { name: 'RangeError', message: /q has 8 elements; expected a multiple of dim \(3\)/ });
      assert.throws(() => module.scoreMatrix([1, 2], q, 2), { name: 'TypeError', message: /q is an array of length 2/ });
      assert.throws(() => module.scoreMatrix(q, null, 2), { name: 'TypeError', message: /k is null/ });
      const freed = module.allocFloat32(8);
      freed.free();
      assert.throws(() => module.scoreMatrix(freed, q, 2), { name: 'TypeError', message: /q was freed/ });
      assert.equal(module.scoreMatrix(new Float32Array([1, 2]), new Float32Array([3, 4]), 2)[0], 11);
    });
  });
}
