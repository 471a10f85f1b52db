// Live invariants of a rope from web/rope.js, measured on vectors rotated by
// the WebAssembly rope.apply(). No DOM.
//
//   pair norm     |R(m theta_i) x_i| = s |x_i|               (s = rope.attentionScaling)
//   relative      q_m . k_n = q_{m+t} . k_{n+t}                RoFormer (Su et al. 2021), eq. 16
//   orthogonal    R(m)^T R(m) = s^2 I, R(m) read column by column from apply() on basis vectors
//   reference     apply() against the float64 rotation in reference.js
// Each deviation is relative (see the comments in the code) and holds when
// it is at most the tolerance.

import { mulberry32, normalVector } from '../lib/prng.js';
import { pairSlots, rotateReference } from './reference.js';

/** float32 outputs carry ~6e-8 relative error per element; 1e-5 leaves room for sums over a few hundred terms. */
export const TOLERANCE = 1e-5;

/** Rotates copies of `vector` to each of `positions` with rope.apply; returns one Float32Array per position. */
export function rotateWithApply(rope, vector, positions, seqLen) {
  const d = rope.headDim;
  const data = new Float32Array(positions.length * d);
  positions.forEach((_, row) => data.set(vector, row * d));
  rope.apply({ q: data, nQHeads: 1, positions, layout: 'thd', seqLen });
  return positions.map((_, row) => data.subarray(row * d, (row + 1) * d));
}

function dot(a, b) {
  let sum = 0;
  for (let j = 0; j < a.length; j++) sum += a[j] * b[j];
  return sum;
}

/**
 * max |R^T R / s^2 - I| for R = R(position), built from apply() on the
 * rotary basis vectors. Rows past rotaryDim are identity and skipped.
 */
export function orthogonalityDeviation(rope, position, seqLen) {
  const d = rope.headDim;
  const r = rope.rotaryDim;
  const basis = new Float32Array(r * d);
  for (let j = 0; j < r; j++) basis[j * d + j] = 1;
  rope.apply({ q: basis, nQHeads: 1, positions: new Int32Array(r).fill(position), layout: 'thd', seqLen });
  // Column j of R is row j of `basis` (the image of e_j).
  const s2 = rope.attentionScaling ** 2;
  let worst = 0;
  if (r <= 512) {
    for (let a = 0; a < r; a++) {
      for (let b = a; b < r; b++) {
        let sum = 0;
        for (let j = 0; j < r; j++) sum += basis[a * d + j] * basis[b * d + j];
        worst = Math.max(worst, Math.abs(sum / s2 - (a === b ? 1 : 0)));
      }
    }
  } else {
    // Large heads: each image may only touch its own pair, so check the 2x2 blocks and their support.
    for (let i = 0; i < r / 2; i++) {
      const [a, b] = pairSlots(i, r, rope.pairing);
      const ra = basis.subarray(a * d, a * d + r);
      const rb = basis.subarray(b * d, b * d + r);
      worst = Math.max(worst, Math.abs(dot(ra, ra) / s2 - 1), Math.abs(dot(rb, rb) / s2 - 1), Math.abs(dot(ra, rb) / s2));
    }
  }
  return worst;
}

/**
 * Runs the invariant checks. Options: m, n (positions), shift t, seed,
 * seqLen, tolerance. Returns {m, n, shift, tolerance, norm, relative,
 * orthogonal, reference}, each check {value, holds}, plus the scores.
 */
export function invariantChecks(rope, { m = 100, n = 50, shift = 4096, seed = 1, seqLen, tolerance = TOLERANCE } = {}) {
  const d = rope.headDim;
  const s = rope.attentionScaling;
  const random = mulberry32(seed >>> 0);
  const q = normalVector(d, random);
  const k = normalVector(d, random);
  const [qm, qmt] = rotateWithApply(rope, q, [m, m + shift], seqLen);
  const [kn, knt] = rotateWithApply(rope, k, [n, n + shift], seqLen);
  const theta = rope.invFreq(seqLen);

  // Pair norm, relative to s |x_i|.
  let norm = 0;
  for (let i = 0; i < theta.length; i++) {
    const [a, b] = pairSlots(i, rope.rotaryDim, rope.pairing);
    const before = s * Math.hypot(q[a], q[b]);
    norm = Math.max(norm, Math.abs(Math.hypot(qm[a], qm[b]) - before) / Math.max(before, 1e-30));
  }

  // Relative position, relative to the largest possible |q . k| = s^2 sum |q_j k_j|.
  let magnitude = 0;
  for (let j = 0; j < d; j++) magnitude += Math.abs(q[j] * k[j]);
  magnitude *= s * s;
  const scoreNear = dot(qm, kn);
  const scoreShifted = dot(qmt, knt);
  const relative = Math.abs(scoreNear - scoreShifted) / magnitude;

  // apply() against the float64 reference, relative to s max |x|.
  let reference = 0;
  for (const [input, output, position] of [[q, qm, m], [q, qmt, m + shift], [k, kn, n], [k, knt, n + shift]]) {
    const expected = rotateReference(input, position, theta, rope.rotaryDim, rope.pairing, s);
    let top = 0;
    for (let j = 0; j < d; j++) top = Math.max(top, Math.abs(input[j]));
    for (let j = 0; j < d; j++) reference = Math.max(reference, Math.abs(output[j] - expected[j]) / (s * top));
  }

  const orthogonal = orthogonalityDeviation(rope, m, seqLen);
  const badge = (value) => ({ value, holds: value <= tolerance });
  return {
    m, n, shift, seqLen, tolerance,
    norm: badge(norm),
    relative: { ...badge(relative), scoreNear, scoreShifted },
    orthogonal: badge(orthogonal),
    reference: badge(reference),
  };
}
