// Panel 6: long-term decay. The RoFormer bound (Su et al. 2021, sec. 3.4.3)
//   |q_m · k_n| <= max_i |h_{i+1} − h_i| · B(r),  B(r) = (2/d) Σ_{j=1..d/2} |Σ_{i<j} e^{i r θ_i}|,
// r = m − n, drawn exactly at log-spaced r out to far beyond the context,
// beside two things it is often confused with:
//   the q = k kernel  K(r) = Σᵢ |qᵢ|² cos(r θᵢ) / Σᵢ |qᵢ|²  (a vector against itself, r apart)
//   random q, k       q_m · k_n / (|q| |k|) for independent normal q, k: the 10th–90th
//                     percentile band over seeded draws, which does not decay.
// cos(rθᵢ), sin(rθᵢ) come from rope.table(r, L) / attentionScaling; the
// deviation line compares B(r) with the same sum from Math.cos/Math.sin.

import { t, formatNumber } from '../i18n/index.js';
import { OKABE_ITO, withAlpha } from '../lib/colors.js';
import { axesOptions, lineDataset, logScale, upsertChart } from '../lib/charts.js';
import { boundFromRow, decayBound, logDistances, pairNormsSquared, randomScoreBand, selfKernel } from '../checks/spectral.js';
import { mulberry32, normalVector } from '../lib/prng.js';
import { toCsv } from '../lib/export.js';

export { decayBound, logDistances };

const DRAWS = 64;

let chart = null;
let boundCache = null;

/** Unit cos/sin rows at log-spaced distances, and the decay bounds from them and in float64. */
function computeBounds(rope, ctx) {
  const theta = rope.invFreq(ctx.seqLen);
  const nPairs = theta.length;
  const defaultTheta = ctx.defaultRope.invFreq();
  const { training, extended } = ctx;
  const rMax = Math.max(2 ** 20, 4 * (extended ?? 0), 4 * (training ?? 0));
  const distances = logDistances(rMax, 420);
  const s = rope.attentionScaling;
  const table = rope.table(distances, ctx.seqLen ?? 1);
  const rows = distances.map((_, index) => ({
    cos: Float64Array.from(table.cos.subarray(index * nPairs, (index + 1) * nPairs), (x) => x / s),
    sin: Float64Array.from(table.sin.subarray(index * nPairs, (index + 1) * nPairs), (x) => x / s),
  }));
  const b0 = (nPairs + 1) / 2; // B(0) = (1/(d/2)) Σ_j j
  const bound = rows.map(({ cos, sin }) => boundFromRow(cos, sin));
  const referenceBound = distances.map((r) => decayBound(theta, r));
  let referenceDeviation = 0;
  bound.forEach((b, i) => { referenceDeviation = Math.max(referenceDeviation, Math.abs(b - referenceBound[i]) / b0); });
  const defaultBound = distances.map((r) => decayBound(defaultTheta, r));
  return { theta, defaultTheta, nPairs, rMax, distances, rows, b0, bound, referenceDeviation, defaultBound };
}
let caption = null;
let readout = null;
let last = null;

