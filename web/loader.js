// Loads one of the two WebAssembly builds and exposes its exports with
// memory views that are rebuilt whenever the heap grows.

// The smallest module that uses SIMD128: one function () -> v128 whose body
// is `i32.const 0; i8x16.splat; i8x16.popcnt`. WebAssembly.validate accepts
// it exactly when the engine supports SIMD128.
const SIMD128_PROBE = new Uint8Array([
  0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, // magic, version 1
  0x01, 0x05, 0x01, 0x60, 0x00, 0x01, 0x7b, // type section: () -> v128
  0x03, 0x02, 0x01, 0x00, // function section: one function of type 0
  0x0a, 0x0a, 0x01, 0x08, 0x00, // code section: one body, no locals
  0x41, 0x00, 0xfd, 0x0f, 0xfd, 0x62, 0x0b, // i32.const 0, splat, popcnt, end
]);

/** Names the C side exports; build.sh exports the same list. */
const REQUIRED_EXPORTS = [
  'memory', '_initialize', 'malloc', 'free',
  'rope_params_init', 'rope_create', 'rope_free', 'rope_head_dim', 'rope_rotary_dim',
  'rope_get_pairing', 'rope_get_type', 'rope_attention_scaling', 'rope_inv_freq',
  'rope_table_f32', 'rope_apply_f32', 'rope_apply_table_f32', 'rope_scores_f32', 'rope_set_kernel', 'rope_active_kernel',
  'rope_has_simd128', 'rope_status_name', 'rope_error_message',
  'rope_wasm_params_layout', 'rope_wasm_qk_layout', 'rope_wasm_heap_in_use',
];

export const BACKENDS = Object.freeze(['simd128', 'scalar']);

/** Returns whether this engine can run the SIMD128 build. */
export function simd128Supported() {
  return typeof WebAssembly === 'object' && WebAssembly.validate(SIMD128_PROBE);
}

/** URL of the .wasm file for a backend, next to this module. */
export function wasmUrl(backend) {
  // Two literal URLs rather than one template, because Vite and webpack 5
  // copy only files named by a static new URL('...', import.meta.url).
  return backend === 'scalar'
    ? new URL('./wasm/rope-scalar.wasm', import.meta.url)
    : new URL('./wasm/rope-simd128.wasm', import.meta.url);
}

function isNodeFileUrl(url) {
  return url.protocol === 'file:' && typeof process === 'object' && Boolean(process.versions?.node);
}

/**
 * node:fs/promises, reached without an import() of a literal name: a
 * bundler targeting browsers fails on one it cannot resolve, even one that
 * never runs there.
 */
async function nodeFs() {
  if (typeof process.getBuiltinModule === 'function') return process.getBuiltinModule('node:fs/promises');
  const name = 'node:fs/promises'; // Node 18 to 20.15 lack getBuiltinModule
  return import(/* webpackIgnore: true */ /* @vite-ignore */ name);
}

async function readBytes(url) {
  if (isNodeFileUrl(url)) {
    const { readFile } = await nodeFs();
    return readFile(url);
  }
  const response = await fetch(url);
  if (!response.ok) {
    throw new Error(`rope-wasm: fetching ${url} failed with HTTP ${response.status}`);
  }
  return new Uint8Array(await response.arrayBuffer());
}

const compiled = new Map(); // cache key -> Promise<WebAssembly.Module>

function isBytes(value) {
  return value instanceof ArrayBuffer || ArrayBuffer.isView(value);
}

function isUrlLike(value) {
  return typeof value === 'string' || value instanceof URL;
}

function describeSource(value) {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'object') return 'an object';
  return String(value);
}

/**
 * Returns the source of one backend's bytes from a `wasm` load option:
 * undefined (the file next to this module), a URL or string, bytes, or an
 * object with one such entry per backend.
 */
export function pickSource(backend, wasm) {
  if (wasm === undefined || isUrlLike(wasm) || isBytes(wasm)) return wasm;
  if (typeof wasm !== 'object' || wasm === null || Array.isArray(wasm)) {
    throw new TypeError(`wasm is ${describeSource(wasm)}; expected a URL, a string, bytes, or { simd128, scalar } with one of those each`);
  }
  for (const key of Object.keys(wasm)) {
    if (!BACKENDS.includes(key)) {
      throw new TypeError(`wasm has the key ${JSON.stringify(key)}; expected only 'simd128' and 'scalar'`);
    }
  }
  const source = wasm[backend];
  if (source === undefined) {
    const other = backend === 'simd128' ? 'scalar' : 'simd128';
    throw new TypeError(`wasm.${backend} is missing, and the ${backend} build was chosen; give it, or pass backend: '${other}'`);
  }
  if (!isUrlLike(source) && !isBytes(source)) {
    throw new TypeError(`wasm.${backend} is ${describeSource(source)}; expected a URL, a string or bytes`);
  }
  return source;
}

