// Panel 3: the angle map. Row m, column i holds the angle m·θᵢ mod 2π that
// pair i has turned by at position m (RoFormer, Su et al. 2021, eq. 13), in
// a cyclic colour map so 2π and 0 look the same; the cos and sin views show
// cos(m·θᵢ) and sin(m·θᵢ) in a diverging map. Values come from
// rope.table(0..N−1, L) divided by rope.attentionScaling; the deviation line
// compares them with Math.cos/Math.sin of m·θᵢ in float64.

import { t, formatNumber } from '../i18n/index.js';
import { cyclic, diverging, lookupTable, cssColor } from '../lib/colors.js';
import { angleOf } from '../lib/context.js';
import { prepareCanvas } from '../lib/charts.js';
import { tableDeviation } from '../checks/reference.js';
import { toCsv } from '../lib/export.js';
import { ANGLE_ROWS, ANGLE_VIEWS } from '../state.js';

const MARGIN = { left: 58, top: 10, right: 118, bottom: 42 };
const CYCLIC_LUT = lookupTable(cyclic);
const DIVERGING_LUT = lookupTable(diverging);

let elements = null;
let last = null;
let table = null; // the last table, for the CSV

function plotHeight(rows) {
  if (rows <= 64) return 256;
  if (rows <= 256) return 384;
  return 460;
}

function draw(canvas, values, rows, pairs, view) {
  const width = canvas.clientWidth || 640;
  const plotW = Math.max(160, width - MARGIN.left - MARGIN.right);
  const plotH = plotHeight(rows);
  const height = plotH + MARGIN.top + MARGIN.bottom;
  const g = prepareCanvas(canvas, width, height);

  const image = new ImageData(pairs, rows);
  const words = new Uint32Array(image.data.buffer);
  const lut = view === 'angle' ? CYCLIC_LUT : DIVERGING_LUT;
  for (let p = 0; p < values.length; p++) {
    const v = values[p];
    const x = view === 'angle' ? v / (2 * Math.PI) : (v + 1) / 2;
    words[p] = lut[Math.min(255, Math.max(0, Math.round(x * 255)))];
  }
  const pixels = document.createElement('canvas');
  pixels.width = pairs;
  pixels.height = rows;
  pixels.getContext('2d').putImageData(image, 0, 0);
  g.imageSmoothingEnabled = false;
  g.drawImage(pixels, MARGIN.left, MARGIN.top, plotW, plotH);
  g.strokeStyle = '#777';
  g.strokeRect(MARGIN.left - 0.5, MARGIN.top - 0.5, plotW + 1, plotH + 1);

  g.fillStyle = '#333';
  g.font = '12px system-ui, sans-serif';
  g.textAlign = 'center';
  const xTicks = [...new Set([0, Math.floor(pairs / 4), Math.floor(pairs / 2), Math.floor((3 * pairs) / 4), pairs - 1])];
  for (const tick of xTicks) g.fillText(String(tick), MARGIN.left + ((tick + 0.5) * plotW) / pairs, MARGIN.top + plotH + 15);
  g.fillText(t('angles.axisPair'), MARGIN.left + plotW / 2, MARGIN.top + plotH + 33);
  g.textAlign = 'right';
  for (const tick of [0, Math.floor(rows / 2), rows - 1]) g.fillText(String(tick), MARGIN.left - 6, MARGIN.top + ((tick + 0.5) * plotH) / rows + 4);
  g.save();
  g.translate(14, MARGIN.top + plotH / 2);
  g.rotate(-Math.PI / 2);
  g.textAlign = 'center';
  g.fillText(t('angles.axisPosition'), 0, 0);
  g.restore();

  const lx = MARGIN.left + plotW + 18;
  if (view === 'angle') {
    // Colour wheel: angle 0 at the right, counter-clockwise, as on the unit circle.
    const cx = lx + 44;
    const cy = MARGIN.top + 60;
    const r0 = 22;
    const r1 = 38;
    for (let k = 0; k < 180; k++) {
      const a0 = (k / 180) * 2 * Math.PI;
      const a1 = ((k + 1.2) / 180) * 2 * Math.PI;
      g.fillStyle = cssColor(cyclic, k / 180);
      g.beginPath();
      g.arc(cx, cy, r1, -a0, -a1, true);
      g.arc(cx, cy, r0, -a1, -a0, false);
      g.closePath();
      g.fill();
    }
    g.fillStyle = '#333';
    g.textAlign = 'left';
    g.fillText('0', cx + r1 + 3, cy + 4);
    g.textAlign = 'center';
    g.fillText('π/2', cx, cy - r1 - 4);
    g.fillText('3π/2', cx, cy + r1 + 13);
    g.textAlign = 'right';
    g.fillText('π', cx - r1 - 3, cy + 4);
  } else {
    const barH = Math.min(plotH, 220);
    for (let y = 0; y < barH; y++) {
      g.fillStyle = cssColor(diverging, 1 - y / (barH - 1));
      g.fillRect(lx, MARGIN.top + y, 14, 1);
    }
    g.fillStyle = '#333';
    g.textAlign = 'left';
    g.fillText('+1', lx + 18, MARGIN.top + 10);
    g.fillText('0', lx + 18, MARGIN.top + barH / 2 + 4);
    g.fillText('−1', lx + 18, MARGIN.top + barH);
  }
}

