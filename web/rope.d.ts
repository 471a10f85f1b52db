// Type declarations for web/rope.js, written by hand.
//
// Units: positions are token indices (integers 0 .. 2^31 - 1), frequencies
// are radians per token, lengths are element counts. Tables and tensors are
// float32; frequencies and attention scaling are float64.
//
// Errors: a value of the wrong kind throws TypeError, a value out of range
// throws RangeError. Messages name the option (or the config.json key it
// came from), the value, and the valid range. Running out of WebAssembly
// memory throws Error.

/** Frequency rules, named as transformers' `rope_type`. */
export type RopeType = 'default' | 'linear' | 'dynamic' | 'yarn' | 'longrope' | 'llama3';

/**
 * Rotary slot pairing. 'half' pairs slot i with slot
 * i + rotaryDim / 2 (rotate_half: GPT-NeoX, Hugging Face Llama);
 * 'interleaved' pairs slot 2i with slot 2i + 1 (GPT-J).
 */
export type Pairing = 'half' | 'interleaved';

/** Tensor layout: 'thd' is [tokens, heads, headDim], 'htd' is [heads, tokens, headDim]. */
export type Layout = 'thd' | 'htd';

/** Name of a .wasm build. */
export type Backend = 'simd128' | 'scalar';

/** A backend request: 'auto' takes SIMD128 when the engine supports it. */
export type BackendRequest = 'auto' | Backend;

/** A kernel request for RopeModule.setKernel. */
export type KernelRequest = 'auto' | Backend;

/** A list of numbers: a plain array or any typed array. */
export type NumberList = readonly number[] | Float64Array | Float32Array;

/** Token positions, one per token; each an integer from 0 to 2147483647. */
export type Positions = readonly (number | bigint)[] | Int32Array | Uint32Array | Float64Array | Float32Array | BigInt64Array;

/**
 * createRope options. Only headDim is always required; each rope type
 * needs the fields listed on `ropeType`. An unknown key throws TypeError.
 */
export interface RopeOptions {
  /**
   * Frequency rule; default 'default'. Required fields per type:
   * linear: factor; dynamic: factor, maxPositionEmbeddings; yarn: factor and
   * originalMaxPositionEmbeddings or maxPositionEmbeddings; longrope:
   * shortFactor, longFactor, maxPositionEmbeddings (and factor when
   * originalMaxPositionEmbeddings is absent); llama3: factor, lowFreqFactor,
   * highFreqFactor, originalMaxPositionEmbeddings.
   */
  ropeType?: RopeType;
  /** Elements per head vector: an even integer from 2 to 65536. */
  headDim: number;
  /** Rotated slots per head: an even integer from 2 to headDim; default headDim. */
  rotaryDim?: number;
  /**
   * Fraction of headDim that rotates, in (0, 1]; rotaryDim is
   * trunc(headDim * fraction) and must come out even. Ignored when rotaryDim is given.
   */
  partialRotaryFactor?: number;
  /** rope_theta: a finite number > 1; default 10000. */
  base?: number;
  /** Default 'half'. */
  pairing?: Pairing;
  /** Context scaling factor: a finite number >= 1. */
  factor?: number;
  /** Extended context length in tokens: an integer from 1 to 2^31 - 1. */
  maxPositionEmbeddings?: number;
  /** Trained context length in tokens: an integer from 1 to maxPositionEmbeddings. */
  originalMaxPositionEmbeddings?: number;
  /** YaRN: a finite number > 0; default 32. */
  betaFast?: number;
  /** YaRN: a finite number in (0, betaFast]; default 1. */
  betaSlow?: number;
  /** YaRN (DeepSeek style): a finite number >= 0; default 0 (not given). */
  mscale?: number;
  /** YaRN (DeepSeek style): a finite number >= 0; default 0 (not given). */
  mscaleAllDim?: number;
  /** YaRN or LongRoPE: attention scaling given directly, a finite number > 0; default derived. */
  attentionFactor?: number;
  /** YaRN: round the ramp edges to whole dims; default true. */
  truncate?: boolean;
  /** Llama 3: a finite number > 0. */
  lowFreqFactor?: number;
  /** Llama 3: a finite number greater than lowFreqFactor. */
  highFreqFactor?: number;
  /** LongRoPE: rotaryDim / 2 finite divisors > 0, used up to the original context. */
  shortFactor?: NumberList;
  /** LongRoPE: rotaryDim / 2 finite divisors > 0, used beyond the original context. */
  longFactor?: NumberList;
}

