// Panel 2: pair i of a query or key rotates by the angle m·θᵢ, so its
// direction is the point (cos m·θᵢ, sin m·θᵢ) on the unit circle
// (RoFormer, Su et al. 2021, eq. 13). The points come from rope.table(),
// divided by rope.attentionScaling because table() already includes it.

import { t, formatNumber } from '../i18n/index.js';
import { OKABE_ITO, SERIES, withAlpha } from '../lib/colors.js';
import { angleOf, pairDims } from '../lib/context.js';
import { SPEEDS } from '../state.js';

const TRAIL = 12; // earlier positions drawn as fading dots
const SIZE = 190; // CSS pixels per circle canvas

let elements = null;
let last = null;

/** Returns the pairs to draw: the chosen ones that exist, else fastest, middle and slowest. */
export function pairsToShow(state, nPairs) {
  const chosen = (state.pairs ?? []).filter((i) => i < nPairs);
  if (chosen.length > 0) return chosen;
  return [...new Set([0, Math.floor(nPairs / 2), nPairs - 1])];
}

function drawCircle(canvas, color, trail) {
  const ratio = window.devicePixelRatio || 1;
  canvas.width = SIZE * ratio;
  canvas.height = SIZE * ratio;
  const g = canvas.getContext('2d');
  g.setTransform(ratio, 0, 0, ratio, 0, 0);
  g.clearRect(0, 0, SIZE, SIZE);

  const c = SIZE / 2;
  const r = SIZE / 2 - 16;
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
  g.fillStyle = '#666';
  g.font = '11px system-ui, sans-serif';
  g.fillText('cos', c + r - 10, c + 14);
  g.fillText('sin', c + 4, c - r - 4);

  // y grows downwards on a canvas, so sin is negated.
  trail.forEach(([x, y], k) => {
    const current = k === trail.length - 1;
    g.fillStyle = current ? color : withAlpha(color, 0.12 + (0.5 * k) / trail.length);
    if (current) {
      g.strokeStyle = color;
      g.lineWidth = 2.5;
      g.beginPath();
      g.moveTo(c, c);
      g.lineTo(c + r * x, c - r * y);
      g.stroke();
    }
    g.beginPath();
    g.arc(c + r * x, c - r * y, current ? 6 : 3.5, 0, 2 * Math.PI);
    g.fill();
  });
}