export default {
  id: 'angles',
  titleKey: 'angles.title',
  explainKey: 'angles.explain',
  deviationKey: 'angles.deviationWhat',
  deps: ['angleView', 'angleRows'],

  mount(body, api) {
    body.innerHTML = `
      <div class="controls">
        <fieldset class="toggle"><legend data-i18n="angles.view"></legend>
          ${ANGLE_VIEWS.map((v) => `<label class="inline"><input type="radio" name="angle-view" value="${v}"> <span data-i18n="angles.view.${v}"></span></label>`).join('')}
        </fieldset>
        <label><span data-i18n="angles.rows"></span>
          <select data-role="rows">${ANGLE_ROWS.map((r) => `<option value="${r}">${r}</option>`).join('')}</select></label>
      </div>
      <canvas data-role="map" class="heatmap"></canvas>`;
    elements = {
      views: [...body.querySelectorAll('input[name=angle-view]')],
      rows: body.querySelector('[data-role=rows]'),
      map: body.querySelector('[data-role=map]'),
    };
    for (const input of elements.views) input.addEventListener('change', () => api.setState({ angleView: input.value }));
    elements.rows.addEventListener('change', () => api.setState({ angleRows: Number(elements.rows.value) }));
  },

  render(state, rope, ctx) {
    const rows = state.angleRows;
    const positions = Int32Array.from({ length: rows }, (_, p) => p);
    table = rope.table(positions, ctx.seqLen);
    const theta = rope.invFreq(ctx.seqLen);
    const pairs = theta.length;
    const s = rope.attentionScaling;
    const values = new Float64Array(rows * pairs);
    for (let p = 0; p < values.length; p++) {
      const c = table.cos[p] / s;
      const sn = table.sin[p] / s;
      values[p] = state.angleView === 'angle' ? angleOf(c, sn) : state.angleView === 'cos' ? c : sn;
    }
    for (const input of elements.views) input.checked = input.value === state.angleView;
    elements.rows.value = String(rows);
    draw(elements.map, values, rows, pairs, state.angleView);
    // Pairs that complete at least one full turn within the rows shown.
    const turning = Array.from(theta).filter((x) => (rows - 1) * x >= 2 * Math.PI).length;
    last = {
      view: state.angleView,
      rows,
      pairs,
      turningPairs: turning,
      attentionScaling: s,
      referenceDeviation: tableDeviation(table, positions, theta, s),
      sample: { position: rows - 1, values: Array.from(values.subarray((rows - 1) * pairs, rows * pairs)) },
    };
    return last;
  },

  csv(data) {
    const header = ['position', ...Array.from({ length: data.pairs }, (_, i) => `pair_${i}_${data.view}`)];
    const rows = [];
    for (let m = 0; m < data.rows; m++) {
      const row = [m];
      for (let i = 0; i < data.pairs; i++) {
        const c = table.cos[m * data.pairs + i] / data.attentionScaling;
        const sn = table.sin[m * data.pairs + i] / data.attentionScaling;
        row.push(data.view === 'angle' ? angleOf(c, sn) : data.view === 'cos' ? c : sn);
      }
      rows.push(row);
    }
    return toCsv(header, rows);
  },

  summary() {
    if (!last) return '';
    return t('angles.summary', {
      view: t(`angles.view.${last.view}`),
      rows: last.rows,
      pairs: last.pairs,
      turning: last.turningPairs,
      dev: formatNumber(last.referenceDeviation, 2),
    });
  },
};
