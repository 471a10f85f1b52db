// ropeOptionsFromConfig: how Hugging Face config.json keys become createRope
// options, for every preset and for the key variants transformers accepts.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { createRope, ropeOptionsFromConfig } from '../../web/rope.js';
import { PRESETS_DIR, listJson, readJson } from './support.mjs';

// Expected values derived by hand from each preset file: headDim is head_dim,
// else hidden_size / num_attention_heads (n_embd / n_head for GPT-J);
// rotaryDim is rotary_dim, else headDim * (partial_rotary_factor or rotary_pct).
const PRESETS = {
  'gpt-j-6b.json': { ropeType: 'default', headDim: 256, rotaryDim: 64, pairing: 'interleaved', base: 10000, maxPositionEmbeddings: 2048 },
  'gpt-neox-20b.json': { ropeType: 'default', headDim: 96, rotaryDim: 24, pairing: 'half', base: 10000, maxPositionEmbeddings: 2048 },
  'llama-2-7b-dynamic-ntk.json': { ropeType: 'dynamic', headDim: 128, rotaryDim: 128, pairing: 'half', base: 10000, factor: 2, maxPositionEmbeddings: 4096 },
  'llama-2-7b.json': { ropeType: 'default', headDim: 128, rotaryDim: 128, pairing: 'half', base: 10000, maxPositionEmbeddings: 4096 },
  'llama-3.1-8b.json': {
    ropeType: 'llama3', headDim: 128, rotaryDim: 128, pairing: 'half', base: 500000, factor: 8,
    lowFreqFactor: 1, highFreqFactor: 4, originalMaxPositionEmbeddings: 8192, maxPositionEmbeddings: 131072,
  },
  'phi-2.json': { ropeType: 'default', headDim: 80, rotaryDim: 32, pairing: 'half', base: 10000, maxPositionEmbeddings: 2048 },
  'phi-3-vision-128k.json': {
    ropeType: 'longrope', headDim: 96, rotaryDim: 96, pairing: 'half', base: 10000,
    originalMaxPositionEmbeddings: 4096, maxPositionEmbeddings: 131072,
  },
  'qwen2.5-7b-yarn.json': {
    ropeType: 'yarn', headDim: 128, rotaryDim: 128, pairing: 'half', base: 1e6, factor: 4,
    originalMaxPositionEmbeddings: 32768, maxPositionEmbeddings: 32768,
  },
  'qwen3-8b.json': { ropeType: 'default', headDim: 128, rotaryDim: 128, pairing: 'half', base: 1e6, maxPositionEmbeddings: 40960 },
  'vicuna-13b-v1.5-16k-linear.json': { ropeType: 'linear', headDim: 128, rotaryDim: 128, pairing: 'half', base: 10000, factor: 4, maxPositionEmbeddings: 4096 },
};

