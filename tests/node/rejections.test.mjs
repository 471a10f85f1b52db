// Bad inputs: each must throw the stated error class with a message that
// names the option or config key and the value, and leave the module usable.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { createRope, loadRopeModule } from '../../web/rope.js';

const LONGROPE = {
  ropeType: 'longrope', headDim: 8, maxPositionEmbeddings: 4096, originalMaxPositionEmbeddings: 1024,
  shortFactor: [1, 1, 1, 1], longFactor: [1, 2, 3, 4],
};
const LLAMA3 = {
  ropeType: 'llama3', headDim: 16, factor: 8, lowFreqFactor: 1, highFreqFactor: 4, originalMaxPositionEmbeddings: 8192,
};
const CONFIG = { hidden_size: 128, num_attention_heads: 4, max_position_embeddings: 4096, rope_theta: 10000 };

/** [description, createRope argument, error class, message pattern]. */
const BAD_OPTIONS = [
  ['headDim odd', { headDim: 15 }, RangeError, /headDim is 15\b.*even integer from 2 to 65536/],
  ['headDim 0', { headDim: 0 }, RangeError, /headDim is 0\b.*from 2 to 65536/],
  ['headDim negative', { headDim: -2 }, RangeError, /headDim is -2\b.*from 2 to 65536/],
  ['headDim fractional', { headDim: 2.5 }, RangeError, /headDim is 2\.5\b.*from 2 to 65536/],
  ['headDim huge', { headDim: 2 ** 20 }, RangeError, /headDim is 1048576\b.*from 2 to 65536/],
  ['headDim a string', { headDim: '16' }, TypeError, /headDim is "16".*integer/],
  ['headDim missing', { headDim: undefined }, RangeError, /headDim is missing/],
  ['rotaryDim > headDim', { headDim: 16, rotaryDim: 32 }, RangeError, /rotaryDim is 32\b.*head_dim \(16\)/],
  ['rotaryDim odd', { headDim: 16, rotaryDim: 7 }, RangeError, /rotaryDim is 7\b.*even/],
  ['partialRotaryFactor > 1', { headDim: 16, partialRotaryFactor: 1.5 }, RangeError, /partialRotaryFactor is 1\.5\b.*\(0, 1\]/],
  ['base 0', { headDim: 16, base: 0 }, RangeError, /base is 0\b.*greater than 1/],
  ['base 1', { headDim: 16, base: 1 }, RangeError, /base is 1\b.*greater than 1/],
  ['base -1', { headDim: 16, base: -1 }, RangeError, /base is -1\b.*greater than 1/],
  ['base NaN', { headDim: 16, base: NaN }, RangeError, /base is NaN\b.*finite/],
  ['base Infinity', { headDim: 16, base: Infinity }, RangeError, /base is Infinity\b.*finite/],
  ['base a string', { headDim: 16, base: '10000' }, TypeError, /base is "10000".*number/],
  ['factor 0.5', { headDim: 16, ropeType: 'linear', factor: 0.5 }, RangeError, /factor is 0\.5\b.*>= 1/],
  ['factor NaN', { headDim: 16, ropeType: 'linear', factor: NaN }, RangeError, /factor is NaN\b.*>= 1/],
  ['pairing foo', { headDim: 16, pairing: 'foo' }, RangeError, /pairing is "foo".*"half" or "interleaved"/],
  ['ropeType bogus', { headDim: 16, ropeType: 'bogus' }, RangeError, /ropeType is "bogus".*default, linear, dynamic, yarn, longrope, llama3/],
  ['linear without factor', { headDim: 16, ropeType: 'linear' }, RangeError, /factor is missing.*linear/],
  ['dynamic without factor', { headDim: 16, ropeType: 'dynamic', maxPositionEmbeddings: 4096 }, RangeError, /factor is missing.*dynamic/],
  ['dynamic without maxPositionEmbeddings', { headDim: 16, ropeType: 'dynamic', factor: 2 }, RangeError, /maxPositionEmbeddings is missing.*dynamic/],
  ['yarn without factor', { headDim: 16, ropeType: 'yarn', maxPositionEmbeddings: 4096 }, RangeError, /factor is missing.*yarn/],
  ['yarn without any context length', { headDim: 16, ropeType: 'yarn', factor: 2 }, RangeError, /originalMaxPositionEmbeddings is missing.*yarn/],
  ['llama3 without lowFreqFactor', { ...LLAMA3, lowFreqFactor: undefined }, RangeError, /lowFreqFactor is missing.*llama3/],
  ['llama3 without highFreqFactor', { ...LLAMA3, highFreqFactor: undefined }, RangeError, /highFreqFactor is missing.*llama3/],
  ['llama3 without originalMaxPositionEmbeddings', { ...LLAMA3, originalMaxPositionEmbeddings: undefined }, RangeError, /originalMaxPositionEmbeddings is missing.*llama3/],
  ['llama3 without factor', { ...LLAMA3, factor: undefined }, RangeError, /factor is missing.*llama3/],
  ['longrope without shortFactor', { ...LONGROPE, shortFactor: undefined }, RangeError, /shortFactor is missing.*longrope/],
  ['longrope without longFactor', { ...LONGROPE, longFactor: undefined }, RangeError, /longFactor is missing.*longrope/],
  ['longrope without maxPositionEmbeddings', { ...LONGROPE, maxPositionEmbeddings: undefined }, RangeError, /maxPositionEmbeddings is missing.*longrope/],
  ['shortFactor too short', { ...LONGROPE, shortFactor: [1, 1, 1] }, RangeError, /shortFactor has 3 entries.*rotary_dim \/ 2 = 4/],
  ['longFactor too long', { ...LONGROPE, longFactor: [1, 2, 3, 4, 5] }, RangeError, /longFactor has 5 entries.*= 4/],
  ['longFactor entry 0', { ...LONGROPE, longFactor: [1, 2, 0, 4] }, RangeError, /longFactor\[2\] is 0\b.*> 0/],
  ['shortFactor entry negative', { ...LONGROPE, shortFactor: [1, -1, 1, 1] }, RangeError, /shortFactor\[1\] is -1\b.*> 0/],
  ['shortFactor entry NaN', { ...LONGROPE, shortFactor: [1, 1, NaN, 1] }, RangeError, /shortFactor\[2\] is NaN\b/],
  ['longFactor not an array', { ...LONGROPE, longFactor: 2 }, TypeError, /longFactor is 2\b.*array of 4 numbers/],
  ['lowFreqFactor == highFreqFactor', { ...LLAMA3, lowFreqFactor: 4, highFreqFactor: 4 }, RangeError, /highFreqFactor is 4\b.*greater than lowFreqFactor \(4\)/],
  ['lowFreqFactor > highFreqFactor', { ...LLAMA3, lowFreqFactor: 4, highFreqFactor: 1 }, RangeError, /highFreqFactor is 1\b.*lowFreqFactor \(4\)/],
  ['original > max', { headDim: 16, maxPositionEmbeddings: 4096, originalMaxPositionEmbeddings: 8192 }, RangeError, /originalMaxPositionEmbeddings is 8192\b.*maxPositionEmbeddings \(4096\)/],
  ['unknown option key', { headDim: 16, bogusKey: 1 }, TypeError, /unknown option "bogusKey"/],
  ['snake_case key in options', { headDim: 16, rope_theta: 1e6 }, TypeError, /unknown option "rope_theta"/],
];

