// config.json files as users download them, broken in every way we could
// think of, through both createRope and `rope-wasm table --config FILE`.
// Each must fail with the stated error class (exit status 2 for the CLI)
// and a message naming the key, its value and what is valid; nothing may be
// clamped or ignored. Extreme but valid configs must work and stay finite.

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { promisify } from 'node:util';

import { createRope, loadRopeModule } from '../../web/rope.js';
import { ROOT, norm } from './support.mjs';

const CLI = `${ROOT}web/cli.js`;
const MAX_INT32 = 2 ** 31 - 1;

// head_dim 64 (hidden_size / num_attention_heads), 32 rotary pairs.
const BASE = { hidden_size: 256, num_attention_heads: 4, max_position_embeddings: 4096, rope_theta: 10000 };
const withScaling = (rope_scaling, extra = {}) => ({ ...BASE, ...extra, rope_scaling });
const ones = (n) => Array(n).fill(1);
const longrope = (fields) => withScaling({
  rope_type: 'longrope', original_max_position_embeddings: 1024, short_factor: ones(32), long_factor: ones(32), ...fields,
});
const llama3 = (fields) => withScaling({
  rope_type: 'llama3', factor: 8, low_freq_factor: 1, high_freq_factor: 4, original_max_position_embeddings: 1024, ...fields,
});

/**
 * [name, config, error class, message pattern]. Every config here survives
 * JSON.stringify unchanged, so the same table drives the CLI.
 */