/**
 * The rope-related part of a Hugging Face config.json. Other keys are
 * allowed and ignored. head_dim, else hidden_size / num_attention_heads
 * (n_embd / n_head for GPT-J), gives headDim.
 */
export interface HFConfig {
  /** Never present: an object with headDim is read as RopeOptions. */
  headDim?: never;
  model_type?: string;
  head_dim?: number;
  hidden_size?: number;
  num_attention_heads?: number;
  n_embd?: number;
  n_head?: number;
  rotary_dim?: number;
  partial_rotary_factor?: number;
  rotary_pct?: number;
  rope_theta?: number;
  rotary_emb_base?: number;
  max_position_embeddings?: number;
  n_positions?: number;
  original_max_position_embeddings?: number;
  /** Scaling parameters; `rope_parameters` takes precedence when both are present. */
  rope_scaling?: HFRopeScaling | null;
  rope_parameters?: HFRopeScaling | null;
  [key: string]: unknown;
}

/** The rope_scaling / rope_parameters dict of a config.json. */
export interface HFRopeScaling {
  /** A RopeType, or the legacy 'su' for longrope. */
  rope_type?: RopeType | 'su';
  /** Legacy name of rope_type; must agree with it when both are given. */
  type?: RopeType | 'su';
  rope_theta?: number;
  partial_rotary_factor?: number;
  factor?: number;
  original_max_position_embeddings?: number;
  beta_fast?: number;
  beta_slow?: number;
  mscale?: number;
  mscale_all_dim?: number;
  attention_factor?: number;
  truncate?: boolean;
  low_freq_factor?: number;
  high_freq_factor?: number;
  short_factor?: number[];
  long_factor?: number[];
  [key: string]: unknown;
}

/** Options read from a config, not yet validated: createRope checks them. */
export type ConfigOptions = RopeOptions & {
  /** Maps each option to the config.json key it came from, for error messages (not enumerable). */
  readonly keyNames?: Readonly<Record<string, string>>;
};

/** One build's .wasm: a URL (string or URL; relative strings resolve against web/loader.js) or its bytes. */
export type WasmSource = string | URL | ArrayBuffer | ArrayBufferView;

/** How to load a module. */
export interface LoadOptions {
  /** Default 'auto'. RangeError for an unknown name, or 'simd128' on an engine without SIMD128. */
  backend?: BackendRequest;
  /**
   * The .wasm source: one source for the build that `backend` picks, or one per build,
   * so that 'auto' can pick either. Given, the module is not cached. The promise rejects with
   * TypeError for a source of another kind or a missing entry, and with RangeError when the
   * bytes are the other build.
   */
  wasm?: WasmSource | { simd128?: WasmSource; scalar?: WasmSource };
}

/** Arguments of Rope.apply. */
export interface ApplyArgs {
  /** Queries, rotated in place: positions.length * nQHeads * headDim elements in `layout` order. */
  q: Float32Array | WasmFloat32Array;
  /** Keys, rotated in place: positions.length * nKHeads * headDim elements. Optional. */
  k?: Float32Array | WasmFloat32Array | null;
  /** Query heads: an integer >= 1. */
  nQHeads: number;
  /** Key heads, which may differ from nQHeads (grouped-query attention); defaults to nQHeads when k is given. */
  nKHeads?: number;
  /** Position of each token, shared by all heads; need not be sorted or contiguous. */
  positions: Positions;
  /** Default 'thd'. */
  layout?: Layout;
  /** Sequence length for dynamic and longrope: an integer >= 1; default max(positions) + 1. */
  seqLen?: number;
  /** Only in ApplyTableArgs. */
  table?: undefined;
}

