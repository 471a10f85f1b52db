// Language choice and string lookup. The choice comes from ?lang=, then
// localStorage, then the browser language, and is remembered in localStorage.

import en from './en.js';
import zhCN from './zh-CN.js';

export const LANGUAGES = Object.freeze({ en, 'zh-CN': zhCN });
const STORAGE_KEY = 'rope-viz.lang';
let current = 'en';

// Own keys only: `in` would also accept inherited names such as 'toString'.
const isLanguage = (lang) => typeof lang === 'string' && Object.hasOwn(LANGUAGES, lang);

function readStoredLanguage() {
  try {
    return window.localStorage.getItem(STORAGE_KEY);
  } catch {
    return null; // storage can be disabled; the page still works in English
  }
}

/** Picks the starting language code. */
export function initialLanguage(search = window.location.search) {
  const requested = new URLSearchParams(search).get('lang');
  if (isLanguage(requested)) return requested;
  const stored = readStoredLanguage();
  if (isLanguage(stored)) return stored;
  return (navigator.language || '').toLowerCase().startsWith('zh') ? 'zh-CN' : 'en';
}

/** Makes `lang` current, stores it and sets <html lang>. */
export function setLanguage(lang) {
  current = isLanguage(lang) ? lang : 'en';
  document.documentElement.lang = current;
  try {
    window.localStorage.setItem(STORAGE_KEY, current);
  } catch {
    // see readStoredLanguage
  }
  return current;
}

export function language() {
  return current;
}

/** Returns the string for `key` with {placeholders} filled from `params`; falls back to English, then the key. */
export function t(key, params = {}) {
  const template = LANGUAGES[current][key] ?? en[key] ?? key;
  return template.replace(/\{(\w+)\}/g, (whole, name) => (name in params ? String(params[name]) : whole));
}

/** Formats a number compactly: fixed for moderate magnitudes, exponent form otherwise. */
export function formatNumber(value, digits = 4) {
  if (!Number.isFinite(value)) return String(value);
  if (value === 0) return '0';
  const magnitude = Math.abs(value);
  if (magnitude >= 1e-3 && magnitude < 1e7) {
    return Number(value.toPrecision(digits)).toLocaleString(current === 'zh-CN' ? 'zh-CN' : 'en-US', { maximumSignificantDigits: digits });
  }
  return value.toExponential(digits - 1);
}
