// The pairing bug: a cos/sin table laid out for one pairing but applied with
// the other. No DOM.
//
// A rotary pair (a, b) turns by phi = m * theta_i:
//   out_a = x_a cos phi - x_b sin phi,   out_b = x_b cos phi + x_a sin phi.
// Code does this slot by slot, out_j = x_j C_j + sign_j x_partner(j) S_j, with
// per-slot tables C, S expanded from the d/2 frequencies:
//   'half' layout        C_j = cos(m theta_{j mod d/2})   (freqs concatenated twice)
//   'interleaved' layout C_j = cos(m theta_{floor(j/2)})  (each freq repeated twice)
// and partners:
//   'half' (rotate_half)        partner(j) = j +- d/2, sign -1 for j < d/2
//   'interleaved' (every two)   partner(j) = j xor 1,  sign -1 for even j
// When layout and pairing agree this is the rotation above. When they do
// not, the two slots of a pair turn by different angles: not a rotation, so
// norms change and q_m . k_n stops depending on m - n alone. At m = 0 every
// angle is 0 and both versions return x unchanged.

import { pairSlots } from './reference.js';

export const PAIRINGS = Object.freeze(['half', 'interleaved']);

/** Index of the frequency each slot reads from a table laid out for `layout`. */
export function slotFrequencyIndex(layout, rotaryDim) {
  const h = rotaryDim / 2;
  return Int32Array.from({ length: rotaryDim }, (_, j) => (layout === 'interleaved' ? j >> 1 : j % h));
}

/** {partner, sign} of slot j when the code rotates with `pairing`. */
export function partnerOf(j, rotaryDim, pairing) {
  const h = rotaryDim / 2;
  if (pairing === 'interleaved') return { partner: j ^ 1, sign: j % 2 === 0 ? -1 : 1 };
  return j < h ? { partner: j + h, sign: -1 } : { partner: j - h, sign: 1 };
}

/**
 * Rotates `x` slot by slot with a cos/sin row (length d/2, as rope.table
 * returns it) expanded for `layout` and partners from `pairing`. Slots past
 * rotaryDim pass through. Float64 throughout.
 */
export function rotateFromTable(x, cosRow, sinRow, rotaryDim, layout, pairing) {
  const index = slotFrequencyIndex(layout, rotaryDim);
  const out = Float64Array.from(x);
  for (let j = 0; j < rotaryDim; j++) {
    const { partner, sign } = partnerOf(j, rotaryDim, pairing);
    out[j] = x[j] * cosRow[index[j]] + sign * x[partner] * sinRow[index[j]];
  }
  return out;
}

function dot(a, b) {
  let sum = 0;
  for (let j = 0; j < a.length; j++) sum += a[j] * b[j];
  return sum;
}

/**
 * The lab's checks for one setting. `tableRow(position)` returns {cos, sin}
 * rows including attention scaling `scale`. Returns per-check
 * {value, holds} for: identity at position 0, pair norm at m (pairs of
 * `pairing`), relative position (q_m . k_n against q_{m+t} . k_{n+t}), and the
 * largest slot-wise gap between the two angles of a pair.
 */
export function labChecks({ q, k, rotaryDim, layout, pairing, tableRow, scale = 1, m, n, shift, tolerance = 1e-5 }) {
  const rotate = (x, position) => {
    const { cos, sin } = tableRow(position);
    return rotateFromTable(x, cos, sin, rotaryDim, layout, pairing);
  };
  const q0 = rotate(q, 0);
  let identity = 0;
  for (let j = 0; j < rotaryDim; j++) identity = Math.max(identity, Math.abs(q0[j] - scale * q[j]) / (scale * (Math.abs(q[j]) || 1)));
  const qm = rotate(q, m);
  let norm = 0;
  for (let i = 0; i < rotaryDim / 2; i++) {
    const [a, b] = pairSlots(i, rotaryDim, pairing);
    const before = scale * Math.hypot(q[a], q[b]);
    norm = Math.max(norm, Math.abs(Math.hypot(qm[a], qm[b]) - before) / Math.max(before, 1e-30));
  }
  let magnitude = 0;
  for (let j = 0; j < rotaryDim; j++) magnitude += Math.abs(q[j] * k[j]);
  magnitude *= scale * scale;
  const near = dot(qm, rotate(k, n));
  const far = dot(rotate(q, m + shift), rotate(k, n + shift));
  const relative = Math.abs(near - far) / magnitude;
  const badge = (value) => ({ value, holds: value <= tolerance });
  return {
    tolerance,
    identity: badge(identity),
    norm: badge(norm),
    relative: { ...badge(relative), scoreNear: near, scoreShifted: far },
  };
}

/** Lists the slot pairs [[a, b], ...] of every rotary pair under a pairing, for the diagram. */
export function pairList(rotaryDim, pairing) {
  return Array.from({ length: rotaryDim / 2 }, (_, i) => pairSlots(i, rotaryDim, pairing));
}
