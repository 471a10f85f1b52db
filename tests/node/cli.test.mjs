// The command-line tool, run as a child process: tables for every preset
// against the reference vectors, and exit status 2 with a one-line error on
// stderr for bad input.

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { promisify } from 'node:util';

import { PRESETS_DIR, ROOT, VECTORS_DIR, assertClose, assertRelClose, listJson, readJson } from './support.mjs';

const CLI = `${ROOT}web/cli.js`;
const POSITIONS = '0,1,4095,4096,131071,1048575';
// Same bounds as reference.test.mjs: float32 rounding (~6e-8) plus the
// double angle error p * ulp(theta) (~2.3e-10 at p = 2^20).
const TABLE_ABS = 2e-6;
const INV_FREQ_REL = 1e-13;
const SCALING_REL = 1e-12;

const execFileAsync = promisify(execFile);

/** Runs the CLI; resolves to {code, stdout, stderr} whatever the exit status. */
async function runCli(args) {
  try {
    const { stdout, stderr } = await execFileAsync(process.execPath, [CLI, ...args], { cwd: ROOT });
    return { code: 0, stdout, stderr };
  } catch (error) {
    if (typeof error.code !== 'number') throw error;
    return { code: error.code, stdout: error.stdout, stderr: error.stderr };
  }
}

describe('cli table for every preset', () => {
  const presets = listJson(PRESETS_DIR);

  it('web/presets is not empty and every preset has a vector file', () => {
    assert.ok(presets.length >= 10, `${presets.length} presets`);
    const vectors = new Set(listJson(VECTORS_DIR));
    for (const file of presets) assert.ok(vectors.has(file), `no reference vector for ${file}`);
  });

  for (const file of presets) {
    for (const backend of ['auto', 'scalar']) {
      it(`${file} (--backend ${backend}) matches the reference case with seqLen 1048576`, async () => {
        const vector = readJson(VECTORS_DIR + file);
        const testCase = vector.cases.find((c) => c.seqLen === 1048576 && c.positions.join(',') === POSITIONS);
        assert.ok(testCase, `${file}: no reference case for positions ${POSITIONS}`);

        const { code, stdout, stderr } = await runCli(['table', '--config', `web/presets/${file}`, '--positions', POSITIONS, '--backend', backend]);
        assert.equal(code, 0, `exit status ${code}, stderr: ${stderr}`);
        assert.equal(stderr, '');
        const lines = stdout.split('\n');
        assert.equal(lines.length, 2, 'one JSON line and a newline');
        const result = JSON.parse(lines[0]);

        assert.deepEqual(Object.keys(result).sort(),
          ['attentionScaling', 'cos', 'invFreq', 'pairing', 'positions', 'rotaryDim', 'seqLen', 'sin']);
        assert.equal(result.rotaryDim, vector.rotaryDim);
        assert.equal(result.pairing, vector.pairing);
        assert.equal(result.seqLen, 1048576, 'default seqLen is max(positions) + 1');
        assert.deepEqual(result.positions, testCase.positions);
        assertRelClose([result.attentionScaling], [vector.attentionScaling], SCALING_REL, 'attentionScaling');
        assertRelClose(result.invFreq, testCase.invFreq, INV_FREQ_REL, 'invFreq');
        assert.equal(result.cos.length, testCase.positions.length);
        assert.equal(result.sin.length, testCase.positions.length);
        for (const [p, position] of testCase.positions.entries()) {
          assertClose(result.cos[p], testCase.cos[p], TABLE_ABS, `position ${position} cos`);
          assertClose(result.sin[p], testCase.sin[p], TABLE_ABS, `position ${position} sin`);
        }
      });
    }
  }

  it('--seq-len changes the dynamic NTK frequencies as the reference does', async () => {
    const vector = readJson(`${VECTORS_DIR}llama-2-7b-dynamic-ntk.json`);
    const testCase = vector.cases.find((c) => c.seqLen === 8192);
    const { code, stdout, stderr } = await runCli([
      'table', '--config', 'web/presets/llama-2-7b-dynamic-ntk.json', '--positions', testCase.positions.join(','), '--seq-len', '8192',
    ]);
    assert.equal(code, 0, stderr);
    const result = JSON.parse(stdout);
    assert.equal(result.seqLen, 8192);
    assertRelClose(result.invFreq, testCase.invFreq, INV_FREQ_REL, 'invFreq');
    for (const [p, position] of testCase.positions.entries()) {
      assertClose(result.sin[p], testCase.sin[p], TABLE_ABS, `position ${position} sin`);
    }
  });
});