const BAD_CONFIGS = [
  ['a string', 'config.json', TypeError, /createRope argument is "config\.json"/],
  ['a number', 42, TypeError, /createRope argument is 42\b/],
  ['null', null, TypeError, /createRope argument is null\b/],
  ['an array', [CONFIG], TypeError, /createRope argument is an array/],
  ['type and rope_type disagree', { ...CONFIG, rope_scaling: { type: 'linear', rope_type: 'yarn', factor: 2 } }, RangeError,
    /rope_scaling\.type is "linear" but rope_scaling\.rope_type is "yarn"/],
  ['hidden_size not a multiple of heads', { hidden_size: 100, num_attention_heads: 3 }, RangeError,
    /hidden_size \(100\) is not a multiple of num_attention_heads \(3\)/],
  ['no head dims at all', { num_attention_heads: 4 }, RangeError, /head_dim is missing/],
  ['num_attention_heads 0', { hidden_size: 128, num_attention_heads: 0 }, RangeError, /num_attention_heads is 0\b.*positive integer/],
  ['rope_theta 0', { ...CONFIG, rope_theta: 0 }, RangeError, /rope_theta is 0\b.*greater than 1/],
  ['rope_scaling a string', { ...CONFIG, rope_scaling: 'yarn' }, TypeError, /rope_scaling is "yarn".*object or null/],
  ['rope_scaling.factor below 1', { ...CONFIG, rope_scaling: { rope_type: 'linear', factor: 0.25 } }, RangeError, /rope_scaling\.factor is 0\.25\b/],
  ['rope_parameters.rope_theta 1', { ...CONFIG, rope_parameters: { rope_type: 'default', rope_theta: 1 } }, RangeError, /rope_parameters\.rope_theta is 1\b/],
  ['rope_scaling.rope_type unknown', { ...CONFIG, rope_scaling: { rope_type: 'ntk', factor: 2 } }, RangeError, /rope_scaling\.rope_type is "ntk"/],
  ['long_factor wrong length', {
    ...CONFIG, max_position_embeddings: 8192,
    rope_scaling: { type: 'longrope', original_max_position_embeddings: 4096, short_factor: Array(16).fill(1), long_factor: [1, 2] },
  }, RangeError, /rope_scaling\.long_factor has 2 entries.*= 16/],
  // A config user has to add the config key, so the message should name it
  // rather than the camelCase option.
  ['llama3 without low_freq_factor', {
    ...CONFIG, rope_scaling: { rope_type: 'llama3', factor: 8, high_freq_factor: 4, original_max_position_embeddings: 1024 },
  }, RangeError, /low_freq_factor is missing/],
  ['linear without factor', { ...CONFIG, rope_scaling: { rope_type: 'linear' } }, RangeError, /factor is missing.*linear/],
  // head_dim 32 * 0.3 = 9.6, truncated to 9 as transformers does: odd.
  ['partial_rotary_factor giving an odd rotary dim', { ...CONFIG, partial_rotary_factor: 0.3 }, RangeError,
    /partial_rotary_factor\) is 9\b.*even/],
];

