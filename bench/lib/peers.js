// The implementations compared by the benchmark, each behind the same small
// interface: setup() returns { run(), output(), teardown() } for one shape,
// where run() performs one timed call and output() returns the rotated
// tensors after exactly one call (for the correctness check).

import { createRequire } from 'node:module';
import path from 'node:path';

import { loadRopeModule } from '../../web/rope.js';
import { instantiateLimits } from './limits.js';
import { rotaryEmbeddingModel } from './onnx.js';

const require = createRequire(import.meta.url);

/** theta_i = base^(-2i/d) in double, computed here independently of the library. */
export function invFreq(headDim, base = 10000) {
  return Float64Array.from({ length: headDim / 2 }, (_, i) => base ** (-(2 * i) / headDim));
}

/** Slots of pair i: [lo, hi]. */
export function pairSlots(interleaved, half, i) {
  return interleaved ? [2 * i, 2 * i + 1] : [i, i + half];
}

/** Offset of (token t, head h) in a tensor of the given layout. */
export function vecOffset(layout, t, h, nTokens, nHeads, headDim) {
  return (layout === 'thd' ? t * nHeads + h : h * nTokens + t) * headDim;
}

/** cos/sin table [positions.length, half] in float32 from Math.cos/Math.sin of double angles. */
export function jsTable(positions, freq) {
  const half = freq.length;
  const cos = new Float32Array(positions.length * half);
  const sin = new Float32Array(positions.length * half);
  for (let t = 0; t < positions.length; t++) {
    const p = positions[t];
    const row = t * half;
    for (let i = 0; i < half; i++) {
      const angle = p * freq[i];
      cos[row + i] = Math.cos(angle);
      sin[row + i] = Math.sin(angle);
    }
  }
  return { cos, sin };
}

/**
 * Plain typed-array RoPE: rotates x in place with cached rows (row t of
 * cos/sin belongs to token t). The straightforward loop a JavaScript
 * implementation would use, with the row and vector offsets hoisted.
 */
export function jsRotate(x, shape, cos, sin, rowOf = (t) => t) {
  const { nTokens, headDim, layout, interleaved } = shape;
  const nHeads = shape.heads;
  const half = headDim / 2;
  for (let t = 0; t < nTokens; t++) {
    const row = rowOf(t) * half;
    for (let h = 0; h < nHeads; h++) {
      const base = layout === 'thd' ? (t * nHeads + h) * headDim : (h * nTokens + t) * headDim;
      if (interleaved) {
        for (let i = 0; i < half; i++) {
          const j = base + 2 * i;
          const a = x[j];
          const b = x[j + 1];
          const c = cos[row + i];
          const s = sin[row + i];
          x[j] = a * c - b * s;
          x[j + 1] = a * s + b * c;
        }
      } else {
        const hi = base + half;
        for (let i = 0; i < half; i++) {
          const a = x[base + i];
          const b = x[hi + i];
          const c = cos[row + i];
          const s = sin[row + i];
          x[base + i] = a * c - b * s;
          x[hi + i] = a * s + b * c;
        }
      }
    }
  }
}

/** Tensors of a shape: [{ name, heads, length }] for q and, with GQA, k. */
export function tensorsOf(shape) {
  const list = [{ name: 'q', heads: shape.nQHeads }];
  if (shape.nKHeads > 0) list.push({ name: 'k', heads: shape.nKHeads });
  return list.map((t) => ({ ...t, length: shape.nTokens * t.heads * shape.headDim }));
}

// ---------------------------------------------------------------- rope-wasm

const modules = {};
async function ropeModule(backend) {
  modules[backend] ??= await loadRopeModule({ backend });
  return modules[backend];
}

function ropeOptions(shape) {
  return { headDim: shape.headDim, pairing: shape.interleaved ? 'interleaved' : 'half' };
}

/**
 * Sets up rope-wasm on tensors that live in WebAssembly memory (no copies). With
 * `reuseTable`, the rows come from rope.wasmTable(), built once outside the
 * timed calls (as plain JS gets its cached table and as an inference engine
 * shares one table between the layers of a step).
 */
