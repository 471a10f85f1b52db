// Panel 10: the partial-sum spiral. For a distance r the partial sums
//   S_j(r) = Σ_{i<j} e^{i r θᵢ},  j = 0 .. d/2,
// are drawn as a path in the complex plane: each step is a unit arrow at
// angle r·θᵢ. The decay bound of RoFormer (Su et al. 2021, sec. 3.4.3) is
// the mean length of these partial sums, B(r) = (2/d) Σ_{j=1..d/2} |S_j|:
// a path that curls up stays near 0 and gives a small bound; at r = 0 the
// arrows line up and B(0) = (d/2 + 1)/2. cos(rθᵢ), sin(rθᵢ) come from
// rope.table([r], L) / attentionScaling; the deviation line compares the
// path with the same sums from Math.cos/Math.sin in float64.

import { t, formatNumber } from '../i18n/index.js';
import { OKABE_ITO, viridis } from '../lib/colors.js';
import { axesOptions, lineDataset, upsertChart } from '../lib/charts.js';
import { partialSums } from '../checks/spectral.js';
import { toCsv } from '../lib/export.js';
import { MAX_POSITION, validatedField } from '../lib/validate.js';

const SLIDER_STEPS = 1000;

let elements = null;
let rField = null;
let pathChart = null;
let barChart = null;
let last = null;

function rMaxFor(ctx) {
  return Math.max(2 ** 20, 4 * (ctx.extended ?? 0));
}