const BAD_POSITIONS = [
  ['negative', [0, -1], RangeError, /positions\[1\] is -1\b.*0 to 2147483647/],
  ['fractional', [1.5], RangeError, /positions\[0\] is 1\.5\b/],
  ['2^31', [2 ** 31], RangeError, /positions\[0\] is 2147483648\b.*0 to 2147483647/],
  ['NaN', [3, NaN], RangeError, /positions\[1\] is NaN\b/],
  ['a string entry', [0, '1'], TypeError, /positions\[1\] is "1"/],
  ['not an array', 'abc', TypeError, /positions is "abc".*array or Int32Array/],
  ['a number', 5, TypeError, /positions is 5\b.*array/],
  ['null', null, TypeError, /positions is null\b/],
  ['negative in an Int32Array', new Int32Array([0, 4, -3]), RangeError, /positions\[2\] is -3\b/],
  ['2^31 in a Float64Array', new Float64Array([2 ** 31]), RangeError, /positions\[0\] is 2147483648\b/],
];

const BAD_SEQ_LENS = [
  ['0', 0, RangeError, /seqLen is 0\b.*>= 1/],
  ['-1', -1, RangeError, /seqLen is -1\b.*>= 1/],
  ['1.5', 1.5, RangeError, /seqLen is 1\.5\b.*>= 1/],
  ['NaN', NaN, RangeError, /seqLen is NaN\b/],
  ['a string', '4', TypeError, /seqLen is "4"/],
];

/** A good call on the same module: a real value, not only "no throw". */
function assertStillWorks(module) {
  const rope = module.createRope({ headDim: 4 });
  try {
    const q = new Float32Array([1, 2, 3, 4]);
    rope.apply({ q, nQHeads: 1, positions: [0] });
    assert.deepEqual(Array.from(q), [1, 2, 3, 4], 'position 0 leaves q unchanged');
    const { sin } = rope.table([1]);
    assert.ok(Math.abs(sin[0] - Math.sin(1)) < 1e-7, `sin(1) is ${sin[0]}, expected ${Math.sin(1)}`);
  } finally {
    rope.free();
  }
}

function assertRejects(call, ErrorClass, pattern) {
  assert.throws(call, (error) => {
    assert.equal(error.constructor, ErrorClass, `threw ${error.constructor.name}: ${error.message}`);
    assert.match(error.message, pattern);
    return true;
  });
}

