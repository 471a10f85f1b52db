// The visualizer's language choice: ?lang= and the stored choice are taken
// only when they name a language the page has, never an inherited property
// name such as 'toString'. The page modules read window, navigator and
// document, so minimal stand-ins are installed before the import.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

const stored = new Map();
Object.defineProperty(globalThis, 'window', {
  configurable: true,
  value: {
    location: { search: '' },
    localStorage: { getItem: (key) => stored.get(key) ?? null, setItem: (key, value) => stored.set(key, value) },
  },
});
Object.defineProperty(globalThis, 'navigator', { configurable: true, value: { language: 'en-US' } });
Object.defineProperty(globalThis, 'document', { configurable: true, value: { documentElement: {} } });

const { initialLanguage, setLanguage } = await import('../../web/app/i18n/index.js');

describe('visualizer language choice', () => {
  it('takes a known ?lang=', () => {
    assert.equal(initialLanguage('?lang=zh-CN'), 'zh-CN');
    assert.equal(initialLanguage('?lang=en'), 'en');
  });

  it('ignores inherited names in ?lang=', () => {
    for (const name of ['toString', '__proto__', 'constructor', 'hasOwnProperty']) {
      assert.equal(initialLanguage(`?lang=${name}`), 'en', `?lang=${name}`);
    }
  });

  it('ignores an inherited name in storage', () => {
    stored.set('rope-viz.lang', 'toString');
    assert.equal(initialLanguage(''), 'en');
    stored.set('rope-viz.lang', 'zh-CN');
    assert.equal(initialLanguage(''), 'zh-CN');
    stored.clear();
  });

  it('setLanguage falls back to English', () => {
    assert.equal(setLanguage('valueOf'), 'en');
    assert.equal(document.documentElement.lang, 'en');
    assert.equal(setLanguage('zh-CN'), 'zh-CN');
    assert.equal(document.documentElement.lang, 'zh-CN');
  });
});