const HOSTILE = [
  // Not an object.
  ['an array', [BASE], TypeError, /is an array.*config\.json object/],
  ['a string', 'config.json', TypeError, /is "config\.json".*config\.json object/],
  ['a number', 7, TypeError, /is 7\b.*config\.json object/],
  ['null', null, TypeError, /is null\b.*config\.json object/],
  ['rope_scaling an array', withScaling([2]), TypeError, /rope_scaling is an array; expected an object or null/],
  ['rope_parameters a number', { ...BASE, rope_parameters: 4 }, TypeError, /rope_parameters is 4\b; expected an object or null/],

  // head_dim.
  ['head_dim odd', { ...BASE, head_dim: 63 }, RangeError, /head_dim is 63\b.*even integer from 2 to 65536/],
  ['head_dim 0', { ...BASE, head_dim: 0 }, RangeError, /head_dim is 0\b.*even integer from 2 to 65536/],
  ['head_dim negative', { ...BASE, head_dim: -64 }, RangeError, /head_dim is -64\b.*even integer from 2 to 65536/],
  ['head_dim fractional', { ...BASE, head_dim: 64.5 }, RangeError, /head_dim is 64\.5\b.*even integer from 2 to 65536/],
  ['head_dim huge', { ...BASE, head_dim: 2 ** 40 }, RangeError, /head_dim is 1099511627776\b.*even integer from 2 to 65536/],
  ['head_dim a string', { ...BASE, head_dim: '64' }, TypeError, /head_dim is "64".*even integer from 2 to 65536/],
  ['head_dim a boolean', { ...BASE, head_dim: true }, TypeError, /head_dim is true\b.*even integer/],
  ['hidden_size / num_attention_heads odd', { ...BASE, hidden_size: 252 }, RangeError,
    /hidden_size \/ num_attention_heads is 63\b.*even integer from 2 to 65536/],
  ['hidden_size / num_attention_heads huge', { ...BASE, hidden_size: 2 ** 40, num_attention_heads: 2 }, RangeError,
    /hidden_size \/ num_attention_heads is 549755813888\b.*from 2 to 65536/],
  ['hidden_size a string', { ...BASE, hidden_size: '256' }, TypeError, /hidden_size is "256".*positive integer/],
  ['num_attention_heads negative', { ...BASE, num_attention_heads: -4 }, RangeError, /num_attention_heads is -4\b.*positive integer/],
  ['num_attention_heads fractional', { ...BASE, num_attention_heads: 2.5 }, RangeError, /num_attention_heads is 2\.5\b.*positive integer/],

  // Rotary dim.
  ['rotary_dim odd', { ...BASE, rotary_dim: 31 }, RangeError, /rotary_dim is 31\b.*even/],
  ['rotary_dim 0', { ...BASE, rotary_dim: 0 }, RangeError, /rotary_dim is 0\b.*even integer from 2 to head_dim \(64\)/],
  ['rotary_dim negative', { ...BASE, rotary_dim: -2 }, RangeError, /rotary_dim is -2\b.*from 2 to head_dim \(64\)/],
  ['rotary_dim fractional', { ...BASE, rotary_dim: 16.5 }, RangeError, /rotary_dim is 16\.5\b.*from 2 to head_dim \(64\)/],
  ['rotary_dim above head_dim', { ...BASE, rotary_dim: 128 }, RangeError, /rotary_dim is 128\b.*head_dim \(64\)/],
  ['rotary_dim a string', { ...BASE, rotary_dim: '32' }, TypeError, /rotary_dim is "32".*even integer/],
  ['partial_rotary_factor 0', { ...BASE, partial_rotary_factor: 0 }, RangeError, /partial_rotary_factor is 0\b.*\(0, 1\]/],
  ['partial_rotary_factor negative', { ...BASE, partial_rotary_factor: -0.5 }, RangeError, /partial_rotary_factor is -0\.5\b.*\(0, 1\]/],
  ['partial_rotary_factor above 1', { ...BASE, partial_rotary_factor: 2 }, RangeError, /partial_rotary_factor is 2\b.*\(0, 1\]/],
  ['partial_rotary_factor a string', { ...BASE, partial_rotary_factor: '0.5' }, TypeError, /partial_rotary_factor is "0\.5".*\(0, 1\]/],
  // 64 * 0.01 = 0.64, truncated to 0 rotary dims.
  ['partial_rotary_factor leaving no pair', { ...BASE, partial_rotary_factor: 0.01 }, RangeError,
    /partial_rotary_factor is 0\.01\b.*leaves 0 rotary dims.*at least 2/],
  // 64 * 0.15 = 9.6, truncated to 9 as transformers does: odd.
  ['rotary_pct giving an odd rotary dim', { ...BASE, rotary_pct: 0.15 }, RangeError, /rotary dim \(head_dim \* rotary_pct\) is 9\b.*even/],

  // Base (rope_theta).
  ['rope_theta 0', { ...BASE, rope_theta: 0 }, RangeError, /rope_theta is 0\b.*finite number greater than 1/],
  ['rope_theta 1', { ...BASE, rope_theta: 1 }, RangeError, /rope_theta is 1\b.*finite number greater than 1/],
  ['rope_theta 0.5', { ...BASE, rope_theta: 0.5 }, RangeError, /rope_theta is 0\.5\b.*greater than 1/],
  ['rope_theta negative', { ...BASE, rope_theta: -10000 }, RangeError, /rope_theta is -10000\b.*greater than 1/],
  ['rope_theta "NaN"', { ...BASE, rope_theta: 'NaN' }, TypeError, /rope_theta is "NaN".*finite number greater than 1/],
  ['rope_theta a string', { ...BASE, rope_theta: '1e6' }, TypeError, /rope_theta is "1e6".*finite number greater than 1/],
  ['rotary_emb_base 1', { ...BASE, rope_theta: undefined, rotary_emb_base: 1 }, RangeError, /rotary_emb_base is 1\b.*greater than 1/],
  ['rope_parameters.rope_theta 0', { ...BASE, rope_parameters: { rope_type: 'default', rope_theta: 0 } }, RangeError,
    /rope_parameters\.rope_theta is 0\b.*greater than 1/],

  // factor.
  ['factor below 1', withScaling({ rope_type: 'linear', factor: 0.5 }), RangeError, /rope_scaling\.factor is 0\.5\b.*finite number >= 1/],
  ['factor 0', withScaling({ rope_type: 'dynamic', factor: 0 }), RangeError, /rope_scaling\.factor is 0\b.*>= 1/],
  ['factor negative', withScaling({ rope_type: 'yarn', factor: -4 }), RangeError, /rope_scaling\.factor is -4\b.*>= 1/],
  ['factor "NaN"', withScaling({ rope_type: 'linear', factor: 'NaN' }), TypeError, /rope_scaling\.factor is "NaN".*finite number >= 1/],
  ['factor a string', withScaling({ rope_type: 'llama3', factor: '8', low_freq_factor: 1, high_freq_factor: 4, original_max_position_embeddings: 1024 }),
    TypeError, /rope_scaling\.factor is "8".*>= 1/],
  ['factor missing for linear', withScaling({ rope_type: 'linear' }), RangeError, /rope_scaling\.factor is missing; linear/],
  ['factor null for dynamic', withScaling({ rope_type: 'dynamic', factor: null }), RangeError, /rope_scaling\.factor is missing; dynamic/],

  // LongRoPE factor lists.
  ['short_factor too short', longrope({ short_factor: ones(31) }), RangeError, /rope_scaling\.short_factor has 31 entries.*rotary_dim \/ 2 = 32/],
  ['long_factor too long', longrope({ long_factor: ones(33) }), RangeError, /rope_scaling\.long_factor has 33 entries.*= 32/],
  ['long_factor empty', longrope({ long_factor: [] }), RangeError, /rope_scaling\.long_factor has 0 entries.*= 32/],
  ['short_factor entry 0', longrope({ short_factor: [...ones(31), 0] }), RangeError, /rope_scaling\.short_factor\[31\] is 0\b.*finite number > 0/],
  ['long_factor entry negative', longrope({ long_factor: [1, -2, ...ones(30)] }), RangeError, /rope_scaling\.long_factor\[1\] is -2\b.*> 0/],
  ['long_factor entry null', longrope({ long_factor: [...ones(10), null, ...ones(21)] }), TypeError, /rope_scaling\.long_factor\[10\] is null\b.*> 0/],
  ['short_factor entry a string', longrope({ short_factor: ['1', ...ones(31)] }), TypeError, /rope_scaling\.short_factor\[0\] is "1".*> 0/],
  ['short_factor an object', longrope({ short_factor: { length: 32 } }), TypeError, /rope_scaling\.short_factor is an object.*array of 32 numbers/],
  ['long_factor missing', longrope({ long_factor: undefined }), RangeError, /rope_scaling\.long_factor is missing; longrope/],

  // Llama 3 bands.
  ['low_freq_factor == high_freq_factor', llama3({ low_freq_factor: 4, high_freq_factor: 4 }), RangeError,
    /rope_scaling\.high_freq_factor is 4\b.*greater than rope_scaling\.low_freq_factor \(4\)/],
  ['low_freq_factor > high_freq_factor', llama3({ low_freq_factor: 8, high_freq_factor: 2 }), RangeError,
    /rope_scaling\.high_freq_factor is 2\b.*greater than rope_scaling\.low_freq_factor \(8\)/],
  ['low_freq_factor 0', llama3({ low_freq_factor: 0 }), RangeError, /rope_scaling\.low_freq_factor is 0\b.*> 0/],

  // Context lengths.
  ['original_max_position_embeddings missing for llama3', llama3({ original_max_position_embeddings: undefined }), RangeError,
    /rope_scaling\.original_max_position_embeddings is missing; llama3/],
  ['no context length for yarn', withScaling({ rope_type: 'yarn', factor: 4 }, { max_position_embeddings: undefined }), RangeError,
    /original_max_position_embeddings is missing; yarn.*max_position_embeddings/],
  ['max_position_embeddings missing for dynamic', withScaling({ rope_type: 'dynamic', factor: 2 }, { max_position_embeddings: undefined }),
    RangeError, /max_position_embeddings is missing; dynamic/],
  ['longrope without original length or factor', longrope({ original_max_position_embeddings: undefined }), RangeError,
    /rope_scaling\.factor is missing; longrope without rope_scaling\.original_max_position_embeddings/],
  ['original_max_position_embeddings above the context (llama3)', llama3({ original_max_position_embeddings: 8192 }), RangeError,
    /rope_scaling\.original_max_position_embeddings is 8192\b.*at most max_position_embeddings \(4096\)/],
  ['original_max_position_embeddings above the context (top level, yarn)',
    withScaling({ rope_type: 'yarn', factor: 4 }, { original_max_position_embeddings: 65536 }), RangeError,
    /(?<!\.)original_max_position_embeddings is 65536\b.*at most max_position_embeddings \(4096\)/],
  ['max_position_embeddings 2^32', { ...BASE, max_position_embeddings: 2 ** 32 }, RangeError,
    /max_position_embeddings is 4294967296\b.*from 1 to 2147483647/],
  ['max_position_embeddings 0', withScaling({ rope_type: 'dynamic', factor: 2 }, { max_position_embeddings: 0 }), RangeError,
    /max_position_embeddings is 0\b.*from 1 to 2147483647/],
  ['n_positions a string', { ...BASE, max_position_embeddings: undefined, n_positions: '2048' }, TypeError, /n_positions is "2048".*integer/],

  // Rope type.
  ['unknown rope_type', withScaling({ rope_type: 'ntk-by-parts', factor: 4 }), RangeError,
    /rope_scaling\.rope_type is "ntk-by-parts".*default, linear, dynamic, yarn, longrope, llama3/],
  ['rope_type in another case', withScaling({ rope_type: 'YaRN', factor: 4 }), RangeError, /rope_scaling\.rope_type is "YaRN"/],
  ['rope_type empty', withScaling({ rope_type: '', factor: 4 }), RangeError, /rope_scaling\.rope_type is "".*one of/],
  ['rope_type a number', withScaling({ rope_type: 3, factor: 4 }), TypeError, /rope_scaling\.rope_type is 3\b.*one of/],
  ['unknown legacy type', withScaling({ type: 'dynamic-ntk', factor: 4 }), RangeError, /rope_scaling\.type is "dynamic-ntk".*one of/],
  ['rope_type an inherited name', withScaling({ rope_type: '__proto__', factor: 4 }), RangeError, /rope_scaling\.rope_type is "__proto__".*one of/],
  ['legacy type an inherited name', withScaling({ type: 'hasOwnProperty', factor: 4 }), RangeError, /rope_scaling\.type is "hasOwnProperty".*one of/],
  ['type and rope_type disagree', withScaling({ type: 'yarn', rope_type: 'linear', factor: 4 }), RangeError,
    /rope_scaling\.type is "yarn" but rope_scaling\.rope_type is "linear"/],
  ['legacy su and rope_type yarn disagree', withScaling({ type: 'su', rope_type: 'yarn', factor: 4 }), RangeError,
    /rope_scaling\.type is "su" but rope_scaling\.rope_type is "yarn"/],

  // Other scaling fields of the wrong kind.
  ['truncate a string', withScaling({ rope_type: 'yarn', factor: 4, truncate: 'false' }), TypeError, /rope_scaling\.truncate is "false".*true or false/],
  ['beta_slow above beta_fast', withScaling({ rope_type: 'yarn', factor: 4, beta_fast: 2, beta_slow: 3 }), RangeError,
    /rope_scaling\.beta_slow is 3\b.*at most rope_scaling\.beta_fast \(2\)/],
  ['attention_factor 0', withScaling({ rope_type: 'yarn', factor: 4, attention_factor: 0 }), RangeError,
    /rope_scaling\.attention_factor is 0\b.*from 1e-30 to 3\.4e38/],
  ['attention_factor 1e-40', withScaling({ rope_type: 'yarn', factor: 4, attention_factor: 1e-40 }), RangeError,
    /rope_scaling\.attention_factor is 1e-40\b.*from 1e-30 to 3\.4e38/],
  ['mscale negative', withScaling({ rope_type: 'yarn', factor: 4, mscale: -1 }), RangeError, /rope_scaling\.mscale is -1\b.*>= 0/],
];

