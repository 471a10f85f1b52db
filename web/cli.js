#!/usr/bin/env node
// rope-wasm command-line tool: prints RoPE frequencies and cos/sin tables
// for a Hugging Face config.json as one JSON object.

import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';

import { createRope } from './rope.js';

const USAGE = `usage: rope-wasm table --config FILE [--positions 0,1,4096] [--seq-len N] [--backend auto|simd128|scalar]
       rope-wasm --help | --version

  --config FILE     a model's config.json (Hugging Face key names)
  --positions LIST  comma-separated token positions (integers >= 0); default 0
  --seq-len N       sequence length for dynamic and longrope scaling; default max(positions) + 1
  --backend NAME    which WebAssembly build to run; default auto (SIMD128 when supported)

Prints {rotaryDim, pairing, seqLen, attentionScaling, invFreq, positions, cos, sin};
cos and sin hold one row of rotaryDim/2 values per position, multiplied by attentionScaling.`;

class UsageError extends Error {}

function parsePositions(text) {
  if (text === undefined) return [0];
  return text.split(',').map((item, i) => {
    const trimmed = item.trim();
    if (!/^\d+$/.test(trimmed)) {
      throw new UsageError(`--positions item ${i} is ${JSON.stringify(item)}; expected an integer from 0 to 2147483647`);
    }
    return Number(trimmed);
  });
}

function parseSeqLen(text) {
  if (text === undefined) return undefined;
  if (!/^\d+$/.test(text.trim()) || Number(text.trim()) < 1) {
    throw new UsageError(`--seq-len is ${JSON.stringify(text)}; expected an integer >= 1`);
  }
  return Number(text.trim());
}

async function readConfig(path) {
  let text;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw new UsageError(`--config ${path}: cannot read the file (${error.code ?? error.message})`);
  }
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new UsageError(`--config ${path}: not valid JSON (${error.message})`);
  }
}

async function tableCommand(values) {
  if (values.config === undefined) throw new UsageError('--config FILE is required');
  const config = await readConfig(values.config);
  const positions = parsePositions(values.positions);
  const seqLenArg = parseSeqLen(values['seq-len']);
  const backend = values.backend ?? 'auto';
  if (!['auto', 'simd128', 'scalar'].includes(backend)) {
    throw new UsageError(`--backend is ${JSON.stringify(backend)}; expected auto, simd128 or scalar`);
  }
  const rope = await createRope(config, { backend });
  try {
    const seqLen = seqLenArg ?? Math.max(...positions) + 1;
    const { cos, sin } = rope.table(positions, seqLen);
    const half = rope.rotaryDim / 2;
    const rows = (table) => positions.map((_, p) => Array.from(table.subarray(p * half, (p + 1) * half)));
    return {
      rotaryDim: rope.rotaryDim,
      pairing: rope.pairing,
      seqLen,
      attentionScaling: rope.attentionScaling,
      invFreq: Array.from(rope.invFreq(seqLen)),
      positions,
      cos: rows(cos),
      sin: rows(sin),
    };
  } finally {
    rope.free();
  }
}

/** Option names that take a value, so `--positions -1` reads -1 as the value, not as a flag. */
const VALUE_OPTIONS = new Set(['--config', '--positions', '--seq-len', '--backend']);

function joinOptionValues(argv) {
  const joined = [];
  for (let i = 0; i < argv.length; i++) {
    if (VALUE_OPTIONS.has(argv[i]) && i + 1 < argv.length) {
      joined.push(`${argv[i]}=${argv[i + 1]}`);
      i++;
    } else {
      joined.push(argv[i]);
    }
  }
  return joined;
}

async function main(argv) {
  let parsed;
  try {
    parsed = parseArgs({
      args: joinOptionValues(argv),
      allowPositionals: true,
      options: {
        config: { type: 'string' },
        positions: { type: 'string' },
        'seq-len': { type: 'string' },
        backend: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
        version: { type: 'boolean' },
      },
    });
  } catch (error) {
    // node's parser quotes the option oddly ("Unknown option '--bogus'. ..."); keep its first sentence.
    throw new UsageError(error.message.split('. ')[0].replace(/\.$/, ''));
  }
  const { values, positionals } = parsed;
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  if (values.version) {
    const packageJson = JSON.parse(await readFile(new URL('../package.json', import.meta.url), 'utf8'));
    process.stdout.write(`${packageJson.version}\n`);
    return;
  }
  if (positionals.length !== 1 || positionals[0] !== 'table') {
    throw new UsageError(`expected the command "table", got ${positionals.length ? JSON.stringify(positionals.join(' ')) : 'none'}`);
  }
  const result = await tableCommand(values);
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

main(process.argv.slice(2)).catch((error) => {
  const known = error instanceof UsageError || error instanceof RangeError || error instanceof TypeError;
  const hint = error instanceof UsageError ? ' (run "rope-wasm --help" for usage)' : '';
  process.stderr.write(`rope-wasm: ${known ? error.message : error.stack}${hint}\n`);
  process.exitCode = known ? 2 : 1;
});
