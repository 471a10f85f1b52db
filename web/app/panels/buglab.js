// Panel 8: the pairing bug lab. The diagram shows which slots rotate
// together under the chosen pairing, half (rotate_half: slot j with j + d/2)
// or interleaved (slot 2i with 2i + 1), and which frequency the cos/sin table
// hands to each slot. "Break it" lays the table out for the other pairing
// (e.g. each frequency repeated twice, [θ0, θ0, θ1, θ1, …], as interleaved
// code builds it) while still rotating with the chosen pairing. The rotation
// runs in float64 JavaScript (checks/buglab.js) on rows of rope.table():
//   out_j = x_j C_j + sign_j x_partner(j) S_j.
// With a matching layout it equals the float64 rotation (the deviation
// line) and rope.apply() (applyDeviation); with
// the wrong one, the two slots of a pair turn by different angles, so norms
// and the relative-position property fail everywhere except position 0.

import { t, formatNumber } from '../i18n/index.js';
import { OKABE_ITO, withAlpha } from '../lib/colors.js';
import { axesOptions, lineDataset, logScale, upsertChart } from '../lib/charts.js';
import { labChecks, pairList, partnerOf, PAIRINGS, rotateFromTable, slotFrequencyIndex } from '../checks/buglab.js';
import { rotateWithApply } from '../checks/invariants.js';
import { rotateReference } from '../checks/reference.js';
import { mulberry32, normalVector } from '../lib/prng.js';
import { toCsv } from '../lib/export.js';
import { ICONS, crossPath } from '../lib/icons.js';

const DIAGRAM_SLOTS = 16; // the diagram draws 16 slots; the rule is the same for every d
const TOLERANCE = 1e-5;
const SVG = 'http://www.w3.org/2000/svg';

let elements = null;
let chart = null;
let last = null;

function otherPairing(pairing) {
  return pairing === 'half' ? 'interleaved' : 'half';
}

/** SVG markup of the slot diagram for `slots` slots. */
function diagram(slots, pairing, layout) {
  const cell = 44;
  const left = 92;
  const width = left + slots * cell + 10;
  const freq = slotFrequencyIndex(layout, slots);
  const parts = [];
  const x = (j) => left + j * cell + cell / 2;
  const liftOf = (span) => Math.min(92, 16 + span * 0.27);
  const top = 34 + Math.max(...pairList(slots, pairing).map(([a, b]) => liftOf(Math.abs(x(b) - x(a))))) * 0.75;
  const height = top + 90;
  // Arcs above the slots link each pair; a pair whose two slots read different frequencies is drawn red and dashed.
  pairList(slots, pairing).forEach(([a, b], i) => {
    const broken = freq[a] !== freq[b];
    const span = Math.abs(x(b) - x(a));
    const lift = liftOf(span);
    const color = broken ? OKABE_ITO.vermillion : OKABE_ITO.blue;
    parts.push(`<path d="M ${x(a)} ${top} C ${x(a)} ${top - lift}, ${x(b)} ${top - lift}, ${x(b)} ${top}" fill="none" stroke="${color}" stroke-width="${broken ? 2.2 : 1.8}"${broken ? ' stroke-dasharray="5 3"' : ''}><title>${t('buglab.arcTitle', { i, a, b })}</title></path>`);
  });
  for (let j = 0; j < slots; j++) {
    const { partner } = partnerOf(j, slots, pairing);
    const broken = freq[j] !== freq[partner];
    parts.push(`<rect x="${left + j * cell + 2}" y="${top}" width="${cell - 4}" height="30" rx="4" fill="#f4f6f8" stroke="#56606b"/>`);
    parts.push(`<text x="${x(j)}" y="${top + 20}" text-anchor="middle" font-size="13">x${j}</text>`);
    parts.push(`<text x="${x(j)}" y="${top + 54}" text-anchor="middle" font-size="13" fill="${broken ? '#b3261e' : '#1d232b'}" font-weight="${broken ? 700 : 400}">θ${freq[j]}</text>`);
    if (broken) parts.push(crossPath(x(j), top + 70, 4.5, '#b3261e'));
  }
  parts.push(`<text x="6" y="${top + 20}" font-size="12" fill="#56606b">${t('buglab.rowSlots')}</text>`);
  parts.push(`<text x="6" y="${top + 54}" font-size="12" fill="#56606b">${t('buglab.rowTable')}</text>`);
  parts.push(`<text x="6" y="18" font-size="12" fill="#56606b">${t('buglab.rowPairs', { pairing: t(`buglab.pairing.${pairing}`) })}</text>`);
  return `<svg xmlns="${SVG}" class="diagram" font-family="system-ui, 'Noto Sans', 'Noto Sans CJK SC', sans-serif" viewBox="0 0 ${width} ${height}" width="100%" role="img" aria-labelledby="buglab-diagram-desc">
    <desc id="buglab-diagram-desc">${t('buglab.diagramDesc', { pairing: t(`buglab.pairing.${pairing}`), layout: t(`buglab.layout.${layout}`) })}</desc>
    <rect width="${width}" height="${height}" fill="#ffffff"/>${parts.join('')}</svg>`;
}

