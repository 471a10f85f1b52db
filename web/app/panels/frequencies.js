// Panel 1: the frequency θᵢ of every rotary pair and the angle
// m·θᵢ mod 2π it has reached at position m. θᵢ = base^(−2i/d) for default
// RoPE (RoFormer, Su et al. 2021, eq. 15); scaled types change it as their
// papers describe. θᵢ comes from rope.invFreq(L) and the angle from
// atan2(sin, cos) of rope.table([m], L), both computed in WebAssembly; the
// deviation line compares θᵢ with checks/reference.js (float64).

import { MAX_POSITION, validatedField } from '../lib/validate.js';
import { t, formatNumber } from '../i18n/index.js';
import { OKABE_ITO } from '../lib/colors.js';
import { axesOptions, indexPoints, lineDataset, logScale, upsertChart } from '../lib/charts.js';
import { angleOf } from '../lib/context.js';
import { maxRelativeDeviation } from '../checks/reference.js';
import { toCsv } from '../lib/export.js';

let thetaChart = null;
let angleChart = null;
let positionInput = null;
let positionField = null;
let last = null;

export default {
  id: 'frequencies',
  titleKey: 'frequencies.title',
  explainKey: 'frequencies.explain',
  deviationKey: 'frequencies.deviationWhat',
  deps: ['m'],

  mount(body, api) {
    body.innerHTML = `
      <div class="controls">
        <label><span data-i18n="common.position"></span>
          <input type="number" min="0" step="1" data-role="position" inputmode="numeric"></label>
      </div>
      <div class="chart-grid">
        <div class="chart-box"><canvas data-role="theta"></canvas></div>
        <div class="chart-box"><canvas data-role="angle"></canvas></div>
      </div>`;
    positionInput = body.querySelector('[data-role=position]');
    positionField = validatedField(positionInput, {
      labelKey: 'common.position', rule: () => ({ integer: true, min: 0, max: MAX_POSITION }),
      current: () => api.state.m, apply: (m) => api.setState({ m }),
    });
    thetaChart = null;
    angleChart = null;
    this.canvases = [body.querySelector('[data-role=theta]'), body.querySelector('[data-role=angle]')];
  },

  render(state, rope, ctx) {
    const invFreq = rope.invFreq(ctx.seqLen);
    const defaultInvFreq = ctx.defaultRope.invFreq();
    const { cos, sin } = rope.table([state.m], ctx.seqLen);
    const angles = Array.from(cos, (c, i) => angleOf(c, sin[i]));
    const scaledType = rope.ropeType !== 'default';
    const typeName = t(`type.${rope.ropeType}`);
    positionInput.max = String(MAX_POSITION);
    positionField.sync(state.m);

    const datasets = [lineDataset(t('frequencies.scaled', { type: typeName }), indexPoints(invFreq), OKABE_ITO.blue, { pointRadius: 1.5 })];
    if (scaledType) {
      datasets.push(lineDataset(t('frequencies.default'), indexPoints(defaultInvFreq), '#8a8a8a', { borderDash: [6, 4], borderWidth: 1.5 }));
    }
    thetaChart = upsertChart(thetaChart, this.canvases[0], {
      type: 'scatter',
      data: { datasets },
      options: axesOptions({
        title: t('frequencies.thetaChart'),
        xTitle: t('common.pair'),
        yTitle: t('frequencies.axisTheta'),
        x: { min: 0, max: invFreq.length - 1 },
        y: logScale(),
      }),
    });
    angleChart = upsertChart(angleChart, this.canvases[1], {
      type: 'bar',
      data: {
        labels: angles.map((_, i) => i),
        datasets: [{ label: t('frequencies.angle'), data: angles, backgroundColor: OKABE_ITO.orange, borderWidth: 0, barPercentage: 1, categoryPercentage: 0.9 }],
      },
      options: {
        plugins: {
          title: { display: true, text: t('frequencies.angleChart', { m: state.m }), font: { size: 14, weight: '600' } },
          legend: { display: false },
        },
        scales: {
          x: { title: { display: true, text: t('common.pair') }, ticks: { maxTicksLimit: 9 } },
          y: {
            min: 0,
            max: 2 * Math.PI,
            title: { display: true, text: t('frequencies.axisAngle') },
            ticks: { stepSize: Math.PI / 2, callback: (v) => ['0', 'π/2', 'π', '3π/2', '2π'][Math.round(v / (Math.PI / 2))] ?? '' },
          },
        },
      },
    });

    let changed = 0;
    invFreq.forEach((theta, i) => { if (Math.abs(theta - defaultInvFreq[i]) > 1e-12 * defaultInvFreq[i]) changed += 1; });
    last = {
      m: state.m,
      seqLen: ctx.seqLen,
      ropeType: rope.ropeType,
      invFreq: Array.from(invFreq),
      defaultInvFreq: Array.from(defaultInvFreq),
      changedPairs: changed,
      cos: Array.from(cos),
      sin: Array.from(sin),
      angles,
      referenceInvFreq: Array.from(ctx.referenceTheta),
      referenceDeviation: maxRelativeDeviation(invFreq, ctx.referenceTheta),
    };
    return last;
  },

  csv(data) {
    return toCsv(['pair', 'theta', 'theta_default', 'theta_reference', 'wavelength', `angle_mod_2pi_at_m_${data.m}`],
      data.invFreq.map((theta, i) => [i, theta, data.defaultInvFreq[i], data.referenceInvFreq[i], (2 * Math.PI) / theta, data.angles[i]]));
  },

  summary() {
    if (!last) return '';
    return t('frequencies.summary', {
      pairs: last.invFreq.length,
      type: t(`type.${last.ropeType}`),
      first: formatNumber(last.invFreq[0]),
      last: formatNumber(last.invFreq[last.invFreq.length - 1]),
      changed: last.changedPairs,
      m: last.m,
      minAngle: formatNumber(Math.min(...last.angles), 3),
      maxAngle: formatNumber(Math.max(...last.angles), 3),
    });
  },
};