/** Values JSON cannot hold; createRope only. */
const JS_ONLY = [
  ['rope_theta NaN', { ...BASE, rope_theta: NaN }, RangeError, /rope_theta is NaN\b.*finite number greater than 1/],
  ['rope_theta Infinity', { ...BASE, rope_theta: Infinity }, RangeError, /rope_theta is Infinity\b.*finite/],
  ['rope_theta -Infinity', { ...BASE, rope_theta: -Infinity }, RangeError, /rope_theta is -Infinity\b.*finite/],
  ['factor NaN', withScaling({ rope_type: 'linear', factor: NaN }), RangeError, /rope_scaling\.factor is NaN\b.*finite number >= 1/],
  ['factor Infinity', withScaling({ rope_type: 'yarn', factor: Infinity }), RangeError, /rope_scaling\.factor is Infinity\b.*finite/],
  ['head_dim NaN', { ...BASE, head_dim: NaN }, RangeError, /head_dim is NaN\b.*even integer/],
  ['head_dim a bigint', { ...BASE, head_dim: 64n }, TypeError, /head_dim is 64n\b.*even integer/],
  ['short_factor entry NaN', longrope({ short_factor: [...ones(5), NaN, ...ones(26)] }), RangeError, /rope_scaling\.short_factor\[5\] is NaN\b/],
  ['long_factor entry Infinity', longrope({ long_factor: [...ones(31), Infinity] }), RangeError, /rope_scaling\.long_factor\[31\] is Infinity\b/],
  ['high_freq_factor NaN', llama3({ high_freq_factor: NaN }), RangeError, /rope_scaling\.high_freq_factor is NaN\b/],
  ['original_max_position_embeddings NaN', llama3({ original_max_position_embeddings: NaN }), RangeError,
    /rope_scaling\.original_max_position_embeddings is NaN\b.*integer/],
];