async function ropeInWasm(backend, shape, inputs, positions, reuseTable) {
  const module = await ropeModule(backend);
  const rope = module.createRope(ropeOptions(shape));
  const buffers = inputs.map((x) => {
    const b = module.allocFloat32(x.length);
    b.array.set(x);
    return b;
  });
  const pos = Int32Array.from(positions);
  const table = reuseTable ? rope.wasmTable(pos) : null;
  const args = { q: buffers[0], nQHeads: shape.nQHeads, layout: shape.layout };
  if (table === null) args.positions = pos; else args.table = table;
  if (buffers.length > 1) Object.assign(args, { k: buffers[1], nKHeads: shape.nKHeads });
  return {
    run: () => rope.apply(args),
    output: () => { rope.apply(args); return buffers.map((b) => b.array.slice()); },
    teardown: () => { buffers.forEach((b) => b.free()); table?.free(); rope.free(); },
  };
}

/** Sets up rope-wasm on WasmFloat32Array tensors, rows computed in every call. */
export function ropeZeroCopy(backend, shape, inputs, positions) {
  return ropeInWasm(backend, shape, inputs, positions, false);
}

/** Sets up rope-wasm on WasmFloat32Array tensors with rows from a reused rope.wasmTable(). */
export function ropeZeroCopyTable(backend, shape, inputs, positions) {
  return ropeInWasm(backend, shape, inputs, positions, true);
}

/** rope-wasm on the caller's Float32Arrays: copied into WebAssembly memory and back each call. */
export async function ropeCopy(backend, shape, inputs, positions) {
  const module = await ropeModule(backend);
  const rope = module.createRope(ropeOptions(shape));
  const arrays = inputs.map((x) => x.slice());
  const pos = Int32Array.from(positions);
  const args = { q: arrays[0], nQHeads: shape.nQHeads, positions: pos, layout: shape.layout };
  if (arrays.length > 1) Object.assign(args, { k: arrays[1], nKHeads: shape.nKHeads });
  return {
    run: () => rope.apply(args),
    output: () => { rope.apply(args); return arrays.map((a) => a.slice()); },
    teardown: () => rope.free(),
  };
}

/** rope-wasm tables: rope.table() (copies out) and rope_table_f32 into WebAssembly memory. */
export async function ropeTable(backend, headDim, positions, inPlace) {
  const module = await ropeModule(backend);
  const rope = module.createRope({ headDim });
  const half = headDim / 2;
  if (!inPlace) {
    return {
      run: () => rope.table(positions),
      output: () => rope.table(positions),
      teardown: () => rope.free(),
    };
  }
  const { wasm } = module;
  const n = positions.length * half;
  const posBuf = module.malloc(4 * positions.length);
  wasm.i32.set(positions, posBuf / 4);
  const cosBuf = module.allocFloat32(n);
  const sinBuf = module.allocFloat32(n);
  const call = () => module.check(wasm.exports.rope_table_f32(rope.pointer, posBuf, positions.length, 0n,
    cosBuf.pointer, sinBuf.pointer, n));
  return {
    run: call,
    output: () => { call(); return { cos: cosBuf.array.slice(), sin: sinBuf.array.slice() }; },
    teardown: () => { wasm.exports.free(posBuf); cosBuf.free(); sinBuf.free(); rope.free(); },
  };
}

/** Limits over buffers of the same sizes in the rope-wasm SIMD128 module's memory. */
export async function limits(kind, inputs) {
  const module = await ropeModule('simd128');
  const lim = instantiateLimits(module.wasm.memory);
  const buffers = inputs.map((x) => {
    const b = module.allocFloat32(x.length);
    b.array.set(x);
    return b;
  });
  // The load/store pass steps 64 bytes; every benchmark tensor is a multiple of 16 floats.
  const bytes = buffers.map((b) => 4 * b.length);
  if (bytes.some((n) => n % 64 !== 0)) throw new Error('limits: tensor bytes must be a multiple of 64');
  let run;
  let extra = [];
  if (kind === 'loadstore') {
    run = buffers.length > 1
      ? () => lim.pass2(buffers[0].pointer, bytes[0], buffers[1].pointer, bytes[1])
      : () => lim.pass(buffers[0].pointer, bytes[0]);
  } else {
    extra = buffers.map((b) => module.allocFloat32(b.length));
    run = () => { for (let i = 0; i < buffers.length; i++) lim.copy(extra[i].pointer, buffers[i].pointer, bytes[i]); };
  }
  return {
    run,
    output: () => (kind === 'loadstore' ? (run(), buffers.map((b) => b.array.slice())) : (run(), extra.map((b) => b.array.slice()))),
    teardown: () => { buffers.forEach((b) => b.free()); extra.forEach((b) => b.free()); },
  };
}