describe('ropeOptionsFromConfig on the presets', () => {
  it('covers every file in web/presets', () => {
    assert.deepEqual(listJson(PRESETS_DIR), Object.keys(PRESETS).sort());
  });

  for (const [file, expected] of Object.entries(PRESETS)) {
    it(`${file}: ${expected.ropeType}, headDim ${expected.headDim}, rotaryDim ${expected.rotaryDim}, ${expected.pairing}`, async () => {
      const config = readJson(PRESETS_DIR + file);
      const options = ropeOptionsFromConfig(config);
      assert.equal(options.ropeType ?? 'default', expected.ropeType, 'ropeType');
      assert.equal(options.pairing ?? 'half', expected.pairing, 'pairing');
      assert.equal(options.base ?? 10000, expected.base, 'base (10000 when the config has none)');

      // The resolved values, after defaults and partial_rotary_factor / rotary_pct.
      const rope = await createRope(config, { backend: 'scalar' });
      try {
        for (const [key, value] of Object.entries(expected)) {
          if (key in rope) assert.equal(rope[key], value, key);
          else assert.equal(options[key], value, key);
        }
      } finally {
        rope.free();
      }
    });
  }

  it('phi-3: legacy type "su" is longrope with 48 short and long factors from the top-level original length', () => {
    const config = readJson(`${PRESETS_DIR}phi-3-vision-128k.json`);
    const options = ropeOptionsFromConfig(config);
    assert.equal(config.rope_scaling.type, 'su');
    assert.equal(options.ropeType, 'longrope');
    assert.equal(options.originalMaxPositionEmbeddings, 4096);
    assert.equal(options.shortFactor.length, 48);
    assert.equal(options.longFactor.length, 48);
    assert.equal(options.longFactor[47], 64.81001281738281);
    assert.equal(options.shortFactor[0], 1.05);
  });

  it('gpt-neox: rotary_pct and rotary_emb_base', () => {
    const options = ropeOptionsFromConfig(readJson(`${PRESETS_DIR}gpt-neox-20b.json`));
    assert.equal(options.partialRotaryFactor, 0.25);
    assert.equal(options.base, 10000);
    assert.equal(options.headDim, 96);
  });

  it('gpt-j: rotary_dim, n_embd / n_head, n_positions and model_type gptj', () => {
    const options = ropeOptionsFromConfig(readJson(`${PRESETS_DIR}gpt-j-6b.json`));
    assert.deepEqual(
      { headDim: options.headDim, rotaryDim: options.rotaryDim, pairing: options.pairing, maxPositionEmbeddings: options.maxPositionEmbeddings },
      { headDim: 256, rotaryDim: 64, pairing: 'interleaved', maxPositionEmbeddings: 2048 },
    );
    assert.equal(ropeOptionsFromConfig({ model_type: 'codegen', n_embd: 1024, n_head: 16 }).pairing, 'interleaved');
    assert.equal(ropeOptionsFromConfig({ model_type: 'llama', hidden_size: 1024, num_attention_heads: 16 }).pairing, undefined);
  });
});

