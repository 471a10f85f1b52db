// Compile-only check of web/rope.d.ts: `npx tsc -p tests/types --strict --noEmit`.
// Every `@ts-expect-error` line must fail to compile; tsc reports an unused
// directive if the declarations accept it.

import {
  PAIRINGS, ROPE_TYPES, Rope, RopeModule, WasmFloat32Array, createRope, loadRopeModule,
  ropeOptionsFromConfig, simd128Supported,
} from '../../web/rope.js';
import type {
  ApplyArgs, ApplyTableArgs, Backend, WasmRopeTable, HFConfig, Layout, Pairing, RopeOptions, RopeTable, RopeType,
} from '../../web/rope.js';

// Options and configs.
const llama3: RopeOptions = {
  ropeType: 'llama3', headDim: 128, base: 500000, factor: 8, lowFreqFactor: 1, highFreqFactor: 4,
  originalMaxPositionEmbeddings: 8192, maxPositionEmbeddings: 131072,
};
const longrope: RopeOptions = {
  ropeType: 'longrope', headDim: 8, maxPositionEmbeddings: 4096, shortFactor: [1, 1, 2, 2], longFactor: new Float64Array(4), factor: 4,
};
const phi3: HFConfig = {
  model_type: 'phi3', hidden_size: 3072, num_attention_heads: 32, max_position_embeddings: 131072,
  original_max_position_embeddings: 4096, rope_theta: 10000,
  rope_scaling: { type: 'su', short_factor: [1, 2], long_factor: [1, 4] },
  vocab_size: 32064, // other keys are allowed
};
const qwen: HFConfig = { hidden_size: 128, num_attention_heads: 8, rope_parameters: { rope_type: 'yarn', rope_theta: 1e6, factor: 4 } };

const rope: Rope = await createRope(llama3, { backend: 'auto' });
const fromConfig: Rope = await createRope(phi3);
const fromConverted: Rope = await createRope(ropeOptionsFromConfig(qwen), { backend: 'scalar' });

// Fields.
const ropeType: RopeType = rope.ropeType;
const pairing: Pairing = rope.pairing;
const backend: Backend = rope.backend;
const dims: number = rope.headDim + rope.rotaryDim + rope.base + rope.attentionScaling;
const original: number | undefined = rope.originalMaxPositionEmbeddings;
const maxContext: number = rope.maxPositionEmbeddings ?? 0;

// Frequencies and tables.
const invFreq: Float64Array = rope.invFreq();
const invFreqLong: Float64Array = fromConfig.invFreq(131072);
const table: RopeTable = rope.table([0, 1, 4096], 8192);
const cos: Float32Array = table.cos;
const fromInt32 = rope.table(new Int32Array([0, 5]));

// apply with copied arrays, GQA, both layouts.
const q = new Float32Array(3 * 4 * 128);
const k = new Float32Array(3 * 2 * 128);
rope.apply({ q, k, nQHeads: 4, nKHeads: 2, positions: [0, 1, 2] });
rope.apply({ q, nQHeads: 4, positions: new Int32Array([7, 8, 9]), layout: 'htd', seqLen: 16 });
const args: ApplyArgs = { q, nQHeads: 4, positions: [0, 1, 2], layout: 'thd' };
rope.apply(args);

// Modules and zero-copy buffers.
const module: RopeModule = await loadRopeModule({ backend: 'simd128' });
const fromBytes: RopeModule = await loadRopeModule({ backend: 'scalar', wasm: new Uint8Array(8) });
const fromUrl: RopeModule = await loadRopeModule({ wasm: new URL('file:///rope-scalar.wasm') });
const perBuild: RopeModule = await loadRopeModule({ wasm: { simd128: 'rope-simd128.wasm', scalar: new ArrayBuffer(8) } });
module.setKernel('scalar');
const kernel: Backend = module.kernel;
const heap: number = module.heapInUse();
const buffer: WasmFloat32Array = module.allocFloat32(4 * 128);
const scores: Float64Array = module.scoreMatrix(new Float32Array(4 * 128), buffer, 128);
void scores;
// @ts-expect-error dim is a number
module.scoreMatrix(new Float32Array(8), new Float32Array(8), "8");
const view: Float32Array = buffer.array;
const local: Rope = module.createRope({ headDim: 128 });
local.apply({ q: buffer, nQHeads: 4, positions: [3] });
buffer.free();
local.free();

