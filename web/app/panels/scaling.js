// Panel 7: context-extension rules side by side, for the current base and
// rotary dim d, a factor s and an original context L. Every rule is a Rope
// built by the library (createRope options as below) and read with
// invFreq(), so the numbers are the library's own:
//   linear (PI)    theta_i / s                                   Chen et al. 2023
//   NTK-aware      default rope with base' = base * s^(d/(d-2))   bloc97 2023
//   dynamic NTK    base' = base * (s*len/L - (s-1))^(d/(d-2)) once len > L   emozilla 2023
//   YaRN           ramp between the pairs that turn beta_fast and beta_slow times
//                  in L; attention 0.1 ln s + 1                     Peng et al. 2023
//   Llama 3        wavelengths below L/high kept, above L/low divided by s,
//                  smooth blend between                             Meta 2024
//   LongRoPE       theta_i / long_factor_i above L; attention sqrt(1 + ln s / ln L)   Ding et al. 2024
// Shaded: the YaRN ramp (pair indices low..high) and the Llama 3 middle band
// (pairs whose wavelength lies in [L/high, L/low]). The deviation line is
// the largest relative gap to checks/reference.js over all six rules.

import { t, formatNumber } from '../i18n/index.js';
import { OKABE_ITO, SERIES, withAlpha } from '../lib/colors.js';
import { axesOptions, indexPoints, lineDataset, logScale, upsertChart } from '../lib/charts.js';
import { llama3Band, maxRelativeDeviation, referenceInvFreq, TWO_PI, yarnRamp } from '../checks/reference.js';
import { toCsv } from '../lib/export.js';
import { SCALE_RULES } from '../state.js';
import { MAX_POSITION, validatedField } from '../lib/validate.js';

/** The panel's numeric fields: state key, label, accepted values, value applied when cleared. */
const NUMBER_FIELDS = {
  factor: { key: 'scaleFactor', labelKey: 'scaling.factor', rule: { min: 1 }, empty: null },
  context: { key: 'scaleContext', labelKey: 'scaling.context', rule: { integer: true, min: 2, max: MAX_POSITION }, empty: null },
  betaFast: { key: 'scaleBetaFast', labelKey: 'scaling.betaFast', rule: { above: 0 }, empty: 32 },
  betaSlow: { key: 'scaleBetaSlow', labelKey: 'scaling.betaSlow', rule: { above: 0 }, empty: 1 },
  low: { key: 'scaleLow', labelKey: 'scaling.low', rule: { above: 0 }, empty: 1 },
  high: { key: 'scaleHigh', labelKey: 'scaling.high', rule: { above: 0 }, empty: 4 },
};

const COLORS = { linear: SERIES[0], ntk: SERIES[1], dynamic: SERIES[2], yarn: SERIES[3], llama3: SERIES[4], longrope: SERIES[5] };

let elements = null;
let fields = null;
let ratioChart = null;
let waveChart = null;
let last = null;

/** Defaults of the panel's inputs for a rope: factor, original context, current length, long factors. */
export function scalingInputs(state, rope, ctx) {
  const o = rope.options;
  const factor = state.scaleFactor ?? (o.factor && o.factor > 1 ? o.factor
    : (ctx.extended && ctx.training ? ctx.extended / ctx.training : 4));
  const context = state.scaleContext ?? ctx.training ?? 4096;
  const length = state.scaleLength ?? Math.round(factor * context);
  const nPairs = rope.rotaryDim / 2;
  let longFactor = null;
  let longSource = 'typed';
  if (state.scaleLong) {
    const list = state.scaleLong.split(/[\s,]+/).filter(Boolean).map(Number);
    if (list.length === nPairs && list.every((x) => Number.isFinite(x) && x > 0)) longFactor = list;
  }
  if (!longFactor && o.ropeType === 'longrope') {
    longFactor = Array.from(o.longFactor);
    longSource = 'model';
  }
  if (!longFactor) {
    // Illustrative only: 1 for the fast pairs rising smoothly to s for the slowest.
    longFactor = Array.from({ length: nPairs }, (_, i) => 1 + (factor - 1) * (i / Math.max(1, nPairs - 1)) ** 2);
    longSource = 'illustrative';
  }
  return { factor, context, length, longFactor, longSource };
}

