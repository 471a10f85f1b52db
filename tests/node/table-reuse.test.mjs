// Reused tables: Rope.wasmTable() rows in WebAssembly memory, passed to
// apply({ table }) any number of times. Results must be bit-identical to
// apply() with the same positions, in both builds, layouts and pairings.
// Bad tables must be rejected, and tables must not leak.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { loadRopeModule } from '../../web/rope.js';
import { assertSameBits, makeRng } from './support.mjs';

const CYCLES = 10000;

// Ropes that cover the row paths: offset rows kept by the rope (default,
// yarn), rows that depend on the length (dynamic), partial rotary, and a
// head too large for the kept offset rows.
const ROPES = [
  { headDim: 128 },
  { headDim: 64, pairing: 'interleaved' },
  { headDim: 80, rotaryDim: 40 },
  { ropeType: 'yarn', headDim: 32, factor: 4, originalMaxPositionEmbeddings: 1024, pairing: 'interleaved' },
  { ropeType: 'dynamic', headDim: 16, factor: 2, maxPositionEmbeddings: 64 },
  { headDim: 1024 },
];

function positionsOf(rng, n, kind) {
  if (kind === 'consecutive') return Int32Array.from({ length: n }, (_, t) => 4090 + t);
  return Int32Array.from({ length: n }, () => rng.int(0, 2 ** 31 - 1));
}