/** Arguments of Rope.apply with rows from Rope.wasmTable(). */
export interface ApplyTableArgs {
  /** Queries, rotated in place: table.nPositions * nQHeads * headDim elements in `layout` order. */
  q: Float32Array | WasmFloat32Array;
  /** Keys, rotated in place: table.nPositions * nKHeads * headDim elements. Optional. */
  k?: Float32Array | WasmFloat32Array | null;
  /** Query heads: an integer >= 1. */
  nQHeads: number;
  /** Key heads, which may differ from nQHeads (grouped-query attention); defaults to nQHeads when k is given. */
  nKHeads?: number;
  /**
   * Rows from this rope's wasmTable(), row t for token t, used instead of computing them: the
   * way one table serves every layer of a step. Results are bit-identical to apply() with the
   * positions the table was made for.
   */
  table: WasmRopeTable;
  /** Optional; when given it must have table.nPositions valid entries (its values are not used). */
  positions?: Positions;
  /** Default 'thd'. */
  layout?: Layout;
  /** Not allowed: the rows already hold the length they were made for (see wasmTable). */
  seqLen?: undefined;
}

/** cos and sin tables of shape [positions.length, rotaryDim / 2], row-major. */
export interface RopeTable {
  /** attentionScaling * cos(position * invFreq[i]). */
  cos: Float32Array;
  /** attentionScaling * sin(position * invFreq[i]). */
  sin: Float32Array;
}

/** Rope types, in the order of the C enum. */
export const ROPE_TYPES: readonly RopeType[];

/** Pairings, in the order of the C enum. */
export const PAIRINGS: readonly Pairing[];

/** Returns whether this engine can run the SIMD128 build. */
export function simd128Supported(): boolean;

/**
 * Converts a config.json object to createRope options without validating
 * them (createRope does that).
 * @throws {TypeError} config is not a plain object, or rope_scaling is not an object or null.
 * @throws {RangeError} no head dims can be derived, hidden_size is not a multiple of the head
 *   count, or `type` and `rope_type` disagree.
 */
export function ropeOptionsFromConfig(config: HFConfig): ConfigOptions;

/**
 * Loads (once per backend unless `wasm` is given) and instantiates a build.
 * The promise rejects with RangeError for an unknown or unsupported backend,
 * and with TypeError for load options other than `backend` and `wasm`.
 */
export function loadRopeModule(options?: LoadOptions): Promise<RopeModule>;

/**
 * Creates a Rope on the shared module for `load.backend`. The argument is
 * options (it has `headDim`) or a config.json object. The promise rejects
 * with TypeError or RangeError for an invalid argument, options, config or
 * backend; it never throws synchronously.
 */
export function createRope(optionsOrConfig: RopeOptions | HFConfig, load?: LoadOptions): Promise<Rope>;

/** float32 values in WebAssembly memory, for zero-copy Rope.apply. */
export class WasmFloat32Array {
  private constructor(module: RopeModule, pointer: number, length: number);
  /** The module whose memory contains the values. */
  readonly module: RopeModule;
  /** Byte offset in WebAssembly memory; 0 after free(). */
  readonly pointer: number;
  /** Element count. */
  readonly length: number;
  /**
   * A new view of the values on every access. A view kept across a call
   * into the module can become detached when the memory grows.
   * @throws {TypeError} after free().
   */
  readonly array: Float32Array;
  /** Releases the memory; a second call does nothing. */
  free(): void;
}

/**
 * cos and sin rows [nPositions, rotaryDim / 2] in WebAssembly memory, from Rope.wasmTable(),
 * for Rope.apply({ table }). Holds memory until free(). A type only: the module exports no
 * value of this name.
 */
declare class WasmRopeTable {
  private constructor();
  /** The module whose memory contains the rows. */
  readonly module: RopeModule;
  /** Rows (tokens) in the table. */
  readonly nPositions: number;
  /** Floats per row: rotaryDim / 2. */
  readonly rowLength: number;
  /** Byte offset of the cos rows in WebAssembly memory; 0 after free(). */
  readonly pointer: number;
  /** Byte offset of the sin rows; 0 after free(). */
  readonly sinPointer: number;
  /**
   * A new view of the cos rows (attentionScaling * cos(position * invFreq[i])) on every access;
   * a view kept across a call into the module can become detached when the memory grows.
   * @throws {TypeError} after free().
   */
  readonly cos: Float32Array;
  /** The sin rows, as cos. @throws {TypeError} after free(). */
  readonly sin: Float32Array;
  /** Whether `rope` made this table and it is not freed. */
  belongsTo(rope: Rope): boolean;
  /** Releases the rows; a second call does nothing. */
  free(): void;
}

export type { WasmRopeTable };

