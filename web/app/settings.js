// The settings form: preset selector, the createRope options of the chosen
// rope type, and a box for pasting (or dropping) a model's config.json.
// Edits become overrides on top of the preset (see state.js); which fields
// show depends on the rope type.

import { PAIRINGS, ROPE_TYPES } from '../rope.js';
import { PRESETS } from './presets.js';
import { CUSTOM_PRESET } from './state.js';
import { t } from './i18n/index.js';

const ALL = ROPE_TYPES;
/** Form fields in display order, with the rope types each one matters to. */
const FIELDS = [
  { name: 'ropeType', types: ALL, choices: ROPE_TYPES, choiceKey: (v) => `type.${v}` },
  { name: 'pairing', types: ALL, choices: PAIRINGS, choiceKey: (v) => `settings.pairing.${v}` },
  { name: 'headDim', types: ALL, step: 2, min: 2 },
  { name: 'rotaryDim', types: ALL, step: 2, min: 2 },
  { name: 'base', types: ALL, step: 'any', min: 1 },
  { name: 'factor', types: ['linear', 'dynamic', 'yarn', 'longrope', 'llama3'], step: 'any', min: 1 },
  { name: 'maxPositionEmbeddings', types: ALL, step: 1, min: 1 },
  { name: 'originalMaxPositionEmbeddings', types: ['yarn', 'longrope', 'llama3'], step: 1, min: 1 },
  { name: 'lowFreqFactor', types: ['llama3'], step: 'any', min: 0 },
  { name: 'highFreqFactor', types: ['llama3'], step: 'any', min: 0 },
  { name: 'betaFast', types: ['yarn'], step: 'any', min: 0 },
  { name: 'betaSlow', types: ['yarn'], step: 'any', min: 0 },
  { name: 'mscale', types: ['yarn'], step: 'any', min: 0 },
  { name: 'mscaleAllDim', types: ['yarn'], step: 'any', min: 0 },
  { name: 'attentionFactor', types: ['yarn', 'longrope'], step: 'any', min: 0 },
  { name: 'truncate', types: ['yarn'], checkbox: true },
  { name: 'seqLen', types: ['dynamic', 'longrope'], step: 1, min: 1, hintKey: 'settings.seqLenHint' },
];

/** Fields the library fills with a neutral value when a config leaves them out; the form shows those as "not set". */
const OPTIONAL = new Set(['mscale', 'mscaleAllDim', 'attentionFactor']);

/** Label key of max_position_embeddings: the extended context only when it extends an original one. */
function maxPositionsLabel(options) {
  const isExtension = options.ropeType && options.ropeType !== 'default'
    && Number.isFinite(options.originalMaxPositionEmbeddings)
    && options.maxPositionEmbeddings > options.originalMaxPositionEmbeddings;
  return isExtension ? 'settings.maxPositionEmbeddings.extended' : 'settings.maxPositionEmbeddings';
}

/**
 * Values a rope type needs that the preset may lack, filled in when the user
 * switches to that type (typical values from the published configs).
 */
export function typeDefaults(ropeType, options) {
  const filled = {};
  const need = (name, value) => { if (options[name] === undefined || options[name] === null) filled[name] = value; };
  if (['linear', 'dynamic', 'yarn'].includes(ropeType)) need('factor', 4);
  if (ropeType === 'dynamic') need('maxPositionEmbeddings', 4096);
  if (ropeType === 'llama3') {
    need('factor', 8);
    need('lowFreqFactor', 1);
    need('highFreqFactor', 4);
    need('originalMaxPositionEmbeddings', options.maxPositionEmbeddings ?? 8192);
  }
  if (ropeType === 'longrope') need('maxPositionEmbeddings', 4096);
  return filled;
}

let form = null;