/** createRope options of each rule. */
export function ruleOptions(rule, rope, state, inputs) {
  const d = rope.rotaryDim;
  const common = { headDim: rope.headDim, rotaryDim: d, base: rope.base, pairing: rope.pairing };
  const { factor, context } = inputs;
  const extended = Math.max(context, Math.round(factor * context));
  switch (rule) {
    case 'linear': return { ...common, ropeType: 'linear', factor };
    case 'ntk': return { ...common, base: rope.base * factor ** (d / (d - 2)) };
    case 'dynamic': return { ...common, ropeType: 'dynamic', factor, maxPositionEmbeddings: context };
    case 'yarn': return {
      ...common, ropeType: 'yarn', factor, originalMaxPositionEmbeddings: context, maxPositionEmbeddings: extended,
      betaFast: state.scaleBetaFast, betaSlow: state.scaleBetaSlow, truncate: state.scaleTruncate,
    };
    case 'llama3': return {
      ...common, ropeType: 'llama3', factor, originalMaxPositionEmbeddings: context, maxPositionEmbeddings: extended,
      lowFreqFactor: state.scaleLow, highFreqFactor: state.scaleHigh,
    };
    case 'longrope': return {
      ...common, ropeType: 'longrope', originalMaxPositionEmbeddings: context, maxPositionEmbeddings: extended,
      shortFactor: new Array(d / 2).fill(1), longFactor: inputs.longFactor,
    };
    default: throw new RangeError(`unknown rule ${rule}`);
  }
}

function field(role, key, attrs) {
  return `<label><span data-i18n="${key}"></span><input type="number" data-role="${role}" ${attrs}></label>`;
}

