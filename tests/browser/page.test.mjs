// Drives the visualizer in headless Chromium the way a reader would: loads
// /app/?test=1 from an in-process server on 127.0.0.1, changes settings
// through the form and the panel controls, and compares the numbers the
// page exports on window.ropeViz with the mpmath reference vectors and with
// float64 recomputations made here in Node. Panels that may not exist yet
// (bug lab, timings) are checked only when the page has them.

import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

import { chromium } from 'playwright-core';

import { startServer } from '../../web/serve.js';
import { createRope } from '../../web/rope.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const SCREENSHOT_DIR = fileURLToPath(new URL('./screenshots/', import.meta.url));
const CHROMIUM = '/usr/bin/chromium';
const CHROMIUM_ARGS = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
  '--disable-component-update', '--disable-sync', '--no-first-run',
];

// Tolerances.
// invFreq is one pow/exp of exact inputs in double, in C here and in mpmath
// or JavaScript on the other side: a few ulp, so 1e-13 relative.
const INV_FREQ_REL = 1e-13;
// attentionScaling is a single sqrt/log expression: a few ulp.
const SCALING_REL = 1e-12;
// The page shows rope.table() entries, float32(s * cos(m * theta)). Rounding
// to float32 costs 2^-24 * s ~ 6e-8 * s and the double angle m * ulp(theta)
// stays below 1e-11 for the positions used here, so 2e-6 * s is a wide margin.
const TABLE_ABS = 2e-6;
// Angles are atan2 of those float32 values: a few 1e-7 rad.
const ANGLE_ABS = 1e-5;
// Heatmap scores are dot products of float32 vectors rotated in float32. Each
// rotated element is off by a few float32 ulp of the vector's scale, so the
// score is off by about 1e-7 of s^2 * |q| * |k| (the largest possible |score|);
// measured: at most 4e-8 for the three focus presets. 1e-6 leaves 25x room.
const SCORE_REL_TO_BOUND = 1e-6;
// Budget for one panel redraw with d = 128 and a 512 x 512 heatmap.
const REDRAW_BUDGET_MS = 50;

const DEFAULT_PRESET = 'llama-3.1-8b';
const FOCUS_PRESETS = ['qwen2.5-7b-yarn', 'gpt-j-6b'];

let server = null;
let browser = null;
let origin = '';
const contexts = new Set();

function readJson(path) {
  return JSON.parse(readFileSync(path, 'utf8'));
}

function referenceFile(preset) {
  return readJson(`${ROOT}tests/reference/vectors/${preset}.json`);
}

/**
 * Returns the expected frequencies for `seqLen`: the reference case with that
 * seqLen, else any case when all cases contain the same frequencies (the rope
 * type ignores seqLen), else the library itself run in Node on the preset config.
 */
async function expectedInvFreq(preset, seqLen) {
  const ref = referenceFile(preset);
  const exact = ref.cases.find((c) => c.seqLen === seqLen);
  if (exact) return { values: exact.invFreq, source: `mpmath case seqLen ${seqLen}`, ref };
  const first = ref.cases[0].invFreq;
  if (ref.cases.every((c) => c.invFreq.every((v, i) => v === first[i]))) {
    return { values: first, source: 'mpmath (seqLen-independent)', ref };
  }
  const rope = await createRope(readJson(`${ROOT}${ref.configFile}`));
  try {
    return { values: Array.from(rope.invFreq(seqLen)), source: 'library in Node', ref };
  } finally {
    rope.free();
  }
}

function assertRel(actual, expected, rel, label) {
  assert.equal(actual.length, expected.length, `${label}: length ${actual.length}, expected ${expected.length}`);
  for (let i = 0; i < expected.length; i++) {
    const diff = Math.abs(actual[i] - expected[i]);
    if (!(diff <= rel * Math.abs(expected[i]))) {
      assert.fail(`${label}[${i}]: page ${actual[i]}, expected ${expected[i]} (rel diff ${diff / Math.abs(expected[i])} > ${rel})`);
    }
  }
}

function assertAbs(actual, expected, tol, label) {
  assert.equal(actual.length, expected.length, `${label}: length ${actual.length}, expected ${expected.length}`);
  for (let i = 0; i < expected.length; i++) {
    const diff = Math.abs(actual[i] - expected[i]);
    if (!(diff <= tol)) assert.fail(`${label}[${i}]: page ${actual[i]}, expected ${expected[i]} (|diff| ${diff} > ${tol})`);
  }
}

/** Returns the signed difference of two angles, folded into (-pi, pi]. */
function angleGap(a, b) {
  const d = (a - b) % (2 * Math.PI);
  if (d > Math.PI) return d - 2 * Math.PI;
  if (d <= -Math.PI) return d + 2 * Math.PI;
  return d;
}

function pairDimsOf(i, rotaryDim, pairing) {
  return pairing === 'interleaved' ? [2 * i, 2 * i + 1] : [i, i + rotaryDim / 2];
}

/** Rotates `vector` to `position` in float64. Slots from rotaryDim on are copied. */
function rotate64(vector, position, theta, { rotaryDim, pairing, scaling }) {
  const out = Float64Array.from(vector);
  for (let i = 0; i < theta.length; i++) {
    const [a, b] = pairDimsOf(i, rotaryDim, pairing);
    const c = Math.cos(position * theta[i]);
    const s = Math.sin(position * theta[i]);
    out[a] = scaling * (vector[a] * c - vector[b] * s);
    out[b] = scaling * (vector[a] * s + vector[b] * c);
  }
  return out;
}

function dot(x, y) {
  let sum = 0;
  for (let j = 0; j < x.length; j++) sum += x[j] * y[j];
  return sum;
}

function norm(x) {
  return Math.sqrt(dot(x, x));
}

// ---------------------------------------------------------------- browser

/**
 * Opens a fresh browser context (own localStorage) on `query` and records
 * every console error, page error, failed or error-status request, and any
 * request to another origin (those are aborted, so nothing leaves loopback).
 */
async function openPage(query = '?test=1') {
  const context = await browser.newContext({
    viewport: { width: 1280, height: 900 },
    locale: 'en-US',
    serviceWorkers: 'block',
  });
  contexts.add(context);
  const problems = [];

  await context.route('**/*', (route) => {
    const url = route.request().url();
    // data: and blob: URLs never reach the network.
    if (/^(data|blob):/.test(url) || new URL(url).origin === origin) return route.continue();
    problems.push(`request to another origin: ${url}`);
    return route.abort('blockedbyclient');
  });

  // Listening on the context covers every tab a test opens in it.
  context.on('console', (message) => {
    if (message.type() === 'error') problems.push(`console error: ${message.text()}`);
  });
  context.on('weberror', (error) => problems.push(`page error: ${error.error().message}`));
  context.on('requestfailed', (request) => {
    if (new URL(request.url()).origin === origin) {
      problems.push(`request failed: ${request.url()} (${request.failure()?.errorText})`);
    }
  });
  context.on('response', (response) => {
    if (response.status() >= 400) problems.push(`HTTP ${response.status()}: ${response.url()}`);
  });

  const page = await context.newPage();
  const session = { context, page, problems };
  await load(session, query);
  return session;
}