export default {
  id: 'rotation',
  titleKey: 'rotation.title',
  explainKey: 'rotation.explain',
  deps: ['m', 'pairs'],
  ownLabels: true, // each circle canvas gets its own aria-label

  mount(body, api) {
    body.innerHTML = `
      <div class="controls">
        <button type="button" class="play" data-role="play" aria-pressed="false"></button>
        <label class="grow"><span data-i18n="common.position"></span>
          <input type="range" min="0" step="1" data-role="slider"></label>
        <label><span class="visually-hidden" data-i18n="common.position"></span>
          <input type="number" min="0" step="1" data-role="position" inputmode="numeric"></label>
        <label><span data-i18n="common.speed"></span>
          <select data-role="speed">${SPEEDS.map((s) => `<option value="${s}">${s}</option>`).join('')}</select></label>
        <label><span data-i18n="rotation.pairs"></span>
          <input type="text" data-role="pairs" size="10" inputmode="numeric" pattern="[0-9, ]*"></label>
      </div>
      <div class="circles" data-role="circles"></div>`;
    elements = {
      play: body.querySelector('[data-role=play]'),
      slider: body.querySelector('[data-role=slider]'),
      position: body.querySelector('[data-role=position]'),
      speed: body.querySelector('[data-role=speed]'),
      pairs: body.querySelector('[data-role=pairs]'),
      circles: body.querySelector('[data-role=circles]'),
    };
    elements.play.addEventListener('click', () => api.togglePlay());
    elements.slider.addEventListener('input', () => api.setState({ m: Number(elements.slider.value), playing: false }));
    elements.position.addEventListener('change', () => {
      const m = Number(elements.position.value);
      if (Number.isInteger(m) && m >= 0) api.setState({ m, playing: false });
    });
    elements.speed.addEventListener('change', () => api.setState({ speed: Number(elements.speed.value) }));
    elements.pairs.addEventListener('change', () => {
      const list = elements.pairs.value.split(/[\s,]+/).filter(Boolean).map(Number)
        .filter((i) => Number.isInteger(i) && i >= 0).slice(0, 4);
      api.setState({ pairs: list.length > 0 ? list : null });
    });
    this.canvases = [];
  },

  /** Updates the play button after a play or pause without redrawing the circles. */
  showPlaying(playing) {
    if (!elements) return;
    elements.play.textContent = playing ? `⏸ ${t('common.pause')}` : `▶ ${t('common.play')}`;
    elements.play.setAttribute('aria-pressed', String(playing));
  },

  render(state, rope, ctx) {
    const nPairs = rope.rotaryDim / 2;
    const pairs = pairsToShow(state, nPairs);
    const positions = [];
    for (let p = Math.max(0, state.m - TRAIL + 1); p <= state.m; p++) positions.push(p);
    const { cos, sin } = rope.table(positions, ctx.seqLen);
    const invFreq = rope.invFreq(ctx.seqLen);
    const scale = rope.attentionScaling;

    this.showPlaying(state.playing);
    elements.slider.max = String(ctx.maxPosition);
    elements.position.max = String(ctx.maxPosition);
    elements.slider.value = String(state.m);
    if (document.activeElement !== elements.position) elements.position.value = String(state.m);
    elements.speed.value = String(state.speed);
    if (document.activeElement !== elements.pairs) elements.pairs.value = pairs.join(', ');

    // Reuse the figures when the pair list is unchanged, so focus and layout stay put while playing.
    const key = pairs.join(',');
    if (elements.circles.dataset.pairs !== key) {
      elements.circles.dataset.pairs = key;
      elements.circles.innerHTML = pairs.map(() => `
        <figure class="circle"><canvas style="width:${SIZE}px;height:${SIZE}px"></canvas>
          <figcaption><strong></strong><span></span></figcaption></figure>`).join('');
    }
    const figures = [...elements.circles.querySelectorAll('figure')];
    this.canvases = figures.map((f) => f.querySelector('canvas'));

    const rows = positions.length;
    const items = pairs.map((i, index) => {
      const trail = positions.map((_, row) => [cos[row * nPairs + i] / scale, sin[row * nPairs + i] / scale]);
      const [x, y] = trail[rows - 1];
      const angle = angleOf(x, y);
      const color = SERIES[index % SERIES.length];
      drawCircle(this.canvases[index], color, trail);
      const dims = pairDims(i, rope.rotaryDim, rope.pairing);
      const caption = figures[index].querySelector('figcaption');
      caption.querySelector('strong').textContent = t('rotation.pairLabel', { i, dims: dims.join(', ') });
      caption.querySelector('strong').style.color = color === OKABE_ITO.orange ? '#a66f00' : color;
      caption.querySelector('span').textContent = t('rotation.detail', {
        theta: formatNumber(invFreq[i]),
        wavelength: formatNumber((2 * Math.PI) / invFreq[i]),
        angle: formatNumber(angle, 3),
      });
      const label = t('rotation.item', { i, angle: formatNumber(angle, 3), cos: formatNumber(x, 3), sin: formatNumber(y, 3) });
      this.canvases[index].setAttribute('aria-label', label);
      return { index: i, dims, theta: invFreq[i], cos: x, sin: y, angle };
    });
    last = { m: state.m, seqLen: ctx.seqLen, attentionScaling: scale, pairs: items };
    return last;
  },

  summary() {
    if (!last) return '';
    const items = last.pairs.map((p) => t('rotation.item', {
      i: p.index, angle: formatNumber(p.angle, 3), cos: formatNumber(p.cos, 3), sin: formatNumber(p.sin, 3),
    }));
    return t('rotation.summary', { m: last.m, items: items.join('; ') });
  },
};
