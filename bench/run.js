#!/usr/bin/env node
// Benchmark: rope-wasm (SIMD128 and scalar builds, zero-copy and with
// copies) beside plain JavaScript, tfjs-core on its wasm backend,
// onnxruntime-node's RotaryEmbedding and two limits (in-place v128
// load/store pass, memory.copy), one child process per shape.
//
// Usage: node run.js [--quick] [--filter TEXT]
//   --quick        head_dim 128 only, fewer repetitions (about a minute)
//   --filter TEXT  only shapes whose label contains TEXT
// Prints a table and the targets; writes bench/results/<time>.json.

import { spawnSync } from 'node:child_process';
import { mkdirSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { fileURLToPath } from 'node:url';

import * as peers from './lib/peers.js';

const HERE = fileURLToPath(new URL('.', import.meta.url));
const argv = process.argv.slice(2);
const QUICK = argv.includes('--quick');
const filterAt = argv.indexOf('--filter');
const FILTER = filterAt >= 0 ? argv[filterAt + 1] : null;

// Output tolerance against the float64 reference: inputs are in [-1, 1);
// float32 tables and products put every peer within a few 1e-7.
const CHECK_ABS = 1e-5;

// ------------------------------------------------------------------ shapes

function shapeLabel(s) {
  if (s.kind === 'table') return `table ${s.nTokens}x${s.headDim / 2}`;
  const heads = s.nKHeads ? `${s.nQHeads}+${s.nKHeads}h` : `${s.nQHeads}h`;
  const where = s.kind === 'decode' ? `decode@${s.position}` : `${s.nTokens}t`;
  return `d${s.headDim} ${heads} ${where} ${s.layout} ${s.interleaved ? 'inter' : 'half'}`;
}

function shapes() {
  const list = [];
  const dims = QUICK ? [128] : [64, 80, 128];
  const pairings = [false, true];
  const layouts = ['thd', 'htd'];
  for (const headDim of dims) {
    list.push({ kind: 'table', headDim, nTokens: 2048, nQHeads: 0, nKHeads: 0 });
    for (const position of [4096, 1000000]) {
      for (const interleaved of pairings) {
        list.push({ kind: 'decode', headDim, nTokens: 1, nQHeads: 32, nKHeads: 8, position, layout: 'thd', interleaved });
      }
    }
    for (const nTokens of QUICK ? [128, 2048, 8192] : [128, 2048, 8192]) {
      for (const layout of layouts) {
        for (const interleaved of pairings) {
          if (QUICK && nTokens === 8192 && interleaved) continue;
          list.push({ kind: 'prefill', headDim, nTokens, nQHeads: 32, nKHeads: 0, layout, interleaved });
        }
      }
    }
    if (headDim === 128) {
      for (const nTokens of QUICK ? [128] : [128, 2048]) {
        for (const layout of layouts) {
          list.push({ kind: 'prefill', headDim, nTokens, nQHeads: 32, nKHeads: 8, layout, interleaved: false });
        }
      }
    }
  }
  return list.map((s) => ({ ...s, label: shapeLabel(s) }));
}

// ------------------------------------------------------------------ timing

function now() { return Number(process.hrtime.bigint()); }

/**
 * Times several peers of one shape in interleaved rounds (one sample of
 * each peer per round), so that a burst of load from other processes hits
 * every peer alike instead of one. Each peer first warms up (at least 2
 * calls and 30 ms); its calls are then grouped into samples of at least
 * sampleNs so that short calls are timed well above the clock's
 * resolution, and its number of samples shrinks for slow calls to stay
 * within its budget (never below its minimum). Returns the median and the
 * fastest ns per call of each peer.
 */
async function measureAll(list) {
  const plans = [];
  for (const { peer, budgetNs, samples, minSamples } of list) {
    let start = now();
    let calls = 0;
    do {
      if (peer.async) await peer.run(); else peer.run();
      calls++;
    } while (calls < 2 || (now() - start < 3e7 && calls < 5000));
    const estimate = (now() - start) / calls;
    const perSample = Math.max(1, Math.ceil(2e6 / estimate));
    const count = Math.max(minSamples, Math.min(samples, Math.floor(budgetNs / (estimate * perSample))));
    plans.push({ peer, perSample, count, times: [] });
  }
  const rounds = Math.max(...plans.map((p) => p.count));
  for (let round = 0; round < rounds; round++) {
    for (const plan of plans) {
      if (plan.times.length >= plan.count) continue;
      const { peer, perSample } = plan;
      const start = now();
      if (peer.async) {
        for (let c = 0; c < perSample; c++) await peer.run();
      } else {
        for (let c = 0; c < perSample; c++) peer.run();
      }
      plan.times.push((now() - start) / perSample);
    }
  }
  return plans.map(({ times, perSample }) => {
    times.sort((a, b) => a - b);
    return { ns: times[times.length >> 1], min: times[0], samples: times.length, callsPerSample: perSample };
  });
}

// ------------------------------------------------------------------ reference

function makeInputs(shape) {
  let state = 0x9e3779b9 ^ (shape.headDim * 7919 + shape.nTokens);
  const next = () => {
    state ^= state << 13; state ^= state >>> 17; state ^= state << 5;
    return ((state >>> 0) / 2 ** 32) * 2 - 1;
  };
  return peers.tensorsOf(shape).map((t) => Float32Array.from({ length: t.length }, next));
}

/** Largest |out - reference| over the checked tokens (all, or every 7th past 2048 tokens). */
function checkError(shape, inputs, outputs, positions, freq) {
  const half = shape.headDim / 2;
  const step = shape.nTokens > 2048 ? 7 : 1;
  let worst = 0;
  peers.tensorsOf(shape).forEach((ts, j) => {
    const x = inputs[j];
    const out = outputs[j];
    for (let t = 0; t < shape.nTokens; t += step) {
      const p = positions[t];
      for (let i = 0; i < half; i++) {
        const c = Math.cos(p * freq[i]);
        const s = Math.sin(p * freq[i]);
        const [lo, hi] = peers.pairSlots(shape.interleaved, half, i);
        for (let h = 0; h < ts.heads; h++) {
          const base = peers.vecOffset(shape.layout, t, h, shape.nTokens, ts.heads, shape.headDim);
          const a = x[base + lo];
          const b = x[base + hi];
          worst = Math.max(worst, Math.abs(out[base + lo] - (a * c - b * s)), Math.abs(out[base + hi] - (a * s + b * c)));
        }
      }
    }
  });
  return worst;
}

function tableError(positions, freq, table) {
  const half = freq.length;
  let worst = 0;
  for (let t = 0; t < positions.length; t++) {
    for (let i = 0; i < half; i++) {
      const a = positions[t] * freq[i];
      worst = Math.max(worst, Math.abs(table.cos[t * half + i] - Math.cos(a)), Math.abs(table.sin[t * half + i] - Math.sin(a)));
    }
  }
  return worst;
}

// ------------------------------------------------------------------ child

async function child(shape) {
  const freq = peers.invFreq(shape.headDim);
  const positions = shape.kind === 'decode' ? [shape.position] : Array.from({ length: shape.nTokens }, (_, t) => t);
  const big = shape.nTokens * (shape.nQHeads + shape.nKHeads) * shape.headDim >= 2 ** 24;
  const budgetNs = (QUICK ? 0.25 : 0.8) * 1e9;
  const samples = QUICK ? 7 : 15;

  const entries = [];
  if (shape.kind === 'table') {
    for (const backend of ['simd128', 'scalar']) {
      entries.push([`rope-wasm ${backend} table()`, () => peers.ropeTable(backend, shape.headDim, positions, false), 'table']);
      entries.push([`rope-wasm ${backend} table in wasm`, () => peers.ropeTable(backend, shape.headDim, positions, true), 'table']);
    }
    entries.push(['plain JS Math.cos/sin table', () => peers.plainJsTable(positions, freq), 'table']);
  }
  const inputs = shape.kind === 'table' ? null : makeInputs(shape);
  if (shape.kind !== 'table') {
    const decode = shape.kind === 'decode';
    for (const backend of ['simd128', 'scalar']) {
      entries.push([`rope-wasm ${backend} zero-copy`, () => peers.ropeZeroCopy(backend, shape, inputs, positions), 'apply']);
      entries.push([`rope-wasm ${backend} zero-copy, reused table`, () => peers.ropeZeroCopyTable(backend, shape, inputs, positions), 'apply']);
      entries.push([`rope-wasm ${backend} copy in/out`, () => peers.ropeCopy(backend, shape, inputs, positions), 'apply']);
    }
    entries.push(['plain JS', () => peers.plainJs(shape, inputs, positions, freq, { decode }), 'apply']);
    if (!decode) {
      entries.push(['plain JS table+apply', () => peers.plainJs(shape, inputs, positions, freq, { withTable: true }), 'apply']);
      entries.push(['plain JS table', () => peers.plainJsTable(positions, freq), 'table']);
      entries.push(['rope-wasm simd128 table()', () => peers.ropeTable('simd128', shape.headDim, positions, false), 'table']);
    }
    if (!(QUICK && big)) entries.push(['tfjs-wasm', () => peers.tfjsPeer(shape, inputs, positions, freq, { decode }), 'apply']);
    entries.push(['onnxruntime-node', () => peers.ortPeer(shape, inputs, positions, freq, { decode }), 'apply']);
    entries.push(['limit: v128 load/store', () => peers.limits('loadstore', inputs), 'limit']);
    entries.push(['limit: memory.copy', () => peers.limits('copy', inputs), 'limit']);

  }
  // Set up and check every peer, then time them together.
  const live = [];
  for (const [name, make, role] of entries) {
    const peer = await make();
    let error = null;
    if (role === 'apply') {
      error = checkError(shape, inputs, await peer.output(), positions, freq);
    } else if (role === 'table') {
      error = tableError(positions, freq, await peer.output());
    }
    if (error !== null && !(error <= (role === 'table' ? 2e-6 : CHECK_ABS))) {
      throw new Error(`${shape.label}: ${name} is off the float64 reference by ${error}`);
    }
    const slow = name.startsWith('tfjs') && big;
    live.push({ name, role, error, peer, budgetNs: slow ? 2 * budgetNs : budgetNs, samples, minSamples: slow ? 2 : 3 });
  }
  const timings = await measureAll(live);
  for (const entry of live) entry.peer.teardown();
  return live.map(({ name, role, error }, j) => ({ name, role, error, ...timings[j] }));
}

// ------------------------------------------------------------------ report

function elementsOf(shape) {
  if (shape.kind === 'table') return shape.nTokens * (shape.headDim / 2);
  return shape.nTokens * (shape.nQHeads + shape.nKHeads) * shape.headDim;
}

const fmt = (x, digits = 3) => (x >= 100 ? x.toFixed(0) : x >= 10 ? x.toFixed(1) : x.toPrecision(digits));

function printShape(shape, results) {
  const n = elementsOf(shape);
  const by = Object.fromEntries(results.map((r) => [r.name, r]));
  const ours = by['rope-wasm simd128 zero-copy'] ?? by['rope-wasm simd128 table in wasm'];
  console.log(`\n== ${shape.label}  (${n} ${shape.kind === 'table' ? 'cos/sin pairs' : 'elements'})`);
  console.log(`${'peer'.padEnd(42)} ${'time'.padStart(10)} ${'ns/elem'.padStart(9)} ${'GB/s'.padStart(7)} ${'vs ours'.padStart(8)}  max err`);
  for (const r of results) {
    const time = r.ns >= 1e6 ? `${fmt(r.ns / 1e6)} ms` : `${fmt(r.ns / 1e3)} us`;
    // Bytes moved: the tensors read and written once (tables: both written once).
    const bytes = shape.kind === 'table' ? 8 * n : 8 * n;
    const gbs = r.role === 'table' && shape.kind !== 'table' ? '' : fmt(bytes / r.ns);
    const perElem = r.role === 'table' && shape.kind !== 'table'
      ? fmt(r.ns / (shape.nTokens * shape.headDim / 2)) + '*' : fmt(r.ns / n);
    console.log(`${r.name.padEnd(42)} ${time.padStart(10)} ${perElem.padStart(9)} ${gbs.padStart(7)} ${(ours ? fmt(r.ns / ours.ns) + 'x' : '').padStart(8)}  ${r.error === null ? '' : r.error.toExponential(1)}`);
  }
}

function targets(all) {
  const lines = [];
  const add = (text, ratio, goal, higherIsBetter, detail = '') => {
    const met = higherIsBetter ? ratio >= goal : ratio <= goal;
    lines.push({ text, ratio, goal, met, detail });
  };
  const get = (shape, name) => all.find((e) => e.shape.label === shape.label)?.results.find((r) => r.name === name);
  const prefill = all.filter((e) => e.shape.kind === 'prefill');
  // The zero-copy targets compare our apply with a reused table (rows made
  // once, outside the timing), as plain JS and onnxruntime-node get theirs.
  const REUSED = 'rope-wasm simd128 zero-copy, reused table';
  // 1. zero-copy vs plain JS and ORT, every prefill shape (worst case printed).
  let worstJs = null;
  let worstOrt = null;
  for (const { shape } of prefill) {
    const ours = get(shape, REUSED);
    const js = get(shape, 'plain JS');
    const ortr = get(shape, 'onnxruntime-node');
    const rj = js.ns / ours.ns;
    const ro = ortr.ns / ours.ns;
    if (!worstJs || rj < worstJs.r) worstJs = { r: rj, label: shape.label };
    if (!worstOrt || ro < worstOrt.r) worstOrt = { r: ro, label: shape.label };
  }
  if (worstJs) {
    // What the load/store limit allows: plain JS over the time of a pass
    // that only loads and stores the same bytes. A shape whose ceiling is
    // near or below 12 cannot reach 12x, whatever the kernel.
    const misses = prefill.filter(({ shape }) => get(shape, 'plain JS').ns / get(shape, REUSED).ns < 12)
      .map(({ shape }) => {
        const js = get(shape, 'plain JS').ns;
        return `${shape.label}: ${(js / get(shape, REUSED).ns).toFixed(1)}x, ceiling ${(js / get(shape, 'limit: v128 load/store').ns).toFixed(1)}x`;
      });
    const ceilingBelow = prefill.filter(({ shape }) => get(shape, 'plain JS').ns / get(shape, 'limit: v128 load/store').ns < 12);
    const outOfReach = ceilingBelow.length
      ? `; out of reach in this run on ${ceilingBelow.length} of ${prefill.length} shapes, whose ceiling is under 12x`
      : '';
    add('zero-copy apply (reused table) >= 12x plain JS (cached table), every prefill shape (worst shown)', worstJs.r, 12, true,
      misses.length
        ? `${worstJs.label}; ${prefill.length - misses.length} of ${prefill.length} shapes at 12x${outOfReach}; below 12x, with plain JS / load-store limit as ceiling: ${misses.join('; ')}`
        : worstJs.label);
    add('zero-copy apply (reused table) >= 3x onnxruntime-node (cached table), every prefill shape (worst shown)', worstOrt.r, 3, true, worstOrt.label);
  }
  // 2. Out of cache: 8192 x 32 x 128 vs the load/store limit.
  for (const { shape } of prefill.filter((e) => e.shape.nTokens === 8192 && e.shape.headDim === 128 && !e.shape.nKHeads)) {
    const ours = get(shape, REUSED);
    const lim = get(shape, 'limit: v128 load/store');
    add('out of cache (reused table) within 1.3x of the v128 load/store limit', ours.ns / lim.ns, 1.3, false, shape.label);
  }
  // 3. Copy in/out vs plain JS (worst prefill shape).
  let worstCopy = null;
  for (const { shape } of prefill) {
    const r = get(shape, 'plain JS').ns / get(shape, 'rope-wasm simd128 copy in/out').ns;
    if (!worstCopy || r < worstCopy.r) worstCopy = { r, label: shape.label };
  }
  if (worstCopy) add('copy in/out >= 3x plain JS, every prefill shape (worst shown)', worstCopy.r, 3, true, worstCopy.label);
  // 4. Decode, head_dim 128, q 32 + k 8: apply with the position, its row
  // computed in the call (a decode step's new position has no table yet).
  for (const { shape } of all.filter((e) => e.shape.kind === 'decode' && e.shape.headDim === 128)) {
    const ours = get(shape, 'rope-wasm simd128 zero-copy');
    add('decode within 2.5x of the v128 load/store pass over q and k', ours.ns / get(shape, 'limit: v128 load/store').ns, 2.5, false, shape.label);
    add('decode >= 4x plain JS with Math.cos/Math.sin', get(shape, 'plain JS').ns / ours.ns, 4, true, shape.label);
  }
  // 5. Tables 2048 x 64.
  for (const { shape } of all.filter((e) => e.shape.kind === 'table' && e.shape.headDim === 128)) {
    const js = get(shape, 'plain JS Math.cos/sin table');
    add('table 2048 x 64 >= 3x a JS Math.cos/Math.sin loop (rope.table(), copies included)', js.ns / get(shape, 'rope-wasm simd128 table()').ns, 3, true, shape.label);
  }
  // 6. Size of each .wasm build (40 KB read as 40,000 bytes).
  for (const name of ['rope-simd128.wasm', 'rope-scalar.wasm']) {
    const bytes = statSync(new URL(`../web/wasm/${name}`, import.meta.url)).size;
    add(`${name} <= 40 KB (ratio = bytes / 40,000)`, bytes / 40000, 1, false, `${bytes} bytes`);
  }
  return lines;
}

async function parent() {
  const list = shapes().filter((s) => !FILTER || s.label.includes(FILTER));
  const started = Date.now();
  const all = [];
  for (const shape of list) {
    // Other processes on this machine skew every figure: wait (up to 3 s)
    // for the 1-minute load average to drop below one core's worth.
    const waitStart = Date.now();
    while (os.loadavg()[0] > 1.2 && Date.now() - waitStart < 3000) {
      await new Promise((resolve) => { setTimeout(resolve, 1000); });
    }
    shape.loadavg = os.loadavg()[0];
    const child = spawnSync(process.execPath, ['--max-old-space-size=8192', fileURLToPath(import.meta.url), '--child', JSON.stringify(shape), ...(QUICK ? ['--quick'] : [])], {
      cwd: HERE, encoding: 'utf8', maxBuffer: 64 << 20, stdio: ['ignore', 'pipe', 'inherit'],
    });
    if (child.status !== 0) {
      console.error(`shape ${shape.label} failed (exit ${child.status})`);
      process.exitCode = 1;
      continue;
    }
    const results = JSON.parse(child.stdout.trim().split('\n').pop());
    all.push({ shape, results });
    printShape(shape, results);
  }
  const lines = targets(all);
  console.log('\n== targets');
  for (const l of lines) {
    const ratio = l.ratio >= 10 ? l.ratio.toFixed(1) : l.ratio.toFixed(2);
    console.log(`${l.met ? 'met    ' : 'NOT met'}  ${ratio.padStart(6)}x (goal ${l.goal}x)  ${l.text}${l.detail ? `  [${l.detail}]` : ''}`);
  }
  const seconds = (Date.now() - started) / 1000;
  console.log(`\n${list.length} shapes in ${seconds.toFixed(0)} s`);
  const machine = {
    cpu: os.cpus()[0]?.model, cores: os.cpus().length, node: process.version, platform: `${os.platform()} ${os.arch()}`,
  };
  mkdirSync(`${HERE}results`, { recursive: true });
  const file = `${HERE}results/${new Date().toISOString().replace(/[:.]/g, '-')}${QUICK ? '-quick' : ''}.json`;
  writeFileSync(file, `${JSON.stringify({ machine, quick: QUICK, seconds, shapes: all, targets: lines }, null, 1)}\n`);
  console.log(`wrote ${file}`);
}

if (argv[0] === '--child') {
  const results = await child(JSON.parse(argv[1]));
  process.stdout.write(`${JSON.stringify(results)}\n`);
} else {
  await parent();
}
