// Page controller: loads the WebAssembly module, turns the state (preset +
// overrides) into a Rope, renders each panel, and keeps the URL, language
// and playback in step. Exposes window.ropeViz for tests: the state, a
// `ready` promise, and the numbers each panel drew under `panels[id]`.

import { loadRopeModule, ropeOptionsFromConfig } from '../rope.js';
import { normalizeOptions } from '../options.js';
import { readUrl, state, writeUrl } from './state.js';
import { loadPresetConfig } from './presets.js';
import { formatNumber, initialLanguage, language, setLanguage, t } from './i18n/index.js';
import { mountSettings, showSettings, typeDefaults } from './settings.js';
import { configureCharts } from './lib/charts.js';
import { contextLengths } from './lib/context.js';
import frequencies from './panels/frequencies.js';
import rotation from './panels/rotation.js';
import heatmap from './panels/heatmap.js';
import decay from './panels/decay.js';
import wavelengths from './panels/wavelengths.js';
import invariants from './panels/invariants.js';

const PANELS = [frequencies, rotation, heatmap, decay, wavelengths, invariants];
const MIN_SLIDER_POSITIONS = 4096;

let ropeModule = null;
let rope = null;
let defaultRope = null;
let context = null; // {seqLen, maxPosition, defaultRope} passed to panels
let settingsStatus = {};
let animationFrame = 0;
let buildCounter = 0;

const viz = {
  state,
  ready: null,
  panels: {}, // panel id -> the numbers it last drew
  rope: null, // options and derived values of the rope in use
  errors: [], // settings rejected by createRope, newest last
  setState: (patch) => setState(patch),
  setLanguage: (lang) => switchLanguage(lang),
  choosePreset: (id) => choosePreset(id),
  setOverride: (name, value) => setOverride(name, value),
};
window.ropeViz = viz;

function translateStatic() {
  document.title = t('page.title');
  for (const element of document.querySelectorAll('[data-i18n]')) {
    element.textContent = t(element.dataset.i18n);
  }
  const button = document.getElementById('lang-switch');
  button.textContent = t('lang.switch');
  button.setAttribute('aria-label', t('lang.switchLabel'));
  button.lang = language() === 'en' ? 'zh-CN' : 'en';
  if (ropeModule) document.getElementById('backend').textContent = t('page.backend', { backend: ropeModule.backend });
}

function mountPanels() {
  const main = document.getElementById('panels');
  for (const panel of PANELS) {
    const section = document.createElement('section');
    section.className = 'panel';
    section.id = `panel-${panel.id}`;
    section.setAttribute('aria-labelledby', `panel-${panel.id}-title`);
    section.innerHTML = `
      <h2 id="panel-${panel.id}-title" data-i18n="${panel.titleKey}"></h2>
      <p class="explain" data-i18n="${panel.explainKey}"></p>
      <div class="panel-body"></div>
      <p class="summary" aria-live="polite"></p>
      <p class="error" role="alert" hidden></p>`;
    main.append(section);
    panel.mount(section.querySelector('.panel-body'), controller);
  }
}

/** Everything the panels and the settings form may call. */
const controller = {
  state,
  setState: (patch) => setState(patch),
  togglePlay: () => setState({ playing: !state.playing }),
  choosePreset: (id) => choosePreset(id),
  setOverride: (name, value) => setOverride(name, value),
  setSeqLen: (seqLen) => rebuild(() => { state.seqLen = seqLen; }),
};

function renderPanel(panel) {
  const section = document.getElementById(`panel-${panel.id}`);
  const errorEl = section.querySelector('.error');
  try {
    viz.panels[panel.id] = panel.render(state, rope, context);
    errorEl.hidden = true;
  } catch (error) {
    errorEl.hidden = false;
    errorEl.textContent = error.message;
    return;
  }
  const summary = panel.summary(state);
  const summaryEl = section.querySelector('.summary');
  summaryEl.textContent = summary;
  summaryEl.setAttribute('aria-live', state.playing ? 'off' : 'polite');
  for (const canvas of section.querySelectorAll('canvas')) {
    canvas.setAttribute('role', 'img');
    if (!panel.ownLabels) canvas.setAttribute('aria-label', summary);
  }
}

function renderAll() {
  if (!rope) return;
  for (const panel of PANELS) renderPanel(panel);
}

function setState(patch) {
  const changed = Object.keys(patch).filter((key) => state[key] !== patch[key]);
  Object.assign(state, patch);
  if (changed.includes('playing')) {
    rotation.showPlaying(state.playing);
    if (state.playing) startPlayback(); else stopPlayback();
  }
  if (rope) {
    for (const panel of PANELS) {
      if (panel.deps.some((key) => changed.includes(key))) renderPanel(panel);
    }
  }
  writeUrl();
  return Promise.resolve(viz);
}

function startPlayback() {
  cancelAnimationFrame(animationFrame);
  let previous = performance.now();
  let carry = 0;
  const tick = (now) => {
    if (!state.playing) return;
    carry += ((now - previous) / 1000) * state.speed;
    previous = now;
    const steps = Math.floor(carry);
    if (steps > 0 && context) {
      carry -= steps;
      const m = state.m + steps > context.maxPosition ? 0 : state.m + steps;
      setState({ m });
    }
    animationFrame = requestAnimationFrame(tick);
  };
  animationFrame = requestAnimationFrame(tick);
}

