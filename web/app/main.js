// Page controller: loads the WebAssembly module, turns the state (preset or
// pasted config + overrides) into a Rope, renders each panel when its inputs
// change, and keeps the URL, language and playback in step.
//
// window.ropeViz, for tests and curious readers:
//   state                 the page state (see state.js)
//   ready                 a promise that resolves once the first render is done
//   rope                  options and derived values of the rope in use
//   errors                settings or configs rejected by the library, newest last
//   panels[id]            the numbers each panel last drew; ids: invariants, frequencies,
//                         wavelengths, angles, rotation, heatmap, decay, scaling, buglab,
//                         precision, spiral
//   timings               the last redraw: { total, visible, panels: { id: ms }, rendered: [ids],
//                         deferred: [ids], reason }. Panels on screen are drawn at once (`visible` ms),
//                         the others right after, one per task; `total` adds them up
//   checks                the DOM-free self-check modules (checks/index.js), runAll(rope) included
//   setState(patch), choosePreset(id), setOverride(name, value), setLanguage(lang),
//   loadConfig(textOrObject) -> Promise<{ ok, error? }>, exportCsv(id) -> string, panelIds

import { loadRopeModule, ropeOptionsFromConfig } from '../rope.js';
import { normalizeOptions } from '../options.js';
import { CUSTOM_PRESET, readUrl, state, writeUrl } from './state.js';
import { loadPresetConfig } from './presets.js';
import { formatNumber, initialLanguage, language, setLanguage, t } from './i18n/index.js';
import { mountSettings, showConfigStatus, showSettings, typeDefaults } from './settings.js';
import { configureCharts } from './lib/charts.js';
import { contextLengths } from './lib/context.js';
import { savePanelPng, saveCsv } from './lib/export.js';
import * as checks from './checks/index.js';
import invariants from './panels/invariants.js';
import frequencies from './panels/frequencies.js';
import wavelengths from './panels/wavelengths.js';
import angles from './panels/angles.js';
import rotation from './panels/rotation.js';
import heatmap from './panels/heatmap.js';
import decay from './panels/decay.js';
import scaling from './panels/scaling.js';
import buglab from './panels/buglab.js';
import precision from './panels/precision.js';
import spiral from './panels/spiral.js';

const PANELS = [invariants, frequencies, wavelengths, angles, rotation, heatmap, decay, scaling, buglab, precision, spiral];
const MIN_SLIDER_POSITIONS = 4096;

let ropeModule = null;
let rope = null;
let defaultRope = null;
let context = null; // passed to every panel's render
let settingsStatus = {};
let givenFields = new Set(); // createRope options the config or the reader set (others show "not set")
let animationFrame = 0;
let buildCounter = 0;

const viz = {
  state,
  ready: null,
  panels: {},
  rope: null,
  errors: [],
  timings: { total: 0, visible: 0, panels: {}, rendered: [], deferred: [], reason: '' },
  checks,
  panelIds: PANELS.map((panel) => panel.id),
  setState: (patch) => setState(patch),
  setLanguage: (lang) => switchLanguage(lang),
  choosePreset: (id) => choosePreset(id),
  setOverride: (name, value) => setOverride(name, value),
  loadConfig: (config) => loadConfig(config),
  exportCsv: (id) => panelCsv(PANELS.find((panel) => panel.id === id)),
};
window.ropeViz = viz;

function translateStatic() {
  document.title = t('page.title');
  for (const element of document.querySelectorAll('[data-i18n]')) {
    element.textContent = t(element.dataset.i18n);
  }
  for (const element of document.querySelectorAll('[data-i18n-label]')) {
    element.setAttribute('aria-label', t(element.dataset.i18nLabel, { title: element.dataset.title ? t(element.dataset.title) : '' }));
  }
  for (const element of document.querySelectorAll('[data-i18n-placeholder]')) {
    element.placeholder = t(element.dataset.i18nPlaceholder);
  }
  const button = document.getElementById('lang-switch');
  button.textContent = t('lang.switch');
  button.setAttribute('aria-label', t('lang.switchLabel'));
  button.lang = language() === 'en' ? 'zh-CN' : 'en';
  if (ropeModule) document.getElementById('backend').textContent = t('page.backend', { backend: ropeModule.backend });
}

