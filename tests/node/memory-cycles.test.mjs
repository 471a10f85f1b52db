// Long-running use as a server or page would see it: 100,000 create/use/free
// cycles per build, memory growth in the middle of a call, and many
// independent modules and ropes in one process.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';

import { createRope, loadRopeModule } from '../../web/rope.js';
import { PRESETS_DIR, ROOT, assertSameBits, makeRng, readJson } from './support.mjs';

const CYCLES = 100000;
const CHECK_EVERY = 10000;
const MIB = 1 << 20;
const SIMD_URL = new URL('../../web/wasm/rope-simd128.wasm', import.meta.url);
const SCALAR_URL = new URL('../../web/wasm/rope-scalar.wasm', import.meta.url);

// Small shapes of every rope type, half as config.json objects (the path
// users take) and half as options.
const SMALL = [
  { hidden_size: 32, num_attention_heads: 4, max_position_embeddings: 256 },
  { head_dim: 16, rope_theta: 5e5, max_position_embeddings: 512, rope_scaling: { rope_type: 'linear', factor: 4 } },
  { head_dim: 8, max_position_embeddings: 64, rope_scaling: { type: 'dynamic', factor: 2 } },
  { head_dim: 16, max_position_embeddings: 4096, rope_scaling: { rope_type: 'yarn', factor: 8, original_max_position_embeddings: 512 } },
  {
    head_dim: 8, max_position_embeddings: 2048, original_max_position_embeddings: 256,
    rope_scaling: { type: 'su', short_factor: [1, 1.5, 2, 3], long_factor: [2, 4, 8, 16] },
  },
  { ropeType: 'llama3', headDim: 16, rotaryDim: 8, factor: 8, lowFreqFactor: 1, highFreqFactor: 4, originalMaxPositionEmbeddings: 512 },
  { headDim: 12, partialRotaryFactor: 0.5, pairing: 'interleaved' },
  { model_type: 'gptj', n_embd: 64, n_head: 4, rotary_dim: 8, n_positions: 2048 },
];
// Invalid configs mixed into the cycles: a rejected create must not leak either.
const INVALID = [
  { head_dim: 15 },
  { head_dim: 8, rope_scaling: { rope_type: 'longrope', short_factor: [1, 1], long_factor: [1, 1, 1, 1] }, max_position_embeddings: 64 },
  { head_dim: 8, rope_theta: 1 },
];

