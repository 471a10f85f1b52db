// The page's single state object and its mirror in the URL query string, so
// a view can be shared by copying the address. Settings edited by hand are
// stored as overrides on top of the chosen preset's config.json; a pasted or
// dropped config.json is stored whole (preset 'custom', key `config`).

import { DEFAULT_PRESET, PRESETS } from './presets.js';

/** createRope options the settings form can override, with their URL value kinds. */
export const OVERRIDE_KINDS = Object.freeze({
  ropeType: 'string',
  pairing: 'string',
  headDim: 'int',
  rotaryDim: 'int',
  base: 'number',
  factor: 'number',
  maxPositionEmbeddings: 'int',
  originalMaxPositionEmbeddings: 'int',
  lowFreqFactor: 'number',
  highFreqFactor: 'number',
  betaFast: 'number',
  betaSlow: 'number',
  mscale: 'number',
  mscaleAllDim: 'number',
  attentionFactor: 'number',
  truncate: 'boolean',
});

export const MAX_HEATMAP_SIZE = 512;
export const HEATMAP_SIZES = [32, 64, 128, 256, 512];
export const VECTOR_MODES = ['random', 'same', 'ones'];
export const SPEEDS = [1, 4, 16, 64, 256]; // positions per second while playing
export const ANGLE_VIEWS = ['angle', 'cos', 'sin'];
export const ANGLE_ROWS = [64, 256, 1024, 4096];
export const PLAY_MODES = ['m', 'both'];
export const SCALE_RULES = ['linear', 'ntk', 'dynamic', 'yarn', 'llama3', 'longrope'];
export const CUSTOM_PRESET = 'custom';
const DEFAULT_SEED = 20240521;

const MAX_INT32 = 2147483647; // positions are int32 >= 0

/**
 * Panel controls kept in the URL: state key -> [query key, kind, default].
 * Kinds: 'int' (integer from 0 to 2^31 − 1), 'number' (positive), 'bool', or a list of allowed strings.
 * The query keys: m and n are the query and key positions, N the heatmap size.
 * Addresses written before N existed used n for the heatmap size and kn for
 * the key position; readUrl still understands them (no N in the query).
 */
const EXTRA_FIELDS = {
  n: ['n', 'int', 40],
  playMode: ['play', PLAY_MODES, 'm'],
  angleView: ['av', ANGLE_VIEWS, 'angle'],
  angleRows: ['ar', ANGLE_ROWS.map(String), 256],
  scaleRule: ['sr', SCALE_RULES, 'yarn'],
  scaleFactor: ['sf', 'number', null],
  scaleContext: ['sL', 'int', null],
  scaleLength: ['sl', 'int', null],
  scaleBetaFast: ['sbf', 'number', 32],
  scaleBetaSlow: ['sbs', 'number', 1],
  scaleTruncate: ['st', 'bool', true],
  scaleLow: ['slo', 'number', 1],
  scaleHigh: ['shi', 'number', 4],
  scaleLong: ['slf', 'string', null],
  bugOn: ['bug', 'bool', false],
  bugPairing: ['bp', ['half', 'interleaved'], null],
  bugM: ['bm', 'int', 12],
  spiralR: ['r', 'int', 100],
  spiralZoom: ['rz', 'bool', false],
};

/** The state on first load, before the URL is read. */
function initialState() {
  return {
    preset: DEFAULT_PRESET,
    overrides: {},
    seqLen: null, // null: the rope's original context length
    m: 100, // position shown by the frequency and rotation panels
    pairs: null, // null: fastest, middle and slowest pair
    heatmapSize: 128,
    row: 64,
    seed: DEFAULT_SEED,
    vectors: 'random',
    speed: 4,
    playing: false,
    test: false,
    lang: 'en',
    customConfig: null, // the pasted config.json text when preset is 'custom'
    ...Object.fromEntries(Object.entries(EXTRA_FIELDS).map(([key, [, , value]]) => [key, value])),
  };
}

export const state = initialState();

function parseValue(kind, text) {
  if (kind === 'string') return text;
  if (kind === 'boolean') return text === 'true' || text === '1';
  const value = Number(text);
  if (!Number.isFinite(value)) return undefined;
  return kind === 'int' ? Math.trunc(value) : value;
}

function parseNonNegativeInt(text, fallback) {
  if (text === null || text.trim() === '') return fallback;
  const value = Number(text);
  return Number.isInteger(value) && value >= 0 && value <= MAX_INT32 ? value : fallback;
}

