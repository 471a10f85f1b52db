// Live checks: invariant badges in a bar that stays on screen (no panel
// number; it sits above the numbered panels). One line of badges, with a
// toggle for the deviations; narrow screens show only a tally until the
// reader opens it. Seeded
// random q and k are rotated by the WebAssembly rope.apply() and checked
// (checks/invariants.js):
//   pair norm     |R(m theta_i) x_i| = s |x_i|      (s = rope.attentionScaling)
//   relative      q_m . k_n = q_{m+t} . k_{n+t}      (RoFormer, Su et al. 2021, eq. 16)
//   orthogonal    R(m)^T R(m) = s^2 I
//   reference     apply() against a float64 rotation with theta_i from rope.invFreq(L)

import { t, formatNumber } from '../i18n/index.js';
import { invariantChecks, TOLERANCE } from '../checks/invariants.js';
import { toCsv } from '../lib/export.js';
import { ICONS } from '../lib/icons.js';
import { MAX_POSITION } from '../lib/validate.js';

const SHIFT = 4096; // t, the common shift of both positions

/** Returns the shift t: +4096 while m + t and n + t stay int32 positions, else a shift downwards that stops at 0. */
export function shiftFor(m, n) {
  if (Math.max(m, n) + SHIFT <= MAX_POSITION) return SHIFT;
  return 0 - Math.min(SHIFT, m, n); // 0 − 0 keeps the shift a plain 0, not −0
}

const BADGES = [
  ['norm', 'invariants.norm'],
  ['relative', 'invariants.relative'],
  ['orthogonal', 'invariants.orthogonal'],
  ['reference', 'invariants.reference'],
];

let list = null;
let positionsText = null;
let toggle = null;
let tally = null;
let section = null;
let last = null;

export default {
  id: 'invariants',
  titleKey: 'invariants.title',
  explainKey: 'invariants.explain',
  deviationKey: 'invariants.deviationWhat',
  deps: ['m', 'n', 'seed'],
  sticky: true,
  png: false,

  mount(body) {
    body.innerHTML = `
      <ul class="badges" data-role="badges"></ul>
      <p class="positions" data-role="positions" id="live-checks-details"></p>`;
    list = body.querySelector('[data-role=badges]');
    positionsText = body.querySelector('[data-role=positions]');
    section = body.closest('section');
    const head = section.querySelector('.panel-head');
    head.querySelector('h2').insertAdjacentHTML('afterend', `
      <span class="tally" data-role="tally"></span>
      <button type="button" class="small details-toggle" data-role="toggle" aria-expanded="false" aria-controls="panel-invariants"></button>`);
    tally = head.querySelector('[data-role=tally]');
    toggle = head.querySelector('[data-role=toggle]');
    toggle.addEventListener('click', () => {
      section.classList.toggle('expanded');
      this.showToggle();
    });
  },

  /** Labels the details toggle for the current state and language. */
  showToggle() {
    const open = section.classList.contains('expanded');
    toggle.setAttribute('aria-expanded', String(open));
    toggle.textContent = t(open ? 'invariants.hideDetails' : 'invariants.showDetails');
  },

  render(state, rope, ctx) {
    const m = state.m;
    const n = state.n;
    const shift = shiftFor(m, n);
    const result = invariantChecks(rope, { m, n, shift, seed: (state.seed + 1) >>> 0, seqLen: ctx.seqLen, tolerance: TOLERANCE });
    last = {
      m,
      n,
      shift,
      seqLen: ctx.seqLen,
      tolerance: TOLERANCE,
      normDeviation: result.norm.value,
      normHolds: result.norm.holds,
      scoreNear: result.relative.scoreNear,
      scoreShifted: result.relative.scoreShifted,
      relativeDeviation: result.relative.value,
      relativeHolds: result.relative.holds,
      orthogonalDeviation: result.orthogonal.value,
      orthogonalHolds: result.orthogonal.holds,
      referenceDeviation: result.reference.value,
      referenceHolds: result.reference.holds,
      badges: Object.fromEntries(BADGES.map(([id]) => [id, { holds: result[id].holds, value: result[id].value }])),
    };
    positionsText.textContent = t('invariants.positions', { m, n, t: shift, tol: formatNumber(TOLERANCE, 1) });
    const passing = BADGES.filter(([id]) => result[id].holds).length;
    tally.className = `tally ${passing === BADGES.length ? 'pass' : 'fail'}`;
    tally.innerHTML = `${passing === BADGES.length ? ICONS.check : ICONS.cross} ${t('invariants.tally', { pass: passing, total: BADGES.length })}`;
    this.showToggle();
    list.innerHTML = BADGES.map(([id, key]) => {
      const { holds, value } = result[id];
      return `<li class="badge ${holds ? 'pass' : 'fail'}" data-badge="${id}">
        <span class="mark" aria-hidden="true">${holds ? ICONS.check : ICONS.cross}</span>
        <span><strong>${t(key)}</strong> <span class="visually-hidden">${t(holds ? 'invariants.pass' : 'invariants.fail')}</span>
        <small>${t('invariants.detail', { value: formatNumber(value, 2), tol: formatNumber(TOLERANCE, 1) })}</small></span>
      </li>`;
    }).join('');
    return last;
  },

  csv(data) {
    return toCsv(['check', 'deviation', 'tolerance', 'holds', 'm', 'n', 'shift'],
      BADGES.map(([id]) => [id, data.badges[id].value, data.tolerance, data.badges[id].holds, data.m, data.n, data.shift]));
  },

  summary() {
    if (!last) return '';
    const word = (holds) => t(holds ? 'invariants.pass' : 'invariants.fail');
    return t('invariants.summary', {
      norm: word(last.normHolds),
      relative: word(last.relativeHolds),
      orthogonal: word(last.orthogonalHolds),
      reference: word(last.referenceHolds),
    });
  },
};
