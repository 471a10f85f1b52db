// Sums over the rotary pairs that the decay and spiral panels draw. No DOM.
//
//   partial sums   S_j(r) = sum_{i<j} e^{i r theta_i}, j = 0 .. d/2
//   decay bound    B(r) = (2/d) * sum_{j=1..d/2} |S_j(r)|
//                  RoFormer (Su et al. 2021, sec. 3.4.3): |q_m . k_n| <= max_i |h_{i+1} - h_i| * B(m - n)
//   q = k kernel   K(r) = sum_i |q_i|^2 cos(r theta_i) / sum_i |q_i|^2, the score of a vector
//                  with itself r tokens apart (q_i: pair i of q as a 2-vector)
//   random score   q_m . k_n / (|q| |k|) = sum_i Re(conj(q~_i) k~_i e^{-i r theta_i}) / (|q| |k|)
//                  for independent normal q, k, with q~_i = q_a + i q_b (a, b the slots of pair i)
//
// "cos/sin rows" below are unit-circle values cos(r theta_i), sin(r theta_i)
// for i = 0 .. d/2 - 1, taken from rope.table() divided by attentionScaling
// or from Math.cos / Math.sin.

import { mulberry32, normalVector } from '../lib/prng.js';
import { pairSlots } from './reference.js';

/** Partial sums of one row: {re, im, abs}, each Float64Array(d/2 + 1) starting at S_0 = 0. */
export function partialSums(cosRow, sinRow) {
  const n = cosRow.length;
  const re = new Float64Array(n + 1);
  const im = new Float64Array(n + 1);
  const abs = new Float64Array(n + 1);
  for (let i = 0; i < n; i++) {
    re[i + 1] = re[i] + cosRow[i];
    im[i + 1] = im[i] + sinRow[i];
    abs[i + 1] = Math.hypot(re[i + 1], im[i + 1]);
  }
  return { re, im, abs };
}

/** B(r) from one cos/sin row. */
export function boundFromRow(cosRow, sinRow) {
  let re = 0;
  let im = 0;
  let total = 0;
  for (let i = 0; i < cosRow.length; i++) {
    re += cosRow[i];
    im += sinRow[i];
    total += Math.hypot(re, im);
  }
  return total / cosRow.length; // 2/d = 1/(d/2)
}

/** B(r) straight from frequencies, in float64. */
export function decayBound(theta, r) {
  let re = 0;
  let im = 0;
  let total = 0;
  for (let i = 0; i < theta.length; i++) {
    re += Math.cos(r * theta[i]);
    im += Math.sin(r * theta[i]);
    total += Math.hypot(re, im);
  }
  return total / theta.length;
}

/** Integer distances from 1 to rMax, about `points` of them, evenly spaced on a log axis. */
export function logDistances(rMax, points = 400) {
  const out = new Set([1]);
  for (let k = 0; k < points; k++) out.add(Math.max(1, Math.round(Math.exp((Math.log(rMax) * k) / (points - 1)))));
  return [...out].sort((a, b) => a - b);
}

/** Squared norm of every pair of `vector`. */
export function pairNormsSquared(vector, rotaryDim, pairing) {
  const out = new Float64Array(rotaryDim / 2);
  for (let i = 0; i < out.length; i++) {
    const [a, b] = pairSlots(i, rotaryDim, pairing);
    out[i] = vector[a] * vector[a] + vector[b] * vector[b];
  }
  return out;
}

/** K(r) for one cos row and pair weights |q_i|^2. */
export function selfKernel(weights, cosRow) {
  let sum = 0;
  let total = 0;
  for (let i = 0; i < weights.length; i++) {
    sum += weights[i] * cosRow[i];
    total += weights[i];
  }
  return total > 0 ? sum / total : 0;
}

/**
 * Percentiles of the normalised score q_m . k_n / (|q| |k|) over `draws`
 * seeded pairs of independent normal vectors (rotary part only), one value
 * per distance. `rows` is an array of {cos, sin} unit rows, one per distance.
 * Returns {lo, mid, hi} arrays for the given percentiles (default 10/50/90).
 */
export function randomScoreBand(rows, rotaryDim, pairing, { draws = 64, seed = 1, percentiles = [0.1, 0.5, 0.9] } = {}) {
  const n = rotaryDim / 2;
  const random = mulberry32(seed);
  const coefficients = []; // per draw: Float64Array of (re, im) of conj(q~) k~ / (|q| |k|)
  for (let draw = 0; draw < draws; draw++) {
    const q = normalVector(rotaryDim, random);
    const k = normalVector(rotaryDim, random);
    let qq = 0;
    let kk = 0;
    for (let j = 0; j < rotaryDim; j++) { qq += q[j] * q[j]; kk += k[j] * k[j]; }
    const norm = Math.sqrt(qq * kk);
    const c = new Float64Array(2 * n);
    for (let i = 0; i < n; i++) {
      const [a, b] = pairSlots(i, rotaryDim, pairing);
      // conj(qa + i qb) (ka + i kb) = (qa ka + qb kb) + i (qa kb - qb ka)
      c[2 * i] = (q[a] * k[a] + q[b] * k[b]) / norm;
      c[2 * i + 1] = (q[a] * k[b] - q[b] * k[a]) / norm;
    }
    coefficients.push(c);
  }
  const out = percentiles.map(() => new Float64Array(rows.length));
  const values = new Float64Array(draws);
  rows.forEach(({ cos, sin }, index) => {
    for (let draw = 0; draw < draws; draw++) {
      const c = coefficients[draw];
      let sum = 0;
      // Re(c e^{-i phi}) = c_re cos phi + c_im sin phi
      for (let i = 0; i < n; i++) sum += c[2 * i] * cos[i] + c[2 * i + 1] * sin[i];
      values[draw] = sum;
    }
    values.sort();
    percentiles.forEach((p, k) => {
      const at = p * (draws - 1);
      const lo = Math.floor(at);
      const hi = Math.min(draws - 1, lo + 1);
      out[k][index] = values[lo] + (values[hi] - values[lo]) * (at - lo);
    });
  });
  return out;
}
