// Validates createRope options before anything reaches WebAssembly. The
// rules mirror the C core's checks (c/rope.c and c/rope_types/*.c); errors
// name the option, or the config.json key it came from, and the valid range.

export const ROPE_TYPES = Object.freeze(['default', 'linear', 'dynamic', 'yarn', 'longrope', 'llama3']);
export const PAIRINGS = Object.freeze(['half', 'interleaved']);
export const MAX_HEAD_DIM = 65536;
export const MAX_INT32 = 2147483647;
export const MAX_FLOAT32 = 3.4028234663852886e38;

const KNOWN_OPTIONS = new Set([
  'ropeType', 'headDim', 'rotaryDim', 'partialRotaryFactor', 'base', 'pairing', 'factor',
  'maxPositionEmbeddings', 'originalMaxPositionEmbeddings', 'betaFast', 'betaSlow', 'mscale',
  'mscaleAllDim', 'attentionFactor', 'truncate', 'lowFreqFactor', 'highFreqFactor',
  'shortFactor', 'longFactor',
]);

/** Options each rope type needs; a missing one is an error. */
const REQUIRED = {
  default: [],
  linear: ['factor'],
  dynamic: ['factor', 'maxPositionEmbeddings'],
  yarn: ['factor'],
  longrope: ['shortFactor', 'longFactor', 'maxPositionEmbeddings'],
  llama3: ['factor', 'lowFreqFactor', 'highFreqFactor', 'originalMaxPositionEmbeddings'],
};

export function describeValue(value) {
  if (value === null) return 'null';
  if (value === undefined) return 'undefined';
  if (Array.isArray(value)) return `an array of length ${value.length}`;
  if (ArrayBuffer.isView(value)) return `a ${value.constructor.name} of length ${value.length}`;
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'object') return 'an object';
  if (typeof value === 'bigint') return `${value}n`;
  return String(value);
}

/** Throws TypeError unless `value` is a number, then RangeError unless it is an integer in [lo, hi]. */
export function checkInteger(label, value, lo, hi, expected) {
  if (typeof value !== 'number') {
    throw new TypeError(`${label} is ${describeValue(value)}; expected ${expected ?? `an integer from ${lo} to ${hi}`}`);
  }
  if (!Number.isInteger(value) || value < lo || value > hi) {
    throw new RangeError(`${label} is ${describeValue(value)}; expected ${expected ?? `an integer from ${lo} to ${hi}`}`);
  }
  return value;
}

/** Throws unless `value` is a finite number accepted by `ok`. */
export function checkNumber(label, value, ok, expected) {
  if (typeof value !== 'number') {
    throw new TypeError(`${label} is ${describeValue(value)}; expected ${expected}`);
  }
  if (!Number.isFinite(value) || !ok(value)) {
    throw new RangeError(`${label} is ${describeValue(value)}; expected ${expected}`);
  }
  return value;
}

function checkFactorList(label, value, nPairs) {
  if (!Array.isArray(value) && !(ArrayBuffer.isView(value) && !(value instanceof DataView))) {
    throw new TypeError(`${label} is ${describeValue(value)}; expected an array of ${nPairs} numbers`);
  }
  if (value.length !== nPairs) {
    throw new RangeError(
      `${label} has ${value.length} entries; expected rotary_dim / 2 = ${nPairs}, one per rotary pair`,
    );
  }
  const list = Float64Array.from(value, (entry, i) =>
    checkNumber(`${label}[${i}]`, entry, (x) => x > 0, 'a finite number > 0'),
  );
  return list;
}

/**
 * Returns a complete, validated copy of `options` with defaults filled in,
 * or throws TypeError (wrong kind of value) or RangeError (out of range).
 * `options.keyNames`, when present, maps options to config.json keys for
 * the messages.
 */
