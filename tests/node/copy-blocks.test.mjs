// apply() on Float32Arrays larger than its copy block (512 KiB) copies,
// rotates and copies back a block of tokens at a time. Its result must be
// bit-identical to apply() on the same data in WebAssembly memory, which
// is rotated in one call. The cases cover both layouts and pairings, k or
// none, positions or a reused table, and a rope type whose frequencies
// depend on the whole call's sequence length.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { loadRopeModule } from '../../web/rope.js';
import { assertSameBits, makeRng } from './support.mjs';

const COPY_BLOCK_BYTES = 512 * 1024;

const ROPES = [
  { headDim: 128 },
  { headDim: 64, pairing: 'interleaved' },
  { headDim: 80, rotaryDim: 40 },
  // Without seqLen the length is max(positions) + 1 of the whole call, so
  // a block must not use its own largest position instead.
  { ropeType: 'dynamic', headDim: 64, factor: 4, maxPositionEmbeddings: 256 },
];

function zeroCopy(module, rope, q, k, args) {
  const buffers = [q, k].filter((x) => x !== null).map((x) => {
    const b = module.allocFloat32(x.length);
    b.array.set(x);
    return b;
  });
  try {
    rope.apply({ ...args, q: buffers[0], k: buffers[1] });
    return buffers.map((b) => b.array.slice());
  } finally {
    buffers.forEach((b) => b.free());
  }
}

for (const backend of ['simd128', 'scalar']) {
  describe(`apply() in copy blocks, ${backend} build`, async () => {
    const module = await loadRopeModule({ backend });

    it('matches zero-copy apply bitwise', () => {
      const rng = makeRng(77);
      let blocked = 0;
      for (const options of ROPES) {
        const rope = module.createRope(options);
        try {
          for (const [nQHeads, nKHeads] of [[32, 0], [12, 4]]) {
            const tokenBytes = 4 * rope.headDim * (nQHeads + nKHeads);
            // One token short of a block, and enough for 2 blocks plus a short one.
            const perBlock = Math.floor(COPY_BLOCK_BYTES / tokenBytes);
            for (const nTokens of [perBlock, 2 * perBlock + 7]) {
              if (nTokens * tokenBytes > COPY_BLOCK_BYTES) blocked++;
              for (const layout of ['thd', 'htd']) {
                for (const useTable of [false, true]) {
                  const positions = Int32Array.from({ length: nTokens }, (_, t) => (t % 3 === 0 ? rng.int(0, 5000) : t));
                  const q = rng.float32Array(nTokens * nQHeads * rope.headDim);
                  const k = nKHeads > 0 ? rng.float32Array(nTokens * nKHeads * rope.headDim) : null;
                  const table = useTable ? rope.wasmTable(positions) : undefined;
                  try {
                    const args = { nQHeads, layout, ...(useTable ? { table } : { positions }) };
                    if (k !== null) args.nKHeads = nKHeads;
                    const want = zeroCopy(module, rope, q, k, args);
                    const gotQ = q.slice();
                    const gotK = k === null ? null : k.slice();
                    rope.apply({ ...args, q: gotQ, ...(gotK === null ? {} : { k: gotK }) });
                    const label = `${JSON.stringify(options)} ${nQHeads}+${nKHeads} heads ${nTokens} tokens ${layout}${useTable ? ' table' : ''}`;
                    assertSameBits(gotQ, want[0], `${label} q`);
                    if (k !== null) assertSameBits(gotK, want[1], `${label} k`);
                  } finally {
                    table?.free();
                  }
                }
              }
            }
          }
        } finally {
          rope.free();
        }
      }
      // The sizes above must reach the block path at all.
      assert.ok(blocked >= ROPES.length * 2, `only ${blocked} shapes were large enough for copy blocks`);
    });

    it('dynamic rope: blocks keep the call length', () => {
      // The same tokens through one block-sized call and through a call
      // the size of several blocks: a token's result depends only on its
      // position and the call's sequence length.
      const rope = module.createRope({ ropeType: 'dynamic', headDim: 64, factor: 4, maxPositionEmbeddings: 256 });
      try {
        const rng = makeRng(78);
        const nTokens = 3 * Math.ceil(COPY_BLOCK_BYTES / (4 * 64 * 32));
        const positions = Int32Array.from({ length: nTokens }, (_, t) => t);
        const q = rng.float32Array(nTokens * 32 * 64);
        const whole = q.slice();
        rope.apply({ q: whole, nQHeads: 32, positions });
        // The last 8 tokens alone, given the whole call's length.
        const tail = q.slice((nTokens - 8) * 32 * 64);
        rope.apply({ q: tail, nQHeads: 32, positions: positions.subarray(nTokens - 8), seqLen: nTokens });
        assertSameBits(whole.subarray((nTokens - 8) * 32 * 64), tail, 'last 8 tokens');
      } finally {
        rope.free();
      }
    });
  });
}
