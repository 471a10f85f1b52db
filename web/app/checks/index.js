// Self-checks of the RoPE teaching page, as plain ES modules without the DOM,
// so a browser panel and a node script run the same code.
//
// API
//   runAll(rope, options?) -> { allHold, checks: [{ id, value, tolerance, holds, expected? }] }
//     rope     a Rope from web/rope.js (createRope or module.createRope)
//     options  { m = 100, n = 50, shift = 4096, seed = 20240521, seqLen, tolerance = 1e-5 }
//              seqLen defaults to the original context, so dynamic and longrope keep one set of frequencies
//     Checks, each a max deviation (`holds` when value <= tolerance):
//       invFreq     rope.invFreq(seqLen) against referenceInvFreq (relative)
//       scaling     rope.attentionScaling against referenceAttentionScaling (relative)
//       table       rope.table(...) against s*cos/sin(p*theta) in float64 (absolute, / s)
//       norm, relative, orthogonal, reference   see invariants.js
//       toeplitz    spread of q_m . k_n along the diagonals of a 64 x 64 score matrix, / s^2 |q| |k|
//       buglab      the deliberate pairing bug must FAIL the relative-position check (expected: false)
//       bf16Collapse, fp16Collapse   first colliding integer positions: 256 and 2048
//   Re-exports every helper of reference.js, spectral.js, precision.js, buglab.js and invariants.js.
//
// Example (from the repository root):
//   node -e "Promise.all([import('./web/rope.js'), import('./web/app/checks/index.js')])
//     .then(async ([r, c]) => console.log(c.runAll(await r.createRope({ headDim: 128 }))))"

import { mulberry32, normalVector } from '../lib/prng.js';
import { maxRelativeDeviation, referenceAttentionScaling, referenceInvFreq, tableDeviation } from './reference.js';
import { invariantChecks, TOLERANCE } from './invariants.js';
import { labChecks } from './buglab.js';
import { collapsePosition, toBfloat16, toFloat16 } from './precision.js';

export * from './reference.js';
export * from './spectral.js';
export * from './precision.js';
export * from './buglab.js';
export * from './invariants.js';

/** Max spread along diagonals of an n x n row-major score matrix. */
export function toeplitzDeviation(scores, size) {
  let worst = 0;
  for (let c = -(size - 1); c < size; c++) {
    let lo = Infinity;
    let hi = -Infinity;
    for (let m = Math.max(0, c); m < Math.min(size, size + c); m++) {
      const v = scores[m * size + (m - c)];
      if (v < lo) lo = v;
      if (v > hi) hi = v;
    }
    if (hi - lo > worst) worst = hi - lo;
  }
  return worst;
}

/** Plain S = Q K^T for rows [m0, m1) x columns [n0, n1) (the edges the blocked loop leaves). */
function productEdge(Q, K, S, size, d, m0, m1, n0, n1) {
  for (let m = m0; m < m1; m++) {
    for (let n = n0; n < n1; n++) {
      let sum = 0;
      for (let j = 0; j < d; j++) sum += Q[m * d + j] * K[n * d + j];
      S[m * size + n] = sum;
    }
  }
}

/**
 * S = Q K^T for `size` rows of length d, in float64, blocked 4 rows x 2
 * columns so each loaded value feeds several products (about 4x faster than
 * the plain triple loop in V8 for 512 x 512 x 128).
 */
export function rowProducts(Q32, K32, size, d) {
  const Q = Float64Array.from(Q32);
  const K = Float64Array.from(K32);
  const S = new Float64Array(size * size);
  const mEnd = size - (size % 4);
  const nEnd = size - (size % 2);
  for (let m = 0; m < mEnd; m += 4) {
    const q0 = m * d; const q1 = q0 + d; const q2 = q1 + d; const q3 = q2 + d;
    for (let n = 0; n < nEnd; n += 2) {
      const k0 = n * d; const k1 = k0 + d;
      let a0 = 0; let a1 = 0; let b0 = 0; let b1 = 0; let c0 = 0; let c1 = 0; let e0 = 0; let e1 = 0;
      for (let j = 0; j < d; j++) {
        const y0 = K[k0 + j]; const y1 = K[k1 + j];
        const x0 = Q[q0 + j]; const x1 = Q[q1 + j]; const x2 = Q[q2 + j]; const x3 = Q[q3 + j];
        a0 += x0 * y0; a1 += x0 * y1; b0 += x1 * y0; b1 += x1 * y1;
        c0 += x2 * y0; c1 += x2 * y1; e0 += x3 * y0; e1 += x3 * y1;
      }
      const r = m * size + n;
      S[r] = a0; S[r + 1] = a1;
      S[r + size] = b0; S[r + size + 1] = b1;
      S[r + 2 * size] = c0; S[r + 2 * size + 1] = c1;
      S[r + 3 * size] = e0; S[r + 3 * size + 1] = e1;
    }
  }
  productEdge(Q, K, S, size, d, mEnd, size, 0, size);
  productEdge(Q, K, S, size, d, 0, mEnd, nEnd, size);
  return S;
}