export default {
  id: 'buglab',
  titleKey: 'buglab.title',
  explainKey: 'buglab.explain',
  deviationKey: 'buglab.deviationWhat',
  deps: ['bugOn', 'bugPairing', 'bugM', 'seed'],
  ownLabels: true,

  mount(body, api) {
    body.innerHTML = `
      <div class="controls">
        <fieldset class="toggle"><legend data-i18n="buglab.pairingLabel"></legend>
          ${PAIRINGS.map((p) => `<label class="inline"><input type="radio" name="bug-pairing" value="${p}"> <span data-i18n="buglab.pairing.${p}"></span></label>`).join('')}
        </fieldset>
        <label class="inline switch"><input type="checkbox" data-role="bug"> <strong data-i18n="buglab.breakIt"></strong></label>
        <label class="grow" for="buglab-position"><span data-i18n="buglab.position"></span> <output data-role="m-out"></output>
          <input type="range" id="buglab-position" data-role="m" min="0" max="4096" step="1"></label>
      </div>
      <div class="diagram-box" data-role="diagram"></div>
      <p class="hint" data-role="diagram-note"></p>
      <ul class="badges compact" data-role="badges"></ul>
      <p class="why" data-role="why"></p>
      <div class="chart-box"><canvas data-role="chart"></canvas></div>`;
    const $ = (role) => body.querySelector(`[data-role=${role}]`);
    elements = {
      pairings: [...body.querySelectorAll('input[name=bug-pairing]')], bug: $('bug'), m: $('m'), mOut: $('m-out'),
      diagram: $('diagram'), note: $('diagram-note'), badges: $('badges'), why: $('why'), chart: $('chart'),
    };
    chart = null;
    for (const input of elements.pairings) input.addEventListener('change', () => api.setState({ bugPairing: input.value }));
    elements.bug.addEventListener('change', () => api.setState({ bugOn: elements.bug.checked }));
    elements.m.addEventListener('input', () => api.setState({ bugM: Number(elements.m.value) }));
  },

  render(state, rope, ctx) {
    const pairing = state.bugPairing ?? rope.pairing;
    const layout = state.bugOn ? otherPairing(pairing) : pairing;
    const d = rope.rotaryDim;
    const s = rope.attentionScaling;
    const m = state.bugM;
    const n = Math.ceil(m / 3);
    const random = mulberry32((state.seed + 7) >>> 0);
    const q = normalVector(rope.headDim, random);
    const k = normalVector(rope.headDim, random);
    const tableSeqLen = ctx.seqLen ?? 1;
    // Every row the lab needs, from one rope.table() call.
    const positions = [0, 1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096];
    const wanted = new Set([0]);
    for (const p of [m, ...positions]) {
      const pn = Math.ceil(p / 3);
      for (const x of [p, pn, p - pn]) wanted.add(x);
    }
    const list = [...wanted];
    const table = rope.table(list, tableSeqLen);
    const half = d / 2;
    const rows = new Map(list.map((p, row) => [p, {
      cos: table.cos.subarray(row * half, (row + 1) * half), sin: table.sin.subarray(row * half, (row + 1) * half),
    }]));
    const tableRow = (position) => rows.get(position) ?? rope.table([position], tableSeqLen);
    // Relative position: the score at (m, n) against the same gap moved to (m − n, 0).
    const checks = labChecks({ q, k, rotaryDim: d, layout, pairing, tableRow, scale: s, m, n, shift: -n, tolerance: TOLERANCE });

    // The JS slot-by-slot rotation with a matching layout against the float64 reference rotation,
    // and against rope.apply() when the lab uses the model's own pairing.
    const { cos, sin } = tableRow(m);
    const mine = rotateFromTable(q, cos, sin, d, pairing, pairing);
    const expected = rotateReference(q, m, rope.invFreq(ctx.seqLen), d, pairing, s);
    let top = 0;
    for (let j = 0; j < q.length; j++) top = Math.max(top, Math.abs(q[j]));
    let referenceDeviation = 0;
    for (let j = 0; j < q.length; j++) referenceDeviation = Math.max(referenceDeviation, Math.abs(expected[j] - mine[j]) / (s * top));
    let applyDeviation = null;
    if (pairing === rope.pairing) {
      const [applied] = rotateWithApply(rope, q, [m], ctx.seqLen);
      applyDeviation = 0;
      for (let j = 0; j < q.length; j++) applyDeviation = Math.max(applyDeviation, Math.abs(applied[j] - mine[j]) / (s * top));
    }

    // Relative-position error against position for the chosen and the broken layout.
    const curve = (lay) => positions.map((p) => {
      const pn = Math.ceil(p / 3);
      const result = labChecks({ q, k, rotaryDim: d, layout: lay, pairing, tableRow, scale: s, m: p, n: pn, shift: -pn, tolerance: TOLERANCE });
      return { x: Math.max(p, 0.5), y: Math.max(result.relative.value, 1e-12), norm: Math.max(result.norm.value, 1e-12) };
    });
    const good = curve(pairing);
    const bad = curve(otherPairing(pairing));

    // Controls and drawing.
    for (const input of elements.pairings) input.checked = input.value === pairing;
    elements.bug.checked = state.bugOn;
    elements.m.value = String(m);
    elements.m.setAttribute('aria-valuetext', String(m));
    elements.mOut.textContent = String(m);
    elements.diagram.innerHTML = diagram(Math.min(DIAGRAM_SLOTS, d), pairing, layout);
    elements.note.textContent = t('buglab.note', {
      slots: Math.min(DIAGRAM_SLOTS, d), d,
      rule: pairing === 'half' ? t('buglab.rule.half', { h: d / 2 }) : t('buglab.rule.interleaved'),
      model: t(`buglab.pairing.${rope.pairing}`),
    });
    const badge = (key, result) => `<li class="badge ${result.holds ? 'pass' : 'fail'}"><span class="mark" aria-hidden="true">${result.holds ? ICONS.check : ICONS.cross}</span>
      <span><strong>${t(key)}</strong> <span class="visually-hidden">${t(result.holds ? 'invariants.pass' : 'invariants.fail')}</span>
      <small>${t('invariants.detail', { value: formatNumber(result.value, 2), tol: formatNumber(TOLERANCE, 1) })}</small></span></li>`;
    elements.badges.innerHTML = badge('buglab.identity', checks.identity) + badge('invariants.norm', checks.norm) + badge('buglab.relative', checks.relative);
    elements.why.textContent = state.bugOn ? t('buglab.whyBroken', { m }) : t('buglab.whyFine');
    elements.why.classList.toggle('warn', state.bugOn);

    chart = upsertChart(chart, elements.chart, {
      type: 'scatter',
      data: {
        datasets: [
          lineDataset(t('buglab.curveGood'), good, OKABE_ITO.blue, { pointRadius: 3 }),
          lineDataset(t('buglab.curveBad'), bad, OKABE_ITO.vermillion, { pointRadius: 3, pointStyle: 'rectRot', borderDash: [5, 3] }),
          lineDataset(t('buglab.tolerance'), [{ x: 0.5, y: TOLERANCE }, { x: 4096, y: TOLERANCE }], '#6f6f6f', { borderDash: [2, 3], borderWidth: 1 }),
        ],
      },
      options: axesOptions({
        title: t('buglab.chartTitle'),
        xTitle: t('buglab.axisPosition'),
        yTitle: t('buglab.axisError'),
        x: logScale({ min: 0.5, max: 4096 }),
        y: logScale({ min: 1e-12, max: 10, ticks: { ...logScale().ticks, callback: (v) => { const e = Math.round(Math.log10(v)); return Math.abs(Math.log10(v) - e) < 1e-9 && e % 2 === 0 ? `1e${e}` : ''; } } }),
      }),
    });
    elements.chart.setAttribute('aria-label', t('buglab.chartLabel', {
      good: formatNumber(good[good.length - 1].y, 2), bad: formatNumber(bad[bad.length - 1].y, 2),
    }));

    last = {
      bugOn: state.bugOn,
      pairing,
      tableLayout: layout,
      modelPairing: rope.pairing,
      m,
      n,
      shiftedTo: [m - n, 0],
      tolerance: TOLERANCE,
      badges: {
        identity: checks.identity,
        norm: checks.norm,
        relative: { value: checks.relative.value, holds: checks.relative.holds },
      },
      badgeStates: { identity: checks.identity.holds, norm: checks.norm.holds, relative: checks.relative.holds },
      scoreNear: checks.relative.scoreNear,
      scoreShifted: checks.relative.scoreShifted,
      curves: { positions, matching: good.map((p) => p.y), broken: bad.map((p) => p.y) },
      slotFrequencies: Array.from(slotFrequencyIndex(layout, d)),
      referenceDeviation,
      applyDeviation,
    };
    return last;
  },

  csv(data) {
    return toCsv(['position', 'relative_error_matching_layout', 'relative_error_broken_layout'],
      data.curves.positions.map((p, i) => [p, data.curves.matching[i], data.curves.broken[i]]));
  },

  summary() {
    if (!last) return '';
    const word = (holds) => t(holds ? 'invariants.pass' : 'invariants.fail');
    return t('buglab.summary', {
      pairing: t(`buglab.pairing.${last.pairing}`),
      layout: t(`buglab.layout.${last.tableLayout}`),
      m: last.m,
      identity: word(last.badgeStates.identity),
      norm: word(last.badgeStates.norm),
      relative: word(last.badgeStates.relative),
    });
  },
};
