// The npm package as a user gets it: the exact file list of `npm pack`, then
// the tarball installed into an empty project, used from ESM, from CommonJS
// require(), through the inline entry, through its bin, and from TypeScript.
// Needs the .wasm files built (`npm test` runs build.sh first); lifecycle
// scripts are skipped so packing does not rebuild them.

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';

import { createRope } from '../../web/rope.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const PACKAGE = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'));
const TSC = join(ROOT, 'node_modules/typescript/bin/tsc');
const exec = promisify(execFile);

/** Exactly what the tarball holds: runtime files, their types, the docs, the C header. */
const EXPECTED_FILES = [
  'LICENSE',
  'README.md',
  'README.zh-CN.md',
  'c/rope.h',
  'package.json',
  'web/cli.js',
  'web/config.js',
  'web/loader.js',
  'web/options.js',
  'web/rope.d.ts',
  'web/rope.js',
  'web/wasm/inline.js',
  'web/wasm/rope-scalar.wasm',
  'web/wasm/rope-simd128.wasm',
];

const CONFIG = {
  model_type: 'llama', hidden_size: 512, num_attention_heads: 8, max_position_embeddings: 131072, rope_theta: 500000,
  rope_scaling: { rope_type: 'llama3', factor: 8, low_freq_factor: 1, high_freq_factor: 4, original_max_position_embeddings: 8192 },
};
const POSITIONS = [0, 1, 4096, 131071];

async function npm(args, cwd) {
  // --offline: the package has no dependencies, so nothing may need the registry.
  return exec('npm', [...args, '--offline', '--no-audit', '--no-fund', '--ignore-scripts'], {
    cwd, timeout: 60000, maxBuffer: 16 * 1024 * 1024, env: { ...process.env, npm_config_update_notifier: 'false' },
  });
}

/** Runs node in `cwd`; resolves to {code, stdout, stderr}. */
async function run(command, args, cwd) {
  try {
    const { stdout, stderr } = await exec(command, args, { cwd, timeout: 30000 });
    return { code: 0, stdout, stderr };
  } catch (error) {
    if (typeof error.code !== 'number') throw error;
    return { code: error.code, stdout: error.stdout, stderr: error.stderr };
  }
}

/** Computes the reference result with the repository's own copy. */
async function expected() {
  const rope = await createRope(CONFIG);
  try {
    const q = Float32Array.from({ length: POSITIONS.length * 2 * 64 }, (_, i) => Math.cos(i));
    rope.apply({ q, nQHeads: 2, positions: POSITIONS });
    const { cos, sin } = rope.table(POSITIONS);
    return { rotaryDim: rope.rotaryDim, cos: Array.from(cos), sin: Array.from(sin), q: Array.from(q) };
  } finally {
    rope.free();
  }
}

// The same computation as expected(), written as a user would in the installed project.
const EXAMPLE_BODY = `
const config = JSON.parse(readFileSync(new URL('./config.json', import.meta.url), 'utf8'));
const rope = await createRope(config);
const q = Float32Array.from({ length: ${POSITIONS.length} * 2 * rope.headDim }, (_, i) => Math.cos(i));
rope.apply({ q, nQHeads: 2, positions: ${JSON.stringify(POSITIONS)} });
const { cos, sin } = rope.table(${JSON.stringify(POSITIONS)});
console.log(JSON.stringify({ rotaryDim: rope.rotaryDim, cos: Array.from(cos), sin: Array.from(sin), q: Array.from(q), backend: rope.backend }));
rope.free();
`;