/** [name, file text, pattern]: files the CLI must reject before createRope. */
const NOT_JSON = [
  ['an empty file', '', /not valid JSON/],
  ['a truncated object', '{"hidden_size": 256, "num_attention_heads":', /not valid JSON/],
  ['a trailing comma', '{"head_dim": 64,}', /not valid JSON/],
  ['a NaN literal', '{"head_dim": 64, "rope_theta": NaN}', /not valid JSON/],
  ['single quotes', "{'head_dim': 64}", /not valid JSON/],
  ['a Python dict dump', "{'rope_scaling': None}", /not valid JSON/],
];

/** Bad positions and sequence lengths, the same through table(), apply() and the CLI flags. */
const BAD_POSITIONS = [
  ['negative', [5, -1], '5,-1', RangeError, /positions\[1\] is -1\b.*0 to 2147483647/, /--positions item 1 is "-1"/],
  ['fractional', [0.5], '0.5', RangeError, /positions\[0\] is 0\.5\b.*0 to 2147483647/, /--positions item 0 is "0\.5"/],
  ['2^31', [2 ** 31], '2147483648', RangeError, /positions\[0\] is 2147483648\b.*0 to 2147483647/, /2147483648\b.*0 to 2147483647/],
  ['2^32 + 1 (wraps to 1 as int32)', [2 ** 32 + 1], '4294967297', RangeError, /positions\[0\] is 4294967297\b/, /4294967297\b.*0 to 2147483647/],
  ['NaN', [NaN], 'NaN', RangeError, /positions\[0\] is NaN\b/, /--positions item 0 is "NaN"/],
  ['empty item', null, '1,,2', null, null, /--positions item 1 is ""/],
];
const BAD_SEQ_LENS = [
  ['0', 0, '0', /seqLen is 0\b.*>= 1/, /--seq-len is "0".*>= 1/],
  ['negative', -5, '-5', /seqLen is -5\b.*>= 1/, /--seq-len is "-5".*>= 1/],
  // 2^60 prints as 1152921504606847000, the shortest decimal of that double.
  ['above 2^53', 2 ** 60, '1152921504606846976', /seqLen is 1152921504606847000\b.*2\^53/, /seqLen is 1152921504606847000\b.*2\^53/],
];

