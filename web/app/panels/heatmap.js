// Panel 5: position similarity S[m][n] = q_m · k_n, where q_m is a fixed
// vector q rotated to position m and k_n a fixed k rotated to position n,
// all positions 0..N−1 in one rope.apply() call in WebAssembly, then a
// matrix product in JavaScript. RoPE makes S depend on m − n only (RoFormer,
// Su et al. 2021, eq. 16): S is a Toeplitz matrix. The page measures how far
// it is from one (the largest spread of S along any diagonal) and plots row
// m against r = n − m beside the mean of each diagonal, score(r).
// Float64 reference: S(m, n) = s² Σᵢ Re(q̃ᵢ conj(k̃ᵢ) e^{i(m−n)θᵢ}) + the
// unrotated slots' q·k, with q̃ᵢ = q_a + i q_b for the two slots of pair i.

import { t, formatNumber } from '../i18n/index.js';
import { OKABE_ITO, viridis, lookupTable } from '../lib/colors.js';
import { axesOptions, lineDataset, prepareCanvas, upsertChart } from '../lib/charts.js';
import { mulberry32, normalVector } from '../lib/prng.js';
import { pairSlots, scoreMatrix } from '../checks/index.js';
import { toCsv } from '../lib/export.js';
import { HEATMAP_SIZES, VECTOR_MODES } from '../state.js';
import { MAX_SEED, validatedField } from '../lib/validate.js';

const MARGIN = { left: 46, top: 10, right: 70, bottom: 40 };
const VIRIDIS_LUT = lookupTable(viridis);

/** Float64 reference scores for gaps c = m − n from −(size−1) to size−1 (index c + size − 1). */
function referenceByGap(q, k, theta, rotaryDim, pairing, scale, size) {
  const n = theta.length;
  const cre = new Float64Array(n);
  const cim = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const [a, b] = pairSlots(i, rotaryDim, pairing);
    cre[i] = q[a] * k[a] + q[b] * k[b];
    cim[i] = q[b] * k[a] - q[a] * k[b];
  }
  let rest = 0;
  for (let j = rotaryDim; j < q.length; j++) rest += q[j] * k[j];
  // Walk c upwards, turning e^{i c theta_i} by e^{i theta_i} per step:
  // two trig calls per pair instead of two per pair and gap. Over 1023
  // steps the double recurrence drifts by about 1e-13, far below the
  // float32 deviations this reference measures.
  const out = new Float64Array(2 * size - 1);
  const re = new Float64Array(n);
  const im = new Float64Array(n);
  const stepRe = new Float64Array(n);
  const stepIm = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    re[i] = Math.cos(-(size - 1) * theta[i]);
    im[i] = Math.sin(-(size - 1) * theta[i]);
    stepRe[i] = Math.cos(theta[i]);
    stepIm[i] = Math.sin(theta[i]);
  }
  for (let c = -(size - 1); c < size; c++) {
    let sum = 0;
    for (let i = 0; i < n; i++) {
      sum += cre[i] * re[i] - cim[i] * im[i];
      const nextRe = re[i] * stepRe[i] - im[i] * stepIm[i];
      im[i] = re[i] * stepIm[i] + im[i] * stepRe[i];
      re[i] = nextRe;
    }
    out[c + size - 1] = scale * scale * sum + rest;
  }
  return out;
}

let elements = null;
let fields = null;
let rowChart = null;
let cache = null;
let last = null;

/** Returns the seeded q and k vectors of length headDim for a vector mode. */
export function makeVectors(headDim, seed, mode) {
  if (mode === 'ones') {
    const ones = new Float32Array(headDim).fill(1);
    return { q: ones, k: ones };
  }
  const random = mulberry32(seed);
  const q = normalVector(headDim, random);
  return { q, k: mode === 'same' ? q : normalVector(headDim, random) };
}

/** Returns S as a Float64Array of size*size, row m holding q_m · k_n for n = 0..size-1. */
export function similarityMatrix(rope, q, k, size, seqLen) {
  return scoreMatrix(rope, q, k, size, seqLen);
}