export default {
  id: 'spiral',
  titleKey: 'spiral.title',
  explainKey: 'spiral.explain',
  deviationKey: 'spiral.deviationWhat',
  deps: ['spiralR', 'spiralZoom'],

  mount(body, api) {
    body.innerHTML = `
      <div class="controls">
        <label class="grow"><span data-i18n="spiral.distance"></span>
          <input type="range" data-role="slider" min="0" max="${SLIDER_STEPS}" step="1"></label>
        <label><span class="visually-hidden" data-i18n="spiral.distance"></span>
          <input type="number" data-role="r" min="0" step="1" inputmode="numeric"></label>
        <label class="inline"><input type="checkbox" data-role="zoom"> <span data-i18n="spiral.zoom"></span></label>
      </div>
      <p class="readout" data-role="readout"></p>
      <div class="chart-grid">
        <div class="chart-box square"><canvas data-role="path"></canvas></div>
        <div class="chart-box square"><canvas data-role="bars"></canvas></div>
      </div>`;
    const $ = (role) => body.querySelector(`[data-role=${role}]`);
    elements = { slider: $('slider'), r: $('r'), zoom: $('zoom'), readout: $('readout'), path: $('path'), bars: $('bars') };
    elements.zoom.addEventListener('change', () => api.setState({ spiralZoom: elements.zoom.checked }));
    pathChart = null;
    barChart = null;
    elements.slider.addEventListener('input', () => {
      const rMax = Number(elements.slider.dataset.rmax);
      const value = Number(elements.slider.value);
      api.setState({ spiralR: value === 0 ? 0 : Math.round(Math.exp((value / SLIDER_STEPS) * Math.log(rMax))) });
    });
    elements.r.max = String(MAX_POSITION);
    rField = validatedField(elements.r, {
      labelKey: 'spiral.distanceField', rule: () => ({ integer: true, min: 0, max: MAX_POSITION }),
      current: () => api.state.spiralR, apply: (r) => api.setState({ spiralR: r }),
    });
  },

  render(state, rope, ctx) {
    const r = state.spiralR;
    const rMax = rMaxFor(ctx);
    const theta = rope.invFreq(ctx.seqLen);
    const nPairs = theta.length;
    const s = rope.attentionScaling;
    const row = rope.table([r], ctx.seqLen ?? 1);
    const cos = Float64Array.from(row.cos, (x) => x / s);
    const sin = Float64Array.from(row.sin, (x) => x / s);
    const sums = partialSums(cos, sin);
    const reference = partialSums(Float64Array.from(theta, (x) => Math.cos(r * x)), Float64Array.from(theta, (x) => Math.sin(r * x)));
    let referenceDeviation = 0;
    for (let j = 0; j <= nPairs; j++) {
      referenceDeviation = Math.max(referenceDeviation, Math.hypot(sums.re[j] - reference.re[j], sums.im[j] - reference.im[j]));
    }
    let total = 0;
    for (let j = 1; j <= nPairs; j++) total += sums.abs[j];
    const bound = total / nPairs;
    const b0 = (nPairs + 1) / 2;

    elements.slider.dataset.rmax = String(rMax);
    elements.slider.value = String(r <= 1 ? 0 : Math.min(SLIDER_STEPS, Math.round((SLIDER_STEPS * Math.log(r)) / Math.log(rMax))));
    elements.slider.setAttribute('aria-valuetext', `r = ${r}`);
    rField.sync(r);
    elements.zoom.checked = state.spiralZoom;

    const top = Math.max(1, ...sums.abs) * 1.05;
    const step = 10 ** Math.floor(Math.log10(top)) / 2;
    const extent = state.spiralZoom ? Math.max(1, Math.ceil(Math.max(...sums.abs.slice(0, Math.ceil(nPairs / 2) + 1)) * 1.1)) : Math.ceil(top / step) * step;
    const points = Array.from(sums.re, (x, j) => ({ x, y: sums.im[j] }));
    const pointColors = points.map((_, j) => { const [a, b, c] = viridis(j / nPairs); return `rgb(${a}, ${b}, ${c})`; });
    pathChart = upsertChart(pathChart, elements.path, {
      type: 'scatter',
      data: {
        datasets: [
          lineDataset(t('spiral.path'), points, '#8a8a8a', { borderWidth: 1.2, pointRadius: 2.6, pointBackgroundColor: pointColors, pointBorderColor: pointColors }),
          lineDataset(t('spiral.end'), [points[points.length - 1]], OKABE_ITO.vermillion, { pointRadius: 6, pointStyle: 'rectRot', showLine: false }),
          lineDataset(t('spiral.origin'), [{ x: 0, y: 0 }], OKABE_ITO.black, { pointRadius: 4, pointStyle: 'crossRot', borderWidth: 2, showLine: false }),
        ],
      },
      options: axesOptions({
        title: t('spiral.pathTitle', { r }),
        xTitle: t('spiral.axisRe'),
        yTitle: t('spiral.axisIm'),
        x: { min: -extent, max: extent },
        y: { min: -extent, max: extent },
      }),
    });
    barChart = upsertChart(barChart, elements.bars, {
      type: 'scatter',
      data: {
        datasets: [
          lineDataset(t('spiral.abs'), Array.from(sums.abs, (y, j) => ({ x: j, y })).slice(1), OKABE_ITO.blue, { pointRadius: 1.8 }),
          lineDataset(t('spiral.mean', { b: formatNumber(bound, 4) }), [{ x: 1, y: bound }, { x: nPairs, y: bound }], OKABE_ITO.orange, { borderDash: [5, 3] }),
        ],
      },
      options: axesOptions({
        title: t('spiral.barsTitle'),
        xTitle: t('spiral.axisJ'),
        yTitle: '|S_j|',
        x: { min: 1, max: nPairs },
        y: { min: 0 },
      }),
    });
    elements.readout.textContent = t('spiral.readout', {
      r, b: formatNumber(bound, 4), b0: formatNumber(b0, 4), ratio: formatNumber(bound / b0, 3), end: formatNumber(sums.abs[nPairs], 4),
    });
    last = {
      r,
      rMax,
      re: Array.from(sums.re),
      im: Array.from(sums.im),
      abs: Array.from(sums.abs),
      bound,
      boundAtZero: b0,
      referenceDeviation,
    };
    return last;
  },

  csv(data) {
    return toCsv(['j', 'Re_S_j', 'Im_S_j', 'abs_S_j', 'r'], data.re.map((x, j) => [j, x, data.im[j], data.abs[j], data.r]));
  },

  summary() {
    if (!last) return '';
    return t('spiral.summary', { r: last.r, b: formatNumber(last.bound, 4), end: formatNumber(last.abs[last.abs.length - 1], 4) });
  },
};