const execFileAsync = promisify(execFile);

async function runCli(args) {
  try {
    const { stdout, stderr } = await execFileAsync(process.execPath, [CLI, ...args], { cwd: ROOT, timeout: 30000 });
    return { code: 0, stdout, stderr };
  } catch (error) {
    if (typeof error.code !== 'number') throw error;
    return { code: error.code, stdout: error.stdout, stderr: error.stderr };
  }
}

/** Asserts the CLI rejected the input with status 2 and one `rope-wasm: ...` line matching `pattern`. */
function assertCliRejected({ code, stdout, stderr }, pattern) {
  assert.equal(code, 2, `exit status ${code}, stderr: ${stderr}`);
  assert.equal(stdout, '', 'nothing on stdout');
  const lines = stderr.replace(/\n$/, '').split('\n');
  assert.equal(lines.length, 1, `one line on stderr, got ${JSON.stringify(stderr)}`);
  assert.match(lines[0], /^rope-wasm: /);
  assert.match(lines[0], pattern);
}

function assertRejected(error, ErrorClass, pattern) {
  assert.equal(error.constructor, ErrorClass, `threw ${error.constructor.name}: ${error.message}`);
  assert.match(error.message, pattern);
  return true;
}

const dir = mkdtempSync(join(tmpdir(), 'rope-hostile-'));
after(() => rmSync(dir, { recursive: true, force: true }));
let fileCount = 0;
function writeConfig(text) {
  const path = join(dir, `config-${fileCount++}.json`);
  writeFileSync(path, text);
  return path;
}

