// Colour-blind-safe palettes.
//   Lines and points: Okabe & Ito (2008).
//   Heatmaps: viridis (van der Walt & Smith, matplotlib 2.0), sampled at nine stops.
//   Angles: a cyclic map defined here, light at 0 and dark at pi, blue on the way
//     up and orange-brown on the way down, so it wraps without a seam and its two
//     halves differ along the blue-orange axis that most colour-vision deficiencies keep.
//   Signed values (cos, sin): a diverging blue-white-orange map defined here.
// All maps interpolate linearly in sRGB between their stops.

export const OKABE_ITO = Object.freeze({
  orange: '#E69F00',
  skyBlue: '#56B4E9',
  green: '#009E73',
  yellow: '#F0E442',
  blue: '#0072B2',
  vermillion: '#D55E00',
  purple: '#CC79A7',
  black: '#000000',
});

/** Line colours in the order series use them. */
export const SERIES = [OKABE_ITO.blue, OKABE_ITO.orange, OKABE_ITO.green, OKABE_ITO.vermillion, OKABE_ITO.purple, OKABE_ITO.skyBlue, OKABE_ITO.black];

const parse = (hex) => [1, 3, 5].map((at) => parseInt(hex.slice(at, at + 2), 16));

const VIRIDIS_STOPS = ['#440154', '#472d7b', '#3b528b', '#2c728e', '#21918c', '#28ae80', '#5ec962', '#addc30', '#fde725'].map(parse);
const CYCLIC_STOPS = ['#e2d9e2', '#9eb9d0', '#5e8ac4', '#3f4c98', '#2f1436', '#7a2a3f', '#b85a3a', '#d7a27d', '#e2d9e2'].map(parse);
const DIVERGING_STOPS = ['#2b5c8a', '#8fb4d4', '#f4f4f4', '#e9a65d', '#a14a0b'].map(parse);

function sample(stops, t) {
  const x = Math.min(1, Math.max(0, Number.isFinite(t) ? t : 0)) * (stops.length - 1);
  const i = Math.min(stops.length - 2, Math.floor(x));
  const f = x - i;
  const a = stops[i];
  const b = stops[i + 1];
  return [0, 1, 2].map((c) => Math.round(a[c] + (b[c] - a[c]) * f));
}

/** [r, g, b] (0-255) of viridis at t in [0, 1]; t outside is clamped. */
export const viridis = (t) => sample(VIRIDIS_STOPS, t);
/** [r, g, b] of the cyclic angle map at t in [0, 1] (t = angle / 2 pi). */
export const cyclic = (t) => sample(CYCLIC_STOPS, t);
/** [r, g, b] of the diverging map at t in [0, 1] (t = (value + 1) / 2 for values in [-1, 1]). */
export const diverging = (t) => sample(DIVERGING_STOPS, t);

/** Builds a 256-entry lookup table of packed little-endian RGBA words, for Uint32Array image writes. */
export function lookupTable(map) {
  const out = new Uint32Array(256);
  for (let i = 0; i < 256; i++) {
    const [r, g, b] = map(i / 255);
    out[i] = (255 << 24) | (b << 16) | (g << 8) | r;
  }
  return out;
}

/** CSS colour string of a map at t. */
export function cssColor(map, t) {
  const [r, g, b] = map(t);
  return `rgb(${r}, ${g}, ${b})`;
}

/** Returns a CSS rgba() string for a hex colour and an alpha in [0, 1]. */
export function withAlpha(hex, alpha) {
  const [r, g, b] = parse(hex);
  return `rgba(${r}, ${g}, ${b}, ${alpha})`;
}
