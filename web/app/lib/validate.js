// Validation of the numeric fields in the panels. A rejected value is not
// applied. A translated message names it and the valid range, and on blur the
// field shows the value in effect again. The message goes away once that value
// changes by any route (a valid entry, a slider, playback, a preset).

import { formatNumber, t } from '../i18n/index.js';

export const MAX_POSITION = 2147483647; // positions are int32 >= 0
export const MAX_SEED = 4294967295; // seeds are uint32

let counter = 0;

/** Formats a range limit for messages: integers as typed, others compactly. */
function limit(value) {
  return Number.isInteger(value) ? String(value) : formatNumber(value, 6);
}

/**
 * Parses `text` against a rule. Rules: { integer, min, max, above } where
 * `above` is an exclusive lower bound. Returns the number, or null when the text is rejected.
 */
export function parseNumber(text, { integer = false, min = -Infinity, max = Infinity, above = -Infinity }) {
  const trimmed = String(text).trim();
  if (trimmed === '' || !/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(trimmed)) return null;
  const value = Number(trimmed);
  if (!Number.isFinite(value) || (integer && !Number.isInteger(value))) return null;
  if (value < min || value > max || !(value > above)) return null;
  return value;
}

/** Returns the translated description of the values a rule accepts. */
export function describeRule({ integer = false, min = -Infinity, max = Infinity, above = -Infinity }) {
  if (integer) return t('validate.integerRange', { min: limit(min), max: limit(max) });
  if (above > -Infinity && max < Infinity) return t('validate.aboveRange', { min: limit(above), max: limit(max) });
  if (above > -Infinity) return t('validate.above', { min: limit(above) });
  if (max === Infinity) return t('validate.atLeast', { min: limit(min) });
  return t('validate.range', { min: limit(min), max: limit(max) });
}

/**
 * Wires validation to `input`. Options:
 *   labelKey   i18n key of the field's name, used in the message
 *   rule       () => rule for parseNumber (may depend on the current rope)
 *   parse      (text) => value or null, instead of parseNumber with rule
 *   describe   () => translated description of the accepted values, instead of describeRule
 *   empty      value to apply when the field is cleared (undefined: clearing is an error)
 *   current    () => the value in effect, shown again on blur
 *   format     (value) => text for the field (default String)
 *   apply      (value) => void, called with each accepted value
 * Returns { sync(value) }: call it on every render to show the value in effect.
 */
export function validatedField(input, options) {
  const format = options.format ?? ((value) => (value === null || value === undefined ? '' : String(value)));
  const message = document.createElement('span');
  message.className = 'field-error';
  message.id = `field-error-${++counter}`;
  message.setAttribute('role', 'alert');
  message.hidden = true;
  const anchor = input.closest('label') ?? input;
  anchor.after(message);
  let rejected = null; // { text, at }: the rejected text and the value in effect at that time

  const clear = () => {
    message.hidden = true;
    message.textContent = '';
    input.removeAttribute('aria-invalid');
    input.removeAttribute('aria-describedby');
    rejected = null;
  };
  const show = () => {
    const accepted = options.describe ? options.describe() : describeRule(options.rule());
    const value = rejected.text === '' ? t('validate.emptyValue') : t('validate.quoted', { value: rejected.text });
    message.textContent = t('validate.message', { field: t(options.labelKey), value, accepted });
  };

  input.addEventListener('change', () => {
    const text = input.value;
    let value;
    if (text.trim() === '' && options.empty !== undefined) value = options.empty;
    else value = options.parse ? options.parse(text) : parseNumber(text, options.rule());
    if (value === null || value === undefined) {
      rejected = { text: text.trim(), at: options.current() };
      show();
      message.hidden = false;
      input.setAttribute('aria-invalid', 'true');
      input.setAttribute('aria-describedby', message.id);
      return;
    }
    clear();
    options.apply(value);
  });
  input.addEventListener('blur', () => {
    if (input.getAttribute('aria-invalid') === 'true') input.value = format(options.current());
  });

  return {
    sync(value) {
      if (rejected && !sameValue(value, rejected.at)) clear();
      if (rejected) show(); // the language may have changed
      if (document.activeElement !== input) input.value = format(value);
    },
  };
}

function sameValue(a, b) {
  return JSON.stringify(a) === JSON.stringify(b);
}
