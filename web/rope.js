// rope-wasm: Rotary Position Embedding computed by a WebAssembly build of
// the C core. See README.md for the API; rope.d.ts has the types.

import { instantiateBackend, simd128Supported } from './loader.js';
import { ropeOptionsFromConfig } from './config.js';
import {
  MAX_INT32, PAIRINGS, ROPE_TYPES, checkInteger, describeValue, normalizeOptions,
} from './options.js';

export { ropeOptionsFromConfig, simd128Supported, ROPE_TYPES, PAIRINGS };

const STATUS_OK = 0;
const STATUS_BUFFER_TOO_SMALL = 3;
const STATUS_OUT_OF_MEMORY = 4;
const KERNELS = ['auto', 'scalar', 'simd128'];
const LAYOUTS = { thd: 0, htd: 1 };
const MAX_WASM_BYTES = 2 ** 32 - 65536; // below 4 GiB, leaving room for the module's own data

// Field order of the layout tables in c/wasm_bridge.c.
const PARAMS_FIELDS = [
  'type', 'pairing', 'head_dim', 'rotary_dim', 'base', 'factor', 'max_position_embeddings',
  'original_max_position_embeddings', 'beta_fast', 'beta_slow', 'mscale', 'mscale_all_dim',
  'attention_factor', 'truncate', 'low_freq_factor', 'high_freq_factor', 'short_factor',
  'long_factor', 'n_factors',
];
const QK_FIELDS = [
  'q', 'q_len', 'n_q_heads', 'k', 'k_len', 'n_k_heads', 'n_tokens', 'positions', 'layout', 'seq_len',
];

function readLayout(wasm, pointer, fields) {
  const values = wasm.readU32(pointer, fields.length + 1);
  const offsets = { size: values[0] };
  fields.forEach((name, i) => { offsets[name] = values[i + 1]; });
  return offsets;
}

/**
 * A float32 array that lives in WebAssembly memory, for zero-copy apply().
 * `array` returns a view that is valid until the next call into the module;
 * read it again after any call rather than keeping it.
 */
export class WasmFloat32Array {
  #block;

  constructor(module, pointer, length, block = pointer) {
    this.module = module;
    this.pointer = pointer;
    this.length = length;
    this.#block = block; // what malloc returned, for free()
  }

  get array() {
    if (this.pointer === 0) {
      throw new TypeError('this WasmFloat32Array was freed');
    }
    return new Float32Array(this.module.wasm.memory.buffer, this.pointer, this.length);
  }

  free() {
    if (this.pointer !== 0) {
      this.module.wasm.exports.free(this.#block);
      this.pointer = 0;
    }
  }
}

// malloc here returns 8-byte aligned blocks. Tensors and tables start on a
// 64-byte cache line instead, so that no 16-byte access of the kernels
// straddles two lines.
const LINE = 64;
const alignUp = (address) => address + ((LINE - (address % LINE)) % LINE);

// apply() on Float32Arrays above this size copies, rotates and copies back
// one block of tokens at a time, so the block stays in a 1 MiB L2 between
// the three steps. Whole-tensor copies measured 0.95 ns per element against
// 0.52 in blocks (2048 tokens x 32 heads x 128, AMD EPYC, node 20), and
// blocks of 256 KiB to 1 MiB measured alike.
const COPY_BLOCK_BYTES = 512 * 1024;
// [heads, tokens, head_dim] tensors go through those blocks this many heads
// at a time, as many pieces as an 8-way L2 keeps in one set.
const COPY_HEAD_GROUP = 8;

/**
 * Copies tokens [t0, t0 + n) of tensor t (a Float32Array in [tokens, heads,
 * head_dim]) to or from its block at t.pointer in WebAssembly memory.
 */
function copyTokens(t, f32, t0, n, headDim, toWasm) {
  const at = t.pointer >> 2;
  const width = t.heads * headDim;
  if (toWasm) f32.set(t.data.subarray(t0 * width, (t0 + n) * width), at);
  else t.data.set(f32.subarray(at, at + n * width), t0 * width);
}

/**
 * Copies tokens [t0, t0 + n) of heads [h0, h0 + count) of tensor t (a
 * Float32Array in [heads, tokens, head_dim] of nTokens tokens) to or from
 * WebAssembly memory at `at`, where they form a [count, n, head_dim] tensor.
 */
function copyHeadRuns(t, f32, at, h0, count, nTokens, t0, n, headDim, toWasm) {
  const run = n * headDim;
  for (let h = 0; h < count; h++) {
    const from = ((h0 + h) * nTokens + t0) * headDim;
    const to = (at >> 2) + h * run;
    if (toWasm) f32.set(t.data.subarray(from, from + run), to);
    else t.data.set(f32.subarray(to, to + run), from);
  }
}

/**
 * Returns the sequence length of a whole apply() call: seqLen when given
 * (nonzero), else max(positions) + 1. Blocks of the call all pass it, as
 * the length-dependent rope types must see the call's length, not the
 * block's.
 */
function callSeqLen(positions, seqLen) {
  if (seqLen !== 0) return seqLen;
  let max = 0;
  for (let i = 0; i < positions.length; i++) if (positions[i] > max) max = positions[i];
  return max + 1;
}

/**
 * cos/sin rows for a list of positions, kept in WebAssembly memory so that
 * Rope.apply({ table }) can rotate any number of tensors (every layer of a
 * step) without computing the rows again. Made by Rope.wasmTable(). Not a
 * named export of the package: rope.d.ts exports its type only.
 */
class WasmRopeTable {
  #rope;