/** Builds the form inside `container`; `api` is the page controller from main.js. */
export function mountSettings(container, api) {
  const fieldHtml = (field) => {
    const id = `setting-${field.name}`;
    if (field.choices) {
      return `<div class="field" data-field="${field.name}"><label for="${id}" data-i18n="settings.${field.name}"></label>
        <select id="${id}" name="${field.name}">${field.choices.map((c) => `<option value="${c}" data-i18n="${field.choiceKey(c)}"></option>`).join('')}</select></div>`;
    }
    if (field.checkbox) {
      return `<div class="field checkbox" data-field="${field.name}"><input type="checkbox" id="${id}" name="${field.name}">
        <label for="${id}" data-i18n="settings.${field.name}"></label></div>`;
    }
    const hint = field.hintKey ? `<small id="${id}-hint" data-i18n="${field.hintKey}"></small>` : '';
    return `<div class="field" data-field="${field.name}"><label for="${id}" data-i18n="settings.${field.name}"></label>
      <input type="number" id="${id}" name="${field.name}" step="${field.step}" min="${field.min}"${hint ? ` aria-describedby="${id}-hint"` : ''}>${hint}</div>`;
  };
  container.innerHTML = `
    <div class="preset-row">
      <div class="field"><label for="setting-preset" data-i18n="settings.preset"></label>
        <select id="setting-preset">${PRESETS.map((p) => `<option value="${p.id}" data-i18n="preset.${p.id}">${p.label}</option>`).join('')}
          <option value="${CUSTOM_PRESET}" data-i18n="settings.customPreset" hidden></option></select></div>
      <button type="button" id="setting-reset" data-i18n="settings.reset"></button>
      <p class="settings-summary" id="settings-summary" aria-live="polite"></p>
    </div>
    <div class="fields">${FIELDS.map(fieldHtml).join('')}</div>
    <p class="notice" id="settings-notice" hidden></p>
    <p class="error" id="settings-error" role="alert" hidden></p>
    <details id="config-details" class="config-box">
      <summary data-i18n="settings.configHeading"></summary>
      <p class="hint" id="config-hint" data-i18n="settings.configHint"></p>
      <label for="config-text" class="visually-hidden" data-i18n="settings.configLabel"></label>
      <textarea id="config-text" rows="7" spellcheck="false" aria-describedby="config-hint" data-i18n-placeholder="settings.configPlaceholder"></textarea>
      <div class="config-actions">
        <button type="button" id="config-use" data-i18n="settings.configUse"></button>
        <span class="file-pick"><span data-i18n="settings.configFileOr"></span>
          <input type="file" id="config-file" class="visually-hidden" accept=".json,application/json">
          <label for="config-file" class="button-like" data-i18n="settings.configFile"></label>
          <span id="config-file-name" class="file-name"></span></span>
      </div>
      <p class="error" id="config-error" role="alert" hidden></p>
      <p class="ok" id="config-ok" role="status" hidden></p>
    </details>`;
  form = container;
  const text = container.querySelector('#config-text');
  container.querySelector('#config-use').addEventListener('click', () => api.loadConfig(text.value));
  text.addEventListener('input', () => { if (text.value.trim() === '') api.clearConfigStatus(); });
  container.querySelector('#config-file').addEventListener('change', async (event) => {
    const file = event.target.files?.[0];
    if (!file) return;
    container.querySelector('#config-file-name').textContent = file.name;
    text.value = await file.text();
    api.loadConfig(text.value);
  });

  container.querySelector('#setting-preset').addEventListener('change', (event) => api.choosePreset(event.target.value));
  container.querySelector('#setting-reset').addEventListener('click', () => api.choosePreset(api.state.preset));
  for (const field of FIELDS) {
    const input = container.querySelector(`#setting-${field.name}`);
    input.addEventListener('change', () => {
      let value;
      if (field.checkbox) value = input.checked;
      else if (field.choices) value = input.value;
      else value = input.value.trim() === '' ? undefined : Number(input.value);
      if (field.name === 'seqLen') {
        api.setSeqLen(Number.isInteger(value) && value >= 1 ? value : null);
      } else {
        api.setOverride(field.name, value);
      }
    });
  }
}

/** Shows `options` (the options in effect) in the form and hides fields the rope type ignores. */
export function showSettings(state, options, { summary = '', notice = '', error = '', given = null } = {}) {
  if (!form) return;
  form.querySelector(`option[value=${CUSTOM_PRESET}]`).hidden = state.preset !== CUSTOM_PRESET;
  form.querySelector('#setting-preset').value = state.preset;
  const area = form.querySelector('#config-text');
  if (state.preset === CUSTOM_PRESET && state.customConfig && document.activeElement !== area && !area.value) {
    area.value = JSON.stringify(JSON.parse(state.customConfig), null, 2);
  }
  const edited = Object.keys(state.overrides).length > 0 || state.seqLen !== null;
  form.querySelector('#setting-reset').disabled = !edited;
  form.querySelector('#settings-summary').textContent = summary + (edited ? t('settings.custom') : '');
  for (const field of FIELDS) {
    const wrapper = form.querySelector(`[data-field=${field.name}]`);
    wrapper.hidden = !field.types.includes(options.ropeType ?? 'default');
    const input = form.querySelector(`#setting-${field.name}`);
    let value = field.name === 'seqLen' ? state.seqLen : options[field.name];
    if (OPTIONAL.has(field.name) && given && !given.has(field.name)) value = undefined;
    const overridden = field.name === 'seqLen' ? state.seqLen !== null : field.name in state.overrides;
    wrapper.classList.toggle('overridden', overridden);
    if (document.activeElement === input) continue;
    if (field.checkbox) input.checked = Boolean(value);
    else if (field.choices) input.value = value ?? field.choices[0];
    else {
      input.value = value === undefined || value === null ? '' : String(value);
      input.placeholder = t('settings.unset');
    }
  }
  const maxLabel = form.querySelector('label[for=setting-maxPositionEmbeddings]');
  maxLabel.dataset.i18n = maxPositionsLabel(options);
  maxLabel.textContent = t(maxLabel.dataset.i18n);
  const noticeEl = form.querySelector('#settings-notice');
  noticeEl.hidden = !notice;
  noticeEl.textContent = notice;
  const errorEl = form.querySelector('#settings-error');
  errorEl.hidden = !error;
  errorEl.textContent = error;
}

/** Shows the outcome of a pasted config: {error} or {ok}. */
export function showConfigStatus({ error = '', ok = '' } = {}) {
  if (!form) return;
  const errorEl = form.querySelector('#config-error');
  errorEl.hidden = !error;
  errorEl.textContent = error;
  const okEl = form.querySelector('#config-ok');
  okEl.hidden = !ok;
  okEl.textContent = ok;
  if (error) form.querySelector('#config-details').open = true;
}
