// Number formats a RoPE pipeline may hold its frequencies or positions in,
// and the cos error each choice causes. No DOM.
//
//   bfloat16  8 significant bits, exponent range of float32 (emin -126)
//   float16   11 significant bits, emin -14, largest finite 65504 (IEEE 754 binary16)
//   float32   Math.fround
// Rounding is to nearest, ties to even, with subnormals and overflow to
// infinity. An integer position m collapses when round(m) == round(m + 1):
// from 256 on in bfloat16 (spacing 2 in [256, 512)), from 2048 on in float16.
//
// cos error of a method at position m: max over pairs |cos(method angle) - cos(m theta_i)|,
// with the exact angle m * theta_i in float64 (its rounding error, below
// m * theta * 2^-53 ~ 1e-10 at m = 2^20, is far below every curve drawn).

/** Rounds to nearest, ties to even. */
function roundHalfEven(v) {
  const f = Math.floor(v);
  const diff = v - f;
  if (diff > 0.5) return f + 1;
  if (diff < 0.5) return f;
  return f % 2 === 0 ? f : f + 1;
}

/** Rounds x to a binary format with `bits` significant bits and exponents emin..emax. */
export function roundToFormat(x, bits, emin, emax) {
  if (x === 0 || !Number.isFinite(x)) return x;
  const a = Math.abs(x);
  let e = Math.floor(Math.log2(a));
  if (2 ** e > a) e -= 1;
  if (2 ** (e + 1) <= a) e += 1;
  if (e < emin) e = emin; // subnormal: fixed quantum
  const quantum = 2 ** (e - bits + 1);
  const r = roundHalfEven(a / quantum) * quantum;
  const maxFinite = (2 - 2 ** (1 - bits)) * 2 ** emax;
  const out = r > maxFinite ? Infinity : r;
  return x < 0 ? -out : out;
}

export const toBfloat16 = (x) => roundToFormat(x, 8, -126, 127);
export const toFloat16 = (x) => roundToFormat(x, 11, -14, 15);
export const toFloat32 = Math.fround;

export const FORMATS = Object.freeze({ bfloat16: toBfloat16, float16: toFloat16, float32: toFloat32 });

/** Smallest integer m >= 0 with round(m) == round(m + 1), searched up to `limit`; null if none. */
export function collapsePosition(round, limit = 2 ** 25) {
  // Spacing only grows with magnitude, so the first collision is at a power of two.
  for (let m = 1; m <= limit; m *= 2) {
    if (round(m) === round(m + 1)) {
      // walk back to the first colliding integer below this power of two
      let first = m;
      while (first > 0 && round(first - 1) === round(first)) first -= 1;
      return first;
    }
  }
  return null;
}

/** Position samples from 1 to maxPosition on a log axis, plus each power of two and the integer after it. */
export function precisionPositions(maxPosition = 2 ** 20, points = 160) {
  const set = new Set();
  for (let k = 0; k < points; k++) set.add(Math.round(Math.exp((Math.log(maxPosition) * k) / (points - 1))));
  for (let p = 1; p <= maxPosition; p *= 2) { set.add(p); if (p + 1 <= maxPosition) set.add(p + 1); }
  return [...set].filter((m) => m >= 1).sort((a, b) => a - b);
}

/** The methods compared, each as (m, theta) -> angle, or a cos directly for float32. */
export const METHODS = Object.freeze({
  float32: (m, theta) => Math.fround(Math.cos(Math.fround(Math.fround(m) * Math.fround(theta)))),
  bf16Freq: (m, theta) => Math.cos(m * toBfloat16(theta)),
  fp16Freq: (m, theta) => Math.cos(m * toFloat16(theta)),
  bf16Pos: (m, theta) => Math.cos(toBfloat16(m) * theta),
  fp16Pos: (m, theta) => Math.cos(toFloat16(m) * theta),
});

/** Lists the positions m, m + 1, …, m + window − 1 for every sample m, in order: the rows cosErrors expects. */
export function windowPositions(positions, window = 1) {
  const out = [];
  for (const m of positions) for (let w = 0; w < window; w++) out.push(m + w);
  return out;
}

/**
 * Max cos error per sample position for each method in METHODS, plus `wasm`
 * when a table {cos} is given (unit values, attention scaling divided out,
 * rows = windowPositions(positions, window)). Each value is the worst over
 * the pairs and over the `window` consecutive positions m .. m + window − 1,
 * the way a run of tokens meets them; a sample that happens to be exactly
 * representable in a format would otherwise show a misleading zero. A
 * non-finite cos (float16 overflow) counts as error 2.
 */
export function cosErrors(theta, positions, wasmCos = null, window = 1) {
  const n = theta.length;
  const names = Object.keys(METHODS);
  const out = Object.fromEntries(names.map((name) => [name, new Float64Array(positions.length)]));
  if (wasmCos) out.wasm = new Float64Array(positions.length);
  // Same results as METHODS, with every rounding of theta done once.
  const theta32 = Float64Array.from(theta, Math.fround);
  const thetaBf = Float64Array.from(theta, toBfloat16);
  const thetaFp = Float64Array.from(theta, toFloat16);
  const worst = (name, sample, value) => { if (value > out[name][sample]) out[name][sample] = value; };
  const error = (value, exact) => (Number.isFinite(value) ? Math.abs(value - exact) : 2);
  positions.forEach((start, sample) => {
    for (let w = 0; w < window; w++) {
      const m = start + w;
      const m32 = Math.fround(m);
      const mBf = toBfloat16(m);
      const mFp = toFloat16(m);
      let e32 = 0; let eBfF = 0; let eFpF = 0; let eBfP = 0; let eFpP = 0; let eW = 0;
      for (let i = 0; i < n; i++) {
        const exact = Math.cos(m * theta[i]);
        e32 = Math.max(e32, error(Math.fround(Math.cos(Math.fround(m32 * theta32[i]))), exact));
        eBfF = Math.max(eBfF, error(Math.cos(m * thetaBf[i]), exact));
        eFpF = Math.max(eFpF, error(Math.cos(m * thetaFp[i]), exact));
        eBfP = Math.max(eBfP, error(Math.cos(mBf * theta[i]), exact));
        eFpP = Math.max(eFpP, error(Math.cos(mFp * theta[i]), exact));
        if (wasmCos) eW = Math.max(eW, Math.abs(wasmCos[(sample * window + w) * n + i] - exact));
      }
      worst('float32', sample, e32);
      worst('bf16Freq', sample, eBfF);
      worst('fp16Freq', sample, eFpF);
      worst('bf16Pos', sample, eBfP);
      worst('fp16Pos', sample, eFpP);
      if (wasmCos) worst('wasm', sample, eW);
    }
  });
  return out;
}