/**
 * Compiles a backend's module once per page or process. `source` overrides
 * where the bytes come from (a URL, or the bytes themselves).
 */
export function compileBackend(backend, source) {
  if (isBytes(source)) {
    return WebAssembly.compile(source);
  }
  const url = source === undefined ? wasmUrl(backend) : new URL(String(source), import.meta.url);
  const key = url.href;
  if (!compiled.has(key)) {
    const promise = readBytes(url).then((bytes) => WebAssembly.compile(bytes));
    promise.catch(() => compiled.delete(key)); // let a later call retry
    compiled.set(key, promise);
  }
  return compiled.get(key);
}

/**
 * The exports of one instance, with typed-array views of its memory. The
 * views are looked up on every access and rebuilt after memory.grow, so a
 * caller never holds a detached view through this object.
 */
export class WasmInstance {
  constructor(instance, backend) {
    const exports = instance.exports;
    for (const name of REQUIRED_EXPORTS) {
      if (!(name in exports)) {
        throw new Error(`rope-wasm: the ${backend} module lacks the export ${name}; rebuild it with build.sh`);
      }
    }
    this.exports = exports;
    this.backend = backend;
    this.memory = exports.memory;
    this._buffer = null;
    exports._initialize();
  }

  _refresh() {
    const buffer = this.memory.buffer;
    if (buffer !== this._buffer) {
      this._buffer = buffer;
      this._u8 = new Uint8Array(buffer);
      this._f32 = new Float32Array(buffer);
      this._f64 = new Float64Array(buffer);
      this._i32 = new Int32Array(buffer);
      this._view = new DataView(buffer);
    }
  }

  get u8() { this._refresh(); return this._u8; }
  get f32() { this._refresh(); return this._f32; }
  get f64() { this._refresh(); return this._f64; }
  get i32() { this._refresh(); return this._i32; }
  get dataView() { this._refresh(); return this._view; }

  /** Reads a NUL-terminated UTF-8 string at `pointer`. */
  readString(pointer) {
    const bytes = this.u8;
    let end = pointer;
    while (end < bytes.length && bytes[end] !== 0) end++;
    return new TextDecoder().decode(bytes.subarray(pointer, end));
  }

  /** Reads n uint32 values at `pointer`. */
  readU32(pointer, n) {
    const view = this.dataView;
    return Array.from({ length: n }, (_, i) => view.getUint32(pointer + 4 * i, true));
  }
}

/**
 * Instantiates a backend. `backend` is 'auto' (SIMD128 when the engine has
 * it), 'simd128' or 'scalar'; `wasm` is the load option (see pickSource).
 */
export async function instantiateBackend(backend = 'auto', wasm) {
  let chosen = backend;
  if (backend === 'auto') {
    chosen = simd128Supported() ? 'simd128' : 'scalar';
  } else if (!BACKENDS.includes(backend)) {
    throw new RangeError(`backend is ${JSON.stringify(backend)}; expected 'auto', 'simd128' or 'scalar'`);
  } else if (backend === 'simd128' && !simd128Supported()) {
    throw new RangeError("backend is 'simd128', but this engine does not support WebAssembly SIMD128; use 'auto' or 'scalar'");
  }
  const module = await compileBackend(chosen, pickSource(chosen, wasm));
  let loaded = null;
  const imports = {
    env: {
      // Called after memory.grow; views are rebuilt lazily on next access.
      emscripten_notify_memory_growth() {
        if (loaded !== null) loaded._refresh();
      },
    },
  };
  const instance = await WebAssembly.instantiate(module, imports);
  loaded = new WasmInstance(instance, chosen);
  // A `wasm` option can hand over the other build's file by mistake; its
  // label would then be wrong about which kernels run.
  const built = loaded.exports.rope_has_simd128() ? 'simd128' : 'scalar';
  if (built !== chosen) {
    throw new RangeError(`wasm gave the ${built} build, but the ${chosen} build was chosen; pass the rope-${chosen}.wasm file for it`);
  }
  return loaded;
}