function stopPlayback() {
  cancelAnimationFrame(animationFrame);
  animationFrame = 0;
  for (const el of document.querySelectorAll('.summary')) el.setAttribute('aria-live', 'polite');
}

/** Returns the merged createRope options for the state, and a notice when values had to be filled in. */
async function effectiveOptions() {
  const config = await loadPresetConfig(state.preset);
  const preset = normalizeOptions(ropeOptionsFromConfig(config));
  const merged = { ...preset, ...state.overrides };
  // A new head dim keeps the preset's rotary fraction unless rotaryDim is set too.
  if ('headDim' in state.overrides && !('rotaryDim' in state.overrides) && Number.isInteger(merged.headDim)) {
    const fraction = preset.rotaryDim / preset.headDim;
    merged.rotaryDim = Math.max(2, 2 * Math.floor((merged.headDim * fraction) / 2));
  }
  let notice = '';
  if (merged.ropeType === 'longrope') {
    const nPairs = Math.floor(merged.rotaryDim / 2);
    if (!(merged.shortFactor?.length === nPairs && merged.longFactor?.length === nPairs)) {
      merged.shortFactor = new Array(nPairs).fill(1);
      merged.longFactor = new Array(nPairs).fill(1);
      notice = t('settings.longropeReset', { pairs: nPairs });
    }
  }
  for (const key of Object.keys(merged)) if (merged[key] === undefined || merged[key] === null) delete merged[key];
  return { options: merged, notice };
}

/** Applies `mutate` to the state, rebuilds the Rope, and re-renders everything. */
async function rebuild(mutate = () => {}) {
  mutate();
  const build = ++buildCounter;
  const { options, notice } = await effectiveOptions();
  if (build !== buildCounter) return viz; // a newer edit started meanwhile
  let next;
  let nextDefault;
  try {
    next = ropeModule.createRope(options);
    nextDefault = ropeModule.createRope({ headDim: next.headDim, rotaryDim: next.rotaryDim, base: next.base, pairing: next.pairing });
  } catch (error) {
    next?.free();
    viz.errors.push(error.message);
    settingsStatus = { notice, error: t('settings.error', { message: error.message }) };
    showSettings(state, options, { ...settingsStatus, summary: viz.rope ? describeRope() : '' });
    document.body.classList.add('stale');
    writeUrl();
    return viz;
  }
  rope?.free();
  defaultRope?.free();
  rope = next;
  defaultRope = nextDefault;
  const { training, extended } = contextLengths(rope.options);
  context = {
    seqLen: state.seqLen ?? rope.originalMaxPositionEmbeddings ?? rope.maxPositionEmbeddings ?? undefined,
    maxPosition: Math.max(MIN_SLIDER_POSITIONS, training ?? 0, extended ?? 0),
    defaultRope,
  };
  viz.rope = {
    options: { ...rope.options, shortFactor: rope.options.shortFactor && Array.from(rope.options.shortFactor), longFactor: rope.options.longFactor && Array.from(rope.options.longFactor) },
    ropeType: rope.ropeType,
    headDim: rope.headDim,
    rotaryDim: rope.rotaryDim,
    attentionScaling: rope.attentionScaling,
    backend: rope.backend,
    seqLen: context.seqLen,
    trainingContext: training,
    extendedContext: extended,
  };
  settingsStatus = { notice, error: '' };
  document.body.classList.remove('stale');
  showSettings(state, rope.options, { ...settingsStatus, summary: describeRope() });
  renderAll();
  writeUrl();
  return viz;
}

function describeRope() {
  return t('settings.summary', {
    type: t(`type.${rope.ropeType}`),
    pairs: rope.rotaryDim / 2,
    rotaryDim: rope.rotaryDim,
    headDim: rope.headDim,
    base: formatNumber(rope.base, 6),
    scaling: formatNumber(rope.attentionScaling, 4),
  });
}

function choosePreset(id) {
  return rebuild(() => {
    state.preset = id;
    state.overrides = {};
    state.seqLen = null;
    state.pairs = null;
  });
}

function setOverride(name, value) {
  return rebuild(() => {
    if (value === undefined) delete state.overrides[name];
    else state.overrides[name] = value;
    if (name === 'ropeType') {
      const current = { ...(viz.rope?.options ?? {}), ...state.overrides };
      Object.assign(state.overrides, typeDefaults(value, current));
    }
  });
}

function switchLanguage(lang) {
  state.lang = setLanguage(lang);
  translateStatic();
  if (rope) showSettings(state, rope.options, { ...settingsStatus, summary: describeRope() });
  renderAll();
  return Promise.resolve(viz);
}

async function start() {
  readUrl();
  state.lang = setLanguage(initialLanguage());
  document.getElementById('lang-switch').addEventListener('click', () => switchLanguage(language() === 'en' ? 'zh-CN' : 'en'));
  configureCharts();
  mountSettings(document.getElementById('settings-form'), controller);
  mountPanels();
  translateStatic();
  ropeModule = await loadRopeModule();
  translateStatic();
  document.body.classList.remove('loading');
  await rebuild();

  const reducedMotion = window.matchMedia('(prefers-reduced-motion: reduce)');
  reducedMotion.addEventListener('change', () => { if (reducedMotion.matches) setState({ playing: false }); });
  if (!state.test && !reducedMotion.matches) setState({ playing: true });
  return viz;
}

viz.ready = start().catch((error) => {
  const banner = document.getElementById('fatal');
  banner.hidden = false;
  banner.textContent = error.message;
  throw error;
});