/** Paints the scores into a size x size canvas in viridis, lo..hi. */
function scoreImage(scores, size, lo, hi) {
  const image = new ImageData(size, size);
  const words = new Uint32Array(image.data.buffer);
  const k = 255 / (hi - lo || 1);
  for (let i = 0; i < size * size; i++) words[i] = VIRIDIS_LUT[Math.round((scores[i] - lo) * k)];
  const pixels = document.createElement('canvas');
  pixels.width = size;
  pixels.height = size;
  pixels.getContext('2d').putImageData(image, 0, 0);
  return pixels;
}

function drawHeatmap(canvas, pixels, size, row, lo, hi) {
  const width = canvas.clientWidth || 480;
  const side = Math.max(120, width - MARGIN.left - MARGIN.right);
  const height = side + MARGIN.top + MARGIN.bottom;
  const g = prepareCanvas(canvas, width, height);

  g.imageSmoothingEnabled = false;
  g.drawImage(pixels, MARGIN.left, MARGIN.top, side, side);

  const cell = side / size;
  g.strokeStyle = '#ffffff';
  g.lineWidth = 2;
  g.strokeRect(MARGIN.left, MARGIN.top + row * cell, side, Math.max(cell, 1));
  g.strokeStyle = '#000000';
  g.lineWidth = 1;
  g.strokeRect(MARGIN.left - 1, MARGIN.top + row * cell - 1, side + 2, Math.max(cell, 1) + 2);

  g.fillStyle = '#333';
  g.font = '12px system-ui, sans-serif';
  g.textAlign = 'center';
  for (const tick of [0, Math.floor(size / 2), size - 1]) {
    g.fillText(String(tick), MARGIN.left + (tick + 0.5) * cell, MARGIN.top + side + 14);
  }
  g.fillText(t('heatmap.axisN'), MARGIN.left + side / 2, MARGIN.top + side + 32);
  g.textAlign = 'right';
  for (const tick of [0, Math.floor(size / 2), size - 1]) {
    g.fillText(String(tick), MARGIN.left - 6, MARGIN.top + (tick + 0.5) * cell + 4);
  }
  g.save();
  g.translate(12, MARGIN.top + side / 2);
  g.rotate(-Math.PI / 2);
  g.textAlign = 'center';
  g.fillText(t('heatmap.axisM'), 0, 0);
  g.restore();

  // Colour bar with the score range.
  const barX = MARGIN.left + side + 14;
  const gradient = g.createLinearGradient(0, MARGIN.top, 0, MARGIN.top + side);
  for (let stop = 0; stop <= 16; stop++) {
    const [r, gr, b] = viridis(1 - stop / 16);
    gradient.addColorStop(stop / 16, `rgb(${r}, ${gr}, ${b})`);
  }
  g.fillStyle = gradient;
  g.fillRect(barX, MARGIN.top, 14, side);
  g.fillStyle = '#333';
  g.textAlign = 'left';
  g.fillText(formatNumber(hi, 3), barX + 18, MARGIN.top + 10);
  g.fillText(formatNumber(lo, 3), barX + 18, MARGIN.top + side);
  return { side, cell };
}

