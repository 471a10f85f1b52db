// An engine without WebAssembly SIMD128, imitated in node: WebAssembly.validate
// refuses everything (so it refuses the SIMD probe), and fresh copies of the
// entry modules must pick the scalar build on their own.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

const validate = WebAssembly.validate;
const TABLE_POSITIONS = [0, 1, 4095, 2 ** 31 - 1];
const CONFIG = { hidden_size: 256, num_attention_heads: 4, max_position_embeddings: 4096, rope_scaling: { rope_type: 'yarn', factor: 4 } };

async function tableOf(entry) {
  const rope = await entry.createRope(CONFIG);
  try {
    const { cos, sin } = rope.table(TABLE_POSITIONS);
    return { backend: rope.backend, cos, sin };
  } finally {
    rope.free();
  }
}

describe('an engine without SIMD128 gets the scalar build automatically', () => {
  let expected;
  before(async () => {
    const { loadRopeModule } = await import('../../web/rope.js?with-simd');
    const module = await loadRopeModule({ backend: 'scalar' });
    const rope = module.createRope(CONFIG);
    expected = rope.table(TABLE_POSITIONS);
    rope.free();
    WebAssembly.validate = () => false;
  });
  after(() => { WebAssembly.validate = validate; });

  it('rope-wasm: simd128Supported() is false, backend is scalar, numbers match the scalar build', async () => {
    const entry = await import('../../web/rope.js?no-simd');
    assert.equal(entry.simd128Supported(), false);
    const { backend, cos, sin } = await tableOf(entry);
    assert.equal(backend, 'scalar');
    assert.deepEqual(cos, expected.cos);
    assert.deepEqual(sin, expected.sin);
    await assert.rejects(entry.loadRopeModule({ backend: 'simd128' }), (error) => {
      assert.equal(error.constructor, RangeError);
      assert.match(error.message, /backend is 'simd128', but this engine does not support WebAssembly SIMD128/);
      return true;
    });
  });

  it('rope-wasm/inline: decodes and runs the embedded scalar build', async () => {
    const entry = await import('../../web/wasm/inline.js?no-simd');
    const { backend, cos, sin } = await tableOf(entry);
    assert.equal(backend, 'scalar');
    assert.deepEqual(cos, expected.cos);
    assert.deepEqual(sin, expected.sin);
  });

  it('with validate restored, a fresh import picks simd128 again', async () => {
    WebAssembly.validate = validate;
    try {
      const entry = await import('../../web/rope.js?simd-again');
      assert.equal((await tableOf(entry)).backend, 'simd128');
    } finally {
      WebAssembly.validate = () => false;
    }
  });
});