function panelCsv(panel) {
  if (!panel || !panel.csv || !viz.panels[panel.id]) return '';
  return panel.csv(viz.panels[panel.id]);
}

function sectionHtml(panel) {
  return `
    <div class="panel-head">
      <h2 id="panel-${panel.id}-title" data-i18n="${panel.titleKey}"></h2>
      <div class="export" role="group">
        ${panel.png === false ? '' : `<button type="button" class="small" data-export="png" data-title="${panel.titleKey}" data-i18n-label="export.pngLabel">PNG</button>`}
        ${panel.csv ? `<button type="button" class="small" data-export="csv" data-title="${panel.titleKey}" data-i18n-label="export.csvLabel">CSV</button>` : ''}
      </div>
    </div>
    <p class="explain" data-i18n="${panel.explainKey}"></p>
    <div class="panel-body"></div>
    <p class="deviation"></p>
    <p class="summary" aria-live="polite"></p>
    <p class="error" role="alert" hidden></p>`;
}

function mountPanels() {
  const main = document.getElementById('panels');
  for (const panel of PANELS) {
    const section = document.createElement('section');
    section.className = `panel panel-${panel.id}`;
    section.id = `panel-${panel.id}`;
    section.setAttribute('aria-labelledby', `panel-${panel.id}-title`);
    section.innerHTML = sectionHtml(panel);
    if (panel.sticky) {
      section.classList.add('sticky-bar');
      document.getElementById('badge-bar').append(section);
    } else {
      main.append(section);
    }
    panel.mount(section.querySelector('.panel-body'), controller);
    for (const button of section.querySelectorAll('[data-export]')) {
      button.addEventListener('click', () => {
        const name = `rope-${panel.id}-${state.preset}`;
        if (button.dataset.export === 'csv') saveCsv(panelCsv(panel), `${name}.csv`);
        else savePanelPng(section.querySelector('.panel-body'), `${name}.png`);
      });
    }
  }
}

/** Everything the panels and the settings form may call. */
const controller = {
  state,
  setState: (patch) => setState(patch),
  togglePlay: () => setState({ playing: !state.playing }),
  choosePreset: (id) => choosePreset(id),
  setOverride: (name, value) => setOverride(name, value),
  setSeqLen: (seqLen) => { showConfigStatus({}); return rebuild(() => { state.seqLen = seqLen; }); },
  clearConfigStatus: () => showConfigStatus({}),
  loadConfig: (text) => loadConfig(text),
  module: () => ropeModule,
};

function renderPanel(panel) {
  const section = document.getElementById(`panel-${panel.id}`);
  const errorEl = section.querySelector('.error');
  const started = performance.now();
  try {
    viz.panels[panel.id] = panel.render(state, rope, context);
    errorEl.hidden = true;
  } catch (error) {
    errorEl.hidden = false;
    errorEl.textContent = t('common.panelError', { message: error.message });
    console.warn(`panel ${panel.id}: ${error.message}`);
    return performance.now() - started;
  }
  const data = viz.panels[panel.id];
  const deviationEl = section.querySelector('.deviation');
  if (data && typeof data.referenceDeviation === 'number') {
    deviationEl.hidden = false;
    deviationEl.textContent = t('common.deviation', {
      value: formatNumber(data.referenceDeviation, 2),
      what: t(panel.deviationKey ?? 'common.deviationWhat'),
    });
  } else {
    deviationEl.hidden = true;
  }
  const summary = panel.summary(state);
  const summaryEl = section.querySelector('.summary');
  summaryEl.textContent = summary;
  summaryEl.setAttribute('aria-live', state.playing ? 'off' : 'polite');
  for (const canvas of section.querySelectorAll('canvas')) {
    canvas.setAttribute('role', 'img');
    if (!panel.ownLabels || !canvas.hasAttribute('aria-label')) canvas.setAttribute('aria-label', summary);
  }
  return performance.now() - started;
}

function onScreen(panel) {
  if (panel.sticky) return true;
  const box = document.getElementById(`panel-${panel.id}`).getBoundingClientRect();
  return box.bottom > 0 && box.top < window.innerHeight;
}