async function load({ page }, query) {
  await page.goto(`${origin}/app/${query}`);
  await page.waitForFunction(() => window.ropeViz && window.ropeViz.ready);
  await page.evaluate(() => window.ropeViz.ready.then(() => true));
}

/** Asserts the session saw no problems and the page shows no error text. */
async function assertClean({ page, problems }) {
  const onPage = await page.evaluate(() => ({
    rejected: window.ropeViz.errors.slice(),
    visible: [...document.querySelectorAll('.error, [role=alert]')]
      .filter((el) => !el.hidden && el.textContent.trim() !== '')
      .map((el) => `${el.closest('section')?.id ?? el.id}: ${el.textContent.trim()}`),
  }));
  assert.deepEqual(problems, [], 'console errors, page errors, failed or foreign requests');
  assert.deepEqual(onPage.rejected, [], 'settings rejected by createRope (ropeViz.errors)');
  assert.deepEqual(onPage.visible, [], 'error messages shown on the page');
}

async function closeSession(session) {
  contexts.delete(session.context);
  await session.context.close();
}

/** Runs `body` on a fresh page, then checks that nothing went wrong on it. */
async function withPage(query, body) {
  const session = await openPage(query);
  try {
    await body(session);
    await assertClean(session);
  } finally {
    await closeSession(session);
  }
}

function viz(page, pick) {
  return page.evaluate(pick);
}

/**
 * Waits until the panels that the last redraw put off (those below the fold,
 * listed in timings.deferred) are drawn too. Pages that draw everything at
 * once pass at once.
 */
async function settle(page) {
  await page.waitForFunction(() => {
    const timings = window.ropeViz.timings;
    if (!timings || !Array.isArray(timings.deferred)) return true;
    return timings.deferred.every((id) => timings.rendered.includes(id));
  });
}

/** Waits until the page's rope has the reference file's shape and scaling. */
async function waitForRope(page, ref) {
  await page.waitForFunction((want) => {
    const rope = window.ropeViz.rope;
    const freq = window.ropeViz.panels.frequencies;
    return rope && freq
      && rope.ropeType === want.ropeType
      && rope.headDim === want.headDim
      && rope.rotaryDim === want.rotaryDim
      && rope.options.pairing === want.pairing
      && Math.abs(rope.attentionScaling - want.attentionScaling) <= 1e-9 * want.attentionScaling
      && freq.invFreq.length === want.rotaryDim / 2
      && freq.seqLen === rope.seqLen;
  }, {
    ropeType: ref.ropeType, headDim: ref.headDim, rotaryDim: ref.rotaryDim,
    pairing: ref.pairing, attentionScaling: ref.attentionScaling,
  }, { timeout: 10_000 });
  await settle(page);
}

async function choosePresetByApi(page, preset) {
  await page.evaluate((id) => window.ropeViz.choosePreset(id).then(() => true), preset);
  await waitForRope(page, referenceFile(preset));
}

async function choosePresetByUi(page, preset) {
  await page.selectOption('#setting-preset', preset);
  await page.waitForFunction((id) => window.ropeViz.state.preset === id, preset);
  await waitForRope(page, referenceFile(preset));
}

/** Types `value` into an input the way a reader does and commits it with Enter. */
async function typeInto(page, selector, value) {
  const input = page.locator(selector);
  await input.fill(String(value));
  await input.press('Enter');
}

/**
 * Checks the frequencies and rotation panels of the preset on screen
 * against the reference: invFreq, attentionScaling, and cos/sin/angle at m.
 * Returns what it compared, for further checks.
 */
async function checkNumbers(page, preset, t) {
  const exported = await viz(page, () => {
    const { rope, panels } = window.ropeViz;
    return { rope, frequencies: panels.frequencies, rotation: panels.rotation, m: window.ropeViz.state.m };
  });
  const { values: invFreq, source, ref } = await expectedInvFreq(preset, exported.rope.seqLen);
  t?.diagnostic(`${preset}: seqLen ${exported.rope.seqLen}, invFreq compared with ${source}`);
  const label = `${preset}`;
  assert.equal(exported.rope.ropeType, ref.ropeType, `${label}: ropeType`);
  assert.equal(exported.rope.headDim, ref.headDim, `${label}: headDim`);
  assert.equal(exported.rope.rotaryDim, ref.rotaryDim, `${label}: rotaryDim`);
  assert.equal(exported.rope.options.pairing, ref.pairing, `${label}: pairing`);
  const s = exported.rope.attentionScaling;
  assert.ok(Math.abs(s - ref.attentionScaling) <= SCALING_REL * ref.attentionScaling,
    `${label}: attentionScaling ${s}, expected ${ref.attentionScaling}`);

  const freq = exported.frequencies;
  assert.equal(freq.m, exported.m, `${label}: frequencies panel drew position ${freq.m}, state has ${exported.m}`);
  assert.equal(freq.seqLen, exported.rope.seqLen, `${label}: frequencies seqLen`);
  assertRel(freq.invFreq, invFreq, INV_FREQ_REL, `${label} invFreq`);
  const m = freq.m;
  assertAbs(freq.cos, invFreq.map((th) => s * Math.cos(m * th)), TABLE_ABS * s, `${label} cos at m=${m}`);
  assertAbs(freq.sin, invFreq.map((th) => s * Math.sin(m * th)), TABLE_ABS * s, `${label} sin at m=${m}`);
  freq.angles.forEach((angle, i) => {
    assert.ok(angle >= 0, `${label} angles[${i}] = ${angle} is negative`);
    assert.ok(angle < 2 * Math.PI, `${label} angles[${i}] = ${angle} is not below 2pi`);
    const gap = angleGap(angle, m * invFreq[i]);
    assert.ok(Math.abs(gap) <= ANGLE_ABS, `${label} angles[${i}] at m=${m}: page ${angle}, off by ${gap} rad`);
  });

  // The circles show cos/sin divided by the scaling, i.e. the unit circle.
  const rot = exported.rotation;
  assert.equal(rot.m, m, `${label}: rotation panel position`);
  assert.ok(rot.pairs.length > 0, `${label}: rotation panel shows no pairs`);
  for (const pair of rot.pairs) {
    const i = pair.index;
    const th = invFreq[i];
    assert.ok(Math.abs(pair.theta - th) <= INV_FREQ_REL * th, `${label} rotation pair ${i} theta ${pair.theta}, expected ${th}`);
    assert.ok(Math.abs(pair.cos - Math.cos(m * th)) <= TABLE_ABS, `${label} rotation pair ${i} cos ${pair.cos} vs ${Math.cos(m * th)}`);
    assert.ok(Math.abs(pair.sin - Math.sin(m * th)) <= TABLE_ABS, `${label} rotation pair ${i} sin ${pair.sin} vs ${Math.sin(m * th)}`);
    assert.ok(Math.abs(angleGap(pair.angle, m * th)) <= ANGLE_ABS, `${label} rotation pair ${i} angle ${pair.angle}`);
    if (pair.dims) assert.deepEqual(pair.dims, pairDimsOf(i, ref.rotaryDim, ref.pairing), `${label} rotation pair ${i} dims`);
    // The key at position n, where the panel shows one.
    if (typeof rot.n === 'number' && typeof pair.kCos === 'number') {
      const n = rot.n;
      assert.ok(Math.abs(pair.kCos - Math.cos(n * th)) <= TABLE_ABS, `${label} rotation pair ${i} key cos at n=${n}: ${pair.kCos}`);
      assert.ok(Math.abs(pair.kSin - Math.sin(n * th)) <= TABLE_ABS, `${label} rotation pair ${i} key sin at n=${n}: ${pair.kSin}`);
    }
  }
  return { invFreq, ref, scaling: s, m };
}