  #block;

  constructor(rope, block, nPositions, nPairs) {
    this.#rope = rope;
    this.#block = block;
    this.module = rope.module;
    this.nPositions = nPositions;
    this.rowLength = nPairs;
    this.pointer = alignUp(block); // cos rows; the sin rows follow at sinPointer
    this.sinPointer = alignUp(this.pointer + 4 * nPositions * nPairs);
  }

  /** Bytes to malloc for a table of n floats per function. */
  static blockBytes(n) { return 2 * (4 * n + LINE); }

  /** Whether this table was made by `rope` and is not freed yet. */
  belongsTo(rope) { return this.#rope === rope && this.pointer !== 0; }

  #view(pointer) {
    if (this.pointer === 0) throw new TypeError('this WasmRopeTable was freed');
    return new Float32Array(this.module.wasm.memory.buffer, pointer, this.nPositions * this.rowLength);
  }

  /** cos rows [nPositions, rotaryDim / 2]: a new view on every access. */
  get cos() { return this.#view(this.pointer); }

  /** sin rows, as cos. */
  get sin() { return this.#view(this.sinPointer); }

  /** Releases the rows; a second call does nothing. */
  free() {
    if (this.pointer !== 0) {
      this.module.wasm.exports.free(this.#block);
      this.pointer = 0;
      this.sinPointer = 0;
    }
  }
}

/** One instantiated backend; createRope() uses a shared default one. */
export class RopeModule {
  constructor(wasm) {
    this.wasm = wasm;
    this.paramsLayout = readLayout(wasm, wasm.exports.rope_wasm_params_layout(), PARAMS_FIELDS);
    this.qkLayout = readLayout(wasm, wasm.exports.rope_wasm_qk_layout(), QK_FIELDS);
  }

  /** 'simd128' or 'scalar': which .wasm build runs. */
  get backend() { return this.wasm.backend; }

  /** 'simd128' or 'scalar': the kernel apply() runs now. */
  get kernel() { return this.wasm.exports.rope_active_kernel() === 2 ? 'simd128' : 'scalar'; }

  /** Chooses the apply kernel: 'auto', 'scalar', or 'simd128' (SIMD build only). */
  setKernel(kernel) {
    const index = KERNELS.indexOf(kernel);
    if (index < 0) {
      throw new RangeError(`kernel is ${describeValue(kernel)}; expected 'auto', 'scalar' or 'simd128'`);
    }
    if (kernel === 'simd128' && this.backend !== 'simd128') {
      throw new RangeError(`kernel is 'simd128', but the ${this.backend} build has no SIMD128 kernels; use 'auto' or 'scalar'`);
    }
    this.check(this.wasm.exports.rope_set_kernel(index));
  }

  /** Bytes currently allocated in the module's heap. */
  heapInUse() { return this.wasm.exports.rope_wasm_heap_in_use(); }

  #int32 = null;

  /**
   * Returns an Int32Array over the whole memory. The view is kept between
   * calls and rebuilt only after memory.grow detaches it (its length is then
   * 0), which saves a memory.buffer lookup per call on the decode path.
   */
  int32View() {
    if (this.#int32 === null || this.#int32.length === 0) this.#int32 = this.wasm.i32;
    return this.#int32;
  }

  /** Throws the error a C status describes, unless it is OK. */
  check(status) {
    if (status === STATUS_OK) return;
    const message = this.wasm.readString(this.wasm.exports.rope_error_message());
    if (status === STATUS_OUT_OF_MEMORY) throw new Error(`rope-wasm: ${message}`);
    throw new RangeError(message);
  }

  malloc(bytes) {
    // wasm32 addresses are 32-bit, so malloc would wrap a larger request.
    if (!(bytes <= MAX_WASM_BYTES)) {
      throw new RangeError(`rope-wasm: a request for ${bytes} bytes exceeds WebAssembly's 4 GiB address space; use fewer positions or tokens per call`);
    }
    const pointer = this.wasm.exports.malloc(Math.max(bytes, 1));
    if (pointer === 0) {
      throw new Error(`rope-wasm: out of memory allocating ${bytes} bytes in WebAssembly memory`);
    }
    return pointer;
  }

  /** Allocates `length` float32 values (zeroed) in WebAssembly memory. */
  allocFloat32(length) {
    checkInteger('length', length, 0, 2 ** 30);
    const block = this.malloc(4 * length + LINE);
    const buffer = new WasmFloat32Array(this, alignUp(block), length, block);
    buffer.array.fill(0);
    return buffer;
  }

  /**
   * Returns the dot product of every row of q with every row of k, rows of
   * `dim` floats: a Float64Array of shape [q.length / dim, k.length / dim],
   * the attention scores of rotated queries and keys before the 1/sqrt(d)
   * scaling. q and k are Float32Arrays or WasmFloat32Arrays.
   */
  scoreMatrix(q, k, dim) {
    checkInteger('dim', dim, 1, MAX_INT32);
    const rows = [['q', q], ['k', k]].map(([name, data]) => {
      if (!(data instanceof Float32Array) && !(data instanceof WasmFloat32Array)) {
        throw new TypeError(`${name} is ${describeValue(data)}; expected a Float32Array or WasmFloat32Array`);
      }
      if (data instanceof WasmFloat32Array && (data.module !== this || data.pointer === 0)) {
        throw new TypeError(`${name} was freed or belongs to another RopeModule`);
      }
      if (data.length % dim !== 0) {
        throw new RangeError(`${name} has ${data.length} elements; expected a multiple of dim (${dim})`);
      }
      return data.length / dim;
    });
    const [nQ, nK] = rows;
    const copies = [q, k].filter((data) => data instanceof Float32Array);
    const copyBytes = copies.reduce((sum, data) => sum + 4 * data.length, 0);
    const block = this.malloc(8 * nQ * nK + copyBytes);
    try {
      const outAt = block;
      let cursor = block + 8 * nQ * nK;
      const pointerOf = (data) => {
        if (data instanceof WasmFloat32Array) return data.pointer;
        const at = cursor;
        this.wasm.f32.set(data, at / 4);
        cursor += 4 * data.length;
        return at;
      };
      const qAt = pointerOf(q);
      const kAt = pointerOf(k);
      this.check(this.wasm.exports.rope_scores_f32(qAt, nQ, kAt, nK, dim, outAt, nQ * nK));
      return this.wasm.f64.slice(outAt / 8, outAt / 8 + nQ * nK);
    } finally {
      this.wasm.exports.free(block);
    }
  }

  /** Builds a Rope from createRope options or a config.json object. */
  createRope(optionsOrConfig) {
    return new Rope(this, optionsOrConfig);
  }
}

const modules = new Map(); // backend request -> Promise<RopeModule>

/**
 * Loads (once per backend) and returns a RopeModule. `backend` is 'auto'
 * (SIMD128 when the engine supports it), 'simd128' or 'scalar'; `wasm`
 * optionally gives the .wasm URL or bytes.
 */
export function loadRopeModule(load = {}) {
  if (typeof load !== 'object' || load === null) {
    return Promise.reject(new TypeError(`load options are ${describeValue(load)}; expected an object such as { backend: 'auto' }`));
  }
  for (const key of Object.keys(load)) {
    if (key !== 'backend' && key !== 'wasm') {
      return Promise.reject(new TypeError(`unknown load option ${JSON.stringify(key)}; expected backend or wasm`));
    }
  }
  const { backend = 'auto', wasm } = load;
  if (wasm !== undefined) {
    return instantiateBackend(backend, wasm).then((instance) => new RopeModule(instance));
  }
  if (!modules.has(backend)) {
    const promise = instantiateBackend(backend).then((instance) => new RopeModule(instance));
    promise.catch(() => modules.delete(backend));
    modules.set(backend, promise);
  }
  return modules.get(backend);
}

/**
 * Creates a Rope from options (an object with `headDim`) or from a Hugging
 * Face config.json object, on the shared module for `load.backend`.
 */
export async function createRope(optionsOrConfig, load = {}) {
  const options = toOptions(optionsOrConfig);
  const module = await loadRopeModule(load);
  return new Rope(module, options);
}

function toOptions(optionsOrConfig) {
  if (typeof optionsOrConfig !== 'object' || optionsOrConfig === null || Array.isArray(optionsOrConfig)) {
    throw new TypeError(`createRope argument is ${describeValue(optionsOrConfig)}; expected an options object or a config.json object`);
  }
  const isOptions = 'headDim' in optionsOrConfig;
  return normalizeOptions(isOptions ? optionsOrConfig : ropeOptionsFromConfig(optionsOrConfig));
}

function checkPositions(positions) {
  if (!Array.isArray(positions) && !(ArrayBuffer.isView(positions) && !(positions instanceof DataView))) {
    throw new TypeError(`positions is ${describeValue(positions)}; expected an array or Int32Array of token positions`);
  }
  if (positions instanceof Int32Array) {
    for (let i = 0; i < positions.length; i++) {
      if (positions[i] < 0) {
        throw new RangeError(`positions[${i}] is ${positions[i]}; expected an integer from 0 to ${MAX_INT32}`);
      }
    }
    return positions;
  }
  const out = new Int32Array(positions.length);
  for (let i = 0; i < positions.length; i++) {
    const value = positions[i];
    // Valid entries skip checkInteger, whose label is a string built per call.
    if (Number.isInteger(value) && value >= 0 && value <= MAX_INT32) {
      out[i] = value;
    } else {
      out[i] = checkInteger(`positions[${i}]`, typeof value === 'bigint' ? Number(value) : value, 0, MAX_INT32);
    }
  }
  return out;
}

function checkSeqLen(seqLen) {
  if (seqLen === undefined) return 0;
  return checkInteger('seqLen', seqLen, 1, Number.MAX_SAFE_INTEGER, 'an integer >= 1 and at most 2^53 - 1');
}

/**
 * A rotary embedding: frequencies, tables and in-place apply. Holds
 * WebAssembly memory until free() is called.
 */
export class Rope {
  constructor(module, optionsOrConfig) {
    if (!(module instanceof RopeModule)) {
      throw new TypeError('Rope needs a RopeModule; use createRope() or module.createRope()');
    }
    const options = toOptions(optionsOrConfig);
    // Facts are read-only: the C object behind `pointer` was built from
    // them, so changing one would make later calls inconsistent.
    const fix = (name, value) =>
      Object.defineProperty(this, name, { value, enumerable: true, writable: false, configurable: false });
    fix('module', module);
    this.pointer = this.#create(options);
    fix('options', Object.freeze({ ...options }));
    fix('ropeType', options.ropeType);
    fix('pairing', options.pairing);
    fix('headDim', options.headDim);
    fix('rotaryDim', options.rotaryDim);
    fix('base', options.base);
    fix('maxPositionEmbeddings', options.maxPositionEmbeddings);
    fix('originalMaxPositionEmbeddings', options.originalMaxPositionEmbeddings);
    fix('attentionScaling', module.wasm.exports.rope_attention_scaling(this.pointer));
  }

  #create(o) {
    const { wasm } = this.module;
    const layout = this.module.paramsLayout;
    const nPairs = o.rotaryDim / 2;
    const factorBytes = o.ropeType === 'longrope' ? 16 * nPairs : 0;
    const block = this.module.malloc(layout.size + factorBytes + 8);
    const out = block + layout.size + factorBytes; // rope ** for rope_create, 8-aligned
    try {
      wasm.exports.rope_params_init(block, ROPE_TYPES.indexOf(o.ropeType), o.headDim);
      const view = wasm.dataView;
      const f64 = (name, value) => { if (value !== undefined) view.setFloat64(block + layout[name], value, true); };
      const i32 = (name, value) => { if (value !== undefined) view.setInt32(block + layout[name], value, true); };
      i32('pairing', PAIRINGS.indexOf(o.pairing));
      i32('rotary_dim', o.rotaryDim);
      f64('base', o.base);
      f64('factor', o.factor);
      i32('max_position_embeddings', o.maxPositionEmbeddings);
      i32('original_max_position_embeddings', o.originalMaxPositionEmbeddings);
      f64('beta_fast', o.betaFast);
      f64('beta_slow', o.betaSlow);
      f64('mscale', o.mscale);
      f64('mscale_all_dim', o.mscaleAllDim);
      f64('attention_factor', o.attentionFactor);
      i32('truncate', o.truncate ? 1 : 0);
      f64('low_freq_factor', o.lowFreqFactor);
      f64('high_freq_factor', o.highFreqFactor);
      if (o.ropeType === 'longrope') {
        const shortAt = block + layout.size;
        const longAt = shortAt + 8 * nPairs;
        wasm.f64.set(o.shortFactor, shortAt / 8);
        wasm.f64.set(o.longFactor, longAt / 8);
        i32('short_factor', shortAt);
        i32('long_factor', longAt);
        i32('n_factors', nPairs);
      }
      this.module.check(wasm.exports.rope_create(block, out));
      return wasm.dataView.getUint32(out, true);
    } finally {
      wasm.exports.free(block);
    }
  }

  #live() {
    if (this.pointer === 0) throw new TypeError('this Rope was freed');
    return this.module.wasm;
  }

  /** 'simd128' or 'scalar': the .wasm build this rope runs on. */
  get backend() { return this.module.backend; }

  /**
   * Frequencies theta_i (radians per token), length rotaryDim / 2, for a
   * sequence of seqLen tokens. seqLen matters to dynamic and longrope; it
   * defaults to the original context (the frequencies a model starts with).
   */
  invFreq(seqLen) {
    const wasm = this.#live();
    const length = seqLen === undefined
      ? (this.originalMaxPositionEmbeddings ?? this.maxPositionEmbeddings ?? 1)
      : checkSeqLen(seqLen);
    const nPairs = this.rotaryDim / 2;
    const pointer = this.module.malloc(8 * nPairs);
    try {
      this.module.check(wasm.exports.rope_inv_freq(this.pointer, BigInt(length), pointer, nPairs));
      return wasm.f64.slice(pointer / 8, pointer / 8 + nPairs);
    } finally {
      wasm.exports.free(pointer);
    }
  }

  /**
   * cos and sin tables, each Float32Array of shape [positions.length,
   * rotaryDim / 2], already multiplied by attentionScaling. seqLen defaults
   * to max(positions) + 1.
   */
  table(positions, seqLen) {
    const wasm = this.#live();
    const checked = checkPositions(positions);
    const length = checkSeqLen(seqLen);
    const n = checked.length * (this.rotaryDim / 2);
    const block = this.#scratch(4 * checked.length + 8 * n);
    const cosAt = block + 4 * checked.length;
    const sinAt = cosAt + 4 * n;
    wasm.i32.set(checked, block >> 2);
    this.module.check(wasm.exports.rope_table_f32(this.pointer, block, checked.length, BigInt(length), cosAt, sinAt, n));
    const f32 = wasm.f32;
    return { cos: f32.slice(cosAt >> 2, (cosAt >> 2) + n), sin: f32.slice(sinAt >> 2, (sinAt >> 2) + n) };
  }

  /**
   * Computes the cos and sin rows of table(positions, seqLen) and keeps them in WebAssembly
   * memory as a WasmRopeTable for apply({ table }). Free it when done.
   */
  wasmTable(positions, seqLen) {
    const wasm = this.#live();
    const checked = checkPositions(positions);
    const length = checkSeqLen(seqLen);
    const nPairs = this.rotaryDim / 2;
    const n = checked.length * nPairs;
    const table = new WasmRopeTable(this, this.module.malloc(WasmRopeTable.blockBytes(n)), checked.length, nPairs);
    try {
      const positionsAt = this.#scratch(4 * checked.length);
      wasm.i32.set(checked, positionsAt >> 2);
      this.module.check(wasm.exports.rope_table_f32(this.pointer, positionsAt, checked.length, BigInt(length), table.pointer, table.sinPointer, n));
    } catch (error) {
      table.free();
      throw error;
    }
    return table;
  }

  /**
   * Rotates q and k in place. q and k are Float32Arrays (copied into
   * WebAssembly memory and back) or WasmFloat32Arrays (rotated where they
   * are). layout 'thd' is [tokens, heads, headDim], 'htd' [heads, tokens,
   * headDim]; positions has one entry per token. With `table` (a
   * WasmRopeTable of this rope) its rows are used and positions may be
   * left out.
   */
  apply({ q, k, nQHeads, nKHeads, positions, layout = 'thd', seqLen, table } = {}) {
    const wasm = this.#live();
    // Compared by value: `in` would also accept inherited names such as 'toString'.
    if (layout !== 'thd' && layout !== 'htd') {
      throw new RangeError(`layout is ${describeValue(layout)}; expected 'thd' ([tokens, heads, headDim]) or 'htd' ([heads, tokens, headDim])`);
    }
    let checked = null;
    let nTokens;
    let length = 0;
    let tokensName = 'positions.length';
    if (table === undefined) {
      checked = checkPositions(positions);
      nTokens = checked.length;
      length = checkSeqLen(seqLen);
    } else {
      nTokens = this.#checkTable(table, positions, seqLen);
      tokensName = 'table.nPositions';
    }
    const qt = this.#checkTensor('q', q, nQHeads, nTokens, true, tokensName);
    // Without nKHeads, k has as many heads as q (multi-head attention); the
    // length check below catches a k with fewer heads.
    const kHeads = nKHeads === undefined && k !== undefined && k !== null ? nQHeads : nKHeads;
    const kt = this.#checkTensor('k', k, kHeads, nTokens, false, tokensName);

    if (qt.copy && (kt === null || kt.copy) && nTokens > 1
      && 4 * nTokens * this.headDim * (qt.heads + (kt === null ? 0 : kt.heads)) > COPY_BLOCK_BYTES) {
      if (layout === 'thd') this.#applyCopiesInBlocks(qt, kt, nTokens, checked, length, table);
      else this.#applyCopiesInHeadGroups(qt, kt, nTokens, checked, length, table);
      return;
    }

    // One scratch block: the rope_qk_f32, positions, then a copy of each
    // tensor that is not in WASM memory already. The struct size is a
    // multiple of 8, so seq_len stays 8-aligned.
    const qk = this.module.qkLayout;
    const positionBytes = checked === null ? 0 : 4 * nTokens;
    const copyBytes = (qt.copy ? 4 * qt.length + LINE : 0) + (kt !== null && kt.copy ? 4 * kt.length + LINE : 0);
    const block = this.#scratch(qk.size + positionBytes + copyBytes);
    const positionsAt = block + qk.size;
    if (copyBytes > 0) {
      const f32 = wasm.f32;
      let cursor = alignUp(positionsAt + positionBytes);
      if (qt.copy) {
        qt.pointer = cursor;
        f32.set(qt.data, cursor >> 2);
        cursor = alignUp(cursor + 4 * qt.length);
      }
      if (kt !== null && kt.copy) {
        kt.pointer = cursor;
        f32.set(kt.data, cursor >> 2);
      }
    }
    if (checked !== null) {
      const i32 = this.module.int32View();
      if (nTokens === 1) i32[positionsAt >> 2] = checked[0]; else i32.set(checked, positionsAt >> 2);
    }
    this.#writeQk(block, qt, kt, nTokens, checked === null ? 0 : positionsAt, layout, length);
    this.#rotate(block, table, 0, nTokens);
    if (copyBytes > 0) {
      const f32 = wasm.f32;
      if (qt.copy) qt.data.set(f32.subarray(qt.pointer >> 2, (qt.pointer >> 2) + qt.length));
      if (kt !== null && kt.copy) kt.data.set(f32.subarray(kt.pointer >> 2, (kt.pointer >> 2) + kt.length));
    }
  }

  // Runs the C apply on the rope_qk_f32 at `block`: with rows computed in
  // the call, or with rows t0 .. t0 + n - 1 of `table`.
  #rotate(block, table, t0, n) {
    const { exports } = this.module.wasm;
    if (table === undefined) {
      this.module.check(exports.rope_apply_f32(this.pointer, block));
      return;
    }
    const rows = 4 * t0 * table.rowLength;
    this.module.check(exports.rope_apply_table_f32(this.pointer, block, table.pointer + rows,
      table.sinPointer + rows, n * table.rowLength));
  }

  // Writes the rope_qk_f32 at `block`. Pointers and sizes fit in 32 bits in
  // wasm32; seq_len (< 2^53) is written as two little-endian 32-bit halves.
  #writeQk(block, qt, kt, nTokens, positionsAt, layout, seqLen) {
    const qk = this.module.qkLayout;
    const i32 = this.module.int32View();
    i32[(block + qk.q) >> 2] = qt.pointer;
    i32[(block + qk.q_len) >> 2] = nTokens * qt.heads * this.headDim;
    i32[(block + qk.n_q_heads) >> 2] = qt.heads;
    i32[(block + qk.k) >> 2] = kt !== null ? kt.pointer : 0;
    i32[(block + qk.k_len) >> 2] = kt !== null ? nTokens * kt.heads * this.headDim : 0;
    i32[(block + qk.n_k_heads) >> 2] = kt !== null ? kt.heads : 0;
    i32[(block + qk.n_tokens) >> 2] = nTokens;
    i32[(block + qk.positions) >> 2] = positionsAt;
    i32[(block + qk.layout) >> 2] = LAYOUTS[layout];
    i32[(block + qk.seq_len) >> 2] = seqLen % 0x100000000;
    i32[(block + qk.seq_len + 4) >> 2] = Math.floor(seqLen / 0x100000000);
  }