const pending = new Set(); // panels waiting for their deferred redraw
let draining = null;

/** Redraws the deferred panels one per task, so input stays responsive; resolves when all are done. */
function drain() {
  if (!draining) {
    draining = new Promise((resolve) => {
      const step = () => {
        const next = pending.values().next().value;
        if (!next) {
          draining = null;
          resolve(viz);
          return;
        }
        pending.delete(next);
        const ms = renderPanel(next);
        viz.timings.panels[next.id] = ms;
        viz.timings.total += ms;
        viz.timings.rendered.push(next.id);
        setTimeout(step, 0);
      };
      setTimeout(step, 0);
    });
  }
  return draining;
}

/**
 * Redraws `list`: the panels on screen at once, the others right after in
 * separate tasks. The promise resolves when every panel of the list is drawn.
 */
function renderPanels(list, reason) {
  if (!rope) return Promise.resolve(viz);
  const started = performance.now();
  const now = list.filter(onScreen);
  const later = list.filter((panel) => !now.includes(panel));
  const times = {};
  for (const panel of now) {
    pending.delete(panel);
    times[panel.id] = renderPanel(panel);
  }
  const visible = performance.now() - started;
  viz.timings = { total: visible, visible, panels: times, rendered: now.map((p) => p.id), deferred: later.map((p) => p.id), reason };
  for (const panel of later) pending.add(panel);
  return pending.size > 0 ? drain() : (draining ?? Promise.resolve(viz));
}

function renderAll(reason = 'all') {
  return renderPanels(PANELS, reason);
}