describe('cli bad input: exit status 2 and one line on stderr', () => {
  const dir = mkdtempSync(join(tmpdir(), 'rope-cli-test-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const invalidJson = join(dir, 'invalid.json');
  writeFileSync(invalidJson, '{"hidden_size": 4096,');
  const badConfig = join(dir, 'bad-config.json');
  writeFileSync(badConfig, JSON.stringify({ hidden_size: 100, num_attention_heads: 3 }));
  const badBase = join(dir, 'bad-base.json');
  writeFileSync(badBase, JSON.stringify({ head_dim: 64, rope_theta: -5 }));
  const missing = join(dir, 'does-not-exist.json');
  const preset = 'web/presets/llama-2-7b.json';

  // [description, arguments, pattern the error line must match]
  const CASES = [
    ['missing --config', ['table'], /--config/],
    ['unreadable file (missing)', ['table', '--config', missing], /does-not-exist\.json.*(ENOENT|cannot read)/],
    ['unreadable file (a directory)', ['table', '--config', dir], /cannot read|EISDIR/],
    ['invalid JSON', ['table', '--config', invalidJson], /invalid\.json.*not valid JSON/],
    ['negative position', ['table', '--config', preset, '--positions=-1'], /--positions.*"-1"/],
    ['negative position after a good one', ['table', '--config', preset, '--positions', '0,-4'], /--positions item 1 is "-4"/],
    ['fractional position', ['table', '--config', preset, '--positions', '1.5'], /--positions.*"1\.5"/],
    ['position 2^31', ['table', '--config', preset, '--positions', '2147483648'], /2147483648/],
    ['--seq-len 0', ['table', '--config', preset, '--seq-len', '0'], /seq-?len.*\b0\b/i],
    ['--seq-len negative', ['table', '--config', preset, '--seq-len=-3'], /--seq-len.*"-3"/],
    ['--seq-len fractional', ['table', '--config', preset, '--seq-len', '1.5'], /--seq-len.*"1\.5"/],
    ['hidden_size not a multiple of heads', ['table', '--config', badConfig], /hidden_size \(100\).*num_attention_heads \(3\)/],
    ['rope_theta negative', ['table', '--config', badBase], /rope_theta is -5\b/],
    ['unknown backend', ['table', '--config', preset, '--backend', 'gpu'], /backend is "gpu"/],
    ['unknown command', ['plot', '--config', preset], /"plot"/],
  ];

  const stderrLines = new Map(); // case name -> lines of stderr

  for (const [name, args, pattern] of CASES) {
    it(`${name}: exit status 2, error line names the problem`, async () => {
      const { code, stdout, stderr } = await runCli(args);
      assert.equal(code, 2, `exit status ${code}, stderr: ${stderr}`);
      assert.equal(stdout, '', 'nothing on stdout');
      assert.match(stderr, /\n$/, 'stderr ends with a newline');
      const lines = stderr.replace(/\n$/, '').split('\n');
      stderrLines.set(name, lines);
      assert.match(lines[0], /^rope-wasm: /);
      assert.match(lines[0], pattern);
      assert.doesNotMatch(stderr, /\n\s+at /, 'no stack trace');
    });
  }

  // Checked once for all cases above, so one extra line shows up as one failure.
  it('every bad input prints exactly one line on stderr', () => {
    assert.equal(stderrLines.size, CASES.length, 'every case above ran');
    const offenders = [...stderrLines].filter(([, lines]) => lines.length !== 1)
      .map(([name, lines]) => `${name}: ${lines.length} lines ${JSON.stringify(lines)}`);
    assert.deepEqual(offenders, [], `cases with more than one stderr line:\n${offenders.join('\n')}`);
  });
});
