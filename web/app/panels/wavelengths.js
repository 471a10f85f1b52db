// Panel 2: wavelength λ_i = 2π/θ_i, the number of tokens pair i needs for
// one full turn, against the training and extended context lengths. Pairs
// with λ_i above the training length never completed a turn in training,
// which is the quantity YaRN (Peng et al. 2023) and Llama 3.1
// scaling use to decide which pairs to interpolate. θ_i from rope.invFreq(L);
// the deviation line compares λ_i with 2π over the float64 reference θ_i.

import { t, formatNumber } from '../i18n/index.js';
import { OKABE_ITO } from '../lib/colors.js';
import { axesOptions, indexPoints, lineDataset, logScale, upsertChart } from '../lib/charts.js';
import { contextLengths } from '../lib/context.js';
import { maxRelativeDeviation } from '../checks/reference.js';
import { toCsv } from '../lib/export.js';

let chart = null;
let readout = null;
let last = null;

export default {
  id: 'wavelengths',
  titleKey: 'wavelengths.title',
  explainKey: 'wavelengths.explain',
  deviationKey: 'wavelengths.deviationWhat',
  deps: [],

  mount(body) {
    body.innerHTML = `
      <p class="readout" data-role="readout"></p>
      <div class="chart-box wide"><canvas data-role="chart"></canvas></div>`;
    chart = null;
    readout = body.querySelector('[data-role=readout]');
    this.canvases = [body.querySelector('[data-role=chart]')];
  },

  render(state, rope, ctx) {
    const wavelengths = Array.from(rope.invFreq(ctx.seqLen), (theta) => (2 * Math.PI) / theta);
    const defaultWavelengths = Array.from(ctx.defaultRope.invFreq(), (theta) => (2 * Math.PI) / theta);
    const { training, extended } = contextLengths(rope.options);
    const nPairs = wavelengths.length;
    const lastPair = nPairs - 1;
    const datasets = [lineDataset(t('wavelengths.series', { type: t(`type.${rope.ropeType}`) }), indexPoints(wavelengths), OKABE_ITO.blue, { pointRadius: 1.5 })];
    if (rope.ropeType !== 'default') {
      datasets.push(lineDataset(t('wavelengths.default'), indexPoints(defaultWavelengths), '#8a8a8a', { borderDash: [6, 4], borderWidth: 1.5 }));
    }
    if (training) {
      datasets.push(lineDataset(t('wavelengths.training', { L: training }), [{ x: 0, y: training }, { x: lastPair, y: training }], OKABE_ITO.green, { borderDash: [3, 3] }));
    }
    if (extended) {
      datasets.push(lineDataset(t('wavelengths.extended', { L: extended }), [{ x: 0, y: extended }, { x: lastPair, y: extended }], OKABE_ITO.vermillion, { borderDash: [3, 3] }));
    }
    chart = upsertChart(chart, this.canvases[0], {
      type: 'scatter',
      data: { datasets },
      options: axesOptions({
        xTitle: t('common.pair'),
        yTitle: t('wavelengths.axis'),
        x: { min: 0, max: Math.max(1, lastPair) },
        y: logScale(),
      }),
    });
    const within = (length) => (length ? wavelengths.filter((w) => w <= length).length : null);
    last = {
      ropeType: rope.ropeType,
      seqLen: ctx.seqLen,
      wavelengths,
      defaultWavelengths,
      trainingContext: training,
      extendedContext: extended,
      completeWithinTraining: within(training),
      completeWithinExtended: within(extended),
      referenceDeviation: maxRelativeDeviation(wavelengths, Array.from(ctx.referenceTheta, (x) => (2 * Math.PI) / x)),
    };
    readout.textContent = this.readoutText();
    return last;
  },

  csv(data) {
    return toCsv(['pair', 'wavelength_tokens', 'wavelength_default', 'turns_within_training', 'turns_within_extended'],
      data.wavelengths.map((w, i) => [i, w, data.defaultWavelengths[i],
        data.trainingContext ? data.trainingContext / w : '', data.extendedContext ? data.extendedContext / w : '']));
  },

  readoutText() {
    const nPairs = last.wavelengths.length;
    const parts = [];
    if (last.trainingContext) {
      parts.push(t('wavelengths.readout', { k: last.completeWithinTraining, pairs: nPairs, L: last.trainingContext }));
    }
    if (last.extendedContext) {
      parts.push(t('wavelengths.readoutExtended', { k: last.completeWithinExtended, pairs: nPairs, L: last.extendedContext }));
    }
    return parts.join(' ');
  },

  summary() {
    if (!last) return '';
    return t('wavelengths.summary', {
      min: formatNumber(Math.min(...last.wavelengths)),
      max: formatNumber(Math.max(...last.wavelengths)),
      readout: this.readoutText(),
    });
  },
};
