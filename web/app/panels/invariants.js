// Panel 6: live checks of two RoPE properties on seeded random vectors
// rotated by the WebAssembly rope.apply():
//   pair norm: |R(mθ_i) x_i| = s·|x_i| (s = rope.attentionScaling);
//   relative position: q_m · k_n = q_{m+t} · k_{n+t} (RoFormer, Su et al. 2021, eq. 16);
// and apply() against a float64 JavaScript rotation that uses θ_i from
// rope.invFreq(L): (a, b) -> s·(a cos φ − b sin φ, a sin φ + b cos φ), φ = pos·θ_i.

import { t, formatNumber } from '../i18n/index.js';
import { mulberry32, normalVector } from '../lib/prng.js';
import { pairDims } from '../lib/context.js';

const SHIFT = 4096; // t, the common shift of both positions
// Relative tolerances. float32 outputs carry about 6e-8 relative error per
// element, so 1e-5 leaves room for sums over a few hundred terms.
const TOLERANCE = 1e-5;

let list = null;
let positionsText = null;
let last = null;

function rotateWithWasm(rope, vector, positions, seqLen) {
  const d = rope.headDim;
  const data = new Float32Array(positions.length * d);
  positions.forEach((_, row) => data.set(vector, row * d));
  rope.apply({ q: data, nQHeads: 1, positions, layout: 'thd', seqLen });
  return positions.map((_, row) => data.subarray(row * d, (row + 1) * d));
}

function rotateReference(rope, vector, position, theta) {
  const out = Float64Array.from(vector);
  const s = rope.attentionScaling;
  for (let i = 0; i < theta.length; i++) {
    const [a, b] = pairDims(i, rope.rotaryDim, rope.pairing);
    const phi = position * theta[i];
    out[a] = s * (vector[a] * Math.cos(phi) - vector[b] * Math.sin(phi));
    out[b] = s * (vector[a] * Math.sin(phi) + vector[b] * Math.cos(phi));
  }
  return out;
}

function dot(x, y) {
  let sum = 0;
  for (let j = 0; j < x.length; j++) sum += x[j] * y[j];
  return sum;
}

export default {
  id: 'invariants',
  titleKey: 'invariants.title',
  explainKey: 'invariants.explain',
  deps: ['m', 'seed'],

  mount(body) {
    body.innerHTML = `
      <p data-role="positions"></p>
      <ul class="badges" data-role="badges"></ul>`;
    list = body.querySelector('[data-role=badges]');
    positionsText = body.querySelector('[data-role=positions]');
    this.canvases = [];
  },

  render(state, rope, ctx) {
    const d = rope.headDim;
    const s = rope.attentionScaling;
    const random = mulberry32((state.seed + 1) >>> 0);
    const q = normalVector(d, random);
    const k = normalVector(d, random);
    const m = state.m;
    const n = Math.floor(state.m / 2);
    const [qm, qmt] = rotateWithWasm(rope, q, [m, m + SHIFT], ctx.seqLen);
    const [kn, knt] = rotateWithWasm(rope, k, [n, n + SHIFT], ctx.seqLen);
    const theta = rope.invFreq(ctx.seqLen);

    // Pair norm, relative to s·|x_i|.
    let normDeviation = 0;
    for (let i = 0; i < theta.length; i++) {
      const [a, b] = pairDims(i, rope.rotaryDim, rope.pairing);
      const before = s * Math.hypot(q[a], q[b]);
      const after = Math.hypot(qm[a], qm[b]);
      normDeviation = Math.max(normDeviation, Math.abs(after - before) / Math.max(before, 1e-30));
    }

    // Relative position, relative to the largest possible |q·k| = s²·Σ|q_j||k_j|.
    let magnitude = 0;
    for (let j = 0; j < d; j++) magnitude += Math.abs(q[j] * k[j]);
    magnitude *= s * s;
    const scoreNear = dot(qm, kn);
    const scoreShifted = dot(qmt, knt);
    const relativeDeviation = Math.abs(scoreNear - scoreShifted) / magnitude;

    // apply() against the float64 reference, relative to s·max|x|.
    let referenceDeviation = 0;
    const scaleOf = (v) => s * Math.max(...Array.from(v, Math.abs));
    for (const [input, output, position] of [[q, qm, m], [q, qmt, m + SHIFT], [k, kn, n], [k, knt, n + SHIFT]]) {
      const expected = rotateReference(rope, input, position, theta);
      const scale = scaleOf(input);
      for (let j = 0; j < d; j++) referenceDeviation = Math.max(referenceDeviation, Math.abs(output[j] - expected[j]) / scale);
    }

    last = {
      m,
      n,
      shift: SHIFT,
      seqLen: ctx.seqLen,
      tolerance: TOLERANCE,
      normDeviation,
      normHolds: normDeviation <= TOLERANCE,
      scoreNear,
      scoreShifted,
      relativeDeviation,
      relativeHolds: relativeDeviation <= TOLERANCE,
      referenceDeviation,
      referenceHolds: referenceDeviation <= TOLERANCE,
    };
    positionsText.textContent = t('invariants.positions', { m, n, t: SHIFT });
    const badge = (key, holds, value) => `
      <li class="badge ${holds ? 'pass' : 'fail'}">
        <span class="mark" aria-hidden="true">${holds ? '✓' : '✗'}</span>
        <span><strong>${t(key)}</strong>: ${t(holds ? 'invariants.pass' : 'invariants.fail')}<br>
        <small>${t('invariants.detail', { value: formatNumber(value, 2), tol: formatNumber(TOLERANCE, 1) })}</small></span>
      </li>`;
    list.innerHTML = badge('invariants.norm', last.normHolds, normDeviation)
      + badge('invariants.relative', last.relativeHolds, relativeDeviation)
      + badge('invariants.reference', last.referenceHolds, referenceDeviation);
    return last;
  },

  summary() {
    if (!last) return '';
    const word = (holds) => t(holds ? 'invariants.pass' : 'invariants.fail');
    return t('invariants.summary', {
      norm: word(last.normHolds),
      relative: word(last.relativeHolds),
      reference: word(last.referenceHolds),
    });
  },
};
