#!/usr/bin/env node
// Writes the fuzzing inputs kept in the tree, in the byte formats of
// tests/fuzz/fuzz_*.c (described in docs/fuzzing.md):
//   - tests/fuzz/corpus/<harness>/: seeds from the model configs in
//     web/presets/ and tests/reference/edge-configs/, each read by the
//     package's own reader (ropeOptionsFromConfig, then normalizeOptions),
//     so they hold exactly the parameters a user's config.json produces;
//   - tests/fuzz/regressions/<harness>/: minimal reproducers of findings,
//     built from the parameters below, which `run.sh regress` replays.
// Files in regressions/ that this script does not name (saved fuzzer
// findings) are left alone.
// Run it after changing a format:  node tests/fuzz/make_inputs.mjs
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { ropeOptionsFromConfig } from '../../web/config.js';
import { normalizeOptions } from '../../web/options.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const TYPES = ['default', 'linear', 'dynamic', 'yarn', 'longrope', 'llama3'];
const LIST_SHORT = 1;
const LIST_LONG = 2;

class Bytes {
  constructor() { this.parts = []; }
  u8(v) { this.parts.push(Buffer.from([v & 0xff])); return this; }
  u16(v) { const b = Buffer.alloc(2); b.writeUInt16LE(v); this.parts.push(b); return this; }
  i32(v) { const b = Buffer.alloc(4); b.writeInt32LE(v); this.parts.push(b); return this; }
  u32(v) { const b = Buffer.alloc(4); b.writeUInt32LE(v); this.parts.push(b); return this; }
  i64(v) { const b = Buffer.alloc(8); b.writeBigInt64LE(BigInt(v)); this.parts.push(b); return this; }
  f64(v) { const b = Buffer.alloc(8); b.writeDoubleLE(v); this.parts.push(b); return this; }
  bytes(buf) { this.parts.push(Buffer.from(buf)); return this; }
  done() { return Buffer.concat(this.parts); }
}

// rope_params in the wire format; `undefined` fields get the values
// rope_params_init would leave (NaN for unset doubles, 0 for unset ints).
function paramBlock(o) {
  const nPairs = o.rotaryDim / 2;
  const b = new Bytes()
    .u8(TYPES.indexOf(o.ropeType))
    .u8(o.pairing === 'interleaved' ? 1 : 0)
    .i32(o.headDim)
    .i32(o.rotaryDim === o.headDim ? 0 : o.rotaryDim)
    .f64(o.base)
    .f64(o.factor ?? NaN)
    .i32(o.maxPositionEmbeddings ?? 0)
    .i32(o.originalMaxPositionEmbeddings ?? 0)
    .f64(o.betaFast)
    .f64(o.betaSlow)
    .f64(o.mscale)
    .f64(o.mscaleAllDim)
    .f64(o.attentionFactor ?? NaN)
    .i32(o.truncate ? 1 : 0)
    .f64(o.lowFreqFactor ?? NaN)
    .f64(o.highFreqFactor ?? NaN);
  const lists = o.ropeType === 'longrope';
  b.u8(lists ? LIST_SHORT | LIST_LONG : 0).u16(lists ? nPairs : 0).i32(0);
  if (lists) {
    for (const v of o.shortFactor) b.f64(v);
    for (const v of o.longFactor) b.f64(v);
  }
  return b.done();
}

// Positions around the context lengths a config names, where the
// length-dependent types switch behaviour.
function interestingPositions(o) {
  const context = o.originalMaxPositionEmbeddings ?? o.maxPositionEmbeddings ?? 4096;
  return [0, 1, 2, 17, context - 1, context, context + 1, 2 * context, 2147483647];
}

function paramsSeed(o) {
  return new Bytes().bytes(paramBlock(o)).i64(2 * (o.maxPositionEmbeddings ?? 4096)).u8(1).done();
}