function setState(patch) {
  const changed = Object.keys(patch).filter((key) => state[key] !== patch[key]);
  Object.assign(state, patch);
  if (changed.includes('playing')) {
    rotation.showPlaying(state.playing);
    if (state.playing) startPlayback(); else stopPlayback();
  }
  let done = Promise.resolve(viz);
  if (rope && changed.length > 0) {
    done = renderPanels(PANELS.filter((panel) => panel.deps.some((key) => changed.includes(key))), changed.join(','));
  }
  writeUrl();
  return done;
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
      const wrap = state.m + steps > context.maxPosition;
      if (state.playMode === 'both') {
        setState(wrap ? { m: state.m - state.n, n: 0 } : { m: state.m + steps, n: state.n + steps });
      } else {
        setState({ m: wrap ? 0 : state.m + steps });
      }
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

async function baseConfig() {
  if (state.preset === CUSTOM_PRESET) return JSON.parse(state.customConfig);
  return loadPresetConfig(state.preset);
}

/** Returns the merged createRope options for the state, and a notice when values had to be filled in. */
async function effectiveOptions() {
  const config = await baseConfig();
  const raw = ropeOptionsFromConfig(config);
  const preset = normalizeOptions(raw);
  const merged = { ...preset, ...state.overrides };
  const given = new Set(Object.keys(raw).filter((key) => raw[key] !== undefined && raw[key] !== null));
  for (const key of Object.keys(state.overrides)) given.add(key);
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
  return { options: merged, notice, given };
}

/** Applies `mutate` to the state, rebuilds the Rope, and re-renders everything. */
async function rebuild(mutate = () => {}) {
  mutate();
  const build = ++buildCounter;
  let options;
  let notice;
  let given;
  try {
    ({ options, notice, given } = await effectiveOptions());
  } catch (error) {
    viz.errors.push(error.message);
    settingsStatus = { notice: '', error: t('settings.error', { message: error.message }) };
    showSettings(state, viz.rope?.options ?? {}, { ...settingsStatus, given: givenFields, summary: '' });
    document.body.classList.add('stale');
    writeUrl();
    return viz;
  }
  if (build !== buildCounter) return viz; // a newer edit started meanwhile
  givenFields = given;
  let next;
  let nextDefault;
  try {
    next = ropeModule.createRope(options);
    nextDefault = ropeModule.createRope({ headDim: next.headDim, rotaryDim: next.rotaryDim, base: next.base, pairing: next.pairing });
  } catch (error) {
    next?.free();
    viz.errors.push(error.message);
    settingsStatus = { notice, error: t('settings.error', { message: error.message }) };
    showSettings(state, options, { ...settingsStatus, given: givenFields, summary: viz.rope ? describeRope() : '' });
    document.body.classList.add('stale');
    writeUrl();
    return viz;
  }
  rope?.free();
  defaultRope?.free();
  rope = next;
  defaultRope = nextDefault;
  const { training, extended } = contextLengths(rope.options);
  const seqLen = state.seqLen ?? rope.originalMaxPositionEmbeddings ?? rope.maxPositionEmbeddings ?? undefined;
  context = {
    seqLen,
    maxPosition: Math.max(MIN_SLIDER_POSITIONS, training ?? 0, extended ?? 0),
    defaultRope,
    module: ropeModule,
    training,
    extended,
    referenceTheta: checks.referenceInvFreq(rope.options, seqLen),
  };
  viz.rope = {
    options: { ...rope.options, shortFactor: rope.options.shortFactor && Array.from(rope.options.shortFactor), longFactor: rope.options.longFactor && Array.from(rope.options.longFactor) },
    ropeType: rope.ropeType,
    pairing: rope.pairing,
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
  showSettings(state, rope.options, { ...settingsStatus, given: givenFields, summary: describeRope() });
  writeUrl();
  await renderAll('rope');
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

function resetViews() {
  state.overrides = {};
  state.seqLen = null;
  state.pairs = null;
  state.bugPairing = null;
  state.scaleFactor = null;
  state.scaleContext = null;
  state.scaleLength = null;
  state.scaleLong = null;
}

function choosePreset(id) {
  showConfigStatus({}); // an earlier config's message no longer applies
  return rebuild(() => {
    state.preset = id;
    if (id !== CUSTOM_PRESET) state.customConfig = null;
    resetViews();
  });
}

/**
 * Uses a pasted or dropped config.json (text or object). The library checks
 * it first; a rejected config leaves the page as it was and reports the
 * library's message.
 */
async function loadConfig(input) {
  let config = input;
  if (typeof input === 'string') {
    try {
      config = JSON.parse(input);
    } catch (error) {
      const message = t('settings.jsonError', { message: error.message });
      viz.errors.push(message);
      showConfigStatus({ error: message });
      return { ok: false, error: message };
    }
  }
  try {
    ropeModule.createRope(config).free();
  } catch (error) {
    viz.errors.push(error.message);
    const message = t('settings.configError', { message: error.message });
    showConfigStatus({ error: message });
    return { ok: false, error: error.message };
  }
  showConfigStatus({ ok: t('settings.configOk') });
  await rebuild(() => {
    state.preset = CUSTOM_PRESET;
    state.customConfig = JSON.stringify(config);
    resetViews();
  });
  return { ok: true };
}

function setOverride(name, value) {
  showConfigStatus({});
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
  if (rope) showSettings(state, rope.options, { ...settingsStatus, given: givenFields, summary: describeRope() });
  writeUrl();
  return renderAll('lang');
}

function acceptDrops() {
  const zone = document.body;
  zone.addEventListener('dragover', (event) => {
    if (![...(event.dataTransfer?.types ?? [])].includes('Files')) return;
    event.preventDefault();
    zone.classList.add('dragging');
  });
  zone.addEventListener('dragleave', (event) => {
    if (event.relatedTarget === null) zone.classList.remove('dragging');
  });
  zone.addEventListener('drop', async (event) => {
    const file = event.dataTransfer?.files?.[0];
    zone.classList.remove('dragging');
    if (!file) return;
    event.preventDefault();
    const text = await file.text();
    const area = document.getElementById('config-text');
    if (area) area.value = text;
    document.getElementById('config-details')?.setAttribute('open', '');
    loadConfig(text);
  });
}

async function start() {
  readUrl();
  state.lang = setLanguage(initialLanguage());
  document.getElementById('lang-switch').addEventListener('click', () => switchLanguage(language() === 'en' ? 'zh-CN' : 'en'));
  configureCharts();
  mountSettings(document.getElementById('settings-form'), controller);
  mountPanels();
  acceptDrops();
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