for (const backend of ['simd128', 'scalar']) {
  describe(`memory over long use, ${backend} build`, async () => {
    const module = await loadRopeModule({ backend });
    // Warm-up: the allocator's first use adds bookkeeping of its own.
    const warm = module.createRope({ headDim: 4 });
    warm.apply({ q: new Float32Array(4), nQHeads: 1, positions: [0] });
    warm.free();

    it(`${CYCLES} create/table/apply/free cycles leave heapInUse() and the memory size where they started`, async () => {
      const heapAtStart = module.heapInUse();
      const probe = module.allocFloat32(1);
      const memoryAtStart = probe.array.buffer.byteLength;
      probe.free();
      const rng = makeRng(2024);
      const tensors = SMALL.map(() => null);
      let rejected = 0;
      for (let cycle = 0; cycle < CYCLES; cycle++) {
        const index = cycle % SMALL.length;
        // Every 64th cycle goes through the async createRope on the same shared module.
        const rope = cycle % 64 === 0 ? await createRope(SMALL[index], { backend }) : module.createRope(SMALL[index]);
        assert.equal(rope.module, module);
        const { headDim } = rope;
        tensors[index] ??= { q: rng.float32Array(2 * 4 * headDim), k: rng.float32Array(2 * 2 * headDim) };
        const positions = [cycle, (cycle * 7919) % 100000];
        rope.table(positions, cycle % 5 === 0 ? 1 + (cycle % 4096) : undefined);
        rope.apply({ ...tensors[index], nQHeads: 4, nKHeads: 2, positions, layout: cycle % 2 ? 'thd' : 'htd' });
        if (cycle % 10 === 0) {
          const buffer = module.allocFloat32(4 * headDim);
          rope.apply({ q: buffer, nQHeads: 2, positions });
          buffer.free();
        }
        if (cycle % 10 === 5) {
          assert.throws(() => module.createRope(INVALID[cycle % INVALID.length]), RangeError);
          assert.throws(() => rope.apply({ q: new Float32Array(3), nQHeads: 1, positions: [0] }), RangeError);
          rejected += 2;
        }
        rope.free();
        if ((cycle + 1) % CHECK_EVERY === 0 && module.heapInUse() !== heapAtStart) {
          assert.fail(`after cycle ${cycle}: heap in use ${module.heapInUse()} bytes, ${heapAtStart} at the start`);
        }
      }
      assert.equal(rejected, CYCLES / 5);
      assert.equal(module.heapInUse(), heapAtStart);
      const after = module.allocFloat32(1);
      assert.equal(after.array.buffer.byteLength, memoryAtStart, 'the memory did not grow over the cycles');
      after.free();
    });

    it('memory growth inside apply leaves WasmFloat32Array.array valid and every result right', () => {
      const rope = module.createRope({ head_dim: 64, rope_theta: 1e6, max_position_embeddings: 8192 });
      const rng = makeRng(7);
      const nKHeads = 2;
      const kPositions = [0, 1, 2, 4095, 8191];
      const k = module.allocFloat32(kPositions.length * nKHeads * 64);
      const kData = rng.float32Array(k.length);
      k.array.set(kData);
      // A copied q larger than the whole memory, with a one-head k that
      // lives in WebAssembly memory. apply() copies such a mix whole (only
      // calls whose tensors are all copied go in blocks), so its own
      // allocation must grow the memory.
      const nQHeads = 8;
      const tokens = Math.ceil((k.array.buffer.byteLength + 64 * MIB) / (4 * nQHeads * 64));
      const positions = Int32Array.from({ length: tokens }, (_, t) => (t * 131) % 1000000);
      const q = rng.float32Array(tokens * nQHeads * 64);
      const qExpected = q.slice();
      const wide = module.allocFloat32(tokens * 64);
      const wideData = rng.float32Array(wide.length);
      wide.array.set(wideData);
      const wideExpected = wideData.slice();
      const staleView = k.array;
      const memoryBefore = staleView.buffer.byteLength;
      try {
        // q and k need one position list: rotate k alone first, the reference for later.
        const kExpected = kData.slice();
        rope.apply({ q: kExpected, nQHeads: nKHeads, positions: kPositions });

        rope.apply({ q, k: wide, nQHeads, nKHeads: 1, positions });
        assert.equal(staleView.length, 0, 'the memory grew during apply, detaching views taken before it');
        assert.ok(k.array.buffer.byteLength > memoryBefore, 'k.array sees the grown memory');
        assertSameBits(k.array, kData, 'k, untouched by an apply of other tensors');

        // The same q and k rotated in chunks of 1000 tokens that need no growth.
        for (let start = 0; start < tokens; start += 1000) {
          const end = Math.min(tokens, start + 1000);
          rope.apply({
            q: qExpected.subarray(start * nQHeads * 64, end * nQHeads * 64),
            k: wideExpected.subarray(start * 64, end * 64),
            nQHeads,
            nKHeads: 1,
            positions: positions.subarray(start, end),
          });
        }
        assertSameBits(q, qExpected, 'q rotated during growth vs in chunks');
        assertSameBits(wide.array, wideExpected, 'k rotated during growth vs in chunks');

        // After growth, in place on k.
        rope.apply({ q: k, nQHeads: nKHeads, positions: kPositions });
        assertSameBits(k.array, kExpected, 'k rotated in place after growth');
      } finally {
        k.free();
        wide.free();
        rope.free();
      }
    });

    it('memory growth between calls leaves tables and frequencies returned earlier intact', () => {
      const rope = module.createRope(readJson(`${PRESETS_DIR}qwen2.5-7b-yarn.json`));
      const buffers = [];
      try {
        const positions = [0, 1, 32767, 2 ** 31 - 1];
        const table = rope.table(positions);
        const invFreq = rope.invFreq();
        const copies = { cos: table.cos.slice(), sin: table.sin.slice(), invFreq: invFreq.slice() };
        const view = module.allocFloat32(1);
        buffers.push(view);
        const stale = view.array;
        while (stale.length !== 0 && buffers.length < 16) buffers.push(module.allocFloat32(32 * MIB / 4));
        assert.equal(stale.length, 0, 'the memory grew');
        assertSameBits(table.cos, copies.cos, 'cos returned before growth');
        assertSameBits(table.sin, copies.sin, 'sin returned before growth');
        assert.deepEqual(Array.from(invFreq), Array.from(copies.invFreq));
        const again = rope.table(positions);
        assertSameBits(again.cos, copies.cos, 'cos after growth');
        assertSameBits(again.sin, copies.sin, 'sin after growth');
      } finally {
        for (const buffer of buffers) buffer.free();
        rope.free();
      }
    });
  });
}