for (const backend of ['simd128', 'scalar']) {
  describe(`hostile configs through createRope, ${backend} build`, async () => {
    const module = await loadRopeModule({ backend });
    const warm = module.createRope({ headDim: 4 });
    warm.table([0]);
    warm.free();
    const heapAtStart = module.heapInUse();

    for (const [name, config, ErrorClass, pattern] of [...HOSTILE, ...JS_ONLY]) {
      it(name, async () => {
        await assert.rejects(createRope(config, { backend }), (error) => assertRejected(error, ErrorClass, pattern));
        assert.throws(() => module.createRope(config), (error) => assertRejected(error, ErrorClass, pattern));
      });
    }

    describe('positions and sequence lengths', () => {
      const withDynamic = (body) => {
        const rope = module.createRope(withScaling({ rope_type: 'dynamic', factor: 2 }));
        try { body(rope); } finally { rope.free(); }
      };
      for (const [name, positions, , ErrorClass, pattern] of BAD_POSITIONS) {
        if (positions === null) continue;
        it(`positions ${name}`, () => withDynamic((rope) => {
          assert.throws(() => rope.table(positions), (error) => assertRejected(error, ErrorClass, pattern));
          const q = new Float32Array(positions.length * 64).fill(0.25);
          assert.throws(() => rope.apply({ q, nQHeads: 1, positions }), (error) => assertRejected(error, ErrorClass, pattern));
          assert.ok(q.every((v) => v === 0.25), 'a rejected apply leaves q as it was');
        }));
      }
      for (const [name, seqLen, , pattern] of BAD_SEQ_LENS) {
        it(`sequence length ${name}`, () => withDynamic((rope) => {
          assert.throws(() => rope.invFreq(seqLen), (error) => assertRejected(error, RangeError, pattern));
          assert.throws(() => rope.table([0, 1], seqLen), (error) => assertRejected(error, RangeError, pattern));
          const q = new Float32Array(64);
          assert.throws(() => rope.apply({ q, nQHeads: 1, positions: [0], seqLen }), (error) => assertRejected(error, RangeError, pattern));
        }));
      }
      // An inference loop can reach zero new tokens; a fresh rope must not
      // reject that as a NULL buffer.
      it('an empty positions list is not an error: empty tables, apply does nothing', () => withDynamic((rope) => {
        const { cos, sin } = rope.table([]);
        assert.equal(cos.length, 0);
        assert.equal(sin.length, 0);
        rope.apply({ q: new Float32Array(0), nQHeads: 1, positions: [] });
      }));
    });

    it('no refusal above leaked WebAssembly memory', () => {
      assert.equal(module.heapInUse(), heapAtStart);
    });
  });
}

describe('hostile configs through the CLI: exit status 2, one line naming key and value', { concurrency: 4 }, () => {
  for (const [name, config, , pattern] of HOSTILE) {
    it(name, async () => {
      const path = writeConfig(JSON.stringify(config));
      assertCliRejected(await runCli(['table', '--config', path]), pattern);
    });
  }
  for (const [name, text, pattern] of NOT_JSON) {
    it(`not JSON: ${name}`, async () => {
      const path = writeConfig(text);
      const result = await runCli(['table', '--config', path]);
      assertCliRejected(result, pattern);
      assert.ok(result.stderr.includes(path), 'the message names the file');
    });
  }
  it('a number too large for a double (1e400) reads as Infinity and is rejected', async () => {
    const path = writeConfig('{"head_dim": 64, "rope_theta": 1e400}');
    assertCliRejected(await runCli(['table', '--config', path]), /rope_theta is Infinity\b.*finite/);
  });
  for (const [name, , text, , , cliPattern] of BAD_POSITIONS) {
    it(`--positions ${name}`, async () => {
      const path = writeConfig(JSON.stringify(BASE));
      assertCliRejected(await runCli(['table', '--config', path, '--positions', text]), cliPattern);
    });
  }
  for (const [name, , text, , cliPattern] of BAD_SEQ_LENS) {
    it(`--seq-len ${name}`, async () => {
      const path = writeConfig(JSON.stringify(withScaling({ rope_type: 'dynamic', factor: 2 })));
      assertCliRejected(await runCli(['table', '--config', path, '--seq-len', text]), cliPattern);
    });
  }
});

/** Asserts every value is finite and |value| <= bound. */
function assertFiniteWithin(values, bound, label) {
  for (let i = 0; i < values.length; i++) {
    if (!(Number.isFinite(values[i]) && Math.abs(values[i]) <= bound)) {
      assert.fail(`${label}[${i}] is ${values[i]}; expected a finite number within ±${bound}`);
    }
  }
}