describe('ropeOptionsFromConfig key variants', () => {
  const BASE = { hidden_size: 512, num_attention_heads: 8, max_position_embeddings: 32768 };

  it('legacy rope_scaling.type means the same as rope_type', () => {
    const legacy = ropeOptionsFromConfig({ ...BASE, rope_scaling: { type: 'linear', factor: 2 } });
    const current = ropeOptionsFromConfig({ ...BASE, rope_scaling: { rope_type: 'linear', factor: 2 } });
    assert.equal(legacy.ropeType, 'linear');
    assert.equal(legacy.factor, 2);
    assert.deepEqual({ ...legacy }, { ...current });
  });

  it('type and rope_type may both be given when they agree, also through the "su" alias', () => {
    assert.equal(ropeOptionsFromConfig({ ...BASE, rope_scaling: { type: 'yarn', rope_type: 'yarn', factor: 2 } }).ropeType, 'yarn');
    assert.equal(ropeOptionsFromConfig({ ...BASE, rope_scaling: { type: 'su', rope_type: 'longrope' } }).ropeType, 'longrope');
  });

  it('rope_parameters with rope_theta inside it', () => {
    const options = ropeOptionsFromConfig({
      ...BASE, rope_theta: 10000,
      rope_parameters: { rope_type: 'yarn', rope_theta: 1e6, factor: 4, original_max_position_embeddings: 8192 },
    });
    assert.equal(options.ropeType, 'yarn');
    assert.equal(options.base, 1e6, 'rope_parameters.rope_theta wins over the top-level rope_theta');
    assert.equal(options.factor, 4);
    assert.equal(options.originalMaxPositionEmbeddings, 8192);
    assert.equal(options.headDim, 64);
  });

  it('rope_parameters wins over rope_scaling', () => {
    const options = ropeOptionsFromConfig({
      ...BASE, rope_scaling: { rope_type: 'linear', factor: 8 }, rope_parameters: { rope_type: 'default', rope_theta: 20000 },
    });
    assert.equal(options.ropeType, 'default');
    assert.equal(options.factor, undefined);
    assert.equal(options.base, 20000);
  });

  it('rope_scaling null and a missing rope_scaling both mean default', () => {
    assert.equal(ropeOptionsFromConfig({ ...BASE, rope_scaling: null }).ropeType, undefined);
    assert.equal(ropeOptionsFromConfig(BASE).ropeType, undefined);
  });

  it('head_dim wins over hidden_size / num_attention_heads', () => {
    assert.equal(ropeOptionsFromConfig({ ...BASE, head_dim: 128 }).headDim, 128);
    assert.equal(ropeOptionsFromConfig(BASE).headDim, 64);
  });

  it('partial_rotary_factor inside the scaling dict, at top level, and rotary_pct', async () => {
    assert.equal(ropeOptionsFromConfig({ ...BASE, partial_rotary_factor: 0.5 }).partialRotaryFactor, 0.5);
    assert.equal(ropeOptionsFromConfig({ ...BASE, rotary_pct: 0.25 }).partialRotaryFactor, 0.25);
    assert.equal(ropeOptionsFromConfig({ ...BASE, rope_parameters: { rope_type: 'default', partial_rotary_factor: 0.75 } }).partialRotaryFactor, 0.75);
    const rope = await createRope({ ...BASE, partial_rotary_factor: 0.25 }, { backend: 'scalar' });
    try {
      assert.equal(rope.rotaryDim, 16);
      assert.equal(rope.headDim, 64);
    } finally {
      rope.free();
    }
  });

  it('yarn and llama3 parameters are read from the scaling dict', () => {
    const yarn = ropeOptionsFromConfig({
      ...BASE,
      rope_scaling: {
        rope_type: 'yarn', factor: 40, beta_fast: 16, beta_slow: 2, mscale: 0.707, mscale_all_dim: 0.5,
        attention_factor: 1.1, truncate: false, original_max_position_embeddings: 4096,
      },
    });
    assert.deepEqual(
      [yarn.factor, yarn.betaFast, yarn.betaSlow, yarn.mscale, yarn.mscaleAllDim, yarn.attentionFactor, yarn.truncate, yarn.originalMaxPositionEmbeddings],
      [40, 16, 2, 0.707, 0.5, 1.1, false, 4096],
    );
    const llama3 = ropeOptionsFromConfig({
      ...BASE, rope_scaling: { rope_type: 'llama3', factor: 8, low_freq_factor: 1, high_freq_factor: 4, original_max_position_embeddings: 8192 },
    });
    assert.deepEqual([llama3.lowFreqFactor, llama3.highFreqFactor], [1, 4]);
  });

  it('an options object (with headDim) passes through createRope unchanged', async () => {
    const rope = await createRope({ headDim: 64, rotaryDim: 32, base: 5e5, pairing: 'interleaved' }, { backend: 'scalar' });
    try {
      assert.deepEqual(
        [rope.ropeType, rope.headDim, rope.rotaryDim, rope.base, rope.pairing, rope.attentionScaling, rope.maxPositionEmbeddings],
        ['default', 64, 32, 5e5, 'interleaved', 1, undefined],
      );
      assert.equal(rope.invFreq()[1], 5e5 ** (-2 / 32));
    } finally {
      rope.free();
    }
  });

  it('createRope from a config equals createRope from its converted options', async () => {
    const config = readJson(`${PRESETS_DIR}llama-3.1-8b.json`);
    const fromConfig = await createRope(config, { backend: 'scalar' });
    const fromOptions = await createRope(ropeOptionsFromConfig(config), { backend: 'scalar' });
    try {
      assert.deepEqual(Array.from(fromConfig.invFreq()), Array.from(fromOptions.invFreq()));
      assert.deepEqual(Array.from(fromConfig.table([0, 9000]).sin), Array.from(fromOptions.table([0, 9000]).sin));
    } finally {
      fromConfig.free();
      fromOptions.free();
    }
  });

  it('config options with interleaved pairing', async () => {
    const config = readJson(`${PRESETS_DIR}llama-3.1-8b.json`);
    const fromConfig = await createRope(config, { backend: 'scalar' });
    const interleaved = await createRope({ ...ropeOptionsFromConfig(config), pairing: 'interleaved' }, { backend: 'scalar' });
    try {
      assert.equal(fromConfig.pairing, 'half');
      assert.equal(interleaved.pairing, 'interleaved');
      assert.equal(interleaved.ropeType, 'llama3');
      assert.deepEqual(Array.from(interleaved.invFreq()), Array.from(fromConfig.invFreq()));
    } finally {
      fromConfig.free();
      interleaved.free();
    }
  });
});
