#!/usr/bin/env node
// Renders docs/benchmarks.png from a results JSON (default: the newest full
// run in bench/results/): ns/element by prefill and decode shape for each
// peer, log scale, with Chart.js in headless Debian Chromium.
//
// Usage: node chart.js [results.json] [out.png]

import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const HERE = fileURLToPath(new URL('.', import.meta.url));
const ROOT = fileURLToPath(new URL('..', import.meta.url));
// chart.js and playwright-core are the root package's devDependencies.
const require = createRequire(`${ROOT}package.json`);
const { chromium } = require('playwright-core');

const resultsDir = `${HERE}results/`;
const input = process.argv[2]
  ?? resultsDir + readdirSync(resultsDir).filter((f) => f.endsWith('.json') && !f.includes('quick')).sort().pop();
const output = process.argv[3] ?? `${ROOT}docs/benchmarks.png`;
const data = JSON.parse(readFileSync(input, 'utf8'));

const PEERS = [
  ['rope-wasm simd128 zero-copy', '#d62728'],
  ['rope-wasm simd128 zero-copy, reused table', '#8c564b'],
  ['rope-wasm simd128 copy in/out', '#ff9896'],
  ['rope-wasm scalar zero-copy', '#9467bd'],
  ['plain JS', '#7f7f7f'],
  ['onnxruntime-node', '#1f77b4'],
  ['tfjs-wasm', '#2ca02c'],
  ['limit: v128 load/store', '#000000'],
  ['limit: memory.copy', '#bcbd22'],
];

const shapes = data.shapes.filter((e) => e.shape.kind !== 'table');
const labels = shapes.map((e) => e.shape.label);
const elements = (s) => s.nTokens * (s.nQHeads + s.nKHeads) * s.headDim;
const datasets = PEERS.map(([name, color]) => ({
  label: name,
  borderColor: color,
  backgroundColor: color,
  showLine: false,
  pointRadius: name.startsWith('rope-wasm simd128 zero') ? 4 : 3,
  pointStyle: name.startsWith('limit') ? 'line' : 'circle',
  data: shapes.map((e) => {
    const r = e.results.find((x) => x.name === name);
    return r ? r.ns / elements(e.shape) : null;
  }),
}));

const config = {
  type: 'line',
  data: { labels, datasets },
  options: {
    animation: false,
    responsive: false,
    plugins: {
      title: { display: true, text: `RoPE ns per element (median; lower is better) - ${data.machine.cpu}, node ${data.machine.node}` },
      legend: { position: 'top' },
    },
    scales: {
      y: { type: 'logarithmic', title: { display: true, text: 'ns / element' } },
      x: { ticks: { autoSkip: false, maxRotation: 90, minRotation: 90, font: { size: 9 } } },
    },
  },
};

const chartJs = readFileSync(require.resolve('chart.js/auto').replace(/auto\/auto\.c?js$/, 'dist/chart.umd.js'), 'utf8');
const html = `<!doctype html><html><body style="margin:0;background:#fff">
<canvas id="c" width="1800" height="900"></canvas>
<script>${chartJs}</script>
<script>new Chart(document.getElementById('c'), ${JSON.stringify(config)}); window.done = true;</script>
</body></html>`;

const browser = await chromium.launch({
  executablePath: '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
    '--disable-component-update', '--disable-sync', '--no-first-run'],
});
try {
  const page = await browser.newPage({ viewport: { width: 1800, height: 900 } });
  await page.setContent(html);
  await page.waitForFunction('window.done === true');
  writeFileSync(output, await page.locator('#c').screenshot());
  console.log(`wrote ${output} from ${input}`);
} finally {
  await browser.close();
}