/** Checks table, invFreq and apply of `rope` at `positions` for finiteness and norm. */
function checkFinite(rope, positions, seqLen) {
  const half = rope.rotaryDim / 2;
  const invFreq = rope.invFreq(seqLen);
  assert.equal(invFreq.length, half);
  // LongRoPE divisors below 1 raise frequencies above 1.
  assertFiniteWithin(invFreq, 1e6, 'invFreq');
  assert.ok(invFreq.every((f) => f >= 0), 'frequencies are >= 0');
  const { cos, sin } = rope.table(positions, seqLen);
  const scale = rope.attentionScaling;
  assert.ok(Number.isFinite(scale) && scale > 0, `attentionScaling ${scale}`);
  assertFiniteWithin(cos, scale * (1 + 1e-6), 'cos');
  assertFiniteWithin(sin, scale * (1 + 1e-6), 'sin');
  for (let i = 0; i < cos.length; i++) {
    const r = Math.hypot(cos[i], sin[i]) / scale;
    if (Math.abs(r - 1) > 1e-6) assert.fail(`cos² + sin² at ${i} is ${r * r} times attentionScaling²`);
  }
  const q = new Float32Array(positions.length * rope.headDim).map((_, i) => Math.sin(i + 1));
  const before = norm(q);
  rope.apply({ q, nQHeads: 1, positions, seqLen });
  assertFiniteWithin(q, 1e30, 'rotated q');
  const ratio = norm(q) / before / scale;
  assert.ok(Math.abs(ratio - 1) < 1e-5, `apply changed |q| by ${ratio} beyond attentionScaling`);
  return { invFreq, cos, sin };
}