  // apply() for Float32Arrays in [tokens, heads, head_dim] larger than
  // COPY_BLOCK_BYTES: copies, rotates and copies back one block of tokens
  // at a time, so each block is still in cache when it is copied back.
  #applyCopiesInBlocks(qt, kt, nTokens, checked, seqLen, table) {
    const wasm = this.module.wasm;
    const headDim = this.headDim;
    const tensors = kt === null ? [qt] : [qt, kt];
    const perToken = headDim * tensors.reduce((sum, t) => sum + t.heads, 0);
    const blockTokens = Math.max(1, Math.floor(COPY_BLOCK_BYTES / (4 * perToken)));
    const length = table === undefined ? callSeqLen(checked, seqLen) : 0;
    const qk = this.module.qkLayout;
    const block = this.#scratch(qk.size + 4 * blockTokens + tensors.length * LINE + 4 * blockTokens * perToken);
    const positionsAt = block + qk.size;
    let cursor = alignUp(positionsAt + 4 * blockTokens);
    for (const t of tensors) {
      t.pointer = cursor;
      cursor = alignUp(cursor + 4 * blockTokens * t.heads * headDim);
    }
    for (let t0 = 0; t0 < nTokens; t0 += blockTokens) {
      const n = Math.min(blockTokens, nTokens - t0);
      for (const t of tensors) copyTokens(t, wasm.f32, t0, n, headDim, true);
      if (table === undefined) this.module.int32View().set(checked.subarray(t0, t0 + n), positionsAt >> 2);
      this.#writeQk(block, qt, kt, n, table === undefined ? positionsAt : 0, 'thd', length);
      this.#rotate(block, table, t0, n);
      // wasm.f32 again: the call may have grown the memory.
      for (const t of tensors) copyTokens(t, wasm.f32, t0, n, headDim, false);
    }
  }

