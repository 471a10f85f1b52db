// Panel 4: pair rotation. Pair i of a query at position m points at angle
// m·θᵢ and the same pair of a key at position n at n·θᵢ (RoFormer, Su et al.
// 2021, eq. 13); their dot product only sees the gap (m − n)·θᵢ (eq. 16).
// Points come from rope.table([…, m, n], L) divided by attentionScaling. The
// score q_m·k_n of seeded random q, k is computed by rope.apply() at (m, n)
// and again after shifting both positions down to (m − b, n − b),
// b = min(m, n): the two agree, which is the relative-position property.

import { t, formatNumber } from '../i18n/index.js';
import { OKABE_ITO, withAlpha } from '../lib/colors.js';
import { angleOf, pairDims } from '../lib/context.js';
import { tableDeviation } from '../checks/reference.js';
import { rotateWithApply } from '../checks/invariants.js';
import { mulberry32, normalVector } from '../lib/prng.js';
import { toCsv } from '../lib/export.js';
import { PLAY_MODES, SPEEDS } from '../state.js';
import { ICONS } from '../lib/icons.js';
import { MAX_POSITION, validatedField } from '../lib/validate.js';

const TRAIL = 12; // earlier positions of q drawn as fading dots
const SIZE = 190; // CSS pixels per circle canvas
const Q_COLOR = OKABE_ITO.blue;
const K_COLOR = OKABE_ITO.orange;
const SHIFTS = [-100, -10, -1, 1, 10, 100, 1000];
const MAX_PAIRS = 6; // circles drawn at most

let elements = null;
let fields = null;
let last = null;

/** Returns the pairs to draw: the chosen ones that exist, else fastest, two middle ones and slowest. */
export function pairsToShow(state, nPairs) {
  const chosen = (state.pairs ?? []).filter((i) => i < nPairs);
  if (chosen.length > 0) return chosen;
  return [...new Set([0, Math.floor(nPairs / 4), Math.floor(nPairs / 2), nPairs - 1])];
}

const wrap = (x) => ((x % (2 * Math.PI)) + 2 * Math.PI) % (2 * Math.PI);

function drawCircle(canvas, trail, kPoint, gap) {
  const ratio = window.devicePixelRatio || 1;
  canvas.width = SIZE * ratio;
  canvas.height = SIZE * ratio;
  const g = canvas.getContext('2d');
  g.setTransform(ratio, 0, 0, ratio, 0, 0);
  g.clearRect(0, 0, SIZE, SIZE);
  const c = SIZE / 2;
  const r = SIZE / 2 - 18;
  g.strokeStyle = '#c8c8c8';
  g.lineWidth = 1;
  g.beginPath();
  g.moveTo(c - r - 8, c); g.lineTo(c + r + 8, c);
  g.moveTo(c, c - r - 8); g.lineTo(c, c + r + 8);
  g.stroke();
  g.strokeStyle = '#555';
  g.lineWidth = 1.5;
  g.beginPath();
  g.arc(c, c, r, 0, 2 * Math.PI);
  g.stroke();

  // The gap (m − n)·θ mod 2π as a counter-clockwise arc from k to q (canvas y grows downwards, so angles are negated).
  const [qx, qy] = trail[trail.length - 1];
  const [kx, ky] = kPoint;
  const kAngle = Math.atan2(ky, kx);
  g.strokeStyle = withAlpha(OKABE_ITO.green, 0.9);
  g.lineWidth = 3;
  g.beginPath();
  g.arc(c, c, r * 0.45, -kAngle, -(kAngle + gap), true);
  g.stroke();

  trail.slice(0, -1).forEach(([x, y], k) => {
    g.fillStyle = withAlpha(Q_COLOR, 0.1 + (0.45 * k) / trail.length);
    g.beginPath();
    g.arc(c + r * x, c - r * y, 3.2, 0, 2 * Math.PI);
    g.fill();
  });
  for (const [x, y, color, square] of [[kx, ky, K_COLOR, true], [qx, qy, Q_COLOR, false]]) {
    g.strokeStyle = color;
    g.fillStyle = color;
    g.lineWidth = 2.5;
    g.beginPath();
    g.moveTo(c, c);
    g.lineTo(c + r * x, c - r * y);
    g.stroke();
    g.beginPath();
    if (square) g.rect(c + r * x - 5.5, c - r * y - 5.5, 11, 11); // k: square, q: disc (shape, not only colour)
    else g.arc(c + r * x, c - r * y, 6, 0, 2 * Math.PI);
    g.fill();
  }
  g.fillStyle = '#333';
  g.font = '12px system-ui, sans-serif';
  g.fillText('q', c + (r + 10) * qx - 3, c - (r + 10) * qy + 4);
  g.fillText('k', c + (r + 10) * kx - 3, c - (r + 10) * ky + 4);
}