describe('extreme but valid configs work and stay finite', () => {
  const NEAR_MAX = [MAX_INT32, MAX_INT32 - 1, MAX_INT32 - 4095, 0];

  for (const backend of ['simd128', 'scalar']) {
    describe(`${backend} build`, async () => {
      const module = await loadRopeModule({ backend });
      const withRope = (config, body) => {
        const rope = module.createRope(config);
        try { return body(rope); } finally { rope.free(); }
      };

      it('rope_theta 1e9, positions near 2^31 - 1', () => withRope({ ...BASE, rope_theta: 1e9 }, (rope) => {
        const { invFreq } = checkFinite(rope, NEAR_MAX);
        for (let i = 1; i < invFreq.length; i++) assert.ok(invFreq[i] < invFreq[i - 1], 'frequencies decrease');
        assert.ok(Math.abs(invFreq[31] / 1e9 ** (-62 / 64) - 1) < 1e-12, `invFreq[31] ${invFreq[31]}`);
      }));

      it('head_dim 2: one pair at frequency 1, exact angles up to 2^31 - 1', () => withRope({ head_dim: 2 }, (rope) => {
        const { invFreq, cos, sin } = checkFinite(rope, NEAR_MAX);
        assert.deepEqual(Array.from(invFreq), [1]);
        NEAR_MAX.forEach((p, i) => {
          assert.ok(Math.abs(cos[i] - Math.cos(p)) < 1e-6, `cos(${p}) is ${cos[i]}, expected ${Math.cos(p)}`);
          assert.ok(Math.abs(sin[i] - Math.sin(p)) < 1e-6, `sin(${p}) is ${sin[i]}, expected ${Math.sin(p)}`);
        });
      }));

      it('head_dim 1024 and head_dim 65536 at positions near 2^31 - 1', () => {
        withRope({ head_dim: 1024, rope_theta: 1e6 }, (rope) => checkFinite(rope, NEAR_MAX));
        withRope({ head_dim: 65536 }, (rope) => checkFinite(rope, [0, MAX_INT32]));
      });

      it('dynamic NTK from 1 token to 2^53 - 1 tokens: default below the trained length, finite and shrinking above', () => {
        const dynamic = withScaling({ rope_type: 'dynamic', factor: 4 });
        const plain = withRope(BASE, (rope) => rope.invFreq());
        withRope(dynamic, (rope) => {
          for (const seqLen of [1, 2, 4095, 4096]) {
            assert.deepEqual(Array.from(rope.invFreq(seqLen)), Array.from(plain), `seqLen ${seqLen} is within the trained length`);
          }
          let previous = plain;
          for (const seqLen of [4097, 8192, 2 ** 20, MAX_INT32, 2 ** 40, Number.MAX_SAFE_INTEGER]) {
            const { invFreq } = checkFinite(rope, [0, 1, MAX_INT32], seqLen);
            assert.equal(invFreq[0], 1, 'pair 0 never scales');
            for (let i = 1; i < invFreq.length; i++) {
              assert.ok(invFreq[i] <= previous[i], `seqLen ${seqLen}: invFreq[${i}] ${invFreq[i]} grew from ${previous[i]}`);
            }
            assert.ok(invFreq[31] < plain[31], `seqLen ${seqLen}: the slowest pair is slowed`);
            previous = invFreq;
          }
          // Default seqLen is max(positions) + 1 = 2^31: far above 4096.
          checkFinite(rope, NEAR_MAX);
        });
        // rotary_dim 4 has the largest exponent d / (d - 2) = 2.
        withRope(withScaling({ rope_type: 'dynamic', factor: 1e6 }, { head_dim: 4 }), (rope) => {
          const { invFreq } = checkFinite(rope, [0, MAX_INT32], Number.MAX_SAFE_INTEGER);
          assert.ok(invFreq[1] > 0, `theta_1 is ${invFreq[1]}; the slow pair must still turn`);
        });
        // A factor whose grown base overflows would stop pair 1 from
        // turning (theta_1 = 0) at long lengths: rejected when created.
        assert.throws(() => withRope(withScaling({ rope_type: 'dynamic', factor: 1e300 }, { head_dim: 4 }), () => {}),
          { name: 'RangeError', message: /theta_1 is 0 for dynamic scaling .*factor 1e\+300/ });
      });

      it('every scaled type at positions near 2^31 - 1 and the longest sequence', () => {
        const configs = [
          withScaling({ rope_type: 'linear', factor: 1e6 }),
          withScaling({ rope_type: 'yarn', factor: 1e300 }),
          withScaling({ rope_type: 'yarn', factor: 64, original_max_position_embeddings: 2, beta_fast: 1e6, beta_slow: 1e-6 }),
          llama3({ factor: 1e12, low_freq_factor: 1e-9, high_freq_factor: 1e9 }),
          longrope({ short_factor: ones(32).map((_, i) => 1e-3 * (i + 1)), long_factor: ones(32).map((_, i) => 1e3 * (i + 1)) }),
          { ...BASE, max_position_embeddings: MAX_INT32, rope_scaling: { rope_type: 'longrope', original_max_position_embeddings: 2, short_factor: ones(32), long_factor: ones(32) } },
        ];
        for (const config of configs) {
          withRope(config, (rope) => {
            checkFinite(rope, NEAR_MAX);
            checkFinite(rope, NEAR_MAX, Number.MAX_SAFE_INTEGER);
            checkFinite(rope, [0, 1], 1);
          });
        }
      });
    });
  }

  it('the CLI prints finite tables for extreme configs, position 2^31 - 1 and --seq-len 2^53 - 1', async () => {
    const path = writeConfig(JSON.stringify(withScaling({ rope_type: 'dynamic', factor: 4 }, { rope_theta: 1e9 })));
    const { code, stdout, stderr } = await runCli([
      'table', '--config', path, '--positions', `0,${MAX_INT32}`, '--seq-len', String(Number.MAX_SAFE_INTEGER),
    ]);
    assert.equal(code, 0, stderr);
    const result = JSON.parse(stdout);
    assert.equal(result.seqLen, Number.MAX_SAFE_INTEGER);
    assertFiniteWithin(result.invFreq, 1, 'invFreq');
    for (const row of [...result.cos, ...result.sin]) assertFiniteWithin(row, 1, 'table row');
  });
});

// Inputs that once gave silent results instead of errors.
describe('silent results the library rejects', () => {
  it('rope_scaling with a factor but no rope_type or type is rejected, not read as default', async () => {
      await assert.rejects(createRope(withScaling({ factor: 4 })), /rope_type/);
    });

  it('an attention_factor that overflows float32 is rejected, or the tables stay finite', async () => {
      let rope;
      try {
        rope = await createRope(withScaling({ rope_type: 'yarn', factor: 4, attention_factor: 1e39 }));
      } catch (error) {
        assert.match(error.message, /attention_factor is 1e\+39\b/);
        return;
      }
      try {
        const { cos } = rope.table([0]);
        assertFiniteWithin(cos, 3.4e38, 'cos');
      } finally {
        rope.free();
      }
    });
});