/** Score matrix S[m][n] = q_m . k_n for positions 0..size-1, from one apply() call; Float64Array size*size. */
export function scoreMatrix(rope, q, k, size, seqLen) {
  const d = rope.headDim;
  const queries = new Float32Array(size * d);
  const keys = new Float32Array(size * d);
  for (let p = 0; p < size; p++) { queries.set(q, p * d); keys.set(k, p * d); }
  const positions = Int32Array.from({ length: size }, (_, p) => p);
  rope.apply({ q: queries, k: keys, nQHeads: 1, nKHeads: 1, positions, layout: 'thd', seqLen });
  // The products run in WebAssembly too (SIMD128 when available): about 3x
  // faster than rowProducts for 512 x 512 x 128, within 1e-7 of it.
  return rope.module.scoreMatrix(queries, keys, d);
}

export function runAll(rope, { m = 100, n = 50, shift = 4096, seed = 20240521, seqLen, tolerance = TOLERANCE } = {}) {
  const checks = [];
  const add = (id, value, expected = true) => checks.push({ id, value, tolerance, holds: value <= tolerance, expected });
  const options = rope.options;
  // An explicit length keeps dynamic and longrope on one set of frequencies for every position.
  seqLen ??= options.originalMaxPositionEmbeddings ?? options.maxPositionEmbeddings ?? undefined;
  const theta = rope.invFreq(seqLen);
  const s = rope.attentionScaling;
  add('invFreq', maxRelativeDeviation(theta, referenceInvFreq(options, seqLen)));
  const sRef = referenceAttentionScaling(options);
  add('scaling', Math.abs(s - sRef) / sRef);
  const positions = [0, 1, m, 4095, 65536, 2 ** 20];
  const tableSeqLen = seqLen;
  const table = rope.table(positions, tableSeqLen);
  add('table', tableDeviation(table, positions, rope.invFreq(tableSeqLen), s));

  const inv = invariantChecks(rope, { m, n, shift, seed, seqLen, tolerance });
  for (const id of ['norm', 'relative', 'orthogonal', 'reference']) add(id, inv[id].value);

  const random = mulberry32(seed >>> 0);
  const q = normalVector(rope.headDim, random);
  const k = normalVector(rope.headDim, random);
  const size = 64;
  const scores = scoreMatrix(rope, q, k, size, seqLen);
  let qq = 0; let kk = 0;
  for (let j = 0; j < q.length; j++) { qq += q[j] * q[j]; kk += k[j] * k[j]; }
  add('toeplitz', toeplitzDeviation(scores, size) / (s * s * Math.sqrt(qq * kk)));

  const other = rope.pairing === 'half' ? 'interleaved' : 'half';
  const lab = labChecks({
    q, k, rotaryDim: rope.rotaryDim, layout: other, pairing: rope.pairing, scale: s, m, n, shift, tolerance,
    tableRow: (p) => { const row = rope.table([p], tableSeqLen); return { cos: row.cos, sin: row.sin }; },
  });
  add('buglab', lab.relative.value, false);

  const bf16 = collapsePosition(toBfloat16);
  const fp16 = collapsePosition(toFloat16);
  checks.push({ id: 'bf16Collapse', value: bf16, expected: 256, holds: bf16 === 256 });
  checks.push({ id: 'fp16Collapse', value: fp16, expected: 2048, holds: fp16 === 2048 });

  const allHold = checks.every((c) => (c.expected === false ? !c.holds : c.holds));
  return { allHold, checks };
}