/** Rotates, multiplies and measures: the part of a render that only a new rope, N, seed or vector mode redoes. */
function computeScores(rope, ctx, state, size) {
  const { q, k } = makeVectors(rope.headDim, state.seed, state.vectors);
  const scores = similarityMatrix(rope, q, k, size, ctx.seqLen);
  let magnitude = 0;
  for (let j = 0; j < q.length; j++) magnitude += Math.abs(q[j] * k[j]);
  magnitude *= rope.attentionScaling ** 2;
  const reference = referenceByGap(q, k, rope.invFreq(ctx.seqLen), rope.rotaryDim, rope.pairing, rope.attentionScaling, size);
  // One pass per diagonal c = m − n: score range, spread along the diagonal (exact RoPE makes it
  // zero), its mean score(r) with r = −c, and the gap to the float64 reference.
  let lo = Infinity;
  let hi = -Infinity;
  let diagonalSpread = 0;
  let referenceDeviation = 0;
  const diagonalMean = new Float64Array(2 * size - 1); // index r + size − 1, r = n − m
  for (let c = -(size - 1); c < size; c++) {
    const expected = reference[c + size - 1];
    let dlo = Infinity;
    let dhi = -Infinity;
    let sum = 0;
    const mStart = Math.max(0, c);
    const mEnd = Math.min(size, size + c);
    for (let m = mStart, at = mStart * size + (mStart - c); m < mEnd; m++, at += size + 1) {
      const v = scores[at];
      if (v < dlo) dlo = v;
      if (v > dhi) dhi = v;
      sum += v;
      const gap = v > expected ? v - expected : expected - v;
      if (gap > referenceDeviation) referenceDeviation = gap;
    }
    if (dlo < lo) lo = dlo;
    if (dhi > hi) hi = dhi;
    if (dhi - dlo > diagonalSpread) diagonalSpread = dhi - dlo;
    diagonalMean[-c + size - 1] = sum / (mEnd - mStart);
  }
  referenceDeviation /= magnitude;

  const pixels = scoreImage(scores, size, lo, hi);
  return { q, k, scores, lo, hi, diagonalSpread, diagonalMean, magnitude, referenceDeviation, pixels };
}

