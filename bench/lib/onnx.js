// Builds the bytes of a small ONNX model with com.microsoft RotaryEmbedding
// nodes, using a minimal protobuf writer (field numbers from onnx.proto).

const WIRE_VARINT = 0;
const WIRE_FIXED32 = 5;
const WIRE_BYTES = 2;

class Writer {
  constructor() { this.bytes = []; }

  varint(value) {
    let v = BigInt(value);
    if (v < 0n) v += 1n << 64n; // two's complement for negative int64
    do {
      let byte = Number(v & 0x7fn);
      v >>= 7n;
      if (v !== 0n) byte |= 0x80;
      this.bytes.push(byte);
    } while (v !== 0n);
    return this;
  }

  key(field, wire) { return this.varint((field << 3) | wire); }
  int(field, value) { return this.key(field, WIRE_VARINT).varint(value); }

  float(field, value) {
    const b = new Uint8Array(4);
    new DataView(b.buffer).setFloat32(0, value, true);
    this.key(field, WIRE_FIXED32);
    this.bytes.push(...b);
    return this;
  }

  raw(field, bytes) {
    this.key(field, WIRE_BYTES).varint(bytes.length);
    for (const b of bytes) this.bytes.push(b);
    return this;
  }

  string(field, text) { return this.raw(field, new TextEncoder().encode(text)); }
  message(field, build) { const w = new Writer(); build(w); return this.raw(field, w.bytes); }
  finish() { return Uint8Array.from(this.bytes); }
}

const ELEM = { float: 1, int64: 7 };

// ValueInfoProto: name 1, type 2 -> TypeProto.tensor_type 1 -> elem_type 1, shape 2 -> dim 1 -> dim_value 1.
function valueInfo(w, field, name, elemType, dims) {
  w.message(field, (v) => {
    v.string(1, name);
    v.message(2, (t) => t.message(1, (tt) => {
      tt.int(1, ELEM[elemType]);
      tt.message(2, (s) => { for (const d of dims) s.message(1, (dim) => dim.int(1, d)); });
    }));
  });
}

// AttributeProto: name 1, f 2, i 3, type 20 (FLOAT 1, INT 2).
function intAttribute(n, name, value) {
  n.message(5, (a) => { a.string(1, name); a.int(3, value); a.int(20, 2); });
}

/**
 * tensors: [{ name, dims, numHeads }] rotated with one shared position_ids
 * [1, nTokens] (int64) and cos_cache/sin_cache [nPositions, rotaryDim/2].
 * Output of tensor `x` is named `x_out`.
 */
export function rotaryEmbeddingModel({ tensors, nTokens, nPositions, half, interleaved }) {
  const w = new Writer();
  w.int(1, 8); // ir_version
  w.string(2, 'rope-wasm-bench');
  w.message(8, (o) => { o.string(1, ''); o.int(2, 17); });
  w.message(8, (o) => { o.string(1, 'com.microsoft'); o.int(2, 1); });
  w.message(7, (g) => {
    for (const t of tensors) {
      g.message(1, (n) => {
        for (const input of [t.name, 'position_ids', 'cos_cache', 'sin_cache']) n.string(1, input);
        n.string(2, `${t.name}_out`);
        n.string(3, `rotary_${t.name}`);
        n.string(4, 'RotaryEmbedding');
        n.string(7, 'com.microsoft');
        intAttribute(n, 'interleaved', interleaved ? 1 : 0);
        intAttribute(n, 'num_heads', t.numHeads);
      });
    }
    g.string(2, 'rope');
    for (const t of tensors) valueInfo(g, 11, t.name, 'float', t.dims);
    valueInfo(g, 11, 'position_ids', 'int64', [1, nTokens]);
    valueInfo(g, 11, 'cos_cache', 'float', [nPositions, half]);
    valueInfo(g, 11, 'sin_cache', 'float', [nPositions, half]);
    for (const t of tensors) valueInfo(g, 12, `${t.name}_out`, 'float', t.dims);
  });
  return w.finish();
}