export default {
  id: 'rotation',
  titleKey: 'rotation.title',
  explainKey: 'rotation.explain',
  deviationKey: 'rotation.deviationWhat',
  deps: ['m', 'n', 'pairs', 'seed'],
  ownLabels: true, // each circle canvas gets its own aria-label

  mount(body, api) {
    body.innerHTML = `
      <div class="controls">
        <button type="button" class="play" data-role="play" aria-pressed="false"></button>
        <button type="button" data-role="back" data-i18n-label="rotation.stepBack">−1</button>
        <button type="button" data-role="forward" data-i18n-label="rotation.stepForward">+1</button>
        <label class="grow"><span data-i18n="rotation.queryPosition"></span>
          <input type="range" min="0" step="1" data-role="slider"></label>
        <label><span class="visually-hidden" data-i18n="rotation.queryPosition"></span>
          <input type="number" min="0" step="1" data-role="position" inputmode="numeric"></label>
        <label><span data-i18n="rotation.keyPosition"></span>
          <input type="number" min="0" step="1" data-role="key" inputmode="numeric"></label>
        <label><span data-i18n="common.speed"></span>
          <select data-role="speed">${SPEEDS.map((s) => `<option value="${s}">${s}</option>`).join('')}</select></label>
        <label><span data-i18n="rotation.playMode"></span>
          <select data-role="mode">${PLAY_MODES.map((v) => `<option value="${v}" data-i18n="rotation.playMode.${v}"></option>`).join('')}</select></label>
        <label><span data-i18n="rotation.pairs"></span>
          <input type="text" data-role="pairs" size="10" inputmode="numeric" pattern="[0-9, ]*"></label>
      </div>
      <p class="hint" data-role="range-hint"></p>
      <div class="controls shift-row" role="group" aria-labelledby="shift-label">
        <span id="shift-label" class="group-label" data-i18n="rotation.shiftBoth"></span>
        ${SHIFTS.map((d) => `<button type="button" class="small" data-shift="${d}">${d > 0 ? '+' : '−'}${Math.abs(d)}</button>`).join('')}
      </div>
      <p class="score-box" data-role="score" aria-live="polite"></p>
      <div class="circles" data-role="circles"></div>
      <p class="legend-line"><span class="key-q">${ICONS.disc}</span> <span data-i18n="rotation.legendQ"></span> · <span class="key-k">${ICONS.square}</span> <span data-i18n="rotation.legendK"></span> · <span class="key-gap">${ICONS.arc}</span> <span data-i18n="rotation.legendGap"></span></p>`;
    const $ = (role) => body.querySelector(`[data-role=${role}]`);
    elements = {
      play: $('play'), back: $('back'), forward: $('forward'), slider: $('slider'), position: $('position'), key: $('key'),
      speed: $('speed'), mode: $('mode'), pairs: $('pairs'), circles: $('circles'), score: $('score'), rangeHint: $('range-hint'),
    };
    elements.play.addEventListener('click', () => api.togglePlay());
    elements.back.addEventListener('click', () => api.setState({ m: Math.max(0, api.state.m - 1), playing: false }));
    elements.forward.addEventListener('click', () => api.setState({ m: Math.min(MAX_POSITION, api.state.m + 1), playing: false }));
    elements.slider.addEventListener('input', () => api.setState({ m: Number(elements.slider.value), playing: false }));
    const position = { integer: true, min: 0, max: MAX_POSITION };
    fields = {
      m: validatedField(elements.position, {
        labelKey: 'rotation.queryPosition', rule: () => position, current: () => api.state.m,
        apply: (m) => api.setState({ m, playing: false }),
      }),
      n: validatedField(elements.key, {
        labelKey: 'rotation.keyPosition', rule: () => position, current: () => api.state.n,
        apply: (n) => api.setState({ n, playing: false }),
      }),
    };
    elements.speed.addEventListener('change', () => api.setState({ speed: Number(elements.speed.value) }));
    elements.mode.addEventListener('change', () => api.setState({ playMode: elements.mode.value }));
    fields.pairs = validatedField(elements.pairs, {
      labelKey: 'rotation.pairs',
      empty: [],
      parse: (text) => {
        const items = text.split(/[\s,]+/).filter(Boolean);
        if (items.length > MAX_PAIRS || !items.every((x) => /^\d+$/.test(x) && Number(x) < this.nPairs)) return null;
        return [...new Set(items.map(Number))];
      },
      describe: () => t('validate.pairList', { count: MAX_PAIRS, max: this.nPairs - 1 }),
      current: () => this.shownPairs ?? [],
      format: (list) => list.join(', '),
      apply: (list) => api.setState({ pairs: list.length > 0 ? list : null }),
    });
    for (const button of body.querySelectorAll('[data-shift]')) {
      button.addEventListener('click', () => {
        const { m, n } = api.state;
        const d = Math.min(Math.max(Number(button.dataset.shift), -Math.min(m, n)), MAX_POSITION - Math.max(m, n));
        api.setState({ m: api.state.m + d, n: api.state.n + d, playing: false });
      });
    }
    this.canvases = [];
    this.nPairs = 1;
    this.shownPairs = null;
  },

  /** Updates the play button after a play or pause without redrawing the circles. */
  showPlaying(playing) {
    if (!elements) return;
    elements.play.innerHTML = `${playing ? ICONS.pause : ICONS.play} <span>${t(playing ? 'common.pause' : 'common.play')}</span>`;
    elements.play.setAttribute('aria-pressed', String(playing));
  },

  render(state, rope, ctx) {
    const nPairs = rope.rotaryDim / 2;
    const pairs = pairsToShow(state, nPairs);
    const m = state.m;
    const n = state.n;
    const positions = [];
    for (let p = Math.max(0, m - TRAIL + 1); p <= m; p++) positions.push(p);
    positions.push(n);
    const table = rope.table(positions, ctx.seqLen);
    const { cos, sin } = table;
    const invFreq = rope.invFreq(ctx.seqLen);
    const scale = rope.attentionScaling;

    this.showPlaying(state.playing);
    this.nPairs = nPairs;
    this.shownPairs = pairs;
    // The slider covers 0 .. the (extended) context; the box takes any int32 position
    // and the slider then rests at its end.
    elements.slider.max = String(ctx.maxPosition);
    elements.position.max = String(MAX_POSITION);
    elements.key.max = String(MAX_POSITION);
    elements.slider.value = String(Math.min(m, ctx.maxPosition));
    elements.slider.setAttribute('aria-valuetext', String(m));
    elements.rangeHint.textContent = t('rotation.rangeHint', { slider: ctx.maxPosition, max: MAX_POSITION });
    fields.m.sync(m);
    fields.n.sync(n);
    elements.speed.value = String(state.speed);
    elements.mode.value = state.playMode;
    fields.pairs.sync(pairs);

    // Score of seeded q, k at (m, n) and at the same gap shifted to start at 0.
    const random = mulberry32(state.seed >>> 0);
    const q = normalVector(rope.headDim, random);
    const k = normalVector(rope.headDim, random);
    const b = Math.min(m, n);
    const [qm, qShift] = rotateWithApply(rope, q, [m, m - b], ctx.seqLen);
    const [kn, kShift] = rotateWithApply(rope, k, [n, n - b], ctx.seqLen);
    let score = 0;
    let scoreShifted = 0;
    for (let j = 0; j < rope.headDim; j++) { score += qm[j] * kn[j]; scoreShifted += qShift[j] * kShift[j]; }
    elements.score.textContent = t('rotation.score', {
      m, n, score: formatNumber(score, 6), m0: m - b, n0: n - b, shifted: formatNumber(scoreShifted, 6),
      diff: formatNumber(Math.abs(score - scoreShifted), 2),
    });

    const key = pairs.join(',');
    if (elements.circles.dataset.pairs !== key) {
      elements.circles.dataset.pairs = key;
      elements.circles.innerHTML = pairs.map(() => `
        <figure class="circle"><canvas style="width:${SIZE}px;height:${SIZE}px"></canvas>
          <figcaption><strong></strong><span class="detail"></span><span class="angles"></span></figcaption></figure>`).join('');
    }
    const figures = [...elements.circles.querySelectorAll('figure')];
    this.canvases = figures.map((f) => f.querySelector('canvas'));
    const rows = positions.length;
    const items = pairs.map((i, index) => {
      const trail = positions.slice(0, -1).map((_, row) => [cos[row * nPairs + i] / scale, sin[row * nPairs + i] / scale]);
      const kPoint = [cos[(rows - 1) * nPairs + i] / scale, sin[(rows - 1) * nPairs + i] / scale];
      const [x, y] = trail[trail.length - 1];
      const angle = angleOf(x, y);
      const kAngle = angleOf(kPoint[0], kPoint[1]);
      let gap = angle - kAngle; // measured from the two points, in (−π, π]
      if (gap > Math.PI) gap -= 2 * Math.PI;
      if (gap <= -Math.PI) gap += 2 * Math.PI;
      const expectedGap = wrap((m - n) * invFreq[i]);
      drawCircle(this.canvases[index], trail, kPoint, wrap(gap));
      const dims = pairDims(i, rope.rotaryDim, rope.pairing);
      const caption = figures[index].querySelector('figcaption');
      caption.querySelector('strong').textContent = t('rotation.pairLabel', { i, dims: dims.join(', ') });
      caption.querySelector('.detail').textContent = t('rotation.detail', {
        theta: formatNumber(invFreq[i]),
        wavelength: formatNumber((2 * Math.PI) / invFreq[i]),
      });
      caption.querySelector('.angles').textContent = t('rotation.angles', {
        qa: formatNumber(angle, 3), ka: formatNumber(kAngle, 3), gap: formatNumber(expectedGap, 3),
      });
      const label = t('rotation.item', { i, angle: formatNumber(angle, 3), kangle: formatNumber(kAngle, 3), gap: formatNumber(expectedGap, 3) });
      this.canvases[index].setAttribute('aria-label', label);
      return { index: i, dims, theta: invFreq[i], cos: x, sin: y, angle, kCos: kPoint[0], kSin: kPoint[1], kAngle, gap: expectedGap, measuredGap: wrap(gap) };
    });
    last = {
      m, n, seqLen: ctx.seqLen, attentionScaling: scale, pairs: items,
      score, scoreShifted, shiftedTo: [m - b, n - b], scoreDifference: Math.abs(score - scoreShifted),
      referenceDeviation: tableDeviation(table, positions, invFreq, scale),
    };
    return last;
  },

  csv(data) {
    return toCsv(['pair', 'dims', 'theta', 'angle_q_m', 'angle_k_n', 'gap_(m-n)theta_mod_2pi', 'm', 'n'],
      data.pairs.map((p) => [p.index, p.dims.join(' '), p.theta, p.angle, p.kAngle, p.gap, data.m, data.n]));
  },

  summary() {
    if (!last) return '';
    const items = last.pairs.map((p) => t('rotation.item', {
      i: p.index, angle: formatNumber(p.angle, 3), kangle: formatNumber(p.kAngle, 3), gap: formatNumber(p.gap, 3),
    }));
    return t('rotation.summary', { m: last.m, n: last.n, items: items.join(t('common.listSeparator')), score: formatNumber(last.score, 5) });
  },
};
