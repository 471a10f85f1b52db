// Panel 3: position similarity S[m][n] = q_m · k_n, where q_m is a fixed
// vector q rotated to position m and k_n a fixed k rotated to position n,
// both by rope.apply() in WebAssembly. RoPE makes S depend on m − n only
// (RoFormer, Su et al. 2021, eq. 16), so S is constant along diagonals.

import { t, formatNumber } from '../i18n/index.js';
import { OKABE_ITO, viridis } from '../lib/colors.js';
import { axesOptions, lineDataset, upsertChart } from '../lib/charts.js';
import { mulberry32, normalVector } from '../lib/prng.js';
import { HEATMAP_SIZES, VECTOR_MODES } from '../state.js';

const MARGIN = { left: 46, top: 10, right: 70, bottom: 40 };

let elements = null;
let rowChart = null;
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
  const d = rope.headDim;
  const queries = new Float32Array(size * d);
  const keys = new Float32Array(size * d);
  for (let p = 0; p < size; p++) {
    queries.set(q, p * d);
    keys.set(k, p * d);
  }
  const positions = Int32Array.from({ length: size }, (_, p) => p);
  rope.apply({ q: queries, k: keys, nQHeads: 1, nKHeads: 1, positions, layout: 'thd', seqLen });
  const scores = new Float64Array(size * size);
  for (let m = 0; m < size; m++) {
    for (let n = 0; n < size; n++) {
      let sum = 0;
      for (let j = 0; j < d; j++) sum += queries[m * d + j] * keys[n * d + j];
      scores[m * size + n] = sum;
    }
  }
  return scores;
}

function drawHeatmap(canvas, scores, size, row, lo, hi) {
  const width = canvas.clientWidth || 480;
  const side = Math.max(120, width - MARGIN.left - MARGIN.right);
  const height = side + MARGIN.top + MARGIN.bottom;
  const ratio = window.devicePixelRatio || 1;
  canvas.width = Math.round(width * ratio);
  canvas.height = Math.round(height * ratio);
  canvas.style.height = `${height}px`;
  const g = canvas.getContext('2d');
  g.setTransform(ratio, 0, 0, ratio, 0, 0);
  g.clearRect(0, 0, width, height);

  const image = new ImageData(size, size);
  const span = hi - lo || 1;
  for (let i = 0; i < size * size; i++) {
    const [r, gr, b] = viridis((scores[i] - lo) / span);
    image.data.set([r, gr, b, 255], 4 * i);
  }
  const pixels = document.createElement('canvas');
  pixels.width = size;
  pixels.height = size;
  pixels.getContext('2d').putImageData(image, 0, 0);
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
  for (let y = 0; y < side; y++) {
    const [r, gr, b] = viridis(1 - y / (side - 1));
    g.fillStyle = `rgb(${r}, ${gr}, ${b})`;
    g.fillRect(barX, MARGIN.top + y, 14, 1);
  }
  g.fillStyle = '#333';
  g.textAlign = 'left';
  g.fillText(formatNumber(hi, 3), barX + 18, MARGIN.top + 10);
  g.fillText(formatNumber(lo, 3), barX + 18, MARGIN.top + side);
  return { side, cell };
}

export default {
  id: 'heatmap',
  titleKey: 'heatmap.title',
  explainKey: 'heatmap.explain',
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
    };
    rowChart = null;
    this.canvases = [elements.heatmap, elements.rowChart];
    elements.size.addEventListener('change', () => {
      const size = Number(elements.size.value);
      api.setState({ heatmapSize: size, row: Math.min(api.state.row, size - 1) });
    });
    elements.row.addEventListener('change', () => {
      const row = Number(elements.row.value);
      if (Number.isInteger(row) && row >= 0 && row < api.state.heatmapSize) api.setState({ row });
    });
    elements.vectors.addEventListener('change', () => api.setState({ vectors: elements.vectors.value }));
    elements.seed.addEventListener('change', () => {
      const seed = Number(elements.seed.value);
      if (Number.isInteger(seed) && seed >= 0) api.setState({ seed: seed >>> 0 });
    });
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
    const { q, k } = makeVectors(rope.headDim, state.seed, state.vectors);
    const scores = similarityMatrix(rope, q, k, size, ctx.seqLen);
    let lo = Infinity;
    let hi = -Infinity;
    for (const s of scores) { lo = Math.min(lo, s); hi = Math.max(hi, s); }
    // Spread of S along each diagonal m − n = c; exact RoPE makes it zero.
    let diagonalSpread = 0;
    for (let c = -(size - 1); c < size; c++) {
      let dlo = Infinity;
      let dhi = -Infinity;
      for (let m = Math.max(0, c); m < Math.min(size, size + c); m++) {
        const s = scores[m * size + (m - c)];
        dlo = Math.min(dlo, s);
        dhi = Math.max(dhi, s);
      }
      diagonalSpread = Math.max(diagonalSpread, dhi - dlo);
    }

    elements.size.value = String(size);
    elements.row.max = String(size - 1);
    if (document.activeElement !== elements.row) elements.row.value = String(row);
    elements.vectors.value = state.vectors;
    elements.seed.value = String(state.seed);
    elements.seed.disabled = state.vectors === 'ones';

    const { cell } = drawHeatmap(elements.heatmap, scores, size, row, lo, hi);
    const rowScores = Array.from(scores.subarray(row * size, (row + 1) * size));
    let peak = 0;
    rowScores.forEach((s, n) => { if (s > rowScores[peak]) peak = n; });
    rowChart = upsertChart(rowChart, elements.rowChart, {
      type: 'scatter',
      data: {
        datasets: [
          lineDataset(t('heatmap.rowSeries', { row }), rowScores.map((y, x) => ({ x, y })), OKABE_ITO.blue),
          lineDataset('n = m', [{ x: row, y: lo }, { x: row, y: hi }], OKABE_ITO.vermillion, { borderDash: [4, 4], borderWidth: 1.5 }),
        ],
      },
      options: axesOptions({
        title: t('heatmap.rowChart', { row }),
        xTitle: t('heatmap.axisN'),
        yTitle: 'q · k',
        x: { min: 0, max: size - 1 },
      }),
    });

    const matrix = [];
    for (let m = 0; m < size; m++) matrix.push(Array.from(scores.subarray(m * size, (m + 1) * size)));
    last = {
      size,
      row,
      seed: state.seed,
      vectors: state.vectors,
      seqLen: ctx.seqLen,
      q: Array.from(q),
      k: Array.from(k),
      matrix,
      rowScores,
      peak,
      min: lo,
      max: hi,
      diagonalSpread,
      cell,
    };
    return last;
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
