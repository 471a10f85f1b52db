// The teaching page's self-checks (web/app/checks/), run under node on every
// preset and both WebAssembly builds: the same modules that colour the
// page's badges must pass here.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';

import { loadRopeModule } from '../../web/rope.js';
import { runAll } from '../../web/app/checks/index.js';

const PRESETS = new URL('../../web/presets/', import.meta.url);
const presetNames = readdirSync(PRESETS).filter((name) => name.endsWith('.json')).sort();

for (const backend of ['simd128', 'scalar']) {
  describe(`page self-checks on ${backend}`, () => {
    for (const name of presetNames) {
      it(`${name} passes every check`, async () => {
        const config = JSON.parse(readFileSync(new URL(name, PRESETS), 'utf8'));
        const module = await loadRopeModule({ backend });
        const rope = module.createRope(config);
        try {
          const { checks } = runAll(rope);
          assert.ok(checks.length >= 10, `expected at least 10 checks, got ${checks.length}`);
          for (const check of checks) {
            const detail = `${check.id}: value ${check.value}, tolerance ${check.tolerance}, expected ${check.expected}`;
            if (check.expected === false) {
              // The deliberate pairing bug: its check must fail.
              assert.equal(check.holds, false, detail);
            } else if (typeof check.expected === 'number') {
              assert.equal(check.value, check.expected, detail);
              assert.equal(check.holds, true, detail);
            } else {
              assert.equal(check.holds, true, detail);
            }
          }
        } finally {
          rope.free();
        }
      });
    }
  });
}