/** Fills `state` from a query string; unknown or malformed values keep their defaults. */
export function readUrl(search = window.location.search) {
  const params = new URLSearchParams(search);
  const preset = params.get('preset');
  if (preset && PRESETS.some((p) => p.id === preset)) state.preset = preset;
  if (preset === CUSTOM_PRESET && params.get('config')) {
    state.preset = CUSTOM_PRESET;
    state.customConfig = params.get('config');
  }
  state.overrides = {};
  for (const [name, kind] of Object.entries(OVERRIDE_KINDS)) {
    if (!params.has(name)) continue;
    const value = parseValue(kind, params.get(name));
    if (value !== undefined) state.overrides[name] = value;
  }
  const seqLen = parseNonNegativeInt(params.get('seqLen'), 0);
  state.seqLen = seqLen >= 1 ? seqLen : null;
  state.m = parseNonNegativeInt(params.get('m'), state.m);
  const pairs = params.get('pairs');
  if (pairs) {
    const list = pairs.split(',').map((x) => parseNonNegativeInt(x, -1)).filter((x) => x >= 0);
    state.pairs = list.length > 0 ? list.slice(0, 4) : null;
  }
  // Old addresses: n was the heatmap size and kn the key position.
  const oldKeys = !params.has('N');
  if (oldKeys) {
    const size = params.get('n');
    params.delete('n');
    if (size !== null) params.set('N', size);
    if (params.has('kn')) params.set('n', params.get('kn'));
  }
  const size = parseNonNegativeInt(params.get('N'), state.heatmapSize);
  state.heatmapSize = Math.min(MAX_HEATMAP_SIZE, Math.max(2, size));
  state.row = Math.min(state.heatmapSize - 1, parseNonNegativeInt(params.get('row'), Math.floor(state.heatmapSize / 2)));
  const seed = Number(params.get('seed') ?? '');
  if (params.get('seed') && Number.isInteger(seed) && seed >= 0 && seed <= 0xffffffff) state.seed = seed;
  const vectors = params.get('vectors');
  if (VECTOR_MODES.includes(vectors)) state.vectors = vectors;
  const speed = parseNonNegativeInt(params.get('speed'), state.speed);
  if (SPEEDS.includes(speed)) state.speed = speed;
  for (const [key, [name, kind]] of Object.entries(EXTRA_FIELDS)) {
    if (!params.has(name)) continue;
    const text = params.get(name);
    if (Array.isArray(kind)) {
      if (kind.includes(text)) state[key] = typeof state[key] === 'number' ? Number(text) : text;
    } else if (kind === 'bool') {
      state[key] = text === '1' || text === 'true';
    } else if (kind === 'string') {
      state[key] = text;
    } else {
      const value = Number(text);
      if (Number.isFinite(value) && value >= 0 && (kind === 'number' ? value > 0 : Number.isInteger(value) && value <= MAX_INT32)) state[key] = value;
    }
  }
  state.test = params.get('test') === '1';
  if (state.test) state.seed = DEFAULT_SEED;
  return state;
}

/** Returns the query string that reproduces the current view. */
export function toQuery() {
  const params = new URLSearchParams();
  params.set('preset', state.preset);
  if (state.preset === CUSTOM_PRESET && state.customConfig) params.set('config', state.customConfig);
  for (const [name, value] of Object.entries(state.overrides)) {
    if (value !== undefined && value !== null) params.set(name, String(value));
  }
  if (state.seqLen !== null) params.set('seqLen', String(state.seqLen));
  params.set('m', String(state.m));
  if (state.pairs !== null) params.set('pairs', state.pairs.join(','));
  params.set('N', String(state.heatmapSize));
  params.set('row', String(state.row));
  params.set('seed', String(state.seed));
  if (state.vectors !== 'random') params.set('vectors', state.vectors);
  if (state.speed !== 4) params.set('speed', String(state.speed));
  for (const [key, [name, kind, fallback]] of Object.entries(EXTRA_FIELDS)) {
    const value = state[key];
    if (value === fallback || value === null || value === undefined) continue;
    params.set(name, kind === 'bool' ? (value ? '1' : '0') : String(value));
  }
  if (state.test) params.set('test', '1');
  params.set('lang', state.lang);
  return params.toString();
}

let pendingWrite = 0;

function replaceUrl() {
  pendingWrite = 0;
  const url = `${window.location.pathname}?${toQuery()}${window.location.hash}`;
  window.history.replaceState(null, '', url);
}

/**
 * Replaces the address bar's query. During playback it writes at most every
 * 250 ms, because browsers throttle frequent history.replaceState calls.
 */
export function writeUrl() {
  if (!state.playing) {
    window.clearTimeout(pendingWrite);
    replaceUrl();
  } else if (!pendingWrite) {
    pendingWrite = window.setTimeout(replaceUrl, 250);
  }
}