/**
 * Checks that every heatmap diagonal m - n = c contains one value, because
 * RoPE scores depend on the distance only, and that every cell equals the
 * score of q and k rotated in float64 with the reference frequencies.
 */
async function checkHeatmap(page, preset, invFreq, ref, scaling) {
  const heat = await viz(page, () => {
    const h = window.ropeViz.panels.heatmap;
    return { size: h.size, row: h.row, q: h.q, k: h.k, matrix: h.matrix, rowScores: h.rowScores, diagonalSpread: h.diagonalSpread };
  });
  const { size, matrix, q, k } = heat;
  assert.equal(matrix.length, size, `${preset} heatmap: ${matrix.length} rows, size ${size}`);
  assert.equal(q.length, ref.headDim, `${preset} heatmap: q has ${q.length} entries, headDim ${ref.headDim}`);
  const bound = scaling * scaling * norm(q) * norm(k);
  const tol = SCORE_REL_TO_BOUND * bound;

  let spread = 0;
  let worst = null;
  for (let c = -(size - 1); c < size; c++) {
    let lo = Infinity;
    let hi = -Infinity;
    for (let m = Math.max(0, c); m < Math.min(size, size + c); m++) {
      const value = matrix[m][m - c];
      lo = Math.min(lo, value);
      hi = Math.max(hi, value);
    }
    if (hi - lo > spread) { spread = hi - lo; worst = c; }
  }
  assert.ok(spread <= tol, `${preset} heatmap not Toeplitz: diagonal m-n=${worst} spreads ${spread} > ${tol}`);
  assert.ok(Math.abs(heat.diagonalSpread - spread) <= 1e-12 * bound,
    `${preset} heatmap: page reports diagonalSpread ${heat.diagonalSpread}, recomputed ${spread}`);

  const shape = { rotaryDim: ref.rotaryDim, pairing: ref.pairing, scaling };
  const queries = Array.from({ length: size }, (_, p) => rotate64(q, p, invFreq, shape));
  const keys = Array.from({ length: size }, (_, p) => rotate64(k, p, invFreq, shape));
  for (let m = 0; m < size; m++) {
    for (let n = 0; n < size; n++) {
      const expected = dot(queries[m], keys[n]);
      const diff = Math.abs(matrix[m][n] - expected);
      if (!(diff <= tol)) assert.fail(`${preset} heatmap[${m}][${n}] = ${matrix[m][n]}, float64 ${expected} (|diff| ${diff} > ${tol})`);
    }
  }
  assert.deepEqual(heat.rowScores, matrix[heat.row], `${preset} heatmap: rowScores differ from matrix row ${heat.row}`);
}

async function invariantsState(page) {
  return viz(page, () => ({
    m: window.ropeViz.state.m,
    panel: window.ropeViz.panels.invariants,
    pass: document.querySelectorAll('#panel-invariants .badge.pass').length,
    fail: document.querySelectorAll('#panel-invariants .badge.fail').length,
  }));
}

async function assertCanvasesLabelled(page, where) {
  const canvases = await page.$$eval('canvas', (list) => list.map((c) => ({
    where: c.closest('section')?.id ?? '(outside a section)',
    role: c.getAttribute('role'),
    label: c.getAttribute('aria-label'),
  })));
  assert.ok(canvases.length > 0, `${where}: no canvas on the page`);
  canvases.forEach((c, i) => {
    assert.equal(c.role, 'img', `${where}: canvas #${i} in ${c.where} has role ${c.role}`);
    assert.ok(c.label, `${where}: canvas #${i} in ${c.where} has no aria-label`);
    assert.notEqual(c.label.trim(), '', `${where}: canvas #${i} in ${c.where} has an empty aria-label`);
  });
  return canvases.length;
}

async function screenshots(page, lang) {
  mkdirSync(SCREENSHOT_DIR, { recursive: true });
  const ids = await page.$$eval('section.panel[id]', (list) => list.map((s) => s.id));
  // The sticky badge bar would cover the top of whichever panel is scrolled under it.
  const unstick = '.badge-bar { position: static !important; }';
  for (const id of ids) {
    await page.locator(`#${id}`).screenshot({ path: `${SCREENSHOT_DIR}${lang}-${id}.png`, animations: 'disabled', style: unstick });
  }
  await page.screenshot({ path: `${SCREENSHOT_DIR}${lang}-full-page.png`, fullPage: true, animations: 'disabled' });
  return ids.length;
}

/** Collects numeric leaves of a timings object as [path, value]. */
function numericLeaves(value, path = 'timings') {
  if (typeof value === 'number') return [[path, value]];
  if (value && typeof value === 'object') {
    return Object.entries(value).flatMap(([key, inner]) => numericLeaves(inner, `${path}.${key}`));
  }
  return [];
}

// ------------------------------------------------------------------ tests

before(async () => {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`${CHROMIUM} not found: the browser tests need Chromium; install it with \`apt-get install chromium\``);
  }
  server = await startServer({ port: 0, host: '127.0.0.1' });
  origin = `http://127.0.0.1:${server.address().port}`;
  browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
});

after(async () => {
  for (const context of contexts) await context.close().catch(() => {});
  await browser?.close();
  if (server) await new Promise((resolve) => server.close(resolve));
});