function tableSeeds(o, positions = interestingPositions(o)) {
  const seed = (mode, seqLen) => {
    const b = new Bytes().bytes(paramBlock(o)).i32(positions.length).i64(seqLen).u8(mode).u32(3);
    for (const p of positions) b.i32(p);
    return b.done();
  };
  return [
    ['exact', seed(0x00, 0)],
    ['seq-len-given', seed(0x01, (o.maxPositionEmbeddings ?? 4096) + 1)],
    ['out-too-small', seed(0x20, 0)],
  ];
}

function applySeeds(o) {
  const positions = interestingPositions(o).slice(0, 5);
  const seed = (layout, kernel, nQ, nK) => {
    const b = new Bytes().bytes(paramBlock(o))
      .u8(kernel).u8(layout).u8(0).u8(0)
      .i32(positions.length).i32(nQ).i32(nK)
      .u16(0).u16(0).i64(0);
    for (const p of positions) b.i32(p);
    // q and k values: a short ramp, the rest comes from the harness filler.
    for (let i = 0; i < 64; i++) b.u16(((i * 37) % 512 - 256) & 0xffff);
    return b.done();
  };
  return [
    ['tokens-heads-dim', seed(0, 0, 3, 1)],
    ['heads-tokens-dim-scalar', seed(1, 1, 2, 2)],
  ];
}

// Values that exercise the formatter: the configs' own doubles, plus
// bounds from the library's messages.
function formatSeed(x, y, text) {
  const t = Buffer.from(text, 'latin1');
  return new Bytes()
    .u8(1).i32(-2147483648).i64(-1n << 63n).bytes(Buffer.alloc(8, 0xff))
    .f64(x).f64(y).u8(0).u8(6).bytes(Buffer.from('factor', 'latin1')).bytes(t)
    .done();
}

function loadConfigs() {
  const dirs = [join(root, 'web', 'presets'), join(root, 'tests', 'reference', 'edge-configs')];
  const configs = [];
  for (const dir of dirs) {
    for (const file of readdirSync(dir).filter((f) => f.endsWith('.json')).sort()) {
      const config = JSON.parse(readFileSync(join(dir, file), 'utf8'));
      const options = normalizeOptions(ropeOptionsFromConfig(config));
      configs.push([basename(file, '.json'), options]);
    }
  }
  return configs;
}

function writeCorpus(harness, seeds, kind = 'corpus') {
  const dir = join(root, 'tests', 'fuzz', kind, harness);
  if (kind === 'corpus') rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  for (const [name, bytes] of seeds) writeFileSync(join(dir, name), bytes);
  console.log(`${dir}: ${seeds.length} files`);
}

const configs = loadConfigs();
writeCorpus('params', configs.map(([name, o]) => [name, paramsSeed(o)]));
writeCorpus('table', configs.flatMap(([name, o]) => tableSeeds(o).map(([k, b]) => [`${name}-${k}`, b])));
writeCorpus('apply', configs.flatMap(([name, o]) => applySeeds(o).map(([k, b]) => [`${name}-${k}`, b])));
const SEP = '\xff';
writeCorpus('format', [
  ['plain', formatSeed(1.5, 0.1, `factor is ${SEP}; expected${SEP} at most${SEP} %% ${SEP}, got ${SEP} and ${SEP}.`)],
  ['exponent', formatSeed(1e-7, 6.02214076e23, `a${SEP}b${SEP}c${SEP}d${SEP}e${SEP}f${SEP}g`)],
  ['specials', formatSeed(NaN, -Infinity, `%x %${SEP}${SEP}${SEP}${SEP}${SEP}${SEP}`)],
  ['ends', formatSeed(5e-324, 1.7976931348623157e308, 'x'.repeat(400))],
  ...configs.map(([name, o]) => [`${name}`, formatSeed(o.base, o.factor ?? 2.5,
    `base ${SEP} factor ${SEP}`)]),
]);