export default {
  id: 'decay',
  titleKey: 'decay.title',
  explainKey: 'decay.explain',
  deviationKey: 'decay.deviationWhat',
  deps: ['seed'],

  mount(body) {
    body.innerHTML = `
      <p class="readout" data-role="readout"></p>
      <div class="chart-box tall"><canvas data-role="chart"></canvas></div>
      <p class="caption" data-role="caption"></p>`;
    chart = null;
    caption = body.querySelector('[data-role=caption]');
    readout = body.querySelector('[data-role=readout]');
    this.canvases = [body.querySelector('[data-role=chart]')];
  },

  render(state, rope, ctx) {
    // The bounds depend on the rope settings only; a new seed redraws the
    // random band and the kernel from the cached rows.
    if (!boundCache || boundCache.ctx !== ctx) boundCache = { ctx, ...computeBounds(rope, ctx) };
    const { theta, defaultTheta, rMax, distances, rows, b0, bound, referenceDeviation, defaultBound } = boundCache;
    const { training, extended } = ctx;

    const q = normalVector(rope.rotaryDim, mulberry32(state.seed >>> 0));
    const weights = pairNormsSquared(q, rope.rotaryDim, rope.pairing);
    const kernel = rows.map(({ cos }) => selfKernel(weights, cos));
    const [lo, mid, hi] = randomScoreBand(rows, rope.rotaryDim, rope.pairing, { draws: DRAWS, seed: state.seed >>> 0 });

    const pts = (values) => distances.map((x, i) => ({ x, y: values[i] }));
    const typeName = t(`type.${rope.ropeType}`);
    const datasets = [
      lineDataset(t('decay.band', { draws: DRAWS }), pts(lo), withAlpha(OKABE_ITO.orange, 0.5), { borderWidth: 0.5, fill: false }),
      lineDataset(t('decay.bandHigh'), pts(hi), withAlpha(OKABE_ITO.orange, 0.5), { borderWidth: 0.5, fill: '-1', backgroundColor: withAlpha(OKABE_ITO.orange, 0.22) }),
      lineDataset(t('decay.bandMedian'), pts(mid), '#b07800', { borderWidth: 1, borderDash: [2, 2] }),
      lineDataset(t('decay.kernel'), pts(kernel), OKABE_ITO.green, { borderWidth: 1.5 }),
      lineDataset(t('decay.boundSeries', { type: typeName }), pts(bound.map((b) => b / b0)), OKABE_ITO.blue, { borderWidth: 2.5 }),
    ];
    if (rope.ropeType !== 'default') {
      datasets.push(lineDataset(t('decay.boundDefault'), pts(defaultBound.map((b) => b / b0)), '#6f6f6f', { borderDash: [6, 4], borderWidth: 1.5 }));
    }
    for (const [length, color, key] of [[training, OKABE_ITO.black, 'wavelengths.training'], [extended, OKABE_ITO.vermillion, 'wavelengths.extended']]) {
      if (length) datasets.push(lineDataset(t(key, { L: length }), [{ x: length, y: -0.4 }, { x: length, y: 1 }], color, { borderDash: [3, 3], borderWidth: 1.5 }));
    }
    chart = upsertChart(chart, this.canvases[0], {
      type: 'scatter',
      data: { datasets },
      options: {
        ...axesOptions({
          xTitle: t('decay.axisR'),
          yTitle: t('decay.axisB'),
          x: logScale({ min: 1, max: rMax, ticks: { ...logScale().ticks, maxRotation: 0 } }),
          y: { min: -0.4, max: 1.02 },
        }),
      },
    });
    caption.textContent = t('decay.caption');
    const at = (list, r) => decayBound(list, r);
    // Where the bound first drops below half of B(0).
    const halfIndex = bound.findIndex((b) => b < b0 / 2);
    last = {
      ropeType: rope.ropeType,
      seqLen: ctx.seqLen,
      distances,
      bound,
      boundNormalized: bound.map((b) => b / b0),
      boundAtZero: b0,
      defaultBound,
      kernel,
      randomBand: { p10: Array.from(lo), p50: Array.from(mid), p90: Array.from(hi), draws: DRAWS },
      rMax,
      b1: at(theta, 1),
      b1000: at(theta, 1000),
      bMax: at(theta, rMax),
      d1000: at(defaultTheta, 1000),
      halfDistance: halfIndex >= 0 ? distances[halfIndex] : null,
      randomBandWidthFar: hi[hi.length - 1] - lo[lo.length - 1],
      referenceDeviation,
    };
    readout.textContent = t('decay.readout', {
      half: last.halfDistance ?? '—',
      width: formatNumber(last.randomBandWidthFar, 2),
      rMax,
      bMax: formatNumber(last.bMax / b0, 3),
    });
    return last;
  },

  csv(data) {
    return toCsv(['r', 'bound_B', 'bound_over_B0', 'bound_default_rope', 'kernel_q_eq_k', 'random_p10', 'random_p50', 'random_p90'],
      data.distances.map((r, i) => [r, data.bound[i], data.boundNormalized[i], data.defaultBound[i], data.kernel[i],
        data.randomBand.p10[i], data.randomBand.p50[i], data.randomBand.p90[i]]));
  },

  summary() {
    if (!last) return '';
    return t('decay.summary', {
      type: t(`type.${last.ropeType}`),
      b1: formatNumber(last.b1, 3),
      b1000: formatNumber(last.b1000, 3),
      rMax: last.rMax,
      bMax: formatNumber(last.bMax, 3),
      d1000: formatNumber(last.d1000, 3),
    });
  },
};
