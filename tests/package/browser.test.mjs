// rope-wasm in Chromium, served by a static server on 127.0.0.1 that this
// test starts. It runs esbuild bundles of a small app: with the .wasm files
// copied next to the bundle, passed as explicit URLs, or inlined. It also
// imports web/rope.js straight from the repository in a page and in a module
// Web Worker, and on an engine whose WebAssembly.validate rejects SIMD.
// Every result must equal node's, and no request may leave the page's origin.

import assert from 'node:assert/strict';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { extname, join, normalize, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';

import { build } from 'esbuild';
import { chromium } from 'playwright-core';

import { loadRopeModule } from '../../web/rope.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const CHROMIUM = '/usr/bin/chromium';
const POSITIONS = [0, 1, 4096, 8191, 131071];
const CONFIG = {
  hidden_size: 512, num_attention_heads: 8, max_position_embeddings: 131072, rope_theta: 500000,
  rope_scaling: { rope_type: 'llama3', factor: 8, low_freq_factor: 1, high_freq_factor: 4, original_max_position_embeddings: 8192 },
};
const TYPES = { '.html': 'text/html', '.js': 'text/javascript', '.mjs': 'text/javascript', '.wasm': 'application/wasm', '.json': 'application/json' };

// The computation every page, worker and bundle runs; `createRope` is in scope where it is pasted.
const COMPUTE = `
async function compute(createRope) {
  const config = ${JSON.stringify(CONFIG)};
  const rope = await createRope(config);
  const positions = ${JSON.stringify(POSITIONS)};
  const q = Float32Array.from({ length: positions.length * 2 * rope.headDim }, (_, i) => Math.sin(i));
  rope.apply({ q, nQHeads: 2, positions });
  const { cos, sin } = rope.table(positions);
  const result = { backend: rope.backend, cos: Array.from(cos), sin: Array.from(sin), q: Array.from(q) };
  rope.free();
  return result;
}
`;
// Runs compute() and leaves the outcome where the test can wait for it.
const REPORT = `
compute(createRope).then(
  (result) => { globalThis.__result = result; },
  (error) => { globalThis.__result = { error: String(error && error.stack || error) }; },
);
`;
// An engine without SIMD128 rejects every module using v128, the probe included.
const NO_SIMD = '<script>WebAssembly.validate = () => false;</script>';

/** Computes the expected result in node with the given build. */
async function expected(backend) {
  const module = await loadRopeModule({ backend });
  const rope = module.createRope(CONFIG);
  try {
    const q = Float32Array.from({ length: POSITIONS.length * 2 * rope.headDim }, (_, i) => Math.sin(i));
    rope.apply({ q, nQHeads: 2, positions: POSITIONS });
    const { cos, sin } = rope.table(POSITIONS);
    return { backend, cos: Array.from(cos), sin: Array.from(sin), q: Array.from(q) };
  } finally {
    rope.free();
  }
}

/** Starts a static server: `mounts` maps URL prefixes to folders, `pages` maps paths to generated text. */
function startServer(mounts, pages) {
  const log = [];
  const server = createServer((request, response) => {
    const path = decodeURIComponent(new URL(request.url, 'http://127.0.0.1').pathname);
    log.push(path);
    let body = pages.get(path);
    if (body === undefined) {
      const prefix = Object.keys(mounts).find((p) => path.startsWith(p));
      const file = prefix && normalize(join(mounts[prefix], path.slice(prefix.length)));
      if (file && file.startsWith(mounts[prefix].replace(/\/?$/, sep)) && existsSync(file)) {
        try { body = readFileSync(file); } catch { body = undefined; }
      }
    }
    if (body === undefined) {
      response.writeHead(404).end('not found');
      return;
    }
    response.writeHead(200, { 'content-type': TYPES[extname(path)] ?? 'application/octet-stream', 'cache-control': 'no-store' });
    response.end(body);
  });
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => resolve({ server, log, origin: `http://127.0.0.1:${server.address().port}` }));
  });
}