// Findings, each the smallest parameter set that shows it. The options are
// complete (normalizeOptions' defaults written out) because several are
// outside what normalizeOptions would pass on.
function options(o) {
  return {
    pairing: 'half', rotaryDim: o.headDim, base: 10000, betaFast: 32, betaSlow: 1, mscale: 0,
    mscaleAllDim: 0, truncate: true, ...o,
  };
}

const llama3Adjacent = options({
  // low_freq_factor just above 8192 / wavelength of pair 3, high_freq_factor
  // one ulp above it: the blend weight comes out as -1.
  ropeType: 'llama3', headDim: 128, factor: 8, originalMaxPositionEmbeddings: 8192,
  lowFreqFactor: 846.66201389821185, highFreqFactor: 846.66201389821197,
});
const longropeSubnormal = options({
  ropeType: 'longrope', headDim: 16, factor: 4, maxPositionEmbeddings: 4096,
  shortFactor: [1, 1, 1, 1, 1, 1, 1, 1], longFactor: [1, 1, 1, 1e-310, 1, 1, 1, 1],
});
const linearUnderflow = options({ ropeType: 'linear', headDim: 128, base: 1e300, factor: 1e300 });
const yarnUnderflow = options({
  ropeType: 'yarn', headDim: 128, base: 1e300, factor: 1e300, originalMaxPositionEmbeddings: 4096,
});
const dynamicOverflow = options({
  ropeType: 'dynamic', headDim: 128, factor: 1e305, maxPositionEmbeddings: 4096,
});
const yarnMscaleOverflow = options({
  ropeType: 'yarn', headDim: 128, factor: 1e10, mscale: 1e308, mscaleAllDim: 1e308,
  originalMaxPositionEmbeddings: 4096,
});
const yarnAttentionAboveFloat = options({
  ropeType: 'yarn', headDim: 128, factor: 4, attentionFactor: 1e39,
  originalMaxPositionEmbeddings: 4096,
});

writeCorpus('params', [
  ['llama3-adjacent-freq-factors-negative-theta', paramsSeed(llama3Adjacent)],
  ['longrope-subnormal-factor-infinite-theta', paramsSeed(longropeSubnormal)],
  ['linear-huge-factor-zero-theta', paramsSeed(linearUnderflow)],
  ['yarn-huge-factor-zero-theta', paramsSeed(yarnUnderflow)],
  ['dynamic-huge-factor-zero-theta', paramsSeed(dynamicOverflow)],
  ['yarn-huge-mscale-nan-scaling', paramsSeed(yarnMscaleOverflow)],
], 'regressions');
const longropeTiny = options({
  // Every entry finite and > 0, as validated; theta_0 / 1e-300 = 1e300, and
  // position 2^31 - 1 times that is past DBL_MAX.
  ropeType: 'longrope', headDim: 16, factor: 4, maxPositionEmbeddings: 4096,
  shortFactor: [1, 1, 1, 1, 1, 1, 1, 1], longFactor: [1e-300, 1, 1, 1, 1, 1, 1, 1],
});
writeCorpus('table', [
  ['yarn-attention-factor-above-float-infinite-table', tableSeeds(yarnAttentionAboveFloat, [0, 1, 2])[0][1]],
  ['longrope-tiny-factor-nan-table', tableSeeds(longropeTiny, [0, 1, 2147483647])[0][1]],
], 'regressions');
writeCorpus('format', [
  // 17 significant digits are needed, and the 17th comes out wrong.
  ['g-17th-digit-wrong', formatSeed(7.9140663533071365, 1.5, 'x')],
  // Reads back, but 16 digits would have done.
  ['g-not-shortest', formatSeed(0.9999999999999999, 1.5, 'x')],
  // floor(log10(x)) is 9 for the double just below 1e9: a leading zero.
  ['g-leading-zero-below-power-of-ten', formatSeed(999999999.99999988, 1.5, 'x')],
], 'regressions');