export default {
  id: 'heatmap',
  titleKey: 'heatmap.title',
  explainKey: 'heatmap.explain',
  deviationKey: 'heatmap.deviationWhat',
  deps: ['heatmapSize', 'row', 'seed', 'vectors'],

  mount(body, api) {
    body.innerHTML = `
      <div class="controls">
        <label><span data-i18n="heatmap.size"></span>
          <select data-role="size">${HEATMAP_SIZES.map((s) => `<option value="${s}">${s}</option>`).join('')}</select></label>
        <label><span data-i18n="heatmap.row"></span>
          <input type="number" min="0" step="1" data-role="row" inputmode="numeric"></label>
        <label><span data-i18n="heatmap.vectors"></span>
          <select data-role="vectors">${VECTOR_MODES.map((v) => `<option value="${v}" data-i18n="heatmap.vectors.${v}"></option>`).join('')}</select></label>
        <label><span data-i18n="heatmap.seed"></span>
          <input type="number" min="0" step="1" data-role="seed" inputmode="numeric"></label>
      </div>
      <p class="readout" data-role="toeplitz"></p>
      <div class="chart-grid heatmap-grid">
        <div><canvas data-role="heatmap" class="heatmap"></canvas></div>
        <div class="chart-box"><canvas data-role="row-chart"></canvas></div>
      </div>`;
    elements = {
      size: body.querySelector('[data-role=size]'),
      row: body.querySelector('[data-role=row]'),
      vectors: body.querySelector('[data-role=vectors]'),
      seed: body.querySelector('[data-role=seed]'),
      heatmap: body.querySelector('[data-role=heatmap]'),
      rowChart: body.querySelector('[data-role=row-chart]'),
      toeplitz: body.querySelector('[data-role=toeplitz]'),
    };
    rowChart = null;
    this.canvases = [elements.heatmap, elements.rowChart];
    elements.size.addEventListener('change', () => {
      const size = Number(elements.size.value);
      api.setState({ heatmapSize: size, row: Math.min(api.state.row, size - 1) });
    });
    fields = {
      row: validatedField(elements.row, {
        labelKey: 'heatmap.row', rule: () => ({ integer: true, min: 0, max: api.state.heatmapSize - 1 }),
        current: () => Math.min(api.state.row, api.state.heatmapSize - 1), apply: (row) => api.setState({ row }),
      }),
      seed: validatedField(elements.seed, {
        labelKey: 'heatmap.seed', rule: () => ({ integer: true, min: 0, max: MAX_SEED }),
        current: () => api.state.seed, apply: (seed) => api.setState({ seed }),
      }),
    };
    elements.vectors.addEventListener('change', () => api.setState({ vectors: elements.vectors.value }));
    elements.heatmap.addEventListener('click', (event) => {
      if (!last) return;
      const box = elements.heatmap.getBoundingClientRect();
      const y = event.clientY - box.top - MARGIN.top;
      const row = Math.floor(y / last.cell);
      if (row >= 0 && row < last.size) api.setState({ row });
    });
  },

  render(state, rope, ctx) {
    const size = state.heatmapSize;
    const row = Math.min(state.row, size - 1);
    // The matrix and everything derived from it depend on the rope, N, seed and vectors only;
    // a new row or language reuses them.
    const key = `${size}|${state.seed}|${state.vectors}|${ctx.seqLen}`;
    if (!cache || cache.ctx !== ctx || cache.key !== key) cache = { ctx, key, ...computeScores(rope, ctx, state, size) };
    const { q, k, scores, lo, hi, diagonalSpread, diagonalMean, magnitude, referenceDeviation, pixels } = cache;
    elements.toeplitz.textContent = t('heatmap.toeplitz', {
      value: formatNumber(diagonalSpread, 2), relative: formatNumber(diagonalSpread / magnitude, 2),
    });

    elements.size.value = String(size);
    elements.row.max = String(size - 1);
    fields.row.sync(row);
    elements.vectors.value = state.vectors;
    elements.seed.max = String(MAX_SEED);
    fields.seed.sync(state.seed);
    elements.seed.disabled = state.vectors === 'ones';

    const { cell } = drawHeatmap(elements.heatmap, pixels, size, row, lo, hi);
    const rowScores = Array.from(scores.subarray(row * size, (row + 1) * size));
    let peak = 0;
    rowScores.forEach((s, n) => { if (s > rowScores[peak]) peak = n; });
    const meanPoints = Array.from(diagonalMean, (y, index) => ({ x: index - (size - 1), y }));
    rowChart = upsertChart(rowChart, elements.rowChart, {
      type: 'scatter',
      data: {
        datasets: [
          lineDataset(t('heatmap.meanSeries'), meanPoints, '#b5b5b5', { borderWidth: 6, order: 2 }),
          lineDataset(t('heatmap.rowSeries', { row }), rowScores.map((y, n) => ({ x: n - row, y })), OKABE_ITO.blue, { borderWidth: 1.8, order: 1 }),
        ],
      },
      options: axesOptions({
        title: t('heatmap.rowChart', { row }),
        xTitle: t('heatmap.axisR'),
        yTitle: 'q · k',
        x: { min: -(size - 1), max: size - 1 },
      }),
    });

    let matrixCache = null;
    last = {
      size,
      row,
      seed: state.seed,
      vectors: state.vectors,
      seqLen: ctx.seqLen,
      q: Array.from(q),
      k: Array.from(k),
      get matrix() {
        if (!matrixCache) {
          matrixCache = [];
          for (let m = 0; m < size; m++) matrixCache.push(Array.from(scores.subarray(m * size, (m + 1) * size)));
        }
        return matrixCache;
      },
      scores,
      rowScores,
      diagonalMean: Array.from(diagonalMean),
      peak,
      min: lo,
      max: hi,
      diagonalSpread,
      toeplitzDeviation: diagonalSpread,
      toeplitzRelative: diagonalSpread / magnitude,
      referenceDeviation,
      cell,
    };
    return last;
  },

  csv(data) {
    const header = ['m', ...Array.from({ length: data.size }, (_, n) => `n_${n}`)];
    const rows = [];
    for (let m = 0; m < data.size; m++) rows.push([m, ...data.scores.subarray(m * data.size, (m + 1) * data.size)]);
    return toCsv(header, rows);
  },

  summary() {
    if (!last) return '';
    return t('heatmap.summary', {
      size: last.size,
      min: formatNumber(last.min, 3),
      max: formatNumber(last.max, 3),
      diag: formatNumber(last.diagonalSpread, 2),
      row: last.row,
      peak: last.peak,
    });
  },
};