// ---------------------------------------------------------------- plain JS

/** Prefill: cached table (made once, outside the timing); decode: Math.cos/Math.sin row per call. */
export function plainJs(shape, inputs, positions, freq, { decode, withTable }) {
  const arrays = inputs.map((x) => x.slice());
  const tensors = tensorsOf(shape);
  const shapes = tensors.map((t) => ({ ...shape, heads: t.heads }));
  let cached = decode || withTable ? null : jsTable(positions, freq);
  const run = () => {
    const table = cached ?? jsTable(positions, freq);
    for (let j = 0; j < arrays.length; j++) jsRotate(arrays[j], shapes[j], table.cos, table.sin);
  };
  return {
    run,
    output: () => { run(); return arrays.map((a) => a.slice()); },
    teardown: () => { cached = null; },
  };
}

/** Plain JS table alone: Math.cos/Math.sin in double, stored as float32. */
export function plainJsTable(positions, freq) {
  return {
    run: () => jsTable(positions, freq),
    output: () => jsTable(positions, freq),
    teardown: () => {},
  };
}

// ---------------------------------------------------------------- tfjs

let tf = null;
async function tfjs() {
  if (tf) return tf;
  tf = await import('@tensorflow/tfjs-core');
  const wasmBackend = await import('@tensorflow/tfjs-backend-wasm');
  const dist = path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm'));
  wasmBackend.setWasmPaths(`${dist}/`);
  // Single thread: the non-threaded SIMD build.
  tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', false);
  wasmBackend.setThreadsCount(1);
  if (!(await tf.setBackend('wasm'))) throw new Error('tfjs: the wasm backend did not initialize');
  return tf;
}

/**
 * tfjs-core composed ops on the wasm backend: slice the pair halves,
 * four multiplies, a sub, an add, a concat. Inputs stay resident as
 * tensors; each call makes new output tensors (tfjs ops are not in place)
 * and disposes of the previous ones. Outputs are not read back in the
 * timed call.
 */
export async function tfjsPeer(shape, inputs, positions, freq, { decode }) {
  const t = await tfjs();
  const half = shape.headDim / 2;
  const tensors = tensorsOf(shape);
  const dimsOf = (heads) => (shape.layout === 'thd' ? [shape.nTokens, heads, shape.headDim] : [heads, shape.nTokens, shape.headDim]);
  const xs = tensors.map((ts, j) => t.tensor(inputs[j], dimsOf(ts.heads)));
  // Row shape that broadcasts over heads.
  const rowDims = shape.layout === 'thd' ? [shape.nTokens, 1, half] : [1, shape.nTokens, half];
  const makeRows = () => {
    const table = jsTable(positions, freq);
    return shape.interleaved
      ? [t.tensor(table.cos, [...rowDims, 1]), t.tensor(table.sin, [...rowDims, 1])]
      : [t.tensor(table.cos, rowDims), t.tensor(table.sin, rowDims)];
  };
  let rows = decode ? null : makeRows();
  let outs = [];
  const rotate = (x, c, s) => {
    if (shape.interleaved) {
      const [d0, d1, d2] = x.shape;
      const pairs = t.reshape(x, [d0, d1, half, 2]);
      const a = t.slice(pairs, [0, 0, 0, 0], [d0, d1, half, 1]);
      const b = t.slice(pairs, [0, 0, 0, 1], [d0, d1, half, 1]);
      const out = t.concat([t.sub(t.mul(a, c), t.mul(b, s)), t.add(t.mul(a, s), t.mul(b, c))], 3);
      return t.reshape(out, [d0, d1, d2]);
    }
    const [d0, d1] = x.shape;
    const a = t.slice(x, [0, 0, 0], [d0, d1, half]);
    const b = t.slice(x, [0, 0, half], [d0, d1, half]);
    return t.concat([t.sub(t.mul(a, c), t.mul(b, s)), t.add(t.mul(a, s), t.mul(b, c))], 2);
  };
  const run = () => {
    for (const o of outs) o.dispose();
    outs = t.tidy(() => {
      const [c, s] = rows ?? makeRows();
      return xs.map((x) => rotate(x, c, s));
    });
  };
  return {
    run,
    output: () => { run(); return outs.map((o) => o.dataSync().slice()); },
    teardown: () => {
      for (const o of outs) o.dispose();
      xs.forEach((x) => x.dispose());
      if (rows) rows.forEach((r) => r.dispose());
    },
  };
}