export function normalizeOptions(options) {
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    throw new TypeError(`options is ${describeValue(options)}; expected an object`);
  }
  const keyNames = options.keyNames ?? {};
  const label = (name) => keyNames[name] ?? name;
  for (const key of Object.keys(options)) {
    if (!KNOWN_OPTIONS.has(key)) {
      throw new TypeError(`unknown option ${JSON.stringify(key)}; expected one of ${[...KNOWN_OPTIONS].join(', ')}`);
    }
  }
  const has = (name) => options[name] !== undefined && options[name] !== null;

  // Rope type and pairing.
  const ropeType = has('ropeType') ? options.ropeType : 'default';
  if (!ROPE_TYPES.includes(ropeType)) {
    const kind = typeof ropeType === 'string' ? RangeError : TypeError;
    throw new kind(`${label('ropeType')} is ${describeValue(ropeType)}; expected one of ${ROPE_TYPES.join(', ')} (or the legacy "su")`);
  }
  const pairing = has('pairing') ? options.pairing : 'half';
  if (!PAIRINGS.includes(pairing)) {
    const kind = typeof pairing === 'string' ? RangeError : TypeError;
    throw new kind(`${label('pairing')} is ${describeValue(pairing)}; expected "half" or "interleaved"`);
  }
  for (const name of REQUIRED[ropeType]) {
    if (!has(name)) {
      if (name === 'factor' && ropeType === 'longrope') continue;
      throw new RangeError(`${label(name)} is missing; ${ropeType} scaling needs it`);
    }
  }

  // Dims.
  if (!has('headDim')) {
    throw new RangeError(`${label('headDim')} is missing; expected an even integer from 2 to ${MAX_HEAD_DIM}`);
  }
  const headDim = checkInteger(label('headDim'), options.headDim, 2, MAX_HEAD_DIM,
    `an even integer from 2 to ${MAX_HEAD_DIM}`);
  if (headDim % 2 !== 0) {
    throw new RangeError(`${label('headDim')} is ${headDim}; expected an even integer from 2 to ${MAX_HEAD_DIM}`);
  }
  let rotaryDim = headDim;
  if (has('rotaryDim')) {
    rotaryDim = checkInteger(label('rotaryDim'), options.rotaryDim, 2, headDim,
      `an even integer from 2 to head_dim (${headDim})`);
  } else if (has('partialRotaryFactor')) {
    const fraction = checkNumber(label('partialRotaryFactor'), options.partialRotaryFactor,
      (x) => x > 0 && x <= 1, 'a number in (0, 1]');
    // transformers: int(head_dim * partial_rotary_factor), truncating.
    rotaryDim = Math.trunc(headDim * fraction);
    if (rotaryDim < 2) {
      throw new RangeError(`${label('partialRotaryFactor')} is ${fraction}; head_dim ${headDim} times it leaves ${rotaryDim} rotary dims, expected at least 2`);
    }
  }
  if (rotaryDim % 2 !== 0) {
    const source = has('rotaryDim') ? label('rotaryDim') : `rotary dim (head_dim * ${label('partialRotaryFactor')})`;
    throw new RangeError(`${source} is ${rotaryDim}; expected an even integer`);
  }
  const nPairs = rotaryDim / 2;
  if (ropeType === 'dynamic' && rotaryDim < 4) {
    throw new RangeError(`rotary dim is ${rotaryDim}; dynamic scaling needs at least 4 because its base exponent is d / (d - 2)`);
  }

  // Base and context lengths.
  const base = has('base')
    ? checkNumber(label('base'), options.base, (x) => x > 1, 'a finite number greater than 1')
    : 10000;
  const maxPositionEmbeddings = has('maxPositionEmbeddings')
    ? checkInteger(label('maxPositionEmbeddings'), options.maxPositionEmbeddings, 1, MAX_INT32)
    : undefined;
  const originalMaxPositionEmbeddings = has('originalMaxPositionEmbeddings')
    ? checkInteger(label('originalMaxPositionEmbeddings'), options.originalMaxPositionEmbeddings, 1, MAX_INT32)
    : undefined;
  if (maxPositionEmbeddings !== undefined && originalMaxPositionEmbeddings !== undefined &&
      originalMaxPositionEmbeddings > maxPositionEmbeddings) {
    throw new RangeError(
      `${label('originalMaxPositionEmbeddings')} is ${originalMaxPositionEmbeddings}; expected at most ` +
        `${label('maxPositionEmbeddings')} (${maxPositionEmbeddings}), the extended context`,
    );
  }
  if (ropeType === 'yarn' && maxPositionEmbeddings === undefined && originalMaxPositionEmbeddings === undefined) {
    throw new RangeError(`${label('originalMaxPositionEmbeddings')} is missing; yarn scaling needs it or ${label('maxPositionEmbeddings')}`);
  }

  // Scaling parameters, each checked only where it is given.
  const result = {
    ropeType, pairing, headDim, rotaryDim, base, maxPositionEmbeddings, originalMaxPositionEmbeddings,
    factor: undefined, betaFast: 32, betaSlow: 1, mscale: 0, mscaleAllDim: 0, attentionFactor: undefined,
    truncate: true, lowFreqFactor: undefined, highFreqFactor: undefined, shortFactor: undefined, longFactor: undefined,
  };
  if (has('factor')) {
    result.factor = checkNumber(label('factor'), options.factor, (x) => x >= 1, 'a finite number >= 1');
  }
  if (ropeType === 'longrope' && originalMaxPositionEmbeddings === undefined && result.factor === undefined) {
    throw new RangeError(`${label('factor')} is missing; longrope without ${label('originalMaxPositionEmbeddings')} needs it`);
  }
  if (has('betaFast')) {
    result.betaFast = checkNumber(label('betaFast'), options.betaFast, (x) => x > 0, 'a finite number > 0');
  }
  if (has('betaSlow')) {
    result.betaSlow = checkNumber(label('betaSlow'), options.betaSlow, (x) => x > 0 && x <= result.betaFast,
      `a finite number > 0 and at most ${label('betaFast')} (${result.betaFast})`);
  } else if (result.betaSlow > result.betaFast) {
    throw new RangeError(`${label('betaFast')} is ${result.betaFast}; expected at least ${label('betaSlow')} (1)`);
  }
  if (has('mscale')) {
    result.mscale = checkNumber(label('mscale'), options.mscale, (x) => x >= 0, 'a finite number >= 0');
  }
  if (has('mscaleAllDim')) {
    result.mscaleAllDim = checkNumber(label('mscaleAllDim'), options.mscaleAllDim, (x) => x >= 0, 'a finite number >= 0');
  }
  if (has('attentionFactor')) {
    result.attentionFactor = checkNumber(label('attentionFactor'), options.attentionFactor, (x) => x >= 1e-30 && x <= MAX_FLOAT32,
      'a number from 1e-30 to 3.4e38, so that scaled cos/sin stay normal float32 values');
  }
  if (has('truncate')) {
    if (typeof options.truncate !== 'boolean') {
      throw new TypeError(`${label('truncate')} is ${describeValue(options.truncate)}; expected true or false`);
    }
    result.truncate = options.truncate;
  }
  if (has('lowFreqFactor')) {
    result.lowFreqFactor = checkNumber(label('lowFreqFactor'), options.lowFreqFactor, (x) => x > 0, 'a finite number > 0');
  }
  if (has('highFreqFactor')) {
    const low = result.lowFreqFactor ?? 0;
    result.highFreqFactor = checkNumber(label('highFreqFactor'), options.highFreqFactor, (x) => x > low,
      `a finite number greater than ${label('lowFreqFactor')} (${low})`);
  }
  if (ropeType === 'longrope') {
    result.shortFactor = checkFactorList(label('shortFactor'), options.shortFactor, nPairs);
    result.longFactor = checkFactorList(label('longFactor'), options.longFactor, nPairs);
    const scale = originalMaxPositionEmbeddings !== undefined
      ? maxPositionEmbeddings / originalMaxPositionEmbeddings
      : result.factor;
    const context = originalMaxPositionEmbeddings ?? maxPositionEmbeddings;
    if (scale > 1 && context < 2) {
      throw new RangeError(`original context length is ${context}; longrope's attention factor sqrt(1 + ln s / ln L) needs L >= 2`);
    }
  }
  return result;
}