for (const backend of ['simd128', 'scalar']) {
  describe(`rejections, ${backend} build`, async () => {
    const module = await loadRopeModule({ backend });
    // The allocator's first malloc adds a few bytes of its own bookkeeping,
    // so the baseline is taken after one good call.
    assertStillWorks(module);
    const heapAtStart = module.heapInUse();

    for (const [name, options, ErrorClass, pattern] of BAD_OPTIONS) {
      it(`options: ${name}`, async () => {
        assertRejects(() => module.createRope(options), ErrorClass, pattern);
        await assert.rejects(createRope(options, { backend }), (error) => {
          assert.equal(error.constructor, ErrorClass);
          assert.match(error.message, pattern);
          return true;
        });
        assertStillWorks(module);
      });
    }

    for (const [name, config, ErrorClass, pattern] of BAD_CONFIGS) {
      it(`config: ${name}`, () => {
        assertRejects(() => module.createRope(config), ErrorClass, pattern);
        assertStillWorks(module);
      });
    }

    describe('positions and seqLen', () => {
      for (const [name, positions, ErrorClass, pattern] of BAD_POSITIONS) {
        it(`positions ${name}: table and apply`, () => {
          const rope = module.createRope({ headDim: 8 });
          try {
            assertRejects(() => rope.table(positions), ErrorClass, pattern);
            const q = new Float32Array(8 * (positions?.length ?? 1));
            assertRejects(() => rope.apply({ q, nQHeads: 1, positions }), ErrorClass, pattern);
          } finally {
            rope.free();
          }
          assertStillWorks(module);
        });
      }
      for (const [name, seqLen, ErrorClass, pattern] of BAD_SEQ_LENS) {
        it(`seqLen ${name}: invFreq, table and apply`, () => {
          const rope = module.createRope({ headDim: 8, ropeType: 'dynamic', factor: 2, maxPositionEmbeddings: 16 });
          try {
            assertRejects(() => rope.invFreq(seqLen), ErrorClass, pattern);
            assertRejects(() => rope.table([0, 1], seqLen), ErrorClass, pattern);
            assertRejects(() => rope.apply({ q: new Float32Array(8), nQHeads: 1, positions: [0], seqLen }), ErrorClass, pattern);
          } finally {
            rope.free();
          }
          assertStillWorks(module);
        });
      }
    });

    describe('apply arguments', () => {
      const APPLY_CASES = [
        ['q one element short', { q: new Float32Array(15), nQHeads: 2, positions: [0] }, RangeError,
          /q has 15 elements; expected .* = 1 \* 2 \* 8 = 16/],
        ['q one element long', { q: new Float32Array(17), nQHeads: 2, positions: [0] }, RangeError, /q has 17 elements/],
        ['k length wrong', { q: new Float32Array(16), nQHeads: 2, k: new Float32Array(9), nKHeads: 1, positions: [0] }, RangeError,
          /k has 9 elements; expected .* = 1 \* 1 \* 8 = 8/],
        ['q missing', { nQHeads: 1, positions: [0] }, TypeError, /q is undefined.*Float32Array or WasmFloat32Array/],
        ['q a plain array', { q: [1, 2, 3, 4, 5, 6, 7, 8], nQHeads: 1, positions: [0] }, TypeError, /q is an array of length 8/],
        ['q a Float64Array', { q: new Float64Array(8), nQHeads: 1, positions: [0] }, TypeError, /q is a Float64Array of length 8/],
        ['nQHeads missing', { q: new Float32Array(8), positions: [0] }, TypeError, /nQHeads is undefined/],
        ['nQHeads 0', { q: new Float32Array(8), nQHeads: 0, positions: [0] }, RangeError, /nQHeads is 0\b/],
        ['nKHeads without k', { q: new Float32Array(8), nQHeads: 1, nKHeads: 1, positions: [0] }, TypeError, /k is missing but nKHeads is 1\b/],
        ['positions missing', { q: new Float32Array(8), nQHeads: 1 }, TypeError, /positions is undefined/],
        ['layout xyz', { q: new Float32Array(8), nQHeads: 1, positions: [0], layout: 'xyz' }, RangeError, /layout is "xyz".*'thd'.*'htd'/],
        ['layout toString', { q: new Float32Array(8), nQHeads: 1, positions: [0], layout: 'toString' }, RangeError, /layout is "toString".*'thd'.*'htd'/],
        ['layout __proto__', { q: new Float32Array(8), nQHeads: 1, positions: [0], layout: '__proto__' }, RangeError, /layout is "__proto__".*'thd'.*'htd'/],
      ];
      for (const [name, args, ErrorClass, pattern] of APPLY_CASES) {
        it(name, () => {
          const rope = module.createRope({ headDim: 8 });
          try {
            const before = args.q instanceof Float32Array ? args.q.slice() : null;
            if (before) args.q.fill(0.5);
            assertRejects(() => rope.apply(args), ErrorClass, pattern);
            if (before) assert.ok(args.q.every((v) => v === 0.5), 'a rejected apply leaves q untouched');
          } finally {
            rope.free();
          }
          assertStillWorks(module);
        });
      }

      it('a freed rope rejects every call', () => {
        const rope = module.createRope({ headDim: 8 });
        rope.free();
        rope.free(); // a second free is a no-op
        assertRejects(() => rope.invFreq(), TypeError, /Rope was freed/);
        assertRejects(() => rope.table([0]), TypeError, /Rope was freed/);
        assertRejects(() => rope.apply({ q: new Float32Array(8), nQHeads: 1, positions: [0] }), TypeError, /Rope was freed/);
        assertStillWorks(module);
      });

      it('a WasmFloat32Array from another module is rejected', async () => {
        const other = await loadRopeModule({ backend: backend === 'scalar' ? 'simd128' : 'scalar' });
        const foreign = other.allocFloat32(16);
        const rope = module.createRope({ headDim: 8 });
        try {
          assertRejects(() => rope.apply({ q: foreign, nQHeads: 2, positions: [0] }), TypeError, /q belongs to another RopeModule/);
          const own = module.allocFloat32(8);
          try {
            assertRejects(() => rope.apply({ q: own, nQHeads: 1, positions: [0], k: foreign, nKHeads: 2 }), TypeError, /k belongs to another RopeModule/);
          } finally {
            own.free();
          }
        } finally {
          foreign.free();
          rope.free();
        }
        assertStillWorks(module);
      });

      it('a freed WasmFloat32Array is rejected', () => {
        const buffer = module.allocFloat32(8);
        buffer.free();
        buffer.free(); // a second free is a no-op
        assertRejects(() => buffer.array, TypeError, /WasmFloat32Array was freed/);
        const rope = module.createRope({ headDim: 8 });
        try {
          assertRejects(() => rope.apply({ q: buffer, nQHeads: 1, positions: [0] }), TypeError, /q was freed/);
        } finally {
          rope.free();
        }
        assertStillWorks(module);
      });
    });

    describe('module arguments', () => {
      it('allocFloat32 length -1 and 2.5', () => {
        assertRejects(() => module.allocFloat32(-1), RangeError, /length is -1\b/);
        assertRejects(() => module.allocFloat32(2.5), RangeError, /length is 2\.5\b/);
        assertStillWorks(module);
      });
      it('loadRopeModule with bad options', async () => {
        // A promise-returning call: bad options reject it instead of throwing.
        const unknown = loadRopeModule({ backend, wasmUrl: 'x.wasm' });
        assert.ok(unknown instanceof Promise);
        await assert.rejects(unknown, { name: 'TypeError', message: /unknown load option "wasmUrl"; expected backend or wasm/ });
        await assert.rejects(loadRopeModule(null), { name: 'TypeError', message: /load options are null/ });
        assertStillWorks(module);
      });
      it('setKernel with an unknown name', () => {
        assertRejects(() => module.setKernel('avx'), RangeError, /kernel is "avx".*'auto', 'scalar' or 'simd128'/);
        assert.equal(module.kernel, backend);
        assertStillWorks(module);
      });
      if (backend === 'scalar') {
        it("setKernel('simd128') on the scalar build", () => {
          assertRejects(() => module.setKernel('simd128'), RangeError, /simd128/i);
          assert.equal(module.kernel, 'scalar');
          assertStillWorks(module);
        });
      }
      it('an unknown backend name', async () => {
        await assert.rejects(loadRopeModule({ backend: 'gpu' }), (error) => {
          assert.equal(error.constructor, RangeError);
          assert.match(error.message, /backend is "gpu".*'auto', 'simd128' or 'scalar'/);
          return true;
        });
        await assert.rejects(createRope({ headDim: 8 }, { backend: 'gpu' }), RangeError);
        assertStillWorks(module);
      });
    });

    it('no rejection above leaked heap memory', () => {
      assert.equal(module.heapInUse(), heapAtStart, `heap in use ${module.heapInUse()} bytes, ${heapAtStart} at the start`);
    });
  });
}