describe('visualizer in Chromium', () => {
  it('default preset matches reference numbers', async (t) => {
    await withPage('?test=1', async ({ page }) => {
      const start = await viz(page, () => ({
        preset: window.ropeViz.state.preset,
        playing: window.ropeViz.state.playing,
        m: window.ropeViz.state.m,
        backend: window.ropeViz.rope.backend,
        panels: Object.keys(window.ropeViz.panels),
      }));
      t.diagnostic(`panels exported: ${start.panels.join(', ')}; backend ${start.backend}`);
      assert.equal(start.preset, DEFAULT_PRESET);
      assert.equal(start.playing, false, '?test=1 must not start playback');
      for (const id of ['frequencies', 'rotation', 'heatmap', 'decay', 'wavelengths', 'invariants']) {
        assert.ok(start.panels.includes(id), `panel ${id} missing from ropeViz.panels`);
      }
      assert.equal(await page.inputValue('#setting-preset'), DEFAULT_PRESET);

      await waitForRope(page, referenceFile(DEFAULT_PRESET));
      const { invFreq, ref, scaling } = await checkNumbers(page, DEFAULT_PRESET, t);
      await checkHeatmap(page, DEFAULT_PRESET, invFreq, ref, scaling);

      // With ?test=1 nothing moves on its own.
      await page.waitForTimeout(300);
      assert.equal(await viz(page, () => window.ropeViz.state.m), start.m, 'position changed without input under ?test=1');

      const wl = await viz(page, () => window.ropeViz.panels.wavelengths);
      assertRel(wl.wavelengths, invFreq.map((th) => (2 * Math.PI) / th), INV_FREQ_REL, 'wavelengths');
      assert.equal(wl.trainingContext, ref.originalMaxPositionEmbeddings);
      assert.equal(wl.extendedContext, ref.maxPositionEmbeddings);
    });
  });

  for (const preset of FOCUS_PRESETS) {
    it(`${preset} preset via form and API`, async (t) => {
      await withPage('?test=1', async ({ page }) => {
        await choosePresetByUi(page, preset);
        let exported = await checkNumbers(page, preset, t);
        await checkHeatmap(page, preset, exported.invFreq, exported.ref, exported.scaling);
        const rope = await viz(page, () => window.ropeViz.rope);
        if (preset === 'qwen2.5-7b-yarn') {
          // YaRN: 0.1 * ln(4) + 1 with factor 4.
          assert.ok(Math.abs(rope.attentionScaling - (0.1 * Math.log(4) + 1)) < 1e-12, `attentionScaling ${rope.attentionScaling}`);
          assert.equal(rope.rotaryDim, 128);
        } else {
          assert.equal(rope.options.pairing, 'interleaved');
          assert.equal(rope.rotaryDim, 64);
          assert.equal(rope.headDim, 256);
        }

        // Back to the default through the API, then this preset again: the
        // numbers and the form both follow.
        await choosePresetByApi(page, DEFAULT_PRESET);
        await checkNumbers(page, DEFAULT_PRESET);
        assert.equal(await page.inputValue('#setting-preset'), DEFAULT_PRESET, 'select did not follow choosePreset');
        await choosePresetByApi(page, preset);
        exported = await checkNumbers(page, preset);
        assert.equal(await page.inputValue('#setting-preset'), preset, 'select did not follow choosePreset');
        await checkHeatmap(page, preset, exported.invFreq, exported.ref, exported.scaling);
        assert.match(page.url(), new RegExp(`[?&]preset=${preset.replace(/\./g, '\\.')}(&|$)`), 'address bar does not hold the preset');
      });
    });
  }

  it('form controls update exported numbers', async () => {
    await withPage('?test=1', async ({ page }) => {
      await typeInto(page, '#panel-frequencies [data-role=position]', 1234);
      await page.waitForFunction(() => window.ropeViz.panels.frequencies.m === 1234);
      await settle(page);
      let exported = await checkNumbers(page, DEFAULT_PRESET);
      assert.equal(await viz(page, () => window.ropeViz.panels.invariants.m), 1234, 'invariants panel did not follow the position');
      assert.equal(await page.inputValue('#panel-rotation [data-role=slider]'), '1234', 'slider did not follow');

      // Arrow key on the rotation slider: one position further.
      await page.locator('#panel-rotation [data-role=slider]').press('ArrowRight');
      await page.waitForFunction(() => window.ropeViz.panels.rotation.m === 1235);
      await settle(page);
      exported = await checkNumbers(page, DEFAULT_PRESET);
      assert.equal(exported.m, 1235);

      // Default rope type: theta_i = base^(-2i/d).
      await page.selectOption('#setting-ropeType', 'default');
      await page.waitForFunction(() => window.ropeViz.rope.ropeType === 'default');
      await settle(page);
      const d = 128;
      let freq = await viz(page, () => window.ropeViz.panels.frequencies);
      assertRel(freq.invFreq, freq.invFreq.map((_, i) => 500000 ** (-2 * i / d)), INV_FREQ_REL, 'default type, base 500000');
      assert.equal(freq.changedPairs, 0, 'default type should change no pair');

      await typeInto(page, '#setting-base', 10000);
      await page.waitForFunction(() => window.ropeViz.rope.options.base === 10000);
      await settle(page);
      freq = await viz(page, () => window.ropeViz.panels.frequencies);
      assert.ok(Math.abs(freq.invFreq[1] - 10000 ** (-2 / d)) <= INV_FREQ_REL * 10000 ** (-2 / d),
        `invFreq[1] = ${freq.invFreq[1]}, expected 10000^(-2/${d}) = ${10000 ** (-2 / d)}`);
      assertRel(freq.invFreq, freq.invFreq.map((_, i) => 10000 ** (-2 * i / d)), INV_FREQ_REL, 'default type, base 10000');
      assertAbs(freq.cos, freq.invFreq.map((th) => Math.cos(1235 * th)), TABLE_ABS, 'cos after base change');

      // Linear keeps the preset's factor 8: every theta divided by 8.
      await page.selectOption('#setting-ropeType', 'linear');
      await page.waitForFunction(() => window.ropeViz.rope.ropeType === 'linear');
      await settle(page);
      const factor = await viz(page, () => window.ropeViz.rope.options.factor);
      assert.equal(factor, 8, 'linear should keep the preset factor');
      freq = await viz(page, () => window.ropeViz.panels.frequencies);
      assertRel(freq.invFreq, freq.invFreq.map((_, i) => 10000 ** (-2 * i / d) / factor), INV_FREQ_REL, 'linear, factor 8');
      assertRel(freq.defaultInvFreq, freq.invFreq.map((_, i) => 10000 ** (-2 * i / d)), INV_FREQ_REL, 'unscaled frequencies');
      assert.equal(freq.changedPairs, d / 2);

      // The edits live in the address bar: a reload shows the same numbers.
      const before = await viz(page, () => window.ropeViz.panels.frequencies.invFreq);
      await page.reload();
      await page.waitForFunction(() => window.ropeViz && window.ropeViz.ready);
      await page.evaluate(() => window.ropeViz.ready.then(() => true));
      const reloaded = await viz(page, () => ({ m: window.ropeViz.state.m, type: window.ropeViz.rope.ropeType, invFreq: window.ropeViz.panels.frequencies.invFreq }));
      assert.equal(reloaded.m, 1235);
      assert.equal(reloaded.type, 'linear');
      assert.deepEqual(reloaded.invFreq, before);
    });
  });

  it('invariant badges green for all presets', async (t) => {
    await withPage('?test=1', async ({ page }) => {
      // Entries without a reference file (such as a pasted config) are left out.
      const options = await page.$$eval('#setting-preset option', (list) => list.map((o) => o.value));
      const presets = options.filter((id) => existsSync(`${ROOT}tests/reference/vectors/${id}.json`));
      assert.ok(presets.length >= 10, `only ${presets.length} presets with reference files among ${options.join(', ')}`);
      const positions = [0, 100, 70000];
      for (const preset of presets) {
        await choosePresetByApi(page, preset);
        await checkNumbers(page, preset);
        for (const m of positions) {
          await page.evaluate((pos) => window.ropeViz.setState({ m: pos }).then(() => true), m);
          const inv = await invariantsState(page);
          const where = `${preset} at m=${m}`;
          assert.equal(inv.panel.m, m, `${where}: invariants panel position`);
          // Every xxxHolds flag the panel exports, with its xxxDeviation in the message.
          const flags = Object.keys(inv.panel).filter((key) => key.endsWith('Holds'));
          for (const required of ['normHolds', 'relativeHolds', 'referenceHolds']) {
            assert.ok(flags.includes(required), `${where}: invariants panel lacks ${required}`);
          }
          for (const flag of flags) {
            const deviation = inv.panel[flag.replace(/Holds$/, 'Deviation')];
            assert.equal(inv.panel[flag], true, `${where}: ${flag} is ${inv.panel[flag]} (deviation ${deviation})`);
          }
          assert.equal(inv.fail, 0, `${where}: ${inv.fail} red badges`);
          assert.ok(inv.pass >= flags.length, `${where}: ${inv.pass} green badges for ${flags.length} checks`);
        }
        await page.evaluate(() => window.ropeViz.setState({ m: 100 }).then(() => true));
      }
      t.diagnostic(`checked ${presets.length} presets at positions ${positions.join(', ')}`);
    });
  });

  it('language switch and its persistence', async (t) => {
    await withPage('?test=1', async ({ page, context }) => {
      const untranslated = () => page.$$eval('[data-i18n]', (list) => list
        .filter((el) => el.textContent.trim() === '' || el.textContent === el.dataset.i18n)
        .map((el) => el.dataset.i18n));
      const view = () => viz(page, () => ({
        lang: document.documentElement.lang,
        heading: document.getElementById('panel-frequencies-title').textContent,
        settings: document.getElementById('settings-title').textContent,
        button: document.getElementById('lang-switch').textContent,
        stateLang: window.ropeViz.state.lang,
        label: document.querySelector('#panel-frequencies canvas').getAttribute('aria-label'),
        invFreq: window.ropeViz.panels.frequencies.invFreq,
      }));

      const english = await view();
      assert.equal(english.lang, 'en');
      assert.match(english.heading, /Frequenc/);
      assert.deepEqual(await untranslated(), [], 'English text missing for these keys');
      await assertCanvasesLabelled(page, 'English');
      t.diagnostic(`${await screenshots(page, 'en')} English panel screenshots`);

      await page.click('#lang-switch');
      await page.waitForFunction(() => document.documentElement.lang === 'zh-CN');
      await settle(page);
      const chinese = await view();
      assert.equal(chinese.stateLang, 'zh-CN');
      assert.match(chinese.heading, /频率/);
      assert.match(chinese.settings, /[\u4e00-\u9fff]/);
      assert.match(chinese.label, /[\u4e00-\u9fff]/, 'canvas label not translated');
      assert.equal(chinese.button, 'English');
      assert.deepEqual(chinese.invFreq, english.invFreq, 'numbers changed with the language');
      assert.deepEqual(await untranslated(), [], 'Chinese text missing for these keys');
      await assertCanvasesLabelled(page, 'Chinese');
      t.diagnostic(`${await screenshots(page, 'zh-CN')} Chinese panel screenshots`);

      await page.reload();
      await page.evaluate(() => window.ropeViz.ready.then(() => true));
      assert.equal((await view()).lang, 'zh-CN', 'reload lost the Chinese choice');
      assert.match((await view()).heading, /频率/);
      // A new tab without ?lang= has only localStorage to go by.
      const second = await context.newPage();
      await second.goto(`${origin}/app/?test=1`);
      await second.waitForFunction(() => window.ropeViz && window.ropeViz.ready);
      await second.evaluate(() => window.ropeViz.ready.then(() => true));
      assert.equal(await second.evaluate(() => document.documentElement.lang), 'zh-CN', 'stored language not used by a new tab');
      await second.close();

      await page.click('#lang-switch');
      await page.waitForFunction(() => document.documentElement.lang === 'en');
      await settle(page);
      assert.match((await view()).heading, /Frequenc/);
      await page.reload();
      await page.evaluate(() => window.ropeViz.ready.then(() => true));
      assert.equal((await view()).lang, 'en', 'reload lost the English choice');
      t.diagnostic(`screenshots in ${SCREENSHOT_DIR}`);
    });
    // ?lang= wins over what was stored.
    await withPage('?test=1&lang=zh-CN', async ({ page }) => {
      assert.equal(await viz(page, () => document.documentElement.lang), 'zh-CN');
    });
  });

  it('canvases have role and label', async () => {
    await withPage('?test=1', async ({ page }) => {
      for (const preset of [DEFAULT_PRESET, ...FOCUS_PRESETS]) {
        await choosePresetByApi(page, preset);
        await assertCanvasesLabelled(page, preset);
      }
      await page.fill('#panel-rotation [data-role=pairs]', '0, 5, 9, 20');
      await page.press('#panel-rotation [data-role=pairs]', 'Enter');
      await page.waitForFunction(() => window.ropeViz.panels.rotation.pairs.length === 4);
      await settle(page);
      const count = await assertCanvasesLabelled(page, 'four rotation pairs');
      assert.ok(count >= 4);
    });
  });

  it('bug lab badges by position', async (t) => {
    await withPage('?test=1', async ({ page }) => {
      if (!(await viz(page, () => Boolean(window.ropeViz.panels.buglab)))) {
        t.diagnostic('no bug lab panel on the page; skipped');
        return;
      }
      const toggle = page.locator('#panel-buglab input[type=checkbox]').first();
      const slider = page.locator('#panel-buglab input[type=range]').first();
      assert.equal(await toggle.count(), 1, 'bug lab has no checkbox to turn the bug on');
      assert.equal(await slider.count(), 1, 'bug lab has no position slider');
      const lab = () => viz(page, () => ({
        data: window.ropeViz.panels.buglab,
        pass: document.querySelectorAll('#panel-buglab .badge.pass').length,
        fail: document.querySelectorAll('#panel-buglab .badge.fail').length,
        mainFail: document.querySelectorAll('#panel-invariants .badge.fail').length,
      }));
      const redBadges = (data) => Object.entries(data.badges).filter(([, badge]) => !badge.holds).map(([id]) => id);

      // Home puts the slider at 0, like a reader using the keyboard.
      await slider.press('Home');
      await page.waitForFunction(() => window.ropeViz.panels.buglab.m === 0);
      await settle(page);
      let seen = await lab();
      assert.equal(seen.data.bugOn, false);
      assert.deepEqual(redBadges(seen.data), [], 'bug off at position 0');
      assert.equal(seen.fail, 0, 'bug off at position 0: red badges on screen');

      await toggle.check();
      await page.waitForFunction(() => window.ropeViz.panels.buglab.bugOn === true);
      await settle(page);
      seen = await lab();
      t.diagnostic(`bug on at 0: ${JSON.stringify(seen.data.badges)}`);
      assert.deepEqual(redBadges(seen.data), [], 'bug on at position 0: every badge should stay green');
      assert.equal(seen.fail, 0, 'bug on at position 0: red badges on screen');
      assert.ok(seen.pass > 0, 'bug on at position 0: no green badge on screen');

      for (const [key, want] of [['ArrowRight', 1], ['End', null]]) {
        await slider.press(key);
        await page.waitForFunction((m) => (m === null ? window.ropeViz.panels.buglab.m > 1 : window.ropeViz.panels.buglab.m === m), want);
        await settle(page);
        seen = await lab();
        const where = `bug on at position ${seen.data.m}`;
        t.diagnostic(`${where}: ${JSON.stringify(seen.data.badges)}`);
        assert.ok(seen.fail > 0, `${where}: no red badge on screen`);
        assert.ok(redBadges(seen.data).includes('norm'), `${where}: pair norm badge not red`);
        assert.ok(redBadges(seen.data).includes('relative'), `${where}: relative position badge not red`);
        assert.equal(seen.mainFail, 0, `${where}: the lab's bug leaked into the invariant badges`);
      }

      await toggle.uncheck();
      await page.waitForFunction(() => window.ropeViz.panels.buglab.bugOn === false);
      await settle(page);
      seen = await lab();
      assert.deepEqual(redBadges(seen.data), [], `bug off at position ${seen.data.m}`);
      assert.equal(seen.fail, 0, `bug off at position ${seen.data.m}: red badges on screen`);
    });
  });

  it('optional panels match float64', async (t) => {
    await withPage('?test=1', async ({ page }) => {
      const panels = await viz(page, () => {
        const p = window.ropeViz.panels;
        return { angles: p.angles, spiral: p.spiral, precision: p.precision, scaling: p.scaling };
      });
      const { values: theta, ref } = await expectedInvFreq(DEFAULT_PRESET, await viz(page, () => window.ropeViz.rope.seqLen));
      const nPairs = ref.rotaryDim / 2;
      const checked = [];

      if (panels.angles) {
        const { sample, pairs } = panels.angles;
        assert.equal(pairs, nPairs);
        if (panels.angles.view === 'angle') {
          sample.values.forEach((angle, i) => {
            const gap = angleGap(angle, sample.position * theta[i]);
            assert.ok(Math.abs(gap) <= ANGLE_ABS, `angle map row ${sample.position} pair ${i}: ${angle}, off by ${gap}`);
          });
        }
        checked.push('angles');
      }

      if (panels.spiral) {
        const { r, re, im, bound, boundAtZero } = panels.spiral;
        assert.equal(re.length, nPairs + 1, 'spiral should contain d/2 + 1 partial sums');
        // Each float32 table entry is off by up to TABLE_ABS, and a partial sum adds d/2 of them.
        const tol = nPairs * TABLE_ABS;
        let x = 0;
        let y = 0;
        let total = 0;
        for (let j = 0; j < nPairs; j++) {
          x += Math.cos(r * theta[j]);
          y += Math.sin(r * theta[j]);
          total += Math.hypot(x, y);
          assert.ok(Math.abs(re[j + 1] - x) <= tol, `spiral re[${j + 1}] at r=${r}: ${re[j + 1]}, float64 ${x}`);
          assert.ok(Math.abs(im[j + 1] - y) <= tol, `spiral im[${j + 1}] at r=${r}: ${im[j + 1]}, float64 ${y}`);
        }
        assert.ok(Math.abs(bound - total / nPairs) <= tol, `spiral bound at r=${r}: ${bound}, float64 ${total / nPairs}`);
        // At r = 0 every arrow points the same way, so |S_j| = j and the mean is (d/2 + 1) / 2.
        assert.ok(Math.abs(boundAtZero - (nPairs + 1) / 2) <= 1e-9, `spiral B(0) = ${boundAtZero}`);
        checked.push('spiral');
      }

      if (panels.precision) {
        const { collapse, bf16Examples, fp16Examples, maxError } = panels.precision;
        // bfloat16 keeps 8 significant bits and float16 keeps 11, so 2^8 + 1 and
        // 2^11 + 1 are the first integer positions that round onto a neighbour.
        assert.equal(collapse.bfloat16, 2 ** 8);
        assert.equal(collapse.float16, 2 ** 11);
        assert.equal(bf16Examples[0].stored, bf16Examples[1].stored, 'bfloat16 examples should collide');
        assert.equal(fp16Examples[0].stored, fp16Examples[1].stored, 'float16 examples should collide');
        assert.ok(maxError.wasm <= TABLE_ABS, `precision lab: our table's cos error ${maxError.wasm}`);
        checked.push('precision');
      }

      if (panels.scaling?.rules?.linear && panels.scaling.factor > 1) {
        const { factor, rules, attentionFactor } = panels.scaling;
        const base = rules.linear.base;
        const d = ref.rotaryDim;
        const unscaled = rules.linear.theta.map((_, i) => base ** (-2 * i / d));
        assertRel(rules.linear.theta, unscaled.map((th) => th / factor), INV_FREQ_REL, 'scaling lab linear theta');
        if (attentionFactor?.yarn !== undefined) {
          const yarn = 0.1 * Math.log(factor) + 1;
          assert.ok(Math.abs(attentionFactor.yarn - yarn) <= SCALING_REL * yarn, `scaling lab YaRN attention ${attentionFactor.yarn}, expected ${yarn}`);
        }
        if (rules.ntk) {
          const ntkBase = base * factor ** (d / (d - 2));
          assert.ok(Math.abs(rules.ntk.base - ntkBase) <= SCALING_REL * ntkBase, `scaling lab NTK base ${rules.ntk.base}, expected ${ntkBase}`);
        }
        checked.push('scaling');
      }

      const deviations = await viz(page, () => Object.entries(window.ropeViz.panels)
        .filter(([, data]) => data && 'referenceDeviation' in data)
        .map(([id, data]) => [id, data.referenceDeviation]));
      for (const [id, value] of deviations) {
        assert.ok(value === null || Number.isFinite(value), `panel ${id}: referenceDeviation ${value}`);
      }
      t.diagnostic(`checked: ${checked.join(', ') || 'none present'}; referenceDeviation: ${JSON.stringify(Object.fromEntries(deviations))}`);
    });
  });

  it('rejected inputs show messages', async () => {
    await withPage('?test=1', async ({ page }) => {
      const position = '#panel-rotation [data-role=position]';
      const fieldState = (selector) => page.evaluate((sel) => {
        const input = document.querySelector(sel);
        const id = input.getAttribute('aria-describedby');
        const message = id ? document.getElementById(id) : null;
        return { invalid: input.getAttribute('aria-invalid'), text: message && !message.hidden ? message.textContent : '', value: input.value };
      }, selector);

      for (const bad of ['-5', '12.5']) {
        await typeInto(page, position, bad);
        const seen = await fieldState(position);
        assert.equal(seen.invalid, 'true', `${bad}: field not marked invalid`);
        assert.ok(seen.text.includes(bad), `${bad}: message "${seen.text}" does not name the value`);
        assert.match(seen.text, /0 to 2147483647/, `${bad}: message does not name the range`);
        assert.equal(await viz(page, () => window.ropeViz.state.m), 100, `${bad} changed the position`);
        assert.match(page.url(), /[?&]m=100(&|$)/, `${bad} reached the address bar`);
      }
      // The message follows the language.
      await page.evaluate(() => window.ropeViz.setLanguage('zh-CN').then(() => true));
      const chinese = await fieldState(position);
      assert.match(chinese.text, /[\u4e00-\u9fff]/, `message not translated: ${chinese.text}`);
      assert.ok(chinese.text.includes('12.5'), `translated message lost the value: ${chinese.text}`);
      await page.evaluate(() => window.ropeViz.setLanguage('en').then(() => true));

      // Leaving the field shows the position in effect again.
      await page.locator('#panel-heatmap [data-role=seed]').focus();
      assert.equal((await fieldState(position)).value, '100', 'field not restored on blur');

      // Any int32 position is valid: the slider rests at its end, the box keeps the exact value.
      await typeInto(page, position, 999999);
      await page.waitForFunction(() => window.ropeViz.panels.rotation.m === 999999);
      await settle(page);
      const accepted = await fieldState(position);
      assert.equal(accepted.invalid, null, 'a valid position left the field marked invalid');
      assert.equal(accepted.text, '', 'a valid position left the message on screen');
      const sliderMax = await page.getAttribute('#panel-rotation [data-role=slider]', 'max');
      assert.equal(await page.inputValue('#panel-rotation [data-role=slider]'), sliderMax, 'slider not at its end');
      assert.equal(await viz(page, () => window.ropeViz.panels.invariants.m), 999999, 'live checks did not follow');
      assert.equal(await viz(page, () => window.ropeViz.panels.invariants.normHolds), true, 'pair norm at m = 999999');

      // The other numeric fields of the panels: a bad value, then a good one.
      for (const [selector, bad, range, good, key] of [
        ['#panel-rotation [data-role=key]', '-1', /0 to 2147483647/, '7', 'n'],
        ['#panel-heatmap [data-role=row]', '128', /0 to 127/, '3', 'row'],
        ['#panel-heatmap [data-role=seed]', '1.5', /0 to 4294967295/, '11', 'seed'],
        ['#panel-spiral [data-role=r]', '3000000000', /0 to 2147483647/, '500', 'spiralR'],
        ['#panel-scaling [data-role=factor]', '0.5', /at least 1/, '8', 'scaleFactor'],
      ]) {
        const before = await viz(page, () => JSON.stringify(window.ropeViz.state));
        await typeInto(page, selector, bad);
        const seen = await fieldState(selector);
        assert.equal(seen.invalid, 'true', `${selector} ${bad}: not marked invalid`);
        assert.ok(seen.text.includes(bad), `${selector} ${bad}: message "${seen.text}" does not name the value`);
        assert.match(seen.text, range, `${selector} ${bad}: message "${seen.text}" does not name the range`);
        assert.equal(await viz(page, () => JSON.stringify(window.ropeViz.state)), before, `${selector} ${bad} changed the state`);
        await typeInto(page, selector, good);
        await page.waitForFunction(([name, want]) => window.ropeViz.state[name] === want, [key, Number(good)]);
        assert.equal((await fieldState(selector)).text, '', `${selector}: message stayed after ${good}`);
      }
      await settle(page);
    });
  });

  it('stale config message clears', async () => {
    await withPage('?test=1', async ({ page }) => {
      const rejectConfig = async () => {
        await page.evaluate(() => { document.getElementById('config-details').open = true; });
        await page.fill('#config-text', '{"head_dim": 64, "rope_theta": -1}');
        await page.click('#config-use');
        await page.waitForFunction(() => !document.getElementById('config-error').hidden);
        const errors = await viz(page, () => window.ropeViz.errors.splice(0));
        assert.equal(errors.length, 1, `expected one rejected config, got ${JSON.stringify(errors)}`);
        assert.match(errors[0], /rope_theta/);
      };
      const hidden = () => viz(page, () => document.getElementById('config-error').hidden && document.getElementById('config-ok').hidden);

      await rejectConfig();
      await page.fill('#config-text', '');
      assert.equal(await hidden(), true, 'message stayed after clearing the box');

      await rejectConfig();
      await choosePresetByUi(page, 'gpt-j-6b');
      assert.equal(await hidden(), true, 'message stayed after choosing a preset');

      await rejectConfig();
      await typeInto(page, '#setting-base', 20000);
      await page.waitForFunction(() => window.ropeViz.rope.options.base === 20000);
      assert.equal(await hidden(), true, 'message stayed after editing a setting');

      // In Chinese the library's English message is introduced as such.
      await page.evaluate(() => window.ropeViz.setLanguage('zh-CN').then(() => true));
      await rejectConfig();
      assert.match(await page.textContent('#config-error'), /英文原文/);
      await page.fill('#config-text', '');
      await settle(page);
    });
  });

  it('labels, address keys and live bar', async () => {
    await withPage('?test=1&preset=qwen2.5-7b-yarn', async ({ page }) => {
      // YaRN options the config leaves out show as "not set", not as 0.
      for (const name of ['mscale', 'mscaleAllDim', 'attentionFactor']) {
        assert.equal(await page.inputValue(`#setting-${name}`), '', `${name} shows a value the config does not give`);
        assert.equal(await page.getAttribute(`#setting-${name}`, 'placeholder'), 'not set');
      }
      const maxLabel = () => page.textContent('label[for=setting-maxPositionEmbeddings]');
      await choosePresetByApi(page, 'gpt-j-6b');
      assert.equal(await maxLabel(), 'Max positions (context length)');
      await choosePresetByApi(page, DEFAULT_PRESET);
      assert.equal(await maxLabel(), 'Max positions (extended context)');

      // No Chinese on the English page except the language button; no symbol the fonts may lack.
      const english = await viz(page, () => document.body.innerText.replace(document.getElementById('lang-switch').textContent, ''));
      assert.deepEqual(english.match(/[\u3000-\u30ff\u4e00-\u9fff\uff00-\uffef]+/g) ?? [], [], 'Chinese text on the English page');
      assert.equal(/[\u23e9-\u23fa]/.test(english), false, 'media-control symbols in the page text');
      assert.equal(await page.locator('#panel-rotation button.play svg').count(), 1, 'play button has no drawn icon');

      // Panels are numbered in page order; the live-checks bar has no number.
      const titles = await page.$$eval('#panels section.panel h2', (list) => list.map((h) => h.textContent));
      titles.forEach((title, i) => assert.ok(title.startsWith(`${i + 1}. `), `panel ${i + 1} is titled "${title}"`));
      assert.doesNotMatch(await page.textContent('#panel-invariants-title'), /^\d/);

      // The address names the heatmap size N and the key position n; old addresses still load.
      await page.evaluate(() => window.ropeViz.setState({ heatmapSize: 64, row: 5, n: 9 }).then(() => true));
      assert.match(page.url(), /[?&]N=64(&|$)/);
      assert.match(page.url(), /[?&]n=9(&|$)/);
      await load({ page }, '?test=1&n=256&kn=12');
      assert.deepEqual(await viz(page, () => [window.ropeViz.state.heatmapSize, window.ropeViz.state.n]), [256, 12], 'old address');
      await load({ page }, '?test=1&N=32&n=5');
      assert.deepEqual(await viz(page, () => [window.ropeViz.state.heatmapSize, window.ropeViz.state.n]), [32, 5], 'new address');

      // The live-checks bar is opaque and one line high; on a phone it starts collapsed.
      const bar = () => viz(page, () => {
        const section = document.getElementById('panel-invariants');
        return {
          background: getComputedStyle(section).backgroundColor,
          height: section.getBoundingClientRect().height,
          badgesShown: section.querySelector('.badges').getClientRects().length > 0,
        };
      });
      const wide = await bar();
      assert.equal(wide.background, 'rgb(255, 255, 255)', 'live-checks bar is not opaque');
      assert.ok(wide.height < 60, `live-checks bar is ${wide.height} px high at 1280 px`);
      assert.equal(wide.badgesShown, true);
      await page.setViewportSize({ width: 390, height: 800 });
      const narrow = await bar();
      assert.ok(narrow.height < 60, `live-checks bar is ${narrow.height} px high at 390 px`);
      assert.equal(narrow.badgesShown, false, 'badges shown on a phone before opening');
      await page.click('#panel-invariants .details-toggle');
      assert.equal((await bar()).badgesShown, true, 'details toggle did not open the bar');
      assert.equal(await page.getAttribute('#panel-invariants .details-toggle', 'aria-expanded'), 'true');
      // Charts follow the new width a frame or two later.
      await page.waitForFunction(() => document.documentElement.scrollWidth <= window.innerWidth, null, { timeout: 3000 }).catch(() => {});
      const overflow = await viz(page, () => document.documentElement.scrollWidth - window.innerWidth);
      assert.ok(overflow <= 0, `page scrolls sideways by ${overflow} px at 390 px`);
      await settle(page);
    });
  });

  it('redraw time at heatmap 512', async (t) => {
    await withPage('?test=1', async ({ page }) => {
      await page.selectOption('#panel-heatmap [data-role=size]', '512');
      await page.waitForFunction(() => window.ropeViz.panels.heatmap.size === 512);
      await settle(page);
      assert.equal(await viz(page, () => window.ropeViz.rope.headDim), 128);
      const heat = await viz(page, () => {
        const { q, k, diagonalSpread } = window.ropeViz.panels.heatmap;
        const n = (v) => Math.sqrt(v.reduce((sum, x) => sum + x * x, 0));
        return { spread: diagonalSpread, bound: n(q) * n(k) };
      });
      assert.ok(heat.spread <= SCORE_REL_TO_BOUND * heat.bound, `512 x 512 heatmap diagonal spread ${heat.spread}`);

      const redraws = [{ name: 'heatmap size 512', timings: await viz(page, () => window.ropeViz.timings ?? null) }];
      // Each patch redraws the panels that depend on it. The wall time is measured
      // here too, so there is a number to print when the page keeps no timings.
      redraws.push(...await viz(page, async () => {
        const out = [];
        for (const [name, patch] of [['position', { m: 321 }], ['seed', { seed: 7 }], ['heatmap row', { row: 200 }], ['vectors', { vectors: 'same' }]]) {
          const start = performance.now();
          await window.ropeViz.setState(patch);
          const wall = performance.now() - start;
          out.push({ name, wall, timings: window.ropeViz.timings ? structuredClone(window.ropeViz.timings) : null });
        }
        return out;
      }));
      const round = (key, value) => (typeof value === 'number' ? Number(value.toFixed(1)) : value);
      for (const redraw of redraws) t.diagnostic(`redraw ${redraw.name}: ${JSON.stringify({ wallMs: redraw.wall, timings: redraw.timings }, round)}`);

      if (redraws.every((redraw) => redraw.timings === null)) {
        t.diagnostic('ropeViz.timings not present; budget not asserted');
        return;
      }
      const slow = [];
      for (const redraw of redraws) {
        // With deferred drawing, total adds up panels drawn in separate tasks, so no single
        // frame waits for it. The on-screen part (visible) and each panel are the frame costs.
        const deferred = Array.isArray(redraw.timings.deferred);
        const leaves = numericLeaves(redraw.timings).filter(([path]) => !(deferred && path === 'timings.total'));
        assert.ok(leaves.length > 0, `ropeViz.timings after ${redraw.name} contains no numbers`);
        for (const [path, ms] of leaves) if (!(ms < REDRAW_BUDGET_MS)) slow.push(`${redraw.name}: ${path} = ${ms.toFixed(1)} ms`);
      }
      assert.deepEqual(slow, [], `redraws over ${REDRAW_BUDGET_MS} ms with d = 128 and a 512 x 512 heatmap`);
    });
  });
});