describe('npm pack', () => {
  it('tarball holds exactly the whitelisted files', async () => {
    const { stdout } = await npm(['pack', '--dry-run', '--json'], ROOT);
    const [info] = JSON.parse(stdout);
    assert.equal(info.name, 'rope-wasm');
    const files = info.files.map((f) => f.path).sort();
    assert.deepEqual(files, EXPECTED_FILES);
    for (const file of info.files) {
      assert.ok(file.size > 0, `${file.path} is empty`);
      // The generated entry must match the .wasm files beside it.
      if (file.path.endsWith('.wasm')) assert.equal(file.size, statSync(join(ROOT, file.path)).size);
    }
    const inline = readFileSync(join(ROOT, 'web/wasm/inline.js'), 'utf8');
    for (const name of ['simd128', 'scalar']) {
      const base64 = readFileSync(join(ROOT, `web/wasm/rope-${name}.wasm`)).toString('base64');
      assert.ok(inline.includes(`'${base64}'`), `web/wasm/inline.js embeds the current rope-${name}.wasm; run ./build.sh`);
    }
    assert.ok(info.unpackedSize < 400 * 1024, `unpacked size ${info.unpackedSize} bytes`);
  });

  it('package.json exports and bin are packed', () => {
    assert.equal(PACKAGE.type, 'module');
    const targets = [];
    const walk = (value) => {
      if (typeof value === 'string') targets.push(value.replace(/^\.\//, ''));
      else for (const inner of Object.values(value)) walk(inner);
    };
    walk(PACKAGE.exports);
    for (const target of [...targets, PACKAGE.main.replace(/^\.\//, ''), PACKAGE.types.replace(/^\.\//, '')]) {
      assert.ok(EXPECTED_FILES.includes(target), `${target} is exported but not packed`);
    }
    for (const bin of Object.values(PACKAGE.bin)) {
      assert.ok(EXPECTED_FILES.includes(bin.replace(/^\.\//, '')), `bin ${bin} is not packed`);
      assert.match(readFileSync(join(ROOT, bin), 'utf8'), /^#!\/usr\/bin\/env node\n/);
    }
    assert.ok(!('require' in PACKAGE.exports['.']), 'no CommonJS build: require() loads the ES module');
  });
});

describe('the tarball installed into an empty project', () => {
  let dir;
  let project;
  let reference;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'rope-pack-'));
    project = join(dir, 'project');
    const { stdout } = await npm(['pack', '--json', '--pack-destination', dir], ROOT);
    const tarball = join(dir, JSON.parse(stdout)[0].filename);
    await exec('mkdir', [project]);
    writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'consumer', version: '1.0.0', private: true, type: 'module' }));
    writeFileSync(join(project, 'config.json'), JSON.stringify(CONFIG));
    await npm(['install', tarball], project);
    reference = await expected();
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('ESM: import from "rope-wasm" computes what the repository computes', async () => {
    writeFileSync(join(project, 'esm.mjs'), `import { readFileSync } from 'node:fs';\nimport { createRope } from 'rope-wasm';\n${EXAMPLE_BODY}`);
    const { code, stdout, stderr } = await run(process.execPath, ['esm.mjs'], project);
    assert.equal(code, 0, stderr);
    assert.equal(stderr, '');
    const { backend, ...result } = JSON.parse(stdout);
    assert.equal(backend, 'simd128');
    assert.deepEqual(result, reference);
  });

  it(`CommonJS: require("rope-wasm") ${process.features.require_module ? 'loads the ES module' : 'fails with ERR_REQUIRE_ESM'} on Node ${process.versions.node}`, async () => {
    writeFileSync(join(project, 'cjs.cjs'), `
const rope = require('rope-wasm');
const { version } = require('rope-wasm/package.json');
console.log(JSON.stringify({ keys: Object.keys(rope).sort(), version }));
rope.createRope({ headDim: 8 }).then((r) => { console.log(r.table([1]).cos[0]); r.free(); });
`);
    const { code, stdout, stderr } = await run(process.execPath, ['cjs.cjs'], project);
    if (process.features.require_module) {
      // Node 20.19+ and 22.12+: the module graph has no top-level await, so require() returns its namespace.
      assert.equal(code, 0, stderr);
      assert.doesNotMatch(stderr, /ERR_REQUIRE/);
      const [first, second] = stdout.trim().split('\n');
      const { keys, version } = JSON.parse(first);
      assert.equal(version, PACKAGE.version);
      assert.deepEqual(keys, ['PAIRINGS', 'ROPE_TYPES', 'Rope', 'RopeModule', 'WasmFloat32Array', 'createRope',
        'loadRopeModule', 'ropeOptionsFromConfig', 'simd128Supported']);
      assert.equal(Number(second), Math.fround(Math.cos(1)));
    } else {
      assert.notEqual(code, 0);
      assert.match(stderr, /ERR_REQUIRE_ESM/);
    }
  });

  it('CommonJS: await import("rope-wasm") works on every supported Node', async () => {
    writeFileSync(join(project, 'dynamic.cjs'), `
import('rope-wasm').then(async ({ createRope }) => {
  const rope = await createRope({ headDim: 4 });
  console.log(rope.table([2]).sin[0]);
  rope.free();
});
`);
    const { code, stdout, stderr } = await run(process.execPath, ['dynamic.cjs'], project);
    assert.equal(code, 0, stderr);
    assert.equal(Number(stdout), Math.fround(Math.sin(2)));
  });

  it('only the exported paths resolve', async () => {
    writeFileSync(join(project, 'paths.mjs'), `
const results = {};
for (const name of ['rope-wasm/web/options.js', 'rope-wasm/web/rope.js', 'rope-wasm/c/rope.h']) {
  try { await import(name); results[name] = 'loaded'; } catch (error) { results[name] = error.code; }
}
results.wasm = import.meta.resolve('rope-wasm/wasm/rope-simd128.wasm');
console.log(JSON.stringify(results));
`);
    const { code, stdout, stderr } = await run(process.execPath, ['paths.mjs'], project);
    assert.equal(code, 0, stderr);
    const results = JSON.parse(stdout);
    assert.equal(results['rope-wasm/web/options.js'], 'ERR_PACKAGE_PATH_NOT_EXPORTED');
    assert.equal(results['rope-wasm/web/rope.js'], 'ERR_PACKAGE_PATH_NOT_EXPORTED');
    assert.equal(results['rope-wasm/c/rope.h'], 'ERR_PACKAGE_PATH_NOT_EXPORTED');
    assert.match(results.wasm, /node_modules\/rope-wasm\/web\/wasm\/rope-simd128\.wasm$/);
  });

  it('the bin: npx rope-wasm table --config config.json prints the same table', async () => {
    const { code, stdout, stderr } = await run('npx', ['--no-install', 'rope-wasm', 'table', '--config', 'config.json',
      '--positions', POSITIONS.join(',')], project);
    assert.equal(code, 0, stderr);
    const result = JSON.parse(stdout);
    assert.equal(result.rotaryDim, reference.rotaryDim);
    assert.deepEqual(result.cos.flat(), reference.cos);
    assert.deepEqual(result.sin.flat(), reference.sin);
    const bad = await run('npx', ['--no-install', 'rope-wasm', 'table', '--config', 'package.json'], project);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /^rope-wasm: head_dim is missing/);
  });

  it('TypeScript (NodeNext, strict) resolves the types of "rope-wasm" and "rope-wasm/inline"', async () => {
    writeFileSync(join(project, 'consumer.ts'), `
import { createRope, type Rope } from 'rope-wasm';
import { createRope as createInline, loadRopeModule } from 'rope-wasm/inline';
const a: Rope = await createRope({ headDim: 8 });
const b: Rope = await createInline({ head_dim: 8 });
const m = await loadRopeModule({ wasm: { simd128: new URL('https://example.invalid/a.wasm'), scalar: new Uint8Array(0) } });
const width: number = a.rotaryDim + b.rotaryDim + m.heapInUse();
// @ts-expect-error: not a LoadOptions wasm source
await loadRopeModule({ wasm: { gpu: 'x.wasm' } });
export { width };
`);
    writeFileSync(join(project, 'tsconfig.json'), JSON.stringify({
      compilerOptions: {
        target: 'ES2022', module: 'NodeNext', moduleResolution: 'NodeNext', lib: ['ES2022', 'DOM'], types: [],
        strict: true, noEmit: true, skipLibCheck: false,
      },
      files: ['consumer.ts'],
    }));
    const { code, stdout, stderr } = await run(process.execPath, [TSC, '-p', 'tsconfig.json'], project);
    assert.equal(code, 0, `${stdout}${stderr}`);
  });

  // Last: it removes the installed .wasm files.
  it('rope-wasm/inline needs no .wasm file on disk', async () => {
    const wasmDir = join(project, 'node_modules/rope-wasm/web/wasm');
    for (const name of ['simd128', 'scalar']) renameSync(join(wasmDir, `rope-${name}.wasm`), join(wasmDir, `rope-${name}.wasm.moved`));
    writeFileSync(join(project, 'inline.mjs'), `import { readFileSync } from 'node:fs';\nimport { createRope } from 'rope-wasm/inline';\n${EXAMPLE_BODY}`);
    const { code, stdout, stderr } = await run(process.execPath, ['inline.mjs'], project);
    assert.equal(code, 0, stderr);
    const { backend, ...result } = JSON.parse(stdout);
    assert.equal(backend, 'simd128');
    assert.deepEqual(result, reference);
    const plain = await run(process.execPath, ['esm.mjs'], project);
    assert.notEqual(plain.code, 0, 'the plain entry does read the .wasm file');
    assert.match(plain.stderr, /ENOENT/);
  });
});