// Reused tables: made once, used by several apply calls, then freed.
const stepTable: WasmRopeTable = rope.wasmTable([0, 1, 2], 16);
const stepRows: number = stepTable.nPositions * stepTable.rowLength;
const stepCos: Float32Array = stepTable.cos;
const stepOwned: boolean = stepTable.belongsTo(rope);
rope.apply({ q, k, nQHeads: 4, nKHeads: 2, table: stepTable });
rope.apply({ q, nQHeads: 4, table: stepTable, positions: new Int32Array([0, 1, 2]), layout: 'htd' });
const tableArgs: ApplyTableArgs = { q, nQHeads: 4, table: stepTable };
rope.apply(tableArgs);
stepTable.free();
void [stepRows, stepCos, stepOwned];

const types: readonly RopeType[] = ROPE_TYPES;
const pairings: readonly Pairing[] = PAIRINGS;
const simd: boolean = simd128Supported();
const layout: Layout = 'htd';

// Calls that must not compile.
// @ts-expect-error layout must be 'thd' or 'htd'
rope.apply({ q, nQHeads: 4, positions: [0], layout: 'xyz' });
// @ts-expect-error positions is required
rope.apply({ q, nQHeads: 4 });
// @ts-expect-error q is required
rope.apply({ nQHeads: 4, positions: [0] });
// @ts-expect-error nQHeads is required
rope.apply({ q, positions: [0] });
// @ts-expect-error q must be float32, not float64
rope.apply({ q: new Float64Array(8), nQHeads: 1, positions: [0] });
// @ts-expect-error pairing is 'half' or 'interleaved'
await createRope({ headDim: 64, pairing: 'foo' });
// @ts-expect-error unknown rope type
await createRope({ headDim: 64, ropeType: 'bogus' });
// @ts-expect-error headDim is a number
await createRope({ headDim: '64' });
// @ts-expect-error unknown option key next to headDim
await createRope({ headDim: 64, rope_theta: 10000 });
// @ts-expect-error unknown backend
await loadRopeModule({ backend: 'gpu' });
// @ts-expect-error wasm sources are keyed by build name
await loadRopeModule({ wasm: { simd: 'rope-simd128.wasm' } });
// @ts-expect-error a wasm source is a URL, a string or bytes
await loadRopeModule({ wasm: { scalar: 42 } });
// @ts-expect-error unknown kernel
module.setKernel('avx');
// @ts-expect-error rope_scaling.rope_type must be a rope type
const badConfig: HFConfig = { hidden_size: 64, num_attention_heads: 4, rope_scaling: { rope_type: 'ntk' } };
// @ts-expect-error attentionScaling is read-only
rope.attentionScaling = 2;
// @ts-expect-error seqLen is a number
rope.table([0], '16');
// @ts-expect-error positions must be a list
rope.table(5);
// @ts-expect-error WasmFloat32Array comes from allocFloat32
new WasmFloat32Array(module, 0, 4);
// @ts-expect-error a table is a WasmRopeTable, not the arrays of table()
rope.apply({ q, nQHeads: 4, table: rope.table([0, 1, 2]) });
// @ts-expect-error seqLen goes to wasmTable, not to apply with a table
rope.apply({ q, nQHeads: 4, table: rope.wasmTable([0, 1, 2]), seqLen: 8 });
// @ts-expect-error rowLength is read-only
rope.wasmTable([0]).rowLength = 2;
// @ts-expect-error nPositions is read-only
rope.wasmTable([0]).nPositions = 2;
// @ts-expect-error wasmTable takes positions
rope.wasmTable(3);

export {
  backend, badConfig, cos, dims, fromBytes, fromConverted, fromInt32, fromUrl, heap, perBuild, invFreq, invFreqLong, kernel,
  layout, longrope, maxContext, original, pairing, pairings, ropeType, simd, types, view,
};