// The empty icon keeps the browser from asking for /favicon.ico.
const page = (head, script) => `<!doctype html><meta charset="utf-8"><link rel="icon" href="data:,"><title>rope-wasm</title>${head}<script type="module">${script}</script>`;

describe('rope-wasm in Chromium', { timeout: 60000 }, () => {
  let dir;
  let served;
  let context;
  const requests = [];
  const reference = {};

  before(async () => {
    assert.ok(existsSync(CHROMIUM), `${CHROMIUM} is missing: apt-get install chromium`);
    reference.simd128 = await expected('simd128');
    reference.scalar = await expected('scalar');

    // A tiny app project that depends on rope-wasm, bundled three ways.
    dir = mkdtempSync(join(tmpdir(), 'rope-browser-'));
    const app = join(dir, 'app');
    mkdirSync(join(app, 'node_modules'), { recursive: true });
    symlinkSync(ROOT, join(app, 'node_modules/rope-wasm'));
    writeFileSync(join(app, 'files.js'), `import { createRope } from 'rope-wasm';\n${COMPUTE}${REPORT}`);
    writeFileSync(join(app, 'urls.js'), `import { loadRopeModule } from 'rope-wasm';
const wasm = {
  simd128: new URL('./rope-simd128.wasm', import.meta.url),
  scalar: new URL('./rope-scalar.wasm', import.meta.url),
};
const createRope = async (config) => (await loadRopeModule({ wasm })).createRope(config);
${COMPUTE}${REPORT}`);
    writeFileSync(join(app, 'inline.js'), `import { createRope } from 'rope-wasm/inline';\n${COMPUTE}${REPORT}`);
    const outputs = {};
    for (const name of ['files', 'urls', 'inline']) {
      const out = join(dir, 'dist', name);
      const result = await build({
        entryPoints: [join(app, `${name}.js`)], bundle: true, format: 'esm', platform: 'browser', target: 'es2022',
        outfile: join(out, 'app.js'), logLevel: 'silent', absWorkingDir: app,
      });
      assert.deepEqual(result.warnings.map((w) => w.text), [], `esbuild warnings for ${name}`);
      writeFileSync(join(out, 'index.html'), page('', "import './app.js';"));
      writeFileSync(join(out, 'no-simd.html'), page(NO_SIMD, "import './app.js';"));
      outputs[name] = readFileSync(join(out, 'app.js'), 'utf8');
    }
    // Strategy 1: the .wasm files in wasm/ next to the bundle, where the loader looks by default.
    mkdirSync(join(dir, 'dist/files/wasm'));
    for (const name of ['simd128', 'scalar']) {
      copyFileSync(join(ROOT, `web/wasm/rope-${name}.wasm`), join(dir, `dist/files/wasm/rope-${name}.wasm`));
      // Strategy 2: anywhere, named by the app.
      copyFileSync(join(ROOT, `web/wasm/rope-${name}.wasm`), join(dir, `dist/urls/rope-${name}.wasm`));
    }
    // node:fs is reached at run time under a Node check only; the bundle imports nothing of Node's.
    assert.doesNotMatch(outputs.files, /\bimport\b[^;(]*["']node:|\brequire\(/, 'no node import in a browser bundle');

    // Pages that import the repository's web/rope.js directly, in the page and in a module worker.
    const direct = `import { createRope } from '/repo/web/rope.js';\n${COMPUTE}${REPORT}`;
    const pages = new Map([
      ['/direct/page.html', page('', direct)],
      ['/direct/no-simd.html', page(NO_SIMD, direct)],
      ['/direct/worker.js', `import { createRope } from '/repo/web/rope.js';\n${COMPUTE}
compute(createRope).then((result) => postMessage(result), (error) => postMessage({ error: String(error.stack || error) }));`],
      ['/direct/worker.html', page('', `
const worker = new Worker('/direct/worker.js', { type: 'module' });
worker.onmessage = (event) => { globalThis.__result = event.data; };
worker.onerror = (event) => { globalThis.__result = { error: event.message || 'worker error' }; };`)],
    ]);
    served = await startServer({ '/repo/web/': join(ROOT, 'web'), '/dist/': join(dir, 'dist') }, pages);

    context = await chromium.launchPersistentContext(join(dir, 'profile'), {
      executablePath: CHROMIUM,
      headless: true,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
        '--disable-sync', '--no-first-run'],
    });
    context.on('request', (request) => requests.push(request.url()));
  });

  after(async () => {
    await context?.close();
    served?.server.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  /** Opens `path`, waits for __result and returns it with the requests the page made. */
  async function open(path) {
    const tab = await context.newPage();
    const errors = [];
    tab.on('pageerror', (error) => errors.push(error.message));
    const first = requests.length;
    const logFirst = served.log.length;
    try {
      await tab.goto(served.origin + path);
      await tab.waitForFunction(() => globalThis.__result !== undefined, null, { timeout: 20000 });
      const result = await tab.evaluate(() => globalThis.__result);
      assert.deepEqual(errors, [], 'no page errors');
      assert.equal(result.error, undefined, result.error);
      const urls = requests.slice(first);
      for (const url of urls) assert.ok(url.startsWith(`${served.origin}/`), `request to another origin: ${url}`);
      return { result, urls, served: served.log.slice(logFirst) };
    } finally {
      await tab.close();
    }
  }

  it('esbuild bundle, wasm/ folder copied', async () => {
    const { result, served: paths } = await open('/dist/files/index.html');
    assert.deepEqual(result, reference.simd128);
    assert.deepEqual(paths, ['/dist/files/index.html', '/dist/files/app.js', '/dist/files/wasm/rope-simd128.wasm']);
  });

  it('esbuild bundle, explicit .wasm URLs', async () => {
    const simd = await open('/dist/urls/index.html');
    assert.deepEqual(simd.result, reference.simd128);
    assert.ok(simd.served.includes('/dist/urls/rope-simd128.wasm'));
    const scalar = await open('/dist/urls/no-simd.html');
    assert.deepEqual(scalar.result, reference.scalar);
    assert.deepEqual(scalar.served.filter((p) => p.endsWith('.wasm')), ['/dist/urls/rope-scalar.wasm']);
  });

  it('esbuild bundle of rope-wasm/inline', async () => {
    const simd = await open('/dist/inline/index.html');
    assert.deepEqual(simd.result, reference.simd128);
    assert.deepEqual(simd.served, ['/dist/inline/index.html', '/dist/inline/app.js']);
    const scalar = await open('/dist/inline/no-simd.html');
    assert.deepEqual(scalar.result, reference.scalar);
    assert.deepEqual(scalar.served, ['/dist/inline/no-simd.html', '/dist/inline/app.js']);
  });

  it('page importing web/rope.js', async () => {
    const { result, served: paths } = await open('/direct/page.html');
    assert.deepEqual(result, reference.simd128);
    assert.ok(paths.includes('/repo/web/wasm/rope-simd128.wasm'));
  });

  it('module worker importing web/rope.js', async () => {
    const { result, served: paths } = await open('/direct/worker.html');
    assert.deepEqual(result, reference.simd128);
    assert.ok(paths.includes('/direct/worker.js'));
    assert.ok(paths.includes('/repo/web/wasm/rope-simd128.wasm'));
  });

  it('page without SIMD gets scalar', async () => {
    const { result, served: paths } = await open('/direct/no-simd.html');
    assert.equal(result.backend, 'scalar');
    assert.deepEqual(result, reference.scalar);
    assert.deepEqual(paths.filter((p) => p.endsWith('.wasm')), ['/repo/web/wasm/rope-scalar.wasm']);
  });
});