/** One instantiated .wasm build. */
export class RopeModule {
  private constructor(wasm: unknown);
  /** The build that runs. */
  readonly backend: Backend;
  /** The kernel apply() runs now (never 'auto'). */
  readonly kernel: Backend;
  /**
   * Chooses the apply kernel for every rope of this module.
   * @throws {RangeError} unknown name, or 'simd128' on the scalar build.
   */
  setKernel(kernel: KernelRequest): void;
  /** Bytes currently allocated in this module's heap. */
  heapInUse(): number;
  /**
   * Allocates `length` zeroed float32 values (length: integer from 0 to 2^30).
   * @throws {TypeError | RangeError} bad length; Error when memory runs out.
   */
  allocFloat32(length: number): WasmFloat32Array;
  /**
   * Dot product of every row of q with every row of k (rows of `dim`
   * floats): [q.length / dim, k.length / dim] scores, row-major, the
   * attention scores of rotated q and k before the 1/sqrt(d) scaling.
   * @throws {TypeError} q or k not a Float32Array or live WasmFloat32Array.
   * @throws {RangeError} dim not a positive integer, or a length not a multiple of it.
   */
  scoreMatrix(q: Float32Array | WasmFloat32Array, k: Float32Array | WasmFloat32Array, dim: number): Float64Array;
  /**
   * Builds a Rope from options or a config.json object.
   * @throws {TypeError | RangeError} invalid options; see RopeOptions.
   */
  createRope(optionsOrConfig: RopeOptions | HFConfig): Rope;
}

/** A rotary embedding. Holds WebAssembly memory until free(); every method throws TypeError after it. */
export class Rope {
  /** Use createRope() or RopeModule.createRope(). */
  constructor(module: RopeModule, optionsOrConfig: RopeOptions | HFConfig);
  /** The module whose memory contains this rope. */
  readonly module: RopeModule;
  /** The validated options with every default filled in. */
  readonly options: Readonly<Required<Pick<RopeOptions, 'ropeType' | 'pairing' | 'headDim' | 'rotaryDim' | 'base'>> & RopeOptions>;
  readonly ropeType: RopeType;
  readonly pairing: Pairing;
  /** Elements per head vector. */
  readonly headDim: number;
  /** Rotated slots per head; slots from rotaryDim to headDim - 1 pass through bit-identical. */
  readonly rotaryDim: number;
  /** rope_theta. */
  readonly base: number;
  /** Extended context length in tokens, when given. */
  readonly maxPositionEmbeddings: number | undefined;
  /** Trained context length in tokens, when given. */
  readonly originalMaxPositionEmbeddings: number | undefined;
  /** Factor on every cos and sin (YaRN mscale, LongRoPE; 1 for the other types). */
  readonly attentionScaling: number;
  /** The build this rope runs on. */
  readonly backend: Backend;
  /**
   * Frequencies theta_i in radians per token, length rotaryDim / 2, for a
   * sequence of seqLen tokens (integer >= 1; matters to dynamic and
   * longrope). Default: the original context length.
   * @throws {TypeError | RangeError} bad seqLen.
   */
  invFreq(seqLen?: number): Float64Array;
  /**
   * cos and sin tables for `positions`, already multiplied by
   * attentionScaling. seqLen defaults to max(positions) + 1.
   * @throws {TypeError | RangeError} bad positions or seqLen.
   */
  table(positions: Positions, seqLen?: number): RopeTable;
  /**
   * The rows of table(positions, seqLen), kept in WebAssembly memory for apply({ table }):
   * compute them once per step, rotate every layer with them. Free the result when done.
   * @throws {TypeError | RangeError} bad positions or seqLen; Error when memory runs out.
   */
  wasmTable(positions: Positions, seqLen?: number): WasmRopeTable;
  /**
   * Rotates q and k in place. A Float32Array is copied into WebAssembly
   * memory and back; a WasmFloat32Array of this rope's module is rotated
   * where it is. With `table`, its rows are used and positions may be left out.
   * @throws {TypeError} missing q, wrong tensor kind, a WasmFloat32Array of another module or
   *   freed; a table that is not a live WasmRopeTable of this rope; seqLen together with table.
   * @throws {RangeError} a tensor length that is not positions.length (or table.nPositions) *
   *   heads * headDim, bad heads, positions, layout or seqLen, positions whose length is not
   *   table.nPositions.
   */
  apply(args: ApplyArgs | ApplyTableArgs): void;
  /** Releases the rope's memory; a second call does nothing. */
  free(): void;
}