describe('many independent modules and ropes in one process', () => {
  const CONFIGS = ['llama-3.1-8b.json', 'gpt-j-6b.json', 'phi-3-vision-128k.json', 'llama-2-7b-dynamic-ntk.json', 'qwen2.5-7b-yarn.json']
    .map((file) => readJson(PRESETS_DIR + file));
  const POSITIONS = [0, 3, 4096, 8192, 131071];

  /** Loads every kind of module a program can get: shared ones, and one per kind of `wasm` source. */
  async function loadModules() {
    const simdBytes = readFileSync(SIMD_URL);
    const scalarBytes = readFileSync(SCALAR_URL);
    return [
      ['shared auto', await loadRopeModule()],
      ['shared scalar', await loadRopeModule({ backend: 'scalar' })],
      ['simd128 from a URL', await loadRopeModule({ backend: 'simd128', wasm: SIMD_URL })],
      ['simd128 from the same URL as a string', await loadRopeModule({ backend: 'simd128', wasm: SIMD_URL.href })],
      ['scalar from a Uint8Array', await loadRopeModule({ backend: 'scalar', wasm: new Uint8Array(scalarBytes) })],
      ['scalar from an ArrayBuffer', await loadRopeModule({
        backend: 'scalar', wasm: scalarBytes.buffer.slice(scalarBytes.byteOffset, scalarBytes.byteOffset + scalarBytes.length),
      })],
      ['auto from { simd128, scalar } bytes', await loadRopeModule({ wasm: { simd128: simdBytes, scalar: scalarBytes } })],
      ['scalar from { scalar } alone', await loadRopeModule({ backend: 'scalar', wasm: { scalar: SCALAR_URL } })],
    ];
  }

  it('concurrent loads of a shared module give one module; a `wasm` source gives a new one each time', async () => {
    const shared = await Promise.all(Array.from({ length: 50 }, (_, i) => loadRopeModule({ backend: i % 2 ? 'auto' : undefined })));
    assert.ok(shared.every((m) => m === shared[0]), 'one shared module');
    const own = await Promise.all([1, 2, 3].map(() => loadRopeModule({ backend: 'simd128', wasm: SIMD_URL })));
    assert.equal(new Set([...own, shared[0]]).size, 4, 'each `wasm` load is its own instance');
  });

  it('eight modules used interleaved stay independent', async () => {
    const modules = await loadModules();
    // The reference: each config alone on a module of its own.
    const reference = new Map();
    for (const backend of ['simd128', 'scalar']) {
      const alone = await loadRopeModule({ backend, wasm: backend === 'simd128' ? SIMD_URL : SCALAR_URL });
      CONFIGS.forEach((config, c) => {
        const rope = alone.createRope(config);
        try {
          const q = makeRng(c).float32Array(POSITIONS.length * 2 * rope.headDim);
          rope.apply({ q, nQHeads: 2, positions: POSITIONS });
          reference.set(`${backend} ${c}`, { q, table: rope.table(POSITIONS), invFreq: Array.from(rope.invFreq(100000)) });
        } finally {
          rope.free();
        }
      });
    }

    // A module's first allocation adds allocator bookkeeping of its own.
    for (const [, m] of modules) m.allocFloat32(1).free();
    const heapsAtStart = modules.map(([, m]) => m.heapInUse());
    const live = [];
    modules.forEach(([name, module], m) => {
      CONFIGS.forEach((config, c) => {
        if ((m + c) % 2 === 0) live.push({ name, module, m, c, rope: module.createRope(config) });
      });
    });
    // One module switches to scalar kernels mid-way; the others keep theirs.
    const switched = modules.find(([name]) => name === 'simd128 from a URL')[1];
    const kernelsBefore = modules.map(([, m]) => m.kernel);
    const rng = makeRng(99);
    const extra = [];
    try {
      for (let step = 0; step < 400; step++) {
        if (step === 200) switched.setKernel('scalar');
        const entry = live[rng.int(0, live.length - 1)];
        const expected = reference.get(`${entry.module.backend} ${entry.c}`);
        const label = `${entry.name}, config ${entry.c}, step ${step}`;
        const op = rng.int(0, 3);
        if (op === 0) {
          const q = makeRng(entry.c).float32Array(POSITIONS.length * 2 * entry.rope.headDim);
          entry.rope.apply({ q, nQHeads: 2, positions: POSITIONS });
          assertSameBits(q, expected.q, `${label} apply`);
        } else if (op === 1) {
          const table = entry.rope.table(POSITIONS);
          assertSameBits(table.cos, expected.table.cos, `${label} cos`);
          assertSameBits(table.sin, expected.table.sin, `${label} sin`);
        } else if (op === 2) {
          assert.deepEqual(Array.from(entry.rope.invFreq(100000)), expected.invFreq, `${label} invFreq`);
        } else {
          // Allocate in one module and check no other module's heap moved.
          const others = modules.map(([, m]) => m.heapInUse());
          const buffer = entry.module.allocFloat32(rng.int(1, 200000));
          modules.forEach(([name, m], i) => {
            if (m !== entry.module) assert.equal(m.heapInUse(), others[i], `${name} heap moved when ${entry.name} allocated`);
          });
          extra.push(buffer);
          if (extra.length > 8) extra.shift().free();
        }
      }
      modules.forEach(([name, m], i) => {
        const expected = m === switched ? 'scalar' : kernelsBefore[i];
        assert.equal(m.kernel, expected, `${name} kernel`);
      });
    } finally {
      for (const buffer of extra) buffer.free();
      for (const { rope } of live) rope.free();
      switched.setKernel('auto');
    }
    modules.forEach(([name, m], i) => assert.equal(m.heapInUse(), heapsAtStart[i], `${name} heap back to its start`));
  });

  it('a `wasm` source that is the wrong build, or of the wrong kind, is refused with its name', async () => {
    await assert.rejects(loadRopeModule({ backend: 'simd128', wasm: SCALAR_URL }), (error) => {
      assert.equal(error.constructor, RangeError);
      assert.match(error.message, /wasm gave the scalar build, but the simd128 build was chosen/);
      return true;
    });
    await assert.rejects(loadRopeModule({ backend: 'scalar', wasm: { simd128: SIMD_URL } }), (error) => {
      assert.equal(error.constructor, TypeError);
      assert.match(error.message, /wasm\.scalar is missing/);
      return true;
    });
    await assert.rejects(loadRopeModule({ wasm: { simd: SIMD_URL } }), /wasm has the key "simd"; expected only 'simd128' and 'scalar'/);
    await assert.rejects(loadRopeModule({ wasm: 42 }), (error) => error instanceof TypeError && /wasm is 42\b/.test(error.message));
    await assert.rejects(loadRopeModule({ wasm: { scalar: 42 }, backend: 'scalar' }), /wasm\.scalar is 42\b.*URL, a string or bytes/);
    await assert.rejects(loadRopeModule({ wasm: new Uint8Array([0, 97, 115, 109]) }), WebAssembly.CompileError);
    await assert.rejects(loadRopeModule({ wasm: `${ROOT}web/wasm/missing.wasm`, backend: 'scalar' }), /ENOENT/);
    // The shared module is still fine after all of that.
    const rope = await createRope({ headDim: 8 });
    assert.equal(rope.table([0]).cos[0], 1);
    rope.free();
  });
});

describe('requests larger than 32-bit WebAssembly memory', () => {
  it('oversized table fails without corrupting the heap', async () => {
      const module = await loadRopeModule({ backend: 'scalar', wasm: SCALAR_URL });
      const big = module.createRope({ headDim: 65536 });
      const positions = new Int32Array(32769);
      // Put a small rope just above the block a wrapped byte count would get.
      const wrapped = (4 * positions.length + 8 * positions.length * 32768) % 2 ** 32;
      const spacer = module.allocFloat32(Math.ceil(wrapped / 4) + 1024);
      const victim = module.createRope({ headDim: 8 });
      const invFreq = Array.from(victim.invFreq());
      spacer.free();
      assert.throws(() => big.table(positions), (error) => error instanceof RangeError || /out of memory/.test(error.message));
      assert.deepEqual(Array.from(victim.invFreq()), invFreq, 'the other rope is intact');
      victim.free();
      big.free();
    });
});
