// Panel 4: the long-term decay bound of RoFormer (Su et al. 2021, sec.
// 3.4.3): |q·k| <= max_i |h_{i+1} − h_i| · B(r) with
// B(r) = (2/d) Σ_{j=1..d/2} |S_j| and S_j = Σ_{i<j} e^{i r θ_i}, where d is the
// rotary dim and r = m − n. θ_i comes from rope.invFreq(L).

import { t, formatNumber } from '../i18n/index.js';
import { OKABE_ITO } from '../lib/colors.js';
import { axesOptions, lineDataset, logScale, upsertChart } from '../lib/charts.js';
import { contextLengths } from '../lib/context.js';

const POINTS = 320; // log-spaced distances per curve

let chart = null;
let caption = null;
let last = null;

/** Returns B(r) for frequencies `theta` (one per pair). */
export function decayBound(theta, r) {
  let re = 0;
  let im = 0;
  let total = 0;
  for (let i = 0; i < theta.length; i++) {
    re += Math.cos(r * theta[i]);
    im += Math.sin(r * theta[i]);
    total += Math.hypot(re, im); // |S_{i+1}|
  }
  return total / theta.length; // 2/d = 1/(d/2)
}

/** Returns integer distances from 1 to rMax, evenly spaced on a log axis. */
export function logDistances(rMax) {
  const out = new Set();
  for (let k = 0; k < POINTS; k++) out.add(Math.round(Math.exp((Math.log(rMax) * k) / (POINTS - 1))));
  return [...out].sort((a, b) => a - b);
}

export default {
  id: 'decay',
  titleKey: 'decay.title',
  explainKey: 'decay.explain',
  deps: [],

  mount(body) {
    body.innerHTML = `
      <div class="chart-box wide"><canvas data-role="chart"></canvas></div>
      <p class="caption" data-role="caption"></p>`;
    chart = null;
    caption = body.querySelector('[data-role=caption]');
    this.canvases = [body.querySelector('[data-role=chart]')];
  },

  render(state, rope, ctx) {
    const theta = rope.invFreq(ctx.seqLen);
    const defaultTheta = ctx.defaultRope.invFreq();
    const { training, extended } = contextLengths(rope.options);
    const rMax = Math.max(1000, 2 * (training ?? 4096), extended ?? 0);
    const distances = logDistances(rMax);
    const bound = distances.map((r) => decayBound(theta, r));
    const defaultBound = distances.map((r) => decayBound(defaultTheta, r));
    const typeName = t(`type.${rope.ropeType}`);
    const datasets = [lineDataset(typeName, distances.map((x, i) => ({ x, y: bound[i] })), OKABE_ITO.blue)];
    if (rope.ropeType !== 'default') {
      datasets.push(lineDataset(t('type.default'), distances.map((x, i) => ({ x, y: defaultBound[i] })), '#8a8a8a', { borderDash: [6, 4], borderWidth: 1.5 }));
    }
    const yMax = Math.max(...bound, ...defaultBound);
    for (const [length, color, key] of [[training, OKABE_ITO.green, 'wavelengths.training'], [extended, OKABE_ITO.vermillion, 'wavelengths.extended']]) {
      if (length) {
        datasets.push(lineDataset(t(key, { L: length }), [{ x: length, y: 0 }, { x: length, y: yMax }], color, { borderDash: [3, 3], borderWidth: 1.5 }));
      }
    }
    chart = upsertChart(chart, this.canvases[0], {
      type: 'scatter',
      data: { datasets },
      options: axesOptions({
        xTitle: t('decay.axisR'),
        yTitle: t('decay.axisB'),
        x: logScale({ min: 1, max: rMax, ticks: { ...logScale().ticks, maxRotation: 0 } }),
        y: { min: 0 },
      }),
    });
    caption.textContent = t('decay.caption');
    const at = (list, r) => decayBound(list, r);
    last = {
      ropeType: rope.ropeType,
      seqLen: ctx.seqLen,
      distances,
      bound,
      defaultBound,
      rMax,
      b1: at(theta, 1),
      b1000: at(theta, 1000),
      bMax: at(theta, rMax),
      d1000: at(defaultTheta, 1000),
    };
    return last;
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