  // apply() for Float32Arrays in [heads, tokens, head_dim] larger than
  // COPY_BLOCK_BYTES. The rows of a run of tokens are computed once (or
  // taken from the table), and the heads go through them COPY_HEAD_GROUP
  // at a time. A block of tokens of all 32 heads measured 0.65-0.79 ns per
  // element against 0.52-0.59 this way (head_dim 64, 2048 and 8192
  // tokens). Probably, with a head stride that is a multiple of the L2 way
  // size, all 32 pieces compete for the same L2 sets.
  #applyCopiesInHeadGroups(qt, kt, nTokens, checked, seqLen, table) {
    const wasm = this.module.wasm;
    const headDim = this.headDim;
    const nPairs = this.rotaryDim / 2;
    const tensors = kt === null ? [qt] : [qt, kt];
    const group = Math.min(COPY_HEAD_GROUP, Math.max(...tensors.map((t) => t.heads)));
    const runTokens = Math.max(1, Math.floor(COPY_BLOCK_BYTES / (4 * headDim * group)));
    const length = table === undefined ? callSeqLen(checked, seqLen) : 0;
    const qk = this.module.qkLayout;
    const rowBytes = 4 * runTokens * nPairs;
    const block = this.#scratch(qk.size + 4 * runTokens + 3 * LINE + 2 * rowBytes + 4 * group * runTokens * headDim);
    const positionsAt = block + qk.size;
    const cosAt = alignUp(positionsAt + 4 * runTokens);
    const sinAt = alignUp(cosAt + rowBytes);
    const dataAt = alignUp(sinAt + rowBytes);
    const piece = { pointer: dataAt, heads: 0 };
    for (let t0 = 0; t0 < nTokens; t0 += runTokens) {
      const n = Math.min(runTokens, nTokens - t0);
      let cos = cosAt;
      let sin = sinAt;
      if (table === undefined) {
        this.module.int32View().set(checked.subarray(t0, t0 + n), positionsAt >> 2);
        this.module.check(wasm.exports.rope_table_f32(this.pointer, positionsAt, n, BigInt(length), cosAt, sinAt, n * nPairs));
      } else {
        cos = table.pointer + 4 * t0 * nPairs;
        sin = table.sinPointer + 4 * t0 * nPairs;
      }
      for (const t of tensors) {
        for (let h0 = 0; h0 < t.heads; h0 += group) {
          piece.heads = Math.min(group, t.heads - h0);
          copyHeadRuns(t, wasm.f32, dataAt, h0, piece.heads, nTokens, t0, n, headDim, true);
          this.#writeQk(block, piece, null, n, 0, 'htd', 0);
          this.module.check(wasm.exports.rope_apply_table_f32(this.pointer, block, cos, sin, n * nPairs));
          // wasm.f32 again: the call may have grown the memory.
          copyHeadRuns(t, wasm.f32, dataAt, h0, piece.heads, nTokens, t0, n, headDim, false);
        }
      }
    }
  }

  // Checks apply()'s table and returns its token count.
  #checkTable(table, positions, seqLen) {
    if (!(table instanceof WasmRopeTable)) {
      throw new TypeError(`table is ${describeValue(table)}; expected a WasmRopeTable from this rope's wasmTable()`);
    }
    if (!table.belongsTo(this)) {
      throw new TypeError(table.pointer === 0 ? 'table was freed' : "table belongs to another Rope; make it with this rope's wasmTable()");
    }
    if (seqLen !== undefined) {
      throw new TypeError(`seqLen is ${describeValue(seqLen)} together with table; the table's rows already hold their length, so pass seqLen to wasmTable() instead`);
    }
    if (positions !== undefined) {
      const checked = checkPositions(positions);
      if (checked.length !== table.nPositions) {
        throw new RangeError(`positions has ${checked.length} entries but table has ${table.nPositions} rows; expected the same count, or leave positions out`);
      }
    }
    return table.nPositions;
  }

  // Scratch in WASM memory reused by table() and apply(): grown on demand
  // (never shrunk, so a rope that once copied a large tensor keeps that
  // much) and released by free().
  #scratchPointer = 0;
  #scratchBytes = 0;

  #scratch(bytes) {
    if (bytes > this.#scratchBytes || this.#scratchPointer === 0) {
      if (this.#scratchPointer !== 0) {
        this.module.wasm.exports.free(this.#scratchPointer);
        this.#scratchPointer = 0;
        this.#scratchBytes = 0;
      }
      const size = Math.ceil(Math.max(bytes, 256) / 64) * 64;
      this.#scratchPointer = this.module.malloc(size);
      this.#scratchBytes = size;
    }
    return this.#scratchPointer;
  }

  #checkTensor(name, data, heads, nTokens, required, tokensName = 'positions.length') {
    if (data === undefined || data === null) {
      if (required) throw new TypeError(`${name} is ${describeValue(data)}; expected a Float32Array or WasmFloat32Array`);
      if (heads !== undefined && heads !== 0) {
        throw new TypeError(`${name} is missing but n${name.toUpperCase()}Heads is ${describeValue(heads)}; pass ${name} or leave n${name.toUpperCase()}Heads out`);
      }
      return null;
    }
    const label = name === 'q' ? 'nQHeads' : 'nKHeads';
    // checkInteger builds its message text on every call, so the common
    // valid case is tested here first (it matters for one-token calls).
    if (!(Number.isInteger(heads) && heads >= 1 && heads <= MAX_INT32)) checkInteger(label, heads, 1, MAX_INT32);
    const needed = nTokens * heads * this.headDim;
    let tensor;
    if (data instanceof Float32Array) {
      tensor = { data, length: data.length, copy: true, heads };
    } else if (data instanceof WasmFloat32Array) {
      if (data.module !== this.module) throw new TypeError(`${name} belongs to another RopeModule; allocate it with this rope's module`);
      if (data.pointer === 0) throw new TypeError(`${name} was freed`);
      tensor = { pointer: data.pointer, length: data.length, copy: false, heads };
    } else {
      throw new TypeError(`${name} is ${describeValue(data)}; expected a Float32Array or WasmFloat32Array`);
    }
    if (tensor.length !== needed) {
      throw new RangeError(`${name} has ${tensor.length} elements; expected ${tokensName} * ${label} * headDim = ${nTokens} * ${heads} * ${this.headDim} = ${needed}`);
    }
    return tensor;
  }

  /** Releases the rope's WebAssembly memory; later calls throw. */
  free() {
    if (this.pointer !== 0) {
      if (this.#scratchPointer !== 0) {
        this.module.wasm.exports.free(this.#scratchPointer);
        this.#scratchPointer = 0;
        this.#scratchBytes = 0;
      }
      this.module.wasm.exports.rope_free(this.pointer);
      this.pointer = 0;
    }
  }
}
