// WebAssembly heap use: no leaks over many create/table/apply/free cycles,
// buffers that survive memory growth, and ropes that do not share state.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { loadRopeModule } from '../../web/rope.js';
import { PRESETS_DIR, assertSameBits, makeRng, readJson } from './support.mjs';

const CYCLES = 10000;
const MIB = 1 << 20;

// One of each rope type, so every create path (including the longrope
// factor arrays and the dynamic scratch in apply) runs in the loop.
const CYCLE_OPTIONS = [
  { headDim: 64 },
  { ropeType: 'linear', headDim: 32, factor: 2, pairing: 'interleaved' },
  { ropeType: 'dynamic', headDim: 16, factor: 2, maxPositionEmbeddings: 64 },
  { ropeType: 'yarn', headDim: 32, factor: 4, originalMaxPositionEmbeddings: 1024 },
  {
    ropeType: 'longrope', headDim: 8, maxPositionEmbeddings: 4096, originalMaxPositionEmbeddings: 1024,
    shortFactor: [1, 1, 2, 2], longFactor: [1, 2, 4, 8],
  },
  {
    ropeType: 'llama3', headDim: 24, rotaryDim: 16, factor: 8, lowFreqFactor: 1, highFreqFactor: 4,
    originalMaxPositionEmbeddings: 8192,
  },
  // More pairs than apply's stack table holds for one token (1024 floats),
  // so apply takes its heap-allocated table.
  { headDim: 4096 },
];

/** Runs one good call, so the allocator's first-malloc bookkeeping is in every later baseline. */
function warmUp(module) {
  const rope = module.createRope({ headDim: 4 });
  rope.apply({ q: new Float32Array(4), nQHeads: 1, positions: [0] });
  rope.free();
}

for (const backend of ['simd128', 'scalar']) {
  describe(`memory, ${backend} build`, async () => {
    const module = await loadRopeModule({ backend });
    warmUp(module);

    it(`heapInUse() returns to its start after ${CYCLES} create/table/apply/free cycles`, () => {
      const start = module.heapInUse();
      const rng = makeRng(11);
      const q = new Map(CYCLE_OPTIONS.map((o) => [o, rng.float32Array(3 * 2 * o.headDim)]));
      const k = new Map(CYCLE_OPTIONS.map((o) => [o, rng.float32Array(3 * o.headDim)]));
      let sawRopeMemory = false;
      for (let cycle = 0; cycle < CYCLES; cycle++) {
        const options = CYCLE_OPTIONS[cycle % CYCLE_OPTIONS.length];
        const rope = module.createRope(options);
        sawRopeMemory ||= module.heapInUse() > start;
        const positions = [cycle % 97, (cycle * 7) % 5000, 3];
        const { cos } = rope.table(positions);
        assert.equal(cos.length, 3 * (rope.rotaryDim / 2));
        rope.apply({ q: q.get(options), k: k.get(options), nQHeads: 2, nKHeads: 1, positions, layout: cycle % 2 ? 'thd' : 'htd' });
        if (cycle % 3 === 0) {
          const buffer = module.allocFloat32(2 * rope.headDim);
          rope.apply({ q: buffer, nQHeads: 2, positions: [cycle] });
          buffer.free();
        }
        rope.free();
        if (module.heapInUse() !== start) {
          assert.fail(`cycle ${cycle} (${JSON.stringify(options).slice(0, 60)}): heap in use ${module.heapInUse()} bytes, ${start} at the start`);
        }
      }
      assert.ok(sawRopeMemory, 'a live rope should show up in heapInUse()');
      assert.equal(module.heapInUse(), start);
    });

    it('a WasmFloat32Array stays valid across memory growth, and apply still works', () => {
      const rope = module.createRope(readJson(`${PRESETS_DIR}llama-3.1-8b.json`));
      const rng = makeRng(12);
      const positions = [0, 1, 4096, 131071];
      const nHeads = 2;
      const data = rng.float32Array(positions.length * nHeads * rope.headDim);
      const buffer = module.allocFloat32(data.length);
      const blocks = [];
      try {
        assert.ok(buffer.array.every((v) => v === 0), 'allocFloat32 returns zeroed memory');
        buffer.array.set(data);
        const viewBefore = buffer.array;

        // Allocate 64 MiB blocks until the memory grows, which detaches every
        // view of the old ArrayBuffer (its length becomes 0).
        while (viewBefore.length !== 0 && blocks.length < 8) blocks.push(module.allocFloat32(64 * MIB / 4));
        assert.equal(viewBefore.length, 0, `memory did not grow after ${blocks.length} blocks of 64 MiB`);
        for (const block of blocks.splice(0)) block.free();

        const view = buffer.array;
        assert.equal(view.length, data.length, 'a fresh .array view after growth');
        assertSameBits(view, data, 'data after growth');

        // apply with a copied Float32Array and in place on the buffer give the same bits.
        const copied = data.slice();
        rope.apply({ q: copied, nQHeads: nHeads, positions });
        rope.apply({ q: buffer, nQHeads: nHeads, positions });
        assertSameBits(buffer.array, copied, 'in-place apply vs copied apply');
        assert.ok(copied.some((v, i) => v !== data[i]), 'apply changed q');
      } finally {
        for (const block of blocks) block.free();
        buffer.free();
        rope.free();
      }
    });

    it('two ropes used interleaved give the results each gives alone', () => {
      const configs = [readJson(`${PRESETS_DIR}llama-3.1-8b.json`), readJson(`${PRESETS_DIR}gpt-j-6b.json`)];
      const rng = makeRng(13);
      const positions = [[0, 5, 8191, 8192, 100000], [2047, 1, 0, 70000, 3]];
      const inputs = configs.map((config, r) => {
        const rope = module.createRope(config);
        try { return rng.float32Array(positions[r].length * 4 * rope.headDim); } finally { rope.free(); }
      });

      const run = (rope, r) => {
        const q = inputs[r].slice();
        rope.apply({ q, nQHeads: 4, positions: positions[r], layout: 'htd' });
        return { q, table: rope.table(positions[r]), invFreq: rope.invFreq() };
      };

      const alone = configs.map((config, r) => {
        const rope = module.createRope(config);
        try { return run(rope, r); } finally { rope.free(); }
      });

      const ropes = configs.map((config) => module.createRope(config));
      try {
        for (let round = 0; round < 3; round++) {
          for (const r of [0, 1, 1, 0]) {
            const got = run(ropes[r], r);
            const label = `rope ${r} round ${round}`;
            assertSameBits(got.q, alone[r].q, `${label} q`);
            assertSameBits(got.table.cos, alone[r].table.cos, `${label} cos`);
            assertSameBits(got.table.sin, alone[r].table.sin, `${label} sin`);
            assert.deepEqual(Array.from(got.invFreq), Array.from(alone[r].invFreq), `${label} invFreq`);
          }
        }
      } finally {
        for (const rope of ropes) rope.free();
      }
    });
  });
}
