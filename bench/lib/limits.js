// A hand-assembled WebAssembly module that measures what the hardware and
// engine allow: an in-place v128 load/store pass and memory.copy. It
// imports the memory of the module under test, so it runs over the very
// same buffers.

function leb(value) {
  const out = [];
  let v = value >>> 0;
  do {
    let byte = v & 0x7f;
    v >>>= 7;
    if (v !== 0) byte |= 0x80;
    out.push(byte);
  } while (v !== 0);
  return out;
}

// Signed LEB128, as i32.const takes it.
function sleb(value) {
  const out = [];
  let v = value | 0;
  for (;;) {
    const byte = v & 0x7f;
    v >>= 7;
    if ((v === 0 && (byte & 0x40) === 0) || (v === -1 && (byte & 0x40) !== 0)) {
      out.push(byte);
      return out;
    }
    out.push(byte | 0x80);
  }
}

const section = (id, body) => [id, ...leb(body.length), ...body];
const vector = (items) => [...leb(items.length), ...items.flat()];
const name = (text) => { const b = [...new TextEncoder().encode(text)]; return [...leb(b.length), ...b]; };

const I32 = 0x7f;
const op = {
  block: 0x02, loop: 0x03, end: 0x0b, brIf: 0x0d, call: 0x10, localGet: 0x20, localSet: 0x21,
  localTee: 0x22, i32Const: 0x41, i32LtU: 0x49, i32GeU: 0x4f, i32Add: 0x6a,
};

// pass(p, bytes): for each 64-byte step, v128.load then v128.store at the
// same address, four times (offsets 0, 16, 32, 48). bytes is a multiple of 64.
function passBody() {
  const lanes = [];
  for (let k = 0; k < 4; k++) {
    lanes.push(op.localGet, 0, op.localGet, 0,
      0xfd, 0x00, 0x04, ...leb(16 * k), // v128.load align=2^4 offset=16k
      0xfd, 0x0b, 0x04, ...leb(16 * k)); // v128.store
  }
  const code = [
    op.localGet, 0, op.localGet, 1, op.i32Add, op.localSet, 2, // end = p + bytes
    op.block, 0x40,
    op.localGet, 0, op.localGet, 2, op.i32GeU, op.brIf, 0,
    op.loop, 0x40,
    ...lanes,
    op.localGet, 0, op.i32Const, ...sleb(64), op.i32Add, op.localTee, 0, op.localGet, 2, op.i32LtU, op.brIf, 0,
    op.end,
    op.end,
    op.end,
  ];
  return [1, 1, I32, ...code]; // one local group: 1 x i32
}

function pass2Body() {
  return [0, op.localGet, 0, op.localGet, 1, op.call, 0, op.localGet, 2, op.localGet, 3, op.call, 0, op.end];
}

function copyBody() {
  return [0, op.localGet, 0, op.localGet, 1, op.localGet, 2, 0xfc, 0x0a, 0x00, 0x00, op.end];
}

export function limitsModuleBytes() {
  const types = section(1, vector([
    [0x60, 2, I32, I32, 0], // (i32, i32) -> ()
    [0x60, 4, I32, I32, I32, I32, 0], // (i32 x4) -> ()
    [0x60, 3, I32, I32, I32, 0], // (i32 x3) -> ()
  ]));
  const imports = section(2, vector([[...name('env'), ...name('memory'), 0x02, 0x00, 0x01]]));
  const funcs = section(3, vector([[0], [1], [2]]));
  const exports = section(7, vector([
    [...name('pass'), 0x00, 0], [...name('pass2'), 0x00, 1], [...name('copy'), 0x00, 2],
  ]));
  const bodies = [passBody(), pass2Body(), copyBody()].map((b) => [...leb(b.length), ...b]);
  const code = section(10, vector(bodies));
  return Uint8Array.from([0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, ...types, ...imports, ...funcs, ...exports, ...code]);
}

/** Instantiates the limits module over `memory` (a WebAssembly.Memory). */
export function instantiateLimits(memory) {
  const module = new WebAssembly.Module(limitsModuleBytes());
  return new WebAssembly.Instance(module, { env: { memory } }).exports;
}
