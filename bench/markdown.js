#!/usr/bin/env node
// Prints the results of one benchmark run as Markdown tables (for
// docs/benchmarks.md): one row per shape with the median ns/element of each
// peer, then the targets with their ratios.
//
// Usage: node markdown.js [results.json]   (default: the newest full run)

import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const resultsDir = fileURLToPath(new URL('./results/', import.meta.url));
const input = process.argv[2]
  ?? resultsDir + readdirSync(resultsDir).filter((f) => f.endsWith('.json') && !f.includes('quick')).sort().pop();
const data = JSON.parse(readFileSync(input, 'utf8'));

const REUSED = 'rope-wasm simd128 zero-copy, reused table';
const COLUMNS = [
  ['rope-wasm simd128 zero-copy', 'ours SIMD'],
  [REUSED, 'ours SIMD reused table'],
  ['rope-wasm scalar zero-copy', 'ours scalar'],
  ['rope-wasm simd128 copy in/out', 'ours SIMD copy'],
  ['plain JS', 'plain JS'],
  ['onnxruntime-node', 'ORT'],
  ['tfjs-wasm', 'tfjs-wasm'],
  ['limit: v128 load/store', 'v128 ld/st'],
  ['limit: memory.copy', 'memory.copy'],
];

const num = (x) => (x >= 100 ? x.toFixed(0) : x >= 10 ? x.toFixed(1) : x >= 1 ? x.toFixed(2) : x.toFixed(3));
const elements = (s) => s.nTokens * (s.nQHeads + s.nKHeads) * s.headDim;

console.log(`ns per element (median), ${data.machine.cpu}, ${data.machine.cores} cores, node ${data.machine.node}. "ours SIMD" computes the rows in the call; "reused table" takes them from rope.wasmTable(), made once outside the timing. The last three columns are the zero-copy ratios the targets use: the reused table for prefill, the rows computed in the call for decode (vs plain JS / vs ORT / time over the v128 load/store limit). "JS ceiling" is plain JS over the load/store limit: the ratio to plain JS that a kernel running at that limit would reach.\n`);
console.log(`| shape | ${COLUMNS.map(([, h]) => h).join(' | ')} | vs JS | vs ORT | / limit | JS ceiling |`);
console.log(`|---|${COLUMNS.map(() => '---:').join('|')}|---:|---:|---:|---:|`);
for (const { shape, results } of data.shapes) {
  if (shape.kind === 'table') continue;
  const by = Object.fromEntries(results.map((r) => [r.name, r]));
  const n = elements(shape);
  const cells = COLUMNS.map(([name]) => (by[name] ? num(by[name].ns / n) : '-'));
  const ours = (shape.kind === 'prefill' && by[REUSED] ? by[REUSED] : by['rope-wasm simd128 zero-copy']).ns;
  const ratio = (name, inverse) => (by[name] ? `${num(inverse ? ours / by[name].ns : by[name].ns / ours)}` : '-');
  const limit = by['limit: v128 load/store'];
  const ceiling = by['plain JS'] && limit ? num(by['plain JS'].ns / limit.ns) : '-';
  console.log(`| ${shape.label} | ${cells.join(' | ')} | ${ratio('plain JS')} | ${ratio('onnxruntime-node')} | ${ratio('limit: v128 load/store', true)} | ${ceiling} |`);
}

console.log('\nTables (cos and sin for every position and frequency), median time per call:\n');
console.log('| shape | ours SIMD table() | ours SIMD in wasm | ours scalar table() | plain JS Math.cos/sin | JS / ours table() |');
console.log('|---|---:|---:|---:|---:|---:|');
for (const { shape, results } of data.shapes) {
  if (shape.kind !== 'table') continue;
  const by = Object.fromEntries(results.map((r) => [r.name, r]));
  const us = (name) => `${num(by[name].ns / 1e3)} us`;
  console.log(`| ${shape.label} | ${us('rope-wasm simd128 table()')} | ${us('rope-wasm simd128 table in wasm')} | ${us('rope-wasm scalar table()')} | ${us('plain JS Math.cos/sin table')} | ${num(by['plain JS Math.cos/sin table'].ns / by['rope-wasm simd128 table()'].ns)}x |`);
}

console.log('\nPrefill table generation alone and with apply (median per call):\n');
console.log('| shape | JS table | ours table() | JS table + apply | ours apply (table included) | ratio | ours apply (reused table) |');
console.log('|---|---:|---:|---:|---:|---:|---:|');
for (const { shape, results } of data.shapes) {
  if (shape.kind !== 'prefill') continue;
  const by = Object.fromEntries(results.map((r) => [r.name, r]));
  const us = (name) => `${num(by[name].ns / 1e3)} us`;
  console.log(`| ${shape.label} | ${us('plain JS table')} | ${us('rope-wasm simd128 table()')} | ${us('plain JS table+apply')} | ${us('rope-wasm simd128 zero-copy')} | ${num(by['plain JS table+apply'].ns / by['rope-wasm simd128 zero-copy'].ns)}x | ${by[REUSED] ? us(REUSED) : '-'} |`);
}

console.log('\nTargets:\n');
console.log('| target | measured | goal | result | worst or named shape |');
console.log('|---|---:|---:|---|---|');
for (const t of data.targets) {
  console.log(`| ${t.text} | ${num(t.ratio)}x | ${t.goal}x | ${t.met ? 'met' : 'NOT met'} | ${t.detail} |`);
}
console.log(`\nRun time: ${data.seconds.toFixed(0)} s for ${data.shapes.length} shapes.`);