// ---------------------------------------------------------------- onnxruntime-node

let ort = null;
async function onnxruntime() {
  ort ??= (await import('onnxruntime-node')).default;
  return ort;
}

/**
 * onnxruntime-node, com.microsoft RotaryEmbedding (one node per tensor, one
 * session.run for q and k), 1 intra-op thread, preallocated outputs. 'thd'
 * is the op's 3-D input [batch, tokens, heads * headDim], 'htd' its 4-D
 * input [batch, heads, tokens, headDim]. Prefill passes the cached table
 * as cos_cache/sin_cache with position_ids 0..n-1; decode computes the one
 * row for its position per call with Math.cos/Math.sin and passes position 0.
 */
export async function ortPeer(shape, inputs, positions, freq, { decode }) {
  const o = await onnxruntime();
  const half = shape.headDim / 2;
  const tensors = tensorsOf(shape);
  const dimsOf = (heads) => (shape.layout === 'thd'
    ? [1, shape.nTokens, heads * shape.headDim] : [1, heads, shape.nTokens, shape.headDim]);
  const nPositions = decode ? 1 : shape.nTokens;
  const model = rotaryEmbeddingModel({
    tensors: tensors.map((ts) => ({ name: ts.name, dims: dimsOf(ts.heads), numHeads: ts.heads })),
    nTokens: shape.nTokens, nPositions, half, interleaved: shape.interleaved,
  });
  const session = await o.InferenceSession.create(model, {
    intraOpNumThreads: 1, interOpNumThreads: 1, executionMode: 'sequential', graphOptimizationLevel: 'all',
  });
  const feeds = {};
  tensors.forEach((ts, j) => { feeds[ts.name] = new o.Tensor('float32', inputs[j].slice(), dimsOf(ts.heads)); });
  const ids = decode ? [0n] : Array.from(positions, (p) => BigInt(p));
  feeds.position_ids = new o.Tensor('int64', BigInt64Array.from(ids), [1, shape.nTokens]);
  const cosCache = new Float32Array(nPositions * half);
  const sinCache = new Float32Array(nPositions * half);
  if (!decode) {
    const table = jsTable(positions, freq);
    cosCache.set(table.cos);
    sinCache.set(table.sin);
  }
  feeds.cos_cache = new o.Tensor('float32', cosCache, [nPositions, half]);
  feeds.sin_cache = new o.Tensor('float32', sinCache, [nPositions, half]);
  const outArrays = tensors.map((ts) => new Float32Array(shape.nTokens * ts.heads * shape.headDim));
  const fetches = {};
  tensors.forEach((ts, j) => { fetches[`${ts.name}_out`] = new o.Tensor('float32', outArrays[j], dimsOf(ts.heads)); });
  const p = positions[0];
  const run = async () => {
    if (decode) {
      for (let i = 0; i < half; i++) {
        cosCache[i] = Math.cos(p * freq[i]);
        sinCache[i] = Math.sin(p * freq[i]);
      }
    }
    return session.run(feeds, fetches);
  };
  return {
    run,
    async: true,
    output: async () => {
      const result = await run();
      return tensors.map((ts) => result[`${ts.name}_out`].data.slice());
    },
    teardown: () => session.release(),
  };
}