export default {
  id: 'scaling',
  titleKey: 'scaling.title',
  explainKey: 'scaling.explain',
  deviationKey: 'scaling.deviationWhat',
  deps: ['scaleRule', 'scaleFactor', 'scaleContext', 'scaleLength', 'scaleBetaFast', 'scaleBetaSlow', 'scaleTruncate', 'scaleLow', 'scaleHigh', 'scaleLong'],

  mount(body, api) {
    body.innerHTML = `
      <div class="controls">
        <label><span data-i18n="scaling.focus"></span>
          <select data-role="rule">${SCALE_RULES.map((r) => `<option value="${r}" data-i18n="scaling.rule.${r}"></option>`).join('')}</select></label>
        ${field('factor', 'scaling.factor', 'min="1" step="any"')}
        ${field('context', 'scaling.context', 'min="2" step="1"')}
      </div>
      <div class="controls" data-group="dynamic">
        <label class="grow" for="scaling-length"><span data-i18n="scaling.length"></span> <output data-role="length-out"></output>
          <input type="range" id="scaling-length" data-role="length" min="0" max="1000" step="1"></label>
      </div>
      <div class="controls" data-group="yarn">
        ${field('betaFast', 'scaling.betaFast', 'min="0" step="any"')}
        ${field('betaSlow', 'scaling.betaSlow', 'min="0" step="any"')}
        <label class="inline"><input type="checkbox" data-role="truncate"> <span data-i18n="scaling.truncate"></span></label>
      </div>
      <div class="controls" data-group="llama3">
        ${field('low', 'scaling.low', 'min="0" step="any"')}
        ${field('high', 'scaling.high', 'min="0" step="any"')}
      </div>
      <div class="controls" data-group="longrope">
        <label class="grow"><span data-i18n="scaling.longFactor"></span>
          <textarea data-role="long" rows="2" spellcheck="false"></textarea></label>
        <p class="hint" data-role="long-source"></p>
      </div>
      <p class="error" data-role="rule-error" role="alert" hidden></p>
      <div class="chart-grid">
        <div class="chart-box tall"><canvas data-role="ratio"></canvas></div>
        <div class="chart-box tall"><canvas data-role="waves"></canvas></div>
      </div>
      <div class="table-wrap"><table class="facts" data-role="table"></table></div>`;
    const $ = (role) => body.querySelector(`[data-role=${role}]`);
    elements = {
      body, rule: $('rule'), factor: $('factor'), context: $('context'), length: $('length'), lengthOut: $('length-out'),
      betaFast: $('betaFast'), betaSlow: $('betaSlow'), truncate: $('truncate'), low: $('low'), high: $('high'),
      long: $('long'), longSource: $('long-source'), error: $('rule-error'), ratio: $('ratio'), waves: $('waves'), table: $('table'),
    };
    ratioChart = null;
    waveChart = null;
    elements.rule.addEventListener('change', () => api.setState({ scaleRule: elements.rule.value }));
    fields = {};
    for (const [role, spec] of Object.entries(NUMBER_FIELDS)) {
      fields[role] = validatedField(elements[role], {
        labelKey: spec.labelKey, rule: () => spec.rule, empty: spec.empty,
        current: () => this.shown?.[role] ?? api.state[spec.key],
        apply: (value) => api.setState({ [spec.key]: value }),
      });
    }
    elements.truncate.addEventListener('change', () => api.setState({ scaleTruncate: elements.truncate.checked }));
    fields.long = validatedField(elements.long, {
      labelKey: 'scaling.longFactor',
      empty: null,
      parse: (text) => {
        const list = text.split(/[\s,]+/).filter(Boolean);
        const values = list.map(Number);
        return list.length === this.nPairs && values.every((x) => Number.isFinite(x) && x > 0) ? values.join(', ') : null;
      },
      describe: () => t('validate.factorList', { count: this.nPairs }),
      current: () => this.shown?.long ?? '',
      apply: (value) => api.setState({ scaleLong: value }),
    });
    elements.length.addEventListener('input', () => {
      const { min, max } = elements.length.dataset;
      const value = Math.round(Math.exp(Math.log(Number(min)) + (Number(elements.length.value) / 1000) * (Math.log(Number(max)) - Math.log(Number(min)))));
      api.setState({ scaleLength: value });
    });
    this.module = api.module;
  },

  render(state, rope, ctx) {
    const inputs = scalingInputs(state, rope, ctx);
    const module = ctx.module;
    const results = {};
    const errors = [];
    let deviation = 0;
    const baseTheta = ctx.defaultRope.invFreq();
    for (const rule of SCALE_RULES) {
      let made = null;
      try {
        made = module.createRope(ruleOptions(rule, rope, state, inputs));
        // Dynamic NTK reads the current length; LongRoPE uses its long list above the original context.
        let seqLen;
        if (rule === 'dynamic') seqLen = inputs.length;
        if (rule === 'longrope') seqLen = Math.max(inputs.context + 1, Math.round(inputs.factor * inputs.context));
        const theta = made.invFreq(seqLen);
        const reference = referenceInvFreq(made.options, seqLen);
        deviation = Math.max(deviation, maxRelativeDeviation(theta, reference));
        results[rule] = {
          theta: Array.from(theta),
          ratio: Array.from(theta, (x, i) => x / baseTheta[i]),
          wavelength: Array.from(theta, (x) => TWO_PI / x),
          attentionScaling: made.attentionScaling,
          base: made.base,
          seqLen: seqLen ?? null,
          options: { ...made.options, shortFactor: undefined, longFactor: made.options.longFactor && Array.from(made.options.longFactor) },
        };
      } catch (error) {
        errors.push(`${t(`scaling.rule.${rule}`)}: ${error.message}`);
      } finally {
        made?.free();
      }
    }
    elements.error.hidden = errors.length === 0;
    elements.error.textContent = errors.length ? t('scaling.rejected', { message: errors.join(' · ') }) : '';

    // Controls.
    elements.rule.value = state.scaleRule;
    this.nPairs = rope.rotaryDim / 2;
    this.shown = {
      factor: inputs.factor, context: inputs.context, betaFast: state.scaleBetaFast, betaSlow: state.scaleBetaSlow,
      low: state.scaleLow, high: state.scaleHigh, long: inputs.longFactor.map((x) => Number(x.toPrecision(5))).join(', '),
    };
    for (const role of Object.keys(NUMBER_FIELDS)) fields[role].sync(this.shown[role]);
    fields.long.sync(this.shown.long);
    elements.truncate.checked = state.scaleTruncate;
    elements.longSource.textContent = t(`scaling.longSource.${inputs.longSource}`, { pairs: rope.rotaryDim / 2 });
    const minLen = Math.max(1, Math.round(inputs.context / 4));
    const maxLen = Math.round(inputs.context * Math.max(2, inputs.factor) * 2);
    elements.length.dataset.min = String(minLen);
    elements.length.dataset.max = String(maxLen);
    elements.length.value = String(Math.round((1000 * (Math.log(inputs.length) - Math.log(minLen))) / (Math.log(maxLen) - Math.log(minLen))));
    elements.length.setAttribute('aria-valuetext', String(inputs.length));
    elements.lengthOut.textContent = String(inputs.length);
    for (const group of elements.body.querySelectorAll('[data-group]')) group.hidden = group.dataset.group !== state.scaleRule;

    // Bands.
    const nPairs = rope.rotaryDim / 2;
    const bandOptions = { rotaryDim: rope.rotaryDim, base: rope.base, originalMaxPositionEmbeddings: inputs.context, betaFast: state.scaleBetaFast, betaSlow: state.scaleBetaSlow, truncate: state.scaleTruncate, lowFreqFactor: state.scaleLow, highFreqFactor: state.scaleHigh };
    const bands = [];
    let yarnBand = null;
    let llamaBand = null;
    if (results.yarn) {
      const { low, high } = yarnRamp(bandOptions);
      yarnBand = { from: low, to: Math.min(high, nPairs - 1) };
    }
    if (results.llama3) {
      const { highFreqWavelength, lowFreqWavelength } = llama3Band(bandOptions);
      const inside = Array.from(baseTheta, (x, i) => [i, TWO_PI / x]).filter(([, w]) => w >= highFreqWavelength && w <= lowFreqWavelength).map(([i]) => i);
      llamaBand = inside.length ? { from: inside[0] - 0.5, to: inside[inside.length - 1] + 0.5, wavelengths: [highFreqWavelength, lowFreqWavelength], pairs: inside.length } : { from: 0, to: 0, wavelengths: [highFreqWavelength, lowFreqWavelength], pairs: 0 };
    }
    if (state.scaleRule === 'yarn' && yarnBand) bands.push({ ...yarnBand, color: withAlpha(OKABE_ITO.vermillion, 0.13), label: t('scaling.yarnBand') });
    if (state.scaleRule === 'llama3' && llamaBand && llamaBand.pairs) bands.push({ ...llamaBand, color: withAlpha(OKABE_ITO.purple, 0.18), label: t('scaling.llamaBand') });

    const ratioSets = SCALE_RULES.filter((r) => results[r]).map((r) => lineDataset(t(`scaling.rule.${r}`), indexPoints(results[r].ratio), COLORS[r], {
      borderWidth: r === state.scaleRule ? 3.5 : 1.4, borderDash: r === state.scaleRule ? [] : [5, 3], order: r === state.scaleRule ? 0 : 1,
    }));
    ratioChart = upsertChart(ratioChart, elements.ratio, {
      type: 'scatter',
      data: { datasets: ratioSets },
      options: (() => {
        const o = axesOptions({ title: t('scaling.ratioChart'), xTitle: t('common.pair'), yTitle: t('scaling.axisRatio'), x: { min: 0, max: nPairs - 1 }, y: { min: 0, max: 1.1, ticks: { stepSize: 0.1 } } });
        o.plugins.bands = { items: bands };
        return o;
      })(),
    });

    const focus = results[state.scaleRule];
    const waveSets = [lineDataset(t('scaling.original'), indexPoints(Array.from(baseTheta, (x) => TWO_PI / x)), '#6f6f6f', { borderDash: [6, 4], borderWidth: 1.5 })];
    if (focus) waveSets.push(lineDataset(t(`scaling.rule.${state.scaleRule}`), indexPoints(focus.wavelength), COLORS[state.scaleRule], { borderWidth: 3 }));
    waveSets.push(lineDataset(t('wavelengths.training', { L: inputs.context }), [{ x: 0, y: inputs.context }, { x: nPairs - 1, y: inputs.context }], OKABE_ITO.black, { borderDash: [3, 3], borderWidth: 1.2 }));
    const extendedLength = Math.round(inputs.factor * inputs.context);
    waveSets.push(lineDataset(t('wavelengths.extended', { L: extendedLength }), [{ x: 0, y: extendedLength }, { x: nPairs - 1, y: extendedLength }], OKABE_ITO.vermillion, { borderDash: [3, 3], borderWidth: 1.2 }));
    waveChart = upsertChart(waveChart, elements.waves, {
      type: 'scatter',
      data: { datasets: waveSets },
      options: (() => {
        const o = axesOptions({ title: t('scaling.waveChart', { rule: t(`scaling.rule.${state.scaleRule}`) }), xTitle: t('common.pair'), yTitle: t('wavelengths.axis'), x: { min: 0, max: nPairs - 1 }, y: logScale() });
        o.plugins.bands = { items: bands };
        return o;
      })(),
    });

    // Facts table.
    const rows = SCALE_RULES.filter((r) => results[r]).map((r) => {
      const res = results[r];
      const changed = res.ratio.filter((x) => Math.abs(x - 1) > 1e-12).length;
      const within = res.wavelength.filter((w) => w <= extendedLength).length;
      return `<tr${r === state.scaleRule ? ' class="focus"' : ''}><th scope="row">${t(`scaling.rule.${r}`)}</th>
        <td>${formatNumber(res.attentionScaling, 5)}</td><td>${formatNumber(res.base, 6)}</td><td>${changed}</td>
        <td>${formatNumber(Math.min(...res.ratio), 4)}</td><td>${within} / ${nPairs}</td></tr>`;
    });
    elements.table.innerHTML = `<caption>${t('scaling.tableCaption', { L: inputs.context, s: formatNumber(inputs.factor, 4), len: inputs.length })}</caption>
      <thead><tr><th scope="col">${t('scaling.col.rule')}</th><th scope="col">${t('scaling.col.attention')}</th><th scope="col">${t('scaling.col.base')}</th>
      <th scope="col">${t('scaling.col.changed')}</th><th scope="col">${t('scaling.col.minRatio')}</th><th scope="col">${t('scaling.col.turns', { L: extendedLength })}</th></tr></thead>
      <tbody>${rows.join('')}</tbody>`;

    last = {
      focus: state.scaleRule,
      factor: inputs.factor,
      context: inputs.context,
      length: inputs.length,
      longFactorSource: inputs.longSource,
      rules: results,
      errors,
      yarnBand,
      llama3Band: llamaBand,
      attentionFactor: Object.fromEntries(Object.entries(results).map(([r, res]) => [r, res.attentionScaling])),
      referenceDeviation: deviation,
    };
    return last;
  },

  csv(data) {
    const rules = Object.keys(data.rules);
    const header = ['pair', ...rules.flatMap((r) => [`${r}_theta`, `${r}_ratio`, `${r}_wavelength`])];
    const n = data.rules[rules[0]]?.theta.length ?? 0;
    const rows = Array.from({ length: n }, (_, i) => [i, ...rules.flatMap((r) => [data.rules[r].theta[i], data.rules[r].ratio[i], data.rules[r].wavelength[i]])]);
    return toCsv(header, rows);
  },

  summary() {
    if (!last) return '';
    const focus = last.rules[last.focus];
    return t('scaling.summary', {
      rule: t(`scaling.rule.${last.focus}`),
      s: formatNumber(last.factor, 4),
      L: last.context,
      attention: focus ? formatNumber(focus.attentionScaling, 5) : '—',
      minRatio: focus ? formatNumber(Math.min(...focus.ratio), 4) : '—',
      yarn: last.yarnBand ? `${formatNumber(last.yarnBand.from, 3)}–${formatNumber(last.yarnBand.to, 3)}` : '—',
      llama: last.llama3Band ? last.llama3Band.pairs : '—',
    });
  },
};
