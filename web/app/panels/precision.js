// Panel 9: precision lab. The cos error max_i |cos(angle_i) − cos(m θᵢ)|
// against position m on a log axis up to 2^20, for:
//   our table      rope.table() (angles in float64, stored as float32), attention scaling divided out
//   float32        θ and m·θ rounded to float32 (Math.fround) before cos
//   bf16 / fp16 θ  frequencies held in bfloat16 / float16, the rest in float64
//   bf16 / fp16 m  positions held in bfloat16 / float16, the rest in float64
// Each point is the worst over the 8 consecutive positions m .. m + 7.
// Exact: Math.cos(m·θᵢ) in float64 with θᵢ from rope.invFreq(L); its own
// error (about m·θ·2^−53, 1e−10 at 2^20) is below every curve. Rounding,
// collapse points and overflow: checks/precision.js.

import { t, formatNumber } from '../i18n/index.js';
import { OKABE_ITO } from '../lib/colors.js';
import { axesOptions, lineDataset, logScale, upsertChart } from '../lib/charts.js';
import { collapsePosition, cosErrors, precisionPositions, toBfloat16, toFloat16, windowPositions } from '../checks/precision.js';
import { toCsv } from '../lib/export.js';

const MAX_POSITION = 2 ** 20;
const FLOOR = 1e-10; // smaller errors (exact values included) are drawn here on the log axis
const WINDOW = 8; // each point is the worst of 8 consecutive positions
const SERIES = [
  ['wasm', OKABE_ITO.blue, [], 3],
  ['float32', OKABE_ITO.black, [], 1.5],
  ['bf16Freq', OKABE_ITO.orange, [], 2],
  ['fp16Freq', OKABE_ITO.skyBlue, [6, 3], 2],
  ['bf16Pos', OKABE_ITO.vermillion, [], 2],
  ['fp16Pos', OKABE_ITO.purple, [6, 3], 2],
];

let chart = null;
let readout = null;
let last = null;

export default {
  id: 'precision',
  titleKey: 'precision.title',
  explainKey: 'precision.explain',
  deviationKey: 'precision.deviationWhat',
  deps: [],

  mount(body) {
    body.innerHTML = `
      <ul class="facts-list" data-role="readout"></ul>
      <div class="chart-box tall"><canvas data-role="chart"></canvas></div>`;
    readout = body.querySelector('[data-role=readout]');
    chart = null;
    this.canvases = [body.querySelector('[data-role=chart]')];
  },

  render(state, rope, ctx) {
    const theta = rope.invFreq(ctx.seqLen);
    const positions = precisionPositions(MAX_POSITION, 120).filter((m) => m + WINDOW - 1 <= MAX_POSITION);
    const s = rope.attentionScaling;
    const table = rope.table(windowPositions(positions, WINDOW), ctx.seqLen ?? 1);
    const unit = Float64Array.from(table.cos, (x) => x / s);
    const errors = cosErrors(theta, positions, unit, WINDOW);
    const bf16 = collapsePosition(toBfloat16);
    const fp16 = collapsePosition(toFloat16);
    const datasets = SERIES.map(([name, color, dash, width]) => lineDataset(t(`precision.series.${name}`),
      positions.map((m, i) => ({ x: m, y: Math.max(errors[name][i], FLOOR) })), color, { borderDash: dash, borderWidth: width }));
    for (const [x, key, color] of [[bf16, 'precision.lineBf16', OKABE_ITO.vermillion], [fp16, 'precision.lineFp16', OKABE_ITO.purple], [65504, 'precision.lineOverflow', '#6f6f6f']]) {
      datasets.push(lineDataset(t(key, { m: x }), [{ x, y: FLOOR }, { x, y: 4 }], color, { borderDash: [2, 3], borderWidth: 1 }));
    }
    chart = upsertChart(chart, this.canvases[0], {
      type: 'scatter',
      data: { datasets },
      options: axesOptions({
        xTitle: t('precision.axisPosition'),
        yTitle: t('precision.axisError'),
        x: logScale({ min: 1, max: MAX_POSITION }),
        y: logScale({ min: FLOOR, max: 4 }),
      }),
    });
    const worst = (name) => Math.max(...errors[name]);
    const at = (name, m) => errors[name][positions.findLastIndex((p) => p <= m)];
    last = {
      positions,
      window: WINDOW,
      errors: Object.fromEntries(Object.entries(errors).map(([k, v]) => [k, Array.from(v)])),
      maxError: Object.fromEntries(Object.keys(errors).map((k) => [k, worst(k)])),
      collapse: { bfloat16: bf16, float16: fp16 },
      bf16Examples: [bf16, bf16 + 1].map((m) => ({ m, stored: toBfloat16(m) })),
      fp16Examples: [fp16, fp16 + 1].map((m) => ({ m, stored: toFloat16(m) })),
      fp16Overflow: 65520,
      referenceDeviation: worst('wasm'),
    };
    readout.innerHTML = [
      t('precision.factWasm', { err: formatNumber(worst('wasm'), 2) }),
      t('precision.factFloat32', { err: formatNumber(at('float32', MAX_POSITION), 2) }),
      t('precision.factBf16', { m: bf16, next: bf16 + 1, stored: toBfloat16(bf16 + 1) }),
      t('precision.factFp16', { m: fp16, next: fp16 + 1, stored: toFloat16(fp16 + 1) }),
      t('precision.factFreq', { bf: formatNumber(at('bf16Freq', 4096), 2), fp: formatNumber(at('fp16Freq', 4096), 2) }),
    ].map((text) => `<li>${text}</li>`).join('');
    return last;
  },

  csv(data) {
    const names = Object.keys(data.errors);
    return toCsv(['first_position', 'window', ...names.map((n) => `cos_error_${n}`)], data.positions.map((m, i) => [m, data.window, ...names.map((n) => data.errors[n][i])]));
  },

  summary() {
    if (!last) return '';
    return t('precision.summary', {
      wasm: formatNumber(last.maxError.wasm, 2),
      f32: formatNumber(last.maxError.float32, 2),
      bf: last.collapse.bfloat16,
      fp: last.collapse.float16,
    });
  },
};