for (const backend of ['simd128', 'scalar']) {
  describe(`reused tables, ${backend} build`, async () => {
    const module = await loadRopeModule({ backend });

    it('table apply matches positions apply', () => {
      const rng = makeRng(41);
      for (const options of ROPES) {
        const rope = module.createRope(options);
        try {
          for (const nTokens of [1, 3, 16, 17, 200]) {
            if (options.headDim >= 1024 && nTokens > 17) continue;
            for (const layout of ['thd', 'htd']) {
              for (const kind of ['consecutive', 'random']) {
                const positions = positionsOf(rng, nTokens, kind);
                const q = rng.float32Array(nTokens * 5 * rope.headDim);
                const k = rng.float32Array(nTokens * 2 * rope.headDim);
                const label = `${JSON.stringify(options)} ${nTokens} tokens ${layout} ${kind}`;
                const seqLen = options.ropeType === 'dynamic' ? 100000 : undefined;

                const wantQ = q.slice();
                const wantK = k.slice();
                rope.apply({ q: wantQ, k: wantK, nQHeads: 5, nKHeads: 2, positions, layout, seqLen });

                const table = rope.wasmTable(positions, seqLen);
                try {
                  assert.equal(table.nPositions, nTokens);
                  assert.equal(table.rowLength, rope.rotaryDim / 2);
                  const plain = rope.table(positions, seqLen);
                  assertSameBits(table.cos, plain.cos, `${label} cos rows`);
                  assertSameBits(table.sin, plain.sin, `${label} sin rows`);

                  // Copied Float32Arrays, positions left out.
                  const gotQ = q.slice();
                  const gotK = k.slice();
                  rope.apply({ q: gotQ, k: gotK, nQHeads: 5, nKHeads: 2, layout, table });
                  assertSameBits(gotQ, wantQ, `${label} q (copied)`);
                  assertSameBits(gotK, wantK, `${label} k (copied)`);

                  // WasmFloat32Arrays, positions given: the same bits again.
                  const bq = module.allocFloat32(q.length);
                  const bk = module.allocFloat32(k.length);
                  try {
                    bq.array.set(q);
                    bk.array.set(k);
                    rope.apply({ q: bq, k: bk, nQHeads: 5, nKHeads: 2, positions, layout, table });
                    assertSameBits(bq.array, wantQ, `${label} q (zero-copy)`);
                    assertSameBits(bk.array, wantK, `${label} k (zero-copy)`);
                  } finally {
                    bq.free();
                    bk.free();
                  }
                } finally {
                  table.free();
                }
              }
            }
          }
        } finally {
          rope.free();
        }
      }
    });

    it('one table serves many layers', () => {
      const rng = makeRng(42);
      const rope = module.createRope({ headDim: 64 });
      const positions = positionsOf(rng, 33, 'consecutive');
      const table = rope.wasmTable(positions);
      try {
        const cosBefore = table.cos.slice();
        const sinBefore = table.sin.slice();
        for (let layer = 0; layer < 8; layer++) {
          const q = rng.float32Array(33 * 4 * 64);
          const want = q.slice();
          rope.apply({ q: want, nQHeads: 4, positions, layout: layer % 2 ? 'htd' : 'thd' });
          rope.apply({ q, nQHeads: 4, table, layout: layer % 2 ? 'htd' : 'thd' });
          assertSameBits(q, want, `layer ${layer}`);
        }
        assertSameBits(table.cos, cosBefore, 'cos rows after the calls');
        assertSameBits(table.sin, sinBefore, 'sin rows after the calls');
        assert.notEqual(table.cos, table.cos, 'cos is a fresh view on every access');
      } finally {
        table.free();
        rope.free();
      }
    });

    it('bad tables are rejected', () => {
      const rope = module.createRope({ headDim: 16 });
      const other = module.createRope({ headDim: 16 });
      // Each rope's scratch block (grown by its first call) is not a leak.
      rope.table([0, 1, 2]);
      other.table([0, 1, 2]);
      const heapAtStart = module.heapInUse();
      const table = rope.wasmTable([0, 1, 2]);
      const foreign = other.wasmTable([0, 1, 2]);
      const freed = rope.wasmTable([0, 1, 2]);
      freed.free();
      const q = new Float32Array(3 * 2 * 16).fill(0.5);
      const before = q.slice();
      const cases = [
        [{ table: foreign }, TypeError, /table belongs to another Rope/],
        [{ table: freed }, TypeError, /table was freed/],
        [{ table: rope.table([0, 1, 2]) }, TypeError, /table is an object.*expected a WasmRopeTable|table is .*expected a WasmRopeTable/],
        [{ table: null }, TypeError, /table is null; expected a WasmRopeTable/],
        [{ table, seqLen: 8 }, TypeError, /seqLen is 8 together with table/],
        [{ table, positions: [0, 1] }, RangeError, /positions has 2 entries but table has 3 rows/],
        [{ table, positions: [0, -1, 2] }, RangeError, /positions\[1\] is -1/],
      ];
      for (const [extra, ErrorClass, pattern] of cases) {
        assert.throws(() => rope.apply({ q, nQHeads: 2, ...extra }), (error) => {
          assert.ok(error instanceof ErrorClass, `${error.constructor.name}: ${error.message}`);
          assert.match(error.message, pattern);
          return true;
        });
      }
      assert.throws(() => rope.apply({ q: new Float32Array(2 * 2 * 16), nQHeads: 2, table }),
        /q has 64 elements; expected table\.nPositions \* nQHeads \* headDim = 3 \* 2 \* 16 = 96/);
      assert.throws(() => freed.cos, /WasmRopeTable was freed/);
      assertSameBits(q, before, 'q after the refused calls');
      assert.equal(table.belongsTo(rope), true);
      assert.equal(foreign.belongsTo(rope), false);
      assert.equal(freed.belongsTo(rope), false);
      assert.throws(() => rope.wasmTable([0, 1.5]), RangeError);
      assert.throws(() => rope.wasmTable(5), TypeError);
      table.free();
      table.free(); // a second free does nothing
      foreign.free();
      assert.equal(module.heapInUse(), heapAtStart);
      other.free();
      rope.free();
      assert.throws(() => rope.wasmTable([0]), /this Rope was freed/);
    });

    it(`${CYCLES} table cycles leak nothing`, () => {
      const rope = module.createRope({ headDim: 32 });
      const rng = makeRng(43);
      const q = module.allocFloat32(4 * 2 * 32);
      q.array.set(rng.float32Array(q.length));
      rope.apply({ q, nQHeads: 2, positions: [0, 1, 2, 3] }); // scratch allocated once
      const heapAtStart = module.heapInUse();
      for (let cycle = 0; cycle < CYCLES; cycle++) {
        const table = rope.wasmTable([cycle, cycle + 1, cycle + 2, cycle + 3]);
        rope.apply({ q, nQHeads: 2, table, layout: cycle % 2 ? 'htd' : 'thd' });
        table.free();
        if ((cycle + 1) % 1000 === 0 && module.heapInUse() !== heapAtStart) {
          assert.fail(`after cycle ${cycle}: heap in use ${module.heapInUse()} bytes, ${heapAtStart} at the start`);
        }
      }
      assert.equal(module.heapInUse(), heapAtStart);
      q.free();
      rope.free();
    });
  });
}
